package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/drplan/drplan/internal/units"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/steps"
)

// SchemaVersion is the version of the report's JSON form.
const SchemaVersion = 1

// Report is the account of one run (a drill: its test and its cleanup).
type Report struct {
	SchemaVersion int    `json:"schema_version"`
	RunID         string `json:"run_id"`
	Plan          string `json:"plan"`
	RecoveryPlan  string `json:"recovery_plan"`
	// Owner is who to ask about the plan (its drplan block's owner).
	Owner  string `json:"owner,omitempty"`
	Mode   string `json:"mode"`
	Target string `json:"target"` // sim or live
	// Seed is the simulated world's seed (drplan drill -seed), 0 for a
	// live run.
	Seed   int64     `json:"seed,omitempty"`
	Result string    `json:"result"` // passed, failed, interrupted
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	// WallSeconds is the wall time the runs took, from their run_finished
	// records (a run cut short counts for nothing). Start and End are on
	// the run clock: plan time.
	WallSeconds float64  `json:"wall_seconds"`
	RTO         RTO      `json:"rto"`
	RPO         []RPO    `json:"rpo"`
	VMs         []VM     `json:"vms"`
	Steps       []Step   `json:"steps"`
	Checks      []Check  `json:"checks"`
	Figures     Figures  `json:"figures"`
	Warnings    []string `json:"warnings"`
	// Drift lists the warnings that say the sites drifted from the plan
	// (unprotected VMs, replicas missing or stale, ...); each is also in
	// Warnings.
	Drift []string     `json:"drift"`
	Runs  []RunSummary `json:"runs"`
}

// RTO compares the achieved recovery time with the target, in plan
// seconds.
type RTO struct {
	TargetSeconds   float64 `json:"target_seconds,omitempty"`
	AchievedSeconds float64 `json:"achieved_seconds"`
	EstimateSeconds float64 `json:"estimate_seconds"`
	Met             bool    `json:"met"`
	Tiers           []Tier  `json:"tiers"`
}

// Tier is when a tier started and when its VMs were all up, in plan
// seconds from the start. Status says whether it got that far: a tier
// that never started has neither figure, one that never finished has no
// done_seconds.
type Tier struct {
	Tier         string  `json:"tier"`
	Status       string  `json:"status"` // done, not_done, not_started
	StartSeconds float64 `json:"start_seconds,omitempty"`
	DoneSeconds  float64 `json:"done_seconds,omitempty"`
	VMs          int     `json:"vms"`
}

// Tier statuses.
const (
	TierDone       = "done"
	TierNotDone    = "not_done"    // started, not all its VMs up
	TierNotStarted = "not_started" // never started
)

// Started reports whether the tier started.
func (t Tier) Started() bool { return t.Status == TierDone || t.Status == TierNotDone }

// Done reports whether all the tier's VMs were up.
func (t Tier) Done() bool { return t.Status == TierDone }

// RPO is a group's achieved recovery point.
type RPO struct {
	Group           string  `json:"group"`
	TargetSeconds   float64 `json:"target_seconds"`
	AchievedSeconds float64 `json:"achieved_seconds"` // plan seconds
	Point           string  `json:"point,omitempty"`
	Met             bool    `json:"met"`
	// Note explains the figure: a planned migration's zero data loss.
	Note string `json:"note,omitempty"`
}

// VM is one VM's recovery.
type VM struct {
	VM     string `json:"vm"`
	Tier   string `json:"tier"`
	Site   string `json:"site"`
	Status string `json:"status"` // ready, failed, skipped, not_run
	IP     string `json:"ip,omitempty"`
	// Point is the recovery point its copy or promotion recovered.
	Point        string  `json:"point,omitempty"`
	StartSeconds float64 `json:"start_seconds"` // plan seconds from the run's start
	ReadySeconds float64 `json:"ready_seconds,omitempty"`
	PlanSeconds  float64 `json:"plan_seconds"` // from its first step to ready
	WallSeconds  float64 `json:"wall_seconds"`
	Error        string  `json:"error,omitempty"`
}

// Step is one step's outcome.
type Step struct {
	Run          string            `json:"run"` // the mode of the run it belongs to
	Addr         steps.Addr        `json:"addr"`
	Kind         string            `json:"kind"`
	Phase        string            `json:"phase"`
	Tier         string            `json:"tier,omitempty"`
	VM           string            `json:"vm,omitempty"`
	Status       string            `json:"status"` // ok, failed, skipped, optional_failed, not_run
	StartSeconds float64           `json:"start_seconds,omitempty"`
	EndSeconds   float64           `json:"end_seconds,omitempty"`
	PlanSeconds  float64           `json:"plan_seconds"`
	WallSeconds  float64           `json:"wall_seconds"`
	Attempts     int               `json:"attempts,omitempty"`
	Error        string            `json:"error,omitempty"`
	Detail       map[string]string `json:"detail,omitempty"`
}

// Ran reports whether the step started: it finished (ok, failed or
// best-effort failed) or was interrupted. Its StartSeconds may be 0: on a
// virtual clock the first steps start at the run's very first instant.
func (s Step) Ran() bool {
	switch s.Status {
	case rundir.StatusOK, rundir.StatusFailed, rundir.StatusOptionalFailed, "interrupted":
		return true
	}
	return false
}

// WallTimed reports whether the step's work is wall-clock work done on
// this machine (a local command, Terraform, a prompt, a probe of a real
// host): the runner marks it with detail timing = "wall". In a simulated
// run such a step takes no plan time (the simulated world stands still
// while it runs), so its duration is its wall time.
func (s Step) WallTimed() bool { return rundir.WallTiming(s.Detail) }

// Check is one verification a drill makes, or one that a failover,
// migration, failback or reprotect makes of its result, read back from the
// sites. A check that passed without proof (what it checks could not be
// read) says so: its Detail begins with "not proven: ".
type Check struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	Detail string `json:"detail"`
}

// Figures are counts about the run.
type Figures struct {
	APICalls      int64   `json:"api_calls"`
	APICallsPerVM float64 `json:"api_calls_per_vm"`
}

// RunSummary is one program run inside the report (a drill has two).
// PlanSeconds is from its start to its end on the run clock; WallSeconds
// the wall time it took (its run_finished record's wall_seconds), 0 when
// it never finished.
type RunSummary struct {
	Mode        string  `json:"mode"`
	Result      string  `json:"result"`
	PlanSeconds float64 `json:"plan_seconds"`
	WallSeconds float64 `json:"wall_seconds"`
	APICalls    int64   `json:"api_calls"`
}

// Input is what a report is built from.
type Input struct {
	Target   string
	Seed     int64
	Owner    string
	Programs []*steps.Program // in the order they ran
	Events   []rundir.Event
	Checks   []Check
	Warnings []string
	Drift    []string // the warnings that are drift
}

// Build makes the report of a run from its journal. The first program is
// the one whose recovery (RTO, RPO, VMs) the report is about.
//
// The journal is on the run clock (a virtual clock in simulated runs, the
// wall clock in live ones): event times, and so every *_seconds figure
// but the wall ones, are plan time as they stand. Wall time comes from
// the wall_seconds figures the runner records.
func Build(in Input) *Report {
	r := &Report{SchemaVersion: SchemaVersion, Target: in.Target, Seed: in.Seed, Owner: in.Owner, Checks: in.Checks, Warnings: in.Warnings,
		Drift: in.Drift, RPO: []RPO{}, VMs: []VM{}, Steps: []Step{}, Runs: []RunSummary{}}
	r.fillNil()
	if len(in.Programs) == 0 {
		return r
	}
	main := in.Programs[0]
	r.Plan, r.RecoveryPlan, r.Mode = main.Plan, main.RecoveryPlan, main.Mode

	// Split the journal into the runs it holds. A resumed run
	// (drplan resume) goes on with the run it resumes: one run, from the
	// first start to the last end, crash included.
	type runEvents struct {
		start, end time.Time
		result     string
		calls      int64
		wall       float64
		events     []rundir.Event
	}
	var runs []*runEvents
	for _, e := range in.Events {
		resumed := e.Type == rundir.EventRunStarted && !e.Starts() && len(runs) > 0
		if e.Starts() || len(runs) == 0 {
			runs = append(runs, &runEvents{start: e.Time})
			if r.RunID == "" {
				r.Start = e.Time
			}
		}
		cur := runs[len(runs)-1]
		if resumed {
			cur.end, cur.result = time.Time{}, ""
		}
		cur.events = append(cur.events, e)
		if e.Type == rundir.EventRunFinished {
			end := e.RunEnd()
			cur.end, cur.result = e.Time, end.Result
			cur.calls = end.APICalls
			cur.wall += end.WallSeconds // each part of a resumed run
		}
	}
	for i, p := range in.Programs {
		if i >= len(runs) {
			r.Runs = append(r.Runs, RunSummary{Mode: p.Mode, Result: "not_run"})
			continue
		}
		re := runs[i]
		end := re.end
		if end.IsZero() && len(re.events) > 0 {
			end = re.events[len(re.events)-1].Time
			re.result = "interrupted"
		}
		r.End = end
		r.Runs = append(r.Runs, RunSummary{Mode: p.Mode, Result: re.result, PlanSeconds: end.Sub(re.start).Seconds(), WallSeconds: re.wall, APICalls: re.calls})
		r.Figures.APICalls += re.calls
		r.WallSeconds += re.wall
		r.addSteps(p, re.events, re.start)
	}
	if len(runs) > 0 {
		r.Start = runs[0].start
	}

	// Recovery figures come from the first program's run.
	first := runs
	if len(first) > 0 {
		r.recovery(main, first[0].events, first[0].start)
	}
	if n := len(r.VMs); n > 0 && len(r.Runs) > 0 {
		r.Figures.APICallsPerVM = float64(r.Runs[0].APICalls) / float64(n)
	}
	r.Result = "passed"
	for i, rs := range r.Runs {
		if rs.Result == "interrupted" && slices.ContainsFunc(r.Runs[i+1:], func(later RunSummary) bool { return later.Mode == rs.Mode && later.Result != "not_run" }) {
			continue // run again to the end: a cleanup killed and run again
		}
		if rs.Result != "passed" {
			r.Result = rs.Result
			if rs.Result != "interrupted" {
				r.Result = "failed"
			}
			break
		}
	}
	for _, c := range r.Checks {
		if !c.Passed && r.Result == "passed" {
			r.Result = "failed"
		}
	}
	return r
}

func (r *Report) addSteps(p *steps.Program, events []rundir.Event, start time.Time) {
	type state struct {
		start, end time.Time
		skipped    time.Time
		wall       float64
		hasWall    bool
		status     string
		attempts   int
		err        string
		detail     map[string]string
	}
	st := map[steps.Addr]*state{}
	for _, e := range events {
		if e.Step.IsZero() {
			continue
		}
		s := st[e.Step]
		if s == nil {
			s = &state{status: rundir.StatusNotRun}
			st[e.Step] = s
		}
		switch e.Type {
		case rundir.EventStepStarted:
			if s.start.IsZero() {
				s.start = e.Time
			}
			s.attempts = e.Attempt
		case rundir.EventStepFinished:
			s.end, s.status, s.err = e.Time, e.Result, e.Error
			s.wall, s.hasWall = e.WallSeconds()
			if e.Detail != nil {
				s.detail = e.Detail
			}
		case rundir.EventStepSkipped:
			s.status, s.err, s.skipped = rundir.StatusSkipped, "skipped because "+e.Because().String()+" failed", e.Time
		}
	}
	for _, ps := range p.Steps {
		if ps.Kind == steps.Barrier {
			continue
		}
		s := st[ps.Addr]
		out := Step{Run: p.Mode, Addr: ps.Addr, Kind: string(ps.Kind), Phase: string(ps.Phase), Tier: ps.Tier, VM: ps.VM, Status: rundir.StatusNotRun}
		if s != nil {
			out.Status, out.Attempts, out.Error, out.Detail = s.status, s.attempts, s.err, s.detail
			if !s.start.IsZero() {
				out.StartSeconds = s.start.Sub(start).Seconds()
			}
			if !s.end.IsZero() && !s.start.IsZero() {
				out.EndSeconds = s.end.Sub(start).Seconds()
				out.PlanSeconds = s.end.Sub(s.start).Seconds()
				// A journal without the figure is on the wall clock (a live
				// run, or one written before the run clock): plan is wall.
				out.WallSeconds = out.PlanSeconds
				if s.hasWall {
					out.WallSeconds = s.wall
				}
			}
			if !s.skipped.IsZero() {
				out.EndSeconds = s.skipped.Sub(start).Seconds()
			}
			if s.status == rundir.StatusNotRun && !s.start.IsZero() {
				out.Status = "interrupted"
			}
		}
		r.Steps = append(r.Steps, out)
	}
}

// recovery fills RTO, RPO and the VMs from the recovery run.
func (r *Report) recovery(p *steps.Program, events []rundir.Event, start time.Time) {
	r.RTO.TargetSeconds = time.Duration(p.RTO).Seconds()
	r.RTO.EstimateSeconds = time.Duration(p.Estimate.Total).Seconds()
	ends := map[steps.Addr]time.Time{}
	var last time.Time
	for _, e := range events {
		if e.Type == rundir.EventStepFinished && e.Result == rundir.StatusOK {
			ends[e.Step] = e.Time
			if e.Time.After(last) {
				last = e.Time
			}
		}
	}
	if !last.IsZero() {
		r.RTO.AchievedSeconds = last.Sub(start).Seconds()
	}
	for _, t := range p.Estimate.Tiers {
		tr := Tier{Tier: t.Tier, VMs: t.VMs, Status: TierNotStarted}
		if e, ok := ends[steps.TierStart(t.Tier)]; ok {
			tr.StartSeconds, tr.Status = e.Sub(start).Seconds(), TierNotDone
		}
		if e, ok := ends[steps.TierDone(t.Tier)]; ok {
			tr.DoneSeconds, tr.Status = e.Sub(start).Seconds(), TierDone
		}
		r.RTO.Tiers = append(r.RTO.Tiers, tr)
	}
	allOK := true
	for _, s := range r.Steps {
		if s.Run == p.Mode && s.Status != rundir.StatusOK && s.Status != rundir.StatusOptionalFailed {
			allOK = false
		}
	}
	r.RTO.Met = allOK && (r.RTO.TargetSeconds == 0 || r.RTO.AchievedSeconds <= r.RTO.TargetSeconds)

	// The program's steps by address, and which VMs have a readiness wait.
	byAddr := make(map[steps.Addr]*steps.Step, len(p.Steps))
	waits := map[string]bool{}
	for _, s := range p.Steps {
		byAddr[s.Addr] = s
		if s.Kind == steps.WaitReady {
			waits[s.VM] = true
		}
	}

	// VMs: from their steps in the recovery run.
	byVM := map[string]*VM{}
	ready := map[string]bool{} // a ready time of 0 is a time
	var order []string
	for _, s := range r.Steps {
		if s.Run != p.Mode || s.VM == "" || s.Tier == "" {
			continue
		}
		v := byVM[s.VM]
		if v == nil {
			v = &VM{VM: s.VM, Tier: s.Tier, Status: "ready", StartSeconds: s.StartSeconds}
			byVM[s.VM] = v
			order = append(order, s.VM)
		}
		if ps := byAddr[s.Addr]; ps != nil {
			v.Site = ps.Site
		}
		if p := s.Detail["point"]; p != "" && s.Status == rundir.StatusOK {
			v.Point = p
		}
		switch s.Status {
		case rundir.StatusOK:
			if s.Kind == string(steps.WaitReady) {
				v.ReadySeconds, v.IP, ready[s.VM] = s.EndSeconds, s.Detail["ip"], true
			}
		case rundir.StatusSkipped, rundir.StatusNotRun, "interrupted":
			if v.Status == "ready" {
				v.Status = s.Status
			}
		default:
			v.Status, v.Error = "failed", s.Error
		}
		v.WallSeconds += s.WallSeconds
	}
	for _, name := range order {
		v := byVM[name]
		if ready[name] {
			v.PlanSeconds = v.ReadySeconds - v.StartSeconds
		}
		if v.Status == "ready" && !ready[name] && waits[name] {
			v.Status = "not_ready"
		}
		r.VMs = append(r.VMs, *v)
	}

	// RPO: the age of the point each group was recovered from.
	ages := map[string]float64{}
	points := map[string]string{}
	for _, s := range r.Steps {
		if s.Run != p.Mode || s.Detail["point_age_seconds"] == "" {
			continue
		}
		age, _ := strconv.ParseFloat(s.Detail["point_age_seconds"], 64)
		ps := byAddr[s.Addr]
		if ps == nil {
			continue
		}
		if prev, seen := ages[ps.Group]; seen && age <= prev {
			continue
		}
		ages[ps.Group], points[ps.Group] = age, s.Detail["point"]
	}
	for _, g := range p.Groups {
		age, ok := ages[g.Name]
		target := time.Duration(g.RPO).Seconds()
		rp := RPO{Group: g.Name, TargetSeconds: target, AchievedSeconds: age, Point: points[g.Name]}
		// Synchronous replication loses nothing while its link is up.
		if g.Method == "array_sync" {
			rp.AchievedSeconds = 0
		}
		rp.Met = ok && rp.AchievedSeconds <= target || g.Method == "array_sync" && ok
		if ok && rp.AchievedSeconds == 0 && (p.Mode == "migrate" || p.Mode == "failback") {
			rp.Note = "zero data loss: recovered from the final sync, taken after every VM of the group was shut down"
		}
		r.RPO = append(r.RPO, rp)
	}
	sort.SliceStable(r.RPO, func(i, j int) bool { return r.RPO[i].Group < r.RPO[j].Group })
}

// fillNil makes the lists that the schema says are arrays non-nil, so
// that they are [] in JSON, never null.
func (r *Report) fillNil() {
	for _, l := range []*[]string{&r.Warnings, &r.Drift} {
		if *l == nil {
			*l = []string{}
		}
	}
	if r.Checks == nil {
		r.Checks = []Check{}
	}
	if r.RPO == nil {
		r.RPO = []RPO{}
	}
	if r.VMs == nil {
		r.VMs = []VM{}
	}
	if r.Steps == nil {
		r.Steps = []Step{}
	}
	if r.Runs == nil {
		r.Runs = []RunSummary{}
	}
	// A report written before tiers had a status: its figures say.
	for i, t := range r.RTO.Tiers {
		switch {
		case t.Status != "":
		case t.DoneSeconds > 0:
			r.RTO.Tiers[i].Status = TierDone
		case t.StartSeconds > 0:
			r.RTO.Tiers[i].Status = TierNotDone
		default:
			r.RTO.Tiers[i].Status = TierNotStarted
		}
	}
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Read parses a report written by WriteJSON.
func Read(rd io.Reader) (*Report, error) {
	var r Report
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("not a drplan report: %v", err)
	}
	if r.SchemaVersion < 1 || r.SchemaVersion > SchemaVersion {
		return nil, fmt.Errorf("report schema version %d; this drplan reads versions 1 to %d", r.SchemaVersion, SchemaVersion)
	}
	r.fillNil()
	return &r, nil
}

// ReadFile reads a report.json file.
func ReadFile(name string) (*Report, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f)
}

// Title names the report for people: "Drill of plan "shop"" for a test
// run that was checked, else the run's mode.
func (r *Report) Title() string {
	what := "Run"
	switch {
	case r.Mode == "test" && len(r.Checks) > 0:
		what = "Drill"
	case r.Mode != "":
		what = strings.ToUpper(r.Mode[:1]) + r.Mode[1:] + " run"
	}
	return fmt.Sprintf("%s of plan %q", what, r.Plan)
}

// FormatSeconds renders plan seconds as a duration in the plan language's
// style, to the second: "4m12s".
func FormatSeconds(s float64) string {
	return units.FormatDuration(time.Duration(s * float64(time.Second)).Round(time.Second))
}

// CallsSummary says how many API calls the run made: "89 (63 in the
// recovery, 15.8 per VM)" when a cleanup's calls are in the total, "63
// (15.8 per VM)" otherwise. The per-VM figure is always the recovery's.
func (r *Report) CallsSummary() string {
	if len(r.Runs) > 1 {
		return fmt.Sprintf("%d (%d in the recovery, %.1f per VM)", r.Figures.APICalls, r.Runs[0].APICalls, r.Figures.APICallsPerVM)
	}
	return fmt.Sprintf("%d (%.1f per VM)", r.Figures.APICalls, r.Figures.APICallsPerVM)
}
