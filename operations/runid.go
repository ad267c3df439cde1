package operations

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/drplan/drplan/internal/history"
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
