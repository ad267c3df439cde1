package libvirt

import (
	"context"
	"errors"
	"fmt"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/drplan/drplan/internal/errs"
	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/providers"
)

// Points reads the recovery points of replicas, in order.
func (s *Site) Points(ctx context.Context, replicas []providers.VM) ([]inventory.RecoveryPoints, error) {
	out := make([]inventory.RecoveryPoints, len(replicas))
	for i, r := range replicas {
		h, d, err := s.find(r)
		if err != nil {
			return nil, s.fail("points", r, notFound(err))
		}
		rec, err := s.readRecord(h, d)
		if err != nil {
			return nil, s.fail("points", r, err)
		}
		out[i] = inventory.RecoveryPoints{Times: rec.points()}
	}
	return out, nil
}

// update reads a VM's record, lets f change it and writes it back.
func (s *Site) update(op string, vm providers.VM, f func(*Record) error) error {
	if err := s.checkWrite(op, vm); err != nil {
		return err
	}
	h, d, err := s.find(vm)
	if err != nil {
		return s.fail(op, vm, notFound(err))
	}
	rec, err := s.readRecord(h, d)
	if err != nil {
		return s.fail(op, vm, err)
	}
	if err := f(rec); err != nil {
		return s.fail(op, vm, err)
	}
	return s.fail(op, vm, s.writeRecord(h, d, rec))
}

// RecordAddresses records, with a replica, the protected VM's addresses.
func (s *Site) RecordAddresses(ctx context.Context, replica providers.VM, ips []string) error {
	return s.update("record_addresses", replica, func(r *Record) error {
		if r.Replica == nil {
			return permanent("the domain is not a replica")
		}
		r.Replica.IPs = ips
		return nil
	})
}

func permanent(format string, args ...any) error {
	return errs.E(errs.Permanent, fmt.Errorf(format, args...))
}

// Pin fixes the point each replica is promoted from (the replica's
// promoted record, as the vSphere provider's FieldPromoted): whatever
// replicates must take no new point into a pinned replica.
func (s *Site) Pin(ctx context.Context, replicas []providers.VM, points []time.Time, runID string) ([]time.Time, error) {
	out := make([]time.Time, len(replicas))
	for i, r := range replicas {
		err := s.update("pin", r, func(rec *Record) error {
			p := rec.Promoted
			var at time.Time
			if p != nil && p.Point != "" {
				at, _ = time.Parse(time.RFC3339Nano, p.Point)
			}
			if p != nil && p.Run == runID && (!at.IsZero() || points == nil) {
				out[i] = at
				return nil
			}
			if at.IsZero() && points != nil && !points[i].IsZero() {
				at = points[i]
			}
			rec.Promoted = &PromotedRecord{Run: runID}
			if !at.IsZero() {
				rec.Promoted.Point = fmtTime(at)
			}
			out[i] = at
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Promote makes a replica the production VM: marked with the run and the
// point first, renamed to the target, and no longer a replica. A later
// call of the same run that finds the target so marked reports it as
// already done.
func (s *Site) Promote(ctx context.Context, req providers.PromoteRequest) (providers.Promoted, error) {
	const op = "promote"
	target := providers.VM{Site: s.name, Path: req.Target, Ref: DomainName(req.Target)}
	if err := s.checkWrite(op, target); err != nil {
		return providers.Promoted{}, err
	}
	if di, err := s.lookup(target); err == nil {
		if di.rec.Promoted == nil || di.rec.Promoted.Run != req.RunID {
			return providers.Promoted{}, &errs.Error{Op: op, Object: target.String(), Kind: errs.Permanent,
				Err: fmt.Errorf("a domain %s already exists: a recovered VM of another run, or a VM that should not be there; move it away before promoting the replica", target.Ref)}
		}
		at, _ := time.Parse(time.RFC3339Nano, di.rec.Promoted.Point)
		return providers.Promoted{VM: target, Point: at, Already: true}, nil
	} else if !errors.Is(err, errNotFound) {
		return providers.Promoted{}, s.fail(op, target, err)
	}
	rep, err := s.lookup(req.Replica)
	if err != nil {
		return providers.Promoted{}, s.fail(op, req.Replica, notFound(err))
	}
	if rep.rec.Replica == nil {
		return providers.Promoted{}, &errs.Error{Op: op, Object: req.Replica.String(), Kind: errs.Permanent, Err: errors.New("the domain is not a replica")}
	}
	point := req.Point
	if p := rep.rec.Promoted; p != nil {
		if p.Run != req.RunID {
			return providers.Promoted{}, &errs.Error{Op: op, Object: req.Replica.String(), Kind: errs.Permanent,
				Err: fmt.Errorf("the replica is being promoted by run %s; continue that run with drplan resume %s", p.Run, p.Run)}
		}
		if at, err := time.Parse(time.RFC3339Nano, p.Point); err == nil {
			point = at
		}
	}
	if !point.IsZero() && !hasPoint(rep.rec, point) {
		return providers.Promoted{}, &errs.Error{Op: op, Object: req.Replica.String(), Kind: errs.Permanent,
			Err: fmt.Errorf("the replica has no recovery point %s; its points are %v", fmtTime(point), rep.rec.Points)}
	}
	if point.IsZero() {
		if ps := rep.rec.points(); len(ps) > 0 {
			point = ps[len(ps)-1]
		}
	}
	if rep.state != golibvirt.DomainShutoff {
		return providers.Promoted{}, &errs.Error{Op: op, Object: req.Replica.String(), Kind: errs.Permanent,
			Err: errors.New("the replica domain is running; a replica must be off to be promoted")}
	}
	rec := rep.rec
	rec.Promoted = &PromotedRecord{Run: req.RunID, Point: fmtTime(point), From: rep.d.Name}
	origin := rec.Replica
	rec.Replica, rec.Points = nil, nil
	if origin != nil && len(origin.IPs) > 0 && rec.Origin == "" {
		rec.Origin = origin.IPs[0]
	}
	if err := s.writeRecord(rep.h, rep.d, rec); err != nil {
		return providers.Promoted{}, s.fail(op, req.Replica, err)
	}
	s.call()
	if _, err := rep.h.l.DomainRename(rep.d, golibvirt.OptString{target.Ref}, 0); err != nil {
		return providers.Promoted{}, s.fail(op, target, err)
	}
	return providers.Promoted{VM: target, Point: point}, nil
}

// Demote turns a powered-off VM into a replica of its namesake at
// another site: renamed into the replica folder and marked as a replica.
// What replicates it back is the storage layer's (or Ship's) business.
func (s *Site) Demote(ctx context.Context, req providers.DemoteRequest) (providers.VM, error) {
	const op = "demote"
	target := providers.VM{Site: s.name, Path: ReplicaFolder + "/" + req.Of}
	target.Ref = DomainName(target.Path)
	if err := s.checkWrite(op, req.VM); err != nil {
		return providers.VM{}, err
	}
	if di, err := s.lookup(target); err == nil {
		if di.rec.Replica != nil && di.rec.Replica.VM == req.Of {
			return target, nil
		}
		return providers.VM{}, &errs.Error{Op: op, Object: target.String(), Kind: errs.Permanent, Err: errors.New("another domain holds the replica's name")}
	}
	di, err := s.lookup(req.VM)
	if err != nil {
		return providers.VM{}, s.fail(op, req.VM, notFound(err))
	}
	if di.state != golibvirt.DomainShutoff {
		return providers.VM{}, &errs.Error{Op: op, Object: req.VM.String(), Kind: errs.Permanent, Err: errors.New("the VM must be off to become a replica")}
	}
	rec := di.rec
	rec.Replica = &ReplicaRecord{VM: req.Of, Group: req.Group, Site: req.Site}
	rec.Promoted, rec.Points = nil, nil
	if err := s.writeRecord(di.h, di.d, rec); err != nil {
		return providers.VM{}, s.fail(op, req.VM, err)
	}
	s.call()
	if _, err := di.h.l.DomainRename(di.d, golibvirt.OptString{target.Ref}, 0); err != nil {
		return providers.VM{}, s.fail(op, target, err)
	}
	return target, nil
}

// Suspend powers off a running VM to free capacity, marking it first.
func (s *Site) Suspend(ctx context.Context, vm providers.VM, runID string) (bool, error) {
	if err := s.checkWrite("suspend", vm); err != nil {
		return false, err
	}
	di, err := s.lookup(vm)
	if err != nil {
		return false, s.fail("suspend", vm, notFound(err))
	}
	if di.state == golibvirt.DomainShutoff && di.rec.Suspended != runID {
		return false, nil
	}
	if di.rec.Suspended != runID {
		di.rec.Suspended = runID
		if err := s.writeRecord(di.h, di.d, di.rec); err != nil {
			return false, s.fail("suspend", vm, err)
		}
	}
	return true, s.PowerOff(ctx, vm)
}

// Resume powers on a VM Suspend marked for runID ("" for any) and clears
// the mark.
func (s *Site) Resume(ctx context.Context, vm providers.VM, runID string) (bool, error) {
	if err := s.checkWrite("resume", vm); err != nil {
		return false, err
	}
	di, err := s.lookup(vm)
	if err != nil {
		return false, s.fail("resume", vm, notFound(err))
	}
	if di.rec.Suspended == "" || runID != "" && di.rec.Suspended != runID {
		return false, nil
	}
	if err := s.PowerOn(ctx, vm); err != nil {
		return false, err
	}
	di.rec.Suspended = ""
	return true, s.fail("resume", vm, s.writeRecord(di.h, di.d, di.rec))
}
