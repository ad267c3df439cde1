package simulate

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
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

func newWorld(t testing.TB, p *plans.Plan) *World {
	t.Helper()
	w, err := New(context.Background(), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

// connect logs in to a site the way any vSphere client would: over HTTPS,
// verifying the site's certificate by its thumbprint.
func connect(t testing.TB, s *Site) *govmomi.Client {
	t.Helper()
	ctx := context.Background()
	c, err := govmomi.NewClient(ctx, s.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Logout(ctx) })
	return c
}

type vmProps struct {
	mo.VirtualMachine
}

func siteVMs(t testing.TB, c *govmomi.Client, dc string) map[string]mo.VirtualMachine {
	t.Helper()
	ctx := context.Background()
	finder := find.NewFinder(c.Client)
	vms, err := finder.VirtualMachineList(ctx, "/"+dc+"/vm/...")
	if err != nil {
		t.Fatal(err)
	}
	refs := make([]types.ManagedObjectReference, len(vms))
	for i, vm := range vms {
		refs[i] = vm.Reference()
	}
	var out []mo.VirtualMachine
	pc := property.DefaultCollector(c.Client)
	if err := pc.Retrieve(ctx, refs, []string{"name", "runtime.powerState", "guest", "customValue", "config.extraConfig", "parent"}, &out); err != nil {
		t.Fatal(err)
	}
	byName := map[string]mo.VirtualMachine{}
	for _, vm := range out {
		key := vm.Name
		if _, dup := byName[key]; dup {
			key = vm.Name + "#replica"
		}
		if replicaOf(c, vm) != "" {
			key = vm.Name + "#replica"
		}
		byName[key] = vm
	}
	return byName
}

func replicaOf(c *govmomi.Client, vm mo.VirtualMachine) string {
	for _, v := range vm.CustomValue {
		if s, ok := v.(*types.CustomFieldStringValue); ok && s.Value != "" {
			if _, err := vsphere.ParseReplicaInfo(s.Value); err == nil {
				return s.Value
			}
		}
	}
	return ""
}

func TestConformanceWorld(t *testing.T) {
	p := loadPlan(t, filepath.Join("..", "..", "shared", "spec", "conformance", "full"))
	start := time.Now()
	w := newWorld(t, p)
	t.Logf("built in %v", time.Since(start))
	for _, s := range w.Sites {
		c := connect(t, s)
		vms := siteVMs(t, c, s.Datacenter)
		t.Logf("site %s (%s): %d VMs", s.Name, s.URL.Host, len(vms))
		for name, vm := range vms {
			t.Logf("  %s %s ip=%q", name, vm.Runtime.PowerState, vm.Guest.IpAddress)
		}
	}
	_ = object.NewVirtualMachine
}
