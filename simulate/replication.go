package simulate

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/providers/vsphere"
)

// engine is the replication engine. A replica's recovery points are a
// function of the world's clock and of the few events that change how it
// replicates; nothing ticks.
//
// # Points
//
// Discrete methods (array_async, vsphere_replication, snapshot, host,
// backup) take a point at every instant start + k × period of the
// world's clock, period being half the RPO as replication schedulers do
// to stay within it; the point taken at instant t is t − lag − offset,
// where lag is the group's replication_lag fault (0 without one) and
// offset staggers the VMs of a group with consistency = "vm" across the
// period (0 for consistency = "group", whose replicas share their
// points). retention points are kept (1 for host). A group without a lag
// thus never holds a latest point older than 2 × period = its RPO.
// Continuous methods hold a point at every instant: cdp a journal from
// its start (now − journal, or when replication into the replica began)
// to now − lag, array_sync the one point now − lag.
//
// Nothing is taken while the replica's source site is down (replication
// from a site that is cut off stops), while a run has pinned it
// (vsphere.FieldPromoted set: its points stay as they were), or while it
// is no replica (FieldReplica cleared by a promotion). A VM that becomes
// a replica (a reversal sets FieldReplica on the former production VM)
// starts with no points, a CDP journal starting then. The engine learns
// of these events as they happen: SetDown tells it of outages, and
// Site.intercept of every SetField of FieldReplica or FieldPromoted on a
// VM it tracks; before applying one it brings the replica's points up to
// the event's instant (advance), so that the points are exactly those a
// replicator running all along would hold.
//
// # Publication
//
// Points reach clients through the replicas' FieldPoints custom attribute
// (vsphere.FormatRecoveryPoints, unchanged format), written lazily: when
// a client reads properties that include custom attributes
// (RetrieveProperties[Ex] asking for customValue, value or all
// properties; see Site.intercept), the engine first brings the FieldPoints
// of the replicas the read may return up to the clock's now — the listed
// objects, or every replica of the site when the read traverses (a
// container view) — writing only those whose value changed. A client thus
// always reads the points as of the instant it reads them (a CDP
// journal's latest point is 0 s old), and the engine's work is one
// attribute write per replica read, never per clock jump: a world of
// 5,000 VMs on a virtual clock costs nothing while time jumps.
type engine struct {
	w      *World
	mu     sync.Mutex
	groups map[string]*groupState
	order  []string
	// byRef finds the replica a VM of a site stands for.
	byRef map[siteRef]*replica
}

type siteRef struct {
	site string
	ref  types.ManagedObjectReference
}

type groupState struct {
	g          *plans.ProtectionGroup
	continuous bool          // cdp and array_sync: a point at every instant
	journal    bool          // cdp: continuous with a journal window
	period     time.Duration // discrete: plan time between points
	keep       int           // discrete: points kept
	window     time.Duration // cdp: journal window
	lag        time.Duration // replication_lag fault
	// phase puts the group's schedule out of step with the world's
	// start, as a replication running long before it would be: its
	// latest point at the start is phase old. It comes from the seed.
	phase    time.Duration
	replicas []*replica
}

// replica is a VM of a group that is, or may become, a replica: every
// protected VM and every replica of the group, at whichever site.
type replica struct {
	gs     *groupState
	site   *Site
	ref    types.ManagedObjectReference
	vm     *VM
	offset time.Duration // stagger for consistency = "vm"
	active bool          // a replica now
	pinned bool          // a run is promoting it: its points stay
	source string        // the site it replicates from, while active
	points vsphere.RecoveryPoints
	// asOf is the instant points are current to; ticks after it are yet
	// to be taken. The zero time means "since ever" (a replica seeded
	// with the points it holds after running for a while).
	asOf    time.Time
	written string // the FieldPoints value last written
}

// journalDefault is a CDP journal's window when the plan names none.
const journalDefault = 24 * time.Hour

func newEngine(w *World) *engine {
	e := &engine{w: w, groups: map[string]*groupState{}, byRef: map[siteRef]*replica{}}
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
		gs := &groupState{g: g, keep: max(r.Retention, 1), lag: lags[g.Name], period: r.RPO / 2}
		if gs.period > 0 {
			h := fnv.New64a()
			fmt.Fprintf(h, "%d/%s", w.Seed, g.Name)
			gs.phase = time.Duration(h.Sum64() % uint64(gs.period))
		}
		switch r.Method {
		case plans.ArraySync:
			gs.continuous, gs.keep = true, 1
		case plans.CDP:
			gs.continuous, gs.journal, gs.window = true, true, r.Journal
			if gs.window <= 0 {
				gs.window = journalDefault
			}
		case plans.Host:
			gs.keep = 1
		}
		if !gs.continuous && gs.period <= 0 {
			gs.continuous, gs.keep = true, 1 // an RPO of 0: a mirror
		}
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
		r := &replica{gs: gs, site: s, ref: ref, vm: v}
		gs.replicas = append(gs.replicas, r)
		e.byRef[siteRef{s.Name, ref}] = r
	}
}

// start reads which VMs are replicas, seeds them with the points they
// would hold after running for a while, and publishes them.
func (e *engine) start() error {
	e.mu.Lock()
	defer e.mu.Unlock()
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
			if !gs.continuous && gs.g.Consistency != plans.ConsistencyGroup && n > 1 {
				r.offset = gs.period * time.Duration(sort.SearchStrings(names, r.vm.Name)) / time.Duration(n)
			}
			raw := r.site.fieldOf(r.ref, vsphere.FieldReplica)
			info, err := vsphere.ParseReplicaInfo(raw)
			r.active, r.source = raw != "" && err == nil, info.Site
			r.pinned = r.site.fieldOf(r.ref, vsphere.FieldPromoted) != ""
			if !r.active {
				continue
			}
			if gs.journal {
				latest := now.Add(-gs.lag)
				r.points = vsphere.RecoveryPoints{Continuous: true, JournalStart: latest.Add(-gs.window), Times: []time.Time{latest}}
				r.asOf = now
			}
			if err := e.publishLocked(r, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// flowing reports whether points are being taken into r now.
func (e *engine) flowing(r *replica) bool {
	if !r.active || r.pinned {
		return false
	}
	src := e.w.Site(r.source)
	return src == nil || !src.Down()
}

// advance brings r's points up to now, under the state r has had since
// r.asOf (the caller applies any change of state after advancing).
func (e *engine) advance(r *replica, now time.Time) {
	if !r.asOf.IsZero() && !now.After(r.asOf) {
		return
	}
	from := r.asOf
	r.asOf = now
	if !e.flowing(r) {
		return
	}
	gs := r.gs
	switch {
	case gs.journal:
		latest := now.Add(-gs.lag)
		start := r.points.JournalStart
		if len(r.points.Times) == 0 && start.IsZero() {
			start = latest // a journal that starts now
		}
		start = maxTime(start, latest.Add(-gs.window))
		r.points = vsphere.RecoveryPoints{Continuous: true, JournalStart: start, Times: []time.Time{latest}}
	case gs.continuous:
		r.points = vsphere.RecoveryPoints{Times: []time.Time{now.Add(-gs.lag)}}
	default:
		// Ticks are the instants origin + k × period in (from, now].
		origin := e.w.start.Add(-gs.phase)
		last := floorDiv(now.Sub(origin), gs.period)
		first := last - int64(gs.keep) + 1
		if !from.IsZero() {
			first = max(first, floorDiv(from.Sub(origin), gs.period)+1)
		}
		for k := first; k <= last; k++ {
			p := origin.Add(time.Duration(k)*gs.period - gs.lag - r.offset)
			if n := len(r.points.Times); n > 0 && !p.After(r.points.Times[n-1]) {
				continue
			}
			r.points.Times = append(r.points.Times, p)
		}
		if over := len(r.points.Times) - gs.keep; over > 0 {
			r.points.Times = slices.Clone(r.points.Times[over:])
		}
	}
}

// floorDiv is ⌊d / p⌋.
func floorDiv(d, p time.Duration) int64 {
	q := int64(d / p)
	if d%p < 0 {
		q--
	}
	return q
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// publishLocked brings r's points up to now and writes them to its
// FieldPoints when they changed.
func (e *engine) publishLocked(r *replica, now time.Time) error {
	if !r.active {
		return nil
	}
	e.advance(r, now)
	val := vsphere.FormatRecoveryPoints(r.points)
	if val == r.written {
		return nil
	}
	if err := r.site.setField(context.TODO(), r.ref, vsphere.FieldPoints, val); err != nil {
		return err
	}
	r.written = val
	return nil
}

// beforeRead publishes the points of the replicas at site s that a read
// may return: those of refs, or all of them.
func (e *engine) beforeRead(s *Site, all bool, refs []types.ManagedObjectReference) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.w.now()
	if all {
		for _, name := range e.order {
			for _, r := range e.groups[name].replicas {
				if r.site == s {
					e.publishLocked(r, now)
				}
			}
		}
		return
	}
	for _, ref := range refs {
		if r := e.byRef[siteRef{s.Name, ref}]; r != nil {
			e.publishLocked(r, now)
		}
	}
}

// fieldSet applies a client's SetField of FieldReplica or FieldPromoted
// on a VM of site s, at the instant it is made.
func (e *engine) fieldSet(s *Site, ref types.ManagedObjectReference, field, value string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.byRef[siteRef{s.Name, ref}]
	if r == nil {
		return
	}
	now := e.w.now()
	e.advance(r, now)
	switch field {
	case vsphere.FieldReplica:
		info, err := vsphere.ParseReplicaInfo(value)
		active := value != "" && err == nil
		if active && !r.active {
			// A new replica starts with no points.
			r.points, r.asOf, r.written = vsphere.RecoveryPoints{}, now, ""
		}
		r.active, r.source = active, info.Site
	case vsphere.FieldPromoted:
		r.pinned = value != ""
	}
}

// sourceDown brings every replica that replicates from site s up to now,
// before s goes down or comes back.
func (e *engine) sourceDown(s *Site) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.w.now()
	for _, name := range e.order {
		for _, r := range e.groups[name].replicas {
			if r.active && r.source == s.Name {
				e.advance(r, now)
			}
		}
	}
}

func (e *engine) stop() {}

// Points returns the recovery points the replication engine holds for
// the replica of VM name at this site now (none when the VM has no
// replica here): after a reprotect, the former production VM's.
func (s *Site) Points(name string) []time.Time {
	r := s.PointsOf(name)
	return r.Times
}

// PointsOf returns the recovery points of the replica of VM name at this
// site as of now, a CDP journal included.
func (s *Site) PointsOf(name string) vsphere.RecoveryPoints {
	e := s.world.engine
	e.mu.Lock()
	defer e.mu.Unlock()
	now := s.world.now()
	for _, gname := range e.order {
		for _, r := range e.groups[gname].replicas {
			if r.site == s && r.vm.Name == name && r.active {
				e.advance(r, now)
				p := r.points
				p.Times = slices.Clone(p.Times)
				return p
			}
		}
	}
	return vsphere.RecoveryPoints{}
}

// readsFields reports whether a property read asks for custom
// attributes, and which objects it reads: all (it traverses) or refs.
func readsFields(specs []types.PropertyFilterSpec) (wants, all bool, refs []types.ManagedObjectReference) {
	for _, spec := range specs {
		asks := false
		for _, ps := range spec.PropSet {
			if ps.All != nil && *ps.All {
				asks = true
			}
			for _, p := range ps.PathSet {
				if p == "customValue" || p == "value" || strings.HasPrefix(p, "customValue") || strings.HasPrefix(p, "value[") {
					asks = true
				}
			}
		}
		if !asks {
			continue
		}
		wants = true
		for _, os := range spec.ObjectSet {
			if len(os.SelectSet) > 0 {
				all = true
			}
			refs = append(refs, os.Obj)
		}
	}
	return wants, all, refs
}

// PointsAfter is the earliest instant at which every replica of group
// holds a recovery point taken at or after since (a migration's final
// sync waits for it), when replication goes on as it is now; false when
// it never will (a source site down, no replica).
func (w *World) PointsAfter(group string, since time.Time) (time.Time, bool) {
	e := w.engine
	e.mu.Lock()
	defer e.mu.Unlock()
	gs := e.groups[group]
	if gs == nil {
		return time.Time{}, false
	}
	var ready time.Time
	found := false
	for _, r := range gs.replicas {
		e.advance(r, w.now())
		if !r.active {
			continue
		}
		if !e.flowing(r) {
			return time.Time{}, false
		}
		var at time.Time
		if gs.continuous || gs.journal {
			at = since.Add(gs.lag)
		} else {
			// The first tick whose point (tick − lag − offset) is at or
			// after since.
			origin := e.w.start.Add(-gs.phase)
			k := floorDiv(since.Add(gs.lag+r.offset).Sub(origin)-1, gs.period) + 1
			at = origin.Add(time.Duration(k) * gs.period)
		}
		if !found || at.After(ready) {
			ready, found = at, true
		}
	}
	return ready, found
}
