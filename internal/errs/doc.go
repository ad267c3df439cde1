// Package errs owns drplan's error type and its retry policy, after
// Upspin's errors package: an *Error says which operation (Op) on which
// object failed, what kind of failure it is (Kind) and why (Err). E
// builds one.
//
// Whether a failure may pass on another try is decided here and nowhere
// else: Retryable(err) is KindOf(err) == Transient. The packages that
// meet raw errors (providers/vsphere for vSphere faults and connection
// trouble, providers/libvirt for libvirt's, local for checks and
// commands) only say which kind each one is, by wrapping it with E (or
// Mark); KindOf reads the outermost kind in the chain, and calls a
// context error no one classified Canceled or Timeout. Only Transient
// is retried.
//
// Policy is the one retry policy of a run: how many attempts (a step's
// Retries, from the plan), and how long to pause before each: Base
// doubled per attempt, never more than Cap, shortened by a jitter drawn
// from a hash of the run's seed, the step's address and the attempt
// (not from a random source), so that a simulated drill replays exactly
// with the same seed. The runner applies it and waits on the run's
// clock; no provider retries a transient failure itself, so retries do
// not multiply.
//
// Which kind a vSphere fault or a libvirt error is stays with those
// providers; the runner (package runner) owns when a step is tried again.
package errs
