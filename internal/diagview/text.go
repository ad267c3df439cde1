package diagview

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcled"
	"github.com/mitchellh/go-wordwrap"
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
	fmt.Fprintf(&b, "%s%s", head, d.Summary)
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
		for _, para := range strings.Split(d.Detail, "\n") {
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
	lines := strings.Split(string(f.Bytes), "\n")
	if rng.Start.Line < 1 || rng.Start.Line > len(lines) {
		return
	}
	end := rng.End.Line
	if end > rng.Start.Line && rng.End.Column == 1 {
		end-- // the range stops at the start of a line: show only up to the previous one
	}
	last := min(end, rng.Start.Line+2, len(lines))
	last = max(last, rng.Start.Line)
	for n := rng.Start.Line; n <= last; n++ {
		text := strings.TrimRight(strings.ReplaceAll(lines[n-1], "\t", " "), "\r")
		if t.Redact != nil {
			if r := t.Redact(text); r != text {
				fmt.Fprintf(b, "  %3d: %s\n", n, r)
				continue // the underline would no longer line up
			}
		}
		prefix := fmt.Sprintf("  %3d: ", n)
		fmt.Fprintf(b, "%s%s\n", prefix, text)
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
		if strings.TrimSpace(text) == "" {
			continue
		}
		fmt.Fprintf(b, "%s%s%s\n", strings.Repeat(" ", len(prefix)+from-1), "", strings.Repeat("^", to-from))
	}
}
