package report

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/steps"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// fixtureRun is the run folder of a real simulated drill of
// testdata/drill/plan (regenerate with drplan drill, then copy
// journal.jsonl, program.json and cleanup.json): web-03 never boots,
// step.smoke is skipped after it, a power-on is retried, the web group's
// replication lags past its RPO.
const fixtureRun = "testdata/drill"

const fixtureID = "20261122T015949Z-4393"

// fixture builds the report of the fixed journal, with the checks and
// warnings drplan drill gave it.
func fixture(t *testing.T) *Report {
	t.Helper()
	events, err := rundir.ReadJournal(fixtureRun)
	if err != nil {
		t.Fatal(err)
	}
	var programs []*steps.Program
	for _, name := range []string{"program.json", "cleanup.json"} {
		b, err := os.ReadFile(filepath.Join(fixtureRun, name))
		if err != nil {
			t.Fatal(err)
		}
		p, err := steps.Read(b)
		if err != nil {
			t.Fatal(err)
		}
		programs = append(programs, p)
	}
	stale := `Replica older than the RPO: The latest recovery point of group "web" is 30m old, more than its RPO of 15m: replication is lagging or stopped. Check the replication of the group's VMs.`
	r := Build(Input{Target: "sim", Owner: "dr-team@example.com", Programs: programs, Events: events,
		Checks: []Check{
			{Name: "protected site unchanged", Passed: true, Detail: "every protected VM's power state, NICs, CPUs, memory and disks are as before"},
			{Name: "cleanup", Passed: true, Detail: "every copy powered off and destroyed, nothing of run " + fixtureID + " left at the recovery sites"},
			{Name: "every VM ready", Passed: false, Detail: "not ready: web-03 (failed)"},
			{Name: "every custom step passed", Passed: false, Detail: "step.smoke (skipped)"},
			{Name: "RTO", Passed: false, Detail: "achieved 4m43s against a target of 10m"},
			{Name: "RPO", Passed: false, Detail: "db 5s (target 15m), web 30m5s (target 15m)"},
		},
		Warnings: []string{stale, "Terraform not found: no terraform on PATH | a made-up warning to show escaping <in> every format"},
		Drift:    []string{stale},
	})
	r.RunID = fixtureID
	return r
}

// TestGolden renders the fixed journal as JSON, Markdown and JUnit and
// compares each with its golden file; -update rewrites them.
func TestGolden(t *testing.T) {
	r := fixture(t)
	for _, f := range []Format{JSON, Markdown, JUnit} {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			if err := r.Write(&buf, f); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", f.File())
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./report -run TestGolden -update to write it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs from %s; if the change is intended, run go test ./report -run TestGolden -update and review the diff.\n%s",
					f, golden, firstDiff(buf.String(), string(want)))
			}
		})
	}
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			return "line " + strconv.Itoa(i+1) + ":\n got: " + a + "\nwant: " + b
		}
	}
	return ""
}

// The JUnit document as a CI system reads it, parsed independently of
// the types that wrote it.
type ciSuites struct {
	XMLName  xml.Name  `xml:"testsuites"`
	Tests    int       `xml:"tests,attr"`
	Failures int       `xml:"failures,attr"`
	Errors   int       `xml:"errors,attr"`
	Skipped  int       `xml:"skipped,attr"`
	Suites   []ciSuite `xml:"testsuite"`
}

type ciSuite struct {
	Name     string   `xml:"name,attr"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Time     string   `xml:"time,attr"`
	Cases    []ciCase `xml:"testcase"`
}

type ciCase struct {
	Name      string    `xml:"name,attr"`
	Classname string    `xml:"classname,attr"`
	Time      string    `xml:"time,attr"`
	Failure   *ciResult `xml:"failure"`
	Error     *ciResult `xml:"error"`
	Skipped   *ciResult `xml:"skipped"`
}

type ciResult struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// TestJUnitStructure parses the JUnit file as CI systems do: testsuites
// holding testsuites holding testcases, counts that add up, a testcase
// per VM and per custom step, and failures that say why.
func TestJUnitStructure(t *testing.T) {
	r := fixture(t)
	var buf bytes.Buffer
	if err := r.WriteJUnit(&buf); err != nil {
		t.Fatal(err)
	}
	var doc ciSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("the JUnit file does not parse: %v\n%s", err, buf.String())
	}
	var tests, failures, errs, skipped int
	cases := map[string]ciCase{}
	for _, s := range doc.Suites {
		var f, e, sk int
		for _, c := range s.Cases {
			if c.Name == "" || c.Classname == "" || c.Time == "" {
				t.Errorf("suite %s: testcase %+v lacks a name, classname or time", s.Name, c)
			}
			switch {
			case c.Failure != nil:
				f++
			case c.Error != nil:
				e++
			case c.Skipped != nil:
				sk++
			}
			cases[c.Name] = c
		}
		if s.Tests != len(s.Cases) || s.Failures != f || s.Errors != e || s.Skipped != sk {
			t.Errorf("suite %s says tests=%d failures=%d errors=%d skipped=%d; its testcases count %d, %d, %d, %d",
				s.Name, s.Tests, s.Failures, s.Errors, s.Skipped, len(s.Cases), f, e, sk)
		}
		tests, failures, errs, skipped = tests+s.Tests, failures+s.Failures, errs+s.Errors, skipped+s.Skipped
	}
	if doc.Tests != tests || doc.Failures != failures || doc.Errors != errs || doc.Skipped != skipped {
		t.Errorf("testsuites says tests=%d failures=%d errors=%d skipped=%d; its suites add up to %d, %d, %d, %d",
			doc.Tests, doc.Failures, doc.Errors, doc.Skipped, tests, failures, errs, skipped)
	}
	suites := map[string]bool{}
	for _, s := range doc.Suites {
		suites[s.Name] = true
	}
	for _, want := range []string{"tier.db", "tier.web", "custom steps", "checks"} {
		if !suites[want] {
			t.Errorf("no testsuite %q in %v", want, suites)
		}
	}
	for _, v := range r.VMs {
		c, ok := cases["vm."+v.VM]
		if !ok {
			t.Errorf("no testcase for VM %s", v.VM)
			continue
		}
		if (v.Status == "ready") != (c.Failure == nil && c.Error == nil && c.Skipped == nil) {
			t.Errorf("VM %s is %s but its testcase is %+v", v.VM, v.Status, c)
		}
	}
	if c := cases["vm.web-03"]; c.Failure == nil || !strings.Contains(c.Failure.Message, "not ready within its 3m timeout") ||
		!strings.Contains(c.Failure.Text, "tier.web/vm.web-03/wait_ready failed after 4 attempt(s)") {
		t.Errorf("web-03's failure does not say why: %+v", c.Failure)
	}
	if c := cases["step.db_check"]; c.Name == "" || c.Failure != nil || c.Skipped != nil {
		t.Errorf("step.db_check passed; its testcase is %+v", c)
	}
	if c := cases["step.smoke"]; c.Skipped == nil || !strings.Contains(c.Skipped.Message, "skipped because tier.web/vm.web-03/wait_ready failed") {
		t.Errorf("step.smoke was skipped after web-03; its testcase is %+v", c)
	}
	if c := cases["RPO"]; c.Failure == nil || !strings.Contains(c.Failure.Message, "web 30m5s (target 15m)") {
		t.Errorf("the RPO check failed; its testcase is %+v", c)
	}
	if doc.Failures != 4+1 || doc.Tests != 4+2+6 {
		t.Errorf("want 12 testcases (4 VMs, 2 custom steps, 6 checks) of which 5 fail, got %d and %d", doc.Tests, doc.Failures)
	}
}

// TestScrub: a sensitive value in any string of the report (errors, step
// details, warnings, checks) appears in no format, even where a format
// would escape it.
func TestScrub(t *testing.T) {
	const secret = `s3cr<t&"pw`
	r := fixture(t)
	r.Warnings = append(r.Warnings, "a warning that quotes "+secret)
	r.Checks[0].Detail += " " + secret
	for i := range r.Steps {
		if r.Steps[i].Status == "failed" {
			r.Steps[i].Error = "login as admin:" + secret + " refused"
		}
		if r.Steps[i].Detail != nil {
			r.Steps[i].Detail["secret"] = secret
		}
	}
	r.VMs[len(r.VMs)-1].Error = secret
	r.Scrub(func(s string) string { return strings.ReplaceAll(s, secret, "(sensitive)") })
	escaped := []string{secret, "s3cr&lt;t", `s3cr\u003ct`, "s3cr&#34;", "s3cr<t", "&amp;&#34;pw", "&amp;&quot;pw", `&\"pw`}
	for _, f := range Formats {
		var buf bytes.Buffer
		if err := r.Write(&buf, f); err != nil {
			t.Fatal(err)
		}
		for _, e := range escaped {
			if strings.Contains(buf.String(), e) {
				t.Errorf("%s shows the secret (as %q)", f, e)
			}
		}
		if !strings.Contains(buf.String(), "(sensitive)") {
			t.Errorf("%s does not say (sensitive) where the secret was", f)
		}
	}
}
