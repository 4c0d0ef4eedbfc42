#!/usr/bin/env bash
# Create (or keep) the podman network of the molecule scenarios: `lvs-molecule`,
# 198.51.100.128/27, --internal (no route or NAT out of the host), no DNS server
# (containers get 127.0.0.1 as resolver from the molecule base config).
#
# The network is shared by every scenario and made once here, not by the molecule
# driver: the driver cannot make an --internal network, and its destroy step would
# delete a network other scenarios still use.
#
# Usage: scripts/podman/network.sh [create|remove]       (default: create)
set -euo pipefail
TOP="$(cd "$(dirname "$0")/../.." && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$TOP/scripts/podman/containers.conf}"
NAME="${LVS_MOLECULE_NETWORK:-lvs-molecule}"
SUBNET="198.51.100.128/27"
GATEWAY="198.51.100.129"

case "${1:-create}" in
  create)
    if podman network exists "$NAME"; then
      # An existing network must be the one we expect: internal, right subnet.
      got="$(podman network inspect "$NAME" --format '{{.Internal}} {{range .Subnets}}{{.Subnet}}{{end}}')"
      [ "$got" = "true $SUBNET" ] && exit 0
      # Made by something else (e.g. a molecule driver that found it missing): replace it
      # when no container uses it, otherwise stop.
      users="$(podman ps -a --filter "network=$NAME" --format '{{.Names}}' | tr '\n' ' ')"
      if [ -n "$users" ]; then
        echo "network.sh: network $NAME is '$got', expected 'true $SUBNET', and containers" \
             "use it ($users); remove them, then retry" >&2
        exit 1
      fi
      echo "network.sh: replacing network $NAME ('$got') by the internal $SUBNET one" >&2
      podman network rm "$NAME" >/dev/null
    fi
    podman network create --internal --disable-dns \
      --subnet "$SUBNET" --gateway "$GATEWAY" "$NAME" >/dev/null
    echo "network.sh: created $NAME ($SUBNET, internal)" >&2
    ;;
  remove)
    podman network exists "$NAME" && podman network rm "$NAME" >/dev/null
    ;;
  *) echo "usage: $0 [create|remove]" >&2; exit 2 ;;
esac
