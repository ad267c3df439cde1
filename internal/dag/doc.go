// Package dag is a small directed graph over comparable node keys: edges,
// strongly connected components for cycle reports, topological order and
// reachability. Package plans uses it to check the tier and step graph and
// the order of local values; the compiler and runner build on it for the
// step program.
package dag
