/* render_records.h — for fuzz_dns_msg and fuzz_pcap: walks every record of a
 * parsed DNS message (names and rdata decompressed) and renders it with the
 * zone codec, as RESOLVE and LOAD ... USING pcap() do. The includer has
 * included dql.h, zone.h and dns_msg.h. */
#ifndef DQL_TESTS_RENDER_RECORDS_H
#define DQL_TESTS_RENDER_RECORDS_H

static void render_records(const dql_dns_msg *m)
{
    static dql_dns_rr rr;
    dql_dns_iter it;
    dql_dns_iter_init(&it, m);
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

#endif
