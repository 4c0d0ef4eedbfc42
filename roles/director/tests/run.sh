#!/usr/bin/env bash
# Offline tests of the director role's rendering and preflight (no lab needed):
#  - keepalived.conf rendered from a model using every check type, fwmark, NAT, sorry
#    server, scheduler flags..., for both directors and both backends, then checked with
#    the real keepalived 2.2.7 (`keepalived -t`) of the shared Debian rootfs (chroot in a
#    private mount namespace: nothing is mounted outside this process);
#  - preflight refusals: each bad value fails the play with a message naming the field.
# Needs root (chroot), the venv and the collection link (make venv collection).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
TOP="$(cd "$HERE/../../.." && pwd)"
export ANSIBLE_COLLECTIONS_PATH="${ANSIBLE_COLLECTIONS_PATH:-$TOP/build/collections}"
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
ROOTFS="$("$TOP/scripts/build-rootfs.sh")"
WORK="$(mktemp -d /tmp/director-render.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
export RENDER_DIR="$WORK/out"
mkdir -p "$RENDER_DIR"
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }

play() { ansible-playbook -i "$HERE/inventory.yml" "$HERE/render.yml" "$@"; }

keepalived_t() {  # keepalived_t FILE -> keepalived -t in the rootfs; prints its messages
  unshare -m bash -c '
    set -e
    mnt="$1/root"; mkdir -p "$mnt"
    mount --bind "$2" "$mnt"; mount -o remount,ro,bind "$mnt"
    mount -t tmpfs tmpfs "$mnt/tmp"; cp "$3" "$mnt/tmp/keepalived.conf"
    chroot "$mnt" /usr/sbin/keepalived -t -f /tmp/keepalived.conf' _ "$WORK" "$ROOTFS" "$1"
}

# 1. keepalived backend: both directors render, keepalived accepts them.
play > "$WORK/play.log" 2>&1 || { cat "$WORK/play.log"; bad "render (keepalived backend)"; }
for h in director1 director2; do
  if out="$(keepalived_t "$RENDER_DIR/$h.conf" 2>&1)"; then ok "keepalived -t accepts $h.conf (keepalived backend)"
  else bad "keepalived -t refuses $h.conf: $out"; fi
done
grep -q 'virtual_server fwmark 1' "$RENDER_DIR/director1.conf" && ok "fwmark service rendered" || bad "no fwmark virtual_server"
grep -q 'unicast_peer' "$RENDER_DIR/director1.conf" && grep -A1 unicast_peer "$RENDER_DIR/director1.conf" | grep -q 198.51.100.12 \
  && ok "director1 peers with director2" || bad "unicast peer of director1"
[ "$(grep -c '^ *priority ' "$RENDER_DIR/director1.conf")" = 1 ] && grep -q 'priority 150' "$RENDER_DIR/director1.conf" \
  && grep -q 'priority 100' "$RENDER_DIR/director2.conf" && ok "default priorities 150/100" || bad "priorities"
for kind in HTTP_GET SSL_GET TCP_CHECK MISC_CHECK DNS_CHECK; do
  grep -q "$kind {" "$RENDER_DIR/director1.conf" && ok "$kind rendered" || bad "$kind missing"
done
grep -q 'lvs_sync_daemon eth0 inst LVS_V4' "$RENDER_DIR/director1.conf" && ok "sync daemon tied to the VRRP instance" || bad "lvs_sync_daemon"

# 2. A secret: rendered, never in the output of a --diff run.
play --diff -e director_vrrp_auth_pass=s3cr3tpw > "$WORK/play.log" 2>&1 || bad "render with auth_pass"
grep -q 'auth_pass s3cr3tpw' "$RENDER_DIR/director1.conf" && ok "auth_pass rendered" || bad "auth_pass not rendered"
if grep -q s3cr3tpw "$WORK/play.log"; then bad "the VRRP password appears in the play output"; else ok "password not in --diff output"; fi

# 3. ipvsadm backend: VRRP only.
play -e director_backend=ipvsadm > "$WORK/play.log" 2>&1 || { cat "$WORK/play.log"; bad "render (ipvsadm backend)"; }
if grep -q virtual_server "$RENDER_DIR/director1.conf"; then bad "ipvsadm backend renders virtual_server blocks"
else ok "ipvsadm backend: VRRP only"; fi
out="$(keepalived_t "$RENDER_DIR/director1.conf" 2>&1)" && ok "keepalived -t accepts the VRRP-only file" || bad "VRRP-only file: $out"

# 3b. VRRPv3 with a sub-second advert interval: rendered, accepted by keepalived -t.
play -e director_vrrp_version=3 -e director_vrrp_advert_int=0.3 > "$WORK/play.log" 2>&1 || { cat "$WORK/play.log"; bad "render (VRRPv3, advert_int 0.3)"; }
grep -q 'vrrp_version 3' "$RENDER_DIR/director1.conf" && grep -q 'advert_int 0.3' "$RENDER_DIR/director1.conf" \
  && ok "VRRPv3 with advert_int 0.3 rendered" || bad "VRRPv3 / advert_int 0.3 not rendered"
if out="$(keepalived_t "$RENDER_DIR/director1.conf" 2>&1)" && ! grep -q 'must be an integer' <<<"$out"; then ok "keepalived -t accepts VRRPv3 with advert_int 0.3"
else bad "VRRPv3 file: $out"; fi

# 4. Preflight refusals: the play fails, the message names the field and the value.
refuse() {  # refuse "expected message regex" ansible-playbook-args...
  local want="$1"; shift
  rm -f "$RENDER_DIR"/*.conf
  if play "$@" > "$WORK/play.log" 2>&1; then bad "accepted: $*"; return; fi
  if grep -Eq "$want" "$WORK/play.log"; then ok "refused ($want): $*"; else bad "refused without '$want': $*"; tail -5 "$WORK/play.log"; fi
  ls "$RENDER_DIR"/*.conf >/dev/null 2>&1 && bad "a file was written although the preflight failed: $*"
  return 0
}
refuse 'director_priority must differ' -e director_priority=100
refuse 'director_priority: 300' -e director_priority=300
refuse 'director_vrrp_auth_pass: \(hidden, 9 characters\)' -e director_vrrp_auth_pass=123456789
refuse 'director_vrrp_router_id: 256' -e director_vrrp_router_id=256
refuse 'director_backend' -e director_backend=lvsd
refuse 'director_vrrp_version: 2, director_vrrp_advert_int: 0.5' -e director_vrrp_advert_int=0.5
refuse 'director_vrrp_version: 3, director_vrrp_advert_int: 1' -e director_vrrp_version=3 -e director_vrrp_auth_pass=secret
refuse 'director_vrrp_version must be one of: 2, 3, got: 4' -e director_vrrp_version=4
refuse "argument 'director_vrrp_advert_int' is of type str" -e director_vrrp_advert_int=fast
refuse "lvs_virtual_services\[api\]\.fwmark: 1 is already used" -e '{"lvs_virtual_services": [{"name": "www", "vip": "198.51.100.100", "ports": [80, 443], "fwmark": 1}, {"name": "api", "vip": "198.51.100.101", "ports": [80, 8080], "fwmark": 1}]}'
refuse "real_servers\[0\]: 'ghost' has no address" -e '{"lvs_virtual_services": [{"name": "www", "vip": "198.51.100.100", "ports": [80], "real_servers": ["ghost"]}]}'
refuse 'VIP 198.51.100.11 is the own address' -e '{"lvs_virtual_services": [{"name": "www", "vip": "198.51.100.11", "ports": [80]}]}'

echo "director render tests: $fails failure(s)"
[ "$fails" -eq 0 ]
