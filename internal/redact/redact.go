package redact

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
)

// Mask stands in for every sensitive value in output. It is the one
// place the text is written.
const Mask = "(sensitive)"

// MinLen is the length of the shortest value a Set hides: shorter ones
// would scrub ordinary words.
const MinLen = 3

// Set is the sensitive values of a plan. Package plans builds it while it
// loads the plan; the compiler hands the same Set to every program it
// compiles from the plan (steps.Program carries it), and every writer
// (diagnostics, journal, progress, reports, command output, the output a
// local step captures) passes its text through Redact.
//
// The zero Set and a nil *Set hide nothing. A Set is safe for concurrent
// use.
type Set struct {
	mu     sync.RWMutex
	values []string // longest first, then in byte order
}

// Add records a sensitive value; values shorter than MinLen are ignored.
func (s *Set) Add(v string) {
	if len(v) < MinLen {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, found := slices.BinarySearchFunc(s.values, v, order)
	if !found {
		s.values = slices.Insert(s.values, i, v)
	}
}

// order sorts longer values first, so that a secret that contains
// another is replaced whole before the one inside it could leave its
// ends behind.
func order(a, b string) int {
	if len(a) != len(b) {
		return len(b) - len(a)
	}
	return strings.Compare(a, b)
}

// Redact replaces every sensitive value in text with Mask, longest first.
func (s *Set) Redact(text string) string {
	if s == nil {
		return text
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, v := range s.values {
		text = strings.ReplaceAll(text, v, Mask)
	}
	return text
}

// RedactJSON replaces every sensitive value in a JSON document, where a
// value stands in its escaped form inside a string, with Mask, longest
// first.
func (s *Set) RedactJSON(doc []byte) []byte {
	if s == nil {
		return doc
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	text := string(doc)
	for _, v := range s.values {
		q, _ := json.Marshal(v)
		text = strings.ReplaceAll(text, string(q[1:len(q)-1]), Mask)
	}
	return []byte(text)
}

// Hides reports whether text is, or contains, a sensitive value.
func (s *Set) Hides(text string) bool { return s.Redact(text) != text }

// LongestSecret is the length in bytes of the longest sensitive value, 0
// when there is none: output cut to a size must keep this much more so
// that no piece of a value is left after the cut.
func (s *Set) LongestSecret() int {
	if s == nil {
		return 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.values) == 0 {
		return 0
	}
	return len(s.values[0])
}

// Len is how many values the set hides.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.values)
}
