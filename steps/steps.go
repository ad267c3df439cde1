package steps

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/drplan/drplan/internal/redact"
	"github.com/drplan/drplan/internal/units"
)

// FormatVersion is the version of the program's JSON form.
const FormatVersion = 1

// Program is the compiled program of one run.
type Program struct {
	FormatVersion int    `json:"format_version"`
	Plan          string `json:"plan"`
	RecoveryPlan  string `json:"recovery_plan"`
	Mode          string `json:"mode"`
	// MaxParallel bounds the steps that take a VM slot (Step.Slot).
	MaxParallel int `json:"max_parallel"`
	// RTO is the plan's target; 0 when it has none.
	RTO      Duration `json:"rto_target,omitempty"`
	Sites    []Site   `json:"sites"`
	Groups   []Group  `json:"groups"`
	Steps    []*Step  `json:"steps"`
	Estimate Estimate `json:"estimate"`
	// Hash identifies the sources, variables and inventory the program was
	// compiled from.
	Hash string `json:"hash,omitempty"`
	// Source says where a saved program came from, so that drplan apply
	// can check that nothing changed: the plan directory and the target.
	Source *Source `json:"source,omitempty"`

	// secrets are the sensitive values of the plan the program was
	// compiled from (plans.Plan.Secrets), which every rendering hides.
	secrets *redact.Set
}

// Source is where a saved program was compiled from.
type Source struct {
	Dir    string `json:"dir"`
	Target string `json:"target"` // sim or live
}

// Site is a site as the run sees it.
type Site struct {
	Name       string `json:"name"`
	Datacenter string `json:"datacenter"`
	// Role is the site's part in this run: "protected" (VMs come from
	// here) or "recovery" (VMs come up here).
	Role string `json:"role"`
	// ReadOnly sites must not be changed by the run; providers open them
	// read-only.
	ReadOnly bool `json:"read_only"`
}

// Group is a protection group as the run sees it.
type Group struct {
	Name         string   `json:"name"`
	Site         string   `json:"site"`
	RecoverySite string   `json:"recovery_site"`
	Method       string   `json:"method"`
	RPO          Duration `json:"rpo"`
	Consistency  string   `json:"consistency"`
	// Point is the recovery point to use: "latest", "latest-consistent"
	// or an RFC 3339 time.
	Point string `json:"point"`
	// Chosen is the point (or the oldest .. newest, when the group's VMs
	// recover independently) that Point resolved to when the program was
	// compiled; the run resolves Point again, the same way, just before it
	// copies or promotes the first replica.
	Chosen string   `json:"chosen,omitempty"`
	VMs    []string `json:"vms"`
}

// Kind is what a step does.
type Kind string

// Step kinds.
const (
	Barrier    Kind = "barrier"     // no-op joining dependencies (tier start and end)
	Copy       Kind = "copy"        // drill copy of a replica from the recovery point
	Promote    Kind = "promote"     // make a replica the production VM
	Connect    Kind = "connect"     // put NICs on port groups
	Customize  Kind = "customize"   // re-address through guest customization
	PowerOn    Kind = "power_on"    // power on
	WaitReady  Kind = "wait_ready"  // wait for heartbeat or IP
	Settle     Kind = "settle"      // fixed delay after ready
	PowerOff   Kind = "power_off"   // hard power off
	Shutdown   Kind = "shutdown"    // guest shutdown, must succeed
	Destroy    Kind = "destroy"     // delete a VM the run created
	Sync       Kind = "sync"        // final replication of a group
	Reverse    Kind = "reverse"     // reverse a group's replication
	Suspend    Kind = "suspend"     // power off a VM to make room, marked
	Resume     Kind = "resume"      // power on a VM a run suspended
	VerifyGone Kind = "verify_gone" // prove nothing the run created is left
	Custom     Kind = "custom"      // a plan's step block
)

// Phase groups steps for people and reports.
type Phase string

// Phases, in the order a run passes them.
const (
	PhasePrepare  Phase = "prepare"  // protected site: shutdown, sync; suspend
	PhaseStorage  Phase = "storage"  // copy or promote replicas
	PhaseNetwork  Phase = "network"  // connect, customize
	PhasePowerOn  Phase = "power_on" // power on
	PhaseBoot     Phase = "boot"     // wait until ready
	PhaseSettle   Phase = "settle"   // delay after ready
	PhaseCustom   Phase = "custom"   // custom steps
	PhaseCleanup  Phase = "cleanup"  // power off, destroy, verify
	PhaseReplicas Phase = "replication"
	PhaseControl  Phase = "control" // barriers
)

// Step is one action.
type Step struct {
	Addr  Addr   `json:"addr"`
	Kind  Kind   `json:"kind"`
	Phase Phase  `json:"phase"`
	Tier  string `json:"tier,omitempty"`
	VM    string `json:"vm,omitempty"`
	Group string `json:"group,omitempty"`
	// Site is the site the step acts on.
	Site string `json:"site,omitempty"`
	Args Args   `json:"args,omitzero"`
	// After lists the addresses of the steps this one waits for.
	After     []Addr   `json:"after,omitempty"`
	Timeout   Duration `json:"timeout,omitempty"`
	Retries   int      `json:"retries,omitempty"`
	OnFailure string   `json:"on_failure,omitempty"`
	// Slot is true for steps that take one of MaxParallel VM slots while
	// they run.
	Slot bool `json:"slot,omitempty"`
	// Estimate is how long the step is expected to take, in plan time.
	Estimate Duration `json:"estimate"`
	// Optional steps may fail without failing the run (best-effort
	// actions such as powering off an unreachable protected site).
	Optional bool `json:"optional,omitempty"`
}

// Args are a step's arguments; which are set depends on the kind.
type Args struct {
	// Source is the VM a VM step starts from: the replica (copy, promote)
	// or the protected VM (shutdown, power_off at the protected site).
	Source string `json:"source,omitempty"`
	// Target is the VM the step acts on: the drill copy's name and folder
	// for copy, and the path of the recovered VM for later steps.
	Target   string   `json:"target,omitempty"`
	Folder   string   `json:"folder,omitempty"`
	Networks []string `json:"networks,omitempty"`
	IP       *IP      `json:"ip,omitempty"`
	WaitFor  string   `json:"wait_for,omitempty"`
	Delay    Duration `json:"delay,omitempty"`
	Point    string   `json:"point,omitempty"`
	// Run is, for suspend and resume, the run whose mark the VM carries
	// ("{run}"; "" for resume: any run's).
	Run string `json:"run,omitempty"`
	// Peer is, for reverse, the site of the VM the target will replicate.
	Peer string `json:"peer,omitempty"`
	// Addresses are, for copy, the protected VM's addresses per NIC as
	// read when the program was compiled, to record with the replica
	// (its record differs).
	Addresses []string `json:"addresses,omitempty"`

	// Custom steps: exactly one is set.
	Command   *Command   `json:"command,omitempty"`
	HTTP      *HTTP      `json:"http,omitempty"`
	TCP       *TCP       `json:"tcp,omitempty"`
	Guest     *Guest     `json:"guest,omitempty"`
	Prompt    *Prompt    `json:"prompt,omitempty"`
	Terraform *Terraform `json:"terraform,omitempty"`
	Wait      *Wait      `json:"wait,omitempty"`
}

// IP is an address for guest customization.
type IP struct {
	Address string `json:"address"` // CIDR form
	// Origin is the address the VM had at the site it left (CIDR form):
	// recorded with the customization, so that failback can restore it.
	Origin  string   `json:"origin,omitempty"`
	Gateway string   `json:"gateway,omitempty"`
	DNS     []string `json:"dns,omitempty"`
}

// Command runs a local process.
type Command struct {
	Run []string          `json:"run"`
	Env map[string]string `json:"env,omitempty"`
	Dir string            `json:"dir"`
}

// HTTP is an HTTP check.
type HTTP struct {
	URL          string            `json:"url"`
	Method       string            `json:"method"`
	Headers      map[string]string `json:"headers,omitempty"`
	ExpectStatus int               `json:"expect_status"`
	ExpectBody   string            `json:"expect_body,omitempty"`
}

// TCP is a TCP connect check.
type TCP struct {
	Address string `json:"address"`
}

// Guest runs a command inside a recovered VM.
type Guest struct {
	VM       string   `json:"vm"`
	Run      []string `json:"run"`
	Username string   `json:"username,omitempty"`
	Password string   `json:"password,omitempty"`
}

// Prompt asks an operator.
type Prompt struct {
	Message string `json:"message"`
}

// Terraform applies a configuration.
type Terraform struct {
	Dir    string            `json:"dir"`
	Vars   map[string]string `json:"vars,omitempty"`
	Binary string            `json:"binary"`
	// Workspace is the workspace to use; drills get one of their own.
	Workspace string `json:"workspace,omitempty"`
	// Destroy destroys instead of applying (a drill's cleanup).
	Destroy bool `json:"destroy,omitempty"`
}

// Wait pauses.
type Wait struct {
	Duration Duration `json:"duration"`
}

// Estimate is the expected duration of a run: the critical path of the
// step graph when VM steps share MaxParallel slots.
type Estimate struct {
	Total Duration       `json:"total"`
	Tiers []TierEstimate `json:"tiers"`
}

// TierEstimate says when a tier is expected to start and be done,
// counted from the start of the run.
type TierEstimate struct {
	Tier  string   `json:"tier"`
	Start Duration `json:"start"`
	Done  Duration `json:"done"`
	VMs   int      `json:"vms"`
}

// Duration is a time.Duration written in the plan language's style
// ("1h30m") in JSON.
type Duration time.Duration

// MarshalText writes "1h30m".
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(units.FormatDuration(time.Duration(d))), nil
}

// UnmarshalText reads what MarshalText wrote.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := units.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// String is the plan-language form.
func (d Duration) String() string { return units.FormatDuration(time.Duration(d)) }

// Step returns the step with the given address, or nil.
func (p *Program) Step(addr Addr) *Step {
	for _, s := range p.Steps {
		if s.Addr == addr {
			return s
		}
	}
	return nil
}

// Group returns the group with the given name, or nil.
func (p *Program) Group(name string) *Group {
	for i := range p.Groups {
		if p.Groups[i].Name == name {
			return &p.Groups[i]
		}
	}
	return nil
}

// SetSecrets gives the program the sensitive values of its plan
// (plans.Plan.Secrets); the compiler calls it. A program read from its
// JSON form has none: its values are masked already.
func (p *Program) SetSecrets(set *redact.Set) { p.secrets = set }

// Secrets is the set of sensitive values the program carries (nil when
// it has none); every writer of a run passes its text through it.
func (p *Program) Secrets() *redact.Set { return p.secrets }

// Redact replaces every sensitive value in text with redact.Mask.
func (p *Program) Redact(text string) string { return p.secrets.Redact(text) }

// LongestSecret is the length of the longest sensitive value, so that
// output cut to a size keeps no piece of one.
func (p *Program) LongestSecret() int { return p.secrets.LongestSecret() }

// JSON renders the program as indented JSON with sensitive values
// replaced. The output is deterministic: the same program gives the same
// bytes.
func (p *Program) JSON() ([]byte, error) {
	type plain Program // no methods: no recursion
	b, err := json.MarshalIndent((*plain)(p), "", "  ")
	if err != nil {
		return nil, err
	}
	return append(p.secrets.RedactJSON(b), '\n'), nil
}

// Read parses a program written by JSON.
func Read(b []byte) (*Program, error) {
	var p Program
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("not a drplan program: %v", err)
	}
	if p.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("program format version %d; this drplan reads version %d", p.FormatVersion, FormatVersion)
	}
	return &p, nil
}

// CheckHost is the host an http or tcp check aims at ("" for other
// steps, or an address that does not parse).
func (a Args) CheckHost() string {
	host, _ := a.CheckAddress()
	return host
}

// CheckAddress is the host and port an http or tcp check connects to (an
// http URL without a port: 80, or 443 for https); "" and 0 for other
// steps and for addresses that do not parse.
func (a Args) CheckAddress() (host string, port int) {
	switch {
	case a.HTTP != nil:
		u, err := url.Parse(a.HTTP.URL)
		if err != nil {
			return "", 0
		}
		p := u.Port()
		if p == "" {
			p = map[string]string{"https": "443"}[u.Scheme]
			if p == "" {
				p = "80"
			}
		}
		port, _ = strconv.Atoi(p)
		return u.Hostname(), port
	case a.TCP != nil:
		h, p, err := net.SplitHostPort(a.TCP.Address)
		if err != nil {
			return "", 0
		}
		port, _ = strconv.Atoi(p)
		return h, port
	}
	return "", 0
}

// IsLoopback reports whether host (an address or "localhost") is this
// machine's loopback, which a simulated run's checks may reach for real.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && a.IsLoopback()
}
