/* ast.c — syntax tree nodes, the small helpers the grammar's actions call,
 * and dql_parse(), the entry point to the bison parser. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "ast.h"
#include "lexer.h"
#include "diag.h"
#include "parse.h"

int dql_yyparse(dql_lexer *lx, dql_node **out);

dql_node *dql_node_new(dql_nk kind, dql_span sp)
{
    dql_node *n = dql_xcalloc(1, sizeof *n);
    n->kind = kind;
    n->sp = sp;
    return n;
}

void dql_node_add(dql_node *n, dql_node *kid)
{
    if (n->nkids == n->capkids) {
        n->capkids = n->capkids ? n->capkids * 2 : 4;
        n->kids = dql_xrealloc(n->kids, sizeof(dql_node *) * (size_t)n->capkids);
    }
    n->kids[n->nkids++] = kid;
}

void dql_node_free(dql_node *n)
{
    if (!n) return;
    for (int i = 0; i < n->nkids; i++) dql_node_free(n->kids[i]);
    free(n->kids);
    free(n->str);
    free(n->sval);
    if (n->schema) dql_schema_free(n->schema);
    free(n);
}

dql_span dql_span_join(dql_span a, dql_span b)
{
    if (!a.src) return b;
    if (!b.src) return a;
    dql_span r = a;
    if (b.end > r.end) r.end = b.end;
    return r;
}

const char *dql_node_kind_name(dql_nk k)
{
    static const char *names[N__COUNT] = {
        [N_SCRIPT] = "script", [N_ASSIGN] = "assignment", [N_DUMP] = "DUMP", [N_STORE] = "STORE",
        [N_DESCRIBE] = "DESCRIBE", [N_EXPLAIN] = "EXPLAIN", [N_SET] = "SET", [N_REGISTER] = "REGISTER",
        [N_DEFINE_FN] = "DEFINE", [N_DEFINE_MACRO] = "DEFINE", [N_IMPORT] = "IMPORT", [N_SPLIT] = "SPLIT",
        [N_SQL_STMT] = "SQL", [N_REF] = "alias", [N_LOAD] = "LOAD", [N_FOREACH] = "FOREACH",
        [N_FILTER] = "FILTER", [N_GROUP] = "GROUP", [N_JOIN] = "JOIN", [N_ORDER] = "ORDER",
        [N_LIMIT] = "LIMIT", [N_DISTINCT] = "DISTINCT", [N_UNION] = "UNION", [N_SAMPLE] = "SAMPLE",
        [N_CROSS] = "CROSS", [N_STREAM] = "STREAM", [N_SQL] = "SQL", [N_MACRO_CALL] = "macro",
    };
    return (k < N__COUNT && names[k]) ? names[k] : "node";
}

/* The token's text as written (keywords used as names keep their case). */
char *dql_yy_word(dql_lexer *lx, const dql_span *sp)
{
    return dql_xstrndup(lx->src + sp->start, sp->end - sp->start);
}

dql_field *dql_yy_field(dql_lexer *lx, const dql_span *sp, char *name, char *tname, dql_type t, dql_schema *sub)
{
    dql_field *f = dql_xcalloc(1, sizeof *f);
    f->name = name;
    f->type = t;
    if (tname) {
        f->type = dql_type_parse(tname, strlen(tname));
        if (f->type == DQL_T__COUNT || f->type == DQL_T_NULL) {
            dql_diag(lx->errfp, DQL_DIAG_ERROR, sp, "unknown type '%s'", tname);
            lx->nerr++;
            f->type = DQL_T_BYTEARRAY;
        }
        free(tname);
    }
    f->sub = sub;
    return f;
}

void dql_yy_free_field(dql_field *f)
{
    free(f->name);
    if (f->sub) dql_schema_free(f->sub);
    free(f);
}

dql_schema *dql_yy_cast_schema(dql_lexer *lx, const dql_span *sp, char *tname)
{
    dql_schema *s = dql_schema_new(0);
    dql_type t = dql_type_parse(tname, strlen(tname));
    (void)lx; (void)sp;  /* the lexer only makes CAST tokens of known types */
    dql_schema_add(s, NULL, t, NULL);
    free(tname);
    return s;
}

/* Builds a verb statement (TRAIN ... FROM ... LABEL ..., EVALUATE ... ON ...),
 * checking the words that are not keywords. */
dql_node *dql_yy_xstmt(dql_lexer *lx, dql_span sp, char *verb, char *target, char *w1, const dql_span *w1sp,
                       const char *w1want, dql_node *rel, dql_node *by, char *w2, const dql_span *w2sp,
                       dql_node *label, dql_node *group, dql_node *with)
{
    if (strcasecmp(w1, w1want) != 0) {
        dql_diag(lx->errfp, DQL_DIAG_ERROR, w1sp, "expected %s here, not '%s'", w1want, w1);
        lx->nerr++;
    }
    if (strcasecmp(w2, "LABEL") != 0) {
        dql_diag(lx->errfp, DQL_DIAG_ERROR, w2sp, "expected LABEL here, not '%s'", w2);
        lx->nerr++;
    }
    if (!strcmp(w1want, "ON") && strcasecmp(verb, "EVALUATE") != 0) {
        dql_diag(lx->errfp, DQL_DIAG_ERROR, &sp, "unknown statement '%s'", verb);
        lx->nerr++;
    }
    if (!strcmp(w1want, "FROM") && strcasecmp(verb, "TRAIN") != 0) {
        dql_diag(lx->errfp, DQL_DIAG_ERROR, &sp, "%s is used as 'x = %s rel BY ...;'", verb, verb);
        lx->nerr++;
    }
    dql_node *n = dql_node_new(N_XSTMT, sp);
    for (char *u = verb; *u; u++) if (*u >= 'a' && *u <= 'z') *u = (char)(*u - 32);
    n->str = verb;
    n->sval = target;
    dql_node_add(n, rel);
    dql_node_add(n, by);
    dql_node_add(n, label);
    dql_node_add(n, group);
    dql_node_add(n, with);
    free(w1);
    free(w2);
    return n;
}

dql_node *dql_parse(const char *file, const char *src, size_t len, FILE *errfp, int *nerr)
{
    dql_lexer lx;
    dql_lexer_init(&lx, file, src, len, errfp);
    dql_node *root = NULL;
    int rc = dql_yyparse(&lx, &root);
    *nerr = lx.nerr;
    if (rc != 0 || lx.nerr) {
        if (lx.nerr == 0) *nerr = 1;
        dql_node_free(root);
        return NULL;
    }
    return root;
}
