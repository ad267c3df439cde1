package command

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/drplan/drplan/compiler"
	"github.com/drplan/drplan/internal/diagview"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/steps"
)

func runApply(c *cli, args []string) int {
	f := c.newFlags("apply", "[-var NAME=VALUE] [-json] [--auto-approve] [--confirm NAME] [-state-dir DIR] FILE",
		"Runs a program saved by drplan plan -out. The plan is compiled again\nagainst the same target; when its files, its variables or the sites'\ninventory changed since the program was saved, or the file was edited,\napply refuses and asks for a new plan: it runs the program as saved or\nnothing. Sensitive values are never saved: give the same -var flags as\nto plan.")
	f.planFlags()
	auto := f.Bool("auto-approve", false, "answer every prompt step with yes")
	confirm := f.String("confirm", "", "confirm a live failover, migration or failback by giving the plan's `NAME`")
	state := f.String("state-dir", "", "keep runs in `DIR` (default: the plan's .drplan)")
	f.jsonFlag()
	pos, code, ok := c.parse(f, args, 1)
	if ok {
		c.startEvents(f)
	}
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(c.stderr, "drplan apply: give the program file saved by drplan plan -out.")
		return ExitError
	}
	b, err := os.ReadFile(pos[0])
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan apply: cannot read %s: %v\n", pos[0], err)
		return ExitError
	}
	saved, err := steps.Read(b)
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan apply: %s: %v\n", pos[0], err)
		return ExitError
	}
	if saved.Source == nil {
		fmt.Fprintf(c.stderr, "drplan apply: %s does not say which plan it came from; save it with drplan plan -out.\n", pos[0])
		return ExitError
	}
	m, err := modeFlag("apply", saved.Mode)
	if err != nil {
		fmt.Fprintln(c.stderr, err)
		return ExitError
	}
	dir, isSim := saved.Source.Dir, saved.Source.Target == "sim"
	if !isSim && needsConfirmation(m) && *confirm != saved.Plan {
		fmt.Fprintf(c.stderr, "drplan apply: a live %s changes production. Confirm it by naming the plan: drplan apply --confirm %s %s\n", m, saved.Plan, pos[0])
		return ExitError
	}
	// The saved program's requests: one -point for all groups, per-group
	// ones where a group's differs.
	point, groupPoints := "latest", map[string]string{}
	if len(saved.Groups) > 0 {
		point = saved.Groups[0].Point
	}
	for _, g := range saved.Groups {
		if g.Point != point {
			groupPoints[g.Name] = g.Point
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stateDir := c.stateDir(*state, dir)
	cp, code := c.compileFor(ctx, f, dir, stateDir, isSim, compiler.Options{Mode: m, Point: point, GroupPoints: groupPoints, RecoveryPlan: saved.RecoveryPlan})
	if cp == nil {
		return code
	}
	defer cp.target.close()
	if cp.prog == nil {
		diagview.Text{Files: cp.plan.Files, Color: c.color(c.stderr, f.noColor), Redact: cp.plan.Redact}.Write(c.stderr, cp.diags)
		return ExitError
	}
	if cp.prog.Hash != saved.Hash {
		fmt.Fprintf(c.stderr, "drplan apply: the plan's files, its variables or the sites' inventory changed since %s was saved, so it may no longer do what was reviewed. Run drplan plan -mode %s -out %s again and review it.\n", pos[0], m, pos[0])
		return ExitError
	}
	// The hash covers the sources; the file itself may have been edited.
	// What runs is the program as saved, or nothing.
	if d := programDiff(saved, cp.prog); d != "" {
		fmt.Fprintf(c.stderr, "drplan apply: %s is not the program drplan plan saved (was it edited?): %s. Nothing was done. Run drplan plan -mode %s -out %s again and review it.\n", pos[0], cp.plan.Redact(d), m, pos[0])
		return ExitError
	}
	return c.execute(ctx, "apply", cp, execution{stateDir: stateDir, dir: dir, runID: newRunID(), auto: *auto, color: c.color(c.stdout, f.noColor),
		intro:  fmt.Sprintf("applying %s (mode %s of plan %q)", pos[0], m, cp.plan.Name),
		record: &rundir.Record{Mode: string(m), Target: cp.target.kind, Point: point, GroupPoints: groupPoints, RecoveryPlan: saved.RecoveryPlan, BootTimes: cp.opts.BootTimes}})
}

// programDiff says how a saved program differs from the program compiled
// again from its sources, "" when it does not. Estimates and the points
// a group's request resolved to are left out: they follow the measured
// history and the replicas' moving points, and change nothing a run does.
func programDiff(saved, compiled *steps.Program) string {
	norm := func(p *steps.Program) map[string]json.RawMessage {
		c := *p
		c.Hash, c.Source, c.Estimate = "", nil, steps.Estimate{}
		c.Groups = append([]steps.Group(nil), p.Groups...)
		for i := range c.Groups {
			c.Groups[i].Chosen = ""
		}
		c.Steps = make([]*steps.Step, len(p.Steps))
		for i, s := range p.Steps {
			cs := *s
			cs.Estimate = 0
			c.Steps[i] = &cs
		}
		b, _ := c.JSON()
		var m map[string]json.RawMessage
		json.Unmarshal(b, &m)
		return m
	}
	a, b := norm(saved), norm(compiled)
	for _, k := range sortedNames(b) {
		if bytes.Equal(a[k], b[k]) {
			continue
		}
		if k == "steps" {
			return stepsDiff(a[k], b[k])
		}
		return fmt.Sprintf("%s is %s in the file, %s as compiled", k, orNone(a[k]), short(b[k]))
	}
	for _, k := range sortedNames(a) {
		if _, ok := b[k]; !ok {
			return fmt.Sprintf("the file has %s, which a program does not", k)
		}
	}
	return ""
}

// stepsDiff names the first step that differs between two step lists.
func stepsDiff(a, b json.RawMessage) string {
	var as, bs []json.RawMessage
	json.Unmarshal(a, &as)
	json.Unmarshal(b, &bs)
	for i := range max(len(as), len(bs)) {
		switch {
		case i >= len(as):
			return fmt.Sprintf("the file lacks step %d, %s", i+1, short(bs[i]))
		case i >= len(bs):
			return fmt.Sprintf("the file has a step %d more, %s", i+1, short(as[i]))
		case !bytes.Equal(as[i], bs[i]):
			var sa, sb map[string]json.RawMessage
			json.Unmarshal(as[i], &sa)
			json.Unmarshal(bs[i], &sb)
			addr := short(sb["addr"])
			for _, k := range sortedNames(sb) {
				if !bytes.Equal(sa[k], sb[k]) {
					return fmt.Sprintf("step %s: %s is %s in the file, %s as compiled", addr, k, orNone(sa[k]), short(sb[k]))
				}
			}
			for _, k := range sortedNames(sa) {
				if _, ok := sb[k]; !ok {
					return fmt.Sprintf("step %s: the file adds %s = %s", addr, k, short(sa[k]))
				}
			}
		}
	}
	return fmt.Sprintf("%d steps in the file, %d as compiled", len(as), len(bs))
}

func orNone(b json.RawMessage) string {
	if b == nil {
		return "absent"
	}
	return short(b)
}

// short cuts a JSON value for a message.
func short(b json.RawMessage) string {
	var buf bytes.Buffer
	if json.Compact(&buf, b) == nil {
		b = buf.Bytes()
	}
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}
