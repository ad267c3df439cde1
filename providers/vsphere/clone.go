package vsphere

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/providers"
)

// replicaProps are what Clone reads of a replica, in one call.
var replicaProps = []string{"name", "resourcePool", "datastore", "snapshot", "customValue",
	"config.hardware", "config.extraConfig", "runtime.powerState"}

// Clone makes the drill copy of a replica: a linked clone of the
// snapshot named after the requested recovery point when the replica has
// one, else (for the zero time or the replica's latest point) a full
// clone of the replica as it is. The copy goes into req.Folder (created
// and marked when missing) on the replica's resource pool and datastore,
// powered off, its NICs on req.Networks, and is marked with req.RunID.
//
// A retried Clone whose copy already exists, marked with the same run,
// returns that copy.
func (s *site) Clone(ctx context.Context, req providers.CloneRequest) (providers.VM, error) {
	const op = "clone"
	copyVM := providers.VM{Site: s.name, Path: joinPath(req.Folder, req.Name)}
	obj := s.object(copyVM)
	if err := s.refuse(op, copyVM); err != nil {
		return providers.VM{}, err
	}
	if req.Name == "" || strings.Contains(req.Name, "/") {
		return providers.VM{}, permanent(op, obj, "the copy's name %q is not a VM name", req.Name)
	}
	nets, err := s.checkPortGroups(ctx, op, obj, req.Networks)
	if err != nil {
		return providers.VM{}, err
	}
	repRef, err := s.refOf(ctx, op, req.Replica)
	if err != nil {
		return providers.VM{}, err
	}
	var rep mo.VirtualMachine
	if err := property.DefaultCollector(s.vc).RetrieveOne(ctx, repRef, replicaProps, &rep); err != nil {
		if notFound(err) {
			return providers.VM{}, permanent(op, obj, "replica %s does not exist", s.object(req.Replica))
		}
		return providers.VM{}, fail(op, obj, err)
	}
	fields, err := s.fieldKeys(ctx)
	if err != nil {
		return providers.VM{}, fail(op, obj, err)
	}
	pk, hasPoints := fields[FieldPoints]
	points, _ := ParseRecoveryPoints(fieldValue(rep.CustomValue, pk, hasPoints))

	point := req.Point
	if point.IsZero() {
		point = points.Latest()
	}
	var snapshot *types.ManagedObjectReference
	if !point.IsZero() && rep.Snapshot != nil {
		snapshot = findSnapshot(rep.Snapshot.RootSnapshotList, point)
	}
	if snapshot == nil && !req.Point.IsZero() && !req.Point.Equal(points.Latest()) {
		if !points.Has(req.Point) {
			return providers.VM{}, permanent(op, obj, "replica %s has no recovery point %s; its points are %s",
				s.object(req.Replica), req.Point.UTC().Format(time.RFC3339Nano), points)
		}
		return providers.VM{}, permanent(op, obj, "replica %s holds recovery point %s but no snapshot of it, so only its latest point (%s) can be copied",
			s.object(req.Replica), req.Point.UTC().Format(time.RFC3339Nano), points.Latest().UTC().Format(time.RFC3339Nano))
	}
	if rep.ResourcePool == nil || len(rep.Datastore) == 0 || rep.Config == nil {
		return providers.VM{}, permanent(op, obj, "replica %s has no resource pool, datastore or configuration to clone", s.object(req.Replica))
	}
	changes, err := nicChanges(rep.Config.Hardware.Device, nets, false)
	if err != nil {
		return providers.VM{}, permanent(op, obj, "%v", err)
	}

	folder, err := s.ensureFolder(ctx, req.Folder, req.RunID)
	if err != nil {
		return providers.VM{}, fail(op, obj, err)
	}
	spec := types.VirtualMachineCloneSpec{
		Location: types.VirtualMachineRelocateSpec{Pool: rep.ResourcePool, Datastore: &rep.Datastore[0], DeviceChange: changes},
		// vCenter copies extraConfig into a clone; naming the guestinfo
		// keys makes sure the copy's guest sees what its source's did
		// with any implementation of the API.
		Config:  &types.VirtualMachineConfigSpec{ExtraConfig: guestInfo(rep.Config.ExtraConfig)},
		PowerOn: false,
	}
	if snapshot != nil {
		spec.Snapshot = snapshot
		spec.Location.DiskMoveType = string(types.VirtualMachineRelocateDiskMoveOptionsCreateNewChildDiskBacking)
	}
	var res types.AnyType
	for attempt := 0; ; attempt++ {
		var t *object.Task
		t, err = object.NewVirtualMachine(s.vc, repRef).Clone(ctx, object.NewFolder(s.vc, folder), req.Name, spec)
		if err == nil {
			res, err = s.wait(ctx, t)
		}
		if err == nil || attempt > 0 || !s.folderGone(ctx, err, folder) {
			break
		}
		// A folder this site remembered was deleted behind its back.
		s.forgetFolders()
		if folder, err = s.ensureFolder(ctx, req.Folder, req.RunID); err != nil {
			return providers.VM{}, fail(op, obj, err)
		}
	}
	if err != nil {
		if isFault(err, &types.DuplicateName{}) {
			if vm, ok := s.existingCopy(ctx, folder, req); ok {
				return vm, nil
			}
		}
		return providers.VM{}, fail(op, obj, err)
	}
	ref, ok := res.(types.ManagedObjectReference)
	if !ok {
		return providers.VM{}, permanent(op, obj, "the clone task returned no VM")
	}
	copyVM.Ref = ref.Value
	if req.RunID != "" {
		if err := s.mark(ctx, ref, req.RunID); err != nil {
			// An unmarked copy would escape cleanup: take it away again.
			if derr := s.Destroy(context.WithoutCancel(ctx), copyVM); derr != nil {
				return copyVM, fail(op, obj, fmt.Errorf("marking the copy: %w (and removing it failed: %v)", err, derr))
			}
			return providers.VM{}, fail(op, obj, fmt.Errorf("marking the copy: %w", err))
		}
	}
	return copyVM, nil
}

// folderGone reports whether a clone failed because its folder, which
// this site remembered, no longer exists (vCenter says so with
// ManagedObjectNotFound; other implementations less clearly, so ask).
func (s *site) folderGone(ctx context.Context, err error, folder types.ManagedObjectReference) bool {
	if gone(err, folder) {
		return true
	}
	if folder == s.vmFolder || isFault(err, &types.DuplicateName{}) || connectionError(err) {
		return false
	}
	var f mo.Folder
	return gone(property.DefaultCollector(s.vc).RetrieveOne(ctx, folder, []string{"name"}, &f), folder)
}

// existingCopy returns the copy a previous try of the same clone made.
func (s *site) existingCopy(ctx context.Context, folder types.ManagedObjectReference, req providers.CloneRequest) (providers.VM, bool) {
	if req.RunID == "" {
		return providers.VM{}, false
	}
	child, err := object.NewSearchIndex(s.vc).FindChild(ctx, object.NewFolder(s.vc, folder), req.Name)
	if err != nil || child == nil || child.Reference().Type != "VirtualMachine" {
		return providers.VM{}, false
	}
	var m mo.VirtualMachine
	if err := property.DefaultCollector(s.vc).RetrieveOne(ctx, child.Reference(), []string{"customValue"}, &m); err != nil {
		return providers.VM{}, false
	}
	fields, err := s.fieldKeys(ctx)
	if err != nil {
		return providers.VM{}, false
	}
	key, ok := fields[FieldRun]
	if fieldValue(m.CustomValue, key, ok) != req.RunID {
		return providers.VM{}, false
	}
	return providers.VM{Site: s.name, Path: joinPath(req.Folder, req.Name), Ref: child.Reference().Value}, true
}

// findSnapshot finds the snapshot named after a point in time (RFC 3339,
// any precision).
func findSnapshot(list []types.VirtualMachineSnapshotTree, point time.Time) *types.ManagedObjectReference {
	for i := range list {
		if t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(list[i].Name)); err == nil && t.Equal(point) {
			ref := list[i].Snapshot
			return &ref
		}
		if ref := findSnapshot(list[i].ChildSnapshotList, point); ref != nil {
			return ref
		}
	}
	return nil
}

// guestInfo picks the guestinfo.* keys of an extraConfig.
func guestInfo(extra []types.BaseOptionValue) []types.BaseOptionValue {
	var out []types.BaseOptionValue
	for _, o := range extra {
		if ov := o.GetOptionValue(); ov != nil && strings.HasPrefix(ov.Key, "guestinfo.") {
			out = append(out, &types.OptionValue{Key: ov.Key, Value: ov.Value})
		}
	}
	return out
}

// checkPortGroups resolves port group names, or says which are missing
// and which exist: reconfiguring a NIC onto a port group that does not
// exist must never reach vCenter.
func (s *site) checkPortGroups(ctx context.Context, op, obj string, names []string) ([]*network, error) {
	if len(names) == 0 {
		return nil, nil
	}
	nets, missing, ns, err := s.portGroups(ctx, names)
	if err != nil {
		return nil, fail(op, obj, err)
	}
	if len(missing) > 0 {
		word := "port group"
		if len(missing) > 1 {
			word = "port groups"
		}
		return nil, permanent(op, obj, "no %s %s in datacenter %s; it has %s", word, quoteList(missing), s.datacenter, quoteList(ns.names()))
	}
	return nets, nil
}

func quoteList(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// nicChanges puts a VM's NICs, in order, on the given port groups and
// connects them (at power-on, and at once when the VM is on); NICs beyond
// the list are disconnected, so that no NIC of a copy stays on a network
// nobody chose for it. No port groups means no change.
func nicChanges(devices []types.BaseVirtualDevice, nets []*network, poweredOn bool) ([]types.BaseVirtualDeviceConfigSpec, error) {
	if len(nets) == 0 {
		return nil, nil
	}
	cards := object.VirtualDeviceList(devices).SelectByType((*types.VirtualEthernetCard)(nil))
	if len(nets) > len(cards) {
		return nil, fmt.Errorf("%d port groups for %d NICs", len(nets), len(cards))
	}
	var changes []types.BaseVirtualDeviceConfigSpec
	for i, d := range cards {
		card := d.(types.BaseVirtualEthernetCard).GetVirtualEthernetCard()
		conn := types.VirtualDeviceConnectInfo{AllowGuestControl: true}
		if card.Connectable != nil {
			conn = *card.Connectable
		}
		if i < len(nets) {
			card.Backing = nets[i].backing()
			conn.StartConnected, conn.Connected = true, poweredOn
		} else {
			conn.StartConnected, conn.Connected = false, false
		}
		card.Connectable = &conn
		changes = append(changes, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationEdit, Device: d})
	}
	return changes, nil
}

// SetNetworks puts the VM's NICs, in order, on the given port groups, in
// one reconfiguration; see nicChanges.
func (s *site) SetNetworks(ctx context.Context, vm providers.VM, networks []string) error {
	const op = "set_networks"
	obj := s.object(vm)
	if err := s.refuse(op, vm); err != nil {
		return err
	}
	nets, err := s.checkPortGroups(ctx, op, obj, networks)
	if err != nil || len(nets) == 0 {
		return err
	}
	ref, err := s.refOf(ctx, op, vm)
	if err != nil {
		return err
	}
	var m mo.VirtualMachine
	if err := property.DefaultCollector(s.vc).RetrieveOne(ctx, ref, []string{"config.hardware", "runtime.powerState"}, &m); err != nil {
		return fail(op, obj, err)
	}
	if m.Config == nil {
		return permanent(op, obj, "the VM has no configuration")
	}
	changes, err := nicChanges(m.Config.Hardware.Device, nets, m.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn)
	if err != nil {
		return permanent(op, obj, "%v", err)
	}
	t, err := object.NewVirtualMachine(s.vc, ref).Reconfigure(ctx, types.VirtualMachineConfigSpec{DeviceChange: changes})
	if err == nil {
		_, err = s.wait(ctx, t)
	}
	return fail(op, obj, err)
}

// ensureFolder returns the VM folder at a path under the vm folder,
// creating what is missing and marking each folder it creates with the
// run id.
func (s *site) ensureFolder(ctx context.Context, p, runID string) (types.ManagedObjectReference, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return s.vmFolder, nil
	}
	s.mu.Lock()
	ref, ok := s.folderRefs[p]
	s.mu.Unlock()
	if ok {
		return ref, nil
	}
	// One caller at a time finds or makes folders: parallel clones into a
	// new folder would otherwise all race to create it.
	s.folderMu.Lock()
	defer s.folderMu.Unlock()
	s.mu.Lock()
	ref, ok = s.folderRefs[p]
	s.mu.Unlock()
	if ok {
		return ref, nil
	}
	if ref, err := s.lookup(ctx, p); err != nil {
		return ref, err
	} else if ref.Type == "Folder" {
		s.rememberFolder(p, ref)
		return ref, nil
	}
	cur := s.vmFolder
	search := object.NewSearchIndex(s.vc)
	parts := strings.Split(p, "/")
	for i, part := range parts {
		sub := strings.Join(parts[:i+1], "/")
		s.mu.Lock()
		known, ok := s.folderRefs[sub]
		s.mu.Unlock()
		if ok {
			cur = known
			continue
		}
		// The path as a whole was not there, so try to make each folder
		// and look for it only when it exists.
		var child object.Reference
		f, err := object.NewFolder(s.vc, cur).CreateFolder(ctx, part)
		switch {
		case err == nil:
			if runID != "" {
				if err := s.mark(ctx, f.Reference(), runID); err != nil {
					if t, derr := f.Destroy(context.WithoutCancel(ctx)); derr == nil {
						s.wait(context.WithoutCancel(ctx), t)
					}
					return types.ManagedObjectReference{}, fmt.Errorf("marking folder %s: %w", sub, err)
				}
			}
			child = f
		case isFault(err, &types.DuplicateName{}):
			if child, err = search.FindChild(ctx, object.NewFolder(s.vc, cur), part); err != nil {
				return types.ManagedObjectReference{}, err
			}
			if child == nil {
				return types.ManagedObjectReference{}, fmt.Errorf("folder %s exists and does not", sub)
			}
		default:
			return types.ManagedObjectReference{}, fmt.Errorf("creating folder %s: %w", sub, err)
		}
		if child.Reference().Type != "Folder" {
			return types.ManagedObjectReference{}, fmt.Errorf("%s is a %s, not a folder", sub, child.Reference().Type)
		}
		cur = child.Reference()
		s.rememberFolder(sub, cur)
	}
	return cur, nil
}

func (s *site) rememberFolder(p string, ref types.ManagedObjectReference) {
	s.mu.Lock()
	s.folderRefs[p] = ref
	s.mu.Unlock()
}

// forgetFolders drops the known folders, after one turned out to be gone.
func (s *site) forgetFolders() {
	s.mu.Lock()
	clear(s.folderRefs)
	s.mu.Unlock()
}
