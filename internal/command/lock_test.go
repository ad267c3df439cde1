package command

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drplan/drplan/operations"
	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/providers/vsphere"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/simulate"
)

// slowBoots is the roundtrip plan's simulation block with boots slow
// enough (3 s of wall time) to act while a run is under way.
const slowBoots = `simulation {
  time_scale = 0.01
  boot_time  = "5m"
  vm "dev-01" {
    site     = site.west
    networks = ["DR-Prod"]
  }
  vm "dev-02" {
    site     = site.west
    networks = ["DR-Prod"]
  }
}
`

// folderAt reports whether a VM folder named name exists at a site of
// the world.
func folderAt(w *simulate.World, site, name string) bool {
	for _, e := range w.Site(site).Model.Map().All("Folder") {
		if e.Entity().Name == name {
			return true
		}
	}
	return false
}

// openSite opens a session to a site of the world, for its locks.
func openSite(t *testing.T, w *simulate.World, site string) providers.Site {
	t.Helper()
	s, err := vsphere.Connector{}.Open(context.Background(), w.Site(site).Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// startChild runs drplan in a child process (the test binary).
func startChild(t *testing.T, args ...string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "DRPLAN_TEST_CHILD=1")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, &out
}

// TestDrillRefusedWhileLocked: a drill of groups whose lock a failover
// holds at the recovery site is refused, naming the holder and how to
// continue or break it, and changes nothing at either site.
func TestDrillRefusedWhileLocked(t *testing.T) {
	dir, w, vars := liveWorld(t, "")
	west := openSite(t, w, "west")
	host, _ := os.Hostname()
	now := time.Now().UTC()
	holder := providers.LockHolder{Run: "20260101T000000Z-f00d", Mode: "failover", Host: host, PID: os.Getpid(), Since: now, Expires: now.Add(time.Hour)}
	if err := west.Lock(context.Background(), "web", holder); err != nil {
		t.Fatal(err)
	}
	before := worldState(t, w)
	// Another state directory: only the lock at the site can refuse it.
	other := t.TempDir()
	code, out := runCLI(t, append(append([]string{"drill", "-state-dir", other}, vars...), dir)...)
	t.Logf("refusal:\n%s", out)
	for _, want := range []string{"nothing was done", "lock web at site west is held by run " + holder.Run + " (failover) on host " + host,
		"is still running", "drplan resume " + holder.Run + " " + dir, "-force-unlock " + holder.Run} {
		if !strings.Contains(out, want) {
			t.Errorf("the refusal does not say %q", want)
		}
	}
	if code != ExitError {
		t.Errorf("drill: exit %d, want 1", code)
	}
	if folderAt(w, "west", "drplan-drill") {
		t.Error("the refused drill made its folder at the recovery site")
	}
	if d := diffStates(before, worldState(t, w)); d != "" {
		t.Errorf("the refused drill changed the world:\n%s", d)
	}
	if d, _ := filepath.Glob(filepath.Join(other, "runs", "*")); len(d) != 0 {
		t.Errorf("the refused drill left %v behind", d)
	}
	if h, found, err := west.ReadLock(context.Background(), "web"); err != nil || !found || h.Run != holder.Run {
		t.Errorf("the failover's lock after the refused drill: %+v %v %v", h, found, err)
	}
}

// TestDrillHoldsLocks: a drill holds the group locks from its test
// through its cleanup (a failover meanwhile is refused, naming the
// drill), and gives them back when it ends: the failover then runs.
func TestDrillHoldsLocks(t *testing.T) {
	dir, w, vars := liveWorld(t, slowBoots)
	west := openSite(t, w, "west")
	cmd, childOut := startChild(t, append(append([]string{"drill"}, vars...), dir)...)
	lockFile := filepath.Join(dir, ".drplan", "locks", "web.lock")
	waitFor(t, 30*time.Second, "the drill's locks", func() bool {
		h, found, _ := west.ReadLock(context.Background(), "web")
		return found && h.Mode == "drill"
	})
	holder, ok := operations.ReadLockFile(lockFile)
	if !ok || holder.Mode != "drill" || holder.PID != cmd.Process.Pid {
		t.Fatalf("the drill's lock file: %+v %v", holder, ok)
	}
	code, out := runCLI(t, append(append([]string{"run", "-mode", "failover", "--confirm", "roundtrip"}, vars...), dir)...)
	if code != ExitError || !strings.Contains(out, "held by run "+holder.Run+" (drill)") || !strings.Contains(out, "drplan run -mode cleanup -run "+holder.Run) {
		t.Errorf("failover during a drill: exit %d, want 1 naming the drill and its cleanup:\n%s", code, out)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the drill: %v\n%s", err, childOut)
	}
	if _, err := os.Stat(lockFile); !os.IsNotExist(err) {
		t.Errorf("the drill left its lock file: %v", err)
	}
	if h, found, err := west.ReadLock(context.Background(), "web"); found || err != nil {
		t.Errorf("the drill left its lock at west: %+v %v", h, err)
	}
	if code, out, _ := runMode(t, dir, vars, "failover"); code != ExitOK {
		t.Errorf("failover after the drill: exit %d\n%s", code, out)
	}
}

// TestFailoverAfterCrash: a failover killed once it has promoted leaves
// its locks; a second failover is refused for them, naming the crashed
// run and drplan resume first (not for the replicas it promoted, as
// "Replica missing"); the resume gets back in and finishes.
func TestFailoverAfterCrash(t *testing.T) {
	dir, _, vars := liveWorld(t, slowBoots)
	cmd, childOut := startChild(t, append(append([]string{"run", "-mode", "failover", "--confirm", "roundtrip"}, vars...), dir)...)
	var id string
	waitFor(t, 60*time.Second, "a promotion", func() bool {
		runs, _ := filepath.Glob(filepath.Join(dir, ".drplan", "runs", "*"))
		if len(runs) != 1 {
			return false
		}
		id = filepath.Base(runs[0])
		events, _ := rundir.ReadJournal(runs[0])
		for _, e := range events {
			if e.Type == rundir.EventStepFinished && strings.HasSuffix(e.Step.String(), "/promote") {
				return true
			}
		}
		return false
	})
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if strings.Contains(childOut.String(), "passed.") {
		t.Fatalf("the failover ended before it was killed:\n%s", childOut)
	}

	code, out := runCLI(t, append(append([]string{"run", "-mode", "failover", "--confirm", "roundtrip"}, vars...), dir)...)
	t.Logf("refusal:\n%s", out)
	if code != ExitError || strings.Contains(out, "Replica missing") {
		t.Errorf("second failover: exit %d, want 1 for the lock, not the promoted replicas:\n%s", code, out)
	}
	crashed := strings.Index(out, "Run "+id+" crashed")
	resume := strings.Index(out, "Continue it with: drplan resume "+id+" "+dir)
	brk := strings.Index(out, "-force-unlock "+id)
	if crashed < 0 || resume < crashed || brk < resume || !strings.Contains(out, "held by run "+id+" (failover)") {
		t.Errorf("the refusal must name run %s, say it crashed, and lead with drplan resume before -force-unlock:\n%s", id, out)
	}
	if runs, _ := filepath.Glob(filepath.Join(dir, ".drplan", "runs", "*")); len(runs) != 1 {
		t.Errorf("the refused failover left a run behind: %v", runs)
	}
	if code, out := runCLI(t, append(append([]string{"resume"}, vars...), id, dir)...); code != ExitOK {
		t.Errorf("resume %s: exit %d\n%s", id, code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, ".drplan", "locks", "web.lock")); !os.IsNotExist(err) {
		t.Errorf("the resumed run left its lock file: %v", err)
	}
}

// TestCorruptLockFile: an empty lock file (a run crashed between
// creating it and writing its holder) refuses runs while it is young
// (another run may be writing it), is broken by -force-unlock with any
// run id, and, once older than the grace period, is broken by the next
// run with a warning that gives its age.
func TestCorruptLockFile(t *testing.T) {
	dir := simDir(t, "")
	lockFile := filepath.Join(dir, ".drplan", "locks", "web.lock")
	empty := func(age time.Duration) {
		t.Helper()
		os.MkdirAll(filepath.Dir(lockFile), 0o755)
		if err := os.WriteFile(lockFile, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-age)
		if err := os.Chtimes(lockFile, old, old); err != nil {
			t.Fatal(err)
		}
	}
	run := func(extra ...string) (int, string) {
		return runCLI(t, append(append([]string{"run", "-mode", "test", "--sim"}, extra...), dir)...)
	}

	empty(0)
	code, out := run()
	if code != ExitError || !strings.Contains(out, "lock web at local file "+lockFile+" is empty and ") ||
		!strings.Contains(out, "s old: another run is taking it right now") ||
		!strings.Contains(out, "-force-unlock") {
		t.Errorf("young empty lock: exit %d, want a refusal that says so and how to break it:\n%s", code, out)
	}

	code, out = run("-force-unlock", "20260101T000000Z-0000")
	if code != ExitOK || !strings.Contains(out, "Broke the corrupt lock file "+lockFile+" (it is empty") {
		t.Errorf("-force-unlock with any run id: exit %d, want the empty lock broken and the run to pass:\n%s", code, out)
	}

	empty(2 * time.Hour)
	code, out = run()
	if code != ExitOK || !strings.Contains(out, "Warning: lock file "+lockFile+" is empty and 2h old: a run crashed while taking it") {
		t.Errorf("stale empty lock: exit %d, want it broken with a warning giving its age, and the run to pass:\n%s", code, out)
	}

	// A lock file that is not a drplan lock at all counts the same.
	os.WriteFile(lockFile, []byte("{garbage"), 0o644)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(lockFile, old, old)
	if code, out = run(); code != ExitOK || !strings.Contains(out, "holds no readable holder and 1h old") {
		t.Errorf("stale unreadable lock: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(lockFile); !os.IsNotExist(err) {
		t.Errorf("lock file after the run: %v", err)
	}
}
