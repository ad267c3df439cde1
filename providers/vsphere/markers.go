package vsphere

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/drplan/drplan/inventory"
)

// Custom attributes (vim.CustomFieldsManager fields on VirtualMachine)
// through which drplan state lives in vCenter.
const (
	// FieldReplica marks a replica VM: its value is a ReplicaInfo.
	FieldReplica = "drplan.replica"
	// FieldPoints holds a replica's recovery points: a RecoveryPoints,
	// written by whatever replicates the VM (the simulator's replication
	// engine, an array or CDP adapter). Listing a point is that layer's
	// promise that it can present the replica at that point: a copy or
	// promotion from it reverts to a snapshot named after the point when
	// the replica has one (vSphere Replication's point-in-time
	// instances), else takes the replica as the layer presents it, with
	// the point recorded in FieldPromoted (or the copy's journal entry).
	FieldPoints = "drplan.points"
	// FieldRun marks an object created by a run; its value is the run id.
	FieldRun = "drplan.run"
	// FieldPromoted marks a VM a run promoted from a replica: a
	// PromotedInfo.
	FieldPromoted = "drplan.promoted"
	// FieldSuspended marks a VM a run powered off to make room at a
	// recovery site (suspend_at_recovery); its value is the run id.
	FieldSuspended = "drplan.suspended"
	// FieldOrigin holds, on a recovered VM, the address (CIDR form) it
	// had at the site it left, for failback.
	FieldOrigin = "drplan.origin"
	// FieldLock, on a folder under LockFolder, says who holds the lock
	// the folder stands for (JSON of a providers.LockHolder).
	FieldLock = "drplan.lock"
)

// LockFolder is the VM folder, under a datacenter, whose subfolders are
// the locks runs hold at the site. vCenter creates a folder atomically
// (a second CreateFolder of the same name fails with DuplicateName),
// which makes a folder a lock every client of the vCenter sees.
const LockFolder = "drplan-locks"

// ReplicaFolder is the VM folder, under a recovery site's datacenter, that
// holds replicas.
const ReplicaFolder = "drplan-replicas"

// ReplicaInfo says which protected VM a replica copies.
type ReplicaInfo struct {
	VM    string // name of the protected VM
	Group string // protection group
	Site  string // protected site
	// Folder is the protected VM's folder at its site: where a failover
	// puts the recovered VM even when that site cannot be read.
	Folder string
	// IPs are the protected VM's addresses, one per NIC in order ("" for
	// a NIC whose address is not known), as last read from its site: a
	// failover re-addresses the VM from them when that site cannot be
	// read or the VM is already off.
	IPs []string
}

// String encodes the info as the value of FieldReplica.
func (r ReplicaInfo) String() string {
	v := url.Values{"vm": {r.VM}, "group": {r.Group}, "site": {r.Site}}
	if r.Folder != "" {
		v.Set("folder", r.Folder)
	}
	if len(r.IPs) > 0 {
		v["ip"] = r.IPs
	}
	return v.Encode()
}

// ParseReplicaInfo decodes a FieldReplica value.
func ParseReplicaInfo(s string) (ReplicaInfo, error) {
	v, err := url.ParseQuery(s)
	if err != nil || v.Get("vm") == "" {
		return ReplicaInfo{}, fmt.Errorf("%q is not a %s value", s, FieldReplica)
	}
	return ReplicaInfo{VM: v.Get("vm"), Group: v.Get("group"), Site: v.Get("site"), Folder: v.Get("folder"), IPs: v["ip"]}, nil
}

// PromotedInfo says which run promoted a VM and to which point.
type PromotedInfo struct {
	Run   string
	Point time.Time
}

// String encodes the info as the value of FieldPromoted.
func (p PromotedInfo) String() string {
	v := url.Values{"run": {p.Run}}
	if !p.Point.IsZero() {
		v.Set("point", p.Point.UTC().Format(time.RFC3339Nano))
	}
	return v.Encode()
}

// ParsePromotedInfo decodes a FieldPromoted value.
func ParsePromotedInfo(s string) (PromotedInfo, bool) {
	v, err := url.ParseQuery(s)
	if err != nil || v.Get("run") == "" {
		return PromotedInfo{}, false
	}
	p := PromotedInfo{Run: v.Get("run")}
	p.Point, _ = time.Parse(time.RFC3339Nano, v.Get("point"))
	return p, true
}

// RecoveryPoints are a replica's points in time; see package inventory.
type RecoveryPoints = inventory.RecoveryPoints

// FormatRecoveryPoints encodes points as the value of FieldPoints:
// "2026-11-21T10:00:00Z 2026-11-21T10:15:00Z", or for a journal
// "cdp 2026-11-20T10:00:00Z 2026-11-21T10:00:00Z".
func FormatRecoveryPoints(p RecoveryPoints) string {
	var parts []string
	if p.Continuous {
		parts = append(parts, "cdp", p.JournalStart.UTC().Format(time.RFC3339Nano))
		if l := p.Latest(); !l.IsZero() {
			parts = append(parts, l.UTC().Format(time.RFC3339Nano))
		}
		return strings.Join(parts, " ")
	}
	for _, t := range p.Times {
		parts = append(parts, t.UTC().Format(time.RFC3339Nano))
	}
	return strings.Join(parts, " ")
}

// ParseRecoveryPoints decodes a FieldPoints value.
func ParseRecoveryPoints(s string) (RecoveryPoints, error) {
	var p RecoveryPoints
	fields := strings.Fields(s)
	if len(fields) > 0 && fields[0] == "cdp" {
		p.Continuous = true
		fields = fields[1:]
		if len(fields) == 0 || len(fields) > 2 {
			return p, fmt.Errorf("%q is not a journal window", s)
		}
	}
	for i, f := range fields {
		t, err := time.Parse(time.RFC3339Nano, f)
		if err != nil {
			return p, fmt.Errorf("%q in %s is not a time: %v", f, FieldPoints, err)
		}
		if p.Continuous && i == 0 {
			p.JournalStart = t
			continue
		}
		p.Times = append(p.Times, t)
	}
	return p, nil
}
