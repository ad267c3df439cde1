package command

import (
	"fmt"
	"maps"
	"strings"

	"github.com/drplan/drplan/inventory"
)

// pointFlag is -point [GROUP=]POINT, repeatable: the recovery point of
// every group, and of single groups.
type pointFlag struct {
	def    string
	groups map[string]string
}

const pointUsage = "recovery `[GROUP=]POINT`: latest, latest-consistent or an RFC 3339 time (the newest point at or before it); repeat with GROUP= for one group"

// pointFlag adds -point.
func (f *flags) pointFlag() *pointFlag {
	p := &pointFlag{def: inventory.PointLatest}
	f.Var(p, "point", pointUsage)
	return p
}

func (p *pointFlag) String() string {
	if p == nil {
		return ""
	}
	return p.def
}

func (p *pointFlag) Set(v string) error {
	group, value, perGroup := strings.Cut(v, "=")
	if !perGroup {
		value = v
	}
	if _, err := inventory.ParsePoint(value); err != nil {
		return err
	}
	if !perGroup {
		p.def = value
		return nil
	}
	if group == "" {
		return fmt.Errorf("%q names no group: use -point GROUP=POINT", v)
	}
	if p.groups == nil {
		p.groups = map[string]string{}
	}
	p.groups[group] = value
	return nil
}

// perGroup returns a copy of the per-group requests.
func (p *pointFlag) perGroup() map[string]string {
	return maps.Clone(p.groups)
}
