package command

import (
	"fmt"
	"os"

	"github.com/drplan/drplan/operations"
	"github.com/drplan/drplan/report"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/runner"
	"github.com/drplan/drplan/steps"
)

// runView shows a run of drill, run, resume or apply as it goes: its
// programs' progress, the checks of its result and its verdict. The
// human view is the progress lines (progress.go); the JSON view, with
// -json, the event stream (events_json.go), which replaces the lines on
// standard output. The verbs' own lines go to c.stdout, which -json
// discards.
type runView interface {
	// program is called before each program runs, with the steps a
	// resumed run did before; it returns where the program's events go.
	program(p *steps.Program, done map[steps.Addr]bool) func(rundir.Event)
	// ended is called when the program's run ends.
	ended()
	// verdict shows the checks of the run's result and its verdict.
	verdict(runID, result string, checks []report.Check, rep *report.Report, html string)
}

// runLines is the progress lines.
type runLines struct{ pr *progress }

func (v runLines) program(p *steps.Program, done map[steps.Addr]bool) func(rundir.Event) {
	v.pr.cur, v.pr.done = p, done
	return v.pr.observe
}

func (v runLines) ended() { v.pr.end() }

// verdict: the verbs write their checks and verdict in their own words.
func (runLines) verdict(string, string, []report.Check, *report.Report, string) {}

// runEvents is the event stream.
type runEvents struct {
	ev     *eventStream
	redact func(string) string
}

func (v runEvents) program(*steps.Program, map[steps.Addr]bool) func(rundir.Event) {
	v.ev.redact = v.redact
	return v.ev.observe
}

func (runEvents) ended() {}

func (v runEvents) verdict(runID, result string, checks []report.Check, rep *report.Report, html string) {
	for _, ch := range checks {
		v.ev.check(ch)
	}
	v.ev.verdict(runID, result, rep, html)
}

// session is the views of a run: the terminal that prompt steps ask on,
// and the run's view.
type session struct {
	c    *cli
	ui   *terminalUI
	view runView
}

// newSession makes the views of a run of cp; color is whether the
// progress view paints its verdicts.
func (c *cli) newSession(cp *operations.Compiled, autoApprove, color bool) *session {
	ui := newTerminalUI(os.Stdin, c.stderr, autoApprove)
	if c.events != nil {
		return &session{c: c, ui: ui, view: runEvents{c.events, cp.Prog.Redact}}
	}
	pr := newProgress(c.stdout, cp.Prog, cp.Prog.Redact)
	pr.color, pr.planNow, pr.virtual = color, cp.Target.Clock.Now, cp.Target.Clock.Virtual()
	if c.getenv("TERM") == "dumb" {
		pr.tty = false
	}
	return &session{c: c, ui: ui, view: runLines{pr}}
}

// opened warns of a journal whose end a crash tore.
func (s *session) opened(ses *operations.Session) {
	if t := ses.Journal.Cut(); t != nil {
		fmt.Fprintf(s.c.stderr, "Warning: %s.\n", t.Warning())
	}
}

// run runs p through run (a Session's run of a program), showing its
// progress; done are the steps a resumed run did before.
func (s *session) run(p *steps.Program, done map[steps.Addr]bool, run func(observe func(rundir.Event)) (*runner.Result, error)) (*runner.Result, error) {
	observe := s.view.program(p, done)
	defer s.view.ended()
	return run(observe)
}

func (s *session) close() { s.ui.close() }
