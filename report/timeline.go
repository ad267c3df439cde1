package report

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/drplan/drplan/addrs"
	"github.com/drplan/drplan/internal/units"
)

// timeline is the Gantt chart of the recovery run, laid out for SVG: a
// row per VM and per custom step (and per other VM or group the run acted
// on), grouped in bands (before the tiers, each tier, custom steps,
// after), with a bar per step coloured by phase, failed and skipped steps
// marked, and vertical lines at the RTO target and the achieved RTO.
type timeline struct {
	Width, Height float64
	Left, Right   float64 // x of time 0 and of the end of the axis
	Top, Bottom   float64 // y of the first band and of the last row's end
	Bands         []tlBand
	Rows          []tlRow
	Ticks         []tlTick
	Target        *tlLine // the RTO target
	Achieved      *tlLine
	Empty         bool
}

type tlBand struct {
	Y, H  float64
	Label string
	Class string // "tier" or "other"
	Tier  string
	Alt   bool // every other band is shaded darker
	// Span is the tier's start to done, when known.
	SpanX, SpanW float64
}

type tlRow struct {
	Y      float64 // top of the row
	Label  string
	Kind   string // "vm", "step" or "other"
	Name   string // the VM's name or the step's address
	Tier   string
	Status string
	Bars   []tlBar
	Marks  []tlMark
	Note   string // for rows with nothing drawn: "not run"
}

type tlBar struct {
	X, Y, W, H float64
	Phase      string
	Status     string
	Title      string
	Wall       bool // a wall-timed step's: drawn at least as wide as a marker
}

type tlMark struct {
	X, Y        float64
	Kind        string // "failed" or "skipped"
	Title       string
	Label       string
	LabelX      float64
	LabelAnchor string
}

type tlTick struct {
	X     float64
	Label string
}

type tlLine struct {
	X      float64
	Label  string
	Anchor string // text-anchor of the label: "start" (right of the line) or "end"
}

// Layout of the chart, in SVG user units.
const (
	tlLabelW = 190.0
	tlChartW = 780.0
	tlRowH   = 20.0
	tlBarH   = 12.0
	tlBandH  = 20.0 // a band's title line
	tlTop    = 34.0 // room for the axis labels
	tlLabelH = 18.0 // room under the rows for the RTO lines' labels
	tlPad    = 10.0
)

// phaseOrder lists the phases in the legend's order.
var phaseOrder = []struct{ Phase, Label string }{
	{"prepare", "prepare (protected site)"},
	{"replication", "replication"},
	{"storage", "copy / promote"},
	{"network", "network, re-IP"},
	{"power_on", "power-on"},
	{"boot", "boot (wait ready)"},
	{"settle", "settle"},
	{"custom", "custom step"},
	{"cleanup", "cleanup"},
}

// timeline lays out the recovery run's steps.
func (r *Report) timeline() *timeline {
	tl := &timeline{Left: tlLabelW + tlPad, Top: tlTop}
	tl.Right = tl.Left + tlChartW
	tl.Width = tl.Right + tlPad*2

	// Rows keyed by VM (tiers) or address prefix, in bands.
	type bandRows struct {
		band tlBand
		rows []*tlRow
		idx  map[string]*tlRow
	}
	bands := map[string]*bandRows{}
	var bandOrder []string
	band := func(key, label, class, tier string) *bandRows {
		b := bands[key]
		if b == nil {
			b = &bandRows{band: tlBand{Label: label, Class: class, Tier: tier}, idx: map[string]*tlRow{}}
			bands[key] = b
		}
		return b
	}
	// Bands in run order: before, tiers by priority, custom, after.
	band("before", "Before the tiers", "other", "")
	bandOrder = append(bandOrder, "before")
	for _, t := range r.RTO.Tiers {
		band("tier:"+t.Tier, addrs.Ref{Kind: addrs.Tier, Name: t.Tier}.String(), "tier", t.Tier)
		bandOrder = append(bandOrder, "tier:"+t.Tier)
	}
	vmStatus := map[string]string{}
	for _, v := range r.VMs {
		vmStatus[v.VM] = v.Status
		if bands["tier:"+v.Tier] == nil {
			band("tier:"+v.Tier, addrs.Ref{Kind: addrs.Tier, Name: v.Tier}.String(), "tier", v.Tier)
			bandOrder = append(bandOrder, "tier:"+v.Tier)
		}
	}
	band("custom", "Custom steps", "other", "")
	band("after", "After the tiers", "other", "")
	bandOrder = append(bandOrder, "custom", "after")

	var maxT float64
	for _, s := range r.Steps {
		if s.Run != r.Mode {
			continue
		}
		var b *bandRows
		var key, label, kind string
		switch {
		case s.Tier != "" && s.VM != "":
			b, key, label, kind = bands["tier:"+s.Tier], "vm:"+s.VM, s.VM, "vm"
		case s.Kind == "custom":
			b, key, label, kind = bands["custom"], s.Addr.String(), s.Addr.String(), "step"
		default:
			// One row per VM or group or site: the address without its action.
			whole := s.Addr
			whole.Action = ""
			key = whole.String()
			label, kind = key, "other"
			b = bands["after"]
			if s.Phase == "prepare" || s.Phase == "replication" {
				b = bands["before"]
			}
		}
		if b == nil { // a tier the estimate did not list
			b = band("tier:"+s.Tier, addrs.Ref{Kind: addrs.Tier, Name: s.Tier}.String(), "tier", s.Tier)
			bandOrder = append(bandOrder, "tier:"+s.Tier)
		}
		row := b.idx[key]
		if row == nil {
			row = &tlRow{Label: label, Kind: kind, Name: label, Tier: s.Tier, Status: s.Status}
			if kind == "vm" {
				row.Status = vmStatus[s.VM]
			}
			b.idx[key] = row
			b.rows = append(b.rows, row)
		}
		if kind == "other" && s.Status != "ok" && (row.Status == "ok" || row.Status == "") {
			row.Status = s.Status
		}
		start, end := s.StartSeconds, s.EndSeconds
		switch s.Status {
		case "skipped":
			row.Marks = append(row.Marks, tlMark{Kind: "skipped", Title: s.Addr.String() + ": " + s.Error})
			row.Marks[len(row.Marks)-1].X = end // time for now; x below
			maxT = max(maxT, end)
		case "interrupted": // ran until the run stopped
			if len(r.Runs) > 0 {
				end = max(start, r.Runs[0].PlanSeconds)
			}
			fallthrough
		default:
			if !s.Ran() {
				continue // not run
			}
			// A wall-timed step took (next to) no plan time: its bar is
			// its plan-time length, a marker at its start, never its wall
			// time, which is not on this axis.
			row.Bars = append(row.Bars, tlBar{X: start, W: end - start, Phase: s.Phase, Status: s.Status, Title: barTitle(s), Wall: s.WallTimed()})
			if s.Status == "failed" {
				row.Marks = append(row.Marks, tlMark{Kind: "failed", X: end, Title: s.Addr.String() + " failed: " + s.Error})
			}
			maxT = max(maxT, end)
		}
	}
	if r.RTO.TargetSeconds > 0 {
		maxT = max(maxT, r.RTO.TargetSeconds)
	}
	maxT = max(maxT, r.RTO.AchievedSeconds)
	if maxT <= 0 {
		maxT = 1
		tl.Empty = true
	}
	maxT *= 1.02
	x := func(t float64) float64 { return tl.Left + t/maxT*tlChartW }

	y := tl.Top
	for _, key := range bandOrder {
		b := bands[key]
		if len(b.rows) == 0 {
			continue
		}
		b.band.Y = y
		y += tlBandH
		for _, row := range b.rows {
			row.Y = y
			barY := y + (tlRowH-tlBarH)/2
			for i := range row.Bars {
				bar := &row.Bars[i]
				bar.X, bar.W = x(bar.X), max(bar.W/maxT*tlChartW, 1.5)
				if bar.Wall {
					bar.W = max(bar.W, 3)
				}
				bar.Y, bar.H = barY, tlBarH
			}
			for i := range row.Marks {
				m := &row.Marks[i]
				m.X, m.Y = x(m.X), y+tlRowH/2
				if m.Kind == "skipped" && i == firstMark(row.Marks, "skipped") {
					m.Label, m.LabelX, m.LabelAnchor = "skipped", m.X+12, "start"
					if m.X+70 > tl.Right {
						m.LabelX, m.LabelAnchor = m.X-4, "end"
					}
				}
			}
			if len(row.Bars) == 0 && len(row.Marks) == 0 {
				row.Note = strings.ReplaceAll(row.Status, "_", " ")
			}
			if l := []rune(row.Label); len(l) > 30 {
				row.Label = string(l[:29]) + "…"
			}
			tl.Rows = append(tl.Rows, *row)
			y += tlRowH
		}
		b.band.H = y - b.band.Y
		if b.band.Tier != "" {
			for _, t := range r.RTO.Tiers {
				if t.Tier == b.band.Tier && t.Done() {
					b.band.SpanX, b.band.SpanW = x(t.StartSeconds), max((t.DoneSeconds-t.StartSeconds)/maxT*tlChartW, 1)
				}
			}
		}
		b.band.Alt = len(tl.Bands)%2 == 1
		tl.Bands = append(tl.Bands, b.band)
	}
	tl.Bottom = y + tlLabelH // a strip for the RTO lines' labels
	tl.Height = tl.Bottom + tlPad

	step := tickStep(maxT)
	for t := 0.0; t <= maxT; t += step {
		tl.Ticks = append(tl.Ticks, tlTick{X: x(t), Label: units.FormatDuration(time.Duration(t) * time.Second)})
	}
	// The two labels point away from each other so that they never overlap.
	late := r.RTO.TargetSeconds > 0 && r.RTO.AchievedSeconds > r.RTO.TargetSeconds
	if r.RTO.TargetSeconds > 0 {
		tl.Target = &tlLine{X: x(r.RTO.TargetSeconds), Label: "RTO target " + FormatSeconds(r.RTO.TargetSeconds), Anchor: "start"}
		if late {
			tl.Target.Anchor = "end"
		}
	}
	if r.RTO.AchievedSeconds > 0 {
		tl.Achieved = &tlLine{X: x(r.RTO.AchievedSeconds), Label: "achieved " + FormatSeconds(r.RTO.AchievedSeconds), Anchor: "end"}
		if late {
			tl.Achieved.Anchor = "start"
		}
	}
	// A label that would run off the chart goes to the other side.
	for _, l := range []*tlLine{tl.Target, tl.Achieved} {
		if l == nil {
			continue
		}
		width := 6.5 * float64(len(l.Label)) // at the chart's 11px font
		switch {
		case l.Anchor == "start" && l.X+width > tl.Width:
			l.Anchor = "end"
		case l.Anchor == "end" && l.X-width < 0:
			l.Anchor = "start"
		}
	}
	return tl
}

func firstMark(ms []tlMark, kind string) int {
	for i, m := range ms {
		if m.Kind == kind {
			return i
		}
	}
	return -1
}

func barTitle(s Step) string {
	var b strings.Builder
	b.WriteString(s.Addr.String() + ": " + strings.ReplaceAll(s.Status, "_", " "))
	if took := stepTook(s); took != "" {
		b.WriteString(", " + took)
	}
	b.WriteString(" from " + FormatSeconds(s.StartSeconds))
	if s.Attempts > 1 {
		b.WriteString(", " + strconv.Itoa(s.Attempts) + " attempts")
	}
	if s.Error != "" {
		b.WriteString(": " + s.Error)
	}
	return b.String()
}

// tickStep is a round interval that puts at most ten ticks on an axis of
// maxT seconds.
func tickStep(maxT float64) float64 {
	for _, s := range []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400} {
		if maxT/s <= 10 {
			return s
		}
	}
	return math.Ceil(maxT/10/86400) * 86400
}
