package command

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/drplan/drplan/internal/diagview"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestValidateJSONGolden pins the validate -json document: its shape is
// what CI systems and editors parse.
func TestValidateJSONGolden(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Run([]string{"validate", "-json", filepath.Join("testdata", "golden", "plan")}, &stdout, &stderr)
	if code != ExitError {
		t.Fatalf("exit code %d, want %d; stderr: %s", code, ExitError, stderr.String())
	}
	if stderr.Len() != 0 {
		t.Fatalf("stderr not empty: %s", stderr.String())
	}
	golden := filepath.Join("testdata", "golden", "validate.json")
	got := filepath.ToSlash(stdout.String())
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/command -run Golden -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("validate -json output differs from %s (rerun with -update if the change is intended)\n got:\n%s", golden, got)
	}

	var doc diagview.Document
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	errs, warns := 0, 0
	for _, d := range doc.Diagnostics {
		if d.Range == nil || d.Snippet == nil {
			t.Errorf("diagnostic %q has no range or snippet", d.Summary)
		}
		if d.Severity == "error" {
			errs++
		} else {
			warns++
		}
	}
	if doc.Valid || doc.ErrorCount != errs || doc.WarningCount != warns || errs == 0 || warns == 0 {
		t.Errorf("counts do not add up: valid=%v errors=%d/%d warnings=%d/%d", doc.Valid, doc.ErrorCount, errs, doc.WarningCount, warns)
	}
}

// TestRunNeverPanics feeds the CLI hostile arguments; each must end in an
// exit code, not a crash.
func TestRunNeverPanics(t *testing.T) {
	for _, args := range [][]string{
		{}, {""}, {"validate", "-var"}, {"validate", "-var-file"}, {"validate", "-var", "="},
		{"fmt", "-check", "/nonexistent"}, {"validate", "\x00"}, {"fmt", "-diff", "-recursive", "testdata/golden"},
		{"report"}, {"report", "-format"}, {"report", "latest", "/nonexistent"}, {"report", "../x/y", "/nonexistent"},
		{"status", "--sim", "/nonexistent"}, {"status", "--sim", "--live"}, {"runs", "/nonexistent"}, {"runs", "-json", "\x00"},
	} {
		var out, errOut bytes.Buffer
		code := Run(args, &out, &errOut)
		if code != ExitOK && code != ExitError && code != ExitChanges {
			t.Errorf("Run(%q) = %d", args, code)
		}
		if bytes.Contains(errOut.Bytes(), []byte("internal error")) {
			t.Errorf("Run(%q) hit an internal error: %s", args, errOut.String())
		}
	}
}
