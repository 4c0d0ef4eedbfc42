#!/usr/bin/env bash
# Figures of the whole cluster on the running lab (make lab first). Prints a table; the
# numbers go into docs/site.md. Not a test: nothing here passes or fails on a threshold.
#
#   benchmarks/site_bench.sh              everything, RUNS=3 repetitions (medians)
#   RUNS=5 benchmarks/site_bench.sh failover throughput
#   BENCH_FRESH=1 ...  site: first run measured on a freshly recreated lab (lab-down/up)
#
# Parts: site (site.yml first vs second run), failover (VIP move and client gap, stop /
# kill -9 / freeze, via playbooks/failover_drill.yml), failover_fast (the same with VRRPv3
# and a sub-second advert interval), config_change (real servers added by site.yml while two
# clients loop: failed requests, VRRP transitions), scale (site.yml on a fresh lab of 2, 6, 12 real
# servers; not in the default set: it recreates the lab), health (real server out/back vs
# the health-check budget), throughput (requests/s from the client through LVS-DR vs
# through an Apache mod_proxy balancer on a director in front of the same real servers).
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
export PATH="$TOP/.venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$TOP/build/collections"
export ANSIBLE_FORCE_COLOR=false ANSIBLE_STDOUT_CALLBACK=default
INV="${SITE_INVENTORY:-inventories/lab}"
RUNS="${RUNS:-3}"
PARTS=("${@:-site failover failover_fast config_change health throughput}")
read -r -a PARTS <<< "${PARTS[*]}"
OUT="$TOP/build/site-bench"
mkdir -p "$OUT"
KEY="$TOP/.lab/ssh/id_lab"
SSH=(ssh -n -i "$KEY" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5)
# members GROUP: the inventory hosts of GROUP, one a line.
members() { ansible-inventory -i "$INV" --graph "$1" | awk -F'--' '/--[a-z]/{print $2}'; }
addr() { ansible-inventory -i "$INV" --host "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ansible_host"])'; }
on() { local h; h=$(addr "$1"); shift; "${SSH[@]}" "root@$h" "$@"; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) {print "n/a"} else if (NR % 2) {print a[(NR+1)/2]} else {printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}}'; }
say() { printf '%s\n' "$*" | tee -a "$OUT/report.txt"; }
: > "$OUT/report.txt"
say "lvs.cluster site benchmarks, $(date -u +%FT%TZ), RUNS=$RUNS, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

client=$(members lab_clients | sed -n 1p)
vip_static=$(ansible -i "$INV" localhost -m debug -a "msg={{ (lvs_virtual_services | lvs.cluster.lvs_services(hostvars, groups) | selectattr('name','equalto','static') | first).vip }}" 2>/dev/null | awk -F'"' '/msg/{print $4}')

# drills PREFIX LABEL METHOD...: RUNS failover drills per method (2 failovers each), medians.
drills() {
  local prefix="$1" label="$2" method i
  shift 2
  for method in "$@"; do
    : > "$OUT/$prefix-$method.txt"
    for i in $(seq "$RUNS"); do
      ansible-playbook -i "$INV" playbooks/failover_drill.yml -e lvs_drill_method="$method" \
        -e lvs_drill_client="$client" -e lvs_drill_report="$OUT/$prefix-$method-$i.json" -e lvs_drill_settle_seconds=8 \
        > "$OUT/$prefix-$method-$i.log"
      python3 - "$OUT/$prefix-$method-$i.json" >> "$OUT/$prefix-$method.txt" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))['rounds']:
    print(r['vip_move_s'], r['max_gap_s'], r['failed'], r['requests'])
PY
    done
    say "failover $method ($label): VIP move median $(cut -d' ' -f1 "$OUT/$prefix-$method.txt" | median) s," \
        "client gap median $(cut -d' ' -f2 "$OUT/$prefix-$method.txt" | median) s," \
        "failed requests $(awk '{f+=$3; n+=$4} END {print f " of " n}' "$OUT/$prefix-$method.txt") ($(wc -l < "$OUT/$prefix-$method.txt") failovers)"
  done
}

# site_run LOG: one site.yml run; prints its wall-clock seconds.
site_run() {
  local s e
  s=$(date +%s.%N); ansible-playbook -i "$INV" site.yml > "$1"; e=$(date +%s.%N)
  echo "$e $s" | awk '{printf "%.1f\n", $1-$2}'
}
# second_runs PREFIX: RUNS further site.yml runs, each of which must change nothing; their
# times go to PREFIX.txt, their logs to PREFIX-N.log.
second_runs() {
  local i
  : > "$1.txt"
  for i in $(seq "$RUNS"); do
    site_run "$1-$i.log" >> "$1.txt"
    if grep -qE 'changed=[1-9]' "$1-$i.log"; then say "WARNING: $(basename "$1") run $i reported changes"; fi
  done
}
# fresh_lab N: the lab recreated with N real servers and its web content.
fresh_lab() {
  make -s lab-down >/dev/null && make -s lab-up REAL_SERVERS="$1" >/dev/null
  ansible-playbook -i "$INV" molecule/lab/content.yml
}

for part in "${PARTS[@]}"; do
case "$part" in
site)
  if [ "${BENCH_FRESH:-0}" = 1 ]; then
    fresh_lab "${REAL_SERVERS:-2}" > "$OUT/site-prepare.log"
    first="$(site_run "$OUT/site-first.log")"
  else
    first="n/a (BENCH_FRESH=1 to measure)"
  fi
  second_runs "$OUT/site-second"
  say "site.yml first run: ${first} s; second run (changed=0): median $(median < "$OUT/site-second.txt") s of $RUNS"
  ;;
failover)
  drills fo "advert_int 1" stop kill freeze
  ;;
failover_fast)
  # The same drill with VRRPv3 and a sub-second advert interval (director_vrrp_advert_int
  # FAST_ADVERT, default 0.3), applied with site.yml --tags director; restored afterwards.
  fast="${FAST_ADVERT:-0.3}"
  ansible-playbook -i "$INV" site.yml --tags director -e director_vrrp_version=3 -e director_vrrp_advert_int="$fast" > "$OUT/fast-apply.log"
  sleep 5
  drills fof "VRRPv3, advert_int $fast" kill freeze
  ansible-playbook -i "$INV" site.yml --tags director > "$OUT/fast-restore.log"
  ;;
config_change)
  # molecule/lab/config_change.yml RUNS times: every real server but rs1 taken out of the
  # model, then added back by site.yml --tags director while two clients loop (www and
  # static VIPs). Failed requests of how many, VRRP transitions on the directors.
  : > "$OUT/cc.txt"
  for i in $(seq "$RUNS"); do
    ansible-playbook -i "$INV" molecule/lab/config_change.yml > "$OUT/cc-$i.log" 2>&1 || say "WARNING: config change run $i failed (see $OUT/cc-$i.log)"
    python3 - "$OUT/cc-$i.log" >> "$OUT/cc.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
loops = re.findall(r'ok=(\d+) failed=(\d+)', text.split('No failed request')[-1])[:2]
trans = re.search(r'transitions \[([^]]*)\]', text)
if len(loops) == 2 and trans:  # else no figures: the run is left out, not counted as 0
    print(sum(int(f) for o, f in loops), sum(int(o) + int(f) for o, f in loops),
          sum(int(t) for t in re.findall(r'\d+', trans.group(1))))
PY
  done
  say "config change under load ($(members lvs_real_servers | wc -l) real servers, all but rs1 added back by site.yml):" \
      "failed requests $(awk '{f+=$1; n+=$2} END {print f " of " n}' "$OUT/cc.txt"), VRRP transitions $(awk '{t+=$3} END {print t}' "$OUT/cc.txt") ($(wc -l < "$OUT/cc.txt") of $RUNS runs with figures)"
  ;;
scale)
  # site.yml first run (once: it needs a fresh lab) and second run (RUNS times, median) on
  # a fresh lab of SIZES real servers (default 2 6 12). Recreates the lab for each size and
  # leaves it with the last size.
  for n in ${SIZES:-2 6 12}; do
    fresh_lab "$n" > "$OUT/scale-$n-prepare.log"
    first=$(site_run "$OUT/scale-$n-first.log")
    second_runs "$OUT/scale-$n-second"
    say "site.yml with REAL_SERVERS=$n: first run (fresh lab) $first s, second run (changed=0) median $(median < "$OUT/scale-$n-second.txt") s of $RUNS"
  done
  ;;
health)
  # rs1's Apache killed and restarted; time until the active director's table changes.
  master=""
  for d in $(members lvs_directors); do
    if on "$d" "ip -o addr show" | grep -q " $vip_static/"; then master=$d; fi
  done
  rs1=$(addr rs1)
  : > "$OUT/health.txt"
  for i in $(seq "$RUNS"); do
    # apache2.service restarts a killed Apache (Restart=on-abort): a runtime drop-in stops that.
    t0=$(on rs1 'mkdir -p /run/systemd/system/apache2.service.d; printf "[Service]\nRestart=no\n" > /run/systemd/system/apache2.service.d/lvs-bench.conf; systemctl daemon-reload; date +%s.%N; systemctl kill -s KILL apache2' | head -1)
    t1=$(on "$master" "for i in \$(seq 300); do ipvsadm -Ln | grep -q ' $rs1:' || { date +%s.%N; exit 0; }; sleep 0.1; done; echo never")
    t2=$(on rs1 'rm -f /run/systemd/system/apache2.service.d/lvs-bench.conf; systemctl daemon-reload; date +%s.%N; systemctl start apache2' | head -1)
    t3=$(on "$master" "for i in \$(seq 300); do ipvsadm -Ln | grep -q ' $rs1:' && { date +%s.%N; exit 0; }; sleep 0.1; done; echo never")
    echo "$t1 $t0 $t3 $t2" | awk '{printf "%.2f %.2f\n", $1-$2, $3-$4}' >> "$OUT/health.txt"
    sleep 3
  done
  budget=$(ansible -i "$INV" localhost -m debug -a "msg={% set s = lvs_virtual_services | lvs.cluster.lvs_services(hostvars, groups) | selectattr('name','equalto','static') | first %}{{ s.delay_loop + s.health_check.connect_timeout + s.health_check.retry * (s.health_check.delay_before_retry + s.health_check.connect_timeout) }}" 2>/dev/null | awk -F': ' '/"msg"/{gsub(/[",]/, "", $2); print $2}')
  say "health check (static: delay_loop, connect_timeout, retry): out after median $(cut -d' ' -f1 "$OUT/health.txt" | median) s," \
      "back after median $(cut -d' ' -f2 "$OUT/health.txt" | median) s; configured worst case ${budget:-n/a} s (delay_loop + connect_timeout + retry x (delay_before_retry + connect_timeout)) ($RUNS runs)"
  ;;
throughput)
  # The same two real servers behind (a) LVS-DR on the static VIP, (b) an Apache mod_proxy
  # balancer on the standby director, port 8080. ab from the client, 1 KB page, keep-alive off.
  standby=""
  for d in $(members lvs_directors); do
    on "$d" "ip -o addr show" | grep -q " $vip_static/" || standby=$d
  done
  balancer_members=""
  for r in $(members lvs_real_servers); do
    balancer_members="$balancer_members    BalancerMember http://$(addr "$r"):80\n"
  done
  on "$standby" "cat > /etc/apache2/sites-available/lvs-bench.conf <<CONF
Listen 8080
<VirtualHost *:8080>
  <Proxy balancer://bench>
$(printf "$balancer_members")
    ProxySet lbmethod=byrequests
  </Proxy>
  ProxyPass / balancer://bench/
</VirtualHost>
CONF
a2enmod -q proxy proxy_http proxy_balancer lbmethod_byrequests >/dev/null; a2ensite -q lvs-bench >/dev/null; a2dissite -q 000-default >/dev/null 2>&1 || true
apache2ctl -t 2>/dev/null && systemctl restart apache2"
  sb=$(addr "$standby")
  : > "$OUT/tp-lvs.txt"; : > "$OUT/tp-proxy.txt"
  for i in $(seq "$RUNS"); do
    on "$client" "ab -q -n 2000 -c 8 http://$vip_static/ 2>&1" | awk '/Requests per second/{print $4}' >> "$OUT/tp-lvs.txt"
    on "$client" "ab -q -n 2000 -c 8 http://$sb:8080/ 2>&1" | awk '/Requests per second/{print $4}' >> "$OUT/tp-proxy.txt"
  done
  on "$standby" "a2dissite -q lvs-bench >/dev/null; rm -f /etc/apache2/sites-available/lvs-bench.conf; systemctl stop apache2"
  lvs=$(median < "$OUT/tp-lvs.txt"); proxy=$(median < "$OUT/tp-proxy.txt")
  say "throughput (ab -n 2000 -c 8 from $client): LVS-DR $lvs req/s, Apache mod_proxy on $standby $proxy req/s," \
      "ratio $(echo "$lvs $proxy" | awk '{ if ($2 > 0) printf "%.2f", $1/$2; else print "n/a" }') ($RUNS runs each)"
  ;;
*) echo "site_bench: unknown part $part (site failover failover_fast config_change health throughput scale)" >&2; exit 2 ;;
esac
done
echo "site_bench: report in $OUT/report.txt"
