package runner

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Event is one line of a run's journal.
type Event struct {
	Time time.Time `json:"time"`
	Type string    `json:"type"`
	// Step is the step's address for step events.
	Step    string `json:"step,omitempty"`
	Attempt int    `json:"attempt,omitempty"`
	// Result is "ok", "failed", "skipped" or "optional_failed" for step
	// ends, "passed", "failed" or "interrupted" for run ends.
	Result string `json:"result,omitempty"`
	Error  string `json:"error,omitempty"`
	// Retryable says whether a failure was transient.
	Retryable bool              `json:"retryable,omitempty"`
	Detail    map[string]string `json:"detail,omitempty"`
	// Figures carries numbers: durations in seconds, counts.
	Figures map[string]float64 `json:"figures,omitempty"`
}

// Event types.
const (
	EventRunStarted   = "run_started"
	EventStepStarted  = "step_started"
	EventStepFinished = "step_finished"
	EventStepFailed   = "step_failed" // one attempt failed
	EventStepSkipped  = "step_skipped"
	EventVMReady      = "vm_ready"
	EventFigures      = "figures"
	EventRunFinished  = "run_finished"
	EventNote         = "note"
	// EventPointChosen records the recovery point a group's replicas are
	// recovered from, chosen before the first of them is touched.
	EventPointChosen = "point_chosen"
)

// JournalName is the journal's file name in a run's directory.
const JournalName = "journal.jsonl"

// Journal appends events to a run's journal file. Each Write is on disk
// (fsync) when it returns.
type Journal struct {
	mu     sync.Mutex
	f      *os.File
	redact func(string) string
}

// OpenJournal opens (creating or appending to) the journal in dir.
// redact scrubs secrets from every string written.
func OpenJournal(dir string, redact func(string) string) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, JournalName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	if redact == nil {
		redact = func(s string) string { return s }
	}
	return &Journal{f: f, redact: redact}, nil
}

// Write appends an event and syncs it to disk.
func (j *Journal) Write(e Event) error {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	b, err := json.Marshal(j.scrub(e))
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return err
	}
	return j.f.Sync()
}

// scrub returns e with secrets replaced in its error and details (a copy:
// e's detail map is left alone). A nil journal scrubs nothing.
func (j *Journal) scrub(e Event) Event {
	if j == nil {
		return e
	}
	e.Error = j.redact(e.Error)
	if e.Detail != nil {
		d := make(map[string]string, len(e.Detail))
		for k, v := range e.Detail {
			d[k] = j.redact(v)
		}
		e.Detail = d
	}
	return e
}

// Close closes the journal.
func (j *Journal) Close() error { return j.f.Close() }

// ReadJournal reads every event of the journal in dir. A last line cut
// short by a crash is ignored.
func ReadJournal(dir string) ([]Event, error) {
	f, err := os.Open(filepath.Join(dir, JournalName))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			if !sc.Scan() {
				break // a torn last line: the crash it records
			}
			return out, fmt.Errorf("%s line %d: %v", filepath.Join(dir, JournalName), line, err)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// Finished reads, from a run's journal, the steps of mode that its
// attempts so far finished (ok, or an optional step's failure): a
// resumed run does not run them again. began is when the first attempt
// of mode started; the zero time when the journal has none.
func Finished(events []Event, mode string) (done map[string]bool, began time.Time) {
	done = map[string]bool{}
	in := false
	for _, e := range events {
		switch e.Type {
		case EventRunStarted:
			in = e.Detail["mode"] == mode
			if in && began.IsZero() {
				began = e.Time
			}
		case EventStepFinished:
			if in && (e.Result == StatusOK || e.Result == StatusOptionalFailed) {
				done[e.Step] = true
			}
		}
	}
	return done, began
}
