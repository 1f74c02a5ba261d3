/* diag.c — the one diagnostics function: location, message, source line
 * and a caret under the span. */
#include <string.h>
#include "diag.h"

void dql_diagv(FILE *fp, dql_diag_level lvl, const dql_span *sp, const char *fmt, va_list ap)
{
    static const char *lv[] = { "error", "warning", "note" };
    if (!fp) fp = stderr;
    if (sp && sp->file) fprintf(fp, "%s:%u:%u: ", sp->file, sp->line, sp->col);
    else fputs("dql: ", fp);
    fprintf(fp, "%s: ", lv[lvl]);
    vfprintf(fp, fmt, ap);
    fputc('\n', fp);
    if (!sp || !sp->src) return;
    /* the line containing sp->start */
    const char *s = sp->src;
    size_t ls = sp->start;
    while (ls > 0 && s[ls - 1] != '\n') ls--;
    size_t le = sp->start;
    while (s[le] && s[le] != '\n') le++;
    fprintf(fp, "  %.*s\n  ", (int)(le - ls), s + ls);
    for (size_t i = ls; i < sp->start; i++) {
        if (((unsigned char)s[i] & 0xC0) == 0x80) continue;
        fputc(s[i] == '\t' ? '\t' : ' ', fp);
    }
    size_t end = sp->end > sp->start ? sp->end : sp->start + 1;
    if (end > le) end = le > sp->start ? le : sp->start + 1;
    fputc('^', fp);
    for (size_t i = sp->start + 1; i < end; i++) {
        if (((unsigned char)s[i] & 0xC0) == 0x80) continue;
        fputc('~', fp);
    }
    fputc('\n', fp);
}

void dql_diag(FILE *fp, dql_diag_level lvl, const dql_span *sp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    dql_diagv(fp, lvl, sp, fmt, ap);
    va_end(ap);
}
