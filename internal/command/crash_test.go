package command

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drplan/drplan/report"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/simulate"
)

// TestMain lets the crash test run drplan in a child process: the test
// binary itself, told so by DRPLAN_TEST_CHILD, runs the CLI.
func TestMain(m *testing.M) {
	if os.Getenv("DRPLAN_TEST_CHILD") == "1" {
		if os.Getenv("DRPLAN_TEST_DIE_AFTER_STEPS") == "1" {
			afterSteps = func() { os.Exit(3) } // as a kill: no deferred clean-up
		}
		os.Exit(Run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// liveSites are the two sites of the test plans that run over the live
// code path: their vcenter blocks take their addresses from variables,
// which worldFor's -var flags point at a simulated world.
const liveSites = `variable "east_url" {
  type      = string
  sensitive = true
  default   = ""
}
variable "east_thumbprint" {
  type    = string
  default = ""
}
variable "west_url" {
  type      = string
  sensitive = true
  default   = ""
}
variable "west_thumbprint" {
  type    = string
  default = ""
}
site "east" {
  role       = "protected"
  datacenter = "DC-East"
  vcenter {
    url        = var.east_url
    thumbprint = var.east_thumbprint
  }
}
site "west" {
  role       = "recovery"
  datacenter = "DC-West"
  vcenter {
    url        = var.west_url
    thumbprint = var.west_thumbprint
  }
}
`

// crashPlan is a 100-VM plan in four groups and four tiers whose
// vcenter blocks take their addresses from variables.
func crashPlan() string {
	var b strings.Builder
	b.WriteString("drplan {\n  name = \"crash\"\n}\n" + liveSites)
	var groups []string
	for g := 1; g <= 4; g++ {
		var vms []string
		for i := 1; i <= 25; i++ {
			vms = append(vms, fmt.Sprintf("%q", fmt.Sprintf("vm-%d-%02d", g, i)))
		}
		fmt.Fprintf(&b, `protection_group "g%d" {
  site          = site.east
  recovery_site = site.west
  vms           = [%s]
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}
`, g, strings.Join(vms, ", "))
		groups = append(groups, fmt.Sprintf("protection_group.g%d", g))
	}
	fmt.Fprintf(&b, `recovery_plan "all" {
  protection_groups = [%s]
  rto               = "1h"
  max_parallel      = 16
  network_mapping {
    from = "Prod"
    to   = "DR-Prod"
    test = "DR-Bubble"
  }
  ip_rule "prod" {
    from_cidr = "10.1.0.0/16"
    to_cidr   = "10.2.0.0/16"
  }
`, strings.Join(groups, ", "))
	for g := 1; g <= 4; g++ {
		fmt.Fprintf(&b, `  tier "t%d" {
    priority = %d
    vms      = protection_group.g%d.vms
  }
`, g, g, g)
	}
	b.WriteString(`}
simulation {
  time_scale = 0.01
  boot_time  = "30s"
  vm "vm-*" {
    cpus   = 1
    memory = "1GiB"
    disk   = "512MiB"
  }
}
`)
	return b.String()
}

// crashWorld writes the crash plan into a new directory and builds its
// world; it returns the directory, the world and the -var flags.
func crashWorld(t *testing.T) (string, *simulate.World, []string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "crash")
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "main.drplan.hcl"), []byte(crashPlan()), 0o644); err != nil {
		t.Fatal(err)
	}
	w, vars := worldFor(t, dir)
	return dir, w, vars
}

// TestCrashResume runs a 100-VM failover, migration or failback (trials
// take them in turn; a failback's world is migrated and reprotected
// first) in a child process, kills it with SIGKILL at a random moment
// (one trial in three in the first sixth of the run: the preflight, the
// locks and the pinning of recovery points), resumes it, and compares the
// world with the one an uninterrupted run leaves. DRPLAN_CRASH_TRIALS sets
// the number of trials (make soak runs many), DRPLAN_CRASH_SEED the seed.
func TestCrashResume(t *testing.T) {
	trials := 4
	if n, err := strconv.Atoi(os.Getenv("DRPLAN_CRASH_TRIALS")); err == nil {
		trials = n
	}
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("DRPLAN_CRASH_SEED"), 10, 64); err == nil {
		seed = s
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d (DRPLAN_CRASH_SEED), %d trials (DRPLAN_CRASH_TRIALS)", seed, trials)

	// The references: uninterrupted runs.
	type reference struct {
		took   time.Duration
		events int // journal records of the uninterrupted run
		state  map[string]string
	}
	refs := map[string]reference{}
	modes := []string{"failover", "migrate", "failback"}
	for _, mode := range modes {
		dir, w, vars := crashWorld(t)
		prepareCrash(t, mode, dir, w, vars)
		start := time.Now()
		if code, out := runCLI(t, append(append([]string{"run", "-mode", mode}, vars...), "--confirm", "crash", dir)...); code != ExitOK {
			t.Fatalf("reference %s: exit %d\n%s", mode, code, out)
		}
		journals, _ := filepath.Glob(filepath.Join(dir, ".drplan", "runs", "*", "journal.jsonl"))
		refs[mode] = reference{time.Since(start), journalRecords(journals[len(journals)-1]), settled(t, w, nil)}
		w.Close()
	}

	passed := 0
	for trial := 1; trial <= trials; trial++ {
		mode := modes[(trial-1)%len(modes)]
		ref := refs[mode]
		window := ref.took
		if rng.IntN(3) == 0 {
			window /= 6
		}
		// Half the kills come at a random time, half right after a
		// random journal record: both the moments between events and
		// those just after one are tried.
		kill := killPoint{after: time.Duration(rng.Int64N(int64(window)))}
		if rng.IntN(2) == 0 && ref.events > 1 {
			kill = killPoint{events: 1 + rng.IntN(ref.events-1)}
		}
		if ok := t.Run(fmt.Sprintf("trial%d-%s", trial, mode), func(t *testing.T) {
			crashTrial(t, mode, kill, ref.state)
		}); ok {
			passed++
		}
	}
	t.Logf("%d of %d trials passed (uninterrupted failover %s, migrate %s, failback %s)", passed, trials,
		refs["failover"].took.Round(time.Millisecond), refs["migrate"].took.Round(time.Millisecond), refs["failback"].took.Round(time.Millisecond))
}

// prepareCrash brings a world to where the mode starts: a failback's is
// migrated and reprotected, and its reversed replicas hold points.
func prepareCrash(t *testing.T, mode, dir string, w *simulate.World, vars []string) {
	t.Helper()
	if mode != "failback" {
		return
	}
	for _, m := range []string{"migrate", "reprotect"} {
		args := append(append([]string{"run", "-mode", m}, vars...), "--confirm", "crash", dir)
		if m == "reprotect" {
			args = append(append([]string{"run", "-mode", m}, vars...), dir)
		}
		if code, out := runCLI(t, args...); code != ExitOK {
			t.Fatalf("%s before the failback: exit %d\n%s", m, code, out)
		}
	}
	for g := 1; g <= 4; g++ {
		for i := 1; i <= 25; i++ {
			vm := fmt.Sprintf("vm-%d-%02d", g, i)
			waitFor(t, 30*time.Second, "points at the reversed replica of "+vm, func() bool { return len(w.Site("east").Points(vm)) > 0 })
		}
	}
}

// killPoint is when a trial kills its run: after a wall time, or once
// the run's journal holds events records.
type killPoint struct {
	after  time.Duration
	events int
}

func (k killPoint) String() string {
	if k.events > 0 {
		return fmt.Sprintf("journal record %d", k.events)
	}
	return k.after.Round(time.Millisecond).String()
}

// journalRecords counts the records of a journal file.
func journalRecords(path string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte("\n"))
}

// await waits until the run started after earlier has a journal of n
// records (or 60 s have passed).
func awaitRecords(dir string, earlier []string, n int) {
	for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(time.Millisecond) {
		journals, _ := filepath.Glob(filepath.Join(dir, ".drplan", "runs", "*", "journal.jsonl"))
		for _, j := range journals {
			if !slices.Contains(earlier, filepath.Join(filepath.Dir(j), rundir.RecordName)) && journalRecords(j) >= n {
				return
			}
		}
	}
}

func crashTrial(t *testing.T, mode string, kill killPoint, want map[string]string) {
	dir, w, vars := crashWorld(t)
	defer w.Close()
	prepareCrash(t, mode, dir, w, vars)
	earlier, _ := filepath.Glob(filepath.Join(dir, ".drplan", "runs", "*", rundir.RecordName))
	args := append(append([]string{"run", "-mode", mode}, vars...), "--confirm", "crash", dir)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "DRPLAN_TEST_CHILD=1")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if kill.events > 0 {
		awaitRecords(dir, earlier, kill.events)
	} else {
		time.Sleep(kill.after)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	t.Logf("killed after %s", kill)
	ids, _ := filepath.Glob(filepath.Join(dir, ".drplan", "runs", "*", rundir.RecordName))
	ids = slices.DeleteFunc(ids, func(id string) bool { return slices.Contains(earlier, id) })
	if len(ids) == 0 {
		// Killed before the run began: nothing was touched, start again.
		if code, out := runCLI(t, args...); code != ExitOK {
			t.Fatalf("new run after a kill before the run began: exit %d\n%s", code, out)
		}
	} else {
		id := filepath.Base(filepath.Dir(ids[0]))
		code, rout := runCLI(t, append(append([]string{"resume"}, vars...), id, dir)...)
		if code == ExitError && strings.Contains(rout, "has no journal events") {
			// Killed after the run was recorded, before its first event:
			// it changed nothing and is not resumed; a new run breaks the
			// locks it may have taken, as the refusal says.
			t.Logf("the killed run has no journal events; a new run:\n%s", rout)
			code, rout = runCLI(t, append(args[:len(args)-1:len(args)-1], "-force-unlock", id, dir)...)
			if code != ExitOK {
				t.Fatalf("new run after a kill before the first event: exit %d\n%s", code, rout)
			}
			id = runIDIn(rout)
		} else if code != ExitOK {
			t.Fatalf("resume %s: exit %d\nkilled run:\n%s\nresume:\n%s", id, code, out.String(), rout)
		}
		// The report tells one run, crash included, that passed.
		b, err := os.ReadFile(filepath.Join(dir, ".drplan", "runs", id, "report.json"))
		if err != nil {
			t.Fatal(err)
		}
		var rep report.Report
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatal(err)
		}
		ready := 0
		for _, v := range rep.VMs {
			if v.Status == "ready" {
				ready++
			}
		}
		if rep.Result != "passed" || len(rep.Runs) != 1 || ready != 100 {
			t.Errorf("report of the resumed run: %s, %d runs, %d of 100 VMs ready; want one passed run with every VM", rep.Result, len(rep.Runs), ready)
		}
	}
	got := settled(t, w, want)
	if d := diffStates(want, got); d != "" {
		t.Errorf("the resumed %s left a different world than an uninterrupted one:\n%s", mode, d)
	}
}

// settled reads the world until it equals want (or, without want,
// until two reads agree), for at most ten seconds: guests booting after
// the run ended report their addresses a moment later.
func settled(t *testing.T, w *simulate.World, want map[string]string) map[string]string {
	t.Helper()
	prev := worldState(t, w)
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); {
		time.Sleep(200 * time.Millisecond)
		cur := worldState(t, w)
		if want != nil && diffStates(want, cur) == "" || want == nil && diffStates(prev, cur) == "" {
			return cur
		}
		prev = cur
	}
	return prev
}

// TestResumeAfterDeathBeforeReport: a failover that dies once its steps
// are done (its journal says passed) but before it verified the sites,
// wrote its report and released its locks is finished by resume: no
// step runs again, the sites are verified, the report says passed and
// the locks are gone (a reprotect runs). Before, resume said "passed
// already; nothing to resume" and left no report and the locks held.
func TestResumeAfterDeathBeforeReport(t *testing.T) {
	dir, w, vars := crashWorld(t)
	defer w.Close()
	args := append(append([]string{"run", "-mode", "failover"}, vars...), "--confirm", "crash", dir)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "DRPLAN_TEST_CHILD=1", "DRPLAN_TEST_DIE_AFTER_STEPS=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("the failover did not die after its steps: %v\n%s", err, out)
	}
	records, _ := filepath.Glob(filepath.Join(dir, ".drplan", "runs", "*", rundir.RecordName))
	if len(records) != 1 {
		t.Fatalf("%d runs recorded, want 1", len(records))
	}
	runDir := filepath.Dir(records[0])
	id := filepath.Base(runDir)
	if _, err := os.Stat(filepath.Join(runDir, rundir.ReportJSON)); err == nil {
		t.Fatalf("the run that died has a report")
	}
	code, rout := runCLI(t, append(append([]string{"resume"}, vars...), id, dir)...)
	if code != ExitOK {
		t.Fatalf("resume %s: exit %d\n%s", id, code, rout)
	}
	if !strings.Contains(rout, "resuming mode failover") {
		t.Errorf("resume did not continue the run:\n%s", rout)
	}
	b, err := os.ReadFile(filepath.Join(runDir, rundir.ReportJSON))
	if err != nil {
		t.Fatalf("no report after resume: %v\n%s", err, rout)
	}
	var rep report.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	verified := slices.ContainsFunc(rep.Checks, func(c report.Check) bool { return strings.HasPrefix(c.Name, "every VM running") && c.Passed })
	if rep.Result != "passed" || !verified {
		t.Errorf("report after resume: %s, checks %+v; want passed with the sites verified", rep.Result, rep.Checks)
	}
	if code, rout := runCLI(t, append(append([]string{"run", "-mode", "reprotect"}, vars...), dir)...); code != ExitOK {
		t.Errorf("reprotect after the resumed failover: exit %d (its locks still held?)\n%s", code, rout)
	}
}
