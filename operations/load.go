package operations

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/drplan/drplan/compiler"
	"github.com/drplan/drplan/internal/history"
	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/steps"
)

// Options say how to load a plan and which target to open.
type Options struct {
	// Vars are the operator's -var and -var-file values, in order.
	Vars []plans.VarArg
	// Environ is the environment (KEY=VALUE): TF_VAR_ variables, and
	// DRPLAN_SIM_SERVICES for a live target behind sim serve.
	Environ []string
	// Sim opens the plan's simulated world, built in process, with Seed
	// (0: drawn at random); else the plan's live sites.
	Sim  bool
	Seed int64
}

func (o Options) load() plans.LoadOptions {
	return plans.LoadOptions{Vars: o.Vars, Environ: o.Environ}
}

// PlanError is a plan that did not load: Diags say why. Plan is what was
// loaded, for the files the diagnostics point into.
type PlanError struct {
	Plan  *plans.Plan
	Diags hcl.Diagnostics
}

func (e *PlanError) Error() string { return e.Diags.Error() }

// UnreachableError is a live target none of whose sites could be read:
// Lines says, one line per site, what is wrong (the provider's errors
// name the site and its URL), with the plan's sensitive values redacted.
type UnreachableError struct{ Lines []string }

func (e *UnreachableError) Error() string { return strings.Join(e.Lines, "; ") }

// Compiled is a plan loaded against a target and, once compiled, the
// program of a mode.
type Compiled struct {
	Plan   *plans.Plan
	Prog   *steps.Program
	Diags  hcl.Diagnostics
	Target *Target
	Snap   *inventory.Snapshot
	// Measured is how many VMs' boot times came from past runs.
	Measured int
	// Opts are the compiler's options, as Compile completed them.
	Opts compiler.Options
}

// Load loads the plan in dir, opens its target, reads the target's
// inventory and loads the plan again with the selectors resolved against
// it. A plan that does not load is a *PlanError; a live target none of
// whose sites answers an *UnreachableError. The caller closes
// cp.Target.
func Load(ctx context.Context, dir string, o Options) (*Compiled, error) {
	plan, diags := plans.Load(dir, o.load())
	if diags.HasErrors() {
		return nil, &PlanError{plan, diags}
	}
	t, err := OpenTarget(ctx, plan, o.Sim, o.Seed, o.Environ)
	if err != nil {
		return nil, err
	}
	snap, errs := t.Snapshot(ctx)
	if !o.Sim && len(errs) > 0 && len(errs) == len(t.cfgs) {
		// No live site could be read: the target cannot be opened.
		u := &UnreachableError{}
		for _, name := range slices.Sorted(maps.Keys(errs)) {
			u.Lines = append(u.Lines, plan.Redact(errs[name].Error()))
		}
		t.Close()
		return nil, u
	}
	// The second load, with the selectors resolved, says again what this
	// one said: only what the target adds is kept from here.
	var extra hcl.Diagnostics
	for _, name := range slices.Sorted(maps.Keys(errs)) {
		extra = append(extra, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Site unreachable",
			Detail: fmt.Sprintf("Site %q could not be read: %v. Checks that need its inventory are skipped.", name, plan.Redact(errs[name].Error()))})
	}
	return Resolve(dir, o, plan, t, snap, extra)
}

// Resolve loads the plan in dir again with the selector matches of snap,
// the inventory of target t, which plan (a first load) has. diags are
// what the caller adds to the diagnostics of that load, never those of
// an earlier load of the plan (each would be shown twice). On a
// *PlanError it closes t.
func Resolve(dir string, o Options, plan *plans.Plan, t *Target, snap *inventory.Snapshot, diags hcl.Diagnostics) (*Compiled, error) {
	loadOpts := o.load()
	loadOpts.SelectorMatches = compiler.SelectorMatches(plan, snap)
	plan2, diags2 := plans.Load(dir, loadOpts)
	diags = append(diags2, diags...)
	if diags.HasErrors() {
		t.Close()
		return nil, &PlanError{plan2, diags}
	}
	return &Compiled{Plan: plan2, Diags: diags, Target: t, Snap: snap}, nil
}

// Compile compiles a mode of the loaded plan into cp.Prog, adding its
// diagnostics to cp.Diags; cp.Prog is nil when it does not compile. Boot
// and step times not given in opts come from the runs kept in stateDir.
func (cp *Compiled) Compile(stateDir string, opts compiler.Options) {
	if opts.BootTimes == nil {
		if runs, err := history.List(stateDir); err == nil {
			opts.BootTimes = history.BootTimes(runs, cp.Plan.Name, cp.Target.Kind)
			opts.StepTimes = history.StepTimes(runs, cp.Plan.Name, cp.Target.Kind)
		}
	}
	if d := cp.Target.checkOptions(&opts); d.HasErrors() {
		cp.Diags = append(cp.Diags, d...)
		return
	}
	cp.Measured, cp.Opts = len(opts.BootTimes), opts
	prog, diags := cp.Target.compile(cp.Plan, cp.Snap, opts)
	cp.Prog, cp.Diags = prog, append(cp.Diags, diags...)
}

// Program compiles a mode of the loaded plan against the target and
// returns it, leaving cp as it is.
func (cp *Compiled) Program(opts compiler.Options) (*steps.Program, hcl.Diagnostics) {
	if d := cp.Target.checkOptions(&opts); d.HasErrors() {
		return nil, d
	}
	return cp.Target.compile(cp.Plan, cp.Snap, opts)
}

// Drift reports whether the diagnostics found drift.
func Drift(diags hcl.Diagnostics) bool {
	return slices.ContainsFunc(diags, compiler.IsDrift)
}
