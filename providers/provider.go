package providers

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/drplan/drplan/internal/clock"
	"github.com/drplan/drplan/inventory"
)

// SiteConfig says how to reach one site: its vCenter, or its libvirt
// hosts (LibvirtURIs).
type SiteConfig struct {
	Name       string // plan site name
	Datacenter string
	// LibvirtURIs are a libvirt/KVM site's connection URIs, one per
	// host ("qemu+ssh://kvm-east-01/system"); empty for a vSphere site.
	LibvirtURIs []string
	URL         string // https://host/sdk; may carry credentials
	Username    string
	Password    string
	// Insecure turns TLS verification off. Otherwise the certificate must
	// chain to a trusted CA, to CACertificate, or match Thumbprint.
	Insecure      bool
	Thumbprint    string
	CACertificate []byte // PEM
	// ReadOnly makes every mutating call fail: a drill opens protected
	// sites this way, so that it cannot change them even by mistake.
	ReadOnly bool
	// Clock is the site's time, nil meaning the wall clock: a simulated
	// site run in process keeps time on a clock.Virtual, which the
	// provider's waits, deadlines and calls must follow.
	Clock clock.Clock
}

// Connector opens sites.
type Connector interface {
	Open(ctx context.Context, cfg SiteConfig) (Site, error)
}

// VM identifies a VM at a site.
type VM struct {
	Site string
	// Path is the inventory path under the datacenter's vm folder:
	// "drplan-replicas/web-01".
	Path string
	// Ref is the managed object ID, when known; unique only within Site.
	Ref string
}

func (v VM) String() string { return v.Site + ":" + v.Path }

// CloneRequest asks for a drill copy of a replica.
type CloneRequest struct {
	Replica VM
	// Point is the recovery point to copy; the zero time means the latest.
	Point time.Time
	Name  string // name of the copy
	// Folder is the folder path for the copy, created when missing.
	Folder string
	// Networks are the port groups of the copy's NICs, in order.
	Networks []string
	// RunID marks the copy (and the folder, when created) as the run's.
	RunID string
}

// PromoteRequest asks for a replica to become the production VM.
type PromoteRequest struct {
	Replica VM
	// Point is the recovery point to recover; the zero time means the
	// replica's latest.
	Point time.Time
	// Target is the path the VM takes: its folder and name at the site.
	Target string
	RunID  string
}

// Promoted is what Promote did.
type Promoted struct {
	VM    VM
	Point time.Time // the recovery point the VM holds
	// Already says a previous attempt of the run had promoted it.
	Already bool
}

// DemoteRequest asks for a VM to become a replica.
type DemoteRequest struct {
	VM VM
	// Of names what it replicates: the VM of that name in Group at Site.
	Of    string
	Group string
	Site  string
	RunID string
}

// LockHolder says who holds a lock.
type LockHolder struct {
	Run     string    `json:"run"`
	Mode    string    `json:"mode"`
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Since   time.Time `json:"since"`
	Expires time.Time `json:"expires"`
}

func (h LockHolder) String() string {
	return fmt.Sprintf("run %s (%s) on host %s, pid %d, since %s, expires %s", h.Run, h.Mode, h.Host, h.PID,
		h.Since.UTC().Format(time.RFC3339), h.Expires.UTC().Format(time.RFC3339))
}

// LockedError is a lock another run holds.
type LockedError struct {
	Lock   string
	Where  string // "site west", "local file …"
	Holder LockHolder
}

func (e *LockedError) Error() string {
	if e.Holder.Run == "" {
		return fmt.Sprintf("lock %s at %s is being taken by another run", e.Lock, e.Where)
	}
	return fmt.Sprintf("lock %s at %s is held by %s", e.Lock, e.Where, e.Holder)
}

// IPSettings re-address a VM's first NIC through guest customization.
type IPSettings struct {
	Address netip.Prefix
	Gateway netip.Addr
	DNS     []netip.Addr
	// Hostname is the guest's host name; "" keeps the VM's name.
	Hostname string
	// Origin is the address the VM had where it came from, kept on the
	// VM (FieldOrigin) so that a failback can give it back.
	Origin netip.Prefix
}

// WaitFor is the readiness signal WaitReady waits for.
type WaitFor string

// Readiness signals.
const (
	WaitNone      WaitFor = "none"      // powered on is enough
	WaitHeartbeat WaitFor = "heartbeat" // guest heartbeat green
	WaitIP        WaitFor = "ip"        // tools running and an IP address reported
)

// Readiness is what WaitReady observed of one VM.
type Readiness struct {
	VM    VM
	Ready bool
	IP    string
	At    time.Time // when it became ready
	Err   error     // why not, when not ready
}

// Site is one opened site. Its methods are safe for concurrent use.
type Site interface {
	// Name is the plan's name of the site.
	Name() string
	// Inventory reads the site's inventory.
	Inventory(ctx context.Context) (*inventory.Site, error)

	// Guest operations (guest steps; guest.go).

	// RunInGuest runs a program inside the VM's guest and waits for it to
	// end; a program that ran, whatever its exit code, is no error.
	RunInGuest(ctx context.Context, vm VM, req GuestRequest) (GuestResult, error)

	// Clone makes the drill copy of a replica from a recovery point,
	// marked with the run id, and returns it powered off.
	Clone(ctx context.Context, req CloneRequest) (VM, error)
	// SetNetworks puts the VM's NICs, in order, on the given port groups.
	SetNetworks(ctx context.Context, vm VM, networks []string) error
	// Customize sets the VM's address for its next power-on.
	Customize(ctx context.Context, vm VM, ip IPSettings) error
	// PowerOn powers the VM on; a VM already on is not an error.
	PowerOn(ctx context.Context, vm VM) error
	// PowerOff powers the VM off; a VM already off is not an error.
	PowerOff(ctx context.Context, vm VM) error
	// WaitReady waits, for all of vms together (one wait for the batch,
	// not one per VM), until each is ready or timeout has passed, and
	// returns one Readiness per VM in order. It tells each VM's outcome
	// to report (when not nil) as soon as it is known, with the VM's
	// index in vms: a VM that is up is reported at its own boot time,
	// not when the slowest of the batch is done. report is called once
	// per VM, before WaitReady returns, and must not block.
	WaitReady(ctx context.Context, vms []VM, waitFor WaitFor, timeout time.Duration, report func(i int, r Readiness)) []Readiness
	// Destroy deletes the VM; a VM already gone is not an error.
	Destroy(ctx context.Context, vm VM) error
	// Marked lists every VM and folder the run created that still exists.
	Marked(ctx context.Context, runID string) ([]VM, error)

	// Failover, migration and reprotection. Each is idempotent: called
	// again after a crash it recognises what it already did.

	// Shutdown shuts the guest down through its tools and waits until the
	// VM is off or ctx ends; a VM already off is not an error.
	Shutdown(ctx context.Context, vm VM) error
	// Points reads the recovery points of replicas, in order.
	Points(ctx context.Context, replicas []VM) ([]inventory.RecoveryPoints, error)
	// RecordAddresses records, with a replica, the addresses (per NIC) of
	// the VM it replicates, for a failover that cannot read them.
	RecordAddresses(ctx context.Context, replica VM, ips []string) error
	// Pin fixes the recovery point of each replica of a group for a run
	// that is about to promote them, before any is promoted: replication
	// stops taking new points into a pinned replica (as an array splits a
	// consistency group's mirror at one instant), so that every replica
	// is promoted from the point its group was given. Called with nil
	// points it only stops replication; with points it records them on
	// the replicas that have none yet. Either way it returns the point
	// each replica is pinned at (zero when none is recorded): a replica
	// the same run pinned before keeps its point. The caller holds the
	// group's lock, so a pin of another run is a dead run's: it is taken
	// over, with its point.
	Pin(ctx context.Context, replicas []VM, points []time.Time, runID string) ([]time.Time, error)
	// Promote turns a replica into the production VM at req.Target.
	Promote(ctx context.Context, req PromoteRequest) (Promoted, error)
	// Demote turns a powered-off VM into a replica of its namesake at
	// another site (reverse replication).
	Demote(ctx context.Context, req DemoteRequest) (VM, error)

	// Suspend powers off a running VM to free capacity for a recovery,
	// marking it with runID first; a VM that is off already is left
	// alone, unmarked. It reports whether it suspended the VM.
	Suspend(ctx context.Context, vm VM, runID string) (bool, error)
	// Resume powers on a VM that Suspend marked, for runID ("" for any
	// run), and clears the mark; a VM without that mark stays as it is.
	// It reports whether it resumed the VM.
	Resume(ctx context.Context, vm VM, runID string) (bool, error)

	// Lock takes the named lock at the site for holder. A lock the same
	// run holds is taken again (a resumed run); one another run holds is
	// refused with a *LockedError, unless it has expired.
	Lock(ctx context.Context, name string, holder LockHolder) error
	// Unlock releases the named lock when runID holds it, and says
	// whether there was one; a lock already gone is not an error. A lock
	// without a readable holder (a run crashed while taking it) is
	// released for any runID.
	Unlock(ctx context.Context, name, runID string) (bool, error)
	// ReadLock reads who holds the named lock without taking it; a
	// read-only site can read it. found is false when there is no lock;
	// a lock whose holder cannot be read is found with the zero holder.
	ReadLock(ctx context.Context, name string) (holder LockHolder, found bool, err error)

	// Calls returns how many API calls the site has made so far.
	Calls() int64
	// Close ends the session.
	Close(ctx context.Context) error
}

// Shipper is a recovery Site that takes recovery points into its
// replicas itself, for a replication method whose points drplan ships
// (the snapshot method on libvirt sites): a migration's final sync asks
// it for a new point of each replica instead of waiting for one. A site
// whose storage takes the points (array replication on vSphere) does not
// implement it. The runner type-asserts a Site to it.
type Shipper interface {
	// ShipPoint copies the protected VM vm at site from (shut down or
	// running) into its replica at this site and records a new recovery
	// point, which it returns. from is a site of the same provider.
	ShipPoint(ctx context.Context, from Site, vm, replica VM, group string) (Shipment, error)
}

// Shipment is what one ShipPoint did.
type Shipment struct {
	Point time.Time // the recovery point recorded
	Bytes int64     // bytes sent from the protected site to the recovery site
	// Full says every byte of the volumes was sent; otherwise only what
	// changed since the replica's previous point.
	Full bool
}
