/* dns_msg.c — the DNS message codec of dns_msg.h: header, question and
 * record decoding with bounds-checked, loop-proof name decompression, EDNS,
 * rdata name expansion, and query building. No allocation anywhere. */
#include "dns_msg.h"

#include <stdio.h>
#include <string.h>

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)((unsigned)p[0] << 8 | p[1]); }
static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void wr16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

const char *dql_dns_strerror(dql_dns_err e)
{
    switch (e) {
    case DQL_DNS_OK: return "ok";
    case DQL_DNS_E_SHORT: return "message truncated";
    case DQL_DNS_E_NAME: return "bad name";
    case DQL_DNS_E_LOOP: return "compression pointer loop";
    case DQL_DNS_E_RDATA: return "bad rdata";
    case DQL_DNS_E_TRAILING: return "trailing bytes";
    case DQL_DNS_E_EDNS: return "bad OPT record";
    }
    return "error";
}

bool dql_dns_header_read(const uint8_t *pkt, size_t len, dql_dns_header *h)
{
    if (len < DQL_DNS_HDR_LEN) return false;
    h->id = rd16(pkt);
    h->flags = rd16(pkt + 2);
    h->qdcount = rd16(pkt + 4);
    h->ancount = rd16(pkt + 6);
    h->nscount = rd16(pkt + 8);
    h->arcount = rd16(pkt + 10);
    return true;
}

/* ------------------------------------------------------------------ names */

size_t dql_dns_name_unpack(const uint8_t *pkt, size_t len, size_t off, uint8_t *dst, size_t *dstlen, dql_dns_err *err)
{
    size_t w = 0, end = 0, p = off;
    int jumps = 0;
    for (;;) {
        if (p >= len) { *err = DQL_DNS_E_SHORT; return 0; }
        uint8_t l = pkt[p];
        if (l == 0) {
            if (w + 1 > DQL_DNS_NAME_MAX) { *err = DQL_DNS_E_NAME; return 0; }
            dst[w++] = 0;
            if (!end) end = p + 1;
            *dstlen = w;
            return end;
        }
        if ((l & 0xc0) == 0xc0) {
            if (p + 1 >= len) { *err = DQL_DNS_E_SHORT; return 0; }
            size_t target = (size_t)(l & 0x3f) << 8 | pkt[p + 1];
            /* a pointer must go strictly backwards: no loops possible, but
             * bound the count anyway */
            if (target >= p) { *err = target == p ? DQL_DNS_E_LOOP : DQL_DNS_E_NAME; return 0; }
            if (++jumps > 128) { *err = DQL_DNS_E_LOOP; return 0; }
            if (!end) end = p + 2;
            p = target;
            continue;
        }
        if (l & 0xc0) { *err = DQL_DNS_E_NAME; return 0; }   /* 01/10: extended label types */
        if (p + 1 + l > len) { *err = DQL_DNS_E_SHORT; return 0; }
        if (w + 1 + l + 1 > DQL_DNS_NAME_MAX) { *err = DQL_DNS_E_NAME; return 0; }
        /* a label and its length octet are at most 64 octets: copy a fixed
         * 32 or 64 when both sides have the room (the bytes past the label
         * are overwritten by what follows or lie past *dstlen) */
        if (l < 32 && w + 32 <= DQL_DNS_NAME_MAX && p + 32 <= len) memcpy(dst + w, pkt + p, 32);
        else if (w + 64 <= DQL_DNS_NAME_MAX && p + 64 <= len) memcpy(dst + w, pkt + p, 64);
        else memcpy(dst + w, pkt + p, (size_t)l + 1);
        w += (size_t)l + 1;
        p += (size_t)l + 1;
    }
}

/* Skips a (possibly compressed) name without copying; returns the offset
 * after it, 0 on error. */
static size_t name_skip(const uint8_t *pkt, size_t len, size_t off, dql_dns_err *err)
{
    size_t p = off;
    for (;;) {
        if (p >= len) { *err = DQL_DNS_E_SHORT; return 0; }
        uint8_t l = pkt[p];
        if (l == 0) return p + 1;
        if ((l & 0xc0) == 0xc0) {
            if (p + 1 >= len) { *err = DQL_DNS_E_SHORT; return 0; }
            return p + 2;
        }
        if (l & 0xc0) { *err = DQL_DNS_E_NAME; return 0; }
        p += (size_t)l + 1;
        if (p - off > DQL_DNS_NAME_MAX) { *err = DQL_DNS_E_NAME; return 0; }
    }
}

size_t dql_dns_name_from_text(const char *s, size_t n, uint8_t *dst, const char **why)
{
    if (n == 0 || (n == 1 && s[0] == '.')) { dst[0] = 0; return 1; }
    size_t w = 0, lab = 0;       /* lab: offset of the current length byte */
    dst[0] = 0;
    w = 1;
    size_t i = 0;
    while (i < n) {
        unsigned c = (unsigned char)s[i++];
        if (c == '.') {
            if (w - lab - 1 == 0) { *why = "empty label"; return 0; }
            if (i == n) break;   /* trailing dot */
            lab = w;
            if (w >= DQL_DNS_NAME_MAX) { *why = "name longer than 255 octets"; return 0; }
            dst[w++] = 0;
            continue;
        }
        if (c == '\\') {
            if (i >= n) { *why = "dangling backslash"; return 0; }
            if (s[i] >= '0' && s[i] <= '9') {
                if (i + 3 > n || s[i + 1] < '0' || s[i + 1] > '9' || s[i + 2] < '0' || s[i + 2] > '9') {
                    *why = "bad \\DDD escape";
                    return 0;
                }
                c = (unsigned)(s[i] - '0') * 100 + (unsigned)(s[i + 1] - '0') * 10 + (unsigned)(s[i + 2] - '0');
                if (c > 255) { *why = "bad \\DDD escape"; return 0; }
                i += 3;
            } else {
                c = (unsigned char)s[i++];
            }
        }
        if (w - lab - 1 >= 63) { *why = "label longer than 63 octets"; return 0; }
        if (w + 1 >= DQL_DNS_NAME_MAX) { *why = "name longer than 255 octets"; return 0; }
        dst[w++] = (uint8_t)c;
        dst[lab]++;
    }
    if (dst[lab] == 0) { *why = "empty label"; return 0; }
    if (w >= DQL_DNS_NAME_MAX) { *why = "name longer than 255 octets"; return 0; }
    dst[w++] = 0;
    return w;
}

bool dql_dns_name_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    if (alen != blen) return false;
    for (size_t i = 0; i < alen; i++) {
        uint8_t x = a[i], y = b[i];
        if (x != y) {
            if (x >= 'A' && x <= 'Z') x |= 32;
            if (y >= 'A' && y <= 'Z') y |= 32;
            if (x != y) return false;
        }
    }
    return true;
}

int dql_dns_name_labels(const uint8_t *name, size_t len)
{
    int k = 0;
    for (size_t i = 0; i < len && name[i]; i += (size_t)name[i] + 1) k++;
    return k;
}

/* ------------------------------------------------------------------ rdata */

/* Layout of rdata with names: a string of codes. N a name, digits: that
 * many fixed octets, s a character-string, '*' the rest verbatim. */
static const char *rdata_layout(uint16_t type)
{
    switch (type) {
    case 2: case 3: case 4: case 5: case 7: case 8: case 9: case 12: case 23: case 39: return "N";
    case 6: return "NN*";                 /* + serial refresh retry expire minimum */
    case 14: case 17: return "NN";
    case 15: case 18: case 21: case 36: case 107: return "2N";
    case 26: return "2NN";
    case 33: return "6N";
    case 35: return "4sssN";
    case 24: case 46: return "9:N*";      /* 18 fixed octets ('9' twice via ':') */
    case 30: case 47: return "N*";
    default: return NULL;
    }
}

bool dql_dns_rdata_has_names(uint16_t type) { return rdata_layout(type) != NULL; }

long dql_dns_rdata_unpack(const uint8_t *pkt, size_t len, size_t off, size_t rdlen, uint16_t type, uint8_t *out)
{
    const char *lay = rdata_layout(type);
    size_t end = off + rdlen;
    if (end > len) return -1;
    if (!lay) {
        memcpy(out, pkt + off, rdlen);
        return (long)rdlen;
    }
    size_t p = off, w = 0;
    for (const char *c = lay; *c; c++) {
        if (*c == 'N') {
            size_t nl;
            dql_dns_err e;
            /* names inside rdata may point anywhere before them, but must
             * not run past the rdata */
            size_t next = dql_dns_name_unpack(pkt, end, p, out + w, &nl, &e);
            if (!next) return -1;
            p = next;
            w += nl;
        } else if (*c == 's') {
            if (p >= end || p + 1 + pkt[p] > end) return -1;
            size_t k = (size_t)pkt[p] + 1;
            memcpy(out + w, pkt + p, k);
            w += k;
            p += k;
        } else if (*c == '*') {
            memcpy(out + w, pkt + p, end - p);
            w += end - p;
            p = end;
        } else {
            size_t k = *c == ':' ? 9 : (size_t)(*c - '0');
            if (p + k > end) return -1;
            memcpy(out + w, pkt + p, k);
            w += k;
            p += k;
        }
        if (w > DQL_DNS_RDATA_BUF - DQL_DNS_NAME_MAX) return -1;
    }
    if (p != end) {
        /* rdata longer than its layout: keep the rest verbatim */
        memcpy(out + w, pkt + p, end - p);
        w += end - p;
    }
    return (long)w;
}

/* ---------------------------------------------------------------- message */

dql_dns_err dql_dns_msg_parse(const uint8_t *pkt, size_t len, dql_dns_msg *m)
{
    memset(m, 0, offsetof(dql_dns_msg, qname));
    m->pkt = pkt;
    m->len = len;
    m->qname_len = 0;
    m->qtype = m->qclass = 0;
    m->rr_off = 0;
    m->edns = false;
    m->edns_udp = 0;
    m->edns_version = 0;
    m->edns_do = false;
    m->edns_opts = NULL;
    m->edns_optlen = 0;
    m->rcode = 0;
    if (!dql_dns_header_read(pkt, len, &m->h)) return DQL_DNS_E_SHORT;
    m->rcode = DQL_DNS_RCODE(m->h.flags);
    size_t p = DQL_DNS_HDR_LEN;
    dql_dns_err e = DQL_DNS_OK;
    for (unsigned i = 0; i < m->h.qdcount; i++) {
        size_t next;
        if (i == 0) next = dql_dns_name_unpack(pkt, len, p, m->qname, &m->qname_len, &e);
        else next = name_skip(pkt, len, p, &e);
        if (!next) { if (i == 0) m->qname_len = 0; return e; }
        if (next + 4 > len) return DQL_DNS_E_SHORT;
        if (i == 0) { m->qtype = rd16(pkt + next); m->qclass = rd16(pkt + next + 2); }
        p = next + 4;
    }
    m->rr_off = p;
    unsigned counts[3] = { m->h.ancount, m->h.nscount, m->h.arcount };
    for (int s = 0; s < 3; s++) {
        for (unsigned i = 0; i < counts[s]; i++) {
            size_t nstart = p;
            size_t next = name_skip(pkt, len, p, &e);
            if (!next) return e;
            if (next + 10 > len) return DQL_DNS_E_SHORT;
            uint16_t type = rd16(pkt + next);
            uint16_t rdlen = rd16(pkt + next + 8);
            if (next + 10 + rdlen > len) return DQL_DNS_E_SHORT;
            if (type == 41) {
                if (s != 2 || m->edns || pkt[nstart] != 0) return DQL_DNS_E_EDNS;
                m->edns = true;
                m->edns_udp = rd16(pkt + next + 2);
                uint32_t t = rd32(pkt + next + 4);
                m->rcode |= (int)((t >> 24) & 0xff) << 4;
                m->edns_version = (uint8_t)(t >> 16);
                m->edns_do = (t & 0x8000) != 0;
                m->edns_opts = pkt + next + 10;
                m->edns_optlen = rdlen;
            }
            p = next + 10 + rdlen;
        }
    }
    return DQL_DNS_OK;
}

void dql_dns_iter_init(dql_dns_iter *it, const dql_dns_msg *m)
{
    it->m = m;
    it->off = m->rr_off;
    it->section = DQL_DNS_SEC_ANSWER;
    it->left = m->h.ancount;
    it->failed = m->rr_off == 0;
}

int dql_dns_iter_next(dql_dns_iter *it, dql_dns_rr *rr, dql_dns_err *err)
{
    const dql_dns_msg *m = it->m;
    if (it->failed) { *err = DQL_DNS_E_SHORT; return -1; }
    while (it->left == 0) {
        if (it->section == DQL_DNS_SEC_ADDITIONAL) return 0;
        it->section++;
        it->left = it->section == DQL_DNS_SEC_AUTHORITY ? m->h.nscount : m->h.arcount;
    }
    size_t next = dql_dns_name_unpack(m->pkt, m->len, it->off, rr->owner, &rr->owner_len, err);
    if (!next) { it->failed = true; return -1; }
    if (next + 10 > m->len) { *err = DQL_DNS_E_SHORT; it->failed = true; return -1; }
    const uint8_t *q = m->pkt + next;
    rr->section = it->section;
    rr->type = rd16(q);
    rr->rclass = rd16(q + 2);
    rr->ttl = rd32(q + 4);
    rr->rawlen = rd16(q + 8);
    rr->raw = q + 10;
    size_t rstart = next + 10;
    if (rstart + rr->rawlen > m->len) { *err = DQL_DNS_E_SHORT; it->failed = true; return -1; }
    if (dql_dns_rdata_has_names(rr->type)) {
        long n = dql_dns_rdata_unpack(m->pkt, m->len, rstart, rr->rawlen, rr->type, rr->rdbuf);
        if (n < 0) { *err = DQL_DNS_E_RDATA; it->failed = true; return -1; }
        rr->rdata = rr->rdbuf;
        rr->rdlen = (size_t)n;
    } else {
        rr->rdata = rr->raw;
        rr->rdlen = rr->rawlen;
    }
    it->off = rstart + rr->rawlen;
    it->left--;
    return 1;
}

/* ------------------------------------------------------------------ build */

size_t dql_dns_query_build(uint8_t *buf, size_t cap, uint16_t id, uint16_t flags, const uint8_t *qname,
                           size_t qlen, uint16_t qtype, uint16_t edns_udp, bool dnssec)
{
    size_t need = DQL_DNS_HDR_LEN + qlen + 4 + (edns_udp ? 11 : 0);
    if (need > cap) return 0;
    wr16(buf, id);
    wr16(buf + 2, flags);
    wr16(buf + 4, 1);
    wr16(buf + 6, 0);
    wr16(buf + 8, 0);
    wr16(buf + 10, edns_udp ? 1 : 0);
    memcpy(buf + 12, qname, qlen);
    size_t p = 12 + qlen;
    wr16(buf + p, qtype);
    wr16(buf + p + 2, 1);
    p += 4;
    if (edns_udp) {
        buf[p] = 0;                      /* root owner */
        wr16(buf + p + 1, 41);
        wr16(buf + p + 3, edns_udp);
        buf[p + 5] = 0;                  /* extended rcode */
        buf[p + 6] = 0;                  /* version */
        wr16(buf + p + 7, dnssec ? 0x8000 : 0);
        wr16(buf + p + 9, 0);            /* no options */
        p += 11;
    }
    return p;
}

const char *dql_dns_rcode_name(int rcode, char *buf)
{
    static const char *const names[] = {
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
        "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI", NULL, NULL, NULL, NULL, "BADVERS", "BADKEY",
        "BADTIME", "BADMODE", "BADNAME", "BADALG", "BADTRUNC", "BADCOOKIE",
    };
    if (rcode >= 0 && (size_t)rcode < sizeof names / sizeof names[0] && names[rcode]) return names[rcode];
    snprintf(buf, 16, "RCODE%d", rcode);
    return buf;
}
