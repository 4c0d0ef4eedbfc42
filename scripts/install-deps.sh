#!/usr/bin/env bash
# Install the Debian packages the test beds need (idempotent; apt only runs when
# something is missing). Debian 12 is the tested host.
set -euo pipefail
PKGS=(
  python3-venv python3-pip git make rsync curl jq openssh-client sshpass
  podman runc netavark aardvark-dns catatonit slirp4netns fuse-overlayfs
  debootstrap user-mode-linux iptables iproute2 bridge-utils util-linux gcc libc6-dev
  keepalived nftables ipvsadm
)
[ "$(id -u)" = 0 ] || { echo "install-deps: run as root (apt-get)" >&2; exit 1; }
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
