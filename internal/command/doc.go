// Package command is drplan's command line: flag parsing for every verb,
// and views that render results for people (text) and machines (JSON).
// Run is the whole program; cmd/drplan only calls it and exits.
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
