package fsutil

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func noTemps(t *testing.T, dir string) {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*.tmp*"))
	if len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "out.json")
	if err := WriteFile(name, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(name); st.Mode().Perm() != 0o600 {
		t.Errorf("new file mode %v, want 0600", st.Mode().Perm())
	}
	os.Chmod(name, 0o640)
	if err := WriteFile(name, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(name); string(b) != "two" {
		t.Errorf("got %q", b)
	}
	if st, _ := os.Stat(name); st.Mode().Perm() != 0o640 {
		t.Errorf("rewritten file mode %v, want the old 0640", st.Mode().Perm())
	}
	noTemps(t, dir)
}

func TestWriteFileSymlink(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "real"), 0o755)
	target := filepath.Join(dir, "real", "plan.hcl")
	os.WriteFile(target, []byte("old"), 0o644)
	link := filepath.Join(dir, "link.hcl")
	os.Symlink("real/plan.hcl", link)
	if err := WriteFile(link, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Lstat(link); st.Mode()&os.ModeSymlink == 0 {
		t.Error("the link became a regular file")
	}
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Errorf("target holds %q", b)
	}
	// A dangling link creates the file it points to.
	dangling := filepath.Join(dir, "dangling")
	os.Symlink("real/new.json", dangling)
	if err := WriteFile(dangling, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "real", "new.json")); string(b) != "x" {
		t.Errorf("dangling target holds %q", b)
	}
	noTemps(t, dir)
	noTemps(t, filepath.Join(dir, "real"))
}

func TestWriteFileRefusals(t *testing.T) {
	dir := t.TempDir()
	err := WriteFile(dir, []byte("x"), 0o644)
	if err == nil || !strings.Contains(err.Error(), "is a directory") || !strings.Contains(err.Error(), dir) {
		t.Errorf("directory: %v", err)
	}
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	err = WriteFile(filepath.Join(file, "sub.json"), []byte("x"), 0o644)
	if err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Errorf("file as directory: %v", err)
	}
	err = WriteFile(filepath.Join(dir, "missing", "x.json"), []byte("x"), 0o644)
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing directory: %v", err)
	}
	noTemps(t, dir)
}

func TestWriteFileDevices(t *testing.T) {
	if err := WriteFile("/dev/null", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat("/dev/null"); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Fatal("/dev/null is no longer a device")
	}
	if _, err := os.Stat("/dev/full"); err == nil {
		err := WriteFile("/dev/full", []byte("x"), 0o644)
		if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "/dev/full") {
			t.Errorf("/dev/full: %v", err)
		}
		if st, _ := os.Stat("/dev/full"); st.Mode()&os.ModeCharDevice == 0 {
			t.Fatal("/dev/full is no longer a device")
		}
	}
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip(err)
	}
	got := make(chan string)
	go func() {
		b, _ := os.ReadFile(fifo)
		got <- string(b)
	}()
	if err := WriteFile(fifo, []byte("through"), 0o644); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "through" {
		t.Errorf("reader got %q", s)
	}
	noTemps(t, dir)
}
