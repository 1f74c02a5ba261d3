#!/bin/sh
# resolve.sh — RESOLVE against real and misbehaving servers, all on
# loopback and all started here (tests/dns/fixture.sh): NSD with the
# generated zone `test.` (A, AAAA, MX, TXT, SRV, NS delegations, CNAME
# chains, a wildcard, a TXT too large for UDP, NODATA and NXDOMAIN names),
# over IPv4, IPv6 and TCP; Unbound recursive in front of NSD; a server that
# never answers (timeouts, retries); one that answers with wrong IDs and
# questions first (dropped and counted); REFUSED and SERVFAIL; one that
# drops the first query (retries); bad names; passthrough of input fields;
# SET resolvers and the resolv.conf fallback; wildcard detection; plan-time
# errors; and Ctrl-C stopping a running RESOLVE.
# Skips (exit 77) when nsd or python3 is missing; the Unbound case skips
# alone when unbound is missing.
. "${SRCDIR:-$(dirname "$0")/../..}/tests/cli/lib.sh"
. "${SRCDIR:-$(dirname "$0")/../..}/tests/dns/fixture.sh"
dns_need nsd python3
trap 'dns_stop_all; rm -rf "$T"' EXIT
mkdir "$T/nsd"
python3 "$DNS_DIR_FIX/gen-zone.py" fixture "$T/nsd"
V6=1
python3 -c 'import socket; s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1", 0))' 2>/dev/null || V6=0
nsd_start "$T/nsd" test.zone test $V6 || exit 99
S="udp://127.0.0.1:$NSD_PORT"

printf 'a.test\nb.test\nmx.test\ntxt.test\nc1.test\nsub.test\nnope.test\nsrv.test\nUPPER.test.\n' > names.txt
LOAD_N="d = LOAD 'names.txt' USING lines() AS (name:chararray);"
SEL="s = FOREACH r GENERATE name, qtype, rcode, status, tries, flags, answers; o = ORDER s BY name, qtype; DUMP o;"

# ------------------------------------------------------------ NSD, every kind of answer
check_run "A, AAAA, MX, TXT, SRV: ok, nodata, nxdomain, referral, CNAME chains" 0 \
'a.test,A,NOERROR,ok,1,aa rd,"{(a.test,300,A,192.0.2.1,,192.0.2.1)}"
a.test,AAAA,NOERROR,ok,1,aa rd,"{(a.test,300,AAAA,2001:db8::1,,2001:db8::1)}"
a.test,MX,NOERROR,nodata,1,aa rd,{}
b.test,A,NOERROR,ok,1,aa rd,"{(b.test,300,A,192.0.2.2,,192.0.2.2),(b.test,300,A,192.0.2.3,,192.0.2.3)}"
b.test,AAAA,NOERROR,nodata,1,aa rd,{}
b.test,MX,NOERROR,nodata,1,aa rd,{}
c1.test,A,NOERROR,ok,1,aa rd,"{(c1.test,300,CNAME,c2.test.,c2.test,),(c2.test,300,CNAME,a.test.,a.test,),(a.test,300,A,192.0.2.1,,192.0.2.1)}"
c1.test,AAAA,NOERROR,ok,1,aa rd,"{(c1.test,300,CNAME,c2.test.,c2.test,),(c2.test,300,CNAME,a.test.,a.test,),(a.test,300,AAAA,2001:db8::1,,2001:db8::1)}"
c1.test,MX,NOERROR,nodata,1,aa rd,"{(c1.test,300,CNAME,c2.test.,c2.test,),(c2.test,300,CNAME,a.test.,a.test,)}"
mx.test,A,NOERROR,nodata,1,aa rd,{}
mx.test,AAAA,NOERROR,nodata,1,aa rd,{}
mx.test,MX,NOERROR,ok,1,aa rd,"{(mx.test,300,MX,10 mail.test.,mail.test,),(mx.test,300,MX,20 mail2.test.,mail2.test,)}"
nope.test,A,NXDOMAIN,nxdomain,1,aa rd,{}
nope.test,AAAA,NXDOMAIN,nxdomain,1,aa rd,{}
nope.test,MX,NXDOMAIN,nxdomain,1,aa rd,{}
srv.test,A,NOERROR,nodata,1,aa rd,{}
srv.test,AAAA,NOERROR,nodata,1,aa rd,{}
srv.test,MX,NOERROR,nodata,1,aa rd,{}
sub.test,A,NOERROR,referral,1,rd,{}
sub.test,AAAA,NOERROR,referral,1,rd,{}
sub.test,MX,NOERROR,referral,1,rd,{}
txt.test,A,NOERROR,nodata,1,aa rd,{}
txt.test,AAAA,NOERROR,nodata,1,aa rd,{}
txt.test,MX,NOERROR,nodata,1,aa rd,{}
upper.test,A,NOERROR,ok,1,aa rd,"{(upper.test,300,A,192.0.2.4,,192.0.2.4)}"
upper.test,AAAA,NOERROR,nodata,1,aa rd,{}
upper.test,MX,NOERROR,nodata,1,aa rd,{}' \
'RESOLVE: 27 lookups: 27 sent, 27 received, 0 retried, 0 timed out, 0 over TCP, 0 stray dropped; NOERROR 24, NXDOMAIN 3' \
    "$DQL" -e "$LOAD_N r = RESOLVE d BY name TYPES (A, AAAA, MX) WITH (servers = '$S'); $SEL"

check_run "TXT, SRV and NS: rdata text, targets, the delegation's NS in authority with glue" 0 \
'srv.test,SRV,ok,1 2 443 a.test.,a.test
txt.test,TXT,ok,"""hello world"" ""second string""",
sub.test,NS,referral,0,"{(sub.test,300,NS,ns1.sub.test.,ns1.sub.test,),(sub.test,300,NS,ns2.sub.test.,ns2.sub.test,)}","{(ns1.sub.test,300,A,192.0.2.53,,192.0.2.53),(ns2.sub.test,300,A,192.0.2.54,,192.0.2.54)}"' \
'*' "$DQL" -e "$LOAD_N r = RESOLVE d BY name TYPES (TXT, SRV, NS) WITH (servers = '$S');
f = FILTER r BY status == 'ok' AND qtype != 'NS';
g = FOREACH f GENERATE name, qtype, status, FLATTEN(answers);
k = FOREACH g GENERATE name, qtype, status, rdata, target; o = ORDER k BY name; DUMP o;
n = FILTER r BY qtype == 'NS' AND status == 'referral';
m = FOREACH n GENERATE name, qtype, status, COUNT(answers), authority, additional; DUMP m;"

check_run "FLATTEN(answers): one row per record, CNAME chain in order" 0 \
'c1.test,A,c1.test,CNAME,c2.test.,c2.test,
c1.test,A,c2.test,CNAME,a.test.,a.test,
c1.test,A,a.test,A,192.0.2.1,,192.0.2.1' '*' \
    "$DQL" -e "r = RESOLVE (LOAD 'names.txt' USING lines() AS (name:chararray)) BY name TYPES (A) WITH (servers = '$S');
c = FILTER r BY name == 'c1.test'; f = FOREACH c GENERATE name, qtype, FLATTEN(answers); g = FOREACH f GENERATE name, qtype, owner, type, rdata, target, address; DUMP g;"

check_run "a large TXT: truncated over UDP, retried over TCP" 0 \
'big.test,TXT,ok,15,aa rd' \
'RESOLVE: 1 lookups: 1 sent, 2 received, 0 retried, 0 timed out, 1 over TCP, 0 stray dropped; NOERROR 1' \
    "$DQL" -e "d = LOAD 'names.txt' USING lines() AS (name:chararray); b = FILTER d BY name == 'a.test';
r = RESOLVE b BY 'big.test' TYPES (TXT) WITH (servers = '$S'); s = FOREACH r GENERATE name, qtype, status, COUNT(answers), flags; DUMP s;"
check_run "tcp = 'never': the truncated answer as it came" 0 'big.test,TXT,nodata,0,aa tc rd' '*' \
    "$DQL" -e "d = LOAD 'names.txt' USING lines() AS (name:chararray); b = FILTER d BY name == 'a.test';
r = RESOLVE b BY 'big.test' TYPES (TXT) WITH (servers = '$S', tcp = 'never'); s = FOREACH r GENERATE name, qtype, status, COUNT(answers), flags; DUMP s;"
check_run "tcp = 'only' and a tcp:// server" 0 'a.test,ok,127.0.0.1:'"$NSD_PORT"'
a.test,ok,tcp://127.0.0.1:'"$NSD_PORT"'
b.test,ok,127.0.0.1:'"$NSD_PORT"'
b.test,ok,tcp://127.0.0.1:'"$NSD_PORT" \
'RESOLVE: 2 lookups: 2 sent, 2 received, 0 retried, 0 timed out, 2 over TCP, 0 stray dropped; NOERROR 2
RESOLVE: 2 lookups: 2 sent, 2 received, 0 retried, 0 timed out, 2 over TCP, 0 stray dropped; NOERROR 2' \
    "$DQL" -e "d = LOAD 'names.txt' USING lines() AS (name:chararray); b = FILTER d BY name == 'a.test' OR name == 'b.test';
r1 = RESOLVE b BY name WITH (servers = 'tcp://127.0.0.1:$NSD_PORT');
r2 = RESOLVE b BY name WITH (servers = '$S', tcp = 'only');
u = UNION r1, r2; s = FOREACH u GENERATE name, status, server; o = ORDER s BY name, server; DUMP o;"

if [ $V6 = 1 ]; then
check_run "IPv6 loopback" 0 "a.test,A,ok,[::1]:$NSD_PORT" \
'RESOLVE: 1 lookups: 1 sent, 1 received, 0 retried, 0 timed out, 0 over TCP, 0 stray dropped; NOERROR 1' \
    "$DQL" -e "$LOAD_N b = FILTER d BY name == 'a.test'; r = RESOLVE b BY name WITH (servers = 'udp://[::1]:$NSD_PORT'); s = FOREACH r GENERATE name, qtype, status, server; DUMP s;"
fi

printf 'id,name\n1,A.test.\n2,nope.test\n' > in.csv
check_run "passthrough and DESCRIBE" 0 \
'1,a.test,ok
2,nope.test,nxdomain
r: {id: int, name: domain, qtype: chararray, rcode: chararray, status: chararray, server: chararray, rtt_ms: double, tries: int, flags: chararray, answers: {(owner: domain, ttl: long, type: chararray, rdata: chararray, target: domain, address: ip)}, authority: {(owner: domain, ttl: long, type: chararray, rdata: chararray, target: domain, address: ip)}, additional: {(owner: domain, ttl: long, type: chararray, rdata: chararray, target: domain, address: ip)}}' '*' \
    "$DQL" -e "d = LOAD 'in.csv' USING csv() AS (id:int, name:chararray);
r = RESOLVE d BY name WITH (servers = '$S'); s = FOREACH r GENERATE id, name, status; o = ORDER s BY id; DUMP o; DESCRIBE r;"

printf 'a.test\na..b.test\n%s.test\n\nb.test\n' "$(printf '%070d' 0)" > bad.txt
check_run "bad names: counted warnings, no lookups" 0 'a.test,ok
b.test,ok' \
"RESOLVE: 2 lookups: 2 sent, 2 received, 0 retried, 0 timed out, 0 over TCP, 0 stray dropped, 2 bad names skipped; NOERROR 2
-e:1:177: warning: RESOLVE: bad name: 2 times (first: 'a..b.test': empty label: no lookup)" \
    "$DQL" -e "d = LOAD 'bad.txt' USING lines() AS (name:chararray); r = RESOLVE d BY name WITH (servers = '$S'); s = FOREACH r GENERATE name, status; o = ORDER s BY name; DUMP o;"

check_run "SET resolvers" 0 "a.test,127.0.0.1:$NSD_PORT" '*' \
    "$DQL" -e "SET resolvers '$S'; $LOAD_N b = FILTER d BY name == 'a.test'; r = RESOLVE b BY name; s = FOREACH r GENERATE name, server; DUMP s;"

printf '# test\nnameserver 127.0.0.1:%s\n' "$NSD_PORT" > resolv.conf
check_run "no servers: resolv.conf (DQL_RESOLV_CONF), said once" 0 "a.test,ok,127.0.0.1:$NSD_PORT" \
"RESOLVE: no servers given (WITH (servers = '...') or SET resolvers): using 127.0.0.1:$NSD_PORT from resolv.conf
RESOLVE: 1 lookups: 1 sent, 1 received, 0 retried, 0 timed out, 0 over TCP, 0 stray dropped; NOERROR 1" \
    env DQL_RESOLV_CONF=resolv.conf "$DQL" -e "$LOAD_N b = FILTER d BY name == 'a.test'; r = RESOLVE b BY name; s = FOREACH r GENERATE name, status, server; DUMP s;"
printf '# nothing\n' > empty.conf
check_run "no servers anywhere: a check error" 3 '' "~no servers given .* and none in empty.conf" \
    env DQL_RESOLV_CONF=empty.conf "$DQL" -e "$LOAD_N r = RESOLVE d BY name; DUMP r;"

# ------------------------------------------------------------ wildcards
printf 'foo.wild.test\nreal.wild.test\na.test\n' > wild.txt
check_run "wildcards = 'detect'" 0 'a.test,ok,false
foo.wild.test,ok,true
real.wild.test,ok,false' \
'RESOLVE: 3 lookups: 5 sent, 5 received, 0 retried, 0 timed out, 0 over TCP, 0 stray dropped, 2 wildcard probes; NOERROR 4, NXDOMAIN 1' \
    "$DQL" -e "d = LOAD 'wild.txt' USING lines() AS (name:chararray); r = RESOLVE d BY name WITH (servers = '$S', wildcards = 'detect');
s = FOREACH r GENERATE name, status, wildcard; o = ORDER s BY name; DUMP o;"

# ------------------------------------------------------------ misbehaving servers
fake_start silent
check_run "a server that never answers: retries, then timeout" 0 'a.test,A,,timeout,3,' \
'RESOLVE: 1 lookups: 3 sent, 0 received, 2 retried, 1 timed out, 0 over TCP, 0 stray dropped' \
    "$DQL" -e "$LOAD_N b = FILTER d BY name == 'a.test'; r = RESOLVE b BY name WITH (servers = 'udp://127.0.0.1:$FAKE_PORT', timeout = '100ms', retries = 2);
s = FOREACH r GENERATE name, qtype, rcode, status, tries, rtt_ms; DUMP s;"
SILENT=$FAKE_PORT
check_run "a silent server and a good one: retries go to the other" 0 'a.test,ok' '*' \
    "$DQL" -e "$LOAD_N b = FILTER d BY name == 'a.test'; r = RESOLVE b BY name WITH (servers = 'udp://127.0.0.1:$SILENT, $S', timeout = '100ms', retries = 1);
s = FOREACH r GENERATE name, status; DUMP s;"

fake_start wrongid
check_run "wrong IDs and wrong questions are dropped and counted" 0 'a.test,ok,1,192.0.2.1
b.test,ok,1,192.0.2.1' \
'RESOLVE: 2 lookups: 2 sent, 2 received, 0 retried, 0 timed out, 0 over TCP, 4 stray dropped; NOERROR 2' \
    "$DQL" -e "$LOAD_N b = FILTER d BY name == 'a.test' OR name == 'b.test'; r = RESOLVE b BY name WITH (servers = 'udp://127.0.0.1:$FAKE_PORT');
s = FOREACH r GENERATE name, status, tries, FLATTEN(answers.rdata); o = ORDER s BY name; DUMP o;"

fake_start refused
REF=$FAKE_PORT
fake_start servfail
check_run "REFUSED and SERVFAIL" 0 'a.test,REFUSED,refused,1
a.test,SERVFAIL,servfail,1' \
'RESOLVE: 1 lookups: 1 sent, 1 received, 0 retried, 0 timed out, 0 over TCP, 0 stray dropped; REFUSED 1
RESOLVE: 1 lookups: 1 sent, 1 received, 0 retried, 0 timed out, 0 over TCP, 0 stray dropped; SERVFAIL 1' \
    "$DQL" -e "$LOAD_N b = FILTER d BY name == 'a.test';
r1 = RESOLVE b BY name WITH (servers = 'udp://127.0.0.1:$REF'); s1 = FOREACH r1 GENERATE name, rcode, status, tries; DUMP s1;
r2 = RESOLVE b BY name WITH (servers = 'udp://127.0.0.1:$FAKE_PORT'); s2 = FOREACH r2 GENERATE name, rcode, status, tries; DUMP s2;"

fake_start dropfirst
check_run "a lost query is retried" 0 'a.test,ok,2
b.test,ok,2' \
'RESOLVE: 2 lookups: 4 sent, 2 received, 2 retried, 0 timed out, 0 over TCP, 0 stray dropped; NOERROR 2' \
    "$DQL" -e "$LOAD_N b = FILTER d BY name == 'a.test' OR name == 'b.test'; r = RESOLVE b BY name WITH (servers = 'udp://127.0.0.1:$FAKE_PORT', timeout = '200ms');
s = FOREACH r GENERATE name, status, tries; o = ORDER s BY name; DUMP o;"

# ------------------------------------------------------------ Ctrl-C
"$DQL" -e "$LOAD_N r = RESOLVE d BY name WITH (servers = 'udp://127.0.0.1:$SILENT', timeout = '20s'); DUMP r;" > int.out 2> int.err &
DPID=$!
sleep 0.5
kill -INT $DPID
i=0
while kill -0 $DPID 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 $DPID 2>/dev/null; then
    echo "FAIL: Ctrl-C did not stop RESOLVE within 3 s" >&2
    kill -9 $DPID
    exit 1
fi
wait $DPID
rc=$?
NCHECKS=$((NCHECKS + 1))
if [ $rc -ne 130 ]; then echo "FAIL: Ctrl-C: exit status $rc, expected 130" >&2; cat int.err >&2; exit 1; fi

# ------------------------------------------------------------ plan-time errors
check_run "unknown WITH argument" 3 '' '~RESOLVE: WITH: unknown argument .concurency.' \
    "$DQL" -e "$LOAD_N r = RESOLVE d BY name WITH (servers = '$S', concurency = 5); DUMP r;"
check_run "bad type" 3 '' "~RESOLVE: TYPES: 'AXFR' is not a record type one can query" \
    "$DQL" -e "$LOAD_N r = RESOLVE d BY name TYPES (A, AXFR) WITH (servers = '$S'); DUMP r;"
check_run "a server name, not an address" 3 '' "~server 'udp://ns1.example:53': 'ns1.example' is not an IP address" \
    "$DQL" -e "$LOAD_N r = RESOLVE d BY name WITH (servers = 'udp://ns1.example:53'); DUMP r;"
check_run "bad timeout" 3 '' '~timeout: give a duration' \
    "$DQL" -e "$LOAD_N r = RESOLVE d BY name WITH (servers = '$S', timeout = 'soon'); DUMP r;"
check_run "EXPLAIN shows the servers" 0 "~RESOLVE r BY name types A AAAA, servers 127.0.0.1:$NSD_PORT, 500 in flight, timeout 2s, 3 retries" '' \
    "$DQL" -e "$LOAD_N r = RESOLVE d BY name TYPES (A, AAAA) WITH (servers = '$S'); EXPLAIN r;"

# ------------------------------------------------------------ Unbound, recursive
if command -v unbound >/dev/null 2>&1 || [ -x /usr/sbin/unbound ]; then
    mkdir "$T/ub"
    unbound_start "$T/ub" "$NSD_PORT" test || exit 99
    check_run "recursive through Unbound: CNAME chain resolved, ra set, not authoritative" 0 \
'c1.test,ok,rd ra
nope.test,nxdomain,rd ra
c1.test,CNAME,c2.test.
c2.test,CNAME,a.test.
a.test,A,192.0.2.1' '*' \
        "$DQL" -e "$LOAD_N b = FILTER d BY name == 'c1.test' OR name == 'nope.test'; r = RESOLVE b BY name WITH (servers = 'udp://127.0.0.1:$UNBOUND_PORT');
s = FOREACH r GENERATE name, status, flags; o = ORDER s BY name; DUMP o;
f = FOREACH r GENERATE FLATTEN(answers); g = FOREACH f GENERATE owner, type, rdata; DUMP g;"
else
    echo "unbound is not installed: the recursive case is skipped"
fi
pass
