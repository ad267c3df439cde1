package plans

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzValidate loads arbitrary bytes as a plan file, in native and JSON
// syntax. Whatever the input, loading must return diagnostics, not panic.
// It is seeded with every fixture and example.
func FuzzValidate(f *testing.F) {
	for _, root := range []string{"testdata", filepath.Join("..", "examples")} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && IsPlanFile(p) {
				if b, err := os.ReadFile(p); err == nil {
					f.Add(b)
				}
			}
			return nil
		})
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		dir := t.TempDir()
		for _, name := range []string{"fuzz.drplan.hcl", "fuzz.drplan.json"} {
			plan, diags := LoadSources(dir, map[string][]byte{filepath.Join(dir, name): src}, LoadOptions{Environ: []string{}})
			if plan == nil {
				t.Fatal("nil plan")
			}
			for _, d := range diags {
				if d.Summary == "" || strings.Contains(d.Detail, "goroutine") {
					t.Fatalf("bad diagnostic: %#v", d)
				}
			}
		}
	})
}
