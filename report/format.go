package report

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/drplan/drplan/rundir"
)

// Format is one rendering of a report.
type Format string

// The formats, each written into a run's folder as File().
const (
	JSON     Format = "json"  // report.json, the stable schema of docs/report.md
	HTML     Format = "html"  // report.html, one self-contained page
	Markdown Format = "md"    // report.md, for pull requests and chat
	JUnit    Format = "junit" // report.junit.xml, for CI systems
)

// Formats are every format, in the order runs write them.
var Formats = []Format{JSON, HTML, Markdown, JUnit}

// ParseFormat reads a -format value.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	switch s {
	case "markdown":
		return Markdown, nil
	case "xml":
		return JUnit, nil
	}
	return "", fmt.Errorf("%q is not a report format; use html, md, json or junit", s)
}

// FormatOf guesses a format from a file name's extension: .html, .md,
// .json or .xml.
func FormatOf(name string) (Format, bool) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".html", ".htm":
		return HTML, true
	case ".md", ".markdown":
		return Markdown, true
	case ".json":
		return JSON, true
	case ".xml":
		return JUnit, true
	}
	return "", false
}

// File is the name the format is written under in a run's folder
// (rundir names the folder's files).
func (f Format) File() string {
	switch f {
	case JSON:
		return rundir.ReportJSON
	case HTML:
		return rundir.ReportHTML
	case Markdown:
		return rundir.ReportMarkdown
	case JUnit:
		return rundir.ReportJUnit
	}
	return "report." + string(f)
}

// Write renders the report in format f.
func (r *Report) Write(w io.Writer, f Format) error {
	switch f {
	case JSON:
		return r.WriteJSON(w)
	case HTML:
		return r.WriteHTML(w)
	case Markdown:
		return r.WriteMarkdown(w)
	case JUnit:
		return r.WriteJUnit(w)
	}
	return fmt.Errorf("unknown report format %q", f)
}
