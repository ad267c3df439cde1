package command

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/drplan/drplan/compiler"
	"github.com/drplan/drplan/internal/diagview"
	"github.com/drplan/drplan/operations"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/runner"
	"github.com/drplan/drplan/steps"
)

func runDrill(c *cli, args []string) int {
	f := c.newFlags("drill", "[--sim|--live] [--keep] [-seed N] [-json] [--auto-approve] [-point P] [-force-unlock RUN_ID] [-state-dir DIR] [DIR]",
		"Runs a drill: the test mode of the plan (copies of the replicas, booted\non the isolated test networks, in plan order, custom steps run), checks\nthat every VM came up, every step passed and the RTO and RPO targets\nheld, then cleans up and proves that nothing is left. The protected site\nis read-only throughout, and compared before and after. Without a\ntarget it drills against the simulated sites.")
	f.planFlags()
	sim, live := f.targetFlags()
	keep := f.Bool("keep", false, "keep the drill's VMs for inspection; clean up later with drplan run -mode cleanup")
	auto := f.Bool("auto-approve", false, "answer every prompt step with yes")
	point := f.String("point", "latest", "recovery `POINT`: latest, latest-consistent or an RFC 3339 time")
	rp := f.String("recovery-plan", "", "the recovery plan to drill when there are several")
	unlock := f.String("force-unlock", "", "first break the group locks that the dead run `RUN_ID` left behind")
	state := f.String("state-dir", "", "keep runs, journals and reports in `DIR` (default DIR/.drplan)")
	f.jsonFlag()
	pos, code, ok := c.parse(f, args, 1)
	if ok {
		c.startEvents(f)
	}
	if !ok {
		return code
	}
	if !c.checkRunIDFlags(f, "force-unlock") {
		return ExitError
	}
	isSim, ok := c.chooseTarget("drill", *sim, *live, "sim")
	if !ok {
		return ExitError
	}
	dir := planDir(pos)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	started := time.Now()
	stateDir := c.stateDir(*state, dir)
	cp, code := c.loadAgainst(ctx, f, dir, isSim)
	if cp == nil {
		return code
	}
	defer cp.Target.Close()
	// A drill takes the group locks like every run, from its test
	// through its cleanup: it must not run beside a failover of the same
	// groups. They are looked at before it is compiled, and taken before
	// its first step.
	runID := operations.NewRunID()
	advice := lockAdvice{verb: "drill", mode: string(plans.ModeTest), sim: isSim, dir: dir}
	if !c.precheckLocks(ctx, cp, stateDir, operations.PlanGroups(cp.Plan, *rp), runID, *unlock, advice, false) {
		return ExitError
	}
	cleanProg, cdiags := operations.CompileDrill(cp, stateDir, *point, *rp)
	diagview.Text{Files: cp.Plan.Files, Color: c.color(c.stderr, f.noColor), Redact: cp.Plan.Redact}.Write(c.stderr, cp.Diags)
	if cp.Prog == nil {
		return ExitError
	}
	if cdiags.HasErrors() {
		diagview.Text{Files: cp.Plan.Files, Redact: cp.Plan.Redact}.Write(c.stderr, cdiags)
		return ExitError
	}

	d, err := operations.StartDrill(ctx, cp, cleanProg, stateDir, runID)
	if err != nil {
		c.refuseLockError("drill", cp, err, advice)
		return ExitError
	}
	defer d.Close(ctx)
	for _, w := range d.Warn {
		fmt.Fprintf(c.stderr, "Warning: %s\n", cp.Prog.Redact(w))
	}
	ses := c.newSession(cp, *auto, c.color(c.stdout, f.noColor))
	defer ses.close()
	if err := d.Open(stateDir, dir, ses.ui); err != nil {
		fmt.Fprintf(c.stderr, "drplan drill: %v\n", err)
		return ExitError
	}
	ses.opened(d.Session)
	seed := ""
	if cp.Target.World != nil {
		seed = fmt.Sprintf(", seed %d", cp.Target.Seed)
	}
	fmt.Fprintf(c.stdout, "Drill %s of plan %q against the %s sites (%d VMs%s, estimated RTO %s).\n",
		runID, cp.Plan.Name, targetWord(cp.Target), countVMs(cp.Prog), seed, cp.Prog.Estimate.Total)

	res, err := ses.run(cp.Prog, nil, func(o func(rundir.Event)) (*runner.Result, error) { return d.Test(ctx, o) })
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan drill: %v\n", err)
		return ExitError
	}
	runDir := d.Session.Dir
	if res.Canceled {
		fmt.Fprintf(c.stderr, "\nInterrupted. The run's journal is in %s.\n", runDir)
		if isSim {
			fmt.Fprintf(c.stderr, "The simulated sites end with this process, so there is nothing to clean up.\n")
		} else {
			fmt.Fprintf(c.stderr, "Resume it with: drplan resume -state-dir %s %s\nor clean up with: drplan run -mode cleanup -run %s --live %s\n", stateDir, runID, runID, dir)
		}
	} else if !*keep {
		fmt.Fprintf(c.stdout, "Cleaning up.\n")
		ses.run(cleanProg, nil, func(o func(rundir.Event)) (*runner.Result, error) { return d.Cleanup(ctx, o) })
	} else {
		fmt.Fprintf(c.stdout, "Kept the drill's VMs (folder %s/%s). Clean up later with: drplan run -mode cleanup -run %s %s %s\n",
			compiler.DrillFolder, runID, runID, targetFlag(isSim), dir)
	}

	rep, html, err := d.Finish(ctx)
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan drill: cannot write the report: %v\n", err)
	}
	ses.view.verdict(runID, rep.Result, rep.Checks, rep, html)
	writeSummaryTo(c.stdout, rep, time.Since(started), c.color(c.stdout, f.noColor))
	fmt.Fprintf(c.stdout, "Report: %s (also .md, .json, .junit.xml)\n", html)
	if rep.Result != "passed" {
		return ExitError
	}
	return ExitOK
}

func countVMs(p *steps.Program) int {
	n := 0
	for _, g := range p.Groups {
		n += len(g.VMs)
	}
	return n
}

// secs renders plan seconds as a duration (operations.Secs).
func secs(s float64) string { return operations.Secs(s) }
