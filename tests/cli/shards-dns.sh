#!/bin/sh
# shards-dns.sh — sharded runs of DNS work (src/shard.c, doc/shards.md):
# zone mining against a real NSD on loopback (the zone loaded, its names
# resolved in the tasks, answers grouped and ordered in the merge) gives the
# rows of one process with 1, 2 and 7 shards; a folder of UDP captures
# (split by file) likewise. Skips (exit 77) without nsd or python3.
. "${SRCDIR:-$(dirname "$0")/../..}/tests/cli/lib.sh"
. "${SRCDIR:-$(dirname "$0")/../..}/tests/dns/fixture.sh"

dns_need nsd python3
trap 'dns_stop_all; rm -rf "$T"' EXIT
mkdir "$T/nsd"
python3 "$DNS_DIR_FIX/gen-zone.py" bench "$T/nsd" 1500
nsd_start "$T/nsd" bench.zone bench 0 || exit 99
S="udp://127.0.0.1:$NSD_PORT"

# same NAME N SCRIPT: the script's output with N shards is that of one process
same() {
    "$DQL" "$3" > "$T/.run/one" 2> "$T/.run/one.err" || { echo "FAIL: $1: the unsharded run failed:" >&2; cat "$T/.run/one.err" >&2; exit 1; }
    [ -s "$T/.run/one" ] || { echo "FAIL: $1: the unsharded run printed nothing" >&2; exit 1; }
    check_run "$1 ($2 shards)" 0 "@$T/.run/one" '*' "$DQL" --shards "$2" "$3"
}

cat > mine.dql <<EOF
z = LOAD '$T/nsd/bench.zone' USING zone('bench.');
a = FILTER z BY type == 'A';
r = RESOLVE a BY owner TYPES (A, MX, TXT) WITH (servers = '$S');
g = GROUP r BY (qtype, status);
DUMP (ORDER (FOREACH g GENERATE FLATTEN(group), COUNT(r)) BY \$0, \$1);
x = FOREACH r GENERATE name, qtype, FLATTEN(answers);
m = FILTER x BY \$4 == 'MX' AND ENDSWITH(name, '7');
DUMP (ORDER (FOREACH m GENERATE name, \$6) BY name);
EOF
for n in 1 2 7; do same "zone mining against NSD" $n mine.dql; done
grep -q '^A,ok,1501$' "$T/.run/out" || { echo "FAIL: zone mining: not every A lookup answered:" >&2; cat "$T/.run/out" >&2; exit 1; }

# a folder of captures, split by file
P=${SHARED:-$SRCDIR/../shared}/data/pcap
if [ -d "$P/dnscap" ] && [ -d "$P/tcpdump" ]; then
    # TCP streams, fragments and pairs carry over from one file to the next in
    # one process, not across a shard boundary (doc/shards.md): the folder
    # holds the UDP captures, whose rows do not depend on the file before
    mkdir caps
    for f in "$P"/dnscap/*.pcap* "$P"/tcpdump/*.pcap*; do
        case $f in *tcp*) continue ;; esac
        [ -f "$f" ] && cp "$f" caps/
    done
    cat > caps.dql <<'EOF'
p = LOAD 'caps' USING pcap();
g = GROUP p BY (qtype, rcode);
DUMP (ORDER (FOREACH g GENERATE FLATTEN(group), COUNT(p)) BY $0, $1);
DUMP (ORDER (FOREACH (FILTER p BY qname IS NOT NULL) GENERATE ts, qname, qtype) BY ts, qname, qtype);
EOF
    for n in 2 5; do same "a folder of pcaps" $n caps.dql; done
else
    echo "note: $P/dnscap or tcpdump missing: pcap folder not tested"
fi
pass
