/* fuzz_zone.c — libFuzzer target for the zone scanner and rdata codec
 * (zone_scan.c, zone_rdata.c): the input is scanned as a master file (no
 * $INCLUDE), and every record is rendered to text and to fields, then the
 * text is scanned again. Seeds: the zone files in ../shared/data/zones. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dql.h"
#include "zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    return 0;
}
