package command

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/drplan/drplan/compiler"
	"github.com/drplan/drplan/internal/diagview"
	"github.com/drplan/drplan/internal/history"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/runner"
	"github.com/drplan/drplan/steps"
)

// modesAvailable are the modes this build can run; the others need
// provider operations (promote, guest shutdown, replication control)
// that are not there yet.
var modesAvailable = map[plans.Mode]bool{plans.ModeTest: true, plans.ModeCleanup: true}

func runRun(c *cli, args []string) int {
	f := c.newFlags("run", "-mode MODE (--sim|--live) [--confirm NAME] [-run RUN_ID] [--auto-approve] [-state-dir DIR] [DIR]",
		"Runs one mode of the plan: test, cleanup, migrate, failover, reprotect or\nfailback. failover, migrate and failback against --live need --confirm\nwith the plan's name. cleanup cleans up after a test run: the latest one,\nor the one -run names.")
	f.planFlags()
	sim, live := f.targetFlags()
	mode := f.String("mode", "", "run `MODE`")
	confirm := f.String("confirm", "", "confirm a live failover, migration or failback by giving the plan's `NAME`")
	cleanRun := f.String("run", "", "cleanup: the `RUN_ID` of the test run to clean up (default: the latest)")
	auto := f.Bool("auto-approve", false, "answer every prompt step with yes")
	point := f.String("point", "latest", "recovery `POINT`: latest, latest-consistent or an RFC 3339 time")
	rp := f.String("recovery-plan", "", "the recovery plan to run when there are several")
	state := f.String("state-dir", "", "keep runs, journals and reports in `DIR` (default DIR/.drplan)")
	pos, code, ok := c.parse(f, args, 1)
	if !ok {
		return code
	}
	isSim, m, ok := c.targetAndMode("run", *sim, *live, "", *mode)
	if !ok {
		return ExitError
	}
	dir := planDir(pos)
	if !isSim && (m == plans.ModeFailover || m == plans.ModeMigrate || m == plans.ModeFailback) {
		plan, _ := plans.Load(dir, plans.LoadOptions{Vars: f.vars, Environ: c.environ})
		if *confirm == "" || plan == nil || *confirm != plan.Name {
			name := "PLAN"
			if plan != nil {
				name = plan.Name
			}
			fmt.Fprintf(c.stderr, "drplan run: a live %s changes production. Confirm it by naming the plan: drplan run -mode %s --live --confirm %s %s\n", m, m, name, dir)
			return ExitError
		}
	}
	if !modesAvailable[m] {
		fmt.Fprintf(c.stderr, "drplan run: mode %s is not available in this version of drplan: it needs provider operations (promote, guest shutdown, replication control) that are not built yet. drplan plan -mode %s shows what it will do.\n", m, m)
		return ExitError
	}
	stateDir := c.stateDir(*state, dir)
	runID, placeholder := newRunID(), ""
	if m == plans.ModeCleanup {
		if *cleanRun == "" {
			if runs, _ := history.List(stateDir); history.Latest(runs, "test") != nil {
				*cleanRun = history.Latest(runs, "test").ID
			}
			if *cleanRun == "" {
				fmt.Fprintf(c.stderr, "drplan run: no test run to clean up in %s; name one with -run RUN_ID (drplan runs lists them)\n", filepath.Join(stateDir, "runs"))
				return ExitError
			}
		}
		runID, placeholder = *cleanRun, *cleanRun
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cp, code := c.compileFor(ctx, f, dir, stateDir, isSim, compiler.Options{Mode: m, Point: *point, RecoveryPlan: *rp})
	if cp == nil {
		return code
	}
	defer cp.target.close()
	diagview.Text{Files: cp.plan.Files, Color: c.color(c.stderr, f.noColor), Redact: cp.plan.Redact}.Write(c.stderr, cp.diags)
	if cp.prog == nil {
		return ExitError
	}
	ses, err := c.newSession(cp, stateDir, dir, runID, *auto)
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan run: %v\n", err)
		return ExitError
	}
	defer ses.close()
	ses.saveProgram(string(m)+".json", cp.prog)
	fmt.Fprintf(c.stdout, "Run %s: mode %s of plan %q against the %s sites.\n", runID, m, cp.plan.Name, targetWord(cp.target))
	res, err := ses.run(ctx, cp.prog, placeholder)
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan run: %v\n", err)
		return ExitError
	}
	html := ses.writeReport()
	switch {
	case res.Canceled:
		fmt.Fprintf(c.stderr, "Interrupted. The journal is in %s.\n", ses.runDir)
		return ExitError
	case !res.Passed:
		fmt.Fprintf(c.stdout, "Run %s FAILED; see %s.\n", runID, html)
		return ExitError
	}
	fmt.Fprintf(c.stdout, "Run %s passed.\n", runID)
	if m == plans.ModeTest {
		fmt.Fprintf(c.stdout, "Clean up with: drplan run -mode cleanup -run %s %s %s\n", runID, targetFlag(isSim), dir)
	}
	return ExitOK
}

// runPrograms loads, in the order the journal ran them, the programs a
// run's folder holds.
func runPrograms(dir string, events []runner.Event) []*steps.Program {
	var out []*steps.Program
	for _, e := range events {
		if e.Type != runner.EventRunStarted {
			continue
		}
		name := e.Detail["mode"] + ".json"
		if e.Detail["mode"] == "test" {
			if _, err := os.Stat(filepath.Join(dir, "program.json")); err == nil {
				name = "program.json"
			}
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		if p, err := steps.Read(b); err == nil {
			out = append(out, p)
		}
	}
	return out
}
