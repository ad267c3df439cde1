package simulate

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/providers/vsphere"
)

func loadPlan(t testing.TB, dir string) *plans.Plan {
	t.Helper()
	p, diags := plans.Load(dir, plans.LoadOptions{Environ: []string{}})
	if diags.HasErrors() {
		t.Fatalf("%s: %v", dir, diags)
	}
	return p
}

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

func newWorld(t testing.TB, p *plans.Plan) *World {
	t.Helper()
	w, err := New(context.Background(), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

// client logs in to a site as any vSphere client would: over HTTPS, with
// the certificate checked against the site's thumbprint.
type client struct {
	t      testing.TB
	site   *Site
	c      *govmomi.Client
	finder *find.Finder
	fields map[string]int32
}

func connect(t testing.TB, s *Site) *client {
	t.Helper()
	ctx := context.Background()
	sc := soap.NewClient(s.URL, false)
	sc.SetThumbprint(s.URL.Host, s.Thumbprint)
	// Keep a connection per concurrent caller: the default of two idle
	// connections makes parallel callers pay a TLS handshake per call.
	sc.DefaultTransport().MaxIdleConnsPerHost = 64
	vc, err := vim25.NewClient(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	c := &govmomi.Client{Client: vc, SessionManager: session.NewManager(vc)}
	if err := c.Login(ctx, s.URL.User); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Logout(ctx) })
	finder := find.NewFinder(c.Client)
	dc, err := finder.Datacenter(ctx, s.Datacenter)
	if err != nil {
		t.Fatalf("datacenter %s: %v", s.Datacenter, err)
	}
	finder.SetDatacenter(dc)
	fields := map[string]int32{}
	defs, err := object.NewCustomFieldsManager(c.Client).Field(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		fields[d.Name] = d.Key
	}
	return &client{t: t, site: s, c: c, finder: finder, fields: fields}
}

// vms returns the site's VMs by inventory path.
func (c *client) vms() map[string]mo.VirtualMachine {
	c.t.Helper()
	ctx := context.Background()
	list, err := c.finder.VirtualMachineList(ctx, "/"+c.site.Datacenter+"/vm/...")
	if err != nil {
		c.t.Fatal(err)
	}
	refs := make([]types.ManagedObjectReference, len(list))
	paths := map[types.ManagedObjectReference]string{}
	for i, vm := range list {
		refs[i] = vm.Reference()
		paths[vm.Reference()] = strings.TrimPrefix(vm.InventoryPath, "/"+c.site.Datacenter+"/vm/")
	}
	var out []mo.VirtualMachine
	if err := property.DefaultCollector(c.c.Client).Retrieve(ctx, refs,
		[]string{"name", "runtime.powerState", "guest", "guestHeartbeatStatus", "customValue", "config.hardware", "config.extraConfig", "network"}, &out); err != nil {
		c.t.Fatal(err)
	}
	m := map[string]mo.VirtualMachine{}
	for _, vm := range out {
		m[paths[vm.Self]] = vm
	}
	return m
}

func (c *client) field(vm mo.VirtualMachine, name string) string {
	for _, v := range vm.CustomValue {
		if s, ok := v.(*types.CustomFieldStringValue); ok && s.Key == c.fields[name] {
			return s.Value
		}
	}
	return ""
}

// networkNames maps port group references to names.
func (c *client) networkNames() map[types.ManagedObjectReference]string {
	c.t.Helper()
	nets, err := c.finder.NetworkList(context.Background(), "*")
	if err != nil {
		c.t.Fatal(err)
	}
	out := map[types.ManagedObjectReference]string{}
	for _, n := range nets {
		out[n.Reference()] = filepath.Base(n.GetInventoryPath())
	}
	return out
}

func examplesAndConformance(t *testing.T) map[string]string {
	dirs := map[string]string{"conformance": filepath.Join("..", "..", "shared", "spec", "conformance", "full")}
	entries, err := os.ReadDir(filepath.Join("..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		// Plan directories only: testdata and ci hold none.
		dir := filepath.Join("..", "examples", e.Name())
		if files, _ := plans.PlanFiles(dir); e.IsDir() && len(files) > 0 {
			dirs[e.Name()] = dir
		}
	}
	return dirs
}

// TestWorldsMatchPlans builds the world of every example and of the
// conformance plan and checks, through a plain vSphere client, that it
// holds what the plan says: the datacenter, every protected VM at its site
// with its size, folder, tags, network and an address in its ip_rule's
// from_cidr, and its replica, powered off and marked, at its recovery
// site, on the mapped network, with recovery points.
func TestWorldsMatchPlans(t *testing.T) {
	for name, dir := range examplesAndConformance(t) {
		t.Run(name, func(t *testing.T) {
			p := loadPlan(t, dir)
			w := newWorld(t, p)
			clients := map[string]*client{}
			inventories := map[string]map[string]mo.VirtualMachine{}
			for _, s := range w.Sites {
				clients[s.Name] = connect(t, s)
				inventories[s.Name] = clients[s.Name].vms()
			}
			rules := map[string]netip.Prefix{}
			for _, rp := range p.RecoveryPlans {
				for i, m := range rp.NetworkMappings {
					if len(rp.IPRules) > 0 {
						r := rp.IPRules[min(i, len(rp.IPRules)-1)]
						if _, ok := rules[m.From]; !ok {
							rules[m.From] = r.FromCIDR
						}
					}
				}
			}
			for _, v := range w.VMs() {
				c := clients[v.Site]
				path := v.Name
				if v.Folder != "" {
					path = v.Folder + "/" + v.Name
				}
				vm, ok := inventories[v.Site][path]
				if !ok {
					t.Errorf("VM %s not at %s/vm/%s", v.Name, v.Site, path)
					continue
				}
				running := vm.Guest.ToolsRunningStatus == string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)
				if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn || running == w.hungGuest(v.Name) {
					t.Errorf("VM %s: %s, tools %s; a world starts running, with a boot_failure VM's guest hung", v.Name, vm.Runtime.PowerState, vm.Guest.ToolsRunningStatus)
				}
				if w.hungGuest(v.Name) {
					continue
				}
				if vm.Config.Hardware.NumCPU != int32(v.CPUs) || int64(vm.Config.Hardware.MemoryMB) != int64(v.Memory)>>20 {
					t.Errorf("VM %s: %d CPUs %d MB, want %d and %d", v.Name, vm.Config.Hardware.NumCPU, vm.Config.Hardware.MemoryMB, v.CPUs, int64(v.Memory)>>20)
				}
				nets := c.networkNames()
				var onNets []string
				for _, n := range vm.Network {
					onNets = append(onNets, nets[n])
				}
				if !slices.Equal(onNets, v.Networks) {
					t.Errorf("VM %s on %v, want %v", v.Name, onNets, v.Networks)
				}
				ip, err := netip.ParseAddr(vm.Guest.IpAddress)
				if err != nil {
					t.Errorf("VM %s has no address: %q", v.Name, vm.Guest.IpAddress)
				} else if r, ok := rules[v.Networks[0]]; ok && !r.Contains(ip) {
					t.Errorf("VM %s address %s is outside its ip_rule's from_cidr %s", v.Name, ip, r)
				}
				if !v.Protected() || !v.Replicated {
					continue
				}
				rc := clients[v.RecoverySite]
				rep, ok := inventories[v.RecoverySite][vsphere.ReplicaFolder+"/"+v.Name]
				if !ok {
					t.Errorf("no replica of %s at %s", v.Name, v.RecoverySite)
					continue
				}
				if rep.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOff {
					t.Errorf("replica of %s is %s", v.Name, rep.Runtime.PowerState)
				}
				info, err := vsphere.ParseReplicaInfo(rc.field(rep, vsphere.FieldReplica))
				want := vsphere.ReplicaInfo{VM: v.Name, Group: v.Group, Site: v.Site, Folder: v.Folder, IPs: []string{v.IP.String()}}
				if err != nil || !reflect.DeepEqual(info, want) {
					t.Errorf("replica of %s is marked %+v, %v", v.Name, info, err)
				}
				points, err := vsphere.ParseRecoveryPoints(rc.field(rep, vsphere.FieldPoints))
				if err != nil || points.Latest().IsZero() {
					t.Errorf("replica of %s has no recovery points: %v", v.Name, err)
				}
				rnets := rc.networkNames()
				var repNets []string
				for _, n := range rep.Network {
					repNets = append(repNets, rnets[n])
				}
				if !slices.Equal(repNets, v.RecoveryNetworks) {
					t.Errorf("replica of %s on %v, want %v", v.Name, repNets, v.RecoveryNetworks)
				}
			}
			checkTagsAndTestNetworks(t, w, p)
		})
	}
}

// checkTagsAndTestNetworks checks that VMs carry their tags (read back
// through the vAPI tagging endpoint) and that every test network exists,
// isolated, at the recovery sites.
func checkTagsAndTestNetworks(t *testing.T, w *World, p *plans.Plan) {
	ctx := context.Background()
	for _, v := range w.VMs() {
		if len(v.Tags) == 0 {
			continue
		}
		s := w.Site(v.Site)
		c := connect(t, s)
		rc := rest.NewClient(c.c.Client)
		if err := rc.Login(ctx, s.URL.User); err != nil {
			t.Fatal(err)
		}
		vm, err := c.finder.VirtualMachine(ctx, v.Name)
		if err != nil {
			t.Fatal(err)
		}
		attached, err := tags.NewManager(rc).GetAttachedTags(ctx, vm)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		m := tags.NewManager(rc)
		for _, tag := range attached {
			cat, err := m.GetCategory(ctx, tag.CategoryID)
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, cat.Name+":"+tag.Name)
		}
		slices.Sort(names)
		want := slices.Sorted(slices.Values(v.Tags))
		if !slices.Equal(names, want) {
			t.Errorf("VM %s has tags %v, want %v", v.Name, names, want)
		}
	}
	groups := map[string]*plans.ProtectionGroup{}
	for _, g := range p.ProtectionGroups {
		groups[g.Name] = g
	}
	for _, rp := range p.RecoveryPlans {
		for _, gname := range rp.ProtectionGroups {
			s := w.Site(groups[gname].RecoverySite)
			c := connect(t, s)
			for _, m := range rp.NetworkMappings {
				n, err := c.finder.Network(ctx, m.Test)
				if err != nil {
					t.Errorf("test network %s missing at %s: %v", m.Test, s.Name, err)
					continue
				}
				var pg mo.DistributedVirtualPortgroup
				if err := property.DefaultCollector(c.c.Client).RetrieveOne(ctx, n.Reference(), []string{"config"}, &pg); err != nil {
					t.Fatal(err)
				}
				if pg.Config.Description != IsolatedDescription {
					t.Errorf("test network %s is not isolated", m.Test)
				}
			}
		}
	}
}

// TestTLS: a client that does not know the site's certificate is refused;
// one that pins its thumbprint or its certificate gets in.
func TestTLS(t *testing.T) {
	w := newWorld(t, loadSource(t, minimalPlan))
	s := w.Sites[0]
	ctx := context.Background()
	if _, err := govmomi.NewClient(ctx, s.URL, false); err == nil {
		t.Fatal("an unverified certificate was accepted")
	}
	connect(t, s)
	_ = time.Second
}

const minimalPlan = `
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
  vms           = ["web-01", "web-02"]
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
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

// TestDriftAndCapacity: a simulation vm with replicated = false is a VM
// its group's selector matches that has no replica (drift to detect), and
// a site's capacity block sizes its cluster.
func TestDriftAndCapacity(t *testing.T) {
	w := newWorld(t, loadSource(t, `
site "east" {
  role       = "protected"
  datacenter = "DC-East"
}

site "west" {
  role       = "recovery"
  datacenter = "DC-West"
  capacity {
    cpu_ghz = 400
    memory  = "4TiB"
    storage = "100TiB"
  }
}

protection_group "apps" {
  site          = site.east
  recovery_site = site.west
  select {
    folder = "prod/apps"
  }
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}

simulation {
  vm "app-01" {
    folder = "prod/apps"
  }
  vm "app-02" {
    folder     = "prod/apps"
    replicated = false
  }
  vm "other-01" {
    folder = "prod/other"
  }
}
`))
	east, west := connect(t, w.Site("east")), connect(t, w.Site("west"))
	vms := east.vms()
	for _, p := range []string{"prod/apps/app-01", "prod/apps/app-02", "prod/other/other-01"} {
		if _, ok := vms[p]; !ok {
			t.Errorf("%s missing at east", p)
		}
	}
	replicas := west.vms()
	if _, ok := replicas[vsphere.ReplicaFolder+"/app-01"]; !ok {
		t.Error("app-01, matched by the selector, has no replica")
	}
	for p := range replicas {
		if strings.HasSuffix(p, "/app-02") || strings.HasSuffix(p, "/other-01") {
			t.Errorf("%s has a replica", p)
		}
	}
	hosts, err := west.finder.HostSystemList(context.Background(), "*/*")
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) < 8 {
		t.Errorf("west has %d hosts for 400 GHz and 4 TiB, want at least 8", len(hosts))
	}
}
