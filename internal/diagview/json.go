package diagview

import (
	"encoding/json"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcled"

	"github.com/drplan/drplan/internal/words"
)

// FormatVersion is the version of the JSON validate document.
const FormatVersion = "1.0"

// Document is the JSON result of drplan validate -json, in the shape of
// terraform validate -json.
type Document struct {
	FormatVersion string       `json:"format_version"`
	Valid         bool         `json:"valid"`
	ErrorCount    int          `json:"error_count"`
	WarningCount  int          `json:"warning_count"`
	Diagnostics   []Diagnostic `json:"diagnostics"`
}

// Diagnostic is one diagnostic in JSON.
type Diagnostic struct {
	Severity string   `json:"severity"`
	Summary  string   `json:"summary"`
	Detail   string   `json:"detail"`
	Range    *Range   `json:"range,omitempty"`
	Snippet  *Snippet `json:"snippet,omitempty"`
}

// Range is a source range; lines and columns count from 1, bytes from 0.
type Range struct {
	Filename string `json:"filename"`
	Start    Pos    `json:"start"`
	End      Pos    `json:"end"`
}

// Pos is a position in a source file.
type Pos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// Snippet is the source code around a diagnostic's range.
type Snippet struct {
	Context              *string `json:"context"`
	Code                 string  `json:"code"`
	StartLine            int     `json:"start_line"`
	HighlightStartOffset int     `json:"highlight_start_offset"`
	HighlightEndOffset   int     `json:"highlight_end_offset"`
	Values               []any   `json:"values"`
}

// NewDocument builds the JSON document for diags. redact, if not nil,
// scrubs secrets from snippets of source code.
func NewDocument(files map[string]*hcl.File, diags hcl.Diagnostics, redact func(string) string) Document {
	doc := Document{FormatVersion: FormatVersion, Diagnostics: []Diagnostic{}}
	for _, d := range diags {
		doc.Diagnostics = append(doc.Diagnostics, NewDiagnostic(files, d, redact))
		if d.Severity == hcl.DiagError {
			doc.ErrorCount++
		} else {
			doc.WarningCount++
		}
	}
	doc.Valid = doc.ErrorCount == 0
	return doc
}

// NewDiagnostic converts one diagnostic.
func NewDiagnostic(files map[string]*hcl.File, d *hcl.Diagnostic, redact func(string) string) Diagnostic {
	out := Diagnostic{Severity: "error", Summary: words.ShortenValues(d.Summary), Detail: words.ShortenValues(d.Detail)}
	if d.Severity == hcl.DiagWarning {
		out.Severity = "warning"
	}
	if r := d.Subject; r != nil {
		out.Range = &Range{
			Filename: r.Filename,
			Start:    Pos{r.Start.Line, r.Start.Column, r.Start.Byte},
			End:      Pos{r.End.Line, r.End.Column, r.End.Byte},
		}
		out.Snippet = snippet(files[r.Filename], *r)
		if s := out.Snippet; s != nil && redact != nil {
			if code := redact(s.Code); code != s.Code {
				// Offsets into the original line would now point
				// elsewhere: highlight the whole redacted code.
				s.Code, s.HighlightStartOffset, s.HighlightEndOffset = code, 0, len(code)
			}
		}
	}
	return out
}

// snippet returns the whole lines that the range covers.
func snippet(f *hcl.File, r hcl.Range) *Snippet {
	if f == nil || r.Start.Byte > len(f.Bytes) || r.End.Byte > len(f.Bytes) || r.Start.Byte > r.End.Byte {
		return nil
	}
	src := f.Bytes
	start := r.Start.Byte
	for start > 0 && src[start-1] != '\n' {
		start--
	}
	end := r.End.Byte
	if end > start && end > r.Start.Byte && src[end-1] == '\n' {
		end--
	}
	for end < len(src) && src[end] != '\n' {
		end++
	}
	s := &Snippet{
		Code:                 strings.TrimRight(string(src[start:end]), "\r"),
		StartLine:            r.Start.Line,
		HighlightStartOffset: r.Start.Byte - start,
		HighlightEndOffset:   r.End.Byte - start,
		Values:               []any{},
	}
	if utf8.RuneCountInString(s.Code) > words.MaxValueLen {
		// Offsets are in bytes: clip in characters, then convert back.
		code := s.Code
		hs, he := min(s.HighlightStartOffset, len(code)), min(s.HighlightEndOffset, len(code))
		c := ClipLine(code, utf8.RuneCountInString(code[:hs])+1, utf8.RuneCountInString(code[:he])+1)
		r := []rune(c.Text)
		s.Code = c.Text
		s.HighlightStartOffset = len(string(r[:c.From-1]))
		s.HighlightEndOffset = len(string(r[:c.To-1]))
	}
	if c := hcled.ContextString(f, r.Start.Byte); c != "" {
		s.Context = &c
	}
	return s
}

// WriteJSON writes the document, indented, with a final newline.
func WriteJSON(w io.Writer, doc Document) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
