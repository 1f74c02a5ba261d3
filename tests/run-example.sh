#!/bin/sh
# run-example.sh — runs one example script (examples/*.dql) for `make check`
# and compares its standard output with the examples/NAME.out beside it.
#
# The script runs with the examples directory as working directory (so its
# relative data paths work), a workspace database in a temporary directory,
# HOME pointing there too, and csv output (`--mode csv`). It must exit 0.
# On a mismatch the diff (expected, actual) is printed and the test fails.
# To (re)create the expected output: run the command shown on failure with
# `> examples/NAME.out` and review it.
#
# Then it runs the example again with --shards 3 (EXAMPLE_SHARDS) in a fresh
# workspace and scratch directory: the output must be the same.
#
# Environment (from Makefile.am): DQL, the binary (or a valgrind wrapper).
# Usage: run-example.sh examples/NAME.dql
set -u
if [ $# -ne 1 ]; then
    echo "usage: $0 examples/NAME.dql" >&2
    exit 99
fi
script=$1
DQL=${DQL:-$(pwd)/dql}
if [ ! -x "$DQL" ]; then
    echo "run-example.sh: $DQL is not built" >&2
    exit 99
fi
case $script in
    /*) ;;
    *) script=$(pwd)/$script ;;
esac
dir=$(cd "$(dirname "$script")" && pwd) || exit 99
name=$(basename "$script" .dql)
expected=$dir/$name.out
if [ ! -f "$expected" ]; then
    echo "run-example.sh: no expected output $expected" >&2
    exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dql-example.XXXXXX") || exit 99
# An example may name a fixture on a line "-- fixture: FILE" (relative to
# its directory; e.g. the DNS servers of the RESOLVE examples), sourced
# before it runs: it may set EXAMPLE_ARGS (more dql arguments), define
# fixture_stop (called at exit), or exit 77 to skip the example.
EXAMPLE_ARGS=
fixture_stop() { :; }
trap 'fixture_stop; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
HOME=$tmp; export HOME

cd "$dir" || exit 99
fixture=$(sed -n 's/^-- fixture: *//p' "$name.dql" | head -n 1)
if [ -n "$fixture" ]; then
    SRCDIR=${SRCDIR:-$dir/..}
    . "$dir/$fixture"
fi
# $scratch: a scratch directory for the files an example writes (examples
# give it a %default for standalone use); the source tree stays clean.
mkdir -p "$tmp/out" || exit 99
echo "cd $dir && $DQL --db $tmp/dql.db --mode csv -p scratch=$tmp/out $EXAMPLE_ARGS -f $name.dql"
# shellcheck disable=SC2086
"$DQL" --db "$tmp/dql.db" --mode csv -p scratch="$tmp/out" $EXAMPLE_ARGS -f "$name.dql" > "$tmp/stdout" 2> "$tmp/stderr"
rc=$?
if [ $rc -ne 0 ]; then
    echo "FAIL: exit status $rc (expected 0); stderr:"
    cat "$tmp/stderr"
    exit 1
fi
if ! cmp -s "$expected" "$tmp/stdout"; then
    echo "FAIL: output differs from $expected (- expected, + actual):"
    diff -u "$expected" "$tmp/stdout" | sed '1,2d'
    if [ -s "$tmp/stderr" ]; then
        echo "stderr:"
        cat "$tmp/stderr"
    fi
    exit 1
fi
# The same example sharded (doc/shards.md): 3 tasks must print exactly the
# rows of one process (EXAMPLE_SHARDS=0 skips this).
n=${EXAMPLE_SHARDS:-3}
if [ "$n" -gt 1 ]; then
    mkdir -p "$tmp/out2" || exit 99
    echo "cd $dir && $DQL --shards $n --db $tmp/dql2.db --mode csv -p scratch=$tmp/out2 $EXAMPLE_ARGS -f $name.dql"
    # shellcheck disable=SC2086
    "$DQL" --shards "$n" --db "$tmp/dql2.db" --mode csv -p scratch="$tmp/out2" $EXAMPLE_ARGS -f "$name.dql" \
        > "$tmp/stdout2" 2> "$tmp/stderr2"
    rc=$?
    if [ $rc -ne 0 ] || ! cmp -s "$expected" "$tmp/stdout2"; then
        echo "FAIL: with $n shards: exit status $rc, output (- expected, + actual):"
        diff -u "$expected" "$tmp/stdout2" | sed '1,2d'
        echo "stderr:"
        cat "$tmp/stderr2"
        exit 1
    fi
fi
exit 0
