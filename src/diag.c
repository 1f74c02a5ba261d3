/* diag.c — the one diagnostics function: location, message, source line
 * and a caret under the span. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "diag.h"

/* Masks with '*' (same length: the caret stays aligned) what looks like a
 * password in an echoed source line: the value of password=... and the
 * password of a URI's user:password@ (a connection string written in a
 * script, which postgres() refuses, must not be shown back). */
static void mask_passwords(char *l, size_t n)
{
    for (size_t i = 0; i + 8 < n; i++) {
        if (strncasecmp(l + i, "password", 8) != 0) continue;
        size_t j = i + 8;
        while (j < n && l[j] == ' ') j++;
        if (j >= n || l[j] != '=') continue;
        j++;
        while (j < n && l[j] == ' ') j++;
        for (; j < n && l[j] != ' ' && l[j] != '\'' && l[j] != '"' && l[j] != '&'; j++) l[j] = '*';
    }
    for (size_t i = 0; i + 3 < n; i++) {
        if (memcmp(l + i, "://", 3) != 0) continue;
        size_t j = i + 3, colon = 0;
        while (j < n && l[j] != '@' && l[j] != '/' && l[j] != ' ' && l[j] != '\'' && l[j] != '"') {
            if (l[j] == ':' && !colon) colon = j;
            j++;
        }
        if (j < n && l[j] == '@' && colon)
            for (size_t k = colon + 1; k < j; k++) l[k] = '*';
    }
}

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
    char *line = malloc(le - ls + 1);
    if (line) {
        memcpy(line, s + ls, le - ls);
        mask_passwords(line, le - ls);
        fprintf(fp, "  %.*s\n  ", (int)(le - ls), line);
        free(line);
    }
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
