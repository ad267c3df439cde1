package operations

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/drplan/drplan/compiler"
	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/local"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/report"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/runner"
	"github.com/drplan/drplan/steps"
)

// A drill is the test mode of a plan, its verification, its cleanup and
// the proof that the cleanup left nothing: test → verify → cleanup →
// verify. It holds its groups' locks from its test through its cleanup,
// so that it never runs beside a failover of the same groups, and reads
// the protected sites before and after, which must not change.

// CompileDrill compiles the drill's test mode into cp (cp.Prog, with its
// diagnostics in cp.Diags) and returns its cleanup program; point and rp
// are the recovery point and recovery plan. cp.Prog is nil when the test
// does not compile; the cleanup is nil when it does not (its
// diagnostics say why).
func CompileDrill(cp *Compiled, stateDir, point, rp string) (*steps.Program, hcl.Diagnostics) {
	cp.Compile(stateDir, compiler.Options{Mode: plans.ModeTest, Point: point, RecoveryPlan: rp})
	if cp.Prog == nil {
		return nil, nil
	}
	return cp.Program(compiler.Options{Mode: plans.ModeCleanup, Point: point, RecoveryPlan: rp})
}

// Drill is one drill of a compiled test program.
type Drill struct {
	cp      *Compiled
	cleanup *steps.Program
	// RunID names the drill's run; Session is its folder and journal,
	// once Open.
	RunID   string
	Session *Session
	// Warn says which lock files without a holder taking the locks broke.
	Warn     []string
	locks    *Locks
	before   map[string]string
	programs []*steps.Program
	checks   []report.Check
	canceled bool
}

// StartDrill takes the locks of the drill's groups for run runID (an
// error says why not; see LockGroups). The caller opens it (Open), runs
// it (Test, Cleanup), judges it (Finish) and closes it.
func StartDrill(ctx context.Context, cp *Compiled, cleanup *steps.Program, stateDir, runID string) (*Drill, error) {
	lk, err := LockGroups(ctx, cp.Target, stateDir, cp.Groups(), runID, "drill")
	if err != nil {
		return nil, err
	}
	return &Drill{cp: cp, cleanup: cleanup, RunID: runID, Warn: lk.Warn, locks: lk}, nil
}

// Open opens the drill's run folder in stateDir and saves its programs;
// planDir is the plan's directory, ui asks what prompt steps ask.
func (d *Drill) Open(stateDir, planDir string, ui local.UI) error {
	ses, err := OpenSession(d.cp, stateDir, planDir, d.RunID, ui)
	if err != nil {
		return err
	}
	d.Session = ses
	rundir.WriteProgram(ses.Dir, rundir.DrillProgramName, d.cp.Prog)
	rundir.WriteProgram(ses.Dir, rundir.ProgramName(d.cleanup.Mode), d.cleanup)
	return nil
}

// Test runs the test program, reporting its events to observe, having
// noted what the protected sites hold.
func (d *Drill) Test(ctx context.Context, observe func(rundir.Event)) (*runner.Result, error) {
	d.before = protectedFingerprint(d.cp.Snap, d.cp.Prog)
	res, err := d.Session.Run(ctx, d.cp.Prog, d.RunID, observe)
	if err == nil {
		d.programs, d.canceled = []*steps.Program{d.cp.Prog}, res.Canceled
	}
	return res, err
}

// Cleanup runs the cleanup program (even when ctx is canceled: the
// copies must go) and checks that it finished.
func (d *Drill) Cleanup(ctx context.Context, observe func(rundir.Event)) (*runner.Result, error) {
	cres, err := d.Session.Run(context.WithoutCancel(ctx), d.cleanup, d.RunID, observe)
	if err == nil {
		d.programs = append(d.programs, d.cleanup)
		d.checks = append(d.checks, report.Check{Name: "cleanup", Passed: cres.Passed,
			Detail: fmt.Sprintf("every copy powered off and destroyed, nothing of run %s left at the recovery sites", d.RunID)})
		if !cres.Passed {
			d.checks[len(d.checks)-1].Detail = "cleanup did not finish: see the cleanup steps; run drplan run -mode cleanup -run " + d.RunID + " to finish it"
		}
	}
	return cres, err
}

// Finish reads the protected sites again, judges the drill and writes
// its report in every format; it returns the report and the HTML
// report's path. An error says the report could not be written.
func (d *Drill) Finish(ctx context.Context) (*report.Report, string, error) {
	// The protected site must be exactly as it was.
	after, err := d.cp.Target.SnapshotSites(context.WithoutCancel(ctx), protectedSites(d.cp.Prog))
	fp := report.Check{Name: "protected site unchanged", Passed: err == nil}
	if err != nil {
		fp.Detail = "could not read the protected site afterwards: " + err.Error()
	} else if diff := compareFingerprints(d.before, protectedFingerprint(after, d.cp.Prog)); diff != "" {
		fp.Passed, fp.Detail = false, "the protected site changed during the drill: "+diff
	} else {
		fp.Detail = "every protected VM's power state, NICs, CPUs, memory and disks are as before"
	}
	checks := append([]report.Check{fp}, d.checks...)

	events, _ := rundir.ReadJournal(d.Session.Dir)
	warnings, driftFound := PlanFindings(d.cp.Diags)
	rep := report.Build(report.Input{Target: d.cp.Target.Kind, Seed: d.cp.Target.Seed, Owner: PlanOwner(d.cp.Plan), Programs: d.programs, Events: events,
		Checks: checks, Warnings: warnings, Drift: driftFound})
	rep.RunID = d.RunID
	rep.Checks = append(rep.Checks, drillChecks(rep)...)
	if rep.Result == "passed" {
		for _, ch := range rep.Checks {
			if !ch.Passed {
				rep.Result = "failed"
			}
		}
	}
	html, err := WriteReports(d.Session.Dir, rep, d.cp.Prog.Redact)
	return rep, html, err
}

// Close gives the locks back and closes the session.
func (d *Drill) Close(ctx context.Context) {
	d.locks.Release(ctx)
	if d.Session != nil {
		d.Session.Close()
	}
}

// DrillOptions say how RunDrill drills a plan.
type DrillOptions struct {
	Options
	// StateDir keeps the runs (default DIR/.drplan).
	StateDir string
	// Point is the recovery point (default latest); RecoveryPlan the
	// recovery plan to drill when there are several.
	Point, RecoveryPlan string
	// Keep leaves the drill's VMs for inspection: no cleanup.
	Keep bool
	// UI answers prompt steps; nil fails them.
	UI local.UI
	// Observe receives the run's events (nil: none).
	Observe func(rundir.Event)
}

// RunDrill drills the plan in dir from start to end: load against the
// target, compile, lock, test, cleanup (unless Keep), verify and report.
// The report says the verdict (Result passed or failed) and its checks;
// an error is a drill that could not be run (a *PlanError for a plan
// that does not compile, a *LockedError for locked groups).
func RunDrill(ctx context.Context, dir string, o DrillOptions) (*report.Report, error) {
	if o.StateDir == "" {
		o.StateDir = filepath.Join(dir, ".drplan")
	}
	if o.Point == "" {
		o.Point = inventory.PointLatest
	}
	cp, err := Load(ctx, dir, o.Options)
	if err != nil {
		return nil, err
	}
	defer cp.Target.Close()
	cleanup, cdiags := CompileDrill(cp, o.StateDir, o.Point, o.RecoveryPlan)
	if cp.Prog == nil {
		return nil, &PlanError{cp.Plan, cp.Diags}
	}
	if cdiags.HasErrors() {
		return nil, &PlanError{cp.Plan, cdiags}
	}
	d, err := StartDrill(ctx, cp, cleanup, o.StateDir, NewRunID())
	if err != nil {
		return nil, err
	}
	defer d.Close(ctx)
	if err := d.Open(o.StateDir, dir, o.UI); err != nil {
		return nil, err
	}
	res, err := d.Test(ctx, o.Observe)
	if err != nil {
		return nil, err
	}
	if !res.Canceled && !o.Keep {
		d.Cleanup(ctx, o.Observe)
	}
	rep, _, err := d.Finish(ctx)
	return rep, err
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
	rto.Detail = fmt.Sprintf("achieved %s", Secs(r.RTO.AchievedSeconds))
	if r.RTO.TargetSeconds > 0 {
		rto.Detail += " against a target of " + Secs(r.RTO.TargetSeconds)
	}
	if !r.RTO.Met && (r.RTO.TargetSeconds == 0 || r.RTO.AchievedSeconds <= r.RTO.TargetSeconds) {
		// In time, but the recovery did not complete: no RTO was achieved.
		rto.Detail = fmt.Sprintf("not achieved: the recovery did not complete (a step failed or did not run); what finished took %s", Secs(r.RTO.AchievedSeconds))
		if r.RTO.TargetSeconds > 0 {
			rto.Detail += " of the " + Secs(r.RTO.TargetSeconds) + " target"
		}
	}
	rpo := report.Check{Name: "RPO", Passed: true}
	var parts []string
	for _, g := range r.RPO {
		parts = append(parts, fmt.Sprintf("%s %s (target %s)", g.Group, Secs(g.AchievedSeconds), Secs(g.TargetSeconds)))
		if !g.Met {
			rpo.Passed = false
		}
	}
	rpo.Detail = strings.Join(parts, ", ")
	return []report.Check{vms, custom, rto, rpo}
}

// Secs renders plan seconds as a duration.
func Secs(s float64) string {
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
