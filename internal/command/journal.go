package command

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/drplan/drplan/rundir"
)

// noJournal is why a run cannot be resumed when its journal is missing or
// holds no whole event ("" when it holds some, or cannot be read for
// another reason): the run never started a step, and a resume must not
// start its program from the first step as if it had. events and err are
// what rundir.ReadJournal returned.
func noJournal(id, mode, dir string, events []rundir.Event, err error) string {
	var why string
	switch {
	case errors.Is(err, fs.ErrNotExist):
		why = "its folder has no " + rundir.JournalName
	case err == nil && len(events) == 0:
		why = rundir.JournalName + " is empty (or holds only a record torn by a crash)"
	default:
		return ""
	}
	return fmt.Sprintf("drplan resume: run %s has no journal events (%s): it never started a step, so there is nothing to continue and nothing was resumed. Start a new run with: drplan run -mode %s %s (should locks run %s took before it died refuse it, add -force-unlock %s: that run changed nothing)", id, why, mode, dir, id, id)
}
