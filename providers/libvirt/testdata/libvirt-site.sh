#!/bin/bash
# libvirt-site.sh — runs drplan's libvirt test sites on this machine.
#
#   libvirt-site.sh install            install Debian's libvirt and QEMU when missing
#   libvirt-site.sh start DIR NAME     start site NAME's libvirtd + virtlogd under DIR/NAME
#   libvirt-site.sh stop DIR NAME      stop them (and every guest of the site)
#
# Each site is one libvirtd with its own virtlogd, in its own mount and
# network namespace (unshare -m -n): private /run/libvirt, /var/lib/libvirt,
# /var/log/libvirt and /etc/libvirt (bind-mounted from DIR/NAME), bridges
# of its own. What a client needs is outside the namespace, in DIR/NAME:
#   sock/libvirt-sock   the daemon's socket: qemu+unix:///system?socket=DIR/NAME/sock/libvirt-sock
#   pool/               the directory of the site's storage pool
#   libvirtd.pid, virtlogd.pid, libvirtd.log
# Guests are of type qemu (TCG) when /dev/kvm is not usable; QEMU runs as
# root with no security driver (test sites only). Needs root.
set -euo pipefail

die() { echo "libvirt-site: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts libvirtd in namespaces); you are $(id -un)"

install() {
	local need=()
	[ -x /usr/sbin/libvirtd ] || need+=(libvirt-daemon)
	[ -f /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so ] || need+=(libvirt-daemon-driver-qemu)
	command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
	command -v qemu-img >/dev/null || need+=(qemu-utils)
	command -v virsh >/dev/null || need+=(libvirt-clients)
	command -v unshare >/dev/null || need+=(util-linux)
	command -v ip >/dev/null || need+=(iproute2)
	# libvirt's network driver sets firewall rules for every virtual
	# network, in the site's own network namespace.
	[ -x /usr/sbin/iptables ] || need+=(iptables)
	if [ ${#need[@]} -gt 0 ]; then
		echo "libvirt-site: installing ${need[*]}" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -q --no-install-recommends "${need[@]}" >&2 ||
			{ apt-get update -q >&2 && apt-get install -y -q --no-install-recommends "${need[@]}" >&2; } ||
			die "apt-get could not install ${need[*]}"
	fi
	# What the package may not create when no init system ran its scripts.
	getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
	getent passwd libvirt-qemu >/dev/null || useradd -r -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
	getent group libvirt >/dev/null || groupadd -r libvirt
	mkdir -p /var/log/libvirt /run/libvirt /var/lib/libvirt /etc/libvirt
}

start() {
	local dir=$1 name=$2
	local d; d=$(mkdir -p "$dir/$name" && cd "$dir/$name" && pwd)
	if [ -f "$d/libvirtd.pid" ] && kill -0 "$(cat "$d/libvirtd.pid")" 2>/dev/null; then
		echo "libvirt-site: $name already runs (pid $(cat "$d/libvirtd.pid"))" >&2
		return 0
	fi
	install
	mkdir -p "$d/run" "$d/lib" "$d/log" "$d/etc" "$d/sock" "$d/pool" "$d/cache"
	[ -f "$d/etc/.copied" ] || { cp -a /etc/libvirt/. "$d/etc/" && touch "$d/etc/.copied"; }
	cat >"$d/etc/libvirtd.conf" <<CONF
unix_sock_dir = "$d/sock"
unix_sock_group = "root"
unix_sock_rw_perms = "0770"
auth_unix_rw = "none"
auth_unix_ro = "none"
listen_tls = 0
listen_tcp = 0
log_outputs = "2:file:$d/libvirtd.log"
max_clients = 100
max_workers = 20
CONF
	cat >"$d/etc/qemu.conf" <<CONF
user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
stdio_handler = "file"
CONF
	cat >"$d/etc/virtlogd.conf" <<CONF
log_outputs = "3:file:$d/virtlogd.log"
CONF
	local kvm=no
	[ -w /dev/kvm ] && kvm=yes
	echo "$kvm" >"$d/kvm"
	rm -f "$d/libvirtd.pid" "$d/virtlogd.pid"
	# The namespace lives as long as its daemons; setsid detaches them.
	setsid unshare -m -n --propagation private bash -c '
		set -e
		d=$1
		mount --bind "$d/run" /run/libvirt
		mount --bind "$d/lib" /var/lib/libvirt
		mount --bind "$d/log" /var/log/libvirt
		mount --bind "$d/etc" /etc/libvirt
		mount --bind "$d/cache" /var/cache/libvirt 2>/dev/null || true
		ip link set lo up
		/usr/sbin/virtlogd --daemon --pid-file "$d/virtlogd.pid" --config /etc/libvirt/virtlogd.conf
		exec /usr/sbin/libvirtd --daemon --pid-file "$d/libvirtd.pid" --config /etc/libvirt/libvirtd.conf
	' _ "$d" </dev/null >>"$d/start.log" 2>&1
	local uri="qemu+unix:///system?socket=$d/sock/libvirt-sock"
	for _ in $(seq 1 100); do
		if [ -S "$d/sock/libvirt-sock" ] && virsh -q -c "$uri" version >/dev/null 2>&1; then
			break
		fi
		sleep 0.1
	done
	virsh -q -c "$uri" version >/dev/null 2>&1 || die "libvirtd of site $name did not answer on $d/sock/libvirt-sock; see $d/start.log and $d/libvirtd.log: $(tail -5 "$d/start.log" "$d/libvirtd.log" 2>/dev/null)"
	# The site's storage pool.
	if ! virsh -q -c "$uri" pool-info drplan >/dev/null 2>&1; then
		virsh -q -c "$uri" pool-define-as drplan dir --target "$d/pool" >/dev/null
		virsh -q -c "$uri" pool-autostart drplan >/dev/null
	fi
	virsh -q -c "$uri" pool-start drplan >/dev/null 2>&1 || true
	echo "$uri"
}

stop() {
	local dir=$1 name=$2 d=$1/$2 pid
	local uri="qemu+unix:///system?socket=$d/sock/libvirt-sock"
	if [ -S "$d/sock/libvirt-sock" ]; then
		for dom in $(virsh -q -c "$uri" list --name 2>/dev/null); do
			virsh -q -c "$uri" destroy "$dom" >/dev/null 2>&1 || true
		done
	fi
	for f in libvirtd virtlogd; do
		[ -f "$d/$f.pid" ] || continue
		pid=$(cat "$d/$f.pid")
		kill "$pid" 2>/dev/null || continue
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
		rm -f "$d/$f.pid"
	done
}

case ${1:-} in
install) install ;;
start) [ $# -eq 3 ] || die "usage: $0 start DIR NAME"; start "$2" "$3" ;;
stop) [ $# -eq 3 ] || die "usage: $0 stop DIR NAME"; stop "$2" "$3" ;;
*) die "usage: $0 install | start DIR NAME | stop DIR NAME" ;;
esac
