//go:build !race

// The bare-vcsim half of this test is the data race it demonstrates, so
// it is left out of -race builds.

package simulate

import (
	"fmt"
	"testing"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// TestFindChildRace looks a folder's last child up by name while
// another goroutine moves the folder's other children out and back, as
// vcsim's MoveIntoFolder does (folderRemoveReference under the folder's
// lock, then an append). Bare vcsim's FindChild reads the children
// without that lock and misses the child now and then; the site's
// lockedSearch never does. When the bare half stops missing, upstream
// has been fixed and lockedSearch can go.
func TestFindChildRace(t *testing.T) {
	ctx := simulator.NewContext()
	parent := &simulator.Folder{Folder: mo.Folder{ManagedEntity: mo.ManagedEntity{Name: "vm"}}}
	ctx.Map.Put(parent)
	var children []types.ManagedObjectReference
	for i := range 200 {
		c := &simulator.Folder{Folder: mo.Folder{ManagedEntity: mo.ManagedEntity{Name: fmt.Sprintf("vm-%03d", i)}}}
		ctx.Map.Put(c)
		children = append(children, c.Self)
	}
	parent.ChildEntity = children
	target := "vm-199"
	// The mover has a context of its own: vcsim's locks are reentrant
	// for the context that holds them.
	mover := &simulator.Context{Context: ctx.Context, Session: ctx.Session, Map: ctx.Map}
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			moved := children[i%(len(children)-1)]
			mover.WithLock(parent, func() {
				simulator.RemoveReference(&parent.ChildEntity, moved)
				parent.ChildEntity = append(parent.ChildEntity, moved)
			})
		}
	}()
	defer func() { close(stop); <-stopped }()
	lookup := func(find func(*simulator.Context, *types.FindChild) soap.HasFault) bool {
		res := find(ctx, &types.FindChild{Entity: parent.Self, Name: target})
		return res.(*methods.FindChildBody).Res.Returnval != nil
	}

	bare := &simulator.SearchIndex{}
	const most = 5_000_000
	tries := 0
	for tries < most && lookup(bare.FindChild) {
		tries++
	}
	if tries == most {
		t.Fatalf("bare vcsim found %s in all %d lookups during moves: if upstream now reads children under the folder's lock, lockedSearch can go", target, most)
	}
	t.Logf("bare vcsim missed %s after %d lookups", target, tries+1)

	locked := lockedSearch{bare}
	const n = 50_000
	misses := 0
	for range n {
		if !lookup(locked.FindChild) {
			misses++
		}
	}
	if misses > 0 {
		t.Errorf("the site's lockedSearch missed %s in %d of %d lookups during moves", target, misses, n)
	}
}
