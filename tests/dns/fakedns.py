#!/usr/bin/env python3
"""fakedns.py — a tiny misbehaving DNS server on loopback for the RESOLVE tests.

  fakedns.py MODE PORTFILE [ADDR]   serve UDP on ADDR (default 127.0.0.1), a free
                                    port written to PORTFILE once bound; runs until killed
  fakedns.py probe ADDR PORT NAME   send one A query, exit 0 when a NOERROR reply comes (1 s)

Modes (the reply to each query):
  silent     never answers
  wrongid    first a reply with a wrong ID, then one from the right ID with another
             question, then the right answer (A 192.0.2.1): the first two must be dropped
  refused    REFUSED            servfail   SERVFAIL
  dropfirst  ignores the first query for each (name, type), answers the next ones
  slow       answers after 300 ms"""
import socket
import struct
import sys
import time


def parse_q(p):
    i = 12
    while p[i] != 0:
        i += p[i] + 1
    return p[12:i + 1], struct.unpack("!HH", p[i + 1:i + 5])


def reply(q, rcode=0, answer=True, qid=None, qname=None):
    (qid0, flags) = struct.unpack("!HH", q[:4])
    name, (qt, qc) = parse_q(q)
    if qname is not None:
        name = qname
    rd = flags & 0x0100
    an = 1 if (answer and rcode == 0 and qt == 1) else 0
    h = struct.pack("!HHHHHH", qid0 if qid is None else qid, 0x8000 | 0x0400 | rd | rcode, 1, an, 0, 0)
    body = name + struct.pack("!HH", qt, qc)
    if an:
        body += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 1])
    return h + body


def serve(mode, portfile, addr):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((addr, 0))
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    import os
    os.rename(portfile + ".tmp", portfile)
    seen = set()
    while True:
        q, src = s.recvfrom(4096)
        if len(q) < 17:
            continue
        if mode == "silent":
            continue
        if mode == "wrongid":
            qid = struct.unpack("!H", q[:2])[0]
            s.sendto(reply(q, qid=qid ^ 0x5a5a), src)
            s.sendto(reply(q, qname=b"\x05other\x04test\x00"), src)
            s.sendto(reply(q), src)
        elif mode == "refused":
            s.sendto(reply(q, rcode=5), src)
        elif mode == "servfail":
            s.sendto(reply(q, rcode=2), src)
        elif mode == "dropfirst":
            k = parse_q(q)
            key = (k[0].lower(), k[1])
            if key not in seen:
                seen.add(key)
                continue
            s.sendto(reply(q), src)
        elif mode == "slow":
            time.sleep(0.3)
            s.sendto(reply(q), src)


def probe(addr, port, name):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    w = b"".join(bytes([len(l)]) + l.encode() for l in name.strip(".").split(".")) + b"\0"
    s.sendto(struct.pack("!HHHHHH", 4242, 0x0100, 1, 0, 0, 0) + w + struct.pack("!HH", 1, 1), (addr, int(port)))
    try:
        r, _ = s.recvfrom(4096)
    except OSError:
        return 1
    # ready only when the zone is loaded: NOERROR (SERVFAIL while loading)
    return 0 if len(r) >= 4 and (r[3] & 15) == 0 else 1


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "probe":
        sys.exit(probe(sys.argv[2], sys.argv[3], sys.argv[4]))
    if len(sys.argv) >= 3:
        serve(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1")
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)
