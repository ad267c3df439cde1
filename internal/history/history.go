package history

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/drplan/drplan/report"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/steps"
)

// Run is one run folder.
type Run struct {
	ID    string
	Dir   string
	Plan  string
	Modes []string // the modes run under this id, in order: a drill is test then cleanup
	// Result is passed, failed or interrupted: the report's when it covers
	// every program the journal ran, else what the journal says; damaged
	// when the journal is damaged inside (Err says where).
	Result string
	// Err is why the journal could not be read (damage inside it), nil
	// when it could. A torn end, which a crash leaves, is no error: its
	// record is left out.
	Err   error
	Start time.Time
	// Report is the run's report.json, nil when there is none or it is
	// older than the journal (a process that died before writing it).
	Report *report.Report
}

// Target is "sim" or "live", "" when the run has no report to say.
func (r *Run) Target() string {
	if r.Report == nil {
		return ""
	}
	return r.Report.Target
}

// IsDrill reports whether the run recovered in test mode: a drill, or a
// drplan run -mode test.
func (r *Run) IsDrill() bool { return len(r.Modes) > 0 && r.Modes[0] == "test" }

// RunsDir is where a state directory keeps its runs.
func RunsDir(stateDir string) string { return filepath.Join(stateDir, "runs") }

// List reads every run of a state directory, oldest first (run ids sort
// by time). Folders without a journal are left out; a state directory
// that does not exist has no runs.
func List(stateDir string) ([]*Run, error) {
	entries, err := os.ReadDir(RunsDir(stateDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Run
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if r := Read(filepath.Join(RunsDir(stateDir), e.Name())); r != nil {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Read reads one run folder; nil when it holds no journal. A report that
// covers every run its journal started says all a listing needs, so only
// the journals of runs without one are read in full: a state directory
// of a year of nightly drills of a thousand VMs lists quickly.
func Read(dir string) *Run {
	if rep, err := report.ReadFile(filepath.Join(dir, report.JSON.File())); err == nil && len(rep.Runs) > 0 && len(rep.Runs) >= runsStarted(dir) {
		r := &Run{ID: filepath.Base(dir), Dir: dir, Plan: rep.Plan, Result: rep.Result, Start: rep.Start, Report: rep}
		for _, rs := range rep.Runs {
			r.Modes = append(r.Modes, rs.Mode)
		}
		return r
	}
	events, err := rundir.ReadJournal(dir)
	var damage *rundir.CorruptError
	if err != nil && !errors.As(err, &damage) {
		return nil
	}
	r := &Run{ID: filepath.Base(dir), Dir: dir, Result: "interrupted"}
	if len(events) > 0 {
		r.Start = events[0].Time
	}
	failed := false
	for _, ev := range events {
		switch ev.Type {
		case rundir.EventRunStarted:
			rs := ev.RunStart()
			if rs.Resumed {
				continue // the same run, resumed
			}
			r.Modes = append(r.Modes, rs.Mode)
			if r.Plan == "" {
				r.Plan = rs.Plan
			}
			r.Result = "interrupted"
		case rundir.EventRunFinished:
			r.Result = ev.Result
			failed = failed || ev.Result == "failed"
		}
	}
	if failed && r.Result == "passed" {
		r.Result = "failed" // a drill fails when any of its runs does
	}
	if damage != nil {
		r.Result, r.Err = "damaged", damage
	}
	return r
}

// runsStarted counts the runs a journal started. A folder without a
// journal, or whose journal is damaged, counts as many runs as can be, so
// that its report is not taken for the whole story.
func runsStarted(dir string) int {
	n, err := rundir.CountStarts(dir)
	if err != nil {
		return math.MaxInt
	}
	return n
}

// Latest returns the newest run whose first mode is mode, or nil.
func Latest(runs []*Run, mode string) *Run {
	for i := len(runs) - 1; i >= 0; i-- {
		if len(runs[i].Modes) > 0 && runs[i].Modes[0] == mode {
			return runs[i]
		}
	}
	return nil
}

// LastDrill returns the plan's newest drill, and its newest drill that
// passed; either may be nil.
func LastDrill(runs []*Run, plan string) (last, passed *Run) {
	for i := len(runs) - 1; i >= 0 && passed == nil; i-- {
		r := runs[i]
		if r.Plan != plan || !r.IsDrill() {
			continue
		}
		if last == nil {
			last = r
		}
		if r.Result == "passed" {
			passed = r
		}
	}
	return last, passed
}

// bootSamples is how many of a VM's latest measurements BootTimes uses.
const bootSamples = 5

// BootTimes returns, per VM, its boot time as the plan's latest runs
// against target measured it: from power-on to ready (the wait_ready step),
// in plan time, the median of the latest five. Runs of other plans or
// targets do not count: a simulated boot says nothing about a real one.
func BootTimes(runs []*Run, plan, target string) map[string]time.Duration {
	return medians(runs, plan, target, func(s *report.Step) (string, bool) {
		return s.VM, s.Kind == string(steps.WaitReady) && s.VM != "" && s.PlanSeconds > 0
	})
}

// StepTimes returns, per custom step address, how long the step took in
// the plan's latest runs against target, in plan time (the median of
// the latest five): a check that waits for a service to answer, a
// command's run.
func StepTimes(runs []*Run, plan, target string) map[steps.Addr]time.Duration {
	return medians(runs, plan, target, func(s *report.Step) (steps.Addr, bool) {
		return s.Addr, s.Kind == string(steps.Custom)
	})
}

// medians gives, per key, the median plan time of the successful steps
// that pick chooses, in the latest bootSamples runs of plan against
// target.
func medians[K comparable](runs []*Run, plan, target string, pick func(*report.Step) (K, bool)) map[K]time.Duration {
	samples := map[K][]float64{}
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		if r.Plan != plan || r.Report == nil || r.Report.Target != target {
			continue
		}
		for _, s := range r.Report.Steps {
			if key, ok := pick(&s); ok && s.Status == rundir.StatusOK && len(samples[key]) < bootSamples {
				samples[key] = append(samples[key], s.PlanSeconds)
			}
		}
	}
	out := make(map[K]time.Duration, len(samples))
	for vm, xs := range samples {
		slices.Sort(xs)
		m := xs[len(xs)/2]
		if len(xs)%2 == 0 {
			m = (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
		}
		out[vm] = time.Duration(m * float64(time.Second)).Round(time.Second)
	}
	return out
}
