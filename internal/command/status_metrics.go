package command

import (
	"bytes"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/drplan/drplan/operations"
)

// writeStatusMetrics renders the status as OpenMetrics text for
// node_exporter's textfile collector (or any scraper): gauges per group
// and per plan, HELP and TYPE lines, # EOF. Only gauges, so the classic
// Prometheus text parser reads the file too (# EOF is a comment to it).
//
// Ages are the status's: plan time for a simulation, wall time live. A
// group without a recovery point has no drplan_recovery_point_age_seconds
// sample, a plan without a passed drill no drplan_last_drill_age_seconds,
// one without drill_interval no drplan_drill_interval_seconds: absent
// rather than NaN, so that `unless` (or absent()) alerts on them and no
// comparison silently holds.
func writeStatusMetrics(doc *operations.StatusDoc) ([]byte, error) {
	gauge := func(name, help string) *dto.MetricFamily {
		return &dto.MetricFamily{Name: &name, Help: &help, Type: dto.MetricType_GAUGE.Enum()}
	}
	label := func(name, value string) *dto.LabelPair { return &dto.LabelPair{Name: &name, Value: &value} }
	sample := func(mf *dto.MetricFamily, v float64, labels ...*dto.LabelPair) {
		mf.Metric = append(mf.Metric, &dto.Metric{Label: labels, Gauge: &dto.Gauge{Value: &v}})
	}

	age := gauge("drplan_recovery_point_age_seconds", "Age of the protection group's latest recovery point (plan time for a simulation); absent without one.")
	rpo := gauge("drplan_rpo_target_seconds", "The protection group's RPO.")
	drift := gauge("drplan_drift_count", "VMs of the group that drifted from the plan: unprotected where its selectors look, not found, without a replica, or with disks not replicated.")
	healthy := gauge("drplan_replicas_healthy", "The group's replicas whose latest point is within the RPO.")
	replicas := gauge("drplan_replicas", "The group's replicas found at the recovery site.")
	groupOK := gauge("drplan_group_healthy", "1 when the group is within its RPO, matches the plan and its sites could be read, else 0.")
	for _, g := range doc.Groups {
		labels := []*dto.LabelPair{label("plan", doc.Plan), label("group", g.Name), label("site", g.Site), label("recovery_site", g.RecoverySite)}
		if g.AgeSeconds != nil {
			sample(age, *g.AgeSeconds, labels...)
		}
		sample(rpo, g.RPOSeconds, labels...)
		sample(drift, float64(len(g.Unprotected)+len(g.NotFound)+len(g.NoReplica)+len(g.LostDisks)), labels...)
		n := 0
		for _, r := range g.Replicas {
			if r.Healthy {
				n++
			}
		}
		sample(healthy, float64(n), labels...)
		sample(replicas, float64(len(g.Replicas)), labels...)
		sample(groupOK, boolFloat(g.Healthy), labels...)
	}

	plan := label("plan", doc.Plan)
	drill := gauge("drplan_last_drill_age_seconds", "Wall seconds since the start of the plan's last passed drill; absent when none passed.")
	if d := doc.LastDrill; d != nil && !d.LastPassed.IsZero() {
		sample(drill, doc.Checked.Sub(d.LastPassed).Seconds(), plan)
	}
	interval := gauge("drplan_drill_interval_seconds", "The plan's drill_interval; absent when the plan sets none.")
	if doc.DrillIntervalSeconds > 0 {
		sample(interval, doc.DrillIntervalSeconds, plan)
	}
	ok := gauge("drplan_healthy", "1 when drplan status would exit 0, else 0 (it exits 2).")
	sample(ok, boolFloat(doc.Healthy), plan)

	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeOpenMetrics))
	for _, mf := range []*dto.MetricFamily{age, rpo, drift, healthy, replicas, groupOK, drill, interval, ok} {
		if len(mf.Metric) == 0 {
			continue
		}
		if err := enc.Encode(mf); err != nil {
			return nil, err
		}
	}
	if _, err := expfmt.FinalizeOpenMetrics(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
