package plans

import (
	"fmt"
	"math/big"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/drplan/drplan/addrs"
	"github.com/drplan/drplan/internal/units"
)

// attrs decodes the attributes of one block into Go values, reporting
// every problem at the attribute's expression. Each method leaves dst
// unchanged and returns false when the attribute is absent or unusable.
type attrs struct {
	l  *loader
	sc *scope
	m  hcl.Attributes
}

func (l *loader) attrs(content *hcl.BodyContent, sc *scope) attrs {
	return attrs{l: l, sc: sc, m: content.Attributes}
}

// has reports whether the attribute is set.
func (a attrs) has(name string) bool { return a.m[name] != nil }

// rng returns the range of the attribute's expression, or the zero range.
func (a attrs) rng(name string) hcl.Range {
	if at := a.m[name]; at != nil {
		return at.Expr.Range()
	}
	return hcl.Range{}
}

func (a attrs) value(name string, ty cty.Type) (cty.Value, bool) {
	at := a.m[name]
	if at == nil {
		return cty.NilVal, false
	}
	return a.l.evalAs(at.Expr, a.sc, ty, fmt.Sprintf("attribute %q", name))
}

func (a attrs) str(name string, dst *string) bool {
	v, ok := a.value(name, cty.String)
	if ok {
		*dst = v.AsString()
	}
	return ok
}

func (a attrs) boolean(name string, dst *bool) bool {
	v, ok := a.value(name, cty.Bool)
	if ok {
		*dst = v.True()
	}
	return ok
}

func (a attrs) number(name string, dst *float64) bool {
	v, ok := a.value(name, cty.Number)
	if ok {
		*dst, _ = v.AsBigFloat().Float64()
	}
	return ok
}

// integer decodes a whole number within [lo, hi].
func (a attrs) integer(name string, dst *int, lo, hi int) bool {
	v, ok := a.value(name, cty.Number)
	if !ok {
		return false
	}
	n, acc := v.AsBigFloat().Int64()
	if acc != big.Exact || n < int64(lo) || n > int64(hi) {
		a.l.errorf(a.rng(name), "Invalid "+strings.ReplaceAll(name, "_", " "), "%s must be a whole number from %d to %d.", name, lo, hi)
		return false
	}
	*dst = int(n)
	return true
}

func (a attrs) strings(name string, dst *[]string) bool {
	at := a.m[name]
	if at == nil {
		return false
	}
	v, ok := a.l.eval(at.Expr, a.sc)
	if !ok {
		return false
	}
	v, _ = a.l.unmark(v)
	list, err := toStrings(v)
	if err != nil {
		a.l.errorf(at.Expr.Range(), "Incorrect attribute value type", "Inappropriate value for attribute %q: %v.%s", name, err, a.l.quotedRefHint(at.Expr))
		return false
	}
	*dst = list
	return true
}

func (a attrs) strmap(name string, dst *map[string]string) bool {
	v, ok := a.value(name, cty.Map(cty.String))
	if !ok {
		return false
	}
	m := make(map[string]string, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if e.IsNull() {
			a.l.errorf(a.rng(name), "Incorrect attribute value type", "Inappropriate value for attribute %q: element %q is null.", name, k.AsString())
			return false
		}
		m[k.AsString()] = e.AsString()
	}
	*dst = m
	return true
}

// parsed decodes a string attribute with parse, reporting its error as
// "Invalid <what>" at the attribute.
func parsed[T any](a attrs, name, what string, parse func(string) (T, error), dst *T) bool {
	var s string
	if !a.str(name, &s) {
		return false
	}
	v, err := parse(s)
	if err != nil {
		a.l.errorf(a.rng(name), "Invalid "+what, "Attribute %q: %v.", name, strings.TrimSuffix(err.Error(), "."))
		return false
	}
	*dst = v
	return true
}

func (a attrs) duration(name string, dst *time.Duration) bool {
	return parsed(a, name, "duration", units.ParseDuration, dst)
}

func (a attrs) size(name string, dst *units.Size) bool {
	return parsed(a, name, "size", units.ParseSize, dst)
}

func (a attrs) rate(name string, dst *units.Rate) bool {
	return parsed(a, name, "rate", units.ParseRate, dst)
}

func (a attrs) prefix(name string, dst *netip.Prefix) bool {
	return parsed(a, name, "CIDR", parsePrefix, dst)
}

func (a attrs) addr(name string, dst *netip.Addr) bool {
	return parsed(a, name, "IP address", parseAddr, dst)
}

func (a attrs) addrs(name string, dst *[]netip.Addr) bool {
	var list []string
	if !a.strings(name, &list) {
		return false
	}
	out := make([]netip.Addr, 0, len(list))
	for _, s := range list {
		ip, err := parseAddr(s)
		if err != nil {
			a.l.errorf(a.rng(name), "Invalid IP address", "Attribute %q: %v.", name, err)
			return false
		}
		out = append(out, ip)
	}
	*dst = out
	return true
}

func parsePrefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, fmt.Errorf("%q is not a CIDR prefix; write an address and a prefix length, such as \"10.1.0.0/16\"", s)
	}
	return p, nil
}

func parseAddr(s string) (netip.Addr, error) {
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return ip, fmt.Errorf("%q is not an IP address, such as \"10.2.0.1\"", s)
	}
	return ip, nil
}

// enum decodes a string attribute that must be one of allowed.
func enum[T ~string](a attrs, name string, dst *T, allowed ...T) bool {
	var s string
	if !a.str(name, &s) {
		return false
	}
	if !slices.Contains(allowed, T(s)) {
		words := make([]string, len(allowed))
		for i, x := range allowed {
			words[i] = fmt.Sprintf("%q", x)
		}
		detail := fmt.Sprintf("%q is not a valid %s. Use one of %s.", s, name, strings.Join(words, ", "))
		if sug := suggest(s, words2(allowed)); sug != "" {
			detail += fmt.Sprintf(" Did you mean %q?", sug)
		}
		a.l.errorf(a.rng(name), "Invalid "+strings.ReplaceAll(name, "_", " "), "%s", detail)
		return false
	}
	*dst = T(s)
	return true
}

func words2[T ~string](list []T) []string {
	out := make([]string, len(list))
	for i, x := range list {
		out[i] = string(x)
	}
	return out
}

// secret decodes a password. A literal, or a value from a variable not
// marked sensitive, is a warning: it would end up in version control or
// in output.
func (a attrs) secret(name string, dst *Secret) bool {
	at := a.m[name]
	if at == nil {
		return false
	}
	v, ok := a.l.eval(at.Expr, a.sc)
	if !ok {
		return false
	}
	_, sens := a.l.unmark(v)
	s, ok := a.value(name, cty.String)
	if !ok {
		return false
	}
	switch {
	case len(at.Expr.Variables()) == 0:
		a.l.warnf(at.Expr.Range(), "Password given as a literal",
			"The %s is written into the plan, where version control and reviews will see it. Declare a variable with sensitive = true and use it here, for example %s = var.vc_password.", name, name)
	case !sens:
		a.l.warnf(at.Expr.Range(), "Password is not sensitive",
			"The %s comes from a value not marked sensitive, so drplan could print it. Add sensitive = true to the variable it comes from.", name)
	}
	// A password is a secret even when the plan forgot to say so.
	a.l.plan.secrets.Add(s.AsString())
	*dst = NewSecret(s.AsString())
	return true
}

// refs decodes a static list of references to objects of the given kinds,
// such as [tier.db, step.promote].
func (a attrs) refs(name string, kinds ...addrs.Kind) ([]addrs.Ref, bool) {
	at := a.m[name]
	if at == nil {
		return nil, false
	}
	exprs, diags := hcl.ExprList(at.Expr)
	if diags.HasErrors() {
		a.l.errorf(at.Expr.Range(), "Invalid reference list", "Attribute %q takes a list of references, such as [%s]; it cannot be computed by an expression.", name, refExample(kinds))
		return nil, false
	}
	var out []addrs.Ref
	ok := true
	for _, e := range exprs {
		r, good := a.refExpr(name, e, kinds)
		if good {
			out = append(out, r)
		}
		ok = ok && good
	}
	return out, ok
}

// ref decodes a single static reference.
func (a attrs) ref(name string, kind addrs.Kind) (string, bool) {
	at := a.m[name]
	if at == nil {
		return "", false
	}
	r, ok := a.refExpr(name, at.Expr, []addrs.Kind{kind})
	return r.Name, ok
}

func (a attrs) refExpr(name string, e hcl.Expression, kinds []addrs.Kind) (addrs.Ref, bool) {
	t, diags := hcl.AbsTraversalForExpr(e)
	if diags.HasErrors() {
		jt, ok := a.l.jsonTemplateRef(e)
		if !ok {
			a.l.errorf(e.Range(), "Invalid reference", "Attribute %q takes references, such as %s; a string or expression is not a reference. %s", name, refExample(kinds), a.l.refHint(e, kinds, a.sc))
			return addrs.Ref{}, false
		}
		t = jt
	}
	ref, rest, ok := addrs.RefFromTraversal(t)
	if !ok || !slices.Contains(kinds, ref.Kind) {
		detail := fmt.Sprintf("Attribute %q takes references such as %s.", name, refExample(kinds))
		if len(t) == 1 {
			// A bare name: "east" in JSON, east in native syntax.
			detail += " " + a.l.refAdvice(e.Range(), a.l.meantRef(t.RootName(), kinds, a.sc), kinds, isJSON(e.Range()))
		}
		a.l.errorf(e.Range(), "Invalid reference", "%s", detail)
		return addrs.Ref{}, false
	}
	if len(rest) > 0 {
		a.l.errorf(e.Range(), "Invalid reference", "Attribute %q refers to a whole object: write %s, without the attribute after it.", name, ref)
		return addrs.Ref{}, false
	}
	return ref, a.l.checkRef(ref, a.sc, e.Range())
}

func refExample(kinds []addrs.Kind) string {
	ex := make([]string, len(kinds))
	for i, k := range kinds {
		ex[i] = string(k) + ".example"
	}
	return strings.Join(ex, ", ")
}
