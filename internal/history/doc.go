// Package history reads the runs kept in a state directory, one folder
// per run id under runs/ (written by internal/command): what drplan runs
// lists, the last drill that drplan status reports, and the boot times
// and custom-step times that past runs measured, which the RTO estimate
// of drplan plan uses. It only reads: the journal's form belongs to
// runner, the report's to report, and the run folder's other files
// (run.json, the saved programs) to internal/command, which writes them.
package history
