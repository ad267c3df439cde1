package vsphere

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/providers"
)

// failoverProps are what the failover operations read of a VM.
var failoverProps = []string{"name", "parent", "customValue", "snapshot", "runtime.powerState", "guest.toolsRunningStatus", "config.hardware.device"}

// readVM reads failoverProps of one VM.
func (s *site) readVM(ctx context.Context, ref types.ManagedObjectReference) (mo.VirtualMachine, error) {
	var m mo.VirtualMachine
	err := property.DefaultCollector(s.vc).RetrieveOne(ctx, ref, failoverProps, &m)
	return m, err
}

// field returns the value of a drplan custom attribute in values.
func (s *site) field(ctx context.Context, values []types.BaseCustomFieldValue, name string) (string, error) {
	fields, err := s.fieldKeys(ctx)
	if err != nil {
		return "", err
	}
	k, ok := fields[name]
	if !ok && unknownKey(fields, values) {
		// Another session defined attributes since this one read the
		// definitions (the first lock at a site defines drplan.lock):
		// read them again.
		s.setFields(nil)
		if fields, err = s.fieldKeys(ctx); err != nil {
			return "", err
		}
		k, ok = fields[name]
	}
	return fieldValue(values, k, ok), nil
}

// unknownKey reports whether a value in values is of an attribute that
// fields does not define.
func unknownKey(fields map[string]int32, values []types.BaseCustomFieldValue) bool {
	known := map[int32]bool{}
	for _, k := range fields {
		known[k] = true
	}
	for _, v := range values {
		if !known[v.GetCustomFieldValue().Key] {
			return true
		}
	}
	return false
}

// readField reads one drplan attribute of a VM the site may change (see
// refuse): the VM's reference and the attribute's value. Only the VM's
// customValue is read. Errors are those of op on vm.
func (s *site) readField(ctx context.Context, op string, vm providers.VM, name string) (types.ManagedObjectReference, string, error) {
	if err := s.refuse(op, vm); err != nil {
		return types.ManagedObjectReference{}, "", err
	}
	ref, err := s.refOf(ctx, op, vm)
	if err != nil {
		return types.ManagedObjectReference{}, "", err
	}
	var m mo.VirtualMachine
	if err := property.DefaultCollector(s.vc).RetrieveOne(ctx, ref, []string{"customValue"}, &m); err != nil {
		return types.ManagedObjectReference{}, "", fail(op, s.object(vm), err)
	}
	raw, err := s.field(ctx, m.CustomValue, name)
	if err != nil {
		return types.ManagedObjectReference{}, "", fail(op, s.object(vm), err)
	}
	return ref, raw, nil
}

// setField sets a drplan custom attribute on an object.
func (s *site) setField(ctx context.Context, ref types.ManagedObjectReference, name, value string) error {
	key, err := s.fieldKey(ctx, name)
	if err != nil {
		return err
	}
	return object.NewCustomFieldsManager(s.vc).Set(ctx, ref, key, value)
}

// task waits for a task a method started.
func (s *site) task(ctx context.Context, t *object.Task, err error) error {
	if err != nil {
		return err
	}
	_, err = s.wait(ctx, t)
	return err
}

// Shutdown shuts the guest down through VMware Tools and waits until the
// VM is off. A guest without running tools cannot be shut down cleanly:
// that is an error, not a reason to pull the plug.
func (s *site) Shutdown(ctx context.Context, vm providers.VM) error {
	const op = "shutdown"
	obj := s.object(vm)
	if err := s.refuse(op, vm); err != nil {
		return err
	}
	ref, _, err := s.resolve(ctx, vm)
	if err != nil {
		return fail(op, obj, err)
	}
	if ref.Value == "" {
		return permanent(op, obj, "no VM %s in datacenter %s", vm.Path, s.datacenter)
	}
	m, err := s.readVM(ctx, ref)
	if err != nil {
		return fail(op, obj, err)
	}
	if m.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOff {
		return nil
	}
	if m.Guest == nil || m.Guest.ToolsRunningStatus != string(types.VirtualMachineToolsRunningStatusGuestToolsRunning) {
		return permanent(op, obj, "VMware Tools are not running in the guest, so it cannot be shut down cleanly; shut it down from its console, or run a failover instead of a migration")
	}
	if err := object.NewVirtualMachine(s.vc, ref).ShutdownGuest(ctx); err != nil && !alreadyInState(err, types.VirtualMachinePowerStatePoweredOff) {
		return fail(op, obj, err)
	}
	err = property.Wait(ctx, property.DefaultCollector(s.vc), ref, []string{"runtime.powerState"}, func(changes []types.PropertyChange) bool {
		for _, c := range changes {
			if st, ok := c.Val.(types.VirtualMachinePowerState); ok && st == types.VirtualMachinePowerStatePoweredOff {
				return true
			}
		}
		return false
	})
	if err != nil {
		if ctx.Err() != nil {
			return permanent(op, obj, "the guest did not shut down in time: it is still running")
		}
		return fail(op, obj, err)
	}
	return nil
}

// Points reads the recovery points of replicas in one call.
func (s *site) Points(ctx context.Context, replicas []providers.VM) ([]inventory.RecoveryPoints, error) {
	const op = "points"
	refs := make([]types.ManagedObjectReference, len(replicas))
	for i, r := range replicas {
		ref, err := s.refOf(ctx, op, r)
		if err != nil {
			return nil, err
		}
		refs[i] = ref
	}
	var vms []mo.VirtualMachine
	if err := property.DefaultCollector(s.vc).Retrieve(ctx, refs, []string{"customValue"}, &vms); err != nil {
		return nil, fail(op, s.name, err)
	}
	byRef := map[types.ManagedObjectReference]mo.VirtualMachine{}
	for _, m := range vms {
		byRef[m.Self] = m
	}
	out := make([]inventory.RecoveryPoints, len(refs))
	for i, ref := range refs {
		raw, err := s.field(ctx, byRef[ref].CustomValue, FieldPoints)
		if err != nil {
			return nil, fail(op, s.name, err)
		}
		if out[i], err = ParseRecoveryPoints(raw); err != nil {
			return nil, permanent(op, s.object(replicas[i]), "%v", err)
		}
	}
	return out, nil
}

// RecordAddresses rewrites a replica's FieldReplica with the protected
// VM's addresses.
func (s *site) RecordAddresses(ctx context.Context, replica providers.VM, ips []string) error {
	const op = "record addresses"
	obj := s.object(replica)
	ref, raw, err := s.readField(ctx, op, replica, FieldReplica)
	if err != nil {
		return err
	}
	info, err := ParseReplicaInfo(raw)
	if err != nil {
		return permanent(op, obj, "%v", err)
	}
	if slices.Equal(info.IPs, ips) {
		return nil
	}
	info.IPs = ips
	return fail(op, obj, s.setField(ctx, ref, FieldReplica, info.String()))
}

// Pin marks each replica with FieldPromoted (the run, and its point once
// chosen) before any of them is promoted; replication into a replica
// with that mark stops, so its points stay as they were. The caller
// holds the group's lock: a pin another run left is that dead run's, and
// is taken over with its point.
func (s *site) Pin(ctx context.Context, replicas []providers.VM, points []time.Time, runID string) ([]time.Time, error) {
	const op = "pin"
	out := make([]time.Time, len(replicas))
	for i, r := range replicas {
		ref, raw, err := s.readField(ctx, op, r, FieldPromoted)
		if err != nil {
			return nil, err
		}
		info, pinned := ParsePromotedInfo(raw)
		if pinned && info.Run == runID && (!info.Point.IsZero() || points == nil) {
			out[i] = info.Point
			continue
		}
		// Another run's pin is a run that died holding the group's lock
		// (this run holds it now, so that run is no more): taken over,
		// with the point it had chosen. (Unpinned, info is the zero info.)
		if info.Point.IsZero() && points != nil {
			info.Point = points[i]
		}
		info.Run = runID
		if err := s.setField(ctx, ref, FieldPromoted, info.String()); err != nil {
			return nil, fail(op, s.object(r), err)
		}
		out[i] = info.Point
	}
	return out, nil
}

// Promote makes a replica the production VM: reverted to the snapshot
// named after the recovery point when it has one, else recovered as its
// replication presents the point (one of FieldPoints; the point is
// recorded in FieldPromoted before anything else changes), moved to the target's
// folder under the target's name, and no longer a replica, so that
// replication stops writing to it. The VM is first marked with the run and
// the point; a later call of the same run that finds the VM at its target
// with that mark finishes what is left and reports it as already done.
func (s *site) Promote(ctx context.Context, req providers.PromoteRequest) (providers.Promoted, error) {
	const op = "promote"
	target := providers.VM{Site: s.name, Path: req.Target}
	obj := s.object(target)
	if err := s.refuse(op, target); err != nil {
		return providers.Promoted{}, err
	}
	if at, err := s.lookup(ctx, req.Target); err != nil {
		return providers.Promoted{}, fail(op, obj, err)
	} else if at.Value != "" {
		m, err := s.readVM(ctx, at)
		if err != nil {
			return providers.Promoted{}, fail(op, obj, err)
		}
		raw, err := s.field(ctx, m.CustomValue, FieldPromoted)
		if err != nil {
			return providers.Promoted{}, fail(op, obj, err)
		}
		info, ok := ParsePromotedInfo(raw)
		if !ok || info.Run != req.RunID {
			return providers.Promoted{}, permanent(op, obj, "a VM (%s) already exists at %s: a recovered VM of another run, or a VM that should not be there; move it away before promoting the replica", m.Runtime.PowerState, req.Target)
		}
		if err := s.unreplicate(ctx, at, m.CustomValue); err != nil {
			return providers.Promoted{}, fail(op, obj, err)
		}
		target.Ref = at.Value
		return providers.Promoted{VM: target, Point: info.Point, Already: true}, nil
	}
	ref, err := s.refOf(ctx, op, req.Replica)
	if err != nil {
		return providers.Promoted{}, err
	}
	m, err := s.readVM(ctx, ref)
	if err != nil {
		if notFound(err) {
			return providers.Promoted{}, permanent(op, obj, "replica %s does not exist", s.object(req.Replica))
		}
		return providers.Promoted{}, fail(op, obj, err)
	}
	raw, err := s.field(ctx, m.CustomValue, FieldReplica)
	if err != nil {
		return providers.Promoted{}, fail(op, obj, err)
	}
	if raw == "" {
		return providers.Promoted{}, permanent(op, obj, "%s is not a replica (it has no %s attribute)", s.object(req.Replica), FieldReplica)
	}
	rawPoints, _ := s.field(ctx, m.CustomValue, FieldPoints)
	points, _ := ParseRecoveryPoints(rawPoints)
	point := req.Point
	rawPinned, _ := s.field(ctx, m.CustomValue, FieldPromoted)
	if pinned, ok := ParsePromotedInfo(rawPinned); ok {
		if pinned.Run != req.RunID {
			return providers.Promoted{}, permanent(op, obj, "replica %s is being promoted by run %s; continue that run with drplan resume %s", s.object(req.Replica), pinned.Run, pinned.Run)
		}
		if !pinned.Point.IsZero() {
			point, req.Point = pinned.Point, pinned.Point
		}
	}
	if point.IsZero() {
		point = points.Latest()
	}
	var snapshot *types.ManagedObjectReference
	if !req.Point.IsZero() && m.Snapshot != nil {
		snapshot = findSnapshot(m.Snapshot.RootSnapshotList, req.Point)
	}
	if snapshot == nil && !req.Point.IsZero() && !points.Has(req.Point) {
		return providers.Promoted{}, permanent(op, obj, "replica %s has no recovery point %s; its points are %s",
			s.object(req.Replica), req.Point.UTC().Format(time.RFC3339Nano), points)
	}
	if err := s.setField(ctx, ref, FieldPromoted, PromotedInfo{Run: req.RunID, Point: point}.String()); err != nil {
		return providers.Promoted{}, fail(op, obj, err)
	}
	if snapshot != nil {
		res, err := methods.RevertToSnapshot_Task(ctx, s.vc, &types.RevertToSnapshot_Task{This: *snapshot})
		if err != nil {
			return providers.Promoted{}, fail(op, obj, err)
		}
		if err := s.task(ctx, object.NewTask(s.vc, res.Returnval), nil); err != nil {
			return providers.Promoted{}, fail(op, obj, err)
		}
	}
	if err := s.place(ctx, ref, m, req.Target, ""); err != nil {
		return providers.Promoted{}, fail(op, obj, err)
	}
	if err := s.unreplicate(ctx, ref, m.CustomValue); err != nil {
		return providers.Promoted{}, fail(op, obj, err)
	}
	target.Ref = ref.Value
	return providers.Promoted{VM: target, Point: point}, nil
}

// unreplicate clears a promoted VM's replica attributes.
func (s *site) unreplicate(ctx context.Context, ref types.ManagedObjectReference, values []types.BaseCustomFieldValue) error {
	for _, f := range []string{FieldReplica, FieldPoints} {
		v, err := s.field(ctx, values, f)
		if err != nil {
			return err
		}
		if v == "" {
			continue
		}
		if err := s.setField(ctx, ref, f, ""); err != nil {
			return err
		}
	}
	return nil
}

// place moves a VM into the folder of target and gives it target's name,
// skipping what is so already.
func (s *site) place(ctx context.Context, ref types.ManagedObjectReference, m mo.VirtualMachine, target, runID string) error {
	dir, name := path.Split(strings.Trim(target, "/"))
	folder, err := s.ensureFolder(ctx, dir, runID)
	if err != nil {
		return err
	}
	if m.Parent == nil || *m.Parent != folder {
		f := object.NewFolder(s.vc, folder)
		t, err := f.MoveInto(ctx, []types.ManagedObjectReference{ref})
		if err := s.task(ctx, t, err); err != nil {
			return fmt.Errorf("moving it into %s: %w", dir, err)
		}
	}
	if m.Name != name {
		t, err := object.NewVirtualMachine(s.vc, ref).Rename(ctx, name)
		if err := s.task(ctx, t, err); err != nil {
			return fmt.Errorf("renaming it %s: %w", name, err)
		}
	}
	s.forgetPath(target)
	return nil
}

// Demote makes a powered-off VM the replica of its namesake at another
// site: marked as a replica first, its NICs set not to connect at power
// on, then moved into the replica folder. A VM already in the replica
// folder with the same mark is done.
func (s *site) Demote(ctx context.Context, req providers.DemoteRequest) (providers.VM, error) {
	const op = "reverse"
	obj := s.object(req.VM)
	if err := s.refuse(op, req.VM); err != nil {
		return providers.VM{}, err
	}
	replica := providers.VM{Site: s.name, Path: joinPath(ReplicaFolder, req.Of)}
	folder, _ := path.Split(strings.Trim(req.VM.Path, "/"))
	info := ReplicaInfo{VM: req.Of, Group: req.Group, Site: req.Site, Folder: strings.Trim(folder, "/")}.String()
	ref, _, err := s.resolve(ctx, req.VM)
	if err != nil {
		return providers.VM{}, fail(op, obj, err)
	}
	if ref.Value == "" {
		done, err := s.lookup(ctx, replica.Path)
		if err != nil {
			return providers.VM{}, fail(op, obj, err)
		}
		if done.Value != "" {
			m, err := s.readVM(ctx, done)
			if err != nil {
				return providers.VM{}, fail(op, obj, err)
			}
			if v, _ := s.field(ctx, m.CustomValue, FieldReplica); v == info {
				replica.Ref = done.Value
				return replica, nil
			}
		}
		return providers.VM{}, permanent(op, obj, "no VM %s in datacenter %s to reverse replication into", req.VM.Path, s.datacenter)
	}
	m, err := s.readVM(ctx, ref)
	if err != nil {
		return providers.VM{}, fail(op, obj, err)
	}
	if m.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOff {
		return providers.VM{}, permanent(op, obj, "the VM is %s: it must be off before it can become a replica (two running copies would split the service); power it off first", m.Runtime.PowerState)
	}
	if v, err := s.field(ctx, m.CustomValue, FieldReplica); err != nil {
		return providers.VM{}, fail(op, obj, err)
	} else if v != info {
		if err := s.setField(ctx, ref, FieldReplica, info); err != nil {
			return providers.VM{}, fail(op, obj, err)
		}
	}
	if v, _ := s.field(ctx, m.CustomValue, FieldPromoted); v != "" {
		if err := s.setField(ctx, ref, FieldPromoted, ""); err != nil {
			return providers.VM{}, fail(op, obj, err)
		}
	}
	if err := s.disconnect(ctx, ref, m); err != nil {
		return providers.VM{}, fail(op, obj, err)
	}
	if err := s.place(ctx, ref, m, replica.Path, ""); err != nil {
		return providers.VM{}, fail(op, obj, err)
	}
	replica.Ref = ref.Value
	return replica, nil
}

// disconnect sets a VM's NICs not to connect at power-on.
func (s *site) disconnect(ctx context.Context, ref types.ManagedObjectReference, m mo.VirtualMachine) error {
	if m.Config == nil {
		return nil
	}
	var changes []types.BaseVirtualDeviceConfigSpec
	for _, d := range m.Config.Hardware.Device {
		card, ok := d.(types.BaseVirtualEthernetCard)
		if !ok {
			continue
		}
		c := card.GetVirtualEthernetCard()
		if c.Connectable == nil || !c.Connectable.StartConnected {
			continue
		}
		c.Connectable.StartConnected = false
		changes = append(changes, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationEdit, Device: d})
	}
	if len(changes) == 0 {
		return nil
	}
	t, err := object.NewVirtualMachine(s.vc, ref).Reconfigure(ctx, types.VirtualMachineConfigSpec{DeviceChange: changes})
	return s.task(ctx, t, err)
}

// Suspend powers off a running VM to make room at a recovery site,
// marked with the run first so that a crash between the two leaves the
// mark; a VM that is off and unmarked is left alone.
func (s *site) Suspend(ctx context.Context, vm providers.VM, runID string) (bool, error) {
	const op = "suspend"
	ref, m, mark, err := s.suspendMark(ctx, op, vm)
	if err != nil {
		return false, err
	}
	if m.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOff {
		return mark != "", nil
	}
	if mark == "" {
		if err := s.setField(ctx, ref, FieldSuspended, runID); err != nil {
			return false, fail(op, s.object(vm), err)
		}
	}
	return true, fail(op, s.object(vm), s.setPower(ctx, ref, types.VirtualMachinePowerStatePoweredOff))
}

// Resume powers on a VM that a run suspended and clears the mark.
func (s *site) Resume(ctx context.Context, vm providers.VM, runID string) (bool, error) {
	const op = "resume"
	ref, _, mark, err := s.suspendMark(ctx, op, vm)
	if err != nil || mark == "" || runID != "" && mark != runID {
		return false, err
	}
	if err := s.setPower(ctx, ref, types.VirtualMachinePowerStatePoweredOn); err != nil {
		return false, fail(op, s.object(vm), err)
	}
	return true, fail(op, s.object(vm), s.setField(ctx, ref, FieldSuspended, ""))
}

// suspendMark reads a VM and its drplan.suspended mark for a mutating
// operation.
func (s *site) suspendMark(ctx context.Context, op string, vm providers.VM) (types.ManagedObjectReference, mo.VirtualMachine, string, error) {
	var m mo.VirtualMachine
	if err := s.refuse(op, vm); err != nil {
		return types.ManagedObjectReference{}, m, "", err
	}
	ref, err := s.refOf(ctx, op, vm)
	if err != nil {
		return ref, m, "", err
	}
	if m, err = s.readVM(ctx, ref); err != nil {
		return ref, m, "", fail(op, s.object(vm), err)
	}
	mark, err := s.field(ctx, m.CustomValue, FieldSuspended)
	return ref, m, mark, fail(op, s.object(vm), err)
}
