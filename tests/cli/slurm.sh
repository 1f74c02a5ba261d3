#!/bin/sh
# slurm.sh — sharded runs with the Slurm executor (src/shard.c, doc/shards.md)
# on a one-node cluster that ../shared/tools/slurm-single-node brings up (and
# stops again if this test started it): the answer is that of one process
# (2 and 3 shards, and SET executor in the script); slurm.* settings become
# sbatch options (a bad partition is sbatch's error); a task failing on bad
# input fails the run with its exit code and log; a task cancelled in Slurm
# is reported (with its Slurm state when it could write no exit code).
# Skips (exit 77) when not root (the cluster is started as root) or when the
# tool is missing.
. "${SRCDIR:-$(dirname "$0")/../..}/tests/cli/lib.sh"

TOOL=${SHARED:-$SRCDIR/../shared}/tools/slurm-single-node
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: the one-node Slurm cluster is started as root (run make check as root, as CI does)"
    exit 77
fi
if [ ! -x "$TOOL" ]; then
    echo "SKIP: $TOOL not found (../shared beside the project)"
    exit 77
fi
STARTED=0
if ! sinfo -h -N -o %t 2>/dev/null | grep -qx idle; then
    "$TOOL" start > "$T/slurm-start.log" 2>&1 || { echo "FAIL: slurm-single-node start:" >&2; cat "$T/slurm-start.log" >&2; exit 99; }
    STARTED=1
fi
trap '[ $STARTED = 1 ] && "$TOOL" stop >/dev/null 2>&1; rm -rf "$T"' EXIT

awk 'BEGIN { srand(3); for (i = 0; i < 20000; i++) printf "n%d.zone%d.example\n", i, int(rand() * 40) }' > names.txt
cat > group.dql <<'EOF'
d = LOAD 'names.txt' USING lines() AS (name:chararray);
t = FOREACH d GENERATE SUBSTRING(name, INDEXOF(name, '.', 0) + 1, 100) AS zone, SIZE(name) AS len;
g = GROUP t BY zone;
DUMP (ORDER (FOREACH g GENERATE group, COUNT(t), SUM(t.len), AVG(t.len), MAX(t.len)) BY group);
DUMP (LIMIT (FILTER d BY ENDSWITH(name, 'zone7.example')) 5);
EOF
"$DQL" group.dql > one.txt || exit 99
for n in 2 3; do
    check_run "Slurm, $n shards: the rows of one process" 0 @one.txt '' "$DQL" --shards $n --executor slurm group.dql
done
check_run "SET executor and slurm.partition in the script" 0 @one.txt '' \
    "$DQL" -e "SET shards 2; SET executor 'slurm'; SET slurm.partition 'dql'; SET slurm.time '5';" -f group.dql
check_run "a partition Slurm does not know: sbatch's message" 1 '' '~^dql: shards: sbatch failed: .*[Pp]artition' \
    "$DQL" -e "SET slurm.partition 'nosuch';" --shards 2 --executor slurm -f group.dql

awk 'BEGIN { for (i = 0; i < 5000; i++) print i }' > nums.txt
sed -i '4000s/.*/bad/' nums.txt
printf 'SET strict true;\nd = LOAD %snums.txt%s USING lines() AS (n:long);\ng = GROUP d ALL;\nDUMP (FOREACH g GENERATE COUNT(d));\n' "'" "'" > strict.dql
check_run "a task failing on bad input" 1 '' '~^dql: shards: task 1 of 2 failed \(exit 1\); its log .*/task-1\.log ends:$' \
    "$DQL" --shards 2 --executor slurm strict.dql
grep -q "nums.txt:4000: bad long: 'bad'" "$T/.run/err" || { echo "FAIL: the task's log is not shown" >&2; cat "$T/.run/err" >&2; exit 1; }
rm -rf .dql-shards

# a task cancelled in Slurm writes no exit code: the run sees it gone from the queue
cat > slow.lua <<'EOF'
function slow(n)
  if n == 4999 then os.execute("sleep 60") end
  return n
end
EOF
awk 'BEGIN { for (i = 0; i < 5000; i++) print i }' > nums.txt
printf 'REGISTER %sslow.lua%s;\nd = LOAD %snums.txt%s USING lines() AS (n:long);\ne = FOREACH d GENERATE slow.slow(n);\nDUMP (FOREACH (GROUP e ALL) GENERATE COUNT(e));\n' "'" "'" "'" "'" > slow.dql
( sleep 4; scancel --name=dql-shards ) &
# (the job script may or may not live to write the exit code of the killed dql)
check_run "a task cancelled in Slurm" 1 '' '~^dql: shards: task 1 of 2 failed(: Slurm state CANCELLED| \(killed by signal 15\))' \
    "$DQL" --shards 2 --executor slurm slow.dql
wait
pass
