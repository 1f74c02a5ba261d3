#!/bin/sh
# train-default.sh — rebuilds the built-in classifier model,
# data/dga-default.dqlm, with examples/train-dga.dql on all the labelled
# data in ../shared/data/domains (no hold-out, 60 trees of depth <= 20, seed 1), or with
# --check verifies that the shipped file is byte for byte what the script
# produces. Run from the top of the source tree after building dql; then
# `make` embeds the new model.
#   tools/train-default.sh [--check] [DQL]
set -eu
check=no
if [ "${1:-}" = --check ]; then check=yes; shift; fi
dql=${1:-./dql}
case $dql in /*) ;; *) dql=$(pwd)/$dql ;; esac
top=$(pwd)
out=$top/data/dga-default.dqlm
[ $check = yes ] && out=$(mktemp "${TMPDIR:-/tmp}/dga-default.XXXXXX")
cd examples
"$dql" --db "${TMPDIR:-/tmp}/train-default-$$.db" -p frac=2 -p trees=60 -p holdout=0 -p out="$out" \
    -e "$(sed '/^-- The model in use/,$d' train-dga.dql)"
rm -f "${TMPDIR:-/tmp}/train-default-$$.db"
if [ $check = yes ]; then
    if cmp "$out" "$top/data/dga-default.dqlm"; then echo "data/dga-default.dqlm is reproducible"; rm -f "$out"; exit 0; fi
    echo "data/dga-default.dqlm differs from what examples/train-dga.dql produces ($out)"; exit 1
fi
