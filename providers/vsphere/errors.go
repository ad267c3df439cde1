package vsphere

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"unicode"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/internal/errs"
)

// fail wraps err as the *errs.Error of an operation on an object,
// classified by classify. An err that already is an *errs.Error is
// returned as it is.
func fail(op, object string, err error) error {
	if err == nil {
		return nil
	}
	if holdsNil(err) {
		// A typed nil (a nil *url.Error in an error), or an error
		// wrapping one: errors.Is and errors.As would panic on it.
		return errs.E(op, object, errs.Permanent, fmt.Errorf("an error without detail: %v", err))
	}
	var pe *errs.Error
	if errors.As(err, &pe) {
		return err
	}
	return errs.E(op, object, classify(err), describe(err))
}

// permanent is a Permanent error built from a message.
func permanent(op, object, format string, args ...any) error {
	return errs.E(op, object, errs.Permanent, fmt.Errorf(format, args...))
}

// classify says what kind of failure err is, for errs.Retryable to
// decide on: connection trouble, timeouts and the faults of a busy or
// briefly unwell server are Transient; a cancelled context is Canceled;
// everything else (missing objects, bad arguments, refused permissions,
// untrusted certificates) is Permanent.
func classify(err error) errs.Kind {
	if f := firstFault(err); f != nil {
		if transientFault(f) {
			return errs.Transient
		}
		return errs.Permanent
	}
	switch {
	case errors.Is(err, context.Canceled):
		return errs.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return errs.Transient
	case untrusted(err):
		return errs.Permanent
	case connectionError(err):
		return errs.Transient
	}
	return errs.Permanent
}

// transientFault reports whether a vSphere fault is worth another try.
// InvalidPowerState is a kind of InvalidState but says the VM is in the
// wrong state for the call, which a retry does not change; callers that
// accept "already there" look for it before they get here.
func transientFault(f types.BaseMethodFault) bool {
	switch f.(type) {
	case *types.InvalidPowerState, *types.InvalidPowerStateFault:
		return false
	case *types.SystemErrorFault, // also what the simulator's injected generic faults are
		*types.TaskInProgress, *types.VAppTaskInProgress,
		*types.ResourceInUse, *types.InvalidState, *types.InvalidHostState,
		*types.HostCommunication, *types.HostNotConnected, *types.HostNotReachable,
		*types.ConcurrentAccess, *types.NetworkDisruptedAndConfigRolledBack,
		*types.FailToLockFaultToleranceVMs, *types.Timedout, *types.RequestCanceled,
		*types.GuestOperationsUnavailable,
		*types.NotAuthenticated: // only reaches here when logging in again failed
		return true
	}
	return false
}

// firstFault returns the outermost vSphere fault err carries, or nil.
func firstFault(err error) types.BaseMethodFault {
	var found types.BaseMethodFault
	eachFault(err, func(f types.BaseMethodFault) bool {
		found = f
		return true
	})
	return found
}

// isFault reports whether err carries a fault of the given type anywhere
// in its chain of causes.
func isFault(err error, target types.BaseMethodFault) bool {
	return eachFault(err, func(f types.BaseMethodFault) bool { return fault.Is(f, target) })
}

// asFault is fault.As made safe for any error: it finds the first fault
// in err's tree assignable to target (a pointer to a fault pointer) and
// sets target to it.
func asFault(err error, target any) bool {
	return eachFault(err, func(f types.BaseMethodFault) bool {
		_, ok := fault.As(f, target)
		return ok
	})
}

// eachFault calls fn with the vSphere faults in err's tree, outermost
// first, until fn returns true, and reports whether it did. Unlike
// govmomi's fault.In, which panics on the nil an Unwrap returns at the
// end of a chain such as *url.Error → *net.OpError → *net.DNSError (every
// unresolvable host name), it skips nil and typed-nil errors and faults
// (on which fault.Is and fault.As call methods that dereference them),
// and a panic in an error's own methods only ends the walk: reading an
// error must never crash drplan.
func eachFault(err error, fn func(types.BaseMethodFault) bool) (found bool) {
	defer func() {
		if recover() != nil {
			found = false
		}
	}()
	var walk func(v error, depth int) bool
	walk = func(v error, depth int) bool {
		if isNil(v) || depth > 64 {
			return false
		}
		switch e := v.(type) {
		case types.HasLocalizedMethodFault:
			if lmf := e.GetLocalizedMethodFault(); lmf != nil && !isNil(lmf.Fault) && fn(lmf.Fault) {
				return true
			}
		case types.BaseMethodFault:
			return fn(e)
		case interface{ Fault() types.BaseMethodFault }:
			if f := e.Fault(); !isNil(f) && fn(f) {
				return true
			}
		}
		switch e := v.(type) {
		case interface{ Unwrap() error }:
			return walk(e.Unwrap(), depth+1)
		case interface{ Unwrap() []error }:
			for _, c := range e.Unwrap() {
				if walk(c, depth+1) {
					return true
				}
			}
		}
		return false
	}
	return walk(err, 0)
}

// holdsNil reports whether err is nil, a typed nil, or wraps one.
func holdsNil(err error) bool {
	if isNil(err) {
		return true
	}
	switch e := err.(type) {
	case interface{ Unwrap() error }:
		next := e.Unwrap()
		return next != nil && holdsNil(next)
	case interface{ Unwrap() []error }:
		for _, c := range e.Unwrap() {
			if c != nil && holdsNil(c) {
				return true
			}
		}
	}
	return false
}

// isNil reports whether v is nil or a nil pointer, map, slice, function
// or channel in an interface (a typed nil).
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan:
		return rv.IsNil()
	}
	return false
}

// notFound reports whether err says the object does not exist.
func notFound(err error) bool {
	return isFault(err, &types.ManagedObjectNotFound{}) || isFault(err, &types.NotFound{})
}

// gone reports whether err says that ref itself does not exist (not some
// other object the call involved, such as a property collector).
func gone(err error, ref types.ManagedObjectReference) bool {
	var missing *types.ManagedObjectNotFound
	if asFault(err, &missing) {
		return missing.Obj.Value == ref.Value
	}
	return false
}

// alreadyInState reports whether err is an InvalidPowerState fault whose
// existing state is want: the VM already is where the call would put it.
func alreadyInState(err error, want types.VirtualMachinePowerState) bool {
	var ips *types.InvalidPowerState
	if asFault(err, &ips) && ips.ExistingState == want {
		return true
	}
	return false
}

// connectionError reports whether err is trouble reaching the server:
// refused, reset or dropped connections, network timeouts, and the
// gateway statuses a proxy in front of a restarting vCenter answers with.
func connectionError(err error) bool {
	if holdsNil(err) || untrusted(err) {
		return false
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) {
		return true
	}
	var op *net.OpError
	var dns *net.DNSError
	if errors.As(err, &op) || errors.As(err, &dns) {
		return true
	}
	var to interface{ Timeout() bool }
	if errors.As(err, &to) && to.Timeout() {
		return true
	}
	msg := err.Error()
	for _, s := range []string{"connection reset", "server closed", "broken pipe", "connection refused",
		"502 Bad Gateway", "503 Service Unavailable", "504 Gateway Timeout"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// untrusted reports whether err is a refused TLS certificate.
func untrusted(err error) bool {
	if holdsNil(err) {
		return false
	}
	if soap.IsCertificateUntrusted(err) {
		return true
	}
	var ci x509.CertificateInvalidError
	if errors.As(err, &ci) {
		return true
	}
	return strings.Contains(err.Error(), "thumbprint does not match")
}

// faultError names the vSphere fault behind an error whose own message
// says little ("", "ServerFaultCode: …"), and keeps the original as its
// cause for errors.As and govmomi's fault package.
type faultError struct {
	name, msg string
	err       error
}

func (e *faultError) Error() string {
	if e.msg == "" || e.msg == e.name {
		return e.name
	}
	return e.name + ": " + e.msg
}

func (e *faultError) Unwrap() error { return e.err }

// describe makes err readable: a vSphere fault becomes its name in
// words and its message, "invalid power state: the VM is poweredOff",
// with no Go type names (the simulator's messages are "%T" of the fault).
func describe(err error) error {
	f := firstFault(err)
	if f == nil {
		return err
	}
	name := faultName(f)
	msg := strings.TrimSpace(strings.Replace(err.Error(), "ServerFaultCode:", "", 1))
	msg = strings.TrimSpace(goTypeRE.ReplaceAllStringFunc(msg, func(t string) string {
		if t = goTypeRE.FindStringSubmatch(t)[1]; t == name || t == name+"Fault" {
			return "" // the fault's own name, said already
		}
		return faultWords(t)
	}))
	msg = strings.TrimSpace(strings.Trim(msg, ":;,. "))
	if m := faultMessage(f); msg == "" || msg == name || msg == reflect.TypeOf(f).Elem().Name() || strings.EqualFold(msg, faultWords(name)) {
		msg = m
	}
	return &faultError{name: faultWords(name), msg: msg, err: err}
}

// goTypeRE finds Go type names in messages: *types.InvalidPowerState.
var goTypeRE = regexp.MustCompile(`\*?(?:types|soap|methods|mo)\.([A-Z][A-Za-z0-9]*)`)

// faultWords spells a fault name as words: InvalidPowerState is "invalid
// power state"; acronyms (VM, IP) stay as they are.
func faultWords(name string) string {
	var out []string
	r := []rune(name)
	start := 0
	for i := 1; i <= len(r); i++ {
		if i < len(r) && !(unicode.IsUpper(r[i]) && (unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1]) || i+1 < len(r) && unicode.IsUpper(r[i-1]) && unicode.IsLower(r[i+1]))) {
			continue
		}
		w := string(r[start:i])
		if strings.ToUpper(w) != w || len(r[start:i]) == 1 {
			w = strings.ToLower(w)
		}
		out = append(out, w)
		start = i
	}
	return strings.Join(out, " ")
}

// faultName is the vSphere name of a fault: SystemError, InvalidPowerState.
func faultName(f types.BaseMethodFault) string {
	t := reflect.TypeOf(f)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	name := t.Name()
	if name == "SystemErrorFault" {
		return "SystemError"
	}
	return name
}

// faultMessage says what a fault's fields say, for the faults whose
// localized message is often empty.
func faultMessage(f types.BaseMethodFault) string {
	switch f := f.(type) {
	case *types.InvalidPowerState:
		return fmt.Sprintf("the VM is %s", f.ExistingState)
	case *types.SystemErrorFault:
		return f.Reason
	case *types.DuplicateName:
		return fmt.Sprintf("%q already exists", f.Name)
	case *types.InvalidArgument:
		return "invalid " + f.InvalidProperty
	case *types.ManagedObjectNotFound:
		return fmt.Sprintf("%s %s does not exist", f.Obj.Type, f.Obj.Value)
	case *types.NoPermission:
		return "missing privilege " + f.PrivilegeId
	case *types.GuestOperationsUnavailable:
		return "VMware Tools are not running in the guest"
	case *types.InvalidGuestLogin:
		return "the guest refused the username and password"
	}
	if mf := f.GetMethodFault(); mf != nil && mf.FaultCause != nil {
		return mf.FaultCause.LocalizedMessage
	}
	return ""
}

// openFailed is the error of a site that could not be opened: a
// *errs.Error of the operation "open" on object (the site and its
// vCenter URL, see siteObject), classified as classify does, whose message
// says in one line what went wrong and what to check. user and pass are
// the credentials used: pass is cut out of any message that would show it.
func openFailed(object string, u *url.URL, user, pass string, err error) error {
	if holdsNil(err) {
		return fail("open", object, err)
	}
	var pe *errs.Error
	if errors.As(err, &pe) {
		return err
	}
	msg := explain(u, user, err)
	if len(pass) >= 3 {
		msg = strings.ReplaceAll(msg, pass, "****")
	}
	return errs.E("open", object, classify(err), &openError{msg: msg, err: err})
}

// openError is an explained error of Open; its cause stays reachable for
// errors.Is and errors.As.
type openError struct {
	msg string
	err error
}

func (e *openError) Error() string { return e.msg }
func (e *openError) Unwrap() error { return e.err }

// explain says in one line why a vCenter could not be reached or logged
// in to, and what to check.
func explain(u *url.URL, user string, err error) string {
	host := u.Host
	var dns *net.DNSError
	var ue *url.Error
	switch {
	case isFault(err, &types.InvalidLogin{}):
		return fmt.Sprintf("vCenter refused the login of user %q; check the credentials (the vcenter url's user name and password, or the site's username and password)", user)
	case untrusted(err):
		if strings.Contains(err.Error(), "thumbprint does not match") {
			return fmt.Sprintf("the certificate of %s does not match the site's thumbprint; check the thumbprint (or the vcenter url)", host)
		}
		return fmt.Sprintf("the certificate of %s is not trusted (%s); check the certificate, or set the site's thumbprint (or CA certificate, or insecure = true)", host, certProblem(err))
	case errors.As(err, &dns):
		return fmt.Sprintf("cannot resolve host name %s: %s; check DNS and the vcenter url", dns.Name, dns.Err)
	case errors.Is(err, context.DeadlineExceeded) || timedOut(err):
		return fmt.Sprintf("no answer from %s in time (%s); check that vCenter is up, the network and firewalls in between, and the vcenter url", host, cause(err))
	case errors.Is(err, context.Canceled):
		return fmt.Sprintf("cancelled while connecting to %s", host)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("connection refused by %s; check that vCenter is up and the vcenter url's host and port", host)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE):
		return fmt.Sprintf("%s closed the connection (%s); check that the vcenter url is a vCenter's HTTPS address, and any proxy or firewall in between", host, cause(err))
	case errors.As(err, &ue):
		return fmt.Sprintf("%s; check the vcenter url and that vCenter is up", cause(err))
	}
	return describe(err).Error()
}

// cause is the innermost message of err without the "Post URL:" of the
// HTTP client (the URL is in the error's object already), on one line.
func cause(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) && !isNil(ue.Err) {
		err = ue.Err
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}

// timedOut reports whether err is a network timeout.
func timedOut(err error) bool {
	var to interface{ Timeout() bool }
	return errors.As(err, &to) && !isNil(to) && to.Timeout()
}

// certProblem says briefly what is wrong with a refused certificate.
func certProblem(err error) string {
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		return "signed by an unknown authority"
	case errors.As(err, &he):
		return he.Error()
	case errors.As(err, &ci):
		return ci.Error()
	}
	return cause(err)
}
