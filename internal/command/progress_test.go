package command

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/drplan/drplan/report"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/steps"
)

// TestProgressPlanTime: progress lines give plan time since the run's
// start, the journal's times as they stand (they are the run clock's),
// with no wall time beside them and no time_scale conversion; the drill
// summary gives the runs' wall time once.
func TestProgressPlanTime(t *testing.T) {
	var out bytes.Buffer
	prog := &steps.Program{Mode: "test", Estimate: steps.Estimate{Tiers: []steps.TierEstimate{{Tier: "app", VMs: 1}}}}
	pr := newProgress(&out, prog, func(s string) string { return s })
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	ok := func(addr string, s int) rundir.Event {
		return rundir.Event{Time: at(s), Type: rundir.EventStepFinished, Step: steps.MustParseAddr(addr), Result: rundir.StatusOK, Figures: map[string]float64{"wall_seconds": 0.01}}
	}
	for _, e := range []rundir.Event{
		{Time: at(0), Type: rundir.EventRunStarted, Detail: map[string]string{"mode": "test"}, Figures: map[string]float64{"time_scale": 0.001}},
		ok("tier.app/start", 2),
		{Time: at(190), Type: rundir.EventVMReady, Detail: map[string]string{"tier": "app", "vm": "a"}},
		ok("tier.app/done", 190),
		{Time: at(193), Type: rundir.EventStepFinished, Step: steps.MustParseAddr("step.probe"), Result: rundir.StatusOK, Detail: map[string]string{"timing": "wall"}, Figures: map[string]float64{"wall_seconds": 3}},
		{Time: at(193), Type: rundir.EventRunFinished, Result: "passed", Figures: map[string]float64{"wall_seconds": 4.2}},
	} {
		pr.observe(e)
	}
	got := out.String()
	for _, line := range []string{"  tier.app started at 2s\n", "  tier.app done at 3m10s: 1/1 VMs ready\n", "  step.probe ok at 3m13s\n", "  passed at 3m13s\n"} {
		if !strings.Contains(got, line) {
			t.Errorf("progress lacks %q:\n%s", line, got)
		}
	}
	if strings.Contains(got, "wall") {
		t.Errorf("progress shows two clocks:\n%s", got)
	}

	var sum bytes.Buffer
	writeSummaryTo(&sum, &report.Report{RunID: "r1", Result: "passed", WallSeconds: 4.2}, time.Minute, false)
	if first := strings.SplitN(sum.String(), "\n", 3)[1]; first != "Drill r1: PASSED (wall time 4.2s)" {
		t.Errorf("summary line %q, want the runs' wall time once", first)
	}
}

// TestProgressResumeCountsEarlierVMs: a resumed run counts the VMs an
// earlier attempt brought up, as the report does ("2/2", not "1/2").
func TestProgressResumeCountsEarlierVMs(t *testing.T) {
	var out bytes.Buffer
	prog := &steps.Program{Mode: "failover", Estimate: steps.Estimate{Tiers: []steps.TierEstimate{{Tier: "web", VMs: 2}}},
		Steps: []*steps.Step{
			{Addr: steps.MustParseAddr("tier.web/vm.a/wait_ready"), Kind: steps.WaitReady, Tier: "web", VM: "a"},
			{Addr: steps.MustParseAddr("tier.web/vm.b/wait_ready"), Kind: steps.WaitReady, Tier: "web", VM: "b"},
		}}
	pr := newProgress(&out, prog, func(s string) string { return s })
	pr.done = map[steps.Addr]bool{steps.TierVM("web", "a", "wait_ready"): true}
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for _, e := range []rundir.Event{
		{Time: t0, Type: rundir.EventRunStarted, Detail: map[string]string{"mode": "failover", "resumed": "true"}},
		{Time: t0.Add(time.Minute), Type: rundir.EventVMReady, Step: steps.MustParseAddr("tier.web/vm.b/wait_ready"), Detail: map[string]string{"tier": "web", "vm": "b"}},
		{Time: t0.Add(time.Minute), Type: rundir.EventStepFinished, Step: steps.MustParseAddr("tier.web/done"), Result: rundir.StatusOK},
	} {
		pr.observe(e)
	}
	if !strings.Contains(out.String(), "tier.web done at 1m: 2/2 VMs ready") {
		t.Errorf("a resumed run does not count the VM its first attempt brought up:\n%s", out.String())
	}
}
