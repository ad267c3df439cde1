package simulate

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/drplan/drplan/internal/clock"
	"github.com/drplan/drplan/steps"
)

// ServicesEnv is the environment variable that tells a run in another
// process (drplan … --live against drplan sim serve) where the world's
// service gateway listens: host:port on loopback. With it set, the run's
// http and tcp checks go through the gateway, and a check aimed off the
// machine is refused as in --sim.
const ServicesEnv = "DRPLAN_SIM_SERVICES"

// Gateway headers: the recovery plan and mode a check belongs to, which
// decide the networks it comes from.
const (
	gatewayPlanHeader = "Drplan-Recovery-Plan"
	gatewayModeHeader = "Drplan-Mode"
)

// ServeChecks answers the checks of runs in other processes on l (a
// loopback listener) until it is closed: an HTTP CONNECT to host:port
// (with Drplan-Recovery-Plan and Drplan-Mode headers) is connected by
// DialCheck and spliced; GET /hosts lists Hosts, one a line. Loopback
// targets are refused: a client dials those itself.
func (w *World) ServeChecks(l net.Listener) *http.Server {
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/hosts":
			rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
			io.WriteString(rw, strings.Join(w.Hosts(), "\n")+"\n")
		case r.Method == http.MethodGet && r.URL.Path == "/clock":
			c, ok := w.Clock.(*clock.Scaled)
			if !ok {
				http.Error(rw, "the world's clock is not a scaled wall clock", http.StatusNotFound)
				return
			}
			rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintf(rw, "%g %s\n", c.Scale(), c.Origin().UTC().Format(time.RFC3339Nano))
		case r.Method == http.MethodConnect:
			host, _, _ := net.SplitHostPort(r.Host)
			if steps.IsLoopback(host) {
				http.Error(rw, "the gateway connects simulated services only; dial loopback directly", http.StatusForbidden)
				return
			}
			conn, err := w.DialCheck(r.Context(), r.Header.Get(gatewayPlanHeader), r.Header.Get(gatewayModeHeader), r.Host)
			if err != nil {
				http.Error(rw, err.Error(), http.StatusBadGateway)
				return
			}
			hj, ok := rw.(http.Hijacker)
			if !ok {
				conn.Close()
				http.Error(rw, "cannot hijack", http.StatusInternalServerError)
				return
			}
			rw.WriteHeader(http.StatusOK)
			client, buf, err := hj.Hijack()
			if err != nil {
				conn.Close()
				return
			}
			go splice(client, buf.Reader, conn)
		default:
			http.Error(rw, "drplan sim serve's service gateway: CONNECT host:port, or GET /hosts", http.StatusNotFound)
		}
	})}
	go srv.Serve(l)
	return srv
}

// splice copies between a hijacked client and a service until either
// side closes.
func splice(client net.Conn, buffered *bufio.Reader, svc net.Conn) {
	var once sync.Once
	done := func() { client.Close(); svc.Close() }
	go func() {
		io.Copy(svc, io.MultiReader(io.LimitReader(buffered, int64(buffered.Buffered())), client))
		once.Do(done)
	}()
	io.Copy(client, svc)
	once.Do(done)
}

// checkGateway refuses a gateway address off loopback.
func checkGateway(gateway string) error {
	host, _, err := net.SplitHostPort(gateway)
	if err != nil {
		return fmt.Errorf("%s=%q: %v; it is host:port, as drplan sim serve prints it", ServicesEnv, gateway, err)
	}
	if !steps.IsLoopback(host) {
		return fmt.Errorf("%s=%q is not on loopback: drplan sim serve's gateway always is", ServicesEnv, gateway)
	}
	return nil
}

// GatewayDial returns a dialer for checks that goes through the service
// gateway at gateway (see ServeChecks); loopback targets are dialled
// directly, and nothing else leaves through any other way.
func GatewayDial(gateway string) (func(ctx context.Context, recoveryPlan, mode, address string) (net.Conn, error), error) {
	if err := checkGateway(gateway); err != nil {
		return nil, err
	}
	return func(ctx context.Context, recoveryPlan, mode, address string) (net.Conn, error) {
		var d net.Dialer
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return nil, err
		}
		if steps.IsLoopback(host) {
			return d.DialContext(ctx, "tcp", address)
		}
		conn, err := d.DialContext(ctx, "tcp", gateway)
		if err != nil {
			return nil, fmt.Errorf("the simulation's service gateway (%s=%s): %v", ServicesEnv, gateway, err)
		}
		if dl, ok := ctx.Deadline(); ok {
			conn.SetDeadline(dl)
		}
		req := &http.Request{Method: http.MethodConnect, Host: address, Header: http.Header{}, URL: nil}
		fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s: %s\r\n%s: %s\r\n\r\n", address, address,
			gatewayPlanHeader, recoveryPlan, gatewayModeHeader, mode)
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("the simulation's service gateway (%s): %v", gateway, err)
		}
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			conn.Close()
			return nil, errors.New(strings.TrimSpace(string(b)))
		}
		conn.SetDeadline(time.Time{})
		if br.Buffered() > 0 {
			return &bufferedConn{Conn: conn, r: br}, nil
		}
		return conn, nil
	}, nil
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// GatewayClock asks the gateway for the served world's clock: a run
// against the world keeps its plan time (a step's delay, a timeout, the
// journal's times), not the wall clock's.
func GatewayClock(ctx context.Context, gateway string) (*clock.Scaled, error) {
	b, err := gatewayGet(ctx, gateway, "/clock")
	if err != nil {
		return nil, err
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return nil, fmt.Errorf("the simulation's service gateway (%s) gave no clock", gateway)
	}
	scale, err1 := strconv.ParseFloat(f[0], 64)
	origin, err2 := time.Parse(time.RFC3339Nano, f[1])
	if err1 != nil || err2 != nil || scale <= 0 {
		return nil, fmt.Errorf("the simulation's service gateway (%s) gave the clock %q", gateway, b)
	}
	return clock.NewScaledFrom(scale, origin), nil
}

// GatewayHosts asks the gateway for the names and addresses of the
// world's VMs (World.Hosts).
func GatewayHosts(ctx context.Context, gateway string) ([]string, error) {
	b, err := gatewayGet(ctx, gateway, "/hosts")
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(b)), nil
}

// gatewayGet reads a path of the gateway.
func gatewayGet(ctx context.Context, gateway, path string) ([]byte, error) {
	if err := checkGateway(gateway); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+gateway+path, nil)
	if err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the simulation's service gateway (%s=%s): %v", ServicesEnv, gateway, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the simulation's service gateway (%s) answered %s", gateway, resp.Status)
	}
	return b, nil
}
