package rundir

import (
	"strconv"
	"time"

	"github.com/drplan/drplan/steps"
)

// Event is one record of a run's journal. Its JSON is the journal's
// event (see JournalFormat); the constructors and accessors below give
// the details and figures of each type a name, and write and read them
// under the keys the journal has always used.
type Event struct {
	Time time.Time `json:"time"`
	Type string    `json:"type"`
	// Step is the step's address for step events.
	Step    steps.Addr `json:"step,omitzero"`
	Attempt int        `json:"attempt,omitempty"`
	// Result is a Status for step ends, a run result (ResultPassed,
	// ResultFailed, ResultInterrupted) for run ends.
	Result string `json:"result,omitempty"`
	Error  string `json:"error,omitempty"`
	// Retryable says whether a failure was transient.
	Retryable bool              `json:"retryable,omitempty"`
	Detail    map[string]string `json:"detail,omitempty"`
	// Figures carries numbers: durations in seconds, counts.
	Figures map[string]float64 `json:"figures,omitempty"`
}

// Event types.
const (
	EventRunStarted   = "run_started"
	EventStepStarted  = "step_started"
	EventStepFinished = "step_finished"
	EventStepFailed   = "step_failed" // one attempt failed
	EventStepSkipped  = "step_skipped"
	EventVMReady      = "vm_ready"
	EventFigures      = "figures"
	EventRunFinished  = "run_finished"
	EventNote         = "note"
	// EventPointChosen records the recovery point a group's replicas are
	// recovered from, chosen before the first of them is touched.
	EventPointChosen = "point_chosen"
)

// Status values: a step's result in its step_finished and step_skipped
// events, and what the runner and the report say of a step.
const (
	StatusOK             = "ok"
	StatusFailed         = "failed"
	StatusSkipped        = "skipped"
	StatusOptionalFailed = "optional_failed"
	StatusNotRun         = "not_run"
)

// Run results: how a run_finished event says the run ended.
const (
	ResultPassed      = "passed"
	ResultFailed      = "failed"
	ResultInterrupted = "interrupted"
)

// RunStart is what a run_started event says.
type RunStart struct {
	Mode, Plan, RecoveryPlan, Hash string
	// Steps is how many steps the program has.
	Steps int
	// Resumed says the run goes on with an earlier attempt of the same
	// run (drplan resume), whose Done steps are not run again.
	Resumed bool
	Done    int
}

// Event is the run_started event of s.
func (s RunStart) Event() Event {
	e := Event{Type: EventRunStarted, Detail: map[string]string{"mode": s.Mode, "plan": s.Plan, "recovery_plan": s.RecoveryPlan, "hash": s.Hash},
		Figures: map[string]float64{"steps": float64(s.Steps)}}
	if s.Resumed {
		e.Detail["resumed"] = "true"
		e.Figures["done"] = float64(s.Done)
	}
	return e
}

// RunStart reads a run_started event.
func (e Event) RunStart() RunStart {
	return RunStart{Mode: e.Detail["mode"], Plan: e.Detail["plan"], RecoveryPlan: e.Detail["recovery_plan"], Hash: e.Detail["hash"],
		Steps: int(e.Figures["steps"]), Resumed: e.Detail["resumed"] == "true", Done: int(e.Figures["done"])}
}

// Starts reports whether e starts a run afresh: a run_started event
// that does not resume an earlier attempt.
func (e Event) Starts() bool { return e.Type == EventRunStarted && e.Detail["resumed"] != "true" }

// RunEnd is what a run_finished event says.
type RunEnd struct {
	// Result is ResultPassed, ResultFailed or ResultInterrupted.
	Result string
	// HaltedBy is the address of the step that halted the run, if any.
	HaltedBy string
	// APICalls is how many calls the run made to the sites' APIs.
	APICalls int64
	// WallSeconds is the wall time the run took.
	WallSeconds float64
}

// Event is the run_finished event of x.
func (x RunEnd) Event() Event {
	return Event{Type: EventRunFinished, Result: x.Result, Detail: map[string]string{"halted_by": x.HaltedBy},
		Figures: map[string]float64{"api_calls": float64(x.APICalls), "wall_seconds": x.WallSeconds}}
}

// RunEnd reads a run_finished event.
func (e Event) RunEnd() RunEnd {
	return RunEnd{Result: e.Result, HaltedBy: e.Detail["halted_by"], APICalls: int64(e.Figures["api_calls"]), WallSeconds: e.Figures["wall_seconds"]}
}

// StepStarted is the step_started event of an attempt of a step.
func StepStarted(step steps.Addr, attempt int) Event {
	return Event{Type: EventStepStarted, Step: step, Attempt: attempt}
}

// StepFailed is the step_failed event of one attempt that failed;
// retry says whether it is tried again.
func StepFailed(step steps.Addr, attempt int, err error, retry bool, detail map[string]string) Event {
	return Event{Type: EventStepFailed, Step: step, Attempt: attempt, Error: err.Error(), Retryable: retry, Detail: detail}
}

// StepSkipped is the step_skipped event of a step not run because the
// step at address because failed.
func StepSkipped(step, because steps.Addr) Event {
	return Event{Type: EventStepSkipped, Step: step, Result: StatusSkipped, Detail: map[string]string{"because": because.String()}}
}

// Because is, for a step_skipped event, the step whose failure skipped it.
func (e Event) Because() steps.Addr {
	a, _ := steps.ParseAddr(e.Detail["because"])
	return a
}

// StepEnd is what a step_finished event says.
type StepEnd struct {
	Step    steps.Addr
	Attempt int // the last attempt
	// Result is StatusOK, StatusFailed or StatusOptionalFailed; Err is
	// the last attempt's error for the last two.
	Result string
	Err    error
	// Detail is what the step reports (an address, a point, a command's
	// output); see WallTiming.
	Detail map[string]string
	// Seconds is how long the step took on the run's clock (plan time),
	// WallSeconds on the wall clock.
	Seconds, WallSeconds float64
}

// Event is the step_finished event of x.
func (x StepEnd) Event() Event {
	e := Event{Type: EventStepFinished, Step: x.Step, Attempt: x.Attempt, Result: x.Result, Detail: x.Detail,
		Figures: map[string]float64{"seconds": x.Seconds, "wall_seconds": x.WallSeconds}}
	if x.Err != nil {
		e.Error = x.Err.Error()
	}
	return e
}

// Seconds is, for a step_finished event, how long the step took on the
// run's clock; ok is false when the event does not say.
func (e Event) Seconds() (s float64, ok bool) {
	s, ok = e.Figures["seconds"]
	return s, ok
}

// WallSeconds is, for a step_finished or run_finished event, how long
// the step or run took on the wall clock; ok is false when the event does
// not say (a journal written before the run clock, whose times are wall
// times).
func (e Event) WallSeconds() (s float64, ok bool) {
	s, ok = e.Figures["wall_seconds"]
	return s, ok
}

// timingKey is the detail that marks a step whose work is wall-clock
// work done from this machine.
const timingKey, timingWall = "timing", "wall"

// WithWallTiming returns detail (a copy, when it adds to it) marked as
// the details of a step whose work is wall-clock work done from this
// machine (a local command, a prompt): in a simulated run its timeout is
// wall time and its report shows the wall time it took.
func WithWallTiming(detail map[string]string) map[string]string {
	out := make(map[string]string, len(detail)+1)
	for k, v := range detail {
		out[k] = v
	}
	out[timingKey] = timingWall
	return out
}

// WallTiming reports whether the details of a step (of a step_finished
// event, or a report's step) mark its work as wall-clock work
// (WithWallTiming).
func WallTiming(detail map[string]string) bool { return detail[timingKey] == timingWall }

// VMReady is what a vm_ready event says: a VM of a tier answers at IP.
type VMReady struct {
	VM, IP, Tier string
}

// Event is the vm_ready event of v, told by the step at address step.
func (v VMReady) Event(step steps.Addr) Event {
	return Event{Type: EventVMReady, Step: step, Detail: map[string]string{"vm": v.VM, "ip": v.IP, "tier": v.Tier}}
}

// VMReady reads a vm_ready event.
func (e Event) VMReady() VMReady {
	return VMReady{VM: e.Detail["vm"], IP: e.Detail["ip"], Tier: e.Detail["tier"]}
}

// PointChosen is what a point_chosen event says: the recovery point a
// group's replicas at a site are recovered from.
type PointChosen struct {
	Group, Site string
	// Request is the point the program asked for (latest, a time, …).
	Request  string
	Replicas int
	// Point is the oldest of the replicas' chosen points, Newest the
	// newest (equal to Point when they all have the same).
	Point, Newest time.Time
}

// Event is the point_chosen event of p.
func (p PointChosen) Event() Event {
	d := map[string]string{"group": p.Group, "site": p.Site, "request": p.Request, "replicas": strconv.Itoa(p.Replicas),
		"point": p.Point.UTC().Format(time.RFC3339Nano)}
	if !p.Newest.IsZero() && !p.Newest.Equal(p.Point) {
		d["newest"] = p.Newest.UTC().Format(time.RFC3339Nano)
	}
	return Event{Type: EventPointChosen, Detail: d}
}

// PointChosen reads a point_chosen event; times it cannot read are zero.
func (e Event) PointChosen() PointChosen {
	p := PointChosen{Group: e.Detail["group"], Site: e.Detail["site"], Request: e.Detail["request"]}
	p.Replicas, _ = strconv.Atoi(e.Detail["replicas"])
	p.Point, _ = time.Parse(time.RFC3339Nano, e.Detail["point"])
	p.Newest = p.Point
	if n, err := time.Parse(time.RFC3339Nano, e.Detail["newest"]); err == nil {
		p.Newest = n
	}
	return p
}
