package vsphere_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drplan/drplan/internal/errs"
	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/providers/vsphere"
)

func TestMain(m *testing.M) {
	// Nothing leaves the machine: the pure-Go resolver rejects the
	// invalid host names of these tests (an empty label) without
	// sending a query, which the system's getaddrinfo might not.
	os.Setenv("GODEBUG", strings.TrimPrefix(os.Getenv("GODEBUG")+",netdns=go", ","))
	net.DefaultResolver.PreferGo = true
	os.Exit(m.Run())
}

// password is the secret every URL of TestOpenNetworkFailures carries;
// no message may show it.
const password = "Hunter2-secret"

// listen starts a loopback listener that hands each connection to
// serve, and stops it when the test ends.
func listen(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); serve(c) }()
		}
	}()
	return l.Addr().String()
}

// TestOpenNetworkFailures: whatever keeps a site from being opened (a
// host name that does not resolve, a refused, reset or silent
// connection, an untrusted certificate, a wrong password), Open returns
// a *errs.Error of the right kind, never panics, and its one-line
// message names the site and its URL and says what to check, without
// the URL's user name and password.
func TestOpenNetworkFailures(t *testing.T) {
	refused := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	}()
	reset := listen(t, func(c net.Conn) {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // close with a RST
		}
		c.Close()
	})
	stop := make(chan struct{})
	silent := listen(t, func(c net.Conn) {
		defer c.Close()
		<-stop
	})
	t.Cleanup(func() { close(stop) })
	tlsServer := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsServer.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	tlsServer.StartTLS()
	t.Cleanup(tlsServer.Close)
	untrustedAddr := strings.TrimPrefix(tlsServer.URL, "https://")

	w := newWorld(t, "")
	sim := w.Site("west")
	wrong := config(sim)
	wu, _ := url.Parse(wrong.URL)
	wu.User = url.UserPassword(wu.User.Username(), password)
	wrong.URL = wu.String()
	wrong.Name = "south"
	wu.User = nil

	for _, tc := range []struct {
		name    string
		cfg     providers.SiteConfig
		timeout time.Duration
		kind    errs.Kind
		url     string // as the message shows it
		says    string
	}{
		{name: "unresolvable host name",
			cfg:  providers.SiteConfig{Name: "south", URL: "https://admin:" + password + "@vc..south:8989/sdk"},
			kind: errs.Transient, url: "https://vc..south:8989/sdk", says: "cannot resolve host name vc..south"},
		{name: "label too long",
			cfg:  providers.SiteConfig{Name: "south", URL: "https://admin:" + password + "@" + strings.Repeat("v", 64) + ".example/sdk"},
			kind: errs.Transient, url: "https://" + strings.Repeat("v", 64) + ".example/sdk", says: "cannot resolve host name"},
		{name: "connection refused",
			cfg:  providers.SiteConfig{Name: "south", URL: "https://admin:" + password + "@" + refused + "/sdk"},
			kind: errs.Transient, url: "https://" + refused + "/sdk", says: "connection refused by " + refused},
		{name: "connection reset",
			cfg:  providers.SiteConfig{Name: "south", URL: "https://admin:" + password + "@" + reset + "/sdk"},
			kind: errs.Transient, url: "https://" + reset + "/sdk", says: reset + " closed the connection"},
		{name: "untrusted certificate",
			cfg:  providers.SiteConfig{Name: "south", URL: "https://admin:" + password + "@" + untrustedAddr + "/sdk"},
			kind: errs.Permanent, url: "https://" + untrustedAddr + "/sdk", says: "is not trusted"},
		{name: "no answer",
			cfg:     providers.SiteConfig{Name: "south", URL: "https://admin:" + password + "@" + silent + "/sdk", Insecure: true},
			timeout: 300 * time.Millisecond,
			kind:    errs.Transient, url: "https://" + silent + "/sdk", says: "no answer from " + silent},
		{name: "wrong password", cfg: wrong,
			kind: errs.Permanent, url: wu.String(), says: "refused the login"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			var site providers.Site
			var err error
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("Open panicked: %v", p)
					}
				}()
				site, err = vsphere.Connector{}.Open(ctx, tc.cfg)
			}()
			if err == nil {
				site.Close(context.Background())
				t.Fatal("Open succeeded")
			}
			var pe *errs.Error
			if !errors.As(err, &pe) {
				t.Fatalf("%v (%T), want a *errs.Error", err, err)
			}
			if pe.Kind != tc.kind {
				t.Errorf("kind %d, want %d: %v", pe.Kind, tc.kind, err)
			}
			msg := err.Error()
			for _, want := range []string{`site "south"`, "(" + tc.url + ")", tc.says, "check"} {
				if !strings.Contains(msg, want) {
					t.Errorf("the message does not say %q: %s", want, msg)
				}
			}
			for _, secret := range []string{password, "admin:", ":" + password} {
				if strings.Contains(msg, secret) {
					t.Errorf("the message shows %q: %s", secret, msg)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("the message is more than one line: %q", msg)
			}
			t.Log(msg)
		})
	}
}
