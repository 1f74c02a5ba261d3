#!/usr/bin/env python3
"""split-pcap.py — cuts a classic pcap file into K files of consecutive
packets (OUT/part00.pcap ...), as a sensor's rotated captures: TCP streams,
fragmented datagrams and exchanges run on from one file to the next (the
sharded pcap tests, tests/cli/shards-dns.sh). Prints the packet count.

Usage: split-pcap.py CAPTURE K OUT"""
import struct
import sys

src, k, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
b = open(src, 'rb').read()
hdr, recs, o = b[:24], [], 24
le = b[:4] in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1')
if not le and b[:4] not in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
    sys.exit('split-pcap.py: %s is not a classic pcap file' % src)
while o + 16 <= len(b):
    incl = struct.unpack('<I' if le else '>I', b[o + 8:o + 12])[0]
    recs.append(b[o:o + 16 + incl])
    o += 16 + incl
for i in range(k):
    with open('%s/part%02d.pcap' % (out, i), 'wb') as f:
        f.write(hdr)
        f.writelines(recs[len(recs) * i // k:len(recs) * (i + 1) // k])
print(len(recs))
