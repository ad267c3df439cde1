package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/steps"
)

// TestBuildCleanupRunAgain: a cleanup killed halfway and run again to the
// end leaves the run passed; killed and not run again, interrupted.
func TestBuildCleanupRunAgain(t *testing.T) {
	test := &steps.Program{Mode: "test", Steps: []*steps.Step{{Addr: steps.MustParseAddr("tier.a/vm.x/copy"), Kind: steps.Copy, Tier: "a", VM: "x"}}}
	cleanup := &steps.Program{Mode: "cleanup", Steps: []*steps.Step{{Addr: steps.MustParseAddr("tier.a/vm.x/destroy"), Kind: steps.Destroy, Tier: "a", VM: "x"}}}
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	run := func(mode string, s int) []rundir.Event {
		return []rundir.Event{{Time: at(s), Type: rundir.EventRunStarted, Detail: map[string]string{"mode": mode}}}
	}
	step := func(addr string, s int, finish bool) []rundir.Event {
		ev := []rundir.Event{{Time: at(s), Type: rundir.EventStepStarted, Step: steps.MustParseAddr(addr), Attempt: 1}}
		if finish {
			ev = append(ev, rundir.Event{Time: at(s + 1), Type: rundir.EventStepFinished, Step: steps.MustParseAddr(addr), Result: rundir.StatusOK})
		}
		return ev
	}
	end := func(s int) rundir.Event {
		return rundir.Event{Time: at(s), Type: rundir.EventRunFinished, Result: "passed"}
	}

	var events []rundir.Event
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
		if s.Addr.String() == "step.smoke" {
			if s.Status != "skipped" || s.StartSeconds != 0 || s.EndSeconds < 600 || s.Error != "skipped because tier.web/vm.web-03/wait_ready failed" {
				t.Errorf("step.smoke: %+v; want skipped when web-03's wait failed, past 10m", s)
			}
			return
		}
	}
	t.Fatal("no step.smoke in the report")
}

// TestTiersNotFinished: a tier that started and never finished is "not
// done", one that never started is "not started", in the JSON, the
// markdown and the HTML tiers table; neither is ever "0s".
func TestTiersNotFinished(t *testing.T) {
	prog := &steps.Program{Mode: "test", Estimate: steps.Estimate{Tiers: []steps.TierEstimate{{Tier: "db", VMs: 1}, {Tier: "app", VMs: 3}, {Tier: "web", VMs: 2}}},
		Steps: []*steps.Step{{Addr: steps.MustParseAddr("tier.db/start"), Kind: steps.Barrier}, {Addr: steps.MustParseAddr("tier.db/done"), Kind: steps.Barrier},
			{Addr: steps.MustParseAddr("tier.app/start"), Kind: steps.Barrier}, {Addr: steps.MustParseAddr("tier.app/done"), Kind: steps.Barrier},
			{Addr: steps.MustParseAddr("tier.web/start"), Kind: steps.Barrier}, {Addr: steps.MustParseAddr("tier.web/done"), Kind: steps.Barrier}}}
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	ok := func(addr string, s int) rundir.Event {
		return rundir.Event{Time: at(s), Type: rundir.EventStepFinished, Step: steps.MustParseAddr(addr), Result: rundir.StatusOK}
	}
	events := []rundir.Event{{Time: at(0), Type: rundir.EventRunStarted, Detail: map[string]string{"mode": "test"}},
		ok("tier.db/start", 1), ok("tier.db/done", 200), ok("tier.app/start", 201),
		{Time: at(900), Type: rundir.EventRunFinished, Result: "failed"}}
	r := Build(Input{Programs: []*steps.Program{prog}, Events: events})
	want := []Tier{{Tier: "db", Status: TierDone, StartSeconds: 1, DoneSeconds: 200, VMs: 1},
		{Tier: "app", Status: TierNotDone, StartSeconds: 201, VMs: 3}, {Tier: "web", Status: TierNotStarted, VMs: 2}}
	if fmt.Sprint(r.RTO.Tiers) != fmt.Sprint(want) {
		t.Errorf("tiers %+v, want %+v", r.RTO.Tiers, want)
	}

	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	back, err := Read(&js)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(back.RTO.Tiers) != fmt.Sprint(want) {
		t.Errorf("tiers read back %+v", back.RTO.Tiers)
	}
	if strings.Contains(js.String(), `"done_seconds": 0`) || strings.Contains(js.String(), `"start_seconds": 0`) {
		t.Errorf("JSON gives a tier that did not get there a time:\n%s", js.String())
	}
	// A report from before tiers had a status reads as its figures say.
	old, err := Read(strings.NewReader(`{"schema_version": 1, "rto": {"tiers": [{"tier": "a", "start_seconds": 3, "done_seconds": 9}, {"tier": "b", "start_seconds": 9, "done_seconds": 0}, {"tier": "c", "start_seconds": 0, "done_seconds": 0}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s := []string{old.RTO.Tiers[0].Status, old.RTO.Tiers[1].Status, old.RTO.Tiers[2].Status}; fmt.Sprint(s) != "[done not_done not_started]" {
		t.Errorf("statuses of an old report: %v", s)
	}

	var md bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, row := range []string{"| db | 1 | 1s | 3m20s |", "| app | 3 | 3m21s | not done |", "| web | 2 | not started | — |"} {
		if !strings.Contains(md.String(), row) {
			t.Errorf("markdown lacks %q:\n%s", row, md.String())
		}
	}
	var h bytes.Buffer
	if err := r.WriteHTML(&h); err != nil {
		t.Fatal(err)
	}
	page := h.String()
	i := strings.Index(page, `<section id="tiers">`)
	if i < 0 {
		t.Fatal("no tiers section in the HTML")
	}
	tiers := page[i:]
	tiers = tiers[:strings.Index(tiers, "</section>")]
	for _, row := range []string{`<td>app</td><td class="num">3</td><td class="num">3m21s</td><td class="num">not done</td>`,
		`<td>web</td><td class="num">2</td><td class="num">not started</td><td class="num">—</td>`} {
		if !strings.Contains(tiers, row) {
			t.Errorf("HTML tiers table lacks %s:\n%s", row, tiers)
		}
	}
	if strings.Contains(tiers, ">0s<") {
		t.Errorf("HTML tiers table says 0s:\n%s", tiers)
	}
}
