#!/bin/sh
# shards-dns.sh — sharded runs of DNS work (src/shard.c, doc/shards.md):
# zone mining against a real NSD on loopback (the zone loaded, its names
# resolved in the tasks, answers grouped and ordered in the merge) gives the
# rows of one process with 1, 2 and 7 shards; a folder of captures (split
# by file) likewise, and rotated captures whose TCP streams, fragments and
# exchanges run across files. Skips (exit 77) without nsd or python3.
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
    mkdir caps
    for f in "$P"/dnscap/*.pcap* "$P"/tcpdump/*.pcap*; do
        [ -f "$f" ] && cp "$f" caps/
    done
    cat > caps.dql <<'EOF'
p = LOAD 'caps' USING pcap();
g = GROUP p BY (qtype, rcode);
DUMP (ORDER (FOREACH g GENERATE FLATTEN(group), COUNT(p)) BY $0, $1);
DUMP (ORDER (FOREACH (FILTER p BY qname IS NOT NULL) GENERATE ts, qname, qtype) BY ts, qname, qtype);
EOF
    for n in 2 5; do same "a folder of pcaps" $n caps.dql; done
    # rotated captures: a TCP connection (a length prefix and its message in
    # separate segments), fragmented datagrams and queries whose response is
    # in the next file; each capture cut into 6 files. Every row in order,
    # by message and by exchange: the tasks warm up on the file before their
    # block, and a task whose warm-up cannot rebuild the state runs again
    for c in dnso1tcp frags dns; do
        mkdir "rot-$c"
        python3 "$SRCDIR/tests/pcap/split-pcap.py" "$P/dnscap/$c.pcap" 6 "rot-$c" > /dev/null ||
            { echo "FAIL: split-pcap.py $c" >&2; exit 1; }
        cat > "rot-$c.dql" <<EOF
p = LOAD 'rot-$c' USING pcap();
DUMP (FOREACH p GENERATE ts, src, sport, dst, dport, transport, id, qname, qtype, size, error);
q = LOAD 'rot-$c' USING pcap(pairs = true);
DUMP (FOREACH q GENERATE ts, src, sport, id, qname, status, rtt_ms, response_size, error);
EOF
        for n in 2 3 4 7; do same "rotated captures ($c)" $n "rot-$c.dql"; done
    done
    # the guesses hold where the state before a task's block is in the file
    # before it (UDP exchanges), and are redone where it is not (one TCP
    # connection across all six files)
    printf 'SET stats true;\n' | cat - rot-dns.dql > stats-dns.dql
    "$DQL" --shards 3 stats-dns.dql > /dev/null 2> stats.err || { echo "FAIL: rotated captures with stats:" >&2; cat stats.err >&2; exit 1; }
    ! grep -q 'wrong guess' stats.err || { echo "FAIL: a pcap warm-up did not hold on UDP exchanges:" >&2; cat stats.err >&2; exit 1; }
    printf 'SET stats true;\n' | cat - rot-dnso1tcp.dql > stats-tcp.dql
    check_run "a TCP stream across the block: the task runs again" 0 '*' \
        '~started from a wrong guess of the state before' "$DQL" --shards 3 stats-tcp.dql
else
    echo "note: $P/dnscap or tcpdump missing: pcap folder not tested"
fi
pass
