#!/usr/bin/env python3
"""geo_gen.py — address lists for bench/geo.sh, one address per line.

  geo_gen.py test SHARED N SEED > file    mix over MaxMind's test databases:
      40% inside a network of GeoIP2-City-Test, 30% inside one of
      GeoLite2-ASN-Test, 30% anywhere (mostly not found); about 30% v6
  geo_gen.py zipf SHARED N SEED > file    the same mix, but drawn from a pool
      of 50,000 addresses with Zipf weights (s = 1.1): repeated addresses, as
      in zone mining
  geo_gen.py tor N SEED > file            90% inside the ranges of Debian's
      tor-geoipdb (/usr/share/tor/geoip, geoip6), 10% anywhere
Deterministic for a given SEED."""
import ipaddress
import json
import random
import sys


def nets_of(path):
    with open(path) as f:
        return [ipaddress.ip_network(k, strict=False) for d in json.load(f) for k in d]


def in_net(r, n):
    return str(n[r.randrange(n.num_addresses)]) if n.num_addresses > 1 else str(n.network_address)


def anywhere(r):
    if r.random() < 0.7:
        return str(ipaddress.IPv4Address(r.getrandbits(32)))
    return str(ipaddress.IPv6Address((0x2000 << 112) | r.getrandbits(125)))


def test_mix(r, city, asn):
    x = r.random()
    if x < 0.4:
        return in_net(r, r.choice(city))
    if x < 0.7:
        return in_net(r, r.choice(asn))
    return anywhere(r)


def tor_ranges():
    out = []
    for path, conv in (("/usr/share/tor/geoip", int), ("/usr/share/tor/geoip6", lambda s: int(ipaddress.IPv6Address(s)))):
        with open(path) as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                a, b, cc = line.strip().split(",")
                if cc != "??":
                    out.append((conv(a), conv(b), path.endswith("6")))
    return out


def main():
    mode = sys.argv[1]
    w = sys.stdout.write
    if mode in ("test", "zipf"):
        shared, n, seed = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        r = random.Random(seed)
        city = nets_of(shared + "/data/mmdb/source-data/GeoIP2-City-Test.json")
        asn = nets_of(shared + "/data/mmdb/source-data/GeoLite2-ASN-Test.json")
        if mode == "test":
            for _ in range(n):
                w(test_mix(r, city, asn) + "\n")
        else:
            pool = [test_mix(r, city, asn) for _ in range(50000)]
            cum, t = [], 0.0
            for i in range(len(pool)):
                t += 1.0 / (i + 1) ** 1.1
                cum.append(t)
            for k in range(0, n, 100000):
                for a in r.choices(pool, cum_weights=cum, k=min(100000, n - k)):
                    w(a + "\n")
    elif mode == "tor":
        n, seed = int(sys.argv[2]), int(sys.argv[3])
        r = random.Random(seed)
        rng = tor_ranges()
        for _ in range(n):
            if r.random() < 0.9:
                a, b, v6 = r.choice(rng)
                x = r.randint(a, b)
                w(str(ipaddress.IPv6Address(x) if v6 else ipaddress.IPv4Address(x)) + "\n")
            else:
                w(anywhere(r) + "\n")
    else:
        sys.exit("usage: geo_gen.py test|zipf SHARED N SEED | tor N SEED")


if __name__ == "__main__":
    main()
