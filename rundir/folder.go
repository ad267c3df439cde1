package rundir

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/drplan/drplan/internal/fsutil"
	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/steps"
)

// The names of a run folder's files besides the journal (JournalName).
const (
	// RecordName holds the run record (Record).
	RecordName = "run.json"
	// InventoryName holds the inventory snapshot the run's program was
	// compiled from.
	InventoryName = "inventory.json"
	// DrillProgramName holds a drill's test program; its cleanup program
	// is saved as a cleanup run's (ProgramName("cleanup")).
	DrillProgramName = "program.json"
)

// The report's files, one per format (package report renders them).
const (
	ReportJSON     = "report.json"
	ReportHTML     = "report.html"
	ReportMarkdown = "report.md"
	ReportJUnit    = "report.junit.xml"
)

// ProgramName is the file in which a run of mode saves its program:
// MODE.json.
func ProgramName(mode string) string { return mode + ".json" }

// Record is kept in a run's folder (run.json) with the inventory the
// program was compiled from (inventory.json): with the plan's files and
// the operator's variables, what drplan resume needs to compile the same
// program again. Sensitive values are not in it.
type Record struct {
	Mode         string                   `json:"mode"`
	Target       string                   `json:"target"`
	Dir          string                   `json:"dir"`
	RecoveryPlan string                   `json:"recovery_plan,omitempty"`
	Point        string                   `json:"point"`
	GroupPoints  map[string]string        `json:"group_points,omitempty"`
	Placeholder  string                   `json:"placeholder,omitempty"`
	BootTimes    map[string]time.Duration `json:"boot_times,omitempty"`
}

// WriteRecord writes the run record into the run folder dir.
func WriteRecord(dir string, r *Record) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFile(filepath.Join(dir, RecordName), append(b, '\n'), 0o644)
}

// ReadRecord reads the run record of the run folder dir.
func ReadRecord(dir string) (*Record, error) {
	b, err := os.ReadFile(filepath.Join(dir, RecordName))
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// WriteInventory writes the inventory snapshot a run's program was
// compiled from into the run folder dir.
func WriteInventory(dir string, snap *inventory.Snapshot) error {
	b, err := json.Marshal(snap)
	if err != nil {
		return err
	}
	return fsutil.WriteFile(filepath.Join(dir, InventoryName), b, 0o644)
}

// ReadInventory reads the inventory snapshot saved in the run folder dir.
func ReadInventory(dir string) (*inventory.Snapshot, error) {
	b, err := os.ReadFile(filepath.Join(dir, InventoryName))
	if err != nil {
		return nil, err
	}
	var snap inventory.Snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		return nil, err
	}
	return &snap, nil
}

// WriteProgram saves a program (its JSON, secrets redacted) in the run
// folder dir under name (ProgramName, DrillProgramName).
func WriteProgram(dir, name string, p *steps.Program) error {
	b, err := p.JSON()
	if err != nil {
		return err
	}
	return fsutil.WriteFile(filepath.Join(dir, name), b, 0o644)
}

// ReadProgram reads the program saved in the run folder dir under name.
func ReadProgram(dir, name string) (*steps.Program, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	return steps.Read(b)
}

// Programs reads, in the order the journal's events ran them, the
// programs the run folder dir holds: one per run the journal started
// afresh (a resumed run goes on with the program it began). A drill's
// test program is its DrillProgramName; programs that are missing or
// unreadable are left out.
func Programs(dir string, events []Event) []*steps.Program {
	var out []*steps.Program
	for _, e := range events {
		if !e.Starts() {
			continue
		}
		mode := e.RunStart().Mode
		name := ProgramName(mode)
		if mode == "test" {
			if _, err := os.Stat(filepath.Join(dir, DrillProgramName)); err == nil {
				name = DrillProgramName
			}
		}
		if p, err := ReadProgram(dir, name); err == nil {
			out = append(out, p)
		}
	}
	return out
}
