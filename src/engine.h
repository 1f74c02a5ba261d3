/* engine.h — the native operator interface shared by engine.c and the
 * op_*.c files: each operator pulls batches from its inputs and produces
 * batches of its own. A batch an operator returns stays valid until the
 * next call to that operator's next(). */
#ifndef DQL_ENGINE_H
#define DQL_ENGINE_H

#include "plan.h"
#include "sort.h"

typedef struct dql_opvt {
    const char *name;
    dql_status (*open)(dql_op *op);
    /* Sets *out to a batch with n > 0 rows, or returns DQL_EOF. */
    dql_status (*next)(dql_op *op, dql_batch **out);
    void (*close)(dql_op *op);
} dql_opvt;

struct dql_op {
    const dql_opvt *vt;
    dql_plan *plan;
    dql_exec *ex;
    dql_op **in;
    int nin;
    dql_arena arena;     /* the output batch's values; reset before each batch */
    dql_batch out;
    void *st;            /* operator state */
    bool eof;
    int64_t limit_hint;  /* ORDER under a LIMIT: only the first limit_hint rows are wanted (top-k) */
};

/* Pulls the next batch of input i (DQL_EOF at the end). */
dql_status dql_op_pull(dql_op *op, int i, dql_batch **b);
/* Builds the operator tree for a plan. */
dql_op *dql_op_build(dql_plan *p, dql_exec *ex);
void dql_op_free(dql_op *op);

/* Operator constructors, one per plan kind (set op->vt and op->st). */
void dql_op_init_group(dql_op *op);     /* op_group.c: GROUP, COGROUP, JOIN (sort-merge) */
void dql_op_init_hashagg(dql_op *op);   /* op_group.c: HASHAGG and DISTINCT */
void dql_op_init_order(dql_op *op);     /* op_misc.c */
void dql_op_init_union(dql_op *op);
void dql_op_init_sample(dql_op *op);
void dql_op_init_limit(dql_op *op);
void dql_op_init_cross(dql_op *op);     /* op_join.c: CROSS and replicated JOIN */
void dql_op_init_repjoin(dql_op *op);
void dql_op_init_stream(dql_op *op);    /* op_stream.c */
void dql_op_init_xop(dql_op *op);       /* op_xop.c: the DNS verbs */

/* The sorter's budget and temp dir for this execution. */
dql_sorter *dql_op_sorter(dql_op *op, int ncols, dql_row_cmp cmp, void *ud);

/* Evaluates an expression list into vals; returns the first error status. */
dql_status dql_eval_keys(dql_expr **keys, int n, const dql_value *row, dql_evctx *cx, dql_value *vals);

#endif
