package runner_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/drplan/drplan/internal/errs"
	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/runner"
	"github.com/drplan/drplan/steps"
)

// waitSite is a site that only waits: wait answers each WaitReady call.
type waitSite struct {
	providers.Site
	mu       sync.Mutex
	calls    [][]providers.VM
	timeouts []time.Duration
	wait     func(call int, vms []providers.VM, timeout time.Duration, report func(int, providers.Readiness)) []providers.Readiness
}

func (s *waitSite) Name() string { return "west" }
func (s *waitSite) Calls() int64 { return 0 }

func (s *waitSite) WaitReady(ctx context.Context, vms []providers.VM, waitFor providers.WaitFor, timeout time.Duration,
	report func(int, providers.Readiness)) []providers.Readiness {
	s.mu.Lock()
	call := len(s.calls)
	s.calls = append(s.calls, vms)
	s.timeouts = append(s.timeouts, timeout)
	s.mu.Unlock()
	return s.wait(call, vms, timeout, report)
}

func waitProgram(timeout time.Duration, vms ...string) *steps.Program {
	p := &steps.Program{Mode: "test", MaxParallel: 8, Sites: []steps.Site{{Name: "west"}}}
	for _, vm := range vms {
		p.Steps = append(p.Steps, &steps.Step{Addr: steps.TierVM("app", vm, "wait_ready"), Kind: steps.WaitReady, Phase: steps.PhaseBoot,
			Tier: "app", VM: vm, Site: "west", Timeout: steps.Duration(timeout), Retries: 3, OnFailure: "continue",
			Args: steps.Args{Target: "drills/" + vm, WaitFor: "heartbeat"}})
	}
	return p
}

func notReadyErr(vm providers.VM, timeout time.Duration) error {
	return &errs.Error{Op: "wait_ready", Object: vm.String(), Kind: errs.Transient,
		Err: fmt.Errorf("no heartbeat after %s: tools not running: %w", timeout, context.DeadlineExceeded)}
}

// TestWaitReadyPerVM: three VMs wait in one batch (one WaitReady call);
// the two that boot finish their steps while the third is still being
// waited for, and the third, not ready in time, fails once: a timeout is
// not retried.
func TestWaitReadyPerVM(t *testing.T) {
	release := make(chan struct{})
	site := &waitSite{}
	site.wait = func(call int, vms []providers.VM, timeout time.Duration, report func(int, providers.Readiness)) []providers.Readiness {
		out := make([]providers.Readiness, len(vms))
		late := -1
		for i, vm := range vms {
			out[i] = providers.Readiness{VM: vm, Ready: true, IP: "10.0.0.1", At: time.Now()}
			if vm.Path == "drills/app-02" {
				late = i
				out[i] = providers.Readiness{VM: vm, Err: notReadyErr(vm, timeout)}
				continue
			}
			report(i, out[i])
		}
		// app-02 is given up only once its tier-mates' steps are done:
		// were their results held back until the whole batch is done,
		// this would wait for the safety timer instead.
		select {
		case <-release:
		case <-time.After(20 * time.Second):
		}
		if late >= 0 {
			report(late, out[late])
		}
		return out
	}
	var order []string
	var omu sync.Mutex
	observe := func(e rundir.Event) {
		if e.Type != rundir.EventStepFinished {
			return
		}
		omu.Lock()
		order = append(order, e.Step.String())
		if len(order) == 2 {
			close(release)
		}
		omu.Unlock()
	}
	prog := waitProgram(time.Minute, "app-01", "app-02", "app-03")
	open := func(context.Context, string, bool) (providers.Site, error) { return site, nil }
	res, err := runner.Run(context.Background(), prog, runner.Options{RunID: "r", Open: open, Observer: observe, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(site.calls) != 1 || len(site.calls[0]) != 3 {
		t.Errorf("WaitReady calls %v; want one for the three VMs", site.calls)
	}
	if len(order) != 3 || order[2] != "tier.app/vm.app-02/wait_ready" {
		t.Errorf("steps finished in order %v; want app-01 and app-03 before app-02", order)
	}
	for _, vm := range []string{"app-01", "app-03"} {
		if s := res.Steps[steps.TierVM("app", vm, "wait_ready")]; s.Status != rundir.StatusOK || s.Attempts != 1 {
			t.Errorf("%s: %s after %d attempts", vm, s.Status, s.Attempts)
		}
	}
	bad := res.Steps[steps.MustParseAddr("tier.app/vm.app-02/wait_ready")]
	if bad.Status != rundir.StatusFailed || bad.Attempts != 1 || !errors.Is(bad.Err, context.DeadlineExceeded) {
		t.Errorf("app-02: %s after %d attempts (%v); want failed once", bad.Status, bad.Attempts, bad.Err)
	}
}

// TestWaitReadyRetryWithinTimeout: an API error during the wait is tried
// again, with what is left of the timeout, not the whole of it again.
func TestWaitReadyRetryWithinTimeout(t *testing.T) {
	site := &waitSite{}
	site.wait = func(call int, vms []providers.VM, timeout time.Duration, report func(int, providers.Readiness)) []providers.Readiness {
		out := []providers.Readiness{{VM: vms[0]}}
		if call == 0 {
			time.Sleep(50 * time.Millisecond)
			out[0].Err = &errs.Error{Op: "wait_ready", Object: vms[0].String(), Kind: errs.Transient, Err: errors.New("connection reset by peer")}
		} else {
			out[0].Ready = true
		}
		report(0, out[0])
		return out
	}
	prog := waitProgram(time.Hour, "app-01")
	open := func(context.Context, string, bool) (providers.Site, error) { return site, nil }
	res, err := runner.Run(context.Background(), prog, runner.Options{RunID: "r", Open: open, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Steps[steps.MustParseAddr("tier.app/vm.app-01/wait_ready")]
	if s.Status != rundir.StatusOK || s.Attempts != 2 {
		t.Fatalf("%s after %d attempts (%v); want ok at the second", s.Status, s.Attempts, s.Err)
	}
	if len(site.timeouts) != 2 || site.timeouts[0] != time.Hour || site.timeouts[1] >= time.Hour || site.timeouts[1] <= 0 {
		t.Errorf("waits of %v; want the hour, then what was left of it", site.timeouts)
	}
}
