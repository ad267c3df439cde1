package libvirt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drplan/drplan/providers"
)

// testSites are two real libvirt sites on this machine, east and west,
// each a libvirtd of its own (testdata/libvirt-site.sh), and the tiny
// guest image (testdata/guest-image.sh).
type testSites struct {
	dir   string // each site's files under dir/NAME
	image string // vmlinuz and initrd.img
	uris  map[string]string
}

var (
	sitesOnce sync.Once
	sites     *testSites
	sitesErr  error
)

// startSites starts the two sites once per test binary; they are
// stopped by TestMain. Whatever is missing fails the test with what it
// is: no libvirt test is ever skipped.
func startSites(t testing.TB) *testSites {
	t.Helper()
	sitesOnce.Do(func() { sites, sitesErr = setupSites() })
	if sitesErr != nil {
		t.Fatalf("cannot run the libvirt sites: %v", sitesErr)
	}
	return sites
}

func setupSites() (*testSites, error) {
	if runtime.GOOS != "linux" {
		return nil, fmt.Errorf("the libvirt tests need Linux (unshare, libvirtd, QEMU); this is %s", runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("the libvirt tests must run as root: they install Debian's libvirt and QEMU packages when missing and start one libvirtd per site in its own mount and network namespace (uid is %d)", os.Geteuid())
	}
	cache := os.Getenv("DRPLAN_LIBVIRT_CACHE")
	if cache == "" {
		cache = "/var/cache/drplan-libvirt-test"
	}
	image := filepath.Join(cache, "guest")
	if out, err := exec.Command("testdata/guest-image.sh", image).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("testdata/guest-image.sh %s: %v\n%s", image, err, out)
	}
	// A short directory: libvirt's socket paths must fit 108 bytes.
	dir, err := os.MkdirTemp("", "drplan-lv-")
	if err != nil {
		return nil, err
	}
	s := &testSites{dir: dir, image: image, uris: map[string]string{}}
	for _, name := range []string{"east", "west"} {
		out, err := exec.Command("testdata/libvirt-site.sh", "start", dir, name).Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			s.stop()
			return nil, fmt.Errorf("testdata/libvirt-site.sh start %s %s: %v\n%s", dir, name, err, stderr)
		}
		s.uris[name] = strings.TrimSpace(string(out))
	}
	return s, nil
}

func (s *testSites) stop() {
	for _, name := range []string{"east", "west"} {
		exec.Command("testdata/libvirt-site.sh", "stop", s.dir, name).Run()
	}
	os.RemoveAll(s.dir)
}

func TestMain(m *testing.M) {
	code := m.Run()
	// DRPLAN_LIBVIRT_KEEP=1 leaves the sites running, to look at them.
	if sites != nil && os.Getenv("DRPLAN_LIBVIRT_KEEP") == "" {
		sites.stop()
	}
	os.Exit(code)
}

// virsh runs virsh against a site: a client no one here wrote.
func (s *testSites) virsh(t testing.TB, site string, args ...string) string {
	t.Helper()
	cmd := exec.Command("virsh", append([]string{"-q", "-c", s.uris[site]}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("virsh %s at %s: %v\n%s", strings.Join(args, " "), site, err, errb.String())
	}
	return out.String()
}

func (s *testSites) open(t testing.TB, site string, readOnly bool) *Site {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := Open(ctx, providers.SiteConfig{Name: site, LibvirtURIs: []string{s.uris[site]}, ReadOnly: readOnly})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(context.Background()) })
	return st
}

// network defines and starts an isolated network (a bridge of the
// site's own network namespace) unless it exists.
func (s *testSites) network(t testing.TB, site, name, bridge string) {
	t.Helper()
	if strings.Contains(s.virsh(t, site, "net-list", "--all", "--name"), name+"\n") {
		return
	}
	f := filepath.Join(s.dir, site, "net-"+name+".xml")
	os.WriteFile(f, []byte(fmt.Sprintf("<network><name>%s</name><bridge name='%s' stp='off'/></network>", name, bridge)), 0o644)
	s.virsh(t, site, "net-define", f)
	s.virsh(t, site, "net-start", name)
}

// protectedVM defines (and starts) a protected domain from the tiny image,
// with a 16 MiB qcow2 disk in the site's pool holding data of its own.
func (s *testSites) protectedVM(t testing.TB, site, name, network string) {
	t.Helper()
	pool := filepath.Join(s.dir, site, "pool")
	disk := filepath.Join(pool, name+".qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", disk, "16M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v\n%s", err, out)
	}
	data := filepath.Join(s.dir, site, name+".data")
	os.WriteFile(data, bytes.Repeat([]byte(name+" protected data\n"), 4096), 0o644)
	if out, err := exec.Command("qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 0 1M", disk).CombinedOutput(); err != nil {
		t.Fatalf("qemu-io: %v\n%s", err, out)
	}
	os.Remove(data)
	s.virsh(t, site, "pool-refresh", "drplan")
	x := fmt.Sprintf(`<domain type='qemu'>
  <name>%[1]s</name>
  <memory unit='MiB'>96</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>
    <kernel>%[2]s/vmlinuz</kernel><initrd>%[2]s/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet panic=-1</cmdline></os>
  <features><acpi/></features>
  <on_reboot>destroy</on_reboot>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='%[3]s'/><target dev='vda' bus='virtio'/></disk>
    <interface type='network'><source network='%[4]s'/><model type='virtio'/></interface>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <serial type='file'><source path='%[5]s/%[1]s.console'/></serial>
    <console type='file'><source path='%[5]s/%[1]s.console'/><target type='serial'/></console>
  </devices>
</domain>`, name, s.image, disk, network, filepath.Join(s.dir, site))
	f := filepath.Join(s.dir, site, name+".xml")
	os.WriteFile(f, []byte(x), 0o644)
	s.virsh(t, site, "define", f)
}

// fingerprint is what a site looks like from outside: every domain's
// definition, every network, and every volume's checksum, as virsh and
// the files show them.
func (s *testSites) fingerprint(t testing.TB, site string) map[string]string {
	t.Helper()
	fp := map[string]string{}
	for _, d := range strings.Fields(s.virsh(t, site, "list", "--all", "--name")) {
		fp["domain "+d] = s.virsh(t, site, "dumpxml", "--inactive", d)
	}
	for _, n := range strings.Fields(s.virsh(t, site, "net-list", "--all", "--name")) {
		fp["network "+n] = "present"
	}
	for _, line := range strings.Split(strings.TrimSpace(s.virsh(t, site, "vol-list", "drplan")), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		fp["volume "+f[0]] = sha256File(t, f[1])
	}
	return fp
}

func sha256File(t testing.TB, path string) string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil))
}

func diffFingerprints(before, after map[string]string) []string {
	var d []string
	for k, v := range before {
		if a, ok := after[k]; !ok {
			d = append(d, "gone: "+k)
		} else if a != v {
			d = append(d, "changed: "+k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			d = append(d, "new: "+k)
		}
	}
	sort.Strings(d)
	return d
}
