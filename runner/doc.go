// Package runner executes a steps.Program: it starts each step once what
// it waits for is done, gives at most MaxParallel VM steps a slot at a
// time (earlier steps in program order first, as the compiler's estimate
// assumes), applies each step's timeout, retries transient failures,
// honours halt and continue, and writes every event to the
// run's journal (rundir.Journal), each record on disk before anything
// that depends on it starts. A run can be resumed from its journal
// (Finished). The journal's format and its typed events are rundir's.
//
// It never sees HCL: VM steps and guest steps go to providers.Site, the
// other custom steps to a CustomRunner (package local's Executor, which
// runs them from this machine: processes, checks, prompts, Terraform).
// Every event's error and details are scrubbed of secrets before the
// journal or an observer sees them.
//
// # Retries
//
// The runner is the only place a failure is tried again. A step that
// failed is tried again when errs.Retryable says its error is transient
// (the providers and package local say of what kind each failure is; no
// provider retries one itself), at most its Retries times (from the
// plan, through the compiler), after a pause of errs.Policy: Backoff
// (one second) doubling per retry, at most BackoffCap (30 seconds), less
// an "equal jitter" of up to half drawn from a hash of Options.Seed, the
// step's address and the attempt. The pause is on the run's clock, so a
// simulated drill with the same seed replays the same pauses. A
// wait_ready step that ran out of its timeout is not tried again.
package runner
