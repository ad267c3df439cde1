// Package words holds the small helpers that turn lists, counts and long
// values into message text (QuoteList, Plural, Shorten), shared by the
// packages that write diagnostics and errors (plans, compiler, runner,
// internal/diagview, internal/command), and the one POSIX shell quoting
// (ShellWord, ShellLine) for command lines drplan prints or hands to a
// guest's shell. Rendering diagnostics is internal/diagview's.
package words
