package vsphere

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/internal/errs"
	"github.com/drplan/drplan/internal/units"
	"github.com/drplan/drplan/providers"
)

// maxWait bounds one WaitForUpdatesEx call, so that the wait notices its
// deadline without cutting a call (and its connection) short.
const maxWait = 5 * time.Second

// readiness is what WaitReady has seen of one VM.
type readiness struct {
	power, tools, beat, ip string
	gone, ready, done      bool
	at                     time.Time
}

func (r *readiness) apply(changes []types.PropertyChange) {
	for _, c := range changes {
		val := c.Val
		if c.Op == types.PropertyChangeOpRemove {
			val = nil
		}
		switch c.Name {
		case "runtime.powerState":
			r.power = fmt.Sprint(valueOr(val, ""))
		case "guest.toolsRunningStatus":
			r.tools = fmt.Sprint(valueOr(val, ""))
		case "guestHeartbeatStatus":
			r.beat = fmt.Sprint(valueOr(val, ""))
		case "guest.ipAddress":
			r.ip = fmt.Sprint(valueOr(val, ""))
		}
	}
}

func valueOr(v any, def string) any {
	if v == nil {
		return def
	}
	return v
}

// satisfies reports whether the VM shows the signal.
func (r *readiness) satisfies(w providers.WaitFor) bool {
	if r.gone || r.power != string(types.VirtualMachinePowerStatePoweredOn) {
		return false
	}
	switch w {
	case providers.WaitHeartbeat:
		return r.beat == string(types.ManagedEntityStatusGreen)
	case providers.WaitIP:
		return r.tools == string(types.VirtualMachineToolsRunningStatusGuestToolsRunning) && r.ip != ""
	}
	return true
}

// seen says what the VM last showed, for the error of a VM that did not
// become ready.
func (r *readiness) seen(w providers.WaitFor) string {
	running := r.tools == string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)
	switch {
	case r.gone:
		return "the VM does not exist"
	case r.power == "":
		return "nothing reported (does the VM exist?)"
	case r.power != string(types.VirtualMachinePowerStatePoweredOn):
		return "the VM is " + r.power
	case w == providers.WaitHeartbeat && running:
		return "tools running, heartbeat " + orWord(r.beat, "unknown")
	case w == providers.WaitIP && running:
		return "tools running, no IP address"
	case w == providers.WaitNone:
		return "the VM is " + r.power
	}
	return "tools not running"
}

func orWord(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// notReady is the error of a VM that did not become ready in time; it
// is context.DeadlineExceeded for errors.Is.
type notReady struct{ msg string }

func (e *notReady) Error() string { return e.msg }
func (e *notReady) Unwrap() error { return context.DeadlineExceeded }

// waitProps are the properties readiness depends on.
var waitProps = []string{"runtime.powerState", "guestHeartbeatStatus", "guest.toolsRunningStatus", "guest.ipAddress"}

// WaitReady waits until every VM shows the signal or timeout has passed,
// with one property filter over the whole batch: WaitForUpdatesEx calls
// of at most five seconds each, a few calls however many VMs. Each VM's
// outcome goes to report as soon as it is known: a VM that is up at once,
// not when the batch is done. A VM not ready in time gets a Transient
// error that says what was last seen of it and that is
// context.DeadlineExceeded for errors.Is.
func (s *site) WaitReady(ctx context.Context, vms []providers.VM, waitFor providers.WaitFor, timeout time.Duration,
	report func(int, providers.Readiness)) []providers.Readiness {
	const op = "wait_ready"
	out := make([]providers.Readiness, len(vms))
	told := make([]bool, len(vms))
	tell := func(i int) {
		if !told[i] {
			told[i] = true
			if report != nil {
				report(i, out[i])
			}
		}
	}
	deadline := s.clk.Now().Add(timeout)
	if waitFor == "" {
		waitFor = providers.WaitNone
	}
	states := map[types.ManagedObjectReference]*readiness{}
	of := map[types.ManagedObjectReference][]int{} // the VMs' indices, by reference
	for i, vm := range vms {
		out[i].VM = vm
		switch waitFor {
		case providers.WaitNone, providers.WaitHeartbeat, providers.WaitIP:
		default:
			out[i].Err = permanent(op, s.object(vm), "unknown readiness signal %q", waitFor)
			tell(i)
			continue
		}
		ref, err := s.refOf(ctx, op, vm)
		if err != nil {
			out[i].Err = err
			tell(i)
			continue
		}
		of[ref] = append(of[ref], i)
		if states[ref] == nil {
			states[ref] = &readiness{}
		}
	}
	what := map[providers.WaitFor]string{providers.WaitNone: "power-on", providers.WaitHeartbeat: "heartbeat", providers.WaitIP: "IP address"}[waitFor]
	// settle fills in the outcome of a VM that is done with, waitErr
	// being the wait's own failure, if any.
	settle := func(i int, st *readiness, waitErr error) {
		out[i].IP = st.ip
		obj := s.object(vms[i])
		switch {
		case st.ready:
			out[i].Ready, out[i].At = true, st.at
		case st.gone:
			out[i].Err = permanent(op, obj, "the VM does not exist")
		case waitErr != nil:
			out[i].Err = fail(op, obj, fmt.Errorf("waiting for %s: %w (last seen: %s)", what, waitErr, st.seen(waitFor)))
		default:
			out[i].Err = &errs.Error{Op: op, Object: obj, Kind: errs.Transient,
				Err: &notReady{fmt.Sprintf("no %s after %s: %s", what, units.FormatDuration(timeout), st.seen(waitFor))}}
		}
		tell(i)
	}
	var waitErr error
	if len(states) > 0 {
		waitErr = s.waitBatch(ctx, states, waitFor, deadline, func(ref types.ManagedObjectReference, st *readiness) {
			for _, i := range of[ref] {
				settle(i, st, nil)
			}
		})
	}
	for ref, is := range of {
		for _, i := range is {
			if !told[i] {
				settle(i, states[ref], waitErr)
			}
		}
	}
	return out
}

// waitBatch follows the VMs' readiness properties until all are ready or
// the deadline passes, telling done of each VM as soon as it is ready or
// gone; it returns an error only when the wait itself failed. A VM that
// disappears is marked gone and the wait goes on without it; a wait cut
// short by a new session (after a re-login) starts again in the new one.
func (s *site) waitBatch(ctx context.Context, states map[types.ManagedObjectReference]*readiness,
	waitFor providers.WaitFor, deadline time.Time, done func(types.ManagedObjectReference, *readiness)) error {
	pending := len(states)
	onUpdates := func(updates []types.ObjectUpdate) bool {
		now := s.clk.Now()
		for _, u := range updates {
			st := states[u.Obj]
			if st == nil {
				continue
			}
			if u.Kind == types.ObjectUpdateKindLeave {
				st.gone = true
			}
			st.apply(u.ChangeSet)
			if st.done {
				continue
			}
			if st.satisfies(waitFor) {
				st.ready, st.at, st.done = true, now, true
				pending--
				done(u.Obj, st)
			} else if st.gone {
				st.done = true // nothing more to wait for
				pending--
				done(u.Obj, st)
			}
		}
		return pending <= 0 || !now.Before(deadline)
	}
	restarts := 0
	for pending > 0 && s.clk.Now().Before(deadline) {
		err := s.waitOnce(ctx, states, onUpdates, &pending, deadline)
		if err == nil {
			return nil
		}
		var missing *types.ManagedObjectNotFound
		if asFault(err, &missing) {
			if st := states[missing.Obj]; st != nil && !st.done {
				st.gone, st.done = true, true
				pending--
				done(missing.Obj, st)
				continue
			}
		}
		// The collector went with its session (a re-login, not a
		// transient failure): the wait starts again in the new one.
		if isNotAuthenticated(err) || notFound(err) {
			if restarts++; restarts <= 2 {
				continue
			}
		}
		return err
	}
	return nil
}

// waitOnce makes a property filter (a property.WaitFilter) over the VMs
// not done yet, on a pooled collector, and follows it until all are done
// or the deadline passes.
func (s *site) waitOnce(ctx context.Context, states map[types.ManagedObjectReference]*readiness,
	onUpdates func([]types.ObjectUpdate) bool, pending *int, deadline time.Time) error {
	filter := &property.WaitFilter{}
	for ref, st := range states {
		if !st.done {
			filter.Spec.ObjectSet = append(filter.Spec.ObjectSet, types.ObjectSpec{Obj: ref})
		}
	}
	filter.Spec.PropSet = []types.PropertySpec{{Type: "VirtualMachine", PathSet: waitProps}}
	c, err := s.collector(ctx)
	if err != nil {
		return err
	}
	clean := false
	defer func() { s.release(c, clean) }()
	pf, err := c.pc.CreateFilter(ctx, filter.CreateFilter)
	if err != nil {
		return err
	}
	for *pending > 0 {
		left := deadline.Sub(s.clk.Now())
		if left <= 0 {
			break
		}
		secs := max(int32(min(left, maxWait).Round(time.Second)/time.Second), 1)
		filter.Options = &types.WaitOptions{MaxWaitSeconds: &secs}
		wctx, cancel := s.clk.WithTimeout(ctx, left)
		err := c.pc.WaitForUpdatesEx(wctx, &filter.WaitOptions, onUpdates)
		cancel()
		if err != nil {
			if ctx.Err() == nil && errors.Is(wctx.Err(), context.DeadlineExceeded) {
				return nil // the deadline cut the last call short
			}
			return err
		}
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := pf.Destroy(dctx); err == nil {
		clean = true
	}
	return nil
}
