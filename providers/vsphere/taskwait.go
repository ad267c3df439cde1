package vsphere

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// taskMux waits for every task the site starts, together: the tasks go
// into one ListView of the session (ModifyListView: at most one call per
// task; the tasks started while a call is under way share the next), one
// property filter on a collector of the site's own follows the
// info.state, info.error and info.result of everything in the view, and
// one goroutine waits on that collector (WaitForUpdatesEx, at most
// taskMaxWait per call) while any task is pending, handing each task's
// final state to its waiter. A task costs at most one call of its own;
// the waits are shared by every task running at the time. Finished tasks
// leave the view with the next ModifyListView (removal rides along), so
// they cost no calls of their own either; only when many pile up with no
// task added does the loop take them out, all in one call.
//
// A task started while no other is being waited for, at a site whose
// tasks are mostly over by the time they would be watched (a simulator,
// or quick tasks on an idle vCenter), is read once first: one call where
// the add and a wait of its own would be two. How often tasks were over
// when first seen is kept as a moving average; against vCenter, where a
// clone or power-on takes seconds, it stays low and every task is
// watched.
//
// The view, filter and collector belong to a session. When the session
// is gone (vCenter forgot it and the site logged in again, so calls on
// them fail with NotAuthenticated or ManagedObjectNotFound) they are made
// again in the new session, holding every pending task: a ListView
// reports the objects that enter it with their current state, so a task
// that finished meanwhile, or before it was ever added, is seen at once.
type taskMux struct {
	s *site

	// setup is held for reading while a task is added to the current
	// view and for writing while a view is (re)built, so that no add
	// goes to a view that is being replaced.
	setup sync.RWMutex

	mu       sync.Mutex
	pending  map[types.ManagedObjectReference]*taskWaiter
	toAdd    []*taskWaiter                  // tasks for the adder to put into the view
	finished []types.ManagedObjectReference // done tasks still in the view
	cur      *taskView                      // nil until made, and after it broke
	builds   uint64                         // views made so far
	running  bool                           // the goroutines were started
	closed   bool
	// early is how often the site's tasks were over by the time they
	// were watched (a moving average); see wait.
	early float64

	wake     chan struct{} // a task is pending: for the loop
	addWake  chan struct{} // a task is to be added: for the adder
	quit     chan struct{} // closed by close
	loopDone chan struct{} // closed when the loop has ended
	addDone  chan struct{} // closed when the adder has ended
	ctx      context.Context
	cancel   context.CancelFunc
}

// taskView is one session's ListView of tasks, and the collector whose
// filter follows it.
type taskView struct {
	id       uint64 // taskMux.builds when made
	session  uint64 // the login it belongs to (reloginRoundTripper.session)
	pc, view types.ManagedObjectReference
	version  string // for the next WaitForUpdatesEx; only the loop uses it
	initial  bool   // the first full report of the view is still to come
}

// taskWaiter is one task being waited for.
type taskWaiter struct {
	ref     types.ManagedObjectReference
	view    uint64 // id of the view that holds the task; 0 when none does yet
	created uint64 // id of the view that was made holding the task
	seen    bool   // the view has reported the task
	noted   bool   // counted in early (once per task, when first seen)
	state   types.TaskInfoState
	result  types.AnyType
	fault   *types.LocalizedMethodFault
	err     error // why the wait failed, when it did
	done    chan struct{}
}

// taskProps are what the multiplexer follows of each task.
var taskProps = []string{"info.state", "info.error", "info.result"}

// taskMaxWait bounds one WaitForUpdatesEx of the task loop (a variable
// for tests).
var taskMaxWait = maxWait

// Finished tasks wait for a ModifyListView of an added task to leave the
// view; when this many have piled up with no task added, the loop takes
// them out itself.
const removeBatch = 64

var (
	errSiteClosed = errors.New("the site is closed")
	// errNotInView says the view could not take the task (vCenter did not
	// resolve it, or it left the view): the task is waited on alone.
	errNotInView = errors.New("the task is not in the task view")
)

func newTaskMux(s *site) *taskMux {
	ctx, cancel := context.WithCancel(context.Background())
	return &taskMux{s: s, pending: map[types.ManagedObjectReference]*taskWaiter{},
		wake: make(chan struct{}, 1), addWake: make(chan struct{}, 1), quit: make(chan struct{}),
		loopDone: make(chan struct{}), addDone: make(chan struct{}),
		ctx: ctx, cancel: cancel}
}

// wait waits for a task to finish and returns its result, or its fault as
// a task.Error.
func (m *taskMux) wait(ctx context.Context, ref types.ManagedObjectReference) (types.AnyType, error) {
	w := &taskWaiter{ref: ref, done: make(chan struct{})}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, errSiteClosed
	}
	if m.pending[ref] != nil {
		// Someone waits for this task already: rare enough to wait alone.
		m.mu.Unlock()
		return m.s.waitAlone(ctx, ref)
	}
	if len(m.pending) == 0 && m.early > earlyShare {
		// A task on its own, at a site whose tasks are mostly over by the
		// time they would be watched: one read is likely all it takes,
		// where watching it costs the add and a wait of its own.
		m.mu.Unlock()
		if res, err, done := m.read(ctx, w); done {
			return res, err
		}
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return nil, errSiteClosed
		}
		if m.pending[ref] != nil {
			m.mu.Unlock()
			return m.s.waitAlone(ctx, ref)
		}
	}
	m.pending[ref] = w
	m.toAdd = append(m.toAdd, w)
	if !m.running {
		m.running = true
		go m.adder()
		go m.loop()
	}
	m.mu.Unlock()
	kick(m.addWake)
	kick(m.wake)

	select {
	case <-w.done:
	case <-ctx.Done():
		select {
		case <-w.done:
		default:
			m.forget(w)
			return nil, ctx.Err()
		}
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
// watched. Against vCenter, where a clone or power-on takes seconds, the
// share stays near 0 and every task is watched.
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
	m.note(final)
	w.noted = true // the view's first report of it is not a first sighting
	m.mu.Unlock()
	if !final {
		return nil, nil, false
	}
	res, err := outcome(t.Info.State, t.Info.Error, t.Info.Result)
	return res, err, true
}

// note counts a task that was, or was not, over by the time it was first
// seen; the caller holds m.mu.
func (m *taskMux) note(over bool) {
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

// adder puts the tasks that wait into the view. It adds every task that
// came while it was busy in one call, so that tasks started together
// share their ModifyListView.
func (m *taskMux) adder() {
	defer close(m.addDone)
	for {
		select {
		case <-m.addWake:
		case <-m.quit:
			return
		}
		for {
			m.mu.Lock()
			batch := m.toAdd
			m.toAdd = nil
			m.mu.Unlock()
			if len(batch) == 0 || m.ctx.Err() != nil {
				break
			}
			m.add(batch)
		}
	}
}

// addTimeout bounds one ModifyListView.
const addTimeout = 2 * time.Minute

// add puts tasks into the current view, making the view first when there
// is none (or it belongs to a session that is gone); finished tasks leave
// the view in the same call. A task the view cannot take is waited on
// alone; when adding fails, so do the waits.
func (m *taskMux) add(batch []*taskWaiter) {
	for attempt := 0; ; attempt++ {
		m.setup.RLock()
		m.mu.Lock()
		v := m.cur
		var refs []types.ManagedObjectReference
		live := batch[:0]
		for _, w := range batch {
			// Skip waits that ended and tasks a new view took in.
			if m.pending[w.ref] == w && (v == nil || w.view != v.id) {
				live = append(live, w)
				refs = append(refs, w.ref)
			}
		}
		batch = live
		usable := v != nil && v.session == m.s.relogin.session()
		var remove []types.ManagedObjectReference
		if usable && len(batch) > 0 {
			remove, m.finished = m.finished, nil
		}
		m.mu.Unlock()
		if len(batch) == 0 {
			m.setup.RUnlock()
			return
		}
		if !usable {
			m.setup.RUnlock()
			err := m.rebuild(m.ctx, v)
			if err == nil && attempt > 3 {
				err = errors.New("the task view keeps breaking")
			}
			if err != nil {
				m.failSome(batch, err)
				return
			}
			continue
		}
		ctx, cancel := context.WithTimeout(m.ctx, addTimeout)
		res, err := methods.ModifyListView(ctx, m.s.vc, &types.ModifyListView{This: v.view, Add: refs, Remove: remove})
		cancel()
		m.setup.RUnlock()
		if err != nil {
			m.mu.Lock()
			if m.cur == v {
				m.finished = append(m.finished, remove...)
			}
			m.mu.Unlock()
			if m.ctx.Err() != nil {
				return // closing: close ends the waits
			}
			if attempt < 3 && m.viewLost(err, v) {
				if err := m.rebuild(m.ctx, v); err != nil {
					m.failSome(batch, err)
					return
				}
				continue
			}
			if attempt == 0 && connectionError(err) {
				// Adding a task twice does no harm: try once more.
				continue
			}
			m.failSome(batch, err)
			return
		}
		m.mu.Lock()
		for _, w := range batch {
			switch {
			case slices.Contains(res.Returnval, w.ref):
				m.deliver(w, errNotInView)
			case m.cur != v:
				// A new view took the task in, if it still waits.
			case m.pending[w.ref] == w:
				w.view = v.id
			default:
				// It was reported finished (or its wait ended) before
				// this call came back.
				m.finished = append(m.finished, w.ref)
			}
		}
		m.mu.Unlock()
		return
	}
}

// failSome ends the given waits with err.
func (m *taskMux) failSome(batch []*taskWaiter, err error) {
	m.mu.Lock()
	for _, w := range batch {
		m.deliver(w, err)
	}
	m.mu.Unlock()
}

// viewLost reports whether err says that the view or its collector is
// gone: the session that held them ended.
func (m *taskMux) viewLost(err error, v *taskView) bool {
	if isNotAuthenticated(err) {
		return true
	}
	var missing *types.ManagedObjectNotFound
	if asFault(err, &missing) {
		switch missing.Obj.Type {
		case "ListView", "PropertyCollector", "PropertyFilter":
			return true
		}
		return v != nil && (missing.Obj == v.view || missing.Obj == v.pc)
	}
	return false
}

// rebuild makes a new view, filter and collector holding every pending
// task, unless someone already replaced old.
func (m *taskMux) rebuild(ctx context.Context, old *taskView) error {
	m.setup.Lock()
	defer m.setup.Unlock()
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return errSiteClosed
	}
	if m.cur != old {
		m.mu.Unlock()
		return nil
	}
	m.cur, m.finished = nil, nil
	m.mu.Unlock()
	session := m.s.relogin.session()
	if old != nil && old.session == session {
		// The session lives on (the view broke some other way): do not
		// leave its collector and view behind.
		m.destroy(ctx, old)
	}
	vc := m.s.vc
	pc, err := methods.CreatePropertyCollector(ctx, vc, &types.CreatePropertyCollector{This: vc.ServiceContent.PropertyCollector})
	if err != nil {
		return err
	}
	v := &taskView{session: session, pc: pc.Returnval, initial: true}
	var refs []types.ManagedObjectReference
	for {
		m.mu.Lock()
		refs = refs[:0]
		for ref := range m.pending {
			refs = append(refs, ref)
		}
		m.mu.Unlock()
		lv, err := methods.CreateListView(ctx, vc, &types.CreateListView{This: *vc.ServiceContent.ViewManager, Obj: refs})
		if err == nil {
			v.view = lv.Returnval
			break
		}
		// The simulator refuses a view of an object it cannot find; that
		// task is waited on alone.
		var missing *types.ManagedObjectNotFound
		if asFault(err, &missing) && slices.Contains(refs, missing.Obj) {
			m.mu.Lock()
			if w := m.pending[missing.Obj]; w != nil {
				m.deliver(w, errNotInView)
			}
			m.mu.Unlock()
			continue
		}
		m.destroy(ctx, v)
		return err
	}
	_, err = methods.CreateFilter(ctx, vc, &types.CreateFilter{This: v.pc, Spec: types.PropertyFilterSpec{
		ObjectSet: []types.ObjectSpec{{
			Obj:       v.view,
			Skip:      types.NewBool(true),
			SelectSet: []types.BaseSelectionSpec{&types.TraversalSpec{Type: "ListView", Path: "view"}},
		}},
		PropSet: []types.PropertySpec{{Type: "Task", PathSet: taskProps}},
	}})
	if err != nil {
		m.destroy(ctx, v)
		return err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		m.destroy(ctx, v)
		return errSiteClosed
	}
	m.builds++
	v.id = m.builds
	m.cur = v
	for _, ref := range refs {
		if w := m.pending[ref]; w != nil {
			w.view, w.created, w.seen = v.id, v.id, false
		}
	}
	m.mu.Unlock()
	kick(m.wake)
	return nil
}

// destroy takes a view's collector (with its filter) and the view away,
// as far as it can.
func (m *taskMux) destroy(ctx context.Context, v *taskView) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if v.pc.Value != "" {
		methods.DestroyPropertyCollector(ctx, m.s.vc, &types.DestroyPropertyCollector{This: v.pc})
	}
	if v.view.Value != "" {
		methods.DestroyView(ctx, m.s.vc, &types.DestroyView{This: v.view})
	}
}

// forget drops a waiter that stopped waiting.
func (m *taskMux) forget(w *taskWaiter) {
	m.mu.Lock()
	if m.pending[w.ref] == w {
		delete(m.pending, w.ref)
		m.leave(w)
	}
	m.mu.Unlock()
}

// leave notes that a waiter's task, if the current view holds it, is to
// be taken out of it; the caller holds m.mu.
func (m *taskMux) leave(w *taskWaiter) {
	if w.view != 0 && m.cur != nil && w.view == m.cur.id {
		m.finished = append(m.finished, w.ref)
	}
}

// deliver ends a wait; the caller holds m.mu.
func (m *taskMux) deliver(w *taskWaiter, err error) {
	if m.pending[w.ref] != w {
		return
	}
	delete(m.pending, w.ref)
	m.leave(w)
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

// loop follows the current view while tasks are pending, and sleeps
// while none are.
func (m *taskMux) loop() {
	defer close(m.loopDone)
	failures := 0
	for {
		m.mu.Lock()
		for !m.closed && len(m.pending) == 0 {
			m.mu.Unlock()
			select {
			case <-m.wake:
			case <-m.quit:
			}
			m.mu.Lock()
		}
		if m.closed {
			m.mu.Unlock()
			return
		}
		v := m.cur
		var remove []types.ManagedObjectReference
		if v != nil && len(m.finished) >= removeBatch {
			remove, m.finished = m.finished, nil
		}
		m.mu.Unlock()

		if v == nil || v.session != m.s.relogin.session() {
			if err := m.rebuild(m.ctx, v); err != nil {
				if m.ctx.Err() != nil {
					return
				}
				m.failAll(err)
			}
			continue
		}
		if len(remove) > 0 {
			m.setup.RLock()
			methods.ModifyListView(m.ctx, m.s.vc, &types.ModifyListView{This: v.view, Remove: remove})
			m.setup.RUnlock()
		}
		secs := max(int32(taskMaxWait/time.Second), 1) // 0 would not wait at all
		res, err := methods.WaitForUpdatesEx(m.ctx, m.s.vc, &types.WaitForUpdatesEx{This: v.pc, Version: v.version,
			Options: &types.WaitOptions{MaxWaitSeconds: &secs}})
		if m.ctx.Err() != nil {
			return
		}
		if isFault(err, &types.RequestCanceled{}) && m.ctx.Err() == nil {
			// Someone cancelled this wait (a simulated site does, to
			// work around vcsim's locking); the view and version stand.
			continue
		}
		if err != nil {
			m.mu.Lock()
			replaced := m.cur != v
			m.mu.Unlock()
			if replaced {
				continue
			}
			if failures++; failures <= 3 && (m.viewLost(err, v) || isFault(err, &types.InvalidCollectorVersion{}) || isFault(err, &types.RequestCanceled{})) {
				if rerr := m.rebuild(m.ctx, v); rerr == nil {
					continue
				} else if m.ctx.Err() != nil {
					return
				}
			}
			// The wait itself failed (the connection, most likely): so do
			// the waits on it, as a wait of their own would have.
			failures = 0
			m.failAll(fmt.Errorf("waiting for the task: %w", err))
			continue
		}
		failures = 0
		if res.Returnval != nil {
			m.apply(v, res.Returnval)
		}
	}
}

// apply hands the updates of a view to the waiters.
func (m *taskMux) apply(v *taskView, set *types.UpdateSet) {
	v.version = set.Version
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, fs := range set.FilterSet {
		for _, ou := range fs.ObjectSet {
			w := m.pending[ou.Obj]
			if w == nil {
				continue
			}
			if ou.Kind == types.ObjectUpdateKindLeave {
				if w.view == v.id {
					m.deliver(w, errNotInView)
				}
				continue
			}
			first := !w.seen
			w.seen = true
			for _, c := range ou.ChangeSet {
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
			if first && !w.noted {
				w.noted = true
				m.note(over)
			}
			if over {
				m.deliver(w, nil)
			}
		}
	}
	if v.initial && (set.Truncated == nil || !*set.Truncated) {
		// The view's first report holds everything in it: a task it was
		// made with and did not report is not in it.
		v.initial = false
		for _, w := range m.pending {
			if w.created == v.id && !w.seen {
				m.deliver(w, errNotInView)
			}
		}
	}
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

// close ends every wait and the loop, and takes the view's collector
// away.
func (m *taskMux) close(ctx context.Context) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	for _, w := range m.pending {
		m.deliver(w, errSiteClosed)
	}
	v := m.cur
	m.cur = nil
	running := m.running
	m.mu.Unlock()
	close(m.quit)
	m.cancel() // cuts a WaitForUpdatesEx in flight short
	if running {
		<-m.loopDone
		<-m.addDone
	}
	if v != nil && v.session == m.s.relogin.session() {
		// Also ends the server's side of a wait that was cut short.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		methods.DestroyPropertyCollector(dctx, m.s.vc, &types.DestroyPropertyCollector{This: v.pc})
	}
}
