package command

import (
	"context"
	"fmt"
	"slices"

	"github.com/hashicorp/hcl/v2"

	"github.com/drplan/drplan/compiler"
	"github.com/drplan/drplan/internal/history"
	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/steps"
)

// targetFlags adds --sim, --live and -seed.
func (f *flags) targetFlags() (sim, live *bool) {
	f.Int64Var(&f.seed, "seed", 0, "seed `N` of the simulated world's chance (probabilistic faults); 0 picks one at random (printed)")
	return f.Bool("sim", false, "act on the plan's simulated sites, built in process"),
		f.Bool("live", false, "act on the real vCenters of the sites' vcenter blocks (or GOVC_*)")
}

// chooseTarget checks that exactly one of --sim and --live is given, or
// none when the verb has a default.
func (c *cli) chooseTarget(verb string, sim, live bool, def string) (bool, bool) {
	switch {
	case sim && live:
		fmt.Fprintf(c.stderr, "drplan %s: choose one target: --sim or --live, not both.\n", verb)
		return false, false
	case sim:
		return true, true
	case live:
		return false, true
	case def == "sim":
		return true, true
	}
	fmt.Fprintf(c.stderr, "drplan %s: choose a target: --sim (the plan's simulated sites) or --live (the real vCenters of its sites).\n", verb)
	return false, false
}

// compiled is a plan compiled for a mode against a target.
type compiled struct {
	plan   *plans.Plan
	prog   *steps.Program
	diags  hcl.Diagnostics
	target *target
	snap   *inventory.Snapshot
	// measured is how many VMs' boot times came from past runs.
	measured int
	// opts are the compiler's options, as completed by compileFor.
	opts compiler.Options
}

// compileFor loads the plan against the target (see loadAgainst) and
// compiles the mode, with the boot times that the runs kept in stateDir
// measured. On failure it has shown why and returns the exit code. The
// caller closes the target.
func (c *cli) compileFor(ctx context.Context, f *flags, dir, stateDir string, sim bool, opts compiler.Options) (*compiled, int) {
	cp, code := c.loadAgainst(ctx, f, dir, sim)
	if cp == nil {
		return nil, code
	}
	c.compileLoaded(cp, stateDir, opts)
	return cp, ExitOK
}

// compileLoaded compiles the mode of a plan that loadAgainst loaded; see
// compileFor.
func (c *cli) compileLoaded(cp *compiled, stateDir string, opts compiler.Options) {
	if opts.BootTimes == nil {
		if runs, err := history.List(stateDir); err == nil {
			opts.BootTimes = history.BootTimes(runs, cp.plan.Name, cp.target.kind)
			opts.StepTimes = history.StepTimes(runs, cp.plan.Name, cp.target.kind)
		}
	}
	if d := cp.target.checkOptions(&opts); d.HasErrors() {
		cp.diags = append(cp.diags, d...)
		return
	}
	cp.measured, cp.opts = len(opts.BootTimes), opts
	prog, cdiags := cp.target.compile(cp.plan, cp.snap, opts)
	cp.prog, cp.diags = prog, append(cp.diags, cdiags...)
}

// loadAgainst loads the plan, reads the target's inventory and loads the
// plan again with the selectors resolved against it. On failure it has
// shown why and returns the exit code; else the caller closes the
// target.
func (c *cli) loadAgainst(ctx context.Context, f *flags, dir string, sim bool) (*compiled, int) {
	loadOpts := plans.LoadOptions{Vars: f.vars, Environ: c.environ}
	plan, diags := plans.Load(dir, loadOpts)
	if diags.HasErrors() {
		c.validateView(f).Validated(plan, diags)
		return nil, ExitError
	}
	t, err := c.openServedTarget(ctx, plan, sim, f.seed)
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan %s: %v\n", f.verb, err)
		return nil, ExitError
	}
	snap, errs := t.snapshot(ctx)
	if !sim && len(errs) > 0 && len(errs) == len(t.cfgs) {
		// No live site could be read: the target cannot be opened. One
		// line per site, saying what is wrong (the provider's errors
		// name the site and its URL).
		for _, name := range sortedNames(errs) {
			fmt.Fprintf(c.stderr, "drplan %s: %s\n", f.verb, plan.Redact(errs[name].Error()))
		}
		t.close()
		return nil, ExitError
	}
	// The second load, with the selectors resolved, says again what this
	// one said: only what the target adds is kept from here.
	var extra hcl.Diagnostics
	for _, name := range sortedNames(errs) {
		extra = append(extra, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Site unreachable",
			Detail: fmt.Sprintf("Site %q could not be read: %v. Checks that need its inventory are skipped.", name, plan.Redact(errs[name].Error()))})
	}
	return c.resolveAgainst(f, dir, plan, t, snap, extra)
}

// resolveAgainst loads the plan again with the selector matches of snap;
// see loadAgainst. diags are what the caller adds to the diagnostics of
// that load, never those of an earlier load of the plan (each would be
// shown twice).
func (c *cli) resolveAgainst(f *flags, dir string, plan *plans.Plan, t *target, snap *inventory.Snapshot, diags hcl.Diagnostics) (*compiled, int) {
	loadOpts := plans.LoadOptions{Vars: f.vars, Environ: c.environ}
	loadOpts.SelectorMatches = compiler.SelectorMatches(plan, snap)
	plan2, diags2 := plans.Load(dir, loadOpts)
	diags = append(diags2, diags...)
	if diags.HasErrors() {
		t.close()
		c.validateView(f).Validated(plan2, diags)
		return nil, ExitError
	}
	return &compiled{plan: plan2, diags: diags, target: t, snap: snap}, ExitOK
}

// drift reports whether the diagnostics found drift.
func drift(diags hcl.Diagnostics) bool {
	return slices.ContainsFunc(diags, compiler.IsDrift)
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// planDir is the plan directory argument: the last one, "." by default.
func planDir(pos []string) string {
	if len(pos) == 1 {
		return pos[0]
	}
	return "."
}

// targetAndMode checks --sim/--live (see chooseTarget) and -mode, saying
// what is wrong when they are not usable.
func (c *cli) targetAndMode(verb string, sim, live bool, def, mode string) (bool, plans.Mode, bool) {
	isSim, ok := c.chooseTarget(verb, sim, live, def)
	if !ok {
		return false, "", false
	}
	m, err := modeFlag(verb, mode)
	if err != nil {
		fmt.Fprintln(c.stderr, err)
		return false, "", false
	}
	return isSim, m, true
}

// modeFlag parses -mode.
func modeFlag(verb, s string) (plans.Mode, error) {
	for _, m := range plans.Modes {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("drplan %s: -mode %q is not a run mode; use one of test, cleanup, migrate, failover, reprotect, failback", verb, s)
}
