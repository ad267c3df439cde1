package clock

import (
	"context"
	"time"
)

// Clock is what time is for a run or a simulated world.
type Clock interface {
	// Now is the clock's current time.
	Now() time.Time
	// Since is Now().Sub(t).
	Since(t time.Time) time.Duration
	// Sleep waits d on this clock. It returns ctx.Err() when ctx ends
	// first, and context.DeadlineExceeded when a deadline this clock set
	// on ctx (WithTimeout) passes first.
	Sleep(ctx context.Context, d time.Duration) error
	// AfterFunc calls f in a goroutine of its own once d has passed; on
	// the virtual clock f's run is busy work.
	AfterFunc(d time.Duration, f func()) Timer
	// WithTimeout is context.WithTimeout measured on this clock.
	WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc)
	// Go runs f in a new goroutine that holds a Work of its own (carried
	// by the context f gets) until f returns.
	Go(ctx context.Context, f func(context.Context))
	// Virtual reports whether time jumps (a Virtual clock).
	Virtual() bool
}

// Timer is a pending AfterFunc.
type Timer interface {
	// Stop keeps f from being called; it reports whether it did.
	Stop() bool
}

// Real is the wall clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// Since returns time.Since(t).
func (Real) Since(t time.Time) time.Duration { return time.Since(t) }

// Sleep waits d of wall time.
func (Real) Sleep(ctx context.Context, d time.Duration) error { return sleepWall(ctx, d) }

// AfterFunc is time.AfterFunc.
func (Real) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// WithTimeout is context.WithTimeout.
func (Real) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

// Go runs f in a goroutine.
func (Real) Go(ctx context.Context, f func(context.Context)) { go f(ctx) }

// Virtual reports false.
func (Real) Virtual() bool { return false }

func sleepWall(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Scaled is the wall clock run 1/Scale times as fast: plan time d passes
// in d × Scale of wall time, and Now advances by 1/Scale seconds per wall
// second from the moment the clock was made. It serves simulated worlds
// that external clients talk to in wall time (`drplan sim serve`).
type Scaled struct {
	scale  float64
	origin time.Time // wall time when made, which is also plan time then
}

// NewScaled returns a clock on which plan time runs 1/scale times as
// fast as wall time; a scale ≤ 0 or 1 gives the wall clock's pace.
func NewScaled(scale float64) *Scaled { return NewScaledFrom(scale, time.Now()) }

// NewScaledFrom returns the scaled clock that another process made at
// origin: both read the same plan time (a run against a served world
// keeps the world's time).
func NewScaledFrom(scale float64, origin time.Time) *Scaled {
	if scale <= 0 {
		scale = 1
	}
	return &Scaled{scale: scale, origin: origin}
}

// Scale is the clock's time scale: wall seconds per plan second.
func (s *Scaled) Scale() float64 { return s.scale }

// Origin is the wall time when the clock was made, which is also the
// plan time then.
func (s *Scaled) Origin() time.Time { return s.origin }

// Wall converts a plan-time duration to the wall time it takes.
func (s *Scaled) Wall(d time.Duration) time.Duration { return time.Duration(float64(d) * s.scale) }

// Plan converts a wall-time duration to plan time.
func (s *Scaled) Plan(d time.Duration) time.Duration { return time.Duration(float64(d) / s.scale) }

// Now is plan time: the origin plus the wall time since, scaled.
func (s *Scaled) Now() time.Time { return s.origin.Add(s.Plan(time.Since(s.origin))) }

// Since is Now().Sub(t).
func (s *Scaled) Since(t time.Time) time.Duration { return s.Now().Sub(t) }

// Sleep waits d of plan time.
func (s *Scaled) Sleep(ctx context.Context, d time.Duration) error { return sleepWall(ctx, s.Wall(d)) }

// AfterFunc calls f after d of plan time.
func (s *Scaled) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(s.Wall(d), f) }

// WithTimeout is context.WithTimeout for d of plan time.
func (s *Scaled) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.Wall(d))
}

// Go runs f in a goroutine.
func (s *Scaled) Go(ctx context.Context, f func(context.Context)) { go f(ctx) }

// Virtual reports false.
func (s *Scaled) Virtual() bool { return false }

// Of returns c, or the wall clock when c is nil: a zero Options means a
// live run.
func Of(c Clock) Clock {
	if c == nil {
		return Real{}
	}
	return c
}

// NewWork returns a new active Work on c when c is virtual, else nil
// (whose methods do nothing).
func NewWork(c Clock) *Work {
	if v, ok := c.(*Virtual); ok {
		return v.NewWork()
	}
	return nil
}

// Settle waits, on a virtual clock, until everything else due at the
// current instant is done (see Virtual.Settle); on other clocks it does
// nothing.
func Settle(ctx context.Context, c Clock) error {
	if v, ok := c.(*Virtual); ok {
		return v.Settle(ctx)
	}
	return nil
}
