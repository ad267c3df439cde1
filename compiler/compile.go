package compiler

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/steps"
)

// Options choose what to compile.
type Options struct {
	Mode plans.Mode
	// RecoveryPlan names the recovery plan; "" picks the only one.
	RecoveryPlan string
	// Point is the recovery point: "latest" (default), "latest-consistent"
	// or an RFC 3339 time.
	Point string
	// GroupPoints are per-group requests (-point GROUP=VALUE) that win
	// over Point.
	GroupPoints map[string]string
	// Now is the moment replica ages are measured at; zero means the
	// snapshot's time.
	Now time.Time
	// Estimates override the expected plan-time duration of step kinds.
	Estimates map[steps.Kind]time.Duration
	// FreeOperations estimates VM operations at no plan time, as a world
	// simulated in process takes them (its slow_api faults aside);
	// Estimates still win.
	FreeOperations bool
	// BootTimes gives measured boot times of VMs (from past drills); they
	// win over the simulation block and the default.
	BootTimes map[string]time.Duration
	// StepTimes gives measured plan-time durations of custom steps, by
	// address (from past runs); they win over the step kind's default.
	StepTimes map[steps.Addr]time.Duration
	// Preview compiles the mode as it would run once the world is ready
	// for it (drplan graph): the checks of the sites' state (reachable,
	// failed over, reprotected) are left out.
	Preview bool
	// Simulated compiles for a simulated world: an http or tcp step must
	// aim at loopback or at a host the simulation answers for (a
	// simulated VM's name or address: SimHosts, the inventory's VMs, the
	// addresses the program gives VMs); any other is an error naming the
	// step and the address, so that a simulated run sends nothing off
	// this machine.
	Simulated bool
	SimHosts  []string
}

// Placeholders the runner replaces in step arguments.
const (
	// RunPlaceholder stands for the id of the run (for cleanup: of the
	// test run it cleans up); steps.ExpandRun replaces it.
	RunPlaceholder = steps.RunPlaceholder
	// DrillFolder is the VM folder, at recovery sites, that holds the
	// copies a drill makes; each run gets a subfolder.
	DrillFolder = "drplan-drill"
)

// Default plan-time estimates of step kinds, as a vCenter takes them.
var defaultEstimates = map[steps.Kind]time.Duration{
	steps.Copy:       30 * time.Second,
	steps.Promote:    10 * time.Second,
	steps.Connect:    5 * time.Second,
	steps.Customize:  5 * time.Second,
	steps.PowerOn:    5 * time.Second,
	steps.PowerOff:   5 * time.Second,
	steps.Suspend:    5 * time.Second,
	steps.Resume:     5 * time.Second,
	steps.Shutdown:   time.Minute,
	steps.Destroy:    5 * time.Second,
	steps.Sync:       30 * time.Second,
	steps.Reverse:    30 * time.Second,
	steps.VerifyGone: 5 * time.Second,
}

// DefaultBootTime is a VM's expected boot time when neither a past drill
// nor the simulation block says.
const DefaultBootTime = 45 * time.Second

// builder holds the state of one compilation.
type builder struct {
	p     *plans.Plan
	rp    *plans.RecoveryPlan
	inv   *inventory.Snapshot
	opts  Options
	mode  plans.Mode
	diags hcl.Diagnostics
	prog  *steps.Program

	groups  map[string]*plans.ProtectionGroup
	groupOf map[string]*plans.ProtectionGroup // VM -> group
	tierOf  map[string]*plans.Tier
	order   []*steps.Step
	byAddr  map[steps.Addr]*steps.Step
	// forward is false for failback: VMs go from the recovery site back
	// to the protected one.
	forward bool
	// Lookups of the inventory by site and VM name.
	vmIndex, replicaIndex map[string]map[string]*inventory.VM
	// deps dedupes each step's After list.
	deps        map[*steps.Step]map[steps.Addr]bool
	memberCache map[string][]string
	// member is every VM some group protects, made on first use.
	member map[string]bool
	slab   []steps.Step
	// chosen is each group's recovery point per member replica, as
	// inventory.ChoosePoints resolved it from the snapshot.
	chosen map[string][]time.Time
}

// Compile builds the program of one run mode. p must have been loaded
// with the selector matches of inv (see SelectorMatches) so that tiers
// list every VM. The program is nil when there are errors.
func Compile(p *plans.Plan, inv *inventory.Snapshot, opts Options) (*steps.Program, hcl.Diagnostics) {
	b := newBuilder(p, inv, opts)
	n := 0
	for _, t := range p.RecoveryPlans {
		for _, tier := range t.Tiers {
			n += len(tier.VMs)
		}
	}
	b.order, b.byAddr = make([]*steps.Step, 0, 8*n), make(map[steps.Addr]*steps.Step, 8*n)
	if !slices.Contains(plans.Modes, opts.Mode) {
		b.errorf(hcl.Range{}, "Unknown run mode", "%q is not a run mode; use one of %s.", opts.Mode, modeWords())
		return nil, b.diags
	}
	b.rp = b.pickPlan()
	if b.rp == nil {
		return nil, b.diags
	}
	for _, name := range b.rp.ProtectionGroups {
		if g := b.groups[name]; g != nil {
			for _, vm := range b.members(g) {
				b.groupOf[vm] = g
			}
		}
	}
	for _, t := range b.rp.Tiers {
		for _, vm := range t.VMs {
			if b.tierOf[vm] == nil {
				b.tierOf[vm] = t
			}
		}
	}
	b.prog = &steps.Program{
		FormatVersion: steps.FormatVersion, Plan: p.Name, RecoveryPlan: b.rp.Name, Mode: string(opts.Mode),
		MaxParallel: b.rp.MaxParallel, RTO: steps.Duration(b.rp.RTO),
	}
	b.checkInventory()
	b.describeSites()
	b.describeGroups()
	if b.diags.HasErrors() {
		return nil, b.diags
	}
	b.build()
	if b.checkSimulatedChecks(); b.diags.HasErrors() {
		return nil, b.diags
	}
	b.prog.Steps = topoSort(b.order)
	b.outlineTiers()
	b.prog.Hash = Hash(p, inv, opts.Mode, b.rp.Name, b.pointKey())
	// The plan's sensitive values travel with the program, for every
	// writer of its run.
	b.prog.SetSecrets(b.p.Secrets())
	return b.prog, b.diags
}

// newBuilder starts a compilation: options defaulted, groups by name.
func newBuilder(p *plans.Plan, inv *inventory.Snapshot, opts Options) *builder {
	if opts.Point == "" {
		opts.Point = "latest"
	}
	if opts.Now.IsZero() {
		opts.Now = inv.Taken
	}
	b := &builder{p: p, inv: inv, opts: opts, mode: opts.Mode, groups: map[string]*plans.ProtectionGroup{},
		groupOf: map[string]*plans.ProtectionGroup{}, tierOf: map[string]*plans.Tier{}, byAddr: map[steps.Addr]*steps.Step{},
		forward: opts.Mode != plans.ModeFailback}
	for _, g := range p.ProtectionGroups {
		b.groups[g.Name] = g
	}
	return b
}

func modeWords() string {
	var w []string
	for _, m := range plans.Modes {
		w = append(w, string(m))
	}
	return strings.Join(w, ", ")
}

func (b *builder) pickPlan() *plans.RecoveryPlan {
	if rp := b.p.RecoveryPlan(b.opts.RecoveryPlan); rp != nil {
		return rp
	}
	switch {
	case len(b.p.RecoveryPlans) == 0:
		b.errorf(hcl.Range{}, "No recovery plan", "The plan has no recovery_plan block, so there is nothing to run. Add one that lists protection groups and tiers.")
	case b.opts.RecoveryPlan == "":
		var names []string
		for _, rp := range b.p.RecoveryPlans {
			names = append(names, rp.Name)
		}
		b.errorf(hcl.Range{}, "Several recovery plans", "The plan has recovery plans %s; name the one to run with -recovery-plan NAME.", strings.Join(names, ", "))
	default:
		b.errorf(hcl.Range{}, "No such recovery plan", "There is no recovery_plan %q in the plan.", b.opts.RecoveryPlan)
	}
	return nil
}

func (b *builder) errorf(rng hcl.Range, summary, format string, args ...any) {
	b.diag(hcl.DiagError, rng, summary, fmt.Sprintf(format, args...))
}

func (b *builder) warnf(rng hcl.Range, summary, format string, args ...any) {
	b.diag(hcl.DiagWarning, rng, summary, fmt.Sprintf(format, args...))
}

func (b *builder) diag(sev hcl.DiagnosticSeverity, rng hcl.Range, summary, detail string) {
	d := &hcl.Diagnostic{Severity: sev, Summary: summary, Detail: b.p.Redact(detail)}
	if rng.Filename != "" {
		r := rng
		d.Subject = &r
	}
	b.diags = append(b.diags, d)
}

// fromSite and toSite are where a group's VMs come from and go to in this
// run.
func (b *builder) fromSite(g *plans.ProtectionGroup) string {
	if b.forward {
		return g.Site
	}
	return g.RecoverySite
}

func (b *builder) toSite(g *plans.ProtectionGroup) string {
	if b.forward {
		return g.RecoverySite
	}
	return g.Site
}

func (b *builder) describeSites() {
	roles := map[string]string{}
	for _, name := range b.rp.ProtectionGroups {
		g := b.groups[name]
		if g == nil {
			continue
		}
		roles[b.fromSite(g)] = "protected"
		if _, set := roles[b.toSite(g)]; !set || b.mode == plans.ModeReprotect {
			roles[b.toSite(g)] = "recovery"
		}
	}
	for _, s := range b.p.Sites {
		role, ok := roles[s.Name]
		if !ok {
			continue
		}
		readOnly := role == "protected" && (b.mode == plans.ModeTest || b.mode == plans.ModeCleanup)
		b.prog.Sites = append(b.prog.Sites, steps.Site{Name: s.Name, Datacenter: s.Datacenter, Role: role, ReadOnly: readOnly})
	}
}

func (b *builder) describeGroups() {
	for _, name := range b.rp.ProtectionGroups {
		g := b.groups[name]
		if g == nil || g.Replication == nil {
			continue
		}
		b.prog.Groups = append(b.prog.Groups, steps.Group{
			Name: g.Name, Site: b.fromSite(g), RecoverySite: b.toSite(g), Method: string(g.Replication.Method),
			RPO: steps.Duration(g.Replication.RPO), Consistency: string(g.Consistency), Point: b.pointOf(g.Name),
			VMs: b.members(g), Chosen: chosenRange(b.chosen[g.Name]),
		})
	}
}

// pointKey is the recovery-point request of every group, for the hash:
// the same requests however they were spelt on the command line.
func (b *builder) pointKey() string {
	var k []string
	for _, g := range b.rp.ProtectionGroups {
		k = append(k, g+"="+b.pointOf(g))
	}
	return strings.Join(k, " ")
}

// chosenRange describes chosen points for people: the one point, or the
// oldest and newest.
func chosenRange(ts []time.Time) string {
	if len(ts) == 0 {
		return ""
	}
	lo, hi := inventory.Span(ts)
	f := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	if lo.Equal(hi) {
		return f(lo)
	}
	return f(lo) + " .. " + f(hi)
}

// add appends a step, keeping its address unique.
func (b *builder) add(s *steps.Step) *steps.Step {
	if b.byAddr[s.Addr] != nil {
		panic("compiler: duplicate step address " + s.Addr.String())
	}
	if est, ok := b.opts.Estimates[s.Kind]; ok {
		s.Estimate = steps.Duration(est)
	} else if s.Estimate == 0 && !b.opts.FreeOperations {
		s.Estimate = steps.Duration(defaultEstimates[s.Kind])
	}
	if d, ok := b.opts.StepTimes[s.Addr]; ok && s.Kind == steps.Custom {
		s.Estimate = steps.Duration(d)
	}
	b.order = append(b.order, s)
	b.byAddr[s.Addr] = s
	return s
}

// newStep returns a zeroed step from a slab: plans of thousands of VMs
// make tens of thousands of steps, and one allocation each shows.
func (b *builder) newStep() *steps.Step {
	if len(b.slab) == 0 {
		b.slab = make([]steps.Step, 512)
	}
	s := &b.slab[0]
	b.slab = b.slab[1:]
	return s
}

// after records that s waits for deps, each once.
func (b *builder) after(s *steps.Step, deps ...steps.Addr) {
	for _, d := range deps {
		if d.IsZero() {
			continue
		}
		if len(s.After) < 16 {
			if !slices.Contains(s.After, d) {
				s.After = append(s.After, d)
			}
			continue
		}
		// Long lists (a tier's end waits for all its VMs): keep a set.
		if b.deps == nil {
			b.deps = map[*steps.Step]map[steps.Addr]bool{}
		}
		set := b.deps[s]
		if set == nil {
			set = make(map[steps.Addr]bool, len(s.After)*2)
			for _, x := range s.After {
				set[x] = true
			}
			b.deps[s] = set
		}
		if !set[d] {
			set[d] = true
			s.After = append(s.After, d)
		}
	}
}

// sortedTiers returns the plan's tiers by priority, then declaration.
func (b *builder) sortedTiers() []*plans.Tier {
	ts := slices.Clone(b.rp.Tiers)
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].Priority < ts[j].Priority })
	return ts
}

// members returns a group's VMs, computed once per compile.
func (b *builder) members(g *plans.ProtectionGroup) []string {
	if b.memberCache == nil {
		b.memberCache = map[string][]string{}
	}
	m, ok := b.memberCache[g.Name]
	if !ok {
		m = g.Members()
		b.memberCache[g.Name] = m
	}
	return m
}

// inventoryVM returns a VM's inventory entry at a site (not a replica or a
// run's copy), or nil.
func (b *builder) inventoryVM(site, name string) *inventory.VM {
	b.indexInventory()
	return b.vmIndex[site][name]
}

// replica returns the replica of a VM at a site, or nil.
func (b *builder) replica(site, name string) *inventory.VM {
	b.indexInventory()
	return b.replicaIndex[site][name]
}

// indexInventory builds, once, lookups of the sites' VMs and replicas by
// name: plans of thousands of VMs look each up several times.
func (b *builder) indexInventory() {
	if b.vmIndex != nil {
		return
	}
	b.vmIndex, b.replicaIndex = map[string]map[string]*inventory.VM{}, map[string]map[string]*inventory.VM{}
	for name, s := range b.inv.Sites {
		vms, reps := map[string]*inventory.VM{}, map[string]*inventory.VM{}
		for _, v := range s.VMs {
			switch {
			case v.Run != "":
			case v.Replica != nil:
				if reps[v.Replica.Of] == nil {
					reps[v.Replica.Of] = v
				}
			default:
				if vms[v.Name] == nil {
					vms[v.Name] = v
				}
			}
		}
		b.vmIndex[name], b.replicaIndex[name] = vms, reps
	}
}

// sourcePath is the VM a recovery starts from at the recovery site: the
// replica, or (failing back onto a site whose VM was kept) the VM itself.
func (b *builder) sourcePath(g *plans.ProtectionGroup, vm string) string {
	if r := b.replica(b.toSite(g), vm); r != nil {
		return r.Path()
	}
	if v := b.inventoryVM(b.toSite(g), vm); v != nil {
		return v.Path()
	}
	return vm // no replica: reported by checkReplicas; the step will fail
}

// productionPath is where a recovered VM lives: the folder it had at its
// protected site.
func (b *builder) productionPath(g *plans.ProtectionGroup, vm string) string {
	if v := b.inventoryVM(b.fromSite(g), vm); v != nil {
		return v.Path()
	}
	if r := b.replica(b.toSite(g), vm); r != nil && r.Replica.Folder != "" {
		return r.Replica.Folder + "/" + vm // the protected site cannot be read
	}
	return vm
}
