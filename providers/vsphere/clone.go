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

// replicaProps are what Clone reads of a replica: one call, shared by
// the clones that start at the same time (readReplica).
var replicaProps = []string{"name", "resourcePool", "datastore", "snapshot", "customValue",
	"config.hardware", "config.extraConfig", "runtime.powerState"}

// Clone makes the drill copy of a replica: a linked clone of the
// snapshot named after the requested recovery point when the replica has
// one (vSphere Replication's point-in-time instances), else a full clone
// of the replica as its replication presents the point (see
// FieldPoints: a point the replica lists is one its replication can
// present). The copy goes into req.Folder (created
// when missing; its last folder, the run's own, marked when Clone creates
// it) on the replica's resource pool and datastore, powered off, its NICs
// on req.Networks, and is marked with req.RunID.
//
// A known req.Replica.Ref saves looking the replica up by path. Clone
// then costs four calls of its own (read the replica, clone, add the task
// to the task view, mark the copy) plus its share of the task waits.
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
	rep, err := s.readReplica(ctx, repRef)
	if err != nil {
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
	if snapshot == nil && !req.Point.IsZero() && !points.Has(req.Point) {
		return providers.VM{}, permanent(op, obj, "replica %s has no recovery point %s; its points are %s",
			s.object(req.Replica), req.Point.UTC().Format(time.RFC3339Nano), points)
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
	s.rememberVM(copyVM.Path, ref)
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
	p := joinPath(req.Folder, req.Name)
	s.rememberVM(p, child.Reference())
	return providers.VM{Site: s.name, Path: p, Ref: child.Reference().Value}, true
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
