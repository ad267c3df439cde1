package vsphere

import (
	"context"
	"slices"
	"time"

	"github.com/vmware/govmomi/vim25/types"
)

// network is one port group of the datacenter: a standard network, a
// distributed port group or an opaque (NSX) network.
type network struct {
	name string
	ref  types.ManagedObjectReference
	// Distributed port groups: the port group's key and its switch.
	portgroupKey string
	dvs          types.ManagedObjectReference
	switchUUID   string
	uplink       bool
	// Opaque networks.
	opaqueID, opaqueType string
}

// backing is what a virtual NIC on the network carries.
func (n *network) backing() types.BaseVirtualDeviceBackingInfo {
	switch {
	case n.portgroupKey != "":
		return &types.VirtualEthernetCardDistributedVirtualPortBackingInfo{
			Port: types.DistributedVirtualSwitchPortConnection{SwitchUuid: n.switchUUID, PortgroupKey: n.portgroupKey},
		}
	case n.opaqueID != "":
		return &types.VirtualEthernetCardOpaqueNetworkBackingInfo{OpaqueNetworkId: n.opaqueID, OpaqueNetworkType: n.opaqueType}
	}
	ref := n.ref
	return &types.VirtualEthernetCardNetworkBackingInfo{
		VirtualDeviceDeviceBackingInfo: types.VirtualDeviceDeviceBackingInfo{DeviceName: n.name},
		Network:                        &ref,
	}
}

// networkSet is the datacenter's port groups.
type networkSet struct {
	byName map[string]*network
	byKey  map[string]*network // distributed port groups by key
	byID   map[string]*network // opaque networks by ID
	byRef  map[types.ManagedObjectReference]*network
}

// names lists the port groups VMs can use (not the uplinks of
// distributed switches), sorted.
func (ns *networkSet) names() []string {
	var out []string
	for name, n := range ns.byName {
		if !n.uplink {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// nameOf says which port group a NIC backing is on.
func (ns *networkSet) nameOf(b types.BaseVirtualDeviceBackingInfo) string {
	switch b := b.(type) {
	case *types.VirtualEthernetCardNetworkBackingInfo:
		if b.Network != nil {
			if n := ns.byRef[*b.Network]; n != nil {
				return n.name
			}
		}
		return b.DeviceName
	case *types.VirtualEthernetCardDistributedVirtualPortBackingInfo:
		if n := ns.byKey[b.Port.PortgroupKey]; n != nil {
			return n.name
		}
		return b.Port.PortgroupKey
	case *types.VirtualEthernetCardOpaqueNetworkBackingInfo:
		if n := ns.byID[b.OpaqueNetworkId]; n != nil {
			return n.name
		}
		return b.OpaqueNetworkId
	}
	return ""
}

// networkProps are the properties the network set is built from.
var networkProps = []types.PropertySpec{
	{Type: "Network", PathSet: []string{"name"}},
	{Type: "DistributedVirtualPortgroup", PathSet: []string{"key", "config.distributedVirtualSwitch", "config.uplink"}},
	{Type: "OpaqueNetwork", PathSet: []string{"summary"}},
	{Type: "DistributedVirtualSwitch", PathSet: []string{"uuid"}},
}

var networkKinds = []string{"Network", "DistributedVirtualSwitch"}

// newNetworkSet builds the set from retrieved objects of networkProps.
func newNetworkSet(objects []types.ObjectContent) *networkSet {
	ns := &networkSet{byName: map[string]*network{}, byKey: map[string]*network{}, byID: map[string]*network{},
		byRef: map[types.ManagedObjectReference]*network{}}
	uuids := map[types.ManagedObjectReference]string{}
	for _, oc := range objects {
		switch oc.Obj.Type {
		case "DistributedVirtualSwitch", "VmwareDistributedVirtualSwitch":
			for _, p := range oc.PropSet {
				if p.Name == "uuid" {
					uuids[oc.Obj], _ = p.Val.(string)
				}
			}
			continue
		case "Network", "DistributedVirtualPortgroup", "OpaqueNetwork":
		default:
			continue
		}
		n := &network{ref: oc.Obj}
		for _, p := range oc.PropSet {
			switch p.Name {
			case "name":
				n.name, _ = p.Val.(string)
			case "key":
				n.portgroupKey, _ = p.Val.(string)
			case "config.distributedVirtualSwitch":
				if ref, ok := p.Val.(types.ManagedObjectReference); ok {
					n.dvs = ref
				}
			case "config.uplink":
				n.uplink, _ = p.Val.(bool)
			case "summary":
				if s, ok := p.Val.(*types.OpaqueNetworkSummary); ok {
					n.opaqueID, n.opaqueType = s.OpaqueNetworkId, s.OpaqueNetworkType
				}
			}
		}
		if n.name == "" {
			continue
		}
		if prev := ns.byName[n.name]; prev == nil || prev.uplink {
			ns.byName[n.name] = n
		}
		ns.byRef[n.ref] = n
		if n.portgroupKey != "" {
			ns.byKey[n.portgroupKey] = n
		}
		if n.opaqueID != "" {
			ns.byID[n.opaqueID] = n
		}
	}
	for _, n := range ns.byRef {
		if n.portgroupKey != "" {
			n.switchUUID = uuids[n.dvs]
		}
	}
	return ns
}

// networkTTL is how long the port groups read once are trusted for
// reconfiguring NICs; a name missing from them is always read again.
const networkTTL = time.Minute

// networks returns the datacenter's port groups, read again when they are
// older than networkTTL or when fresh is set.
func (s *site) networks(ctx context.Context, fresh bool) (*networkSet, error) {
	s.mu.Lock()
	ns, at := s.nets, s.netsRead
	s.mu.Unlock()
	if ns != nil && !fresh && time.Since(at) < networkTTL {
		return ns, nil
	}
	objects, err := s.retrieve(ctx, s.dc.Reference(), networkKinds, networkProps)
	if err != nil {
		return nil, err
	}
	ns = newNetworkSet(objects)
	s.setNetworks(ns)
	return ns, nil
}

func (s *site) setNetworks(ns *networkSet) {
	s.mu.Lock()
	s.nets, s.netsRead = ns, time.Now()
	s.mu.Unlock()
}

// portGroups resolves port group names, reading them again once when a
// name is missing; it returns the missing names and the existing ones.
func (s *site) portGroups(ctx context.Context, names []string) ([]*network, []string, *networkSet, error) {
	ns, err := s.networks(ctx, false)
	if err != nil {
		return nil, nil, nil, err
	}
	// Not a retry of a failure: the cached port groups are read afresh
	// once when a name is missing from them.
	for attempt := 0; ; attempt++ {
		var out []*network
		var missing []string
		for _, name := range names {
			if n := ns.byName[name]; n != nil && !n.uplink {
				out = append(out, n)
			} else {
				missing = append(missing, name)
			}
		}
		if len(missing) == 0 || attempt > 0 {
			return out, missing, ns, nil
		}
		if ns, err = s.networks(ctx, true); err != nil {
			return nil, nil, nil, err
		}
	}
}
