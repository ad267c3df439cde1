// Package runner executes a steps.Program: it starts each step once what
// it waits for is done, gives at most MaxParallel VM steps a slot at a
// time (earlier steps in program order first, as the compiler's estimate
// assumes), applies each step's timeout, retries transient failures with
// backoff, honours halt and continue, and writes every event to the
// run's journal (rundir.Journal), each record on disk before anything
// that depends on it starts. A run can be resumed from its journal
// (Finished). The journal's format and its typed events are rundir's.
//
// It never sees HCL: VM steps and guest steps go to providers.Site, the
// other custom steps to a CustomRunner (package local's Executor, which
// runs them from this machine: processes, checks, prompts, Terraform).
// Every event's error and details are scrubbed of secrets before the
// journal or an observer sees them.
package runner
