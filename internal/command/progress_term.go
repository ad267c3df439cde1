package command

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/term"
)

// The status area: on a terminal, what a run has under way is drawn below
// the progress lines, and drawn again in place (the cursor moved up over
// it, the screen erased below) whenever a line scrolls above it and at
// every tick of a wall-clock ticker:
//
//	  tier.db: 1/2 VMs ready [3m]
//	    db-02 booting… [1m30s]
//	  elapsed 4m30s, wall 12s
//
// Times are plan time (the run's clock), except the last line's wall
// time. Plain ANSI cursor codes are all it takes, so there is no TUI
// library: golang.org/x/term says whether the output is a terminal and
// how wide it is.

// redrawEvery is how often the status area is drawn again.
const redrawEvery = 500 * time.Millisecond

// mostShown is how many lines the status area takes at most.
const mostShown = 12

// A fakeTerminal is a writer that stands for a terminal (tests).
type fakeTerminal interface {
	io.Writer
	TerminalWidth() int
}

// terminalWidth reports whether w is a terminal, and its width in columns
// (0 when unknown).
func terminalWidth(w io.Writer) (int, bool) {
	switch w := w.(type) {
	case fakeTerminal:
		return w.TerminalWidth(), true
	case *os.File:
		if !term.IsTerminal(int(w.Fd())) {
			return 0, false
		}
		width, _, err := term.GetSize(int(w.Fd()))
		if err != nil {
			return 0, true
		}
		return width, true
	}
	return 0, false
}

// redraw erases the status area, prints line (if not ""), and draws the
// area again, in one write; with nothing new it writes nothing.
func (pr *progress) redraw(line string) {
	var area []string
	if pr.running && pr.prompts == 0 {
		area = pr.status()
	}
	text := strings.Join(area, "\n")
	if line == "" && text == pr.area && len(area) == pr.shown {
		return
	}
	var b strings.Builder
	if pr.shown > 0 {
		fmt.Fprintf(&b, "\r\x1b[%dA\x1b[J", pr.shown)
	}
	if line != "" {
		b.WriteString(line + "\n")
	}
	width, _ := terminalWidth(pr.w)
	if width <= 0 {
		width = 80
	}
	for _, l := range area {
		b.WriteString(clip(pr.redact(l), width-1) + "\n")
	}
	pr.shown, pr.area = len(area), text
	io.WriteString(pr.w, b.String())
}

// status is the status area's lines: the tiers under way with their
// steps under way, the other steps under way, and the time since the
// run's start.
func (pr *progress) status() []string {
	var out []string
	ws := pr.underWay()
	inTier := map[string]bool{}
	for _, t := range pr.tiers {
		inTier[t] = true
		since := clockText(pr.now().Sub(pr.tierAt[t]))
		if pr.mode == "cleanup" {
			out = append(out, fmt.Sprintf("  tier.%s cleaning up… [%s]", t, since))
		} else {
			out = append(out, fmt.Sprintf("  tier.%s: %d/%d VMs ready [%s]", t, pr.ready[t], pr.total[t], since))
		}
		for _, w := range ws {
			if w.step.Tier == t {
				out = append(out, fmt.Sprintf("    %s [%s]", doing(w.step), clockText(pr.elapsed(w))))
			}
		}
	}
	for _, w := range ws {
		if !inTier[w.step.Tier] {
			out = append(out, fmt.Sprintf("  %s [%s]", doing(w.step), clockText(pr.elapsed(w))))
		}
	}
	if len(out) > mostShown-1 {
		out = append(out[:mostShown-2], fmt.Sprintf("  … and %d more", len(out)-(mostShown-2)))
	}
	return append(out, fmt.Sprintf("  elapsed %s, wall %s", clockText(pr.now().Sub(pr.start)), clockText(pr.wall().Sub(pr.wallStart))))
}

// clip cuts s to n columns (runes), marking the cut with "…".
func clip(s string, n int) string {
	if n < 1 || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
