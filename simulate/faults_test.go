package simulate

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/providers/vsphere"
)

// TestAPIErrorAndSlowAPI: an api_error fault fails its method with a SOAP
// fault; a slow_api fault delays its method by latency × time_scale.
func TestAPIErrorAndSlowAPI(t *testing.T) {
	w := newWorld(t, loadSource(t, minimalPlan+`
simulation {
  time_scale = 0.01
  fault "api_error" {
    method      = "ReconfigVM_Task"
    probability = 1
    site        = site.west
  }
  fault "slow_api" {
    method  = "PowerOnVM_Task"
    latency = "40s"
  }
}
`))
	c := connect(t, w.Site("west"))
	vm := c.replica("web-01")
	_, err := vm.Reconfigure(context.Background(), types.VirtualMachineConfigSpec{Annotation: "x"})
	if err == nil || !strings.Contains(err.Error(), "simulated API error") {
		t.Errorf("ReconfigVM_Task: %v, want the injected fault", err)
	}
	start := time.Now()
	if err := powerOn(t, vm); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 400*time.Millisecond {
		t.Errorf("PowerOnVM_Task took %v, want at least 40s × 0.01 = 400ms", took)
	}
	if n := w.Site("west").Calls()["PowerOnVM_Task"]; n != 1 {
		t.Errorf("the site counted %d PowerOnVM_Task calls, want 1", n)
	}
	// The other site has neither fault's site-scoped part.
	e := connect(t, w.Site("east"))
	east, err := e.finder.VirtualMachine(context.Background(), "web-01")
	if err != nil {
		t.Fatal(err)
	}
	task, err := east.Reconfigure(context.Background(), types.VirtualMachineConfigSpec{Annotation: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(context.Background()); err != nil {
		t.Errorf("ReconfigVM_Task at east failed: %v", err)
	}
}

// TestSiteDown: the site stops answering at the given moment and comes
// back after the given duration.
func TestSiteDown(t *testing.T) {
	w := newWorld(t, loadSource(t, minimalPlan+`
simulation {
  time_scale = 0.01
  fault "site_down" {
    site     = site.east
    at       = "30s"
    duration = "1m"
  }
}
`))
	c := connect(t, w.Site("east"))
	ctx := context.Background()
	if _, err := c.finder.VirtualMachine(ctx, "web-01"); err != nil {
		t.Fatalf("before the outage: %v", err)
	}
	time.Sleep(400 * time.Millisecond) // 30s × 0.01 = 300ms
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := c.finder.VirtualMachine(cctx, "web-01"); err == nil {
		t.Fatal("the site answered during its outage")
	}
	if !w.Site("east").Down() {
		t.Fatal("Down() = false during the outage")
	}
	time.Sleep(700 * time.Millisecond) // back after 300ms + 600ms
	c2 := connect(t, w.Site("east"))
	if _, err := c2.finder.VirtualMachine(ctx, "web-01"); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
}

// points reads a replica's recovery points through the API.
func (c *client) points(name string) vsphere.RecoveryPoints {
	c.t.Helper()
	vm := c.replica(name)
	var m mo.VirtualMachine
	if err := vm.Properties(context.Background(), vm.Reference(), []string{"customValue"}, &m); err != nil {
		c.t.Fatal(err)
	}
	p, err := vsphere.ParseRecoveryPoints(c.field(m, vsphere.FieldPoints))
	if err != nil {
		c.t.Fatal(err)
	}
	return p
}

// TestReplication: points advance every RPO × time_scale and keep the
// retention; a consistency group shares its points, per-VM replication
// staggers them; a lagging group's points trail by the lag; a CDP journal
// holds its window.
func TestReplication(t *testing.T) {
	w := newWorld(t, loadSource(t, `
site "east" {
  role       = "protected"
  datacenter = "DC-East"
}

site "west" {
  role       = "recovery"
  datacenter = "DC-West"
}

protection_group "grouped" {
  site          = site.east
  recovery_site = site.west
  vms           = ["g-01", "g-02"]
  consistency   = "group"
  replication {
    method    = "vsphere_replication"
    rpo       = "15m"
    retention = 3
  }
}

protection_group "single" {
  site          = site.east
  recovery_site = site.west
  vms           = ["s-01", "s-02"]
  consistency   = "vm"
  replication {
    method = "snapshot"
    rpo    = "1h"
  }
}

protection_group "journal" {
  site          = site.east
  recovery_site = site.west
  vms           = ["j-01"]
  replication {
    method  = "cdp"
    rpo     = "10s"
    journal = "4h"
  }
}

simulation {
  time_scale = 0.001
  fault "replication_lag" {
    protection_group = protection_group.single
    lag              = "2h"
  }
}
`))
	c := connect(t, w.Site("west"))
	g1, g2 := c.points("g-01"), c.points("g-02")
	if vsphere.FormatRecoveryPoints(g1) != vsphere.FormatRecoveryPoints(g2) || len(g1.Times) != 3 {
		t.Errorf("consistency group points differ or retention is off:\n%s\n%s", g1, g2)
	}
	if gap := g1.Times[1].Sub(g1.Times[0]); gap != w.Scale(15*time.Minute/2) {
		t.Errorf("points %v apart, want half the 15m RPO × 0.001", gap)
	}
	s1, s2 := c.points("s-01"), c.points("s-02")
	if s1.Latest().Equal(s2.Latest()) {
		t.Errorf("per-VM replication gave both VMs the same point %v", s1.Latest())
	}
	if age := w.PlanTime(time.Since(s1.Latest())); age < 2*time.Hour || age > 2*time.Hour+35*time.Minute {
		t.Errorf("lagging group's latest point is %v old in plan time, want 2h to 2h30m", age)
	}
	j := c.points("j-01")
	if !j.Continuous || w.PlanTime(j.Latest().Sub(j.JournalStart)).Round(time.Minute) != 4*time.Hour {
		t.Errorf("journal %s, want a continuous 4h window", vsphere.FormatRecoveryPoints(j))
	}

	time.Sleep(w.Scale(15*time.Minute/2) + 150*time.Millisecond)
	g1b := c.points("g-01")
	if !g1b.Latest().After(g1.Latest()) || len(g1b.Times) != 3 || !g1b.Times[0].Equal(g1.Times[1]) {
		t.Errorf("points did not advance by one RPO:\nbefore %s\nafter  %s", g1, g1b)
	}
}
