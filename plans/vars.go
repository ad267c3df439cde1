package plans

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/go-version"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/drplan/drplan/addrs"
)

// Version is the version of drplan that required_version is checked against.
const Version = "0.1.0"

// EnvVarPrefix starts the names of environment variables that set plan
// variables: DRPLAN_VAR_region sets var.region.
const EnvVarPrefix = "DRPLAN_VAR_"

var metaSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "name"}, {Name: "required_version"}, {Name: "owner"}, {Name: "drill_interval"},
	},
}

func (l *loader) decodeMeta(blocks hcl.Blocks) {
	for i, b := range blocks {
		if i > 0 {
			l.errorf(b.DefRange, "Duplicate drplan block", "A plan has at most one drplan block; the first is at %s. Merge the two.", blocks[0].DefRange)
			continue
		}
		content, diags := l.content(b.Body, metaSchema)
		l.diags = append(l.diags, diags...)
		m := &Meta{DeclRange: b.DefRange}
		a := l.attrs(content, nil)
		a.name("name", &m.Name)
		a.name("owner", &m.Owner)
		a.duration("drill_interval", &m.DrillInterval)
		if a.str("required_version", &m.RequiredVersion) {
			l.checkVersion(m.RequiredVersion, a.rng("required_version"))
		}
		l.plan.Meta = m
		l.plan.Name = m.Name
	}
}

func (l *loader) checkVersion(constraint string, rng hcl.Range) {
	c, err := version.NewConstraint(constraint)
	if err != nil {
		l.errorf(rng, "Invalid version constraint", "%q is not a version constraint; write one such as \">= 0.1\" or \"~> 0.1.0\".", constraint)
		return
	}
	if !c.Check(version.Must(version.NewVersion(Version))) {
		l.errorf(rng, "Unsupported drplan version", "This plan requires drplan %s, but this is drplan %s. Use a drplan release that satisfies the constraint, or change required_version.", constraint, Version)
	}
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"}, {Name: "default"}, {Name: "description"}, {Name: "sensitive"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "validation"}},
}

var validationSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "condition", Required: true}, {Name: "error_message", Required: true},
	},
}

// variableDecl is a variable while its value is being settled.
type variableDecl struct {
	v           *Variable
	defaults    *typeexpr.Defaults
	validations []*hcl.BodyContent
	set         bool // a value was settled
	given       bool // a value was given, whether or not it was usable
}

// decodeVariables decodes the variable blocks and settles each value from,
// lowest precedence first: the default, DRPLAN_VAR_NAME, then -var-file
// and -var in the order given.
func (l *loader) decodeVariables(blocks hcl.Blocks) {
	decls := map[string]*variableDecl{}
	var order []*variableDecl
	for _, b := range blocks {
		name := b.Labels[0]
		if !l.declareName(addrs.Variable, name, b.LabelRanges[0]) {
			continue
		}
		content, diags := l.content(b.Body, variableSchema)
		l.diags = append(l.diags, diags...)
		v := &Variable{Name: name, Type: cty.DynamicPseudoType, Value: cty.DynamicVal, DeclRange: b.DefRange, ValueRange: b.DefRange}
		d := &variableDecl{v: v}
		a := l.attrs(content, nil)
		a.str("description", &v.Description)
		a.boolean("sensitive", &v.Sensitive)
		if at := content.Attributes["type"]; at != nil {
			ty, defaults, diags := typeexpr.TypeConstraintWithDefaults(at.Expr)
			l.diags = append(l.diags, diags...)
			if !diags.HasErrors() {
				v.Type, d.defaults = ty, defaults
			}
		}
		if at := content.Attributes["default"]; at != nil {
			d.given = true
			if len(at.Expr.Variables()) > 0 {
				l.errorf(at.Expr.Range(), "Variables not allowed", "A variable's default must be a constant: it cannot refer to other values. Use a local value to compute it.")
			} else if val, ok := l.settle(d, at.Expr, "the default"); ok {
				v.Value, v.ValueRange, d.set = val, at.Expr.Range(), true
			}
		}
		for _, vb := range content.Blocks {
			vc, diags := l.content(vb.Body, validationSchema)
			l.diags = append(l.diags, diags...)
			if !diags.HasErrors() {
				d.validations = append(d.validations, vc)
			}
		}
		decls[name] = d
		order = append(order, d)
		l.plan.Variables = append(l.plan.Variables, v)
	}

	environ := l.opts.Environ
	if environ == nil {
		environ = os.Environ()
	}
	for _, kv := range environ {
		name, raw, ok := strings.Cut(strings.TrimPrefix(kv, EnvVarPrefix), "=")
		if !ok || !strings.HasPrefix(kv, EnvVarPrefix) || decls[name] == nil {
			continue // like Terraform, ignore values for undeclared variables here
		}
		l.setRaw(decls[name], raw, "environment variable "+EnvVarPrefix+name)
	}
	for _, arg := range l.opts.Vars {
		if arg.File {
			l.applyVarFile(decls, arg.Value)
			continue
		}
		name, raw, ok := strings.Cut(arg.Value, "=")
		if !ok || name == "" {
			l.errorf(hcl.Range{}, "Invalid -var option", "The -var option takes NAME=VALUE, such as -var 'region=west'; %q has no equals sign.", arg.Value)
			continue
		}
		if decls[name] == nil {
			l.undeclared(name, decls, hcl.Range{}, hcl.DiagError, "-var")
			continue
		}
		l.setRaw(decls[name], raw, "-var")
	}

	for _, d := range order {
		v := d.v
		if !d.set && !d.given {
			l.errorf(v.DeclRange, "No value for required variable",
				"The variable %q has no default and no value was given. Set it with -var '%s=…', a -var-file, or the environment variable %s%s, or give it a default.", v.Name, v.Name, EnvVarPrefix, v.Name)
		} else if !l.validate(d) {
			v.Value = cty.DynamicVal
		}
		if v.Sensitive {
			l.marks = true
			v.Value = v.Value.Mark(sensitive)
			addSecretValue(l.plan.secrets, v.Value)
		}
		l.setVal(addrs.Variable, v.Name, v.Value)
	}
}

func (l *loader) undeclared(name string, decls map[string]*variableDecl, rng hcl.Range, sev hcl.DiagnosticSeverity, from string) {
	detail := fmt.Sprintf("A value for %q was given with %s, but the plan declares no such variable.", name, from)
	if s := suggest(name, keys(decls)); s != "" {
		detail += fmt.Sprintf(" Did you mean %q?", s)
	} else {
		detail += fmt.Sprintf(" Declare it with a variable %q block, or remove the value.", name)
	}
	l.diag(sev, rng, "Value for undeclared variable", detail)
}

// setRaw sets a variable from a string given on the command line or in the
// environment: taken as is for primitive types, parsed as an HCL
// expression for lists, maps and objects.
func (l *loader) setRaw(d *variableDecl, raw, from string) {
	d.given = true
	ty := d.v.Type
	if ty.IsPrimitiveType() || ty == cty.DynamicPseudoType {
		if val, ok := l.convertVar(d, cty.StringVal(raw), hcl.Range{}, from); ok {
			d.v.Value, d.v.ValueRange, d.set = val, d.v.DeclRange, true
		}
		return
	}
	if diags := CheckNesting([]byte(raw), from); diags.HasErrors() {
		l.errorf(d.v.DeclRange, "Invalid value for variable", "The value given for var.%s with %s nests deeper than %d levels; no variable needs this many.", d.v.Name, from, MaxNesting)
		return
	}
	expr, diags := hclsyntax.ParseExpression([]byte(raw), from, hcl.InitialPos)
	if diags.HasErrors() {
		l.errorf(d.v.DeclRange, "Invalid value for variable", "The value given for var.%s with %s is not a valid expression for a %s. Write it in HCL syntax, such as [\"a\", \"b\"] or {key = \"value\"}.", d.v.Name, from, ty.FriendlyName())
		return
	}
	if val, ok := l.settle(d, expr, from); ok {
		d.v.Value, d.v.ValueRange, d.set = val, d.v.DeclRange, true
	}
}

// settle evaluates a constant expression for a variable and converts it
// to the variable's type.
func (l *loader) settle(d *variableDecl, expr hcl.Expression, from string) (cty.Value, bool) {
	val, diags := expr.Value(&hcl.EvalContext{Functions: l.funcs})
	if diags.HasErrors() {
		if d.v.Sensitive {
			for _, diag := range diags {
				diag.Detail = "The value is sensitive, so this message does not show it."
			}
		}
		l.diags = append(l.diags, diags...)
		return cty.DynamicVal, false
	}
	return l.convertVar(d, val, expr.Range(), from)
}

func (l *loader) convertVar(d *variableDecl, val cty.Value, rng hcl.Range, from string) (cty.Value, bool) {
	if d.v.Sensitive {
		// Whether or not the value turns out valid, it is a secret: the
		// messages and snippets about it must not show it.
		addSecretValue(l.plan.secrets, val)
	}
	if d.defaults != nil {
		val = d.defaults.Apply(val)
	}
	cv, err := convert.Convert(val, d.v.Type)
	if err != nil {
		if rng.Filename == "" {
			rng = d.v.DeclRange
		}
		l.errorf(rng, "Invalid value for variable", "The value for var.%s from %s is not a %s: %s.", d.v.Name, from, d.v.Type.FriendlyName(), convertError(err, d.v.Type))
		return cty.DynamicVal, false
	}
	return cv, true
}

// applyVarFile reads a -var-file: an HCL (or, for .json, HCL JSON) file of
// NAME = VALUE attributes.
func (l *loader) applyVarFile(decls map[string]*variableDecl, path string) {
	src, err := ReadFile(path)
	var fe *FileError
	if errors.As(err, &fe) {
		l.errorf(hcl.Range{}, "Variable file not readable", "Cannot read the -var-file: %v. Give a regular file of at most %s.", err, sizeText(MaxFileSize))
		return
	}
	if err != nil {
		l.errorf(hcl.Range{}, "Variable file not readable", "Cannot read the -var-file %s: %v. Check the path.", path, unwrapPathErr(err))
		return
	}
	f, diags := l.parse(src, path)
	l.diags = append(l.diags, diags...)
	if diags.HasErrors() {
		return
	}
	attrs, diags := f.Body.JustAttributes()
	l.diags = append(l.diags, diags...)
	for _, name := range keys(attrs) {
		at := attrs[name]
		d := decls[name]
		if d == nil {
			l.undeclared(name, decls, at.NameRange, hcl.DiagWarning, "the variable file "+path)
			continue
		}
		if len(at.Expr.Variables()) > 0 {
			l.errorf(at.Expr.Range(), "Variables not allowed", "Values in a variable file must be constants; they cannot refer to other values.")
			continue
		}
		d.given = true
		if val, ok := l.settle(d, at.Expr, path); ok {
			d.v.Value, d.v.ValueRange, d.set = val, at.Expr.Range(), true
		}
	}
}

// validate runs a variable's validation rules and reports whether the
// value passed them all.
func (l *loader) validate(d *variableDecl) bool {
	v := d.v
	val := v.Value
	if v.Sensitive {
		val = val.Mark(sensitive)
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{v.Name: val})},
		Functions: l.funcs,
	}
	ok := true
	for _, vc := range d.validations {
		cond := vc.Attributes["condition"].Expr
		msgExpr := vc.Attributes["error_message"].Expr
		refsOwn := true
		for _, t := range cond.Variables() {
			ref, _, isRef := addrs.RefFromTraversal(t)
			if !isRef || ref != (addrs.Ref{Kind: addrs.Variable, Name: v.Name}) {
				l.errorf(t.SourceRange(), "Invalid reference in variable validation", "A validation condition may refer only to the variable it checks, var.%s.", v.Name)
				refsOwn = false
			}
		}
		if !refsOwn {
			continue
		}
		res, diags := cond.Value(ctx)
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			ok = false
			continue
		}
		res, _ = res.Unmark()
		if res.IsNull() || !res.IsKnown() || res.Type() != cty.Bool {
			l.errorf(cond.Range(), "Invalid validation condition", "The condition must be true or false.")
			ok = false
			continue
		}
		if res.True() {
			continue
		}
		msg := "The value is not valid."
		if mv, diags := msgExpr.Value(ctx); !diags.HasErrors() && mv.Type() == cty.String && !mv.IsNull() && mv.IsKnown() {
			if mv.IsMarked() {
				msg = "The error message refers to a sensitive value, so it is not shown."
			} else {
				msg = mv.AsString()
			}
		}
		l.errorf(v.ValueRange, "Invalid value for variable", "%s\n\nThis was checked by the validation rule at %s.", msg, cond.Range())
		ok = false
	}
	return ok
}
