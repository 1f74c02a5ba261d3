#!/usr/bin/env bash
# shards.sh — sharded runs (doc/shards.md) against the one-process run of the
# same script, in the same run: CLASSIFY over 10 million names (GROUP BY
# verdict, pre-aggregated in the tasks) and a GROUP BY type over a TLD-like
# zone (bench/gen_zone.py), each unsharded and with 1, 2 and 4 shards on the
# local executor and 2 and 4 on Slurm (when a cluster answers: as root,
# ../shared/tools/slurm-single-node start). Rounds are interleaved and the
# median wall time kept; prints throughput, the speed-up over one process,
# the coordinator's peak RSS, and the fixed overhead of a run (a tiny input)
# per executor. Checks that every configuration prints the same rows.
# Targets (issue 11): 2 shards >= 1.8x one process on this 2-core machine,
# local and Slurm; a Slurm run's fixed overhead under 5 s.
#
# Usage: bench/shards.sh [--names N] [--records N] [--rounds R] [--no-slurm]
#                        [--configs 'one local-2 slurm-2'] [--work 'classify zone']
# Environment: DQL (default ./dql); SHARED (../shared). Never part of make check.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
SHARED=${SHARED:-$TOP/../shared}
N=10000000
RECORDS=5000000
ROUNDS=3
SLURM=1
CONFIGS=
WORK=
while [ $# -gt 0 ]; do
    case $1 in
        --configs) CONFIGS=$2; shift 2 ;;
        --work) WORK=$2; shift 2 ;;
        --names) N=$2; shift 2 ;;
        --records) RECORDS=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --no-slurm) SLURM=0; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "shards.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
DQL=${DQL:-$TOP/dql}
[ -x "$DQL" ] || { echo "shards.sh: $DQL is not built" >&2; exit 2; }
D=$HERE/data
mkdir -p "$D"
# a private copy: a rebuild during the run must not change the binary measured
# (tasks run the same binary through /proc/self/exe)
cp "$DQL" "$D/dql-shards.bin"
DQL=$D/dql-shards.bin
names=$D/shards-names-$N.txt
if [ ! -s "$names" ]; then
    echo "generating $N names into $names"
    python3 "$HERE/gen_mixed_names.py" "$SHARED/data/domains" "$N" "$names"
fi
zone=$D/zone/tld-$RECORDS.zone
mkdir -p "$D/zone"
[ -s "$zone" ] || python3 "$HERE/gen_zone.py" "$RECORDS" "$zone"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dql-bench-shards.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
printf "d = LOAD '%s' USING lines() AS (name:chararray);\nc = CLASSIFY d BY name;\nDUMP (ORDER (FOREACH (GROUP c BY verdict) GENERATE group, COUNT(c)) BY group);\n" "$names" > classify.dql
printf "z = LOAD '%s' USING zone();\ng = GROUP z BY type;\nDUMP (ORDER (FOREACH g GENERATE group, COUNT(z), MIN(z.ttl), MAX(z.owner)) BY group);\n" "$zone" > zone.dql
printf "d = LOAD 'tiny.txt' USING lines() AS (name:chararray);\nDUMP (FOREACH (GROUP d ALL) GENERATE COUNT(d));\n" > tiny.dql
printf 'a.example\nb.example\n' > tiny.txt

have_slurm=0
if [ $SLURM = 1 ] && sinfo -h -N -o %t 2>/dev/null | grep -qx idle; then have_slurm=1; fi
[ $SLURM = 1 ] && [ $have_slurm = 0 ] && echo "no idle Slurm node (as root: $SHARED/tools/slurm-single-node start): Slurm runs skipped"
configs="one local-1 local-2 local-4"
[ $have_slurm = 1 ] && configs="$configs slurm-2 slurm-4"
[ -n "$CONFIGS" ] && configs=$CONFIGS
if "$DQL" --shards 2 -e "z = LOAD '$zone' USING zone(); EXPLAIN (GROUP z BY type);" 2>&1 | grep -q 'cannot be split'; then
    echo "this dql cannot shard zone files: zone runs skipped"; works="classify"
else works="classify zone"; fi
[ -n "$WORK" ] && works=$WORK

run() {  # work config round
    local w=$1 c=$2 args=()
    case $c in
        one) ;;
        local-*) args=(--shards "${c#local-}" --executor local) ;;
        slurm-*) args=(--shards "${c#slurm-}" --executor slurm) ;;
    esac
    /usr/bin/time -f "%e %M" -o "$tmp/time" "$DQL" "${args[@]}" "$w.dql" > "$tmp/out.$w.$c" 2> "$tmp/err"
    read -r wall rss < "$tmp/time"
    echo "$wall $rss" >> "$tmp/t.$w.$c"
    if [ "$c" != one ] && ! cmp -s "$tmp/out.$w.one" "$tmp/out.$w.$c"; then
        echo "shards.sh: $w $c printed other rows than one process:" >&2; diff "$tmp/out.$w.one" "$tmp/out.$w.$c" >&2 || true; exit 1
    fi
}
echo "dql: $DQL; $(nproc) cores; $N names ($(( $(wc -c < "$names") / 1000000 )) MB); zone $RECORDS records ($(( $(wc -c < "$zone") / 1000000 )) MB); $ROUNDS rounds, medians"
for w in $works; do
    for r in $(seq "$ROUNDS"); do
        for c in $configs; do run "$w" "$c" "$r"; done
    done
    echo "== $w: $(tr '\n' ' ' < "$tmp/out.$w.one")"
    python3 - "$tmp" "$w" "$configs" "$([ $w = classify ] && echo $N || echo $RECORDS)" <<'PY'
import statistics, sys
t, w, configs, n = sys.argv[1], sys.argv[2], sys.argv[3].split(), int(sys.argv[4])
def med(c):
    rows = [l.split() for l in open('%s/t.%s.%s' % (t, w, c))]
    return statistics.median(float(r[0]) for r in rows), max(int(r[1]) for r in rows)
base = med('one')[0]
for c in configs:
    wall, rss = med(c)
    print('%-8s %7.2f s  %11.0f rows/s  %5.2fx one process  coordinator peak rss %4d MB' % (c, wall, n / wall, base / wall, rss // 1024))
PY
done
echo "== fixed overhead (a 2-line input)"
for r in $(seq "$ROUNDS"); do
    for c in $configs; do run tiny "$c" "$r"; done
done
python3 - "$tmp" "$configs" <<'PY'
import statistics, sys
t, configs = sys.argv[1], sys.argv[2].split()
base = statistics.median(float(l.split()[0]) for l in open(t + '/t.tiny.one'))
for c in configs:
    if c == 'one': continue
    m = statistics.median(float(l.split()[0]) for l in open('%s/t.tiny.%s' % (t, c)))
    print('%-8s %5.2f s per run (%.2f s over one process)' % (c, m, m - base))
PY
