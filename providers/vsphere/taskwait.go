package vsphere

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// taskMux waits for every task the site starts, together, on govmomi's
// building blocks: the pending tasks are the contents of one ListView of
// the session (view.ListView), and one goroutine, the loop, follows
// their info through a property.WaitFilter over the view on a collector
// of its own (WaitForUpdatesEx), handing each task its final state. Another, the adder, sets the view to the pending
// tasks with one ResetListView for all the tasks added meanwhile (the
// finished ones leave in the same call): a task costs at most one call
// of its own, and the waits are shared.
//
// A task started while none is pending, at a site whose tasks are mostly
// over by the time they would be watched (a simulator, quick tasks on an
// idle vCenter), is read once first: one call instead of the add and a
// wait. How often tasks were over when first seen is a moving average;
// against vCenter, where a clone or power-on takes seconds, it stays low.
//
// The view and collector live in a session. When it is gone (vCenter
// forgot it and the site logged in again: calls on them fail with
// NotAuthenticated or ManagedObjectNotFound) the adder makes them again
// in the new session with every pending task; a ListView reports the
// objects that enter it as they are, so a task that finished meanwhile
// is seen at once.
type taskMux struct {
	s *site

	mu      sync.Mutex
	pending map[types.ManagedObjectReference]*taskWaiter
	cur     *taskView // nil until made, and after it was lost
	builds  uint64    // views made so far
	fresh   bool      // tasks were added since the adder last looked
	running bool      // the adder and the loop were started
	closed  bool
	early   float64 // how often tasks were over when first seen

	addWake, loopWake chan struct{}
	ctx               context.Context
	cancel            context.CancelFunc
	wg                sync.WaitGroup
}

// taskView is one session's ListView of tasks and the collector whose
// filter follows it.
type taskView struct {
	session uint64 // reloginRoundTripper.session when made
	pc      *property.Collector
	lv      *view.ListView
}

// taskWaiter is one task being waited for.
type taskWaiter struct {
	task  mo.Task // what the view reported of it
	noted bool    // counted in early
	err   error   // why the wait failed, when it did
	done  chan struct{}
}

var taskProps = []string{"info.state", "info.error", "info.result"}

// taskMaxWait bounds one WaitForUpdatesEx of the loop (a variable for
// tests), as maxWait bounds a readiness wait's: no call outlives the
// site's use of it for long (a simulated world that closes under a site
// that was not closed waits for it).
var taskMaxWait = maxWait

// addTimeout bounds one call of the adder.
const addTimeout = 2 * time.Minute

// earlyShare is the share of tasks over when first seen above which a
// task on its own is read once before it is watched.
const earlyShare = 0.5

var (
	errSiteClosed = errors.New("the site is closed")
	// errNotInView says the view could not take the task (vCenter did
	// not resolve it, or it left the view): it is waited on alone.
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
	w := &taskWaiter{task: mo.Task{ExtensibleManagedObject: mo.ExtensibleManagedObject{Self: ref}}, done: make(chan struct{})}
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
	return outcome(w.task.Info)
}

// outcome is what a finished task gives its waiter: its result, or its
// fault as a task.Error.
func outcome(info types.TaskInfo) (types.AnyType, error) {
	if info.State != types.TaskInfoStateError {
		return info.Result, nil
	}
	f := info.Error
	if f == nil {
		f = &types.LocalizedMethodFault{Fault: &types.SystemError{}, LocalizedMessage: "the task failed without saying why"}
	}
	return nil, task.Error{LocalizedMethodFault: f}
}

// read reads a task once, before anyone else knows of w; done says it
// was over, and then gives its outcome.
func (m *taskMux) read(ctx context.Context, w *taskWaiter) (types.AnyType, error, bool) {
	var t mo.Task
	if err := property.DefaultCollector(m.s.vc).RetrieveOne(ctx, w.task.Self, taskProps, &t); err != nil {
		return nil, nil, false // the view will tell
	}
	m.mu.Lock()
	over := m.note(w, t.Info)
	m.mu.Unlock()
	if !over {
		return nil, nil, false
	}
	res, err := outcome(t.Info)
	return res, err, true
}

// note reports whether a task is over, and counts, once per task,
// whether it was by the time it was first seen; the caller holds m.mu.
func (m *taskMux) note(w *taskWaiter, info types.TaskInfo) bool {
	over := info.State == types.TaskInfoStateSuccess || info.State == types.TaskInfoStateError
	if !w.noted {
		w.noted = true
		m.early *= 0.75
		if over {
			m.early += 0.25
		}
	}
	return over
}

func kick(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// adder sets the view to the pending tasks whenever tasks were added:
// one ResetListView, or a new view when there is none of the current
// session. It tries once more when the view went with its session (the
// call that found it gone logged in again): it is then made anew.
func (m *taskMux) adder() {
	defer m.wg.Done()
	for {
		select {
		case <-m.addWake:
		case <-m.ctx.Done():
			return
		}
		for attempt := 0; attempt < 2; attempt++ {
			m.mu.Lock()
			v, refs := m.cur, slices.Collect(maps.Keys(m.pending))
			fresh := m.fresh || v == nil
			m.fresh = false
			m.mu.Unlock()
			if len(refs) == 0 || !fresh {
				break // the view holds every pending task
			}
			ctx, cancel := context.WithTimeout(m.ctx, addTimeout)
			var unresolved []types.ManagedObjectReference
			var err error
			if v == nil || v.session != m.s.relogin.session() {
				m.drop(v)
				unresolved, err = m.build(ctx, refs)
			} else {
				unresolved, err = v.lv.Reset(ctx, refs)
			}
			cancel()
			m.mu.Lock()
			for _, ref := range unresolved {
				if w := m.pending[ref]; w != nil {
					m.deliver(w, errNotInView)
				}
			}
			m.mu.Unlock()
			kick(m.loopWake)
			if err == nil || m.ctx.Err() != nil {
				break
			}
			if attempt == 0 && viewLost(err) {
				m.drop(v)
				continue
			}
			m.failAll(err)
			break
		}
	}
}

// build makes a view holding refs and a collector with a filter over it,
// and makes them current; it returns the refs the view could not take.
func (m *taskMux) build(ctx context.Context, refs []types.ManagedObjectReference) ([]types.ManagedObjectReference, error) {
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
				i = slices.Index(refs, missing.Obj)
			}
			if i < 0 {
				return nil, err
			}
			unresolved = append(unresolved, refs[i])
			refs = slices.Delete(slices.Clone(refs), i, i+1)
		}
	}
	if v.pc, err = property.DefaultCollector(m.s.vc).Create(ctx); err == nil {
		filter := new(property.WaitFilter).Add(v.lv.Reference(), "Task", taskProps,
			&types.TraversalSpec{Type: "ListView", Path: "view"})
		filter.Spec.ObjectSet[0].Skip = types.NewBool(true) // the tasks, not the view
		_, err = v.pc.CreateFilter(ctx, filter.CreateFilter)
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
	}
	return unresolved, err
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
func viewLost(err error) bool {
	return isNotAuthenticated(err) || isFault(err, &types.ManagedObjectNotFound{})
}

// loop follows the current view while tasks are pending, and sleeps
// while none are or there is no view.
func (m *taskMux) loop() {
	defer m.wg.Done()
	lost := 0 // views lost in a row
	var seen *taskView
	version := "" // of seen's last report
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
		if v != seen {
			seen, version = v, ""
		}
		// methods.WaitForUpdatesEx, not Collector.WaitForUpdatesEx: the
		// wrapper starts each round at version "", so every round cut
		// short (its bound, the simulated site's gate) would cost a call
		// reporting the whole view again.
		secs := max(int32(taskMaxWait/time.Second), 1) // 0 would not wait at all
		res, err := methods.WaitForUpdatesEx(m.ctx, m.s.vc, &types.WaitForUpdatesEx{This: v.pc.Reference(), Version: version,
			Options: &types.WaitOptions{MaxWaitSeconds: &secs}})
		if err == nil && res.Returnval != nil {
			version = res.Returnval.Version
			for _, fs := range res.Returnval.FilterSet {
				m.apply(fs.ObjectSet)
			}
		}
		switch {
		case m.ctx.Err() != nil:
			return
		case err == nil || isFault(err, &types.RequestCanceled{}) || isFault(err, &types.InvalidCollectorVersion{}):
			// The round ended (its bound), someone cancelled it (a
			// simulated site does, see simulate/viewgate.go), or the
			// collector forgot the version (the view is reported whole
			// again): the view stands.
			if err != nil && !isFault(err, &types.RequestCanceled{}) {
				version = ""
			}
			lost = 0
		case viewLost(err):
			if lost++; lost > 3 {
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

// apply hands the updates of the view to the waiters.
func (m *taskMux) apply(updates []types.ObjectUpdate) {
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
		mo.ApplyPropertyChange(&w.task, u.ChangeSet)
		if m.note(w, w.task.Info) {
			m.deliver(w, nil)
		}
	}
}

// deliver ends a wait; the caller holds m.mu.
func (m *taskMux) deliver(w *taskWaiter, err error) {
	if m.pending[w.task.Self] != w {
		return
	}
	delete(m.pending, w.task.Self)
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
