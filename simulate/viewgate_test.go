package simulate

import (
	"context"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"
)

// TestViewGate: a ModifyListView of a session does not run while the
// session's WaitForUpdatesEx on a collector following that view is being
// served (vcsim deadlocks on the two): the wait is cancelled before the
// modification is made.
func TestViewGate(t *testing.T) {
	w := newWorld(t, loadSource(t, minimalPlan))
	c := connect(t, w.Site("west"))
	ctx := context.Background()
	vc := c.c.Client
	a, b := c.replica("web-01").Reference(), c.replica("web-02").Reference()
	lv, err := methods.CreateListView(ctx, vc, &types.CreateListView{This: *vc.ServiceContent.ViewManager, Obj: []types.ManagedObjectReference{a}})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := property.DefaultCollector(vc).Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec := types.PropertyFilterSpec{
		ObjectSet: []types.ObjectSpec{{Obj: lv.Returnval, Skip: types.NewBool(true),
			SelectSet: []types.BaseSelectionSpec{&types.TraversalSpec{Type: "ListView", Path: "view"}}}},
		PropSet: []types.PropertySpec{{Type: "VirtualMachine", PathSet: []string{"name"}}},
	}
	if _, err := pc.CreateFilter(ctx, types.CreateFilter{Spec: spec}); err != nil {
		t.Fatal(err)
	}
	first, err := methods.WaitForUpdatesEx(ctx, vc, &types.WaitForUpdatesEx{This: pc.Reference()})
	if err != nil {
		t.Fatal(err)
	}
	// A wait with nothing to report: it would last its 30 seconds.
	waited := make(chan error, 1)
	secs := int32(30)
	go func() {
		_, err := methods.WaitForUpdatesEx(ctx, vc, &types.WaitForUpdatesEx{This: pc.Reference(), Version: first.Returnval.Version,
			Options: &types.WaitOptions{MaxWaitSeconds: &secs}})
		waited <- err
	}()
	// Let the wait reach the site (as far as the gate can tell).
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		w.Site("west").views.mu.Lock()
		n := 0
		for _, sg := range w.Site("west").views.sessions {
			n += len(sg.waits)
		}
		w.Site("west").views.mu.Unlock()
		if n > 0 {
			break
		}
	}
	if _, err := methods.ModifyListView(ctx, vc, &types.ModifyListView{This: lv.Returnval, Add: []types.ManagedObjectReference{b}}); err != nil {
		t.Fatal(err)
	}
	// Without the gate the wait would have reported the view's change;
	// with it, the wait was cancelled before the change was made.
	if err := <-waited; !fault.Is(err, &types.RequestCanceled{}) {
		t.Errorf("the wait ended with %v, want RequestCanceled: the modification ran while it was served", err)
	}
}

// TestListViewDeadlock shows the vcsim defect the view gate works
// around, and that the gate does: ModifyListView calls made back to
// back while a collector following the view waits (what the vSphere
// provider's task waiting does) deadlock bare vcsim within a few hundred
// calls, and go through the simulated site's front.
func TestListViewDeadlock(t *testing.T) {
	t.Run("vcsim", func(t *testing.T) {
		model := simulator.VPX()
		if err := model.Create(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(model.Remove)
		// Not closed: the deadlocked handlers would hold Close forever.
		srv := model.Service.NewServer()
		c, err := govmomi.NewClient(context.Background(), srv.URL, true)
		if err != nil {
			t.Fatal(err)
		}
		vms, err := find.NewFinder(c.Client).VirtualMachineList(context.Background(), "*")
		if err != nil || len(vms) < 2 {
			t.Fatalf("%d VMs, %v", len(vms), err)
		}
		if !viewRace(t, c.Client, vms[0].Reference(), vms[1].Reference(), 5000) {
			t.Error("bare vcsim no longer deadlocks on ModifyListView during WaitForUpdatesEx: the view gate (viewgate.go) can go")
		}
	})
	t.Run("site", func(t *testing.T) {
		w := newWorld(t, loadSource(t, minimalPlan))
		c := connect(t, w.Site("west"))
		if viewRace(t, c.c.Client, c.replica("web-01").Reference(), c.replica("web-02").Reference(), 300) {
			t.Error("the simulated site deadlocked on ModifyListView during WaitForUpdatesEx")
		}
	})
}

// viewRace makes a ListView of a and collectors with a filter that
// follows it, each with a goroutine waiting on it, while n ModifyListView
// calls add b to the view and take it out again, back to back. It reports whether a
// call got no answer for 5 s (a deadlock: they take milliseconds); the
// goroutines of a deadlocked server are left behind.
func viewRace(t *testing.T, vc *vim25.Client, a, b types.ManagedObjectReference, n int) bool {
	// More waiters, more chances per 20 ms tick of vcsim's wait loop.
	const waiters = 8
	t.Helper()
	ctx := context.Background()
	lv, err := view.NewManager(vc).CreateListView(ctx, []types.ManagedObjectReference{a})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	for range waiters {
		pc, err := property.DefaultCollector(vc).Create(ctx)
		if err != nil {
			t.Fatal(err)
		}
		filter := new(property.WaitFilter).Add(lv.Reference(), "VirtualMachine", []string{"name"},
			&types.TraversalSpec{Type: "ListView", Path: "view"})
		if _, err := pc.CreateFilter(ctx, filter.CreateFilter); err != nil {
			t.Fatal(err)
		}
		go func() {
			secs := int32(1)
			for {
				select {
				case <-stop:
					return
				default:
				}
				// A cancelled round (the gate's doing) is made again.
				pc.WaitForUpdatesEx(ctx, &property.WaitOptions{Options: &types.WaitOptions{MaxWaitSeconds: &secs}},
					func([]types.ObjectUpdate) bool { return false })
			}
		}()
	}
	step := make(chan error)
	go func() {
		for i := range n {
			var err error
			if i%2 == 0 {
				_, err = lv.Add(ctx, []types.ManagedObjectReference{b})
			} else {
				_, err = lv.Remove(ctx, []types.ManagedObjectReference{b})
			}
			select {
			case step <- err:
			case <-stop:
				return
			}
		}
	}()
	for i := range n {
		select {
		case err := <-step:
			if err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
		case <-time.After(5 * time.Second):
			t.Logf("no answer to call %d for 5 s", i)
			return true
		}
	}
	return false
}
