// Package steps is the compiled, versioned, JSON-serialisable program of
// one run: every action of one run mode of one recovery plan, each with an
// address, a kind, its arguments, its dependencies, and what the runner
// needs to execute it (timeout, retries, failure policy, the slot it
// takes), with the plan's sites and groups and the compiler's estimate.
// Package compiler writes it; package runner executes it and never sees
// HCL. A step's address is an Addr (scope, name, VM, action), written
// "tier.web/vm.db-01/power_on" or "step.smoke" and read back by ParseAddr;
// every package builds and reads addresses through it. The typed
// references of the plan language (tier.web, vm.db-01) are package
// addrs'.
//
// A Program holds the values the runner needs, sensitive ones included,
// and carries the plan's set of sensitive values (SetSecrets, Secrets: an
// internal/redact.Set built by package plans), which every writer of a
// run passes its text through (Program.Redact). Its JSON form
// (Program.JSON) hides every sensitive value behind redact.Mask: a saved
// program is for reading and for checking that nothing changed, and a
// run recompiles from the plan. Read parses that form back, with no
// secrets to carry.
package steps
