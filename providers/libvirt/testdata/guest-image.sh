#!/bin/sh
# guest-image.sh OUTDIR — builds drplan's tiny libvirt test guest from
# Debian packages: Debian's kernel (linux-image-amd64) and an initramfs of
# busybox (busybox-static) and the QEMU guest agent (qemu-guest-agent),
# with the virtio modules it needs. It boots in a few seconds under TCG
# (no /dev/kvm), starts qemu-ga on the org.qemu.guest_agent.0 channel and
# gives eth0 an address derived from its MAC (10.77.M5.M6/16, so that
# every clone, which libvirt gives a new MAC, has its own), then prints
# "DRPLAN-GUEST-READY ip=ADDR" on the serial console.
#
# Writes OUTDIR/vmlinuz and OUTDIR/initrd.img; does nothing when both are
# there and newer than this script. Needs root (apt-get) the first time.
set -eu
out=${1:?usage: guest-image.sh OUTDIR}
mkdir -p "$out"
if [ -s "$out/vmlinuz" ] && [ -s "$out/initrd.img" ] && [ "$out/initrd.img" -nt "$0" ]; then
	exit 0
fi
need=""
command -v qemu-ga >/dev/null 2>&1 || [ -x /usr/sbin/qemu-ga ] || need="$need qemu-guest-agent"
# The static busybox: the initramfs has no libc of its own for it.
dpkg -s busybox-static >/dev/null 2>&1 || need="$need busybox-static"
command -v cpio >/dev/null 2>&1 || need="$need cpio"
if [ -n "$need" ]; then
	echo "guest-image: installing$need" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q --no-install-recommends $need >&2 || { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends $need >&2; }
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The kernel comes from Debian's package, unpacked here, never installed.
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
if [ -z "$kpkg" ]; then
	apt-get update -q >&2
	kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
fi
[ -n "$kpkg" ] || { echo "guest-image: cannot find Debian's kernel package (linux-image-amd64)" >&2; exit 1; }
# The package is kept in OUTDIR/.debs, so that a rebuild downloads nothing.
mkdir -p "$out/.debs"
ls "$out/.debs/${kpkg}"_*.deb >/dev/null 2>&1 || (cd "$out/.debs" && apt-get download -q "$kpkg" >&2)
dpkg-deb -x "$(ls "$out/.debs/${kpkg}"_*.deb | head -1)" "$work/k"
kver=${kpkg#linux-image-}
moddir="$work/k/lib/modules/$kver/kernel"

root="$work/root"
mkdir -p "$root/bin" "$root/sbin" "$root/lib/modules" "$root/lib64" "$root/lib/x86_64-linux-gnu" \
	"$root/proc" "$root/sys" "$root/dev" "$root/run" "$root/tmp" "$root/etc" "$root/var/run" "$root/mnt"
cp /bin/busybox "$root/bin/busybox"
for m in virtio/virtio virtio/virtio_ring virtio/virtio_pci_legacy_dev virtio/virtio_pci_modern_dev \
	virtio/virtio_pci ../net/core/failover net/net_failover net/virtio_net char/virtio_console block/virtio_blk; do
	f="$moddir/drivers/$m.ko"
	[ -f "$f" ] || f="$moddir/${m#../}.ko"
	[ -f "$f.xz" ] && xz -dc "$f.xz" >"$root/lib/modules/$(basename "$m").ko" && continue
	cp "$f" "$root/lib/modules/$(basename "$m").ko"
done
ga=$(command -v qemu-ga || echo /usr/sbin/qemu-ga)
cp "$ga" "$root/sbin/qemu-ga"
for lib in $(ldd "$ga" | awk '/=>/{print $3} /ld-linux/{print $1}'); do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done
# qemu-ga's guest-shutdown runs /sbin/shutdown.
cat >"$root/sbin/shutdown" <<'SH'
#!/bin/sh
echo "DRPLAN-GUEST-SHUTDOWN $*" >/dev/ttyS0
sync
case "$*" in *-r*) reboot -f ;; *) poweroff -f ;; esac
SH
chmod +x "$root/sbin/shutdown"
echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
cat >"$root/init" <<'SH'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net virtio_console virtio_blk; do
	insmod /lib/modules/$m.ko
done
ip link set lo up
hostname drplan-guest
mac=$(cat /sys/class/net/eth0/address 2>/dev/null)
if [ -n "$mac" ]; then
	m5=$((0x$(echo "$mac" | cut -d: -f5)))
	m6=$((0x$(echo "$mac" | cut -d: -f6) % 254 + 1))
	ip link set eth0 up
	ip addr add 10.77.$m5.$m6/16 dev eth0
fi
port=""
for i in 1 2 3 4 5 6 7 8 9 10; do
	for d in /sys/class/virtio-ports/*; do
		[ "$(cat "$d/name" 2>/dev/null)" = org.qemu.guest_agent.0 ] && port=/dev/$(basename "$d")
	done
	[ -n "$port" ] && [ -e "$port" ] && break
	sleep 0.2
done
if [ -n "$port" ]; then
	qemu-ga -m virtio-serial -p "$port" -f /run/qemu-ga.pid -d
	echo "DRPLAN-GUEST-READY ip=10.77.${m5:-0}.${m6:-0} agent=$port" >/dev/ttyS0
else
	echo "DRPLAN-GUEST-READY ip=10.77.${m5:-0}.${m6:-0} agent=none" >/dev/ttyS0
fi
while :; do sleep 3600; done
SH
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initrd.img.tmp"
cp "$work/k/boot/vmlinuz-$kver" "$out/vmlinuz.tmp"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
mv "$out/initrd.img.tmp" "$out/initrd.img"
echo "guest-image: $out/vmlinuz ($kver), $out/initrd.img ($(du -k "$out/initrd.img" | cut -f1) KiB)" >&2
