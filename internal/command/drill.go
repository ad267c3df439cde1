package command

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/drplan/drplan/compiler"
	"github.com/drplan/drplan/internal/diagview"
	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/report"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/steps"
)

// newRunID makes a run id that sorts by time: 20261122T001500Z-3f9a.
func newRunID() string {
	b := make([]byte, 2)
	rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// stateDir is where runs live: -state-dir, else DRPLAN_HOME, else
// .drplan in the plan directory.
func (c *cli) stateDir(flagValue, dir string) string {
	if flagValue != "" {
		return flagValue
	}
	if v := c.getenv("DRPLAN_HOME"); v != "" {
		return v
	}
	return filepath.Join(dir, ".drplan")
}

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
	defer cp.target.close()
	// A drill takes the group locks like every run, from its test
	// through its cleanup: it must not run beside a failover of the same
	// groups. They are looked at before it is compiled, and taken before
	// its first step.
	runID := newRunID()
	advice := lockAdvice{verb: "drill", mode: string(plans.ModeTest), sim: isSim, dir: dir}
	if !c.precheckLocks(ctx, cp, stateDir, planGroups(cp.plan, *rp), runID, *unlock, advice, false) {
		return ExitError
	}
	c.compileLoaded(cp, stateDir, compiler.Options{Mode: plans.ModeTest, Point: *point, RecoveryPlan: *rp})
	diagview.Text{Files: cp.plan.Files, Color: c.color(c.stderr, f.noColor), Redact: cp.plan.Redact}.Write(c.stderr, cp.diags)
	if cp.prog == nil {
		return ExitError
	}
	cleanProg, cdiags := cp.target.compile(cp.plan, cp.snap, compiler.Options{Mode: plans.ModeCleanup, Point: *point, RecoveryPlan: *rp})
	if cdiags.HasErrors() {
		diagview.Text{Files: cp.plan.Files, Redact: cp.plan.Redact}.Write(c.stderr, cdiags)
		return ExitError
	}

	lk, err := c.lockGroups(ctx, cp.target, stateDir, programGroups(cp), runID, "drill")
	if err != nil {
		c.refuseLockError("drill", cp, err, advice)
		return ExitError
	}
	defer lk.release(ctx)
	for _, w := range lk.warn {
		fmt.Fprintf(c.stderr, "Warning: %s\n", cp.prog.Redact(w))
	}
	ses, err := c.newSession(cp, stateDir, dir, runID, *auto, c.color(c.stdout, f.noColor))
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan drill: %v\n", err)
		return ExitError
	}
	defer ses.close()
	rundir.WriteProgram(ses.runDir, rundir.DrillProgramName, cp.prog)
	rundir.WriteProgram(ses.runDir, rundir.ProgramName(cleanProg.Mode), cleanProg)
	seed := ""
	if cp.target.world != nil {
		seed = fmt.Sprintf(", seed %d", cp.target.seed)
	}
	fmt.Fprintf(c.stdout, "Drill %s of plan %q against the %s sites (%d VMs%s, estimated RTO %s).\n",
		runID, cp.plan.Name, targetWord(cp.target), countVMs(cp.prog), seed, cp.prog.Estimate.Total)

	before := protectedFingerprint(cp.snap, cp.prog)
	res, err := ses.run(ctx, cp.prog, runID)
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan drill: %v\n", err)
		return ExitError
	}
	runDir := ses.runDir
	var checks []report.Check
	programs := []*steps.Program{cp.prog}
	if res.Canceled {
		fmt.Fprintf(c.stderr, "\nInterrupted. The run's journal is in %s.\n", runDir)
		if isSim {
			fmt.Fprintf(c.stderr, "The simulated sites end with this process, so there is nothing to clean up.\n")
		} else {
			fmt.Fprintf(c.stderr, "Resume it with: drplan resume -state-dir %s %s\nor clean up with: drplan run -mode cleanup -run %s --live %s\n", stateDir, runID, runID, dir)
		}
	} else if !*keep {
		fmt.Fprintf(c.stdout, "Cleaning up.\n")
		cres, err := ses.run(context.WithoutCancel(ctx), cleanProg, runID)
		if err == nil {
			programs = append(programs, cleanProg)
			checks = append(checks, report.Check{Name: "cleanup", Passed: cres.Passed,
				Detail: fmt.Sprintf("every copy powered off and destroyed, nothing of run %s left at the recovery sites", runID)})
			if !cres.Passed {
				checks[len(checks)-1].Detail = "cleanup did not finish: see the cleanup steps; run drplan run -mode cleanup -run " + runID + " to finish it"
			}
		}
	} else {
		fmt.Fprintf(c.stdout, "Kept the drill's VMs (folder %s/%s). Clean up later with: drplan run -mode cleanup -run %s %s %s\n",
			compiler.DrillFolder, runID, runID, targetFlag(isSim), dir)
	}

	// The protected site must be exactly as it was.
	after, err := cp.target.snapshotSites(context.WithoutCancel(ctx), protectedSites(cp.prog))
	fp := report.Check{Name: "protected site unchanged", Passed: err == nil}
	if err != nil {
		fp.Detail = "could not read the protected site afterwards: " + err.Error()
	} else if diff := compareFingerprints(before, protectedFingerprint(after, cp.prog)); diff != "" {
		fp.Passed, fp.Detail = false, "the protected site changed during the drill: "+diff
	} else {
		fp.Detail = "every protected VM's power state, NICs, CPUs, memory and disks are as before"
	}
	checks = append([]report.Check{fp}, checks...)

	events, _ := rundir.ReadJournal(runDir)
	warnings, driftFound := planFindings(cp.diags)
	rep := report.Build(report.Input{Target: cp.target.kind, Seed: cp.target.seed, Owner: planOwner(cp.plan), Programs: programs, Events: events,
		Checks: checks, Warnings: warnings, Drift: driftFound})
	rep.RunID = runID
	rep.Checks = append(rep.Checks, drillChecks(rep)...)
	if rep.Result == "passed" {
		for _, ch := range rep.Checks {
			if !ch.Passed {
				rep.Result = "failed"
			}
		}
	}
	html, err := writeReports(runDir, rep, cp.prog.Redact)
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan drill: cannot write the report: %v\n", err)
	}
	if ev := c.events; ev != nil {
		for _, ch := range rep.Checks {
			ev.check(ch)
		}
		ev.verdict(runID, rep.Result, rep, html)
	}
	writeSummaryTo(c.stdout, rep, time.Since(started), ses.progress.color)
	fmt.Fprintf(c.stdout, "Report: %s (also .md, .json, .junit.xml)\n", html)
	if rep.Result != "passed" {
		return ExitError
	}
	return ExitOK
}

func targetWord(t *target) string {
	if t.kind == "sim" {
		return "simulated"
	}
	return "live"
}

func targetFlag(sim bool) string {
	if sim {
		return "--sim"
	}
	return "--live"
}

func countVMs(p *steps.Program) int {
	n := 0
	for _, g := range p.Groups {
		n += len(g.VMs)
	}
	return n
}

// drillChecks are the verifications of a drill's recovery: every VM
// ready, every custom step passed, RTO and RPO within target.
func drillChecks(r *report.Report) []report.Check {
	var notReady []string
	for _, v := range r.VMs {
		if v.Status != "ready" {
			notReady = append(notReady, v.VM+" ("+v.Status+")")
		}
	}
	vms := report.Check{Name: "every VM ready", Passed: len(notReady) == 0, Detail: fmt.Sprintf("%d VMs came up", len(r.VMs)-len(notReady))}
	if len(notReady) > 0 {
		vms.Detail = "not ready: " + strings.Join(notReady, ", ")
	}
	var failed []string
	for _, s := range r.Steps {
		if s.Run == r.Mode && s.Kind == string(steps.Custom) && s.Status != rundir.StatusOK {
			failed = append(failed, s.Addr.String()+" ("+s.Status+")")
		}
	}
	custom := report.Check{Name: "every custom step passed", Passed: len(failed) == 0, Detail: "all passed"}
	if len(failed) > 0 {
		custom.Detail = strings.Join(failed, ", ")
	}
	rto := report.Check{Name: "RTO", Passed: r.RTO.Met}
	rto.Detail = fmt.Sprintf("achieved %s", secs(r.RTO.AchievedSeconds))
	if r.RTO.TargetSeconds > 0 {
		rto.Detail += " against a target of " + secs(r.RTO.TargetSeconds)
	}
	if !r.RTO.Met && (r.RTO.TargetSeconds == 0 || r.RTO.AchievedSeconds <= r.RTO.TargetSeconds) {
		// In time, but the recovery did not complete: no RTO was achieved.
		rto.Detail = fmt.Sprintf("not achieved: the recovery did not complete (a step failed or did not run); what finished took %s", secs(r.RTO.AchievedSeconds))
		if r.RTO.TargetSeconds > 0 {
			rto.Detail += " of the " + secs(r.RTO.TargetSeconds) + " target"
		}
	}
	rpo := report.Check{Name: "RPO", Passed: true}
	var parts []string
	for _, g := range r.RPO {
		parts = append(parts, fmt.Sprintf("%s %s (target %s)", g.Group, secs(g.AchievedSeconds), secs(g.TargetSeconds)))
		if !g.Met {
			rpo.Passed = false
		}
	}
	rpo.Detail = strings.Join(parts, ", ")
	return []report.Check{vms, custom, rto, rpo}
}

// secs renders plan seconds as a duration.
func secs(s float64) string {
	return steps.Duration(time.Duration(s * float64(time.Second)).Round(time.Second)).String()
}

// protectedSites lists the sites a program must not change.
func protectedSites(p *steps.Program) []string {
	var out []string
	for _, s := range p.Sites {
		if s.ReadOnly {
			out = append(out, s.Name)
		}
	}
	return out
}

// protectedFingerprint describes the protected VMs of the program's
// protected sites: what a drill must leave exactly as it was.
func protectedFingerprint(snap *inventory.Snapshot, p *steps.Program) map[string]string {
	out := map[string]string{}
	for _, name := range protectedSites(p) {
		s := snap.Sites[name]
		if s == nil {
			continue
		}
		for _, v := range s.VMs {
			var nics []string
			for _, n := range v.NICs {
				nics = append(nics, fmt.Sprintf("%s/%v", n.Network, n.Connected))
			}
			var disks []string
			for _, d := range v.Disks {
				disks = append(disks, fmt.Sprintf("%s/%d", d.Datastore, d.Bytes))
			}
			out[name+":"+v.Path()] = fmt.Sprintf("power=%s cpus=%d memory=%d nics=%v disks=%v", v.PowerState, v.CPUs, v.MemoryBytes, nics, disks)
		}
	}
	return out
}

func compareFingerprints(before, after map[string]string) string {
	var diffs []string
	for k, b := range before {
		a, ok := after[k]
		switch {
		case !ok:
			diffs = append(diffs, k+" is gone")
		case a != b:
			diffs = append(diffs, fmt.Sprintf("%s was %q, is %q", k, b, a))
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			diffs = append(diffs, k+" appeared")
		}
	}
	sort.Strings(diffs)
	return strings.Join(diffs, "; ")
}
