#!/usr/bin/perl
# geo_country.pl OUT.mmdb — a country database (GeoIP2-Country layout:
# country.iso_code) built from the ranges of Debian's tor-geoipdb
# (/usr/share/tor/geoip and geoip6) with MaxMind::DB::Writer (Debian:
# libmaxmind-db-writer-perl). About 600,000 ranges; used by bench/geo.sh.
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my $out = shift or die "usage: $0 OUT.mmdb\n";
my %types = (country => 'map', iso_code => 'utf8_string');
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version => 6, record_size => 28, database_type => 'dql-Bench-Country',
    languages => ['en'], description => { en => 'countries of tor-geoipdb, for bench/geo.sh' },
    map_key_type_callback => sub { $types{ $_[0] } },
    remove_reserved_networks => 0, merge_strategy => 'none');
my %rec;
for my $file ('/usr/share/tor/geoip', '/usr/share/tor/geoip6') {
    open my $fh, '<', $file or die "$file: $!\n";
    while (<$fh>) {
        next if /^#/ || !/\S/;
        chomp;
        my ($a, $b, $cc) = split /,/;
        next if $cc eq '??';
        if ($file !~ /6$/) {
            $a = join '.', unpack 'C4', pack 'N', $a;
            $b = join '.', unpack 'C4', pack 'N', $b;
        }
        $rec{$cc} //= { country => { iso_code => $cc } };
        $tree->insert_range($a, $b, $rec{$cc});
    }
}
open my $fh, '>:raw', $out or die "$out: $!\n";
$tree->write_tree($fh);
close $fh or die "$out: $!\n";
