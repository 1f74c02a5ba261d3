#!/bin/sh
# make-geo-db.sh — regenerates the data of examples/zone-geo.dql (run from
# anywhere; writes into examples/data/):
#   root-glue.zone          the A and AAAA records (the glue) of the root zone
#                           ../shared/data/zones/root/root.zone-2017082100
#   root-glue-country.mmdb  a country database (GeoIP2-Country layout) with the
#                           ranges of Debian's tor-geoipdb that hold a glue
#                           address, written with libmaxmind-db-writer-perl
#   asn-test.mmdb           MaxMind's GeoLite2-ASN-Test.mmdb, unchanged
# Needs python3, perl with MaxMind::DB::Writer, tor-geoipdb.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
shared=${SHARED:-$here/../../../shared}
awk '$4 == "A" || $4 == "AAAA" { print $1 "\t" $2 "\t" $3 "\t" $4 "\t" $5 }' \
    "$shared/data/zones/root/root.zone-2017082100" > "$here/root-glue.zone"
cp "$shared/data/mmdb/test-data/GeoLite2-ASN-Test.mmdb" "$here/asn-test.mmdb"
chmod 644 "$here/asn-test.mmdb"
python3 - "$here/root-glue.zone" > "$here/.ranges" <<'PY'
import bisect, ipaddress, sys
addrs = [ipaddress.ip_address(l.split("\t")[4].strip()) for l in open(sys.argv[1])]
for path, v6 in (("/usr/share/tor/geoip", False), ("/usr/share/tor/geoip6", True)):
    rng = []
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        a, b, cc = line.strip().split(",")
        a, b = (int(ipaddress.IPv6Address(a)), int(ipaddress.IPv6Address(b))) if v6 else (int(a), int(b))
        rng.append((a, b, cc))
    rng.sort()
    starts = [r[0] for r in rng]
    keep = set()
    for ip in addrs:
        if (ip.version == 6) != v6:
            continue
        i = bisect.bisect_right(starts, int(ip)) - 1
        if i >= 0 and rng[i][0] <= int(ip) <= rng[i][1] and rng[i][2] != "??":
            keep.add(rng[i])
    conv = ipaddress.IPv6Address if v6 else ipaddress.IPv4Address
    for a, b, cc in sorted(keep):
        print(conv(a), conv(b), cc)
PY
perl -MMaxMind::DB::Writer::Tree -e '
    my %t = (country => "map", iso_code => "utf8_string");
    my $tree = MaxMind::DB::Writer::Tree->new(ip_version => 6, record_size => 24,
        database_type => "dql-Example-Country", languages => ["en"],
        description => { en => "tor-geoipdb ranges holding a root-zone glue address" },
        map_key_type_callback => sub { $t{$_[0]} }, remove_reserved_networks => 0,
        merge_strategy => "none");
    open my $in, "<", $ARGV[0] or die;
    while (<$in>) { chomp; my ($a, $b, $cc) = split / /; $tree->insert_range($a, $b, { country => { iso_code => $cc } }); }
    open my $out, ">:raw", $ARGV[1] or die; $tree->write_tree($out); close $out or die;
' "$here/.ranges" "$here/root-glue-country.mmdb"
rm -f "$here/.ranges"
wc -l "$here/root-glue.zone"
ls -l "$here/root-glue-country.mmdb" "$here/asn-test.mmdb"
