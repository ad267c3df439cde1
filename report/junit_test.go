package report

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/drplan/drplan/steps"
)

// TestJUnitWallTime: a simulated run whose plan time is hours but whose
// wall time is seconds gives CI small times (the steps' wall_seconds), each
// suite's the wall time of what it covers (not a sum: the VMs of a tier
// ran side by side), the whole the run's wall time, and the plan time in
// properties.
func TestJUnitWallTime(t *testing.T) {
	const scale = 0.001 // wall seconds per plan second, in this made-up run
	step := func(vm, tier, addr string, start, end float64) Step {
		return Step{Run: "test", Addr: steps.MustParseAddr(addr), Kind: "wait_ready", Tier: tier, VM: vm, Status: "ok",
			StartSeconds: start, EndSeconds: end, PlanSeconds: end - start, WallSeconds: (end - start) * scale}
	}
	// Two VMs recovering side by side for two hours of plan time each,
	// then a custom step of an hour.
	r := &Report{Plan: "shop", RecoveryPlan: "shop", Mode: "test", Target: "sim", Result: "passed",
		Runs: []RunSummary{{Mode: "test", Result: "passed", PlanSeconds: 10810, WallSeconds: 10.8}},
		RTO:  RTO{TargetSeconds: 4 * 3600, AchievedSeconds: 3*3600 + 10, Tiers: []Tier{{Tier: "app", Status: TierDone}}},
		Steps: []Step{
			step("a", "app", "tier.app/vm.a/wait_ready", 10, 7210),
			step("b", "app", "tier.app/vm.b/wait_ready", 10, 7210),
			{Run: "test", Addr: steps.MustParseAddr("step.smoke"), Kind: "custom", Status: "ok", StartSeconds: 7210, EndSeconds: 10810, PlanSeconds: 3600, WallSeconds: 3.6},
		},
		VMs: []VM{
			{VM: "a", Tier: "app", Status: "ready", StartSeconds: 10, ReadySeconds: 7210, PlanSeconds: 7200, WallSeconds: 7.2},
			{VM: "b", Tier: "app", Status: "ready", StartSeconds: 10, ReadySeconds: 7210, PlanSeconds: 7200, WallSeconds: 7.2},
		},
	}
	var buf bytes.Buffer
	if err := r.WriteJUnit(&buf); err != nil {
		t.Fatal(err)
	}
	type prop struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	var doc struct {
		Time   string `xml:"time,attr"`
		Suites []struct {
			Name  string `xml:"name,attr"`
			Time  string `xml:"time,attr"`
			Props []prop `xml:"properties>property"`
			Cases []struct {
				Name  string `xml:"name,attr"`
				Time  string `xml:"time,attr"`
				Props []prop `xml:"properties>property"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	props := func(ps []prop) map[string]string {
		m := map[string]string{}
		for _, p := range ps {
			m[p.Name] = p.Value
		}
		return m
	}
	num := func(s string) float64 {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("%q is not a number: %v", s, err)
		}
		return f
	}
	// The whole: the run's wall time.
	if got := num(doc.Time); got != 10.8 {
		t.Errorf("testsuites time = %v, want 10.8 (the run's wall seconds)\n%s", got, buf.String())
	}
	want := map[string]struct{ wall, plan float64 }{
		"tier.app":     {7.2, 7200}, // the two VMs side by side, not 14.4
		"custom steps": {3.6, 3600},
	}
	if len(doc.Suites) != len(want) {
		t.Fatalf("want suites %v, got %d\n%s", want, len(doc.Suites), buf.String())
	}
	for _, s := range doc.Suites {
		w := want[s.Name]
		p := props(s.Props)
		if got := num(s.Time); got != w.wall {
			t.Errorf("suite %s time = %v, want %v", s.Name, got, w.wall)
		}
		if got := num(p["plan_seconds"]); got != w.plan {
			t.Errorf("suite %s plan_seconds = %v, want %v", s.Name, got, w.plan)
		}
		if got := num(p["rto_achieved_seconds"]); got != 3*3600+10 {
			t.Errorf("suite %s rto_achieved_seconds = %v", s.Name, got)
		}
		if got := num(p["rto_target_seconds"]); got != 4*3600 {
			t.Errorf("suite %s rto_target_seconds = %v", s.Name, got)
		}
		for _, c := range s.Cases {
			if num(c.Time) > 10 {
				t.Errorf("testcase %s time = %s: plan time, not wall time", c.Name, c.Time)
			}
			if num(props(c.Props)["plan_seconds"]) < 3600 {
				t.Errorf("testcase %s has no plan_seconds of an hour or more: %v", c.Name, c.Props)
			}
		}
	}
}

// TestJUnitSchema validates JUnit files against the format CI reporters
// read (testdata/junit.xsd, checked with libxml2's xmllint): the drill
// fixture (failures, a skip, checks), the same run live (times from the
// plan span), one interrupted (errors) and one with nothing run.
func TestJUnitSchema(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatalf("the JUnit files are validated with xmllint, and it is not installed: install Debian's libxml2-utils package (apt-get install -y libxml2-utils; make test does as root)")
	}
	live := fixture(t)
	live.Target = "vcenter-east"
	interrupted := fixture(t)
	for i := range interrupted.VMs {
		if interrupted.VMs[i].Status == "ready" {
			interrupted.VMs[i].Status = "interrupted"
			break
		}
	}
	for i := range interrupted.Steps {
		if interrupted.Steps[i].Kind == "custom" {
			interrupted.Steps[i].Status = "interrupted"
		}
	}
	empty := &Report{Plan: "shop", RecoveryPlan: "shop", Mode: "test", Target: "sim", Result: "failed"}
	dir := t.TempDir()
	for name, r := range map[string]*Report{"drill": fixture(t), "live": live, "interrupted": interrupted, "empty": empty} {
		var buf bytes.Buffer
		if err := r.WriteJUnit(&buf); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, name+".xml")
		if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("testdata", "junit.xsd"), file).CombinedOutput(); err != nil {
			t.Errorf("%s: the JUnit file does not validate: %v\n%s\n%s", name, err, out, buf.String())
		}
		if name == "interrupted" && !strings.Contains(buf.String(), "<error ") {
			t.Errorf("an interrupted run's JUnit has no <error>:\n%s", buf.String())
		}
	}
	// The schema is not a rubber stamp: a time with a unit is refused.
	bad := filepath.Join(dir, "bad.xml")
	if err := os.WriteFile(bad, []byte(`<testsuites tests="1"><testsuite name="t" tests="1"><testcase name="c" classname="k" time="2h"/></testsuite></testsuites>`), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("testdata", "junit.xsd"), bad).CombinedOutput(); err == nil {
		t.Errorf("the schema accepted a testcase time of \"2h\":\n%s", out)
	}
}
