package runner_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/drplan/drplan/compiler"
	"github.com/drplan/drplan/local"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/runner"
	"github.com/drplan/drplan/steps"
)

// customPlan is a two-tier plan (web, then app) with the given steps, in
// a world whose app-01 never boots.
func customPlan(stepsHCL string) string {
	return `
variable "guest_password" {
  type      = string
  sensitive = true
  default   = "guest-pw"
}

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
  vms           = ["web-01", "web-02"]
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}

protection_group "app" {
  site          = site.east
  recovery_site = site.west
  vms           = ["app-01"]
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}

recovery_plan "shop" {
  protection_groups = [protection_group.web, protection_group.app]
  network_mapping {
    from = "Prod"
    to   = "DR-Prod"
    test = "DR-Test"
  }
  tier "web" {
    priority = 1
    vms      = protection_group.web.vms
    startup {
      wait_for = "ip"
    }
  }
  tier "app" {
    priority = 2
    vms      = protection_group.app.vms
    startup {
      wait_for = "none"
    }
  }
` + stepsHCL + `
}

simulation {
  time_scale = 0.01
  boot_time  = "20s"
  fault "boot_failure" {
    vm = "app-01"
  }
}
`
}

// drillCustom compiles and runs the test mode of a customPlan.
func drillCustom(t *testing.T, stepsHCL string, ex *local.Executor) (*drillEnv, *steps.Program, *runner.Result) {
	t.Helper()
	env := setupSource(t, customPlan(stepsHCL))
	snap, err := snapshotOf(env)
	if err != nil {
		t.Fatal(err)
	}
	prog, diags := compiler.Compile(env.plan, snap, compiler.Options{Mode: plans.ModeTest})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	ex.Clock = env.world.Clock
	res, err := runner.Run(context.Background(), prog, runner.Options{RunID: "drill-1", Custom: ex, Clock: env.world.Clock,
		Open: func(_ context.Context, name string, _ bool) (providers.Site, error) { return env.sites[name], nil }})
	if err != nil {
		t.Fatal(err)
	}
	return env, prog, res
}

// TestGuestSteps runs guest steps in a drill's copies through the
// simulated guest operations: a program that exits 0 passes, one that
// exits 4 fails the step with its code, and a VM whose guest never booted
// fails with the hypervisor's fault after the step's retries. A guest
// step waits for its VM's tier without being told.
func TestGuestSteps(t *testing.T) {
	planDir := t.TempDir()
	env, prog, res := drillCustom(t, `
  step "facts" {
    after = [tier.web]
    modes = ["test"]
    command {
      run = ["sh", "-c", "cp \"$DRPLAN_CONTEXT\" context.json"]
    }
  }
  step "check-web" {
    modes = ["test"]
    guest {
      vm       = "web-01"
      run      = ["/usr/bin/systemctl", "is-active", "nginx"]
      username = "root"
      password = var.guest_password
    }
  }
  step "failing-check" {
    modes      = ["test"]
    on_failure = "continue"
    guest {
      vm       = "web-02"
      run      = ["/bin/sh", "-c", "exit 4"]
      username = "root"
      password = var.guest_password
    }
  }
  step "check-app" {
    modes      = ["test"]
    retries    = 1
    on_failure = "continue"
    guest {
      vm       = "app-01"
      run      = ["/bin/true"]
      username = "root"
      password = var.guest_password
    }
  }
`, &local.Executor{PlanDir: planDir})
	// A command after the tier sees its VMs and their addresses.
	b, err := os.ReadFile(filepath.Join(planDir, "context.json"))
	if err != nil {
		t.Fatalf("facts: %v (%v)", err, res.Steps[steps.MustParseAddr("step.facts")].Err)
	}
	var doc struct {
		RunID string                         `json:"run_id"`
		Mode  string                         `json:"mode"`
		VMs   map[string]struct{ IP string } `json:"vms"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.RunID != "drill-1" || doc.Mode != "test" || len(doc.VMs) < 2 || doc.VMs["web-01"].IP == "" || doc.VMs["web-02"].IP == "" {
		t.Errorf("context file after tier web: %s", b)
	}
	if s := prog.Step(steps.MustParseAddr("step.check-web")); s == nil || !slices.Contains(s.After, steps.TierDone("web")) || s.Site != "west" || s.Args.Target != compiler.DrillFolder+"/{run}/web-01" {
		t.Fatalf("compiled guest step: %+v", s)
	}
	ok := res.Steps[steps.MustParseAddr("step.check-web")]
	if ok.Status != rundir.StatusOK || ok.Detail["exit_code"] != "0" || ok.Detail["vm"] != "web-01" {
		t.Errorf("check-web: %s, %v, %v", ok.Status, ok.Detail, ok.Err)
	}
	bad := res.Steps[steps.MustParseAddr("step.failing-check")]
	if bad.Status != rundir.StatusFailed || bad.Detail["exit_code"] != "4" || !strings.Contains(bad.Err.Error(), "exited with code 4") {
		t.Errorf("failing-check: %s, %v, %v", bad.Status, bad.Detail, bad.Err)
	}
	app := res.Steps[steps.MustParseAddr("step.check-app")]
	if app.Status != rundir.StatusFailed || app.Attempts != 2 || !strings.Contains(app.Err.Error(), "guest operations unavailable") {
		t.Errorf("check-app (guest never booted): %s after %d attempts: %v", app.Status, app.Attempts, app.Err)
	}
	// The programs ran in the copies, not in the protected VMs.
	inv, err := env.sites["west"].Inventory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range inv.VMs {
		if v.Path() == compiler.DrillFolder+"/drill-1/web-01" {
			if procs := env.world.Site("west").Processes(v.Ref); len(procs) != 1 || !strings.Contains(procs[0].CmdLine, "is-active nginx") {
				t.Errorf("programs in the copy of web-01: %+v", procs)
			}
		}
	}
}

// TestPrePowerOnStepFailure: SRM's rule for a step that must pass before
// VMs power on. drplan's custom steps are not per VM: a step with before
// = [tier.X] gates every VM of tier X (and of what follows it). When it
// fails, whether it halts the run or continues, no VM of the tier powers
// on; their copies, prepared early, stay off. A tier it does not gate
// comes up.
func TestPrePowerOnStepFailure(t *testing.T) {
	for _, policy := range []string{"halt", "continue"} {
		t.Run(policy, func(t *testing.T) {
			env, _, res := drillCustom(t, `
  step "gate" {
    modes      = ["test"]
    before     = [tier.app]
    after      = [tier.web]
    on_failure = "`+policy+`"
    command {
      run = ["sh", "-c", "echo array not ready; exit 1"]
    }
  }
`, &local.Executor{PlanDir: t.TempDir()})
			if res.Passed || res.Steps[steps.MustParseAddr("step.gate")].Status != rundir.StatusFailed {
				t.Fatalf("gate: %s, run passed %v", res.Steps[steps.MustParseAddr("step.gate")].Status, res.Passed)
			}
			for _, vm := range []string{"web-01", "web-02"} {
				if s := res.Steps[steps.TierVM("web", vm, "wait_ready")]; s.Status != rundir.StatusOK {
					t.Errorf("%s (not gated): %s", vm, s.Status)
				}
			}
			if s := res.Steps[steps.MustParseAddr("tier.app/vm.app-01/power_on")]; s.Status == rundir.StatusOK || s.Attempts > 0 {
				t.Errorf("app-01's power-on: %s after %d attempts; want it never tried", s.Status, s.Attempts)
			}
			if policy == "halt" && res.Halted != "step.gate" || policy == "continue" && res.Steps[steps.MustParseAddr("tier.app/vm.app-01/power_on")].Status != rundir.StatusSkipped {
				t.Errorf("halted by %q, app-01's power-on %s", res.Halted, res.Steps[steps.MustParseAddr("tier.app/vm.app-01/power_on")].Status)
			}
			inv, err := env.sites["west"].Inventory(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, v := range inv.VMs {
				if v.Run == "drill-1" && v.Name == "app-01" {
					found = true
					if v.PowerState != "poweredOff" {
						t.Errorf("the copy of app-01 is %s", v.PowerState)
					}
				}
			}
			if !found || res.Steps[steps.MustParseAddr("tier.app/vm.app-01/copy")].Status != rundir.StatusOK {
				t.Errorf("app-01's copy (prepared before the gate): %s, found %v", res.Steps[steps.MustParseAddr("tier.app/vm.app-01/copy")].Status, found)
			}
		})
	}
}
