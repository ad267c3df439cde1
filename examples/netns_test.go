package examples

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDrillsInEmptyNetworkNamespace drills every example with drplan
// built from this tree, inside a network namespace with only loopback up
// (unshare -n): a simulated drill must need nothing off this machine.
// Every example passes but faults, which fails as its README says. Skipped
// where unshare -n is not permitted.
func TestDrillsInEmptyNetworkNamespace(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare is not installed")
	}
	if out, err := exec.Command("unshare", "-n", "true").CombinedOutput(); err != nil {
		t.Skipf("unshare -n is not permitted here (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	bin := filepath.Join(t.TempDir(), "drplan")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/drplan").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		name string
		pass bool
	}{
		{"webshop", true}, {"branches", true}, {"erp", true}, {"faults", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := ""
			if tc.name == "erp" {
				if _, err := exec.LookPath("terraform"); err != nil {
					t.Skip("the erp example's DNS step needs terraform, which is not on PATH")
				}
				args = "--auto-approve "
			}
			dir := filepath.Join(t.TempDir(), tc.name)
			if err := os.CopyFS(dir, os.DirFS(tc.name)); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("unshare", "-n", "sh", "-c", `ip link set lo up && "$0" drill `+args+`"$1"`, bin, dir)
			out, err := cmd.CombinedOutput()
			if tc.pass && (err != nil || !strings.Contains(string(out), "PASSED")) {
				t.Fatalf("drill in an empty network namespace: %v\n%s", err, out)
			}
			if !tc.pass && (err == nil || !strings.Contains(string(out), "FAILED")) {
				t.Fatalf("the faults drill should fail as its README says: %v\n%s", err, out)
			}
		})
	}
}
