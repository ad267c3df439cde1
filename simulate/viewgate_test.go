package simulate

import (
	"context"
	"testing"
	"time"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/property"
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
			n += sg.waits
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
