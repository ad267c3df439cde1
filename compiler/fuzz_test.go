package compiler

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/drplan/drplan/plans"
)

// FuzzCompile compiles arbitrary plan text, for every mode, against an
// inventory made from the plan itself. Whatever the input, compiling must
// return a program or diagnostics, never panic.
func FuzzCompile(f *testing.F) {
	f.Add([]byte(shop))
	for _, dir := range []string{filepath.Join("..", "plans", "testdata", "valid"), filepath.Join("..", "plans", "testdata", "invalid")} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.drplan.hcl"))
		for _, name := range files {
			if b, err := os.ReadFile(name); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		dir := t.TempDir()
		files := map[string][]byte{filepath.Join(dir, "main.drplan.hcl"): src}
		p, diags := plans.LoadSources(dir, files, plans.LoadOptions{Environ: []string{}})
		if diags.HasErrors() {
			return
		}
		inv := world(p)
		p, diags = plans.LoadSources(dir, files, plans.LoadOptions{Environ: []string{}, SelectorMatches: SelectorMatches(p, inv)})
		if diags.HasErrors() {
			return
		}
		for _, m := range plans.Modes {
			prog, diags := Compile(p, inv, Options{Mode: m})
			if prog == nil && !diags.HasErrors() {
				t.Fatalf("%s: no program and no error", m)
			}
			if prog != nil {
				if _, err := prog.JSON(); err != nil {
					t.Fatalf("%s: %v", m, err)
				}
			}
		}
	})
}
