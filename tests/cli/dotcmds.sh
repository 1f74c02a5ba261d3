#!/bin/sh
# dotcmds.sh — every dot-command of the shell, used right and wrong, in batch
# mode (-e and scripts): exit status, stdout and stderr (see doc/cli.md).
# Misuse prints "Usage: .NAME ARGS" on stderr and gives status 2.
. "${SRCDIR:-$(dirname "$0")/../..}/tests/cli/lib.sh"

printf 'a,b\n1,x\n22,y|z\n3,\n' > g.csv
LOAD_G="d = LOAD 'g.csv' USING csv() AS (a:int, b:chararray);"
MODES='table|box|csv|tsv|json|jsonl|markdown|line'

# ---------------------------------------------------------------- .mode
check_run ".mode table" 0 '+----+-----+
| a  |  b  |
+----+-----+
|  1 | x   |
| 22 | y|z |
|  3 |     |
+----+-----+' '' "$DQL" -e "$LOAD_G" -e '.mode table' -e 'DUMP d;'
check_run ".mode box" 0 '┌────┬─────┐
│ a  │  b  │
├────┼─────┤
│  1 │ x   │
│ 22 │ y|z │
│  3 │     │
└────┴─────┘' '' "$DQL" -e "$LOAD_G" -e '.mode box' -e 'DUMP d;'
check_run ".mode markdown" 0 '| a   | b    |
|----:|------|
|   1 | x    |
|  22 | y\|z |
|   3 |      |' '' "$DQL" -e "$LOAD_G" -e '.mode markdown' -e 'DUMP d;'
check_run ".mode csv" 0 '1,x
22,y|z
3,' '' "$DQL" -e "$LOAD_G" -e '.mode csv' -e 'DUMP d;'
check_run ".mode tsv" 0 '1	x
22	y|z
3	' '' "$DQL" -e "$LOAD_G" -e '.mode tsv' -e 'DUMP d;'
check_run ".mode json" 0 '[{"a":1,"b":"x"},
{"a":22,"b":"y|z"},
{"a":3,"b":null}]' '' "$DQL" -e "$LOAD_G" -e '.mode json' -e 'DUMP d;'
check_run ".mode jsonl" 0 '{"a":1,"b":"x"}
{"a":22,"b":"y|z"}
{"a":3,"b":null}' '' "$DQL" -e "$LOAD_G" -e '.mode jsonl' -e 'DUMP d;'
check_run ".mode line" 0 '    a = 1
    b = x

    a = 22
    b = y|z

    a = 3
    b = ' '' "$DQL" -e "$LOAD_G" -e '.mode line' -e 'DUMP d;'
check_run ".mode without argument prints the mode" 0 'csv
jsonl' '' "$DQL" -e '.mode' -e '.mode jsonl' -e '.mode'
check_run ".mode bad" 2 '' "Usage: .mode $MODES" "$DQL" -e '.mode bad'
check_run ".mode with two arguments" 2 '' "Usage: .mode $MODES" "$DQL" -e '.mode csv tsv'
check_run ".mode bad keeps the mode" 2 '1,x' "Usage: .mode $MODES" \
    "$DQL" -e "$LOAD_G" -e '.mode bad' -e 'DUMP (LIMIT d 1);'
check_run "a failing dot-command does not stop the script" 2 '1,x' "Usage: .mode $MODES" \
    "$DQL" -e "$LOAD_G
.mode bad
DUMP (LIMIT d 1);"

# ---------------------------------------------------------------- .headers
check_run ".headers on" 0 'a,b
1,x' '' "$DQL" -e "$LOAD_G" -e '.headers on' -e 'DUMP (LIMIT d 1);'
check_run ".headers off" 0 '1,x' '' "$DQL" --headers -e "$LOAD_G" -e '.headers off' -e 'DUMP (LIMIT d 1);'
check_run ".headers without argument" 0 'off
on' '' "$DQL" -e '.headers' -e '.headers on' -e '.headers'
check_run ".headers after table mode" 0 '1,x' '' "$DQL" -e "$LOAD_G" -e '.mode table' -e '.mode csv' -e 'DUMP (LIMIT d 1);'
check_run ".headers maybe" 2 '' 'Usage: .headers on|off' "$DQL" -e '.headers maybe'
check_run ".headers on off" 2 '' 'Usage: .headers on|off' "$DQL" -e '.headers on off'

# ---------------------------------------------------------------- .nullvalue
check_run ".nullvalue" 0 '3,NULL' '' "$DQL" -e "$LOAD_G" -e '.nullvalue NULL' -e "DUMP (FILTER d BY a == 3);"
check_run ".nullvalue with spaces, quoted" 0 '3,(no value)' '' \
    "$DQL" -e "$LOAD_G" -e ".nullvalue '(no value)'" -e "DUMP (FILTER d BY a == 3);"
check_run ".nullvalue without argument prints it" 0 "''
'-'" '' "$DQL" -e '.nullvalue' -e '.nullvalue -' -e '.nullvalue'
check_run ".nullvalue a b" 2 '' 'Usage: .nullvalue STRING' "$DQL" -e '.nullvalue a b'

# ---------------------------------------------------------------- .maxrows
check_run ".maxrows in table mode" 0 '+----+-----+
| a  |  b  |
+----+-----+
|  1 | x   |
| 22 | y|z |
+----+-----+
2 of 3 rows shown; .last to see all' '' "$DQL" -e "$LOAD_G" -e '.mode table' -e '.maxrows 2' -e 'DUMP d;'
check_run ".maxrows 0: all rows" 0 '+----+-----+
| a  |  b  |
+----+-----+
|  1 | x   |
| 22 | y|z |
|  3 |     |
+----+-----+' '' "$DQL" -e "$LOAD_G" -e '.mode table' -e '.maxrows 2' -e '.maxrows 0' -e 'DUMP d;'
check_run ".maxrows does not cut csv" 0 '1,x
22,y|z
3,' '' "$DQL" -e "$LOAD_G" -e '.maxrows 1' -e 'DUMP d;'
check_run ".maxrows without argument" 0 '0
5' '' "$DQL" -e '.maxrows' -e '.maxrows 5' -e '.maxrows'
for bad in x -1 1x ''; do
    check_run ".maxrows '$bad'" 2 '' 'Usage: .maxrows N' "$DQL" -e ".maxrows '$bad'"
done

# ---------------------------------------------------------------- .output, .once
check_run ".output FILE" 0 '22,y|z' '' \
    "$DQL" -e "$LOAD_G" -e '.output out.csv' -e 'DUMP (LIMIT d 1);' -e '.output' -e 'DUMP (FILTER d BY a == 22);'
check_file ".output FILE: the file" out.csv '1,x'
check_run ".output stdout" 0 '1,x' '' "$DQL" -e "$LOAD_G" -e '.output o2.csv' -e '.output stdout' -e 'DUMP (LIMIT d 1);'
check_file ".output stdout: the file stays empty" o2.csv ''
check_run ".output to a missing directory" 1 '1,x' "dql: cannot write 'nodir/x': No such file or directory" \
    "$DQL" -e "$LOAD_G" -e '.output nodir/x' -e 'DUMP (LIMIT d 1);'
check_run ".output a b" 2 '' 'Usage: .output [FILE]' "$DQL" -e '.output a b'
check_run ".once FILE: only the next statement" 0 '22,y|z' '' \
    "$DQL" -e "$LOAD_G" -e '.once once.csv' -e 'DUMP (LIMIT d 1); DUMP (FILTER d BY a == 22);'
check_file ".once FILE: the file" once.csv '1,x'
check_run ".once then a dot-command that prints" 0 'csv' '' "$DQL" -e '.once once.txt' -e '.help once' -e '.mode'
check_file ".once then a dot-command: the file" once.txt '.once FILE             send the next result to FILE'
check_run ".once without a file" 2 '' 'Usage: .once FILE' "$DQL" -e '.once'
check_run ".once to a missing directory" 1 '' "dql: cannot write 'nodir/x': No such file or directory" "$DQL" -e '.once nodir/x'

# ---------------------------------------------------------------- .read
printf '%s\n.mode jsonl\nDUMP (LIMIT d 1);\n' "$LOAD_G" > r.dql
check_run ".read" 0 '{"a":1,"b":"x"}
{"a":22,"b":"y|z"}' '' "$DQL" -e '.read r.dql' -e 'DUMP (FILTER d BY a == 22);'
printf '\n\nDUMP nope;\n' > rbad.dql
check_run ".read: errors name the file and line" 3 '' "rbad.dql:3:6: error: unknown alias 'nope'
  DUMP nope;
       ^~~~" "$DQL" -e '.read rbad.dql'
check_run ".read of a missing file" 1 '' "dql: cannot open 'nope.dql': No such file or directory" "$DQL" -e '.read nope.dql'
check_run ".read without a file" 2 '' 'Usage: .read FILE' "$DQL" -e '.read'
printf '.read self.dql\n' > self.dql
check_run ".read of itself" 2 '' "dql: .read self.dql: nested too deeply" "$DQL" -e '.read self.dql'

# ---------------------------------------------------------------- .open, .tables, .schema
check_run ".tables of an empty workspace" 0 '' '' "$DQL" -e '.tables'
check_run ".open and STORE" 0 '' '' "$DQL" -e '.open other.db' -e "$LOAD_G STORE d INTO 'g';"
check_run ".tables after .open" 0 'g' '' "$DQL" -e '.open other.db' -e '.tables'
check_run ".tables of the default workspace" 0 '' '' "$DQL" -e '.tables'
check_run ".open without a file" 2 '' 'Usage: .open FILE' "$DQL" -e '.open'
check_run ".open in a missing directory" 1 '' "~^dql: cannot open workspace 'nodir/x.db'" "$DQL" -e '.open nodir/x.db'
check_run ".tables x" 2 '' 'Usage: .tables' "$DQL" -e '.tables x'
check_run ".schema of the workspace" 0 'table g: {a: int, b: chararray}' '' "$DQL" --db other.db -e '.schema'
check_run ".schema TABLE" 0 'table g: {a: int, b: chararray}' '' "$DQL" --db other.db -e '.schema g'
check_run ".schema ALIAS" 0 'd: {a: int, b: chararray}' '' "$DQL" -e "$LOAD_G" -e '.schema d'
check_run ".schema of neither" 2 '' "dql: no alias or table 'nope'" "$DQL" -e '.schema nope'
check_run ".schema a b" 2 '' 'Usage: .schema [ALIAS|TABLE]' "$DQL" -e '.schema a b'

# ---------------------------------------------------------------- .aliases, .unset
check_run ".aliases with none" 0 '' '' "$DQL" -e '.aliases'
check_run ".aliases" 0 'd: {a: int, b: chararray}
n: {a: int}' '' "$DQL" -e "$LOAD_G n = FOREACH d GENERATE a;" -e '.aliases'
check_run ".aliases x" 2 '' 'Usage: .aliases' "$DQL" -e '.aliases x'
check_run ".unset" 0 'n: {a: int}
22' '' "$DQL" -e "$LOAD_G n = FOREACH d GENERATE a;" -e '.unset d' -e '.aliases' -e 'DUMP (FILTER n BY a == 22);'
check_run ".unset: the alias is gone" 3 '' "-e:1:6: error: unknown alias 'd'
  DUMP d;
       ^" "$DQL" -e "$LOAD_G" -e '.unset d' -e 'DUMP d;'
check_run ".unset of several" 0 '' '' "$DQL" -e "$LOAD_G n = FOREACH d GENERATE a;" -e '.unset d n' -e '.aliases'
check_run ".unset of an unknown alias" 2 '' "dql: no alias 'nope'" "$DQL" -e '.unset nope'
check_run ".unset without alias" 2 '' 'Usage: .unset ALIAS...' "$DQL" -e '.unset'

# ---------------------------------------------------------------- .last
check_run ".last: every row" 0 '+---+---+
| a | b |
+---+---+
| 1 | x |
+---+---+
1 of 3 rows shown; .last to see all
+----+-----+
| a  |  b  |
+----+-----+
|  1 | x   |
| 22 | y|z |
|  3 |     |
+----+-----+' '' "$DQL" -e "$LOAD_G" -e '.mode table' -e '.maxrows 1' -e 'DUMP d;' -e '.last'
check_run ".last in another mode, maxrows kept" 0 '1
22
3
1
22
3
+---+
| a |
+---+
| 1 |
+---+
1 of 3 rows shown; .last to see all' '' \
    "$DQL" -e "$LOAD_G" -e '.maxrows 1' -e 'DUMP (FOREACH d GENERATE a);' -e '.last' -e '.mode table' -e 'DUMP (FOREACH d GENERATE a);'
check_run ".last shows the DUMP as it was when it ran" 0 '1,x
22,y|z
3,
1,x
22,y|z
3,' '' "$DQL" -e "$LOAD_G" -e '.output /dev/null' -e 'DUMP d;' -e '.output' -e "d = LOAD 'f.csv' USING csv() AS (a:int, b:chararray);" -e '.last' -e '.unset d' -e '.last'
check_run ".last before any DUMP" 2 '' 'dql: .last: no DUMP has run yet' "$DQL" -e "$LOAD_G" -e '.last'
check_run ".last x" 2 '' 'Usage: .last' "$DQL" -e '.last x'

# ---------------------------------------------------------------- .set
# (other settings come and go as operators are added: check the form)
check_run ".set" 0 '~^overwrite = true$' '' "$DQL" -e 'SET overwrite true;' -e '.set'
grep -q '^db = dql.db$' "$T/.run/out" || { echo "FAIL: .set: no db" >&2; exit 1; }
! grep -qv '^[a-z][a-z0-9_.]* = ' "$T/.run/out" || { echo "FAIL: .set: a line not KEY = VALUE" >&2; exit 1; }
LC_ALL=C sort -c "$T/.run/out" || { echo "FAIL: .set: not sorted" >&2; exit 1; }
check_run ".set x" 2 '' 'Usage: .set' "$DQL" -e '.set x'

# ---------------------------------------------------------------- .echo
check_run ".echo on" 0 ".mode jsonl
DUMP (LIMIT d 1);
{\"a\":1,\"b\":\"x\"}
.echo off
{\"a\":1,\"b\":\"x\"}" '' "$DQL" -e "$LOAD_G" -e '.echo on' -e '.mode jsonl' -e 'DUMP (LIMIT d 1);' -e '.echo off' -e 'DUMP (LIMIT d 1);'
check_run ".echo without argument" 0 'off' '' "$DQL" -e '.echo'
check_run ".echo maybe" 2 '' 'Usage: .echo on|off' "$DQL" -e '.echo maybe'

# ---------------------------------------------------------------- .bail
printf '%s\n.bail on\nDUMP nope;\n.mode jsonl\nDUMP (LIMIT d 1);\n' "$LOAD_G" > bail.dql
check_run ".bail on stops the script" 3 '' "bail.dql:3:6: error: unknown alias 'nope'
  DUMP nope;
       ^~~~" "$DQL" bail.dql
check_run ".bail on stops the -e that follow" 3 '' "-e:1:6: error: unknown alias 'nope'
  DUMP nope;
       ^~~~" "$DQL" -e '.bail on' -e 'DUMP nope;' -e '.mode nope'
check_run ".bail on: a failing dot-command stops too" 2 '' "Usage: .mode $MODES" "$DQL" -e '.bail on' -e '.mode nope' -e 'DUMP nope;'
check_run ".bail off" 3 '{"a":1,"b":"x"}' "-e:1:6: error: unknown alias 'nope'
  DUMP nope;
       ^~~~" "$DQL" -e "$LOAD_G" -e '.bail on' -e '.bail off' -e 'DUMP nope;' -e '.mode jsonl' -e 'DUMP (LIMIT d 1);'
check_run ".bail off inside a script" 3 '{"a":1,"b":"x"}' '*' \
    "$DQL" -e "$LOAD_G" -e '.bail on
.bail off
DUMP nope;
.mode jsonl
DUMP (LIMIT d 1);'
check_run ".bail without argument" 0 'off
on' '' "$DQL" -e '.bail' -e '.bail on' -e '.bail'
check_run ".bail maybe" 2 '' 'Usage: .bail on|off' "$DQL" -e '.bail maybe'

# ---------------------------------------------------------------- .timer, .progress
check_run ".timer on" 0 '1,x' '~^real [0-9]+\.[0-9]{3} user [0-9]+\.[0-9]{3} sys [0-9]+\.[0-9]{3}$' \
    "$DQL" -e "$LOAD_G" -e '.timer on' -e 'DUMP (LIMIT d 1);'
[ "$(wc -l < "$T/.run/err")" -eq 1 ] || { echo "FAIL: .timer on: one line per statement" >&2; exit 1; }
check_run ".timer: a line after each statement" 0 '*' '*' \
    "$DQL" -e "$LOAD_G" -e '.timer on' -e 'DUMP (LIMIT d 1); DUMP (LIMIT d 1); DESCRIBE d;'
[ "$(grep -c '^real ' "$T/.run/err")" -eq 3 ] || { echo "FAIL: .timer on: three statements, three lines" >&2; cat "$T/.run/err" >&2; exit 1; }
check_run ".timer off" 0 '1,x' '' "$DQL" -e "$LOAD_G" -e '.timer on' -e '.timer off' -e 'DUMP (LIMIT d 1);'
check_run ".timer without argument" 0 'off' '' "$DQL" -e '.timer'
check_run ".timer maybe" 2 '' 'Usage: .timer on|off' "$DQL" -e '.timer maybe'
check_run ".progress on" 0 '1,x' '' "$DQL" -e "$LOAD_G" -e '.progress on' -e 'DUMP (LIMIT d 1);'
check_run ".progress without argument" 0 'on' '' "$DQL" -e '.progress on' -e '.progress'
check_run ".progress maybe" 2 '' 'Usage: .progress on|off' "$DQL" -e '.progress maybe'

# ---------------------------------------------------------------- .edit
# (through a terminal: tests/cli/repl.sh). $EDITOR is a script here.
cat > "$T/ed-limit" <<'EOF'
#!/bin/sh
sed 's/LIMIT d 1/LIMIT d 2/' "$1" > "$1.new" && mv "$1.new" "$1"
EOF
cat > "$T/ed-new" <<'EOF'
#!/bin/sh
printf '%s\n' '.mode jsonl' "d = LOAD 'g.csv' USING csv() AS (a:int, b:chararray);" 'DUMP (LIMIT d 1)' > "$1"
EOF
cat > "$T/ed-empty" <<'EOF'
#!/bin/sh
[ -s "$1" ] && exit 9
echo .mode > "$1"
EOF
chmod +x "$T/ed-limit" "$T/ed-new" "$T/ed-empty"
check_run ".edit runs the edited statement" 0 '1,x
1,x
22,y|z' '' env EDITOR="$T/ed-limit" "$DQL" -e "$LOAD_G" -e 'DUMP (LIMIT d 1);' -e '.edit'
check_run ".edit: VISUAL before EDITOR" 0 '1,x
1,x
22,y|z' '' env VISUAL="$T/ed-limit" EDITOR=false "$DQL" -e "$LOAD_G" -e 'DUMP (LIMIT d 1);' -e '.edit'
check_run ".edit: dot-commands and several statements run, a missing ';' is added" 0 '{"a":1,"b":"x"}' '' \
    env EDITOR="$T/ed-new" "$DQL" -e '.edit'
check_run ".edit with no statement before: an empty file" 0 'csv' '' env EDITOR="$T/ed-empty" "$DQL" -e '.edit'
check_run ".edit unchanged runs nothing" 0 '1,x' '' env EDITOR=true "$DQL" -e "$LOAD_G" -e 'DUMP (LIMIT d 1);' -e '.edit'
check_run ".edit: a failing editor" 1 '' 'dql: .edit: editor exited with status 1; nothing run' env EDITOR=false "$DQL" -e '.edit'
check_run ".edit x" 2 '' 'Usage: .edit' "$DQL" -e '.edit x'

# ---------------------------------------------------------------- .shell
check_run ".shell" 0 'a  b' '' "$DQL" -e ".shell echo 'a  b'"
check_run ".shell: output order" 0 '1,x
between
22,y|z' '' "$DQL" -e "$LOAD_G" -e 'DUMP (LIMIT d 1);' -e '.shell echo between' -e 'DUMP (FILTER d BY a == 22);'
check_run ".shell with a failing command" 1 '' 'dql: .shell: command exited with status 3' "$DQL" -e '.shell exit 3'
check_run ".shell without command" 2 '' 'Usage: .shell COMMAND' "$DQL" -e '.shell'

# ---------------------------------------------------------------- .quit, .exit
check_run ".quit stops the script" 0 'csv' '' "$DQL" -e '.mode
.quit
.mode'
check_run ".exit CODE" 9 '' '' "$DQL" -e '.exit 9'
check_run ".quit abc" 2 'csv' 'Usage: .quit [CODE]' "$DQL" -e '.quit abc' -e '.mode'
check_run ".exit 256" 2 '' 'Usage: .exit [CODE]' "$DQL" -e '.exit 256'
check_run ".quit 1 2" 2 '' 'Usage: .quit [CODE]' "$DQL" -e '.quit 1 2'

# ---------------------------------------------------------------- .help
check_run ".help" 0 '*' '' "$DQL" -e '.help'
# .help lists every command of the table, each once
for c in aliases bail echo edit exit headers help last maxrows mode nullvalue once open output \
         progress quit read schema set shell tables timer unset; do
    n=$(grep -c "^\.$c\( \|$\)" "$T/.run/out")
    [ "$n" -eq 1 ] || { echo "FAIL: .help lists .$c $n times" >&2; exit 1; }
done
n=$(grep -c '^\.' "$T/.run/out")
[ "$n" -eq 23 ] || { echo "FAIL: .help lists $n commands, the test knows 23: add the new ones here and to doc/cli.md" >&2; exit 1; }
# doc/cli.md documents every command of the table
for c in $(sed -n 's/^\.\([a-z]*\).*/\1/p' "$T/.run/out"); do
    grep -q "^### \`\.$c" "$SRCDIR/doc/cli.md" || { echo "FAIL: doc/cli.md does not document .$c" >&2; exit 1; }
    grep -Eq "^\.BI? \.$c( |\$)" "$SRCDIR/doc/dql.1" || { echo "FAIL: doc/dql.1 does not document .$c" >&2; exit 1; }
done
check_run ".help PATTERN" 0 '.timer on|off          print real/user/sys time after each statement (on stderr)' '' "$DQL" -e '.help tim'
check_run ".help .PATTERN" 0 '.unset ALIAS...        forget aliases' '' "$DQL" -e '.help .unset'
check_run ".help PATTERN matching several" 0 '.edit                  open the last statement in $EDITOR; run it when saved
.exit [CODE]           leave dql (exit status CODE, 0 to 255)
.quit [CODE]           leave dql (exit status CODE, 0 to 255)' '' "$DQL" -e '.help it'
check_run ".help with no match" 2 '' "dql: no dot-command matches 'zzz'" "$DQL" -e '.help zzz'
check_run ".help a b" 2 '' 'Usage: .help [PATTERN]' "$DQL" -e '.help a b'

# ---------------------------------------------------------------- prefixes, unknown
check_run "unambiguous prefix" 0 'tsv' '' "$DQL" -e '.mo tsv' -e '.mode'
check_run "prefix .hea" 0 'on' '' "$DQL" -e '.hea on' -e '.headers'
check_run "ambiguous prefix .he" 2 '' "dql: ambiguous command '.he': .headers, .help" "$DQL" -e '.he'
check_run "ambiguous prefix .e" 2 '' "dql: ambiguous command '.e': .echo, .edit, .exit" "$DQL" -e '.e on'
check_run "unknown command" 2 '' "dql: unknown command '.frobnicate' (.help lists them)" "$DQL" -e '.frobnicate'
check_run "a lone dot" 0 '' '' "$DQL" -e '.'
check_run "dot-command after leading blanks" 0 'jsonl' '' "$DQL" -e '   .mode jsonl' -e '.mode'
check_run "no dot-command inside a statement" 3 '' '*' "$DQL" -e "d = LOAD 'g.csv'
.mode json
;"

pass
