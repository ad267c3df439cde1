// Package history reads the runs kept in a state directory, one folder
// per run id under runs/ (written by internal/command): what drplan runs
// lists, the last drill that drplan status reports, and the boot times
// and custom-step times that past runs measured, which the RTO estimate
// of drplan plan uses. It only reads, through rundir, which owns the run
// folder's layout and the journal's form; the report's form is report's.
package history
