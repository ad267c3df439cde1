package command

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drplan/drplan/internal/history"
	"github.com/drplan/drplan/operations"
	"github.com/drplan/drplan/rundir"
)

// statusPlan is a plan whose group selects the VMs of a folder; sim is
// the body of its simulation block (after time_scale), meta its drplan
// block's attributes.
func statusPlan(t *testing.T, meta, sim string) string {
	t.Helper()
	dir := t.TempDir()
	src := `drplan {
  name = "shop"
` + meta + `}

site "east" {
  role       = "protected"
  datacenter = "DC-East"
}

site "west" {
  role       = "recovery"
  datacenter = "DC-West"
}

protection_group "web" {
  site          = site.east
  recovery_site = site.west
  vms           = ["web-01"]
  select {
    folder = "prod/web"
    name   = "web-*"
  }
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}

protection_group "db" {
  site          = site.east
  recovery_site = site.west
  vms           = ["db-01"]
  replication {
    method = "vsphere_replication"
    rpo    = "5m"
  }
}

recovery_plan "shop" {
  protection_groups = [protection_group.web, protection_group.db]
  network_mapping {
    from = "Prod"
    to   = "DR-Prod"
    test = "DR-Bubble"
  }
  tier "db" {
    priority = 1
    vms      = protection_group.db.vms
  }
  tier "web" {
    priority = 2
    vms      = protection_group.web.vms
  }
}

simulation {
  time_scale = 0.01
  vm "web-01" { folder = "prod/web" }
` + sim + `}
`
	if err := os.WriteFile(filepath.Join(dir, "main.drplan.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// status runs drplan status -json and returns its exit code and document.
func status(t *testing.T, dir string, args ...string) (int, *operations.StatusDoc, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(append(append([]string{"status", "-json", "--sim"}, args...), dir), &out, &errOut)
	var doc operations.StatusDoc
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("status -json exit %d, output is not JSON: %v\n%s\n%s", code, err, out.String(), errOut.String())
	}
	return code, &doc, errOut.String()
}

func group(doc *operations.StatusDoc, name string) *operations.GroupStatus {
	for i := range doc.Groups {
		if doc.Groups[i].Name == name {
			return &doc.Groups[i]
		}
	}
	return nil
}

// TestStatusExitCodes builds simulated worlds that are healthy, whose
// replication lags, and that drifted from the plan, and checks what
// drplan status says and its exit code: 0 healthy, 2 on any violation.
func TestStatusExitCodes(t *testing.T) {
	t.Run("healthy", func(t *testing.T) {
		code, doc, stderr := status(t, statusPlan(t, "", ""))
		if code != ExitOK || !doc.Healthy || len(doc.Violations) != 0 {
			t.Fatalf("exit %d, violations %+v\n%s", code, doc.Violations, stderr)
		}
		web := group(doc, "web")
		if web == nil || !web.Healthy || !web.RPOMet || web.Point == nil || *web.AgeSeconds > web.RPOSeconds || len(web.Replicas) != 1 || !web.Replicas[0].Healthy {
			t.Errorf("group web: %+v", web)
		}
		if doc.Target != "sim" || doc.LastDrill != nil {
			t.Errorf("target %s, last drill %+v (there was none)", doc.Target, doc.LastDrill)
		}
	})
	t.Run("replication lag", func(t *testing.T) {
		code, doc, _ := status(t, statusPlan(t, "", `  fault "replication_lag" {
    protection_group = protection_group.db
    lag              = "1h"
  }
`))
		if code != ExitViolation || doc.Healthy {
			t.Fatalf("exit %d, healthy %v: a group an hour behind its 5m RPO is a violation", code, doc.Healthy)
		}
		db := group(doc, "db")
		if db == nil || db.Healthy || db.RPOMet || *db.AgeSeconds < 3600 || db.Replicas[0].Healthy {
			t.Errorf("group db: %+v", db)
		}
		if web := group(doc, "web"); web == nil || !web.Healthy {
			t.Errorf("group web lags nothing: %+v", web)
		}
		if len(doc.Violations) != 1 || doc.Violations[0].Group != "db" || doc.Violations[0].Kind != "rpo" || !strings.Contains(doc.Violations[0].Message, "more than the 5m RPO") {
			t.Errorf("violations %+v", doc.Violations)
		}
	})
	t.Run("drift", func(t *testing.T) {
		// web-02 matches the selector but has no replica; tmp-01 sits in
		// the folder the selector looks in, and no group protects it.
		code, doc, _ := status(t, statusPlan(t, "", `  vm "web-02" {
    site       = site.east
    folder     = "prod/web"
    replicated = false
  }
  vm "tmp-01" {
    site   = site.east
    folder = "prod/web"
  }
`))
		if code != ExitViolation || doc.Healthy {
			t.Fatalf("exit %d, healthy %v: drift is a violation", code, doc.Healthy)
		}
		web := group(doc, "web")
		if web == nil || web.Healthy || strings.Join(web.VMs, ",") != "web-01,web-02" || strings.Join(web.NoReplica, ",") != "web-02" || strings.Join(web.Unprotected, ",") != "tmp-01" {
			t.Errorf("group web: %+v", web)
		}
		kinds := map[string]int{}
		for _, v := range doc.Violations {
			kinds[v.Kind]++
		}
		if kinds["drift"] != 2 || len(doc.Violations) != 2 {
			t.Errorf("violations %+v: want the missing replica and the unprotected VM", doc.Violations)
		}
	})
	t.Run("no target", func(t *testing.T) {
		var out, errOut bytes.Buffer
		if code := Run([]string{"status", statusPlan(t, "", "")}, &out, &errOut); code != ExitError || !strings.Contains(errOut.String(), "choose a target") {
			t.Errorf("exit %d: %s", code, errOut.String())
		}
	})
}

// TestStatusLastDrill: status reports the plan's last drill, and warns
// when its last passed drill is older than drill_interval (a warning,
// not a violation).
func TestStatusLastDrill(t *testing.T) {
	dir := statusPlan(t, `  drill_interval = "30d"
`, "")
	code, doc, _ := status(t, dir)
	if code != ExitOK || len(doc.Warnings) != 1 || !strings.Contains(doc.Warnings[0].Message, "no drill of the plan has passed yet") {
		t.Fatalf("never drilled: exit %d, warnings %+v", code, doc.Warnings)
	}

	// A drill that passed 40 days ago, and one that failed yesterday.
	fake := func(id string, at time.Time, result string) {
		j, err := rundir.OpenJournal(filepath.Join(history.RunsDir(filepath.Join(dir, ".drplan")), id), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		j.Write(rundir.Event{Time: at, Type: rundir.EventRunStarted, Detail: map[string]string{"mode": "test", "plan": "shop"}})
		j.Write(rundir.Event{Time: at.Add(time.Minute), Type: rundir.EventRunFinished, Result: result})
	}
	now := time.Now().UTC()
	old, recent := now.Add(-40*24*time.Hour), now.Add(-24*time.Hour)
	fake(old.Format("20060102T150405Z")+"-0001", old, "passed")
	fake(recent.Format("20060102T150405Z")+"-0002", recent, "failed")

	code, doc, _ = status(t, dir)
	if code != ExitOK {
		t.Errorf("an overdue drill is a warning, not a violation: exit %d", code)
	}
	d := doc.LastDrill
	if d == nil || !strings.HasSuffix(d.RunID, "-0002") || d.Result != "failed" || !strings.HasSuffix(d.LastPassedRunID, "-0001") {
		t.Fatalf("last drill %+v", d)
	}
	var msgs []string
	for _, w := range doc.Warnings {
		msgs = append(msgs, w.Message)
	}
	all := strings.Join(msgs, "\n")
	if !strings.Contains(all, "-0002, failed") || !strings.Contains(all, "older than the drill_interval of 30d") {
		t.Errorf("warnings:\n%s", all)
	}
}
