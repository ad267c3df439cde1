package rundir_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/steps"
)

// TestEventConstructors: the typed events are the journal's events as
// the runner always wrote them, key for key: format 2 stays the same
// bytes.
func TestEventConstructors(t *testing.T) {
	point := time.Date(2026, 11, 22, 1, 2, 3, 400, time.FixedZone("x", 3600))
	for _, tc := range []struct {
		name      string
		got, want rundir.Event
	}{
		{"run_started", rundir.RunStart{Mode: "test", Plan: "shop", RecoveryPlan: "", Hash: "h", Steps: 18}.Event(),
			rundir.Event{Type: "run_started", Detail: map[string]string{"mode": "test", "plan": "shop", "recovery_plan": "", "hash": "h"}, Figures: map[string]float64{"steps": 18}}},
		{"run_started resumed", rundir.RunStart{Mode: "failover", Plan: "shop", RecoveryPlan: "rp", Hash: "h", Steps: 18, Resumed: true, Done: 4}.Event(),
			rundir.Event{Type: "run_started", Detail: map[string]string{"mode": "failover", "plan": "shop", "recovery_plan": "rp", "hash": "h", "resumed": "true"},
				Figures: map[string]float64{"steps": 18, "done": 4}}},
		{"run_finished", rundir.RunEnd{Result: rundir.ResultFailed, HaltedBy: "step.x", APICalls: 12, WallSeconds: 1.5}.Event(),
			rundir.Event{Type: "run_finished", Result: "failed", Detail: map[string]string{"halted_by": "step.x"}, Figures: map[string]float64{"api_calls": 12, "wall_seconds": 1.5}}},
		{"step_started", rundir.StepStarted(steps.MustParseAddr("step.x"), 2), rundir.Event{Type: "step_started", Step: steps.MustParseAddr("step.x"), Attempt: 2}},
		{"step_failed", rundir.StepFailed(steps.MustParseAddr("step.x"), 1, errors.New("boom"), true, map[string]string{"exit_code": "1"}),
			rundir.Event{Type: "step_failed", Step: steps.MustParseAddr("step.x"), Attempt: 1, Error: "boom", Retryable: true, Detail: map[string]string{"exit_code": "1"}}},
		{"step_skipped", rundir.StepSkipped(steps.MustParseAddr("step.y"), steps.MustParseAddr("step.x")),
			rundir.Event{Type: "step_skipped", Step: steps.MustParseAddr("step.y"), Result: "skipped", Detail: map[string]string{"because": "step.x"}}},
		{"step_finished ok", rundir.StepEnd{Step: steps.MustParseAddr("step.x"), Attempt: 1, Result: rundir.StatusOK, Seconds: 3, WallSeconds: 0.25}.Event(),
			rundir.Event{Type: "step_finished", Step: steps.MustParseAddr("step.x"), Attempt: 1, Result: "ok", Figures: map[string]float64{"seconds": 3, "wall_seconds": 0.25}}},
		{"step_finished failed, wall", rundir.StepEnd{Step: steps.MustParseAddr("step.x"), Attempt: 3, Result: rundir.StatusOptionalFailed, Err: errors.New("boom"),
			Detail: rundir.WithWallTiming(map[string]string{"stdout": "out"}), Seconds: 3, WallSeconds: 3}.Event(),
			rundir.Event{Type: "step_finished", Step: steps.MustParseAddr("step.x"), Attempt: 3, Result: "optional_failed", Error: "boom", Detail: map[string]string{"stdout": "out", "timing": "wall"},
				Figures: map[string]float64{"seconds": 3, "wall_seconds": 3}}},
		{"vm_ready", rundir.VMReady{VM: "web-01", IP: "10.0.0.5", Tier: "web"}.Event(steps.MustParseAddr("tier.web/vm.web-01/wait_ready")),
			rundir.Event{Type: "vm_ready", Step: steps.MustParseAddr("tier.web/vm.web-01/wait_ready"), Detail: map[string]string{"vm": "web-01", "ip": "10.0.0.5", "tier": "web"}}},
		{"point_chosen", rundir.PointChosen{Group: "app", Site: "east", Request: "latest", Replicas: 3, Point: point, Newest: point}.Event(),
			rundir.Event{Type: "point_chosen", Detail: map[string]string{"group": "app", "site": "east", "request": "latest", "replicas": "3", "point": "2026-11-22T00:02:03.0000004Z"}}},
		{"point_chosen span", rundir.PointChosen{Group: "app", Site: "east", Request: "latest", Replicas: 2, Point: point, Newest: point.Add(time.Second)}.Event(),
			rundir.Event{Type: "point_chosen", Detail: map[string]string{"group": "app", "site": "east", "request": "latest", "replicas": "2",
				"point": "2026-11-22T00:02:03.0000004Z", "newest": "2026-11-22T00:02:04.0000004Z"}}},
	} {
		got, _ := json.Marshal(tc.got)
		want, _ := json.Marshal(tc.want)
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, want)
		}
	}
}

// TestEventAccessors reads the typed events back from the drill
// fixture's journal (format 1, written by an earlier drplan).
func TestEventAccessors(t *testing.T) {
	dir := filepath.Join("..", "report", "testdata", "drill")
	events, err := rundir.ReadJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	var starts, ready, ends int
	for _, e := range events {
		switch e.Type {
		case rundir.EventRunStarted:
			rs := e.RunStart()
			if rs.Plan != "shop" || rs.Steps == 0 || rs.Resumed || !e.Starts() {
				t.Errorf("run_started: %+v", rs)
			}
			starts++
		case rundir.EventVMReady:
			if v := e.VMReady(); v.VM == "" || v.IP == "" || v.Tier == "" {
				t.Errorf("vm_ready: %+v", v)
			}
			ready++
		case rundir.EventRunFinished:
			if re := e.RunEnd(); re.Result == "" {
				t.Errorf("run_finished: %+v", re)
			}
			ends++
		case rundir.EventStepSkipped:
			if e.Because().IsZero() {
				t.Errorf("step_skipped without its cause: %+v", e)
			}
		}
	}
	if starts != 2 || ready != 3 || ends != 2 {
		t.Fatalf("%d starts, %d vm_ready, %d ends", starts, ready, ends)
	}
	if n, err := rundir.CountStarts(dir); n != starts || err != nil {
		t.Errorf("CountStarts: %d, %v; want %d", n, err, starts)
	}
	progs := rundir.Programs(dir, events)
	if len(progs) != 2 || progs[0].Mode != "test" || progs[1].Mode != "cleanup" {
		t.Fatalf("programs: %d", len(progs))
	}

	e := rundir.StepEnd{Step: steps.MustParseAddr("step.x"), Result: rundir.StatusOK, Detail: rundir.WithWallTiming(nil), Seconds: 2, WallSeconds: 0.5}.Event()
	if s, ok := e.Seconds(); !ok || s != 2 {
		t.Errorf("Seconds: %v %v", s, ok)
	}
	if s, ok := e.WallSeconds(); !ok || s != 0.5 || !rundir.WallTiming(e.Detail) {
		t.Errorf("WallSeconds: %v %v, timing %v", s, ok, e.Detail)
	}
	if _, ok := (rundir.Event{Type: rundir.EventStepFinished}).WallSeconds(); ok {
		t.Error("an event without the figure has wall seconds")
	}
	p := rundir.PointChosen{Group: "g", Site: "s", Request: "latest", Replicas: 2, Point: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}
	if got := p.Event().PointChosen(); got.Group != "g" || got.Replicas != 2 || !got.Point.Equal(p.Point) || !got.Newest.Equal(p.Point) {
		t.Errorf("point_chosen reads back as %+v", got)
	}
}

// TestRecord: the run record reads back as written, in run.json.
func TestRecord(t *testing.T) {
	dir := t.TempDir()
	if _, err := rundir.ReadRecord(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("no record: %v", err)
	}
	rec := &rundir.Record{Mode: "failover", Target: "live", Dir: "/plans/shop", Point: "latest", GroupPoints: map[string]string{"db": "2026-11-22T00:00:00Z"},
		Placeholder: "x", BootTimes: map[string]time.Duration{"web-01": time.Minute}}
	if err := rundir.WriteRecord(dir, rec); err != nil {
		t.Fatal(err)
	}
	got, err := rundir.ReadRecord(dir)
	if err != nil || !reflect.DeepEqual(got, rec) {
		t.Fatalf("read back %+v, %v", got, err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, rundir.RecordName))
	if !bytes.HasPrefix(b, []byte("{\n  \"mode\": \"failover\",")) || !bytes.HasSuffix(b, []byte("}\n")) {
		t.Fatalf("run.json:\n%s", b)
	}
}
