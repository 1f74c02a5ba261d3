/* zone_rdata.c — the rdata codec of the zone scanner and writer: text
 * tokens to wire form (validated per RR type), wire form back to canonical
 * presentation text and to named fields, names, types, classes and TTLs.
 *
 * Most types are described by a string of field codes (one character per
 * field, see the table `kinds`) and a list of RFC field names; one
 * interpreter parses, one renders, one splits into fields. LOC, APL,
 * IPSECKEY, WKS and SVCB/HTTPS have hand-written codecs. */
#include "zone.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ------------------------------------------------------------ tables */

/* Field codes:
 *  N name         1 u8           2 u16           4 u32          P u32 period (TTL units)
 *  a IPv4         6 IPv6         s char-string   S char-strings to the end (>= 1)
 *  b base64 to the end           x hex to the end                h hex salt (len byte, '-' empty)
 *  z base32hex (len byte)        m type bitmap to the end        t RR type
 *  g DNSSEC algorithm (u8)       c CERT type (u16)               T time (YYYYMMDDHHmmSS or u32)
 *  u string to the end without length byte (one token)           k CAA tag (len byte)
 *  e EUI-48                      E EUI-64                        q 64-bit locator xxxx:xxxx:xxxx:xxxx
 *  n NSAP (0x hex)               D DSYNC scheme (u8)             B base64 to the end, may be empty
 *  X hex to the end, may be empty */
typedef struct rrdesc {
    uint16_t type;
    const char *name;
    const char *codes;       /* NULL: special codec or only \# */
    const char *fields;      /* space-separated field names */
} rrdesc;

enum { SP_NONE = 0 };

static const rrdesc descs[] = {
    { 1, "A", "a", "address" },
    { 2, "NS", "N", "nsdname" },
    { 3, "MD", "N", "madname" },
    { 4, "MF", "N", "madname" },
    { 5, "CNAME", "N", "cname" },
    { 6, "SOA", "NN4PPPP", "mname rname serial refresh retry expire minimum" },
    { 7, "MB", "N", "madname" },
    { 8, "MG", "N", "mgmname" },
    { 9, "MR", "N", "newname" },
    { 10, "NULL", NULL, "" },
    { 11, "WKS", NULL, "address protocol services" },
    { 12, "PTR", "N", "ptrdname" },
    { 13, "HINFO", "ss", "cpu os" },
    { 14, "MINFO", "NN", "rmailbx emailbx" },
    { 15, "MX", "2N", "preference exchange" },
    { 16, "TXT", "S", "txt_data" },
    { 17, "RP", "NN", "mbox_dname txt_dname" },
    { 18, "AFSDB", "2N", "subtype hostname" },
    { 19, "X25", "s", "psdn_address" },
    { 20, "ISDN", "S", "isdn_address" },
    { 21, "RT", "2N", "preference intermediate_host" },
    { 22, "NSAP", "n", "nsap" },
    { 23, "NSAP-PTR", "N", "owner" },
    { 24, "SIG", "tg14TT2Nb", "type_covered algorithm labels original_ttl signature_expiration signature_inception key_tag signer_name signature" },
    { 25, "KEY", "21gb", "flags protocol algorithm public_key" },
    { 26, "PX", "2NN", "preference map822 mapx400" },
    { 27, "GPOS", "sss", "longitude latitude altitude" },
    { 28, "AAAA", "6", "address" },
    { 29, "LOC", NULL, "latitude longitude altitude size horiz_pre vert_pre" },
    { 30, "NXT", "Nm", "next_domain_name types" },
    { 33, "SRV", "222N", "priority weight port target" },
    { 35, "NAPTR", "22sssN", "order preference flags services regexp replacement" },
    { 36, "KX", "2N", "preference exchanger" },
    { 37, "CERT", "c2gb", "type key_tag algorithm certificate" },
    { 39, "DNAME", "N", "target" },
    { 42, "APL", NULL, "items" },
    { 43, "DS", "2g1x", "key_tag algorithm digest_type digest" },
    { 44, "SSHFP", "11x", "algorithm fp_type fingerprint" },
    { 45, "IPSECKEY", NULL, "precedence gateway_type algorithm gateway public_key" },
    { 46, "RRSIG", "tg14TT2Nb", "type_covered algorithm labels original_ttl signature_expiration signature_inception key_tag signer_name signature" },
    { 47, "NSEC", "Nm", "next_domain_name types" },
    { 48, "DNSKEY", "21gb", "flags protocol algorithm public_key" },
    { 49, "DHCID", "b", "digest" },
    { 50, "NSEC3", "112hzm", "hash_algorithm flags iterations salt next_hashed_owner_name types" },
    { 51, "NSEC3PARAM", "112h", "hash_algorithm flags iterations salt" },
    { 52, "TLSA", "111x", "cert_usage selector matching_type cert_association_data" },
    { 53, "SMIMEA", "111x", "cert_usage selector matching_type cert_association_data" },
    { 55, "HIP", NULL, "" },
    { 59, "CDS", "2g1x", "key_tag algorithm digest_type digest" },
    { 60, "CDNSKEY", "21gb", "flags protocol algorithm public_key" },
    { 61, "OPENPGPKEY", "b", "public_key" },
    { 62, "CSYNC", "42m", "soa_serial flags types" },
    { 63, "ZONEMD", "411x", "serial scheme hash_algorithm digest" },
    { 64, "SVCB", NULL, "priority target" },
    { 65, "HTTPS", NULL, "priority target" },
    { 66, "DSYNC", "tD2N", "rrtype scheme port target" },
    { 99, "SPF", "S", "txt_data" },
    { 104, "NID", "2q", "preference node_id" },
    { 105, "L32", "2a", "preference locator32" },
    { 106, "L64", "2q", "preference locator64" },
    { 107, "LP", "2N", "preference fqdn" },
    { 108, "EUI48", "e", "address" },
    { 109, "EUI64", "E", "address" },
    { 256, "URI", "22u", "priority weight target" },
    { 257, "CAA", "1ku", "flags tag value" },
    { 258, "AVC", "S", "txt_data" },
    { 261, "RESINFO", "S", "txt_data" },
    { 262, "WALLET", "S", "txt_data" },
    { 32768, "TA", "2g1x", "key_tag algorithm digest_type digest" },
    { 32769, "DLV", "2g1x", "key_tag algorithm digest_type digest" },
    { 65401, "ALIAS", "N", "target" },
    /* types that may not appear in master files (meta and query types) */
    { 41, "OPT", NULL, NULL },
    { 249, "TKEY", NULL, NULL },
    { 250, "TSIG", NULL, NULL },
    { 251, "IXFR", NULL, NULL },
    { 252, "AXFR", NULL, NULL },
    { 253, "MAILB", NULL, NULL },
    { 254, "MAILA", NULL, NULL },
    { 255, "ANY", NULL, NULL },
};
#define NDESCS (sizeof descs / sizeof descs[0])

static const rrdesc *by_type[512];     /* types 0..511 */

static const rrdesc *desc_of(uint16_t t)
{
    static bool init;
    if (!init) {
        for (size_t i = 0; i < NDESCS; i++)
            if (descs[i].type < 512)
                by_type[descs[i].type] = &descs[i];
        init = true;
    }
    if (t < 512)
        return by_type[t];
    for (size_t i = 0; i < NDESCS; i++)
        if (descs[i].type == t)
            return &descs[i];
    return NULL;
}

static bool is_meta(uint16_t t) { return t == 41 || (t >= 249 && t <= 255) || t == 0; }
static bool is_special(uint16_t t) { return t == 29 || t == 42 || t == 45 || t == 64 || t == 65 || t == 11; }

const char *dql_zone_type_name(uint16_t type)
{
    const rrdesc *d = desc_of(type);
    return d ? d->name : NULL;
}

static bool parse_uint(const char *s, size_t n, uint64_t max, uint64_t *v)
{
    if (n == 0 || n > 20)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d > 9)
            return false;
        x = x * 10 + d;
        if (x > max)
            return false;
    }
    *v = x;
    return true;
}

bool dql_zone_type_parse(const char *s, size_t n, uint16_t *type)
{
    /* fast path for the common ones */
    if (n == 2 && (s[0] | 32) == 'n' && (s[1] | 32) == 's') { *type = 2; return true; }
    if (n == 1 && (s[0] | 32) == 'a') { *type = 1; return true; }
    if (n > 4 && strncasecmp(s, "TYPE", 4) == 0 && s[4] >= '0' && s[4] <= '9') {
        uint64_t v;
        if (!parse_uint(s + 4, n - 4, 65535, &v))
            return false;
        *type = (uint16_t)v;
        return true;
    }
    char c0 = (char)(s[0] & ~32);
    for (size_t i = 0; i < NDESCS; i++) {
        const char *nm = descs[i].name;
        if (nm[0] == c0 && strlen(nm) == n && strncasecmp(nm, s, n) == 0) {
            *type = descs[i].type;
            return true;
        }
    }
    return false;
}

void dql_zone_type_text(dql_buf *out, uint16_t type)
{
    const char *nm = dql_zone_type_name(type);
    if (nm && !is_meta(type))
        dql_buf_puts(out, nm);
    else
        dql_buf_printf(out, "TYPE%u", (unsigned)type);
}

bool dql_zone_class_parse(const char *s, size_t n, uint16_t *cls)
{
    if (n == 2) {
        char a = (char)(s[0] | 32), b = (char)(s[1] | 32);
        if (a == 'i' && b == 'n') { *cls = 1; return true; }
        if (a == 'c' && b == 'h') { *cls = 3; return true; }
        if (a == 'h' && b == 's') { *cls = 4; return true; }
        if (a == 'c' && b == 's') { *cls = 2; return true; }
        return false;
    }
    if (n > 5 && strncasecmp(s, "CLASS", 5) == 0) {
        uint64_t v;
        if (!parse_uint(s + 5, n - 5, 65535, &v))
            return false;
        *cls = (uint16_t)v;
        return true;
    }
    return false;
}

void dql_zone_class_text(dql_buf *out, uint16_t cls)
{
    switch (cls) {
    case 1: dql_buf_puts(out, "IN"); break;
    case 2: dql_buf_puts(out, "CS"); break;
    case 3: dql_buf_puts(out, "CH"); break;
    case 4: dql_buf_puts(out, "HS"); break;
    default: dql_buf_printf(out, "CLASS%u", (unsigned)cls); break;
    }
}

bool dql_zone_ttl_parse(const char *s, size_t n, uint32_t *ttl, const char **why)
{
    if (n == 0 || s[0] < '0' || s[0] > '9') {
        *why = "not a number";
        return false;
    }
    uint64_t total = 0, cur = 0;
    bool digits = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= '0' && c <= '9') {
            cur = cur * 10 + (c - '0');
            if (cur > 0xffffffffu) {
                *why = "out of range (0 to 4294967295)";
                return false;
            }
            digits = true;
            continue;
        }
        uint64_t mult;
        switch (c | 32) {
        case 's': mult = 1; break;
        case 'm': mult = 60; break;
        case 'h': mult = 3600; break;
        case 'd': mult = 86400; break;
        case 'w': mult = 604800; break;
        default:
            *why = "unknown time unit";
            return false;
        }
        if (!digits) {
            *why = "time unit without a number";
            return false;
        }
        total += cur * mult;
        if (total > 0xffffffffu) {
            *why = "out of range (0 to 4294967295)";
            return false;
        }
        cur = 0;
        digits = false;
    }
    total += cur;
    if (total > 0xffffffffu) {
        *why = "out of range (0 to 4294967295)";
        return false;
    }
    *ttl = (uint32_t)total;
    return true;
}

/* ------------------------------------------------------------- names */

/* Characters allowed unescaped in a name (as knot's scanner). */
static const uint8_t name_ok[256] = {
    ['-'] = 1, ['_'] = 1, ['/'] = 1, ['*'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1,
    ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1,
    ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1,
    ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1,
    ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
};

int dql_zone_name_parse(const char *s, size_t n, const uint8_t *origin, size_t olen, uint8_t *dst, const char **why)
{
    if (n == 0) {
        *why = "empty name";
        return -1;
    }
    if (n == 1) {
        if (s[0] == '@') {
            memcpy(dst, origin, olen);
            return (int)olen;
        }
        if (s[0] == '.') {
            dst[0] = 0;
            return 1;
        }
    }
    size_t w = 1, lab = 0, i = 0;
    while (i < n) {
        /* a run of plain characters */
        size_t st = i;
        while (i < n && name_ok[(unsigned char)s[i]])
            i++;
        if (i > st) {
            size_t run = i - st, ll = w - lab - 1;
            if (ll + run > 63 || w + run > 254) {
                size_t k_label = 63 - ll, k_name = 254 - w;
                *why = (ll + run > 63 && k_label <= k_name) || w + run <= 254 ? "label longer than 63 octets"
                                                                              : "name longer than 255 octets";
                return -1;
            }
            memcpy(dst + w, s + st, run);
            w += run;
            if (i == n)
                break;
        }
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            size_t ll = w - lab - 1;
            if (ll == 0) {
                *why = "empty label";
                return -1;
            }
            dst[lab] = (uint8_t)ll;
            if (i + 1 == n) {
                dst[w++] = 0;
                return (int)w;
            }
            if (w >= 254) {
                *why = "name longer than 255 octets";
                return -1;
            }
            lab = w++;
            i++;
            continue;
        }
        if (c == '\\') {
            if (i + 1 >= n) {
                *why = "backslash at the end";
                return -1;
            }
            unsigned char d = (unsigned char)s[i + 1];
            if (d >= '0' && d <= '9') {
                if (i + 3 >= n) {
                    *why = "\\DDD needs three digits";
                    return -1;
                }
                unsigned v = 0;
                for (int k = 1; k <= 3; k++) {
                    unsigned char x = (unsigned char)s[i + k];
                    if (x < '0' || x > '9') {
                        *why = "\\DDD needs three digits";
                        return -1;
                    }
                    v = v * 10 + (x - '0');
                }
                if (v > 255) {
                    *why = "\\DDD out of range";
                    return -1;
                }
                c = (unsigned char)v;
                i += 4;
            } else {
                c = d;
                i += 2;
            }
        } else {
            if (!name_ok[c]) {
                *why = "invalid character";
                return -1;
            }
            i++;
        }
        if (w - lab - 1 >= 63) {
            *why = "label longer than 63 octets";
            return -1;
        }
        if (w >= 254) {
            *why = "name longer than 255 octets";
            return -1;
        }
        dst[w++] = c;
    }
    dst[lab] = (uint8_t)(w - lab - 1);
    if (w + olen > 255) {
        *why = "name longer than 255 octets";
        return -1;
    }
    memcpy(dst + w, origin, olen);
    return (int)(w + olen);
}

size_t dql_zone_name_len(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t l = p[i];
        if (l == 0)
            return i + 1 <= 255 ? i + 1 : 0;
        if (l > 63)
            return 0;
        i += 1 + (size_t)l;
    }
    return 0;
}

void dql_zone_name_text(dql_buf *out, const uint8_t *name, size_t len, bool lower, bool nodot)
{
    if (len <= 1) {
        dql_buf_putc(out, '.');
        return;
    }
    dql_buf_reserve(out, len * 4 + 2);
    char *w = out->p + out->len;
    size_t i = 0;
    while (i < len && name[i]) {
        uint8_t l = name[i++];
        for (uint8_t k = 0; k < l && i < len; k++, i++) {
            uint8_t c = name[i];
            if (name_ok[c]) {
                if (lower && c >= 'A' && c <= 'Z')
                    c |= 32;
                *w++ = (char)c;
            } else if (c > 32 && c < 127) {
                *w++ = '\\';
                *w++ = (char)c;
            } else {
                *w++ = '\\';
                *w++ = (char)('0' + c / 100);
                *w++ = (char)('0' + c / 10 % 10);
                *w++ = (char)('0' + c % 10);
            }
        }
        *w++ = '.';
    }
    if (nodot)
        w--;
    out->len = (size_t)(w - out->p);
}

/* ------------------------------------------------------------- parsing */

typedef struct pctx {
    const dql_zone_tok *t;
    int nt, i;
    const uint8_t *origin;
    size_t olen;
    uint8_t *out;
    size_t w;
    const char *why;
    int bad;
} pctx;

#define PFAIL(P, msg) do { (P)->why = (msg); (P)->bad = (P)->i; return false; } while (0)

static bool room(pctx *P, size_t n)
{
    if (P->w + n > DQL_ZONE_RDATA_MAX) {
        P->why = "rdata longer than 65535 octets";
        P->bad = P->i;
        return false;
    }
    return true;
}

static const dql_zone_tok *next_tok(pctx *P)
{
    return P->i < P->nt ? &P->t[P->i] : NULL;
}

static bool p_uint(pctx *P, uint64_t max, uint64_t *v)
{
    const dql_zone_tok *t = next_tok(P);
    if (!t)
        PFAIL(P, "missing field");
    if (t->quoted && t->len == 0)
        PFAIL(P, "not a number");
    if (!parse_uint(t->s, t->len, max, v)) {
        bool digits = t->len > 0;
        for (uint32_t k = 0; k < t->len; k++)
            digits = digits && t->s[k] >= '0' && t->s[k] <= '9';
        PFAIL(P, digits ? (max == 255 ? "number out of range (0 to 255)" : max == 65535 ? "number out of range (0 to 65535)"
                                                                               : "number out of range (0 to 4294967295)")
                        : "not a number");
    }
    P->i++;
    return true;
}

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }
static unsigned get16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static bool p_num(pctx *P, int bytes)
{
    uint64_t v;
    uint64_t max = bytes == 1 ? 255 : bytes == 2 ? 65535 : 0xffffffffu;
    if (!p_uint(P, max, &v) || !room(P, (size_t)bytes))
        return false;
    if (bytes == 1)
        P->out[P->w] = (uint8_t)v;
    else if (bytes == 2)
        put16(P->out + P->w, (unsigned)v);
    else
        put32(P->out + P->w, (uint32_t)v);
    P->w += (size_t)bytes;
    return true;
}

static bool p_name(pctx *P)
{
    const dql_zone_tok *t = next_tok(P);
    if (!t)
        PFAIL(P, "missing name");
    if (t->quoted)
        PFAIL(P, "a name cannot be quoted");
    if (!room(P, 255))
        return false;
    const char *why;
    int n = dql_zone_name_parse(t->s, t->len, P->origin, P->olen, P->out + P->w, &why);
    if (n < 0)
        PFAIL(P, why);
    P->w += (size_t)n;
    P->i++;
    return true;
}

/* Unescapes a char-string token into out (len byte first when lenbyte). */
static bool p_string_tok(pctx *P, const dql_zone_tok *t, bool lenbyte)
{
    size_t start = P->w;
    if (!room(P, (lenbyte ? 1 : 0) + t->len))
        return false;
    if (lenbyte)
        P->w++;
    uint8_t *o = P->out;
    for (uint32_t k = 0; k < t->len; k++) {
        unsigned char c = (unsigned char)t->s[k];
        if (c == '\\') {
            if (k + 1 >= t->len)
                PFAIL(P, "backslash at the end of a string");
            unsigned char d = (unsigned char)t->s[k + 1];
            if (d >= '0' && d <= '9') {
                if (k + 3 >= t->len)
                    PFAIL(P, "\\DDD needs three digits");
                unsigned v = 0;
                for (int j = 1; j <= 3; j++) {
                    unsigned char x = (unsigned char)t->s[k + (uint32_t)j];
                    if (x < '0' || x > '9')
                        PFAIL(P, "\\DDD needs three digits");
                    v = v * 10 + (x - '0');
                }
                if (v > 255)
                    PFAIL(P, "\\DDD out of range");
                c = (unsigned char)v;
                k += 3;
            } else {
                c = d;
                k++;
            }
        }
        o[P->w++] = c;
    }
    if (lenbyte) {
        size_t n = P->w - start - 1;
        if (n > 255)
            PFAIL(P, "string longer than 255 octets");
        o[start] = (uint8_t)n;
    }
    return true;
}

static bool p_string(pctx *P)
{
    const dql_zone_tok *t = next_tok(P);
    if (!t)
        PFAIL(P, "missing string");
    if (!p_string_tok(P, t, true))
        return false;
    P->i++;
    return true;
}

/* A char-string longer than 255 octets is split into several (as knot). */
static bool p_strings_split(pctx *P)
{
    const dql_zone_tok *t = next_tok(P);
    size_t start = P->w;
    if (!p_string_tok(P, t, false))
        return false;
    size_t n = P->w - start;
    if (n <= 255) {
        if (!room(P, 1))
            return false;
        memmove(P->out + start + 1, P->out + start, n);
        P->out[start] = (uint8_t)n;
        P->w++;
        P->i++;
        return true;
    }
    size_t chunks = (n + 254) / 255;
    if (!room(P, chunks))
        return false;
    /* spread from the end so nothing is overwritten */
    size_t src = start + n, dst = start + n + chunks;
    for (size_t c = chunks; c-- > 0;) {
        size_t len = c == chunks - 1 ? n - c * 255 : 255;
        src -= len;
        dst -= len;
        memmove(P->out + dst, P->out + src, len);
        P->out[--dst] = (uint8_t)len;
    }
    P->w += chunks;
    P->i++;
    return true;
}

static const int8_t b64val[256] = {
    ['A'] = 1, /* filled at first use */
};
static int8_t b64tab[256];
static int8_t hexval[256];
static int8_t b32val[256];

static void init_codec_tables(void)
{
    static bool done;
    if (done)
        return;
    (void)b64val;
    memset(b64tab, -1, sizeof b64tab);
    memset(hexval, -1, sizeof hexval);
    memset(b32val, -1, sizeof b32val);
    const char *b = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; i++)
        b64tab[(unsigned char)b[i]] = (int8_t)i;
    for (int i = 0; i < 10; i++)
        hexval['0' + i] = (int8_t)i, b32val['0' + i] = (int8_t)i;
    for (int i = 0; i < 6; i++)
        hexval['a' + i] = hexval['A' + i] = (int8_t)(10 + i);
    for (int i = 0; i < 22; i++)
        b32val['a' + i] = b32val['A' + i] = (int8_t)(10 + i);
    done = true;
}

/* Base64 over the remaining tokens; each token a whole number of quads,
 * padding only at the very end. */
static bool p_base64(pctx *P, bool may_be_empty)
{
    if (P->i >= P->nt) {
        if (may_be_empty)
            return true;
        PFAIL(P, "missing base64 data");
    }
    bool ended = false;
    for (; P->i < P->nt; P->i++) {
        const dql_zone_tok *t = &P->t[P->i];
        if (t->quoted)
            PFAIL(P, "base64 data cannot be quoted");
        if (ended)
            PFAIL(P, "base64 data after padding");
        if (t->len % 4)
            PFAIL(P, "base64 block not a multiple of 4 characters");
        if (!room(P, t->len / 4 * 3))
            return false;
        for (uint32_t k = 0; k < t->len; k += 4) {
            int v[4], pad = 0;
            for (int j = 0; j < 4; j++) {
                unsigned char c = (unsigned char)t->s[k + (uint32_t)j];
                if (c == '=') {
                    if (j < 2)
                        PFAIL(P, "bad base64 padding");
                    pad++;
                    v[j] = 0;
                    continue;
                }
                if (pad)
                    PFAIL(P, "bad base64 padding");
                if ((v[j] = b64tab[c]) < 0)
                    PFAIL(P, "bad base64 character");
            }
            if (pad && k + 4 < t->len)
                PFAIL(P, "base64 data after padding");
            unsigned acc = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
            P->out[P->w++] = (uint8_t)(acc >> 16);
            if (pad < 2)
                P->out[P->w++] = (uint8_t)(acc >> 8);
            if (pad < 1)
                P->out[P->w++] = (uint8_t)acc;
            if (pad)
                ended = true;
        }
    }
    return true;
}

/* Hex over the remaining tokens (an even number of digits in all). */
static bool p_hex(pctx *P, bool may_be_empty)
{
    if (P->i >= P->nt) {
        if (may_be_empty)
            return true;
        PFAIL(P, "missing hex data");
    }
    int half = -1;
    for (; P->i < P->nt; P->i++) {
        const dql_zone_tok *t = &P->t[P->i];
        if (t->quoted)
            PFAIL(P, "hex data cannot be quoted");
        for (uint32_t k = 0; k < t->len; k++) {
            int v = hexval[(unsigned char)t->s[k]];
            if (v < 0)
                PFAIL(P, "bad hex character");
            if (half < 0) {
                half = v;
            } else {
                if (!room(P, 1))
                    return false;
                P->out[P->w++] = (uint8_t)(half << 4 | v);
                half = -1;
            }
        }
    }
    if (half >= 0) {
        P->i--;
        PFAIL(P, "odd number of hex digits");
    }
    return true;
}

static bool p_salt(pctx *P)
{
    const dql_zone_tok *t = next_tok(P);
    if (!t)
        PFAIL(P, "missing salt");
    if (!room(P, 1 + t->len / 2))
        return false;
    size_t at = P->w++;
    if (t->len == 1 && t->s[0] == '-') {
        P->out[at] = 0;
        P->i++;
        return true;
    }
    if (t->len % 2 || t->len == 0 || t->len > 510)
        PFAIL(P, t->len > 510 ? "salt longer than 255 octets" : "odd number of hex digits");
    for (uint32_t k = 0; k < t->len; k += 2) {
        int a = hexval[(unsigned char)t->s[k]], b = hexval[(unsigned char)t->s[k + 1]];
        if (a < 0 || b < 0)
            PFAIL(P, "bad hex character");
        P->out[P->w++] = (uint8_t)(a << 4 | b);
    }
    P->out[at] = (uint8_t)(t->len / 2);
    P->i++;
    return true;
}

static bool p_base32hex(pctx *P)
{
    const dql_zone_tok *t = next_tok(P);
    if (!t)
        PFAIL(P, "missing base32hex data");
    if (t->quoted || t->len == 0 || t->len % 8)
        PFAIL(P, "base32hex block not a multiple of 8 characters");
    if (!room(P, 1 + t->len))
        return false;
    size_t at = P->w++;
    for (uint32_t k = 0; k < t->len; k += 8) {
        int v[8], pad = 0;
        for (int j = 0; j < 8; j++) {
            unsigned char c = (unsigned char)t->s[k + (uint32_t)j];
            if (c == '=') {
                pad++;
                v[j] = 0;
                continue;
            }
            if (pad || (v[j] = b32val[c]) < 0)
                PFAIL(P, "bad base32hex character");
        }
        /* valid paddings: 0, 1, 3, 4, 6 characters */
        static const int bytes_for_pad[9] = { 5, 4, -1, 3, 2, -1, 1, -1, -1 };
        int nb = bytes_for_pad[pad];
        if (nb < 0 || (pad && k + 8 < t->len))
            PFAIL(P, "bad base32hex padding");
        uint64_t acc = 0;
        for (int j = 0; j < 8; j++)
            acc = acc << 5 | (uint64_t)v[j];
        for (int j = 0; j < nb; j++)
            P->out[P->w++] = (uint8_t)(acc >> (32 - 8 * j));
    }
    size_t n = P->w - at - 1;
    if (n > 255)
        PFAIL(P, "hash longer than 255 octets");
    P->out[at] = (uint8_t)n;
    P->i++;
    return true;
}

static int cmp_u16(const void *a, const void *b)
{
    return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

static bool p_bitmap(pctx *P)
{
    uint16_t types[1024];
    int n = 0;
    for (; P->i < P->nt; P->i++) {
        const dql_zone_tok *t = &P->t[P->i];
        uint16_t ty;
        if (t->quoted || !dql_zone_type_parse(t->s, t->len, &ty))
            PFAIL(P, "unknown type in the type bitmap");
        if (n == 1024)
            PFAIL(P, "too many types in the type bitmap");
        types[n++] = ty;
    }
    qsort(types, (size_t)n, sizeof types[0], cmp_u16);
    int i = 0;
    while (i < n) {
        int win = types[i] >> 8;
        uint8_t bm[32];
        memset(bm, 0, sizeof bm);
        int maxb = 0;
        while (i < n && (types[i] >> 8) == win) {
            int lo = types[i] & 255;
            bm[lo >> 3] |= (uint8_t)(0x80 >> (lo & 7));
            if ((lo >> 3) + 1 > maxb)
                maxb = (lo >> 3) + 1;
            i++;
        }
        if (!room(P, 2 + (size_t)maxb))
            return false;
        P->out[P->w++] = (uint8_t)win;
        P->out[P->w++] = (uint8_t)maxb;
        memcpy(P->out + P->w, bm, (size_t)maxb);
        P->w += (size_t)maxb;
    }
    return true;
}

typedef struct mnem { const char *s; unsigned v; } mnem;
static const mnem algs[] = {
    { "RSAMD5", 1 }, { "DH", 2 }, { "DSA", 3 }, { "RSASHA1", 5 }, { "DSA-NSEC3-SHA1", 6 },
    { "RSASHA1-NSEC3-SHA1", 7 }, { "RSASHA256", 8 }, { "RSASHA512", 10 }, { "ECC-GOST", 12 },
    { "ECDSAP256SHA256", 13 }, { "ECDSAP384SHA384", 14 }, { "ED25519", 15 }, { "ED448", 16 },
    { "INDIRECT", 252 }, { "PRIVATEDNS", 253 }, { "PRIVATEOID", 254 }, { NULL, 0 },
};
static const mnem certs[] = {
    { "PKIX", 1 }, { "SPKI", 2 }, { "PGP", 3 }, { "IPKIX", 4 }, { "ISPKI", 5 }, { "IPGP", 6 },
    { "ACPKIX", 7 }, { "IACPKIX", 8 }, { "URI", 253 }, { "OID", 254 }, { NULL, 0 },
};
static const mnem schemes[] = { { "NOTIFY", 1 }, { NULL, 0 } };

static bool p_mnem(pctx *P, const mnem *tab, int bytes)
{
    const dql_zone_tok *t = next_tok(P);
    if (!t)
        PFAIL(P, "missing field");
    if (t->len && !(t->s[0] >= '0' && t->s[0] <= '9')) {
        for (const mnem *m = tab; m->s; m++) {
            if (strlen(m->s) == t->len && strncasecmp(m->s, t->s, t->len) == 0) {
                if (!room(P, (size_t)bytes))
                    return false;
                if (bytes == 1)
                    P->out[P->w] = (uint8_t)m->v;
                else
                    put16(P->out + P->w, m->v);
                P->w += (size_t)bytes;
                P->i++;
                return true;
            }
        }
        PFAIL(P, "unknown mnemonic");
    }
    return p_num(P, bytes);
}

static bool p_type(pctx *P)
{
    const dql_zone_tok *t = next_tok(P);
    uint16_t ty;
    if (!t)
        PFAIL(P, "missing type");
    if (t->quoted || !dql_zone_type_parse(t->s, t->len, &ty))
        PFAIL(P, "unknown type");
    if (!room(P, 2))
        return false;
    put16(P->out + P->w, ty);
    P->w += 2;
    P->i++;
    return true;
}

static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

static bool p_time(pctx *P)
{
    const dql_zone_tok *t = next_tok(P);
    if (!t)
        PFAIL(P, "missing time");
    uint32_t v;
    if (t->len == 14) {
        int f[6], w[6] = { 4, 2, 2, 2, 2, 2 }, at = 0;
        for (int k = 0; k < 6; k++) {
            int x = 0;
            for (int j = 0; j < w[k]; j++) {
                unsigned char c = (unsigned char)t->s[at++];
                if (c < '0' || c > '9')
                    PFAIL(P, "bad time");
                x = x * 10 + (c - '0');
            }
            f[k] = x;
        }
        if (f[0] < 1970 || f[0] > 2225 || f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > mdays[f[1] - 1] || f[3] > 23 || f[4] > 59 ||
            f[5] > 59)
            PFAIL(P, "bad time");
        bool leap = (f[0] % 4 == 0 && f[0] % 100 != 0) || f[0] % 400 == 0;
        if (f[1] == 2 && f[2] == 29 && !leap)
            PFAIL(P, "bad time");
        /* days since 1970 */
        int64_t y = f[0], m = f[1], d = f[2];
        y -= m <= 2;
        int64_t era = (y >= 0 ? y : y - 399) / 400;
        int64_t yoe = y - era * 400;
        int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        int64_t days = era * 146097 + doe - 719468;
        int64_t secs = days * 86400 + f[3] * 3600 + f[4] * 60 + f[5];
        v = (uint32_t)(uint64_t)secs;   /* serial arithmetic: modulo 2^32 */
    } else {
        uint64_t x;
        if (t->len > 10 || !parse_uint(t->s, t->len, 0xffffffffu, &x))
            PFAIL(P, "bad time");
        v = (uint32_t)x;
    }
    if (!room(P, 4))
        return false;
    put32(P->out + P->w, v);
    P->w += 4;
    P->i++;
    return true;
}

static bool p_ip(pctx *P, int fam)
{
    const dql_zone_tok *t = next_tok(P);
    if (!t)
        PFAIL(P, "missing address");
    uint8_t ip[16];
    int len;
    if (t->quoted || t->len > 45 || !dql_ip_parse(t->s, t->len, ip, &len) || len != fam)
        PFAIL(P, fam == 4 ? "bad IPv4 address" : "bad IPv6 address");
    if (!room(P, (size_t)fam))
        return false;
    memcpy(P->out + P->w, ip, (size_t)fam);
    P->w += (size_t)fam;
    P->i++;
    return true;
}

/* Strict dotted quad (dql_ip_parse may accept other forms). */
static bool ipv4_strict(const char *s, size_t n, uint8_t out[4])
{
    int part = 0;
    unsigned v = 0, nd = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (nd == 0 || v > 255 || part > 3)
                return false;
            out[part++] = (uint8_t)v;
            v = 0;
            nd = 0;
            continue;
        }
        if (s[i] < '0' || s[i] > '9' || ++nd > 3)
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    return part == 4;
}

static bool p_a(pctx *P)
{
    const dql_zone_tok *t = next_tok(P);
    if (!t)
        PFAIL(P, "missing address");
    if (!room(P, 4))
        return false;
    if (t->quoted || !ipv4_strict(t->s, t->len, P->out + P->w))
        PFAIL(P, "bad IPv4 address");
    P->w += 4;
    P->i++;
    return true;
}

static bool p_eui(pctx *P, int n)
{
    const dql_zone_tok *t = next_tok(P);
    if (!t)
        PFAIL(P, "missing address");
    if (t->len != (uint32_t)(n * 3 - 1))
        PFAIL(P, "bad EUI length");
    if (!room(P, (size_t)n))
        return false;
    for (int k = 0; k < n; k++) {
        int a = hexval[(unsigned char)t->s[k * 3]], b = hexval[(unsigned char)t->s[k * 3 + 1]];
        if (a < 0 || b < 0 || (k + 1 < n && t->s[k * 3 + 2] != '-'))
            PFAIL(P, "bad EUI address");
        P->out[P->w++] = (uint8_t)(a << 4 | b);
    }
    P->i++;
    return true;
}

static bool p_loc64(pctx *P)
{
    const dql_zone_tok *t = next_tok(P);
    if (!t)
        PFAIL(P, "missing locator");
    if (t->len != 19)
        PFAIL(P, "bad locator");
    if (!room(P, 8))
        return false;
    for (int g = 0; g < 4; g++) {
        const char *s = t->s + g * 5;
        if (g < 3 && s[4] != ':')
            PFAIL(P, "bad locator");
        int v[4];
        for (int k = 0; k < 4; k++)
            if ((v[k] = hexval[(unsigned char)s[k]]) < 0)
                PFAIL(P, "bad locator");
        P->out[P->w++] = (uint8_t)(v[0] << 4 | v[1]);
        P->out[P->w++] = (uint8_t)(v[2] << 4 | v[3]);
    }
    P->i++;
    return true;
}

static bool p_nsap(pctx *P)
{
    const dql_zone_tok *t = next_tok(P);
    if (!t)
        PFAIL(P, "missing NSAP");
    if (t->len < 3 || t->s[0] != '0' || (t->s[1] | 32) != 'x')
        PFAIL(P, "NSAP must start with 0x");
    int half = -1;
    for (uint32_t k = 2; k < t->len; k++) {
        if (t->s[k] == '.')
            continue;
        int v = hexval[(unsigned char)t->s[k]];
        if (v < 0)
            PFAIL(P, "bad hex character");
        if (half < 0)
            half = v;
        else {
            if (!room(P, 1))
                return false;
            P->out[P->w++] = (uint8_t)(half << 4 | v);
            half = -1;
        }
    }
    if (half >= 0)
        PFAIL(P, "odd number of hex digits");
    P->i++;
    return true;
}

static bool p_caa_tag(pctx *P)
{
    const dql_zone_tok *t = next_tok(P);
    if (!t)
        PFAIL(P, "missing tag");
    if (t->len > 255)
        PFAIL(P, "bad CAA tag");
    for (uint32_t k = 0; k < t->len; k++) {
        unsigned char c = (unsigned char)t->s[k];
        if (!((c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z')))
            PFAIL(P, "bad CAA tag");
    }
    if (!room(P, 1 + t->len))
        return false;
    P->out[P->w++] = (uint8_t)t->len;
    memcpy(P->out + P->w, t->s, t->len);
    P->w += t->len;
    P->i++;
    return true;
}

/* ------------------------------------------------------------ specials */

/* LOC (RFC 1876). */
static bool loc_size(const char *s, size_t n, bool is_alt, int64_t *cm)
{
    if (n && (s[n - 1] == 'm' || s[n - 1] == 'M'))
        n--;
    if (n == 0)
        return false;
    size_t i = 0;
    bool neg = false;
    if (is_alt && s[0] == '-') {
        neg = true;
        i++;
    }
    int64_t m = 0;
    int nd = 0;
    for (; i < n && s[i] != '.'; i++) {
        if (s[i] < '0' || s[i] > '9' || ++nd > 9)
            return false;
        m = m * 10 + (s[i] - '0');
    }
    if (nd == 0)
        return false;
    int64_t frac = 0;
    if (i < n) {
        i++;
        int fd = 0;
        for (; i < n; i++) {
            if (s[i] < '0' || s[i] > '9' || ++fd > 2)
                return false;
            frac = frac * 10 + (s[i] - '0');
        }
        if (fd == 1)
            frac *= 10;
        if (fd == 0)
            return false;
    }
    *cm = (m * 100 + frac) * (neg ? -1 : 1);
    return true;
}

static uint8_t loc_prec(int64_t cm)
{
    int e = 0;
    while (cm >= 10 && e < 9) {
        cm /= 10;
        e++;
    }
    /* cm now the mantissa */
    if (cm > 9)
        cm = 9;
    return (uint8_t)(cm << 4 | e);
}

static bool loc_prec_exact(int64_t cm, uint8_t *out)
{
    int e = 0;
    int64_t c = cm;
    while (c >= 10 && c % 10 == 0 && e < 9) {
        c /= 10;
        e++;
    }
    if (c > 9)
        return false;
    (void)loc_prec;
    *out = (uint8_t)(c << 4 | e);
    return true;
}

static bool loc_coord(pctx *P, bool lat, uint32_t *out)
{
    const dql_zone_tok *t;
    uint64_t deg, min = 0;
    int64_t ms = 0;
    if (!p_uint(P, lat ? 90 : 180, &deg))
        return false;
    t = next_tok(P);
    if (t && t->len && t->s[0] >= '0' && t->s[0] <= '9') {
        if (!p_uint(P, 59, &min))
            return false;
        t = next_tok(P);
        if (t && t->len && t->s[0] >= '0' && t->s[0] <= '9') {
            /* seconds with up to 3 decimals */
            int64_t s = 0, frac = 0;
            uint32_t k = 0;
            int nd = 0, fd = 0;
            for (; k < t->len && t->s[k] != '.'; k++) {
                if (t->s[k] < '0' || t->s[k] > '9' || ++nd > 2)
                    PFAIL(P, "bad LOC seconds");
                s = s * 10 + (t->s[k] - '0');
            }
            if (k < t->len) {
                for (k++; k < t->len; k++) {
                    if (t->s[k] < '0' || t->s[k] > '9' || ++fd > 3)
                        PFAIL(P, "bad LOC seconds");
                    frac = frac * 10 + (t->s[k] - '0');
                }
                if (fd == 0)
                    PFAIL(P, "bad LOC seconds");
                while (fd++ < 3)
                    frac *= 10;
            }
            if (s > 59)
                PFAIL(P, "bad LOC seconds");
            ms = s * 1000 + frac;
            P->i++;
        }
    }
    t = next_tok(P);
    if (!t || t->len != 1)
        PFAIL(P, "bad LOC hemisphere");
    char h = (char)(t->s[0] & ~32);
    int sign;
    if (lat && (h == 'N' || h == 'S'))
        sign = h == 'N' ? 1 : -1;
    else if (!lat && (h == 'E' || h == 'W'))
        sign = h == 'E' ? 1 : -1;
    else
        PFAIL(P, "bad LOC hemisphere");
    int64_t v = (int64_t)deg * 3600000 + (int64_t)min * 60000 + ms;
    *out = (uint32_t)((int64_t)0x80000000LL + sign * v);
    P->i++;
    return true;
}

static bool p_loc(pctx *P)
{
    uint32_t lat, lon;
    if (!loc_coord(P, true, &lat) || !loc_coord(P, false, &lon))
        return false;
    const dql_zone_tok *t = next_tok(P);
    int64_t alt;
    if (!t || !loc_size(t->s, t->len, true, &alt))
        PFAIL(P, "bad LOC altitude");
    if (alt < -10000000 || alt > 4284967295LL)
        PFAIL(P, "LOC altitude out of range");
    P->i++;
    int64_t v[3] = { 100, 1000000, 1000 };   /* size 1m, horiz 10km, vert 10m */
    uint8_t enc[3];
    for (int k = 0; k < 3; k++) {
        t = next_tok(P);
        if (t) {
            if (!loc_size(t->s, t->len, false, &v[k]) || v[k] > 9000000000LL)
                PFAIL(P, "bad LOC size");
            P->i++;
        }
        if (!loc_prec_exact(v[k], &enc[k])) {
            /* not representable exactly: round down as BIND does */
            int e = 0;
            int64_t c = v[k];
            while (c >= 10) {
                c /= 10;
                e++;
            }
            enc[k] = (uint8_t)(c << 4 | e);
        }
    }
    if (P->i < P->nt)
        PFAIL(P, "extra LOC data");
    if (!room(P, 16))
        return false;
    uint8_t *o = P->out + P->w;
    o[0] = 0;
    o[1] = enc[0];
    o[2] = enc[1];
    o[3] = enc[2];
    put32(o + 4, lat);
    put32(o + 8, lon);
    put32(o + 12, (uint32_t)(alt + 10000000));
    P->w += 16;
    return true;
}

static bool p_apl(pctx *P)
{
    for (; P->i < P->nt; P->i++) {
        const dql_zone_tok *t = &P->t[P->i];
        const char *s = t->s;
        size_t n = t->len;
        bool neg = false;
        if (n && s[0] == '!') {
            neg = true;
            s++;
            n--;
        }
        const char *colon = memchr(s, ':', n), *slash = memchr(s, '/', n);
        if (!colon || !slash || slash < colon)
            PFAIL(P, "bad APL item");
        uint64_t afi, pfx;
        if (!parse_uint(s, (size_t)(colon - s), 65535, &afi) || (afi != 1 && afi != 2))
            PFAIL(P, "bad APL address family");
        uint8_t ip[16];
        int len;
        size_t al = (size_t)(slash - colon - 1);
        if (al > 45 || !dql_ip_parse(colon + 1, al, ip, &len) || len != (afi == 1 ? 4 : 16))
            PFAIL(P, "bad APL address");
        if (afi == 1 && !ipv4_strict(colon + 1, al, ip))
            PFAIL(P, "bad APL address");
        if (!parse_uint(slash + 1, n - (size_t)(slash + 1 - s), afi == 1 ? 32 : 128, &pfx))
            PFAIL(P, "bad APL prefix");
        int dl = len;
        while (dl > 0 && ip[dl - 1] == 0)
            dl--;
        if (!room(P, 4 + (size_t)dl))
            return false;
        put16(P->out + P->w, (unsigned)afi);
        P->out[P->w + 2] = (uint8_t)pfx;
        P->out[P->w + 3] = (uint8_t)((neg ? 0x80 : 0) | dl);
        memcpy(P->out + P->w + 4, ip, (size_t)dl);
        P->w += 4 + (size_t)dl;
    }
    return true;
}

static bool p_ipseckey(pctx *P)
{
    size_t at = P->w;
    if (!p_num(P, 1))
        return false;
    uint64_t gt;
    size_t gtat = P->w;
    if (!p_num(P, 1))
        return false;
    gt = P->out[gtat];
    if (!p_num(P, 1))
        return false;
    (void)at;
    const dql_zone_tok *t = next_tok(P);
    if (!t)
        PFAIL(P, "missing gateway");
    switch (gt) {
    case 0:
        if (t->len != 1 || t->s[0] != '.')
            PFAIL(P, "gateway type 0 needs '.'");
        P->i++;
        break;
    case 1:
        if (!p_a(P))
            return false;
        break;
    case 2:
        if (!p_ip(P, 16))
            return false;
        break;
    case 3:
        if (!p_name(P))
            return false;
        break;
    default:
        P->i--;
        PFAIL(P, "bad gateway type");
    }
    if (P->out[gtat + 1] == 0) {
        if (P->i < P->nt)
            PFAIL(P, "algorithm 0 takes no public key");
        return true;
    }
    return p_base64(P, false);
}

/* SVCB / HTTPS (RFC 9460). */
static const char *const svc_keys[] = { "mandatory", "alpn", "no-default-alpn", "port", "ipv4hint", "ech",
                                        "ipv6hint", "dohpath", "ohttp" };
#define NSVCKEYS 9

static bool svc_key_parse(const char *s, size_t n, unsigned *key)
{
    for (unsigned k = 0; k < NSVCKEYS; k++)
        if (strlen(svc_keys[k]) == n && memcmp(svc_keys[k], s, n) == 0) {
            *key = k;
            return true;
        }
    if (n > 3 && memcmp(s, "key", 3) == 0) {
        uint64_t v;
        if (n > 4 && s[3] == '0')
            return false;
        if (!parse_uint(s + 3, n - 3, 65535, &v))
            return false;
        *key = (unsigned)v;
        return true;
    }
    return false;
}

/* Unescapes a value (char-string rules) into buf; returns length or -1. */
static int svc_unescape(const char *s, size_t n, uint8_t *buf, size_t cap)
{
    size_t w = 0;
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        if (c == '\\') {
            if (k + 1 >= n)
                return -1;
            unsigned char d = (unsigned char)s[k + 1];
            if (d >= '0' && d <= '9') {
                if (k + 3 >= n)
                    return -1;
                unsigned v = 0;
                for (int j = 1; j <= 3; j++) {
                    unsigned char x = (unsigned char)s[k + (size_t)j];
                    if (x < '0' || x > '9')
                        return -1;
                    v = v * 10 + (x - '0');
                }
                if (v > 255)
                    return -1;
                c = (unsigned char)v;
                k += 3;
            } else {
                c = d;
                k++;
            }
        }
        if (w >= cap)
            return -1;
        buf[w++] = c;
    }
    return (int)w;
}

typedef struct svcparam { unsigned key; size_t off, len; } svcparam;

static int cmp_svc(const void *a, const void *b)
{
    const svcparam *x = a, *y = b;
    return (int)x->key - (int)y->key;
}

static bool p_svcb(pctx *P)
{
    if (!p_num(P, 2) || !p_name(P))
        return false;
    /* values are built in a scratch area after the fixed part, then sorted */
    static __thread uint8_t scratch[DQL_ZONE_RDATA_MAX + 16];
    svcparam ps[64];
    int np = 0;
    size_t sw = 0;
    for (; P->i < P->nt; P->i++) {
        const dql_zone_tok *t = &P->t[P->i];
        if (t->quoted)
            PFAIL(P, "bad SVCB parameter");
        const char *eq = memchr(t->s, '=', t->len);
        size_t kl = eq ? (size_t)(eq - t->s) : t->len;
        bool named = !(kl > 3 && memcmp(t->s, "key", 3) == 0);
        unsigned key;
        if (!svc_key_parse(t->s, kl, &key))
            PFAIL(P, "unknown SVCB parameter");
        if (np == 64)
            PFAIL(P, "too many SVCB parameters");
        for (int k = 0; k < np; k++)
            if (ps[k].key == key)
                PFAIL(P, "duplicate SVCB parameter");
        const char *v = eq ? eq + 1 : NULL;
        size_t vl = eq ? t->len - kl - 1 : 0;
        if (v && vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
            v++;
            vl -= 2;
        } else if (v && vl == 0 && P->i + 1 < P->nt && P->t[P->i + 1].quoted) {
            /* key= "value" */
            P->i++;
            v = P->t[P->i].s;
            vl = P->t[P->i].len;
        }
        uint8_t raw[DQL_ZONE_RDATA_MAX];
        int rl = 0;
        if (v) {
            rl = svc_unescape(v, vl, raw, sizeof raw);
            if (rl < 0)
                PFAIL(P, "bad SVCB parameter value");
        }
        size_t start = sw;
        if (sw + 4 + (size_t)rl * 2 + 64 > sizeof scratch)
            PFAIL(P, "rdata longer than 65535 octets");
        switch (key) {
        case 0: case 1: {   /* comma lists: mandatory (keys), alpn (strings) */
            if (!v || rl == 0)
                PFAIL(P, "SVCB parameter needs a value");
            int i = 0;
            uint16_t keys[64];
            int nk = 0;
            while (i <= rl) {
                uint8_t item[256];
                int il = 0;
                while (i < rl && raw[i] != ',') {
                    if (raw[i] == '\\') {
                        if (i + 1 >= rl || (raw[i + 1] != ',' && raw[i + 1] != '\\'))
                            PFAIL(P, "bad escape in an SVCB list");
                        i++;
                    }
                    if (il == 255)
                        PFAIL(P, "SVCB value item longer than 255 octets");
                    item[il++] = raw[i++];
                }
                if (il == 0)
                    PFAIL(P, "empty item in an SVCB list");
                if (key == 1) {
                    scratch[start + 4 + (sw - start)] = (uint8_t)il;
                    memcpy(scratch + start + 4 + (sw - start) + 1, item, (size_t)il);
                    sw += 1 + (size_t)il;
                } else {
                    unsigned mk;
                    if (!svc_key_parse((const char *)item, (size_t)il, &mk) || mk == 0)
                        PFAIL(P, "bad key in mandatory");
                    for (int k = 0; k < nk; k++)
                        if (keys[k] == mk)
                            PFAIL(P, "duplicate key in mandatory");
                    if (nk == 64)
                        PFAIL(P, "too many keys in mandatory");
                    keys[nk++] = (uint16_t)mk;
                }
                if (i == rl)
                    break;
                i++;   /* the comma */
                if (i == rl)
                    PFAIL(P, "empty item in an SVCB list");
            }
            if (key == 0) {
                qsort(keys, (size_t)nk, sizeof keys[0], cmp_u16);
                for (int k = 0; k < nk; k++)
                    put16(scratch + start + 4 + 2 * (size_t)k, keys[k]);
                sw = start + 2 * (size_t)nk;
            }
            break;
        }
        case 2: case 8:   /* no-default-alpn, ohttp: no value */
            if (v)
                PFAIL(P, "SVCB parameter takes no value");
            break;
        case 3: {
            uint64_t port;
            if (!v || !parse_uint((const char *)raw, (size_t)rl, 65535, &port))
                PFAIL(P, "bad port");
            put16(scratch + start + 4, (unsigned)port);
            sw += 2;
            break;
        }
        case 4: case 6: {
            if (!v || rl == 0)
                PFAIL(P, "SVCB parameter needs a value");
            int i = 0;
            while (i < rl) {
                int j = i;
                while (j < rl && raw[j] != ',')
                    j++;
                uint8_t ip[16];
                int len;
                if (j == i || j - i > 45 || !dql_ip_parse((const char *)raw + i, (size_t)(j - i), ip, &len) ||
                    len != (key == 4 ? 4 : 16))
                    PFAIL(P, key == 4 ? "bad IPv4 address" : "bad IPv6 address");
                if (key == 4 && !ipv4_strict((const char *)raw + i, (size_t)(j - i), ip))
                    PFAIL(P, "bad IPv4 address");
                memcpy(scratch + start + 4 + (sw - start), ip, (size_t)len);
                sw += (size_t)len;
                i = j + 1;
                if (j < rl && i == rl)
                    PFAIL(P, "empty item in an SVCB list");
            }
            break;
        }
        case 5: {   /* ech: base64 */
            if (!v || rl == 0)
                PFAIL(P, "SVCB parameter needs a value");
            dql_zone_tok bt = { (const char *)raw, (uint32_t)rl, 0, 0 };
            pctx Q = { &bt, 1, 0, NULL, 0, scratch + start + 4, 0, NULL, 0 };
            if (!p_base64(&Q, false))
                PFAIL(P, "bad base64 in ech");
            sw += Q.w;
            break;
        }
        default:   /* dohpath and keyNNNNN: opaque */
            if (key == 7 && named && (!v || rl == 0))
                PFAIL(P, "SVCB parameter needs a value");
            memcpy(scratch + start + 4, raw, (size_t)rl);
            sw += (size_t)rl;
            break;
        }
        size_t vlen = sw - start;
        put16(scratch + start, key);
        put16(scratch + start + 2, (unsigned)vlen);
        sw += 4;
        ps[np].key = key;
        ps[np].off = start;
        ps[np].len = sw - start;
        np++;
    }
    /* every key in mandatory must be present */
    for (int k = 0; k < np; k++) {
        if (ps[k].key != 0)
            continue;
        size_t vl = get16(scratch + ps[k].off + 2);
        for (size_t j = 0; j < vl; j += 2) {
            unsigned mk = get16(scratch + ps[k].off + 4 + j);
            bool found = false;
            for (int q = 0; q < np; q++)
                found = found || ps[q].key == mk;
            if (!found)
                PFAIL(P, "a key in mandatory is missing");
        }
    }
    qsort(ps, (size_t)np, sizeof ps[0], cmp_svc);
    for (int k = 0; k < np; k++) {
        if (!room(P, ps[k].len))
            return false;
        memcpy(P->out + P->w, scratch + ps[k].off, ps[k].len);
        P->w += ps[k].len;
    }
    return true;
}

static bool p_wks(pctx *P)
{
    if (!p_a(P))
        return false;
    const dql_zone_tok *t = next_tok(P);
    if (!t)
        PFAIL(P, "missing protocol");
    uint8_t proto;
    if (t->len == 3 && strncasecmp(t->s, "tcp", 3) == 0)
        proto = 6;
    else if (t->len == 3 && strncasecmp(t->s, "udp", 3) == 0)
        proto = 17;
    else {
        uint64_t v;
        if (!parse_uint(t->s, t->len, 255, &v))
            PFAIL(P, "bad protocol");
        proto = (uint8_t)v;
    }
    P->i++;
    if (!room(P, 1 + 8192))
        return false;
    P->out[P->w++] = proto;
    uint8_t bm[8192];
    int maxb = 0;
    memset(bm, 0, sizeof bm);
    for (; P->i < P->nt; P->i++) {
        uint64_t port;
        t = &P->t[P->i];
        if (!parse_uint(t->s, t->len, 65535, &port))
            PFAIL(P, "bad port (only numbers)");
        bm[port >> 3] |= (uint8_t)(0x80 >> (port & 7));
        if ((int)(port >> 3) + 1 > maxb)
            maxb = (int)(port >> 3) + 1;
    }
    memcpy(P->out + P->w, bm, (size_t)maxb);
    P->w += (size_t)maxb;
    return true;
}

/* Checks that wire rdata given in \# form is well formed for its type. */
static bool wire_valid(uint16_t type, const uint8_t *rd, size_t n);

int dql_zone_rdata_parse(uint16_t type, const dql_zone_tok *t, int nt, const uint8_t *origin, size_t olen,
                         uint8_t *out, const char **why, int *badtok)
{
    init_codec_tables();
    pctx P = { t, nt, 0, origin, olen, out, 0, NULL, -1 };
    *badtok = -1;
    if (type != 0 && is_meta(type)) {
        *why = "this type cannot appear in a zone file";
        return -1;
    }
    /* RFC 3597: \# length hex */
    if (nt > 0 && !t[0].quoted && t[0].len == 2 && t[0].s[0] == '\\' && t[0].s[1] == '#') {
        uint64_t len;
        P.i = 1;
        if (!p_uint(&P, 65535, &len)) {
            *why = "bad length after \\#";
            *badtok = P.bad;
            return -1;
        }
        if (!p_hex(&P, true)) {
            *why = P.why;
            *badtok = P.bad;
            return -1;
        }
        if (P.w != len) {
            *why = "\\# length does not match the data";
            *badtok = 1;
            return -1;
        }
        if (!wire_valid(type, out, P.w)) {
            *why = "\\# data is not valid for this type";
            *badtok = 1;
            return -1;
        }
        return (int)P.w;
    }
    const rrdesc *d = desc_of(type);
    bool ok = true;
    if (d && is_special(type)) {
        switch (type) {
        case 29: ok = p_loc(&P); break;
        case 42: ok = p_apl(&P); break;
        case 45: ok = p_ipseckey(&P); break;
        case 11: ok = p_wks(&P); break;
        default: ok = p_svcb(&P); break;
        }
    } else if (d && d->codes) {
        /* fast paths */
        const char *c = d->codes;
        if (c[0] == 'N' && c[1] == 0 && nt == 1 && !t[0].quoted) {
            int n = dql_zone_name_parse(t[0].s, t[0].len, origin, olen, out, why);
            if (n < 0)
                *badtok = 0;
            return n;
        }
        for (; ok && *c; c++) {
            switch (*c) {
            case 'N': ok = p_name(&P); break;
            case '1': ok = p_num(&P, 1); break;
            case '2': ok = p_num(&P, 2); break;
            case '4': ok = p_num(&P, 4); break;
            case 'P': {
                const dql_zone_tok *x = next_tok(&P);
                uint32_t v;
                const char *w;
                if (!x) {
                    P.why = "missing field";
                    P.bad = P.i;
                    ok = false;
                } else if (x->quoted || !dql_zone_ttl_parse(x->s, x->len, &v, &w)) {
                    P.why = x->quoted ? "not a number" : w;
                    P.bad = P.i;
                    ok = false;
                } else if ((ok = room(&P, 4))) {
                    put32(out + P.w, v);
                    P.w += 4;
                    P.i++;
                }
                break;
            }
            case 'a': ok = p_a(&P); break;
            case '6': ok = p_ip(&P, 16); break;
            case 's': ok = p_string(&P); break;
            case 'S':
                if (P.i >= nt) {
                    P.why = "missing string";
                    ok = false;
                }
                while (ok && P.i < nt)
                    ok = p_strings_split(&P);
                break;
            case 'b': ok = p_base64(&P, false); break;
            case 'B': ok = p_base64(&P, true); break;
            case 'x': ok = p_hex(&P, false); break;
            case 'X': ok = p_hex(&P, true); break;
            case 'h': ok = p_salt(&P); break;
            case 'z': ok = p_base32hex(&P); break;
            case 'm': ok = p_bitmap(&P); break;
            case 't': ok = p_type(&P); break;
            case 'g': ok = p_mnem(&P, algs, 1); break;
            case 'c': ok = p_mnem(&P, certs, 2); break;
            case 'D': ok = p_mnem(&P, schemes, 1); break;
            case 'T': ok = p_time(&P); break;
            case 'u': {
                const dql_zone_tok *x = next_tok(&P);
                if (!x) {
                    P.why = "missing string";
                    ok = false;
                } else if ((ok = p_string_tok(&P, x, false))) {
                    P.i++;
                }
                break;
            }
            case 'k': ok = p_caa_tag(&P); break;
            case 'e': ok = p_eui(&P, 6); break;
            case 'E': ok = p_eui(&P, 8); break;
            case 'q': ok = p_loc64(&P); break;
            case 'n': ok = p_nsap(&P); break;
            default: ok = false; P.why = "internal: bad field code"; break;
            }
        }
    } else {
        *why = "unknown type: use the \\# form";
        *badtok = 0;
        return -1;
    }
    if (ok && P.i < nt) {
        P.why = "extra data after the record";
        P.bad = P.i;
        ok = false;
    }
    if (!ok) {
        *why = P.why ? P.why : "bad rdata";
        *badtok = P.bad;
        return -1;
    }
    return (int)P.w;
}

/* ------------------------------------------------------------ rendering */

static const char hexd[] = "0123456789ABCDEF";

static void put_hex(dql_buf *o, const uint8_t *p, size_t n)
{
    dql_buf_reserve(o, n * 2);
    char *w = o->p + o->len;
    for (size_t i = 0; i < n; i++) {
        *w++ = hexd[p[i] >> 4];
        *w++ = hexd[p[i] & 15];
    }
    o->len += n * 2;
}

static void put_b64(dql_buf *o, const uint8_t *p, size_t n)
{
    static const char b[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    dql_buf_reserve(o, (n + 2) / 3 * 4);
    char *w = o->p + o->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        *w++ = b[v >> 18];
        *w++ = b[(v >> 12) & 63];
        *w++ = b[(v >> 6) & 63];
        *w++ = b[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
        *w++ = b[v >> 18];
        *w++ = b[(v >> 12) & 63];
        *w++ = i + 1 < n ? b[(v >> 6) & 63] : '=';
        *w++ = '=';
    }
    o->len = (size_t)(w - o->p);
}

static void put_b32hex(dql_buf *o, const uint8_t *p, size_t n)
{
    static const char b[] = "0123456789abcdefghijklmnopqrstuv";
    uint64_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = acc << 8 | p[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            dql_buf_putc(o, b[(acc >> bits) & 31]);
        }
    }
    size_t chars = (n * 8 + 4) / 5;
    if (bits > 0)
        dql_buf_putc(o, b[(acc << (5 - bits)) & 31]);
    while (chars++ % 8)
        dql_buf_putc(o, '=');
}

/* A char-string as "...": '"' and '\' escaped, non-printables \DDD. */
static void put_qstring(dql_buf *o, const uint8_t *p, size_t n)
{
    dql_buf_reserve(o, n * 4 + 2);
    char *w = o->p + o->len;
    *w++ = '"';
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == '"' || c == '\\') {
            *w++ = '\\';
            *w++ = (char)c;
        } else if (c < 32 || c > 126) {
            *w++ = '\\';
            *w++ = (char)('0' + c / 100);
            *w++ = (char)('0' + c / 10 % 10);
            *w++ = (char)('0' + c % 10);
        } else {
            *w++ = (char)c;
        }
    }
    *w++ = '"';
    o->len = (size_t)(w - o->p);
}

static void put_u(dql_buf *o, uint64_t v)
{
    char tmp[24];
    int k = 0;
    do
        tmp[k++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    dql_buf_reserve(o, (size_t)k);
    while (k)
        o->p[o->len++] = tmp[--k];
}

static void put_time(dql_buf *o, uint32_t v)
{
    time_t tt = (time_t)v;
    struct tm tm;
    gmtime_r(&tt, &tm);
    dql_buf_printf(o, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                   tm.tm_min, tm.tm_sec);
}

static bool put_bitmap(dql_buf *o, const uint8_t *p, size_t n)
{
    size_t i = 0;
    bool first = true;
    while (i < n) {
        if (i + 2 > n)
            return false;
        unsigned win = p[i], len = p[i + 1];
        if (len == 0 || len > 32 || i + 2 + len > n)
            return false;
        for (unsigned b = 0; b < len * 8; b++) {
            if (p[i + 2 + b / 8] & (0x80 >> (b % 8))) {
                if (!first)
                    dql_buf_putc(o, ' ');
                first = false;
                dql_zone_type_text(o, (uint16_t)(win << 8 | b));
            }
        }
        i += 2 + len;
    }
    return true;
}


/* Walks wire rdata by field codes. For each field: appends its text to o
 * (when o) and records it in f (when f). Returns the number of fields, or
 * -1 when the rdata does not match the description. */
typedef struct walk {
    dql_buf *o;
    dql_zone_field *f;
    int max, nf;
    const char *names;   /* cursor in the space-separated names */
} walk;

static void next_name(walk *W, const char **nm, size_t *nl)
{
    const char *s = W->names;
    while (*s == ' ')
        s++;
    const char *e = s;
    while (*e && *e != ' ')
        e++;
    *nm = s;
    *nl = (size_t)(e - s);
    W->names = e;
}

static char name_pool[4096];
static size_t name_pool_used;

/* Interned copy of a field name (the names strings are not NUL-split). */
static const char *intern(const char *s, size_t n)
{
    for (size_t i = 0; i < name_pool_used;) {
        size_t l = strlen(name_pool + i);
        if (l == n && memcmp(name_pool + i, s, n) == 0)
            return name_pool + i;
        i += l + 1;
    }
    if (name_pool_used + n + 1 > sizeof name_pool)
        return "field";
    char *d = name_pool + name_pool_used;
    memcpy(d, s, n);
    d[n] = 0;
    name_pool_used += n + 1;
    return d;
}

static void field_begin(walk *W, size_t *start)
{
    *start = W->o->len;
}

static void field_end(walk *W, size_t start, bool num, int64_t v)
{
    const char *nm;
    size_t nl;
    next_name(W, &nm, &nl);
    if (W->f && W->nf < W->max) {
        dql_zone_field *f = &W->f[W->nf];
        f->name = nl ? intern(nm, nl) : "data";
        f->num = num;
        f->v = v;
        f->off = start;
        f->len = W->o->len - start;
    }
    W->nf++;
}

static int walk_codes(const char *codes, const uint8_t *rd, size_t n, walk *W)
{
    size_t i = 0;
    dql_buf *o = W->o;
    for (const char *c = codes; *c; c++) {
        if (c != codes)
            dql_buf_putc(o, ' ');
        size_t st;
        field_begin(W, &st);
        switch (*c) {
        case 'N': {
            size_t l = dql_zone_name_len(rd + i, n - i);
            if (!l)
                return -1;
            dql_zone_name_text(o, rd + i, l, true, false);
            i += l;
            field_end(W, st, false, 0);
            break;
        }
        case '1': case 'g': case 'D': {
            if (i + 1 > n)
                return -1;
            put_u(o, rd[i]);
            field_end(W, st, true, rd[i]);
            i++;
            break;
        }
        case '2': case 'c': {
            if (i + 2 > n)
                return -1;
            unsigned v = get16(rd + i);
            put_u(o, v);
            field_end(W, st, true, v);
            i += 2;
            break;
        }
        case '4': case 'P': {
            if (i + 4 > n)
                return -1;
            uint32_t v = get32(rd + i);
            put_u(o, v);
            field_end(W, st, true, v);
            i += 4;
            break;
        }
        case 'T': {
            if (i + 4 > n)
                return -1;
            put_time(o, get32(rd + i));
            field_end(W, st, false, 0);
            i += 4;
            break;
        }
        case 't': {
            if (i + 2 > n)
                return -1;
            dql_zone_type_text(o, (uint16_t)get16(rd + i));
            field_end(W, st, false, 0);
            i += 2;
            break;
        }
        case 'a': {
            if (i + 4 > n)
                return -1;
            dql_buf_printf(o, "%u.%u.%u.%u", rd[i], rd[i + 1], rd[i + 2], rd[i + 3]);
            field_end(W, st, false, 0);
            i += 4;
            break;
        }
        case '6': {
            if (i + 16 > n)
                return -1;
            dql_ip_format(o, rd + i, 16);
            field_end(W, st, false, 0);
            i += 16;
            break;
        }
        case 's': {
            if (i + 1 > n || i + 1 + rd[i] > n)
                return -1;
            put_qstring(o, rd + i + 1, rd[i]);
            field_end(W, st, false, 0);
            i += 1 + (size_t)rd[i];
            break;
        }
        case 'S': {
            if (i >= n)
                return -1;
            bool first = true;
            while (i < n) {
                if (i + 1 + rd[i] > n)
                    return -1;
                if (!first)
                    dql_buf_putc(o, ' ');
                first = false;
                put_qstring(o, rd + i + 1, rd[i]);
                i += 1 + (size_t)rd[i];
            }
            field_end(W, st, false, 0);
            break;
        }
        case 'b': case 'B':
            if (i >= n && *c == 'b')
                return -1;
            put_b64(o, rd + i, n - i);
            i = n;
            field_end(W, st, false, 0);
            break;
        case 'x': case 'X':
            if (i >= n && *c == 'x')
                return -1;
            put_hex(o, rd + i, n - i);
            i = n;
            field_end(W, st, false, 0);
            break;
        case 'h': {
            if (i + 1 > n || i + 1 + rd[i] > n)
                return -1;
            if (rd[i] == 0)
                dql_buf_putc(o, '-');
            else
                put_hex(o, rd + i + 1, rd[i]);
            field_end(W, st, false, 0);
            i += 1 + (size_t)rd[i];
            break;
        }
        case 'z': {
            if (i + 1 > n || rd[i] == 0 || i + 1 + rd[i] > n)
                return -1;
            put_b32hex(o, rd + i + 1, rd[i]);
            field_end(W, st, false, 0);
            i += 1 + (size_t)rd[i];
            break;
        }
        case 'm':
            if (!put_bitmap(o, rd + i, n - i))
                return -1;
            if (i == n && o->len && o->p[o->len - 1] == ' ')
                o->len--, st = o->len;
            i = n;
            field_end(W, st, false, 0);
            break;
        case 'u':
            put_qstring(o, rd + i, n - i);
            i = n;
            field_end(W, st, false, 0);
            break;
        case 'k': {
            if (i + 1 > n || i + 1 + rd[i] > n)
                return -1;
            bool plain = rd[i] > 0;
            for (size_t k = 0; k < rd[i]; k++) {
                uint8_t ch = rd[i + 1 + k];
                plain = plain && ((ch >= '0' && ch <= '9') || ((ch | 32) >= 'a' && (ch | 32) <= 'z'));
            }
            /* a tag that is empty or not alphanumeric has no presentation
             * form the parser reads back: the record is rendered in RFC 3597
             * form instead (found by fuzz_zone) */
            if (!plain)
                return -1;
            dql_buf_put(o, rd + i + 1, rd[i]);
            field_end(W, st, false, 0);
            i += 1 + (size_t)rd[i];
            break;
        }
        case 'e': case 'E': {
            size_t m = *c == 'e' ? 6 : 8;
            if (i + m > n)
                return -1;
            for (size_t k = 0; k < m; k++) {
                if (k)
                    dql_buf_putc(o, '-');
                dql_buf_putc(o, (char)(hexd[rd[i + k] >> 4] | 32));
                dql_buf_putc(o, (char)(hexd[rd[i + k] & 15] | 32));
            }
            field_end(W, st, false, 0);
            i += m;
            break;
        }
        case 'q': {
            if (i + 8 > n)
                return -1;
            for (int g = 0; g < 4; g++) {
                if (g)
                    dql_buf_putc(o, ':');
                dql_buf_printf(o, "%02x%02x", rd[i + 2 * (size_t)g], rd[i + 2 * (size_t)g + 1]);
            }
            field_end(W, st, false, 0);
            i += 8;
            break;
        }
        case 'n':
            if (i >= n)
                return -1;
            dql_buf_puts(o, "0x");
            put_hex(o, rd + i, n - i);
            i = n;
            field_end(W, st, false, 0);
            break;
        default:
            return -1;
        }
    }
    return i == n ? W->nf : -1;
}

static void loc_size_text(dql_buf *o, uint8_t v)
{
    uint64_t m = v >> 4, e = v & 15;
    uint64_t cm = m;
    while (e--)
        cm *= 10;
    if (cm % 100)
        dql_buf_printf(o, "%llu.%02llum", (unsigned long long)(cm / 100), (unsigned long long)(cm % 100));
    else
        dql_buf_printf(o, "%llum", (unsigned long long)(cm / 100));
}

static int walk_loc(const uint8_t *rd, size_t n, walk *W)
{
    if (n != 16 || rd[0] != 0)
        return -1;
    for (int k = 1; k <= 3; k++)
        if ((rd[k] >> 4) > 9 || (rd[k] & 15) > 9)
            return -1;
    dql_buf *o = W->o;
    size_t st;
    for (int k = 0; k < 2; k++) {
        int64_t v = (int64_t)get32(rd + 4 + 4 * k) - 0x80000000LL;
        if (v > (k ? 180LL : 90LL) * 3600000 + 3599999 || v < -((k ? 180LL : 90LL) * 3600000 + 3599999))
            return -1;
        char h = k == 0 ? (v >= 0 ? 'N' : 'S') : (v >= 0 ? 'E' : 'W');
        if (v < 0)
            v = -v;
        if (k)
            dql_buf_putc(o, ' ');
        field_begin(W, &st);
        int64_t deg = v / 3600000, min = v / 60000 % 60, sec = v / 1000 % 60, ms = v % 1000;
        if (ms)
            dql_buf_printf(o, "%lld %lld %lld.%03lld %c", (long long)deg, (long long)min, (long long)sec,
                           (long long)ms, h);
        else
            dql_buf_printf(o, "%lld %lld %lld %c", (long long)deg, (long long)min, (long long)sec, h);
        field_end(W, st, false, 0);
    }
    dql_buf_putc(o, ' ');
    field_begin(W, &st);
    int64_t alt = (int64_t)get32(rd + 12) - 10000000;
    const char *sg = alt < 0 ? "-" : "";
    if (alt < 0)
        alt = -alt;
    if (alt % 100)
        dql_buf_printf(o, "%s%lld.%02lldm", sg, (long long)(alt / 100), (long long)(alt % 100));
    else
        dql_buf_printf(o, "%s%lldm", sg, (long long)(alt / 100));
    field_end(W, st, false, 0);
    for (int k = 1; k <= 3; k++) {
        dql_buf_putc(o, ' ');
        field_begin(W, &st);
        loc_size_text(o, rd[k]);
        field_end(W, st, false, 0);
    }
    return W->nf;
}

static int walk_apl(const uint8_t *rd, size_t n, walk *W)
{
    size_t i = 0, st;
    field_begin(W, &st);
    while (i < n) {
        if (i + 4 > n)
            return -1;
        unsigned afi = get16(rd + i), pfx = rd[i + 2], dl = rd[i + 3] & 127;
        bool neg = rd[i + 3] & 128;
        if ((afi != 1 && afi != 2) || i + 4 + dl > n || dl > (afi == 1 ? 4u : 16u) || pfx > (afi == 1 ? 32u : 128u))
            return -1;
        uint8_t ip[16] = { 0 };
        memcpy(ip, rd + i + 4, dl);
        if (i)
            dql_buf_putc(W->o, ' ');
        dql_buf_printf(W->o, "%s%u:", neg ? "!" : "", afi);
        dql_ip_format(W->o, ip, afi == 1 ? 4 : 16);
        dql_buf_printf(W->o, "/%u", pfx);
        i += 4 + dl;
    }
    field_end(W, st, false, 0);
    return W->nf;
}

static int walk_ipseckey(const uint8_t *rd, size_t n, walk *W)
{
    if (n < 3)
        return -1;
    dql_buf *o = W->o;
    size_t st;
    for (int k = 0; k < 3; k++) {
        if (k)
            dql_buf_putc(o, ' ');
        field_begin(W, &st);
        put_u(o, rd[k]);
        field_end(W, st, true, rd[k]);
    }
    size_t i = 3;
    dql_buf_putc(o, ' ');
    field_begin(W, &st);
    switch (rd[1]) {
    case 0: dql_buf_putc(o, '.'); break;
    case 1:
        if (i + 4 > n)
            return -1;
        dql_ip_format(o, rd + i, 4);
        i += 4;
        break;
    case 2:
        if (i + 16 > n)
            return -1;
        dql_ip_format(o, rd + i, 16);
        i += 16;
        break;
    case 3: {
        size_t l = dql_zone_name_len(rd + i, n - i);
        if (!l)
            return -1;
        dql_zone_name_text(o, rd + i, l, true, false);
        i += l;
        break;
    }
    default:
        return -1;
    }
    field_end(W, st, false, 0);
    /* presentation form needs a public key unless the algorithm is 0: a
     * record without one is rendered in RFC 3597 form (\#) so that the text
     * reads back (found by fuzz_zone) */
    if ((i == n) != (rd[2] == 0))
        return -1;   /* and algorithm 0 carries no key */
    if (i < n) {
        dql_buf_putc(o, ' ');
        field_begin(W, &st);
        put_b64(o, rd + i, n - i);
        field_end(W, st, false, 0);
    }
    return W->nf;
}

static void svc_key_text(dql_buf *o, unsigned key)
{
    if (key < NSVCKEYS)
        dql_buf_puts(o, svc_keys[key]);
    else
        dql_buf_printf(o, "key%u", key);
}

/* An SVCB value byte: escape what the parser would split or unquote. */
static void svc_val_char(dql_buf *o, uint8_t c, bool list)
{
    if (list && (c == ',' || c == '\\')) {
        dql_buf_puts(o, c == ',' ? "\\\\," : "\\\\\\\\");
        return;
    }
    if (c == '"' || c == '\\') {
        dql_buf_putc(o, '\\');
        dql_buf_putc(o, (char)c);
    } else if (c < 33 || c > 126 || c == ';' || c == '(' || c == ')') {
        dql_buf_printf(o, "\\%03u", c);
    } else {
        dql_buf_putc(o, (char)c);
    }
}

static int walk_svcb(const uint8_t *rd, size_t n, walk *W)
{
    if (n < 3)
        return -1;
    dql_buf *o = W->o;
    size_t st;
    field_begin(W, &st);
    unsigned prio = get16(rd);
    put_u(o, prio);
    field_end(W, st, true, prio);
    size_t l = dql_zone_name_len(rd + 2, n - 2);
    if (!l)
        return -1;
    dql_buf_putc(o, ' ');
    field_begin(W, &st);
    dql_zone_name_text(o, rd + 2, l, true, false);
    field_end(W, st, false, 0);
    size_t i = 2 + l;
    int prev = -1;
    while (i < n) {
        if (i + 4 > n)
            return -1;
        unsigned key = get16(rd + i), vl = get16(rd + i + 2);
        if ((int)key <= prev || i + 4 + vl > n)
            return -1;
        prev = (int)key;
        const uint8_t *v = rd + i + 4;
        dql_buf_putc(o, ' ');
        size_t kst = o->len;
        svc_key_text(o, key);
        /* the field value (for the map) is the text after '=' */
        dql_buf_putc(o, '=');
        size_t vst = o->len;
        switch (key) {
        case 0:
            if (vl == 0 || vl % 2)
                return -1;
            for (unsigned k = 0; k < vl; k += 2) {
                if (k)
                    dql_buf_putc(o, ',');
                svc_key_text(o, get16(v + k));
            }
            break;
        case 1: {
            if (vl == 0)
                return -1;
            dql_buf_putc(o, '"');
            unsigned k = 0;
            while (k < vl) {
                unsigned il = v[k];
                if (il == 0 || k + 1 + il > vl)
                    return -1;
                if (k)
                    dql_buf_putc(o, ',');
                for (unsigned j = 0; j < il; j++)
                    svc_val_char(o, v[k + 1 + j], true);
                k += 1 + il;
            }
            dql_buf_putc(o, '"');
            break;
        }
        case 2: case 8:
            if (vl)
                return -1;
            o->len--;   /* no '=' */
            vst = o->len;
            break;
        case 3:
            if (vl != 2)
                return -1;
            put_u(o, get16(v));
            break;
        case 4: case 6: {
            unsigned al = key == 4 ? 4 : 16;
            if (vl == 0 || vl % al)
                return -1;
            for (unsigned k = 0; k < vl; k += al) {
                if (k)
                    dql_buf_putc(o, ',');
                dql_ip_format(o, v + k, (int)al);
            }
            break;
        }
        case 5:
            if (vl == 0)
                return -1;
            put_b64(o, v, vl);
            break;
        default:
            if (vl == 0) {
                o->len = kst;
                dql_buf_printf(o, "key%u", key);   /* "dohpath" needs a value */
                vst = o->len;
                break;
            }
            dql_buf_putc(o, '"');
            for (unsigned j = 0; j < vl; j++)
                svc_val_char(o, v[j], false);
            dql_buf_putc(o, '"');
            break;
        }
        if (W->f && W->nf < W->max) {
            dql_buf kb = {0};
            svc_key_text(&kb, key);
            dql_zone_field *f = &W->f[W->nf];
            f->name = intern(kb.p, kb.len);
            dql_buf_free(&kb);
            f->num = false;
            f->off = vst;
            f->len = o->len - vst;
        }
        W->nf++;
        i += 4 + vl;
    }
    /* mandatory keys must be present */
    return W->nf;
}

static int walk_wks(const uint8_t *rd, size_t n, walk *W)
{
    if (n < 5)
        return -1;
    dql_buf *o = W->o;
    size_t st;
    field_begin(W, &st);
    dql_ip_format(o, rd, 4);
    field_end(W, st, false, 0);
    dql_buf_putc(o, ' ');
    field_begin(W, &st);
    put_u(o, rd[4]);
    field_end(W, st, true, rd[4]);
    field_begin(W, &st);
    for (size_t b = 0; b < (n - 5) * 8; b++)
        if (rd[5 + b / 8] & (0x80 >> (b % 8)))
            dql_buf_printf(o, " %zu", b);
    field_end(W, st, false, 0);
    return W->nf;
}

/* Renders by type; -1 when the rdata is malformed or the type has no codec. */
static int walk_rdata(uint16_t type, const uint8_t *rd, size_t n, walk *W)
{
    const rrdesc *d = desc_of(type);
    if (!d || is_meta(type))
        return -1;
    W->names = d->fields ? d->fields : "";
    switch (type) {
    case 29: return walk_loc(rd, n, W);
    case 42: return walk_apl(rd, n, W);
    case 45: return walk_ipseckey(rd, n, W);
    case 11: return walk_wks(rd, n, W);
    case 64: case 65: return walk_svcb(rd, n, W);
    default: break;
    }
    if (!d->codes)
        return -1;
    return walk_codes(d->codes, rd, n, W);
}

static bool wire_valid(uint16_t type, const uint8_t *rd, size_t n)
{
    const rrdesc *d = desc_of(type);
    if (!d || (!d->codes && !is_special(type)))
        return true;   /* unknown types: anything goes */
    if (type == 29)
        return n == 16;   /* LOC: any values (out-of-range ones render as \#) */
    if (type == 257)
        return n >= 2 && (size_t)2 + rd[1] <= n;   /* CAA: odd tags render as \# */
    dql_buf tmp = {0};
    walk W = { &tmp, NULL, 0, 0, NULL };
    int r = walk_rdata(type, rd, n, &W);
    dql_buf_free(&tmp);
    return r >= 0;
}

void dql_zone_rdata_text(dql_buf *out, uint16_t type, const uint8_t *rd, size_t n)
{
    size_t at = out->len;
    walk W = { out, NULL, 0, 0, NULL };
    /* common cases first */
    if (type == 2 || type == 5 || type == 12 || type == 39) {
        size_t l = dql_zone_name_len(rd, n);
        if (l == n) {
            dql_zone_name_text(out, rd, n, true, false);
            return;
        }
    } else if (type == 1 && n == 4) {
        dql_buf_printf(out, "%u.%u.%u.%u", rd[0], rd[1], rd[2], rd[3]);
        return;
    } else if (walk_rdata(type, rd, n, &W) >= 0) {
        return;
    }
    out->len = at;
    dql_buf_printf(out, "\\# %zu", n);
    if (n) {
        dql_buf_putc(out, ' ');
        put_hex(out, rd, n);
    }
}

int dql_zone_rdata_fields(uint16_t type, const uint8_t *rd, size_t n, dql_zone_field *f, int max, dql_buf *txt)
{
    walk W = { txt, f, max, 0, NULL };
    size_t at = txt->len;
    int r = walk_rdata(type, rd, n, &W);
    if (r < 0) {
        txt->len = at;
        return 0;
    }
    return r < max ? r : max;
}

void dql_zone_rdata_extract(uint16_t type, const uint8_t *rd, size_t n, dql_zone_extract *x)
{
    memset(x, 0, sizeof *x);
    x->priority = x->weight = x->port = -1;
    size_t l;
    switch (type) {
    case 1:
        if (n == 4)
            x->addr = rd, x->addrlen = 4;
        break;
    case 28:
        if (n == 16)
            x->addr = rd, x->addrlen = 16;
        break;
    case 2: case 5: case 12: case 39: case 3: case 4: case 7: case 8: case 9: case 65401:
        if (dql_zone_name_len(rd, n) == n)
            x->target = rd, x->tlen = n;
        break;
    case 15: case 36: case 18: case 21: case 107:
        if (n > 2 && (l = dql_zone_name_len(rd + 2, n - 2)) == n - 2) {
            x->target = rd + 2, x->tlen = l;
            if (type != 18)
                x->priority = get16(rd);
        }
        break;
    case 33:
        if (n > 6 && (l = dql_zone_name_len(rd + 6, n - 6)) == n - 6) {
            x->priority = get16(rd);
            x->weight = get16(rd + 2);
            x->port = get16(rd + 4);
            x->target = rd + 6, x->tlen = l;
        }
        break;
    case 64: case 65:
        if (n > 2 && (l = dql_zone_name_len(rd + 2, n - 2)) > 0) {
            x->priority = get16(rd);
            x->target = rd + 2, x->tlen = l;
        }
        break;
    case 256:
        if (n >= 4) {
            x->priority = get16(rd);
            x->weight = get16(rd + 2);
        }
        break;
    case 35: {   /* NAPTR: order, preference, 3 strings, replacement */
        size_t i = 4;
        for (int k = 0; k < 3 && i < n; k++)
            i += 1 + (size_t)rd[i];
        if (n >= 4 && i < n && (l = dql_zone_name_len(rd + i, n - i)) == n - i) {
            x->priority = get16(rd);
            x->target = rd + i, x->tlen = l;
        }
        break;
    }
    default:
        break;
    }
}

/* ------------------------------------------------------ records as tuples */

dql_schema *dql_zone_rr_schema(void)
{
    dql_schema *rr = dql_schema_new(0);
    dql_schema_add(rr, "owner", DQL_T_DOMAIN, NULL);
    dql_schema_add(rr, "ttl", DQL_T_LONG, NULL);
    dql_schema_add(rr, "type", DQL_T_CHARARRAY, NULL);
    dql_schema_add(rr, "rdata", DQL_T_CHARARRAY, NULL);
    dql_schema_add(rr, "target", DQL_T_DOMAIN, NULL);
    dql_schema_add(rr, "address", DQL_T_IP, NULL);
    return rr;
}

dql_value dql_zone_name_value(dql_buf *tb, dql_arena *a, const uint8_t *w, size_t n)
{
    tb->len = 0;
    dql_zone_name_text(tb, w, n, true, true);
    return dql_str(DQL_T_DOMAIN, dql_arena_memdup(a, tb->p, tb->len), tb->len);
}

dql_value dql_zone_type_value(dql_buf *tb, dql_arena *a, uint16_t type)
{
    const char *tn = dql_zone_type_name(type);
    if (tn && type)
        return dql_chararray(tn, strlen(tn));
    tb->len = 0;
    dql_zone_type_text(tb, type);
    return dql_chararray_copy(a, tb->p, tb->len);
}

void dql_zone_rrtup_reset(dql_zone_rrtup *t)
{
    t->lastn = 0;
    t->lastv = dql_null();
}

void dql_zone_rrtup_free(dql_zone_rrtup *t)
{
    dql_buf_free(&t->tb);
}

dql_tuple *dql_zone_rr_tuple(dql_zone_rrtup *t, dql_arena *a, const uint8_t *owner, size_t olen,
                             uint32_t ttl, uint16_t type, const uint8_t *rd, size_t rdlen)
{
    dql_tuple *tu = dql_tuple_new(a, 6);
    if (t->lastn && t->lastn == olen && !memcmp(t->last, owner, olen)) {
        tu->v[0] = t->lastv;
    } else {
        tu->v[0] = t->lastv = dql_zone_name_value(&t->tb, a, owner, olen);
        if (olen <= sizeof t->last) {
            memcpy(t->last, owner, olen);
            t->lastn = olen;
        }
    }
    tu->v[1] = dql_long(ttl);
    tu->v[2] = dql_zone_type_value(&t->tb, a, type);
    t->tb.len = 0;
    dql_zone_rdata_text(&t->tb, type, rd, rdlen);
    tu->v[3] = dql_chararray_copy(a, t->tb.p ? t->tb.p : "", t->tb.len);
    dql_zone_extract x;
    dql_zone_rdata_extract(type, rd, rdlen, &x);
    if (x.target)
        tu->v[4] = dql_zone_name_value(&t->tb, a, x.target, x.tlen);
    if (x.addr)
        tu->v[5] = dql_ip_make(a, x.addr, x.addrlen);
    return tu;
}
