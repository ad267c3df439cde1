package command

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/drplan/drplan/report"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/runner"
	"github.com/drplan/drplan/steps"
)

// progress shows a run as it goes: a line when a tier starts and when it
// is done (with how many VMs came up), and a line for every failure and
// custom step. What is under way (VMs booting, tiers, custom steps) is
// followed too: on a terminal it is a status area redrawn in place under
// those lines (progress_term.go) at least once a second, with how long
// each item has taken; elsewhere (a pipe, a CI log) the lines stay plain
// and, while something is being waited for, a "still waiting for N VMs"
// line is added every `every` of wall time.
type progress struct {
	w     io.Writer
	tty   bool // a terminal: the status area is drawn (progress_term.go)
	color bool // verdicts in colour
	mu    sync.Mutex
	prog  map[string]*steps.Program // by mode
	cur   *steps.Program
	// done are the steps an earlier attempt of a resumed run finished:
	// its VMs that came up then count as ready.
	done  map[steps.Addr]bool
	start time.Time
	ready map[string]int
	total map[string]int
	mode  string // of the run being shown
	// redact scrubs the plan's sensitive values from every line: errors
	// quote what commands printed.
	redact func(string) string

	// planNow is the run's clock (virtual in a simulated run); nil: the
	// latest event's time stands for now. virtual says it jumps: then a
	// custom step of wall-clock work (runner.WallWork) is timed in wall
	// time.
	planNow func() time.Time
	virtual bool
	// wall is the wall clock; newTicker makes the ticker that redraws the
	// status area, or prints the "still waiting" line; onTick, if set, is
	// called when a tick has been handled. Tests replace them.
	wall      func() time.Time
	newTicker func(time.Duration) (<-chan time.Time, func())
	onTick    func()
	// every is how often, off a terminal, the "still waiting" line is
	// printed while something is being waited for.
	every time.Duration

	running   bool   // between run_started and the run's end
	stopTick  func() // stops the current run's ticker
	wallStart time.Time
	last      time.Time                  // the latest event's time
	steps     map[steps.Addr]*steps.Step // the current program's, by address
	tiers     []string                   // started and not done, in order
	tierAt    map[string]time.Time       // when each of tiers started
	waits     map[steps.Addr]*underWay   // steps under way, by address
	prompts   int                        // prompt steps under way
	shown     int                        // lines of the status area on screen
	area      string                     // and what they say
}

// underWay is a step that has started and not finished.
type underWay struct {
	step *steps.Step
	plan time.Time // when it started, on the run's clock
	wall time.Time // and on the wall clock
}

// defaultStillEvery is how often the "still waiting" line is printed off
// a terminal.
const defaultStillEvery = 30 * time.Second

func newProgress(w io.Writer, p *steps.Program, redact func(string) string) *progress {
	_, tty := terminalWidth(w)
	return &progress{w: w, tty: tty, prog: map[string]*steps.Program{}, cur: p, redact: redact,
		wall: time.Now, newTicker: wallTicker, every: defaultStillEvery}
}

// wallTicker is a time.Ticker.
func wallTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// planSeconds is how long after the run's start t is, in plan time: the
// journal's times are the run clock's (virtual in a simulated run), so
// the difference is plan time as it stands.
func (pr *progress) planSeconds(t time.Time) string {
	return steps.Duration(t.Sub(pr.start).Round(time.Second)).String()
}

// line prints a line that stays; on a terminal the status area is
// redrawn under it.
func (pr *progress) line(format string, args ...any) {
	s := pr.redact(fmt.Sprintf(format, args...))
	if !pr.tty {
		fmt.Fprintln(pr.w, s)
		return
	}
	pr.redraw(s)
}

// observe is the runner's observer.
func (pr *progress) observe(e rundir.Event) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if e.Time.After(pr.last) {
		pr.last = e.Time
	}
	pr.follow(e)
	if pr.tty && pr.prompts > 0 && pr.shown > 0 {
		pr.redraw("") // a prompt is asked on the terminal: the area stands aside
	}
	switch e.Type {
	case rundir.EventRunStarted:
		pr.start = e.Time
		pr.mode = e.RunStart().Mode
		if pr.mode != pr.cur.Mode {
			pr.line("Run %s:", pr.mode)
		}
		pr.ready, pr.total = map[string]int{}, map[string]int{}
		for _, t := range pr.cur.Estimate.Tiers {
			pr.total[t.Tier] = t.VMs
		}
		for _, s := range pr.cur.Steps {
			if s.Kind == steps.WaitReady && pr.done[s.Addr] {
				pr.ready[s.Tier]++
			}
		}
		pr.begin()
		return
	case rundir.EventVMReady:
		pr.ready[e.VMReady().Tier]++
		return
	case rundir.EventStepFinished:
	case rundir.EventStepFailed:
		if e.Retryable {
			pr.line("  %s: %s; trying again", e.Step, e.Error)
		}
		return
	case rundir.EventStepSkipped:
		pr.line("  skipped %s (after %s failed)", e.Step, e.Because())
		return
	case rundir.EventRunFinished:
		pr.finish()
		pr.line("  %s at %s", paintResult(pr.color, e.Result), pr.planSeconds(e.Time))
		return
	default:
		return
	}
	switch {
	case e.Step == steps.TierStart(e.Step.Name):
		pr.line("  tier.%s started at %s", e.Step.Name, pr.planSeconds(e.Time))
	case e.Step == steps.TierDone(e.Step.Name):
		t := e.Step.Name
		if pr.mode == "cleanup" {
			pr.line("  tier.%s cleaned up at %s", t, pr.planSeconds(e.Time))
		} else {
			pr.line("  tier.%s done at %s: %d/%d VMs ready", t, pr.planSeconds(e.Time), pr.ready[t], pr.total[t])
		}
	case e.Result == rundir.StatusFailed || e.Result == rundir.StatusOptionalFailed:
		pr.line("  %s FAILED: %s", e.Step, e.Error)
	case e.Step.Scope == steps.ScopeStep:
		pr.line("  %s %s at %s", e.Step, e.Result, pr.planSeconds(e.Time))
	}
}

// follow keeps track of what is under way: the tiers started and not
// done, and the steps started and not finished.
func (pr *progress) follow(e rundir.Event) {
	switch e.Type {
	case rundir.EventRunStarted:
		pr.steps = map[steps.Addr]*steps.Step{}
		for _, s := range pr.cur.Steps {
			pr.steps[s.Addr] = s
		}
		pr.tiers, pr.tierAt, pr.waits, pr.prompts = nil, map[string]time.Time{}, map[steps.Addr]*underWay{}, 0
	case rundir.EventStepStarted:
		s := pr.steps[e.Step]
		if s == nil || pr.waits[e.Step] != nil {
			return // a retry is timed from the first attempt
		}
		if s.Kind == steps.Barrier {
			switch t := e.Step.Name; e.Step {
			case steps.TierStart(t):
				pr.tiers = append(pr.tiers, t)
				pr.tierAt[t] = e.Time
			case steps.TierDone(t):
				pr.tiers = without(pr.tiers, t)
			}
			return
		}
		pr.waits[e.Step] = &underWay{step: s, plan: e.Time, wall: pr.wall()}
		if s.Args.Prompt != nil {
			pr.prompts++
		}
	case rundir.EventStepFinished, rundir.EventStepSkipped:
		if w := pr.waits[e.Step]; w != nil {
			delete(pr.waits, e.Step)
			if w.step.Args.Prompt != nil {
				pr.prompts--
			}
		}
	}
}

func without(list []string, s string) []string {
	out := list[:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// begin starts a run's ticker: on a terminal it redraws the status area
// every second; elsewhere it prints the "still waiting" line.
func (pr *progress) begin() {
	pr.stopTicker()
	pr.running, pr.wallStart = true, pr.wall()
	every := pr.every
	if pr.tty {
		every = redrawEvery
	}
	if every <= 0 || pr.newTicker == nil {
		return
	}
	c, stop := pr.newTicker(every)
	done := make(chan struct{})
	pr.stopTick = func() { stop(); close(done) }
	go func() {
		for {
			select {
			case <-done:
				return
			case <-c:
				pr.tick()
			}
		}
	}()
}

// finish ends the view of a run: its ticker stops and the status area
// goes.
func (pr *progress) finish() {
	pr.stopTicker()
	pr.running, pr.waits, pr.tiers, pr.prompts = false, nil, nil, 0
	if pr.tty {
		pr.redraw("")
	}
}

func (pr *progress) stopTicker() {
	if pr.stopTick != nil {
		pr.stopTick()
		pr.stopTick = nil
	}
}

// end is finish for when a run has returned, with or without its
// run_finished event.
func (pr *progress) end() {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.finish()
}

// tick is the ticker's: the status area is redrawn with the times as
// they stand, or the "still waiting" line printed.
func (pr *progress) tick() {
	pr.mu.Lock()
	if pr.running {
		if pr.tty {
			pr.redraw("")
		} else if s := pr.stillWaiting(); s != "" {
			fmt.Fprintln(pr.w, pr.redact(s))
		}
	}
	pr.mu.Unlock()
	if pr.onTick != nil {
		pr.onTick()
	}
}

// now is the run's time as it stands: its clock's, or the latest event's.
func (pr *progress) now() time.Time {
	t := pr.last
	if pr.planNow != nil {
		if n := pr.planNow(); n.After(t) {
			t = n
		}
	}
	return t
}

// elapsed is how long a step has been under way: in plan time, or wall
// time for wall-clock work on a virtual clock.
func (pr *progress) elapsed(w *underWay) time.Duration {
	if runner.WallWork(w.step, pr.virtual) {
		return pr.wall().Sub(w.wall)
	}
	return pr.now().Sub(w.plan)
}

// clock shows a duration as the progress lines do.
func clockText(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return steps.Duration(d.Round(time.Second)).String()
}

// sinceStart is "[4m30s, wall 12s]": the plan and wall time since the
// run started.
func (pr *progress) sinceStart() string {
	return fmt.Sprintf("[%s, wall %s]", clockText(pr.now().Sub(pr.start)), clockText(pr.wall().Sub(pr.wallStart)))
}

// underWay lists the steps under way, the longest first.
func (pr *progress) underWay() []*underWay {
	out := make([]*underWay, 0, len(pr.waits))
	for _, w := range pr.waits {
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].plan.Equal(out[j].plan) {
			return out[i].plan.Before(out[j].plan)
		}
		return out[i].step.Addr.String() < out[j].step.Addr.String()
	})
	return out
}

// stillWaiting is the line printed off a terminal while something is
// under way: "  still waiting for 2 VMs [4m30s, wall 1m0s]: web-01,
// web-02"; "" when nothing is.
func (pr *progress) stillWaiting() string {
	ws := pr.underWay()
	if len(ws) == 0 {
		return ""
	}
	var names []string
	seen := map[string]bool{}
	vms := 0
	for _, w := range ws {
		n := w.step.VM
		if n != "" {
			if seen[n] {
				continue
			}
			seen[n] = true
			vms++
		} else {
			n = w.step.Addr.String()
		}
		names = append(names, n)
	}
	what := counted(vms, "VM")
	if others := len(names) - vms; others > 0 {
		what += " and " + counted(others, "step")
		if vms == 0 {
			what = counted(others, "step")
		}
	}
	if vms == 0 && len(names) == 1 {
		what, names = names[0], nil
	}
	s := fmt.Sprintf("  still waiting for %s %s", what, pr.sinceStart())
	if len(names) > 0 {
		const most = 5
		if len(names) > most {
			names = append(names[:most], fmt.Sprintf("and %d more", len(names)-most))
		}
		s += ": " + strings.Join(names, ", ")
	}
	return s
}

// counted is "1 VM", "2 VMs".
func counted(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// doing is what a step under way is doing, as the status area says it:
// "web-02 booting…".
func doing(s *steps.Step) string {
	verb := map[steps.Kind]string{
		steps.Copy: "copying", steps.Promote: "promoting", steps.Connect: "connecting", steps.Customize: "customizing",
		steps.PowerOn: "powering on", steps.WaitReady: "booting", steps.Settle: "settling", steps.PowerOff: "powering off",
		steps.Shutdown: "shutting down", steps.Destroy: "destroying", steps.Sync: "syncing", steps.Reverse: "reversing",
		steps.Suspend: "suspending", steps.Resume: "resuming", steps.VerifyGone: "verifying",
	}[s.Kind]
	if verb == "" {
		verb = "running"
	}
	switch {
	case s.VM != "":
		return s.VM + " " + verb + "…"
	case s.Group != "":
		return "group " + s.Group + " " + verb + "…"
	}
	return s.Addr.String() + " " + verb + "…"
}

// ANSI colours for verdicts.
const (
	ansiReset = "\x1b[0m"
	ansiGreen = "\x1b[1;32m"
	ansiRed   = "\x1b[1;31m"
	ansiAmber = "\x1b[1;33m"
)

// paintResult colours a verdict ("passed", "FAILED", …) when color is set:
// green when it passed, yellow when interrupted, red otherwise.
func paintResult(color bool, result string) string {
	if !color {
		return result
	}
	code := ansiRed
	switch strings.ToLower(result) {
	case "passed":
		code = ansiGreen
	case "interrupted":
		code = ansiAmber
	}
	return code + result + ansiReset
}

// writeSummaryTo prints a drill's outcome for people, with the wall time
// its runs took (their run_finished records' wall_seconds; took, the
// command's own, when no run finished); color paints the verdict.
func writeSummaryTo(w io.Writer, r *report.Report, took time.Duration, color bool) {
	wall := r.WallSeconds
	if wall <= 0 {
		wall = took.Seconds()
	}
	fmt.Fprintf(w, "\nDrill %s: %s (wall time %.1fs)\n", r.RunID, paintResult(color, strings.ToUpper(r.Result)), wall)
	for _, c := range r.Checks {
		mark := "ok  "
		if !c.Passed {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %-26s %s\n", mark, c.Name, c.Detail)
	}
	if len(r.RTO.Tiers) > 0 {
		var tiers []string
		for _, t := range r.RTO.Tiers {
			switch {
			case t.Done():
				tiers = append(tiers, t.Tier+" "+secs(t.DoneSeconds))
			case t.Started():
				tiers = append(tiers, t.Tier+" not done")
			default:
				tiers = append(tiers, t.Tier+" not started")
			}
		}
		fmt.Fprintf(w, "  tiers: %s\n", strings.Join(tiers, "; "))
	}
	fmt.Fprintf(w, "  API calls: %s\n", r.CallsSummary())
}
