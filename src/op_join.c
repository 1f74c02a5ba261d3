/* op_join.c — CROSS and the replicated JOIN: every input but the first is
 * held in memory (the replicated join hashes it by key), and the first input
 * streams through in its own order. */
#include <stdlib.h>
#include <string.h>
#include "engine.h"

typedef struct side {
    dql_tuple **rows;
    uint64_t n, cap;
    /* replicated join: chained hash by key */
    uint64_t *head, *next, mask;
    uint64_t *hash;
} side;

typedef struct cross_st {
    side *sides;          /* inputs 1..nin-1 */
    dql_arena mem;
    dql_batch *in;
    int pos;
    bool pending;
    uint64_t *idx;        /* odometer (cross) / chain positions (join) */
    uint64_t **match;     /* join: matching rows per side for the current row */
    uint64_t *nmatch, *capmatch;
    bool loaded;
} cross_st;

static uint64_t key_hash(const dql_value *k, int nk)
{
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < nk; i++) h = (h ^ dql_value_hash(k[i])) * 0xff51afd7ed558ccdull;
    return h ^ (h >> 29);
}

static dql_status cross_open(dql_op *op)
{
    cross_st *s = dql_xcalloc(1, sizeof *s);
    op->st = s;
    s->sides = dql_xcalloc((size_t)op->nin, sizeof(side));
    s->idx = dql_xcalloc((size_t)op->nin, sizeof(uint64_t));
    s->match = dql_xcalloc((size_t)op->nin, sizeof(uint64_t *));
    s->nmatch = dql_xcalloc((size_t)op->nin, sizeof(uint64_t));
    s->capmatch = dql_xcalloc((size_t)op->nin, sizeof(uint64_t));
    dql_arena_init(&s->mem);
    return DQL_OK;
}

static void cross_close(dql_op *op)
{
    cross_st *s = op->st;
    if (!s) return;
    for (int i = 0; i < op->nin; i++) {
        free(s->sides[i].rows); free(s->sides[i].head); free(s->sides[i].next); free(s->sides[i].hash);
        free(s->match[i]);
    }
    free(s->sides); free(s->idx); free(s->match); free(s->nmatch); free(s->capmatch);
    dql_arena_free(&s->mem);
    free(s);
}

/* Loads inputs 1..nin-1 into memory (with key hashes for the join). */
static dql_status load_sides(dql_op *op, cross_st *s)
{
    dql_plan *p = op->plan;
    bool join = p->kind == P_JOIN;
    for (int i = 1; i < op->nin; i++) {
        side *sd = &s->sides[i];
        int w = p->in[i]->schema->n;
        dql_batch *b;
        dql_status st;
        while ((st = dql_op_pull(op, i, &b)) == DQL_OK) {
            for (int r = 0; r < b->n; r++) {
                const dql_value *row = dql_batch_row(b, r);
                dql_tuple *t = dql_tuple_new(&s->mem, (uint32_t)(w + (join ? p->nkeys : 0)));
                for (int c = 0; c < w; c++) t->v[c] = dql_value_copy(&s->mem, row[c]);
                if (join) {
                    dql_evctx cx = { &s->mem, op->ex, DQL_OK };
                    for (int k = 0; k < p->nkeys; k++) t->v[w + k] = dql_value_copy(&s->mem, dql_expr_eval(p->keys[i][k], row, &cx));
                    if (cx.st) return cx.st;
                }
                if (sd->n == sd->cap) {
                    sd->cap = sd->cap ? sd->cap * 2 : 1024;
                    sd->rows = dql_xrealloc(sd->rows, sizeof(dql_tuple *) * sd->cap);
                }
                sd->rows[sd->n++] = t;
            }
            if (s->mem.total > op->ex->mem_budget * 4)
                return dql_exec_error(op->ex, "%s: input %d does not fit in memory (%llu MB); use the default JOIN, which spills",
                                      p->kind == P_JOIN ? "replicated JOIN" : "CROSS", i + 1, (unsigned long long)(s->mem.total >> 20));
        }
        if (st != DQL_EOF) return st;
        if (join) {
            uint64_t m = 1;
            while (m < sd->n * 2) m <<= 1;
            sd->mask = m - 1;
            sd->head = dql_xmalloc(sizeof(uint64_t) * m);
            memset(sd->head, 0xff, sizeof(uint64_t) * m);
            sd->next = dql_xmalloc(sizeof(uint64_t) * (sd->n + 1));
            sd->hash = dql_xmalloc(sizeof(uint64_t) * (sd->n + 1));
            for (uint64_t r = sd->n; r-- > 0;) {
                const dql_value *k = sd->rows[r]->v + w;
                bool nullkey = false;
                for (int q = 0; q < p->nkeys; q++) if (k[q].type == DQL_T_NULL) nullkey = true;
                if (nullkey) continue;  /* null keys never match */
                uint64_t h = key_hash(k, p->nkeys);
                sd->hash[r] = h;
                sd->next[r] = sd->head[h & sd->mask];
                sd->head[h & sd->mask] = r;
            }
        }
    }
    s->loaded = true;
    return DQL_OK;
}

/* Finds the matches of the current left row in every side. false when some
 * side has none (inner join) */
static bool find_matches(dql_op *op, cross_st *s, const dql_value *row, dql_evctx *cx)
{
    dql_plan *p = op->plan;
    dql_value k[64];
    dql_eval_keys(p->keys[0], p->nkeys, row, cx, k);
    bool nullkey = false;
    for (int q = 0; q < p->nkeys; q++) if (k[q].type == DQL_T_NULL) nullkey = true;
    uint64_t h = key_hash(k, p->nkeys);
    bool all = true;
    for (int i = 1; i < op->nin; i++) {
        side *sd = &s->sides[i];
        int w = p->in[i]->schema->n;
        s->nmatch[i] = 0;
        if (!nullkey && sd->n) {
            for (uint64_t r = sd->head[h & sd->mask]; r != UINT64_MAX; r = sd->next[r]) {
                if (sd->hash[r] != h) continue;
                int q = 0;
                while (q < p->nkeys && dql_value_cmp_coerce(cx->arena, sd->rows[r]->v[w + q], k[q]) == 0) q++;
                if (q < p->nkeys) continue;
                if (s->nmatch[i] == s->capmatch[i]) {
                    s->capmatch[i] = s->capmatch[i] ? s->capmatch[i] * 2 : 16;
                    s->match[i] = dql_xrealloc(s->match[i], sizeof(uint64_t) * s->capmatch[i]);
                }
                s->match[i][s->nmatch[i]++] = r;
            }
        }
        if (!s->nmatch[i]) all = false;
    }
    return all;
}

static dql_status cross_next(dql_op *op, dql_batch **out)
{
    cross_st *s = op->st;
    dql_plan *p = op->plan;
    bool join = p->kind == P_JOIN;
    dql_status st;
    if (!s->loaded && (st = load_sides(op, s)) != DQL_OK) return st;
    dql_arena_reset(&op->arena);
    op->out.n = 0;
    dql_evctx cx = { &op->arena, op->ex, DQL_OK };
    for (;;) {
        if (!s->pending) {
            if (!s->in || s->pos >= s->in->n) {
                if (op->out.n) break;
                st = dql_op_pull(op, 0, &s->in);
                if (st) return st;
                s->pos = 0;
            }
            const dql_value *row = dql_batch_row(s->in, s->pos);
            bool any = true;
            if (join) {
                any = find_matches(op, s, row, &cx);
                if (cx.st) return cx.st;
                if (!any && p->join_type == 1) {
                    /* left outer: the row with nulls */
                    dql_value *o = dql_batch_row(&op->out, op->out.n++);
                    int w0 = p->in[0]->schema->n;
                    memcpy(o, row, sizeof(dql_value) * (size_t)w0);
                    for (int c = w0; c < p->schema->n; c++) o[c] = dql_null();
                    s->pos++;
                    if (op->out.n == op->out.cap) break;
                    continue;
                }
            } else {
                for (int i = 1; i < op->nin; i++) { s->nmatch[i] = s->sides[i].n; if (!s->nmatch[i]) any = false; }
            }
            if (!any) { s->pos++; continue; }
            for (int i = 1; i < op->nin; i++) s->idx[i] = 0;
            s->pending = true;
        }
        const dql_value *row = dql_batch_row(s->in, s->pos);
        dql_value *o = dql_batch_row(&op->out, op->out.n++);
        int col = p->in[0]->schema->n;
        memcpy(o, row, sizeof(dql_value) * (size_t)col);
        for (int i = 1; i < op->nin; i++) {
            uint64_t r = join ? s->match[i][s->idx[i]] : s->idx[i];
            int w = p->in[i]->schema->n;
            memcpy(o + col, s->sides[i].rows[r]->v, sizeof(dql_value) * (size_t)w);
            col += w;
        }
        int i;
        for (i = op->nin - 1; i >= 1; i--) {
            if (++s->idx[i] < s->nmatch[i]) break;
            s->idx[i] = 0;
        }
        if (i < 1) { s->pending = false; s->pos++; }
        if (op->out.n == op->out.cap) break;
    }
    *out = &op->out;
    return DQL_OK;
}

static const dql_opvt cross_vt = { "CROSS", cross_open, cross_next, cross_close };
static const dql_opvt repjoin_vt = { "JOIN", cross_open, cross_next, cross_close };

void dql_op_init_cross(dql_op *op) { op->vt = &cross_vt; }
void dql_op_init_repjoin(dql_op *op) { op->vt = &repjoin_vt; }
