package simulate

import (
	"context"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// taskWatch tells the site's own waiters when a simulator task ends. It
// is a registry handler: vcsim reports a task's end as an update of the
// Task object (info.state), with the task's lock held, so a waiter is
// woken the moment the task is over instead of finding out by polling
// (vcsim's own Task.Wait sleeps 10 ms between looks; a world of
// thousands of VMs waits for thousands of tasks one after another).
type taskWatch struct {
	self    types.ManagedObjectReference
	mu      sync.Mutex
	waiters map[types.ManagedObjectReference]chan struct{}
	// vmCreated is signalled whenever a folder's createVm task ends (a
	// clone's own creation of its VM, among others).
	vmCreated chan struct{}
}

func newTaskWatch(site string) *taskWatch {
	return &taskWatch{self: types.ManagedObjectReference{Type: "drplanTasks", Value: site},
		waiters: map[types.ManagedObjectReference]chan struct{}{}, vmCreated: make(chan struct{}, 1)}
}

func (tw *taskWatch) Reference() types.ManagedObjectReference { return tw.self }

func (tw *taskWatch) PutObject(*simulator.Context, mo.Reference) {}

func (tw *taskWatch) UpdateObject(_ *simulator.Context, obj mo.Reference, _ []types.PropertyChange) {
	// The registry hands handlers the embedded mo.Task; the updater
	// holds the task's lock, so its Info may be read.
	var info *types.TaskInfo
	switch t := obj.(type) {
	case *mo.Task:
		info = &t.Info
	case *simulator.Task:
		info = &t.Info
	default:
		return
	}
	if taskOver(info.State) {
		if info.DescriptionId == "Folder.createVm" {
			select {
			case tw.vmCreated <- struct{}{}:
			default:
			}
		}
		tw.fire(obj.Reference())
	}
}

func (tw *taskWatch) RemoveObject(_ *simulator.Context, ref types.ManagedObjectReference) {
	if ref.Type == "Task" {
		tw.fire(ref)
	}
}

func (tw *taskWatch) fire(ref types.ManagedObjectReference) {
	tw.mu.Lock()
	ch := tw.waiters[ref]
	delete(tw.waiters, ref)
	tw.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

// wait waits until t is over, ctx ends or timeout has passed (wall
// time), and returns the task's Info as it was last read.
func (tw *taskWatch) wait(ctx context.Context, m *simulator.Registry, t *simulator.Task, timeout time.Duration) types.TaskInfo {
	return tw.waitOr(ctx, m, t, nil, timeout)
}

// waitOr is wait that also returns when or is signalled.
func (tw *taskWatch) waitOr(ctx context.Context, m *simulator.Registry, t *simulator.Task, or <-chan struct{}, timeout time.Duration) types.TaskInfo {
	tw.mu.Lock()
	ch := tw.waiters[t.Self]
	if ch == nil {
		ch = make(chan struct{})
		tw.waiters[t.Self] = ch
	}
	tw.mu.Unlock()
	read := func() types.TaskInfo {
		var info types.TaskInfo
		m.WithLock(&simulator.Context{}, t, func() { info = t.Info })
		return info
	}
	// Registered first, read second: an end in between still fires ch.
	if info := read(); taskOver(info.State) {
		return info
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-ch:
	case <-or:
	case <-ctx.Done():
	case <-timer.C:
	}
	return read()
}

func taskOver(s types.TaskInfoState) bool {
	return s == types.TaskInfoStateSuccess || s == types.TaskInfoStateError
}
