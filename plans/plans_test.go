package plans

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// expectRE finds the diagnostics a fixture expects on a line:
// "# ERROR: Duplicate tier" or "# WARNING: Shadowed IP rule".
var expectRE = regexp.MustCompile(`(ERROR|WARNING): ([^#]*[^#\s])`)

// TestFixtures loads every plan under testdata/valid and testdata/invalid
// (a file, or a directory of files) and checks that its diagnostics are
// exactly those written on the offending lines.
func TestFixtures(t *testing.T) {
	for _, kind := range []string{"valid", "invalid"} {
		entries, err := os.ReadDir(filepath.Join("testdata", kind))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			path := filepath.Join("testdata", kind, e.Name())
			t.Run(kind+"/"+e.Name(), func(t *testing.T) {
				var plan *Plan
				var diags hcl.Diagnostics
				if e.IsDir() {
					plan, diags = Load(path, LoadOptions{Environ: []string{}})
				} else {
					src, err := os.ReadFile(path)
					if err != nil {
						t.Fatal(err)
					}
					plan, diags = LoadSources(filepath.Dir(path), map[string][]byte{path: src}, LoadOptions{Environ: []string{}})
				}
				want := expectations(t, plan)
				var got []string
				for _, d := range diags {
					got = append(got, describe(d))
				}
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("diagnostics differ\n got: %s\nwant: %s\n\nfull diagnostics:\n%s",
						strings.Join(got, "\n      "), strings.Join(want, "\n      "), full(diags))
				}
				if kind == "invalid" && !diags.HasErrors() && len(want) == 0 {
					t.Errorf("fixture under invalid/ expects no diagnostics")
				}
				if kind == "valid" && diags.HasErrors() {
					t.Errorf("valid fixture has errors")
				}
			})
		}
	}
}

// expectations collects the annotated diagnostics of every file.
func expectations(t *testing.T, plan *Plan) []string {
	var want []string
	for name, f := range plan.Files {
		for i, line := range strings.Split(string(f.Bytes), "\n") {
			for _, m := range expectRE.FindAllStringSubmatch(line, -1) {
				sev := strings.ToLower(m[1])
				want = append(want, fmt.Sprintf("%s:%d: %s: %s", filepath.Base(name), i+1, sev, m[2]))
			}
		}
	}
	return want
}

func describe(d *hcl.Diagnostic) string {
	sev := "error"
	if d.Severity == hcl.DiagWarning {
		sev = "warning"
	}
	if d.Subject == nil {
		return fmt.Sprintf("(no range): %s: %s", sev, d.Summary)
	}
	return fmt.Sprintf("%s:%d: %s: %s", filepath.Base(d.Subject.Filename), d.Subject.Start.Line, sev, d.Summary)
}

func full(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		fmt.Fprintf(&b, "  %s\n    %s\n", describe(d), d.Detail)
	}
	return b.String()
}
