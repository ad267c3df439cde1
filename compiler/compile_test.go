package compiler

import (
	"bytes"
	"github.com/drplan/drplan/internal/invtest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/runner"
	"github.com/drplan/drplan/steps"
)

var now = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// world is a hand-made inventory: every VM a group names sits at its
// site on network Prod with a fresh replica at its recovery site; extra
// VMs can be added.
func world(p *plans.Plan, extra ...func(*inventory.Snapshot)) *inventory.Snapshot {
	inv := &inventory.Snapshot{Taken: now, Sites: map[string]*inventory.Site{}}
	for _, s := range p.Sites {
		inv.Sites[s.Name] = &inventory.Site{Name: s.Name, Datacenter: s.Datacenter, Reachable: true}
	}
	ip := 10
	for _, g := range p.ProtectionGroups {
		for _, vm := range g.VMs {
			addr := "10.1.0." + string(rune('0'+ip/10)) + string(rune('0'+ip%10))
			ip++
			inv.Sites[g.Site].VMs = append(inv.Sites[g.Site].VMs, &inventory.VM{Name: vm, PowerState: "poweredOn", CPUs: 2,
				MemoryBytes: 4 << 30, NICs: []inventory.NIC{{Network: "Prod", Connected: true}}, IP: addr,
				Disks: []inventory.Disk{{Datastore: "ds", Bytes: 40 << 30}}})
			inv.Sites[g.RecoverySite].VMs = append(inv.Sites[g.RecoverySite].VMs, &inventory.VM{Name: vm, Folder: "drplan-replicas",
				PowerState: "poweredOff", CPUs: 2, MemoryBytes: 4 << 30, NICs: []inventory.NIC{{Network: "DR-Prod"}},
				Disks:   []inventory.Disk{{Datastore: "dr-ds", Bytes: 40 << 30}},
				Replica: &inventory.Replica{Of: vm, Group: g.Name, Site: g.Site, Points: inventory.RecoveryPoints{Times: []time.Time{now.Add(-5 * time.Minute)}}}})
		}
	}
	for _, f := range extra {
		f(inv)
	}
	return inv
}

func load(t *testing.T, src string, inv func(*plans.Plan) *inventory.Snapshot) (*plans.Plan, *inventory.Snapshot) {
	t.Helper()
	dir := t.TempDir()
	files := map[string][]byte{filepath.Join(dir, "main.drplan.hcl"): []byte(src)}
	p, diags := plans.LoadSources(dir, files, plans.LoadOptions{Environ: []string{}})
	if diags.HasErrors() {
		t.Fatalf("%v", diags)
	}
	snap := inv(p)
	p, diags = plans.LoadSources(dir, files, plans.LoadOptions{Environ: []string{}, SelectorMatches: SelectorMatches(p, snap)})
	if diags.HasErrors() {
		t.Fatalf("with selector matches: %v", diags)
	}
	return p, snap
}

func compile(t *testing.T, p *plans.Plan, inv *inventory.Snapshot, mode plans.Mode) *steps.Program {
	t.Helper()
	prog, diags := Compile(p, inv, Options{Mode: mode})
	if diags.HasErrors() {
		t.Fatalf("%s: %v", mode, diags)
	}
	return prog
}

const shop = `
site "east" {
  role       = "protected"
  datacenter = "DC-East"
}

site "west" {
  role       = "recovery"
  datacenter = "DC-West"
}

protection_group "all" {
  site          = site.east
  recovery_site = site.west
  vms           = ["db-01", "app-01", "app-02", "web-01", "web-02"]
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}

recovery_plan "shop" {
  protection_groups = [protection_group.all]
  max_parallel      = 4
  rto               = "1h"
  network_mapping {
    from = "Prod"
    to   = "DR-Prod"
    test = "DR-Test"
  }
  ip_rule "east" {
    from_cidr = "10.1.0.0/16"
    to_cidr   = "10.2.0.0/16"
    gateway   = "10.2.0.1"
  }
  suspend_at_recovery = ["dev-*"]
  tier "db" {
    priority = 1
    vms      = ["db-01"]
    startup {
      delay = "30s"
    }
  }
  tier "app" {
    priority = 2
    vms      = ["app-01", "app-02"]
  }
  tier "web" {
    priority = 3
    vms      = ["web-01", "web-02"]
    after    = [step.approve]
  }
  vm "web-02" {
    after = ["web-01"]
  }
  step "promote" {
    before = [tier.db]
    modes  = ["failover", "migrate"]
    command {
      run = ["true"]
    }
  }
  step "approve" {
    after = [tier.app]
    modes = ["failover"]
    prompt {
      message = "go?"
    }
  }
  step "smoke" {
    after = [tier.web]
    modes = ["test", "failover"]
    http {
      url = "http://web-01/"
    }
  }
}

simulation {
  boot_time = "1m"
}
`

func withDev(inv *inventory.Snapshot) {
	inv.Sites["west"].VMs = append(inv.Sites["west"].VMs, &inventory.VM{Name: "dev-01", PowerState: "poweredOn", CPUs: 1, MemoryBytes: 1 << 30})
}

// waits reports whether step a waits, directly or not, for step b.
func waits(p *steps.Program, a, b string) bool {
	seen := map[steps.Addr]bool{}
	todo := []steps.Addr{steps.MustParseAddr(a)}
	for len(todo) > 0 {
		n := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		s := p.Step(n)
		if s == nil {
			return false
		}
		for _, d := range s.After {
			if d.String() == b {
				return true
			}
			if !seen[d] {
				seen[d] = true
				todo = append(todo, d)
			}
		}
	}
	return false
}

func TestOrdering(t *testing.T) {
	p, inv := load(t, shop, func(p *plans.Plan) *inventory.Snapshot { return world(p, withDev) })
	for _, tc := range []struct {
		mode  plans.Mode
		waits [][2]string // first waits for second
		free  [][2]string // first does not wait for second
		has   []string
		lacks []string
	}{
		{mode: plans.ModeTest,
			waits: [][2]string{
				{"tier.app/vm.app-01/power_on", "tier.db/vm.db-01/settle"},       // priorities, settle delay
				{"tier.web/start", "tier.app/done"},                              // approve left out: passed through
				{"tier.web/vm.web-02/power_on", "tier.web/vm.web-01/wait_ready"}, // VM-level after
				{"step.smoke", "tier.web/done"},                                  // after a tier
				{"tier.db/start", "suspend/vm.dev-01/power_off"},                 // suspend first
			},
			free:  [][2]string{{"tier.web/vm.web-01/copy", "tier.db/done"}}, // copies do not wait for tiers
			has:   []string{"tier.db/vm.db-01/copy", "step.smoke"},
			lacks: []string{"step.approve", "step.promote", "tier.db/vm.db-01/promote", "tier.db/vm.db-01/customize"},
		},
		{mode: plans.ModeFailover,
			waits: [][2]string{
				{"tier.db/start", "step.promote"},
				{"step.approve", "tier.app/done"},
				{"tier.web/start", "step.approve"},
				{"tier.db/vm.db-01/promote", "protected/vm.db-01/power_off"},
				{"tier.db/vm.db-01/power_on", "tier.db/vm.db-01/customize"},
			},
			has: []string{"tier.db/vm.db-01/connect", "tier.db/vm.db-01/customize"},
		},
		{mode: plans.ModeMigrate,
			waits: [][2]string{
				{"protection_group.all/sync", "protected/vm.web-02/shutdown"},
				{"tier.db/vm.db-01/promote", "protection_group.all/sync"},
				{"tier.web/start", "tier.app/done"},
			},
			lacks: []string{"step.approve", "step.smoke"},
		},
		{mode: plans.ModeCleanup,
			waits: [][2]string{
				{"tier.app/start", "tier.web/done"}, // reverse order
				{"tier.db/start", "tier.app/done"},
				{"tier.db/vm.db-01/destroy", "tier.db/vm.db-01/power_off"},
				{"site.west/verify_gone", "tier.db/done"},
				{"resume/vm.dev-01/power_on", "site.west/verify_gone"},
			},
		},
		{mode: plans.ModeReprotect, has: []string{"protection_group.all/vm.db-01/reverse"}, lacks: []string{"tier.db/vm.db-01/power_on"}},
		{mode: plans.ModeFailback,
			waits: [][2]string{{"tier.db/vm.db-01/promote", "protection_group.all/sync"}},
			has:   []string{"protected/vm.db-01/shutdown", "resume/vm.dev-01/power_on", "protection_group.all/vm.db-01/reverse"},
		},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			prog := compile(t, p, invtest.For(tc.mode, inv, p), tc.mode)
			for _, w := range tc.waits {
				if !waits(prog, w[0], w[1]) {
					t.Errorf("%s does not wait for %s", w[0], w[1])
				}
			}
			for _, w := range tc.free {
				if waits(prog, w[0], w[1]) {
					t.Errorf("%s waits for %s", w[0], w[1])
				}
			}
			for _, a := range tc.has {
				if prog.Step(steps.MustParseAddr(a)) == nil {
					t.Errorf("no step %s", a)
				}
			}
			for _, a := range tc.lacks {
				if prog.Step(steps.MustParseAddr(a)) != nil {
					t.Errorf("unexpected step %s", a)
				}
			}
		})
	}
}

// TestCleanupInvertsTest: every VM a drill copies, cleanup powers off and
// destroys, at the same path; every tier is cleaned after the tiers that
// started after it.
func TestCleanupInvertsTest(t *testing.T) {
	p, inv := load(t, shop, func(p *plans.Plan) *inventory.Snapshot { return world(p) })
	test, clean := compile(t, p, inv, plans.ModeTest), compile(t, p, inv, plans.ModeCleanup)
	var made, undone []string
	for _, s := range test.Steps {
		if s.Kind == steps.Copy {
			made = append(made, s.Site+":"+s.Args.Target)
			if s.Site != "west" || !strings.HasPrefix(s.Args.Target, DrillFolder+"/"+RunPlaceholder+"/") {
				t.Errorf("copy %s goes to %s:%s", s.Addr, s.Site, s.Args.Target)
			}
		}
	}
	for _, s := range clean.Steps {
		if s.Kind == steps.Destroy && s.VM != "" {
			undone = append(undone, s.Site+":"+s.Args.Target)
		}
	}
	if rm := clean.Step(steps.MustParseAddr("site.west/remove_folder")); rm == nil || rm.Args.Target != DrillFolder+"/"+RunPlaceholder || !waits(clean, "site.west/verify_gone", rm.Addr.String()) {
		t.Errorf("cleanup does not remove the drill's folder before verifying: %+v", rm)
	}
	slices.Sort(made)
	slices.Sort(undone)
	if !slices.Equal(made, undone) || len(made) != 5 {
		t.Errorf("test copies %v, cleanup destroys %v", made, undone)
	}
	for _, s := range test.Steps {
		if s.Site == "east" && s.Kind != steps.Barrier {
			t.Errorf("a drill step acts on the protected site: %s", s.Addr)
		}
	}
	for _, site := range test.Sites {
		if site.Name == "east" && !site.ReadOnly {
			t.Error("the protected site is not read-only in a drill")
		}
	}
}

// TestReIP: failover re-addresses by the first matching ip_rule, keeping
// the host part; a vm block's ip wins; a drill keeps addresses.
func TestReIP(t *testing.T) {
	src := strings.Replace(shop, `  vm "web-02" {`, `  vm "app-02" {
    ip {
      address = "10.9.0.5/24"
      gateway = "10.9.0.1"
    }
  }
  vm "web-02" {`, 1)
	p, inv := load(t, src, func(p *plans.Plan) *inventory.Snapshot { return world(p) })
	fo := compile(t, p, inv, plans.ModeFailover)
	c := fo.Step(steps.MustParseAddr("tier.db/vm.db-01/customize"))
	if c == nil || c.Args.IP.Address != "10.2.0.10/16" || c.Args.IP.Gateway != "10.2.0.1" {
		t.Fatalf("db-01 (10.1.0.10) customized to %+v, want 10.2.0.10/16 via 10.2.0.1", c)
	}
	if c := fo.Step(steps.MustParseAddr("tier.app/vm.app-02/customize")); c == nil || c.Args.IP.Address != "10.9.0.5/24" {
		t.Errorf("app-02 customized to %+v, want its vm block's 10.9.0.5/24", c)
	}
	test := compile(t, p, inv, plans.ModeTest)
	if test.Step(steps.MustParseAddr("tier.db/vm.db-01/customize")) != nil {
		t.Error("a drill re-addresses a VM without a vm ip block")
	}
	if test.Step(steps.MustParseAddr("tier.app/vm.app-02/customize")) == nil {
		t.Error("a drill ignores the vm ip block")
	}
}

// TestEstimate: the RTO estimate is the critical path under max_parallel.
func TestEstimate(t *testing.T) {
	src := `
site "east" {
  role       = "protected"
  datacenter = "E"
}

site "west" {
  role       = "recovery"
  datacenter = "W"
}

protection_group "g" {
  site          = site.east
  recovery_site = site.west
  vms           = ["a", "b", "c"]
  replication {
    method = "host"
    rpo    = "1m"
  }
}

recovery_plan "p" {
  protection_groups = [protection_group.g]
  max_parallel      = 1
  rto               = "2m"
  network_mapping {
    from = "Prod"
    to   = "DR-Prod"
    test = "DR-Test"
  }
  tier "one" {
    priority = 1
    vms      = ["a", "b"]
  }
  tier "two" {
    priority = 2
    vms      = ["c"]
  }
}

simulation {
  boot_time = "1m"
  vm "b" {
    boot_time = "2m"
  }
}
`
	p, inv := load(t, src, func(p *plans.Plan) *inventory.Snapshot { return world(p) })
	prog, _ := Compile(p, inv, Options{Mode: plans.ModeTest, Estimates: map[steps.Kind]time.Duration{steps.Copy: 10 * time.Second, steps.PowerOn: time.Second}})
	runner.Estimate(prog) // the runner's scheduler, on the compiler's step estimates
	// One slot, program order first: copy a (0-10s), power on a (11s),
	// copy b (21s), power on b (22s), copy c (32s); b boots 2m (2m22s),
	// then c powers on (2m23s) and boots 1m: 3m23s.
	want := 3*time.Minute + 23*time.Second
	if got := time.Duration(prog.Estimate.Total); got != want {
		t.Errorf("estimate %v, want %v", got, want)
	}
	if two := prog.Estimate.Tiers[1]; time.Duration(two.Start) != 2*time.Minute+22*time.Second {
		t.Errorf("tier two starts at %v", time.Duration(two.Start))
	}
}

func diagSummaries(d hcl.Diagnostics) []string {
	var out []string
	for _, x := range d {
		sev := "error"
		if x.Severity == hcl.DiagWarning {
			sev = "warning"
		}
		out = append(out, sev+": "+x.Summary)
	}
	slices.Sort(out)
	return out
}

// TestInventoryChecks: each drift and shortage is reported, with the
// severity the mode gives it.
func TestInventoryChecks(t *testing.T) {
	src := strings.Replace(shop, `  vms           = ["db-01", "app-01", "app-02", "web-01", "web-02"]`, `  vms           = ["db-01", "app-01", "app-02", "web-01", "web-02"]
  select {
    folder = "prod"
    name   = "web-*"
  }`, 1)
	p, inv := load(t, src, func(p *plans.Plan) *inventory.Snapshot {
		return world(p, func(inv *inventory.Snapshot) {
			east, west := inv.Sites["east"], inv.Sites["west"]
			// db-01 got a second disk that is not replicated.
			for _, v := range east.VMs {
				if v.Name == "db-01" {
					v.Disks = append(v.Disks, inventory.Disk{Datastore: "fast-ssd", Bytes: 100 << 30})
				}
			}
			// web-02 is gone; its replica stays.
			east.VMs = slices.DeleteFunc(east.VMs, func(v *inventory.VM) bool { return v.Name == "web-02" })
			// app-02 sits on a network nobody maps.
			for _, v := range east.VMs {
				if v.Name == "app-02" {
					v.NICs = append(v.NICs, inventory.NIC{Network: "Backup-LAN"})
				}
			}
			// app-01's replica is gone; db-01's is a day old.
			west.VMs = slices.DeleteFunc(west.VMs, func(v *inventory.VM) bool { return v.Replica != nil && v.Replica.Of == "app-01" })
			for _, v := range west.VMs {
				if v.Replica != nil && v.Replica.Of == "db-01" {
					v.Replica.Points.Times = []time.Time{now.Add(-24 * time.Hour)}
				}
			}
			// A VM in the folder the selector looks at, but not named as
			// it wants: nobody protects it.
			east.VMs = append(east.VMs, &inventory.VM{Name: "prod-tmp", Folder: "prod"})
		})
	})
	_, diags := Compile(p, inv, Options{Mode: plans.ModeTest})
	for _, d := range diags {
		if d.Summary == SummaryDiskNotReplicated && (!strings.Contains(d.Detail, "db-01: 100 GiB on datastore fast-ssd") || strings.Contains(d.Detail, "app-01")) {
			t.Errorf("disk warning: %s", d.Detail)
		}
	}
	want := []string{"error: Network without a mapping", "error: VM not found", "warning: Disk not replicated", "warning: Replica missing", "warning: Replica older than the RPO", "warning: Selector matches nothing", "warning: Unprotected VM"}
	if got := diagSummaries(diags); !slices.Equal(got, want) {
		t.Errorf("test mode diagnostics\n got %v\nwant %v", got, want)
	}
	_, diags = Compile(p, inv, Options{Mode: plans.ModeMigrate})
	got := diagSummaries(diags)
	for _, w := range []string{"error: Replica missing", "error: Replica older than the RPO"} {
		if !slices.Contains(got, w) {
			t.Errorf("migrate: missing %q in %v", w, got)
		}
	}
	_, diags = Compile(p, inv, Options{Mode: plans.ModeTest, Point: now.Add(-48 * time.Hour).Format(time.RFC3339)})
	if !slices.Contains(diagSummaries(diags), "error: Recovery point not available") {
		t.Errorf("an unavailable point is not reported: %v", diagSummaries(diags))
	}
}

func TestCapacity(t *testing.T) {
	src := strings.Replace(shop, `  role       = "recovery"
  datacenter = "DC-West"`, `  role       = "recovery"
  datacenter = "DC-West"
  capacity {
    cpu_ghz = 2
    memory  = "8GiB"
    storage = "1TiB"
  }`, 1)
	p, inv := load(t, src, func(p *plans.Plan) *inventory.Snapshot { return world(p) })
	_, diags := Compile(p, inv, Options{Mode: plans.ModeFailover})
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "20 GiB needed, 8 GiB available") || !strings.Contains(diags.Error(), "10 vCPUs") {
		t.Errorf("capacity shortage not reported with figures: %v", diags)
	}
}

// TestDeterministic: compiling twice gives the same bytes.
func TestDeterministic(t *testing.T) {
	p, inv := load(t, shop, func(p *plans.Plan) *inventory.Snapshot { return world(p, withDev) })
	for _, m := range plans.Modes {
		a, _ := compile(t, p, invtest.For(m, inv, p), m).JSON()
		b, _ := compile(t, p, invtest.For(m, inv, p), m).JSON()
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two compiles differ", m)
		}
	}
}

// TestCapacityCountsRunningVMs: what already runs at the recovery site
// takes its share of the capacity; what suspend_at_recovery powers off
// gives it back; replicas, powered-off VMs and a drill's copies hold
// none.
func TestCapacityCountsRunningVMs(t *testing.T) {
	src := strings.Replace(shop, `  role       = "recovery"
  datacenter = "DC-West"`, `  role       = "recovery"
  datacenter = "DC-West"
  capacity {
    cpu_ghz = 100
    memory  = "40GiB"
  }`, 1)
	// The five VMs of the plan need 20 GiB; the site has 40 GiB.
	running := func(names ...string) func(*inventory.Snapshot) {
		return func(inv *inventory.Snapshot) {
			west := inv.Sites["west"]
			for _, n := range names {
				west.VMs = append(west.VMs, &inventory.VM{Name: n, PowerState: "poweredOn", CPUs: 2, MemoryBytes: 8 << 30})
			}
			// None of these holds capacity.
			west.VMs = append(west.VMs,
				&inventory.VM{Name: "old-01", PowerState: "poweredOff", CPUs: 2, MemoryBytes: 64 << 30},
				&inventory.VM{Name: "db-01-drill", PowerState: "poweredOn", CPUs: 2, MemoryBytes: 64 << 30, Run: "r-1"})
		}
	}
	tooSmall := func(t *testing.T, extra func(*inventory.Snapshot), mode plans.Mode) *hcl.Diagnostic {
		t.Helper()
		p, inv := load(t, src, func(p *plans.Plan) *inventory.Snapshot { return world(p, extra) })
		_, diags := Compile(p, invtest.For(mode, inv, p), Options{Mode: mode})
		for _, d := range diags {
			if d.Summary == "Recovery site too small" {
				return d
			}
		}
		return nil
	}
	for _, mode := range []plans.Mode{plans.ModeFailover, plans.ModeTest} {
		t.Run(string(mode), func(t *testing.T) {
			// 32 GiB of build VMs run there: 8 GiB left for 20 GiB.
			d := tooSmall(t, running("build-01", "build-02", "build-03", "build-04"), mode)
			if d == nil {
				t.Fatal("a recovery site full of running VMs is not reported")
			}
			for _, want := range []string{"memory: 20 GiB needed, 8 GiB available (40 GiB, less 32 GiB used by running VMs)",
				`Already running there: VMs "build-01", "build-02", "build-03", "build-04"`, "suspend_at_recovery powers off none of them", "suspend_at_recovery"} {
				if !strings.Contains(d.Detail, want) {
					t.Errorf("detail lacks %q:\n%s", want, d.Detail)
				}
			}
			if d.Subject == nil || d.Subject.Start.Line != 10 {
				t.Errorf("not reported at the capacity block: %v", d.Subject)
			}
			// suspend_at_recovery = ["dev-*"] powers two of them off: 24
			// GiB left for 20 GiB.
			if d := tooSmall(t, running("build-01", "build-02", "dev-01", "dev-02"), mode); d != nil {
				t.Errorf("what suspend_at_recovery frees is not counted: %s", d.Detail)
			}
			// Three build VMs and two dev VMs: 40 - 40 + 16 = 16 GiB left.
			d = tooSmall(t, running("build-01", "build-02", "build-03", "dev-01", "dev-02"), mode)
			if d == nil {
				t.Fatal("not enough even with suspend_at_recovery, but not reported")
			}
			for _, want := range []string{"memory: 20 GiB needed, 16 GiB available (40 GiB, less 40 GiB used by running VMs, plus 16 GiB that suspend_at_recovery frees)",
				`suspend_at_recovery powers off VMs "dev-01", "dev-02" of them (4 vCPUs, 16 GiB memory)`} {
				if !strings.Contains(d.Detail, want) {
					t.Errorf("detail lacks %q:\n%s", want, d.Detail)
				}
			}
		})
	}
}

// TestDiskNoCopy: a replica disk the recovery site cannot copy (a
// libvirt block device) fails a drill's compile, naming the VM and why;
// a failover, which copies nothing, is not refused for it.
func TestDiskNoCopy(t *testing.T) {
	p, inv := load(t, shop, func(p *plans.Plan) *inventory.Snapshot {
		return world(p, func(inv *inventory.Snapshot) {
			for _, v := range inv.Sites["west"].VMs {
				if v.Replica != nil && v.Replica.Of == "db-01" {
					v.Disks = append(v.Disks, inventory.Disk{Datastore: "/dev/sdb", NoCopy: "disk /dev/sdb is a block device"})
				}
			}
		})
	})
	_, diags := Compile(p, inv, Options{Mode: plans.ModeTest})
	found := false
	for _, d := range diags {
		if d.Summary == SummaryDiskNoCopy {
			found = true
			if d.Severity != hcl.DiagError || !strings.Contains(d.Detail, "db-01: disk /dev/sdb is a block device") || strings.Contains(d.Detail, "app-01") {
				t.Errorf("disk diagnostic: %v %s", d.Severity, d.Detail)
			}
		}
	}
	if !found {
		t.Errorf("no %q diagnostic: %v", SummaryDiskNoCopy, diagSummaries(diags))
	}
	_, diags = Compile(p, inv, Options{Mode: plans.ModeFailover})
	if slices.Contains(diagSummaries(diags), "error: "+SummaryDiskNoCopy) {
		t.Errorf("a failover was refused for a disk it does not copy")
	}
}
