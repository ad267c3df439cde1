package simulate

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/internal/clock"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/steps"
)

// Simulated guest services. The http and tcp steps of a simulated run
// never reach the network: DialCheck connects them, in process, to the
// service of the simulated VM their host names (by address or by name),
// over an in-memory pipe. A service answers while its VM is powered on,
// its guest booted and the service's after has passed since the boot
// (plan time on the world's clock), and only to a check that comes
// from a network the VM is attached to: a drill's checks reach the test
// networks of the recovery plan's mappings, a failover's and a
// migration's the to networks, a failback's the from networks. A drill
// copy and its protected VM share an address on different port groups;
// the network decides which one answers.

// ErrOffMachine is the error of a check aimed at an address that is
// neither loopback nor a simulated VM's: a simulated run sends nothing off
// this machine.
var ErrOffMachine = errors.New("not a simulated VM's address or name, nor loopback: a simulated run sends nothing off this machine")

// CheckNetworks are the port groups the checks of a mode of a recovery
// plan come from ("" picks the plan's only one): test for a drill (and
// its cleanup), from for a failback, to otherwise.
func (w *World) CheckNetworks(recoveryPlan, mode string) []string {
	var out []string
	for _, rp := range w.Plan.RecoveryPlans {
		if recoveryPlan != "" && rp.Name != recoveryPlan {
			continue
		}
		for _, m := range rp.NetworkMappings {
			n := m.To
			switch plans.Mode(mode) {
			case plans.ModeTest, plans.ModeCleanup:
				n = m.Test
			case plans.ModeFailback:
				n = m.From
			}
			if n != "" && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

// Hosts are the names and addresses of the world's VMs, as its spec gives
// them and as its guests report them now: what a check of a simulated run
// may aim at besides loopback (and the addresses a program gives VMs).
func (w *World) Hosts() []string {
	seen := map[string]bool{}
	for _, v := range w.spec.order {
		seen[v.Name] = true
		if v.IP.IsValid() {
			seen[v.IP.String()] = true
		}
	}
	for _, s := range w.Sites {
		for _, g := range s.guests() {
			seen[g.name] = true
			for _, ip := range g.ips {
				seen[ip] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for h := range seen {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

// guestView is what the service model needs of a simulated VM.
type guestView struct {
	site     *Site
	ref      types.ManagedObjectReference
	name     string // the protected VM it stands for
	on       bool
	booted   bool
	ips      []string
	networks []string
}

// guests reads the site's VMs.
func (s *Site) guests() []guestView {
	ctx := s.context()
	var out []guestView
	for _, obj := range s.Model.Map().All("VirtualMachine") {
		vm, ok := obj.(*simulator.VirtualMachine)
		if !ok {
			continue
		}
		g := guestView{site: s, ref: vm.Self}
		var nets []types.ManagedObjectReference
		s.Model.Map().WithLock(ctx, vm, func() {
			g.name, _ = vmIdentity(&vm.VirtualMachine)
			g.on = vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn
			if vm.Guest != nil {
				g.booted = vm.Guest.ToolsRunningStatus == string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)
				if ip := guestIP(vm.Guest); ip != "" {
					g.ips = append(g.ips, ip)
				}
				for _, n := range vm.Guest.Net {
					for _, ip := range n.IpAddress {
						if !slices.Contains(g.ips, ip) {
							g.ips = append(g.ips, ip)
						}
					}
				}
			}
			nets = slices.Clone(vm.Network)
		})
		for _, ref := range nets {
			if e, ok := s.Model.Map().Get(ref).(mo.Entity); ok {
				g.networks = append(g.networks, e.Entity().Name)
			}
		}
		out = append(out, g)
	}
	return out
}

// markBooted records when a VM's guest came up: its services count their
// after from then.
func (s *Site) markBooted(ref types.ManagedObjectReference) {
	s.bootedAt.Store(ref, s.world.now())
}

// servicesOf are the services the simulation block gives a VM, by port:
// patterns first, exact names last, so that the most specific block wins.
func (w *World) servicesOf(name string) map[int]*plans.SimService {
	out := map[int]*plans.SimService{}
	sim := w.Plan.Simulation
	if sim == nil {
		return out
	}
	for _, exact := range []bool{false, true} {
		for _, sv := range sim.VMs {
			if strings.ContainsAny(sv.Pattern, "*?[") == exact {
				continue
			}
			if ok, _ := path.Match(sv.Pattern, name); ok {
				for _, svc := range sv.Services {
					out[svc.Port] = svc
				}
			}
		}
	}
	return out
}

// ServiceAfter is how long after its guest boots the simulated service of
// the VM named vm on port starts answering (its after); ok is false when
// the simulation gives the VM no service there. The estimate of a
// simulated run models a check's wait with it.
func (w *World) ServiceAfter(vm string, port int) (after time.Duration, ok bool) {
	svc := w.servicesOf(vm)[port]
	if svc == nil {
		return 0, false
	}
	return svc.After, true
}

// serviceFaults are the service_down and service_slow faults that
// concern a service of a VM at a site: whether it is down, and how much
// later (plan time) it answers.
func (w *World) serviceFaults(site, name string, svc *plans.SimService) (down bool, latency time.Duration) {
	if w.Plan.Simulation == nil {
		return false, 0
	}
	for _, f := range w.Plan.Simulation.Faults {
		if f.Kind != plans.ServiceDown && f.Kind != plans.ServiceSlow {
			continue
		}
		if ok, _ := path.Match(f.VM, name); !ok || !svc.Matches(f.Service) || f.Site != "" && f.Site != site {
			continue
		}
		if f.Kind == plans.ServiceDown {
			down = true
		} else {
			latency += f.Latency
		}
	}
	return down, latency
}

// DialCheck connects a check of a mode of a recovery plan to address
// (host:port). ctx is the checker's: the Work it carries (clock.WorkOf)
// is paused while a simulated service makes the check wait (a
// service_slow latency) and active again before the service answers. Loopback is dialled for real. A simulated VM's service
// (the host is the VM's address or name, on a network the mode's checks
// come from) answers over an in-memory pipe. Every other address is
// refused with ErrOffMachine, without a packet sent.
func (w *World) DialCheck(ctx context.Context, recoveryPlan, mode, address string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	if steps.IsLoopback(host) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", address)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("port %q of %s is not a number", portStr, address)
	}
	if !slices.Contains(w.Hosts(), host) {
		return nil, fmt.Errorf("%s: %w", host, ErrOffMachine)
	}
	nets := w.CheckNetworks(recoveryPlan, mode)
	var g *guestView
	for _, s := range w.Sites {
		if s.Down() {
			continue
		}
		for _, x := range s.guests() {
			if !x.on || !x.booted || (x.name != host && !slices.Contains(x.ips, host)) {
				continue
			}
			if slices.ContainsFunc(x.networks, func(n string) bool { return slices.Contains(nets, n) }) {
				g = &x
				break
			}
		}
		if g != nil {
			break
		}
	}
	if g == nil {
		return nil, fmt.Errorf("simulated: no running VM answers at %s on %s (the networks %s checks come from)", host, strings.Join(nets, ", "), mode)
	}
	svc := w.servicesOf(g.name)[port]
	if svc == nil {
		return nil, fmt.Errorf("simulated: %s (VM %s at site %s) refused the connection to port %d: the simulation gives it no service there", host, g.name, g.site.Name, port)
	}
	down, latency := w.serviceFaults(g.site.Name, g.name, svc)
	if down {
		return nil, fmt.Errorf("simulated: %s (VM %s at site %s) refused the connection to port %d: service_down fault", host, g.name, g.site.Name, port)
	}
	if at, ok := g.site.bootedAt.Load(g.ref); ok && svc.After > 0 {
		if wait := at.(time.Time).Add(svc.After).Sub(w.now()); wait > 0 {
			return nil, fmt.Errorf("simulated: %s (VM %s at site %s) refused the connection to port %d: its %s service starts %s after boot", host, g.name, g.site.Name, port, svc.Kind, svc.After)
		}
	}
	delay, work := latency, clock.WorkOf(ctx)
	if svc.Kind == plans.TCPService && delay > 0 {
		if err := w.sleepFor(ctx, work, delay); err != nil {
			return nil, err
		}
		delay = 0
	}
	client, server := net.Pipe()
	go w.serveService(server, svc, delay, work)
	return client, nil
}

// sleepFor waits d of the world's clock on behalf of a caller whose Work
// is work (nil: none): the Work is paused meanwhile and active again
// before sleepFor returns, so that the caller's wait lets time move and
// nothing else happens between the wake-up and the answer. On a virtual
// clock a caller without a Work is given one for the wait.
func (w *World) sleepFor(ctx context.Context, work *clock.Work, d time.Duration) error {
	if v, ok := w.Clock.(*clock.Virtual); ok && work == nil {
		work = v.NewWork()
		defer work.Done()
	}
	return w.Clock.Sleep(clock.WithWork(ctx, work), d)
}

// serveService answers one connection: an http service each request
// with its status and body (404 for another path than its own) after
// delay of plan time, during which the checker's Work (work, from
// DialCheck's ctx) is paused; a tcp service accepts and reads until the
// client closes.
func (w *World) serveService(conn net.Conn, svc *plans.SimService, delay time.Duration, work *clock.Work) {
	defer conn.Close()
	if svc.Kind != plans.HTTPService {
		io.Copy(io.Discard, conn)
		return
	}
	br := bufio.NewReader(conn)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
		if delay > 0 {
			if w.sleepFor(context.Background(), work, delay) != nil {
				return
			}
		}
		status, body := svc.Status, svc.Body
		if svc.Path != "" && req.URL.Path != svc.Path {
			status, body = http.StatusNotFound, "404 page not found\n"
		}
		resp := &http.Response{StatusCode: status, ProtoMajor: 1, ProtoMinor: 1, Request: req,
			Header:        http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
			ContentLength: int64(len(body)), Body: io.NopCloser(strings.NewReader(body))}
		if req.Method == http.MethodHead {
			resp.Body = http.NoBody
		}
		if resp.Write(conn) != nil || req.Close {
			return
		}
	}
}
