/* out.c — the result printer used by DUMP and the shell: output modes
 * table, box, csv, tsv, json, jsonl, markdown and line (after the sqlite3
 * shell's modes of the same names).
 *
 * csv, tsv, json and jsonl stream: every row is written as it comes, never
 * truncated. table, box and markdown buffer the rows they show (their cell
 * text, formatted into the printer's arena) to compute column widths; past
 * opts->maxrows they only count, and the end prints "N of M rows shown;
 * .last to see all". line streams but obeys maxrows the same way. Widths
 * count UTF-8 code points; cells wider than opts->maxwidth are cut with "…". */
#include "exec.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *const mode_names[DQL_OUT__COUNT] = {
    "table", "box", "csv", "tsv", "json", "jsonl", "markdown", "line",
};

const char *dql_outmode_name(dql_outmode m)
{
    return (unsigned)m < DQL_OUT__COUNT ? mode_names[m] : "?";
}

bool dql_outmode_parse(const char *s, dql_outmode *m)
{
    for (int i = 0; i < DQL_OUT__COUNT; i++) {
        if (strcasecmp(s, mode_names[i]) == 0) {
            *m = (dql_outmode)i;
            return true;
        }
    }
    if (strcasecmp(s, "md") == 0) {
        *m = DQL_OUT_MARKDOWN;
        return true;
    }
    return false;
}

typedef struct cell {
    const char *s;
    uint32_t n;       /* bytes */
    uint32_t w;       /* code points */
    bool right;       /* number: right-aligned */
} cell;

struct dql_printer {
    dql_out_opts o;
    FILE *fp;
    int ncols;
    char **label;      /* header text per column */
    bool *numcol;      /* column declared numeric */
    bool buffered;     /* table, box, markdown */
    dql_arena arena;
    cell *cells;       /* nbuf rows of ncols cells */
    size_t nbuf, capbuf;
    uint64_t total;    /* rows seen */
    uint64_t shown;    /* rows printed (line mode) */
    dql_buf tmp, line;
    dql_buf nulltext;  /* csv/tsv: the null text as a cell */
    size_t flush_at;   /* csv/tsv: rows collect in line up to this many bytes */
};

/* Number of UTF-8 code points in s[0..n). */
static uint32_t utf8_width(const char *s, size_t n)
{
    uint32_t w = 0;
    for (size_t i = 0; i < n; i++)
        w += ((unsigned char)s[i] & 0xC0) != 0x80;
    return w;
}

/* Byte length of the first k code points of s[0..n). */
static size_t utf8_prefix(const char *s, size_t n, uint32_t k)
{
    size_t i = 0;
    uint32_t c = 0;
    while (i < n) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (c == k)
                break;
            c++;
        }
        i++;
    }
    return i;
}

static void buf_csv(dql_buf *b, const char *s, size_t n, char d);

dql_printer *dql_printer_new(const dql_out_opts *o, const dql_schema *s)
{
    dql_printer *p = dql_xcalloc(1, sizeof *p);
    p->o = *o;
    if (!p->o.nullvalue)
        p->o.nullvalue = "";
    p->fp = o->fp ? o->fp : stdout;
    p->ncols = s ? s->n : 0;
    p->label = dql_xcalloc((size_t)p->ncols + 1, sizeof *p->label);
    p->numcol = dql_xcalloc((size_t)p->ncols + 1, sizeof *p->numcol);
    for (int j = 0; j < p->ncols; j++) {
        if (s->f[j].name)
            p->label[j] = dql_xstrdup(s->f[j].name);
        else {
            char t[16];
            snprintf(t, sizeof t, "$%d", j);
            p->label[j] = dql_xstrdup(t);
        }
        p->numcol[j] = dql_type_is_numeric(s->f[j].type);
    }
    p->buffered = o->mode == DQL_OUT_TABLE || o->mode == DQL_OUT_BOX || o->mode == DQL_OUT_MARKDOWN;
    dql_arena_init(&p->arena);
    if (o->mode == DQL_OUT_CSV)
        buf_csv(&p->nulltext, p->o.nullvalue, strlen(p->o.nullvalue), ',');
    else if (o->mode == DQL_OUT_TSV)
        dql_buf_tsv(&p->nulltext, p->o.nullvalue, strlen(p->o.nullvalue));
    /* csv and tsv rows are written 64 KB at a time, except to a terminal,
     * where each row shows as it comes */
    p->flush_at = isatty(fileno(p->fp)) ? 0 : 64 * 1024;
    return p;
}

/* Text of a non-null value (strings as they are). */
static void value_text(dql_printer *p, dql_value v, const char **s, size_t *n)
{
    if (v.type == DQL_T_CHARARRAY || v.type == DQL_T_BYTEARRAY || v.type == DQL_T_DOMAIN) {
        *s = v.u.s;
        *n = v.len;
        return;
    }
    p->tmp.len = 0;
    dql_value_format(&p->tmp, v);
    *s = p->tmp.p ? p->tmp.p : "";
    *n = p->tmp.len;
}

static bool is_number(dql_value v)
{
    return v.type == DQL_T_INT || v.type == DQL_T_LONG || v.type == DQL_T_DOUBLE;
}

/* Builds a screen cell: control characters shown as escapes (markdown: '|'
 * escaped, newlines as <br>), cut at maxwidth code points with "…". */
static cell make_cell(dql_printer *p, const char *s, size_t n, bool right)
{
    dql_buf *b = &p->line;
    b->len = 0;
    bool md = p->o.mode == DQL_OUT_MARKDOWN;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != 0x7f && !(md && c == '|'))
            continue;
        dql_buf_put(b, s + run, i - run);
        run = i + 1;
        if (md && c == '|')
            dql_buf_puts(b, "\\|");
        else if (md && c == '\n')
            dql_buf_puts(b, "<br>");
        else if (c == '\n')
            dql_buf_puts(b, "\\n");
        else if (c == '\t')
            dql_buf_puts(b, "\\t");
        else if (c == '\r')
            dql_buf_puts(b, "\\r");
        else
            dql_buf_printf(b, "\\x%02x", c);
    }
    dql_buf_put(b, s + run, n - run);
    cell c;
    c.right = right;
    c.w = utf8_width(b->p ? b->p : "", b->len);
    size_t len = b->len;
    if (p->o.maxwidth > 0 && c.w > (uint32_t)p->o.maxwidth) {
        len = utf8_prefix(b->p, b->len, (uint32_t)p->o.maxwidth - 1);
        b->len = len;
        dql_buf_puts(b, "\xe2\x80\xa6");
        len = b->len;
        c.w = (uint32_t)p->o.maxwidth;
    }
    c.s = dql_arena_memdup(&p->arena, b->p ? b->p : "", len ? len : 1);
    c.n = (uint32_t)len;
    return c;
}

/* Appends a CSV field (RFC 4180: quoted when it holds the delimiter, a
 * quote or a line break; quotes doubled). */
static void buf_csv(dql_buf *b, const char *s, size_t n, char d)
{
    bool q = false;
    for (size_t i = 0; i < n && !q; i++)
        q = s[i] == d || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!q) {
        dql_buf_put(b, s, n);
        return;
    }
    dql_buf_putc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '"') continue;
        dql_buf_put(b, s + run, i + 1 - run);   /* through the quote */
        dql_buf_putc(b, '"');
        run = i + 1;
    }
    dql_buf_put(b, s + run, n - run);
    dql_buf_putc(b, '"');
}

/* Appends a TSV field: tab, newline, carriage return and backslash escaped;
 * runs of plain bytes are copied whole. */
static void print_header_sv(dql_printer *p)
{
    dql_buf *b = &p->line;
    for (int j = 0; j < p->ncols; j++) {
        if (j)
            dql_buf_putc(b, p->o.mode == DQL_OUT_CSV ? ',' : '\t');
        if (p->o.mode == DQL_OUT_CSV)
            buf_csv(b, p->label[j], strlen(p->label[j]), ',');
        else
            dql_buf_tsv(b, p->label[j], strlen(p->label[j]));
    }
    dql_buf_putc(b, '\n');
}

/* Writes the csv/tsv rows collected in line. */
static void flush_line(dql_printer *p)
{
    if (p->line.len && (p->o.mode == DQL_OUT_CSV || p->o.mode == DQL_OUT_TSV))
        fwrite(p->line.p, 1, p->line.len, p->fp);
    p->line.len = 0;
}

static void json_object(dql_printer *p, const dql_value *row)
{
    dql_buf *b = &p->line;
    b->len = 0;
    dql_buf_putc(b, '{');
    for (int j = 0; j < p->ncols; j++) {
        if (j)
            dql_buf_putc(b, ',');
        dql_json_string(b, p->label[j], strlen(p->label[j]));
        dql_buf_putc(b, ':');
        if (row[j].type == DQL_T_NULL)
            dql_buf_puts(b, "null");
        else
            dql_value_json(b, row[j]);
    }
    dql_buf_putc(b, '}');
    fwrite(b->p, 1, b->len, p->fp);
}

static void line_row(dql_printer *p, const dql_value *row)
{
    int w = 5;
    for (int j = 0; j < p->ncols; j++) {
        int lw = (int)utf8_width(p->label[j], strlen(p->label[j]));
        if (lw > w)
            w = lw;
    }
    if (p->shown > 0)
        putc('\n', p->fp);
    for (int j = 0; j < p->ncols; j++) {
        int lw = (int)utf8_width(p->label[j], strlen(p->label[j]));
        fprintf(p->fp, "%*s%s = ", w - lw, "", p->label[j]);
        if (row[j].type == DQL_T_NULL) {
            fputs(p->o.nullvalue, p->fp);
        } else {
            const char *s;
            size_t n;
            value_text(p, row[j], &s, &n);
            cell c = make_cell(p, s, n, false);
            fwrite(c.s, 1, c.n, p->fp);
        }
        putc('\n', p->fp);
    }
}

void dql_printer_flush(dql_printer *p) { flush_line(p); }

void dql_printer_row(dql_printer *p, const dql_value *row)
{
    uint64_t k = p->total++;
    const char *s;
    size_t n;
    switch (p->o.mode) {
    case DQL_OUT_TSV: {
        /* rows are appended to line and written flush_at bytes at a time */
        dql_buf *b = &p->line;
        if (k == 0 && p->o.headers)
            print_header_sv(p);
        dql_row_format_tsv(b, row, p->ncols, p->nulltext.p, p->nulltext.len);
        if (b->len >= p->flush_at)
            flush_line(p);
        return;
    }
    case DQL_OUT_CSV: {
        dql_buf *b = &p->line;
        if (k == 0 && p->o.headers)
            print_header_sv(p);
        for (int j = 0; j < p->ncols; j++) {
            if (j)
                dql_buf_putc(b, ',');
            dql_type t = (dql_type)row[j].type;
            if (t == DQL_T_NULL) {
                dql_buf_put(b, p->nulltext.p, p->nulltext.len);
                continue;
            }
            if (t != DQL_T_CHARARRAY && t != DQL_T_BYTEARRAY && t != DQL_T_DOMAIN) {
                /* format straight into the line; quote only if needed
                 * (only strings inside a container can need it) */
                size_t at = b->len;
                dql_value_format(b, row[j]);
                if (t != DQL_T_TUPLE && t != DQL_T_BAG && t != DQL_T_MAP)
                    continue;
                bool plain = true;
                for (size_t i = at; i < b->len && plain; i++) {
                    unsigned char c = (unsigned char)b->p[i];
                    plain = !(c == ',' || c == '"' || c == '\n' || c == '\r');
                }
                if (plain)
                    continue;
                p->tmp.len = 0;
                dql_buf_put(&p->tmp, b->p + at, b->len - at);
                b->len = at;
                s = p->tmp.p;
                n = p->tmp.len;
            } else {
                s = row[j].u.s;
                n = row[j].len;
            }
            buf_csv(b, s, n, ',');
        }
        dql_buf_putc(b, '\n');
        if (b->len >= p->flush_at)
            flush_line(p);
        return;
    }
    case DQL_OUT_JSON:
        fputs(k == 0 ? "[" : ",\n", p->fp);
        json_object(p, row);
        return;
    case DQL_OUT_JSONL:
        json_object(p, row);
        putc('\n', p->fp);
        return;
    case DQL_OUT_LINE:
        if (p->o.maxrows > 0 && p->shown >= (uint64_t)p->o.maxrows)
            return;
        line_row(p, row);
        p->shown++;
        return;
    default:
        break;
    }
    /* table, box, markdown */
    if (p->o.maxrows > 0 && p->nbuf >= (size_t)p->o.maxrows)
        return;
    if (p->nbuf == p->capbuf) {
        p->capbuf = p->capbuf ? 2 * p->capbuf : 64;
        p->cells = dql_xrealloc(p->cells, p->capbuf * (size_t)(p->ncols ? p->ncols : 1) * sizeof *p->cells);
    }
    cell *c = p->cells + p->nbuf * (size_t)p->ncols;
    for (int j = 0; j < p->ncols; j++) {
        if (row[j].type == DQL_T_NULL) {
            c[j] = make_cell(p, p->o.nullvalue, strlen(p->o.nullvalue), p->numcol[j]);
        } else {
            value_text(p, row[j], &s, &n);
            c[j] = make_cell(p, s, n, is_number(row[j]));
        }
    }
    p->nbuf++;
}

static void pad(FILE *fp, uint32_t k)
{
    while (k--)
        putc(' ', fp);
}

static void rep(FILE *fp, const char *s, uint32_t k)
{
    while (k--)
        fputs(s, fp);
}

/* A cell padded to width w: left, right or centered. */
static void put_padded(FILE *fp, const char *s, uint32_t n, uint32_t cw, uint32_t w, int align)
{
    uint32_t gap = w > cw ? w - cw : 0;
    uint32_t left = align > 0 ? gap : align == 0 ? gap / 2 : 0;
    pad(fp, left);
    fwrite(s, 1, n, fp);
    pad(fp, gap - left);
}

/* Horizontal rule for table/box: pos 0 top, 1 middle, 2 bottom. */
static void rule(dql_printer *p, const uint32_t *w, int pos)
{
    bool box = p->o.mode == DQL_OUT_BOX;
    static const char *const bl[3] = { "\xe2\x94\x8c", "\xe2\x94\x9c", "\xe2\x94\x94" };  /* ┌ ├ └ */
    static const char *const bm[3] = { "\xe2\x94\xac", "\xe2\x94\xbc", "\xe2\x94\xb4" };  /* ┬ ┼ ┴ */
    static const char *const br[3] = { "\xe2\x94\x90", "\xe2\x94\xa4", "\xe2\x94\x98" };  /* ┐ ┤ ┘ */
    const char *h = box ? "\xe2\x94\x80" : "-";
    fputs(box ? bl[pos] : "+", p->fp);
    for (int j = 0; j < p->ncols; j++) {
        if (j)
            fputs(box ? bm[pos] : "+", p->fp);
        rep(p->fp, h, w[j] + 2);
    }
    fputs(box ? br[pos] : "+", p->fp);
    putc('\n', p->fp);
}

static void print_table(dql_printer *p)
{
    int nc = p->ncols;
    bool md = p->o.mode == DQL_OUT_MARKDOWN, box = p->o.mode == DQL_OUT_BOX;
    bool hdr = p->o.headers;
    if (nc == 0 || (p->nbuf == 0 && !hdr))
        return;
    uint32_t *w = dql_xcalloc((size_t)nc, sizeof *w);
    uint32_t *hw = dql_xcalloc((size_t)nc, sizeof *hw);
    cell *hc = dql_xcalloc((size_t)nc, sizeof *hc);
    for (int j = 0; j < nc; j++) {
        hc[j] = make_cell(p, p->label[j], strlen(p->label[j]), p->numcol[j]);
        hw[j] = hc[j].w;
        w[j] = hdr ? hw[j] : 1;
        if (md && w[j] < 3)
            w[j] = 3;
    }
    for (size_t i = 0; i < p->nbuf; i++)
        for (int j = 0; j < nc; j++)
            if (p->cells[i * (size_t)nc + (size_t)j].w > w[j])
                w[j] = p->cells[i * (size_t)nc + (size_t)j].w;
    const char *vbar = md ? "|" : box ? "\xe2\x94\x82" : "|";
    if (!md)
        rule(p, w, 0);
    if (hdr) {
        for (int j = 0; j < nc; j++) {
            fputs(j ? " " : "", p->fp);
            fputs(vbar, p->fp);
            putc(' ', p->fp);
            put_padded(p->fp, hc[j].s, hc[j].n, hc[j].w, w[j], md ? -1 : 0);
        }
        fprintf(p->fp, " %s\n", vbar);
        if (md) {
            for (int j = 0; j < nc; j++) {
                fputs("|", p->fp);
                rep(p->fp, "-", w[j] + (p->numcol[j] ? 1 : 2));
                if (p->numcol[j])
                    putc(':', p->fp);
            }
            fputs("|\n", p->fp);
        } else {
            rule(p, w, 1);
        }
    }
    for (size_t i = 0; i < p->nbuf; i++) {
        const cell *c = p->cells + i * (size_t)nc;
        for (int j = 0; j < nc; j++) {
            fputs(j ? " " : "", p->fp);
            fputs(vbar, p->fp);
            putc(' ', p->fp);
            put_padded(p->fp, c[j].s, c[j].n, c[j].w, w[j], c[j].right ? 1 : -1);
        }
        fprintf(p->fp, " %s\n", vbar);
    }
    if (!md)
        rule(p, w, 2);
    free(w);
    free(hw);
    free(hc);
}

void dql_printer_end(dql_printer *p)
{
    uint64_t shown = p->total;
    flush_line(p);
    switch (p->o.mode) {
    case DQL_OUT_JSON:
        fputs(p->total ? "]\n" : "[]\n", p->fp);
        break;
    case DQL_OUT_LINE:
        shown = p->shown;
        break;
    case DQL_OUT_TABLE: case DQL_OUT_BOX: case DQL_OUT_MARKDOWN:
        print_table(p);
        shown = p->nbuf;
        break;
    default:
        break;
    }
    if (shown < p->total)
        fprintf(p->fp, "%llu of %llu rows shown; .last to see all\n",
                (unsigned long long)shown, (unsigned long long)p->total);
    fflush(p->fp);
    /* Ready for reuse. */
    p->nbuf = 0;
    p->total = 0;
    p->shown = 0;
    dql_arena_reset(&p->arena);
}

void dql_printer_free(dql_printer *p)
{
    if (!p)
        return;
    flush_line(p);   /* rows of a failed or interrupted DUMP stay printed */
    for (int j = 0; j < p->ncols; j++)
        free(p->label[j]);
    free(p->label);
    free(p->numcol);
    free(p->cells);
    dql_arena_free(&p->arena);
    dql_buf_free(&p->tmp);
    dql_buf_free(&p->line);
    dql_buf_free(&p->nulltext);
    free(p);
}
