package operations

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/drplan/drplan/internal/history"
	"github.com/drplan/drplan/local"
	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/report"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/runner"
	"github.com/drplan/drplan/steps"
)

// Session is what running programs against a target needs: the run's
// folder and journal, and the executor of its custom steps.
type Session struct {
	cp *Compiled
	// RunID names the run; Dir is its folder under the state directory.
	RunID, Dir string
	Journal    *rundir.Journal
	exec       *local.Executor
	// For a resumed run: when it first began, and the steps done.
	Began time.Time
	Done  map[steps.Addr]bool
	open  bool
}

// OpenSession opens the folder and journal of run runID in stateDir for
// programs of cp; planDir is the plan's directory (custom steps run
// there) and ui asks the operator what prompt steps ask. A journal whose
// end a crash tore is cut there: Journal.Cut says so.
func OpenSession(cp *Compiled, stateDir, planDir, runID string, ui local.UI) (*Session, error) {
	runDir := filepath.Join(history.RunsDir(stateDir), runID)
	journal, err := rundir.OpenJournal(runDir, cp.Prog.Redact)
	if err != nil {
		return nil, fmt.Errorf("cannot open the run's journal: %v", err)
	}
	ex := &local.Executor{PlanDir: planDir, RunDir: runDir, UI: ui, Clock: cp.Target.Clock, Dial: cp.Target.Dial}
	return &Session{cp: cp, RunID: runID, Dir: runDir, Journal: journal, exec: ex, open: true}, nil
}

// Run executes program p, reporting its events to observe (nil: none);
// placeholder is the run id "{run}" stands for.
func (s *Session) Run(ctx context.Context, p *steps.Program, placeholder string, observe func(rundir.Event)) (*runner.Result, error) {
	opener := func(ctx context.Context, site string, readOnly bool) (providers.Site, error) {
		return s.cp.Target.Site(ctx, site, readOnly)
	}
	return runner.Run(s.cp.Target.Busy(ctx), p, runner.Options{RunID: s.RunID, Placeholder: placeholder, Journal: s.Journal, Open: opener,
		Custom: s.exec, Observer: observe, Began: s.Began, Done: s.Done, Clock: s.cp.Target.Clock, Seed: s.cp.Target.Seed})
}

// Close closes the journal; closing twice does nothing.
func (s *Session) Close() {
	if s.open {
		s.Journal.Close()
		s.open = false
	}
}

// WriteReport writes the report of everything run under the session's
// run id so far, with checks, in every format, and returns the HTML
// report's path. An error says the report could not be written.
func (s *Session) WriteReport(checks []report.Check) (string, error) {
	warnings, drift := PlanFindings(s.cp.Diags)
	rep, err := RunReport(s.Dir, report.Input{Target: s.cp.Target.Kind, Seed: s.cp.Target.Seed, Owner: PlanOwner(s.cp.Plan), Warnings: warnings, Drift: drift, Checks: checks})
	if err == nil {
		_, err = WriteReports(s.Dir, rep, s.cp.Prog.Redact)
	}
	return filepath.Join(s.Dir, report.HTML.File()), err
}

// Run is one run of a compiled program (run, resume, apply): its
// session, with what resume needs recorded, and its groups' locks.
type Run struct {
	*Session
	cp    *Compiled
	locks *Locks
	ph    string
}

// RunOptions say how to run a compiled program.
type RunOptions struct {
	// StateDir keeps the runs; PlanDir is the plan's directory.
	StateDir, PlanDir string
	// RunID names the run (NewRunID for a new one); Placeholder is the
	// run id "{run}" stands for (a cleanup's test run).
	RunID, Placeholder string
	// Record, for a new run, is saved for resume.
	Record *rundir.Record
	// For a resumed run: when it began and the steps done.
	Began time.Time
	Done  map[steps.Addr]bool
	// UI asks what prompt steps ask.
	UI local.UI
}

// StartRun opens the session of a run of cp.Prog and, for a new run,
// records its program, record and inventory for resume. The caller
// takes the locks (Lock), runs (Execute) and closes it.
func StartRun(cp *Compiled, o RunOptions) (*Run, error) {
	ses, err := OpenSession(cp, o.StateDir, o.PlanDir, o.RunID, o.UI)
	if err != nil {
		return nil, err
	}
	ses.Began, ses.Done = o.Began, o.Done
	if o.Record != nil {
		rundir.WriteProgram(ses.Dir, rundir.ProgramName(cp.Prog.Mode), cp.Prog)
		o.Record.Dir, _ = filepath.Abs(o.PlanDir)
		rundir.WriteRecord(ses.Dir, o.Record)
		if cp.Snap != nil {
			rundir.WriteInventory(ses.Dir, cp.Snap)
		}
	}
	return &Run{Session: ses, cp: cp, ph: o.Placeholder}, nil
}

// Lock takes the locks of the program's groups (LockGroups), kept until
// Close; warn says which lock files without a holder it broke. A run refused
// before it began leaves nothing behind: its folder is removed.
func (r *Run) Lock(ctx context.Context, stateDir string) (warn []string, err error) {
	lk, err := LockGroups(ctx, r.cp.Target, stateDir, r.cp.Groups(), r.RunID, r.cp.Prog.Mode)
	if err != nil {
		if events, _ := rundir.ReadJournal(r.Dir); len(events) == 0 {
			r.Session.Close()
			os.RemoveAll(r.Dir)
		}
		return nil, err
	}
	r.locks = lk
	return lk.Warn, nil
}

// Execute runs the program (see Session.Run).
func (r *Run) Execute(ctx context.Context, observe func(rundir.Event)) (*runner.Result, error) {
	return r.Session.Run(ctx, r.cp.Prog, r.ph, observe)
}

// Close gives the locks back and closes the session.
func (r *Run) Close(ctx context.Context) {
	r.locks.Release(ctx)
	r.Session.Close()
}
