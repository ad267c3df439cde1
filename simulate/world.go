package simulate

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	_ "github.com/vmware/govmomi/vapi/simulator" // vAPI endpoints: tags
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/internal/clock"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/providers/vsphere"
)

// Options tune a world beyond what the plan says.
type Options struct {
	// Username and Password are the credentials every simulated vCenter
	// accepts; empty means "drplan" and a random password.
	Username, Password string
	// Parallel bounds concurrent API calls while the world is built; 0
	// means 16.
	Parallel int
	// Clock is the world's time: a clock.Virtual for a world that runs
	// in process with the runner (drills, --sim, tests); nil means the
	// wall clock scaled by the plan's time_scale (clock.Scaled), for a
	// world that external clients use (`drplan sim serve`).
	Clock clock.Clock
	// Seed decides the world's probabilistic faults (api_error): the
	// same seed gives the same decisions for the same calls.
	Seed int64
}

// World is a running simulated datacenter: one vCenter per site.
type World struct {
	Plan      *plans.Plan
	Sites     []*Site
	TimeScale float64
	// Clock is the world's time; every time in it (recovery points, boot
	// times) is a time of this clock.
	Clock clock.Clock
	// Seed decides probabilistic faults (Options.Seed).
	Seed int64

	spec    *spec
	start   time.Time
	engine  *engine
	closeMu sync.Mutex
	closed  bool
	begin   sync.Once
}

// Site is one simulated vCenter.
type Site struct {
	Name       string
	Datacenter string
	// URL is the SDK endpoint with credentials, as GOVC_URL takes it.
	URL *url.URL
	// CertificatePEM and Thumbprint identify the endpoint's TLS
	// certificate, for clients that verify it.
	CertificatePEM []byte
	Thumbprint     string

	Model  *simulator.Model
	Server *simulator.Server

	world  *World
	spec   *siteSpec
	client *vim25.Client // in-process, for the simulator's own work
	fields map[string]int32
	// dir holds the site's datastore files; datastore is its name.
	dir, datastore string
	down           atomic.Bool
	views          viewGate
	waits          *waits // on a virtual clock, the site's own WaitForUpdatesEx
	serialMu       sync.Mutex
	tasks          *taskWatch // wakes the site's own waits for tasks
	calls          sync.Map   // method name -> *atomic.Int64
	boot           *bootModel
	faults         *faultSet
	guest          *guestProcesses
	// armed is set once the world is built and the fields above (waits,
	// boot, faults, guest) are: the site's server already serves then, so
	// its handlers look at them only after reading armed.
	armed atomic.Bool
	// bootedAt holds when each VM's guest last came up (services.go).
	bootedAt sync.Map // types.ManagedObjectReference -> time.Time
}

// modelMu serialises model creation: two govmomi simulator models built
// at the same time race on package state.
var modelMu sync.Mutex

// New builds and starts the simulated world of a plan. The world runs
// until Close.
func New(ctx context.Context, p *plans.Plan, opts Options) (*World, error) {
	s, err := newSpec(p)
	if err != nil {
		return nil, err
	}
	if opts.Username == "" {
		opts.Username = "drplan"
	}
	if opts.Password == "" {
		opts.Password = randomPassword()
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 16
	}
	w := &World{Plan: p, TimeScale: plans.DefaultTimeScale, spec: s, Clock: opts.Clock, Seed: opts.Seed}
	if p.Simulation != nil {
		w.TimeScale = p.Simulation.TimeScale
	}
	if w.Clock == nil {
		w.Clock = clock.NewScaled(w.TimeScale)
	}
	w.start = w.Clock.Now()
	for _, ss := range s.sites {
		site, err := w.startSite(ss, opts)
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("site %s: %w", ss.name, err)
		}
		w.Sites = append(w.Sites, site)
	}
	w.engine = newEngine(w)
	for _, site := range w.Sites {
		if err := site.populate(ctx, opts.Parallel); err != nil {
			w.Close()
			return nil, fmt.Errorf("site %s: %w", site.Name, err)
		}
	}
	for _, site := range w.Sites {
		if err := site.placeReplicas(ctx, opts.Parallel); err != nil {
			w.Close()
			return nil, fmt.Errorf("site %s: %w", site.Name, err)
		}
	}
	if err := w.engine.start(); err != nil {
		w.Close()
		return nil, err
	}
	for _, site := range w.Sites {
		site.faults = newFaultSet(site)
		site.boot = newBootModel(site)
		site.guest = newGuestProcesses(site)
		if v, ok := w.Clock.(*clock.Virtual); ok {
			site.waits = newWaits(site, v)
			site.Model.Map().AddHandler(site.waits)
		}
		site.armed.Store(true)
	}
	return w, nil
}

// now is the world's current time.
func (w *World) now() time.Time { return w.Clock.Now() }

// Site returns the site with the given plan name, or nil.
func (w *World) Site(name string) *Site {
	for _, s := range w.Sites {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// VMs returns every VM the world holds at its sites (not the replicas),
// in plan order.
func (w *World) VMs() []*VM { return w.spec.order }

// Begin starts the world's run: the site_down faults' at counts from the
// clock's now at the first call (later calls do nothing). The command
// layer calls it right before a run starts, `drplan sim serve` when it
// starts serving.
func (w *World) Begin() {
	w.begin.Do(func() {
		for _, s := range w.Sites {
			if s.faults != nil {
				s.faults.begin()
			}
		}
	})
}

// Close stops the replication engine and every site's server.
func (w *World) Close() {
	w.closeMu.Lock()
	defer w.closeMu.Unlock()
	if w.closed {
		return
	}
	w.closed = true
	for _, s := range w.Sites {
		if s.faults != nil {
			s.faults.stop()
		}
	}
	if w.engine != nil {
		w.engine.stop()
	}
	for _, s := range w.Sites {
		if s.boot != nil {
			s.boot.stop()
		}
		s.down.Store(false)
		// A client blocked in WaitForUpdatesEx would hold Close forever.
		s.Server.Server.CloseClientConnections()
		s.Server.Close()
		s.Model.Remove()
		if s.dir != "" {
			os.RemoveAll(s.dir)
		}
	}
}

// Calls returns how many calls of each vSphere API method the site has
// served to clients since it started (the simulator's own are not counted).
func (s *Site) Calls() map[string]int64 {
	out := map[string]int64{}
	s.calls.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

func (w *World) startSite(ss *siteSpec, opts Options) (*Site, error) {
	modelMu.Lock()
	defer modelMu.Unlock()
	m := simulator.VPX()
	m.Autostart = false
	m.Datacenter = 1
	m.Cluster = 1
	m.ClusterHost = ss.hw.hosts
	m.Host = 0
	m.Machine = 0
	m.Portgroup = 1 // brings the distributed switch the port groups join
	m.Datastore = 1
	if err := m.Create(); err != nil {
		return nil, err
	}
	cert, pemBytes, thumb, err := newCertificate(ss.name)
	if err != nil {
		return nil, err
	}
	m.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	m.Service.Listen = &url.URL{Host: "127.0.0.1:0", User: url.UserPassword(opts.Username, opts.Password)}
	m.Service.RegisterEndpoints = true
	srv := m.Service.NewServer()
	site := &Site{
		Name: ss.name, Datacenter: ss.datacenter, Model: m, Server: srv, world: w, spec: ss,
		URL: srv.URL, CertificatePEM: pemBytes, Thumbprint: thumb, fields: map[string]int32{},
	}
	site.wrapHTTP()
	// Set before any client calls; it lets calls through untouched until
	// the world is built (armed).
	m.Map().Handler = site.intercept
	site.tasks = newTaskWatch(ss.name)
	m.Map().AddHandler(site.tasks)
	m.Map().AddHandler(newDefaults(site))
	site.client, err = vim25.NewClient(context.Background(), m.Service)
	if err != nil {
		srv.Close()
		return nil, err
	}
	return site, nil
}

// populate lays out the site's inventory: datacenter name, networks,
// folders, custom attributes, tags and VMs.
func (s *Site) populate(ctx context.Context, parallel int) error {
	c := s.client
	finder := find.NewFinder(c)
	dc, err := finder.Datacenter(ctx, "DC0")
	if err != nil {
		return err
	}
	if s.Datacenter != "DC0" {
		task, err := dc.Rename(ctx, s.Datacenter)
		if err != nil {
			return err
		}
		if err := task.Wait(ctx); err != nil {
			return fmt.Errorf("renaming the datacenter to %q: %w", s.Datacenter, err)
		}
	}
	finder.SetDatacenter(dc)

	for _, name := range []string{vsphere.FieldReplica, vsphere.FieldPoints, vsphere.FieldRun, vsphere.FieldPromoted} {
		key, err := s.addField(ctx, name, vsphere.FieldObjectType(name))
		if err != nil {
			return fmt.Errorf("custom attribute %s: %w", name, err)
		}
		s.fields[name] = key
	}

	s.sizeHosts()
	if err := s.createNetworks(ctx, finder); err != nil {
		return err
	}
	if err := s.createDatastore(ctx, finder); err != nil {
		return err
	}
	folders := dcFolders(ctx, dc)
	for _, f := range s.spec.folders {
		if _, err := s.folder(ctx, folders, f); err != nil {
			return err
		}
	}
	tagIDs, err := s.createTags(ctx)
	if err != nil {
		return err
	}

	env, err := s.placementEnv(ctx, finder)
	if err != nil {
		return err
	}
	return forEach(ctx, parallel, s.spec.vms, func(ctx context.Context, v *VM) error {
		folder, err := s.folder(ctx, folders, v.Folder)
		if err != nil {
			return err
		}
		vm, err := s.createVM(ctx, env, folder, v, v.Networks, false)
		if err != nil {
			return fmt.Errorf("VM %s: %w", v.Name, err)
		}
		if err := s.attachTags(ctx, tagIDs, v, vm); err != nil {
			return err
		}
		if v.Protected() {
			s.world.engine.register(s, vm.Reference(), v)
		}
		return s.powerOnBooted(ctx, vm, v)
	})
}

// sizeHosts gives every host of the site the simulated server hardware
// its spec asks for (sizeSite).
func (s *Site) sizeHosts() {
	ctx := s.context()
	size := s.spec.hw
	for _, obj := range s.Model.Map().All("HostSystem") {
		h, ok := obj.(*simulator.HostSystem)
		if !ok {
			continue
		}
		s.Model.Map().WithLock(ctx, h, func() {
			hw := *h.Summary.Hardware
			hw.NumCpuCores, hw.CpuMhz, hw.MemorySize = int16(size.cores), int32(size.mhz), size.memory
			hw.NumCpuThreads = 2 * int16(size.cores)
			ctx.Update(h, []types.PropertyChange{{Name: "summary.hardware", Val: &hw}})
		})
	}
}

// dcFolderSet resolves and creates VM folders by path, once each.
type dcFolderSet struct {
	mu    sync.Mutex
	root  *object.Folder
	cache map[string]*object.Folder
}

func dcFolders(ctx context.Context, dc *object.Datacenter) *dcFolderSet {
	f, _ := dc.Folders(ctx)
	return &dcFolderSet{root: f.VmFolder, cache: map[string]*object.Folder{}}
}

func (s *Site) folder(ctx context.Context, set *dcFolderSet, p string) (*object.Folder, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return set.root, nil
	}
	set.mu.Lock()
	defer set.mu.Unlock()
	cur := set.root
	for i, part := range strings.Split(p, "/") {
		key := strings.Join(strings.Split(p, "/")[:i+1], "/")
		if f := set.cache[key]; f != nil {
			cur = f
			continue
		}
		f, err := cur.CreateFolder(ctx, part)
		if err != nil {
			return nil, fmt.Errorf("folder %s: %w", key, err)
		}
		set.cache[key] = f
		cur = f
	}
	return cur, nil
}

// forEach runs f over items with at most parallel calls at once and
// returns the first error.
func forEach[T any](ctx context.Context, parallel int, items []T, f func(context.Context, T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for _, it := range items {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := f(ctx, it); err != nil {
				mu.Lock()
				if first == nil {
					first = err
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil && !errors.Is(ctx.Err(), context.Canceled) {
		first = ctx.Err()
	}
	return first
}

// networkPath is the inventory path of a port group, for finders.
func networkPath(dc, name string) string { return path.Join("/", dc, "network", name) }

// setField sets a custom attribute on an object: the simulator's own
// CustomFieldsManager.SetField, called in process, as the replication
// products that keep such attributes up to date would through the API.
// Clients read the values through the API as usual.
// Config is how a plan's vcenter block would describe the site: its URL
// and credentials, its certificate pinned by thumbprint.
func (s *Site) Config() providers.SiteConfig {
	pass, _ := s.URL.User.Password()
	return providers.SiteConfig{Name: s.Name, Datacenter: s.Datacenter, URL: s.URL.String(),
		Username: s.URL.User.Username(), Password: pass, Thumbprint: s.Thumbprint, Clock: s.world.Clock}
}

// fieldOf reads a drplan custom attribute of an object in the registry.
func (s *Site) fieldOf(ref types.ManagedObjectReference, field string) string {
	obj, ok := s.Model.Map().Get(ref).(mo.Entity)
	if !ok {
		return ""
	}
	key, out := s.fields[field], ""
	s.Model.Map().WithLock(s.context(), obj, func() {
		for _, v := range obj.Entity().CustomValue {
			if sv, ok := v.(*types.CustomFieldStringValue); ok && sv.Key == key {
				out = sv.Value
			}
		}
	})
	return out
}

func (s *Site) setField(_ context.Context, ref types.ManagedObjectReference, field, value string) error {
	cfm := s.Model.Map().CustomFieldsManager()
	res := cfm.SetField(s.context(), &types.SetField{This: cfm.Self, Entity: ref, Key: s.fields[field], Value: value})
	if f := res.Fault(); f != nil {
		return fmt.Errorf("setting %s on %s: %v", field, ref.Value, f.VimFault())
	}
	return nil
}
