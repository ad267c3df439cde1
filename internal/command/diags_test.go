package command

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlanWarnsOnce: plan --sim loads the plan twice (before and after
// resolving selectors against the inventory); a warning of the plan is
// still shown once.
func TestPlanWarnsOnce(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join("..", "..", "examples", "webshop")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue // a local .drplan state folder, say
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "plan.drplan.hcl" {
			// A second rule for the same network: shadowed, a warning.
			rule := "  ip_rule \"shop\" {"
			i := bytes.Index(b, []byte(rule))
			j := i + bytes.Index(b[i:], []byte("\n  }\n")) + len("\n  }\n")
			if i < 0 || j < i {
				t.Fatal("no ip_rule \"shop\" in the webshop example")
			}
			dup := bytes.Replace(b[i:j], []byte(`"shop"`), []byte(`"again"`), 1)
			b = append(append(append([]byte{}, b[:j]...), dup...), b[j:]...)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out, errOut bytes.Buffer
	code := Run([]string{"plan", "--sim", "-mode", "test", dir}, &out, &errOut)
	all := out.String() + errOut.String()
	if n := strings.Count(all, "Shadowed IP rule"); n != 1 {
		t.Errorf("plan --sim (exit %d) shows the warning %d times, want once:\n%s", code, n, all)
	}
}
