#!/bin/sh
# inputs.sh — LOAD ... USING pcap() on inputs a .test file cannot hold:
# gzip-compressed pcap and pcapng, stdin ('-'), a file cut in the middle of
# a record (a counted warning, the rows before it kept), and a file that is
# not a capture (an error naming it).
# Environment: DQL (the binary), SHARED (../shared).
set -u
DQL=${DQL:-./dql}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SHARED:-$SRC/../shared}
P=$SHARED/data/pcap
[ -d "$P" ] || { echo "inputs.sh: no $P: skipped"; exit 77; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
pass=0 fail=0
check() {   # check NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then pass=$((pass + 1)); else
        fail=$((fail + 1)); printf 'FAIL %s\n--- expected\n%s\n--- got\n%s\n' "$1" "$2" "$3"; fi
}
count() { "$DQL" -X --db "$W/x.db" -e "p = LOAD '$1' USING pcap(); n = FOREACH (GROUP p ALL) GENERATE COUNT(p); DUMP n;" 2>&1; }
gzip -c "$P/dnscap/dns.pcap" > "$W/dns.pcap.gz"
check "gzip pcap" 82 "$(count "$W/dns.pcap.gz")"
gzip -c "$P/sanders/dns_lab.pcapng" > "$W/lab.pcapng.gz"
check "gzip pcapng" 22 "$(count "$W/lab.pcapng.gz")"
check "stdin pcap" 82 "$(count - < "$P/dnscap/dns.pcap")"
check "stdin pcapng" 22 "$(count - < "$P/sanders/dns_lab.pcapng")"
head -c 10000 "$P/dnscap/dns.pcap" > "$W/cut.pcap"
out=$("$DQL" -X --db "$W/x.db" -e "p = LOAD '$W/cut.pcap' USING pcap(); n = FOREACH (GROUP p ALL) GENERATE COUNT(p); DUMP n;" 2>"$W/err")
check "cut file: rows before the cut" 40 "$out"
check "cut file: warning" 1 "$(grep -c 'pcap: truncated file' "$W/err")"
printf 'not a capture at all, just text\n' > "$W/text.pcap"
"$DQL" -X --db "$W/x.db" -e "p = LOAD '$W/text.pcap' USING pcap(); DUMP p;" > /dev/null 2>"$W/err"
check "not a capture: exit status" 1 "$?"
check "not a capture: message" 1 "$(grep -c "is not a pcap or pcapng capture" "$W/err")"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
