package libvirt

import (
	"context"
	"errors"
	"fmt"
	"io"

	golibvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/drplan/drplan/providers"
)

// ShipRequest asks Ship to replicate one protected VM.
type ShipRequest struct {
	VM    string // the protected VM's name (its domain at the protected site)
	Group string // its protection group
	// Pool is the recovery site's storage pool for the replica's volumes.
	Pool string
	// Retention is how many points the replica keeps (0: 24).
	Retention int
}

// Shipped is what one Ship did.
type Shipped struct {
	Replica providers.VM
	Point   string // the recovery point recorded (RFC 3339)
	Bytes   int64  // volume bytes streamed
}

// Ship is drplan's own snapshot shipping (the snapshot replication
// method, esxReplicator style), from the protected site from to the
// recovery site to: every file-backed disk of the VM is streamed from
// from's pool to to's through libvirt's volume download and upload
// streams, the replica domain "drplan-replicas+VM" is defined (or
// updated) with the VM's definition on the new volumes, and the point is
// recorded in its metadata. A running VM's file systems are frozen
// through its guest agent while its volumes stream (when the agent
// answers), which makes the point file-system consistent; without the
// agent it is crash consistent. (The external-snapshot-and-block-commit
// path, which ships only what changed while the VM keeps writing, is not
// done: every ship streams whole volumes.)
func Ship(ctx context.Context, from, to *Site, req ShipRequest) (Shipped, error) {
	const op = "ship"
	src := providers.VM{Site: from.name, Path: req.VM}
	if err := to.checkWrite(op, src); err != nil {
		return Shipped{}, err
	}
	di, err := from.lookup(src)
	if err != nil {
		return Shipped{}, from.fail(op, src, notFound(err))
	}
	replica := providers.VM{Site: to.name, Path: ReplicaFolder + "/" + req.VM}
	replica.Ref = DomainName(replica.Path)
	th := to.hosts[0]
	to.call()
	pool, err := th.l.StoragePoolLookupByName(req.Pool)
	if err != nil {
		return Shipped{}, to.fail(op, replica, fmt.Errorf("storage pool %q: %w", req.Pool, err))
	}
	frozen := false
	if di.state == golibvirt.DomainRunning {
		var n int
		if err := from.agent(di.h, di.d, "guest-fsfreeze-freeze", nil, &n); err == nil {
			frozen = true
		}
	}
	point := fmtTime(from.clock.Now())
	def := copyDomain(di.def)
	var shipped int64
	for i := range def.Devices.Disks {
		d := &def.Devices.Disks[i]
		if d.Device != "" && d.Device != "disk" || d.Source == nil || d.Source.File == nil {
			continue
		}
		format := "raw"
		if d.Driver != nil && d.Driver.Type != "" {
			format = d.Driver.Type
		}
		dev := fmt.Sprintf("disk%d", i)
		if d.Target != nil && d.Target.Dev != "" {
			dev = d.Target.Dev
		}
		n, path, err := shipVolume(from, to, di.h, th, pool, d.Source.File.File, replica.Ref+"@"+dev+"."+format, format)
		shipped += n
		if err != nil {
			if frozen {
				from.agent(di.h, di.d, "guest-fsfreeze-thaw", nil, nil)
			}
			return Shipped{}, to.fail(op, replica, err)
		}
		d.Source.File.File = path
	}
	if frozen {
		if err := from.agent(di.h, di.d, "guest-fsfreeze-thaw", nil, nil); err != nil {
			return Shipped{}, from.fail(op, src, fmt.Errorf("thaw the guest's file systems: %w", err))
		}
	}
	// The replica's definition and record.
	rec := &Record{Replica: &ReplicaRecord{VM: req.VM, Group: req.Group, Site: from.name}}
	if old, err := to.lookup(replica); err == nil {
		rec = old.rec
		if rec.Replica == nil {
			return Shipped{}, &providers.Error{Op: op, Object: replica.String(), Kind: providers.Permanent, Err: errors.New("a domain of the replica's name exists and is not a replica")}
		}
		def.UUID = old.def.UUID
		if rec.Promoted != nil {
			return Shipped{}, &providers.Error{Op: op, Object: replica.String(), Kind: providers.Permanent,
				Err: fmt.Errorf("the replica is pinned by run %s: no new point is taken into it", rec.Promoted.Run)}
		}
	} else if !errors.Is(err, errNotFound) {
		return Shipped{}, to.fail(op, replica, err)
	} else {
		def.UUID = ""
	}
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
		return Shipped{}, to.fail(op, replica, err)
	}
	def.Metadata = &libvirtxml.DomainMetadata{XML: md}
	x, err := def.Marshal()
	if err != nil {
		return Shipped{}, to.fail(op, replica, err)
	}
	to.call()
	if _, err := th.l.DomainDefineXML(x); err != nil {
		return Shipped{}, to.fail(op, replica, err)
	}
	return Shipped{Replica: replica, Point: point, Bytes: shipped}, nil
}

// shipVolume streams one volume from one host's pool to another's,
// creating the target volume when it is missing, and returns the bytes
// streamed and the target's path.
func shipVolume(from, to *Site, fh, th *host, pool golibvirt.StoragePool, srcPath, name, format string) (int64, string, error) {
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
	pr, pw := io.Pipe()
	counter := &countWriter{w: pw}
	done := make(chan error, 1)
	go func() {
		from.call()
		err := fh.l.StorageVolDownload(sv, counter, 0, 0, 0)
		pw.CloseWithError(err)
		done <- err
	}()
	to.call()
	uerr := th.l.StorageVolUpload(tv, pr, 0, 0, 0)
	pr.CloseWithError(io.ErrClosedPipe)
	derr := <-done
	if derr != nil {
		return counter.n, "", fmt.Errorf("download %s: %w", srcPath, derr)
	}
	if uerr != nil {
		return counter.n, "", fmt.Errorf("upload %s: %w", name, uerr)
	}
	to.call()
	p, err := th.l.StorageVolGetPath(tv)
	return counter.n, p, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
