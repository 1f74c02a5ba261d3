/* engine.c — builds the tree of native operators from a plan and drives it;
 * the streaming operators LOAD, FOREACH (with FLATTEN and nested locals) and
 * FILTER live here; the blocking ones in op_group.c, op_join.c, op_misc.c. */
#include <stdlib.h>
#include <string.h>
#include "engine.h"

/* Records which operator failed first, for the runtime error message. */
static __thread const dql_plan *failed_plan;

const dql_plan *dql_engine_failed_plan(const dql_exec *ex) { (void)ex; return failed_plan; }

dql_status dql_op_pull(dql_op *op, int i, dql_batch **b)
{
    dql_op *c = op->in[i];
    if (c->eof) return DQL_EOF;
    if (dql_exec_interrupted(op->ex)) return DQL_ERR_INTERRUPT;
    if (op->ex->progress && (++op->ex->tick & 7) == 0) op->ex->progress(op->ex->progress_ud, op->ex);
    const char *save_op = op->ex->op_name, *save_alias = op->ex->alias;
    op->ex->op_name = c->vt->name;
    op->ex->alias = c->plan->alias;
    dql_status st = c->vt->next(c, b);
    op->ex->op_name = save_op;
    op->ex->alias = save_alias;
    if (st == DQL_EOF) c->eof = true;
    else if (st != DQL_OK && !failed_plan) failed_plan = c->plan;
    return st;
}

dql_status dql_eval_keys(dql_expr **keys, int n, const dql_value *row, dql_evctx *cx, dql_value *vals)
{
    for (int k = 0; k < n; k++) vals[k] = dql_expr_eval(keys[k], row, cx);
    return cx->st;
}

dql_sorter *dql_op_sorter(dql_op *op, int ncols, dql_row_cmp cmp, void *ud)
{
    return dql_sorter_new(ncols, cmp, ud, op->ex->mem_budget, op->ex->tmpdir, op->ex);
}

/* ------------------------------------------------------------ LOAD */

typedef struct load_st { void *ls; } load_st;

static dql_status load_open(dql_op *op)
{
    dql_plan *p = op->plan;
    dql_load_ctx lc = { p->path, &p->args, p->declared, op->ex->sess, p->needed,
                        p->nshards > 1 ? p->shard : 0, p->nshards > 1 ? p->nshards : 1,
                        p->nshards > 1 ? p->bounds : NULL };
    load_st *s = dql_xcalloc(1, sizeof *s);
    op->st = s;
    return p->loader->open(&lc, p->schema, op->ex, &s->ls);
}

static dql_status load_next(dql_op *op, dql_batch **out)
{
    load_st *s = op->st;
    dql_arena_reset(&op->arena);
    op->out.n = 0;
    dql_status st = op->plan->loader->next(s->ls, &op->out, &op->arena);
    if (st != DQL_OK) return st;
    if (op->out.n == 0) return DQL_EOF;
    op->ex->rows_in += (uint64_t)op->out.n;
    if (op->ex->progress && op->plan->loader->progress)
        op->plan->loader->progress(s->ls, &op->ex->bytes_done, &op->ex->bytes_total);
    *out = &op->out;
    return DQL_OK;
}

static void load_close(dql_op *op)
{
    load_st *s = op->st;
    if (s && s->ls) op->plan->loader->close(s->ls);
    free(s);
}

static const dql_opvt load_vt = { "LOAD", load_open, load_next, load_close };

/* ------------------------------------------------------------ FILTER */

static dql_status filter_next(dql_op *op, dql_batch **out)
{
    dql_evctx cx = { &op->arena, op->ex, DQL_OK };
    for (;;) {
        dql_batch *in;
        dql_status st = dql_op_pull(op, 0, &in);
        if (st != DQL_OK) return st;
        dql_arena_reset(&op->arena);
        int w = 0;
        size_t rowsz = sizeof(dql_value) * (size_t)in->ncols;
        for (int i = 0; i < in->n; i++) {
            const dql_value *row = dql_batch_row(in, i);
            if (dql_value_true(dql_expr_eval(op->plan->cond, row, &cx)))
                memcpy(dql_batch_row(&op->out, w++), row, rowsz);
            if (cx.st) return cx.st;
        }
        if (w > 0) { op->out.n = w; *out = &op->out; return DQL_OK; }
    }
}

static const dql_opvt filter_vt = { "FILTER", NULL, filter_next, NULL };

/* ------------------------------------------------------------ FOREACH */

/* State: the current input batch and position, so that FLATTEN can spread one
 * input batch over several output batches; the row extended with locals. */
typedef struct foreach_st {
    dql_batch *in;
    int pos;
    dql_value *ext;      /* input row + nested locals */
    /* flatten cartesian state for the current input row */
    dql_value *items;    /* evaluated item values for the current row */
    uint64_t *idx, *cnt; /* odometer over flattened bags */
    bool row_pending;
    int *proj;           /* every item a plain column (no FLATTEN, locals or casts):
                            output column g is input column proj[g]; else NULL */
} foreach_st;

static dql_status foreach_open(dql_op *op)
{
    foreach_st *s = dql_xcalloc(1, sizeof *s);
    dql_plan *p = op->plan;
    int inw = p->in[0]->schema->n;
    s->ext = dql_xcalloc((size_t)(inw + p->nlocals + 1), sizeof(dql_value));
    s->items = dql_xcalloc((size_t)p->ngen + 1, sizeof(dql_value));
    s->idx = dql_xcalloc((size_t)p->ngen + 1, sizeof(uint64_t));
    s->cnt = dql_xcalloc((size_t)p->ngen + 1, sizeof(uint64_t));
    op->st = s;
    bool plain = p->nlocals == 0 && p->ngen == p->schema->n;
    for (int g = 0; g < p->ngen && plain; g++)
        plain = p->gen[g].e->kind == E_COL && !p->gen[g].flatten && !p->gen[g].casts && p->gen[g].ncols == 1 &&
                p->gen[g].outcol == g && p->gen[g].e->col >= 0 && p->gen[g].e->col < inw;
    if (plain) {
        s->proj = dql_xcalloc((size_t)p->ngen + 1, sizeof(int));
        for (int g = 0; g < p->ngen; g++) s->proj[g] = p->gen[g].e->col;
    }
    return DQL_OK;
}

static void foreach_close(dql_op *op)
{
    foreach_st *s = op->st;
    if (!s) return;
    free(s->ext); free(s->items); free(s->idx); free(s->cnt); free(s->proj);
    free(s);
}

/* Casts flattened columns to the types AS declared; a value that does not
 * cast is a counted warning and null. */
static dql_status flatten_casts(const dql_gen *gi, dql_value *orow, dql_evctx *cx)
{
    for (int c = 0; c < gi->ncols; c++) {
        dql_type t = gi->casts[c];
        dql_value *v = &orow[gi->outcol + c];
        if (t == DQL_T__COUNT || v->type == DQL_T_NULL || v->type == (uint8_t)t) continue;
        dql_value out;
        if (dql_value_cast(cx->arena, *v, t, &out)) { *v = out; continue; }
        dql_buf b = {0};
        dql_value_format(&b, *v);
        dql_status st = dql_exec_warn(cx->ex, "bad cast", "cannot cast '%.*s' to %s", (int)(b.len > 60 ? 60 : b.len),
                                      b.p ? b.p : "", dql_type_name(t));
        dql_buf_free(&b);
        *v = dql_null();
        if (st) return st;
    }
    return DQL_OK;
}

/* Writes the output row for the current odometer position. */
static void foreach_emit(dql_plan *p, foreach_st *s, dql_value *orow)
{
    for (int g = 0; g < p->ngen; g++) {
        dql_gen *gi = &p->gen[g];
        dql_value v = s->items[g];
        if (!gi->flatten) { orow[gi->outcol] = v; continue; }
        if (v.type == DQL_T_BAG) {
            dql_tuple *t = v.u.b->t[s->idx[g]];
            for (int c = 0; c < gi->ncols; c++) orow[gi->outcol + c] = (uint32_t)c < t->n ? t->v[c] : dql_null();
        } else if (v.type == DQL_T_TUPLE) {
            for (int c = 0; c < gi->ncols; c++) orow[gi->outcol + c] = (uint32_t)c < v.u.t->n ? v.u.t->v[c] : dql_null();
        } else if (v.type == DQL_T_NULL && gi->ncols > 1) {
            for (int c = 0; c < gi->ncols; c++) orow[gi->outcol + c] = dql_null();
        } else {
            orow[gi->outcol] = v;
            for (int c = 1; c < gi->ncols; c++) orow[gi->outcol + c] = dql_null();
        }
    }
}

/* Advances the odometer; false when all combinations are done. */
static bool odometer_next(dql_plan *p, foreach_st *s)
{
    for (int g = p->ngen - 1; g >= 0; g--) {
        if (!p->gen[g].flatten || s->cnt[g] <= 1) continue;
        if (++s->idx[g] < s->cnt[g]) return true;
        s->idx[g] = 0;
    }
    return false;
}

static dql_status foreach_next(dql_op *op, dql_batch **out)
{
    foreach_st *s = op->st;
    dql_plan *p = op->plan;
    int inw = p->in[0]->schema->n;
    dql_evctx cx = { &op->arena, op->ex, DQL_OK };
    if (s->proj) {
        /* a projection: values are copied, nothing is evaluated */
        if (!s->in || s->pos >= s->in->n) {
            dql_status st = dql_op_pull(op, 0, &s->in);
            if (st != DQL_OK) return st;
            s->pos = 0;
        }
        int n = s->in->n - s->pos;
        if (n > op->out.cap) n = op->out.cap;
        for (int r = 0; r < n; r++) {
            const dql_value *irow = dql_batch_row(s->in, s->pos + r);
            dql_value *orow = dql_batch_row(&op->out, r);
            for (int g = 0; g < p->ngen; g++) orow[g] = irow[s->proj[g]];
        }
        s->pos += n;
        op->out.n = n;
        *out = &op->out;
        return DQL_OK;
    }
    /* a row still being flattened keeps its evaluated items in the arena */
    if (!s->row_pending) dql_arena_reset(&op->arena);
    op->out.n = 0;
    for (;;) {
        if (s->row_pending) {
            /* continue emitting the cartesian product of flattened bags */
            while (op->out.n < op->out.cap) {
                dql_value *orow = dql_batch_row(&op->out, op->out.n++);
                foreach_emit(p, s, orow);
                for (int g = 0; g < p->ngen; g++)
                    if (p->gen[g].casts) {
                        dql_status cst = flatten_casts(&p->gen[g], orow, &cx);
                        if (cst) return cst;
                    }
                if (!odometer_next(p, s)) { s->row_pending = false; s->pos++; break; }
            }
            if (op->out.n == op->out.cap) { *out = &op->out; return DQL_OK; }
        }
        if (!s->in || s->pos >= s->in->n) {
            if (op->out.n > 0) { *out = &op->out; return DQL_OK; }
            dql_status st = dql_op_pull(op, 0, &s->in);
            if (st != DQL_OK) return st;
            s->pos = 0;
            /* values of the previous output batch may point into the old input: fine, it was consumed */
        }
        const dql_value *row = dql_batch_row(s->in, s->pos);
        if (p->nlocals) {
            memcpy(s->ext, row, sizeof(dql_value) * (size_t)inw);
            for (int l = 0; l < p->nlocals; l++) s->ext[inw + l] = dql_expr_eval(p->locals[l], s->ext, &cx);
            row = s->ext;
        }
        bool empty = false;
        for (int g = 0; g < p->ngen; g++) {
            s->items[g] = dql_expr_eval(p->gen[g].e, row, &cx);
            s->idx[g] = 0;
            s->cnt[g] = 1;
            if (p->gen[g].flatten) {
                dql_value v = s->items[g];
                if (v.type == DQL_T_BAG) {
                    s->cnt[g] = v.u.b->n;
                    /* FLATTEN of an empty or null bag produces no row (Pig's rule) */
                    if (v.u.b->n == 0) empty = true;
                } else if (v.type == DQL_T_NULL && p->gen[g].e->type == DQL_T_BAG) {
                    empty = true;
                }
            }
        }
        if (cx.st) return cx.st;
        if (empty) { s->pos++; continue; }
        s->row_pending = true;
        if (op->out.n == op->out.cap) { *out = &op->out; return DQL_OK; }
    }
}

static const dql_opvt foreach_vt = { "FOREACH", foreach_open, foreach_next, foreach_close };

/* ------------------------------------------------------------ build / run */

dql_op *dql_op_build(dql_plan *p, dql_exec *ex)
{
    while (p->subst) p = p->subst;   /* a sharded run's merge reads the tasks' results */
    dql_op *op = dql_xcalloc(1, sizeof *op);
    op->plan = p;
    op->ex = ex;
    dql_arena_init(&op->arena);
    dql_batch_init(&op->out, p->schema->n, DQL_BATCH_ROWS);
    op->nin = p->nin;
    if (p->nin) {
        op->in = dql_xcalloc((size_t)p->nin, sizeof(dql_op *));
        for (int i = 0; i < p->nin; i++) op->in[i] = dql_op_build(p->in[i], ex);
    }
    switch (p->kind) {
    case P_LOAD: op->vt = &load_vt; break;
    case P_FILTER: op->vt = &filter_vt; break;
    case P_FOREACH: op->vt = &foreach_vt; break;
    case P_GROUP: case P_JOIN:
        if (p->kind == P_JOIN && p->replicated) dql_op_init_repjoin(op);
        else dql_op_init_group(op);
        break;
    case P_HASHAGG: dql_op_init_hashagg(op); break;
    case P_ORDER: dql_op_init_order(op); break;
    case P_LIMIT:
        dql_op_init_limit(op);
        /* LIMIT n over ORDER: the ORDER keeps only the best n rows (a heap) */
        if (op->in[0]->plan->kind == P_ORDER) op->in[0]->limit_hint = p->limit;
        break;
    case P_UNION: dql_op_init_union(op); break;
    case P_SAMPLE: dql_op_init_sample(op); break;
    case P_CROSS: dql_op_init_cross(op); break;
    case P_STREAM: dql_op_init_stream(op); break;
    case P_XOP: dql_op_init_xop(op); break;
    }
    return op;
}

static dql_status op_open_all(dql_op *op)
{
    for (int i = 0; i < op->nin; i++) {
        dql_status st = op_open_all(op->in[i]);
        if (st != DQL_OK) return st;
    }
    if (op->vt->open) {
        const char *so = op->ex->op_name, *sa = op->ex->alias;
        op->ex->op_name = op->vt->name;
        op->ex->alias = op->plan->alias;
        dql_status st = op->vt->open(op);
        op->ex->op_name = so;
        op->ex->alias = sa;
        if (st != DQL_OK && !failed_plan) failed_plan = op->plan;
        return st;
    }
    return DQL_OK;
}

void dql_op_free(dql_op *op)
{
    if (!op) return;
    if (op->vt && op->vt->close) op->vt->close(op);
    for (int i = 0; i < op->nin; i++) dql_op_free(op->in[i]);
    free(op->in);
    dql_arena_free(&op->arena);
    dql_batch_free(&op->out);
    free(op);
}

dql_status dql_engine_open(dql_plan *p, dql_exec *ex, dql_op **root)
{
    failed_plan = NULL;
    dql_op *op = dql_op_build(p, ex);
    *root = op;
    return op_open_all(op);
}

dql_status dql_engine_next(dql_op *root, const dql_batch **b)
{
    if (root->eof) return DQL_EOF;
    if (dql_exec_interrupted(root->ex)) return DQL_ERR_INTERRUPT;
    const char *so = root->ex->op_name, *sa = root->ex->alias;
    root->ex->op_name = root->vt->name;
    root->ex->alias = root->plan->alias;
    dql_batch *out = NULL;
    dql_status st = root->vt->next(root, &out);
    root->ex->op_name = so;
    root->ex->alias = sa;
    if (st == DQL_EOF) root->eof = true;
    else if (st != DQL_OK && !failed_plan) failed_plan = root->plan;
    *b = out;
    return st;
}

void dql_engine_close(dql_op *root) { dql_op_free(root); }

dql_status dql_engine_run(dql_plan *p, dql_exec *ex, dql_sink_fn sink, void *ud)
{
    dql_op *root;
    dql_status st = dql_engine_open(p, ex, &root);
    while (st == DQL_OK) {
        const dql_batch *b;
        st = dql_engine_next(root, &b);
        if (st == DQL_OK) st = sink(ud, b);
    }
    dql_engine_close(root);
    return st == DQL_EOF ? DQL_OK : st;
}
