#!/bin/sh
# pg.sh — the PostgreSQL store (src/op_pg.c, doc/postgres.md) against a real
# server started here: initdb in a temporary directory, Unix socket only
# (listen_addresses = ''), run as the postgres user when we are root, and
# stopped at exit. Covers: a STORE/LOAD round trip of every type (and the
# PostgreSQL column types), LOAD 'SELECT ...', OVERWRITE rules, a STORE that
# fails at run time and one interrupted by SIGINT (the old table stays, no
# temporary table is left), two dql processes storing at the same time, a
# role with a password given through PGPASSFILE (and PGPASSWORD) that never
# shows in any output, and the refusal of a connection string holding a
# password. Skips (exit 77) when initdb/pg_ctl are absent, or when root and
# there is no postgres user, or when dql was built without libpq.
. "${SRCDIR:-$(dirname "$0")/../..}/tests/cli/lib.sh"

PGBIN=
for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && PGBIN=$d
done
if [ -z "$PGBIN" ]; then
    echo "SKIP: PostgreSQL server binaries (initdb, pg_ctl) not found (Debian: apt-get install postgresql)"
    exit 77
fi
if "$DQL" -c -e "x = LOAD 't' USING postgres('service=none');" 2>&1 | grep -q 'not available in this build'; then
    echo "SKIP: dql was built without libpq"
    exit 77
fi
PSQL=$PGBIN/psql
[ -x "$PSQL" ] || PSQL=psql

unset PGHOST PGHOSTADDR PGPORT PGUSER PGPASSWORD PGDATABASE PGSERVICE PGSERVICEFILE PGPASSFILE PGOPTIONS
as_pg() { "$@"; }
if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        echo "SKIP: running as root and there is no 'postgres' user to run the server as"
        exit 77
    fi
    as_pg() { runuser -u postgres -- "$@"; }
fi

# The server's directory: outside $T (which only we may enter).
P=$(mktemp -d "${TMPDIR:-/tmp}/dql-pg.XXXXXX") || exit 99
chmod 755 "$P"
mkdir "$P/data" "$P/sock" "$P/log"
[ "$(id -u)" -eq 0 ] && chown postgres "$P/data" "$P/sock" "$P/log"
stop_pg() {
    [ -f "$P/data/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$P/data" -m immediate -w stop >/dev/null 2>&1
    rm -rf "$P"
}
trap 'stop_pg; rm -rf "$T"' EXIT
as_pg "$PGBIN/initdb" -D "$P/data" -U dqladmin --auth=trust -E UTF8 --no-locale >"$P/initdb.log" 2>&1 \
    || { cat "$P/initdb.log"; exit 99; }
printf "listen_addresses = ''\nunix_socket_directories = '%s'\nfsync = off\n" "$P/sock" >>"$P/data/postgresql.conf"
printf 'local all alice scram-sha-256\nlocal all all trust\n' >"$P/data/pg_hba.conf"
as_pg "$PGBIN/pg_ctl" -D "$P/data" -w -t 30 -l "$P/log/server.log" start >/dev/null 2>&1 \
    || { cat "$P/log/server.log"; exit 99; }
S=$P/sock
sql() { "$PSQL" -X -q -At -h "$S" -U dqladmin -d "${DB:-dqltest}" -c "$1"; }
DB=postgres sql 'CREATE DATABASE dqltest' || exit 99

printf '[dql]\nhost=%s\ndbname=dqltest\nuser=dqladmin\n' "$S" >"$T/work/pg_service.conf"
PGSERVICEFILE=$T/work/pg_service.conf
export PGSERVICEFILE
PG="postgres('service=dql')"

# --------------------------------------------------------- every type
cat > ty.csv <<'EOF'
i,l,d,c,b,t,dt,dom,ip,net,tup,bag,m
1,10000000000,1.5,hello,raw,true,2024-03-05T06:07:08.123456Z,WWW.Example.COM.,10.0.0.1,10.1.0.0/16,"{""a"":1,""b"":""x""}","[{""v"":1},{""v"":2}]","{""k"":""v""}"
-2,-3,2e3,"tab	and \ back",,false,2024-03-05,example.org,2001:DB8::1,2001:db8::/32,,[],{}
EOF
LOADTY="d = LOAD 'ty.csv' USING csv() AS (i:int, l:long, d:double, c:chararray, b:bytearray, t:boolean, dt:datetime,
    dom:domain, ip:ip, net:cidr, tup:tuple(a:int, b:chararray), bag:bag{(v:int)}, m:map[]);"
check_run "STORE of every type" 0 '' '' "$DQL" -e "$LOADTY STORE d INTO 'ty' USING $PG;"
check_run "the PostgreSQL column types" 0 \
'i integer
l bigint
d double precision
c text
b bytea
t boolean
dt timestamp with time zone
dom text
ip inet
net cidr
tup jsonb
bag jsonb
m jsonb' '' sql "SELECT column_name || ' ' || data_type FROM information_schema.columns WHERE table_name = 'ty' ORDER BY ordinal_position"
check_run "LOAD of every type, typed back" 0 \
'x: {i: int, l: long, d: double, c: chararray, b: bytearray, t: boolean, dt: datetime, dom: domain, ip: ip, net: cidr, tup: (a: int, b: chararray), bag: {(v: int)}, m: map[]}
-2,-3,2000.0,tab	and \ back,,false,2024-03-05T00:00:00Z,example.org,2001:db8::1,2001:db8::/32,,{},[]
1,10000000000,1.5,hello,raw,true,2024-03-05T06:07:08.123456Z,www.example.com,10.0.0.1,10.1.0.0/16,"(1,x)","{(1),(2)}",[k#v]' '' \
    "$DQL" --mode csv -e "x = LOAD 'ty' USING $PG; DESCRIBE x; o = ORDER x BY i; DUMP o;"
check_run "the same as loading the CSV" 0 '' '' sh -c '
    "$1" -e "$2 o = ORDER d BY i; DUMP o;" > a.out &&
    "$1" -e "x = LOAD '"'ty'"' USING $3; o = ORDER x BY i; DUMP o;" > b.out && cmp a.out b.out' sh "$DQL" "$LOADTY" "$PG"
check_run "LOAD 'SELECT ...'" 0 \
'x: {i: int, l2: long, h: chararray}
-2,-6,
1,20000000000,\x726177' '' \
    "$DQL" -e "x = LOAD 'SELECT i, l * 2 AS l2, b::text AS h FROM ty ORDER BY i' USING $PG; DESCRIBE x; DUMP x;"
check_run "LOAD with AS (positional)" 0 '1,10000000000' '' \
    "$DQL" -e "x = LOAD 'ty' USING $PG AS (n:long, s); f = FILTER x BY n > 0; DUMP f;"

# --------------------------------------------------------- OVERWRITE rules
seq 1 3 > three.txt
seq 1 5 > five.txt
check_run "a new table" 0 '' '' "$DQL" -e "d = LOAD 'three.txt' USING lines() AS (n:long); STORE d INTO 't' USING $PG;"
check_run "an existing table needs OVERWRITE (check time)" 3 '' \
    "~error: postgres: table 't' exists \\(use STORE ... OVERWRITE or SET overwrite true\\)" \
    "$DQL" -e "d = LOAD 'five.txt' USING lines() AS (n:long); STORE d INTO 't' USING $PG;"
check_run "the table is unchanged" 0 '3' '' sql 'SELECT count(*) FROM t'
check_run "OVERWRITE replaces it" 0 '' '' "$DQL" -e "d = LOAD 'five.txt' USING lines() AS (n:long); STORE d INTO 't' USING $PG OVERWRITE;"
check_run "OVERWRITE again (idempotent retry)" 0 '' '' "$DQL" -e "d = LOAD 'five.txt' USING lines() AS (n:long); STORE d INTO 't' USING $PG OVERWRITE;"
check_run "5 rows" 0 '5|15' '' sql 'SELECT count(*), sum(n) FROM t'
check_run "SET overwrite true" 0 '' '' "$DQL" -e "SET overwrite true; d = LOAD 'three.txt' USING lines() AS (n:long); STORE d INTO 'pg:t' USING $PG;"
check_run "3 rows" 0 '3' '' sql 'SELECT count(*) FROM t'
sql 'CREATE VIEW v AS SELECT 1 AS one'
check_run "OVERWRITE replaces a view" 0 '' '' "$DQL" -e "d = LOAD 'three.txt' USING lines() AS (n:long); STORE d INTO 'v' USING $PG OVERWRITE;"
check_run "v is a table" 0 'r' '' sql "SELECT relkind FROM pg_class WHERE relname = 'v'"
sql 'CREATE SCHEMA s2'
check_run "schema.table" 0 '' '' "$DQL" -e "d = LOAD 'three.txt' USING lines() AS (n:long); STORE d INTO 's2.t' USING $PG;"
check_run "LOAD schema.table" 0 '3' '' "$DQL" -e "d = LOAD 's2.t' USING $PG; g = GROUP d ALL; c = FOREACH g GENERATE COUNT(d); DUMP c;"
check_run "bad table name" 3 '' "~invalid table name 'a;b'" "$DQL" -e "d = LOAD 'three.txt' USING lines() AS (n:long); STORE d INTO 'a;b' USING $PG;"
check_run "no such table" 3 '' '~postgres table .nope.: .*does not exist' "$DQL" -e "d = LOAD 'nope' USING $PG; DUMP d;"

# --------------------------------------------------------- failed and interrupted STOREs
printf '1\n2\nthree\n' > bad.txt
check_run "a STORE failing at run time" 1 '' '~error' \
    "$DQL" -e "SET strict true; d = LOAD 'bad.txt' USING lines() AS (n:long); STORE d INTO 't' USING $PG OVERWRITE;"
check_run "leaves the old table" 0 '3|6' '' sql 'SELECT count(*), sum(n) FROM t'
printf 'a\nb\nc\000d\n' > nul.txt
check_run "a STORE the server refuses (NUL byte in text)" 1 '' '~postgres: table .t.: COPY failed' \
    "$DQL" -e "d = LOAD 'nul.txt' USING lines() AS (s:chararray); STORE d INTO 't' USING $PG OVERWRITE;"
check_run "leaves the old table too" 0 '3|6' '' sql 'SELECT count(*), sum(n) FROM t'

rm -f fifo
mkfifo fifo
"$DQL" -e "d = LOAD 'fifo' USING lines() AS (n:long); STORE d INTO 't' USING $PG OVERWRITE;" >int.out 2>int.err &
pid=$!
exec 7>fifo
seq 1 5000 >&7
n=0
i=0
while [ $i -lt 100 ]; do
    n=$(sql "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY %'")
    [ "$n" = 1 ] && break
    sleep 0.1
    i=$((i + 1))
done
[ "$n" = 1 ] || { echo "FAIL: the STORE from the fifo never started its COPY" >&2; exit 1; }
kill -INT $pid
sleep 0.3
exec 7>&-
wait $pid
rc=$?
NCHECKS=$((NCHECKS + 1))
[ $rc -eq 130 ] || { echo "FAIL: interrupted STORE: exit status $rc, expected 130" >&2; cat int.err >&2; exit 1; }
check_run "an interrupted STORE leaves the old table" 0 '3|6' '' sql 'SELECT count(*), sum(n) FROM t'
check_run "and no temporary table" 0 '0' '' sql "SELECT count(*) FROM pg_class WHERE relname LIKE '%dql_tmp%'"

# --------------------------------------------------------- concurrent writers
seq 1 200000 > big.txt
"$DQL" -e "d = LOAD 'big.txt' USING lines() AS (n:long); STORE d INTO 'c1' USING $PG;" >c1.out 2>&1 &
p1=$!
"$DQL" -e "d = LOAD 'big.txt' USING lines() AS (n:long); e = FOREACH d GENERATE n * 2 AS n; STORE e INTO 'c2' USING $PG;" >c2.out 2>&1 &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
NCHECKS=$((NCHECKS + 1))
[ $r1 -eq 0 ] && [ $r2 -eq 0 ] || { echo "FAIL: concurrent STOREs: $r1 $r2" >&2; cat c1.out c2.out >&2; exit 1; }
check_run "two concurrent writers" 0 '200000|20000100000
200000|40000200000' '' sql 'SELECT count(*), sum(n) FROM c1 UNION ALL SELECT count(*), sum(n) FROM c2'

# --------------------------------------------------------- passwords
PW='Sw0rdfish-7f3c9e1a'
sql "CREATE ROLE alice LOGIN PASSWORD '$PW'" && DB=postgres sql 'CREATE DATABASE alicedb OWNER alice' || exit 99
printf '*:*:*:alice:%s\n' "$PW" > "$T/pgpass"
chmod 600 "$T/pgpass"
AL="postgres('host=$S dbname=alicedb user=alice')"
nopw() {   # the password is nowhere in the outputs
    NCHECKS=$((NCHECKS + 1))
    if grep -r -F -- "$PW" "$T/.run" "$T/work" 2>/dev/null; then
        echo "FAIL: $1: the password shows in an output" >&2
        exit 1
    fi
}
check_run "STORE as alice, password from PGPASSFILE" 0 '' '' \
    env PGPASSFILE="$T/pgpass" "$DQL" -e "d = LOAD 'three.txt' USING lines() AS (n:long); STORE d INTO 'a' USING $AL;"
nopw "STORE with PGPASSFILE"
check_run "LOAD as alice" 0 '1
2
3' '' env PGPASSFILE="$T/pgpass" "$DQL" -e "d = LOAD 'a' USING $AL; o = ORDER d BY n; DUMP o;"
nopw "LOAD with PGPASSFILE"
check_run "no password: a clear error, status 3" 3 '' '~postgres: cannot connect: .*password' \
    env PGPASSFILE=/nonexistent "$DQL" -e "d = LOAD 'a' USING $AL; DUMP d;"
check_run "the right password in PGPASSWORD" 0 '3' '' \
    env PGPASSFILE=/nonexistent PGPASSWORD="$PW" "$DQL" -e "d = LOAD 'a' USING $AL; g = GROUP d ALL; c = FOREACH g GENERATE COUNT(d); DUMP c;"
nopw "PGPASSWORD"
check_run "a wrong password: authentication fails" 3 '' '~password authentication failed' \
    env PGPASSFILE=/nonexistent PGPASSWORD="x$PW" "$DQL" -e "d = LOAD 'a' USING $AL; DUMP d;"
nopw "wrong PGPASSWORD"
NCHECKS=$((NCHECKS + 1))
if grep -F -- "$PW" "$P/log/server.log"; then echo "FAIL: the password is in the server log" >&2; exit 1; fi

# --------------------------------------------------------- a password in the script
check_run "password= in the connection string is refused at check time" 3 '' \
    '~postgres: the connection string holds a password: never put one in a script' \
    "$DQL" -c -e "d = LOAD 'three.txt' USING lines() AS (n:long); STORE d INTO 't2' USING postgres(\$CI);" -p "CI='host=$S password=hunter2'"
check_run "also in a URI, and for LOAD" 3 '' \
    '~postgres: the connection string holds a password' \
    "$DQL" -c -e "d = LOAD 't' USING postgres(\$CI); DUMP d;" -p "CI='postgresql://alice:hunter2@localhost/db'"
check_run "written in the script itself" 3 '' '~holds a password' \
    "$DQL" -e "d = LOAD 't' USING postgres('host=/tmp password = hunter2 user=x'); DUMP d;"
NCHECKS=$((NCHECKS + 1))
if grep -r -F hunter2 "$T/.run"; then echo "FAIL: the password of the refused string shows" >&2; exit 1; fi
check_run "no table t2" 0 '0' '' sql "SELECT count(*) FROM pg_class WHERE relname = 't2'"
check_run "unknown arguments" 3 '' "~postgres: unknown argument 'user'" \
    "$DQL" -c -e "d = LOAD 't' USING postgres('service=dql', user = 'x'); DUMP d;"

# --------------------------------------------------------- sharded runs (doc/shards.md)
# a STORE of rows the tasks compute: each task COPYs its part at the same
# time as the others (one transaction each), the merge assembles them
awk 'BEGIN { for (i = 1; i <= 90000; i++) printf "%d\tn%d.example\n", i, i % 977 }' > big.tsv
SH="d = LOAD 'big.tsv' USING tsv() AS (n:long, name:domain); e = FOREACH d GENERATE n, name, n % 7 AS k;"
check_run "sharded STORE: the tasks write parts" 0 '' '' \
    "$DQL" --shards 3 -e "SET shards.keep true; $SH STORE e INTO 'sharded' USING postgres('service=dql');"
check_run "the parts assembled: every row" 0 '90000|4050045000|977' '' \
    sql 'SELECT count(*), sum(n), count(DISTINCT name) FROM sharded'
check_run "no part left" 0 '0' '' sql "SELECT count(*) FROM pg_class WHERE relname LIKE '%dql_tmp%'"
check_run "the task logs" 0 '*' '' sh -c 'ls .dql-shards/run-*/seg-*/task-2.log'
rm -rf .dql-shards
check_run "sharded GROUP stored by the merge, read back" 0 "$(awk 'BEGIN { for (i = 1; i <= 90000; i++) { c[i % 7]++; s[i % 7] += i }
    for (k = 0; k < 7; k++) printf "%d,%d,%d\n", k, c[k], s[k] }')" '' \
    "$DQL" --shards 2 -e "$SH g = GROUP e BY k; c = FOREACH g GENERATE group AS k, COUNT(e) AS n, SUM(e.n) AS s;
        STORE c INTO 'per_k' USING postgres('service=dql') OVERWRITE;
        x = LOAD 'per_k' USING postgres('service=dql'); DUMP (ORDER x BY k);"
# a task that fails leaves its part out; --resume runs it and assembles
cat > stop.lua <<'LUA'
function check(n)
  if n == 80000 and io.open("stop") then error("stop file at " .. n) end
  return n
end
LUA
touch stop
RS="REGISTER 'stop.lua'; d = LOAD 'big.tsv' USING tsv() AS (n:long, name:chararray); e = FOREACH d GENERATE stop.check(n) AS n, name; STORE e INTO 'resumed' USING $AL;"
check_run "a failing task: the STORE is not made" 1 '' '~^dql: shards: 1 of 3 tasks failed' \
    env PGPASSFILE="$T/pgpass" "$DQL" --shards 3 -e "$RS"
check_run "no table yet, the finished parts wait" 0 '0|2' '' \
    env DB=alicedb sh -c "$PSQL -X -q -At -h $S -U dqladmin -d alicedb -c \"SELECT (SELECT count(*) FROM pg_class WHERE relname = 'resumed'), (SELECT count(*) FROM pg_class WHERE relname LIKE 'resumed%dql_tmp%' AND relkind = 'r')\""
nopw "a failed sharded STORE (messages and task logs)"
rm stop
check_run "--resume: the failed task's part, then the table" 0 '' 'dql: --resume: 2 of 3 tasks had finished; running 1' \
    env PGPASSFILE="$T/pgpass" "$DQL" --shards 3 --resume -e "$RS"
check_run "every row, no part left" 0 '90000|0' '' \
    sh -c "$PSQL -X -q -At -h $S -U dqladmin -d alicedb -c \"SELECT (SELECT count(*) FROM resumed), (SELECT count(*) FROM pg_class WHERE relname LIKE '%dql_tmp%')\""
nopw "sharded STORE with PGPASSFILE"
NCHECKS=$((NCHECKS + 1))
if grep -F -- "$PW" "$P/log/server.log"; then echo "FAIL: the password is in the server log" >&2; exit 1; fi

pass
