#!/usr/bin/env bash
# classify.sh — the CLASSIFY benchmark (BENCHMARKS.md): featurises and
# scores one million domain names with the built-in model, streamed one
# name at a time (WITH (batch = 1), as names arrive from RESOLVE or a pcap)
# and in batches of 1,024; then, in the same run, the scikit-learn random
# forest (python3-sklearn, 100 trees) over the same features: fitted on
# dql's FEATURES of 40,000 labelled names, timed predicting one row at a
# time (on a subsample: it takes milliseconds a name) and in one batch.
# sklearn is given the feature vectors for free (dql computes them before
# its clock starts), so the ratio understates dql's lead.
#
# Usage: bench/classify.sh [--names N] [--stream-sample K] [--no-sklearn]
#   --names N          names to score (default 1000000)
#   --stream-sample K  rows sklearn predicts one at a time (default 2000)
# Environment: DQL (default ./dql, then build*/dql); SHARED (../shared);
# PYTHON, a python3 with sklearn (default: python3, then /usr/bin/python3).
# Prints names/s (wall and CPU), µs per name, peak RSS, the model size and
# the speed-up over sklearn. Never part of `make check`.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
SHARED=${SHARED:-$TOP/../shared}
N=1000000
K=2000
SK=1
while [ $# -gt 0 ]; do
    case $1 in
        --names) N=$2; shift 2 ;;
        --stream-sample) K=$2; shift 2 ;;
        --no-sklearn) SK=0; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "classify.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
DQL=${DQL:-}
if [ -z "$DQL" ]; then
    for c in "$TOP/dql" "$TOP"/build*/dql; do [ -x "$c" ] && { DQL=$c; break; }; done
fi
[ -n "$DQL" ] && [ -x "$DQL" ] || { echo "classify.sh: dql is not built" >&2; exit 2; }
D=$HERE/data
mkdir -p "$D"
names=$D/classify-$N.txt
if [ ! -s "$names" ]; then
    echo "generating $N names into $names"
    python3 "$HERE/gen_mixed_names.py" "$SHARED/data/domains" "$N" "$names"
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dql-bench-classify.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
run() {  # label, script
    /usr/bin/time -f "%e %U %S %M" -o "$tmp/time" "$DQL" --db "$tmp/b.db" -e "$2" > "$tmp/out"
    read -r wall user sys rss < "$tmp/time"
    python3 - "$1" "$N" "$wall" "$user" "$sys" "$rss" "$tmp" <<'PY'
import sys
label, n, w, u, s, rss, t = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
c = u + s
print('%-10s %7.2f s wall %7.2f s cpu %10.0f names/s (cpu) %6.2f us/name  peak rss %d MB' % (label, w, c, n / c, c / n * 1e6, rss // 1024))
open(t + '/cpu.' + label, 'w').write(str(c))
PY
}
echo "dql: $DQL; $N names; model $(wc -c < "$TOP/data/dga-default.dqlm") bytes; $(nproc) cores"
base="d = LOAD '$names' USING lines() AS (name:chararray);"
agg="DUMP (FOREACH (GROUP c BY verdict) GENERATE group, COUNT(c));"
run load-only "$base c = FOREACH d GENERATE name, 'x' AS verdict; $agg"
run stream "$base c = CLASSIFY d BY name WITH (batch = 1); $agg"
cp "$tmp/out" "$tmp/stream.out"
run batch "$base c = CLASSIFY d BY name; $agg"
cmp -s "$tmp/out" "$tmp/stream.out" && echo "stream and batch verdicts agree: $(tr '\n' ' ' < "$tmp/out")"
[ $SK = 1 ] || exit 0
PY=
for p in ${PYTHON:-} python3 /usr/bin/python3; do
    "$p" -c 'import sklearn' 2>/dev/null && { PY=$p; break; }
done
[ -n "$PY" ] || { echo "python3-sklearn is not installed: skipping the comparison"; exit 0; }
# features for sklearn (not timed): 40k labelled names to fit, the N names to score
"$DQL" --db "$tmp/b.db" -e "
d = LOAD '$names' USING lines() AS (name:chararray);
STORE (FOREACH d GENERATE FLATTEN(FEATURES(name))) INTO '$tmp/score.tsv';
a = LOAD '$SHARED/data/domains/benign/alexa-top-100000-domains-2016.txt' USING lines() AS (name:chararray);
g = LOAD '$SHARED/data/domains/dga/dga_netlab360_ayub2021_83families.csv.gz' USING csv(header = true)
    AS (family:chararray, t:chararray, domain:chararray, vt:int, nx:int, a1:int, a2:int, a3:int, a4:int, tld:chararray, id:int, cls:int);
l = FILTER (UNION (FOREACH a GENERATE name, 0 AS y), (FOREACH g GENERATE domain AS name, 1 AS y)) BY RANDOM() < 0.18;
STORE (FOREACH l GENERATE y, FLATTEN(FEATURES(name))) INTO '$tmp/train.tsv';" > /dev/null
"$PY" "$HERE/classify_sklearn.py" "$tmp/train.tsv" "$tmp/score.tsv" "$K" | tee "$tmp/sk"
python3 - "$tmp" "$N" <<'PY'
import sys
t, n = sys.argv[1], int(sys.argv[2])
sk = dict(l.split()[:2] for l in open(t + '/sk') if l.startswith('sklearn-'))
for mode in ('stream', 'batch'):
    c = float(open(t + '/cpu.' + mode).read())
    ours = n / c
    theirs = float(sk['sklearn-' + mode])
    print('%-7s dql %10.0f names/s   sklearn %10.0f names/s   dql is %.0fx faster' % (mode, ours, theirs, ours / theirs))
PY
