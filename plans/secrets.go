package plans

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/drplan/drplan/internal/redact"
)

// sensitive is the cty mark carried by sensitive values and everything
// computed from them.
type sensitiveMark struct{}

var sensitive = sensitiveMark{}

// addSecretValue records in set every string leaf of a sensitive value.
func addSecretValue(set *redact.Set, v cty.Value) {
	v, _ = v.UnmarkDeep()
	if v.IsNull() || !v.IsKnown() {
		return
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		set.Add(v.AsString())
	case ty == cty.Number || ty == cty.Bool:
		// Too short and too common to scrub from text safely.
	case ty.IsCollectionType() || ty.IsObjectType() || ty.IsTupleType():
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			addSecretValue(set, e)
		}
	}
}

// Secrets is the plan's sensitive values: every sensitive variable's
// value, everything computed from one, and every password. The compiler
// hands it to the programs it compiles from the plan, so that a run's
// writers hide the same values the plan's diagnostics do.
func (p *Plan) Secrets() *redact.Set { return p.secrets }

// Redact replaces every sensitive value of the plan found in text with
// redact.Mask (p.Secrets().Redact).
func (p *Plan) Redact(text string) string { return p.secrets.Redact(text) }

// LongestSecret is the length in bytes of the plan's longest sensitive
// value, 0 when it has none.
func (p *Plan) LongestSecret() int { return p.secrets.LongestSecret() }

// IsSensitive reports whether s is, or contains, a sensitive value.
func (p *Plan) IsSensitive(s string) bool { return p.secrets.Hides(s) }

// redactDiagnostics scrubs secrets from every diagnostic's text and drops
// the evaluation context, through which a renderer could reach values.
func redactDiagnostics(set *redact.Set, diags hcl.Diagnostics) {
	for _, d := range diags {
		d.Summary = set.Redact(d.Summary)
		d.Detail = set.Redact(d.Detail)
		d.EvalContext = nil
	}
}

// unmark returns v without marks, and whether it or anything inside it
// was sensitive. Only sensitive variables bring marks into a plan, so a
// plan without any skips the deep walk.
func (l *loader) unmark(v cty.Value) (cty.Value, bool) {
	if !l.marks {
		return v, false
	}
	v, pvm := v.UnmarkDeepWithPaths()
	for _, pm := range pvm {
		if _, ok := pm.Marks[sensitive]; ok {
			return v, true
		}
	}
	return v, false
}
