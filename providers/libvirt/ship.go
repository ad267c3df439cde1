package libvirt

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/drplan/drplan/internal/errs"
	"github.com/drplan/drplan/providers"
)

// ShipRequest asks Ship to replicate one protected VM.
type ShipRequest struct {
	VM string // the protected VM's path (its domain at the protected site)
	// Replica is the replica's path at the recovery site; "" means
	// drplan-replicas/NAME.
	Replica string
	Group   string // its protection group
	// Pool is the recovery site's storage pool for the replica's new
	// volumes; "" means the pool of the replica's current volumes.
	Pool string
	// Retention is how many points the replica keeps (0: 24).
	Retention int
}

// Shipped is what one Ship did.
type Shipped struct {
	Replica providers.VM
	Point   string // the recovery point recorded (RFC 3339)
	// Bytes is what went from the protected site to the recovery site.
	Bytes int64
	// Full says at least one disk was copied whole (the first point, or
	// a replica that does not hold the previous point); otherwise only
	// the overlays of what changed since the previous point went.
	Full bool
}

// shipMark is in the name of the overlays Ship puts on protected disks:
// DISK.drplan-ship-NANOS.qcow2.
const shipMark = ".drplan-ship-"

func isShipOverlay(p string) bool { return strings.Contains(path.Base(p), shipMark) }

// ShipPoint is providers.Shipper: a migration's final sync ships each
// replica's point with Ship. from must be a libvirt site too.
func (s *Site) ShipPoint(ctx context.Context, from providers.Site, vm, replica providers.VM, group string) (providers.Shipment, error) {
	f, ok := from.(*Site)
	if !ok {
		return providers.Shipment{}, s.unsupported("ship", replica, fmt.Sprintf("shipping from site %s, which is not a libvirt site (V2V)", from.Name()))
	}
	got, err := Ship(ctx, f, s, ShipRequest{VM: vm.Path, Replica: replica.Path, Group: group})
	if err != nil {
		return providers.Shipment{}, err
	}
	at, _ := time.Parse(time.RFC3339Nano, got.Point)
	return providers.Shipment{Point: at, Bytes: got.Bytes, Full: got.Full}, nil
}

// shipDisk is one protected disk as Ship sees it.
type shipDisk struct {
	dev    string
	base   string   // the volume below Ship's overlays
	format string   // its format
	olds   []string // Ship's overlays on it, topmost first (normally one)
	next   string   // the overlay this ship creates
}

// Ship is drplan's own snapshot shipping (the snapshot replication
// method, esxReplicator style), from the protected site from to the
// recovery site to, for every file-backed disk of the VM:
//
//   - an external disk-only snapshot (quiesced through the guest agent
//     when it answers) puts each disk on a new qcow2 overlay, so that
//     what is below it is the point and no longer changes;
//   - the first time, the disk's volume is streamed whole into the
//     replica's volume through libvirt's volume download and upload;
//     afterwards only the previous overlay (what the VM wrote since the
//     previous point) is streamed, as a qcow2 volume backed by the
//     replica's, and block-committed into it at the recovery site;
//   - at the protected site the previous overlay is block-committed
//     into the volume below and deleted, so the chain stays one overlay
//     deep.
//
// A block commit on a domain that is not running is done by a paused
// transient helper domain ("drplan-ship+…") holding only the disk. The
// replica domain "drplan-replicas+VM" is defined (or updated) with the
// VM's definition on the replica's volumes, and the point is recorded in
// its metadata, with which overlay of the protected disk it stands for:
// a replica that does not hold the previous point gets a whole copy.
func Ship(ctx context.Context, from, to *Site, req ShipRequest) (Shipped, error) {
	const op = "ship"
	src := providers.VM{Site: from.name, Path: req.VM}
	if req.Replica == "" {
		req.Replica = ReplicaFolder + "/" + path.Base(req.VM)
	}
	replica := providers.VM{Site: to.name, Path: req.Replica, Ref: DomainName(req.Replica)}
	if err := from.checkWrite(op, src); err != nil {
		return Shipped{}, err
	}
	if err := to.checkWrite(op, replica); err != nil {
		return Shipped{}, err
	}
	di, err := from.lookup(src)
	if err != nil {
		return Shipped{}, from.fail(op, src, notFound(err))
	}
	fh, th := di.h, to.hosts[0]
	var old *domainInfo
	if o, err := to.lookup(replica); err == nil {
		if o.rec.Replica == nil {
			return Shipped{}, &errs.Error{Op: op, Object: replica.String(), Kind: errs.Permanent, Err: errors.New("a domain of the replica's name exists and is not a replica")}
		}
		if o.rec.Promoted != nil {
			return Shipped{}, &errs.Error{Op: op, Object: replica.String(), Kind: errs.Permanent,
				Err: fmt.Errorf("the replica is pinned by run %s: no new point is taken into it", o.rec.Promoted.Run)}
		}
		old, th = &o, o.h
	} else if !errors.Is(err, errNotFound) {
		return Shipped{}, to.fail(op, replica, err)
	}

	// The protected disks and Ship's overlays on them.
	at := from.clock.Now()
	point := fmtTime(at)
	var disks []shipDisk
	for i, d := range di.def.Devices.Disks {
		if d.Device != "" && d.Device != "disk" {
			continue
		}
		dev := fmt.Sprintf("disk%d", i)
		if d.Target != nil && d.Target.Dev != "" {
			dev = d.Target.Dev
		}
		if d.Source == nil || d.Source.File == nil {
			return Shipped{}, from.unsupported(op, src, fmt.Sprintf("disk %s (%s) is not a file; Ship copies file-backed disks (a file or a volume of a dir, fs or netfs pool)", dev, diskPath(d)))
		}
		sd := shipDisk{dev: dev, base: d.Source.File.File, format: "raw"}
		if d.Driver != nil && d.Driver.Type != "" {
			sd.format = d.Driver.Type
		}
		if err := from.refreshPoolOf(fh, sd.base); err != nil {
			return Shipped{}, from.fail(op, src, err)
		}
		for isShipOverlay(sd.base) {
			b, f, err := from.backingOf(fh, sd.base)
			if err != nil {
				return Shipped{}, from.fail(op, src, err)
			}
			sd.olds = append(sd.olds, sd.base)
			sd.base, sd.format = b, f
		}
		stem := strings.TrimSuffix(sd.base, path.Ext(sd.base))
		sd.next = fmt.Sprintf("%s%s%d.qcow2", stem, shipMark, at.UnixNano())
		disks = append(disks, sd)
	}
	if len(disks) == 0 {
		return Shipped{}, &errs.Error{Op: op, Object: src.String(), Kind: errs.Permanent, Err: errors.New("the VM has no disk to ship")}
	}
	if err := from.snapshot(fh, di, disks); err != nil {
		return Shipped{}, from.fail(op, src, fmt.Errorf("external snapshot: %w", err))
	}
	if err := from.refreshPoolOf(fh, disks[0].next); err != nil {
		return Shipped{}, from.fail(op, src, err)
	}

	// The recovery site's pool for new volumes.
	var pool golibvirt.StoragePool
	poolOK := false
	if req.Pool != "" {
		to.call()
		if pool, err = th.l.StoragePoolLookupByName(req.Pool); err != nil {
			return Shipped{}, to.fail(op, replica, fmt.Errorf("storage pool %q: %w", req.Pool, err))
		}
		poolOK = true
	}
	current := map[string]string{} // the replica's disks by target
	state := map[string]ShippedDisk{}
	if old != nil {
		for _, d := range old.def.Devices.Disks {
			if d.Target != nil && d.Source != nil && d.Source.File != nil {
				current[d.Target.Dev] = d.Source.File.File
			}
		}
		for _, s := range old.rec.Replica.Shipped {
			state[s.Dev] = s
		}
	}

	def := copyDomain(di.def)
	var out Shipped
	var shipped []ShippedDisk
	for _, sd := range disks {
		cur := current[sd.dev]
		st, ok := state[sd.dev]
		vol := cur
		if len(sd.olds) == 1 && ok && st.Overlay == sd.olds[0] && cur != "" && st.Volume == cur {
			n, err := shipDelta(ctx, from, to, fh, th, di.def, sd, cur)
			out.Bytes += n
			if err != nil {
				return out, to.fail(op, replica, err)
			}
			if err := from.commit(ctx, fh, di.d, di.def, sd); err != nil {
				return out, from.fail(op, src, err)
			}
		} else {
			out.Full = true
			if err := from.commit(ctx, fh, di.d, di.def, sd); err != nil {
				return out, from.fail(op, src, err)
			}
			if !poolOK {
				if cur == "" {
					return out, to.fail(op, replica, errors.New("the replica has no volume to ship into and no storage pool was given"))
				}
				to.call()
				cv, err := th.l.StorageVolLookupByPath(cur)
				if err == nil {
					to.call()
					pool, err = th.l.StoragePoolLookupByVolume(cv)
				}
				if err != nil {
					return out, to.fail(op, replica, fmt.Errorf("the replica's volume %s is in no storage pool: %w", cur, err))
				}
				poolOK = true
			}
			n, p, err := shipVolume(from, to, fh, th, pool, sd.base, replica.Ref+"@"+sd.dev+"."+sd.format, sd.format)
			out.Bytes += n
			if err != nil {
				return out, to.fail(op, replica, err)
			}
			vol = p
		}
		shipped = append(shipped, ShippedDisk{Dev: sd.dev, Overlay: sd.next, Volume: vol})
		for i := range def.Devices.Disks {
			d := &def.Devices.Disks[i]
			if d.Target != nil && d.Target.Dev == sd.dev && d.Source != nil && d.Source.File != nil {
				d.Source.File.File = vol
				d.BackingStore = nil
				if d.Driver == nil {
					d.Driver = &libvirtxml.DomainDiskDriver{Name: "qemu"}
				}
				d.Driver.Type = sd.format
			}
		}
	}

	// The replica's definition and record.
	rec := &Record{Replica: &ReplicaRecord{VM: path.Base(req.VM), Group: req.Group, Site: from.name}}
	if d := path.Dir(req.VM); d != "." {
		rec.Replica.Folder = d
	}
	if old != nil {
		rec = old.rec
		def.UUID = old.def.UUID
	} else {
		def.UUID = ""
	}
	rec.Replica.Shipped = shipped
	keep := req.Retention
	if keep <= 0 {
		keep = 24
	}
	rec.Points = append(rec.Points, point)
	if len(rec.Points) > keep {
		rec.Points = rec.Points[len(rec.Points)-keep:]
	}
	def.Name = replica.Ref
	renameFiles(def, di.d.Name, replica.Ref)
	md, err := metadataXML(rec)
	if err != nil {
		return out, to.fail(op, replica, err)
	}
	def.Metadata = &libvirtxml.DomainMetadata{XML: md}
	x, err := def.Marshal()
	if err != nil {
		return out, to.fail(op, replica, err)
	}
	to.call()
	if _, err := th.l.DomainDefineXML(x); err != nil {
		return out, to.fail(op, replica, err)
	}
	out.Replica, out.Point = replica, point
	return out, nil
}

// snapshot puts each shipped disk on its new overlay: an external
// disk-only snapshot without snapshot metadata, quiesced through the
// guest agent when the VM runs and the agent answers.
func (s *Site) snapshot(h *host, di domainInfo, disks []shipDisk) error {
	next := map[string]string{}
	for _, sd := range disks {
		next[sd.dev] = sd.next
	}
	snap := libvirtxml.DomainSnapshot{Disks: &libvirtxml.DomainSnapshotDisks{}}
	for _, d := range di.def.Devices.Disks {
		if d.Target == nil {
			continue
		}
		sd := libvirtxml.DomainSnapshotDisk{Name: d.Target.Dev, Snapshot: "no"}
		if n, ok := next[d.Target.Dev]; ok {
			sd.Snapshot = "external"
			sd.Driver = &libvirtxml.DomainDiskDriver{Type: "qcow2"}
			sd.Source = &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: n}}
		}
		snap.Disks.Disks = append(snap.Disks.Disks, sd)
	}
	x, err := snap.Marshal()
	if err != nil {
		return err
	}
	flags := uint32(golibvirt.DomainSnapshotCreateDiskOnly | golibvirt.DomainSnapshotCreateNoMetadata | golibvirt.DomainSnapshotCreateAtomic)
	s.call()
	st, _, err := h.l.DomainGetState(di.d, 0)
	if err != nil {
		return err
	}
	if golibvirt.DomainState(st) == golibvirt.DomainRunning {
		s.call()
		if _, err := h.l.DomainSnapshotCreateXML(di.d, x, flags|uint32(golibvirt.DomainSnapshotCreateQuiesce)); err == nil {
			return nil
		}
		// No agent, or it cannot freeze: a crash-consistent point.
	}
	s.call()
	_, err = h.l.DomainSnapshotCreateXML(di.d, x, flags)
	return err
}

// refreshPoolOf refreshes the active pool whose directory holds file, so
// that files libvirt's snapshots created there are volumes.
func (s *Site) refreshPoolOf(h *host, file string) error {
	s.call()
	pools, _, err := h.l.ConnectListAllStoragePools(1, golibvirt.ConnectListStoragePoolsActive)
	if err != nil {
		return err
	}
	for _, p := range pools {
		s.call()
		x, err := h.l.StoragePoolGetXMLDesc(p, 0)
		if err != nil {
			continue
		}
		var sp libvirtxml.StoragePool
		if sp.Unmarshal(x) != nil || sp.Target == nil || sp.Target.Path != path.Dir(file) {
			continue
		}
		s.call()
		return h.l.StoragePoolRefresh(p, 0)
	}
	return fmt.Errorf("%s is in no active storage pool of the host (Ship copies volumes of dir, fs or netfs pools)", file)
}

// backingOf reads a qcow2 volume's backing file and format.
func (s *Site) backingOf(h *host, file string) (string, string, error) {
	s.call()
	v, err := h.l.StorageVolLookupByPath(file)
	if err != nil {
		return "", "", fmt.Errorf("volume %s: %w", file, err)
	}
	s.call()
	x, err := h.l.StorageVolGetXMLDesc(v, 0)
	if err != nil {
		return "", "", err
	}
	var sv libvirtxml.StorageVolume
	if err := sv.Unmarshal(x); err != nil {
		return "", "", err
	}
	if sv.BackingStore == nil || sv.BackingStore.Path == "" {
		return "", "", fmt.Errorf("overlay %s has no backing file", file)
	}
	format := "raw"
	if sv.BackingStore.Format != nil && sv.BackingStore.Format.Type != "" {
		format = sv.BackingStore.Format.Type
	}
	return sv.BackingStore.Path, format, nil
}

// commit merges the disk's old overlays into its base below the new
// overlay and deletes them: a block commit in the domain when it runs,
// otherwise in a paused helper domain.
func (s *Site) commit(ctx context.Context, h *host, d golibvirt.Domain, def *libvirtxml.Domain, sd shipDisk) error {
	if len(sd.olds) == 0 {
		return nil
	}
	s.call()
	st, _, err := h.l.DomainGetState(d, 0)
	if err != nil {
		return err
	}
	if golibvirt.DomainState(st) == golibvirt.DomainRunning {
		err = s.blockCommit(ctx, h, d, sd.dev, sd.olds[0], sd.base)
	} else {
		err = s.helperCommit(ctx, h, def, sd.next, sd.olds[0], sd.base)
	}
	if err != nil {
		return fmt.Errorf("block commit of %s into %s: %w", sd.olds[0], sd.base, err)
	}
	return s.dropVolumes(h, sd.olds)
}

// helperCommit commits top into base in a transient domain started
// paused with only the disk whose active layer is active.
func (s *Site) helperCommit(ctx context.Context, h *host, like *libvirtxml.Domain, active, top, base string) error {
	var b [6]byte
	rand.Read(b[:])
	dom := libvirtxml.Domain{Type: like.Type, Name: "drplan-ship+" + hex.EncodeToString(b[:]),
		Memory: &libvirtxml.DomainMemory{Value: 32, Unit: "MiB"}, VCPU: &libvirtxml.DomainVCPU{Value: 1},
		Devices: &libvirtxml.DomainDeviceList{Disks: []libvirtxml.DomainDisk{{
			Device: "disk", Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "qcow2"},
			Source: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: active}},
			Target: &libvirtxml.DomainDiskTarget{Dev: "vda", Bus: "virtio"}}}}}
	if like.OS != nil && like.OS.Type != nil {
		t := *like.OS.Type
		dom.OS = &libvirtxml.DomainOS{Type: &t}
	} else {
		dom.OS = &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Type: "hvm"}}
	}
	if dom.Type == "" {
		dom.Type = "qemu"
	}
	x, err := dom.Marshal()
	if err != nil {
		return err
	}
	s.call()
	d, err := h.l.DomainCreateXML(x, golibvirt.DomainStartPaused)
	if err != nil {
		return fmt.Errorf("helper domain: %w", err)
	}
	defer func() {
		s.call()
		h.l.DomainDestroy(d)
	}()
	return s.blockCommit(ctx, h, d, "vda", top, base)
}

// blockCommit runs a non-active block commit of top into base and waits
// until it is done, checking that top left the disk's chain.
func (s *Site) blockCommit(ctx context.Context, h *host, d golibvirt.Domain, dev, top, base string) error {
	s.call()
	if err := h.l.DomainBlockCommit(d, dev, golibvirt.OptString{base}, golibvirt.OptString{top}, 0, 0); err != nil {
		return err
	}
	for {
		s.call()
		found, _, _, _, _, err := h.l.DomainGetBlockJobInfo(d, dev, 0)
		if err != nil {
			return err
		}
		if found == 0 {
			break
		}
		select {
		case <-ctx.Done():
			s.call()
			h.l.DomainBlockJobAbort(d, dev, 0)
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	s.call()
	x, err := h.l.DomainGetXMLDesc(d, 0)
	if err != nil {
		return err
	}
	if strings.Contains(x, "'"+top+"'") || strings.Contains(x, `"`+top+`"`) {
		return errors.New("the block job ended with the overlay still in the disk's chain")
	}
	return nil
}

// shipDelta streams the disk's previous overlay (what the VM wrote since
// the replica's point) to the recovery site as a qcow2 volume backed by
// the replica's volume cur, and block-commits it into cur there. It
// returns the bytes streamed.
func shipDelta(ctx context.Context, from, to *Site, fh, th *host, like *libvirtxml.Domain, sd shipDisk, cur string) (int64, error) {
	to.call()
	cv, err := th.l.StorageVolLookupByPath(cur)
	if err != nil {
		return 0, fmt.Errorf("the replica's volume %s: %w", cur, err)
	}
	to.call()
	pool, err := th.l.StoragePoolLookupByVolume(cv)
	if err != nil {
		return 0, err
	}
	stem := strings.TrimSuffix(path.Base(cur), path.Ext(cur))
	delta := stem + ".delta.qcow2"
	top := stem + ".delta-top.qcow2"
	// Leftovers of an attempt that failed are replaced.
	to.call()
	if v, err := th.l.StorageVolLookupByName(pool, top); err == nil {
		to.call()
		th.l.StorageVolDelete(v, 0)
	}
	to.call()
	if v, err := th.l.StorageVolLookupByName(pool, delta); err == nil {
		to.call()
		th.l.StorageVolDelete(v, 0)
	}
	n, dpath, err := shipVolumeWith(from, to, fh, th, pool, sd.olds[0], delta, "qcow2", func(w io.Writer) io.Writer {
		return &backingPatcher{w: w, backing: cur}
	})
	if err != nil {
		return n, err
	}
	// An empty overlay over the delta is the helper's active layer, so
	// the delta is committed into cur as on the protected side.
	tpath, err := to.overlay(ctx, th, dpath, "qcow2", top)
	if err != nil {
		return n, err
	}
	if err := to.helperCommit(ctx, th, like, tpath, dpath, cur); err != nil {
		return n, fmt.Errorf("block commit of the shipped overlay into %s: %w", cur, err)
	}
	return n, to.dropVolumes(th, []string{tpath, dpath})
}

// backingPatcher rewrites, in a qcow2 image streamed through it, the
// backing file name in the header's first cluster, which holds the name
// right after the header and its extensions.
type backingPatcher struct {
	w       io.Writer
	backing string
	head    []byte
	done    bool
}

const patchHead = 64 << 10

func (p *backingPatcher) Write(b []byte) (int, error) {
	if p.done {
		return p.w.Write(b)
	}
	p.head = append(p.head, b...)
	if len(p.head) < patchHead {
		return len(b), nil
	}
	if err := p.flush(); err != nil {
		return 0, err
	}
	return len(b), nil
}

// flush patches and writes what is held.
func (p *backingPatcher) flush() error {
	if p.done {
		return nil
	}
	p.done = true
	h := p.head
	if len(h) < 72 || string(h[:4]) != "QFI\xfb" {
		return errors.New("the overlay is not a qcow2 image")
	}
	off := binary.BigEndian.Uint64(h[8:16])
	size := binary.BigEndian.Uint32(h[16:20])
	cluster := uint64(1) << binary.BigEndian.Uint32(h[20:24])
	end := off + uint64(len(p.backing))
	if off == 0 || end > cluster || end > uint64(len(h)) || off+uint64(size) > uint64(len(h)) {
		return fmt.Errorf("cannot rewrite the overlay's backing file name (at %d, %d bytes) to %s", off, size, p.backing)
	}
	clear(h[off : off+uint64(size)])
	copy(h[off:], p.backing)
	binary.BigEndian.PutUint32(h[16:20], uint32(len(p.backing)))
	_, err := p.w.Write(h)
	return err
}

// shipVolume streams one volume from one host's pool to another's,
// creating the target volume when it is missing, and returns the bytes
// streamed and the target's path.
func shipVolume(from, to *Site, fh, th *host, pool golibvirt.StoragePool, srcPath, name, format string) (int64, string, error) {
	return shipVolumeWith(from, to, fh, th, pool, srcPath, name, format, nil)
}

// shipVolumeWith is shipVolume with the stream passed through filter.
//
// go-libvirt can wedge a streaming call's connection: its reader delivers
// each packet to the call under the connection's lock, so once the call
// stops taking packets (libvirtd ended the stream with an empty data
// packet before the final one, or a packet came after the call returned)
// the reader and the call's own clean-up wait for each other for good. It
// has happened to downloads at a stream's end and before its first byte.
// So the download and the upload each run on a connection of their own
// (a wedge never reaches the site's connection); the download asks for
// exactly the volume's physical size, and once every byte has arrived the
// copy goes on without waiting for its call. A stream through which no
// byte passes for stallAfter (or whose upload is not confirmed within
// 4×stallAfter of its last byte) is abandoned with its connections and
// streamed once more on new ones (the upload starts again at offset 0 and
// rewrites what the first attempt wrote).
func shipVolumeWith(from, to *Site, fh, th *host, pool golibvirt.StoragePool, srcPath, name, format string, filter func(io.Writer) io.Writer) (int64, string, error) {
	from.call()
	sv, err := fh.l.StorageVolLookupByPath(srcPath)
	if err != nil {
		return 0, "", fmt.Errorf("volume %s is in no storage pool of the protected host: %w", srcPath, err)
	}
	from.call()
	_, capacity, _, err := fh.l.StorageVolGetInfo(sv)
	if err != nil {
		return 0, "", err
	}
	from.call()
	_, _, size, err := fh.l.StorageVolGetInfoFlags(sv, uint32(golibvirt.StorageVolGetPhysical))
	if err != nil {
		return 0, "", err
	}
	to.call()
	tv, err := th.l.StorageVolLookupByName(pool, name)
	if err != nil {
		vol := libvirtxml.StorageVolume{Name: name, Capacity: &libvirtxml.StorageVolumeSize{Value: capacity, Unit: "bytes"},
			Target: &libvirtxml.StorageVolumeTarget{Format: &libvirtxml.StorageVolumeTargetFormat{Type: format}}}
		x, err := vol.Marshal()
		if err != nil {
			return 0, "", err
		}
		to.call()
		if tv, err = th.l.StorageVolCreateXML(pool, x, 0); err != nil {
			return 0, "", err
		}
	}
	var n int64
	for attempt := 1; ; attempt++ {
		n, err = streamVolume(from, to, fh, th, sv, tv, size, filter)
		if err == nil || !errors.Is(err, errStalled) || attempt == 2 {
			break
		}
	}
	if err != nil {
		return n, "", fmt.Errorf("%s to %s: %w", srcPath, name, err)
	}
	to.call()
	p, err := th.l.StorageVolGetPath(tv)
	return n, p, err
}

// stallAfter is how long a stream may pass no byte before it is abandoned
// (a variable so that a test can shorten it).
var stallAfter = 30 * time.Second

// errStalled ends a stream through which no byte passed for stallAfter
// (or whose upload was not confirmed in time).
var errStalled = errors.New("the volume's stream stalled")

// downloadFault and uploadFault, when set (by tests only), wrap the
// writer a download delivers into and the upload call, so that a test
// can wedge a stream as go-libvirt's defect does.
var (
	downloadFault func(io.Writer) io.Writer
	uploadFault   func(upload func() error) error
)

// streamVolume streams size bytes of sv into tv once, on a download and
// an upload connection of their own, and returns the bytes that reached
// the upload.
func streamVolume(from, to *Site, fh, th *host, sv, tv golibvirt.StorageVol, size uint64, filter func(io.Writer) io.Writer) (int64, error) {
	dl, err := dial(context.Background(), fh.uri)
	if err != nil {
		return 0, fmt.Errorf("a connection for the download: %w", err)
	}
	defer func() { go dl.l.Disconnect() }()
	ul, err := dial(context.Background(), th.uri)
	if err != nil {
		return 0, fmt.Errorf("a connection for the upload: %w", err)
	}
	defer func() { go ul.l.Disconnect() }()
	from.calls.Add(2)
	to.calls.Add(2)
	pr, pw := io.Pipe()
	counter := &countWriter{w: pw}
	var w io.Writer = counter
	var fl *backingPatcher
	if filter != nil {
		w = filter(counter)
		fl, _ = w.(*backingPatcher)
	}
	end := &endWriter{w: w, left: int64(size), done: func() error {
		var err error
		if fl != nil {
			err = fl.flush()
		}
		pw.CloseWithError(err)
		return err
	}}
	var into io.Writer = end
	if downloadFault != nil {
		into = downloadFault(end)
	}
	done := make(chan error, 1)
	go func() {
		from.call()
		err := dl.l.StorageVolDownload(sv, into, 0, size, 0)
		if err == nil {
			err = end.finish()
		}
		pw.CloseWithError(err)
		done <- err
	}()
	uploaded := make(chan error, 1)
	go func() {
		to.call()
		upload := func() error { return ul.l.StorageVolUpload(tv, pr, 0, 0, 0) }
		var err error
		if uploadFault != nil {
			err = uploadFault(upload)
		} else {
			err = upload()
		}
		pr.CloseWithError(io.ErrClosedPipe)
		uploaded <- err
	}()
	stop, stalled := make(chan struct{}), make(chan struct{})
	go watchStall(counter, end, stop, func() {
		close(stalled)
		pw.CloseWithError(errStalled)
		pr.CloseWithError(errStalled)
	})
	var uerr error
	select {
	case uerr = <-uploaded:
	case <-stalled:
		uerr = errStalled
	}
	close(stop)
	if uerr != nil && isClosed(stalled) {
		return counter.bytes(), fmt.Errorf("%w for %s", errStalled, stallAfter)
	}
	var derr error
	if end.complete() || uerr != nil {
		// Every byte arrived (or the upload failed): the call's own end
		// is not waited for long.
		select {
		case derr = <-done:
		case <-time.After(5 * time.Second):
			derr = errors.New("the download did not end")
		}
		if end.complete() {
			derr = end.err
		}
	} else {
		derr = <-done
	}
	if derr != nil {
		return counter.bytes(), fmt.Errorf("download: %w", derr)
	}
	if uerr != nil {
		return counter.bytes(), fmt.Errorf("upload: %w", uerr)
	}
	return counter.bytes(), nil
}

// watchStall calls stalled once when no byte has passed counter for
// stallAfter (4×stallAfter once the last byte has passed: the upload's
// confirmation may wait for the target's disk), until stop is closed.
func watchStall(counter *countWriter, end *endWriter, stop <-chan struct{}, stalled func()) {
	tick := time.NewTicker(stallAfter / 10)
	defer tick.Stop()
	last, since := int64(-1), time.Now()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		if n := counter.bytes(); n != last {
			last, since = n, time.Now()
			continue
		}
		limit := stallAfter
		if end.complete() {
			limit = 4 * stallAfter
		}
		if time.Since(since) >= limit {
			stalled()
			return
		}
	}
}

// isClosed reports whether ch is closed.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// endWriter passes left bytes on and then calls done once.
type endWriter struct {
	w    io.Writer
	left int64
	done func() error
	mu   sync.Mutex
	end  bool
	err  error
}

func (e *endWriter) Write(b []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.end {
		return len(b), nil
	}
	if int64(len(b)) > e.left {
		b = b[:e.left]
	}
	n, err := e.w.Write(b)
	e.left -= int64(n)
	if err != nil {
		return n, err
	}
	if e.left == 0 {
		e.end = true
		e.err = e.done()
	}
	return n, e.err
}

// finish ends the stream when the download ended before its size (the
// volume shrank): done is called all the same.
func (e *endWriter) finish() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.end {
		return e.err
	}
	e.end = true
	e.err = e.done()
	return e.err
}

func (e *endWriter) complete() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.end && e.left == 0
}

// countWriter counts the bytes written through it; the count may be
// read while writes go on.
type countWriter struct {
	w io.Writer
	n atomic.Int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countWriter) bytes() int64 { return c.n.Load() }
