package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/drplan/drplan/internal/units"
)

// WriteMarkdown renders the report as GitHub-flavoured Markdown, for pull
// requests and chat: the verdict, the targets, the checks, the tiers and
// VMs, the steps worth a look, and what plan warned about. Every step is
// listed in a collapsed section at the end.
func (r *Report) WriteMarkdown(w io.Writer) error {
	m := &mdWriter{w: w}
	m.f("# %s %s: %s\n\n", resultMark(r.Result), mdText(r.Title()), strings.ToUpper(r.Result))
	m.f("%s\n\n", mdText(r.summaryLine()))

	m.f("| target | achieved | goal | |\n| --- | --- | --- | --- |\n")
	rto := "no target"
	if r.RTO.TargetSeconds > 0 {
		rto = FormatSeconds(r.RTO.TargetSeconds)
	}
	m.f("| RTO | %s | %s | %s %s (estimate %s) |\n", FormatSeconds(r.RTO.AchievedSeconds), rto, mark(r.RTO.Met), metWord(r.RTO.Met), FormatSeconds(r.RTO.EstimateSeconds))
	for _, g := range r.RPO {
		note := ""
		if g.Note != "" {
			note = " (" + mdText(g.Note) + ")"
		}
		m.f("| RPO of group `%s` | %s%s | %s | %s %s |\n", mdText(g.Group), FormatSeconds(g.AchievedSeconds), note, FormatSeconds(g.TargetSeconds), mark(g.Met), metWord(g.Met))
	}

	if len(r.Checks) > 0 {
		m.f("\n## Checks\n\n| | check | detail |\n| --- | --- | --- |\n")
		for _, c := range r.Checks {
			m.f("| %s | %s | %s |\n", mark(c.Passed), mdText(c.Name), mdText(c.Detail))
		}
	}

	if len(r.RTO.Tiers) > 0 {
		m.f("\n## Tiers\n\n| tier | VMs | started | all up |\n| --- | --- | --- | --- |\n")
		for _, t := range r.RTO.Tiers {
			started, done := TierStarted(t), TierDoneAt(t)
			m.f("| %s | %d | %s | %s |\n", mdText(t.Tier), t.VMs, started, done)
		}
	}

	if len(r.VMs) > 0 {
		m.f("\n## VMs\n\n| VM | tier | site | status | IP | recovery point | up after | error |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
		for _, v := range r.VMs {
			up := ""
			if v.ReadySeconds > 0 {
				up = FormatSeconds(v.PlanSeconds)
			}
			m.f("| %s | %s | %s | %s %s | %s | %s | %s | %s |\n", mdText(v.VM), mdText(v.Tier), mdText(v.Site), statusMark(v.Status), v.Status, mdText(v.IP), mdText(v.Point), up, mdText(v.Error))
		}
	}

	var notable []Step
	for _, s := range r.Steps {
		if s.Status != "ok" || s.Attempts > 1 {
			notable = append(notable, s)
		}
	}
	if len(notable) > 0 {
		m.f("\n## Steps that failed, were skipped or needed retries\n\n| run | step | status | attempts | took | error |\n| --- | --- | --- | --- | --- | --- |\n")
		for _, s := range notable {
			m.f("| %s | `%s` | %s %s | %d | %s | %s |\n", s.Run, mdText(s.Addr.String()), statusMark(s.Status), s.Status, s.Attempts, stepTook(s), mdText(s.Error))
		}
	}

	r.mdList(m, "Drift found at plan time", r.Drift)
	r.mdList(m, "Warnings", r.otherWarnings())

	if len(r.Steps) > 0 {
		m.f("\n<details><summary>All %d steps</summary>\n\n| run | step | phase | status | start | took | wall | attempts |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n", len(r.Steps))
		for _, s := range r.Steps {
			start, wall := "", ""
			if s.Ran() {
				start, wall = FormatSeconds(s.StartSeconds), fmt.Sprintf("%.2fs", s.WallSeconds)
			}
			m.f("| %s | `%s` | %s | %s | %s | %s | %s | %d |\n", s.Run, mdText(s.Addr.String()), s.Phase, s.Status, start, stepTook(s), wall, s.Attempts)
		}
		m.f("\n</details>\n")
	}
	m.f("\n<sub>%s API calls: %s.</sub>\n", durationsNote, r.CallsSummary())
	return m.err
}

func (r *Report) mdList(m *mdWriter, title string, items []string) {
	if len(items) == 0 {
		return
	}
	m.f("\n## %s\n\n", title)
	for _, it := range items {
		m.f("- %s\n", mdText(it))
	}
}

// summaryLine says what ran, where and when, in one sentence.
func (r *Report) summaryLine() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Run %s of recovery plan %q, mode %s, against %s", r.RunID, r.RecoveryPlan, r.Mode, r.targetWords())
	if !r.Start.IsZero() {
		fmt.Fprintf(&b, ", started %s UTC", r.Start.UTC().Format("2006-01-02 15:04:05"))
	}
	fmt.Fprintf(&b, ", %s.", r.tookWords())
	if r.Owner != "" {
		fmt.Fprintf(&b, " Owner: %s.", r.Owner)
	}
	return b.String()
}

// targetWords names where the run ran.
func (r *Report) targetWords() string {
	switch r.Target {
	case "sim":
		return "the simulated sites"
	case "live":
		return "the live sites"
	}
	return "its sites"
}

// tookWords says how long the runs took: plan time and wall time for a
// simulated run (its plan time is the simulated world's), wall time for
// a live one (where the two are the same).
func (r *Report) tookWords() string {
	plan := 0.0
	if !r.Start.IsZero() && r.End.After(r.Start) {
		plan = r.End.Sub(r.Start).Seconds()
	}
	if r.Target == "sim" {
		if r.WallSeconds > 0 {
			return fmt.Sprintf("%s of plan time in %.1fs wall", FormatSeconds(plan), r.WallSeconds)
		}
		return FormatSeconds(plan) + " of plan time"
	}
	wall := r.WallSeconds
	if wall == 0 {
		wall = plan
	}
	return fmt.Sprintf("%.1fs wall", wall)
}

// durationsNote says what the durations of a report are.
const durationsNote = "Durations are plan time, from the start of each run; a step whose work ran on this machine (a command, Terraform, a prompt, a probe of a real host) shows its wall time, marked (wall)."

// otherWarnings are the warnings that are not drift.
func (r *Report) otherWarnings() []string {
	var out []string
	for _, w := range r.Warnings {
		if !slices.Contains(r.Drift, w) {
			out = append(out, w)
		}
	}
	return out
}

// stepTook is how long a step ran, in plan time, or in wall time marked
// "(wall)" for a wall-timed step; "" when it did not finish.
func stepTook(s Step) string {
	if !s.Ran() || s.Status == "interrupted" {
		return ""
	}
	if s.WallTimed() {
		return FormatWall(s.WallSeconds) + " (wall)"
	}
	return FormatSeconds(s.PlanSeconds)
}

// FormatWall renders wall seconds as a duration: to the second from a
// second up ("3s"), to the millisecond under one ("420ms").
func FormatWall(s float64) string {
	d := time.Duration(s * float64(time.Second))
	if d < time.Second {
		return units.FormatDuration(d.Round(time.Millisecond))
	}
	return units.FormatDuration(d.Round(time.Second))
}

func mark(ok bool) string {
	if ok {
		return "✅"
	}
	return "❌"
}

// statusMark marks a VM's or a step's status: done, failed, or neither
// (skipped, not run, best-effort failure, interrupted).
func statusMark(status string) string {
	switch status {
	case "ok", "ready":
		return "✅"
	case "failed", "not_ready":
		return "❌"
	}
	return "⚠️"
}

func resultMark(result string) string {
	switch result {
	case "passed":
		return "✅"
	case "interrupted":
		return "⚠️"
	}
	return "❌"
}

func metWord(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

// mdText makes text safe in a Markdown table cell or list item: pipes
// escaped, line breaks as <br>, and no raw HTML.
var mdReplacer = strings.NewReplacer("|", `\|`, "\r\n", "<br>", "\n", "<br>", "<", "&lt;", ">", "&gt;", "&", "&amp;", "`", "'")

func mdText(s string) string { return mdReplacer.Replace(s) }

// mdWriter keeps the first write error.
type mdWriter struct {
	w   io.Writer
	err error
}

func (m *mdWriter) f(format string, args ...any) {
	if m.err == nil {
		_, m.err = fmt.Fprintf(m.w, format, args...)
	}
}

// TierStarted is when the tier started, for people: "not started" for a
// tier that never did.
func TierStarted(t Tier) string {
	if !t.Started() {
		return "not started"
	}
	return FormatSeconds(t.StartSeconds)
}

// TierDoneAt is when all the tier's VMs were up, for people: "not done"
// for a tier that started and never finished, "—" for one that never
// started.
func TierDoneAt(t Tier) string {
	switch {
	case t.Done():
		return FormatSeconds(t.DoneSeconds)
	case t.Started():
		return "not done"
	}
	return "—"
}
