/* fn_agg.c — the aggregate builtins: the algebraic COUNT, COUNT_STAR, SUM,
 * AVG, MIN and MAX (init/step/merge/final states the engine can run in a
 * hash aggregation, or over a bag via dql_agg_over_bag), COUNT_DISTINCT
 * (the same, with a set as its state), TOP (the same, with constant
 * parameters and its best tuples as its state), and the bag functions
 * BAGTOSTRING and ISEMPTY.
 *
 * Aggregates see the first field of each tuple. Untyped (bytearray) input
 * is read as double, as in Pig; values that do not parse are skipped. */
#include "exec.h"
#include "sort.h"

#include <stdlib.h>
#include <string.h>

/* A string-like value read as a double; false when it does not parse. */
static bool text_double(dql_value v, double *d)
{
    char tmp[64];
    if (v.len == 0 || v.len >= sizeof tmp)
        return false;
    memcpy(tmp, v.u.s, v.len);
    tmp[v.len] = 0;
    char *end;
    *d = strtod(tmp, &end);
    while (*end == ' ' || *end == '\t')
        end++;
    return end != tmp && !*end;
}

/* Bytearray (untyped) values become doubles; false when that fails. */
static bool untyped_to_double(dql_value *v)
{
    if (v->type != DQL_T_BYTEARRAY)
        return true;
    double d;
    if (!text_double(*v, &d))
        return false;
    *v = dql_double(d);
    return true;
}

/* --------------------------------------------------------- COUNT(_STAR) */

typedef struct { int64_t n; } count_st;

static void count_init(void *st) { ((count_st *)st)->n = 0; }
static void count_step(void *st, dql_value v) { if (!dql_is_null(v)) ((count_st *)st)->n++; }
static void count_star_step(void *st, dql_value v) { ((count_st *)st)->n++; }
static void count_merge(void *st, const void *o) { ((count_st *)st)->n += ((const count_st *)o)->n; }
static void count_final(void *st, dql_arena *a, dql_value *out) { *out = dql_long(((count_st *)st)->n); }

static void count_combine(void *st, dql_value v) { if (v.type == DQL_T_LONG || v.type == DQL_T_INT) ((count_st *)st)->n += v.u.i; }

static const dql_agg_def agg_count = { sizeof(count_st), count_init, count_step, count_merge, count_final,
                                       count_final, count_combine, DQL_T_LONG, NULL };
static const dql_agg_def agg_count_star = { sizeof(count_st), count_init, count_star_step, count_merge, count_final,
                                            count_final, count_combine, DQL_T_LONG, NULL };

/* ------------------------------------------------------------- SUM, AVG */

/* Integers are summed exactly in li (wrapping like Java on overflow);
 * doubles in d. The result is double as soon as one double was seen. */
typedef struct {
    int64_t li;
    double d;
    int64_t n;       /* non-null values seen */
    bool dbl;
} sum_st;

static void sum_init(void *st) { memset(st, 0, sizeof(sum_st)); }

static void sum_step(void *st, dql_value v)
{
    sum_st *s = st;
    switch (v.type) {
    case DQL_T_INT: case DQL_T_LONG:
        s->li = (int64_t)((uint64_t)s->li + (uint64_t)v.u.i);
        s->n++;
        break;
    case DQL_T_DOUBLE:
        s->d += v.u.d; s->dbl = true; s->n++;
        break;
    case DQL_T_BYTEARRAY: case DQL_T_CHARARRAY: {
        double d;
        if (text_double(v, &d)) { s->d += d; s->dbl = true; s->n++; }
        break;
    }
    default:
        break;
    }
}

static void sum_merge(void *st, const void *other)
{
    sum_st *s = st;
    const sum_st *o = other;
    s->li = (int64_t)((uint64_t)s->li + (uint64_t)o->li);
    s->d += o->d;
    s->n += o->n;
    s->dbl |= o->dbl;
}

static void sum_final(void *st, dql_arena *a, dql_value *out)
{
    sum_st *s = st;
    if (s->n == 0) *out = dql_null();
    else if (s->dbl) *out = dql_double(s->d + (double)s->li);
    else *out = dql_long(s->li);
}

static void avg_final(void *st, dql_arena *a, dql_value *out)
{
    sum_st *s = st;
    *out = s->n ? dql_double((s->d + (double)s->li) / (double)s->n) : dql_null();
}

/* A sharded run's partial SUM/AVG is the whole state, (li, d, n, dbl), so
 * that the merge computes exactly what one process would (integers exactly;
 * doubles up to the order of additions). */
static void sum_partial(void *st, dql_arena *a, dql_value *out)
{
    sum_st *s = st;
    dql_tuple *t = dql_tuple_new(a, 4);
    t->v[0] = dql_long(s->li);
    t->v[1] = dql_double(s->d);
    t->v[2] = dql_long(s->n);
    t->v[3] = dql_long(s->dbl);
    *out = (dql_value){0};
    out->type = DQL_T_TUPLE;
    out->u.t = t;
}

static double num_of(dql_value v) { return v.type == DQL_T_DOUBLE ? v.u.d : (v.type == DQL_T_LONG || v.type == DQL_T_INT) ? (double)v.u.i : 0; }

static void sum_combine(void *st, dql_value v)
{
    if (v.type != DQL_T_TUPLE || v.u.t->n != 4) return;
    const dql_value *f = v.u.t->v;
    sum_st o = { f[0].type == DQL_T_LONG || f[0].type == DQL_T_INT ? f[0].u.i : (int64_t)num_of(f[0]), num_of(f[1]),
                 (int64_t)num_of(f[2]), num_of(f[3]) != 0 };
    sum_merge(st, &o);
}

static const dql_agg_def agg_sum = { sizeof(sum_st), sum_init, sum_step, sum_merge, sum_final,
                                     sum_partial, sum_combine, DQL_T_TUPLE, NULL };
static const dql_agg_def agg_avg = { sizeof(sum_st), sum_init, sum_step, sum_merge, avg_final,
                                     sum_partial, sum_combine, DQL_T_TUPLE, NULL };

/* ------------------------------------------------------------- MIN, MAX */

/* The state keeps its own copy of the current extreme: string and address
 * payloads in buf (malloc'd, grown and reused, never per row once large
 * enough), tuples, bags and maps in a private arena. final() copies the
 * result into the caller's arena and frees both. A state that was merged
 * into another still owns its storage: run final() on it too. */
typedef struct {
    dql_value cur;
    bool has;
    bool is_max;
    char *buf;
    size_t cap;
    dql_arena *ar;
} minmax_st;

static void minmax_release(minmax_st *s)
{
    free(s->buf);
    if (s->ar) { dql_arena_free(s->ar); free(s->ar); }
    s->buf = NULL; s->cap = 0; s->ar = NULL; s->has = false;
    s->cur = dql_null();
}

static void minmax_store(minmax_st *s, dql_value v)
{
    switch (v.type) {
    case DQL_T_CHARARRAY: case DQL_T_BYTEARRAY: case DQL_T_DOMAIN: case DQL_T_IP: case DQL_T_CIDR: {
        size_t n = v.len;
        if (n > s->cap || !s->buf) {
            size_t cap = s->cap ? s->cap : 32;
            while (cap < n) cap *= 2;
            free(s->buf);
            s->buf = dql_xmalloc(cap);
            s->cap = cap;
        }
        if (n) memcpy(s->buf, v.u.s, n);
        s->cur = v;
        s->cur.u.s = s->buf;
        break;
    }
    case DQL_T_TUPLE: case DQL_T_BAG: case DQL_T_MAP:
        if (!s->ar) {
            s->ar = dql_xmalloc(sizeof *s->ar);
            dql_arena_init(s->ar);
        } else {
            dql_arena_reset(s->ar);
        }
        s->cur = dql_value_copy(s->ar, v);
        break;
    default:
        s->cur = v;
        break;
    }
    s->has = true;
}

static void min_init(void *st) { memset(st, 0, sizeof(minmax_st)); }
static void max_init(void *st) { memset(st, 0, sizeof(minmax_st)); ((minmax_st *)st)->is_max = true; }

static void minmax_step(void *st, dql_value v)
{
    minmax_st *s = st;
    if (dql_is_null(v) || !untyped_to_double(&v))
        return;
    if (!s->has) { minmax_store(s, v); return; }
    int c = dql_value_cmp(v, s->cur);
    if (s->is_max ? c > 0 : c < 0)
        minmax_store(s, v);
}

static void minmax_merge(void *st, const void *other)
{
    const minmax_st *o = other;
    if (o->has)
        minmax_step(st, o->cur);
}

static void minmax_final(void *st, dql_arena *a, dql_value *out)
{
    minmax_st *s = st;
    *out = s->has ? dql_value_copy(a, s->cur) : dql_null();
    minmax_release(s);
}

static const dql_agg_def agg_min = { sizeof(minmax_st), min_init, minmax_step, minmax_merge, minmax_final,
                                     minmax_final, minmax_step, DQL_T_ANY, NULL };
static const dql_agg_def agg_max = { sizeof(minmax_st), max_init, minmax_step, minmax_merge, minmax_final,
                                     minmax_final, minmax_step, DQL_T_ANY, NULL };

/* Scalar forms: the aggregate over its one bag argument. */
static dql_status fn_count(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{ return dql_agg_over_bag(&agg_count, cx, argv[0], out); }
static dql_status fn_count_star(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{ return dql_agg_over_bag(&agg_count_star, cx, argv[0], out); }
static dql_status fn_sum(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{ return dql_agg_over_bag(&agg_sum, cx, argv[0], out); }
static dql_status fn_avg(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{ return dql_agg_over_bag(&agg_avg, cx, argv[0], out); }
static dql_status fn_min(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{ return dql_agg_over_bag(&agg_min, cx, argv[0], out); }
static dql_status fn_max(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{ return dql_agg_over_bag(&agg_max, cx, argv[0], out); }

/* ------------------------------------------------------- COUNT_DISTINCT */

/* COUNT_DISTINCT: the number of distinct non-null values. The state is a
 * set of the values seen, created at the first one (a group of nulls costs
 * nothing): each value serialized (sort.h) into one growing buffer, an
 * open-addressing table of (hash, offset, length). Two values are the same
 * when their bytes are, or, when only the hashes agree, when dql_value_eq
 * says so (a domain in another case, an int and a long). A sharded run's
 * partial is the set itself, as a bag of one-field tuples; the merge adds
 * each to its set, so the count is exact (no sketch). */
typedef struct { uint64_t h; size_t off, len; } cd_slot;
typedef struct {
    cd_slot *tab;
    uint64_t n, mask;
    dql_buf data;       /* the serialized values */
    dql_buf tmp;        /* the value being looked up */
    int64_t bytes;      /* counted in dql_agg_heap_bytes */
} cd_set;

int64_t dql_agg_heap_bytes;

/* Where stored values are read back for a comparison (COUNT_DISTINCT's
 * equality, TOP's order): reset after each, so that nothing allocates per
 * row. */
static dql_arena scratch;

/* Brings dql_agg_heap_bytes up to date with what the set holds now. */
static void cd_account(cd_set *set)
{
    int64_t b = (int64_t)(sizeof *set + (set->mask + 1) * sizeof *set->tab + set->data.cap + set->tmp.cap);
    dql_agg_heap_bytes += b - set->bytes;
    set->bytes = b;
}
typedef struct { cd_set *set; } cd_st;

static void cd_init(void *st) { ((cd_st *)st)->set = NULL; }

static void cd_release(cd_st *s)
{
    if (!s->set) return;
    dql_agg_heap_bytes -= s->set->bytes;
    free(s->set->tab);
    dql_buf_free(&s->set->data);
    dql_buf_free(&s->set->tmp);
    free(s->set);
    s->set = NULL;
}

/* Is the value in slot sl equal to v (whose bytes are in set->tmp)? Equal
 * bytes are; otherwise the stored value is read back (into the scratch
 * arena: a column of names in mixed case does not allocate per row) and
 * compared. */
static bool cd_same(const cd_set *set, const cd_slot *sl, dql_value v)
{
    const uint8_t *a = (const uint8_t *)set->data.p + sl->off;
    if (sl->len == set->tmp.len && memcmp(a, set->tmp.p, sl->len) == 0) return true;
    dql_value o;
    bool eq = dql_value_deserialize(&scratch, &a, a + sl->len, &o) && dql_value_eq(o, v);
    dql_arena_reset(&scratch);
    return eq;
}

static void cd_grow(cd_set *set)
{
    uint64_t nm = set->mask * 2 + 1;
    cd_slot *nt = dql_xcalloc(nm + 1, sizeof *nt);
    for (uint64_t i = 0; i <= set->mask; i++) {
        if (!set->tab[i].len) continue;
        uint64_t j = set->tab[i].h & nm;
        while (nt[j].len) j = (j + 1) & nm;
        nt[j] = set->tab[i];
    }
    free(set->tab);
    set->tab = nt;
    set->mask = nm;
}

static void cd_step(void *st, dql_value v)
{
    cd_st *s = st;
    if (dql_is_null(v)) return;
    if (!s->set) {
        s->set = dql_xcalloc(1, sizeof *s->set);
        s->set->mask = 7;
        s->set->tab = dql_xcalloc(s->set->mask + 1, sizeof *s->set->tab);
    }
    cd_set *set = s->set;
    set->tmp.len = 0;
    dql_value_serialize(&set->tmp, v);          /* never empty: a type octet at least */
    uint64_t h = dql_value_hash(v);
    uint64_t j = h & set->mask;
    for (; set->tab[j].len; j = (j + 1) & set->mask)
        if (set->tab[j].h == h && cd_same(set, &set->tab[j], v)) return;
    set->tab[j] = (cd_slot){ h, set->data.len, set->tmp.len };
    dql_buf_put(&set->data, set->tmp.p, set->tmp.len);
    if (++set->n * 4 > (set->mask + 1) * 3) cd_grow(set);
    cd_account(set);
}

/* Calls fn on each value of the set (deserialized into a). */
static void cd_each(cd_set *set, dql_arena *a, void (*fn)(void *, dql_value), void *ud)
{
    const uint8_t *p = (const uint8_t *)set->data.p, *end = p + set->data.len;
    while (p < end) {
        dql_value v;
        if (!dql_value_deserialize(a, &p, end, &v)) break;   /* our own bytes: cannot fail */
        fn(ud, v);
    }
}

static void cd_step_cb(void *st, dql_value v) { cd_step(st, v); }

static void cd_merge(void *st, const void *other)
{
    const cd_st *o = other;
    if (!o->set) return;
    dql_arena a;
    dql_arena_init(&a);
    cd_each(o->set, &a, cd_step_cb, st);
    dql_arena_free(&a);
}

static void cd_final(void *st, dql_arena *a, dql_value *out)
{
    cd_st *s = st;
    *out = dql_long(s->set ? (int64_t)s->set->n : 0);
    cd_release(s);
}

typedef struct { dql_bag *b; dql_arena *a; uint64_t i; } cd_bagfill;

static void cd_put_tuple(void *ud, dql_value v)
{
    cd_bagfill *f = ud;
    dql_tuple *t = dql_tuple_new(f->a, 1);
    t->v[0] = v;
    f->b->t[f->i++] = t;
}

static void cd_partial(void *st, dql_arena *a, dql_value *out)
{
    cd_st *s = st;
    cd_bagfill f = { dql_bag_new(a, s->set ? s->set->n : 0), a, 0 };
    if (s->set) cd_each(s->set, a, cd_put_tuple, &f);
    f.b->n = f.i;
    *out = (dql_value){0};
    out->type = DQL_T_BAG;
    out->u.b = f.b;
    cd_release(s);
}

static void cd_combine(void *st, dql_value v)
{
    if (v.type != DQL_T_BAG || !v.u.b) return;
    for (uint64_t i = 0; i < v.u.b->n; i++) {
        const dql_tuple *t = v.u.b->t[i];
        if (t && t->n) cd_step(st, t->v[0]);
    }
}

static const dql_agg_def agg_count_distinct = { sizeof(cd_st), cd_init, cd_step, cd_merge, cd_final,
                                                cd_partial, cd_combine, DQL_T_BAG, NULL };

static dql_status fn_count_distinct(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{ return dql_agg_over_bag(&agg_count_distinct, cx, argv[0], out); }

/* ------------------------------------------------------------------ TOP */

/* TOP(n, column, bag): the n tuples with the largest values in column
 * (0-based), largest first, as a bag (Pig); of equal values the earlier
 * tuple ranks first, so the answer is one whatever the order of work.
 *
 * One mechanism serves the function over a bag and the aggregate a hash
 * aggregation runs (the planner fuses FOREACH g GENERATE TOP(n, c, bag)
 * with constant n and c: configure() receives them). The state keeps the
 * best n tuples seen, each serialized (sort.h) with its arrival number and
 * the serialized value of its column, in a heap whose root is the worst;
 * a new tuple replaces the root when its value is larger. A sharded run's
 * partial is the kept tuples in arrival order: the merge steps them task by
 * task, so it sees them in the order one process did. */
typedef struct { uint64_t seq; uint8_t *ser, *key; uint32_t len, klen; } top_ent;
typedef struct {
    uint64_t seq, n, cap;
    top_ent *h;
    dql_buf tmp;
    int64_t data;       /* the entries' serialized bytes */
    int64_t bytes;      /* counted in dql_agg_heap_bytes */
} top_set;
typedef struct { top_set *set; int64_t k, col; } top_st;

static dql_value col_of(const dql_tuple *t, int64_t col)
{
    return t && col < (int64_t)t->n ? t->v[col] : dql_null();
}

/* Brings dql_agg_heap_bytes up to date with what the set holds now. */
static void top_account(top_set *t)
{
    int64_t b = (int64_t)(sizeof *t + t->cap * sizeof *t->h + t->tmp.cap) + t->data;
    dql_agg_heap_bytes += b - t->bytes;
    t->bytes = b;
}

/* The column value of a kept tuple, read back into the scratch arena. */
static dql_value top_key(const top_ent *e)
{
    const uint8_t *p = e->key;
    dql_value v;
    return dql_value_deserialize(&scratch, &p, e->key + e->klen, &v) ? v : dql_null();
}

/* Does a rank below b? (a smaller value, or an equal one that came later) */
static bool top_worse(const top_ent *a, const top_ent *b)
{
    int c = dql_value_cmp(top_key(a), top_key(b));
    dql_arena_reset(&scratch);
    return c < 0 || (c == 0 && a->seq > b->seq);
}

static void top_down(top_set *t, uint64_t i)
{
    for (;;) {
        uint64_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < t->n && top_worse(&t->h[l], &t->h[m])) m = l;
        if (r < t->n && top_worse(&t->h[r], &t->h[m])) m = r;
        if (m == i) return;
        top_ent x = t->h[i]; t->h[i] = t->h[m]; t->h[m] = x;
        i = m;
    }
}

static void top_up(top_set *t, uint64_t i)
{
    while (i > 0) {
        uint64_t p = (i - 1) / 2;
        if (!top_worse(&t->h[i], &t->h[p])) return;
        top_ent x = t->h[i]; t->h[i] = t->h[p]; t->h[p] = x;
        i = p;
    }
}

/* Value v serialized into *p (of *len bytes), replacing what it held. */
static void top_keep(top_set *t, uint8_t **p, uint32_t *len, dql_value v)
{
    t->tmp.len = 0;
    dql_value_serialize(&t->tmp, v);
    t->data += (int64_t)t->tmp.len - (int64_t)*len;
    *p = dql_xrealloc(*p, t->tmp.len);
    memcpy(*p, t->tmp.p, t->tmp.len);
    *len = (uint32_t)t->tmp.len;
}

/* Stores tuple v (and its column's value) into e, replacing what it held. */
static void top_store(top_set *t, top_ent *e, dql_value v, dql_value key, uint64_t seq)
{
    top_keep(t, &e->ser, &e->len, v);
    top_keep(t, &e->key, &e->klen, key);
    e->seq = seq;
}

static void top_release(top_st *s)
{
    top_set *t = s->set;
    if (!t) return;
    for (uint64_t i = 0; i < t->n; i++) { free(t->h[i].ser); free(t->h[i].key); }
    dql_agg_heap_bytes -= t->bytes;
    free(t->h);
    dql_buf_free(&t->tmp);
    free(t);
    s->set = NULL;
}

static void top_init(void *st) { top_st *s = st; s->set = NULL; s->k = 0; s->col = 0; }

static void top_configure(void *st, const dql_value *params, int n)
{
    top_st *s = st;
    int64_t k = 0, col = 0;
    if (n >= 2 && dql_fn_arg_int(params[0], &k) && dql_fn_arg_int(params[1], &col)) {
        s->k = k < 0 ? 0 : k;
        s->col = col < 0 ? 0 : col;
    }
}

static void top_step(void *st, dql_value v)
{
    top_st *s = st;
    if (s->k <= 0 || v.type != DQL_T_TUPLE) return;
    if (!s->set) s->set = dql_xcalloc(1, sizeof *s->set);
    top_set *t = s->set;
    uint64_t seq = t->seq++;
    dql_value key = col_of(v.u.t, s->col);
    if (t->n < (uint64_t)s->k) {
        if (t->n == t->cap) {
            t->cap = t->cap ? t->cap * 2 : 4;
            if (t->cap > (uint64_t)s->k) t->cap = (uint64_t)s->k;
            t->h = dql_xrealloc(t->h, t->cap * sizeof *t->h);
        }
        top_ent *e = &t->h[t->n++];
        memset(e, 0, sizeof *e);
        top_store(t, e, v, key, seq);
        top_up(t, t->n - 1);
    } else {
        int c = dql_value_cmp(key, top_key(&t->h[0]));
        dql_arena_reset(&scratch);
        if (c <= 0) return;          /* not larger than the worst kept (or equal and later) */
        top_store(t, &t->h[0], v, key, seq);
        top_down(t, 0);
    }
    top_account(t);
}

/* The kept tuples, deserialized into a, in arrival order (partial) or best
 * first (final). */
static int top_by_seq(const void *x, const void *y)
{
    const top_ent *a = x, *b = y;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int top_by_rank(const void *x, const void *y)
{
    const top_ent *a = x, *b = y;
    return top_worse(b, a) ? -1 : top_worse(a, b) ? 1 : 0;
}

static void top_out(top_st *s, dql_arena *a, dql_value *out, int (*order)(const void *, const void *))
{
    top_set *t = s->set;
    uint64_t n = t ? t->n : 0;
    dql_bag *b = dql_bag_new(a, n);
    if (n) qsort(t->h, n, sizeof *t->h, order);
    uint64_t m = 0;
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *p = t->h[i].ser;
        dql_value v;
        if (dql_value_deserialize(a, &p, t->h[i].ser + t->h[i].len, &v) && v.type == DQL_T_TUPLE)
            b->t[m++] = v.u.t;
    }
    b->n = m;
    *out = (dql_value){0};
    out->type = DQL_T_BAG;
    out->u.b = b;
    top_release(s);
}

static void top_final(void *st, dql_arena *a, dql_value *out) { top_out(st, a, out, top_by_rank); }
static void top_partial(void *st, dql_arena *a, dql_value *out) { top_out(st, a, out, top_by_seq); }

static void top_combine(void *st, dql_value v)
{
    if (v.type != DQL_T_BAG || !v.u.b) return;
    for (uint64_t i = 0; i < v.u.b->n; i++) {
        dql_value t = {0};
        t.type = DQL_T_TUPLE;
        t.u.t = v.u.b->t[i];
        top_step(st, t);
    }
}

static void top_merge(void *st, const void *other)
{
    top_st *o = (top_st *)other;
    dql_arena a;
    dql_arena_init(&a);
    dql_value bag;
    top_out(o, &a, &bag, top_by_seq);
    top_combine(st, bag);
    dql_arena_free(&a);
}

static const dql_agg_def agg_top = { sizeof(top_st), top_init, top_step, top_merge, top_final,
                                     top_partial, top_combine, DQL_T_BAG, top_configure };

static dql_status fn_top(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    int64_t n, col;
    *out = dql_null();
    if (!dql_fn_arg_int(argv[0], &n) || !dql_fn_arg_int(argv[1], &col) || dql_is_null(argv[2]))
        return DQL_OK;
    if (argv[2].type != DQL_T_BAG)
        return dql_fn_warn(cx, "TOP: not a bag", "the third argument is a %s", dql_type_name((dql_type)argv[2].type));
    if (col < 0)
        return dql_fn_warn(cx, "TOP: bad column", "column %lld is negative", (long long)col);
    top_st s;
    top_init(&s);
    top_configure(&s, argv, 2);
    const dql_bag *b = argv[2].u.b;
    for (uint64_t i = 0; i < b->n; i++) {
        dql_value t = {0};
        t.type = DQL_T_TUPLE;
        t.u.t = b->t[i];
        top_step(&s, t);
    }
    top_final(&s, cx->arena, out);
    return DQL_OK;
}

/* ---------------------------------------------------- BAGTOSTRING, ISEMPTY */

/* BAGTOSTRING(bag[, sep]): every field of every tuple rendered as text and
 * joined with sep (default "_"); null fields render empty. */
static dql_status fn_bagtostring(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    static dql_buf b;   /* reused between calls: no per-row malloc */
    const char *sep = "_";
    size_t sn = 1;
    *out = dql_null();
    if (dql_is_null(argv[0]) || (argc > 1 && dql_is_null(argv[1])))
        return DQL_OK;
    if (argv[0].type != DQL_T_BAG)
        return dql_fn_warn(cx, "BAGTOSTRING: not a bag", "the argument is a %s", dql_type_name((dql_type)argv[0].type));
    if (argc > 1) {
        if (!dql_type_is_stringlike((dql_type)argv[1].type))
            return dql_fn_warn(cx, "BAGTOSTRING: bad separator", "the separator is a %s",
                           dql_type_name((dql_type)argv[1].type));
        sep = argv[1].u.s;
        sn = argv[1].len;
    }
    b.len = 0;
    bool first = true;
    const dql_bag *bag = argv[0].u.b;
    for (uint64_t i = 0; i < bag->n; i++) {
        const dql_tuple *t = bag->t[i];
        for (uint32_t j = 0; t && j < t->n; j++) {
            if (!first) dql_buf_put(&b, sep, sn);
            first = false;
            if (!dql_is_null(t->v[j]))
                dql_value_format(&b, t->v[j]);
        }
    }
    *out = dql_chararray(dql_arena_memdup(cx->arena, b.p ? b.p : "", b.len), b.len);
    return DQL_OK;
}

/* ISEMPTY(bag or map): true when it has no elements; a null counts as empty. */
static dql_status fn_isempty(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    dql_value v = argv[0];
    switch (v.type) {
    case DQL_T_NULL: *out = dql_bool(true); return DQL_OK;
    case DQL_T_BAG: *out = dql_bool(v.u.b->n == 0); return DQL_OK;
    case DQL_T_MAP: *out = dql_bool(v.u.m->n == 0); return DQL_OK;
    default:
        *out = dql_null();
        return dql_fn_warn(cx, "ISEMPTY: not a bag or map", "the argument is a %s", dql_type_name((dql_type)v.type));
    }
}

/* ---------------------------------------------------------- type checks */

/* The type of the first field of a bag argument: DQL_T_ANY when unknown,
 * DQL_T__COUNT (with a message) when the argument is not a bag. */
static dql_type bag_field(const dql_field *a, const dql_schema **fsub, char *err, size_t errlen)
{
    *fsub = NULL;
    if (a->type == DQL_T_ANY || a->type == DQL_T_NULL)
        return DQL_T_ANY;
    if (a->type != DQL_T_BAG) {
        snprintf(err, errlen, "expects a bag, not %s", dql_type_name(a->type));
        return DQL_T__COUNT;
    }
    if (!a->sub || a->sub->n == 0)
        return DQL_T_ANY;
    *fsub = a->sub->f[0].sub;
    return a->sub->f[0].type;
}

static dql_type tc_count(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    const dql_schema *fs;
    return bag_field(&args[argc - 1], &fs, err, errlen) == DQL_T__COUNT ? DQL_T__COUNT : DQL_T_LONG;
}

static dql_type tc_sum(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    const dql_schema *fs;
    dql_type t = bag_field(&args[0], &fs, err, errlen);
    switch (t) {
    case DQL_T__COUNT: return t;
    case DQL_T_INT: case DQL_T_LONG: return DQL_T_LONG;
    case DQL_T_DOUBLE: case DQL_T_BYTEARRAY: return DQL_T_DOUBLE;
    case DQL_T_ANY: case DQL_T_NULL: return DQL_T_ANY;
    default:
        snprintf(err, errlen, "cannot sum values of type %s", dql_type_name(t));
        return DQL_T__COUNT;
    }
}

static dql_type tc_avg(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    dql_type t = tc_sum(argc, args, sub, err, errlen);
    if (t == DQL_T__COUNT) {
        const dql_schema *fs;
        dql_type ft = bag_field(&args[0], &fs, err, errlen);
        if (ft != DQL_T__COUNT)
            snprintf(err, errlen, "cannot average values of type %s", dql_type_name(ft));
        return t;
    }
    return DQL_T_DOUBLE;
}

static dql_type tc_minmax(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    const dql_schema *fs;
    dql_type t = bag_field(&args[0], &fs, err, errlen);
    if (t == DQL_T__COUNT) return t;
    if (t == DQL_T_BYTEARRAY) return DQL_T_DOUBLE;
    if (t == DQL_T_NULL) return DQL_T_ANY;
    if (fs) *sub = dql_schema_copy(fs);
    return t;
}

static dql_type tc_top(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    for (int i = 0; i < 2; i++)
        if (!dql_type_is_numeric(args[i].type) && args[i].type != DQL_T_ANY &&
            args[i].type != DQL_T_BYTEARRAY && args[i].type != DQL_T_NULL) {
            snprintf(err, errlen, "argument %d must be an integer, not %s", i + 1, dql_type_name(args[i].type));
            return DQL_T__COUNT;
        }
    const dql_schema *fs;
    if (bag_field(&args[2], &fs, err, errlen) == DQL_T__COUNT) return DQL_T__COUNT;
    if (args[2].type == DQL_T_BAG && args[2].sub) *sub = dql_schema_copy(args[2].sub);
    return DQL_T_BAG;
}

static dql_type tc_bagtostring(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    const dql_schema *fs;
    return bag_field(&args[0], &fs, err, errlen) == DQL_T__COUNT ? DQL_T__COUNT : DQL_T_CHARARRAY;
}

static dql_type tc_isempty(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    dql_type t = args[0].type;
    if (t != DQL_T_BAG && t != DQL_T_MAP && t != DQL_T_ANY && t != DQL_T_NULL) {
        snprintf(err, errlen, "expects a bag or a map, not %s", dql_type_name(t));
        return DQL_T__COUNT;
    }
    return DQL_T_BOOL;
}

/* ---------------------------------------------------------------- table */

#define AGG(name, ret, tc, fn, agg, syn, sum) \
    { name, 1, 1, ret, tc, fn, agg, NULL, NULL, "aggregate", syn, sum }
#define BAGFN(name, lo, hi, ret, tc, fn, syn, sum) \
    { name, lo, hi, ret, tc, fn, NULL, NULL, NULL, "aggregate", syn, sum }

const dql_func_def dql_fn_agg[] = {
    AGG("COUNT", DQL_T_LONG, tc_count, fn_count, &agg_count, "COUNT(bag)",
        "number of tuples whose first field is not null"),
    AGG("COUNT_STAR", DQL_T_LONG, tc_count, fn_count_star, &agg_count_star, "COUNT_STAR(bag)",
        "number of tuples, nulls included"),
    AGG("SUM", DQL_T_DOUBLE, tc_sum, fn_sum, &agg_sum, "SUM(bag)",
        "sum of the non-null values (long for integers, double otherwise); null if none"),
    AGG("AVG", DQL_T_DOUBLE, tc_avg, fn_avg, &agg_avg, "AVG(bag)",
        "average of the non-null values, as a double; null if none"),
    AGG("MIN", DQL_T_ANY, tc_minmax, fn_min, &agg_min, "MIN(bag)",
        "smallest non-null value (any comparable type); null if none"),
    AGG("MAX", DQL_T_ANY, tc_minmax, fn_max, &agg_max, "MAX(bag)",
        "largest non-null value (any comparable type); null if none"),
    AGG("COUNT_DISTINCT", DQL_T_LONG, tc_count, fn_count_distinct, &agg_count_distinct, "COUNT_DISTINCT(bag)",
        "number of distinct non-null first fields"),
    { "TOP", 3, 3, DQL_T_BAG, tc_top, fn_top, &agg_top, NULL, NULL, "aggregate", "TOP(n, column, bag)",
      "the n tuples with the largest values in column (0-based), largest first (ties: the earlier first)" },
    BAGFN("BAGTOSTRING", 1, 2, DQL_T_CHARARRAY, tc_bagtostring, fn_bagtostring, "BAGTOSTRING(bag[, sep])",
          "all fields of all tuples joined with sep (default \"_\")"),
    BAGFN("ISEMPTY", 1, 1, DQL_T_BOOL, tc_isempty, fn_isempty, "ISEMPTY(bag_or_map)",
          "true if the bag or map has no elements (or is null)"),
    {0}
};
