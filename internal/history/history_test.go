package history

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/drplan/drplan/report"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/steps"
)

// run writes a run folder: a journal with one run per mode ending in
// results (fewer results than modes: the last run was interrupted), and a
// report covering reportRuns of them with the given boot times.
func run(t *testing.T, state, id, plan, target string, modes, results []string, reportRuns int, boots map[string]float64) {
	t.Helper()
	dir := filepath.Join(RunsDir(state), id)
	j, err := rundir.OpenJournal(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	start, _ := time.Parse("20060102T150405Z", id[:16])
	for i, m := range modes {
		j.Write(rundir.Event{Time: start.Add(time.Duration(i) * time.Minute), Type: rundir.EventRunStarted, Detail: map[string]string{"mode": m, "plan": plan}})
		if i < len(results) {
			j.Write(rundir.Event{Time: start.Add(time.Duration(i)*time.Minute + 30*time.Second), Type: rundir.EventRunFinished, Result: results[i]})
		}
	}
	j.Close()
	if reportRuns == 0 {
		return
	}
	rep := &report.Report{SchemaVersion: report.SchemaVersion, RunID: id, Plan: plan, Mode: modes[0], Target: target, Result: "passed"}
	for i := range reportRuns {
		rep.Runs = append(rep.Runs, report.RunSummary{Mode: modes[i], Result: results[i]})
		if results[i] != "passed" {
			rep.Result = "failed"
		}
	}
	for vm, s := range boots {
		rep.Steps = append(rep.Steps, report.Step{Run: "test", Addr: steps.TierVM("a", vm, "wait_ready"), Kind: "wait_ready", VM: vm, Status: "ok", PlanSeconds: s})
	}
	f, err := os.Create(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := rep.WriteJSON(f); err != nil {
		t.Fatal(err)
	}
}

func TestHistory(t *testing.T) {
	state := t.TempDir()
	drill := []string{"test", "cleanup"}
	run(t, state, "20261101T000000Z-0001", "shop", "sim", drill, []string{"passed", "passed"}, 2, map[string]float64{"web-01": 40, "db-01": 100})
	run(t, state, "20261102T000000Z-0002", "shop", "sim", drill, []string{"passed", "passed"}, 2, map[string]float64{"web-01": 50})
	run(t, state, "20261103T000000Z-0003", "shop", "live", drill, []string{"passed", "passed"}, 2, map[string]float64{"web-01": 400})
	run(t, state, "20261104T000000Z-0004", "other", "sim", drill, []string{"passed", "passed"}, 2, map[string]float64{"web-01": 999})
	run(t, state, "20261105T000000Z-0005", "shop", "sim", drill, []string{"passed", "passed"}, 2, map[string]float64{"web-01": 90})
	// The test run failed, its cleanup passed: the drill failed.
	run(t, state, "20261106T000000Z-0006", "shop", "sim", drill, []string{"failed", "passed"}, 0, nil)
	// A cleanup that died after the report of the test run was written:
	// the report is out of date and the run interrupted.
	run(t, state, "20261107T000000Z-0007", "shop", "sim", drill, []string{"passed"}, 1, map[string]float64{"web-01": 10})
	os.MkdirAll(filepath.Join(RunsDir(state), "not-a-run"), 0o755)

	runs, err := List(state)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 7 || runs[0].ID != "20261101T000000Z-0001" || runs[6].ID != "20261107T000000Z-0007" {
		t.Fatalf("want the 7 runs oldest first, got %d: %v", len(runs), runs)
	}
	if r := runs[5]; r.Result != "failed" || r.Report != nil {
		t.Errorf("a drill whose test failed: result %s, report %v", r.Result, r.Report)
	}
	if r := runs[6]; r.Result != "interrupted" || r.Report != nil || len(r.Modes) != 2 {
		t.Errorf("a drill whose cleanup died: result %s, modes %v, report %v; the report covers only the test", r.Result, r.Modes, r.Report)
	}
	if r := runs[0]; r.Plan != "shop" || r.Target() != "sim" || r.Result != "passed" || !r.IsDrill() {
		t.Errorf("first run: %+v", r)
	}

	last, passed := LastDrill(runs, "shop")
	if last == nil || last.ID != "20261107T000000Z-0007" || passed == nil || passed.ID != "20261105T000000Z-0005" {
		t.Errorf("last drill %v, last passed %v", last, passed)
	}
	if last, passed := LastDrill(runs, "nothing"); last != nil || passed != nil {
		t.Errorf("a plan never drilled has drills %v %v", last, passed)
	}

	boots := BootTimes(runs, "shop", "sim")
	// web-01: 90, 50, 40 from the shop's simulated drills (the live one,
	// the other plan's and the outdated report do not count): median 50.
	if boots["web-01"] != 50*time.Second || boots["db-01"] != 100*time.Second || len(boots) != 2 {
		t.Errorf("boot times %v; want web-01 50s (median of 90, 50, 40) and db-01 1m40s", boots)
	}
	if live := BootTimes(runs, "shop", "live"); live["web-01"] != 400*time.Second {
		t.Errorf("live boot times %v", live)
	}
	if r := Latest(runs, "test"); r == nil || r.ID != "20261107T000000Z-0007" {
		t.Errorf("latest test run %v", r)
	}
}

func TestListWithoutStateDir(t *testing.T) {
	runs, err := List(filepath.Join(t.TempDir(), "none"))
	if err != nil || len(runs) != 0 {
		t.Errorf("a missing state directory: %v, %v", runs, err)
	}
}
