package vsphere_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/drplan/drplan/internal/errs"
	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/providers/vsphere"
)

// TestPromote: a replica becomes the production VM at its target, holds
// the point it was promoted from, and is no replica any more; promoting
// it again in the same run is recognised, in another run refused.
func TestPromote(t *testing.T) {
	w := newWorld(t, "")
	site := open(t, w.Site("west"))
	ctx := inPlanTime(t, w)
	points, err := site.Points(ctx, []providers.VM{replica("web-01")})
	if err != nil || len(points) != 1 || points[0].Latest().IsZero() {
		t.Fatalf("points of the replica: %v %v", points, err)
	}
	req := providers.PromoteRequest{Replica: replica("web-01"), Target: "prod/web/web-01", RunID: "run-a"}
	got, err := site.Promote(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got.Already || got.VM.Path != "prod/web/web-01" || got.Point.Before(points[0].Latest()) {
		t.Errorf("promote: %+v, want a first promotion to prod/web/web-01 from a point at or after %s", got, points[0].Latest())
	}
	v := vmAt(t, site, "prod/web/web-01")
	if v == nil || v.Replica != nil {
		t.Fatalf("after promote: %+v, want a VM that is no replica", v)
	}
	if vmAt(t, site, vsphere.ReplicaFolder+"/web-01") != nil {
		t.Error("the replica is still in the replica folder")
	}
	// Replication no longer writes into it: it would have taken a
	// point by now (every half RPO, 7.5 min of plan time).
	if err := w.Clock.Sleep(ctx, 8*time.Minute); err != nil {
		t.Fatal(err)
	}
	if v := vmAt(t, site, "prod/web/web-01"); v.Replica != nil {
		t.Errorf("the replication engine made it a replica again: %+v", v.Replica)
	}

	again, err := site.Promote(ctx, req)
	if err != nil || !again.Already || !again.Point.Equal(got.Point) {
		t.Errorf("second promote of the run: %+v %v, want it recognised with the same point", again, err)
	}
	req.RunID = "run-b"
	if _, err := site.Promote(ctx, req); err == nil || !strings.Contains(err.Error(), "already exists at prod/web/web-01") || errs.Retryable(err) {
		t.Errorf("promote by another run onto an existing VM: %v, want a permanent refusal", err)
	}
}

// TestShutdown: a guest with running tools shuts down; one whose guest
// hangs (boot_failure) cannot be shut down cleanly, and that is a
// permanent error, not a power-off.
func TestShutdown(t *testing.T) {
	w := newWorld(t, `
  fault "boot_failure" { vm = "web-03" }
`)
	site := open(t, w.Site("east"))
	ctx := inPlanTime(t, w)
	if err := site.Shutdown(ctx, providers.VM{Site: "east", Path: "web-02"}); err != nil {
		t.Fatal(err)
	}
	if v := vmAt(t, site, "web-02"); v.PowerState != "poweredOff" {
		t.Errorf("web-02 after shutdown: %s", v.PowerState)
	}
	if err := site.Shutdown(ctx, providers.VM{Site: "east", Path: "web-02"}); err != nil {
		t.Errorf("shutting down a VM that is off: %v", err)
	}
	err := site.Shutdown(ctx, providers.VM{Site: "east", Path: "web-03"})
	if err == nil || errs.Retryable(err) || !strings.Contains(err.Error(), "VMware Tools are not running") {
		t.Errorf("shutdown of a hung guest: %v, want a permanent error about tools", err)
	}
	if v := vmAt(t, site, "web-03"); v.PowerState != "poweredOn" {
		t.Errorf("the hung VM was %s; a failed clean shutdown must not pull the plug", v.PowerState)
	}
}

// TestDemote: a VM that runs is not made a replica; one that is off
// moves into the replica folder, marked, its NICs not connecting at power
// on; doing it again is recognised.
func TestDemote(t *testing.T) {
	w := newWorld(t, "")
	site := open(t, w.Site("east"))
	ctx := inPlanTime(t, w)
	req := providers.DemoteRequest{VM: providers.VM{Site: "east", Path: "web-02"}, Of: "web-02", Group: "web", Site: "west", RunID: "run-a"}
	if _, err := site.Demote(ctx, req); err == nil || !strings.Contains(err.Error(), "must be off") {
		t.Errorf("demoting a running VM: %v, want a refusal", err)
	}
	if err := site.PowerOff(ctx, req.VM); err != nil {
		t.Fatal(err)
	}
	got, err := site.Demote(ctx, req)
	if err != nil || got.Path != vsphere.ReplicaFolder+"/web-02" {
		t.Fatalf("demote: %+v %v", got, err)
	}
	v := vmAt(t, site, vsphere.ReplicaFolder+"/web-02")
	if v == nil || v.Replica == nil || v.Replica.Of != "web-02" || v.Replica.Site != "west" || v.Replica.Group != "web" {
		t.Fatalf("after demote: %+v", v)
	}
	for _, n := range v.NICs {
		if n.Connected {
			t.Errorf("a replica's NIC on %s connects at power-on", n.Network)
		}
	}
	if again, err := site.Demote(ctx, req); err != nil || again.Path != got.Path {
		t.Errorf("demoting again: %+v %v", again, err)
	}
	// The replication engine now replicates into it, from west: a point
	// every half RPO (7.5 min of plan time).
	if !withinPlan(ctx, t, w, 16*time.Minute, 10*time.Second, func() bool { return len(w.Site("east").Points("web-02")) > 0 }) {
		t.Error("no recovery points reach the new replica")
	}
}

// TestLock: a lock at the site refuses another run and names the holder;
// the same run takes it again; an expired lock is broken; only its holder
// releases it.
func TestLock(t *testing.T) {
	w := newWorld(t, "")
	a, b := open(t, w.Site("west")), open(t, w.Site("west"))
	ctx := inPlanTime(t, w)
	now := time.Now()
	holderA := providers.LockHolder{Run: "run-a", Mode: "failover", Host: "h1", PID: 1, Since: now, Expires: now.Add(time.Hour)}
	holderB := providers.LockHolder{Run: "run-b", Mode: "test", Host: "h2", PID: 2, Since: now, Expires: now.Add(time.Hour)}
	if err := a.Lock(ctx, "web", holderA); err != nil {
		t.Fatal(err)
	}
	err := b.Lock(ctx, "web", holderB)
	var le *providers.LockedError
	if !errors.As(err, &le) || le.Holder.Run != "run-a" || le.Holder.Host != "h1" || !strings.Contains(err.Error(), "site west") {
		t.Fatalf("second lock: %v, want a LockedError naming run-a on h1", err)
	}
	if err := a.Lock(ctx, "web", holderA); err != nil {
		t.Errorf("the holder taking its lock again: %v", err)
	}
	if ok, err := b.Unlock(ctx, "web", "run-b"); ok || !errors.As(err, &le) {
		t.Errorf("unlock by another run: %v %v, want refused", ok, err)
	}
	if ok, err := a.Unlock(ctx, "web", "run-a"); !ok || err != nil {
		t.Errorf("unlock by the holder: %v %v", ok, err)
	}
	if ok, err := a.Unlock(ctx, "web", "run-a"); ok || err != nil {
		t.Errorf("unlock of a lock that is gone: %v %v, want false, nil", ok, err)
	}
	holderA.Expires = now.Add(-time.Minute)
	if err := a.Lock(ctx, "web", holderA); err != nil {
		t.Fatal(err)
	}
	if err := b.Lock(ctx, "web", holderB); err != nil {
		t.Errorf("taking an expired lock: %v", err)
	}
	if h, found, err := a.ReadLock(ctx, "web"); err != nil || !found || h.Run != "run-b" || h.Mode != "test" || h.PID != 2 {
		t.Errorf("ReadLock: %+v %v %v, want run-b's holder", h, found, err)
	}
	if _, found, err := a.ReadLock(ctx, "db"); found || err != nil {
		t.Errorf("ReadLock of no lock: %v %v, want not found", found, err)
	}
}

// TestCorruptLock: a lock folder whose holder is empty or cannot be read
// (a run crashed between creating it and writing its holder) is read as
// a lock without a holder, even by a read-only session; it refuses other
// runs, and any run id breaks it.
func TestCorruptLock(t *testing.T) {
	w := newWorld(t, "")
	a := open(t, w.Site("west"))
	ro := open(t, w.Site("west"), func(c *providers.SiteConfig) { c.ReadOnly = true })
	ctx := inPlanTime(t, w)
	now := time.Now()
	holder := providers.LockHolder{Run: "run-a", Mode: "failover", Host: "h1", PID: 1, Since: now, Expires: now.Add(time.Hour)}
	for _, raw := range []string{"", "{not json"} {
		if err := vsphere.CrashedLock(ctx, a, "web", raw); err != nil {
			t.Fatal(err)
		}
		if h, found, err := ro.ReadLock(ctx, "web"); err != nil || !found || h.Run != "" {
			t.Errorf("%q: ReadLock read-only: %+v %v %v, want found without a holder", raw, h, found, err)
		}
		err := a.Lock(ctx, "web", holder)
		var le *providers.LockedError
		if !errors.As(err, &le) || le.Holder.Run != "" {
			t.Errorf("%q: Lock over a corrupt lock: %v, want a LockedError without a holder", raw, err)
		}
		if ok, err := a.Unlock(ctx, "web", "any-run"); !ok || err != nil {
			t.Errorf("%q: Unlock of a corrupt lock by any run: %v %v, want broken", raw, ok, err)
		}
		if err := a.Lock(ctx, "web", holder); err != nil {
			t.Errorf("%q: Lock after the corrupt lock was broken: %v", raw, err)
		}
		if ok, err := a.Unlock(ctx, "web", "run-a"); !ok || err != nil {
			t.Errorf("%q: Unlock: %v %v", raw, ok, err)
		}
	}
}

// TestFailoverAPIErrors: an injected fault in the calls a promotion makes
// fails it as a transient error, and the promotion succeeds when tried
// again, without a second copy of anything.
func TestFailoverAPIErrors(t *testing.T) {
	w := newWorld(t, `
  fault "api_error" {
    method = "MoveIntoFolder_Task"
    count  = 1
    site   = site.west
  }
`)
	site := open(t, w.Site("west"))
	ctx := inPlanTime(t, w)
	req := providers.PromoteRequest{Replica: replica("web-02"), Target: "web-02", RunID: "run-a"}
	_, err := site.Promote(ctx, req)
	if !errs.Retryable(err) || !strings.Contains(err.Error(), "simulated API error") {
		t.Fatalf("promote with a failing move: %v, want a transient error", err)
	}
	got, err := site.Promote(ctx, req)
	if err != nil || got.VM.Path != "web-02" {
		t.Fatalf("promote tried again: %+v %v", got, err)
	}
	n := 0
	inv, _ := site.Inventory(ctx)
	for _, v := range inv.VMs {
		if v.Name == "web-02" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d VMs named web-02 at west, want 1", n)
	}
}

// TestPin: pinning stops replication into the replicas; the points
// chosen are recorded and kept by a second Pin of the same run; a pin a
// dead run left is taken over with its point; Promote recovers the
// pinned point.
func TestPin(t *testing.T) {
	w := newWorld(t, "")
	site := open(t, w.Site("west"))
	ctx := inPlanTime(t, w)
	reps := []providers.VM{replica("web-01"), replica("web-02")}
	frozen, err := site.Pin(ctx, reps, nil, "run-a")
	if err != nil || len(frozen) != 2 || !frozen[0].IsZero() {
		t.Fatalf("pin: %v %v, want two replicas pinned with no point yet", frozen, err)
	}
	// web-03, not pinned, shows that replication went on meanwhile.
	control := replica("web-03")
	before, err := site.Points(ctx, append(reps, control))
	if err != nil {
		t.Fatal(err)
	}
	// Replication takes a point every half RPO: 7.5 min of plan time.
	if err := w.Clock.Sleep(ctx, 8*time.Minute); err != nil {
		t.Fatal(err)
	}
	after, err := site.Points(ctx, append(reps, control))
	if err != nil {
		t.Fatal(err)
	}
	if !after[2].Latest().After(before[2].Latest()) {
		t.Fatalf("the unpinned replica took no point in 8 minutes: %s, then %s", before[2], after[2])
	}
	for i := range reps {
		if !after[i].Latest().Equal(before[i].Latest()) {
			t.Errorf("%s took a new point after it was pinned: %s, then %s", reps[i].Path, before[i], after[i])
		}
	}
	chosen := []time.Time{before[0].Latest(), before[1].Latest()}
	got, err := site.Pin(ctx, reps, chosen, "run-a")
	if err != nil || !got[0].Equal(chosen[0]) || !got[1].Equal(chosen[1]) {
		t.Fatalf("pin with points: %v %v, want %v", got, err, chosen)
	}
	// run-a died; run-b holds the lock now and takes the pins over.
	got, err = site.Pin(ctx, reps, nil, "run-b")
	if err != nil || !got[0].Equal(chosen[0]) {
		t.Fatalf("pin by the run after a dead one: %v %v, want its point %v", got, err, chosen[0])
	}
	done, err := site.Promote(ctx, providers.PromoteRequest{Replica: replica("web-01"), Target: "prod/web/web-01", RunID: "run-b", Point: chosen[0]})
	if err != nil || !done.Point.Equal(chosen[0]) {
		t.Errorf("promote of a pinned replica: %+v %v, want point %v", done, err, chosen[0])
	}
}

// TestReadLockFieldDefinedLater: a session that read the attribute
// definitions (an inventory) before another session took the site's
// first lock, defining drplan.lock, still reads the lock's holder (it
// read none: a held lock looked left by a crash).
func TestReadLockFieldDefinedLater(t *testing.T) {
	w := newWorld(t, "")
	a := open(t, w.Site("west"))
	ro := open(t, w.Site("west"), func(c *providers.SiteConfig) { c.ReadOnly = true })
	ctx := inPlanTime(t, w)
	if _, err := ro.Inventory(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	holder := providers.LockHolder{Run: "run-a", Mode: "failover", Host: "h1", PID: 1, Since: now, Expires: now.Add(time.Hour)}
	if err := a.Lock(ctx, "web", holder); err != nil {
		t.Fatal(err)
	}
	if h, found, err := ro.ReadLock(ctx, "web"); err != nil || !found || h.Run != "run-a" {
		t.Errorf("ReadLock by the earlier session: %+v %v %v, want held by run-a", h, found, err)
	}
}
