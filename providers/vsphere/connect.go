package vsphere

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/session/keepalive"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/internal/clock"
	"github.com/drplan/drplan/providers"
)

// Connector opens vSphere sites. The zero value is ready to use.
type Connector struct {
	// KeepAlive is how long a session may sit idle before the connector
	// sends a keep-alive call; 0 means 5 minutes (vCenter drops idle
	// sessions after 30).
	KeepAlive time.Duration
	// Getenv reads the GOVC_* fallback settings; nil means os.Getenv.
	Getenv func(string) string
}

// NewConnector returns a Connector with default settings.
func NewConnector() *Connector { return &Connector{} }

var (
	_ providers.Connector = Connector{}
	_ providers.Connector = (*Connector)(nil)
)

// Idle HTTP connections kept per vCenter: parallel callers otherwise pay
// a TLS handshake per call.
const maxIdleConnsPerHost = 64

// Open logs in to a site's vCenter and resolves its datacenter.
//
// The endpoint is cfg.URL; cfg.Username and cfg.Password, when set,
// override the user name and password the URL carries. When cfg.URL is
// empty, GOVC_URL, GOVC_USERNAME, GOVC_PASSWORD, GOVC_INSECURE and
// GOVC_DATACENTER stand in for the empty settings, as they do for govc.
// Without a datacenter, the vCenter's only one is used. The server's
// certificate must chain to the system's roots or to cfg.CACertificate,
// or match cfg.Thumbprint, unless cfg.Insecure.
func (c Connector) Open(ctx context.Context, cfg providers.SiteConfig) (providers.Site, error) {
	const op = "open"
	getenv := c.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	cfg = withEnvironment(cfg, getenv)
	where := siteObject(cfg.Name, cfg.URL)
	if cfg.URL == "" {
		return nil, permanent(op, where, "no vCenter URL: set the site's vcenter url or GOVC_URL")
	}
	u, err := soap.ParseURL(cfg.URL)
	if err != nil {
		return nil, permanent(op, where, "the vCenter URL cannot be parsed: %v", redactError(err, cfg.URL))
	}
	// The configuration's user name and password override the URL's.
	var name, pass string
	if u.User != nil {
		name = u.User.Username()
		pass, _ = u.User.Password()
	}
	if cfg.Username != "" {
		name = cfg.Username
	}
	if cfg.Password != "" {
		pass = cfg.Password
	}
	if name == "" {
		return nil, permanent(op, where, "no user name for %s: put it in the URL or the site's username", u.Host)
	}
	user := url.UserPassword(name, pass)
	u.User = nil

	sc := soap.NewClient(u, cfg.Insecure)
	tr := sc.DefaultTransport()
	tr.MaxIdleConnsPerHost = maxIdleConnsPerHost
	if cfg.Thumbprint != "" {
		sc.SetThumbprint(u.Host, cfg.Thumbprint)
	}
	if len(cfg.CACertificate) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(cfg.CACertificate) {
			return nil, permanent(op, where, "the CA certificate holds no PEM certificate")
		}
		tr.TLSClientConfig.RootCAs = pool
	}

	// On a simulated site's virtual clock every call carries its
	// caller's busy Work (clock.Transport).
	sc.Client.Transport = clock.Transport(cfg.Clock, tr)
	s := &site{name: cfg.Name, readOnly: cfg.ReadOnly, clk: clock.Of(cfg.Clock), user: user, sc: sc, made: map[string]types.ManagedObjectReference{},
		ours: map[types.ManagedObjectReference]bool{}}
	s.tasks = newTaskMux(s)
	s.calls.Add(1) // vim25.NewClient reads the service content
	vc, err := vim25.NewClient(ctx, sc)
	if err != nil {
		sc.CloseIdleConnections()
		return nil, openFailed(where, u, name, pass, err)
	}
	counted := &countingRoundTripper{next: sc, calls: &s.calls}
	idle := c.KeepAlive
	if idle <= 0 {
		idle = 5 * time.Minute
	}
	s.relogin = &reloginRoundTripper{next: keepalive.NewHandlerSOAP(counted, idle, nil), site: s}
	vc.RoundTripper = s.relogin
	s.vc = vc
	s.sm = session.NewManager(vc)
	if err := s.sm.Login(ctx, user); err != nil {
		sc.CloseIdleConnections()
		return nil, openFailed(where, u, name, pass, err)
	}

	dcName := cfg.Datacenter
	finder := find.NewFinder(vc, false)
	var dc *object.Datacenter
	if dcName == "" {
		dc, err = finder.DefaultDatacenter(ctx)
	} else {
		dc, err = finder.Datacenter(ctx, dcName)
	}
	if err != nil {
		s.Close(context.WithoutCancel(ctx))
		return nil, openFailed(where, u, name, pass, fmt.Errorf("datacenter %q: %w", dcName, err))
	}
	folders, err := dc.Folders(ctx)
	if err != nil {
		s.Close(context.WithoutCancel(ctx))
		return nil, openFailed(where, u, name, pass, err)
	}
	s.dc = dc
	s.datacenter = dc.Name()
	s.vmFolder = folders.VmFolder.Reference()
	s.vmFolderPath = folders.VmFolder.InventoryPath
	s.folderRefs = map[string]types.ManagedObjectReference{}
	return s, nil
}

// withEnvironment fills what cfg leaves empty from the GOVC_* variables
// when it names no URL.
func withEnvironment(cfg providers.SiteConfig, getenv func(string) string) providers.SiteConfig {
	if cfg.URL != "" {
		return cfg
	}
	cfg.URL = getenv("GOVC_URL")
	if cfg.Username == "" {
		cfg.Username = getenv("GOVC_USERNAME")
	}
	if cfg.Password == "" {
		cfg.Password = getenv("GOVC_PASSWORD")
	}
	if b, err := strconv.ParseBool(getenv("GOVC_INSECURE")); err == nil && b {
		cfg.Insecure = true
	}
	if cfg.Datacenter == "" {
		cfg.Datacenter = getenv("GOVC_DATACENTER")
	}
	return cfg
}

// siteObject names a site and its vCenter for messages:
// site "south" (https://vc-south.example/sdk), without the URL's user
// name and password.
func siteObject(name, rawURL string) string {
	if rawURL == "" {
		return fmt.Sprintf("site %q", name)
	}
	return fmt.Sprintf("site %q (%s)", name, redact(rawURL))
}

// redact drops the user name and password from a URL for messages, also
// from one that does not parse.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		u.User = nil
		return u.String()
	}
	// Whatever sits between the scheme and the last @ of the authority
	// is user information.
	rest, scheme := raw, ""
	if i := strings.Index(raw, "://"); i >= 0 {
		scheme, rest = raw[:i+3], raw[i+3:]
	}
	auth := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		auth = rest[:i]
	}
	if i := strings.LastIndex(auth, "@"); i >= 0 {
		rest = rest[i+1:]
	}
	return scheme + rest
}

// redactError is err's message without the URL's user information.
func redactError(err error, raw string) string {
	msg := err.Error()
	if u, perr := url.Parse(raw); perr == nil && u.User != nil {
		msg = strings.ReplaceAll(msg, u.User.String()+"@", "")
	}
	if i := strings.Index(raw, "://"); i >= 0 {
		if j := strings.LastIndex(raw[i+3:], "@"); j >= 0 {
			msg = strings.ReplaceAll(msg, raw[i+3:i+3+j+1], "")
		}
	}
	return msg
}

// countingRoundTripper counts the SOAP calls that go through it.
type countingRoundTripper struct {
	next  soap.RoundTripper
	calls *atomic.Int64
}

func (c *countingRoundTripper) RoundTrip(ctx context.Context, req, res soap.HasFault) error {
	c.calls.Add(1)
	return c.next.RoundTrip(ctx, req, res)
}

// countingTransport counts the HTTP requests of the vAPI (REST) client.
type countingTransport struct {
	next  http.RoundTripper
	calls *atomic.Int64
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.calls.Add(1)
	return c.next.RoundTrip(req)
}

// reloginRoundTripper logs in again when the server has forgotten the
// session (a NotAuthenticated fault: the session expired, or vCenter
// restarted) and retries the call once. A call that read nothing and
// changed nothing is also retried once after a dropped connection; a
// mutating call is not, since the server may have carried it out before
// the connection dropped, and its error goes back as Transient for the
// caller to decide. Neither is a retry of a transient failure with a
// pause (that is the runner's, errs.Policy): the first resends on a new
// session, the second on a new connection, at once and once, as
// net/http resends an idempotent request whose reused connection had
// been closed by the server.
type reloginRoundTripper struct {
	next soap.RoundTripper
	site *site

	mu  sync.Mutex
	gen atomic.Uint64 // sessions logged in so far; see login
}

func (r *reloginRoundTripper) RoundTrip(ctx context.Context, req, res soap.HasFault) error {
	switch req.(type) {
	case *methods.LoginBody, *methods.LogoutBody, *methods.LoginByTokenBody,
		*methods.LoginExtensionByCertificateBody, *methods.RetrieveServiceContentBody:
		return r.next.RoundTrip(ctx, req, res)
	}
	gen := r.gen.Load()
	err := r.next.RoundTrip(ctx, req, res)
	if err == nil || ctx.Err() != nil {
		return err
	}
	if connectionError(err) {
		if !readOnlyCall(req) {
			return err
		}
		reset(res)
		err = r.next.RoundTrip(ctx, req, res)
		if err == nil || ctx.Err() != nil {
			return err
		}
	}
	if !isNotAuthenticated(err) {
		return err
	}
	if lerr := r.login(ctx, gen); lerr != nil {
		return fmt.Errorf("%w (logging in again failed: %v)", err, lerr)
	}
	reset(res)
	return r.next.RoundTrip(ctx, req, res)
}

// login logs in again unless another caller already did since gen.
func (r *reloginRoundTripper) login(ctx context.Context, gen uint64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gen.Load() != gen {
		return nil
	}
	if err := r.site.sm.Login(ctx, r.site.user); err != nil {
		return err
	}
	r.gen.Add(1)
	return nil
}

// session returns the number of the current session: objects that live
// in a session (property collectors) are good only in the session that
// made them.
func (r *reloginRoundTripper) session() uint64 { return r.gen.Load() }

func isNotAuthenticated(err error) bool {
	return isFault(err, &types.NotAuthenticated{})
}

// reset clears a response body before it is decoded again: a fault
// decoded from the first try would otherwise stick.
func reset(res soap.HasFault) {
	v := reflect.ValueOf(res)
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		v.Elem().SetZero()
	}
}

// readOnlyCall reports whether a call changes nothing on the server, so
// that sending it again is harmless.
func readOnlyCall(req soap.HasFault) bool {
	switch req.(type) {
	case *methods.RetrievePropertiesBody, *methods.RetrievePropertiesExBody,
		*methods.ContinueRetrievePropertiesExBody, *methods.WaitForUpdatesExBody,
		*methods.FindByInventoryPathBody, *methods.FindChildBody,
		*methods.CurrentTimeBody:
		return true
	}
	return false
}
