package compiler

import (
	"time"

	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/plans"
)

// GroupState is what the sites say about one protection group: the facts
// that the inventory checks judge (VMs not found, unprotected VMs, missing
// replicas, lost disks, the age of the recovery point), for drplan status.
type GroupState struct {
	Group        string
	Site         string // protected site: where the VMs run now
	RecoverySite string // where their replicas are
	// Reversed says the group runs at its plan's recovery site and
	// replicates back to its protected site: a failover and reprotect
	// happened, and failback is next. Site and RecoverySite are then the
	// plan's swapped.
	Reversed bool
	Method   string
	RPO      time.Duration
	// SiteReachable and RecoverySiteReachable report whether the sites
	// answered; facts that need an unreachable site are left empty.
	SiteReachable, RecoverySiteReachable bool
	// VMs are the group's members: named, and matched by its selectors.
	VMs []string
	// NotFound are named VMs missing from the protected site.
	NotFound []string
	// Unprotected are VMs where one of the group's selectors looks (its
	// folder or tag) that no group protects.
	Unprotected []string
	// Replicas are the members' replicas at the recovery site, in member
	// order; NoReplica the members that have none.
	Replicas  []ReplicaState
	NoReplica []string
	// LostDisks are disks of members that their replicas lack, as
	// "VM: SIZE on datastore DS".
	LostDisks []string
	// Point is the latest point the whole group can be recovered to (the
	// oldest of its replicas' latest points), zero without one; Age is its
	// age in plan time.
	Point time.Time
	Age   time.Duration
}

// ReplicaState is one replica's recovery points.
type ReplicaState struct {
	VM         string
	Latest     time.Time
	Age        time.Duration // plan time
	Points     int           // discrete points held; 0 for a journal
	Continuous bool
}

// Stale reports whether the group's recovery point is older than its RPO:
// what drplan plan warns about as SummaryReplicaStale.
func (g *GroupState) Stale() bool {
	return g.RPO > 0 && !g.Point.IsZero() && g.Age > g.RPO
}

// Drift reports whether the sites drifted from the plan for this group:
// VMs missing or unprotected, replicas missing, disks not replicated.
func (g *GroupState) Drift() bool {
	return len(g.NotFound)+len(g.Unprotected)+len(g.NoReplica)+len(g.LostDisks) > 0
}

// Protection returns the state of every protection group of the plan,
// in declaration order, from the sites' inventory. p must have been
// loaded with the selector matches of inv (see SelectorMatches). Only
// opts.Now matters.
func Protection(p *plans.Plan, inv *inventory.Snapshot, opts Options) []GroupState {
	b := newBuilder(p, inv, opts)
	out := make([]GroupState, 0, len(p.ProtectionGroups))
	for _, g := range p.ProtectionGroups {
		reversed := b.reversed(g)
		if reversed {
			r := *g
			r.Site, r.RecoverySite = g.RecoverySite, g.Site
			g = &r
		}
		gs := GroupState{Group: g.Name, Reversed: reversed, Site: g.Site, RecoverySite: g.RecoverySite, VMs: b.members(g),
			SiteReachable: b.siteReachable(g.Site), RecoverySiteReachable: b.siteReachable(g.RecoverySite),
			NotFound: b.notFound(g)}
		if g.Replication != nil {
			gs.Method, gs.RPO = string(g.Replication.Method), g.Replication.RPO
		}
		unprotected := map[string]bool{}
		for _, sel := range g.Selectors {
			for _, vm := range b.unprotected(g, sel) {
				if !unprotected[vm] {
					unprotected[vm] = true
					gs.Unprotected = append(gs.Unprotected, vm)
				}
			}
		}
		if gs.RecoverySiteReachable && g.Replication != nil {
			replicas, missing := b.replicas(g)
			gs.NoReplica = missing
			for _, r := range replicas {
				pts := r.Replica.Points
				latest := pts.Latest()
				rs := ReplicaState{VM: r.Replica.Of, Latest: latest, Age: b.planAge(latest), Continuous: pts.Continuous}
				if !pts.Continuous {
					rs.Points = len(pts.Times)
				}
				gs.Replicas = append(gs.Replicas, rs)
			}
			gs.Point, gs.Age = b.groupPoint(replicas)
			if gs.SiteReachable {
				gs.LostDisks = b.lostDisks(g)
			}
		}
		out = append(out, gs)
	}
	return out
}

// reversed reports whether a group's replication runs backwards, as a
// reprotect leaves it: every member has its replica at the protected
// site and none at the recovery site.
func (b *builder) reversed(g *plans.ProtectionGroup) bool {
	members := b.members(g)
	if len(members) == 0 || !b.siteReachable(g.Site) || !b.siteReachable(g.RecoverySite) {
		return false
	}
	for _, vm := range members {
		if b.replica(g.Site, vm) == nil || b.replica(g.RecoverySite, vm) != nil {
			return false
		}
	}
	return true
}
