package vsphere_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/providers/vsphere"
	"github.com/drplan/drplan/simulate"
)

// basePlan has a protected site east with three web VMs (one in a
// folder, two tagged) and their replicas at the recovery site west, where
// the test network is DR-Bubble.
const basePlan = `
site "east" {
  role       = "protected"
  datacenter = "DC-East"
}

site "west" {
  role       = "recovery"
  datacenter = "DC-West"
}

protection_group "web" {
  site          = site.east
  recovery_site = site.west
  vms           = ["web-01", "web-02", "web-03"]
  replication {
    method    = "vsphere_replication"
    rpo       = "15m"
    retention = 3
  }
}

recovery_plan "shop" {
  protection_groups = [protection_group.web]
  network_mapping {
    from = "Prod"
    to   = "DR-Prod"
    test = "DR-Bubble"
  }
  tier "web" {
    priority = 1
    vms      = protection_group.web.vms
  }
}
`

// simBlock is the default simulation block: fast boots.
const simBlock = `
simulation {
  time_scale = 0.005
  boot_time  = "40s"
  vm "web-01" {
    folder = "prod/web"
    tags   = ["env:prod", "tier:web"]
  }
  vm "web-02" {
    tags = ["env:prod"]
  }
%s
}
`

func loadSource(t testing.TB, src string) *plans.Plan {
	t.Helper()
	dir := t.TempDir()
	name := filepath.Join(dir, "main.drplan.hcl")
	p, diags := plans.LoadSources(dir, map[string][]byte{name: []byte(src)}, plans.LoadOptions{Environ: []string{}})
	if diags.HasErrors() {
		t.Fatalf("%v", diags)
	}
	return p
}

// newWorld builds the world of basePlan with the default simulation
// block, into which faults adds its text.
func newWorld(t testing.TB, faults string) *simulate.World {
	t.Helper()
	return newWorldFrom(t, basePlan+fmt.Sprintf(simBlock, faults))
}

func newWorldFrom(t testing.TB, src string) *simulate.World {
	t.Helper()
	w, err := simulate.New(context.Background(), loadSource(t, src), simulate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

// config is how a plan would describe a simulated site: URL with
// credentials, pinned thumbprint.
func config(s *simulate.Site) providers.SiteConfig {
	return providers.SiteConfig{Name: s.Name, Datacenter: s.Datacenter, URL: s.URL.String(), Thumbprint: s.Thumbprint}
}

func open(t testing.TB, s *simulate.Site, edit ...func(*providers.SiteConfig)) providers.Site {
	t.Helper()
	cfg := config(s)
	for _, e := range edit {
		e(&cfg)
	}
	site, err := vsphere.Connector{}.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open %s: %v", s.Name, err)
	}
	t.Cleanup(func() { site.Close(context.Background()) })
	return site
}

func replica(name string) providers.VM {
	return providers.VM{Site: "west", Path: vsphere.ReplicaFolder + "/" + name}
}

// cloneCopy clones a replica into a drill folder on the test network.
func cloneCopy(t testing.TB, site providers.Site, name, folder, run string) providers.VM {
	t.Helper()
	vm, err := site.Clone(context.Background(), providers.CloneRequest{
		Replica: replica(name), Name: name, Folder: folder, Networks: []string{"DR-Bubble"}, RunID: run,
	})
	if err != nil {
		t.Fatalf("clone %s: %v", name, err)
	}
	return vm
}

// kindOf returns the kind of a provider error, or -1.
func kindOf(err error) providers.ErrorKind {
	var pe *providers.Error
	if errors.As(err, &pe) {
		return pe.Kind
	}
	return -1
}

func within(t testing.TB, d time.Duration, cond func() bool) bool {
	t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}
