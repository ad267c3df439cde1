package words

import (
	"fmt"
	"strings"
)

// QuoteList renders names as "a", "b", "c".
func QuoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// Plural picks one or many by n.
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Pronoun is "it" for one and "them" for more.
func Pronoun(n int) string { return Plural(n, "it", "them") }
