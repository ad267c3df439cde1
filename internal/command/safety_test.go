package command

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/providers/vsphere"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/simulate"
)

// pointsPlan is a two-group plan for the recovery-point tests: app is a
// consistency group of twelve VMs replicated every 30 s of plan time
// (60 ms of wall time) with a hundred points kept (six seconds of wall time), so that promoting it two at
// a time spans several new points; db is a CDP group with a journal.
func pointsPlan(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "points")
	os.MkdirAll(dir, 0o755)
	var vms []string
	for i := 1; i <= 12; i++ {
		vms = append(vms, `"app-`+string(rune('a'+i-1))+`"`)
	}
	src := strings.ReplaceAll(`drplan {
  name = "roundtrip"
}
`+liveSites+`protection_group "app" {
  site          = site.east
  recovery_site = site.west
  vms           = [VMS]
  consistency   = "group"
  replication {
    method    = "array_async"
    rpo       = "1m"
    retention = 100
  }
}
protection_group "db" {
  site          = site.east
  recovery_site = site.west
  vms           = ["db-01", "db-02"]
  replication {
    method  = "cdp"
    rpo     = "30s"
    journal = "4h"
  }
}
recovery_plan "shop" {
  protection_groups = [protection_group.db, protection_group.app]
  max_parallel      = 2
  network_mapping {
    from = "Prod"
    to   = "DR-Prod"
    test = "DR-Bubble"
  }
  tier "db" {
    priority = 1
    vms      = protection_group.db.vms
  }
  tier "app" {
    priority = 2
    vms      = protection_group.app.vms
  }
}
simulation {
  time_scale = 0.002
  boot_time  = "30s"
}
`, "VMS", strings.Join(vms, ", "))
	if err := os.WriteFile(filepath.Join(dir, "main.drplan.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// journalOf reads the journal of the run a command's output names.
func journalOf(t *testing.T, dir, out string) []rundir.Event {
	t.Helper()
	events, err := rundir.ReadJournal(filepath.Join(dir, ".drplan", "runs", runIDIn(out)))
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// promotedPoints returns, per VM, the point its promotion recovered.
func promotedPoints(events []rundir.Event) map[string]string {
	out := map[string]string{}
	for _, e := range events {
		if e.Type == rundir.EventStepFinished && strings.HasSuffix(e.Step.String(), "/promote") {
			vm := strings.Split(e.Step.String(), "/")[1]
			out[strings.TrimPrefix(vm, "vm.")] = e.Detail["point"]
		}
	}
	return out
}

// TestConsistencyGroupOnePoint: every VM of a consistency group is
// promoted from one recovery point, though replication takes new points
// while the group is being promoted, and the journal records the point
// chosen for the group before the first promotion.
func TestConsistencyGroupOnePoint(t *testing.T) {
	dir := pointsPlan(t)
	code, out := runCLI(t, "run", "-mode", "failover", "--sim", dir)
	if code != ExitOK {
		t.Fatalf("failover: exit %d\n%s", code, out)
	}
	events := journalOf(t, dir, out)
	points := promotedPoints(events)
	chosen := ""
	for _, e := range events {
		if e.Type == rundir.EventPointChosen && e.Detail["group"] == "app" {
			chosen = e.Detail["point"]
		}
	}
	if chosen == "" {
		t.Fatal("no point_chosen event for group app in the journal")
	}
	for i := 0; i < 12; i++ {
		vm := "app-" + string(rune('a'+i))
		if points[vm] != chosen {
			t.Errorf("%s promoted from point %q, want the group's %q", vm, points[vm], chosen)
		}
	}
}

// TestPointChoices: -point per group, a time inside a CDP journal's
// window recovered exactly, latest-consistent on CDP, and plan refusing
// a point no replica holds (as the run would).
func TestPointChoices(t *testing.T) {
	dir := pointsPlan(t)
	w, vars := worldFor(t, dir)
	pts := replicaPoints(t, w, "west", "db-01")
	if !pts.Continuous {
		t.Fatalf("db-01's replica points %s: want a CDP journal", pts)
	}
	// Halfway into the journal, to the nanosecond: only a journal has it.
	at := pts.JournalStart.Add(pts.Latest().Sub(pts.JournalStart) / 2).Add(123 * time.Nanosecond).UTC()

	before := pts.JournalStart.Add(-time.Hour).UTC().Format(time.RFC3339)
	code, out := runCLI(t, append(append([]string{"plan", "-mode", "failover"}, vars...), "-point", "db="+before, dir)...)
	if code != ExitError || !strings.Contains(out, "Recovery point not available") || !strings.Contains(out, `"db"`) {
		t.Errorf("plan with a point before the journal: exit %d, want 1 naming the group:\n%s", code, out)
	}
	code, out = runCLI(t, append(append([]string{"plan", "-mode", "failover"}, vars...), "-point", "nosuch=latest", dir)...)
	if code != ExitError || !strings.Contains(out, "No such protection group") {
		t.Errorf("plan with -point for an unknown group: exit %d, want 1:\n%s", code, out)
	}

	args := append(append([]string{"run", "-mode", "failover"}, vars...), "--confirm", "roundtrip",
		"-point", "latest-consistent", "-point", "db="+at.Format(time.RFC3339Nano), dir)
	code, out = runCLI(t, args...)
	if code != ExitOK {
		t.Fatalf("failover: exit %d\n%s", code, out)
	}
	points := promotedPoints(journalOf(t, dir, out))
	for _, vm := range []string{"db-01", "db-02"} {
		if points[vm] != at.Format(time.RFC3339Nano) {
			t.Errorf("%s promoted from %q, want exactly %s inside its journal", vm, points[vm], at.Format(time.RFC3339Nano))
		}
	}
	if points["app-a"] == "" || points["app-a"] != points["app-l"] {
		t.Errorf("app (latest-consistent) promoted from %q and %q, want one point", points["app-a"], points["app-l"])
	}

	// Another world: an older point copied from drplan.points, and
	// latest-consistent on a CDP group.
	dir = pointsPlan(t)
	w, vars = worldFor(t, dir)
	app := replicaPoints(t, w, "west", "app-a")
	if len(app.Times) < 3 {
		t.Fatalf("app-a's replica holds %s, want several points", app)
	}
	older := app.Times[len(app.Times)-3].UTC().Format(time.RFC3339Nano)
	args = append(append([]string{"run", "-mode", "failover"}, vars...), "--confirm", "roundtrip",
		"-point", "app="+older, "-point", "db=latest-consistent", dir)
	code, out = runCLI(t, args...)
	if code != ExitOK {
		t.Fatalf("failover from point %s: exit %d\n%s", older, code, out)
	}
	points = promotedPoints(journalOf(t, dir, out))
	for i := 0; i < 12; i++ {
		if vm := "app-" + string(rune('a'+i)); points[vm] != older {
			t.Errorf("%s promoted from %q, want the point %s copied from drplan.points", vm, points[vm], older)
		}
	}
	if points["db-01"] == "" || points["db-01"] != points["db-02"] {
		t.Errorf("db (CDP, latest-consistent) promoted from %q and %q, want one point", points["db-01"], points["db-02"])
	}
}

// replicaPoints reads the recovery points of a VM's replica at a site.
func replicaPoints(t *testing.T, w *simulate.World, site, vm string) inventory.RecoveryPoints {
	t.Helper()
	ctx := context.Background()
	cfg := w.Site(site).Config()
	cfg.ReadOnly = true
	s, err := vsphere.Connector{}.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	inv, err := s.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := inv.ReplicaOf(vm)
	if r == nil {
		t.Fatalf("no replica of %s at %s", vm, site)
	}
	return r.Replica.Points
}

// TestFailoverRecoverySiteDown: a failover whose recovery site does not
// answer changes nothing: the protected VMs keep running (before, it
// powered them all off and then failed at promotion) and the refusal
// says which site and why.
func TestFailoverRecoverySiteDown(t *testing.T) {
	dir, w, vars := liveWorld(t, `simulation {
  time_scale = 0.002
  boot_time  = "30s"
  fault "site_down" {
    site     = site.west
    at       = "start"
    duration = "3h"
  }
}
`)
	before := siteState(t, w, "east")
	code, out := runCLI(t, append(append([]string{"run", "-mode", "failover"}, vars...), "--confirm", "roundtrip", dir)...)
	if code != ExitError {
		t.Fatalf("failover with the recovery site down: exit %d, want 1\n%s", code, out)
	}
	if !strings.Contains(out, `Site "west" could not be read`) || !strings.Contains(out, "Nothing was changed") {
		t.Errorf("the refusal does not name the recovery site:\n%s", out)
	}
	if d := diffStates(before, siteState(t, w, "east")); d != "" {
		t.Errorf("the protected site changed:\n%s", d)
	}
}

// siteState is worldState for one site.
func siteState(t *testing.T, w *simulate.World, site string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range worldState(t, w, site) {
		out[k] = v
	}
	return out
}

// TestReIPWithoutTheProtectedAddress: a failover re-addresses a VM whose
// address cannot be read at the protected site (it is off) from the
// address its replication recorded, and records where it came from; a VM
// whose address nobody knows is named in a warning, in the output and
// the report, never passed over in silence. A drill records the
// protected VMs' addresses with their replicas.
func TestReIPWithoutTheProtectedAddress(t *testing.T) {
	dir, w, vars := liveWorld(t, "")
	ctx := context.Background()
	east, err := vsphere.Connector{}.Open(ctx, w.Site("east").Config())
	if err != nil {
		t.Fatal(err)
	}
	defer east.Close(ctx)
	west, err := vsphere.Connector{}.Open(ctx, w.Site("west").Config())
	if err != nil {
		t.Fatal(err)
	}
	defer west.Close(ctx)
	replica := providers.VM{Site: "west", Path: vsphere.ReplicaFolder + "/db-01"}

	// A wrong record is put right by a drill, which reads the VM running.
	if err := west.RecordAddresses(ctx, replica, []string{"10.1.7.7"}); err != nil {
		t.Fatal(err)
	}
	if code, out := runCLI(t, append(append([]string{"drill"}, vars...), dir)...); code != ExitOK {
		t.Fatalf("drill: exit %d\n%s", code, out)
	}
	if got := replicaAddress(t, w, "db-01"); got != "10.1.0.10" {
		t.Errorf("after a drill db-01's replica records %q, want its address 10.1.0.10", got)
	}

	// Off before the failover: its guest reports no address.
	for _, vm := range []string{"db-01", "web-01"} {
		if err := east.PowerOff(ctx, providers.VM{Site: "east", Path: vm}); err != nil {
			t.Fatal(err)
		}
	}
	// web-01's record is lost as well: nobody knows its address.
	if err := west.RecordAddresses(ctx, providers.VM{Site: "west", Path: vsphere.ReplicaFolder + "/web-01"}, nil); err != nil {
		t.Fatal(err)
	}
	code, out, rep := runMode(t, dir, vars, "failover")
	if code != ExitOK {
		t.Fatalf("failover: exit %d\n%s", code, out)
	}
	st := worldState(t, w, "west")
	if got := st["west:db-01"]; !strings.HasSuffix(got, "ip=10.2.0.10") {
		t.Errorf("db-01 after the failover: %q, want re-addressed to 10.2.0.10 from its recorded 10.1.0.10", got)
	}
	if !strings.Contains(out, "Address unknown") || !strings.Contains(out, `"web-01"`) {
		t.Errorf("the failover does not warn that web-01's address is unknown:\n%s", out)
	}
	warned := false
	for _, w := range rep.Warnings {
		warned = warned || strings.Contains(w, "web-01") && strings.Contains(w, "Address unknown")
	}
	if !warned {
		t.Errorf("the report's warnings do not name web-01's unknown address: %q", rep.Warnings)
	}
	origin := ""
	for _, s := range rep.Steps {
		if s.Addr.String() == "tier.db/vm.db-01/customize" {
			origin = s.Detail["address"]
		}
	}
	if origin != "10.2.0.10/16" {
		t.Errorf("db-01's customize step set %q, want 10.2.0.10/16", origin)
	}
}

// replicaAddress reads the address a VM's replica at west records.
func replicaAddress(t *testing.T, w *simulate.World, vm string) string {
	t.Helper()
	ctx := context.Background()
	cfg := w.Site("west").Config()
	cfg.ReadOnly = true
	s, err := vsphere.Connector{}.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	inv, err := s.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := inv.ReplicaOf(vm)
	if r == nil {
		t.Fatalf("no replica of %s", vm)
	}
	return r.Replica.Address()
}

// TestSecondFailover: a failover after a completed one says the groups
// already failed over and what comes next, not "Replica missing".
func TestSecondFailover(t *testing.T) {
	dir, _, vars := liveWorld(t, "")
	if code, out, _ := runMode(t, dir, vars, "failover"); code != ExitOK {
		t.Fatalf("failover: exit %d\n%s", code, out)
	}
	code, out := runCLI(t, append(append([]string{"run", "-mode", "failover"}, vars...), "--confirm", "roundtrip", dir)...)
	if code != ExitError || !strings.Contains(out, "Already failed over") || !strings.Contains(out, "drplan run -mode reprotect") || strings.Contains(out, "Replica missing") {
		t.Errorf("a second failover: exit %d, want 1 saying it already failed over and that reprotect is next:\n%s", code, out)
	}
}
