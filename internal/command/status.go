package command

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/drplan/drplan/compiler"
	"github.com/drplan/drplan/internal/diagview"
	"github.com/drplan/drplan/internal/history"
	"github.com/drplan/drplan/internal/units"
	"github.com/drplan/drplan/internal/words"
	"github.com/drplan/drplan/report"
)

// ExitViolation is drplan status's code when a group misses its RPO or
// the sites drifted from the plan: what monitoring alerts on.
const ExitViolation = 2

// statusDoc is drplan status's result, and its -json form.
type statusDoc struct {
	Plan      string        `json:"plan"`
	Target    string        `json:"target"` // sim or live
	Checked   time.Time     `json:"checked"`
	Healthy   bool          `json:"healthy"`
	Groups    []groupStatus `json:"groups"`
	LastDrill *drillStatus  `json:"last_drill"`
	// DrillIntervalSeconds is the plan's drill_interval, 0 without one.
	DrillIntervalSeconds float64         `json:"drill_interval_seconds,omitempty"`
	Violations           []statusFinding `json:"violations"`
	Warnings             []statusFinding `json:"warnings"`
}

type groupStatus struct {
	Name         string `json:"name"`
	Site         string `json:"site"`
	RecoverySite string `json:"recovery_site"`
	// Reversed: the group runs at the plan's recovery site and replicates
	// back (after failover and reprotect); site and recovery_site say so.
	Reversed    bool            `json:"reversed"`
	Method      string          `json:"method"`
	RPOSeconds  float64         `json:"rpo_seconds"`
	Point       *time.Time      `json:"recovery_point"` // null without replicas
	AgeSeconds  *float64        `json:"age_seconds"`    // plan seconds
	RPOMet      bool            `json:"rpo_met"`
	VMs         []string        `json:"vms"`
	Unprotected []string        `json:"unprotected"`
	NotFound    []string        `json:"not_found"`
	NoReplica   []string        `json:"no_replica"`
	LostDisks   []string        `json:"disks_not_replicated"`
	Replicas    []replicaStatus `json:"replicas"`
	Healthy     bool            `json:"healthy"`
}

type replicaStatus struct {
	VM         string    `json:"vm"`
	Latest     time.Time `json:"latest_point"`
	AgeSeconds float64   `json:"age_seconds"`
	Points     int       `json:"points,omitempty"`
	Continuous bool      `json:"continuous,omitempty"`
	Healthy    bool      `json:"healthy"` // within the RPO
}

type drillStatus struct {
	RunID           string    `json:"run_id"`
	Target          string    `json:"target,omitempty"`
	Result          string    `json:"result"`
	Start           time.Time `json:"start"`
	Report          string    `json:"report,omitempty"`
	LastPassedRunID string    `json:"last_passed_run_id,omitempty"`
	LastPassed      time.Time `json:"last_passed,omitzero"`
}

// statusFinding is a violation or a warning; Kind is rpo, drift or
// unreachable (violations), drill (warnings).
type statusFinding struct {
	Group   string `json:"group,omitempty"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

func runStatus(c *cli, args []string) int {
	f := c.newFlags("status", "(--sim|--live) [-json] [-format text|json|openmetrics] [-o FILE] [-state-dir DIR] [DIR]",
		"Shows the protection of every protection group: its latest recovery\npoint and its age against the RPO, its VMs, the VMs where its selectors\nlook that no group protects, the health of its replicas; and the plan's\nlast drill, with a warning when the last passed drill is older than\ndrill_interval. Exits 2 when a group misses its RPO, the sites drifted\nfrom the plan or a site cannot be read: for monitoring. -format\nopenmetrics writes a Prometheus textfile-collector file (with -o FILE,\nwritten atomically).")
	f.planFlags()
	sim, live := f.targetFlags()
	f.BoolVar(&f.json, "json", false, "print the status as one JSON document (-format json)")
	format := f.String("format", "", "print the status as `FORMAT`: text, json or openmetrics")
	out := f.String("o", "", "write the status to `FILE` instead of standard output")
	state := f.String("state-dir", "", "where runs are kept (default DIR/.drplan)")
	pos, code, ok := c.parse(f, args, 1)
	if !ok {
		return code
	}
	switch *format {
	case "":
		*format = "text"
		if f.json {
			*format = "json"
		}
	case "text", "json", "openmetrics":
		if f.json && *format != "json" {
			fmt.Fprintf(c.stderr, "drplan status: -json and -format %s disagree; give one.\n", *format)
			return ExitError
		}
	default:
		fmt.Fprintf(c.stderr, "drplan status: -format %q: want text, json or openmetrics.\n", *format)
		return ExitError
	}
	f.json = *format == "json"
	isSim, ok := c.chooseTarget("status", *sim, *live, "")
	if !ok {
		return ExitError
	}
	dir := planDir(pos)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cp, code := c.loadAgainst(ctx, f, dir, isSim)
	if cp == nil {
		return code
	}
	defer cp.target.close()
	if !f.json {
		// Unreachable sites and the like: the status says what they mean.
		diagview.Text{Files: cp.plan.Files, Color: c.color(c.stderr, f.noColor), Redact: cp.plan.Redact}.Write(c.stderr, cp.diags)
	}
	runs, err := history.List(c.stateDir(*state, dir))
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan status: cannot read the past runs: %v\n", err)
	}
	doc := protectionStatus(cp, runs, time.Now())
	var buf bytes.Buffer
	switch *format {
	case "json":
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		enc.Encode(doc)
	case "openmetrics":
		b, err := writeStatusMetrics(doc)
		if err != nil {
			fmt.Fprintf(c.stderr, "drplan status: cannot encode the metrics: %v\n", err)
			return ExitError
		}
		buf.Write(b)
	default:
		writeStatus(&buf, doc)
	}
	if *out == "" {
		*out = "-"
	}
	if err := c.writeOutput(*out, buf.Bytes(), 0o644); err != nil {
		fmt.Fprintf(c.stderr, "drplan status: %v\n", err) // the error names the file
		return ExitError
	}
	if !doc.Healthy {
		return ExitViolation
	}
	return ExitOK
}

// protectionStatus judges the groups' state as the inventory checks do
// (compiler.Protection) and finds the plan's last drill.
func protectionStatus(cp *compiled, runs []*history.Run, now time.Time) *statusDoc {
	doc := &statusDoc{Plan: cp.plan.Name, Target: cp.target.kind, Checked: cp.snap.Taken.UTC(),
		Groups: []groupStatus{}, Violations: []statusFinding{}, Warnings: []statusFinding{}}
	violate := func(group, kind, format string, args ...any) {
		doc.Violations = append(doc.Violations, statusFinding{Group: group, Kind: kind, Message: fmt.Sprintf(format, args...)})
	}
	for _, g := range compiler.Protection(cp.plan, cp.snap, compiler.Options{}) {
		gs := groupStatus{Name: g.Group, Site: g.Site, RecoverySite: g.RecoverySite, Reversed: g.Reversed, Method: g.Method, RPOSeconds: g.RPO.Seconds(),
			RPOMet: !g.Stale() && !g.Point.IsZero(), VMs: nonNil(g.VMs), Unprotected: nonNil(g.Unprotected), NotFound: nonNil(g.NotFound),
			NoReplica: nonNil(g.NoReplica), LostDisks: nonNil(g.LostDisks), Replicas: []replicaStatus{}}
		if !g.Point.IsZero() {
			p, age := g.Point.UTC(), g.Age.Seconds()
			gs.Point, gs.AgeSeconds = &p, &age
		}
		for _, r := range g.Replicas {
			gs.Replicas = append(gs.Replicas, replicaStatus{VM: r.VM, Latest: r.Latest.UTC(), AgeSeconds: r.Age.Seconds(), Points: r.Points,
				Continuous: r.Continuous, Healthy: g.RPO == 0 || r.Age <= g.RPO})
		}
		before := len(doc.Violations)
		for _, site := range []struct {
			name string
			up   bool
		}{{g.Site, g.SiteReachable}, {g.RecoverySite, g.RecoverySiteReachable}} {
			if !site.up {
				violate(g.Group, "unreachable", "site %q could not be read, so the group's protection is unknown", site.name)
			}
		}
		if g.Stale() {
			violate(g.Group, "rpo", "the latest recovery point is %s old, more than the %s RPO: replication is lagging or stopped",
				units.FormatDuration(g.Age.Round(time.Second)), units.FormatDuration(g.RPO))
		}
		if len(g.NoReplica) > 0 {
			violate(g.Group, "drift", "%s %s no replica at site %q", words.QuoteList(g.NoReplica), words.Plural(len(g.NoReplica), "has", "have"), g.RecoverySite)
		}
		if len(g.NotFound) > 0 {
			violate(g.Group, "drift", "%s %s not at site %q", words.QuoteList(g.NotFound), words.Plural(len(g.NotFound), "is", "are"), g.Site)
		}
		if len(g.Unprotected) > 0 {
			violate(g.Group, "drift", "%s %s where the group's selectors look, but no group protects %s",
				words.QuoteList(g.Unprotected), words.Plural(len(g.Unprotected), "sits", "sit"), words.Pronoun(len(g.Unprotected)))
		}
		if len(g.LostDisks) > 0 {
			violate(g.Group, "drift", "not replicated: %s", strings.Join(g.LostDisks, "; "))
		}
		gs.Healthy = len(doc.Violations) == before
		doc.Groups = append(doc.Groups, gs)
	}
	doc.Healthy = len(doc.Violations) == 0

	last, passed := history.LastDrill(runs, cp.plan.Name)
	if last != nil {
		d := &drillStatus{RunID: last.ID, Target: last.Target(), Result: last.Result, Start: last.Start.UTC()}
		if html := filepath.Join(last.Dir, report.HTML.File()); fileExists(html) {
			d.Report = html
		}
		if passed != nil {
			d.LastPassedRunID, d.LastPassed = passed.ID, passed.Start.UTC()
		}
		doc.LastDrill = d
		if last.Result != "passed" {
			doc.Warnings = append(doc.Warnings, statusFinding{Kind: "drill", Message: fmt.Sprintf("the last drill, %s, %s", last.ID, last.Result)})
		}
	}
	if m := cp.plan.Meta; m != nil && m.DrillInterval > 0 {
		doc.DrillIntervalSeconds = m.DrillInterval.Seconds()
		interval := units.FormatDuration(m.DrillInterval)
		switch {
		case passed == nil:
			doc.Warnings = append(doc.Warnings, statusFinding{Kind: "drill", Message: fmt.Sprintf("no drill of the plan has passed yet; drill_interval asks for one every %s: run drplan drill", interval)})
		case now.Sub(passed.Start) > m.DrillInterval:
			doc.Warnings = append(doc.Warnings, statusFinding{Kind: "drill", Message: fmt.Sprintf("the last passed drill, %s, is %s old, older than the drill_interval of %s: the plan is overdue for a drill",
				passed.ID, ago(now.Sub(passed.Start)), interval)})
		}
	}
	return doc
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ago renders a wall-clock age to the minute (to the second under one).
func ago(d time.Duration) string {
	if d >= time.Minute {
		d = d.Round(time.Minute)
	} else {
		d = d.Round(time.Second)
	}
	return units.FormatDuration(d)
}

// writeStatus shows the status for people.
func writeStatus(w io.Writer, doc *statusDoc) {
	where := "the live sites"
	if doc.Target == "sim" {
		where = "the simulated sites (ages in plan time)"
	}
	fmt.Fprintf(w, "Protection of plan %q on %s, read %s.\n\n", doc.Plan, where, doc.Checked.Format("2006-01-02 15:04:05 UTC"))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tSITES\tMETHOD\tRPO\tRECOVERY POINT\tAGE\tVMS\tREPLICAS\tUNPROTECTED\tSTATE")
	for _, g := range doc.Groups {
		point, age := "none", "-"
		if g.Point != nil {
			point, age = g.Point.Format(time.RFC3339), report.FormatSeconds(*g.AgeSeconds)
		}
		healthy := 0
		for _, r := range g.Replicas {
			if r.Healthy {
				healthy++
			}
		}
		state := "ok"
		if !g.Healthy {
			var what []string
			for _, v := range doc.Violations {
				if v.Group == g.Name && !slices.Contains(what, v.Kind) {
					what = append(what, v.Kind)
				}
			}
			state = "VIOLATED: " + strings.Join(what, ", ")
		}
		if g.Reversed {
			state += " (reversed: failed over and reprotected; failback is next)"
		}
		fmt.Fprintf(tw, "%s\t%s → %s\t%s\t%s\t%s\t%s\t%d\t%d/%d healthy\t%d\t%s\n", g.Name, g.Site, g.RecoverySite, g.Method,
			report.FormatSeconds(g.RPOSeconds), point, age, len(g.VMs), healthy, len(g.VMs), len(g.Unprotected), state)
	}
	tw.Flush()
	fmt.Fprintln(w)
	if d := doc.LastDrill; d != nil {
		fmt.Fprintf(w, "Last drill: %s, %s, %s ago", d.RunID, strings.ToUpper(d.Result), ago(doc.Checked.Sub(d.Start)))
		if d.Target != "" {
			fmt.Fprintf(w, " (%s)", d.Target)
		}
		fmt.Fprintln(w, ".")
		if d.Result != "passed" && d.LastPassedRunID != "" {
			fmt.Fprintf(w, "Last passed drill: %s, %s ago.\n", d.LastPassedRunID, ago(doc.Checked.Sub(d.LastPassed)))
		}
		if d.Report != "" {
			fmt.Fprintf(w, "Its report: %s\n", d.Report)
		}
	} else {
		fmt.Fprintln(w, "No drill yet: drplan drill runs one.")
	}
	if len(doc.Violations) > 0 {
		fmt.Fprintf(w, "\nViolations:\n")
		for _, v := range doc.Violations {
			fmt.Fprintf(w, "  group %s: %s\n", v.Group, v.Message)
		}
	}
	if len(doc.Warnings) > 0 {
		fmt.Fprintf(w, "\nWarnings:\n")
		for _, v := range doc.Warnings {
			fmt.Fprintf(w, "  %s\n", v.Message)
		}
	}
	if doc.Healthy {
		fmt.Fprintf(w, "\nEvery group is within its RPO and the sites match the plan.\n")
	}
}
