/* op_group.c — the grouping operators.
 *
 * GROUP, COGROUP and the default JOIN share one mechanism: every input row
 * is tagged with its input number and its key values and goes through the
 * external sorter (which spills past the memory budget); the sorted stream
 * is cut into key groups, each with one bag per input. GROUP emits
 * (group, bag...), JOIN emits the cross product of the bags (with nulls for
 * the missing side of an outer join).
 *
 * HASHAGG runs GROUP + algebraic aggregates (COUNT, SUM, ...) and DISTINCT
 * in a hash table. Past the memory budget, rows whose key is already in the
 * table still aggregate in memory, and rows with new keys go to the sorter;
 * at the end both sorted streams are merged. Output is always in key order. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include "engine.h"

/* ------------------------------------------------------------ sort-merge groups */

typedef struct group_st {
    int nk;            /* key columns */
    int win;           /* widest input */
    int *width;        /* per input */
    dql_sorter *sorter;
    bool sorted;
    bool have_look, done;
    dql_arena larena;  /* the look-ahead row */
    dql_value *look;   /* nk + 1 + win values */
    /* current group (JOIN) */
    dql_bag_builder *bags;
    bool pending;
    uint64_t *idx, *cnt;
    bool nullkey;
    int phase;         /* JOIN outer: 0 product, 1.. unmatched rows of input phase-1 */
    uint64_t upos;
} group_st;

static int group_cmp(const dql_value *a, const dql_value *b, void *ud)
{
    group_st *s = ud;
    for (int k = 0; k <= s->nk; k++) {   /* keys, then the input tag */
        int c = dql_value_cmp(a[k], b[k]);
        if (c) return c;
    }
    return 0;
}

static dql_status group_open(dql_op *op)
{
    dql_plan *p = op->plan;
    group_st *s = dql_xcalloc(1, sizeof *s);
    op->st = s;
    s->nk = p->group_all ? 0 : p->nkeys;
    s->width = dql_xcalloc((size_t)op->nin, sizeof(int));
    for (int i = 0; i < op->nin; i++) {
        s->width[i] = p->in[i]->schema->n;
        if (s->width[i] > s->win) s->win = s->width[i];
    }
    s->sorter = dql_op_sorter(op, s->nk + 1 + s->win, group_cmp, s);
    dql_arena_init(&s->larena);
    s->look = dql_xcalloc((size_t)(s->nk + 1 + s->win), sizeof(dql_value));
    s->bags = dql_xcalloc((size_t)op->nin, sizeof(dql_bag_builder));
    s->idx = dql_xcalloc((size_t)op->nin, sizeof(uint64_t));
    s->cnt = dql_xcalloc((size_t)op->nin, sizeof(uint64_t));
    return s->sorter ? DQL_OK : DQL_ERR_RUNTIME;
}

static void group_close(dql_op *op)
{
    group_st *s = op->st;
    if (!s) return;
    if (s->sorter) { op->ex->spill_runs += (uint64_t)dql_sorter_runs(s->sorter); dql_sorter_free(s->sorter); }
    dql_arena_free(&s->larena);
    for (int i = 0; i < op->nin; i++) dql_bag_builder_free(&s->bags[i]);
    free(s->bags); free(s->look); free(s->width); free(s->idx); free(s->cnt);
    free(s);
}

/* Feeds every input into the sorter. */
static dql_status group_consume(dql_op *op, group_st *s)
{
    dql_plan *p = op->plan;
    int w = s->nk + 1 + s->win;
    dql_value *row = dql_xcalloc((size_t)w, sizeof(dql_value));
    dql_arena tmp;
    dql_arena_init(&tmp);
    dql_status st = DQL_OK;
    for (int i = 0; i < op->nin && st == DQL_OK; i++) {
        dql_batch *b;
        while ((st = dql_op_pull(op, i, &b)) == DQL_OK) {
            dql_evctx cx = { &tmp, op->ex, DQL_OK };
            for (int r = 0; r < b->n; r++) {
                const dql_value *in = dql_batch_row(b, r);
                if (s->nk) dql_eval_keys(p->keys[i], s->nk, in, &cx, row);
                if (cx.st) { st = cx.st; break; }
                row[s->nk] = dql_int(i);
                memcpy(row + s->nk + 1, in, sizeof(dql_value) * (size_t)s->width[i]);
                for (int c = s->width[i]; c < s->win; c++) row[s->nk + 1 + c] = dql_null();
                st = dql_sorter_add(s->sorter, row);
                if (st) break;
            }
            dql_arena_reset(&tmp);
            if (st) break;
        }
        if (st == DQL_EOF) st = DQL_OK;
    }
    free(row);
    dql_arena_free(&tmp);
    if (st == DQL_OK) st = dql_sorter_finish(s->sorter);
    s->sorted = true;
    return st;
}

static dql_tuple *copy_payload(dql_arena *a, const dql_value *payload, int w)
{
    dql_tuple *t = dql_tuple_new(a, (uint32_t)w);
    for (int c = 0; c < w; c++) t->v[c] = dql_value_copy(a, payload[c]);
    return t;
}

/* Reads the next key group into s->bags (tuples in arena a); the group's key
 * values are left in s->look's first nk slots copied into keyout. Returns
 * DQL_EOF when there are no more groups. */
static dql_status next_group(dql_op *op, group_st *s, dql_arena *a, dql_value *keyout)
{
    const dql_value *row;
    dql_status st;
    if (!s->have_look) {
        if (s->done) return DQL_EOF;
        st = dql_sorter_next(s->sorter, &row);
        if (st == DQL_EOF) { s->done = true; return DQL_EOF; }
        if (st) return st;
        dql_arena_reset(&s->larena);
        for (int c = 0; c < s->nk + 1 + s->win; c++) s->look[c] = dql_value_copy(&s->larena, row[c]);
        s->have_look = true;
    }
    for (int i = 0; i < op->nin; i++) s->bags[i].n = 0;
    s->nullkey = false;
    for (int k = 0; k < s->nk; k++) {
        keyout[k] = dql_value_copy(a, s->look[k]);
        if (keyout[k].type == DQL_T_NULL) s->nullkey = true;
    }
    int tag = (int)s->look[s->nk].u.i;
    dql_bag_builder_add(&s->bags[tag], copy_payload(a, s->look + s->nk + 1, s->width[tag]));
    for (;;) {
        st = dql_sorter_next(s->sorter, &row);
        if (st == DQL_EOF) { s->done = true; s->have_look = false; break; }
        if (st) return st;
        bool same = true;
        for (int k = 0; k < s->nk && same; k++) same = dql_value_cmp(row[k], keyout[k]) == 0;
        /* null keys of different inputs are different groups (as in Pig) */
        if (same && s->nullkey && (int)row[s->nk].u.i != tag) same = false;
        if (!same) {
            dql_arena_reset(&s->larena);
            for (int c = 0; c < s->nk + 1 + s->win; c++) s->look[c] = dql_value_copy(&s->larena, row[c]);
            break;
        }
        tag = (int)row[s->nk].u.i;
        dql_bag_builder_add(&s->bags[tag], copy_payload(a, row + s->nk + 1, s->width[tag]));
    }
    return DQL_OK;
}

static dql_status group_next(dql_op *op, dql_batch **out)
{
    group_st *s = op->st;
    dql_plan *p = op->plan;
    dql_status st;
    if (!s->sorted && (st = group_consume(op, s)) != DQL_OK) return st;
    dql_arena_reset(&op->arena);
    op->out.n = 0;
    dql_value keys[64];
    while (op->out.n < op->out.cap) {
        st = next_group(op, s, &op->arena, keys);
        if (st == DQL_EOF) break;
        if (st) return st;
        bool skip = false;
        for (int i = 0; i < op->nin; i++)
            if (p->inner && p->inner[i] && s->bags[i].n == 0) skip = true;
        if (skip) continue;
        dql_value *row = dql_batch_row(&op->out, op->out.n++);
        if (p->group_all) row[0] = dql_chararray("all", 3);
        else if (s->nk == 1) row[0] = keys[0];
        else {
            dql_tuple *t = dql_tuple_new(&op->arena, (uint32_t)s->nk);
            memcpy(t->v, keys, sizeof(dql_value) * (size_t)s->nk);
            row[0].type = DQL_T_TUPLE; row[0].u.t = t; row[0].len = 0; row[0].flags = 0; row[0].aux = 0;
        }
        for (int i = 0; i < op->nin; i++) {
            dql_value b = {0};
            b.type = DQL_T_BAG;
            b.u.b = dql_bag_builder_finish(&s->bags[i], &op->arena);
            row[1 + i] = b;
        }
    }
    if (op->out.n == 0) return DQL_EOF;
    *out = &op->out;
    return DQL_OK;
}

/* JOIN: for each key group, the product of the bags; outer sides emit their
 * unmatched rows with nulls. Null keys never match. */
static void join_emit(dql_op *op, group_st *s, dql_value *orow, int only /* -1: product, else input with nulls elsewhere */, uint64_t r)
{
    int col = 0;
    for (int i = 0; i < op->nin; i++) {
        const dql_tuple *t = NULL;
        if (only < 0) t = s->bags[i].t[s->idx[i]];
        else if (i == only) t = s->bags[i].t[r];
        for (int c = 0; c < s->width[i]; c++) orow[col + c] = t ? t->v[c] : dql_null();
        col += s->width[i];
    }
}

static dql_status join_next(dql_op *op, dql_batch **out)
{
    group_st *s = op->st;
    dql_plan *p = op->plan;
    dql_status st;
    if (!s->sorted && (st = group_consume(op, s)) != DQL_OK) return st;
    if (!s->pending) dql_arena_reset(&op->arena);
    op->out.n = 0;
    dql_value keys[64];
    bool left = p->join_type == 1 || p->join_type == 3, right = p->join_type == 2 || p->join_type == 3;
    while (op->out.n < op->out.cap) {
        if (!s->pending) {
            st = next_group(op, s, &op->arena, keys);
            if (st == DQL_EOF) break;
            if (st) return st;
            /* bags[] hold tuples in op->arena; keep them as arrays */
            bool all = !s->nullkey;
            for (int i = 0; i < op->nin; i++) { s->idx[i] = 0; s->cnt[i] = s->bags[i].n; if (!s->cnt[i]) all = false; }
            s->phase = all ? 0 : 1;
            s->upos = 0;
            s->pending = true;
        }
        if (s->phase == 0) {
            join_emit(op, s, dql_batch_row(&op->out, op->out.n++), -1, 0);
            int i;
            for (i = op->nin - 1; i >= 0; i--) {
                if (++s->idx[i] < s->cnt[i]) break;
                s->idx[i] = 0;
            }
            if (i < 0) s->pending = false;
            continue;
        }
        /* unmatched rows: phase 1 = input 0 (left), phase 2 = input 1 (right) */
        int inp = s->phase - 1;
        bool want = (inp == 0 && left) || (inp == 1 && right);
        if (want && s->upos < s->cnt[inp]) {
            join_emit(op, s, dql_batch_row(&op->out, op->out.n++), inp, s->upos++);
            continue;
        }
        s->upos = 0;
        if (++s->phase > 2 || op->nin < 2) s->pending = false;
    }
    if (op->out.n == 0) return DQL_EOF;
    *out = &op->out;
    return DQL_OK;
}

static const dql_opvt group_vt = { "GROUP", group_open, group_next, group_close };
static const dql_opvt join_vt = { "JOIN", group_open, join_next, group_close };

void dql_op_init_group(dql_op *op)
{
    op->vt = op->plan->kind == P_JOIN ? &join_vt : &group_vt;
}

/* ------------------------------------------------------------ HASHAGG */

typedef struct hentry {
    uint64_t hash;
    dql_value *keys;
    /* aggregate states follow, each at an 8-byte aligned offset */
} hentry;

typedef struct hashagg_st {
    int nk, na;
    size_t *aoff;        /* offset of each state from the entry start */
    size_t esize;
    hentry **tab;        /* open addressing, power of two */
    uint64_t mask, count;
    dql_arena harena;
    int64_t heap0;       /* dql_agg_heap_bytes when opened */
    bool overflow;
    dql_sorter *sorter;  /* rows with new keys once over budget: keys + agg args */
    bool consumed;
    /* output */
    hentry **sorted;
    uint64_t spos;
    bool have_sp;        /* a look-ahead row from the sorter */
    bool have_sp_group;  /* spkeys/spstate hold an aggregated group not yet emitted */
    dql_arena skarena;   /* spkeys storage */
    dql_value *sp_row;   /* its first row (copied) */
    dql_arena sparena;
    bool sp_done;
    uint8_t *spstate;    /* states of the group being read from the sorter */
    dql_value *spkeys;
} hashagg_st;

static int hkey_cmp(const dql_value *a, const dql_value *b, void *ud)
{
    hashagg_st *s = ud;
    for (int k = 0; k < s->nk; k++) {
        int c = dql_value_cmp(a[k], b[k]);
        if (c) return c;
    }
    return 0;
}

static int hentry_cmp(const void *x, const void *y, void *ud)
{
    const hentry *a = *(hentry *const *)x, *b = *(hentry *const *)y;
    return hkey_cmp(a->keys, b->keys, ud);
}

/* A fresh state for aggregate a (with its constant parameters, if any). */
static inline void agg_init(const dql_plan *p, int a, uint8_t *st)
{
    const dql_agg_def *ad = p->aggs[a].def->agg;
    ad->init(st);
    if (ad->configure) ad->configure(st, p->aggs[a].params, p->aggs[a].nparams);
}

static dql_status hashagg_open(dql_op *op)
{
    dql_plan *p = op->plan;
    hashagg_st *s = dql_xcalloc(1, sizeof *s);
    op->st = s;
    s->nk = p->nkeys;
    s->na = p->naggs;
    s->aoff = dql_xcalloc((size_t)s->na + 1, sizeof(size_t));
    size_t off = sizeof(hentry);
    for (int a = 0; a < s->na; a++) {
        s->aoff[a] = off;
        off += (p->aggs[a].def->agg->state_size + 7) & ~(size_t)7;
    }
    s->esize = off;
    s->mask = 1023;
    s->tab = dql_xcalloc(s->mask + 1, sizeof(hentry *));
    dql_arena_init(&s->harena);
    dql_arena_init(&s->sparena);
    dql_arena_init(&s->skarena);
    s->sp_row = dql_xcalloc((size_t)(s->nk + s->na + 1), sizeof(dql_value));
    s->spkeys = dql_xcalloc((size_t)s->nk + 1, sizeof(dql_value));
    s->spstate = dql_xcalloc(1, s->esize);
    s->heap0 = dql_agg_heap_bytes;
    return DQL_OK;
}

/* Finalises the aggregate states at base and drops the results: states
 * not emitted (error paths, an early close) may hold memory. */
static void states_discard(dql_op *op, hashagg_st *s, uint8_t *base, dql_arena *scratch)
{
    for (int a = 0; a < s->na; a++) {
        dql_value v;
        op->plan->aggs[a].def->agg->final(base + s->aoff[a], scratch, &v);
    }
    dql_arena_reset(scratch);
}

static void hashagg_close(dql_op *op)
{
    hashagg_st *s = op->st;
    if (!s) return;
    dql_arena scratch;
    dql_arena_init(&scratch);
    if (s->tab && !s->sorted) {
        for (uint64_t i = 0; i <= s->mask; i++)
            if (s->tab[i]) states_discard(op, s, (uint8_t *)s->tab[i], &scratch);
    } else if (s->sorted) {
        for (uint64_t i = s->spos; i < s->count; i++) states_discard(op, s, (uint8_t *)s->sorted[i], &scratch);
    }
    if (s->have_sp_group) states_discard(op, s, s->spstate, &scratch);   /* a spilled group read but not emitted */
    dql_arena_free(&scratch);
    if (s->sorter) { op->ex->spill_runs += (uint64_t)dql_sorter_runs(s->sorter); dql_sorter_free(s->sorter); }
    dql_arena_free(&s->harena);
    dql_arena_free(&s->sparena);
    dql_arena_free(&s->skarena);
    free(s->tab); free(s->sorted); free(s->aoff); free(s->sp_row); free(s->spkeys); free(s->spstate);
    free(s);
}

static void hash_grow(hashagg_st *s)
{
    uint64_t nm = s->mask * 2 + 1;
    hentry **nt = dql_xcalloc(nm + 1, sizeof(hentry *));
    for (uint64_t i = 0; i <= s->mask; i++) {
        hentry *e = s->tab[i];
        if (!e) continue;
        uint64_t j = e->hash & nm;
        while (nt[j]) j = (j + 1) & nm;
        nt[j] = e;
    }
    free(s->tab);
    s->tab = nt;
    s->mask = nm;
}

static dql_status hashagg_consume(dql_op *op, hashagg_st *s)
{
    dql_plan *p = op->plan;
    dql_value kv[64], av[64];
    dql_value *srow = dql_xcalloc((size_t)(s->nk + s->na + 1), sizeof(dql_value));
    dql_arena tmp;
    dql_arena_init(&tmp);
    dql_status st;
    dql_batch *b;
    const dql_agg_def *ad[64];
    for (int a = 0; a < s->na; a++) ad[a] = p->aggs[a].def->agg;
    while ((st = dql_op_pull(op, 0, &b)) == DQL_OK) {
        dql_evctx cx = { &tmp, op->ex, DQL_OK };
        for (int r = 0; r < b->n; r++) {
            const dql_value *row = dql_batch_row(b, r);
            dql_eval_keys(p->keys[0], s->nk, row, &cx, kv);
            if (cx.st) { st = cx.st; goto out; }
            uint64_t h = 0x9E3779B97F4A7C15ull;
            for (int k = 0; k < s->nk; k++) h = (h ^ dql_value_hash(kv[k])) * 0xff51afd7ed558ccdull;
            h ^= h >> 29;
            uint64_t j = h & s->mask;
            hentry *e;
            while ((e = s->tab[j]) != NULL) {
                if (e->hash == h) {
                    int k = 0;
                    while (k < s->nk && dql_value_cmp(e->keys[k], kv[k]) == 0) k++;
                    if (k == s->nk) break;
                }
                j = (j + 1) & s->mask;
            }
            for (int a = 0; a < s->na; a++) av[a] = dql_expr_eval(p->aggs[a].arg, row, &cx);
            if (cx.st) { st = cx.st; goto out; }
            if (!e) {
                int64_t heap = dql_agg_heap_bytes - s->heap0;     /* COUNT_DISTINCT's sets, TOP's tuples */
                if (!s->overflow && s->harena.total + (s->mask + 1) * sizeof(void *) + (uint64_t)(heap > 0 ? heap : 0) >
                                        op->ex->mem_budget && s->count > 0) {
                    s->overflow = true;
                    s->sorter = dql_op_sorter(op, s->nk + s->na, hkey_cmp, s);
                    if (!s->sorter) { st = DQL_ERR_RUNTIME; goto out; }
                }
                if (s->overflow) {
                    memcpy(srow, kv, sizeof(dql_value) * (size_t)s->nk);
                    memcpy(srow + s->nk, av, sizeof(dql_value) * (size_t)s->na);
                    if ((st = dql_sorter_add(s->sorter, srow)) != DQL_OK) goto out;
                    continue;
                }
                e = dql_arena_alloc(&s->harena, s->esize);
                e->hash = h;
                e->keys = dql_arena_alloc(&s->harena, sizeof(dql_value) * (size_t)(s->nk ? s->nk : 1));
                for (int k = 0; k < s->nk; k++) e->keys[k] = dql_value_copy(&s->harena, kv[k]);
                for (int a = 0; a < s->na; a++) agg_init(p, a, (uint8_t *)e + s->aoff[a]);
                s->tab[j] = e;
                if (++s->count * 4 > (s->mask + 1) * 3) hash_grow(s);
            }
            if (p->agg_mode == 2)
                for (int a = 0; a < s->na; a++) ad[a]->combine((uint8_t *)e + s->aoff[a], av[a]);
            else
                for (int a = 0; a < s->na; a++) ad[a]->step((uint8_t *)e + s->aoff[a], av[a]);
        }
        dql_arena_reset(&tmp);
    }
    if (st == DQL_EOF) st = DQL_OK;
out:
    free(srow);
    dql_arena_free(&tmp);
    if (st != DQL_OK) return st;
    /* sort the in-memory groups by key */
    s->sorted = dql_xmalloc(sizeof(hentry *) * (s->count + 1));
    uint64_t n = 0;
    for (uint64_t i = 0; i <= s->mask; i++) if (s->tab[i]) s->sorted[n++] = s->tab[i];
    free(s->tab);
    s->tab = NULL;
    qsort_r(s->sorted, n, sizeof(hentry *), hentry_cmp, s);
    s->spos = 0;
    s->consumed = true;
    if (s->sorter) {
        if ((st = dql_sorter_finish(s->sorter)) != DQL_OK) return st;
    } else s->sp_done = true;
    return DQL_OK;
}

/* One input value into an aggregate state: a row's argument, or in the
 * merge of a sharded run (agg_mode 2) a task's partial value. */
static inline void agg_fold(const dql_plan *p, int a, uint8_t *st, dql_value v)
{
    if (p->agg_mode == 2) p->aggs[a].def->agg->combine(st, v);
    else p->aggs[a].def->agg->step(st, v);
}

/* Reads the next group from the overflow sorter: aggregates into spstate. */
static dql_status spill_group(dql_op *op, hashagg_st *s)
{
    dql_plan *p = op->plan;
    const dql_value *row;
    dql_status st;
    if (!s->have_sp) {
        st = dql_sorter_next(s->sorter, &row);
        if (st == DQL_EOF) { s->sp_done = true; return DQL_EOF; }
        if (st) return st;
        dql_arena_reset(&s->sparena);
        for (int c = 0; c < s->nk + s->na; c++) s->sp_row[c] = dql_value_copy(&s->sparena, row[c]);
    }
    dql_arena_reset(&s->skarena);
    for (int k = 0; k < s->nk; k++) s->spkeys[k] = dql_value_copy(&s->skarena, s->sp_row[k]);
    for (int a = 0; a < s->na; a++) {
        agg_init(p, a, s->spstate + s->aoff[a]);
        agg_fold(p, a, s->spstate + s->aoff[a], s->sp_row[s->nk + a]);
    }
    s->have_sp = false;
    for (;;) {
        st = dql_sorter_next(s->sorter, &row);
        if (st == DQL_EOF) { s->sp_done = true; break; }
        if (st) return st;
        if (hkey_cmp(row, s->spkeys, s) != 0) {
            dql_arena_reset(&s->sparena);
            for (int c = 0; c < s->nk + s->na; c++) s->sp_row[c] = dql_value_copy(&s->sparena, row[c]);
            s->have_sp = true;
            break;
        }
        for (int a = 0; a < s->na; a++) agg_fold(p, a, s->spstate + s->aoff[a], row[s->nk + a]);
    }
    return DQL_OK;
}

static void hashagg_emit(dql_op *op, hashagg_st *s, const dql_value *keys, uint8_t *base)
{
    dql_plan *p = op->plan;
    dql_value *row = dql_batch_row(&op->out, op->out.n++);
    int col = 0;
    if (p->distinct || p->agg_mode == 1) {
        for (int k = 0; k < s->nk; k++) row[col++] = dql_value_copy(&op->arena, keys[k]);
        if (p->agg_mode == 1) {
            /* a task of a sharded run: partial values for the merge */
            for (int a = 0; a < s->na; a++) p->aggs[a].def->agg->partial(base + s->aoff[a], &op->arena, &row[col++]);
            return;
        }
    } else if (p->group_all) {
        row[col++] = dql_chararray("all", 3);
    } else if (!p->key_tuple) {
        row[col++] = dql_value_copy(&op->arena, keys[0]);
    } else {
        dql_tuple *t = dql_tuple_new(&op->arena, (uint32_t)s->nk);
        for (int k = 0; k < s->nk; k++) t->v[k] = dql_value_copy(&op->arena, keys[k]);
        dql_value v = {0}; v.type = DQL_T_TUPLE; v.u.t = t;
        row[col++] = v;
    }
    for (int a = 0; a < s->na; a++) p->aggs[a].def->agg->final(base + s->aoff[a], &op->arena, &row[col++]);
}

static dql_status hashagg_next(dql_op *op, dql_batch **out)
{
    hashagg_st *s = op->st;
    dql_status st;
    if (!s->consumed && (st = hashagg_consume(op, s)) != DQL_OK) return st;
    dql_arena_reset(&op->arena);
    op->out.n = 0;
    /* the spill group read ahead (if any) lives in spstate/spkeys */
    while (op->out.n < op->out.cap) {
        if (!s->sp_done && !s->have_sp_group) {
            st = spill_group(op, s);
            if (st == DQL_OK) { s->have_sp_group = true; }
            else if (st != DQL_EOF) return st;
        }
        bool mem = s->spos < s->count;
        if (!mem && !s->have_sp_group) break;
        if (mem && (!s->have_sp_group || hkey_cmp(s->sorted[s->spos]->keys, s->spkeys, s) <= 0)) {
            hentry *e = s->sorted[s->spos++];
            hashagg_emit(op, s, e->keys, (uint8_t *)e);
        } else {
            hashagg_emit(op, s, s->spkeys, s->spstate);
            s->have_sp_group = false;
        }
    }
    if (op->out.n == 0) return DQL_EOF;
    *out = &op->out;
    return DQL_OK;
}

static const dql_opvt hashagg_vt = { "HASHAGG", hashagg_open, hashagg_next, hashagg_close };
static const dql_opvt distinct_vt = { "DISTINCT", hashagg_open, hashagg_next, hashagg_close };

void dql_op_init_hashagg(dql_op *op)
{
    op->vt = op->plan->distinct ? &distinct_vt : &hashagg_vt;
}
