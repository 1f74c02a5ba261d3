# lib.sh — helpers for the command-line tests (tests/cli/*.sh), sourced by
# each of them. Sourcing it moves into a fresh temporary directory (removed
# on exit) and points HOME at it, so no ~/.dqlrc or history of the user's
# leaks in and the default workspace dql.db lands there.
#
# Environment (from Makefile.am): DQL (the binary, or a valgrind wrapper),
# SRCDIR, BUILDDIR, SHARED. Run by hand: DQL=$PWD/dql sh tests/cli/options.sh
#
# The checks:
#   check_run NAME RC OUT ERR CMD [ARGS...]
#       runs CMD (stdin from /dev/null) and compares its exit status with RC
#       and its stdout and stderr with OUT and ERR; the first mismatch
#       prints a diff and exits 1. OUT and ERR are
#         ''       nothing at all
#         '*'      anything
#         @FILE    exactly FILE's content
#         ~ERE     at least one line matches the extended regex ERE
#         TEXT     exactly TEXT followed by a newline
#   check_stdin FILE NAME RC OUT ERR CMD [ARGS...]
#       the same with stdin from FILE.
#   check_file NAME FILE TEXT    FILE holds exactly TEXT and a newline.
#   check_absent NAME FILE       FILE does not exist.
#   pass                         ends the script: prints the count, exit 0.
# The usual way to write multi-line expectations is a quoted string that
# spans lines.
set -u

if [ -z "${DQL:-}" ]; then
    echo "lib.sh: DQL is not set (the dql binary to test)" >&2
    exit 99
fi
case $DQL in
    /*) ;;
    *) DQL=$(pwd)/$DQL ;;
esac
if [ ! -x "$DQL" ]; then
    echo "lib.sh: $DQL is not built" >&2
    exit 99
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/dql-cli.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
# The outputs of the command under test live apart from its working files.
mkdir "$T/.run" "$T/work" || exit 99
cd "$T/work" || exit 99
HOME=$T/work
export HOME
LC_ALL=C
TZ=UTC
export LC_ALL TZ
unset DQL_HISTORY EDITOR VISUAL
NCHECKS=0

# compare_stream NAME WHAT SPEC ACTUAL-FILE: 0 when ACTUAL matches SPEC.
compare_stream() {
    _name=$1 _what=$2 _spec=$3 _act=$4
    case $_spec in
        '*') return 0 ;;
        '') [ ! -s "$_act" ] && return 0
            : > "$T/.run/expected" ;;
        @*) cmp -s "${_spec#@}" "$_act" && return 0
            cp "${_spec#@}" "$T/.run/expected" ;;
        '~'*) grep -Eq -e "${_spec#\~}" "$_act" && return 0
            echo "FAIL: $_name: $_what has no line matching /${_spec#\~}/:" >&2
            sed 's/^/    /' "$_act" >&2
            return 1 ;;
        *) printf '%s\n' "$_spec" > "$T/.run/expected"
            cmp -s "$T/.run/expected" "$_act" && return 0 ;;
    esac
    echo "FAIL: $_name: $_what differs (--- expected, +++ got):" >&2
    diff -u "$T/.run/expected" "$_act" >&2
    return 1
}

# run_and_check STDIN NAME RC OUT ERR CMD...
run_and_check() {
    _in=$1 _name=$2 _rc=$3 _out=$4 _err=$5
    shift 5
    NCHECKS=$((NCHECKS + 1))
    "$@" < "$_in" > "$T/.run/out" 2> "$T/.run/err"
    _got=$?
    _ok=0
    if [ "$_got" != "$_rc" ]; then
        echo "FAIL: $_name: exit status $_got, expected $_rc" >&2
        _ok=1
    fi
    compare_stream "$_name" stdout "$_out" "$T/.run/out" || _ok=1
    compare_stream "$_name" stderr "$_err" "$T/.run/err" || _ok=1
    if [ $_ok -ne 0 ]; then
        echo "  command:" "$@" >&2
        [ "$_in" = /dev/null ] || echo "  stdin: $_in" >&2
        if [ "$_got" != "$_rc" ]; then
            echo "  stdout:" >&2; sed 's/^/    /' "$T/.run/out" >&2
            echo "  stderr:" >&2; sed 's/^/    /' "$T/.run/err" >&2
        fi
        exit 1
    fi
}

check_run() {
    run_and_check /dev/null "$@"
}

check_stdin() {
    _file=$1
    shift
    run_and_check "$_file" "$@"
}

check_file() {
    NCHECKS=$((NCHECKS + 1))
    if [ ! -f "$2" ]; then
        echo "FAIL: $1: $2 does not exist" >&2
        exit 1
    fi
    compare_stream "$1" "$2" "$3" "$2" || exit 1
}

check_absent() {
    NCHECKS=$((NCHECKS + 1))
    if [ -e "$2" ]; then
        echo "FAIL: $1: $2 exists" >&2
        exit 1
    fi
}

pass() {
    echo "$NCHECKS checks passed"
    exit 0
}

# Fixtures most tests use: a small CSV with a header line, and the LOAD of it.
printf 'a,b\n1,x\n2,y\n3,\n' > f.csv
LOAD_F="d = LOAD 'f.csv' USING csv() AS (a:int, b:chararray);"

# Run directly (it is in CLI_TESTS too), lib.sh tests its own checks: each
# kind of expectation passes when it should and fails when it should not.
case ${0##*/} in
lib.sh)
    must_fail() {
        NCHECKS=$((NCHECKS + 1))
        if ( "$@" ) > /dev/null 2>&1; then
            echo "FAIL: lib.sh self-test: this check passed but should not:" "$@" >&2
            exit 1
        fi
    }
    check_run "exact text" 0 'a
b' '' printf 'a\nb\n'
    check_run "nothing" 0 '' '' true
    check_run "anything" 3 '*' '*' sh -c 'echo out; echo err >&2; exit 3'
    check_run "regex" 0 '~^b+$' '' printf 'a\nbb\n'
    printf 'x\n' > "$T/.run/exp"
    check_run "file" 0 "@$T/.run/exp" '' echo x
    check_stdin "$T/.run/exp" "stdin" 0 'x' '' cat
    check_file "check_file" "$T/.run/exp" 'x'
    check_absent "check_absent" "$T/nope"
    must_fail check_run "wrong status" 0 '*' '*' false
    must_fail check_run "wrong text" 0 'a' '' echo b
    must_fail check_run "missing newline" 0 'a' '' printf a
    must_fail check_run "not empty" 0 '' '' echo a
    must_fail check_run "stderr" 0 '' '' sh -c 'echo a >&2'
    must_fail check_run "regex" 0 '~^a$' '' echo ab
    must_fail check_file "check_file" "$T/.run/exp" 'y'
    must_fail check_absent "check_absent" "$T/.run/exp"
    pass
    ;;
esac
