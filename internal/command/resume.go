package command

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/drplan/drplan/internal/diagview"
	"github.com/drplan/drplan/operations"
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
	r, err := operations.ReadResumable(stateDir, id, dir)
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan resume: %v\n", err)
		return ExitError
	}
	if r.Passed {
		fmt.Fprintf(c.stdout, "Run %s (%s) has passed already; there is nothing to resume.\n", id, r.Record.Mode)
		return ExitOK
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cp, err := r.Load(ctx, dir, c.options(f, false))
	if err != nil {
		return c.loadFailed(f, err)
	}
	defer cp.Target.Close()
	advice := lockAdvice{verb: "resume", mode: r.Record.Mode, dir: dir, resumed: id}
	if !c.precheckLocks(ctx, cp, stateDir, operations.PlanGroups(cp.Plan, r.Record.RecoveryPlan), id, *unlock, advice, true) {
		return ExitError
	}
	err = r.Compile(cp)
	if cp.Prog == nil {
		diagview.Text{Files: cp.Plan.Files, Color: c.color(c.stderr, f.noColor), Redact: cp.Plan.Redact}.Write(c.stderr, cp.Diags)
		return ExitError
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan resume: the plan's files or variables differ from those run %s began with, so the program would not be the same; nothing was done. Resume with the plan as it was (and the same -var flags), or start a new run.\n", id)
		return ExitError
	}
	return c.execute(ctx, "resume", cp, execution{stateDir: stateDir, dir: dir, runID: id, placeholder: r.Record.Placeholder,
		auto: *auto, color: c.color(c.stdout, f.noColor), began: r.Began, done: r.Done})
}
