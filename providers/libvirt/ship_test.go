package libvirt_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/providers/libvirt"
	"github.com/drplan/drplan/providers/libvirt/libvirttest"
)

// contentHash is the sha256 of a disk's contents as its guest sees them
// (qemu-img reads the qcow2 chain; -U because the VM may be running).
func contentHash(t testing.TB, file string) string {
	t.Helper()
	raw := filepath.Join(t.TempDir(), "disk.raw")
	if out, err := exec.Command("qemu-img", "convert", "-U", "-O", "raw", file, raw).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img convert %s: %v\n%s", file, err, out)
	}
	b, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// diskOf is the file of a domain's disk vda, as virsh lists it.
func diskOf(t testing.TB, s *libvirttest.Sites, site, domain string) string {
	t.Helper()
	for _, line := range strings.Split(s.Virsh(t, site, "domblklist", domain), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "vda" {
			return f[1]
		}
	}
	t.Fatalf("%s at %s has no disk vda:\n%s", domain, site, s.Virsh(t, site, "domblklist", domain))
	return ""
}

// shipSites starts the two test sites with vm, a protected VM on network
// prod at east, and opens both for writing.
func shipSites(t *testing.T, vm string) (s *libvirttest.Sites, east, west *libvirt.Site) {
	t.Helper()
	s = libvirttest.Start(t)
	s.Network(t, "east", "prod", "drp-prod")
	east, west = s.Open(t, "east", false), s.Open(t, "west", false)
	s.ProtectedVM(t, "east", vm, "prod")
	return s, east, west
}

// ship ships vm from east to west, into west's pool drplan, within two
// minutes.
func ship(east, west *libvirt.Site, vm string) (libvirt.Shipped, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return libvirt.Ship(ctx, east, west, libvirt.ShipRequest{VM: vm, Group: "apps", Pool: "drplan"})
}

// checkReplica fails t unless vm's replica at west holds, as its guest
// sees it, what vm's disk at east holds.
func checkReplica(t *testing.T, s *libvirttest.Sites, vm string) {
	t.Helper()
	rep := libvirt.DomainName(libvirt.ReplicaFolder + "/" + vm)
	if a, b := contentHash(t, diskOf(t, s, "east", vm)), contentHash(t, diskOf(t, s, "west", rep)); a != b {
		t.Errorf("the replica's disk (sha256 %s) differs from the protected disk (sha256 %s)", b, a)
	}
}

// TestShipChangedBlocks ships a running VM twice: the first point copies
// the whole volume, the second only the overlay of what the guest wrote
// in between (64 KiB of a disk holding 8 MiB), merged into the replica's
// volume at the recovery site by a block commit. The replica's disk then
// holds, byte for byte, what the protected disk holds, and the protected
// disk's chain is one overlay deep again.
func TestShipChangedBlocks(t *testing.T) {
	const vm = "ship-01"
	s, east, west := shipSites(t, vm)
	disk := diskOf(t, s, "east", vm)
	if out, err := exec.Command("qemu-io", "-f", "qcow2", "-c", "write -P 0x6b 4M 8M", disk).CombinedOutput(); err != nil {
		t.Fatalf("qemu-io: %v\n%s", err, out)
	}
	t.Cleanup(func() { s.Virsh(t, "east", "destroy", vm) })
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	ref := providers.VM{Site: "east", Path: vm}
	if err := east.PowerOn(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if r := east.WaitReady(ctx, []providers.VM{ref}, providers.WaitHeartbeat, 3*time.Minute, nil)[0]; !r.Ready {
		t.Fatalf("%s did not answer through its guest agent: %v", vm, r.Err)
	}
	first, err := libvirt.Ship(ctx, east, west, libvirt.ShipRequest{VM: vm, Group: "apps", Pool: "drplan"})
	if err != nil {
		t.Fatal(err)
	}
	if !first.Full {
		t.Errorf("the first point was not a whole copy")
	}
	// The guest writes 64 KiB at 2 MiB.
	res, err := east.RunInGuest(ctx, ref, providers.GuestRequest{Program: "/bin/dd",
		Args: []string{"if=/dev/urandom", "of=/dev/vda", "bs=65536", "count=1", "seek=32", "conv=fsync"}})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("dd in the guest: exit %d, %v", res.ExitCode, err)
	}
	second, err := libvirt.Ship(ctx, east, west, libvirt.ShipRequest{VM: vm, Group: "apps"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first point %s: %d bytes shipped (whole volume); second point %s: %d bytes shipped (changes only)",
		first.Point, first.Bytes, second.Point, second.Bytes)
	if second.Full {
		t.Errorf("the second point was a whole copy")
	}
	if second.Bytes*4 >= first.Bytes {
		t.Errorf("the second point shipped %d bytes, not less than a quarter of the first's %d", second.Bytes, first.Bytes)
	}
	rep := libvirt.DomainName(libvirt.ReplicaFolder + "/" + vm)
	top := diskOf(t, s, "east", vm)
	if !strings.Contains(top, ".drplan-ship-") {
		t.Errorf("the protected disk is not on Ship's overlay: %s", top)
	}
	if got := s.Virsh(t, "east", "vol-list", "drplan"); len(regexp.MustCompile(`(?m)^\s*`+vm+`\.drplan-ship-`).FindAllString(got, -1)) != 1 {
		t.Errorf("the protected disk's chain is not one overlay deep:\n%s", got)
	}
	if got := s.Virsh(t, "west", "vol-list", "drplan"); strings.Contains(got, ".delta") {
		t.Errorf("the shipped overlay is left at the recovery site:\n%s", got)
	}
	if a, b := contentHash(t, top), contentHash(t, diskOf(t, s, "west", rep)); a != b {
		t.Errorf("the replica's disk (sha256 %s) differs from the protected disk (sha256 %s)", b, a)
	}
	md := s.Virsh(t, "west", "metadata", rep, libvirt.MetadataURI)
	if !strings.Contains(md, first.Point) || !strings.Contains(md, second.Point) {
		t.Errorf("the replica's record lacks its points %s and %s:\n%s", first.Point, second.Point, md)
	}
}

// TestShipStalledDownload wedges the first download's connection before
// its first byte, as go-libvirt's defect did in CI (the whole test run
// then hung for 10 minutes): Ship abandons the download after the stall
// limit, streams the volume again on a new connection and the replica
// holds what the protected disk holds.
func TestShipStalledDownload(t *testing.T) {
	const vm = "stall-01"
	s, east, west := shipSites(t, vm)
	disk := diskOf(t, s, "east", vm)
	if out, err := exec.Command("qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 1M 2M", disk).CombinedOutput(); err != nil {
		t.Fatalf("qemu-io: %v\n%s", err, out)
	}
	wedged := libvirt.WedgeDownloads(t, 1, 2*time.Second)
	shipped, err := ship(east, west, vm)
	if err != nil {
		t.Fatalf("a wedged download failed the ship: %v", err)
	}
	if got := wedged.Load(); got != 1 {
		t.Fatalf("%d downloads were wedged, want 1 (the fault did not bite)", got)
	}
	if !shipped.Full || shipped.Bytes == 0 {
		t.Errorf("shipped %+v, want a whole copy", shipped)
	}
	checkReplica(t, s, vm)
}

// TestShipStalledTwice: a download wedged on its new connection too
// fails the ship, saying so, instead of hanging; the next ship succeeds.
func TestShipStalledTwice(t *testing.T) {
	const vm = "stall-02"
	s, east, west := shipSites(t, vm)
	wedged := libvirt.WedgeDownloads(t, 2, time.Second)
	_, err := ship(east, west, vm)
	if err == nil || !strings.Contains(err.Error(), "stream stalled") {
		t.Fatalf("two wedged downloads: error %v, want one saying the stream stalled", err)
	}
	if got := wedged.Load(); got != 2 {
		t.Errorf("%d downloads were wedged, want 2", got)
	}
	// The failed ship loses nothing: the next one (the runner's retry)
	// makes a whole, equal replica.
	if _, err := ship(east, west, vm); err != nil {
		t.Fatalf("the ship after the stalled one: %v", err)
	}
	checkReplica(t, s, vm)
}

// TestShipUploadWedgedAtItsEnd: an upload whose call never returns once
// every byte went through is abandoned 4×stallAfter after its last byte
// and streamed again; the ship succeeds with an equal replica.
func TestShipUploadWedgedAtItsEnd(t *testing.T) {
	const vm = "stall-03"
	s, east, west := shipSites(t, vm)
	wedged := libvirt.WedgeUploadEnds(t, 1, time.Second)
	if _, err := ship(east, west, vm); err != nil {
		t.Fatalf("an upload wedged at its end failed the ship: %v", err)
	}
	if got := wedged.Load(); got != 1 {
		t.Fatalf("%d uploads were wedged, want 1 (the fault did not bite)", got)
	}
	checkReplica(t, s, vm)
}
