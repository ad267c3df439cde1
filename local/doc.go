// Package local runs the custom steps that act from this machine rather
// than in the world of the sites: local processes (command), HTTP and TCP
// checks, waits, operator prompts and Terraform (through
// hashicorp/terraform-exec). Its Executor implements the runner's
// CustomRunner, as providers/vsphere implements providers.Site: the
// runner decides when a step runs, with which timeout and how often it
// is tried; this package only carries one attempt out. A failure that
// another attempt may cure (a command that failed, a check that did not
// pass in the step's time, Terraform) is marked errs.Transient
// (internal/errs), which the runner's retry policy reads.
//
// Env is what such a step may know of its run (the run id, the program,
// the addresses of the VMs recovered so far, the outputs of earlier
// Terraform steps); the runner makes it with NewEnv and fills it in. A
// prompt reaches the operator through UI, which the CLI supplies
// (internal/command asks on the terminal or answers --auto-approve); this
// package never opens a terminal. Waits and the polling of checks are on
// the run's clock (Executor.Clock); which of these steps are wall-clock
// work in a simulated run is the runner's call (runner.WallWork).
//
// Guest steps, which run a program inside a VM, are VM operations: the
// runner sends them to the VM's site through providers.
package local
