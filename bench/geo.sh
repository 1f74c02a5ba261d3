#!/usr/bin/env bash
# geo.sh — the ENRICH benchmark (BENCHMARKS.md, ENRICH row): N lookups
# (default 5,000,000) of a mix of found and not-found addresses, v4 and v6,
#   1. on GeoIP2-City-Test.mmdb + GeoLite2-ASN-Test.mmdb, 5 fields (country,
#      city, lat, lon from the City database, asn from the ASN one), over
#      distinct-ish addresses ("uniform") and over a Zipf mix of 50,000
#      addresses ("zipf", repeated addresses as in zone mining);
#   2. on a larger country database (about 9 MB, 600,000 ranges) that
#      bench/geo_country.pl builds from Debian's tor-geoipdb with the Perl
#      writer, 1 field.
# In the same run: the floor, a plain C loop over libmaxminddb doing the same
# lookups and field extractions (bench/geo_floor.c, built here with cc -O2),
# and mmdblookup (Debian: mmdb-bin) on a sample, one process per address as
# it is used. dql runs `ENRICH ... WITH (cache = 0)` (no cache) and with its
# default cache; the input is read with lines() and the rows are dropped by
# a FILTER that keeps none, so that the times are the lookups, not printing.
# The runs are interleaved (floor, dql without cache, dql with cache, K
# times). Prints the median CPU time (user + sys) of the K runs, the time per
# address, the ratio to the floor's whole loop (reading and parsing
# included; dql's time includes its start and its reading), the median wall
# time, and dql's peak RSS. CPU time is compared because it moves less than
# wall time when other work shares the machine.
#
# Usage: bench/geo.sh [--lookups N] [--runs K] [--sample M]
# Environment: DQL, the dql binary (default ./dql at the top of the tree,
# then build*/dql); SHARED (default ../shared beside the tree). Inputs are
# generated once into bench/data/geo/. Needs python3, perl with
# libmaxmind-db-writer-perl, tor-geoipdb, mmdb-bin, cc. Never part of
# `make check`. Exit status: 0, 1 when a tool failed, 2 on a usage error.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
N=5000000
RUNS=3
SAMPLE=2000

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
        --lookups) N=${2:?--lookups needs a number}; shift 2 ;;
        --runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
        --sample) SAMPLE=${2:?--sample needs a number}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "geo.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

DQL=${DQL:-}
if [ -z "$DQL" ]; then
    for c in "$TOP/dql" "$TOP"/build*/dql; do [ -x "$c" ] && { DQL=$c; break; }; done
fi
[ -n "$DQL" ] && [ -x "$DQL" ] || { echo "geo.sh: dql is not built (set DQL)" >&2; exit 2; }
SHARED=${SHARED:-$(cd "$TOP/../shared" && pwd)}
T=$SHARED/data/mmdb/test-data
for tool in python3 perl cc mmdblookup; do
    command -v $tool >/dev/null || { echo "geo.sh: $tool is missing (see the header)" >&2; exit 2; }
done
[ -f /usr/share/tor/geoip ] || { echo "geo.sh: /usr/share/tor/geoip is missing (apt-get install tor-geoipdb)" >&2; exit 2; }

D=$HERE/data/geo
mkdir -p "$D"
W=$(mktemp -d "${TMPDIR:-/tmp}/dql-geo.XXXXXX")
trap 'rm -rf "$W"' EXIT

echo "== inputs ($N lookups each, in $D)"
for kind in test zipf; do
    f=$D/$kind-$N.txt
    [ -s "$f" ] || python3 "$HERE/geo_gen.py" $kind "$SHARED" "$N" 42 > "$f"
done
[ -s "$D/tor-$N.txt" ] || python3 "$HERE/geo_gen.py" tor "$N" 42 > "$D/tor-$N.txt"
[ -s "$D/country.mmdb" ] || perl "$HERE/geo_country.pl" "$D/country.mmdb"
cc -O2 -o "$W/geo_floor" "$HERE/geo_floor.c" $(pkg-config --cflags --libs libmaxminddb)

# median of the numbers on stdin
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# mkdql NAME INPUT CITY ASN|- FIELDS CACHE: writes $W/NAME.dql
mkdql() {
    local name=$1 input=$2 city=$3 asn=$4 fields=$5 cache=$6
    {
        echo "SET geo.path '$W/none';"
        if [ "$asn" = - ]; then echo "SET geo.country '$city';"; else echo "SET geo.city '$city'; SET geo.asn '$asn';"; fi
        echo "a = LOAD '$input' USING lines() AS (ip:chararray);"
        echo "g = ENRICH a BY ip WITH (fields = ($fields), cache = $cache);"
        echo "f = FILTER g BY country == 'no such';"
        echo "DUMP f;"
    } > "$W/$name.dql"
}

# dqlrun NAME: one run; appends "cpu wall rss_kb" to $W/NAME.times
dqlrun() {
    /usr/bin/time -f '%U %S %e %M' -o "$W/t" "$DQL" "$W/$1.dql" > /dev/null
    awk '{ print $1 + $2, $3, $4 }' "$W/t" >> "$W/$1.times"
}

# row LABEL CPU FLOOR-CPU WALL [RSS-KB]
row() {
    awk -v l="$1" -v s="$2" -v f="$3" -v w="$4" -v m="${5:-}" -v n="$N" 'BEGIN {
        printf "%-38s %7.2f s cpu %6.0f ns/addr %5.2f M/s %5.2fx floor %7.2f s wall%s\n", l, s, s * 1e9 / n, n / s / 1e6, s / f, w, m == "" ? "" : sprintf("  %d MB RSS", m / 1024) }'
}

col() { cut -d' ' -f"$2" "$1" | median; }

# bench LABEL INPUT CITY ASN|- FIELDS
bench() {
    local label=$1 in=$2 city=$3 asn=$4 fields=$5 i
    mkdql nocache "$in" "$city" "$asn" "$fields" 0
    mkdql cache "$in" "$city" "$asn" "$fields" 8192
    : > "$W/floor"; : > "$W/nocache.times"; : > "$W/cache.times"
    for i in $(seq "$RUNS"); do
        "$W/geo_floor" "$city" "$asn" "$in" >> "$W/floor"
        dqlrun nocache
        dqlrun cache
    done
    local fl
    fl=$(col "$W/floor" 3)
    echo "-- $label: $(head -1 "$W/floor" | cut -d' ' -f2) of $N found"
    row "C loop (read, parse, lookups)" "$fl" "$fl" "$(col "$W/floor" 5)"
    row "C loop (lookups of parsed sockaddrs)" "$(col "$W/floor" 4)" "$fl" "$(col "$W/floor" 6)"
    row "dql ENRICH, cache = 0" "$(col "$W/nocache.times" 1)" "$fl" "$(col "$W/nocache.times" 2)" "$(col "$W/nocache.times" 3)"
    row "dql ENRICH, cache = 8192 (default)" "$(col "$W/cache.times" 1)" "$fl" "$(col "$W/cache.times" 2)" "$(col "$W/cache.times" 3)"
}

echo
echo "== City + ASN test databases, 5 fields (country, city, lat, lon, asn)"
for mix in test zipf; do
    bench "$mix mix" "$D/$mix-$N.txt" "$T/GeoIP2-City-Test.mmdb" "$T/GeoLite2-ASN-Test.mmdb" "country, city, lat, lon, asn"
done

echo
echo "== tor-geoipdb country database ($(du -h "$D/country.mmdb" | cut -f1)), 1 field"
bench "tor mix" "$D/tor-$N.txt" "$D/country.mmdb" - "country"

echo
echo "== mmdblookup, one process per address ($SAMPLE addresses of the test mix, City database)"
head -n "$SAMPLE" "$D/test-$N.txt" > "$W/sample.txt"
start=$(date +%s.%N)
while read -r ip; do mmdblookup -f "$T/GeoIP2-City-Test.mmdb" -i "$ip" country iso_code > /dev/null 2>&1 || true; done < "$W/sample.txt"
end=$(date +%s.%N)
awk -v a="$start" -v b="$end" -v n="$SAMPLE" 'BEGIN { printf "%-38s %8.3f s %8.0f ns/addr %6.4f M/s\n", "mmdblookup", b - a, (b - a) * 1e9 / n, n / (b - a) / 1e6 }'
