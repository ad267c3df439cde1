package plans

import (
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/drplan/drplan/addrs"
)

// ServiceKind names what a simulated guest service speaks.
type ServiceKind string

// The simulated service kinds.
const (
	HTTPService ServiceKind = "http"
	TCPService  ServiceKind = "tcp"
)

// ServiceKinds lists the simulated service kinds.
var ServiceKinds = []ServiceKind{HTTPService, TCPService}

// SimService is a service a simulated guest answers on the network: the
// http and tcp steps of a simulated run aimed at the VM reach it, and
// nothing else. It answers while its VM is powered on, booted, After has
// passed since the boot (plan time), and the check comes from the network
// the VM is on (see docs/simulator.md).
type SimService struct {
	Kind ServiceKind
	Port int
	// Path is the one path an http service answers (others get 404); ""
	// answers every path.
	Path string
	// Status and Body are an http service's answer.
	Status int
	Body   string
	// After is how long after the VM's boot the service is ready.
	After     time.Duration
	DeclRange hcl.Range
}

// Matches reports whether what names this service: its kind or its port.
func (s *SimService) Matches(what string) bool {
	return what == string(s.Kind) || what == strconv.Itoa(s.Port)
}

var serviceSchemas = map[ServiceKind]*hcl.BodySchema{
	HTTPService: {Attributes: []hcl.AttributeSchema{{Name: "port", Required: true}, {Name: "path"}, {Name: "status"}, {Name: "body"}, {Name: "after"}}},
	TCPService:  {Attributes: []hcl.AttributeSchema{{Name: "port", Required: true}, {Name: "after"}}},
}

// decodeSimServices decodes the service blocks of a simulation vm block.
func (l *loader) decodeSimServices(blocks hcl.Blocks) []*SimService {
	var out []*SimService
	ports := map[int]hcl.Range{}
	for _, b := range blocks {
		kind := ServiceKind(b.Labels[0])
		schema, ok := serviceSchemas[kind]
		if !ok {
			names := words2(ServiceKinds)
			detail := "\"" + string(kind) + "\" is not a simulated service kind. Use one of " + quoteList(names) + "."
			if s := suggest(string(kind), names); s != "" {
				detail += " Did you mean \"" + s + "\"?"
			}
			l.errorf(b.LabelRanges[0], "Unknown service kind", "%s", detail)
			continue
		}
		sv := &SimService{Kind: kind, Status: 200, DeclRange: b.DefRange}
		c, diags := b.Body.Content(schema)
		l.diags = append(l.diags, diags...)
		a := l.attrs(c, nil)
		if a.integer("port", &sv.Port, 1, 65535) {
			if first, dup := ports[sv.Port]; dup {
				l.errorf(a.rng("port"), "Duplicate service port", "Port %d of this VM is already served by the service at %s; a port has one service.", sv.Port, first)
			} else {
				ports[sv.Port] = b.DefRange
			}
		}
		if a.str("path", &sv.Path) && !strings.HasPrefix(sv.Path, "/") {
			l.errorf(a.rng("path"), "Invalid service path", "path must start with \"/\", as in \"/health\"; leave it out to answer every path.")
		}
		a.integer("status", &sv.Status, 100, 599)
		a.str("body", &sv.Body)
		a.duration("after", &sv.After)
		out = append(out, sv)
	}
	return out
}

// decodeServiceFault decodes the vm, service and latency of a
// service_down or service_slow fault.
func (l *loader) decodeServiceFault(a attrs, f *Fault) {
	if a.str("vm", &f.VM) {
		l.checkGlobs([]string{f.VM}, a.rng("vm"))
	}
	if a.str("service", &f.Service) {
		if _, known := serviceSchemas[ServiceKind(f.Service)]; !known {
			if n, err := strconv.Atoi(f.Service); err != nil || n < 1 || n > 65535 {
				l.errorf(a.rng("service"), "Invalid service", "service names the service the fault affects: its kind, \"http\" or \"tcp\", or its port, a whole number from 1 to 65535; %q is neither.", f.Service)
			}
		}
	}
	f.Site, _ = a.ref("site", addrs.Site)
	if a.duration("latency", &f.Latency) && f.Latency <= 0 {
		l.errorf(a.rng("latency"), "Invalid latency", "latency must be longer than 0, as in \"3s\".")
	}
}
