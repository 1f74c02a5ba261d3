#!/usr/bin/python3
# fuzz-seeds.py — writes seeds for tests/fuzz/fuzz_pcap from the classic pcap
# files under a directory (../shared/data/pcap): one seed per capture, in the
# fuzzer's input format (a link-type selector octet, then up to 64 frames as
# a two-octet length and the frame, at most 2,000 octets each).
# Usage: tests/pcap/fuzz-seeds.py PCAPDIR OUTDIR
import os, struct, sys
LINKS = [1, 0, 101, 113, 276, 228, 229, 108, 9, 12]   # as in fuzz_pcap.c
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
i = 0
for root, _, files in os.walk(src):
    for name in sorted(files):
        if not name.endswith('.pcap'):
            continue
        d = open(os.path.join(root, name), 'rb').read()
        if len(d) < 24:
            continue
        e = '<' if d[:4] in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
        lt = struct.unpack(e + 'I', d[20:24])[0] & 0xffff
        out = bytearray([LINKS.index(lt) if lt in LINKS else 0])
        o, n = 24, 0
        while o + 16 <= len(d) and n < 64 and len(out) < 8000:
            cl = struct.unpack(e + 'I', d[o + 8:o + 12])[0]
            p = d[o + 16:o + 16 + cl][:2000]
            o += 16 + cl
            out += struct.pack('>H', len(p)) + p
            n += 1
        i += 1
        open(os.path.join(dst, 'seed%d' % i), 'wb').write(out)
print(i, 'seeds')
