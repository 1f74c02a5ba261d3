#!/bin/sh
# check-lists.sh — part of `make check`: fails when a file that should be
# built or run is missing from Makefile.am's lists (automake needs explicit
# lists; this keeps them in step with the tree). Checks src/*.c, src/*.h,
# lua/*.lua, tests/unit/test_*.c, tests/*.test, tests/cli/*.sh, examples/*.dql.
#
# Environment: SRCDIR (the source tree; falls back to $srcdir, then .).
set -u
top=${SRCDIR:-${srcdir:-.}}
mk=$top/Makefile.am
if [ ! -f "$mk" ]; then
    echo "check-lists.sh: $mk not found" >&2
    exit 99
fi

# Every word of Makefile.am outside comments, one a line.
words=$(sed -e 's/#.*//' -e 's/\\$//' "$mk" | tr -s ' \t' '\n\n')

missing=0
# check PATTERN WHERE: every file matching PATTERN (relative to $top) must
# appear as a word in Makefile.am; WHERE says which list to add it to.
check() {
    for f in "$top"/$1; do
        [ -e "$f" ] || continue
        rel=${f#"$top"/}
        if ! printf '%s\n' "$words" | grep -qxF "$rel"; then
            echo "Makefile.am does not list $rel (add it to $2)"
            missing=$((missing + 1))
        fi
    done
}
check 'src/*.c' 'DQL_CORE_SRCS, or dql_SOURCES for main.c'
check 'src/*.h' 'DQL_HDRS'
check 'lua/*.lua' 'DQL_LUA_SRCS'
check 'tests/unit/test_*.c' 'UNIT_TESTS and a tests_unit_test_X_SOURCES line'
check 'tests/*.test' 'DATA_TESTS'
check 'tests/cli/*.sh' 'CLI_TESTS'
check 'examples/*.dql' 'EXAMPLE_TESTS'

if [ $missing -ne 0 ]; then
    echo "$missing file(s) missing from Makefile.am"
    exit 1
fi
exit 0
