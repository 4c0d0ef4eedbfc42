#!/usr/bin/env bash
# Build (or reuse) the Debian root filesystem that both test beds start from:
# the podman molecule image (scripts/build-image.sh) and the UML lab hosts (lab/).
#
# The tree is cached under $CACHE_DIR/rootfs/<suite>-<hash>/ where <hash> covers
# everything that decides its content (this script, the suite, the package list).
# A second call with the same inputs prints the path and does nothing else.
#
# Usage: scripts/build-rootfs.sh [SUITE]     prints the rootfs path on stdout
set -euo pipefail

SUITE="${1:-${ROOTFS_SUITE:-bookworm}}"
TOP="$(cd "$(dirname "$0")/.." && pwd)"
CACHE_DIR="${CACHE_DIR:-$TOP/.cache}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

# Everything the roles install is baked in: tests never need a network.
PACKAGES=(
  python3 python3-apt systemd systemd-sysv systemd-container dbus iproute2 procps kmod
  openssh-server sudo curl ca-certificates ssl-cert less
  keepalived ipvsadm apache2 iptables nftables tcpdump
)

die() { echo "build-rootfs: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap needs it)"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"

hash="$( { cat "$0"; echo "$SUITE ${PACKAGES[*]}"; } | sha256sum | cut -c1-12)"
dest="$CACHE_DIR/rootfs/$SUITE-$hash"
if [ -f "$dest/.complete" ]; then
  echo "$dest"
  exit 0
fi

mkdir -p "$CACHE_DIR/rootfs"
tmp="$dest.tmp"
rm -rf "$tmp"
# Serialise concurrent builders of the same tree.
exec 9>"$dest.lock"
flock 9
if [ -f "$dest/.complete" ]; then echo "$dest"; exit 0; fi

echo "build-rootfs: debootstrap $SUITE into $dest (first time only, a few minutes)" >&2
include="$(IFS=,; echo "${PACKAGES[*]}")"
debootstrap --variant=minbase --include="$include" "$SUITE" "$tmp" "$MIRROR" >&2 \
  || die "debootstrap failed (see messages above); is $MIRROR reachable?"

# Make the tree a neutral template: no machine id, no host keys (each host
# generates its own at first boot), no apt lists, no policy-rc.d leftovers.
: > "$tmp/etc/machine-id"
rm -f "$tmp"/etc/ssh/ssh_host_* "$tmp/var/lib/dbus/machine-id"
rm -rf "$tmp"/var/lib/apt/lists/* "$tmp"/var/cache/apt/*.bin "$tmp"/var/cache/apt/archives/*.deb
# Nothing starts by itself at boot that the roles are supposed to decide about.
for unit in keepalived.service apache2.service; do
  rm -f "$tmp/etc/systemd/system/multi-user.target.wants/$unit"
done
# Services that make no sense in a container.
for unit in systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
            getty@tty1.service console-getty.service systemd-timesyncd.service apt-daily.timer \
            apt-daily-upgrade.timer e2scrub_reap.service; do
  ln -sf /dev/null "$tmp/etc/systemd/system/$unit"
done
# ssh host keys are generated on first boot, per host.
cat > "$tmp/etc/systemd/system/ssh-keygen-once.service" <<'UNIT'
[Unit]
Description=Generate ssh host keys on first boot
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/ssh-keygen-once.service "$tmp/etc/systemd/system/multi-user.target.wants/ssh-keygen-once.service"
touch "$tmp/.complete"
mv "$tmp" "$dest"
echo "$dest"
