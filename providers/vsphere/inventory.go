package vsphere

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/providers"
)

// retrieve reads the given properties of every object of the given kinds
// under container (recursively), and of any extra objects, with one
// container view and one RetrievePropertiesEx (continued while vCenter
// pages its answer): three or four calls however large the inventory.
func (s *site) retrieve(ctx context.Context, container types.ManagedObjectReference, kinds []string,
	props []types.PropertySpec, extra ...types.ObjectSpec) ([]types.ObjectContent, error) {
	v, err := view.NewManager(s.vc).CreateContainerView(ctx, container, kinds, true)
	if err != nil {
		return nil, err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		v.Destroy(dctx)
	}()
	objects := append([]types.ObjectSpec{{
		Obj:       v.Reference(),
		Skip:      types.NewBool(true),
		SelectSet: []types.BaseSelectionSpec{&types.TraversalSpec{Type: "ContainerView", Path: "view"}},
	}}, extra...)
	res, err := property.DefaultCollector(s.vc).RetrieveProperties(ctx, types.RetrieveProperties{
		SpecSet: []types.PropertyFilterSpec{{ObjectSet: objects, PropSet: props}},
	})
	if err != nil {
		return nil, err
	}
	return res.Returnval, nil
}

// folderTree knows the VM folders by reference, to turn parents into
// paths under the datacenter's vm folder.
type folderTree struct {
	root    types.ManagedObjectReference
	name    map[types.ManagedObjectReference]string
	parent  map[types.ManagedObjectReference]types.ManagedObjectReference
	memo    map[types.ManagedObjectReference]string
	outside map[types.ManagedObjectReference]bool
}

func newFolderTree(root types.ManagedObjectReference) *folderTree {
	return &folderTree{root: root, name: map[types.ManagedObjectReference]string{},
		parent: map[types.ManagedObjectReference]types.ManagedObjectReference{},
		memo:   map[types.ManagedObjectReference]string{}, outside: map[types.ManagedObjectReference]bool{}}
}

// path returns a folder's path under the root ("" for the root itself),
// and false for a folder outside it.
func (t *folderTree) path(ref types.ManagedObjectReference) (string, bool) {
	if ref == t.root {
		return "", true
	}
	if p, ok := t.memo[ref]; ok {
		return p, true
	}
	if t.outside[ref] {
		return "", false
	}
	name, known := t.name[ref]
	parent, hasParent := t.parent[ref]
	if !known || !hasParent {
		t.outside[ref] = true
		return "", false
	}
	t.outside[ref] = true // guards against cycles while the parent is resolved
	pp, ok := t.path(parent)
	if !ok {
		return "", false
	}
	delete(t.outside, ref)
	p := joinPath(pp, name)
	t.memo[ref] = p
	return p, true
}

// Properties read for the inventory.
var (
	vmProps = []string{"name", "parent", "runtime.powerState", "config.hardware", "guest.ipAddress", "customValue"}

	inventoryKinds = []string{"VirtualMachine", "Folder", "Network", "DistributedVirtualSwitch", "HostSystem", "Datastore"}
)

func inventoryProps() []types.PropertySpec {
	return append([]types.PropertySpec{
		{Type: "VirtualMachine", PathSet: vmProps},
		{Type: "Folder", PathSet: []string{"name", "parent", "customValue"}},
		{Type: "HostSystem", PathSet: []string{"summary.hardware", "runtime.connectionState", "runtime.inMaintenanceMode"}},
		{Type: "Datastore", PathSet: []string{"name", "summary.freeSpace", "summary.accessible"}},
		{Type: "CustomFieldsManager", PathSet: []string{"field"}},
	}, networkProps...)
}

// Inventory reads the datacenter's VMs, port groups and capacity with one
// property collector retrieve over a container view, and the VMs' tags in
// bulk through the vAPI tagging endpoint at the same time. Without a
// tagging endpoint (or when it fails) the VMs have no tags; the rest
// still counts. Capacity counts connected hosts outside maintenance mode
// and accessible datastores. A NIC of a VM that is not on counts as
// connected when it connects at power-on.
func (s *site) Inventory(ctx context.Context) (*inventory.Site, error) {
	const op = "inventory"
	var (
		wg      sync.WaitGroup
		tags    map[string][]string
		tagsErr error
	)
	wg.Go(func() { tags, tagsErr = s.vmTags(ctx) })
	var extra []types.ObjectSpec
	if cfm := s.vc.ServiceContent.CustomFieldsManager; cfm != nil {
		extra = append(extra, types.ObjectSpec{Obj: *cfm})
	}
	objects, err := s.retrieve(ctx, s.dc.Reference(), inventoryKinds, inventoryProps(), extra...)
	wg.Wait()
	if err != nil {
		return nil, fail(op, s.name, err)
	}
	_ = tagsErr // tags are best effort

	out := &inventory.Site{Name: s.name, Datacenter: s.datacenter, Reachable: true}
	tree := newFolderTree(s.vmFolder)
	fields := map[string]int32{}
	datastores := map[types.ManagedObjectReference]string{}
	var vms []mo.VirtualMachine
	for _, oc := range objects {
		oc.MissingSet = nil // a property we may not read is left empty
		switch oc.Obj.Type {
		case "VirtualMachine":
			v, err := mo.ObjectContentToType(oc)
			if err != nil {
				return nil, fail(op, s.name, err)
			}
			vms = append(vms, v.(mo.VirtualMachine))
		case "Folder":
			for _, p := range oc.PropSet {
				switch p.Name {
				case "name":
					tree.name[oc.Obj], _ = p.Val.(string)
				case "parent":
					if ref, ok := p.Val.(types.ManagedObjectReference); ok {
						tree.parent[oc.Obj] = ref
					}
				}
			}
		case "HostSystem":
			var h mo.HostSystem
			if v, err := mo.ObjectContentToType(oc); err == nil {
				h = v.(mo.HostSystem)
			}
			if h.Summary.Hardware == nil || h.Runtime.ConnectionState != types.HostSystemConnectionStateConnected || h.Runtime.InMaintenanceMode {
				continue
			}
			out.Capacity.CPUMHz += int64(h.Summary.Hardware.CpuMhz) * int64(h.Summary.Hardware.NumCpuCores)
			out.Capacity.MemoryBytes += h.Summary.Hardware.MemorySize
		case "Datastore":
			var free int64
			accessible := true
			for _, p := range oc.PropSet {
				switch p.Name {
				case "name":
					datastores[oc.Obj], _ = p.Val.(string)
				case "summary.freeSpace":
					free, _ = p.Val.(int64)
				case "summary.accessible":
					accessible, _ = p.Val.(bool)
				}
			}
			if accessible {
				out.Capacity.StorageBytes += free
			}
		case "CustomFieldsManager":
			for _, p := range oc.PropSet {
				if defs, ok := p.Val.(types.ArrayOfCustomFieldDef); ok {
					for _, d := range defs.CustomFieldDef {
						fields[d.Name] = d.Key
					}
				}
			}
		}
	}
	if len(extra) > 0 {
		s.setFields(fields)
	}
	nets := newNetworkSet(objects)
	s.setNetworks(nets)
	out.Networks = nets.names()

	replicaKey, hasReplica := fields[FieldReplica]
	pointsKey, hasPoints := fields[FieldPoints]
	runKey, hasRun := fields[FieldRun]
	originKey, hasOrigin := fields[FieldOrigin]
	for i := range vms {
		m := &vms[i]
		folder := ""
		if m.Parent != nil {
			p, ok := tree.path(*m.Parent)
			if !ok {
				continue // not under the vm folder (a vApp's child)
			}
			folder = p
		}
		vm := &inventory.VM{
			Name:       m.Name,
			Folder:     folder,
			Ref:        m.Self.Value,
			PowerState: string(m.Runtime.PowerState),
			Tags:       tags[m.Self.Value],
			Run:        fieldValue(m.CustomValue, runKey, hasRun),
			Origin:     fieldValue(m.CustomValue, originKey, hasOrigin),
		}
		if m.Guest != nil {
			vm.IP = m.Guest.IpAddress
		}
		if hw := hardwareOf(m); hw != nil {
			vm.CPUs = int(hw.NumCPU)
			vm.MemoryBytes = int64(hw.MemoryMB) << 20
			on := m.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn
			for _, d := range hw.Device {
				switch d := d.(type) {
				case *types.VirtualDisk:
					vm.Disks = append(vm.Disks, inventory.Disk{Datastore: diskDatastore(d, datastores), Bytes: diskBytes(d)})
				case types.BaseVirtualEthernetCard:
					card := d.GetVirtualEthernetCard()
					nic := inventory.NIC{Network: nets.nameOf(card.Backing)}
					if c := card.Connectable; c != nil {
						nic.Connected = c.Connected
						if !on {
							nic.Connected = c.StartConnected
						}
					}
					vm.NICs = append(vm.NICs, nic)
				}
			}
		}
		if raw := fieldValue(m.CustomValue, replicaKey, hasReplica); raw != "" {
			if info, err := ParseReplicaInfo(raw); err == nil {
				points, _ := ParseRecoveryPoints(fieldValue(m.CustomValue, pointsKey, hasPoints))
				vm.Replica = &inventory.Replica{Of: info.VM, Group: info.Group, Site: info.Site, Folder: info.Folder, IPs: info.IPs, Points: points}
			}
		}
		out.VMs = append(out.VMs, vm)
	}
	slices.SortFunc(out.VMs, func(a, b *inventory.VM) int { return strings.Compare(a.Path(), b.Path()) })
	return out, nil
}

func hardwareOf(m *mo.VirtualMachine) *types.VirtualHardware {
	if m.Config == nil {
		return nil
	}
	return &m.Config.Hardware
}

func diskBytes(d *types.VirtualDisk) int64 {
	if d.CapacityInBytes > 0 {
		return d.CapacityInBytes
	}
	return d.CapacityInKB * 1024
}

// diskDatastore names the datastore a disk's file lives on.
func diskDatastore(d *types.VirtualDisk, names map[types.ManagedObjectReference]string) string {
	fb, ok := d.Backing.(types.BaseVirtualDeviceFileBackingInfo)
	if !ok {
		return ""
	}
	b := fb.GetVirtualDeviceFileBackingInfo()
	if b.Datastore != nil {
		if n, ok := names[*b.Datastore]; ok {
			return n
		}
	}
	// "[datastore] dir/disk.vmdk"
	if strings.HasPrefix(b.FileName, "[") {
		if i := strings.Index(b.FileName, "]"); i > 0 {
			return b.FileName[1:i]
		}
	}
	return ""
}

// Marked lists the VMs and folders under the vm folder whose drplan.run
// is runID: the VMs first, then the folders, deepest first, which is the
// order to destroy them in. It costs three calls however many there are,
// and the site remembers what it found (see Destroy).
func (s *site) Marked(ctx context.Context, runID string) ([]providers.VM, error) {
	const op = "marked"
	var extra []types.ObjectSpec
	if cfm := s.vc.ServiceContent.CustomFieldsManager; cfm != nil {
		extra = append(extra, types.ObjectSpec{Obj: *cfm})
	}
	objects, err := s.retrieve(ctx, s.vmFolder, []string{"VirtualMachine", "Folder"}, []types.PropertySpec{
		{Type: "VirtualMachine", PathSet: []string{"name", "parent", "customValue"}},
		{Type: "Folder", PathSet: []string{"name", "parent", "customValue"}},
		{Type: "CustomFieldsManager", PathSet: []string{"field"}},
	}, extra...)
	if err != nil {
		return nil, fail(op, runID, err)
	}
	tree := newFolderTree(s.vmFolder)
	type entity struct {
		ref    types.ManagedObjectReference
		name   string
		parent *types.ManagedObjectReference
		values []types.BaseCustomFieldValue
	}
	var entities []entity
	runKey, hasRun := int32(0), false
	replicaKey, hasReplica := int32(0), false
	for _, oc := range objects {
		if oc.Obj.Type == "CustomFieldsManager" {
			for _, p := range oc.PropSet {
				if defs, ok := p.Val.(types.ArrayOfCustomFieldDef); ok {
					for _, d := range defs.CustomFieldDef {
						switch d.Name {
						case FieldRun:
							runKey, hasRun = d.Key, true
						case FieldReplica:
							replicaKey, hasReplica = d.Key, true
						}
					}
				}
			}
			continue
		}
		e := entity{ref: oc.Obj}
		for _, p := range oc.PropSet {
			switch p.Name {
			case "name":
				e.name, _ = p.Val.(string)
			case "parent":
				if ref, ok := p.Val.(types.ManagedObjectReference); ok {
					e.parent = &ref
				}
			case "customValue":
				if a, ok := p.Val.(types.ArrayOfCustomFieldValue); ok {
					e.values = a.CustomFieldValue
				}
			}
		}
		if oc.Obj.Type == "Folder" {
			tree.name[oc.Obj] = e.name
			if e.parent != nil {
				tree.parent[oc.Obj] = *e.parent
			}
		}
		entities = append(entities, e)
	}
	if !hasRun || runID == "" {
		return nil, nil
	}
	var vms, folders []providers.VM
	for _, e := range entities {
		if fieldValue(e.values, runKey, true) != runID || e.parent == nil {
			continue
		}
		dir, ok := tree.path(*e.parent)
		if !ok {
			continue
		}
		v := providers.VM{Site: s.name, Path: joinPath(dir, e.name), Ref: e.ref.Value}
		// What a run made is remembered as if this site had made it: a
		// cleanup that names it by path costs no lookup, and Destroy need
		// not read a copy again to know it is no replica.
		if e.ref.Type == "Folder" {
			folders = append(folders, v)
			s.rememberFolder(v.Path, e.ref)
		} else {
			vms = append(vms, v)
			if fieldValue(e.values, replicaKey, hasReplica) == "" {
				s.rememberVM(v.Path, e.ref)
			}
		}
	}
	slices.SortFunc(vms, func(a, b providers.VM) int { return strings.Compare(a.Path, b.Path) })
	slices.SortFunc(folders, func(a, b providers.VM) int {
		if d := strings.Count(b.Path, "/") - strings.Count(a.Path, "/"); d != 0 {
			return d
		}
		return strings.Compare(a.Path, b.Path)
	})
	return append(vms, folders...), nil
}
