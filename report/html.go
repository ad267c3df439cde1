package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"
)

// The HTML report is one self-contained page: its CSS is inline, its
// timeline is inline SVG, it runs no script, and its Content-Security-
// Policy forbids every fetch, so it reads the same offline, attached to a
// ticket years later, or printed to PDF (print CSS: landscape pages,
// colours kept, rows not split).

//go:embed report.html.tmpl
var htmlSource string

//go:embed report.css
var htmlCSS string

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"secs":        FormatSeconds,
	"tierStarted": TierStarted,
	"tierDone":    TierDoneAt,
	"n":           func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
	"wall":        func(f float64) string { return fmt.Sprintf("%.1fs", f) },
	"took":        stepTook,
	"utc": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"upper":   strings.ToUpper,
	"words":   func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	"retries": func(attempts int) int { return max(attempts-1, 0) },
	"metword": metWord,
}).Parse(htmlSource))

// htmlPage is what the template renders.
type htmlPage struct {
	*Report
	CSS           template.CSS
	Timeline      *timeline
	Phases        []struct{ Phase, Label string }
	Summary       string
	Took          string
	OtherWarnings []string
}

// WriteHTML renders the report as one self-contained HTML page.
func (r *Report) WriteHTML(w io.Writer) error {
	return htmlTemplate.Execute(w, htmlPage{
		Report: r, CSS: template.CSS(htmlCSS), Timeline: r.timeline(), Phases: phaseOrder,
		Summary: r.summaryLine(), Took: r.tookWords(), OtherWarnings: r.otherWarnings(),
	})
}
