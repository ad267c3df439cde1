package simulate

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"
)

// scalePlan is a two-site plan of n VMs in groups of 100.
func scalePlan(n int) string {
	var b strings.Builder
	b.WriteString(`
site "east" {
  role       = "protected"
  datacenter = "DC-East"
}

site "west" {
  role       = "recovery"
  datacenter = "DC-West"
}
`)
	var groups []string
	for g := 0; g*100 < n; g++ {
		var vms []string
		for i := g * 100; i < min(n, (g+1)*100); i++ {
			vms = append(vms, fmt.Sprintf("%q", fmt.Sprintf("vm-%05d", i)))
		}
		name := fmt.Sprintf("g%03d", g)
		groups = append(groups, "protection_group."+name)
		fmt.Fprintf(&b, `
protection_group %q {
  site          = site.east
  recovery_site = site.west
  vms           = [%s]
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}
`, name, strings.Join(vms, ", "))
	}
	fmt.Fprintf(&b, `
recovery_plan "big" {
  protection_groups = [%s]
  network_mapping {
    from = "Prod"
    to   = "DR-Prod"
    test = "DR-Test"
  }
  tier "all" {
    priority = 1
    vms      = flatten([%s])
  }
}

simulation {
  time_scale = 0.001
  boot_time  = "0s"
}
`, strings.Join(groups, ", "), strings.ReplaceAll(strings.Join(groups, ".vms, ")+".vms", "protection_group.", "protection_group."))
	return b.String()
}

// BenchmarkWorld builds 1,000- and 5,000-VM worlds and reports the build
// time, the heap afterwards, and the throughput of 1,000 power-ons of
// replicas at 16-way through an HTTPS client.
//
//	go test ./simulate -run '^$' -bench World -benchtime 1x
func BenchmarkWorld(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("vms=%d", n), func(b *testing.B) {
			p := loadSource(b, scalePlan(n))
			for range b.N {
				runtime.GC()
				start := time.Now()
				w, err := New(context.Background(), p, Options{})
				if err != nil {
					b.Fatal(err)
				}
				build := time.Since(start)
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)

				c := connect(b, w.Site("west"))
				list, err := c.finder.VirtualMachineList(context.Background(), "drplan-replicas/*")
				if err != nil {
					b.Fatal(err)
				}
				list = list[:min(len(list), 1000)]
				start = time.Now()
				var next atomic.Int64
				var wg sync.WaitGroup
				for range 16 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := int(next.Add(1)) - 1
							if i >= len(list) {
								return
							}
							powerOnVM(b, list[i])
						}
					}()
				}
				wg.Wait()
				rate := float64(len(list)) / time.Since(start).Seconds()
				b.ReportMetric(build.Seconds(), "build-s")
				b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
				b.ReportMetric(rate, "power-ons/s")
				w.Close()
			}
		})
	}
}

func powerOnVM(b *testing.B, vm *object.VirtualMachine) {
	task, err := vm.PowerOn(context.Background())
	if err == nil {
		err = task.Wait(context.Background())
	}
	if err != nil {
		b.Error(err)
	}
}
