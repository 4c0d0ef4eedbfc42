#!/usr/bin/env bash
# Build (or reuse) the podman image of the molecule scenarios,
# localhost/lvs-cluster-molecule:bookworm, from the shared Debian rootfs made by
# scripts/build-rootfs.sh: systemd as PID 1, every package the roles install baked in
# (tests need no network).
#
# The image carries the label lvs.cluster.input-hash, a hash of everything that decides
# its content (this script and the rootfs tree name, which itself hashes the rootfs
# inputs). Same inputs: nothing is done. The rootfs tree is only read (tar), never changed.
#
# Usage: scripts/build-image.sh            prints the image name on stdout
set -euo pipefail
TOP="$(cd "$(dirname "$0")/.." && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$TOP/scripts/podman/containers.conf}"
IMAGE="${LVS_MOLECULE_IMAGE:-localhost/lvs-cluster-molecule:bookworm}"
LABEL="lvs.cluster.input-hash"

die() { echo "build-image: $*" >&2; exit 1; }
command -v podman >/dev/null || die "podman is missing: make deps"

rootfs="$("$TOP/scripts/build-rootfs.sh" bookworm)"
[ -f "$rootfs/.complete" ] || die "rootfs $rootfs is incomplete"
hash="$( { cat "$0"; basename "$rootfs"; } | sha256sum | cut -c1-16)"

current="$(podman image inspect "$IMAGE" --format "{{index .Labels \"$LABEL\"}}" 2>/dev/null || true)"
if [ "$current" = "$hash" ]; then
  echo "$IMAGE"
  exit 0
fi

# Serialise concurrent builders (several engineers, parallel make).
mkdir -p "${CACHE_DIR:-$TOP/.cache}"
exec 9>"${CACHE_DIR:-$TOP/.cache}/build-image.lock"
flock 9
current="$(podman image inspect "$IMAGE" --format "{{index .Labels \"$LABEL\"}}" 2>/dev/null || true)"
if [ "$current" = "$hash" ]; then echo "$IMAGE"; exit 0; fi

echo "build-image: importing $rootfs as $IMAGE (input hash $hash)" >&2
# --numeric-owner: the tree's owners are the container's, not the host's names.
# The apt lists were removed from the rootfs: the image is not for installing packages.
tar -C "$rootfs" --numeric-owner --exclude=./.complete -cf - . \
  | podman import \
      --change 'CMD ["/sbin/init"]' \
      --change 'STOPSIGNAL SIGRTMIN+3' \
      --change 'ENV container=podman' \
      --change "LABEL $LABEL=$hash" \
      --change "LABEL org.opencontainers.image.title=lvs.cluster molecule test bed" \
      --message "lvs.cluster molecule image from $(basename "$rootfs")" \
      - "$IMAGE" >/dev/null
# Drop the image this one replaced (now untagged), if no container uses it.
podman image prune -f --filter "label=$LABEL" >/dev/null 2>&1 || true
echo "$IMAGE"
