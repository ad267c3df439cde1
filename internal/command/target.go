package command

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/providers/libvirt"
	"github.com/drplan/drplan/providers/vsphere"
	"github.com/drplan/drplan/simulate"
)

// target is the world a verb acts on: the plan's simulated sites, built
// in process (--sim), or its real vCenters (--live). Either way the sites
// are reached through the vSphere provider over HTTPS.
type target struct {
	kind  string // "sim" or "live"
	world *simulate.World
	cfgs  map[string]providers.SiteConfig
	conn  providers.Connector
	// dial connects the run's http and tcp checks when the target is
	// simulated (services.go), nil (the network) for a real one; gateway
	// is sim serve's service gateway.
	dial    func(ctx context.Context, recoveryPlan, mode, address string) (net.Conn, error)
	gateway string

	mu    sync.Mutex
	sites map[string]providers.Site
}

// openTarget prepares the target of a verb. Sites are connected to on
// first use.
func openTarget(ctx context.Context, p *plans.Plan, sim bool) (*target, error) {
	t := &target{cfgs: map[string]providers.SiteConfig{}, sites: map[string]providers.Site{}, conn: connector{}}
	if sim {
		t.kind = "sim"
		w, err := simulate.New(ctx, p, simulate.Options{})
		if err != nil {
			return nil, fmt.Errorf("cannot build the simulated world: %v", err)
		}
		t.world = w
		for _, s := range w.Sites {
			t.cfgs[s.Name] = s.Config()
		}
		return t, nil
	}
	t.kind = "live"
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

// timeScale is the simulated world's time scale, 0 for a live target.
func (t *target) timeScale() float64 {
	if t.world != nil {
		return t.world.TimeScale
	}
	return 0
}

// site connects to a site, once; readOnly opens it so that any change
// is refused.
func (t *target) site(ctx context.Context, name string, readOnly bool) (providers.Site, error) {
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
func (t *target) cached(name string) providers.Site {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.sites[name+"/ro"]; s != nil {
		return s
	}
	return t.sites[name]
}

// snapshot reads every site's inventory, in parallel. A site that cannot
// be reached is in the snapshot as unreachable, with the reason.
func (t *target) snapshot(ctx context.Context) (*inventory.Snapshot, map[string]error) {
	snap := &inventory.Snapshot{Taken: time.Now(), Sites: map[string]*inventory.Site{}}
	errs := map[string]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, cfg := range t.cfgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			inv, err := t.readSite(cctx, name)
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

// snapshotSites reads some sites' inventories; any failure is an error.
func (t *target) snapshotSites(ctx context.Context, names []string) (*inventory.Snapshot, error) {
	snap := &inventory.Snapshot{Taken: time.Now(), Sites: map[string]*inventory.Site{}}
	for _, n := range names {
		inv, err := t.readSite(ctx, n)
		if err != nil {
			return nil, err
		}
		snap.Sites[n] = inv
	}
	return snap, nil
}

func (t *target) readSite(ctx context.Context, name string) (*inventory.Site, error) {
	s, err := t.site(ctx, name, true)
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

// close ends every session and stops a simulated world.
func (t *target) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range t.sites {
		s.Close(ctx)
	}
	if t.world != nil {
		t.world.Close()
	}
}
