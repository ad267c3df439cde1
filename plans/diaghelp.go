package plans

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/drplan/drplan/addrs"
)

// content decodes body with schema, as body.Content does, adding to
// hcl's unknown-argument and unknown-block diagnostics the suggestion
// they lack ("Did you mean …?"), with the closest name the schema has.
func (l *loader) content(body hcl.Body, schema *hcl.BodySchema) (*hcl.BodyContent, hcl.Diagnostics) {
	c, diags := body.Content(schema)
	var names []string
	for _, a := range schema.Attributes {
		names = append(names, a.Name)
	}
	for _, b := range schema.Blocks {
		names = append(names, b.Type)
	}
	for _, d := range diags {
		suggestName(d, names)
	}
	return c, diags
}

// unknownNameRE finds the name an unknown-argument or unknown-block
// diagnostic of hcl is about.
var unknownNameRE = regexp.MustCompile(`(?:named|of type) "([^"]+)"`)

// suggestName adds "Did you mean …?" to an hcl diagnostic about an
// unknown argument or block type that has none.
func suggestName(d *hcl.Diagnostic, names []string) {
	switch d.Summary {
	case "Unsupported argument", "Unsupported block type", "Extraneous JSON object property", "Unexpected block":
	default:
		return
	}
	if strings.Contains(d.Detail, "Did you mean") {
		return
	}
	m := unknownNameRE.FindStringSubmatch(d.Detail)
	if m == nil {
		return
	}
	if s := suggest(m[1], names); s != "" && s != m[1] {
		d.Detail = strings.TrimSuffix(strings.TrimSpace(d.Detail), ".") + fmt.Sprintf(". Did you mean %q?", s)
	}
}

// dedupeDiagnostics drops diagnostics equal to an earlier one: hcl's JSON
// parser reports problems of a root array once per look at the body.
func dedupeDiagnostics(diags hcl.Diagnostics) hcl.Diagnostics {
	type key struct {
		sev             hcl.DiagnosticSeverity
		summary, detail string
		rng             hcl.Range
	}
	seen := map[key]bool{}
	out := diags[:0]
	for _, d := range diags {
		k := key{sev: d.Severity, summary: d.Summary, detail: d.Detail}
		if d.Subject != nil {
			k.rng = *d.Subject
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, d)
	}
	return out
}

// remember keeps the attributes a block of obj was decoded from, so that
// checks across blocks can report at an attribute rather than the block.
func (l *loader) remember(obj any, a attrs) {
	if l.blockAttrs == nil {
		l.blockAttrs = map[any]attrs{}
	}
	l.blockAttrs[obj] = a
}

// attrRange is the range of attribute name of the block obj was decoded
// from, or else.
func (l *loader) attrRange(obj any, name string, or hcl.Range) hcl.Range {
	if a, ok := l.blockAttrs[obj]; ok && a.has(name) {
		return a.rng(name)
	}
	return or
}

// elemRange is the range of element i of list attribute name of the
// block obj was decoded from, when the list is written out element by
// element with n elements; else the attribute's range, or else.
func (l *loader) elemRange(obj any, name string, i, n int, or hcl.Range) hcl.Range {
	a, ok := l.blockAttrs[obj]
	if !ok || !a.has(name) {
		return or
	}
	return a.elem(name, i, n)
}

// elem is the range of element i of a list attribute written out with n
// elements, or the attribute's range.
func (a attrs) elem(name string, i, n int) hcl.Range {
	at := a.m[name]
	if at == nil {
		return hcl.Range{}
	}
	exprs, diags := hcl.ExprList(at.Expr)
	if diags.HasErrors() || len(exprs) != n || i < 0 || i >= n {
		return at.Expr.Range()
	}
	return exprs[i].Range()
}

// isJSON reports whether rng lies in a file of HCL's JSON syntax.
func isJSON(rng hcl.Range) bool { return strings.HasSuffix(rng.Filename, ".json") }

// jsonTemplateRef reads a reference that a JSON file writes as a
// template holding only the reference, "${site.east}".
func (l *loader) jsonTemplateRef(e hcl.Expression) (hcl.Traversal, bool) {
	r := e.Range()
	if !isJSON(r) {
		return nil, false
	}
	src := l.parser.Sources()[r.Filename]
	if r.Start.Byte < 0 || r.End.Byte > len(src) || r.Start.Byte >= r.End.Byte {
		return nil, false
	}
	var s string
	if json.Unmarshal(src[r.Start.Byte:r.End.Byte], &s) != nil {
		return nil, false
	}
	inner, ok := strings.CutPrefix(s, "${")
	inner, ok2 := strings.CutSuffix(inner, "}")
	if !ok || !ok2 || strings.Contains(inner, "${") {
		return nil, false
	}
	start := hcl.Pos{Line: r.Start.Line, Column: r.Start.Column + 3, Byte: r.Start.Byte + 3}
	t, diags := hclsyntax.ParseTraversalAbs([]byte(strings.TrimSpace(inner)), r.Filename, start)
	if diags.HasErrors() {
		return nil, false
	}
	return t, true
}

// refHint says how to write the reference that e, a string or another
// expression where a reference belongs, probably means: without quotes
// in native syntax, as a "${…}" template in JSON.
func (l *loader) refHint(e hcl.Expression, kinds []addrs.Kind, sc *scope) string {
	meant := ""
	if v, diags := e.Value(nil); !diags.HasErrors() && v.IsKnown() && !v.IsNull() && v.Type() == cty.String {
		meant = l.meantRef(strings.TrimSpace(v.AsString()), kinds, sc)
	}
	return l.refAdvice(e.Range(), meant, kinds, true)
}

// refAdvice says how to write the reference meant (or, when meant is
// "", a reference of kinds) in the syntax of the file of rng.
func (l *loader) refAdvice(rng hcl.Range, meant string, kinds []addrs.Kind, quoted bool) string {
	if isJSON(rng) {
		ex := meant
		if ex == "" {
			ex = refExample(kinds[:1])
		}
		return fmt.Sprintf("In a .drplan.json file a reference is a string holding a template with only the reference: write \"${%s}\".", ex)
	}
	if meant != "" && !quoted {
		return fmt.Sprintf("Did you mean %s?", meant)
	}
	if meant != "" {
		return fmt.Sprintf("Did you mean %s? Write the reference without quotes.", meant)
	}
	return fmt.Sprintf("Write the reference without quotes, such as %s.", refExample(kinds))
}

// meantRef guesses the reference a string means: the string itself when
// it is one ("site.east"), or the object of kinds that a bare name names
// ("east"), the closest one, or else the name with the first kind.
func (l *loader) meantRef(s string, kinds []addrs.Kind, sc *scope) string {
	if s == "" {
		return ""
	}
	if t, diags := hclsyntax.ParseTraversalAbs([]byte(s), "", hcl.Pos{Line: 1, Column: 1}); !diags.HasErrors() {
		if ref, rest, ok := addrs.RefFromTraversal(t); ok && slices.Contains(kinds, ref.Kind) {
			if len(rest) == 0 {
				return ref.String()
			}
			return s
		}
	}
	if !hclIdentifier(s) {
		return ""
	}
	for _, k := range kinds {
		if _, ok := l.names(k, sc)[s]; ok {
			return addrs.Ref{Kind: k, Name: s}.String()
		}
	}
	for _, k := range kinds {
		if c := suggest(s, keys(l.names(k, sc))); c != "" {
			return addrs.Ref{Kind: k, Name: c}.String()
		}
	}
	return addrs.Ref{Kind: kinds[0], Name: s}.String()
}

// quotedRefHint is, for an expression that is a string holding a
// reference ("protection_group.web.vms"), advice to write it as one.
func (l *loader) quotedRefHint(e hcl.Expression) string {
	v, diags := e.Value(nil)
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
		return ""
	}
	s := strings.TrimSpace(v.AsString())
	t, diags := hclsyntax.ParseTraversalAbs([]byte(s), "", hcl.Pos{Line: 1, Column: 1})
	if diags.HasErrors() || len(t) < 2 || !slices.Contains(referable, addrs.Kind(t.RootName())) {
		return ""
	}
	if isJSON(e.Range()) {
		return fmt.Sprintf(" The string %q is not evaluated: in a .drplan.json file write the template \"${%s}\".", s, s)
	}
	return fmt.Sprintf(" The string %q is not evaluated: write the reference without quotes, %s.", s, s)
}

// name decodes a string attribute that names something (a datacenter, a
// port group, a VM): an empty name is an error at the attribute.
func (a attrs) name(name string, dst *string) bool {
	var s string
	if !a.str(name, &s) {
		return false
	}
	if strings.TrimSpace(s) == "" {
		a.l.errorf(a.rng(name), "Empty name", "%s is empty; it must name something. Give the name, or remove the attribute where it is optional.", name)
		return false
	}
	*dst = s
	return true
}
