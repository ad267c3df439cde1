package command

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/drplan/drplan/internal/history"
	"github.com/drplan/drplan/operations"
	"github.com/drplan/drplan/report"
	"github.com/drplan/drplan/rundir"
)

// journalRun runs a failover of the roundtrip plan against a live
// world and returns the plan directory, the -var flags, the run's id and
// folder, and a copy of that folder as the run left it.
func journalRun(t *testing.T) (dir string, vars []string, id, runDir, saved string) {
	t.Helper()
	dir, _, vars = liveWorld(t, "")
	code, out, rep := runMode(t, dir, vars, "failover")
	if code != ExitOK || rep.Result != "passed" {
		t.Fatalf("failover: exit %d, %s\n%s", code, rep.Result, out)
	}
	id = rep.RunID
	runDir = filepath.Join(dir, ".drplan", "runs", id)
	saved = filepath.Join(t.TempDir(), id)
	if err := os.CopyFS(saved, os.DirFS(runDir)); err != nil {
		t.Fatal(err)
	}
	return dir, vars, id, runDir, saved
}

// restoreRun puts the saved run folder back with journal as its journal
// (nil: none) and without its report.
func restoreRun(t *testing.T, saved, runDir string, journal []byte) {
	t.Helper()
	if err := os.RemoveAll(runDir); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(runDir, os.DirFS(saved)); err != nil {
		t.Fatal(err)
	}
	for _, f := range report.Formats {
		os.Remove(filepath.Join(runDir, f.File()))
	}
	os.Remove(filepath.Join(runDir, rundir.JournalName))
	if journal != nil {
		if err := os.WriteFile(filepath.Join(runDir, rundir.JournalName), journal, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func journalLineEnds(b []byte) []int {
	var ends []int
	for i, c := range b {
		if c == '\n' {
			ends = append(ends, i+1)
		}
	}
	return ends
}

// TestJournalTornResume takes a live failover's journal and cuts it at
// every byte inside its last three records, as a SIGKILL while writing
// leaves it. At every cut, the journal reads as its whole records before
// the cut, and drplan runs and the report say one failover run,
// interrupted (its end is cut off). At a sample of cuts, drplan resume
// warns of the torn record it cuts off, notes it in the journal, never
// merges it with what it appends, and converges: one failover run that
// passed, in the report, in drplan runs, and in the journal read again.
func TestJournalTornResume(t *testing.T) {
	dir, vars, id, runDir, saved := journalRun(t)
	full, err := os.ReadFile(filepath.Join(saved, rundir.JournalName))
	if err != nil {
		t.Fatal(err)
	}
	all, err := rundir.ReadJournal(saved)
	if err != nil {
		t.Fatal(err)
	}
	ends := journalLineEnds(full)
	n := len(ends)
	if n != len(all) || n < 4 || all[n-1].Type != rundir.EventRunFinished {
		t.Fatalf("the failover's journal: %d lines, %d events", n, len(all))
	}
	from := ends[n-4]
	whole := func(off int) int {
		w := 0
		for _, e := range ends {
			if e <= off {
				w++
			}
		}
		return w
	}

	// Reading: every cut.
	scratch := filepath.Join(t.TempDir(), id)
	for off := from; off < len(full); off++ {
		restoreRun(t, saved, scratch, full[:off])
		w := whole(off)
		c, err := rundir.ReadJournalContents(scratch)
		if err != nil || len(c.Events) != w || (c.Torn != nil) != (off != ends[w-1]) {
			t.Fatalf("cut at %d: %d events, torn %v, %v; want the %d whole ones", off, len(c.Events), c.Torn, err, w)
		}
		r := history.Read(scratch)
		if r == nil || r.Result != "interrupted" || !slices.Equal(r.Modes, []string{"failover"}) || r.Err != nil {
			t.Fatalf("cut at %d: drplan runs would say %+v; want one failover, interrupted", off, r)
		}
		rep, err := operations.RunReport(scratch, report.Input{})
		if err != nil || rep.Result != "interrupted" || len(rep.Runs) != 1 || rep.Runs[0].Mode != "failover" {
			t.Fatalf("cut at %d: report %v, %v; want one failover run, interrupted", off, rep, err)
		}
	}

	// Resuming: a sample of cuts (a resume takes about 0.3 s): the first
	// and last bytes of each of the three records, one in their middle,
	// and every 37th byte.
	var cuts []int
	for i := n - 3; i < n; i++ {
		start, end := ends[i-1], ends[i]
		cuts = append(cuts, start, start+1, (start+end)/2, end-2, end-1)
	}
	for off := from; off < len(full); off += 37 {
		cuts = append(cuts, off)
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)
	for _, off := range cuts {
		restoreRun(t, saved, runDir, full[:off])
		w := whole(off)
		torn := off != ends[w-1]
		code, out := runCLI(t, append(append([]string{"resume"}, vars...), id, dir)...)
		if code != ExitOK || !strings.Contains(out, "Run "+id+" passed.") {
			t.Fatalf("cut at %d: resume exit %d\n%s", off, code, out)
		}
		warning := fmt.Sprintf("Warning: the journal's last record was torn by a crash at byte %d; it was cut off", ends[w-1])
		if strings.Contains(out, warning) != torn || torn != strings.Contains(out, "torn by a crash") {
			t.Fatalf("cut at %d (torn %v): the resume's warning is wrong, want %q:\n%s", off, torn, warning, out)
		}
		events, err := rundir.ReadJournal(runDir)
		if err != nil {
			t.Fatalf("cut at %d: the resumed journal: %v", off, err)
		}
		if !slices.EqualFunc(events[:w], all[:w], func(a, b rundir.Event) bool { return a.Time.Equal(b.Time) && a.Type == b.Type && a.Step == b.Step }) {
			t.Fatalf("cut at %d: the resume changed the journal's first %d records", off, w)
		}
		if got := events[w].Type == rundir.EventNote && strings.Contains(events[w].Detail["journal"], "torn by a crash"); got != torn {
			t.Fatalf("cut at %d (torn %v): record %d after the resume is %+v", off, torn, w+1, events[w])
		}
		if last := events[len(events)-1]; last.Type != rundir.EventRunFinished || last.Result != "passed" {
			t.Fatalf("cut at %d: the resumed journal ends with %+v", off, last)
		}
		rep, err := report.ReadFile(filepath.Join(runDir, report.JSON.File()))
		if err != nil || rep.Result != "passed" || len(rep.Runs) != 1 || rep.Runs[0].Result != "passed" {
			t.Fatalf("cut at %d: report.json %+v, %v; want one failover run that passed", off, rep, err)
		}
		if r := history.Read(runDir); r == nil || r.Result != "passed" || len(r.Modes) != 1 {
			t.Fatalf("cut at %d: drplan runs would say %+v", off, r)
		}
		// Resumed again, it has passed already.
		if code, out := runCLI(t, append(append([]string{"resume"}, vars...), id, dir)...); code != ExitOK || !strings.Contains(out, "has passed already") {
			t.Fatalf("cut at %d: second resume exit %d\n%s", off, code, out)
		}
	}
	t.Logf("read at %d cuts, resumed at %d", len(full)-from, len(cuts))
}

// TestJournalDamagedResume: garbage inside a journal (whole records
// after it) is an error that names the file and the line and says what
// to do: resume changes nothing, drplan runs lists the run as damaged,
// report refuses. Garbage appended at the end is a torn end: resume cuts
// it off and passes. A run whose journal is empty, missing, or holds
// only a torn record is not resumed: exit 1, saying why, and the run
// does not restart from step one.
func TestJournalDamagedResume(t *testing.T) {
	dir, vars, id, runDir, saved := journalRun(t)
	full, _ := os.ReadFile(filepath.Join(saved, rundir.JournalName))
	ends := journalLineEnds(full)
	n := len(ends)
	resume := func() (int, string) {
		return runCLI(t, append(append([]string{"resume"}, vars...), id, dir)...)
	}
	journal := func() []byte {
		b, _ := os.ReadFile(filepath.Join(runDir, rundir.JournalName))
		return b
	}

	// Garbage inside, at line 4; the run's end cut off, so that it would
	// be resumed.
	damaged := slices.Concat(full[:ends[2]], []byte("garbage\n"), full[ends[2]:ends[n-2]])
	restoreRun(t, saved, runDir, damaged)
	code, out := resume()
	path := filepath.Join(runDir, rundir.JournalName)
	if code != ExitError || !strings.Contains(out, path+" line 4") || !strings.Contains(out, "backup") || !strings.Contains(out, "new run") {
		t.Errorf("resume of a journal with garbage at line 4: exit %d, want 1 naming %s line 4 and what to do:\n%s", code, path, out)
	}
	if !bytes.Equal(journal(), damaged) {
		t.Errorf("resume changed a damaged journal")
	}
	code, out = runCLI(t, "runs", dir)
	if code != ExitOK || !strings.Contains(out, "damaged") || !strings.Contains(out, "Warning: run "+id+": "+path+" line 4") {
		t.Errorf("drplan runs with a damaged journal: exit %d\n%s", code, out)
	}
	code, out = runCLI(t, "report", id, "-format", "json", dir)
	if code != ExitError || !strings.Contains(out, path+" line 4") {
		t.Errorf("drplan report with a damaged journal: exit %d\n%s", code, out)
	}

	// Garbage appended at the end: a torn end.
	tail := slices.Concat(full[:ends[n-2]], []byte("\x00\x00garbage{\"type\":"))
	restoreRun(t, saved, runDir, tail)
	code, out = resume()
	if code != ExitOK || !strings.Contains(out, fmt.Sprintf("the journal's last record was torn by a crash at byte %d; it was cut off", ends[n-2])) {
		t.Errorf("resume of a journal with garbage at its end: exit %d\n%s", code, out)
	}
	if rep, err := report.ReadFile(filepath.Join(runDir, report.JSON.File())); err != nil || rep.Result != "passed" || len(rep.Runs) != 1 {
		t.Errorf("report after garbage at the end was cut off: %+v, %v", rep, err)
	}

	// Nothing to resume.
	for _, tc := range []struct {
		name    string
		journal []byte
		why     string
	}{
		{"empty", []byte{}, "journal.jsonl is empty"},
		{"torn only", full[:ends[0]/2], "journal.jsonl is empty"},
		{"missing", nil, "has no journal.jsonl"},
	} {
		restoreRun(t, saved, runDir, tc.journal)
		code, out := resume()
		if code != ExitError || !strings.Contains(out, "run "+id+" has no journal events") || !strings.Contains(out, tc.why) ||
			!strings.Contains(out, "nothing was resumed") || !strings.Contains(out, "drplan run -mode failover") {
			t.Errorf("resume of a run whose journal is %s: exit %d, want 1 saying nothing was resumed and why:\n%s", tc.name, code, out)
		}
		if strings.Contains(out, "resuming") || strings.Contains(out, "passed") {
			t.Errorf("resume of a run whose journal is %s ran:\n%s", tc.name, out)
		}
		if b, err := os.ReadFile(filepath.Join(runDir, rundir.JournalName)); (tc.journal == nil) != os.IsNotExist(err) || !bytes.Equal(b, tc.journal) {
			t.Errorf("resume of a run whose journal is %s changed it: %q, %v", tc.name, b, err)
		}
	}
}
