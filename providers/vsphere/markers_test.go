package vsphere

import (
	"reflect"
	"testing"
	"time"
)

func TestRecoveryPointsRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	for _, p := range []RecoveryPoints{
		{Times: []time.Time{t0, t0.Add(15 * time.Minute)}},
		{Continuous: true, JournalStart: t0, Times: []time.Time{t0.Add(24 * time.Hour)}},
		{},
	} {
		back, err := ParseRecoveryPoints(FormatRecoveryPoints(p))
		if err != nil || FormatRecoveryPoints(back) != FormatRecoveryPoints(p) || !back.Latest().Equal(p.Latest()) {
			t.Errorf("round trip of %q: %q, %v", p, back, err)
		}
	}
	cdp := RecoveryPoints{Continuous: true, JournalStart: t0, Times: []time.Time{t0.Add(time.Hour)}}
	if !cdp.Has(t0.Add(30*time.Minute)) || cdp.Has(t0.Add(2*time.Hour)) {
		t.Error("journal window membership is wrong")
	}
	if _, err := ParseRecoveryPoints("yesterday"); err == nil {
		t.Error("want an error")
	}
	r := ReplicaInfo{VM: "db-01", Group: "db", Site: "east", IPs: []string{"10.1.0.5", "", "fd00::5"}}
	if back, err := ParseReplicaInfo(r.String()); err != nil || !reflect.DeepEqual(back, r) {
		t.Errorf("replica info round trip: %v %v", back, err)
	}
}
