package libvirt_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drplan/drplan/internal/command"
	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/providers/libvirt"
	"github.com/drplan/drplan/providers/libvirt/libvirttest"
)

// planFor writes a plan whose two sites are the test's libvirt sites.
func planFor(t *testing.T, s *libvirttest.Sites, vms []string) string {
	return planForGroup(t, s, "apps", vms)
}

// planForGroup is planFor with the protection group's name.
func planForGroup(t *testing.T, s *libvirttest.Sites, group string, vms []string) string {
	dir := filepath.Join(t.TempDir(), "kvm")
	os.MkdirAll(dir, 0o755)
	src := fmt.Sprintf(`site "east" {
  role = "both"
  libvirt { uri = %[1]q }
}

site "west" {
  role = "both"
  libvirt { uri = %[2]q }
}

protection_group "%[4]s" {
  site          = site.east
  recovery_site = site.west
  vms           = [%[3]s]
  replication {
    method = "snapshot"
    rpo    = "15m"
  }
}

recovery_plan "kvm" {
  protection_groups = [protection_group.%[4]s]
  rto               = "10m"
  network_mapping {
    from = "prod"
    to   = "dr-prod"
    test = "dr-bubble"
  }
  ip_rule "east-to-west" {
    from_cidr = "10.77.0.0/16"
    to_cidr   = "10.88.0.0/16"
  }
  tier "apps" {
    vms = protection_group.%[4]s.vms
    startup {
      wait_for = "ip"
      timeout  = "3m"
    }
  }
}
`, s.URI("east"), s.URI("west"), `"`+strings.Join(vms, `", "`)+`"`, group)
	if err := os.WriteFile(filepath.Join(dir, "plan.drplan.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// checkMigrated checks, with virsh and qemu-img, that each VM migrated
// from site from to site to runs there on a disk whose contents equal
// the protected disk's (shut down since the final sync), from a recovery
// point taken after the run began.
func checkMigrated(t *testing.T, s *libvirttest.Sites, from, to string, vms []string, began time.Time) {
	t.Helper()
	for _, vm := range vms {
		// A failback leaves the VM it moved away from as a replica.
		left := vm
		if !slices.Contains(strings.Fields(s.Virsh(t, from, "list", "--all", "--name")), vm) {
			left = libvirt.DomainName(libvirt.ReplicaFolder + "/" + vm)
		}
		if st := strings.TrimSpace(s.Virsh(t, from, "domstate", left)); st != "shut off" {
			t.Errorf("%s at %s is %q after the migration", left, from, st)
		}
		if st := strings.TrimSpace(s.Virsh(t, to, "domstate", vm)); st != "running" {
			t.Errorf("%s at %s is %q after the migration", vm, to, st)
		}
		if a, b := contentHash(t, diskOf(t, s, from, left)), contentHash(t, diskOf(t, s, to, vm)); a != b {
			t.Errorf("%s's disk at %s (sha256 %s) differs from its disk at %s at the final sync (sha256 %s)", vm, to, b, from, a)
		}
		md := s.Virsh(t, to, "metadata", vm, libvirt.MetadataURI)
		m := regexp.MustCompile(`<(?:drplan:)?promoted [^>]*point="([^"]+)"`).FindStringSubmatch(md)
		if m == nil {
			t.Errorf("%s at %s records no promoted point:\n%s", vm, to, md)
			continue
		}
		if at, err := time.Parse(time.RFC3339Nano, m[1]); err != nil || !at.After(began) {
			t.Errorf("%s at %s was recovered from point %s, not one taken after the migration began (%s)", vm, to, m[1], began.UTC().Format(time.RFC3339Nano))
		}
	}
}

// journal is the text of the plan's run journals in dir.
func journal(dir string) string {
	files, _ := filepath.Glob(filepath.Join(dir, ".drplan", "runs", "*", "journal.jsonl"))
	var b bytes.Buffer
	for _, f := range files {
		x, _ := os.ReadFile(f)
		b.Write(x)
	}
	return b.String()
}

func drplan(t *testing.T, args ...string) (string, int) {
	var out bytes.Buffer
	start := time.Now()
	code := command.Run(args, &out, &out)
	t.Logf("drplan %s: exit %d in %s\n%s", strings.Join(args, " "), code, time.Since(start).Round(time.Millisecond), out.String())
	return out.String(), code
}

// TestPlanMigrate migrates a VM with the CLI, east to west, after the
// guest wrote to its disk since the replica's point: the final sync,
// which the test leaves to drplan, ships only what changed (the journal
// says so) into the replica, and the VM comes up at west on a disk equal
// to the one it left, from a point taken during the run.
func TestPlanMigrate(t *testing.T) {
	vms := []string{"mig-01"}
	s, east, _ := prepareGroup(t, "mig", vms)
	dir := planForGroup(t, s, "mig", vms)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := east.RunInGuest(ctx, providers.VM{Site: "east", Path: vms[0]}, providers.GuestRequest{Program: "/bin/dd",
		Args: []string{"if=/dev/urandom", "of=/dev/vda", "bs=65536", "count=2", "seek=40", "conv=fsync"}})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("dd in the guest: exit %d, %v", res.ExitCode, err)
	}
	began := time.Now()
	if _, code := drplan(t, "run", "-mode", "migrate", "--live", "--confirm", "kvm", dir); code != 0 {
		t.Fatalf("migrate failed (exit %d)", code)
	}
	checkMigrated(t, s, "east", "west", vms, began)
	j := journal(dir)
	if !strings.Contains(j, `"shipped_full":"0"`) {
		t.Errorf("the final sync did not ship only the changes:\n%s", j)
	}
}

// TestPlanDrillAndFailover runs the CLI, as an operator would, against
// the two libvirt sites: validate, a drill (test, verification, cleanup)
// that leaves nothing behind, then a failover that brings every VM up at
// west on the mapped network with the re-IP'd address — all checked
// from outside with virsh.
func TestPlanDrillAndFailover(t *testing.T) {
	vms := []string{"app-01", "app-02"}
	s, _, _ := prepare(t, vms)
	dir := planFor(t, s, vms)
	if out, code := drplan(t, "validate", dir); code != 0 {
		t.Fatalf("validate: %s", out)
	}
	beforeEast, beforeWest := s.Fingerprint(t, "east"), s.Fingerprint(t, "west")
	out, code := drplan(t, "drill", "--live", dir)
	if code != 0 || !strings.Contains(out, "PASSED") {
		t.Fatalf("drill failed (exit %d)", code)
	}
	if d := libvirttest.Diff(beforeEast, s.Fingerprint(t, "east")); len(d) > 0 {
		t.Errorf("the drill changed the protected site: %v", d)
	}
	if d := libvirttest.Diff(beforeWest, s.Fingerprint(t, "west")); len(d) > 0 {
		t.Errorf("the drill left the recovery site changed: %v", d)
	}
	if got := s.Virsh(t, "west", "list", "--all", "--name"); strings.Contains(got, "drplan-drill") || strings.Contains(got, "drplan-lock") {
		t.Errorf("virsh lists what the drill left:\n%s", got)
	}

	// Failover: the addresses the protected VMs have now, re-IP'd by the rule.
	want := map[string]string{}
	for _, vm := range vms {
		m := regexp.MustCompile(`10\.77\.(\d+\.\d+)/`).FindStringSubmatch(s.Virsh(t, "east", "domifaddr", "--source", "agent", vm))
		if m == nil {
			t.Fatalf("%s reports no address at east", vm)
		}
		want[vm] = "10.88." + m[1]
	}
	_, code = drplan(t, "run", "-mode", "failover", "--live", "--confirm", "kvm", dir)
	if code != 0 {
		t.Fatalf("failover failed (exit %d)", code)
	}
	for _, vm := range vms {
		if st := strings.TrimSpace(s.Virsh(t, "west", "domstate", vm)); st != "running" {
			t.Errorf("%s at west is %q", vm, st)
		}
		if st := strings.TrimSpace(s.Virsh(t, "east", "domstate", vm)); st != "shut off" {
			t.Errorf("%s at east is %q", vm, st)
		}
		if got := s.Virsh(t, "west", "domiflist", vm); !strings.Contains(got, "dr-prod") {
			t.Errorf("%s is not on dr-prod:\n%s", vm, got)
		}
		if got := s.Virsh(t, "west", "domifaddr", "--source", "agent", vm); !strings.Contains(got, want[vm]+"/") {
			t.Errorf("%s does not have its re-IP'd address %s:\n%s", vm, want[vm], got)
		}
	}
	if got := s.Virsh(t, "west", "list", "--all", "--name"); strings.Contains(got, "drplan-lock") {
		t.Errorf("the failover left its lock:\n%s", got)
	}
	if t.Failed() {
		return
	}

	// Reprotect: east's VMs become replicas of west's.
	if _, code := drplan(t, "run", "-mode", "reprotect", "--live", dir); code != 0 {
		t.Fatalf("reprotect failed (exit %d)", code)
	}
	for _, vm := range vms {
		if got := s.Virsh(t, "east", "metadata", libvirt.DomainName(libvirt.ReplicaFolder+"/"+vm), libvirt.MetadataURI); !strings.Contains(got, `site="west"`) {
			t.Fatalf("%s at east is not a replica of west's:\n%s", vm, got)
		}
	}
	// Failback: migrate back. Its sync step ships the recovery point
	// itself (the group's method is snapshot): nothing else replicates.
	began := time.Now()
	_, code = drplan(t, "run", "-mode", "failback", "--live", "--confirm", "kvm", dir)
	if code != 0 {
		t.Fatalf("failback failed (exit %d)", code)
	}
	checkMigrated(t, s, "west", "east", vms, began)
	for _, vm := range vms {
		if st := strings.TrimSpace(s.Virsh(t, "east", "domstate", vm)); st != "running" {
			t.Errorf("%s at east is %q after failback", vm, st)
		}
		if got := s.Virsh(t, "east", "domiflist", vm); !strings.Contains(got, "prod") {
			t.Errorf("%s is not on prod:\n%s", vm, got)
		}
	}
}
