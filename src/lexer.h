/* lexer.h — the tokenizer for dql scripts, the parameter preprocessor
 * ($name, %default, %declare) and the "is this statement complete?" test the
 * shell uses for continuation prompts. */
#ifndef DQL_LEXER_H
#define DQL_LEXER_H

#include "dql.h"

typedef struct dql_lexer {
    const char *file;
    const char *src;
    size_t len, pos;
    uint32_t line, col;        /* of pos */
    FILE *errfp;
    int nerr;
    int after_returns;         /* next '{' at depth 0 starts a macro body */
    int paren_depth;
    int last_tok;              /* previous token kind (0 at start) */
    uint32_t prev_end, prev_line, prev_col;  /* where the previous token ended */
} dql_lexer;

void dql_lexer_init(dql_lexer *lx, const char *file, const char *src, size_t len, FILE *errfp);

/* Keyword lookup: token code or 0. */
int dql_keyword(const char *s, size_t n);
/* Iterates the keywords (for completion): NULL past the end. */
const char *dql_keyword_at(size_t i);

/* Parameter table for the preprocessor. */
typedef struct dql_params {
    int n, cap;
    char **name, **value;
} dql_params;
void dql_params_set(dql_params *p, const char *name, const char *value);
const char *dql_params_get(const dql_params *p, const char *name);
void dql_params_free(dql_params *p);

/* Substitutes $name for every known parameter (outside comments; inside
 * strings too, as Pig does), executes %default and %declare lines (which are
 * blanked, keeping line numbers). Returns a new malloc'd text. */
char *dql_preprocess(const char *src, size_t len, dql_params *params, size_t *outlen);

/* For the shell: true when text holds at least one complete statement and
 * nothing open (no open string, comment, parenthesis or brace; the last
 * non-blank, non-comment character is ';'), or is empty. */
bool dql_lex_complete(const char *text, size_t len);

/* Decodes the escapes of a quoted string body into a malloc'd NUL-terminated
 * string (\n \t \r \\ \' \" \uXXXX). */
char *dql_unescape(const char *s, size_t n, size_t *outlen);

#endif
