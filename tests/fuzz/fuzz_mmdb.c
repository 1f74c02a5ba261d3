/* fuzz_mmdb.c — libFuzzer target for the MaxMind DB reader (op_geo.c): the
 * input is written to a file, SET as geo.db.x (open, metadata and the full
 * verification), and when that is accepted, addresses (v4, v6, v4-mapped)
 * are looked up with MMDB() (whole records, turned into maps and bags) and
 * ENRICH. Any input must give a clean error or rows, never a crash. Seeds:
 * ../shared/data/mmdb (test-data and bad-data). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/fuzz-mmdb-XXXXXX");
        if (!mkdtemp(dir)) return 0;
        char p[128];
        snprintf(p, sizeof p, "%s/ips.txt", dir);
        FILE *f = fopen(p, "w");
        if (!f) return 0;
        fputs("1.2.3.4\n81.2.69.142\n::1.1.1.1\n2001:480:10::1\n::ffff:10.1.2.3\n0.0.0.0\n255.255.255.255\nffff::1\n", f);
        fclose(f);
    }
    char db[128], script[1024];
    snprintf(db, sizeof db, "%s/x.mmdb", dir);
    FILE *f = fopen(db, "wb");
    if (!f) return 0;
    if (size) fwrite(data, 1, size, f);
    fclose(f);
    dql_session *s = dql_session_new();
    FILE *null = fopen("/dev/null", "w");
    dql_session_set_errfp(s, null);
    dql_session_out(s)->fp = null;
    char err[256];
    dql_session_set(s, "db", ":memory:", err, sizeof err);
    snprintf(script, sizeof script,
             "SET geo.path '%s/none'; SET geo.db.x '%s'; SET geo.country '%s';\n"
             "a = LOAD '%s/ips.txt' USING lines() AS (ip:chararray);\n"
             "b = FOREACH a GENERATE MMDB('x', ip), MMDB('x', ip, 'country', 'iso_code'), MMDB('x', ip, 'a', 0, 'b');\n"
             "DUMP b;\n"
             "c = ENRICH a BY ip WITH (fields = (country, country_name, lat));\n"
             "DUMP c;\n",
             dir, db, db, dir);
    dql_session_exec(s, "fuzz", script, 0);
    dql_session_free(s);
    fclose(null);
    return 0;
}
