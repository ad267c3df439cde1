package examples

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/drplan/drplan/plans"
)

// TestExamples loads every example: each must be valid without warnings,
// name every VM of its groups in a tier, have a simulation block for drills,
// and be formatted as drplan fmt would write it.
func TestExamples(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, e := range entries {
		dir := e.Name()
		if !e.IsDir() {
			continue
		}
		files, _ := plans.PlanFiles(dir)
		if len(files) == 0 {
			continue
		}
		n++
		t.Run(filepath.Base(dir), func(t *testing.T) {
			plan, diags := plans.Load(dir, plans.LoadOptions{Environ: []string{}})
			_, lookErr := exec.LookPath("terraform")
			for _, d := range diags {
				if d.Summary == "Terraform not found" && lookErr != nil {
					// validate is right to warn on a machine without
					// terraform; the example itself is fine.
					t.Logf("expected without terraform on PATH: %s", describe(d))
					continue
				}
				t.Errorf("%s", describe(d))
			}
			if len(plan.RecoveryPlans) == 0 || len(plan.ProtectionGroups) == 0 {
				t.Errorf("an example needs protection groups and a recovery plan")
			}
			if plan.Simulation == nil {
				t.Errorf("an example needs a simulation block so that it can be drilled")
			}
			if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
				t.Errorf("missing README.md: %v", err)
			}
			for _, f := range files {
				src, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(src, hclwrite.Format(src)) {
					t.Errorf("%s is not formatted; run drplan fmt %s", f, dir)
				}
			}
		})
	}
	if n < 4 {
		t.Fatalf("found %d examples, want at least 4", n)
	}
}

func describe(d *hcl.Diagnostic) string {
	if d.Subject != nil {
		return d.Subject.String() + ": " + d.Summary + ": " + d.Detail
	}
	return d.Summary + ": " + d.Detail
}
