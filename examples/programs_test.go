package examples

import (
	"bytes"
	"context"
	"flag"
	"github.com/drplan/drplan/internal/invtest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/drplan/drplan/compiler"
	"github.com/drplan/drplan/internal/clock"
	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/providers/vsphere"
	"github.com/drplan/drplan/runner"
	"github.com/drplan/drplan/simulate"
)

var update = flag.Bool("update", false, "rewrite the golden programs")

// snapshot builds an example's simulated world and reads it the way the
// CLI does: through the vSphere provider, over HTTPS.
func snapshot(t *testing.T, p *plans.Plan) *inventory.Snapshot {
	t.Helper()
	ctx := context.Background()
	v := clock.NewVirtual(time.Now())
	defer v.Close()
	w, err := simulate.New(ctx, p, simulate.Options{Clock: v})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	snap := &inventory.Snapshot{Taken: v.Now(), Sites: map[string]*inventory.Site{}}
	for _, s := range w.Sites {
		cfg := s.Config()
		cfg.ReadOnly = true
		site, err := vsphere.Connector{}.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		inv, err := site.Inventory(ctx)
		if err != nil {
			t.Fatal(err)
		}
		inv.Name, inv.Reachable = s.Name, true
		snap.Sites[s.Name] = inv
		site.Close(ctx)
	}
	return snap
}

// TestGoldenPrograms compiles every example, and the shared conformance
// plan, for every mode against its
// simulated world and compares the program with testdata/golden (rewrite
// with -update). Two compiles must give the same bytes.
func TestGoldenPrograms(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	dirs := map[string]string{"conformance": filepath.Join("..", "..", "shared", "spec", "conformance", "full")}
	for _, e := range entries {
		// Plan directories only: testdata and ci hold none.
		if files, _ := plans.PlanFiles(e.Name()); e.IsDir() && len(files) > 0 {
			dirs[e.Name()] = e.Name()
		}
	}
	for name, dir := range dirs {
		t.Run(name, func(t *testing.T) {
			p, diags := plans.Load(dir, plans.LoadOptions{Environ: []string{}})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			snap := snapshot(t, p)
			p, diags = plans.Load(dir, plans.LoadOptions{Environ: []string{}, SelectorMatches: compiler.SelectorMatches(p, snap)})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			for _, mode := range plans.Modes {
				opts := compiler.Options{Mode: mode}
				snap := invtest.For(mode, snap, p)
				prog, diags := compiler.Compile(p, snap, opts)
				if prog != nil {
					runner.Estimate(prog)
				}
				var got []byte
				if diags.HasErrors() {
					// A mode the example's sites refuse (the faults
					// example's lagging replication refuses a migration):
					// the golden file holds the errors.
					for _, d := range diags {
						if d.Severity == hcl.DiagError {
							got = append(got, []byte("error: "+d.Summary+"\n")...)
						}
					}
				} else {
					// The chosen points are the world's clock: not golden.
					for i := range prog.Groups {
						prog.Groups[i].Chosen = ""
					}
					var err error
					if got, err = prog.JSON(); err != nil {
						t.Fatal(err)
					}
					again, _ := compiler.Compile(p, snap, opts)
					runner.Estimate(again)
					for i := range again.Groups {
						again.Groups[i].Chosen = ""
					}
					if b, _ := again.JSON(); !bytes.Equal(got, b) {
						t.Errorf("%s: two compiles differ", mode)
					}
				}
				golden := filepath.Join("testdata", "golden", name+"."+string(mode)+".json")
				if *update {
					os.MkdirAll(filepath.Dir(golden), 0o755)
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (go test ./examples -run Golden -update writes it)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s: the program differs from %s; if the change is intended, rerun with -update", mode, golden)
				}
			}
		})
	}
}
