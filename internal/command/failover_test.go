package command

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drplan/drplan/operations"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/providers/vsphere"
	"github.com/drplan/drplan/report"
	"github.com/drplan/drplan/simulate"
)

// liveWorld copies testdata/roundtrip into a temporary directory, with
// sim (when not "") as its simulation block, builds the plan's simulated
// world in process and returns the directory, the world, and the -var
// flags that point the plan's vcenter blocks at the world's sites: every
// run then goes over the live code path, against a world that outlives
// it, as with drplan sim serve.
func liveWorld(t *testing.T, sim string) (string, *simulate.World, []string) {
	t.Helper()
	dir := simDir(t, sim)
	w, vars := worldFor(t, dir)
	return dir, w, vars
}

// worldFor builds the simulated world of the plan in dir and returns it
// with the -var flags that point the plan's vcenter blocks at it.
func worldFor(t *testing.T, dir string) (*simulate.World, []string) {
	t.Helper()
	p, diags := plans.Load(dir, plans.LoadOptions{Environ: []string{}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	w, err := simulate.New(context.Background(), p, simulate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	w.Begin()
	vars := []string{"--live"}
	for _, s := range w.Sites {
		vars = append(vars, "-var", s.Name+"_url="+s.URL.String(), "-var", s.Name+"_thumbprint="+s.Thumbprint)
	}
	return w, vars
}

// simDir copies testdata/roundtrip into a temporary directory, with sim
// (when not "") as its simulation block.
func simDir(t *testing.T, sim string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "roundtrip")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "roundtrip"))); err != nil {
		t.Fatal(err)
	}
	if sim != "" {
		if err := os.WriteFile(filepath.Join(dir, "sim.drplan.hcl"), []byte(sim), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runCLI runs a drplan verb in process and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(args, &out, &errOut)
	return code, out.String() + errOut.String()
}

// runMode runs one mode against the world and returns the run's report.
func runMode(t *testing.T, dir string, vars []string, mode string, extra ...string) (int, string, *report.Report) {
	t.Helper()
	args := append([]string{"run", "-mode", mode}, vars...)
	if mode == "migrate" || mode == "failover" || mode == "failback" {
		args = append(args, "--confirm", "roundtrip")
	}
	args = append(append(args, extra...), dir)
	code, out := runCLI(t, args...)
	id := runIDIn(out)
	if id == "" {
		t.Fatalf("%s: no run id in the output:\n%s", mode, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, ".drplan", "runs", id, "report.json"))
	if err != nil {
		t.Fatalf("%s: %v\n%s", mode, err, out)
	}
	var rep report.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return code, out, &rep
}

// runIDIn finds the run id in a run's first line: "Run ID: mode …".
func runIDIn(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "Run "); ok {
			if id, _, ok := strings.Cut(rest, ":"); ok && !strings.Contains(id, " ") {
				return id
			}
		}
	}
	return ""
}

// worldState reads both sites over the vSphere API and describes every
// VM: where it is, its power state, networks, address when running, and
// what it replicates. Recovery points, which move on their own, and
// drplan's run marks are left out. Given sites, only those are read.
func worldState(t *testing.T, w *simulate.World, only ...string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	for _, s := range w.Sites {
		if len(only) > 0 && !slices.Contains(only, s.Name) {
			continue
		}
		cfg := s.Config()
		cfg.ReadOnly = true
		site, err := vsphere.Connector{}.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		inv, err := site.Inventory(ctx)
		site.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range inv.VMs {
			var nics []string
			for _, n := range v.NICs {
				nics = append(nics, fmt.Sprintf("%s/%v", n.Network, n.Connected))
			}
			desc := fmt.Sprintf("%s nics=%v", v.PowerState, nics)
			if v.PowerState == "poweredOn" {
				desc += " ip=" + v.IP
			}
			if r := v.Replica; r != nil {
				desc += fmt.Sprintf(" replica-of=%s:%s/%s", r.Site, r.Group, r.Of)
			}
			out[s.Name+":"+v.Path()] = desc
		}
	}
	return out
}

func diffStates(before, after map[string]string) string {
	var d []string
	for k, v := range before {
		if after[k] != v {
			d = append(d, fmt.Sprintf("%s: was %q, is %q", k, v, after[k]))
		}
	}
	for k, v := range after {
		if _, ok := before[k]; !ok {
			d = append(d, fmt.Sprintf("%s: new, %q", k, v))
		}
	}
	sort.Strings(d)
	return strings.Join(d, "\n")
}

// TestRoundTrip: a planned migration, reprotect and failback leave the
// world as it was: the same VMs running where they ran, on the same
// networks with the same addresses, replicated the same way. On the way,
// the migration loses no data, re-addresses the VMs by rule and by
// override, and suspends the VM at the recovery site that failback
// resumes.
func TestRoundTrip(t *testing.T) {
	dir, w, vars := liveWorld(t, "")
	// dev-02 is off before the failover: failback must leave it off.
	ctx := context.Background()
	site, err := vsphere.Connector{}.Open(ctx, w.Site("west").Config())
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close(ctx)
	if err := site.PowerOff(ctx, providers.VM{Site: "west", Path: "dev-02"}); err != nil {
		t.Fatal(err)
	}
	before := worldState(t, w)

	code, out, rep := runMode(t, dir, vars, "migrate")
	if code != ExitOK {
		t.Fatalf("migrate: exit %d\n%s", code, out)
	}
	for _, r := range rep.RPO {
		if r.AchievedSeconds != 0 || !r.Met || !strings.Contains(r.Note, "zero data loss") {
			t.Errorf("migrate: group %s lost %gs of data (%q); a migration loses none, and the report says so", r.Group, r.AchievedSeconds, r.Note)
		}
	}
	if md, _ := filepath.Glob(filepath.Join(dir, ".drplan", "runs", rep.RunID, "report.md")); len(md) == 1 {
		if b, _ := os.ReadFile(md[0]); !strings.Contains(string(b), "zero data loss") {
			t.Errorf("the Markdown report of the migration does not say it lost no data:\n%s", b)
		}
	} else {
		t.Errorf("no report.md in the migration's folder")
	}
	mid := worldState(t, w)
	for vm, want := range map[string]string{
		"west:db-01":  "poweredOn nics=[DR-Prod/true] ip=10.2.0.10",
		"west:web-01": "poweredOn nics=[DR-Prod/true] ip=10.2.0.11",
		"west:web-02": "poweredOn nics=[DR-Prod/true] ip=10.2.9.9", // vm override
		"west:dev-01": "poweredOff nics=[DR-Prod/true]",            // suspended
		"west:dev-02": "poweredOff nics=[DR-Prod/true]",            // off already
		"east:db-01":  "poweredOff nics=[Prod/true]",
	} {
		if mid[vm] != want {
			t.Errorf("after migrate, %s is %q, want %q", vm, mid[vm], want)
		}
	}

	if code, out, _ := runMode(t, dir, vars, "reprotect"); code != ExitOK {
		t.Fatalf("reprotect: exit %d\n%s", code, out)
	}
	st := worldState(t, w)
	if got, want := st["east:drplan-replicas/web-01"], "poweredOff nics=[Prod/false] replica-of=west:web/web-01"; got != want {
		t.Errorf("after reprotect, east's web-01 is %q, want %q", got, want)
	}
	// The replication engine now writes points into the east replicas.
	waitFor(t, 10*time.Second, "points at the reversed replicas", func() bool {
		return len(w.Site("east").Points("web-01")) > 0
	})

	if code, out, _ := runMode(t, dir, vars, "failback"); code != ExitOK {
		t.Fatalf("failback: exit %d\n%s", code, out)
	}
	// Give the resumed VM at the recovery site the time to boot.
	var d string
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if d = diffStates(before, worldState(t, w)); d == "" {
			break
		}
	}
	if d != "" {
		t.Errorf("after migrate, reprotect and failback the world differs from before:\n%s", d)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFailoverSiteDown: with the protected site cut off, a failover goes
// on without the split-brain power-offs, says so, and recovers every VM
// from the points the replicas held when the site went down.
func TestFailoverSiteDown(t *testing.T) {
	dir := simDir(t, `simulation {
  time_scale = 0.002
  boot_time  = "30s"
  vm "dev-01" {
    site     = site.west
    networks = ["DR-Prod"]
  }
  vm "db-01" {
    folder = "prod/db"
  }
  fault "site_down" {
    site = site.east
    at   = "start"
  }
}
`)
	code, out, rep := runMode(t, dir, []string{"--sim"}, "failover")
	if code != ExitOK {
		t.Fatalf("failover: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "east") || !strings.Contains(out, "unreachable") {
		t.Errorf("the output does not say the protected site is unreachable:\n%s", out)
	}
	ready := 0
	for _, v := range rep.VMs {
		if v.Status == "ready" && v.Site == "west" {
			ready++
		}
	}
	if ready != 3 {
		t.Errorf("%d VMs recovered at west, want 3: %+v", ready, rep.VMs)
	}
	// The folder comes from the replica's record, east being unreadable.
	promoted := ""
	for _, s := range rep.Steps {
		if s.Addr.String() == "tier.db/vm.db-01/promote" {
			promoted = s.Detail["vm"]
		}
	}
	if promoted != "west:prod/db/db-01" {
		t.Errorf("db-01 recovered as %q, want west:prod/db/db-01, its folder at east", promoted)
	}
	// Re-addressed by the rule from the address its replication recorded,
	// east being unreadable (before, it kept 10.1.0.10 in silence).
	for _, v := range rep.VMs {
		if want := map[string]string{"db-01": "10.2.0.10", "web-01": "10.2.0.11"}[v.VM]; want != "" && v.IP != want {
			t.Errorf("%s came up at %q, want %s", v.VM, v.IP, want)
		}
	}
	for _, r := range rep.RPO {
		if r.AchievedSeconds <= 0 {
			t.Errorf("group %s: achieved RPO %gs: the points stopped when the site went down, so they are older than the failover", r.Group, r.AchievedSeconds)
		}
	}
}

// TestFailoverLag: the achieved RPO a failover reports is the age of the
// point it recovered: the replication lag, give or take the interval
// between two points.
func TestFailoverLag(t *testing.T) {
	dir := simDir(t, `simulation {
  time_scale = 0.002
  boot_time  = "30s"
  vm "dev-01" {
    site     = site.west
    networks = ["DR-Prod"]
  }
  fault "replication_lag" {
    protection_group = protection_group.web
    lag              = "40m"
  }
}
`)
	code, out, rep := runMode(t, dir, []string{"--sim"}, "failover")
	if code != ExitOK {
		t.Fatalf("failover: exit %d\n%s", code, out)
	}
	got := map[string]report.RPO{}
	for _, r := range rep.RPO {
		got[r.Group] = r
	}
	lag, period := (40 * time.Minute).Seconds(), (15 * time.Minute / 2).Seconds()
	// The point is the lag old, plus up to a replication period since
	// the last one (the schedule's phase comes from the drill's random
	// seed), plus the per-VM stagger of consistency "vm" (half a period
	// for the second of two VMs), plus a minute of slack for the run's
	// own pace.
	if web := got["web"]; web.AchievedSeconds < lag-60 || web.AchievedSeconds > lag+1.5*period+60 || web.Met {
		t.Errorf("web: achieved RPO %gs (met %v), want the 40m lag (2400s) plus at most a replication period and a half, not met against 15m", web.AchievedSeconds, web.Met)
	}
	if db := got["db"]; db.AchievedSeconds > (5*time.Minute).Seconds() || !db.Met {
		t.Errorf("db: achieved RPO %gs (met %v), want within its 5m RPO", db.AchievedSeconds, db.Met)
	}
}

// TestLockContention: while one process runs a migration, a second run on
// the same groups is refused with a message that names the holder, and
// touches nothing. Once the first is killed, its locks stay (another
// process cannot tell a dead run from a slow one) until -force-unlock
// breaks them.
func TestLockContention(t *testing.T) {
	dir, w, vars := liveWorld(t, "")
	cmd := exec.Command(os.Args[0], append(append([]string{"run", "-mode", "migrate"}, vars...), "--confirm", "roundtrip", dir)...)
	cmd.Env = append(os.Environ(), "DRPLAN_TEST_CHILD=1")
	var childOut strings.Builder
	cmd.Stdout, cmd.Stderr = &childOut, &childOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lockFile := filepath.Join(dir, ".drplan", "locks", "web.lock")
	// The site locks are taken after the local ones: wait until the last
	// of them (web's at west) has its holder written.
	cfg := w.Site("west").Config()
	cfg.ReadOnly = true
	west, err := vsphere.Connector{}.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer west.Close(context.Background())
	waitFor(t, 30*time.Second, "web's lock at west", func() bool {
		h, found, err := west.ReadLock(context.Background(), "web")
		return err == nil && found && h.Run != ""
	})
	holder, _ := operations.ReadLockFile(lockFile)

	// Another state directory: only the lock at the site can refuse it.
	other := t.TempDir()
	code, out := runCLI(t, append(append([]string{"run", "-mode", "test", "-state-dir", other}, vars...), dir)...)
	if code != ExitError || !strings.Contains(out, "held by run "+holder.Run) || !strings.Contains(out, "-force-unlock "+holder.Run) {
		t.Errorf("second run: exit %d, want 1 with the holder %s named:\n%s", code, holder.Run, out)
	}
	if !strings.Contains(out, "site west") {
		t.Errorf("the refusal does not say the lock is at site west:\n%s", out)
	}
	if d, _ := filepath.Glob(filepath.Join(other, "runs", "*")); len(d) != 0 {
		t.Errorf("the refused run left %v behind", d)
	}

	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	code, out = runCLI(t, append(append([]string{"run", "-mode", "test"}, vars...), dir)...)
	if code != ExitError || !strings.Contains(out, "held by run "+holder.Run) {
		t.Errorf("after the holder died: exit %d, want a refusal naming %s:\n%s", code, holder.Run, out)
	}
	code, out = runCLI(t, append(append([]string{"run", "-mode", "test", "-force-unlock", holder.Run}, vars...), dir)...)
	if code != ExitOK || !strings.Contains(out, "Broke the locks of run "+holder.Run+": group db (local), group db at site west, group web (local), group web at site west.") {
		t.Errorf("-force-unlock: exit %d, want the broken locks listed and the run to pass:\n%s", code, out)
	}
}

// TestMigrateHaltsOnShutdown: a migration whose VM cannot be shut down
// cleanly (its guest hangs) halts before anything is promoted: the
// replicas are still replicas, and the run says how to go on.
func TestMigrateHaltsOnShutdown(t *testing.T) {
	dir, w, vars := liveWorld(t, `simulation {
  time_scale = 0.002
  boot_time  = "30s"
  vm "dev-01" {
    site     = site.west
    networks = ["DR-Prod"]
  }
  fault "boot_failure" { vm = "web-02" }
}
`)
	code, out, rep := runMode(t, dir, vars, "migrate")
	if code != ExitError || !strings.Contains(out, "protected/vm.web-02/shutdown FAILED") || !strings.Contains(out, "drplan resume") {
		t.Fatalf("migrate with a hung guest: exit %d, want 1 with the shutdown failure and how to resume:\n%s", code, out)
	}
	st := worldState(t, w)
	for _, vm := range []string{"db-01", "web-01", "web-02"} {
		if !strings.Contains(st["west:drplan-replicas/"+vm], "replica-of=east") {
			t.Errorf("%s at west: %q; nothing may be promoted after a failed shutdown", vm, st["west:drplan-replicas/"+vm])
		}
	}
	if !strings.HasPrefix(st["east:web-02"], "poweredOn") {
		t.Errorf("the hung VM is %q; it must not be powered off by force", st["east:web-02"])
	}
	for _, s := range rep.Steps {
		if strings.HasSuffix(s.Addr.String(), "/promote") && s.Status != "not_run" {
			t.Errorf("%s: %s, want not run", s.Addr, s.Status)
		}
	}
}
