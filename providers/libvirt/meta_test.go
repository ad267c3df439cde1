package libvirt

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/drplan/drplan/providers"
)

func TestDomainNames(t *testing.T) {
	for _, path := range []string{"web-01", "drplan-drill/20261205T210845Z-b3d0/web-01", "drplan-replicas/db.example.com"} {
		name := DomainName(path)
		if strings.Contains(name, "/") {
			t.Errorf("%s: domain name %q has a /", path, name)
		}
		if PathOf(name) != path {
			t.Errorf("%s: %q reads back as %q", path, name, PathOf(name))
		}
	}
}

// TestRecordRoundTrip: a record written into a definition reads back the
// same, in drplan's namespace, whatever else the metadata holds.
func TestRecordRoundTrip(t *testing.T) {
	since := time.Date(2026, 12, 5, 21, 0, 0, 0, time.UTC)
	rec := &Record{
		Run:     "r1",
		Replica: &ReplicaRecord{VM: "web-01", Group: "web", Site: "east", IPs: []string{"10.1.0.5/24", ""}},
		Points:  []string{fmtTime(since), fmtTime(since.Add(15 * time.Minute))},
		Lock:    &providers.LockHolder{Run: "r1", Mode: "failover", Host: "h", PID: 7, Since: since, Expires: since.Add(time.Hour)},
		Volumes: []string{"/pool/a@vda.qcow2"},
	}
	x, err := metadataXML(rec)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(x, `<drplan:vm xmlns:drplan="`+MetadataURI+`">`) || strings.Contains(x, "<vm") {
		t.Fatalf("not in drplan's namespace: %s", x)
	}
	got, err := recordFromMetadata(`<other:x xmlns:other="urn:x"><other:vm/></other:x>` + x)
	if err != nil || got == nil {
		t.Fatalf("read back: %v, %v", got, err)
	}
	got.XMLName = rec.XMLName
	if !reflect.DeepEqual(got, rec) {
		t.Fatalf("read back\n%+v\nwant\n%+v", got, rec)
	}
	if ps := got.points(); len(ps) != 2 || !ps[1].Equal(since.Add(15*time.Minute)) {
		t.Fatalf("points %v", ps)
	}
}
