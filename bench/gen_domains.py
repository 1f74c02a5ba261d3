#!/usr/bin/env python3
"""gen_domains.py — writes a deterministic domain list for the benchmarks.

Usage: gen_domains.py [LINES [OUT]]
  LINES  number of names (default 10000000: about 154 MB)
  OUT    output file (default bench/data/domains-LINES.txt)

The names are built from the real lists in ../shared/data/domains (see its
SOURCES.md): second-level labels and subdomain labels of the benign lists
(Alexa top 100k, OpenDNS top and random, the legit rows of the DGA sets) and
the DGA names of the 360netlab/Ayub, chrmor and andrewaeva sets. Each line
is one name, combined with a fixed-seed generator (random.Random(42), whose
random() sequence is stable across Python versions): about 90% benign-like
names (some with a subdomain, a joined or numbered label) with the public
suffix drawn from the benign lists' own distribution (com about half, then
net, org, ru, jp, de, ... and co.uk-style suffixes), and about 10% DGA names
with their own suffixes. Same LINES, same bytes.

The file is cached: when OUT exists and its stamp (OUT.stamp) matches LINES
and this generator's version, nothing is written. Prints OUT.
"""
import gzip
import os
import random
import sys

VERSION = "1"
HERE = os.path.dirname(os.path.abspath(__file__))
DOMAINS = os.path.join(HERE, "..", "..", "shared", "data", "domains")

# Second-level labels under which registrations happen in many ccTLDs
# (bbc.co.uk, abc.com.au): the public suffix is then two labels.
SECOND_LEVEL = {"co", "com", "net", "org", "gov", "edu", "ac", "or", "ne",
                "go", "gob", "gv", "nic", "ltd", "plc", "me", "info", "biz"}


def clean(name):
    """Lower-cased name without a trailing dot, or None if it is unusable."""
    name = name.strip().lower().rstrip(".")
    if not name or "." not in name or len(name) > 253:
        return None
    for ch in name:
        if not (ch.isascii() and (ch.isalnum() or ch in "-._")):
            return None
    return name


def split(name):
    """(subdomain labels, second-level label, public suffix)."""
    labels = name.split(".")
    k = 1
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in SECOND_LEVEL:
        k = 2
    if len(labels) <= k:
        return None
    return labels[:-(k + 1)], labels[-(k + 1)], ".".join(labels[-k:])


def read_lines(path):
    with open(path, encoding="utf-8", errors="replace") as fp:
        return [line.rstrip("\n") for line in fp]


def load():
    """Reads the source lists into (benign names, dga names), fixed order."""
    benign, dga = [], []
    bdir = os.path.join(DOMAINS, "benign")
    for f in sorted(os.listdir(bdir)):
        if f.endswith(".txt"):
            benign += read_lines(os.path.join(bdir, f))
    adir = os.path.join(DOMAINS, "dga", "andrewaeva_1000domains")
    for f in sorted(os.listdir(adir)):
        if f.endswith(".txt"):
            (benign if f.startswith("alexa") else dga).extend(read_lines(os.path.join(adir, f)))
    for line in read_lines(os.path.join(DOMAINS, "dga", "chrmor_dga_domains_sample.csv")):
        parts = line.split(",")
        if len(parts) == 3:
            (benign if parts[0] == "legit" else dga).append(parts[2])
    with gzip.open(os.path.join(DOMAINS, "dga", "dga_netlab360_ayub2021_83families.csv.gz"),
                   "rt", encoding="utf-8", errors="replace") as fp:
        header = fp.readline().rstrip("\n").split(",")
        col = header.index("domain")
        for line in fp:
            parts = line.rstrip("\n").split(",")
            if len(parts) > col:
                dga.append(parts[col])
    return benign, dga


def pools(names):
    """Label pool (unique, first-seen order), suffix pool (with repeats: the
    empirical distribution) and subdomain-label pool (with repeats)."""
    seen, labels, suffixes, subs = set(), [], [], []
    for n in names:
        n = clean(n)
        if n is None:
            continue
        s = split(n)
        if s is None:
            continue
        sub, sld, suffix = s
        suffixes.append(suffix)
        subs.extend(sub)
        if sld not in seen:
            seen.add(sld)
            labels.append(sld)
    return labels, suffixes, subs


def generate(lines, out):
    benign, dga = load()
    b_labels, b_suffixes, b_subs = pools(benign)
    d_labels, d_suffixes, _ = pools(dga)
    common_subs = ["www", "mail", "m", "api", "cdn", "static", "img", "app",
                   "blog", "shop", "dev", "login", "ns1", "ns2", "mx", "smtp"]
    subs = b_subs + common_subs * (len(b_subs) // (4 * len(common_subs)) + 1)

    rnd = random.Random(42).random
    nbl, nbs, nsub = len(b_labels), len(b_suffixes), len(subs)
    ndl, nds = len(d_labels), len(d_suffixes)
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="ascii", newline="\n") as fp:
        batch = []
        for _ in range(lines):
            r = rnd()
            if r < 0.90:
                label = b_labels[int(rnd() * nbl)]
                r2 = rnd()
                if r2 < 0.03:
                    label = label + ("-" if r2 < 0.01 else "") + b_labels[int(rnd() * nbl)]
                elif r2 < 0.06:
                    label = label + str(int(rnd() * 1000))
                name = label + "." + b_suffixes[int(rnd() * nbs)]
                if rnd() < 0.06:
                    name = subs[int(rnd() * nsub)] + "." + name
            else:
                name = d_labels[int(rnd() * ndl)] + "." + d_suffixes[int(rnd() * nds)]
            batch.append(name)
            if len(batch) == 65536:
                batch.append("")
                fp.write("\n".join(batch))
                batch = []
        if batch:
            batch.append("")
            fp.write("\n".join(batch))
    os.replace(tmp, out)


def main(argv):
    lines = int(argv[1]) if len(argv) > 1 else 10000000
    if lines < 1:
        sys.exit("gen_domains.py: LINES must be positive")
    out = argv[2] if len(argv) > 2 else os.path.join(HERE, "data", "domains-%d.txt" % lines)
    stamp_text = "gen_domains.py v%s lines=%d\n" % (VERSION, lines)
    stamp = out + ".stamp"
    if os.path.exists(out) and os.path.exists(stamp):
        with open(stamp) as fp:
            if fp.read() == stamp_text:
                print(out)
                return
    if not os.path.isdir(DOMAINS):
        sys.exit("gen_domains.py: %s not found (shared/ must be beside the repository)" % DOMAINS)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    generate(lines, out)
    with open(stamp, "w") as fp:
        fp.write(stamp_text)
    print(out)


if __name__ == "__main__":
    main(sys.argv)
