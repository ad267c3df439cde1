package compiler_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/drplan/drplan/compiler"
	"github.com/drplan/drplan/internal/clock"
	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/providers/vsphere"
	"github.com/drplan/drplan/simulate"
)

// compileAgainstWorld builds the plan's simulated world, reads it through
// the vSphere provider as the CLI does, and compiles mode.
func compileAgainstWorld(t *testing.T, src string, mode plans.Mode) hcl.Diagnostics {
	t.Helper()
	p, snap, diags := readWorld(t, src)
	if diags.HasErrors() {
		return diags
	}
	_, diags = compiler.Compile(p, snap, compiler.Options{Mode: mode})
	return diags
}

// readWorld builds the plan's simulated world, reads it through the
// vSphere provider as the CLI does, and loads the plan with the selector
// matches of what it read.
func readWorld(t *testing.T, src string) (*plans.Plan, *inventory.Snapshot, hcl.Diagnostics) {
	t.Helper()
	dir := t.TempDir()
	files := map[string][]byte{filepath.Join(dir, "main.drplan.hcl"): []byte(src)}
	p, diags := plans.LoadSources(dir, files, plans.LoadOptions{Environ: []string{}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	ctx := context.Background()
	v := clock.NewVirtual(time.Now())
	defer v.Close()
	w, err := simulate.New(ctx, p, simulate.Options{Clock: v})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	snap := &inventory.Snapshot{Taken: v.Now(), Sites: map[string]*inventory.Site{}}
	for _, s := range w.Sites {
		cfg := s.Config()
		cfg.ReadOnly = true
		site, err := vsphere.Connector{}.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		inv, err := site.Inventory(ctx)
		site.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		inv.Name, inv.Reachable = s.Name, true
		snap.Sites[s.Name] = inv
	}
	p, diags = plans.LoadSources(dir, files, plans.LoadOptions{Environ: []string{}, SelectorMatches: compiler.SelectorMatches(p, snap)})
	return p, snap, diags
}

const worldSites = `
site "east" {
  role       = "protected"
  datacenter = "DC-East"
}

site "west" {
  role       = "recovery"
  datacenter = "DC-West"
  capacity {
    cpu_ghz = %s
    memory  = "%s"
    storage = "100TiB"
  }
}

protection_group "apps" {
  site          = site.east
  recovery_site = site.west
  vms           = ["app-01"]
  select {
    folder = "prod/apps"
    name   = "app-*"
  }
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}

recovery_plan "apps" {
  protection_groups = [protection_group.apps]
  network_mapping {
    from = "Prod"
    to   = "DR-Prod"
    test = "DR-Test"
  }
  tier "apps" {
    priority = 1
    vms      = protection_group.apps.vms
  }
}
`

// TestInventoryChecksInSimulatedWorlds builds worlds that exhibit each
// problem the compiler finds in an inventory, and checks it is reported
// with the severity the mode gives it.
func TestInventoryChecksInSimulatedWorlds(t *testing.T) {
	plan := func(ghz, mem, sim string) string {
		return sprintf(worldSites, ghz, mem) + "\nsimulation {\n  time_scale = 0.001\n" + sim + "}\n"
	}
	for _, tc := range []struct {
		name string
		src  string
		mode plans.Mode
		want string
	}{
		{"unprotected", plan("1000", "10TiB", `  vm "app-01" { folder = "prod/apps" }
  vm "tmp-01" {
    site   = site.east
    folder = "prod/apps"
  }
`), plans.ModeTest, "warning: Unprotected VM"},
		{"unmapped network", plan("1000", "10TiB", `  vm "app-01" {
    folder   = "prod/apps"
    networks = ["Prod", "Backup-LAN"]
  }
`), plans.ModeTest, "error: Network without a mapping"},
		{"replica missing", plan("1000", "10TiB", `  vm "app-01" { folder = "prod/apps" }
  vm "app-02" {
    site       = site.east
    folder     = "prod/apps"
    replicated = false
  }
`), plans.ModeMigrate, "error: Replica missing"},
		{"replica stale", plan("1000", "10TiB", `  vm "app-01" { folder = "prod/apps" }
  fault "replication_lag" {
    protection_group = protection_group.apps
    lag              = "2h"
  }
`), plans.ModeMigrate, "error: Replica older than the RPO"},
		// Sizes the simulation block states are checked when the plan
		// loads; the simulator's default size (2 vCPUs, 4 GiB) only here.
		{"capacity", plan("0.5", "2GiB", `  vm "app-01" { folder = "prod/apps" }
`), plans.ModeFailover, "error: Recovery site too small"},
		// 48 of the site's 64 GiB are taken by a VM already running there.
		{"capacity taken by running VMs", plan("1000", "64GiB", `  vm "app-01" {
    folder = "prod/apps"
    memory = "32GiB"
  }
  vm "build-01" {
    site   = site.west
    memory = "48GiB"
  }
`), plans.ModeFailover, "error: Recovery site too small"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			diags := compileAgainstWorld(t, tc.src, tc.mode)
			var got []string
			for _, d := range diags {
				sev := "error"
				if d.Severity == hcl.DiagWarning {
					sev = "warning"
				}
				got = append(got, sev+": "+d.Summary)
			}
			if !slices.Contains(got, tc.want) {
				t.Errorf("want %q in %v", tc.want, got)
			}
		})
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// TestProtectionInSimulatedWorld reads the state of a group from a world
// with drift and replication lag, and from a healthy one: the facts
// drplan status shows and the inventory checks judge.
func TestProtectionInSimulatedWorld(t *testing.T) {
	src := func(sim string) string {
		return sprintf(worldSites, "1000", "10TiB") + "\nsimulation {\n  time_scale = 0.001\n" + sim + "}\n"
	}
	t.Run("drift and lag", func(t *testing.T) {
		p, snap, diags := readWorld(t, src(`  vm "app-01" { folder = "prod/apps" }
  vm "app-02" {
    site       = site.east
    folder     = "prod/apps"
    replicated = false
  }
  vm "tmp-01" {
    site   = site.east
    folder = "prod/apps"
  }
  fault "replication_lag" {
    protection_group = protection_group.apps
    lag              = "2h"
  }
`))
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		states := compiler.Protection(p, snap, compiler.Options{})
		if len(states) != 1 {
			t.Fatalf("want one group, got %+v", states)
		}
		g := states[0]
		if !slices.Equal(g.VMs, []string{"app-01", "app-02"}) || !slices.Equal(g.Unprotected, []string{"tmp-01"}) || !slices.Equal(g.NoReplica, []string{"app-02"}) {
			t.Errorf("members %v, unprotected %v, without a replica %v", g.VMs, g.Unprotected, g.NoReplica)
		}
		if !g.Drift() || !g.Stale() || g.Age < 2*time.Hour || g.RPO != 15*time.Minute {
			t.Errorf("drift %v, stale %v, age %s, RPO %s: want drift, and a point older than 2h against 15m", g.Drift(), g.Stale(), g.Age, g.RPO)
		}
		if len(g.Replicas) != 1 || g.Replicas[0].VM != "app-01" || g.Replicas[0].Points == 0 || !g.Replicas[0].Latest.Equal(g.Point) {
			t.Errorf("replicas %+v, point %s", g.Replicas, g.Point)
		}
	})
	t.Run("healthy", func(t *testing.T) {
		p, snap, diags := readWorld(t, src(`  vm "app-01" { folder = "prod/apps" }
`))
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		g := compiler.Protection(p, snap, compiler.Options{})[0]
		if g.Drift() || g.Stale() || g.Point.IsZero() || g.Age > g.RPO || !g.SiteReachable || !g.RecoverySiteReachable {
			t.Errorf("a healthy group reads as %+v", g)
		}
	})
}

// TestSimulatedSiteHoldsItsPlan: a simulated recovery site without a
// capacity block is sized to hold what its plan brings up there, however
// many VMs that is.
func TestSimulatedSiteHoldsItsPlan(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a world of 600 VMs")
	}
	var vms []string
	for i := 1; i <= 300; i++ {
		vms = append(vms, fmt.Sprintf("%q", fmt.Sprintf("app-%03d", i)))
	}
	src := fmt.Sprintf(`
site "east" {
  role       = "protected"
  datacenter = "DC-East"
}

site "west" {
  role       = "recovery"
  datacenter = "DC-West"
}

protection_group "apps" {
  site          = site.east
  recovery_site = site.west
  vms           = [%s]
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}

recovery_plan "apps" {
  protection_groups = [protection_group.apps]
  network_mapping {
    from = "Prod"
    to   = "DR-Prod"
    test = "DR-Test"
  }
  tier "apps" {
    priority = 1
    vms      = protection_group.apps.vms
  }
}
`, strings.Join(vms, ", "))
	p, snap, diags := readWorld(t, src)
	if !diags.HasErrors() {
		_, diags = compiler.Compile(p, snap, compiler.Options{Mode: plans.ModeFailover})
	}
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			t.Errorf("%s: %s", d.Summary, d.Detail)
		}
	}
	// What it was sized for, as read: the 300 replicas' 600 vCPUs at 0.5
	// GHz, 1.2 TiB of memory, and their 12 TiB of disks still free once
	// the replicas are written.
	c := snap.Sites["west"].Capacity
	if c.CPUMHz < 300_000 || c.MemoryBytes < 300*4<<30 || c.StorageBytes < 300*40<<30 {
		t.Errorf("west is sized %+v", c)
	}
}

// TestSuspendFreesCapacityInSimulatedWorld: a VM running at the recovery
// site takes what recovery needs, unless suspend_at_recovery powers it
// off first.
func TestSuspendFreesCapacityInSimulatedWorld(t *testing.T) {
	sim := `
simulation {
  time_scale = 0.001
  vm "app-01" {
    folder = "prod/apps"
    memory = "32GiB"
  }
  vm "build-01" {
    site   = site.west
    memory = "48GiB"
  }
}
`
	base := sprintf(worldSites, "1000", "64GiB") + sim
	suspended := strings.Replace(base, "  tier \"apps\" {", "  suspend_at_recovery = [\"build-*\"]\n  tier \"apps\" {", 1)
	for _, tc := range []struct {
		src  string
		want []string
	}{
		{base, []string{"memory: 32 GiB needed, 16 GiB available (64 GiB, less 48 GiB used by running VMs)", `Already running there: VM "build-01"`, "suspend_at_recovery powers off none of them"}},
		{suspended, nil},
	} {
		var found *hcl.Diagnostic
		for _, d := range compileAgainstWorld(t, tc.src, plans.ModeFailover) {
			if d.Summary == "Recovery site too small" {
				found = d
			}
		}
		switch {
		case tc.want == nil && found != nil:
			t.Errorf("suspend_at_recovery frees build-01, yet: %s", found.Detail)
		case tc.want != nil && found == nil:
			t.Error("build-01 running at west is not counted")
		case found != nil:
			for _, w := range tc.want {
				if !strings.Contains(found.Detail, w) {
					t.Errorf("detail lacks %q:\n%s", w, found.Detail)
				}
			}
		}
	}
}
