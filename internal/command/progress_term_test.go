package command

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/steps"
)

// fakeTerm is a writer that says it is a terminal 80 columns wide.
type fakeTerm struct{ bytes.Buffer }

func (*fakeTerm) TerminalWidth() int { return 80 }

// screen plays what was written to a terminal: text, newlines, \r, and
// the two codes the status area uses (cursor up, erase below). It returns
// the lines on screen.
func screen(t *testing.T, out string) []string {
	t.Helper()
	lines, row, col := []string{""}, 0, 0
	code := regexp.MustCompile(`^\x1b\[([\d;]*)([A-Za-z])`)
	for len(out) > 0 {
		switch {
		case out[0] == '\n':
			row, col = row+1, 0
			if row == len(lines) {
				lines = append(lines, "")
			}
			out = out[1:]
		case out[0] == '\r':
			col, out = 0, out[1:]
		case out[0] == 0x1b:
			m := code.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("unknown escape in %q", out)
			}
			out = out[len(m[0]):]
			n, _ := strconv.Atoi(m[1])
			switch m[2] {
			case "A":
				row -= n
				if row < 0 {
					t.Fatalf("cursor moved above the screen")
				}
			case "J":
				lines = append(lines[:row], lines[row][:col])
			case "m": // colour
			default:
				t.Fatalf("unexpected escape %q", m[0])
			}
		default:
			i := strings.IndexAny(out, "\n\r\x1b")
			if i < 0 {
				i = len(out)
			}
			l := lines[row]
			for len(l) < col {
				l += " "
			}
			lines[row] = l[:col] + out[:i]
			col += i
			out = out[i:]
		}
	}
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// progressRig drives a progress view with synthetic events, a plan
// clock, a wall clock and a ticker the test controls.
type progressRig struct {
	pr         *progress
	plan, wall time.Time
	ticks      chan time.Time
	handled    chan struct{}
	every      time.Duration
	stopped    int
	t0         time.Time
}

func newRig(w interface{ Write([]byte) (int, error) }) *progressRig {
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	prog := &steps.Program{Mode: "test", Estimate: steps.Estimate{Tiers: []steps.TierEstimate{{Tier: "web", VMs: 2}}}}
	prog.Steps = []*steps.Step{{Addr: steps.MustParseAddr("tier.web/start"), Kind: steps.Barrier, Tier: "web"}, {Addr: steps.MustParseAddr("tier.web/done"), Kind: steps.Barrier, Tier: "web"}}
	for _, vm := range []string{"web-01", "web-02"} {
		prog.Steps = append(prog.Steps,
			&steps.Step{Addr: steps.TierVM("web", vm, "power_on"), Kind: steps.PowerOn, Tier: "web", VM: vm},
			&steps.Step{Addr: steps.TierVM("web", vm, "wait_ready"), Kind: steps.WaitReady, Tier: "web", VM: vm},
			&steps.Step{Addr: steps.TierVM("web", vm, "settle"), Kind: steps.Settle, Tier: "web", VM: vm})
	}
	prog.Steps = append(prog.Steps, &steps.Step{Addr: steps.MustParseAddr("step.ask"), Kind: steps.Custom, Args: steps.Args{Prompt: &steps.Prompt{Message: "go on?"}}})
	r := &progressRig{t0: t0, plan: t0, wall: t0, ticks: make(chan time.Time), handled: make(chan struct{})}
	r.pr = newProgress(w, prog, func(s string) string { return s })
	r.pr.planNow = func() time.Time { return r.plan }
	r.pr.wall = func() time.Time { return r.wall }
	r.pr.newTicker = func(d time.Duration) (<-chan time.Time, func()) {
		r.every = d
		return r.ticks, func() { r.stopped++ }
	}
	r.pr.onTick = func() { r.handled <- struct{}{} }
	return r
}

// at sets both clocks and sends an event at plan time s seconds.
func (r *progressRig) at(s int, e rundir.Event) {
	r.plan = r.t0.Add(time.Duration(s) * time.Second)
	e.Time = r.plan
	r.pr.observe(e)
}

// tick advances the clocks (plan by plan seconds, wall by wall seconds)
// and fires the ticker, returning once the tick is handled.
func (r *progressRig) tick(plan, wall int) {
	r.plan = r.plan.Add(time.Duration(plan) * time.Second)
	r.wall = r.wall.Add(time.Duration(wall) * time.Second)
	r.ticks <- r.wall
	<-r.handled
}

func started(addr string) rundir.Event {
	return rundir.Event{Type: rundir.EventStepStarted, Step: steps.MustParseAddr(addr), Attempt: 1}
}

func finished(addr string) rundir.Event {
	return rundir.Event{Type: rundir.EventStepFinished, Step: steps.MustParseAddr(addr), Attempt: 1, Result: rundir.StatusOK}
}

func ready(vm string) rundir.Event {
	return rundir.Event{Type: rundir.EventVMReady, Step: steps.TierVM("web", vm, "wait_ready"), Detail: map[string]string{"tier": "web", "vm": vm}}
}

// bootTwo sends a run's start and the boot of web-01 and web-02, web-01
// ready at 1m, web-02 still booting from 10s.
func (r *progressRig) bootTwo() {
	r.at(0, rundir.Event{Type: rundir.EventRunStarted, Detail: map[string]string{"mode": "test"}})
	r.at(0, started("tier.web/start"))
	r.at(0, finished("tier.web/start"))
	for _, vm := range []string{"web-01", "web-02"} {
		r.at(0, started("tier.web/vm."+vm+"/power_on"))
		r.at(10, finished("tier.web/vm."+vm+"/power_on"))
		r.at(10, started("tier.web/vm."+vm+"/wait_ready"))
	}
	r.at(60, ready("web-01"))
	r.at(60, finished("tier.web/vm.web-01/wait_ready"))
}

// finishRun sends the rest of the run: web-02 ready, the tier done, the
// run passed.
func (r *progressRig) finishRun(s int) {
	r.at(s, ready("web-02"))
	r.at(s, finished("tier.web/vm.web-02/wait_ready"))
	r.at(s, started("tier.web/done"))
	r.at(s, finished("tier.web/done"))
	r.at(s, rundir.Event{Type: rundir.EventRunFinished, Result: "passed"})
}

// TestProgressTerminal: on a terminal a status area under the progress
// lines shows each VM under way with its elapsed plan time and the run's
// plan and wall time; a tick of the wall-clock ticker draws it again in
// place (cursor up, erase below); at the end it is gone, the lines that
// stay are exactly those of a pipe, and the verdict is in colour.
func TestProgressTerminal(t *testing.T) {
	var tty fakeTerm
	r := newRig(&tty)
	r.pr.color = true
	if !r.pr.tty {
		t.Fatal("the fake terminal is not taken for a terminal")
	}
	r.bootTwo()
	if r.every > time.Second {
		t.Errorf("the status area is redrawn every %s, want at least every second", r.every)
	}
	before := tty.Len()
	r.tick(40, 3) // plan 1m40s: web-02 has booted 1m30s
	redraw := tty.String()[before:]
	if !strings.HasPrefix(redraw, "\r\x1b[2A\x1b[J") {
		t.Errorf("a tick does not erase the status area (2 lines when last drawn) first: %q", redraw)
	}
	got := screen(t, tty.String())
	want := []string{
		"  tier.web started at 0s",
		"  tier.web: 1/2 VMs ready [1m40s]",
		"    web-02 booting… [1m30s]",
		"  elapsed 1m40s, wall 3s",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("screen after a tick:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Nothing changed: a tick writes nothing.
	before = tty.Len()
	r.tick(0, 0)
	if tty.Len() != before {
		t.Errorf("a tick with nothing new wrote %q", tty.String()[before:])
	}

	r.finishRun(190)
	if r.stopped != 1 {
		t.Errorf("ticker stopped %d times at the run's end, want once", r.stopped)
	}
	got = screen(t, tty.String())
	want = []string{
		"  tier.web started at 0s",
		"  tier.web done at 3m10s: 2/2 VMs ready",
		"  passed at 3m10s",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("screen at the end:\n%q\nwant:\n%q", got, want)
	}
	if !strings.Contains(tty.String(), "\x1b[1;32mpassed\x1b[0m at 3m10s") {
		t.Errorf("the verdict is not green: %q", tty.String())
	}
}

// TestProgressStillWaiting: off a terminal the lines are plain, with no
// escape codes, and each tick of the (slow) ticker adds a "still
// waiting" line while VMs are under way, and nothing when none is.
func TestProgressStillWaiting(t *testing.T) {
	var out bytes.Buffer
	r := newRig(&out)
	r.bootTwo()
	if r.every != defaultStillEvery {
		t.Errorf("still-waiting period %s, want %s", r.every, defaultStillEvery)
	}
	r.tick(30, 30)
	r.at(95, started("tier.web/vm.web-01/settle")) // a second VM under way
	r.tick(0, 30)
	r.at(125, finished("tier.web/vm.web-01/settle"))
	r.tick(0, 30)
	r.at(130, started("step.ask"))
	r.tick(0, 30)
	r.at(131, finished("step.ask"))
	r.finishRun(190)
	want := "  tier.web started at 0s\n" +
		"  still waiting for 1 VM [1m30s, wall 30s]: web-02\n" +
		"  still waiting for 2 VMs [1m35s, wall 1m]: web-02, web-01\n" +
		"  still waiting for 1 VM [2m5s, wall 1m30s]: web-02\n" +
		"  still waiting for 1 VM and 1 step [2m10s, wall 2m]: web-02, step.ask\n" +
		"  step.ask ok at 2m11s\n" +
		"  tier.web done at 3m10s: 2/2 VMs ready\n" +
		"  passed at 3m10s\n"
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(out.String(), "\x1b") {
		t.Errorf("escape codes off a terminal: %q", out.String())
	}
	if r.stopped != 1 {
		t.Errorf("ticker stopped %d times at the run's end, want once", r.stopped)
	}
	// Between runs nothing is under way.
	r.pr.mu.Lock()
	line := r.pr.stillWaiting()
	r.pr.mu.Unlock()
	if line != "" {
		t.Errorf("still waiting after the run: %q", line)
	}
}

// TestProgressTerminalPrompt: while a prompt step is under way the status
// area is erased and not drawn, so that the question on the terminal
// stays readable; it comes back when the step is done.
func TestProgressTerminalPrompt(t *testing.T) {
	var tty fakeTerm
	r := newRig(&tty)
	r.bootTwo()
	r.tick(0, 1)
	if got := screen(t, tty.String()); len(got) != 4 {
		t.Fatalf("no status area before the prompt:\n%s", strings.Join(got, "\n"))
	}
	r.at(61, started("step.ask"))
	r.tick(30, 30)
	if got := screen(t, tty.String()); strings.Join(got, "\n") != "  tier.web started at 0s" {
		t.Errorf("status area drawn during a prompt:\n%s", strings.Join(got, "\n"))
	}
	r.at(100, finished("step.ask"))
	r.tick(0, 1)
	if got := screen(t, tty.String()); len(got) < 4 || !strings.Contains(strings.Join(got, "\n"), "web-02 booting… [1m30s]") {
		t.Errorf("status area not back after the prompt:\n%s", strings.Join(got, "\n"))
	}
}
