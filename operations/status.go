package operations

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/drplan/drplan/compiler"
	"github.com/drplan/drplan/internal/history"
	"github.com/drplan/drplan/internal/units"
	"github.com/drplan/drplan/internal/words"
	"github.com/drplan/drplan/report"
)

// StatusDoc is drplan status's result, and its -json form.
type StatusDoc struct {
	Plan      string        `json:"plan"`
	Target    string        `json:"target"` // sim or live
	Checked   time.Time     `json:"checked"`
	Healthy   bool          `json:"healthy"`
	Groups    []GroupStatus `json:"groups"`
	LastDrill *DrillStatus  `json:"last_drill"`
	// DrillIntervalSeconds is the plan's drill_interval, 0 without one.
	DrillIntervalSeconds float64         `json:"drill_interval_seconds,omitempty"`
	Violations           []StatusFinding `json:"violations"`
	Warnings             []StatusFinding `json:"warnings"`
}

type GroupStatus struct {
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
	Replicas    []ReplicaStatus `json:"replicas"`
	Healthy     bool            `json:"healthy"`
}

type ReplicaStatus struct {
	VM         string    `json:"vm"`
	Latest     time.Time `json:"latest_point"`
	AgeSeconds float64   `json:"age_seconds"`
	Points     int       `json:"points,omitempty"`
	Continuous bool      `json:"continuous,omitempty"`
	Healthy    bool      `json:"healthy"` // within the RPO
}

type DrillStatus struct {
	RunID           string    `json:"run_id"`
	Target          string    `json:"target,omitempty"`
	Result          string    `json:"result"`
	Start           time.Time `json:"start"`
	Report          string    `json:"report,omitempty"`
	LastPassedRunID string    `json:"last_passed_run_id,omitempty"`
	LastPassed      time.Time `json:"last_passed,omitzero"`
}

// StatusFinding is a violation or a warning; Kind is rpo, drift or
// unreachable (violations), drill (warnings).
type StatusFinding struct {
	Group   string `json:"group,omitempty"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// Status judges the groups' state as the inventory checks do
// (compiler.Protection) and finds the plan's last drill.
func Status(cp *Compiled, runs []*history.Run, now time.Time) *StatusDoc {
	doc := &StatusDoc{Plan: cp.Plan.Name, Target: cp.Target.Kind, Checked: cp.Snap.Taken.UTC(),
		Groups: []GroupStatus{}, Violations: []StatusFinding{}, Warnings: []StatusFinding{}}
	violate := func(group, kind, format string, args ...any) {
		doc.Violations = append(doc.Violations, StatusFinding{Group: group, Kind: kind, Message: fmt.Sprintf(format, args...)})
	}
	for _, g := range compiler.Protection(cp.Plan, cp.Snap, compiler.Options{}) {
		gs := GroupStatus{Name: g.Group, Site: g.Site, RecoverySite: g.RecoverySite, Reversed: g.Reversed, Method: g.Method, RPOSeconds: g.RPO.Seconds(),
			RPOMet: !g.Stale() && !g.Point.IsZero(), VMs: nonNil(g.VMs), Unprotected: nonNil(g.Unprotected), NotFound: nonNil(g.NotFound),
			NoReplica: nonNil(g.NoReplica), LostDisks: nonNil(g.LostDisks), Replicas: []ReplicaStatus{}}
		if !g.Point.IsZero() {
			p, age := g.Point.UTC(), g.Age.Seconds()
			gs.Point, gs.AgeSeconds = &p, &age
		}
		for _, r := range g.Replicas {
			gs.Replicas = append(gs.Replicas, ReplicaStatus{VM: r.VM, Latest: r.Latest.UTC(), AgeSeconds: r.Age.Seconds(), Points: r.Points,
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

	last, passed := history.LastDrill(runs, cp.Plan.Name)
	if last != nil {
		d := &DrillStatus{RunID: last.ID, Target: last.Target(), Result: last.Result, Start: last.Start.UTC()}
		if html := filepath.Join(last.Dir, report.HTML.File()); fileExists(html) {
			d.Report = html
		}
		if passed != nil {
			d.LastPassedRunID, d.LastPassed = passed.ID, passed.Start.UTC()
		}
		doc.LastDrill = d
		if last.Result != "passed" {
			doc.Warnings = append(doc.Warnings, StatusFinding{Kind: "drill", Message: fmt.Sprintf("the last drill, %s, %s", last.ID, last.Result)})
		}
	}
	if m := cp.Plan.Meta; m != nil && m.DrillInterval > 0 {
		doc.DrillIntervalSeconds = m.DrillInterval.Seconds()
		interval := units.FormatDuration(m.DrillInterval)
		switch {
		case passed == nil:
			doc.Warnings = append(doc.Warnings, StatusFinding{Kind: "drill", Message: fmt.Sprintf("no drill of the plan has passed yet; drill_interval asks for one every %s: run drplan drill", interval)})
		case now.Sub(passed.Start) > m.DrillInterval:
			doc.Warnings = append(doc.Warnings, StatusFinding{Kind: "drill", Message: fmt.Sprintf("the last passed drill, %s, is %s old, older than the drill_interval of %s: the plan is overdue for a drill",
				passed.ID, Ago(now.Sub(passed.Start)), interval)})
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

// Ago renders a wall-clock age to the minute (to the second under one).
func Ago(d time.Duration) string {
	if d >= time.Minute {
		d = d.Round(time.Minute)
	} else {
		d = d.Round(time.Second)
	}
	return units.FormatDuration(d)
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}
