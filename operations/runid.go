package operations

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/drplan/drplan/internal/history"
	"github.com/drplan/drplan/rundir"
)

// NewRunID makes a run id that sorts by time: 20261122T001500Z-3f9a.
func NewRunID() string {
	b := make([]byte, 2)
	rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// runIDPattern is the form of every run id (see NewRunID): the start time
// in UTC and four hex digits, 20261205T182740Z-5955. A run id names a
// folder under the state directory, so one that comes from the operator
// (run -run, -force-unlock, resume, report) must have this form: then it
// can never be a path, climb out with .., or be empty.
var runIDPattern = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}$`)

// CheckRunID says why id, given by the operator, is not a run id.
func CheckRunID(id string) error {
	if runIDPattern.MatchString(id) {
		return nil
	}
	return fmt.Errorf("%q is not a run id: run ids look like 20261205T182740Z-5955 (drplan runs DIR lists them)", id)
}

// RunFolder returns the folder of run id, given by the operator, under
// the state directory; an error when id is not a run id or there is no
// such run. dir is the plan directory, for the advice.
func RunFolder(stateDir, id, dir string) (string, error) {
	if err := CheckRunID(id); err != nil {
		return "", err
	}
	runDir := filepath.Join(history.RunsDir(stateDir), id)
	if st, err := os.Stat(runDir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("no run %s in %s; list the runs with: drplan runs %s (give -state-dir or DRPLAN_HOME if they are kept elsewhere)", id, history.RunsDir(stateDir), dir)
	}
	return runDir, nil
}

// FindRun resolves a run argument: a run id under the state directory,
// latest, or the path of a run's folder. A path must end in a folder
// named by a run id that holds a journal: a run id never climbs out of
// the state directory, and a path names a run, not any folder.
func FindRun(arg, stateDir, dir string) (string, error) {
	if arg == "latest" {
		runs, err := history.List(stateDir)
		if err != nil {
			return "", err
		}
		if len(runs) == 0 {
			return "", fmt.Errorf("no runs in %s yet", history.RunsDir(stateDir))
		}
		return runs[len(runs)-1].Dir, nil
	}
	if strings.ContainsAny(arg, `/\`) {
		clean := filepath.Clean(arg)
		if CheckRunID(filepath.Base(clean)) != nil {
			return "", fmt.Errorf("%s is not a run id (run ids look like 20261205T182740Z-5955), nor the path of a run's folder; list the runs with: drplan runs %s", arg, dir)
		}
		if st, err := os.Stat(filepath.Join(clean, rundir.JournalName)); err != nil || !st.Mode().IsRegular() {
			return "", fmt.Errorf("%s is not a run's folder: it has no %s", arg, rundir.JournalName)
		}
		return clean, nil
	}
	return RunFolder(stateDir, arg, dir)
}
