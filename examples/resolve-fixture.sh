# resolve-fixture.sh — sourced by tests/run-example.sh before the RESOLVE
# examples (zone-mining.dql, cctld-bruteforce.dql): starts NSD on a free
# loopback port serving examples/data/resolve/*.zone and passes the server
# to the script as the parameter $servers. Exits 77 (skip) without nsd.
# Nothing is sent anywhere but to this NSD on 127.0.0.1.
. "$SRCDIR/tests/dns/fixture.sh"
dns_need nsd python3
mkdir "$tmp/nsd"
cp "$dir/data/resolve/shop.zone" "$dir/data/resolve/cc.zone" "$tmp/nsd/"
NSD_MORE_ZONES="cc cc.zone"
nsd_start "$tmp/nsd" shop.zone shop || exit 99
EXAMPLE_ARGS="-p servers=udp://127.0.0.1:$NSD_PORT"
fixture_stop() { dns_stop_all; }
