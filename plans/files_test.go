package plans

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// promptly runs f and fails the test if it has not returned within a
// generous bound: reading a FIFO or a device must not hang. (The bound is
// a guard against a hang, not a measurement.)
func promptly(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("still reading after 30s: it hangs")
	}
}

// minimalPlan is a valid plan.
func minimalPlan(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "valid", "minimal.drplan.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// planDirWith makes a plan directory with the minimal plan and, named
// name, whatever make creates there.
func planDirWith(t *testing.T, name string, make func(path string) error) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.drplan.hcl"), minimalPlan(t), 0o644); err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, name)
	if err := make(path); err != nil {
		t.Skipf("cannot create %s: %v", name, err)
	}
	return dir, path
}

func mkfifo(path string) error      { return syscall.Mkfifo(path, 0o644) }
func linkDevZero(path string) error { return os.Symlink("/dev/zero", path) }
func mkdir(path string) error       { return os.Mkdir(path, 0o755) }

// sparse makes a sparse file of size bytes.
func sparse(size int64) func(path string) error {
	return func(path string) error {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Truncate(size)
	}
}

func TestPlanFileNotRegular(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	for _, tc := range []struct {
		name, file   string
		make         func(string) error
		summary, say string
	}{
		{"fifo", "x.drplan.hcl", mkfifo, "Plan file is not a regular file", "is a named pipe (FIFO)"},
		{"link to /dev/zero", "zero.drplan.hcl", linkDevZero, "Plan file is not a regular file", "is a character device"},
		{"directory", "dir.drplan.hcl", mkdir, "Plan file is not a regular file", "is a directory"},
		{"json fifo", "x.drplan.json", mkfifo, "Plan file is not a regular file", "is a named pipe (FIFO)"},
		{"over the limit", "big.drplan.hcl", sparse(17 << 20), "Plan file too large", "is 17 MiB; a plan file may be at most 16 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, path := planDirWith(t, tc.file, tc.make)
			var diags hcl.Diagnostics
			promptly(t, func() { _, diags = Load(dir, LoadOptions{Environ: []string{}}) })
			if len(diags) != 1 {
				t.Fatalf("want one diagnostic, got:\n%s", full(diags))
			}
			d := diags[0]
			if d.Severity != hcl.DiagError || d.Summary != tc.summary {
				t.Errorf("got %s %q, want error %q", severity(d), d.Summary, tc.summary)
			}
			if d.Subject == nil || d.Subject.Filename != path {
				t.Errorf("diagnostic not at %s: %v", path, d.Subject)
			}
			if !strings.Contains(d.Detail, path+" "+tc.say) {
				t.Errorf("detail %q does not say %q", d.Detail, path+" "+tc.say)
			}
			fix := "rename it"
			if tc.summary == "Plan file too large" {
				fix = "Split it"
			}
			if !strings.Contains(d.Detail, fix) {
				t.Errorf("detail %q does not say how to fix it (%q)", d.Detail, fix)
			}
		})
	}
}

func TestPlanFileSymlinkToRegular(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "real.hcl")
	if err := os.WriteFile(target, minimalPlan(t), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, "main.drplan.hcl")); err != nil {
		t.Skip(err)
	}
	plan, diags := Load(dir, LoadOptions{Environ: []string{}})
	if diags.HasErrors() || len(plan.Sites) != 2 {
		t.Fatalf("a link to a regular plan file does not load:\n%s", full(diags))
	}
}

func TestPlanFileAtTheLimit(t *testing.T) {
	// A file of exactly MaxFileSize bytes is read: a comment of spaces
	// after the plan.
	dir := t.TempDir()
	src := minimalPlan(t)
	src = append(src, "# "...)
	src = append(src, strings.Repeat(" ", MaxFileSize-len(src)-1)+"\n"...)
	if err := os.WriteFile(filepath.Join(dir, "main.drplan.hcl"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, diags := Load(dir, LoadOptions{Environ: []string{}}); diags.HasErrors() {
		t.Fatalf("a plan file of %d bytes does not load:\n%s", len(src), full(diags))
	}
}

func TestFileFuncRefuses(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	for _, tc := range []struct {
		name string
		arg  string // file()'s argument; made in the plan directory unless absolute
		make func(string) error
		say  string
	}{
		{"fifo", "fifo", mkfifo, `fifo is a named pipe (FIFO); file() reads only regular files`},
		{"/dev/zero", "/dev/zero", nil, `/dev/zero is a character device; file() reads only regular files`},
		{"link to /dev/zero", "zero", linkDevZero, `zero is a character device; file() reads only regular files`},
		{"directory", "somedir", mkdir, `somedir is a directory; file() reads only regular files`},
		{"over the limit", "big.txt", sparse(17 << 20), `big.txt is 17 MiB; file() reads files of at most 16 MiB`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.make != nil {
				if err := tc.make(filepath.Join(dir, tc.arg)); err != nil {
					t.Skip(err)
				}
			}
			call := fmt.Sprintf("file(%q)", tc.arg)
			src := "locals {\n  banner = " + call + "\n}\n"
			name := filepath.Join(dir, "main.drplan.hcl")
			var diags hcl.Diagnostics
			promptly(t, func() {
				_, diags = LoadSources(dir, map[string][]byte{name: []byte(src)}, LoadOptions{Environ: []string{}})
			})
			var d *hcl.Diagnostic
			for _, x := range diags {
				if x.Summary == "Error in function call" {
					d = x
				}
			}
			if d == nil {
				t.Fatalf("no error at the call:\n%s", full(diags))
			}
			if !strings.Contains(d.Detail, tc.say) {
				t.Errorf("detail %q does not say %q", d.Detail, tc.say)
			}
			start := strings.Index(src, call)
			if d.Subject == nil || d.Subject.Filename != name || d.Subject.Start.Byte != start {
				t.Errorf("subject %v does not start at the call, byte %d", d.Subject, start)
			}
			if d.Context == nil || d.Context.Start.Byte != start || d.Context.End.Byte != start+len(call) {
				t.Errorf("context %v is not the call, bytes %d-%d", d.Context, start, start+len(call))
			}
		})
	}
}

func TestReadFileReadsRegular(t *testing.T) {
	name := filepath.Join(t.TempDir(), "a.txt")
	if err := os.WriteFile(name, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := ReadFile(name)
	if err != nil || string(b) != "hello\n" {
		t.Fatalf("ReadFile = %q, %v", b, err)
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing")); !os.IsNotExist(err) {
		t.Fatalf("missing file: %v", err)
	}
}

func severity(d *hcl.Diagnostic) string {
	if d.Severity == hcl.DiagError {
		return "error"
	}
	return "warning"
}
