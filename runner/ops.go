package runner

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/drplan/drplan/internal/clock"
	"github.com/drplan/drplan/internal/errs"
	"github.com/drplan/drplan/internal/words"
	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/steps"
)

// errNotAvailable marks step kinds this build cannot run yet.
var errNotAvailable = errors.New("not available in this version of drplan")

// do carries out one attempt of a step.
func (r *run) do(ctx context.Context, s *steps.Step) (map[string]string, error) {
	a := s.Args
	switch s.Kind {
	case steps.Barrier:
		return nil, nil
	case steps.Settle:
		return nil, r.clk.Sleep(ctx, time.Duration(a.Delay))
	case steps.Custom:
		if a.Guest != nil {
			return r.guest(ctx, s)
		}
		if r.opts.Custom == nil {
			return nil, fmt.Errorf("custom step %s: %w", s.Addr, errNotAvailable)
		}
		return r.opts.Custom.RunStep(ctx, s, r.env)
	}
	r.mu.Lock()
	gone := r.unreachable[s.Site]
	r.mu.Unlock()
	if gone != nil && s.Optional {
		return map[string]string{"unreachable": s.Site}, fmt.Errorf("site %s is unreachable, so this step could not run; the run goes on without it: %w", s.Site, gone)
	}
	site, err := r.site(ctx, s.Site)
	if err != nil {
		if s.Optional {
			r.mu.Lock()
			if r.unreachable == nil {
				r.unreachable = map[string]error{}
			}
			r.unreachable[s.Site] = err
			r.mu.Unlock()
			// A failover's power-off at a protected site that is gone:
			// the run goes on without it, and says so.
			return map[string]string{"unreachable": s.Site}, fmt.Errorf("site %s is unreachable, so this step could not run; the run goes on without it: %w", s.Site, err)
		}
		return nil, openFailed(s.Site, err)
	}
	target := r.vm(s.Site, r.expand(a.Target))
	switch s.Kind {
	case steps.Copy:
		point, replicaRef, detail, err := r.point(ctx, site, s)
		if err != nil {
			return nil, err
		}
		if len(a.Addresses) > 0 {
			// Best effort: the drill goes on without the record.
			rep := providers.VM{Site: s.Site, Path: a.Source, Ref: replicaRef}
			if err := site.RecordAddresses(ctx, rep, a.Addresses); err != nil {
				detail["addresses_not_recorded"] = err.Error()
			} else {
				detail["addresses_recorded"] = strings.Join(a.Addresses, " ")
			}
		}
		req := providers.CloneRequest{
			Replica: providers.VM{Site: s.Site, Path: a.Source, Ref: replicaRef}, Point: point, Name: path.Base(target.Path),
			Folder: r.expand(a.Folder), Networks: a.Networks, RunID: r.opts.Placeholder,
		}
		vm, err := site.Clone(ctx, req)
		if err != nil && !point.IsZero() && r.agedOut(ctx, site, req.Replica, point) {
			// A drill does not hold replication: the group's point left
			// the replica's retention while the drill was copying. The copy
			// takes the replica as it is, newer than the point, and says so.
			req.Point = time.Time{}
			detail["point_note"] = "the chosen point left the replica's retention before this copy; it holds the replica's state at the copy, newer than this point"
			vm, err = site.Clone(ctx, req)
		}
		if err != nil {
			return nil, err
		}
		vm.Path = target.Path
		r.remember(vm)
		detail["vm"] = vm.String()
		return detail, nil
	case steps.Promote:
		return r.promote(ctx, site, s, target)
	case steps.Shutdown:
		return nil, site.Shutdown(ctx, target)
	case steps.Sync:
		return r.sync(ctx, site, s)
	case steps.Reverse:
		return r.reverse(ctx, site, s, target)
	case steps.Connect:
		return nil, site.SetNetworks(ctx, target, a.Networks)
	case steps.Customize:
		ip, err := ipSettings(a.IP, path.Base(target.Path))
		if err != nil {
			return nil, err
		}
		return map[string]string{"address": a.IP.Address}, site.Customize(ctx, target, ip)
	case steps.PowerOn:
		return nil, site.PowerOn(ctx, target)
	case steps.PowerOff:
		return nil, site.PowerOff(ctx, target)
	case steps.Suspend:
		did, err := site.Suspend(ctx, target, r.expand(a.Run))
		return map[string]string{"suspended": fmt.Sprint(did)}, err
	case steps.Resume:
		did, err := site.Resume(ctx, target, r.expand(a.Run))
		return map[string]string{"resumed": fmt.Sprint(did)}, err
	case steps.Destroy:
		return nil, site.Destroy(ctx, target)
	case steps.WaitReady:
		rd := r.batcher(site, providers.WaitFor(a.WaitFor), r.waitLeft(s)).wait(ctx, target)
		if rd.Err != nil {
			return nil, fmt.Errorf("not ready within its %s timeout: %w", s.Timeout, rd.Err)
		}
		r.env.SetAddress(s.VM, rd.IP)
		r.emit(rundir.VMReady{VM: s.VM, IP: rd.IP, Tier: s.Tier}.Event(s.Addr))
		return map[string]string{"ip": rd.IP}, nil
	case steps.VerifyGone:
		left, err := site.Marked(ctx, r.opts.Placeholder)
		if err != nil {
			return nil, err
		}
		if len(left) > 0 {
			var names []string
			for _, v := range left {
				names = append(names, v.Path)
			}
			return nil, fmt.Errorf("%d objects of run %s are still at site %s: %v", len(left), r.opts.Placeholder, s.Site, names)
		}
		return map[string]string{"left": "0"}, nil
	}
	return nil, fmt.Errorf("%s (%s): %w", s.Addr, s.Kind, errNotAvailable)
}

// guest runs a guest step's program in its VM, through the VM's site.
// An exit code other than 0 fails the step (worth a retry, as a failed
// command is).
func (r *run) guest(ctx context.Context, s *steps.Step) (map[string]string, error) {
	g := s.Args.Guest
	if len(g.Run) == 0 {
		return nil, errors.New("guest step has no program")
	}
	site, err := r.site(ctx, s.Site)
	if err != nil {
		return nil, openFailed(s.Site, err)
	}
	vm := r.vm(s.Site, r.expand(s.Args.Target))
	res, err := site.RunInGuest(ctx, vm, providers.GuestRequest{Program: g.Run[0], Args: g.Run[1:], Username: g.Username, Password: g.Password})
	detail := map[string]string{"vm": g.VM}
	if res.PID != 0 {
		detail["pid"] = fmt.Sprint(res.PID)
	}
	if err != nil {
		return detail, err
	}
	detail["exit_code"] = fmt.Sprint(res.ExitCode)
	if res.ExitCode != 0 {
		return detail, errs.Mark(fmt.Errorf("%s in VM %s exited with code %d", g.Run[0], g.VM, res.ExitCode), errs.Transient)
	}
	return detail, nil
}

// openFailed is the error of a step whose site could not be opened: of
// the kind the provider said (a refused login or certificate is not
// tried again), else Transient, as is a timeout no one classified. The
// provider's own error of the open, which names the site, is not
// wrapped again.
func openFailed(site string, err error) error {
	k := errs.KindOf(err)
	if k == errs.Other || k == errs.Timeout {
		k = errs.Transient
	}
	var e *errs.Error
	if errors.As(err, &e) && e.Op == "open" && errs.KindOf(e) == k {
		return err
	}
	return errs.E("open", "site "+site, k, err)
}

func ipSettings(ip *steps.IP, host string) (providers.IPSettings, error) {
	var out providers.IPSettings
	p, err := netip.ParsePrefix(ip.Address)
	if err != nil {
		return out, err
	}
	out.Address, out.Hostname = p, host
	if ip.Origin != "" {
		if out.Origin, err = netip.ParsePrefix(ip.Origin); err != nil {
			return out, err
		}
	}
	if ip.Gateway != "" {
		if out.Gateway, err = netip.ParseAddr(ip.Gateway); err != nil {
			return out, err
		}
	}
	for _, d := range ip.DNS {
		a, err := netip.ParseAddr(d)
		if err != nil {
			return out, err
		}
		out.DNS = append(out.DNS, a)
	}
	return out, nil
}

// point is the recovery point of a copy or promotion: the one the run
// chose for the step's group (see choosePoints), with the replica's
// managed object ID and the journal's detail (the point and its age, for
// the report's RPO).
func (r *run) point(ctx context.Context, site providers.Site, s *steps.Step) (time.Time, string, map[string]string, error) {
	inv, err := r.inventory(ctx, s.Site)
	if err != nil {
		return time.Time{}, "", nil, err
	}
	mine := inv.replicas[s.Args.Source]
	if mine == nil {
		return time.Time{}, "", nil, errs.E(string(s.Kind), s.Args.Source, errs.Permanent, fmt.Errorf("no replica at site %s", s.Site))
	}
	gp := r.groupPoints(s.Site, s.Group)
	gp.once.Do(func() { gp.at, gp.err = r.choosePoints(ctx, site, s, inv.groups[s.Group]) })
	if gp.err != nil {
		return time.Time{}, "", nil, gp.err
	}
	at, ok := gp.at[s.Args.Source]
	if !ok {
		return time.Time{}, "", nil, errs.E(string(s.Kind), s.Args.Source, errs.Permanent, fmt.Errorf("no recovery point was chosen for replica %s of group %s", s.Args.Source, s.Group))
	}
	detail := map[string]string{
		"point":             at.UTC().Format(time.RFC3339Nano),
		"point_age_seconds": fmt.Sprintf("%.3f", pointAge(r.began, at)),
	}
	if p := mine.Replica.Points; s.Kind == steps.Copy && !p.Continuous && len(p.Times) <= 1 {
		// Replication that keeps only the replica's current state
		// (array_sync, host) has moved past the chosen point by the time a
		// drill copies it, and a drill does not stop replication: the
		// copy takes the current state, at least as new as the point.
		detail["point_note"] = "the replica's current state (its replication keeps no older point), at least as new as this point"
		return time.Time{}, mine.Ref, detail, nil
	}
	return at, mine.Ref, detail, nil
}

// agedOut reports whether a replica no longer holds point but holds newer
// ones: replication moved on and its retention dropped the point.
func (r *run) agedOut(ctx context.Context, site providers.Site, replica providers.VM, point time.Time) bool {
	pts, err := site.Points(ctx, []providers.VM{replica})
	return err == nil && len(pts) == 1 && !pts[0].Has(point) && pts[0].Latest().After(point)
}

// groupPoints returns the record of a group's chosen points at a site.
func (r *run) groupPoints(site, group string) *groupPoints {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.points == nil {
		r.points = map[string]*groupPoints{}
	}
	k := site + "/" + group
	if r.points[k] == nil {
		r.points[k] = &groupPoints{}
	}
	return r.points[k]
}

// groupPoints is the recovery point of each replica of a group, chosen
// once per run, before its first copy or promotion.
type groupPoints struct {
	once sync.Once
	at   map[string]time.Time // replica path -> point
	err  error
}

// choosePoints resolves the step's request against the current points
// of every replica of the group, as the compiler did
// (inventory.ChoosePoints): one point for a consistency group, chosen
// before any of its replicas is touched and journaled. Before a
// promotion the replicas are pinned first (Site.Pin: replication into
// them stops), then their points are read and chosen from, and the
// choice recorded on them; a resumed run finds the points it pinned.
func (r *run) choosePoints(ctx context.Context, site providers.Site, s *steps.Step, replicas []*inventory.VM) (map[string]time.Time, error) {
	ctx, cancel := context.WithTimeout(r.detached(ctx), 10*time.Minute)
	defer cancel()
	vms := make([]providers.VM, len(replicas))
	for i, v := range replicas {
		vms[i] = providers.VM{Site: s.Site, Path: v.Path(), Ref: v.Ref}
	}
	g := r.prog.Group(s.Group)
	consistent := g != nil && g.Consistency == "group"
	promote := s.Kind == steps.Promote
	var pinned []time.Time
	if promote {
		var err error
		if pinned, err = site.Pin(ctx, vms, nil, r.opts.RunID); err != nil {
			return nil, err
		}
	}
	chosen, err := r.chooseFresh(ctx, site, s, vms, pinned, consistent)
	if err != nil {
		return nil, err
	}
	if promote {
		var err error
		if chosen, err = site.Pin(ctx, vms, chosen, r.opts.RunID); err != nil {
			return nil, err
		}
	}
	out := make(map[string]time.Time, len(vms))
	for i, v := range vms {
		out[v.Path] = chosen[i]
	}
	lo, hi := inventory.Span(chosen)
	r.emit(rundir.PointChosen{Group: s.Group, Site: s.Site, Request: s.Args.Point, Replicas: len(vms), Point: lo, Newest: hi}.Event())
	return out, nil
}

// chooseFresh reads the replicas' points and chooses from them. Points
// an earlier attempt of the run pinned win (in a consistency group, one
// pinned point is every replica's); a replica pinned so may be half
// promoted and need no points of its own. Before a promotion a
// replication tick that began before the pin may still land, so the
// choice is checked against the points read after it.
func (r *run) chooseFresh(ctx context.Context, site providers.Site, s *steps.Step, vms []providers.VM, pinned []time.Time, consistent bool) ([]time.Time, error) {
	chosen := make([]time.Time, len(vms))
	var free []int // replicas without a pinned point
	for i := range vms {
		if i < len(pinned) && !pinned[i].IsZero() {
			chosen[i] = pinned[i]
			if consistent {
				for j := range chosen {
					chosen[j] = pinned[i]
				}
				return chosen, nil
			}
			continue
		}
		free = append(free, i)
	}
	if len(free) == 0 {
		return chosen, nil
	}
	sub := make([]providers.VM, len(free))
	for k, i := range free {
		sub[k] = vms[i]
	}
	var picked []time.Time
	for attempt := 0; ; attempt++ {
		pts, err := site.Points(ctx, sub)
		if err != nil {
			return nil, err
		}
		if picked != nil && held(pts, picked) {
			break
		}
		var empty []string
		for k, p := range pts {
			if p.Latest().IsZero() {
				empty = append(empty, sub[k].Path)
			}
		}
		if len(empty) > 0 {
			return nil, errs.E("choose point", "group "+s.Group, errs.Permanent, fmt.Errorf("%s %s no recovery point yet", strings.Join(empty, ", "), words.Plural(len(empty), "holds", "hold")))
		}
		if attempt == 3 {
			return nil, errs.E("choose point", "group "+s.Group, errs.Transient, errors.New("the replicas' points kept changing after replication was stopped"))
		}
		if picked, err = inventory.ChoosePoints(s.Args.Point, consistent, pts); err != nil {
			return nil, errs.E("choose point", "group "+s.Group, errs.Permanent, err)
		}
		if s.Kind != steps.Promote {
			break
		}
	}
	for k, i := range free {
		chosen[i] = picked[k]
	}
	return chosen, nil
}

// held reports whether every replica still holds its chosen point.
func held(pts []inventory.RecoveryPoints, chosen []time.Time) bool {
	for i, p := range pts {
		if !p.Has(chosen[i]) {
			return false
		}
	}
	return true
}

// siteInventory is a site's inventory with its replicas (not a run's
// copies) looked up by path and by group.
type siteInventory struct {
	replicas map[string]*inventory.VM
	groups   map[string][]*inventory.VM
}

func indexReplicas(s *inventory.Site) *siteInventory {
	si := &siteInventory{replicas: map[string]*inventory.VM{}, groups: map[string][]*inventory.VM{}}
	for _, v := range s.VMs {
		if v.Replica != nil && v.Run == "" {
			si.replicas[v.Path()] = v
			si.groups[v.Replica.Group] = append(si.groups[v.Replica.Group], v)
		}
	}
	return si
}

// inventory reads a site's inventory once per run.
func (r *run) inventory(ctx context.Context, site string) (*siteInventory, error) {
	r.mu.Lock()
	if r.invs == nil {
		r.invs = map[string]*invOnce{}
	}
	o := r.invs[site]
	if o == nil {
		o = &invOnce{}
		r.invs[site] = o
	}
	r.mu.Unlock()
	o.once.Do(func() {
		// Read with the run's context, not the first step's: its timeout
		// is for its own work, and every copy shares this read.
		rctx, cancel := context.WithTimeout(r.detached(ctx), 10*time.Minute)
		defer cancel()
		s, err := r.site(rctx, site)
		if err != nil {
			o.err = err
			return
		}
		inv, err := s.Inventory(rctx)
		if err != nil {
			o.err = err
			return
		}
		o.inv = indexReplicas(inv)
	})
	return o.inv, o.err
}

// detached is the run's context, which a step's timeout does not end,
// carrying the busy Work of the step's goroutine (ctx's), which does the
// work.
func (r *run) detached(ctx context.Context) context.Context {
	return clock.WithWork(r.ctx, clock.WorkOf(ctx))
}

type invOnce struct {
	once sync.Once
	inv  *siteInventory
	err  error
}

// batcher gathers the wait_ready steps of one site that start at about
// the same time into one WaitReady call: one property-collector filter
// per batch, not one per VM. On a virtual clock "about the same time" is
// the same instant: a batch closes when everything due then is done.
type batcher struct {
	site    providers.Site
	waitFor providers.WaitFor
	timeout time.Duration
	clk     clock.Clock

	mu      sync.Mutex
	pending []*waiter
	timer   clock.Timer
}

// waiter is one wait_ready step in a batch. Its Work rests while it
// waits; whoever delivers its readiness resumes it first.
type waiter struct {
	vm     providers.VM
	done   chan providers.Readiness
	work   *clock.Work
	paused clock.Paused
}

// Batches close after batchWindow (at once on a virtual clock) or at
// batchMax VMs.
const (
	batchWindow = 20 * time.Millisecond
	batchMax    = 64
)

func (r *run) batcher(site providers.Site, waitFor providers.WaitFor, timeout time.Duration) *batcher {
	key := fmt.Sprintf("%s/%s/%s", site.Name(), waitFor, timeout)
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.batchers[key]
	if b == nil {
		b = &batcher{site: site, waitFor: waitFor, timeout: timeout, clk: r.clk}
		r.batchers[key] = b
	}
	return b
}

func (b *batcher) wait(ctx context.Context, vm providers.VM) providers.Readiness {
	w := &waiter{vm: vm, done: make(chan providers.Readiness, 1), work: clock.WorkOf(ctx)}
	b.mu.Lock()
	w.paused = w.work.PauseUnless(ctx)
	b.pending = append(b.pending, w)
	switch {
	case len(b.pending) >= batchMax:
		b.flushLocked(ctx)
	case b.timer == nil:
		window := batchWindow
		if b.clk.Virtual() {
			window = 0
		}
		b.timer = b.clk.AfterFunc(window, func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.flushLocked(ctx)
		})
	}
	b.mu.Unlock()
	defer w.work.Resume()
	select {
	case rd := <-w.done:
		return rd
	case <-ctx.Done():
		return providers.Readiness{VM: vm, Err: ctx.Err()}
	}
}

func (w *waiter) deliver(rd providers.Readiness) {
	w.paused.Resume()
	w.done <- rd
}

func (b *batcher) flushLocked(ctx context.Context) {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	batch := b.pending
	b.pending = nil
	if len(batch) == 0 {
		return
	}
	b.clk.Go(ctx, func(ctx context.Context) {
		vms := make([]providers.VM, len(batch))
		for i, w := range batch {
			vms[i] = w.vm
		}
		// Each VM's result goes to its step as soon as the provider knows
		// it: a VM is ready at its own boot time, whatever its batch-mates
		// do.
		var mu sync.Mutex
		sent := make([]bool, len(batch))
		res := b.site.WaitReady(ctx, vms, b.waitFor, b.timeout, func(i int, rd providers.Readiness) {
			mu.Lock()
			defer mu.Unlock()
			if i >= 0 && i < len(batch) && !sent[i] {
				sent[i] = true
				batch[i].deliver(rd)
			}
		})
		mu.Lock()
		defer mu.Unlock()
		for i, w := range batch {
			switch {
			case sent[i]:
			case i < len(res):
				w.deliver(res[i])
			default:
				w.deliver(providers.Readiness{VM: w.vm, Err: errors.New("no answer for this VM")})
			}
		}
	})
}

// waitLeft is how long a wait_ready step may still wait: its whole
// timeout on its first attempt, and what is left of it on a retry after
// an API error during the wait (cut to whole plan seconds, so that the
// steps of a batch that failed together mostly wait together again).
func (r *run) waitLeft(s *steps.Step) time.Duration {
	timeout := time.Duration(s.Timeout)
	res := r.results[r.index[s.Addr]]
	if res.Attempts <= 1 || res.Start.IsZero() {
		return timeout
	}
	left := timeout - r.clk.Since(res.Start)
	return max(left.Truncate(time.Second), 0)
}
