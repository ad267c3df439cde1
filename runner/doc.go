// Package runner executes a steps.Program: it starts each step once what
// it waits for is done, gives at most MaxParallel VM steps a slot at a
// time (earlier steps in program order first, as the compiler's estimate
// assumes), applies each step's timeout, retries transient failures with
// backoff, honours halt and continue, and writes every event to an
// append-only journal, each line on disk before anything that depends on
// it starts. A run can be resumed from its journal.
//
// It never sees HCL: VM steps go to providers.Site, custom steps to the
// executors in custom.go.
package runner
