// Package libvirttest runs two real libvirt sites on this machine for
// tests: east and west, each a libvirtd of its own in its own mount and
// network namespace (../testdata/libvirt-site.sh), with a tiny guest image
// (../testdata/guest-image.sh) that boots in seconds under TCG and
// answers the QEMU guest agent. Nothing is skipped: what is missing
// fails the test, saying what it is.
package libvirttest

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
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/providers/libvirt"
)

// testSites are two real libvirt sites on this machine, east and west,
// each a libvirtd of its own (testdata/libvirt-site.sh), and the tiny
// guest image (testdata/guest-image.sh).
type Sites struct {
	dir   string // each site's files under dir/NAME
	image string // vmlinuz and initrd.img
	uris  map[string]string
}

var (
	once     sync.Once
	sites    *Sites
	startErr error
)

// Start starts the two sites once per test binary; they are
// stopped by Stop, which TestMain calls. Whatever is missing fails the test with what it
// is: no libvirt test is ever skipped.
func Start(t testing.TB) *Sites {
	t.Helper()
	once.Do(func() { sites, startErr = setupSites() })
	if startErr != nil {
		t.Fatalf("cannot run the libvirt sites: %v", startErr)
	}
	return sites
}

func setupSites() (*Sites, error) {
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
	if out, err := exec.Command(script("guest-image.sh"), image).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("testdata/guest-image.sh %s: %v\n%s", image, err, out)
	}
	// A short directory: libvirt's socket paths must fit 108 bytes.
	dir, err := os.MkdirTemp("", "drplan-lv-")
	if err != nil {
		return nil, err
	}
	s := &Sites{dir: dir, image: image, uris: map[string]string{}}
	for _, name := range []string{"east", "west"} {
		out, err := exec.Command(script("libvirt-site.sh"), "start", dir, name).Output()
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

func (s *Sites) stop() {
	for _, name := range []string{"east", "west"} {
		exec.Command(script("libvirt-site.sh"), "stop", s.dir, name).Run()
	}
	os.RemoveAll(s.dir)
}

// Stop stops the sites, if they were started; a TestMain calls it after
// m.Run. DRPLAN_LIBVIRT_KEEP=1 leaves them running, to look at them.
func Stop() {
	if sites != nil && os.Getenv("DRPLAN_LIBVIRT_KEEP") == "" {
		sites.stop()
	}
}

// URI is a site's libvirt URI.
func (s *Sites) URI(site string) string { return s.uris[site] }

// Dir is the directory of a site's files (sock, pool, consoles).
func (s *Sites) Dir(site string) string { return filepath.Join(s.dir, site) }

// script is the path of one of the scripts in providers/libvirt/testdata.
func script(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", name)
}

// Virsh runs virsh against a site: a client no one here wrote.
func (s *Sites) Virsh(t testing.TB, site string, args ...string) string {
	t.Helper()
	cmd := exec.Command("virsh", append([]string{"-q", "-c", s.uris[site]}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("virsh %s at %s: %v\n%s", strings.Join(args, " "), site, err, errb.String())
	}
	return out.String()
}

func (s *Sites) Open(t testing.TB, site string, readOnly bool) *libvirt.Site {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := libvirt.Open(ctx, providers.SiteConfig{Name: site, LibvirtURIs: []string{s.uris[site]}, ReadOnly: readOnly})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(context.Background()) })
	return st
}

// Network defines and starts an isolated network (a bridge of the
// site's own network namespace) unless it exists.
func (s *Sites) Network(t testing.TB, site, name, bridge string) {
	t.Helper()
	if strings.Contains(s.Virsh(t, site, "net-list", "--all", "--name"), name+"\n") {
		return
	}
	f := filepath.Join(s.dir, site, "net-"+name+".xml")
	os.WriteFile(f, []byte(fmt.Sprintf("<network><name>%s</name><bridge name='%s' stp='off'/></network>", name, bridge)), 0o644)
	s.Virsh(t, site, "net-define", f)
	s.Virsh(t, site, "net-start", name)
}

// ProtectedVM defines (and starts) a protected domain from the tiny image,
// with a 16 MiB qcow2 disk in the site's pool holding data of its own.
func (s *Sites) ProtectedVM(t testing.TB, site, name, network string) {
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
	s.Virsh(t, site, "pool-refresh", "drplan")
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
	s.Virsh(t, site, "define", f)
}

// Fingerprint is what a site looks like from outside: every domain's
// definition, every network, and every volume's checksum, as virsh and
// the files show them. drplan's metadata record counts for what a
// replica copies, its recovery points, run marks, promotions and locks;
// the protected VM's addresses that a drill's copy step records with a
// replica (by design, for a failover that cannot read them) are left out.
func (s *Sites) Fingerprint(t testing.TB, site string) map[string]string {
	t.Helper()
	fp := map[string]string{}
	for _, d := range strings.Fields(s.Virsh(t, site, "list", "--all", "--name")) {
		x := s.Virsh(t, site, "dumpxml", "--inactive", d)
		fp["domain "+d] = metadataRE.ReplaceAllString(x, "")
		// drplan's record, but for the recorded addresses: what it
		// replicates and its recovery points.
		var rec []string
		for _, m := range recordRE.FindAllString(metadataRE.FindString(x), -1) {
			rec = append(rec, strings.TrimSuffix(strings.TrimSuffix(strings.TrimSpace(strings.Replace(m, "drplan:", "", 1)), ">"), "/"))
		}
		fp["record "+d] = strings.Join(rec, "\n")
	}
	for _, n := range strings.Fields(s.Virsh(t, site, "net-list", "--all", "--name")) {
		fp["network "+n] = "present"
	}
	for _, line := range strings.Split(strings.TrimSpace(s.Virsh(t, site, "vol-list", "drplan")), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		fp["volume "+f[0]] = sha256File(t, f[1])
	}
	return fp
}

// firstDiff shows the first line that differs.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf(" (line %d: %q became %q)", i+1, strings.TrimSpace(al[i]), strings.TrimSpace(bl[i]))
		}
	}
	return fmt.Sprintf(" (%d lines became %d)", len(al), len(bl))
}

var (
	metadataRE = regexp.MustCompile(`(?s)<metadata>.*</metadata>`)
	recordRE   = regexp.MustCompile(`<(drplan:)?(replica|point|run|promoted|suspended|pinned|lock)\b[^>]*>([^<]*)`)
)

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

func Diff(before, after map[string]string) []string {
	var d []string
	for k, v := range before {
		if a, ok := after[k]; !ok {
			d = append(d, "gone: "+k)
		} else if a != v {
			d = append(d, "changed: "+k+firstDiff(v, a))
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
