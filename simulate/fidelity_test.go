package simulate

import (
	"context"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// TestAddressesUnique builds the world of every example and of the
// conformance plan and checks that no two VMs of a port group share a
// guest address, at the VMs' own sites and, after re-IP, at the recovery
// sites.
func TestAddressesUnique(t *testing.T) {
	for name, dir := range examplesAndConformance(t) {
		t.Run(name, func(t *testing.T) {
			p := loadPlan(t, dir)
			s, err := newSpec(p)
			if err != nil {
				t.Fatal(err)
			}
			type key struct {
				site, network string
				ip            netip.Addr
			}
			seen := map[key]string{}
			check := func(site, network string, ip netip.Addr, vm string) {
				k := key{site, network, ip}
				if other, ok := seen[k]; ok {
					t.Errorf("%s and %s both have %s on %s at %s", other, vm, ip, network, site)
				}
				seen[k] = vm
			}
			for _, v := range s.order {
				if !v.IP.IsValid() {
					t.Errorf("VM %s has no address", v.Name)
					continue
				}
				for _, n := range v.Networks {
					check(v.Site, n, v.IP, v.Name)
				}
				if !v.Protected() || !v.Replicated {
					continue
				}
				// The recovered VM's address, as a failover's re-IP
				// gives it.
				ip := v.IP
				for _, rp := range p.RecoveryPlans {
					for _, r := range rp.IPRules {
						if r.FromCIDR.Contains(v.IP) && r.ToCIDR.IsValid() {
							ip = reIP(v.IP, r.FromCIDR, r.ToCIDR)
						}
					}
				}
				for _, n := range v.RecoveryNetworks {
					check(v.RecoverySite, n, ip, v.Name+" (recovered)")
				}
			}
		})
	}
}

// reIP keeps an address's host part in another prefix of the same size.
func reIP(ip netip.Addr, from, to netip.Prefix) netip.Addr {
	a, f, t := ip.As4(), from.Masked().Addr().As4(), to.Masked().Addr().As4()
	var out [4]byte
	for i := range out {
		out[i] = t[i] | (a[i] &^ f[i])
	}
	return netip.AddrFrom4(out)
}

// TestStrictClientsParse reads every VM (replicas included), host,
// datastore and network of the worlds of the examples and the conformance
// plan, all properties, over HTTPS as a client does, and checks what
// strict clients (pyVmomi) refuse to parse: an enum-typed property sent
// empty, and a custom field definition without a type.
func TestStrictClientsParse(t *testing.T) {
	for name, dir := range examplesAndConformance(t) {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, loadPlan(t, dir))
			for _, s := range w.Sites {
				checkStrict(t, connect(t, s))
			}
		})
	}
}

func checkStrict(t *testing.T, c *client) {
	t.Helper()
	ctx := context.Background()
	vc := c.c.Client
	m := view.NewManager(vc)
	kinds := map[string]any{
		"VirtualMachine":                 &[]mo.VirtualMachine{},
		"HostSystem":                     &[]mo.HostSystem{},
		"Datastore":                      &[]mo.Datastore{},
		"Network":                        &[]mo.Network{},
		"DistributedVirtualPortgroup":    &[]mo.DistributedVirtualPortgroup{},
		"VmwareDistributedVirtualSwitch": &[]mo.VmwareDistributedVirtualSwitch{},
		"ClusterComputeResource":         &[]mo.ClusterComputeResource{},
		"Folder":                         &[]mo.Folder{},
		"Datacenter":                     &[]mo.Datacenter{},
		"ResourcePool":                   &[]mo.ResourcePool{},
	}
	for kind, dst := range kinds {
		v, err := m.CreateContainerView(ctx, vc.ServiceContent.RootFolder, []string{kind}, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Retrieve(ctx, []string{kind}, nil, dst); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		v.Destroy(ctx)
		objs := reflect.ValueOf(dst).Elem()
		if objs.Len() == 0 && (kind == "VirtualMachine" || kind == "HostSystem" || kind == "Datastore") {
			t.Errorf("site %s has no %s", c.site.Name, kind)
		}
		for i := range objs.Len() {
			o := objs.Index(i)
			self := o.FieldByName("Self").Interface().(types.ManagedObjectReference)
			for _, p := range emptyEnums(o, "") {
				t.Errorf("site %s: %s %s: %s is an empty enum", c.site.Name, kind, self.Value, p)
			}
		}
	}
	var cfm mo.CustomFieldsManager
	if err := property.DefaultCollector(vc).RetrieveOne(ctx, *vc.ServiceContent.CustomFieldsManager, nil, &cfm); err != nil {
		t.Fatal(err)
	}
	for _, f := range cfm.Field {
		if f.Type == "" {
			t.Errorf("site %s: custom field %s has no type", c.site.Name, f.Name)
		}
	}
}

// emptyEnums lists the paths of the empty enum-typed properties under v
// that a client receives: those without omitempty.
func emptyEnums(v reflect.Value, path string) []string {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return emptyEnums(v.Elem(), path)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil
		}
		var out []string
		for i := range v.Len() {
			out = append(out, emptyEnums(v.Index(i), path+"[]")...)
		}
		return out
	case reflect.Struct:
		var out []string
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			tag := f.Tag.Get("xml")
			name, opts, _ := strings.Cut(tag, ",")
			if name == "" { // the mo types' properties carry no xml tag
				name = strings.ToLower(f.Name[:1]) + f.Name[1:]
			}
			p := path
			if !f.Anonymous {
				p = strings.TrimPrefix(path+"."+name, ".")
			}
			fv := v.Field(i)
			if fv.Kind() == reflect.String && fv.Type().PkgPath() != "" && fv.Type() != reflect.TypeOf("") {
				if fv.String() == "" && !strings.Contains(opts, "omitempty") && isEnum(fv.Type()) {
					out = append(out, p+" ("+fv.Type().Name()+")")
				}
				continue
			}
			out = append(out, emptyEnums(fv, p)...)
		}
		return out
	}
	return nil
}

// isEnum tells govmomi's enum types (which list their values) from other
// named strings.
func isEnum(t reflect.Type) bool {
	_, ok := t.MethodByName("Strings")
	return ok
}
