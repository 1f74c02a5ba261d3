#!/bin/sh
# files.sh — many small files: per-file STREAM overhead and the built-in
# analyzers against forking the tools, on one tree of small files.
#
# The tree: N files (default 10,000) of 1 to 64 KB of random bytes in 100
# folders, made once (deterministic sizes) in bench/data/files-N/.
#
# Part 1 — per-file execution of `sha256sum FILE`, 2 at a time:
#   dql      STREAM f THROUGH `sha256sum ${file}` WITH (parallel = 2)
#   xargs    find TREE -type f | xargs -P2 -n1 sha256sum
#   parallel find TREE -type f | parallel -j2 sha256sum   (GNU parallel, if installed)
#   target: dql within 1.2x of xargs -P2.
# Part 2 — the built-in analyzers against a fork per file:
#   dql HASH     FOREACH f GENERATE path, HASH(path, 'sha256')
#   dql FILETYPE FOREACH f GENERATE path, FILETYPE(path)
#   fork         find TREE -type f | xargs -n1 sha256sum / xargs -n1 file -b
#   (and, for scale, the batch forms: xargs sha256sum, xargs file)
#   target: the built-ins at least 5x faster than a fork per file.
# Each command runs ROUNDS times, interleaved; the median is kept. The outputs
# are compared (same digests, same descriptions).
# Usage: bench/files.sh [N (default 10000)] [ROUNDS (default 3)]
set -eu
N=${1:-10000}
ROUNDS=${2:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
DQL=${DQL:-$TOP/dql}
[ -x "$DQL" ] || DQL=$(ls "$TOP"/build*/dql 2> /dev/null | head -n 1)
[ -n "$DQL" ] && [ -x "$DQL" ] || { echo "files.sh: dql is not built" >&2; exit 2; }
W=$HERE/data/files
mkdir -p "$W"
cp "$DQL" "$W/dql.bin"
DQL=$W/dql.bin
TREE=$HERE/data/files-$N
if [ ! -f "$TREE.done" ]; then
    echo "making $N files of 1-64 KB in $TREE ..."
    rm -rf "$TREE"
    mkdir -p "$TREE"
    i=0
    # sizes from a fixed LCG; content from /dev/urandom (it does not matter)
    head -c $((N * 40 * 1024)) /dev/urandom > "$W/pool.bin"
    awk -v n="$N" 'BEGIN { s = 12345; for (i = 0; i < n; i++) { s = (s * 1103515245 + 12345) % 2147483648; print i, 1024 + s % (63 * 1024) } }' |
    while read -r i size; do
        d=$TREE/d$((i % 100))
        [ -d "$d" ] || mkdir "$d"
        printf '%s %s\n' "$d/f$i.bin" "$size"
    done | python3 -c '
import sys
pool = open(sys.argv[1], "rb").read()
off = 0
for line in sys.stdin:
    path, size = line.split()
    size = int(size)
    if off + size > len(pool): off = 0
    with open(path, "wb") as f: f.write(pool[off:off + size])
    off += size
' "$W/pool.bin"
    rm -f "$W/pool.bin"
    touch "$TREE.done"
fi
TMPDIR=$W/tmp
export TMPDIR
mkdir -p "$TMPDIR"
cd "$W"

# run NAME CMD: one timed run (seconds appended to W/NAME.times), output to W/NAME.out
run() {
    name=$1
    shift
    t0=$(date +%s.%N)
    sh -c "$*" > "$W/$name.out" 2> "$W/$name.err" || { echo "$name failed:"; cat "$W/$name.err"; exit 1; }
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l >> "$W/$name.times"
}
median() { sort -n "$W/$1.times" | awk '{ a[NR] = $1 } END { printf "%.3f", a[int((NR + 1) / 2)] }'; }

HAVE_PAR=0
command -v parallel > /dev/null 2>&1 && parallel --version 2> /dev/null | grep -q 'GNU parallel' && HAVE_PAR=1
Q="'"
names="dql_stream xargs_p2"
[ $HAVE_PAR = 1 ] && names="$names gnu_parallel"
names="$names dql_hash fork_sha256sum batch_sha256sum dql_filetype fork_file batch_file"
for n in $names; do rm -f "$W/$n.times"; done
r=1
while [ $r -le "$ROUNDS" ]; do
    echo "round $r of $ROUNDS"
    run dql_stream "$DQL -e \"f = LOAD ${Q}$TREE${Q} USING files(); r = STREAM f THROUGH \\\`sha256sum \\\${file}\\\` WITH (parallel = 2); g = FOREACH r GENERATE SUBSTRING(stdout, 0, 64); DUMP g;\""
    run xargs_p2 "find $TREE -type f -name '*.bin' | xargs -P2 -n1 sha256sum"
    [ $HAVE_PAR = 1 ] && run gnu_parallel "find $TREE -type f -name '*.bin' | parallel -j2 sha256sum"
    run dql_hash "$DQL -e \"f = LOAD ${Q}$TREE${Q} USING files(); g = FOREACH f GENERATE HASH(path, ${Q}sha256${Q}), path; DUMP g;\""
    run fork_sha256sum "find $TREE -type f -name '*.bin' | xargs -n1 sha256sum"
    run batch_sha256sum "find $TREE -type f -name '*.bin' | xargs sha256sum"
    run dql_filetype "$DQL --mode tsv -e \"f = LOAD ${Q}$TREE${Q} USING files(); g = FOREACH f GENERATE path, FILETYPE(path); DUMP g;\""
    run fork_file "find $TREE -type f -name '*.bin' | xargs -n1 file"
    run batch_file "find $TREE -type f -name '*.bin' | xargs file"
    r=$((r + 1))
done

# the same answers
digests() { grep -o '^[0-9a-f]\{64\}' "$W/$1.out" | sort; }
same() { if [ "$(digests "$1" | md5sum)" = "$(digests xargs_p2 | md5sum)" ]; then echo "same digests"; else echo "DIFFERENT digests"; fi; }
types_same() {
    # tsv doubles the backslashes of libmagic's escapes: undo it
    a=$(awk -F'\t' '{ print $1 ": " $2 }' "$W/dql_filetype.out" | sed 's/\\\\/\\/g' | sort | md5sum)
    b=$(sed 's/:  */: /' "$W/fork_file.out" | sort | md5sum)
    if [ "$a" = "$b" ]; then echo "same descriptions"; else echo "DIFFERENT descriptions"; fi
}
ratio() { echo "$(median "$1") / $(median "$2")" | bc -l | awk '{ printf "%.2fx", $1 }'; }

echo
echo "$N files of 1-64 KB; medians of $ROUNDS runs"
echo
echo "Part 1: sha256sum per file, 2 at a time (target: dql <= 1.2x xargs -P2)"
printf '  %-34s %8ss  %s\n' "dql STREAM (parallel = 2)" "$(median dql_stream)" "$(ratio dql_stream xargs_p2) of xargs; $(same dql_stream)"
printf '  %-34s %8ss\n' "xargs -P2 -n1 sha256sum" "$(median xargs_p2)"
[ $HAVE_PAR = 1 ] && printf '  %-34s %8ss  %s\n' "GNU parallel -j2 sha256sum" "$(median gnu_parallel)" "$(same gnu_parallel)"
echo
echo "Part 2: built-in analyzers (target: >= 5x faster than a fork per file)"
printf '  %-34s %8ss  %s\n' "dql HASH(path, 'sha256')" "$(median dql_hash)" "$(ratio fork_sha256sum dql_hash) faster than a fork per file; $(same dql_hash)"
printf '  %-34s %8ss\n' "xargs -n1 sha256sum (fork per file)" "$(median fork_sha256sum)"
printf '  %-34s %8ss  %s\n' "xargs sha256sum (batched)" "$(median batch_sha256sum)" "dql: $(ratio dql_hash batch_sha256sum) of it"
printf '  %-34s %8ss  %s\n' "dql FILETYPE(path)" "$(median dql_filetype)" "$(ratio fork_file dql_filetype) faster than a fork per file; $(types_same)"
printf '  %-34s %8ss\n' "xargs -n1 file (fork per file)" "$(median fork_file)"
printf '  %-34s %8ss  %s\n' "xargs file (batched)" "$(median batch_file)" "dql: $(ratio dql_filetype batch_file) of it"
rm -rf "$TMPDIR"
