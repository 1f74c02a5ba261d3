/* fuzz_zone.c — libFuzzer target for the zone scanner and rdata codec
 * (zone_scan.c, zone_rdata.c): the input is scanned as a master file (no
 * $INCLUDE), and every record is rendered to text and to fields, then the
 * text is scanned again. Then the input is scanned again in 2 to 5 shards
 * (dql_zone_opts.sharded, as a sharded run reads it), with exact and with
 * speculative starts (zone_shards.h), with the zone-level checks and
 * without: the shards together must give the same records and the same
 * errors, in the same order, as one scan. Seeds: the zone files in
 * ../shared/data/zones. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dql.h"
#include "zone.h"
#include "zone_shards.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The shards of a sharded run together are the whole scan: exact starts,
 * and speculative ones (a small head and window so that short inputs jump;
 * a wrong guess is scanned again, as a sharded run does); with the
 * zone-level checks on (as the loader scans) and off. */
static void check_shards(const uint8_t *data, size_t size, bool checks)
{
    enum { CAP = 4096 };
    static uint64_t whole[CAP], part[CAP];
    dql_zone_opts o = { 0 };
    o.origin = "example.";
    o.default_ttl = 3600;
    o.no_include = true;
    o.checks = checks;
    size_t n = zs_scan(data, size, &o, whole, CAP, NULL);
    if (n >= CAP)
        return;
    int k = 2 + (size ? data[size - 1] % 4 : 0);
    uint32_t head = 1 + (size > 1 ? data[size - 2] % 64 : 0), window = 1 + (size > 2 ? data[size - 3] % 128 : 0);
    int held, redone;
    for (int spec = 0; spec < 2; spec++) {
        size_t m = zs_sharded(data, size, &o, k, spec ? head : 0, window, part, CAP, &held, &redone);
        if (m == (size_t)-1)
            return;
        if (m != n || memcmp(whole, part, n * sizeof *whole) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dql_zone_opts o = { 0 };
    o.origin = "example.";
    o.default_ttl = 3600;
    o.no_include = true;
    dql_zone_scanner *sc = dql_zone_open_mem("fuzz", data, size, &o);
    if (!sc)
        return 0;
    dql_buf txt = {0}, ftxt = {0};
    dql_zone_field f[64];
    dql_zone_rr rr;
    for (int i = 0; i < 100000; i++) {
        dql_zone_res r = dql_zone_next(sc, &rr);
        if (r == DQL_ZONE_EOF)
            break;
        if (r != DQL_ZONE_RR) {
            (void)dql_zone_errmsg(sc);
            continue;
        }
        txt.len = 0;
        ftxt.len = 0;
        dql_zone_name_text(&txt, rr.owner, rr.owner_len, true, true);
        txt.len = 0;
        dql_buf_puts(&txt, "@ ");
        dql_zone_type_text(&txt, rr.type);
        dql_buf_putc(&txt, ' ');
        dql_zone_rdata_text(&txt, rr.type, rr.rdata, rr.rdlen);
        dql_buf_putc(&txt, '\n');
        dql_zone_rdata_fields(rr.type, rr.rdata, rr.rdlen, f, 64, &ftxt);
        dql_zone_extract x;
        dql_zone_rdata_extract(rr.type, rr.rdata, rr.rdlen, &x);
        /* the rendered text must scan again */
        dql_zone_scanner *s2 = dql_zone_open_mem("again", txt.p, txt.len, &o);
        dql_zone_rr r2;
        if (s2 && dql_zone_next(s2, &r2) != DQL_ZONE_RR)
            abort();
        dql_zone_close(s2);
    }
    dql_buf_free(&txt);
    dql_buf_free(&ftxt);
    dql_zone_close(sc);
    check_shards(data, size, true);
    check_shards(data, size, false);
    return 0;
}
