/* test_dns_msg.c — unit test of the DNS message codec (src/dns_msg.c):
 * query building and parsing back, name decompression (pointers, loops,
 * forward pointers, overlong names, truncation), rdata name expansion,
 * EDNS, the record iterator and text-to-wire names.
 *
 * Prints only "N passed, M failed" (and a message per failure on stderr);
 * exits non-zero on failure. */
#include "../../src/dns_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int npass, nfail;

#define CHECK(cond, ...) do { \
        if (cond) npass++; \
        else { nfail++; fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__); \
               fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } \
    } while (0)

static dql_dns_rr rr;

/* A message builder for the tests. */
typedef struct mb { uint8_t p[4096]; size_t n; } mb;
static void put(mb *m, const void *d, size_t n) { memcpy(m->p + m->n, d, n); m->n += n; }
static void u8(mb *m, unsigned v) { m->p[m->n++] = (uint8_t)v; }
static void u16(mb *m, unsigned v) { u8(m, v >> 8); u8(m, v & 0xff); }
static void u32(mb *m, uint32_t v) { u16(m, v >> 16); u16(m, v & 0xffff); }
static void hdr(mb *m, unsigned id, unsigned flags, unsigned qd, unsigned an, unsigned ns, unsigned ar)
{
    m->n = 0;
    u16(m, id); u16(m, flags); u16(m, qd); u16(m, an); u16(m, ns); u16(m, ar);
}
static void name(mb *m, const char *text)
{
    uint8_t w[255];
    const char *why;
    size_t n = dql_dns_name_from_text(text, strlen(text), w, &why);
    put(m, w, n);
}

static void test_names(void)
{
    uint8_t w[255];
    const char *why = NULL;
    size_t n = dql_dns_name_from_text("www.Example.com", 15, w, &why);
    CHECK(n == 17 && !memcmp(w, "\3www\7Example\3com\0", 17), "www.Example.com -> %zu", n);
    CHECK(dql_dns_name_from_text("a.b.", 4, w, &why) == 5, "trailing dot");
    CHECK(dql_dns_name_from_text(".", 1, w, &why) == 1 && w[0] == 0, "root");
    CHECK(dql_dns_name_from_text("a..b", 4, w, &why) == 0 && !strcmp(why, "empty label"), "empty label");
    CHECK(dql_dns_name_from_text(".a", 2, w, &why) == 0, "leading dot");
    char lab[70];
    memset(lab, 'x', 64);
    CHECK(dql_dns_name_from_text(lab, 63, w, &why) == 65, "63-octet label");
    CHECK(dql_dns_name_from_text(lab, 64, w, &why) == 0 && strstr(why, "63"), "64-octet label");
    char longn[300];
    size_t k = 0;
    for (int i = 0; i < 64; i++) { memcpy(longn + k, "abc.", 4); k += 4; }   /* 64 labels: 256 + 1 octets */
    CHECK(dql_dns_name_from_text(longn, k - 1, w, &why) == 0 && strstr(why, "255"), "name over 255");
    CHECK(dql_dns_name_from_text(longn, 63 * 4 - 1, w, &why) == 253, "253-octet name: %zu", dql_dns_name_from_text(longn, 63 * 4 - 1, w, &why));
    CHECK(dql_dns_name_from_text("a\\.b.c", 6, w, &why) == 7 && w[0] == 3 && w[2] == '.', "escaped dot");
    CHECK(dql_dns_name_from_text("a\\065", 5, w, &why) == 4 && w[2] == 'A', "\\DDD");
    CHECK(dql_dns_name_from_text("a\\2", 3, w, &why) == 0, "bad \\DDD");
    CHECK(dql_dns_name_equal((const uint8_t *)"\1A\0", 3, (const uint8_t *)"\1a\0", 3), "case-insensitive");
    CHECK(!dql_dns_name_equal((const uint8_t *)"\1A\0", 3, (const uint8_t *)"\1b\0", 3), "different");
    CHECK(dql_dns_name_labels((const uint8_t *)"\1a\2bc\0", 6) == 2, "labels");
}

static void test_query_roundtrip(void)
{
    uint8_t q[512], w[255];
    const char *why;
    size_t wl = dql_dns_name_from_text("example.org", 11, w, &why);
    size_t n = dql_dns_query_build(q, sizeof q, 0x1234, DQL_DNS_F_RD, w, wl, 28, 1232, true);
    CHECK(n == 12 + wl + 4 + 11, "query length %zu", n);
    dql_dns_msg m;
    CHECK(dql_dns_msg_parse(q, n, &m) == DQL_DNS_OK, "parse own query");
    CHECK(m.h.id == 0x1234 && (m.h.flags & DQL_DNS_F_RD) && m.h.qdcount == 1 && m.h.arcount == 1, "header");
    CHECK(m.qtype == 28 && m.qclass == 1 && m.qname_len == wl && !memcmp(m.qname, w, wl), "question");
    CHECK(m.edns && m.edns_udp == 1232 && m.edns_do && m.edns_version == 0, "edns");
    CHECK(dql_dns_query_build(q, 20, 1, 0, w, wl, 1, 0, false) == 0, "too small a buffer");
    n = dql_dns_query_build(q, sizeof q, 7, 0, w, wl, 1, 0, false);
    CHECK(dql_dns_msg_parse(q, n, &m) == DQL_DNS_OK && !m.edns && m.h.arcount == 0, "no edns");
}

/* A reply with compression: question example.com A, answer a CNAME
 * www.example.com -> example.com (pointers), an A, an MX in authority
 * with a compressed exchange, and an OPT with an extended rcode. */
static void test_reply(void)
{
    mb m;
    hdr(&m, 42, 0x8180 | 3, 1, 2, 1, 1);
    size_t qoff = m.n;
    name(&m, "example.com");
    u16(&m, 1); u16(&m, 1);
    /* www.example.com CNAME example.com */
    u8(&m, 3); put(&m, "www", 3); u16(&m, 0xc000 | qoff);
    u16(&m, 5); u16(&m, 1); u32(&m, 300); u16(&m, 2); u16(&m, 0xc000 | qoff);
    /* example.com A 192.0.2.1 */
    u16(&m, 0xc000 | qoff);
    u16(&m, 1); u16(&m, 1); u32(&m, 60); u16(&m, 4); put(&m, "\xc0\x00\x02\x01", 4);
    /* example.com MX 10 mail.example.com */
    u16(&m, 0xc000 | qoff);
    u16(&m, 15); u16(&m, 1); u32(&m, 3600); u16(&m, 2 + 5 + 2); u16(&m, 10); u8(&m, 4); put(&m, "mail", 4); u16(&m, 0xc000 | qoff);
    /* OPT: udp 4096, ext rcode 1 (BADVERS with rcode 0 would be 16) */
    u8(&m, 0); u16(&m, 41); u16(&m, 4096); u32(&m, 0x01000000); u16(&m, 0);
    dql_dns_msg msg;
    CHECK(dql_dns_msg_parse(m.p, m.n, &msg) == DQL_DNS_OK, "parse reply");
    CHECK(msg.edns && msg.edns_udp == 4096 && msg.rcode == (3 | 1 << 4), "extended rcode %d", msg.rcode);
    dql_dns_iter it;
    dql_dns_iter_init(&it, &msg);
    dql_dns_err e;
    int k = 0;
    while (dql_dns_iter_next(&it, &rr, &e) == 1) {
        k++;
        if (k == 1) {
            CHECK(rr.section == DQL_DNS_SEC_ANSWER && rr.type == 5 && rr.ttl == 300, "cname record");
            CHECK(rr.owner_len == 17 && !memcmp(rr.owner, "\3www\7example\3com\0", 17), "owner decompressed");
            CHECK(rr.rdlen == 13 && !memcmp(rr.rdata, "\7example\3com\0", 13), "cname target decompressed");
        } else if (k == 2) {
            CHECK(rr.type == 1 && rr.rdlen == 4 && rr.rdata == rr.raw, "A record, rdata in place");
        } else if (k == 3) {
            CHECK(rr.section == DQL_DNS_SEC_AUTHORITY && rr.type == 15, "mx in authority");
            CHECK(rr.rdlen == 2 + 18 && !memcmp(rr.rdata + 2, "\4mail\7example\3com\0", 18), "mx exchange decompressed");
        } else if (k == 4) {
            CHECK(rr.section == DQL_DNS_SEC_ADDITIONAL && rr.type == 41, "opt last");
        }
    }
    CHECK(k == 4, "4 records, got %d", k);
    char nb[16];
    CHECK(!strcmp(dql_dns_rcode_name(3, nb), "NXDOMAIN") && !strcmp(dql_dns_rcode_name(30, nb), "RCODE30"), "rcode names");
}

static void test_malformed(void)
{
    mb m;
    dql_dns_msg msg;
    uint8_t dst[255];
    size_t dl;
    dql_dns_err e;
    CHECK(dql_dns_msg_parse((const uint8_t *)"\0\1\2", 3, &msg) == DQL_DNS_E_SHORT, "short header");
    /* a pointer to itself */
    hdr(&m, 1, 0x8000, 1, 0, 0, 0);
    u16(&m, 0xc000 | 12); u16(&m, 1); u16(&m, 1);
    CHECK(dql_dns_msg_parse(m.p, m.n, &msg) == DQL_DNS_E_LOOP, "self pointer");
    /* a forward pointer (could loop with a backward one) */
    hdr(&m, 1, 0x8000, 1, 0, 0, 0);
    u16(&m, 0xc000 | 14); u8(&m, 1); u8(&m, 'a'); u16(&m, 0xc000 | 12); u16(&m, 1); u16(&m, 1);
    CHECK(dql_dns_msg_parse(m.p, m.n, &msg) != DQL_DNS_OK, "forward pointer rejected");
    /* a two-pointer loop via backward jumps is impossible; a chain of 200 pointers is cut */
    m.n = 0;
    for (int i = 0; i < 12; i++) u8(&m, 0);
    u8(&m, 1); u8(&m, 'a'); u8(&m, 0);                 /* at 12: "a." */
    for (int i = 0; i < 200; i++) u16(&m, 0xc000 | (i == 0 ? 12 : 15 + 2 * (i - 1)));
    CHECK(dql_dns_name_unpack(m.p, m.n, m.n - 2, dst, &dl, &e) == 0 && e == DQL_DNS_E_LOOP, "pointer chain bounded");
    CHECK(dql_dns_name_unpack(m.p, m.n, 15, dst, &dl, &e) == 17 && dl == 3, "one pointer ok");
    /* a name running past the end */
    hdr(&m, 1, 0x8000, 1, 0, 0, 0);
    u8(&m, 10); put(&m, "abc", 3);
    CHECK(dql_dns_msg_parse(m.p, m.n, &msg) == DQL_DNS_E_SHORT, "label past the end");
    /* an extended label type */
    hdr(&m, 1, 0x8000, 1, 0, 0, 0);
    u8(&m, 0x41); u8(&m, 0);
    CHECK(dql_dns_msg_parse(m.p, m.n, &msg) == DQL_DNS_E_NAME, "label type 01");
    /* a name over 255 octets made of pointers to a long name */
    m.n = 0;
    for (int i = 0; i < 12; i++) u8(&m, 0);
    for (int i = 0; i < 4; i++) { u8(&m, 63); for (int j = 0; j < 63; j++) u8(&m, 'x'); }
    u8(&m, 0);
    CHECK(dql_dns_name_unpack(m.p, m.n, 12, dst, &dl, &e) == 0 && e == DQL_DNS_E_NAME, "256-octet name");
    /* rdata shorter than its record says */
    hdr(&m, 1, 0x8000, 0, 1, 0, 0);
    u8(&m, 0); u16(&m, 1); u16(&m, 1); u32(&m, 1); u16(&m, 10); put(&m, "\1\2\3\4", 4);
    CHECK(dql_dns_msg_parse(m.p, m.n, &msg) == DQL_DNS_E_SHORT, "rdlen past the end");
    /* a CNAME whose name runs past its rdata */
    hdr(&m, 1, 0x8000, 0, 1, 0, 0);
    u8(&m, 0); u16(&m, 5); u16(&m, 1); u32(&m, 1); u16(&m, 3); u8(&m, 3); put(&m, "abc", 3); u8(&m, 0);
    CHECK(dql_dns_msg_parse(m.p, m.n, &msg) == DQL_DNS_OK, "record walk ok");
    dql_dns_iter it;
    dql_dns_iter_init(&it, &msg);
    CHECK(dql_dns_iter_next(&it, &rr, &e) == -1 && e == DQL_DNS_E_RDATA, "name overruns rdata");
    /* two OPT records */
    hdr(&m, 1, 0x8000, 0, 0, 0, 2);
    for (int i = 0; i < 2; i++) { u8(&m, 0); u16(&m, 41); u16(&m, 512); u32(&m, 0); u16(&m, 0); }
    CHECK(dql_dns_msg_parse(m.p, m.n, &msg) == DQL_DNS_E_EDNS, "two OPTs");
    /* counts larger than the message */
    hdr(&m, 1, 0x8000, 0, 5, 0, 0);
    CHECK(dql_dns_msg_parse(m.p, m.n, &msg) == DQL_DNS_E_SHORT, "ancount past the end");
    CHECK(strcmp(dql_dns_strerror(DQL_DNS_E_LOOP), "compression pointer loop") == 0, "strerror");
}

static void test_rdata(void)
{
    /* SOA with both names compressed to the owner at 12 */
    mb m;
    hdr(&m, 1, 0x8000, 0, 1, 0, 0);
    name(&m, "org");                         /* owner at 12 */
    u16(&m, 6); u16(&m, 1); u32(&m, 1);
    size_t rdl_at = m.n;
    u16(&m, 0);
    size_t start = m.n;
    u8(&m, 2); put(&m, "ns", 2); u16(&m, 0xc000 | 12);
    u16(&m, 0xc000 | 12);
    for (int i = 0; i < 5; i++) u32(&m, (uint32_t)i + 1);
    m.p[rdl_at] = (uint8_t)((m.n - start) >> 8);
    m.p[rdl_at + 1] = (uint8_t)(m.n - start);
    static uint8_t out[DQL_DNS_RDATA_BUF];
    long n = dql_dns_rdata_unpack(m.p, m.n, start, m.n - start, 6, out);
    CHECK(n == 8 + 5 + 20 && !memcmp(out, "\2ns\3org\0\3org\0", 13) && out[13 + 19] == 5, "soa expanded (%ld)", n);
    CHECK(dql_dns_rdata_has_names(15) && !dql_dns_rdata_has_names(16) && !dql_dns_rdata_has_names(1), "has_names");
    /* SRV target */
    hdr(&m, 1, 0x8000, 0, 0, 0, 0);
    name(&m, "x.org");
    start = m.n;
    u16(&m, 1); u16(&m, 2); u16(&m, 443); u16(&m, 0xc000 | 12);
    n = dql_dns_rdata_unpack(m.p, m.n, start, m.n - start, 33, out);
    CHECK(n == 6 + 7 && !memcmp(out + 6, "\1x\3org\0", 7), "srv target expanded");
    /* NAPTR: strings then a name */
    hdr(&m, 1, 0x8000, 0, 0, 0, 0);
    start = m.n;
    u16(&m, 1); u16(&m, 2); u8(&m, 1); u8(&m, 'u'); u8(&m, 0); u8(&m, 0); u8(&m, 0);
    n = dql_dns_rdata_unpack(m.p, m.n, start, m.n - start, 35, out);
    CHECK(n == 4 + 2 + 1 + 1 + 1, "naptr (%ld)", n);
    /* a short MX */
    n = dql_dns_rdata_unpack((const uint8_t *)"\0", 1, 0, 1, 15, out);
    CHECK(n == -1, "short mx");
}

int main(void)
{
    test_names();
    test_query_roundtrip();
    test_reply();
    test_malformed();
    test_rdata();
    printf("%d passed, %d failed\n", npass, nfail);
    return nfail ? 1 : 0;
}
