package operations

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/drplan/drplan/compiler"
	"github.com/drplan/drplan/internal/history"
	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/report"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/runner"
	"github.com/drplan/drplan/steps"
)

// Resumable is an interrupted or failed run, as its folder keeps it:
// what resuming it needs.
type Resumable struct {
	ID, Dir string
	Record  *rundir.Record
	// Passed says the run's last attempt passed and its report, written
	// after the sites were verified, says so: there is nothing to
	// resume. A run whose steps all passed but which died before its
	// report (verification, the report, releasing its locks) is
	// resumable: resuming it runs no step and does the rest.
	Passed bool
	// Done are the steps it finished, Began when it first began.
	Done  map[steps.Addr]bool
	Began time.Time
	// Saved is the program it ran, Snap the inventory it began with.
	Saved *steps.Program
	Snap  *inventory.Snapshot
}

// ResumeError says why a run cannot be resumed, with how to go on.
type ResumeError struct{ Msg string }

func (e *ResumeError) Error() string { return e.Msg }

// ErrNotSameProgram is a resume whose plan files or variables differ
// from those the run began with: its program would not be the same.
var ErrNotSameProgram = errors.New("the program would not be the same")

// ReadResumable reads run id in stateDir; planDir is the plan's
// directory, for the advice. An error (a *ResumeError when the run
// cannot be resumed) says why not.
func ReadResumable(stateDir, id, planDir string) (*Resumable, error) {
	runDir, err := RunFolder(stateDir, id, planDir)
	if err != nil {
		return nil, err
	}
	refuse := func(format string, args ...any) (*Resumable, error) {
		return nil, &ResumeError{fmt.Sprintf(format, args...)}
	}
	rec, err := rundir.ReadRecord(runDir)
	if err != nil {
		return refuse("%s holds no run %s that can be resumed (no %s); drplan runs lists the runs.", history.RunsDir(stateDir), id, rundir.RecordName)
	}
	if rec.Target == "sim" {
		return refuse("run %s ran against simulated sites built in its own process, which ended with it: there is nothing left to resume. Start a new run; to rehearse crashes, serve the sites with drplan sim serve and run with --live.", id)
	}
	events, err := rundir.ReadJournal(runDir)
	if msg := noJournal(id, rec.Mode, planDir, events, err); msg != "" {
		return refuse("%s", msg)
	}
	if err != nil {
		return refuse("cannot read the journal of run %s: %v", id, err)
	}
	r := &Resumable{ID: id, Dir: runDir, Record: rec}
	if lastResult(events, rec.Mode) == "passed" && reportResult(runDir) == "passed" {
		r.Passed = true
		return r, nil
	}
	r.Done, r.Began = runner.Finished(events, rec.Mode)
	r.Saved, err = rundir.ReadProgram(runDir, rundir.ProgramName(rec.Mode))
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		return refuse("run %s has no saved program: %v", id, err)
	}
	if err != nil {
		return refuse("run %s: %v", id, err)
	}
	if r.Snap, err = rundir.ReadInventory(runDir); err != nil {
		return refuse("run %s has no saved inventory (%s).", id, rundir.InventoryName)
	}
	return r, nil
}

// Load loads the plan in dir against the live target the run began
// with, resolved against the inventory it began with (see Load; o.Sim is
// ignored). The caller closes cp.Target.
func (r *Resumable) Load(ctx context.Context, dir string, o Options) (*Compiled, error) {
	plan, diags := plans.Load(dir, o.load())
	if diags.HasErrors() {
		return nil, &PlanError{plan, diags}
	}
	t, err := OpenTarget(ctx, plan, false, 0, o.Environ)
	if err != nil {
		return nil, err
	}
	return Resolve(dir, o, plan, t, r.Snap, nil)
}

// Compile compiles the run's mode as it began into cp (cp.Prog nil when
// it does not compile, cp.Diags saying why); ErrNotSameProgram when the
// program is not the one the run ran.
func (r *Resumable) Compile(cp *Compiled) error {
	rec := r.Record
	cp.Prog, cp.Diags = cp.Program(compiler.Options{Mode: plans.Mode(rec.Mode), Point: rec.Point, GroupPoints: rec.GroupPoints,
		RecoveryPlan: rec.RecoveryPlan, BootTimes: rec.BootTimes})
	if cp.Prog != nil && !SameProgram(r.Saved, cp.Prog) {
		return ErrNotSameProgram
	}
	return nil
}

// noJournal is why a run cannot be resumed when its journal is missing or
// holds no whole event ("" when it holds some, or cannot be read for
// another reason): the run never started a step, and a resume must not
// start its program from the first step as if it had. events and err are
// what rundir.ReadJournal returned.
func noJournal(id, mode, dir string, events []rundir.Event, err error) string {
	var why string
	switch {
	case errors.Is(err, fs.ErrNotExist):
		why = "its folder has no " + rundir.JournalName
	case err == nil && len(events) == 0:
		why = rundir.JournalName + " is empty (or holds only a record torn by a crash)"
	default:
		return ""
	}
	return fmt.Sprintf("run %s has no journal events (%s): it never started a step, so there is nothing to continue and nothing was resumed. Start a new run with: drplan run -mode %s %s (should locks run %s took before it died refuse it, add -force-unlock %s: that run changed nothing)", id, why, mode, dir, id, id)
}

// reportResult is the result the run's report gives ("" without a
// readable report).
func reportResult(runDir string) string {
	rep, err := report.ReadFile(filepath.Join(runDir, rundir.ReportJSON))
	if err != nil {
		return ""
	}
	return rep.Result
}

// lastResult is how the last attempt of mode in a journal ended: passed,
// failed, interrupted, or "" when it did not end (killed).
func lastResult(events []rundir.Event, mode string) string {
	result, in := "", false
	for _, e := range events {
		switch e.Type {
		case rundir.EventRunStarted:
			in, result = e.RunStart().Mode == mode, ""
		case rundir.EventRunFinished:
			if in {
				result = e.Result
			}
		}
	}
	return result
}
