// Package compiler turns a checked plan and an inventory snapshot into the
// steps.Program of one run mode: it resolves selectors against the
// inventory, makes the checks that need one (missing VMs, unprotected VMs,
// unmapped networks, capacity, stale replicas, replica disks a drill
// cannot copy), lays out each VM's sequence for the mode, wires tiers,
// VM dependencies and custom steps into one graph, and estimates the RTO
// as the critical path of that graph when VM operations share
// max_parallel slots.
//
// It never talks to a hypervisor: the inventory arrives as a value, read
// by providers (or made by simulate). Problems come back as
// hcl.Diagnostics pointing into the plan. The plan model and its own
// checks are package plans'; the program's form is package steps', and
// the program carries the plan's set of sensitive values
// (plans.Plan.Secrets) to the run; executing it is package runner's.
package compiler
