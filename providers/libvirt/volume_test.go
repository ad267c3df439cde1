package libvirt_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/providers/libvirt"
	"github.com/drplan/drplan/providers/libvirt/libvirttest"
)

// replicaOf turns a domain defined at site into a replica, as a storage
// layer that replicates would present it: renamed into drplan-replicas,
// its disk rewritten by disk (the <disk> element), and a replica record
// with one point in its metadata.
func replicaOf(t *testing.T, s *libvirttest.Sites, site, vm string, disk func(file string) string) string {
	t.Helper()
	x := s.Virsh(t, site, "dumpxml", "--inactive", vm)
	file := diskOf(t, s, site, vm)
	rep := libvirt.DomainName(libvirt.ReplicaFolder + "/" + vm)
	x = regexp.MustCompile(`(?s)<disk type='file' device='disk'>.*?</disk>`).ReplaceAllLiteralString(x, disk(file))
	x = regexp.MustCompile(`<uuid>[^<]*</uuid>`).ReplaceAllString(x, "")
	x = strings.Replace(x, "<name>"+vm+"</name>", "<name>"+rep+"</name>", 1)
	f := filepath.Join(s.Dir(site), rep+".xml")
	if err := os.WriteFile(f, []byte(x), 0o644); err != nil {
		t.Fatal(err)
	}
	s.Virsh(t, site, "undefine", vm)
	s.Virsh(t, site, "define", f)
	s.Virsh(t, site, "metadata", rep, libvirt.MetadataURI, "--key", libvirt.MetadataKey, "--config", "--set",
		fmt.Sprintf(`<vm><replica vm=%q group="vols" site="east"/><point>%s</point></vm>`, vm, time.Now().UTC().Format(time.RFC3339Nano)))
	return rep
}

// TestDrillVolumeDiskAndGuestUser drills a replica whose disk is a
// volume of a storage pool (<disk type='volume'>): the copy boots on a
// qcow2 overlay of the volume, which is left unchanged, and runs guest
// steps as root and as a user of the guest. A replica on a block device
// is refused, saying what is supported.
func TestDrillVolumeDiskAndGuestUser(t *testing.T) {
	s := libvirttest.Start(t)
	s.Network(t, "west", "dr-bubble", "drw-bubble")
	west := s.Open(t, "west", false)
	s.ProtectedVM(t, "west", "vol-01", "dr-bubble")
	rep := replicaOf(t, s, "west", "vol-01", func(file string) string {
		return fmt.Sprintf(`<disk type='volume' device='disk'><driver name='qemu' type='qcow2'/><source pool='drplan' volume='%s'/><target dev='vda' bus='virtio'/></disk>`, filepath.Base(file))
	})
	s.ProtectedVM(t, "west", "blk-01", "dr-bubble")
	blk := replicaOf(t, s, "west", "blk-01", func(string) string {
		return `<disk type='block' device='disk'><driver name='qemu' type='raw'/><source dev='/dev/null'/><target dev='vda' bus='virtio'/></disk>`
	})
	before := s.Fingerprint(t, "west")

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	// The inventory says which disk a drill cannot copy (validate and
	// preflight refuse such a drill, compiler.SummaryDiskNoCopy).
	inv, err := west.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r := inv.ReplicaOf("blk-01"); r == nil || len(r.Disks) != 1 || !strings.Contains(r.Disks[0].NoCopy, "neither a file nor a storage pool volume") {
		t.Errorf("the block-device replica's disk is not marked as one a drill cannot copy: %+v", r)
	}
	if r := inv.ReplicaOf("vol-01"); r == nil || len(r.Disks) != 1 || r.Disks[0].NoCopy != "" {
		t.Errorf("the volume replica's disk is marked as one a drill cannot copy: %+v", r)
	}
	run := fmt.Sprintf("v%d", time.Now().UnixNano()%1e9)
	_, err = west.Clone(ctx, providers.CloneRequest{Replica: providers.VM{Site: "west", Path: libvirt.PathOf(blk)},
		Name: "blk-01", Folder: "drplan-drill/" + run, Networks: []string{"dr-bubble"}, RunID: run})
	if err == nil || !strings.Contains(err.Error(), "drill copies need disks that are files or volumes of a dir, fs or netfs storage pool") {
		t.Errorf("a copy of a block-device replica: %v", err)
	}
	c, err := west.Clone(ctx, providers.CloneRequest{Replica: providers.VM{Site: "west", Path: libvirt.PathOf(rep)},
		Name: "vol-01", Folder: "drplan-drill/" + run, Networks: []string{"dr-bubble"}, RunID: run})
	if err != nil {
		t.Fatal(err)
	}
	if got := diskOf(t, s, "west", libvirt.DomainName(c.Path)); !strings.HasSuffix(got, "@vda.qcow2") {
		t.Errorf("the copy's disk is %s, not its overlay", got)
	}
	if err := west.PowerOn(ctx, c); err != nil {
		t.Fatal(err)
	}
	if r := west.WaitReady(ctx, []providers.VM{c}, providers.WaitHeartbeat, 3*time.Minute, nil)[0]; !r.Ready {
		t.Fatalf("the copy did not answer: %v", r.Err)
	}
	guest := func(user string, args ...string) int32 {
		res, err := west.RunInGuest(ctx, c, providers.GuestRequest{Username: user, Password: "secret", Program: "/bin/sh", Args: args})
		if err != nil {
			t.Fatalf("guest step as %q: %v", user, err)
		}
		return res.ExitCode
	}
	// The copy reads the volume's data through its overlay.
	if code := guest("", "-c", `test "$(dd if=/dev/vda bs=4 count=1 2>/dev/null)" = ZZZZ`); code != 0 {
		t.Errorf("the copy does not see the volume's data (exit %d)", code)
	}
	if code := guest("", "-c", "echo 'app:x:1000:1000::/tmp:/bin/sh' >> /etc/passwd"); code != 0 {
		t.Fatalf("adding a guest user: exit %d", code)
	}
	if code := guest("root", "-c", `test "$(id -u)" = 0`); code != 0 {
		t.Errorf("a root guest step does not run as root (exit %d)", code)
	}
	// As app, with an argument full of shell syntax that must arrive as is.
	if code := guest("app", "-c", `test "$(id -u)" = 1000 && test "$1" = "a b'c \$(id)"`, "sh", `a b'c $(id)`); code != 0 {
		t.Errorf("a guest step as app did not run as uid 1000 with its argument intact (exit %d)", code)
	}
	if _, err := west.RunInGuest(ctx, c, providers.GuestRequest{Username: "-c", Program: "/bin/true"}); err == nil {
		t.Errorf("a guest user named -c was accepted")
	}
	if err := west.PowerOff(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := west.Destroy(ctx, c); err != nil {
		t.Fatal(err)
	}
	if d := libvirttest.Diff(before, s.Fingerprint(t, "west")); len(d) > 0 {
		t.Errorf("the drill left west changed: %v", d)
	}
	for _, d := range []string{rep, blk} {
		s.Virsh(t, "west", "undefine", d)
	}
}
