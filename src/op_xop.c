/* op_xop.c — the engine side of the DNS verbs (xop.h): one driver feeds
 * input batches to the verb's step() and hands on its output batches; the
 * table of verbs and the schema helper they share. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "engine.h"
#include "geo.h"

/* The verbs compiled into this build, one entry per family (op_resolve.c,
 * op_geo.c, op_classify.c, ...): later issues add theirs here. */
extern const dql_xop_def dql_xop_classify;                          /* op_classify.c */
extern const dql_xstmt_def dql_xstmt_train, dql_xstmt_evaluate;     /* op_classify.c */

extern const dql_xop_def dql_xop_resolve;                           /* op_resolve.c */

static const dql_xop_def *const xops[] = {
    &dql_xop_resolve,
    &dql_xop_enrich,
    &dql_xop_classify,
    NULL,
};

/* The verb statements (TRAIN, EVALUATE): later issues add theirs here. */
static const dql_xstmt_def *const xstmts[] = {
    &dql_xstmt_train, &dql_xstmt_evaluate,
};

const dql_xstmt_def *dql_xstmt_find(const char *name)
{
    for (size_t i = 0; i < sizeof xstmts / sizeof xstmts[0]; i++)
        if (xstmts[i] && !strcasecmp(xstmts[i]->name, name)) return xstmts[i];
    return NULL;
}

const dql_xop_def *dql_xop_find(const char *name)
{
    for (size_t i = 0; i < sizeof xops / sizeof xops[0]; i++)
        if (xops[i] && !strcasecmp(xops[i]->name, name)) return xops[i];
    return NULL;
}

const dql_xop_def *dql_xop_at(size_t i)
{
    size_t k = 0;
    for (size_t j = 0; j < sizeof xops / sizeof xops[0]; j++)
        if (xops[j] && k++ == i) return xops[j];
    return NULL;
}

dql_schema *dql_xop_schema(const dql_schema *in, const dql_schema *extra)
{
    dql_schema *s = dql_schema_copy(in);
    for (int i = 0; extra && i < extra->n; i++) dql_schema_add(s, extra->f[i].name, extra->f[i].type, extra->f[i].sub);
    return s;
}

typedef struct xop_st {
    void *vs;              /* the verb's state */
    dql_batch *in;         /* current input batch, NULL when none */
    int pos;
    bool input_done, finished;
} xop_st;

static dql_status xop_open(dql_op *op)
{
    xop_st *s = dql_xcalloc(1, sizeof *s);
    op->st = s;
    dql_plan *p = op->plan;
    return p->xop->open(&p->xplan, p->xpstate, op->ex, &s->vs);
}

static void xop_close(dql_op *op)
{
    xop_st *s = op->st;
    if (!s) return;
    if (s->vs) op->plan->xop->close(s->vs);
    free(s);
}

static dql_status xop_next(dql_op *op, dql_batch **out)
{
    xop_st *s = op->st;
    const dql_xop_def *xd = op->plan->xop;
    dql_arena_reset(&op->arena);
    op->out.n = 0;
    while (!s->finished) {
        if (!s->input_done && (!s->in || s->pos >= s->in->n)) {
            /* rows already produced may point into the current input batch:
             * hand them on before fetching the next one (unless the verb
             * copies what it keeps) */
            if (op->out.n > 0 && !xd->owns_output) break;
            dql_status st = dql_op_pull(op, 0, &s->in);
            if (st == DQL_EOF) { s->input_done = true; s->in = NULL; }
            else if (st != DQL_OK) return st;
            s->pos = 0;
        }
        if (dql_exec_interrupted(op->ex)) return DQL_ERR_INTERRUPT;
        dql_status st = xd->step(s->vs, s->input_done ? NULL : s->in, &s->pos, &op->out, &op->arena, &s->finished);
        if (st != DQL_OK) return st;
        if (op->out.n == op->out.cap) break;
        if (s->input_done && op->out.n > 0) break;
    }
    if (op->out.n == 0) return DQL_EOF;
    *out = &op->out;
    return DQL_OK;
}

static const dql_opvt xop_vt = { "VERB", xop_open, xop_next, xop_close };

void dql_op_init_xop(dql_op *op) { op->vt = &xop_vt; }
