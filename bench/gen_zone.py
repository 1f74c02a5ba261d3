#!/usr/bin/env python3
"""gen_zone.py — writes a deterministic TLD-like delegation zone for
bench/zone.sh: a multi-line SOA, apex NS with glue, two NS per delegation,
in-zone glue for some, DS records (some split over lines in parentheses),
a mix of relative, absolute and blank owners, with and without TTL and class.
Usage: gen_zone.py RECORDS OUT  (about 62 bytes per record)"""
import random, sys

def main():
    target = int(sys.argv[1]); out = sys.argv[2]
    rnd = random.Random(20240101)
    hosters = ['ns%d.dns-hosting-provider-%d.net.' % (i % 4 + 1, i) for i in range(400)]
    letters = 'abcdefghijklmnopqrstuvwxyz0123456789'
    with open(out, 'w', buffering=1 << 20) as f:
        f.write('$ORIGIN tld.\n$TTL 86400\n')
        f.write('@\tIN\tSOA\ta.nic.tld. hostmaster.nic.tld. (\n\t\t2024010101 ; serial\n'
                '\t\t1800 900 604800 86400 )\n')
        for c in 'abcd':
            f.write('\tIN\tNS\t%s.nic.tld.\n' % c)
        for i, c in enumerate('abcd'):
            f.write('%s.nic\t3600\tIN\tA\t192.0.2.%d\n' % (c, i + 1))
            f.write('%s.nic\t3600\tIN\tAAAA\t2001:db8::%d\n' % (c, i + 1))
        n = 13
        i = 0
        while n < target:
            i += 1
            name = ''.join(rnd.choice(letters) for _ in range(rnd.randint(6, 20))) + str(i)
            r = rnd.random()
            if r < 0.10:
                # in-zone glue
                f.write('%s\tNS\tns1.%s\n\tNS\tns2.%s\n' % (name, name, name))
                f.write('ns1.%s\tA\t198.51.%d.%d\nns2.%s\t3600\tIN\tA\t203.0.%d.%d\n'
                        % (name, i % 256, i // 256 % 256, name, i % 256, i // 65536 % 256))
                n += 4
            else:
                h = rnd.randrange(0, 400, 2)
                if r < 0.55:
                    f.write('%s\tNS\t%s\n\tNS\t%s\n' % (name, hosters[h], hosters[h + 1]))
                elif r < 0.80:
                    f.write('%s.tld.\t86400\tIN\tNS\t%s\n%s.tld.\tIN 86400\tNS\t%s\n'
                            % (name, hosters[h], name, hosters[h + 1]))
                else:
                    f.write('%s\tIN\tNS\t%s\n\t172800\tNS\t%s\n' % (name, hosters[h], hosters[h + 1]))
                n += 2
            if rnd.random() < 0.12:
                dig = '%064X' % rnd.getrandbits(256)
                if rnd.random() < 0.5:
                    f.write('\tDS\t%d 13 2 %s\n' % (rnd.randrange(65536), dig))
                else:
                    f.write('\tDS\t( %d 13 2\n\t\t%s\n\t\t%s )\n' % (rnd.randrange(65536), dig[:32], dig[32:]))
                n += 1

if __name__ == '__main__':
    main()
