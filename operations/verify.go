package operations

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/drplan/drplan/compiler"
	"github.com/drplan/drplan/internal/clock"
	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/providers/vsphere"
	"github.com/drplan/drplan/report"
	"github.com/drplan/drplan/steps"
)

// Verification: a failover, migration or failback ends with checks read
// back from the sites, never assumed from the steps having run. A fresh
// inventory of every site the run acted on is read after the run, and
// the result is judged against the program: every VM running at the
// site it went to (where its tier powers it on), on the networks its
// connect step set, with the address its customize step gave, there
// exactly once outside the replica and drill folders, and nothing of it
// left running at the site it left. Reprotect is checked for replicas:
// every VM has one at the site it left, powered off.

// NotProven starts the detail of a check that passes because what it
// checks could not be read, not because it was seen to hold: a failover
// whose protected site is gone cannot see that site's VMs.
const NotProven = "not proven: "

// verifiedModes are the modes whose result is read back and checked.
func verifiedModes(mode string) bool {
	switch plans.Mode(mode) {
	case plans.ModeMigrate, plans.ModeFailover, plans.ModeFailback, plans.ModeReprotect:
		return true
	}
	return false
}

// Verify reads the sites after a run of cp.Prog that was not
// interrupted and returns the checks of its result; nil for the modes
// that are not verified (a drill verifies itself) and for a canceled
// run.
func (cp *Compiled) Verify(ctx context.Context, canceled bool) []report.Check {
	if canceled || !verifiedModes(cp.Prog.Mode) {
		return nil
	}
	return verifyProgram(cp.Target.Busy(context.WithoutCancel(ctx)), cp.Target.Clock, cp.Prog, cp.Target.ReadSite)
}

// siteReader reads one site's inventory.
type siteReader func(ctx context.Context, site string) (*inventory.Site, error)

// expected is what the program leaves a VM as, at the site it goes to.
type expected struct {
	vm, from, to string
	path         string   // where the promotion put it
	networks     []string // what its connect step set
	connect      bool
	address      string // the customize step's address; "" for none
	powerOn      bool
}

// expectations lists, in the program's order, what each VM of the
// program's groups is to be after the run.
func expectations(p *steps.Program) []*expected {
	var out []*expected
	byVM := map[string]*expected{}
	for _, g := range p.Groups {
		for _, vm := range g.VMs {
			if byVM[vm] != nil {
				continue
			}
			e := &expected{vm: vm, from: g.Site, to: g.RecoverySite}
			byVM[vm] = e
			out = append(out, e)
		}
	}
	for _, s := range p.Steps {
		e := byVM[s.VM]
		if e == nil || s.Site != e.to {
			continue
		}
		switch s.Kind {
		case steps.Promote:
			e.path = s.Args.Target
		case steps.Connect:
			e.connect, e.networks = true, s.Args.Networks
		case steps.Customize:
			if s.Args.IP != nil {
				e.address = s.Args.IP.Address
				if pfx, err := netip.ParsePrefix(e.address); err == nil {
					e.address = pfx.Addr().String()
				}
			}
		case steps.PowerOn:
			e.powerOn = true
		}
	}
	return out
}

// production lists the VMs of a site named vm outside the replica and
// drill folders that are neither replicas nor a drill's copies: what
// counts as the production VM.
func production(s *inventory.Site, vm string) []*inventory.VM {
	var out []*inventory.VM
	for _, v := range s.VMs {
		if v.Name == vm && v.Replica == nil && v.Run == "" && !inFolder(v, vsphere.ReplicaFolder) && !inFolder(v, compiler.DrillFolder) {
			out = append(out, v)
		}
	}
	return out
}

func inFolder(v *inventory.VM, folder string) bool {
	return v.Folder == folder || strings.HasPrefix(v.Folder, folder+"/")
}

// sitesRead holds the inventories read for verification.
type sitesRead struct {
	inv  map[string]*inventory.Site
	errs map[string]error
}

func readSites(ctx context.Context, read siteReader, names []string) sitesRead {
	r := sitesRead{inv: map[string]*inventory.Site{}, errs: map[string]error{}}
	for _, n := range names {
		if _, done := r.inv[n]; done || r.errs[n] != nil {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		inv, err := read(cctx, n)
		cancel()
		if err != nil {
			r.errs[n] = err
			continue
		}
		r.inv[n] = inv
	}
	return r
}

// verifyProgram reads the sites the program acted on and checks its
// result.
func verifyProgram(ctx context.Context, clk clock.Clock, p *steps.Program, read siteReader) []report.Check {
	exp := expectations(p)
	var from, to []string
	for _, e := range exp {
		if !slices.Contains(from, e.from) {
			from = append(from, e.from)
		}
		if !slices.Contains(to, e.to) {
			to = append(to, e.to)
		}
	}
	if p.Mode == string(plans.ModeReprotect) {
		return reprotectChecks(exp, readSites(ctx, read, from), from)
	}
	// A guest reports its address a little after its heartbeat: read the
	// recovery sites again, for a while, while a running VM that is to
	// have an address reports none yet.
	const wait = 2 * time.Minute
	deadline := clk.Now().Add(wait)
	got := readSites(ctx, read, to)
	for addressPending(exp, got) && clk.Now().Before(deadline) {
		clk.Sleep(ctx, wait/20)
		got = readSites(ctx, read, to)
	}
	src := readSites(ctx, read, from)
	checks := recoveryChecks(exp, got, to)
	return append(checks, sourceCheck(p.Mode, exp, src, from))
}

// addressPending reports whether a running VM that is to have an address
// reports none yet.
func addressPending(exp []*expected, got sitesRead) bool {
	for _, e := range exp {
		s := got.inv[e.to]
		if s == nil || e.address == "" {
			continue
		}
		if v := pick(production(s, e.vm), e.path); v != nil && v.PowerState == "poweredOn" && v.IP == "" {
			return true
		}
	}
	return false
}

// pick is the VM at the path the program put it at, else the first.
func pick(vms []*inventory.VM, path string) *inventory.VM {
	for _, v := range vms {
		if v.Path() == path {
			return v
		}
	}
	if len(vms) > 0 {
		return vms[0]
	}
	return nil
}

// at says where: "at west", "at west and north".
func at(sites []string) string {
	return "at " + strings.Join(sites, " and ")
}

// unreadable lists the sites that could not be read, as problems.
func unreadable(r sitesRead, sites []string) []string {
	var out []string
	for _, s := range sites {
		if err := r.errs[s]; err != nil {
			out = append(out, fmt.Sprintf("site %s could not be read: %v", s, err))
		}
	}
	return out
}

func verdict(name string, problems []string, ok string) report.Check {
	if len(problems) > 0 {
		return report.Check{Name: name, Detail: strings.Join(problems, "; ")}
	}
	return report.Check{Name: name, Passed: true, Detail: ok}
}

// recoveryChecks judge the VMs at the sites they went to.
func recoveryChecks(exp []*expected, got sitesRead, to []string) []report.Check {
	down := unreadable(got, to)
	var running, off, notRunning, count, netsBad, addrsBad, planned, kept, unread []string
	nets := map[string]bool{}
	var netNames []string
	for _, e := range exp {
		s := got.inv[e.to]
		if s == nil {
			continue
		}
		vms := production(s, e.vm)
		switch len(vms) {
		case 0:
			count = append(count, fmt.Sprintf("%s: none at %s", e.vm, e.to))
			notRunning = append(notRunning, fmt.Sprintf("%s: not found at %s", e.vm, e.to))
			continue
		case 1:
		default:
			var paths []string
			for _, v := range vms {
				paths = append(paths, v.Path())
			}
			count = append(count, fmt.Sprintf("%s: %d at %s (%s)", e.vm, len(vms), e.to, strings.Join(paths, ", ")))
		}
		v := pick(vms, e.path)
		on := v.PowerState == "poweredOn"
		switch {
		case e.powerOn && !on:
			notRunning = append(notRunning, fmt.Sprintf("%s is %s", e.vm, v.PowerState))
		case !e.powerOn && on:
			notRunning = append(notRunning, fmt.Sprintf("%s is running; its startup action is none, so it was to stay off", e.vm))
		case on:
			running = append(running, e.vm)
		default:
			off = append(off, e.vm)
		}
		if e.connect {
			var have []string
			var disconnected []string
			for _, n := range v.NICs {
				have = append(have, n.Network)
				if on && !n.Connected {
					disconnected = append(disconnected, n.Network)
				}
			}
			switch {
			case !slices.Equal(have, e.networks):
				netsBad = append(netsBad, fmt.Sprintf("%s is on [%s], want [%s]", e.vm, strings.Join(have, ", "), strings.Join(e.networks, ", ")))
			case len(disconnected) > 0:
				netsBad = append(netsBad, fmt.Sprintf("%s's NIC on %s is not connected", e.vm, strings.Join(disconnected, ", ")))
			}
			for _, n := range e.networks {
				if !nets[n] {
					nets[n] = true
					netNames = append(netNames, n)
				}
			}
		}
		switch {
		case e.address != "" && !on:
			unread = append(unread, fmt.Sprintf("%s (planned %s)", e.vm, e.address))
		case e.address != "" && v.IP == "":
			addrsBad = append(addrsBad, fmt.Sprintf("%s reports no address, want %s", e.vm, e.address))
		case e.address != "" && v.IP != e.address:
			addrsBad = append(addrsBad, fmt.Sprintf("%s has %s, want %s", e.vm, v.IP, e.address))
		case e.address != "":
			planned = append(planned, e.vm+" "+v.IP)
		case v.IP != "":
			kept = append(kept, e.vm+" "+v.IP)
		default:
			kept = append(kept, e.vm+" (no address reported)")
		}
	}

	where := at(to)
	okRun := fmt.Sprintf("%d VMs running %s: %s", len(running), where, strings.Join(running, ", "))
	if len(off) > 0 {
		okRun += "; left off as planned (startup action none): " + strings.Join(off, ", ")
	}
	okNets := fmt.Sprintf("every VM on the networks its connect step set (%s)", strings.Join(netNames, ", "))
	okAddr := "as planned: " + strings.Join(planned, ", ")
	if len(planned) == 0 {
		okAddr = "no VM is re-addressed"
	}
	var notJudged []string
	if len(kept) > 0 {
		notJudged = append(notJudged, "reported, not judged (no address planned): "+strings.Join(kept, ", "))
	}
	if len(unread) > 0 {
		notJudged = append(notJudged, "not judged, powered off (a guest that is off reports no address): "+strings.Join(unread, ", "))
	}
	if len(notJudged) > 0 {
		okAddr += "; " + strings.Join(notJudged, "; ")
		if len(addrsBad) > 0 {
			addrsBad = append(addrsBad, notJudged...)
		}
	}
	return []report.Check{
		verdict("every VM running "+where, append(slices.Clone(down), notRunning...), okRun),
		verdict("each VM once "+where, append(slices.Clone(down), count...), fmt.Sprintf("every VM exactly once %s outside %s and %s", where, vsphere.ReplicaFolder, compiler.DrillFolder)),
		verdict("networks as mapped", append(slices.Clone(down), netsBad...), okNets),
		verdict("addresses as planned", append(slices.Clone(down), addrsBad...), okAddr),
	}
}

// sourceCheck proves that nothing of the program's VMs runs at the sites
// they left. A failover goes on without a protected site that is gone,
// so there it passes unproven, saying what is left to the operator.
func sourceCheck(mode string, exp []*expected, src sitesRead, from []string) report.Check {
	name := "nothing running " + at(from)
	var problems, unproven []string
	if mode != string(plans.ModeFailover) {
		problems = unreadable(src, from)
	} else {
		for _, site := range from {
			if src.errs[site] != nil {
				unproven = append(unproven, fmt.Sprintf("site %s could not be read: make sure its VMs stay off before it comes back; drplan run -mode reprotect powers them off", site))
			}
		}
	}
	n := 0
	for _, e := range exp {
		s := src.inv[e.from]
		if s == nil {
			continue
		}
		n++
		for _, v := range s.VMs {
			if v.Name == e.vm && v.Run == "" && !inFolder(v, compiler.DrillFolder) && v.PowerState == "poweredOn" {
				problems = append(problems, fmt.Sprintf("%s is running at %s (%s)", e.vm, e.from, v.Path()))
			}
		}
	}
	if len(problems) > 0 {
		return verdict(name, append(problems, unproven...), "")
	}
	if len(unproven) > 0 {
		return report.Check{Name: name, Passed: true, Detail: NotProven + strings.Join(unproven, "; ")}
	}
	return verdict(name, nil, fmt.Sprintf("none of the %d VMs runs %s", n, at(from)))
}

// reprotectChecks prove that every VM has a replica at the site it left,
// powered off.
func reprotectChecks(exp []*expected, got sitesRead, sites []string) []report.Check {
	down := unreadable(got, sites)
	var missing, on []string
	for _, e := range exp {
		s := got.inv[e.from]
		if s == nil {
			continue
		}
		r := s.ReplicaOf(e.vm)
		switch {
		case r == nil:
			missing = append(missing, fmt.Sprintf("%s has no replica at %s", e.vm, e.from))
		case r.PowerState == "poweredOn":
			on = append(on, fmt.Sprintf("%s's replica %s at %s is running", e.vm, r.Path(), e.from))
		}
	}
	where := at(sites)
	return []report.Check{
		verdict("every VM replicated "+where, append(slices.Clone(down), missing...), fmt.Sprintf("%d VMs have a replica %s: %s", len(exp), where, strings.Join(names(exp), ", "))),
		verdict("no replica running "+where, append(slices.Clone(down), on...), fmt.Sprintf("every replica %s is powered off", where)),
	}
}

func names(exp []*expected) []string {
	var out []string
	for _, e := range exp {
		out = append(out, e.vm)
	}
	return out
}
