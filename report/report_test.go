package report

import (
	"testing"
	"time"

	"github.com/drplan/drplan/runner"
	"github.com/drplan/drplan/steps"
)

// TestBuildCleanupRunAgain: a cleanup killed halfway and run again to the
// end leaves the run passed; killed and not run again, interrupted.
func TestBuildCleanupRunAgain(t *testing.T) {
	test := &steps.Program{Mode: "test", Steps: []*steps.Step{{Addr: "tier.a/vm.x/copy", Kind: steps.Copy, Tier: "a", VM: "x"}}}
	cleanup := &steps.Program{Mode: "cleanup", Steps: []*steps.Step{{Addr: "tier.a/vm.x/destroy", Kind: steps.Destroy, Tier: "a", VM: "x"}}}
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	run := func(mode string, s int) []runner.Event {
		return []runner.Event{{Time: at(s), Type: runner.EventRunStarted, Detail: map[string]string{"mode": mode}}}
	}
	step := func(addr string, s int, finish bool) []runner.Event {
		ev := []runner.Event{{Time: at(s), Type: runner.EventStepStarted, Step: addr, Attempt: 1}}
		if finish {
			ev = append(ev, runner.Event{Time: at(s + 1), Type: runner.EventStepFinished, Step: addr, Result: runner.StatusOK})
		}
		return ev
	}
	end := func(s int) runner.Event {
		return runner.Event{Time: at(s), Type: runner.EventRunFinished, Result: "passed"}
	}

	var events []runner.Event
	events = append(events, run("test", 0)...)
	events = append(events, step("tier.a/vm.x/copy", 1, true)...)
	events = append(events, end(3))
	events = append(events, run("cleanup", 10)...)
	events = append(events, step("tier.a/vm.x/destroy", 11, false)...)
	killed := Build(Input{Programs: []*steps.Program{test, cleanup}, Events: events})
	if killed.Result != "interrupted" || killed.Runs[1].Result != "interrupted" {
		t.Errorf("a killed cleanup: result %s, runs %+v", killed.Result, killed.Runs)
	}

	events = append(events, run("cleanup", 20)...)
	events = append(events, step("tier.a/vm.x/destroy", 21, true)...)
	events = append(events, end(23))
	again := Build(Input{Programs: []*steps.Program{test, cleanup, cleanup}, Events: events})
	if again.Result != "passed" || len(again.Runs) != 3 || again.Runs[1].Result != "interrupted" || again.Runs[2].Result != "passed" {
		t.Errorf("a killed cleanup run again: result %s, runs %+v", again.Result, again.Runs)
	}
}

// TestBuildSkippedStep: a skipped step says when it was skipped and why.
func TestBuildSkippedStep(t *testing.T) {
	r := fixture(t)
	for _, s := range r.Steps {
		if s.Addr == "step.smoke" {
			if s.Status != "skipped" || s.StartSeconds != 0 || s.EndSeconds < 600 || s.Error != "skipped because tier.web/vm.web-03/wait_ready failed" {
				t.Errorf("step.smoke: %+v; want skipped when web-03's wait failed, past 10m", s)
			}
			return
		}
	}
	t.Fatal("no step.smoke in the report")
}
