package compiler

import (
	"net/netip"

	"github.com/drplan/drplan/steps"
)

// checkSimulatedChecks refuses, when the program is compiled against a
// simulated world (Options.Simulated), every http and tcp step aimed at a
// host that is neither loopback nor one the simulation answers for: a
// simulated VM's name or address (Options.SimHosts, the inventory's VMs,
// and the addresses the program itself gives VMs). A simulated run sends
// nothing off this machine.
func (b *builder) checkSimulatedChecks() {
	if !b.opts.Simulated {
		return
	}
	known := map[string]bool{}
	for _, h := range b.opts.SimHosts {
		known[h] = true
	}
	for _, site := range b.inv.Sites {
		for _, v := range site.VMs {
			known[v.Name] = true
			if v.IP != "" {
				known[v.IP] = true
			}
		}
	}
	addPrefix := func(s string) {
		if p, err := netip.ParsePrefix(s); err == nil {
			known[p.Addr().String()] = true
		} else if a, err := netip.ParseAddr(s); err == nil {
			known[a.String()] = true
		}
	}
	for _, st := range b.order {
		if ip := st.Args.IP; ip != nil {
			addPrefix(ip.Address)
			addPrefix(ip.Origin)
		}
	}
	for _, s := range b.rp.Steps {
		st := b.byAddr[steps.PlanStep(s.Name)]
		if st == nil {
			continue
		}
		var target string
		switch {
		case st.Args.HTTP != nil:
			target = st.Args.HTTP.URL
		case st.Args.TCP != nil:
			target = st.Args.TCP.Address
		default:
			continue
		}
		host := st.Args.CheckHost()
		if host == "" || steps.IsLoopback(host) || known[host] {
			continue
		}
		b.errorf(s.DeclRange, "Check aimed off the machine",
			"Step %q checks %s, and %s is neither a simulated VM's name or address nor loopback: a simulated run sends nothing off this machine. Aim the check at a VM of the plan (by name, or by the address it has in this mode), give that VM a service in the simulation block, or use a loopback address for a test harness.",
			s.Name, target, host)
	}
}
