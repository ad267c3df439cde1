package compiler

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"

	"github.com/drplan/drplan/internal/units"
	"github.com/drplan/drplan/internal/words"
	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/plans"
)

// Summaries of the diagnostics that report drift between a plan and its
// sites; -detailed-exitcode looks for them.
const (
	SummaryVMNotFound     = "VM not found"
	SummaryUnprotected    = "Unprotected VM"
	SummaryReplicaMissing = "Replica missing"
	SummaryReplicaStale   = "Replica older than the RPO"
	// SummaryDiskNotReplicated reports a disk its replica lacks.
	SummaryDiskNotReplicated = "Disk not replicated"
	// SummaryDiskNoCopy reports a replica disk a drill cannot copy.
	SummaryDiskNoCopy = "Replica disk cannot be copied"
)

// IsDrift reports whether a diagnostic reports drift.
func IsDrift(d *hcl.Diagnostic) bool {
	switch d.Summary {
	case SummaryVMNotFound, SummaryUnprotected, SummaryReplicaMissing, SummaryReplicaStale, SummaryDiskNotReplicated:
		return true
	}
	return false
}

// checkInventory makes the checks that need the sites' inventories.
func (b *builder) checkInventory() {
	b.checkSitesReachable()
	b.checkVMsExist()
	b.checkUnprotected()
	b.checkSelectors()
	b.checkRecoversSomething()
	b.checkNetworks()
	b.checkCapacity()
	b.checkReplicas()
	b.checkDirection()
}

// checkDirection makes sure reprotect and failback find the world where a
// failover left it: reprotect reverses the replication of VMs that run
// at the recovery site; failback needs their replicas back at the
// protected site. Run otherwise, they would power off production.
func (b *builder) checkDirection() {
	if b.mode != plans.ModeReprotect && b.mode != plans.ModeFailback || b.opts.Preview {
		return
	}
	for _, name := range b.rp.ProtectionGroups {
		g := b.groups[name]
		if g == nil || !b.siteReachable(g.Site) || !b.siteReachable(g.RecoverySite) {
			continue
		}
		var notRecovered, noReplica []string
		for _, vm := range b.members(g) {
			if b.inventoryVM(g.RecoverySite, vm) == nil {
				notRecovered = append(notRecovered, vm)
			} else if b.mode == plans.ModeFailback && b.replica(g.Site, vm) == nil {
				noReplica = append(noReplica, vm)
			}
		}
		if len(notRecovered) > 0 {
			b.errorf(g.DeclRange, "Not failed over", "%s %s of group %q %s not run at recovery site %q: %s %s. %s follows a failover or a migration; run one of those first.",
				plural(len(notRecovered), "VM", "VMs"), quoteList(notRecovered), g.Name, plural(len(notRecovered), "does", "do"), g.RecoverySite,
				plural(len(notRecovered), "its replica is still a replica", "their replicas are still replicas"), "there", strings.ToUpper(string(b.mode[:1]))+string(b.mode[1:]))
		}
		if len(noReplica) > 0 {
			b.errorf(g.DeclRange, "Not reprotected", "%s %s of group %q %s no replica at site %q to fail back to. Run drplan run -mode reprotect first, so that replication runs back to %q.",
				plural(len(noReplica), "VM", "VMs"), quoteList(noReplica), g.Name, plural(len(noReplica), "has", "have"), g.Site, g.Site)
		}
	}
}

// SummaryFailedOver reports a group that a failover or migration has
// already recovered.
const SummaryFailedOver = "Already failed over"

// SummarySiteNeeded reports a site the mode cannot do without that did
// not answer.
const SummarySiteNeeded = "Required site unreachable"

// checkSitesReachable refuses a mode whose sites did not answer: nothing
// can be proven, or done, at a site that cannot be read. Only a failover
// goes on without its protected site: that is the disaster it is for. A
// program compiled from an empty inventory would name VMs that are not
// there (the replicas' names unknown), so it is never made.
func (b *builder) checkSitesReachable() {
	if b.opts.Preview {
		return
	}
	need := map[string]string{}    // site -> why
	protected := map[string]bool{} // the sites VMs leave
	for _, name := range b.rp.ProtectionGroups {
		g := b.groups[name]
		if g == nil {
			continue
		}
		switch b.mode {
		case plans.ModeTest:
			need[b.toSite(g)] = "its replicas are copied there"
			need[b.fromSite(g)] = "the drill proves it unchanged"
		case plans.ModeCleanup:
			need[b.toSite(g)] = "the drill's copies are removed there"
		case plans.ModeFailover:
			need[b.toSite(g)] = "its replicas are promoted there"
		case plans.ModeMigrate, plans.ModeFailback:
			need[b.toSite(g)] = "its replicas are promoted there"
			need[b.fromSite(g)] = "its VMs are shut down and synchronised there first"
			protected[b.fromSite(g)] = true
		case plans.ModeReprotect:
			need[g.RecoverySite] = "its VMs run there"
			need[g.Site] = "the VMs left there become replicas"
		}
	}
	for _, site := range sortedKeys(need) {
		if b.siteReachable(site) {
			continue
		}
		hint := "Nothing was changed at any site. Check that its vCenter answers (URL, DNS, certificate, credentials) and run again."
		if b.mode == plans.ModeMigrate && protected[site] {
			hint += " If the site is lost, run a failover instead: it recovers without the protected site."
		}
		b.errorf(hcl.Range{}, SummarySiteNeeded, "Site %q could not be read, and a %s needs it: %s. %s", site, b.mode, need[site], hint)
	}
}

func (b *builder) siteReachable(name string) bool {
	s := b.inv.Sites[name]
	return s != nil && s.Reachable
}

// checkVMsExist reports named VMs that are not at their protected site.
func (b *builder) checkVMsExist() {
	for _, name := range b.rp.ProtectionGroups {
		g := b.groups[name]
		if g == nil || !b.siteReachable(g.Site) {
			continue
		}
		site := b.inv.Sites[g.Site]
		var names []string // for suggestions, made only when needed
		for _, vm := range b.notFound(g) {
			if b.mode == plans.ModeFailback && b.inventoryVM(g.RecoverySite, vm) != nil {
				continue // failed over: it lives at the recovery site now
			}
			if names == nil {
				for _, v := range site.VMs {
					if v.Replica == nil && v.Run == "" {
						names = append(names, v.Name)
					}
				}
			}
			detail := fmt.Sprintf("Group %q protects VM %q, but datacenter %s of site %q has no VM of that name.", g.Name, vm, site.Datacenter, g.Site)
			if s := closest(vm, names); s != "" {
				detail += fmt.Sprintf(" Did you mean %q?", s)
			}
			detail += " Correct the name, or remove it if the VM was retired."
			sev := hcl.DiagError
			if b.mode == plans.ModeFailover || b.mode == plans.ModeReprotect || b.mode == plans.ModeCleanup {
				sev = hcl.DiagWarning // recovery goes on from the replica
			}
			b.diag(sev, g.VMsRange, SummaryVMNotFound, detail)
		}
	}
}

// notFound returns the VMs a group names that are not at its protected
// site (excluded ones aside); nothing when the site was not read.
func (b *builder) notFound(g *plans.ProtectionGroup) []string {
	if !b.siteReachable(g.Site) {
		return nil
	}
	var out []string
	for _, vm := range g.VMs {
		if !matchesAny(g.Exclude, vm) && b.inventoryVM(g.Site, vm) == nil {
			out = append(out, vm)
		}
	}
	return out
}

// unprotected returns the VMs of a group's protected site that sit where
// one of its selectors looks but that no group protects.
func (b *builder) unprotected(g *plans.ProtectionGroup, sel *plans.Selector) []string {
	site := b.inv.Sites[g.Site]
	if site == nil || !site.Reachable {
		return nil
	}
	if b.member == nil {
		b.member = map[string]bool{}
		for _, g := range b.p.ProtectionGroups {
			for _, vm := range b.members(g) {
				b.member[vm] = true
			}
		}
	}
	var lost []string
	for _, v := range site.VMs {
		if v.Replica == nil && v.Run == "" && !b.member[v.Name] && !matchesAny(g.Exclude, v.Name) && selectsLoosely(sel, v) {
			lost = append(lost, v.Name)
		}
	}
	return lost
}

// checkUnprotected warns about VMs that sit where a selector looks but
// that no group protects.
func (b *builder) checkUnprotected() {
	for _, g := range b.p.ProtectionGroups {
		for _, sel := range g.Selectors {
			if lost := b.unprotected(g, sel); len(lost) > 0 {
				b.warnf(sel.DeclRange, SummaryUnprotected, "%s %s sit%s where this selector of group %q looks (%s) but no protection group protects %s. Widen the selector, add %s to vms, or exclude %s explicitly.",
					plural(len(lost), "VM", "VMs"), quoteList(lost), plural(len(lost), "s", ""), g.Name, selectorText(sel), pronoun(len(lost)), pronoun(len(lost)), pronoun(len(lost)))
			}
		}
	}
}

// checkSelectors warns about selectors of the plan's groups that match
// no VM of their reachable protected site: probably a misspelt folder or
// tag. Failback, reprotect and cleanup find the VMs elsewhere.
func (b *builder) checkSelectors() {
	switch b.mode {
	case plans.ModeFailback, plans.ModeReprotect, plans.ModeCleanup:
		return
	}
	for _, name := range b.rp.ProtectionGroups {
		g := b.groups[name]
		if g == nil || !b.siteReachable(g.Site) {
			continue
		}
		site := b.inv.Sites[g.Site]
		for _, sel := range g.Selectors {
			found := false
			for _, vm := range site.VMs {
				if vm.Replica == nil && vm.Run == "" && selects(sel, vm) {
					found = true
					break
				}
			}
			if !found {
				what := selectorText(sel)
				if sel.Name != "" {
					what = strings.TrimPrefix(what+", name "+sel.Name, ", ")
				}
				b.warnf(sel.DeclRange, "Selector matches nothing", "This selector of group %q (%s) matches no VM of site %q, so it adds nothing to the group. Check the folder, tag and name against the site's inventory.",
					g.Name, what, g.Site)
			}
		}
	}
}

// checkRecoversSomething makes a recovery plan that would bring up no VM
// an error: a drill or failover of nothing proves nothing.
func (b *builder) checkRecoversSomething() {
	switch b.mode {
	case plans.ModeReprotect, plans.ModeCleanup:
		return
	}
	for _, name := range b.rp.ProtectionGroups {
		if g := b.groups[name]; g != nil && len(b.members(g)) > 0 {
			return
		}
	}
	b.errorf(b.rp.DeclRange, "Recovery plan recovers no VMs", "A %s run of recovery plan %q would recover no VM: its protection groups %s have no members at their sites (their selectors match nothing and their vms lists are empty). Correct the groups' vms or selectors.",
		b.mode, b.rp.Name, quoteList(b.rp.ProtectionGroups))
}

func selectorText(s *plans.Selector) string {
	var parts []string
	if s.Folder != "" {
		parts = append(parts, "folder "+s.Folder)
	}
	if s.Tag != "" {
		parts = append(parts, "tag "+s.Tag)
	}
	return strings.Join(parts, ", ")
}

// checkNetworks reports NICs on networks that no mapping maps.
func (b *builder) checkNetworks() {
	if b.mode == plans.ModeReprotect || b.mode == plans.ModeCleanup {
		return
	}
	unmapped := map[string][]string{}
	seen := map[[2]string]bool{} // network, VM: a set, not a search of the list per VM
	for _, t := range b.rp.Tiers {
		for _, vm := range t.VMs {
			g := b.groupOf[vm]
			if g == nil {
				continue
			}
			for _, n := range b.nicNetworks(g, vm) {
				if b.mapping(n) == "" && !seen[[2]string{n, vm}] {
					seen[[2]string{n, vm}] = true
					unmapped[n] = append(unmapped[n], vm)
				}
			}
		}
	}
	for _, n := range sortedKeys(unmapped) {
		vms := unmapped[n]
		b.errorf(b.rp.DeclRange, "Network without a mapping", "%s %s %s a NIC on port group %q, which no network_mapping of recovery plan %q maps, so recovery would not know where to connect %s. Add network_mapping { from = %q  to = …  test = … }.",
			plural(len(vms), "VM", "VMs"), quoteList(vms), plural(len(vms), "has", "have"), n, b.rp.Name, pronoun(len(vms)), n)
	}
}

// checkCapacity compares what recovers at each site with what the site
// has free for it: its capacity (its capacity block, else its hosts as
// read), less what already runs there, plus what suspend_at_recovery
// powers off before recovery.
//
// Which figures are totals: the capacity block's three, and the CPU and
// memory of the hosts as read; from those the running VMs' share is
// taken (and for the block's storage, the disks of the VMs already
// there). The storage read from an inventory is the datastores' free
// space, already net of every disk that exists, so nothing is taken
// from it again.
func (b *builder) checkCapacity() {
	if b.mode == plans.ModeCleanup || b.mode == plans.ModeReprotect {
		return
	}
	type need struct{ cpus, mem, disk int64 }
	needs := map[string]*need{}
	for vm, g := range b.groupOf {
		src := b.inventoryVM(b.fromSite(g), vm)
		if src == nil {
			src = b.replica(b.toSite(g), vm)
		}
		if src == nil {
			continue
		}
		n := needs[b.toSite(g)]
		if n == nil {
			n = &need{}
			needs[b.toSite(g)] = n
		}
		n.cpus += int64(src.CPUs)
		n.mem += src.MemoryBytes
		n.disk += diskBytes(src)
	}
	for _, site := range b.p.Sites {
		n := needs[site.Name]
		if n == nil {
			continue
		}
		// A vCPU is counted at plans.GHzPerVCPU.
		ghz, mem, storage := float64(0), int64(0), int64(0)
		storageTotal := false
		rng := site.DeclRange
		if c := site.Capacity; c != nil {
			ghz, mem, storage, rng = c.CPUGHz, int64(c.Memory), int64(c.Storage), c.DeclRange
			storageTotal = true
		} else if s := b.inv.Sites[site.Name]; s != nil && s.Reachable {
			ghz, mem, storage = float64(s.Capacity.CPUMHz)/1000, s.Capacity.MemoryBytes, s.Capacity.StorageBytes
		}
		run, freed := b.siteLoad(site.Name)
		var short []string
		if ghz > 0 {
			needGHz := float64(n.cpus) * plans.GHzPerVCPU
			avail := ghz - float64(run.cpus-freed.cpus)*plans.GHzPerVCPU
			if needGHz > avail {
				short = append(short, fmt.Sprintf("CPU: %d vCPUs need about %s GHz, %s GHz available%s", n.cpus, ghzText(needGHz), ghzText(max(avail, 0)),
					netOf(ghzText(ghz)+" GHz", run.cpus > 0, fmt.Sprintf("%s GHz for the %d vCPUs of running VMs", ghzText(float64(run.cpus)*plans.GHzPerVCPU), run.cpus),
						freed.cpus > 0, ghzText(float64(freed.cpus)*plans.GHzPerVCPU)+" GHz")))
			}
		}
		if mem > 0 {
			avail := mem - run.mem + freed.mem
			if n.mem > avail {
				short = append(short, fmt.Sprintf("memory: %s needed, %s available%s", units.Size(n.mem), units.Size(max(avail, 0)),
					netOf(units.Size(mem).String(), run.mem > 0, units.Size(run.mem).String()+" used by running VMs", freed.mem > 0, units.Size(freed.mem).String())))
			}
		}
		if storage > 0 {
			// Powering a VM off frees no disk space: no credit here.
			avail, detail := storage, " (free datastore space)"
			if storageTotal && run.disk > 0 {
				avail -= run.disk
				detail = fmt.Sprintf(" (%s, less %s for the disks of the VMs already there)", units.Size(storage), units.Size(run.disk))
			} else if storageTotal {
				detail = ""
			}
			if n.disk > avail {
				short = append(short, fmt.Sprintf("storage: %s needed, %s available%s", units.Size(n.disk), units.Size(max(avail, 0)), detail))
			}
		}
		if len(short) == 0 {
			continue
		}
		detail := fmt.Sprintf("The VMs that recovery plan %q brings up at site %q need more than it has free. %s.", b.rp.Name, site.Name, strings.Join(short, "; "))
		if len(run.names) > 0 {
			detail += fmt.Sprintf(" Already running there: %s (%d vCPUs, %s memory).", nameSample(run.names), run.cpus, units.Size(run.mem))
			if len(freed.names) > 0 {
				detail += fmt.Sprintf(" suspend_at_recovery powers off %s of them (%d vCPUs, %s memory) before recovery.", nameSample(freed.names), freed.cpus, units.Size(freed.mem))
			} else {
				detail += " suspend_at_recovery powers off none of them."
			}
		}
		detail += " Add capacity, add running VMs that can wait to suspend_at_recovery, or recover fewer VMs."
		b.errorf(rng, "Recovery site too small", "%s", detail)
	}
}

// siteLoad is what already holds a site's capacity when recovery starts
// (run: its powered-on VMs that are not replicas, not a run's copies,
// and not VMs of the plan's groups that recovery brings there or powers
// off; disk: the disks of every such VM, powered on or not), and the
// part of it suspend_at_recovery frees (the powered-on VMs suspendVMs
// powers off before recovery).
func (b *builder) siteLoad(site string) (run, freed siteUse) {
	s := b.inv.Sites[site]
	if s == nil || !s.Reachable {
		return
	}
	for _, v := range s.VMs {
		if v.Replica != nil || v.Run != "" {
			continue
		}
		if g := b.groupOf[v.Name]; g != nil && (site == b.toSite(g) || b.mode != plans.ModeTest) {
			// Recovered here (counted as need), or powered off at the
			// site it leaves. Only a drill leaves production running.
			continue
		}
		run.disk += diskBytes(v)
		if v.PowerState == poweredOn {
			run.add(v)
		}
	}
	if b.mode == plans.ModeCleanup || b.mode == plans.ModeFailback {
		return // suspendVMs are resumed, not suspended
	}
	for _, sv := range b.suspendVMs() {
		if sv.site == site && sv.vm.PowerState == poweredOn {
			freed.add(sv.vm)
		}
	}
	return run, freed
}

const poweredOn = "poweredOn"

// siteUse sums the VMs that hold part of a site's capacity.
type siteUse struct {
	cpus, mem, disk int64
	names           []string
}

func (u *siteUse) add(v *inventory.VM) {
	u.cpus += int64(v.CPUs)
	u.mem += v.MemoryBytes
	u.names = append(u.names, v.Name)
}

func diskBytes(v *inventory.VM) int64 {
	var n int64
	for _, d := range v.Disks {
		n += d.Bytes
	}
	return n
}

// netOf explains an available figure: the total, less what running VMs
// use, plus what suspend_at_recovery frees; nothing when no VM runs.
func netOf(total string, used bool, usedText string, freed bool, freedText string) string {
	if !used {
		return ""
	}
	out := " (" + total + ", less " + usedText
	if freed {
		out += ", plus " + freedText + " that suspend_at_recovery frees"
	}
	return out + ")"
}

// ghzText writes GHz to a tenth, without trailing zeros.
func ghzText(x float64) string { return strconv.FormatFloat(math.Round(x*10)/10, 'f', -1, 64) }

// nameSample quotes up to five names, and says how many more there are.
func nameSample(names []string) string {
	names = slices.Sorted(slices.Values(names))
	if len(names) <= 5 {
		return plural(len(names), "VM ", "VMs ") + quoteList(names)
	}
	return fmt.Sprintf("%d VMs (%s and %d more)", len(names), quoteList(names[:5]), len(names)-5)
}

// checkReplicas reports protected VMs without a replica, replicas older
// than the RPO, and a requested point the replicas do not have.
func (b *builder) checkReplicas() {
	if b.mode == plans.ModeCleanup || b.mode == plans.ModeReprotect || b.mode == plans.ModeFailback {
		return
	}
	sev := hcl.DiagWarning
	if b.mode == plans.ModeMigrate {
		sev = hcl.DiagError
	}
	for _, name := range sortedKeys(b.opts.GroupPoints) {
		if !slices.Contains(b.rp.ProtectionGroups, name) {
			b.errorf(hcl.Range{}, "No such protection group", "-point %s=%s names no protection group of recovery plan %q; its groups are %s.",
				name, b.opts.GroupPoints[name], b.rp.Name, quoteList(b.rp.ProtectionGroups))
		}
	}
	for _, name := range b.rp.ProtectionGroups {
		g := b.groups[name]
		if g == nil || g.Replication == nil || !b.siteReachable(g.RecoverySite) {
			continue
		}
		replicas, missing := b.replicas(g)
		var running []string // failed over already: running at the recovery site
		missing = slices.DeleteFunc(missing, func(vm string) bool {
			if b.inventoryVM(g.RecoverySite, vm) != nil {
				running = append(running, vm)
				return true
			}
			return false
		})
		if len(running) > 0 {
			b.errorf(g.DeclRange, SummaryFailedOver, "%s %s of group %q already %s at recovery site %q, promoted by a failover or migration: there is nothing to %s. Next: drplan run -mode reprotect (replication back to %q), then failback when %q is ready.",
				plural(len(running), "VM", "VMs"), quoteList(running), g.Name, plural(len(running), "runs", "run"), g.RecoverySite, b.mode, g.Site, g.Site)
		}
		if len(missing) > 0 {
			b.diag(hcl.DiagError, g.DeclRange, SummaryReplicaMissing, fmt.Sprintf("%s %s of group %q %s no replica at site %q, so recovery cannot bring %s up. Configure replication for %s, or take %s out of the group.",
				plural(len(missing), "VM", "VMs"), quoteList(missing), g.Name, plural(len(missing), "has", "have"), g.RecoverySite, pronoun(len(missing)), pronoun(len(missing)), pronoun(len(missing))))
			if b.mode == plans.ModeTest {
				b.diags[len(b.diags)-1].Severity = hcl.DiagWarning
			}
		}
		b.checkDisks(g)
		if len(replicas) == 0 {
			continue
		}
		latest, age := b.groupPoint(replicas)
		if rpo := g.Replication.RPO; !latest.IsZero() && age > rpo && rpo > 0 {
			b.diag(sev, g.Replication.DeclRange, SummaryReplicaStale, fmt.Sprintf("The latest recovery point of group %q is %s old, more than its RPO of %s: replication is lagging or stopped. Check the replication of the group's VMs.",
				g.Name, units.FormatDuration(age.Round(time.Second)), units.FormatDuration(rpo)))
		}
		b.choosePoint(g, replicas)
	}
}

// choosePoint resolves the group's recovery-point request against its
// replicas' points, as the run will (inventory.ChoosePoints), and records
// the point in the program's group; a request no point satisfies is an
// error, so that plan refuses what the run would.
func (b *builder) choosePoint(g *plans.ProtectionGroup, replicas []*inventory.VM) {
	req := b.pointOf(g.Name)
	pts := make([]inventory.RecoveryPoints, len(replicas))
	for i, r := range replicas {
		pts[i] = r.Replica.Points
	}
	chosen, err := inventory.ChoosePoints(req, g.Consistency == plans.ConsistencyGroup, pts)
	if err != nil {
		b.errorf(g.DeclRange, "Recovery point not available", "Group %q cannot be recovered from point %s: %v. Points its replicas hold: %s. Choose one of those, latest, or latest-consistent (per group: -point %s=VALUE).",
			g.Name, req, err, pointsText(replicas), g.Name)
		return
	}
	if b.chosen == nil {
		b.chosen = map[string][]time.Time{}
	}
	b.chosen[g.Name] = chosen
}

// pointOf is the recovery-point request for a group: its -point
// GROUP=VALUE, else the run's -point.
func (b *builder) pointOf(group string) string {
	if p, ok := b.opts.GroupPoints[group]; ok {
		return p
	}
	return b.opts.Point
}

// replicas returns the replicas of a group's VMs at its recovery site, and
// the VMs that have none there.
func (b *builder) replicas(g *plans.ProtectionGroup) (replicas []*inventory.VM, missing []string) {
	for _, vm := range b.members(g) {
		r := b.replica(g.RecoverySite, vm)
		if r == nil {
			missing = append(missing, vm)
			continue
		}
		replicas = append(replicas, r)
	}
	return replicas, missing
}

// groupPoint returns the latest point a whole group can be recovered to
// (the oldest of its replicas' latest points) and its age in plan time.
func (b *builder) groupPoint(replicas []*inventory.VM) (time.Time, time.Duration) {
	if len(replicas) == 0 {
		return time.Time{}, 0
	}
	latest := replicas[0].Replica.Points.Latest()
	for _, r := range replicas[1:] {
		if l := r.Replica.Points.Latest(); l.Before(latest) {
			latest = l
		}
	}
	return latest, b.planAge(latest)
}

// planAge is how old t is at the compilation's moment (the inventory's
// clock: plan time in a simulated world).
func (b *builder) planAge(t time.Time) time.Duration { return b.opts.Now.Sub(t) }

// lostDisks lists the disks of a group's VMs that their replicas lack.
func (b *builder) lostDisks(g *plans.ProtectionGroup) []string {
	var lost []string
	for _, vm := range b.members(g) {
		src, rep := b.inventoryVM(g.Site, vm), b.replica(g.RecoverySite, vm)
		if src == nil || rep == nil || len(src.Disks) <= len(rep.Disks) {
			continue
		}
		for _, d := range src.Disks[len(rep.Disks):] {
			lost = append(lost, fmt.Sprintf("%s: %s on datastore %s", vm, units.Size(d.Bytes), d.Datastore))
		}
	}
	return lost
}

// checkDisks warns about disks of protected VMs that their replicas do
// not have: a disk added on a datastore the replication does not cover is
// lost on recovery.
func (b *builder) checkDisks(g *plans.ProtectionGroup) {
	if lost := b.lostDisks(g); len(lost) > 0 {
		b.warnf(g.Replication.DeclRange, SummaryDiskNotReplicated, "The replication of group %q does not cover %s, so %s would be missing after recovery. Add %s to the replication (or its datastore to the replicated set).",
			g.Name, strings.Join(lost, "; "), plural(len(lost), "that disk", "those disks"), plural(len(lost), "it", "them"))
	}
	if b.mode != plans.ModeTest {
		return
	}
	// A drill copies the replicas: a disk the site cannot copy fails it.
	var refused []string
	for _, vm := range b.members(g) {
		if rep := b.replica(g.RecoverySite, vm); rep != nil {
			for _, d := range rep.Disks {
				if d.NoCopy != "" {
					refused = append(refused, fmt.Sprintf("%s: %s", vm, d.NoCopy))
				}
			}
		}
	}
	if len(refused) > 0 {
		b.errorf(g.DeclRange, SummaryDiskNoCopy, "A drill copies the replicas of group %q at site %q, and the site cannot copy %s. Put the replicas on disks it can copy, or leave the group out of the drill.",
			g.Name, g.RecoverySite, strings.Join(refused, "; "))
	}
}

func pointsText(rs []*inventory.VM) string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rs {
		p := r.Replica.Points
		if p.Continuous {
			s := "any time from " + p.JournalStart.UTC().Format(time.RFC3339) + " to " + p.Latest().UTC().Format(time.RFC3339)
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
			continue
		}
		for _, t := range p.Times {
			s := t.UTC().Format(time.RFC3339Nano)
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	sort.Strings(out)
	if len(out) > 12 {
		out = append(out[len(out)-12:], "…")
	}
	return strings.Join(out, ", ")
}

func closest(given string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := levenshtein.Distance(given, c, nil); d < bestD && d <= max(2, len(given)/3) {
			best, bestD = c, d
		}
	}
	return best
}

func quoteList(list []string) string { return words.QuoteList(list) }

func plural(n int, one, many string) string { return words.Plural(n, one, many) }

func pronoun(n int) string { return words.Pronoun(n) }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
