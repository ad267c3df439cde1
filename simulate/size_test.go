package simulate

import (
	"fmt"
	"strings"
	"testing"
)

// TestSizeSite: a site without a capacity block gets hardware for every
// VM that lives there and every replica there, with room to spare, in at
// most maxHosts bigger hosts; a site with one keeps the standard hosts
// its figures call for.
func TestSizeSite(t *testing.T) {
	plan := func(n int, capacity string) string {
		var vms []string
		for i := range n {
			vms = append(vms, fmt.Sprintf("%q", fmt.Sprintf("app-%04d", i)))
		}
		return fmt.Sprintf(`
site "east" {
  role       = "protected"
  datacenter = "DC-East"
}

site "west" {
  role       = "recovery"
  datacenter = "DC-West"
%s}

protection_group "apps" {
  site          = site.east
  recovery_site = site.west
  vms           = [%s]
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}

simulation {
  vm "dev-01" {
    site   = site.west
    cpus   = 64
    memory = "256GiB"
    disk   = "2TiB"
  }
}
`, capacity, strings.Join(vms, ", "))
	}
	for _, tc := range []struct {
		name     string
		vms      int
		capacity string
		hosts    int
	}{
		{"small", 10, "", 2},
		{"300 VMs", 300, "", 0},
		{"5000 VMs", 5000, "", maxHosts},
		{"capacity block", 5000, "  capacity {\n    cpu_ghz = 400\n    memory  = \"4TiB\"\n  }\n", 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := newSpec(loadSource(t, plan(tc.vms, tc.capacity)))
			if err != nil {
				t.Fatal(err)
			}
			hw := s.bySite["west"].hw
			if tc.hosts > 0 && hw.hosts != tc.hosts {
				t.Errorf("%d hosts, want %d", hw.hosts, tc.hosts)
			}
			if tc.capacity != "" {
				if hw.cores != HostCores || hw.memory != HostMemory || hw.storage != 0 {
					t.Errorf("a site with a capacity block got %+v", hw)
				}
				return
			}
			// What the compiler's capacity check asks, with room to spare:
			// 0.5 GHz a vCPU, the memory, and the recovered disks still
			// free once every disk there is written.
			vcpus, mem, disk := int64(2*tc.vms+64), int64(tc.vms)*DefaultMemory+256<<30, int64(tc.vms)*DefaultDisk
			if got := int64(hw.hosts * hw.cores * hw.mhz); got < vcpus*500*5/4 {
				t.Errorf("%d MHz for %d vCPUs", got, vcpus)
			}
			if got := int64(hw.hosts) * hw.memory; got < mem*5/4 {
				t.Errorf("%d bytes of memory for %d", got, mem)
			}
			if free := hw.storage - disk - 2<<40; free < disk {
				t.Errorf("%d bytes of storage free for %d of recovered disks", free, disk)
			}
		})
	}
}
