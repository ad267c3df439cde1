package vsphere

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// taskMux waits for every task the site starts, together, on govmomi's
// building blocks: the pending tasks are the contents of one ListView of
// the session (view.ListView), a property filter on a collector of the
// site's own (property.WaitFilter over the view) follows their
// info.state, info.error and info.result, and one goroutine, the loop,
// waits on that collector (property.Collector.WaitForUpdatesEx) while
// any task is pending, handing each task its final state. Another
// goroutine, the adder, sets the view to the pending tasks (one
// ResetListView: the tasks started while a call was under way share the
// next, and finished tasks leave in the same call), so a task costs at
// most one call of its own; the waits are shared.
//
// A task started while no other is pending, at a site whose tasks are
// mostly over by the time they would be watched (a simulator, or quick
// tasks on an idle vCenter), is read once first: one call where the add
// and a wait of its own would be two. How often tasks were over when
// first seen is kept as a moving average; against vCenter, where a clone
// or power-on takes seconds, it stays low and every task is watched.
//
// The view and collector belong to a session. When the session is gone
// (vCenter forgot it and the site logged in again, so calls on them fail
// with NotAuthenticated or ManagedObjectNotFound) the adder makes them
// again in the new session with every pending task: a ListView reports
// the objects that enter it with their current state, so a task that
// finished meanwhile is seen at once.
type taskMux struct {
	s *site

	mu      sync.Mutex
	pending map[types.ManagedObjectReference]*taskWaiter
	cur     *taskView // nil until made, and after it was lost
	builds  uint64    // views made so far
	lost    int       // views lost in a row, without a wait that worked
	fresh   bool      // tasks were added since the adder last looked
	running bool      // the adder and the loop were started
	closed  bool
	// early is how often the site's tasks were over by the time they
	// were watched (a moving average); see wait.
	early float64

	addWake, loopWake chan struct{}
	ctx               context.Context
	cancel            context.CancelFunc
	wg                sync.WaitGroup
}

// taskView is one session's ListView of tasks and the collector whose
// filter follows it.
type taskView struct {
	session uint64 // the login it belongs to (reloginRoundTripper.session)
	pc      *property.Collector
	lv      *view.ListView
	filter  *property.WaitFilter
}

// taskWaiter is one task being waited for.
type taskWaiter struct {
	ref    types.ManagedObjectReference
	noted  bool // counted in early
	state  types.TaskInfoState
	result types.AnyType
	fault  *types.LocalizedMethodFault
	err    error // why the wait failed, when it did
	done   chan struct{}
}

// taskProps are what the view's filter follows of each task.
var taskProps = []string{"info.state", "info.error", "info.result"}

// taskMaxWait bounds one WaitForUpdatesEx of the loop (a variable for
// tests). govmomi's Collector.WaitForUpdatesEx starts each round from
// version "" (the whole view reported again), so a long bound keeps a
// long task from costing two calls per round; updates end a round at
// once whatever the bound.
var taskMaxWait = 30 * time.Second

// addTimeout bounds one call of the adder.
const addTimeout = 2 * time.Minute

var (
	errSiteClosed = errors.New("the site is closed")
	// errNotInView says the view could not take the task (vCenter did
	// not resolve it, or it left the view): the task is waited on alone.
	errNotInView = errors.New("the task is not in the task view")
)

func newTaskMux(s *site) *taskMux {
	ctx, cancel := context.WithCancel(context.Background())
	return &taskMux{s: s, pending: map[types.ManagedObjectReference]*taskWaiter{},
		addWake: make(chan struct{}, 1), loopWake: make(chan struct{}, 1), ctx: ctx, cancel: cancel}
}

// wait waits for a task to finish and returns its result, or its fault as
// a task.Error.
func (m *taskMux) wait(ctx context.Context, ref types.ManagedObjectReference) (types.AnyType, error) {
	w := &taskWaiter{ref: ref, done: make(chan struct{})}
	m.mu.Lock()
	if len(m.pending) == 0 && m.early > earlyShare && !m.closed {
		m.mu.Unlock()
		if res, err, done := m.read(ctx, w); done {
			return res, err
		}
		m.mu.Lock()
	}
	switch {
	case m.closed:
		m.mu.Unlock()
		return nil, errSiteClosed
	case m.pending[ref] != nil:
		// Someone waits for this task already: rare enough to wait alone.
		m.mu.Unlock()
		return m.s.waitAlone(ctx, ref)
	}
	m.pending[ref] = w
	m.fresh = true
	if !m.running {
		m.running = true
		m.wg.Add(2)
		go m.adder()
		go m.loop()
	}
	m.mu.Unlock()
	kick(m.addWake)

	select {
	case <-w.done:
	case <-ctx.Done():
		m.mu.Lock()
		m.deliver(w, ctx.Err())
		m.mu.Unlock()
	}
	switch {
	case errors.Is(w.err, errNotInView):
		return m.s.waitAlone(ctx, ref)
	case w.err != nil:
		return nil, w.err
	}
	return outcome(w.state, w.fault, w.result)
}

// outcome is what a finished task gives its waiter: its result, or its
// fault as a task.Error.
func outcome(state types.TaskInfoState, f *types.LocalizedMethodFault, result types.AnyType) (types.AnyType, error) {
	if state != types.TaskInfoStateError {
		return result, nil
	}
	if f == nil {
		f = &types.LocalizedMethodFault{Fault: &types.SystemError{}, LocalizedMessage: "the task failed without saying why"}
	}
	return nil, task.Error{LocalizedMethodFault: f}
}

// earlyShare is the share of tasks over by the time they would be
// watched above which a task on its own is read once before it is
// watched.
const earlyShare = 0.5

// read reads a task once, before anyone else knows of w; done says it
// was over, and then gives its outcome.
func (m *taskMux) read(ctx context.Context, w *taskWaiter) (types.AnyType, error, bool) {
	var t mo.Task
	if err := property.DefaultCollector(m.s.vc).RetrieveOne(ctx, w.ref, taskProps, &t); err != nil {
		return nil, nil, false // the view will tell
	}
	final := t.Info.State == types.TaskInfoStateSuccess || t.Info.State == types.TaskInfoStateError
	m.mu.Lock()
	m.note(w, final)
	m.mu.Unlock()
	if !final {
		return nil, nil, false
	}
	res, err := outcome(t.Info.State, t.Info.Error, t.Info.Result)
	return res, err, true
}

// note counts, once per task, whether it was over by the time it was
// first seen; the caller holds m.mu.
func (m *taskMux) note(w *taskWaiter, over bool) {
	if w.noted {
		return
	}
	w.noted = true
	x := 0.0
	if over {
		x = 1
	}
	m.early = 0.75*m.early + 0.25*x
}

func kick(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// adder sets the view to the pending tasks whenever tasks were added,
// making the view first when there is none of the current session.
func (m *taskMux) adder() {
	defer m.wg.Done()
	for {
		select {
		case <-m.addWake:
		case <-m.ctx.Done():
			return
		}
		// One retry, for a view that went with its session (the call
		// that found it gone logged in again): it is made anew.
		for attempt := 0; attempt < 2; attempt++ {
			m.mu.Lock()
			v, refs := m.cur, make([]types.ManagedObjectReference, 0, len(m.pending))
			for ref := range m.pending {
				refs = append(refs, ref)
			}
			fresh := m.fresh || v == nil
			m.fresh = false
			m.mu.Unlock()
			if len(refs) == 0 || !fresh {
				break // nothing new: the view holds every pending task
			}
			err := m.set(v, refs)
			if err == nil || m.ctx.Err() != nil {
				break
			}
			if attempt == 0 && m.viewLost(err, v) {
				m.drop(v)
				continue
			}
			m.failAll(err)
			break
		}
	}
}

// set makes the view hold refs: a new view when there is none of the
// current session, else one ResetListView. Tasks the server cannot
// resolve are waited on alone.
func (m *taskMux) set(v *taskView, refs []types.ManagedObjectReference) error {
	ctx, cancel := context.WithTimeout(m.ctx, addTimeout)
	defer cancel()
	var unresolved []types.ManagedObjectReference
	var err error
	if v == nil || v.session != m.s.relogin.session() {
		m.drop(v)
		v, unresolved, err = m.build(ctx, refs)
	} else {
		unresolved, err = v.lv.Reset(ctx, refs)
	}
	if err != nil {
		return err
	}
	m.mu.Lock()
	for _, ref := range unresolved {
		if w := m.pending[ref]; w != nil {
			m.deliver(w, errNotInView)
		}
	}
	m.mu.Unlock()
	kick(m.loopWake)
	return nil
}

// build makes a view holding refs, and a collector with a filter over
// it, and makes them current. It returns the refs the server could not
// find.
func (m *taskMux) build(ctx context.Context, refs []types.ManagedObjectReference) (*taskView, []types.ManagedObjectReference, error) {
	v := &taskView{session: m.s.relogin.session()}
	var unresolved []types.ManagedObjectReference
	var err error
	// vcsim refuses a view of an object it cannot find (vCenter
	// reports it instead, as Reset does): that task is left out.
	for v.lv == nil {
		if v.lv, err = view.NewManager(m.s.vc).CreateListView(ctx, refs); err != nil {
			var missing *types.ManagedObjectNotFound
			i := -1
			if asFault(err, &missing) {
				for j, r := range refs {
					if r == missing.Obj {
						i = j
					}
				}
			}
			if i < 0 {
				return nil, nil, err
			}
			unresolved = append(unresolved, refs[i])
			refs = append(refs[:i:i], refs[i+1:]...)
		}
	}
	if v.pc, err = property.DefaultCollector(m.s.vc).Create(ctx); err == nil {
		v.filter = new(property.WaitFilter).Add(v.lv.Reference(), "Task", taskProps,
			&types.TraversalSpec{Type: "ListView", Path: "view"})
		v.filter.Spec.ObjectSet[0].Skip = types.NewBool(true) // the tasks, not the view
		_, err = v.pc.CreateFilter(ctx, v.filter.CreateFilter)
	}
	m.mu.Lock()
	if err == nil && m.closed {
		err = errSiteClosed
	}
	if err == nil {
		m.builds++
		m.cur = v
	}
	m.mu.Unlock()
	if err != nil {
		m.destroy(v)
		return nil, nil, err
	}
	return v, unresolved, nil
}

// drop forgets v, if it is still current, and takes it away on the
// server when its session lives on.
func (m *taskMux) drop(v *taskView) {
	if v == nil {
		return
	}
	m.mu.Lock()
	if m.cur == v {
		m.cur = nil
	}
	m.mu.Unlock()
	if v.session == m.s.relogin.session() {
		m.destroy(v)
	}
}

// destroy takes a view's collector (with its filter) and the view away,
// as far as it can.
func (m *taskMux) destroy(v *taskView) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if v.pc != nil {
		v.pc.Destroy(ctx)
	}
	if v.lv != nil {
		v.lv.Destroy(ctx)
	}
}

// viewLost reports whether err says that the view or its collector is
// gone: the session that held them ended.
func (m *taskMux) viewLost(err error, v *taskView) bool {
	if isNotAuthenticated(err) {
		return true
	}
	var missing *types.ManagedObjectNotFound
	if v == nil || !asFault(err, &missing) {
		return false
	}
	switch missing.Obj.Type {
	case "ListView", "PropertyCollector", "PropertyFilter":
		return true
	}
	return false
}

// loop follows the current view while tasks are pending, and sleeps
// while none are or there is no view.
func (m *taskMux) loop() {
	defer m.wg.Done()
	for {
		m.mu.Lock()
		v, idle := m.cur, len(m.pending) == 0
		m.mu.Unlock()
		if v == nil || idle {
			select {
			case <-m.loopWake:
				continue
			case <-m.ctx.Done():
				return
			}
		}
		secs := max(int32(taskMaxWait/time.Second), 1) // 0 would not wait at all
		opts := &property.WaitOptions{Options: &types.WaitOptions{MaxWaitSeconds: &secs}}
		err := v.pc.WaitForUpdatesEx(m.ctx, opts, m.apply)
		switch {
		case m.ctx.Err() != nil:
			return
		case err == nil || isFault(err, &types.RequestCanceled{}):
			// The round ended (its bound), or someone
			// cancelled it (a simulated site does, see
			// simulate/viewgate.go): the view stands.
			m.mu.Lock()
			m.lost = 0
			m.mu.Unlock()
		case m.viewLost(err, v):
			m.mu.Lock()
			m.lost++
			again := m.lost <= 3
			m.mu.Unlock()
			if !again {
				m.failAll(fmt.Errorf("the task view keeps breaking: %w", err))
			}
			m.drop(v)
			kick(m.addWake) // the adder makes the view again
		default:
			// The wait itself failed (the connection, most likely): so do
			// the waits on it, as a wait of their own would have.
			m.failAll(fmt.Errorf("waiting for the task: %w", err))
		}
	}
}

// apply hands the updates of the view to the waiters. It never ends the
// round: a task added while the round lasts is reported in it, where a
// new round would cost a call to report the whole view again.
func (m *taskMux) apply(updates []types.ObjectUpdate) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range updates {
		w := m.pending[u.Obj]
		if w == nil {
			continue
		}
		if u.Kind == types.ObjectUpdateKindLeave {
			m.deliver(w, errNotInView)
			continue
		}
		for _, c := range u.ChangeSet {
			val := c.Val
			if c.Op == types.PropertyChangeOpRemove {
				val = nil
			}
			switch c.Name {
			case "info.state":
				w.state = taskState(val)
			case "info.error":
				w.fault = localizedFault(val)
			case "info.result":
				w.result = val
			}
		}
		over := w.state == types.TaskInfoStateSuccess || w.state == types.TaskInfoStateError
		m.note(w, over)
		if over {
			m.deliver(w, nil)
		}
	}
	return false
}

func taskState(v any) types.TaskInfoState {
	switch v := v.(type) {
	case types.TaskInfoState:
		return v
	case string:
		return types.TaskInfoState(v)
	}
	return ""
}

func localizedFault(v any) *types.LocalizedMethodFault {
	switch v := v.(type) {
	case *types.LocalizedMethodFault:
		return v
	case types.LocalizedMethodFault:
		return &v
	}
	return nil
}

// deliver ends a wait; the caller holds m.mu.
func (m *taskMux) deliver(w *taskWaiter, err error) {
	if m.pending[w.ref] != w {
		return
	}
	delete(m.pending, w.ref)
	w.err = err
	close(w.done)
}

// failAll ends every pending wait with err.
func (m *taskMux) failAll(err error) {
	m.mu.Lock()
	for _, w := range m.pending {
		m.deliver(w, err)
	}
	m.mu.Unlock()
}

// close ends every wait, the adder and the loop, and takes the view's
// collector away.
func (m *taskMux) close(ctx context.Context) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	m.mu.Unlock()
	m.failAll(errSiteClosed)
	m.cancel() // cuts a wait in flight short
	m.wg.Wait()
	m.mu.Lock()
	v := m.cur
	m.cur = nil
	m.mu.Unlock()
	if v != nil && v.session == m.s.relogin.session() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		v.pc.Destroy(dctx)
	}
}
