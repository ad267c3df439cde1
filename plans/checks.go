package plans

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/drplan/drplan/addrs"
	"github.com/drplan/drplan/internal/dag"
	"github.com/drplan/drplan/internal/units"
	"github.com/drplan/drplan/internal/words"
)

// rpoRange is the span of RPOs a replication method can keep; max < 0
// means no upper bound.
type rpoRange struct{ min, max time.Duration }

// RPORanges holds, per method, the RPOs it can keep (language.md's table).
var rpoRanges = map[Method]rpoRange{
	ArraySync:          {0, 0},
	ArrayAsync:         {time.Minute, -1},
	VSphereReplication: {5 * time.Minute, 24 * time.Hour},
	Snapshot:           {15 * time.Minute, -1},
	CDP:                {5 * time.Second, -1},
	Host:               {time.Second, -1},
	Backup:             {time.Hour, -1},
}

// maxPoints is the most point-in-time instances a method keeps; 0 means
// the method keeps only the latest point.
var maxPoints = map[Method]int{ArraySync: 0, Host: 0, VSphereReplication: 24, ArrayAsync: 10000, Snapshot: 10000, CDP: 10000, Backup: 10000}

func (r rpoRange) String() string {
	switch {
	case r.max == 0:
		return "exactly 0s"
	case r.max < 0:
		return units.FormatDuration(r.min) + " or more"
	}
	return units.FormatDuration(r.min) + " to " + units.FormatDuration(r.max)
}

// checkReplication checks a group's replication block on its own and
// against the WAN links of its sites.
func (l *loader) checkReplication(g *ProtectionGroup, a attrs, rpoOK bool) {
	r := g.Replication
	if rr, ok := rpoRanges[r.Method]; ok && rpoOK {
		if r.RPO < rr.min || rr.max >= 0 && r.RPO > rr.max {
			var better []string
			for _, m := range Methods {
				if x := rpoRanges[m]; r.RPO >= x.min && (x.max < 0 || r.RPO <= x.max) {
					better = append(better, string(m))
				}
			}
			alt := "no method keeps an RPO that short"
			if len(better) > 0 {
				alt = "methods that keep it: " + strings.Join(better, ", ")
			}
			l.errorf(a.rng("rpo"), "RPO outside the method's range",
				"%s keeps RPOs of %s, so it cannot keep %s. Change the RPO, or the method (%s).",
				r.Method, rr, units.FormatDuration(r.RPO), alt)
		}
	}
	switch {
	case r.Method == CDP && !a.has("journal") && a.has("method"):
		l.errorf(a.rng("method"), "Missing journal", "cdp keeps every point in a journal window: set journal, such as journal = \"24h\".")
	case r.Method != CDP && a.has("journal") && r.Method != "":
		l.errorf(a.rng("journal"), "Journal without CDP", "journal is the window of recoverable points of cdp replication; %s has no journal. Remove it, or use method = \"cdp\".", r.Method)
	case r.Method == CDP && r.Journal > 0 && r.Journal < r.RPO:
		l.errorf(a.rng("journal"), "Journal shorter than the RPO", "A %s journal cannot hold points %s apart. Make the journal at least as long as the RPO.", units.FormatDuration(r.Journal), units.FormatDuration(r.RPO))
	}
	if a.has("retention") && r.Retention > 0 {
		switch limit, ok := maxPoints[r.Method]; {
		case ok && limit == 0:
			l.warnf(a.rng("retention"), "Retention has no effect", "%s keeps only the latest point, so retention does nothing. Remove it.", r.Method)
		case ok && r.Retention > limit:
			l.errorf(a.rng("retention"), "Retention beyond the method's limit", "%s keeps at most %d points in time; lower retention to %d or less.", r.Method, limit, limit)
		}
	}
	l.checkFeasibility(g, a)
}

// linkFor returns the narrowest WAN link between a group's sites.
func (l *loader) linkFor(g *ProtectionGroup) (units.Rate, string) {
	var bw units.Rate
	var from string
	for _, name := range []string{g.Site, g.RecoverySite} {
		if s := l.site(name); s != nil && s.WAN != nil && s.WAN.Bandwidth > 0 && (bw == 0 || s.WAN.Bandwidth < bw) {
			bw, from = s.WAN.Bandwidth, name
		}
	}
	return bw, from
}

// checkFeasibility warns when a group's changes cannot cross the link
// within one RPO window. Shipping a window's changes within the window
// comes down to the (compressed) change rate fitting in the bandwidth.
func (l *loader) checkFeasibility(g *ProtectionGroup, a attrs) {
	r := g.Replication
	bw, site := l.linkFor(g)
	if r.ChangeRate <= 0 || bw <= 0 {
		return
	}
	need, how := r.ChangeRate, ""
	if r.Compression {
		need, how = need/2, fmt.Sprintf(" (%s/h after 2:1 compression)", bytesPerHour(need/2))
	}
	if need <= bw {
		return
	}
	short := need - bw
	if r.RPO == 0 {
		l.warnf(a.rng("change_rate"), "RPO not feasible on this link",
			"Group %q changes %s/h%s. Synchronous replication must ship every change as it happens, which needs %s; the link of site %q has %s, short by %s. Raise the bandwidth, enable compression, or lower the change rate.",
			g.Name, bytesPerHour(r.ChangeRate), how, need, site, bw, short)
		return
	}
	window := r.RPO
	changed := units.Size(need.BytesPerSecond() * window.Seconds())
	takes := time.Duration(float64(changed) * 8 / float64(bw) * float64(time.Second)).Round(time.Second)
	l.warnf(a.rng("change_rate"), "RPO not feasible on this link",
		"Group %q changes %s/h%s. Each %s window then holds %s to ship, which takes %s over the %s link of site %q, so the %s RPO cannot hold. The link is short by %s (it needs %s): raise the bandwidth, enable compression, or lower the change rate.",
		g.Name, bytesPerHour(r.ChangeRate), how, units.FormatDuration(window), changed, units.FormatDuration(takes), bw, site, units.FormatDuration(window), short, need)
}

func bytesPerHour(r units.Rate) string { return units.Size(r.BytesPerSecond() * 3600).String() }

func (l *loader) site(name string) *Site {
	for _, s := range l.plan.Sites {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func (l *loader) group(name string) *ProtectionGroup {
	for _, g := range l.plan.ProtectionGroups {
		if g.Name == name {
			return g
		}
	}
	return nil
}

// check runs the checks that look across blocks.
func (l *loader) check() {
	l.checkGroups()
	l.checkLinks()
	l.checkCapacity()
	for _, p := range l.plan.RecoveryPlans {
		l.checkPlanGraph(p)
		l.checkPlacement(p)
		l.checkIPRules(p)
		l.checkMappings(p)
		l.checkSteps(p)
	}
}

func (l *loader) checkGroups() {
	owner := map[string]*ProtectionGroup{}
	for _, g := range l.plan.ProtectionGroups {
		if s := l.site(g.Site); s != nil && s.Role == RoleRecovery {
			l.errorf(g.SiteRange, "Protected site is a recovery site", "Group %q protects VMs of site %q, whose role is \"recovery\". Set that site's role to \"protected\" or \"both\", or pick another site.", g.Name, s.Name)
		}
		if s := l.site(g.RecoverySite); s != nil && s.Role == RoleProtected {
			l.errorf(g.RecoverySiteRange, "Recovery site is a protected site", "Group %q recovers to site %q, whose role is \"protected\". Set that site's role to \"recovery\" or \"both\", or pick another site.", g.Name, s.Name)
		}
		if ps, rs := l.site(g.Site), l.site(g.RecoverySite); ps != nil && rs != nil && ps != rs {
			if ph, rh := ps.Hypervisor(), rs.Hypervisor(); ph != "" && rh != "" && ph != rh {
				l.errorf(g.RecoverySiteRange, "Protection group crosses hypervisors", "Group %q protects VMs of site %q (%s) and recovers them at site %q (%s). Recovering between vSphere and libvirt needs the VMs converted (V2V), which drplan does not support yet: recover to a site of the same hypervisor.", g.Name, ps.Name, hypervisorName(ph), rs.Name, hypervisorName(rh))
			}
		}
		if g.Site != "" && g.Site == g.RecoverySite {
			l.errorf(g.RecoverySiteRange, "Group recovers to its own site", "Group %q has site and recovery_site both %q. Replicas must live at another site.", g.Name, g.Site)
		}
		if len(g.VMs) == 0 && len(g.Selectors) == 0 && !l.incomplete[g.Name] {
			l.errorf(g.VMsRange, "Protection group protects nothing", "Group %q has no VMs in vms and no select block. List VM names in vms, or add select { folder = … } or select { tag = … }.", g.Name)
		}
		for _, s := range g.Selectors {
			if s.Folder == "" && s.Tag == "" && s.Name == "" {
				l.errorf(s.DeclRange, "Empty selector", "A select block needs at least one of folder, tag or name; an empty one would match every VM of the site.")
			}
		}
		if l.incomplete[g.Name] {
			continue
		}
		for i, vm := range g.VMs {
			if other := owner[vm]; other != nil && other != g {
				l.errorf(l.elemRange(g, "vms", i, len(g.VMs), g.VMsRange), "VM in two protection groups", "VM %q is in group %q and group %q. A VM is replicated by exactly one group: remove it from one.", vm, other.Name, g.Name)
				continue
			}
			owner[vm] = g
		}
	}
}

func hypervisorName(h string) string {
	if h == "vsphere" {
		return "vSphere"
	}
	return "libvirt/KVM"
}

// checkLinks warns when the groups replicating over one site's link
// together change more than it carries, though each alone fits.
func (l *loader) checkLinks() {
	type load struct {
		need   units.Rate
		groups []string
	}
	bySite := map[string]*load{}
	for _, g := range l.plan.ProtectionGroups {
		r := g.Replication
		bw, site := l.linkFor(g)
		if r == nil || r.ChangeRate <= 0 || bw <= 0 {
			continue
		}
		need := r.ChangeRate
		if r.Compression {
			need /= 2
		}
		if need > bw {
			continue // already reported for the group
		}
		if bySite[site] == nil {
			bySite[site] = &load{}
		}
		bySite[site].need += need
		bySite[site].groups = append(bySite[site].groups, g.Name)
	}
	for _, s := range l.plan.Sites {
		ld := bySite[s.Name]
		if ld == nil || len(ld.groups) < 2 || ld.need <= s.WAN.Bandwidth {
			continue
		}
		l.warnf(l.attrRange(s.WAN, "bandwidth", s.WAN.DeclRange), "Link too narrow for its groups together",
			"Groups %s share the %s link of site %q and together change %s/h, which needs %s: short by %s. Each fits alone, but their RPOs cannot all hold at once.",
			quoteList(ld.groups), s.WAN.Bandwidth, s.Name, bytesPerHour(ld.need), ld.need, ld.need-s.WAN.Bandwidth)
	}
}

// GHzPerVCPU is what a vCPU is counted at against a site's CPU: four
// vCPUs per 2 GHz core, a common consolidation ratio.
const GHzPerVCPU = 0.5

// VMSize is what the simulation block states about a VM's size: its
// vm blocks' cpus, memory and disk, patterns first in order, then its
// exact name, so that the most specific block wins (as the simulator
// applies them). Zero where no block says.
func (s *Simulation) VMSize(name string) (cpus int, memory, disk units.Size) {
	if s == nil {
		return 0, 0, 0
	}
	for _, exact := range []bool{false, true} {
		for _, v := range s.VMs {
			if strings.ContainsAny(v.Pattern, "*?[") == exact {
				continue
			}
			if ok, _ := path.Match(v.Pattern, name); !ok && v.Pattern != name {
				continue
			}
			if v.CPUs > 0 {
				cpus = v.CPUs
			}
			if v.Memory > 0 {
				memory = v.Memory
			}
			if v.Disk > 0 {
				disk = v.Disk
			}
		}
	}
	return cpus, memory, disk
}

// checkCapacity compares, where a recovery site has a capacity block,
// what each recovery plan brings up there (and each group no plan
// recovers) with it, counting the sizes the plan states: a plan states
// VM sizes only in its simulation block's vm entries, so VMs no entry
// sizes count for nothing, and what is reported is certain. What
// already runs at the site is a matter of its inventory, checked when a
// run is planned.
func (l *loader) checkCapacity() {
	sim := l.plan.Simulation
	if sim == nil || len(sim.VMs) == 0 {
		return
	}
	groups := map[string]*ProtectionGroup{}
	for _, g := range l.plan.ProtectionGroups {
		groups[g.Name] = g
	}
	recovered := map[string]bool{}
	check := func(what string, gs []*ProtectionGroup) {
		bySite := map[string][]*ProtectionGroup{}
		for _, g := range gs {
			bySite[g.RecoverySite] = append(bySite[g.RecoverySite], g)
		}
		for _, site := range l.plan.Sites {
			c := site.Capacity
			if c == nil || len(bySite[site.Name]) == 0 {
				continue
			}
			var vms, cpus int
			var mem, disk units.Size
			seen := map[string]bool{}
			for _, g := range bySite[site.Name] {
				for _, vm := range g.Members() {
					if seen[vm] {
						continue
					}
					seen[vm] = true
					n, m, d := sim.VMSize(vm)
					if n > 0 || m > 0 || d > 0 {
						vms++
					}
					cpus, mem, disk = cpus+n, mem+m, disk+d
				}
			}
			// short lists what is short, attrs the attribute of each: the
			// error is at the first.
			var short, attrs []string
			if need := float64(cpus) * GHzPerVCPU; c.CPUGHz > 0 && need > c.CPUGHz {
				short = append(short, fmt.Sprintf("CPU: %d vCPUs need about %s GHz, cpu_ghz is %s", cpus, trimFloat(need), trimFloat(c.CPUGHz)))
				attrs = append(attrs, "cpu_ghz")
			}
			if c.Memory > 0 && mem > c.Memory {
				short = append(short, fmt.Sprintf("memory: %s needed, memory is %s", mem, c.Memory))
				attrs = append(attrs, "memory")
			}
			if c.Storage > 0 && disk > c.Storage {
				short = append(short, fmt.Sprintf("storage: %s of disks, storage is %s", disk, c.Storage))
				attrs = append(attrs, "storage")
			}
			if len(short) > 0 {
				l.errorf(l.attrRange(c, attrs[0], c.DeclRange), "Recovery site too small",
					"The VMs %s brings up at site %q need more than its capacity block gives, counting only the %d %s the simulation block sizes (a vCPU at %s GHz). %s. Raise the capacity, recover some of the VMs elsewhere, or correct the sizes in the simulation block.",
					what, site.Name, vms, words.Plural(vms, "VM", "VMs"), trimFloat(GHzPerVCPU), strings.Join(short, "; "))
			}
		}
	}
	for _, p := range l.plan.RecoveryPlans {
		var gs []*ProtectionGroup
		for _, name := range p.ProtectionGroups {
			if g := groups[name]; g != nil {
				gs = append(gs, g)
				recovered[name] = true
			}
		}
		check(fmt.Sprintf("recovery plan %q", p.Name), gs)
	}
	for _, g := range l.plan.ProtectionGroups {
		if !recovered[g.Name] {
			check(fmt.Sprintf("group %q", g.Name), []*ProtectionGroup{g})
		}
	}
}

func trimFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// checkPlanGraph reports cycles among a plan's tiers and steps, through
// priority, after and before.
func (l *loader) checkPlanGraph(p *RecoveryPlan) {
	g := PlanGraph(p)
	for _, cycle := range g.Cycles() {
		var chain []string
		for i, n := range cycle {
			next := cycle[(i+1)%len(cycle)]
			chain = append(chain, fmt.Sprintf("%s waits for %s (%s)", n, next, edgeReason(p, n, next)))
		}
		first, _ := addrs.ParseRef(cycle[0])
		rng := p.DeclRange
		if t := p.Tier(first.Name); first.Kind == addrs.Tier && t != nil {
			rng = t.DeclRange
		} else if s := p.Step(first.Name); s != nil {
			rng = s.DeclRange
		}
		l.errorf(rng, "Cycle in recovery plan", "Recovery plan %q can never start these, because each waits for the next: %s → %s. %s. Remove one of the after/before references or change a priority.",
			p.Name, strings.Join(cycle, " → "), cycle[0], strings.Join(chain, "; "))
	}
}

// PlanGraph returns the dependency graph of a recovery plan's tiers and
// steps, keyed by address ("tier.web", "step.smoke"). An edge from a to b
// means a starts after b: a tier after every tier of the next lower
// priority, and whatever after and before say.
func PlanGraph(p *RecoveryPlan) *dag.Graph[string] {
	g := dag.New[string]()
	levels := map[int][]string{}
	for _, t := range p.Tiers {
		ref := addrs.Ref{Kind: addrs.Tier, Name: t.Name}.String()
		g.Add(ref)
		levels[t.Priority] = append(levels[t.Priority], ref)
		for _, a := range t.After {
			g.Connect(ref, a.String())
		}
	}
	for _, t := range p.Tiers {
		for below := t.Priority - 1; below >= 1; below-- {
			if len(levels[below]) > 0 {
				for _, dep := range levels[below] {
					g.Connect(addrs.Ref{Kind: addrs.Tier, Name: t.Name}.String(), dep)
				}
				break
			}
		}
	}
	for _, s := range p.Steps {
		ref := addrs.Ref{Kind: addrs.Step, Name: s.Name}.String()
		g.Add(ref)
		for _, a := range s.After {
			g.Connect(ref, a.String())
		}
		for _, b := range s.Before {
			g.Connect(b.String(), ref)
		}
		if t := guestTier(p, s); t != nil {
			g.Connect(ref, addrs.Ref{Kind: addrs.Tier, Name: t.Name}.String())
		}
	}
	return g
}

// guestTier is the tier of the VM a guest step runs in, or nil: the step
// waits for that tier, since its VM must be up.
func guestTier(p *RecoveryPlan, s *Step) *Tier {
	if s.Guest == nil {
		return nil
	}
	for _, t := range p.Tiers {
		if slices.Contains(t.VMs, s.Guest.VM) {
			return t
		}
	}
	return nil
}

// edgeReason says why from waits for to, for cycle reports.
func edgeReason(p *RecoveryPlan, from, to string) string {
	fr, _ := addrs.ParseRef(from)
	tr, _ := addrs.ParseRef(to)
	if fr.Kind == addrs.Tier {
		if t := p.Tier(fr.Name); t != nil && slices.Contains(t.After, tr) {
			return "after"
		}
	}
	if fr.Kind == addrs.Step {
		if s := p.Step(fr.Name); s != nil && slices.Contains(s.After, tr) {
			return "after"
		}
	}
	if fr.Kind == addrs.Step && tr.Kind == addrs.Tier {
		if s := p.Step(fr.Name); s != nil {
			if t := guestTier(p, s); t != nil && t.Name == tr.Name {
				return fmt.Sprintf("it runs a program in VM %s of that tier", s.Guest.VM)
			}
		}
	}
	if tr.Kind == addrs.Step {
		if s := p.Step(tr.Name); s != nil && slices.Contains(s.Before, fr) {
			return fmt.Sprintf("%s has before", to)
		}
	}
	if fr.Kind == addrs.Tier && tr.Kind == addrs.Tier {
		if a, b := p.Tier(fr.Name), p.Tier(tr.Name); a != nil && b != nil {
			return fmt.Sprintf("priority %d after %d", a.Priority, b.Priority)
		}
	}
	return "dependency"
}

// checkPlacement checks that every VM of the plan's groups is in exactly
// one tier, and the per-VM blocks.
func (l *loader) checkPlacement(p *RecoveryPlan) {
	protectedBy := map[string]string{}
	var members []string
	uncertain := false // selectors whose matches are unknown here
	seenGroup := map[string]bool{}
	if l.incomplete["plan:"+p.Name] {
		return // its protection_groups did not decode; anything said here would mislead
	}
	for i, name := range p.ProtectionGroups {
		g := l.group(name)
		if g == nil {
			continue
		}
		if seenGroup[name] {
			l.errorf(l.elemRange(p, "protection_groups", i, len(p.ProtectionGroups), p.DeclRange), "Protection group listed twice", "Recovery plan %q lists protection_group.%s twice; list it once.", p.Name, name)
			continue
		}
		seenGroup[name] = true
		if len(g.Selectors) > 0 && l.opts.SelectorMatches == nil || l.incomplete[name] {
			uncertain = true
		}
		for _, vm := range g.Members() {
			if _, dup := protectedBy[vm]; !dup {
				protectedBy[vm] = name
				members = append(members, vm)
			}
		}
	}

	tierOf := map[string]*Tier{}
	type pair struct{ first, second string }
	dups := map[pair][]string{}
	var pairs []pair
	var strangers []string
	strangerTier := map[string]*Tier{}
	for _, t := range p.Tiers {
		for _, vm := range t.VMs {
			if first := tierOf[vm]; first != nil {
				if first != t {
					k := pair{first.Name, t.Name}
					if dups[k] == nil {
						pairs = append(pairs, k)
					}
					dups[k] = append(dups[k], vm)
				}
				continue
			}
			tierOf[vm] = t
			if _, ok := protectedBy[vm]; !ok && !uncertain {
				strangers = append(strangers, vm)
				strangerTier[vm] = t
			}
		}
	}
	for _, k := range pairs {
		t := p.Tier(k.second)
		l.errorf(t.VMsRange, "VM in two tiers", "%s %s in tier %q and in tier %q. Each VM starts in exactly one tier: remove %s from one of them.",
			plural(len(dups[k]), "VM", "VMs"), quoteList(dups[k])+verb(len(dups[k])), k.first, k.second, pronoun(len(dups[k])))
	}
	var missing []string
	if uncertain {
		members = nil // which VMs the groups hold is only known at plan time
	}
	for _, vm := range members {
		if tierOf[vm] == nil {
			missing = append(missing, fmt.Sprintf("%q (group %s)", vm, protectedBy[vm]))
		}
	}
	if len(missing) > 0 {
		l.errorf(p.DeclRange, "VMs in no tier", "Recovery plan %q would leave %s behind: %s. Add %s to a tier's vms, for example vms = protection_group.NAME.vms.",
			p.Name, plural(len(missing), "VM", "VMs"), strings.Join(missing, ", "), pronoun(len(missing)))
	}
	byTier := map[*Tier][]string{}
	for _, vm := range strangers {
		byTier[strangerTier[vm]] = append(byTier[strangerTier[vm]], vm)
	}
	for _, t := range p.Tiers {
		vms := byTier[t]
		if len(vms) == 0 {
			continue
		}
		detail := fmt.Sprintf("Tier %q names %s %s, but none of the plan's protection groups protects %s, so there is no replica to recover.", t.Name, plural(len(vms), "VM", "VMs"), quoteList(vms), pronoun(len(vms)))
		for _, vm := range vms {
			if g := l.owningGroup(vm); g != "" {
				detail += fmt.Sprintf(" %q is in group %q: add protection_group.%s to protection_groups.", vm, g, g)
			}
		}
		detail += " Otherwise add them to a protection group's vms, or remove them from the tier."
		l.errorf(t.VMsRange, "VM not protected by the plan", "%s", detail)
	}

	l.checkVMOverrides(p, tierOf, uncertain)
}

func (l *loader) owningGroup(vm string) string {
	for _, g := range l.plan.ProtectionGroups {
		if slices.Contains(g.Members(), vm) {
			return g.Name
		}
	}
	return ""
}

// checkVMOverrides checks vm blocks: known VMs, and VM-level after that
// agrees with tier order and has no cycle.
func (l *loader) checkVMOverrides(p *RecoveryPlan, tierOf map[string]*Tier, uncertain bool) {
	known := keys(tierOf)
	unknownVM := func(rng hcl.Range, name, where string) {
		if uncertain {
			return // a selector may match it at plan time
		}
		detail := fmt.Sprintf("%s names VM %q, which is in none of the tiers of recovery plan %q.", where, name, p.Name)
		if s := suggest(name, known); s != "" {
			detail += fmt.Sprintf(" Did you mean %q?", s)
		}
		l.errorf(rng, "Unknown VM", "%s", detail)
	}
	graph := PlanGraph(p)
	vmGraph := dag.New[string]()
	for _, v := range p.VMs {
		if tierOf[v.Name] == nil {
			unknownVM(v.DeclRange, v.Name, "This vm block")
		}
		for i, dep := range v.After {
			vmGraph.Connect(v.Name, dep)
			a, b := tierOf[v.Name], tierOf[dep]
			depRange := l.elemRange(v, "after", i, len(v.After), v.DeclRange)
			if b == nil {
				unknownVM(depRange, dep, fmt.Sprintf("The after list of VM %q", v.Name))
				continue
			}
			if a == nil || a == b {
				continue
			}
			ta := addrs.Ref{Kind: addrs.Tier, Name: a.Name}.String()
			tb := addrs.Ref{Kind: addrs.Tier, Name: b.Name}.String()
			if graph.Reaches(tb, ta) {
				l.errorf(depRange, "VM dependency contradicts tier order",
					"VM %q (tier %q) must start after VM %q, but %q is in tier %q, which starts only after tier %q is done. Move one of the VMs, or drop the dependency.",
					v.Name, a.Name, dep, dep, b.Name, a.Name)
			}
		}
	}
	for _, cycle := range vmGraph.Cycles() {
		rng := p.DeclRange
		if v := p.VM(cycle[0]); v != nil {
			rng = v.DeclRange
			if i := slices.Index(v.After, cycle[(1)%len(cycle)]); i >= 0 {
				rng = l.elemRange(v, "after", i, len(v.After), rng)
			}
		}
		l.errorf(rng, "Cycle in VM dependencies", "These VMs each wait for the next, so none can start: %s → %s. Remove one of the after entries.", strings.Join(cycle, " → "), cycle[0])
	}
}

// checkIPRules warns about rules that an earlier rule shadows: the first
// matching rule wins, so such a rule never applies.
func (l *loader) checkIPRules(p *RecoveryPlan) {
	for j, r := range p.IPRules {
		if !r.FromCIDR.IsValid() {
			continue
		}
		for _, earlier := range p.IPRules[:j] {
			e := earlier.FromCIDR
			if e.IsValid() && e.Bits() <= r.FromCIDR.Bits() && e.Contains(r.FromCIDR.Addr()) {
				l.warnf(l.attrRange(r, "from_cidr", r.DeclRange), "Shadowed IP rule", "Rule %q can never match: every address of %s is taken first by rule %q (%s) at %s. Move it above %q, or remove it.",
					r.Name, r.FromCIDR, earlier.Name, e, earlier.DeclRange, earlier.Name)
				break
			}
		}
	}
}

func (l *loader) checkMappings(p *RecoveryPlan) {
	from := map[string]*NetworkMapping{}
	tests := map[string]*NetworkMapping{}
	for _, m := range p.NetworkMappings {
		if first := from[m.From]; first != nil && m.From != "" {
			l.errorf(l.attrRange(m, "from", m.DeclRange), "Duplicate network mapping", "Network %q is already mapped at %s. Keep one mapping per protected network.", m.From, first.DeclRange)
		}
		from[m.From] = m
		if m.Test != "" {
			tests[m.Test] = m
		}
	}
	for _, m := range p.NetworkMappings {
		if other := tests[m.To]; other != nil && m.To != m.Test {
			l.errorf(l.attrRange(m, "to", m.DeclRange), "Test network is the production network",
				"Port group %q is the failover network of %q and the test network of %q, so a drill would join production. Give drills their own isolated port group.", m.To, m.From, other.From)
		}
	}
}

func (l *loader) checkSteps(p *RecoveryPlan) {
	for _, s := range p.Steps {
		switch {
		case s.Guest != nil && s.Guest.VM != "":
			inPlan := false
			for _, t := range p.Tiers {
				inPlan = inPlan || slices.Contains(t.VMs, s.Guest.VM)
			}
			if !inPlan && !l.planUncertain(p) {
				l.errorf(l.attrRange(s.Guest, "vm", s.DeclRange), "Unknown VM", "Step %q runs a command in VM %q, which is in none of the tiers of recovery plan %q.", s.Name, s.Guest.VM, p.Name)
			}
		case s.Command != nil && s.Command.Dir != "" && l.plan.Dir != "":
			if st, err := os.Stat(l.inPlanDir(s.Command.Dir)); err != nil || !st.IsDir() {
				what := "does not exist"
				if err == nil {
					what = "is not a directory"
				}
				l.errorf(l.attrRange(s.Command, "dir", s.DeclRange), "Command directory not found", "Step %q runs its command in %s, which %s, so the step would fail at run time. dir is relative to the plan directory: create the directory, or correct dir.", s.Name, s.Command.Dir, what)
			}
		case s.Terraform != nil && s.Terraform.Dir != "" && l.plan.Dir != "":
			if st, err := os.Stat(l.inPlanDir(s.Terraform.Dir)); err != nil || !st.IsDir() {
				l.errorf(l.attrRange(s.Terraform, "dir", s.DeclRange), "Terraform directory not found", "Step %q applies the Terraform configuration in %s, which is not a directory. dir is relative to the plan directory.", s.Name, s.Terraform.Dir)
			}
			bin := s.Terraform.Binary
			if strings.Contains(bin, "/") {
				bin = l.inPlanDir(bin) // as the runner finds it
			}
			if _, err := exec.LookPath(bin); err != nil {
				l.warnf(l.attrRange(s.Terraform, "binary", s.DeclRange), "Terraform not found", "Step %q needs the %q binary, which is not on PATH here (a path with a slash is relative to the plan directory); the step will fail at run time. Install Terraform, or set binary to its path.", s.Name, s.Terraform.Binary)
			}
		}
	}
}

// inPlanDir is path p of a step, which is relative to the plan directory
// unless absolute.
func (l *loader) inPlanDir(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(l.plan.Dir, p)
}

func (l *loader) planUncertain(p *RecoveryPlan) bool {
	for _, name := range p.ProtectionGroups {
		if g := l.group(name); g != nil && len(g.Selectors) > 0 && l.opts.SelectorMatches == nil {
			return true
		}
	}
	return false
}

func (l *loader) checkHTTP(h *HTTPCheck, a attrs) {
	if h.URL != "" {
		u, err := url.Parse(h.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			l.errorf(a.rng("url"), "Invalid URL", "%q is not an http or https URL, such as \"http://web-01:8080/health\".", h.URL)
		} else if pw, ok := u.User.Password(); ok && pw != "" {
			l.credential(a, "url", "The url carries a password", pw)
		}
	}
	for _, k := range keys(h.Headers) {
		switch strings.ToLower(k) {
		case "authorization", "proxy-authorization", "cookie":
			v := h.Headers[k]
			if _, cred, ok := strings.Cut(v, " "); ok && strings.TrimSpace(cred) != "" {
				v = strings.TrimSpace(cred) // "Bearer TOKEN": the token
			}
			l.credential(a, "headers", fmt.Sprintf("The %s header carries a credential", k), v)
		}
	}
	if h.ExpectBody != "" {
		if _, err := regexp.Compile(h.ExpectBody); err != nil {
			l.errorf(a.rng("expect_body"), "Invalid regular expression", "expect_body is not a valid regular expression: %v.", err)
		}
	}
}

// checkCommandEnv treats the values of a command step's environment
// variables whose names say they hold a credential (…PASSWORD, …SECRET,
// …TOKEN, …API_KEY, …PRIVATE_KEY) as credentials.
func (l *loader) checkCommandEnv(cmd *Command, a attrs) {
	for _, k := range keys(cmd.Env) {
		up := strings.ToUpper(k)
		for _, word := range []string{"PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "APIKEY", "PRIVATE_KEY"} {
			if strings.Contains(up, word) && cmd.Env[k] != "" {
				l.credential(a, "env", fmt.Sprintf("The environment variable %s carries a credential", k), cmd.Env[k])
				break
			}
		}
	}
}

// credential makes value, a credential given in the attribute name, a
// secret of the plan (never printed, journaled or reported, as a
// password is) and warns when the attribute is a literal, which version
// control and reviews see.
func (l *loader) credential(a attrs, name, what, value string) {
	l.plan.secrets.Add(value)
	if at := a.m[name]; at != nil && len(at.Expr.Variables()) == 0 {
		l.warnf(at.Expr.Range(), "Credential given as a literal",
			"%s, written into the plan, where version control and reviews will see it. Declare a variable with sensitive = true and use it here; drplan never prints the credential either way.", what)
	}
}

// checkGlobs reports malformed glob patterns.
func (l *loader) checkGlobs(patterns []string, rng hcl.Range) {
	for _, p := range patterns {
		if _, err := path.Match(p, ""); err != nil {
			l.errorf(rng, "Invalid pattern", "%q is not a valid name pattern. Patterns use * for any characters, ? for one, and [a-z] for a range.", p)
		}
	}
}

// checkTags reports tags not written CATEGORY:TAG.
func (l *loader) checkTags(tags []string, rng hcl.Range) {
	for _, t := range tags {
		if c, n, ok := strings.Cut(t, ":"); !ok || c == "" || n == "" {
			l.errorf(rng, "Invalid tag", "%q is not a vSphere tag; write CATEGORY:TAG, such as \"dr:tier-1\".", t)
		}
	}
}

func quoteList(list []string) string { return words.QuoteList(list) }

func plural(n int, one, many string) string { return words.Plural(n, one, many) }

func verb(n int) string { return plural(n, " is", " are") }

func pronoun(n int) string { return words.Pronoun(n) }
