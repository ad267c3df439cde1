package libvirt_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/drplan/drplan/internal/errs"
	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/providers/libvirt"
	"github.com/drplan/drplan/providers/libvirt/libvirttest"
)

// prepare makes the world every live test starts from: at east, network
// prod and the protected VMs running with their guest agents up; at west,
// networks dr-prod and dr-bubble and a replica of each VM shipped by Ship.
func prepare(t *testing.T, vms []string) (*libvirttest.Sites, *libvirt.Site, *libvirt.Site) {
	return prepareB(t, vms)
}

func prepareB(t testing.TB, vms []string) (*libvirttest.Sites, *libvirt.Site, *libvirt.Site) {
	return prepareGroup(t, "apps", vms)
}

// prepareGroup is prepare for the VMs of protection group group.
func prepareGroup(t testing.TB, group string, vms []string) (*libvirttest.Sites, *libvirt.Site, *libvirt.Site) {
	s := libvirttest.Start(t)
	s.Network(t, "east", "prod", "drp-prod")
	s.Network(t, "west", "dr-prod", "drw-prod")
	s.Network(t, "west", "dr-bubble", "drw-bubble")
	east, west := s.Open(t, "east", false), s.Open(t, "west", false)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var refs []providers.VM
	for _, vm := range vms {
		if !strings.Contains(s.Virsh(t, "east", "list", "--all", "--name"), vm+"\n") {
			s.ProtectedVM(t, "east", vm, "prod")
		}
		ref := providers.VM{Site: "east", Path: vm}
		if err := east.PowerOn(ctx, ref); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	for i, r := range east.WaitReady(ctx, refs, providers.WaitHeartbeat, 4*time.Minute, nil) {
		if !r.Ready {
			t.Fatalf("protected VM %s did not answer through its guest agent: %v", vms[i], r.Err)
		}
	}
	for _, vm := range vms {
		sh, err := libvirt.Ship(ctx, east, west, libvirt.ShipRequest{VM: vm, Group: group, Pool: "drplan"})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("shipped %s to %s: %d bytes, point %s", vm, sh.Replica, sh.Bytes, sh.Point)
	}
	return s, east, west
}

// TestDrill drills two protected VMs at the recovery site against real
// libvirtd daemons running real QEMU guests: each copy is defined on
// qcow2 overlays on the test network, boots, answers through its guest
// agent with its own address, runs a guest command; then it is destroyed
// with its overlays. virsh, from outside, finds nothing of the run left
// at either site and the protected VMs and replicas unchanged.
func TestDrill(t *testing.T) {
	start := time.Now()
	vms := []string{"app-01", "app-02"}
	s, _, west := prepare(t, vms)
	t.Logf("two sites, %d protected VMs up and shipped in %s", len(vms), time.Since(start).Round(time.Millisecond))

	beforeEast, beforeWest := s.Fingerprint(t, "east"), s.Fingerprint(t, "west")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run := fmt.Sprintf("t%d", time.Now().UnixNano()%1e9)
	inv, err := west.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	calls0 := west.Calls()
	var copies []providers.VM
	for _, vm := range vms {
		rep := inv.ReplicaOf(vm)
		if rep == nil {
			t.Fatalf("west has no replica of %s: %+v", vm, inv.VMs)
		}
		c, err := west.Clone(ctx, providers.CloneRequest{
			Replica: providers.VM{Site: "west", Path: rep.Path()}, Point: rep.Replica.Points.Latest(),
			Name: vm, Folder: "drplan-drill/" + run, Networks: []string{"dr-bubble"}, RunID: run,
		})
		if err != nil {
			t.Fatal(err)
		}
		// A retry of the same run finds its copy.
		if again, err := west.Clone(ctx, providers.CloneRequest{Replica: providers.VM{Site: "west", Path: rep.Path()},
			Name: vm, Folder: "drplan-drill/" + run, Networks: []string{"dr-bubble"}, RunID: run}); err != nil || again != c {
			t.Fatalf("clone again: %v, %v", again, err)
		}
		copies = append(copies, c)
	}
	if got := s.Virsh(t, "west", "domiflist", libvirt.DomainName(copies[0].Path)); !strings.Contains(got, "dr-bubble") {
		t.Fatalf("the copy is not on the test network:\n%s", got)
	}
	booted := time.Now()
	for _, c := range copies {
		if err := west.PowerOn(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	ips := map[string]bool{}
	for _, r := range west.WaitReady(ctx, copies, providers.WaitIP, 2*time.Minute, func(i int, r providers.Readiness) {
		t.Logf("%s ready=%v ip=%s after %s", r.VM, r.Ready, r.IP, r.At.Sub(booted).Round(time.Millisecond))
	}) {
		if !r.Ready {
			t.Fatalf("%s not ready: %v", r.VM, r.Err)
		}
		if ips[r.IP] {
			t.Fatalf("two copies report address %s", r.IP)
		}
		ips[r.IP] = true
		// virsh, through the same agent, agrees.
		if got := s.Virsh(t, "west", "domifaddr", "--source", "agent", libvirt.DomainName(r.VM.Path)); !strings.Contains(got, r.IP+"/") {
			t.Fatalf("virsh domifaddr --source agent does not show %s:\n%s", r.IP, got)
		}
	}
	res, err := west.RunInGuest(ctx, copies[0], providers.GuestRequest{Program: "/bin/sh", Args: []string{"-c", "test -b /dev/vda && exit 7"}})
	if err != nil || res.ExitCode != 7 {
		t.Fatalf("guest command: exit %d, %v (want 7: the copy sees its disk)", res.ExitCode, err)
	}
	// The drill's copies are the run's, and only they.
	marked, err := west.Marked(ctx, run)
	if err != nil || len(marked) != len(copies) {
		t.Fatalf("marked: %v, %v", marked, err)
	}
	for _, c := range copies {
		if err := west.PowerOff(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := west.Destroy(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := west.Destroy(ctx, c); err != nil { // gone already: fine
			t.Fatal(err)
		}
	}
	t.Logf("drill of %d VMs: %s wall, %d libvirt RPC calls at west (%.1f per VM)", len(copies), time.Since(booted).Round(time.Millisecond),
		west.Calls()-calls0, float64(west.Calls()-calls0)/float64(len(copies)))
	if marked, err := west.Marked(ctx, run); err != nil || len(marked) != 0 {
		t.Fatalf("left after cleanup: %v, %v", marked, err)
	}
	if d := libvirttest.Diff(beforeEast, s.Fingerprint(t, "east")); len(d) > 0 {
		t.Errorf("the protected site changed: %v", d)
	}
	if d := libvirttest.Diff(beforeWest, s.Fingerprint(t, "west")); len(d) > 0 {
		t.Errorf("the recovery site is not as before the drill: %v", d)
	}
	if got := s.Virsh(t, "west", "list", "--all", "--name"); strings.Contains(got, run) {
		t.Errorf("virsh still lists the run's domains:\n%s", got)
	}
	if got := s.Virsh(t, "west", "vol-list", "drplan"); strings.Contains(got, run) {
		t.Errorf("virsh still lists the run's volumes:\n%s", got)
	}
	t.Logf("total %s", time.Since(start).Round(time.Millisecond))
}

// TestReadOnlyAndLocks: a read-only site refuses changes; a lock is a
// domain whose metadata any libvirt client reads, taken atomically.
func TestReadOnlyAndLocks(t *testing.T) {
	s := libvirttest.Start(t)
	ctx := context.Background()
	ro := s.Open(t, "east", true)
	err := ro.PowerOff(ctx, providers.VM{Site: "east", Path: "anything"})
	var pe *errs.Error
	if !errors.As(err, &pe) || pe.Kind != errs.ReadOnlyViolation {
		t.Fatalf("read-only power off: %v", err)
	}
	west := s.Open(t, "west", false)
	a := providers.LockHolder{Run: "run-a", Mode: "failover", Host: "h", PID: 1, Since: time.Now(), Expires: time.Now().Add(time.Hour)}
	if err := west.Lock(ctx, "group/apps", a); err != nil {
		t.Fatal(err)
	}
	if err := west.Lock(ctx, "group/apps", a); err != nil {
		t.Fatalf("the same run takes its lock again: %v", err)
	}
	b := a
	b.Run = "run-b"
	var le *providers.LockedError
	if err := west.Lock(ctx, "group/apps", b); !errors.As(err, &le) || le.Holder.Run != "run-a" {
		t.Fatalf("another run's lock: %v", err)
	}
	if got := s.Virsh(t, "west", "metadata", libvirt.LockPrefix+"group+apps", libvirt.MetadataURI); !strings.Contains(got, "run-a") {
		t.Fatalf("virsh metadata does not show the holder:\n%s", got)
	}
	if ok, err := west.Unlock(ctx, "group/apps", "run-b"); ok || err == nil {
		t.Fatalf("run-b released run-a's lock: %v %v", ok, err)
	}
	if ok, err := west.Unlock(ctx, "group/apps", "run-a"); !ok || err != nil {
		t.Fatalf("unlock: %v %v", ok, err)
	}
	if _, found, err := west.ReadLock(ctx, "group/apps"); found || err != nil {
		t.Fatalf("lock still there: %v %v", found, err)
	}
	// An expired lock is taken over.
	old := a
	old.Expires = time.Now().Add(-time.Minute)
	if err := west.Lock(ctx, "x", old); err != nil {
		t.Fatal(err)
	}
	if err := west.Lock(ctx, "x", b); err != nil {
		t.Fatalf("expired lock not taken over: %v", err)
	}
	west.Unlock(ctx, "x", "run-b")
}
