/* expr.h — compiled expressions: type-checked at plan time against a row
 * schema, evaluated per row by the operators. */
#ifndef DQL_EXPR_H
#define DQL_EXPR_H

#include "dql.h"
#include "exec.h"
#include "ast.h"

typedef struct dql_expr dql_expr;

/* Evaluation context: results are allocated in arena; an error sets st
 * (the operator checks it after each row) and the message in ex. */
typedef struct dql_evctx {
    dql_arena *arena;
    dql_exec *ex;
    dql_status st;
} dql_evctx;

typedef dql_value (*dql_evfn)(dql_expr *e, const dql_value *row, dql_evctx *cx);

typedef enum dql_ek {
    E_LIT, E_COL, E_PROJ, E_BAGPROJ, E_MAPGET, E_ARITH, E_NEG, E_CMP, E_AND, E_OR, E_NOT,
    E_ISNULL, E_IN, E_MATCHES, E_COND, E_CASE, E_CAST, E_CALL, E_AGGBAG, E_UDF, E_TUPLE,
    E_BAGC, E_MAPC, E_BAGFILTER, E_BAGORDER, E_BAGLIMIT, E_BAGDISTINCT
} dql_ek;

struct dql_expr {
    dql_ek kind;
    dql_evfn ev;
    dql_type type;          /* result type (DQL_T_ANY when only known at run time) */
    dql_schema *sub;        /* tuple/bag result: its (tuple) schema */
    char *name;             /* output name suggestion (field name) */
    dql_span sp;
    int op;                 /* operator token */
    int col;                /* E_COL; E_PROJ field */
    int *cols, ncols;       /* E_BAGPROJ fields; E_BAGORDER desc flags */
    dql_value lit;          /* E_LIT */
    dql_arena litarena;     /* storage of literal payloads */
    dql_expr **kids;
    int nkids;
    const dql_func_def *fn; /* E_CALL, E_AGGBAG */
    void *fnstate;
    bool *consts;
    void *re;               /* compiled regex (E_MATCHES with a constant pattern) */
    char *ns, *fname;       /* E_UDF */
    void *lua;              /* lua_State for E_UDF */
    int64_t limit;          /* E_BAGLIMIT */
};

/* Compile-time scope: the row schema, plus (for nested FOREACH) names of
 * locals that live after the input columns. */
typedef struct dql_scope {
    const dql_schema *schema;
    struct dql_scope *outer;     /* unused for now: expressions see one row */
    void *sess;                  /* dql_session, for UDF lookups and DEFINEd functions */
    FILE *errfp;
    int nerr;
    bool allow_aggs;             /* aggregates over bags are always allowed; kept for checks */
} dql_scope;

/* Compiles an AST expression against the scope; NULL after printing a
 * diagnostic (scope->nerr incremented). */
dql_expr *dql_expr_compile(dql_scope *sc, const dql_node *n);
/* A literal expression. */
dql_expr *dql_expr_lit(dql_value v, dql_type t);
/* A column reference. */
dql_expr *dql_expr_col(int col, dql_type t, const dql_schema *sub, const char *name);
/* The whole input row (of schema s) as a tuple. */
dql_expr *dql_expr_row(const dql_schema *s);
/* Wraps e in a cast to type t (returns e when already of that type). */
dql_expr *dql_expr_cast(dql_expr *e, dql_type t);
void dql_expr_free(dql_expr *e);
/* True when none of the conditions is true (nulls count as not true): the
 * condition of SPLIT ... OTHERWISE. Takes ownership of the kids. */
dql_expr *dql_expr_none_true(dql_expr **kids, int n);

static inline dql_value dql_expr_eval(dql_expr *e, const dql_value *row, dql_evctx *cx)
{
    return e->ev(e, row, cx);
}

/* Source text of the expression (for EXPLAIN and headers). */
void dql_expr_text(dql_buf *b, const dql_expr *e);

/* Comparison of two values of possibly different declared types, after the
 * coercions the language defines (bytearray/chararray to the other type). */
int dql_value_cmp_coerce(dql_arena *a, dql_value x, dql_value y);

#endif
