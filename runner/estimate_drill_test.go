package runner_test

import (
	"testing"
	"time"
)

// TestDrillMatchesEstimate drills a generated 10-VM plan (2-minute
// boots) through the real vSphere provider and the runner on a virtual
// clock, and checks that the achieved RTO is the plan's estimate within
// ±2%: the estimate schedules with the runner's own scheduler, and a
// fault-free simulated drill takes exactly its plan times.
func TestDrillMatchesEstimate(t *testing.T) {
	env := setup(t, 10, "2m")
	prog := env.compile(t)
	if prog.Estimate.Total <= 0 {
		t.Fatalf("no estimate: %+v", prog.Estimate)
	}
	res := env.run(t, prog, "estimate")
	achieved := res.End.Sub(res.Start)
	estimate := time.Duration(prog.Estimate.Total)
	ratio := float64(achieved) / float64(estimate)
	t.Logf("achieved %s, estimate %s: %.4f", achieved, estimate, ratio)
	if ratio < 0.98 || ratio > 1.02 {
		t.Errorf("achieved RTO %s is not the estimate %s within ±2%% (%.4f)", achieved, estimate, ratio)
	}
	// Two minutes of boot at least: the drill did run on plan time.
	if achieved < 2*time.Minute {
		t.Errorf("achieved %s: shorter than one boot", achieved)
	}
}
