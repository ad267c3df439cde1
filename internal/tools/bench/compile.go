package main

import (
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/drplan/drplan/compiler"
	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/plans"
)

// inventoryFor makes the inventory a plan's sites would have: every VM a
// group names at its protected site on network Prod, with a fresh replica
// at its recovery site.
func inventoryFor(p *plans.Plan) *inventory.Snapshot {
	now := time.Now()
	inv := &inventory.Snapshot{Taken: now, Sites: map[string]*inventory.Site{}}
	for _, s := range p.Sites {
		inv.Sites[s.Name] = &inventory.Site{Name: s.Name, Datacenter: s.Datacenter, Reachable: true}
	}
	for _, g := range p.ProtectionGroups {
		for i, vm := range g.VMs {
			inv.Sites[g.Site].VMs = append(inv.Sites[g.Site].VMs, &inventory.VM{Name: vm, PowerState: "poweredOn", CPUs: 2,
				MemoryBytes: 4 << 30, NICs: []inventory.NIC{{Network: "Prod", Connected: true}}, IP: fmt.Sprintf("10.1.%d.%d", i/200, 10+i%200)})
			inv.Sites[g.RecoverySite].VMs = append(inv.Sites[g.RecoverySite].VMs, &inventory.VM{Name: vm, Folder: "drplan-replicas",
				PowerState: "poweredOff", CPUs: 2, MemoryBytes: 4 << 30, NICs: []inventory.NIC{{Network: "DR-Prod"}},
				Replica: &inventory.Replica{Of: vm, Group: g.Name, Site: g.Site, Points: inventory.RecoveryPoints{Times: []time.Time{now}}}})
		}
	}
	return inv
}

// benchCompile measures, in process, loading the plan (what validate
// does) and compiling it for each mode against its inventory, and checks
// that each compile stays within 2× of the load.
func benchCompile(w io.Writer, planDir string, runs int) {
	measure := func(f func()) (time.Duration, uint64) {
		var walls []time.Duration
		var allocs []uint64
		var before, after runtime.MemStats
		for range runs {
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			f()
			walls = append(walls, time.Since(start))
			runtime.ReadMemStats(&after)
			allocs = append(allocs, after.TotalAlloc-before.TotalAlloc)
		}
		return median(walls), median(allocs)
	}
	p, diags := plans.Load(planDir, plans.LoadOptions{Environ: []string{}})
	if diags.HasErrors() {
		fmt.Fprintf(w, "compile: unavailable: the plan does not load: %v\n", diags)
		return
	}
	inv := inventoryFor(p)
	load, loadAlloc := measure(func() { plans.Load(planDir, plans.LoadOptions{Environ: []string{}}) })
	fmt.Fprintf(w, "compile (in process, against a made-up inventory of the plan's VMs)\n")
	fmt.Fprintf(w, "  %-22s %10s %12s\n", "what", "wall", "allocated")
	fmt.Fprintf(w, "  %-22s %10s %12s\n", "load (= validate)", dur(load), mb(int64(loadAlloc)))
	worst := 0.0
	for _, m := range plans.Modes {
		var failed error
		wall, alloc := measure(func() {
			if _, d := compiler.Compile(p, inv, compiler.Options{Mode: m}); d.HasErrors() {
				failed = d
			}
		})
		note := ""
		if failed != nil {
			note = "errors: " + failed.Error()
		}
		fmt.Fprintf(w, "  %-22s %10s %12s %s\n", "compile "+string(m), dur(wall), mb(int64(alloc)), note)
		worst = max(worst, ratio(wall, load))
	}
	verdict := "PASS"
	if worst > 2 {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "  %s  compile ≤ 2× validate: worst mode %.2f×\n", verdict, worst)
}
