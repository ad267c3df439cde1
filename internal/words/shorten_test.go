package words

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestShorten(t *testing.T) {
	if s := strings.Repeat("a", MaxValueLen); Shorten(s) != s {
		t.Errorf("a value of %d characters is shortened", MaxValueLen)
	}
	long := "head" + strings.Repeat("é", 100_000) + "tail"
	got := Shorten(long)
	if !strings.HasPrefix(got, "headé") || !strings.HasSuffix(got, "étail") || !strings.Contains(got, "…(100008 characters)…") {
		t.Errorf("Shorten = %q", got)
	}
	if n := utf8.RuneCountInString(got); n > MaxValueLen+30 || !utf8.ValidString(got) {
		t.Errorf("shortened to %d characters, valid UTF-8 %v", n, utf8.ValidString(got))
	}
}

func TestShortenValues(t *testing.T) {
	v := strings.Repeat("x", 100_000)
	msg := `Attribute "rpo": "` + v + `" is not a duration; also ` + v + ` and "short".`
	got := ShortenValues(msg)
	if strings.Count(got, "…(100000 characters)…") != 2 || len(got) > 1000 {
		t.Fatalf("ShortenValues = %q", got)
	}
	for _, keep := range []string{`Attribute "rpo": "xxx`, `xxx" is not a duration; also xxx`, `xxx and "short".`} {
		if !strings.Contains(got, keep) {
			t.Errorf("%q lost %q", got, keep)
		}
	}
	spaced := `value "` + strings.Repeat("a b ", 1000) + `" here`
	if got := ShortenValues(spaced); !strings.Contains(got, "…(4000 characters)…") || !strings.HasSuffix(got, `" here`) {
		t.Errorf("a quoted value with spaces: %q", got)
	}
	if short := "A message with \"quotes\" and no long value."; ShortenValues(short) != short {
		t.Errorf("short message changed")
	}
	// A quote that is never closed starts a run like any character.
	if got := ShortenValues(`"` + v); got != Shorten(`"`+v) {
		t.Errorf("unclosed quote: %.80q", got)
	}
	// Quotes that pair up are short strings, left as they are.
	if paired := strings.Repeat(`a"b"`, 50_000); ShortenValues(paired) != paired {
		t.Errorf("short quoted strings changed")
	}
}
