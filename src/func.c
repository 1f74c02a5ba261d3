/* func.c — the builtin function registry: case-insensitive lookup over the
 * tables of the fn_*.c files (a sorted index built on first use), stable
 * iteration for .help and completion (by category, then name), the scalar
 * form of algebraic aggregates (dql_agg_over_bag), and the helpers every
 * builtin uses for warnings and integer arguments. */
#include "exec.h"
#include "geo.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const dql_func_def *const fn_tables[] = {
    dql_fn_string, dql_fn_math, dql_fn_agg, dql_fn_domain, dql_fn_net, dql_fn_time, dql_fn_geo,
    dql_fn_classify, dql_fn_files,
};

static const dql_func_def **by_name;   /* sorted by name, case-insensitively */
static const dql_func_def **by_cat;    /* sorted by category, then name */
static size_t nfuncs;

static int cmp_name(const void *a, const void *b)
{
    const dql_func_def *x = *(const dql_func_def *const *)a, *y = *(const dql_func_def *const *)b;
    return strcasecmp(x->name, y->name);
}

static int cmp_cat(const void *a, const void *b)
{
    const dql_func_def *x = *(const dql_func_def *const *)a, *y = *(const dql_func_def *const *)b;
    int c = strcmp(x->category, y->category);
    return c ? c : strcasecmp(x->name, y->name);
}

/* Builds both indexes once; they live until exit. */
static void build_index(void)
{
    if (by_name)
        return;
    size_t n = 0;
    for (size_t t = 0; t < sizeof fn_tables / sizeof fn_tables[0]; t++)
        for (const dql_func_def *f = fn_tables[t]; f->name; f++)
            n++;
    const dql_func_def **a = dql_xmalloc(sizeof *a * (n ? n : 1));
    const dql_func_def **c = dql_xmalloc(sizeof *c * (n ? n : 1));
    size_t i = 0;
    for (size_t t = 0; t < sizeof fn_tables / sizeof fn_tables[0]; t++)
        for (const dql_func_def *f = fn_tables[t]; f->name; f++)
            a[i] = c[i] = f, i++;
    qsort(a, n, sizeof *a, cmp_name);
    qsort(c, n, sizeof *c, cmp_cat);
    nfuncs = n;
    by_cat = c;
    by_name = a;
}

const dql_func_def *dql_func_find(const char *name)
{
    if (!name)
        return NULL;
    build_index();
    size_t lo = 0, hi = nfuncs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcasecmp(name, by_name[mid]->name);
        if (c == 0)
            return by_name[mid];
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

const dql_func_def *dql_func_at(size_t i)
{
    build_index();
    return i < nfuncs ? by_cat[i] : NULL;
}

/* Runs agg over the tuples of bag: each tuple's first field is stepped
 * (null for a missing or empty tuple). A null bag gives the result for no
 * rows (COUNT 0, SUM null). A value that is not a bag gives null and a
 * warning. */
dql_status dql_agg_over_bag(const dql_agg_def *agg, dql_fnctx *cx, dql_value bag, dql_value *out)
{
    _Alignas(16) unsigned char stack[256];
    void *st = agg->state_size <= sizeof stack ? (void *)stack : dql_arena_alloc(cx->arena, agg->state_size);
    if (!dql_is_null(bag) && bag.type != DQL_T_BAG) {
        *out = dql_null();
        if (cx->ex)
            return dql_exec_warn(cx->ex, "aggregate over a non-bag", "an aggregate was given a %s, not a bag",
                                 dql_type_name((dql_type)bag.type));
        return DQL_OK;
    }
    agg->init(st);
    if (!dql_is_null(bag)) {
        const dql_bag *b = bag.u.b;
        for (uint64_t i = 0; i < b->n; i++) {
            const dql_tuple *t = b->t[i];
            agg->step(st, t && t->n ? t->v[0] : dql_null());
        }
    }
    agg->final(st, cx->arena, out);
    return DQL_OK;
}

dql_status dql_fn_warn(dql_fnctx *cx, const char *kind, const char *fmt, ...)
{
    if (!cx->ex)
        return DQL_OK;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return dql_exec_warn(cx->ex, kind, "%s", msg);
}

bool dql_fn_arg_int(dql_value v, int64_t *out)
{
    if (v.type == DQL_T_INT || v.type == DQL_T_LONG) { *out = v.u.i; return true; }
    if (v.type == DQL_T_DOUBLE && v.u.d >= -9e18 && v.u.d <= 9e18) { *out = (int64_t)v.u.d; return true; }
    if (v.type == DQL_T_BYTEARRAY || v.type == DQL_T_CHARARRAY) {
        char tmp[24];
        if (v.len == 0 || v.len >= sizeof tmp) return false;
        memcpy(tmp, v.u.s, v.len);
        tmp[v.len] = 0;
        char *e;
        long long x = strtoll(tmp, &e, 10);
        if (*e) return false;
        *out = x;
        return true;
    }
    return false;
}
