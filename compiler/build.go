package compiler

import (
	"net/netip"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/drplan/drplan/addrs"
	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/steps"
)

// build lays out the steps of the mode.
func (b *builder) build() {
	tiers := b.sortedTiers()
	if b.mode == plans.ModeReprotect {
		tiers = nil // reprotect starts no VM: its steps wait for no tier
	}
	for _, t := range tiers {
		b.add(&steps.Step{Addr: steps.TierStart(t.Name), Kind: steps.Barrier, Phase: steps.PhaseControl, Tier: t.Name})
		b.add(&steps.Step{Addr: steps.TierDone(t.Name), Kind: steps.Barrier, Phase: steps.PhaseControl, Tier: t.Name})
	}
	prepared := b.prepare()
	switch b.mode {
	case plans.ModeTest, plans.ModeMigrate, plans.ModeFailover, plans.ModeFailback:
		for _, t := range tiers {
			b.recoverTier(t, prepared)
		}
	case plans.ModeCleanup:
		for i := len(tiers) - 1; i >= 0; i-- {
			b.cleanTier(tiers[i])
		}
	case plans.ModeReprotect:
		b.reverse(prepared)
	}
	b.wireGraph(prepared)
	b.finish()
}

// reverse adds, for every VM of the plan's groups, the steps that turn
// the VM at the site it left into the replica of the VM that now runs
// at the other site: a power-off (a VM of a site that was cut off may
// have come back up: two running copies would split the service) and
// the reversal itself. The steps wait for after; reverse returns their
// addresses.
func (b *builder) reverse(after []steps.Addr) []steps.Addr {
	var ends []steps.Addr
	for _, name := range b.rp.ProtectionGroups {
		g := b.groups[name]
		for _, vm := range b.members(g) {
			target := b.productionPath(g, vm)
			base := steps.Step{VM: vm, Group: g.Name, Site: b.fromSite(g), Slot: true, Phase: steps.PhaseReplicas,
				Timeout: steps.Duration(10 * time.Minute), Retries: vmRetries, OnFailure: string(plans.Halt)}
			off := base
			off.Addr, off.Kind, off.Args = steps.GroupStep(g.Name, vm, "power_off"), steps.PowerOff, steps.Args{Target: target}
			b.add(&off)
			b.after(&off, after...)
			rev := base
			rev.Addr, rev.Kind = steps.GroupStep(g.Name, vm, "reverse"), steps.Reverse
			rev.Args = steps.Args{Target: target, Peer: b.toSite(g)}
			b.add(&rev)
			b.after(&rev, off.Addr)
			ends = append(ends, rev.Addr)
		}
	}
	return ends
}

// prepare adds what comes before any tier: at the protected site the
// shutdowns and final syncs of a migration, the power-offs of a failover;
// at the recovery site the suspension of suspend_at_recovery VMs. It
// returns the addresses tiers must wait for.
func (b *builder) prepare() []steps.Addr {
	var gate []steps.Addr
	switch b.mode {
	case plans.ModeMigrate, plans.ModeFailback:
		for _, name := range b.rp.ProtectionGroups {
			g := b.groups[name]
			// A final sync waits for the next recovery point, which the
			// replication promises within its RPO: it is given that and
			// five minutes more, and never less than half an hour.
			syncTimeout := 30 * time.Minute
			if r := g.Replication; r != nil {
				syncTimeout = max(syncTimeout, r.RPO+5*time.Minute)
			}
			sync := b.add(&steps.Step{Addr: steps.GroupStep(g.Name, "", "sync"), Kind: steps.Sync,
				Phase: steps.PhasePrepare, Group: g.Name, Site: b.toSite(g), Timeout: steps.Duration(syncTimeout), OnFailure: string(plans.Halt)})
			for _, vm := range b.members(g) {
				sd := b.add(&steps.Step{Addr: steps.VMStep(steps.ScopeProtected, vm, "shutdown"), Kind: steps.Shutdown,
					Phase: steps.PhasePrepare, VM: vm, Group: g.Name, Site: b.fromSite(g), Slot: true,
					Args: steps.Args{Target: b.productionPath(g, vm)}, Timeout: steps.Duration(b.startupOf(vm).Timeout), OnFailure: string(plans.Halt)})
				b.after(sync, sd.Addr)
			}
		}
	case plans.ModeFailover:
		for _, name := range b.rp.ProtectionGroups {
			g := b.groups[name]
			for _, vm := range b.members(g) {
				b.add(&steps.Step{Addr: steps.VMStep(steps.ScopeProtected, vm, "power_off"), Kind: steps.PowerOff,
					Phase: steps.PhasePrepare, VM: vm, Group: g.Name, Site: b.fromSite(g), Slot: true, Optional: true,
					Args: steps.Args{Target: b.productionPath(g, vm)}, Timeout: steps.Duration(2 * time.Minute), OnFailure: string(plans.Continue)})
			}
		}
	}
	for _, sv := range b.suspendVMs() {
		// A drill's cleanup resumes what the drill suspended; failback
		// what any failover did ("" matches every run's mark).
		kind, action, scope, run := steps.Suspend, "power_off", steps.ScopeSuspend, RunPlaceholder
		switch b.mode {
		case plans.ModeCleanup:
			kind, action, scope = steps.Resume, "power_on", steps.ScopeResume
		case plans.ModeFailback:
			kind, action, scope, run = steps.Resume, "power_on", steps.ScopeResume, ""
		}
		s := b.add(&steps.Step{Addr: steps.VMStep(scope, sv.name, action), Kind: kind,
			Phase: steps.PhasePrepare, VM: sv.name, Site: sv.site, Slot: true, Args: steps.Args{Target: sv.path, Run: run},
			Timeout: steps.Duration(5 * time.Minute), OnFailure: string(plans.Continue)})
		if kind == steps.Suspend {
			gate = append(gate, s.Addr)
		}
	}
	return gate
}

type suspendVM struct {
	name, site, path string
	vm               *inventory.VM
}

// suspendVMs are the VMs at the recovery sites of the plan's groups that
// suspend_at_recovery names: powered off before recovery (test, failover,
// migrate), powered on again by cleanup and failback. The one selection:
// prepare's steps and checkCapacity's credit both come from here.
func (b *builder) suspendVMs() []suspendVM {
	if len(b.rp.SuspendAtRecovery) == 0 || b.mode == plans.ModeReprotect {
		return nil
	}
	sites := map[string]bool{}
	for _, name := range b.rp.ProtectionGroups {
		sites[b.groups[name].RecoverySite] = true
	}
	var out []suspendVM
	for _, site := range sortedKeys(sites) {
		s := b.inv.Sites[site]
		if s == nil {
			continue
		}
		for _, v := range s.VMs {
			if v.Replica != nil || v.Run != "" || b.groupOf[v.Name] != nil || !matchesAny(b.rp.SuspendAtRecovery, v.Name) {
				continue
			}
			out = append(out, suspendVM{v.Name, site, v.Path(), v})
		}
	}
	slices.SortFunc(out, func(a, c suspendVM) int { return strings.Compare(a.site+"/"+a.name, c.site+"/"+c.name) })
	return out
}

// startupOf is a VM's startup: its tier's, with its vm block's overrides.
func (b *builder) startupOf(vm string) plans.Startup {
	st := plans.DefaultStartup
	if t := b.tierOf[vm]; t != nil {
		st = t.Startup
	}
	if o := b.rp.VM(vm); o != nil {
		st = o.Startup.Apply(st)
	}
	return st
}

// vmRetries is how often a VM step is tried again after a transient
// failure (the provider says which failures are transient).
const vmRetries = 3

// recoverTier adds each VM's sequence: copy or promote, connect,
// customize, power on, wait, settle.
func (b *builder) recoverTier(t *plans.Tier, prepared []steps.Addr) {
	start, done := b.byAddr[steps.TierStart(t.Name)], b.byAddr[steps.TierDone(t.Name)]
	b.after(start, prepared...)
	for _, vm := range t.VMs {
		g := b.groupOf[vm]
		if g == nil {
			continue
		}
		st := b.startupOf(vm)
		site := b.toSite(g)
		base := steps.Step{Tier: t.Name, VM: vm, Group: g.Name, Site: site, OnFailure: string(t.OnFailure), Slot: true,
			Timeout: steps.Duration(10 * time.Minute), Retries: vmRetries}
		step := func(action string, kind steps.Kind, phase steps.Phase, args steps.Args) *steps.Step {
			s := b.newStep()
			*s = base
			s.Addr, s.Kind, s.Phase, s.Args = steps.TierVM(t.Name, vm, action), kind, phase, args
			return b.add(s)
		}
		target := b.recoveredPath(g, vm)
		var storage *steps.Step
		if b.mode == plans.ModeTest {
			storage = step("copy", steps.Copy, steps.PhaseStorage, steps.Args{Source: b.sourcePath(g, vm), Target: target, Folder: path.Dir(target), Point: b.pointOf(g.Name), Networks: b.networks(g, vm),
				Addresses: b.unrecordedAddresses(g, vm)})
		} else {
			storage = step("promote", steps.Promote, steps.PhaseStorage, steps.Args{Source: b.sourcePath(g, vm), Target: target, Point: b.pointOf(g.Name)})
			switch b.mode {
			case plans.ModeMigrate, plans.ModeFailback:
				b.after(storage, steps.GroupStep(g.Name, "", "sync"))
			case plans.ModeFailover:
				b.after(storage, steps.VMStep(steps.ScopeProtected, vm, "power_off"))
			}
		}
		last := storage
		if b.mode != plans.ModeTest {
			c := step("connect", steps.Connect, steps.PhaseNetwork, steps.Args{Target: target, Networks: b.networks(g, vm)})
			b.after(c, last.Addr)
			last = c
		}
		if ip := b.address(g, vm); ip != nil {
			c := step("customize", steps.Customize, steps.PhaseNetwork, steps.Args{Target: target, IP: ip})
			b.after(c, last.Addr)
			last = c
		}
		if st.Action == plans.NoPowerOn {
			b.after(done, last.Addr)
			continue
		}
		on := step("power_on", steps.PowerOn, steps.PhasePowerOn, steps.Args{Target: target})
		b.after(on, last.Addr, start.Addr)
		if o := b.rp.VM(vm); o != nil {
			for _, dep := range o.After {
				if dt := b.tierOf[dep]; dt != nil && b.groupOf[dep] != nil {
					b.after(on, b.readyAddr(dt.Name, dep))
				}
			}
		}
		wait := step("wait_ready", steps.WaitReady, steps.PhaseBoot, steps.Args{Target: target, WaitFor: string(st.WaitFor)})
		wait.Slot, wait.Timeout, wait.Estimate = false, steps.Duration(st.Timeout), steps.Duration(b.bootTime(vm))
		if st.WaitFor == plans.WaitNone {
			wait.Estimate = 0
		}
		b.after(wait, on.Addr)
		last = wait
		if st.Delay > 0 {
			s := step("settle", steps.Settle, steps.PhaseSettle, steps.Args{Delay: steps.Duration(st.Delay)})
			s.Slot, s.Estimate, s.Timeout = false, steps.Duration(st.Delay), steps.Duration(st.Delay+time.Minute)
			b.after(s, wait.Addr)
			last = s
		}
		b.after(done, last.Addr)
	}
}

// recoveredPath is where a VM comes up in this run: a drill's copy in
// the run's folder, else the VM itself where it had been.
func (b *builder) recoveredPath(g *plans.ProtectionGroup, vm string) string {
	if b.mode == plans.ModeTest {
		return drillCopy(vm)
	}
	return b.productionPath(g, vm)
}

// drillCopy is the path, at the recovery site, of a drill's copy of vm:
// in the run's own folder under DrillFolder (the folder itself for "").
func drillCopy(vm string) string { return path.Join(DrillFolder, RunPlaceholder, vm) }

// readyAddr is the step after which a VM counts as up: its settle step if
// it has one, else its wait.
func (b *builder) readyAddr(tier, vm string) steps.Addr {
	if b.startupOf(vm).Delay > 0 {
		return steps.TierVM(tier, vm, "settle")
	}
	if b.startupOf(vm).Action == plans.NoPowerOn {
		return steps.TierStart(tier)
	}
	return steps.TierVM(tier, vm, "wait_ready")
}

// cleanTier undoes a drill's tier: power off and destroy each copy.
func (b *builder) cleanTier(t *plans.Tier) {
	start, done := b.byAddr[steps.TierStart(t.Name)], b.byAddr[steps.TierDone(t.Name)]
	for _, vm := range t.VMs {
		g := b.groupOf[vm]
		if g == nil {
			continue
		}
		target := drillCopy(vm)
		base := steps.Step{Tier: t.Name, VM: vm, Group: g.Name, Site: g.RecoverySite, OnFailure: string(plans.Continue), Slot: true,
			Timeout: steps.Duration(10 * time.Minute), Retries: 2, Phase: steps.PhaseCleanup, Args: steps.Args{Target: target}}
		off := base
		off.Addr, off.Kind = steps.TierVM(t.Name, vm, "power_off"), steps.PowerOff
		b.add(&off)
		b.after(&off, start.Addr)
		del := base
		del.Addr, del.Kind = steps.TierVM(t.Name, vm, "destroy"), steps.Destroy
		b.add(&del)
		b.after(&del, off.Addr)
		b.after(done, del.Addr)
	}
}

// networks are the port groups a VM's NICs go to in this run.
func (b *builder) networks(g *plans.ProtectionGroup, vm string) []string {
	var out []string
	for _, n := range b.nicNetworks(g, vm) {
		if m := b.mapping(n); m != "" {
			out = append(out, m)
		}
	}
	return out
}

// nicNetworks are the port groups of the VM's NICs where it comes from,
// or, when that site cannot be read, of its replica.
func (b *builder) nicNetworks(g *plans.ProtectionGroup, vm string) []string {
	var nets []string
	if v := b.inventoryVM(b.fromSite(g), vm); v != nil {
		for _, n := range v.NICs {
			nets = append(nets, n.Network)
		}
		return nets
	}
	if r := b.replica(b.toSite(g), vm); r != nil {
		for _, n := range r.NICs {
			nets = append(nets, b.unmapRecovery(n.Network))
		}
	}
	return nets
}

// mapping maps a network the VM sits on where it comes from to the one it
// goes to in this mode; "" when no mapping says.
func (b *builder) mapping(n string) string {
	for _, m := range b.rp.NetworkMappings {
		switch {
		case b.mode == plans.ModeTest && m.From == n:
			return m.Test
		case b.forward && m.From == n:
			return m.To
		case !b.forward && m.To == n:
			return m.From
		}
	}
	return ""
}

// unmapRecovery turns a replica's recovery-side network back into the
// protected-side network it maps from (for VMs whose protected site
// cannot be read).
func (b *builder) unmapRecovery(n string) string {
	for _, m := range b.rp.NetworkMappings {
		if b.forward && m.To == n {
			return m.From
		}
		if !b.forward && m.From == n {
			return m.To
		}
	}
	return n
}

// address is the address a VM gets in this run, or nil to keep its own:
// its vm block's ip (every recovery mode), else in failover, migration
// and failback the first ip_rule that matches its current address, with
// the host part kept.
func (b *builder) address(g *plans.ProtectionGroup, vm string) *steps.IP {
	var cur string
	v := b.inventoryVM(b.fromSite(g), vm)
	r := b.replica(b.toSite(g), vm)
	if v != nil {
		cur = v.IP
	}
	if cur == "" && r != nil {
		// The VM is off or its site cannot be read: the address its
		// replication recorded.
		cur = r.Replica.Address()
	}
	addr, _ := netip.ParseAddr(cur)
	if !b.forward {
		// Back home: the address the failover recorded, else the rules
		// read backwards.
		if v != nil && v.Origin != "" {
			return &steps.IP{Address: v.Origin}
		}
		for _, r := range b.rp.IPRules {
			if addr.IsValid() && r.ToCIDR.IsValid() && r.FromCIDR.IsValid() && r.ToCIDR.Contains(addr) {
				return &steps.IP{Address: netip.PrefixFrom(Rebase(addr, r.ToCIDR, r.FromCIDR), r.FromCIDR.Bits()).String()}
			}
		}
		return nil
	}
	var ip *steps.IP
	origin := netip.Prefix{}
	if addr.IsValid() {
		origin = netip.PrefixFrom(addr, addr.BitLen())
	}
	if o := b.rp.VM(vm); o != nil && o.IP != nil {
		ip = &steps.IP{Address: o.IP.Address.String()}
		if o.IP.Gateway.IsValid() {
			ip.Gateway = o.IP.Gateway.String()
		}
	}
	for _, r := range b.rp.IPRules {
		from, to := r.FromCIDR, r.ToCIDR
		if !addr.IsValid() || !from.IsValid() || !to.IsValid() || !from.Contains(addr) {
			continue
		}
		origin = netip.PrefixFrom(addr, from.Bits())
		if ip != nil || b.mode == plans.ModeTest {
			break
		}
		ip = &steps.IP{Address: netip.PrefixFrom(Rebase(addr, from, to), to.Bits()).String()}
		if r.Gateway.IsValid() {
			ip.Gateway = r.Gateway.String()
		}
		for _, d := range r.DNS {
			ip.DNS = append(ip.DNS, d.String())
		}
		break
	}
	if ip != nil && b.mode != plans.ModeTest && origin.IsValid() {
		ip.Origin = origin.String()
	}
	if ip == nil && !addr.IsValid() && b.mode != plans.ModeTest && len(b.rp.IPRules) > 0 {
		b.warnf(b.rp.DeclRange, SummaryAddressUnknown, "The address of VM %q could not be read at site %q (the VM is off, or the site cannot be read) and its replica records none, so no ip_rule can re-address it: it would come up at site %q with whatever address its guest has, and failback could not restore it. Give it an address with vm %q { ip { address = … } } in recovery plan %q, or run a drill while it runs (a drill records the protected VMs' addresses with their replicas).",
			vm, b.fromSite(g), b.toSite(g), vm, b.rp.Name)
	}
	return ip
}

// SummaryAddressUnknown reports a VM that a mode should re-address whose
// address is not known.
const SummaryAddressUnknown = "Address unknown"

// unrecordedAddresses are the protected VM's addresses, as read now, when
// its replica records others (or none): a drill records them with the
// replica, so that a failover after the protected site is lost can still
// re-address the VM.
func (b *builder) unrecordedAddresses(g *plans.ProtectionGroup, vm string) []string {
	v, r := b.inventoryVM(g.Site, vm), b.replica(g.RecoverySite, vm)
	if v == nil || r == nil || v.IP == "" || r.Replica.Address() == v.IP {
		return nil
	}
	return []string{v.IP}
}

// Rebase moves addr from one network into another, keeping as much of its
// host part as the target network holds.
func Rebase(addr netip.Addr, from, to netip.Prefix) netip.Addr {
	a, t := addr.As16(), to.Masked().Addr().As16()
	hostBits := 128 - to.Bits()
	if to.Addr().Is4() {
		hostBits = 32 - to.Bits()
	}
	out := t
	for i := 15; i >= 0 && hostBits > 0; i-- {
		take := min(hostBits, 8)
		mask := byte(1<<take - 1)
		out[i] = t[i]&^mask | a[i]&mask
		hostBits -= take
	}
	r := netip.AddrFrom16(out)
	if to.Addr().Is4() {
		r = r.Unmap()
	}
	return r
}

// bootTime is a VM's expected boot time: measured by past drills, else
// the simulation block's, else the default.
func (b *builder) bootTime(vm string) time.Duration {
	if d, ok := b.opts.BootTimes[vm]; ok {
		return d
	}
	sim := b.p.Simulation
	if sim == nil {
		return DefaultBootTime
	}
	boot := sim.BootTime
	var exact bool
	for _, sv := range sim.VMs {
		isGlob := strings.ContainsAny(sv.Pattern, "*?[")
		if sv.BootTime == 0 || (exact && isGlob) {
			continue
		}
		if ok := globMatch(sv.Pattern, vm); ok {
			boot = sv.BootTime
			exact = exact || !isGlob
		}
	}
	return boot
}

// wireGraph links tiers and custom steps through priorities, after and
// before, leaving out the steps the mode does not run but keeping the
// order they imposed (a left-out step is passed through).
func (b *builder) wireGraph(prepared []steps.Addr) {
	deps := map[string][]string{} // node -> what it waits for
	g := plans.PlanGraph(b.rp)
	for _, n := range g.Nodes() {
		deps[n] = append(deps[n], g.DependsOn(n)...)
	}
	in := map[string]bool{}
	for _, s := range b.rp.Steps {
		addr := addrs.Ref{Kind: addrs.Step, Name: s.Name}.String()
		in[addr] = s.RunsIn(b.mode)
	}
	// Pass left-out steps through.
	for _, s := range b.rp.Steps {
		n := addrs.Ref{Kind: addrs.Step, Name: s.Name}.String()
		keep := in[n] || b.mode == plans.ModeCleanup && s.Terraform != nil && s.RunsIn(plans.ModeTest)
		if keep {
			continue
		}
		for m, ds := range deps {
			if i := slices.Index(ds, n); i >= 0 {
				ds = slices.Delete(ds, i, i+1)
				for _, x := range deps[n] {
					if !slices.Contains(ds, x) && x != m {
						ds = append(ds, x)
					}
				}
				deps[m] = ds
			}
		}
		delete(deps, n)
	}
	if b.mode == plans.ModeCleanup {
		// Undo in reverse: what started last is cleaned up first.
		rev := map[string][]string{}
		for _, n := range sortedKeys(deps) {
			for _, d := range deps[n] {
				rev[d] = append(rev[d], n)
			}
		}
		deps = rev
	}
	for _, s := range b.rp.Steps {
		n := addrs.Ref{Kind: addrs.Step, Name: s.Name}.String()
		if in[n] {
			b.customStep(s, steps.PlanStep(s.Name))
		} else if b.mode == plans.ModeCleanup && s.Terraform != nil && s.RunsIn(plans.ModeTest) {
			b.terraformCleanup(s, steps.PlanStep(s.Name))
		}
	}
	// node (a plan's reference: tier.web, step.smoke) -> the step it
	// stands for, as a dependency (a tier's end) and as a dependent (its
	// start)
	stepOf := func(n string, tierAddr func(string) steps.Addr) steps.Addr {
		ref, err := addrs.ParseRef(n)
		switch {
		case err != nil:
			return steps.Addr{}
		case ref.Kind == addrs.Tier:
			return tierAddr(ref.Name)
		}
		return steps.PlanStep(ref.Name)
	}
	asDep := func(n string) steps.Addr { return stepOf(n, steps.TierDone) }
	asDependent := func(n string) steps.Addr { return stepOf(n, steps.TierStart) }
	for _, n := range sortedKeys(deps) {
		s := b.byAddr[asDependent(n)]
		if s == nil {
			continue
		}
		for _, d := range deps[n] {
			if b.byAddr[asDep(d)] != nil {
				b.after(s, asDep(d))
			}
		}
	}
	for _, s := range b.order {
		if s.Kind == steps.Custom {
			b.after(s, prepared...)
		}
	}
}

// customStep adds a plan step.
func (b *builder) customStep(s *plans.Step, addr steps.Addr) {
	st := &steps.Step{Addr: addr, Kind: steps.Custom, Phase: steps.PhaseCustom, Timeout: steps.Duration(s.Timeout),
		Retries: s.Retries, OnFailure: string(s.OnFailure), Estimate: steps.Duration(customEstimate(s))}
	switch s.Kind {
	case plans.CommandStep:
		dir := s.Command.Dir
		st.Args.Command = &steps.Command{Run: s.Command.Run, Env: s.Command.Env, Dir: dir}
	case plans.HTTPStep:
		h := s.HTTP
		st.Args.HTTP = &steps.HTTP{URL: h.URL, Method: h.Method, Headers: h.Headers, ExpectStatus: h.ExpectStatus, ExpectBody: h.ExpectBody}
	case plans.TCPStep:
		st.Args.TCP = &steps.TCP{Address: s.TCP.Address}
	case plans.GuestStep:
		g := s.Guest
		st.Args.Guest = &steps.Guest{VM: g.VM, Run: g.Run, Username: g.Username, Password: g.Password.Reveal()}
		if grp := b.groupOf[g.VM]; grp != nil {
			st.Site, st.Args.Target = b.toSite(grp), b.recoveredPath(grp, g.VM)
		}
	case plans.PromptStep:
		st.Args.Prompt = &steps.Prompt{Message: s.Prompt.Message}
	case plans.TerraformStep:
		tf := s.Terraform
		st.Args.Terraform = &steps.Terraform{Dir: tf.Dir, Vars: tf.Vars, Binary: tf.Binary}
		if b.mode == plans.ModeTest {
			st.Args.Terraform.Workspace = "drplan-drill-" + RunPlaceholder
		}
	case plans.WaitStep:
		st.Args.Wait = &steps.Wait{Duration: steps.Duration(s.Wait.Duration)}
	}
	b.add(st)
}

// terraformCleanup destroys, in a drill's cleanup, what a Terraform step
// applied in the drill's own workspace.
func (b *builder) terraformCleanup(s *plans.Step, addr steps.Addr) {
	tf := s.Terraform
	b.add(&steps.Step{Addr: addr, Kind: steps.Custom, Phase: steps.PhaseCleanup, Timeout: steps.Duration(s.Timeout),
		Retries: s.Retries, OnFailure: string(plans.Continue), Estimate: steps.Duration(customEstimate(s)),
		Args: steps.Args{Terraform: &steps.Terraform{Dir: tf.Dir, Vars: tf.Vars, Binary: tf.Binary, Workspace: "drplan-drill-" + RunPlaceholder, Destroy: true}}})
}

func customEstimate(s *plans.Step) time.Duration {
	switch s.Kind {
	case plans.WaitStep:
		return s.Wait.Duration
	case plans.HTTPStep, plans.TCPStep:
		return 5 * time.Second
	case plans.PromptStep:
		return 0
	case plans.TerraformStep:
		return time.Minute
	}
	return 30 * time.Second
}

// finish adds the closing steps: cleanup proves nothing is left, and
// every run ends at one barrier.
func (b *builder) finish() {
	var ends []steps.Addr
	for _, s := range b.order {
		if s.Addr == steps.TierDone(s.Addr.Name) || s.Kind == steps.Custom {
			ends = append(ends, s.Addr)
		}
	}
	if b.mode == plans.ModeCleanup {
		sites := map[string]bool{}
		for _, name := range b.rp.ProtectionGroups {
			sites[b.groups[name].RecoverySite] = true
		}
		for _, site := range sortedKeys(sites) {
			folder := drillCopy("")
			rm := b.add(&steps.Step{Addr: steps.SiteStep(site, "remove_folder"), Kind: steps.Destroy, Phase: steps.PhaseCleanup, Site: site,
				Args: steps.Args{Target: folder}, Timeout: steps.Duration(5 * time.Minute), Retries: 2, OnFailure: string(plans.Continue)})
			b.after(rm, ends...)
			v := b.add(&steps.Step{Addr: steps.SiteStep(site, "verify_gone"), Kind: steps.VerifyGone, Phase: steps.PhaseCleanup, Site: site,
				Args: steps.Args{Folder: folder}, Timeout: steps.Duration(5 * time.Minute), OnFailure: string(plans.Halt)})
			b.after(v, rm.Addr)
		}
	}
	for _, s := range b.order {
		if s.Kind == steps.VerifyGone {
			ends = append(ends, s.Addr)
		}
	}
	if b.mode == plans.ModeFailback {
		// Back home: the VMs at the recovery site become replicas again,
		// so that the plan protects as it did before the failover.
		ends = append(ends, b.reverse(ends)...)
	}
	for _, s := range b.order {
		if s.Addr.Scope == steps.ScopeResume {
			b.after(s, ends...)
		}
	}
}
