#!/bin/sh
# pcap.sh — pcap -> DNS rows: dql against dnsjit, dnscap, tshark and a libpcap
# loop that only counts packets (the floor), on one capture written by
# ../shared/tools/gen_dns_pcap.py (79% IPv4 / 21% IPv6, 10% TCP, VLAN tags,
# fragments, EDNS, CNAME chains, NXDOMAIN, malformed packets).
# Each tool runs ROUNDS times, interleaved; the median time of each is kept.
# Prints MB/s, packets/s, peak RSS and the ratio to dnsjit's row output.
# Usage: bench/pcap.sh [PACKETS (default 1000000)] [ROUNDS (default 3)]
#   tshark runs only on captures of at most 1M packets (it takes minutes).
#   DQL_BASE=path/to/an/older/dql also runs that binary's dql rows in the same
#   rounds (before/after a change, measured side by side).
# Needs: /usr/bin/python3 with python3-dnspython, libpcap-dev; optional:
# dnsjit, dnscap, tshark (Debian packages).
set -eu
N=${1:-1000000}
ROUNDS=${2:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
DQL=${DQL:-$TOP/dql}
SHARED=${SHARED:-$TOP/../shared}
W=$HERE/data/pcap
mkdir -p "$W"
F=$W/dns-$N.pcap
if [ ! -s "$F" ]; then
    echo "writing $F ($N packets) ..."
    /usr/bin/python3 "$SHARED/tools/gen_dns_pcap.py" "$F.tmp" "$N" && mv "$F.tmp" "$F"
fi
BYTES=$(wc -c < "$F")
cat "$F" > /dev/null   # page cache

# The floor: libpcap's own loop, counting packets.
cat > "$W/pcap_floor.c" <<'C'
#include <pcap/pcap.h>
#include <stdio.h>
int main(int argc, char **argv)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(argv[1], err);
    if (!p) { fprintf(stderr, "%s\n", err); return 2; }
    struct pcap_pkthdr *h; const u_char *d; unsigned long n = 0, bytes = 0;
    while (pcap_next_ex(p, &h, &d) == 1) { n++; bytes += h->caplen; }
    printf("%lu packets\n", n);
    pcap_close(p);
    return 0;
}
C
have_floor=0
cc -O2 -o "$W/pcap_floor" "$W/pcap_floor.c" -lpcap 2>/dev/null && have_floor=1

cat > "$W/all.dql" <<D
p = LOAD '$F' USING pcap();
DUMP p;
D
cat > "$W/hdr.dql" <<D
p = LOAD '$F' USING pcap();
h = FOREACH p GENERATE ts, src, sport, dst, dport, id, qr, opcode, rd, qname, qtype;
DUMP h;
D
cat > "$W/count.dql" <<D
p = LOAD '$F' USING pcap();
DUMP (FOREACH (GROUP p ALL) GENERATE COUNT(p));
D
cat > "$W/pairs.dql" <<D
p = LOAD '$F' USING pcap(pairs = true);
DUMP p;
D

# name|command ; every command reads $F
set -- \
  "dql all fields, TSV|$DQL -X --db $W/b.db --mode tsv $W/all.dql > /dev/null" \
  "dql header+qname+addrs, TSV|$DQL -X --db $W/b.db --mode tsv $W/hdr.dql > /dev/null" \
  "dql count|$DQL -X --db $W/b.db $W/count.dql" \
  "dql pairs, all fields, TSV|$DQL -X --db $W/b.db --mode tsv $W/pairs.dql > /dev/null"
if [ -n "${DQL_BASE:-}" ]; then
    set -- "$@" \
      "base: all fields, TSV|$DQL_BASE -X --db $W/b.db --mode tsv $W/all.dql > /dev/null" \
      "base: header+qname+addrs, TSV|$DQL_BASE -X --db $W/b.db --mode tsv $W/hdr.dql > /dev/null" \
      "base: count|$DQL_BASE -X --db $W/b.db $W/count.dql" \
      "base: pairs, all fields, TSV|$DQL_BASE -X --db $W/b.db --mode tsv $W/pairs.dql > /dev/null"
fi
[ $have_floor = 1 ] && set -- "$@" "libpcap count loop (floor)|$W/pcap_floor $F"
if command -v dnsjit >/dev/null; then
    set -- "$@" "dnsjit header count (mmpcap)|dnsjit $HERE/pcap_dnsjit.lua $F count" \
                "dnsjit rows|dnsjit $HERE/pcap_dnsjit.lua $F rows > /dev/null"
fi
command -v dnscap >/dev/null && set -- "$@" "dnscap -g|dnscap -r $F -g 2> /dev/null"
if command -v tshark >/dev/null && [ "$N" -le 1000000 ]; then
    set -- "$@" "tshark -T fields|tshark -n -r $F -Y dns -T fields -e frame.time_epoch -e ip.src -e ip.dst -e dns.id -e dns.flags.response -e dns.flags.rcode -e dns.qry.name -e dns.qry.type -e dns.a > /dev/null 2>&1"
fi

R=$W/results; : > "$R"
r=1
while [ $r -le "$ROUNDS" ]; do
    for t in "$@"; do
        name=${t%%|*}; cmd=${t#*|}
        # tshark runs once (it takes minutes)
        case $name in tshark*) [ $r -gt 1 ] && continue ;; esac
        /usr/bin/time -f "%e %M" -o "$W/time" sh -c "$cmd" > "$W/out" 2> "$W/err" || true
        echo "$name|$(tail -n 1 "$W/time")|$( (cat "$W/out"; tail -n 1 "$W/err") | head -c 40 | tr '\n' ' ')" >> "$R"
    done
    r=$((r + 1))
done
echo "pcap: $F ($BYTES bytes, $N packets), median of $ROUNDS interleaved rounds (tshark: 1 round)"
awk -F'|' -v bytes="$BYTES" -v n="$N" '
{ split($2, a, " "); x = $1;
  if (!(x in cnt)) { name[++k] = x }
  c = ++cnt[x]; tt[x, c] = a[1] + 0; mm[x, c] = a[2] + 0; out[x] = $3 }
function median(x,   i, j, v, c, arr) {
  c = cnt[x]; for (i = 1; i <= c; i++) arr[i] = tt[x, i];
  for (i = 2; i <= c; i++) { v = arr[i]; for (j = i - 1; j >= 1 && arr[j] > v; j--) arr[j + 1] = arr[j]; arr[j + 1] = v }
  return arr[int((c + 1) / 2)] }
function maxrss(x,   i, m) { m = 0; for (i = 1; i <= cnt[x]; i++) if (mm[x, i] > m) m = mm[x, i]; return m }
END {
  ref = ("dnsjit rows" in cnt) ? median("dnsjit rows") : 0;
  printf "%-32s %8s %9s %12s %8s %11s  %s\n", "tool", "seconds", "MB/s", "packets/s", "RSS MB", "vs dnsjit", "output";
  for (i = 1; i <= k; i++) { x = name[i]; t = median(x); if (t <= 0) t = 0.001;
    printf "%-32s %8.2f %9.1f %12.0f %8.1f %11s  %s\n", x, t, bytes / t / 1e6, n / t, maxrss(x) / 1024,
      ref ? sprintf("%.2fx", ref / t) : "-", out[x] }
}' "$R"
