#!/bin/sh
# shards.sh — sharded runs (src/shard.c, doc/shards.md) with the local
# executor: a sharded run gives exactly the rows of a one-process run (1, 2, 3
# and 7 shards) for GROUP with every algebraic aggregate (COUNT_DISTINCT too:
# the tasks ship their sets), DISTINCT, ORDER,
# LIMIT, a STORE of streaming rows and DUMP of them (order kept); line
# files split by byte range whatever the lines (long, CRLF, no final newline,
# blank and comment lines, a header and skip), several files shared out by
# file, a table split by rowid range and a file sweep; EXPLAIN shows the cut;
# a task that fails on bad input fails the run with its log; --resume runs
# only the failed tasks and refuses when the input changed; what tasks print
# reaches the terminal; shards.dir and shards.keep; usage errors; a zone
# split by byte range whose tasks start by speculation, right and wrong
# guesses. The Slurm executor is tested by
# tests/cli/slurm.sh, zone files and pcaps by tests/cli/shards-dns.sh.
. "${SRCDIR:-$(dirname "$0")/../..}/tests/cli/lib.sh"

# same NAME N SCRIPT: the script's output with N shards is that of one process
same() {
    _name=$1 _n=$2 _script=$3
    "$DQL" "$_script" > "$T/.run/one" 2> "$T/.run/one.err" || { echo "FAIL: $_name: the unsharded run failed:" >&2; cat "$T/.run/one.err" >&2; exit 1; }
    [ -s "$T/.run/one" ] || { echo "FAIL: $_name: the unsharded run printed nothing" >&2; exit 1; }
    check_run "$_name ($_n shards)" 0 "@$T/.run/one" '' "$DQL" --shards "$_n" "$_script"
}

# ---------------------------------------------------------------- a domain list
awk 'BEGIN { srand(7); split("com net org de io", tld, " ");
             for (i = 0; i < 30000; i++) printf "host%d.example%d.%s\n", i, int(rand() * 60), tld[1 + int(rand() * 5)] }' > names.txt
cat > group.dql <<'EOF'
d = LOAD 'names.txt' USING lines() AS (name:chararray);
t = FOREACH d GENERATE name, SUBSTRING(name, INDEXOF(name, '.', 0) + 1, 100) AS zone, SIZE(name) AS len;
g = GROUP t BY zone;
c = FOREACH g GENERATE group, COUNT(t) AS n, COUNT_STAR(t) AS n2, SUM(t.len) AS s, AVG(t.len) AS a,
                       MIN(t.name) AS mn, MAX(t.name) AS mx, MAX(t.len) AS ml, COUNT_DISTINCT(t.len) AS dl;
o = ORDER c BY n DESC, group;
DUMP o;
tl = GROUP t BY (SUBSTRING(zone, INDEXOF(zone, '.', 0) + 1, 10), len);
c2 = FOREACH tl GENERATE group, COUNT(t);
DUMP (ORDER c2 BY group);
a = GROUP t ALL;
DUMP (FOREACH a GENERATE COUNT(t), SUM(t.len), MIN(t.len), AVG(t.len), COUNT_DISTINCT(t.zone));
-- COUNT_DISTINCT: nulls not counted, a domain in another case is the same domain
v = FOREACH t GENERATE (len % 3 == 0 ? null : len) AS l3, (domain)(len % 2 == 0 ? UPPER(zone) : zone) AS dz;
DUMP (FOREACH (GROUP v ALL) GENERATE COUNT_DISTINCT(v.l3), COUNT(v.l3), COUNT_DISTINCT(v.dz));
u = DISTINCT (FOREACH t GENERATE zone);
DUMP (ORDER u BY zone);
EOF
for n in 1 2 3 7; do same "GROUP, GROUP ALL, DISTINCT" $n group.dql; done

cat > stream.dql <<'EOF'
d = LOAD 'names.txt' USING lines() AS (name:chararray);
f = FILTER d BY ENDSWITH(name, '.de') AND SIZE(name) > 19;
t = FOREACH f GENERATE name, UPPER(name) AS up;
DUMP t;
DUMP (LIMIT t 7);
EOF
for n in 2 7; do same "DUMP of streaming rows keeps their order" $n stream.dql; done

# TOP is pre-aggregated (each task keeps its best tuples): the same tuples
# as one process, ties (many equal lengths) to the earlier tuple, with the
# bag function's answer when the bag is also used otherwise (no fusion)
cat > top.dql <<'EOF'
d = LOAD 'names.txt' USING lines() AS (name:chararray);
t = FOREACH d GENERATE SUBSTRING(name, INDEXOF(name, '.', 0) + 1, 100) AS zone, SIZE(name) AS len, name;
g = GROUP t BY zone;
DUMP (ORDER (FOREACH g GENERATE group, TOP(3, 1, t), TOP(2, 2, t)) BY group);
DUMP (ORDER (FOREACH g GENERATE group, TOP(3, 1, t), TOP(2, 2, t), SIZE(t)) BY group);
DUMP (FOREACH (GROUP t ALL) GENERATE TOP(5, 1, t));
EOF
for n in 1 2 3 7; do same "TOP" $n top.dql; done
head -3 top.dql > top-fused.dql; echo 'DUMP (ORDER (FOREACH g GENERATE group, TOP(3, 1, t), TOP(2, 2, t)) BY group);' >> top-fused.dql
head -3 top.dql > top-bag.dql; echo 'DUMP (ORDER (FOREACH g GENERATE group, TOP(3, 1, t), TOP(2, 2, t), SIZE(t)) BY group);' >> top-bag.dql
"$DQL" top-fused.dql > top-fused.out && "$DQL" top-bag.dql | sed 's/,[0-9]*$//' > top-bag.out &&
    [ "$(wc -l < top-fused.out)" -eq 300 ] && cmp -s top-fused.out top-bag.out ||
    { echo "FAIL: TOP fused into the aggregation differs from TOP over the bag" >&2; diff top-fused.out top-bag.out | head >&2; exit 1; }
check_run "EXPLAIN: TOP is pre-aggregated" 0 \
'~┄┄ cut: pre-aggregated in 2 local tasks \(partial states\)' '' \
    "$DQL" --shards 2 -e "d = LOAD 'names.txt' USING lines() AS (name:chararray); g = GROUP d BY SIZE(name); EXPLAIN (FOREACH g GENERATE group, TOP(2, 0, d));"

# the GROUP's bag used other than by an aggregate: no pre-aggregation, the rows go to the merge
cat > bag.dql <<'EOF'
d = LOAD 'names.txt' USING lines() AS (name:chararray);
t = FOREACH d GENERATE SUBSTRING(name, INDEXOF(name, '.', 0) + 1, 100) AS zone, name;
g = GROUP t BY zone;
c = FOREACH g { s = ORDER t BY name; f = LIMIT s 2; GENERATE group, f.name; };
DUMP (ORDER c BY group);
EOF
same "GROUP with a nested block" 3 bag.dql

# STORE of streaming rows: the merge writes the table; then LOAD it sharded by rowid range
cat > store.dql <<'EOF'
d = LOAD 'names.txt' USING lines() AS (name:chararray);
t = FOREACH d GENERATE name, SIZE(name) AS len, (ENDSWITH(name, '.io') ? 'io' : 'other') AS kind;
STORE t INTO 'named' OVERWRITE;
EOF
cat > table.dql <<'EOF'
x = LOAD 'named';
g = GROUP x BY kind;
DUMP (ORDER (FOREACH g GENERATE group, COUNT(x), SUM(x.len)) BY group);
DUMP (LIMIT x 3);
EOF
"$DQL" store.dql && "$DQL" table.dql > one-table.txt || { echo "FAIL: unsharded STORE" >&2; exit 1; }
check_run "STORE of streaming rows (4 shards)" 0 '' '' "$DQL" --shards 4 store.dql
check_run "the table has every row" 0 @one-table.txt '' "$DQL" table.dql
for n in 2 5; do same "LOAD of a table split by rowid range" $n table.dql; done

# ---------------------------------------------------------------- line files split by byte range
# long lines, CRLF, blank and comment lines, and no newline at the end
awk 'BEGIN { for (i = 0; i < 400; i++) {
    if (i % 37 == 0) { s = "long"; for (k = 0; k < 300; k++) s = s "x"; print s i }
    else if (i % 11 == 0) printf "crlf%d\r\n", i
    else if (i % 13 == 0) print ""
    else if (i % 17 == 0) print "# comment " i
    else print "line" i } printf "last" }' > edge.txt
echo "d = LOAD 'edge.txt' USING lines() AS (l:chararray); DUMP (FOREACH d GENERATE l, SIZE(l));" > edge.dql
for n in 2 3 9 64; do same "lines split at any byte" $n edge.dql; done
[ "$("$DQL" edge.dql | wc -l)" -eq 353 ] || { echo "FAIL: edge.txt: expected 353 lines" >&2; exit 1; }

# tsv with a header and skipped lines, jsonl, csv without quoting
{ echo "junk"; printf 'n\tname\n'; awk 'BEGIN { for (i = 0; i < 3000; i++) printf "%d\tn%d\n", i, i * 7 }'; } > t.tsv
echo "d = LOAD 't.tsv' USING tsv(header = true, skip = 1); DUMP (FOREACH d GENERATE n, name);" > tsv.dql
same "tsv with skip and a header" 5 tsv.dql
awk 'BEGIN { for (i = 0; i < 2000; i++) printf "{\"i\": %d, \"s\": \"v%d\"}\n", i, i % 13 }' > t.jsonl
echo "d = LOAD 't.jsonl' USING jsonl() AS (i:long, s:chararray); g = GROUP d BY s; DUMP (ORDER (FOREACH g GENERATE group, SUM(d.i)) BY group);" > jsonl.dql
same "jsonl" 3 jsonl.dql
awk 'BEGIN { for (i = 0; i < 2000; i++) printf "%d,x%d\n", i, i % 5 }' > t.csv
echo "d = LOAD 't.csv' USING csv(header = false, quote = '') AS (i:long, x:chararray); g = GROUP d BY x; DUMP (ORDER (FOREACH g GENERATE group, SUM(d.i), COUNT(d)) BY group);" > csv.dql
same "csv without quoting" 4 csv.dql

# several files: shared out whole, in order (one compressed)
mkdir parts
split -l 4000 names.txt parts/p.
gzip parts/p.ab
echo "d = LOAD 'parts' USING lines() AS (name:chararray); DUMP (FILTER d BY ENDSWITH(name, '0.org'));" > parts.dql
for n in 2 3 20; do same "a directory of files" $n parts.dql; done

# ---------------------------------------------------------------- a file sweep
mkdir -p tree/a/b tree/c
for i in 1 2 3 4 5 6 7 8 9; do echo "file $i" > "tree/a/f$i.txt"; echo "other $i" > "tree/c/g$i.log"; done
echo "deep" > tree/a/b/deep.txt
echo "f = LOAD 'tree' USING files(); DUMP (FOREACH f GENERATE path, size, sha256);" > files.dql
for n in 2 4; do same "a file sweep" $n files.dql; done

# ---------------------------------------------------------------- a zone split by byte range
# Over 1 MB before a shard, the task starts by speculation (src/zone_scan.c):
# it reads the head and the directives, scans a window, and the coordinator
# checks its start against where the task before it ended.
awk 'BEGIN { print "$ORIGIN tld."; print "$TTL 86400"; print "@ IN SOA a.nic hm 1 2 3 4 5"; print " IN NS a.nic";
             print "a.nic 3600 IN A 192.0.2.1";
             for (i = 0; i < 60000; i++) {
                 printf "d%d IN NS ns%d.host.net.\n", i, i % 97;
                 if (i % 3 == 0) printf " IN DS %d 8 2 %064d\n", i, i;
                 if (i == 30000) print "$ORIGIN sub.tld.";
             } }' > big.zone
cat > zone.dql <<'EOF'
z = LOAD 'big.zone' USING zone();
DUMP (ORDER (FOREACH (GROUP z BY type) GENERATE group, COUNT(z), MIN(z.owner), MAX(z.owner), SUM(z._line), SUM(z.ttl)) BY group);
EOF
for n in 2 3; do same "a zone split by byte range, speculative starts" $n zone.dql; done
NCHECKS=$((NCHECKS + 1))
"$DQL" --shards 3 -e 'SET stats true;' -f zone.dql > /dev/null 2> zone.err
! grep -q 'wrong guess' zone.err || { echo "FAIL: a speculative start did not hold on a plain zone:" >&2; cat zone.err >&2; exit 1; }
# a "$TTL" line inside parentheses is text, but the directives read by
# memchr take it for one: the guess is wrong and the task runs again exactly
awk 'BEGIN { print "$ORIGIN tld."; print "$TTL 86400"; print "@ IN SOA a.nic hm 1 2 3 4 5"; print " IN NS a.nic";
             for (i = 0; i < 150000; i++) {
                 printf "d%d NS ns%d.host.net.\n", i, i % 97;
                 if (i == 10000) print "t TXT ( \"a\"\n$TTL 5\n \"b\" )";
             } }' > big.zone
same "a wrong speculative start is run again exactly" 2 zone.dql
check_run "... and says so with SET stats" 0 '*' '~started from a wrong guess of the state before its shard; running it again exactly' \
    "$DQL" --shards 2 -e 'SET stats true;' -f zone.dql

# ---------------------------------------------------------------- EXPLAIN shows the cut
check_run "EXPLAIN shows the cut" 0 \
'~┄┄ cut: pre-aggregated in 3 local tasks \(partial states\), combined here; LOAD .names.txt. split by byte range' '' \
    "$DQL" --shards 3 -e "d = LOAD 'names.txt' USING lines() AS (name:chararray); g = GROUP d BY SIZE(name); EXPLAIN (FOREACH g GENERATE group, COUNT(d));"
check_run "EXPLAIN: COUNT_DISTINCT is pre-aggregated" 0 \
'~┄┄ cut: pre-aggregated in 2 local tasks \(partial states\)' '' \
    "$DQL" --shards 2 -e "d = LOAD 'names.txt' USING lines() AS (name:chararray); g = GROUP d BY SIZE(name); EXPLAIN (FOREACH g GENERATE group, COUNT_DISTINCT(d.name));"
check_run "EXPLAIN: a plain cut below ORDER" 0 '~┄┄ cut: computed by 2 local tasks, read back in task order' '' \
    "$DQL" -e "SET shards 2; d = LOAD 'names.txt' USING lines() AS (name:chararray); EXPLAIN (ORDER d BY name);"

# ---------------------------------------------------------------- a task that fails
awk 'BEGIN { for (i = 0; i < 10000; i++) print i }' > nums.txt
cp nums.txt nums.ok
sed '9000s/.*/notanumber/' nums.ok > nums.txt
cat > strict.dql <<'EOF'
SET strict true;
d = LOAD 'nums.txt' USING lines() AS (n:long);
g = GROUP d ALL;
DUMP (FOREACH g GENERATE COUNT(d), SUM(d.n));
EOF
check_run "bad input in one shard fails the run with that task's log" 1 '' \
'~^dql: shards: task 3 of 4 failed \(exit 1\); its log .*/task-3\.log ends:$' "$DQL" --shards 4 strict.dql
grep -q "^  | strict.dql:2:5: error: LOAD d: nums.txt:9000: bad long: 'notanumber' (strict mode)$" "$T/.run/err" \
    || { echo "FAIL: the task's error (file and line of the bad value) is not shown:" >&2; cat "$T/.run/err" >&2; exit 1; }
grep -q "rerun with --resume" "$T/.run/err" || { echo "FAIL: no hint at --resume" >&2; exit 1; }
cp nums.ok nums.txt
check_run "--resume when the input changed is refused" 2 '' \
    "~^dql: --resume: 'nums.txt' changed since the failed run" "$DQL" --shards 4 --resume strict.dql
check_run "the run again, from scratch" 0 '10000,49995000' '' "$DQL" --shards 4 strict.dql
[ ! -e .dql-shards ] || { echo "FAIL: .dql-shards left after a successful run" >&2; ls -R .dql-shards >&2; exit 1; }

# --resume: a task fails for a reason outside the input (here a UDF that sees a stop file)
cat > stop.lua <<'EOF'
function check(n)
  if n == 9000 and io.open("stop") then error("stop file present at " .. n) end
  return n
end
EOF
cat > resume.dql <<'EOF'
REGISTER 'stop.lua';
d = LOAD 'nums.txt' USING lines() AS (n:long);
e = FOREACH d GENERATE stop.check(n) AS n;
g = GROUP e ALL;
DUMP (FOREACH g GENERATE COUNT(e), SUM(e.n));
EOF
touch stop
check_run "a failing task" 1 '' '~^dql: shards: 1 of 4 tasks failed' "$DQL" --shards 4 resume.dql
d=$(ls -d .dql-shards/run-*/seg-1)
touch -d '2001-01-01' "$d/task-0.db"
rm stop
check_run "--resume runs only the failed task" 0 '10000,49995000' \
    'dql: --resume: 3 of 4 tasks had finished; running 1' "$DQL" --shards 4 --resume resume.dql

# ---------------------------------------------------------------- what tasks print
printf '1\n2\nx\n4\n' > dirty.txt
check_run "warnings of the tasks reach the terminal" 0 '3,7' \
'[task 1/2] -e:1:53: warning: lines: bad long: 1 time (first: dirty.txt:3: bad long: '"'x'"')' \
    "$DQL" --shards 2 -e "d = LOAD 'dirty.txt' USING lines() AS (n:long); g = GROUP d ALL; DUMP (FOREACH g GENERATE COUNT(d), SUM(d.n));"

# ---------------------------------------------------------------- where the task files go
check_run "SET shards.dir and shards.keep" 0 '10000,49995000' '' \
    "$DQL" --shards 2 -e "SET shards.dir 'scratch/tasks'; SET shards.keep 'On'; d = LOAD 'nums.txt' USING lines() AS (n:long); g = GROUP d ALL; DUMP (FOREACH g GENERATE COUNT(d), SUM(d.n));"
NCHECKS=$((NCHECKS + 1))
ls scratch/tasks/run-*/seg-1/task-1.db scratch/tasks/run-*/seg-1/task-0.log >/dev/null || { echo "FAIL: no task files under shards.dir" >&2; exit 1; }
[ ! -e .dql-shards ] || { echo "FAIL: .dql-shards used despite shards.dir" >&2; exit 1; }

# ---------------------------------------------------------------- usage
check_run "--shards 0" 2 '' '~shards: .0. is not a number of tasks' "$DQL" --shards 0 group.dql
check_run "--executor nonsense" 2 '' '~executor: .nonsense. is not local or slurm' "$DQL" --executor nonsense group.dql
check_stdin group.dql "a script on stdin cannot be sharded" 2 '' \
    '~^dql: a sharded run \(shards = 2\) needs a script' "$DQL" --shards 2
check_stdin group.dql "nor -f - beside -e" 2 '' \
    '~^dql: a sharded run \(shards = 2\) needs a script' "$DQL" --shards 2 -e 'SET stats false;' -f -
check_run "SET shards in the script" 0 '10000,49995000' '' \
    "$DQL" -e "SET shards 3; d = LOAD 'nums.txt' USING lines() AS (n:long); g = GROUP d ALL; DUMP (FOREACH g GENERATE COUNT(d), SUM(d.n));"
pass
