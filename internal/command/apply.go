package command

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/drplan/drplan/internal/diagview"
	"github.com/drplan/drplan/operations"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/steps"
)

func runApply(c *cli, args []string) int {
	f := c.newFlags("apply", "[-var NAME=VALUE] [-json] [--auto-approve] [--confirm NAME] [-state-dir DIR] FILE",
		"Runs a program saved by drplan plan -out. The plan is compiled again\nagainst the same target; when its files, its variables or the sites'\ninventory changed since the program was saved, or the file was edited,\napply refuses and asks for a new plan: it runs the program as saved or\nnothing. Sensitive values are never saved: give the same -var flags as\nto plan.")
	f.planFlags()
	auto := f.Bool("auto-approve", false, "answer every prompt step with yes")
	confirm := f.String("confirm", "", "confirm a live failover, migration or failback by giving the plan's `NAME`")
	state := f.String("state-dir", "", "keep runs in `DIR` (default: the plan's .drplan)")
	f.jsonFlag()
	pos, code, ok := c.parse(f, args, 1)
	if ok {
		c.startEvents(f)
	}
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(c.stderr, "drplan apply: give the program file saved by drplan plan -out.")
		return ExitError
	}
	b, err := os.ReadFile(pos[0])
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan apply: cannot read %s: %v\n", pos[0], err)
		return ExitError
	}
	saved, err := steps.Read(b)
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan apply: %s: %v\n", pos[0], err)
		return ExitError
	}
	if saved.Source == nil {
		fmt.Fprintf(c.stderr, "drplan apply: %s does not say which plan it came from; save it with drplan plan -out.\n", pos[0])
		return ExitError
	}
	m, err := modeFlag("apply", saved.Mode)
	if err != nil {
		fmt.Fprintln(c.stderr, err)
		return ExitError
	}
	dir, isSim := saved.Source.Dir, saved.Source.Target == "sim"
	if !isSim && needsConfirmation(m) && *confirm != saved.Plan {
		fmt.Fprintf(c.stderr, "drplan apply: a live %s changes production. Confirm it by naming the plan: drplan apply --confirm %s %s\n", m, saved.Plan, pos[0])
		return ExitError
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stateDir := c.stateDir(*state, dir)
	cp, code := c.compileFor(ctx, f, dir, stateDir, isSim, operations.SavedOptions(saved))
	if cp == nil {
		return code
	}
	defer cp.Target.Close()
	if cp.Prog == nil {
		diagview.Text{Files: cp.Plan.Files, Color: c.color(c.stderr, f.noColor), Redact: cp.Plan.Redact}.Write(c.stderr, cp.Diags)
		return ExitError
	}
	var edited *operations.EditedError
	switch err := operations.CheckSaved(saved, cp.Prog); {
	case errors.Is(err, operations.ErrSourcesChanged):
		fmt.Fprintf(c.stderr, "drplan apply: the plan's files, its variables or the sites' inventory changed since %s was saved, so it may no longer do what was reviewed. Run drplan plan -mode %s -out %s again and review it.\n", pos[0], m, pos[0])
		return ExitError
	case errors.As(err, &edited):
		fmt.Fprintf(c.stderr, "drplan apply: %s is not the program drplan plan saved (was it edited?): %s. Nothing was done. Run drplan plan -mode %s -out %s again and review it.\n", pos[0], cp.Plan.Redact(edited.Diff), m, pos[0])
		return ExitError
	}
	return c.execute(ctx, "apply", cp, execution{stateDir: stateDir, dir: dir, runID: operations.NewRunID(), auto: *auto, color: c.color(c.stdout, f.noColor),
		intro:  fmt.Sprintf("applying %s (mode %s of plan %q)", pos[0], m, cp.Plan.Name),
		record: &rundir.Record{Mode: string(m), Target: cp.Target.Kind, Point: cp.Opts.Point, GroupPoints: cp.Opts.GroupPoints, RecoveryPlan: saved.RecoveryPlan, BootTimes: cp.Opts.BootTimes}})
}
