// Package operations holds what drplan's verbs do, as a library callable
// from Go without the command line: the data flow plans → compiler →
// steps → runner → providers, and the run folders it leaves.
//
//   - Load (load.go) loads a plan, opens its Target (target.go,
//     services.go: the plan's simulated world built in process, or its
//     live sites; OpenTarget) and reads the target's inventory snapshot,
//     then loads the plan again with its selectors resolved against it.
//   - Compiled.Compile and Compiled.Program compile a run mode against
//     the target and estimate it; Target.compile is drplan's one call
//     of compiler.Compile (internal/tools/bench times the compiler
//     itself).
//   - A drill (drill.go) is test → verify → cleanup → verify:
//     CompileDrill, StartDrill, Drill.Open, Test, Cleanup, Finish; or
//     RunDrill from start to end. Its report carries the verdict.
//   - A run, a resumed run or an applied program (session.go) is
//     StartRun, Run.Lock, Run.Execute, Compiled.Verify (verify.go: the
//     result read back from the sites) and Session.WriteReport; a
//     resume first reads its run (ReadResumable, resume.go) and loads
//     and compiles the plan as the run began (Resumable.Load, Compile).
//     SameProgram and ProgramDiff (programs.go) say whether a resume or
//     an apply would run the program it began with or was saved.
//   - The group locks (locks.go): LockGroups, HeldLocks, ForceUnlock.
//   - Status (status.go) judges the protection of every group and the
//     plan's last drill.
//   - Serve (serve.go) serves a plan's simulated world as vSphere
//     endpoints on loopback, with its service gateway (sim serve);
//     Format and FormatFiles (format.go) put plan files in canonical
//     style (fmt).
//   - Run ids and folders (runid.go) and reports (reports.go):
//     NewRunID, RunFolder, FindRun, RunReport, WriteReports. The folder's layout
//     and formats are package rundir's; past runs are read by
//     internal/history.
//
// Nothing here prints: progress reaches the caller as the typed rundir
// events the runner emits (an observe function), prompts through a
// local.UI, and results as values (a *report.Report, checks, errors
// such as *PlanError and *LockedError). internal/command parses the
// command line and renders these for people and machines.
package operations
