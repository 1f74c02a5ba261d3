/* test_pcap.c — unit tests of the packet decoder (pcap_decode.c) on frames
 * built here, for the cases the shipped captures do not cover: QinQ, Linux
 * SLL, BSD loopback, raw IPv4/IPv6 link types, IPv6 extension headers,
 * IPv4 and IPv6 fragments out of order, TCP messages split over segments,
 * several messages in one segment, retransmissions, out-of-order segments,
 * a lost segment, snaplen-cut frames, ports, and bounded state (many flows
 * and fragment trains left open).
 * Prints only "N passed, M failed" (and failures); exits non-zero on failure. */
#include "../../src/pcap.h"
#include "../../src/dql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int npass, nfail;

#define CHECK(cond, ...) do { if (cond) npass++; else { nfail++; \
    fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); \
    fputc('\n', stderr); } } while (0)

/* A DNS query for "a.example" type A with the given id (27 octets). */
static size_t dns_query(uint8_t *p, uint16_t id)
{
    static const uint8_t q[] = { 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0,
                                 1, 'a', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1 };
    memcpy(p, q, sizeof q);
    p[0] = (uint8_t)(id >> 8);
    p[1] = (uint8_t)id;
    return sizeof q;
}

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v & 0xffff); }

/* IPv4 header (20) at p for a payload of n octets. */
static size_t ip4(uint8_t *p, uint8_t proto, size_t n, uint16_t id, uint16_t frag)
{
    memset(p, 0, 20);
    p[0] = 0x45;
    put16(p + 2, (unsigned)(20 + n));
    put16(p + 4, id);
    put16(p + 6, frag);
    p[8] = 64;
    p[9] = proto;
    p[12] = 10; p[15] = 1;
    p[16] = 10; p[19] = 2;
    return 20;
}

static size_t ip6(uint8_t *p, uint8_t nh, size_t n)
{
    memset(p, 0, 40);
    p[0] = 0x60;
    put16(p + 4, (unsigned)n);
    p[6] = nh;
    p[7] = 33;
    p[8] = 0x20; p[9] = 0x01; p[23] = 1;
    p[24] = 0x20; p[25] = 0x01; p[39] = 2;
    return 40;
}

static size_t udp(uint8_t *p, uint16_t sp, uint16_t dp, size_t n)
{
    put16(p, sp);
    put16(p + 2, dp);
    put16(p + 4, (unsigned)(8 + n));
    put16(p + 6, 0);
    return 8;
}

static size_t tcp(uint8_t *p, uint16_t sp, uint16_t dp, uint32_t seq, uint8_t flags)
{
    memset(p, 0, 20);
    put16(p, sp);
    put16(p + 2, dp);
    put32(p + 4, seq);
    p[12] = 5 << 4;
    p[13] = flags;
    return 20;
}

typedef struct got { int n, nerr; uint16_t ids[64]; const char *err; int vlan; int ttl; int af; uint32_t size; } got;

static void feed(dql_pcap_dec *d, int lt, const uint8_t *p, size_t n, size_t wire, got *g)
{
    dql_pcap_pkt pk = { .ts_ns = 1000000000LL, .caplen = (uint32_t)n, .origlen = (uint32_t)wire, .data = p, .linktype = lt };
    dql_pcap_dec_packet(d, &pk);
    dql_pcap_msg m;
    while (dql_pcap_dec_msg(d, &m)) {
        if (m.error) { g->nerr++; g->err = m.error; }
        if (m.dns && m.len >= 2 && !m.error && g->n < 64) g->ids[g->n++] = (uint16_t)(m.dns[0] << 8 | m.dns[1]);
        g->vlan = m.vlan;
        g->ttl = m.ip_ttl;
        g->af = m.af;
        g->size = m.size;
    }
}

static void finish(dql_pcap_dec *d, got *g)
{
    dql_pcap_dec_finish(d);
    dql_pcap_msg m;
    while (dql_pcap_dec_msg(d, &m)) {
        if (m.error) { g->nerr++; g->err = m.error; }
        if (m.dns && m.len >= 2 && !m.error && g->n < 64) g->ids[g->n++] = (uint16_t)(m.dns[0] << 8 | m.dns[1]);
    }
}

/* A UDP/IPv4 query frame under the given link header; returns its length. */
static size_t udp4_frame(uint8_t *f, const uint8_t *link, size_t ll, uint16_t id)
{
    if (ll) memcpy(f, link, ll);
    uint8_t dns[64];
    size_t n = dns_query(dns, id);
    size_t o = ll;
    o += ip4(f + o, 17, 8 + n, 1, 0);
    o += udp(f + o, 40000, 53, n);
    memcpy(f + o, dns, n);
    return o + n;
}

static void test_links(void)
{
    uint8_t f[2048];
    got g;
    dql_pcap_dec *d = dql_pcap_dec_new(NULL);
    /* QinQ: 88a8 outer, 8100 inner (id 7); the innermost id is reported */
    uint8_t qinq[] = { 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, 0x88, 0xa8, 0, 100, 0x81, 0x00, 0, 7, 0x08, 0x00 };
    memset(&g, 0, sizeof g);
    size_t n = udp4_frame(f, qinq, sizeof qinq, 0x1111);
    feed(d, 1, f, n, n, &g);
    CHECK(g.n == 1 && g.ids[0] == 0x1111 && g.vlan == 7 && g.ttl == 64, "QinQ: n=%d vlan=%d", g.n, g.vlan);
    /* Linux SLL: protocol at offset 14 */
    uint8_t sll[16] = { 0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00 };
    memset(&g, 0, sizeof g);
    n = udp4_frame(f, sll, sizeof sll, 0x2222);
    feed(d, 113, f, n, n, &g);
    CHECK(g.n == 1 && g.ids[0] == 0x2222 && g.vlan == -1, "SLL: n=%d", g.n);
    /* BSD loopback, AF_INET in host order */
    uint32_t af = 2;
    memset(&g, 0, sizeof g);
    n = udp4_frame(f, (const uint8_t *)&af, 4, 0x3333);
    feed(d, 0, f, n, n, &g);
    CHECK(g.n == 1 && g.ids[0] == 0x3333, "NULL: n=%d", g.n);
    /* raw IPv4 (101 and 228) */
    memset(&g, 0, sizeof g);
    n = udp4_frame(f, NULL, 0, 0x4444);
    feed(d, 101, f, n, n, &g);
    feed(d, 228, f, n, n, &g);
    CHECK(g.n == 2 && g.ids[1] == 0x4444, "raw: n=%d", g.n);
    /* raw IPv6 (229) with a hop-by-hop and a destination-options header */
    uint8_t dns[64];
    size_t dn = dns_query(dns, 0x5555);
    size_t o = ip6(f, 0, 8 + 8 + 8 + dn);
    memset(f + o, 0, 8); f[o] = 60; o += 8;          /* hop-by-hop -> dstopts */
    memset(f + o, 0, 8); f[o] = 17; o += 8;          /* dstopts -> UDP */
    o += udp(f + o, 53, 40000, dn);
    memcpy(f + o, dns, dn);
    o += dn;
    memset(&g, 0, sizeof g);
    feed(d, 229, f, o, o, &g);
    CHECK(g.n == 1 && g.ids[0] == 0x5555 && g.af == 6 && g.ttl == 33, "IPv6 ext: n=%d af=%d", g.n, g.af);
    /* an unknown link type and a non-DNS port: nothing */
    memset(&g, 0, sizeof g);
    n = udp4_frame(f, NULL, 0, 0x6666);
    feed(d, 147, f, n, n, &g);
    f[20 + 3] = 54;                                   /* dport 54 */
    feed(d, 101, f, n, n, &g);
    CHECK(g.n == 0 && g.nerr == 0, "unknown link / other port: n=%d", g.n);
    /* Ethernet padding after the IP datagram is not part of the message */
    memset(&g, 0, sizeof g);
    uint8_t eth[14] = { 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, 0x08, 0x00 };
    n = udp4_frame(f, eth, sizeof eth, 0x7777);
    memset(f + n, 0, 20);
    feed(d, 1, f, n + 20, n + 20, &g);
    CHECK(g.n == 1 && g.size == 27 && g.nerr == 0, "padding: size=%u", g.size);
    /* snaplen: the frame was 30 octets longer on the wire */
    memset(&g, 0, sizeof g);
    n = udp4_frame(f, eth, sizeof eth, 0x8888);
    put16(f + 14 + 2, (unsigned)(20 + 8 + 27 + 30));
    put16(f + 14 + 20 + 4, (unsigned)(8 + 27 + 30));
    feed(d, 1, f, n, n + 30, &g);
    CHECK(g.nerr == 1 && g.err && strstr(g.err, "snaplen") && g.size == 57, "snaplen: err=%s size=%u",
          g.err ? g.err : "-", g.size);
    dql_pcap_dec_free(d);
}

static void test_frags(void)
{
    uint8_t dg[1200], f[1600];
    size_t dn = 8 + 1000;
    /* a UDP datagram of 1008 octets: header + a query + padding */
    udp(dg, 53, 40000, 1000);
    memset(dg + 8, 0, 1000);
    dns_query(dg + 8, 0xabcd);
    got g;
    memset(&g, 0, sizeof g);
    dql_pcap_dec *d = dql_pcap_dec_new(NULL);
    /* IPv4: three fragments sent last first */
    size_t cuts[4] = { 0, 400, 800, dn };
    for (int k = 2; k >= 0; k--) {
        size_t len = cuts[k + 1] - cuts[k];
        uint16_t fo = (uint16_t)(cuts[k] / 8) | (k < 2 ? 0x2000 : 0);
        size_t o = ip4(f, 17, len, 99, fo);
        memcpy(f + o, dg + cuts[k], len);
        feed(d, 101, f, o + len, o + len, &g);
        CHECK(g.n == (k == 0 ? 1 : 0), "v4 fragment %d: n=%d", k, g.n);
    }
    CHECK(g.ids[0] == 0xabcd && g.size == 1000, "v4 reassembled: id=%x size=%u", g.ids[0], g.size);
    /* IPv6: two fragments in order, with a duplicate of the first */
    memset(&g, 0, sizeof g);
    for (int k = 0; k < 3; k++) {
        int part = k == 2 ? 1 : 0;
        size_t off = part ? 504 : 0, len = part ? dn - 504 : 504;
        size_t o = ip6(f, 44, 8 + len);
        f[o] = 17; f[o + 1] = 0;
        put16(f + o + 2, (unsigned)(off | (part ? 0 : 1)));
        put32(f + o + 4, 4242);
        o += 8;
        memcpy(f + o, dg + off, len);
        feed(d, 229, f, o + len, o + len, &g);
    }
    CHECK(g.n == 1 && g.ids[0] == 0xabcd && g.af == 6, "v6 reassembled: n=%d", g.n);
    /* many trains left open: bounded, nothing emitted */
    memset(&g, 0, sizeof g);
    for (int i = 0; i < 5000; i++) {
        size_t o = ip4(f, 17, 400, (uint16_t)i, 0x2000);
        memcpy(f + o, dg, 400);
        feed(d, 101, f, o + 400, o + 400, &g);
    }
    CHECK(g.n == 0 && dql_pcap_dec_stats_get(d)->frag_timeouts >= 5000 - 1024, "open trains: evicted %llu",
          (unsigned long long)dql_pcap_dec_stats_get(d)->frag_timeouts);
    dql_pcap_dec_free(d);
}

/* A TCP/IPv4 segment with payload pl (n octets). */
static size_t tcp4(uint8_t *f, uint16_t sp, uint32_t seq, uint8_t flags, const uint8_t *pl, size_t n)
{
    size_t o = ip4(f, 6, 20 + n, 1, 0);
    o += tcp(f + o, sp, 53, seq, flags);
    if (n) memcpy(f + o, pl, n);
    return o + n;
}

static void test_tcp(void)
{
    uint8_t st[4096], f[4096];
    /* a stream of 5 length-prefixed queries */
    size_t sl = 0;
    for (int i = 0; i < 5; i++) {
        size_t n = dns_query(st + sl + 2, (uint16_t)(0x100 + i));
        put16(st + sl, (unsigned)n);
        sl += 2 + n;
    }
    got g;
    dql_pcap_dec *d = dql_pcap_dec_new(NULL);
    /* SYN, then the stream in odd pieces: 1, 30, 60 (two messages and a bit), rest */
    memset(&g, 0, sizeof g);
    uint32_t isn = 1000;
    feed(d, 101, f, tcp4(f, 1111, isn, 0x02, NULL, 0), 40, &g);
    size_t cut[] = { 0, 1, 31, 91, sl };
    for (int k = 0; k < 4; k++) {
        size_t n = tcp4(f, 1111, isn + 1 + (uint32_t)cut[k], 0x18, st + cut[k], cut[k + 1] - cut[k]);
        feed(d, 101, f, n, n, &g);
        if (k == 1) {   /* a retransmission of the second piece */
            feed(d, 101, f, n, n, &g);
        }
    }
    feed(d, 101, f, tcp4(f, 1111, isn + 1 + (uint32_t)sl, 0x11, NULL, 0), 40, &g);
    CHECK(g.n == 5 && g.nerr == 0 && g.ids[0] == 0x100 && g.ids[4] == 0x104, "split/pipelined: n=%d err=%d",
          g.n, g.nerr);
    /* out of order: third piece before the second */
    memset(&g, 0, sizeof g);
    isn = 5000;
    size_t c2[] = { 0, 29, 58, sl };
    int order[] = { 0, 2, 1 };
    for (int k = 0; k < 3; k++) {
        int j = order[k];
        size_t n = tcp4(f, 2222, isn + (uint32_t)c2[j], 0x18, st + c2[j], c2[j + 1] - c2[j]);
        feed(d, 101, f, n, n, &g);
    }
    finish(d, &g);
    CHECK(g.n == 5 && g.nerr == 0, "out of order (no SYN): n=%d err=%d", g.n, g.nerr);
    dql_pcap_dec_free(d);
    /* a lost segment: the message it cut is an error, the stream goes on */
    d = dql_pcap_dec_new(NULL);
    memset(&g, 0, sizeof g);
    isn = 9000;
    size_t c3[] = { 0, 29, 58, 87, sl };   /* one message per segment */
    for (int j = 0; j < 4; j++) {
        if (j == 1) continue;
        size_t n = tcp4(f, 3333, isn + (uint32_t)c3[j], 0x18, st + c3[j], c3[j + 1] - c3[j]);
        feed(d, 101, f, n, n, &g);
    }
    finish(d, &g);
    CHECK(g.n == 4 && g.nerr == 1 && g.err && strstr(g.err, "lost"), "lost segment: n=%d err=%d %s", g.n, g.nerr,
          g.err ? g.err : "-");
    dql_pcap_dec_free(d);
    /* two holes closed at the end of the stream, in one call: the messages cut
     * after the first hole must keep their bytes while the segment after the
     * second hole refills (and, being large, regrows) the flow buffer */
    {
        enum { NM = 240 };
        static uint8_t big[NM * 29], fb[8192];
        for (int i = 0; i < NM; i++) {
            put16(big + i * 29, 27);
            dns_query(big + i * 29 + 2, (uint16_t)(0x2000 + i));
        }
        d = dql_pcap_dec_new(NULL);
        isn = 20000;
        size_t seg[][2] = { { 0, 40 }, { 58, 184 }, { 232, NM * 29 } };   /* lost: [40,58) and [184,232) */
        for (int j = 0; j < 3; j++) {
            size_t n = tcp4(fb, 4444, isn + (uint32_t)seg[j][0], 0x18, big + seg[j][0], seg[j][1] - seg[j][0]);
            feed(d, 101, fb, n, n, &(got){ 0 });
        }
        dql_pcap_dec_finish(d);
        int whole = 0, errs = 0, bad = 0, want = 2;
        dql_pcap_msg m;
        while (dql_pcap_dec_msg(d, &m)) {
            if (m.error) { errs++; continue; }
            uint16_t id = (uint16_t)(m.dns[0] << 8 | m.dns[1]);
            if (want == 6) want = 8;
            if (id != 0x2000 + want || memcmp(m.dns + 2, big + 4, 25) != 0) bad++;
            want++;
            whole++;
        }
        CHECK(whole == 4 + (NM - 8) && errs == 2 && bad == 0, "two holes at the end: whole=%d err=%d bad=%d", whole,
              errs, bad);
        dql_pcap_dec_free(d);
    }
    /* many flows: bounded by max_flows, each half message reported when evicted */
    dql_pcap_dec_opts o = { .max_flows = 100 };
    d = dql_pcap_dec_new(&o);
    memset(&g, 0, sizeof g);
    for (int i = 0; i < 1000; i++) {
        size_t n = tcp4(f, (uint16_t)(10000 + i), 1, 0x18, st, 10);
        feed(d, 101, f, n, n, &g);
    }
    finish(d, &g);
    CHECK(g.n == 0 && g.nerr == 1000 && dql_pcap_dec_stats_get(d)->flows_evicted == 900, "flows: err=%d evicted=%llu",
          g.nerr, (unsigned long long)dql_pcap_dec_stats_get(d)->flows_evicted);
    dql_pcap_dec_free(d);
}

static void test_ports(void)
{
    uint8_t ports[8192] = { 0 };
    ports[5353 >> 3] |= (uint8_t)(1u << (5353 & 7));
    dql_pcap_dec_opts o = { .ports = ports };
    dql_pcap_dec *d = dql_pcap_dec_new(&o);
    uint8_t f[256];
    got g;
    memset(&g, 0, sizeof g);
    size_t n = udp4_frame(f, NULL, 0, 0x9999);
    feed(d, 101, f, n, n, &g);
    CHECK(g.n == 0, "port 53 not watched: n=%d", g.n);
    put16(f + 20 + 2, 5353);
    feed(d, 101, f, n, n, &g);
    CHECK(g.n == 1, "port 5353 watched: n=%d", g.n);
    dql_pcap_dec_free(d);
}

int main(void)
{
    test_links();
    test_frags();
    test_tcp();
    test_ports();
    printf("%d passed, %d failed\n", npass, nfail);
    return nfail ? 1 : 0;
}
