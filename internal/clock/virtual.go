package clock

import (
	"container/heap"
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"time"
)

// Virtual is a discrete-event clock: Now stands still while any Work is
// active and jumps to the earliest pending timer as soon as none is and
// someone waits for time to pass (a Sleep, or a paused Work: a waiter of
// something the world will do). A world left alone, with nobody waiting,
// keeps its time: its own timers (replication schedules) do not run it
// forward. Timers due at the same instant fire in the order they were
// set. Make one with NewVirtual and Close it when done.
type Virtual struct {
	mu     sync.Mutex
	cond   *sync.Cond
	now    time.Time
	active int
	// waiting counts the paused Works and the sleepers without a Work:
	// time moves only for someone.
	waiting int
	timers  timerHeap
	seq     uint64
	nextID  uint64
	works   map[string]*Work // the Works that have an ID (for HTTP calls)
	closed  bool
	jumps   int64
}

// NewVirtual returns a virtual clock that reads start until its first
// jump. The goroutine that makes it holds no Work: it should do its
// clock work in Go or with a Work of its own (NewWork).
func NewVirtual(start time.Time) *Virtual {
	v := &Virtual{now: start, works: map[string]*Work{}}
	v.cond = sync.NewCond(&v.mu)
	go v.loop()
	return v
}

// Close stops the clock: pending timers never fire.
func (v *Virtual) Close() {
	v.mu.Lock()
	v.closed = true
	v.cond.Broadcast()
	v.mu.Unlock()
}

// Now is the clock's current time.
func (v *Virtual) Now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.now
}

// Since is Now().Sub(t).
func (v *Virtual) Since(t time.Time) time.Duration { return v.Now().Sub(t) }

// Virtual reports true.
func (v *Virtual) Virtual() bool { return true }

// Jumps is how many times time has moved, for benchmarks.
func (v *Virtual) Jumps() int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.jumps
}

// Active is how many Works are active now, for tests and diagnostics.
func (v *Virtual) Active() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.active
}

// loop moves time: whenever no Work is active, it takes every timer
// due at the earliest instant, sets Now to it, makes each woken sleeper's
// Work (and a Work for each AfterFunc) active, and only then wakes them.
func (v *Virtual) loop() {
	v.mu.Lock()
	defer v.mu.Unlock()
	for {
		for !v.closed && (v.active > 0 || v.waiting == 0 || len(v.timers) == 0) {
			v.cond.Wait()
		}
		if v.closed {
			return
		}
		if at := v.timers[0].at; at.After(v.now) {
			v.now = at
			v.jumps++
		}
		var due []*vtimer
		for len(v.timers) > 0 && !v.timers[0].at.After(v.now) {
			due = append(due, heap.Pop(&v.timers).(*vtimer))
		}
		for _, t := range due {
			if t.work != nil {
				t.work.resumeLocked()
			}
			if t.sleeper {
				v.waiting--
			}
			if t.f != nil && !t.inline {
				v.active++
			}
		}
		v.mu.Unlock()
		// Deadlines first, so that a sleeper woken at its deadline finds
		// its context ended.
		for _, t := range due {
			if t.inline {
				t.f()
			}
		}
		for _, t := range due {
			if t.ch != nil {
				close(t.ch)
			}
			if t.f != nil && !t.inline {
				go func(f func()) {
					defer v.release()
					f()
				}(t.f)
			}
		}
		v.mu.Lock()
	}
}

func (v *Virtual) release() {
	v.mu.Lock()
	v.active--
	if v.active == 0 {
		v.cond.Broadcast()
	}
	v.mu.Unlock()
}

func (v *Virtual) pushLocked(t *vtimer) {
	v.seq++
	t.seq = v.seq
	heap.Push(&v.timers, t)
	v.cond.Broadcast()
}

// Sleep waits d of clock time, pausing the Work ctx carries meanwhile.
func (v *Virtual) Sleep(ctx context.Context, d time.Duration) error {
	v.mu.Lock()
	if err := ctx.Err(); err != nil {
		v.mu.Unlock()
		return err
	}
	at, byDeadline := v.now.Add(d), false
	if m, ok := ctx.Value(markKey{}).(*deadlineMark); ok && m.v == v && m.at.Before(at) {
		at, byDeadline = m.at, true
	}
	if !at.After(v.now) {
		v.mu.Unlock()
		if byDeadline {
			return context.DeadlineExceeded
		}
		return nil
	}
	if err := v.waitLocked(ctx, at); err != nil {
		return err
	}
	if byDeadline {
		return context.DeadlineExceeded
	}
	return nil
}

// Settle waits, with the Work ctx carries paused, until everything else
// due at the current instant is done: every other Work is idle. Time
// does not move for it.
func (v *Virtual) Settle(ctx context.Context) error {
	v.mu.Lock()
	return v.waitLocked(ctx, v.now)
}

// waitLocked waits until the clock reaches at (its turn among the
// timers due then) or ctx ends, with the Work of ctx paused; it is
// called with v.mu held and returns without it.
func (v *Virtual) waitLocked(ctx context.Context, at time.Time) error {
	w := v.workOf(ctx)
	t := &vtimer{at: at, work: w, ch: make(chan struct{})}
	v.pushLocked(t)
	if w != nil {
		w.pauseLocked()
	} else {
		v.waiting++ // until woken: the loop or the ctx below
		t.sleeper = true
	}
	v.mu.Unlock()
	select {
	case <-t.ch:
		return nil
	case <-ctx.Done():
		v.mu.Lock()
		if t.index >= 0 {
			heap.Remove(&v.timers, t.index)
			if t.sleeper {
				v.waiting--
			}
		}
		if w != nil {
			w.resumeLocked()
		}
		v.mu.Unlock()
		return ctx.Err()
	}
}

// AfterFunc calls f, as busy work, once d has passed.
func (v *Virtual) AfterFunc(d time.Duration, f func()) Timer { return v.afterFunc(d, false, f) }

// afterFunc sets a timer; an inline one's f runs in the clock's own
// goroutine before any waiter due at the same instant wakes, and must be
// quick and never wait (a context's deadline).
func (v *Virtual) afterFunc(d time.Duration, inline bool, f func()) Timer {
	v.mu.Lock()
	defer v.mu.Unlock()
	t := &vtimer{v: v, at: v.now.Add(max(d, 0)), f: f, inline: inline}
	v.pushLocked(t)
	return t
}

// Go runs f in a goroutine holding a Work of its own until f returns.
func (v *Virtual) Go(ctx context.Context, f func(context.Context)) {
	w := v.NewWork()
	go func() {
		defer w.Done()
		f(WithWork(ctx, w))
	}()
}

// WithTimeout returns a context that ends with ctx or when d of clock
// time has passed, whichever is first; its Err is then
// context.DeadlineExceeded. Its Deadline is ctx's: a virtual deadline is
// no wall-clock time, and nothing that reads Deadline (a dialer) should
// take it for one. When the deadline passes, the Work of ctx is resumed
// before the context ends, so that a waiter parked elsewhere (a
// long-poll) is busy again at once.
func (v *Virtual) WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	at := v.Now().Add(d)
	if m, ok := parent.Value(markKey{}).(*deadlineMark); ok && m.v == v && m.at.Before(at) {
		at = m.at
	}
	c := &vctx{parent: parent, mark: &deadlineMark{v: v, at: at}, done: make(chan struct{})}
	c.mu.Lock()
	c.stop = context.AfterFunc(parent, func() { c.cancel(parent.Err()) })
	c.timer = v.afterFunc(at.Sub(v.Now()), true, func() {
		c.cancel(context.DeadlineExceeded)
		v.workOf(c).Resume()
	})
	c.mu.Unlock()
	return c, func() { c.cancel(context.Canceled) }
}

func (v *Virtual) workOf(ctx context.Context) *Work {
	if w := WorkOf(ctx); w != nil && w.v == v {
		return w
	}
	return nil
}

// WorkByID returns the Work an HTTP call carries (Transport), or nil.
func (v *Virtual) WorkByID(id string) *Work {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.works[id]
}

// NewWork returns a new active Work. Call Done when it is over.
func (v *Virtual) NewWork() *Work {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.active++
	w := &Work{v: v, active: true}
	if debugWorks {
		w.where = string(debug.Stack())
		debugAll.Store(w, true)
	}
	return w
}

var debugWorks = os.Getenv("DRPLAN_CLOCK_DEBUG") != ""
var debugAll sync.Map

func init() {
	if debugWorks {
		go func() {
			for {
				time.Sleep(5 * time.Second)
				debugAll.Range(func(k, _ any) bool {
					w := k.(*Work)
					w.v.mu.Lock()
					if w.active && !w.done {
						fmt.Fprintf(os.Stderr, "ACTIVE WORK (clock active=%d waiting=%d timers=%d):\n%s\n", w.v.active, w.v.waiting, len(w.v.timers), w.where)
					}
					w.v.mu.Unlock()
					return true
				})
			}
		}()
	}
}

// Work is one actor's claim that it has something to do at the current
// instant. Methods on a nil Work do nothing (the clock is not virtual).
type Work struct {
	v      *Virtual
	id     string
	active bool
	done   bool
	pauses uint64 // how many times it has paused
	where  string
}

// Pause says the actor waits for something another actor will do. The
// waker resumes the Work through the Paused it returns, which resumes
// this pause only: a waker that comes late (its waiter gave up and
// waits for something else by now) does nothing.
func (w *Work) Pause() Paused {
	if w == nil {
		return Paused{}
	}
	w.v.mu.Lock()
	defer w.v.mu.Unlock()
	w.pauseLocked()
	return Paused{w, w.pauses}
}

// PauseUnless pauses the Work unless ctx has ended, in one step, so that
// a resume made when ctx ended is never undone.
func (w *Work) PauseUnless(ctx context.Context) Paused {
	if w == nil {
		return Paused{}
	}
	w.v.mu.Lock()
	defer w.v.mu.Unlock()
	if ctx.Err() != nil {
		return Paused{}
	}
	w.pauseLocked()
	return Paused{w, w.pauses}
}

// Paused is one pause of a Work, for its waker.
type Paused struct {
	w *Work
	n uint64
}

// Resume ends the pause, if the Work is still in it.
func (p Paused) Resume() {
	if p.w == nil {
		return
	}
	p.w.v.mu.Lock()
	defer p.w.v.mu.Unlock()
	if p.w.pauses == p.n {
		p.w.resumeLocked()
	}
}

// Resume makes the Work active again; resuming an active Work does
// nothing, so a waker and the woken may both call it.
func (w *Work) Resume() {
	if w == nil {
		return
	}
	w.v.mu.Lock()
	w.resumeLocked()
	w.v.mu.Unlock()
}

// Done ends the Work for good.
func (w *Work) Done() {
	if w == nil {
		return
	}
	w.v.mu.Lock()
	defer w.v.mu.Unlock()
	if w.done {
		return
	}
	w.pauseLocked()
	w.done = true
	w.v.waiting--
	if w.id != "" {
		delete(w.v.works, w.id)
	}
}

// ID names the Work for an HTTP header (Transport).
func (w *Work) ID() string {
	if w == nil {
		return ""
	}
	w.v.mu.Lock()
	defer w.v.mu.Unlock()
	if w.id == "" && !w.done {
		w.v.nextID++
		w.id = strconv.FormatUint(w.v.nextID, 10)
		w.v.works[w.id] = w
	}
	return w.id
}

// A Work not done is either active or waiting.
func (w *Work) pauseLocked() {
	if w.active {
		w.pauses++
		w.active = false
		w.v.active--
		w.v.waiting++
		if w.v.active == 0 {
			w.v.cond.Broadcast()
		}
	}
}

func (w *Work) resumeLocked() {
	if !w.active && !w.done {
		if debugWorks {
			w.where = string(debug.Stack())
			debugAll.Store(w, true)
		}
		w.active = true
		w.v.active++
		w.v.waiting--
	}
}

type workKey struct{}

// WithWork returns ctx carrying w.
func WithWork(ctx context.Context, w *Work) context.Context {
	return context.WithValue(ctx, workKey{}, w)
}

// WorkOf returns the Work ctx carries, or nil.
func WorkOf(ctx context.Context) *Work {
	w, _ := ctx.Value(workKey{}).(*Work)
	return w
}

// vtimer is a pending wake-up: a sleeper's (ch, and the Work to resume)
// or an AfterFunc's (f).
type vtimer struct {
	v       *Virtual
	at      time.Time
	seq     uint64
	index   int
	work    *Work
	sleeper bool // a Sleep without a Work, counted in waiting
	inline  bool // f runs in the clock's goroutine
	ch      chan struct{}
	f       func()
}

// Stop keeps an AfterFunc from firing.
func (t *vtimer) Stop() bool {
	t.v.mu.Lock()
	defer t.v.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&t.v.timers, t.index)
	return true
}

type timerHeap []*vtimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	return h[i].at.Before(h[j].at) || h[i].at.Equal(h[j].at) && h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*vtimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}

type markKey struct{}

// deadlineMark is the virtual deadline a WithTimeout context carries.
type deadlineMark struct {
	v  *Virtual
	at time.Time
}

// vctx is a context that ends at a virtual deadline. It is not one of
// the context package's own types, so that contexts made from it learn
// of its end through its Err (context.DeadlineExceeded).
type vctx struct {
	parent context.Context
	mark   *deadlineMark
	mu     sync.Mutex
	done   chan struct{}
	err    error
	stop   func() bool
	timer  Timer
}

func (c *vctx) Deadline() (time.Time, bool) { return c.parent.Deadline() }
func (c *vctx) Done() <-chan struct{}       { return c.done }
func (c *vctx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}
func (c *vctx) Value(key any) any {
	if key == (markKey{}) {
		return c.mark
	}
	return c.parent.Value(key)
}

func (c *vctx) cancel(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	close(c.done)
	stop, timer := c.stop, c.timer
	c.mu.Unlock()
	stop()
	timer.Stop()
}
