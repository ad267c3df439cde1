package command

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/drplan/drplan/compiler"
	"github.com/drplan/drplan/internal/diagview"
	"github.com/drplan/drplan/internal/history"
	"github.com/drplan/drplan/operations"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/runner"
	"github.com/drplan/drplan/steps"
)

func runRun(c *cli, args []string) int {
	f := c.newFlags("run", "-mode MODE (--sim|--live) [-json] [--confirm NAME] [-run RUN_ID] [-point [GROUP=]POINT]... [--auto-approve] [-force-unlock RUN_ID] [-state-dir DIR] [DIR]",
		"Runs one mode of the plan: test, cleanup, migrate, failover, reprotect or\nfailback. failover, migrate and failback against --live need --confirm\nwith the plan's name (in a terminal, drplan asks for it). cleanup cleans\nup after a test run: the latest one, or the one -run names. An\ninterrupted run continues with drplan resume RUN_ID.")
	f.planFlags()
	sim, live := f.targetFlags()
	mode := f.String("mode", "", "run `MODE`")
	confirm := f.String("confirm", "", "confirm a live failover, migration or failback by giving the plan's `NAME`")
	cleanRun := f.String("run", "", "cleanup: the `RUN_ID` of the test run to clean up (default: the latest)")
	auto := f.Bool("auto-approve", false, "answer every prompt step with yes")
	point := f.pointFlag()
	rp := f.String("recovery-plan", "", "the recovery plan to run when there are several")
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
	if !c.checkRunIDFlags(f, "run", "force-unlock") {
		return ExitError
	}
	isSim, m, ok := c.targetAndMode("run", *sim, *live, "", *mode)
	if !ok {
		return ExitError
	}
	dir := planDir(pos)
	if !isSim && needsConfirmation(m) && *confirm != "" {
		// A wrong name is refused before any site is even read.
		plan, _ := plans.Load(dir, plans.LoadOptions{Vars: f.vars, Environ: c.environ})
		if plan == nil || *confirm != plan.Name {
			name := "PLAN"
			if plan != nil {
				name = plan.Name
			}
			fmt.Fprintf(c.stderr, "drplan run: --confirm %q does not name this plan; nothing was done. A live %s changes production: confirm it with drplan run -mode %s --live --confirm %s %s\n", *confirm, m, m, name, dir)
			return ExitError
		}
	}
	stateDir := c.stateDir(*state, dir)
	runID, placeholder := operations.NewRunID(), ""
	if m == plans.ModeCleanup {
		if *cleanRun == "" {
			if runs, _ := history.List(stateDir); history.Latest(runs, "test") != nil {
				*cleanRun = history.Latest(runs, "test").ID
			}
			if *cleanRun == "" {
				fmt.Fprintf(c.stderr, "drplan run: no test run to clean up in %s; name one with -run RUN_ID (drplan runs lists them)\n", filepath.Join(stateDir, "runs"))
				return ExitError
			}
		} else if _, err := operations.RunFolder(stateDir, *cleanRun, dir); err != nil {
			// A cleanup of a run that is not there would prove nothing.
			fmt.Fprintf(c.stderr, "drplan run: -run: %v\n", err)
			return ExitError
		}
		runID, placeholder = *cleanRun, *cleanRun
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := compiler.Options{Mode: m, Point: point.def, GroupPoints: point.perGroup(), RecoveryPlan: *rp}
	cp, code := c.loadAgainst(ctx, f, dir, isSim)
	if cp == nil {
		return code
	}
	defer cp.Target.Close()
	// The locks are looked at before the program is compiled: a run that
	// another holds (a failover that has begun promoting, or crashed) is
	// refused for that, naming it, not for what it changed meanwhile.
	advice := lockAdvice{verb: "run", mode: string(m), sim: isSim, dir: dir}
	if !c.precheckLocks(ctx, cp, stateDir, operations.PlanGroups(cp.Plan, *rp), runID, *unlock, advice, false) {
		return ExitError
	}
	cp.Compile(stateDir, opts)
	diagview.Text{Files: cp.Plan.Files, Color: c.color(c.stderr, f.noColor), Redact: cp.Plan.Redact}.Write(c.stderr, cp.Diags)
	if cp.Prog == nil {
		return ExitError
	}
	if !isSim && needsConfirmation(m) && *confirm == "" && !c.askConfirmation(cp, dir) {
		return ExitError
	}
	return c.execute(ctx, "run", cp, execution{stateDir: stateDir, dir: dir, runID: runID, placeholder: placeholder,
		auto: *auto, color: c.color(c.stdout, f.noColor), record: &rundir.Record{Mode: string(m), Target: cp.Target.Kind, Point: point.def, GroupPoints: opts.GroupPoints, RecoveryPlan: *rp,
			Placeholder: placeholder, BootTimes: cp.Opts.BootTimes}})
}

// needsConfirmation reports whether a live run of the mode changes
// production and must be confirmed by naming the plan.
func needsConfirmation(m plans.Mode) bool {
	return m == plans.ModeFailover || m == plans.ModeMigrate || m == plans.ModeFailback
}

// askConfirmation shows what a live run will do and asks the operator,
// in a terminal, to type the plan's name; elsewhere it refuses.
func (c *cli) askConfirmation(cp *operations.Compiled, dir string) bool {
	m := cp.Prog.Mode
	if !isTerminal(os.Stdin) {
		fmt.Fprintf(c.stderr, "drplan run: a live %s changes production and needs confirmation; nothing was done. Review it with drplan plan -mode %s --live %s, then confirm it with --confirm %s.\n", m, m, dir, cp.Plan.Name)
		return false
	}
	// Asked on the terminal, as sudo and ssh ask, even when stdout goes
	// to a log.
	var out io.Writer = c.stderr
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		out = tty
	}
	writeProgram(out, cp.Prog)
	fmt.Fprintf(out, "\nThis %s changes production at the sites above. Type the plan's name (%s) to go on: ", m, cp.Plan.Name)
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	if strings.TrimSpace(line) != cp.Plan.Name {
		fmt.Fprintf(c.stderr, "drplan run: %q is not the plan's name; nothing was done.\n", strings.TrimSpace(line))
		return false
	}
	return true
}

// execution is one run of a compiled program.
type execution struct {
	stateDir, dir, runID, placeholder string
	auto                              bool
	// color paints the verdicts (-no-color, NO_COLOR, a terminal).
	color bool
	// record, for a new run, is saved for resume.
	record *rundir.Record
	// intro, if set, is what the run's first line says it does.
	intro string
	// For a resumed run: when it began and the steps done.
	began time.Time
	done  map[steps.Addr]bool
}

// afterSteps, when set (only by the crash tests' child process), is
// called once a run's steps are done, before it is verified and
// reported: the moment where a crash leaves a journal that passed and no
// report.
var afterSteps func()

// execute runs a compiled program (operations.StartRun): takes its
// groups' locks, records what resume needs, runs, verifies, and writes
// the report, interrupted runs included; and shows it all.
func (c *cli) execute(ctx context.Context, verb string, cp *operations.Compiled, e execution) int {
	m := cp.Prog.Mode
	ses := c.newSession(cp, e.auto, e.color)
	defer ses.close()
	r, err := operations.StartRun(cp, operations.RunOptions{StateDir: e.stateDir, PlanDir: e.dir, RunID: e.runID, Placeholder: e.placeholder,
		Record: e.record, Began: e.began, Done: e.done, UI: ses.ui})
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan %s: %v\n", verb, err)
		return ExitError
	}
	defer r.Close(ctx)
	ses.opened(r.Session)
	switch {
	case e.intro != "":
		fmt.Fprintf(c.stdout, "Run %s: %s.\n", e.runID, e.intro)
	case len(e.done) > 0:
		fmt.Fprintf(c.stdout, "Run %s: resuming mode %s of plan %q against the %s sites; %d of %d steps were done.\n", e.runID, m, cp.Plan.Name, targetWord(cp.Target), len(e.done), len(cp.Prog.Steps))
	default:
		fmt.Fprintf(c.stdout, "Run %s: mode %s of plan %q against the %s sites.\n", e.runID, m, cp.Plan.Name, targetWord(cp.Target))
	}
	warn, err := r.Lock(ctx, e.stateDir)
	if err != nil {
		c.refuseLockError(verb, cp, err, lockAdvice{verb: verb, mode: m, sim: cp.Target.Kind == "sim", dir: e.dir, resumed: e.runID})
		return ExitError
	}
	for _, w := range warn {
		fmt.Fprintf(c.stderr, "Warning: %s\n", cp.Prog.Redact(w))
	}
	res, err := ses.run(cp.Prog, e.done, func(o func(rundir.Event)) (*runner.Result, error) { return r.Execute(ctx, o) })
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan %s: %v\n", verb, err)
		return ExitError
	}
	if afterSteps != nil {
		afterSteps()
	}
	// The result is read back from the sites, not assumed.
	checks := c.verifyRun(ctx, cp, res.Canceled)
	html, err := r.WriteReport(checks)
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan: cannot write the run's report: %v\n", err)
	}
	failed := failedChecks(checks)
	result := rundir.ResultPassed
	switch {
	case res.Canceled:
		result = rundir.ResultInterrupted
	case !res.Passed || len(failed) > 0:
		result = rundir.ResultFailed
	}
	ses.view.verdict(e.runID, result, checks, nil, html)
	if len(failed) > 0 {
		fmt.Fprintf(c.stdout, "Verification %s: %s; see %s.\n", paintResult(e.color, "FAILED"), strings.Join(failed, ", "), html)
	}
	switch {
	case res.Canceled:
		fmt.Fprintf(c.stderr, "Interrupted. The journal is in %s; continue with: drplan resume %s %s\n", r.Dir, e.runID, e.dir)
		return ExitError
	case !res.Passed:
		fmt.Fprintf(c.stdout, "Run %s %s; see %s. After fixing the cause, continue with: drplan resume %s %s\n", e.runID, paintResult(e.color, "FAILED"), html, e.runID, e.dir)
		return ExitError
	case len(failed) > 0:
		fmt.Fprintf(c.stdout, "Run %s %s: every step ran, but the sites do not show the result (%s).\n", e.runID, paintResult(e.color, "FAILED"), strings.Join(failed, ", "))
		return ExitError
	}
	fmt.Fprintf(c.stdout, "Run %s %s.\n", e.runID, paintResult(e.color, "passed"))
	if m == string(plans.ModeTest) {
		fmt.Fprintf(c.stdout, "Clean up with: drplan run -mode cleanup -run %s %s %s\n", e.runID, targetFlag(cp.Target.Kind == "sim"), e.dir)
	}
	return ExitOK
}
