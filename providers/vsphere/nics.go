package vsphere

import (
	"context"
	"fmt"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/providers"
)

// checkPortGroups resolves port group names, or says which are missing
// and which exist: reconfiguring a NIC onto a port group that does not
// exist must never reach vCenter.
func (s *site) checkPortGroups(ctx context.Context, op, obj string, names []string) ([]*network, error) {
	if len(names) == 0 {
		return nil, nil
	}
	nets, missing, ns, err := s.portGroups(ctx, names)
	if err != nil {
		return nil, fail(op, obj, err)
	}
	if len(missing) > 0 {
		word := "port group"
		if len(missing) > 1 {
			word = "port groups"
		}
		return nil, permanent(op, obj, "no %s %s in datacenter %s; it has %s", word, quoteList(missing), s.datacenter, quoteList(ns.names()))
	}
	return nets, nil
}

func quoteList(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// nicChanges puts a VM's NICs, in order, on the given port groups and
// connects them (at power-on, and at once when the VM is on); NICs beyond
// the list are disconnected, so that no NIC of a copy stays on a network
// nobody chose for it. No port groups means no change.
func nicChanges(devices []types.BaseVirtualDevice, nets []*network, poweredOn bool) ([]types.BaseVirtualDeviceConfigSpec, error) {
	if len(nets) == 0 {
		return nil, nil
	}
	cards := object.VirtualDeviceList(devices).SelectByType((*types.VirtualEthernetCard)(nil))
	if len(nets) > len(cards) {
		return nil, fmt.Errorf("%d port groups for %d NICs", len(nets), len(cards))
	}
	var changes []types.BaseVirtualDeviceConfigSpec
	for i, d := range cards {
		card := d.(types.BaseVirtualEthernetCard).GetVirtualEthernetCard()
		conn := types.VirtualDeviceConnectInfo{AllowGuestControl: true}
		if card.Connectable != nil {
			conn = *card.Connectable
		}
		if i < len(nets) {
			card.Backing = nets[i].backing()
			conn.StartConnected, conn.Connected = true, poweredOn
		} else {
			conn.StartConnected, conn.Connected = false, false
		}
		card.Connectable = &conn
		changes = append(changes, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationEdit, Device: d})
	}
	return changes, nil
}

// SetNetworks puts the VM's NICs, in order, on the given port groups, in
// one reconfiguration; see nicChanges.
func (s *site) SetNetworks(ctx context.Context, vm providers.VM, networks []string) error {
	const op = "set_networks"
	obj := s.object(vm)
	if err := s.refuse(op, vm); err != nil {
		return err
	}
	nets, err := s.checkPortGroups(ctx, op, obj, networks)
	if err != nil || len(nets) == 0 {
		return err
	}
	ref, err := s.refOf(ctx, op, vm)
	if err != nil {
		return err
	}
	var m mo.VirtualMachine
	if err := property.DefaultCollector(s.vc).RetrieveOne(ctx, ref, []string{"config.hardware", "runtime.powerState"}, &m); err != nil {
		return fail(op, obj, err)
	}
	if m.Config == nil {
		return permanent(op, obj, "the VM has no configuration")
	}
	changes, err := nicChanges(m.Config.Hardware.Device, nets, m.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn)
	if err != nil {
		return permanent(op, obj, "%v", err)
	}
	t, err := object.NewVirtualMachine(s.vc, ref).Reconfigure(ctx, types.VirtualMachineConfigSpec{DeviceChange: changes})
	if err == nil {
		_, err = s.wait(ctx, t)
	}
	return fail(op, obj, err)
}
