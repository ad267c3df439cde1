// Package redact is drplan's one redaction: a Set of sensitive values and
// Mask, the one text that stands in for them. Package plans builds the
// Set (every sensitive variable's value, everything computed from one,
// and every password); steps.Program carries it from the compiler to the
// run; the writers (internal/diagview, rundir's journal, report, local's
// captured output, internal/command's views) call its Redact. Deciding
// what is sensitive is plans' work, not this package's.
package redact
