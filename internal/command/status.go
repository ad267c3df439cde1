package command

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/drplan/drplan/internal/diagview"
	"github.com/drplan/drplan/internal/history"
	"github.com/drplan/drplan/operations"
	"github.com/drplan/drplan/report"
)

// ExitViolation is drplan status's code when a group misses its RPO or
// the sites drifted from the plan: what monitoring alerts on.
const ExitViolation = 2

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
	defer cp.Target.Close()
	if !f.json {
		// Unreachable sites and the like: the status says what they mean.
		diagview.Text{Files: cp.Plan.Files, Color: c.color(c.stderr, f.noColor), Redact: cp.Plan.Redact}.Write(c.stderr, cp.Diags)
	}
	runs, err := history.List(c.stateDir(*state, dir))
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan status: cannot read the past runs: %v\n", err)
	}
	doc := operations.Status(cp, runs, time.Now())
	b, err := statusViews[*format](doc)
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan status: cannot encode the metrics: %v\n", err) // only openmetrics fails
		return ExitError
	}
	if *out == "" {
		*out = "-"
	}
	if err := c.writeOutput(*out, b, 0o644); err != nil {
		fmt.Fprintf(c.stderr, "drplan status: %v\n", err) // the error names the file
		return ExitError
	}
	if !doc.Healthy {
		return ExitViolation
	}
	return ExitOK
}

// statusViews render drplan status's result by -format: for people
// (text), as one JSON document (json, also -json), or as a Prometheus
// textfile (openmetrics, status_metrics.go).
var statusViews = map[string]func(*operations.StatusDoc) ([]byte, error){
	"text": func(doc *operations.StatusDoc) ([]byte, error) {
		var buf bytes.Buffer
		writeStatus(&buf, doc)
		return buf.Bytes(), nil
	},
	"json": func(doc *operations.StatusDoc) ([]byte, error) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		enc.Encode(doc)
		return buf.Bytes(), nil
	},
	"openmetrics": writeStatusMetrics,
}

// writeStatus shows the status for people.
func writeStatus(w io.Writer, doc *operations.StatusDoc) {
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
		fmt.Fprintf(w, "Last drill: %s, %s, %s ago", d.RunID, strings.ToUpper(d.Result), operations.Ago(doc.Checked.Sub(d.Start)))
		if d.Target != "" {
			fmt.Fprintf(w, " (%s)", d.Target)
		}
		fmt.Fprintln(w, ".")
		if d.Result != "passed" && d.LastPassedRunID != "" {
			fmt.Fprintf(w, "Last passed drill: %s, %s ago.\n", d.LastPassedRunID, operations.Ago(doc.Checked.Sub(d.LastPassed)))
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
