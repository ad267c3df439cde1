package vsphere

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
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
// creating what is missing. The last folder of the path is the run's own
// (drplan-drill/RUNID): when ensureFolder creates it, it marks it with the
// run id. The folders above it are shared between runs and stay
// unmarked, whoever creates them; a folder that exists already is never
// marked.
func (s *site) ensureFolder(ctx context.Context, p, runID string) (types.ManagedObjectReference, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return s.vmFolder, nil
	}
	if ref, ok := s.knownFolder(p); ok {
		return ref, nil
	}
	// One caller at a time finds or makes folders: parallel clones into a
	// new folder would otherwise all race to create it.
	s.folderMu.Lock()
	defer s.folderMu.Unlock()
	return s.makeFolder(ctx, p, runID)
}

// makeFolder finds or makes the folder at p, marking it with runID when
// it makes it. It tries to create the folder in its parent straight
// away, which for a new run's folder in an existing drill folder costs a
// lookup of the parent, the creation and the mark. The caller holds
// folderMu.
func (s *site) makeFolder(ctx context.Context, p, runID string) (types.ManagedObjectReference, error) {
	if ref, ok := s.knownFolder(p); ok {
		return ref, nil
	}
	parent := s.vmFolder
	dir, name := path.Split(p)
	if dir = strings.Trim(dir, "/"); dir != "" {
		var ok bool
		if parent, ok = s.knownFolder(dir); !ok {
			ref, err := s.lookup(ctx, dir)
			switch {
			case err != nil:
				return ref, err
			case ref.Value == "":
				if ref, err = s.makeFolder(ctx, dir, ""); err != nil {
					return ref, err
				}
			case ref.Type != "Folder":
				return types.ManagedObjectReference{}, fmt.Errorf("%s is a %s, not a folder", dir, ref.Type)
			}
			s.rememberFolder(dir, ref)
			parent = ref
		}
	}
	var child types.ManagedObjectReference
	f, err := object.NewFolder(s.vc, parent).CreateFolder(ctx, name)
	if err == nil {
		child = f.Reference()
		if runID != "" {
			if err := s.mark(ctx, child, runID); err != nil {
				if t, derr := f.Destroy(context.WithoutCancel(ctx)); derr == nil {
					s.wait(context.WithoutCancel(ctx), t)
				}
				return types.ManagedObjectReference{}, fmt.Errorf("marking folder %s: %w", p, err)
			}
		}
	} else {
		// It exists (DuplicateName), or we may not create folders here but
		// it may exist all the same.
		found, ferr := object.NewSearchIndex(s.vc).FindChild(ctx, object.NewFolder(s.vc, parent), name)
		switch {
		case ferr != nil:
			return types.ManagedObjectReference{}, ferr
		case found == nil && isFault(err, &types.DuplicateName{}):
			return types.ManagedObjectReference{}, fmt.Errorf("folder %s exists and does not", p)
		case found == nil:
			return types.ManagedObjectReference{}, fmt.Errorf("creating folder %s: %w", p, err)
		}
		child = found.Reference()
	}
	if child.Type != "Folder" {
		return types.ManagedObjectReference{}, fmt.Errorf("%s is a %s, not a folder", p, child.Type)
	}
	s.rememberFolder(p, child)
	return child, nil
}

func (s *site) knownFolder(p string) (types.ManagedObjectReference, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ref, ok := s.folderRefs[p]
	return ref, ok
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

// replicaReads reads replicas for clones together: the clones a runner
// starts at once (one per VM slot) share one RetrievePropertiesEx, read
// fresh all the same.
type replicaReads struct {
	mu    sync.Mutex
	queue []*replicaRead
	busy  bool // a reader goroutine is at work
}

type replicaRead struct {
	ref  types.ManagedObjectReference
	vm   mo.VirtualMachine
	err  error
	done chan struct{}
}

// replicaReadTimeout bounds one read of a batch of replicas.
const replicaReadTimeout = time.Minute

// readReplica reads replicaProps of a replica, together with the reads
// that other clones ask for meanwhile.
func (s *site) readReplica(ctx context.Context, ref types.ManagedObjectReference) (mo.VirtualMachine, error) {
	r := &replicaRead{ref: ref, done: make(chan struct{})}
	b := &s.replicas
	b.mu.Lock()
	b.queue = append(b.queue, r)
	start := !b.busy
	b.busy = true
	b.mu.Unlock()
	if start {
		go s.drainReplicaReads()
	}
	select {
	case <-r.done:
		return r.vm, r.err
	case <-ctx.Done():
		return mo.VirtualMachine{}, ctx.Err()
	}
}

// drainReplicaReads reads what is queued, then what queued up meanwhile,
// until nothing is left.
func (s *site) drainReplicaReads() {
	b := &s.replicas
	for {
		b.mu.Lock()
		batch := b.queue
		b.queue = nil
		if len(batch) == 0 {
			b.busy = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), replicaReadTimeout)
		s.readReplicas(ctx, batch)
		cancel()
	}
}

// readReplicas reads a batch in one call. vCenter fails the whole call
// when one of the objects does not exist: that one fails, and the others
// are read again.
func (s *site) readReplicas(ctx context.Context, batch []*replicaRead) {
	finish := func(r *replicaRead, err error) {
		r.err = err
		close(r.done)
	}
	for len(batch) > 0 {
		var refs []types.ManagedObjectReference
		for _, r := range batch {
			if !slices.Contains(refs, r.ref) {
				refs = append(refs, r.ref)
			}
		}
		var vms []mo.VirtualMachine
		err := property.DefaultCollector(s.vc).Retrieve(ctx, refs, replicaProps, &vms)
		var missing *types.ManagedObjectNotFound
		if asFault(err, &missing) && len(refs) > 1 {
			rest := batch[:0]
			for _, r := range batch {
				if r.ref == missing.Obj {
					finish(r, err)
				} else {
					rest = append(rest, r)
				}
			}
			if len(rest) < len(batch) {
				batch = rest
				continue
			}
		}
		byRef := map[types.ManagedObjectReference]mo.VirtualMachine{}
		for _, vm := range vms {
			byRef[vm.Self] = vm
		}
		for _, r := range batch {
			vm, ok := byRef[r.ref]
			switch {
			case err != nil:
				finish(r, err)
			case !ok:
				finish(r, soap.WrapVimFault(&types.ManagedObjectNotFound{Obj: r.ref}))
			default:
				r.vm = vm
				finish(r, nil)
			}
		}
		return
	}
}
