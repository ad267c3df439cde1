// Package command is drplan's command line: flag parsing for every verb,
// and views that render results for people (text) and machines (JSON).
// Run is the whole program; cmd/drplan only calls it and exits.
//
// Today it also holds the operations the verbs run, which are meant to
// move to a library (issue 16): loading and compiling against a target
// (compile.go, target.go), the drill lifecycle and its verdicts
// (drill.go), the group locks (lock.go), when a run's folder is written
// and read (run.go, resume.go, reports.go; the folder's layout and
// formats are rundir's) and the status judgement (status.go). It
// supplies the UI through which prompt steps ask the operator
// (prompt.go, for package local). Executing a program is runner's; the
// local steps are local's; the hypervisor is reached through providers;
// reading past runs is internal/history's.
//
// Verbs follow Terraform's habits: Go flag syntax (-json and --json are the
// same), flags before the plan directory, which defaults to ".". Bad input
// is reported with its file, line and column and exit code 1; a Go stack
// trace is never shown.
//
// The dispatch is hand-written on purpose: a table of a dozen verbs and
// the standard flag package need no dependency, and a framework such as
// Terraform's hashicorp/cli would add little over them. Help, the
// closest-verb suggestion and shell completion are all generated from
// that table and the verbs' own flag sets.
package command
