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
// fault (with its message); on the wall clock scaled by time_scale
// (sim serve), a slow_api fault delays its method by latency × time_scale.
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
