package command

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drplan/drplan/internal/history"
	"github.com/drplan/drplan/rundir"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	dto "github.com/prometheus/client_model/go"
)

// metricsOf parses OpenMetrics output with the Prometheus text parser (as
// node_exporter's textfile collector does).
func metricsOf(t *testing.T, b []byte) map[string]*dto.MetricFamily {
	t.Helper()
	if !bytes.HasSuffix(b, []byte("# EOF\n")) {
		t.Errorf("the file does not end with # EOF:\n%s", b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the metrics do not parse: %v\n%s", err, b)
	}
	for name, mf := range mfs {
		if mf.GetHelp() == "" || mf.GetType() != dto.MetricType_GAUGE {
			t.Errorf("%s: help %q, type %v: want HELP and TYPE gauge", name, mf.GetHelp(), mf.GetType())
		}
	}
	return mfs
}

// value is the sample of family name whose labels include want, NaN when
// there is none.
func value(mfs map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	mf := mfs[name]
	if mf == nil {
		return math.NaN()
	}
next:
	for _, m := range mf.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		return m.GetGauge().GetValue()
	}
	return math.NaN()
}

// TestStatusOpenMetrics: drplan status -format openmetrics -o FILE writes
// a textfile-collector file whose values are the status's, and exits as
// drplan status does.
func TestStatusOpenMetrics(t *testing.T) {
	dir := statusPlan(t, `  drill_interval = "30d"
`, `  vm "web-02" {
    site       = site.east
    folder     = "prod/web"
    replicated = false
  }
  vm "tmp-01" {
    site   = site.east
    folder = "prod/web"
  }
  fault "replication_lag" {
    protection_group = protection_group.db
    lag              = "1h"
  }
`)
	file := filepath.Join(t.TempDir(), "drplan.prom")
	var out, errOut bytes.Buffer
	code := Run([]string{"status", "--sim", "-format", "openmetrics", "-o", file, dir}, &out, &errOut)
	if code != ExitViolation {
		t.Fatalf("exit %d, want %d (lag and drift)\n%s", code, ExitViolation, errOut.String())
	}
	if out.Len() != 0 {
		t.Errorf("-o FILE, yet standard output has:\n%s", out.String())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	mfs := metricsOf(t, b)
	web := map[string]string{"plan": "shop", "group": "web", "site": "east", "recovery_site": "west"}
	db := map[string]string{"plan": "shop", "group": "db", "site": "east", "recovery_site": "west"}
	plan := map[string]string{"plan": "shop"}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"drplan_rpo_target_seconds", web, 15 * 60},
		{"drplan_rpo_target_seconds", db, 5 * 60},
		{"drplan_drift_count", web, 2}, // web-02 without a replica, tmp-01 unprotected
		{"drplan_drift_count", db, 0},
		{"drplan_replicas", web, 1},
		{"drplan_replicas_healthy", web, 1},
		{"drplan_replicas", db, 1},
		{"drplan_replicas_healthy", db, 0},
		{"drplan_group_healthy", web, 0},
		{"drplan_healthy", plan, 0},
		{"drplan_drill_interval_seconds", plan, 30 * 24 * 3600},
	} {
		if got := value(mfs, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := value(mfs, "drplan_recovery_point_age_seconds", db); !(got >= 3600 && got < 2*3600) {
		t.Errorf("db's recovery point age = %v, want about an hour (plan time)", got)
	}
	if got := value(mfs, "drplan_recovery_point_age_seconds", web); !(got >= 0 && got <= 15*60) {
		t.Errorf("web's recovery point age = %v, want within its 15m RPO", got)
	}
	if _, ok := mfs["drplan_last_drill_age_seconds"]; ok {
		t.Errorf("no drill passed, yet drplan_last_drill_age_seconds is there:\n%s", b)
	}

	// A drill passed two days ago: its age is there; a healthy world
	// exits 0; without -o the metrics go to standard output.
	dir = statusPlan(t, `  drill_interval = "30d"
`, "")
	at := time.Now().UTC().Add(-48 * time.Hour)
	j, err := rundir.OpenJournal(filepath.Join(history.RunsDir(filepath.Join(dir, ".drplan")), at.Format("20060102T150405Z")+"-0001"), nil)
	if err != nil {
		t.Fatal(err)
	}
	j.Write(rundir.Event{Time: at, Type: rundir.EventRunStarted, Detail: map[string]string{"mode": "test", "plan": "shop"}})
	j.Write(rundir.Event{Time: at.Add(time.Minute), Type: rundir.EventRunFinished, Result: "passed"})
	j.Close()
	out.Reset()
	errOut.Reset()
	if code := Run([]string{"status", "--sim", "-format", "openmetrics", dir}, &out, &errOut); code != ExitOK {
		t.Fatalf("exit %d, want 0\n%s\n%s", code, out.String(), errOut.String())
	}
	mfs = metricsOf(t, out.Bytes())
	if got := value(mfs, "drplan_last_drill_age_seconds", plan); !(got > 47*3600 && got < 49*3600) {
		t.Errorf("drplan_last_drill_age_seconds = %v, want about two days", got)
	}
	if got := value(mfs, "drplan_healthy", plan); got != 1 {
		t.Errorf("drplan_healthy = %v, want 1", got)
	}
	if !strings.Contains(out.String(), "# TYPE drplan_drift_count gauge") {
		t.Errorf("no TYPE line:\n%s", out.String())
	}

	// A format it does not know, or -json against another format.
	for _, args := range [][]string{{"-format", "prom"}, {"-json", "-format", "openmetrics"}} {
		errOut.Reset()
		if code := Run(append(append([]string{"status", "--sim"}, args...), dir), &out, &errOut); code != ExitError {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, ExitError, errOut.String())
		}
	}
}
