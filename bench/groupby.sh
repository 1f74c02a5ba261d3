#!/usr/bin/env bash
# groupby.sh — the GROUP BY + COUNT benchmark (BENCHMARKS.md, first row):
# counts a domain list by TLD with dql and with its peers in one run,
# interleaved (dql mawk sort sqlite3 duckdb, dql mawk ... K times), and
# prints the medians of wall time, CPU time and peak RSS, the ratio of each
# peer's wall time to dql's, and whether each tool's result matches mawk's.
# A second part times loading the same rows from CSV into a SQLite table:
# dql's STORE against sqlite3's .import.
#
# Usage: bench/groupby.sh [--lines N] [--runs K] [--no-duckdb] [--no-store]
#   --lines N    names in the input (default 10000000, about 154 MB)
#   --runs K     timed runs of each tool (default 3)
#   --no-duckdb  skip DuckDB (otherwise @duckdb/node-api is installed with
#                npm into bench/node_modules on first use)
#   --no-store   skip the CSV -> SQLite part
# Environment: DQL, the dql binary (default: ./dql at the top of the tree,
# then build*/dql). The input is generated once by bench/gen_domains.py and
# cached in bench/data/. Exit status: 0, 1 when a tool failed, 2 on a usage
# error or when dql is not built. Never part of `make check`.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
LINES=10000000
RUNS=3
DUCKDB=1
STORE=1

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case $1 in
        --lines) LINES=${2:?--lines needs a number}; shift 2 ;;
        --lines=*) LINES=${1#*=}; shift ;;
        --runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
        --runs=*) RUNS=${1#*=}; shift ;;
        --no-duckdb) DUCKDB=0; shift ;;
        --no-store) STORE=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "groupby.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
case $LINES$RUNS in
    *[!0-9]*|'') echo "groupby.sh: --lines and --runs take positive numbers" >&2; exit 2 ;;
esac
if [ "$LINES" -lt 1 ] || [ "$RUNS" -lt 1 ]; then
    echo "groupby.sh: --lines and --runs take positive numbers" >&2
    exit 2
fi

# ------------------------------------------------------------------ tools

if [ -z "${DQL:-}" ]; then
    for c in "$TOP/dql" "$TOP"/build*/dql; do
        if [ -x "$c" ]; then DQL=$c; break; fi
    done
fi
if [ -z "${DQL:-}" ] || [ ! -x "$DQL" ]; then
    echo "groupby.sh: dql is not built (looked for ${DQL:-$TOP/dql and $TOP/build*/dql})." >&2
    echo "Build it first: ./autogen.sh && ./configure && make -j2   (or set DQL=/path/to/dql)" >&2
    exit 2
fi
DQL=$(cd "$(dirname "$DQL")" && pwd)/$(basename "$DQL")
if grep -qs -- '--enable-asan\|--enable-ubsan\|--enable-valgrind' "$(dirname "$DQL")/config.status"; then
    echo "groupby.sh: warning: $DQL was configured with sanitizers or valgrind: its times mean nothing" >&2
fi

missing=""
for t in mawk sqlite3 sort uniq rev cut python3; do
    command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
[ -x /usr/bin/time ] || missing="$missing /usr/bin/time(package time)"
if [ -n "$missing" ]; then
    echo "groupby.sh: missing tools:$missing (Debian: apt-get install mawk sqlite3 coreutils util-linux python3 time)" >&2
    exit 2
fi

if [ "$DUCKDB" = 1 ]; then
    if ! command -v node >/dev/null 2>&1; then
        echo "groupby.sh: node not found: skipping DuckDB" >&2
        DUCKDB=0
    elif [ ! -d "$HERE/node_modules/@duckdb/node-api" ]; then
        echo "installing @duckdb/node-api into bench/node_modules ..." >&2
        if ! npm install --prefix "$HERE" --no-audit --no-fund --silent @duckdb/node-api >&2; then
            echo "groupby.sh: npm install @duckdb/node-api failed: skipping DuckDB" >&2
            DUCKDB=0
        fi
    fi
fi

# ------------------------------------------------------------------ input

F=$(python3 "$HERE/gen_domains.py" "$LINES")
CSV=${F%.txt}.csv
if [ ! -f "$CSV" ] || [ "$CSV" -ot "$F" ]; then
    LC_ALL=C mawk '{ print NR "," $0 }' "$F" > "$CSV.tmp" && mv "$CSV.tmp" "$CSV"
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dql-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
export LC_ALL=C F CSV DQL WORK HERE

mb() { awk -v b="$(wc -c < "$1")" 'BEGIN { printf "%.0f", b / 1e6 }'; }

# The commands, run by bash -c under /usr/bin/time. For pipelines the peak
# RSS is that of the largest process in it.
declare -A CMD
CMD[dql]='"$DQL" --db "$WORK/dql.db" --mode csv -e "d = LOAD '"'"'$F'"'"' USING lines() AS (name:chararray); g = GROUP d BY TLD(name); c = FOREACH g GENERATE group AS tld, COUNT(d) AS n; o = ORDER c BY n DESC; DUMP o;"'
CMD[mawk]='mawk -F. '"'"'{ c[$NF]++ } END { for (k in c) print k "," c[k] }'"'"' "$F" | sort -t, -k2,2nr'
CMD[sort]='rev "$F" | cut -d. -f1 | rev | sort | uniq -c | sort -rn'
CMD[sqlite3]='sqlite3 "$WORK/sq.db" "CREATE TABLE d(name TEXT);" ".mode tabs" ".import $F d" "SELECT replace(name, rtrim(name, replace(name, '"'"'.'"'"', '"'"''"'"')), '"'"''"'"') AS tld, count(*) AS n FROM d GROUP BY tld ORDER BY n DESC;"'
CMD[duckdb]='node "$HERE/duckdb_groupby.mjs" "$F"'
CMD[dql-store]='"$DQL" --db "$WORK/store-dql.db" -e "d = LOAD '"'"'$CSV'"'"' USING csv(header = false) AS (rank:long, name:chararray); STORE d INTO '"'"'names'"'"';"'
CMD[sqlite3-store]='sqlite3 "$WORK/store-sq.db" "CREATE TABLE names(rank INTEGER, name TEXT);" ".mode csv" ".import $CSV names"'

# A tool's result as sorted "tld,n" lines, whatever its output format.
normalize() {
    case $1 in
        sort) awk '{ print $2 "," $1 }' ;;
        sqlite3) tr '\t' ',' ;;
        *) cat ;;
    esac | grep -E '^[^,]*,[0-9]+$' | sort
}

failed=0
# run NAME: one timed run; appends "NAME wall user sys rsskb" to results.
run() {
    local name=$1
    rm -f "$WORK"/sq.db* "$WORK"/dql.db* "$WORK"/store-*.db*
    if /usr/bin/time -f '%e %U %S %M' -o "$WORK/time" \
            bash -c "${CMD[$name]}" > "$WORK/out.$name" 2> "$WORK/err.$name"; then
        echo "$name $(tail -n 1 "$WORK/time")" >> "$WORK/results"
        printf ' %s %.2fs' "$name" "$(tail -n 1 "$WORK/time" | cut -d' ' -f1)" >&2
    else
        echo "$name FAILED" >> "$WORK/results"
        printf ' %s FAILED' "$name" >&2
        if [ ! -f "$WORK/failed.$name" ]; then
            touch "$WORK/failed.$name"
            { echo; echo "--- $name failed: ${CMD[$name]}"; head -n 20 "$WORK/err.$name"; } >&2
        fi
        failed=1
    fi
    case $name in
        *-store)
            local db=$WORK/store-dql.db
            [ "$name" = sqlite3-store ] && db=$WORK/store-sq.db
            sqlite3 "$db" 'SELECT count(*) FROM names;' > "$WORK/out.$name" 2>/dev/null || true ;;
    esac
}

# median of the numbers on stdin
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# report TITLE TOOL...: the table for one part, dql first.
report() {
    local title=$1 t w c r base="" ratio
    shift
    echo
    echo "$title"
    printf '%-15s %9s %9s %13s %10s  %s\n' tool 'wall s' 'CPU s' 'peak RSS MB' 'tool/dql' result
    for t in "$@"; do
        if grep -q "^$t FAILED" "$WORK/results" || ! grep -q "^$t " "$WORK/results"; then
            printf '%-15s %9s %9s %13s %10s  %s\n' "$t" - - - - FAILED
            continue
        fi
        w=$(awk -v t="$t" '$1 == t { print $2 }' "$WORK/results" | median)
        c=$(awk -v t="$t" '$1 == t { print $3 + $4 }' "$WORK/results" | median)
        r=$(awk -v t="$t" '$1 == t { print $5 / 1024 }' "$WORK/results" | median)
        [ "$t" = "$1" ] && base=$w   # the first tool (dql) is the base
        ratio=$(awk -v a="$w" -v b="$base" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
        printf '%-15s %9.2f %9.2f %13.1f %10s  %s\n' "$t" "$w" "$c" "$r" "$ratio" "$(result "$t")"
        echo "$t $w $c $r" >> "$WORK/medians"
    done
}

# result TOOL: does its output agree with the reference?
result() {
    local t=$1
    case $t in
        *-store)
            if [ "$(cat "$WORK/out.$t" 2>/dev/null)" = "$LINES" ]; then echo "ok ($LINES rows)"
            else echo "WRONG: $(cat "$WORK/out.$t" 2>/dev/null || echo no) rows"; fi ;;
        *)
            normalize "$t" < "$WORK/out.$t" > "$WORK/norm.$t"
            if [ "$t" = mawk ]; then echo "reference ($(wc -l < "$WORK/norm.$t") TLDs)"
            elif cmp -s "$WORK/norm.$t" "$WORK/norm.mawk"; then echo "same as mawk"
            else echo "DIFFERS from mawk ($(wc -l < "$WORK/norm.$t") vs $(wc -l < "$WORK/norm.mawk") groups)"; fi ;;
    esac
}

# --------------------------------------------------------------- the runs

echo "dql: $DQL"
echo "input: $F ($LINES lines, $(mb "$F") MB); $RUNS runs of each tool, interleaved"
cat "$F" "$CSV" > /dev/null   # page cache: the first timed run must not pay for the disk

tools=(dql mawk sort sqlite3)
[ "$DUCKDB" = 1 ] && tools+=(duckdb)
for ((i = 1; i <= RUNS; i++)); do
    printf 'group run %d:' "$i" >&2
    for t in "${tools[@]}"; do run "$t"; done
    echo >&2
done
# mawk's result is the reference: make sure it exists before comparing.
normalize mawk < "$WORK/out.mawk" > "$WORK/norm.mawk"
report "GROUP BY + COUNT by TLD, $LINES names ($(mb "$F") MB), medians of $RUNS runs" "${tools[@]}"

if [ "$STORE" = 1 ]; then
    for ((i = 1; i <= RUNS; i++)); do
        printf 'store run %d:' "$i" >&2
        run dql-store
        run sqlite3-store
        echo >&2
    done
    report "CSV -> SQLite table, $LINES rows ($(mb "$CSV") MB), medians of $RUNS runs" dql-store sqlite3-store
fi

# ------------------------------------------------------------ the targets

echo
m() { awk -v t="$1" -v k="$2" '$1 == t { print $k }' "$WORK/medians" 2>/dev/null; }
dw=$(m dql 2); dr=$(m dql 4); mw=$(m mawk 2)
if [ -n "$dw" ] && [ -n "$mw" ]; then
    awk -v d="$dw" -v m="$mw" 'BEGIN { printf "target: dql no slower than mawk: %s (dql %.2f s, mawk %.2f s, dql/mawk %.2f)\n", (d <= m ? "MET" : "NOT MET"), d, m, d / m }'
    awk -v r="$dr" 'BEGIN { printf "target: dql peak RSS <= 200 MB: %s (%.1f MB)\n", (r <= 200 ? "MET" : "NOT MET"), r }'
else
    echo "targets: not evaluated (dql or mawk failed)"
fi
exit "$failed"
