package plans

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/drplan/drplan/addrs"
	"github.com/drplan/drplan/internal/redact"
)

// Plan file name suffixes. Other files in a plan directory are ignored.
const (
	HCLSuffix  = ".drplan.hcl"
	JSONSuffix = ".drplan.json"
)

// LoadOptions carries the inputs of a load besides the plan's own files.
type LoadOptions struct {
	// Vars are the -var and -var-file arguments in command-line order;
	// later ones win.
	Vars []VarArg
	// Environ is the environment to read DRPLAN_VAR_* from; nil means
	// os.Environ().
	Environ []string
	// SelectorMatches adds, per protection group name, the VMs that an
	// inventory matched to the group's selectors. They become part of
	// protection_group.NAME.vms. Nil at validate time.
	SelectorMatches map[string][]string
}

// VarArg is one -var NAME=VALUE (File false) or -var-file PATH (File true).
type VarArg struct {
	File  bool
	Value string
}

// IsPlanFile reports whether name is a plan file name.
func IsPlanFile(name string) bool {
	return strings.HasSuffix(name, HCLSuffix) || strings.HasSuffix(name, JSONSuffix)
}

// PlanFiles lists the plan files of dir, sorted: every entry with a plan
// file name. Entries that are not regular files (a directory, a FIFO, a
// link to a device) are listed too, for Load to report.
func PlanFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		if IsPlanFile(e.Name()) {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	return files, nil
}

// Load reads, decodes and checks the plan in dir. The plan is returned
// even when there are errors, as far as it could be decoded.
func Load(dir string, opts LoadOptions) (*Plan, hcl.Diagnostics) {
	files, err := PlanFiles(dir)
	if err != nil {
		detail := fmt.Sprintf("Cannot read the plan directory %s: %v. Give the path of a directory that holds *%s files.", dir, unwrapPathErr(err), HCLSuffix)
		return &Plan{Dir: dir, Files: map[string]*hcl.File{}}, hcl.Diagnostics{{
			Severity: hcl.DiagError, Summary: "Plan directory not readable", Detail: detail,
		}}
	}
	if len(files) == 0 {
		return &Plan{Dir: dir, Files: map[string]*hcl.File{}}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No plan files",
			Detail:   fmt.Sprintf("The directory %s holds no *%s or *%s files. Run drplan in a plan directory, or give its path as the last argument.", dir, HCLSuffix, JSONSuffix),
		}}
	}
	sources := make(map[string][]byte, len(files))
	var diags hcl.Diagnostics
	for _, f := range files {
		b, err := ReadFile(f)
		if err != nil {
			diags = append(diags, planFileDiag(f, err))
			continue
		}
		sources[f] = b
	}
	if diags.HasErrors() {
		// Without one of its files the plan would only yield misleading
		// errors about what that file declares.
		return &Plan{Dir: dir, Files: map[string]*hcl.File{}}, diags
	}
	return LoadSources(dir, sources, opts)
}

// planFileDiag is the diagnostic for a plan file that could not be read,
// at the file: what it is and how to fix it.
func planFileDiag(name string, err error) *hcl.Diagnostic {
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Subject: &hcl.Range{Filename: name,
		Start: hcl.InitialPos, End: hcl.InitialPos}}
	var fe *FileError
	switch {
	case errors.As(err, &fe) && fe.TooLarge():
		d.Summary = "Plan file too large"
		d.Detail = fmt.Sprintf("%s is %s; a plan file may be at most %s. Split it into several *%s files in the same directory.",
			name, fe.sizeText(), sizeText(MaxFileSize), HCLSuffix)
	case errors.As(err, &fe):
		d.Summary = "Plan file is not a regular file"
		d.Detail = fmt.Sprintf("%s is %s, not a regular file, so drplan does not read it. Plan files must be regular files (a symbolic link to one is fine): replace it with a regular file, or rename it so that its name does not end in %s or %s.",
			name, fe.What, HCLSuffix, JSONSuffix)
	default:
		d.Summary = "Plan file not readable"
		d.Detail = fmt.Sprintf("Cannot read %s: %v.", name, unwrapPathErr(err))
	}
	return d
}

// LoadSources decodes and checks a plan given as file names and contents.
// Names ending in .json are read as HCL's JSON syntax, others as native
// syntax. dir is the plan directory for file() and the default name.
func LoadSources(dir string, sources map[string][]byte, opts LoadOptions) (*Plan, hcl.Diagnostics) {
	l := &loader{
		parser: hclparse.NewParser(),
		plan:   &Plan{Dir: dir, secrets: &redact.Set{}},
		opts:   opts,
		decls:  map[addrs.Kind]map[string]hcl.Range{},
		vals:   map[addrs.Kind]map[string]cty.Value{},
		funcs:  functions(dir),

		evaluated:  map[hcl.Expression]evalResult{},
		incomplete: map[string]bool{},
	}
	l.funcsOnly = &hcl.EvalContext{Functions: l.funcs}
	l.load(sources)
	l.plan.Files = l.parser.Files()
	l.diags = dedupeDiagnostics(l.diags)
	redactDiagnostics(l.plan.secrets, l.diags)
	sortDiagnostics(l.diags)
	return l.plan, l.diags
}

// loader holds the state of one load.
type loader struct {
	parser *hclparse.Parser
	plan   *Plan
	opts   LoadOptions
	diags  hcl.Diagnostics

	// decls records where each named top-level object was declared.
	decls map[addrs.Kind]map[string]hcl.Range
	// vals holds the values that expressions may refer to, by kind and name.
	vals  map[addrs.Kind]map[string]cty.Value
	funcs map[string]function.Function
	// marks is set once a sensitive variable brought marked values in.
	marks bool
	// funcsOnly evaluates expressions that refer to nothing.
	funcsOnly *hcl.EvalContext
	// incomplete marks groups whose VM list, and plans whose group list,
	// did not decode: checks that need them stay quiet rather than mislead.
	incomplete map[string]bool
	// evaluated holds the expressions evalSymbols computed already.
	evaluated map[hcl.Expression]evalResult
	// blockAttrs holds the attributes each block was decoded from, by
	// the object decoded (see remember).
	blockAttrs map[any]attrs
}

// rootSchema lists the top-level blocks.
var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "drplan"},
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "site", LabelNames: []string{"name"}},
		{Type: "protection_group", LabelNames: []string{"name"}},
		{Type: "recovery_plan", LabelNames: []string{"name"}},
		{Type: "simulation"},
	},
}

// parse parses one plan or variable file, HCL JSON when its name ends in
// .json, once CheckNesting lets it through.
func (l *loader) parse(src []byte, name string) (*hcl.File, hcl.Diagnostics) {
	if diags := CheckNesting(src, name); diags.HasErrors() {
		return nil, diags
	}
	if strings.HasSuffix(name, ".json") {
		return l.parser.ParseJSON(src, name)
	}
	return l.parser.ParseHCL(src, name)
}

func (l *loader) load(sources map[string][]byte) {
	names := make([]string, 0, len(sources))
	for n := range sources {
		names = append(names, n)
	}
	sort.Strings(names)

	var blocks hcl.Blocks
	for _, name := range names {
		f, diags := l.parse(sources[name], name)
		l.diags = append(l.diags, diags...)
		if f == nil || diags.HasErrors() {
			continue
		}
		content, diags := l.content(f.Body, rootSchema)
		l.diags = append(l.diags, diags...)
		blocks = append(blocks, content.Blocks...)
	}

	byType := map[string]hcl.Blocks{}
	for _, b := range blocks {
		byType[b.Type] = append(byType[b.Type], b)
	}

	l.decodeMeta(byType["drplan"])
	l.decodeVariables(byType["variable"])
	locals := l.declareLocals(byType["locals"])
	sites := l.declare(addrs.Site, byType["site"])
	groups := l.declare(addrs.ProtectionGroup, byType["protection_group"])
	plans := l.declare(addrs.RecoveryPlan, byType["recovery_plan"])

	l.evalSymbols(locals, sites, groups)

	accepted := map[*hcl.Block]bool{}
	for _, list := range []hcl.Blocks{sites, groups, plans} {
		for _, b := range list {
			accepted[b] = true
		}
	}
	// A block whose name was refused (a duplicate) is decoded for its
	// own errors but kept out of the plan: checks across blocks would
	// compare it with the block it duplicates and report false errors.
	for _, b := range byType["site"] {
		if s := l.decodeSite(b); accepted[b] {
			l.plan.Sites = append(l.plan.Sites, s)
		}
	}
	for _, b := range byType["protection_group"] {
		if g := l.decodeProtectionGroup(b); accepted[b] {
			l.plan.ProtectionGroups = append(l.plan.ProtectionGroups, g)
		}
	}
	for _, b := range byType["recovery_plan"] {
		if p := l.decodeRecoveryPlan(b); accepted[b] {
			l.plan.RecoveryPlans = append(l.plan.RecoveryPlans, p)
		}
	}
	l.decodeSimulation(byType["simulation"])

	if l.plan.Name == "" {
		l.plan.Name = filepath.Base(filepath.Clean(l.plan.Dir))
		if l.plan.Dir == "" || l.plan.Name == "." || l.plan.Name == string(filepath.Separator) {
			if wd, err := os.Getwd(); err == nil && l.plan.Dir != "" {
				l.plan.Name = filepath.Base(wd)
			} else {
				l.plan.Name = "plan"
			}
		}
	}
	l.check()
}

// declare records the names of labelled blocks of one kind, reporting
// duplicates at the later label with a pointer to the first, and returns
// the blocks whose names were accepted.
func (l *loader) declare(kind addrs.Kind, blocks hcl.Blocks) hcl.Blocks {
	var ok hcl.Blocks
	for _, b := range blocks {
		if l.declareName(kind, b.Labels[0], b.LabelRanges[0]) {
			ok = append(ok, b)
		}
	}
	return ok
}

func (l *loader) declareName(kind addrs.Kind, name string, rng hcl.Range) bool {
	if !hclIdentifier(name) {
		l.errorf(rng, "Invalid name", "%q is not a valid %s name. A name starts with a letter or underscore and holds only letters, digits, underscores and dashes.", name, kind.Noun())
		return false
	}
	m := l.decls[kind]
	if m == nil {
		m = map[string]hcl.Range{}
		l.decls[kind] = m
	}
	if first, dup := m[name]; dup {
		l.errorf(rng, "Duplicate "+kind.Noun(), "A %s named %q was already declared at %s. Names are unique across the plan's files: rename or remove one of them.", kind.Noun(), name, first)
		return false
	}
	m[name] = rng
	return true
}

// errorf adds an error diagnostic.
func (l *loader) errorf(rng hcl.Range, summary, format string, args ...any) {
	l.diag(hcl.DiagError, rng, summary, fmt.Sprintf(format, args...))
}

// warnf adds a warning diagnostic.
func (l *loader) warnf(rng hcl.Range, summary, format string, args ...any) {
	l.diag(hcl.DiagWarning, rng, summary, fmt.Sprintf(format, args...))
}

func (l *loader) diag(sev hcl.DiagnosticSeverity, rng hcl.Range, summary, detail string) {
	d := &hcl.Diagnostic{Severity: sev, Summary: summary, Detail: detail}
	if rng.Filename != "" {
		r := rng
		d.Subject = &r
	}
	l.diags = append(l.diags, d)
}

// sortDiagnostics orders diagnostics by file and position, keeping the
// order of those without a range, which come first.
func sortDiagnostics(diags hcl.Diagnostics) {
	slices.SortStableFunc(diags, func(a, b *hcl.Diagnostic) int {
		switch {
		case a.Subject == nil && b.Subject == nil:
			return 0
		case a.Subject == nil:
			return -1
		case b.Subject == nil:
			return 1
		}
		if c := strings.Compare(a.Subject.Filename, b.Subject.Filename); c != 0 {
			return c
		}
		return a.Subject.Start.Byte - b.Subject.Start.Byte
	})
}

// hclIdentifier reports whether s is a valid HCL identifier, so that the
// object can be referred to as KIND.NAME.
func hclIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		letter := r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 127
		if i == 0 && !letter {
			return false
		}
		if !letter && r != '-' && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}
