/* sort.c — the external sorter under ORDER, GROUP, COGROUP, DISTINCT and
 * JOIN, and the binary value serialization its run files use.
 *
 * Rows are copied into an array of values (their strings and containers
 * deep-copied into an arena, one allocation per row). When the bytes held
 * pass the memory budget the rows in memory are sorted (a stable merge sort:
 * of the rows themselves when they are narrow, else of row pointers) and
 * written as a run file: an unlinked mkstemp file in the temporary directory,
 * so nothing is left behind even on a crash. At the end, if no run was
 * written the sorted rows are iterated in memory; otherwise the last rows
 * become a run too and the runs are merged with a binary heap (ties broken
 * by run index, which keeps the sort stable), in several passes when there
 * are more runs than the fan-in limit.
 *
 * Run file format: rows one after the other, each a 4-byte little-endian
 * length followed by its ncols serialized values.
 *
 * Value serialization: one type byte (bit 0x80 set when a flags byte
 * follows), then the payload: nothing for null; one byte for boolean;
 * zigzag varints for int, long and datetime; 8 little-endian bytes for
 * double; a varint length and the bytes for chararray, bytearray, domain
 * and ip; cidr as ip followed by a varint prefix length; a varint count and
 * the values for tuples; a varint count of tuples each as a tuple body for
 * bags; a varint count and key, value pairs for maps. */
#include "sort.h"
#include "arena_inline.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --------------------------------------------------------- serialization */

#define SER_FLAGS   0x80   /* type byte bit: a flags byte follows */
#define SER_MAXDEPTH 200   /* nesting limit when reading (corrupt data guard) */

static inline uint8_t *ser_room(dql_buf *b, size_t n)
{
    if (b->cap - b->len < n)
        dql_buf_reserve(b, n);
    return (uint8_t *)b->p + b->len;
}

static inline size_t put_uvarint(uint8_t *p, uint64_t x)
{
    size_t n = 0;
    while (x >= 0x80) {
        p[n++] = (uint8_t)(x | 0x80);
        x >>= 7;
    }
    p[n++] = (uint8_t)x;
    return n;
}

static inline uint64_t zigzag(int64_t i)
{
    return ((uint64_t)i << 1) ^ (uint64_t)(i >> 63);
}

static inline int64_t unzigzag(uint64_t x)
{
    return (int64_t)((x >> 1) ^ (~(x & 1) + 1));
}

static void ser_uvarint(dql_buf *out, uint64_t x)
{
    uint8_t *p = ser_room(out, 10);
    out->len += put_uvarint(p, x);
}

static void ser_bytes(dql_buf *out, const void *s, size_t n)
{
    uint8_t *p = ser_room(out, 10 + n);
    size_t k = put_uvarint(p, n);
    if (n)
        memcpy(p + k, s, n);
    out->len += k + n;
}

static void ser_value(dql_buf *out, const dql_value *v);

static void ser_tuple_body(dql_buf *out, const dql_tuple *t)
{
    if (!t) {
        ser_uvarint(out, 0);
        return;
    }
    ser_uvarint(out, t->n);
    for (uint32_t i = 0; i < t->n; i++)
        ser_value(out, &t->v[i]);
}

static void ser_value(dql_buf *out, const dql_value *v)
{
    uint8_t t = v->type;
    /* Containers without payload and unknown types are written as null. */
    if ((t == DQL_T_TUPLE && !v->u.t) || (t == DQL_T_BAG && !v->u.b) ||
        (t == DQL_T_MAP && !v->u.m) || t >= DQL_T_ANY)
        t = DQL_T_NULL;
    uint8_t *p = ser_room(out, 2 + 10);
    size_t n = 0;
    if (v->flags) {
        p[n++] = (uint8_t)(t | SER_FLAGS);
        p[n++] = v->flags;
    } else {
        p[n++] = t;
    }
    switch (t) {
    case DQL_T_NULL:
        break;
    case DQL_T_BOOL:
        p[n++] = v->u.i != 0;
        break;
    case DQL_T_INT:
    case DQL_T_LONG:
    case DQL_T_DATETIME:
        n += put_uvarint(p + n, zigzag(v->u.i));
        break;
    case DQL_T_DOUBLE: {
        uint64_t x;
        memcpy(&x, &v->u.d, 8);
        for (int i = 0; i < 8; i++)
            p[n++] = (uint8_t)(x >> (8 * i));
        break;
    }
    case DQL_T_CHARARRAY:
    case DQL_T_BYTEARRAY:
    case DQL_T_DOMAIN:
    case DQL_T_IP:
        out->len += n;
        ser_bytes(out, v->u.s, v->len);
        return;
    case DQL_T_CIDR:
        out->len += n;
        ser_bytes(out, v->u.ip, v->len);
        ser_uvarint(out, v->aux);
        return;
    case DQL_T_TUPLE:
        out->len += n;
        ser_tuple_body(out, v->u.t);
        return;
    case DQL_T_BAG:
        out->len += n;
        ser_uvarint(out, v->u.b->n);
        for (uint64_t i = 0; i < v->u.b->n; i++)
            ser_tuple_body(out, v->u.b->t[i]);
        return;
    case DQL_T_MAP:
        out->len += n;
        ser_uvarint(out, v->u.m->n);
        for (uint32_t i = 0; i < v->u.m->n; i++) {
            ser_value(out, &v->u.m->k[i]);
            ser_value(out, &v->u.m->v[i]);
        }
        return;
    }
    out->len += n;
}

/* Appends the serialized form of v to out. */
void dql_value_serialize(dql_buf *out, dql_value v)
{
    ser_value(out, &v);
}

static inline bool get_uvarint(const uint8_t **pp, const uint8_t *end, uint64_t *x)
{
    const uint8_t *p = *pp;
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (p >= end)
            return false;
        uint8_t c = *p++;
        if (shift == 63 && c > 1)
            return false;
        r |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *pp = p;
            *x = r;
            return true;
        }
    }
    return false;
}

static bool deser_value(dql_arena *a, const uint8_t **pp, const uint8_t *end, dql_value *out, int depth);

static bool deser_tuple_body(dql_arena *a, const uint8_t **pp, const uint8_t *end, dql_tuple **out, int depth)
{
    uint64_t n;
    if (!get_uvarint(pp, end, &n) || n > (uint64_t)(end - *pp) || n > UINT32_MAX)
        return false;   /* every value takes at least one byte */
    dql_tuple *t = dql_arena_alloc(a, sizeof(dql_tuple) + (size_t)n * sizeof(dql_value));
    t->n = (uint32_t)n;
    for (uint64_t i = 0; i < n; i++)
        if (!deser_value(a, pp, end, &t->v[i], depth + 1))
            return false;
    *out = t;
    return true;
}

static bool deser_value(dql_arena *a, const uint8_t **pp, const uint8_t *end, dql_value *out, int depth)
{
    const uint8_t *p = *pp;
    dql_value v = {0};
    uint64_t x;
    if (depth > SER_MAXDEPTH || p >= end)
        return false;
    uint8_t t = *p++;
    if (t & SER_FLAGS) {
        if (p >= end)
            return false;
        v.flags = *p++;
        t &= (uint8_t)~SER_FLAGS;
    }
    if (t >= DQL_T_ANY)
        return false;
    v.type = t;
    switch (t) {
    case DQL_T_NULL:
        break;
    case DQL_T_BOOL:
        if (p >= end || *p > 1)
            return false;
        v.u.i = *p++;
        break;
    case DQL_T_INT:
    case DQL_T_LONG:
    case DQL_T_DATETIME:
        if (!get_uvarint(&p, end, &x))
            return false;
        v.u.i = unzigzag(x);
        if (t == DQL_T_INT && (v.u.i < INT32_MIN || v.u.i > INT32_MAX))
            return false;
        break;
    case DQL_T_DOUBLE: {
        if (end - p < 8)
            return false;
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++)
            bits |= (uint64_t)p[i] << (8 * i);
        memcpy(&v.u.d, &bits, 8);
        p += 8;
        break;
    }
    case DQL_T_CHARARRAY:
    case DQL_T_BYTEARRAY:
    case DQL_T_DOMAIN:
    case DQL_T_IP:
    case DQL_T_CIDR:
        if (!get_uvarint(&p, end, &x) || x > (uint64_t)(end - p) || x > UINT32_MAX)
            return false;
        if ((t == DQL_T_IP || t == DQL_T_CIDR) && x != 4 && x != 16)
            return false;
        v.len = (uint32_t)x;
        v.u.s = x ? dql_arena_memdup(a, p, (size_t)x) : "";
        p += x;
        if (t == DQL_T_CIDR) {
            uint64_t prefix;
            if (!get_uvarint(&p, end, &prefix) || prefix > 8 * x)
                return false;
            v.aux = (uint16_t)prefix;
        }
        break;
    case DQL_T_TUPLE:
        if (!deser_tuple_body(a, &p, end, &v.u.t, depth))
            return false;
        break;
    case DQL_T_BAG: {
        if (!get_uvarint(&p, end, &x) || x > (uint64_t)(end - p))
            return false;
        dql_bag *b = dql_arena_alloc(a, sizeof(dql_bag));
        b->n = x;
        b->t = x ? dql_arena_alloc(a, (size_t)x * sizeof(dql_tuple *)) : NULL;
        for (uint64_t i = 0; i < x; i++)
            if (!deser_tuple_body(a, &p, end, &b->t[i], depth + 1))
                return false;
        v.u.b = b;
        break;
    }
    case DQL_T_MAP: {
        if (!get_uvarint(&p, end, &x) || x > (uint64_t)(end - p) / 2)
            return false;
        dql_map *m = dql_arena_alloc(a, sizeof(dql_map));
        m->n = (uint32_t)x;
        m->k = x ? dql_arena_alloc(a, (size_t)x * sizeof(dql_value)) : NULL;
        m->v = x ? dql_arena_alloc(a, (size_t)x * sizeof(dql_value)) : NULL;
        for (uint64_t i = 0; i < x; i++)
            if (!deser_value(a, &p, end, &m->k[i], depth + 1) ||
                !deser_value(a, &p, end, &m->v[i], depth + 1))
                return false;
        v.u.m = m;
        break;
    }
    default:
        return false;
    }
    *pp = p;
    *out = v;
    return true;
}

/* Reads one value from [*p, end) into arena a; advances *p past it. Returns
 * false on corrupt or truncated input, never reading at or past end. */
bool dql_value_deserialize(dql_arena *a, const uint8_t **p, const uint8_t *end, dql_value *out)
{
    return deser_value(a, p, end, out, 0);
}

/* ------------------------------------------------------------ row copies */

#define AL8(n) (((size_t)(n) + 7) & ~(size_t)7)

/* Bytes the payload of v takes when deep-copied by deep_copy(). */
static size_t deep_size(const dql_value *v)
{
    size_t sz = 0;
    switch (v->type) {
    case DQL_T_CHARARRAY:
    case DQL_T_BYTEARRAY:
    case DQL_T_DOMAIN:
    case DQL_T_IP:
    case DQL_T_CIDR:
        return AL8(v->len);
    case DQL_T_TUPLE:
        if (!v->u.t)
            return 0;
        sz = AL8(sizeof(dql_tuple) + v->u.t->n * sizeof(dql_value));
        for (uint32_t i = 0; i < v->u.t->n; i++)
            sz += deep_size(&v->u.t->v[i]);
        return sz;
    case DQL_T_BAG:
        if (!v->u.b)
            return 0;
        sz = AL8(sizeof(dql_bag)) + AL8(v->u.b->n * sizeof(dql_tuple *));
        for (uint64_t i = 0; i < v->u.b->n; i++) {
            const dql_tuple *t = v->u.b->t[i];
            if (!t)
                continue;
            sz += AL8(sizeof(dql_tuple) + t->n * sizeof(dql_value));
            for (uint32_t j = 0; j < t->n; j++)
                sz += deep_size(&t->v[j]);
        }
        return sz;
    case DQL_T_MAP:
        if (!v->u.m)
            return 0;
        sz = AL8(sizeof(dql_map)) + 2 * AL8(v->u.m->n * sizeof(dql_value));
        for (uint32_t i = 0; i < v->u.m->n; i++)
            sz += deep_size(&v->u.m->k[i]) + deep_size(&v->u.m->v[i]);
        return sz;
    default:
        return 0;
    }
}

static inline void *bump(char **p, size_t n)
{
    void *r = *p;
    *p += AL8(n);
    return r;
}

static dql_tuple *deep_copy_tuple(const dql_tuple *t, char **bp);

/* Rewrites the payload pointers of *v to copies carved from *bp. */
static void deep_copy(dql_value *v, char **bp)
{
    switch (v->type) {
    case DQL_T_CHARARRAY:
    case DQL_T_BYTEARRAY:
    case DQL_T_DOMAIN:
    case DQL_T_IP:
    case DQL_T_CIDR:
        if (v->len) {
            char *d = bump(bp, v->len);
            memcpy(d, v->u.s, v->len);
            v->u.s = d;
        }
        break;
    case DQL_T_TUPLE:
        if (v->u.t)
            v->u.t = deep_copy_tuple(v->u.t, bp);
        break;
    case DQL_T_BAG:
        if (v->u.b) {
            const dql_bag *ob = v->u.b;
            dql_bag *b = bump(bp, sizeof(dql_bag));
            b->n = ob->n;
            b->t = bump(bp, ob->n * sizeof(dql_tuple *));
            for (uint64_t i = 0; i < ob->n; i++)
                b->t[i] = ob->t[i] ? deep_copy_tuple(ob->t[i], bp) : NULL;
            v->u.b = b;
        }
        break;
    case DQL_T_MAP:
        if (v->u.m) {
            const dql_map *om = v->u.m;
            dql_map *m = bump(bp, sizeof(dql_map));
            m->n = om->n;
            m->k = bump(bp, om->n * sizeof(dql_value));
            m->v = bump(bp, om->n * sizeof(dql_value));
            for (uint32_t i = 0; i < om->n; i++) {
                m->k[i] = om->k[i];
                deep_copy(&m->k[i], bp);
                m->v[i] = om->v[i];
                deep_copy(&m->v[i], bp);
            }
            v->u.m = m;
        }
        break;
    default:
        break;
    }
}

static dql_tuple *deep_copy_tuple(const dql_tuple *ot, char **bp)
{
    dql_tuple *t = bump(bp, sizeof(dql_tuple) + ot->n * sizeof(dql_value));
    t->n = ot->n;
    for (uint32_t i = 0; i < ot->n; i++) {
        t->v[i] = ot->v[i];
        deep_copy(&t->v[i], bp);
    }
    return t;
}

/* ------------------------------------------------------ in-memory sorting */

#define INSERT_RUN 24   /* rows sorted by binary insertion before merging */

/* Stable binary insertion sort of a[0..n). */
static void binsert(dql_value **a, size_t n, dql_row_cmp cmp, void *ud)
{
    for (size_t i = 1; i < n; i++) {
        dql_value *x = a[i];
        if (cmp(a[i - 1], x, ud) <= 0)
            continue;
        size_t lo = 0, hi = i - 1;   /* x goes after every element <= x, in [lo, hi] */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (cmp(x, a[mid], ud) < 0)
                hi = mid;
            else
                lo = mid + 1;
        }
        memmove(a + lo + 1, a + lo, (i - lo) * sizeof *a);
        a[lo] = x;
    }
}

/* Stable merge sort of the row pointers a[0..n), using tmp (n slots) as
 * scratch: binary insertion on short runs, then bottom-up merges that skip
 * the merge when the two halves are already in order. */
static void msort(dql_value **a, dql_value **tmp, size_t n, dql_row_cmp cmp, void *ud)
{
    for (size_t lo = 0; lo < n; lo += INSERT_RUN)
        binsert(a + lo, n - lo < INSERT_RUN ? n - lo : INSERT_RUN, cmp, ud);
    dql_value **src = a, **dst = tmp;
    for (size_t w = INSERT_RUN; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n;
            size_t hi = lo + 2 * w < n ? lo + 2 * w : n;
            if (mid >= hi || cmp(src[mid - 1], src[mid], ud) <= 0) {
                memcpy(dst + lo, src + lo, (hi - lo) * sizeof *a);
                continue;
            }
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                if (cmp(src[j], src[i], ud) < 0)
                    dst[k++] = src[j++];
                else
                    dst[k++] = src[i++];
            }
            if (i < mid)
                memcpy(dst + k, src + i, (mid - i) * sizeof *a);
            else if (j < hi)
                memcpy(dst + k, src + j, (hi - j) * sizeof *a);
        }
        dql_value **t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
}

#define DIRECT_MAX_COLS 4   /* rows this narrow are sorted in place, not through pointers */

static inline void rowcpy(dql_value *d, const dql_value *s, int nc)
{
    for (int i = 0; i < nc; i++)
        d[i] = s[i];
}

/* Stable binary insertion sort of n rows of nc values stored in a. */
static void binsert_rows(dql_value *a, size_t n, int nc, dql_row_cmp cmp, void *ud)
{
    dql_value x[DIRECT_MAX_COLS];
    for (size_t i = 1; i < n; i++) {
        if (cmp(a + (i - 1) * nc, a + i * nc, ud) <= 0)
            continue;
        rowcpy(x, a + i * nc, nc);
        size_t lo = 0, hi = i - 1;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (cmp(x, a + mid * nc, ud) < 0)
                hi = mid;
            else
                lo = mid + 1;
        }
        memmove(a + (lo + 1) * nc, a + lo * nc, (i - lo) * nc * sizeof *a);
        rowcpy(a + lo * nc, x, nc);
    }
}

/* Stable merge sort of n rows of nc (<= DIRECT_MAX_COLS) values stored
 * contiguously in a, with tmp (n rows) as scratch. Moving the rows
 * themselves keeps the merges sequential in memory (no pointer chasing). */
static void msort_rows(dql_value *a, dql_value *tmp, size_t n, int nc, dql_row_cmp cmp, void *ud)
{
    size_t rb = (size_t)nc * sizeof *a;
    for (size_t lo = 0; lo < n; lo += INSERT_RUN)
        binsert_rows(a + lo * nc, n - lo < INSERT_RUN ? n - lo : INSERT_RUN, nc, cmp, ud);
    dql_value *src = a, *dst = tmp;
    for (size_t w = INSERT_RUN; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n;
            size_t hi = lo + 2 * w < n ? lo + 2 * w : n;
            if (mid >= hi || cmp(src + (mid - 1) * nc, src + mid * nc, ud) <= 0) {
                memcpy(dst + lo * nc, src + lo * nc, (hi - lo) * rb);
                continue;
            }
            const dql_value *l = src + lo * nc, *le = src + mid * nc;
            const dql_value *r = le, *re = src + hi * nc;
            dql_value *d = dst + lo * nc;
            while (l < le && r < re) {
                if (cmp(r, l, ud) < 0) {
                    rowcpy(d, r, nc);
                    r += nc;
                } else {
                    rowcpy(d, l, nc);
                    l += nc;
                }
                d += nc;
            }
            if (l < le)
                memcpy(d, l, (size_t)(le - l) * sizeof *a);
            else if (r < re)
                memcpy(d, r, (size_t)(re - r) * sizeof *a);
        }
        dql_value *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * rb);
}

/* ---------------------------------------------------------------- sorter */

#define SORT_WBUF    (1u << 20)    /* write buffer of a run file */
#define SORT_RBUF    (256u << 10)  /* read buffer per run while merging */
#define SORT_FANIN   64            /* runs merged at once */
#define SORT_DEFAULT_BUDGET (256ull << 20)

typedef struct sort_run {
    int fd;
    uint64_t size;       /* bytes written */
} sort_run;

/* Reads the rows of one run back while merging. */
typedef struct run_reader {
    int fd;
    uint64_t size, off;  /* file size; offset of the next read */
    uint8_t *buf;
    size_t cap, pos, len;
    size_t rowpos, rowlen;   /* raw frame of the current row in buf */
    dql_value *row;          /* ncols values of the current row */
    dql_arena arena;         /* payload of the current row */
} run_reader;

enum { ST_ADD, ST_MEM, ST_MERGE, ST_FAILED };

struct dql_sorter {
    int ncols;
    dql_row_cmp cmp;
    void *ud;
    uint64_t budget;
    char *tmpdir;
    dql_exec *ex;
    int state;

    /* rows in memory: values in vals (row i at vals + i * ncols), their
     * payload in arena; narrow rows are sorted in place (vtmp: scratch),
     * wide ones through the pointer array rows (tmp: scratch) */
    dql_arena arena;
    bool direct;
    dql_value *vals, *vtmp;
    dql_value **rows, **tmp;
    size_t nrows, caprows;
    uint64_t mem;            /* bytes held: values, payload, sort scratch */
    size_t iter;

    /* runs on disk, in the order they were written */
    sort_run *runs;
    int nruns, capruns;
    int spills;              /* runs written from memory */
    dql_buf wbuf;

    /* final merge */
    run_reader *rd;
    int nrd;
    int *heap;
    int nheap;
    int last;                /* reader whose row was returned last, -1 none */
};

dql_sorter *dql_sorter_new(int ncols, dql_row_cmp cmp, void *ud, uint64_t mem_budget,
                           const char *tmpdir, dql_exec *ex)
{
    dql_sorter *s = dql_xcalloc(1, sizeof *s);
    s->ncols = ncols < 0 ? 0 : ncols;
    s->direct = s->ncols <= DIRECT_MAX_COLS;
    s->cmp = cmp;
    s->ud = ud;
    s->budget = mem_budget ? mem_budget : SORT_DEFAULT_BUDGET;
    if (!tmpdir || !*tmpdir)
        tmpdir = getenv("TMPDIR");
    if (!tmpdir || !*tmpdir)
        tmpdir = "/tmp";
    s->tmpdir = dql_xstrdup(tmpdir);
    s->ex = ex;
    s->state = ST_ADD;
    s->last = -1;
    dql_arena_init(&s->arena);
    return s;
}

/* Records an I/O error about the temporary directory. */
static dql_status sort_ioerr(dql_sorter *s, const char *what, int err)
{
    s->state = ST_FAILED;
    if (!s->ex)
        return DQL_ERR_IO;
    return dql_exec_error_st(s->ex, DQL_ERR_IO, "sort: cannot %s temporary file in '%s': %s",
                             what, s->tmpdir, strerror(err));
}

static dql_status sort_corrupt(dql_sorter *s)
{
    s->state = ST_FAILED;
    if (!s->ex)
        return DQL_ERR_IO;
    return dql_exec_error_st(s->ex, DQL_ERR_IO,
                             "sort: temporary file in '%s' is corrupt or truncated", s->tmpdir);
}

/* Creates an unlinked temporary file; -1 with the error recorded. */
static int tmp_create(dql_sorter *s)
{
    size_t n = strlen(s->tmpdir) + 32;
    char *path = dql_xmalloc(n);
    snprintf(path, n, "%s/dql-sort-XXXXXX", s->tmpdir);
    int fd = mkstemp(path);
    if (fd < 0) {
        int e = errno;
        free(path);
        sort_ioerr(s, "create", e);
        return -1;
    }
    unlink(path);
    free(path);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
}

static bool write_all(int fd, const char *p, size_t n, int *err)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            *err = errno;
            return false;
        }
        if (w == 0) {
            *err = ENOSPC;
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Writes out the write buffer to fd, adding to *size. */
static dql_status wflush(dql_sorter *s, int fd, uint64_t *size)
{
    int e = 0;
    if (s->wbuf.len && !write_all(fd, s->wbuf.p, s->wbuf.len, &e))
        return sort_ioerr(s, "write", e);
    *size += s->wbuf.len;
    s->wbuf.len = 0;
    return DQL_OK;
}

static void add_run(dql_sorter *s, int fd, uint64_t size)
{
    if (s->nruns == s->capruns) {
        s->capruns = s->capruns ? 2 * s->capruns : 16;
        s->runs = dql_xrealloc(s->runs, (size_t)s->capruns * sizeof *s->runs);
    }
    s->runs[s->nruns].fd = fd;
    s->runs[s->nruns].size = size;
    s->nruns++;
}

/* Row i in memory (after sort_mem: in sorted order). */
static inline const dql_value *mem_row(const dql_sorter *s, size_t i)
{
    return s->direct ? s->vals + i * (size_t)s->ncols : s->rows[i];
}

/* Sorts the rows in memory. */
static void sort_mem(dql_sorter *s)
{
    if (s->direct) {
        if (s->nrows > 1) {
            if (!s->vtmp)
                s->vtmp = dql_xmalloc(s->caprows * (size_t)(s->ncols ? s->ncols : 1) * sizeof(dql_value));
            msort_rows(s->vals, s->vtmp, s->nrows, s->ncols, s->cmp, s->ud);
        }
        return;
    }
    if (!s->rows) {
        s->rows = dql_xmalloc(s->caprows * sizeof *s->rows);
        s->tmp = dql_xmalloc(s->caprows * sizeof *s->tmp);
    }
    for (size_t i = 0; i < s->nrows; i++)
        s->rows[i] = s->vals + i * (size_t)s->ncols;
    if (s->nrows > 1)
        msort(s->rows, s->tmp, s->nrows, s->cmp, s->ud);
}

/* Sorts the rows in memory, writes them as a new run and empties memory. */
static dql_status spill(dql_sorter *s)
{
    sort_mem(s);
    int fd = tmp_create(s);
    if (fd < 0)
        return DQL_ERR_IO;
    uint64_t size = 0;
    dql_status st;
    if (s->wbuf.cap < SORT_WBUF + 64)
        dql_buf_reserve(&s->wbuf, SORT_WBUF + 64);
    for (size_t i = 0; i < s->nrows; i++) {
        size_t at = s->wbuf.len;
        ser_room(&s->wbuf, 4);
        s->wbuf.len += 4;
        const dql_value *r = mem_row(s, i);
        for (int c = 0; c < s->ncols; c++)
            ser_value(&s->wbuf, &r[c]);
        size_t rl = s->wbuf.len - at - 4;
        if (rl > UINT32_MAX) {
            close(fd);
            s->state = ST_FAILED;
            return s->ex ? dql_exec_error(s->ex, "sort: row too large (%zu bytes)", rl) : DQL_ERR_RUNTIME;
        }
        uint8_t *h = (uint8_t *)s->wbuf.p + at;
        h[0] = (uint8_t)rl;
        h[1] = (uint8_t)(rl >> 8);
        h[2] = (uint8_t)(rl >> 16);
        h[3] = (uint8_t)(rl >> 24);
        if (s->wbuf.len >= SORT_WBUF && (st = wflush(s, fd, &size)) != DQL_OK) {
            close(fd);
            return st;
        }
    }
    if ((st = wflush(s, fd, &size)) != DQL_OK) {
        close(fd);
        return st;
    }
    add_run(s, fd, size);
    s->spills++;
    dql_arena_reset(&s->arena);
    s->nrows = 0;
    s->mem = 0;
    return DQL_OK;
}

/* Copies the row in; spills when the memory held passes the budget. */
dql_status dql_sorter_add(dql_sorter *s, const dql_value *row)
{
    if (s->state != ST_ADD)
        return s->state == ST_FAILED ? DQL_ERR_RUNTIME
               : (s->ex ? dql_exec_error(s->ex, "sort: row added after finish") : DQL_ERR_RUNTIME);
    int nc = s->ncols;
    size_t rowbytes = s->direct ? 2 * (size_t)nc * sizeof(dql_value)
                                : (size_t)nc * sizeof(dql_value) + 2 * sizeof(dql_value *);
    if (s->nrows == s->caprows) {
        /* double, but never past what the budget can hold */
        size_t cap = s->caprows ? 2 * s->caprows : 1024;
        uint64_t fit = s->budget / (rowbytes ? rowbytes : 1) + 1;
        if (cap > fit)
            cap = fit > s->caprows ? (size_t)fit : s->caprows + 1;
        s->caprows = cap;
        s->vals = dql_xrealloc(s->vals, s->caprows * (size_t)(nc ? nc : 1) * sizeof(dql_value));
        /* scratch is reallocated at the right size when sorting */
        free(s->vtmp);
        free(s->rows);
        free(s->tmp);
        s->vtmp = NULL;
        s->rows = s->tmp = NULL;
    }
    dql_value *r = s->vals + s->nrows * (size_t)nc;
    memcpy(r, row, (size_t)nc * sizeof(dql_value));
    size_t payload = 0;
    for (int c = 0; c < nc; c++)
        if (r[c].type >= DQL_T_CHARARRAY)
            payload += deep_size(&r[c]);
    if (payload) {
        char *bp = dql_arena_alloc_inline(&s->arena, payload);
        for (int c = 0; c < nc; c++)
            if (r[c].type >= DQL_T_CHARARRAY)
                deep_copy(&r[c], &bp);
    }
    s->nrows++;
    s->mem += payload + rowbytes;
    if (s->mem >= s->budget)
        return spill(s);
    return DQL_OK;
}

/* Makes sure the reader holds at least need bytes from pos. 1: yes;
 * 0: clean end of the run (nothing left); -1: I/O error (errno set);
 * -2: truncated data. */
static int rd_fill(run_reader *rd, size_t need)
{
    size_t avail = rd->len - rd->pos;
    if (avail >= need)
        return 1;
    if (rd->pos) {
        memmove(rd->buf, rd->buf + rd->pos, avail);
        rd->len = avail;
        rd->pos = 0;
    }
    if (need > rd->cap) {
        size_t nc = rd->cap;
        while (nc < need)
            nc *= 2;
        rd->buf = dql_xrealloc(rd->buf, nc);
        rd->cap = nc;
    }
    while (rd->len < need) {
        if (rd->off >= rd->size)
            return rd->len == 0 ? 0 : -2;
        size_t want = rd->cap - rd->len;
        if (want > rd->size - rd->off)
            want = (size_t)(rd->size - rd->off);
        ssize_t r = pread(rd->fd, rd->buf + rd->len, want, (off_t)rd->off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            return -2;
        rd->len += (size_t)r;
        rd->off += (uint64_t)r;
    }
    return 1;
}

/* Reads the next row of a run. DQL_OK, DQL_EOF, or an error. */
static dql_status rd_next(dql_sorter *s, run_reader *rd)
{
    int f = rd_fill(rd, 4);
    if (f == 0)
        return DQL_EOF;
    if (f == -1)
        return sort_ioerr(s, "read", errno);
    if (f < 0)
        return sort_corrupt(s);
    const uint8_t *h = rd->buf + rd->pos;
    size_t rl = (size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16 | (size_t)h[3] << 24;
    f = rd_fill(rd, 4 + rl);
    if (f == -1)
        return sort_ioerr(s, "read", errno);
    if (f != 1)
        return sort_corrupt(s);
    dql_arena_reset(&rd->arena);
    const uint8_t *p = rd->buf + rd->pos + 4, *end = p + rl;
    for (int c = 0; c < s->ncols; c++)
        if (!deser_value(&rd->arena, &p, end, &rd->row[c], 0))
            return sort_corrupt(s);
    if (p != end)
        return sort_corrupt(s);
    rd->rowpos = rd->pos;
    rd->rowlen = 4 + rl;
    rd->pos += 4 + rl;
    return DQL_OK;
}

static inline bool heap_less(const dql_sorter *s, int a, int b)
{
    int c = s->cmp(s->rd[a].row, s->rd[b].row, s->ud);
    return c < 0 || (c == 0 && a < b);
}

static void heap_down(dql_sorter *s, int i)
{
    int *h = s->heap, n = s->nheap, x = h[i];
    for (;;) {
        int c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && heap_less(s, h[c + 1], h[c]))
            c++;
        if (!heap_less(s, h[c], x))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

static void readers_free(dql_sorter *s)
{
    for (int i = 0; i < s->nrd; i++) {
        if (s->rd[i].fd >= 0)
            close(s->rd[i].fd);
        free(s->rd[i].buf);
        free(s->rd[i].row);
        dql_arena_free(&s->rd[i].arena);
    }
    free(s->rd);
    free(s->heap);
    s->rd = NULL;
    s->heap = NULL;
    s->nrd = s->nheap = 0;
    s->last = -1;
}

/* Opens readers on runs[first .. first+n) (taking over their fds), reads
 * the first row of each and builds the heap. */
static dql_status readers_open(dql_sorter *s, int first, int n)
{
    s->rd = dql_xcalloc((size_t)n, sizeof *s->rd);
    s->heap = dql_xmalloc((size_t)n * sizeof *s->heap);
    s->nrd = n;
    s->nheap = 0;
    s->last = -1;
    for (int i = 0; i < n; i++) {
        run_reader *rd = &s->rd[i];
        rd->fd = s->runs[first + i].fd;
        s->runs[first + i].fd = -1;
        rd->size = s->runs[first + i].size;
        rd->cap = SORT_RBUF;
        rd->buf = dql_xmalloc(rd->cap);
        rd->row = dql_xcalloc((size_t)(s->ncols ? s->ncols : 1), sizeof(dql_value));
        dql_arena_init(&rd->arena);
    }
    for (int i = 0; i < n; i++) {
        dql_status st = rd_next(s, &s->rd[i]);
        if (st == DQL_OK)
            s->heap[s->nheap++] = i;
        else if (st != DQL_EOF)
            return st;
    }
    for (int i = s->nheap / 2 - 1; i >= 0; i--)
        heap_down(s, i);
    return DQL_OK;
}

/* Moves the reader at the top of the heap to its next row. */
static dql_status heap_advance(dql_sorter *s)
{
    run_reader *rd = &s->rd[s->heap[0]];
    dql_status st = rd_next(s, rd);
    if (st == DQL_EOF) {
        close(rd->fd);
        rd->fd = -1;
        s->heap[0] = s->heap[--s->nheap];
    } else if (st != DQL_OK) {
        return st;
    }
    if (s->nheap > 1)
        heap_down(s, 0);
    return DQL_OK;
}

/* Merges runs[first .. first+n) into one new run appended to the list. */
static dql_status merge_pass(dql_sorter *s, int first, int n)
{
    dql_status st = readers_open(s, first, n);
    if (st != DQL_OK)
        return st;
    int fd = tmp_create(s);
    if (fd < 0)
        return DQL_ERR_IO;
    uint64_t size = 0;
    while (s->nheap > 0) {
        run_reader *rd = &s->rd[s->heap[0]];
        dql_buf_put(&s->wbuf, rd->buf + rd->rowpos, rd->rowlen);
        if (s->wbuf.len >= SORT_WBUF && (st = wflush(s, fd, &size)) != DQL_OK)
            break;
        if ((st = heap_advance(s)) != DQL_OK)
            break;
    }
    if (st == DQL_OK)
        st = wflush(s, fd, &size);
    readers_free(s);
    if (st != DQL_OK) {
        close(fd);
        return st;
    }
    add_run(s, fd, size);
    return DQL_OK;
}

/* No more rows: sorts memory; with runs on disk, writes the last run,
 * merges in passes down to the fan-in and opens the final merge. */
dql_status dql_sorter_finish(dql_sorter *s)
{
    dql_status st;
    if (s->state != ST_ADD)
        return s->state == ST_FAILED ? DQL_ERR_RUNTIME : DQL_OK;
    if (s->nruns == 0) {
        sort_mem(s);
        s->state = ST_MEM;
        s->iter = 0;
        return DQL_OK;
    }
    if (s->nrows && (st = spill(s)) != DQL_OK)
        return st;
    /* Memory rows are gone: give the arrays back. */
    free(s->vals);
    free(s->vtmp);
    free(s->rows);
    free(s->tmp);
    s->vals = s->vtmp = NULL;
    s->rows = s->tmp = NULL;
    s->caprows = 0;
    dql_arena_free(&s->arena);
    dql_arena_init(&s->arena);
    while (s->nruns > SORT_FANIN) {
        /* Merge consecutive groups; the merged runs are appended after the
         * current ones and then moved to the front, keeping run order. */
        int old = s->nruns;
        for (int g = 0; g < old; g += SORT_FANIN) {
            int n = old - g < SORT_FANIN ? old - g : SORT_FANIN;
            if (n == 1) {
                add_run(s, s->runs[g].fd, s->runs[g].size);
                s->runs[g].fd = -1;
            } else if ((st = merge_pass(s, g, n)) != DQL_OK) {
                return st;
            }
        }
        memmove(s->runs, s->runs + old, (size_t)(s->nruns - old) * sizeof *s->runs);
        s->nruns -= old;
    }
    dql_buf_free(&s->wbuf);
    st = readers_open(s, 0, s->nruns);
    s->nruns = 0;   /* the readers own the fds now */
    if (st != DQL_OK)
        return st;
    s->state = ST_MERGE;
    return DQL_OK;
}

dql_status dql_sorter_next(dql_sorter *s, const dql_value **row)
{
    if (s->state == ST_MEM) {
        if (s->iter >= s->nrows)
            return DQL_EOF;
        *row = mem_row(s, s->iter++);
        return DQL_OK;
    }
    if (s->state != ST_MERGE)
        return s->state == ST_FAILED ? DQL_ERR_RUNTIME
               : (s->ex ? dql_exec_error(s->ex, "sort: rows read before finish") : DQL_ERR_RUNTIME);
    if (s->last >= 0) {
        s->last = -1;
        dql_status st = heap_advance(s);
        if (st != DQL_OK)
            return st;
    }
    if (s->nheap == 0)
        return DQL_EOF;
    s->last = s->heap[0];
    *row = s->rd[s->last].row;
    return DQL_OK;
}

int dql_sorter_runs(const dql_sorter *s)
{
    return s->spills;
}

void dql_sorter_free(dql_sorter *s)
{
    if (!s)
        return;
    readers_free(s);
    for (int i = 0; i < s->nruns; i++)
        if (s->runs[i].fd >= 0)
            close(s->runs[i].fd);
    free(s->runs);
    free(s->vals);
    free(s->vtmp);
    free(s->rows);
    free(s->tmp);
    dql_arena_free(&s->arena);
    dql_buf_free(&s->wbuf);
    free(s->tmpdir);
    free(s);
}
