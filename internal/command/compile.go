package command

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/drplan/drplan/compiler"
	"github.com/drplan/drplan/operations"
	"github.com/drplan/drplan/plans"
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

// options are how the verb loads its plan and opens its target.
func (c *cli) options(f *flags, sim bool) operations.Options {
	return operations.Options{Vars: f.vars, Environ: c.environ, Sim: sim, Seed: f.seed}
}

// compileFor loads the plan against the target (see loadAgainst) and
// compiles the mode (operations.Compiled.Compile). On failure it has
// shown why and returns the exit code. The caller closes the target.
func (c *cli) compileFor(ctx context.Context, f *flags, dir, stateDir string, sim bool, opts compiler.Options) (*operations.Compiled, int) {
	cp, code := c.loadAgainst(ctx, f, dir, sim)
	if cp == nil {
		return nil, code
	}
	cp.Compile(stateDir, opts)
	return cp, ExitOK
}

// loadAgainst loads the plan against the target (operations.Load). On
// failure it has shown why and returns the exit code; else the caller
// closes the target.
func (c *cli) loadAgainst(ctx context.Context, f *flags, dir string, sim bool) (*operations.Compiled, int) {
	cp, err := operations.Load(ctx, dir, c.options(f, sim))
	if err != nil {
		return nil, c.loadFailed(f, err)
	}
	return cp, ExitOK
}

// loadFailed shows why a plan could not be loaded against its target.
func (c *cli) loadFailed(f *flags, err error) int {
	var pe *operations.PlanError
	var ue *operations.UnreachableError
	switch {
	case errors.As(err, &pe):
		c.validateView(f).Validated(pe.Plan, pe.Diags)
	case errors.As(err, &ue):
		for _, line := range ue.Lines {
			fmt.Fprintf(c.stderr, "drplan %s: %s\n", f.verb, line)
		}
	default:
		fmt.Fprintf(c.stderr, "drplan %s: %v\n", f.verb, err)
	}
	return ExitError
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

// getenv reads a variable of the cli's environment.
func (c *cli) getenv(name string) string { return operations.Getenv(c.environ, name) }

// targetWord is how a line names the target's sites.
func targetWord(t *operations.Target) string {
	if t.Kind == "sim" {
		return "simulated"
	}
	return "live"
}

// targetFlag is the flag that chooses the target again.
func targetFlag(sim bool) string {
	if sim {
		return "--sim"
	}
	return "--live"
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
