package words

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxValueLen is the longest value, in characters, that a message shows in
// full. Longer values keep their head and tail: a 100,000-character value
// in a diagnostic would otherwise be printed whole, in the source line,
// its underline and the message.
const MaxValueLen = 200

// shortenKeep is how many characters of each end a shortened value keeps.
const shortenKeep = 90

// Shorten returns s unchanged when it has at most MaxValueLen characters,
// else its first and last characters around "…(N characters)…", N being the
// length of s in characters.
func Shorten(s string) string {
	n := utf8.RuneCountInString(s)
	if n <= MaxValueLen {
		return s
	}
	head, k := s, 0
	for i := range s {
		if k == shortenKeep {
			head = s[:i]
			break
		}
		k++
	}
	tail := s[len(s)-len(lastRunes(s, shortenKeep)):]
	return fmt.Sprintf("%s…(%d characters)…%s", head, n, tail)
}

// lastRunes returns the last n runes of s.
func lastRunes(s string, n int) string {
	i := len(s)
	for ; n > 0 && i > 0; n-- {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	return s[i:]
}

// ShortenValues shortens, in a message, every run of more than MaxValueLen
// characters without white space, and every double-quoted string of more
// than MaxValueLen characters (with its escapes), as Shorten does. Messages
// quote values in these two forms.
func ShortenValues(msg string) string {
	if utf8.RuneCountInString(msg) <= MaxValueLen {
		return msg
	}
	var b strings.Builder
	noClose := -1 // no string opened before this index closes
	for i := 0; i < len(msg); {
		if msg[i] == '"' && i >= noClose {
			end := closingQuote(msg, i)
			if end > 0 {
				b.WriteByte('"')
				b.WriteString(Shorten(msg[i+1 : end]))
				b.WriteByte('"')
				i = end + 1
				continue
			}
			noClose = -end
		}
		if isSpace(msg[i]) {
			b.WriteByte(msg[i])
			i++
			continue
		}
		j := i + 1
		for j < len(msg) && !isSpace(msg[j]) && (msg[j] != '"' || j < noClose) {
			j++
		}
		b.WriteString(Shorten(msg[i:j]))
		i = j
	}
	return b.String()
}

// closingQuote returns the index of the quote that closes the string
// opened at msg[open] or, when none does, minus the index where the search
// stopped (the end of the line or of msg).
func closingQuote(msg string, open int) int {
	i := open + 1
	for ; i < len(msg); i++ {
		switch msg[i] {
		case '\\':
			i++
		case '"':
			return i
		case '\n':
			return -i
		}
	}
	return -len(msg)
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }
