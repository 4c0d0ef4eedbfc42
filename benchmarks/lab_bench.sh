#!/usr/bin/env bash
# Lab figures for docs/lab.md: cold and warm lab-up, lab-down, memory, scaling with
# REAL_SERVERS. Prints medians of RUNS runs (timings vary ~2x when other work loads the
# cores). Takes the lab down and up many times; leaves it UP with the default topology.
#
#   benchmarks/lab_bench.sh                 RUNS=3 SIZES="2 6 12"
#   RUNS=5 SIZES="2 6" benchmarks/lab_bench.sh
#   COLD=0 ...                              skip the cold run (it rebuilds the lab layer)
set -euo pipefail
TOP="$(cd "$(dirname "$0")/.." && pwd)"
LAB="$TOP/lab/lab.sh"
CACHE_DIR="${CACHE_DIR:-$TOP/.cache}"
RUNS="${RUNS:-3}"
SIZES="${SIZES:-2 6 12}"
COLD="${COLD:-1}"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", b - a}'; }
median() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else printf "%.1f\n", (v[NR/2]+v[NR/2+1])/2}'; }

timed_up() {  # timed_up N -> seconds
  local t0 t1
  t0=$(now); REAL_SERVERS="$1" "$LAB" up >/dev/null 2>&1 || { echo "lab-up failed" >&2; exit 1; }; t1=$(now)
  elapsed "$t0" "$t1"
}
timed_down() {
  local t0 t1
  t0=$(now); "$LAB" down >/dev/null 2>&1 || { echo "lab-down failed" >&2; exit 1; }; t1=$(now)
  elapsed "$t0" "$t1"
}

echo "lab benchmark on $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
"$LAB" down >/dev/null 2>&1 || true

if [ "$COLD" = 1 ]; then
  # Cold: the lab layer and the UML shim are rebuilt (the shared Debian rootfs stays cached:
  # building it is scripts/build-rootfs.sh, ~3.5 min from the mirror).
  rm -rf "$CACHE_DIR"/lab
  printf 'cold lab-up (lab layer rebuilt, rootfs cached): %s s\n' "$(timed_up 2)"
  "$LAB" down >/dev/null 2>&1
fi

for n in $SIZES; do
  ups="" downs=""
  for ((r = 1; r <= RUNS; r++)); do
    ups+=" $(timed_up "$n")"
    if [ "$r" = 1 ]; then
      # Memory with the lab idle right after boot: per host (its container cgroup) and per guest.
      mem_hosts="" total_guest=0
      while read -r name addr gi; do
        m=$("$LAB" ssh "$name" cat /sys/fs/cgroup/memory.current 2>/dev/null </dev/null || echo 0)
        mem_hosts+=" $((m / 1048576))"
      done < <("$LAB" hosts)
      guests=$(sed -n 's/^GUESTS=//p' "$TOP/.lab/state.env")
      guest_used=""
      for ((g = 0; g < guests; g++)); do
        h=$("$LAB" hosts | awk -v g="$g" '$3 == g {print $1; exit}')
        u=$("$LAB" ssh "$h" "awk '/^MemTotal:/ {t=\$2} /^MemAvailable:/ {a=\$2} END {print int((t-a)/1024)}' /proc/meminfo" </dev/null)
        guest_used+=" $u"; total_guest=$((total_guest + u))
      done
      printf 'REAL_SERVERS=%s: %s hosts; memory per host (MiB, container cgroup): median %s, min %s, max %s; per guest used (MiB):%s; total %s MiB\n' \
        "$n" "$(echo $mem_hosts | wc -w)" "$(echo $mem_hosts | median)" \
        "$(echo $mem_hosts | tr ' ' '\n' | sort -n | head -1)" "$(echo $mem_hosts | tr ' ' '\n' | sort -n | tail -1)" \
        "$guest_used" "$total_guest"
    fi
    # Already up: lab-up only checks health.
    [ "$r" = 1 ] && printf 'REAL_SERVERS=%s: lab-up when already up (health check only): %s s\n' "$n" "$(timed_up "$n")"
    downs+=" $(timed_down)"
  done
  printf 'REAL_SERVERS=%s: warm lab-up median %s s (runs:%s); lab-down median %s s (runs:%s)\n' \
    "$n" "$(echo $ups | median)" "$ups" "$(echo $downs | median)" "$downs"
done

# Leave the default lab up for everyone else.
"$LAB" up >/dev/null 2>&1 && echo "lab left up (default topology)"
