package command

import (
	"github.com/drplan/drplan/plans"
	"os"
	"runtime/debug"
)

// validateMemoryLimit is the soft memory limit of drplan validate: the
// parser of a large plan file allocates many short-lived token slices, and
// with the runtime's default pacing the heap of a 10,000-VM plan peaks at
// two or three times its live size. A soft limit makes the collector run
// sooner instead (validate is short and its live data small); GOMEMLIMIT
// overrides it. See make bench-validate.
const validateMemoryLimit = 96 << 20

func runValidate(c *cli, args []string) int {
	if os.Getenv("GOMEMLIMIT") == "" {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(validateMemoryLimit))
	}
	f := c.newFlags("validate", "[-json] [-var NAME=VALUE] [-var-file FILE] [-no-color] [DIR]",
		"Parses, decodes and checks the plan in DIR (default: the current directory)\nwithout touching any site. Exits 0 when the plan is valid (warnings\nallowed) and 1 when it has errors.")
	f.planFlags()
	f.BoolVar(&f.json, "json", false, "print one JSON document in the shape of terraform validate -json")
	pos, code, ok := c.parse(f, args, 1)
	if !ok {
		return code
	}
	dir := planDir(pos)
	plan, diags := plans.Load(dir, plans.LoadOptions{Vars: f.vars, Environ: c.environ})
	view := c.validateView(f)
	return view.Validated(plan, diags)
}
