package simulate

import (
	"context"
	"fmt"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/methods"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/internal/clock"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/providers/vsphere"
)

// epoch is where the tests' virtual clocks start.
var epoch = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// newVirtualWorld builds a world of p on a virtual clock.
func newVirtualWorld(t testing.TB, p *plans.Plan, seed int64) (*World, *clock.Virtual) {
	t.Helper()
	v := clock.NewVirtual(epoch)
	w, err := New(context.Background(), p, Options{Clock: v, Seed: seed})
	if err != nil {
		v.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w.Close()
		v.Close()
	})
	return w, v
}

// connectVirtual is connect whose calls carry the Work of their context
// (clock.Transport), as the vSphere provider's do on a virtual clock.
func connectVirtual(t testing.TB, s *Site, v *clock.Virtual) *client {
	c := connect(t, s)
	sc := c.c.Client.Client
	sc.Client.Transport = clock.Transport(v, sc.Client.Transport)
	return c
}

// onClock runs f as clock work (v.Go) and waits for it: the test's
// clock-time steps (v.Sleep) move virtual time.
func onClock(t *testing.T, v *clock.Virtual, f func(ctx context.Context)) {
	t.Helper()
	done := make(chan struct{})
	v.Go(context.Background(), func(ctx context.Context) {
		defer close(done)
		f(ctx)
	})
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the clock work did not end")
	}
}

func sleep(t *testing.T, v *clock.Virtual, ctx context.Context, d time.Duration) {
	if err := v.Sleep(ctx, d); err != nil {
		t.Error(err)
	}
}

// TestSiteDownFromBegin: a site_down fault at "5m" takes the site down
// exactly 5 plan minutes after World.Begin, however long the world ran
// before, and brings it back after its duration.
func TestSiteDownFromBegin(t *testing.T) {
	w, v := newVirtualWorld(t, loadSource(t, minimalPlan+`
simulation {
  fault "site_down" {
    site     = site.east
    at       = "5m"
    duration = "1m"
  }
}
`), 1)
	east := w.Site("east")
	onClock(t, v, func(ctx context.Context) {
		sleep(t, v, ctx, 20*time.Minute) // the world runs before the run starts
		if east.Down() {
			t.Fatal("the site went down before Begin")
		}
		w.Begin()
		w.Begin() // idempotent
		sleep(t, v, ctx, 5*time.Minute-time.Nanosecond)
		if east.Down() {
			t.Errorf("down at %v after Begin, before 5m", 5*time.Minute-time.Nanosecond)
		}
		sleep(t, v, ctx, 2*time.Nanosecond)
		if !east.Down() {
			t.Error("not down 5m after Begin")
		}
		sleep(t, v, ctx, time.Minute)
		if east.Down() {
			t.Error("still down after the outage's minute")
		}
	})
	// Down, a site answers nothing; the outage over, it answers again.
	east.SetDown(true)
	c := connect(t, w.Site("west"))
	_ = c
	if _, err := func() (any, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return nil, pingSite(ctx, east)
	}(); err == nil {
		t.Error("a down site answered")
	}
	east.SetDown(false)
	if err := pingSite(context.Background(), east); err != nil {
		t.Errorf("after the outage: %v", err)
	}
}

// pingSite logs in to a site and finds a VM.
func pingSite(ctx context.Context, s *Site) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	ft := &fatalT{}
	c := connect(ft, s)
	_, err = c.finder.VirtualMachine(ctx, "web-01")
	return err
}

// fatalT turns a helper's Fatal into a panic pingSite recovers.
type fatalT struct{ testing.TB }

func (f *fatalT) Helper()                   {}
func (f *fatalT) Cleanup(func())            {}
func (f *fatalT) Fatal(args ...any)         { panic(fmt.Sprint(args...)) }
func (f *fatalT) Fatalf(s string, a ...any) { panic(fmt.Sprintf(s, a...)) }

const seededFaults = minimalPlan + `
simulation {
  fault "api_error" {
    method      = "ReconfigVM_Task"
    probability = 0.5
  }
  fault "api_error" {
    method      = "PowerOnVM_Task"
    probability = 1
    count       = 2
  }
}
`

// decisions returns the api_error decisions of a site for n objects ×
// attempts, the calls made in the order order gives.
func decisions(fs *faultSet, n, attempts int, reverse bool) map[string]bool {
	out := map[string]bool{}
	for a := 0; a < attempts; a++ {
		for i := 0; i < n; i++ {
			j := i
			if reverse {
				j = n - 1 - i
			}
			ref := types.ManagedObjectReference{Type: "VirtualMachine", Value: fmt.Sprintf("vm-%d", j)}
			out[fmt.Sprintf("%s#%d", ref.Value, a)] = fs.apiError("ReconfigVM_Task", ref.Type+":"+ref.Value) != nil
		}
	}
	return out
}

// TestAPIErrorSeed: probabilistic api_error faults are drawn from the
// world's seed per (method, object, attempt): the same seed gives the
// same decisions whatever the order of the calls, another seed other
// ones; count caps how many faults a fault injects.
func TestAPIErrorSeed(t *testing.T) {
	p := loadSource(t, seededFaults)
	w1, _ := newVirtualWorld(t, p, 42)
	w2, _ := newVirtualWorld(t, p, 42)
	w3, _ := newVirtualWorld(t, p, 43)
	const n, attempts = 200, 3
	d1 := decisions(w1.Site("west").faults, n, attempts, false)
	d2 := decisions(w2.Site("west").faults, n, attempts, true)
	d3 := decisions(w3.Site("west").faults, n, attempts, false)
	same, failed, differ := 0, 0, 0
	for k, f := range d1 {
		if d2[k] == f {
			same++
		}
		if f {
			failed++
		}
		if d3[k] != f {
			differ++
		}
	}
	if same != n*attempts {
		t.Errorf("same seed, other call order: %d of %d decisions agree", same, n*attempts)
	}
	if failed < n*attempts*4/10 || failed > n*attempts*6/10 {
		t.Errorf("probability 0.5 failed %d of %d calls", failed, n*attempts)
	}
	if differ < n*attempts/4 {
		t.Errorf("another seed changed only %d of %d decisions", differ, n*attempts)
	}

	// Through the API: the fault carries its message; count = 2 stops
	// after two faults.
	c := connect(t, w1.Site("west"))
	vm := c.replica("web-01")
	for i := 0; i < 3; i++ {
		_, err := vm.PowerOn(context.Background())
		switch {
		case i < 2 && (err == nil || !strings.Contains(err.Error(), "simulated API error in PowerOnVM_Task")):
			t.Errorf("power-on %d: %v, want the injected fault", i+1, err)
		case i == 2 && err != nil:
			t.Errorf("power-on 3 after the count of 2: %v", err)
		}
	}
}

// TestSlowAPIPlanTime: on a virtual clock a slow_api fault delays its
// method by exactly its latency of plan time, the caller's Work paused
// meanwhile.
func TestSlowAPIPlanTime(t *testing.T) {
	w, v := newVirtualWorld(t, loadSource(t, minimalPlan+`
simulation {
  boot_time = "1h"
  fault "slow_api" {
    method  = "PowerOnVM_Task"
    latency = "40s"
  }
}
`), 1)
	c := connectVirtual(t, w.Site("west"), v)
	vm := c.replica("web-01")
	onClock(t, v, func(ctx context.Context) {
		start := v.Now()
		task, err := vm.PowerOn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if took := v.Since(start); took != 40*time.Second {
			t.Errorf("PowerOnVM_Task took %v of plan time, want 40s", took)
		}
		if err := task.Wait(ctx); err != nil {
			t.Error(err)
		}
	})
}

// TestBootOnClock: a guest comes up exactly its boot time after the
// power-on, in plan time.
func TestBootOnClock(t *testing.T) {
	w, v := newVirtualWorld(t, loadSource(t, bootPlan), 1)
	c := connect(t, w.Site("west"))
	web2 := c.replica("web-02") // boot_time = "2m"
	onClock(t, v, func(ctx context.Context) {
		if err := powerOn(t, web2); err != nil {
			t.Fatal(err)
		}
		sleep(t, v, ctx, 2*time.Minute-time.Nanosecond)
		if g := c.guest(web2); g.GuestHeartbeatStatus == types.ManagedEntityStatusGreen {
			t.Error("web-02 booted before its 2m")
		}
		sleep(t, v, ctx, 2*time.Nanosecond)
		if g := c.guest(web2); g.GuestHeartbeatStatus != types.ManagedEntityStatusGreen || g.Guest.IpAddress == "" {
			t.Errorf("web-02 not up 2m after power-on: %s %q", g.GuestHeartbeatStatus, g.Guest.IpAddress)
		}
	})
}

const replicationPlan = `
site "east" {
  role       = "protected"
  datacenter = "DC-East"
}

site "west" {
  role       = "recovery"
  datacenter = "DC-West"
}

protection_group "grouped" {
  site          = site.east
  recovery_site = site.west
  vms           = ["g-01", "g-02"]
  consistency   = "group"
  replication {
    method    = "vsphere_replication"
    rpo       = "15m"
    retention = 3
  }
}

protection_group "single" {
  site          = site.east
  recovery_site = site.west
  vms           = ["s-01", "s-02", "s-03"]
  consistency   = "vm"
  replication {
    method = "snapshot"
    rpo    = "1h"
  }
}

protection_group "lagging" {
  site          = site.east
  recovery_site = site.west
  vms           = ["l-01"]
  replication {
    method = "snapshot"
    rpo    = "1h"
  }
}

protection_group "journal" {
  site          = site.east
  recovery_site = site.west
  vms           = ["j-01"]
  replication {
    method  = "cdp"
    rpo     = "5s"
    journal = "4h"
  }
}

simulation {
  fault "replication_lag" {
    protection_group = protection_group.lagging
    lag              = "2h"
  }
}
`

// TestReplication: points are a function of the clock. A consistency
// group shares its points, per-VM replication staggers them; discrete
// points are half an RPO apart and keep the retention; a lagging group's
// points trail by the lag; a CDP journal holds its window.
func TestReplication(t *testing.T) {
	w, v := newVirtualWorld(t, loadSource(t, replicationPlan), 1)
	c := connect(t, w.Site("west"))
	g1, g2 := c.points("g-01"), c.points("g-02")
	if vsphere.FormatRecoveryPoints(g1) != vsphere.FormatRecoveryPoints(g2) || len(g1.Times) != 3 {
		t.Errorf("consistency group points differ or retention is off:\n%s\n%s", g1, g2)
	}
	if gap := g1.Times[1].Sub(g1.Times[0]); gap != 15*time.Minute/2 {
		t.Errorf("points %v apart, want half the 15m RPO", gap)
	}
	s1, s2 := c.points("s-01"), c.points("s-02")
	if s1.Latest().Equal(s2.Latest()) {
		t.Errorf("per-VM replication gave both VMs the same point %v", s1.Latest())
	}
	if age := v.Since(c.points("l-01").Latest()); age < 2*time.Hour || age >= 2*time.Hour+time.Hour {
		t.Errorf("lagging group's latest point is %v old, want 2h to 3h", age)
	}
	j := c.points("j-01")
	if !j.Continuous || j.Latest().Sub(j.JournalStart) != 4*time.Hour || !j.Latest().Equal(v.Now()) {
		t.Errorf("journal %s at %s, want a continuous 4h window up to now", vsphere.FormatRecoveryPoints(j), v.Now())
	}
	onClock(t, v, func(ctx context.Context) {
		sleep(t, v, ctx, 15*time.Minute/2)
		g1b := c.points("g-01")
		if !g1b.Latest().After(g1.Latest()) || len(g1b.Times) != 3 || !g1b.Times[0].Equal(g1.Times[1]) {
			t.Errorf("points did not advance by one period:\nbefore %s\nafter  %s", g1, g1b)
		}
	})
}

// TestRPOHeld: over hours of virtual time, read at irregular instants, a
// discrete group's latest point is never older than its RPO, and a CDP
// journal's latest point is at most 1 s old, whether read through the
// API or from the engine.
func TestRPOHeld(t *testing.T) {
	w, v := newVirtualWorld(t, loadSource(t, replicationPlan), 1)
	west := w.Site("west")
	c := connect(t, west)
	steps := []time.Duration{time.Second / 3, 7 * time.Second, 47 * time.Second, 13*time.Minute + 11*time.Second, 29 * time.Minute, 3*time.Minute + 999*time.Millisecond}
	onClock(t, v, func(ctx context.Context) {
		for i := 0; v.Since(epoch) < 5*time.Hour; i++ {
			sleep(t, v, ctx, steps[i%len(steps)])
			now := v.Now()
			for name, rpo := range map[string]time.Duration{"g-01": 15 * time.Minute, "s-01": time.Hour, "s-02": time.Hour, "s-03": time.Hour} {
				if age := now.Sub(west.PointsOf(name).Latest()); age > rpo || age < 0 {
					t.Errorf("at %v: %s's latest point is %v old, RPO %v", now.Sub(epoch), name, age, rpo)
				}
			}
			if i%5 == 0 {
				if age := now.Sub(c.points("s-03").Latest()); age > time.Hour {
					t.Errorf("at %v: s-03 read through the API is %v old", now.Sub(epoch), age)
				}
			}
			j := c.points("j-01")
			if age := now.Sub(j.Latest()); age > time.Second || age < 0 {
				t.Errorf("at %v: the CDP journal's latest point is %v old", now.Sub(epoch), age)
			}
		}
	})
}

// TestReplicationStopsWhenSourceDown: no point is taken while the
// protected site is down; taking resumes when it is back.
func TestReplicationStopsWhenSourceDown(t *testing.T) {
	w, v := newVirtualWorld(t, loadSource(t, replicationPlan), 1)
	east, west := w.Site("east"), w.Site("west")
	onClock(t, v, func(ctx context.Context) {
		east.SetDown(true)
		downAt := v.Now()
		before := west.PointsOf("j-01").Latest()
		sleep(t, v, ctx, time.Hour)
		if l := west.PointsOf("j-01").Latest(); !l.Equal(before) || !l.Equal(downAt) {
			t.Errorf("journal moved to %v while its source was down (frozen at %v)", l, before)
		}
		if age := v.Since(west.PointsOf("g-01").Latest()); age < time.Hour {
			t.Errorf("g-01 took a point %v ago while its source was down", age)
		}
		east.SetDown(false)
		sleep(t, v, ctx, 15*time.Minute/2)
		if age := v.Since(west.PointsOf("g-01").Latest()); age > 15*time.Minute {
			t.Errorf("g-01's latest point %v old after the source came back", age)
		}
		if !west.PointsOf("j-01").Latest().Equal(v.Now()) {
			t.Error("the journal did not resume")
		}
	})
}

// TestCancelWaitOwnSessionOnly: CancelWaitForUpdates ends the wait of
// its own session's collector; another session waiting on a collector
// of the same name (the default one) goes on waiting.
func TestCancelWaitOwnSessionOnly(t *testing.T) {
	w, v := newVirtualWorld(t, loadSource(t, bootPlan), 1)
	a, b := connectVirtual(t, w.Site("west"), v), connectVirtual(t, w.Site("west"), v)
	vm := a.replica("web-02").Reference()
	type waited struct {
		who   string
		fault error
	}
	results := make(chan waited, 2)
	onClock(t, v, func(ctx context.Context) {
		for _, c := range []struct {
			who string
			cl  *client
		}{{"a", a}, {"b", b}} {
			pc := property.DefaultCollector(c.cl.c.Client)
			if _, err := pc.CreateFilter(ctx, types.CreateFilter{Spec: types.PropertyFilterSpec{
				ObjectSet: []types.ObjectSpec{{Obj: vm}},
				PropSet:   []types.PropertySpec{{Type: "VirtualMachine", PathSet: []string{"runtime.powerState"}}},
			}}); err != nil {
				t.Fatal(err)
			}
			// The first wait gives the current state; the second parks.
			secs := int32(60)
			req := types.WaitForUpdatesEx{This: pc.Reference(), Options: &types.WaitOptions{MaxWaitSeconds: &secs}}
			first, err := methods.WaitForUpdatesEx(ctx, c.cl.c.Client, &req)
			if err != nil {
				t.Fatal(err)
			}
			req.Version = first.Returnval.Version
			v.Go(context.Background(), func(ctx context.Context) {
				_, err := methods.WaitForUpdatesEx(ctx, c.cl.c.Client, &req)
				results <- waited{c.who, err}
			})
		}
		for end := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			w.Site("west").waits.mu.Lock()
			n := len(w.Site("west").waits.parked)
			w.Site("west").waits.mu.Unlock()
			if n == 2 {
				break
			}
			if time.Now().After(end) {
				t.Fatalf("%d waits parked, want 2", n)
			}
		}
		if _, err := methods.CancelWaitForUpdates(ctx, a.c.Client, &types.CancelWaitForUpdates{This: property.DefaultCollector(a.c.Client).Reference()}); err != nil {
			t.Fatal(err)
		}
		first := <-results
		if first.who != "a" || first.fault == nil {
			t.Errorf("the cancel ended %s's wait (%v), want a's, with a fault", first.who, first.fault)
		}
	})
	if second := <-results; second.who != "b" || second.fault != nil {
		t.Errorf("b's wait: %+v, want it to run to its MaxWaitSeconds without a fault", second)
	}
}
