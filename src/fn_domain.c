/* fn_domain.c — the domain-name builtins: TLD, PUBLIC_SUFFIX and
 * REGISTERED_DOMAIN (libpsl's built-in public suffix list), LABELS, LABEL,
 * SUBDOMAIN_OF and REVERSE_LABELS.
 *
 * Arguments may be domain or chararray (or bytearray) values: a trailing
 * dot is ignored and letters are compared without case; the root ("." or
 * "") has no labels. Results that are pieces of the argument point into it
 * (copied only when the argument had upper-case letters to fold). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* memrchr */
#endif
#include "exec.h"

#include <libpsl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The name of a domain-ish argument without its trailing dot (the root
 * becomes ""). With fold, upper-case letters are folded (into an arena
 * copy, only when there are some). False for null and non-text values. */
static bool dom_arg(dql_fnctx *cx, dql_value v, bool fold, const char **s, size_t *n)
{
    if (dql_is_null(v) || !dql_type_is_stringlike((dql_type)v.type))
        return false;
    const char *p = v.len ? v.u.s : "";
    size_t len = v.len;
    if (len && p[len - 1] == '.')
        len--;
    if (fold) {
        size_t i = 0;
        while (i < len && !(p[i] >= 'A' && p[i] <= 'Z'))
            i++;
        if (i < len) {
            char *c = dql_arena_memdup(cx->arena, p, len);
            for (; i < len; i++)
                if (c[i] >= 'A' && c[i] <= 'Z')
                    c[i] = (char)(c[i] + 32);
            p = c;
        }
    }
    *s = p;
    *n = len;
    return true;
}

static bool is_container_type(dql_type t) { return t == DQL_T_TUPLE || t == DQL_T_BAG || t == DQL_T_MAP; }

/* TLD(d): the last label; null for the root. */
static dql_status fn_tld(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    const char *s; size_t n;
    *out = dql_null();
    if (!dom_arg(cx, argv[0], true, &s, &n) || n == 0 || !s)
        return DQL_OK;
    const char *dot = memrchr(s, '.', n);
    size_t b = dot ? (size_t)(dot - s) + 1 : 0;
    if (b < n)
        *out = dql_chararray(s + b, n - b);
    return DQL_OK;
}

/* --------------------------------------------------------------- libpsl */

static const psl_ctx_t *psl_ctx(void)
{
    static const psl_ctx_t *ctx;
    static bool tried;
    if (!tried) {
        tried = true;
        ctx = psl_builtin();
        if (!ctx)
            ctx = psl_latest(NULL);  /* system copy of the list; never freed */
    }
    return ctx;
}

/* Runs f (psl_registrable_domain or psl_unregistrable_domain) on the
 * argument; the result points into the normalised argument. */
static dql_status psl_common(dql_fnctx *cx, const dql_value *argv, dql_value *out,
                             const char *(*f)(const psl_ctx_t *, const char *), const char *name)
{
    const char *s; size_t n;
    char buf[256];
    *out = dql_null();
    if (!dom_arg(cx, argv[0], true, &s, &n) || n == 0)
        return DQL_OK;
    if (n >= sizeof buf)
        return dql_fn_warn(cx, "domain: name too long", "%s: '%.60s...' is longer than 255 bytes", name, s);
    const psl_ctx_t *ctx = psl_ctx();
    if (!ctx)
        return dql_fn_warn(cx, "libpsl: no public suffix list", "%s: libpsl has no built-in list", name);
    memcpy(buf, s, n);
    buf[n] = 0;
    const char *r = f(ctx, buf);
    if (r && *r)
        *out = dql_str(DQL_T_DOMAIN, s + (r - buf), n - (size_t)(r - buf));
    return DQL_OK;
}

/* PUBLIC_SUFFIX(d): the longest public suffix of d ("co.uk" for
 * "www.example.co.uk"). Unknown TLDs are their own suffix (the "*" rule). */
static dql_status fn_public_suffix(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{ return psl_common(cx, argv, out, psl_unregistrable_domain, "PUBLIC_SUFFIX"); }

/* REGISTERED_DOMAIN(d): the public suffix plus one label ("example.co.uk");
 * null when d is itself a public suffix. */
static dql_status fn_registered_domain(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{ return psl_common(cx, argv, out, psl_registrable_domain, "REGISTERED_DOMAIN"); }

/* ------------------------------------------------------------- labels */

static size_t count_labels(const char *s, size_t n)
{
    if (n == 0) return 0;
    size_t c = 1;
    for (size_t i = 0; i < n; i++)
        c += s[i] == '.';
    return c;
}

/* LABELS(d): the number of labels (0 for the root). */
static dql_status fn_labels(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    const char *s; size_t n;
    if (!dom_arg(cx, argv[0], false, &s, &n)) { *out = dql_null(); return DQL_OK; }
    *out = dql_int((int32_t)count_labels(s, n));
    return DQL_OK;
}

/* LABEL(d, i): label i counted from the left (0 = leftmost) or, when
 * negative, from the right (-1 = the TLD). Out of range: null, warning. */
static dql_status fn_label(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    const char *s; size_t n;
    int64_t k;
    *out = dql_null();
    if (!dom_arg(cx, argv[0], true, &s, &n) || !dql_fn_arg_int(argv[1], &k))
        return DQL_OK;
    int64_t nl = (int64_t)count_labels(s, n);
    int64_t idx = k < 0 ? nl + k : k;
    if (idx < 0 || idx >= nl)
        return dql_fn_warn(cx, "LABEL: index out of range", "LABEL('%.*s', %lld): the name has %lld labels",
                       (int)(n > 200 ? 200 : n), s, (long long)k, (long long)nl);
    size_t b = 0;
    for (int64_t i = 0; i < idx; i++) {
        const char *dot = memchr(s + b, '.', n - b);
        b = (size_t)(dot - s) + 1;
    }
    const char *dot = memchr(s + b, '.', n - b);
    size_t e = dot ? (size_t)(dot - s) : n;
    *out = dql_chararray(s + b, e - b);
    return DQL_OK;
}

/* SUBDOMAIN_OF(d, parent): true when d is parent or a name under it,
 * label-aware ("xexample.com" is not under "example.com") and without
 * case. Everything is under the root. */
static dql_status fn_subdomain_of(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    const char *s, *p; size_t n, pn;
    if (!dom_arg(cx, argv[0], false, &s, &n) || !dom_arg(cx, argv[1], false, &p, &pn)) {
        *out = dql_null();
        return DQL_OK;
    }
    bool r;
    if (pn == 0) r = true;
    else if (n < pn) r = false;
    else if (n == pn) r = strncasecmp(s, p, n) == 0;
    else r = s[n - pn - 1] == '.' && strncasecmp(s + n - pn, p, pn) == 0;
    *out = dql_bool(r);
    return DQL_OK;
}

/* REVERSE_LABELS(d): the labels in reverse order ("com.example.www"), handy
 * for sorting names by zone. */
static dql_status fn_reverse_labels(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    const char *s; size_t n;
    if (!dom_arg(cx, argv[0], true, &s, &n)) { *out = dql_null(); return DQL_OK; }
    char *r = dql_arena_alloc(cx->arena, n ? n : 1);
    size_t w = 0, e = n;
    while (e > 0 || w < n) {
        const char *dot = e ? memrchr(s, '.', e) : NULL;
        size_t b = dot ? (size_t)(dot - s) + 1 : 0;
        memcpy(r + w, s + b, e - b);
        w += e - b;
        if (!dot) break;
        r[w++] = '.';
        e = b - 1;
    }
    *out = dql_chararray(r, n);
    return DQL_OK;
}

/* ---------------------------------------------------------- type checks */

static bool tc_names(int argc, const dql_field *args, char *err, size_t errlen)
{
    for (int i = 0; i < argc; i++) {
        dql_type t = args[i].type;
        if (is_container_type(t) || dql_type_is_numeric(t) || t == DQL_T_IP || t == DQL_T_CIDR || t == DQL_T_DATETIME || t == DQL_T_BOOL) {
            snprintf(err, errlen, "argument %d must be a domain or chararray, not %s", i + 1, dql_type_name(t));
            return false;
        }
    }
    return true;
}

static dql_type tc_chararray(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{ return tc_names(1, args, err, errlen) ? DQL_T_CHARARRAY : DQL_T__COUNT; }
static dql_type tc_domain(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{ return tc_names(1, args, err, errlen) ? DQL_T_DOMAIN : DQL_T__COUNT; }
static dql_type tc_int(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{ return tc_names(1, args, err, errlen) ? DQL_T_INT : DQL_T__COUNT; }
static dql_type tc_bool(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{ return tc_names(argc, args, err, errlen) ? DQL_T_BOOL : DQL_T__COUNT; }

static dql_type tc_label(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    if (!tc_names(1, args, err, errlen)) return DQL_T__COUNT;
    dql_type t = args[1].type;
    if (t != DQL_T_INT && t != DQL_T_LONG && t != DQL_T_ANY && t != DQL_T_NULL && t != DQL_T_BYTEARRAY) {
        snprintf(err, errlen, "argument 2 must be an integer, not %s", dql_type_name(t));
        return DQL_T__COUNT;
    }
    return DQL_T_CHARARRAY;
}

/* ---------------------------------------------------------------- table */

#define DOM(name, lo, hi, ret, tc, fn, syn, sum) \
    { name, lo, hi, ret, tc, fn, NULL, NULL, NULL, "domain", syn, sum }

const dql_func_def dql_fn_domain[] = {
    DOM("TLD", 1, 1, DQL_T_CHARARRAY, tc_chararray, fn_tld, "TLD(d)",
        "the last label of d (lower case); null for the root"),
    DOM("PUBLIC_SUFFIX", 1, 1, DQL_T_DOMAIN, tc_domain, fn_public_suffix, "PUBLIC_SUFFIX(d)",
        "the public suffix of d from the Public Suffix List (co.uk for www.example.co.uk)"),
    DOM("REGISTERED_DOMAIN", 1, 1, DQL_T_DOMAIN, tc_domain, fn_registered_domain, "REGISTERED_DOMAIN(d)",
        "the public suffix plus one label (example.co.uk); null if d is a public suffix"),
    DOM("LABELS", 1, 1, DQL_T_INT, tc_int, fn_labels, "LABELS(d)",
        "the number of labels of d (0 for the root)"),
    DOM("LABEL", 2, 2, DQL_T_CHARARRAY, tc_label, fn_label, "LABEL(d, i)",
        "label i of d: 0 is the leftmost, -1 the TLD"),
    DOM("SUBDOMAIN_OF", 2, 2, DQL_T_BOOL, tc_bool, fn_subdomain_of, "SUBDOMAIN_OF(d, parent)",
        "true if d is parent or a name under it (label-aware, case-insensitive)"),
    DOM("REVERSE_LABELS", 1, 1, DQL_T_CHARARRAY, tc_chararray, fn_reverse_labels, "REVERSE_LABELS(d)",
        "the labels of d in reverse order (com.example.www)"),
    {0}
};
