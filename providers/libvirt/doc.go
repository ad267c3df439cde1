// Package libvirt implements providers.Site for libvirt/QEMU-KVM sites:
// the same plans, compiler, runner, journal and reports recover VMs
// between two sets of libvirt hosts as between two vCenters
// (providers/vsphere).
//
// # Client library
//
// It speaks libvirt's RPC protocol with github.com/digitalocean/go-libvirt,
// which is pure Go: drplan stays one static binary that needs no
// libvirt.so on the machine that runs it, and cross-compiles. The
// official binding, libvirt.org/go/libvirt, wraps the C library through
// cgo. Domain and volume XML is read and written with
// libvirt.org/go/libvirtxml (also pure Go), which round-trips every
// element libvirt knows, so a copy keeps what drplan does not touch.
//
// # How drplan's state lives at a libvirt site
//
// libvirt has no folders: a VM path "drplan-drill/RUN/web-01" is the
// domain "drplan-drill+RUN+web-01" (DomainName, PathOf). Everything else
// drplan records is domain metadata that any libvirt client can read
// (virsh metadata DOMAIN https://drplan.dev/libvirt/1):
// <drplan:vm xmlns:drplan="https://drplan.dev/libvirt/1"> with the run
// that created the domain, the replica record (which protected VM, group,
// site, addresses, recovery points), the promotion, suspension and
// pending re-IP. A lock is a domain of its own, "drplan-lock+NAME", never
// started, whose metadata names the holder: libvirt refuses to define a
// second domain of one name with another UUID, which makes the define an
// atomic test-and-set that every client of the host sees.
//
// # Replication
//
// Storage-level replication (Ceph RBD mirroring, ZFS send, DRBD) appears
// to drplan as a replica volume plus a replica domain definition
// "drplan-replicas+VM" at the recovery site, with its recovery points in
// the domain's metadata, written by whatever replicates. Ship is drplan's
// own snapshot shipping: an external disk-only snapshot puts each disk
// on a new qcow2 overlay; the first point streams the volume below it
// whole to the recovery site's pool through libvirt's volume download
// and upload streams, later points only the previous overlay (what
// changed), block-committed into the replica's volume there; the
// previous overlay is committed at the protected site too, so the chain
// stays one overlay deep. Commits on domains that are not running run in
// a paused transient helper domain. Site implements providers.Shipper,
// so a migration's final sync ships its point with Ship.
//
// A drill copy is a new domain on qcow2 overlays whose backing files are
// the replica's volumes (file disks, or pool volumes that are files), so
// the replica is never written; Destroy undefines it and deletes its
// overlays. Readiness and guest operations go through the QEMU guest
// agent (org.qemu.guest_agent.0): a heartbeat is the agent answering
// guest-ping, an IP its guest-network-get-interfaces, a guest step
// guest-exec (as another user through su(1), every argument quoted), and
// a re-IP (Customize) is applied by guest-exec of ip(8) as soon as the
// agent answers after power-on.
package libvirt
