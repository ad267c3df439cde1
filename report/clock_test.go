package report

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/steps"
)

// planTimeRun is a simulated recovery run as the runner journals it on a
// virtual clock: event times are plan time, the first steps start at the
// run's very first instant, and each step_finished carries the wall time
// the step really took. One tier of one VM that copies at 0s (2m), powers
// on at 2m (10s) and is ready at 5m10s; then an http probe of a real host
// (timing = "wall") that took wallProbe seconds of wall time and no plan
// time at 5m10s; the run ends at 5m10s after 1.5s of wall time. No RTO
// target, so that the timeline's axis is the run's plan time.
func planTimeRun(wallProbe float64) ([]*steps.Program, []rundir.Event) {
	prog := &steps.Program{Plan: "shop", RecoveryPlan: "shop", Mode: "test",
		Estimate: steps.Estimate{Total: steps.Duration(5 * time.Minute), Tiers: []steps.TierEstimate{{Tier: "app", VMs: 1}}},
		Steps: []*steps.Step{
			{Addr: steps.MustParseAddr("tier.app/start"), Kind: steps.Barrier, Tier: "app"},
			{Addr: steps.MustParseAddr("tier.app/vm.a/copy"), Kind: steps.Copy, Phase: "storage", Tier: "app", VM: "a", Site: "dr"},
			{Addr: steps.MustParseAddr("tier.app/vm.a/power_on"), Kind: steps.PowerOn, Phase: "power_on", Tier: "app", VM: "a", Site: "dr"},
			{Addr: steps.MustParseAddr("tier.app/vm.a/wait_ready"), Kind: steps.WaitReady, Phase: "boot", Tier: "app", VM: "a", Site: "dr"},
			{Addr: steps.MustParseAddr("tier.app/done"), Kind: steps.Barrier, Tier: "app"},
			{Addr: steps.MustParseAddr("step.probe"), Kind: steps.Custom, Phase: "custom"},
		}}
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	var ev []rundir.Event
	add := func(e rundir.Event) { ev = append(ev, e) }
	step := func(addr string, start, end, wall float64, detail map[string]string) {
		add(rundir.Event{Time: at(start), Type: rundir.EventStepStarted, Step: steps.MustParseAddr(addr), Attempt: 1})
		add(rundir.Event{Time: at(end), Type: rundir.EventStepFinished, Step: steps.MustParseAddr(addr), Attempt: 1, Result: rundir.StatusOK, Detail: detail,
			Figures: map[string]float64{"seconds": end - start, "wall_seconds": wall}})
	}
	add(rundir.Event{Time: at(0), Type: rundir.EventRunStarted, Detail: map[string]string{"mode": "test", "plan": "shop", "recovery_plan": "shop"},
		Figures: map[string]float64{"steps": 6}})
	step("tier.app/start", 0, 0, 0.0001, nil)
	step("tier.app/vm.a/copy", 0, 120, 0.4, map[string]string{"point": "2026-11-22T09:59:30Z", "point_age_seconds": "30.000"})
	step("tier.app/vm.a/power_on", 120, 130, 0.05, nil)
	step("tier.app/vm.a/wait_ready", 130, 310, 0.9, map[string]string{"ip": "10.0.0.5"})
	step("tier.app/done", 310, 310, 0.0001, nil)
	step("step.probe", 310, 310, wallProbe, map[string]string{"timing": "wall"})
	add(rundir.Event{Time: at(310), Type: rundir.EventRunFinished, Result: "passed", Figures: map[string]float64{"api_calls": 9, "wall_seconds": 1.5 + wallProbe}})
	prog.Groups = []steps.Group{{Name: "app", RPO: steps.Duration(15 * time.Minute)}}
	for _, s := range prog.Steps {
		if s.VM != "" {
			s.Group = "app"
		}
	}
	return []*steps.Program{prog}, ev
}

// renderAll renders a report in every format, HTML included.
func renderAll(t *testing.T, r *Report) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range []Format{JSON, HTML, Markdown, JUnit} {
		var b bytes.Buffer
		if err := r.Write(&b, f); err != nil {
			t.Fatal(err)
		}
		out[string(f)] = b.String()
	}
	return out
}

func stepOf(t *testing.T, r *Report, addr string) Step {
	t.Helper()
	for _, s := range r.Steps {
		if s.Addr.String() == addr {
			return s
		}
	}
	t.Fatalf("no step %s in the report", addr)
	return Step{}
}

// TestWallTimedStep: an http probe of a real host that took 3 s of wall
// time and no plan time in a simulated run shows as 3s in Markdown, HTML
// and JUnit, and does not move the timeline's end, however long it took.
func TestWallTimedStep(t *testing.T) {
	programs, events := planTimeRun(3)
	r := Build(Input{Target: "sim", Programs: programs, Events: events})
	probe := stepOf(t, r, "step.probe")
	if !probe.WallTimed() || probe.PlanSeconds != 0 || probe.WallSeconds != 3 || probe.StartSeconds != 310 {
		t.Fatalf("step.probe %+v: want wall-timed, 0 plan seconds, 3 wall seconds, at 5m10s", probe)
	}
	out := renderAll(t, r)

	if row := "| step.probe | ✅ ok |"; strings.Contains(out["md"], row) {
		t.Errorf("markdown lists the ok probe as notable:\n%s", out["md"])
	}
	if row := "| test | `step.probe` | custom | ok | 5m10s | 3s (wall) | 3.00s | 1 |"; !strings.Contains(out["md"], row) {
		t.Errorf("markdown lacks the probe's row %q:\n%s", row, out["md"])
	}
	if !strings.Contains(out["html"], `<td class="num">5m10s</td><td class="num">3s (wall)</td><td class="num">3.0s</td>`) {
		t.Errorf("HTML steps table does not show the probe as 3s (wall)")
	}
	var doc struct {
		Suites []struct {
			Name  string `xml:"name,attr"`
			Time  string `xml:"time,attr"`
			Cases []struct {
				Name string `xml:"name,attr"`
				Time string `xml:"time,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(out["junit"]), &doc); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			if c.Name == "step.probe" {
				found = true
				if c.Time != "3.000" || s.Time != "3.000" {
					t.Errorf("JUnit: probe's time %s in suite of time %s, want 3.000 (its wall time)", c.Time, s.Time)
				}
			}
		}
	}
	if !found {
		t.Errorf("no step.probe testcase in the JUnit:\n%s", out["junit"])
	}

	// The timeline's axis is the run's plan time: 5m10s and a margin, its
	// last tick at 5m, whether the probe took 3 s or an hour of wall time.
	tl := r.timeline()
	programs, events = planTimeRun(3600)
	long := Build(Input{Target: "sim", Programs: programs, Events: events})
	ltl := long.timeline()
	if last, llast := tl.Ticks[len(tl.Ticks)-1], ltl.Ticks[len(ltl.Ticks)-1]; last != llast || last.Label != "5m" {
		t.Errorf("the axis ends at tick %+v with a 3s probe, %+v with an hour's; want 5m both", last, llast)
	}
	for _, row := range ltl.Rows {
		for _, b := range row.Bars {
			if b.X+b.W > ltl.Right {
				t.Errorf("bar %q runs past the axis: x %.1f + w %.1f > %.1f", b.Title, b.X, b.W, ltl.Right)
			}
			if row.Name == "step.probe" && (!b.Wall || b.W > 3 || !strings.Contains(b.Title, "1h (wall)")) {
				t.Errorf("the probe's bar %+v: want a wall-timed marker at most 3 wide, titled with its wall time", b)
			}
		}
	}
	if !strings.Contains(out["html"], `wall-timed`) {
		t.Errorf("HTML draws no wall-timed bar")
	}

	// The VM's first step started at plan 0: it ran, and says so.
	cp := stepOf(t, r, "tier.app/vm.a/copy")
	if !cp.Ran() || stepTook(cp) != "2m" {
		t.Errorf("copy at plan 0: %+v ran %v took %q; want ran, 2m", cp, cp.Ran(), stepTook(cp))
	}
	if !strings.Contains(out["md"], "| test | `tier.app/vm.a/copy` | storage | ok | 0s | 2m | 0.40s | 1 |") {
		t.Errorf("markdown does not show the copy that started at 0s:\n%s", out["md"])
	}
}

// TestPlanTimeJournal: a journal on the run clock gives the report its
// figures as they stand, and no format speaks of a time scale.
func TestPlanTimeJournal(t *testing.T) {
	programs, events := planTimeRun(3)
	plain := Build(Input{Target: "sim", Programs: programs, Events: events})

	// The figures are the journal's, unscaled.
	if plain.RTO.AchievedSeconds != 310 || plain.RTO.EstimateSeconds != 300 || !plain.RTO.Met {
		t.Errorf("RTO %+v, want 310s achieved against an estimate of 300s, met", plain.RTO)
	}
	if len(plain.RPO) != 1 || plain.RPO[0].AchievedSeconds != 30 {
		t.Errorf("RPO %+v, want 30s", plain.RPO)
	}
	if len(plain.VMs) != 1 || plain.VMs[0].StartSeconds != 0 || plain.VMs[0].ReadySeconds != 310 || plain.VMs[0].PlanSeconds != 310 || plain.VMs[0].Status != "ready" {
		t.Errorf("VMs %+v, want a ready from 0s to 5m10s", plain.VMs)
	}
	if w := stepOf(t, plain, "tier.app/vm.a/wait_ready"); w.PlanSeconds != 180 || w.WallSeconds != 0.9 {
		t.Errorf("wait_ready %+v, want 180 plan seconds, 0.9 wall", w)
	}
	if len(plain.Runs) != 1 || plain.Runs[0].PlanSeconds != 310 || plain.Runs[0].WallSeconds != 4.5 || plain.WallSeconds != 4.5 {
		t.Errorf("runs %+v, wall %v; want 310 plan seconds, 4.5 wall", plain.Runs, plain.WallSeconds)
	}

	a := renderAll(t, plain)
	for f, got := range a {
		for _, word := range []string{"time_scale", "time scale", "÷"} {
			if strings.Contains(got, word) {
				t.Errorf("%s says %q", f, word)
			}
		}
	}
	if !strings.Contains(a["md"], "5m10s of plan time in 4.5s wall") {
		t.Errorf("markdown summary does not give plan and wall time:\n%s", a["md"])
	}
}
