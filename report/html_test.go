package report

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromium finds a Chromium or Chrome: DRPLAN_CHROMIUM, else the usual
// names. The CI script installs Debian's chromium package; without a
// browser the test fails and says how to get one.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("DRPLAN_CHROMIUM"); p != "" {
		return p
	}
	names := []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}
	if runtime.GOOS == "darwin" {
		names = append(names, "/Applications/Chromium.app/Contents/MacOS/Chromium", "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome")
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Fatalf("the HTML report is tested in a headless Chromium, and none is installed: install Debian's chromium package (apt-get install -y chromium; .ci/run does), or set DRPLAN_CHROMIUM to a Chromium or Chrome binary")
	return ""
}

// TestHTMLInChromium opens the HTML report of the fixed drill in headless
// Chromium, as an operator would from the run's folder: the page loads
// with no console error and fetches nothing but itself, the timeline SVG
// has one row per VM (in tier bands) and per custom step, failed and
// skipped steps are marked, the RTO target has its line, and the page
// prints to PDF. The screenshot is left in the test's temporary directory.
func TestHTMLInChromium(t *testing.T) {
	exe := chromium(t)
	r := fixture(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.NoFirstRun,
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(filepath.Join(dir, "profile")), chromedp.WindowSize(1280, 900))
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	// Console calls, uncaught exceptions, browser log entries (a CSP
	// violation, a failed load) and requests, as they come.
	var mu sync.Mutex
	var problems, requests []string
	err := chromedp.Listen(bctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *cdpruntime.EventConsoleAPICalled:
			if e.Type == cdpruntime.ConsoleAPICalledTypeError || e.Type == cdpruntime.ConsoleAPICalledTypeWarning || e.Type == cdpruntime.ConsoleAPICalledTypeAssert {
				problems = append(problems, "console "+string(e.Type))
			}
		case *cdpruntime.EventExceptionThrown:
			problems = append(problems, "exception: "+e.ExceptionDetails.Text)
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
				problems = append(problems, "log "+string(e.Entry.Source)+": "+e.Entry.Text)
			}
		case *network.EventRequestWillBeSent:
			requests = append(requests, e.Request.URL)
		}
	})
	if err != nil {
		t.Fatalf("cannot start %s: %v", exe, err)
	}
	url := "file://" + filepath.ToSlash(page)
	if err := chromedp.Do(bctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("loading the report in %s: %v", exe, err)
	}

	type row struct {
		VM, Step, Tier, Label string
		Bars                  int
	}
	type pageFacts struct {
		Title     string
		Rows      []row
		Bands     []string
		Failed    int
		Skipped   int
		Target    int
		TargetX   float64
		Width     float64
		Sections  []string
		SVGHeight float64
		Cut       []string // texts that run off the chart
	}
	facts, err := chromedp.Run(bctx, chromedp.Evaluate[pageFacts](`(() => {
		const svg = document.querySelector('svg#gantt');
		if (!svg) return {Title: document.title, Rows: [], Bands: [], Sections: []};
		const rows = [...svg.querySelectorAll('g.row')].map(g => ({
			VM: g.dataset.vm || '', Step: g.dataset.step || '', Tier: g.dataset.tier || '',
			Label: g.querySelector('text.row-label').firstChild.textContent,
			Bars: g.querySelectorAll('rect.bar').length}));
		const target = svg.querySelector('g.rto-target line');
		return {
			Title: document.title, Rows: rows,
			Bands: [...svg.querySelectorAll('g.band text.band-label')].map(t => t.textContent),
			Failed: svg.querySelectorAll('g.mark-failed').length,
			Skipped: svg.querySelectorAll('g.mark-skipped').length,
			Target: svg.querySelectorAll('g.rto-target').length,
			TargetX: target ? target.getBoundingClientRect().x : 0,
			Width: svg.getBoundingClientRect().width,
			SVGHeight: svg.getBoundingClientRect().height,
			Sections: [...document.querySelectorAll('section[id]')].map(s => s.id),
			Cut: (() => {
				const box = svg.getBoundingClientRect();
				return [...svg.querySelectorAll('text')].filter(t => {
					const b = t.getBoundingClientRect();
					return b.left < box.left - 1 || b.right > box.right + 1;
				}).map(t => t.textContent);
			})()};
	})()`))
	if err != nil {
		t.Fatalf("reading the page: %v", err)
	}
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	shotFile := filepath.Join(dir, "report.png")
	if err := os.WriteFile(shotFile, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	pdf, err := chromedp.Run(bctx, chromedp.PrintToPDF(chromedp.PDFPreferCSSPageSize(), chromedp.PDFPrintBackground()))
	if err != nil {
		t.Fatalf("printing to PDF: %v", err)
	}
	t.Logf("screenshot %s (%dx%d), PDF %d bytes", shotFile, img.Bounds().Dx(), img.Bounds().Dy(), len(pdf))

	// The same run against a target far beyond it: the target's line sits
	// at the right edge, and its label must still show.
	far := fixture(t)
	far.RTO.TargetSeconds = 45 * 60
	buf.Reset()
	if err := far.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	farPage := filepath.Join(dir, "far.html")
	if err := os.WriteFile(farPage, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	farURL := "file://" + filepath.ToSlash(farPage)
	if err := chromedp.Do(bctx, chromedp.Navigate(farURL)); err != nil {
		t.Fatalf("loading the second report: %v", err)
	}
	farFacts, err := chromedp.Run(bctx, chromedp.Evaluate[pageFacts](`(() => {
		const svg = document.querySelector('svg#gantt'), box = svg.getBoundingClientRect();
		return {Cut: [...svg.querySelectorAll('text')].filter(t => {
			const b = t.getBoundingClientRect();
			return b.left < box.left - 1 || b.right > box.right + 1;
		}).map(t => t.textContent)};
	})()`))
	if err != nil {
		t.Fatalf("reading the second report: %v", err)
	}
	if len(farFacts.Cut) > 0 {
		t.Errorf("with the RTO target at the right edge, labels run off the timeline: %q", farFacts.Cut)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("the page has console errors or warnings:\n%s", strings.Join(problems, "\n"))
	}
	for _, u := range requests {
		if u != url && u != farURL {
			t.Errorf("the page fetched %s; a report must be self-contained", u)
		}
	}
	if !strings.HasPrefix(facts.Title, `Drill of plan "shop"`) || !strings.Contains(facts.Title, "FAILED") {
		t.Errorf("title %q", facts.Title)
	}
	var vms, steps []string
	for _, row := range facts.Rows {
		switch {
		case row.VM != "":
			vms = append(vms, row.VM)
			if row.Label != row.VM || row.Tier == "" {
				t.Errorf("row of %s: label %q, tier %q", row.VM, row.Label, row.Tier)
			}
		case row.Step != "":
			steps = append(steps, row.Step)
		}
	}
	var wantVMs []string
	for _, v := range r.VMs {
		wantVMs = append(wantVMs, v.VM)
	}
	if !slices.Equal(vms, wantVMs) {
		t.Errorf("the timeline has VM rows %v; want one per VM, in tier order: %v", vms, wantVMs)
	}
	if !slices.Equal(steps, []string{"step.db_check", "step.smoke"}) {
		t.Errorf("the timeline has custom step rows %v; want step.db_check and step.smoke", steps)
	}
	for _, row := range facts.Rows {
		// Every VM ran its copy, power-on and wait; the skipped step has none.
		if want := map[string]int{"step.smoke": 0, "step.db_check": 1}[row.Step]; row.VM != "" && row.Bars != 3 || row.Step != "" && row.Bars != want {
			t.Errorf("row %+v has %d bars", row, row.Bars)
		}
	}
	if !slices.Equal(facts.Bands, []string{"tier.db", "tier.web", "Custom steps"}) {
		t.Errorf("bands %v", facts.Bands)
	}
	if facts.Failed != 1 || facts.Skipped != 1 || facts.Target != 1 {
		t.Errorf("marks: %d failed (want web-03's wait), %d skipped (want step.smoke), %d RTO target lines", facts.Failed, facts.Skipped, facts.Target)
	}
	if facts.Width < 1000 || facts.TargetX <= 0 || facts.TargetX >= facts.Width+40 {
		t.Errorf("the timeline is %.0f px wide with the RTO line at %.0f px: it must fill the page and hold the line", facts.Width, facts.TargetX)
	}
	if len(facts.Cut) > 0 {
		t.Errorf("labels run off the timeline: %q", facts.Cut)
	}
	for _, s := range []string{"checks", "timeline", "tiers", "vms", "steps", "warnings", "runs"} {
		if !slices.Contains(facts.Sections, s) {
			t.Errorf("no section %s in %v", s, facts.Sections)
		}
	}
	if img.Bounds().Dx() < 1000 || img.Bounds().Dy() < 1200 {
		t.Errorf("the screenshot is %v: the full page should be taller than one screen", img.Bounds())
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || len(pdf) < 10_000 {
		t.Errorf("printing gave no PDF worth the name (%d bytes)", len(pdf))
	}
}
