package addrs

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Kind is the type of object an address names. Its value is the word an
// operator writes in a reference.
type Kind string

// The kinds of object a plan can refer to.
const (
	Variable        Kind = "var"
	Local           Kind = "local"
	Site            Kind = "site"
	ProtectionGroup Kind = "protection_group"
	RecoveryPlan    Kind = "recovery_plan"
	Tier            Kind = "tier"
	Step            Kind = "step"
	VM              Kind = "vm"
)

// Kinds lists every kind, for lookups and messages.
var Kinds = []Kind{Variable, Local, Site, ProtectionGroup, RecoveryPlan, Tier, Step, VM}

// Noun is the kind in words, for messages: "protection group".
func (k Kind) Noun() string {
	switch k {
	case Variable:
		return "variable"
	case Local:
		return "local value"
	}
	return strings.ReplaceAll(string(k), "_", " ")
}

// Ref is the address of one named object.
type Ref struct {
	Kind Kind
	Name string
}

// String returns the address as written in a plan: "tier.web".
func (r Ref) String() string { return string(r.Kind) + "." + r.Name }

// MarshalText makes references readable map keys and values in JSON.
func (r Ref) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText parses what MarshalText wrote.
func (r *Ref) UnmarshalText(b []byte) error {
	ref, err := ParseRef(string(b))
	if err != nil {
		return err
	}
	*r = ref
	return nil
}

// ParseRef parses an address written as KIND.NAME.
func ParseRef(s string) (Ref, error) {
	kind, name, ok := strings.Cut(s, ".")
	if !ok || name == "" {
		return Ref{}, fmt.Errorf("%q is not an address; write KIND.NAME, such as tier.web", s)
	}
	for _, k := range Kinds {
		if string(k) == kind {
			return Ref{Kind: k, Name: name}, nil
		}
	}
	return Ref{}, fmt.Errorf("%q is not an address: unknown kind %q", s, kind)
}

// RefFromTraversal returns the address that a traversal such as
// tier.web or protection_group.db.vms starts with, and the steps after it.
func RefFromTraversal(t hcl.Traversal) (Ref, hcl.Traversal, bool) {
	if len(t) < 2 {
		return Ref{}, nil, false
	}
	root, ok := t[0].(hcl.TraverseRoot)
	if !ok {
		return Ref{}, nil, false
	}
	attr, ok := t[1].(hcl.TraverseAttr)
	if !ok {
		return Ref{}, nil, false
	}
	for _, k := range Kinds {
		if string(k) == root.Name {
			return Ref{Kind: k, Name: attr.Name}, t[2:], true
		}
	}
	return Ref{}, nil, false
}
