// Package command is drplan's command line: flag parsing for every verb,
// and views that render results for people (text) and machines (JSON).
// Run is the whole program; cmd/drplan only calls it and exits.
//
// What the verbs do is package operations': loading and compiling
// against a target, the drill lifecycle, runs, resumes, apply's checks,
// the group locks, the status judgement, sim serve's world, fmt's
// formatting and the run folders. Here are the verbs' flags, the checks
// of their arguments, and their views: the diagnostics; the run view of
// drill, run, resume and apply (session.go), as progress lines
// (progress.go, progress_term.go) or the JSON event stream
// (events_json.go); the program (plan.go); a drill's summary; the
// status (text, JSON, OpenMetrics); the refusals with the commands that
// go on (lock.go); and the UI through which prompt steps ask the
// operator (prompt.go, for package local).
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
