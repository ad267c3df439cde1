package command

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// servicesSim is the roundtrip world with web servers that answer
// /health on 8080 (ready 20s after boot) and the database on 5432; faults
// are appended.
func servicesSim(faults string) string {
	return `simulation {
  time_scale = 0.002
  boot_time  = "30s"
  vm "dev-01" {
    site     = site.west
    networks = ["DR-Prod"]
  }
  vm "dev-02" {
    site     = site.west
    networks = ["DR-Prod"]
  }
  vm "web-*" {
    service "http" {
      port   = 8080
      path   = "/health"
      status = 200
      body   = "{\"status\": \"ok\"}"
      after  = "20s"
    }
  }
  vm "db-01" {
    service "tcp" {
      port = 5432
    }
  }
` + faults + `
}
`
}

// withSteps writes the recovery plan's checks into the plan in dir: the
// roundtrip plan's recovery plan gains them through a file of their own.
func withSteps(t *testing.T, dir, steps string) {
	t.Helper()
	main := filepath.Join(dir, "main.drplan.hcl")
	b, err := os.ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	i := strings.LastIndex(src, "}")
	if err := os.WriteFile(main, []byte(src[:i]+steps+"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

const healthSteps = `
  step "smoke" {
    after = [tier.web]
    modes = ["test", "failover"]
    http {
      url           = "http://web-01:8080/health"
      expect_status = 200
      expect_body   = "\"status\":\\s*\"ok\""
    }
    timeout = "2m"
  }
  step "readdressed" {
    after = [tier.web]
    modes = ["test"]
    http {
      url = "http://10.2.9.9:8080/health"
    }
    timeout = "2m"
  }
  step "db" {
    after = [tier.db]
    modes = ["test"]
    tcp {
      address = "db-01:5432"
    }
    timeout = "2m"
  }
`

// TestDrillSimulatedServices: a drill's http and tcp checks are answered
// by the simulated services of the drill copies, on the test network:
// they pass; a service_down fault fails them; a service_slow fault
// slower than the step's timeout fails them; a fault on the production
// VM's service (same name, same address, the production network) does not
// touch the drill, and one on the copy's does.
func TestDrillSimulatedServices(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults string
		pass   bool
		want   string
	}{
		{name: "up", pass: true},
		{name: "down", faults: `fault "service_down" {
    vm      = "web-01"
    service = "http"
  }`, want: "service_down"},
		{name: "slow", faults: `fault "service_slow" {
    vm      = "web-01"
    service = "8080"
    latency = "5m"
  }`, want: "timed out"},
		{name: "production-down", pass: true, faults: `fault "service_down" {
    vm      = "web-01"
    service = "http"
    site    = site.east
  }`},
		{name: "copy-down", faults: `fault "service_down" {
    vm      = "web-01"
    service = "http"
    site    = site.west
  }`, want: "service_down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := simDir(t, servicesSim(tc.faults))
			withSteps(t, dir, healthSteps)
			code, out, rep := drill(t, dir)
			steps := map[string]string{}
			for _, s := range rep.Steps {
				steps[s.Addr.String()] = s.Status + " " + s.Error
			}
			if tc.pass {
				if code != ExitOK || rep.Result != "passed" {
					t.Fatalf("drill exit %d, result %s\n%s", code, rep.Result, out)
				}
				for _, s := range []string{"step.smoke", "step.readdressed", "step.db"} {
					if !strings.HasPrefix(steps[s], "ok") {
						t.Errorf("%s: %s", s, steps[s])
					}
				}
				return
			}
			if code == ExitOK || rep.Result == "passed" {
				t.Fatalf("drill passed; want step.smoke to fail\n%s", out)
			}
			if !strings.HasPrefix(steps["step.smoke"], "failed") || !strings.Contains(steps["step.smoke"], tc.want) {
				t.Errorf("step.smoke: %q, want failed with %q\n%s", steps["step.smoke"], tc.want, out)
			}
			if !strings.HasPrefix(steps["step.db"], "ok") {
				t.Errorf("step.db: %s", steps["step.db"])
			}
		})
	}
}

// TestSimulatedCheckOffMachine: in a simulated run a check aimed at an
// address that is neither loopback nor a simulated VM's is refused when
// the plan is compiled, naming the step and the address: plan --sim,
// drill and run --sim stop before anything runs (so nothing is sent).
func TestSimulatedCheckOffMachine(t *testing.T) {
	dir := simDir(t, servicesSim(""))
	withSteps(t, dir, `
  step "outside" {
    after = [tier.web]
    modes = ["test", "failover"]
    http {
      url = "http://192.0.2.10/"
    }
  }
  step "harness" {
    after = [tier.web]
    modes = ["test"]
    tcp {
      address = "127.0.0.1:9"
    }
  }
`)
	for _, args := range [][]string{
		{"plan", "-mode", "test", "--sim", dir},
		{"drill", dir},
		{"run", "-mode", "failover", "--sim", "--confirm", "roundtrip", dir},
	} {
		code, out := runCLI(t, args...)
		if code != ExitError {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, ExitError, out)
		}
		if !strings.Contains(out, "Check aimed off the machine") || !strings.Contains(out, `"outside"`) || !strings.Contains(out, "192.0.2.10") {
			t.Errorf("%v: the error does not name the step and the address:\n%s", args, out)
		}
		if strings.Contains(out, `"harness"`) {
			t.Errorf("%v: a loopback check is refused:\n%s", args, out)
		}
		if runs, _ := filepath.Glob(filepath.Join(dir, ".drplan", "runs", "*", "journal.jsonl")); len(runs) > 0 {
			t.Fatalf("%v: a run started: %v", args, runs)
		}
	}
}
