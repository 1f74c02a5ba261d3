#!/bin/sh
# compare-tshark.sh — checks LOAD ... USING pcap() against tshark on the real
# captures in ../shared/data/pcap: for each file, the multiset of messages
# (id, qr, lower-case qname, answer count) and the multiset of IPv4 and IPv6
# addresses in A/AAAA records must be the same in dql's rows as in tshark's
# dissection (several DNS PDUs in one TCP frame are split on tshark's side).
# Usage: tests/pcap/compare-tshark.sh [FILE...]   (default: the list below)
# Environment: DQL (the binary), SHARED (../shared). Skips (77) without tshark.
set -u
LC_ALL=C; export LC_ALL
DQL=${DQL:-./dql}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SHARED:-$SRC/../shared}
P=$SHARED/data/pcap
command -v tshark >/dev/null 2>&1 || { echo "compare-tshark: tshark not installed: skipped"; exit 77; }
[ -d "$P" ] || { echo "compare-tshark: no $P: skipped"; exit 77; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
if [ $# -eq 0 ]; then
    set -- dnscap/dns.pcap dnscap/dns6.pcap dnscap/dnso1tcp.pcap dnscap/frags.pcap dnscap/vlan11.pcap \
        dnscap/sll2.pcap dnscap/edns.pcap dnscap/1qtcpnosyn.pcap dnscap/dnspad.pcap \
        dnscap/ipv6-with-ethernet-padding.pcap tcpdump/dns_udp.pcap tcpdump/dns_tcp.pcap \
        tcpdump/dnssec.pcap tcpdump/edns-opts.pcap tcpdump/dns-uri.pcap tcpdump/dns-badcookie.pcap \
        tcpdump/dns-badvers.pcap sanders/dns_query_response.pcapng sanders/dns_tcp.pcapng \
        sanders/dns_axfr.pcapng sanders/dns_lab.pcapng sanders/dns_query_nonexistent.pcapng \
        sanders/dns_reverse_lookup.pcapng sanders/dns_isp_hijack.pcapng ndpi/dns-tunnel-iodine.pcap \
        ndpi/dns_exfiltration.pcap ndpi/bad-dns-traffic.pcap ndpi/dns_fragmented.pcap \
        ndpi/dns-google-nsid.pcapng ndpi/dns_invert_query.pcapng zeek/dns-edns-ecs.pcap \
        zeek/ipv6-fragmented-dns.pcap zeek/dns_long-connection.pcap stopddos/amp.dns.RRSIG.fragmented.pcap
fi
fail=0
n=0
for f in "$@"; do
    case $f in /*) path=$f ;; *) path=$P/$f ;; esac
    n=$((n + 1))
    # tshark: one line per frame, fields of several PDUs joined by ','
    tshark -n -r "$path" -Y 'dns && !icmp && !icmpv6' -T fields -E occurrence=a -E separator=/t -E aggregator='^' \
        -e dns.id -e dns.flags.response -e dns.qry.name -e dns.count.answers \
        -o dns.desegment_dns_messages:TRUE 2>/dev/null |
    awk -F'\t' '
    function hex(s,   i, v, c) { s = tolower(s); sub(/^0x/, "", s); v = 0
        for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c }
        return v }
    {
        n = split($1, id, "^"); split($2, qr, "^"); split($3, qn, "^"); split($4, an, "^");
        for (i = 1; i <= n; i++) {
            q = tolower(qn[i]); if (q == "<root>") q = "."; if (q ~ /[^ -~]/) q = "<binary>";
            printf "%d %s %s %s\n", hex(id[i]), (qr[i] == "1" || qr[i] == "True") ? "true" : "false", q, an[i]
        }
    }' | sort > "$W/t.msg"
    tshark -n -r "$path" -Y 'dns && !icmp && !icmpv6' -T fields -E occurrence=a -E separator=/t \
        -e dns.a -e dns.aaaa 2>/dev/null | tr '\t,' '\n\n' | grep . | sort > "$W/t.addr"
    "$DQL" -X --db "$W/x.db" --mode tsv -e "p = LOAD '$path' USING pcap(); m = FILTER p BY id IS NOT NULL;
        o = FOREACH m GENERATE id, qr, LOWER(qname), ancount; DUMP o;" 2>"$W/err" |
        awk -F'\t' '{ q = $3; if (q ~ /\\[0-9][0-9][0-9]/) q = "<binary>"; else gsub(/\\/, "", q)
                      printf "%s %s %s %s\n", $1, $2, q, $4 }' | sort > "$W/d.msg"
    "$DQL" -X --db "$W/x.db" -e "p = LOAD '$path' USING pcap();
        a = FOREACH p GENERATE FLATTEN(answers); b = FOREACH p GENERATE FLATTEN(authority);
        c = FOREACH p GENERATE FLATTEN(additional); u = UNION a, b, c;
        x = FILTER u BY address IS NOT NULL; y = FOREACH x GENERATE address; DUMP y;" 2>>"$W/err" | sort > "$W/d.addr"
    if ! cmp -s "$W/t.msg" "$W/d.msg" || ! cmp -s "$W/t.addr" "$W/d.addr"; then
        echo "FAIL $f: tshark $(wc -l < "$W/t.msg") messages / $(wc -l < "$W/t.addr") addresses, dql $(wc -l < "$W/d.msg") / $(wc -l < "$W/d.addr")"
        diff "$W/t.msg" "$W/d.msg" | head -n 10
        diff "$W/t.addr" "$W/d.addr" | head -n 6
        head -n 3 "$W/err"
        fail=$((fail + 1))
    else
        echo "ok   $f: $(wc -l < "$W/d.msg") messages, $(wc -l < "$W/d.addr") addresses"
    fi
done
echo "$((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
