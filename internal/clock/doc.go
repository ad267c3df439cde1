// Package clock owns time for drplan: every wait, timer, timeout and
// timestamp of the runner, the providers and the simulated world goes
// through a Clock, so that one choice decides what time is.
//
//   - Real is the wall clock, for live runs against real sites.
//   - Scaled is the wall clock run faster by a time scale, for a
//     simulated world served to clients drplan does not control
//     (`drplan sim serve` and govc): a plan minute takes a minute ×
//     time_scale of wall time. It is the only place time_scale converts
//     anything.
//   - Virtual is a discrete-event clock for in-process simulated worlds
//     (drills and runs with --sim, and the tests): time stands still
//     while anyone has work to do and jumps to the next scheduled event
//     as soon as every actor is idle. Boot times, timeouts, replication
//     schedules and fault times are then exact plan times, and the wall
//     time of a drill is only its real work.
//
// # Busy work
//
// The virtual clock cannot see goroutines, so work is counted
// explicitly, the way testing/synctest does it inside the runtime: a
// Work is one actor's claim that it is doing something at the current
// instant. The clock advances only when no Work is active. Rules:
//
//   - A goroutine that does clock-time work holds a Work, carried in its
//     context (WithWork, WorkOf); Go starts one.
//   - Waiting on the clock (Sleep, a WithTimeout deadline) pauses the
//     waiter's Work; the clock resumes it before waking the waiter, so
//     nothing can happen in between.
//   - Waiting for another actor that may itself need the clock to move
//     (a long-poll, a simulated delay) pauses the Work, and whoever wakes
//     the waiter resumes it first: a hand-off, never a gap.
//   - Waiting for another actor that does not need the clock (an API
//     call answered at once) keeps the Work active.
//   - An HTTP call carries its caller's Work to the simulated site
//     (Transport, WorkByID), which may pause it while it holds the call
//     (a long-poll) and resumes it before it answers.
//
// Wall-time work inside a simulated run (a local command, Terraform, an
// HTTP probe of a real host) holds its Work for its whole duration: the
// simulated world stands still meanwhile, and the step reports the wall
// time it really took.
//
// On Real and Scaled clocks Works are nil and every Work method is a
// no-op, so code written for the virtual clock runs unchanged live.
package clock
