/* xop.h — the contract of the DNS verbs (RESOLVE, ENRICH, CLASSIFY, TRAIN):
 * operators written as
 *
 *     out = VERB rel [BY expr] [TYPES (A, AAAA, ...)] [WITH (name = literal, ...)];
 *
 * Each verb is one dql_xop_def (registered in registry.c). The planner
 * compiles the BY expression against the input's schema and asks the verb
 * for its output schema; the engine drives it through step(), which takes
 * input rows and gives output rows, so that an asynchronous verb (RESOLVE:
 * many lookups in flight) and a row-by-row one (ENRICH) share one driver. */
#ifndef DQL_XOP_H
#define DQL_XOP_H

#include "dql.h"
#include "exec.h"
#include "expr.h"

/* What the planner knows about one use of a verb. */
typedef struct dql_xop_plan {
    const char *verb;            /* "RESOLVE" */
    const dql_schema *in;        /* the input's schema */
    dql_expr *by;                /* the compiled BY expression (NULL without BY); by->type is known */
    const dql_args *with;        /* WITH (...) arguments (literals) */
    char **types;                /* TYPES (...) words as written, or NULL */
    int ntypes;
    const char *model;           /* USING 'file' (CLASSIFY), or NULL */
    dql_session *sess;
} dql_xop_plan;

typedef struct dql_xop_def {
    const char *name;            /* upper case: "ENRICH" */
    const char *syntax;          /* "ENRICH rel BY ip [WITH (city = true, asn = true)]" */
    const char *summary;
    /* Plan time: check the arguments and give the output schema (usually the
     * input's fields followed by the verb's own). May keep plan-time state
     * (an opened database, a parsed model) in *pstate. On error write err and
     * return DQL_ERR_CHECK. */
    dql_status (*plan)(const dql_xop_plan *xp, dql_schema **out, void **pstate, char *err, size_t errlen);
    void (*plan_free)(void *pstate);
    /* Run time. */
    dql_status (*open)(const dql_xop_plan *xp, void *pstate, dql_exec *ex, void **st);
    /* Consumes input rows in[*pos .. in->n) (advancing *pos) and writes
     * output rows into out (out->n .. out->cap), values in arena a. in is
     * NULL once the input has ended. Returns after filling out, or after
     * consuming all of in; with in == NULL, it may block (e.g. waiting for
     * answers) and sets *finished when nothing more will come. Input rows are
     * valid only during the call: keep copies of what must outlive it.
     * Output rows may point into the current input batch only if they are
     * returned before that batch is consumed (the driver returns out before
     * fetching the next input batch). */
    dql_status (*step)(void *st, const dql_batch *in, int *pos, dql_batch *out, dql_arena *a, bool *finished);
    void (*close)(void *st);
    /* Optional: extra text for EXPLAIN (e.g. "servers 127.0.0.1:5353, 500 in flight"). */
    void (*explain)(void *pstate, dql_buf *b);
    /* true when output rows never point into an input batch (the verb copies
     * what it keeps): the driver then feeds the next input batch while output
     * rows are still pending, which keeps an asynchronous verb's window full. */
    bool owns_output;
} dql_xop_def;

/* Verb statements:
 *
 *     TRAIN 'model' FROM rel BY expr LABEL expr [GROUP BY expr] [WITH (...)];
 *     EVALUATE 'model' ON rel BY expr LABEL expr [GROUP BY expr] [WITH (...)];
 *
 * They read a whole relation and print a report (or write a file). */
typedef struct dql_xstmt_plan {
    const char *verb;            /* "TRAIN" */
    const char *target;          /* the quoted file name */
    const dql_schema *in;
    dql_expr *by, *label, *group; /* compiled against in; group may be NULL */
    const dql_args *with;
    dql_session *sess;
} dql_xstmt_plan;

/* Pulls the next batch of the relation (DQL_EOF at its end). */
typedef dql_status (*dql_rows_fn)(void *ud, const dql_batch **b);

typedef struct dql_xstmt_def {
    const char *name;
    const char *syntax;
    const char *summary;
    dql_status (*plan)(const dql_xstmt_plan *xp, void **pstate, char *err, size_t errlen);
    void (*plan_free)(void *pstate);
    /* Runs the statement: rows(ud, &b) gives the relation; reports go to out.
     * Errors through dql_exec_error. */
    dql_status (*run)(const dql_xstmt_plan *xp, void *pstate, dql_exec *ex, dql_rows_fn rows, void *ud, FILE *out);
} dql_xstmt_def;

const dql_xstmt_def *dql_xstmt_find(const char *name);

/* Lookup by name (case-insensitive); NULL when unknown. dql_xop_at iterates. */
const dql_xop_def *dql_xop_find(const char *name);
const dql_xop_def *dql_xop_at(size_t i);

/* Helper for verbs: the input fields followed by extra fields. */
dql_schema *dql_xop_schema(const dql_schema *in, const dql_schema *extra);

#endif
