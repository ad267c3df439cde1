// Package examples holds realistic plans an operator can start from, one
// directory each, and the test that keeps every one of them valid and
// formatted; and, in ci/, the CI pipelines that validate a plan on every
// push and drill it nightly, with the test that parses them. It has no
// code of its own.
package examples
