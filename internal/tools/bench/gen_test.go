package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// parseDir parses every file of dir matching pattern and fails on any
// diagnostic.
func parseDir(t *testing.T, dir, pattern string) map[string]*hclsyntax.Body {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		t.Fatal(err)
	}
	bodies := map[string]*hclsyntax.Body{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		file, diags := hclsyntax.ParseConfig(src, f, hcl.InitialPos)
		if len(diags) > 0 {
			t.Fatalf("%s: %s", f, diags.Error())
		}
		bodies[filepath.Base(f)] = file.Body.(*hclsyntax.Body)
	}
	return bodies
}

// blocksOf returns the blocks of the given type in bodies.
func blocksOf(bodies map[string]*hclsyntax.Body, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, body := range bodies {
		for _, b := range body.Blocks {
			if b.Type == typ {
				out = append(out, b)
			}
		}
	}
	return out
}

// value evaluates attribute name of body, failing the test on diagnostics.
func value(t *testing.T, body *hclsyntax.Body, name string, ctx *hcl.EvalContext) cty.Value {
	t.Helper()
	attr, ok := body.Attributes[name]
	if !ok {
		t.Fatalf("%s: no attribute %q", body.SrcRange, name)
	}
	v, diags := attr.Expr.Value(ctx)
	if diags.HasErrors() {
		t.Fatalf("%s: %s", attr.SrcRange, diags.Error())
	}
	return v
}

// stringsOf returns the elements of a list of strings.
func stringsOf(v cty.Value) []string {
	var out []string
	for _, e := range v.AsValueSlice() {
		out = append(out, e.AsString())
	}
	return out
}

func TestGenerate(t *testing.T) {
	const vms = 10000
	dir := t.TempDir()
	if err := Generate(dir, vms); err != nil {
		t.Fatal(err)
	}
	parts, _ := filepath.Glob(filepath.Join(dir, "part-*.drplan.hcl"))
	if len(parts) != numFiles {
		t.Errorf("%d part files, want %d", len(parts), numFiles)
	}
	bodies := parseDir(t, dir, "*")
	if len(bodies) != numFiles+1 {
		t.Errorf("%d files, want %d", len(bodies), numFiles+1)
	}
	for typ, want := range map[string]int{"site": 2, "variable": 2, "protection_group": numGroups, "recovery_plan": 1} {
		if got := len(blocksOf(bodies, typ)); got != want {
			t.Errorf("%d %s blocks, want %d", got, typ, want)
		}
	}

	// Every VM is in exactly one group.
	groups := map[string]cty.Value{}
	inGroup := map[string]string{}
	for _, b := range blocksOf(bodies, "protection_group") {
		v := value(t, b.Body, "vms", nil)
		groups[b.Labels[0]] = cty.ObjectVal(map[string]cty.Value{"vms": v})
		for _, vm := range stringsOf(v) {
			if g, dup := inGroup[vm]; dup {
				t.Errorf("%s in both %s and %s", vm, g, b.Labels[0])
			}
			inGroup[vm] = b.Labels[0]
		}
	}
	if len(inGroup) != vms {
		t.Errorf("%d distinct VMs, want %d", len(inGroup), vms)
	}
	for i := 1; i <= vms; i++ {
		if name := fmt.Sprintf("vm-%05d", i); inGroup[name] == "" {
			t.Fatalf("%s is in no group", name)
		}
	}

	plans := blocksOf(bodies, "recovery_plan")
	if len(plans) != 1 {
		t.FailNow()
	}
	plan := plans[0].Body
	if n := len(value(t, plan, "protection_groups", &hcl.EvalContext{Variables: map[string]cty.Value{
		"protection_group": cty.ObjectVal(groups),
	}}).AsValueSlice()); n != numGroups {
		t.Errorf("recovery plan lists %d groups, want %d", n, numGroups)
	}
	for typ, want := range map[string]int{"tier": numTiers, "step": numSteps, "network_mapping": 1, "ip_rule": 1} {
		n := 0
		for _, b := range plan.Blocks {
			if b.Type == typ {
				n++
			}
		}
		if n != want {
			t.Errorf("%d %s blocks in the recovery plan, want %d", n, typ, want)
		}
	}

	// Every VM is in exactly one tier.
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"protection_group": cty.ObjectVal(groups)},
		Functions: map[string]function.Function{"concat": stdlib.ConcatFunc},
	}
	inTier := map[string]string{}
	priority := map[string]int{}
	for _, b := range plan.Blocks {
		if b.Type != "tier" {
			continue
		}
		p, _ := value(t, b.Body, "priority", nil).AsBigFloat().Int64()
		priority[b.Labels[0]] = int(p)
		for _, vm := range stringsOf(value(t, b.Body, "vms", ctx)) {
			if tier, dup := inTier[vm]; dup {
				t.Errorf("%s in both tier %s and %s", vm, tier, b.Labels[0])
			}
			inTier[vm] = b.Labels[0]
		}
	}
	if len(inTier) != vms {
		t.Errorf("%d VMs in tiers, want %d", len(inTier), vms)
	}
	checkGraph(t, plan, priority)
}

// checkGraph checks that every step has one kind, that after and before are
// lists of references to tiers and steps that exist, and that tiers and
// steps form no cycle.
func checkGraph(t *testing.T, plan *hclsyntax.Body, priority map[string]int) {
	t.Helper()
	edges := map[string][]string{} // node -> nodes that run after it
	nodes := map[string]bool{}
	for tier := range priority {
		nodes["tier."+tier] = true
		for other, p := range priority {
			if p > priority[tier] {
				edges["tier."+tier] = append(edges["tier."+tier], "tier."+other)
			}
		}
	}
	for _, b := range plan.Blocks {
		if b.Type == "step" {
			nodes["step."+b.Labels[0]] = true
		}
	}
	kinds := map[string]int{}
	for _, b := range plan.Blocks {
		if b.Type != "step" {
			continue
		}
		self := "step." + b.Labels[0]
		if len(b.Body.Blocks) != 1 {
			t.Errorf("%s has %d kind blocks, want 1", self, len(b.Body.Blocks))
		} else {
			kinds[b.Body.Blocks[0].Type]++
		}
		for _, name := range []string{"after", "before"} {
			attr, ok := b.Body.Attributes[name]
			if !ok {
				continue
			}
			list, diags := hcl.ExprList(attr.Expr)
			if diags.HasErrors() {
				t.Fatalf("%s.%s: %s", self, name, diags.Error())
			}
			for _, e := range list {
				trav, diags := hcl.AbsTraversalForExpr(e)
				if diags.HasErrors() || len(trav) != 2 {
					t.Fatalf("%s.%s: %s is not a reference", self, name, e.Range())
				}
				ref := trav.RootName() + "." + trav[1].(hcl.TraverseAttr).Name
				if !nodes[ref] {
					t.Fatalf("%s.%s: %s does not exist", self, name, ref)
				}
				if name == "after" {
					edges[ref] = append(edges[ref], self)
				} else {
					edges[self] = append(edges[self], ref)
				}
			}
		}
	}
	for _, kind := range []string{"command", "http", "tcp", "wait"} {
		if kinds[kind] == 0 {
			t.Errorf("no %s step", kind)
		}
	}
	// Kahn's algorithm: a graph without cycles empties.
	indeg := map[string]int{}
	for _, to := range edges {
		for _, n := range to {
			indeg[n]++
		}
	}
	var ready []string
	for n := range nodes {
		if indeg[n] == 0 {
			ready = append(ready, n)
		}
	}
	done := 0
	for len(ready) > 0 {
		n := ready[len(ready)-1]
		ready = ready[:len(ready)-1]
		done++
		for _, m := range edges[n] {
			if indeg[m]--; indeg[m] == 0 {
				ready = append(ready, m)
			}
		}
	}
	if done != len(nodes) {
		t.Errorf("the tier and step graph has a cycle (%d of %d nodes ordered)", done, len(nodes))
	}
}

func TestGenerateSizes(t *testing.T) {
	dir := t.TempDir()
	if err := Generate(dir, 250); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, b := range blocksOf(parseDir(t, dir, "*.drplan.hcl"), "protection_group") {
		n := len(value(t, b.Body, "vms", nil).AsValueSlice())
		if n != 2 && n != 3 {
			t.Errorf("group %s has %d VMs, want 2 or 3", b.Labels[0], n)
		}
		total += n
	}
	if total != 250 {
		t.Errorf("%d VMs, want 250", total)
	}
	if err := Generate(t.TempDir(), numGroups-1); err == nil {
		t.Error("Generate with fewer VMs than groups: no error")
	}
}

func TestGenerateTerraform(t *testing.T) {
	const vms = 10000
	dir := t.TempDir()
	if err := GenerateTerraform(dir, vms); err != nil {
		t.Fatal(err)
	}
	bodies := parseDir(t, dir, "*")
	if len(bodies) != numFiles {
		t.Errorf("%d files, want %d", len(bodies), numFiles)
	}
	names := map[string]bool{}
	for _, b := range blocksOf(bodies, "resource") {
		if b.Labels[0] != "terraform_data" || names[b.Labels[1]] {
			t.Errorf("unexpected resource %v", b.Labels)
		}
		names[b.Labels[1]] = true
	}
	// VMs, groups, tiers, steps, two sites and the plan.
	if want := vms + numGroups + numTiers + numSteps + 3; len(names) != want {
		t.Errorf("%d resources, want %d", len(names), want)
	}
}

func TestFormatHCL(t *testing.T) {
	src := "a \"x\" {\nn = 1\nlong = [\n\"v\",\n]\nlonger = { k = 2 }\nz = 4\nb {\nc = 3\n}\n}\n"
	want := "a \"x\" {\n  n = 1\n  long = [\n    \"v\",\n  ]\n  longer = { k = 2 }\n  z      = 4\n  b {\n    c = 3\n  }\n}\n"
	if got := formatHCL(src); got != want {
		t.Errorf("formatHCL:\n%s\nwant:\n%s", got, want)
	}
}
