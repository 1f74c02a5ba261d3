/* fn_net.c — the address builtins: IP_VERSION, IN_CIDR, REVERSE_NAME and
 * the parse helpers IP and CIDR. Addresses may be ip values or text to
 * parse; networks cidr values or text such as "10.0.0.0/8" (a constant
 * network is parsed once, at plan time). A v4-mapped v6 address
 * (::ffff:a.b.c.d) matches the v4 networks that contain a.b.c.d. */
#include "exec.h"

#include <stdlib.h>
#include <string.h>

/* printf arguments showing a text value (up to 100 bytes) in messages. */
#define SHOWN(v) (dql_type_is_stringlike((dql_type)(v).type) ? (int)((v).len > 100 ? 100 : (v).len) : 0), \
                 (dql_type_is_stringlike((dql_type)(v).type) ? (v).u.s : "")

/* An address argument: an ip (or the address of a cidr) value, or text
 * to parse. Returns 0 for null, -1 for a value that is not an address,
 * 1 with the address in addr/len otherwise. */
static int ip_arg(dql_value v, uint8_t addr[16], int *len)
{
    if (dql_is_null(v))
        return 0;
    if ((v.type == DQL_T_IP || v.type == DQL_T_CIDR) && (v.len == 4 || v.len == 16)) {
        memcpy(addr, v.u.ip, v.len);
        *len = (int)v.len;
        return 1;
    }
    if (dql_type_is_stringlike((dql_type)v.type) && dql_ip_parse(v.u.s, v.len, addr, len))
        return 1;
    return -1;
}

/* A network: address bytes, their length (4|16) and the prefix length. */
typedef struct net { uint8_t a[16]; int len, prefix; } net;

/* Parses "addr/prefix" or a bare address (a host network). */
static bool net_parse(const char *s, size_t n, net *o)
{
    const char *sl = memchr(s, '/', n);
    size_t an = sl ? (size_t)(sl - s) : n;
    if (!dql_ip_parse(s, an, o->a, &o->len))
        return false;
    o->prefix = o->len * 8;
    if (sl) {
        const char *p = sl + 1, *e = s + n;
        if (p == e || e - p > 3)
            return false;
        int x = 0;
        for (; p < e; p++) {
            if (*p < '0' || *p > '9') return false;
            x = x * 10 + (*p - '0');
        }
        if (x > o->len * 8)
            return false;
        o->prefix = x;
    }
    return true;
}

/* A network argument; same returns as ip_arg. */
static int net_arg(dql_value v, net *o)
{
    if (dql_is_null(v))
        return 0;
    if (v.type == DQL_T_CIDR && (v.len == 4 || v.len == 16) && v.aux <= v.len * 8) {
        memcpy(o->a, v.u.ip, v.len);
        o->len = (int)v.len;
        o->prefix = v.aux;
        return 1;
    }
    if (v.type == DQL_T_IP && (v.len == 4 || v.len == 16)) {
        memcpy(o->a, v.u.ip, v.len);
        o->len = (int)v.len;
        o->prefix = o->len * 8;
        return 1;
    }
    if (dql_type_is_stringlike((dql_type)v.type) && net_parse(v.u.s, v.len, o))
        return 1;
    return -1;
}

/* True when the first bits bits of a and b agree. */
static bool prefix_eq(const uint8_t *a, const uint8_t *b, int bits)
{
    int full = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)full) != 0)
        return false;
    if (!rest)
        return true;
    uint8_t mask = (uint8_t)(0xFF << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

static const uint8_t v4mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xFF,0xFF };

/* Whether address (a, len) lies in network n, mapping v4 <-> v4-mapped v6. */
static bool net_contains(const net *n, const uint8_t *a, int len)
{
    uint8_t tmp[16];
    if (len == n->len)
        return prefix_eq(a, n->a, n->prefix);
    if (len == 16 && n->len == 4)
        return memcmp(a, v4mapped, 12) == 0 && prefix_eq(a + 12, n->a, n->prefix);
    /* v4 address, v6 network: compare as ::ffff:a.b.c.d */
    memcpy(tmp, v4mapped, 12);
    memcpy(tmp + 12, a, 4);
    return prefix_eq(tmp, n->a, n->prefix);
}

/* IP_VERSION(ip): 4 or 6; null for null and for text that is not an address. */
static dql_status fn_ip_version(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    uint8_t a[16]; int len;
    *out = ip_arg(argv[0], a, &len) == 1 ? dql_int(len == 4 ? 4 : 6) : dql_null();
    return DQL_OK;
}

/* IN_CIDR state: the network when it is a constant. */
typedef struct { net n; } cidr_state;

static dql_status in_cidr_prepare(int argc, const dql_value *argv, const bool *consts, void **state,
                                  char *err, size_t errlen)
{
    *state = NULL;
    if (argc < 2 || !consts[1] || dql_is_null(argv[1]))
        return DQL_OK;
    cidr_state *st = dql_xmalloc(sizeof *st);
    if (net_arg(argv[1], &st->n) != 1) {
        if (dql_type_is_stringlike((dql_type)argv[1].type))
            snprintf(err, errlen, "'%.*s' is not a network (expected a cidr such as 10.0.0.0/8)",
                     (int)(argv[1].len > 100 ? 100 : argv[1].len), argv[1].u.s);
        else
            snprintf(err, errlen, "the network must be a cidr or chararray, not %s",
                     dql_type_name((dql_type)argv[1].type));
        free(st);
        return DQL_ERR_CHECK;
    }
    *state = st;
    return DQL_OK;
}

static void in_cidr_cleanup(void *state) { free(state); }

/* IN_CIDR(ip, cidr): true when the address is in the network. */
static dql_status fn_in_cidr(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    uint8_t a[16]; int len;
    net local;
    const net *n = &local;
    *out = dql_null();
    int ri = ip_arg(argv[0], a, &len);
    if (cx->state) {
        n = &((cidr_state *)cx->state)->n;
    } else {
        int rn = net_arg(argv[1], &local);
        if (rn == 0)
            return DQL_OK;
        if (rn < 0)
            return dql_fn_warn(cx, "IN_CIDR: bad network", "'%.*s' is not a network",
                           SHOWN(argv[1]));
    }
    if (ri == 0)
        return DQL_OK;
    if (ri < 0)
        return dql_fn_warn(cx, "IN_CIDR: bad address", "'%.*s' is not an address",
                       SHOWN(argv[0]));
    *out = dql_bool(net_contains(n, a, len));
    return DQL_OK;
}

/* REVERSE_NAME(ip): the reverse-DNS name, "4.3.2.1.in-addr.arpa" for v4,
 * 32 nibbles then "ip6.arpa" for v6. */
static dql_status fn_reverse_name(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    uint8_t a[16]; int len;
    int r = ip_arg(argv[0], a, &len);
    *out = dql_null();
    if (r == 0)
        return DQL_OK;
    if (r < 0)
        return dql_fn_warn(cx, "REVERSE_NAME: bad address", "'%.*s' is not an address", SHOWN(argv[0]));
    static const char hex[] = "0123456789abcdef";
    char *p;
    size_t n;
    if (len == 4) {
        p = dql_arena_alloc(cx->arena, 32);
        n = (size_t)snprintf(p, 32, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
    } else {
        n = 64 + 8;
        p = dql_arena_alloc(cx->arena, n + 1);
        char *w = p;
        for (int i = 15; i >= 0; i--) {
            *w++ = hex[a[i] & 15]; *w++ = '.';
            *w++ = hex[a[i] >> 4]; *w++ = '.';
        }
        memcpy(w, "ip6.arpa", 8);
    }
    *out = dql_str(DQL_T_DOMAIN, p, n);
    return DQL_OK;
}

/* IP(s): text parsed as an address; null with a warning when it is not one. */
static dql_status fn_ip(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    uint8_t a[16]; int len;
    int r = ip_arg(argv[0], a, &len);
    *out = dql_null();
    if (r < 0)
        return dql_fn_warn(cx, "IP: not an address", "'%.*s' is not an address",
                       SHOWN(argv[0]));
    if (r > 0)
        *out = argv[0].type == DQL_T_IP ? argv[0] : dql_ip_make(cx->arena, a, len);
    return DQL_OK;
}

/* CIDR(s): text parsed as a network, host bits cleared ("10.1.2.3/8" is
 * 10.0.0.0/8); a bare address is a host network. */
static dql_status fn_cidr(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    net n;
    int r = net_arg(argv[0], &n);
    *out = dql_null();
    if (r < 0)
        return dql_fn_warn(cx, "CIDR: not a network", "'%.*s' is not a network",
                       SHOWN(argv[0]));
    if (r > 0) {
        int full = n.prefix / 8, rest = n.prefix % 8;
        if (rest) n.a[full++] &= (uint8_t)(0xFF << (8 - rest));
        memset(n.a + full, 0, (size_t)(n.len - full));
        *out = dql_cidr_make(cx->arena, n.a, n.len, n.prefix);
    }
    return DQL_OK;
}

/* ---------------------------------------------------------- type checks */

static bool tc_addr(const dql_field *a, int i, bool net_ok, char *err, size_t errlen)
{
    dql_type t = a->type;
    if (t == DQL_T_IP || t == DQL_T_CHARARRAY || t == DQL_T_BYTEARRAY || t == DQL_T_ANY ||
        t == DQL_T_NULL || (net_ok && t == DQL_T_CIDR))
        return true;
    snprintf(err, errlen, "argument %d must be %s or chararray, not %s", i + 1,
             net_ok ? "a cidr, an ip" : "an ip", dql_type_name(t));
    return false;
}

static dql_type tc_ip_version(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{ return tc_addr(&args[0], 0, true, err, errlen) ? DQL_T_INT : DQL_T__COUNT; }
static dql_type tc_in_cidr(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    return tc_addr(&args[0], 0, false, err, errlen) && tc_addr(&args[1], 1, true, err, errlen)
        ? DQL_T_BOOL : DQL_T__COUNT;
}
static dql_type tc_reverse_name(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{ return tc_addr(&args[0], 0, false, err, errlen) ? DQL_T_DOMAIN : DQL_T__COUNT; }
static dql_type tc_ip(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{ return tc_addr(&args[0], 0, false, err, errlen) ? DQL_T_IP : DQL_T__COUNT; }
static dql_type tc_cidr(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{ return tc_addr(&args[0], 0, true, err, errlen) ? DQL_T_CIDR : DQL_T__COUNT; }

/* ---------------------------------------------------------------- table */

#define NET(name, lo, hi, ret, tc, fn, prep, clean, syn, sum) \
    { name, lo, hi, ret, tc, fn, NULL, prep, clean, "address", syn, sum }

const dql_func_def dql_fn_net[] = {
    NET("IP_VERSION", 1, 1, DQL_T_INT, tc_ip_version, fn_ip_version, NULL, NULL, "IP_VERSION(ip)",
        "4 or 6; null when the argument is not an address"),
    NET("IN_CIDR", 2, 2, DQL_T_BOOL, tc_in_cidr, fn_in_cidr, in_cidr_prepare, in_cidr_cleanup,
        "IN_CIDR(ip, cidr)", "true if the address is in the network (v4-mapped v6 matches v4 networks)"),
    NET("REVERSE_NAME", 1, 1, DQL_T_DOMAIN, tc_reverse_name, fn_reverse_name, NULL, NULL, "REVERSE_NAME(ip)",
        "the in-addr.arpa or ip6.arpa name of the address"),
    NET("IP", 1, 1, DQL_T_IP, tc_ip, fn_ip, NULL, NULL, "IP(s)",
        "s parsed as a v4 or v6 address"),
    NET("CIDR", 1, 1, DQL_T_CIDR, tc_cidr, fn_cidr, NULL, NULL, "CIDR(s)",
        "s parsed as a network (host bits cleared; a bare address is a host network)"),
    {0}
};
