/* pcap_decode.c — the packet decoder of pcap.h: link layers, IPv4/IPv6,
 * fragment reassembly, UDP and TCP, down to DNS messages.
 *
 * Layers are parsed by hand from the captured bytes; every read is checked
 * against the captured length. A datagram cut short by the snaplen yields
 * its message with an error rather than a guess. Fragments are reassembled
 * per (addresses, id, protocol) in bounded buffers (at most max_frags
 * datagrams, 64 KB each, dropped after frag_timeout of capture time).
 * TCP streams on a DNS port are followed per direction: segments are put in
 * order (retransmissions and overlaps trimmed, a few out-of-order segments
 * kept), and the two-octet length prefix cuts the byte stream into
 * messages. A hole that cannot be filled is reported as a message with an
 * error, and the stream resynchronises on the next segment. Finished
 * buffers are freed only at the next call, so that the messages handed
 * out stay valid until then. A message cut out of a TCP stream is copied
 * out of the flow buffer at once (into the frame's arena): later segments
 * of the same frame may compact, grow or refill that buffer. */
#include "pcap.h"

#include <stdlib.h>
#include <string.h>

#include "dql.h"

#define FRAG_MAX_LEN 65535u
#define FRAG_MAX_PIECES 64
#define TCP_MAX_OOO 16                  /* out-of-order segments kept per flow */
#define TCP_MAX_OOO_BYTES (256u << 10)
#define TCP_BUF_MAX (2u * 65537u + 65536u)

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)((unsigned)p[0] << 8 | p[1]); }
static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* --------------------------------------------------------------- structures */

typedef struct frag {
    struct frag *hnext;
    uint64_t hash;
    uint8_t af, proto;
    uint8_t src[16], dst[16];
    uint32_t id;
    int64_t first_ts;
    int32_t vlan;
    int16_t ttl;
    int32_t total;                      /* -1 until the last fragment is seen */
    int npieces;
    struct { uint16_t off, len; } piece[FRAG_MAX_PIECES];
    uint8_t *data;                      /* FRAG_MAX_LEN */
} frag;

typedef struct seg { uint32_t seq, len; uint8_t *data; } seg;

typedef struct flow {
    struct flow *hnext;
    uint64_t hash;
    uint8_t af;
    uint8_t src[16], dst[16];
    uint16_t sport, dport;
    int32_t vlan;
    int16_t ttl;
    int64_t last_ts;
    bool have_seq, fin;
    uint32_t next_seq;
    uint8_t *buf;                       /* stream bytes not yet cut into messages */
    size_t start, len, cap;             /* valid bytes [start, start+len) */
    seg ooo[TCP_MAX_OOO];
    int nooo;
    size_t ooo_bytes;
} flow;

struct dql_pcap_dec {
    dql_pcap_dec_opts o;
    uint8_t ports53[8192];
    const uint8_t *ports;
    dql_pcap_dec_stats st;
    /* messages of the current frame */
    dql_pcap_msg *q;
    size_t *qoff;                       /* per message: its bytes in arena, or NO_OFF */
    int nq, capq, iq;
    dql_buf arena;                      /* TCP message bytes of the current frame */
    /* fragments */
    frag **fh;                          /* hash buckets */
    size_t fbuckets;
    int nfrags;
    frag *done_frag;                    /* freed at the next frame */
    /* TCP flows */
    flow **th;
    size_t tbuckets;
    int nflows;
    flow **dead;                        /* flows finished during this frame */
    int ndead, capdead;
    int64_t now, sweep_tick;            /* capture time; the second of the last sweep */
};

/* ------------------------------------------------------------------ helpers */

#define NO_OFF ((size_t)-1)

static inline bool port_on(const dql_pcap_dec *d, uint16_t p) { return (d->ports[p >> 3] >> (p & 7)) & 1; }

static uint64_t hmix(uint64_t h, const void *p, size_t n) { return dql_hash_bytes(p, n, h); }

/* A message with the addresses of a flow (meta), appended to the queue. */
static dql_pcap_msg *push(dql_pcap_dec *d, const dql_pcap_msg *meta)
{
    if (d->nq == d->capq) {
        d->capq = d->capq ? d->capq * 2 : 16;
        d->q = dql_xrealloc(d->q, (size_t)d->capq * sizeof *d->q);
        d->qoff = dql_xrealloc(d->qoff, (size_t)d->capq * sizeof *d->qoff);
    }
    d->qoff[d->nq] = NO_OFF;
    dql_pcap_msg *m = &d->q[d->nq++];
    *m = *meta;
    m->dns = NULL;
    m->len = m->size = 0;
    m->error = NULL;
    return m;
}

/* Gives the last message pushed a copy of n octets at p (its bytes are
 * resolved to the arena when the message is handed out: the arena may move
 * while the frame is decoded). */
static void push_copy(dql_pcap_dec *d, const uint8_t *p, uint32_t n)
{
    d->qoff[d->nq - 1] = d->arena.len;
    dql_buf_put(&d->arena, p, n);
}

/* ------------------------------------------------------------------ lifecycle */

dql_pcap_dec *dql_pcap_dec_new(const dql_pcap_dec_opts *o)
{
    dql_pcap_dec *d = dql_xcalloc(1, sizeof *d);
    if (o) d->o = *o;
    if (!d->o.frag_timeout_ns) d->o.frag_timeout_ns = 30LL * 1000000000;
    if (!d->o.tcp_timeout_ns) d->o.tcp_timeout_ns = 60LL * 1000000000;
    if (!d->o.max_frags) d->o.max_frags = 1024;
    if (!d->o.max_flows) d->o.max_flows = 65536;
    if (d->o.ports) d->ports = d->o.ports;
    else {
        d->ports53[53 >> 3] |= (uint8_t)(1u << (53 & 7));
        d->ports = d->ports53;
    }
    d->fbuckets = 1024;
    d->fh = dql_xcalloc(d->fbuckets, sizeof *d->fh);
    d->tbuckets = 4096;
    d->th = dql_xcalloc(d->tbuckets, sizeof *d->th);
    return d;
}

static void frag_free(frag *f)
{
    if (!f) return;
    free(f->data);
    free(f);
}

static void flow_free(flow *f)
{
    if (!f) return;
    for (int i = 0; i < f->nooo; i++) free(f->ooo[i].data);
    free(f->buf);
    free(f);
}

static void release_dead(dql_pcap_dec *d)
{
    frag_free(d->done_frag);
    d->done_frag = NULL;
    for (int i = 0; i < d->ndead; i++) flow_free(d->dead[i]);
    d->ndead = 0;
}

void dql_pcap_dec_free(dql_pcap_dec *d)
{
    if (!d) return;
    release_dead(d);
    for (size_t b = 0; b < d->fbuckets; b++)
        for (frag *f = d->fh[b], *n; f; f = n) { n = f->hnext; frag_free(f); }
    for (size_t b = 0; b < d->tbuckets; b++)
        for (flow *f = d->th[b], *n; f; f = n) { n = f->hnext; flow_free(f); }
    free(d->fh);
    free(d->th);
    free(d->dead);
    free(d->q);
    free(d->qoff);
    dql_buf_free(&d->arena);
    free(d);
}

bool dql_pcap_dec_msg(dql_pcap_dec *d, dql_pcap_msg *m)
{
    if (d->iq >= d->nq) return false;
    *m = d->q[d->iq];
    if (d->qoff[d->iq] != NO_OFF)
        m->dns = d->arena.p ? (const uint8_t *)d->arena.p + d->qoff[d->iq] : (const uint8_t *)"";
    d->iq++;
    return true;
}

const dql_pcap_dec_stats *dql_pcap_dec_stats_get(const dql_pcap_dec *d) { return &d->st; }

/* ------------------------------------------------------------------ fragments */

static void frag_unlink(dql_pcap_dec *d, frag *f)
{
    frag **pp = &d->fh[f->hash & (d->fbuckets - 1)];
    while (*pp && *pp != f) pp = &(*pp)->hnext;
    if (*pp) *pp = f->hnext;
    d->nfrags--;
}

/* Drops reassemblies older than the timeout (or the oldest one when full). */
static void frag_sweep(dql_pcap_dec *d, bool evict_one)
{
    frag *oldest = NULL;
    for (size_t b = 0; b < d->fbuckets; b++)
        for (frag *f = d->fh[b], *n; f; f = n) {
            n = f->hnext;
            if (d->now - f->first_ts > d->o.frag_timeout_ns) {
                frag_unlink(d, f);
                frag_free(f);
                d->st.frag_timeouts++;
            } else if (!oldest || f->first_ts < oldest->first_ts) oldest = f;
        }
    if (evict_one && d->nfrags >= d->o.max_frags && oldest) {
        frag_unlink(d, oldest);
        frag_free(oldest);
        d->st.frag_timeouts++;
    }
}

/* Adds a fragment; returns the whole datagram payload (the L4 header first)
 * when it is complete, else NULL. */
static const uint8_t *frag_add(dql_pcap_dec *d, const dql_pcap_msg *meta, uint8_t proto, uint32_t id,
                               uint32_t off, const uint8_t *p, uint32_t len, bool more, uint32_t *outlen)
{
    d->st.fragments++;
    if (off + len > FRAG_MAX_LEN) return NULL;
    int alen = meta->af == 4 ? 4 : 16;
    uint64_t h = hmix(hmix(hmix((uint64_t)proto << 8 | meta->af, meta->src, (size_t)alen), meta->dst, (size_t)alen), &id, 4);
    frag *f = d->fh[h & (d->fbuckets - 1)];
    for (; f; f = f->hnext)
        if (f->hash == h && f->af == meta->af && f->proto == proto && f->id == id &&
            !memcmp(f->src, meta->src, (size_t)alen) && !memcmp(f->dst, meta->dst, (size_t)alen))
            break;
    if (!f) {
        if (d->nfrags >= d->o.max_frags) frag_sweep(d, true);
        f = dql_xcalloc(1, sizeof *f);
        f->hash = h;
        f->af = meta->af;
        f->proto = proto;
        memcpy(f->src, meta->src, 16);
        memcpy(f->dst, meta->dst, 16);
        f->id = id;
        f->first_ts = d->now;
        f->total = -1;
        f->vlan = meta->vlan;
        f->ttl = meta->ip_ttl;
        f->data = dql_xmalloc(FRAG_MAX_LEN);
        f->hnext = d->fh[h & (d->fbuckets - 1)];
        d->fh[h & (d->fbuckets - 1)] = f;
        d->nfrags++;
    }
    if (f->npieces >= FRAG_MAX_PIECES) return NULL;
    if (off == 0) f->ttl = meta->ip_ttl;
    memcpy(f->data + off, p, len);
    f->piece[f->npieces].off = (uint16_t)off;
    f->piece[f->npieces].len = (uint16_t)len;
    f->npieces++;
    if (!more) f->total = (int32_t)(off + len);
    if (f->total < 0) return NULL;
    /* covered? sort pieces by offset (few) and walk */
    for (int i = 1; i < f->npieces; i++)
        for (int j = i; j > 0 && f->piece[j].off < f->piece[j - 1].off; j--) {
            __typeof__(f->piece[0]) t = f->piece[j];
            f->piece[j] = f->piece[j - 1];
            f->piece[j - 1] = t;
        }
    uint32_t reach = 0;
    for (int i = 0; i < f->npieces; i++) {
        if (f->piece[i].off > reach) return NULL;
        uint32_t e = (uint32_t)f->piece[i].off + f->piece[i].len;
        if (e > reach) reach = e;
    }
    if (reach < (uint32_t)f->total) return NULL;
    frag_unlink(d, f);
    d->done_frag = f;                   /* freed at the next frame */
    d->st.reassembled++;
    *outlen = (uint32_t)f->total;
    return f->data;
}

/* ------------------------------------------------------------------------ TCP */

static void flow_unlink(dql_pcap_dec *d, flow *f)
{
    flow **pp = &d->th[f->hash & (d->tbuckets - 1)];
    while (*pp && *pp != f) pp = &(*pp)->hnext;
    if (*pp) *pp = f->hnext;
    d->nflows--;
}

static void flow_bury(dql_pcap_dec *d, flow *f)
{
    flow_unlink(d, f);
    if (d->ndead == d->capdead) {
        d->capdead = d->capdead ? d->capdead * 2 : 16;
        d->dead = dql_xrealloc(d->dead, (size_t)d->capdead * sizeof *d->dead);
    }
    d->dead[d->ndead++] = f;
}

static void flow_meta(const flow *f, dql_pcap_msg *m)
{
    memset(m, 0, sizeof *m);
    m->ts_ns = f->last_ts;
    m->af = f->af;
    m->proto = DQL_PCAP_TCP;
    memcpy(m->src, f->src, 16);
    memcpy(m->dst, f->dst, 16);
    m->sport = f->sport;
    m->dport = f->dport;
    m->vlan = f->vlan;
    m->ip_ttl = f->ttl;
}

/* Appends stream bytes to the flow buffer (compacting first). */
static bool flow_append(flow *f, const uint8_t *p, uint32_t n)
{
    if (f->start && f->len + n > f->cap - f->start - f->len) {
        memmove(f->buf, f->buf + f->start, f->len);
        f->start = 0;
    }
    if (f->start + f->len + n > f->cap) {
        size_t c = f->cap ? f->cap : 4096;
        while (c < f->start + f->len + n) c *= 2;
        if (c > TCP_BUF_MAX + 65536) return false;
        f->buf = dql_xrealloc(f->buf, c);
        f->cap = c;
    }
    memcpy(f->buf + f->start + f->len, p, n);
    f->len += n;
    return true;
}

/* Cuts whole messages out of the flow buffer. */
static void flow_cut(dql_pcap_dec *d, flow *f)
{
    while (f->len >= 2) {
        const uint8_t *b = f->buf + f->start;
        uint32_t ml = rd16(b);
        if (f->len < 2 + (size_t)ml) break;
        dql_pcap_msg meta;
        flow_meta(f, &meta);
        dql_pcap_msg *m = push(d, &meta);
        push_copy(d, b + 2, ml);
        m->len = m->size = ml;
        d->st.dns_packets++;
        f->start += 2 + ml;
        f->len -= 2 + ml;
    }
    if (f->len == 0) f->start = 0;
}

/* Reports what is left in a stream that cannot continue: a partial message
 * (error row) and the data lost. */
static void flow_report_partial(dql_pcap_dec *d, flow *f, const char *why)
{
    if (f->len == 0) return;
    dql_pcap_msg meta;
    flow_meta(f, &meta);
    dql_pcap_msg *m = push(d, &meta);
    const uint8_t *b = f->buf + f->start;
    if (f->len >= 2) {
        push_copy(d, b + 2, (uint32_t)f->len - 2);
        m->len = (uint32_t)f->len - 2;
        m->size = rd16(b);
    }
    m->error = why;
    f->start = f->len = 0;
}

/* Feeds in-order stashed segments after next_seq. */
static void flow_drain_ooo(dql_pcap_dec *d, flow *f)
{
    bool moved = true;
    while (moved && f->nooo) {
        moved = false;
        for (int i = 0; i < f->nooo; i++) {
            seg *s = &f->ooo[i];
            int32_t diff = (int32_t)(s->seq - f->next_seq);
            if (diff > 0) continue;
            uint32_t skip = (uint32_t)(-diff);
            if (skip < s->len) {
                if (!flow_append(f, s->data + skip, s->len - skip)) {
                    flow_report_partial(d, f, "tcp: message larger than the reassembly buffer");
                }
                f->next_seq = s->seq + s->len;
            }
            f->ooo_bytes -= s->len;
            free(s->data);
            f->ooo[i] = f->ooo[--f->nooo];
            moved = true;
            break;
        }
    }
}

/* Gives up on a hole: what is buffered cannot be completed; continue at the
 * lowest stashed segment, assumed to start a message. */
static void flow_skip_hole(dql_pcap_dec *d, flow *f)
{
    d->st.tcp_lost++;
    if (f->len) flow_report_partial(d, f, "tcp: segment lost, message incomplete");
    else {
        dql_pcap_msg meta;
        flow_meta(f, &meta);
        dql_pcap_msg *m = push(d, &meta);
        m->error = "tcp: segment lost";
    }
    uint32_t lo = f->ooo[0].seq;
    for (int i = 1; i < f->nooo; i++)
        if ((int32_t)(f->ooo[i].seq - lo) < 0) lo = f->ooo[i].seq;
    f->next_seq = lo;
    flow_drain_ooo(d, f);
    flow_cut(d, f);
}

/* End of a stream (FIN/RST seen and done, timeout, end of input). */
static void flow_end(dql_pcap_dec *d, flow *f)
{
    while (f->nooo) flow_skip_hole(d, f);
    flow_report_partial(d, f, "tcp: stream ended inside a message");
    flow_bury(d, f);
}

static void flow_sweep(dql_pcap_dec *d)
{
    for (size_t b = 0; b < d->tbuckets; b++)
        for (flow *f = d->th[b], *n; f; f = n) {
            n = f->hnext;
            if (d->now - f->last_ts > d->o.tcp_timeout_ns) flow_end(d, f);
        }
}

static void flow_evict_oldest(dql_pcap_dec *d)
{
    flow *old = NULL;
    for (size_t b = 0; b < d->tbuckets; b++)
        for (flow *f = d->th[b]; f; f = f->hnext)
            if (!old || f->last_ts < old->last_ts) old = f;
    if (old) { d->st.flows_evicted++; flow_end(d, old); }
}

/* Stream bytes at seq: in order, a retransmission, or ahead of a hole. */
static void tcp_data(dql_pcap_dec *d, flow *f, uint32_t seq, const uint8_t *pay, uint32_t plen)
{
    int32_t diff = (int32_t)(seq - f->next_seq);
    if (diff > 0) {
        for (int i = 0; i < f->nooo; i++)
            if (f->ooo[i].seq == seq && f->ooo[i].len >= plen) { d->st.tcp_retrans++; return; }
        while (f->nooo && (f->nooo == TCP_MAX_OOO || f->ooo_bytes + plen > TCP_MAX_OOO_BYTES))
            flow_skip_hole(d, f);
        diff = (int32_t)(seq - f->next_seq);
        if (diff > 0) {
            seg *s = &f->ooo[f->nooo++];
            s->seq = seq;
            s->len = plen;
            s->data = dql_xmalloc(plen);
            memcpy(s->data, pay, plen);
            f->ooo_bytes += plen;
            return;
        }
    }
    if (diff < 0) {
        uint32_t skip = (uint32_t)(-diff);
        d->st.tcp_retrans++;
        if (skip >= plen) return;
        pay += skip;
        plen -= skip;
        seq += skip;
    }
    if (!flow_append(f, pay, plen)) {
        flow_report_partial(d, f, "tcp: message larger than the reassembly buffer");
        f->start = f->len = 0;
    }
    f->next_seq = seq + plen;
    flow_drain_ooo(d, f);
    flow_cut(d, f);
}

static void tcp_segment(dql_pcap_dec *d, const dql_pcap_msg *meta, const uint8_t *p, uint32_t len, uint32_t wire_len)
{
    if (len < 20) return;
    uint32_t hl = (uint32_t)(p[12] >> 4) * 4;
    if (hl < 20 || hl > len) return;
    uint16_t sport = rd16(p), dport = rd16(p + 2);
    if (!port_on(d, sport) && !port_on(d, dport)) return;
    d->st.tcp_segments++;
    uint32_t seq = rd32(p + 4);
    uint8_t fl = p[13];
    bool syn = fl & 0x02, fin = fl & 0x01, rst = fl & 0x04;
    const uint8_t *pay = p + hl;
    uint32_t plen = len - hl;
    int alen = meta->af == 4 ? 4 : 16;
    uint64_t h = hmix(hmix(hmix(meta->af, meta->src, (size_t)alen), meta->dst, (size_t)alen), p, 4);
    flow *f = d->th[h & (d->tbuckets - 1)];
    for (; f; f = f->hnext)
        if (f->hash == h && f->af == meta->af && f->sport == sport && f->dport == dport &&
            !memcmp(f->src, meta->src, (size_t)alen) && !memcmp(f->dst, meta->dst, (size_t)alen))
            break;
    if (!f) {
        if (plen == 0 && !syn) return;      /* a bare ACK/FIN of a flow we do not follow */
        if (d->nflows >= d->o.max_flows) flow_evict_oldest(d);
        f = dql_xcalloc(1, sizeof *f);
        f->hash = h;
        f->af = meta->af;
        memcpy(f->src, meta->src, 16);
        memcpy(f->dst, meta->dst, 16);
        f->sport = sport;
        f->dport = dport;
        f->hnext = d->th[h & (d->tbuckets - 1)];
        d->th[h & (d->tbuckets - 1)] = f;
        d->nflows++;
    }
    f->vlan = meta->vlan;
    f->ttl = meta->ip_ttl;
    f->last_ts = meta->ts_ns;
    if (syn) {
        if (f->have_seq && f->len) flow_report_partial(d, f, "tcp: stream restarted inside a message");
        f->have_seq = true;
        f->next_seq = seq + 1;
        seq++;
    } else if (!f->have_seq) {
        f->have_seq = true;                 /* no SYN seen: start here */
        f->next_seq = seq;
    }
    if (wire_len > len && plen) {
        /* the segment was cut by the snaplen: its bytes cannot be trusted as a stream */
        uint32_t missing = wire_len - len;
        dql_pcap_msg *m = push(d, meta);
        m->proto = DQL_PCAP_TCP;
        m->sport = sport;
        m->dport = dport;
        m->error = "tcp: segment truncated by the snaplen";
        f->next_seq = seq + plen + missing;
        f->start = f->len = 0;
        plen = 0;
    }
    if (plen) tcp_data(d, f, seq, pay, plen);
    if (fin || rst) {
        if (fin) f->fin = true;
        flow_end(d, f);
    }
}

/* --------------------------------------------------------------------- layers */

static void udp_datagram(dql_pcap_dec *d, const dql_pcap_msg *meta, const uint8_t *p, uint32_t len, uint32_t wire_len)
{
    if (len < 8) {
        if (wire_len >= 8) {
            /* header itself cut: ports unknown unless 4 octets are there */
            if (len >= 4 && (port_on(d, rd16(p)) || port_on(d, rd16(p + 2)))) {
                dql_pcap_msg *m = push(d, meta);
                m->sport = rd16(p);
                m->dport = rd16(p + 2);
                m->proto = DQL_PCAP_UDP;
                m->error = "packet truncated by the snaplen";
            }
        }
        return;
    }
    uint16_t sport = rd16(p), dport = rd16(p + 2), ulen = rd16(p + 4);
    if (!port_on(d, sport) && !port_on(d, dport)) return;
    d->st.dns_packets++;
    dql_pcap_msg *m = push(d, meta);
    m->proto = DQL_PCAP_UDP;
    m->sport = sport;
    m->dport = dport;
    if (ulen < 8) {
        m->error = "bad UDP length";
        m->dns = p + 8;
        m->len = m->size = 0;
        return;
    }
    uint32_t want = (uint32_t)ulen - 8;
    uint32_t have = len - 8;
    m->dns = p + 8;
    m->size = want;
    if (have >= want) {
        m->len = want;
    } else {
        m->len = have;
        m->error = wire_len > len ? "packet truncated by the snaplen" : "UDP length beyond the IP datagram";
    }
}

/* L4 dispatch. wire_len: bytes of this L4 datagram on the wire. */
static void l4(dql_pcap_dec *d, const dql_pcap_msg *meta, uint8_t proto, const uint8_t *p, uint32_t len,
               uint32_t wire_len)
{
    if (proto == 17) udp_datagram(d, meta, p, len, wire_len);
    else if (proto == 6) tcp_segment(d, meta, p, len, wire_len);
}

static void ipv4(dql_pcap_dec *d, dql_pcap_msg *meta, const uint8_t *p, uint32_t len, uint32_t wire)
{
    if (len < 20 || (p[0] >> 4) != 4) return;
    uint32_t hl = (uint32_t)(p[0] & 15) * 4;
    uint32_t tot = rd16(p + 2);
    if (hl < 20 || hl > len) return;
    if (tot < hl) return;
    meta->af = 4;
    memset(meta->src, 0, 32);
    memcpy(meta->src, p + 12, 4);
    memcpy(meta->dst, p + 16, 4);
    meta->ip_ttl = p[8];
    uint8_t proto = p[9];
    uint16_t fo = rd16(p + 6);
    uint32_t off = (uint32_t)(fo & 0x1fff) * 8;
    bool more = fo & 0x2000;
    uint32_t have = (tot <= len ? tot : len) - hl;   /* Ethernet padding cut off */
    bool snapcut = len < tot && wire > len;
    const uint8_t *pay = p + hl;
    if (off || more) {
        if (len < tot) return;              /* a fragment cut short cannot be reassembled */
        uint32_t whole;
        const uint8_t *dg = frag_add(d, meta, proto, rd16(p + 4), off, pay, have, more, &whole);
        if (dg) l4(d, meta, proto, dg, whole, whole);
        return;
    }
    l4(d, meta, proto, pay, have, snapcut ? tot - hl : have);
}

static void ipv6(dql_pcap_dec *d, dql_pcap_msg *meta, const uint8_t *p, uint32_t len, uint32_t wire)
{
    if (len < 40 || (p[0] >> 4) != 6) return;
    uint32_t plen = rd16(p + 4);
    uint8_t nh = p[6];
    meta->af = 6;
    memcpy(meta->src, p + 8, 16);
    memcpy(meta->dst, p + 24, 16);
    meta->ip_ttl = p[7];
    uint32_t tot = 40 + plen;
    uint32_t have_tot = tot <= len ? tot : len;
    bool snapcut = len < tot && wire > len;
    uint32_t o = 40;
    bool fragd = false, more = false;
    uint32_t foff = 0, fid = 0;
    for (int guard = 0; guard < 16; guard++) {
        if (nh == 0 || nh == 43 || nh == 60 || nh == 51) {
            if (o + 8 > have_tot) return;
            uint32_t el = nh == 51 ? ((uint32_t)p[o + 1] + 2) * 4 : ((uint32_t)p[o + 1] + 1) * 8;
            nh = p[o];
            o += el;
        } else if (nh == 44) {
            if (o + 8 > have_tot) return;
            uint16_t fo = rd16(p + o + 2);
            foff = (uint32_t)(fo & 0xfff8);
            more = fo & 1;
            fid = rd32(p + o + 4);
            fragd = foff || more;
            nh = p[o];
            o += 8;
        } else break;
    }
    if (o > have_tot) return;
    const uint8_t *pay = p + o;
    uint32_t have = have_tot - o;
    if (fragd) {
        if (len < tot) return;
        uint32_t whole;
        const uint8_t *dg = frag_add(d, meta, nh, fid, foff, pay, have, more, &whole);
        if (dg) l4(d, meta, nh, dg, whole, whole);
        return;
    }
    l4(d, meta, nh, pay, have, snapcut ? tot - o : have);
}

static void ip_any(dql_pcap_dec *d, dql_pcap_msg *meta, const uint8_t *p, uint32_t len, uint32_t wire)
{
    if (len < 1) return;
    if ((p[0] >> 4) == 4) ipv4(d, meta, p, len, wire);
    else if ((p[0] >> 4) == 6) ipv6(d, meta, p, len, wire);
}

/* An ethertype-tagged payload; VLAN tags peeled. */
static void ether_payload(dql_pcap_dec *d, dql_pcap_msg *meta, uint16_t et, const uint8_t *p, uint32_t len,
                          uint32_t wire)
{
    for (int guard = 0; guard < 8; guard++) {
        if (et == 0x8100 || et == 0x88a8 || et == 0x9100) {
            if (len < 4) return;
            meta->vlan = rd16(p) & 0x0fff;
            et = rd16(p + 2);
            p += 4; len -= 4; wire -= 4;
        } else if (et == 0x8864) {          /* PPPoE session */
            if (len < 8) return;
            uint16_t pp = rd16(p + 6);
            p += 8; len -= 8; wire -= 8;
            et = pp == 0x0021 ? 0x0800 : pp == 0x0057 ? 0x86dd : 0;
        } else break;
    }
    if (et == 0x0800) ipv4(d, meta, p, len, wire);
    else if (et == 0x86dd) ipv6(d, meta, p, len, wire);
}

void dql_pcap_dec_packet(dql_pcap_dec *d, const dql_pcap_pkt *pk)
{
    release_dead(d);
    d->nq = d->iq = 0;
    d->arena.len = 0;
    d->st.packets++;
    d->now = pk->ts_ns;
    /* timeouts are swept at the first packet of each second of capture
     * time (or when time goes back): when depends on the clock only, so
     * that a sharded run's warm-up sweeps where one process does */
    int64_t tick = d->now / 1000000000LL;
    if (tick != d->sweep_tick) {
        if (d->nfrags) frag_sweep(d, false);
        if (d->nflows) flow_sweep(d);
        d->sweep_tick = tick;
    }
    dql_pcap_msg meta;
    memset(&meta, 0, sizeof meta);
    meta.ts_ns = pk->ts_ns;
    meta.vlan = -1;
    meta.ip_ttl = -1;
    const uint8_t *p = pk->data;
    uint32_t len = pk->caplen, wire = pk->origlen;
    switch (pk->linktype) {
    case 1:                                 /* EN10MB */
        if (len < 14) return;
        ether_payload(d, &meta, rd16(p + 12), p + 14, len - 14, wire - 14);
        break;
    case 0: case 108: {                     /* NULL (host order), LOOP (network order) */
        if (len < 4) return;
        uint32_t af;
        memcpy(&af, p, 4);
        if (pk->linktype == 108) af = rd32(p);
        else if (af > 0xffff) af = __builtin_bswap32(af);
        if (af == 2) ipv4(d, &meta, p + 4, len - 4, wire - 4);
        else if (af == 24 || af == 28 || af == 30 || af == 10) ipv6(d, &meta, p + 4, len - 4, wire - 4);
        break;
    }
    case 12: case 14: case 101:             /* raw IP */
        ip_any(d, &meta, p, len, wire);
        break;
    case 228: ipv4(d, &meta, p, len, wire); break;
    case 229: ipv6(d, &meta, p, len, wire); break;
    case 113:                               /* LINUX_SLL */
        if (len < 16) return;
        ether_payload(d, &meta, rd16(p + 14), p + 16, len - 16, wire - 16);
        break;
    case 276:                               /* LINUX_SLL2 */
        if (len < 20) return;
        ether_payload(d, &meta, rd16(p), p + 20, len - 20, wire - 20);
        break;
    case 9: case 50: {                      /* PPP, PPP_HDLC */
        uint32_t o = 0;
        if (len >= 2 && p[0] == 0xff && p[1] == 0x03) o = 2;
        if (len < o + 2) return;
        uint16_t proto = rd16(p + o);
        if (proto == 0x0021) ipv4(d, &meta, p + o + 2, len - o - 2, wire - o - 2);
        else if (proto == 0x0057) ipv6(d, &meta, p + o + 2, len - o - 2, wire - o - 2);
        break;
    }
    default:
        d->st.unknown_link++;
        break;
    }
}

/* The digest of what decoding carries from one packet to the next: the
 * clock, the TCP flows (addresses, sequence state, buffered and
 * out-of-order bytes) and the datagrams in reassembly, each hashed on its
 * own and summed (the tables' order does not count). */
uint64_t dql_pcap_dec_digest(const dql_pcap_dec *d)
{
    uint64_t sum = 0;
    for (size_t b = 0; b < d->tbuckets; b++)
        for (const flow *f = d->th[b]; f; f = f->hnext) {
            int al = f->af == 4 ? 4 : 16;
            int64_t v[8] = { f->af, f->sport, f->dport, f->vlan, f->ttl, f->last_ts, f->have_seq * 2 + f->fin,
                             f->next_seq };
            uint64_t h = hmix(0xf1, v, sizeof v);
            h = hmix(h, f->src, (size_t)al);
            h = hmix(h, f->dst, (size_t)al);
            if (f->len) h = hmix(h, f->buf + f->start, f->len);
            for (int i = 0; i < f->nooo; i++) {
                uint32_t sl[2] = { f->ooo[i].seq, f->ooo[i].len };
                h = hmix(h, sl, sizeof sl);
                h = hmix(h, f->ooo[i].data, f->ooo[i].len);
            }
            sum += h;
        }
    for (size_t b = 0; b < d->fbuckets; b++)
        for (const frag *f = d->fh[b]; f; f = f->hnext) {
            int al = f->af == 4 ? 4 : 16;
            int64_t v[8] = { f->af, f->proto, f->id, f->first_ts, f->vlan, f->ttl, f->total, f->npieces };
            uint64_t h = hmix(0xf2, v, sizeof v);
            h = hmix(h, f->src, (size_t)al);
            h = hmix(h, f->dst, (size_t)al);
            for (int i = 0; i < f->npieces; i++) {
                h = hmix(h, &f->piece[i], sizeof f->piece[i]);
                h = hmix(h, f->data + f->piece[i].off, f->piece[i].len);
            }
            sum += h;
        }
    int64_t v[4] = { d->now, d->sweep_tick, d->nflows, d->nfrags };
    return hmix(sum, v, sizeof v);
}

uint64_t dql_pcap_msg_hash(uint64_t h, const dql_pcap_msg *m)
{
    int64_t v[9] = { m->ts_ns, m->af, m->proto, m->sport, m->dport, m->vlan, m->ip_ttl, m->len, m->size };
    h = hmix(h, v, sizeof v);
    h = hmix(h, m->src, 16);
    h = hmix(h, m->dst, 16);
    if (m->dns && m->len) h = hmix(h, m->dns, m->len);
    if (m->error) h = hmix(h, m->error, strlen(m->error));
    return h;
}

void dql_pcap_dec_finish(dql_pcap_dec *d)
{
    release_dead(d);
    d->nq = d->iq = 0;
    d->arena.len = 0;
    for (size_t b = 0; b < d->tbuckets; b++)
        for (flow *f = d->th[b], *n; f; f = n) { n = f->hnext; flow_end(d, f); }
}
