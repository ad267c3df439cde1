package command

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/drplan/drplan/compiler"
	"github.com/drplan/drplan/internal/diagview"
	"github.com/drplan/drplan/operations"
	"github.com/drplan/drplan/steps"
)

// ExitDrift is plan -detailed-exitcode's code for a plan whose sites
// drifted from it.
const ExitDrift = 2

func runPlan(c *cli, args []string) int {
	f := c.newFlags("plan", "-mode MODE (--sim|--live) [-out FILE] [-json] [-detailed-exitcode] [-point P] [-state-dir DIR] [DIR]",
		"Reads the sites' inventory, resolves selectors, checks the plan against\nthe sites, and compiles the steps of MODE: shown grouped by tier with the\nestimated RTO, which uses the boot times that past runs of the plan\nagainst the same target measured. -out writes the program for drplan apply.")
	f.planFlags()
	mode := f.String("mode", "", "run `MODE`: test, cleanup, migrate, failover, reprotect or failback")
	out := f.String("out", "", "write the program to `FILE`")
	f.BoolVar(&f.json, "json", false, "print diagnostics and the program as one JSON document")
	detailed := f.Bool("detailed-exitcode", false, "exit 2 when the sites drifted from the plan")
	point := f.pointFlag()
	rp := f.String("recovery-plan", "", "the recovery plan to compile when there are several")
	state := f.String("state-dir", "", "where past runs are kept, whose measured boot times the estimate uses (default DIR/.drplan)")
	sim, live := f.targetFlags()
	pos, code, ok := c.parse(f, args, 1)
	if !ok {
		return code
	}
	isSim, m, ok := c.targetAndMode("plan", *sim, *live, "", *mode)
	if !ok {
		return ExitError
	}
	if *out == "-" {
		// Standard output carries the plan's view; -json prints the
		// program there as part of one document.
		fmt.Fprintln(c.stderr, "drplan plan: -out - is not supported: standard output shows the plan; give -out a file name, or use -json to print the program.")
		return ExitError
	}
	dir := planDir(pos)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cp, code := c.compileFor(ctx, f, dir, c.stateDir(*state, dir), isSim, compiler.Options{Mode: m, Point: point.def, GroupPoints: point.perGroup(), RecoveryPlan: *rp})
	if cp == nil {
		return code
	}
	defer cp.Target.Close()

	if f.json {
		doc := struct {
			diagview.Document
			Program json.RawMessage `json:"program"`
		}{Document: diagview.NewDocument(cp.Plan.Files, cp.Diags, cp.Plan.Redact), Program: json.RawMessage("null")}
		if cp.Prog != nil {
			b, _ := cp.Prog.JSON()
			doc.Program = b
		}
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(doc)
	} else {
		diagview.Text{Files: cp.Plan.Files, Color: c.color(c.stderr, f.noColor), Redact: cp.Plan.Redact}.Write(c.stderr, cp.Diags)
		if cp.Prog != nil {
			writeProgram(c.stdout, cp.Prog)
			if cp.Measured > 0 {
				fmt.Fprintf(c.stdout, "Boot times of %s come from past runs against the %s sites (drplan runs lists them).\n", n(cp.Measured, "VM"), targetWord(cp.Target))
			}
		}
	}
	if cp.Prog == nil {
		return ExitError
	}
	if *out != "" {
		abs, _ := filepath.Abs(dir)
		cp.Prog.Source = &steps.Source{Dir: abs, Target: cp.Target.Kind}
		b, err := cp.Prog.JSON()
		if err == nil {
			err = c.writeOutput(*out, b, 0o644)
		}
		if err != nil {
			fmt.Fprintf(c.stderr, "drplan plan: %v\n", err)
			return ExitError
		}
		if !f.json {
			fmt.Fprintf(c.stdout, "\nSaved the program to %s; run it with: drplan apply %s\n", *out, *out)
		}
	}
	if *detailed && operations.Drift(cp.Diags) {
		return ExitDrift
	}
	return ExitOK
}

// writeProgram shows a program for people: sites and groups, then the
// steps before the tiers, each tier with one line per VM, the custom
// steps, and the estimate.
func writeProgram(w io.Writer, p *steps.Program) {
	fmt.Fprintf(w, "Plan %q, recovery plan %q, mode %s: %d steps.\n\n", p.Plan, p.RecoveryPlan, p.Mode, len(p.Steps))
	for _, s := range p.Sites {
		ro := ""
		if s.ReadOnly {
			ro = ", read-only"
		}
		fmt.Fprintf(w, "  site %-12s %s (%s%s)\n", s.Name, s.Datacenter, s.Role, ro)
	}
	for _, g := range p.Groups {
		point := g.Point
		if g.Chosen != "" {
			point += " (" + g.Chosen + ")"
		}
		fmt.Fprintf(w, "  group %-11s %s, RPO %s, point %s, %d VMs: %s → %s\n", g.Name, g.Method, g.RPO, point, len(g.VMs), g.Site, g.RecoverySite)
	}
	var pre, custom, end []*steps.Step
	byTier := map[string][]*steps.Step{}
	var tiers []string
	// A step that waits, directly or not, for a tier to be done comes
	// after the tiers (the steps are in graph order).
	late := map[steps.Addr]bool{}
	for _, s := range p.Steps {
		for _, d := range s.After {
			if late[d] || d == steps.TierDone(d.Name) {
				late[s.Addr] = true
			}
		}
	}
	for _, s := range p.Steps {
		switch {
		case s.Tier != "" && s.Kind != steps.Barrier:
			if byTier[s.Tier] == nil {
				tiers = append(tiers, s.Tier)
			}
			byTier[s.Tier] = append(byTier[s.Tier], s)
		case s.Kind == steps.Custom:
			custom = append(custom, s)
		case s.Kind == steps.Barrier:
		case !late[s.Addr] && (s.Phase == steps.PhasePrepare || s.Phase == steps.PhaseReplicas):
			pre = append(pre, s)
		default:
			end = append(end, s)
		}
	}
	if len(pre) > 0 {
		fmt.Fprintf(w, "\nBefore the tiers:\n")
		for _, s := range pre {
			fmt.Fprintf(w, "  %-44s %s at %s%s%s\n", s.Addr, s.Kind, s.Site, peer(s), optional(s))
		}
	}
	est := map[string]steps.TierEstimate{}
	for _, t := range p.Estimate.Tiers {
		est[t.Tier] = t
	}
	for _, t := range tiers {
		e := est[t]
		fmt.Fprintf(w, "\nTier %s (expected %s → %s):\n", t, e.Start, e.Done)
		var vms []string
		seq := map[string][]string{}
		for _, s := range byTier[t] {
			if seq[s.VM] == nil {
				vms = append(vms, s.VM)
			}
			seq[s.VM] = append(seq[s.VM], describeVMStep(s))
		}
		for _, vm := range vms {
			fmt.Fprintf(w, "  %-14s %s\n", vm, strings.Join(seq[vm], " → "))
		}
	}
	if len(custom) > 0 {
		fmt.Fprintf(w, "\nCustom steps:\n")
		for _, s := range custom {
			fmt.Fprintf(w, "  %-20s %-44s after %s\n", s.Addr, p.Redact(describeCustom(s)), steps.JoinAddrs(s.After, ", "))
		}
	}
	if len(end) > 0 {
		fmt.Fprintf(w, "\nAfter the tiers:\n")
		for _, s := range end {
			fmt.Fprintf(w, "  %-44s %s at %s%s\n", s.Addr, s.Kind, s.Site, peer(s))
		}
	}
	total := time.Duration(p.Estimate.Total)
	fmt.Fprintf(w, "\nEstimated RTO: %s with %d VM operations at a time", p.Estimate.Total, p.MaxParallel)
	switch rto := time.Duration(p.RTO); {
	case rto == 0:
		fmt.Fprintln(w, " (the plan sets no rto target).")
	case total <= rto:
		fmt.Fprintf(w, ", within the %s target.\n", p.RTO)
	default:
		fmt.Fprintf(w, ", OVER the %s target by %s.\n", p.RTO, steps.Duration(total-rto))
	}
}

// peer says what a reverse step makes its VM the replica of.
func peer(s *steps.Step) string {
	if s.Kind == steps.Reverse {
		return ", replica of " + s.VM + " at " + s.Args.Peer
	}
	return ""
}

func optional(s *steps.Step) string {
	if s.Optional {
		return " (best effort)"
	}
	return ""
}

func describeVMStep(s *steps.Step) string {
	a := s.Args
	switch s.Kind {
	case steps.Copy:
		return fmt.Sprintf("copy %s@%s onto %s", a.Source, a.Point, strings.Join(a.Networks, ","))
	case steps.Promote:
		return fmt.Sprintf("promote %s@%s", a.Source, a.Point)
	case steps.Connect:
		return "connect " + strings.Join(a.Networks, ",")
	case steps.Customize:
		return "re-IP " + a.IP.Address
	case steps.WaitReady:
		return fmt.Sprintf("wait %s (%s)", a.WaitFor, s.Timeout)
	case steps.Settle:
		return "settle " + a.Delay.String()
	}
	return string(s.Kind)
}

func describeCustom(s *steps.Step) string {
	a := s.Args
	switch {
	case a.Command != nil:
		return "command " + strings.Join(a.Command.Run, " ")
	case a.HTTP != nil:
		return fmt.Sprintf("http %s %s → %d", a.HTTP.Method, a.HTTP.URL, a.HTTP.ExpectStatus)
	case a.TCP != nil:
		return "tcp " + a.TCP.Address
	case a.Guest != nil:
		return "guest " + a.Guest.VM + ": " + strings.Join(a.Guest.Run, " ")
	case a.Prompt != nil:
		return "prompt"
	case a.Terraform != nil && a.Terraform.Destroy:
		return "terraform destroy " + a.Terraform.Dir
	case a.Terraform != nil:
		return "terraform apply " + a.Terraform.Dir
	case a.Wait != nil:
		return "wait " + a.Wait.Duration.String()
	}
	return string(s.Kind)
}
