package vsphere

import (
	"context"
	"net"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/providers"
)

// PowerOn powers the VM on; a VM already on is not an error.
func (s *site) PowerOn(ctx context.Context, vm providers.VM) error {
	return s.power(ctx, "power_on", vm, types.VirtualMachinePowerStatePoweredOn)
}

// PowerOff powers the VM off (hard); a VM already off is not an error,
// and neither is one that does not exist (it is not running either), so
// that a cleanup after a copy that failed goes through.
func (s *site) PowerOff(ctx context.Context, vm providers.VM) error {
	return s.power(ctx, "power_off", vm, types.VirtualMachinePowerStatePoweredOff)
}

func (s *site) power(ctx context.Context, op string, vm providers.VM, want types.VirtualMachinePowerState) error {
	obj := s.object(vm)
	if err := s.refuse(op, vm); err != nil {
		return err
	}
	off := want == types.VirtualMachinePowerStatePoweredOff
	// Not a retry of a failure (the runner alone retries, errs.Policy):
	// a remembered reference the server no longer knows is dropped and
	// the path looked up once more.
	for attempt := 0; ; attempt++ {
		ref, remembered, err := s.resolve(ctx, vm)
		if err != nil {
			return fail(op, obj, err)
		}
		if ref.Value == "" {
			if off {
				return nil
			}
			return permanent(op, obj, "no VM %s in datacenter %s", vm.Path, s.datacenter)
		}
		err = s.setPower(ctx, ref, want)
		if remembered && attempt == 0 && gone(err, ref) {
			s.forgetPath(vm.Path)
			continue
		}
		if off && gone(err, ref) {
			return nil
		}
		return fail(op, obj, err)
	}
}

// setPower powers a VM on or off and waits; already there is success.
// The state is not read first: the task's InvalidPowerState fault says
// when the VM was there already, and the call is one either way.
func (s *site) setPower(ctx context.Context, ref types.ManagedObjectReference, want types.VirtualMachinePowerState) error {
	v := object.NewVirtualMachine(s.vc, ref)
	var t *object.Task
	var err error
	if want == types.VirtualMachinePowerStatePoweredOn {
		t, err = v.PowerOn(ctx)
	} else {
		t, err = v.PowerOff(ctx)
	}
	if err == nil {
		_, err = s.wait(ctx, t)
	}
	if err != nil && alreadyInState(err, want) {
		return nil
	}
	return err
}

// Customize gives the VM's first NIC a fixed address, gateway and DNS
// servers, and the guest a host name, through guest customization
// (LinuxPrep) applied at its next power-on. Its other NICs take DHCP.
func (s *site) Customize(ctx context.Context, vm providers.VM, ip providers.IPSettings) error {
	const op = "customize"
	obj := s.object(vm)
	if err := s.refuse(op, vm); err != nil {
		return err
	}
	if !ip.Address.IsValid() {
		return permanent(op, obj, "no address to set")
	}
	ref, err := s.refOf(ctx, op, vm)
	if err != nil {
		return err
	}
	var m mo.VirtualMachine
	if err := property.DefaultCollector(s.vc).RetrieveOne(ctx, ref, []string{"name", "config.hardware"}, &m); err != nil {
		return fail(op, obj, err)
	}
	nics := 0
	if m.Config != nil {
		nics = len(object.VirtualDeviceList(m.Config.Hardware.Device).SelectByType((*types.VirtualEthernetCard)(nil)))
	}
	if nics == 0 {
		return permanent(op, obj, "the VM has no NIC to give an address")
	}
	host := ip.Hostname
	if host == "" {
		host = m.Name
	}
	if ip.Origin.IsValid() {
		if err := s.setField(ctx, ref, FieldOrigin, ip.Origin.String()); err != nil {
			return fail(op, obj, err)
		}
	}
	spec := customizationSpec(host, ip, nics)
	t, err := object.NewVirtualMachine(s.vc, ref).Customize(ctx, spec)
	if err == nil {
		_, err = s.wait(ctx, t)
	}
	if isFault(err, &types.CustomizationPending{}) {
		// An earlier attempt of the step (a run that crashed before it
		// could journal the step's end) set it already.
		return nil
	}
	return fail(op, obj, err)
}

// customizationSpec is the LinuxPrep spec of a re-addressed VM.
func customizationSpec(host string, ip providers.IPSettings, nics int) types.CustomizationSpec {
	name, domain, _ := strings.Cut(host, ".")
	if domain == "" {
		domain = "localdomain"
	}
	first := types.CustomizationIPSettings{}
	addr := ip.Address.Addr()
	if addr.Is4() || addr.Is4In6() {
		mask := net.CIDRMask(ip.Address.Bits(), 32)
		first.Ip = &types.CustomizationFixedIp{IpAddress: addr.Unmap().String()}
		first.SubnetMask = net.IP(mask).String()
		if ip.Gateway.IsValid() {
			first.Gateway = []string{ip.Gateway.String()}
		}
	} else {
		first.Ip = &types.CustomizationDhcpIpGenerator{}
		v6 := &types.CustomizationIPSettingsIpV6AddressSpec{
			Ip: []types.BaseCustomizationIpV6Generator{&types.CustomizationFixedIpV6{IpAddress: addr.String(), SubnetMask: int32(ip.Address.Bits())}},
		}
		if ip.Gateway.IsValid() {
			v6.Gateway = []string{ip.Gateway.String()}
		}
		first.IpV6Spec = v6
	}
	var dns []string
	for _, d := range ip.DNS {
		dns = append(dns, d.String())
	}
	first.DnsServerList = dns
	nicMap := []types.CustomizationAdapterMapping{{Adapter: first}}
	for range nics - 1 {
		nicMap = append(nicMap, types.CustomizationAdapterMapping{Adapter: types.CustomizationIPSettings{Ip: &types.CustomizationDhcpIpGenerator{}}})
	}
	return types.CustomizationSpec{
		Identity: &types.CustomizationLinuxPrep{
			HostName:   &types.CustomizationFixedName{Name: name},
			Domain:     domain,
			HwClockUTC: types.NewBool(true),
		},
		GlobalIPSettings: types.CustomizationGlobalIPSettings{DnsServerList: dns},
		NicSettingMap:    nicMap,
	}
}

// Destroy deletes the VM, powering it off first when it is on; a VM
// already gone is not an error. It also deletes an empty folder (Marked
// lists the folders a run created); the folders above it stay, since
// runs share them. It refuses to delete a replica (a VM marked
// drplan.replica) or a folder that is not empty.
//
// A copy this site made is known not to be a replica and is destroyed
// straight away (two calls and a share of the task waits); another VM is
// read first, which also says whether to power it off.
func (s *site) Destroy(ctx context.Context, vm providers.VM) error {
	const op = "destroy"
	obj := s.object(vm)
	if err := s.refuse(op, vm); err != nil {
		return err
	}
	if vm.Ref == "" && strings.Trim(vm.Path, "/") == "" {
		return permanent(op, obj, "no VM named")
	}
	// Not a retry of a failure: a stale remembered reference is dropped
	// and the path looked up once more, as in power.
	for attempt := 0; ; attempt++ {
		ref, remembered, err := s.resolve(ctx, vm)
		if err != nil {
			return fail(op, obj, err)
		}
		if ref.Value == "" {
			return nil // gone already
		}
		if ref.Type == "Folder" {
			err = s.destroyFolder(ctx, op, obj, ref)
		} else {
			err = s.destroyVM(ctx, op, obj, ref)
		}
		if gone(err, ref) {
			if remembered && attempt == 0 {
				s.forgetPath(vm.Path)
				continue
			}
			return nil
		}
		return fail(op, obj, err)
	}
}

func (s *site) destroyVM(ctx context.Context, op, obj string, ref types.ManagedObjectReference) error {
	if !s.isOurs(ref) {
		var m mo.VirtualMachine
		if err := property.DefaultCollector(s.vc).RetrieveOne(ctx, ref, []string{"runtime.powerState", "customValue"}, &m); err != nil {
			return err
		}
		fields, err := s.fieldKeys(ctx)
		if err != nil {
			return err
		}
		if key, ok := fields[FieldReplica]; ok && fieldValue(m.CustomValue, key, true) != "" {
			return permanent(op, obj, "the VM is a replica (%s is set); drplan does not destroy replicas", FieldReplica)
		}
		if m.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOff {
			if err := s.setPower(ctx, ref, types.VirtualMachinePowerStatePoweredOff); err != nil {
				return err
			}
		}
	}
	// Not a retry of a failure: a VM found still on (InvalidPowerState)
	// is powered off, then destroyed, once.
	for attempt := 0; ; attempt++ {
		t, err := object.NewVirtualMachine(s.vc, ref).Destroy(ctx)
		if err == nil {
			_, err = s.wait(ctx, t)
		}
		if err == nil {
			s.forgetVM(ref)
			return nil
		}
		// Still on: power it off and try again.
		var ips *types.InvalidPowerState
		if asFault(err, &ips) && attempt == 0 && ips.ExistingState != types.VirtualMachinePowerStatePoweredOff {
			if err := s.setPower(ctx, ref, types.VirtualMachinePowerStatePoweredOff); err != nil {
				return err
			}
			continue
		}
		if gone(err, ref) {
			s.forgetVM(ref)
		}
		return err
	}
}

// destroyFolder deletes an empty folder. vCenter deletes a folder with
// everything in it, so that it is read first: one that holds anything is
// refused.
func (s *site) destroyFolder(ctx context.Context, op, obj string, ref types.ManagedObjectReference) error {
	if ref == s.vmFolder {
		return permanent(op, obj, "the datacenter's vm folder cannot be destroyed")
	}
	var f mo.Folder
	if err := property.DefaultCollector(s.vc).RetrieveOne(ctx, ref, []string{"childEntity"}, &f); err != nil {
		return err
	}
	if n := len(f.ChildEntity); n > 0 {
		return permanent(op, obj, "the folder is not empty: it holds %d objects", n)
	}
	t, err := object.NewFolder(s.vc, ref).Destroy(ctx)
	if err == nil {
		_, err = s.wait(ctx, t)
	}
	s.forgetFolders()
	return err
}
