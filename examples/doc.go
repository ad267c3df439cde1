// Package examples holds realistic plans an operator can start from, one
// directory each, and the test that keeps every one of them valid and
// formatted. It has no code of its own.
package examples
