package simulate

import (
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/internal/clock"
	"github.com/drplan/drplan/internal/units"
	"github.com/drplan/drplan/plans"
)

// Keys of the extraConfig a simulated VM carries besides GuestIPKey;
// clones copy them, so a drill copy boots like its source.
const (
	// BootTimeKey is the plan-time duration from power-on to a booted guest.
	BootTimeKey = "guestinfo.drplan.boottime"
	// SourceVMKey is the name of the protected VM a VM was made from.
	SourceVMKey = "guestinfo.drplan.vm"
)

// bootModel makes guests boot: a power-on starts a timer of the VM's boot
// time on the world's clock (plan time), after which guest tools run, the heartbeat is green
// and the guest reports its IP address; a power-off resets all of that.
// It watches the site's object registry, so it sees power changes however
// they are made.
type bootModel struct {
	site *Site

	mu      sync.Mutex
	pending map[types.ManagedObjectReference]clock.Timer
	stopped bool
}

func newBootModel(s *Site) *bootModel {
	b := &bootModel{site: s, pending: map[types.ManagedObjectReference]clock.Timer{}}
	s.Model.Map().AddHandler(b)
	return b
}

// Reference names the model in the registry's handler table.
func (b *bootModel) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "DrplanBootModel", Value: "boot-" + b.site.Name}
}

// PutObject is part of simulator.RegisterObject.
func (b *bootModel) PutObject(*simulator.Context, mo.Reference) {}

// RemoveObject forgets a destroyed VM's pending boot.
func (b *bootModel) RemoveObject(_ *simulator.Context, ref types.ManagedObjectReference) {
	b.cancel(ref)
}

// UpdateObject reacts to power-state changes of VMs.
func (b *bootModel) UpdateObject(ctx *simulator.Context, obj mo.Reference, changes []types.PropertyChange) {
	vm, ok := obj.(*mo.VirtualMachine)
	if !ok {
		return
	}
	for _, c := range changes {
		if c.Name != "runtime.powerState" {
			continue
		}
		ref := vm.Self
		switch c.Val.(types.VirtualMachinePowerState) {
		case types.VirtualMachinePowerStatePoweredOn:
			// Guest customization has just written the address the guest
			// will take; tools report nothing until the guest has booted.
			ip := ""
			if vm.Guest != nil {
				ip = guestIP(vm.Guest)
			}
			if ip == "" {
				ip = extraConfig(vm, GuestIPKey)
			}
			ctx.Update(vm, guestChanges(false, ""))
			name, boot := vmIdentity(vm)
			if b.site.faults != nil && b.site.faults.neverBoots(name) {
				continue
			}
			if boot == 0 {
				boot = b.defaultBoot()
			}
			b.schedule(ref, boot, ip)
		case types.VirtualMachinePowerStatePoweredOff, types.VirtualMachinePowerStateSuspended:
			b.cancel(ref)
			ctx.Update(vm, guestChanges(false, ""))
		}
	}
}

func (b *bootModel) defaultBoot() time.Duration {
	if sim := b.site.world.Plan.Simulation; sim != nil {
		return sim.BootTime
	}
	return plans.DefaultBootTime
}

func (b *bootModel) schedule(ref types.ManagedObjectReference, after time.Duration, ip string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return
	}
	if t := b.pending[ref]; t != nil {
		t.Stop()
	}
	var t clock.Timer
	t = b.site.world.Clock.AfterFunc(after, func() {
		b.mu.Lock()
		current := b.pending[ref] == t && !b.stopped
		if current {
			delete(b.pending, ref)
		}
		b.mu.Unlock()
		if current {
			b.site.booted(ref, ip)
		}
	})
	b.pending[ref] = t
}

func (b *bootModel) cancel(ref types.ManagedObjectReference) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t := b.pending[ref]; t != nil {
		t.Stop()
		delete(b.pending, ref)
	}
}

func (b *bootModel) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopped = true
	for ref, t := range b.pending {
		t.Stop()
		delete(b.pending, ref)
	}
	b.site.Model.Map().RemoveHandler(b)
}

// booted makes a powered-on VM's guest report in: tools running,
// heartbeat green, and its address.
func (s *Site) booted(ref types.ManagedObjectReference, ip string) {
	ctx := s.context()
	obj, ok := s.Model.Map().Get(ref).(*simulator.VirtualMachine)
	if !ok {
		return
	}
	s.Model.Map().WithLock(ctx, obj, func() {
		if obj.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn {
			s.markBooted(ref)
			ctx.Update(obj, guestChanges(true, ip))
		}
	})
}

// setGuest sets a VM's guest state directly (for a world that starts
// booted).
func (s *Site) setGuest(ref types.ManagedObjectReference, running bool, ip string) {
	ctx := s.context()
	obj := s.Model.Map().Get(ref)
	if obj == nil {
		return
	}
	s.Model.Map().WithLock(ctx, obj, func() {
		ctx.Update(obj, guestChanges(running, ip))
	})
}

// context returns a simulator context of its own for work the simulator
// does on its own account (timers, the replication engine).
func (s *Site) context() *simulator.Context {
	c := *s.Model.Service.Context
	return &c
}

// guestIP is the address guest customization gave the VM: the first fixed
// address of a NIC, or the primary address.
func guestIP(g *types.GuestInfo) string {
	for _, n := range g.Net {
		if n.IpConfig != nil {
			for _, a := range n.IpConfig.IpAddress {
				if a.IpAddress != "" {
					return a.IpAddress
				}
			}
		}
	}
	return g.IpAddress
}

// guestChanges are the property changes of a guest coming up or going down.
func guestChanges(running bool, ip string) []types.PropertyChange {
	tools, status, beat := types.VirtualMachineToolsRunningStatusGuestToolsNotRunning, types.VirtualMachineToolsStatusToolsNotRunning, types.ManagedEntityStatusGray
	if running {
		tools, status, beat = types.VirtualMachineToolsRunningStatusGuestToolsRunning, types.VirtualMachineToolsStatusToolsOk, types.ManagedEntityStatusGreen
	} else {
		ip = ""
	}
	var net []types.GuestNicInfo
	if ip != "" {
		net = []types.GuestNicInfo{{IpAddress: []string{ip}, Connected: true, DeviceConfigId: 4000}}
	}
	return []types.PropertyChange{
		{Name: "guest.toolsRunningStatus", Val: string(tools)},
		{Name: "guest.toolsStatus", Val: status},
		{Name: "guest.ipAddress", Val: ip},
		{Name: "guest.net", Val: net},
		{Name: "guestHeartbeatStatus", Val: beat},
		{Name: "summary.guest.toolsRunningStatus", Val: string(tools)},
		{Name: "summary.guest.toolsStatus", Val: status},
		{Name: "summary.guest.ipAddress", Val: ip},
		{Name: "summary.quickStats.guestHeartbeatStatus", Val: beat},
	}
}

// vmIdentity returns the protected VM a VM stands for and its boot time,
// from its extraConfig (clones carry their source's).
func vmIdentity(vm *mo.VirtualMachine) (string, time.Duration) {
	name := extraConfig(vm, SourceVMKey)
	if name == "" {
		name = vm.Name
		if vm.Config != nil {
			name = vm.Config.Name
		}
	}
	boot, _ := units.ParseDuration(extraConfig(vm, BootTimeKey))
	return name, boot
}

func extraConfig(vm *mo.VirtualMachine, key string) string {
	if vm.Config == nil {
		return ""
	}
	for _, o := range vm.Config.ExtraConfig {
		if ov := o.GetOptionValue(); ov.Key == key {
			if s, ok := ov.Value.(string); ok {
				return s
			}
		}
	}
	return ""
}
