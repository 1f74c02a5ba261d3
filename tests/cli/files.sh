#!/bin/sh
# files.sh — the many-small-files family on a corpus built here: ELF files,
# text files, names with spaces and quotes, a .tar.gz and a .zip with nested
# folders, the EICAR test string. Checks files() and its archive members
# against sha256sum and file(1), YARA with a rule written here, ClamAV with a
# signature database written here, per-row STREAM (archive members extracted
# and removed) and the misbehaving tools: 10 MB on stdout, a tool that sleeps
# forever with a child, exit 3, invalid JSON, stderr only; and that no
# temporary file is left behind after any of them, nor after Ctrl-C.
# A feature whose library is missing from the build must say "not available
# in this build"; its checks are then skipped.
. "${SRCDIR:-$(dirname "$0")/../..}/tests/cli/lib.sh"

# Every temporary file dql makes goes here, checked empty after each step.
TMPDIR=$T/tmp
export TMPDIR
mkdir "$TMPDIR"
check_tmp_empty() {
    NCHECKS=$((NCHECKS + 1))
    if [ -n "$(ls -A "$TMPDIR")" ]; then
        echo "FAIL: $1: temporary files left behind:" >&2
        find "$TMPDIR" >&2
        exit 1
    fi
}

# ---------------------------------------------------------------- corpus
mkdir -p samples/bin samples/text/deep samples/arch
cp /bin/ls /bin/true samples/bin/
printf 'hello\n' > samples/text/a.txt
printf 'with a space\n' > "samples/text/with space.txt"
printf 'quoted\n' > "samples/text/it's \"q\".txt"
printf 'deep\n' > samples/text/deep/d.txt
printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' > samples/eicar.com
mkdir -p build/dir/sub
printf 'member text\n' > build/dir/sub/x.txt
cp samples/eicar.com build/dir/eicar.com
cp /bin/true build/dir/sub/elf
(cd build && tar czf ../samples/arch/nested.tar.gz dir)
have_zip=0
if command -v python3 > /dev/null 2>&1; then
    (cd build && python3 -c '
import zipfile
with zipfile.ZipFile("../samples/arch/nested.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.write("dir/sub/x.txt", "z/one/x.txt")
    z.write("dir/eicar.com", "z/eicar.com")
') && have_zip=1
fi
rm -rf build

# avail EXPR: 0 when dql can check a script using EXPR (its library is in
# the build); otherwise the message must be "not available in this build".
avail() {
    if "$DQL" -c -e "f = LOAD 'samples' USING files(); g = FOREACH f GENERATE $1;" > "$T/.run/avail" 2>&1; then
        return 0
    fi
    NCHECKS=$((NCHECKS + 1))
    if ! grep -q 'not available in this build' "$T/.run/avail"; then
        echo "FAIL: $1 fails to check for another reason:" >&2
        cat "$T/.run/avail" >&2
        exit 1
    fi
    echo "skipping the checks of $1: not available in this build"
    return 1
}

# ---------------------------------------------------------------- files(): rows and archive members
if avail "sha256"; then
    zip_rows=
    [ $have_zip = 1 ] && zip_rows='samples/arch/nested.zip,nested.zip,,
samples/arch/nested.zip!z/one/x.txt,x.txt,samples/arch/nested.zip,z/one/x.txt
samples/arch/nested.zip!z/eicar.com,eicar.com,samples/arch/nested.zip,z/eicar.com'
    exp="samples/arch/nested.tar.gz,nested.tar.gz,,
samples/arch/nested.tar.gz!dir/sub/x.txt,x.txt,samples/arch/nested.tar.gz,dir/sub/x.txt
samples/arch/nested.tar.gz!dir/sub/elf,elf,samples/arch/nested.tar.gz,dir/sub/elf
samples/arch/nested.tar.gz!dir/eicar.com,eicar.com,samples/arch/nested.tar.gz,dir/eicar.com${zip_rows:+
$zip_rows}"
    # tar lists members in the order it archived them: compare sorted
    "$DQL" -e "f = LOAD 'samples/arch' USING files(); g = FOREACH f GENERATE path, name, archive, member; DUMP g;" \
        2> "$T/.run/err" | sort > got.txt
    printf '%s\n' "$exp" | sort > exp.txt
    check_run "archive members are rows" 0 "@exp.txt" '' cat got.txt

    # the digests of every file and member agree with sha256sum
    find samples -type f -exec sha256sum {} + | awk '{ print $1 }' | sort > exp.txt
    mkdir -p ex && (cd ex && tar xzf ../samples/arch/nested.tar.gz && find . -type f -exec sha256sum {} +) | awk '{ print $1 }' >> exp.txt
    if [ $have_zip = 1 ]; then
        (cd ex && rm -rf dir && python3 -c 'import zipfile; zipfile.ZipFile("../samples/arch/nested.zip").extractall(".")' \
            && find z -type f -exec sha256sum {} +) | awk '{ print $1 }' >> exp.txt
    fi
    rm -rf ex
    sort -o exp.txt exp.txt
    "$DQL" -e "f = LOAD 'samples' USING files(); g = FOREACH f GENERATE sha256; DUMP g;" | sort > got.txt
    check_run "sha256 of files and members = sha256sum" 0 "@exp.txt" '' cat got.txt
    check_run "HASH(path) = sha256 column" 0 '' '' "$DQL" -e "f = LOAD 'samples' USING files(archives = false);
        g = FILTER f BY HASH(path, 'sha256') != sha256 OR HASH(content, 'md5') != md5; DUMP g;"

    # follow_symlinks: off by default; on, a link loop does not loop
    ln -s ../text samples/bin/link-to-text
    ln -s .. samples/text/deep/loop
    check_run "symlinks are not followed by default" 0 "$((8 + have_zip))" '' "$DQL" -e \
        "f = LOAD 'samples' USING files(archives = false); g = FOREACH (GROUP f ALL) GENERATE COUNT(f); DUMP g;"
    check_run "followed, without looping" 0 "$((12 + have_zip))" '' "$DQL" -e \
        "f = LOAD 'samples' USING files(archives = false, follow_symlinks = true); g = FOREACH (GROUP f ALL) GENERATE COUNT(f); DUMP g;"
    rm samples/bin/link-to-text samples/text/deep/loop

    # unreadable entries are counted warnings, not a stop
    printf 'samples/text/a.txt\nsamples/gone.txt\nsamples/also-gone.txt\n' > list.txt
    check_run "a missing file of a list is a warning" 0 'a.txt' \
        "-e:1:113: warning: files: cannot read: 2 times (first: 'samples/gone.txt': No such file or directory)" \
        "$DQL" -e "f = LOAD 'list.txt' USING files(list = true); g = FOREACH f GENERATE name, sha256; h = FOREACH g GENERATE name; DUMP h;"
    if [ "$(id -u)" != 0 ]; then
        printf 'secret\n' > samples/text/locked.txt
        chmod 000 samples/text/locked.txt
        check_run "an unreadable file is a warning" 0 '~^locked.txt,$' '~warning: files: cannot read: 1 time' \
            "$DQL" -e "f = LOAD 'samples/text' USING files(); g = FOREACH f GENERATE name, md5; DUMP g;"
        rm -f samples/text/locked.txt
    fi
fi

# ---------------------------------------------------------------- FILETYPE and MIME = file(1)
if avail "FILETYPE(path)" && command -v file > /dev/null 2>&1; then
    for f in samples/bin/ls samples/text/a.txt samples/eicar.com "samples/text/with space.txt"; do
        exp=$(file -b "$f")
        "$DQL" -e ".mode tsv" -e "f = LOAD '$f' USING files(); g = FOREACH f GENERATE FILETYPE(path), magic; DUMP g;" > got.txt
        check_run "FILETYPE of $f = file -b" 0 "$exp	$exp" '' cat got.txt
        exp=$(file -b --mime-type "$f")
        check_run "MIME of $f = file --mime-type" 0 "$exp,$exp" '' \
            "$DQL" -e "f = LOAD '$f' USING files(); g = FOREACH f GENERATE MIME(path), mime; DUMP g;"
    done
fi

# ---------------------------------------------------------------- YARA
cat > rules.yar <<'EOF'
rule eicar : test av
{
    meta:
        author = "files.sh"
        severity = 5
    strings:
        $e = "EICAR-STANDARD-ANTIVIRUS-TEST-FILE"
    condition:
        $e
}
rule elf { strings: $m = { 7F 45 4C 46 } condition: $m at 0 }
EOF
if avail "YARA(content, 'rules.yar')"; then
    exp="eicar.com,eicar,default,{(test),(av)},[author#files.sh,severity#5],{(\$e,28,EICAR-STANDARD-ANTIVIRUS-TEST-FILE)}
eicar.com,eicar,default,{(test),(av)},[author#files.sh,severity#5],{(\$e,28,EICAR-STANDARD-ANTIVIRUS-TEST-FILE)}
elf,elf,default,{},[],{(\$m,0,ELF)}
ls,elf,default,{},[],{(\$m,0,ELF)}
true,elf,default,{},[],{(\$m,0,ELF)}"
    [ $have_zip = 1 ] && exp="$exp
eicar.com,eicar,default,{(test),(av)},[author#files.sh,severity#5],{(\$e,28,EICAR-STANDARD-ANTIVIRUS-TEST-FILE)}"
    printf '%s\n' "$exp" | sort > exp.txt
    "$DQL" -e ".mode tsv" -e "f = LOAD 'samples' USING files(); y = FOREACH f GENERATE name, FLATTEN(YARA(content, 'rules.yar'));
        DUMP y;" 2>&1 | tr -d '\177' | cut -f1-6 | tr '\t' ',' | sort > got.txt
    check_run "YARA over files and archive members" 0 "@exp.txt" '' cat got.txt
    check_run "YARA of a path" 0 'eicar' '' "$DQL" -e \
        "f = LOAD 'samples/eicar.com' USING files(); y = FOREACH f GENERATE FLATTEN(YARA(path, 'rules.yar')); g = FOREACH y GENERATE rule; DUMP g;"
    printf 'rule broken { condition: nosuch }\n' > bad.yar
    check_run "a YARA rule that does not compile: at check time" 3 '' "-e:1:58: error: YARA: bad.yar:1: undefined identifier \"nosuch\"
  f = LOAD 'samples' USING files(); g = FOREACH f GENERATE YARA(content, 'bad.yar'); DUMP g;
                                                           ^~~~~~~~~~~~~~~~~~~~~~~~" \
        "$DQL" -e "f = LOAD 'samples' USING files(); g = FOREACH f GENERATE YARA(content, 'bad.yar'); DUMP g;"
fi

# ---------------------------------------------------------------- ClamAV
mkdir db
printf '%s:%s:Eicar-Test-Signature\n' "$(md5sum < samples/eicar.com | cut -d' ' -f1)" \
    "$(wc -c < samples/eicar.com | tr -d ' ')" > db/eicar.hdb
if avail "CLAMAV(content, 'db')"; then
    # libclamav looks inside archives itself: the archives match too
    exp="nested.tar.gz,Eicar-Test-Signature.UNOFFICIAL,Eicar-Test-Signature.UNOFFICIAL
eicar.com,Eicar-Test-Signature.UNOFFICIAL,"
    [ $have_zip = 1 ] && exp="$exp
nested.zip,Eicar-Test-Signature.UNOFFICIAL,Eicar-Test-Signature.UNOFFICIAL
eicar.com,Eicar-Test-Signature.UNOFFICIAL,"
    exp="$exp
eicar.com,Eicar-Test-Signature.UNOFFICIAL,Eicar-Test-Signature.UNOFFICIAL"
    check_run "CLAMAV finds EICAR in files and members" 0 "$exp" '' "$DQL" -e \
        "f = LOAD 'samples' USING files(); g = FOREACH f GENERATE name, CLAMAV(content, 'db') AS v, (archive IS NULL ? CLAMAV(path, 'db') : null);
         h = FILTER g BY v IS NOT NULL; DUMP h;"
    check_tmp_empty "CLAMAV"
fi

# ---------------------------------------------------------------- per-row STREAM
if avail "sha256"; then
    "$DQL" -e ".mode tsv" -e "f = LOAD 'samples' USING files(); r = STREAM f THROUGH \`sha256sum \${file}\` WITH (parallel = 2);
        g = FOREACH r GENERATE sha256, SUBSTRING(stdout, 0, 64) AS sum, exit_code; h = FILTER g BY sha256 != sum OR exit_code != 0; DUMP h;
        n = FOREACH (GROUP r ALL) GENERATE COUNT(r); DUMP n;" > got.txt 2>&1
    n=$(find samples -type f | wc -l)
    n=$((n + 3 + 2 * have_zip))
    check_run "STREAM sha256sum \${file} over files and extracted members" 0 "$n" '' cat got.txt
    check_tmp_empty "STREAM over archive members"
fi

mkdir tools
cat > tools/big.sh <<'EOF'
#!/bin/sh
head -c 10485760 /dev/zero | tr '\0' 'x'
EOF
cat > tools/hang.sh <<'EOF'
#!/bin/sh
sleep 300 &
echo $! > "$PIDDIR/child.$$"
echo $$ > "$PIDDIR/parent.$$"
sleep 300
EOF
cat > tools/exit3.sh <<'EOF'
#!/bin/sh
echo "scanned $1"
echo "cannot handle $1" >&2
exit 3
EOF
cat > tools/badjson.sh <<'EOF'
#!/bin/sh
case $1 in *a.txt) echo '{"verdict": "clean"}' ;; *) echo '{"verdict": clean' ;; esac
EOF
cat > tools/stderr.sh <<'EOF'
#!/bin/sh
echo "note about $1" >&2
EOF
cat > tools/slow.sh <<'EOF'
#!/bin/sh
echo $$ > "$PIDDIR/slow.$$"
sleep 300
EOF
chmod +x tools/*.sh
PIDDIR=$T/pids
export PIDDIR
mkdir "$PIDDIR"
# alive PIDFILE...: the processes of these pid files that still run (zombies do not count)
alive() {
    for f in "$@"; do
        [ -f "$f" ] || continue
        s=$(ps -o stat= -p "$(cat "$f")" 2> /dev/null)
        case $s in ''|Z*) ;; *) cat "$f" ;; esac
    done
}

check_run "10 MB on stdout does not hang" 0 '10485760,false,0' '' timeout 60 "$DQL" -e \
    "f = LOAD 'samples/text/a.txt' USING files(); r = STREAM f THROUGH \`tools/big.sh \${file}\`;
     g = FOREACH r GENERATE SIZE(stdout), truncated, exit_code; DUMP g;"
check_run "... and max_output keeps the first bytes" 0 '1048576,true' '' timeout 60 "$DQL" -e \
    "f = LOAD 'samples/text/a.txt' USING files(); r = STREAM f THROUGH \`tools/big.sh \${file}\` WITH (max_output = '1MB');
     g = FOREACH r GENERATE SIZE(stdout), truncated; DUMP g;"
check_run "a timeout kills the tool and its child; the rows stay" 0 'a.txt,true,
with space.txt,true,' '' timeout 60 "$DQL" -e \
    "f = LOAD 'samples/text' USING files(recursive = false); g = FILTER f BY name != 'it\\'s \"q\".txt';
     r = STREAM g THROUGH \`tools/hang.sh \${file}\` WITH (timeout = '500ms', parallel = 2);
     h = FOREACH r GENERATE name, timed_out, exit_code; DUMP h;"
sleep 0.2
NCHECKS=$((NCHECKS + 1))
left=$(alive "$PIDDIR"/child.* "$PIDDIR"/parent.*)
if [ -n "$left" ] || [ "$(ls "$PIDDIR" | wc -l)" != 4 ]; then
    echo "FAIL: the timed-out tools or their children still run: $left" >&2
    exit 1
fi
rm -f "$PIDDIR"/*
check_run "exit 3 is an error unless exit_codes has it" 1 '' "-e:1:50: error: STREAM r: command 'tools/exit3.sh' exited with status 3 on 'samples/text/a.txt': cannot handle a.txt
  f = LOAD 'samples/text/a.txt' USING files(); r = STREAM f THROUGH \`tools/exit3.sh \${name}\`; DUMP r;
                                                   ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~" \
    "$DQL" -e "f = LOAD 'samples/text/a.txt' USING files(); r = STREAM f THROUGH \`tools/exit3.sh \${name}\`; DUMP r;"
check_run "exit 3 in exit_codes: the row is kept with stdout and stderr" 0 '3,"scanned a.txt
","cannot handle a.txt
"' '' "$DQL" -e "f = LOAD 'samples/text/a.txt' USING files(); r = STREAM f THROUGH \`tools/exit3.sh \${name}\` WITH (exit_codes = (0, 3));
    g = FOREACH r GENERATE exit_code, stdout, stderr; DUMP g;"
check_run "invalid JSON: a counted warning, the text kept" 0 'a.txt,[verdict#clean],
d.txt,,"{""verdict"": clean
"' "-e:1:233: warning: STREAM: invalid JSON: 1 time (first: 'samples/text/deep/d.txt': at byte 12: unexpected character 'c')" \
    "$DQL" -e "f = LOAD 'samples/text' USING files(); f2 = FILTER f BY name == 'a.txt' OR name == 'd.txt'; r = STREAM f2 THROUGH \`tools/badjson.sh \${file}\` WITH (output = 'json'); g = FOREACH r GENERATE name, json, (json IS NULL ? stdout : null); DUMP g;"
check_run "a tool that writes only to stderr" 0 ',"note about a.txt
",0' '' "$DQL" -e "f = LOAD 'samples/text/a.txt' USING files(); r = STREAM f THROUGH \`tools/stderr.sh \${name}\`; g = FOREACH r GENERATE stdout, stderr, exit_code; DUMP g;"
check_tmp_empty "the misbehaving tools"

# ---------------------------------------------------------------- Ctrl-C
# A STREAM over archive members, interrupted while the tools run: status
# 130, the tools killed, the extracted members removed.
if "$DQL" -c -e "f = LOAD 'samples/arch' USING files(archives = true);" > /dev/null 2>&1; then
    "$DQL" -e "f = LOAD 'samples/arch' USING files(); m = FILTER f BY member IS NOT NULL;
        r = STREAM m THROUGH \`tools/slow.sh \${file}\` WITH (parallel = 2); DUMP r;" > "$T/.run/out" 2> "$T/.run/err" < /dev/null &
    pid=$!
    i=0
    while [ "$(ls "$PIDDIR" | wc -l)" -lt 2 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    NCHECKS=$((NCHECKS + 1))
    if [ -z "$(ls -A "$TMPDIR")" ]; then echo "FAIL: Ctrl-C: no member was extracted before it" >&2; exit 1; fi
    kill -INT $pid
    wait $pid
    got=$?
    NCHECKS=$((NCHECKS + 1))
    if [ $got -ne 130 ]; then echo "FAIL: Ctrl-C: exit status $got, expected 130" >&2; cat "$T/.run/err" >&2; exit 1; fi
    compare_stream "Ctrl-C" stderr 'interrupted' "$T/.run/err" || exit 1
    check_tmp_empty "Ctrl-C during a STREAM over archive members"
    sleep 0.2
    NCHECKS=$((NCHECKS + 1))
    left=$(alive "$PIDDIR"/slow.*)
    if [ -n "$left" ]; then echo "FAIL: Ctrl-C: the tools still run: $left" >&2; exit 1; fi
fi

check_tmp_empty "the end"
pass
