/* fn_string.c — the string builtins: case, trimming, substrings, search,
 * regular expressions (POSIX ERE), splitting, tokenizing, SPRINTF, SIZE and
 * ENTROPY. Results are allocated in the call's arena; a result that is a
 * piece of an input string points into that input instead of copying.
 *
 * Positions (SUBSTRING, INDEXOF, LAST_INDEX_OF) count UTF-8 code points for
 * chararray values and bytes for bytearray values, 0-based like Pig. Case
 * mapping (LOWER, UPPER, UCFIRST) is ASCII only. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* memmem */
#endif
#include "exec.h"

#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ helpers */

static bool is_container(dql_value v)
{
    return v.type == DQL_T_TUPLE || v.type == DQL_T_BAG || v.type == DQL_T_MAP;
}

/* The text of an argument: string-like values as they are, other atoms
 * rendered as DUMP prints them (into the arena). False for null and for
 * tuples, bags and maps. */
static bool arg_text(dql_fnctx *cx, dql_value v, const char **s, size_t *n)
{
    if (dql_is_null(v) || is_container(v))
        return false;
    if (dql_type_is_stringlike((dql_type)v.type)) {
        *s = v.len ? v.u.s : "";
        *n = v.len;
        return true;
    }
    if (v.type == DQL_T_INT || v.type == DQL_T_LONG) {   /* common: no heap buffer */
        char tmp[24];
        int k = snprintf(tmp, sizeof tmp, "%lld", (long long)v.u.i);
        *s = dql_arena_memdup(cx->arena, tmp, (size_t)k);
        *n = (size_t)k;
        return true;
    }
    dql_buf b = {0};
    dql_value_format(&b, v);
    *s = dql_arena_memdup(cx->arena, b.p ? b.p : "", b.len);
    *n = b.len;
    dql_buf_free(&b);
    return true;
}

/* An integer argument: int/long as they are, doubles truncated, strings
 * parsed. False for null and for what does not convert. */
static bool arg_long(dql_value v, int64_t *out)
{
    switch (v.type) {
    case DQL_T_INT: case DQL_T_LONG: case DQL_T_BOOL:
        *out = v.u.i;
        return true;
    case DQL_T_DOUBLE:
        if (!(v.u.d > -9.2e18 && v.u.d < 9.2e18))
            return false;
        *out = (int64_t)v.u.d;
        return true;
    case DQL_T_CHARARRAY: case DQL_T_BYTEARRAY: {
        char tmp[32];
        if (v.len == 0 || v.len >= sizeof tmp)
            return false;
        memcpy(tmp, v.u.s, v.len);
        tmp[v.len] = 0;
        char *end;
        long long x = strtoll(tmp, &end, 10);
        while (*end == ' ' || *end == '\t')
            end++;
        if (*end)
            return false;
        *out = x;
        return true;
    }
    default:
        return false;
    }
}

static dql_value result_str(const char *s, size_t n) { return dql_chararray(s, n); }

/* Position helpers: "units" are code points for chararray (and domain),
 * bytes for bytearray. */
static bool unit_is_byte(dql_value v) { return v.type == DQL_T_BYTEARRAY; }

static bool is_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] & 0x80)
            return false;
    return true;
}

static size_t utf8_count(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* Byte offset of code point k (clamped to n). */
static size_t utf8_offset(const char *s, size_t n, size_t k)
{
    size_t i = 0;
    while (i < n && k > 0) {
        i++;
        while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        k--;
    }
    return i;
}

/* Length in bytes of the character starting at s[i] (1 for bytes). */
static size_t char_len(const char *s, size_t n, size_t i, bool bytes)
{
    size_t j = i + 1;
    if (!bytes)
        while (j < n && ((unsigned char)s[j] & 0xC0) == 0x80)
            j++;
    return j - i;
}

/* --------------------------------------------------------- case, trim */

static dql_status fn_lower(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    const char *s; size_t n;
    if (!arg_text(cx, argv[0], &s, &n)) { *out = dql_null(); return DQL_OK; }
    size_t i = 0;
    while (i < n && !(s[i] >= 'A' && s[i] <= 'Z'))
        i++;
    if (i == n) { *out = result_str(s, n); return DQL_OK; }
    char *r = dql_arena_memdup(cx->arena, s, n);
    for (; i < n; i++)
        if (r[i] >= 'A' && r[i] <= 'Z')
            r[i] = (char)(r[i] + 32);
    *out = result_str(r, n);
    return DQL_OK;
}

static dql_status fn_upper(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    const char *s; size_t n;
    if (!arg_text(cx, argv[0], &s, &n)) { *out = dql_null(); return DQL_OK; }
    size_t i = 0;
    while (i < n && !(s[i] >= 'a' && s[i] <= 'z'))
        i++;
    if (i == n) { *out = result_str(s, n); return DQL_OK; }
    char *r = dql_arena_memdup(cx->arena, s, n);
    for (; i < n; i++)
        if (r[i] >= 'a' && r[i] <= 'z')
            r[i] = (char)(r[i] - 32);
    *out = result_str(r, n);
    return DQL_OK;
}

static dql_status fn_ucfirst(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    const char *s; size_t n;
    if (!arg_text(cx, argv[0], &s, &n)) { *out = dql_null(); return DQL_OK; }
    if (n == 0 || !(s[0] >= 'a' && s[0] <= 'z')) { *out = result_str(s, n); return DQL_OK; }
    char *r = dql_arena_memdup(cx->arena, s, n);
    r[0] = (char)(r[0] - 32);
    *out = result_str(r, n);
    return DQL_OK;
}

/* Java's trim(): every byte <= ' ' counts as white space. */
static bool is_blank(char c) { return (unsigned char)c <= ' '; }

static dql_status trim_common(dql_fnctx *cx, const dql_value *argv, dql_value *out, bool left, bool right)
{
    const char *s; size_t n;
    if (!arg_text(cx, argv[0], &s, &n)) { *out = dql_null(); return DQL_OK; }
    size_t b = 0, e = n;
    if (left) while (b < e && is_blank(s[b])) b++;
    if (right) while (e > b && is_blank(s[e - 1])) e--;
    *out = dql_str(argv[0].type == DQL_T_BYTEARRAY ? DQL_T_BYTEARRAY : DQL_T_CHARARRAY, s + b, e - b);
    return DQL_OK;
}

static dql_status fn_trim(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{ return trim_common(cx, argv, out, true, true); }
static dql_status fn_ltrim(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{ return trim_common(cx, argv, out, true, false); }
static dql_status fn_rtrim(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{ return trim_common(cx, argv, out, false, true); }

/* ------------------------------------------------------- substrings */

/* SUBSTRING(s, start[, stop]): 0-based, stop exclusive, both clamped to
 * [0, length]; stop < start gives the empty string. */
static dql_status fn_substring(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    const char *s; size_t n;
    int64_t start, stop = INT64_MAX;
    if (!arg_text(cx, argv[0], &s, &n) || !arg_long(argv[1], &start) ||
        (argc > 2 && !arg_long(argv[2], &stop))) {
        *out = dql_null();
        return DQL_OK;
    }
    if (start < 0) start = 0;
    if (stop < start) stop = start;
    size_t b, e;
    if (unit_is_byte(argv[0]) || is_ascii(s, n)) {
        b = (uint64_t)start > n ? n : (size_t)start;
        e = (uint64_t)stop > n ? n : (size_t)stop;
    } else {
        b = utf8_offset(s, n, (size_t)start);
        e = b + utf8_offset(s + b, n - b, (size_t)(stop - start));
    }
    *out = dql_str(argv[0].type == DQL_T_BYTEARRAY ? DQL_T_BYTEARRAY : DQL_T_CHARARRAY, s + b, e - b);
    return DQL_OK;
}

/* CONCAT(a, b, ...): null when any argument is null. */
static dql_status fn_concat(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    const char *ps[16]; size_t pn[16];
    const char **sp = ps; size_t *np = pn;
    if (argc > 16) {
        sp = dql_arena_alloc(cx->arena, sizeof *sp * (size_t)argc);
        np = dql_arena_alloc(cx->arena, sizeof *np * (size_t)argc);
    }
    size_t total = 0;
    for (int i = 0; i < argc; i++) {
        if (!arg_text(cx, argv[i], &sp[i], &np[i])) { *out = dql_null(); return DQL_OK; }
        total += np[i];
    }
    if (argc == 1) { *out = result_str(sp[0], np[0]); return DQL_OK; }
    char *r = dql_arena_alloc(cx->arena, total ? total : 1), *p = r;
    for (int i = 0; i < argc; i++) {
        memcpy(p, sp[i], np[i]);
        p += np[i];
    }
    *out = result_str(r, total);
    return DQL_OK;
}

/* ---------------------------------------------------------- searching */

static const char *mem_find(const char *h, size_t hn, const char *nd, size_t nn)
{
    if (nn == 0) return h;
    if (nn > hn) return NULL;
    return memmem(h, hn, nd, nn);
}

static const char *mem_rfind(const char *h, size_t hn, const char *nd, size_t nn)
{
    if (nn == 0) return h + hn;
    if (nn > hn) return NULL;
    for (size_t i = hn - nn + 1; i-- > 0;)
        if (h[i] == nd[0] && memcmp(h + i, nd, nn) == 0)
            return h + i;
    return NULL;
}

/* Converts a byte offset in s to the position unit of v. */
static int64_t to_units(dql_value v, const char *s, size_t off)
{
    return unit_is_byte(v) ? (int64_t)off : (int64_t)utf8_count(s, off);
}

/* INDEXOF(s, needle[, from]): position of the first needle at or after
 * from, -1 when absent. */
static dql_status fn_indexof(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    const char *s, *nd; size_t n, nn;
    int64_t from = 0;
    if (!arg_text(cx, argv[0], &s, &n) || !arg_text(cx, argv[1], &nd, &nn) ||
        (argc > 2 && !arg_long(argv[2], &from))) {
        *out = dql_null();
        return DQL_OK;
    }
    if (from < 0) from = 0;
    size_t b = unit_is_byte(argv[0]) ? ((uint64_t)from > n ? n : (size_t)from)
                                     : utf8_offset(s, n, (size_t)from);
    const char *p = mem_find(s + b, n - b, nd, nn);
    *out = dql_int(p ? (int32_t)to_units(argv[0], s, (size_t)(p - s)) : -1);
    return DQL_OK;
}

static dql_status fn_last_index_of(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    const char *s, *nd; size_t n, nn;
    if (!arg_text(cx, argv[0], &s, &n) || !arg_text(cx, argv[1], &nd, &nn)) {
        *out = dql_null();
        return DQL_OK;
    }
    const char *p = mem_rfind(s, n, nd, nn);
    *out = dql_int(p ? (int32_t)to_units(argv[0], s, (size_t)(p - s)) : -1);
    return DQL_OK;
}

static dql_status fn_startswith(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    const char *s, *p; size_t n, pn;
    if (!arg_text(cx, argv[0], &s, &n) || !arg_text(cx, argv[1], &p, &pn)) { *out = dql_null(); return DQL_OK; }
    *out = dql_bool(pn <= n && memcmp(s, p, pn) == 0);
    return DQL_OK;
}

static dql_status fn_endswith(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    const char *s, *p; size_t n, pn;
    if (!arg_text(cx, argv[0], &s, &n) || !arg_text(cx, argv[1], &p, &pn)) { *out = dql_null(); return DQL_OK; }
    *out = dql_bool(pn <= n && memcmp(s + n - pn, p, pn) == 0);
    return DQL_OK;
}

/* ---------------------------------------------------- SIZE, ENTROPY */

/* SIZE(x): code points of a chararray, bytes of a bytearray, tuples of a
 * bag, entries of a map, fields of a tuple, 1 for other atoms. */
static dql_status fn_size(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    dql_value v = argv[0];
    int64_t n;
    switch (v.type) {
    case DQL_T_NULL: *out = dql_null(); return DQL_OK;
    case DQL_T_CHARARRAY: case DQL_T_DOMAIN: n = (int64_t)utf8_count(v.u.s, v.len); break;
    case DQL_T_BYTEARRAY: n = v.len; break;
    case DQL_T_BAG: n = (int64_t)v.u.b->n; break;
    case DQL_T_MAP: n = v.u.m->n; break;
    case DQL_T_TUPLE: n = v.u.t->n; break;
    default: n = 1; break;
    }
    *out = dql_long(n);
    return DQL_OK;
}

/* ENTROPY(s): Shannon entropy of the byte distribution, in bits. */
static dql_status fn_entropy(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    const char *s; size_t n;
    if (!arg_text(cx, argv[0], &s, &n)) { *out = dql_null(); return DQL_OK; }
    if (n == 0) { *out = dql_double(0.0); return DQL_OK; }
    uint32_t cnt[256];
    memset(cnt, 0, sizeof cnt);
    for (size_t i = 0; i < n; i++)
        cnt[(unsigned char)s[i]]++;
    double h = 0, len = (double)n;
    for (int c = 0; c < 256; c++)
        if (cnt[c]) {
            double p = cnt[c] / len;
            h -= p * log2(p);
        }
    *out = dql_double(h == 0 ? 0.0 : h);
    return DQL_OK;
}

/* ------------------------------------------------------------ TOKENIZE */

/* TOKENIZE(s[, delims]): a bag of (token) tuples; tokens point into s. */
static dql_status fn_tokenize(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    const char *s, *d = " \",()*"; size_t n, dn = 6;
    if (!arg_text(cx, argv[0], &s, &n) || (argc > 1 && !arg_text(cx, argv[1], &d, &dn))) {
        *out = dql_null();
        return DQL_OK;
    }
    bool delim[256] = {0};
    for (size_t i = 0; i < dn; i++)
        delim[(unsigned char)d[i]] = true;
    uint64_t ntok = 0;
    for (size_t i = 0; i < n;) {
        while (i < n && delim[(unsigned char)s[i]]) i++;
        if (i == n) break;
        ntok++;
        while (i < n && !delim[(unsigned char)s[i]]) i++;
    }
    dql_bag *b = dql_bag_new(cx->arena, ntok);
    uint64_t k = 0;
    for (size_t i = 0; i < n;) {
        while (i < n && delim[(unsigned char)s[i]]) i++;
        if (i == n) break;
        size_t st = i;
        while (i < n && !delim[(unsigned char)s[i]]) i++;
        dql_tuple *t = dql_tuple_new(cx->arena, 1);
        t->v[0] = dql_chararray(s + st, i - st);
        b->t[k++] = t;
    }
    b->n = k;
    out->type = DQL_T_BAG; out->flags = 0; out->aux = 0; out->len = 0;
    out->u.b = b;
    return DQL_OK;
}

/* ------------------------------------------------- regular expressions */

/* Per call site state of the regex functions: the pattern compiled once
 * when it is a constant, otherwise a one-entry cache of the last pattern. */
typedef struct rx_state {
    bool constant;       /* re holds the constant pattern */
    regex_t re;
    bool have_last;      /* last/last_pat hold the last non-constant pattern */
    regex_t last;
    char *last_pat;
    size_t last_len;
} rx_state;

static int rx_compile(regex_t *re, const char *p, size_t n, char *err, size_t errlen)
{
    char stackbuf[256];
    char *pat = n < sizeof stackbuf ? stackbuf : dql_xmalloc(n + 1);
    memcpy(pat, p, n);
    pat[n] = 0;
    int rc = regcomp(re, pat, REG_EXTENDED);
    if (rc != 0 && err) {
        char msg[160];
        regerror(rc, re, msg, sizeof msg);
        snprintf(err, errlen, "invalid regular expression '%.100s': %s", pat, msg);
    }
    if (pat != stackbuf)
        free(pat);
    return rc;
}

static dql_status rx_prepare(int argc, const dql_value *argv, const bool *consts, void **state,
                             char *err, size_t errlen)
{
    rx_state *st = dql_xcalloc(1, sizeof *st);
    if (argc > 1 && consts[1] && !dql_is_null(argv[1])) {
        if (!dql_type_is_stringlike((dql_type)argv[1].type)) {
            snprintf(err, errlen, "the regular expression must be a chararray");
            free(st);
            return DQL_ERR_CHECK;
        }
        if (rx_compile(&st->re, argv[1].u.s, argv[1].len, err, errlen) != 0) {
            free(st);
            return DQL_ERR_CHECK;
        }
        st->constant = true;
    }
    *state = st;
    return DQL_OK;
}

static void rx_cleanup(void *state)
{
    rx_state *st = state;
    if (!st) return;
    if (st->constant) regfree(&st->re);
    if (st->have_last) { regfree(&st->last); free(st->last_pat); }
    free(st);
}

/* The compiled pattern for this call: the constant one, the cached one, or
 * one compiled into *tmp (then *tmp_used is set and the caller frees it).
 * NULL when the pattern is null or invalid (invalid ones are warned about,
 * and *st set to the warning's status). */
static const regex_t *rx_get(dql_fnctx *cx, dql_value pat, regex_t *tmp, bool *tmp_used, dql_status *st)
{
    rx_state *rs = cx->state;
    *tmp_used = false;
    *st = DQL_OK;
    if (rs && rs->constant)
        return &rs->re;
    const char *p; size_t n;
    if (!arg_text(cx, pat, &p, &n))
        return NULL;
    if (rs && rs->have_last && rs->last_len == n && memcmp(rs->last_pat, p, n) == 0)
        return &rs->last;
    char err[300];
    regex_t re;
    if (rx_compile(&re, p, n, err, sizeof err) != 0) {
        *st = dql_fn_warn(cx, "invalid regular expression", "%s", err);
        return NULL;
    }
    if (rs) {
        if (rs->have_last) { regfree(&rs->last); free(rs->last_pat); }
        rs->last = re;
        rs->last_pat = dql_xstrndup(p, n);
        rs->last_len = n;
        rs->have_last = true;
        return &rs->last;
    }
    *tmp = re;
    *tmp_used = true;
    return tmp;
}

/* Searches [off, n) of s; matches are absolute offsets into s. Returns
 * true on a match. m must have room for nm >= 1 entries. */
static bool rx_exec(const regex_t *re, const char *s, size_t n, size_t off, size_t nm, regmatch_t *m)
{
    m[0].rm_so = (regoff_t)off;
    m[0].rm_eo = (regoff_t)n;
    return regexec(re, s, nm, m, REG_STARTEND | (off ? REG_NOTBOL : 0)) == 0;
}

#define RX_MAXGROUPS 32

/* Appends repl to b, with \N and $N replaced by group N of the match. */
static void rx_expand(dql_buf *b, const char *s, const char *r, size_t rn, const regmatch_t *m, size_t nm)
{
    for (size_t i = 0; i < rn; i++) {
        char c = r[i];
        if ((c == '\\' || c == '$') && i + 1 < rn && r[i + 1] >= '0' && r[i + 1] <= '9') {
            size_t g = (size_t)(r[++i] - '0');
            if (g < nm && m[g].rm_so >= 0)
                dql_buf_put(b, s + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so));
        } else if (c == '\\' && i + 1 < rn) {
            dql_buf_putc(b, r[++i]);
        } else {
            dql_buf_putc(b, c);
        }
    }
}

/* REPLACE(s, regex, replacement): every match replaced. */
static dql_status fn_replace(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    const char *s, *r; size_t n, rn;
    *out = dql_null();
    if (!arg_text(cx, argv[0], &s, &n) || !arg_text(cx, argv[2], &r, &rn) || dql_is_null(argv[1]))
        return DQL_OK;
    regex_t tmp; bool tmp_used; dql_status st;
    const regex_t *re = rx_get(cx, argv[1], &tmp, &tmp_used, &st);
    if (!re)
        return st;
    regmatch_t m[10];
    size_t nm = re->re_nsub + 1 < 10 ? re->re_nsub + 1 : 10;
    size_t off = 0;
    dql_buf b = {0};
    bool any = false;
    while (off <= n && rx_exec(re, s, n, off, nm, m)) {
        size_t so = (size_t)m[0].rm_so, eo = (size_t)m[0].rm_eo;
        any = true;
        dql_buf_put(&b, s + off, so - off);
        rx_expand(&b, s, r, rn, m, nm);
        if (eo == so) {  /* empty match: keep one character and move on */
            if (so >= n) { off = n + 1; break; }
            size_t cl = char_len(s, n, so, unit_is_byte(argv[0]));
            dql_buf_put(&b, s + so, cl);
            off = so + cl;
        } else {
            off = eo;
        }
    }
    if (!any) {
        *out = result_str(s, n);
    } else {
        if (off < n)
            dql_buf_put(&b, s + off, n - off);
        *out = result_str(dql_arena_memdup(cx->arena, b.p ? b.p : "", b.len), b.len);
    }
    dql_buf_free(&b);
    if (tmp_used) regfree(&tmp);
    return DQL_OK;
}

/* REGEX_EXTRACT(s, regex, index): group index of the first match (0 = the
 * whole match); null when nothing matches. */
static dql_status fn_regex_extract(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    const char *s; size_t n;
    int64_t idx;
    *out = dql_null();
    if (!arg_text(cx, argv[0], &s, &n) || !arg_long(argv[2], &idx) || dql_is_null(argv[1]))
        return DQL_OK;
    regex_t tmp; bool tmp_used; dql_status st;
    const regex_t *re = rx_get(cx, argv[1], &tmp, &tmp_used, &st);
    if (!re)
        return st;
    if (idx < 0 || (size_t)idx > re->re_nsub || idx >= RX_MAXGROUPS) {
        st = dql_fn_warn(cx, "REGEX_EXTRACT: bad group index",
                     "group %lld does not exist (the pattern has %zu)", (long long)idx, re->re_nsub);
    } else {
        regmatch_t m[RX_MAXGROUPS];
        if (rx_exec(re, s, n, 0, (size_t)idx + 1, m) && m[idx].rm_so >= 0)
            *out = result_str(s + m[idx].rm_so, (size_t)(m[idx].rm_eo - m[idx].rm_so));
    }
    if (tmp_used) regfree(&tmp);
    return st;
}

/* REGEX_EXTRACT_ALL(s, regex): when the whole of s matches, a tuple of
 * every group (null for groups that did not take part); else null. */
static dql_status fn_regex_extract_all(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    const char *s; size_t n;
    *out = dql_null();
    if (!arg_text(cx, argv[0], &s, &n) || dql_is_null(argv[1]))
        return DQL_OK;
    regex_t tmp; bool tmp_used; dql_status st;
    const regex_t *re = rx_get(cx, argv[1], &tmp, &tmp_used, &st);
    if (!re)
        return st;
    regmatch_t sm[RX_MAXGROUPS], *m = sm;
    size_t nm = re->re_nsub + 1;
    if (nm > RX_MAXGROUPS)
        m = dql_arena_alloc(cx->arena, sizeof *m * nm);
    if (rx_exec(re, s, n, 0, nm, m) && m[0].rm_so == 0 && (size_t)m[0].rm_eo == n) {
        dql_tuple *t = dql_tuple_new(cx->arena, (uint32_t)re->re_nsub);
        for (size_t g = 1; g < nm; g++)
            if (m[g].rm_so >= 0)
                t->v[g - 1] = result_str(s + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so));
        out->type = DQL_T_TUPLE;
        out->u.t = t;
    }
    if (tmp_used) regfree(&tmp);
    return DQL_OK;
}

/* STRSPLIT(s, regex[, limit]): Java String.split semantics: limit > 0
 * gives at most limit fields (the last holds the rest); 0 (default) drops
 * trailing empty fields; < 0 keeps them. No match: a 1-tuple of s. */
static dql_status fn_strsplit(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    const char *s; size_t n;
    int64_t limit = 0;
    *out = dql_null();
    if (!arg_text(cx, argv[0], &s, &n) || dql_is_null(argv[1]) ||
        (argc > 2 && !arg_long(argv[2], &limit)))
        return DQL_OK;
    regex_t tmp; bool tmp_used; dql_status st;
    const regex_t *re = rx_get(cx, argv[1], &tmp, &tmp_used, &st);
    if (!re)
        return st;
    size_t cap = 32, np = 0;
    size_t sbuf[64], *pc = sbuf;  /* pairs (start, end) */
    size_t off = 0, from = 0;
    regmatch_t m[1];
    bool bytes = unit_is_byte(argv[0]);
    while (off < n && (limit <= 0 || (int64_t)np + 1 < limit) && rx_exec(re, s, n, off, 1, m)) {
        size_t so = (size_t)m[0].rm_so, eo = (size_t)m[0].rm_eo;
        if (eo == so) {
            if (so >= n) break;
            if (so == 0) { off = char_len(s, n, 0, bytes); continue; }  /* no leading empty field */
        }
        if (np == cap) {
            size_t *nb = dql_arena_alloc(cx->arena, sizeof *nb * cap * 4);
            memcpy(nb, pc, sizeof *pc * cap * 2);
            pc = nb;
            cap *= 2;
        }
        pc[2 * np] = from;
        pc[2 * np + 1] = so;
        np++;
        from = eo;
        off = eo > so ? eo : so + char_len(s, n, so, bytes);
    }
    if (np == cap) {
        size_t *nb = dql_arena_alloc(cx->arena, sizeof *nb * (cap + 1) * 2);
        memcpy(nb, pc, sizeof *pc * cap * 2);
        pc = nb;
    }
    pc[2 * np] = from;
    pc[2 * np + 1] = n;
    np++;
    if (limit == 0 && np > 1)
        while (np > 0 && pc[2 * (np - 1)] == pc[2 * (np - 1) + 1])
            np--;
    dql_tuple *t = dql_tuple_new(cx->arena, (uint32_t)np);
    for (size_t i = 0; i < np; i++)
        t->v[i] = result_str(s + pc[2 * i], pc[2 * i + 1] - pc[2 * i]);
    out->type = DQL_T_TUPLE;
    out->u.t = t;
    if (tmp_used) regfree(&tmp);
    return DQL_OK;
}

/* ------------------------------------------------------------- SPRINTF */

/* SPRINTF(fmt, ...): printf-style formatting with %s %d %i %u %x %X %o %c
 * %f %e %g and %%, with flags, width and precision. Null when any argument
 * is null; a bad format or too few arguments give null and a warning. */
static dql_status fn_sprintf(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    const char *f; size_t fn;
    *out = dql_null();
    for (int i = 0; i < argc; i++)
        if (dql_is_null(argv[i]))
            return DQL_OK;
    if (!arg_text(cx, argv[0], &f, &fn))
        return DQL_OK;
    dql_buf b = {0};
    int ai = 1;
    const char *bad = NULL;
    for (size_t i = 0; i < fn && !bad; i++) {
        if (f[i] != '%') { dql_buf_putc(&b, f[i]); continue; }
        if (i + 1 < fn && f[i + 1] == '%') { dql_buf_putc(&b, '%'); i++; continue; }
        char spec[40];
        size_t k = 0;
        spec[k++] = '%';
        size_t j = i + 1;
        while (j < fn && strchr("-+ #0", f[j]) && k < 8) spec[k++] = f[j++];
        while (j < fn && f[j] >= '0' && f[j] <= '9' && k < 16) spec[k++] = f[j++];
        if (j < fn && f[j] == '.') {
            spec[k++] = f[j++];
            while (j < fn && f[j] >= '0' && f[j] <= '9' && k < 24) spec[k++] = f[j++];
        }
        if (j >= fn) { bad = "incomplete conversion at the end of the format"; break; }
        char conv = f[j];
        i = j;
        if (!strchr("sdiuxXocfeEgG", conv)) { bad = "unsupported conversion"; break; }
        if (ai >= argc) { bad = "too few arguments for the format"; break; }
        dql_value v = argv[ai++];
        char tmp[128];
        char *dst = tmp;
        int len = 0;
        if (conv == 's') {
            const char *s; size_t n;
            if (!arg_text(cx, v, &s, &n)) {
                dql_buf vb = {0};
                dql_value_format(&vb, v);
                s = dql_arena_memdup(cx->arena, vb.p ? vb.p : "", vb.len);
                n = vb.len;
                dql_buf_free(&vb);
            }
            char *z = dql_arena_strndup(cx->arena, s, n);
            memcpy(spec + k, "s", 2);
            len = snprintf(tmp, sizeof tmp, spec, z);
            if (len >= (int)sizeof tmp) {
                dst = dql_arena_alloc(cx->arena, (size_t)len + 1);
                snprintf(dst, (size_t)len + 1, spec, z);
            }
        } else if (strchr("fFeEgG", conv)) {
            double d;
            int64_t l;
            if (v.type == DQL_T_DOUBLE) d = v.u.d;
            else if (arg_long(v, &l)) d = (double)l;
            else if (dql_type_is_stringlike((dql_type)v.type)) {
                char *z = dql_arena_strndup(cx->arena, v.u.s, v.len), *e;
                d = strtod(z, &e);
                if (e == z || *e) { bad = "argument is not a number"; break; }
            } else { bad = "argument is not a number"; break; }
            spec[k++] = conv;
            spec[k] = 0;
            len = snprintf(tmp, sizeof tmp, spec, d);
            if (len >= (int)sizeof tmp) {
                dst = dql_arena_alloc(cx->arena, (size_t)len + 1);
                snprintf(dst, (size_t)len + 1, spec, d);
            }
        } else {
            int64_t l;
            if (!arg_long(v, &l)) { bad = "argument is not an integer"; break; }
            if (conv == 'c') {
                spec[k++] = 'c';
                spec[k] = 0;
                len = snprintf(tmp, sizeof tmp, spec, (int)(unsigned char)l);
            } else {
                spec[k++] = 'l';
                spec[k++] = 'l';
                spec[k++] = conv;
                spec[k] = 0;
                if (conv == 'd' || conv == 'i')
                    len = snprintf(tmp, sizeof tmp, spec, (long long)l);
                else
                    len = snprintf(tmp, sizeof tmp, spec, (unsigned long long)l);
            }
            if (len >= (int)sizeof tmp) { bad = "field too wide"; break; }
        }
        if (len > 0)
            dql_buf_put(&b, dst, (size_t)len);
    }
    dql_status st = DQL_OK;
    if (bad) {
        st = dql_fn_warn(cx, "SPRINTF: bad format", "%s in '%.*s'", bad, (int)fn, f);
    } else {
        *out = result_str(dql_arena_memdup(cx->arena, b.p ? b.p : "", b.len), b.len);
    }
    dql_buf_free(&b);
    return st;
}

/* ---------------------------------------------------------- type checks */

static bool tc_container(dql_type t) { return t == DQL_T_TUPLE || t == DQL_T_BAG || t == DQL_T_MAP; }

/* Every argument must be an atom (or of unknown type). */
static bool tc_atoms(int argc, const dql_field *args, char *err, size_t errlen)
{
    for (int i = 0; i < argc; i++)
        if (tc_container(args[i].type)) {
            snprintf(err, errlen, "argument %d must be an atom, not %s", i + 1, dql_type_name(args[i].type));
            return false;
        }
    return true;
}

static dql_type tc_chararray(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    return tc_atoms(argc, args, err, errlen) ? DQL_T_CHARARRAY : DQL_T__COUNT;
}

/* Arguments from..argc-1 (positions, indexes, limits) must be integers (or
 * of a type only known at run time). */
static bool tc_ints_from(int from, int argc, const dql_field *args, char *err, size_t errlen)
{
    for (int i = from; i < argc; i++) {
        dql_type t = args[i].type;
        if (t != DQL_T_INT && t != DQL_T_LONG && t != DQL_T_BYTEARRAY && t != DQL_T_ANY && t != DQL_T_NULL) {
            snprintf(err, errlen, "argument %d must be an integer, not %s", i + 1, dql_type_name(t));
            return false;
        }
    }
    return true;
}

/* TRIM and SUBSTRING keep bytearray input as bytearray. */
static dql_type tc_same_text(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    if (!tc_atoms(argc, args, err, errlen)) return DQL_T__COUNT;
    return args[0].type == DQL_T_BYTEARRAY ? DQL_T_BYTEARRAY : DQL_T_CHARARRAY;
}

/* SUBSTRING(s, start[, stop]): the positions are integers. */
static dql_type tc_substring(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    if (!tc_ints_from(1, argc, args, err, errlen)) return DQL_T__COUNT;
    return tc_same_text(argc, args, sub, err, errlen);
}

/* REGEX_EXTRACT(s, regex, index): the group index is an integer. */
static dql_type tc_regex_extract(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    if (!tc_atoms(argc, args, err, errlen) || !tc_ints_from(2, argc, args, err, errlen)) return DQL_T__COUNT;
    return DQL_T_CHARARRAY;
}

static dql_type tc_int(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    return tc_atoms(argc, args, err, errlen) ? DQL_T_INT : DQL_T__COUNT;
}

/* INDEXOF(s, needle[, from]): from is an integer. */
static dql_type tc_indexof(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    if (!tc_ints_from(2, argc, args, err, errlen)) return DQL_T__COUNT;
    return tc_int(argc, args, sub, err, errlen);
}

static dql_type tc_bool(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    return tc_atoms(argc, args, err, errlen) ? DQL_T_BOOL : DQL_T__COUNT;
}

static dql_type tc_double(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    return tc_atoms(argc, args, err, errlen) ? DQL_T_DOUBLE : DQL_T__COUNT;
}

static dql_type tc_tuple(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    return tc_atoms(argc, args, err, errlen) ? DQL_T_TUPLE : DQL_T__COUNT;
}

/* STRSPLIT(s, regex[, limit]): the limit is an integer. */
static dql_type tc_strsplit(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    if (!tc_ints_from(2, argc, args, err, errlen)) return DQL_T__COUNT;
    return tc_tuple(argc, args, sub, err, errlen);
}

static dql_type tc_tokenize(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    if (!tc_atoms(argc, args, err, errlen)) return DQL_T__COUNT;
    dql_schema *s = dql_schema_new(0);
    dql_schema_add(s, "token", DQL_T_CHARARRAY, NULL);
    *sub = s;
    return DQL_T_BAG;
}

/* ---------------------------------------------------------------- table */

#define STR(name, lo, hi, ret, tc, fn, syn, sum) \
    { name, lo, hi, ret, tc, fn, NULL, NULL, NULL, "string", syn, sum }
#define RX(name, lo, hi, ret, tc, fn, syn, sum) \
    { name, lo, hi, ret, tc, fn, NULL, rx_prepare, rx_cleanup, "string", syn, sum }

const dql_func_def dql_fn_string[] = {
    STR("LOWER", 1, 1, DQL_T_CHARARRAY, tc_chararray, fn_lower, "LOWER(s)",
        "s with ASCII letters in lower case"),
    STR("UPPER", 1, 1, DQL_T_CHARARRAY, tc_chararray, fn_upper, "UPPER(s)",
        "s with ASCII letters in upper case"),
    STR("UCFIRST", 1, 1, DQL_T_CHARARRAY, tc_chararray, fn_ucfirst, "UCFIRST(s)",
        "s with its first character in upper case"),
    STR("TRIM", 1, 1, DQL_T_CHARARRAY, tc_same_text, fn_trim, "TRIM(s)",
        "s without leading and trailing white space"),
    STR("LTRIM", 1, 1, DQL_T_CHARARRAY, tc_same_text, fn_ltrim, "LTRIM(s)",
        "s without leading white space"),
    STR("RTRIM", 1, 1, DQL_T_CHARARRAY, tc_same_text, fn_rtrim, "RTRIM(s)",
        "s without trailing white space"),
    STR("SUBSTRING", 2, 3, DQL_T_CHARARRAY, tc_substring, fn_substring, "SUBSTRING(s, start[, stop])",
        "characters start (0-based) up to stop (exclusive), clamped to the string"),
    STR("CONCAT", 1, -1, DQL_T_CHARARRAY, tc_chararray, fn_concat, "CONCAT(a, b, ...)",
        "the arguments joined; null if any is null"),
    RX("REPLACE", 3, 3, DQL_T_CHARARRAY, tc_chararray, fn_replace, "REPLACE(s, regex, replacement)",
       "every match of the regex replaced (\\1 or $1 inserts a group)"),
    RX("STRSPLIT", 2, 3, DQL_T_TUPLE, tc_strsplit, fn_strsplit, "STRSPLIT(s, regex[, limit])",
       "s split around matches of the regex, as a tuple"),
    STR("TOKENIZE", 1, 2, DQL_T_BAG, tc_tokenize, fn_tokenize, "TOKENIZE(s[, delims])",
        "a bag of the words of s (default delimiters: space \" , ( ) *)"),
    RX("REGEX_EXTRACT", 3, 3, DQL_T_CHARARRAY, tc_regex_extract, fn_regex_extract,
       "REGEX_EXTRACT(s, regex, index)", "group index of the first match of the regex (0: whole match)"),
    RX("REGEX_EXTRACT_ALL", 2, 2, DQL_T_TUPLE, tc_tuple, fn_regex_extract_all,
       "REGEX_EXTRACT_ALL(s, regex)", "a tuple of all groups when the regex matches the whole string"),
    STR("SIZE", 1, 1, DQL_T_LONG, NULL, fn_size, "SIZE(x)",
        "characters of a chararray, bytes of a bytearray, elements of a bag, map or tuple; 1 otherwise"),
    STR("LENGTH", 1, 1, DQL_T_LONG, NULL, fn_size, "LENGTH(s)",
        "characters (code points) of a chararray; the same as SIZE"),
    STR("INDEXOF", 2, 3, DQL_T_INT, tc_indexof, fn_indexof, "INDEXOF(s, needle[, from])",
        "position of the first needle at or after from, -1 if none"),
    STR("LAST_INDEX_OF", 2, 2, DQL_T_INT, tc_int, fn_last_index_of, "LAST_INDEX_OF(s, needle)",
        "position of the last needle, -1 if none"),
    STR("STARTSWITH", 2, 2, DQL_T_BOOL, tc_bool, fn_startswith, "STARTSWITH(s, prefix)",
        "true if s begins with prefix"),
    STR("ENDSWITH", 2, 2, DQL_T_BOOL, tc_bool, fn_endswith, "ENDSWITH(s, suffix)",
        "true if s ends with suffix"),
    STR("SPRINTF", 1, -1, DQL_T_CHARARRAY, tc_chararray, fn_sprintf, "SPRINTF(fmt, ...)",
        "printf-style formatting (%s %d %f %x %% ...)"),
    STR("ENTROPY", 1, 1, DQL_T_DOUBLE, tc_double, fn_entropy, "ENTROPY(s)",
        "Shannon entropy of the bytes of s, in bits per character"),
    {0}
};
