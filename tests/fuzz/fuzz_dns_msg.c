/* fuzz_dns_msg.c — libFuzzer target for the DNS message decoder
 * (src/dns_msg.c): parse a message, walk every record with name and rdata
 * decompression, and render each record with the zone codec as RESOLVE
 * does. Must never crash, loop or read out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dql.h"
#include "zone.h"
#include "dns_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static dql_dns_rr rr;
    dql_dns_msg m;
    dql_dns_msg_parse(data, size, &m);
    if (m.rr_off) {
        dql_dns_iter it;
        dql_dns_iter_init(&it, &m);
        dql_dns_err e;
        dql_buf b = {0};
        while (dql_dns_iter_next(&it, &rr, &e) == 1) {
            b.len = 0;
            dql_zone_name_text(&b, rr.owner, rr.owner_len, true, true);
            dql_zone_rdata_text(&b, rr.type, rr.rdata, rr.rdlen);
            dql_zone_extract x;
            dql_zone_rdata_extract(rr.type, rr.rdata, rr.rdlen, &x);
        }
        dql_buf_free(&b);
    }
    /* the text-to-wire converter on the same bytes */
    uint8_t w[DQL_DNS_NAME_MAX];
    const char *why;
    size_t n = dql_dns_name_from_text((const char *)data, size, w, &why);
    if (n && dql_zone_name_len(w, n) != n) abort();
    return 0;
}
