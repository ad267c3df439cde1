package command

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/drplan/drplan/operations"
	"github.com/drplan/drplan/report"
)

// verifyRun reads the sites after a run that was not interrupted
// (operations.Compiled.Verify) and writes the checks of its result; nil
// for the modes that are not verified (a drill verifies itself).
func (c *cli) verifyRun(ctx context.Context, cp *operations.Compiled, canceled bool) []report.Check {
	checks := cp.Verify(ctx, canceled)
	if checks == nil {
		return nil
	}
	fmt.Fprintf(c.stdout, "Verification, read back from the sites:\n")
	writeChecks(c.stdout, checks, cp.Prog.Redact)
	return checks
}

// writeChecks lists checks, one a line.
func writeChecks(w io.Writer, checks []report.Check, redact func(string) string) {
	for _, ch := range checks {
		mark := "ok  "
		switch {
		case !ch.Passed:
			mark = "FAIL"
		case strings.HasPrefix(ch.Detail, operations.NotProven):
			mark = "??  "
		}
		fmt.Fprintf(w, "  %s %-28s %s\n", mark, ch.Name, redact(ch.Detail))
	}
}

// failedChecks names the checks that failed.
func failedChecks(checks []report.Check) []string {
	var out []string
	for _, ch := range checks {
		if !ch.Passed {
			out = append(out, ch.Name)
		}
	}
	return out
}
