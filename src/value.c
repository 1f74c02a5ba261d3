/* value.c — the dql data model at run time: type names, value
 * constructors, containers, deep copy, the total order / equality / hash
 * used by ORDER, GROUP, DISTINCT and JOIN, DUMP and JSON rendering, text
 * parsing and casts, and the domain, ip and datetime helpers.
 *
 * Order (dql_value_cmp): null < boolean < numbers < strings < datetime < ip
 * < cidr < tuple < bag < map. Numbers compare by value across int, long and
 * double (exactly, no rounding through double); NaN sorts after every number
 * and equals itself; -0.0 equals 0.0. chararray, bytearray and domain form
 * one class compared bytewise, except that two domains compare in DNS
 * canonical order (RFC 4034 §6.1). IPs: v4 before v6, then bytes. The hash
 * agrees with equality: equal numbers of any numeric type hash alike, and a
 * domain hashes like its lower-cased text. */
#include "dql.h"
#include "arena_inline.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef HAVE_LIBIDN2
#include <idn2.h>
#endif

#define ALLOC(a, n) dql_arena_alloc_inline((a), (n))
#define IS_UPPER(c) ((unsigned)(c) - 'A' < 26u)
#define ALWAYS_INLINE inline __attribute__((always_inline))

/* ------------------------------------------------------------------ types */

static const char *const type_names[DQL_T__COUNT] = {
    [DQL_T_NULL] = "null",         [DQL_T_BOOL] = "boolean",
    [DQL_T_INT] = "int",           [DQL_T_LONG] = "long",
    [DQL_T_DOUBLE] = "double",     [DQL_T_CHARARRAY] = "chararray",
    [DQL_T_BYTEARRAY] = "bytearray", [DQL_T_DATETIME] = "datetime",
    [DQL_T_DOMAIN] = "domain",     [DQL_T_IP] = "ip",
    [DQL_T_CIDR] = "cidr",         [DQL_T_TUPLE] = "tuple",
    [DQL_T_BAG] = "bag",           [DQL_T_MAP] = "map",
    [DQL_T_ANY] = "any",
};

const char *dql_type_name(dql_type t)
{
    if ((unsigned)t >= DQL_T__COUNT)
        return "unknown";
    return type_names[t];
}

static bool ieq(const char *a, size_t n, const char *lit)
{
    size_t i = 0;
    for (; i < n && lit[i]; i++) {
        unsigned char c = (unsigned char)a[i];
        if (c >= 'A' && c <= 'Z')
            c += 32;
        if (c != (unsigned char)lit[i])
            return false;
    }
    return i == n && !lit[i];
}

/* Case-insensitive; the names dql_type_name returns plus the aliases
 * integer, bool, string, float and bytes. */
dql_type dql_type_parse(const char *name, size_t len)
{
    static const struct { const char *s; dql_type t; } alias[] = {
        { "integer", DQL_T_INT }, { "bool", DQL_T_BOOL },
        { "string", DQL_T_CHARARRAY }, { "float", DQL_T_DOUBLE },
        { "bytes", DQL_T_BYTEARRAY },
    };
    if (!name)
        return DQL_T__COUNT;
    for (int t = 0; t < DQL_T__COUNT; t++)
        if (ieq(name, len, type_names[t]))
            return (dql_type)t;
    for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
        if (ieq(name, len, alias[i].s))
            return alias[i].t;
    return DQL_T__COUNT;
}

bool dql_type_is_numeric(dql_type t)
{
    return t == DQL_T_INT || t == DQL_T_LONG || t == DQL_T_DOUBLE;
}

bool dql_type_is_stringlike(dql_type t)
{
    return t == DQL_T_CHARARRAY || t == DQL_T_BYTEARRAY || t == DQL_T_DOMAIN;
}

/* ----------------------------------------------------------- constructors */

dql_value dql_chararray_copy(dql_arena *a, const char *s, size_t n)
{
    char *p = ALLOC(a, n);
    if (n)
        memcpy(p, s, n);
    return dql_str(DQL_T_CHARARRAY, p, n);
}

dql_value dql_ip_make(dql_arena *a, const uint8_t *addr, int len)
{
    dql_value v = {0};
    if (len != 4 && len != 16)
        return v;
    uint8_t *p = ALLOC(a, (size_t)len);
    memcpy(p, addr, (size_t)len);
    v.type = DQL_T_IP;
    v.len = (uint32_t)len;
    v.u.ip = p;
    return v;
}

/* Host bits are cleared: the value is the network address. An out of
 * range prefix gives null. */
dql_value dql_cidr_make(dql_arena *a, const uint8_t *addr, int len, int prefix)
{
    dql_value v = {0};
    if ((len != 4 && len != 16) || prefix < 0 || prefix > len * 8)
        return v;
    uint8_t *p = ALLOC(a, (size_t)len);
    for (int i = 0; i < len; i++) {
        int bits = prefix - i * 8;
        uint8_t m = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
        p[i] = addr[i] & m;
    }
    v.type = DQL_T_CIDR;
    v.len = (uint32_t)len;
    v.aux = (uint16_t)prefix;
    v.u.ip = p;
    return v;
}

dql_tuple *dql_tuple_new(dql_arena *a, uint32_t n)
{
    dql_tuple *t = ALLOC(a, sizeof(dql_tuple) + (size_t)n * sizeof(dql_value));
    t->n = n;
    if (n)
        memset(t->v, 0, (size_t)n * sizeof(dql_value));
    return t;
}

dql_bag *dql_bag_new(dql_arena *a, uint64_t n)
{
    dql_bag *b = ALLOC(a, sizeof *b);
    if (n > SIZE_MAX / sizeof(dql_tuple *) / 2) {
        fputs("dql: out of memory\n", stderr);
        abort();
    }
    b->n = n;
    b->t = n ? ALLOC(a, (size_t)n * sizeof(dql_tuple *)) : NULL;
    if (n)
        memset(b->t, 0, (size_t)n * sizeof(dql_tuple *));
    return b;
}

dql_map *dql_map_new(dql_arena *a, uint32_t n)
{
    dql_map *m = ALLOC(a, sizeof *m);
    m->n = n;
    m->k = n ? ALLOC(a, (size_t)n * sizeof(dql_value)) : NULL;
    m->v = n ? ALLOC(a, (size_t)n * sizeof(dql_value)) : NULL;
    if (n) {
        memset(m->k, 0, (size_t)n * sizeof(dql_value));
        memset(m->v, 0, (size_t)n * sizeof(dql_value));
    }
    return m;
}

void dql_bag_builder_add(dql_bag_builder *bb, dql_tuple *t)
{
    if (bb->n == bb->cap) {
        uint64_t cap = bb->cap ? bb->cap * 2 : 8;
        bb->t = dql_xrealloc(bb->t, (size_t)cap * sizeof(dql_tuple *));
        bb->cap = cap;
    }
    bb->t[bb->n++] = t;
}

/* The builder's heap array is freed: bb is empty and reusable afterwards. */
dql_bag *dql_bag_builder_finish(dql_bag_builder *bb, dql_arena *a)
{
    dql_bag *b = ALLOC(a, sizeof *b);
    b->n = bb->n;
    b->t = NULL;
    if (bb->n) {
        b->t = ALLOC(a, (size_t)bb->n * sizeof(dql_tuple *));
        memcpy(b->t, bb->t, (size_t)bb->n * sizeof(dql_tuple *));
    }
    dql_bag_builder_free(bb);
    return b;
}

void dql_bag_builder_free(dql_bag_builder *bb)
{
    free(bb->t);
    bb->t = NULL;
    bb->n = bb->cap = 0;
}

/* -------------------------------------------------------------------- copy */

static dql_tuple *tuple_copy(dql_arena *a, const dql_tuple *t)
{
    dql_tuple *c = ALLOC(a, sizeof(dql_tuple) + (size_t)t->n * sizeof(dql_value));
    c->n = t->n;
    for (uint32_t i = 0; i < t->n; i++)
        c->v[i] = dql_value_copy(a, t->v[i]);
    return c;
}

dql_value dql_value_copy(dql_arena *a, dql_value v)
{
    switch (v.type) {
    case DQL_T_CHARARRAY: case DQL_T_BYTEARRAY: case DQL_T_DOMAIN:
    case DQL_T_IP: case DQL_T_CIDR: {
        char *p = ALLOC(a, v.len);
        if (v.len)
            memcpy(p, v.u.s, v.len);
        v.u.s = p;
        return v;
    }
    case DQL_T_TUPLE:
        if (v.u.t)
            v.u.t = tuple_copy(a, v.u.t);
        return v;
    case DQL_T_BAG:
        if (v.u.b) {
            const dql_bag *b = v.u.b;
            dql_bag *c = ALLOC(a, sizeof *c);
            c->n = b->n;
            c->t = b->n ? ALLOC(a, (size_t)b->n * sizeof(dql_tuple *)) : NULL;
            for (uint64_t i = 0; i < b->n; i++)
                c->t[i] = b->t[i] ? tuple_copy(a, b->t[i]) : NULL;
            v.u.b = c;
        }
        return v;
    case DQL_T_MAP:
        if (v.u.m) {
            const dql_map *m = v.u.m;
            dql_map *c = dql_map_new(a, m->n);
            for (uint32_t i = 0; i < m->n; i++) {
                c->k[i] = dql_value_copy(a, m->k[i]);
                c->v[i] = dql_value_copy(a, m->v[i]);
            }
            v.u.m = c;
        }
        return v;
    default:
        return v;
    }
}

/* -------------------------------------------------------------------- hash */

#define K0 0x9e3779b97f4a7c15ULL
#define K1 0xbf58476d1ce4e5b9ULL
#define K2 0x94d049bb133111ebULL
#define K3 0x8cb92ba72f3d8dd7ULL

/* 64x64 -> 128 multiply, folded. */
static inline uint64_t mix(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline uint64_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* ASCII upper case to lower case in each byte of w (SWAR). */
static inline uint64_t fold8(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ULL;
    uint64_t h = w & (0x7f * ones);
    uint64_t gt_z = h + (0x7f - 'Z') * ones, ge_a = h + (0x80 - 'A') * ones;
    uint64_t upper = ~w & (ge_a ^ gt_z) & (0x80 * ones);
    return w | (upper >> 2);
}

/* A multiply-fold hash in the spirit of wyhash: 16 bytes per step, the
 * tail read with overlapping loads. With fold, ASCII letters hash as their
 * lower case (so lower-case text hashes the same either way). Not for
 * persisting across hosts. */
static inline uint64_t hash_core(const uint8_t *q, size_t n, uint64_t seed, bool fold)
{
    uint64_t a, b;
    seed ^= K0;
    if (n <= 16) {
        if (n >= 8) {
            a = rd64(q);
            b = rd64(q + n - 8);
        } else if (n >= 4) {
            a = rd32(q);
            b = rd32(q + n - 4);
        } else if (n > 0) {
            a = ((uint64_t)q[0] << 16) | ((uint64_t)q[n >> 1] << 8) | q[n - 1];
            b = 0;
        } else {
            a = b = 0;
        }
        if (fold) {
            a = fold8(a);
            b = fold8(b);
        }
    } else {
        size_t i = n;
        while (i > 16) {
            uint64_t x = rd64(q), y = rd64(q + 8);
            if (fold) {
                x = fold8(x);
                y = fold8(y);
            }
            seed = mix(x ^ K1, y ^ seed);
            q += 16;
            i -= 16;
        }
        a = rd64(q + i - 16);
        b = rd64(q + i - 8);
        if (fold) {
            a = fold8(a);
            b = fold8(b);
        }
    }
    return mix(K2 ^ n, mix(a ^ K1, b ^ seed));
}

uint64_t dql_hash_bytes(const void *p, size_t n, uint64_t seed)
{
    return hash_core(p, n, seed, false);
}

static inline uint64_t hash64(uint64_t x, uint64_t seed)
{
    return mix(mix(x ^ K0, seed ^ K1), K2);
}

enum {
    S_NULL = 0x1234, S_BOOL = 0x2345, S_NUM = 0x3456, S_STR = 0x4567,
    S_DT = 0x5678, S_IP = 0x6789, S_CIDR = 0x789a, S_TUP = 0x89ab,
    S_BAG = 0x9abc, S_MAP = 0xabcd, S_NAN = 0xbcde, S_DBL = 0xcdef
};

static inline uint64_t hash_double(double d)
{
    if (d != d)
        return hash64(0, S_NAN);
    if (d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
        int64_t i = (int64_t)d;
        if ((double)i == d)
            return hash64((uint64_t)i, S_NUM);   /* also -0.0 */
    }
    uint64_t bits;
    memcpy(&bits, &d, 8);
    return hash64(bits, S_DBL);
}

/* Domains hash like their lower-cased text (normalised ones are already). */
static uint64_t hash_domain(const char *s, size_t n)
{
    return hash_core((const uint8_t *)s, n, S_STR, true);
}

static uint64_t hash_tuple(const dql_tuple *t)
{
    if (!t)
        return hash64(0, S_TUP);
    uint64_t h = S_TUP ^ t->n;
    for (uint32_t i = 0; i < t->n; i++)
        h = mix(h + dql_value_hash(t->v[i]), K1);
    return h;
}

uint64_t dql_value_hash(dql_value v)
{
    switch (v.type) {
    case DQL_T_NULL:
        return hash64(0, S_NULL);
    case DQL_T_BOOL:
        return hash64((uint64_t)v.u.i, S_BOOL);
    case DQL_T_INT: case DQL_T_LONG:
        return hash64((uint64_t)v.u.i, S_NUM);
    case DQL_T_DOUBLE:
        return hash_double(v.u.d);
    case DQL_T_CHARARRAY: case DQL_T_BYTEARRAY:
        return dql_hash_bytes(v.u.s, v.len, S_STR);
    case DQL_T_DOMAIN:
        return hash_domain(v.u.s, v.len);
    case DQL_T_DATETIME:
        return hash64((uint64_t)v.u.i, S_DT);
    case DQL_T_IP:
        return dql_hash_bytes(v.u.ip, v.len, S_IP);
    case DQL_T_CIDR:
        return dql_hash_bytes(v.u.ip, v.len, S_CIDR + v.aux);
    case DQL_T_TUPLE:
        return hash_tuple(v.u.t);
    case DQL_T_BAG: {
        uint64_t n = v.u.b ? v.u.b->n : 0;
        uint64_t h = S_BAG ^ n;
        for (uint64_t i = 0; i < n; i++)
            h = mix(h + hash_tuple(v.u.b->t[i]), K1);
        return h;
    }
    case DQL_T_MAP: {
        uint32_t n = v.u.m ? v.u.m->n : 0;
        uint64_t h = S_MAP ^ n;
        for (uint32_t i = 0; i < n; i++) {
            h = mix(h + dql_value_hash(v.u.m->k[i]), K1);
            h = mix(h + dql_value_hash(v.u.m->v[i]), K3);
        }
        return h;
    }
    default:
        return hash64(v.type, S_NULL);
    }
}

/* ------------------------------------------------------------- comparison */

/* Rank of each type in the cross-type order: numbers share one rank, and
 * so do chararray, bytearray and domain. */
static const uint8_t type_rank[DQL_T__COUNT] = {
    [DQL_T_NULL] = 0, [DQL_T_BOOL] = 1,
    [DQL_T_INT] = 2, [DQL_T_LONG] = 2, [DQL_T_DOUBLE] = 2,
    [DQL_T_CHARARRAY] = 5, [DQL_T_BYTEARRAY] = 5, [DQL_T_DOMAIN] = 5,
    [DQL_T_DATETIME] = 7, [DQL_T_IP] = 9, [DQL_T_CIDR] = 10,
    [DQL_T_TUPLE] = 11, [DQL_T_BAG] = 12, [DQL_T_MAP] = 13, [DQL_T_ANY] = 14,
};

static inline int rank_of(uint8_t t)
{
    return t < DQL_T__COUNT ? type_rank[t] : 15 + t;
}

static inline int cmp_i64(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

/* NaN after every number and equal to itself; -0.0 == 0.0. */
static inline int cmp_dbl(double a, double b)
{
    if (a < b)
        return -1;
    if (a > b)
        return 1;
    if (a == b)
        return 0;
    return (a != a) - (b != b);
}

/* Exact comparison of an integer with a double. */
static int cmp_i64_dbl(int64_t i, double d)
{
    if (d != d)
        return -1;
    if (d >= 9223372036854775808.0)
        return -1;
    if (d < -9223372036854775808.0)
        return 1;
    double t = trunc(d);
    int64_t ti = (int64_t)t;
    if (i != ti)
        return i < ti ? -1 : 1;
    double frac = d - t;
    return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

static inline int cmp_bytes(const void *a, size_t an, const void *b, size_t bn)
{
    size_t m = an < bn ? an : bn;
    int c = m ? memcmp(a, b, m) : 0;
    if (c)
        return c < 0 ? -1 : 1;
    return (an > bn) - (an < bn);
}

static int cmp_num(dql_value a, dql_value b)
{
    bool ad = a.type == DQL_T_DOUBLE, bd = b.type == DQL_T_DOUBLE;
    if (!ad && !bd)
        return cmp_i64(a.u.i, b.u.i);
    if (ad && bd)
        return cmp_dbl(a.u.d, b.u.d);
    if (ad)
        return -cmp_i64_dbl(b.u.i, a.u.d);
    return cmp_i64_dbl(a.u.i, b.u.d);
}

static int cmp_tuple(const dql_tuple *a, const dql_tuple *b)
{
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    uint32_t n = a->n < b->n ? a->n : b->n;
    for (uint32_t i = 0; i < n; i++) {
        int c = dql_value_cmp(a->v[i], b->v[i]);
        if (c)
            return c;
    }
    return (a->n > b->n) - (a->n < b->n);
}

static inline int cmp_ip(dql_value a, dql_value b)
{
    if (a.len != b.len)
        return a.len < b.len ? -1 : 1;
    int c = memcmp(a.u.ip, b.u.ip, a.len);
    return (c > 0) - (c < 0);
}

int dql_value_cmp(dql_value a, dql_value b)
{
    if (a.type == b.type) {
        switch (a.type) {
        case DQL_T_NULL:
            return 0;
        case DQL_T_BOOL: case DQL_T_INT: case DQL_T_LONG: case DQL_T_DATETIME:
            return cmp_i64(a.u.i, b.u.i);
        case DQL_T_DOUBLE:
            return cmp_dbl(a.u.d, b.u.d);
        case DQL_T_CHARARRAY: case DQL_T_BYTEARRAY:
            return cmp_bytes(a.u.s, a.len, b.u.s, b.len);
        case DQL_T_DOMAIN:
            return dql_domain_cmp(a.u.s, a.len, b.u.s, b.len);
        case DQL_T_IP:
            return cmp_ip(a, b);
        case DQL_T_CIDR: {
            int c = cmp_ip(a, b);
            return c ? c : (a.aux > b.aux) - (a.aux < b.aux);
        }
        case DQL_T_TUPLE:
            return cmp_tuple(a.u.t, b.u.t);
        case DQL_T_BAG: {
            uint64_t an = a.u.b ? a.u.b->n : 0, bn = b.u.b ? b.u.b->n : 0;
            if (an != bn)
                return an < bn ? -1 : 1;
            for (uint64_t i = 0; i < an; i++) {
                int c = cmp_tuple(a.u.b->t[i], b.u.b->t[i]);
                if (c)
                    return c;
            }
            return 0;
        }
        case DQL_T_MAP: {
            uint32_t an = a.u.m ? a.u.m->n : 0, bn = b.u.m ? b.u.m->n : 0;
            if (an != bn)
                return an < bn ? -1 : 1;
            for (uint32_t i = 0; i < an; i++) {
                int c = dql_value_cmp(a.u.m->k[i], b.u.m->k[i]);
                if (!c)
                    c = dql_value_cmp(a.u.m->v[i], b.u.m->v[i]);
                if (c)
                    return c;
            }
            return 0;
        }
        default:
            return 0;
        }
    }
    int ra = rank_of(a.type), rb = rank_of(b.type);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    if (ra == 2)
        return cmp_num(a, b);
    if (ra == 5)
        return cmp_bytes(a.u.s, a.len, b.u.s, b.len);
    return 0;
}

static inline bool eq_bytes(const void *a, const void *b, size_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

static bool eq_icase(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x != y) {
            if (IS_UPPER(x))
                x += 32;
            if (IS_UPPER(y))
                y += 32;
            if (x != y)
                return false;
        }
    }
    return true;
}

static bool eq_tuple(const dql_tuple *a, const dql_tuple *b)
{
    if (!a || !b)
        return a == b;
    if (a->n != b->n)
        return false;
    for (uint32_t i = 0; i < a->n; i++)
        if (!dql_value_eq(a->v[i], b->v[i]))
            return false;
    return true;
}

bool dql_value_eq(dql_value a, dql_value b)
{
    if (a.type != b.type)
        return dql_value_cmp(a, b) == 0;
    switch (a.type) {
    case DQL_T_NULL:
        return true;
    case DQL_T_BOOL: case DQL_T_INT: case DQL_T_LONG: case DQL_T_DATETIME:
        return a.u.i == b.u.i;
    case DQL_T_DOUBLE:
        return a.u.d == b.u.d || (a.u.d != a.u.d && b.u.d != b.u.d);
    case DQL_T_CHARARRAY: case DQL_T_BYTEARRAY: case DQL_T_IP:
        return a.len == b.len && eq_bytes(a.u.s, b.u.s, a.len);
    case DQL_T_DOMAIN:
        return a.len == b.len && eq_icase(a.u.s, b.u.s, a.len);
    case DQL_T_CIDR:
        return a.len == b.len && a.aux == b.aux && eq_bytes(a.u.ip, b.u.ip, a.len);
    case DQL_T_TUPLE:
        return eq_tuple(a.u.t, b.u.t);
    case DQL_T_BAG: {
        uint64_t an = a.u.b ? a.u.b->n : 0, bn = b.u.b ? b.u.b->n : 0;
        if (an != bn)
            return false;
        for (uint64_t i = 0; i < an; i++)
            if (!eq_tuple(a.u.b->t[i], b.u.b->t[i]))
                return false;
        return true;
    }
    default:
        return dql_value_cmp(a, b) == 0;
    }
}

/* ----------------------------------------------------------------- domains */

static inline unsigned char lower(unsigned char c)
{
    return IS_UPPER(c) ? (unsigned char)(c + 32) : c;
}

/* DNS canonical order: labels compared from the rightmost, each as a
 * case-insensitive octet string (a shorter label that is a prefix sorts
 * first); a name that runs out of labels first sorts first. "." (the root)
 * has no labels; any other text is split on every dot. */
int dql_domain_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    bool ra = an == 1 && a[0] == '.', rb = bn == 1 && b[0] == '.';
    if (ra || rb)
        return rb - ra;
    /* Skip the common suffix (names in one zone share most of it), then
     * compare from the end of the label holding the first difference. */
    size_t i = an, j = bn;
    while (i && j && lower((unsigned char)a[i - 1]) == lower((unsigned char)b[j - 1]))
        i--, j--;
    if (!i && !j)
        return 0;
    size_t ea = i;
    while (ea < an && a[ea] != '.')
        ea++;
    size_t eb = j + (ea - i);
    for (;;) {
        size_t sa = ea, sb = eb;
        while (sa > 0 && a[sa - 1] != '.')
            sa--;
        while (sb > 0 && b[sb - 1] != '.')
            sb--;
        size_t la = ea - sa, lb = eb - sb, m = la < lb ? la : lb;
        for (size_t k = 0; k < m; k++) {
            unsigned char x = lower((unsigned char)a[sa + k]), y = lower((unsigned char)b[sb + k]);
            if (x != y)
                return x < y ? -1 : 1;
        }
        if (la != lb)
            return la < lb ? -1 : 1;
        if (sa == 0 || sb == 0)
            return (sa != 0) - (sb != 0);
        ea = sa - 1;
        eb = sb - 1;
    }
}

/* Validates and normalises a name. The result points into s when s needs
 * no lower-casing (a trailing dot is dropped by shortening); otherwise it is
 * a lower-cased copy in a. Allowed octets: letters, digits, '-', '_', '*'. */
bool dql_domain_normalize(dql_arena *a, const char *s, size_t n, dql_value *out, const char **why)
{
    const char *w_;
    if (!why)
        why = &w_;
    *out = dql_null();
    if (n == 0) {
        *why = "empty name";
        return false;
    }
    if (n == 1 && s[0] == '.') {
        *out = dql_str(DQL_T_DOMAIN, s, 1);
        return true;
    }
    size_t len = n;
    if (s[len - 1] == '.')
        len--;
    if (len > 253) {
        *why = "name longer than 253 octets";
        return false;
    }
    bool upper = false;
    size_t lab = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (lab == 0) {
                *why = "empty label";
                return false;
            }
            lab = 0;
            continue;
        }
        if (++lab > 63) {
            *why = "label longer than 63 octets";
            return false;
        }
        if (((unsigned)c - 'a' < 26u) || ((unsigned)c - '0' < 10u) || c == '-' || c == '_' || c == '*')
            continue;
        if (IS_UPPER(c)) {
            upper = true;
            continue;
        }
        if (c >= 0x80) {
#ifdef HAVE_LIBIDN2
            /* IDN: convert the whole name to punycode (IDNA 2008 with
             * transitional mapping, lower case) and validate the result. */
            char in[1024], *ace = NULL;
            if (n < sizeof in) {
                memcpy(in, s, n);
                in[n] = 0;
                if (idn2_to_ascii_8z(in, &ace, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT) == IDN2_OK && ace) {
                    size_t an = strlen(ace);
                    bool ok = false;
                    for (size_t k = 0; k < an && !ok; k++)
                        ok = (unsigned char)ace[k] >= 0x80;
                    ok = !ok && an > 0 && dql_domain_normalize(a, ace, an, out, why);
                    if (ok && out->u.s == ace)
                        out->u.s = dql_arena_memdup(a, ace, out->len);
                    idn2_free(ace);
                    if (ok)
                        return true;
                    return false;
                }
                idn2_free(ace);
            }
            *why = "invalid internationalised name (IDNA)";
#else
            *why = "non-ASCII label (IDN not converted: built without libidn2)";
#endif
        }
        else if (c == '\\')
            *why = "escaped octets are not supported";
        else
            *why = "invalid character in name";
        return false;
    }
    if (lab == 0) {
        *why = "empty label";
        return false;
    }
    if (!upper) {
        *out = dql_str(DQL_T_DOMAIN, s, len);
        return true;
    }
    char *p = ALLOC(a, len);
    for (size_t i = 0; i < len; i++)
        p[i] = (char)lower((unsigned char)s[i]);
    *out = dql_str(DQL_T_DOMAIN, p, len);
    return true;
}

/* --------------------------------------------------------------------- ip */

/* inet_pton on a copy: text with ':' is v6, otherwise dotted-quad v4. */
bool dql_ip_parse(const char *s, size_t n, uint8_t out[16], int *len)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf || memchr(s, 0, n))
        return false;
    memcpy(buf, s, n);
    buf[n] = 0;
    if (memchr(s, ':', n)) {
        if (inet_pton(AF_INET6, buf, out) != 1)
            return false;
        *len = 16;
    } else {
        if (inet_pton(AF_INET, buf, out) != 1)
            return false;
        *len = 4;
    }
    return true;
}

/* "00" "01" ... "99": two digits per table lookup. */
static const char digits2[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Decimal digits of u (u >= 10). */
static inline unsigned ndigits(uint64_t u)
{
    static const uint64_t p10[20] = {
        1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull, 100000000ull,
        1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull, 10000000000000ull,
        100000000000000ull, 1000000000000000ull, 10000000000000000ull, 100000000000000000ull,
        1000000000000000000ull, 10000000000000000000ull,
    };
    unsigned t = ((unsigned)(64 - __builtin_clzll(u)) * 1233u) >> 12;   /* floor or ceil of log10 */
    return t + 1 - (u < p10[t]);
}

/* Writes the k low digits of u backwards ending at e (u < 10^k). */
static ALWAYS_INLINE void put_digits(char *e, uint64_t u, unsigned k)
{
    if (u <= UINT32_MAX) {
        uint32_t x = (uint32_t)u;          /* cheaper divisions */
        while (k >= 2) {
            uint32_t r = x % 100;
            x /= 100;
            e -= 2;
            memcpy(e, digits2 + 2 * r, 2);
            k -= 2;
        }
        if (k)
            *--e = (char)('0' + x);
        return;
    }
    while (k >= 2) {
        unsigned r = (unsigned)(u % 100);
        u /= 100;
        e -= 2;
        memcpy(e, digits2 + 2 * r, 2);
        k -= 2;
    }
    if (k)
        *--e = (char)('0' + u);
}

/* Decimal text of u; at most 20 bytes. */
static ALWAYS_INLINE size_t fmt_u(char *b, uint64_t u)
{
    if (u < 10) {
        b[0] = (char)('0' + u);
        return 1;
    }
    unsigned k = ndigits(u);
    put_digits(b + k, u, k);
    return k;
}

static ALWAYS_INLINE size_t fmt_i64(char *b, int64_t v)
{
    if (v < 0) {
        b[0] = '-';
        return 1 + fmt_u(b + 1, (uint64_t)0 - (uint64_t)v);
    }
    return fmt_u(b, (uint64_t)v);
}

/* Each octet value in decimal and a dot, in 4 bytes (NUL padded), and the
 * length of that text: a dotted quad is four copies without a branch. */
static const char octet_txt[256 * 4 + 1] =
    "0.\0\0" "1.\0\0" "2.\0\0" "3.\0\0" "4.\0\0" "5.\0\0" "6.\0\0" "7.\0\0"
    "8.\0\0" "9.\0\0" "10.\0" "11.\0" "12.\0" "13.\0" "14.\0" "15.\0"
    "16.\0" "17.\0" "18.\0" "19.\0" "20.\0" "21.\0" "22.\0" "23.\0"
    "24.\0" "25.\0" "26.\0" "27.\0" "28.\0" "29.\0" "30.\0" "31.\0"
    "32.\0" "33.\0" "34.\0" "35.\0" "36.\0" "37.\0" "38.\0" "39.\0"
    "40.\0" "41.\0" "42.\0" "43.\0" "44.\0" "45.\0" "46.\0" "47.\0"
    "48.\0" "49.\0" "50.\0" "51.\0" "52.\0" "53.\0" "54.\0" "55.\0"
    "56.\0" "57.\0" "58.\0" "59.\0" "60.\0" "61.\0" "62.\0" "63.\0"
    "64.\0" "65.\0" "66.\0" "67.\0" "68.\0" "69.\0" "70.\0" "71.\0"
    "72.\0" "73.\0" "74.\0" "75.\0" "76.\0" "77.\0" "78.\0" "79.\0"
    "80.\0" "81.\0" "82.\0" "83.\0" "84.\0" "85.\0" "86.\0" "87.\0"
    "88.\0" "89.\0" "90.\0" "91.\0" "92.\0" "93.\0" "94.\0" "95.\0"
    "96.\0" "97.\0" "98.\0" "99.\0" "100." "101." "102." "103."
    "104." "105." "106." "107." "108." "109." "110." "111."
    "112." "113." "114." "115." "116." "117." "118." "119."
    "120." "121." "122." "123." "124." "125." "126." "127."
    "128." "129." "130." "131." "132." "133." "134." "135."
    "136." "137." "138." "139." "140." "141." "142." "143."
    "144." "145." "146." "147." "148." "149." "150." "151."
    "152." "153." "154." "155." "156." "157." "158." "159."
    "160." "161." "162." "163." "164." "165." "166." "167."
    "168." "169." "170." "171." "172." "173." "174." "175."
    "176." "177." "178." "179." "180." "181." "182." "183."
    "184." "185." "186." "187." "188." "189." "190." "191."
    "192." "193." "194." "195." "196." "197." "198." "199."
    "200." "201." "202." "203." "204." "205." "206." "207."
    "208." "209." "210." "211." "212." "213." "214." "215."
    "216." "217." "218." "219." "220." "221." "222." "223."
    "224." "225." "226." "227." "228." "229." "230." "231."
    "232." "233." "234." "235." "236." "237." "238." "239."
    "240." "241." "242." "243." "244." "245." "246." "247."
    "248." "249." "250." "251." "252." "253." "254." "255.";
#define OCTET_LEN(x) ((x) < 10 ? 2 : (x) < 100 ? 3 : 4)
static const uint8_t octet_len[256] = {
#define L8(x) OCTET_LEN(x), OCTET_LEN(x + 1), OCTET_LEN(x + 2), OCTET_LEN(x + 3), OCTET_LEN(x + 4), \
    OCTET_LEN(x + 5), OCTET_LEN(x + 6), OCTET_LEN(x + 7)
#define L64(x) L8(x), L8(x + 8), L8(x + 16), L8(x + 24), L8(x + 32), L8(x + 40), L8(x + 48), L8(x + 56)
    L64(0), L64(64), L64(128), L64(192)
#undef L64
#undef L8
};
#undef OCTET_LEN

/* Dotted quad; at most 15 bytes, but 16 are written (b has the room). */
static inline size_t fmt_v4(char *b, const uint8_t *ip)
{
    size_t k = 0;
    for (int i = 0; i < 4; i++) {
        memcpy(b + k, octet_txt + 4 * ip[i], 4);
        k += octet_len[ip[i]];
    }
    return k - 1;   /* the last dot */
}

/* For each set of zero groups of an IPv6 address (bit i: group i is 0),
 * the longest run of two or more of them, the first on a tie: start |
 * length << 4, or 0 when there is none (RFC 5952 section 4.2). */
static const uint8_t zero_run[256] = {
    0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x21, 0x30, 0x00, 0x00, 0x00, 0x20, 0x22, 0x22, 0x31, 0x40,
    0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x21, 0x30, 0x23, 0x23, 0x23, 0x20, 0x32, 0x32, 0x41, 0x50,
    0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x21, 0x30, 0x00, 0x00, 0x00, 0x20, 0x22, 0x22, 0x31, 0x40,
    0x24, 0x24, 0x24, 0x20, 0x24, 0x24, 0x21, 0x30, 0x33, 0x33, 0x33, 0x33, 0x42, 0x42, 0x51, 0x60,
    0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x21, 0x30, 0x00, 0x00, 0x00, 0x20, 0x22, 0x22, 0x31, 0x40,
    0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x21, 0x30, 0x23, 0x23, 0x23, 0x20, 0x32, 0x32, 0x41, 0x50,
    0x25, 0x25, 0x25, 0x20, 0x25, 0x25, 0x21, 0x30, 0x25, 0x25, 0x25, 0x20, 0x22, 0x22, 0x31, 0x40,
    0x34, 0x34, 0x34, 0x34, 0x34, 0x34, 0x34, 0x30, 0x43, 0x43, 0x43, 0x43, 0x52, 0x52, 0x61, 0x70,
    0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x21, 0x30, 0x00, 0x00, 0x00, 0x20, 0x22, 0x22, 0x31, 0x40,
    0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x21, 0x30, 0x23, 0x23, 0x23, 0x20, 0x32, 0x32, 0x41, 0x50,
    0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x21, 0x30, 0x00, 0x00, 0x00, 0x20, 0x22, 0x22, 0x31, 0x40,
    0x24, 0x24, 0x24, 0x20, 0x24, 0x24, 0x21, 0x30, 0x33, 0x33, 0x33, 0x33, 0x42, 0x42, 0x51, 0x60,
    0x26, 0x26, 0x26, 0x20, 0x26, 0x26, 0x21, 0x30, 0x26, 0x26, 0x26, 0x20, 0x22, 0x22, 0x31, 0x40,
    0x26, 0x26, 0x26, 0x20, 0x26, 0x26, 0x21, 0x30, 0x23, 0x23, 0x23, 0x20, 0x32, 0x32, 0x41, 0x50,
    0x35, 0x35, 0x35, 0x35, 0x35, 0x35, 0x35, 0x30, 0x35, 0x35, 0x35, 0x35, 0x35, 0x35, 0x31, 0x40,
    0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x53, 0x53, 0x53, 0x53, 0x62, 0x62, 0x71, 0x80,
};

/* RFC 5952: lower-case hex, no leading zeros, the longest run (the first
 * on a tie) of two or more zero groups as "::", v4-mapped as ::ffff:a.b.c.d.
 * Writes at most 46 bytes. */
static size_t fmt_ip(char *b, const uint8_t *ip, int len)
{
    static const char hex[] = "0123456789abcdef";
    if (len == 4)
        return fmt_v4(b, ip);
    if (len != 16)
        return 0;
    unsigned g[8];
    unsigned z = 0;                    /* bit i: group i is zero */
    for (int i = 0; i < 8; i++) {
        g[i] = (unsigned)ip[2 * i] << 8 | ip[2 * i + 1];
        z |= (unsigned)(g[i] == 0) << i;
    }
    if ((z & 0x3f) == 0x1f && g[5] == 0xffff) {
        memcpy(b, "::ffff:", 7);
        return 7 + fmt_v4(b + 7, ip + 12);
    }
    unsigned r = zero_run[z];
    int best = r ? (int)(r & 15) : -1, bestlen = (int)(r >> 4);
    size_t k = 0;
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            b[k++] = ':';
            b[k++] = ':';
            i += bestlen - 1;
            continue;
        }
        if (i && i != best + bestlen)
            b[k++] = ':';
        unsigned x = g[i];
        if (x >= 0x1000) {
            b[k++] = hex[x >> 12];
            b[k++] = hex[x >> 8 & 15];
            b[k++] = hex[x >> 4 & 15];
        } else if (x >= 0x100) {
            b[k++] = hex[x >> 8];
            b[k++] = hex[x >> 4 & 15];
        } else if (x >= 0x10) {
            b[k++] = hex[x >> 4];
        }
        b[k++] = hex[x & 15];
    }
    return k;
}

void dql_ip_format(dql_buf *out, const uint8_t *ip, int len)
{
    char b[64];
    size_t k = fmt_ip(b, ip, len);
    dql_buf_put(out, b, k);
}

/* --------------------------------------------------------------- datetime */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned char dim[12] = { 31,28,31,30,31,30,31,31,30,31,30,31 };
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Reads exactly k digits. */
static bool digits(const char **pp, const char *end, int k, unsigned *v)
{
    const char *p = *pp;
    if (end - p < k)
        return false;
    unsigned x = 0;
    for (int i = 0; i < k; i++) {
        if ((unsigned)(p[i] - '0') > 9)
            return false;
        x = x * 10 + (unsigned)(p[i] - '0');
    }
    *v = x;
    *pp = p + k;
    return true;
}

/* YYYY-MM-DD, optionally followed by 'T' or ' ' and hh:mm[:ss[.frac]], then
 * optionally Z or ±hh[:mm] / ±hhmm. No zone means UTC. Fractions beyond
 * microseconds are truncated; second 60 (a leap second) rolls over. */
bool dql_datetime_parse(const char *s, size_t n, int64_t *us)
{
    const char *p = s, *end = s + n;
    unsigned y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;
    int64_t off = 0;
    if (!digits(&p, end, 4, &y) || p == end || *p++ != '-' || !digits(&p, end, 2, &mo)
        || p == end || *p++ != '-' || !digits(&p, end, 2, &d))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return false;
    if (p < end) {
        if (*p != 'T' && *p != 't' && *p != ' ')
            return false;
        p++;
        if (!digits(&p, end, 2, &h) || p == end || *p++ != ':' || !digits(&p, end, 2, &mi))
            return false;
        if (p < end && *p == ':') {
            p++;
            if (!digits(&p, end, 2, &sec))
                return false;
            if (p < end && (*p == '.' || *p == ',')) {
                p++;
                int nd = 0;
                while (p < end && (unsigned)(*p - '0') <= 9) {
                    if (nd < 6)
                        frac = frac * 10 + (unsigned)(*p - '0');
                    nd++;
                    p++;
                }
                if (!nd)
                    return false;
                for (int k = nd; k < 6; k++)
                    frac *= 10;
            }
        }
        if (h > 23 || mi > 59 || sec > 60)
            return false;
        if (p < end) {
            if ((*p == 'Z' || *p == 'z') && p + 1 == end) {
                p++;
            } else if (*p == '+' || *p == '-') {
                int sign = *p++ == '-' ? -1 : 1;
                unsigned oh, om = 0;
                if (!digits(&p, end, 2, &oh))
                    return false;
                if (p < end && *p == ':')
                    p++;
                if ((p < end || p[-1] == ':') && !digits(&p, end, 2, &om))
                    return false;
                if (oh > 23 || om > 59)
                    return false;
                off = sign * (int64_t)(oh * 3600 + om * 60);
            } else {
                return false;
            }
        }
        if (p != end)
            return false;
    }
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
    *us = secs * 1000000 + frac;
    return true;
}

/* The text of the last second formatted ("YYYY-MM-DDTHH:MM:SS"), per
 * thread: consecutive datetimes (packet times, log lines) mostly fall in
 * the same second, and the calendar arithmetic is then skipped. */
static _Thread_local int64_t dt_secs = INT64_MIN;
static _Thread_local size_t dt_len;
static _Thread_local char dt_text[32];

/* Writes at most 40 bytes. */
static size_t fmt_dt(char *b, int64_t us)
{
    int64_t secs = us / 1000000, f = us % 1000000;
    if (f < 0) {
        f += 1000000;
        secs--;
    }
    size_t k;
    if (secs == dt_secs) {
        memcpy(b, dt_text, sizeof dt_text);
        k = dt_len;
    } else {
        int64_t days = secs / 86400, sod = secs % 86400;
        if (sod < 0) {
            sod += 86400;
            days--;
        }
        int64_t y;
        unsigned m, d;
        civil_from_days(days, &y, &m, &d);
        if (y >= 0 && y <= 9999) {
            memcpy(b, digits2 + 2 * (y / 100), 2);
            memcpy(b + 2, digits2 + 2 * (y % 100), 2);
            k = 4;
        } else {
            b[0] = y < 0 ? '-' : '+';
            k = 1 + fmt_u(b + 1, y < 0 ? (uint64_t)0 - (uint64_t)y : (uint64_t)y);
        }
        unsigned parts[5] = { m, d, (unsigned)(sod / 3600), (unsigned)(sod / 60 % 60), (unsigned)(sod % 60) };
        static const char sep[5] = { '-', '-', 'T', ':', ':' };
        for (int i = 0; i < 5; i++) {
            b[k++] = sep[i];
            memcpy(b + k, digits2 + 2 * parts[i], 2);
            k += 2;
        }
        if (k <= sizeof dt_text) {
            memcpy(dt_text, b, k);
            dt_len = k;
            dt_secs = secs;
        }
    }
    if (f) {
        unsigned fr = (unsigned)f;
        unsigned nd = 6;
        if (fr % 1000 == 0) {
            fr /= 1000;
            nd = 3;
        }
        b[k++] = '.';
        put_digits(b + k + nd, fr, nd);
        k += nd;
    }
    b[k++] = 'Z';
    return k;
}

void dql_datetime_format(dql_buf *out, int64_t us)
{
    char b[48];
    dql_buf_put(out, b, fmt_dt(b, us));
}

/* ------------------------------------------------------------- formatting */

/* Shortest text that reads back as d: integral values below 1e15 directly,
 * otherwise the first of %.15g, %.16g, %.17g that round-trips. A ".0" is
 * added when the text would read as an integer. Writes at most 32 bytes. */
static size_t fmt_double(char *b, double d)
{
    if (d != d) {
        memcpy(b, "NaN", 3);
        return 3;
    }
    if (isinf(d)) {
        if (d < 0) {
            memcpy(b, "-Infinity", 9);
            return 9;
        }
        memcpy(b, "Infinity", 8);
        return 8;
    }
    size_t k;
    if (d == trunc(d) && fabs(d) < 1e15) {
        if (d == 0 && signbit(d)) {
            memcpy(b, "-0", 2);
            k = 2;
        } else {
            k = fmt_i64(b, (int64_t)d);
        }
        b[k++] = '.';
        b[k++] = '0';
        return k;
    }
    int r = 0;
    for (int prec = 15; prec <= 17; prec++) {
        r = snprintf(b, 32, "%.*g", prec, d);
        if (prec == 17 || strtod(b, NULL) == d)
            break;
    }
    k = r > 0 && r < 32 ? (size_t)r : 0;
    if (!memchr(b, '.', k) && !memchr(b, 'e', k)) {
        b[k++] = '.';
        b[k++] = '0';
    }
    return k;
}

/* DUMP text of a non-container atom other than a string. Writes at most 64
 * bytes; returns 0 for types it does not handle. */
static inline size_t fmt_atom(char *b, dql_value v)
{
    switch (v.type) {
    case DQL_T_BOOL:
        if (v.u.i) {
            memcpy(b, "true", 4);
            return 4;
        }
        memcpy(b, "false", 5);
        return 5;
    case DQL_T_INT: case DQL_T_LONG:
        return fmt_i64(b, v.u.i);
    case DQL_T_DOUBLE:
        return fmt_double(b, v.u.d);
    case DQL_T_DATETIME:
        return fmt_dt(b, v.u.i);
    case DQL_T_IP:
        return fmt_ip(b, v.u.ip, (int)v.len);
    case DQL_T_CIDR: {
        size_t k = fmt_ip(b, v.u.ip, (int)v.len);
        b[k++] = '/';
        return k + fmt_u(b + k, v.aux);
    }
    default:
        return 0;
    }
}

/* Bytes a TSV cell escapes (\t \n \r \\), and their escapes. */
static const char tsv_esc[256] = { ['\t'] = 't', ['\n'] = 'n', ['\r'] = 'r', ['\\'] = '\\' };

/* Nonzero when one of the bytes of w is one TSV escapes (exact: the "has a
 * zero byte" test on w xor each of them). */
static ALWAYS_INLINE uint64_t tsv_any8(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t a = w ^ (ones * '\t'), b = w ^ (ones * '\n'), c = w ^ (ones * '\r'), d = w ^ (ones * '\\');
    return (((a - ones) & ~a) | ((b - ones) & ~b) | ((c - ones) & ~c) | ((d - ones) & ~d)) & highs;
}

static ALWAYS_INLINE uint32_t tsv_any4(uint32_t w)
{
    const uint32_t ones = 0x01010101u, highs = 0x80808080u;
    uint32_t a = w ^ (ones * '\t'), b = w ^ (ones * '\n'), c = w ^ (ones * '\r'), d = w ^ (ones * '\\');
    return (((a - ones) & ~a) | ((b - ones) & ~b) | ((c - ones) & ~c) | ((d - ones) & ~d)) & highs;
}

/* dql_buf_tsv(), with short strings (most cells) done in line: a string of
 * 4 to 15 bytes with nothing to escape is checked and copied as two
 * overlapping words. */
static ALWAYS_INLINE void tsv_str(dql_buf *out, const char *s, size_t n)
{
    if (n >= 16) {
        dql_buf_tsv(out, s, n);
        return;
    }
    if (out->cap - out->len <= 2 * n)
        dql_buf_reserve(out, 2 * n);
    char *o = out->p + out->len;
    if (n >= 8) {
        uint64_t x, y;
        memcpy(&x, s, 8);
        memcpy(&y, s + n - 8, 8);
        if (!tsv_any8(x) && !tsv_any8(y)) {
            memcpy(o, &x, 8);
            memcpy(o + n - 8, &y, 8);
            out->len += n;
            return;
        }
    } else if (n >= 4) {
        uint32_t x, y;
        memcpy(&x, s, 4);
        memcpy(&y, s + n - 4, 4);
        if (!tsv_any4(x) && !tsv_any4(y)) {
            memcpy(o, &x, 4);
            memcpy(o + n - 4, &y, 4);
            out->len += n;
            return;
        }
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i], e = tsv_esc[(unsigned char)c];
        if (e) {
            *o++ = '\\';
            c = e;
        }
        *o++ = c;
    }
    out->len = (size_t)(o - out->p);
}

/* DUMP text of v appended to out; with tsv, the bytes of strings are
 * escaped for a TSV cell as they are copied (dql_buf_tsv). Atoms other than
 * strings never hold a byte TSV escapes, so escaping the pieces gives the
 * same text as escaping the whole rendering afterwards. */
static void format_value(dql_buf *out, dql_value v, bool tsv);

static void format_tuple(dql_buf *out, const dql_tuple *t, bool tsv)
{
    dql_buf_putc(out, '(');
    for (uint32_t i = 0; t && i < t->n; i++) {
        if (i)
            dql_buf_putc(out, ',');
        format_value(out, t->v[i], tsv);
    }
    dql_buf_putc(out, ')');
}

static void format_value(dql_buf *out, dql_value v, bool tsv)
{
    switch (v.type) {
    case DQL_T_NULL:
        return;
    case DQL_T_CHARARRAY: case DQL_T_BYTEARRAY: case DQL_T_DOMAIN:
        if (tsv)
            tsv_str(out, v.u.s, v.len);
        else
            dql_buf_put(out, v.u.s, v.len);
        return;
    case DQL_T_TUPLE:
        format_tuple(out, v.u.t, tsv);
        return;
    case DQL_T_BAG:
        dql_buf_putc(out, '{');
        for (uint64_t i = 0; v.u.b && i < v.u.b->n; i++) {
            if (i)
                dql_buf_putc(out, ',');
            format_tuple(out, v.u.b->t[i], tsv);
        }
        dql_buf_putc(out, '}');
        return;
    case DQL_T_MAP:
        dql_buf_putc(out, '[');
        for (uint32_t i = 0; v.u.m && i < v.u.m->n; i++) {
            if (i)
                dql_buf_putc(out, ',');
            format_value(out, v.u.m->k[i], tsv);
            dql_buf_putc(out, '#');
            format_value(out, v.u.m->v[i], tsv);
        }
        dql_buf_putc(out, ']');
        return;
    default: {
        if (out->cap - out->len <= 64 || !out->p)
            dql_buf_reserve(out, 64);
        out->len += fmt_atom(out->p + out->len, v);
        return;
    }
    }
}

void dql_value_format(dql_buf *out, dql_value v)
{
    format_value(out, v, false);
}

static void tsv_container(dql_buf *out, dql_value v);

/* A TSV cell: the common atoms in line, as this is on the path of every
 * cell DUMP prints in tsv mode. */
static ALWAYS_INLINE void tsv_cell(dql_buf *out, dql_value v)
{
    if (out->cap - out->len <= 64)      /* also when p is NULL: cap is 0 */
        dql_buf_reserve(out, 64);
    char *b = out->p + out->len;
    switch (v.type) {
    case DQL_T_NULL:
        return;
    case DQL_T_INT: case DQL_T_LONG:
        out->len += fmt_i64(b, v.u.i);
        return;
    case DQL_T_BOOL:
        if (v.u.i) {
            memcpy(b, "true", 4);
            out->len += 4;
        } else {
            memcpy(b, "false", 5);
            out->len += 5;
        }
        return;
    case DQL_T_DATETIME:
        out->len += fmt_dt(b, v.u.i);
        return;
    case DQL_T_IP:
        out->len += v.len == 4 ? fmt_v4(b, v.u.ip) : fmt_ip(b, v.u.ip, (int)v.len);
        return;
    case DQL_T_CHARARRAY: case DQL_T_BYTEARRAY: case DQL_T_DOMAIN:
        tsv_str(out, v.u.s, v.len);
        return;
    case DQL_T_TUPLE: case DQL_T_BAG: case DQL_T_MAP:
        tsv_container(out, v);
        return;
    default:
        out->len += fmt_atom(b, v);
        return;
    }
}

static void tsv_tuple(dql_buf *out, const dql_tuple *t)
{
    dql_buf_putc(out, '(');
    for (uint32_t i = 0; t && i < t->n; i++) {
        if (i)
            dql_buf_putc(out, ',');
        tsv_cell(out, t->v[i]);
    }
    dql_buf_putc(out, ')');
}

/* format_value(.., true) of a tuple, bag or map, with their atoms in line. */
static void tsv_container(dql_buf *out, dql_value v)
{
    switch (v.type) {
    case DQL_T_TUPLE:
        tsv_tuple(out, v.u.t);
        return;
    case DQL_T_BAG:
        dql_buf_putc(out, '{');
        for (uint64_t i = 0; v.u.b && i < v.u.b->n; i++) {
            if (i)
                dql_buf_putc(out, ',');
            tsv_tuple(out, v.u.b->t[i]);
        }
        dql_buf_putc(out, '}');
        return;
    default:
        format_value(out, v, true);
        return;
    }
}

void dql_value_format_tsv(dql_buf *out, dql_value v)
{
    tsv_cell(out, v);
}

void dql_row_format_tsv(dql_buf *out, const dql_value *row, int n, const char *null, size_t nulllen)
{
    for (int j = 0; j < n; j++) {
        if (j)
            dql_buf_putc(out, '\t');
        if (row[j].type == DQL_T_NULL)
            dql_buf_put(out, null, nulllen);
        else
            tsv_cell(out, row[j]);
    }
    dql_buf_putc(out, '\n');
}

/* Length of the well-formed UTF-8 sequence at p (lead byte >= 0x80), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    unsigned char lo = 0x80, hi = 0xbf;
    size_t k;
    if (c >= 0xc2 && c <= 0xdf)
        k = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        k = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        k = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else
        return 0;
    if (n < k || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < k; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return k;
}

/* A JSON string (RFC 8259): control characters as \uXXXX (or their short
 * escapes), ill-formed UTF-8 bytes as \ufffd. */
static void json_str(dql_buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    dql_buf_reserve(out, n + 2);
    dql_buf_putc(out, '"');
    size_t run = 0, i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t k = utf8_seq(p + i, n - i);
            if (k) {
                i += k;
                continue;
            }
        }
        dql_buf_put(out, p + run, i - run);
        char e[6] = { '\\', 0 };
        size_t el = 2;
        switch (c) {
        case '"': e[1] = '"'; break;
        case '\\': e[1] = '\\'; break;
        case '\b': e[1] = 'b'; break;
        case '\f': e[1] = 'f'; break;
        case '\n': e[1] = 'n'; break;
        case '\r': e[1] = 'r'; break;
        case '\t': e[1] = 't'; break;
        default:
            if (c >= 0x80) {
                memcpy(e, "\\ufffd", 6);
            } else {
                e[1] = 'u'; e[2] = '0'; e[3] = '0';
                e[4] = hex[c >> 4]; e[5] = hex[c & 15];
            }
            el = 6;
        }
        dql_buf_put(out, e, el);
        i++;
        run = i;
    }
    dql_buf_put(out, p + run, i - run);
    dql_buf_putc(out, '"');
}

static void json_tuple(dql_buf *out, const dql_tuple *t)
{
    dql_buf_putc(out, '[');
    for (uint32_t i = 0; t && i < t->n; i++) {
        if (i)
            dql_buf_putc(out, ',');
        dql_value_json(out, t->v[i]);
    }
    dql_buf_putc(out, ']');
}

void dql_value_json(dql_buf *out, dql_value v)
{
    char b[72];
    switch (v.type) {
    case DQL_T_NULL:
        dql_buf_put(out, "null", 4);
        return;
    case DQL_T_BOOL: case DQL_T_INT: case DQL_T_LONG:
        dql_buf_put(out, b, fmt_atom(b, v));
        return;
    case DQL_T_DOUBLE:
        if (!isfinite(v.u.d))
            dql_buf_put(out, "null", 4);
        else
            dql_buf_put(out, b, fmt_double(b, v.u.d));
        return;
    case DQL_T_CHARARRAY: case DQL_T_BYTEARRAY: case DQL_T_DOMAIN:
        json_str(out, v.u.s, v.len);
        return;
    case DQL_T_DATETIME: case DQL_T_IP: case DQL_T_CIDR: {
        b[0] = '"';
        size_t k = 1 + fmt_atom(b + 1, v);
        b[k++] = '"';
        dql_buf_put(out, b, k);
        return;
    }
    case DQL_T_TUPLE:
        json_tuple(out, v.u.t);
        return;
    case DQL_T_BAG:
        dql_buf_putc(out, '[');
        for (uint64_t i = 0; v.u.b && i < v.u.b->n; i++) {
            if (i)
                dql_buf_putc(out, ',');
            json_tuple(out, v.u.b->t[i]);
        }
        dql_buf_putc(out, ']');
        return;
    case DQL_T_MAP:
        dql_buf_putc(out, '{');
        for (uint32_t i = 0; v.u.m && i < v.u.m->n; i++) {
            if (i)
                dql_buf_putc(out, ',');
            dql_value k = v.u.m->k[i];
            if (dql_type_is_stringlike((dql_type)k.type)) {
                json_str(out, k.u.s, k.len);
            } else {
                dql_buf kb = {0};
                dql_value_format(&kb, k);
                json_str(out, kb.p, kb.len);
                dql_buf_free(&kb);
            }
            dql_buf_putc(out, ':');
            dql_value_json(out, v.u.m->v[i]);
        }
        dql_buf_putc(out, '}');
        return;
    default:
        dql_buf_put(out, "null", 4);
        return;
    }
}

/* ------------------------------------------------------- parsing, casting */

/* Optional sign and decimal digits, nothing else, within [lo, hi]. */
static bool parse_int(const char *s, size_t n, int64_t lo, int64_t hi, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (n && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n)
        return false;
    uint64_t lim = neg ? (uint64_t)0 - (uint64_t)lo : (uint64_t)hi, v = 0;
    for (; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9 || v > (lim - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)((uint64_t)0 - v) : (int64_t)v;
    return true;
}

/* strtod on the whole text: no blanks, no hex, no trailing junk; overflow
 * to infinity fails, the words nan/inf/infinity are accepted. */
static bool parse_double(const char *s, size_t n, double *out)
{
    char stack[64];
    if (n == 0 || memchr(s, 0, n))
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == 'x' || s[i] == 'X' || s[i] == ' ' || (unsigned)(s[i] - '\t') < 5u)
            return false;
    char *b = n < sizeof stack ? stack : dql_xmalloc(n + 1);
    memcpy(b, s, n);
    b[n] = 0;
    char *e;
    errno = 0;
    double d = strtod(b, &e);
    bool ok = e == b + n && !(errno == ERANGE && isinf(d));
    if (ok && isinf(d)) {
        const char *t = b + (b[0] == '-' || b[0] == '+');
        ok = (t[0] | 32) == 'i';
    }
    if (b != stack)
        free(b);
    if (ok)
        *out = d;
    return ok;
}

static bool parse_bool(const char *s, size_t n, bool *out)
{
    if (ieq(s, n, "true") || (n == 1 && s[0] == '1'))
        *out = true;
    else if (ieq(s, n, "false") || (n == 1 && s[0] == '0'))
        *out = false;
    else
        return false;
    return true;
}

/* addr[/prefix]; a bare address is a host network (/32 or /128). */
static bool parse_cidr(dql_arena *a, const char *s, size_t n, dql_value *out)
{
    const char *slash = memchr(s, '/', n);
    size_t an = slash ? (size_t)(slash - s) : n;
    uint8_t ip[16];
    int len;
    if (!dql_ip_parse(s, an, ip, &len))
        return false;
    int64_t prefix = len * 8;
    if (slash) {
        const char *p = slash + 1;
        size_t pn = n - an - 1;
        if (pn == 0 || pn > 3 || p[0] == '+' || p[0] == '-'
            || !parse_int(p, pn, 0, len * 8, &prefix))
            return false;
    }
    *out = dql_cidr_make(a, ip, len, (int)prefix);
    return true;
}

/* Strings (chararray, bytearray, any) are not copied: the value points into
 * s. Domains point into s unless they needed lower-casing. */
bool dql_value_parse(dql_arena *a, const char *s, size_t n, dql_type t, dql_value *out)
{
    int64_t i;
    *out = dql_null();
    switch (t) {
    case DQL_T_NULL:
        return true;
    case DQL_T_BOOL: {
        bool b;
        if (!parse_bool(s, n, &b))
            return false;
        *out = dql_bool(b);
        return true;
    }
    case DQL_T_INT:
        if (!parse_int(s, n, INT32_MIN, INT32_MAX, &i))
            return false;
        *out = dql_int((int32_t)i);
        return true;
    case DQL_T_LONG:
        if (!parse_int(s, n, INT64_MIN, INT64_MAX, &i))
            return false;
        *out = dql_long(i);
        return true;
    case DQL_T_DOUBLE: {
        double d;
        if (!parse_double(s, n, &d))
            return false;
        *out = dql_double(d);
        return true;
    }
    case DQL_T_CHARARRAY: case DQL_T_BYTEARRAY:
        *out = dql_str(t, s, n);
        return true;
    case DQL_T_ANY:
        *out = dql_str(DQL_T_BYTEARRAY, s, n);
        return true;
    case DQL_T_DATETIME:
        if (!dql_datetime_parse(s, n, &i))
            return false;
        *out = dql_datetime(i);
        return true;
    case DQL_T_DOMAIN:
        return dql_domain_normalize(a, s, n, out, NULL);
    case DQL_T_IP: {
        uint8_t ip[16];
        int len;
        if (!dql_ip_parse(s, n, ip, &len))
            return false;
        *out = dql_ip_make(a, ip, len);
        return true;
    }
    case DQL_T_CIDR:
        return parse_cidr(a, s, n, out);
    default:
        return false;
    }
}

/* See dql.h. Choices: boolean <-> numbers and datetime <-> numbers do not
 * convert; double -> int/long truncates toward zero and fails on NaN or out
 * of range; cidr -> ip only for a host prefix (/32, /128); ip -> cidr gives
 * a host prefix; atoms -> chararray/bytearray render as DUMP does (into a);
 * tuples, bags and maps convert only to their own type. */
bool dql_value_cast(dql_arena *a, dql_value v, dql_type to, dql_value *out)
{
    *out = dql_null();
    if (v.type == DQL_T_NULL)
        return true;
    if (v.type == to || to == DQL_T_ANY) {
        *out = v;
        return true;
    }
    if (v.type == DQL_T_TUPLE || v.type == DQL_T_BAG || v.type == DQL_T_MAP)
        return false;
    bool from_str = dql_type_is_stringlike((dql_type)v.type);
    switch (to) {
    case DQL_T_INT: case DQL_T_LONG: case DQL_T_DOUBLE: {
        if (from_str)
            return dql_value_parse(a, v.u.s, v.len, to, out);
        if (v.type != DQL_T_INT && v.type != DQL_T_LONG && v.type != DQL_T_DOUBLE)
            return false;
        if (to == DQL_T_DOUBLE) {
            *out = dql_double((double)v.u.i);
            return true;
        }
        int64_t lo = to == DQL_T_INT ? INT32_MIN : INT64_MIN;
        int64_t hi = to == DQL_T_INT ? INT32_MAX : INT64_MAX;
        int64_t i;
        if (v.type == DQL_T_DOUBLE) {
            double d = trunc(v.u.d);
            if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
                return false;
            i = (int64_t)d;
        } else {
            i = v.u.i;
        }
        if (i < lo || i > hi)
            return false;
        *out = to == DQL_T_INT ? dql_int((int32_t)i) : dql_long(i);
        return true;
    }
    case DQL_T_CHARARRAY: case DQL_T_BYTEARRAY: {
        if (from_str) {
            *out = dql_str(to, v.u.s, v.len);
            return true;
        }
        char b[72];
        size_t k = fmt_atom(b, v);
        char *p = ALLOC(a, k);
        memcpy(p, b, k);
        *out = dql_str(to, p, k);
        return true;
    }
    case DQL_T_BOOL: case DQL_T_DATETIME: case DQL_T_DOMAIN:
        if (!from_str)
            return false;
        return dql_value_parse(a, v.u.s, v.len, to, out);
    case DQL_T_IP:
        if (from_str)
            return dql_value_parse(a, v.u.s, v.len, to, out);
        if (v.type == DQL_T_CIDR && v.aux == v.len * 8) {
            *out = v;
            out->type = DQL_T_IP;
            out->aux = 0;
            return true;
        }
        return false;
    case DQL_T_CIDR:
        if (from_str)
            return dql_value_parse(a, v.u.s, v.len, to, out);
        if (v.type == DQL_T_IP) {
            *out = v;
            out->type = DQL_T_CIDR;
            out->aux = (uint16_t)(v.len * 8);
            return true;
        }
        return false;
    default:
        return false;
    }
}
