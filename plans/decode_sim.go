package plans

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/drplan/drplan/addrs"
	"github.com/drplan/drplan/internal/units"
)

var simulationSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "time_scale"}, {Name: "boot_time"}},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "vm", LabelNames: []string{"name"}},
		{Type: "fault", LabelNames: []string{"kind"}},
	},
}

var simVMSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "boot_time"}, {Name: "cpus"}, {Name: "memory"}, {Name: "disk"},
		{Name: "site"}, {Name: "folder"}, {Name: "tags"}, {Name: "networks"}, {Name: "replicated"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "service", LabelNames: []string{"kind"}}},
}

// faultSchemas holds the attributes each fault kind takes.
var faultSchemas = map[FaultKind]*hcl.BodySchema{
	BootFailure:    {Attributes: []hcl.AttributeSchema{{Name: "vm", Required: true}, {Name: "mode"}}},
	APIError:       {Attributes: []hcl.AttributeSchema{{Name: "method", Required: true}, {Name: "probability"}, {Name: "count"}, {Name: "site"}}},
	SlowAPI:        {Attributes: []hcl.AttributeSchema{{Name: "method", Required: true}, {Name: "latency", Required: true}, {Name: "site"}}},
	SiteDown:       {Attributes: []hcl.AttributeSchema{{Name: "site", Required: true}, {Name: "at"}, {Name: "duration"}}},
	ReplicationLag: {Attributes: []hcl.AttributeSchema{{Name: "protection_group", Required: true}, {Name: "lag", Required: true}}},
	ServiceDown:    {Attributes: []hcl.AttributeSchema{{Name: "vm", Required: true}, {Name: "service", Required: true}, {Name: "site"}}},
	ServiceSlow:    {Attributes: []hcl.AttributeSchema{{Name: "vm", Required: true}, {Name: "service", Required: true}, {Name: "latency", Required: true}, {Name: "site"}}},
}

// FaultKinds lists the fault kinds.
var FaultKinds = []FaultKind{BootFailure, APIError, SlowAPI, SiteDown, ReplicationLag, ServiceDown, ServiceSlow}

// Simulation defaults.
const (
	DefaultTimeScale = 1.0
	DefaultBootTime  = 45 * time.Second
)

// parseAt parses the at attribute of site_down when it is not "start".
func parseAt(s string) (time.Duration, error) {
	d, err := units.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%v; or write \"start\" for the moment the run starts", strings.TrimSuffix(err.Error(), "."))
	}
	return d, nil
}

// Boot failure modes.
const (
	NoHeartbeat  = "no_heartbeat"
	PowerOnError = "power_on_error"
)

func (l *loader) decodeSimulation(blocks hcl.Blocks) {
	for i, b := range blocks {
		if i > 0 {
			l.errorf(b.DefRange, "Duplicate simulation block", "A plan has at most one simulation block; the first is at %s. Merge the two.", blocks[0].DefRange)
			continue
		}
		sim := &Simulation{TimeScale: DefaultTimeScale, BootTime: DefaultBootTime, DeclRange: b.DefRange}
		content, diags := l.content(b.Body, simulationSchema)
		l.diags = append(l.diags, diags...)
		a := l.attrs(content, nil)
		if a.number("time_scale", &sim.TimeScale) && sim.TimeScale <= 0 {
			l.errorf(a.rng("time_scale"), "Invalid time scale", "time_scale must be greater than 0; 0.01 runs a simulated minute in 0.6 seconds.")
			sim.TimeScale = DefaultTimeScale
		}
		a.duration("boot_time", &sim.BootTime)
		seen := map[string]hcl.Range{}
		for _, nb := range content.Blocks {
			switch nb.Type {
			case "vm":
				name := nb.Labels[0]
				if first, dup := seen[name]; dup {
					l.errorf(nb.LabelRanges[0], "Duplicate simulation VM", "A simulation vm block for %q was already declared at %s. Merge the two.", name, first)
					continue
				}
				seen[name] = nb.LabelRanges[0]
				l.checkGlobs([]string{name}, nb.LabelRanges[0])
				sim.VMs = append(sim.VMs, l.decodeSimVM(nb))
			case "fault":
				if f := l.decodeFault(nb); f != nil {
					sim.Faults = append(sim.Faults, f)
				}
			}
		}
		l.plan.Simulation = sim
	}
}

func (l *loader) decodeSimVM(b *hcl.Block) *SimVM {
	v := &SimVM{Pattern: b.Labels[0], Replicated: true, DeclRange: b.DefRange}
	c, diags := l.content(b.Body, simVMSchema)
	l.diags = append(l.diags, diags...)
	a := l.attrs(c, nil)
	a.duration("boot_time", &v.BootTime)
	a.integer("cpus", &v.CPUs, 1, 768)
	a.size("memory", &v.Memory)
	a.size("disk", &v.Disk)
	v.Site, _ = a.ref("site", addrs.Site)
	a.name("folder", &v.Folder)
	if a.strings("tags", &v.Tags) {
		l.checkTags(v.Tags, a.rng("tags"))
	}
	a.strings("networks", &v.Networks)
	a.boolean("replicated", &v.Replicated)
	v.Services = l.decodeSimServices(c.Blocks)
	return v
}

func (l *loader) decodeFault(b *hcl.Block) *Fault {
	kind := FaultKind(b.Labels[0])
	schema, ok := faultSchemas[kind]
	if !ok {
		detail := "\"" + string(kind) + "\" is not a fault kind. Use one of " + quoteList(words2(FaultKinds)) + "."
		if s := suggest(string(kind), words2(FaultKinds)); s != "" {
			detail += " Did you mean \"" + s + "\"?"
		}
		l.errorf(b.LabelRanges[0], "Unknown fault kind", "%s", detail)
		return nil
	}
	f := &Fault{Kind: kind, BootMode: NoHeartbeat, Probability: 1, DeclRange: b.DefRange}
	c, diags := l.content(b.Body, schema)
	l.diags = append(l.diags, diags...)
	a := l.attrs(c, nil)
	switch kind {
	case BootFailure:
		if a.name("vm", &f.VM) {
			l.checkGlobs([]string{f.VM}, a.rng("vm"))
		}
		enum(a, "mode", &f.BootMode, NoHeartbeat, PowerOnError)
	case APIError, SlowAPI:
		a.name("method", &f.Method)
		if a.number("probability", &f.Probability) && (f.Probability < 0 || f.Probability > 1) {
			l.errorf(a.rng("probability"), "Invalid probability", "probability must be from 0 to 1; 0.05 fails one call in twenty.")
		}
		a.integer("count", &f.Count, 1, 1000000)
		a.duration("latency", &f.Latency)
		f.Site, _ = a.ref("site", addrs.Site)
	case SiteDown:
		f.Site, _ = a.ref("site", addrs.Site)
		f.AtStart = true
		var at string
		if a.str("at", &at) && at != "start" {
			f.AtStart = false
			parsed(a, "at", "duration", parseAt, &f.At)
		}
		a.duration("duration", &f.Duration)
	case ReplicationLag:
		f.ProtectionGroup, _ = a.ref("protection_group", addrs.ProtectionGroup)
		a.duration("lag", &f.Lag)
	case ServiceDown, ServiceSlow:
		l.decodeServiceFault(a, f)
	}
	return f
}
