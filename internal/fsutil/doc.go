// Package fsutil holds the one function through which drplan writes a
// file: outputs the operator names (plan -out, report -o, sim serve
// -state), plan files that fmt rewrites, and what a run keeps in its
// folder (run.json, inventory.json, programs, reports, lock holders).
//
// It is a package of its own, not a helper of internal/command, so that
// any layer that writes whole files can use the same rules without
// importing the verbs; rundir, operations and internal/command use it. The run's
// journal, appended to a record at a time, is rundir's (rundir.Journal).
//
// The rules, by what the path names when the write begins:
//
//   - nothing, or a regular file: written atomically in the same
//     directory: a temporary file made there with os.CreateTemp, synced,
//     renamed over the name, and the directory synced. A reader sees the
//     old contents or the new, never half; an existing file keeps its
//     permissions (and, best effort, its owner);
//   - a symbolic link: written through to the file it finally points to
//     (filepath.EvalSymlinks; a dangling link is followed to the name it
//     points to), atomically there, so the link stays a link;
//   - a device, a FIFO or a socket: opened for writing without O_CREATE
//     or O_TRUNC and written directly: /dev/null stays a device, a FIFO's
//     reader gets the bytes, and a write error (ENOSPC on /dev/full) is
//     reported;
//   - a directory: refused.
//
// No temporary file survives a failure. Errors name the path and the
// cause.
package fsutil
