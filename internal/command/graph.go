package command

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/drplan/drplan/compiler"
	"github.com/drplan/drplan/steps"
)

func runGraph(c *cli, args []string) int {
	f := c.newFlags("graph", "[-mode MODE] [--sim|--live] [DIR]",
		"Prints the step graph of MODE (default test) in Graphviz DOT, tiers as\nclusters. Without a target it compiles against the simulated sites.")
	f.planFlags()
	mode := f.String("mode", "test", "run `MODE`")
	sim, live := f.targetFlags()
	pos, code, ok := c.parse(f, args, 1)
	if !ok {
		return code
	}
	isSim, m, ok := c.targetAndMode("graph", *sim, *live, "sim", *mode)
	if !ok {
		return ExitError
	}
	dir := planDir(pos)
	cp, code := c.compileFor(context.Background(), f, dir, c.stateDir("", dir), isSim, compiler.Options{Mode: m, Preview: true})
	if cp == nil {
		return code
	}
	defer cp.Target.Close()
	if cp.Prog == nil {
		c.validateView(f).Validated(cp.Plan, cp.Diags)
		return ExitError
	}
	writeDOT(c.stdout, cp.Prog)
	return ExitOK
}

// writeDOT renders a program as a Graphviz digraph: one cluster per tier,
// an edge from each step to what waits for it.
func writeDOT(w io.Writer, p *steps.Program) {
	q := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
	fmt.Fprintf(w, "digraph %s {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n", q(p.Plan+" "+p.Mode))
	byTier := map[string][]*steps.Step{}
	var tiers []string
	for _, s := range p.Steps {
		if s.Tier == "" {
			continue
		}
		if byTier[s.Tier] == nil {
			tiers = append(tiers, s.Tier)
		}
		byTier[s.Tier] = append(byTier[s.Tier], s)
	}
	for i, t := range tiers {
		fmt.Fprintf(w, "  subgraph cluster_%d {\n    label=%s;\n    style=rounded;\n", i, q("tier "+t))
		for _, s := range byTier[t] {
			fmt.Fprintf(w, "    %s%s;\n", q(s.Addr.String()), dotStyle(s))
		}
		fmt.Fprintf(w, "  }\n")
	}
	for _, s := range p.Steps {
		if s.Tier == "" {
			fmt.Fprintf(w, "  %s%s;\n", q(s.Addr.String()), dotStyle(s))
		}
	}
	for _, s := range p.Steps {
		for _, d := range s.After {
			fmt.Fprintf(w, "  %s -> %s;\n", q(d.String()), q(s.Addr.String()))
		}
	}
	fmt.Fprintln(w, "}")
}

func dotStyle(s *steps.Step) string {
	switch s.Kind {
	case steps.Barrier:
		return " [shape=point, xlabel=" + `"` + s.Addr.String() + `"` + "]"
	case steps.Custom:
		return " [style=filled, fillcolor=\"#fff3cd\"]"
	}
	return ""
}
