package libvirt

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/drplan/drplan/internal/errs"
	"github.com/drplan/drplan/providers"
)

// Clone makes a drill copy of a replica: a new domain, marked with the
// run, whose disks are qcow2 overlays backed by the replica's volumes
// (created in the pools that hold them), with new MAC addresses and its
// NICs on req.Networks. The replica's volumes are only read. A point
// other than zero must be one of the replica's points; the copy takes
// the replica's volumes as the replication layer presents them.
func (s *Site) Clone(ctx context.Context, req providers.CloneRequest) (providers.VM, error) {
	target := providers.VM{Site: s.name, Path: path.Join(req.Folder, req.Name)}
	if err := s.checkWrite("clone", target); err != nil {
		return providers.VM{}, err
	}
	rep, err := s.lookup(req.Replica)
	if err != nil {
		return providers.VM{}, s.fail("clone", req.Replica, notFound(err))
	}
	if rep.rec.Replica == nil {
		return providers.VM{}, &errs.Error{Op: "clone", Object: req.Replica.String(), Kind: errs.Permanent,
			Err: errors.New("the domain is not a replica: it has no drplan replica record in its metadata")}
	}
	if !req.Point.IsZero() && !hasPoint(rep.rec, req.Point) {
		return providers.VM{}, &errs.Error{Op: "clone", Object: req.Replica.String(), Kind: errs.Permanent,
			Err: fmt.Errorf("the replica holds no recovery point %s (it holds %v)", fmtTime(req.Point), rep.rec.Points)}
	}
	name := DomainName(target.Path)
	target.Ref = name
	// A retry after a crash finds the copy it made.
	if di, err := s.lookup(target); err == nil {
		if di.rec.Run == req.RunID {
			return target, nil
		}
		return providers.VM{}, &errs.Error{Op: "clone", Object: target.String(), Kind: errs.Permanent,
			Err: fmt.Errorf("a domain %s exists already and is not this run's", name)}
	} else if !errors.Is(err, errNotFound) {
		return providers.VM{}, s.fail("clone", target, err)
	}
	h := rep.h
	def := copyDomain(rep.def)
	def.Name, def.UUID = name, ""
	rec := &Record{Run: req.RunID}
	for i := range def.Devices.Disks {
		d := &def.Devices.Disks[i]
		if d.Device != "" && d.Device != "disk" || d.Source == nil {
			continue
		}
		backing, err := s.diskFile(h, *d)
		if err != nil {
			s.dropVolumes(h, rec.Volumes)
			return providers.VM{}, s.fail("clone", req.Replica, err)
		}
		format := "raw"
		if d.Driver != nil && d.Driver.Type != "" {
			format = d.Driver.Type
		}
		dev := fmt.Sprintf("disk%d", i)
		if d.Target != nil && d.Target.Dev != "" {
			dev = d.Target.Dev
		}
		overlay, err := s.overlay(ctx, h, backing, format, name+"@"+dev+".qcow2")
		if err != nil {
			s.dropVolumes(h, rec.Volumes)
			return providers.VM{}, s.fail("clone", target, err)
		}
		rec.Volumes = append(rec.Volumes, overlay)
		// The copy's disk is the overlay's file, whatever the replica's.
		d.Source.Volume = nil
		d.Source.File = &libvirtxml.DomainDiskSourceFile{File: overlay}
		if d.Driver == nil {
			d.Driver = &libvirtxml.DomainDiskDriver{Name: "qemu"}
		}
		d.Driver.Type = "qcow2"
		d.BackingStore = nil
	}
	for i := range def.Devices.Interfaces {
		n := &def.Devices.Interfaces[i]
		n.MAC = nil // libvirt gives the copy its own
		if i < len(req.Networks) && req.Networks[i] != "" {
			n.Source = &libvirtxml.DomainInterfaceSource{Network: &libvirtxml.DomainInterfaceSourceNetwork{Network: req.Networks[i]}}
		}
		n.Target = nil
	}
	renameFiles(def, rep.d.Name, name)
	md, err := metadataXML(rec)
	if err != nil {
		return providers.VM{}, s.fail("clone", target, err)
	}
	def.Metadata = &libvirtxml.DomainMetadata{XML: md}
	x, err := def.Marshal()
	if err != nil {
		return providers.VM{}, s.fail("clone", target, err)
	}
	s.call()
	if _, err := h.l.DomainDefineXML(x); err != nil {
		s.dropVolumes(h, rec.Volumes)
		return providers.VM{}, s.fail("clone", target, err)
	}
	return target, nil
}

// diskFile is the file a disk's data is in: a file disk's, or the path
// of a volume disk's volume when the volume is a file (a dir, fs or
// netfs pool). Other disks (block devices, RBD, iSCSI, LVM) get no qcow2
// overlay, and a drill of them is refused, saying so.
func (s *Site) diskFile(h *host, d libvirtxml.DomainDisk) (string, error) {
	if d.Source.File != nil {
		return d.Source.File.File, nil
	}
	refuse := func(why string) error {
		return &errs.Error{Op: "clone", Kind: errs.Permanent, Err: fmt.Errorf("not supported on libvirt sites: disk %s %s; drill copies need disks that are files or volumes of a dir, fs or netfs storage pool (<disk type='file'> or <disk type='volume'>), which get qcow2 overlays", diskPath(d), why)}
	}
	v := d.Source.Volume
	if v == nil {
		return "", refuse("is neither a file nor a pool volume")
	}
	s.call()
	pool, err := h.l.StoragePoolLookupByName(v.Pool)
	if err != nil {
		return "", fmt.Errorf("storage pool %s of disk %s: %w", v.Pool, diskPath(d), err)
	}
	s.call()
	vol, err := h.l.StorageVolLookupByName(pool, v.Volume)
	if err != nil {
		return "", fmt.Errorf("volume of disk %s: %w", diskPath(d), err)
	}
	s.call()
	typ, _, _, err := h.l.StorageVolGetInfo(vol)
	if err != nil {
		return "", err
	}
	if golibvirt.StorageVolType(typ) != golibvirt.StorageVolFile {
		return "", refuse("is a pool volume that is not a file")
	}
	s.call()
	return h.l.StorageVolGetPath(vol)
}

func hasPoint(r *Record, p time.Time) bool {
	for _, t := range r.points() {
		if p.Equal(t) {
			return true
		}
	}
	return false
}

// copyDomain is a deep copy of a definition, through its XML.
func copyDomain(def *libvirtxml.Domain) *libvirtxml.Domain {
	x, _ := def.Marshal()
	c := &libvirtxml.Domain{}
	c.Unmarshal(x)
	if c.Devices == nil {
		c.Devices = &libvirtxml.DomainDeviceList{}
	}
	return c
}

// renameFiles gives the copy its own serial and console log files where
// the original's are named after it.
func renameFiles(def *libvirtxml.Domain, from, to string) {
	fix := func(src *libvirtxml.DomainChardevSource) {
		if src != nil && src.File != nil && strings.Contains(path.Base(src.File.Path), from) {
			src.File.Path = path.Join(path.Dir(src.File.Path), strings.ReplaceAll(path.Base(src.File.Path), from, to))
		}
	}
	for i := range def.Devices.Serials {
		fix(def.Devices.Serials[i].Source)
		if l := def.Devices.Serials[i].Log; l != nil && strings.Contains(path.Base(l.File), from) {
			l.File = path.Join(path.Dir(l.File), strings.ReplaceAll(path.Base(l.File), from, to))
		}
	}
	for i := range def.Devices.Consoles {
		fix(def.Devices.Consoles[i].Source)
	}
}

// overlay creates (or finds, on a retry) a qcow2 volume named name backed
// by the file backing, in the pool that holds backing, and returns its
// path.
func (s *Site) overlay(ctx context.Context, h *host, backing, format, name string) (string, error) {
	s.call()
	bv, err := h.l.StorageVolLookupByPath(backing)
	if err != nil {
		return "", fmt.Errorf("the replica's disk %s is in no storage pool of the host: %w", backing, err)
	}
	s.call()
	pool, err := h.l.StoragePoolLookupByVolume(bv)
	if err != nil {
		return "", err
	}
	s.call()
	if v, err := h.l.StorageVolLookupByName(pool, name); err == nil {
		s.call()
		return h.l.StorageVolGetPath(v)
	}
	s.call()
	_, capacity, _, err := h.l.StorageVolGetInfo(bv)
	if err != nil {
		return "", err
	}
	vol := libvirtxml.StorageVolume{
		Name:     name,
		Capacity: &libvirtxml.StorageVolumeSize{Value: capacity, Unit: "bytes"},
		Target:   &libvirtxml.StorageVolumeTarget{Format: &libvirtxml.StorageVolumeTargetFormat{Type: "qcow2"}},
		BackingStore: &libvirtxml.StorageVolumeBackingStore{Path: backing,
			Format: &libvirtxml.StorageVolumeTargetFormat{Type: format}},
	}
	x, err := vol.Marshal()
	if err != nil {
		return "", err
	}
	s.call()
	v, err := h.l.StorageVolCreateXML(pool, x, 0)
	if err != nil {
		return "", err
	}
	s.call()
	return h.l.StorageVolGetPath(v)
}

// dropVolumes deletes volumes by path; volumes already gone are fine.
func (s *Site) dropVolumes(h *host, paths []string) error {
	var first error
	for _, p := range paths {
		s.call()
		v, err := h.l.StorageVolLookupByPath(p)
		if err != nil {
			continue
		}
		s.call()
		if err := h.l.StorageVolDelete(v, 0); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// notFound turns errNotFound into a permanent provider-facing error.
func notFound(err error) error {
	if errors.Is(err, errNotFound) {
		return &errs.Error{Op: "lookup", Kind: errs.Permanent, Err: err}
	}
	return err
}

// SetNetworks puts the VM's NICs, in order, on the given libvirt networks
// (in its persistent definition; a running VM takes it at its next boot).
func (s *Site) SetNetworks(ctx context.Context, vm providers.VM, networks []string) error {
	if err := s.checkWrite("set_networks", vm); err != nil {
		return err
	}
	di, err := s.lookup(vm)
	if err != nil {
		return s.fail("set_networks", vm, notFound(err))
	}
	if di.def.Devices == nil || len(di.def.Devices.Interfaces) < len(networks) {
		return &errs.Error{Op: "set_networks", Object: vm.String(), Kind: errs.Permanent,
			Err: fmt.Errorf("the VM has fewer NICs than the %d networks asked for", len(networks))}
	}
	changed := false
	for i, n := range networks {
		nic := &di.def.Devices.Interfaces[i]
		if ifaceNetwork(*nic) == n && nic.Source.Network != nil {
			continue
		}
		nic.Source = &libvirtxml.DomainInterfaceSource{Network: &libvirtxml.DomainInterfaceSourceNetwork{Network: n}}
		changed = true
	}
	if !changed {
		return nil
	}
	x, err := di.def.Marshal()
	if err != nil {
		return s.fail("set_networks", vm, err)
	}
	s.call()
	_, err = di.h.l.DomainDefineXML(x)
	return s.fail("set_networks", vm, err)
}

// PowerOn starts the VM; a VM already running is not an error.
func (s *Site) PowerOn(ctx context.Context, vm providers.VM) error {
	h, d, st, err := s.changing("power_on", vm)
	if err != nil {
		return err
	}
	if st == golibvirt.DomainRunning {
		return nil
	}
	s.call()
	if err := h.l.DomainCreate(d); err != nil && !isInvalid(err) {
		return s.fail("power_on", vm, err)
	}
	return nil
}

// PowerOff stops the VM at once (virsh destroy); a VM already off is not
// an error.
func (s *Site) PowerOff(ctx context.Context, vm providers.VM) error {
	if err := s.checkWrite("power_off", vm); err != nil {
		return err
	}
	h, d, err := s.find(vm)
	if err != nil {
		return s.fail("power_off", vm, notFound(err))
	}
	s.call()
	if err := h.l.DomainDestroy(d); err != nil && !isInvalid(err) {
		return s.fail("power_off", vm, err)
	}
	return nil
}

// isInvalid is libvirt's "operation invalid": starting a running domain,
// stopping a stopped one.
func isInvalid(err error) bool {
	var le golibvirt.Error
	return errors.As(err, &le) && golibvirt.ErrorNumber(le.Code) == golibvirt.ErrOperationInvalid
}

// Destroy stops and undefines the VM and deletes the volumes the run
// created for it (its overlays); a VM already gone is not an error, and
// overlays it left behind are deleted all the same. Volumes drplan did
// not create are never deleted.
func (s *Site) Destroy(ctx context.Context, vm providers.VM) error {
	if err := s.checkWrite("destroy", vm); err != nil {
		return err
	}
	name := DomainName(vm.Path)
	di, err := s.lookup(vm)
	switch {
	case errors.Is(err, errNotFound):
		return s.fail("destroy", vm, s.dropOrphans(name))
	case err != nil:
		return s.fail("destroy", vm, err)
	}
	if di.rec.Replica != nil && di.rec.Run == "" {
		return &errs.Error{Op: "destroy", Object: vm.String(), Kind: errs.Permanent,
			Err: errors.New("the domain is a replica; drplan never deletes replicas")}
	}
	if di.state != golibvirt.DomainShutoff {
		s.call()
		if err := di.h.l.DomainDestroy(di.d); err != nil && !isInvalid(err) {
			return s.fail("destroy", vm, err)
		}
	}
	s.call()
	if err := di.h.l.DomainUndefineFlags(di.d, golibvirt.DomainUndefineManagedSave); err != nil && !golibvirt.IsNotFound(err) {
		return s.fail("destroy", vm, err)
	}
	if err := s.dropVolumes(di.h, di.rec.Volumes); err != nil {
		return s.fail("destroy", vm, err)
	}
	return s.fail("destroy", vm, s.dropOrphans(name))
}

// volumes lists every volume of every active pool: host, name, path.
func (s *Site) volumes() ([]volume, error) {
	var out []volume
	for _, h := range s.hosts {
		s.call()
		pools, _, err := h.l.ConnectListAllStoragePools(1, 2)
		if err != nil {
			return nil, err
		}
		for _, p := range pools {
			s.call()
			vols, _, err := h.l.StoragePoolListAllVolumes(p, 1, 0)
			if err != nil {
				return nil, err
			}
			for _, v := range vols {
				out = append(out, volume{h: h, v: v})
			}
		}
	}
	return out, nil
}

type volume struct {
	h *host
	v golibvirt.StorageVol
}

// dropOrphans deletes the overlays named after a domain ("DOMAIN@vda.qcow2").
func (s *Site) dropOrphans(domain string) error {
	vols, err := s.volumes()
	if err != nil {
		return err
	}
	for _, v := range vols {
		if strings.HasPrefix(v.v.Name, domain+"@") {
			s.call()
			if err := v.h.l.StorageVolDelete(v.v, 0); err != nil {
				return err
			}
		}
	}
	return nil
}

// Marked lists the domains the run created that still exist, and the
// domains whose overlays are left without them.
func (s *Site) Marked(ctx context.Context, runID string) ([]providers.VM, error) {
	doms, err := s.list(ctx)
	if err != nil {
		return nil, s.fail("marked", providers.VM{}, err)
	}
	var out []providers.VM
	seen := map[string]bool{}
	for _, di := range doms {
		seen[di.d.Name] = true
		if runID != "" && di.rec.Run == runID {
			out = append(out, s.vm(di.d.Name))
		}
	}
	vols, err := s.volumes()
	if err != nil {
		return nil, s.fail("marked", providers.VM{}, err)
	}
	for _, v := range vols {
		i := strings.LastIndex(v.v.Name, "@")
		if i < 0 {
			continue
		}
		dom := v.v.Name[:i]
		if seen[dom] || !strings.Contains("+"+dom+"+", "+"+DomainName(runID)+"+") {
			continue
		}
		seen[dom] = true
		out = append(out, s.vm(dom))
	}
	return out, nil
}

// Shutdown shuts the guest down through the guest agent (ACPI when the
// agent does not answer) and waits until the VM is off or ctx ends.
func (s *Site) Shutdown(ctx context.Context, vm providers.VM) error {
	h, d, st, err := s.changing("shutdown", vm)
	if err != nil {
		return err
	}
	if st == golibvirt.DomainShutoff {
		return nil
	}
	s.call()
	if err := h.l.DomainShutdownFlags(d, golibvirt.DomainShutdownGuestAgent); err != nil && !isInvalid(err) {
		s.call()
		if err := h.l.DomainShutdownFlags(d, golibvirt.DomainShutdownAcpiPowerBtn); err != nil && !isInvalid(err) {
			return s.fail("shutdown", vm, err)
		}
	}
	for {
		s.call()
		st, _, err := h.l.DomainGetState(d, 0)
		if err != nil {
			return s.fail("shutdown", vm, err)
		}
		if golibvirt.DomainState(st) == golibvirt.DomainShutoff {
			return nil
		}
		if err := s.clock.Sleep(ctx, s.PollInterval); err != nil {
			return s.fail("shutdown", vm, fmt.Errorf("the guest did not shut down: %w", err))
		}
	}
}

// changing finds a VM that op is to change (refused on a read-only
// site) and reads its state.
func (s *Site) changing(op string, vm providers.VM) (*host, golibvirt.Domain, golibvirt.DomainState, error) {
	if err := s.checkWrite(op, vm); err != nil {
		return nil, golibvirt.Domain{}, 0, err
	}
	h, d, err := s.find(vm)
	if err != nil {
		return nil, golibvirt.Domain{}, 0, s.fail(op, vm, notFound(err))
	}
	s.call()
	st, _, err := h.l.DomainGetState(d, 0)
	if err != nil {
		return nil, golibvirt.Domain{}, 0, s.fail(op, vm, err)
	}
	return h, d, golibvirt.DomainState(st), nil
}
