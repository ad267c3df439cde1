package vsphere

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"

	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/internal/errs"
)

func soapFault(f types.BaseMethodFault, msg string) error {
	sf := &soap.Fault{Code: "ServerFaultCode", String: msg}
	sf.Detail.Fault = f
	return soap.WrapSoapFault(sf)
}

func taskFault(f types.BaseMethodFault, msg string) error {
	return task.Error{LocalizedMethodFault: &types.LocalizedMethodFault{Fault: f, LocalizedMessage: msg}}
}

func TestClassify(t *testing.T) {
	vmRef := types.ManagedObjectReference{Type: "VirtualMachine", Value: "vm-1"}
	for _, tc := range []struct {
		name string
		err  error
		want errs.Kind
		msg  string
	}{
		{"injected generic fault", soapFault(&types.SystemErrorFault{Reason: "simulated API error in PowerOnVM_Task"}, "simulated API error in PowerOnVM_Task"),
			errs.Transient, "system error: simulated API error in PowerOnVM_Task"},
		{"task in progress", taskFault(&types.TaskInProgress{}, ""), errs.Transient, "task in progress"},
		{"resource in use", taskFault(&types.ResourceInUse{}, "busy"), errs.Transient, "resource in use: busy"},
		{"invalid state", soapFault(&types.InvalidState{}, ""), errs.Transient, "invalid state"},
		{"not authenticated after a failed re-login", fmt.Errorf("%w (logging in again failed: refused)", soapFault(&types.NotAuthenticated{}, "")),
			errs.Transient, "not authenticated: (logging in again failed: refused)"},
		{"invalid power state", taskFault(&types.InvalidPowerState{ExistingState: types.VirtualMachinePowerStatePoweredOn}, ""),
			errs.Permanent, "invalid power state: the VM is poweredOn"},
		{"simulator's Go type message", taskFault(&types.InvalidPowerState{ExistingState: types.VirtualMachinePowerStatePoweredOff}, "*types.InvalidPowerState"),
			errs.Permanent, "invalid power state: the VM is poweredOff"},
		{"soap fault named by type", soapFault(&types.InvalidPowerState{ExistingState: types.VirtualMachinePowerStatePoweredOff}, "InvalidPowerState: *types.InvalidPowerState"),
			errs.Permanent, "invalid power state: the VM is poweredOff"},
		{"missing object", soapFault(&types.ManagedObjectNotFound{Obj: vmRef}, ""), errs.Permanent, "managed object not found: VirtualMachine vm-1 does not exist"},
		{"not found", taskFault(&types.NotFound{}, ""), errs.Permanent, "not found"},
		{"invalid argument", soapFault(&types.InvalidArgument{InvalidProperty: "spec.location.pool"}, ""), errs.Permanent, "invalid argument: invalid spec.location.pool"},
		{"no permission", soapFault(&types.NoPermission{PrivilegeId: "VirtualMachine.Interact.PowerOn"}, ""), errs.Permanent, ""},
		{"duplicate name", taskFault(&types.DuplicateName{Name: "web-01"}, ""), errs.Permanent, `duplicate name: "web-01" already exists`},
		{"dropped connection", &url.Error{Op: "Post", URL: "https://vc/sdk", Err: io.EOF}, errs.Transient, ""},
		{"refused connection", &url.Error{Op: "Post", URL: "https://vc/sdk", Err: &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}, errs.Transient, ""},
		{"reset connection", fmt.Errorf("read: %w", syscall.ECONNRESET), errs.Transient, ""},
		{"bad gateway", errors.New("POST /sdk: 503 Service Unavailable"), errs.Transient, ""},
		{"untrusted certificate", &url.Error{Op: "Post", URL: "https://vc/sdk", Err: x509.UnknownAuthorityError{}}, errs.Permanent, ""},
		{"deadline", context.DeadlineExceeded, errs.Transient, ""},
		{"cancelled", context.Canceled, errs.Canceled, ""},
		{"anything else", errors.New("bad spec"), errs.Permanent, "bad spec"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := fail("op", "west:vm", tc.err)
			var pe *errs.Error
			if !errors.As(err, &pe) || pe.Kind != tc.want || pe.Op != "op" || pe.Object != "west:vm" {
				t.Fatalf("fail() = %#v, want kind %d", err, tc.want)
			}
			if tc.msg != "" && pe.Err.Error() != tc.msg {
				t.Errorf("message %q, want %q", pe.Err.Error(), tc.msg)
			}
			if !errors.Is(err, tc.err) {
				t.Error("the cause is lost")
			}
		})
	}
	pe := &errs.Error{Op: "x", Kind: errs.ReadOnlyViolation, Err: errors.New("no")}
	if got := fail("y", "z", pe); got != error(pe) {
		t.Errorf("fail re-wrapped a provider error: %v", got)
	}
	if fail("op", "obj", nil) != nil {
		t.Error("fail(nil) is not nil")
	}
}

func TestGoneAndAlreadyThere(t *testing.T) {
	vm := types.ManagedObjectReference{Type: "VirtualMachine", Value: "vm-7"}
	pc := types.ManagedObjectReference{Type: "PropertyCollector", Value: "session[1]pc"}
	if !gone(soapFault(&types.ManagedObjectNotFound{Obj: vm}, ""), vm) {
		t.Error("a missing VM is not gone")
	}
	if gone(soapFault(&types.ManagedObjectNotFound{Obj: pc}, ""), vm) {
		t.Error("a missing property collector made the VM gone")
	}
	on := taskFault(&types.InvalidPowerState{ExistingState: types.VirtualMachinePowerStatePoweredOn}, "")
	if !alreadyInState(on, types.VirtualMachinePowerStatePoweredOn) || alreadyInState(on, types.VirtualMachinePowerStatePoweredOff) {
		t.Error("alreadyInState is wrong")
	}
}

// TestNilSafeFaults: reading errors never panics, whatever nil they hold:
// the nil a *net.DNSError unwraps to (govmomi's fault.In panics on it),
// typed-nil errors and faults.
func TestNilSafeFaults(t *testing.T) {
	dns := &url.Error{Op: "Post", URL: "https://vc..south/sdk", Err: &net.OpError{Op: "dial", Net: "tcp",
		Err: &net.DNSError{Err: "no such host", Name: "vc..south", IsNotFound: true}}}
	var nilURL *url.Error
	var nilFault *types.NotFound
	for name, err := range map[string]error{
		"dns":                  dns,
		"typed nil":            nilURL,
		"wrapped typed nil":    fmt.Errorf("x: %w", nilURL),
		"joined with nil":      errors.Join(errors.New("a"), dns),
		"soap fault nil fault": soapFault(nil, "no detail"),
		"soap typed-nil fault": soapFault(nilFault, "typed nil"),
		"task typed-nil fault": taskFault(nilFault, "typed nil"),
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("panic: %v", p)
				}
			}()
			if f := firstFault(err); f != nil {
				t.Errorf("firstFault = %T", f)
			}
			if isFault(err, &types.NotFound{}) || notFound(err) {
				t.Error("a fault was found")
			}
			var missing *types.ManagedObjectNotFound
			if asFault(err, &missing) || gone(err, types.ManagedObjectReference{}) {
				t.Error("a missing object was found")
			}
			var pe *errs.Error
			if e := fail("open", "south", err); !errors.As(e, &pe) || e.Error() == "" {
				t.Errorf("fail() = %v", e)
			}
			_ = connectionError(err)
			_ = untrusted(err)
		})
	}
	if got := classify(dns); got != errs.Transient {
		t.Errorf("an unresolvable host is kind %d, want Transient", got)
	}
}
