package simulate

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/providers/vsphere"
)

// engine is the replication engine: for every protection group it takes
// recovery points on the group's schedule and writes them to the replicas'
// FieldPoints attribute, where any vSphere client can read them.
//
// Points are wall-clock times. A group takes a point every half RPO ×
// time_scale, as replication schedulers do to stay within the RPO, so an
// on-time group's points are never older than half its RPO;
// a replication_lag fault makes every point lag behind by lag × time_scale.
// Methods that keep several points keep retention of them (the CDP journal
// keeps its window); consistency = "group" gives all of a group's replicas
// the same points, "vm" staggers them across the RPO window as independent
// per-VM replication would.
type engine struct {
	w      *World
	mu     sync.Mutex
	groups map[string]*groupState
	order  []string
	quit   chan struct{}
	wg     sync.WaitGroup
}

type groupState struct {
	g        *plans.ProtectionGroup
	period   time.Duration // wall time between points
	keep     int           // points kept by discrete methods
	journal  time.Duration // wall-time window of a CDP journal
	lag      time.Duration // wall-time lag
	replicas []*replica
}

// replica is a VM of a group that is, or may become, a replica: every
// protected VM and every replica of the group, at whichever site. Whether
// it is one is read from its FieldReplica attribute on every tick, so
// that a promotion (the attribute cleared) stops replication into it and
// a reversal (the attribute set on the former production VM) starts
// replication the other way.
type replica struct {
	site   *Site
	ref    types.ManagedObjectReference
	vm     *VM
	offset time.Duration // stagger for consistency = "vm"
	active bool          // a replica now
	pinned bool          // a run is promoting it: its points stay
	source string        // the site it replicates from, while active
	points vsphere.RecoveryPoints
}

// Shortest wall-clock interval between two points of a group, to bound
// the engine's work in heavily scaled worlds.
const minPeriod = 50 * time.Millisecond

func newEngine(w *World) *engine {
	e := &engine{w: w, groups: map[string]*groupState{}, quit: make(chan struct{})}
	lags := map[string]time.Duration{}
	if sim := w.Plan.Simulation; sim != nil {
		for _, f := range sim.Faults {
			if f.Kind == plans.ReplicationLag {
				lags[f.ProtectionGroup] = f.Lag
			}
		}
	}
	for _, g := range w.Plan.ProtectionGroups {
		if g.Replication == nil {
			continue
		}
		r := g.Replication
		gs := &groupState{g: g, keep: max(r.Retention, 1), lag: w.Scale(lags[g.Name])}
		switch r.Method {
		case plans.ArraySync:
			gs.period, gs.keep = 2*minPeriod, 1
		case plans.CDP:
			gs.period = w.Scale(r.RPO / 2)
			gs.journal = w.Scale(r.Journal)
		case plans.Host:
			gs.period, gs.keep = w.Scale(r.RPO/2), 1
		default:
			gs.period = w.Scale(r.RPO / 2)
		}
		gs.period = max(gs.period, minPeriod)
		e.groups[g.Name] = gs
		e.order = append(e.order, g.Name)
	}
	return e
}

// register adds a protected VM or a replica to its group.
func (e *engine) register(s *Site, ref types.ManagedObjectReference, v *VM) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if gs := e.groups[v.Group]; gs != nil {
		gs.replicas = append(gs.replicas, &replica{site: s, ref: ref, vm: v})
	}
}

// start seeds every replica with the points it would hold after running
// for a while, then takes new points on schedule.
func (e *engine) start(ctx context.Context) error {
	now := e.w.now()
	for _, name := range e.order {
		gs := e.groups[name]
		sort.Slice(gs.replicas, func(i, j int) bool {
			a, b := gs.replicas[i], gs.replicas[j]
			return a.vm.Name < b.vm.Name || a.vm.Name == b.vm.Name && a.site.Name < b.site.Name
		})
		var names []string
		for _, r := range gs.replicas {
			if len(names) == 0 || names[len(names)-1] != r.vm.Name {
				names = append(names, r.vm.Name)
			}
		}
		n := len(names)
		for _, r := range gs.replicas {
			if gs.g.Consistency != plans.ConsistencyGroup && n > 1 {
				r.offset = gs.period * time.Duration(sort.SearchStrings(names, r.vm.Name)) / time.Duration(n)
			}
			e.refresh(r, now)
			if !r.active {
				continue
			}
			latest := now.Add(-gs.lag - r.offset)
			if gs.journal > 0 {
				r.points = vsphere.RecoveryPoints{Continuous: true, JournalStart: latest.Add(-gs.journal), Times: []time.Time{latest}}
				continue
			}
			r.points = vsphere.RecoveryPoints{}
			for k := gs.keep - 1; k >= 0; k-- {
				r.points.Times = append(r.points.Times, latest.Add(-time.Duration(k)*gs.period))
			}
		}
		if err := e.write(ctx, gs); err != nil {
			return err
		}
	}
	for _, name := range e.order {
		gs := e.groups[name]
		if len(gs.replicas) == 0 {
			continue
		}
		e.wg.Add(1)
		go e.run(gs)
	}
	return nil
}

func (e *engine) run(gs *groupState) {
	defer e.wg.Done()
	t := time.NewTicker(gs.period)
	defer t.Stop()
	for {
		select {
		case <-e.quit:
			return
		case <-t.C:
			e.tick(gs, e.w.now())
			e.write(context.Background(), gs)
		}
	}
}

// refresh reads whether r is a replica now, and whether a run has
// pinned its point (vsphere.FieldPromoted) to promote it. One that has just become one
// starts with no points (a CDP journal starting now).
func (e *engine) refresh(r *replica, now time.Time) {
	raw := r.site.fieldOf(r.ref, vsphere.FieldReplica)
	info, err := vsphere.ParseReplicaInfo(raw)
	active := raw != "" && err == nil
	if active && !r.active {
		r.points = vsphere.RecoveryPoints{}
	}
	r.active, r.source = active, info.Site
	r.pinned = r.site.fieldOf(r.ref, vsphere.FieldPromoted) != ""
}

// tick takes a new point for every replica of the group whose source
// site is up: replication from a site that is cut off stops.
func (e *engine) tick(gs *groupState, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range gs.replicas {
		e.refresh(r, now)
		if !r.active || r.pinned {
			continue
		}
		if src := e.w.Site(r.source); src != nil && src.Down() {
			continue
		}
		latest := now.Add(-gs.lag - r.offset)
		if gs.journal > 0 {
			start := latest.Add(-gs.journal)
			if len(r.points.Times) == 0 && r.points.JournalStart.IsZero() {
				start = latest // a journal that starts now
			} else if r.points.JournalStart.After(start) {
				start = r.points.JournalStart
			}
			r.points = vsphere.RecoveryPoints{Continuous: true, JournalStart: start, Times: []time.Time{latest}}
			continue
		}
		if n := len(r.points.Times); n > 0 && !latest.After(r.points.Times[n-1]) {
			continue
		}
		r.points.Times = append(r.points.Times, latest)
		if over := len(r.points.Times) - gs.keep; over > 0 {
			r.points.Times = append([]time.Time(nil), r.points.Times[over:]...)
		}
	}
}

// write publishes the group's points on its replicas.
func (e *engine) write(ctx context.Context, gs *groupState) error {
	e.mu.Lock()
	type update struct {
		site *Site
		ref  types.ManagedObjectReference
		val  string
	}
	updates := make([]update, 0, len(gs.replicas))
	for _, r := range gs.replicas {
		if r.active {
			updates = append(updates, update{r.site, r.ref, vsphere.FormatRecoveryPoints(r.points)})
		}
	}
	e.mu.Unlock()
	for _, u := range updates {
		if err := u.site.setField(ctx, u.ref, vsphere.FieldPoints, u.val); err != nil {
			return err
		}
	}
	return nil
}

func (e *engine) stop() {
	select {
	case <-e.quit:
	default:
		close(e.quit)
	}
	e.wg.Wait()
}

// Points returns the recovery points the replication engine holds for
// the replica of VM name at this site (none when the VM has no replica
// here): after a reprotect, the former production VM's.
func (s *Site) Points(name string) []time.Time {
	e := s.world.engine
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, gs := range e.groups {
		for _, r := range gs.replicas {
			if r.site == s && r.vm.Name == name && r.active {
				return append([]time.Time(nil), r.points.Times...)
			}
		}
	}
	return nil
}
