package vsphere_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"

	"github.com/drplan/drplan/internal/errs"
	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/providers/vsphere"
)

// TestTLS: a site whose certificate nobody vouches for is refused; one
// whose thumbprint or CA certificate the configuration names is opened,
// and so is any site with Insecure.
func TestTLS(t *testing.T) {
	w := newWorld(t, "")
	s := w.Site("west")
	ctx := inPlanTime(t, w)
	cfg := config(s)
	cfg.Thumbprint = ""
	_, err := vsphere.Connector{}.Open(ctx, cfg)
	if err == nil {
		t.Fatal("an unverified certificate was accepted")
	}
	if kindOf(err) != errs.Permanent || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("refused certificate: %v (kind %d), want a Permanent error about the certificate", err, kindOf(err))
	}
	for name, edit := range map[string]func(*providers.SiteConfig){
		"thumbprint": func(c *providers.SiteConfig) {},
		"ca":         func(c *providers.SiteConfig) { c.Thumbprint, c.CACertificate = "", s.CertificatePEM },
		"insecure":   func(c *providers.SiteConfig) { c.Thumbprint, c.Insecure = "", true },
	} {
		t.Run(name, func(t *testing.T) {
			site := open(t, s, edit)
			if site.Name() != "west" {
				t.Errorf("Name() = %q", site.Name())
			}
			if _, err := site.Inventory(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wrong := config(s)
	wrong.Thumbprint = strings.Repeat("AB:", 19) + "AB"
	if _, err := (vsphere.Connector{}).Open(ctx, wrong); err == nil || kindOf(err) != errs.Permanent {
		t.Errorf("wrong thumbprint: %v, want a Permanent error", err)
	}
}

// TestGovcEnvironment: with no URL in the configuration, the GOVC_*
// variables say where and who.
func TestGovcEnvironment(t *testing.T) {
	w := newWorld(t, "")
	s := w.Site("west")
	bare := *s.URL
	bare.User = nil
	pass, _ := s.URL.User.Password()
	env := map[string]string{
		"GOVC_URL":        bare.String(),
		"GOVC_USERNAME":   s.URL.User.Username(),
		"GOVC_PASSWORD":   pass,
		"GOVC_INSECURE":   "1",
		"GOVC_DATACENTER": s.Datacenter,
	}
	c := vsphere.Connector{Getenv: func(k string) string { return env[k] }}
	site, err := c.Open(context.Background(), providers.SiteConfig{Name: "west"})
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close(context.Background())
	inv, err := site.Inventory(context.Background())
	if err != nil || inv.Datacenter != s.Datacenter {
		t.Fatalf("inventory through GOVC_*: %v, %+v", err, inv)
	}

	// Credentials in GOVC_URL work as well; without GOVC_INSECURE the
	// certificate is refused.
	env = map[string]string{"GOVC_URL": s.URL.String()}
	if _, err := c.Open(context.Background(), providers.SiteConfig{Name: "west", Datacenter: s.Datacenter}); err == nil {
		t.Error("GOVC_URL without GOVC_INSECURE accepted an unknown certificate")
	}
	env["GOVC_INSECURE"] = "true"
	site2, err := c.Open(context.Background(), providers.SiteConfig{Name: "west", Datacenter: s.Datacenter})
	if err != nil {
		t.Fatal(err)
	}
	site2.Close(context.Background())

	env = map[string]string{}
	if _, err := c.Open(context.Background(), providers.SiteConfig{Name: "west"}); err == nil || !strings.Contains(err.Error(), "GOVC_URL") {
		t.Errorf("no URL anywhere: %v", err)
	}
	// Wrong password: Permanent.
	bad := config(s)
	u, _ := url.Parse(bad.URL)
	u.User = url.UserPassword(u.User.Username(), "wrong")
	bad.URL = u.String()
	if _, err := (vsphere.Connector{}).Open(context.Background(), bad); err == nil || kindOf(err) != errs.Permanent {
		t.Errorf("wrong password: %v, want a Permanent error", err)
	}
	// Unknown datacenter: Permanent.
	dc := config(s)
	dc.Datacenter = "DC-Nowhere"
	if _, err := (vsphere.Connector{}).Open(context.Background(), dc); err == nil || kindOf(err) != errs.Permanent || !strings.Contains(err.Error(), "DC-Nowhere") {
		t.Errorf("unknown datacenter: %v, want a Permanent error naming it", err)
	}
}

// TestRelogin: when vCenter forgets the session (here: an administrator
// terminates it), the site logs in again and the call goes through.
func TestRelogin(t *testing.T) {
	w := newWorld(t, "")
	s := w.Site("west")
	site := open(t, s)
	ctx := inPlanTime(t, w)
	if _, err := site.Inventory(ctx); err != nil {
		t.Fatal(err)
	}
	admin, err := govmomi.NewClient(ctx, s.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Logout(ctx)
	var sm mo.SessionManager
	if err := property.DefaultCollector(admin.Client).RetrieveOne(ctx, *admin.ServiceContent.SessionManager, []string{"sessionList", "currentSession"}, &sm); err != nil {
		t.Fatal(err)
	}
	var others []string
	for _, us := range sm.SessionList {
		if sm.CurrentSession == nil || us.Key != sm.CurrentSession.Key {
			others = append(others, us.Key)
		}
	}
	if len(others) == 0 {
		t.Fatal("no session to terminate")
	}
	if err := admin.SessionManager.TerminateSession(ctx, others); err != nil {
		t.Fatal(err)
	}
	inv, err := site.Inventory(ctx)
	if err != nil {
		t.Fatalf("after the session was terminated: %v", err)
	}
	if len(inv.VMs) != 3 {
		t.Errorf("%d VMs after re-login, want 3", len(inv.VMs))
	}
	if n := s.Calls()["Login"]; n != 3 { // ours, the administrator's, ours again
		t.Errorf("the site served %d logins, want 3", n)
	}
	// A task wait after re-login works too (pooled collectors of the old
	// session are not reused).
	copy1 := cloneCopy(t, site, "web-01", "drills/relogin", "run-relogin")
	if err := site.PowerOn(ctx, copy1); err != nil {
		t.Fatal(err)
	}
}

// TestSiteDown: while the site is cut off, calls fail with Transient
// errors; once it is back the same Site works again.
func TestSiteDown(t *testing.T) {
	w := newWorld(t, `
  fault "site_down" {
    site     = site.west
    at       = "4m"
    duration = "3m"
  }
`)
	begun := w.Clock.Now()
	s := w.Site("west")
	site := open(t, s)
	ctx := inPlanTime(t, w)
	if _, err := site.Inventory(ctx); err != nil {
		t.Fatalf("before the outage: %v", err)
	}
	// Plan time: down from 4m to 7m after the world began.
	if !withinPlan(ctx, t, w, 5*time.Minute, time.Second, s.Down) {
		t.Fatal("the site never went down")
	}
	if at := w.Clock.Now(); at.Before(begun.Add(4*time.Minute)) || at.After(begun.Add(4*time.Minute+time.Second)) {
		t.Errorf("the site went down %v after the world began, want 4m", at.Sub(begun))
	}
	cctx, cancel := w.Clock.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := site.Inventory(cctx)
	if err == nil {
		t.Fatal("the site answered during its outage")
	}
	if !errs.Retryable(err) {
		t.Errorf("during the outage: %v (kind %d), want Transient", err, kindOf(err))
	}
	if err := site.PowerOn(cctx, replica("web-01")); !errs.Retryable(err) {
		t.Errorf("power-on during the outage: %v, want Transient", err)
	}
	if !s.Down() {
		t.Fatalf("the site came back %v after the world began, want 7m", w.Clock.Since(begun))
	}
	if !withinPlan(ctx, t, w, 5*time.Minute, time.Second, func() bool { return !s.Down() }) {
		t.Fatal("the site never came back")
	}
	inv, err := site.Inventory(ctx)
	if err != nil {
		t.Fatalf("after the outage: %v", err)
	}
	if len(inv.VMs) != 3 {
		t.Errorf("%d VMs after the outage, want 3", len(inv.VMs))
	}
	if err := site.PowerOn(ctx, replica("web-02")); err != nil {
		t.Errorf("power-on after the outage: %v", err)
	}
}

// TestKeepAlive: an idle session is kept alive with cheap calls. The
// keep-alive is govmomi's, on the wall clock whatever the world's clock:
// its interval and the waits here are wall time.
func TestKeepAlive(t *testing.T) {
	w := newWorld(t, "")
	s := w.Site("west")
	site, err := vsphere.Connector{KeepAlive: 30 * time.Millisecond}.Open(context.Background(), config(s))
	if err != nil {
		t.Fatal(err)
	}
	// Counted from here: keep-alives may have gone out while Open was
	// still under way (a slow machine, -race).
	before, served := site.Calls(), s.Calls()["CurrentTime"]
	if !within(t, 3*time.Second, func() bool { return s.Calls()["CurrentTime"] >= served+2 }) {
		t.Errorf("no keep-alive calls: %v", s.Calls())
	}
	if site.Calls() <= before {
		t.Error("keep-alive calls are not counted")
	}
	if err := site.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	n := s.Calls()["CurrentTime"]
	time.Sleep(100 * time.Millisecond)
	if m := s.Calls()["CurrentTime"]; m != n {
		t.Errorf("keep-alive went on after Close: %d calls, then %d", n, m)
	}
}

// TestOpenUnreachable: a vCenter that does not answer is a Transient
// error.
func TestOpenUnreachable(t *testing.T) {
	_, err := vsphere.NewConnector().Open(context.Background(), providers.SiteConfig{
		Name: "gone", URL: "https://user:secret@127.0.0.1:1/sdk", Insecure: true})
	if !errs.Retryable(err) {
		t.Errorf("unreachable vCenter: %v (kind %d), want Transient", err, kindOf(err))
	}
	if err != nil && strings.Contains(err.Error(), "secret") {
		t.Errorf("the error shows the password: %v", err)
	}
}
