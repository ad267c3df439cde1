package command

import (
	"fmt"
	"os"

	"github.com/drplan/drplan/operations"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/runner"
	"github.com/drplan/drplan/steps"
)

// session is the views of a run: the terminal that prompt steps ask on,
// and the progress lines or the event stream its events go to.
type session struct {
	c        *cli
	cp       *operations.Compiled
	ui       *terminalUI
	progress *progress
}

// newSession makes the views of a run of cp; color is whether the
// progress view paints its verdicts.
func (c *cli) newSession(cp *operations.Compiled, autoApprove, color bool) *session {
	ui := newTerminalUI(os.Stdin, c.stderr, autoApprove)
	pr := newProgress(c.stdout, cp.Prog, cp.Prog.Redact)
	pr.color, pr.planNow, pr.virtual = color, cp.Target.Clock.Now, cp.Target.Clock.Virtual()
	if c.getenv("TERM") == "dumb" {
		pr.tty = false
	}
	return &session{c: c, cp: cp, ui: ui, progress: pr}
}

// opened warns of a journal whose end a crash tore.
func (s *session) opened(ses *operations.Session) {
	if t := ses.Journal.Cut(); t != nil {
		fmt.Fprintf(s.c.stderr, "Warning: %s.\n", t.Warning())
	}
}

// run runs p through run (a Session's run of a program), showing its
// progress; done are the steps a resumed run did before.
func (s *session) run(p *steps.Program, done map[string]bool, run func(observe func(rundir.Event)) (*runner.Result, error)) (*runner.Result, error) {
	s.progress.cur, s.progress.done = p, done
	defer s.progress.end()
	return run(s.observer())
}

func (s *session) close() { s.ui.close() }

// observer is where the run's events go: the event stream with -json,
// else the progress view.
func (s *session) observer() func(rundir.Event) {
	if ev := s.c.events; ev != nil {
		ev.redact = s.cp.Prog.Redact
		return ev.observe
	}
	return s.progress.observe
}
