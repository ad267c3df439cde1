package command

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/drplan/drplan/report"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/steps"
)

// EventsVersion is the version of the -json event stream's schema
// (docs/events.md): a minor version adds types or fields, a major one
// changes or removes them.
const EventsVersion = "1.0"

// eventStream is the -json view of drill, run, resume and apply: one
// JSON object a line in the shape of terraform apply -json (@level,
// @message, @module, @timestamp, type, and a payload named after the
// type), fed by the same journal events as the human view.
type eventStream struct {
	mu     sync.Mutex
	w      io.Writer
	redact func(string) string
}

func newEventStream(w io.Writer, verb string) *eventStream {
	s := &eventStream{w: w, redact: func(s string) string { return s }}
	s.write("info", "drplan "+verb, "version", "version", map[string]string{"drplan": buildVersion().Version, "ui": EventsVersion})
	return s
}

// write writes one line: the message and a payload under key.
func (s *eventStream) write(level, message, typ, key string, payload any) {
	line := map[string]any{"@level": level, "@message": s.redact(message), "@module": "drplan",
		"@timestamp": time.Now().UTC().Format(time.RFC3339Nano), "type": typ}
	if key != "" {
		line[key] = payload
	}
	b, err := json.Marshal(line)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w.Write(append(b, '\n'))
}

// stepPayload is a step event's payload.
type stepPayload struct {
	Step        steps.Addr        `json:"step"`
	Attempt     int               `json:"attempt,omitempty"`
	Result      string            `json:"result,omitempty"`
	Error       string            `json:"error,omitempty"`
	Retry       bool              `json:"retry,omitempty"`
	Because     steps.Addr        `json:"because,omitzero"`
	PlanSeconds *float64          `json:"plan_seconds,omitempty"`
	WallSeconds *float64          `json:"wall_seconds,omitempty"`
	At          time.Time         `json:"at"` // on the run's clock (plan time)
	Detail      map[string]string `json:"detail,omitempty"`
}

// observe writes a journal event (already scrubbed of secrets) as a line.
func (s *eventStream) observe(e rundir.Event) {
	step := func() stepPayload {
		return stepPayload{Step: e.Step, Attempt: e.Attempt, Result: e.Result, At: e.Time, Detail: e.Detail}
	}
	switch e.Type {
	case rundir.EventRunStarted:
		rs := e.RunStart()
		s.write("info", fmt.Sprintf("run started: mode %s of plan %q", rs.Mode, rs.Plan), "run_start", "run",
			map[string]any{"mode": rs.Mode, "plan": rs.Plan, "recovery_plan": rs.RecoveryPlan, "steps": rs.Steps, "resumed": rs.Resumed, "at": e.Time})
	case rundir.EventStepStarted:
		s.write("info", e.Step.String()+": started", "step_start", "step", step())
	case rundir.EventStepFailed:
		p := step()
		p.Error, p.Retry = e.Error, e.Retryable
		typ, msg := "step_errored", e.Step.String()+": failed: "+e.Error
		if e.Retryable {
			typ, msg = "step_retry", e.Step.String()+": failed, trying again: "+e.Error
		}
		s.write("warn", msg, typ, "step", p)
	case rundir.EventStepSkipped:
		p := step()
		p.Because = e.Because()
		s.write("info", e.Step.String()+": skipped after "+p.Because.String()+" failed", "step_skip", "step", p)
	case rundir.EventStepFinished:
		p := step()
		p.Error = e.Error
		if v, ok := e.Seconds(); ok {
			p.PlanSeconds = &v
		}
		if v, ok := e.WallSeconds(); ok {
			p.WallSeconds = &v
		}
		level, typ := "info", "step_finish"
		if e.Result != rundir.StatusOK {
			level, typ = "error", "step_failed"
		}
		s.write(level, e.Step.String()+": "+e.Result, typ, "step", p)
		if e.Step == steps.TierDone(e.Step.Name) && e.Result == rundir.StatusOK {
			name := e.Step.Name
			s.write("info", "tier "+name+" done", "tier_done", "tier", map[string]any{"tier": name, "at": e.Time})
		}
	case rundir.EventVMReady:
		v := e.VMReady()
		s.write("info", fmt.Sprintf("%s ready at %s", v.VM, v.IP), "vm_ready", "vm",
			map[string]any{"vm": v.VM, "ip": v.IP, "tier": v.Tier, "step": e.Step, "at": e.Time})
	case rundir.EventPointChosen:
		p := e.PointChosen()
		s.write("info", fmt.Sprintf("recovery point of %s: %s", p.Group, p.Point.UTC().Format(time.RFC3339)), "point_chosen", "point",
			map[string]any{"group": p.Group, "site": p.Site, "request": p.Request, "point": p.Point, "replicas": p.Replicas})
	case rundir.EventRunFinished:
		r := e.RunEnd()
		level := "info"
		if r.Result != rundir.ResultPassed {
			level = "error"
		}
		s.write(level, "run "+r.Result, "run_finish", "run",
			map[string]any{"result": r.Result, "halted_by": r.HaltedBy, "api_calls": r.APICalls, "wall_seconds": r.WallSeconds, "at": e.Time})
	}
}

// check writes a verification's result.
func (s *eventStream) check(ch report.Check) {
	level, word := "info", "ok"
	if !ch.Passed {
		level, word = "error", "FAIL"
	}
	s.write(level, word+" "+ch.Name+": "+ch.Detail, "check", "check", map[string]any{"name": ch.Name, "passed": ch.Passed, "detail": ch.Detail})
}

// verdict writes how a drill or run ended, with its report.
func (s *eventStream) verdict(runID, result string, rep *report.Report, html string) {
	level := "info"
	if result != rundir.ResultPassed {
		level = "error"
	}
	payload := map[string]any{"run_id": runID, "result": result, "report": html}
	if rep != nil {
		payload["rto_achieved_seconds"] = rep.RTO.AchievedSeconds
		payload["rto_estimate_seconds"] = rep.RTO.EstimateSeconds
		payload["wall_seconds"] = rep.WallSeconds
	}
	s.write(level, "run "+runID+": "+result, "verdict", "verdict", payload)
}
