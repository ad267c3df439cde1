package runner

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/steps"
)

// promote recovers a replica as the production VM, from the step's
// recovery point. A replica a previous attempt of the run promoted is
// recognised by the provider (the VM at the target carries the run's
// mark) and not promoted twice.
func (r *run) promote(ctx context.Context, site providers.Site, s *steps.Step, target providers.VM) (map[string]string, error) {
	req := providers.PromoteRequest{Replica: providers.VM{Site: s.Site, Path: s.Args.Source}, Target: target.Path, RunID: r.opts.RunID}
	detail := map[string]string{}
	inv, err := r.inventory(ctx, s.Site)
	if err != nil {
		return nil, err
	}
	if inv.replicas[s.Args.Source] != nil {
		point, ref, d, err := r.point(ctx, site, s)
		if err != nil {
			return nil, err
		}
		req.Point, req.Replica.Ref, detail = point, ref, d
	}
	done, err := site.Promote(ctx, req)
	if err != nil {
		return nil, err
	}
	r.remember(done.VM)
	if !done.Point.IsZero() {
		detail["point"] = done.Point.UTC().Format(time.RFC3339Nano)
		detail["point_age_seconds"] = fmt.Sprintf("%.3f", pointAge(r.began, done.Point))
	}
	if done.Already {
		detail["already"] = "promoted by an earlier attempt of this run"
	}
	detail["vm"] = done.VM.String()
	return detail, nil
}

// pointAge is the achieved RPO of a point: how old it was when the run
// began, the moment the recovery (or, in a drill, the rehearsed disaster)
// happened. drplan's own time to read and copy it loses no data; a point
// taken after the run began counts as no loss.
func pointAge(began, point time.Time) float64 {
	return max(0, began.Sub(point).Seconds())
}

// SyncPoll is how often, in plan time, a final sync reads the replicas'
// points.
const SyncPoll = 5 * time.Second

// sync is a migration's final sync: with every VM of the group shut
// down, it waits until each replica holds a recovery point taken after
// the sync began, which therefore holds everything the VMs wrote. The
// replication itself is the storage's or vSphere Replication's; a
// custom step ordered before the sync can trigger it where the method
// needs that. Where drplan ships the points itself (a recovery site that
// is a providers.Shipper, method "snapshot"), the sync ships them first.
func (r *run) sync(ctx context.Context, site providers.Site, s *steps.Step) (map[string]string, error) {
	since := r.clk.Now()
	inv, err := r.inventory(ctx, s.Site)
	if err != nil {
		return nil, err
	}
	var replicas []providers.VM
	for _, v := range inv.groups[s.Group] {
		replicas = append(replicas, providers.VM{Site: s.Site, Path: v.Path(), Ref: v.Ref})
	}
	if len(replicas) == 0 {
		return map[string]string{"replicas": "0"}, nil
	}
	shipped, err := r.ship(ctx, site, s, inv.groups[s.Group], replicas)
	if err != nil {
		return nil, err
	}
	for {
		points, err := site.Points(ctx, replicas)
		if err != nil {
			return nil, err
		}
		var behind []string
		oldest := time.Time{}
		for i, p := range points {
			l := p.Latest()
			if l.Before(since) {
				behind = append(behind, path.Base(replicas[i].Path))
			}
			if oldest.IsZero() || l.Before(oldest) {
				oldest = l
			}
		}
		if len(behind) == 0 {
			detail := map[string]string{"replicas": fmt.Sprint(len(replicas)), "point": oldest.UTC().Format(time.RFC3339Nano)}
			for k, v := range shipped {
				detail[k] = v
			}
			return detail, nil
		}
		if err := r.clk.Sleep(ctx, SyncPoll); err != nil {
			return nil, fmt.Errorf("the replicas of %s have no recovery point after the shutdown yet: %s", strings.Join(behind, ", "), err)
		}
	}
}

// ship takes the final sync's points itself where the recovery site
// ships them (providers.Shipper) and the group's method is drplan's own
// snapshot shipping: each protected VM, shut down by now, is copied into
// its replica. Elsewhere the replication takes the point, and ship does
// nothing.
func (r *run) ship(ctx context.Context, site providers.Site, s *steps.Step, vms []*inventory.VM, replicas []providers.VM) (map[string]string, error) {
	sh, ok := site.(providers.Shipper)
	if !ok {
		return nil, nil
	}
	g := r.prog.Group(s.Group)
	if g == nil || g.Method != "snapshot" {
		return nil, nil
	}
	members := map[string]bool{}
	for _, vm := range g.VMs {
		members[vm] = true
	}
	// The protected VMs' paths: the group's shutdown steps' targets, or
	// what the replicas recorded.
	paths := map[string]string{}
	for _, st := range r.prog.Steps {
		if st.Kind == steps.Shutdown && st.Group == s.Group {
			paths[st.VM] = r.expand(st.Args.Target)
		}
	}
	var bytes int64
	full := 0
	for i, v := range vms {
		if v.Replica == nil || !members[v.Replica.Of] {
			continue // not the plan's to ship
		}
		p := paths[v.Replica.Of]
		if p == "" {
			p = path.Join(v.Replica.Folder, v.Replica.Of)
		}
		from, err := r.site(ctx, v.Replica.Site)
		if err != nil {
			return nil, openFailed(v.Replica.Site, err)
		}
		got, err := sh.ShipPoint(ctx, from, r.vm(v.Replica.Site, p), replicas[i], s.Group)
		if err != nil {
			return nil, err
		}
		bytes += got.Bytes
		if got.Full {
			full++
		}
	}
	return map[string]string{"shipped_bytes": fmt.Sprint(bytes), "shipped_full": fmt.Sprint(full)}, nil
}

// reverse turns the VM a failover left behind into the replica of the VM
// that now runs at the other site.
func (r *run) reverse(ctx context.Context, site providers.Site, s *steps.Step, target providers.VM) (map[string]string, error) {
	vm, err := site.Demote(ctx, providers.DemoteRequest{VM: target, Of: s.VM, Group: s.Group, Site: s.Args.Peer, RunID: r.opts.RunID})
	if err != nil {
		return nil, err
	}
	return map[string]string{"replica": vm.String(), "of": s.Args.Peer + ":" + s.VM}, nil
}
