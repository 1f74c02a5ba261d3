#!/bin/sh
# inputs.sh — LOAD ... USING pcap() on inputs a .test file cannot hold:
# gzip-compressed pcap and pcapng, stdin ('-'), a file cut in the middle of
# a record (a counted warning, the rows before it kept), a file that is not
# a capture (an error naming it), and a capture written here of odd names
# and records (with python3).
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
# Names the fast paths of op_pcap.c do not take, and the ones they do: upper
# case, '/', '*', '_', a dot, NUL and 0xff in labels, labels of 45 and 48
# octets (lengths that read as '-' and '0'), the root, 253 characters, a
# question name through a pointer, bad and cut names; every record type with
# its own rendering path (A, AAAA in all its forms, NS, CNAME, PTR, DNAME,
# and the general one for MX, TXT and a bad A). TSV escapes the backslashes.
if command -v python3 > /dev/null; then
cat > "$W/names.py" <<'EOF'
import struct, sys
def name(labels):
    return b''.join(bytes([len(l)]) + l for l in labels) + b'\0'
def rr(owner, typ, ttl, rdata):
    return owner + struct.pack('>HHIH', typ, 1, ttl, len(rdata)) + rdata
def msg(id, flags, q, an=(), ns=(), ar=(), qd=1):
    return struct.pack('>HHHHHH', id, flags, qd, len(an), len(ns), len(ar)) + q + b''.join(an) + b''.join(ns) + b''.join(ar)
def udp4(payload, sport, dport):
    u = struct.pack('>HHHH', sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(u), 1, 0, 64, 17, 0, bytes([10,0,0,1]), bytes([10,0,0,2])) + u
    return b'\x00' * 12 + b'\x08\x00' + ip
out = [struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)]
t = [1700000000, 0]
def rec(frame):
    t[1] += 1500
    out.append(struct.pack('<IIII', t[0], t[1], len(frame), len(frame)) + frame)
qn = name([b'WwW', b'Ex-am_p/l*e', b'a.b', b'\x00\xff', b'C0M'])
q = qn + struct.pack('>HH', 1, 1)
rec(udp4(msg(1, 0x0100, q), 40000, 53))
P = b'\xc0\x0c'
an = [
    rr(P, 5, 60, name([b'Target', b'x' * 48, b'Ab\\c', b'-' * 45, b'COM'])),
    rr(P, 1, 60, bytes([192, 0, 2, 1])),
    rr(P, 28, 60, bytes(10) + b'\xff\xff' + bytes([1, 2, 3, 4])),
    rr(P, 28, 60, bytes(15) + b'\x01'),
    rr(P, 28, 60, bytes(16)),
    rr(P, 28, 60, bytes.fromhex('20010db8000000000001000000000001')),
    rr(P, 28, 60, bytes.fromhex('00000000000000000000000100020003')),
    rr(P, 28, 60, bytes.fromhex('000000000000000000000000000000ff')),
    rr(name([b'OWNER', b'Example']), 2, 60, name([b'NS1', b'Example'])),
    rr(P, 12, 60, b'\0'),
    rr(P, 39, 60, name([b'a b', b'\t', b'\\', b'"'])),
    rr(P, 15, 60, struct.pack('>H', 10) + name([b'Mail', b'Example'])),
    rr(P, 16, 60, b'\x07a\tb\\c"d'),
    rr(P, 1, 60, bytes([1, 2, 3])),
]
rec(udp4(msg(1, 0x8180, q, an), 53, 40000))
# question name through a pointer back into the header (id 0 -> root)
rec(udp4(msg(0, 0x0100, b'\xc0\x00' + struct.pack('>HH', 1, 1)), 40001, 53))
# an extended label type, a name over 255 octets, a name ending the message
rec(udp4(msg(3, 0x0100, b'\x41abc\x00' + struct.pack('>HH', 1, 1)), 40002, 53))
rec(udp4(msg(4, 0x0100, name([b'y' * 63] * 4) + struct.pack('>HH', 1, 1)), 40003, 53))
rec(udp4(msg(5, 0x0100, b'\x03abc'), 40004, 53))
rec(udp4(msg(6, 0x0100, name([b'abc']) + b'\x00'), 40005, 53))
# the root, a name of 253 characters, a label of 63
rec(udp4(msg(7, 0x0100, b'\x00' + struct.pack('>HH', 2, 1)), 40006, 53))
rec(udp4(msg(8, 0x0100, name([b'z' * 63] * 3 + [b'w' * 61]) + struct.pack('>HH', 1, 1)), 40007, 53))
open(sys.argv[1], 'wb').write(b''.join(out))
EOF
python3 "$W/names.py" "$W/names.pcap"
cat > "$W/names.h" <<'EOF'
1	www.ex-am_p/l*e.a\\.b.\\000\\255.c0m	A	IN
1	www.ex-am_p/l*e.a\\.b.\\000\\255.c0m	A	IN
0	.	A	IN
3			
4			
5			
6			
7	.	NS	IN
8	zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz.zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz.zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz.wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww	A	IN
EOF
cat > "$W/names.a" <<'EOF'
1	www.ex-am_p/l*e.a\\.b.\\000\\255.c0m	60	CNAME	target.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.ab\\\\c.---------------------------------------------.com.	target.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.ab\\\\c.---------------------------------------------.com	
1	www.ex-am_p/l*e.a\\.b.\\000\\255.c0m	60	A	192.0.2.1		192.0.2.1
1	www.ex-am_p/l*e.a\\.b.\\000\\255.c0m	60	AAAA	::ffff:1.2.3.4		::ffff:1.2.3.4
1	www.ex-am_p/l*e.a\\.b.\\000\\255.c0m	60	AAAA	::1		::1
1	www.ex-am_p/l*e.a\\.b.\\000\\255.c0m	60	AAAA	::		::
1	www.ex-am_p/l*e.a\\.b.\\000\\255.c0m	60	AAAA	2001:db8::1:0:0:1		2001:db8::1:0:0:1
1	www.ex-am_p/l*e.a\\.b.\\000\\255.c0m	60	AAAA	::1:2:3		::1:2:3
1	www.ex-am_p/l*e.a\\.b.\\000\\255.c0m	60	AAAA	::ff		::ff
1	owner.example	60	NS	ns1.example.	ns1.example	
1	www.ex-am_p/l*e.a\\.b.\\000\\255.c0m	60	PTR	.	.	
1	www.ex-am_p/l*e.a\\.b.\\000\\255.c0m	60	DNAME	a\\032b.\\009.\\\\.\\".	a\\032b.\\009.\\\\.\\"	
1	www.ex-am_p/l*e.a\\.b.\\000\\255.c0m	60	MX	10 mail.example.	mail.example	
1	www.ex-am_p/l*e.a\\.b.\\000\\255.c0m	60	TXT	"a\\009b\\\\c\\"d"		
1	www.ex-am_p/l*e.a\\.b.\\000\\255.c0m	60	A	\\# 3 010203		
EOF
"$DQL" -X --db "$W/x.db" --mode tsv -e "p = LOAD '$W/names.pcap' USING pcap(); h = FOREACH p GENERATE id, qname, qtype, qclass; DUMP h;" > "$W/out.h" 2>&1
check "names: question names alone" "$(cat "$W/names.h")" "$(cat "$W/out.h")"
"$DQL" -X --db "$W/x.db" --mode tsv -e "p = LOAD '$W/names.pcap' USING pcap(); a = FOREACH p GENERATE id, FLATTEN(answers); DUMP a;" > "$W/out.a" 2>&1
check "names: records" "$(cat "$W/names.a")" "$(cat "$W/out.a")"
"$DQL" -X --db "$W/x.db" --mode tsv -e "p = LOAD '$W/names.pcap' USING pcap(); h = FOREACH p GENERATE id, qname, qtype, qclass, error; DUMP h;" > "$W/out.e" 2>&1
check "names: question names with the whole message read" \
    "$(printf '%s\n' 1 1 0 '3 bad name' '4 bad name' '5 message truncated' '6 message truncated' 7 8)" \
    "$(cut -f 1,5 "$W/out.e" | tr '\t' ' ' | sed 's/ $//')"
else
    echo "inputs.sh: no python3: the names case is skipped"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
