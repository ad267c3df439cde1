package simulate

import (
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// guestProcesses stands in for the guest process manager. vcsim runs
// guest programs in a container behind each VM, which simulated VMs do
// not have, so the model decides how a program ends:
//
//   - the VM must be powered on (else InvalidPowerState) and its guest
//     booted, tools running (else GuestOperationsUnavailable: still
//     booting, or a boot_failure fault);
//   - any non-empty username and password log in; an empty one is
//     refused with InvalidGuestLogin, as vcsim itself does;
//   - a program whose arguments end in "exit N" (["/bin/sh", "-c",
//     "exit 3"]) ends with exit code N, a program named false with 1,
//     one named sleep runs for its argument in seconds of plan time, and
//     every other program ends at once with 0.
//
// Start and end times are times of the world's clock. api_error faults
// on StartProgramInGuest and ListProcessesInGuest apply as to any method
// (Site.intercept decides them first).
type guestProcesses struct {
	mo.GuestProcessManager
	site *Site

	mu    sync.Mutex
	next  int64
	procs map[int64]*guestProcess
}

type guestProcess struct {
	vm   types.ManagedObjectReference
	info types.GuestProcessInfo
	end  time.Time
}

// newGuestProcesses puts the model in place of the site's process
// manager.
func newGuestProcesses(s *Site) *guestProcesses {
	ref := types.ManagedObjectReference{Type: "GuestProcessManager", Value: "guestOperationsProcessManager"}
	if gom, ok := s.Model.Map().Get(*s.client.ServiceContent.GuestOperationsManager).(*simulator.GuestOperationsManager); ok && gom.ProcessManager != nil {
		ref = *gom.ProcessManager
	}
	g := &guestProcesses{site: s, next: 1000, procs: map[int64]*guestProcess{}}
	g.Self = ref
	s.Model.Map().Put(g)
	return g
}

// check returns the fault a guest operation on the VM meets, or nil.
func (g *guestProcesses) check(ctx *simulator.Context, ref types.ManagedObjectReference, auth types.BaseGuestAuthentication) types.BaseMethodFault {
	vm, ok := ctx.Map.Get(ref).(*simulator.VirtualMachine)
	if !ok {
		return &types.ManagedObjectNotFound{Obj: ref}
	}
	var power types.VirtualMachinePowerState
	var tools string
	ctx.WithLock(vm, func() {
		power = vm.Runtime.PowerState
		if vm.Guest != nil {
			tools = vm.Guest.ToolsRunningStatus
		}
	})
	if power != types.VirtualMachinePowerStatePoweredOn {
		return &types.InvalidPowerState{RequestedState: types.VirtualMachinePowerStatePoweredOn, ExistingState: power}
	}
	if tools != string(types.VirtualMachineToolsRunningStatusGuestToolsRunning) {
		return &types.GuestOperationsUnavailable{}
	}
	if a, ok := auth.(*types.NamePasswordAuthentication); !ok || a.Username == "" || a.Password == "" {
		return &types.InvalidGuestLogin{}
	}
	return nil
}

// StartProgramInGuest "runs" a program as the model says.
func (g *guestProcesses) StartProgramInGuest(ctx *simulator.Context, req *types.StartProgramInGuest) soap.HasFault {
	body := new(methods.StartProgramInGuestBody)
	if f := g.check(ctx, req.Vm, req.Auth); f != nil {
		body.Fault_ = simulator.Fault("", f)
		return body
	}
	spec, _ := req.Spec.(*types.GuestProgramSpec)
	if spec == nil || spec.ProgramPath == "" {
		body.Fault_ = simulator.Fault("", &types.InvalidArgument{InvalidProperty: "programPath"})
		return body
	}
	code, runs := guestOutcome(spec.ProgramPath, spec.Arguments)
	now := g.site.world.now()
	g.mu.Lock()
	g.next++
	p := &guestProcess{vm: req.Vm, end: now.Add(runs), info: types.GuestProcessInfo{
		Name: path.Base(spec.ProgramPath), Pid: g.next, Owner: req.Auth.(*types.NamePasswordAuthentication).Username,
		CmdLine: strings.TrimSpace(spec.ProgramPath + " " + spec.Arguments), StartTime: now, ExitCode: code,
	}}
	g.procs[p.info.Pid] = p
	g.mu.Unlock()
	body.Res = &types.StartProgramInGuestResponse{Returnval: p.info.Pid}
	return body
}

// ListProcessesInGuest lists the VM's programs (those of pids, or all),
// with an end time and exit code once they have ended.
func (g *guestProcesses) ListProcessesInGuest(ctx *simulator.Context, req *types.ListProcessesInGuest) soap.HasFault {
	body := new(methods.ListProcessesInGuestBody)
	if f := g.check(ctx, req.Vm, req.Auth); f != nil {
		body.Fault_ = simulator.Fault("", f)
		return body
	}
	now := g.site.world.now()
	res := &types.ListProcessesInGuestResponse{}
	g.mu.Lock()
	for pid, p := range g.procs {
		if p.vm != req.Vm || len(req.Pids) > 0 && !slices.Contains(req.Pids, pid) {
			continue
		}
		info := p.info
		if !now.Before(p.end) {
			end := p.end
			info.EndTime = &end
		} else {
			info.ExitCode = 0
		}
		res.Returnval = append(res.Returnval, info)
	}
	g.mu.Unlock()
	body.Res = res
	return body
}

// TerminateProcessInGuest ends a running program (exit code 143, as for
// SIGTERM).
func (g *guestProcesses) TerminateProcessInGuest(ctx *simulator.Context, req *types.TerminateProcessInGuest) soap.HasFault {
	body := new(methods.TerminateProcessInGuestBody)
	if f := g.check(ctx, req.Vm, req.Auth); f != nil {
		body.Fault_ = simulator.Fault("", f)
		return body
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	p := g.procs[req.Pid]
	if p == nil || p.vm != req.Vm {
		body.Fault_ = simulator.Fault("", &types.GuestProcessNotFound{Pid: req.Pid})
		return body
	}
	if now := g.site.world.now(); now.Before(p.end) {
		p.end, p.info.ExitCode = now, 143
	}
	body.Res = &types.TerminateProcessInGuestResponse{}
	return body
}

// Processes returns the guest programs started in a VM so far, by
// managed object ID, ended or not.
func (s *Site) Processes(vmRef string) []types.GuestProcessInfo {
	g := s.guest
	g.mu.Lock()
	defer g.mu.Unlock()
	now := s.world.now()
	var out []types.GuestProcessInfo
	for _, p := range g.procs {
		if p.vm.Value == vmRef {
			info := p.info
			if !now.Before(p.end) {
				end := p.end
				info.EndTime = &end
			}
			out = append(out, info)
		}
	}
	return out
}

// guestOutcome is the exit code of a simulated guest program and how
// long (plan time) it runs.
func guestOutcome(program, args string) (int32, time.Duration) {
	words := strings.Fields(strings.NewReplacer("'", " ", `"`, " ").Replace(args))
	if n := len(words); n >= 2 && words[n-2] == "exit" {
		if code, err := strconv.ParseInt(words[n-1], 10, 32); err == nil {
			return int32(code), 0
		}
	}
	switch path.Base(program) {
	case "false":
		return 1, 0
	case "sleep":
		if len(words) > 0 {
			if secs, err := strconv.ParseFloat(words[0], 64); err == nil && secs > 0 {
				return 0, time.Duration(secs * float64(time.Second))
			}
		}
	}
	return 0, 0
}
