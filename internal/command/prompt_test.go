package command

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// TestTerminalUI: prompts are asked on the terminal and answered from
// its input, yes (or y) going on and anything else not; a closed
// terminal, no terminal, or no answer in time fails saying how to go on;
// --auto-approve answers yes without asking.
func TestTerminalUI(t *testing.T) {
	in, answers := io.Pipe()
	var out strings.Builder
	ui := &terminalUI{in: in, out: &out}
	go io.WriteString(answers, "yes\n no \n")
	ctx := context.Background()
	if a, ok, err := ui.Confirm(ctx, "step.first", "Is the database consistent?"); a != "yes" || !ok || err != nil {
		t.Errorf("answered yes: %q, %v, %v", a, ok, err)
	}
	if a, ok, err := ui.Confirm(ctx, "step.second", "Is the database consistent?"); a != "no" || ok || err != nil {
		t.Errorf("answered no: %q, %v, %v", a, ok, err)
	}
	shown := out.String()
	for _, want := range []string{"step.first asks:\n  Is the database consistent?", "Going on.", "Not approved: step.second fails."} {
		if !strings.Contains(shown, want) {
			t.Errorf("the terminal showed %q; want %q in it", shown, want)
		}
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, ok, err := ui.Confirm(short, "step.late", "Still there?"); ok || err == nil || !strings.Contains(err.Error(), "no answer") {
		t.Errorf("no answer in time: %v, %v", ok, err)
	}
	answers.Close()
	if _, ok, err := ui.Confirm(ctx, "step.closed", "Anyone?"); ok || err == nil || !strings.Contains(err.Error(), "terminal closed") {
		t.Errorf("closed terminal: %v, %v", ok, err)
	}

	if _, ok, err := (&terminalUI{}).Confirm(ctx, "step.alone", "Anyone?"); ok || err == nil || !strings.Contains(err.Error(), "--auto-approve") || !strings.Contains(err.Error(), "no terminal") {
		t.Errorf("without a terminal: %v, %v", ok, err)
	}
	if a, ok, err := (&terminalUI{autoApprove: true}).Confirm(ctx, "step.auto", "Anyone?"); a != "yes (--auto-approve)" || !ok || err != nil {
		t.Errorf("--auto-approve: %q, %v, %v", a, ok, err)
	}
}
