#!/bin/sh
# options.sh — every command-line option of dql, used right and wrong: exit
# status, stdout and stderr (see doc/cli.md).
. "${SRCDIR:-$(dirname "$0")/../..}/tests/cli/lib.sh"

USAGE="Usage: dql [OPTIONS] [SCRIPT.dql | DRIVER.lua [ARGS...]]
Try 'dql --help' for more information."
Q="\\'"  # a quote escaped inside a dql string
ROWS='1,x
2,y
3,'

# ---------------------------------------------------------------- --version, --help
check_run "--version" 0 '~^dql [0-9]+\.[0-9]+\.[0-9]+$' '' "$DQL" --version
[ "$(wc -l < "$T/.run/out")" -eq 1 ] || { echo "FAIL: --version prints one line" >&2; exit 1; }
check_run "--version ignores what follows" 0 '~^dql ' '' "$DQL" --version --bogus
check_run "--help" 0 '~^Usage: dql \[OPTIONS\]' '' "$DQL" --help
# every option is in the help
for opt in -e -f -c --check -bail --bail -p --param-file --db --mode --headers -X -init \
           --run-tests --version --help; do
    grep -Eq -e "(^| )$opt( |,|$)" "$T/.run/out" || { echo "FAIL: --help does not mention $opt" >&2; exit 1; }
done
check_run "-h" 0 '~^Usage: dql' '' "$DQL" -h

# ---------------------------------------------------------------- wrong options
check_run "unknown option" 2 '' "dql: unknown option '--bogus'
$USAGE" "$DQL" --bogus
check_run "unknown short option" 2 '' "dql: unknown option '-z'
$USAGE" "$DQL" -z -e 'DUMP x;'
for opt in -e -f; do
    check_run "$opt without its argument" 2 '' "dql: $opt needs an argument
$USAGE" "$DQL" $opt
done
check_run "-p without its argument" 2 '' "dql: -p needs NAME=VALUE
$USAGE" "$DQL" -p
for opt in --param-file --db -init; do
    check_run "$opt without its argument" 2 '' "dql: $opt needs a file
$USAGE" "$DQL" $opt
done
check_run "--mode without its argument" 2 '' "dql: --mode needs a mode
$USAGE" "$DQL" --mode
check_run "--run-tests not first" 2 '' "dql: --run-tests must be the first argument
$USAGE" "$DQL" -X --run-tests x.test
check_run "a wrong option runs nothing" 2 '' '*' "$DQL" -e "$LOAD_F STORE d INTO 't';" --bogus
check_absent "a wrong option runs nothing: no workspace" dql.db

# ---------------------------------------------------------------- -e
check_run "-e" 0 "$ROWS" '' "$DQL" -e "$LOAD_F DUMP d;"
check_run "-e repeated: aliases persist" 0 "$ROWS" '' "$DQL" -e "$LOAD_F" -e 'DUMP d;'
check_run "-e with a dot-command" 0 '[{"a":1,"b":"x"},
{"a":2,"b":"y"},
{"a":3,"b":null}]' '' "$DQL" -e '.mode json' -e "$LOAD_F DUMP d;"
check_run "-e spanning lines, dot-command on its own line" 0 '1	x' '' "$DQL" -e "$LOAD_F
.mode tsv
DUMP (LIMIT d 1);"
check_run "-e empty" 0 '' '' "$DQL" -e ''
check_run "-e only a comment" 0 '' '' "$DQL" -e '-- nothing'

# ---------------------------------------------------------------- -f and the script argument
printf '%s\n' "$LOAD_F" > load.dql
printf 'DUMP d;\n' > dump.dql
printf 'x = LIMIT d 1;\nDUMP x;\n' > first.dql
check_run "-f" 0 "$ROWS" '' "$DQL" -f load.dql -f dump.dql
check_run "-e and -f run in order" 0 "1,x
$ROWS
1,x" '' "$DQL" -e "$LOAD_F" -f first.dql -f dump.dql -e 'DUMP x;'
check_run "-f of a missing file" 2 '' "dql: cannot open 'nope.dql': No such file or directory" \
    "$DQL" -f nope.dql
check_run "-f of a missing file after a good -e" 2 "$ROWS" "dql: cannot open 'nope.dql': No such file or directory" \
    "$DQL" -e "$LOAD_F DUMP d;" -f nope.dql
check_stdin dump.dql "-f - reads stdin" 0 "$ROWS" '' "$DQL" -e "$LOAD_F" -f -
printf '%s\nDUMP d;\n' "$LOAD_F" > script.dql
check_run "script argument" 0 "$ROWS" '' "$DQL" script.dql
check_run "-- before the script" 0 "$ROWS" '' "$DQL" -- script.dql
check_run "-e runs before the script" 0 "$ROWS" '' "$DQL" -e "$LOAD_F" dump.dql
check_run "missing script" 2 '' "dql: cannot open 'nope.dql': No such file or directory" "$DQL" nope.dql
mkdir adir
check_run "a directory as the script" 2 '' "~^dql: cannot (open|read) 'adir'" "$DQL" adir
printf '%s\n\nDUMP nope;\n' "$LOAD_F" > bad.dql
check_run "script: file:line in messages" 3 '' "bad.dql:3:6: error: unknown alias 'nope'
  DUMP nope;
       ^~~~" "$DQL" bad.dql
check_run "-f: file:line in messages" 3 '' "bad.dql:3:6: error: unknown alias 'nope'
  DUMP nope;
       ^~~~" "$DQL" -f bad.dql

# ---------------------------------------------------------------- stdin
check_stdin script.dql "script on stdin" 0 "$ROWS" '' "$DQL"
check_stdin bad.dql "script on stdin: <stdin>:line" 3 '' "<stdin>:3:6: error: unknown alias 'nope'
  DUMP nope;
       ^~~~" "$DQL"
printf '%s\n.mode jsonl\nDUMP (LIMIT d 1);\n' "$LOAD_F" > dot.dql
check_stdin dot.dql "stdin with dot-commands, no prompts" 0 '{"a":1,"b":"x"}' '' "$DQL"
check_run "empty stdin" 0 '' '' "$DQL"
check_stdin script.dql "stdin is not read when -e is given" 0 '' '' "$DQL" -e "$LOAD_F"
check_stdin script.dql "stdin is not read with a script" 0 "1,x" '' "$DQL" -e "$LOAD_F" first.dql
check_run "options after a .dql script" 2 '' "dql: only a .lua driver takes arguments: '-e' after the script (options go before it)
$USAGE" "$DQL" script.dql -e 'DUMP d;'


# ---------------------------------------------------------------- Lua driver scripts
cat > drv.lua <<'EOF'
print("args", arg[0], arg[1], arg[2], select('#', ...))
dql.run([[d = LOAD 'f.csv' USING csv() AS (a:int, b:chararray); DUMP (LIMIT d 1);]])
for r in dql.rows('d') do print(r.a, r.b) end
EOF
check_run "driver.lua with arguments" 0 'args	drv.lua	x	-y	2
1,x
1	x
2	y
3	nil' '' "$DQL" drv.lua x -y
check_run "options before the driver" 0 'args	drv.lua	nil	nil	0
{"a":1,"b":"x"}
1	x
2	y
3	nil' '' "$DQL" -X --mode jsonl drv.lua
printf 'error("boom")\n' > boom.lua
check_run "driver.lua raising an error" 1 '' 'boom.lua:1: boom' "$DQL" boom.lua
printf 'dql.run("DUMP nope;")\n' > run.lua
check_run "driver.lua: a failing dql.run" 1 '' "<lua>:1:6: error: unknown alias 'nope'
  DUMP nope;
       ^~~~
run.lua:1: dql.run: check error" "$DQL" run.lua
printf 'print("no"\n' > syntax.lua
check_run "driver.lua with a syntax error" 3 '' "~^.*syntax\.lua:2: .*expected.*near <eof>" "$DQL" syntax.lua
check_run "missing driver.lua" 2 '' "dql: cannot open 'nope.lua': No such file or directory" "$DQL" nope.lua
check_run "-c on a driver: compiled, not run" 0 '' '' "$DQL" -c drv.lua
check_run "-c on a driver with a syntax error" 3 '' "~syntax\.lua:2: " "$DQL" -c syntax.lua

# ---------------------------------------------------------------- -c, --check
for opt in -c --check; do
    rm -f dql.db
    check_run "$opt runs nothing" 0 '' '' "$DQL" $opt -e "$LOAD_F DUMP d; STORE d INTO 'checked';"
    check_absent "$opt creates no workspace" dql.db
    check_run "$opt: no table was stored" 0 '' '' "$DQL" -e '.tables'
    check_run "$opt finds errors" 3 '' "-e:1:6: error: unknown alias 'nope'
  DUMP nope;
       ^~~~" "$DQL" $opt -e 'DUMP nope;'
done
check_run "-c checks every -e" 3 '' "-e:1:6: error: unknown alias 'nope'
  DUMP nope;
       ^~~~" "$DQL" -c -e "$LOAD_F DUMP d;" -e 'DUMP nope;'
check_run "-c with a script argument" 3 '' '*' "$DQL" -c bad.dql
check_stdin script.dql "-c with the script on stdin" 0 '' '' "$DQL" -c

# ---------------------------------------------------------------- -bail, --bail
FAIL_STREAM="x = STREAM d THROUGH \`false\`;"
STREAM_ERR="-e:1:5: error: STREAM x: command 'false' exited with status 1
  x = STREAM d THROUGH \`false\`; DUMP x;
      ^~~~~~~~~~~~~~~~~~~~~~~~"
check_run "without -bail later statements run" 1 "$ROWS" "$STREAM_ERR" \
    "$DQL" -e "$LOAD_F" -e "$FAIL_STREAM DUMP x;" -e 'DUMP d;'
for opt in -bail --bail; do
    check_run "$opt stops at the first failing statement" 1 '' "$STREAM_ERR" \
        "$DQL" $opt -e "$LOAD_F" -e "$FAIL_STREAM DUMP x;" -e 'DUMP d;'
done
printf '%s\n%s\nDUMP x;\nDUMP d;\n' "$LOAD_F" "$FAIL_STREAM" > fail.dql
check_run "without -bail: the rest of the script runs" 1 "$ROWS" '*' "$DQL" fail.dql
check_run "-bail in a script" 1 '' "fail.dql:2:5: error: STREAM x: command 'false' exited with status 1
  x = STREAM d THROUGH \`false\`;
      ^~~~~~~~~~~~~~~~~~~~~~~~" "$DQL" -bail fail.dql

# ---------------------------------------------------------------- -p, --param-file
check_run "-p substitutes \$name" 0 "1,x" '' \
    "$DQL" -p file=f.csv -p n=1 -e "d = LOAD '\$file' USING csv() AS (a:int, b:chararray); DUMP (LIMIT d \$n);"
check_run "-p: the last of a name wins" 0 "1,x
2,y" '' "$DQL" -p n=1 -p n=2 -e "$LOAD_F DUMP (LIMIT d \$n);"
check_run "-p with an empty value" 0 'x' '' "$DQL" -p v= -e "SQL 'select ${Q}x\$v${Q} as v';"
check_run "-p value with =" 0 'a=b' '' "$DQL" -p v=a=b -e "SQL 'select ${Q}\$v${Q} as v';"
for bad in novalue =x '1x=2' 'a b=1'; do
    check_run "-p $bad" 2 '' "dql: -p needs NAME=VALUE, not '$bad'
$USAGE" "$DQL" -p "$bad" -e 'DUMP x;'
done
cat > params.txt <<'EOF'
# a comment, then a blank line

file = f.csv
  n=2
q = 'quoted value'
EOF
check_run "--param-file" 0 "1,x
2,y" '' "$DQL" --param-file params.txt -e "d = LOAD '\$file' USING csv() AS (a:int, b:chararray); DUMP (LIMIT d \$n);"
check_run "--param-file: quotes are removed" 0 'quoted value' '' \
    "$DQL" --param-file params.txt -e "SQL 'select ${Q}\$q${Q}';"
check_run "-p wins over --param-file, whatever the order" 0 "1,x" '' \
    "$DQL" -p n=1 --param-file params.txt -e "$LOAD_F DUMP (LIMIT d \$n);"
printf 'a=1\n\nthis is wrong\n' > badparams.txt
check_run "--param-file with a bad line" 2 '' "dql: badparams.txt:3: expected NAME=VALUE, not 'this is wrong'" \
    "$DQL" --param-file badparams.txt -e 'DUMP x;'
check_run "--param-file missing" 2 '' "dql: --param-file: cannot open 'nope.txt': No such file or directory" \
    "$DQL" --param-file nope.txt -e 'DUMP x;'

# ---------------------------------------------------------------- --db
rm -f dql.db   # the SQL statements above opened the default workspace
check_run "--db: STORE goes there" 0 '' '' "$DQL" --db w.db -e "$LOAD_F STORE d INTO 'kept';"
check_absent "--db: no dql.db" dql.db
check_run "--db: the table is there" 0 'kept' '' "$DQL" --db w.db -e '.tables'
check_run "--db: LOAD of the table" 0 "$ROWS" '' "$DQL" --db w.db -e "k = LOAD 'kept'; DUMP k;"
check_run "default workspace dql.db" 0 '' '' "$DQL" -e "$LOAD_F STORE d INTO 'here';"
check_run "default workspace dql.db: the table" 0 'here' '' "$DQL" -e '.tables'
check_run "--db in a missing directory" 2 '' "dql: --db nodir/w.db: no such directory" \
    "$DQL" --db nodir/w.db -e "$LOAD_F STORE d INTO 't';"

# ---------------------------------------------------------------- --mode, --headers
check_run "batch output: csv without headers" 0 "$ROWS" '' "$DQL" -e "$LOAD_F DUMP d;"
check_run "--headers" 0 "a,b
$ROWS" '' "$DQL" --headers -e "$LOAD_F DUMP d;"
check_run "--mode tsv --headers" 0 'a	b
1	x' '' "$DQL" --mode tsv --headers -e "$LOAD_F DUMP (LIMIT d 1);"
check_run "--mode table has headers" 0 '+---+---+
| a | b |
+---+---+
| 1 | x |
+---+---+' '' "$DQL" --mode table -e "$LOAD_F DUMP (LIMIT d 1);"
check_run "--mode jsonl" 0 '{"a":1,"b":"x"}' '' "$DQL" --mode jsonl -e "$LOAD_F DUMP (LIMIT d 1);"
check_run "--mode bad" 2 '' "dql: unknown output mode 'bad' (table box csv tsv json jsonl markdown line)
$USAGE" "$DQL" --mode bad -e "$LOAD_F DUMP d;"

# ---------------------------------------------------------------- ~/.dqlrc, -X, -init
printf '.mode jsonl\nSET overwrite true;\n' > "$HOME/.dqlrc"
check_run "~/.dqlrc runs first" 0 '{"a":1,"b":"x"}
overwrite = true' '' "$DQL" -e "$LOAD_F DUMP (LIMIT d 1);" -e "SET overwrite;"
check_run "-X skips ~/.dqlrc" 0 '1,x
overwrite = false' '' "$DQL" -X -e "$LOAD_F DUMP (LIMIT d 1);" -e "SET overwrite;"
check_stdin script.dql "~/.dqlrc with the script on stdin" 0 '{"a":1,"b":"x"}
{"a":2,"b":"y"}
{"a":3,"b":null}' '' "$DQL"
printf '.mode tsv\n' > init.dql
check_run "-init FILE instead of ~/.dqlrc" 0 '1	x' '' "$DQL" -init init.dql -e "$LOAD_F DUMP (LIMIT d 1);"
check_run "-init of a missing file" 2 '' "dql: cannot open 'nope.dql': No such file or directory" \
    "$DQL" -init nope.dql -e 'DUMP x;'
printf '.mode jsonl\nDUMP nope;\n' > "$HOME/.dqlrc"
check_run "an error in ~/.dqlrc is reported with its line" 3 '{"a":1,"b":"x"}' "$HOME/.dqlrc:2:6: error: unknown alias 'nope'
  DUMP nope;
       ^~~~" "$DQL" -e "$LOAD_F DUMP (LIMIT d 1);"
check_run "-bail: an error in ~/.dqlrc does not stop the script" 3 '{"a":1,"b":"x"}' '*' \
    "$DQL" -bail -e "$LOAD_F DUMP (LIMIT d 1);"
rm "$HOME/.dqlrc"

# ---------------------------------------------------------------- --run-tests
cat > t.test <<'EOF'
%%TEST one
%%RUN
SQL 'select 1';
%%EXPECT
1
EOF
check_run "--run-tests" 0 '1 passed, 0 failed' '' "$DQL" --run-tests t.test
check_run "--run-tests without files" 2 '' 'Usage: dql --run-tests FILE.test...' "$DQL" --run-tests


# batch output is buffered, but what a Lua UDF prints while a batch is
# computed comes after the rows of the batches before it
printf 'function p(x) print("udf " .. x) return x end\n' > pr.lua
seq 1 3000 > s3.txt
check_run "UDF print() and DUMP rows in order" 0 "$(awk 'BEGIN { for (b = 0; b < 3000; b += 1024) {
        e = b + 1024 > 3000 ? 3000 : b + 1024
        for (i = b + 1; i <= e; i++) print "udf " i
        for (i = b + 1; i <= e; i++) print i } }')" '' \
    "$DQL" -e "REGISTER 'pr.lua'; d = LOAD 's3.txt' USING lines() AS (n:long); DUMP (FOREACH d GENERATE pr.p(n));"

# doc/dql.1 and doc/cli.md document every option --help lists
check_run "--help for the manual" 0 '*' '' "$DQL" --help
for o in $(sed -n 's/^  \(-[-a-zA-Z]*\).*/\1/p' "$T/.run/out"); do
    NCHECKS=$((NCHECKS + 1))
    m=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
    grep -q -e "^\.BR\{0,1\}I\{0,1\} $m\( \|$\)" "$SRCDIR/doc/dql.1" || { echo "FAIL: doc/dql.1 does not document $o" >&2; exit 1; }
    grep -q -e "\`$o[\` ]" "$SRCDIR/doc/cli.md" || { echo "FAIL: doc/cli.md does not document $o" >&2; exit 1; }
done
pass
