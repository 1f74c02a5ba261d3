/* fuzz_zone.c — libFuzzer target for the zone scanner and rdata codec
 * (zone_scan.c, zone_rdata.c): the input is scanned as a master file (no
 * $INCLUDE), and every record is rendered to text and to fields, then the
 * text is scanned again. Then the input is scanned again in 2 to 5 shards
 * (dql_zone_opts.sharded, as a sharded run reads it): the shards together
 * must give the same records and the same errors, in the same order, as one
 * scan. Seeds: the zone files in ../shared/data/zones. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dql.h"
#include "zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A digest of what one scan (or one shard) yields, record by record. */
static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static size_t scan_digests(const uint8_t *data, size_t size, const dql_zone_opts *o, uint64_t *out, size_t cap)
{
    dql_zone_scanner *sc = dql_zone_open_mem("fuzz", data, size, o);
    if (!sc)
        return 0;
    size_t n = 0;
    dql_zone_rr rr;
    for (int i = 0; i < 100000 && n < cap; i++) {
        dql_zone_res r = dql_zone_next(sc, &rr);
        if (r == DQL_ZONE_EOF)
            break;
        uint64_t h = mix(0xcbf29ce484222325ull, &r, sizeof r);
        if (r == DQL_ZONE_RR) {
            h = mix(h, rr.owner, rr.owner_len);
            h = mix(h, &rr.type, sizeof rr.type);
            h = mix(h, &rr.rclass, sizeof rr.rclass);
            h = mix(h, &rr.ttl, sizeof rr.ttl);
            h = mix(h, rr.rdata, rr.rdlen);
            h = mix(h, &rr.line, sizeof rr.line);
        } else {
            const char *m = dql_zone_errmsg(sc);
            h = mix(h, m, strlen(m));
        }
        out[n++] = h;
        if (r == DQL_ZONE_FATAL)
            break;
    }
    dql_zone_close(sc);
    return n;
}

/* The shards of a sharded run together are the whole scan. */
static void check_shards(const uint8_t *data, size_t size)
{
    enum { CAP = 4096 };
    static uint64_t whole[CAP], part[CAP];
    dql_zone_opts o = { 0 };
    o.origin = "example.";
    o.default_ttl = 3600;
    o.no_include = true;
    size_t n = scan_digests(data, size, &o, whole, CAP);
    if (n >= CAP)
        return;
    int k = 2 + (size ? data[size - 1] % 4 : 0);
    size_t m = 0;
    for (int i = 0; i < k; i++) {
        o.sharded = true;
        o.shard_head = i == 0;
        o.shard_start = (uint64_t)size * (uint64_t)i / (uint64_t)k;
        o.shard_end = (uint64_t)size * (uint64_t)(i + 1) / (uint64_t)k;
        size_t got = scan_digests(data, size, &o, part + m, CAP - m);
        m += got;
        if (m >= CAP)
            return;
    }
    if (m != n || memcmp(whole, part, n * sizeof *whole) != 0)
        abort();
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
    check_shards(data, size);
    return 0;
}
