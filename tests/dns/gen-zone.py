#!/usr/bin/env python3
"""gen-zone.py — writes the zones the RESOLVE tests and benchmark serve with NSD.

  gen-zone.py fixture DIR      DIR/test.zone: the test zone `test.` (A, AAAA, MX, TXT,
                               NS delegations with glue, CNAME chains, a wildcard, a
                               TXT too large for UDP, NODATA and NXDOMAIN names)
  gen-zone.py bench DIR N      DIR/bench.zone: zone `bench.` with N names n0..n{N-1},
                               each with A, AAAA, MX, TXT and NS records, and
                               DIR/names.txt (the N names, one a line)

Deterministic: the same arguments give the same files."""
import os
import sys

SOA = "@ 3600 IN SOA ns1.{z}. hostmaster.{z}. 1 3600 900 604800 300\n@ 3600 IN NS ns1.{z}.\nns1 3600 IN A 127.0.0.1\n"


def fixture(d):
    z = SOA.format(z="test") + """
a       300 IN A     192.0.2.1
a       300 IN AAAA  2001:db8::1
b       300 IN A     192.0.2.2
b       300 IN A     192.0.2.3
mx      300 IN MX    10 mail.test.
mx      300 IN MX    20 mail2.test.
mail    300 IN A     192.0.2.25
mail2   300 IN A     192.0.2.26
txt     300 IN TXT   "hello world" "second string"
c1      300 IN CNAME c2.test.
c2      300 IN CNAME a.test.
sub     300 IN NS    ns1.sub.test.
sub     300 IN NS    ns2.sub.test.
ns1.sub 300 IN A     192.0.2.53
ns2.sub 300 IN A     192.0.2.54
*.wild  300 IN A     192.0.2.99
real.wild 300 IN A   192.0.2.7
srv     300 IN SRV   1 2 443 a.test.
UPPER   300 IN A     192.0.2.4
"""
    # a TXT RRset of about 3 KB: truncated over UDP, complete over TCP
    z += "".join('big 300 IN TXT "%s"\n' % (("%02d" % i) * 100) for i in range(15))
    with open(os.path.join(d, "test.zone"), "w") as f:
        f.write(z)


def bench(d, n):
    with open(os.path.join(d, "bench.zone"), "w") as f, open(os.path.join(d, "names.txt"), "w") as names:
        f.write(SOA.format(z="bench"))
        for i in range(n):
            h = "n%d" % i
            f.write("%s 300 IN A 10.%d.%d.%d\n" % (h, (i >> 16) & 255, (i >> 8) & 255, i & 255))
            f.write("%s 300 IN AAAA 2001:db8::%x:%x\n" % (h, i >> 16, i & 0xffff))
            f.write("%s 300 IN MX 10 mx.%s.bench.\n" % (h, h))
            f.write('%s 300 IN TXT "v=spf1 ip4:10.0.0.0/8 -all"\n' % h)
            names.write("%s.bench\n" % h)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "fixture":
        fixture(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "bench":
        bench(sys.argv[2], int(sys.argv[3]))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)
