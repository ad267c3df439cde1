package vsphere_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"

	"github.com/drplan/drplan/providers"
)

// batchWorld is basePlan with n protected VMs app-01… and fast boots
// (40 s of plan time, 0.2 s of wall time on a scaled clock).
//
// The call budgets of TestDrillCallsPerVM and TestCleanupCallsPerVM are
// measured on a scaled wall clock (newScaledWorldFrom), against vcsim's
// own WaitForUpdatesEx, which gathers 20 ms of changes into one answer.
// On a virtual clock the site answers the task loop's wait at each
// change of a task (running, then done) and the figures move with
// goroutine scheduling (cleanup 4.2 to 6.3 calls per VM over runs,
// against 3.9 to 5.1 here); a 40 s boot there also costs the batch's
// WaitReady one 5 s long-poll per 5 s of boot (about 17 waits).
func batchWorld(t *testing.T, n int) string {
	var names []string
	for i := 1; i <= n; i++ {
		names = append(names, fmt.Sprintf("%q", fmt.Sprintf("app-%02d", i)))
	}
	return strings.Replace(basePlan, `["web-01", "web-02", "web-03"]`, "["+strings.Join(names, ", ")+"]", 1) + `
simulation {
  time_scale = 0.005
  boot_time  = "40s"
}
`
}

// slots bounds the VM operations under way at once, as the runner's
// max_parallel (8 by default) does.
type slots chan struct{}

func (s slots) do(f func() error) error {
	s <- struct{}{}
	defer func() { <-s }()
	return f()
}

// TestDrillCallsPerVM drills a batch of ten VMs the way the runner does:
// every copy made (Clone with the replica's Ref from the inventory) and
// powered on as soon as it is there, at most 8 operations at once, one
// WaitReady for the heartbeats of the batch; then the cleanup: each copy powered off and destroyed, the
// run's folder removed, Marked finds nothing left. The drill must cost
// at most 8 API calls per VM, the whole with the cleanup at most 14 (on
// a scaled clock: see batchWorld).
func TestDrillCallsPerVM(t *testing.T) {
	const n, run, folder = 10, "run-calls", "drplan-drill/run-calls"
	w := newScaledWorldFrom(t, batchWorld(t, n))
	protectClones(w.Site("west"))
	site := open(t, w.Site("west"))
	ctx := context.Background()
	start := site.Calls()
	inv, err := site.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var replicas []providers.VM
	for _, v := range inv.VMs {
		if v.Replica != nil {
			replicas = append(replicas, providers.VM{Site: "west", Path: v.Path(), Ref: v.Ref})
		}
	}
	if len(replicas) != n {
		t.Fatalf("%d replicas, want %d", len(replicas), n)
	}
	before := site.Calls()
	server := w.Site("west").Calls()

	copies := make([]providers.VM, n)
	var wg sync.WaitGroup
	slot := make(slots, 8)
	for i, rep := range replicas {
		wg.Go(func() {
			err := slot.do(func() (err error) {
				copies[i], err = site.Clone(ctx, providers.CloneRequest{Replica: rep, Name: fmt.Sprintf("app-%02d", i+1),
					Folder: folder, Networks: []string{"DR-Bubble"}, RunID: run})
				return err
			})
			if err == nil {
				err = slot.do(func() error { return site.PowerOn(ctx, copies[i]) })
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// Plan time on the scaled clock: 30 min is 9 s of wall time.
	for _, r := range site.WaitReady(ctx, copies, providers.WaitHeartbeat, 30*time.Minute, nil) {
		if !r.Ready {
			t.Errorf("%s: %v", r.VM, r.Err)
		}
	}
	drill := site.Calls() - before
	drillServer := diff(w.Site("west").Calls(), server)

	for _, vm := range copies {
		wg.Go(func() {
			if err := slot.do(func() error { return site.PowerOff(ctx, vm) }); err != nil {
				t.Error(err)
			}
			if err := slot.do(func() error { return site.Destroy(ctx, vm) }); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := site.Destroy(ctx, providers.VM{Site: "west", Path: folder}); err != nil {
		t.Error(err)
	}
	if left, err := site.Marked(ctx, run); err != nil || len(left) != 0 {
		t.Errorf("left after the cleanup: %v %v", left, err)
	}
	whole := site.Calls() - before

	perVM, wholePerVM := float64(drill)/n, float64(whole)/n
	t.Logf("open: %d calls; inventory: %d calls", start, before-start)
	t.Logf("drill of %d VMs (clone, power on, wait for heartbeats): %d calls, %.1f per VM; server saw %v", n, drill, perVM, drillServer)
	t.Logf("with the cleanup (power off, destroy, remove the folder, marked): %d calls, %.1f per VM; server saw %v",
		whole, wholePerVM, diff(w.Site("west").Calls(), server))
	if perVM > 8 {
		t.Errorf("the drill cost %.1f calls per VM, want at most 8", perVM)
	}
	if wholePerVM > 14 {
		t.Errorf("the drill and its cleanup cost %.1f calls per VM, want at most 14", wholePerVM)
	}

	// The shared drill folder stays, unmarked.
	c, err := govmomi.NewClient(ctx, w.Site("west").URL, true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Logout(ctx)
	finder := find.NewFinder(c.Client)
	finder.SetDatacenter(mustDC(t, finder, "DC-West"))
	if _, err := finder.Folder(ctx, "vm/drplan-drill"); err != nil {
		t.Errorf("the drill folder went with the run's: %v", err)
	}
	if _, err := finder.Folder(ctx, "vm/"+folder); err == nil {
		t.Error("the run's folder is still there")
	}
}

// diff is what the server served between two snapshots of its counts.
func diff(after, before map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// TestCleanupCallsPerVM: a cleanup run of its own (a new session, which
// knows nothing of the drill) asks Marked for what the run left and
// removes it by the refs Marked gives: about four calls per VM.
func TestCleanupCallsPerVM(t *testing.T) {
	const n, run, folder = 10, "run-clean", "drplan-drill/run-clean"
	w := newScaledWorldFrom(t, batchWorld(t, n))
	protectClones(w.Site("west"))
	drill := open(t, w.Site("west"))
	ctx := context.Background()
	inv, err := drill.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, v := range inv.VMs {
		wg.Go(func() {
			vm, err := drill.Clone(ctx, providers.CloneRequest{Replica: providers.VM{Site: "west", Path: v.Path(), Ref: v.Ref},
				Name: v.Name, Folder: folder, Networks: []string{"DR-Bubble"}, RunID: run})
			if err == nil {
				err = drill.PowerOn(ctx, vm)
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	site := open(t, w.Site("west"))
	before := site.Calls()
	server := w.Site("west").Calls()
	marked, err := site.Marked(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	if len(marked) != n+1 || marked[n].Path != folder {
		t.Fatalf("marked %v, want %d copies and the run's folder", marked, n)
	}
	for _, vm := range marked[:n] {
		wg.Go(func() {
			if err := site.PowerOff(ctx, vm); err != nil {
				t.Error(err)
			}
			if err := site.Destroy(ctx, vm); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// The runner names the folder by path.
	if err := site.Destroy(ctx, providers.VM{Site: "west", Path: folder}); err != nil {
		t.Error(err)
	}
	if left, err := site.Marked(ctx, run); err != nil || len(left) != 0 {
		t.Errorf("left after the cleanup: %v %v", left, err)
	}
	calls := site.Calls() - before
	t.Logf("cleanup of %d VMs by a new session (marked, power off, destroy, remove the folder, marked): %d calls, %.1f per VM; server saw %v",
		n, calls, float64(calls)/n, diff(w.Site("west").Calls(), server))
	if perVM := float64(calls) / n; perVM > 6 {
		t.Errorf("the cleanup cost %.1f calls per VM, want at most 6", perVM)
	}
}
