package command

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selectorPlan is the roundtrip plan's sites with one group per selector
// kind: by folder, by tag and by name.
const selectorPlan = `drplan {
  name = "roundtrip"
}
` + liveSites + `protection_group "app" {
  site          = site.east
  recovery_site = site.west
  select {
    folder = "prod/app"
  }
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}
protection_group "gold" {
  site          = site.east
  recovery_site = site.west
  select {
    tag = "dr:gold"
  }
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}
protection_group "web" {
  site          = site.east
  recovery_site = site.west
  select {
    name = "web-*"
  }
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}
recovery_plan "shop" {
  protection_groups = [protection_group.app, protection_group.gold, protection_group.web]
  network_mapping {
    from = "Prod"
    to   = "DR-Prod"
    test = "DR-Bubble"
  }
  ip_rule "prod" {
    from_cidr = "10.1.0.0/16"
    to_cidr   = "10.2.0.0/16"
  }
  tier "all" {
    vms = concat(protection_group.app.vms, protection_group.gold.vms, protection_group.web.vms)
  }
}
simulation {
  time_scale = 0.002
  boot_time  = "30s"
  vm "app-01" {
    folder   = "prod/app"
    networks = ["Prod"]
  }
  vm "app-02" {
    folder   = "prod/app"
    networks = ["Prod"]
  }
  vm "pay-01" {
    tags     = ["dr:gold"]
    networks = ["Prod"]
  }
  vm "web-01" {
    networks = ["Prod"]
  }
  vm "web-02" {
    networks = ["Prod"]
  }
}
`

// TestSelectorRoundTrip: a failover, reprotect and failback of groups
// built from each selector kind bring every VM back to its original site
// with its original address. Before, failback found no member (the VMs
// left at the protected site are replicas after reprotect, which
// selectors do not match) and passed with 0/0 VMs ready, leaving them all
// at the recovery site.
func TestSelectorRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "roundtrip")
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "main.drplan.hcl"), []byte(selectorPlan), 0o644); err != nil {
		t.Fatal(err)
	}
	w, vars := worldFor(t, dir)
	before := worldState(t, w)
	if len(before) < 10 {
		t.Fatalf("the world has %d VMs, want 5 and their replicas: %v", len(before), before)
	}
	if code, out, _ := runMode(t, dir, vars, "failover"); code != ExitOK {
		t.Fatalf("failover: exit %d\n%s", code, out)
	}
	if code, out, _ := runMode(t, dir, vars, "reprotect"); code != ExitOK {
		t.Fatalf("reprotect: exit %d\n%s", code, out)
	}
	for _, vm := range []string{"app-01", "app-02", "pay-01", "web-01", "web-02"} {
		vm := vm
		waitFor(t, 10*time.Second, "points at the reversed replica of "+vm, func() bool { return len(w.Site("east").Points(vm)) > 0 })
	}
	code, out := runCLI(t, append(append([]string{"plan", "-mode", "failback"}, vars...), dir)...)
	if code != ExitOK || strings.Contains(out, " 0 VMs") {
		t.Errorf("plan -mode failback after reprotect: exit %d, or a group with 0 VMs:\n%s", code, out)
	}
	code, out = runCLI(t, append(append([]string{"status"}, vars...), dir)...)
	if code != ExitOK || !strings.Contains(out, "reversed") {
		t.Errorf("status after reprotect: exit %d, want 0 and the reversed protection shown:\n%s", code, out)
	}
	code, out, rep := runMode(t, dir, vars, "failback")
	if code != ExitOK {
		t.Fatalf("failback: exit %d\n%s", code, out)
	}
	ready := 0
	for _, v := range rep.VMs {
		if v.Status == "ready" && v.Site == "east" {
			ready++
		}
	}
	if ready != 5 {
		t.Errorf("failback: %d VMs ready at east, want 5:\n%s", ready, out)
	}
	var d string
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if d = diffStates(before, worldState(t, w)); d == "" {
			break
		}
	}
	if d != "" {
		t.Errorf("after failover, reprotect and failback the world differs from before:\n%s", d)
	}
}
