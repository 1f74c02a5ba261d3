#!/bin/sh
# repl.sh — the interactive shell through a real terminal: dql runs in a
# tmux pane (its own server socket, HOME and history file in the test's
# temporary directory); keys go in with send-keys and the screen is read
# back with capture-pane. Every wait polls the screen for an expected text
# with a timeout, never a fixed long sleep.
#
# Covers: prompts and continuation, completion of an alias, a field and a
# file name, .mode switches, the row-limit footer and .last, Ctrl-C at the
# prompt and during a long statement (the shell and its aliases survive),
# Ctrl-D, a multi-line statement recalled
# whole from the history after a restart, duplicates collapsed in the
# history, .edit with a scripted $EDITOR, -i, and the progress line.
. "${SRCDIR:-$(dirname "$0")/../..}/tests/cli/lib.sh"

if ! command -v tmux > /dev/null 2>&1; then
    echo "SKIP: tmux is not installed (these tests drive the shell through a tmux pane)"
    exit 77
fi

SOCK=$T/tmux.sock
tm() { tmux -f /dev/null -S "$SOCK" "$@"; }
writer=
trap 'tm kill-server > /dev/null 2>&1; [ -n "$writer" ] && kill $writer 2> /dev/null; rm -rf "$T"' EXIT
HIST=$T/history
TIMEOUT=${REPL_TIMEOUT:-15}

printf 'qname,rcode\na.com,0\nb.org,3\nc.net,0\n' > q.csv
cat > "$T/editor.sh" <<'EOF'
#!/bin/sh
# a scripted $EDITOR: asks for one more row
sed 's/LIMIT zq_flows 1/LIMIT zq_flows 2/' "$1" > "$1.new" && mv "$1.new" "$1"
EOF
chmod +x "$T/editor.sh"

# The pane runs this: dql with the given arguments, then its exit status.
cat > "$T/launch.sh" <<EOF
#!/bin/sh
cd '$T/work' || exit 1
HOME='$T/work' DQL_HISTORY='$HIST' EDITOR='$T/editor.sh' LC_ALL=C TZ=UTC
export HOME DQL_HISTORY EDITOR LC_ALL TZ
unset VISUAL
# Ctrl-C goes to the whole foreground process group: this shell must
# outlive it to print the status (dql gets the default action back)
trap : INT
"\$@"
echo "[exit \$?]"
exec sleep 600
EOF

# start ARGS...: a fresh pane running dql ARGS, in a new session (the old
# one goes after: a server left without sessions exits, and a client that
# meets it exiting fails).
NSESS=0
SESS=
start() {
    NSESS=$((NSESS + 1))
    _try=0
    until tm new-session -d -s "dql$NSESS" -x 150 -y 50 sh "$T/launch.sh" "$@"; do
        _try=$((_try + 1))
        [ $_try -lt 5 ] || { echo "FAIL: tmux new-session" >&2; exit 1; }
        sleep 0.2
    done
    [ -n "$SESS" ] && tm kill-session -t "$SESS" > /dev/null 2>&1
    SESS=dql$NSESS
}

screen() { tm capture-pane -p -t "$SESS" -S -500 2> /dev/null | sed -e 's/[[:space:]]*$//' | grep -v '^$'; }

# typ TEXT: literal keys (no Enter); key KEY...: named keys (Enter, Tab,
# C-c). tmux takes an argument's final ';' for a command separator: it is
# escaped.
typ() {
    case $1 in
        *';') tm send-keys -t "$SESS" -l "${1%;}\\;" ;;
        *) tm send-keys -t "$SESS" -l "$1" ;;
    esac
}
key() { tm send-keys -t "$SESS" "$@"; }
# line TEXT: TEXT and Enter.
line() { typ "$1"; key Enter; }

fail() {
    echo "FAIL: $1" >&2
    echo "  screen:" >&2
    screen | tail -40 | sed 's/^/    /' >&2
    exit 1
}

# wait_for NAME ERE: until a line of the screen matches ERE.
wait_for() {
    NCHECKS=$((NCHECKS + 1))
    _i=0
    while [ $_i -lt $((TIMEOUT * 20)) ]; do
        screen | grep -Eq -e "$2" && return 0
        sleep 0.05
        _i=$((_i + 1))
    done
    fail "$1: no line matching /$2/ after ${TIMEOUT}s"
}

# wait_last NAME TEXT: until the last line of the screen is exactly TEXT.
wait_last() {
    NCHECKS=$((NCHECKS + 1))
    _i=0
    while [ $_i -lt $((TIMEOUT * 20)) ]; do
        [ "$(screen | tail -n 1)" = "$2" ] && return 0
        sleep 0.05
        _i=$((_i + 1))
    done
    fail "$1: the last line is not '$2' after ${TIMEOUT}s"
}

# wait_count NAME N ERE: until N lines of the screen match ERE.
wait_count() {
    NCHECKS=$((NCHECKS + 1))
    _i=0
    while [ $_i -lt $((TIMEOUT * 20)) ]; do
        [ "$(screen | grep -Ec -e "$3")" -ge "$2" ] && return 0
        sleep 0.05
        _i=$((_i + 1))
    done
    fail "$1: fewer than $2 lines matching /$3/ after ${TIMEOUT}s"
}

# absent NAME ERE: no line of the screen matches ERE now.
absent() {
    NCHECKS=$((NCHECKS + 1))
    if screen | grep -Eq -e "$2"; then fail "$1: a line matches /$2/"; fi
}

# clear_screen: forget what is on the screen (scrollback and all): ^L at
# the prompt, then, once only the prompt is left, the pane's history.
clear_screen() {
    key C-l
    _i=0
    while [ "$(tm capture-pane -p -t "$SESS" | grep -c .)" -gt 1 ] && [ $_i -lt $((TIMEOUT * 20)) ]; do
        sleep 0.05
        _i=$((_i + 1))
    done
    tm clear-history -t "$SESS"
}

# ---------------------------------------------------------------- prompts
start "$DQL" -X
wait_last "prompt" "dql>"
line "zq_flows = LOAD 'q.csv' USING csv()"
wait_last "continuation prompt" "...>"
line "AS (qname:chararray, rcode:int);"
wait_last "prompt after a complete statement" "dql>"
line "DESCRIBE zq_flows;"
wait_for "a statement runs" '^zq_flows: \{qname: chararray, rcode: int\}$'
line "DESCRIBE zq_flows; -- with a comment"
wait_last "a statement and a comment" "dql>"
line "   "
wait_last "a blank line" "dql>"

# ---------------------------------------------------------------- completion
clear_screen
typ "DUMP (LIMIT zq_fl"
key Tab
wait_last "completion of an alias" "dql> DUMP (LIMIT zq_flows"
line "1);"
wait_for "the completed statement runs" '^\| a\.com +\| +0 \|$'
clear_screen
typ "DUMP (FILTER zq_flows BY qn"
key Tab
wait_last "completion of a field" "dql> DUMP (FILTER zq_flows BY qname"
line "== 'b.org');"
wait_for "the completed filter runs" '^\| b\.org +\| +3 \|$'
clear_screen
typ "x = FOREACH zq_flows GENERATE zq_flows.rc"
key Tab
wait_last "completion of alias.field" "dql> x = FOREACH zq_flows GENERATE zq_flows.rcode"
key C-c
wait_last "Ctrl-C at the prompt clears the line" "dql>"
typ "y = LOAD 'q.c"
key Tab
wait_last "completion of a file name in quotes" "dql> y = LOAD 'q.csv'"
key C-c
typ ".mo"
key Tab
wait_last "completion of a dot-command" "dql> .mode"
typ "js"
key Tab
wait_last "completion of a dot-command's argument" "dql> .mode json"
key C-u
typ "x = FILT"
key Tab
wait_last "completion of a keyword" "dql> x = FILTER"
key C-c
typ "y = ORDER zq_flows BY "
key Tab
wait_for "Tab after BY lists the fields" '^qname +rcode$'
key C-c
typ "SET stri"
key Tab
wait_for "completion of a setting after SET" '^dql> SET strict'
key C-c
wait_last "Ctrl-C at the prompt" "dql>"

# ---------------------------------------------------------------- .mode, footer
clear_screen
line ".mode csv"
line "DUMP zq_flows;"
wait_for ".mode csv" '^b\.org,3$'
line ".mode json"
line "DUMP (LIMIT zq_flows 1);"
wait_for ".mode json" '^\[\{"qname":"a\.com","rcode":0\}\]$'
line ".mode"
wait_for ".mode prints the mode" '^json$'
line ".mode table"
line ".maxrows 2"
clear_screen
line "DUMP zq_flows;"
wait_for "the row-limit footer" '^2 of 3 rows shown; \.last to see all$'
absent "rows hidden" 'c\.net'
line ".last"
wait_for ".last shows every row" '^\| c\.net +\| +0 \|$'
line ".maxrows 40"
line ".mode bogus"
wait_for "a wrong dot-command" '^Usage: \.mode table\|box'
wait_last "the shell goes on after a usage error" "dql>"

# ---------------------------------------------------------------- Ctrl-C
clear_screen
line 's = STREAM zq_flows THROUGH `sh -c "touch started; exec sleep 30"` AS (n:int);'
line "DUMP s;"
NCHECKS=$((NCHECKS + 1))
_i=0
while [ ! -f started ] && [ $_i -lt $((TIMEOUT * 20)) ]; do sleep 0.05; _i=$((_i + 1)); done
[ -f started ] || fail "the STREAM command did not start"
key C-c
wait_for "Ctrl-C cancels the statement" '^(\^C)?interrupted$'
wait_last "the shell survives Ctrl-C" "dql>"
line "DUMP (FILTER zq_flows BY rcode == 3);"
wait_for "the aliases survive Ctrl-C" '^\| b\.org +\| +3 \|$'

# ---------------------------------------------------------------- .edit
clear_screen
line "DUMP (LIMIT zq_flows 1);"
wait_for "a statement for .edit" '^\| a\.com'
clear_screen
line ".edit"
wait_for ".edit runs the edited statement" '^\| b\.org +\| +3 \|$'
wait_last ".edit: back at the prompt" "dql>"

# ---------------------------------------------------------------- history
# duplicates collapse; a multi-line statement is one entry
line "DESCRIBE zq_flows;"
line "DESCRIBE zq_flows;"
line "zz = LOAD 'q.csv'"
line "  USING csv()"
line "  AS (qname:chararray, rcode:long);"
wait_last "a multi-line statement" "dql>"
key C-d
wait_for "Ctrl-D quits" '^\[exit 0\]$'
NCHECKS=$((NCHECKS + 1))
n=$(sed 's/\\040/ /g' "$HIST" | grep -cx 'DESCRIBE zq_flows;')
[ "$n" -eq 1 ] || { echo "FAIL: history: DESCRIBE zq_flows; is there $n times" >&2; cat "$HIST" >&2; exit 1; }
NCHECKS=$((NCHECKS + 1))
sed 's/\\040/ /g' "$HIST" | grep -qx 'DUMP (LIMIT zq_flows 2);' || { echo "FAIL: history: no entry for the statement .edit ran" >&2; cat "$HIST" >&2; exit 1; }

start "$DQL" -X
wait_last "restart" "dql>"
key Up
wait_last "the multi-line statement comes back whole" "  AS (qname:chararray, rcode:long);"
wait_for "its first line" "^dql> zz = LOAD 'q\\.csv'$"
wait_for "its second line" '^  USING csv\(\)$'
key Enter
wait_last "the recalled statement is complete" "dql>"
line "DESCRIBE zz;"
wait_for "the recalled statement ran" '^zz: \{qname: chararray, rcode: long\}$'
key C-d
wait_for "Ctrl-D (2)" '^\[exit 0\]$'

# ---------------------------------------------------------------- -i
start "$DQL" -X -e '.mode json' -i
wait_last "-i: the shell after -e" "dql>"
line ".mode"
wait_for "-i: the -e ran first" '^json$'
line ".quit 7"
wait_for ".quit CODE" '^\[exit 7\]$'

# ---------------------------------------------------------------- progress
# rows arrive from a FIFO for about two seconds: after a second the
# progress line shows on stderr; it is gone when the result prints
mkfifo slow.fifo
start "$DQL" -X
wait_last "prompt (progress)" "dql>"
line "p = LOAD 'slow.fifo' USING lines();"
line "DUMP (FOREACH (GROUP p ALL) GENERATE COUNT(p) AS n);"
( i=0; while [ $i -lt 25 ]; do seq 1 20000; sleep 0.1; i=$((i + 1)); done > slow.fifo ) &
writer=$!
wait_for "the progress line" '^[0-9.]+k? rows read, 0 out, [0-9.]+[kM]? rows/s'
wait_for "the result" '^\| +500000 \|$'
wait $writer
absent "the progress line is erased" 'rows read'
line ".progress off"
line ".progress"
wait_for ".progress off" '^off$'
key C-d
wait_for "Ctrl-D" '^\[exit 0\]$'

pass
