package vsphere_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/internal/clock"
	"github.com/drplan/drplan/internal/errs"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/providers/vsphere"
	"github.com/drplan/drplan/simulate"
)

// basePlan has a protected site east with three web VMs (one in a
// folder, two tagged) and their replicas at the recovery site west, where
// the test network is DR-Bubble.
const basePlan = `
site "east" {
  role       = "protected"
  datacenter = "DC-East"
}

site "west" {
  role       = "recovery"
  datacenter = "DC-West"
}

protection_group "web" {
  site          = site.east
  recovery_site = site.west
  vms           = ["web-01", "web-02", "web-03"]
  replication {
    method    = "vsphere_replication"
    rpo       = "15m"
    retention = 3
  }
}

recovery_plan "shop" {
  protection_groups = [protection_group.web]
  network_mapping {
    from = "Prod"
    to   = "DR-Prod"
    test = "DR-Bubble"
  }
  tier "web" {
    priority = 1
    vms      = protection_group.web.vms
  }
}
`

// simBlock is the default simulation block: 40 s boots (plan time).
// time_scale matters only to the worlds on a scaled wall clock
// (newScaledWorld); the others run on a virtual clock.
const simBlock = `
simulation {
  time_scale = 0.005
  boot_time  = "40s"
  vm "web-01" {
    folder = "prod/web"
    tags   = ["env:prod", "tier:web"]
  }
  vm "web-02" {
    tags = ["env:prod"]
  }
%s
}
`

func loadSource(t testing.TB, src string) *plans.Plan {
	t.Helper()
	dir := t.TempDir()
	name := filepath.Join(dir, "main.drplan.hcl")
	p, diags := plans.LoadSources(dir, map[string][]byte{name: []byte(src)}, plans.LoadOptions{Environ: []string{}})
	if diags.HasErrors() {
		t.Fatalf("%v", diags)
	}
	return p
}

// newWorld builds the world of basePlan with the default simulation
// block, into which faults adds its text.
func newWorld(t testing.TB, faults string) *simulate.World {
	t.Helper()
	return newWorldFrom(t, basePlan+fmt.Sprintf(simBlock, faults))
}

// newWorldFrom builds a world of src on a virtual clock: plan time stands
// still while anyone works and jumps to the next event when everyone
// waits, so the tests' timeouts and waits are plan times and take no
// wall time of their own. w.Clock is the clock.
func newWorldFrom(t testing.TB, src string) *simulate.World {
	t.Helper()
	v := clock.NewVirtual(time.Now())
	t.Cleanup(v.Close)
	return newWorldOn(t, src, simulate.Options{Clock: v})
}

// newScaledWorld builds the world of basePlan with the default
// simulation block on the wall clock scaled by its time_scale (the
// world `drplan sim serve` serves), for the tests that are about wall
// time: connections, keep-alives, vcsim's own waits.
func newScaledWorld(t testing.TB, faults string) *simulate.World {
	t.Helper()
	return newScaledWorldFrom(t, basePlan+fmt.Sprintf(simBlock, faults))
}

// newScaledWorldFrom builds a world of src on the wall clock scaled by
// its time_scale.
func newScaledWorldFrom(t testing.TB, src string) *simulate.World {
	t.Helper()
	return newWorldOn(t, src, simulate.Options{})
}

func newWorldOn(t testing.TB, src string, opts simulate.Options) *simulate.World {
	t.Helper()
	w, err := simulate.New(context.Background(), loadSource(t, src), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	w.Begin()
	return w
}

// config is how a plan would describe a simulated site: URL with
// credentials, pinned thumbprint, and the world's clock.
func config(s *simulate.Site) providers.SiteConfig {
	return providers.SiteConfig{Name: s.Name, Datacenter: s.Datacenter, URL: s.URL.String(), Thumbprint: s.Thumbprint, Clock: s.Config().Clock}
}

func open(t testing.TB, s *simulate.Site, edit ...func(*providers.SiteConfig)) providers.Site {
	t.Helper()
	cfg := config(s)
	for _, e := range edit {
		e(&cfg)
	}
	site, err := vsphere.Connector{}.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open %s: %v", s.Name, err)
	}
	t.Cleanup(func() { site.Close(context.Background()) })
	return site
}

func replica(name string) providers.VM {
	return providers.VM{Site: "west", Path: vsphere.ReplicaFolder + "/" + name}
}

// cloneCopy clones a replica into a drill folder on the test network.
func cloneCopy(t testing.TB, site providers.Site, name, folder, run string) providers.VM {
	t.Helper()
	vm, err := site.Clone(context.Background(), providers.CloneRequest{
		Replica: replica(name), Name: name, Folder: folder, Networks: []string{"DR-Bubble"}, RunID: run,
	})
	if err != nil {
		t.Fatalf("clone %s: %v", name, err)
	}
	return vm
}

// notAnError is what kindOf says of an error that is no *errs.Error.
const notAnError errs.Kind = 255

// kindOf returns the kind of a provider error, or notAnError.
func kindOf(err error) errs.Kind {
	var pe *errs.Error
	if errors.As(err, &pe) {
		return errs.KindOf(err)
	}
	return notAnError
}

// within polls cond until it holds or d of wall time has passed, for
// conditions that do not wait on the world's clock (work under way, a
// connection's fate).
func within(t testing.TB, d time.Duration, cond func() bool) bool {
	t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

// withinPlan polls cond until it holds or d of the world's time has
// passed, letting step of that time pass between polls: for conditions
// that need plan time to pass (replication, boots). On a virtual clock it
// takes no wall time but the work itself.
// ctx is the test's (inPlanTime): its Work rests while it sleeps.
func withinPlan(ctx context.Context, t testing.TB, w *simulate.World, d, step time.Duration, cond func() bool) bool {
	t.Helper()
	end := w.Clock.Now().Add(d)
	for w.Clock.Now().Before(end) {
		if cond() {
			return true
		}
		if err := w.Clock.Sleep(ctx, step); err != nil {
			t.Fatal(err)
		}
	}
	return cond()
}

// protectClones works around a vcsim bug (govmomi v0.56.0) that
// parallel clones into one folder trip, as a drill's clones into its run
// folder do: createVM puts the new VM into its folder before it names it,
// and a CloneVM task that starts meanwhile looks the folder's children up
// by name and panics on the nameless one ("*mo.VirtualMachine object …
// does not have a Name"), taking the test binary with it. vcsim runs
// createVM holding the folder's lock; protectClones makes each
// CloneVM_Task take that lock too, from the call until its task has
// looked for duplicates (its createVM task appears), so that no clone
// looks while a VM is half made. The clones still run in parallel
// otherwise. (simulate's serialClone, a handler that the site's
// intercept hook returns for CloneVM_Task, does not take effect: vcsim
// replaces the hook's handler with session.Get(This), which falls back
// to the real VM, for every logged-in call.) The simulate package should
// carry a fix like this one for drplan sim serve and the runner's
// drills.
func protectClones(s *simulate.Site) {
	g := &cloneGate{reg: s.Model.Map(), held: map[types.ManagedObjectReference]*cloneHold{}}
	prev := g.reg.Handler
	g.reg.Handler = func(ctx *simulator.Context, m *simulator.Method) (mo.Reference, types.BaseMethodFault) {
		if req, ok := m.Body.(*types.CloneVM_Task); ok {
			g.enter(req.Folder)
		}
		if prev == nil {
			return nil, nil
		}
		return prev(ctx, m)
	}
	g.reg.AddHandler(g)
}

type cloneGate struct {
	reg  *simulator.Registry
	mu   sync.Mutex
	held map[types.ManagedObjectReference]*cloneHold // by folder
}

// cloneHold is a clone's hold on its folder's lock.
type cloneHold struct {
	once    sync.Once
	release func()
}

func (h *cloneHold) end() { h.once.Do(h.release) }

func (g *cloneGate) enter(folder types.ManagedObjectReference) {
	h := &cloneHold{release: g.reg.AcquireLock(&simulator.Context{}, folder)}
	g.mu.Lock()
	g.held[folder] = h
	g.mu.Unlock()
	// A clone that fails before it makes its VM lets go after a while.
	time.AfterFunc(2*time.Second, func() { g.leave(folder, h) })
}

func (g *cloneGate) leave(folder types.ManagedObjectReference, h *cloneHold) {
	g.mu.Lock()
	if h == nil {
		h = g.held[folder]
	}
	if h != nil && g.held[folder] == h {
		delete(g.held, folder)
	}
	g.mu.Unlock()
	if h != nil {
		h.end()
	}
}

func (g *cloneGate) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "DrplanTestHandler", Value: "clone-gate"}
}

// PutObject sees a createVM task appear: the clone that made it has
// looked for duplicates, and the folder's lock passes to the task.
func (g *cloneGate) PutObject(_ *simulator.Context, o mo.Reference) {
	if t, ok := o.(*simulator.Task); ok && t.Info.DescriptionId == "Folder.createVm" && t.Info.Entity != nil {
		g.leave(*t.Info.Entity, nil)
	}
}

func (g *cloneGate) UpdateObject(*simulator.Context, mo.Reference, []types.PropertyChange) {}

func (g *cloneGate) RemoveObject(*simulator.Context, types.ManagedObjectReference) {}

// inPlanTime is the context a test acts in on a world's virtual clock: a
// Work of the test's own, as each of the runner's goroutines has, so that
// plan time stands still while the test's calls are under way (a wait in
// the provider rests the Work). Without it, time could jump to the next
// timer while a call is in flight whenever some other Work waits.
func inPlanTime(t testing.TB, w *simulate.World) context.Context {
	work := clock.NewWork(w.Clock)
	t.Cleanup(work.Done)
	return clock.WithWork(context.Background(), work)
}
