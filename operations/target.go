package operations

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/drplan/drplan/compiler"
	"github.com/drplan/drplan/internal/clock"
	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/local"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/providers/libvirt"
	"github.com/drplan/drplan/providers/vsphere"
	"github.com/drplan/drplan/runner"
	"github.com/drplan/drplan/simulate"
	"github.com/drplan/drplan/steps"
)

// Target is the world an operation acts on: the plan's simulated sites,
// built in process (sim), or its real vCenters and libvirt hosts (live).
// The sites are reached through the providers.
type Target struct {
	// Kind is "sim" or "live".
	Kind string
	// World is the simulated world of a sim target, nil for a live one.
	World *simulate.World
	cfgs  map[string]providers.SiteConfig
	conn  providers.Connector
	// Dial connects the run's http and tcp checks when the target is
	// simulated (services.go), nil (the network) for a real one; gateway
	// is sim serve's service gateway.
	Dial    func(ctx context.Context, recoveryPlan, mode, address string) (net.Conn, error)
	gateway string

	mu    sync.Mutex
	sites map[string]providers.Site

	// Clock is the target's time: the simulated world's virtual clock, or
	// the wall clock. work is the verb's own busy Work on a virtual
	// clock, from opening the target to closing it: the simulated world's
	// time moves only while the verb waits (a run, a verification's
	// re-reads), never while it compiles or reads inventories.
	Clock clock.Clock
	work  *clock.Work
	// Seed is the simulated world's (given, or drawn at random).
	Seed int64
}

// openTarget prepares the target of a verb. Sites are connected to on
// first use.
func openTarget(ctx context.Context, p *plans.Plan, sim bool, seed int64) (*Target, error) {
	t := &Target{cfgs: map[string]providers.SiteConfig{}, sites: map[string]providers.Site{}, conn: connector{}, Clock: clock.Real{}}
	if sim {
		t.Kind = "sim"
		v := clock.NewVirtual(time.Now().UTC().Truncate(time.Second))
		t.Clock, t.work = v, v.NewWork()
		for seed == 0 {
			var b [8]byte
			rand.Read(b[:])
			seed = int64(binary.BigEndian.Uint64(b[:]) >> 1)
		}
		t.Seed = seed
		w, err := simulate.New(ctx, p, simulate.Options{Clock: v, Seed: seed})
		if err != nil {
			t.work.Done()
			v.Close()
			return nil, fmt.Errorf("cannot build the simulated world: %v", err)
		}
		t.World = w
		// The simulation's fault times count from here: the verb holds
		// its Work until its run waits, so no plan time passes before the
		// run starts, and a site down from the start is down for the
		// checks before it.
		w.Begin()
		for _, s := range w.Sites {
			t.cfgs[s.Name] = s.Config()
		}
		return t, nil
	}
	t.Kind = "live"
	for _, s := range p.Sites {
		cfg := providers.SiteConfig{Name: s.Name, Datacenter: s.Datacenter}
		if lv := s.Libvirt; lv != nil {
			cfg.LibvirtURIs = lv.URIs
		} else if vc := s.VCenter; vc != nil {
			cfg.URL, cfg.Username, cfg.Password = vc.URL, vc.Username, vc.Password.Reveal()
			cfg.Insecure, cfg.Thumbprint = vc.Insecure, vc.Thumbprint
		} else if os.Getenv("GOVC_URL") == "" {
			return nil, fmt.Errorf("site %q has no vcenter or libvirt block (at %s) and GOVC_URL is not set: a live target needs the address of every site's vCenter or libvirt hosts; add vcenter { url = … } or libvirt { uri = … } to the site, or use --sim", s.Name, s.DeclRange)
		}
		t.cfgs[s.Name] = cfg
	}
	return t, nil
}

// connector opens a site with the provider of its hypervisor: libvirt
// for a site with libvirt URIs, else vSphere.
type connector struct{}

func (connector) Open(ctx context.Context, cfg providers.SiteConfig) (providers.Site, error) {
	if len(cfg.LibvirtURIs) > 0 {
		return libvirt.Connector{}.Open(ctx, cfg)
	}
	return vsphere.Connector{}.Open(ctx, cfg)
}

// Busy returns ctx carrying the operation's Work, for what waits on the
// target's clock (a run, a verification).
func (t *Target) Busy(ctx context.Context) context.Context {
	if t.work == nil {
		return ctx
	}
	return clock.WithWork(ctx, t.work)
}

// Site connects to a site, once; readOnly opens it so that any change
// is refused.
func (t *Target) Site(ctx context.Context, name string, readOnly bool) (providers.Site, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := name
	if readOnly {
		key += "/ro"
	}
	if s := t.sites[key]; s != nil {
		return s, nil
	}
	cfg, ok := t.cfgs[name]
	if !ok {
		return nil, fmt.Errorf("no site %q", name)
	}
	cfg.ReadOnly = readOnly
	s, err := t.conn.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	t.sites[key] = s
	return s, nil
}

// cached is a session to a site that is open already, read-only or
// not; nil when there is none.
func (t *Target) cached(name string) providers.Site {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.sites[name+"/ro"]; s != nil {
		return s
	}
	return t.sites[name]
}

// Snapshot reads every site's inventory, in parallel. A site that cannot
// be reached is in the snapshot as unreachable, with the reason.
func (t *Target) Snapshot(ctx context.Context) (*inventory.Snapshot, map[string]error) {
	snap := &inventory.Snapshot{Taken: t.Clock.Now(), Sites: map[string]*inventory.Site{}}
	errs := map[string]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, cfg := range t.cfgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			inv, err := t.ReadSite(cctx, name)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[name] = err
				inv = &inventory.Site{Name: name, Datacenter: cfg.Datacenter}
			}
			snap.Sites[name] = inv
		}()
	}
	wg.Wait()
	return snap, errs
}

// SnapshotSites reads some sites' inventories; any failure is an error.
func (t *Target) SnapshotSites(ctx context.Context, names []string) (*inventory.Snapshot, error) {
	snap := &inventory.Snapshot{Taken: t.Clock.Now(), Sites: map[string]*inventory.Site{}}
	for _, n := range names {
		inv, err := t.ReadSite(ctx, n)
		if err != nil {
			return nil, err
		}
		snap.Sites[n] = inv
	}
	return snap, nil
}

// ReadSite reads one site's inventory through a read-only session.
func (t *Target) ReadSite(ctx context.Context, name string) (*inventory.Site, error) {
	s, err := t.Site(ctx, name, true)
	if err != nil {
		return nil, err
	}
	inv, err := s.Inventory(ctx)
	if err != nil {
		return nil, err
	}
	inv.Name, inv.Reachable = name, true
	return inv, nil
}

// Close ends every session and stops a simulated world.
func (t *Target) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range t.sites {
		s.Close(ctx)
	}
	if t.World != nil {
		t.World.Close()
	}
	if v, ok := t.Clock.(*clock.Virtual); ok {
		t.work.Done()
		v.Close()
	}
}

// compile compiles a mode against the target: the one call of
// compiler.Compile in drplan, and estimates its duration
// with the runner's scheduler (runner.Estimate). On a simulated target a
// VM operation takes no plan time (the simulation's slow_api faults
// aside), so its steps are estimated at zero unless opts says otherwise,
// and so is a step of wall-clock work (a command, Terraform, a prompt),
// during which the simulated world stands still; boot times come from the
// simulation block or past runs as usual.
func (t *Target) compile(p *plans.Plan, snap *inventory.Snapshot, opts compiler.Options) (*steps.Program, hcl.Diagnostics) {
	opts.FreeOperations = t.World != nil
	prog, diags := compiler.Compile(p, snap, opts)
	if prog == nil {
		return nil, diags
	}
	if t.World == nil {
		runner.Estimate(prog)
		return prog, diags
	}
	for _, s := range prog.Steps {
		if runner.WallWork(s, true) {
			s.Estimate = 0
		}
	}
	// The run starts now in the world's plan time (the verb holds it
	// still); a final sync lasts until the replication schedule has a
	// point after it, seen at the sync's next look; a check of a
	// simulated service until the service answers, seen at the check's
	// next try.
	hosts := checkHosts(prog)
	runner.EstimateWith(prog, t.Clock.Now(), func(s *steps.Step, start time.Time, readyAt func(string) (time.Time, bool)) time.Duration {
		switch {
		case s.Kind == steps.Sync:
			if at, ok := t.World.PointsAfter(s.Group, start); ok {
				return pollsUntil(start, at, runner.SyncPoll)
			}
		case s.Args.HTTP != nil || s.Args.TCP != nil:
			host, port := s.Args.CheckAddress()
			vm := hosts[host]
			after, ok := t.World.ServiceAfter(vm, port)
			if booted, up := readyAt(vm); ok && up {
				return pollsUntil(start, booted.Add(after), local.VirtualCheckPoll)
			}
		}
		return time.Duration(s.Estimate)
	})
	return prog, diags
}

// pollsUntil is how long something that looks at start and then every
// poll waits to see what happens at at.
func pollsUntil(start, at time.Time, poll time.Duration) time.Duration {
	if !at.After(start) {
		return 0
	}
	return (at.Sub(start) + poll - 1) / poll * poll
}

// checkHosts maps the hosts a simulated run's checks may name to the VMs
// that answer for them: each VM's name, and the addresses the program
// gives VMs (re-IP).
func checkHosts(prog *steps.Program) map[string]string {
	hosts := map[string]string{}
	for _, s := range prog.Steps {
		if s.VM == "" {
			continue
		}
		hosts[s.VM] = s.VM
		if ip := s.Args.IP; ip != nil {
			if p, err := netip.ParsePrefix(ip.Address); err == nil {
				hosts[p.Addr().String()] = s.VM
			}
		}
	}
	return hosts
}
