/* util.c — the small runtime every layer uses: status messages and exit
 * codes, the arena allocator, checked allocation, growable buffers, size and
 * duration parsing, schemas and row batches. */
#include "dql.h"
#include "arena_inline.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <strings.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* ---------------------------------------------------------------- status */

static const struct { const char *msg; int exit; } status_tab[DQL_STATUS_MAX] = {
    [DQL_OK]            = { "ok",                DQL_EXIT_OK },
    [DQL_EOF]           = { "end of input",      DQL_EXIT_OK },
    [DQL_ERR_PARSE]     = { "syntax error",      DQL_EXIT_CHECK },
    [DQL_ERR_CHECK]     = { "check error",       DQL_EXIT_CHECK },
    [DQL_ERR_RUNTIME]   = { "runtime error",     DQL_EXIT_RUNTIME },
    [DQL_ERR_IO]        = { "I/O error",         DQL_EXIT_RUNTIME },
    [DQL_ERR_NOMEM]     = { "out of memory",     DQL_EXIT_RUNTIME },
    [DQL_ERR_USAGE]     = { "usage error",       DQL_EXIT_USAGE },
    [DQL_ERR_INTERRUPT] = { "interrupted",       DQL_EXIT_INTERRUPT },
    [DQL_ERR_SQL]       = { "SQL error",         DQL_EXIT_RUNTIME },
    [DQL_ERR_LUA]       = { "Lua error",         DQL_EXIT_RUNTIME },
};

const char *dql_status_str(dql_status st)
{
    if ((unsigned)st >= DQL_STATUS_MAX)
        return "unknown status";
    return status_tab[st].msg;
}

int dql_status_exit(dql_status st)
{
    if ((unsigned)st >= DQL_STATUS_MAX)
        return DQL_EXIT_RUNTIME;
    return status_tab[st].exit;
}

/* ------------------------------------------------------- checked malloc */

static void oom(void)
{
    fputs("dql: out of memory\n", stderr);
    abort();
}

void *dql_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}

void *dql_xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p)
        oom();
    return p;
}

void *dql_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom();
    return q;
}

char *dql_xstrdup(const char *s)
{
    return dql_xstrndup(s, strlen(s));
}

/* Copies at most n bytes of s (stops at a NUL) and terminates the copy. */
char *dql_xstrndup(const char *s, size_t n)
{
    size_t k = 0;
    while (k < n && s[k])
        k++;
    char *p = dql_xmalloc(k + 1);
    memcpy(p, s, k);
    p[k] = 0;
    return p;
}

/* ------------------------------------------------------------------ arena */

#define ARENA_MIN_CHUNK  ((size_t)64 * 1024)
#define ARENA_MAX_CHUNK  ((size_t)16 * 1024 * 1024)

void dql_arena_init(dql_arena *a)
{
    a->head = NULL;
    a->used = 0;
    a->total = 0;
}

static dql_arena_chunk *chunk_new(dql_arena *a, size_t cap, size_t large)
{
    if (cap > SIZE_MAX - sizeof(dql_arena_chunk))
        oom();
    dql_arena_chunk *c = malloc(sizeof *c + cap);
    if (!c)
        oom();
    c->cap = cap;
    c->large = large;
    c->pad_ = 0;
    a->total += sizeof *c + cap;
    return c;
}

/* A request that does not fit the current chunk. Requests larger than a
 * quarter of the next regular chunk get a chunk of their own, linked behind
 * the current one so its free space stays in use. Otherwise a new regular
 * chunk, twice the size of the last (64 KB to 16 MB), becomes current. */
void *dql_arena_alloc_slow(dql_arena *a, size_t n)
{
    if (n > SIZE_MAX / 2)
        oom();
    size_t need = (n + 7) & ~(size_t)7;
    dql_arena_chunk *h = a->head;
    size_t next = ARENA_MIN_CHUNK;
    if (h && !h->large) {
        next = h->cap * 2;
        if (next > ARENA_MAX_CHUNK)
            next = ARENA_MAX_CHUNK;
        if (next < ARENA_MIN_CHUNK)
            next = ARENA_MIN_CHUNK;
    }
    if (need > next / 4) {
        dql_arena_chunk *c = chunk_new(a, need, 1);
        if (h) {
            c->next = h->next;
            h->next = c;
        } else {
            c->next = NULL;
            a->head = c;
            a->used = need;
        }
        return c->data;
    }
    dql_arena_chunk *c = chunk_new(a, next, 0);
    c->next = h;
    a->head = c;
    a->used = need;
    return c->data;
}

void *dql_arena_alloc(dql_arena *a, size_t n)
{
    return dql_arena_alloc_inline(a, n);
}

void *dql_arena_memdup(dql_arena *a, const void *p, size_t n)
{
    void *q = dql_arena_alloc_inline(a, n);
    if (n)
        memcpy(q, p, n);
    return q;
}

char *dql_arena_strndup(dql_arena *a, const char *s, size_t n)
{
    char *q = dql_arena_alloc_inline(a, n + 1);
    if (n)
        memcpy(q, s, n);
    q[n] = 0;
    return q;
}

/* Formats straight into the free space of the current chunk when it fits. */
char *dql_arena_printf(dql_arena *a, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int k;
    dql_arena_chunk *c = a->head;
    if (c && c->cap > a->used) {
        size_t avail = c->cap - a->used;
        char *p = (char *)c->data + a->used;
        k = vsnprintf(p, avail, fmt, ap);
        if (k >= 0 && (size_t)k < avail) {
            a->used += ((size_t)k + 1 + 7) & ~(size_t)7;
            if (a->used > c->cap)
                a->used = c->cap;
            va_end(ap);
            va_end(ap2);
            return p;
        }
    } else {
        k = vsnprintf(NULL, 0, fmt, ap);
    }
    va_end(ap);
    if (k < 0)
        k = 0;
    char *p = dql_arena_alloc_inline(a, (size_t)k + 1);
    if (vsnprintf(p, (size_t)k + 1, fmt, ap2) < 0)
        p[0] = 0;
    va_end(ap2);
    return p;
}

/* Frees every chunk but the first regular one, which becomes current. */
void dql_arena_reset(dql_arena *a)
{
    dql_arena_chunk *c = a->head, *keep = NULL;
    while (c) {
        dql_arena_chunk *next = c->next;
        if (!next && !c->large)
            keep = c;
        else
            free(c);
        c = next;
    }
    a->head = keep;
    a->used = 0;
    a->total = keep ? sizeof *keep + keep->cap : 0;
    if (keep)
        keep->next = NULL;
}

void dql_arena_free(dql_arena *a)
{
    dql_arena_chunk *c = a->head;
    while (c) {
        dql_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    dql_arena_init(a);
}

/* -------------------------------------------------------------------- buf */

/* Ensures room for extra more bytes plus a terminating NUL. */
void dql_buf_reserve(dql_buf *b, size_t extra)
{
    if (extra > SIZE_MAX / 2 - b->len)
        oom();
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->p = dql_xrealloc(b->p, cap);
    b->cap = cap;
}

/* dql_buf_put and dql_buf_putc are inline in dql.h (they are on every
 * output path); these are their out-of-line twins for function pointers. */
void (dql_buf_put)(dql_buf *b, const void *p, size_t n) { dql_buf_put(b, p, n); }
void (dql_buf_putc)(dql_buf *b, char c) { dql_buf_putc(b, c); }

void dql_buf_puts(dql_buf *b, const char *s)
{
    dql_buf_put(b, s, strlen(s));
}

void dql_buf_printf(dql_buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    dql_buf_reserve(b, 32);
    size_t avail = b->cap - b->len;
    int k = vsnprintf(b->p + b->len, avail, fmt, ap);
    va_end(ap);
    if (k >= 0 && (size_t)k >= avail) {
        dql_buf_reserve(b, (size_t)k);
        k = vsnprintf(b->p + b->len, (size_t)k + 1, fmt, ap2);
    }
    va_end(ap2);
    if (k > 0)
        b->len += (size_t)k;
    b->p[b->len] = 0;
}

void dql_buf_free(dql_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

const char *dql_buf_cstr(dql_buf *b)
{
    if (!b->p || b->cap <= b->len)
        dql_buf_reserve(b, 0);
    b->p[b->len] = 0;
    return b->p;
}

/* ------------------------------------------------------ sizes, durations */

/* Reads "digits[.digits]" at *pp: the integer part into *ip (false on
 * overflow), the fraction into *frac. At least one digit is required. */
static bool read_decimal(const char **pp, uint64_t *ip, double *frac)
{
    const char *p = *pp;
    uint64_t v = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9') {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
        p++, digits++;
    }
    double f = 0, scale = 0.1;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            f += (*p - '0') * scale;
            scale /= 10;
            p++, digits++;
        }
    }
    if (!digits)
        return false;
    *ip = v;
    *frac = f;
    *pp = p;
    return true;
}

/* i * mult + frac * mult into *out; false on overflow. */
static bool scale_value(uint64_t i, double frac, uint64_t mult, uint64_t *out)
{
    if (mult && i > UINT64_MAX / mult)
        return false;
    uint64_t v = i * mult;
    uint64_t f = (uint64_t)(frac * (double)mult);
    if (f > UINT64_MAX - v)
        return false;
    *out = v + f;
    return true;
}

/* Sizes: a number (fraction allowed), optional blank, an optional unit
 * B, K/KB/KiB, M/MB/MiB, G/GB/GiB, T/TB/TiB (case-insensitive, powers of
 * 1024). */
bool dql_parse_size(const char *s, uint64_t *out)
{
    if (!s)
        return false;
    const char *p = s;
    uint64_t i;
    double frac;
    if (!read_decimal(&p, &i, &frac))
        return false;
    if (*p == ' ')
        p++;
    uint64_t mult = 1;
    int c = tolower((unsigned char)*p);
    const char *u = "kmgtp";
    const char *hit = c ? strchr(u, c) : NULL;
    if (hit) {
        for (int k = 0; k <= hit - u; k++)
            mult *= 1024;
        p++;
        if ((p[0] == 'i' || p[0] == 'I') && (p[1] == 'b' || p[1] == 'B'))
            p += 2;
        else if (*p == 'b' || *p == 'B')
            p++;
    } else if (c == 'b') {
        p++;
    }
    if (*p)
        return false;
    return scale_value(i, frac, mult, out);
}

/* Durations: one or more number+unit pairs (h, m, s, ms, us, µs, ns, d),
 * or a lone number meaning seconds. Result in microseconds; ns truncates. */
bool dql_parse_duration(const char *s, int64_t *us)
{
    if (!s || !*s)
        return false;
    const char *p = s;
    uint64_t total = 0;
    int parts = 0;
    while (*p) {
        uint64_t i;
        double frac;
        if (!read_decimal(&p, &i, &frac))
            return false;
        uint64_t mult, div = 1;
        if (!*p) {
            if (parts)
                return false;          /* "1h30" is ambiguous */
            mult = 1000000;
        } else if (p[0] == 'm' && p[1] == 's') {
            mult = 1000, p += 2;
        } else if (p[0] == 'u' && p[1] == 's') {
            mult = 1, p += 2;
        } else if ((unsigned char)p[0] == 0xc2 && (unsigned char)p[1] == 0xb5 && p[2] == 's') {
            mult = 1, p += 3;          /* µs */
        } else if (p[0] == 'n' && p[1] == 's') {
            mult = 1, div = 1000, p += 2;
        } else if (p[0] == 'h') {
            mult = 3600000000ULL, p++;
        } else if (p[0] == 'm') {
            mult = 60000000ULL, p++;
        } else if (p[0] == 's') {
            mult = 1000000, p++;
        } else if (p[0] == 'd') {
            mult = 86400000000ULL, p++;
        } else {
            return false;
        }
        uint64_t v;
        if (div > 1) {
            v = i / div;
            v += (uint64_t)(((double)(i % div) + frac) / (double)div);
        } else if (!scale_value(i, frac, mult, &v)) {
            return false;
        }
        if (v > (uint64_t)INT64_MAX - total)
            return false;
        total += v;
        parts++;
    }
    *us = (int64_t)total;
    return true;
}

/* ----------------------------------------------------------------- schema */

/* A schema of n unnamed fields of type any (callers may fill s->f[i]). */
dql_schema *dql_schema_new(int n)
{
    dql_schema *s = dql_xcalloc(1, sizeof *s);
    if (n > 0) {
        s->f = dql_xcalloc((size_t)n, sizeof *s->f);
        for (int i = 0; i < n; i++)
            s->f[i].type = DQL_T_ANY;
        s->n = n;
    }
    return s;
}

dql_schema *dql_schema_copy(const dql_schema *s)
{
    if (!s)
        return NULL;
    dql_schema *c = dql_xcalloc(1, sizeof *c);
    if (s->n > 0) {
        c->f = dql_xcalloc((size_t)s->n, sizeof *c->f);
        for (int i = 0; i < s->n; i++) {
            c->f[i].name = s->f[i].name ? dql_xstrdup(s->f[i].name) : NULL;
            c->f[i].type = s->f[i].type;
            c->f[i].sub = dql_schema_copy(s->f[i].sub);
        }
        c->n = s->n;
    }
    return c;
}

void dql_schema_free(dql_schema *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n; i++) {
        free(s->f[i].name);
        dql_schema_free(s->f[i].sub);
    }
    free(s->f);
    free(s);
}

void dql_schema_add(dql_schema *s, const char *name, dql_type t, const dql_schema *sub)
{
    s->f = dql_xrealloc(s->f, (size_t)(s->n + 1) * sizeof *s->f);
    dql_field *f = &s->f[s->n++];
    f->name = name ? dql_xstrdup(name) : NULL;
    f->type = t;
    f->sub = dql_schema_copy(sub);
}

int dql_schema_find(const dql_schema *s, const char *name)
{
    if (!s || !name)
        return -1;
    for (int i = 0; i < s->n; i++)
        if (s->f[i].name && strcmp(s->f[i].name, name) == 0)
            return i;
    size_t nl = strlen(name);
    int found = -1;
    for (int i = 0; i < s->n; i++) {
        const char *fn = s->f[i].name;
        if (!fn)
            continue;
        size_t fl = strlen(fn);
        if (fl >= nl + 2 && memcmp(fn + fl - nl, name, nl) == 0
            && fn[fl - nl - 1] == ':' && fn[fl - nl - 2] == ':') {
            if (found >= 0)
                return -2;
            found = i;
        }
    }
    return found;
}

static void schema_format_field(dql_buf *out, const dql_field *f);

static void schema_format_list(dql_buf *out, const dql_schema *s)
{
    for (int i = 0; s && i < s->n; i++) {
        if (i)
            dql_buf_put(out, ", ", 2);
        schema_format_field(out, &s->f[i]);
    }
}

static void schema_format_field(dql_buf *out, const dql_field *f)
{
    if (f->name) {
        dql_buf_puts(out, f->name);
        dql_buf_put(out, ": ", 2);
    }
    switch (f->type) {
    case DQL_T_TUPLE:
        dql_buf_putc(out, '(');
        schema_format_list(out, f->sub);
        dql_buf_putc(out, ')');
        break;
    case DQL_T_BAG:
        dql_buf_put(out, "{(", 2);
        schema_format_list(out, f->sub);
        dql_buf_put(out, ")}", 2);
        break;
    case DQL_T_MAP:
        dql_buf_puts(out, "map[]");
        break;
    default:
        dql_buf_puts(out, dql_type_name(f->type));
        break;
    }
}

void dql_schema_format(dql_buf *out, const dql_schema *s)
{
    schema_format_list(out, s);
    dql_buf_cstr(out);
}

/* ------------------------------------------------------------------ batch */

/* Allocates room for cap rows of ncols null values; n starts at 0. */
void dql_batch_init(dql_batch *b, int ncols, int cap)
{
    if (ncols < 0)
        ncols = 0;
    if (cap < 1)
        cap = DQL_BATCH_ROWS;
    b->n = 0;
    b->cap = cap;
    b->ncols = ncols;
    b->v = dql_xcalloc((size_t)cap * (size_t)(ncols ? ncols : 1), sizeof(dql_value));
}

void dql_batch_free(dql_batch *b)
{
    free(b->v);
    b->v = NULL;
    b->n = b->cap = 0;
}

char *dql_read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    dql_buf b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        dql_buf_put(&b, tmp, n);
    bool bad = ferror(f) != 0;
    int e = errno;
    if (f != stdin)
        fclose(f);
    if (bad) {
        snprintf(err, errlen, "cannot read '%s': %s", path, strerror(e));
        dql_buf_free(&b);
        return NULL;
    }
    if (len)
        *len = b.len;
    dql_buf_cstr(&b);
    return b.p;
}

/* Index of the first byte of s[0..n) that TSV must escape, or n. Eight bytes
 * at a time: a word has none of \t \n \r \\ when no byte is below 0x0e
 * and none equals 0x5c (the rare false alarm is settled byte by byte). */
/* Bytes TSV escapes: tab, newline, carriage return, backslash. */
static const uint8_t tsv_special[256] = { ['\t'] = 1, ['\n'] = 1, ['\r'] = 1, ['\\'] = 1 };

#ifdef __SSE2__
/* Bit i set when byte i of the 16 at s is one TSV escapes. */
static inline unsigned tsv_mask16(const char *s)
{
    const __m128i w = _mm_loadu_si128((const __m128i *)(const void *)s);
    __m128i m = _mm_or_si128(_mm_cmpeq_epi8(w, _mm_set1_epi8('\t')), _mm_cmpeq_epi8(w, _mm_set1_epi8('\n')));
    m = _mm_or_si128(m, _mm_cmpeq_epi8(w, _mm_set1_epi8('\r')));
    m = _mm_or_si128(m, _mm_cmpeq_epi8(w, _mm_set1_epi8('\\')));
    return (unsigned)_mm_movemask_epi8(m);
}
#endif

size_t dql_tsv_plain(const char *s, size_t n)
{
    size_t i = 0;
#ifdef __SSE2__
    if (n >= 16) {
        for (; i + 16 <= n; i += 16) {
            unsigned m = tsv_mask16(s + i);
            if (m)
                return i + (size_t)__builtin_ctz(m);
        }
        if (i < n) {
            /* the last 16 bytes, overlapping what was checked */
            unsigned m = tsv_mask16(s + n - 16) >> (16 - (n - i));
            return m ? i + (size_t)__builtin_ctz(m) : n;
        }
        return n;
    }
#else
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        uint64_t low = (w - ones * 0x0e) & ~w & highs;          /* a byte < 0x0e */
        uint64_t x = w ^ (ones * 0x5c);
        uint64_t bs = (x - ones) & ~x & highs;                   /* a byte == 0x5c */
        if (low | bs) break;
    }
#endif
    for (; i < n; i++)
        if (tsv_special[(unsigned char)s[i]])
            return i;
    return n;
}

/* True when one of the 8 bytes of w is a byte TSV escapes (exact). */
static inline bool tsv_any8(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t a = w ^ (ones * '\t'), b = w ^ (ones * '\n'), c = w ^ (ones * '\r'), d = w ^ (ones * '\\');
    return (((a - ones) & ~a) | ((b - ones) & ~b) | ((c - ones) & ~c) | ((d - ones) & ~d)) & highs;
}

void dql_buf_tsv(dql_buf *b, const char *s, size_t n)
{
    /* room for the worst case (every byte escaped) and for whole 16-byte
     * stores past the end, so the loop needs no checks */
    if (b->cap - b->len <= 2 * n + 16 || !b->p)
        dql_buf_reserve(b, 2 * n + 16);
    char *o = b->p + b->len;
    size_t i = 0;
#ifdef __SSE2__
    while (i + 16 <= n) {
        __m128i w = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        _mm_storeu_si128((__m128i *)(void *)o, w);
        unsigned m = tsv_mask16(s + i);
        if (!m) {
            i += 16;
            o += 16;
            continue;
        }
        size_t k = (size_t)__builtin_ctz(m);
        char c = s[i + k];
        o += k;
        *o++ = '\\';
        *o++ = c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\';
        i += k + 1;
    }
#endif
    while (i + 8 <= n) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (tsv_any8(w))
            break;
        memcpy(o, &w, 8);
        i += 8;
        o += 8;
    }
    for (; i < n; i++) {
        char c = s[i];
        if (tsv_special[(unsigned char)c]) {
            *o++ = '\\';
            *o++ = c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\';
        } else {
            *o++ = c;
        }
    }
    b->len = (size_t)(o - b->p);
}
