package rundir

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// JournalName is the journal's file name in a run's directory.
const JournalName = "journal.jsonl"

// JournalFormat is the version of the journal's framing that Write
// writes. Format 1 (drplan before it) is one compact JSON event per line.
// Format 2 frames each record so that a record cut short by a crash is
// told from a whole one: it is still one JSON object per line, whose
// first two members are the format and a checksum,
//
//	{"v":2,"crc":"1c291ca3","time":"…","type":"step_started",…}\n
//
// where crc is the CRC-32C (Castagnoli) of the event's own compact JSON,
// that is the line with `"v":2,"crc":"1c291ca3",` taken out and without
// its newline, in eight lowercase hex digits. A record is whole when its
// checksum matches and its newline is there. Readers accept format 1
// lines (no checksum: a line is whole when it parses as an event) up to
// the first format 2 record, and only format 2 records after it.
const JournalFormat = 2

// framePrefix begins every format 2 record; eight hex digits and `",`
// follow it.
const framePrefix = `{"v":2,"crc":"`

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frame makes the format 2 record of an event's compact JSON.
func frame(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(framePrefix)+11)
	out = append(out, framePrefix...)
	out = fmt.Appendf(out, "%08x", crc32.Checksum(b, castagnoli))
	out = append(out, '"', ',')
	out = append(out, b[1:]...)
	return append(out, '\n')
}

// Journal appends events to a run's journal file. Each Write is on disk
// (fsync) when it returns.
type Journal struct {
	mu     sync.Mutex
	f      *os.File
	redact func(string) string
	cut    *Torn
}

// OpenJournal opens (creating or appending to) the journal in dir.
// redact scrubs secrets from every string written. An existing journal
// is read first with the rules of ReadJournal: damage inside it is an
// error (*CorruptError) and nothing is written; a torn last record (a
// crash while it was written) is cut off, on disk, before anything is
// appended, and a note event records the cut (Cut says where it was).
// A format 1 journal whose last line lacks its newline gets it.
func OpenJournal(dir string, redact func(string) string) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, JournalName)
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	if redact == nil {
		redact = func(s string) string { return s }
	}
	j := &Journal{f: f, redact: redact}
	if errors.Is(statErr, fs.ErrNotExist) {
		// The new file's name must survive a crash too.
		syncDir(dir)
		return j, nil
	}
	if err := j.mend(path); err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

// mend reads the existing journal at path, open in j, and mends its end
// for appending, as OpenJournal says.
func (j *Journal) mend(path string) error {
	c, err := scanJournal(path, j.f, nil)
	if err != nil {
		return err
	}
	switch {
	case c.Torn != nil:
		if err := j.f.Truncate(c.Torn.Offset); err != nil {
			return fmt.Errorf("cannot cut off the torn last record of %s: %v", path, err)
		}
		if err := j.f.Sync(); err != nil {
			return err
		}
		j.cut = c.Torn
		return j.Write(Event{Type: EventNote, Detail: map[string]string{
			"journal":   fmt.Sprintf("the last record was torn by a crash at byte %d; %d bytes were cut off", c.Torn.Offset, c.Torn.Bytes),
			"torn_at":   strconv.FormatInt(c.Torn.Offset, 10),
			"torn_line": strconv.Itoa(c.Torn.Line),
		}})
	case c.noNewline:
		if _, err := j.f.Write([]byte{'\n'}); err != nil {
			return err
		}
		return j.f.Sync()
	}
	return nil
}

// Cut says what OpenJournal cut off the journal's end, nil when it was
// whole.
func (j *Journal) Cut() *Torn { return j.cut }

// syncDir makes a directory's entries durable, as far as the system
// allows (not every one can sync a directory).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// Write appends an event and syncs it to disk.
func (j *Journal) Write(e Event) error {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	b, err := json.Marshal(j.Scrub(e))
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.Write(frame(b)); err != nil {
		return err
	}
	return j.f.Sync()
}

// Scrub returns e with secrets replaced in its error and details, as
// Write writes it (a copy: e's detail map is left alone). A nil journal
// scrubs nothing.
func (j *Journal) Scrub(e Event) Event {
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

// Torn is a journal's torn end: the bytes after its last whole record,
// which a crash left while writing the next one (or anything else
// appended after the last whole record and followed by none).
type Torn struct {
	// Offset is where the torn record begins: the journal's length once
	// it is cut off. Bytes is how many bytes it has.
	Offset, Bytes int64
	// Line is the torn record's line number (from 1).
	Line int
}

// Warning is what to tell the operator about a torn end that was cut.
func (t *Torn) Warning() string {
	return fmt.Sprintf("the journal's last record was torn by a crash at byte %d; it was cut off (%d bytes, line %d)", t.Offset, t.Bytes, t.Line)
}

// CorruptError is damage inside a journal: a record that is not whole,
// followed by whole ones. A crash cannot leave that; drplan neither
// skips nor rewrites it.
type CorruptError struct {
	Path   string
	Line   int
	Offset int64
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("%s line %d (byte %d): %s, and whole records follow it: the journal is damaged inside, not torn at its end by a crash. drplan neither skips nor rewrites a damaged journal: restore %s from a backup, or start a new run (drplan run)",
		e.Path, e.Line, e.Offset, e.Reason, JournalName)
}

// JournalContents is what ReadJournalContents read.
type JournalContents struct {
	// Events are the whole records, in order.
	Events []Event
	// Torn is the torn end left out, nil when there is none.
	Torn *Torn
	// Format is the newest format among the records: 1 or 2, 0 when
	// there are none.
	Format int
	// noNewline: the last record, format 1, lacks its newline.
	noNewline bool
}

// ReadJournal reads every event of the journal in dir, by the rules of
// ReadJournalContents; a torn end is left out.
func ReadJournal(dir string) ([]Event, error) {
	c, err := ReadJournalContents(dir)
	if c == nil {
		return nil, err
	}
	return c.Events, err
}

// ReadJournalContents reads the journal in dir without changing it. A
// torn end (bytes after the last whole record, as a crash leaves them)
// is left out and described in Torn. A record that is not whole followed
// by whole ones is a *CorruptError; the events before it are returned
// with it. A journal that does not exist is an fs.ErrNotExist error.
func ReadJournalContents(dir string) (*JournalContents, error) {
	path := filepath.Join(dir, JournalName)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return scanJournal(path, f, nil)
}

// ScanJournal calls fn with the compact JSON of each whole record of the
// journal in dir (without its frame), without decoding it, by the rules
// of ReadJournalContents; the returned contents have no Events.
func ScanJournal(dir string, fn func(event []byte)) (*JournalContents, error) {
	path := filepath.Join(dir, JournalName)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return scanJournal(path, f, fn)
}

// scanJournal reads a journal from r. With fn nil, it decodes every
// record into Events; else it gives fn each record's JSON.
func scanJournal(path string, r io.Reader, fn func([]byte)) (*JournalContents, error) {
	c := &JournalContents{}
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		off  int64 // where the current line begins
		line int
		bad  *CorruptError // the first record that is not whole
	)
	for {
		raw, err := br.ReadBytes('\n')
		if len(raw) == 0 && err != nil {
			if err != io.EOF {
				return c, err
			}
			break
		}
		line++
		whole := raw[len(raw)-1] == '\n'
		body := raw
		if whole {
			body = raw[:len(raw)-1]
		}
		ev, js, format, reason := parseRecord(body, whole, c.Format, fn == nil)
		if reason == "" && bad != nil {
			return c, bad
		}
		if reason != "" {
			if bad == nil {
				bad = &CorruptError{Path: path, Line: line, Offset: off, Reason: reason}
			}
		} else {
			if fn != nil {
				fn(js)
			} else {
				c.Events = append(c.Events, ev)
			}
			c.Format = max(c.Format, format)
			c.noNewline = !whole
		}
		off += int64(len(raw))
		if err != nil {
			break
		}
	}
	if bad != nil {
		c.Torn = &Torn{Offset: bad.Offset, Bytes: off - bad.Offset, Line: bad.Line}
	}
	return c, nil
}

// parseRecord checks one line (without its newline; whole says it had
// one) and decodes it when decode is set. reason says why it is not a
// whole record; js is the event's compact JSON (the line without its
// frame) and format the record's (1 or 2). after is the newest
// format of the records before it: after a format 2 record, format 1
// lines are not accepted.
func parseRecord(body []byte, whole bool, after int, decode bool) (e Event, js []byte, format int, reason string) {
	if bytes.HasPrefix(body, []byte(`{"v":`)) {
		if !bytes.HasPrefix(body, []byte(framePrefix)) {
			return e, nil, 0, "a record of an unknown journal format"
		}
		n := len(framePrefix)
		if len(body) < n+10 || body[n+8] != '"' || body[n+9] != ',' {
			return e, nil, 0, "a record cut short (its frame is incomplete)"
		}
		want, err := strconv.ParseUint(string(body[n:n+8]), 16, 32)
		if err != nil {
			return e, nil, 0, "a record whose checksum is not hexadecimal"
		}
		js = unframe(body)
		if crc32.Checksum(js, castagnoli) != uint32(want) {
			return e, nil, 0, "a record whose checksum does not match its contents (cut short or altered)"
		}
		if !whole {
			return e, nil, 0, "a record without its newline (cut short)"
		}
		if decode {
			if err := json.Unmarshal(js, &e); err != nil {
				return e, nil, 0, "a record that is not an event: " + err.Error()
			}
		}
		return e, js, 2, ""
	}
	if after >= 2 {
		return e, nil, 0, "a line without the checksum that every record after the first checksummed one has"
	}
	// Format 1: whole when it parses as an event.
	if err := json.Unmarshal(body, &e); err != nil {
		return e, nil, 0, "a line that is not a JSON event: " + err.Error()
	}
	if e.Type == "" || e.Time.IsZero() {
		return e, nil, 0, "a line that is not a journal event (no time or type)"
	}
	return e, body, 1, ""
}

// unframe is the event's compact JSON in a format 2 record: the record
// with its frame taken out.
func unframe(body []byte) []byte {
	n := len(framePrefix) + 9 // the prefix, the checksum and its quote
	js := make([]byte, 0, len(body)-n)
	js = append(js, '{')
	return append(js, body[n+1:]...)
}

// CountStarts counts the runs the journal in dir started afresh (the
// run_started events that Starts), quickly: without decoding the events,
// whose compact JSON the Journal writes. It reads by the rules of
// ReadJournalContents; a torn end is left out.
func CountStarts(dir string) (int, error) {
	n := 0
	started := []byte(`"type":"` + EventRunStarted + `"`)
	resumed := []byte(`"resumed":"true"`)
	_, err := ScanJournal(dir, func(ev []byte) {
		if bytes.Contains(ev, started) && !bytes.Contains(ev, resumed) {
			n++
		}
	})
	return n, err
}
