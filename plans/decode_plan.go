package plans

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/drplan/drplan/addrs"
	"github.com/drplan/drplan/internal/units"
)

var recoveryPlanSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "protection_groups", Required: true}, {Name: "rto"}, {Name: "max_parallel"},
		{Name: "suspend_at_recovery"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "network_mapping"},
		{Type: "ip_rule", LabelNames: []string{"name"}},
		{Type: "tier", LabelNames: []string{"name"}},
		{Type: "vm", LabelNames: []string{"name"}},
		{Type: "step", LabelNames: []string{"name"}},
	},
}

var networkMappingSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "from", Required: true}, {Name: "to", Required: true}, {Name: "test", Required: true}},
}

var ipRuleSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "from_cidr", Required: true}, {Name: "to_cidr", Required: true}, {Name: "gateway"}, {Name: "dns"},
	},
}

var tierSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "priority"}, {Name: "vms", Required: true}, {Name: "after"}, {Name: "on_failure"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "startup"}},
}

var startupSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "action"}, {Name: "wait_for"}, {Name: "timeout"}, {Name: "delay"}},
}

var vmOverrideSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "after"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "ip"}, {Type: "startup"}},
}

var ipSettingSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "address", Required: true}, {Name: "gateway"}},
}

// DefaultMaxParallel is the number of concurrent VM operations when a
// recovery plan does not say.
const DefaultMaxParallel = 8

// DefaultPriority is a tier's priority when it does not say: 3, the
// middle of 1 to 5, as for an SRM priority group.
const DefaultPriority = 3

func (l *loader) decodeRecoveryPlan(b *hcl.Block) *RecoveryPlan {
	p := &RecoveryPlan{Name: b.Labels[0], MaxParallel: DefaultMaxParallel, DeclRange: b.DefRange}
	content, diags := l.content(b.Body, recoveryPlanSchema)
	l.diags = append(l.diags, diags...)

	sc := &scope{plan: p.Name, tiers: map[string]hcl.Range{}, steps: map[string]hcl.Range{}}
	labelled := map[string]map[string]hcl.Range{"tier": sc.tiers, "step": sc.steps, "ip_rule": {}, "vm": {}}
	nouns := map[string]string{"tier": "tier", "step": "step", "ip_rule": "IP rule", "vm": "VM block"}
	var keep hcl.Blocks
	for _, nb := range content.Blocks {
		names, ok := labelled[nb.Type]
		if !ok {
			keep = append(keep, nb)
			continue
		}
		name, rng := nb.Labels[0], nb.LabelRanges[0]
		if first, dup := names[name]; dup {
			l.errorf(rng, "Duplicate "+nouns[nb.Type], "A %s named %q was already declared in recovery plan %q at %s. Rename or remove one of them.", nouns[nb.Type], name, p.Name, first)
			continue
		}
		if (nb.Type == "tier" || nb.Type == "step") && !hclIdentifier(name) {
			l.errorf(rng, "Invalid name", "%q is not a valid %s name. A name starts with a letter or underscore and holds only letters, digits, underscores and dashes.", name, nb.Type)
			continue
		}
		names[name] = rng
		keep = append(keep, nb)
	}

	a := l.attrs(content, sc)
	l.remember(p, a)
	refs, ok := a.refs("protection_groups", addrs.ProtectionGroup)
	if !ok {
		l.incomplete["plan:"+p.Name] = true
	}
	for _, r := range refs {
		p.ProtectionGroups = append(p.ProtectionGroups, r.Name)
	}
	a.duration("rto", &p.RTO)
	a.integer("max_parallel", &p.MaxParallel, 1, 10000)
	if a.strings("suspend_at_recovery", &p.SuspendAtRecovery) {
		l.checkGlobs(p.SuspendAtRecovery, a.rng("suspend_at_recovery"))
	}

	for _, nb := range keep {
		switch nb.Type {
		case "network_mapping":
			c, diags := l.content(nb.Body, networkMappingSchema)
			l.diags = append(l.diags, diags...)
			m := &NetworkMapping{DeclRange: nb.DefRange}
			na := l.attrs(c, sc)
			l.remember(m, na)
			na.name("from", &m.From)
			na.name("to", &m.To)
			na.name("test", &m.Test)
			if m.To != "" && m.To == m.Test {
				l.errorf(hcl.RangeBetween(na.rng("to"), na.rng("test")), "Test network is the production network",
					"The mapping of %q sends failovers and drills to the same port group %q. A drill must never attach to the production network: set test to an isolated port group.", m.From, m.To)
			}
			p.NetworkMappings = append(p.NetworkMappings, m)
		case "ip_rule":
			c, diags := l.content(nb.Body, ipRuleSchema)
			l.diags = append(l.diags, diags...)
			r := &IPRule{Name: nb.Labels[0], DeclRange: nb.DefRange}
			ra := l.attrs(c, sc)
			l.remember(r, ra)
			ra.prefix("from_cidr", &r.FromCIDR)
			ra.prefix("to_cidr", &r.ToCIDR)
			ra.addr("gateway", &r.Gateway)
			ra.addrs("dns", &r.DNS)
			if r.Gateway.IsValid() && r.ToCIDR.IsValid() && !r.ToCIDR.Contains(r.Gateway) {
				l.errorf(ra.rng("gateway"), "Gateway outside the target network", "Gateway %s is not in %s, the network rule %q maps to.", r.Gateway, r.ToCIDR, r.Name)
			}
			p.IPRules = append(p.IPRules, r)
		case "tier":
			p.Tiers = append(p.Tiers, l.decodeTier(nb, sc))
		case "vm":
			p.VMs = append(p.VMs, l.decodeVMOverride(nb, sc))
		case "step":
			p.Steps = append(p.Steps, l.decodeStep(nb, sc))
		}
	}
	return p
}

func (l *loader) decodeTier(b *hcl.Block, sc *scope) *Tier {
	t := &Tier{Name: b.Labels[0], Priority: DefaultPriority, Startup: DefaultStartup, OnFailure: Halt, DeclRange: b.DefRange, VMsRange: b.DefRange}
	content, diags := l.content(b.Body, tierSchema)
	l.diags = append(l.diags, diags...)
	a := l.attrs(content, sc)
	a.integer("priority", &t.Priority, 1, 5)
	if a.strings("vms", &t.VMs) {
		t.VMsRange = a.rng("vms")
	}
	if at := content.Attributes["vms"]; at != nil {
		for _, tr := range at.Expr.Variables() {
			if ref, _, ok := addrs.RefFromTraversal(tr); ok && ref.Kind == addrs.ProtectionGroup && !slices.Contains(t.Groups, ref.Name) {
				t.Groups = append(t.Groups, ref.Name)
			}
		}
	}
	t.After, _ = a.refs("after", addrs.Tier, addrs.Step)
	enum(a, "on_failure", &t.OnFailure, Halt, Continue)
	for _, nb := range l.single(content.Blocks, "startup") {
		o := l.decodeStartup(nb, sc)
		t.Startup = o.Apply(t.Startup)
	}
	return t
}

func (l *loader) decodeStartup(b *hcl.Block, sc *scope) StartupOverride {
	var o StartupOverride
	c, diags := l.content(b.Body, startupSchema)
	l.diags = append(l.diags, diags...)
	a := l.attrs(c, sc)
	var action StartupAction
	if enum(a, "action", &action, PowerOn, NoPowerOn) {
		o.Action = &action
	}
	var wait WaitFor
	if enum(a, "wait_for", &wait, WaitNone, Heartbeat, WaitForIP) {
		o.WaitFor = &wait
	}
	var timeout, delay time.Duration
	if a.duration("timeout", &timeout) {
		o.Timeout = &timeout
	}
	if a.duration("delay", &delay) {
		o.Delay = &delay
	}
	return o
}

func (l *loader) decodeVMOverride(b *hcl.Block, sc *scope) *VMOverride {
	v := &VMOverride{Name: b.Labels[0], DeclRange: b.DefRange}
	content, diags := l.content(b.Body, vmOverrideSchema)
	l.diags = append(l.diags, diags...)
	a := l.attrs(content, sc)
	l.remember(v, a)
	a.strings("after", &v.After)
	for _, nb := range l.single(content.Blocks, "ip", "startup") {
		switch nb.Type {
		case "ip":
			c, diags := l.content(nb.Body, ipSettingSchema)
			l.diags = append(l.diags, diags...)
			ip := &IPSetting{DeclRange: nb.DefRange}
			ia := l.attrs(c, sc)
			ia.prefix("address", &ip.Address)
			ia.addr("gateway", &ip.Gateway)
			if ip.Gateway.IsValid() && ip.Address.IsValid() && !ip.Address.Masked().Contains(ip.Gateway) {
				l.errorf(ia.rng("gateway"), "Gateway outside the VM's network", "Gateway %s is not in %s, the network of address %s.", ip.Gateway, ip.Address.Masked(), ip.Address)
			}
			v.IP = ip
		case "startup":
			v.Startup = l.decodeStartup(nb, sc)
		}
	}
	return v
}

var stepSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "after"}, {Name: "before"}, {Name: "modes"}, {Name: "timeout"}, {Name: "retries"}, {Name: "on_failure"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "command"}, {Type: "http"}, {Type: "tcp"}, {Type: "guest"}, {Type: "prompt"}, {Type: "terraform"}, {Type: "wait"},
	},
}

// stepKindSchemas holds the schema of each step kind's block.
var stepKindSchemas = map[StepKind]*hcl.BodySchema{
	CommandStep: {Attributes: []hcl.AttributeSchema{{Name: "run", Required: true}, {Name: "env"}, {Name: "dir"}}},
	HTTPStep: {Attributes: []hcl.AttributeSchema{
		{Name: "url", Required: true}, {Name: "method"}, {Name: "headers"}, {Name: "expect_status"}, {Name: "expect_body"},
	}},
	TCPStep: {Attributes: []hcl.AttributeSchema{{Name: "address", Required: true}}},
	GuestStep: {Attributes: []hcl.AttributeSchema{
		{Name: "vm", Required: true}, {Name: "run", Required: true}, {Name: "username"}, {Name: "password"},
	}},
	PromptStep:    {Attributes: []hcl.AttributeSchema{{Name: "message", Required: true}}},
	TerraformStep: {Attributes: []hcl.AttributeSchema{{Name: "dir", Required: true}, {Name: "vars"}, {Name: "binary"}}},
	WaitStep:      {Attributes: []hcl.AttributeSchema{{Name: "duration", Required: true}}},
}

// DefaultStepModes are the modes a step runs in when it has no modes
// attribute: the modes that bring VMs up for real. The spec says "all but
// test", but cleanup and reprotect start no tiers, so a step placed after
// a tier would run there with nothing to act on (a promote-array step in a
// drill's cleanup would be a disaster of its own). See docs/language.md.
var DefaultStepModes = []Mode{ModeMigrate, ModeFailover, ModeFailback}

// DefaultStepTimeout bounds a step that sets no timeout.
const DefaultStepTimeout = 10 * time.Minute

func (l *loader) decodeStep(b *hcl.Block, sc *scope) *Step {
	s := &Step{Name: b.Labels[0], Modes: DefaultStepModes, Timeout: DefaultStepTimeout, OnFailure: Halt, DeclRange: b.DefRange}
	content, diags := l.content(b.Body, stepSchema)
	l.diags = append(l.diags, diags...)
	a := l.attrs(content, sc)
	l.remember(s, a)
	s.After, _ = a.refs("after", addrs.Tier, addrs.Step)
	s.Before, _ = a.refs("before", addrs.Tier, addrs.Step)
	var modes []string
	if a.strings("modes", &modes) {
		s.Modes = nil
		for _, m := range modes {
			if !slices.Contains(Modes, Mode(m)) {
				detail := fmt.Sprintf("%q is not a run mode. The modes are %s.", m, modeList())
				if sug := suggest(m, words2(Modes)); sug != "" {
					detail += fmt.Sprintf(" Did you mean %q?", sug)
				}
				l.errorf(a.rng("modes"), "Unknown run mode", "%s", detail)
				continue
			}
			s.Modes = append(s.Modes, Mode(m))
		}
	}
	a.duration("timeout", &s.Timeout)
	a.integer("retries", &s.Retries, 0, 100)
	enum(a, "on_failure", &s.OnFailure, Halt, Continue)

	var kinds []*hcl.Block
	for _, nb := range content.Blocks {
		kinds = append(kinds, nb)
	}
	switch len(kinds) {
	case 0:
		l.errorf(b.DefRange, "Step without a kind", "Step %q does nothing: give it exactly one of the blocks %s.", s.Name, kindList())
		return s
	case 1:
	default:
		l.errorf(kinds[1].DefRange, "Step with more than one kind", "Step %q has a %s block and a %s block; a step does exactly one thing. Split it into two steps, the second with after = [step.%s].", s.Name, kinds[0].Type, kinds[1].Type, s.Name)
		return s
	}
	kb := kinds[0]
	s.Kind = StepKind(kb.Type)
	c, diags := l.content(kb.Body, stepKindSchemas[s.Kind])
	l.diags = append(l.diags, diags...)
	ka := l.attrs(c, sc)
	switch s.Kind {
	case CommandStep:
		cmd := &Command{}
		ka.strings("run", &cmd.Run)
		ka.strmap("env", &cmd.Env)
		ka.str("dir", &cmd.Dir)
		l.remember(cmd, ka)
		l.checkCommandEnv(cmd, ka)
		if ka.has("run") && cmd.Run != nil && len(cmd.Run) == 0 {
			l.errorf(ka.rng("run"), "Empty command", "run needs at least the program to start, such as [\"./scripts/promote.sh\", \"east\"].")
		}
		s.Command = cmd
	case HTTPStep:
		h := &HTTPCheck{Method: "GET", ExpectStatus: 200}
		ka.str("url", &h.URL)
		ka.name("method", &h.Method)
		ka.strmap("headers", &h.Headers)
		ka.integer("expect_status", &h.ExpectStatus, 100, 599)
		ka.str("expect_body", &h.ExpectBody)
		l.checkHTTP(h, ka)
		s.HTTP = h
	case TCPStep:
		t := &TCPCheck{}
		if ka.str("address", &t.Address) {
			if i := strings.LastIndex(t.Address, ":"); i <= 0 || i == len(t.Address)-1 {
				l.errorf(ka.rng("address"), "Invalid address", "%q is not host:port; write it as \"db-01:5432\".", t.Address)
			}
		}
		s.TCP = t
	case GuestStep:
		g := &GuestCommand{}
		ka.name("vm", &g.VM)
		l.remember(g, ka)
		ka.strings("run", &g.Run)
		ka.name("username", &g.Username)
		ka.secret("password", &g.Password)
		s.Guest = g
	case PromptStep:
		pr := &Prompt{}
		ka.str("message", &pr.Message)
		s.Prompt = pr
	case TerraformStep:
		tf := &Terraform{Binary: "terraform"}
		ka.name("dir", &tf.Dir)
		ka.strmap("vars", &tf.Vars)
		ka.name("binary", &tf.Binary)
		l.remember(tf, ka)
		s.Terraform = tf
	case WaitStep:
		w := &Wait{}
		if ka.duration("duration", &w.Duration) && w.Duration >= s.Timeout {
			detail := fmt.Sprintf("Step %q waits %s, but its timeout is %s, so it would always time out.", s.Name, units.FormatDuration(w.Duration), units.FormatDuration(s.Timeout))
			if a.has("timeout") {
				detail += " Raise the step's timeout above the wait, or shorten the wait."
			} else {
				detail += fmt.Sprintf(" That is the default timeout; set timeout longer than the wait, such as timeout = %q.", units.FormatDuration(w.Duration+time.Minute))
			}
			l.errorf(ka.rng("duration"), "Wait longer than the step's timeout", "%s", detail)
		}
		s.Wait = w
	}
	return s
}

func modeList() string { return strings.Join(words2(Modes), ", ") }

func kindList() string { return strings.Join(words2(StepKinds), ", ") }
