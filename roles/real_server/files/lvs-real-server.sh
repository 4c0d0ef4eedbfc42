#!/bin/sh
# lvs-real-server: bind the LVS VIPs of this real server, as listed in a config file.
# Installed by the lvs.cluster.real_server role; run by lvs-real-server.service.
#
#   lvs-real-server up       bind every VIP of the config (ip address replace: idempotent)
#   lvs-real-server down     unbind what this tool bound (recorded in the state file)
#   lvs-real-server reload   unbind what left the config, then bind the config: no gap for
#                            the VIPs that stay
#   lvs-real-server status   exit 0 when every VIP of the config is bound, 3 otherwise
#   lvs-real-server check F  validate config file F (exit 0 good, 1 bad)
#
# Config lines: "<device> <address>/<prefix> [comment...]", device lo or tunl0, prefix
# /32 for IPv4 and /128 for IPv6; "#" starts a comment.
set -eu
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C
CONF="${LVS_REAL_SERVER_CONF:-/etc/lvs-real-server/vips.conf}"
STATE_DIR="${LVS_REAL_SERVER_STATE_DIR:-/run/lvs-real-server}"
STATE="$STATE_DIR/bound"

say() { echo "lvs-real-server: $*" >&2; }

# Print "device address" for every entry of file $1.
entries() {
  sed -e 's/#.*//' "$1" | awk 'NF { print $1, $2 }'
}

check() {
  [ -r "$1" ] || { say "$1: cannot read"; return 1; }
  sed -e 's/#.*//' "$1" | awk '
    NF == 0 { next }
    {
      ok = 1
      if ($1 != "lo" && $1 != "tunl0") { why = "device " $1 " is not lo or tunl0"; ok = 0 }
      else if ($2 ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+\/32$/) {
        split($2, a, /[.\/]/)
        for (i = 1; i <= 4; i++) if (a[i] > 255) { why = "address " $2 " is not IPv4"; ok = 0 }
      }
      else if ($2 ~ /^[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*\/128$/) {
        if ($1 == "tunl0") { why = "tunl0 carries IPv4 only: " $2; ok = 0 }
      }
      else { why = "address " $2 " is not an IPv4 /32 or an IPv6 /128"; ok = 0 }
      if (!ok) { printf "line %d: %s\n", NR, why; bad = 1 }
    }
    END { exit bad }' >&2 || { say "$1: invalid"; return 1; }
}

bound() {
  # $1 device, $2 address/prefix: is the address on the device?
  [ -n "$(ip -o address show dev "$1" to "$2" 2>/dev/null)" ]
}

bind_all() {
  check "$CONF"
  mkdir -p "$STATE_DIR"
  touch "$STATE"
  entries "$CONF" | while read -r dev addr; do
    if [ "$dev" = tunl0 ]; then
      ip link show tunl0 >/dev/null 2>&1 || modprobe ipip 2>/dev/null || true
      ip link set dev tunl0 up
    fi
    case "$addr" in
      *:*) ip -6 address replace "$addr" dev "$dev" nodad ;;
      *)   ip -4 address replace "$addr" dev "$dev" ;;
    esac
    grep -qxF "$dev $addr" "$STATE" || echo "$dev $addr" >> "$STATE"
  done
}

unbind() {
  # unbind the entries of the state file for which $1 returns false (default: all)
  keep="${1:-}"
  [ -f "$STATE" ] || return 0
  tmp="$STATE.new"
  : > "$tmp"
  while read -r dev addr; do
    [ -n "$dev" ] || continue
    if [ -n "$keep" ] && entries "$CONF" | grep -qxF "$dev $addr"; then
      echo "$dev $addr" >> "$tmp"
      continue
    fi
    if bound "$dev" "$addr"; then
      ip address del "$addr" dev "$dev"
    fi
  done < "$STATE"
  mv "$tmp" "$STATE"
  if ip link show tunl0 >/dev/null 2>&1 && ! grep -q '^tunl0 ' "$STATE" \
     && [ -z "$(ip -o address show dev tunl0 2>/dev/null)" ]; then
    ip link set dev tunl0 down
  fi
  if [ ! -s "$STATE" ]; then
    rm -f "$STATE"
    rmdir "$STATE_DIR" 2>/dev/null || true
  fi
}

status() {
  check "$CONF"
  missing=0
  while read -r dev addr; do
    [ -n "$dev" ] || continue
    bound "$dev" "$addr" || { echo "missing: $addr on $dev"; missing=1; }
  done <<EOF
$(entries "$CONF")
EOF
  [ "$missing" = 0 ] || return 3
}

case "${1:-}" in
  up)     bind_all ;;
  down)   unbind ;;
  reload) check "$CONF"; unbind keep; bind_all ;;
  status) status ;;
  check)  [ $# -eq 2 ] || { say "usage: $0 check FILE"; exit 2; }; check "$2" ;;
  *)      say "usage: $0 up|down|reload|status|check FILE"; exit 2 ;;
esac
