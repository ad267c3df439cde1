package command

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/drplan/drplan/internal/history"
	"github.com/drplan/drplan/report"
)

// runJSON is one run in drplan runs -json.
type runJSON struct {
	RunID            string    `json:"run_id"`
	Plan             string    `json:"plan"`
	Modes            []string  `json:"modes"`
	Target           string    `json:"target"`
	Result           string    `json:"result"`
	Start            time.Time `json:"start"`
	RTOSeconds       *float64  `json:"rto_seconds"` // null without a report
	RTOTargetSeconds float64   `json:"rto_target_seconds,omitempty"`
	RTOMet           *bool     `json:"rto_met"`
	Report           string    `json:"report,omitempty"` // the HTML report's path
	// Error says why the journal of a damaged run cannot be read.
	Error string `json:"error,omitempty"`
}

func runRuns(c *cli, args []string) int {
	f := c.newFlags("runs", "[-json] [-state-dir DIR] [DIR]",
		"Lists the runs kept for the plan in DIR (or -state-dir, or DRPLAN_HOME),\noldest first: their modes, target, result, achieved RTO against the\ntarget, and when they started. drplan report RUN_ID renders one.")
	state := f.String("state-dir", "", "where runs are kept (default DIR/.drplan)")
	f.BoolVar(&f.json, "json", false, "print the runs as one JSON document")
	pos, code, ok := c.parse(f, args, 1)
	if !ok {
		return code
	}
	if len(pos) == 1 {
		// A plan directory that is not there is a mistake, not a plan
		// without runs.
		if st, err := os.Stat(pos[0]); err != nil || !st.IsDir() {
			what := "does not exist"
			if err == nil {
				what = "is not a directory"
			}
			fmt.Fprintf(c.stderr, "drplan runs: plan directory %s %s.\n", pos[0], what)
			return ExitError
		}
	}
	stateDir := c.stateDir(*state, planDir(pos))
	runs, err := history.List(stateDir)
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan runs: cannot read %s: %v\n", history.RunsDir(stateDir), err)
		return ExitError
	}
	if f.json {
		doc := struct {
			StateDir string    `json:"state_dir"`
			Runs     []runJSON `json:"runs"`
		}{StateDir: stateDir, Runs: []runJSON{}}
		for _, r := range runs {
			rj := runJSON{RunID: r.ID, Plan: r.Plan, Modes: r.Modes, Target: r.Target(), Result: r.Result, Start: r.Start.UTC()}
			if rep := r.Report; rep != nil {
				rj.RTOSeconds, rj.RTOTargetSeconds, rj.RTOMet = &rep.RTO.AchievedSeconds, rep.RTO.TargetSeconds, &rep.RTO.Met
			}
			if html := filepath.Join(r.Dir, report.HTML.File()); fileExists(html) {
				rj.Report = html
			}
			if r.Err != nil {
				rj.Error = r.Err.Error()
			}
			doc.Runs = append(doc.Runs, rj)
		}
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(doc)
		return ExitOK
	}
	if len(runs) == 0 {
		fmt.Fprintf(c.stdout, "No runs yet in %s.\n", history.RunsDir(stateDir))
		return ExitOK
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tPLAN\tMODES\tTARGET\tRESULT\tRTO (TARGET)\tSTARTED")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Plan, strings.Join(r.Modes, "+"), dash(r.Target()), r.Result, rtoText(r.Report),
			r.Start.Local().Format("2006-01-02 15:04:05"))
	}
	tw.Flush()
	for _, r := range runs {
		if r.Err != nil {
			fmt.Fprintf(c.stderr, "Warning: run %s: %v\n", r.ID, r.Err)
		}
	}
	return ExitOK
}

// rtoText is a run's achieved RTO and its target: "4m43s (10m)".
func rtoText(rep *report.Report) string {
	if rep == nil || rep.RTO.AchievedSeconds == 0 {
		return "-"
	}
	s := report.FormatSeconds(rep.RTO.AchievedSeconds)
	if rep.RTO.TargetSeconds > 0 {
		s += " (" + report.FormatSeconds(rep.RTO.TargetSeconds) + ")"
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}
