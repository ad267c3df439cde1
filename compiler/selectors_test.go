package compiler

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/plans"
)

const selectorOnly = `
site "east" {
  role       = "protected"
  datacenter = "DC-East"
}
site "west" {
  role       = "recovery"
  datacenter = "DC-West"
}
protection_group "web" {
  site          = site.east
  recovery_site = site.west
  select {
    folder = "prod/web"
  }
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}
recovery_plan "shop" {
  protection_groups = [protection_group.web]
  network_mapping {
    from = "Prod"
    to   = "DR-Prod"
    test = "DR-Test"
  }
  tier "web" {
    vms = protection_group.web.vms
  }
}
`

// TestSelectorMatchesNothing: a selector that matches no VM of its site
// is a warning at the select block, and a recovery plan that would then
// recover no VM is an error in the modes that bring VMs up.
func TestSelectorMatchesNothing(t *testing.T) {
	p, inv := load(t, selectorOnly, func(p *plans.Plan) *inventory.Snapshot {
		return world(p, func(inv *inventory.Snapshot) {
			inv.Sites["east"].VMs = append(inv.Sites["east"].VMs, &inventory.VM{Name: "web-01", Folder: "prod/webs"})
		})
	})
	for _, mode := range []plans.Mode{plans.ModeTest, plans.ModeFailover, plans.ModeMigrate} {
		prog, diags := Compile(p, inv, Options{Mode: mode})
		got := diagSummaries(diags)
		if prog != nil || !slices.Contains(got, "warning: Selector matches nothing") || !slices.Contains(got, "error: Recovery plan recovers no VMs") {
			t.Errorf("%s: %v", mode, got)
		}
		for _, d := range diags {
			if d.Summary == "Selector matches nothing" && (d.Subject == nil || d.Subject.Start.Line != 13) {
				t.Errorf("%s: warning not at the select block: %v", mode, d.Subject)
			}
		}
	}

	// Once the folder holds a VM, neither is said.
	p, inv = load(t, strings.Replace(selectorOnly, `"prod/web"`, `"prod/webs"`, 1), func(p *plans.Plan) *inventory.Snapshot {
		return world(p, func(inv *inventory.Snapshot) {
			inv.Sites["east"].VMs = append(inv.Sites["east"].VMs, &inventory.VM{Name: "web-01", Folder: "prod/webs", PowerState: "poweredOn",
				NICs: []inventory.NIC{{Network: "Prod", Connected: true}}})
			inv.Sites["west"].VMs = append(inv.Sites["west"].VMs, &inventory.VM{Name: "web-01", Folder: "drplan-replicas", PowerState: "poweredOff",
				Replica: &inventory.Replica{Of: "web-01", Group: "web", Site: "east", Points: inventory.RecoveryPoints{Times: []time.Time{now.Add(-5 * time.Minute)}}}})
		})
	})
	_, diags := Compile(p, inv, Options{Mode: plans.ModeTest})
	for _, s := range diagSummaries(diags) {
		if strings.Contains(s, "Selector matches nothing") || strings.Contains(s, "recovers no VMs") {
			t.Errorf("with a matching VM: %v", diagSummaries(diags))
		}
	}
}
