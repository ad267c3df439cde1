// Package rundir owns the layout and the formats of a run's folder,
// runs/RUN_ID under a state directory: the append-only journal
// (journal.jsonl: its checksummed framing and its typed events), the
// run record that drplan resume reads (run.json), the inventory the
// program was compiled from (inventory.json), the saved programs
// (program.json and cleanup.json for a drill, MODE.json for a run) and
// the names of the report files.
//
// The runner writes events through a Journal; report, internal/history,
// operations and internal/command read the folder through this package, so none of
// them needs the runner to read a run. The forms of the saved things
// are their own packages': a program's is steps', an inventory
// snapshot's inventory's, a report's (and its rendering) report's. Where
// the state directory keeps its run folders, and what a listing of them
// says, is internal/history's. Whole files are written with
// internal/fsutil; the journal is appended to a record at a time.
package rundir
