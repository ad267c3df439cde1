package command

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/drplan/drplan/internal/history"
	"github.com/drplan/drplan/operations"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/report"
)

func runReportVerb(c *cli, args []string) int {
	f := c.newFlags("report", "[-format html|md|json|junit] [-o FILE] [-state-dir DIR] RUN_ID [DIR]",
		"Renders the report of a finished or interrupted run. RUN_ID is a run id\n(drplan runs lists them), latest, or the path of a run's folder. Without\n-format and -o it writes every format into the run's folder again;\nwith -format it prints that format, or writes it to -o FILE (whose\nextension gives the format when -format is not given). A run whose\nprocess died before it wrote its report is reported from its journal.\nThe run id may also come first: drplan report RUN_ID -format md.")
	f.planFlags()
	format := f.String("format", "", "render as `FORMAT`: html, md, json or junit")
	out := f.String("o", "", "write to `FILE` instead of standard output")
	state := f.String("state-dir", "", "where runs are kept (default DIR/.drplan)")
	pos, code, ok := c.parse(f, runIDFirst(f, args), 2)
	if !ok {
		return code
	}
	if len(pos) == 0 {
		fmt.Fprintln(c.stderr, "drplan report: give the id of a run (drplan runs lists them), or latest.")
		return ExitError
	}
	var fmtWanted report.Format
	switch {
	case *format != "":
		var err error
		if fmtWanted, err = report.ParseFormat(*format); err != nil {
			fmt.Fprintf(c.stderr, "drplan report: -format %v\n", err)
			return ExitError
		}
	case *out != "":
		var known bool
		if fmtWanted, known = report.FormatOf(*out); !known {
			fmt.Fprintf(c.stderr, "drplan report: cannot tell the format of %s from its extension; give -format html, md, json or junit.\n", *out)
			return ExitError
		}
	}
	dir := planDir(pos[1:])
	runDir, err := operations.FindRun(pos[0], c.stateDir(*state, dir), dir)
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan report: %v\n", err)
		return ExitError
	}
	run := history.Read(runDir)
	if run == nil {
		fmt.Fprintf(c.stderr, "drplan report: %s has no journal, so there is no run to report.\n", runDir)
		return ExitError
	}
	rep := run.Report
	if rep == nil {
		if rep, err = operations.RunReport(runDir, report.Input{}); err != nil {
			fmt.Fprintf(c.stderr, "drplan report: %v\n", err)
			return ExitError
		}
	}
	// What a run writes is scrubbed already; scrub again with the plan's
	// sensitive values when the plan loads, in case of a report written
	// by hand or by an older drplan.
	redact := func(s string) string { return s }
	if files, _ := plans.PlanFiles(dir); len(files) > 0 {
		if plan, diags := plans.Load(dir, plans.LoadOptions{Vars: f.vars, Environ: c.environ}); plan != nil && !diags.HasErrors() {
			redact = plan.Redact
		}
	}
	if fmtWanted == "" {
		html, err := operations.WriteReports(runDir, rep, redact)
		if err != nil {
			fmt.Fprintf(c.stderr, "drplan report: cannot write the reports: %v\n", err)
			return ExitError
		}
		fmt.Fprintf(c.stdout, "Run %s: %s. Reports in %s:\n", rep.RunID, strings.ToUpper(rep.Result), runDir)
		for _, ff := range report.Formats {
			fmt.Fprintf(c.stdout, "  %s\n", ff.File())
		}
		fmt.Fprintf(c.stdout, "Open %s in a browser.\n", html)
		return ExitOK
	}
	rep.Scrub(redact)
	var buf bytes.Buffer
	if err := rep.Write(&buf, fmtWanted); err != nil {
		fmt.Fprintf(c.stderr, "drplan report: %v\n", err)
		return ExitError
	}
	if *out == "" {
		c.stdout.Write(buf.Bytes())
		return ExitOK
	}
	if err := c.writeOutput(*out, buf.Bytes(), 0o644); err != nil {
		fmt.Fprintf(c.stderr, "drplan report: %v\n", err)
		return ExitError
	}
	return ExitOK
}

// runIDFirst lets the run id come before the flags, as the synopsis of
// drplan report writes it (drplan report RUN_ID -format md): it moves a
// leading run id behind the flags that follow it, before the directory.
func runIDFirst(f *flags, args []string) []string {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return args
	}
	var opts, rest []string
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			rest = args[i:]
			break
		}
		opts = append(opts, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if fl := f.Lookup(name); fl != nil && i+1 < len(args) {
			if b, ok := fl.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
				i++
				opts = append(opts, args[i]) // the flag's value
			}
		}
	}
	return append(append(opts, args[0]), rest...)
}
