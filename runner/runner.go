package runner

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/drplan/drplan/internal/clock"
	"github.com/drplan/drplan/internal/errs"
	"github.com/drplan/drplan/local"
	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/steps"
)

// Opener opens a site of the program for the runner.
type Opener func(ctx context.Context, site string, readOnly bool) (providers.Site, error)

// Options configure a run.
type Options struct {
	RunID string
	// Placeholder is what "{run}" in step arguments stands for: the run id,
	// or for a cleanup the id of the drill it cleans up. "" means RunID.
	Placeholder string
	Journal     *rundir.Journal
	Open        Opener
	// Custom runs custom steps; nil runs none (they fail).
	Custom CustomRunner
	// Done lists steps a previous attempt of the run finished (resume):
	// they are not run again. See Finished.
	Done map[steps.Addr]bool
	// Observer, if set, is told of every event as it is journaled: one
	// call at a time, in the journal's order, so it needs no lock of its
	// own (and should return quickly: steps wait to emit meanwhile).
	Observer func(rundir.Event)
	// Began is when the run first began: for a resumed run, the start of
	// its first attempt. Recovery point ages (the achieved RPO) are
	// measured from it. The zero time means now.
	Began time.Time
	// Backoff is the pause before a step's first retry, doubling for each
	// further one up to BackoffCap, less a jitter of up to half
	// (errs.Policy); 0 means one second of plan time.
	Backoff time.Duration
	// BackoffCap bounds every pause before a retry; 0 means 30 seconds.
	BackoffCap time.Duration
	// Seed draws the jitter of the pauses before retries: a simulated run
	// passes its world's seed, so that the same seed replays the same
	// run. 0 draws it from RunID.
	Seed int64
	// Clock is the run's time: the wall clock (nil) for live sites, the
	// simulated world's clock.Virtual for a simulated run. Event times,
	// step durations, timeouts, retry pauses and waits are on it.
	Clock clock.Clock
}

// CustomRunner executes the custom steps that act from this machine
// (package local's Executor). The runner gives it the run's environment,
// made with local.NewEnv, in which it records the VM addresses it learns.
type CustomRunner interface {
	RunStep(ctx context.Context, s *steps.Step, env *local.Env) (map[string]string, error)
}

// Result is what a run did.
type Result struct {
	RunID    string
	Passed   bool
	Start    time.Time
	End      time.Time
	Steps    map[steps.Addr]*StepResult
	Halted   string // address of the step that halted the run
	Canceled bool   // interrupted by the caller (SIGINT, SIGTERM)
	APICalls int64
}

// StepResult is what happened to one step.
type StepResult struct {
	Addr     steps.Addr
	Status   string // a rundir.Status: ok, failed, skipped, optional_failed, not_run
	Start    time.Time
	End      time.Time
	Attempts int
	Err      error
	Detail   map[string]string
}

// run is the state of one execution.
type run struct {
	prog *steps.Program
	opts Options

	index      map[steps.Addr]int
	dependents [][]int
	waiting    []int

	// emitting orders events: each is journaled and observed before the
	// next.
	emitting sync.Mutex

	mu       sync.Mutex
	results  []*StepResult
	vms      map[string]providers.VM // site/path -> handle with ref
	env      *local.Env
	halted   string     // why the run halted: a step's address, or a journal error
	haltedAt steps.Addr // the step that halted it
	sites    map[string]providers.Site
	batchers map[string]*batcher
	invs     map[string]*invOnce
	baseline map[string]int64
	ctx      context.Context // the run's
	began    time.Time
	opening  map[string]*sync.Mutex // per site, while it is being opened
	// unreachable holds the sites an optional step could not open: the
	// other optional steps there (a failover's power-offs at a site that
	// is gone) fail at once instead of each waiting for the network.
	unreachable map[string]error
	// points are the recovery points chosen per site and group.
	points map[string]*groupPoints
	clk    clock.Clock
	// step carries out one step: execute, or for an estimate a wait of
	// the step's expected duration.
	step func(ctx context.Context, s *steps.Step, res *StepResult) error
}

// Run executes the program until every step has finished or been skipped,
// a halting step failed, or ctx is canceled. In-flight steps finish (or
// are canceled with ctx) before Run returns.
func Run(ctx context.Context, prog *steps.Program, opts Options) (*Result, error) {
	r, err := newRun(prog, opts)
	if err != nil {
		return nil, err
	}
	opts = r.opts
	// On a virtual clock the run's own goroutine is busy work until it
	// waits for its steps (schedule); the caller's Work, if it holds one,
	// rests meanwhile and is handed back at the end.
	work, outer := clock.NewWork(r.clk), clock.WorkOf(ctx)
	outer.Pause()
	defer func() {
		outer.Resume()
		work.Done()
	}()
	ctx = clock.WithWork(ctx, work)
	r.ctx = ctx
	wallStart := time.Now()
	res := &Result{RunID: opts.RunID, Start: r.clk.Now()}
	r.emit(rundir.RunStart{Mode: prog.Mode, Plan: prog.Plan, RecoveryPlan: prog.RecoveryPlan, Hash: prog.Hash, Steps: len(prog.Steps),
		Resumed: len(opts.Done) > 0, Done: len(opts.Done)}.Event())
	r.schedule(ctx, work)
	res.End = r.clk.Now()
	res.Steps = map[steps.Addr]*StepResult{}
	passed := true
	for _, sr := range r.results {
		res.Steps[sr.Addr] = sr
		if sr.Status == rundir.StatusFailed || sr.Status == rundir.StatusNotRun || sr.Status == rundir.StatusSkipped {
			passed = false
		}
	}
	for name, s := range r.sites {
		res.APICalls += s.Calls() - r.baseline[name]
	}
	res.Halted, res.Canceled, res.Passed = r.halted, ctx.Err() != nil, passed && ctx.Err() == nil
	result := rundir.ResultPassed
	switch {
	case res.Canceled:
		result = rundir.ResultInterrupted
	case !res.Passed:
		result = rundir.ResultFailed
	}
	r.emit(rundir.RunEnd{Result: result, HaltedBy: r.halted, APICalls: res.APICalls, WallSeconds: time.Since(wallStart).Seconds()}.Event())
	return res, nil
}

func (r *run) emit(e rundir.Event) {
	if e.Time.IsZero() {
		e.Time = r.clk.Now().UTC()
	}
	// The observer shows events to people: it sees them as journaled,
	// secrets scrubbed.
	e = r.opts.Journal.Scrub(e)
	r.emitting.Lock()
	defer r.emitting.Unlock()
	if r.opts.Journal != nil {
		if err := r.opts.Journal.Write(e); err != nil {
			// A run that cannot journal must not go on blind.
			r.mu.Lock()
			if r.halted == "" {
				r.halted = "journal: " + err.Error()
			}
			r.mu.Unlock()
		}
	}
	if r.opts.Observer != nil {
		r.opts.Observer(e)
	}
}

// newRun prepares the state of one execution: the step graph and a
// result per step.
func newRun(prog *steps.Program, opts Options) (*run, error) {
	if opts.Placeholder == "" {
		opts.Placeholder = opts.RunID
	}
	if opts.Backoff == 0 {
		opts.Backoff = time.Second
	}
	if opts.BackoffCap == 0 {
		opts.BackoffCap = 30 * time.Second
	}
	if opts.Seed == 0 {
		h := fnv.New64a()
		h.Write([]byte(opts.RunID))
		opts.Seed = int64(h.Sum64())
	}
	r := &run{prog: prog, opts: opts, index: map[steps.Addr]int{}, vms: map[string]providers.VM{}, sites: map[string]providers.Site{},
		batchers: map[string]*batcher{}, baseline: map[string]int64{}, began: opts.Began, clk: clock.Of(opts.Clock)}
	r.step = r.execute
	if r.began.IsZero() {
		r.began = r.clk.Now()
	}
	r.env = local.NewEnv(opts.RunID, opts.Placeholder, prog)
	for i, s := range prog.Steps {
		r.index[s.Addr] = i
		r.results = append(r.results, &StepResult{Addr: s.Addr, Status: rundir.StatusNotRun})
	}
	r.dependents = make([][]int, len(prog.Steps))
	r.waiting = make([]int, len(prog.Steps))
	for i, s := range prog.Steps {
		for _, d := range s.After {
			j, ok := r.index[d]
			if !ok {
				return nil, fmt.Errorf("step %s waits for %s, which the program does not have", s.Addr, d)
			}
			r.waiting[i]++
			r.dependents[j] = append(r.dependents[j], i)
		}
	}
	return r, nil
}

// schedule is the main loop: start ready steps in program order, VM
// steps only while a slot is free; react to each finished step.
//
// On a virtual clock the loop is busy while it holds work, a Work: it
// rests it while it waits for a step to finish, and the step resumes it
// before reporting, so that time cannot move between a step's end and
// what its end starts. Then it lets the instant settle and takes in every
// step that ended at it before it starts anything, so that which steps
// start, and in which slots, does not depend on the order in which
// goroutines report: the same program on the same world runs the same
// way.
func (r *run) schedule(ctx context.Context, work *clock.Work) {
	type done struct {
		i   int
		err error
	}
	// Buffered: a step never waits to report.
	finished := make(chan done, len(r.prog.Steps))
	var waitMu sync.Mutex
	mainWaiting := false
	ready := &readyQueues{steps: r.prog.Steps}
	for i := range r.prog.Steps {
		if r.waiting[i] == 0 {
			ready.push(i)
		}
	}
	free := max(r.prog.MaxParallel, 1)
	running := 0
	stopping := false
	start := func(i int) {
		s := r.prog.Steps[i]
		running++
		w := clock.NewWork(r.clk)
		go func() {
			defer w.Done()
			err := r.step(clock.WithWork(ctx, w), s, r.results[i])
			waitMu.Lock()
			if mainWaiting {
				mainWaiting = false
				work.Resume()
			}
			waitMu.Unlock()
			finished <- done{i, err}
		}()
	}
	halt := func(addr steps.Addr) {
		r.mu.Lock()
		defer r.mu.Unlock()
		// Of steps failing at the same instant, the earliest in program
		// order halts the run.
		if j, ok := r.index[r.haltedAt]; r.halted == "" || ok && r.index[addr] < j {
			r.halted, r.haltedAt = addr.String(), addr
		}
	}
	take := func(d done) {
		running--
		s := r.prog.Steps[d.i]
		if s.Slot {
			free++
		}
		switch {
		case d.err == nil:
			r.release(d.i, ready)
		case s.Optional:
			r.results[d.i].Status = rundir.StatusOptionalFailed
			r.release(d.i, ready)
		case s.OnFailure == "continue":
			r.skipDependents(d.i, s.Addr)
		default:
			halt(s.Addr)
		}
	}
	for {
		if ctx.Err() != nil || r.isHalted() {
			stopping = true
		}
		for !stopping {
			// Steps without a slot start at once; then as many slot steps
			// as there are free slots, earliest in program order first.
			i, ok := ready.pop(free > 0)
			if !ok {
				break
			}
			s := r.prog.Steps[i]
			if r.opts.Done[s.Addr] {
				r.results[i].Status = rundir.StatusOK
				r.release(i, ready)
				continue
			}
			if s.Slot {
				free--
			}
			start(i)
		}
		if running == 0 {
			return
		}
		waitMu.Lock()
		mainWaiting = true
		work.Pause()
		waitMu.Unlock()
		d := <-finished
		work.Resume()
		waitMu.Lock()
		mainWaiting = false
		waitMu.Unlock()
		take(d)
		if r.clk.Virtual() {
			clock.Settle(clock.WithWork(context.WithoutCancel(ctx), work), r.clk)
		}
		for more := true; more; {
			select {
			case d := <-finished:
				take(d)
			default:
				more = false
			}
		}
	}
}

func (r *run) isHalted() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.halted != ""
}

// release marks a step done and readies the steps that waited only for it.
func (r *run) release(i int, ready *readyQueues) {
	for _, j := range r.dependents[i] {
		if r.waiting[j]--; r.waiting[j] == 0 && r.results[j].Status == rundir.StatusNotRun {
			ready.push(j)
		}
	}
}

// readyQueues hold the steps that may start, in program order: those that
// need a slot apart from the others, so that a full set of slots costs
// nothing to skip.
type readyQueues struct {
	steps      []*steps.Step
	slot, free intHeap
}

func (q *readyQueues) push(i int) {
	if q.steps[i].Slot {
		heap.Push(&q.slot, i)
	} else {
		heap.Push(&q.free, i)
	}
}

// pop returns the next step to start: one without a slot if any, else,
// when slotFree, the first that needs one.
func (q *readyQueues) pop(slotFree bool) (int, bool) {
	if q.free.Len() > 0 {
		return heap.Pop(&q.free).(int), true
	}
	if slotFree && q.slot.Len() > 0 {
		return heap.Pop(&q.slot).(int), true
	}
	return 0, false
}

// skipDependents marks everything that waits on a failed step skipped.
func (r *run) skipDependents(i int, cause steps.Addr) {
	todo := slicesClone(r.dependents[i])
	for len(todo) > 0 {
		j := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if r.results[j].Status != rundir.StatusNotRun {
			continue
		}
		r.results[j].Status = rundir.StatusSkipped
		r.emit(rundir.StepSkipped(r.prog.Steps[j].Addr, cause))
		todo = append(todo, r.dependents[j]...)
	}
}

func slicesClone(s []int) []int { return append([]int(nil), s...) }

// execute runs one step with its timeout and retries, journaling each
// attempt.
func (r *run) execute(ctx context.Context, s *steps.Step, res *StepResult) error {
	res.Start = r.clk.Now()
	wallStart := time.Now()
	wall := r.wallWork(s)
	end := func(result string, err error) rundir.Event {
		if wall {
			res.Detail = rundir.WithWallTiming(res.Detail)
		}
		return rundir.StepEnd{Step: s.Addr, Attempt: res.Attempts, Result: result, Err: err, Detail: res.Detail,
			Seconds: res.End.Sub(res.Start).Seconds(), WallSeconds: time.Since(wallStart).Seconds()}.Event()
	}
	var err error
	for attempt := 1; ; attempt++ {
		res.Attempts = attempt
		r.emit(rundir.StepStarted(s.Addr, attempt))
		sctx, cancel := ctx, context.CancelFunc(func() {})
		if s.Timeout > 0 && s.Kind != steps.WaitReady {
			if wall {
				sctx, cancel = context.WithTimeout(ctx, time.Duration(s.Timeout))
			} else {
				sctx, cancel = r.clk.WithTimeout(ctx, time.Duration(s.Timeout))
			}
		}
		var detail map[string]string
		detail, err = r.do(sctx, s)
		cancel()
		if err == nil {
			res.End, res.Status, res.Detail = r.clk.Now(), rundir.StatusOK, detail
			r.emit(end(rundir.StatusOK, nil))
			return nil
		}
		if errors.Is(sctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("timed out after %s: %w", s.Timeout, err)
		}
		res.Detail = detail
		policy := r.retryPolicy(s)
		retry := policy.Retry(err, attempt) && ctx.Err() == nil
		if s.Kind == steps.WaitReady && (errors.Is(err, context.DeadlineExceeded) || r.clk.Since(res.Start) >= time.Duration(s.Timeout)) {
			// Retries are for API calls: a VM not ready within its
			// timeout has failed, once. An API error during the wait is
			// tried again only within what is left of the timeout.
			retry = false
		}
		r.emit(rundir.StepFailed(s.Addr, attempt, err, retry, detail))
		if !retry {
			break
		}
		r.clk.Sleep(ctx, policy.Pause(s.Addr.String(), attempt))
	}
	res.End, res.Err = r.clk.Now(), err
	res.Status = rundir.StatusFailed
	result := rundir.StatusFailed
	if s.Optional {
		result = rundir.StatusOptionalFailed
	}
	r.emit(end(result, err))
	return err
}

// retryJitter is the part of each pause before a retry drawn away at
// random: a pause p is one in (p/2, p], "equal jitter".
const retryJitter = 0.5

// retryPolicy is the run's retry policy for step s: its Retries, the
// run's backoff, cap and seed. The runner is the only place a transient
// failure is tried again; errs.Retryable says which failures are.
func (r *run) retryPolicy(s *steps.Step) errs.Policy {
	return errs.Policy{Retries: s.Retries, Base: r.opts.Backoff, Cap: r.opts.BackoffCap, Jitter: retryJitter, Seed: r.opts.Seed}
}

// wallWork reports whether a step's work is wall-clock work done from
// this machine (a local command, Terraform, a prompt, a check of a real
// host), as opposed to work in the world of the sites (VM operations,
// guest programs, waits, and checks a simulated world answers). Its
// timeout is wall time; on a virtual clock the simulated world stands
// still while it runs, and its report shows the wall time it took.
func (r *run) wallWork(s *steps.Step) bool { return WallWork(s, r.clk.Virtual()) }

// WallWork reports whether a step's work is wall-clock work done from
// this machine in a run whose clock is virtual or not (see Run). In a
// simulated run the simulation answers http and tcp checks, except those
// of this machine's loopback, which are real.
func WallWork(s *steps.Step, virtual bool) bool {
	a := s.Args
	if s.Kind != steps.Custom || a.Guest != nil || a.Wait != nil {
		return false
	}
	if !virtual || a.HTTP == nil && a.TCP == nil {
		return true
	}
	return steps.IsLoopback(a.CheckHost())
}

// expand replaces the run placeholder in an argument.
func (r *run) expand(s string) string { return steps.ExpandRun(s, r.opts.Placeholder) }

// site opens a site of the program, once.
func (r *run) site(ctx context.Context, name string) (providers.Site, error) {
	r.mu.Lock()
	if s := r.sites[name]; s != nil {
		r.mu.Unlock()
		return s, nil
	}
	if r.opening == nil {
		r.opening = map[string]*sync.Mutex{}
	}
	m := r.opening[name]
	if m == nil {
		m = &sync.Mutex{}
		r.opening[name] = m
	}
	r.mu.Unlock()
	// One opener per site at a time; the others wait for it, and steps
	// at other sites go on meanwhile.
	m.Lock()
	defer m.Unlock()
	r.mu.Lock()
	s := r.sites[name]
	r.mu.Unlock()
	if s != nil {
		return s, nil
	}
	readOnly := false
	for _, ps := range r.prog.Sites {
		if ps.Name == name {
			readOnly = ps.ReadOnly
		}
	}
	if r.opts.Open == nil {
		return nil, fmt.Errorf("no way to open site %s", name)
	}
	s, err := r.opts.Open(ctx, name, readOnly)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.sites[name] = s
	r.baseline[name] = s.Calls() // the site may be shared with earlier work
	r.mu.Unlock()
	return s, nil
}

// vm returns the handle of a VM the run knows (with its reference once
// it has one).
func (r *run) vm(site, path string) providers.VM {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := r.vms[site+"/"+path]; ok {
		return v
	}
	return providers.VM{Site: site, Path: path}
}

func (r *run) remember(v providers.VM) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.vms[v.Site+"/"+v.Path] = v
}

type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Finished reads, from a run's journal, the steps of mode that its
// attempts so far finished (ok, or an optional step's failure): a
// resumed run does not run them again. began is when the first attempt
// of mode started; the zero time when the journal has none.
func Finished(events []rundir.Event, mode string) (done map[steps.Addr]bool, began time.Time) {
	done = map[steps.Addr]bool{}
	in := false
	for _, e := range events {
		switch e.Type {
		case rundir.EventRunStarted:
			in = e.RunStart().Mode == mode
			if in && began.IsZero() {
				began = e.Time
			}
		case rundir.EventStepFinished:
			if in && (e.Result == rundir.StatusOK || e.Result == rundir.StatusOptionalFailed) {
				done[e.Step] = true
			}
		}
	}
	return done, began
}
