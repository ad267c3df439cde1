package operations

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/hashicorp/hcl/v2"

	"github.com/drplan/drplan/compiler"
	"github.com/drplan/drplan/internal/fsutil"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/report"
	"github.com/drplan/drplan/rundir"
)

// PlanOwner is the owner the plan's drplan block names, for its reports.
func PlanOwner(p *plans.Plan) string {
	if p.Meta == nil {
		return ""
	}
	return p.Meta.Owner
}

// PlanFindings splits the warnings of a compilation into what a report
// shows: every warning, and those that are drift.
func PlanFindings(diags hcl.Diagnostics) (warnings, drift []string) {
	for _, d := range diags {
		if d.Severity != hcl.DiagWarning {
			continue
		}
		w := d.Summary + ": " + d.Detail
		warnings = append(warnings, w)
		if compiler.IsDrift(d) {
			drift = append(drift, w)
		}
	}
	return warnings, drift
}

// RunReport builds the report of the run in runDir from its journal and
// the programs it ran. The run's earlier report, if any, gives what a
// journal does not hold: a drill's checks, what plan warned about, the
// target and the owner; in says what this invocation adds to them.
func RunReport(runDir string, in report.Input) (*report.Report, error) {
	// A torn end is left out; damage inside the journal is an error, not
	// a report of the records before it.
	events, err := rundir.ReadJournal(runDir)
	if err == nil && len(events) == 0 {
		err = errors.New("the journal is empty")
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the run's journal: %v", err)
	}
	in.Events, in.Programs = events, rundir.Programs(runDir, events)
	if len(in.Programs) == 0 {
		return nil, fmt.Errorf("%s holds no program that the journal ran", runDir)
	}
	if prev, err := report.ReadFile(filepath.Join(runDir, report.JSON.File())); err == nil {
		if in.Target == "" {
			in.Target = prev.Target
		}
		if in.Owner == "" {
			in.Owner = prev.Owner
		}
		if in.Seed == 0 {
			in.Seed = prev.Seed
		}
		for _, ch := range prev.Checks {
			if !slices.ContainsFunc(in.Checks, func(c report.Check) bool { return c.Name == ch.Name }) {
				in.Checks = append(in.Checks, ch)
			}
		}
		in.Warnings = union(prev.Warnings, in.Warnings)
		in.Drift = union(prev.Drift, in.Drift)
	}
	if in.Target == "" {
		// A run whose process died before its report: the run record
		// says where it ran.
		if rec, err := rundir.ReadRecord(runDir); err == nil {
			in.Target = rec.Target
		}
	}
	rep := report.Build(in)
	rep.RunID = filepath.Base(runDir)
	return rep, nil
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// WriteReports scrubs the report of sensitive values and writes it into
// the run's folder in every format. It returns the HTML report's path.
func WriteReports(runDir string, rep *report.Report, redact func(string) string) (string, error) {
	rep.Scrub(redact)
	var errs []error
	for _, f := range report.Formats {
		var buf bytes.Buffer
		err := rep.Write(&buf, f)
		if err == nil {
			err = fsutil.WriteFile(filepath.Join(runDir, f.File()), buf.Bytes(), 0o644)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", f.File(), err))
		}
	}
	return filepath.Join(runDir, report.HTML.File()), errors.Join(errs...)
}
