package plans

import (
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// sensitive is the cty mark carried by sensitive values and everything
// computed from them.
type sensitiveMark struct{}

var sensitive = sensitiveMark{}

// secretSet collects the string forms of every sensitive value a plan
// holds, so that any text leaving the program can be scrubbed of them.
type secretSet map[string]struct{}

// addValue records every string leaf of a sensitive value.
func (s secretSet) addValue(v cty.Value) {
	v, _ = v.UnmarkDeep()
	if v.IsNull() || !v.IsKnown() {
		return
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		s.add(v.AsString())
	case ty == cty.Number || ty == cty.Bool:
		// Too short and too common to scrub from text safely.
	case ty.IsCollectionType() || ty.IsObjectType() || ty.IsTupleType():
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			s.addValue(e)
		}
	}
}

func (s secretSet) add(str string) {
	if len(str) >= 3 { // shorter strings would scrub ordinary words
		s[str] = struct{}{}
	}
}

// redact replaces every secret in text, longest first.
func (s secretSet) redact(text string) string {
	if len(s) == 0 {
		return text
	}
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return len(b) - len(a) })
	for _, k := range keys {
		text = strings.ReplaceAll(text, k, Redacted)
	}
	return text
}

// Redact replaces every sensitive value of the plan found in text with
// "(sensitive)". Every output path (diagnostics, logs, journals, reports)
// passes text through it.
func (p *Plan) Redact(text string) string { return p.secrets.redact(text) }

// LongestSecret is the length in bytes of the plan's longest sensitive
// value, 0 when it has none.
func (p *Plan) LongestSecret() int {
	n := 0
	for k := range p.secrets {
		n = max(n, len(k))
	}
	return n
}

// IsSensitive reports whether s is, or contains, a sensitive value.
func (p *Plan) IsSensitive(s string) bool { return p.secrets.redact(s) != s }

// redactDiagnostics scrubs secrets from every diagnostic's text and drops
// the evaluation context, through which a renderer could reach values.
func (s secretSet) redactDiagnostics(diags hcl.Diagnostics) {
	for _, d := range diags {
		d.Summary = s.redact(d.Summary)
		d.Detail = s.redact(d.Detail)
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
