package command

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/drplan/drplan/report"
)

// seededPlan is a ten-VM plan whose drill is shaped by chance: power-ons
// fail at random (and are retried), boot times differ, one group is a
// CDP journal with a 5 s RPO. extra goes into the simulation block.
func seededPlan(extra string) string {
	return `
drplan {
  name = "seeded"
}

site "east" {
  role       = "protected"
  datacenter = "DC-East"
}

site "west" {
  role       = "recovery"
  datacenter = "DC-West"
}

protection_group "db" {
  site          = site.east
  recovery_site = site.west
  vms           = ["db-01", "db-02"]
  replication {
    method  = "cdp"
    rpo     = "5s"
    journal = "1h"
  }
}

protection_group "app" {
  site          = site.east
  recovery_site = site.west
  vms           = ["app-01", "app-02", "app-03", "app-04", "app-05", "app-06", "app-07", "app-08"]
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}

recovery_plan "all" {
  protection_groups = [protection_group.db, protection_group.app]
  rto               = "1h"
  max_parallel      = 3

  network_mapping {
    from = "Prod"
    to   = "DR-Prod"
    test = "DR-Test"
  }

  tier "db" {
    priority = 1
    vms      = protection_group.db.vms
  }

  tier "app" {
    priority = 2
    vms      = protection_group.app.vms
  }
}

simulation {
  boot_time = "1m"
  vm "db-01" { boot_time = "3m" }
  vm "app-0[1-4]" { boot_time = "90s" }
  vm "app-07" { boot_time = "2m10s" }
  fault "api_error" {
    method      = "PowerOnVM_Task"
    probability = 0.3
    site        = site.west
  }
` + extra + `
}
`
}

func writePlan(t *testing.T, src string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "plan")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.drplan.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// figures are a drill report's plan-time figures: what the same seed
// must give again.
func figures(rep *report.Report) string {
	var lines []string
	for _, v := range rep.VMs {
		lines = append(lines, fmt.Sprintf("vm %s %s start %g ready %g", v.VM, v.Status, v.StartSeconds, v.ReadySeconds))
	}
	for _, s := range rep.Steps {
		if s.Run == "test" {
			lines = append(lines, fmt.Sprintf("step %s %s attempts %d plan %g", s.Addr, s.Status, s.Attempts, s.PlanSeconds))
		}
	}
	for _, r := range rep.RPO {
		lines = append(lines, fmt.Sprintf("rpo %s %g", r.Group, r.AchievedSeconds))
	}
	lines = append(lines, fmt.Sprintf("rto %g", rep.RTO.AchievedSeconds))
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestSameSeedSameDrill: two drills of a plan with the same seed give
// the same plan-time figures — per-VM ready times, step times and
// attempts (which faults fired), RTO, RPO — with both cores kept busy;
// another seed changes which power-ons fail.
func TestSameSeedSameDrill(t *testing.T) {
	// Two busy loops, one a core: the machine is loaded while it drills.
	for range 2 {
		busy := exec.Command("sh", "-c", "while :; do :; done")
		if err := busy.Start(); err != nil {
			t.Fatal(err)
		}
		defer busy.Wait()
		defer busy.Process.Kill()
	}
	run := func(seed string) (*report.Report, string) {
		dir := writePlan(t, seededPlan(""))
		code, out, rep := drill(t, dir, "-seed", seed)
		if code != ExitOK {
			t.Fatalf("drill -seed %s: exit %d\n%s", seed, code, out)
		}
		if rep.Seed == 0 || fmt.Sprint(rep.Seed) != seed {
			t.Errorf("the report records seed %d, want %s", rep.Seed, seed)
		}
		if !strings.Contains(out, "seed "+seed) {
			t.Errorf("the drill does not print its seed:\n%s", out)
		}
		return rep, figures(rep)
	}
	_, a := run("7")
	_, b := run("7")
	if a != b {
		t.Fatalf("same seed, different figures:\n--- first\n%s\n--- second\n%s", a, b)
	}
	retried := func(f string) int { return strings.Count(f, "attempts 2") + strings.Count(f, "attempts 3") }
	if retried(a) == 0 {
		t.Errorf("no power-on failed and was retried at probability 0.3:\n%s", a)
	}
	differs := false
	for _, seed := range []string{"8", "9", "10"} {
		if _, c := run(seed); c != a {
			differs = true
			break
		}
	}
	if !differs {
		t.Error("three other seeds all gave the figures of seed 7: the seed decides nothing")
	}
}

// TestCDPHoldsItsRPO: a CDP group with a 5 s RPO never misses it in a
// drill: 50 drills, each a new world with its own seed.
func TestCDPHoldsItsRPO(t *testing.T) {
	src := strings.Replace(faultFree(), `vms           = ["app-01", "app-02", "app-03", "app-04", "app-05", "app-06", "app-07", "app-08"]`, `vms           = ["app-01"]`, 1)
	for i := range 50 {
		dir := writePlan(t, src)
		code, out, rep := drill(t, dir, "-seed", fmt.Sprint(1000+i))
		if code != ExitOK {
			t.Fatalf("drill %d: exit %d\n%s", i, code, out)
		}
		for _, r := range rep.RPO {
			if r.Group == "db" && (r.AchievedSeconds > 5 || !r.Met) {
				t.Fatalf("drill %d: the CDP group's RPO is %gs against 5s", i, r.AchievedSeconds)
			}
		}
	}
}

// faultFree is seededPlan without its api_error fault.
func faultFree() string {
	return strings.Replace(seededPlan(""), `  fault "api_error" {
    method      = "PowerOnVM_Task"
    probability = 0.3
    site        = site.west
  }
`, "", 1)
}

// TestEstimateIsAchieved: a fault-free simulated drill achieves the RTO
// that plan estimated, within ±2% (here: exactly, the estimate being the
// runner's own scheduler on the simulation's durations).
func TestEstimateIsAchieved(t *testing.T) {
	src := faultFree()
	dir := writePlan(t, src)
	code, out, rep := drill(t, dir)
	if code != ExitOK {
		t.Fatalf("drill: exit %d\n%s", code, out)
	}
	est, got := rep.RTO.EstimateSeconds, rep.RTO.AchievedSeconds
	if est <= 0 || got < 0.98*est || got > 1.02*est {
		t.Fatalf("achieved RTO %gs against an estimate of %gs: not within ±2%%", got, est)
	}
}

// TestWallStepShowsWallTime: an http step that takes 3 s of wall time
// (a check of this machine's loopback, real even in a simulated drill)
// shows as 3 s in the report and does not stretch the drill's plan time.
func TestWallStepShowsWallTime(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(3 * time.Second)
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	src := strings.Replace(faultFree(), `  tier "app" {`, `  step "probe" {
    after = [tier.db]
    modes = ["test"]
    http {
      url           = "`+srv.URL+`/health"
      expect_status = 200
    }
    timeout = "1m"
  }

  tier "app" {`, 1)
	dir := writePlan(t, src)
	code, out, rep := drill(t, dir)
	if code != ExitOK {
		t.Fatalf("drill: exit %d\n%s", code, out)
	}
	var probe *report.Step
	for i, s := range rep.Steps {
		if s.Addr.String() == "step.probe" {
			probe = &rep.Steps[i]
		}
	}
	if probe == nil {
		t.Fatal("no step.probe in the report")
	}
	if probe.WallSeconds < 3 || probe.WallSeconds > 10 || probe.PlanSeconds != 0 {
		t.Errorf("the probe took %gs of wall and %gs of plan time; want ~3s of wall, none of plan time", probe.WallSeconds, probe.PlanSeconds)
	}
	md, err := os.ReadFile(filepath.Join(filepath.Dir(reportPath(t, dir)), "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "3s (wall)") {
		t.Errorf("the Markdown report does not show the probe's 3 s of wall time:\n%s", md)
	}
	if est, got := rep.RTO.EstimateSeconds, rep.RTO.AchievedSeconds; got != est {
		t.Errorf("a wall-time step moved the plan: achieved %gs, estimated %gs", got, est)
	}
}

func reportPath(t *testing.T, dir string) string {
	t.Helper()
	runs, _ := filepath.Glob(filepath.Join(dir, ".drplan", "runs", "*", "report.json"))
	if len(runs) != 1 {
		t.Fatalf("want one report, found %v", runs)
	}
	return runs[0]
}

// TestDrillJSONStream: drill -json prints only JSON objects, one a line,
// in terraform's shape, from the version line to the verdict, fed by the
// same events as the report.
func TestDrillJSONStream(t *testing.T) {
	dir := copyExample(t, "webshop")
	var out, errOut strings.Builder
	code := Run([]string{"drill", "-json", dir}, &out, &errOut)
	if code != ExitOK {
		t.Fatalf("drill -json: exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	types := map[string]int{}
	var first, last map[string]any
	for i, l := range lines {
		var e map[string]any
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("line %d is not a JSON object: %q", i+1, l)
		}
		for _, k := range []string{"@level", "@message", "@module", "@timestamp", "type"} {
			if _, ok := e[k]; !ok {
				t.Fatalf("line %d has no %s: %s", i+1, k, l)
			}
		}
		typ := e["type"].(string)
		if typ != "version" {
			if _, ok := e[map[string]string{"run_start": "run", "run_finish": "run", "step_start": "step", "step_finish": "step",
				"step_failed": "step", "step_retry": "step", "step_errored": "step", "step_skip": "step", "vm_ready": "vm",
				"tier_done": "tier", "point_chosen": "point", "check": "check", "verdict": "verdict"}[typ]]; !ok {
				t.Errorf("line %d: type %s without its payload: %s", i+1, typ, l)
			}
		}
		types[typ]++
		if i == 0 {
			first = e
		}
		last = e
	}
	if first["type"] != "version" || first["version"].(map[string]any)["ui"] != EventsVersion {
		t.Errorf("the stream does not open with its version: %v", first)
	}
	if last["type"] != "verdict" || last["verdict"].(map[string]any)["result"] != "passed" {
		t.Errorf("the stream does not end with the drill's verdict: %v", last)
	}
	rep := readReport(t, dir)
	ready := 0
	for _, v := range rep.VMs {
		if v.Status == "ready" {
			ready++
		}
	}
	if types["run_start"] != 2 || types["run_finish"] != 2 || types["vm_ready"] != ready || types["check"] != len(rep.Checks) ||
		types["step_start"] == 0 || types["step_finish"] == 0 || types["tier_done"] == 0 {
		t.Errorf("events %v; want a test and a cleanup run, %d vm_ready as the report, %d checks", types, ready, len(rep.Checks))
	}
}

func readReport(t *testing.T, dir string) *report.Report {
	t.Helper()
	b, err := os.ReadFile(reportPath(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	var rep report.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return &rep
}

// TestMigrateEstimate: a simulated migration achieves plan's estimate
// within ±2%, its final syncs included (they last until the simulated
// replication has a point after the shutdown), for several seeds (the
// seed sets the replication schedules' phase).
func TestMigrateEstimate(t *testing.T) {
	for _, seed := range []string{"5", "6", "7"} {
		dir := simDir(t, `simulation {
  boot_time = "30s"
  vm "dev-01" {
    site     = site.west
    networks = ["DR-Prod"]
  }
}
`)
		code, out, rep := runMode(t, dir, []string{"--sim", "-seed", seed}, "migrate")
		if code != ExitOK {
			t.Fatalf("migrate -seed %s: exit %d\n%s", seed, code, out)
		}
		est, got := rep.RTO.EstimateSeconds, rep.RTO.AchievedSeconds
		if est <= 0 || got < 0.98*est || got > 1.02*est {
			t.Errorf("migrate -seed %s: achieved %gs against an estimate of %gs: not within ±2%%", seed, got, est)
		}
	}
}
