// Command drplan runs disaster-recovery plans written as code. Its verbs
// live in internal/command; this package only calls command.Run and exits
// with its code. See README.md for a tour.
package main
