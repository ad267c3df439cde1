// Package report turns a run's journal (and the program it ran) into the
// report people and CI systems read: what ran, in what order, how long
// each VM took, and the achieved RTO and RPO against their targets.
//
// The journal is on the run clock: a virtual clock in simulated runs, the
// wall clock in live ones. Its times, and so the report's start and end
// and every *_seconds figure but wall_seconds, are plan time as recorded,
// comparable with the plan's targets; nothing is scaled. Wall time comes
// from the wall_seconds figures the runner records on step_finished and
// run_finished. A step whose work is wall-clock work on this machine (the
// runner marks it with detail timing = "wall": a local command,
// Terraform, a prompt, a probe of a real host) takes next to no plan time
// in a simulated run, so it is shown with its wall time and never
// stretches the timeline.
//
// One Report renders as JSON (the stable schema of docs/report.md), as a
// self-contained HTML page with an inline SVG timeline, as Markdown and as
// JUnit XML; Format names them and the files a run's folder holds. Scrub
// removes sensitive values from the report itself, before any rendering
// escapes them. Reading runs from a state directory belongs to
// internal/history; writing them to operations.
package report
