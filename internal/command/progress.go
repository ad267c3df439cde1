package command

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/drplan/drplan/report"
	"github.com/drplan/drplan/runner"
	"github.com/drplan/drplan/steps"
)

// progress shows a run as it goes: a line when a tier starts and when it
// is done (with how many VMs came up), and a line for every failure and
// custom step. On a terminal the current tier's count is redrawn in place.
type progress struct {
	w     io.Writer
	tty   bool
	mu    sync.Mutex
	prog  map[string]*steps.Program // by mode
	cur   *steps.Program
	start time.Time
	ready map[string]int
	total map[string]int
	live  bool   // a status line is on screen
	mode  string // of the run being shown
	// redact scrubs the plan's sensitive values from every line: errors
	// quote what commands printed.
	redact func(string) string
}

func newProgress(w io.Writer, p *steps.Program, redact func(string) string) *progress {
	return &progress{w: w, tty: isTerminal(w), prog: map[string]*steps.Program{}, cur: p, redact: redact}
}

// planSeconds is how long after the run's start t is, in plan time: the
// journal's times are the run clock's (virtual in a simulated run), so
// the difference is plan time as it stands.
func (pr *progress) planSeconds(t time.Time) string {
	return steps.Duration(t.Sub(pr.start).Round(time.Second)).String()
}

func (pr *progress) line(format string, args ...any) {
	if pr.live {
		fmt.Fprint(pr.w, "\r\x1b[K")
		pr.live = false
	}
	fmt.Fprintln(pr.w, pr.redact(fmt.Sprintf(format, args...)))
}

// observe is the runner's observer.
func (pr *progress) observe(e runner.Event) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	switch e.Type {
	case runner.EventRunStarted:
		pr.start = e.Time
		pr.mode = e.Detail["mode"]
		if pr.mode != pr.cur.Mode {
			pr.line("Run %s:", pr.mode)
		}
		pr.ready, pr.total = map[string]int{}, map[string]int{}
		for _, t := range pr.cur.Estimate.Tiers {
			pr.total[t.Tier] = t.VMs
		}
		return
	case runner.EventVMReady:
		t := e.Detail["tier"]
		pr.ready[t]++
		if pr.tty {
			fmt.Fprintf(pr.w, "\r\x1b[K  tier %s: %d/%d VMs ready", t, pr.ready[t], pr.total[t])
			pr.live = true
		}
		return
	case runner.EventStepFinished:
	case runner.EventStepFailed:
		if e.Retryable {
			pr.line("  %s: %s; trying again", e.Step, e.Error)
		}
		return
	case runner.EventStepSkipped:
		pr.line("  skipped %s (after %s failed)", e.Step, e.Detail["because"])
		return
	case runner.EventRunFinished:
		pr.line("  %s at %s", e.Result, pr.planSeconds(e.Time))
		return
	default:
		return
	}
	switch {
	case strings.HasSuffix(e.Step, "/start") && strings.HasPrefix(e.Step, "tier."):
		pr.line("  %s started at %s", strings.TrimSuffix(e.Step, "/start"), pr.planSeconds(e.Time))
	case strings.HasSuffix(e.Step, "/done") && strings.HasPrefix(e.Step, "tier."):
		t := strings.TrimSuffix(strings.TrimPrefix(e.Step, "tier."), "/done")
		if pr.mode == "cleanup" {
			pr.line("  tier.%s cleaned up at %s", t, pr.planSeconds(e.Time))
		} else {
			pr.line("  tier.%s done at %s: %d/%d VMs ready", t, pr.planSeconds(e.Time), pr.ready[t], pr.total[t])
		}
	case e.Result == runner.StatusFailed || e.Result == runner.StatusOptionalFailed:
		pr.line("  %s FAILED: %s", e.Step, e.Error)
	case strings.HasPrefix(e.Step, "step."):
		pr.line("  %s %s at %s", e.Step, e.Result, pr.planSeconds(e.Time))
	}
}

// writeSummaryTo prints a drill's outcome for people, with the wall time
// its runs took (their run_finished records' wall_seconds; took, the
// command's own, when no run finished).
func writeSummaryTo(w io.Writer, r *report.Report, took time.Duration) {
	wall := r.WallSeconds
	if wall <= 0 {
		wall = took.Seconds()
	}
	fmt.Fprintf(w, "\nDrill %s: %s (wall time %.1fs)\n", r.RunID, strings.ToUpper(r.Result), wall)
	for _, c := range r.Checks {
		mark := "ok  "
		if !c.Passed {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %-26s %s\n", mark, c.Name, c.Detail)
	}
	if len(r.RTO.Tiers) > 0 {
		fmt.Fprintf(w, "  tiers:")
		for _, t := range r.RTO.Tiers {
			switch {
			case t.Done():
				fmt.Fprintf(w, " %s %s;", t.Tier, secs(t.DoneSeconds))
			case t.Started():
				fmt.Fprintf(w, " %s not done;", t.Tier)
			default:
				fmt.Fprintf(w, " %s not started;", t.Tier)
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  API calls: %d (%.1f per VM)\n", r.Figures.APICalls, r.Figures.APICallsPerVM)
}
