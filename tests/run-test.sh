#!/bin/sh
# run-test.sh — runs one data-driven test file (tests/*.test) for `make check`:
# `$DQL --run-tests FILE` in a fresh temporary directory (so the default
# workspace dql.db and any file a test writes land there) with HOME pointing
# at it (no ~/.dqlrc or history of the user's leaks in). --run-tests exits 0
# on success and 1 with a diff on failure; its exit status is the result.
#
# Environment (from Makefile.am): DQL, the binary (or a valgrind wrapper).
# Usage: run-test.sh FILE.test
set -u
if [ $# -ne 1 ]; then
    echo "usage: $0 FILE.test" >&2
    exit 99
fi
file=$1
DQL=${DQL:-$(pwd)/dql}
if [ ! -x "$DQL" ]; then
    echo "run-test.sh: $DQL is not built" >&2
    exit 99
fi
case $file in
    /*) abs=$file ;;
    *) abs=$(pwd)/$file ;;
esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dql-test.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
cd "$tmp" || exit 99
HOME=$tmp; export HOME
"$DQL" --run-tests "$abs"
