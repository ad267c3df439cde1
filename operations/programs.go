package operations

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/drplan/drplan/compiler"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/steps"
)

// SavedOptions are the compiler options that compile a program saved by
// drplan plan -out again: its mode, its recovery plan, one point for all
// groups and per-group ones where a group's differs.
func SavedOptions(saved *steps.Program) compiler.Options {
	point, groupPoints := "latest", map[string]string{}
	if len(saved.Groups) > 0 {
		point = saved.Groups[0].Point
	}
	for _, g := range saved.Groups {
		if g.Point != point {
			groupPoints[g.Name] = g.Point
		}
	}
	return compiler.Options{Mode: plans.Mode(saved.Mode), Point: point, GroupPoints: groupPoints, RecoveryPlan: saved.RecoveryPlan}
}

// ErrSourcesChanged is a saved program whose plan files, variables or
// inventory changed since it was saved.
var ErrSourcesChanged = errors.New("the plan's files, its variables or the sites' inventory changed since the program was saved")

// EditedError is a saved program that is not what drplan plan saved:
// Diff says the first difference.
type EditedError struct{ Diff string }

func (e *EditedError) Error() string { return "the saved program was edited: " + e.Diff }

// CheckSaved says whether prog, compiled again from the sources of the
// saved program (SavedOptions), is the program saved: what an apply runs
// is the program as saved, or nothing. ErrSourcesChanged when its hash
// differs, an *EditedError when the file was edited.
func CheckSaved(saved, prog *steps.Program) error {
	if prog.Hash != saved.Hash {
		return ErrSourcesChanged
	}
	// The hash covers the sources; the file itself may have been edited.
	if d := ProgramDiff(saved, prog); d != "" {
		return &EditedError{d}
	}
	return nil
}

// ProgramDiff says how a saved program differs from the program compiled
// again from its sources, "" when it does not. Estimates and the points
// a group's request resolved to are left out: they follow the measured
// history and the replicas' moving points, and change nothing a run does.
func ProgramDiff(saved, compiled *steps.Program) string {
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
	for _, k := range slices.Sorted(maps.Keys(b)) {
		if bytes.Equal(a[k], b[k]) {
			continue
		}
		if k == "steps" {
			return stepsDiff(a[k], b[k])
		}
		return fmt.Sprintf("%s is %s in the file, %s as compiled", k, orNone(a[k]), short(b[k]))
	}
	for _, k := range slices.Sorted(maps.Keys(a)) {
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
			for _, k := range slices.Sorted(maps.Keys(sb)) {
				if !bytes.Equal(sa[k], sb[k]) {
					return fmt.Sprintf("step %s: %s is %s in the file, %s as compiled", addr, k, orNone(sa[k]), short(sb[k]))
				}
			}
			for _, k := range slices.Sorted(maps.Keys(sa)) {
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

// SameProgram reports whether two compiles made the same program: the
// same steps with the same arguments. The hash is left out: it covers
// every variable, vCenter passwords included, which may have changed.
func SameProgram(a, b *steps.Program) bool {
	ac, bc := *a, *b
	ac.Hash, bc.Hash, ac.Source, bc.Source = "", "", nil, nil
	aj, err1 := ac.JSON()
	bj, err2 := bc.JSON()
	return err1 == nil && err2 == nil && bytes.Equal(aj, bj)
}
