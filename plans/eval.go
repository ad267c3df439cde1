package plans

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/drplan/drplan/addrs"
	"github.com/drplan/drplan/internal/dag"
)

// scope is what names are visible where an expression sits: inside a
// recovery_plan its tiers and steps, outside it none.
type scope struct {
	plan  string
	tiers map[string]hcl.Range
	steps map[string]hcl.Range
}

// referable lists the kinds an expression may refer to.
var referable = []addrs.Kind{addrs.Variable, addrs.Local, addrs.Site, addrs.ProtectionGroup, addrs.Tier, addrs.Step}

// names returns the declared names of kind visible in sc.
func (l *loader) names(kind addrs.Kind, sc *scope) map[string]hcl.Range {
	switch kind {
	case addrs.Tier, addrs.Step:
		if sc == nil {
			return nil
		}
		if kind == addrs.Tier {
			return sc.tiers
		}
		return sc.steps
	}
	return l.decls[kind]
}

// checkRef reports a reference to an undeclared object, with a
// suggestion. rng is the reference's range.
func (l *loader) checkRef(ref addrs.Ref, sc *scope, rng hcl.Range) bool {
	names := l.names(ref.Kind, sc)
	if _, ok := names[ref.Name]; ok {
		return true
	}
	noun := ref.Kind.Noun()
	if (ref.Kind == addrs.Tier || ref.Kind == addrs.Step) && sc == nil {
		l.errorf(rng, "Reference to "+noun+" outside a recovery plan",
			"%s refers to a %s, but %s references are only valid inside a recovery_plan block, where they name that plan's %ss.", ref, noun, ref.Kind, noun)
		return false
	}
	where := ""
	if sc != nil && (ref.Kind == addrs.Tier || ref.Kind == addrs.Step) {
		where = fmt.Sprintf(" in recovery plan %q", sc.plan)
	}
	detail := fmt.Sprintf("There is no %s named %q%s.", noun, ref.Name, where)
	if s := suggest(ref.Name, keys(names)); s != "" {
		detail += fmt.Sprintf(" Did you mean %s.%s?", ref.Kind, s)
	} else {
		detail += fmt.Sprintf(" Declare it with a %s block, or correct the name.", declHint(ref.Kind, ref.Name))
	}
	l.errorf(rng, "Reference to undeclared "+noun, "%s", detail)
	return false
}

func declHint(kind addrs.Kind, name string) string {
	if kind == addrs.Local {
		return fmt.Sprintf("locals { %s = … }", name)
	}
	k := string(kind)
	if kind == addrs.Variable {
		k = "variable"
	}
	return fmt.Sprintf("%s %q", k, name)
}

// checkRefs checks every reference in expr and reports whether all of
// them name declared objects visible in sc.
func (l *loader) checkRefs(expr hcl.Expression, sc *scope) bool {
	ok := true
	for _, t := range expr.Variables() {
		ok = l.checkTraversal(t, sc) && ok
	}
	return ok
}

func (l *loader) checkTraversal(t hcl.Traversal, sc *scope) bool {
	root := t.RootName()
	rng := t.SourceRange()
	var kind addrs.Kind
	for _, k := range referable {
		if string(k) == root {
			kind = k
		}
	}
	if kind == "" {
		roots := make([]string, len(referable))
		for i, k := range referable {
			roots[i] = string(k)
		}
		detail := fmt.Sprintf("%q is not something a plan can refer to. References start with %s.", root, strings.Join(roots, ", "))
		if s := suggest(root, roots); s != "" {
			detail += fmt.Sprintf(" Did you mean %s?", s)
		}
		l.errorf(rng, "Unknown reference", "%s", detail)
		return false
	}
	if len(t) < 2 {
		l.errorf(rng, "Invalid reference", "%s must be followed by a name, such as %s.example.", root, root)
		return false
	}
	attr, ok := t[1].(hcl.TraverseAttr)
	if !ok {
		l.errorf(rng, "Invalid reference", "%s must be followed by a dot and a name, such as %s.example.", root, root)
		return false
	}
	nameRng := hcl.RangeBetween(t[0].SourceRange(), t[1].SourceRange())
	return l.checkRef(addrs.Ref{Kind: kind, Name: attr.Name}, sc, nameRng)
}

// context returns the evaluation context for expr in sc: for each object
// expr refers to (checked by checkRefs), its value, under its kind. Only
// the objects referred to are in it, so that building it costs as much as
// the expression's references, not the plan's size: a context of every
// site, group and local, rebuilt whenever one of them got its value, made
// evaluating n symbols in order take n² time.
func (l *loader) context(expr hcl.Expression, sc *scope) *hcl.EvalContext {
	objs := map[addrs.Kind]map[string]cty.Value{}
	for _, t := range expr.Variables() {
		kind := addrs.Kind(t.RootName())
		name := t[1].(hcl.TraverseAttr).Name // checkRefs made sure
		m := objs[kind]
		if m == nil {
			m = map[string]cty.Value{}
			objs[kind] = m
		}
		if _, done := m[name]; done {
			continue
		}
		switch kind {
		case addrs.Tier, addrs.Step:
			m[name] = nameObject(name)
		default:
			if v, ok := l.vals[kind][name]; ok {
				m[name] = v
			}
		}
	}
	vars := make(map[string]cty.Value, len(objs))
	for kind, m := range objs {
		vars[string(kind)] = cty.ObjectVal(m)
	}
	return &hcl.EvalContext{Variables: vars, Functions: l.funcs}
}

// nameObject is the value of tier.NAME or step.NAME: an object with its
// name.
func nameObject(name string) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(name)})
}

func (l *loader) setVal(kind addrs.Kind, name string, v cty.Value) {
	if l.vals[kind] == nil {
		l.vals[kind] = map[string]cty.Value{}
	}
	l.vals[kind][name] = v
}

// eval checks the references of expr and evaluates it. ok is false when
// the value is not usable: an error was reported, or it depends on a value
// that failed earlier (unknown), or it is null.
func (l *loader) eval(expr hcl.Expression, sc *scope) (cty.Value, bool) {
	if r, done := l.evaluated[expr]; done {
		return r.val, r.ok
	}
	ctx := l.funcsOnly
	if len(expr.Variables()) > 0 {
		if !l.checkRefs(expr, sc) {
			return cty.DynamicVal, false
		}
		ctx = l.context(expr, sc)
	}
	v, diags := expr.Value(ctx)
	l.diags = append(l.diags, diags...)
	if diags.HasErrors() || !v.IsWhollyKnown() || v.IsNull() {
		return cty.DynamicVal, false
	}
	if _, sens := l.unmark(v); sens {
		addSecretValue(l.plan.secrets, v)
	}
	return v, true
}

// evalAs evaluates expr and converts it to ty, reporting a type mismatch
// at the expression. what names the value for messages ("attribute
// \"rpo\"").
func (l *loader) evalAs(expr hcl.Expression, sc *scope, ty cty.Type, what string) (cty.Value, bool) {
	v, ok := l.eval(expr, sc)
	if !ok {
		return v, false
	}
	v, _ = l.unmark(v)
	cv, err := convert.Convert(v, ty)
	if err != nil {
		l.errorf(expr.Range(), "Incorrect attribute value type", "Inappropriate value for %s: %s.%s", what, convertError(err, ty), l.quotedRefHint(expr))
		return cty.DynamicVal, false
	}
	return cv, true
}

// convertError describes a failed conversion, with the path inside the
// value where it failed.
func convertError(err error, want cty.Type) string {
	msg := err.Error()
	if pe, ok := err.(cty.PathError); ok && len(pe.Path) > 0 {
		var b strings.Builder
		for _, step := range pe.Path {
			switch s := step.(type) {
			case cty.IndexStep:
				if s.Key.Type() == cty.String {
					fmt.Fprintf(&b, "[%q]", s.Key.AsString())
				} else if s.Key.Type() == cty.Number {
					fmt.Fprintf(&b, "[%s]", s.Key.AsBigFloat().Text('f', -1))
				}
			case cty.GetAttrStep:
				fmt.Fprintf(&b, ".%s", s.Name)
			}
		}
		if b.Len() > 0 {
			msg = fmt.Sprintf("element %s: %s", b.String(), msg)
		}
	}
	if msg == "" {
		msg = want.FriendlyName() + " required"
	}
	return msg
}

// evalSymbols evaluates, in dependency order, everything expressions may
// refer to besides variables: local values, site objects and protection
// groups' VM lists. Cycles are reported and their members left unknown.
func (l *loader) evalSymbols(locals []*Local, sites, groups hcl.Blocks) {
	type symbol struct {
		ref   addrs.Ref
		exprs map[string]hcl.Expression
		build func(vals map[string]cty.Value) cty.Value
	}
	symbols := map[addrs.Ref]*symbol{}
	g := dag.New[string]()

	for _, loc := range locals {
		ref := addrs.Ref{Kind: addrs.Local, Name: loc.Name}
		symbols[ref] = &symbol{ref: ref, exprs: map[string]hcl.Expression{"": loc.Expr},
			build: func(v map[string]cty.Value) cty.Value { return v[""] }}
	}
	for _, b := range sites {
		name := b.Labels[0]
		attrs, _ := b.Body.JustAttributes() // errors reported by the site decoder
		if _, dup := symbols[addrs.Ref{Kind: addrs.Site, Name: name}]; dup {
			continue
		}
		sym := &symbol{ref: addrs.Ref{Kind: addrs.Site, Name: name}, exprs: map[string]hcl.Expression{}}
		for _, a := range []string{"datacenter", "role"} {
			if attr, ok := attrs[a]; ok {
				sym.exprs[a] = attr.Expr
			}
		}
		sym.build = func(v map[string]cty.Value) cty.Value {
			obj := map[string]cty.Value{"name": cty.StringVal(name), "datacenter": cty.StringVal(""), "role": cty.StringVal(string(RoleBoth))}
			for k, x := range v {
				if s, err := convert.Convert(x, cty.String); err == nil && !s.IsNull() {
					obj[k] = s
				}
			}
			return cty.ObjectVal(obj)
		}
		symbols[sym.ref] = sym
	}
	for _, b := range groups {
		name := b.Labels[0]
		content, _, _ := b.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "vms"}, {Name: "exclude"}}})
		ref := addrs.Ref{Kind: addrs.ProtectionGroup, Name: name}
		if _, dup := symbols[ref]; dup {
			continue
		}
		sym := &symbol{ref: ref, exprs: map[string]hcl.Expression{}}
		for a, attr := range content.Attributes {
			sym.exprs[a] = attr.Expr
		}
		matched := l.opts.SelectorMatches[name]
		sym.build = func(v map[string]cty.Value) cty.Value {
			vms, _ := l.unmark(v["vms"])
			excl, _ := l.unmark(v["exclude"])
			explicit, _ := stringList(vms)
			exclude, _ := stringList(excl)
			return cty.ObjectVal(map[string]cty.Value{
				"name": cty.StringVal(name),
				"vms":  stringListVal(groupMembers(explicit, matched, exclude)),
			})
		}
		symbols[ref] = sym
	}

	for _, sym := range symbols {
		g.Add(sym.ref.String())
		for _, e := range sym.exprs {
			for _, t := range e.Variables() {
				if ref, _, ok := addrs.RefFromTraversal(t); ok {
					if _, isSym := symbols[ref]; isSym {
						g.Connect(sym.ref.String(), ref.String())
					}
				}
			}
		}
	}

	// Whatever is not computed below (cycle members, what depends on them)
	// stays unknown, so that its users report nothing more.
	for ref := range symbols {
		l.setVal(ref.Kind, ref.Name, cty.DynamicVal)
	}
	for _, cycle := range g.Cycles() {
		ref, _ := addrs.ParseRef(cycle[0])
		first := symbols[ref]
		var rng hcl.Range
		for _, e := range first.exprs {
			rng = e.Range()
			break
		}
		if ref.Kind == addrs.Local {
			rng = l.localRange(ref.Name, locals)
		}
		l.errorf(rng, "Cycle in references", "These values refer to each other in a loop, so none of them can be computed: %s → %s. Break the loop by removing one of the references.",
			strings.Join(cycle, " → "), cycle[0])
	}
	for _, n := range g.TopoOrder() {
		ref, _ := addrs.ParseRef(n)
		sym := symbols[ref]
		vals := map[string]cty.Value{}
		failed := false
		for a, e := range sym.exprs {
			v, ok := l.eval(e, nil)
			l.evaluated[e] = evalResult{v, ok}
			if !ok {
				failed = true
			}
			vals[a] = v
		}
		if !failed {
			l.setVal(ref.Kind, ref.Name, sym.build(vals))
		}
	}
}

// evalResult is the outcome of evaluating an expression in evalSymbols,
// kept so that decoders do not evaluate (and report) it a second time.
type evalResult struct {
	val cty.Value
	ok  bool
}

func (l *loader) localRange(name string, locals []*Local) hcl.Range {
	for _, loc := range locals {
		if loc.Name == name {
			return loc.DeclRange
		}
	}
	return hcl.Range{}
}

// declareLocals collects the attributes of every locals block.
func (l *loader) declareLocals(blocks hcl.Blocks) []*Local {
	var out []*Local
	for _, b := range blocks {
		attrs, diags := b.Body.JustAttributes()
		l.diags = append(l.diags, diags...)
		list := make([]*hcl.Attribute, 0, len(attrs))
		for _, a := range attrs {
			list = append(list, a)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Range.Start.Byte < list[j].Range.Start.Byte })
		for _, a := range list {
			if !l.declareName(addrs.Local, a.Name, a.NameRange) {
				continue
			}
			out = append(out, &Local{Name: a.Name, Expr: a.Expr, DeclRange: a.NameRange})
		}
	}
	l.plan.Locals = out
	return out
}

// groupMembers is explicit, then matched names not already listed, less
// those matching an exclude pattern.
func groupMembers(explicit, matched, exclude []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, list := range [][]string{explicit, matched} {
		for _, n := range list {
			if seen[n] || MatchesAny(exclude, n) {
				continue
			}
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// MatchesAny reports whether name is one of the names, or matches one of
// the globs, of patterns (exclude lists, suspend_at_recovery).
func MatchesAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok || p == name {
			return true
		}
	}
	return false
}

// stringList converts an unmarked value to a Go string slice.
func stringList(v cty.Value) ([]string, bool) {
	if v == cty.NilVal || v.IsNull() || !v.IsWhollyKnown() {
		return nil, false
	}
	out, err := toStrings(v)
	return out, err == nil
}

// toStrings converts a list, set or tuple to strings element by element.
// It does what converting to list(string) does, without unifying the
// element types of a whole tuple first, which costs dearly for the long
// VM lists of large plans.
func toStrings(v cty.Value) ([]string, error) {
	ty := v.Type()
	if !ty.IsListType() && !ty.IsTupleType() && !ty.IsSetType() {
		return nil, fmt.Errorf("list of string required, but have %s", ty.FriendlyName())
	}
	out := make([]string, 0, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() {
			return nil, fmt.Errorf("element %d: must not be null", len(out))
		}
		if e.Type() != cty.String {
			s, err := convert.Convert(e, cty.String)
			if err != nil {
				return nil, fmt.Errorf("element %d: %v", len(out), err)
			}
			e = s
		}
		out = append(out, e.AsString())
	}
	return out, nil
}

func stringListVal(list []string) cty.Value {
	if len(list) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	vals := make([]cty.Value, len(list))
	for i, s := range list {
		vals[i] = cty.StringVal(s)
	}
	return cty.ListVal(vals)
}

// suggest returns the candidate closest to given, if one is close enough
// to be a likely typo.
func suggest(given string, candidates []string) string {
	best, bestDist := "", 1<<30
	for _, c := range candidates {
		d := levenshtein.Distance(given, c, nil)
		if d < bestDist && d <= max(2, len(given)/3) {
			best, bestDist = c, d
		}
	}
	return best
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
