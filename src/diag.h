/* diag.h — the one diagnostics function: "file:line:col: error: message",
 * the source line, and a caret under the span. */
#ifndef DQL_DIAG_H
#define DQL_DIAG_H

#include "dql.h"
#include <stdarg.h>

typedef enum { DQL_DIAG_ERROR, DQL_DIAG_WARNING, DQL_DIAG_NOTE } dql_diag_level;

/* Prints a diagnostic to fp. With a span (sp != NULL and sp->src set) it prints
 * the location, the message, the source line and carets under the span
 * (the first line of it when it spans several). */
void dql_diag(FILE *fp, dql_diag_level lvl, const dql_span *sp, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void dql_diagv(FILE *fp, dql_diag_level lvl, const dql_span *sp, const char *fmt, va_list ap);

#endif
