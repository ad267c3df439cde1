// Package dag is a small directed graph over ordered node keys: edges,
// strongly connected components for cycle reports, a deterministic
// topological order and reachability. Package plans uses it to check the
// graph of tiers and steps, the after lists of VMs, and the order
// in which local values are evaluated. The step program's order is not
// built here: the compiler sorts its steps itself, and the runner
// schedules from each step's After list.
package dag
