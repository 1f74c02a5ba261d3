/* zone_scan.c — the streaming master-file scanner (see zone.h).
 *
 * Input is read in large blocks into one buffer per open file. A record is
 * cut into tokens in one pass over the buffer (parentheses, comments,
 * quotes and escapes handled there); when the buffer ends inside a record,
 * the unread tail is moved to the front, more is read, and the record is
 * cut again — so a record is always whole in the buffer and tokens point
 * into it. Then the owner, TTL, class and type are read and the rdata is
 * converted to wire form (zone_rdata.c) into the scanner's own array.
 * Nothing is allocated per record.
 *
 * Errors: a bad record (owner, TTL, type, rdata, a bad $GENERATE) is
 * reported as DQL_ZONE_BAD and skipped; what makes the rest of the input
 * meaningless (unbalanced parentheses, a bad $ORIGIN / $TTL / $INCLUDE, an
 * unreadable file) is DQL_ZONE_FATAL, after which the scanner returns EOF.
 * Messages follow BIND: "file:line: error: message near 'token'".
 *
 * Zone-level checks (dql_zone_opts.checks, on in the loader) run over each
 * run of consecutive records with the same owner, with O(1) state: CNAME
 * and other data, DS at the apex, DS at a name without NS. A DS that comes
 * before the NS of its owner is held back (with the records after it) until
 * the NS arrives or the run ends; see "Zone-level checks" below. */
#include "zone.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define BUF_SIZE (1u << 20)          /* read size and initial buffer */
#define MAX_RECORD (16u << 20)       /* one record (with its comments) */
#define MAX_TOKENS_INIT 64
#define GEN_MAX_LINE 8192

/* One open file (the top-level one or an $INCLUDEd one). */
typedef struct zsrc {
    struct zsrc *parent;
    char *path;
    int fd;                  /* -1 for memory input */
    gzFile gz;
    char *buf;
    size_t cap, len, pos;    /* buf[len] is always 0 */
    bool eof;
    uint64_t line;           /* line number at pos */
    uint64_t consumed;       /* bytes dropped from the front of buf */
    dev_t dev;
    ino_t ino;
    /* the includer's state, restored when this file ends */
    uint8_t s_origin[DQL_ZONE_NAME_MAX];
    size_t s_origin_len;
    uint32_t s_ttl;
    bool s_have_ttl;
} zsrc;

/* $GENERATE in progress. */
typedef struct zgen {
    bool active;
    int64_t cur, stop, step;
    char *lhs, *rest, *rhs;   /* owned copies: owner template, "[ttl] [class] type", rdata template */
    char *file;
    uint64_t line;
} zgen;

/* Zone-level checks: the state of the current owner run (see the section
 * "Zone-level checks"). The queue holds copies of records (and messages)
 * held back while a DS waits for the NS of its owner: [qhead, qready) may
 * be handed out, [qready, qlen) waits for a decision. */
/* What a run of records of one owner holds (zchk.flags). */
enum { RUN_CNAME = 1, RUN_OTHER = 2, RUN_NS = 4, RUN_CUT = 8, RUN_NOHOLD = 16 };

typedef struct zchk {
    uint8_t owner[DQL_ZONE_NAME_MAX];   /* the owner of the current run */
    size_t owner_len;                   /* 0: no run yet */
    unsigned flags;                     /* RUN_*: what the run's accepted records are */
    uint8_t apex[DQL_ZONE_NAME_MAX];    /* the origin argument, then the first SOA's owner */
    size_t apex_len;                    /* 0: not known */
    bool apex_soa;
    uint8_t cut[DQL_ZONE_NAME_MAX];     /* the last delegation (NS or DNAME below the apex) */
    size_t cut_len;                     /* 0: none yet */
    uint8_t *q;
    size_t qcap, qhead, qready, qlen;
    uint32_t nheld;                     /* records in [qready, qlen) */
    bool eof;
    dql_buf txt;
} zchk;

struct dql_zone_scanner {
    dql_zone_opts o;
    zsrc *src;
    int depth;
    uint64_t total;
    uint8_t origin[DQL_ZONE_NAME_MAX];
    size_t origin_len;
    uint32_t ttl;             /* $TTL, or the last explicit TTL before any $TTL */
    bool have_ttl_dir;
    uint16_t last_class;
    uint8_t owner[DQL_ZONE_NAME_MAX];
    size_t owner_len;
    bool have_owner;
    bool run_break;               /* an $INCLUDE or $GENERATE: the checks' run ends */
    dql_zone_tok *tok;
    int ntok, captok;
    bool blank_start;
    uint64_t rec_line;
    uint64_t rec_off;         /* byte offset of the record's first line in its file */
    bool skipping;            /* a shard: before its first boundary (see dql_zone_opts) */
    bool done;                /* after a fatal error */
    zgen gen;
    char genline[GEN_MAX_LINE];
    char errmsg[640];
    const char *errkind;
    zchk chk;
    /* a speculative shard (dql_zone_opts.shard_speculate) */
    uint64_t spec_at;         /* the line start to jump to; 0: no jump planned */
    bool spec_jumped;
    char note[2][64];         /* dql_zone_shard_note */
    uint8_t rdata[DQL_ZONE_RDATA_MAX + 64];
};

/* ------------------------------------------------------------ messages */

/* Shows a token in a message: at most 60 bytes, control chars as '?'. */
static void tok_snip(char *dst, size_t dn, const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 4 < dn && i < 60; i++)
        dst[k++] = (s[i] >= 32 && s[i] < 127) ? s[i] : '?';
    if (n > 60 && k + 4 < dn) {
        dst[k++] = '.';
        dst[k++] = '.';
        dst[k++] = '.';
    }
    dst[k] = 0;
}

static const char *cur_file(dql_zone_scanner *sc)
{
    if (sc->gen.active)
        return sc->gen.file;
    return sc->src ? sc->src->path : "?";
}

/* Records an error about the current record; near: the token or NULL. */
static dql_zone_res fail(dql_zone_scanner *sc, dql_zone_res res, const char *kind,
                         const dql_zone_tok *near, const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    uint64_t line = sc->gen.active ? sc->gen.line : sc->rec_line;
    if (near) {
        char snip[80];
        tok_snip(snip, sizeof snip, near->s, near->len);
        snprintf(sc->errmsg, sizeof sc->errmsg, "%s:%llu: error: %s near '%s'", cur_file(sc),
                 (unsigned long long)line, msg, snip);
    } else {
        snprintf(sc->errmsg, sizeof sc->errmsg, "%s:%llu: error: %s", cur_file(sc),
                 (unsigned long long)line, msg);
    }
    sc->errkind = kind;
    if (res == DQL_ZONE_FATAL)
        sc->done = true;
    return res;
}

const char *dql_zone_errmsg(const dql_zone_scanner *sc) { return sc->errmsg; }
const char *dql_zone_errkind(const dql_zone_scanner *sc) { return sc->errkind ? sc->errkind : "zone: error"; }

/* ---------------------------------------------------------------- input */

static void src_free(zsrc *S)
{
    if (!S)
        return;
    if (S->gz)
        gzclose(S->gz);
    else if (S->fd > 0)
        close(S->fd);
    free(S->buf);
    free(S->path);
    free(S);
}

/* Opens path as a source; on failure returns NULL with a message. */
static zsrc *src_open(const char *path, char *err, size_t errlen)
{
    zsrc *S = dql_xcalloc(1, sizeof *S);
    S->path = dql_xstrdup(path);
    S->line = 1;
    if (strcmp(path, "-") == 0) {
        S->fd = 0;
    } else {
        S->fd = open(path, O_RDONLY);
        if (S->fd < 0) {
            snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
            src_free(S);
            return NULL;
        }
        struct stat st;
        if (fstat(S->fd, &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                snprintf(err, errlen, "cannot read '%s': is a directory", path);
                src_free(S);
                return NULL;
            }
            S->dev = st.st_dev;
            S->ino = st.st_ino;
        }
    }
    S->cap = BUF_SIZE;
    S->buf = dql_xmalloc(S->cap + 1);
    S->buf[0] = 0;
    /* gzip? Peek at the first bytes. */
    ssize_t n;
    do
        n = read(S->fd, S->buf, S->cap);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
        src_free(S);
        return NULL;
    }
    if (n >= 2 && (uint8_t)S->buf[0] == 0x1f && (uint8_t)S->buf[1] == 0x8b) {
        /* Re-read through zlib: rewind when possible, else give up. */
        if (lseek(S->fd, 0, SEEK_SET) != 0) {
            snprintf(err, errlen, "cannot read '%s': gzip input must be a regular file", path);
            src_free(S);
            return NULL;
        }
        int fd2 = dup(S->fd);
        S->gz = gzdopen(fd2, "rb");
        if (!S->gz) {
            close(fd2);
            snprintf(err, errlen, "cannot read '%s': gzip setup failed", path);
            src_free(S);
            return NULL;
        }
        close(S->fd);
        S->fd = -2;
        gzbuffer(S->gz, 1u << 18);
        S->len = 0;
    } else {
        S->len = (size_t)n;
        if (n == 0)
            S->eof = true;
    }
    S->buf[S->len] = 0;
    return S;
}

static zsrc *src_mem(const char *name, const void *data, size_t len)
{
    zsrc *S = dql_xcalloc(1, sizeof *S);
    S->path = dql_xstrdup(name);
    S->line = 1;
    S->fd = -1;
    S->cap = len;
    S->buf = dql_xmalloc(len + 1);
    memcpy(S->buf, data, len);
    S->len = len;
    S->buf[len] = 0;
    S->eof = true;
    return S;
}

/* Moves the unread part to the front and reads more. Returns 0, or -1 with
 * a message when reading failed or a record is too long. */
static int src_refill(dql_zone_scanner *sc, zsrc *S)
{
    if (S->eof)
        return 0;
    if (S->pos > 0) {
        memmove(S->buf, S->buf + S->pos, S->len - S->pos);
        S->len -= S->pos;
        S->consumed += S->pos;
        S->pos = 0;
    }
    if (S->len + BUF_SIZE / 4 > S->cap) {
        if (S->cap >= MAX_RECORD) {
            sc->rec_line = S->line;
            fail(sc, DQL_ZONE_FATAL, "zone: record too long", NULL,
                 "record longer than %u MB (unbalanced parenthesis or quote?)", MAX_RECORD >> 20);
            return -1;
        }
        S->cap *= 2;
        S->buf = dql_xrealloc(S->buf, S->cap + 1);
    }
    size_t want = S->cap - S->len;
    ssize_t n;
    if (S->gz) {
        int r = gzread(S->gz, S->buf + S->len, (unsigned)(want > (1u << 30) ? (1u << 30) : want));
        if (r < 0) {
            int e;
            const char *m = gzerror(S->gz, &e);
            sc->rec_line = S->line;
            fail(sc, DQL_ZONE_FATAL, "zone: read error", NULL, "cannot read: %s",
                 e == Z_ERRNO ? strerror(errno) : m);
            return -1;
        }
        n = r;
    } else {
        do
            n = read(S->fd, S->buf + S->len, want);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
            sc->rec_line = S->line;
            fail(sc, DQL_ZONE_FATAL, "zone: read error", NULL, "cannot read: %s", strerror(errno));
            return -1;
        }
    }
    if (n == 0)
        S->eof = true;
    S->len += (size_t)n;
    S->buf[S->len] = 0;
    return 0;
}

/* ------------------------------------------------------------ tokenizer */

enum { C_TEXT = 0, C_SPACE, C_NL, C_SEMI, C_LP, C_RP, C_QUOTE, C_BSL, C_NUL };
static uint8_t cclass[256];
static uint8_t cstop[256];   /* ends an unquoted token */

static void init_tables(void)
{
    static bool done;
    if (done)
        return;
    cclass[' '] = cclass['\t'] = cclass['\r'] = cclass['\f'] = cclass['\v'] = C_SPACE;
    cclass['\n'] = C_NL;
    cclass[';'] = C_SEMI;
    cclass['('] = C_LP;
    cclass[')'] = C_RP;
    cclass['"'] = C_QUOTE;
    cclass['\\'] = C_BSL;
    cclass[0] = C_NUL;
    for (int c = 0; c < 256; c++)
        cstop[c] = cclass[c] != C_TEXT && cclass[c] != C_QUOTE;
    done = true;
}

static void push_tok(dql_zone_scanner *sc, const char *s, size_t n, bool quoted, bool esc)
{
    if (sc->ntok == sc->captok) {
        sc->captok = sc->captok ? sc->captok * 2 : MAX_TOKENS_INIT;
        sc->tok = dql_xrealloc(sc->tok, (size_t)sc->captok * sizeof *sc->tok);
    }
    dql_zone_tok *t = &sc->tok[sc->ntok++];
    t->s = s;
    t->len = (uint32_t)n;
    t->quoted = quoted;
    t->esc = esc;
}

/* Cuts the next record of S into sc->tok. Returns 1 for a record, 0 at the
 * end of S, -1 on a fatal error, 2 for a bad line (skipped; message set). */
static int tokenize(dql_zone_scanner *sc, zsrc *S)
{
restart:;
    const char *b = S->buf;
    size_t len = S->len, p = S->pos, rs = p;
    uint64_t line = S->line, paren_line = 0;
    int paren = 0;
    sc->ntok = 0;
    sc->rec_line = line;
    sc->blank_start = p < len && (b[p] == ' ' || b[p] == '\t');
    for (;;) {
        unsigned char c = (unsigned char)b[p];
        switch (cclass[c]) {
        case C_SPACE:
            p++;
            continue;
        case C_NL:
            line++;
            p++;
            if (paren)
                continue;
            if (sc->ntok == 0) {
                /* blank or comment-only line: start over at the next one */
                S->pos = p;
                S->line = line;
                sc->rec_line = line;
                sc->blank_start = p < len && (b[p] == ' ' || b[p] == '\t');
                rs = p;
                continue;
            }
            S->pos = p;
            S->line = line;
            sc->rec_off = S->consumed + rs;
            return 1;
        case C_SEMI: {
            const char *nl = memchr(b + p, '\n', len - p);
            if (!nl) {
                if (!S->eof)
                    goto more;
                p = len;
                continue;
            }
            p = (size_t)(nl - b);
            continue;
        }
        case C_LP:
            if (paren) {
                sc->rec_line = line;
                dql_zone_tok t = { b + p, 1, 0, 0 };
                fail(sc, DQL_ZONE_FATAL, "zone: syntax", &t, "nested parentheses");
                return -1;
            }
            paren = 1;
            paren_line = line;
            p++;
            continue;
        case C_RP:
            if (!paren) {
                sc->rec_line = line;
                dql_zone_tok t = { b + p, 1, 0, 0 };
                fail(sc, DQL_ZONE_FATAL, "zone: syntax", &t, "unbalanced ')'");
                return -1;
            }
            paren = 0;
            p++;
            continue;
        case C_QUOTE: {
            if (sc->ntok == 0 && !sc->blank_start && !paren)
                goto text;   /* a quote cannot start an owner: bad name later */
            size_t q = p + 1;
            bool esc = false;
            for (;;) {
                const char *e = b + q;
                while (*e != '"' && *e != '\\' && *e != '\n' && *e != 0)
                    e++;
                q = (size_t)(e - b);
                if (*e == '"')
                    break;
                if (*e == '\n' && paren) {
                    line++;
                    q++;
                    continue;
                }
                if (*e == '\n') {
                    /* outside parentheses a quoted string ends on its line */
                    dql_zone_tok t = { b + p, (uint32_t)(q - p), 0, 0 };
                    sc->rec_line = line;
                    fail(sc, DQL_ZONE_BAD, "zone: syntax", &t, "unterminated quoted string");
                    S->pos = q + 1;
                    S->line = line + 1;
                    return 2;
                }
                if (*e == '\\') {
                    esc = true;
                    if (q + 1 >= len) {
                        if (!S->eof)
                            goto more;
                        q = len;
                        continue;
                    }
                    if (b[q + 1] == '\n')
                        line++;
                    q += 2;
                    continue;
                }
                if (q < len) {   /* a NUL byte inside the string */
                    q++;
                    continue;
                }
                if (!S->eof)
                    goto more;
                dql_zone_tok t = { b + p, (uint32_t)(len - p), 0, 0 };
                fail(sc, DQL_ZONE_FATAL, "zone: syntax", &t, "unterminated quoted string");
                return -1;
            }
            push_tok(sc, b + p + 1, q - p - 1, true, esc);
            p = q + 1;
            if (p < len && cclass[(unsigned char)b[p]] != C_SPACE && cclass[(unsigned char)b[p]] != C_NL &&
                b[p] != ';' && b[p] != ')' && b[p] != '(') {
                /* text right after a closing quote: skip the rest of the line */
                dql_zone_tok t = { b + p - 1, 2, 0, 0 };
                const char *nl = memchr(b + p, '\n', len - p);
                if (!nl && !S->eof)
                    goto more;
                sc->rec_line = line;
                fail(sc, DQL_ZONE_BAD, "zone: syntax", &t, "text after a closing quote");
                S->pos = nl ? (size_t)(nl - b) + 1 : len;
                S->line = line + (nl ? 1 : 0);
                return 2;
            }
            continue;
        }
        case C_NUL:
            if (p >= len) {
                if (!S->eof)
                    goto more;
                if (paren) {
                    sc->rec_line = paren_line;
                    fail(sc, DQL_ZONE_FATAL, "zone: syntax", NULL, "unbalanced '(': no ')' before the end of the file");
                    return -1;
                }
                S->pos = p;
                S->line = line;
                sc->rec_off = S->consumed + rs;
                return sc->ntok ? 1 : 0;
            }
            goto text;   /* a NUL byte is text (rejected later) */
        default:
        text: {
            size_t s = p;
            bool esc = false;
            for (;;) {
                while (!cstop[(unsigned char)b[p]])
                    p++;
                if (b[p] == '\\') {
                    esc = true;
                    if (p + 1 >= len) {
                        if (!S->eof)
                            goto more;
                        p = len;
                        break;
                    }
                    if (b[p + 1] == '\n') {
                        p++;   /* a backslash cannot escape a line end: the token ends */
                        break;
                    }
                    p += 2;
                    continue;
                }
                if (b[p] == 0 && p < len) {
                    p++;
                    continue;
                }
                if (b[p] == 0 && !S->eof)
                    goto more;
                break;
            }
            push_tok(sc, b + s, p - s, false, esc);
            continue;
        }
        }
    more:
        if (src_refill(sc, S) != 0)
            return -1;
        goto restart;
    }
}

/* ------------------------------------------------------------ scanner */

static void spec_plan(dql_zone_scanner *sc);

static dql_zone_scanner *scanner_new(const dql_zone_opts *o)
{
    init_tables();
    dql_zone_scanner *sc = dql_xcalloc(1, sizeof *sc);
    if (o)
        sc->o = *o;
    if (sc->o.max_include_depth <= 0)
        sc->o.max_include_depth = 16;
    if (!sc->o.spec_head)
        sc->o.spec_head = 64u << 10;
    if (!sc->o.spec_window)
        sc->o.spec_window = 1u << 20;
    sc->origin[0] = 0;
    sc->origin_len = 1;
    sc->ttl = sc->o.default_ttl;
    sc->last_class = 1;
    sc->skipping = sc->o.sharded && !sc->o.shard_head;
    return sc;
}

static bool set_origin(dql_zone_scanner *sc, const char *text, char *err, size_t errlen)
{
    if (!text || !*text)
        return true;
    uint8_t root[1] = { 0 };
    const char *why;
    int n = dql_zone_name_parse(text, strlen(text), root, 1, sc->origin, &why);
    if (n < 0) {
        snprintf(err, errlen, "zone: bad origin '%s': %s", text, why);
        return false;
    }
    sc->origin_len = (size_t)n;
    memcpy(sc->chk.apex, sc->origin, sc->origin_len);   /* the apex until an SOA says otherwise */
    sc->chk.apex_len = sc->origin_len;
    return true;
}

dql_zone_scanner *dql_zone_open(const char *path, const dql_zone_opts *o, char *err, size_t errlen)
{
    dql_zone_scanner *sc = scanner_new(o);
    if (!set_origin(sc, o ? o->origin : NULL, err, errlen)) {
        dql_zone_close(sc);
        return NULL;
    }
    sc->src = src_open(path, err, errlen);
    if (!sc->src) {
        dql_zone_close(sc);
        return NULL;
    }
    struct stat st;
    if (strcmp(path, "-") != 0 && stat(path, &st) == 0)
        sc->total = (uint64_t)st.st_size;
    sc->depth = 1;
    spec_plan(sc);
    return sc;
}

dql_zone_scanner *dql_zone_open_mem(const char *name, const void *data, size_t len, const dql_zone_opts *o)
{
    dql_zone_scanner *sc = scanner_new(o);
    char err[256];
    if (!set_origin(sc, o ? o->origin : NULL, err, sizeof err)) {
        dql_zone_close(sc);
        return NULL;
    }
    sc->src = src_mem(name, data, len);
    sc->total = len;
    sc->depth = 1;
    spec_plan(sc);
    return sc;
}

static void gen_clear(zgen *g)
{
    free(g->lhs);
    free(g->rest);
    free(g->rhs);
    free(g->file);
    memset(g, 0, sizeof *g);
}

void dql_zone_close(dql_zone_scanner *sc)
{
    if (!sc)
        return;
    while (sc->src) {
        zsrc *p = sc->src->parent;
        src_free(sc->src);
        sc->src = p;
    }
    gen_clear(&sc->gen);
    free(sc->tok);
    free(sc->chk.q);
    dql_buf_free(&sc->chk.txt);
    free(sc);
}

void dql_zone_progress(const dql_zone_scanner *sc, uint64_t *done, uint64_t *total)
{
    const zsrc *S = sc->src;
    while (S && S->parent)
        S = S->parent;
    uint64_t d = 0;
    if (S) {
        if (S->gz)
            d = (uint64_t)gzoffset(S->gz);
        else
            d = S->consumed + S->pos;
    }
    *done = d;
    *total = sc->total;
}

/* Unescapes a token into dst (\X and \DDD); returns the length or -1. */
static int unescape(const dql_zone_tok *t, char *dst, size_t cap)
{
    size_t w = 0;
    for (uint32_t i = 0; i < t->len; i++) {
        unsigned char c = (unsigned char)t->s[i];
        if (c == '\\' && i + 1 < t->len) {
            unsigned char d = (unsigned char)t->s[i + 1];
            if (d >= '0' && d <= '9') {
                if (i + 3 >= t->len)
                    return -1;
                int v = 0;
                for (int k = 1; k <= 3; k++) {
                    unsigned char x = (unsigned char)t->s[i + k];
                    if (x < '0' || x > '9')
                        return -1;
                    v = v * 10 + (x - '0');
                }
                if (v > 255)
                    return -1;
                c = (unsigned char)v;
                i += 3;
            } else {
                c = d;
                i++;
            }
        }
        if (w + 1 >= cap)
            return -1;
        dst[w++] = (char)c;
    }
    dst[w] = 0;
    return (int)w;
}

static bool tok_is(const dql_zone_tok *t, const char *kw)
{
    size_t n = strlen(kw);
    return !t->quoted && t->len == n && strncasecmp(t->s, kw, n) == 0;
}

/* Pushes an included file. */
static dql_zone_res do_include(dql_zone_scanner *sc)
{
    dql_zone_tok *t = sc->tok;
    if (sc->ntok < 2 || sc->ntok > 3)
        return fail(sc, DQL_ZONE_FATAL, "zone: bad $INCLUDE", &t[0], "$INCLUDE takes a file name and an optional origin");
    if (sc->o.no_include)
        return fail(sc, DQL_ZONE_FATAL, "zone: bad $INCLUDE", &t[1], "$INCLUDE is not allowed here");
    if (sc->depth >= sc->o.max_include_depth)
        return fail(sc, DQL_ZONE_FATAL, "zone: bad $INCLUDE", &t[1], "$INCLUDE nested more than %d deep",
                    sc->o.max_include_depth);
    uint8_t neworigin[DQL_ZONE_NAME_MAX];
    int nolen = -1;
    if (sc->ntok == 3) {
        const char *why;
        /* the origin of an $INCLUDE must be absolute */
        if (t[2].len == 0 || (t[2].s[t[2].len - 1] != '.' || (t[2].len >= 2 && t[2].s[t[2].len - 2] == '\\' &&
                                                             (t[2].len < 3 || t[2].s[t[2].len - 3] != '\\'))))
            return fail(sc, DQL_ZONE_FATAL, "zone: bad $INCLUDE", &t[2], "the origin of $INCLUDE must be absolute");
        nolen = dql_zone_name_parse(t[2].s, t[2].len, sc->origin, sc->origin_len, neworigin, &why);
        if (nolen < 0)
            return fail(sc, DQL_ZONE_FATAL, "zone: bad $INCLUDE", &t[2], "bad origin: %s", why);
    }
    char fname[4096];
    int fl = unescape(&t[1], fname, sizeof fname - 1);
    if (fl <= 0)
        return fail(sc, DQL_ZONE_FATAL, "zone: bad $INCLUDE", &t[1], "bad file name");
    char path[8192];
    const char *base = sc->src->path;
    const char *sl = strrchr(base, '/');
    if (fname[0] == '/' || !sl || strcmp(base, "-") == 0)
        snprintf(path, sizeof path, "%s", fname);
    else
        snprintf(path, sizeof path, "%.*s/%s", (int)(sl - base), base, fname);
    char err[512];
    zsrc *N = src_open(path, err, sizeof err);
    if (!N && fname[0] != '/' && strcmp(path, fname) != 0 && access(path, F_OK) != 0 && access(fname, F_OK) == 0)
        N = src_open(fname, err, sizeof err);   /* BIND resolves relative to the working directory */
    if (!N)
        return fail(sc, DQL_ZONE_FATAL, "zone: bad $INCLUDE", &t[1], "%s", err);
    for (zsrc *p = sc->src; p; p = p->parent) {
        if (N->ino && p->dev == N->dev && p->ino == N->ino) {
            src_free(N);
            return fail(sc, DQL_ZONE_FATAL, "zone: bad $INCLUDE", &t[1], "$INCLUDE loop: '%s' is already being read", path);
        }
    }
    memcpy(N->s_origin, sc->origin, sc->origin_len);
    N->s_origin_len = sc->origin_len;
    N->s_ttl = sc->ttl;
    N->s_have_ttl = sc->have_ttl_dir;
    if (nolen > 0) {
        memcpy(sc->origin, neworigin, (size_t)nolen);
        sc->origin_len = (size_t)nolen;
    }
    N->parent = sc->src;
    sc->src = N;
    sc->depth++;
    return DQL_ZONE_RR;   /* "go on" */
}

/* ------------------------------------------------------------ $GENERATE */

static bool parse_i64(const char *s, size_t n, int64_t *v)
{
    if (n == 0 || n > 18)
        return false;
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return true;
}

/* Expands a $GENERATE template for value v into out. Returns false with why. */
static bool gen_expand(const char *tpl, int64_t v, dql_buf *out, const char **why)
{
    for (const char *p = tpl; *p; p++) {
        if (*p == '\\' && p[1]) {
            if (p[1] == '$') {
                dql_buf_putc(out, '$');
                p++;
                continue;
            }
            dql_buf_putc(out, *p);
            dql_buf_putc(out, *++p);
            continue;
        }
        if (*p != '$') {
            dql_buf_putc(out, *p);
            continue;
        }
        if (p[1] == '$') {   /* $$: a literal dollar */
            dql_buf_putc(out, '$');
            p++;
            continue;
        }
        int64_t off = 0, width = 0;
        char base = 'd';
        if (p[1] == '{') {
            const char *e = strchr(p + 2, '}');
            if (!e) {
                *why = "missing '}' in $GENERATE modifier";
                return false;
            }
            char spec[64];
            size_t sl = (size_t)(e - p - 2);
            if (sl == 0 || sl >= sizeof spec) {
                *why = "bad $GENERATE modifier";
                return false;
            }
            memcpy(spec, p + 2, sl);
            spec[sl] = 0;
            char *f1 = spec, *f2 = strchr(f1, ','), *f3 = NULL;
            if (f2) {
                *f2++ = 0;
                f3 = strchr(f2, ',');
                if (f3)
                    *f3++ = 0;
            }
            char *end;
            errno = 0;
            long long o = strtoll(f1, &end, 10);
            if (end == f1 || *end || errno || o > 2147483647LL || o < -2147483648LL) {
                *why = "bad $GENERATE offset";
                return false;
            }
            off = o;
            if (f2) {
                long long w = strtoll(f2, &end, 10);
                if (end == f2 || *end || w < 0 || w > 255) {
                    *why = "bad $GENERATE width";
                    return false;
                }
                width = w;
            }
            if (f3) {
                if (strlen(f3) != 1 || !strchr("doxXnN", f3[0])) {
                    *why = "bad $GENERATE base";
                    return false;
                }
                base = f3[0];
            }
            p = e;
        }
        int64_t x = v + off;
        if (x > 2147483647LL) {
            *why = "$GENERATE value out of range";
            return false;
        }
        if (x < 0)
            x = (int64_t)(uint32_t)x;   /* a negative offset wraps as in BIND */
        char tmp[300];
        if (base == 'n' || base == 'N') {
            /* nibble labels, least significant first: width counts nibbles+dots */
            const char *dig = base == 'n' ? "0123456789abcdef" : "0123456789ABCDEF";
            size_t k = 0;
            uint64_t u = (uint64_t)x;
            do {
                tmp[k++] = dig[u & 15];
                u >>= 4;
                width -= 2;   /* a nibble and its dot */
                if (u || width > 0)
                    tmp[k++] = '.';
                else
                    break;
            } while ((u || width > 0) && k < sizeof tmp - 2);
            /* drop a trailing dot */
            if (k && tmp[k - 1] == '.')
                k--;
            dql_buf_put(out, tmp, k);
        } else {
            const char *f = base == 'o' ? "%0*llo" : base == 'x' ? "%0*llx" : base == 'X' ? "%0*llX" : "%0*lld";
            snprintf(tmp, sizeof tmp, f, (int)width, (long long)x);
            dql_buf_puts(out, tmp);
        }
    }
    return true;
}

/* Reads a $GENERATE directive (tokens in sc->tok) into sc->gen. */
static dql_zone_res gen_start(dql_zone_scanner *sc)
{
    dql_zone_tok *t = sc->tok;
    int n = sc->ntok;
    if (n < 5)
        return fail(sc, DQL_ZONE_BAD, "zone: bad $GENERATE", &t[0], "$GENERATE needs a range, an owner, a type and rdata");
    /* range: start-stop[/step] */
    const char *r = t[1].s;
    size_t rl = t[1].len;
    const char *dash = memchr(r, '-', rl);
    if (!dash || t[1].quoted)
        return fail(sc, DQL_ZONE_BAD, "zone: bad $GENERATE", &t[1], "bad $GENERATE range");
    const char *slash = memchr(dash, '/', rl - (size_t)(dash - r));
    int64_t a, b, step = 1;
    size_t bl = (size_t)((slash ? slash : r + rl) - dash - 1);
    if (!parse_i64(r, (size_t)(dash - r), &a) || !parse_i64(dash + 1, bl, &b) ||
        (slash && !parse_i64(slash + 1, rl - (size_t)(slash + 1 - r), &step)) ||
        a > 2147483647LL || b > 2147483647LL || step < 1 || step > 2147483647LL || a > b)
        return fail(sc, DQL_ZONE_BAD, "zone: bad $GENERATE", &t[1], "bad $GENERATE range");
    dql_buf rest = {0};
    for (int i = 3; i < n - 1; i++) {
        if (i > 3)
            dql_buf_putc(&rest, ' ');
        dql_buf_put(&rest, t[i].s, t[i].len);
    }
    /* the type must be known and not a meta type */
    uint16_t ty;
    if (!dql_zone_type_parse(t[n - 2].s, t[n - 2].len, &ty) || ty == 249 || ty == 250 || (ty >= 251 && ty <= 255)) {
        dql_buf_free(&rest);
        return fail(sc, DQL_ZONE_BAD, "zone: bad $GENERATE", &t[n - 2], "bad type in $GENERATE");
    }
    gen_clear(&sc->gen);
    zgen *g = &sc->gen;
    g->cur = a;
    g->stop = b;
    g->step = step;
    g->lhs = dql_xstrndup(t[2].s, t[2].len);
    g->rest = dql_xstrdup(dql_buf_cstr(&rest));
    dql_buf_free(&rest);
    if (t[n - 1].quoted) {
        /* keep the quotes: the rdata is cut again after expansion */
        dql_buf q = {0};
        dql_buf_putc(&q, '"');
        dql_buf_put(&q, t[n - 1].s, t[n - 1].len);
        dql_buf_putc(&q, '"');
        g->rhs = dql_xstrdup(dql_buf_cstr(&q));
        dql_buf_free(&q);
    } else {
        g->rhs = dql_xstrndup(t[n - 1].s, t[n - 1].len);
    }
    g->file = dql_xstrdup(sc->src->path);
    g->line = sc->rec_line;
    g->active = true;
    return DQL_ZONE_RR;
}

/* ------------------------------------------------------------ records */

static dql_zone_res directive(dql_zone_scanner *sc)
{
    dql_zone_tok *t = sc->tok;
    const char *why;
    if (tok_is(&t[0], "$ORIGIN")) {
        if (sc->ntok != 2)
            return fail(sc, DQL_ZONE_FATAL, "zone: bad $ORIGIN", &t[0], "$ORIGIN takes one name");
        uint8_t o[DQL_ZONE_NAME_MAX];
        int n = dql_zone_name_parse(t[1].s, t[1].len, sc->origin, sc->origin_len, o, &why);
        if (n < 0 || t[1].quoted)
            return fail(sc, DQL_ZONE_FATAL, "zone: bad $ORIGIN", &t[1], "bad $ORIGIN: %s", n < 0 ? why : "quoted");
        memcpy(sc->origin, o, (size_t)n);
        sc->origin_len = (size_t)n;
        return DQL_ZONE_RR;
    }
    if (tok_is(&t[0], "$TTL")) {
        if (sc->ntok != 2)
            return fail(sc, DQL_ZONE_FATAL, "zone: bad TTL", &t[0], "$TTL takes one value");
        uint32_t v;
        if (t[1].quoted || !dql_zone_ttl_parse(t[1].s, t[1].len, &v, &why))
            return fail(sc, DQL_ZONE_FATAL, "zone: bad TTL", &t[1], "bad $TTL: %s", t[1].quoted ? "quoted" : why);
        sc->ttl = v;
        sc->have_ttl_dir = true;
        return DQL_ZONE_RR;
    }
    if (tok_is(&t[0], "$INCLUDE")) {
        sc->run_break = true;
        return do_include(sc);
    }
    if (tok_is(&t[0], "$GENERATE")) {
        sc->run_break = true;
        return gen_start(sc);
    }
    return fail(sc, DQL_ZONE_BAD, "zone: unknown directive", &t[0], "unknown directive");
}

/* Interprets the tokens of one record into rr. */
static dql_zone_res record(dql_zone_scanner *sc, dql_zone_rr *rr, bool blank_start)
{
    dql_zone_tok *t = sc->tok;
    int n = sc->ntok, i = 0;
    const char *why;
    if (!blank_start && !t[0].quoted && t[0].len > 0 && t[0].s[0] == '$' && !sc->gen.active)
        return directive(sc);
    if (blank_start) {
        if (!sc->have_owner)
            return fail(sc, DQL_ZONE_BAD, "zone: bad owner", &t[0], "no previous owner for a record that starts with a blank");
    } else {
        int ol = t[0].quoted ? -1 : dql_zone_name_parse(t[0].s, t[0].len, sc->origin, sc->origin_len, sc->owner, &why);
        if (ol < 0) {
            sc->have_owner = false;
            return fail(sc, DQL_ZONE_BAD, "zone: bad owner", &t[0], "bad owner name: %s", t[0].quoted ? "quoted" : why);
        }
        sc->owner_len = (size_t)ol;
        sc->have_owner = true;
        i = 1;
    }
    bool have_ttl = false, have_class = false;
    uint32_t ttl = sc->ttl;
    uint16_t cls = sc->last_class;
    for (int k = 0; k < 2 && i < n; k++) {
        const dql_zone_tok *x = &t[i];
        if (x->quoted)
            break;
        if (!have_ttl && x->len && (x->s[0] >= '0' && x->s[0] <= '9')) {
            if (!dql_zone_ttl_parse(x->s, x->len, &ttl, &why))
                return fail(sc, DQL_ZONE_BAD, "zone: bad TTL", x, "bad TTL: %s", why);
            have_ttl = true;
            i++;
        } else if (!have_class && dql_zone_class_parse(x->s, x->len, &cls)) {
            have_class = true;
            i++;
        } else if (!have_ttl && x->len && x->s[0] == '-') {
            return fail(sc, DQL_ZONE_BAD, "zone: bad TTL", x, "bad TTL: negative");
        } else {
            break;
        }
    }
    if (i >= n)
        return fail(sc, DQL_ZONE_BAD, "zone: bad type", &t[n - 1], "missing RR type");
    uint16_t type;
    if (t[i].quoted || !dql_zone_type_parse(t[i].s, t[i].len, &type))
        return fail(sc, DQL_ZONE_BAD, "zone: bad type", &t[i], "unknown RR type");
    i++;
    int bad = -1;
    int rl = dql_zone_rdata_parse(type, t + i, n - i, sc->origin, sc->origin_len, sc->rdata, &why, &bad);
    if (rl < 0) {
        const dql_zone_tok *near = bad >= 0 && i + bad < n ? &t[i + bad] : (i < n ? &t[i] : &t[n - 1]);
        char tn[32];
        dql_buf tb = {0};
        dql_zone_type_text(&tb, type);
        snprintf(tn, sizeof tn, "%s", dql_buf_cstr(&tb));
        dql_buf_free(&tb);
        return fail(sc, DQL_ZONE_BAD, "zone: bad rdata", near, "bad %s rdata: %s", tn, why);
    }
    if (have_ttl && !sc->have_ttl_dir)
        sc->ttl = ttl;   /* RFC 1035: an omitted TTL is the last one given */
    if (have_class)
        sc->last_class = cls;
    rr->owner = sc->owner;
    rr->owner_len = sc->owner_len;
    rr->type = type;
    rr->rclass = cls;
    rr->ttl = ttl;
    rr->rdata = sc->rdata;
    rr->rdlen = (size_t)rl;
    rr->file = cur_file(sc);
    rr->line = sc->gen.active ? sc->gen.line : sc->rec_line;
    return DQL_ZONE_RR;
}

/* Produces the next record of an active $GENERATE. */
static dql_zone_res gen_next(dql_zone_scanner *sc, dql_zone_rr *rr)
{
    zgen *g = &sc->gen;
    dql_buf line = {0};
    const char *why = NULL;
    bool ok = gen_expand(g->lhs, g->cur, &line, &why);
    if (ok) {
        dql_buf_putc(&line, ' ');
        dql_buf_puts(&line, g->rest);
        dql_buf_putc(&line, ' ');
        ok = gen_expand(g->rhs, g->cur, &line, &why);
    }
    if (ok && line.len >= GEN_MAX_LINE) {
        ok = false;
        why = "$GENERATE line too long";
    }
    if (g->cur > g->stop - g->step)
        g->active = false, g->cur = g->stop + 1;
    else
        g->cur += g->step;
    if (!ok) {
        dql_buf_free(&line);
        bool was = g->active;
        g->active = true;
        dql_zone_res r = fail(sc, DQL_ZONE_BAD, "zone: bad $GENERATE", NULL, "%s", why);
        g->active = false;
        (void)was;
        return r;
    }
    memcpy(sc->genline, line.p, line.len);
    size_t len = line.len;
    dql_buf_free(&line);
    sc->genline[len] = '\n';
    zsrc M;
    memset(&M, 0, sizeof M);
    M.buf = sc->genline;
    M.len = len + 1;
    M.cap = len + 1;
    M.eof = true;
    M.line = g->line;
    char save = sc->genline[len + 1];
    sc->genline[len + 1] = 0;
    bool active = g->active;
    g->active = true;   /* messages name the $GENERATE line */
    int tr = tokenize(sc, &M);
    dql_zone_res res;
    if (tr == 2)
        res = DQL_ZONE_BAD;
    else if (tr <= 0)
        res = fail(sc, DQL_ZONE_BAD, "zone: bad $GENERATE", NULL, "bad $GENERATE expansion");
    else
        res = record(sc, rr, false);
    if (res == DQL_ZONE_FATAL)
        res = DQL_ZONE_BAD, sc->done = false;
    g->active = active;
    sc->genline[len + 1] = save;
    return res;
}

static void chk_observe(dql_zone_scanner *sc, const uint8_t *owner, size_t olen, uint16_t type);
static void chk_follow(dql_zone_scanner *sc);
static bool chk_changes(const zchk *c, const uint8_t *owner, size_t olen, uint16_t type);
static bool name_eq(const uint8_t *a, size_t an, const uint8_t *b, size_t bn);

/* A record before the shard: the state it leaves (owner, last TTL and
 * class, and for the checks its owner and type), without its rdata. on/ol:
 * its owner, parsed (ol < 0: none or bad). */
static void skip_record(dql_zone_scanner *sc, const uint8_t *on, int ol)
{
    dql_zone_tok *t = sc->tok;
    int n = sc->ntok, i = 0;
    if (!sc->blank_start) {
        sc->have_owner = ol >= 0;
        if (ol >= 0) {
            memcpy(sc->owner, on, (size_t)ol);
            sc->owner_len = (size_t)ol;
        }
        i = 1;
    }
    if (sc->o.checks)
        chk_follow(sc);   /* a bad record ends the run too */
    if (!sc->have_owner)
        return;
    const char *why;
    bool have_ttl = false, have_class = false;
    uint32_t ttl = sc->ttl;
    uint16_t cls = sc->last_class, type;
    for (int k = 0; k < 2 && i < n && !t[i].quoted; k++) {
        if (!have_ttl && t[i].len && t[i].s[0] >= '0' && t[i].s[0] <= '9') {
            if (!dql_zone_ttl_parse(t[i].s, t[i].len, &ttl, &why))
                return;
            have_ttl = true;
        } else if (!have_class && dql_zone_class_parse(t[i].s, t[i].len, &cls)) {
            have_class = true;
        } else {
            break;
        }
        i++;
    }
    if (i >= n || t[i].quoted || !dql_zone_type_parse(t[i].s, t[i].len, &type))
        return;
    /* A record with bad rdata leaves no TTL, class or check state: its rdata
     * is parsed when it would change one of them (a new TTL without $TTL, a
     * new class; with the checks, the records that add to what the run
     * holds: its first CNAME, first other data, NS, DNAME, the SOA) */
    bool chk = sc->o.checks && chk_changes(&sc->chk, sc->owner, sc->owner_len, type);
    if ((have_ttl && !sc->have_ttl_dir && ttl != sc->ttl) || (have_class && cls != sc->last_class) || chk) {
        int bad;
        i++;
        if (dql_zone_rdata_parse(type, t + i, n - i, sc->origin, sc->origin_len, sc->rdata, &why, &bad) < 0)
            return;
    }
    if (have_ttl && !sc->have_ttl_dir)
        sc->ttl = ttl;
    if (have_class)
        sc->last_class = cls;
    if (sc->o.checks)
        chk_observe(sc, sc->owner, sc->owner_len, type);
}

/* ------------------------------------------------------ speculative start */

/* Reads n bytes of the top-level source at off (a plain file or memory);
 * returns the count read, or -1. */
static ssize_t src_pread(const zsrc *S, uint64_t off, char *buf, size_t n)
{
    if (S->fd == -1) {
        uint64_t size = S->consumed + S->len;
        if (off >= size) return 0;
        if (n > size - off) n = (size_t)(size - off);
        memcpy(buf, S->buf + (off - S->consumed), n);
        return (ssize_t)n;
    }
    if (S->gz || S->fd < 0) return -1;
    ssize_t r;
    do
        r = pread(S->fd, buf, n, (off_t)off);
    while (r < 0 && errno == EINTR);
    return r;
}

/* Newlines in p[0, n): sixteen bytes at a time with SSE2 (each compare
 * adds 1 to a byte counter, summed every 255 blocks), else eight at a time
 * in a word. */
static uint64_t count_nl(const char *p, size_t n)
{
    uint64_t c = 0;
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i nl = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
    while (i + 16 <= n) {
        __m128i acc = zero;
        for (int k = 0; k < 255 && i + 16 <= n; k++, i += 16)
            acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + i)), nl));
        __m128i sum = _mm_sad_epu8(acc, zero);   /* two 64-bit sums of eight counters */
        c += (uint64_t)_mm_cvtsi128_si64(sum) + (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(sum, sum));
    }
#else
    const uint64_t ones = 0x0101010101010101ull, low7 = 0x7f7f7f7f7f7f7f7full;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        v ^= ones * '\n';                          /* a newline is now a zero byte */
        uint64_t t = ~(((v & low7) + low7) | v | low7);  /* 0x80 in each zero byte, exactly */
        c += (uint64_t)__builtin_popcountll(t);
    }
#endif
    for (; i < n; i++) c += p[i] == '\n';
    return c;
}

/* Chooses the line to jump to: the first line starting with an owner at or
 * after shard_start - window. */
static void spec_plan(dql_zone_scanner *sc)
{
    uint64_t head = sc->o.spec_head, window = sc->o.spec_window;
    if (!sc->o.sharded || sc->o.shard_head || !sc->o.shard_speculate || !sc->src)
        return;
    if (sc->o.shard_start < head + window + 2)
        return;
    uint64_t from = sc->o.shard_start - window;
    char buf[4096];
    ssize_t n = src_pread(sc->src, from - 1, buf, sizeof buf);
    for (ssize_t i = 0; i + 1 < n; i++)
        if (buf[i] == '\n' && !strchr(" \t\r\n;$()\"", buf[i + 1])) {   /* strchr finds a NUL too */
            sc->spec_at = from + (uint64_t)i;
            return;
        }
}

/* Applies one directive line of the skipped part to origin/ttl; false when
 * it is not $ORIGIN or $TTL, or not plainly written. */
static bool spec_directive(const char *l, size_t n, uint8_t *origin, size_t *olen, uint32_t *ttl, bool *have)
{
    const char *tok[3];
    size_t tl[3];
    int nt = 0;
    for (size_t i = 0; i < n;) {
        char c = l[i];
        if (c == ';' || c == '\n') break;
        if (c == '(' || c == ')' || c == '"' || c == '\\') return false;
        if (c == ' ' || c == '\t' || c == '\r') { i++; continue; }
        size_t j = i;
        while (j < n && !strchr(" \t\r\n;()\"\\", l[j])) j++;
        if (nt == 3) return false;
        tok[nt] = l + i;
        tl[nt++] = j - i;
        i = j;
    }
    const char *why;
    if (nt == 2 && tl[0] == 7 && !strncasecmp(tok[0], "$ORIGIN", 7)) {
        uint8_t o[DQL_ZONE_NAME_MAX];
        int k = dql_zone_name_parse(tok[1], tl[1], origin, *olen, o, &why);
        if (k < 0) return false;
        memcpy(origin, o, (size_t)k);
        *olen = (size_t)k;
        return true;
    }
    if (nt == 2 && tl[0] == 4 && !strncasecmp(tok[0], "$TTL", 4)) {
        if (!dql_zone_ttl_parse(tok[1], tl[1], ttl, &why)) return false;
        *have = true;
        return true;
    }
    return false;
}

/* At the record just read (before the shard, at the top level): jumps to
 * spec_at when the directives in between can be read without scanning
 * their records, counting the lines. True when it jumped. */
static bool spec_jump(dql_zone_scanner *sc)
{
    zsrc *S = sc->src;
    uint64_t from = sc->rec_off, to = sc->spec_at;
    sc->spec_at = 0;                       /* one attempt */
    if (from >= to) return false;
    uint8_t origin[DQL_ZONE_NAME_MAX];
    size_t olen = sc->origin_len;
    memcpy(origin, sc->origin, olen);
    uint32_t ttl = sc->ttl;
    bool have = sc->have_ttl_dir;
    uint64_t lines = 0;
    size_t cap = 128u << 10;               /* read and scanned in the L2 cache */
    char *buf = dql_xmalloc(cap + 1);
    bool ok = true;
    char prev = '\n';                      /* rec_off starts a line */
    for (uint64_t off = from; off < to && ok;) {
        size_t want = to - off < cap ? (size_t)(to - off) : cap;
        ssize_t n = src_pread(S, off, buf, want);
        if (n <= 0) { ok = false; break; }
        lines += count_nl(buf, (size_t)n);
        for (const char *q = buf; (q = memchr(q, '$', (size_t)(buf + n - q))) != NULL; q++) {
            if ((q == buf ? prev : q[-1]) != '\n') continue;
            char line[1024];
            ssize_t ln = src_pread(S, off + (uint64_t)(q - buf), line, sizeof line);
            const char *eol = ln > 0 ? memchr(line, '\n', (size_t)ln) : NULL;
            if (!eol || !spec_directive(line, (size_t)(eol - line), origin, &olen, &ttl, &have)) {
                ok = false;
                break;
            }
        }
        prev = buf[n - 1];
        off += (uint64_t)n;
    }
    free(buf);
    if (!ok) return false;
    /* move the source to the line */
    if (S->fd == -1) {
        S->pos = (size_t)(to - S->consumed);
    } else {
        if (lseek(S->fd, (off_t)to, SEEK_SET) != (off_t)to) return false;
        S->len = S->pos = 0;
        S->consumed = to;
        S->eof = false;
        S->buf[0] = 0;
    }
    S->line = sc->rec_line + lines;
    memcpy(sc->origin, origin, olen);
    sc->origin_len = olen;
    sc->ttl = ttl;
    sc->have_ttl_dir = have;
    /* the window before the shard gives the owner, last TTL and class, and
     * the checks' run and delegation; the head gave the apex */
    sc->have_owner = false;
    sc->run_break = false;
    sc->chk.owner_len = 0;
    sc->chk.flags = 0;
    sc->chk.cut_len = 0;
    sc->spec_jumped = true;
    snprintf(sc->note[0], sizeof sc->note[0], "?");   /* until the first boundary */
    return true;
}

static uint64_t note_mix(uint64_t h, const void *p, size_t n) { return dql_hash_bytes(p, n, h); }

/* The state before the record at rec_off, as a note (dql_zone_shard_note). */
static void shard_note_set(dql_zone_scanner *sc, int which)
{
    uint64_t h = note_mix(0x5eed, sc->origin, sc->origin_len);
    uint64_t v[4] = { sc->have_ttl_dir ? 1u : 0u, sc->ttl, sc->last_class, sc->have_owner ? 1u : 0u };
    h = note_mix(h, v, sizeof v);
    if (sc->have_owner) h = note_mix(h, sc->owner, sc->owner_len);
    if (sc->o.checks) {
        const zchk *c = &sc->chk;
        uint64_t w[6] = { c->owner_len, c->flags, c->apex_len, c->apex_soa, c->cut_len, sc->run_break };
        h = note_mix(h, w, sizeof w);
        h = note_mix(h, c->owner, c->owner_len);
        h = note_mix(h, c->apex, c->apex_len);
        h = note_mix(h, c->cut, c->cut_len);
    }
    snprintf(sc->note[which], sizeof sc->note[which], "%llu:%llu:%016llx", (unsigned long long)sc->rec_off,
             (unsigned long long)sc->rec_line, (unsigned long long)h);
}

const char *dql_zone_shard_note(const dql_zone_scanner *sc, int which) { return sc->note[which ? 1 : 0]; }

/* A sharded scanner (dql_zone_opts.sharded): true when the tokens just read
 * are not this shard's, after applying the state they leave; sets done
 * when they start the next shard. */
static bool shard_skip(dql_zone_scanner *sc, bool top)
{
    if (!sc->skipping && sc->rec_off < sc->o.shard_end)
        return false;      /* inside the shard: no owner to compare */
    dql_zone_tok *t = sc->tok;
    bool dir = !sc->blank_start && !t[0].quoted && t[0].len && t[0].s[0] == '$';
    bool gen = dir && tok_is(&t[0], "$GENERATE");
    bool boundary = top && dir && (gen || tok_is(&t[0], "$INCLUDE"));
    uint8_t on[DQL_ZONE_NAME_MAX];
    int ol = -1;
    if (!dir && !sc->blank_start && !t[0].quoted) {
        const char *why;
        ol = dql_zone_name_parse(t[0].s, t[0].len, sc->origin, sc->origin_len, on, &why);
        boundary = top && ol >= 0 && (!sc->have_owner || !name_eq(on, (size_t)ol, sc->owner, sc->owner_len));
    }
    if (!sc->skipping) {
        if (boundary && sc->rec_off >= sc->o.shard_end) {
            shard_note_set(sc, 1);
            sc->done = true;   /* the next shard's first record */
            return true;
        }
        return false;
    }
    if (boundary && sc->rec_off >= sc->o.shard_start) {
        sc->skipping = false;
        if (sc->spec_jumped) shard_note_set(sc, 0);
        if (sc->rec_off >= sc->o.shard_end) {
            shard_note_set(sc, 1);
            sc->done = true;   /* no boundary in the shard: it is empty */
            return true;
        }
        return false;
    }
    if (sc->spec_at && top && sc->depth == 1 && sc->rec_off >= sc->o.spec_head && spec_jump(sc))
        return true;       /* this record is before the window: dropped unread */
    if (dir) {
        /* $ORIGIN, $TTL, $INCLUDE and $GENERATE (their records are skipped
         * in turn, for the owner, TTL and class they leave): a bad one is
         * the owning shard's to report, a fatal one ends this shard too, as
         * it ends the file */
        dql_zone_rr rr;
        record(sc, &rr, false);
    } else {
        skip_record(sc, on, ol);
    }
    return true;
}

/* The next record of the input, without the zone-level checks. */
static dql_zone_res scan_next(dql_zone_scanner *sc, dql_zone_rr *rr)
{
    for (;;) {
        if (sc->done)
            return DQL_ZONE_EOF;
        if (sc->gen.active && sc->skipping) {
            /* a $GENERATE before the shard: its records leave their state only */
            dql_zone_res g = gen_next(sc, rr);
            if (sc->o.checks && g == DQL_ZONE_RR)
                chk_observe(sc, rr->owner, rr->owner_len, rr->type);
            else if (sc->o.checks && g == DQL_ZONE_BAD)
                chk_follow(sc);
            continue;
        }
        if (sc->gen.active) {
            dql_zone_res r = gen_next(sc, rr);
            if (r == DQL_ZONE_RR && !sc->gen.active) {
                /* last one: rr->file points into gen; keep it until next call */
                return r;
            }
            return r;
        }
        zsrc *S = sc->src;
        if (!S)
            return DQL_ZONE_EOF;
        int tr = tokenize(sc, S);
        if (sc->skipping && tr != 0) {
            /* before the shard: errors are the owning shard's to report */
            if (tr < 0)
                return DQL_ZONE_EOF;
            if (tr == 2)
                continue;
        }
        if (tr < 0)
            return DQL_ZONE_FATAL;
        if (tr == 2)
            return DQL_ZONE_BAD;
        if (tr == 0) {
            if (!S->parent) {
                if (sc->o.sharded) {
                    if (sc->skipping && sc->spec_jumped) snprintf(sc->note[0], sizeof sc->note[0], "eof");
                    if (!sc->note[1][0]) snprintf(sc->note[1], sizeof sc->note[1], "eof");
                }
                return DQL_ZONE_EOF;
            }
            /* end of an included file: back to the includer */
            memcpy(sc->origin, S->s_origin, S->s_origin_len);
            sc->origin_len = S->s_origin_len;
            sc->ttl = S->s_ttl;
            sc->have_ttl_dir = S->s_have_ttl;
            sc->src = S->parent;
            sc->depth--;
            src_free(S);
            continue;
        }
        if (sc->o.sharded && (sc->skipping || !S->parent) && shard_skip(sc, !S->parent)) {
            if (sc->done && !sc->skipping)
                return DQL_ZONE_EOF;
            continue;
        }
        bool dir = !sc->blank_start && !sc->tok[0].quoted && sc->tok[0].len && sc->tok[0].s[0] == '$';
        dql_zone_res r = record(sc, rr, sc->blank_start);
        if (r == DQL_ZONE_RR && dir)
            continue;   /* a directive was applied */
        return r;
    }
}

/* ------------------------------------------------------ zone-level checks
 *
 * With o.checks, dql_zone_next() checks each record against the run of
 * consecutive records with the same owner (compared without case), the
 * way named-checkzone rejects a zone:
 *   - CNAME and other data: a CNAME in a run that has data other than KEY,
 *     SIG, NSEC, RRSIG (BIND's definition), or such data in a run that has
 *     a CNAME. The record that completes the conflict is the bad one.
 *   - DS at the apex: the apex is the origin argument until the first SOA,
 *     then that SOA's owner.
 *   - DS not at a delegation point: a DS in a run without NS. Names below
 *     the last delegation seen (glue, occluded data) are not checked, as
 *     BIND skips them. A DS before the NS of its owner is held back, with
 *     the records after it, until an NS of the run arrives (then it is
 *     good) or the run ends (then it is bad); past HOLD_MAX records or
 *     HOLD_BYTES bytes it is let through unchecked.
 * A run ends where the scanner's owner changes, by a good record or a bad
 * one (a bad owner leaves none), and at each $INCLUDE and $GENERATE: where
 * a sharded run may cut the file (shard_skip), so that each run is read
 * whole by one shard.
 * A bad record is skipped and reported as DQL_ZONE_BAD, like a record the
 * scanner rejects; held records keep their order (errors included).
 * Records of one owner that are not consecutive in the file are not
 * checked against each other. */

enum { V_OK = 0, V_CNAME, V_APEX, V_NODELEG, V_PENDING };
enum { Q_RR = 0, Q_MSG };
enum { D_NS, D_END, D_CAP };

#define HOLD_MAX 1000
#define HOLD_BYTES (1u << 20)

/* One held item, followed by the owner, the file name (NUL-terminated) and
 * the rdata, or by the message (NUL-terminated) for Q_MSG. */
typedef struct qitem {
    uint32_t size;          /* bytes of the item, rounded up to 8 */
    uint8_t what;           /* Q_RR or Q_MSG */
    uint8_t verdict;        /* Q_RR: V_*; Q_MSG: 1 for a fatal error */
    uint16_t type, rclass;
    uint16_t owner_len;
    uint32_t ttl;
    uint32_t file_len, data_len;
    uint64_t line;
    const char *kind;       /* Q_MSG */
} qitem;

/* Wire names equal without ASCII case (length octets are < 64, never letters). */
static bool name_eq(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    if (an != bn)
        return false;
    if (memcmp(a, b, an) == 0)
        return true;
    for (size_t i = 0; i < an; i++) {
        unsigned x = a[i], y = b[i];
        if (x - 'A' < 26u)
            x |= 32;
        if (y - 'A' < 26u)
            y |= 32;
        if (x != y)
            return false;
    }
    return true;
}

/* n is strictly below p. */
static bool name_under(const uint8_t *n, size_t nl, const uint8_t *p, size_t pl)
{
    size_t off = 0;
    while (off < nl && nl - off > pl)
        off += 1u + n[off];
    return off > 0 && off < nl && nl - off == pl && name_eq(n + off, pl, p, pl);
}

static bool is_apex(const zchk *c, const uint8_t *n, size_t nl)
{
    return c->apex_len && name_eq(n, nl, c->apex, c->apex_len);
}

/* The error of a bad record (a verdict). */
static dql_zone_res chk_fail(dql_zone_scanner *sc, int v, const dql_zone_rr *rr)
{
    dql_buf *t = &sc->chk.txt;
    t->len = 0;
    dql_zone_name_text(t, rr->owner, rr->owner_len, true, true);
    dql_buf_putc(t, '/');
    dql_zone_type_text(t, rr->type);
    const char *what = v == V_CNAME ? "CNAME and other data"
                       : v == V_APEX ? "DS record at top of zone" : "DS not at delegation point";
    snprintf(sc->errmsg, sizeof sc->errmsg, "%s:%llu: error: %.*s: %s", rr->file,
             (unsigned long long)rr->line, (int)(t->len > 300 ? 300 : t->len), t->p, what);
    sc->errkind = v == V_CNAME ? "zone: CNAME and other data"
                  : v == V_APEX ? "zone: DS at the apex" : "zone: DS not at a delegation";
    return DQL_ZONE_BAD;
}

/* Room for n more bytes in the queue. */
static uint8_t *q_room(zchk *c, size_t n)
{
    if (c->qlen + n > c->qcap) {
        size_t cap = c->qcap ? c->qcap : 4096;
        while (cap < c->qlen + n)
            cap *= 2;
        c->q = dql_xrealloc(c->q, cap);
        c->qcap = cap;
    }
    return c->q + c->qlen;
}

/* Appends an item; it is held when it waits for a decision or comes after
 * one that does. */
static void q_push(zchk *c, qitem *h, const void *a, size_t an, const void *b, size_t bn, const void *d, size_t dn)
{
    bool held = c->qready < c->qlen || h->verdict == V_PENDING;
    size_t size = (sizeof *h + an + bn + 1 + dn + 1 + 7) & ~(size_t)7;
    uint8_t *p = q_room(c, size);
    h->size = (uint32_t)size;
    memcpy(p, h, sizeof *h);
    p += sizeof *h;
    if (an)
        memcpy(p, a, an);
    p += an;
    if (bn)
        memcpy(p, b, bn);
    p[bn] = 0;
    p += bn + 1;
    if (dn)
        memcpy(p, d, dn);
    p[dn] = 0;
    c->qlen += size;
    if (held)
        c->nheld++;
    else
        c->qready = c->qlen;
}

static void q_push_rr(zchk *c, const dql_zone_rr *rr, int verdict)
{
    qitem h;
    memset(&h, 0, sizeof h);
    h.what = Q_RR;
    h.verdict = (uint8_t)verdict;
    h.type = rr->type;
    h.rclass = rr->rclass;
    h.owner_len = (uint16_t)rr->owner_len;
    h.ttl = rr->ttl;
    h.file_len = (uint32_t)strlen(rr->file);
    h.data_len = (uint32_t)rr->rdlen;
    h.line = rr->line;
    q_push(c, &h, rr->owner, rr->owner_len, rr->file, h.file_len, rr->rdata, rr->rdlen);
}

/* The scanner's current error, kept in order behind held records. */
static void q_push_msg(dql_zone_scanner *sc, bool fatal)
{
    qitem h;
    memset(&h, 0, sizeof h);
    h.what = Q_MSG;
    h.verdict = fatal;
    h.kind = sc->errkind;
    h.data_len = (uint32_t)strlen(sc->errmsg);
    q_push(&sc->chk, &h, NULL, 0, NULL, 0, sc->errmsg, h.data_len);
}

/* Hands out the first ready item. */
static dql_zone_res q_pop(dql_zone_scanner *sc, dql_zone_rr *rr)
{
    zchk *c = &sc->chk;
    qitem h;
    memcpy(&h, c->q + c->qhead, sizeof h);
    const uint8_t *p = c->q + c->qhead + sizeof h;
    c->qhead += h.size;
    if (h.what == Q_MSG) {
        snprintf(sc->errmsg, sizeof sc->errmsg, "%s", (const char *)p + 1);
        sc->errkind = h.kind;
        return h.verdict ? DQL_ZONE_FATAL : DQL_ZONE_BAD;
    }
    rr->owner = p;
    rr->owner_len = h.owner_len;
    p += h.owner_len;
    rr->file = (const char *)p;
    p += h.file_len + 1;
    rr->rdata = p;
    rr->rdlen = h.data_len;
    rr->type = h.type;
    rr->rclass = h.rclass;
    rr->ttl = h.ttl;
    rr->line = h.line;
    if (h.verdict != V_OK)
        return chk_fail(sc, h.verdict, rr);
    return DQL_ZONE_RR;
}

/* Decides the held DS records of the run: good when an NS of the run came
 * (or too much was held), bad when the run ended without one. */
static void decide(zchk *c, int how)
{
    bool apex = is_apex(c, c->owner, c->owner_len);
    for (size_t off = c->qready; off < c->qlen;) {
        qitem *h = (qitem *)(c->q + off);   /* items start 8-aligned */
        if (h->what == Q_RR && h->verdict == V_PENDING)
            h->verdict = apex ? V_APEX : how == D_END ? V_NODELEG : V_OK;
        off += h->size;
    }
    c->qready = c->qlen;
    c->nheld = 0;
    if (how == D_CAP)
        c->flags |= RUN_NOHOLD;
}

/* Ends the current run (its held DS records are decided). */
static void run_end(zchk *c)
{
    if (c->qready < c->qlen)
        decide(c, D_END);
    if ((c->flags & RUN_CUT) && !is_apex(c, c->owner, c->owner_len)) {
        memcpy(c->cut, c->owner, c->owner_len);
        c->cut_len = c->owner_len;
    }
    c->flags = 0;
}

/* What a record does to its run, c left as it is: the verdict, the run's
 * flags after it (*flags), and whether it makes its owner the apex (*soa:
 * the first SOA). chk_record applies it; chk_changes asks whether it would
 * change anything. */
static int chk_judge(const zchk *c, const uint8_t *owner, size_t olen, uint16_t t, unsigned *flags, bool *soa)
{
    unsigned f = c->flags;
    int v = V_OK;
    *soa = false;
    if (t == 5) {   /* CNAME */
        if (f & RUN_OTHER)
            v = V_CNAME;
        else
            f |= RUN_CNAME;
    } else if (t == 24 || t == 25 || t == 46 || t == 47) {
        /* SIG, KEY, RRSIG, NSEC: not "other data" */
    } else if (f & RUN_CNAME) {
        v = V_CNAME;
    } else if (t == 43) {   /* DS */
        if (is_apex(c, owner, olen)) {
            v = V_APEX;
        } else {
            f |= RUN_OTHER;
            /* held until its NS, unless below a delegation: not checked (as BIND) */
            if (!(f & (RUN_NS | RUN_NOHOLD)) && !(c->cut_len && name_under(owner, olen, c->cut, c->cut_len)))
                v = V_PENDING;
        }
    } else {
        f |= RUN_OTHER;
        if (t == 2)
            f |= RUN_NS | RUN_CUT;
        else if (t == 39)   /* DNAME: names below it are occluded */
            f |= RUN_CUT;
        else if (t == 6 && !c->apex_soa)
            *soa = true;
    }
    *flags = f;
    return v;
}

/* Checks one record against its run; updates the run when it is good. */
static int chk_record(zchk *c, const dql_zone_rr *rr)
{
    bool soa;
    int v = chk_judge(c, rr->owner, rr->owner_len, rr->type, &c->flags, &soa);
    if (soa) {
        memcpy(c->apex, rr->owner, rr->owner_len);
        c->apex_len = rr->owner_len;
        c->apex_soa = true;
    }
    return v;
}

/* The run follows the scanner (a record just read, good or bad): it ends
 * at a new owner (none after a bad one) and at an $INCLUDE or $GENERATE. */
static void chk_follow(dql_zone_scanner *sc)
{
    zchk *c = &sc->chk;
    size_t olen = sc->have_owner ? sc->owner_len : 0;
    if (!sc->run_break && olen == c->owner_len &&
        (olen == 0 || memcmp(sc->owner, c->owner, olen) == 0 || name_eq(sc->owner, olen, c->owner, olen)))
        return;
    run_end(c);
    memcpy(c->owner, sc->owner, olen);
    c->owner_len = olen;
    sc->run_break = false;
}

/* Would chk_observe of this record (its run followed) change the check
 * state? */
static bool chk_changes(const zchk *c, const uint8_t *owner, size_t olen, uint16_t t)
{
    unsigned f;
    bool soa;
    (void)chk_judge(c, owner, olen, t, &f, &soa);
    return f != c->flags || soa;
}

/* A good record before a shard (skip_record, a $GENERATE): the run state
 * it leaves. */
static void chk_observe(dql_zone_scanner *sc, const uint8_t *owner, size_t olen, uint16_t type)
{
    zchk *c = &sc->chk;
    chk_follow(sc);
    dql_zone_rr rr;
    memset(&rr, 0, sizeof rr);
    rr.owner = owner;
    rr.owner_len = olen;
    rr.type = type;
    (void)chk_record(c, &rr);
}

static dql_zone_res chk_next(dql_zone_scanner *sc, dql_zone_rr *rr)
{
    zchk *c = &sc->chk;
    for (;;) {
        if (c->qhead < c->qready)
            return q_pop(sc, rr);
        if (c->qhead == c->qlen) {
            c->qhead = c->qready = c->qlen = 0;
        } else if (c->qhead > 0) {   /* only held items left: move them to the front */
            memmove(c->q, c->q + c->qhead, c->qlen - c->qhead);
            c->qlen -= c->qhead;
            c->qready = c->qhead = 0;
        }
        if (c->eof)
            return DQL_ZONE_EOF;
        dql_zone_res r = scan_next(sc, rr);
        if (r == DQL_ZONE_RR) {
            chk_follow(sc);
            int v = chk_record(c, rr);
            if (v == V_OK && rr->type == 2 && c->qready < c->qlen)
                decide(c, D_NS);   /* the NS the held DS records waited for */
            if (c->qlen == 0 && v != V_PENDING)
                return v == V_OK ? DQL_ZONE_RR : chk_fail(sc, v, rr);
            q_push_rr(c, rr, v);
            if (c->nheld > HOLD_MAX || c->qlen - c->qready > HOLD_BYTES)
                decide(c, D_CAP);
            continue;
        }
        if (r == DQL_ZONE_BAD) {
            chk_follow(sc);   /* decides the run's held DS records before this message */
            if (c->qlen == 0)
                return r;
            q_push_msg(sc, false);
            continue;
        }
        /* the end of the input (or of what can be read of it) ends the run */
        run_end(c);
        c->eof = true;
        if (c->qlen == 0)
            return r;
        if (r == DQL_ZONE_FATAL)
            q_push_msg(sc, true);
    }
}

dql_zone_res dql_zone_next(dql_zone_scanner *sc, dql_zone_rr *rr)
{
    if (!sc->o.checks)
        return scan_next(sc, rr);
    return chk_next(sc, rr);
}
