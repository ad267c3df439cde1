package plans

import (
	"net/netip"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/drplan/drplan/addrs"
	"github.com/drplan/drplan/internal/redact"
	"github.com/drplan/drplan/internal/units"
)

// Plan is a decoded plan directory.
type Plan struct {
	// Dir is the plan directory; "" for sources loaded from memory.
	Dir string
	// Name is the drplan block's name, or the directory's base name.
	Name string

	Meta             *Meta
	Variables        []*Variable
	Locals           []*Local
	Sites            []*Site
	ProtectionGroups []*ProtectionGroup
	RecoveryPlans    []*RecoveryPlan
	Simulation       *Simulation

	// Files holds every parsed file, plan files and variable files, by
	// name: the sources that diagnostics point into.
	Files map[string]*hcl.File

	secrets *redact.Set
}

// RecoveryPlan is the recovery plan a run with -recovery-plan name runs:
// the one of that name, or, when name is "", the only one. It is nil when
// there is no such plan, or name is "" and there are none or several
// (the compiler says which).
func (p *Plan) RecoveryPlan(name string) *RecoveryPlan {
	if name == "" {
		if len(p.RecoveryPlans) == 1 {
			return p.RecoveryPlans[0]
		}
		return nil
	}
	for _, rp := range p.RecoveryPlans {
		if rp.Name == name {
			return rp
		}
	}
	return nil
}

// Meta is the optional drplan block.
type Meta struct {
	Name            string
	RequiredVersion string
	Owner           string
	DrillInterval   time.Duration
	DeclRange       hcl.Range
}

// Variable is an input variable and its final value.
type Variable struct {
	Name        string
	Description string
	Sensitive   bool
	Type        cty.Type
	// Value is the variable's value after defaults, environment, files and
	// flags; a sensitive value carries the sensitive mark.
	Value cty.Value
	// ValueRange is where the value came from: a variable file's attribute,
	// the default, or the declaration for flags and the environment.
	ValueRange hcl.Range
	DeclRange  hcl.Range
}

// Local is one local value.
type Local struct {
	Name      string
	Expr      hcl.Expression
	DeclRange hcl.Range
}

// SiteRole says whether a site holds protected VMs, receives replicas, or both.
type SiteRole string

// The site roles.
const (
	RoleProtected SiteRole = "protected"
	RoleRecovery  SiteRole = "recovery"
	RoleBoth      SiteRole = "both"
)

// Site is a datacenter that holds protected VMs or receives their replicas.
type Site struct {
	Name       string
	Role       SiteRole
	Datacenter string
	VCenter    *VCenter // nil: the site exists only in simulation, or on libvirt
	Libvirt    *Libvirt // nil: not a libvirt/KVM site
	Capacity   *Capacity
	WAN        *WAN
	DeclRange  hcl.Range
}

// VCenter holds the connection settings of a site's vCenter. Empty fields
// fall back to the GOVC_* environment variables at connection time.
type VCenter struct {
	URL        string
	Username   string
	Password   Secret
	Insecure   bool
	Thumbprint string
	DeclRange  hcl.Range
}

// Libvirt holds the connection URIs of a libvirt/KVM site: one per host,
// as libvirt writes them ("qemu+ssh://kvm-east-01/system").
type Libvirt struct {
	URIs      []string
	URIRanges []hcl.Range // of each URI, for diagnostics
	DeclRange hcl.Range
}

// Hypervisor names the kind of hypervisor a site runs: "vsphere",
// "libvirt", or "" for a site that exists only in simulation.
func (s *Site) Hypervisor() string {
	switch {
	case s.VCenter != nil:
		return "vsphere"
	case s.Libvirt != nil:
		return "libvirt"
	}
	return ""
}

// Secret is a value that must never be printed. Its String and JSON forms
// are redact.Mask; Reveal returns the value for the one place that needs it.
type Secret struct{ value string }

// NewSecret wraps a value.
func NewSecret(v string) Secret { return Secret{v} }

// Reveal returns the secret value.
func (s Secret) Reveal() string { return s.value }

// IsSet reports whether the secret holds a non-empty value.
func (s Secret) IsSet() bool { return s.value != "" }

// String returns redact.Mask.
func (s Secret) String() string { return redact.Mask }

// GoString returns redact.Mask, so %#v does not show the value either.
func (s Secret) GoString() string { return redact.Mask }

// MarshalText returns redact.Mask.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redact.Mask), nil }

// Capacity is what a recovery site can run.
type Capacity struct {
	CPUGHz    float64
	Memory    units.Size
	Storage   units.Size
	DeclRange hcl.Range
}

// WAN describes the link from a site to the others.
type WAN struct {
	Bandwidth units.Rate
	DeclRange hcl.Range
}

// Consistency says whether a group recovers from one common point.
type Consistency string

// The consistency modes.
const (
	ConsistencyGroup Consistency = "group"
	ConsistencyVM    Consistency = "vm"
)

// ProtectionGroup is a set of VMs replicated together to one recovery site.
type ProtectionGroup struct {
	Name         string
	Site         string // protected site
	RecoverySite string
	// VMs are the names listed in vms, in order.
	VMs []string
	// Matched are the VMs that the caller's inventory matched to the
	// group's selectors (LoadOptions.SelectorMatches); empty at validate time.
	Matched     []string
	Selectors   []*Selector
	Exclude     []string
	Consistency Consistency
	Replication *Replication
	DeclRange   hcl.Range
	VMsRange    hcl.Range
	// SiteRange and RecoverySiteRange locate the two site references.
	SiteRange, RecoverySiteRange hcl.Range
}

// Members returns the group's VMs: the explicit names, then the selector
// matches not already named, less the excluded ones.
func (g *ProtectionGroup) Members() []string {
	return groupMembers(g.VMs, g.Matched, g.Exclude)
}

// Selector matches VMs of the protected site; set fields must all match.
type Selector struct {
	Folder    string
	Tag       string // CATEGORY:TAG
	Name      string // glob
	DeclRange hcl.Range
}

// Matches reports whether a VM in folder (a path under the datacenter's
// vm folder), with tags, named name, is selected: every field the
// selector sets must match, and an empty selector selects nothing.
func (s *Selector) Matches(folder string, tags []string, name string) bool {
	if s.Folder != "" && strings.Trim(folder, "/") != strings.Trim(s.Folder, "/") {
		return false
	}
	if s.Tag != "" && !slices.Contains(tags, s.Tag) {
		return false
	}
	if s.Name != "" {
		if ok, _ := path.Match(s.Name, name); !ok {
			return false
		}
	}
	return s.Folder != "" || s.Tag != "" || s.Name != ""
}

// Looks reports whether a VM sits where the selector looks (its folder or
// its tag), whatever its name.
func (s *Selector) Looks(folder string, tags []string) bool {
	return s.Folder != "" && strings.Trim(folder, "/") == strings.Trim(s.Folder, "/") ||
		s.Tag != "" && slices.Contains(tags, s.Tag)
}

// Method is a replication method.
type Method string

// The replication methods.
const (
	ArraySync          Method = "array_sync"
	ArrayAsync         Method = "array_async"
	VSphereReplication Method = "vsphere_replication"
	Snapshot           Method = "snapshot"
	CDP                Method = "cdp"
	Host               Method = "host"
	Backup             Method = "backup"
)

// Replication is how a group's VMs are replicated.
type Replication struct {
	Method      Method
	RPO         time.Duration
	Retention   int
	Journal     time.Duration
	ChangeRate  units.Rate
	Compression bool
	DeclRange   hcl.Range
}

// Mode is a run mode.
type Mode string

// The run modes.
const (
	ModeTest      Mode = "test"
	ModeCleanup   Mode = "cleanup"
	ModeMigrate   Mode = "migrate"
	ModeFailover  Mode = "failover"
	ModeReprotect Mode = "reprotect"
	ModeFailback  Mode = "failback"
)

// Modes lists every run mode in the order operators meet them.
var Modes = []Mode{ModeTest, ModeCleanup, ModeMigrate, ModeFailover, ModeReprotect, ModeFailback}

// FailurePolicy says what a failure does to the rest of the run.
type FailurePolicy string

// The failure policies.
const (
	Halt     FailurePolicy = "halt"
	Continue FailurePolicy = "continue"
)

// RecoveryPlan says what to do, in what order, to bring protection groups
// up at their recovery site.
type RecoveryPlan struct {
	Name              string
	ProtectionGroups  []string
	RTO               time.Duration // 0: no target
	MaxParallel       int
	NetworkMappings   []*NetworkMapping
	IPRules           []*IPRule
	SuspendAtRecovery []string
	Tiers             []*Tier
	VMs               []*VMOverride
	Steps             []*Step
	DeclRange         hcl.Range
}

// Tier returns the tier with the given name, or nil.
func (p *RecoveryPlan) Tier(name string) *Tier {
	for _, t := range p.Tiers {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Step returns the step with the given name, or nil.
func (p *RecoveryPlan) Step(name string) *Step {
	for _, s := range p.Steps {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// VM returns the override block for a VM, or nil.
func (p *RecoveryPlan) VM(name string) *VMOverride {
	for _, v := range p.VMs {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// NetworkMapping maps a protected-site port group to its recovery and test
// port groups.
type NetworkMapping struct {
	From, To, Test string
	DeclRange      hcl.Range
}

// IPRule re-addresses VMs on failover: the first rule whose FromCIDR holds
// a VM's address maps it into ToCIDR, keeping the host part.
type IPRule struct {
	Name      string
	FromCIDR  netip.Prefix
	ToCIDR    netip.Prefix
	Gateway   netip.Addr
	DNS       []netip.Addr
	DeclRange hcl.Range
}

// Startup says how a tier's VMs start and when they count as ready.
type Startup struct {
	Action  StartupAction
	WaitFor WaitFor
	Timeout time.Duration
	Delay   time.Duration
}

// StartupAction is what recovery does to a VM's power.
type StartupAction string

// The startup actions.
const (
	PowerOn   StartupAction = "power_on"
	NoPowerOn StartupAction = "none"
)

// WaitFor is the readiness signal awaited after power-on.
type WaitFor string

// The readiness signals.
const (
	WaitNone  WaitFor = "none"
	Heartbeat WaitFor = "heartbeat"
	WaitForIP WaitFor = "ip"
)

// DefaultStartup is a tier's startup when its block leaves fields out.
var DefaultStartup = Startup{Action: PowerOn, WaitFor: Heartbeat, Timeout: 10 * time.Minute}

// Tier is a set of VMs that start together, after tiers of lower priority.
type Tier struct {
	Name     string
	Priority int
	// VMs is the evaluated vms list.
	VMs []string
	// Groups are the protection groups whose vms the list refers to.
	Groups    []string
	After     []addrs.Ref
	Startup   Startup
	OnFailure FailurePolicy
	DeclRange hcl.Range
	VMsRange  hcl.Range
}

// VMOverride holds per-VM settings inside a recovery plan.
type VMOverride struct {
	Name      string
	After     []string
	IP        *IPSetting
	Startup   StartupOverride
	DeclRange hcl.Range
}

// IPSetting is a fixed address for a VM after failover.
type IPSetting struct {
	Address   netip.Prefix
	Gateway   netip.Addr
	DeclRange hcl.Range
}

// StartupOverride holds the startup fields a vm block sets; nil fields
// keep the tier's value.
type StartupOverride struct {
	Action  *StartupAction
	WaitFor *WaitFor
	Timeout *time.Duration
	Delay   *time.Duration
}

// Apply returns s with the override's set fields replaced.
func (o StartupOverride) Apply(s Startup) Startup {
	if o.Action != nil {
		s.Action = *o.Action
	}
	if o.WaitFor != nil {
		s.WaitFor = *o.WaitFor
	}
	if o.Timeout != nil {
		s.Timeout = *o.Timeout
	}
	if o.Delay != nil {
		s.Delay = *o.Delay
	}
	return s
}

// StepKind names what a custom step does.
type StepKind string

// The step kinds.
const (
	CommandStep   StepKind = "command"
	HTTPStep      StepKind = "http"
	TCPStep       StepKind = "tcp"
	GuestStep     StepKind = "guest"
	PromptStep    StepKind = "prompt"
	TerraformStep StepKind = "terraform"
	WaitStep      StepKind = "wait"
)

// StepKinds lists the step kinds.
var StepKinds = []StepKind{CommandStep, HTTPStep, TCPStep, GuestStep, PromptStep, TerraformStep, WaitStep}

// Step is a custom action, a node in the same graph as the tiers.
type Step struct {
	Name      string
	After     []addrs.Ref
	Before    []addrs.Ref
	Modes     []Mode
	Timeout   time.Duration
	Retries   int
	OnFailure FailurePolicy
	Kind      StepKind

	// Exactly one of these is set, matching Kind.
	Command   *Command
	HTTP      *HTTPCheck
	TCP       *TCPCheck
	Guest     *GuestCommand
	Prompt    *Prompt
	Terraform *Terraform
	Wait      *Wait

	DeclRange hcl.Range
}

// RunsIn reports whether the step is part of mode m.
func (s *Step) RunsIn(m Mode) bool {
	for _, x := range s.Modes {
		if x == m {
			return true
		}
	}
	return false
}

// Command runs a local process.
type Command struct {
	Run []string
	Env map[string]string
	Dir string // relative to the plan directory; "" is the plan directory
}

// HTTPCheck requests a URL and checks the answer.
type HTTPCheck struct {
	URL          string
	Method       string
	Headers      map[string]string
	ExpectStatus int
	ExpectBody   string // regular expression
}

// TCPCheck connects to an address.
type TCPCheck struct {
	Address string
}

// GuestCommand runs a command inside a recovered VM.
type GuestCommand struct {
	VM       string
	Run      []string
	Username string
	Password Secret
}

// Prompt pauses for an operator.
type Prompt struct {
	Message string
}

// Terraform applies a Terraform configuration.
type Terraform struct {
	Dir    string
	Vars   map[string]string
	Binary string
}

// Wait pauses for a fixed time.
type Wait struct {
	Duration time.Duration
}

// Simulation describes the simulated world and the faults to inject.
type Simulation struct {
	TimeScale float64
	BootTime  time.Duration
	VMs       []*SimVM
	Faults    []*Fault
	DeclRange hcl.Range
}

// SimVM sets simulated properties of the VMs whose names match Pattern,
// or declares a VM that no protection group names.
type SimVM struct {
	Pattern  string
	BootTime time.Duration // 0: the simulation's default
	CPUs     int
	Memory   units.Size
	Disk     units.Size
	Site     string
	Folder   string
	Tags     []string
	Networks []string
	// Replicated false declares a VM that its group\'s selectors match but
	// that has no replica: drift, for drift detection to find.
	Replicated bool
	// Services are what the guest answers on the network (http and tcp
	// checks of simulated runs); see SimService.
	Services  []*SimService
	DeclRange hcl.Range
}

// FaultKind names an injected fault.
type FaultKind string

// The fault kinds.
const (
	BootFailure    FaultKind = "boot_failure"
	APIError       FaultKind = "api_error"
	SlowAPI        FaultKind = "slow_api"
	SiteDown       FaultKind = "site_down"
	ReplicationLag FaultKind = "replication_lag"
	ServiceDown    FaultKind = "service_down"
	ServiceSlow    FaultKind = "service_slow"
)

// Fault is one injected fault; which fields apply depends on Kind.
type Fault struct {
	Kind FaultKind
	// VM is a name or glob (boot_failure).
	VM string
	// BootMode is "no_heartbeat" or "power_on_error" (boot_failure).
	BootMode string
	// Method is a vSphere API method name (api_error, slow_api).
	Method      string
	Probability float64
	// Count limits an api_error to its first Count failures (0: no limit).
	Count   int
	Latency time.Duration
	// Site is the affected site (site_down; optional for api faults).
	Site string
	// At is when the site goes down after the run starts; 0 with AtStart.
	At       time.Duration
	AtStart  bool
	Duration time.Duration // 0: stays down
	// ProtectionGroup and Lag describe replication_lag.
	ProtectionGroup string
	Lag             time.Duration
	// Service names the service of VM a service_down or service_slow
	// fault affects: its kind ("http", "tcp") or its port ("8080");
	// Latency is how much slower a service_slow one answers.
	Service   string
	DeclRange hcl.Range
}
