package invtest

import (
	"net/netip"

	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/plans"
)

// replicaFolder is where replicas live (vsphere.ReplicaFolder; not
// imported to keep this package free of the provider).
const replicaFolder = "drplan-replicas"

// For returns the inventory a mode runs against: snap itself, or for
// reprotect and failback the state a failover (and reprotect) leaves.
func For(mode plans.Mode, snap *inventory.Snapshot, p *plans.Plan) *inventory.Snapshot {
	switch mode {
	case plans.ModeReprotect:
		return AfterFailover(snap, p, false)
	case plans.ModeFailback:
		return AfterFailover(snap, p, true)
	}
	return snap
}

// AfterFailover returns a copy of snap as a failover of every protection
// group of p leaves it: each replicated VM runs at its group's recovery
// site, in the folder it had, and the VM it left is off. With
// reprotected, the VM left behind is moreover the replica of the one that
// runs, as reprotect leaves it, ready for failback.
func AfterFailover(snap *inventory.Snapshot, p *plans.Plan, reprotected bool) *inventory.Snapshot {
	out := &inventory.Snapshot{Taken: snap.Taken, Sites: map[string]*inventory.Site{}}
	for name, s := range snap.Sites {
		c := *s
		c.VMs = make([]*inventory.VM, len(s.VMs))
		for i, v := range s.VMs {
			cv := *v
			c.VMs[i] = &cv
		}
		out.Sites[name] = &c
	}
	for _, g := range p.ProtectionGroups {
		from, to := out.Sites[g.Site], out.Sites[g.RecoverySite]
		if from == nil || to == nil {
			continue
		}
		for _, r := range to.VMs {
			if r.Replica == nil || r.Replica.Group != g.Name {
				continue
			}
			var src *inventory.VM
			for _, v := range from.VMs {
				if v.Name == r.Replica.Of && v.Replica == nil {
					src = v
				}
			}
			if src == nil {
				continue
			}
			points := r.Replica.Points
			r.Folder, r.Replica, r.PowerState, r.IP = src.Folder, nil, "poweredOn", ""
			if a, err := netip.ParseAddr(src.IP); err == nil {
				r.Origin = netip.PrefixFrom(a, a.BitLen()).String()
			}
			src.PowerState, src.IP = "poweredOff", ""
			if reprotected {
				src.Folder = replicaFolder
				src.Replica = &inventory.Replica{Of: r.Name, Group: g.Name, Site: g.RecoverySite, Points: points}
			}
		}
	}
	return out
}
