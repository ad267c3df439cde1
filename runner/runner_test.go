package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/runner"
	"github.com/drplan/drplan/steps"
)

// TestJournalAndDone runs a drill program against a simulated world, then
// runs it again telling the runner that every step is done (as a resume
// after a crash would): nothing is done twice, and the journal records
// both runs line by line.
func TestJournalAndDone(t *testing.T) {
	env := setup(t, 4, "30s")
	prog := env.compile(t)
	dir := t.TempDir()
	j, err := rundir.OpenJournal(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	open := func(_ context.Context, name string, _ bool) (providers.Site, error) { return env.sites[name], nil }
	res, err := runner.Run(context.Background(), prog, runner.Options{RunID: "first", Clock: env.world.Clock, Journal: j, Open: open})
	if err != nil || !res.Passed {
		t.Fatalf("first run: %v %+v", err, res)
	}
	done := map[steps.Addr]bool{}
	for addr, s := range res.Steps {
		if s.Status == rundir.StatusOK {
			done[addr] = true
		}
	}
	calls := callsOf(env)
	res, err = runner.Run(context.Background(), prog, runner.Options{RunID: "first", Clock: env.world.Clock, Journal: j, Open: open, Done: done})
	if err != nil || !res.Passed {
		t.Fatalf("second run: %v", err)
	}
	if n := callsOf(env) - calls; n != 0 {
		t.Errorf("a run whose steps are all done made %d API calls", n)
	}
	events, err := rundir.ReadJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	starts, finished := 0, 0
	for _, e := range events {
		switch e.Type {
		case rundir.EventRunStarted:
			starts++
		case rundir.EventStepFinished:
			finished++
		}
	}
	if starts != 2 || finished != len(prog.Steps) {
		t.Errorf("journal: %d runs started, %d steps finished; want 2 and %d", starts, finished, len(prog.Steps))
	}
	// A torn last line, as a crash leaves it, is ignored.
	f, _ := os.OpenFile(filepath.Join(dir, rundir.JournalName), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"time":"2026-11-22T00:00:00Z","type":"step_sta`)
	f.Close()
	again, err := rundir.ReadJournal(dir)
	if err != nil || len(again) != len(events) {
		t.Errorf("torn line: %d events, %v; want %d", len(again), err, len(events))
	}
}
