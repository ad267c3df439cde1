package plans

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNestingTooDeep: files and values that nest deeper than MaxNesting
// (a few megabytes of brackets, a run of unary operators, a chain of
// conditionals or of binary operators, a JSON plan's
// arrays or a template inside a JSON string, a -var-file, a -var, JSON
// given to jsondecode) are
// refused with an error at the place, where HCL's parsers would exhaust
// the stack and crash the process (this test's process, before the
// check). A file nested MaxNesting deep still loads.
func TestNestingTooDeep(t *testing.T) {
	const n = 1 << 20
	deep := strings.Repeat("[", n) + strings.Repeat("]", n)
	cases := []struct {
		name, file, src string
		vars            []VarArg
		at              string // what the error names: file and line
	}{
		{name: "brackets", file: "main.drplan.hcl", src: "locals {\n  x = " + deep + "\n}\n", at: "main.drplan.hcl:2"},
		{name: "conditionals", file: "main.drplan.hcl", src: "locals {\n  x = " + strings.Repeat("true ? 1 : ", n/8) + "2\n}\n", at: "main.drplan.hcl:2"},
		{name: "conditionals in parentheses", file: "main.drplan.hcl", src: "locals {\n  x = (\n" + strings.Repeat("true ? 1 :\n", n/8) + "2)\n}\n", at: "main.drplan.hcl:20003"},
		{name: "sum", file: "main.drplan.hcl", src: "locals {\n  x = " + strings.Repeat("1 + ", n/8) + "1\n}\n", at: "main.drplan.hcl:2"},
		{name: "and", file: "main.drplan.hcl", src: "locals {\n  x = " + strings.Repeat("true && ", n/8) + "true\n}\n", at: "main.drplan.hcl:2"},
		{name: "unary", file: "main.drplan.hcl", src: "locals {\n  x = " + strings.Repeat("!", n) + "true\n}\n", at: "main.drplan.hcl:2"},
		{name: "json arrays", file: "main.drplan.json", src: `{"locals": {"x": ` + deep + `}}`, at: "main.drplan.json:1"},
		{name: "json template", file: "main.drplan.json", src: `{"locals": {"x": "${` + strings.Repeat("(", n) + "1" + strings.Repeat(")", n) + `}"}}`, at: "main.drplan.json:1"},
		{name: "var file", file: "main.drplan.hcl", src: "variable \"v\" {\n  type = any\n  default = 1\n}\n",
			vars: []VarArg{{File: true, Value: "deep.tfvars"}}, at: "deep.tfvars:1"},
		{name: "jsondecode", file: "main.drplan.hcl", src: "locals {\n  x = jsondecode(file(\"deep.json\"))\n}\n", at: "main.drplan.hcl:2"},
		{name: "var", file: "main.drplan.hcl", src: "variable \"v\" {\n  type = list(any)\n  default = []\n}\n",
			vars: []VarArg{{Value: "v=" + strings.Repeat("[", 5000) + strings.Repeat("]", 5000)}}, at: "main.drplan.hcl:1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "deep.tfvars"), []byte("v = "+deep+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "deep.json"), []byte(deep), 0o644); err != nil {
				t.Fatal(err)
			}
			for i := range c.vars {
				if c.vars[i].File {
					c.vars[i].Value = filepath.Join(dir, c.vars[i].Value)
				}
			}
			_, diags := LoadSources(dir, map[string][]byte{c.file: []byte(c.src)}, LoadOptions{Vars: c.vars})
			if !diags.HasErrors() {
				t.Fatalf("no error for a file nested %d deep", n)
			}
			d := diags[0]
			where := ""
			if d.Subject != nil {
				where = filepath.Base(d.Subject.Filename) + ":" + strconv.Itoa(d.Subject.Start.Line)
			}
			if (d.Summary != "Nesting too deep" && !strings.Contains(d.Detail, "nests deeper than")) || where != c.at {
				t.Errorf("error %q at %s: %s; want the nesting refused at %s", d.Summary, where, d.Detail, c.at)
			}
		})
	}
	t.Run("many conditionals side by side", func(t *testing.T) {
		// An object of 30,000 attributes, each a conditional, and a list
		// of as many: nothing chains.
		obj := "locals {\n  o = {\n" + strings.Repeat("    a = true ? 1 : 2\n", 30000) + "  }\n  l = [" + strings.Repeat("true ? 1 : 2, ", 30000) + "]\n}\n"
		_, diags := LoadSources(t.TempDir(), map[string][]byte{"main.drplan.hcl": []byte(obj)}, LoadOptions{})
		for _, d := range diags {
			if d.Summary == "Nesting too deep" {
				t.Fatalf("conditionals side by side were refused: %s", d.Detail)
			}
		}
	})
	t.Run("at the limit", func(t *testing.T) {
		ok := "locals {\n  x = " + strings.Repeat("[", MaxNesting-2) + strings.Repeat("]", MaxNesting-2) + "\n}\n"
		if _, diags := LoadSources(t.TempDir(), map[string][]byte{"main.drplan.hcl": []byte(ok)}, LoadOptions{}); diags.HasErrors() {
			for _, d := range diags {
				if d.Summary == "Nesting too deep" {
					t.Fatalf("a file nested %d deep was refused: %s", MaxNesting-1, d.Detail)
				}
			}
		}
	})
}
