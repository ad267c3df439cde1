package command

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/drplan/drplan/internal/history"
)

// runIDPattern is the form of every run id (see newRunID): the start time
// in UTC and four hex digits, 20261205T182740Z-5955. A run id names a
// folder under the state directory, so one that comes from the operator
// (run -run, -force-unlock, resume, report) must have this form: then it
// can never be a path, climb out with .., or be empty.
var runIDPattern = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}$`)

// checkRunID says why id, given by the operator, is not a run id.
func checkRunID(id string) error {
	if runIDPattern.MatchString(id) {
		return nil
	}
	return fmt.Errorf("%q is not a run id: run ids look like 20261205T182740Z-5955 (drplan runs DIR lists them)", id)
}

// runFolder returns the folder of run id, given by the operator, under
// the state directory; an error when id is not a run id or there is no
// such run. dir is the plan directory, for the advice.
func runFolder(stateDir, id, dir string) (string, error) {
	if err := checkRunID(id); err != nil {
		return "", err
	}
	runDir := filepath.Join(history.RunsDir(stateDir), id)
	if st, err := os.Stat(runDir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("no run %s in %s; list the runs with: drplan runs %s (give -state-dir or DRPLAN_HOME if they are kept elsewhere)", id, history.RunsDir(stateDir), dir)
	}
	return runDir, nil
}

// checkRunIDFlags checks the flags of f that take a run id and were
// given, even empty: -run, -force-unlock.
func (c *cli) checkRunIDFlags(f *flags, names ...string) bool {
	ok := true
	f.Visit(func(fl *flag.Flag) {
		for _, n := range names {
			if fl.Name == n && ok {
				if err := checkRunID(fl.Value.String()); err != nil {
					fmt.Fprintf(c.stderr, "drplan %s: -%s: %v\n", f.verb, n, err)
					ok = false
				}
			}
		}
	})
	return ok
}
