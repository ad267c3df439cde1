package runner_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drplan/drplan/internal/clock"
	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/runner"
	"github.com/drplan/drplan/steps"
)

// TestObserverOneAtATime: while 16 steps run side by side, the observer
// is called one event at a time and sees the events in the journal's
// order, so a program that watches a run (a progress view, the -json
// stream) needs no lock and never shows an order the journal does not
// hold.
func TestObserverOneAtATime(t *testing.T) {
	site := &flakySite{fail: func(providers.VM) error { return nil }, calls: map[string]int{}}
	p := &steps.Program{Mode: "test", MaxParallel: 16, Sites: []steps.Site{{Name: "west"}}}
	for i := range 48 {
		vm := fmt.Sprintf("vm-%02d", i)
		p.Steps = append(p.Steps, &steps.Step{Addr: steps.TierVM("app", vm, "power_on"), Kind: steps.PowerOn, Phase: steps.PhasePowerOn,
			Tier: "app", VM: vm, Site: "west", Args: steps.Args{Target: vm}})
	}
	dir := t.TempDir()
	j, err := rundir.OpenJournal(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var inFlight, most atomic.Int32
	var mu sync.Mutex // only so that a broken contract fails the test instead of corrupting the slice
	var observed []rundir.Event
	observe := func(e rundir.Event) {
		n := inFlight.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		for range 200 {
			runtime.Gosched() // give another emitter the chance to come in
		}
		mu.Lock()
		observed = append(observed, e)
		mu.Unlock()
		inFlight.Add(-1)
	}
	open := func(context.Context, string, bool) (providers.Site, error) { return site, nil }
	res, err := runner.Run(context.Background(), p, runner.Options{RunID: "r", Open: open, Journal: j, Observer: observe,
		Clock: clock.NewVirtual(time.Unix(0, 0))})
	if err != nil || !res.Passed {
		t.Fatalf("run: %v, passed %v", err, res != nil && res.Passed)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if m := most.Load(); m != 1 {
		t.Errorf("the observer was called %d times at once; want one call at a time", m)
	}
	journaled, err := rundir.ReadJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(observed) != len(journaled) {
		t.Fatalf("observed %d events, journaled %d", len(observed), len(journaled))
	}
	for i := range journaled {
		if o, w := observed[i], journaled[i]; o.Type != w.Type || o.Step != w.Step {
			t.Fatalf("event %d: observed %s %s, journaled %s %s: the observer saw another order than the journal's", i, o.Type, o.Step, w.Type, w.Step)
		}
	}
}
