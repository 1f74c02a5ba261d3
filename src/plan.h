/* plan.h — logical plans: what the planner makes of each relation
 * expression after checking it (schemas, compiled expressions), and what the
 * engine turns into a tree of native operators. */
#ifndef DQL_PLAN_H
#define DQL_PLAN_H

#include "dql.h"
#include "exec.h"
#include "expr.h"
#include "ast.h"
#include "xop.h"

typedef enum dql_pk {
    P_LOAD, P_FOREACH, P_FILTER, P_GROUP, P_HASHAGG, P_JOIN, P_ORDER, P_LIMIT,
    P_UNION, P_SAMPLE, P_CROSS, P_STREAM, P_XOP
} dql_pk;

typedef struct dql_plan dql_plan;

/* One GENERATE item: an expression, flattened or not, producing ncols
 * output columns starting at outcol. */
typedef struct dql_gen {
    dql_expr *e;
    bool flatten;
    int ncols;
    int outcol;
    dql_type *casts;        /* FLATTEN ... AS (x:int, ...): per column the type to cast to,
                               DQL_T__COUNT for none; NULL when no column needs one */
} dql_gen;

enum { DQL_AGG_MAX_PARAMS = 2 };   /* constant arguments an aggregate may take (TOP: n, column) */

/* An aggregate slot of a HASHAGG: def->agg applied to arg (evaluated on the
 * input row). */
typedef struct dql_aggslot {
    const dql_func_def *def;
    dql_expr *arg;              /* per input row: the value stepped (the whole row with params) */
    dql_value params[DQL_AGG_MAX_PARAMS];   /* constant arguments before the bag (def->agg->configure) */
    int nparams;
} dql_aggslot;

struct dql_plan {
    dql_pk kind;
    int refs;
    dql_schema *schema;
    dql_plan **in;
    int nin;
    char *alias;            /* the alias this plan was assigned to (or NULL) */
    dql_span sp;            /* the operator's source span */

    /* LOAD (and SQL, which is a LOAD through the sqlquery loader) */
    const dql_loader_def *loader;
    char *path;
    dql_args args;
    dql_arena argarena;
    dql_schema *declared;
    char *loader_name;
    bool *needed;           /* columns some checked statement reads (see dql_plan_need) */

    /* FOREACH: nested locals first (evaluated in order, appended to the row), then items */
    dql_expr **locals;
    int nlocals;
    dql_gen *gen;
    int ngen;

    /* FILTER */
    dql_expr *cond;

    /* GROUP/COGROUP/JOIN: keys per input (nkeys each; 0 = ALL), inner flags */
    dql_expr ***keys;
    int nkeys;
    bool *inner;
    bool group_all;
    bool keys_borrowed;     /* HASHAGG after fusion: keys belong to keysrc */
    dql_plan *keysrc;
    int join_type;          /* 0 inner, 1 left, 2 right, 3 full */
    bool replicated;

    /* HASHAGG: keys[0] and aggregate slots; key_tuple: "group" is one tuple field */
    dql_aggslot *aggs;
    int naggs;
    bool key_tuple;
    bool distinct;          /* DISTINCT: keys are the whole row, output flat */

    /* ORDER */
    dql_expr **okeys;
    bool *desc;
    int nokeys;

    /* LIMIT / SAMPLE */
    int64_t limit;
    double fraction;

    /* UNION ONSCHEMA: for input i, map[i][j] = input column for output j or -1 */
    int **colmap;

    /* STREAM: the command, WITH arguments in args, through /bin/sh when shell */
    char *command;
    bool shell;

    /* XOP: a DNS verb (xop.h) */
    const dql_xop_def *xop;
    dql_xop_plan xplan;     /* by, with (= args), types point into this plan */
    void *xpstate;

    /* Sharded runs (shard.c), set only while one runs:
     * HASHAGG agg_mode: 0 normal; 1 partial (a task: keys as columns, then
     * each aggregate's partial value); 2 combine (the merge: keys are the
     * first columns of the input, aggregates fold partial values).
     * subst: the engine runs this plan instead (the merge reads the tasks'
     * results where the tasks computed this relation).
     * shard/nshards: the LOAD reads only that shard (bounds: see dql_shard_bounds).
     * cut_note: EXPLAIN's mark of where a sharded run is cut. */
    int agg_mode;
    dql_plan *subst;
    int shard, nshards;
    struct dql_shard_bounds *bounds;
    char *cut_note;
};

dql_plan *dql_plan_new(dql_pk kind, dql_span sp);
dql_plan *dql_plan_ref(dql_plan *p);
void dql_plan_unref(dql_plan *p);
const char *dql_plan_kind_name(dql_pk k);
/* The operator's name for users (EXPLAIN, runtime errors): DISTINCT, RESOLVE, ... */
const char *dql_plan_label(const dql_plan *p);

/* Column pruning: marks in every LOAD below p the columns that p's output
 * columns (need[i], or all when need is NULL) depend on. Marks only grow, so
 * a LOAD shared by several statements decodes what any of them reads. */
void dql_plan_need(dql_plan *p, const bool *need);

/* For .schema: one line per DNS verb under p with what it uses (databases
 * with their type, build date and IP version; servers; the model). */
void dql_plan_describe_verbs(dql_buf *b, const dql_plan *p);

/* EXPLAIN output: the tree of operators with their schemas. */
void dql_plan_explain(dql_buf *out, const dql_plan *p, int depth);

/* The engine: runs a plan and hands every batch to a sink. */
typedef dql_status (*dql_sink_fn)(void *ud, const dql_batch *b);
dql_status dql_engine_run(dql_plan *p, dql_exec *ex, dql_sink_fn sink, void *ud);

/* Pull-style iteration (cursors for Lua and the shell). */
typedef struct dql_op dql_op;
dql_status dql_engine_open(dql_plan *p, dql_exec *ex, dql_op **root);
dql_status dql_engine_next(dql_op *root, const dql_batch **b);
void dql_engine_close(dql_op *root);
/* The plan of the operator that reported the last runtime error, if any. */
const dql_plan *dql_engine_failed_plan(const dql_exec *ex);

#endif

/* ------------------------------------------------------------ the planner */

typedef struct dql_planner {
    dql_session *sess;
    FILE *errfp;
    int nerr;
} dql_planner;

/* Plans (and checks) a relation expression; NULL after diagnostics. alias is
 * the name it will be assigned to (for messages and bag names), or NULL. */
dql_plan *dql_plan_rel(dql_planner *pl, const dql_node *n, const char *alias);
/* Converts N_FUNC arguments to dql_args (literals only); false after a diagnostic. */
bool dql_plan_args(dql_planner *pl, const dql_node *fn, dql_args *args, dql_arena *a);

/* Provided by session.c. */
dql_plan *dql_session_alias(dql_session *s, const char *name);
/* Pending outputs: tables or files a STORE earlier in the script will create. */
const dql_schema *dql_session_pending(dql_session *s, const char *name);
const dql_node *dql_session_define_lookup(dql_session *s, const char *name);
/* Around plan-time SQL checks: shadows the tables pending STOREs will create. */
void dql_session_shadow_begin(dql_session *s);
void dql_session_shadow_end(dql_session *s);
/* Marks an alias whose definition failed: later uses report nothing more. */
bool dql_session_alias_failed(dql_session *s, const char *name);
