#!/usr/bin/env bash
# The lvs.cluster lab: a whole LVS cluster on one machine with a real IPVS kernel.
#
#   lab/lab.sh up [REAL_SERVERS]   build/reuse images, boot, wait for ssh on every host
#   lab/lab.sh down                stop everything, leave no process, interface or mount
#   lab/lab.sh status              guests, hosts, ssh health, memory
#   lab/lab.sh ssh HOST [CMD...]   log in to a lab host as root
#   lab/lab.sh check-clean         exit 1 if anything of a lab is left on this machine
#   lab/lab.sh hosts               print "name address guest" for the current topology
#
# Design (docs/lab.md): user-mode-linux guests (one per core) run as host processes, root on
# hostfs over a read-only overlay of the shared Debian rootfs plus a small cached lab layer.
# Inside each guest every lab host is a `systemd-nspawn --boot --volatile=overlay` container
# with its own network namespace on the guest bridge br0, whose uplink is a tap on the host
# bridge br-lvslab (198.51.100.1/25). Nothing is routed or NATed out of the lab.
#
# Settings (environment): REAL_SERVERS (2), LAB_GUESTS (number of cores, max 4),
# LAB_BOOT_TIMEOUT (300 s), LAB_DIR (<repo>/.lab), CACHE_DIR (<repo>/.cache).
set -euo pipefail
export LANG=C LC_ALL=C

TOP="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LAB_DIR="${LAB_DIR:-$TOP/.lab}"
CACHE_DIR="${CACHE_DIR:-$TOP/.cache}"
BRIDGE=br-lvslab
BRIDGE_ADDR=198.51.100.1/25
BRIDGE_MAC=02:1b:00:00:00:01
LAB_NET=198.51.100.0/25
TAP_PREFIX=lvslab-
CHAIN=LVSLAB-FWD
OWNER_PREFIX="lvslab lab_dir="
OWNER_TAG="$OWNER_PREFIX$LAB_DIR"
UMID_PREFIX=lvslab-
UML=/usr/bin/linux.uml
UML_VERSION_DIR=/usr/lib/uml/modules
# Inside UML guests, glibc's AVX-512 (EVEX) string functions misbehave on this kind of host
# (vfprintf prints "%s" literally, python3 raises SystemError): use the AVX2 variants.
GUEST_GLIBC_TUNABLES="glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD"
LAB_BOOT_TIMEOUT="${LAB_BOOT_TIMEOUT:-300}"
MAX_REAL_SERVERS=20          # rs1..rs20 = .21 .. .40 (address plan)
SSH_KEY="$LAB_DIR/ssh/id_lab"

log() { echo "lab: $*" >&2; }
die() { echo "lab: ERROR: $*" >&2; exit 1; }

ssh_opts() {
  echo -i "$SSH_KEY" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no \
       -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=3
}

# --- topology -----------------------------------------------------------------------------
# One place decides names and addresses; inventories/lab/hosts.yml commits the default and
# inventories/lab/hosts_extra.py adds rs3.. from $LAB_DIR/state.env.
topology() {  # prints "name address" lines
  local n="$1" i
  echo "director1 198.51.100.11"
  echo "director2 198.51.100.12"
  for ((i = 1; i <= n; i++)); do echo "rs$i 198.51.100.$((20 + i))"; done
  echo "staff1 198.51.100.51"
  echo "staff2 198.51.100.52"
  echo "client 198.51.100.61"
}

# "name address guest-index" lines; hosts spread round-robin so that director1/director2,
# rs1/rs2 and staff1/staff2 sit on different guests (different CPUs).
placement() {
  local n="$1" guests="$2" i=0 name addr
  while read -r name addr; do
    echo "$name $addr $((i % guests))"
    i=$((i + 1))
  done < <(topology "$n")
}

state_get() {  # state_get KEY -> value from state.env, empty if none
  [ -f "$LAB_DIR/state.env" ] || return 0
  sed -n "s/^$1=//p" "$LAB_DIR/state.env"
}

# --- preflight ------------------------------------------------------------------------------
preflight() {
  local n="$1" guests="$2" mem_mb="$3"
  [ "$(id -u)" = 0 ] || die "must run as root (taps, bridge, mounts, iptables): try sudo make lab-up"
  [ -x "$UML" ] || die "$UML not found: install Debian's user-mode-linux (make deps, or apt-get install user-mode-linux)"
  [ -c /dev/net/tun ] || die "/dev/net/tun is missing: the tun driver is needed for the guests' taps"
  [ -d "$UML_VERSION_DIR" ] || die "$UML_VERSION_DIR missing: reinstall user-mode-linux"
  command -v iptables >/dev/null || die "iptables missing (make deps)"
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le "$MAX_REAL_SERVERS" ] \
    || die "REAL_SERVERS=$n: must be a number from 1 to $MAX_REAL_SERVERS (rs1..rs$MAX_REAL_SERVERS = 198.51.100.21-40)"
  [[ "$guests" =~ ^[1-4]$ ]] || die "LAB_GUESTS=$guests: must be 1 to 4"
  # Names and the subnet must be free (ours are cleaned up by 'down' before we get here).
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    local owner
    if owner="$(foreign_owner)"; then
      die "interface $BRIDGE belongs to the lab of another checkout ($owner); there is one lab per machine (one subnet, $LAB_NET): take that one down first: LAB_DIR=$owner $TOP/lab/lab.sh down"
    fi
    die "interface $BRIDGE already exists and is not from a running lab: remove it or run 'make lab-down' if it is a leftover of ours"
  fi
  local i
  for ((i = 0; i < guests; i++)); do
    ! ip link show "$TAP_PREFIX$i" >/dev/null 2>&1 \
      || die "interface $TAP_PREFIX$i already exists: remove it or run 'make lab-down'"
  done
  local clash
  clash="$(python3 - "$LAB_NET" <<'PY'
import ipaddress, subprocess, sys
lab = ipaddress.ip_network(sys.argv[1])
out = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True).stdout
for line in out.splitlines():
    f = line.split()
    if ipaddress.ip_interface(f[3]).network.overlaps(lab):
        print(f"address {f[3]} on {f[1]}")
out = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True).stdout
for line in out.splitlines():
    dst = line.split()[0]
    if dst in ("default", "broadcast", "local", "unreachable", "multicast", "blackhole", "prohibit"):
        dst = line.split()[1] if dst != "default" else "0.0.0.0/0"
    try:
        net = ipaddress.ip_network(dst, strict=False)
    except ValueError:
        continue
    if net.prefixlen > 0 and net.overlaps(lab):
        print(f"route '{line.strip()}'")
PY
)"
  [ -z "$clash" ] || die "subnet $LAB_NET is already in use on this machine: $clash"
  local avail_mb shm_mb need_mb
  avail_mb=$(awk '/^MemAvailable:/ {print int($2/1024)}' /proc/meminfo)
  need_mb=$((guests * mem_mb / 2))   # guest RAM is touched lazily; about half is used
  [ "$avail_mb" -ge "$need_mb" ] \
    || die "not enough memory: $avail_mb MiB available, the lab needs about $need_mb MiB ($guests guests x ${mem_mb} MiB, half used); try fewer REAL_SERVERS"
  shm_mb=$(df -Pm "$(uml_tmpdir)" | awk 'NR==2 {print $4}')
  [ "$shm_mb" -ge "$need_mb" ] \
    || die "not enough space in $(uml_tmpdir) for guest RAM: $shm_mb MiB free, need about $need_mb MiB"
  local disk_mb
  mkdir -p "$LAB_DIR"
  disk_mb=$(df -Pm "$LAB_DIR" | awk 'NR==2 {print $4}')
  [ "$disk_mb" -ge 1024 ] || die "not enough disk for $LAB_DIR: $disk_mb MiB free, need 1024 MiB"
}

uml_tmpdir() { if [ -d /dev/shm ] && [ -w /dev/shm ]; then echo /dev/shm; else echo /tmp; fi; }

# --- images ---------------------------------------------------------------------------------
# The lab layer: what the lab adds to the shared rootfs (guest init, iptables-legacy as the
# default, volatile journal, sshd settings, mount points). Cached by content hash; built in
# a throw-away overlay so the shared rootfs is never written.
build_layer() {
  local rootfs="$1" hash layer tmp
  hash="$( { cat "$TOP/lab/lab.sh" "$TOP/lab/guest-init.sh"; echo "$rootfs"; } | sha256sum | cut -c1-12)"
  layer="$CACHE_DIR/lab/layer-$hash"
  if [ -f "$layer.complete" ]; then echo "$layer"; return; fi
  mkdir -p "$CACHE_DIR/lab"
  exec 8>"$CACHE_DIR/lab/layer.lock"; flock 8
  if [ -f "$layer.complete" ]; then echo "$layer"; return; fi
  log "building the lab image layer (first time only)"
  tmp="$layer.tmp"
  umount "$tmp/merged" 2>/dev/null || true
  rm -rf "$tmp" "$layer"
  mkdir -p "$tmp/upper" "$tmp/work" "$tmp/merged"
  mount -t overlay overlay -o "lowerdir=$rootfs,upperdir=$tmp/upper,workdir=$tmp/work" "$tmp/merged"
  (
    set -e
    m="$tmp/merged"
    trap 'umount "$m"' EXIT
    # UML has no nf_tables for ip/inet: iptables-legacy must be what `iptables` runs.
    for t in iptables ip6tables; do
      chroot "$m" update-alternatives --quiet --set "$t" "/usr/sbin/$t-legacy"
    done
    install -m 0755 "$TOP/lab/guest-init.sh" "$m/usr/local/sbin/lvslab-init"
    mkdir -p "$m/lib/modules" "$m/lab" "$m/etc/lvslab"
    # Empty /etc/hostname: systemd keeps the name nspawn gives each host.
    : > "$m/etc/hostname"
    mkdir -p "$m/etc/systemd/journald.conf.d" "$m/etc/ssh/sshd_config.d"
    printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=16M\n' > "$m/etc/systemd/journald.conf.d/lvslab.conf"
    cat > "$m/etc/ssh/sshd_config.d/lvslab.conf" <<'EOF'
# lvs.cluster lab: root logs in with the lab key only; host key bound in per host.
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
UseDNS no
MaxStartups 50:30:100
MaxSessions 50
EOF
    # Per-host files bound in by nspawn at /etc/lvslab: hosts and the lab's public key.
    cat > "$m/etc/systemd/system/lvslab-setup.service" <<'EOF'
[Unit]
Description=lvs.cluster lab: install /etc/hosts and root's authorized_keys
DefaultDependencies=no
After=local-fs.target
Before=ssh.service network-pre.target
ConditionPathExists=/etc/lvslab/hosts

[Service]
Type=oneshot
ExecStart=/bin/cp /etc/lvslab/hosts /etc/hosts
ExecStart=/bin/mkdir -p -m 0700 /root/.ssh
ExecStart=/bin/cp /etc/lvslab/authorized_keys /root/.ssh/authorized_keys

[Install]
WantedBy=sysinit.target
EOF
    ln -sf /etc/systemd/system/lvslab-setup.service "$m/etc/systemd/system/sysinit.target.wants/lvslab-setup.service"
    # Every process of a lab host gets the glibc tunables (see GUEST_GLIBC_TUNABLES): systemd
    # services through DefaultEnvironment, ssh sessions (Ansible) through pam_env.
    mkdir -p "$m/etc/systemd/system.conf.d"
    printf '[Manager]\nDefaultEnvironment="GLIBC_TUNABLES=%s"\n' "$GUEST_GLIBC_TUNABLES" \
      > "$m/etc/systemd/system.conf.d/lvslab.conf"
    echo "GLIBC_TUNABLES=$GUEST_GLIBC_TUNABLES" >> "$m/etc/environment"
    # Nothing to do in a container and slow on UML.
    for u in systemd-logind.service man-db.timer fstrim.timer; do
      ln -sf /dev/null "$m/etc/systemd/system/$u"
    done
  )
  umount "$tmp/merged" 2>/dev/null || true
  mv "$tmp/upper" "$layer"
  rm -rf "$tmp"
  touch "$layer.complete"
  echo "$layer"
}

# Debian 12's UML dies on hosts with AVX-512/AMX xsave areas; lab/uml-xstate-shim.c fixes
# it from outside (LD_PRELOAD). Built once into the cache.
build_shim() {
  local src="$TOP/lab/uml-xstate-shim.c" hash so
  hash="$(sha256sum "$src" | cut -c1-12)"
  so="$CACHE_DIR/lab/uml-xstate-shim-$hash.so"
  if [ ! -f "$so" ]; then
    command -v gcc >/dev/null \
      || die "gcc is needed to build lab/uml-xstate-shim.c (make deps, or apt-get install gcc libc6-dev)"
    mkdir -p "$CACHE_DIR/lab"
    gcc -O2 -Wall -shared -fPIC -o "$so.tmp" "$src" -ldl || die "building $src failed"
    mv "$so.tmp" "$so"
  fi
  echo "$so"
}

# --- host network -----------------------------------------------------------------------
net_up() {
  local guests="$1" i
  touch "$LAB_DIR/net.owned"   # from here on, lab-down removes what we create
  ip link add "$BRIDGE" type bridge
  ip link set "$BRIDGE" address "$BRIDGE_MAC"
  # The owner is written on the bridge: a second checkout's lab-up or check-clean can then
  # name the lab that holds the (single, per machine) lab network.
  ip link set "$BRIDGE" alias "$OWNER_TAG"
  ip link set "$BRIDGE" type bridge stp_state 0 forward_delay 0 2>/dev/null || true
  sysctl -q -w "net.ipv6.conf.$BRIDGE.disable_ipv6=1" || true
  ip addr add "$BRIDGE_ADDR" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  for ((i = 0; i < guests; i++)); do
    ip tuntap add "$TAP_PREFIX$i" mode tap
    ip link set "$TAP_PREFIX$i" alias "$OWNER_TAG"
    sysctl -q -w "net.ipv6.conf.$TAP_PREFIX$i.disable_ipv6=1" || true
    ip link set "$TAP_PREFIX$i" master "$BRIDGE" up
  done
  # The host bridges lab traffic between taps through netfilter (bridge-nf-call-iptables):
  # accept br-lvslab -> br-lvslab, drop anything entering or leaving the lab by routing.
  local ipt
  for ipt in iptables ip6tables; do
    "$ipt" -w -N "$CHAIN"
    "$ipt" -w -A "$CHAIN" -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
    "$ipt" -w -A "$CHAIN" -j DROP
    "$ipt" -w -I FORWARD 1 -i "$BRIDGE" -j "$CHAIN"
    "$ipt" -w -I FORWARD 1 -o "$BRIDGE" -j "$CHAIN"
  done
}

# The lab directory written on an existing br-lvslab by net_up; empty if none or not ours.
net_owner() {
  local a
  a="$(ip -o link show "$BRIDGE" 2>/dev/null | sed -n 's/.*[\\] *alias //p' || true)"
  case "$a" in "$OWNER_PREFIX"*) echo "${a#"$OWNER_PREFIX"}" ;; esac
}
# The lab directory of another checkout that holds the lab network; fails if none does.
foreign_owner() {
  local o
  o="$(net_owner)"
  [ -n "$o" ] && [ "$o" != "$LAB_DIR" ] && echo "$o"
}

net_down() {
  local ipt l
  # Only what this lab created: a foreign br-lvslab is reported by preflight, never deleted.
  [ -f "$LAB_DIR/net.owned" ] || return 0
  for ipt in iptables ip6tables; do
    while "$ipt" -w -D FORWARD -i "$BRIDGE" -j "$CHAIN" 2>/dev/null; do :; done
    while "$ipt" -w -D FORWARD -o "$BRIDGE" -j "$CHAIN" 2>/dev/null; do :; done
    "$ipt" -w -F "$CHAIN" 2>/dev/null || true
    "$ipt" -w -X "$CHAIN" 2>/dev/null || true
  done
  for l in $(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep "^$TAP_PREFIX" || true); do
    ip link del "$l" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  rm -f "$LAB_DIR/net.owned"
}

# --- guests -------------------------------------------------------------------------------
guest_pids() {  # live UML main processes of this lab, from the pid files
  local f pid
  for f in "$LAB_DIR"/guests/*.pid; do
    [ -f "$f" ] || continue
    pid="$(cat "$f")"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
       && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "umid=$UMID_PREFIX"; then
      echo "$pid"
    fi
  done
}

# Every host process of a UML guest: the main process and its children (UML runs one host
# process per guest address space). Found by walking the process tree from our pid files.
guest_tree_pids() {
  local pid
  for pid in $(guest_pids); do
    echo "$pid"
    descendants "$pid"
  done
}
descendants() {
  local c
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    echo "$c"
    descendants "$c"
  done
}

start_guests() {
  local n="$1" guests="$2" mem_mb="$3" image="$4" g
  for ((g = 0; g < guests; g++)); do
    local umid="$UMID_PREFIX$g" mac
    mac="$(printf '02:1b:00:00:01:%02x' "$g")"
    # setsid: the guest and its helper processes live in their own session and process group
    # (pgid = the pid we record), independent of this shell.
    TMPDIR="$(uml_tmpdir)" LD_PRELOAD="$SHIM" setsid "$UML" \
      "umid=$umid" "uml_dir=$LAB_DIR/uml" "mem=${mem_mb}M" \
      root=/dev/root rootfstype=hostfs "rootflags=$image" ro \
      init=/usr/local/sbin/lvslab-init "lvslab_guest=g$g" "lvslab_dir=$LAB_DIR" \
      con0=null,fd:1 con=null ssl=null "eth0=tuntap,$TAP_PREFIX$g,$mac" quiet \
      "GLIBC_TUNABLES=$GUEST_GLIBC_TUNABLES" \
      < /dev/null > "$LAB_DIR/logs/guest-g$g.console" 2>&1 8>&- 9>&- &
    echo "$!" > "$LAB_DIR/guests/g$g.pid"
  done
}

write_guest_conf() {
  local n="$1" guests="$2" g name addr gi mac last
  rm -f "$LAB_DIR"/guests/*.conf "$LAB_DIR"/guests/*.booted
  for ((g = 0; g < guests; g++)); do
    {
      echo "GUEST_ADDR 198.51.100.$((2 + g))/25"
      printf 'BR_MAC 02:1b:00:00:02:%02x\n' "$g"
    } > "$LAB_DIR/guests/g$g.conf"
  done
  while read -r name addr gi; do
    last="${addr##*.}"
    mac="$(printf '02:1b:00:00:00:%02x' "$last")"
    echo "host $name $addr/25 $mac" >> "$LAB_DIR/guests/g$gi.conf"
  done < <(placement "$n" "$guests")
}

prepare_state() {
  local n="$1" guests="$2" name addr gi
  mkdir -p "$LAB_DIR"/{ssh,guests,logs,etc,hosts,uml,cp}
  chmod 0700 "$LAB_DIR/ssh"
  [ -f "$SSH_KEY" ] || ssh-keygen -q -t ed25519 -N '' -C "lvs.cluster lab" -f "$SSH_KEY"
  cp "$SSH_KEY.pub" "$LAB_DIR/etc/authorized_keys"
  {
    echo "127.0.0.1 localhost"
    echo "198.51.100.1 labhost"
    while read -r name addr gi; do echo "$addr $name"; done < <(placement "$n" "$guests")
  } > "$LAB_DIR/etc/hosts"
  # Host keys made once per host on this machine (fast here, slow in UML), kept across
  # lab-down/lab-up so a host keeps its identity.
  while read -r name addr gi; do
    mkdir -p "$LAB_DIR/hosts/$name"
    [ -f "$LAB_DIR/hosts/$name/ssh_host_ed25519_key" ] \
      || ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$LAB_DIR/hosts/$name/ssh_host_ed25519_key"
  done < <(placement "$n" "$guests")
  write_guest_conf "$n" "$guests"
}

# --- health ---------------------------------------------------------------------------------
host_ok() { ssh $(ssh_opts) -n "root@$1" true >/dev/null 2>&1; }

# Prints names of hosts not answering ssh (checked in parallel).
unhealthy_hosts() {
  local n="$1" guests="$2" name addr gi d
  local pids=()
  d="$(mktemp -d)"
  while read -r name addr gi; do
    ( host_ok "$addr" || touch "$d/$name" ) &
    pids+=("$!")
  done < <(placement "$n" "$guests")
  wait "${pids[@]}"   # only these: the guests may be our children too
  ls "$d"
  rm -rf "$d"
}

lab_is_up() {  # running state with every guest alive
  [ -f "$LAB_DIR/state.env" ] || return 1
  local guests
  guests="$(state_get GUESTS)"
  [ "$(guest_pids | wc -l)" = "$guests" ]
}

show_failure() {
  local name="$1" gi="$2"
  echo "---- console of $name (last 40 lines of $LAB_DIR/logs/$name.console) ----" >&2
  tail -n 40 "$LAB_DIR/logs/$name.console" >&2 2>/dev/null || echo "(no console log)" >&2
  echo "---- console of guest g$gi (last 20 lines of $LAB_DIR/logs/guest-g$gi.console) ----" >&2
  tail -n 20 "$LAB_DIR/logs/guest-g$gi.console" >&2 2>/dev/null || true
}

wait_for_hosts() {
  local n="$1" guests="$2" deadline name addr gi pending
  deadline=$((SECONDS + LAB_BOOT_TIMEOUT))
  pending="$(placement "$n" "$guests")"
  while [ -n "$pending" ]; do
    local still="" g
    for ((g = 0; g < guests; g++)); do
      kill -0 "$(cat "$LAB_DIR/guests/g$g.pid")" 2>/dev/null || {
        echo "---- console of guest g$g ----" >&2
        tail -n 40 "$LAB_DIR/logs/guest-g$g.console" >&2 || true
        log "guest g$g died during boot"; return 1; }
    done
    local d
    local pids=()
    d="$(mktemp -d)"
    while read -r name addr gi; do
      ( host_ok "$addr" || touch "$d/$name" ) &
      pids+=("$!")
    done <<< "$pending"
    wait "${pids[@]}"   # never a bare wait: the guests are our children
    while read -r name addr gi; do
      [ -e "$d/$name" ] && still+="$name $addr $gi"$'\n'
    done <<< "$pending"
    rm -rf "$d"
    pending="${still%$'\n'}"
    [ -z "$pending" ] && break
    if [ "$SECONDS" -ge "$deadline" ]; then
      while read -r name addr gi; do
        log "host $name ($addr, guest g$gi) did not answer ssh within ${LAB_BOOT_TIMEOUT}s"
        show_failure "$name" "$gi"
      done <<< "$pending"
      return 1
    fi
    sleep 2
  done
}

# --- commands -------------------------------------------------------------------------------
cmd_up() {
  local n="${1:-${REAL_SERVERS:-2}}" cores guests mem_mb start=$SECONDS
  cores="$(nproc)"
  guests="${LAB_GUESTS:-$(( cores > 4 ? 4 : cores ))}"
  mkdir -p "$LAB_DIR"
  exec 9>"$LAB_DIR/.lock"
  flock -w 600 9 || die "another lab-up/lab-down is running (lock $LAB_DIR/.lock)"
  if lab_is_up; then
    local cur
    cur="$(state_get REAL_SERVERS)"
    if [ "$cur" != "$n" ]; then
      die "the lab is up with REAL_SERVERS=$cur; run 'make lab-down' first to change it to $n"
    fi
    local bad
    bad="$(unhealthy_hosts "$cur" "$(state_get GUESTS)")"
    if [ -z "$bad" ]; then
      log "the lab is already up and healthy (REAL_SERVERS=$cur, $(state_get GUESTS) guests); nothing to do"
      print_summary
      return 0
    fi
    log "the lab is up but not healthy (no ssh: $(echo $bad)); recreating it"
  fi
  # Anything half-there (after a crash, a failed up, a reboot) goes first.
  do_down quiet
  # Guest RAM: kernel and guest init ~200 MiB, ~96 MiB per host (systemd, journald, sshd,
  # keepalived or apache later); per guest.
  local per_guest=$(( ( $(topology "$n" | wc -l) + guests - 1) / guests ))
  mem_mb=$(( 256 + per_guest * 128 ))
  preflight "$n" "$guests" "$mem_mb"
  local rootfs layer
  rootfs="$("$TOP/scripts/build-rootfs.sh")" || die "building the Debian rootfs failed (scripts/build-rootfs.sh)"
  layer="$(build_layer "$rootfs")"
  SHIM="$(build_shim)"
  trap 'rc=$?; if [ $rc != 0 ]; then log "lab-up failed: cleaning up"; do_down quiet; fi' EXIT
  prepare_state "$n" "$guests"
  mkdir -p "$LAB_DIR/image"
  # Guests' root and containers' template: read-only overlay of the lab layer on the rootfs.
  mount -t overlay lvslab-image -o "ro,lowerdir=$layer:$rootfs" "$LAB_DIR/image"
  net_up "$guests"
  printf 'REAL_SERVERS=%s\nGUESTS=%s\nMEM_MB=%s\nSTARTED=%s\n' "$n" "$guests" "$mem_mb" "$(date -u +%FT%TZ)" \
    > "$LAB_DIR/state.env"
  log "booting $guests guests (${mem_mb} MiB each) with $(topology "$n" | wc -l) hosts"
  start_guests "$n" "$guests" "$mem_mb" "$LAB_DIR/image"
  wait_for_hosts "$n" "$guests"
  trap - EXIT
  log "lab up in $((SECONDS - start)) s"
  print_summary
}

print_summary() {
  local n name addr gi
  n="$(state_get REAL_SERVERS)"
  echo "Lab hosts (inventory: inventories/lab):"
  while read -r name addr gi; do printf '  %-10s %-15s guest g%s\n' "$name" "$addr" "$gi"; done \
    < <(placement "$n" "$(state_get GUESTS)")
  if command -v ansible-inventory >/dev/null 2>&1; then
    ansible-inventory -i "$TOP/inventories/lab" --graph 2>/dev/null || true
  fi
  echo "Log in:   make lab-ssh HOST=director1      (or: ssh -i $SSH_KEY root@198.51.100.11)"
  echo "Ansible:  ansible -i inventories/lab all -m ansible.builtin.ping"
}

# Stop everything of a lab; safe to run when nothing is up. Order: ssh masters, guests (by
# pid, whole process group), mounts, interfaces and firewall rules.
do_down() {
  local quiet="${1:-}" pid pids
  # ControlPersist masters opened by Ansible or lab-ssh against lab hosts.
  for s in "$LAB_DIR"/cp/*; do
    [ -S "$s" ] && ssh -o ControlPath="$s" -O exit dummy >/dev/null 2>&1 || true
  done
  pids="$(guest_tree_pids | sort -u)"
  if [ -n "$pids" ]; then
    for pid in $(guest_pids); do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
    local t=0
    while [ $t -lt 50 ]; do
      local alive=""
      for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive+=" $pid"; done
      [ -z "$alive" ] && break
      sleep 0.2; t=$((t + 1))
    done
    for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
  fi
  rm -f "$LAB_DIR"/guests/*.pid
  # UML leaves its umid directories (pid, mconsole socket) behind when killed.
  rm -rf "$LAB_DIR/uml"
  local m
  for m in $(awk -v d="$LAB_DIR" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m"
  done
  net_down
  rm -f "$LAB_DIR/state.env"
  [ -n "$quiet" ] || log "lab is down"
}

cmd_down() {
  mkdir -p "$LAB_DIR"
  exec 9>"$LAB_DIR/.lock"
  flock -w 600 9 || die "another lab-up/lab-down is running (lock $LAB_DIR/.lock)"
  do_down
  cmd_check_clean
}

# Exit 1 (listing them) if any lab process, interface, mount or firewall rule is left.
cmd_check_clean() {
  local left=()
  local p
  for p in $(pgrep -f "umid=$UMID_PREFIX" || true); do
    tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q "uml_dir=$LAB_DIR/uml" && left+=("process $p")
  done
  ip link show "$BRIDGE" >/dev/null 2>&1 && left+=("interface $BRIDGE")
  for p in $(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep "^$TAP_PREFIX" || true); do
    left+=("interface $p")
  done
  for p in $(awk -v d="$LAB_DIR" 'index($2, d) == 1 {print $2}' /proc/mounts); do left+=("mount $p"); done
  iptables -w -S "$CHAIN" >/dev/null 2>&1 && left+=("iptables chain $CHAIN")
  ip6tables -w -S "$CHAIN" >/dev/null 2>&1 && left+=("ip6tables chain $CHAIN")
  if [ "${#left[@]}" -gt 0 ]; then
    printf 'lab: left behind: %s\n' "${left[@]}" >&2
    local owner
    if owner="$(foreign_owner)"; then
      log "the lab network belongs to the lab of another checkout ($owner), not to $LAB_DIR: take it down with LAB_DIR=$owner $TOP/lab/lab.sh down"
    fi
    return 1
  fi
  log "clean: no lab process, interface, mount or firewall rule on this machine"
}

cmd_status() {
  if ! lab_is_up; then
    echo "lab: down"
    [ -f "$LAB_DIR/state.env" ] && echo "lab: (state.env present but guests are not running: run make lab-down)"
    return 3
  fi
  local n guests name addr gi g pid
  n="$(state_get REAL_SERVERS)"; guests="$(state_get GUESTS)"
  echo "lab: up since $(state_get STARTED), REAL_SERVERS=$n, $guests guests x $(state_get MEM_MB) MiB"
  for ((g = 0; g < guests; g++)); do
    pid="$(cat "$LAB_DIR/guests/g$g.pid")"
    echo "  guest g$g: pid $pid, $(descendants "$pid" | wc -l) helper processes"
  done
  local bad
  bad=" $(unhealthy_hosts "$n" "$guests" | tr '\n' ' ')"
  local rc=0
  while read -r name addr gi; do
    if [[ "$bad" == *" $name "* ]]; then
      printf '  %-10s %-15s g%s  NO SSH\n' "$name" "$addr" "$gi"; rc=1
    else
      printf '  %-10s %-15s g%s  ok\n' "$name" "$addr" "$gi"
    fi
  done < <(placement "$n" "$guests")
  return $rc
}

cmd_ssh() {
  local host="${1:?usage: lab.sh ssh HOST [COMMAND...]}" n addr
  shift
  n="$(state_get REAL_SERVERS)"
  addr="$(topology "${n:-2}" | awk -v h="$host" '$1 == h {print $2}')"
  [ -n "$addr" ] || die "no lab host '$host' (hosts: $(topology "${n:-2}" | awk '{print $1}' | tr '\n' ' '))"
  exec ssh $(ssh_opts) -o ControlMaster=auto -o ControlPersist=300 -o "ControlPath=$LAB_DIR/cp/%C" "root@$addr" "$@"
}

cmd_hosts() {
  local n g
  n="$(state_get REAL_SERVERS)"; g="$(state_get GUESTS)"
  placement "${n:-${REAL_SERVERS:-2}}" "${g:-2}"
}

# Sourced (tests/unit/test_lab_network.py): functions only, no command.
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  ssh) shift; cmd_ssh "$@" ;;
  check-clean) cmd_check_clean ;;
  hosts) cmd_hosts ;;
  *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
