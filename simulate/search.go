package simulate

import (
	"slices"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// lockedSearch is the site's SearchIndex for FindChild and
// FindByInventoryPath, reading a folder's children under the folder's
// lock.
//
// vcsim v0.56.0's SearchIndex.FindChild (simulator/search_index.go) reads
// Folder.ChildEntity without the lock under which folderRemoveReference
// (simulator/folder.go) shifts that slice, so a path lookup made while
// another VM of the same folder is moved out or destroyed can miss a VM
// that is there: a reprotect reversing VMs in parallel found "no VM" for
// one of them (once, in a CI run of TestCrashResume). TestFindChildRace
// shows bare vcsim missing and lockedSearch not; TestFindChildDuringMoves
// checks that the site serves lookups through it.
type lockedSearch struct{ *simulator.SearchIndex }

// FindChild is vcsim's, with a folder's children read under its lock.
func (s lockedSearch) FindChild(ctx *simulator.Context, req *types.FindChild) soap.HasFault {
	f, ok := ctx.Map.Get(req.Entity).(*simulator.Folder)
	if !ok {
		return s.SearchIndex.FindChild(ctx, req)
	}
	var children []types.ManagedObjectReference
	ctx.WithLock(f, func() { children = slices.Clone(f.ChildEntity) })
	body := &methods.FindChildBody{Res: new(types.FindChildResponse)}
	if match := ctx.Map.FindByName(req.Name, children); match != nil {
		ref := match.Reference()
		body.Res.Returnval = &ref
	}
	return body
}

// FindByInventoryPath is vcsim's, walking the path with FindChild above.
func (s lockedSearch) FindByInventoryPath(ctx *simulator.Context, req *types.FindByInventoryPath) soap.HasFault {
	body := &methods.FindByInventoryPathBody{Res: new(types.FindByInventoryPathResponse)}
	si, ok := ctx.Map.Get(vim25.ServiceInstance).(*simulator.ServiceInstance)
	names := strings.FieldsFunc(req.InventoryPath, func(c rune) bool { return c == '/' })
	if !ok || len(names) == 0 && req.InventoryPath != "/" {
		return s.SearchIndex.FindByInventoryPath(ctx, req)
	}
	o := si.Content.RootFolder
	for _, name := range names {
		res := s.FindChild(ctx, &types.FindChild{Entity: o, Name: name})
		if f := res.Fault(); f != nil {
			body.Fault_ = f
			return body
		}
		found := res.(*methods.FindChildBody).Res.Returnval
		if found == nil {
			return body
		}
		o = *found
	}
	body.Res.Returnval = &o
	return body
}
