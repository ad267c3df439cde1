// Package report turns a run's journal (and the program it ran) into the
// report people and CI systems read: what ran, in what order, how long
// each VM took, and the achieved RTO and RPO against their targets.
// Durations are given in wall time and, for simulated runs, in plan time
// (wall time ÷ time_scale) so that they compare with the plan's targets.
//
// One Report renders as JSON (the stable schema of docs/report.md), as a
// self-contained HTML page with an inline SVG timeline, as Markdown and as
// JUnit XML; Format names them and the files a run's folder holds. Scrub
// removes sensitive values from the report itself, before any rendering
// escapes them. Reading runs from a state directory belongs to
// internal/history; writing them to internal/command.
package report
