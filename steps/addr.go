package steps

import (
	"fmt"
	"strings"
)

// Scope is what a step belongs to: the first part of its address.
type Scope string

// The scopes of step addresses. A named scope (tier, group, site, plan
// step) is written KIND.NAME; the others stand alone.
const (
	ScopeTier      Scope = "tier"             // tier.web/start, tier.web/vm.web-01/power_on
	ScopeGroup     Scope = "protection_group" // protection_group.db/sync, protection_group.db/vm.db-01/reverse
	ScopeSite      Scope = "site"             // site.east/verify_gone
	ScopeStep      Scope = "step"             // step.smoke: a plan's own step
	ScopeProtected Scope = "protected"        // protected/vm.db-01/shutdown: the protected site's VM
	ScopeSuspend   Scope = "suspend"          // suspend/vm.test-01/power_off
	ScopeResume    Scope = "resume"           // resume/vm.test-01/power_on
)

// named reports whether the scope is written with a name (KIND.NAME).
func (s Scope) named() bool {
	switch s {
	case ScopeTier, ScopeGroup, ScopeSite, ScopeStep:
		return true
	}
	return false
}

// Addr is the address of a step: its scope (and the scope's name), the
// VM it acts on if any, and its action. It is comparable, so it serves
// as a map key; its text form (String, and in JSON) is what operators
// read in plans' graphs, journals and reports, such as
// "tier.web/vm.web-01/power_on" or "step.smoke". Build addresses with
// the constructors below and read them with ParseAddr; nothing else
// joins or splits the text.
type Addr struct {
	Scope  Scope
	Name   string // tier, group, site or plan-step name; "" for the other scopes
	VM     string // the VM acted on; "" for a step of the whole scope
	Action string // "start", "power_on", …; "" for a plan step
}

// TierStart is the barrier a tier begins at.
func TierStart(tier string) Addr { return Addr{Scope: ScopeTier, Name: tier, Action: "start"} }

// TierDone is the barrier a tier ends at.
func TierDone(tier string) Addr { return Addr{Scope: ScopeTier, Name: tier, Action: "done"} }

// TierVM is a step of a VM in a tier.
func TierVM(tier, vm, action string) Addr {
	return Addr{Scope: ScopeTier, Name: tier, VM: vm, Action: action}
}

// GroupStep is a step of a protection group (vm "" for the whole group).
func GroupStep(group, vm, action string) Addr {
	return Addr{Scope: ScopeGroup, Name: group, VM: vm, Action: action}
}

// SiteStep is a step of a whole site.
func SiteStep(site, action string) Addr { return Addr{Scope: ScopeSite, Name: site, Action: action} }

// PlanStep is a plan's own step block.
func PlanStep(name string) Addr { return Addr{Scope: ScopeStep, Name: name} }

// VMStep is a step of an unnamed scope (protected, suspend, resume) on a VM.
func VMStep(scope Scope, vm, action string) Addr { return Addr{Scope: scope, VM: vm, Action: action} }

// IsZero reports whether a is the zero address.
func (a Addr) IsZero() bool { return a == Addr{} }

// String is the address as written: scope[.name][/vm.VM][/action].
func (a Addr) String() string {
	if a.IsZero() {
		return ""
	}
	var b strings.Builder
	b.WriteString(string(a.Scope))
	if a.Scope.named() {
		b.WriteString(".")
		b.WriteString(a.Name)
	}
	if a.VM != "" {
		b.WriteString("/vm.")
		b.WriteString(a.VM)
	}
	if a.Action != "" {
		b.WriteString("/")
		b.WriteString(a.Action)
	}
	return b.String()
}

// MarshalText writes String.
func (a Addr) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText reads what MarshalText wrote.
func (a *Addr) UnmarshalText(b []byte) error {
	p, err := ParseAddr(string(b))
	if err != nil {
		return err
	}
	*a = p
	return nil
}

// ParseAddr reads an address written by String. The empty text is the
// zero address.
func ParseAddr(s string) (Addr, error) {
	if s == "" {
		return Addr{}, nil
	}
	bad := func(why string) (Addr, error) {
		return Addr{}, fmt.Errorf("%q is not a step address: %s", s, why)
	}
	head, rest, _ := strings.Cut(s, "/")
	var a Addr
	if scope, name, ok := strings.Cut(head, "."); ok {
		a.Scope, a.Name = Scope(scope), name
		if !a.Scope.named() {
			return bad("unknown scope " + scope)
		}
		if name == "" {
			return bad("the " + scope + " has no name")
		}
	} else {
		a.Scope = Scope(head)
		if a.Scope.named() || !knownScope(a.Scope) {
			return bad("unknown scope " + head)
		}
	}
	// A VM's name may hold a slash; an action never does.
	if vm, ok := strings.CutPrefix(rest, "vm."); ok {
		i := strings.LastIndex(vm, "/")
		if i < 0 {
			return bad("no action after the VM")
		}
		a.VM, rest = vm[:i], vm[i+1:]
		if a.VM == "" {
			return bad("the VM has no name")
		}
	}
	if strings.Contains(rest, "/") {
		return bad("too many parts")
	}
	a.Action = rest
	if a.Scope == ScopeStep && (a.VM != "" || a.Action != "") {
		return bad("a plan step's address is step.NAME")
	}
	if a.Scope != ScopeStep && a.Action == "" {
		return bad("no action")
	}
	if !a.Scope.named() && a.VM == "" {
		return bad("no VM")
	}
	return a, nil
}

func knownScope(s Scope) bool {
	switch s {
	case ScopeTier, ScopeGroup, ScopeSite, ScopeStep, ScopeProtected, ScopeSuspend, ScopeResume:
		return true
	}
	return false
}

// JoinAddrs writes addresses one after the other, sep between them.
func JoinAddrs(as []Addr, sep string) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = a.String()
	}
	return strings.Join(parts, sep)
}

// MustParseAddr is ParseAddr for addresses known to be good (tests,
// constants); it panics on a bad one.
func MustParseAddr(s string) Addr {
	a, err := ParseAddr(s)
	if err != nil {
		panic(err)
	}
	return a
}

// RunPlaceholder stands, in step arguments (folders, paths, workspace
// names), for the id of the run; the runner replaces it (ExpandRun).
const RunPlaceholder = "{run}"

// ExpandRun replaces RunPlaceholder in s with the run's id.
func ExpandRun(s, runID string) string { return strings.ReplaceAll(s, RunPlaceholder, runID) }
