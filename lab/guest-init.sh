#!/usr/bin/env bash
# PID 1 of a user-mode-linux lab guest (installed as /usr/local/sbin/lvslab-init in the lab
# image layer; see lab/lab.sh). It is not systemd: it prepares the guest kernel (modules,
# bridge, one network namespace per lab host) and starts every lab host of this guest as a
# `systemd-nspawn --boot` container, then reaps children until the host kills the guest.
#
# The kernel passes these boot parameters to us as environment variables:
#   lvslab_guest=g0          which guest this is
#   lvslab_dir=/abs/.lab     the host's lab state directory (mounted here with hostfs)
#   GLIBC_TUNABLES=...       passed on to every container (see lab.sh)
# Inputs read from $lvslab_dir/guests/<guest>.conf (written by lab.sh):
#   GUEST_ADDR=198.51.100.2/25 BR_MAC=02:... and lines "host NAME ADDR/PREFIX MAC".
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LANG=C

say() { echo "lvslab-init[${lvslab_guest:-?}]: $*"; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
# Kernel modules of the UML kernel live on the host; the image layer has the mount point.
mount -t hostfs -o ro,/usr/lib/uml/modules none /lib/modules
# The lab state directory (logs, per-host files). Read-write: hosts' consoles land here.
mount -t hostfs -o "${lvslab_dir:?}" none /lab

conf="/lab/guests/${lvslab_guest:?}.conf"
[ -r "$conf" ] || { say "missing $conf"; systemctl --force --force poweroff; }

# A machine id of our own (nspawn refuses to run without one).
tr -d - < /proc/sys/kernel/random/uuid > /run/machine-id
mount --bind /run/machine-id /etc/machine-id

# Everything the containers may want from the kernel is loaded here: they cannot load
# modules, but /lib/modules and /sys/module are bound into them so modprobe is a no-op.
for m in ipv6 bridge veth overlay ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc \
         ip_vs_lblcr ip_vs_dh ip_vs_sh ip_vs_sed ip_vs_nq ip_vs_mh ip_vs_fo ip_vs_ovf ip_vs_twos \
         ip_tables iptable_filter iptable_mangle iptable_nat ip6_tables ip6table_filter \
         ip6table_mangle xt_mark xt_multiport xt_MARK xt_conntrack xt_comment xt_addrtype \
         xt_tcpudp xt_mac nf_conntrack tunnel4 ip_tunnel ipip; do
  modprobe -q "$m" 2>/dev/null || say "module $m not available (skipped)"
done
# New network namespaces inherit these defaults: no IPv6 in the lab (the address plan is v4).
sysctl -q -w net.core.devconf_inherit_init_net=1
sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
echo +memory +pids > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true

GUEST_ADDR="" BR_MAC=""
while read -r key a b c; do
  case "$key" in
    GUEST_ADDR) GUEST_ADDR=$a ;;
    BR_MAC) BR_MAC=$a ;;
  esac
done < "$conf"

ip link set lo up
ip link add br0 type bridge
# A fixed MAC: otherwise the bridge takes a port's MAC and the host's ARP entry goes stale.
ip link set br0 address "$BR_MAC"
ip link set eth0 master br0
ip link set eth0 up
ip addr add "$GUEST_ADDR" dev br0
ip link set br0 up

mkdir -p /run/lvslab
n=0
while read -r key name addr mac; do
  [ "$key" = host ] || continue
  n=$((n + 1))
  ip netns add "$name"
  ip link add "v-$name" type veth peer name eth0 netns "$name"
  ip -n "$name" link set eth0 address "$mac"
  ip -n "$name" addr add "$addr" dev eth0
  ip -n "$name" link set lo up
  ip -n "$name" link set eth0 up
  ip link set "v-$name" master br0 up
  hk="/lab/hosts/$name"
  # Each container in a cgroup of its own (nspawn --keep-unit uses the caller's cgroup).
  mkdir -p "/sys/fs/cgroup/lab-$name"
  (
    echo "$BASHPID" > "/sys/fs/cgroup/lab-$name/cgroup.procs"
    exec env SYSTEMD_NSPAWN_API_VFS_WRITABLE=network systemd-nspawn \
      --quiet --boot --register=no --keep-unit \
      --directory=/lab/image --volatile=overlay \
      --setenv="GLIBC_TUNABLES=${GLIBC_TUNABLES:-}" \
      --machine="$name" --hostname="$name" --uuid="$(tr -d - < /proc/sys/kernel/random/uuid)" \
      --network-namespace-path="/run/netns/$name" \
      --capability=CAP_NET_ADMIN,CAP_NET_RAW,CAP_IPC_LOCK,CAP_SYS_MODULE \
      --bind-ro=/lib/modules --bind-ro=/sys/module \
      --bind-ro=/lab/etc:/etc/lvslab \
      --bind-ro="$hk/ssh_host_ed25519_key:/etc/ssh/ssh_host_ed25519_key" \
      --bind-ro="$hk/ssh_host_ed25519_key.pub:/etc/ssh/ssh_host_ed25519_key.pub" \
      --link-journal=no --console=passive
  ) > "/lab/logs/$name.console" 2>&1 < /dev/null &
  echo "$!" > "/run/lvslab/$name.pid"
done < "$conf"
say "started $n hosts"
touch "/lab/guests/${lvslab_guest}.booted"

# Reap children forever. The host stops the guest by killing the UML process.
while :; do
  wait
  sleep 5
done
