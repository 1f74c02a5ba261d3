/* expr.c — expression compiler (names resolved to columns, types checked,
 * casts inserted, constant regexes compiled) and the evaluators the
 * operators call per row. Null follows SQL: most operators give null on a
 * null operand; AND/OR use three-valued logic; FILTER keeps only true. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <regex.h>
#include "expr.h"
#include "diag.h"
#include "session.h"
#include "lua_host.h"
#include "parse.h"

/* Provided by session.c: DEFINEd function aliases and the Lua state. */
const dql_node *dql_session_define_lookup(dql_session *s, const char *name);

static dql_expr *enew(dql_ek k, dql_evfn ev, dql_type t, dql_span sp)
{
    dql_expr *e = dql_xcalloc(1, sizeof *e);
    e->kind = k;
    e->ev = ev;
    e->type = t;
    e->sp = sp;
    dql_arena_init(&e->litarena);
    return e;
}

static void eadd(dql_expr *e, dql_expr *k)
{
    e->kids = dql_xrealloc(e->kids, sizeof(dql_expr *) * (size_t)(e->nkids + 1));
    e->kids[e->nkids++] = k;
}

void dql_expr_free(dql_expr *e)
{
    if (!e) return;
    for (int i = 0; i < e->nkids; i++) dql_expr_free(e->kids[i]);
    free(e->kids);
    if (e->sub) dql_schema_free(e->sub);
    free(e->name);
    free(e->cols);
    free(e->consts);
    if (e->fn && e->fn->cleanup && e->fnstate) e->fn->cleanup(e->fnstate);
    if (e->re) { regfree(e->re); free(e->re); }
    free(e->ns);
    free(e->fname);
    dql_arena_free(&e->litarena);
    free(e);
}

void dql_expr_text(dql_buf *b, const dql_expr *e)
{
    if (e->sp.src && e->sp.end > e->sp.start) dql_buf_put(b, e->sp.src + e->sp.start, e->sp.end - e->sp.start);
    else if (e->name) dql_buf_puts(b, e->name);
    else if (e->kind == E_COL) dql_buf_printf(b, "$%d", e->col);
    else if (e->kind == E_LIT) dql_value_format(b, e->lit);
    else dql_buf_puts(b, "?");
}

static void cerr(dql_scope *sc, const dql_span *sp, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void cerr(dql_scope *sc, const dql_span *sp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    dql_diagv(sc->errfp, DQL_DIAG_ERROR, sp, fmt, ap);
    va_end(ap);
    sc->nerr++;
}

/* ------------------------------------------------------------ evaluators */

static dql_value ev_lit(dql_expr *e, const dql_value *row, dql_evctx *cx) { (void)row; (void)cx; return e->lit; }
static dql_value ev_col(dql_expr *e, const dql_value *row, dql_evctx *cx) { (void)cx; return row[e->col]; }

static dql_value ev_proj(dql_expr *e, const dql_value *row, dql_evctx *cx)
{
    dql_value v = dql_expr_eval(e->kids[0], row, cx);
    if (v.type != DQL_T_TUPLE || !v.u.t || (uint32_t)e->col >= v.u.t->n) return dql_null();
    return v.u.t->v[e->col];
}

/* bag.f or bag.(f, g): a new bag of the projected fields. */
static dql_value ev_bagproj(dql_expr *e, const dql_value *row, dql_evctx *cx)
{
    dql_value v = dql_expr_eval(e->kids[0], row, cx);
    if (v.type == DQL_T_TUPLE) {
        /* tuple.(a, b) */
        if (e->ncols == 1) return (uint32_t)e->cols[0] < v.u.t->n ? v.u.t->v[e->cols[0]] : dql_null();
        dql_tuple *t = dql_tuple_new(cx->arena, (uint32_t)e->ncols);
        for (int j = 0; j < e->ncols; j++) t->v[j] = (uint32_t)e->cols[j] < v.u.t->n ? v.u.t->v[e->cols[j]] : dql_null();
        dql_value r = {0}; r.type = DQL_T_TUPLE; r.u.t = t; return r;
    }
    if (v.type != DQL_T_BAG) return dql_null();
    dql_bag *in = v.u.b;
    dql_bag *out = dql_bag_new(cx->arena, in->n);
    for (uint64_t i = 0; i < in->n; i++) {
        dql_tuple *t = dql_tuple_new(cx->arena, (uint32_t)e->ncols);
        for (int j = 0; j < e->ncols; j++)
            t->v[j] = (uint32_t)e->cols[j] < in->t[i]->n ? in->t[i]->v[e->cols[j]] : dql_null();
        out->t[i] = t;
    }
    dql_value r = {0}; r.type = DQL_T_BAG; r.u.b = out; return r;
}

static dql_value ev_mapget(dql_expr *e, const dql_value *row, dql_evctx *cx)
{
    dql_value m = dql_expr_eval(e->kids[0], row, cx);
    if (m.type != DQL_T_MAP) return dql_null();
    size_t kl = e->lit.len;
    for (uint32_t i = 0; i < m.u.m->n; i++) {
        dql_value k = m.u.m->k[i];
        if (k.len == kl && memcmp(k.u.s, e->lit.u.s, kl) == 0) return m.u.m->v[i];
    }
    return dql_null();
}

/* Converts a value to a number for arithmetic: ints stay ints, strings and
 * bytearrays are parsed as double (Pig's rule). false when not numeric. */
static bool to_num(dql_evctx *cx, dql_expr *e, dql_value v, bool *isint, int64_t *i, double *d)
{
    switch (v.type) {
    case DQL_T_INT: case DQL_T_LONG: *isint = true; *i = v.u.i; *d = (double)v.u.i; return true;
    case DQL_T_DOUBLE: *isint = false; *d = v.u.d; return true;
    case DQL_T_BOOL: *isint = true; *i = v.u.i; *d = (double)v.u.i; return true;
    case DQL_T_CHARARRAY: case DQL_T_BYTEARRAY: {
        dql_value out;
        if (dql_value_parse(cx->arena, v.u.s, v.len, DQL_T_LONG, &out)) { *isint = true; *i = out.u.i; *d = (double)out.u.i; return true; }
        if (dql_value_parse(cx->arena, v.u.s, v.len, DQL_T_DOUBLE, &out)) { *isint = false; *d = out.u.d; return true; }
        dql_buf b = {0};
        dql_expr_text(&b, e);
        dql_status st = dql_exec_warn(cx->ex, "not a number", "'%.*s' in %s is not a number", (int)(v.len > 60 ? 60 : v.len), v.u.s, dql_buf_cstr(&b));
        dql_buf_free(&b);
        if (st) cx->st = st;
        return false;
    }
    default: return false;
    }
}

/* Division by zero: a counted warning naming the expression, and null. */
static dql_value div_zero(dql_expr *e, dql_evctx *cx)
{
    dql_buf b = {0};
    dql_expr_text(&b, e);
    dql_status st = dql_exec_warn(cx->ex, "division by zero", "%s: division by zero gives null", dql_buf_cstr(&b));
    dql_buf_free(&b);
    if (st) cx->st = st;
    return dql_null();
}

static dql_value ev_arith(dql_expr *e, const dql_value *row, dql_evctx *cx)
{
    dql_value a = dql_expr_eval(e->kids[0], row, cx);
    if (a.type == DQL_T_NULL) return a;
    dql_value b = dql_expr_eval(e->kids[1], row, cx);
    if (b.type == DQL_T_NULL) return b;
    bool ai, bi;
    int64_t x = 0, y = 0;
    double dx, dy;
    if (a.type == DQL_T_DATETIME && (b.type == DQL_T_INT || b.type == DQL_T_LONG) && (e->op == '+' || e->op == '-'))
        return dql_datetime(e->op == '+' ? a.u.i + b.u.i * 1000000 : a.u.i - b.u.i * 1000000);
    if (a.type == DQL_T_DATETIME && b.type == DQL_T_DATETIME && e->op == '-')
        return dql_long((a.u.i - b.u.i) / 1000000);
    if (!to_num(cx, e->kids[0], a, &ai, &x, &dx) || !to_num(cx, e->kids[1], b, &bi, &y, &dy)) return dql_null();
    if (ai && bi && e->type != DQL_T_DOUBLE) {
        int64_t r;
        switch (e->op) {
        case '+': r = (int64_t)((uint64_t)x + (uint64_t)y); break;
        case '-': r = (int64_t)((uint64_t)x - (uint64_t)y); break;
        case '*': r = (int64_t)((uint64_t)x * (uint64_t)y); break;
        case '/': case '%':
            if (y == 0) return div_zero(e, cx);
            if (x == INT64_MIN && y == -1) r = e->op == '/' ? INT64_MIN : 0;
            else r = e->op == '/' ? x / y : x % y;
            break;
        default: r = 0;
        }
        if (e->type == DQL_T_INT) return dql_int((int32_t)r);
        return dql_long(r);
    }
    double r;
    switch (e->op) {
    case '+': r = dx + dy; break;
    case '-': r = dx - dy; break;
    case '*': r = dx * dy; break;
    case '/':
        if (dy == 0) return div_zero(e, cx);
        r = dx / dy; break;
    case '%': r = fmod(dx, dy); break;
    default: r = 0;
    }
    return dql_double(r);
}

static dql_value ev_neg(dql_expr *e, const dql_value *row, dql_evctx *cx)
{
    dql_value a = dql_expr_eval(e->kids[0], row, cx);
    if (a.type == DQL_T_NULL) return a;
    bool ai; int64_t x = 0; double dx;
    if (!to_num(cx, e->kids[0], a, &ai, &x, &dx)) return dql_null();
    if (ai) return e->type == DQL_T_INT ? dql_int((int32_t)-x) : dql_long((int64_t)(0 - (uint64_t)x));
    return dql_double(-dx);
}

int dql_value_cmp_coerce(dql_arena *ar, dql_value x, dql_value y)
{
    bool xs = x.type == DQL_T_CHARARRAY || x.type == DQL_T_BYTEARRAY;
    bool ys = y.type == DQL_T_CHARARRAY || y.type == DQL_T_BYTEARRAY;
    if (xs && !ys && y.type != DQL_T_NULL && y.type != DQL_T_DOMAIN) {
        dql_value c;
        if (dql_value_parse(ar, x.u.s, x.len, (dql_type)y.type, &c)) x = c;
    } else if (ys && !xs && x.type != DQL_T_NULL && x.type != DQL_T_DOMAIN) {
        dql_value c;
        if (dql_value_parse(ar, y.u.s, y.len, (dql_type)x.type, &c)) y = c;
    } else if ((x.type == DQL_T_DOMAIN) != (y.type == DQL_T_DOMAIN) && (xs || ys)) {
        /* domain vs text: compare as domains (case-insensitive, trailing dot ignored) */
        dql_value c;
        const char *why;
        if (xs && dql_domain_normalize(ar, x.u.s, x.len, &c, &why)) x = c;
        if (ys && dql_domain_normalize(ar, y.u.s, y.len, &c, &why)) y = c;
    }
    return dql_value_cmp(x, y);
}

static dql_value ev_cmp(dql_expr *e, const dql_value *row, dql_evctx *cx)
{
    dql_value a = dql_expr_eval(e->kids[0], row, cx);
    if (a.type == DQL_T_NULL) return a;
    dql_value b = dql_expr_eval(e->kids[1], row, cx);
    if (b.type == DQL_T_NULL) return b;
    int c;
    if (a.type == b.type && a.type != DQL_T_DOUBLE) c = dql_value_cmp(a, b);
    else {
        c = dql_value_cmp_coerce(cx->arena, a, b);
        /* NaN is unordered: every comparison with it but != is false */
        if ((a.type == DQL_T_DOUBLE && isnan(a.u.d)) || (b.type == DQL_T_DOUBLE && isnan(b.u.d)))
            return dql_bool(e->op == NE);
    }
    switch (e->op) {
    case EQ: return dql_bool(c == 0);
    case NE: return dql_bool(c != 0);
    case '<': return dql_bool(c < 0);
    case '>': return dql_bool(c > 0);
    case LE: return dql_bool(c <= 0);
    case GE: return dql_bool(c >= 0);
    }
    return dql_null();
}

static dql_value ev_and(dql_expr *e, const dql_value *row, dql_evctx *cx)
{
    dql_value a = dql_expr_eval(e->kids[0], row, cx);
    if (a.type == DQL_T_BOOL && !a.u.i) return a;
    dql_value b = dql_expr_eval(e->kids[1], row, cx);
    if (b.type == DQL_T_BOOL && !b.u.i) return b;
    if (a.type == DQL_T_NULL || b.type == DQL_T_NULL) return dql_null();
    return dql_bool(true);
}

static dql_value ev_or(dql_expr *e, const dql_value *row, dql_evctx *cx)
{
    dql_value a = dql_expr_eval(e->kids[0], row, cx);
    if (a.type == DQL_T_BOOL && a.u.i) return a;
    dql_value b = dql_expr_eval(e->kids[1], row, cx);
    if (b.type == DQL_T_BOOL && b.u.i) return b;
    if (a.type == DQL_T_NULL || b.type == DQL_T_NULL) return dql_null();
    return dql_bool(false);
}

static dql_value ev_not(dql_expr *e, const dql_value *row, dql_evctx *cx)
{
    dql_value a = dql_expr_eval(e->kids[0], row, cx);
    if (a.type != DQL_T_BOOL) return dql_null();
    return dql_bool(!a.u.i);
}

static dql_value ev_isnull(dql_expr *e, const dql_value *row, dql_evctx *cx)
{
    dql_value a = dql_expr_eval(e->kids[0], row, cx);
    return dql_bool((a.type == DQL_T_NULL) != (e->op != 0));
}

static dql_value ev_in(dql_expr *e, const dql_value *row, dql_evctx *cx)
{
    dql_value a = dql_expr_eval(e->kids[0], row, cx);
    if (a.type == DQL_T_NULL) return a;
    bool sawnull = false;
    for (int i = 1; i < e->nkids; i++) {
        dql_value b = dql_expr_eval(e->kids[i], row, cx);
        if (b.type == DQL_T_NULL) { sawnull = true; continue; }
        if (dql_value_cmp_coerce(cx->arena, a, b) == 0) return dql_bool(!e->op);
    }
    if (sawnull) return dql_null();
    return dql_bool(e->op != 0);
}

static const char *cstr(dql_evctx *cx, dql_value v, char *stackbuf, size_t n)
{
    if (v.len < n) { memcpy(stackbuf, v.u.s, v.len); stackbuf[v.len] = 0; return stackbuf; }
    return dql_arena_strndup(cx->arena, v.u.s, v.len);
}

static regex_t *compile_anchored(const char *pat, size_t n, char *err, size_t errlen)
{
    char *full = dql_xmalloc(n + 5);
    full[0] = '^'; full[1] = '(';
    memcpy(full + 2, pat, n);
    full[n + 2] = ')'; full[n + 3] = '$'; full[n + 4] = 0;
    regex_t *re = dql_xmalloc(sizeof *re);
    int rc = regcomp(re, full, REG_EXTENDED | REG_NOSUB);
    free(full);
    if (rc) {
        regerror(rc, re, err, errlen);
        free(re);
        return NULL;
    }
    return re;
}

static dql_value ev_matches(dql_expr *e, const dql_value *row, dql_evctx *cx)
{
    dql_value a = dql_expr_eval(e->kids[0], row, cx);
    if (a.type == DQL_T_NULL) return a;
    if (a.type != DQL_T_CHARARRAY && a.type != DQL_T_BYTEARRAY && a.type != DQL_T_DOMAIN) {
        dql_buf b = {0};
        dql_value_format(&b, a);
        a = dql_chararray(dql_arena_strndup(cx->arena, b.p ? b.p : "", b.len), b.len);
        dql_buf_free(&b);
    }
    char sb[512];
    const char *s = cstr(cx, a, sb, sizeof sb);
    regex_t *re = e->re;
    bool own = false;
    if (!re) {
        dql_value p = dql_expr_eval(e->kids[1], row, cx);
        if (p.type == DQL_T_NULL) return p;
        char err[256];
        re = compile_anchored(p.u.s, p.len, err, sizeof err);
        if (!re) {
            dql_status st = dql_exec_warn(cx->ex, "bad regex", "invalid regular expression '%.*s': %s", (int)p.len, p.u.s, err);
            if (st) cx->st = st;
            return dql_null();
        }
        own = true;
    }
    bool m = regexec(re, s, 0, NULL, 0) == 0;
    if (own) { regfree(re); free(re); }
    return dql_bool(m);
}

static dql_value ev_cond(dql_expr *e, const dql_value *row, dql_evctx *cx)
{
    dql_value c = dql_expr_eval(e->kids[0], row, cx);
    if (c.type != DQL_T_BOOL) return dql_null();
    return dql_expr_eval(e->kids[c.u.i ? 1 : 2], row, cx);
}

/* kids[0]: subject or NULL; then WHEN/THEN pairs; op = 1 when the last kid is ELSE. */
static dql_value ev_case(dql_expr *e, const dql_value *row, dql_evctx *cx)
{
    int n = e->nkids - (e->op ? 1 : 0);
    dql_value subj = dql_null();
    bool has_subj = e->kids[0] != NULL;
    if (has_subj) subj = dql_expr_eval(e->kids[0], row, cx);
    for (int i = 1; i + 1 < n + 1 && i + 1 <= n; i += 2) {
        dql_value w = dql_expr_eval(e->kids[i], row, cx);
        bool hit;
        if (has_subj) hit = subj.type != DQL_T_NULL && w.type != DQL_T_NULL && dql_value_cmp_coerce(cx->arena, subj, w) == 0;
        else hit = dql_value_true(w);
        if (hit) return dql_expr_eval(e->kids[i + 1], row, cx);
    }
    if (e->op) return dql_expr_eval(e->kids[e->nkids - 1], row, cx);
    return dql_null();
}

static dql_value ev_cast(dql_expr *e, const dql_value *row, dql_evctx *cx)
{
    dql_value a = dql_expr_eval(e->kids[0], row, cx);
    if (a.type == DQL_T_NULL || a.type == e->type) return a;
    dql_value out;
    if (dql_value_cast(cx->arena, a, e->type, &out)) return out;
    dql_buf b = {0};
    dql_value_format(&b, a);
    dql_status st = dql_exec_warn(cx->ex, "bad cast", "cannot cast '%.*s' to %s", (int)(b.len > 60 ? 60 : b.len),
                                  b.p ? b.p : "", dql_type_name(e->type));
    dql_buf_free(&b);
    if (st) cx->st = st;
    return dql_null();
}

static dql_value ev_call(dql_expr *e, const dql_value *row, dql_evctx *cx)
{
    dql_value argv[16];
    int n = e->nkids < 16 ? e->nkids : 16;
    for (int i = 0; i < n; i++) argv[i] = dql_expr_eval(e->kids[i], row, cx);
    dql_fnctx fc = { cx->arena, cx->ex, e->fnstate };
    dql_value out = dql_null();
    dql_status st = e->fn->fn(&fc, n, argv, &out);
    if (st != DQL_OK) { cx->st = st; return dql_null(); }
    return out;
}

static dql_value ev_aggbag(dql_expr *e, const dql_value *row, dql_evctx *cx)
{
    dql_value bag = dql_expr_eval(e->kids[0], row, cx);
    dql_fnctx fc = { cx->arena, cx->ex, NULL };
    dql_value out = dql_null();
    dql_status st = dql_agg_over_bag(e->fn->agg, &fc, bag, &out);
    if (st != DQL_OK) cx->st = st;
    return out;
}

static dql_value ev_udf(dql_expr *e, const dql_value *row, dql_evctx *cx)
{
    dql_value argv[16];
    int n = e->nkids < 16 ? e->nkids : 16;
    for (int i = 0; i < n; i++) argv[i] = dql_expr_eval(e->kids[i], row, cx);
    dql_value out = dql_null();
    dql_status st = dql_lua_call(e->lua, cx->ex, e->ns, e->fname, n, argv, cx->arena, &out);
    if (st != DQL_OK) cx->st = st;
    return out;
}

static dql_value ev_tuple(dql_expr *e, const dql_value *row, dql_evctx *cx)
{
    dql_tuple *t = dql_tuple_new(cx->arena, (uint32_t)e->nkids);
    for (int i = 0; i < e->nkids; i++) t->v[i] = dql_expr_eval(e->kids[i], row, cx);
    dql_value r = {0}; r.type = DQL_T_TUPLE; r.u.t = t; return r;
}

static dql_value ev_bagc(dql_expr *e, const dql_value *row, dql_evctx *cx)
{
    dql_bag *b = dql_bag_new(cx->arena, (uint64_t)e->nkids);
    for (int i = 0; i < e->nkids; i++) {
        dql_value v = dql_expr_eval(e->kids[i], row, cx);
        if (v.type == DQL_T_TUPLE) b->t[i] = v.u.t;
        else { b->t[i] = dql_tuple_new(cx->arena, 1); b->t[i]->v[0] = v; }
    }
    dql_value r = {0}; r.type = DQL_T_BAG; r.u.b = b; return r;
}

static dql_value ev_mapc(dql_expr *e, const dql_value *row, dql_evctx *cx)
{
    dql_map *m = dql_map_new(cx->arena, (uint32_t)(e->nkids / 2));
    for (int i = 0; i + 1 < e->nkids; i += 2) {
        m->k[i / 2] = dql_expr_eval(e->kids[i], row, cx);
        m->v[i / 2] = dql_expr_eval(e->kids[i + 1], row, cx);
    }
    dql_value r = {0}; r.type = DQL_T_MAP; r.u.m = m; return r;
}

static dql_value mkbag(dql_bag *b) { dql_value r = {0}; r.type = DQL_T_BAG; r.u.b = b; return r; }

static dql_value ev_bagfilter(dql_expr *e, const dql_value *row, dql_evctx *cx)
{
    dql_value v = dql_expr_eval(e->kids[0], row, cx);
    if (v.type != DQL_T_BAG) return dql_null();
    dql_bag *in = v.u.b, *out = dql_bag_new(cx->arena, in->n);
    out->n = 0;
    for (uint64_t i = 0; i < in->n; i++)
        if (dql_value_true(dql_expr_eval(e->kids[1], in->t[i]->v, cx))) out->t[out->n++] = in->t[i];
    return mkbag(out);
}

typedef struct { dql_expr *e; dql_evctx *cx; dql_value *keys; uint64_t n; int nk; } bagsort_ctx;

static int bagsort_cmp(const void *pa, const void *pb, void *ud)
{
    bagsort_ctx *s = ud;
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    for (int k = 0; k < s->nk; k++) {
        int c = dql_value_cmp(s->keys[a * (uint64_t)s->nk + (uint64_t)k], s->keys[b * (uint64_t)s->nk + (uint64_t)k]);
        if (c) return s->e->cols[k] ? -c : c;
    }
    return a < b ? -1 : a > b;
}

static dql_value ev_bagorder(dql_expr *e, const dql_value *row, dql_evctx *cx)
{
    dql_value v = dql_expr_eval(e->kids[0], row, cx);
    if (v.type != DQL_T_BAG) return dql_null();
    dql_bag *in = v.u.b;
    if (in->n < 2) return v;
    int nk = e->nkids - 1;
    bagsort_ctx s = { e, cx, dql_arena_alloc(cx->arena, sizeof(dql_value) * (in->n * (uint64_t)nk + 1)), in->n, nk };
    uint64_t *idx = dql_arena_alloc(cx->arena, sizeof(uint64_t) * (in->n + 1));
    for (uint64_t i = 0; i < in->n; i++) {
        idx[i] = i;
        for (int k = 0; k < nk; k++) s.keys[i * (uint64_t)nk + (uint64_t)k] = dql_expr_eval(e->kids[k + 1], in->t[i]->v, cx);
    }
    qsort_r(idx, in->n, sizeof *idx, bagsort_cmp, &s);
    dql_bag *out = dql_bag_new(cx->arena, in->n);
    for (uint64_t i = 0; i < in->n; i++) out->t[i] = in->t[idx[i]];
    return mkbag(out);
}

static dql_value ev_baglimit(dql_expr *e, const dql_value *row, dql_evctx *cx)
{
    dql_value v = dql_expr_eval(e->kids[0], row, cx);
    if (v.type != DQL_T_BAG) return dql_null();
    if (v.u.b->n <= (uint64_t)e->limit) return v;
    dql_bag *out = dql_bag_new(cx->arena, (uint64_t)e->limit);
    if (e->limit > 0) memcpy(out->t, v.u.b->t, sizeof(dql_tuple *) * (size_t)e->limit);
    return mkbag(out);
}

static int tuple_cmp_q(const void *a, const void *b)
{
    const dql_tuple *x = *(dql_tuple *const *)a, *y = *(dql_tuple *const *)b;
    dql_value vx = {0}, vy = {0};
    vx.type = vy.type = DQL_T_TUPLE;
    vx.u.t = (dql_tuple *)x; vy.u.t = (dql_tuple *)y;
    return dql_value_cmp(vx, vy);
}

static dql_value ev_bagdistinct(dql_expr *e, const dql_value *row, dql_evctx *cx)
{
    dql_value v = dql_expr_eval(e->kids[0], row, cx);
    if (v.type != DQL_T_BAG) return dql_null();
    dql_bag *in = v.u.b;
    if (in->n == 0) return v;
    dql_bag *out = dql_bag_new(cx->arena, in->n);
    memcpy(out->t, in->t, sizeof(dql_tuple *) * in->n);
    qsort(out->t, in->n, sizeof(dql_tuple *), tuple_cmp_q);
    uint64_t w = 0;
    for (uint64_t i = 0; i < in->n; i++)
        if (w == 0 || tuple_cmp_q(&out->t[w - 1], &out->t[i]) != 0) out->t[w++] = out->t[i];
    out->n = w;
    return mkbag(out);
}

static dql_value ev_none_true(dql_expr *e, const dql_value *row, dql_evctx *cx)
{
    for (int i = 0; i < e->nkids; i++)
        if (dql_value_true(dql_expr_eval(e->kids[i], row, cx))) return dql_bool(false);
    return dql_bool(true);
}

dql_expr *dql_expr_none_true(dql_expr **kids, int n)
{
    dql_span sp = {0};
    dql_expr *e = enew(E_OR, ev_none_true, DQL_T_BOOL, sp);
    for (int i = 0; i < n; i++) eadd(e, kids[i]);
    return e;
}

/* ------------------------------------------------------------ compiler */

dql_expr *dql_expr_lit(dql_value v, dql_type t)
{
    dql_span sp = {0};
    dql_expr *e = enew(E_LIT, ev_lit, t, sp);
    e->lit = dql_value_copy(&e->litarena, v);
    return e;
}

dql_expr *dql_expr_col(int col, dql_type t, const dql_schema *sub, const char *name)
{
    dql_span sp = {0};
    dql_expr *e = enew(E_COL, ev_col, t, sp);
    e->col = col;
    if (sub) e->sub = dql_schema_copy(sub);
    if (name) e->name = dql_xstrdup(name);
    return e;
}

dql_expr *dql_expr_row(const dql_schema *s)
{
    dql_span sp = {0};
    dql_expr *e = enew(E_TUPLE, ev_tuple, DQL_T_TUPLE, sp);
    for (int i = 0; i < s->n; i++) eadd(e, dql_expr_col(i, s->f[i].type, s->f[i].sub, s->f[i].name));
    e->sub = dql_schema_copy(s);
    return e;
}

dql_expr *dql_expr_cast(dql_expr *k, dql_type t)
{
    if (k->type == t || t == DQL_T_ANY) return k;
    dql_expr *e = enew(E_CAST, ev_cast, t, k->sp);
    if (k->name) e->name = dql_xstrdup(k->name);
    eadd(e, k);
    return e;
}

static void set_sub(dql_expr *e, const dql_schema *s) { if (s) e->sub = dql_schema_copy(s); }

/* Resolves one name component against a schema: index or -1 after an error. */
static int resolve_field(dql_scope *sc, const dql_schema *s, const char *name, const dql_span *sp)
{
    int i = dql_schema_find(s, name);
    if (i >= 0) return i;
    if (i == -2) { cerr(sc, sp, "ambiguous field '%s': qualify it with the alias (a::%s)", name, name); return -1; }
    dql_buf b = {0};
    int shown = 0;
    for (int k = 0; k < s->n && shown < 12; k++)
        if (s->f[k].name) { dql_buf_printf(&b, "%s%s", shown ? ", " : "", s->f[k].name); shown++; }
    if (s->n > shown && shown) dql_buf_puts(&b, ", ...");
    if (shown) cerr(sc, sp, "unknown field '%s' (fields: %s)", name, dql_buf_cstr(&b));
    else cerr(sc, sp, "unknown field '%s' (the input has no named fields; use $0, $1, ...)", name);
    dql_buf_free(&b);
    return -1;
}

/* Applies a field access step (".name" or ".$n") to e. */
static dql_expr *step_into(dql_scope *sc, dql_expr *e, const char *name, int pos, const dql_span *sp)
{
    if (e->type == DQL_T_ANY || e->type == DQL_T_BYTEARRAY || !e->sub) {
        if (e->type != DQL_T_TUPLE && e->type != DQL_T_BAG) {
            cerr(sc, sp, "'%s' has type %s: only tuples and bags have fields", e->name ? e->name : "value", dql_type_name(e->type));
            dql_expr_free(e);
            return NULL;
        }
    }
    const dql_schema *s = e->sub;
    int i = pos;
    if (name) i = s ? resolve_field(sc, s, name, sp) : -1;
    else if (!s || pos < 0 || pos >= s->n) { cerr(sc, sp, "position $%d out of range", pos); i = -1; }
    if (i < 0) { dql_expr_free(e); return NULL; }
    dql_expr *r;
    if (e->type == DQL_T_TUPLE) {
        r = enew(E_PROJ, ev_proj, s->f[i].type, *sp);
        r->col = i;
    } else {
        r = enew(E_BAGPROJ, ev_bagproj, DQL_T_BAG, *sp);
        r->cols = dql_xmalloc(sizeof(int));
        r->cols[0] = i;
        r->ncols = 1;
        dql_schema *bs = dql_schema_new(0);
        dql_schema_add(bs, s->f[i].name, s->f[i].type, s->f[i].sub);
        r->sub = bs;
        r->name = s->f[i].name ? dql_xstrdup(s->f[i].name) : NULL;
        eadd(r, e);
        return r;
    }
    set_sub(r, s->f[i].sub);
    r->name = s->f[i].name ? dql_xstrdup(s->f[i].name) : NULL;
    eadd(r, e);
    return r;
}

static dql_expr *compile_name(dql_scope *sc, const dql_node *n)
{
    /* split "a.b.c" on '.' */
    char *copy = dql_xstrdup(n->str);
    char *save = NULL;
    char *part = strtok_r(copy, ".", &save);
    dql_expr *e = NULL;
    int i = resolve_field(sc, sc->schema, part, &n->sp);
    if (i < 0) { free(copy); return NULL; }
    const dql_field *f = &sc->schema->f[i];
    e = dql_expr_col(i, f->type, f->sub, f->name);
    e->sp = n->sp;
    while ((part = strtok_r(NULL, ".", &save)) && e) e = step_into(sc, e, part, -1, &n->sp);
    free(copy);
    return e;
}

static bool is_agg_bag_call(const dql_func_def *fd, int argc, dql_expr **args)
{
    return fd->agg && argc == 1 && (args[0]->type == DQL_T_BAG);
}

static dql_expr *compile_call(dql_scope *sc, const dql_node *n)
{
    int argc = n->nkids;
    if (argc > 16) { cerr(sc, &n->sp, "too many arguments (at most 16)"); return NULL; }
    const char *fname = n->str;
    const dql_node *def = sc->sess ? dql_session_define_lookup(sc->sess, fname) : NULL;
    int nconst = 0;
    if (def && def->kind == N_FUNC) {
        fname = def->str;
        nconst = def->nkids;
    }
    dql_expr *args[32];
    int total = 0;
    bool ok = true;
    for (int i = 0; i < nconst && total < 16; i++) {
        const dql_node *a = def->kids[i]->kids[0];
        dql_expr *x = dql_expr_compile(sc, a);
        if (!x) ok = false;
        args[total++] = x;
    }
    for (int i = 0; i < argc && total < 16; i++) {
        dql_expr *x = dql_expr_compile(sc, n->kids[i]);
        if (!x) ok = false;
        args[total++] = x;
    }
    if (!ok) {
        for (int i = 0; i < total; i++) dql_expr_free(args[i]);
        return NULL;
    }
    const char *dot = strchr(fname, '.');
    if (dot) {
        lua_State *L = sc->sess ? dql_session_lua(sc->sess) : NULL;
        char *ns = dql_xstrndup(fname, (size_t)(dot - fname));
        if (!L || !dql_lua_has(L, ns, dot + 1)) {
            cerr(sc, &n->sp, "unknown function '%s' (REGISTER the Lua file that defines it)", fname);
            free(ns);
            for (int i = 0; i < total; i++) dql_expr_free(args[i]);
            return NULL;
        }
        dql_expr *e = enew(E_UDF, ev_udf, DQL_T_ANY, n->sp);
        e->ns = ns;
        e->fname = dql_xstrdup(dot + 1);
        e->lua = L;
        for (int i = 0; i < total; i++) eadd(e, args[i]);
        e->name = dql_xstrdup(dot + 1);
        return e;
    }
    const dql_func_def *fd = dql_func_find(fname);
    if (!fd) {
        cerr(sc, &n->sp, "unknown function '%s'", fname);
        for (int i = 0; i < total; i++) dql_expr_free(args[i]);
        return NULL;
    }
    if (total < fd->min_args || (fd->max_args >= 0 && total > fd->max_args)) {
        if (fd->min_args == fd->max_args)
            cerr(sc, &n->sp, "%s takes %d argument%s, not %d (%s)", fd->name, fd->min_args, fd->min_args == 1 ? "" : "s", total, fd->syntax);
        else if (fd->max_args < 0)
            cerr(sc, &n->sp, "%s takes at least %d argument%s, not %d (%s)", fd->name, fd->min_args, fd->min_args == 1 ? "" : "s", total, fd->syntax);
        else if (fd->max_args == fd->min_args + 1)
            cerr(sc, &n->sp, "%s takes %d or %d arguments, not %d (%s)", fd->name, fd->min_args, fd->max_args, total, fd->syntax);
        else
            cerr(sc, &n->sp, "%s takes %d to %d arguments, not %d (%s)", fd->name, fd->min_args, fd->max_args, total, fd->syntax);
        for (int i = 0; i < total; i++) dql_expr_free(args[i]);
        return NULL;
    }
    dql_field fields[16];
    for (int i = 0; i < total; i++) { fields[i].name = args[i]->name; fields[i].type = args[i]->type; fields[i].sub = args[i]->sub; }
    dql_type rt = fd->ret;
    dql_schema *rsub = NULL;
    if (fd->typecheck) {
        char err[256] = "";
        rt = fd->typecheck(total, fields, &rsub, err, sizeof err);
        if (rt == DQL_T__COUNT) {
            cerr(sc, &n->sp, "%s: %s", fd->name, err[0] ? err : "bad arguments");
            for (int i = 0; i < total; i++) dql_expr_free(args[i]);
            return NULL;
        }
    }
    dql_expr *e;
    if (is_agg_bag_call(fd, total, args)) {
        e = enew(E_AGGBAG, ev_aggbag, rt, n->sp);
    } else {
        if (fd->agg && !fd->fn) {
            cerr(sc, &n->sp, "%s takes a bag (e.g. %s(rel) or %s(rel.field) after GROUP)", fd->name, fd->name, fd->name);
            for (int i = 0; i < total; i++) dql_expr_free(args[i]);
            return NULL;
        }
        e = enew(E_CALL, ev_call, rt, n->sp);
    }
    e->fn = fd;
    e->sub = rsub;
    for (int i = 0; i < total; i++) eadd(e, args[i]);
    if (e->kind == E_CALL && fd->prepare) {
        dql_value cv[16];
        bool cs[16];
        for (int i = 0; i < total; i++) {
            cs[i] = args[i]->kind == E_LIT;
            cv[i] = cs[i] ? args[i]->lit : dql_null();
        }
        char err[256] = "";
        if (fd->prepare(total, cv, cs, &e->fnstate, err, sizeof err) != DQL_OK) {
            cerr(sc, &n->sp, "%s: %s", fd->name, err);
            dql_expr_free(e);
            return NULL;
        }
    }
    /* like Pig, a call's result has no field name until AS gives one */
    return e;
}

static bool numeric_or_dyn(dql_type t)
{
    return dql_type_is_numeric(t) || t == DQL_T_BYTEARRAY || t == DQL_T_ANY || t == DQL_T_NULL || t == DQL_T_BOOL;
}

static dql_type arith_type(dql_type a, dql_type b)
{
    if (a == DQL_T_DOUBLE || b == DQL_T_DOUBLE || a == DQL_T_BYTEARRAY || b == DQL_T_BYTEARRAY) return DQL_T_DOUBLE;
    if (a == DQL_T_ANY || b == DQL_T_ANY) return DQL_T_ANY;
    if (a == DQL_T_LONG || b == DQL_T_LONG) return DQL_T_LONG;
    if (a == DQL_T_NULL && b == DQL_T_NULL) return DQL_T_INT;
    return (a == DQL_T_INT || a == DQL_T_NULL || a == DQL_T_BOOL) && (b == DQL_T_INT || b == DQL_T_NULL || b == DQL_T_BOOL) ? DQL_T_INT : DQL_T_LONG;
}

/* Literal strings compared with a typed field are converted once, at compile
 * time (e.g. ip == '10.0.0.1', d == 'Example.COM.'). */
static dql_expr *coerce_literal(dql_scope *sc, dql_expr *lit, dql_type to)
{
    if (lit->kind != E_LIT || lit->lit.type != DQL_T_CHARARRAY) return lit;
    if (to != DQL_T_DOMAIN && to != DQL_T_IP && to != DQL_T_CIDR && to != DQL_T_DATETIME &&
        !dql_type_is_numeric(to) && to != DQL_T_BOOL) return lit;
    dql_value out;
    if (!dql_value_cast(&lit->litarena, lit->lit, to, &out)) {
        cerr(sc, &lit->sp, "'%.*s' is not a valid %s", (int)lit->lit.len, lit->lit.u.s, dql_type_name(to));
        return lit;
    }
    lit->lit = out;
    lit->type = to;
    return lit;
}

dql_expr *dql_expr_compile(dql_scope *sc, const dql_node *n)
{
    dql_expr *e = NULL, *a, *b;
    switch (n->kind) {
    case N_INT: e = dql_expr_lit(dql_int((int32_t)n->ival), DQL_T_INT); break;
    case N_LONG: e = dql_expr_lit(dql_long(n->ival), DQL_T_LONG); break;
    case N_DOUBLE: e = dql_expr_lit(dql_double(n->dval), DQL_T_DOUBLE); break;
    case N_BOOL: e = dql_expr_lit(dql_bool(n->ival != 0), DQL_T_BOOL); break;
    case N_NULL: e = dql_expr_lit(dql_null(), DQL_T_NULL); break;
    case N_STRING: e = dql_expr_lit(dql_chararray(n->str, strlen(n->str)), DQL_T_CHARARRAY); break;
    case N_PARAM:
        cerr(sc, &n->sp, "undefined parameter $%s (give it with -p %s=VALUE or %%default)", n->str, n->str);
        return NULL;
    case N_NAME:
        e = compile_name(sc, n);
        if (!e) return NULL;
        break;
    case N_POS:
        if (n->ival < 0 || n->ival >= sc->schema->n) {
            cerr(sc, &n->sp, "position $%lld out of range (the input has %d field%s)", (long long)n->ival, sc->schema->n, sc->schema->n == 1 ? "" : "s");
            return NULL;
        }
        e = dql_expr_col((int)n->ival, sc->schema->f[n->ival].type, sc->schema->f[n->ival].sub, sc->schema->f[n->ival].name);
        break;
    case N_PROJ:
        a = dql_expr_compile(sc, n->kids[0]);
        if (!a) return NULL;
        e = step_into(sc, a, n->str, n->str ? -1 : (int)n->ival, &n->sp);
        if (!e) return NULL;
        break;
    case N_PROJ_MULTI: {
        a = dql_expr_compile(sc, n->kids[0]);
        if (!a) return NULL;
        if ((a->type != DQL_T_BAG && a->type != DQL_T_TUPLE) || !a->sub) {
            cerr(sc, &n->sp, "only tuples and bags have fields");
            dql_expr_free(a);
            return NULL;
        }
        const dql_node *l = n->kids[1];
        e = enew(E_BAGPROJ, ev_bagproj, a->type, n->sp);
        e->cols = dql_xmalloc(sizeof(int) * (size_t)l->nkids);
        e->ncols = l->nkids;
        dql_schema *s = dql_schema_new(0);
        for (int i = 0; i < l->nkids; i++) {
            int idx = l->kids[i]->kind == N_POS ? (int)l->kids[i]->ival : resolve_field(sc, a->sub, l->kids[i]->str, &l->kids[i]->sp);
            if (idx < 0 || idx >= a->sub->n) {
                if (l->kids[i]->kind == N_POS) cerr(sc, &l->kids[i]->sp, "position out of range");
                dql_schema_free(s); dql_expr_free(a); dql_expr_free(e); return NULL;
            }
            e->cols[i] = idx;
            dql_schema_add(s, a->sub->f[idx].name, a->sub->f[idx].type, a->sub->f[idx].sub);
        }
        e->sub = s;
        eadd(e, a);
        break;
    }
    case N_MAPGET:
        a = dql_expr_compile(sc, n->kids[0]);
        if (!a) return NULL;
        if (a->type != DQL_T_MAP && a->type != DQL_T_ANY && a->type != DQL_T_BYTEARRAY) {
            cerr(sc, &n->sp, "'#' needs a map, not %s", dql_type_name(a->type));
            dql_expr_free(a);
            return NULL;
        }
        e = enew(E_MAPGET, ev_mapget, DQL_T_ANY, n->sp);
        e->lit = dql_value_copy(&e->litarena, dql_chararray(n->str, strlen(n->str)));
        e->name = dql_xstrdup(n->str);
        eadd(e, a);
        break;
    case N_BINOP: {
        a = dql_expr_compile(sc, n->kids[0]);
        b = dql_expr_compile(sc, n->kids[1]);
        if (!a || !b) { dql_expr_free(a); dql_expr_free(b); return NULL; }
        int op = (int)n->ival;
        if (op == AND || op == OR) {
            for (int k = 0; k < 2; k++) {
                dql_expr *x = k ? b : a;
                if (x->type != DQL_T_BOOL && x->type != DQL_T_NULL && x->type != DQL_T_ANY) {
                    cerr(sc, &x->sp, "%s needs boolean operands, not %s", op == AND ? "AND" : "OR", dql_type_name(x->type));
                    dql_expr_free(a); dql_expr_free(b); return NULL;
                }
            }
            e = enew(op == AND ? E_AND : E_OR, op == AND ? ev_and : ev_or, DQL_T_BOOL, n->sp);
        } else if (op == '+' || op == '-' || op == '*' || op == '/' || op == '%') {
            bool dt = a->type == DQL_T_DATETIME && (op == '+' || op == '-');
            if (!dt && (!numeric_or_dyn(a->type) || !numeric_or_dyn(b->type))) {
                dql_expr *bad = numeric_or_dyn(a->type) ? b : a;
                cerr(sc, &bad->sp, "cannot apply '%c' to %s (cast it first, e.g. (long)x)", op, dql_type_name(bad->type));
                dql_expr_free(a); dql_expr_free(b); return NULL;
            }
            dql_type rt = dt ? (b->type == DQL_T_DATETIME ? DQL_T_LONG : DQL_T_DATETIME) : arith_type(a->type, b->type);
            e = enew(E_ARITH, ev_arith, rt, n->sp);
        } else {
            /* comparison */
            a = coerce_literal(sc, a, b->type);
            b = coerce_literal(sc, b, a->type);
            bool ca = a->type == DQL_T_BAG || a->type == DQL_T_MAP, cb = b->type == DQL_T_BAG || b->type == DQL_T_MAP;
            if (ca || cb) {
                cerr(sc, &n->sp, "cannot compare %s values", dql_type_name(ca ? a->type : b->type));
                dql_expr_free(a); dql_expr_free(b); return NULL;
            }
            e = enew(E_CMP, ev_cmp, DQL_T_BOOL, n->sp);
        }
        e->op = op;
        eadd(e, a);
        eadd(e, b);
        break;
    }
    case N_UNOP:
        a = dql_expr_compile(sc, n->kids[0]);
        if (!a) return NULL;
        if (n->ival == NOT) {
            if (a->type != DQL_T_BOOL && a->type != DQL_T_NULL && a->type != DQL_T_ANY) {
                cerr(sc, &a->sp, "NOT needs a boolean, not %s", dql_type_name(a->type));
                dql_expr_free(a); return NULL;
            }
            e = enew(E_NOT, ev_not, DQL_T_BOOL, n->sp);
        } else {
            if (!numeric_or_dyn(a->type)) {
                cerr(sc, &a->sp, "cannot negate %s", dql_type_name(a->type));
                dql_expr_free(a); return NULL;
            }
            if (a->kind == E_LIT && (a->lit.type == DQL_T_INT || a->lit.type == DQL_T_LONG)) {
                a->lit.u.i = -a->lit.u.i; a->sp = n->sp; return a;
            }
            if (a->kind == E_LIT && a->lit.type == DQL_T_DOUBLE) { a->lit.u.d = -a->lit.u.d; a->sp = n->sp; return a; }
            e = enew(E_NEG, ev_neg, a->type == DQL_T_BYTEARRAY ? DQL_T_DOUBLE : a->type, n->sp);
        }
        eadd(e, a);
        break;
    case N_ISNULL:
        a = dql_expr_compile(sc, n->kids[0]);
        if (!a) return NULL;
        e = enew(E_ISNULL, ev_isnull, DQL_T_BOOL, n->sp);
        e->op = (int)n->ival;
        eadd(e, a);
        break;
    case N_IN: {
        a = dql_expr_compile(sc, n->kids[0]);
        if (!a) return NULL;
        e = enew(E_IN, ev_in, DQL_T_BOOL, n->sp);
        e->op = (int)n->ival;
        eadd(e, a);
        for (int i = 0; i < n->kids[1]->nkids; i++) {
            b = dql_expr_compile(sc, n->kids[1]->kids[i]);
            if (!b) { dql_expr_free(e); return NULL; }
            eadd(e, coerce_literal(sc, b, a->type));
        }
        break;
    }
    case N_MATCHES:
        a = dql_expr_compile(sc, n->kids[0]);
        b = dql_expr_compile(sc, n->kids[1]);
        if (!a || !b) { dql_expr_free(a); dql_expr_free(b); return NULL; }
        e = enew(E_MATCHES, ev_matches, DQL_T_BOOL, n->sp);
        if (b->kind == E_LIT && b->lit.type == DQL_T_CHARARRAY) {
            char err[256];
            e->re = compile_anchored(b->lit.u.s, b->lit.len, err, sizeof err);
            if (!e->re) {
                cerr(sc, &b->sp, "invalid regular expression: %s", err);
                dql_expr_free(a); dql_expr_free(b); dql_expr_free(e); return NULL;
            }
        }
        eadd(e, a);
        eadd(e, b);
        break;
    case N_COND: {
        dql_expr *c = dql_expr_compile(sc, n->kids[0]);
        a = dql_expr_compile(sc, n->kids[1]);
        b = dql_expr_compile(sc, n->kids[2]);
        if (!c || !a || !b) { dql_expr_free(c); dql_expr_free(a); dql_expr_free(b); return NULL; }
        dql_type t = a->type == DQL_T_NULL ? b->type : (b->type == DQL_T_NULL || b->type == a->type) ? a->type :
                     (dql_type_is_numeric(a->type) && dql_type_is_numeric(b->type)) ? arith_type(a->type, b->type) : DQL_T_ANY;
        if (dql_type_is_numeric(t)) { a = dql_expr_cast(a, t); b = dql_expr_cast(b, t); }
        e = enew(E_COND, ev_cond, t, n->sp);
        set_sub(e, a->sub ? a->sub : b->sub);
        eadd(e, c); eadd(e, a); eadd(e, b);
        break;
    }
    case N_CASE: {
        e = enew(E_CASE, ev_case, DQL_T_NULL, n->sp);
        e->op = (int)n->ival;
        bool ok = true;
        for (int i = 0; i < n->nkids; i++) {
            if (!n->kids[i]) { eadd(e, NULL); continue; }
            dql_expr *k = dql_expr_compile(sc, n->kids[i]);
            if (!k) { ok = false; eadd(e, NULL); continue; }
            eadd(e, k);
            /* result positions: THEN values (even indexes >= 2) and ELSE (last when op) */
            bool is_result = (i >= 2 && i % 2 == 0) || (e->op && i == n->nkids - 1);
            if (is_result) {
                if (e->type == DQL_T_NULL) e->type = k->type;
                else if (k->type != e->type && k->type != DQL_T_NULL)
                    e->type = (dql_type_is_numeric(e->type) && dql_type_is_numeric(k->type)) ? arith_type(e->type, k->type) : DQL_T_ANY;
            }
        }
        if (!ok) { dql_expr_free(e); return NULL; }
        if (dql_type_is_numeric(e->type))
            for (int i = 2; i < e->nkids; i++)
                if ((i % 2 == 0 || (e->op && i == e->nkids - 1)) && e->kids[i]) e->kids[i] = dql_expr_cast(e->kids[i], e->type);
        break;
    }
    case N_CAST: {
        a = dql_expr_compile(sc, n->kids[0]);
        if (!a) return NULL;
        dql_type t = n->schema->f[0].type;
        if (a->kind == E_LIT && a->lit.type != DQL_T_NULL) {
            dql_value out;
            if (!dql_value_cast(&a->litarena, a->lit, t, &out)) {
                dql_buf bb = {0};
                dql_value_format(&bb, a->lit);
                cerr(sc, &n->sp, "cannot cast '%s' to %s", dql_buf_cstr(&bb), dql_type_name(t));
                dql_buf_free(&bb);
                dql_expr_free(a);
                return NULL;
            }
            a->lit = out;
            a->type = t;
            a->sp = n->sp;
            return a;
        }
        if ((a->type == DQL_T_BAG || a->type == DQL_T_TUPLE || a->type == DQL_T_MAP) && a->type != t) {
            cerr(sc, &n->sp, "cannot cast a %s to %s", dql_type_name(a->type), dql_type_name(t));
            dql_expr_free(a);
            return NULL;
        }
        e = enew(E_CAST, ev_cast, t, n->sp);
        if (a->name) e->name = dql_xstrdup(a->name);
        eadd(e, a);
        break;
    }
    case N_CALL:
        e = compile_call(sc, n);
        if (!e) return NULL;
        break;
    case N_TUPLE: {
        e = enew(E_TUPLE, ev_tuple, DQL_T_TUPLE, n->sp);
        dql_schema *s = dql_schema_new(0);
        for (int i = 0; i < n->nkids; i++) {
            a = dql_expr_compile(sc, n->kids[i]);
            if (!a) { dql_schema_free(s); dql_expr_free(e); return NULL; }
            dql_schema_add(s, a->name, a->type, a->sub);
            eadd(e, a);
        }
        e->sub = s;
        break;
    }
    case N_BAGC: {
        e = enew(E_BAGC, ev_bagc, DQL_T_BAG, n->sp);
        for (int i = 0; i < n->nkids; i++) {
            a = dql_expr_compile(sc, n->kids[i]);
            if (!a) { dql_expr_free(e); return NULL; }
            if (!e->sub) {
                if (a->type == DQL_T_TUPLE && a->sub) e->sub = dql_schema_copy(a->sub);
                else { e->sub = dql_schema_new(0); dql_schema_add(e->sub, a->name, a->type, a->sub); }
            }
            eadd(e, a);
        }
        if (!e->sub) e->sub = dql_schema_new(0);
        break;
    }
    case N_MAPC:
        e = enew(E_MAPC, ev_mapc, DQL_T_MAP, n->sp);
        for (int i = 0; i < n->nkids; i++) {
            a = dql_expr_compile(sc, n->kids[i]);
            if (!a) { dql_expr_free(e); return NULL; }
            eadd(e, a);
        }
        break;
    case N_NFILTER: case N_NORDER: case N_NLIMIT: case N_NDISTINCT: {
        a = dql_expr_compile(sc, n->kids[0]);
        if (!a) return NULL;
        if (a->type != DQL_T_BAG || !a->sub) {
            cerr(sc, &n->kids[0]->sp, "a nested %s needs a bag, not %s",
                 n->kind == N_NFILTER ? "FILTER" : n->kind == N_NORDER ? "ORDER" : n->kind == N_NLIMIT ? "LIMIT" : "DISTINCT",
                 dql_type_name(a->type));
            dql_expr_free(a);
            return NULL;
        }
        dql_scope inner = *sc;
        inner.schema = a->sub;
        inner.nerr = 0;
        if (n->kind == N_NFILTER) {
            e = enew(E_BAGFILTER, ev_bagfilter, DQL_T_BAG, n->sp);
            eadd(e, a);
            b = dql_expr_compile(&inner, n->kids[1]);
            if (!b) { sc->nerr += inner.nerr; dql_expr_free(e); return NULL; }
            eadd(e, b);
        } else if (n->kind == N_NORDER) {
            e = enew(E_BAGORDER, ev_bagorder, DQL_T_BAG, n->sp);
            eadd(e, a);
            const dql_node *keys = n->kids[1];
            e->cols = dql_xcalloc((size_t)keys->nkids, sizeof(int));
            e->ncols = keys->nkids;
            for (int i = 0; i < keys->nkids; i++) {
                b = dql_expr_compile(&inner, keys->kids[i]->kids[0]);
                if (!b) { sc->nerr += inner.nerr; dql_expr_free(e); return NULL; }
                e->cols[i] = (int)keys->kids[i]->ival;
                eadd(e, b);
            }
        } else if (n->kind == N_NLIMIT) {
            e = enew(E_BAGLIMIT, ev_baglimit, DQL_T_BAG, n->sp);
            e->limit = n->kids[1]->ival;
            eadd(e, a);
        } else {
            e = enew(E_BAGDISTINCT, ev_bagdistinct, DQL_T_BAG, n->sp);
            eadd(e, a);
        }
        e->sub = dql_schema_copy(a->sub);
        if (a->name) e->name = dql_xstrdup(a->name);
        break;
    }
    default:
        cerr(sc, &n->sp, "not an expression (%s)", dql_node_kind_name(n->kind));
        return NULL;
    }
    if (e && !e->sp.src) e->sp = n->sp;
    return e;
}
