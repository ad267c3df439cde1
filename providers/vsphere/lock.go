package vsphere

import (
	"context"
	"encoding/json"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/providers"
)

// Lock takes a lock at the site: the folder LockFolder/name, created
// atomically by vCenter, with the holder in its FieldLock attribute. A
// lock the same run holds is taken again; an expired one is broken.
func (s *site) Lock(ctx context.Context, name string, holder providers.LockHolder) error {
	const op = "lock"
	obj := s.name + ":" + joinPath(LockFolder, name)
	if err := s.refuse(op, providers.VM{Path: joinPath(LockFolder, name)}); err != nil {
		return err
	}
	parent, err := s.ensureFolder(ctx, LockFolder, "")
	if err != nil {
		return fail(op, obj, err)
	}
	value, _ := json.Marshal(holder)
	// A take-or-break loop, not a retry of a failure: when the folder
	// exists, its holder is read, and a lock released or expired
	// meanwhile is taken again, three times at most; a transient error
	// of any call returns at once, for the runner's policy.
	for attempt := 0; ; attempt++ {
		f, err := object.NewFolder(s.vc, parent).CreateFolder(ctx, name)
		if err == nil {
			if err := s.setField(ctx, f.Reference(), FieldLock, string(value)); err != nil {
				t, derr := f.Destroy(context.WithoutCancel(ctx))
				s.task(context.WithoutCancel(ctx), t, derr)
				return fail(op, obj, err)
			}
			return nil
		}
		if !isFault(err, &types.DuplicateName{}) {
			return fail(op, obj, err)
		}
		ref, cur, err := s.lockHolder(ctx, parent, name)
		if err != nil {
			return fail(op, obj, err)
		}
		switch {
		case ref.Value == "" && attempt < 3:
			continue // released meanwhile
		case cur.Run == holder.Run && cur.Run != "":
			return fail(op, obj, s.setField(ctx, ref, FieldLock, string(value)))
		case cur.Run != "" && !cur.Expires.IsZero() && time.Now().After(cur.Expires) && attempt < 3:
			t, err := object.NewFolder(s.vc, ref).Destroy(ctx)
			if err := s.task(ctx, t, err); err != nil && !notFound(err) {
				return fail(op, obj, err)
			}
			continue
		}
		return &providers.LockedError{Lock: name, Where: "site " + s.name, Holder: cur}
	}
}

// lockHolder reads who holds the lock folder name under parent; the zero
// reference means it is gone.
func (s *site) lockHolder(ctx context.Context, parent types.ManagedObjectReference, name string) (types.ManagedObjectReference, providers.LockHolder, error) {
	var h providers.LockHolder
	found, err := object.NewSearchIndex(s.vc).FindChild(ctx, object.NewFolder(s.vc, parent), name)
	if err != nil || found == nil {
		return types.ManagedObjectReference{}, h, err
	}
	var f mo.Folder
	if err := property.DefaultCollector(s.vc).RetrieveOne(ctx, found.Reference(), []string{"customValue"}, &f); err != nil {
		return types.ManagedObjectReference{}, h, err
	}
	raw, err := s.field(ctx, f.CustomValue, FieldLock)
	if err != nil {
		return types.ManagedObjectReference{}, h, err
	}
	json.Unmarshal([]byte(raw), &h)
	return found.Reference(), h, nil
}

// Unlock releases the lock when runID holds it (or it has no holder
// yet): its folder is destroyed.
func (s *site) Unlock(ctx context.Context, name, runID string) (bool, error) {
	const op = "unlock"
	obj := s.name + ":" + joinPath(LockFolder, name)
	parent, err := s.lookup(ctx, LockFolder)
	if err != nil || parent.Value == "" {
		return false, fail(op, obj, err)
	}
	ref, cur, err := s.lockHolder(ctx, parent, name)
	if err != nil || ref.Value == "" {
		return false, fail(op, obj, err)
	}
	if cur.Run != runID && cur.Run != "" {
		return false, &providers.LockedError{Lock: name, Where: "site " + s.name, Holder: cur}
	}
	t, err := object.NewFolder(s.vc, ref).Destroy(ctx)
	if err := s.task(ctx, t, err); err != nil && !notFound(err) {
		return false, fail(op, obj, err)
	}
	return true, nil
}

// ReadLock reads who holds the lock name, without taking it.
func (s *site) ReadLock(ctx context.Context, name string) (providers.LockHolder, bool, error) {
	const op = "read_lock"
	obj := s.name + ":" + joinPath(LockFolder, name)
	parent, err := s.lookup(ctx, LockFolder)
	if err != nil || parent.Value == "" {
		return providers.LockHolder{}, false, fail(op, obj, err)
	}
	ref, cur, err := s.lockHolder(ctx, parent, name)
	if err != nil || ref.Value == "" {
		return providers.LockHolder{}, false, fail(op, obj, err)
	}
	return cur, true, nil
}
