/* ast.h — the syntax tree the parser builds: one generic node type with a
 * kind, a source span, scalar payloads and children. The planner walks it. */
#ifndef DQL_AST_H
#define DQL_AST_H

#include "dql.h"

typedef enum dql_nk {
    /* statements */
    N_SCRIPT,      /* kids: statements */
    N_ASSIGN,      /* str: alias; kids[0]: relation expression */
    N_DUMP,        /* kids[0]: rel */
    N_STORE,       /* kids[0]: rel, kids[1]: N_FUNC storer or NULL; str: target; ival: overwrite */
    N_DESCRIBE,    /* kids[0]: rel (or N_NAME of a nested alias path) */
    N_EXPLAIN,     /* kids[0]: rel */
    N_SET,         /* str: key; kids[0]: literal value (or NULL: show) */
    N_REGISTER,    /* str: path; kids[0]: N_NAME namespace or NULL */
    N_DEFINE_FN,   /* str: name; kids[0]: N_FUNC or N_STRING (command) */
    N_DEFINE_MACRO,/* str: name; kids[0]: N_LIST params; kids[1]: N_LIST returns; sval: body text; body span in sp2 */
    N_IMPORT,      /* str: path */
    N_SPLIT,       /* kids[0]: rel; kids[1..]: N_SPLIT_BRANCH */
    N_SPLIT_BRANCH,/* str: alias; kids[0]: condition or NULL for OTHERWISE */
    N_SQL_STMT,    /* str: SQL text */
    N_MACRO_CALL_STMT, /* kids[0]: N_MACRO_CALL; kids[1]: N_LIST of output aliases */

    /* relation expressions */
    N_REF,         /* str: alias */
    N_LOAD,        /* str: path; kids[0]: N_FUNC loader or NULL; schema: AS */
    N_FOREACH,     /* kids[0]: rel; kids[1]: N_LIST generate items; kids[2]: N_LIST nested stmts or NULL */
    N_FILTER,      /* kids[0]: rel; kids[1]: cond */
    N_GROUP,       /* kids: N_GROUP_INPUT...; ival: 1 COGROUP; ival2: bit i set = input i INNER */
    N_GROUP_INPUT, /* kids[0]: rel; kids[1]: N_LIST keys or NULL for ALL; ival: inner/outer flag */
    N_JOIN,        /* kids: N_GROUP_INPUT...; ival: join type; str: USING strategy */
    N_ORDER,       /* kids[0]: rel; kids[1]: N_LIST of N_SORTKEY */
    N_SORTKEY,     /* kids[0]: expr; ival: 1 desc */
    N_LIMIT,       /* kids[0]: rel; kids[1]: count expr */
    N_DISTINCT,    /* kids[0]: rel */
    N_UNION,       /* kids: rels; ival: ONSCHEMA */
    N_SAMPLE,      /* kids[0]: rel; kids[1]: fraction expr */
    N_CROSS,       /* kids: rels */
    N_STREAM,      /* kids[0]: rel; kids[1]: WITH args (N_LIST of N_ARG) or NULL; str: command (or alias of a
                      DEFINEd command); ival: 1 if str is an alias; ival2: 1 for THROUGH SHELL '...'; schema */
    N_SQL,         /* str: SQL text */
    N_MACRO_CALL,  /* str: macro name; kids: args (N_REF, N_STRING, N_INT...) */
    N_XOP,         /* a DNS verb: str: RESOLVE...; kids: rel, BY expr|NULL, N_LIST types|NULL,
                      N_LIST of N_ARG|NULL, N_STRING model (USING)|NULL */
    N_XSTMT,       /* a verb statement: str: TRAIN|EVALUATE; sval: target ('model'); kids: rel, BY expr,
                      LABEL expr, GROUP BY expr|NULL, N_LIST of N_ARG|NULL */

    /* nested FOREACH statements */
    N_NESTED_ASSIGN, /* str: alias; kids[0]: nested op or expression */
    N_NFILTER, N_NORDER, N_NLIMIT, N_NDISTINCT,  /* kids[0]: expr (the bag); kids[1]: cond / keys / count */

    /* generate items */
    N_GEN_ITEM,    /* kids[0]: expr; schema: AS (or NULL); ival: 1 when FLATTEN */
    N_STAR,        /* GENERATE * */

    /* expressions */
    N_INT, N_LONG, N_DOUBLE, N_STRING, N_BOOL, N_NULL,
    N_NAME,        /* str: name (may contain "::"); a field or alias reference */
    N_POS,         /* ival: $N */
    N_PROJ,        /* kids[0]: expr; str: field name, or ival position when str NULL */
    N_PROJ_MULTI,  /* kids[0]: expr; kids[1]: N_LIST of N_NAME/N_POS */
    N_MAPGET,      /* kids[0]: expr; str: key */
    N_CALL,        /* str: function name (may be ns.f); kids: args */
    N_BINOP,       /* ival: operator token; kids[0], kids[1] */
    N_UNOP,        /* ival: operator token ('-' or NOT); kids[0] */
    N_ISNULL,      /* kids[0]; ival: 1 for IS NOT NULL */
    N_IN,          /* kids[0]: expr; kids[1]: N_LIST; ival: 1 for NOT IN */
    N_MATCHES,     /* kids[0], kids[1] */
    N_COND,        /* kids[0] ? kids[1] : kids[2] */
    N_CASE,        /* kids[0]: subject or NULL; then pairs WHEN/THEN...; ival: 1 if last kid is ELSE */
    N_CAST,        /* kids[0]; schema: one field with the target type */
    N_TUPLE,       /* kids: fields */
    N_BAGC,        /* bag constructor {(..), (..)} kids: tuples */
    N_MAPC,        /* map constructor [k#v, ...] kids: key, value pairs */
    N_LIST,        /* generic list */
    N_FUNC,        /* str: name; kids: args (N_ARG) — a loader/storer/UDF spec */
    N_ARG,         /* str: name or NULL; kids[0]: literal */
    N_PARAM,       /* an undefined $param left in the text: str: name */
    N__COUNT
} dql_nk;

typedef struct dql_node dql_node;
struct dql_node {
    dql_nk kind;
    dql_span sp;
    char *str;
    char *sval;          /* secondary string (macro body) */
    int64_t ival, ival2;
    double dval;
    dql_schema *schema;
    int nkids, capkids;
    dql_node **kids;
};

dql_node *dql_node_new(dql_nk kind, dql_span sp);
void dql_node_add(dql_node *n, dql_node *kid);   /* kid may be NULL */
void dql_node_free(dql_node *n);
const char *dql_node_kind_name(dql_nk k);
/* A span covering a to b. */
dql_span dql_span_join(dql_span a, dql_span b);

/* Parses a whole script. On syntax errors prints diagnostics to errfp and
 * returns NULL; *nerr counts them. The source text must outlive the tree. */
dql_node *dql_parse(const char *file, const char *src, size_t len, FILE *errfp, int *nerr);

#endif
