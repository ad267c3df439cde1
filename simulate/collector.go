package simulate

import (
	"bytes"
	"context"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/internal/clock"
)

// waits serves WaitForUpdatesEx on a world's virtual clock.
//
// vcsim v0.56.0 collects a waiting client's updates on a 20 ms wall-clock
// ticker, so that a wait could not tell a virtual clock whether it has
// something to deliver: time would move on before the update reached the
// waiter. On a virtual clock the site therefore answers the wait itself,
// with the same result a property collector gives: each of the
// collector's filters is collected (vcsim's own RetrievePropertiesEx)
// and compared with what the client was last sent; the differences are
// the update. A wait with nothing to send parks: its caller's Work (the
// HTTP call's, clock.WorkHeader) rests, and any change to an object the
// wait looks at resumes it before the change's own work ends, so that
// time cannot pass between a change and its delivery. MaxWaitSeconds is
// plan time. CancelWaitForUpdates ends a parked wait with RequestCanceled,
// as vCenter does.
//
// Filter specs are read from vcsim's PropertyFilter objects, so
// CreateFilter, DestroyPropertyFilter and DestroyPropertyCollector stay
// vcsim's. On a clock that is not virtual (`drplan sim serve`) vcsim's
// own wait serves.
type waits struct {
	site *Site
	v    *clock.Virtual
	self types.ManagedObjectReference

	mu      sync.Mutex
	callers map[string]caller          // the HTTP call of each wait being served, by session and collector
	states  map[string]*collectorState // by session and collector
	parked  map[*parkedWait]struct{}
}

// caller is what the HTTP front knows of a wait call.
type caller struct {
	work *clock.Work
	ctx  context.Context
}

// collectorState is what a collector's client has been sent, per filter.
type collectorState struct {
	version int
	sent    map[types.ManagedObjectReference]map[types.ManagedObjectReference]map[string]any // filter → object → property → value
	// watched are the objects of the collector's plain filters (a list
	// of objects, no traversal), and changed those of them that changed
	// since they were last collected: a plain filter that was collected
	// before is collected again for its changed objects only, not whole
	// (guarded by waits.mu).
	watched map[types.ManagedObjectReference]struct{}
	changed map[types.ManagedObjectReference]struct{}
}

// parkedWait is a wait being served.
type parkedWait struct {
	work     *clock.Work
	paused   clock.Paused // while parked: how its waker resumes the caller
	wake     chan struct{}
	dirty    bool // something it looks at changed since it last looked
	canceled bool
	timedOut bool
	all      bool                                      // any change may matter
	objs     map[types.ManagedObjectReference]struct{} // the objects it looks at
	key      string
}

func newWaits(s *Site, v *clock.Virtual) *waits {
	return &waits{site: s, v: v, self: types.ManagedObjectReference{Type: "drplanWaits", Value: s.Name},
		callers: map[string]caller{}, states: map[string]*collectorState{}, parked: map[*parkedWait]struct{}{}}
}

func waitKey(session string, collector string) string { return session + "/" + collector }

// serve notes the caller of a WaitForUpdatesEx call for the duration of
// the call; it reports false for any other call.
func (ws *waits) serve(w http.ResponseWriter, r *http.Request, body []byte, inner http.Handler) bool {
	if !bytes.Contains(body, waitCall) {
		return false
	}
	m := collectorThis.FindSubmatch(body)
	c, err := r.Cookie(soap.SessionCookieName)
	if m == nil || err != nil {
		return false
	}
	key := waitKey(c.Value, string(m[1]))
	ws.mu.Lock()
	ws.callers[key] = caller{work: ws.v.WorkByID(r.Header.Get(clock.WorkHeader)), ctx: r.Context()}
	ws.mu.Unlock()
	defer func() {
		ws.mu.Lock()
		delete(ws.callers, key)
		ws.mu.Unlock()
	}()
	inner.ServeHTTP(w, r)
	return true
}

// wrap makes the session's collector that a call goes to one whose
// WaitForUpdatesEx and CancelWaitForUpdates are served here (called from
// the site's method hook, before vcsim picks the call's handler).
func (ws *waits) wrap(ctx *simulator.Context, m *simulator.Method) {
	if ctx.Session == nil || m.This.Type != "PropertyCollector" || (m.Name != "WaitForUpdatesEx" && m.Name != "CancelWaitForUpdates") {
		return
	}
	obj := ctx.Session.Get(m.This)
	pc, ok := obj.(*simulator.PropertyCollector)
	if !ok {
		return // wrapped already, or not a collector
	}
	ctx.Session.Put(&clockCollector{PropertyCollector: pc, waits: ws})
}

// clockCollector is a session's property collector whose waits are
// served on the virtual clock.
type clockCollector struct {
	*simulator.PropertyCollector
	waits *waits
}

// WaitForUpdatesEx answers with what changed since the client's last
// update, waiting (parked) until something has or MaxWaitSeconds of plan
// time have passed.
func (c *clockCollector) WaitForUpdatesEx(ctx *simulator.Context, r *types.WaitForUpdatesEx) soap.HasFault {
	ws := c.waits
	key := waitKey(ctx.Session.Key, c.Self.Value)
	body := &methods.WaitForUpdatesExBody{Res: &types.WaitForUpdatesExResponse{}}
	ws.mu.Lock()
	call := ws.callers[key]
	st := ws.states[key]
	if st == nil || r.Version == "" {
		st = &collectorState{sent: map[types.ManagedObjectReference]map[types.ManagedObjectReference]map[string]any{}}
		ws.states[key] = st
	}
	p := &parkedWait{work: call.work, wake: make(chan struct{}, 1), key: key}
	ws.parked[p] = struct{}{}
	ws.mu.Unlock()
	defer func() {
		ws.mu.Lock()
		delete(ws.parked, p)
		ws.mu.Unlock()
	}()
	reqCtx := call.ctx
	if reqCtx == nil {
		reqCtx = context.Background()
	}
	var timer clock.Timer
	oneUpdate := false
	if o := r.Options; o != nil && o.MaxWaitSeconds != nil {
		if secs := *o.MaxWaitSeconds; secs > 0 {
			timer = ws.v.AfterFunc(time.Duration(secs)*time.Second, func() { ws.signal(p, func() { p.timedOut = true }) })
			defer timer.Stop()
		} else {
			oneUpdate = true
		}
	}
	for {
		ws.mu.Lock()
		p.dirty = false
		ws.mu.Unlock()
		set, fault := c.collect(ctx, st, p)
		if fault != nil {
			body.Fault_ = fault
			body.Res = nil
			return body
		}
		if set != nil {
			body.Res.Returnval = set
			return body
		}
		ws.mu.Lock()
		switch {
		case p.canceled:
			ws.mu.Unlock()
			body.Fault_ = simulator.Fault("", new(types.RequestCanceled))
			body.Res = nil
			return body
		case p.timedOut || oneUpdate:
			ws.mu.Unlock()
			return body // no updates: Returnval nil
		case p.dirty:
			ws.mu.Unlock()
			continue
		}
		p.paused = p.work.PauseUnless(reqCtx)
		ws.mu.Unlock()
		select {
		case <-p.wake:
		case <-reqCtx.Done():
			p.paused.Resume()
			body.Fault_ = simulator.Fault("", new(types.RequestCanceled))
			body.Res = nil
			return body
		}
	}
}

// CancelWaitForUpdates ends the wait being served on this session's
// collector (another session's wait on a collector of the same name,
// such as the default one, goes on).
func (c *clockCollector) CancelWaitForUpdates(ctx *simulator.Context, r *types.CancelWaitForUpdates) soap.HasFault {
	ws := c.waits
	key := waitKey(ctx.Session.Key, c.Self.Value)
	ws.mu.Lock()
	var found []*parkedWait
	for p := range ws.parked {
		if p.key == key {
			found = append(found, p)
		}
	}
	ws.mu.Unlock()
	for _, p := range found {
		ws.signal(p, func() { p.canceled = true })
	}
	return &methods.CancelWaitForUpdatesBody{Res: new(types.CancelWaitForUpdatesResponse)}
}

// signal wakes a parked wait after mark has recorded why, resuming its
// caller's Work first.
func (ws *waits) signal(p *parkedWait, mark func()) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if _, ok := ws.parked[p]; !ok {
		return
	}
	mark()
	p.dirty = true
	p.paused.Resume()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// collect compares every filter of the collector with what its client
// was sent and returns the update, or nil when nothing changed; it notes
// which objects the wait looks at.
func (c *clockCollector) collect(ctx *simulator.Context, st *collectorState, p *parkedWait) (*types.UpdateSet, *soap.Fault) {
	objs := map[types.ManagedObjectReference]struct{}{}
	all := false
	var update []types.PropertyFilterUpdate
	seen := map[types.ManagedObjectReference]bool{}
	// The plain filters' objects are watched from before they are read,
	// so that no change after the read goes unnoticed; what changed
	// before is taken now, to be read again.
	watched := map[types.ManagedObjectReference]struct{}{}
	for _, ref := range c.Filter {
		if f, ok := ctx.Session.Get(ref).(*simulator.PropertyFilter); ok && plainFilter(f.Spec) {
			for _, o := range f.Spec.ObjectSet {
				watched[o.Obj] = struct{}{}
			}
		}
	}
	c.waits.mu.Lock()
	changed := st.changed
	st.watched, st.changed = watched, map[types.ManagedObjectReference]struct{}{}
	c.waits.mu.Unlock()
	for _, ref := range c.Filter {
		f, ok := ctx.Session.Get(ref).(*simulator.PropertyFilter)
		if !ok {
			continue
		}
		seen[ref] = true
		spec := f.Spec
		if st.sent[ref] == nil && (spec.ReportMissingObjectsInResults == nil || !*spec.ReportMissingObjectsInResults) {
			// A filter's first collection of an object that does not
			// exist is a ManagedObjectNotFound fault, as vcsim's own
			// wait gives it; an object that goes away later leaves.
			for _, o := range spec.ObjectSet {
				if ctx.Session.Get(o.Obj) == nil {
					return nil, simulator.Fault("The object has already been deleted or has not been completely created",
						&types.ManagedObjectNotFound{Obj: o.Obj})
				}
			}
		}
		spec.ReportMissingObjectsInResults = types.NewBool(true)
		for _, o := range spec.ObjectSet {
			objs[o.Obj] = struct{}{}
			if len(o.SelectSet) > 0 && o.Obj.Type != "ListView" {
				all = true
			}
		}
		sent := st.sent[ref]
		// A plain filter collected before is read again for the objects
		// that changed since (changed is nil when the state is new).
		partial := sent != nil && changed != nil && plainFilter(spec)
		if partial {
			var only []types.ObjectSpec
			for _, o := range spec.ObjectSet {
				if _, ok := changed[o.Obj]; ok {
					only = append(only, o)
				}
			}
			if len(only) == 0 {
				continue
			}
			spec.ObjectSet = only
		}
		res := c.PropertyCollector.RetrievePropertiesEx(ctx, &types.RetrievePropertiesEx{SpecSet: []types.PropertyFilterSpec{spec}})
		if fault := res.Fault(); fault != nil {
			return nil, fault
		}
		now := map[types.ManagedObjectReference]map[string]any{}
		var order []types.ManagedObjectReference
		if out := res.(*methods.RetrievePropertiesExBody).Res; out != nil && out.Returnval != nil {
			for _, oc := range out.Returnval.Objects {
				props := map[string]any{}
				for _, dp := range oc.PropSet {
					props[dp.Name] = dp.Val
				}
				now[oc.Obj] = props
				order = append(order, oc.Obj)
				objs[oc.Obj] = struct{}{}
			}
		}
		if sent == nil {
			sent = map[types.ManagedObjectReference]map[string]any{}
			st.sent[ref] = sent
		}
		if partial {
			// The objects not read again are as they were sent; those read
			// again and not found are gone.
			read := now
			now = make(map[types.ManagedObjectReference]map[string]any, len(sent)+len(read))
			for obj, props := range sent {
				now[obj] = props
			}
			for _, o := range spec.ObjectSet {
				if props, ok := read[o.Obj]; ok {
					now[o.Obj] = props
				} else {
					delete(now, o.Obj)
				}
			}
		}
		fu := types.PropertyFilterUpdate{Filter: ref}
		for _, obj := range order {
			props, before := now[obj], sent[obj]
			if before == nil {
				ou := types.ObjectUpdate{Obj: obj, Kind: types.ObjectUpdateKindEnter}
				for _, name := range sortedNames(props) {
					ou.ChangeSet = append(ou.ChangeSet, types.PropertyChange{Name: name, Op: types.PropertyChangeOpAssign, Val: props[name]})
				}
				fu.ObjectSet = append(fu.ObjectSet, ou)
				continue
			}
			ou := types.ObjectUpdate{Obj: obj, Kind: types.ObjectUpdateKindModify}
			for _, name := range sortedNames(props) {
				if old, ok := before[name]; !ok || !reflect.DeepEqual(old, props[name]) {
					ou.ChangeSet = append(ou.ChangeSet, types.PropertyChange{Name: name, Op: types.PropertyChangeOpAssign, Val: props[name]})
				}
			}
			for _, name := range sortedNames(before) {
				if _, ok := props[name]; !ok {
					ou.ChangeSet = append(ou.ChangeSet, types.PropertyChange{Name: name, Op: types.PropertyChangeOpRemove})
				}
			}
			if len(ou.ChangeSet) > 0 {
				fu.ObjectSet = append(fu.ObjectSet, ou)
			}
		}
		var gone []types.ManagedObjectReference
		for obj := range sent {
			if _, ok := now[obj]; !ok {
				gone = append(gone, obj)
			}
		}
		sort.Slice(gone, func(i, j int) bool { return gone[i].Value < gone[j].Value })
		for _, obj := range gone {
			fu.ObjectSet = append(fu.ObjectSet, types.ObjectUpdate{Obj: obj, Kind: types.ObjectUpdateKindLeave})
		}
		st.sent[ref] = now
		if len(fu.ObjectSet) > 0 {
			update = append(update, fu)
		}
	}
	for ref := range st.sent {
		if !seen[ref] {
			delete(st.sent, ref) // the filter is gone
		}
	}
	c.waits.mu.Lock()
	p.objs, p.all = objs, all
	c.waits.mu.Unlock()
	if len(update) == 0 {
		return nil, nil
	}
	st.version++
	return &types.UpdateSet{Version: strconv.Itoa(st.version), FilterSet: update}, nil
}

// plainFilter reports whether a filter follows a list of objects only
// (no traversal, no skipped object), so that what it reports of an
// object depends on that object alone.
func plainFilter(spec types.PropertyFilterSpec) bool {
	for _, o := range spec.ObjectSet {
		if len(o.SelectSet) > 0 || (o.Skip != nil && *o.Skip) {
			return false
		}
	}
	return true
}

func sortedNames(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// The waits see every change of the site's objects (a vcsim registry
// handler) and wake the parked waits that look at the object.

func (ws *waits) Reference() types.ManagedObjectReference { return ws.self }

func (ws *waits) PutObject(_ *simulator.Context, obj mo.Reference) { ws.changed(obj.Reference()) }

func (ws *waits) UpdateObject(_ *simulator.Context, obj mo.Reference, _ []types.PropertyChange) {
	ws.changed(obj.Reference())
}

func (ws *waits) RemoveObject(_ *simulator.Context, ref types.ManagedObjectReference) {
	ws.changed(ref)
}

func (ws *waits) changed(ref types.ManagedObjectReference) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for _, st := range ws.states {
		if _, ok := st.watched[ref]; ok && st.changed != nil {
			st.changed[ref] = struct{}{}
		}
	}
	for p := range ws.parked {
		if p.dirty {
			continue
		}
		if _, ok := p.objs[ref]; !ok && !p.all && p.objs != nil {
			continue
		}
		p.dirty = true
		p.paused.Resume()
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}
