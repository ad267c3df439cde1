package command

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/drplan/drplan/report"
	"github.com/drplan/drplan/steps"
)

// copyExample copies an example plan into a temporary directory, so that
// runs write their state there.
func copyExample(t *testing.T, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	src := filepath.Join("..", "..", "examples", name)
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(dst, ".drplan"))
	return dst
}

// drill runs drplan drill in process and returns its exit code, output
// and report.
func drill(t *testing.T, dir string, args ...string) (int, string, *report.Report) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(append(append([]string{"drill"}, args...), dir), &out, &errOut)
	runs, _ := filepath.Glob(filepath.Join(dir, ".drplan", "runs", "*", "report.json"))
	if len(runs) != 1 {
		t.Fatalf("want one report, found %v\nstdout:\n%s\nstderr:\n%s", runs, out.String(), errOut.String())
	}
	b, err := os.ReadFile(runs[0])
	if err != nil {
		t.Fatal(err)
	}
	var rep report.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return code, out.String() + errOut.String(), &rep
}

func check(rep *report.Report, name string) *report.Check {
	for i := range rep.Checks {
		if rep.Checks[i].Name == name {
			return &rep.Checks[i]
		}
	}
	return nil
}

// TestDrillExamples drills every example against its simulated sites, in
// process. All pass but faults, which fails the way its README says. The
// checks are answered by the simulation: nothing leaves the machine.
func TestDrillExamples(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{name: "branches"},
		{name: "webshop"}, // its smoke check is answered by the simulated web servers
		{name: "erp", args: []string{"--auto-approve"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "erp" {
				if _, err := exec.LookPath("terraform"); err != nil {
					t.Skip("the erp example's DNS step needs terraform, which is not on PATH")
				}
			}
			dir := copyExample(t, tc.name)
			code, out, rep := drill(t, dir, tc.args...)
			if code != ExitOK || rep.Result != "passed" {
				t.Fatalf("drill exit %d, result %s\n%s", code, rep.Result, out)
			}
			for _, c := range rep.Checks {
				if !c.Passed {
					t.Errorf("check %s failed: %s", c.Name, c.Detail)
				}
			}
			if len(rep.VMs) == 0 || rep.RTO.AchievedSeconds <= 0 || len(rep.RPO) == 0 {
				t.Errorf("report lacks figures: %d VMs, RTO %v, %d RPOs", len(rep.VMs), rep.RTO.AchievedSeconds, len(rep.RPO))
			}
			for _, v := range rep.VMs {
				if v.Status != "ready" || v.IP == "" || v.PlanSeconds <= 0 {
					t.Errorf("VM %+v", v)
				}
			}
			if !strings.Contains(out, "PASSED") {
				t.Errorf("no summary in the output:\n%s", out)
			}
		})
	}
}

// TestDrillFaults: the faults example's drill fails, naming the VM that
// never came up, the steps skipped after it, and the missed RPO.
func TestDrillFaults(t *testing.T) {
	dir := copyExample(t, "faults")
	code, out, rep := drill(t, dir)
	if code != ExitError || rep.Result != "failed" {
		t.Fatalf("faults drill exit %d result %s\n%s", code, rep.Result, out)
	}
	var app03 *report.VM
	for i, v := range rep.VMs {
		if v.VM == "app-03" {
			app03 = &rep.VMs[i]
		}
	}
	if app03 == nil || app03.Status != "failed" || !strings.Contains(app03.Error, "not ready") {
		t.Errorf("app-03 in the report: %+v", app03)
	}
	for _, v := range rep.VMs {
		if v.VM != "app-03" && v.Status != "ready" {
			t.Errorf("%s is %s (%s); only app-03 should fail, power-on errors are retried", v.VM, v.Status, v.Error)
		}
	}
	skipped := false
	for _, s := range rep.Steps {
		if s.Addr.String() == "step.settle" && s.Status == "skipped" {
			skipped = true
		}
	}
	if !skipped {
		t.Error("step.settle, after the failed tier, is not reported skipped")
	}
	for _, g := range rep.RPO {
		if g.Group == "app" && (g.Met || g.AchievedSeconds < 40*60) {
			t.Errorf("app's RPO %+v: 40m lag must miss its 15m target", g)
		}
	}
	if c := check(rep, "RPO"); c == nil || c.Passed {
		t.Errorf("RPO check: %+v", c)
	}
	if c := check(rep, "every VM ready"); c == nil || c.Passed || !strings.Contains(c.Detail, "app-03") {
		t.Errorf("VM check: %+v", c)
	}
}

// TestDrillHistory: a drill leaves its report in every format in its
// folder; drplan report renders the same again; and the next plan's RTO
// estimate waits for each VM's boot as long as the drill measured.
func TestDrillHistory(t *testing.T) {
	dir := copyExample(t, "branches")
	// Its pass or fail does not matter here (the 30s RPOs of CDP are 0.3s of
	// wall time, which a busy machine can miss), only that every VM booted.
	_, out, rep := drill(t, dir)
	if c := check(rep, "every VM ready"); c == nil || !c.Passed {
		t.Fatalf("not every VM came up:\n%s", out)
	}
	runDir := filepath.Join(dir, ".drplan", "runs", rep.RunID)
	for _, f := range report.Formats {
		if _, err := os.Stat(filepath.Join(runDir, f.File())); err != nil {
			t.Errorf("the drill did not write its %s report: %v", f, err)
		}
	}
	md, err := os.ReadFile(filepath.Join(runDir, report.Markdown.File()))
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := Run([]string{"report", "-format", "md", rep.RunID, dir}, &stdout, &stderr); code != ExitOK || stdout.String() != string(md) {
		t.Errorf("drplan report -format md exit %d, and it differs from the run's report.md:\n%s\n%s", code, stdout.String(), stderr.String())
	}

	measured := map[string]float64{}
	for _, s := range rep.Steps {
		if s.Kind == "wait_ready" && s.Status == "ok" {
			measured[s.VM] = s.PlanSeconds
		}
	}
	stdout.Reset()
	stderr.Reset()
	if code := Run([]string{"plan", "-mode", "test", "--sim", "-json", dir}, &stdout, &stderr); code != ExitOK {
		t.Fatalf("plan exit %d: %s", code, stderr.String())
	}
	var doc struct{ Program *steps.Program }
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil || doc.Program == nil {
		t.Fatalf("plan -json: %v", err)
	}
	n := 0
	for _, s := range doc.Program.Steps {
		if s.Kind != steps.WaitReady {
			continue
		}
		n++
		want := time.Duration(measured[s.VM] * float64(time.Second)).Round(time.Second)
		if got := time.Duration(s.Estimate); got != want || want == 0 {
			t.Errorf("%s: the estimate waits %s for its boot; the drill measured %s", s.Addr, got, want)
		}
	}
	if n != len(rep.VMs) {
		t.Errorf("%d wait steps for %d VMs", n, len(rep.VMs))
	}
	stdout.Reset()
	if Run([]string{"plan", "-mode", "test", "--sim", dir}, &stdout, &stderr); !strings.Contains(stdout.String(), fmt.Sprintf("Boot times of %d VMs come from past runs against the simulated sites", len(rep.VMs))) {
		t.Errorf("plan does not say where its boot times come from:\n%s", stdout.String())
	}
}

// TestDrillBootFailureOneVM: in the webshop's app tier, shop-app-02
// never boots. Its tier-mates are ready at their own boot time (90s),
// not when 02 gives up; 02 fails once, after its 10m timeout, not
// retried; the app tier never finishes and the web tier never starts,
// and the summary and the report say so.
func TestDrillBootFailureOneVM(t *testing.T) {
	dir := copyExample(t, "webshop")
	simFile := filepath.Join(dir, "sim.drplan.hcl")
	sim, err := os.ReadFile(simFile)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.TrimRight(string(sim), "\n")
	body = strings.TrimSuffix(body, "}") + "\n  fault \"boot_failure\" {\n    vm = \"shop-app-02\"\n  }\n}\n"
	if err := os.WriteFile(simFile, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, rep := drill(t, dir)
	if code != ExitError || rep.Result != "failed" {
		t.Fatalf("drill exit %d, result %s\n%s", code, rep.Result, out)
	}
	const boot, timeout = 90.0, 600.0 // the example's shop-app boot time and default startup timeout, plan seconds
	waits := map[string]report.Step{}
	for _, s := range rep.Steps {
		if s.Run == "test" && s.Kind == "wait_ready" {
			waits[s.VM] = s
		}
	}
	bad := waits["shop-app-02"]
	if bad.Status != "failed" || bad.Attempts != 1 || !strings.Contains(bad.Error, "not ready") {
		t.Errorf("shop-app-02's wait: %s after %d attempts: %s; want failed once, not ready", bad.Status, bad.Attempts, bad.Error)
	}
	if bad.PlanSeconds < timeout || bad.PlanSeconds > 1.5*timeout {
		t.Errorf("shop-app-02's wait failed after %s; want its %s timeout, once", report.FormatSeconds(bad.PlanSeconds), report.FormatSeconds(timeout))
	}
	vms := map[string]report.VM{}
	for _, v := range rep.VMs {
		vms[v.VM] = v
	}
	for _, name := range []string{"shop-app-01", "shop-app-03"} {
		v, w := vms[name], waits[name]
		if v.Status != "ready" || w.Status != "ok" || w.Attempts != 1 {
			t.Errorf("%s: %s (%s), its wait %s after %d attempts", name, v.Status, v.Error, w.Status, w.Attempts)
			continue
		}
		// Ready at its own boot time: its wait took about the boot time,
		// and it was up long before shop-app-02's wait gave up.
		if w.PlanSeconds > timeout/2 || v.ReadySeconds-bad.StartSeconds > timeout/2 || v.PlanSeconds < boot*0.8 {
			t.Errorf("%s ready at %s, its wait took %s (boot time %s); shop-app-02's wait began at %s and failed at %s",
				name, report.FormatSeconds(v.ReadySeconds), report.FormatSeconds(w.PlanSeconds), report.FormatSeconds(boot),
				report.FormatSeconds(bad.StartSeconds), report.FormatSeconds(bad.EndSeconds))
		}
	}
	status := map[string]string{}
	for _, tr := range rep.RTO.Tiers {
		status[tr.Tier] = tr.Status
		if !tr.Done() && tr.DoneSeconds != 0 || !tr.Started() && tr.StartSeconds != 0 {
			t.Errorf("tier %+v has a time it never reached", tr)
		}
	}
	if status["db"] != report.TierDone || status["app"] != report.TierNotDone || status["web"] != report.TierNotStarted {
		t.Errorf("tiers %v; want db done, app not done, web not started", status)
	}
	if !strings.Contains(out, "tiers: db ") || !strings.Contains(out, " app not done; web not started\n") || strings.Contains(out, " 0s;") {
		t.Errorf("the summary does not say which tiers did not finish:\n%s", out)
	}
	md, err := os.ReadFile(filepath.Join(dir, ".drplan", "runs", rep.RunID, report.Markdown.File()))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "| web | 2 | not started | — |") || !regexp.MustCompile(`\| app \| 3 \| \S+ \| not done \|`).Match(md) {
		t.Errorf("report.md's tiers:\n%s", md)
	}
}
