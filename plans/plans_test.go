package plans

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// expectRE finds the diagnostics a fixture expects on a line:
// "# ERROR: Duplicate tier" or "# WARNING: Shadowed IP rule".
var expectRE = regexp.MustCompile(`(ERROR|WARNING): ([^#]*[^#\s])`)

// TestFixtures loads every plan under testdata/valid and testdata/invalid
// (a file, or a directory of files) and checks that its diagnostics are
// exactly those written on the offending lines.
func TestFixtures(t *testing.T) {
	for _, kind := range []string{"valid", "invalid"} {
		entries, err := os.ReadDir(filepath.Join("testdata", kind))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			path := filepath.Join("testdata", kind, e.Name())
			t.Run(kind+"/"+e.Name(), func(t *testing.T) {
				var plan *Plan
				var diags hcl.Diagnostics
				if e.IsDir() {
					plan, diags = Load(path, LoadOptions{Environ: []string{}})
				} else {
					src, err := os.ReadFile(path)
					if err != nil {
						t.Fatal(err)
					}
					plan, diags = LoadSources(filepath.Dir(path), map[string][]byte{path: src}, LoadOptions{Environ: []string{}})
				}
				want := expectations(t, plan)
				var got []string
				for _, d := range diags {
					got = append(got, describe(d))
				}
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("diagnostics differ\n got: %s\nwant: %s\n\nfull diagnostics:\n%s",
						strings.Join(got, "\n      "), strings.Join(want, "\n      "), full(diags))
				}
				if kind == "invalid" && !diags.HasErrors() && len(want) == 0 {
					t.Errorf("fixture under invalid/ expects no diagnostics")
				}
				if kind == "valid" && diags.HasErrors() {
					t.Errorf("valid fixture has errors")
				}
			})
		}
	}
}

// expectations collects the annotated diagnostics of every file.
func expectations(t *testing.T, plan *Plan) []string {
	var want []string
	for name, f := range plan.Files {
		for i, line := range strings.Split(string(f.Bytes), "\n") {
			for _, m := range expectRE.FindAllStringSubmatch(line, -1) {
				sev := strings.ToLower(m[1])
				want = append(want, fmt.Sprintf("%s:%d: %s: %s", filepath.Base(name), i+1, sev, m[2]))
			}
		}
	}
	return want
}

func describe(d *hcl.Diagnostic) string {
	sev := "error"
	if d.Severity == hcl.DiagWarning {
		sev = "warning"
	}
	if d.Subject == nil {
		return fmt.Sprintf("(no range): %s: %s", sev, d.Summary)
	}
	return fmt.Sprintf("%s:%d: %s: %s", filepath.Base(d.Subject.Filename), d.Subject.Start.Line, sev, d.Summary)
}

func full(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		fmt.Fprintf(&b, "  %s\n    %s\n", describe(d), d.Detail)
	}
	return b.String()
}

// TestTierPriorityDefault: a tier that gives no priority has priority 3,
// as an SRM priority group does, and starts after tiers 1 and 2 and
// before tiers 4 and 5.
func TestTierPriorityDefault(t *testing.T) {
	src := `
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
  vms           = ["db-01", "app-01", "web-01"]
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}

recovery_plan "shop" {
  protection_groups = [protection_group.all]
  network_mapping {
    from = "Prod"
    to   = "DR-Prod"
    test = "DR-Test"
  }
  tier "db" {
    priority = 2
    vms      = ["db-01"]
  }
  tier "app" {
    vms = ["app-01"]
  }
  tier "web" {
    priority = 4
    vms      = ["web-01"]
    after    = [tier.app]
  }
}
`
	p, diags := LoadSources(".", map[string][]byte{"main.drplan.hcl": []byte(src)}, LoadOptions{Environ: []string{}})
	if diags.HasErrors() {
		t.Fatalf("%s", full(diags))
	}
	got := map[string]int{}
	for _, tr := range p.RecoveryPlans[0].Tiers {
		got[tr.Name] = tr.Priority
	}
	if DefaultPriority != 3 || got["app"] != 3 || got["db"] != 2 || got["web"] != 4 {
		t.Errorf("priorities %v, want app at the default 3", got)
	}
	// A tier of the default priority that had to come before a tier of
	// priority 2 makes a cycle: it comes after it.
	bad := strings.Replace(src, `    priority = 2
    vms      = ["db-01"]`, `    priority = 2
    vms      = ["db-01"]
    after    = [tier.app]`, 1)
	_, diags = LoadSources(".", map[string][]byte{"main.drplan.hcl": []byte(bad)}, LoadOptions{Environ: []string{}})
	if !strings.Contains(diags.Error(), "Cycle in recovery plan") || !strings.Contains(full(diags), "priority 3 after 2") {
		t.Errorf("a default-priority tier is not ordered after priority 2:\n%s", full(diags))
	}
}
