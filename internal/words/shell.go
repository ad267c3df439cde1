package words

import "strings"

// ShellWord is a as one word of a POSIX shell command line: as it is when
// it holds only characters no shell reads differently, else single-quoted
// (a single quote inside closed, escaped and reopened).
func ShellWord(a string) string {
	if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=@%+,-") == "" {
		return a
	}
	return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
}

// ShellLine joins args into one POSIX shell command line, each a
// ShellWord.
func ShellLine(args ...string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = ShellWord(a)
	}
	return strings.Join(out, " ")
}
