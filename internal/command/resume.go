package command

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"syscall"

	"github.com/drplan/drplan/compiler"
	"github.com/drplan/drplan/internal/diagview"
	"github.com/drplan/drplan/internal/history"
	"github.com/drplan/drplan/operations"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/runner"
)

func runResume(c *cli, args []string) int {
	f := c.newFlags("resume", "[-var NAME=VALUE] [-json] [--auto-approve] [-force-unlock RUN_ID] [-state-dir DIR] RUN_ID [DIR]",
		"Continues an interrupted or failed run from its journal: the steps it\nfinished are not run again, the others run as they would have. The\nprogram is compiled again from the plan's files, the operator's variables\nand the inventory the run began with, and must come out the same: give\nthe same -var flags as to the run (sensitive values are never saved).")
	f.planFlags()
	f.Bool("live", false, "accepted for symmetry with run: a run resumes against the target it began with")
	auto := f.Bool("auto-approve", false, "answer every prompt step with yes")
	unlock := f.String("force-unlock", "", "first break the group locks that the dead run `RUN_ID` left behind")
	state := f.String("state-dir", "", "where runs are kept (default DIR/.drplan)")
	f.jsonFlag()
	pos, code, ok := c.parse(f, args, 2)
	if ok {
		c.startEvents(f)
	}
	if !ok {
		return code
	}
	if len(pos) == 0 {
		fmt.Fprintln(c.stderr, "drplan resume: name the run to resume: drplan resume RUN_ID [DIR] (drplan runs lists them).")
		return ExitError
	}
	id := pos[0]
	dir := planDir(pos[1:])
	stateDir := c.stateDir(*state, dir)
	if !c.checkRunIDFlags(f, "force-unlock") {
		return ExitError
	}
	runDir, err := operations.RunFolder(stateDir, id, dir)
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan resume: %v\n", err)
		return ExitError
	}
	rec, err := rundir.ReadRecord(runDir)
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan resume: %s holds no run %s that can be resumed (no %s); drplan runs lists the runs.\n", history.RunsDir(stateDir), id, rundir.RecordName)
		return ExitError
	}
	if rec.Target == "sim" {
		fmt.Fprintf(c.stderr, "drplan resume: run %s ran against simulated sites built in its own process, which ended with it: there is nothing left to resume. Start a new run; to rehearse crashes, serve the sites with drplan sim serve and run with --live.\n", id)
		return ExitError
	}
	events, err := rundir.ReadJournal(runDir)
	if msg := noJournal(id, rec.Mode, dir, events, err); msg != "" {
		fmt.Fprintln(c.stderr, msg)
		return ExitError
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan resume: cannot read the journal of run %s: %v\n", id, err)
		return ExitError
	}
	if last := lastResult(events, rec.Mode); last == "passed" {
		fmt.Fprintf(c.stdout, "Run %s (%s) has passed already; there is nothing to resume.\n", id, rec.Mode)
		return ExitOK
	}
	done, began := runner.Finished(events, rec.Mode)
	saved, err := rundir.ReadProgram(runDir, rundir.ProgramName(rec.Mode))
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		fmt.Fprintf(c.stderr, "drplan resume: run %s has no saved program: %v\n", id, err)
		return ExitError
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan resume: run %s: %v\n", id, err)
		return ExitError
	}
	snap, err := rundir.ReadInventory(runDir)
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan resume: run %s has no saved inventory (%s).\n", id, rundir.InventoryName)
		return ExitError
	}
	plan, diags := plans.Load(dir, plans.LoadOptions{Vars: f.vars, Environ: c.environ})
	if diags.HasErrors() {
		c.validateView(f).Validated(plan, diags)
		return ExitError
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	t, err := operations.OpenTarget(ctx, plan, false, 0, c.environ)
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan resume: %v\n", err)
		return ExitError
	}
	cp, err := operations.Resolve(dir, c.options(f, false), plan, t, snap, nil)
	if err != nil {
		return c.loadFailed(f, err)
	}
	defer t.Close()
	advice := lockAdvice{verb: "resume", mode: rec.Mode, dir: dir, resumed: id}
	if !c.precheckLocks(ctx, cp, stateDir, operations.PlanGroups(cp.Plan, rec.RecoveryPlan), id, *unlock, advice, true) {
		return ExitError
	}
	ropts := compiler.Options{Mode: plans.Mode(rec.Mode), Point: rec.Point, GroupPoints: rec.GroupPoints,
		RecoveryPlan: rec.RecoveryPlan, BootTimes: rec.BootTimes}
	cp.Prog, cp.Diags = cp.Program(ropts)
	if cp.Prog == nil {
		diagview.Text{Files: cp.Plan.Files, Color: c.color(c.stderr, f.noColor), Redact: cp.Plan.Redact}.Write(c.stderr, cp.Diags)
		return ExitError
	}
	if !operations.SameProgram(saved, cp.Prog) {
		fmt.Fprintf(c.stderr, "drplan resume: the plan's files or variables differ from those run %s began with, so the program would not be the same; nothing was done. Resume with the plan as it was (and the same -var flags), or start a new run.\n", id)
		return ExitError
	}
	return c.execute(ctx, "resume", cp, execution{stateDir: stateDir, dir: dir, runID: id, placeholder: rec.Placeholder,
		auto: *auto, color: c.color(c.stdout, f.noColor), began: began, done: done})
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
