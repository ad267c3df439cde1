// Package report turns a run's journal (and the program it ran) into the
// report people and CI systems read: what ran, in what order, how long
// each VM took, and the achieved RTO and RPO against their targets.
// Durations are given in wall time and, for simulated runs, in plan time
// (wall time ÷ time_scale) so that they compare with the plan's targets.
// The JSON form is stable and documented in docs/report.md.
package report
