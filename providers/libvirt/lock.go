package libvirt

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	golibvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/drplan/drplan/internal/errs"
	"github.com/drplan/drplan/providers"
)

// lockDomain is the name of the domain that stands for lock name.
func lockDomain(name string) string { return LockPrefix + strings.ReplaceAll(name, "/", "+") }

// lockHost is where a site keeps its locks: its first host, so that
// every run that opens the site with the same URIs meets the same locks.
func (s *Site) lockHost() *host { return s.hosts[0] }

// Lock takes the lock by defining its domain, with a UUID of its own:
// libvirt refuses a second domain of the same name with another UUID, so
// of two runs that define it at once one fails. A lock of the same run is
// taken again; an expired one is removed and taken.
func (s *Site) Lock(ctx context.Context, name string, holder providers.LockHolder) error {
	vm := providers.VM{Site: s.name, Path: lockDomain(name)}
	if err := s.checkWrite("lock", vm); err != nil {
		return err
	}
	h := s.lockHost()
	rec := &Record{Lock: &holder}
	md, err := metadataXML(rec)
	if err != nil {
		return s.fail("lock", vm, err)
	}
	def := libvirtxml.Domain{
		Type: "qemu", Name: lockDomain(name), UUID: newUUID(),
		Description: fmt.Sprintf("drplan lock %q held by run %s; never started. Remove with drplan, not by hand.", name, holder.Run),
		Memory:      &libvirtxml.DomainMemory{Value: 1, Unit: "MiB"},
		OS:          &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Type: "hvm"}},
		Metadata:    &libvirtxml.DomainMetadata{XML: md},
	}
	x, err := def.Marshal()
	if err != nil {
		return s.fail("lock", vm, err)
	}
	// A take-or-break loop, not a retry of a failure: a lock released or
	// expired between the define and the read is taken again, three
	// times at most; a failing call returns at once, for the runner's
	// policy (errs.Policy) to decide on.
	for attempt := 0; attempt < 3; attempt++ {
		s.call()
		_, err := h.l.DomainDefineXML(x)
		if err == nil {
			return nil
		}
		cur, found, rerr := s.ReadLock(ctx, name)
		if rerr != nil {
			return rerr
		}
		if !found {
			continue // released meanwhile
		}
		switch {
		case cur.Run == holder.Run:
			_, d, err := s.find(vm)
			if err != nil {
				return s.fail("lock", vm, err)
			}
			return s.fail("lock", vm, s.writeRecord(h, d, rec))
		case cur.Run != "" && !cur.Expires.IsZero() && s.clock.Now().After(cur.Expires):
			if _, err := s.Unlock(ctx, name, cur.Run); err != nil {
				return err
			}
		default:
			return &providers.LockedError{Lock: name, Where: "site " + s.name, Holder: cur}
		}
	}
	return errs.E("lock", vm.String(), errs.Transient, errors.New("the lock changed hands three times while being taken"))
}

// Unlock releases the lock when runID holds it (or no holder can be read).
func (s *Site) Unlock(ctx context.Context, name, runID string) (bool, error) {
	vm := providers.VM{Site: s.name, Path: lockDomain(name)}
	if err := s.checkWrite("unlock", vm); err != nil {
		return false, err
	}
	cur, found, err := s.ReadLock(ctx, name)
	if err != nil || !found {
		return false, err
	}
	if cur.Run != runID && cur.Run != "" {
		return false, &providers.LockedError{Lock: name, Where: "site " + s.name, Holder: cur}
	}
	h := s.lockHost()
	s.call()
	d, err := h.l.DomainLookupByName(vm.Path)
	if err == nil {
		s.call()
		err = h.l.DomainUndefineFlags(d, 0)
	}
	if err != nil && !golibvirt.IsNotFound(err) {
		return false, s.fail("unlock", vm, err)
	}
	return true, nil
}

// ReadLock reads the lock's holder from its domain's metadata.
func (s *Site) ReadLock(ctx context.Context, name string) (providers.LockHolder, bool, error) {
	vm := providers.VM{Site: s.name, Path: lockDomain(name)}
	h := s.lockHost()
	s.call()
	d, err := h.l.DomainLookupByName(vm.Path)
	if golibvirt.IsNotFound(err) {
		return providers.LockHolder{}, false, nil
	}
	if err != nil {
		return providers.LockHolder{}, false, s.fail("read_lock", vm, err)
	}
	rec, err := s.readRecord(h, d)
	if err != nil {
		if golibvirt.IsNotFound(err) {
			return providers.LockHolder{}, false, nil
		}
		return providers.LockHolder{}, false, s.fail("read_lock", vm, err)
	}
	if rec.Lock == nil {
		return providers.LockHolder{}, true, nil
	}
	return *rec.Lock, true, nil
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
