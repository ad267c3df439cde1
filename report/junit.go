package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/drplan/drplan/addrs"
)

// The JUnit XML that CI systems read (Jenkins, GitLab, GitHub test
// reporters): <testsuites> holding one <testsuite> per tier with a
// <testcase> per VM, one for the custom steps with a <testcase> per
// step, and one for the drill's checks. A testcase fails with the reason
// (<failure>), errs when the run was interrupted (<error>), or is
// <skipped> when it never ran.
//
// Times are wall seconds, what the CI job took: a testcase's time is its
// steps' wall time (the wall_seconds the runner recorded). A testsuite's
// is the wall time of what it covers: in a live run, where the journal's
// plan time is wall time, from its first testcase's start to its last
// one's end (not a sum: VMs of a tier recover in parallel), and
// <testsuites>' likewise over all of them; in a simulated run, whose
// journal is on a virtual clock, the longest of its testcases (they ran
// side by side) and, for <testsuites>, the recovery run's wall time. Plan
// time (the simulated world's, or the live run's, which is the same
// figure) goes into <properties>: plan_seconds on every testcase and
// testsuite, rto_achieved_seconds and rto_target_seconds on every
// testsuite.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	span       span
}

// span is the plan seconds from the first start to the last end of what
// a suite covers.
type span struct {
	start, end float64
	set        bool
}

// add widens the span to cover o; an unset o (a step that never
// started) widens nothing.
func (sp *span) add(o span) {
	if !o.set {
		return
	}
	if !sp.set {
		*sp = o
		return
	}
	sp.start, sp.end = min(sp.start, o.start), max(sp.end, o.end)
}

func (sp span) seconds() float64 {
	if !sp.set || sp.end < sp.start {
		return 0
	}
	return sp.end - sp.start
}

// stepSpan is a step's span, unset when it never started.
func stepSpan(s Step) span {
	if !s.Ran() {
		return span{}
	}
	return span{start: s.StartSeconds, end: max(s.StartSeconds, s.EndSeconds), set: true}
}

// junitProperties is a testcase's <properties>, left out when nil.
type junitProperties struct {
	Property []junitProperty `xml:"property"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name       string           `xml:"name,attr"`
	Classname  string           `xml:"classname,attr"`
	Time       string           `xml:"time,attr"`
	Properties *junitProperties `xml:"properties"`
	Failure    *junitResult     `xml:"failure"`
	Error      *junitResult     `xml:"error"`
	Skipped    *junitResult     `xml:"skipped"`
	SystemOut  *junitText       `xml:"system-out"`
}

type junitResult struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",cdata"`
}

// junitText is element text kept as written, line breaks included.
type junitText struct {
	Text string `xml:",cdata"`
}

// output is a testcase's <system-out>, nil when there is nothing to say.
func output(s string) *junitText {
	if s == "" {
		return nil
	}
	return &junitText{s}
}

// WriteJUnit renders the report as JUnit XML.
func (r *Report) WriteJUnit(w io.Writer) error {
	doc := r.junit()
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func (r *Report) junit() *junitSuites {
	doc := &junitSuites{Name: r.Title()}
	props := []junitProperty{{"run_id", r.RunID}, {"plan", r.Plan}, {"recovery_plan", r.RecoveryPlan}, {"mode", r.Mode}, {"target", r.Target}, {"result", r.Result},
		{"rto_achieved_seconds", junitTime(r.RTO.AchievedSeconds)}}
	if r.RTO.TargetSeconds > 0 {
		props = append(props, junitProperty{"rto_target_seconds", junitTime(r.RTO.TargetSeconds)})
	}
	class := func(suite string) string {
		return strings.Join([]string{r.Plan, r.RecoveryPlan, suite}, ".")
	}
	newSuite := func(name string) *junitSuite {
		s := &junitSuite{Name: name, Properties: slices.Clip(props)}
		if !r.Start.IsZero() {
			s.Timestamp = r.Start.UTC().Format("2006-01-02T15:04:05")
		}
		return s
	}

	// A suite per tier, a case per VM.
	byVM := map[string][]Step{}
	for _, s := range r.Steps {
		if s.Run == r.Mode && s.VM != "" && s.Tier != "" {
			byVM[s.VM] = append(byVM[s.VM], s)
		}
	}
	tiers := map[string]*junitSuite{}
	var order []*junitSuite
	for _, t := range r.RTO.Tiers {
		tiers[t.Tier] = newSuite(addrs.Ref{Kind: addrs.Tier, Name: t.Tier}.String())
		order = append(order, tiers[t.Tier])
	}
	for _, v := range r.VMs {
		s := tiers[v.Tier]
		if s == nil {
			s = newSuite(addrs.Ref{Kind: addrs.Tier, Name: v.Tier}.String())
			tiers[v.Tier] = s
			order = append(order, s)
		}
		s.add(r.vmCase(v, byVM[v.VM], class(s.Name)))
	}

	// The custom steps of the recovery run.
	custom := newSuite("custom steps")
	for _, s := range r.Steps {
		if s.Run == r.Mode && s.Kind == "custom" {
			custom.add(stepCase(s, class("steps")), stepSpan(s))
		}
	}
	if len(custom.Cases) > 0 {
		order = append(order, custom)
	}

	// The drill's checks.
	checks := newSuite("checks")
	for _, c := range r.Checks {
		tc := junitCase{Name: c.Name, Classname: class("checks"), Time: "0.000", SystemOut: output(c.Detail)}
		if !c.Passed {
			tc.Failure = &junitResult{Message: c.Detail, Type: "check", Text: c.Name + ": " + c.Detail}
		}
		checks.add(tc, span{})
	}
	if len(checks.Cases) > 0 {
		order = append(order, checks)
	}

	var total span
	var longest float64 // of the suites' wall times
	for _, s := range order {
		wall := r.suiteWall(s)
		longest = max(longest, wall)
		s.Time = junitTime(wall)
		s.Properties = append(s.Properties, junitProperty{"plan_seconds", junitTime(s.span.seconds())})
		total.add(s.span)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		doc.Suites = append(doc.Suites, *s)
	}
	doc.Time = junitTime(total.seconds())
	if r.Target == "sim" {
		// The recovery run's wall time; a run cut short has none.
		wall := longest
		if len(r.Runs) > 0 {
			wall = max(wall, r.Runs[0].WallSeconds)
		}
		doc.Time = junitTime(wall)
	}
	return doc
}

// suiteWall is the wall time of what a suite covers: its plan span in a
// live run (plan time is wall time there), the longest of its testcases
// in a simulated one (its plan span is the simulated world's time).
func (r *Report) suiteWall(s *junitSuite) float64 {
	if r.Target != "sim" {
		return s.span.seconds()
	}
	var longest float64
	for _, c := range s.Cases {
		t, _ := strconv.ParseFloat(c.Time, 64)
		longest = max(longest, t)
	}
	return longest
}

// add appends a case with the plan span it covers and counts it.
func (s *junitSuite) add(tc junitCase, sp span) {
	s.Cases = append(s.Cases, tc)
	s.Tests++
	s.span.add(sp)
	switch {
	case tc.Failure != nil:
		s.Failures++
	case tc.Error != nil:
		s.Errors++
	case tc.Skipped != nil:
		s.Skipped++
	}
}

// vmCase is a VM's recovery as a testcase: its steps in the output, the
// failed step's error as the failure. Its time is its steps' wall
// seconds, its plan_seconds property from its first step's start to ready
// (or to its last step's end when it never got ready).
func (r *Report) vmCase(v VM, steps []Step, class string) (junitCase, span) {
	var sp span
	var out strings.Builder
	var failed, skipped *Step
	for i, s := range steps {
		sp.add(stepSpan(s))
		fmt.Fprintf(&out, "%s %s", s.Addr, s.Status)
		if took := stepTook(s); took != "" {
			fmt.Fprintf(&out, " in %s", took)
		}
		if s.Attempts > 1 {
			fmt.Fprintf(&out, " after %d attempts", s.Attempts)
		}
		if s.Error != "" {
			fmt.Fprintf(&out, ": %s", s.Error)
		}
		out.WriteByte('\n')
		switch s.Status {
		case "failed", "interrupted":
			if failed == nil {
				failed = &steps[i]
			}
		case "skipped":
			if skipped == nil {
				skipped = &steps[i]
			}
		}
	}
	plan := sp.seconds()
	if v.ReadySeconds > 0 {
		plan = v.PlanSeconds
	}
	tc := junitCase{Name: addrs.Ref{Kind: addrs.VM, Name: v.VM}.String(), Classname: class, Time: junitTime(v.WallSeconds),
		Properties: &junitProperties{[]junitProperty{{"plan_seconds", junitTime(plan)}}}, SystemOut: output(out.String())}
	switch v.Status {
	case "ready":
	case "failed":
		text := v.Error
		if failed != nil {
			text = fmt.Sprintf("%s failed after %d attempt(s): %s", failed.Addr, failed.Attempts, failed.Error)
		}
		tc.Failure = &junitResult{Message: v.Error, Type: "failed", Text: text}
	case "not_ready":
		tc.Failure = &junitResult{Message: "the VM never reported ready", Type: "not_ready"}
	case "interrupted":
		tc.Error = &junitResult{Message: "the run was interrupted before the VM was ready", Type: "interrupted"}
	case "skipped":
		msg := "skipped"
		if skipped != nil && skipped.Error != "" {
			msg = skipped.Error
		}
		tc.Skipped = &junitResult{Message: msg}
	default:
		tc.Skipped = &junitResult{Message: "not run"}
	}
	return tc, sp
}

// stepCase is a custom step as a testcase.
func stepCase(s Step, class string) junitCase {
	tc := junitCase{Name: s.Addr.String(), Classname: class, Time: junitTime(s.WallSeconds),
		Properties: &junitProperties{[]junitProperty{{"plan_seconds", junitTime(s.PlanSeconds)}}}}
	var out string
	if s.Attempts > 1 {
		out = fmt.Sprintf("%d attempts\n", s.Attempts)
	}
	if s.Status == "optional_failed" {
		out += "failed, but the step is best effort: " + s.Error + "\n"
	}
	tc.SystemOut = output(out)
	switch s.Status {
	case "ok", "optional_failed":
	case "failed":
		tc.Failure = &junitResult{Message: s.Error, Type: "failed", Text: fmt.Sprintf("%s failed after %d attempt(s): %s", s.Addr, s.Attempts, s.Error)}
	case "interrupted":
		tc.Error = &junitResult{Message: "the run was interrupted during the step", Type: "interrupted"}
	case "skipped":
		tc.Skipped = &junitResult{Message: s.Error}
	default:
		tc.Skipped = &junitResult{Message: "not run"}
	}
	return tc
}

func junitTime(s float64) string { return fmt.Sprintf("%.3f", s) }
