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
#include "render_records.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dql_dns_msg m;
    dql_dns_msg_parse(data, size, &m);
    if (m.rr_off)
        render_records(&m);
    /* the text-to-wire converter on the same bytes */
    uint8_t w[DQL_DNS_NAME_MAX];
    const char *why;
    size_t n = dql_dns_name_from_text((const char *)data, size, w, &why);
    if (n && dql_zone_name_len(w, n) != n) abort();
    return 0;
}
