/* op_misc.c — ORDER (through the external sorter, or a top-k heap under a
 * LIMIT), LIMIT, UNION and SAMPLE. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>
#include <time.h>
#include <sys/wait.h>
#include "engine.h"
#include "session.h"

/* ------------------------------------------------------------ ORDER */

typedef struct order_st {
    int nk, w;
    bool *desc;
    dql_sorter *sorter;
    bool sorted;
    /* top-k (ORDER under LIMIT k): a max-heap of the k best rows so far
     * (the worst on top), copied into arenas that are compacted when they
     * fill with replaced rows */
    int64_t k;
    dql_value **heap;
    uint64_t *seq;        /* arrival order, so equal keys keep input order */
    int64_t nheap;
    dql_arena harena[2];
    int cur;
    uint64_t nseq;
    int64_t emitted;
} order_st;

static int order_cmp(const dql_value *a, const dql_value *b, void *ud)
{
    order_st *s = ud;
    for (int k = 0; k < s->nk; k++) {
        int c = dql_value_cmp(a[k], b[k]);
        if (c) return s->desc[k] ? -c : c;
    }
    return 0;
}

static dql_status order_open(dql_op *op)
{
    order_st *s = dql_xcalloc(1, sizeof *s);
    op->st = s;
    s->nk = op->plan->nokeys;
    s->desc = op->plan->desc;
    s->w = op->plan->in[0]->schema->n;
    if (op->limit_hint > 0 && op->limit_hint <= 100000) {
        s->k = op->limit_hint;
        s->heap = dql_xcalloc((size_t)s->k + 1, sizeof(dql_value *));
        s->seq = dql_xcalloc((size_t)s->k + 1, sizeof(uint64_t));
        dql_arena_init(&s->harena[0]);
        dql_arena_init(&s->harena[1]);
        return DQL_OK;
    }
    s->sorter = dql_op_sorter(op, s->nk + s->w, order_cmp, s);
    return s->sorter ? DQL_OK : DQL_ERR_RUNTIME;
}

/* Heap order: a before b when a sorts after b (worst row on top); ties by
 * arrival, later arrivals being worse (so the sort stays stable). */
static bool heap_worse(order_st *s, int64_t a, int64_t b)
{
    int c = order_cmp(s->heap[a], s->heap[b], s);
    if (c) return c > 0;
    return s->seq[a] > s->seq[b];
}

static void heap_swap(order_st *s, int64_t a, int64_t b)
{
    dql_value *t = s->heap[a]; s->heap[a] = s->heap[b]; s->heap[b] = t;
    uint64_t q = s->seq[a]; s->seq[a] = s->seq[b]; s->seq[b] = q;
}

static void heap_down(order_st *s, int64_t i)
{
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->nheap && heap_worse(s, l, m)) m = l;
        if (r < s->nheap && heap_worse(s, r, m)) m = r;
        if (m == i) return;
        heap_swap(s, i, m);
        i = m;
    }
}

static dql_value *heap_copy(order_st *s, const dql_value *row)
{
    dql_arena *a = &s->harena[s->cur];
    dql_value *c = dql_arena_alloc(a, sizeof(dql_value) * (size_t)(s->nk + s->w));
    for (int i = 0; i < s->nk + s->w; i++) c[i] = dql_value_copy(a, row[i]);
    return c;
}

/* Offers a row (keys + payload) to the top-k heap. */
static void heap_offer(order_st *s, const dql_value *row)
{
    uint64_t seq = s->nseq++;
    if (s->nheap < s->k) {
        int64_t i = s->nheap++;
        s->heap[i] = heap_copy(s, row);
        s->seq[i] = seq;
        while (i > 0 && heap_worse(s, i, (i - 1) / 2)) { heap_swap(s, i, (i - 1) / 2); i = (i - 1) / 2; }
        return;
    }
    if (order_cmp(row, s->heap[0], s) >= 0) return;   /* not better than the worst kept */
    s->heap[0] = heap_copy(s, row);
    s->seq[0] = seq;
    heap_down(s, 0);
    /* replaced rows are garbage: compact into the other arena now and then */
    if (s->harena[s->cur].total > (uint64_t)(64u << 20) + (uint64_t)s->k * 4096) {
        int o = s->cur ^ 1;
        dql_arena_reset(&s->harena[o]);
        s->cur = o;
        for (int64_t i = 0; i < s->nheap; i++) s->heap[i] = heap_copy(s, s->heap[i]);
        dql_arena_reset(&s->harena[o ^ 1]);
    }
}

static int heap_final_cmp(const void *x, const void *y, void *ud)
{
    order_st *s = ud;
    const int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    int c = order_cmp(s->heap[a], s->heap[b], s);
    if (c) return c;
    return s->seq[a] < s->seq[b] ? -1 : s->seq[a] > s->seq[b];
}

static void order_close(dql_op *op)
{
    order_st *s = op->st;
    if (!s) return;
    free(s->heap);
    free(s->seq);
    if (s->k) { dql_arena_free(&s->harena[0]); dql_arena_free(&s->harena[1]); }
    if (s->sorter) { op->ex->spill_runs += (uint64_t)dql_sorter_runs(s->sorter); dql_sorter_free(s->sorter); }
    free(s);
}

static dql_status order_next(dql_op *op, dql_batch **out)
{
    order_st *s = op->st;
    dql_status st;
    if (!s->sorted) {
        dql_value *row = dql_xcalloc((size_t)(s->nk + s->w + 1), sizeof(dql_value));
        dql_arena tmp;
        dql_arena_init(&tmp);
        dql_batch *b;
        while ((st = dql_op_pull(op, 0, &b)) == DQL_OK) {
            dql_evctx cx = { &tmp, op->ex, DQL_OK };
            for (int r = 0; r < b->n && st == DQL_OK; r++) {
                const dql_value *in = dql_batch_row(b, r);
                dql_eval_keys(op->plan->okeys, s->nk, in, &cx, row);
                if (cx.st) { st = cx.st; break; }
                memcpy(row + s->nk, in, sizeof(dql_value) * (size_t)s->w);
                if (s->k) heap_offer(s, row);
                else st = dql_sorter_add(s->sorter, row);
            }
            dql_arena_reset(&tmp);
            if (st != DQL_OK) break;
        }
        free(row);
        dql_arena_free(&tmp);
        if (st != DQL_EOF) return st;
        if (s->k) {
            /* sort the kept rows: an index array over the heap */
            int64_t *ix = dql_xmalloc(sizeof(int64_t) * (size_t)(s->nheap + 1));
            for (int64_t i = 0; i < s->nheap; i++) ix[i] = i;
            qsort_r(ix, (size_t)s->nheap, sizeof *ix, heap_final_cmp, s);
            dql_value **h = dql_xmalloc(sizeof(dql_value *) * (size_t)(s->nheap + 1));
            for (int64_t i = 0; i < s->nheap; i++) h[i] = s->heap[ix[i]];
            free(s->heap);
            free(ix);
            s->heap = h;
        } else if ((st = dql_sorter_finish(s->sorter)) != DQL_OK) return st;
        s->sorted = true;
    }
    dql_arena_reset(&op->arena);
    op->out.n = 0;
    if (s->k) {
        while (op->out.n < op->out.cap && s->emitted < s->nheap) {
            const dql_value *r = s->heap[s->emitted++];
            memcpy(dql_batch_row(&op->out, op->out.n++), r + s->nk, sizeof(dql_value) * (size_t)s->w);
        }
        if (op->out.n == 0) return DQL_EOF;
        *out = &op->out;
        return DQL_OK;
    }
    while (op->out.n < op->out.cap) {
        const dql_value *r;
        st = dql_sorter_next(s->sorter, &r);
        if (st == DQL_EOF) break;
        if (st) return st;
        dql_value *o = dql_batch_row(&op->out, op->out.n++);
        for (int c = 0; c < s->w; c++) o[c] = dql_value_copy(&op->arena, r[s->nk + c]);
    }
    if (op->out.n == 0) return DQL_EOF;
    *out = &op->out;
    return DQL_OK;
}

static const dql_opvt order_vt = { "ORDER", order_open, order_next, order_close };
void dql_op_init_order(dql_op *op) { op->vt = &order_vt; }

/* ------------------------------------------------------------ LIMIT */

typedef struct limit_st { int64_t seen; } limit_st;

static dql_status limit_open(dql_op *op) { op->st = dql_xcalloc(1, sizeof(limit_st)); return DQL_OK; }
static void limit_close(dql_op *op) { free(op->st); }

static dql_status limit_next(dql_op *op, dql_batch **out)
{
    limit_st *s = op->st;
    if (s->seen >= op->plan->limit) return DQL_EOF;
    dql_batch *b;
    dql_status st = dql_op_pull(op, 0, &b);
    if (st != DQL_OK) return st;
    int64_t left = op->plan->limit - s->seen;
    if (b->n > left) b->n = (int)left;   /* the child's batch is ours until we pull again */
    s->seen += b->n;
    *out = b;
    return DQL_OK;
}

static const dql_opvt limit_vt = { "LIMIT", limit_open, limit_next, limit_close };
void dql_op_init_limit(dql_op *op) { op->vt = &limit_vt; }

/* ------------------------------------------------------------ UNION */

typedef struct union_st { int cur; } union_st;

static dql_status union_open(dql_op *op) { op->st = dql_xcalloc(1, sizeof(union_st)); return DQL_OK; }
static void union_close(dql_op *op) { free(op->st); }

static dql_status union_next(dql_op *op, dql_batch **out)
{
    union_st *s = op->st;
    while (s->cur < op->nin) {
        dql_batch *b;
        dql_status st = dql_op_pull(op, s->cur, &b);
        if (st == DQL_EOF) { s->cur++; continue; }
        if (st) return st;
        const int *map = op->plan->colmap ? op->plan->colmap[s->cur] : NULL;
        if (!map) { *out = b; return DQL_OK; }
        int w = op->plan->schema->n;
        for (int r = 0; r < b->n; r++) {
            const dql_value *in = dql_batch_row(b, r);
            dql_value *o = dql_batch_row(&op->out, r);
            for (int c = 0; c < w; c++) o[c] = map[c] >= 0 ? in[map[c]] : dql_null();
        }
        op->out.n = b->n;
        *out = &op->out;
        return DQL_OK;
    }
    return DQL_EOF;
}

static const dql_opvt union_vt = { "UNION", union_open, union_next, union_close };
void dql_op_init_union(dql_op *op) { op->vt = &union_vt; }

/* ------------------------------------------------------------ SAMPLE */

typedef struct sample_st { uint64_t rng; } sample_st;

static dql_status sample_open(dql_op *op)
{
    sample_st *s = dql_xcalloc(1, sizeof *s);
    const char *seed = dql_session_get(op->ex->sess, "seed");
    s->rng = seed ? strtoull(seed, NULL, 10) * 0x9E3779B97F4A7C15ull + 1 : 0x2545F4914F6CDD1Dull;
    op->st = s;
    return DQL_OK;
}

static double rnd(uint64_t *x)
{
    *x ^= *x >> 12; *x ^= *x << 25; *x ^= *x >> 27;
    return (double)((*x * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

static dql_status sample_next(dql_op *op, dql_batch **out)
{
    sample_st *s = op->st;
    for (;;) {
        dql_batch *b;
        dql_status st = dql_op_pull(op, 0, &b);
        if (st) return st;
        int w = 0;
        size_t rs = sizeof(dql_value) * (size_t)b->ncols;
        for (int r = 0; r < b->n; r++)
            if (rnd(&s->rng) < op->plan->fraction) memcpy(dql_batch_row(&op->out, w++), dql_batch_row(b, r), rs);
        if (w) { op->out.n = w; *out = &op->out; return DQL_OK; }
    }
}

static const dql_opvt sample_vt = { "SAMPLE", sample_open, sample_next, limit_close };
void dql_op_init_sample(dql_op *op) { op->vt = &sample_vt; }
