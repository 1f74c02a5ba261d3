#!/bin/sh
# zone.sh — zone file -> rows: dql against Knot's libzscanner, ldns, kzonecheck
# and named-checkzone on one deterministic TLD-like zone (bench/gen_zone.py).
# Each tool runs ROUNDS times, interleaved; the median time of each is kept.
# Prints MB/s, records/s, peak RSS and the ratio to libzscanner.
# Usage: bench/zone.sh [RECORDS (default 5000000)] [ROUNDS (default 3)]
# Needs: python3; optional: libknot-dev (pkg-config libzscanner), libldns-dev,
# ldnsutils, knot-dnssecutils (kzonecheck), bind9-utils (named-checkzone).
set -eu
N=${1:-5000000}
ROUNDS=${2:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
DQL=${DQL:-$TOP/dql}
W=$HERE/data/zone
mkdir -p "$W"
# a private copy: a rebuild during the run must not change the binary measured
[ -x "$DQL" ] || { echo "zone.sh: $DQL is not built" >&2; exit 2; }
cp "$DQL" "$W/dql.bin"
DQL=$W/dql.bin
Z=$W/tld-$N.zone
[ -s "$Z" ] || python3 "$HERE/gen_zone.py" "$N" "$Z"
BYTES=$(wc -c < "$Z")
# ldns rejects a class written before the TTL ("IN 86400", valid in RFC 1035):
# its runs read a copy with the two swapped (same size, same records).
ZL=$W/tld-$N.ldns.zone
[ -s "$ZL" ] || sed 's/\tIN 86400\t/\t86400 IN\t/' "$Z" > "$ZL"

# The probes: a no-op callback over libzscanner, and an ldns_rr_new_frm_fp_l loop.
cat > "$W/zs_probe.c" <<'C'
#include <libzscanner/scanner.h>
#include <stdio.h>
static unsigned long n;
static void rec(zs_scanner_t *s) { (void)s; n++; }
int main(int argc, char **argv)
{
    zs_scanner_t s;
    if (argc < 3 || zs_init(&s, argv[2], 1, 3600) != 0 || zs_set_input_file(&s, argv[1]) != 0 ||
        zs_set_processing(&s, rec, NULL, NULL) != 0) return 2;
    if (zs_parse_all(&s) != 0) { fprintf(stderr, "zscanner: %s\n", zs_strerror(s.error.code)); }
    printf("%lu\n", n);
    zs_deinit(&s);
    return 0;
}
C
cat > "$W/ldns_probe.c" <<'C'
#include <ldns/ldns.h>
#include <stdio.h>
int main(int argc, char **argv)
{
    FILE *f = fopen(argv[1], "r");
    if (!f) return 2;
    uint32_t ttl = 3600; ldns_rdf *origin = ldns_dname_new_frm_str(argv[2]), *prev = NULL;
    int line = 0; unsigned long n = 0, bad = 0;
    while (!feof(f)) {
        ldns_rr *rr = NULL;
        ldns_status st = ldns_rr_new_frm_fp_l(&rr, f, &ttl, &origin, &prev, &line);
        if (st == LDNS_STATUS_OK) { n++; ldns_rr_free(rr); }
        else if (st != LDNS_STATUS_SYNTAX_EMPTY && st != LDNS_STATUS_SYNTAX_TTL &&
                 st != LDNS_STATUS_SYNTAX_ORIGIN && st != LDNS_STATUS_SYNTAX_INCLUDE) bad++;
    }
    printf("%lu\n", n);
    return 0;
}
C
have_zs=0; have_ldns=0
if pkg-config --exists libzscanner 2>/dev/null &&
   cc -O2 -o "$W/zs_probe" "$W/zs_probe.c" $(pkg-config --cflags --libs libzscanner) 2>/dev/null; then have_zs=1; fi
if cc -O2 -o "$W/ldns_probe" "$W/ldns_probe.c" -lldns 2>/dev/null; then have_ldns=1; fi

cat > "$W/count.dql" <<D
z = LOAD '$Z' USING zone('tld.') AS (type:chararray);
DUMP (FOREACH (GROUP z ALL) GENERATE COUNT(z));
D
cat > "$W/count_all.dql" <<D
z = LOAD '$Z' USING zone('tld.');
DUMP (FOREACH (GROUP z ALL) GENERATE COUNT(z));
D
cat > "$W/tsv.dql" <<D
z = LOAD '$Z' USING zone('tld.') AS (owner:domain, ttl:long, class:chararray, type:chararray, rdata:chararray);
STORE z INTO '$W/out.tsv' USING tsv();
D

# name|command ; every command reads $Z
set -- \
  "dql count (type column)|$DQL -X --db $W/b.db $W/count.dql" \
  "dql count (all 13 columns)|$DQL -X --db $W/b.db $W/count_all.dql" \
  "dql TSV (5 columns)|sh -c 'rm -f $W/out.tsv; exec $DQL -X --db $W/b.db $W/tsv.dql'"
[ $have_zs = 1 ] && set -- "$@" "libzscanner (no-op callback)|$W/zs_probe $Z tld."
[ $have_ldns = 1 ] && set -- "$@" "ldns rr_new_frm_fp_l loop|$W/ldns_probe $ZL tld."
command -v ldns-read-zone >/dev/null && set -- "$@" "ldns-read-zone >/dev/null|ldns-read-zone $ZL > /dev/null"
command -v kzonecheck >/dev/null && set -- "$@" "kzonecheck -d off|kzonecheck -d off -o tld. $Z"
command -v named-checkzone >/dev/null && set -- "$@" "named-checkzone -i none|named-checkzone -q -i none -k ignore -n ignore tld. $Z"

R=$W/results; : > "$R"
r=1
while [ $r -le "$ROUNDS" ]; do
    for t in "$@"; do
        name=${t%%|*}; cmd=${t#*|}
        /usr/bin/time -f "%e %M" -o "$W/time" sh -c "$cmd" > "$W/out" 2> "$W/err" || true
        echo "$name|$(cat "$W/time" | tail -n 1)|$(head -c 40 "$W/out" | tr '\n' ' ')" >> "$R"
    done
    r=$((r + 1))
done
echo "zone: $Z ($BYTES bytes, $N records requested), median of $ROUNDS interleaved rounds"
awk -F'|' -v bytes="$BYTES" -v n="$N" '
{ split($2, a, " "); x = $1;
  if (!(x in cnt)) { name[++k] = x }
  c = ++cnt[x]; tt[x, c] = a[1] + 0; mm[x, c] = a[2] + 0; out[x] = $3 }
function median(x,   i, j, v, c, arr) {
  c = cnt[x]; for (i = 1; i <= c; i++) arr[i] = tt[x, i];
  for (i = 2; i <= c; i++) { v = arr[i]; for (j = i - 1; j >= 1 && arr[j] > v; j--) arr[j + 1] = arr[j]; arr[j + 1] = v }
  return arr[int((c + 1) / 2)] }
function maxrss(x,   i, m) { m = 0; for (i = 1; i <= cnt[x]; i++) if (mm[x, i] > m) m = mm[x, i]; return m }
END {
  zs = ("libzscanner (no-op callback)" in cnt) ? median("libzscanner (no-op callback)") : 0;
  printf "%-30s %8s %9s %12s %9s %10s  %s\n", "tool", "seconds", "MB/s", "records/s", "RSS MB", "vs zscan", "output";
  for (i = 1; i <= k; i++) { x = name[i]; t = median(x); if (t <= 0) t = 0.001;
    printf "%-30s %8.2f %9.1f %12.0f %9.1f %10s  %s\n", x, t, bytes / t / 1e6, n / t, maxrss(x) / 1024,
      zs ? sprintf("%.2fx", zs / t) : "-", out[x] }
}' "$R"
rm -f "$W/out.tsv"
