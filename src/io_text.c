/* io_text.c — the text loaders (lines, csv, tsv, jsonl) and storers (csv,
 * tsv, jsonl, lines) behind LOAD ... USING and STORE ... USING.
 *
 * Loaders read through dql_reader (io_reader.c) and hand out string fields
 * without copying: at the start of every batch they call dql_reader_mark(),
 * which keeps all lines returned during the batch valid until the next
 * batch (the reader retires a buffer instead of overwriting it). Only values
 * that need decoding (CSV doubled quotes, TSV backslash escapes, records
 * spanning lines, typed values) are built in the batch arena. A batch never
 * spans two files, so closing a file never invalidates handed-out rows.
 *
 * Storers write a temporary file next to the target (path.tmp.XXXXXX) and
 * rename() it over the target on commit; abort unlinks it, so a failed STORE
 * leaves the old file untouched. Paths ending in ".gz" are gzip-compressed.
 * The user-visible behaviour is documented in doc/formats.md. */
#include "exec.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Reader extensions defined in io_reader.c (exec.h may not be edited). */
void dql_reader_mark(dql_reader *r);
const char *dql_reader_errmsg(const dql_reader *r);
dql_status dql_reader_range(dql_reader *r, uint64_t start, uint64_t end, char *err, size_t errlen);

#define CLIP 200                   /* bytes of a value shown in a warning */
#define MAX_RECORD (64u << 20)     /* a quoted CSV record may span this much */
#define OUT_FLUSH (1u << 20)

static inline int clip(size_t n) { return n > CLIP ? CLIP : (int)n; }

/* ------------------------------------------------------------- arguments */

typedef enum { K_LINES, K_CSV, K_TSV, K_JSONL } text_kind;

static const char *kind_name[] = { "lines", "csv", "tsv", "jsonl" };

/* Options common to the text formats, filled from the dql_args. */
typedef struct text_opts {
    text_kind kind;
    bool header;
    char delim;
    char quote;          /* 0: no quoting */
    bool backslash;      /* tsv escapes */
    int64_t skip;
    const char *null;    /* text meaning null, or NULL */
    size_t nulllen;
} text_opts;

/* Allowed argument names, in positional order. */
static const char *const load_args[4][5] = {
    { NULL },
    { "header", "delimiter", "quote", "skip", "null" },
    { "header", "delimiter", "quote", "skip", "null" },
    { NULL },
};
static const char *const store_args[4][4] = {
    { "null", NULL },
    { "header", "delimiter", "null", NULL },
    { "header", "delimiter", "null", NULL },
    { NULL },
};

static bool arg_bool(const dql_value *v, bool *out)
{
    if (v->type == DQL_T_BOOL || v->type == DQL_T_INT || v->type == DQL_T_LONG) {
        *out = v->u.i != 0;
        return true;
    }
    if (v->type == DQL_T_CHARARRAY) {
        if ((v->len == 4 && strncasecmp(v->u.s, "true", 4) == 0) || (v->len == 1 && v->u.s[0] == '1')) {
            *out = true;
            return true;
        }
        if ((v->len == 5 && strncasecmp(v->u.s, "false", 5) == 0) || (v->len == 1 && v->u.s[0] == '0')) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* A one-character argument: 'x', '\t' (escaped or real), 'tab', or ''
 * (allowed only when empty_ok: means "none"). */
static bool arg_char(const dql_value *v, bool empty_ok, char *out)
{
    if (v->type != DQL_T_CHARARRAY)
        return false;
    if (v->len == 0 && empty_ok) {
        *out = 0;
        return true;
    }
    if (v->len == 1) {
        *out = v->u.s[0];
        return *out != '\n' && *out != '\r';
    }
    if (v->len == 2 && v->u.s[0] == '\\' && v->u.s[1] == 't') {
        *out = '\t';
        return true;
    }
    if (v->len == 3 && strncasecmp(v->u.s, "tab", 3) == 0) {
        *out = '\t';
        return true;
    }
    return false;
}

/* Checks the argument names and reads the options. */
static bool parse_opts(const dql_args *args, text_kind kind, bool store, text_opts *o,
                       char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->kind = kind;
    if (kind == K_CSV) {
        o->header = true;
        o->delim = ',';
        o->quote = '"';
    } else if (kind == K_TSV) {
        o->delim = '\t';
        o->backslash = true;
    }
    const char *const *names = store ? store_args[kind] : load_args[kind];
    int nnames = 0;
    while (nnames < 5 && names[nnames])
        nnames++;
    const char *what = kind_name[kind];
    int npos = 0;
    for (int i = 0; args && i < args->n; i++) {
        const dql_arg *a = &args->a[i];
        const char *name = a->name;
        if (!name) {
            if (npos >= nnames) {
                snprintf(err, errlen, "%s: too many arguments", what);
                return false;
            }
            name = names[npos++];
        } else {
            int k = 0;
            while (k < nnames && strcmp(names[k], name) != 0)
                k++;
            if (k == nnames) {
                snprintf(err, errlen, "%s: unknown argument '%s'", what, name);
                return false;
            }
        }
        const dql_value *v = &a->v;
        if (strcmp(name, "header") == 0) {
            if (!arg_bool(v, &o->header)) {
                snprintf(err, errlen, "%s: header must be true or false", what);
                return false;
            }
        } else if (strcmp(name, "delimiter") == 0) {
            if (!arg_char(v, false, &o->delim) || o->delim == o->quote) {
                snprintf(err, errlen, "%s: delimiter must be one character", what);
                return false;
            }
        } else if (strcmp(name, "quote") == 0) {
            if (!arg_char(v, true, &o->quote) || (o->quote && o->quote == o->delim)) {
                snprintf(err, errlen, "%s: quote must be one character (or '' for none)", what);
                return false;
            }
        } else if (strcmp(name, "skip") == 0) {
            if ((v->type != DQL_T_LONG && v->type != DQL_T_INT) || v->u.i < 0) {
                snprintf(err, errlen, "%s: skip must be a non-negative number", what);
                return false;
            }
            o->skip = v->u.i;
        } else if (strcmp(name, "null") == 0) {
            if (v->type != DQL_T_CHARARRAY) {
                snprintf(err, errlen, "%s: null must be a string", what);
                return false;
            }
            o->null = v->u.s;
            o->nulllen = v->len;
        }
    }
    return true;
}

/* ----------------------------------------------------------- CSV splitting */

typedef struct slice {
    const char *s;
    size_t n;
    bool quoted;
} slice;

/* Splits one record into L->sl. Quoted fields are unescaped into the arena
 * only when they contain doubled quotes; TSV backslash escapes likewise.
 * Returns false when the record ends inside a quoted field. */
typedef struct splitter {
    slice *sl;
    int n, cap;
} splitter;

static void sl_push(splitter *sp, const char *s, size_t n, bool quoted)
{
    if (sp->n == sp->cap) {
        sp->cap = sp->cap ? 2 * sp->cap : 16;
        sp->sl = dql_xrealloc(sp->sl, (size_t)sp->cap * sizeof *sp->sl);
    }
    sp->sl[sp->n].s = s;
    sp->sl[sp->n].n = n;
    sp->sl[sp->n].quoted = quoted;
    sp->n++;
}

static const char *unbackslash(dql_arena *a, const char *s, size_t n, size_t *on)
{
    char *o = dql_arena_alloc(a, n + 1), *w = o;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\' || i + 1 == n) {
            *w++ = s[i];
            continue;
        }
        char c = s[++i];
        switch (c) {
        case 't': *w++ = '\t'; break;
        case 'n': *w++ = '\n'; break;
        case 'r': *w++ = '\r'; break;
        case '0': *w++ = '\0'; break;
        case '\\': *w++ = '\\'; break;
        default: *w++ = '\\'; *w++ = c; break;
        }
    }
    *on = (size_t)(w - o);
    return o;
}

static bool split_record(splitter *sp, const text_opts *o, dql_arena *a, const char *s, size_t n)
{
    char d = o->delim, q = o->quote;
    size_t i = 0;
    sp->n = 0;
    for (;;) {
        if (q && i < n && s[i] == q) {
            size_t j = i + 1;
            bool dq = false;
            const char *k;
            for (;;) {
                k = j < n ? memchr(s + j, q, n - j) : NULL;
                if (!k)
                    return false;
                if ((size_t)(k - s) + 1 < n && k[1] == q) {
                    dq = true;
                    j = (size_t)(k - s) + 2;
                    continue;
                }
                break;
            }
            size_t close = (size_t)(k - s);
            const char *fs = s + i + 1;
            size_t fn = close - i - 1;
            size_t after = close + 1;
            const char *dp = after < n ? memchr(s + after, d, n - after) : NULL;
            size_t fend = dp ? (size_t)(dp - s) : n;
            if (dq || fend > after) {
                /* Unescape "" and keep any text after the closing quote. */
                char *w = dql_arena_alloc(a, fn + (fend - after) + 1), *o0 = w;
                for (size_t t = 0; t < fn; t++) {
                    *w++ = fs[t];
                    if (fs[t] == q)
                        t++;
                }
                memcpy(w, s + after, fend - after);
                w += fend - after;
                fs = o0;
                fn = (size_t)(w - o0);
            }
            sl_push(sp, fs, fn, true);
            if (!dp)
                return true;
            i = fend + 1;
        } else {
            const char *dp = i < n ? memchr(s + i, d, n - i) : NULL;
            size_t fend = dp ? (size_t)(dp - s) : n;
            const char *fs = s + i;
            size_t fn = fend - i;
            if (o->backslash && fn && memchr(fs, '\\', fn))
                fs = unbackslash(a, fs, fn, &fn);
            sl_push(sp, fs, fn, false);
            if (!dp)
                return true;
            i = fend + 1;
        }
    }
}

/* True when a continuation line of a record still ends inside quotes,
 * given that it starts inside a quoted field. */
static bool still_open(const char *s, size_t n, char d, char q)
{
    bool inq = true;
    size_t i = 0;
    while (i < n) {
        if (inq) {
            const char *k = memchr(s + i, q, n - i);
            if (!k)
                return true;
            i = (size_t)(k - s) + 1;
            if (i < n && s[i] == q)
                i++;
            else
                inq = false;
        } else {
            const char *dp = memchr(s + i, d, n - i);
            if (!dp)
                return false;
            i = (size_t)(dp - s) + 1;
            if (i < n && s[i] == q) {
                inq = true;
                i++;
            }
        }
    }
    return inq;
}

/* ------------------------------------------------------------- loaders */

typedef struct tload {
    text_opts o;
    dql_exec *ex;
    dql_schema *schema;
    bool *needed;            /* csv/tsv: columns to convert (others are left null); NULL: all */
    dql_field rowhint;       /* jsonl: TUPLE of schema */
    char **paths;
    int npaths, ipath;
    uint64_t *sizes;         /* per file, for progress */
    uint64_t done_before;    /* bytes of the files already finished */
    dql_reader *rd;
    int64_t skip_left;
    bool header_left;
    splitter sp;
    bool ranged;             /* a sharded run reads [rstart, rend) of its one file */
    uint64_t rstart, rend;
    dql_buf rec;             /* a record spanning several lines */
    char kind_bad[DQL_T__COUNT][32];
} tload;

static void tload_free(tload *L)
{
    if (!L)
        return;
    if (L->rd)
        dql_reader_close(L->rd);
    dql_paths_free(L->paths);
    dql_schema_free(L->schema);
    free(L->needed);
    free(L->sizes);
    free(L->sp.sl);
    dql_buf_free(&L->rec);
    free(L);
}

/* Opens the file at L->ipath. */
static dql_status tload_open_file(tload *L)
{
    char err[512];
    dql_status st = dql_reader_open(L->paths[L->ipath], &L->rd, err, sizeof err);
    if (st != DQL_OK)
        return dql_exec_error_st(L->ex, DQL_ERR_IO, "%s", err);
    L->skip_left = L->o.skip;
    L->header_left = L->o.header && (L->o.kind == K_CSV || L->o.kind == K_TSV);
    if (L->ranged) {
        if (dql_reader_range(L->rd, L->rstart, L->rend, err, sizeof err) != DQL_OK)
            return dql_exec_error_st(L->ex, DQL_ERR_IO, "%s", err);
        /* skip and header count from the top of the file */
        uint64_t before = dql_reader_lineno(L->rd);
        L->skip_left = (uint64_t)L->o.skip > before ? L->o.skip - (int64_t)before : 0;
        if (L->rstart > 0) L->header_left = false;
    }
    return DQL_OK;
}

static dql_status reader_failed(tload *L)
{
    const char *m = dql_reader_errmsg(L->rd);
    return dql_exec_error_st(L->ex, DQL_ERR_IO, "%s: read error: %s",
                             dql_reader_path(L->rd), m ? m : "unknown error");
}

/* Next line of the current file, after the skip lines. DQL_EOF at its end. */
static dql_status tload_line(tload *L, const char **s, size_t *n)
{
    for (;;) {
        dql_status st = dql_reader_line(L->rd, s, n);
        if (st == DQL_ERR_IO)
            return reader_failed(L);
        if (st != DQL_OK)
            return st;
        if (L->skip_left > 0) {
            L->skip_left--;
            continue;
        }
        return DQL_OK;
    }
}

static bool is_blank_or_comment(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i == n || s[i] == '#';
}

/* Reads the next CSV/TSV record of the current file into L->sp (blank lines
 * skipped). *lineno is the record's first line. DQL_EOF at end of file. */
static dql_status next_record(tload *L, dql_arena *a, uint64_t *lineno, const char **rs, size_t *rn)
{
    const char *s;
    size_t n;
    dql_status st;
    do {
        st = tload_line(L, &s, &n);
        if (st != DQL_OK)
            return st;
    } while (n == 0);
    *lineno = dql_reader_lineno(L->rd);
    if (split_record(&L->sp, &L->o, a, s, n)) {
        *rs = s;
        *rn = n;
        return DQL_OK;
    }
    /* The record goes on past the end of the line (a quoted newline). */
    L->rec.len = 0;
    dql_buf_put(&L->rec, s, n);
    bool closed = false;
    while (L->rec.len < MAX_RECORD) {
        st = tload_line(L, &s, &n);
        if (st == DQL_EOF)
            break;
        if (st != DQL_OK)
            return st;
        dql_buf_putc(&L->rec, '\n');
        dql_buf_put(&L->rec, s, n);
        if (!still_open(s, n, L->o.delim, L->o.quote)) {
            closed = true;
            break;
        }
    }
    char *copy = dql_arena_memdup(a, L->rec.p, L->rec.len ? L->rec.len : 1);
    *rs = copy;
    *rn = L->rec.len;
    if (!closed) {
        st = dql_exec_warn(L->ex, "csv: unterminated quote",
                           "%s:%llu: unterminated quoted field: '%.*s'", dql_reader_path(L->rd),
                           (unsigned long long)*lineno, clip(L->rec.len), L->rec.p);
        if (st != DQL_OK)
            return st;
        /* Close the quote at the end of what was read. */
        char *c2 = dql_arena_alloc(a, L->rec.len + 2);
        memcpy(c2, L->rec.p, L->rec.len);
        c2[L->rec.len] = L->o.quote;
        if (!split_record(&L->sp, &L->o, a, c2, L->rec.len + 1))
            sl_push(&L->sp, c2, L->rec.len, false);
        return DQL_OK;
    }
    split_record(&L->sp, &L->o, a, copy, L->rec.len);
    return DQL_OK;
}

/* Converts text to a value of field f's type; false when it does not parse. */
static bool text_value(dql_arena *a, const dql_field *f, const char *s, size_t n, dql_value *v)
{
    switch (f->type) {
    case DQL_T_CHARARRAY: case DQL_T_BYTEARRAY: case DQL_T_ANY:
        *v = dql_str(f->type == DQL_T_ANY ? DQL_T_BYTEARRAY : f->type, s, n);
        return true;
    case DQL_T_TUPLE: case DQL_T_BAG: case DQL_T_MAP:
        return dql_json_parse_value(a, s, n, f, v, NULL, 0);
    default:
        return dql_value_parse(a, s, n, f->type, v);
    }
}

static const char *bad_kind(tload *L, dql_type t)
{
    char *k = L->kind_bad[t];
    if (!k[0])
        snprintf(k, sizeof L->kind_bad[t], "%s: bad %s", kind_name[L->o.kind], dql_type_name(t));
    return k;
}

static const char *field_label(const dql_schema *s, int j, char *tmp, size_t tn)
{
    if (s->f[j].name)
        return s->f[j].name;
    snprintf(tmp, tn, "$%d", j);
    return tmp;
}

/* Fills one row from the split fields. Returns a failing status only in
 * strict mode. */
static dql_status csv_row(tload *L, dql_arena *a, dql_value *row, uint64_t lineno, const char *rs, size_t rn)
{
    const dql_schema *S = L->schema;
    int nf = L->sp.n;
    const char *kw = kind_name[L->o.kind];
    dql_status st;
    if (nf != S->n) {
        bool few = nf < S->n;
        char kind[40];
        snprintf(kind, sizeof kind, "%s: too %s fields", kw, few ? "few" : "many");
        st = dql_exec_warn(L->ex, kind, "%s:%llu: too %s fields (%d, expected %d): '%.*s'",
                           dql_reader_path(L->rd), (unsigned long long)lineno, few ? "few" : "many",
                           nf, S->n, clip(rn), rs);
        if (st != DQL_OK)
            return st;
    }
    for (int j = 0; j < S->n; j++) {
        if (j >= nf) {
            row[j] = dql_null();
            continue;
        }
        if (L->needed && !L->needed[j]) {
            row[j] = dql_null();   /* no statement reads it: not converted */
            continue;
        }
        const slice *f = &L->sp.sl[j];
        if (!f->quoted) {
            if (f->n == 0 || (L->o.null && f->n == L->o.nulllen && memcmp(f->s, L->o.null, f->n) == 0) ||
                (L->o.backslash && f->n == 2 && f->s[0] == '\\' && f->s[1] == 'N')) {
                row[j] = dql_null();
                continue;
            }
        }
        dql_type t = S->f[j].type;
        if (t == DQL_T_CHARARRAY || t == DQL_T_BYTEARRAY) {
            row[j] = dql_str(t, f->s, f->n);
            continue;
        }
        if (f->n == 0 && t != DQL_T_ANY) {
            row[j] = dql_null();
            continue;
        }
        if (!text_value(a, &S->f[j], f->s, f->n, &row[j])) {
            char tmp[16];
            row[j] = dql_null();
            st = dql_exec_warn(L->ex, bad_kind(L, t), "%s:%llu: bad %s in field '%s': '%.*s'",
                               dql_reader_path(L->rd), (unsigned long long)lineno, dql_type_name(t),
                               field_label(S, j, tmp, sizeof tmp), clip(f->n), f->s);
            if (st != DQL_OK)
                return st;
        }
    }
    return DQL_OK;
}

/* Moves to the next file at a batch boundary. Returns DQL_EOF after the last. */
static dql_status tload_advance(tload *L)
{
    if (L->rd) {
        L->done_before += L->sizes[L->ipath];
        dql_reader_close(L->rd);
        L->rd = NULL;
        L->ipath++;
    }
    if (L->ipath >= L->npaths)
        return DQL_EOF;
    return tload_open_file(L);
}

/* next() for all four loaders. */
static dql_status tload_next(void *state, dql_batch *out, dql_arena *a)
{
    tload *L = state;
    out->n = 0;
    for (;;) {
        if (!L->rd) {
            dql_status st = tload_advance(L);
            if (st == DQL_EOF)
                return DQL_OK;
            if (st != DQL_OK)
                return st;
        }
        dql_reader_mark(L->rd);
        dql_status st = DQL_OK;
        switch (L->o.kind) {
        case K_LINES: {
            const dql_field *f = &L->schema->f[0];
            dql_type t = f->type;
            bool str = t == DQL_T_CHARARRAY || t == DQL_T_BYTEARRAY;
            dql_value *v = out->v;
            int ncols = out->ncols;
            while (out->n < out->cap) {
                const char *s;
                size_t n;
                st = dql_reader_line(L->rd, &s, &n);
                if (st != DQL_OK)
                    break;
                if (n == 0 || ((s[0] == '#' || s[0] == ' ' || s[0] == '\t') && is_blank_or_comment(s, n)))
                    continue;
                dql_value *row = v + (size_t)out->n * (size_t)ncols;
                if (str) {
                    row[0] = dql_str(t, s, n);
                } else if (!text_value(a, f, s, n, &row[0])) {
                    row[0] = dql_null();
                    st = dql_exec_warn(L->ex, bad_kind(L, t), "%s:%llu: bad %s: '%.*s'",
                                       dql_reader_path(L->rd),
                                       (unsigned long long)dql_reader_lineno(L->rd),
                                       dql_type_name(t), clip(n), s);
                    if (st != DQL_OK)
                        return st;
                }
                out->n++;
            }
            if (st == DQL_ERR_IO)
                return reader_failed(L);
            break;
        }
        case K_CSV: case K_TSV:
            while (out->n < out->cap) {
                uint64_t lineno;
                const char *rs;
                size_t rn;
                st = next_record(L, a, &lineno, &rs, &rn);
                if (st != DQL_OK)
                    break;
                if (L->header_left) {
                    L->header_left = false;
                    continue;
                }
                dql_status rst = csv_row(L, a, dql_batch_row(out, out->n), lineno, rs, rn);
                if (rst != DQL_OK)
                    return rst;
                out->n++;
            }
            break;
        case K_JSONL:
            while (out->n < out->cap) {
                const char *s;
                size_t n;
                st = tload_line(L, &s, &n);
                if (st != DQL_OK)
                    break;
                size_t i = 0;
                while (i < n && (s[i] == ' ' || s[i] == '\t'))
                    i++;
                if (i == n)
                    continue;
                uint64_t ln = dql_reader_lineno(L->rd);
                char why[160];
                unsigned nbad = 0;
                dql_value tv;
                bool ok = s[i] == '{';
                if (!ok)
                    snprintf(why, sizeof why, "not an object");
                else
                    ok = dql_json_parse_counted(a, s, n, &L->rowhint, &tv, &nbad, why, sizeof why);
                if (!ok) {
                    dql_status wst = dql_exec_warn(L->ex, "jsonl: invalid JSON", "%s:%llu: invalid JSON (%s): '%.*s'",
                                                   dql_reader_path(L->rd), (unsigned long long)ln,
                                                   why, clip(n), s);
                    if (wst != DQL_OK)
                        return wst;
                    continue;
                }
                if (nbad) {
                    dql_status wst = dql_exec_warn(L->ex, "jsonl: bad value",
                                                   "%s:%llu: %u value%s not of the declared type (null): '%.*s'",
                                                   dql_reader_path(L->rd), (unsigned long long)ln, nbad,
                                                   nbad > 1 ? "s" : "", clip(n), s);
                    if (wst != DQL_OK)
                        return wst;
                }
                dql_value *row = dql_batch_row(out, out->n);
                for (int j = 0; j < out->ncols; j++)
                    row[j] = j < (int)tv.u.t->n ? tv.u.t->v[j] : dql_null();
                out->n++;
            }
            break;
        }
        if (st == DQL_EOF) {
            /* End of this file. A non-empty batch goes out first: the
             * reader's buffers hold it, so the file is closed next call. */
            if (out->n > 0)
                return DQL_OK;
            dql_status ast = tload_advance(L);
            if (ast == DQL_EOF)
                return DQL_OK;
            if (ast != DQL_OK)
                return ast;
            continue;
        }
        if (st != DQL_OK)
            return st;
        return DQL_OK;
    }
}

static void tload_close(void *state)
{
    tload_free(state);
}

static void tload_progress(void *state, uint64_t *done, uint64_t *total)
{
    tload *L = state;
    uint64_t d = 0, t = 0;
    if (L->rd)
        dql_reader_progress(L->rd, &d, &t);
    *done = L->done_before + d;
    uint64_t sum = 0;
    for (int i = 0; i < L->npaths; i++)
        sum += L->sizes[i];
    *total = sum;
}

/* Makes a header cell a valid, unique field name. */
static char *clean_name(const char *s, size_t n, int col, const dql_schema *sofar)
{
    dql_buf b = {0};
    if (n == 0)
        dql_buf_printf(&b, "_%d", col);
    else {
        if (s[0] >= '0' && s[0] <= '9')
            dql_buf_putc(&b, '_');
        for (size_t i = 0; i < n; i++) {
            char c = s[i];
            bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
            dql_buf_putc(&b, ok ? c : '_');
        }
    }
    dql_buf_cstr(&b);
    size_t base = b.len;
    for (int k = 2;; k++) {
        bool dup = false;
        for (int i = 0; i < sofar->n && !dup; i++)
            dup = sofar->f[i].name && strcmp(sofar->f[i].name, b.p) == 0;
        if (!dup)
            break;
        b.len = base;
        dql_buf_printf(&b, "_%d", k);
    }
    char *r = dql_xstrdup(dql_buf_cstr(&b));
    dql_buf_free(&b);
    return r;
}

/* Builds the loader state (options and file list). */
static dql_status tload_setup(const dql_load_ctx *lc, text_kind kind, tload **out, char *err, size_t errlen)
{
    tload *L = dql_xcalloc(1, sizeof *L);
    *out = NULL;
    if (!parse_opts(lc->args, kind, false, &L->o, err, errlen)) {
        tload_free(L);
        return DQL_ERR_CHECK;
    }
    L->npaths = dql_paths_expand(lc->path, &L->paths, err, errlen);
    if (L->npaths <= 0) {
        tload_free(L);
        return DQL_ERR_CHECK;
    }
    L->sizes = dql_xcalloc((size_t)L->npaths, sizeof *L->sizes);
    for (int i = 0; i < L->npaths; i++) {
        struct stat st;
        if (strcmp(L->paths[i], "-") != 0 && stat(L->paths[i], &st) == 0 && S_ISREG(st.st_mode))
            L->sizes[i] = (uint64_t)st.st_size;
    }
    *out = L;
    return DQL_OK;
}

static bool atom_type(dql_type t)
{
    return t != DQL_T_TUPLE && t != DQL_T_BAG && t != DQL_T_MAP && t != DQL_T_NULL && t < DQL_T__COUNT;
}

/* Peeks at the first file to infer a schema (csv/tsv/jsonl without AS). */
static dql_status peek_schema(tload *L, const dql_load_ctx *lc, dql_schema **out, char *err, size_t errlen)
{
    const char *path = L->paths[0];
    if (strcmp(path, "-") == 0) {
        snprintf(err, errlen, "%s: cannot infer a schema from stdin: declare one with AS (...)",
                 kind_name[L->o.kind]);
        return DQL_ERR_CHECK;
    }
    dql_status st = dql_reader_open(path, &L->rd, err, errlen);
    if (st != DQL_OK)
        return DQL_ERR_CHECK;
    L->skip_left = L->o.skip;
    dql_arena a;
    dql_arena_init(&a);
    dql_schema *S = dql_schema_new(0);
    dql_status rc = DQL_OK;
    if (L->o.kind == K_JSONL) {
        const char *s;
        size_t n;
        for (;;) {
            st = tload_line(L, &s, &n);
            if (st != DQL_OK)
                break;
            size_t i = 0;
            while (i < n && (s[i] == ' ' || s[i] == '\t'))
                i++;
            if (i < n)
                break;
        }
        dql_value v;
        char why[160];
        if (st != DQL_OK) {
            snprintf(err, errlen, "jsonl: '%s' has no data to infer a schema from: declare one with AS (...)", path);
            rc = DQL_ERR_CHECK;
        } else if (!dql_json_parse_value(&a, s, n, NULL, &v, why, sizeof why) || v.type != DQL_T_MAP) {
            snprintf(err, errlen, "jsonl: %s:%llu: the first line is not a JSON object%s%s",
                     path, (unsigned long long)dql_reader_lineno(L->rd),
                     v.type == DQL_T_MAP || why[0] ? ": " : "", why);
            rc = DQL_ERR_CHECK;
        } else {
            for (uint32_t i = 0; i < v.u.m->n; i++) {
                dql_value k = v.u.m->k[i], x = v.u.m->v[i];
                char *name = dql_xstrndup(k.u.s, k.len);
                dql_type t = x.type == DQL_T_NULL ? DQL_T_BYTEARRAY : (dql_type)x.type;
                dql_schema *sub = NULL;
                if (t == DQL_T_BAG) {
                    sub = dql_schema_new(0);
                    dql_type et = DQL_T_BYTEARRAY;
                    if (x.u.b->n > 0 && x.u.b->t[0]->n > 0 && x.u.b->t[0]->v[0].type != DQL_T_NULL)
                        et = (dql_type)x.u.b->t[0]->v[0].type;
                    dql_schema_add(sub, NULL, et, NULL);
                }
                if (dql_schema_find(S, name) < 0)
                    dql_schema_add(S, name, t, sub);
                dql_schema_free(sub);
                free(name);
            }
        }
    } else {
        uint64_t ln;
        const char *rs;
        size_t rn;
        st = next_record(L, &a, &ln, &rs, &rn);
        if (st == DQL_EOF) {
            snprintf(err, errlen, "%s: '%s' is empty: declare a schema with AS (...)", kind_name[L->o.kind], path);
            rc = DQL_ERR_CHECK;
        } else if (st != DQL_OK) {
            snprintf(err, errlen, "%s: cannot read '%s'", kind_name[L->o.kind], path);
            rc = DQL_ERR_CHECK;
        } else {
            for (int j = 0; j < L->sp.n; j++) {
                if (L->o.header) {
                    char *nm = clean_name(L->sp.sl[j].s, L->sp.sl[j].n, j, S);
                    dql_schema_add(S, nm, DQL_T_CHARARRAY, NULL);
                    free(nm);
                } else {
                    dql_schema_add(S, NULL, DQL_T_BYTEARRAY, NULL);
                }
            }
        }
    }
    dql_arena_free(&a);
    dql_reader_close(L->rd);
    L->rd = NULL;
    if (rc != DQL_OK) {
        dql_schema_free(S);
        return rc;
    }
    *out = S;
    return DQL_OK;
}

static dql_status tload_plan(const dql_load_ctx *lc, text_kind kind, dql_schema **out, char *err, size_t errlen)
{
    tload *L;
    *out = NULL;
    dql_status st = tload_setup(lc, kind, &L, err, errlen);
    if (st != DQL_OK)
        return st;
    const dql_schema *D = lc->declared;
    if (kind == K_LINES) {
        if (D) {
            if (D->n != 1 || !atom_type(D->f[0].type)) {
                snprintf(err, errlen, "lines: the schema must be exactly one field of an atom type");
                tload_free(L);
                return DQL_ERR_CHECK;
            }
            *out = dql_schema_copy(D);
        } else {
            *out = dql_schema_new(0);
            dql_schema_add(*out, "line", DQL_T_CHARARRAY, NULL);
        }
    } else if (D) {
        *out = dql_schema_copy(D);
    } else {
        st = peek_schema(L, lc, out, err, errlen);
    }
    tload_free(L);
    return st;
}

/* A sharded run: one plain file is split by byte range at line boundaries
 * (not CSV with quoting, where a quoted newline could straddle a boundary);
 * several files, or a compressed one, are shared out whole and in order. */
static void shard_paths(tload *L, text_kind kind, int shard, int nshards)
{
    if (L->npaths == 1 && (kind != K_CSV || L->o.quote == 0) && dql_path_splittable(L->paths[0])) {
        L->ranged = true;
        L->rstart = L->sizes[0] * (uint64_t)shard / (uint64_t)nshards;
        L->rend = L->sizes[0] * (uint64_t)(shard + 1) / (uint64_t)nshards;
        L->sizes[0] = L->rend - L->rstart;
        return;
    }
    L->npaths = dql_paths_shard(L->paths, L->sizes, L->npaths, shard, nshards);
}

static dql_status tload_open(const dql_load_ctx *lc, const dql_schema *schema, dql_exec *ex,
                             text_kind kind, void **state)
{
    tload *L;
    char err[512];
    *state = NULL;
    if (tload_setup(lc, kind, &L, err, sizeof err) != DQL_OK)
        return dql_exec_error_st(ex, DQL_ERR_IO, "%s", err);
    L->ex = ex;
    L->schema = dql_schema_copy(schema);
    if (lc->needed) {
        L->needed = dql_xmalloc(sizeof(bool) * (size_t)(schema->n + 1));
        memcpy(L->needed, lc->needed, sizeof(bool) * (size_t)schema->n);
    }
    L->rowhint.type = DQL_T_TUPLE;
    L->rowhint.sub = L->schema;
    if (lc->nshards > 1) shard_paths(L, kind, lc->shard, lc->nshards);
    *state = L;
    return DQL_OK;
}

static dql_status lines_plan(const dql_load_ctx *lc, dql_schema **out, char *err, size_t errlen)
{ return tload_plan(lc, K_LINES, out, err, errlen); }
static dql_status csv_plan(const dql_load_ctx *lc, dql_schema **out, char *err, size_t errlen)
{ return tload_plan(lc, K_CSV, out, err, errlen); }
static dql_status tsv_plan(const dql_load_ctx *lc, dql_schema **out, char *err, size_t errlen)
{ return tload_plan(lc, K_TSV, out, err, errlen); }
static dql_status jsonl_plan(const dql_load_ctx *lc, dql_schema **out, char *err, size_t errlen)
{ return tload_plan(lc, K_JSONL, out, err, errlen); }

static dql_status lines_open(const dql_load_ctx *lc, const dql_schema *s, dql_exec *ex, void **st)
{ return tload_open(lc, s, ex, K_LINES, st); }
static dql_status csv_open(const dql_load_ctx *lc, const dql_schema *s, dql_exec *ex, void **st)
{ return tload_open(lc, s, ex, K_CSV, st); }
static dql_status tsv_open(const dql_load_ctx *lc, const dql_schema *s, dql_exec *ex, void **st)
{ return tload_open(lc, s, ex, K_TSV, st); }
static dql_status jsonl_open(const dql_load_ctx *lc, const dql_schema *s, dql_exec *ex, void **st)
{ return tload_open(lc, s, ex, K_JSONL, st); }

const dql_loader_def dql_loader_lines = {
    "lines", "lines()",
    "one field per line (default line: chararray); blank and '#' lines skipped",
    lines_plan, lines_open, tload_next, tload_close, tload_progress, "byte range (one file) or file",
};
const dql_loader_def dql_loader_csv = {
    "csv", "csv([header = true], [delimiter = ','], [quote = '\"'], [skip = 0], [null = 'text'])",
    "RFC 4180 comma-separated values; schema from AS, the header, or the first record",
    csv_plan, csv_open, tload_next, tload_close, tload_progress, "byte range (one file, quote = '') or file",
};
const dql_loader_def dql_loader_tsv = {
    "tsv", "tsv([header = false], [delimiter = '\\t'], [quote = ''], [skip = 0], [null = 'text'])",
    "tab-separated values with backslash escapes (\\t \\n \\\\; \\N is null)",
    tsv_plan, tsv_open, tload_next, tload_close, tload_progress, "byte range (one file) or file",
};
const dql_loader_def dql_loader_jsonl = {
    "jsonl", "jsonl()",
    "one JSON object per line; fields by name (AS) or from the first object's keys",
    jsonl_plan, jsonl_open, tload_next, tload_close, tload_progress, "byte range (one file) or file",
};

/* ------------------------------------------------------------- storers */

typedef struct tstore {
    text_opts o;
    dql_exec *ex;
    const dql_schema *schema;
    char *path, *tmp;
    int fd;
    gzFile gz;
    bool to_stdout;
    bool failed;
    dql_buf out;
    dql_buf cell;
} tstore;

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static char *dir_of(const char *path)
{
    const char *sl = strrchr(path, '/');
    if (!sl)
        return dql_xstrdup(".");
    if (sl == path)
        return dql_xstrdup("/");
    return dql_xstrndup(path, (size_t)(sl - path));
}

dql_status dql_output_check(const char *path, bool overwrite, char *err, size_t errlen)
{
    if (strcmp(path, "-") == 0)
        return DQL_OK;
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "output '%s' is a directory", path);
            return DQL_ERR_CHECK;
        }
        if (!overwrite) {
            snprintf(err, errlen, "output '%s' exists (use STORE ... OVERWRITE or SET overwrite true)", path);
            return DQL_ERR_CHECK;
        }
    }
    char *dir = dir_of(path);
    dql_status rc = DQL_OK;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "cannot write '%s': no such directory '%s'", path, dir);
        rc = DQL_ERR_CHECK;
    } else if (access(dir, W_OK | X_OK) != 0) {
        snprintf(err, errlen, "cannot write '%s': directory '%s': %s", path, dir, strerror(errno));
        rc = DQL_ERR_CHECK;
    }
    free(dir);
    return rc;
}

static dql_status tstore_plan(const dql_store_ctx *sc, text_kind kind, char *err, size_t errlen)
{
    text_opts o;
    if (!parse_opts(sc->args, kind, true, &o, err, errlen))
        return DQL_ERR_CHECK;
    return dql_output_check(sc->path, sc->overwrite, err, errlen);
}

static void tstore_free(tstore *W)
{
    if (!W)
        return;
    dql_buf_free(&W->out);
    dql_buf_free(&W->cell);
    free(W->path);
    free(W->tmp);
    free(W);
}

/* Writes the buffered output. */
static dql_status tstore_flush(tstore *W)
{
    if (W->failed)
        return DQL_ERR_IO;
    size_t off = 0;
    if (W->gz) {
        while (off < W->out.len) {
            size_t chunk = W->out.len - off;
            if (chunk > (1u << 30))
                chunk = 1u << 30;
            int n = gzwrite(W->gz, W->out.p + off, (unsigned)chunk);
            if (n <= 0) {
                int e;
                const char *m = gzerror(W->gz, &e);
                W->failed = true;
                return dql_exec_error_st(W->ex, DQL_ERR_IO, "cannot write '%s': %s", W->path,
                                         e == Z_ERRNO ? strerror(errno) : m);
            }
            off += (size_t)n;
        }
    } else {
        while (off < W->out.len) {
            ssize_t n = write(W->fd, W->out.p + off, W->out.len - off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                W->failed = true;
                return dql_exec_error_st(W->ex, DQL_ERR_IO, "cannot write '%s': %s", W->path, strerror(errno));
            }
            off += (size_t)n;
        }
    }
    W->out.len = 0;
    return DQL_OK;
}

static const char *label(const dql_schema *s, int j, char *tmp, size_t tn)
{
    return field_label(s, j, tmp, tn);
}

/* Appends a csv cell: quoted when it holds the delimiter, a quote, CR or LF,
 * or when it is the empty string (an empty unquoted cell means null). */
static void put_csv_cell(dql_buf *b, const char *s, size_t n, char d, bool empty_quoted)
{
    bool q = n == 0 && empty_quoted;
    for (size_t i = 0; i < n && !q; i++)
        q = s[i] == d || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!q) {
        dql_buf_put(b, s, n);
        return;
    }
    dql_buf_putc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') {
            dql_buf_put(b, s + run, i + 1 - run);
            dql_buf_putc(b, '"');
            run = i + 1;
        }
    }
    dql_buf_put(b, s + run, n - run);
    dql_buf_putc(b, '"');
}

/* Text of a non-null value: strings as they are, the rest via dql_value_format. */
static void cell_text(dql_buf *tmp, dql_value v, const char **s, size_t *n)
{
    if (v.type == DQL_T_CHARARRAY || v.type == DQL_T_BYTEARRAY || v.type == DQL_T_DOMAIN) {
        *s = v.u.s;
        *n = v.len;
        return;
    }
    tmp->len = 0;
    dql_value_format(tmp, v);
    *s = tmp->p ? tmp->p : "";
    *n = tmp->len;
}

static void put_field(tstore *W, dql_value v)
{
    if (v.type == DQL_T_NULL) {
        if (W->o.null)
            dql_buf_put(&W->out, W->o.null, W->o.nulllen);
        return;
    }
    const char *s;
    size_t n;
    cell_text(&W->cell, v, &s, &n);
    if (W->o.kind == K_CSV)
        put_csv_cell(&W->out, s, n, W->o.delim, true);
    else if (W->o.kind == K_TSV)
        dql_buf_tsv(&W->out, s, n);
    else
        dql_buf_put(&W->out, s, n);
}

static dql_status tstore_open(const dql_store_ctx *sc, dql_exec *ex, text_kind kind, void **state)
{
    char err[512];
    *state = NULL;
    tstore *W = dql_xcalloc(1, sizeof *W);
    W->fd = -1;
    W->ex = ex;
    W->schema = sc->schema;
    W->path = dql_xstrdup(sc->path);
    if (!parse_opts(sc->args, kind, true, &W->o, err, sizeof err)) {
        tstore_free(W);
        return dql_exec_error_st(ex, DQL_ERR_USAGE, "%s", err);
    }
    if (strcmp(sc->path, "-") == 0) {
        W->to_stdout = true;
        fflush(stdout);
        W->fd = 1;
    } else {
        size_t n = strlen(sc->path);
        W->tmp = dql_xmalloc(n + 16);
        memcpy(W->tmp, sc->path, n);
        memcpy(W->tmp + n, ".tmp.XXXXXX", 12);
        W->fd = mkstemp(W->tmp);
        if (W->fd < 0) {
            dql_status st = dql_exec_error_st(ex, DQL_ERR_IO, "cannot write '%s': %s", sc->path, strerror(errno));
            tstore_free(W);
            return st;
        }
        /* mkstemp creates 0600: give the file the usual permissions (or the old file's). */
        struct stat st;
        mode_t mode;
        if (stat(sc->path, &st) == 0) {
            mode = st.st_mode & 07777;
        } else {
            mode_t um = umask(0);
            umask(um);
            mode = 0666 & ~um;
        }
        if (fchmod(W->fd, mode) != 0) {
            /* not fatal */
        }
        if (ends_with(sc->path, ".gz")) {
            W->gz = gzdopen(W->fd, "wb6");
            if (!W->gz) {
                close(W->fd);
                unlink(W->tmp);
                dql_status rs = dql_exec_error_st(ex, DQL_ERR_IO, "cannot write '%s': gzip setup failed", sc->path);
                tstore_free(W);
                return rs;
            }
            gzbuffer(W->gz, 1u << 20);
        }
    }
    if (W->o.header && (kind == K_CSV || kind == K_TSV)) {
        const dql_schema *S = W->schema;
        for (int j = 0; j < S->n; j++) {
            char tmp[16];
            const char *nm = label(S, j, tmp, sizeof tmp);
            if (j)
                dql_buf_putc(&W->out, W->o.delim);
            if (kind == K_CSV)
                put_csv_cell(&W->out, nm, strlen(nm), W->o.delim, false);
            else
                dql_buf_tsv(&W->out, nm, strlen(nm));
        }
        dql_buf_putc(&W->out, '\n');
    }
    *state = W;
    return DQL_OK;
}

static dql_status tstore_write(void *state, const dql_batch *b)
{
    tstore *W = state;
    const dql_schema *S = W->schema;
    int nc = b->ncols;
    for (int i = 0; i < b->n; i++) {
        const dql_value *row = b->v + (size_t)i * (size_t)nc;
        switch (W->o.kind) {
        case K_LINES:
            if (nc > 0)
                put_field(W, row[0]);
            break;
        case K_CSV: case K_TSV:
            for (int j = 0; j < nc; j++) {
                if (j)
                    dql_buf_putc(&W->out, W->o.delim);
                put_field(W, row[j]);
            }
            break;
        case K_JSONL:
            dql_buf_putc(&W->out, '{');
            for (int j = 0; j < nc; j++) {
                char tmp[16];
                const char *nm = j < S->n ? label(S, j, tmp, sizeof tmp) : (snprintf(tmp, sizeof tmp, "$%d", j), tmp);
                if (j)
                    dql_buf_putc(&W->out, ',');
                dql_json_string(&W->out, nm, strlen(nm));
                dql_buf_putc(&W->out, ':');
                if (row[j].type == DQL_T_NULL)
                    dql_buf_puts(&W->out, "null");
                else
                    dql_value_json(&W->out, row[j]);
            }
            dql_buf_putc(&W->out, '}');
            break;
        }
        dql_buf_putc(&W->out, '\n');
        if (W->out.len >= OUT_FLUSH) {
            dql_status st = tstore_flush(W);
            if (st != DQL_OK)
                return st;
        }
    }
    return DQL_OK;
}

static dql_status tstore_commit(void *state)
{
    tstore *W = state;
    dql_status st = tstore_flush(W);
    if (st != DQL_OK) {
        /* the caller will abort() */
        return st;
    }
    if (W->to_stdout) {
        tstore_free(W);
        return DQL_OK;
    }
    int rc;
    if (W->gz) {
        rc = gzclose(W->gz) == Z_OK ? 0 : -1;
        W->gz = NULL;
    } else {
        rc = close(W->fd);
    }
    W->fd = -1;
    if (rc != 0) {
        st = dql_exec_error_st(W->ex, DQL_ERR_IO, "cannot write '%s': %s", W->path, strerror(errno));
        unlink(W->tmp);
        W->failed = true;
        free(W->tmp);
        W->tmp = NULL;
        return st;
    }
    if (rename(W->tmp, W->path) != 0) {
        st = dql_exec_error_st(W->ex, DQL_ERR_IO, "cannot rename '%s' to '%s': %s", W->tmp, W->path, strerror(errno));
        unlink(W->tmp);
        free(W->tmp);
        W->tmp = NULL;
        W->failed = true;
        return st;
    }
    tstore_free(W);
    return DQL_OK;
}

static void tstore_abort(void *state)
{
    tstore *W = state;
    if (!W)
        return;
    if (!W->to_stdout) {
        if (W->gz)
            gzclose(W->gz);
        else if (W->fd >= 0)
            close(W->fd);
        if (W->tmp)
            unlink(W->tmp);
    } else {
        tstore_flush(W);
    }
    tstore_free(W);
}

static dql_status csv_splan(const dql_store_ctx *sc, char *err, size_t errlen)
{ return tstore_plan(sc, K_CSV, err, errlen); }
static dql_status tsv_splan(const dql_store_ctx *sc, char *err, size_t errlen)
{ return tstore_plan(sc, K_TSV, err, errlen); }
static dql_status jsonl_splan(const dql_store_ctx *sc, char *err, size_t errlen)
{ return tstore_plan(sc, K_JSONL, err, errlen); }
static dql_status lines_splan(const dql_store_ctx *sc, char *err, size_t errlen)
{ return tstore_plan(sc, K_LINES, err, errlen); }
static dql_status csv_sopen(const dql_store_ctx *sc, dql_exec *ex, void **st)
{ return tstore_open(sc, ex, K_CSV, st); }
static dql_status tsv_sopen(const dql_store_ctx *sc, dql_exec *ex, void **st)
{ return tstore_open(sc, ex, K_TSV, st); }
static dql_status jsonl_sopen(const dql_store_ctx *sc, dql_exec *ex, void **st)
{ return tstore_open(sc, ex, K_JSONL, st); }
static dql_status lines_sopen(const dql_store_ctx *sc, dql_exec *ex, void **st)
{ return tstore_open(sc, ex, K_LINES, st); }

const dql_storer_def dql_storer_csv = {
    "csv", "csv([header = true], [delimiter = ','], [null = ''])",
    "RFC 4180 CSV file (atomic: written to a temporary file, renamed on success)",
    csv_splan, csv_sopen, tstore_write, tstore_commit, tstore_abort, NULL, NULL,
};
const dql_storer_def dql_storer_tsv = {
    "tsv", "tsv([header = false], [delimiter = '\\t'], [null = ''])",
    "tab-separated file; tab, newline, CR and backslash escaped as \\t \\n \\r \\\\",
    tsv_splan, tsv_sopen, tstore_write, tstore_commit, tstore_abort, NULL, NULL,
};
const dql_storer_def dql_storer_jsonl = {
    "jsonl", "jsonl()",
    "one JSON object per row, keys are the field names ($0, $1 ... when unnamed)",
    jsonl_splan, jsonl_sopen, tstore_write, tstore_commit, tstore_abort, NULL, NULL,
};
const dql_storer_def dql_storer_lines = {
    "lines", "lines([null = ''])",
    "the first field of each row, one per line",
    lines_splan, lines_sopen, tstore_write, tstore_commit, tstore_abort, NULL, NULL,
};
