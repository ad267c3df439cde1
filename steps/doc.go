// Package steps is the compiled, versioned, JSON-serialisable program of
// one run: every action of one run mode of one recovery plan, each with an
// address, a kind, its arguments, its dependencies, and what the runner
// needs to execute it (timeout, retries, failure policy, the slot it
// takes). Package compiler writes it; package runner executes it and
// never sees HCL.
//
// A Program holds the values the runner needs, sensitive ones included.
// Its JSON form (MarshalJSON via Program.Redacted) replaces every
// sensitive value with "(sensitive)": a saved program is for reading and
// for checking that nothing changed, and a run recompiles from the plan.
package steps
