package libvirt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/drplan/drplan/internal/clock"
	"github.com/drplan/drplan/internal/errs"
	"github.com/drplan/drplan/providers"
)

// Connector opens libvirt sites.
type Connector struct{}

var _ providers.Connector = Connector{}
var _ providers.Site = (*Site)(nil)

// Site is an opened libvirt site: one RPC connection per host.
type Site struct {
	name     string
	readOnly bool
	clock    clock.Clock
	hosts    []*host
	calls    atomic.Int64
	// PollInterval is how often waits look again (agent, power state).
	PollInterval time.Duration
}

// host is one libvirt daemon of a site.
type host struct {
	uri string
	l   *golibvirt.Libvirt
}

// Open connects to every host of the site.
func (Connector) Open(ctx context.Context, cfg providers.SiteConfig) (providers.Site, error) {
	return Open(ctx, cfg)
}

// Open connects to every host of the site, as Connector.Open.
func Open(ctx context.Context, cfg providers.SiteConfig) (*Site, error) {
	if len(cfg.LibvirtURIs) == 0 {
		return nil, errs.E("connect", "site "+cfg.Name, errs.Permanent,
			errors.New("the site has no libvirt URI: give it libvirt { uri = \"qemu+ssh://HOST/system\" }"))
	}
	s := &Site{name: cfg.Name, readOnly: cfg.ReadOnly, clock: clock.Of(cfg.Clock), PollInterval: 500 * time.Millisecond}
	for _, raw := range cfg.LibvirtURIs {
		h, err := dial(ctx, raw)
		if err != nil {
			s.Close(ctx)
			return nil, errs.E("connect", "site "+cfg.Name+" at "+redact(raw), errs.Transient, err)
		}
		s.calls.Add(2) // connect-open and auth
		s.hosts = append(s.hosts, h)
	}
	return s, nil
}

func dial(ctx context.Context, raw string) (*host, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	type res struct {
		l   *golibvirt.Libvirt
		err error
	}
	ch := make(chan res, 1)
	go func() {
		l, err := golibvirt.ConnectToURI(u)
		ch <- res{l, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, r.err
		}
		return &host{uri: raw, l: r.l}, nil
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.l != nil {
				r.l.Disconnect()
			}
		}()
		return nil, ctx.Err()
	}
}

// redact drops a URI's user information, which may name a key or a user.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an unreadable URI)"
	}
	u.User = nil
	u.RawQuery = ""
	return u.String()
}

// Name is the plan's name of the site.
func (s *Site) Name() string { return s.name }

// Calls returns how many libvirt RPC calls the site has made.
func (s *Site) Calls() int64 { return s.calls.Load() }

// Close disconnects from every host.
func (s *Site) Close(ctx context.Context) error {
	var first error
	for _, h := range s.hosts {
		if err := h.l.Disconnect(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// call counts one RPC.
func (s *Site) call() { s.calls.Add(1) }

// DomainName is the libvirt domain name of a VM path: libvirt has no
// folders and refuses "/" in names, so folders are joined with "+".
func DomainName(path string) string { return strings.ReplaceAll(strings.Trim(path, "/"), "/", "+") }

// PathOf is the VM path of a domain name.
func PathOf(domain string) string { return strings.ReplaceAll(domain, "+", "/") }

func (s *Site) vm(domain string) providers.VM {
	return providers.VM{Site: s.name, Path: PathOf(domain), Ref: domain}
}

// errNotFound is a domain that is not at the site.
var errNotFound = errors.New("no such domain at the site")

// find looks a VM's domain up on every host.
func (s *Site) find(vm providers.VM) (*host, golibvirt.Domain, error) {
	name := DomainName(vm.Path)
	var last error
	for _, h := range s.hosts {
		s.call()
		d, err := h.l.DomainLookupByName(name)
		if err == nil {
			return h, d, nil
		}
		if !golibvirt.IsNotFound(err) {
			last = err
		}
	}
	if last != nil {
		return nil, golibvirt.Domain{}, last
	}
	return nil, golibvirt.Domain{}, errNotFound
}

// fail wraps err as an *errs.Error of its kind.
func (s *Site) fail(op string, vm providers.VM, err error) error {
	if err == nil {
		return nil
	}
	var pe *errs.Error
	if errors.As(err, &pe) {
		return err
	}
	obj := vm.String()
	if vm.Path == "" {
		obj = "site " + s.name
	}
	return errs.E(op, obj, kindOf(err), err)
}

// kindOf says what kind of failure a libvirt error is, for
// errs.Retryable to decide on: connection trouble, a guest agent not up
// yet, a timeout are Transient; everything else is Permanent.
func kindOf(err error) errs.Kind {
	var le golibvirt.Error
	if errors.As(err, &le) {
		switch golibvirt.ErrorNumber(le.Code) {
		case golibvirt.ErrRPC, golibvirt.ErrSystemError, golibvirt.ErrOperationTimeout,
			golibvirt.ErrAgentUnresponsive, golibvirt.ErrAgentUnsynced:
			return errs.Transient
		}
		return errs.Permanent
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, context.DeadlineExceeded) {
		return errs.Transient
	}
	return errs.Permanent
}

// checkWrite refuses a mutating call on a read-only site.
func (s *Site) checkWrite(op string, vm providers.VM) error {
	if !s.readOnly {
		return nil
	}
	return errs.E(op, vm.String(), errs.ReadOnlyViolation, fmt.Errorf("site %s is open read-only", s.name))
}

// unsupported is a method this provider cannot do.
func (s *Site) unsupported(op string, vm providers.VM, what string) error {
	return errs.E(op, vm.String(), errs.Permanent, fmt.Errorf("not supported on libvirt sites: %s", what))
}
