package libvirt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/drplan/drplan/internal/errs"
	"github.com/drplan/drplan/internal/words"
	"github.com/drplan/drplan/providers"
)

// agentTimeout is how long one guest agent command may take, in seconds.
const agentTimeout = 5

// agent sends one command to the domain's QEMU guest agent and decodes
// its "return" into out (when not nil).
func (s *Site) agent(h *host, d golibvirt.Domain, cmd string, args any, out any) error {
	return s.agentWithin(h, d, cmd, args, out, agentTimeout)
}

// agentWithin is agent with a timeout of its own, in seconds.
func (s *Site) agentWithin(h *host, d golibvirt.Domain, cmd string, args any, out any, timeout int32) error {
	req := map[string]any{"execute": cmd}
	if args != nil {
		req["arguments"] = args
	}
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	s.call()
	res, err := h.l.QEMUDomainAgentCommand(d, string(b), timeout, 0)
	if err != nil {
		return err
	}
	if out == nil || len(res) == 0 {
		return nil
	}
	var env struct {
		Return json.RawMessage `json:"return"`
	}
	if err := json.Unmarshal([]byte(res[0]), &env); err != nil {
		return fmt.Errorf("guest agent answered %s with %q: %v", cmd, res[0], err)
	}
	return json.Unmarshal(env.Return, out)
}

// agentIPv4 is the first global IPv4 address the agent reports, in CIDR
// form, or "".
func (s *Site) agentIPv4(h *host, d golibvirt.Domain) (string, error) {
	return s.agentIPv4Within(h, d, agentTimeout)
}

func (s *Site) agentIPv4Within(h *host, d golibvirt.Domain, timeout int32) (string, error) {
	var ifs []struct {
		Name string `json:"name"`
		IPs  []struct {
			Type   string `json:"ip-address-type"`
			Addr   string `json:"ip-address"`
			Prefix int    `json:"prefix"`
		} `json:"ip-addresses"`
	}
	if err := s.agentWithin(h, d, "guest-network-get-interfaces", nil, &ifs, timeout); err != nil {
		return "", err
	}
	for _, i := range ifs {
		for _, a := range i.IPs {
			ip, err := netip.ParseAddr(a.Addr)
			if a.Type != "ipv4" || err != nil || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
				continue
			}
			return fmt.Sprintf("%s/%d", a.Addr, a.Prefix), nil
		}
	}
	return "", nil
}

// WaitReady waits for every VM together: each is ready when it runs and,
// for a heartbeat, its guest agent answers guest-ping; for an IP, the
// agent reports a global IPv4 address. A re-IP that Customize left
// pending is applied through the agent first.
func (s *Site) WaitReady(ctx context.Context, vms []providers.VM, waitFor providers.WaitFor, timeout time.Duration, report func(i int, r providers.Readiness)) []providers.Readiness {
	out := make([]providers.Readiness, len(vms))
	wctx, cancel := s.clock.WithTimeout(ctx, timeout)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i, vm := range vms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := s.waitOne(wctx, vm, waitFor, timeout)
			mu.Lock()
			out[i] = r
			if report != nil {
				report(i, r)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

func (s *Site) waitOne(ctx context.Context, vm providers.VM, waitFor providers.WaitFor, timeout time.Duration) providers.Readiness {
	r := providers.Readiness{VM: vm}
	h, d, err := s.find(vm)
	if err != nil {
		r.Err = s.fail("wait_ready", vm, notFound(err))
		return r
	}
	var last error
	applied := false
	for {
		s.call()
		st, _, err := h.l.DomainGetState(d, 0)
		switch {
		case err != nil:
			last = err
			if kindOf(err) == errs.Permanent {
				r.Err = s.fail("wait_ready", vm, err)
				return r
			}
		case golibvirt.DomainState(st) != golibvirt.DomainRunning:
			last = errors.New("the domain is not running")
		case waitFor == providers.WaitNone || waitFor == "":
			r.Ready, r.At = true, s.clock.Now()
			return r
		default:
			if err := s.agent(h, d, "guest-ping", nil, nil); err != nil {
				last = fmt.Errorf("the guest agent does not answer: %v", err)
				break
			}
			if !applied {
				if err := s.applyCustomize(ctx, h, d); err != nil {
					r.Err = s.fail("customize", vm, err)
					return r
				}
				applied = true
			}
			if waitFor == providers.WaitHeartbeat {
				r.Ready, r.At = true, s.clock.Now()
				if ip, err := s.agentIPv4(h, d); err == nil {
					r.IP = stripPrefix(ip)
				}
				return r
			}
			ip, err := s.agentIPv4(h, d)
			if err != nil {
				last = err
				break
			}
			if ip == "" {
				last = errors.New("the guest agent reports no IPv4 address")
				break
			}
			r.Ready, r.At, r.IP = true, s.clock.Now(), stripPrefix(ip)
			return r
		}
		if err := s.clock.Sleep(ctx, s.PollInterval); err != nil {
			r.Err = &errs.Error{Op: "wait_ready", Object: vm.String(), Kind: errs.Permanent,
				Err: fmt.Errorf("not ready (%s) within %s: %v", waitFor, timeout, last)}
			return r
		}
	}
}

func stripPrefix(cidr string) string {
	if i := strings.IndexByte(cidr, '/'); i >= 0 {
		return cidr[:i]
	}
	return cidr
}

// Customize records the VM's new address, applied through the guest agent
// (guest-exec of ip(8) in the guest) as soon as the agent answers after
// its next power-on, and the address it had where it came from.
func (s *Site) Customize(ctx context.Context, vm providers.VM, ip providers.IPSettings) error {
	if err := s.checkWrite("customize", vm); err != nil {
		return err
	}
	h, d, err := s.find(vm)
	if err != nil {
		return s.fail("customize", vm, notFound(err))
	}
	rec, err := s.readRecord(h, d)
	if err != nil {
		return s.fail("customize", vm, err)
	}
	c := &IPRecord{Address: ip.Address.String(), Hostname: ip.Hostname}
	if ip.Gateway.IsValid() {
		c.Gateway = ip.Gateway.String()
	}
	for _, a := range ip.DNS {
		c.DNS = append(c.DNS, a.String())
	}
	rec.Customize = c
	if ip.Origin.IsValid() {
		rec.Origin = ip.Origin.String()
	}
	return s.fail("customize", vm, s.writeRecord(h, d, rec))
}

// applyCustomize applies a pending re-IP through the guest agent and
// clears it.
func (s *Site) applyCustomize(ctx context.Context, h *host, d golibvirt.Domain) error {
	rec, err := s.readRecord(h, d)
	if err != nil || rec.Customize == nil {
		return err
	}
	c := rec.Customize
	script := "set -e; dev=$(ip -o link show | awk -F': ' '$2 != \"lo\" {print $2; exit}' | cut -d@ -f1); " +
		"ip addr flush dev \"$dev\" scope global; ip addr add " + words.ShellWord(c.Address) + " dev \"$dev\"; ip link set \"$dev\" up"
	if c.Gateway != "" {
		script += "; ip route replace default via " + words.ShellWord(c.Gateway)
	}
	if len(c.DNS) > 0 {
		script += "; : > /etc/resolv.conf"
		for _, n := range c.DNS {
			script += "; echo nameserver " + words.ShellWord(n) + " >> /etc/resolv.conf"
		}
	}
	if c.Hostname != "" {
		script += "; hostname " + words.ShellWord(c.Hostname)
	}
	res, err := s.guestExec(ctx, h, d, "/bin/sh", []string{"-c", script})
	if err != nil {
		return fmt.Errorf("re-IP through the guest agent: %w", err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("re-IP through the guest agent: the guest's ip(8) commands exited %d", res.ExitCode)
	}
	rec.Customize = nil
	return s.writeRecord(h, d, rec)
}

// RunInGuest runs a program in the guest through the agent's guest-exec
// and waits for it to end. The agent runs as root; with a Username
// other than root the program runs as that user through su(1):
// "/bin/su -s /bin/sh USER -c 'exec PROGRAM ARGS…'", every word quoted
// for the shell, so that the plan's arguments arrive as the argv they
// were. The agent's channel is the credential: root needs no password,
// so Password is not used.
func (s *Site) RunInGuest(ctx context.Context, vm providers.VM, req providers.GuestRequest) (providers.GuestResult, error) {
	if err := s.checkWrite("guest", vm); err != nil {
		return providers.GuestResult{}, err
	}
	program, args, err := asUser(req)
	if err != nil {
		return providers.GuestResult{}, &errs.Error{Op: "guest", Object: vm.String(), Kind: errs.Permanent, Err: err}
	}
	h, d, err := s.find(vm)
	if err != nil {
		return providers.GuestResult{}, s.fail("guest", vm, notFound(err))
	}
	res, err := s.guestExec(ctx, h, d, program, args)
	return res, s.fail("guest", vm, err)
}

// guestUser is what RunInGuest accepts as a user name (POSIX portable
// names, as useradd takes them): never an option to su.
var guestUser = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*\$?$`)

// asUser is the program and arguments guest-exec runs for req: req's own
// for root (or no user), su(1) running it as req.Username otherwise.
func asUser(req providers.GuestRequest) (string, []string, error) {
	if req.Username == "" || req.Username == "root" {
		return req.Program, req.Args, nil
	}
	if !guestUser.MatchString(req.Username) {
		return "", nil, fmt.Errorf("guest user name %q is not a user name", req.Username)
	}
	line := "exec " + words.ShellLine(append([]string{req.Program}, req.Args...)...)
	return "/bin/su", []string{"-s", "/bin/sh", req.Username, "-c", line}, nil
}

func (s *Site) guestExec(ctx context.Context, h *host, d golibvirt.Domain, program string, args []string) (providers.GuestResult, error) {
	res := providers.GuestResult{Start: s.clock.Now()}
	if args == nil {
		args = []string{}
	}
	var started struct {
		PID int64 `json:"pid"`
	}
	if err := s.agent(h, d, "guest-exec", map[string]any{"path": program, "arg": args, "capture-output": false}, &started); err != nil {
		return res, err
	}
	res.PID = started.PID
	for {
		var st struct {
			Exited   bool  `json:"exited"`
			ExitCode int32 `json:"exitcode"`
			Signal   int32 `json:"signal"`
		}
		if err := s.agent(h, d, "guest-exec-status", map[string]any{"pid": started.PID}, &st); err != nil {
			return res, err
		}
		if st.Exited {
			res.ExitCode, res.End = st.ExitCode, s.clock.Now()
			if st.Signal != 0 && st.ExitCode == 0 {
				res.ExitCode = 128 + st.Signal
			}
			return res, nil
		}
		if err := s.clock.Sleep(ctx, 200*time.Millisecond); err != nil {
			return res, err
		}
	}
}
