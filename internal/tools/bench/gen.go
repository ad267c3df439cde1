package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The fixed shape of a generated plan; only the number of VMs varies.
const (
	numGroups = 100 // protection groups, numGroups/numFiles per file
	numTiers  = 20  // tiers, numGroups/numTiers groups each, priorities 1..5
	numSteps  = 50  // steps of mixed kinds after tiers and steps
	numFiles  = 20  // part-NN files; the recovery plan is in the last one
)

// replication is one replication method with a valid RPO for it.
type replication struct {
	method, rpo string
	extra       string // one more attribute, or ""
}

// replications are assigned to groups in turn.
var replications = []replication{
	{"vsphere_replication", "15m", "retention = 24"},
	{"array_async", "5m", ""},
	{"cdp", "10s", `journal = "24h"`},
	{"snapshot", "1h", "retention = 12"},
}

// group is one protection group of the generated plan.
type group struct {
	name string
	vms  []string
	tier int // 1-based index of the tier that recovers it
	repl replication
}

// step is one step of the generated plan.
type step struct {
	name   string
	kind   string   // command | http | tcp | wait
	attr   string   // the kind's required attribute, as HCL
	after  []string // references: "tier.t01", "step.s01"
	before []string // references: "tier.t05"
}

// layout returns the groups of a plan with vms VMs, spread as evenly as
// possible and numbered vm-00001 upwards.
func layout(vms int) ([]group, error) {
	if vms < numGroups {
		return nil, fmt.Errorf("need at least %d VMs (one per protection group), got %d", numGroups, vms)
	}
	groups := make([]group, numGroups)
	next := 1
	for i := range groups {
		n := vms / numGroups
		if i < vms%numGroups {
			n++
		}
		g := &groups[i]
		g.name = fmt.Sprintf("g%03d", i+1)
		g.tier = i/(numGroups/numTiers) + 1
		g.repl = replications[i%len(replications)]
		for range n {
			g.vms = append(g.vms, fmt.Sprintf("vm-%05d", next))
			next++
		}
	}
	return groups, nil
}

// tierName and tierPriority name tier t (1-based) and give its priority, 1..5.
func tierName(t int) string  { return fmt.Sprintf("t%02d", t) }
func tierPriority(t int) int { return (t-1)/(numTiers/5) + 1 }

// steps returns the steps: odd ones after a tier (some also before a tier of
// the next priority), even ones after the step before them, so the graph has
// no cycle.
func steps() []step {
	var out []step
	for i := 1; i <= numSteps; i++ {
		s := step{name: fmt.Sprintf("s%02d", i)}
		switch i % 4 {
		case 1:
			s.kind, s.attr = "command", fmt.Sprintf(`run = ["echo", "step", %q]`, s.name)
		case 2:
			s.kind, s.attr = "http", fmt.Sprintf(`url = "http://app-%02d:8080/health"`, i)
		case 3:
			s.kind, s.attr = "tcp", fmt.Sprintf(`address = "db-%02d:5432"`, i)
		default:
			s.kind, s.attr = "wait", `duration = "30s"`
		}
		if i%2 == 1 {
			t := (i/2)%numTiers + 1
			s.after = []string{"tier." + tierName(t)}
			if next := t + numTiers/5; i%3 == 0 && next <= numTiers {
				s.before = []string{"tier." + tierName(next)}
			}
		} else {
			s.after = []string{fmt.Sprintf("step.s%02d", i-1)}
		}
		out = append(out, s)
	}
	return out
}

// Generate writes a drplan plan of vms VMs into dir (created if needed):
// sites.drplan.hcl with the sites and variables, and part-01..part-20
// .drplan.hcl with 100 protection groups, the last also holding the
// recovery plan "big" with its 20 tiers and 50 steps.
func Generate(dir string, vms int) error {
	groups, err := layout(vms)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString(`variable "rto" {
  type    = string
  default = "4h"
}

variable "max_parallel" {
  type    = number
  default = 32
}

site "prod" {
  role       = "protected"
  datacenter = "DC-Prod"
}

site "dr" {
  role       = "recovery"
  datacenter = "DC-DR"
}
`)
	if err := writeHCL(filepath.Join(dir, "sites.drplan.hcl"), b.String()); err != nil {
		return err
	}
	perFile := numGroups / numFiles
	for f := range numFiles {
		b.Reset()
		for _, g := range groups[f*perFile : (f+1)*perFile] {
			fmt.Fprintf(&b, "protection_group %q {\n", g.name)
			b.WriteString("site = site.prod\nrecovery_site = site.dr\nconsistency = \"group\"\n")
			b.WriteString("vms = " + stringList(g.vms) + "\n")
			fmt.Fprintf(&b, "replication {\nmethod = %q\nrpo = %q\n", g.repl.method, g.repl.rpo)
			if g.repl.extra != "" {
				b.WriteString(g.repl.extra + "\n")
			}
			b.WriteString("}\n}\n\n")
		}
		if f == numFiles-1 {
			writeRecoveryPlan(&b, groups)
		}
		if err := writeHCL(filepath.Join(dir, fmt.Sprintf("part-%02d.drplan.hcl", f+1)), b.String()); err != nil {
			return err
		}
	}
	return nil
}

// writeRecoveryPlan writes recovery_plan "big" over all groups.
func writeRecoveryPlan(b *strings.Builder, groups []group) {
	b.WriteString("recovery_plan \"big\" {\nprotection_groups = [\n")
	for _, g := range groups {
		b.WriteString("protection_group." + g.name + ",\n")
	}
	b.WriteString(`]
rto = var.rto
max_parallel = var.max_parallel

network_mapping {
  from = "Prod"
  to   = "DR-Prod"
  test = "DR-Test"
}

ip_rule "prod" {
  from_cidr = "10.1.0.0/16"
  to_cidr   = "10.2.0.0/16"
  gateway   = "10.2.0.1"
  dns       = ["10.2.0.53"]
}
`)
	for t := 1; t <= numTiers; t++ {
		var refs []string
		for _, g := range groups {
			if g.tier == t {
				refs = append(refs, "protection_group."+g.name+".vms")
			}
		}
		fmt.Fprintf(b, "\ntier %q {\npriority = %d\nvms = concat(%s)\n", tierName(t), tierPriority(t), strings.Join(refs, ", "))
		b.WriteString("startup {\nwait_for = \"heartbeat\"\ntimeout = \"10m\"\n}\n}\n")
	}
	for _, s := range steps() {
		fmt.Fprintf(b, "\nstep %q {\nafter = [%s]\n", s.name, strings.Join(s.after, ", "))
		if len(s.before) > 0 {
			fmt.Fprintf(b, "before = [%s]\n", strings.Join(s.before, ", "))
		}
		if s.kind == "http" || s.kind == "tcp" {
			b.WriteString("modes = [\"test\", \"failover\", \"migrate\"]\n")
		}
		fmt.Fprintf(b, "%s {\n%s\n}\n}\n", s.kind, s.attr)
	}
	b.WriteString("}\n")
}

// GenerateTerraform writes into dir (created if needed) a Terraform
// configuration of the same size and shape as Generate's plan, built from
// terraform_data resources only: one per VM, group, tier (with depends_on on
// the tiers of the priority before and the steps before it), step (with
// depends_on on what it comes after) and the plan, over 20 .tf files.
func GenerateTerraform(dir string, vms int) error {
	groups, err := layout(vms)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var b strings.Builder
	perFile := numGroups / numFiles
	for f := range numFiles {
		b.Reset()
		if f == 0 {
			b.WriteString(`variable "rto" {
  type    = string
  default = "4h"
}

variable "max_parallel" {
  type    = number
  default = 32
}

resource "terraform_data" "site_prod" {
  input = { role = "protected", datacenter = "DC-Prod" }
}

resource "terraform_data" "site_dr" {
  input = { role = "recovery", datacenter = "DC-DR" }
}

`)
		}
		for _, g := range groups[f*perFile : (f+1)*perFile] {
			fmt.Fprintf(&b, "resource \"terraform_data\" %q {\ninput = {\n", g.name)
			b.WriteString("site = terraform_data.site_prod.id\nrecovery_site = terraform_data.site_dr.id\n")
			fmt.Fprintf(&b, "method = %q\nrpo = %q\n", g.repl.method, g.repl.rpo)
			if g.repl.extra != "" {
				b.WriteString(g.repl.extra + "\n")
			}
			b.WriteString("vms = " + stringList(g.vms) + "\n}\n}\n\n")
			for i, vm := range g.vms {
				fmt.Fprintf(&b, "resource \"terraform_data\" %q {\n", strings.ReplaceAll(vm, "-", "_"))
				fmt.Fprintf(&b, "input = { group = %q, tier = %q, cpus = %d, networks = [\"Prod\"] }\n}\n\n", g.name, tierName(g.tier), 2<<(i%3))
			}
		}
		if f == numFiles-1 {
			writeTerraformPlan(&b, groups)
		}
		if err := writeHCL(filepath.Join(dir, fmt.Sprintf("part-%02d.tf", f+1)), b.String()); err != nil {
			return err
		}
	}
	return nil
}

// writeTerraformPlan writes the tiers, steps and the plan as terraform_data.
func writeTerraformPlan(b *strings.Builder, groups []group) {
	ss := steps()
	tf := func(ref string) string { return "terraform_data." + ref[strings.IndexByte(ref, '.')+1:] }
	for t := 1; t <= numTiers; t++ {
		var refs, deps []string
		for _, g := range groups {
			if g.tier == t {
				refs = append(refs, "terraform_data."+g.name+".input.vms")
			}
		}
		for u := 1; u < t; u++ {
			if tierPriority(u) == tierPriority(t)-1 {
				deps = append(deps, "terraform_data."+tierName(u))
			}
		}
		for _, s := range ss {
			for _, ref := range s.before {
				if ref == "tier."+tierName(t) {
					deps = append(deps, "terraform_data."+s.name)
				}
			}
		}
		fmt.Fprintf(b, "resource \"terraform_data\" %q {\ninput = {\npriority = %d\nvms = concat(%s)\n}\n", tierName(t), tierPriority(t), strings.Join(refs, ", "))
		fmt.Fprintf(b, "depends_on = [%s]\n}\n\n", strings.Join(deps, ", "))
	}
	for _, s := range ss {
		var deps []string
		for _, ref := range s.after {
			deps = append(deps, tf(ref))
		}
		fmt.Fprintf(b, "resource \"terraform_data\" %q {\ninput = {\nkind = %q\n%s\n}\n", s.name, s.kind, s.attr)
		fmt.Fprintf(b, "depends_on = [%s]\n}\n\n", strings.Join(deps, ", "))
	}
	b.WriteString("resource \"terraform_data\" \"plan_big\" {\ninput = {\nprotection_groups = [\n")
	for _, g := range groups {
		b.WriteString("terraform_data." + g.name + ".id,\n")
	}
	b.WriteString(`]
rto = var.rto
max_parallel = var.max_parallel
network_mapping = [{ from = "Prod", to = "DR-Prod", test = "DR-Test" }]
ip_rule = { prod = { from_cidr = "10.1.0.0/16", to_cidr = "10.2.0.0/16", gateway = "10.2.0.1", dns = ["10.2.0.53"] } }
}
}
`)
}

// stringList renders names as a multi-line HCL list, ten to a line.
func stringList(names []string) string {
	var b strings.Builder
	b.WriteString("[\n")
	for i, n := range names {
		b.WriteString(`"` + n + `",`)
		if i%10 == 9 || i == len(names)-1 {
			b.WriteString("\n")
		} else {
			b.WriteString(" ")
		}
	}
	b.WriteString("]")
	return b.String()
}

// writeHCL writes src to path in canonical HCL layout.
func writeHCL(path, src string) error {
	return os.WriteFile(path, []byte(formatHCL(src)), 0o644)
}

// formatHCL lays out src, written without indentation, as hclwrite.Format
// (and so `drplan fmt` and `terraform fmt`) would: two spaces per bracket
// level and the "=" of consecutive one-line attributes aligned. It only
// knows the generator's output: no comments, heredocs or brackets in strings.
func formatHCL(src string) string {
	lines := strings.Split(strings.TrimSpace(src), "\n")
	depth := 0
	for i, line := range lines {
		line = strings.TrimSpace(line)
		opens, closes := brackets(line)
		lead := 0
		for lead < len(line) && strings.ContainsRune("}])", rune(line[lead])) {
			lead++
		}
		depth -= lead
		if line != "" {
			line = strings.Repeat("  ", depth) + line
		}
		lines[i] = line
		depth += opens - (closes - lead)
	}
	// Align "=" over each run of consecutive one-line attributes.
	for start := 0; start < len(lines); {
		end, width := start, 0
		for ; end < len(lines); end++ {
			key, _, ok := oneLineAttr(lines[end])
			if !ok {
				break
			}
			width = max(width, len(key))
		}
		for i := start; i < end; i++ {
			key, value, _ := oneLineAttr(lines[i])
			lines[i] = fmt.Sprintf("%-*s = %s", width, key, value)
		}
		start = max(end, start+1)
	}
	return strings.Join(lines, "\n") + "\n"
}

// oneLineAttr splits an attribute line whose value ends on the same line.
func oneLineAttr(line string) (key, value string, ok bool) {
	key, value, ok = strings.Cut(line, " = ")
	if !ok || strings.TrimSpace(key) == "" || strings.ContainsAny(key, `"{[(`) {
		return "", "", false
	}
	opens, closes := brackets(value)
	return strings.TrimRight(key, " "), value, opens == closes
}

// brackets counts the opening and closing brackets of line outside strings.
func brackets(line string) (opens, closes int) {
	quoted := false
	for _, r := range line {
		switch {
		case r == '"':
			quoted = !quoted
		case quoted:
		case strings.ContainsRune("{[(", r):
			opens++
		case strings.ContainsRune("}])", r):
			closes++
		}
	}
	return opens, closes
}
