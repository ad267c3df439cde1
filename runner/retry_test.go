package runner_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drplan/drplan/internal/clock"
	"github.com/drplan/drplan/internal/errs"
	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/runner"
	"github.com/drplan/drplan/steps"
)

// flakySite fails every power-on of a VM with the error fail gives it.
type flakySite struct {
	providers.Site
	fail  func(vm providers.VM) error
	mu    sync.Mutex
	calls map[string]int
}

func (s *flakySite) Name() string { return "west" }
func (s *flakySite) Calls() int64 { return 0 }

func (s *flakySite) PowerOn(ctx context.Context, vm providers.VM) error {
	s.mu.Lock()
	s.calls[vm.Path]++
	s.mu.Unlock()
	return s.fail(vm)
}

// retryRun runs power-ons of the VMs, each with retries, on a virtual
// clock, and returns the result and the journal's events.
func retryRun(t *testing.T, site *flakySite, retries int, seed int64, vms ...string) (*runner.Result, []rundir.Event) {
	t.Helper()
	p := &steps.Program{Mode: "test", MaxParallel: 8, Sites: []steps.Site{{Name: "west"}}}
	for _, vm := range vms {
		p.Steps = append(p.Steps, &steps.Step{Addr: steps.TierVM("app", vm, "power_on"), Kind: steps.PowerOn, Phase: steps.PhasePowerOn,
			Tier: "app", VM: vm, Site: "west", Retries: retries, OnFailure: "continue", Args: steps.Args{Target: vm}})
	}
	var mu sync.Mutex
	var events []rundir.Event
	open := func(context.Context, string, bool) (providers.Site, error) { return site, nil }
	res, err := runner.Run(context.Background(), p, runner.Options{RunID: "r", Open: open, Clock: clock.NewVirtual(time.Unix(0, 0)),
		Backoff: time.Second, BackoffCap: 4 * time.Second, Seed: seed,
		Observer: func(e rundir.Event) { mu.Lock(); events = append(events, e); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	return res, events
}

// pauses are the plan times between each failure of step and its next
// start.
func pauses(events []rundir.Event, step steps.Addr) []time.Duration {
	var out []time.Duration
	var failed time.Time
	for _, e := range events {
		if e.Step != step {
			continue
		}
		switch e.Type {
		case rundir.EventStepFailed:
			failed = e.Time
		case rundir.EventStepStarted:
			if !failed.IsZero() {
				out = append(out, e.Time.Sub(failed))
			}
		}
	}
	return out
}

// TestRetryPolicy: a transient failure is tried again exactly Retries
// times, each after the policy's pause in plan time: one second doubling,
// capped at four, less a jitter of up to half drawn from the seed, the
// step and the attempt; a permanent failure is not tried again.
func TestRetryPolicy(t *testing.T) {
	const retries = 5
	site := &flakySite{calls: map[string]int{}, fail: func(vm providers.VM) error {
		if vm.Path == "db-01" {
			return errs.E("power_on", vm.String(), errs.Permanent, errors.New("no such VM"))
		}
		return errs.E("power_on", vm.String(), errs.Transient, errors.New("system error: simulated API error"))
	}}
	res, events := retryRun(t, site, retries, 7, "app-01", "app-02", "db-01")
	policy := errs.Policy{Retries: retries, Base: time.Second, Cap: 4 * time.Second, Jitter: 0.5, Seed: 7}
	for _, vm := range []string{"app-01", "app-02"} {
		step := steps.TierVM("app", vm, "power_on")
		if sr := res.Steps[step]; sr.Status != rundir.StatusOptionalFailed && sr.Status != rundir.StatusFailed || sr.Attempts != retries+1 {
			t.Errorf("%s: %s after %d attempts, want failed after %d", vm, sr.Status, sr.Attempts, retries+1)
		}
		if n := site.calls[vm]; n != retries+1 {
			t.Errorf("%s: %d power-on calls, want %d", vm, n, retries+1)
		}
		got := pauses(events, step)
		t.Logf("%s: %d attempts, pauses %v", vm, attemptsOf(res, step), got)
		if len(got) != retries {
			t.Fatalf("%s: %d pauses, want %d", vm, len(got), retries)
		}
		for i, d := range got {
			attempt := i + 1
			full := min(time.Second<<i, 4*time.Second)
			if d > full || d <= full/2 {
				t.Errorf("%s: pause after attempt %d is %s, not in (%s, %s]", vm, attempt, d, full/2, full)
			}
			if want := policy.Pause(step.String(), attempt); d != want {
				t.Errorf("%s: pause after attempt %d is %s, want the policy's %s", vm, attempt, d, want)
			}
		}
	}
	if a, b := pauses(events, steps.MustParseAddr("tier.app/vm.app-01/power_on")), pauses(events, steps.MustParseAddr("tier.app/vm.app-02/power_on")); a[0] == b[0] && a[1] == b[1] {
		t.Errorf("two steps retried with the same pauses %v: the jitter does not spread them", a)
	}
	if sr := res.Steps[steps.MustParseAddr("tier.app/vm.db-01/power_on")]; sr.Attempts != 1 || site.calls["db-01"] != 1 {
		t.Errorf("a permanent failure was tried %d times (%d calls)", sr.Attempts, site.calls["db-01"])
	}

	// The same seed replays the same pauses; another seed does not.
	again := &flakySite{calls: map[string]int{}, fail: site.fail}
	_, events2 := retryRun(t, again, retries, 7, "app-01", "app-02", "db-01")
	other := &flakySite{calls: map[string]int{}, fail: site.fail}
	_, events3 := retryRun(t, other, retries, 8, "app-01", "app-02", "db-01")
	step := "tier.app/vm.app-01/power_on"
	if a, b := pauses(events, steps.MustParseAddr(step)), pauses(events2, steps.MustParseAddr(step)); !equal(a, b) {
		t.Errorf("seed 7 twice: pauses %v, then %v", a, b)
	}
	if a, c := pauses(events, steps.MustParseAddr(step)), pauses(events3, steps.MustParseAddr(step)); equal(a, c) {
		t.Errorf("seeds 7 and 8: the same pauses %v", a)
	}
}

func attemptsOf(res *runner.Result, step steps.Addr) int { return res.Steps[step].Attempts }

func equal(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestAPIErrorRetriedOnlyByTheRunner: with every PowerOnVM_Task of the
// recovery site failing (a simulated api_error of probability 1), each
// power-on step makes exactly 1 + Retries calls of it: the provider does
// not retry inside the runner's retries.
func TestAPIErrorRetriedOnlyByTheRunner(t *testing.T) {
	src := strings.Replace(bigPlan(3, "20s"), "simulation {\n", `simulation {
  fault "api_error" {
    method      = "PowerOnVM_Task"
    probability = 1
    site        = site.west
  }
`, 1)
	env := setupSource(t, src)
	prog := env.compile(t)
	before := env.world.Site("west").Calls()["PowerOnVM_Task"]
	res, err := runner.Run(context.Background(), prog, runner.Options{RunID: "r", Clock: env.world.Clock,
		Open: func(_ context.Context, name string, _ bool) (providers.Site, error) { return env.sites[name], nil }})
	if err != nil {
		t.Fatal(err)
	}
	calls := env.world.Site("west").Calls()["PowerOnVM_Task"] - before
	powerOns, attempts := 0, 0
	for _, s := range prog.Steps {
		if s.Kind != steps.PowerOn {
			continue
		}
		sr := res.Steps[s.Addr]
		powerOns++
		attempts += sr.Attempts
		if sr.Attempts != s.Retries+1 || s.Retries == 0 || !errs.Retryable(sr.Err) {
			t.Errorf("%s: %d attempts with %d retries, ending in %v", s.Addr, sr.Attempts, s.Retries, sr.Err)
		}
	}
	if powerOns == 0 {
		t.Fatal("the program powers nothing on")
	}
	t.Logf("%d power-on steps, %d attempts, %d PowerOnVM_Task calls", powerOns, attempts, calls)
	if calls != int64(attempts) {
		t.Errorf("%d power-on steps made %d attempts and %d PowerOnVM_Task calls: the provider retried inside them", powerOns, attempts, calls)
	}
}

// TestOpenFailureKeepsItsKind: a site the provider could not open for
// good (a refused login) fails its step once; one that could not be
// reached, or failed with an unclassified error, is tried again.
func TestOpenFailureKeepsItsKind(t *testing.T) {
	for _, c := range []struct {
		name     string
		err      error
		attempts int
	}{
		{"refused login", errs.E("open", `site "west" (https://vc/sdk)`, errs.Permanent, errors.New("vCenter refused the login")), 1},
		{"unreachable", errs.E("open", `site "west" (https://vc/sdk)`, errs.Transient, errors.New("connection refused")), 3},
		{"unclassified", errors.New("no route"), 3},
	} {
		p := &steps.Program{Mode: "test", MaxParallel: 8, Sites: []steps.Site{{Name: "west"}}, Steps: []*steps.Step{{Addr: steps.MustParseAddr("tier.app/vm.a/power_on"),
			Kind: steps.PowerOn, Phase: steps.PhasePowerOn, Tier: "app", VM: "a", Site: "west", Retries: 2, OnFailure: "continue", Args: steps.Args{Target: "a"}}}}
		open := func(context.Context, string, bool) (providers.Site, error) { return nil, c.err }
		res, err := runner.Run(context.Background(), p, runner.Options{RunID: "r", Open: open, Clock: clock.NewVirtual(time.Unix(0, 0))})
		if err != nil {
			t.Fatal(err)
		}
		if sr := res.Steps[steps.MustParseAddr("tier.app/vm.a/power_on")]; sr.Attempts != c.attempts || !strings.Contains(sr.Err.Error(), c.err.Error()) || strings.Count(sr.Err.Error(), "open") != 1 {
			t.Errorf("%s: %d attempts (%v), want %d", c.name, sr.Attempts, sr.Err, c.attempts)
		}
	}
}

// shipSite is a recovery site that ships its replicas' points
// (providers.Shipper) and holds one replica, of a at east.
type shipSite struct{ providers.Site }

func (shipSite) Name() string { return "west" }
func (shipSite) Calls() int64 { return 0 }
func (shipSite) Inventory(context.Context) (*inventory.Site, error) {
	return &inventory.Site{Name: "west", Reachable: true, VMs: []*inventory.VM{{Name: "a", Folder: "replicas",
		Replica: &inventory.Replica{Of: "a", Group: "g", Site: "east", Folder: "prod"}}}}, nil
}
func (shipSite) ShipPoint(context.Context, providers.Site, providers.VM, providers.VM, string) (providers.Shipment, error) {
	return providers.Shipment{}, errors.New("not reached: the protected site could not be opened")
}

// TestShipOpenFailureKeepsItsKind: a final sync that ships its points
// and cannot open the protected site for good (a refused login) fails
// once, as any step whose site cannot be opened; it was made Transient
// and tried again.
func TestShipOpenFailureKeepsItsKind(t *testing.T) {
	refused := errs.E("open", `site "east" (https://vc/sdk)`, errs.Permanent, errors.New("vCenter refused the login"))
	sync := steps.GroupStep("g", "", "sync")
	p := &steps.Program{Mode: "migrate", MaxParallel: 8, Sites: []steps.Site{{Name: "west"}, {Name: "east"}},
		Groups: []steps.Group{{Name: "g", Site: "east", RecoverySite: "west", Method: "snapshot", VMs: []string{"a"}}},
		Steps:  []*steps.Step{{Addr: sync, Kind: steps.Sync, Phase: steps.PhasePrepare, Group: "g", Site: "west", Retries: 2}}}
	open := func(_ context.Context, site string, _ bool) (providers.Site, error) {
		if site == "west" {
			return shipSite{}, nil
		}
		return nil, refused
	}
	res, err := runner.Run(context.Background(), p, runner.Options{RunID: "r", Open: open, Clock: clock.NewVirtual(time.Unix(0, 0))})
	if err != nil {
		t.Fatal(err)
	}
	if sr := res.Steps[sync]; sr.Attempts != 1 || !strings.Contains(sr.Err.Error(), "refused the login") || errs.KindOf(sr.Err) != errs.Permanent {
		t.Errorf("sync: %d attempts (%v, kind %v), want 1 attempt of a permanent failure", sr.Attempts, sr.Err, errs.KindOf(sr.Err))
	}
}
