package operations_test

import (
	"context"
	"testing"

	"github.com/drplan/drplan/operations"
)

// TestExampleDrillsAchieveTheirEstimate: the first drill of each passing
// example (no history to learn from) achieves the RTO that plan
// estimated, within ±2% — webshop's smoke step waits for a simulated
// service that starts 20 s after its VM is ready, which the estimate
// models from the simulation block (it was 570 s against 585 s).
func TestExampleDrillsAchieveTheirEstimate(t *testing.T) {
	for _, ex := range []string{"webshop", "branches", "erp"} {
		t.Run(ex, func(t *testing.T) {
			rep, err := operations.RunDrill(context.Background(), "../examples/"+ex, operations.DrillOptions{
				Options:  operations.Options{Sim: true, Seed: 1},
				StateDir: t.TempDir(),
			})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Result != "passed" {
				t.Fatalf("the drill %s", rep.Result)
			}
			est, got := rep.RTO.EstimateSeconds, rep.RTO.AchievedSeconds
			t.Logf("achieved %gs, estimate %gs", got, est)
			if est <= 0 || got < 0.98*est || got > 1.02*est {
				t.Errorf("achieved RTO %gs against an estimate of %gs: not within ±2%%", got, est)
			}
		})
	}
}
