package vsphere_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/providers/vsphere"
)

// TestInventory reads both sites of a world and checks them against what
// the world holds: VMs with their folders, sizes, networks, addresses and
// tags at the protected site; replicas with their markers and recovery
// points at the recovery site; port groups and capacity.
func TestInventory(t *testing.T) {
	w := newWorld(t, "")
	ctx := inPlanTime(t, w)
	east, west := open(t, w.Site("east")), open(t, w.Site("west"))

	inv, err := east.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Name != "east" || inv.Datacenter != "DC-East" || !inv.Reachable {
		t.Errorf("site %q datacenter %q reachable %v", inv.Name, inv.Datacenter, inv.Reachable)
	}
	byPath := map[string]*inventory.VM{}
	for _, v := range inv.VMs {
		byPath[v.Path()] = v
	}
	for _, sv := range w.VMs() {
		path := sv.Name
		if sv.Folder != "" {
			path = sv.Folder + "/" + sv.Name
		}
		v := byPath[path]
		if v == nil {
			t.Errorf("VM %s missing from the inventory (have %v)", path, keys(byPath))
			continue
		}
		if v.Ref == "" || v.PowerState != "poweredOn" || v.IP != sv.IP.String() {
			t.Errorf("VM %s: ref %q, %s, IP %q; want a ref, poweredOn, %s", path, v.Ref, v.PowerState, v.IP, sv.IP)
		}
		if v.CPUs != sv.CPUs || v.MemoryBytes != int64(sv.Memory) {
			t.Errorf("VM %s: %d CPUs %d bytes, want %d and %d", path, v.CPUs, v.MemoryBytes, sv.CPUs, sv.Memory)
		}
		if len(v.Disks) != 1 || v.Disks[0].Bytes != int64(sv.Disk) || v.Disks[0].Datastore != "DC-East-datastore" {
			t.Errorf("VM %s disks %+v, want one of %d bytes on DC-East-datastore", path, v.Disks, sv.Disk)
		}
		var nets []string
		for _, n := range v.NICs {
			nets = append(nets, n.Network)
			if !n.Connected {
				t.Errorf("VM %s: NIC on %s is not connected", path, n.Network)
			}
		}
		if !slices.Equal(nets, sv.Networks) {
			t.Errorf("VM %s on %v, want %v", path, nets, sv.Networks)
		}
		want := slices.Sorted(slices.Values(sv.Tags))
		if !slices.Equal(v.Tags, want) {
			t.Errorf("VM %s tags %v, want %v", path, v.Tags, want)
		}
		if v.Replica != nil || v.Run != "" {
			t.Errorf("VM %s is marked as a replica or a run's", path)
		}
	}
	if len(inv.VMs) != len(w.VMs()) {
		t.Errorf("%d VMs at east, want %d", len(inv.VMs), len(w.VMs()))
	}
	if !slices.Contains(inv.Networks, "Prod") {
		t.Errorf("east networks %v, want Prod among them", inv.Networks)
	}
	if inv.Capacity.CPUMHz <= 0 || inv.Capacity.MemoryBytes <= 0 || inv.Capacity.StorageBytes <= 0 {
		t.Errorf("east capacity %+v", inv.Capacity)
	}

	rinv, err := west.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rinv.VMs) != 3 {
		t.Fatalf("%d VMs at west, want the 3 replicas", len(rinv.VMs))
	}
	for _, name := range []string{"web-01", "web-02", "web-03"} {
		r := rinv.ReplicaOf(name)
		if r == nil {
			t.Errorf("no replica of %s at west", name)
			continue
		}
		if r.Folder != vsphere.ReplicaFolder || r.PowerState != "poweredOff" || r.Replica.Group != "web" || r.Replica.Site != "east" {
			t.Errorf("replica of %s: folder %q %s %+v", name, r.Folder, r.PowerState, r.Replica)
		}
		if len(r.Replica.Points.Times) != 3 || r.Replica.Points.Latest().IsZero() {
			t.Errorf("replica of %s has points %s, want 3", name, r.Replica.Points)
		}
		if len(r.NICs) != 1 || r.NICs[0].Network != "DR-Prod" || r.NICs[0].Connected {
			t.Errorf("replica of %s NICs %+v, want one on DR-Prod, disconnected", name, r.NICs)
		}
	}
	for _, n := range []string{"DR-Prod", "DR-Bubble"} {
		if !slices.Contains(rinv.Networks, n) {
			t.Errorf("west networks %v, want %s among them", rinv.Networks, n)
		}
	}
}

func keys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
