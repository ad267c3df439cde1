package vsphere

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

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
