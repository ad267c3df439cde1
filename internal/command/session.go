package command

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/drplan/drplan/internal/history"
	"github.com/drplan/drplan/local"
	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/runner"
	"github.com/drplan/drplan/steps"
)

// session is what running programs against a target needs: the run's
// folder and journal, the custom-step executor and the progress view.
type session struct {
	c        *cli
	cp       *compiled
	runID    string
	runDir   string
	journal  *rundir.Journal
	exec     *local.Executor
	ui       *terminalUI
	progress *progress
	// For a resumed run: when it first began, and the steps done.
	began time.Time
	done  map[steps.Addr]bool
}

// newSession opens a run's folder and journal; color is whether the
// progress view paints its verdicts.
func (c *cli) newSession(cp *compiled, stateDir, dir, runID string, autoApprove, color bool) (*session, error) {
	runDir := filepath.Join(history.RunsDir(stateDir), runID)
	journal, err := rundir.OpenJournal(runDir, cp.prog.Redact)
	if err != nil {
		return nil, fmt.Errorf("cannot open the run's journal: %v", err)
	}
	if t := journal.Cut(); t != nil {
		fmt.Fprintf(c.stderr, "Warning: %s.\n", t.Warning())
	}
	ui := newTerminalUI(os.Stdin, c.stderr, autoApprove)
	ex := &local.Executor{PlanDir: dir, RunDir: runDir, UI: ui, Clock: cp.target.clk, Dial: cp.target.dial}
	pr := newProgress(c.stdout, cp.prog, cp.prog.Redact)
	pr.color, pr.planNow, pr.virtual = color, cp.target.clk.Now, cp.target.clk.Virtual()
	if c.getenv("TERM") == "dumb" {
		pr.tty = false
	}
	return &session{c: c, cp: cp, runID: runID, runDir: runDir, journal: journal, exec: ex, ui: ui, progress: pr}, nil
}

// run executes a program; placeholder is the run id "{run}" stands for.
func (s *session) run(ctx context.Context, p *steps.Program, placeholder string) (*runner.Result, error) {
	s.progress.cur, s.progress.done = p, s.done
	opener := func(ctx context.Context, site string, readOnly bool) (providers.Site, error) {
		return s.cp.target.site(ctx, site, readOnly)
	}
	defer s.progress.end()
	return runner.Run(s.cp.target.busy(ctx), p, runner.Options{RunID: s.runID, Placeholder: placeholder, Journal: s.journal, Open: opener,
		Custom: s.exec, Observer: s.observer(), Began: s.began, Done: s.done, Clock: s.cp.target.clk, Seed: s.cp.target.seed})
}

func (s *session) close() {
	s.journal.Close()
	s.ui.close()
}

// observer is where the run's events go: the event stream with -json,
// else the progress view.
func (s *session) observer() func(rundir.Event) {
	if ev := s.c.events; ev != nil {
		ev.redact = s.cp.prog.Redact
		return ev.observe
	}
	return s.progress.observe
}
