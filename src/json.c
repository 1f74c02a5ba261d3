/* json.c — strict RFC 8259 JSON parser building dql_values in an arena
 * (with optional coercion to a declared field type), and the JSON string
 * escaper. See json.h for the mapping between JSON and dql values. */
#include "json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 256
#define JSON_STACK_INLINE 256

/* Parser state. The scratch stack collects the members of the containers
 * being parsed (one shared stack for all nesting levels); it starts in the
 * caller's frame and moves to the heap only for very wide documents. */
typedef struct jparser {
    dql_arena *a;
    const char *s, *p, *end;
    char *err;
    size_t errlen;
    unsigned *nbad;
    int depth;
    dql_value *stk;
    size_t nstk, capstk;
    bool stk_heap;
    bool failed;
} jparser;

static bool jfail(jparser *P, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records the first syntax error with its byte offset; returns false. */
static bool jfail(jparser *P, const char *fmt, ...)
{
    if (P->failed)
        return false;
    P->failed = true;
    if (P->err && P->errlen) {
        int k = snprintf(P->err, P->errlen, "at byte %zu: ", (size_t)(P->p - P->s));
        if (k < 0 || (size_t)k >= P->errlen)
            return false;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(P->err + k, P->errlen - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return false;
}

static void jbad(jparser *P, dql_value *out)
{
    *out = dql_null();
    if (P->nbad)
        (*P->nbad)++;
}

static void jpush(jparser *P, dql_value v)
{
    if (P->nstk == P->capstk) {
        size_t nc = P->capstk * 2;
        dql_value *ns = dql_xmalloc(nc * sizeof *ns);
        memcpy(ns, P->stk, P->nstk * sizeof *ns);
        if (P->stk_heap)
            free(P->stk);
        P->stk = ns;
        P->capstk = nc;
        P->stk_heap = true;
    }
    P->stk[P->nstk++] = v;
}

static inline void jws(jparser *P)
{
    while (P->p < P->end && (*P->p == ' ' || *P->p == '\t' || *P->p == '\n' || *P->p == '\r'))
        P->p++;
}

static bool jvalue(jparser *P, const dql_field *h, dql_value *out);

static inline dql_type hint_type(const dql_field *h)
{
    return h ? h->type : DQL_T_ANY;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool hex4(jparser *P, const char *q, unsigned *cp)
{
    if (P->end - q < 4)
        return false;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(q[i]);
        if (h < 0)
            return false;
        v = v * 16 + (unsigned)h;
    }
    *cp = v;
    return true;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F)); return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F)); return 4;
}

/* Parses a string literal at P->p (which is '"') into a decoded arena copy. */
static bool jstring(jparser *P, const char **os, size_t *on)
{
    const char *q = ++P->p;
    bool esc = false;
    while (q < P->end && *q != '"') {
        unsigned char c = (unsigned char)*q;
        if (c < 0x20) {
            P->p = q;
            return jfail(P, "control character in string");
        }
        if (c == '\\') {
            esc = true;
            q++;
            if (q >= P->end)
                break;
        }
        q++;
    }
    if (q >= P->end) {
        P->p = q;
        return jfail(P, "unterminated string");
    }
    size_t raw = (size_t)(q - P->p);
    if (!esc) {
        *os = dql_arena_memdup(P->a, P->p, raw ? raw : 1);
        *on = raw;
        P->p = q + 1;
        return true;
    }
    char *o = dql_arena_alloc(P->a, raw + 1), *w = o;
    const char *r = P->p;
    while (r < q) {
        if (*r != '\\') {
            *w++ = *r++;
            continue;
        }
        r++;
        switch (*r) {
        case '"': *w++ = '"'; r++; break;
        case '\\': *w++ = '\\'; r++; break;
        case '/': *w++ = '/'; r++; break;
        case 'b': *w++ = '\b'; r++; break;
        case 'f': *w++ = '\f'; r++; break;
        case 'n': *w++ = '\n'; r++; break;
        case 'r': *w++ = '\r'; r++; break;
        case 't': *w++ = '\t'; r++; break;
        case 'u': {
            unsigned cp, lo;
            if (!hex4(P, r + 1, &cp)) {
                P->p = r - 1;
                return jfail(P, "bad \\u escape");
            }
            r += 5;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (q - r >= 6 && r[0] == '\\' && r[1] == 'u' && hex4(P, r + 2, &lo) &&
                    lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    r += 6;
                } else {
                    P->p = r - 6;
                    return jfail(P, "unpaired surrogate in \\u escape");
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                P->p = r - 6;
                return jfail(P, "unpaired surrogate in \\u escape");
            }
            w += put_utf8(w, cp);
            break;
        }
        default:
            P->p = r - 1;
            return jfail(P, "bad escape '\\%c'", *r);
        }
    }
    *os = o;
    *on = (size_t)(w - o);
    P->p = q + 1;
    return true;
}

/* Scans a number token per the RFC grammar; sets *integral. */
static bool jnumber_scan(jparser *P, const char **ts, size_t *tn, bool *integral)
{
    const char *q = P->p, *e = P->end;
    *integral = true;
    if (q < e && *q == '-')
        q++;
    if (q >= e || !(*q >= '0' && *q <= '9'))
        return jfail(P, "bad number");
    if (*q == '0') {
        q++;
        if (q < e && *q >= '0' && *q <= '9') {
            P->p = q;
            return jfail(P, "leading zero in number");
        }
    } else {
        while (q < e && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < e && *q == '.') {
        *integral = false;
        q++;
        if (q >= e || !(*q >= '0' && *q <= '9')) {
            P->p = q;
            return jfail(P, "digit expected after '.'");
        }
        while (q < e && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < e && (*q == 'e' || *q == 'E')) {
        *integral = false;
        q++;
        if (q < e && (*q == '+' || *q == '-'))
            q++;
        if (q >= e || !(*q >= '0' && *q <= '9')) {
            P->p = q;
            return jfail(P, "digit expected in exponent");
        }
        while (q < e && *q >= '0' && *q <= '9')
            q++;
    }
    *ts = P->p;
    *tn = (size_t)(q - P->p);
    P->p = q;
    return true;
}

/* Converts a scanned number token to the hinted type. */
static void jnumber_value(jparser *P, const dql_field *h, const char *t, size_t n, bool integral, dql_value *out)
{
    char small[64];
    char *z = n < sizeof small ? small : dql_arena_alloc(P->a, n + 1);
    memcpy(z, t, n);
    z[n] = 0;
    dql_type ht = hint_type(h);
    switch (ht) {
    case DQL_T_ANY: case DQL_T_NULL: case DQL_T_LONG: case DQL_T_INT: {
        if (integral) {
            errno = 0;
            long long v = strtoll(z, NULL, 10);
            if (errno == 0) {
                if (ht == DQL_T_INT) {
                    if (v < INT32_MIN || v > INT32_MAX)
                        jbad(P, out);
                    else
                        *out = dql_int((int32_t)v);
                } else {
                    *out = dql_long(v);
                }
                return;
            }
            if (ht == DQL_T_INT || ht == DQL_T_LONG) {
                jbad(P, out);
                return;
            }
        } else if (ht == DQL_T_INT || ht == DQL_T_LONG) {
            double d = strtod(z, NULL);
            if (d == (double)(int64_t)d && d >= -9.2e18 && d <= 9.2e18 &&
                (ht == DQL_T_LONG || (d >= INT32_MIN && d <= INT32_MAX)))
                *out = ht == DQL_T_INT ? dql_int((int32_t)d) : dql_long((int64_t)d);
            else
                jbad(P, out);
            return;
        }
        *out = dql_double(strtod(z, NULL));
        return;
    }
    case DQL_T_DOUBLE:
        *out = dql_double(strtod(z, NULL));
        return;
    case DQL_T_CHARARRAY: case DQL_T_BYTEARRAY:
        *out = dql_str(ht, dql_arena_memdup(P->a, t, n), n);
        return;
    case DQL_T_TUPLE: case DQL_T_BAG: case DQL_T_MAP:
        jbad(P, out);
        return;
    default:
        if (!dql_value_parse(P->a, t, n, ht, out))
            jbad(P, out);
        return;
    }
}

/* Coerces a decoded string to the hinted type. */
static void jstring_value(jparser *P, const dql_field *h, const char *s, size_t n, dql_value *out)
{
    dql_type ht = hint_type(h);
    switch (ht) {
    case DQL_T_ANY: case DQL_T_NULL: case DQL_T_CHARARRAY:
        *out = dql_str(DQL_T_CHARARRAY, s, n);
        return;
    case DQL_T_BYTEARRAY:
        *out = dql_str(DQL_T_BYTEARRAY, s, n);
        return;
    case DQL_T_TUPLE: case DQL_T_BAG: case DQL_T_MAP:
        jbad(P, out);
        return;
    default:
        if (n == 0) {
            *out = dql_null();
            return;
        }
        if (!dql_value_parse(P->a, s, n, ht, out))
            jbad(P, out);
        return;
    }
}

static int field_index(const dql_schema *sub, const char *k, size_t kn)
{
    if (!sub)
        return -1;
    for (int i = 0; i < sub->n; i++) {
        const char *nm = sub->f[i].name;
        if (nm && strncmp(nm, k, kn) == 0 && nm[kn] == 0)
            return i;
    }
    return -1;
}

/* Object: map, tuple by name, or (for string hints) its JSON text. */
static bool jobject(jparser *P, const dql_field *h, dql_value *out)
{
    const char *start = P->p;
    dql_type ht = hint_type(h);
    bool as_tuple = ht == DQL_T_TUPLE && h->sub;
    bool as_map = ht == DQL_T_ANY || ht == DQL_T_NULL || ht == DQL_T_MAP;
    dql_tuple *t = as_tuple ? dql_tuple_new(P->a, (uint32_t)h->sub->n) : NULL;
    size_t base = P->nstk;
    P->p++;
    jws(P);
    if (P->p < P->end && *P->p == '}') {
        P->p++;
    } else {
        for (;;) {
            jws(P);
            if (P->p >= P->end || *P->p != '"')
                return jfail(P, "expected a string key");
            const char *k;
            size_t kn;
            if (!jstring(P, &k, &kn))
                return false;
            jws(P);
            if (P->p >= P->end || *P->p != ':')
                return jfail(P, "expected ':'");
            P->p++;
            dql_value v;
            if (as_tuple) {
                int i = field_index(h->sub, k, kn);
                if (!jvalue(P, i >= 0 ? &h->sub->f[i] : NULL, &v))
                    return false;
                if (i >= 0)
                    t->v[i] = v;
            } else {
                if (!jvalue(P, NULL, &v))
                    return false;
                if (as_map) {
                    jpush(P, dql_chararray(k, kn));
                    jpush(P, v);
                }
            }
            jws(P);
            if (P->p < P->end && *P->p == ',') {
                P->p++;
                continue;
            }
            if (P->p < P->end && *P->p == '}') {
                P->p++;
                break;
            }
            return jfail(P, "expected ',' or '}'");
        }
    }
    if (as_tuple) {
        dql_value v = {0};
        v.type = DQL_T_TUPLE;
        v.u.t = t;
        *out = v;
    } else if (as_map) {
        uint32_t n = (uint32_t)((P->nstk - base) / 2);
        dql_map *m = dql_map_new(P->a, n);
        for (uint32_t i = 0; i < n; i++) {
            m->k[i] = P->stk[base + 2 * i];
            m->v[i] = P->stk[base + 2 * i + 1];
        }
        P->nstk = base;
        dql_value v = {0};
        v.type = DQL_T_MAP;
        v.u.m = m;
        *out = v;
    } else if (ht == DQL_T_CHARARRAY || ht == DQL_T_BYTEARRAY) {
        size_t n = (size_t)(P->p - start);
        *out = dql_str(ht, dql_arena_memdup(P->a, start, n), n);
    } else {
        jbad(P, out);
    }
    return true;
}

/* Array: bag, tuple by position, or (for string hints) its JSON text. */
static bool jarray(jparser *P, const dql_field *h, dql_value *out)
{
    const char *start = P->p;
    dql_type ht = hint_type(h);
    bool as_tuple = ht == DQL_T_TUPLE;
    bool as_bag = ht == DQL_T_ANY || ht == DQL_T_NULL || ht == DQL_T_BAG;
    const dql_schema *sub = h && (as_tuple || ht == DQL_T_BAG) ? h->sub : NULL;
    dql_field elem_hint = { NULL, DQL_T_TUPLE, (dql_schema *)sub };
    size_t base = P->nstk;
    uint32_t pos = 0;
    P->p++;
    jws(P);
    if (P->p < P->end && *P->p == ']') {
        P->p++;
    } else {
        for (;;) {
            dql_value v;
            const dql_field *eh = NULL;
            if (as_tuple)
                eh = sub && pos < (uint32_t)sub->n ? &sub->f[pos] : NULL;
            else if (as_bag && sub && sub->n > 0) {
                jws(P);
                if (P->p < P->end && (*P->p == '{' || *P->p == '['))
                    eh = &elem_hint;
                else
                    eh = &sub->f[0];
            }
            if (!jvalue(P, eh, &v))
                return false;
            if (as_tuple || as_bag)
                jpush(P, v);
            pos++;
            jws(P);
            if (P->p < P->end && *P->p == ',') {
                P->p++;
                continue;
            }
            if (P->p < P->end && *P->p == ']') {
                P->p++;
                break;
            }
            return jfail(P, "expected ',' or ']'");
        }
    }
    size_t n = P->nstk - base;
    dql_value r = {0};
    if (as_tuple) {
        uint32_t w = sub ? (uint32_t)sub->n : (uint32_t)n;
        dql_tuple *t = dql_tuple_new(P->a, w);
        for (uint32_t i = 0; i < w && i < n; i++)
            t->v[i] = P->stk[base + i];
        r.type = DQL_T_TUPLE;
        r.u.t = t;
    } else if (as_bag) {
        dql_bag *b = dql_bag_new(P->a, n);
        uint32_t w = sub && sub->n > 0 ? (uint32_t)sub->n : 1;
        for (size_t i = 0; i < n; i++) {
            dql_value e = P->stk[base + i];
            if (sub && sub->n > 0 && e.type == DQL_T_TUPLE) {
                b->t[i] = e.u.t;
            } else {
                dql_tuple *t = dql_tuple_new(P->a, w);
                t->v[0] = e;
                b->t[i] = t;
            }
        }
        r.type = DQL_T_BAG;
        r.u.b = b;
    } else if (ht == DQL_T_CHARARRAY || ht == DQL_T_BYTEARRAY) {
        size_t tn = (size_t)(P->p - start);
        r = dql_str(ht, dql_arena_memdup(P->a, start, tn), tn);
    } else {
        jbad(P, &r);
    }
    P->nstk = base;
    *out = r;
    return true;
}

static bool jlit(jparser *P, const char *word, size_t n)
{
    if ((size_t)(P->end - P->p) < n || memcmp(P->p, word, n) != 0)
        return jfail(P, "invalid literal");
    P->p += n;
    return true;
}

/* Parses any value at P->p (after white space) coerced to hint h. */
static bool jvalue(jparser *P, const dql_field *h, dql_value *out)
{
    jws(P);
    if (P->p >= P->end)
        return jfail(P, "unexpected end of input");
    dql_type ht = hint_type(h);
    switch (*P->p) {
    case '{': case '[': {
        if (++P->depth > JSON_MAX_DEPTH)
            return jfail(P, "nesting too deep");
        bool ok = *P->p == '{' ? jobject(P, h, out) : jarray(P, h, out);
        P->depth--;
        return ok;
    }
    case '"': {
        const char *s;
        size_t n;
        if (!jstring(P, &s, &n))
            return false;
        jstring_value(P, h, s, n, out);
        return true;
    }
    case 't': case 'f': {
        bool b = *P->p == 't';
        if (!jlit(P, b ? "true" : "false", b ? 4 : 5))
            return false;
        if (ht == DQL_T_ANY || ht == DQL_T_NULL || ht == DQL_T_BOOL)
            *out = dql_bool(b);
        else if (ht == DQL_T_CHARARRAY || ht == DQL_T_BYTEARRAY)
            *out = dql_str(ht, b ? "true" : "false", b ? 4 : 5);
        else if (ht == DQL_T_INT || ht == DQL_T_LONG)
            *out = ht == DQL_T_INT ? dql_int(b) : dql_long(b);
        else
            jbad(P, out);
        return true;
    }
    case 'n':
        if (!jlit(P, "null", 4))
            return false;
        *out = dql_null();
        return true;
    default:
        if (*P->p == '-' || (*P->p >= '0' && *P->p <= '9')) {
            const char *t = NULL;
            size_t n = 0;
            bool integral = true;
            if (!jnumber_scan(P, &t, &n, &integral))
                return false;
            jnumber_value(P, h, t, n, integral, out);
            return true;
        }
        return jfail(P, "unexpected character '%c'", *P->p);
    }
}

bool dql_json_parse_counted(dql_arena *a, const char *s, size_t n,
                            const dql_field *type_hint, dql_value *out,
                            unsigned *nbad, char *err, size_t errlen)
{
    dql_value inl[JSON_STACK_INLINE];
    jparser P = { .a = a, .s = s, .p = s, .end = s + n, .err = err, .errlen = errlen,
                  .nbad = nbad, .stk = inl, .capstk = JSON_STACK_INLINE };
    if (err && errlen)
        err[0] = 0;
    bool ok = jvalue(&P, type_hint, out);
    if (ok) {
        jws(&P);
        if (P.p < P.end)
            ok = jfail(&P, "unexpected data after the value");
    }
    if (P.stk_heap)
        free(P.stk);
    if (!ok)
        *out = dql_null();
    return ok;
}

bool dql_json_parse_value(dql_arena *a, const char *s, size_t n,
                          const dql_field *type_hint, dql_value *out,
                          char *err, size_t errlen)
{
    return dql_json_parse_counted(a, s, n, type_hint, out, NULL, err, errlen);
}

void dql_json_string(dql_buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    dql_buf_reserve(out, n + 2);
    out->p[out->len++] = '"';
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (i > run)
            dql_buf_put(out, s + run, i - run);
        run = i + 1;
        char e[6] = { '\\', 0 };
        switch (c) {
        case '"': e[1] = '"'; dql_buf_put(out, e, 2); break;
        case '\\': e[1] = '\\'; dql_buf_put(out, e, 2); break;
        case '\n': e[1] = 'n'; dql_buf_put(out, e, 2); break;
        case '\r': e[1] = 'r'; dql_buf_put(out, e, 2); break;
        case '\t': e[1] = 't'; dql_buf_put(out, e, 2); break;
        case '\b': e[1] = 'b'; dql_buf_put(out, e, 2); break;
        case '\f': e[1] = 'f'; dql_buf_put(out, e, 2); break;
        default:
            e[1] = 'u'; e[2] = '0'; e[3] = '0'; e[4] = hex[c >> 4]; e[5] = hex[c & 15];
            dql_buf_put(out, e, 6);
        }
    }
    if (n > run)
        dql_buf_put(out, s + run, n - run);
    dql_buf_putc(out, '"');
}
