package rundir_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/drplan/drplan/rundir"
)

// fixtureEvents are the events of the drill fixture's journal (format 1).
func fixtureEvents(t *testing.T) ([]byte, []rundir.Event) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "report", "testdata", "drill", rundir.JournalName))
	if err != nil {
		t.Fatal(err)
	}
	events, err := rundir.ReadJournal(filepath.Join("..", "report", "testdata", "drill"))
	if err != nil || len(events) < 10 {
		t.Fatalf("fixture: %d events, %v", len(events), err)
	}
	return b, events
}

// framedJournal writes events through a Journal (format 2) and returns
// the file's bytes.
func framedJournal(t *testing.T, events []rundir.Event) []byte {
	t.Helper()
	dir := t.TempDir()
	j, err := rundir.OpenJournal(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if err := j.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	b, err := os.ReadFile(filepath.Join(dir, rundir.JournalName))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeJournal(t *testing.T, b []byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, rundir.JournalName), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// lineEnds are the offsets just past each line's newline.
func lineEnds(b []byte) []int {
	var ends []int
	for i, c := range b {
		if c == '\n' {
			ends = append(ends, i+1)
		}
	}
	return ends
}

// TestJournalFormat: each record is one JSON object on its own line
// that begins with the format and the CRC-32C of the event's JSON, and
// reads back as the event written.
func TestJournalFormat(t *testing.T) {
	_, events := fixtureEvents(t)
	b := framedJournal(t, events)
	for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i+1, err, line)
		}
		if m["v"] != float64(2) || len(m["crc"].(string)) != 8 || !bytes.HasPrefix(line, []byte(`{"v":2,"crc":"`)) {
			t.Fatalf("line %d is not framed: %s", i+1, line)
		}
	}
	got, err := rundir.ReadJournal(writeJournal(t, b))
	if err != nil || !reflect.DeepEqual(got, events) {
		t.Fatalf("framed journal reads back %d events, %v; want the %d written", len(got), err, len(events))
	}
}

// TestJournalTornEveryOffset cuts a journal, of either format, at every
// byte inside its last three records, as a crash while writing leaves
// it: reading keeps every whole record before the cut and leaves out the
// torn one; opening it to append cuts the torn bytes off on disk, notes
// the cut in the journal, and what is appended then is never merged with
// the torn record.
func TestJournalTornEveryOffset(t *testing.T) {
	legacy, events := fixtureEvents(t)
	for _, tc := range []struct {
		name string
		b    []byte
	}{{"format1", legacy}, {"format2", framedJournal(t, events)}} {
		t.Run(tc.name, func(t *testing.T) {
			ends := lineEnds(tc.b)
			n := len(ends)
			from := ends[n-4]
			for off := from; off < len(tc.b); off++ {
				// Whole records before the cut: those whose newline is in.
				// A format 1 line missing only its newline parses: whole.
				whole := 0
				for _, e := range ends {
					if e <= off || tc.name == "format1" && e-1 == off {
						whole++
					}
				}
				torn := off != ends[whole-1] && !(tc.name == "format1" && ends[whole-1] == off+1)
				dir := writeJournal(t, tc.b[:off])
				c, err := rundir.ReadJournalContents(dir)
				if err != nil {
					t.Fatalf("cut at %d: %v", off, err)
				}
				if !reflect.DeepEqual(c.Events, events[:whole]) {
					t.Fatalf("cut at %d: read %d events, want the %d whole ones", off, len(c.Events), whole)
				}
				if torn != (c.Torn != nil) {
					t.Fatalf("cut at %d: torn %v, want %v", off, c.Torn, torn)
				}
				if torn && (c.Torn.Offset != int64(ends[whole-1]) || c.Torn.Bytes != int64(off-ends[whole-1]) || c.Torn.Line != whole+1) {
					t.Fatalf("cut at %d: torn %+v, want at %d, line %d", off, *c.Torn, ends[whole-1], whole+1)
				}

				j, err := rundir.OpenJournal(dir, nil)
				if err != nil {
					t.Fatalf("cut at %d: open: %v", off, err)
				}
				if (j.Cut() != nil) != torn {
					t.Fatalf("cut at %d: OpenJournal cut %v, want torn %v", off, j.Cut(), torn)
				}
				next := rundir.Event{Time: time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC), Type: rundir.EventRunStarted, Detail: map[string]string{"resumed": "true"}}
				if err := j.Write(next); err != nil {
					t.Fatal(err)
				}
				j.Close()
				after, err := rundir.ReadJournalContents(dir)
				if err != nil {
					t.Fatalf("cut at %d, then appended to: %v", off, err)
				}
				want := whole + 1
				if torn {
					want++ // the note of the cut
					note := after.Events[whole]
					if note.Type != rundir.EventNote || !strings.Contains(note.Detail["journal"], "torn by a crash") {
						t.Fatalf("cut at %d: no note of the cut: %+v", off, note)
					}
				}
				if len(after.Events) != want || after.Torn != nil || !reflect.DeepEqual(after.Events[:whole], events[:whole]) || after.Events[want-1].Type != rundir.EventRunStarted {
					t.Fatalf("cut at %d, then appended to: %d events (torn %v), want %d", off, len(after.Events), after.Torn, want)
				}
			}
		})
	}
}

// TestJournalGarbage: bytes that are not a record, at the end of a
// journal, are a torn end (cut off on open); followed by whole records
// they are damage: an error that names the file and the line and says
// what to do, and a journal that OpenJournal refuses to append to.
func TestJournalGarbage(t *testing.T) {
	_, events := fixtureEvents(t)
	framed := framedJournal(t, events)
	ends := lineEnds(framed)

	// Garbage appended at the end: torn.
	for _, junk := range []string{"garbage", "garbage\n", "\x00\x00\x00\x00", "{\"type\":\"run_finished\"}\nmore\n", `{"time":"2026-11-22T00:00:00Z","type":"run_finished","result":"passed"}` + "\n"} {
		dir := writeJournal(t, append(append([]byte{}, framed...), junk...))
		c, err := rundir.ReadJournalContents(dir)
		if err != nil || len(c.Events) != len(events) || c.Torn == nil || c.Torn.Offset != int64(len(framed)) {
			t.Fatalf("garbage %q at the end: %v, %d events, torn %v; want a torn end at %d", junk, err, len(c.Events), c.Torn, len(framed))
		}
		j, err := rundir.OpenJournal(dir, nil)
		if err != nil || j.Cut() == nil {
			t.Fatalf("garbage %q at the end: open %v, cut %v", junk, err, j.Cut())
		}
		j.Close()
		if evs, err := rundir.ReadJournal(dir); err != nil || len(evs) != len(events)+1 {
			t.Fatalf("garbage %q at the end, after the open: %d events, %v", junk, len(evs), err)
		}
	}

	// Garbage in the middle (line 5), or a record altered in place.
	mid := append(append(append([]byte{}, framed[:ends[3]]...), "garbage\n"...), framed[ends[3]:]...)
	altered := append([]byte{}, framed...)
	i := bytes.Index(altered[ends[5]:], []byte(`"type":"`)) + ends[5] + 8
	altered[i] ^= 0x01 // one bit of line 7
	// A record merged with the next (what resume did after a crash).
	merged := append(append([]byte{}, framed[:ends[3]-30]...), framed[ends[3]:]...)
	for _, tc := range []struct {
		name string
		b    []byte
		line int
	}{{"garbage", mid, 5}, {"altered", altered, 7}, {"merged", merged, 4}} {
		dir := writeJournal(t, tc.b)
		evs, err := rundir.ReadJournal(dir)
		var ce *rundir.CorruptError
		if !errors.As(err, &ce) || ce.Line != tc.line || len(evs) != tc.line-1 {
			t.Fatalf("%s: %d events, %v; want a CorruptError at line %d", tc.name, len(evs), err, tc.line)
		}
		msg := err.Error()
		for _, want := range []string{filepath.Join(dir, rundir.JournalName), "line " + itoa(tc.line), "backup", "new run"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: the error does not say %q: %s", tc.name, want, msg)
			}
		}
		if _, err := rundir.OpenJournal(dir, nil); !errors.As(err, &ce) {
			t.Errorf("%s: OpenJournal appends to a damaged journal: %v", tc.name, err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, rundir.JournalName)); !bytes.Equal(b, tc.b) {
			t.Errorf("%s: the damaged journal was changed", tc.name)
		}
	}
}

// TestJournalFormat1Appended: a format 1 journal (drplan before
// checksums) resumed by this drplan reads whole, old lines and new
// records; an unchecksummed line after a checksummed one is not a record.
func TestJournalFormat1Appended(t *testing.T) {
	legacy, events := fixtureEvents(t)
	// The old journal's last line lacks its newline: it is whole, and the
	// open gives it one before appending.
	dir := writeJournal(t, bytes.TrimSuffix(legacy, []byte("\n")))
	j, err := rundir.OpenJournal(dir, nil)
	if err != nil || j.Cut() != nil {
		t.Fatalf("open: %v, cut %v", err, j.Cut())
	}
	j.Write(rundir.Event{Type: rundir.EventNote})
	j.Close()
	c, err := rundir.ReadJournalContents(dir)
	if err != nil || len(c.Events) != len(events)+1 || c.Format != 2 {
		t.Fatalf("format 1 then 2: %d events, format %d, %v", len(c.Events), c.Format, err)
	}
	// An unframed line after framed records, followed by a framed one.
	b, _ := os.ReadFile(filepath.Join(dir, rundir.JournalName))
	last := lineEnds(legacy)
	unframed := legacy[last[0]:last[1]]
	dir2 := writeJournal(t, append(append(append([]byte{}, b...), unframed...), framedJournal(t, events[:1])...))
	var ce *rundir.CorruptError
	if _, err := rundir.ReadJournal(dir2); !errors.As(err, &ce) || ce.Line != len(events)+2 {
		t.Fatalf("an unframed line among framed records: %v", err)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
