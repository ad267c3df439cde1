package vsphere_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/internal/errs"
	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/providers/vsphere"
	"github.com/drplan/drplan/simulate"
)

// The task-wait tests but TestTaskWaitQuickTasks run on a scaled wall
// clock (newScaledWorld): they are about the task loop's long-poll
// against vcsim's own WaitForUpdatesEx and the simulated site's view
// gate (simulate/viewgate.go), which serve only a world that is not on a
// virtual clock, and about what happens in wall time while the loop
// waits (a session ended under it, a connection dropped, Close cutting
// a wait short). On a virtual clock the site serves the waits itself
// (simulate/collector.go), and the task loop's waits are covered by the
// drill tests. Their waits in wall time are not sized by time_scale.

// tasks makes tasks at a simulated site that stay queued until told to
// finish (the simulator's test extension tasks), through a client of its
// own.
type tasks struct {
	t *testing.T
	c *govmomi.Client
}

func newTasks(t *testing.T, s *simulate.Site) *tasks {
	t.Helper()
	c, err := govmomi.NewClient(context.Background(), s.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Logout(context.Background()) })
	return &tasks{t: t, c: c}
}

// create makes a queued task and returns once the server knows it.
func (ts *tasks) create() types.ManagedObjectReference {
	ts.t.Helper()
	ctx := context.Background()
	res, err := methods.CreateTask(ctx, ts.c, &types.CreateTask{This: *ts.c.ServiceContent.TaskManager,
		Obj: ts.c.ServiceContent.RootFolder, TaskTypeId: "com.vmware.govmomi.simulator.test", InitiatedBy: "test"})
	if err != nil {
		ts.t.Fatal(err)
	}
	ref := res.Returnval.Task
	if !within(ts.t, 2*time.Second, func() bool {
		var m mo.Task
		return property.DefaultCollector(ts.c.Client).RetrieveOne(ctx, ref, []string{"info.state"}, &m) == nil
	}) {
		ts.t.Fatalf("task %s never appeared", ref.Value)
	}
	return ref
}

// finish ends a task with a result, or with a fault when f is not nil.
func (ts *tasks) finish(ref types.ManagedObjectReference, result string, f types.BaseMethodFault) {
	ts.t.Helper()
	req := &types.SetTaskState{This: ref, State: types.TaskInfoStateSuccess, Result: result}
	if f != nil {
		req.State, req.Result = types.TaskInfoStateError, nil
		req.Fault = &types.LocalizedMethodFault{Fault: f, LocalizedMessage: "it failed"}
	}
	if _, err := methods.SetTaskState(context.Background(), ts.c, req); err != nil {
		ts.t.Fatal(err)
	}
}

type waited struct {
	res types.AnyType
	err error
}

// waitAsync waits for a task through the site in the background.
func waitAsync(ctx context.Context, site providers.Site, ref types.ManagedObjectReference) <-chan waited {
	ch := make(chan waited, 1)
	go func() {
		res, err := vsphere.WaitTask(ctx, site, ref)
		ch <- waited{res, err}
	}()
	return ch
}

func inView(t *testing.T, site providers.Site, refs ...types.ManagedObjectReference) bool {
	t.Helper()
	return within(t, 3*time.Second, func() bool {
		view, err := vsphere.TaskView(context.Background(), site)
		if err != nil {
			return false
		}
		for _, r := range refs {
			if !slices.Contains(view, r) {
				return false
			}
		}
		return true
	})
}

// settle returns once the site has made no call for 100 ms (the task
// loop sits in a wait on the server), or fails the test after 5 s.
func settle(t *testing.T, site providers.Site) {
	t.Helper()
	if !within(t, 5*time.Second, func() bool {
		n := site.Calls()
		time.Sleep(100 * time.Millisecond)
		return site.Calls() == n
	}) {
		t.Fatal("the site's calls never settled")
	}
}

func receive(t *testing.T, ch <-chan waited, d time.Duration) waited {
	t.Helper()
	select {
	case w := <-ch:
		return w
	case <-time.After(d):
		t.Fatalf("no answer after %v", d)
	}
	return waited{}
}

// TestTaskWaitShared: tasks are waited on through one view and one wait
// loop: a task that finished before it was added is seen at once, a
// batch of tasks costs about one call each, a failed task comes back as
// its fault, nothing is polled while tasks run, and finished tasks leave
// the view with the next task's add rather than in calls of their own.
func TestTaskWaitShared(t *testing.T) {
	w := newScaledWorld(t, "")
	ts := newTasks(t, w.Site("west"))
	site := open(t, w.Site("west"))
	ctx := context.Background()

	// Finished before anyone waits for it (as vcsim's quick tasks often
	// are by the time they are added).
	early := ts.create()
	ts.finish(early, "early", nil)
	res, err := vsphere.WaitTask(ctx, site, early)
	if err != nil || res != "early" {
		t.Fatalf("a task that had finished: %v, %v", res, err)
	}

	server := w.Site("west").Calls()
	const n = 8
	refs := make([]types.ManagedObjectReference, n)
	waits := make([]<-chan waited, n)
	for i := range refs {
		refs[i] = ts.create()
		waits[i] = waitAsync(ctx, site, refs[i])
	}
	if !inView(t, site, refs...) {
		t.Fatal("the tasks never made it into the view")
	}
	// Running tasks cost no calls: the loop waits on the server (once the
	// wait that the last add woke has been made again).
	settle(t, site)
	quiet := site.Calls()
	time.Sleep(time.Second)
	if d := site.Calls() - quiet; d > 1 {
		t.Errorf("%d calls in a second of waiting, want at most 1", d)
	}
	for i, r := range refs {
		if i == 3 {
			ts.finish(r, "", &types.NotFound{})
			continue
		}
		ts.finish(r, fmt.Sprint("result-", i), nil)
	}
	for i := range refs {
		got := receive(t, waits[i], 5*time.Second)
		if i == 3 {
			var te task.Error
			if !errors.As(got.err, &te) || !strings.Contains(fmt.Sprintf("%T", te.Fault()), "NotFound") {
				t.Errorf("failed task: %v, %v; want its NotFound fault", got.res, got.err)
			}
			continue
		}
		if got.err != nil || got.res != fmt.Sprint("result-", i) {
			t.Errorf("task %d: %v, %v", i, got.res, got.err)
		}
	}
	served := diff(w.Site("west").Calls(), server)
	t.Logf("%d tasks: %d ResetListView, %d WaitForUpdatesEx", n, served["ResetListView"], served["WaitForUpdatesEx"])
	if adds := served["ResetListView"]; adds > n {
		t.Errorf("%d ResetListView for %d tasks", adds, n)
	}
	if waitCalls := served["WaitForUpdatesEx"]; waitCalls > n {
		t.Errorf("%d WaitForUpdatesEx for %d tasks", waitCalls, n)
	}

	// The finished tasks are still in the view; the next task's add
	// takes them out.
	next := ts.create()
	ch := waitAsync(ctx, site, next)
	if !inView(t, site, next) {
		t.Fatal("the next task never made it into the view")
	}
	view, err := vsphere.TaskView(ctx, site)
	if err != nil || len(view) != 1 {
		t.Errorf("view %v, %v; want only the running task", view, err)
	}
	ts.finish(next, "next", nil)
	if got := receive(t, ch, 5*time.Second); got.res != "next" {
		t.Errorf("next task: %+v", got)
	}
	if n := vsphere.TaskViews(site); n != 1 {
		t.Errorf("%d task views made, want 1", n)
	}
	if d := diff(w.Site("west").Calls(), server)["ResetListView"]; d > n+1 {
		t.Errorf("%d ResetListView for %d tasks", d, n+1)
	}

	// A wait whose context ends gives up; the task leaves the view later.
	slow := ts.create()
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := vsphere.WaitTask(cctx, site, slow); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("wait past its deadline: %v", err)
	}
}

// TestTaskWaitRelogin: when vCenter forgets the session, its task view
// goes with it; the site makes a new one holding the tasks still
// pending, which finish as if nothing happened, and the tasks started
// after work too.
func TestTaskWaitRelogin(t *testing.T) {
	t.Cleanup(vsphere.SetTaskMaxWait(time.Second))
	w := newScaledWorld(t, "")
	s := w.Site("west")
	ts := newTasks(t, s)
	site := open(t, s)
	ctx := context.Background()

	pending := ts.create()
	ch := waitAsync(ctx, site, pending)
	if !inView(t, site, pending) {
		t.Fatal("the task never made it into the view")
	}
	terminateOthers(t, ts.c)
	// The loop's next wait finds the session gone, logs in again and
	// makes a new view with the pending task.
	if !within(t, 5*time.Second, func() bool { return vsphere.TaskViews(site) == 2 }) {
		t.Fatalf("%d task views, want a second one after the session ended", vsphere.TaskViews(site))
	}
	ts.finish(pending, "survived", nil)
	if got := receive(t, ch, 5*time.Second); got.err != nil || got.res != "survived" {
		t.Errorf("pending task across the re-login: %+v", got)
	}

	// A task finished while nobody could watch it: the new view reports
	// it as it is.
	later := ts.create()
	terminateOthers(t, ts.c)
	ts.finish(later, "later", nil)
	if res, err := vsphere.WaitTask(ctx, site, later); err != nil || res != "later" {
		t.Errorf("task after the second re-login: %v, %v", res, err)
	}
	if n := vsphere.TaskViews(site); n != 3 {
		t.Errorf("%d task views, want 3", n)
	}
	if n := s.Calls()["Login"]; n != 4 { // the site's, the client's, two again
		t.Errorf("the site served %d logins, want 4", n)
	}
}

// terminateOthers ends every session but c's own.
func terminateOthers(t *testing.T, c *govmomi.Client) {
	t.Helper()
	ctx := context.Background()
	var sm mo.SessionManager
	if err := property.DefaultCollector(c.Client).RetrieveOne(ctx, *c.ServiceContent.SessionManager, []string{"sessionList", "currentSession"}, &sm); err != nil {
		t.Fatal(err)
	}
	var others []string
	for _, us := range sm.SessionList {
		if sm.CurrentSession == nil || us.Key != sm.CurrentSession.Key {
			others = append(others, us.Key)
		}
	}
	if len(others) == 0 {
		t.Fatal("no session to terminate")
	}
	if err := c.SessionManager.TerminateSession(ctx, others); err != nil {
		t.Fatal(err)
	}
}

// TestTaskWaitDroppedConnection: when the connection drops under the
// wait loop, the waits fail with a Transient error as a wait of their own
// would; once the site answers again, new tasks are waited on in the same
// view.
func TestTaskWaitDroppedConnection(t *testing.T) {
	t.Cleanup(vsphere.SetTaskMaxWait(time.Second))
	w := newScaledWorld(t, "")
	s := w.Site("west")
	ts := newTasks(t, s)
	site := open(t, s)
	ctx := context.Background()

	pending := ts.create()
	ch := waitAsync(ctx, site, pending)
	if !inView(t, site, pending) {
		t.Fatal("the task never made it into the view")
	}
	s.SetDown(true)
	got := receive(t, ch, 5*time.Second)
	s.SetDown(false)
	if got.err == nil {
		t.Fatalf("the wait went on through the outage: %+v", got)
	}
	if !errs.Retryable(wrapProvider(got.err)) {
		t.Errorf("wait during the outage: %v, want a Transient error", got.err)
	}
	next := ts.create()
	ch = waitAsync(ctx, site, next)
	ts.finish(next, "back", nil)
	if got := receive(t, ch, 5*time.Second); got.err != nil || got.res != "back" {
		t.Errorf("after the outage: %+v", got)
	}
	if n := vsphere.TaskViews(site); n != 1 {
		t.Errorf("%d task views, want the first one still", n)
	}
}

// wrapProvider classifies an error the way the site's operations do.
func wrapProvider(err error) error { return vsphere.Classify("wait", "task", err) }

// TestTaskWaitClose: Close ends the wait loop at once, even while it waits
// on the server, and every pending wait with it; nothing is called after.
func TestTaskWaitClose(t *testing.T) {
	w := newScaledWorld(t, "")
	s := w.Site("west")
	ts := newTasks(t, s)
	site, err := vsphere.Connector{}.Open(context.Background(), config(s))
	if err != nil {
		t.Fatal(err)
	}
	var chans []<-chan waited
	var refs []types.ManagedObjectReference
	for range 3 {
		ref := ts.create()
		refs = append(refs, ref)
		chans = append(chans, waitAsync(context.Background(), site, ref))
	}
	if !inView(t, site, refs...) {
		t.Fatal("the tasks never made it into the view")
	}
	settle(t, site) // the loop is in a WaitForUpdatesEx now
	start := time.Now()
	if err := site.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Close took %v", took)
	}
	var wg sync.WaitGroup
	for _, ch := range chans {
		wg.Go(func() {
			if got := receive(t, ch, time.Second); got.err == nil || !strings.Contains(got.err.Error(), "closed") {
				t.Errorf("pending wait at Close: %+v", got)
			}
		})
	}
	wg.Wait()
	n := s.Calls()["WaitForUpdatesEx"]
	time.Sleep(300 * time.Millisecond)
	if m := s.Calls()["WaitForUpdatesEx"]; m != n {
		t.Errorf("WaitForUpdatesEx went on after Close: %d, then %d", n, m)
	}
	if _, err := vsphere.WaitTask(context.Background(), site, ts.create()); err == nil {
		t.Error("a wait on a closed site went ahead")
	}
}

// TestTaskWaitQuickTasks: at a site whose tasks are over by the time they
// would be watched, a task on its own is read once instead (one call, no
// add, no wait); one that turns out to be running is watched after all,
// and counts once (the read) in how often tasks are over when first
// seen, so that the quick tasks after it are still read once. On the
// virtual clock the view reports the running task before it finishes,
// every time.
func TestTaskWaitQuickTasks(t *testing.T) {
	w := newWorld(t, "")
	s := w.Site("west")
	ts := newTasks(t, s)
	site := open(t, s)
	ctx := context.Background()
	quick := func(i int) {
		t.Helper()
		ref := ts.create()
		ts.finish(ref, fmt.Sprint("quick-", i), nil)
		before := site.Calls()
		res, err := vsphere.WaitTask(ctx, site, ref)
		if err != nil || res != fmt.Sprint("quick-", i) {
			t.Fatalf("quick task %d: %v, %v", i, res, err)
		}
		if i >= 4 {
			if n := site.Calls() - before; n != 1 {
				t.Errorf("quick task %d cost %d calls, want the one read", i, n)
			}
		}
	}
	for i := range 6 {
		quick(i)
	}
	adds := s.Calls()["ResetListView"]

	// Running after all: read, then watched.
	slow := ts.create()
	ch := waitAsync(ctx, site, slow)
	if !inView(t, site, slow) {
		t.Fatal("the running task never made it into the view")
	}
	ts.finish(slow, "slow", nil)
	if got := receive(t, ch, 5*time.Second); got.err != nil || got.res != "slow" {
		t.Errorf("running task: %+v", got)
	}
	if d := s.Calls()["ResetListView"] - adds; d != 1 {
		t.Errorf("%d ResetListView for the running task, want 1", d)
	}

	// A quick task that failed gives its fault.
	for i := range 3 {
		quick(10 + i)
	}
	bad := ts.create()
	ts.finish(bad, "", &types.NotFound{})
	var te task.Error
	if _, err := vsphere.WaitTask(ctx, site, bad); !errors.As(err, &te) {
		t.Errorf("quick failed task: %v, want its fault", err)
	}
}
