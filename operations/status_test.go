package operations

import (
	"context"
	"testing"
	"time"

	"github.com/drplan/drplan/internal/history"
	"github.com/drplan/drplan/plans"
)

// TestStatusAfterDrill: from Go, the status of the webshop's simulated
// sites is healthy with no drill; after RunDrill into the same state
// directory, the status names that drill as the last, passed.
func TestStatusAfterDrill(t *testing.T) {
	ctx := context.Background()
	state := t.TempDir()
	cp := loadWebshop(t, plans.ModeTest, 1)
	doc := Status(cp, nil, time.Now())
	if !doc.Healthy || len(doc.Groups) == 0 || doc.LastDrill != nil {
		t.Fatalf("status before a drill: healthy %v, %d groups, last drill %+v; violations %+v", doc.Healthy, len(doc.Groups), doc.LastDrill, doc.Violations)
	}

	rep, err := RunDrill(ctx, "../examples/webshop", DrillOptions{Options: Options{Sim: true, Seed: 2}, StateDir: state})
	if err != nil || rep.Result != "passed" {
		t.Fatalf("drill: %v, %+v", err, rep)
	}
	runs, err := history.List(state)
	if err != nil {
		t.Fatal(err)
	}
	doc = Status(cp, runs, time.Now())
	if d := doc.LastDrill; d == nil || d.RunID != rep.RunID || d.Result != "passed" || d.LastPassedRunID != rep.RunID || d.Report == "" {
		t.Errorf("status after the drill: last drill %+v, want %s passed with its report", d, rep.RunID)
	}
}
