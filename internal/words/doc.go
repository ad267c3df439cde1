// Package words holds the small helpers that turn lists, counts and long
// values into message text (QuoteList, Plural, Shorten), shared by the
// packages that write diagnostics and errors (plans, compiler, runner,
// internal/diagview, internal/command). Rendering diagnostics is
// internal/diagview's.
package words
