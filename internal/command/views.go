package command

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/drplan/drplan/internal/diagview"
	"github.com/drplan/drplan/plans"
)

// ValidateView shows the result of validate.
type ValidateView interface {
	// Validated shows the diagnostics and returns the exit code.
	Validated(plan *plans.Plan, diags hcl.Diagnostics) int
}

func (c *cli) validateView(f *flags) ValidateView {
	if f.json {
		return validateJSON{c}
	}
	return validateHuman{c, c.color(c.stderr, f.noColor)}
}

type validateHuman struct {
	c     *cli
	color bool
}

func (v validateHuman) Validated(plan *plans.Plan, diags hcl.Diagnostics) int {
	c := v.c
	diagview.Text{Files: plan.Files, Color: v.color, Redact: plan.Redact}.Write(c.stderr, diags)
	errs, warns := count(diags)
	if errs > 0 {
		fmt.Fprintf(c.stderr, "\nThe plan is not valid: %s, %s.\n", n(errs, "error"), n(warns, "warning"))
		return ExitError
	}
	msg := "Success! The plan is valid."
	if v.color {
		msg = "\x1b[32m\x1b[1mSuccess!\x1b[0m The plan is valid."
	}
	if warns > 0 {
		msg += fmt.Sprintf(" (%s)", n(warns, "warning"))
	}
	fmt.Fprintln(c.stdout, msg)
	return ExitOK
}

type validateJSON struct{ c *cli }

func (v validateJSON) Validated(plan *plans.Plan, diags hcl.Diagnostics) int {
	doc := diagview.NewDocument(plan.Files, diags, plan.Redact)
	diagview.WriteJSON(v.c.stdout, doc)
	if !doc.Valid {
		return ExitError
	}
	return ExitOK
}

func count(diags hcl.Diagnostics) (errs, warns int) {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errs++
		} else {
			warns++
		}
	}
	return errs, warns
}

// n renders a count with its noun: "1 error", "2 warnings".
func n(k int, noun string) string {
	if k == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", k, noun)
}
