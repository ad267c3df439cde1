package command

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/drplan/drplan/local"
)

// terminalUI asks a run's prompt steps (local.UI) on the terminal, as
// sudo and ssh ask: the question on /dev/tty (stderr when there is none),
// the answer from stdin, so that they reach the operator when stdout goes
// to a log. With autoApprove every prompt is answered yes; without a
// terminal a prompt fails, saying how to go on.
type terminalUI struct {
	autoApprove bool
	// in and out are nil when the run has no terminal.
	in  io.Reader
	out io.Writer

	lines    chan string // answers read from in, one line each
	linesOne sync.Once
}

var _ local.UI = (*terminalUI)(nil)

// newTerminalUI returns the UI of a run: on the terminal when stdin is
// one.
func newTerminalUI(stdin *os.File, stderr io.Writer, autoApprove bool) *terminalUI {
	ui := &terminalUI{autoApprove: autoApprove}
	if isTerminal(stdin) {
		ui.in, ui.out = stdin, stderr
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
			ui.out = tty
		}
	}
	return ui
}

// Confirm asks one question and waits for its answer; the executor asks
// one at a time.
func (u *terminalUI) Confirm(ctx context.Context, step, msg string) (string, bool, error) {
	if u.autoApprove {
		return "yes (--auto-approve)", true, nil
	}
	if u.in == nil || u.out == nil {
		return "", false, fmt.Errorf("step %s asks %q, but this run has no terminal to ask on: run it from a terminal to answer, or pass --auto-approve to answer every prompt yes", step, msg)
	}
	u.linesOne.Do(func() {
		u.lines = make(chan string)
		go func() {
			defer close(u.lines)
			sc := bufio.NewScanner(u.in)
			for sc.Scan() {
				u.lines <- strings.TrimSpace(sc.Text())
			}
		}()
	})
	fmt.Fprintf(u.out, "\n%s asks:\n  %s\nType yes to go on, anything else to fail the step: ", step, msg)
	select {
	case a, ok := <-u.lines:
		if !ok {
			return "", false, fmt.Errorf("the terminal closed before %q was answered: run it from a terminal to answer, or pass --auto-approve to answer every prompt yes", msg)
		}
		if strings.EqualFold(a, "yes") || strings.EqualFold(a, "y") {
			fmt.Fprintf(u.out, "Going on.\n")
			return a, true, nil
		}
		fmt.Fprintf(u.out, "Not approved: %s fails.\n", step)
		return a, false, nil
	case <-ctx.Done():
		fmt.Fprintf(u.out, "\nNo answer in time: %s fails.\n", step)
		return "", false, fmt.Errorf("no answer to %q: %v", msg, ctx.Err())
	}
}

// close closes the terminal the UI opened.
func (u *terminalUI) close() {
	if tty, ok := u.out.(*os.File); ok && tty.Name() == "/dev/tty" {
		tty.Close()
	}
}
