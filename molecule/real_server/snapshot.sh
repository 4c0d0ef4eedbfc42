#!/bin/sh
# Print everything the real_server role may change on a host, in a stable form, so two
# snapshots can be compared (molecule/real_server: check mode, absent, bad input).
export LC_ALL=C
echo "## addresses on lo and tunl0"
for dev in lo tunl0; do
  ip -o address show dev "$dev" 2>/dev/null | awk '{print $2, $3, $4}'
done
echo "## tunl0"
ip -o link show dev tunl0 2>/dev/null | sed -e 's/^[0-9]*: //' -e 's/ qlen.*//' -e 's/link\/ipip.*//'
echo "## sysctls"
sysctl -a 2>/dev/null | grep -E '^net\.ipv4\.conf\.[^.]+\.(arp_ignore|arp_announce|rp_filter) ' | grep -v '\.tunl0\.'
echo "## files"
for d in /etc/sysctl.d /etc/systemd/system /etc/lvs-real-server /usr/local/sbin /etc/modules-load.d \
         /var/lib/lvs-real-server /run/lvs-real-server; do
  find "$d" 2>/dev/null | sort
done
echo "## unit"
systemctl is-enabled lvs-real-server.service 2>&1 || true
systemctl is-active lvs-real-server.service 2>&1 || true
