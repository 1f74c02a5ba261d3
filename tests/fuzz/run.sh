#!/bin/sh
# run.sh — runs every libFuzzer target for SECONDS (default 20) each, seeded
# from ../shared/data and the repository's tests and examples. Build first:
#   mkdir build-fuzz && cd build-fuzz && ../configure --enable-fuzz --enable-asan CC=clang && make -j2
# Usage: tests/fuzz/run.sh BUILDDIR [SECONDS]
# Exit status: non-zero when a fuzzer found a crash (its reproducer is kept
# in BUILDDIR/fuzz-artifacts/).
set -eu
B=${1:?usage: run.sh BUILDDIR [SECONDS]}
SECS=${2:-20}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SHARED:-$SRC/../shared}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/script" "$W/loaders" "$W/values" "$W/zone" "$W/mmdb" "$B/fuzz-artifacts"
# seeds: scripts from the tests and examples
i=0
for f in "$SRC"/tests/*.test "$SRC"/examples/*.dql; do
    [ -f "$f" ] || continue
    i=$((i + 1)); cp "$f" "$W/script/seed$i"
done
# seeds: small text data (first 4 KB of each file), with a loader selector byte
i=0
if [ -d "$SHARED/data" ]; then
    find "$SHARED/data" -type f \( -name '*.csv' -o -name '*.txt' -o -name '*.json*' -o -name '*.tsv' -o -name '*.zone' \) 2>/dev/null |
    head -n 200 | while read -r f; do
        i=$((i + 1))
        for sel in 0 1 2 3; do
            { printf "\\$(printf '%03o' "$sel")"; head -c 4096 "$f"; } > "$W/loaders/seed$i-$sel"
        done
    done
fi
printf '\001a,b,c,d\n1,Example.COM.,10.0.0.1,2024-01-02T03:04:05Z\n"x,""y",,::1,\n' > "$W/loaders/csv1"
printf '\003{"a":1,"b":"x.org","c":"::1","d":null,"e":[1,{"f":2}]}\n' > "$W/loaders/json1"
for v in '\0001' '\001-2147483648' '\0029223372036854775807' '\0031e308' '\0052024-02-29T23:59:60.123456+05:30' \
         '\006WWW.Example.COM.' '\007::ffff:1.2.3.4' '\01010.0.0.0/8'; do
    printf "$v" > "$W/values/seed$(printf '%s' "$v" | cksum | cut -d' ' -f1)"
done
# seeds: zone files (first 8 KB of each)
i=0
if [ -d "$SHARED/data/zones" ]; then
    find "$SHARED/data/zones" -type f ! -name '*.md' ! -name '*.out' 2>/dev/null | head -n 300 | while read -r f; do
        i=$((i + 1)); head -c 8192 "$f" > "$W/zone/seed$i"
    done
fi
printf '$ORIGIN x.\n$TTL 1h\n@ SOA ns hm (1 2 3 4 5)\n NS ns\n$GENERATE 1-3 h$ A 10.0.0.${0,3,d}\n' > "$W/zone/gen1"
# seeds: MaxMind databases, good and corrupt
if [ -d "$SHARED/data/mmdb" ]; then
    find "$SHARED/data/mmdb" -type f -name '*.mmdb' 2>/dev/null | while read -r f; do
        cp "$f" "$W/mmdb/$(basename "$f")"; chmod u+w "$W/mmdb/$(basename "$f")"
    done
fi
# seeds: DNS messages (a query and a reply with compression) for fuzz_dns_msg
mkdir -p "$W/dns_msg"
printf '\022\064\001\000\000\001\000\000\000\000\000\001\007example\003org\000\000\034\000\001\000\000\051\004\320\000\000\200\000\000\000' > "$W/dns_msg/query"
printf '\000\052\201\200\000\001\000\002\000\000\000\000\007example\003com\000\000\001\000\001\003www\300\014\000\005\000\001\000\000\001\054\000\002\300\014\300\014\000\001\000\001\000\000\000\074\000\004\300\000\002\001' > "$W/dns_msg/reply"
# seeds: captures for fuzz_pcap (its own framing: see fuzz-seeds.py)
mkdir -p "$W/pcap"
if [ -d "$SHARED/data/pcap" ] && command -v python3 >/dev/null 2>&1; then
    python3 "$SRC/tests/pcap/fuzz-seeds.py" "$SHARED/data/pcap" "$W/pcap" >/dev/null 2>&1 || true
fi
printf '\000' > "$W/pcap/empty"
# seeds: model files for fuzz_model (the built-in one, cut short, and garbage)
mkdir -p "$W/model"
if [ -f "$SRC/data/dga-default.dqlm" ]; then
    head -c 65536 "$SRC/data/dga-default.dqlm" > "$W/model/head"
fi
printf 'DQLM' > "$W/model/magic"
# library leaks that are not dql's (tests/lsan.supp)
LSAN_OPTIONS="suppressions=$SRC/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
rc=0
for t in script loaders values zone mmdb dns_msg pcap model; do
    bin="$B/tests/fuzz/fuzz_$t"
    [ -x "$bin" ] || { echo "run.sh: $bin not built (configure --enable-fuzz)" >&2; exit 2; }
    echo "fuzz_$t: $SECS s"
    if ! "$bin" -max_total_time="$SECS" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
            -artifact_prefix="$B/fuzz-artifacts/$t-" -print_final_stats=0 "$W/$t" > "$W/$t.log" 2>&1; then
        echo "fuzz_$t found a problem:" >&2
        # the report from its first line (the stack of the bad access) to the reproducer's name
        if grep -q '^==[0-9]*==ERROR' "$W/$t.log"; then
            sed -n '/^==[0-9]*==ERROR/,$p' "$W/$t.log" | grep -v '^  0x\|^Shadow\|^  [A-Z][a-z].*:  ' | head -n 80 >&2
        else
            tail -n 40 "$W/$t.log" >&2
        fi
        # the reproducer itself, so that a CI log alone is enough to replay it
        art=$(sed -n 's/.*Test unit written to //p' "$W/$t.log" | head -n 1)
        if [ -n "$art" ] && [ -f "$art" ]; then
            echo "reproducer ($(wc -c < "$art") octets; base64 -d > f && $bin f):" >&2
            base64 "$art" | head -n 200 >&2
        fi
        rc=1
    else
        grep -E "^#[0-9]+.*DONE|Done [0-9]+ runs" "$W/$t.log" | tail -n 1 || true
    fi
done
exit $rc
