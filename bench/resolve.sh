#!/usr/bin/env bash
# bench/resolve.sh — RESOLVE against NSD on loopback, interleaved with the
# peers in the same run (BENCHMARKS.md): dnsperf (a load generator that
# parses nothing: the practical ceiling) and adnshost (adns-tools).
#
# Workloads: "A": 200,000 A queries (95% existing names, 5% NXDOMAIN);
# "mixed": A, AAAA, MX, TXT, NS over 40,000 names (200,000 queries).
# dql runs twice per workload: rows DUMPed as TSV to /dev/null, and rows STOREd
# into SQLite. Prints queries per second, CPU seconds, peak RSS, lost and
# retried, and the ratios to dnsperf (medians over ROUNDS rounds).
#
# adnshost cannot use a port other than 53: it runs only as root, against
# a second NSD address 127.0.0.2@53 (skipped otherwise).
# Usage: bench/resolve.sh [ROUNDS (3)] [CONCURRENCY (dql default)]
# Environment: DQL (default ./dql), KEEP=1 keeps the work directory,
# NO_ADNS=1 leaves adnshost out (it takes about a minute per round).
# dnsperf's wall time includes waiting -t 2 s for the queries it lost;
# its own "Queries per second" is shown too.
set -euo pipefail
cd "$(dirname "$0")/.."
SRCDIR=$PWD
DQL=${DQL:-$PWD/dql}
ROUNDS=${1:-3}
CONC=${2:-}
. tests/dns/fixture.sh
dns_need nsd dnsperf python3
W=$(mktemp -d "${TMPDIR:-/tmp}/dql-bench-resolve.XXXXXX")
trap 'dns_stop_all; [ "${KEEP:-0}" = 1 ] || rm -rf "$W"' EXIT

N=190000          # names in the zone: n0..n189999
python3 tests/dns/gen-zone.py bench "$W" "$N"
# A workload: 190,000 existing + 10,000 missing names (5%), shuffled
python3 - "$W" <<'PY'
import random, sys
w = sys.argv[1]
random.seed(1)
names = ["n%d.bench" % i for i in range(190000)] + ["x%d.bench" % i for i in range(10000)]
random.shuffle(names)
open(w + "/a.names", "w").write("".join(n + "\n" for n in names))
open(w + "/a.dnsperf", "w").write("".join(n + " A\n" for n in names))
m = ["n%d.bench" % i for i in range(38000)] + ["x%d.bench" % i for i in range(2000)]
random.shuffle(m)
open(w + "/m.names", "w").write("".join(n + "\n" for n in m))
open(w + "/m.dnsperf", "w").write("".join("%s %s\n" % (n, t) for n in m for t in ("A", "AAAA", "MX", "TXT", "NS")))
# adnshost -f reads one argument a line
open(w + "/a.adns", "w").write("".join("-ta\n%s\n" % n for n in names))
open(w + "/m.adns", "w").write("".join("-t%s\n%s\n" % (t, n) for n in m for t in ("a", "aaaa", "mx", "txt", "ns")))
PY
ADNS=0
if [ "$(id -u)" -eq 0 ] && [ "${NO_ADNS:-0}" != 1 ] && command -v adnshost >/dev/null 2>&1; then ADNS=1; fi
nsd_start "$W" bench.zone bench
if [ $ADNS = 1 ]; then
    # a second instance on 127.0.0.2:53 for adnshost
    sed -e "s/ip-address: 127.0.0.1@$NSD_PORT/ip-address: 127.0.0.2@53/" -e "s/port: $NSD_PORT/port: 53/" \
        -e "s#$W/nsd.pid#$W/nsd2.pid#" "$W/nsd.conf" > "$W/nsd2.conf"
    "$(dns_bin nsd)" -d -c "$W/nsd2.conf" >"$W/nsd2.out" 2>&1 &
    DNS_PIDS="$DNS_PIDS $!"
    dns_wait 127.0.0.2 53 bench || ADNS=0
fi
echo "NSD on 127.0.0.1:$NSD_PORT; $(nproc) CPUs; dql: $DQL"

WITH="servers = 'udp://127.0.0.1:$NSD_PORT'"
[ -n "$CONC" ] && WITH="$WITH, concurrency = $CONC"

# run NAME CMD...: one timed run; appends "name wall cpu rss" to $W/results
run() {
    local name=$1; shift
    local t0 t1
    t0=$(date +%s.%N)
    /usr/bin/time -f '%U %S %M' -o "$W/time" "$@" >"$W/out" 2>"$W/err" || { echo "$name failed:"; cat "$W/err"; return 1; }
    t1=$(date +%s.%N)
    read -r u s m < "$W/time"
    local extra=""
    case $name in
        dql*) extra=$(grep '^RESOLVE:' "$W/err" | sed -E 's/.*: ([0-9]+) sent, ([0-9]+) received, ([0-9]+) retried, ([0-9]+) timed out.*/sent=\1 recv=\2 retried=\3 lost=\4/') ;;
        dnsperf*) extra=$(awk '/Queries lost:/ {l=$3} /Queries per second:/ {q=$4} END {print "lost=" l " self-reported-qps=" q}' "$W/out") ;;
    esac
    echo "$name $(echo "$t1 - $t0" | bc) $(echo "$u + $s" | bc) $m $extra" >> "$W/results"
}

for wl in a m; do
    types="A"; [ $wl = m ] && types="A, AAAA, MX, TXT, NS"
    cat > "$W/tsv-$wl.dql" <<DQL
d = LOAD '$W/$wl.names' USING lines() AS (name:domain);
r = RESOLVE d BY name TYPES ($types) WITH ($WITH);
DUMP r;
DQL
    cat > "$W/sql-$wl.dql" <<DQL
d = LOAD '$W/$wl.names' USING lines() AS (name:domain);
r = RESOLVE d BY name TYPES ($types) WITH ($WITH);
STORE r INTO 'r' OVERWRITE;
DQL
done
# warm-up (NSD's caches, page cache)
dnsperf -s 127.0.0.1 -p "$NSD_PORT" -d "$W/a.dnsperf" -n 1 -q 500 >/dev/null 2>&1 || true

: > "$W/results"
for r in $(seq "$ROUNDS"); do
    for wl in a m; do
        run "dnsperf-$wl" dnsperf -s 127.0.0.1 -p "$NSD_PORT" -d "$W/$wl.dnsperf" -n 1 -q 500 -t 2 -b 4096
        run "dql-tsv-$wl" "$DQL" -X --db "$W/dql.db" --mode tsv -f "$W/tsv-$wl.dql"
        rm -f "$W/dql.db"
        run "dql-sqlite-$wl" "$DQL" -X --db "$W/dql.db" -f "$W/sql-$wl.dql"
        if [ $ADNS = 1 ]; then
            run "adnshost-$wl" sh -c "adnshost --config 'nameserver 127.0.0.2' -a -f < '$W/$wl.adns'; exit 0"
        fi
    done
done

echo
python3 - "$W/results" <<'PY'
import sys, statistics
rows = {}
extra = {}
for line in open(sys.argv[1]):
    f = line.split()
    rows.setdefault(f[0], []).append((float(f[1]), float(f[2]), int(f[3])))
    extra[f[0]] = " ".join(f[4:])
Q = 200000
print("%-16s %10s %8s %8s %9s  %s" % ("run", "q/s", "wall s", "cpu s", "rss MB", "ratio to dnsperf; counters"))
for wl in ("a", "m"):
    base = statistics.median(r[0] for r in rows.get("dnsperf-" + wl, [(1, 0, 0)]))
    for name in ("dnsperf", "dql-tsv", "dql-sqlite", "adnshost"):
        k = "%s-%s" % (name, wl)
        if k not in rows:
            continue
        wall = statistics.median(r[0] for r in rows[k])
        cpu = statistics.median(r[1] for r in rows[k])
        rss = max(r[2] for r in rows[k]) / 1024
        print("%-16s %10.0f %8.2f %8.2f %9.1f  %.2fx %s" % (k, Q / wall, wall, cpu, rss, base / wall, extra.get(k, "")))
PY

# MEM_NAMES=N: memory stays flat however long the input — N names (cycling
# over the zone's names) resolved for A with rows as TSV to /dev/null; prints
# the peak RSS (target: under 32 MB for 10,000,000 names).
if [ -n "${MEM_NAMES:-}" ]; then
    awk -v n="$MEM_NAMES" 'BEGIN { for (i = 0; i < n; i++) printf "n%d.bench\n", i % 190000 }' > "$W/mem.names"
    echo "n = LOAD '$W/mem.names' USING lines() AS (name:chararray); r = RESOLVE n BY name TYPES (A) WITH ($WITH); DUMP r;" > "$W/mem.dql"
    t0=$(date +%s.%N)
    /usr/bin/time -f '%U %S %M' -o "$W/time" "$DQL" -X --db "$W/dql.db" --mode tsv -f "$W/mem.dql" > /dev/null 2> "$W/err" \
        || { echo "memory run failed:"; tail -n 5 "$W/err"; exit 1; }
    t1=$(date +%s.%N)
    read -r u s m < "$W/time"
    echo
    echo "memory: $MEM_NAMES names resolved in $(echo "$t1 - $t0" | bc) s, CPU $(echo "$u + $s" | bc) s, peak RSS $((m / 1024)) MB"
    grep '^RESOLVE:' "$W/err" | head -n 1
fi
