package diagview

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcled"
	"github.com/mitchellh/go-wordwrap"

	"github.com/drplan/drplan/internal/words"
)

// Text writes diagnostics for people.
type Text struct {
	Files map[string]*hcl.File
	Color bool
	Width int // wrap details at this many columns; 0 means 78
	// Redact, if set, scrubs secrets from the source lines shown: a
	// sensitive default or a literal password sits in the plan's own text.
	Redact func(string) string
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
)

// Write renders every diagnostic in order.
func (t Text) Write(w io.Writer, diags hcl.Diagnostics) error {
	for _, d := range diags {
		if err := t.WriteOne(w, d); err != nil {
			return err
		}
	}
	return nil
}

// WriteOne renders one diagnostic.
func (t Text) WriteOne(w io.Writer, d *hcl.Diagnostic) error {
	var b bytes.Buffer
	head, color := "Error: ", ansiRed
	if d.Severity == hcl.DiagWarning {
		head, color = "Warning: ", ansiYellow
	}
	if t.Color {
		head = ansiBold + color + head + ansiReset + ansiBold
	}
	fmt.Fprintf(&b, "%s%s", head, words.ShortenValues(d.Summary))
	if t.Color {
		b.WriteString(ansiReset)
	}
	b.WriteString("\n")
	if d.Subject != nil {
		b.WriteString("\n")
		t.snippet(&b, d.Subject)
	}
	if d.Detail != "" {
		width := t.Width
		if width == 0 {
			width = 78
		}
		b.WriteString("\n")
		for _, para := range strings.Split(words.ShortenValues(d.Detail), "\n") {
			b.WriteString(wordwrap.WrapString(para, uint(width-2)))
			b.WriteString("\n")
		}
	}

	// Frame it the way Terraform does, so that diagnostics stand apart
	// from other output.
	var out bytes.Buffer
	out.WriteString("╷\n")
	sc := bufio.NewScanner(&b)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			out.WriteString("│\n")
		} else {
			out.WriteString("│ " + line + "\n")
		}
	}
	out.WriteString("╵\n")
	_, err := w.Write(out.Bytes())
	return err
}

// snippet writes "on FILE line N, in CONTEXT:", the source line(s) and an
// underline of the subject.
func (t Text) snippet(b *bytes.Buffer, rng *hcl.Range) {
	f := t.Files[rng.Filename]
	ctx := ""
	if f != nil {
		if c := hcled.ContextString(f, rng.Start.Byte); c != "" {
			ctx = ", in " + c
		}
	}
	fmt.Fprintf(b, "  on %s line %d%s:\n", rng.Filename, rng.Start.Line, ctx)
	if f == nil || f.Bytes == nil {
		return
	}
	if rng.Start.Line < 1 {
		return
	}
	lines := sourceLines(f.Bytes, *rng)
	if len(lines) == 0 {
		return
	}
	end := rng.End.Line
	if end > rng.Start.Line && rng.End.Column == 1 {
		end-- // the range stops at the start of a line: show only up to the previous one
	}
	last := min(end, rng.Start.Line+2, rng.Start.Line+len(lines)-1)
	last = max(last, rng.Start.Line)
	for n := rng.Start.Line; n <= last; n++ {
		text := strings.TrimRight(strings.ReplaceAll(lines[n-rng.Start.Line], "\t", " "), "\r")
		if t.Redact != nil {
			if r := t.Redact(text); r != text {
				fmt.Fprintf(b, "  %3d: %s\n", n, ClipLine(r, 1, 1).Text)
				continue // the underline would no longer line up
			}
		}
		from, to := 1, len([]rune(text))+1
		if n == rng.Start.Line {
			from = rng.Start.Column
		}
		if n == rng.End.Line && n == end {
			to = rng.End.Column
		}
		if to <= from {
			to = from + 1
		}
		c := ClipLine(text, from, to)
		prefix := fmt.Sprintf("  %3d: ", n)
		fmt.Fprintf(b, "%s%s\n", prefix, c.Text)
		if strings.TrimSpace(text) == "" {
			continue
		}
		fmt.Fprintf(b, "%s%s\n", strings.Repeat(" ", len(prefix)+c.From-1), strings.Repeat("^", c.To-c.From))
	}
}

// sourceLines returns the lines of src from the one where rng starts, at
// most three, without reading more of src than they hold: a file of many
// lines with many diagnostics is not split whole for each.
func sourceLines(src []byte, rng hcl.Range) []string {
	start := rng.Start.Byte
	if start < 0 || start > len(src) {
		return nil
	}
	for start > 0 && src[start-1] != '\n' {
		start--
	}
	var out []string
	for len(out) < 3 {
		i := bytes.IndexByte(src[start:], '\n')
		if i < 0 {
			out = append(out, string(src[start:]))
			break
		}
		out = append(out, string(src[start:start+i]))
		start += i + 1
		if start >= len(src) {
			break
		}
	}
	return out
}

// Clipped is a source line shortened for display, with the columns of
// its highlight in the shortened text.
type Clipped struct {
	Text     string
	From, To int // 1-based columns in characters, To exclusive
}

// clipContext is how many characters of a long line ClipLine keeps on each
// side of the highlight.
const clipContext = 40

// ClipLine shortens a source line longer than words.MaxValueLen characters
// for display: the highlighted columns [from, to) (1-based, in
// characters) are shortened as words.Shorten does, and the text around
// them cut to a few characters with "…". Shorter lines are returned as they
// are.
func ClipLine(text string, from, to int) Clipped {
	r := []rune(text)
	if len(r) <= words.MaxValueLen {
		return Clipped{text, from, to}
	}
	from = min(max(from, 1), len(r)+1)
	to = min(max(to, from), len(r)+1)
	before, mid, after := string(r[:from-1]), string(r[from-1:to-1]), string(r[to-1:])
	if rb := []rune(before); len(rb) > clipContext {
		before = "…" + string(rb[len(rb)-clipContext:])
	}
	if ra := []rune(after); len(ra) > clipContext {
		after = string(ra[:clipContext]) + "…"
	}
	mid = words.Shorten(mid)
	start := utf8.RuneCountInString(before) + 1
	end := start + utf8.RuneCountInString(mid)
	if to == from {
		end = start
	}
	return Clipped{before + mid + after, start, end}
}
