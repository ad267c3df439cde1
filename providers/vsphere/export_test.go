package vsphere

import (
	"context"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/providers"
)

// WaitTask waits for a task through the site's shared task view.
func WaitTask(ctx context.Context, s providers.Site, ref types.ManagedObjectReference) (types.AnyType, error) {
	return s.(*site).tasks.wait(ctx, ref)
}

// TaskViews returns how many task views the site has made.
func TaskViews(s providers.Site) uint64 {
	m := s.(*site).tasks
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.builds
}

// TaskView returns what the site's current task view holds.
func TaskView(ctx context.Context, s providers.Site) ([]types.ManagedObjectReference, error) {
	st := s.(*site)
	m := st.tasks
	m.mu.Lock()
	v := m.cur
	m.mu.Unlock()
	if v == nil {
		return nil, nil
	}
	var lv mo.ListView
	err := property.DefaultCollector(st.vc).RetrieveOne(ctx, v.lv.Reference(), []string{"view"}, &lv)
	return lv.View, err
}

// SetTaskMaxWait makes the task loop's waits last at most d, until the
// returned function puts it back.
func SetTaskMaxWait(d time.Duration) func() {
	old := taskMaxWait
	taskMaxWait = d
	return func() { taskMaxWait = old }
}

// Classify wraps err as the site's operations do.
func Classify(op, object string, err error) error { return fail(op, object, err) }

// CrashedLock makes the lock folder name as a run that crashed while
// taking it leaves it: created, with raw ("" for none) as its holder.
func CrashedLock(ctx context.Context, s providers.Site, name, raw string) error {
	st := s.(*site)
	parent, err := st.ensureFolder(ctx, LockFolder, "")
	if err != nil {
		return err
	}
	f, err := object.NewFolder(st.vc, parent).CreateFolder(ctx, name)
	if err != nil || raw == "" {
		return err
	}
	return st.setField(ctx, f.Reference(), FieldLock, raw)
}
