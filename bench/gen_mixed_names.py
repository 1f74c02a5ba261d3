#!/usr/bin/env python3
"""gen_mixed_names.py — N names drawn (random.seed(1), with repeats) from the
Alexa top 100k and the 360netlab/Ayub DGA names of ../shared/data/domains:
the CLASSIFY benchmarks' input (bench/classify.sh, bench/shards.sh).

Usage: gen_mixed_names.py DOMAINS_DIR N OUT
"""
import gzip
import random
import sys

d, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
src = [l.strip() for l in open(d + '/benign/alexa-top-100000-domains-2016.txt') if l.strip()]
for l in gzip.open(d + '/dga/dga_netlab360_ayub2021_83families.csv.gz', 'rt'):
    p = l.split(',')
    if p[0] != 'family':
        src.append(p[2])
random.seed(1)
with open(out, 'w') as f:
    for _ in range(n):
        f.write(random.choice(src) + '\n')
