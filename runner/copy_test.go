package runner_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/drplan/drplan/internal/errs"
	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/runner"
	"github.com/drplan/drplan/steps"
)

// agingSite is a recovery site whose replicas' retention moves on while a
// drill copies them: after the points are chosen, the oldest point is
// dropped and a newer one taken, and a clone of a point the replica no
// longer holds is refused, as the vSphere provider refuses it.
type agingSite struct {
	providers.Site
	mu     sync.Mutex
	points inventory.RecoveryPoints
	reads  int
	clones []time.Time
}

func (s *agingSite) Name() string { return "west" }
func (s *agingSite) Calls() int64 { return 0 }

func (s *agingSite) Inventory(ctx context.Context) (*inventory.Site, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &inventory.Site{Name: "west", Reachable: true, VMs: []*inventory.VM{{Name: "app-01", Folder: "drplan-replicas", Ref: "vm-1",
		Replica: &inventory.Replica{Of: "app-01", Group: "app", Site: "east", Points: s.points}}}}, nil
}

func (s *agingSite) Points(ctx context.Context, vms []providers.VM) ([]inventory.RecoveryPoints, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	out := []inventory.RecoveryPoints{s.points}
	if s.reads == 1 {
		// Replication moves on right after the choice: the chosen
		// (oldest-common, here the latest) point is soon dropped.
		last := s.points.Latest()
		s.points.Times = []time.Time{last.Add(time.Minute), last.Add(2 * time.Minute)}
	}
	return out, nil
}

func (s *agingSite) Clone(ctx context.Context, req providers.CloneRequest) (providers.VM, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clones = append(s.clones, req.Point)
	if !req.Point.IsZero() && !s.points.Has(req.Point) {
		return providers.VM{}, &errs.Error{Op: "clone", Object: req.Name, Kind: errs.Permanent, Err: context.DeadlineExceeded}
	}
	return providers.VM{Site: "west", Path: req.Folder + "/" + req.Name, Ref: "vm-2"}, nil
}

// TestCopyAfterThePointAgedOut: a drill does not hold replication, so a
// group's point can leave a replica's retention before the copy: the copy
// then takes the replica as it is and the journal says so, instead of
// failing the drill.
func TestCopyAfterThePointAgedOut(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	site := &agingSite{points: inventory.RecoveryPoints{Times: []time.Time{t0, t0.Add(time.Minute)}}}
	prog := &steps.Program{Mode: "test", MaxParallel: 1, Sites: []steps.Site{{Name: "west"}},
		Groups: []steps.Group{{Name: "app", Consistency: "group", Point: "latest"}},
		Steps: []*steps.Step{{Addr: steps.MustParseAddr("tier.app/vm.app-01/copy"), Kind: steps.Copy, VM: "app-01", Group: "app", Site: "west",
			Timeout: steps.Duration(time.Minute), OnFailure: "halt",
			Args: steps.Args{Source: "drplan-replicas/app-01", Target: "drplan-drill/{run}/app-01", Folder: "drplan-drill/{run}", Point: "latest"}}}}
	open := func(ctx context.Context, name string, readOnly bool) (providers.Site, error) { return site, nil }
	var finished rundir.Event
	observe := func(e rundir.Event) {
		if e.Type == rundir.EventStepFinished {
			finished = e
		}
	}
	res, err := runner.Run(context.Background(), prog, runner.Options{RunID: "r", Open: open, Observer: observe, Backoff: time.Millisecond})
	if err != nil || !res.Passed {
		t.Fatalf("run: passed %v, %v", res != nil && res.Passed, err)
	}
	if len(site.clones) != 2 || !site.clones[0].Equal(t0.Add(time.Minute)) || !site.clones[1].IsZero() {
		t.Errorf("clones of points %v, want the chosen point, then the replica as it is", site.clones)
	}
	if finished.Detail["point_note"] == "" {
		t.Errorf("the copy's journal entry does not say it holds a newer state: %v", finished.Detail)
	}
}
