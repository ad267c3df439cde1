package runner

import (
	"context"
	"time"

	"github.com/drplan/drplan/internal/clock"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/steps"
)

// Estimate fills in the program's expected duration: it runs the program
// with the runner's own scheduler — dependencies, MaxParallel slots,
// earlier steps in program order first — on a virtual clock on which
// each step takes its Estimate (its modelled plan-time duration: a VM's
// boot time, a wait, an API call's expected cost) and nothing else
// happens. The makespan is the RTO estimate; each tier starts and is
// done when its barriers are. The plan the operator reads and the run
// that follows are thus scheduled by the same code.
func Estimate(prog *steps.Program) {
	EstimateWith(prog, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), nil)
}

// A Model says how long a step takes when it starts at a given instant
// of plan time, where its Estimate cannot: a migration's final sync
// waits for the replication schedule, a check for a service that starts
// some time after its VM is ready. readyAt says when, in the estimated
// run, a VM of the program (by name) finished its wait for readiness.
type Model func(s *steps.Step, start time.Time, readyAt func(vm string) (time.Time, bool)) time.Duration

// EstimateWith is Estimate with the run starting at epoch and each
// step's duration from model (nil: the step's Estimate).
func EstimateWith(prog *steps.Program, epoch time.Time, model Model) {
	if model == nil {
		model = func(s *steps.Step, _ time.Time, _ func(string) (time.Time, bool)) time.Duration {
			return time.Duration(s.Estimate)
		}
	}
	v := clock.NewVirtual(epoch)
	defer v.Close()
	r, err := newRun(prog, Options{Clock: v})
	if err != nil {
		return // a program the runner would refuse has no estimate
	}
	waits := map[string]int{} // VM name -> its wait_ready step
	for i, s := range prog.Steps {
		if s.Kind == steps.WaitReady && s.VM != "" {
			waits[s.VM] = i
		}
	}
	readyAt := func(vm string) (time.Time, bool) {
		i, ok := waits[vm]
		if !ok {
			return time.Time{}, false
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		end := r.results[i].End
		return end, !end.IsZero()
	}
	r.step = func(ctx context.Context, s *steps.Step, res *StepResult) error {
		res.Start = v.Now()
		v.Sleep(ctx, model(s, res.Start, readyAt))
		end := v.Now()
		r.mu.Lock() // readyAt may read it from another step
		res.End, res.Status = end, rundir.StatusOK
		r.mu.Unlock()
		return nil
	}
	work := v.NewWork()
	ctx := clock.WithWork(context.Background(), work)
	r.ctx = ctx
	r.schedule(ctx, work)
	work.Done()
	var total time.Duration
	for _, res := range r.results {
		total = max(total, res.End.Sub(epoch))
	}
	prog.Estimate.Total = steps.Duration(total)
	at := func(addr steps.Addr) steps.Duration {
		if i, ok := r.index[addr]; ok && !r.results[i].End.IsZero() {
			return steps.Duration(r.results[i].End.Sub(epoch))
		}
		return 0
	}
	for i := range prog.Estimate.Tiers {
		t := &prog.Estimate.Tiers[i]
		t.Start, t.Done = at(steps.TierStart(t.Tier)), at(steps.TierDone(t.Tier))
	}
}
