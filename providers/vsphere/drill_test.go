package vsphere_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"

	"github.com/drplan/drplan/internal/errs"
	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/providers/vsphere"
	"github.com/drplan/drplan/simulate"
)

func vmAt(t *testing.T, site providers.Site, path string) *inventory.VM {
	t.Helper()
	inv, err := site.Inventory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range inv.VMs {
		if v.Path() == path {
			return v
		}
	}
	return nil
}

// TestClone copies a replica into a drill folder on the test network:
// the copy is marked with the run, powered off, on the right port group,
// and so is the run's own folder (the last of the path) that the clone
// created; the folder above it, which runs share, is not.
func TestClone(t *testing.T) {
	w := newWorld(t, "")
	site := open(t, w.Site("west"))
	ctx := inPlanTime(t, w)
	vm := cloneCopy(t, site, "web-01", "drills/run-1", "run-1")
	if vm.Ref == "" || vm.Path != "drills/run-1/web-01" || vm.Site != "west" {
		t.Errorf("clone returned %+v", vm)
	}
	c := vmAt(t, site, "drills/run-1/web-01")
	if c == nil {
		t.Fatal("the copy is not in the inventory")
	}
	if c.Run != "run-1" || c.PowerState != "poweredOff" || c.Ref != vm.Ref || c.Replica != nil {
		t.Errorf("copy: run %q, %s, ref %s, replica %v", c.Run, c.PowerState, c.Ref, c.Replica)
	}
	if len(c.NICs) != 1 || c.NICs[0].Network != "DR-Bubble" || !c.NICs[0].Connected {
		t.Errorf("copy NICs %+v, want one on DR-Bubble that connects at power-on", c.NICs)
	}
	marked, err := site.Marked(ctx, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	want := []providers.VM{
		{Site: "west", Path: "drills/run-1/web-01", Ref: vm.Ref},
		{Site: "west", Path: "drills/run-1"},
	}
	if len(marked) != len(want) {
		t.Fatalf("marked %+v, want %+v", marked, want)
	}
	for i := range want {
		if marked[i].Path != want[i].Path || marked[i].Ref == "" || (want[i].Ref != "" && marked[i].Ref != want[i].Ref) {
			t.Errorf("marked[%d] = %+v, want %+v", i, marked[i], want[i])
		}
	}
	if other, err := site.Marked(ctx, "run-2"); err != nil || len(other) != 0 {
		t.Errorf("another run's marks: %v %v", other, err)
	}

	// A second copy into the existing folder, and a retry of the first:
	// the retry returns the copy it made.
	cloneCopy(t, site, "web-02", "drills/run-1", "run-1")
	again := cloneCopy(t, site, "web-01", "drills/run-1", "run-1")
	if again.Ref != vm.Ref {
		t.Errorf("retried clone made %+v, want the first copy %s", again, vm.Ref)
	}
	// Another run may not take it over.
	_, err = site.Clone(ctx, providers.CloneRequest{Replica: replica("web-01"), Name: "web-01", Folder: "drills/run-1", RunID: "run-9"})
	if kindOf(err) != errs.Permanent || !strings.Contains(err.Error(), "duplicate name") {
		t.Errorf("clone over another run's copy: %v, want a Permanent DuplicateName", err)
	}
}

// TestClonePoints: the zero time and the latest point copy the replica as
// it is; a listed older point too (its replication presents it); a point
// with a snapshot makes a linked clone of it; a point the replica lacks is
// a Permanent error naming the points it has.
func TestClonePoints(t *testing.T) {
	w := newWorld(t, "")
	site := open(t, w.Site("west"))
	ctx := inPlanTime(t, w)
	rep := vmAt(t, site, vsphere.ReplicaFolder+"/web-01")
	points := rep.Replica.Points
	if len(points.Times) < 2 {
		t.Fatalf("replica points %s", points)
	}
	req := func(name string, p time.Time) providers.CloneRequest {
		return providers.CloneRequest{Replica: providers.VM{Site: "west", Path: rep.Path(), Ref: rep.Ref}, Point: p, Name: name,
			Folder: "drills/points", Networks: []string{"DR-Bubble"}, RunID: "run-p"}
	}
	if _, err := site.Clone(ctx, req("latest", points.Latest())); err != nil {
		t.Errorf("clone of the latest point: %v", err)
	}

	missing := points.Latest().Add(-7 * time.Minute)
	_, err := site.Clone(ctx, req("missing", missing))
	if kindOf(err) != errs.Permanent || !strings.Contains(err.Error(), points.Times[0].UTC().Format(time.RFC3339)) {
		t.Errorf("clone of a point the replica lacks: %v, want a Permanent error naming its points %s", err, points)
	}
	// An older point the replica lists is one its replication presents
	// (FieldPoints): a consistency group recovers every replica from the
	// same point even when replication has moved on since it was chosen.
	if _, err = site.Clone(ctx, req("older", points.Times[0])); err != nil {
		t.Errorf("clone of an older listed point without a snapshot: %v", err)
	}

	// The replication product keeps older points as snapshots named after
	// them.
	c, err := govmomi.NewClient(ctx, w.Site("west").URL, true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Logout(ctx)
	finder := find.NewFinder(c.Client)
	finder.SetDatacenter(mustDC(t, finder, "DC-West"))
	v, err := finder.VirtualMachine(ctx, rep.Path())
	if err != nil {
		t.Fatal(err)
	}
	task, err := v.CreateSnapshot(ctx, points.Times[0].UTC().Format(time.RFC3339Nano), "recovery point", false, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := site.Clone(ctx, req("older", points.Times[0])); err != nil {
		t.Errorf("linked clone of a snapshot point: %v", err)
	}
	if _, err := site.Clone(ctx, req("zero", time.Time{})); err != nil {
		t.Errorf("clone of the zero time: %v", err)
	}
	marked, _ := site.Marked(ctx, "run-p")
	if len(marked) != 4 { // latest, older, zero, drills/points
		t.Errorf("marked %v", marked)
	}
}

func mustDC(t *testing.T, f *find.Finder, name string) *object.Datacenter {
	t.Helper()
	dc, err := f.Datacenter(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return dc
}

// TestMissingPortGroups: cloning onto or moving a NIC to a port group
// that does not exist is a Permanent error that lists those that do, and
// never reaches the simulator (which a missing standard port group would
// crash).
func TestMissingPortGroups(t *testing.T) {
	w := newWorld(t, "")
	site := open(t, w.Site("west"))
	ctx := inPlanTime(t, w)
	_, err := site.Clone(ctx, providers.CloneRequest{Replica: replica("web-01"), Name: "web-01", Folder: "drills/x",
		Networks: []string{"Nowhere"}, RunID: "run-x"})
	if kindOf(err) != errs.Permanent || !strings.Contains(err.Error(), `"Nowhere"`) || !strings.Contains(err.Error(), `"DR-Bubble"`) {
		t.Errorf("clone onto a missing port group: %v", err)
	}
	vm := cloneCopy(t, site, "web-01", "drills/x", "run-x")
	err = site.SetNetworks(ctx, vm, []string{"Nowhere", "Nor-Here"})
	if kindOf(err) != errs.Permanent || !strings.Contains(err.Error(), `"Nowhere", "Nor-Here"`) || !strings.Contains(err.Error(), `"DR-Prod"`) {
		t.Errorf("set networks onto missing port groups: %v", err)
	}
	if err := site.SetNetworks(ctx, vm, []string{"DR-Prod"}); err != nil {
		t.Fatalf("set networks after the refusal: %v", err)
	}
	if c := vmAt(t, site, vm.Path); c == nil || len(c.NICs) != 1 || c.NICs[0].Network != "DR-Prod" {
		t.Errorf("after SetNetworks: %+v", c)
	}
	err = site.SetNetworks(ctx, vm, []string{"DR-Prod", "DR-Bubble"})
	if kindOf(err) != errs.Permanent || !strings.Contains(err.Error(), "2 port groups for 1 NICs") {
		t.Errorf("more networks than NICs: %v", err)
	}
}

// TestCustomizeAndWaitIP: a customized copy comes up with the address
// customization gave it, and WaitReady(ip) reports it.
func TestCustomizeAndWaitIP(t *testing.T) {
	w := newWorld(t, "")
	site := open(t, w.Site("west"))
	ctx := inPlanTime(t, w)
	vm := cloneCopy(t, site, "web-01", "drills/ip", "run-ip")
	err := site.Customize(ctx, vm, providers.IPSettings{
		Address: netip.MustParsePrefix("10.9.0.77/24"), Gateway: netip.MustParseAddr("10.9.0.1"),
		DNS: []netip.Addr{netip.MustParseAddr("10.9.0.53")}, Hostname: "web-01.drill.example",
	})
	if err != nil {
		t.Fatal(err)
	}
	start := w.Clock.Now()
	if err := site.PowerOn(ctx, vm); err != nil {
		t.Fatal(err)
	}
	if err := site.PowerOn(ctx, vm); err != nil {
		t.Errorf("second power-on: %v, want none", err)
	}
	// Plan time: the guest boots in 40 s (simBlock).
	r := site.WaitReady(ctx, []providers.VM{vm}, providers.WaitIP, 2*time.Minute, nil)
	if len(r) != 1 || !r[0].Ready || r[0].Err != nil {
		t.Fatalf("WaitReady: %+v", r)
	}
	if r[0].IP != "10.9.0.77" {
		t.Errorf("IP %q, want the customized 10.9.0.77", r[0].IP)
	}
	if took := r[0].At.Sub(start); took != 40*time.Second {
		t.Errorf("ready after %v, want the boot time 40s", took)
	}
	// Powered on, the copy cannot be customized again.
	err = site.Customize(ctx, vm, providers.IPSettings{Address: netip.MustParsePrefix("10.9.0.78/24")})
	if kindOf(err) != errs.Permanent || !strings.Contains(err.Error(), "invalid power state") {
		t.Errorf("customizing a running VM: %v", err)
	}
	if err := site.PowerOff(ctx, vm); err != nil {
		t.Fatal(err)
	}
	if err := site.PowerOff(ctx, vm); err != nil {
		t.Errorf("second power-off: %v, want none", err)
	}
	// A VM that is not there is not running either; it cannot be started.
	for _, gone := range []providers.VM{{Site: "west", Path: "drills/ip/nope"}, {Site: "west", Path: "x", Ref: "vm-99999"}} {
		if err := site.PowerOff(ctx, gone); err != nil {
			t.Errorf("power-off of %v: %v, want none", gone, err)
		}
		if err := site.PowerOn(ctx, gone); kindOf(err) != errs.Permanent {
			t.Errorf("power-on of %v: %v, want a Permanent error", gone, err)
		}
	}
}

// TestWaitReadyBatch: one WaitReady over several VMs, in input order;
// VMs already up are ready at once.
func TestWaitReadyBatch(t *testing.T) {
	w := newWorld(t, "")
	site := open(t, w.Site("west"))
	east := open(t, w.Site("east"))
	ctx := inPlanTime(t, w)
	var vms []providers.VM
	for _, name := range []string{"web-03", "web-01", "web-02"} {
		vm := cloneCopy(t, site, name, "drills/batch", "run-b")
		if err := site.PowerOn(ctx, vm); err != nil {
			t.Fatal(err)
		}
		vms = append(vms, vm)
	}
	// Path only, no Ref.
	vms = append(vms, providers.VM{Site: "west", Path: "drills/batch/web-01"})
	r := site.WaitReady(ctx, vms, providers.WaitHeartbeat, 2*time.Minute, nil) // boots take 40 s
	if len(r) != len(vms) {
		t.Fatalf("%d results for %d VMs", len(r), len(vms))
	}
	for i, x := range r {
		if x.VM != vms[i] || !x.Ready || x.Err != nil || x.At.IsZero() {
			t.Errorf("result %d: %+v", i, x)
		}
	}
	up := east.WaitReady(ctx, []providers.VM{{Site: "east", Path: "prod/web/web-01"}}, providers.WaitIP, time.Second, nil)
	if !up[0].Ready || up[0].IP == "" {
		t.Errorf("running VM: %+v", up[0])
	}
	none := site.WaitReady(ctx, vms[:1], providers.WaitNone, time.Second, nil)
	if !none[0].Ready {
		t.Errorf("WaitNone on a powered-on VM: %+v", none[0])
	}
	missing := site.WaitReady(ctx, []providers.VM{{Site: "west", Path: "drills/batch/nope"}, {Site: "west", Ref: "vm-99999"}, vms[0]},
		providers.WaitNone, 500*time.Millisecond, nil)
	if missing[0].Ready || kindOf(missing[0].Err) != errs.Permanent || !strings.Contains(missing[0].Err.Error(), "no VM drills/batch/nope") {
		t.Errorf("missing VM: %+v", missing[0])
	}
	if missing[1].Ready || kindOf(missing[1].Err) != errs.Permanent || !strings.Contains(missing[1].Err.Error(), "does not exist") || !missing[2].Ready {
		t.Errorf("missing ref: %+v; beside it %+v", missing[1], missing[2])
	}
}

// TestWaitReadyTimeout: a VM whose guest never reports in times out with
// an error that says what was seen, while the rest of its batch is ready.
func TestWaitReadyTimeout(t *testing.T) {
	w := newWorld(t, `
  fault "boot_failure" {
    vm = "web-02"
  }
`)
	site := open(t, w.Site("west"))
	ctx := inPlanTime(t, w)
	var vms []providers.VM
	for _, name := range []string{"web-01", "web-02", "web-03"} {
		vm := cloneCopy(t, site, name, "drills/t", "run-t")
		if err := site.PowerOn(ctx, vm); err != nil {
			t.Fatal(err)
		}
		vms = append(vms, vm)
	}
	// Plan time, on the world's clock: the boots take 40 s, the batch
	// has 1m30s.
	start := w.Clock.Now()
	var order []int
	told := map[int]time.Time{}
	r := site.WaitReady(ctx, vms, providers.WaitHeartbeat, 90*time.Second, func(i int, rd providers.Readiness) {
		if _, twice := told[i]; twice {
			t.Errorf("VM %d reported twice", i)
		}
		told[i] = w.Clock.Now()
		order = append(order, i)
		if rd.VM != vms[i] {
			t.Errorf("report %d names %v", i, rd.VM)
		}
	})
	took := w.Clock.Since(start)
	// Each VM is reported as it is done: the two that boot before the one
	// that times out, and before the deadline.
	if len(order) != 3 || order[2] != 1 {
		t.Errorf("reported in order %v, want web-01 and web-03 before web-02", order)
	}
	for _, i := range []int{0, 2} {
		if at, ok := told[i]; !ok || !at.Before(start.Add(90*time.Second)) || r[i].At.After(at) {
			t.Errorf("VM %d reported at %v, ready at %v, after the batch's deadline", i, at.Sub(start), r[i].At.Sub(start))
		}
	}
	if took != 90*time.Second {
		t.Errorf("WaitReady returned after %v, want its 1m30s timeout", took)
	}
	if !r[0].Ready || !r[2].Ready {
		t.Errorf("web-01 and web-03 not ready: %+v %+v", r[0], r[2])
	}
	bad := r[1]
	if bad.Ready || bad.Err == nil {
		t.Fatalf("web-02 is ready: %+v", bad)
	}
	msg := bad.Err.Error()
	if !strings.Contains(msg, "no heartbeat after 1m30s: tools not running") || !strings.Contains(msg, "drills/t/web-02") {
		t.Errorf("error %q, want what was last seen", msg)
	}
	if !errors.Is(bad.Err, context.DeadlineExceeded) || !errs.Retryable(bad.Err) {
		t.Errorf("error %v: want a Transient timeout", bad.Err)
	}
	start = w.Clock.Now()
	r = site.WaitReady(ctx, vms[1:2], providers.WaitIP, 20*time.Second, nil)
	if r[0].Ready || !strings.Contains(r[0].Err.Error(), "no IP address after 20s: tools not running") {
		t.Errorf("WaitIP: %+v", r[0])
	}
	if took := w.Clock.Since(start); took != 20*time.Second {
		t.Errorf("WaitReady(ip) returned after %v, want its 20s timeout", took)
	}
	if err := site.PowerOff(ctx, vms[1]); err != nil {
		t.Fatal(err)
	}
	r = site.WaitReady(ctx, vms[1:2], providers.WaitNone, 200*time.Millisecond, nil)
	if r[0].Ready || !strings.Contains(r[0].Err.Error(), "no power-on after 200ms: the VM is poweredOff") {
		t.Errorf("WaitNone on a powered-off VM: %+v", r[0])
	}
}

// TestReadOnly: a read-only site refuses every mutation without making a
// single API call.
func TestReadOnly(t *testing.T) {
	w := newWorld(t, "")
	site := open(t, w.Site("west"), func(c *providers.SiteConfig) { c.ReadOnly = true })
	ctx := inPlanTime(t, w)
	if _, err := site.Inventory(ctx); err != nil {
		t.Fatal(err)
	}
	before := site.Calls()
	vm := replica("web-01")
	vm.Ref = "vm-1"
	_, cloneErr := site.Clone(ctx, providers.CloneRequest{Replica: vm, Name: "x", Folder: "drills", Networks: []string{"DR-Bubble"}, RunID: "r"})
	_, guestErr := site.RunInGuest(ctx, vm, providers.GuestRequest{Program: "/bin/true", Username: "root", Password: "pw"})
	_, promoteErr := site.Promote(ctx, providers.PromoteRequest{Replica: vm, Target: "web-01", RunID: "r"})
	_, demoteErr := site.Demote(ctx, providers.DemoteRequest{VM: vm, Of: "web-01", Group: "web", Site: "east", RunID: "r"})
	_, suspendErr := site.Suspend(ctx, vm, "r")
	_, resumeErr := site.Resume(ctx, vm, "r")
	for name, err := range map[string]error{
		"clone":        cloneErr,
		"set_networks": site.SetNetworks(ctx, vm, []string{"DR-Bubble"}),
		"customize":    site.Customize(ctx, vm, providers.IPSettings{Address: netip.MustParsePrefix("10.0.0.1/24")}),
		"power_on":     site.PowerOn(ctx, vm),
		"power_off":    site.PowerOff(ctx, vm),
		"destroy":      site.Destroy(ctx, vm),
		"guest":        guestErr,
		"promote":      promoteErr,
		"reverse":      demoteErr,
		"shutdown":     site.Shutdown(ctx, vm),
		"suspend":      suspendErr,
		"resume":       resumeErr,
		"lock":         site.Lock(ctx, "web", providers.LockHolder{Run: "r"}),
	} {
		var pe *errs.Error
		if !errors.As(err, &pe) || pe.Kind != errs.ReadOnlyViolation || pe.Op != name {
			t.Errorf("%s on a read-only site: %v", name, err)
		}
	}
	if after := site.Calls(); after != before {
		t.Errorf("the refused mutations made %d API calls", after-before)
	}
	if rep := vmAt(t, site, vsphere.ReplicaFolder+"/web-01"); rep == nil || rep.PowerState != "poweredOff" {
		t.Errorf("the replica changed: %+v", rep)
	}
}

// TestAPIError: an injected fault in PowerOnVM_Task is a Transient error.
func TestAPIError(t *testing.T) {
	w := newWorld(t, `
  fault "api_error" {
    method      = "PowerOnVM_Task"
    probability = 1
    site        = site.west
  }
`)
	site := open(t, w.Site("west"))
	vm := cloneCopy(t, site, "web-01", "drills/api", "run-a")
	err := site.PowerOn(context.Background(), vm)
	if !errs.Retryable(err) || !strings.Contains(err.Error(), "simulated API error") {
		t.Errorf("power-on with an injected fault: %v (kind %d), want Transient", err, kindOf(err))
	}
	var pe *errs.Error
	if errors.As(err, &pe) && (pe.Op != "power_on" || pe.Object != "west:drills/api/web-01") {
		t.Errorf("error names %q on %q", pe.Op, pe.Object)
	}
}

// TestDestroyAndMarked: destroying what Marked lists, in its order,
// leaves nothing of the run; destroying again is fine; replicas and
// folders that are not empty are not destroyed; the folders above a
// run's own stay.
func TestDestroyAndMarked(t *testing.T) {
	w := newWorld(t, "")
	site := open(t, w.Site("west"))
	ctx := inPlanTime(t, w)
	a := cloneCopy(t, site, "web-01", "drills/run-d/a", "run-d")
	cloneCopy(t, site, "web-02", "drills/run-d", "run-d")
	if err := site.PowerOn(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := site.Destroy(ctx, providers.VM{Site: "west", Path: "drills/run-d"}); kindOf(err) != errs.Permanent || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("destroying a folder that is not empty: %v", err)
	}
	if err := site.Destroy(ctx, replica("web-03")); kindOf(err) != errs.Permanent || !strings.Contains(err.Error(), "replica") {
		t.Errorf("destroying a replica: %v", err)
	}
	marked, err := site.Marked(ctx, "run-d")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, m := range marked {
		paths = append(paths, m.Path)
	}
	// drills/run-d/a is the only folder a clone made as the last of its
	// path; drills/run-d was there when the second clone went into it.
	want := []string{"drills/run-d/a/web-01", "drills/run-d/web-02", "drills/run-d/a"}
	if !slices.Equal(paths, want) {
		t.Fatalf("marked %v, want %v", paths, want)
	}
	for _, m := range marked {
		if err := site.Destroy(ctx, m); err != nil {
			t.Errorf("destroy %s: %v", m.Path, err)
		}
	}
	if left, err := site.Marked(ctx, "run-d"); err != nil || len(left) != 0 {
		t.Errorf("after destroying: %v %v", left, err)
	}
	for _, m := range marked {
		if err := site.Destroy(ctx, m); err != nil {
			t.Errorf("destroy %s again: %v", m.Path, err)
		}
		if err := site.Destroy(ctx, providers.VM{Site: "west", Path: m.Path}); err != nil {
			t.Errorf("destroy %s again by path: %v", m.Path, err)
		}
	}
	if rep := vmAt(t, site, vsphere.ReplicaFolder+"/web-01"); rep == nil {
		t.Error("the replica went with its copy")
	}
	for _, p := range []string{"drills/run-d", "drills"} {
		if !folderExists(t, w, p) {
			t.Errorf("folder %s, which the run did not mark, went with the run's", p)
		}
	}
	// Removing the run's own folder (as a drill's cleanup does) leaves
	// the shared drill folder above it, which the first run created,
	// unmarked and in place for the next runs.
	e := cloneCopy(t, site, "web-01", "drplan-drill/run-e", "run-e")
	f := cloneCopy(t, site, "web-02", "drplan-drill/run-f", "run-f")
	for _, vm := range []providers.VM{e, {Site: "west", Path: "drplan-drill/run-e"}} {
		if err := site.Destroy(ctx, vm); err != nil {
			t.Fatal(err)
		}
	}
	if left, err := site.Marked(ctx, "run-e"); err != nil || len(left) != 0 {
		t.Errorf("run-e left %v %v", left, err)
	}
	for _, vm := range []providers.VM{f, {Site: "west", Path: "drplan-drill/run-f"}} {
		if err := site.Destroy(ctx, vm); err != nil {
			t.Fatal(err)
		}
	}
	if left, err := site.Marked(ctx, "run-f"); err != nil || len(left) != 0 {
		t.Errorf("run-f left %v %v", left, err)
	}
	if !folderExists(t, w, "drplan-drill") {
		t.Error("the shared drill folder is gone")
	}
	// Someone removes the empty drill folder; the next run makes it
	// again, and marks only its own.
	if err := site.Destroy(ctx, providers.VM{Site: "west", Path: "drplan-drill"}); err != nil {
		t.Fatal(err)
	}
	g := cloneCopy(t, site, "web-01", "drplan-drill/run-g", "run-g")
	if left, err := site.Marked(ctx, "run-g"); err != nil || len(left) != 2 || left[1].Path != "drplan-drill/run-g" {
		t.Errorf("run-g marked %v %v, want its copy and its folder", left, err)
	}
	for _, vm := range []providers.VM{g, {Site: "west", Path: "drplan-drill/run-g"}} {
		if err := site.Destroy(ctx, vm); err != nil {
			t.Fatal(err)
		}
	}
	if left, err := site.Marked(ctx, "run-g"); err != nil || len(left) != 0 {
		t.Errorf("run-g left %v %v after its folder was removed", left, err)
	}
	if !folderExists(t, w, "drplan-drill") {
		t.Error("the drill folder went with run-g's")
	}
}

// folderExists looks a folder up under the vm folder of DC-West with a
// client of its own.
func folderExists(t *testing.T, w *simulate.World, p string) bool {
	t.Helper()
	ctx := context.Background()
	c, err := govmomi.NewClient(ctx, w.Site("west").URL, true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Logout(ctx)
	finder := find.NewFinder(c.Client)
	finder.SetDatacenter(mustDC(t, finder, "DC-West"))
	_, err = finder.Folder(ctx, "vm/"+p)
	return err == nil
}

// TestCallsPerVM measures the API calls of a small drill batch: clone,
// networks, power-on, one wait for all.
func TestCallsPerVM(t *testing.T) {
	var names []string
	for i := 1; i <= 8; i++ {
		names = append(names, fmt.Sprintf("%q", fmt.Sprintf("app-%02d", i)))
	}
	// A call budget: on a scaled clock, as the budgets of
	// drillcalls_test.go are (see batchWorld).
	w := newScaledWorldFrom(t, strings.Replace(basePlan, `["web-01", "web-02", "web-03"]`, "["+strings.Join(names, ", ")+"]", 1)+`
simulation {
  time_scale = 0.005
  boot_time  = "40s"
}
`)
	protectClones(w.Site("west"))
	site := open(t, w.Site("west"))
	ctx := context.Background()
	inv, err := site.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := site.Calls()
	var (
		mu  sync.Mutex
		vms []providers.VM
		wg  sync.WaitGroup
	)
	for _, r := range inv.VMs {
		wg.Go(func() {
			vm, err := site.Clone(ctx, providers.CloneRequest{Replica: providers.VM{Site: "west", Path: r.Path(), Ref: r.Ref},
				Name: r.Name, Folder: "drills/calls", Networks: []string{"DR-Bubble"}, RunID: "run-c"})
			if err == nil {
				err = site.SetNetworks(ctx, vm, []string{"DR-Bubble"})
			}
			if err == nil {
				err = site.PowerOn(ctx, vm)
			}
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			vms = append(vms, vm)
			mu.Unlock()
		})
	}
	wg.Wait()
	// Plan time on the scaled clock: 30 min is 9 s of wall time.
	for _, r := range site.WaitReady(ctx, vms, providers.WaitHeartbeat, 30*time.Minute, nil) {
		if !r.Ready {
			t.Errorf("%s: %v", r.VM, r.Err)
		}
	}
	n := site.Calls() - before
	perVM := float64(n) / float64(len(inv.VMs))
	t.Logf("%d VMs: %d API calls, %.1f per VM (clone, set networks, power on, wait); server saw %v", len(inv.VMs), n, perVM, w.Site("west").Calls())
	if perVM > 12 {
		t.Errorf("%.1f calls per VM", perVM)
	}
}

// TestFolderDeletedElsewhere: a drill folder the site made and remembers
// is deleted by someone else; the next clone into it makes it again.
func TestFolderDeletedElsewhere(t *testing.T) {
	w := newWorld(t, "")
	site := open(t, w.Site("west"))
	ctx := inPlanTime(t, w)
	vm := cloneCopy(t, site, "web-01", "drills/ext", "run-f")
	if err := site.Destroy(ctx, vm); err != nil {
		t.Fatal(err)
	}
	c, err := govmomi.NewClient(ctx, w.Site("west").URL, true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Logout(ctx)
	finder := find.NewFinder(c.Client)
	finder.SetDatacenter(mustDC(t, finder, "DC-West"))
	f, err := finder.Folder(ctx, "vm/drills/ext")
	if err != nil {
		t.Fatal(err)
	}
	task, err := f.Destroy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	again := cloneCopy(t, site, "web-01", "drills/ext", "run-f")
	marked, err := site.Marked(ctx, "run-f")
	if err != nil || len(marked) != 2 || marked[0].Ref != again.Ref || marked[1].Path != "drills/ext" {
		t.Errorf("marked %+v, %v; want the new copy and the folder made again", marked, err)
	}
}
