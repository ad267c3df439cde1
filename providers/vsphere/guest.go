package vsphere

import (
	"context"
	"time"

	"github.com/vmware/govmomi/guest"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/internal/words"
	"github.com/drplan/drplan/providers"
)

// RunInGuest starts a program in the VM's guest through the guest
// process manager (VMware Tools) with a name and password, then follows
// it with ListProcessesInGuest until it has ended, and returns its exit
// code. Arguments are quoted for a POSIX shell, which is how Linux guests
// read them. A ctx that ends first terminates the program. Guest
// operations have no output to return: a program that must report
// something writes it where a later step can fetch it.
func (s *site) RunInGuest(ctx context.Context, vm providers.VM, req providers.GuestRequest) (providers.GuestResult, error) {
	const op = "guest"
	obj := s.object(vm)
	if err := s.refuse(op, vm); err != nil {
		return providers.GuestResult{}, err
	}
	if req.Program == "" {
		return providers.GuestResult{}, permanent(op, obj, "no program to run")
	}
	ref, _, err := s.resolve(ctx, vm)
	if err != nil {
		return providers.GuestResult{}, fail(op, obj, err)
	}
	if ref.Value == "" {
		return providers.GuestResult{}, permanent(op, obj, "no VM %s in datacenter %s", vm.Path, s.datacenter)
	}
	pm, err := guest.NewOperationsManager(s.vc, ref).ProcessManager(ctx)
	if err != nil {
		return providers.GuestResult{}, fail(op, obj, err)
	}
	auth := &types.NamePasswordAuthentication{Username: req.Username, Password: req.Password}
	spec := &types.GuestProgramSpec{ProgramPath: req.Program, Arguments: words.ShellLine(req.Args...)}
	pid, err := pm.StartProgram(ctx, auth, spec)
	if err != nil {
		return providers.GuestResult{}, fail(op, obj, err)
	}
	pause := 100 * time.Millisecond
	for {
		procs, err := pm.ListProcesses(ctx, auth, []int64{pid})
		if err != nil {
			if ctx.Err() != nil {
				terminate(ctx, pm, auth, pid)
			}
			return providers.GuestResult{PID: pid}, fail(op, obj, err)
		}
		for _, p := range procs {
			if p.Pid == pid && p.EndTime != nil {
				return providers.GuestResult{PID: pid, ExitCode: p.ExitCode, Start: p.StartTime, End: *p.EndTime}, nil
			}
		}
		if err := s.clk.Sleep(ctx, pause); err != nil {
			terminate(ctx, pm, auth, pid)
			return providers.GuestResult{PID: pid}, fail(op, obj, err)
		}
		pause = min(2*pause, 2*time.Second)
	}
}

// terminate ends a guest program whose caller gave up on it, as far as
// the guest lets it.
func terminate(ctx context.Context, pm *guest.ProcessManager, auth types.BaseGuestAuthentication, pid int64) {
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	pm.TerminateProcess(tctx, auth, pid)
}
