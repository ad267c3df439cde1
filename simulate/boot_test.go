package simulate

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/providers/vsphere"
)

const bootPlan = minimalPlan + `
simulation {
  time_scale = 0.01
  boot_time  = "30s"
  vm "web-02" {
    boot_time = "2m"
  }
}
`

// replica returns a replica VM at its recovery site through c.
func (c *client) replica(name string) *object.VirtualMachine {
	c.t.Helper()
	vm, err := c.finder.VirtualMachine(context.Background(), vsphere.ReplicaFolder+"/"+name)
	if err != nil {
		c.t.Fatal(err)
	}
	return vm
}

// waitGreen waits, with the property collector, until the VM's heartbeat
// is green, and returns how long that took.
func (c *client) waitGreen(vm *object.VirtualMachine, limit time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	start := time.Now()
	err := property.Wait(ctx, property.DefaultCollector(c.c.Client), vm.Reference(), []string{"guestHeartbeatStatus"}, func(pc []types.PropertyChange) bool {
		for _, ch := range pc {
			if ch.Val == types.ManagedEntityStatusGreen {
				return true
			}
		}
		return false
	})
	return time.Since(start), err
}

func (c *client) guest(vm *object.VirtualMachine) mo.VirtualMachine {
	c.t.Helper()
	var m mo.VirtualMachine
	if err := vm.Properties(context.Background(), vm.Reference(), []string{"guest", "guestHeartbeatStatus", "runtime.powerState"}, &m); err != nil {
		c.t.Fatal(err)
	}
	return m
}

func powerOn(t *testing.T, vm *object.VirtualMachine) error {
	t.Helper()
	task, err := vm.PowerOn(context.Background())
	if err != nil {
		return err
	}
	return task.Wait(context.Background())
}

// TestBootModel powers on replicas through the API: tools, heartbeat and
// address come up boot_time × time_scale later (per-VM overrides
// included), and go away at power-off.
func TestBootModel(t *testing.T) {
	w := newWorld(t, loadSource(t, bootPlan))
	c := connect(t, w.Site("west"))
	web1, web2 := c.replica("web-01"), c.replica("web-02")
	want := map[string]string{}
	for _, v := range w.VMs() {
		want[v.Name] = v.IP.String()
	}

	for _, vm := range []*object.VirtualMachine{web1, web2} {
		if err := powerOn(t, vm); err != nil {
			t.Fatal(err)
		}
	}
	if g := c.guest(web1); g.GuestHeartbeatStatus == types.ManagedEntityStatusGreen || g.Guest.IpAddress != "" {
		t.Fatalf("web-01 is up at once: %s %q", g.GuestHeartbeatStatus, g.Guest.IpAddress)
	}
	took1, err := c.waitGreen(web1, 10*time.Second)
	if err != nil {
		t.Fatalf("web-01 never booted: %v", err)
	}
	took2, err := c.waitGreen(web2, 10*time.Second)
	if err != nil {
		t.Fatalf("web-02 never booted: %v", err)
	}
	took2 += took1
	if took1 < 250*time.Millisecond || took1 > 3*time.Second {
		t.Errorf("web-01 booted in %v, want about 30s × 0.01 = 300ms", took1)
	}
	if took2 < 1100*time.Millisecond {
		t.Errorf("web-02 booted in %v, want about 2m × 0.01 = 1.2s", took2)
	}
	g := c.guest(web1)
	if g.Guest.IpAddress != want["web-01"] || g.Guest.ToolsRunningStatus != string(types.VirtualMachineToolsRunningStatusGuestToolsRunning) {
		t.Errorf("web-01 booted with %q, tools %s; want %s", g.Guest.IpAddress, g.Guest.ToolsRunningStatus, want["web-01"])
	}

	task, err := web1.PowerOff(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if g := c.guest(web1); g.GuestHeartbeatStatus != types.ManagedEntityStatusGray || g.Guest.IpAddress != "" ||
		g.Guest.ToolsRunningStatus != string(types.VirtualMachineToolsRunningStatusGuestToolsNotRunning) {
		t.Errorf("after power-off: %s %q %s", g.GuestHeartbeatStatus, g.Guest.IpAddress, g.Guest.ToolsRunningStatus)
	}
}

// TestCustomizedAddress: the address guest customization sets is the one
// that appears after boot (re-IP on failover is visible to any client).
func TestCustomizedAddress(t *testing.T) {
	w := newWorld(t, loadSource(t, bootPlan))
	c := connect(t, w.Site("west"))
	vm := c.replica("web-01")
	spec := types.CustomizationSpec{
		Identity:         &types.CustomizationLinuxPrep{HostName: &types.CustomizationFixedName{Name: "web-01"}, Domain: "example.com"},
		GlobalIPSettings: types.CustomizationGlobalIPSettings{},
		NicSettingMap: []types.CustomizationAdapterMapping{{Adapter: types.CustomizationIPSettings{
			Ip: &types.CustomizationFixedIp{IpAddress: "10.2.0.77"}, SubnetMask: "255.255.0.0", Gateway: []string{"10.2.0.1"},
		}}},
	}
	task, err := vm.Customize(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := powerOn(t, vm); err != nil {
		t.Fatal(err)
	}
	if g := c.guest(vm); g.Guest.ToolsRunningStatus == string(types.VirtualMachineToolsRunningStatusGuestToolsRunning) {
		t.Fatal("tools run before the guest booted")
	}
	if _, err := c.waitGreen(vm, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if ip := c.guest(vm).Guest.IpAddress; ip != "10.2.0.77" {
		t.Errorf("address after customization %q, want 10.2.0.77", ip)
	}
}

// TestBootFailures: a no_heartbeat VM powers on but never reports in; a
// power_on_error VM's power-on fails with a SOAP fault, as a real
// vCenter's would.
func TestBootFailures(t *testing.T) {
	w := newWorld(t, loadSource(t, minimalPlan+`
simulation {
  time_scale = 0.01
  boot_time  = "10s"
  fault "boot_failure" {
    vm = "web-02"
  }
  fault "boot_failure" {
    vm   = "web-0[1]"
    mode = "power_on_error"
  }
}
`))
	c := connect(t, w.Site("west"))
	err := powerOn(t, c.replica("web-01"))
	if err == nil || !strings.Contains(err.Error(), "simulated boot failure") {
		t.Errorf("power-on of web-01: %v, want the injected fault", err)
	}
	web2 := c.replica("web-02")
	if err := powerOn(t, web2); err != nil {
		t.Fatal(err)
	}
	if _, err := c.waitGreen(web2, time.Second); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("web-02 booted (%v), but it must never get a heartbeat", err)
	}
}
