package vsphere_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/drplan/drplan/internal/errs"
	"github.com/drplan/drplan/providers"
)

// TestRunInGuest runs programs in simulated guests through guest
// operations: a booted VM runs them and reports their exit codes; a VM
// whose guest never boots, one that is off, and wrong credentials give
// the vSphere faults a real vCenter gives, classified for the runner.
func TestRunInGuest(t *testing.T) {
	w := newWorld(t, `  fault "boot_failure" { vm = "web-03" }`)
	east := open(t, w.Site("east"))
	west := open(t, w.Site("west"))
	ctx := inPlanTime(t, w)
	web02 := providers.VM{Site: "east", Path: "web-02"}
	login := func(program string, args ...string) providers.GuestRequest {
		return providers.GuestRequest{Program: program, Args: args, Username: "root", Password: "secret"}
	}

	res, err := east.RunInGuest(ctx, web02, login("/usr/bin/systemctl", "is-active", "nginx"))
	if err != nil || res.ExitCode != 0 || res.PID == 0 || res.End.Before(res.Start) {
		t.Errorf("a program in a booted guest: %+v, %v; want exit code 0 and a pid", res, err)
	}
	res, err = east.RunInGuest(ctx, web02, login("/bin/sh", "-c", "exit 3"))
	if err != nil || res.ExitCode != 3 {
		t.Errorf("sh -c 'exit 3': %+v, %v; want exit code 3 and no error", res, err)
	}
	procs := w.Site("east").Processes(vmAt(t, east, "web-02").Ref)
	if len(procs) != 2 || procs[0].Owner != "root" {
		t.Errorf("the guest saw %d programs (%+v), want 2 run as root", len(procs), procs)
	}

	_, err = east.RunInGuest(ctx, web02, providers.GuestRequest{Program: "/bin/true", Username: "root"})
	if !strings.Contains(fmtErr(err), "invalid guest login") || kindOf(err) != errs.Permanent {
		t.Errorf("no password: %v (kind %d), want a Permanent InvalidGuestLogin", err, kindOf(err))
	}

	off := replica("web-01")
	_, err = west.RunInGuest(ctx, off, login("/bin/true"))
	if !strings.Contains(fmtErr(err), "invalid power state") || kindOf(err) != errs.Permanent {
		t.Errorf("a powered-off VM: %v (kind %d), want a Permanent InvalidPowerState", err, kindOf(err))
	}

	// web-03's guest never boots: on, but VMware Tools never run.
	broken := cloneCopy(t, west, "web-03", "drills/guest", "run-g")
	if err := west.PowerOn(ctx, broken); err != nil {
		t.Fatal(err)
	}
	_, err = west.RunInGuest(ctx, broken, login("/bin/true"))
	if !strings.Contains(fmtErr(err), "guest operations unavailable") || !errs.Retryable(err) {
		t.Errorf("a VM whose tools are not running: %v (kind %d), want a Transient GuestOperationsUnavailable", err, kindOf(err))
	}
	var pe *errs.Error
	if errors.As(err, &pe) && (pe.Op != "guest" || pe.Object != "west:drills/guest/web-03") {
		t.Errorf("error names %q on %q", pe.Op, pe.Object)
	}
}

// TestRunInGuestCanceled: a caller that gives up on a guest program (a
// step's timeout) has it terminated in the guest.
func TestRunInGuestCanceled(t *testing.T) {
	w := newWorld(t, "")
	east := open(t, w.Site("east"))
	vm := vmAt(t, east, "web-02")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		// 1000 hours of plan time: it ends only when terminated.
		_, err := east.RunInGuest(ctx, providers.VM{Site: "east", Path: "web-02"},
			providers.GuestRequest{Program: "/bin/sleep", Args: []string{"3600000"}, Username: "root", Password: "pw"})
		done <- err
	}()
	// Starting it is work, not plan time: polled in wall time.
	if !within(t, time.Minute, func() bool { return len(w.Site("east").Processes(vm.Ref)) == 1 }) {
		t.Fatal("the program never started")
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("RunInGuest returned no error when its context ended")
	}
	procs := w.Site("east").Processes(vm.Ref)
	if len(procs) != 1 || procs[0].EndTime == nil || procs[0].ExitCode != 143 {
		t.Errorf("after the cancel the guest has %+v, want the program terminated (exit code 143)", procs)
	}
}

// TestRunInGuestAPIError: an api_error fault on StartProgramInGuest fails
// the call as a Transient error.
func TestRunInGuestAPIError(t *testing.T) {
	w := newWorld(t, `
  fault "api_error" {
    method      = "StartProgramInGuest"
    probability = 1
  }
`)
	east := open(t, w.Site("east"))
	_, err := east.RunInGuest(context.Background(), providers.VM{Site: "east", Path: "web-02"},
		providers.GuestRequest{Program: "/bin/true", Username: "root", Password: "pw"})
	if !errs.Retryable(err) || !strings.Contains(fmtErr(err), "simulated API error in StartProgramInGuest") {
		t.Errorf("with an api_error fault: %v (kind %d), want a Transient simulated API error", err, kindOf(err))
	}
}

func fmtErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
