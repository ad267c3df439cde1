package simulate

import (
	"context"
	"fmt"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"
)

// TestFindChildDuringMoves: through the site's lockedSearch, a path
// lookup of a VM finds it every time while other VMs of its folder are
// moved out and back. (TestFindChildRace shows the miss it guards
// against in bare vcsim, where the window is wider.)
func TestFindChildDuringMoves(t *testing.T) {
	const lookups = 3000
	t.Run("site", func(t *testing.T) {
		var names []string
		for i := 1; i <= 12; i++ {
			names = append(names, fmt.Sprintf(`"web-%02d"`, i))
		}
		w := newWorld(t, loadSource(t, strings.Replace(minimalPlan, `["web-01", "web-02"]`, "["+strings.Join(names, ", ")+"]", 1)))
		c := connect(t, w.Site("east"))
		if misses := findRace(t, c.c.Client, c.finder, "DC-East", lookups); misses > 0 {
			t.Errorf("%d of %d lookups missed a VM that was there while others of its folder moved", misses, lookups)
		}
	})
}

// findRace looks the last VM of the datacenter's first VM folder up by
// its inventory path n times while the folder's other VMs are moved to
// another folder and back, and returns how many lookups found nothing.
func findRace(t *testing.T, vc *vim25.Client, finder *find.Finder, dc string, n int) int {
	t.Helper()
	ctx := context.Background()
	d, err := finder.Datacenter(ctx, dc)
	if err != nil {
		t.Fatal(err)
	}
	finder.SetDatacenter(d)
	vms, err := finder.VirtualMachineList(ctx, "*")
	if err != nil || len(vms) < 3 {
		t.Fatalf("%d VMs, %v", len(vms), err)
	}
	folderPath := path.Dir(vms[0].InventoryPath)
	var same []*object.VirtualMachine
	for _, vm := range vms {
		if path.Dir(vm.InventoryPath) == folderPath {
			same = append(same, vm)
		}
	}
	if len(same) < 3 {
		t.Fatalf("%d VMs in %s", len(same), folderPath)
	}
	home, err := finder.Folder(ctx, folderPath)
	if err != nil {
		t.Fatal(err)
	}
	folders, err := d.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	away, err := folders.VmFolder.CreateFolder(ctx, "drplan-find-race")
	if err != nil {
		t.Fatal(err)
	}
	target, movers := same[len(same)-1], same[:len(same)-1]
	var stop atomic.Bool
	var wg sync.WaitGroup
	const movingAtOnce = 1
	for g := range movingAtOnce {
		wg.Go(func() {
			for !stop.Load() {
				for i := g; i < len(movers); i += movingAtOnce {
					for _, f := range []*object.Folder{away, home} {
						if task, err := f.MoveInto(ctx, []types.ManagedObjectReference{movers[i].Reference()}); err == nil {
							task.Wait(ctx)
						}
					}
				}
			}
		})
	}
	si := object.NewSearchIndex(vc)
	misses := 0
	for range n {
		found, err := si.FindByInventoryPath(ctx, target.InventoryPath)
		if err != nil {
			t.Fatal(err)
		}
		if found == nil {
			misses++
		}
	}
	stop.Store(true)
	wg.Wait()
	return misses
}
