package command

import (
	"flag"
	"fmt"

	"github.com/drplan/drplan/operations"
)

// checkRunIDFlags checks the flags of f that take a run id and were
// given, even empty: -run, -force-unlock (operations.CheckRunID).
func (c *cli) checkRunIDFlags(f *flags, names ...string) bool {
	ok := true
	f.Visit(func(fl *flag.Flag) {
		for _, n := range names {
			if fl.Name == n && ok {
				if err := operations.CheckRunID(fl.Value.String()); err != nil {
					fmt.Fprintf(c.stderr, "drplan %s: -%s: %v\n", f.verb, n, err)
					ok = false
				}
			}
		}
	})
	return ok
}
