#!/bin/sh
# exitcodes.sh — dql's exit statuses (0 ok, 1 runtime error, 2 usage or
# system error, 3 parse or check error, 130 interrupted) and the form of its
# diagnostics: file:line:col, the source line and a caret under the span.
. "${SRCDIR:-$(dirname "$0")/../..}/tests/cli/lib.sh"

# ---------------------------------------------------------------- 0
check_run "ok" 0 '1,x' '' "$DQL" -e "$LOAD_F DUMP (LIMIT d 1);"
check_run "nothing to do" 0 '' '' "$DQL" -e ''

# ---------------------------------------------------------------- 3: parse errors
check_run "syntax error in -e" 3 '' "-e:1:54: error: syntax error: unexpected DUMP, expecting ';'
  d = LOAD 'f.csv' USING csv() AS (a:int, b:chararray) DUMP d;
                                                       ^~~~" \
    "$DQL" -e "d = LOAD 'f.csv' USING csv() AS (a:int, b:chararray) DUMP d;"
check_run "syntax error on the second line of -e" 3 '' "-e:2:1: error: syntax error: unexpected DUMP, expecting ';'
  DUMP d;
  ^~~~" "$DQL" -e "d = LOAD 'f.csv' USING csv() AS (a:int, b:chararray)
DUMP d;"
check_run "syntax error: nothing runs" 3 '' '*' "$DQL" -e "$LOAD_F DUMP d; x = FOREACH;"
check_run "syntax error in the second -e: the first ran" 3 '1,x' "-e:1:12: error: syntax error: unexpected ';', expecting identifier or '('
  x = FOREACH;
             ^" "$DQL" -e "$LOAD_F DUMP (LIMIT d 1);" -e 'x = FOREACH;'
printf -- '-- a comment\n%s\n\nx = FOREACH;\n' "$LOAD_F" > syn.dql
check_run "syntax error in a script: its line" 3 '' "syn.dql:4:12: error: syntax error: unexpected ';', expecting identifier or '('
  x = FOREACH;
             ^" "$DQL" syn.dql
printf '%s\n.mode json\n\nx = FOREACH;\n' "$LOAD_F" > syndot.dql
check_run "line numbers stay right after a dot-command" 3 '' "syndot.dql:4:12: error: syntax error: unexpected ';', expecting identifier or '('
  x = FOREACH;
             ^" "$DQL" syndot.dql

# ---------------------------------------------------------------- 3: check errors
check_run "unknown alias" 3 '' "-e:1:6: error: unknown alias 'nope'
  DUMP nope;
       ^~~~" "$DQL" -e 'DUMP nope;'
check_run "type error" 3 '' "-e:1:69: error: cannot apply '+' to chararray (cast it first, e.g. (long)x)
  d = LOAD 'f.csv' USING csv() AS (a:int); e = FOREACH d GENERATE a + 'x';
                                                                      ^~~" \
    "$DQL" -e "d = LOAD 'f.csv' USING csv() AS (a:int); e = FOREACH d GENERATE a + 'x';"
check_run "missing input file" 3 '' "-e:1:5: error: no such file: 'nope.csv'
  d = LOAD 'nope.csv' USING csv();
      ^~~~~~~~~~~~~~~~~~~~~~~~~~~" "$DQL" -e "d = LOAD 'nope.csv' USING csv();"
check_run "a check error stops the whole -e before it runs" 3 '' '*' \
    "$DQL" -e "$LOAD_F STORE d INTO 'first'; DUMP nope;"
check_run "... so nothing was stored" 0 '' '' "$DQL" -e '.tables'

# ---------------------------------------------------------------- 1: runtime errors
check_run "STREAM through false" 1 '' "-e:1:59: error: STREAM x: command 'false' exited with status 1
  d = LOAD 'f.csv' USING csv() AS (a:int, b:chararray); x = STREAM d THROUGH \`false\`; DUMP x;
                                                            ^~~~~~~~~~~~~~~~~~~~~~~~" \
    "$DQL" -e "$LOAD_F x = STREAM d THROUGH \`false\`; DUMP x;"
printf '%s\n\nx = STREAM d THROUGH `false`;\nDUMP x;\n' "$LOAD_F" > rt.dql
check_run "runtime error in a script: its line" 1 '' "rt.dql:3:5: error: STREAM x: command 'false' exited with status 1
  x = STREAM d THROUGH \`false\`;
      ^~~~~~~~~~~~~~~~~~~~~~~~" "$DQL" rt.dql
check_stdin rt.dql "runtime error on stdin" 1 '' "<stdin>:3:5: error: STREAM x: command 'false' exited with status 1
  x = STREAM d THROUGH \`false\`;
      ^~~~~~~~~~~~~~~~~~~~~~~~" "$DQL"
check_run "the first failure gives the status" 1 '' '*' \
    "$DQL" -e "$LOAD_F x = STREAM d THROUGH \`false\`; DUMP x;" -e 'DUMP nope;'
check_run "a later failure of another kind" 3 '1,x' '*' \
    "$DQL" -e 'DUMP nope;' -e "$LOAD_F x = STREAM d THROUGH \`false\`; DUMP x;" -e 'DUMP (LIMIT d 1);'

# ---------------------------------------------------------------- 2: usage and system errors
check_run "bad option" 2 '' '*' "$DQL" --nope
check_run "missing script" 2 '' "dql: cannot open 'nope.dql': No such file or directory" "$DQL" nope.dql
check_run "dot-command misuse" 2 '' 'Usage: .mode table|box|csv|tsv|json|jsonl|markdown|line' "$DQL" -e '.mode nope'
check_run "unknown dot-command" 2 '' "dql: unknown command '.nope' (.help lists them)" "$DQL" -e '.nope'

# ---------------------------------------------------------------- .quit / .exit CODE
check_run ".quit" 0 '' '' "$DQL" -e '.quit' -e 'DUMP nope;'
check_run ".exit 4" 4 '' '' "$DQL" -e '.exit 4' -e 'DUMP nope;'
check_run ".quit 0 after an error" 0 '' '*' "$DQL" -e 'DUMP nope;' -e '.quit 0'
printf '.quit 5\n' > q.dql
check_run ".quit in a .read file ends dql" 5 '' '' "$DQL" -e '.read q.dql' -e 'DUMP nope;'
check_run ".quit in ~/.dqlrc" 6 '' '' sh -c "printf '.quit 6\n' > \"\$HOME/.dqlrc\"; exec \"\$0\" -e 'DUMP nope;'" "$DQL"
rm -f "$HOME/.dqlrc"

# ---------------------------------------------------------------- 130: interrupted
# A statement that runs for a while, interrupted by SIGINT: "interrupted",
# status 130, nothing after it runs.
"$DQL" -e "$LOAD_F x = STREAM d THROUGH \`sleep 30\`; DUMP x;" -e 'DUMP d;' \
    > "$T/.run/out" 2> "$T/.run/err" < /dev/null &
pid=$!
sleep 1
kill -INT $pid
wait $pid
got=$?
NCHECKS=$((NCHECKS + 1))
if [ $got -ne 130 ]; then echo "FAIL: SIGINT: exit status $got, expected 130" >&2; cat "$T/.run/err" >&2; exit 1; fi
compare_stream "SIGINT" stderr 'interrupted' "$T/.run/err" || exit 1
compare_stream "SIGINT" stdout '' "$T/.run/out" || exit 1

pass
