package command

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/report"
)

// checkNamed returns the report's check of that name, failing the test
// when there is none.
func checkNamed(t *testing.T, rep *report.Report, name string) report.Check {
	t.Helper()
	for _, c := range rep.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("%s: no check %q in the report; checks: %+v", rep.Mode, name, rep.Checks)
	return report.Check{}
}

// reportFile reads one format of a run's report.
func reportFile(t *testing.T, dir string, rep *report.Report, f report.Format) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ".drplan", "runs", rep.RunID, f.File()))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestVerifyRoundTrip: migrate, reprotect and failback each end with
// checks read back from the sites, all passing, in every format of their
// reports.
func TestVerifyRoundTrip(t *testing.T) {
	dir, _, vars := liveWorld(t, "")
	want := map[string][]string{
		"migrate":   {"every VM running at west", "each VM once at west", "networks as mapped", "addresses as planned", "nothing running at east"},
		"reprotect": {"every VM replicated at east", "no replica running at east"},
		"failback":  {"every VM running at east", "each VM once at east", "networks as mapped", "addresses as planned", "nothing running at west"},
	}
	for _, mode := range []string{"migrate", "reprotect", "failback"} {
		code, out, rep := runMode(t, dir, vars, mode)
		if code != ExitOK || rep.Result != "passed" {
			t.Fatalf("%s: exit %d, result %s\n%s", mode, code, rep.Result, out)
		}
		if !strings.Contains(out, "Verification, read back from the sites:") {
			t.Errorf("%s: the output does not show the verification:\n%s", mode, out)
		}
		for _, name := range want[mode] {
			c := checkNamed(t, rep, name)
			if !c.Passed || strings.HasPrefix(c.Detail, "not proven") {
				t.Errorf("%s: check %q: passed %v, %q", mode, name, c.Passed, c.Detail)
			}
			for _, f := range []report.Format{report.Markdown, report.HTML, report.JUnit} {
				if !strings.Contains(reportFile(t, dir, rep, f), name) {
					t.Errorf("%s: the %s report does not list the check %q", mode, f, name)
				}
			}
		}
		switch mode {
		case "migrate":
			if d := checkNamed(t, rep, "addresses as planned").Detail; !strings.Contains(d, "web-02 10.2.9.9") || !strings.Contains(d, "db-01 10.2.0.10") {
				t.Errorf("migrate: addresses: %q, want web-02 at its override and db-01 by rule", d)
			}
			if d := checkNamed(t, rep, "networks as mapped").Detail; !strings.Contains(d, "DR-Prod") {
				t.Errorf("migrate: networks: %q, want DR-Prod", d)
			}
		case "failback":
			if d := checkNamed(t, rep, "addresses as planned").Detail; !strings.Contains(d, "web-02 10.1.") {
				t.Errorf("failback: addresses: %q, want web-02 back at its own 10.1 address", d)
			}
		}
	}
}

// TestVerifyFailoverFails: a failover whose VM cannot be powered on at the
// recovery site (its tier goes on after failures) ends with the check
// that every VM runs there failed, naming the VM and its state, and the
// run says which checks failed.
func TestVerifyFailoverFails(t *testing.T) {
	dir := simDir(t, `simulation {
  time_scale = 0.002
  boot_time  = "30s"
  vm "dev-01" {
    site     = site.west
    networks = ["DR-Prod"]
  }
  fault "boot_failure" {
    vm   = "web-02"
    mode = "power_on_error"
  }
}
`)
	main := filepath.Join(dir, "main.drplan.hcl")
	b, err := os.ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(b), "tier \"web\" {\n    priority = 2\n", "tier \"web\" {\n    priority   = 2\n    on_failure = \"continue\"\n", 1)
	if src == string(b) {
		t.Fatal("cannot find tier web in the test plan")
	}
	if err := os.WriteFile(main, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, rep := runMode(t, dir, []string{"--sim"}, "failover")
	if code != ExitError || rep.Result != "failed" {
		t.Fatalf("failover: exit %d, result %s; want 1, failed\n%s", code, rep.Result, out)
	}
	c := checkNamed(t, rep, "every VM running at west")
	if c.Passed || !strings.Contains(c.Detail, "web-02 is poweredOff") {
		t.Errorf("check %q: passed %v, %q; want failed naming web-02 powered off", c.Name, c.Passed, c.Detail)
	}
	if strings.Contains(c.Detail, "web-01") || strings.Contains(c.Detail, "db-01") {
		t.Errorf("check %q names VMs that run: %q", c.Name, c.Detail)
	}
	if !strings.Contains(out, "Verification FAILED: every VM running at west") {
		t.Errorf("the output does not say which checks failed:\n%s", out)
	}
	if c := checkNamed(t, rep, "nothing running at east"); !c.Passed {
		t.Errorf("check %q: %q; the failover powered the protected VMs off", c.Name, c.Detail)
	}
	junit := reportFile(t, dir, rep, report.JUnit)
	if !strings.Contains(junit, `type="check"`) || !strings.Contains(junit, "web-02 is poweredOff") {
		t.Errorf("the JUnit report does not fail the check naming web-02:\n%s", junit)
	}
}

// TestVerifyFailoverSiteDown: a failover with the protected site gone
// passes; the check that nothing runs there is not proven, and says what
// the operator must see to.
func TestVerifyFailoverSiteDown(t *testing.T) {
	dir := simDir(t, `simulation {
  time_scale = 0.002
  boot_time  = "30s"
  vm "dev-01" {
    site     = site.west
    networks = ["DR-Prod"]
  }
  fault "site_down" {
    site = site.east
    at   = "start"
  }
}
`)
	code, out, rep := runMode(t, dir, []string{"--sim"}, "failover")
	if code != ExitOK || rep.Result != "passed" {
		t.Fatalf("failover: exit %d, result %s\n%s", code, rep.Result, out)
	}
	c := checkNamed(t, rep, "nothing running at east")
	want := "not proven: site east could not be read: make sure its VMs stay off before it comes back; drplan run -mode reprotect powers them off"
	if !c.Passed || c.Detail != want {
		t.Errorf("check %q: passed %v, %q; want passed, %q", c.Name, c.Passed, c.Detail, want)
	}
	for _, name := range []string{"every VM running at west", "each VM once at west", "networks as mapped", "addresses as planned"} {
		if c := checkNamed(t, rep, name); !c.Passed {
			t.Errorf("check %q failed: %q", name, c.Detail)
		}
	}
	if !strings.Contains(reportFile(t, dir, rep, report.Markdown), "not proven: site east could not be read") {
		t.Errorf("the Markdown report does not say what was not proven")
	}
}

// TestVerifyDuplicate: a failover whose every step passes still fails
// when the recovery site ends up with a second production VM of the same
// name (here one that someone made there before, in another folder): the
// check names the VM and where both are.
func TestVerifyDuplicate(t *testing.T) {
	dir, w, vars := liveWorld(t, "")
	ctx := context.Background()
	c, err := govmomi.NewClient(ctx, w.Site("west").URL, true) // loopback
	if err != nil {
		t.Fatal(err)
	}
	defer c.Logout(ctx)
	finder := find.NewFinder(c.Client)
	dc, err := finder.Datacenter(ctx, "DC-West")
	if err != nil {
		t.Fatal(err)
	}
	finder.SetDatacenter(dc)
	src, err := finder.VirtualMachine(ctx, "dev-02")
	if err != nil {
		t.Fatal(err)
	}
	folders, err := dc.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stale, err := folders.VmFolder.CreateFolder(ctx, "stale")
	if err != nil {
		t.Fatal(err)
	}
	task, err := src.Clone(ctx, stale, "web-01", types.VirtualMachineCloneSpec{PowerOn: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}

	code, out, rep := runMode(t, dir, vars, "failover")
	if code != ExitError || rep.Result != "failed" {
		t.Fatalf("failover: exit %d, result %s; want 1, failed\n%s", code, rep.Result, out)
	}
	for _, s := range rep.Steps {
		if s.Status != "ok" && s.Status != "optional_failed" {
			t.Errorf("step %s: %s; every step was to pass", s.Addr, s.Status)
		}
	}
	ch := checkNamed(t, rep, "each VM once at west")
	if ch.Passed || !strings.Contains(ch.Detail, "web-01: 2 at west") || !strings.Contains(ch.Detail, "stale/web-01") {
		t.Errorf("check %q: passed %v, %q; want failed naming web-01 and both its paths", ch.Name, ch.Passed, ch.Detail)
	}
	if !strings.Contains(out, "Verification FAILED: each VM once at west") || !strings.Contains(out, "every step ran, but the sites do not show the result") {
		t.Errorf("the output does not say which checks failed:\n%s", out)
	}
}
