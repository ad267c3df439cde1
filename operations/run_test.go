package operations

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/rundir"
)

// TestFailoverFromGo: a failover of the webshop's simulated sites run
// from Go, step by step as drplan run does it: its events reach the
// observer, its result read back from the sites passes every check, its
// report is written, and, having run in this process's simulation, it
// cannot be resumed.
func TestFailoverFromGo(t *testing.T) {
	ctx := context.Background()
	state := t.TempDir()
	cp := loadWebshop(t, plans.ModeFailover, 3)
	id := NewRunID()
	r, err := StartRun(cp, RunOptions{StateDir: state, PlanDir: "../examples/webshop", RunID: id,
		Record: &rundir.Record{Mode: cp.Prog.Mode, Target: cp.Target.Kind, Point: "latest"}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx)
	if _, err := r.Lock(ctx, state); err != nil {
		t.Fatal(err)
	}
	var types []string
	res, err := r.Execute(ctx, func(e rundir.Event) { types = append(types, string(e.Type)) })
	if err != nil || !res.Passed {
		t.Fatalf("failover: %v, passed %v", err, res != nil && res.Passed)
	}
	if len(types) == 0 || types[0] != string(rundir.EventRunStarted) || types[len(types)-1] != string(rundir.EventRunFinished) {
		t.Errorf("observed events %v, want the run's from its start to its end", types)
	}
	checks := cp.Verify(ctx, res.Canceled)
	if len(checks) == 0 {
		t.Fatal("a failover is verified, but there are no checks")
	}
	for _, ch := range checks {
		if !ch.Passed || strings.HasPrefix(ch.Detail, NotProven) {
			t.Errorf("check %s: passed %v, %s", ch.Name, ch.Passed, ch.Detail)
		}
	}
	html, err := r.WriteReport(checks)
	if _, serr := os.Stat(html); err != nil || serr != nil {
		t.Errorf("report: %v, %v", err, serr)
	}
	_, err = ReadResumable(state, id, "../examples/webshop")
	var re *ResumeError
	if !errors.As(err, &re) || !strings.Contains(re.Msg, "simulated sites built in its own process") {
		t.Errorf("resuming a simulated run: %v, want refused", err)
	}
}
