/* test_sort.c — unit test of the external sorter and the binary value
 * serialization (src/sort.c): in-memory and spilling sorts, stability,
 * more runs than the merge fan-in, round trips of every type, corrupt
 * input rejected, and no temporary file left behind.
 *
 * Prints only "N passed, M failed" (and a message per failure on stderr);
 * exits non-zero on failure. */
#include "../../src/sort.h"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int npass, nfail;

#define CHECK(cond, ...) do { \
        if (cond) npass++; \
        else { nfail++; fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__); \
               fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } \
    } while (0)

/* Fallbacks for the execution-context functions when the test is linked
 * without exec.c: weak, so the real ones win when present. */
__attribute__((weak)) dql_status dql_exec_error_st(dql_exec *ex, dql_status st, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    free(ex->errmsg);
    ex->errmsg = strdup(buf);
    return st;
}

__attribute__((weak)) dql_status dql_exec_error(dql_exec *ex, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    free(ex->errmsg);
    ex->errmsg = strdup(buf);
    return DQL_ERR_RUNTIME;
}

/* ------------------------------------------------------------ helpers */

static uint64_t rng = 88172645463325252ull;
static uint64_t xr(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* Rows are (key long, seq long, text chararray): ordered by key only. */
static int cmp_key(const dql_value *a, const dql_value *b, void *ud)
{
    (void)ud;
    return (a[0].u.i > b[0].u.i) - (a[0].u.i < b[0].u.i);
}

/* Strict structural equality: same types, flags, bytes. */
static bool same(dql_value a, dql_value b)
{
    if (a.type != b.type || a.flags != b.flags)
        return false;
    switch (a.type) {
    case DQL_T_NULL:
        return true;
    case DQL_T_BOOL: case DQL_T_INT: case DQL_T_LONG: case DQL_T_DATETIME:
        return a.u.i == b.u.i;
    case DQL_T_DOUBLE:
        return memcmp(&a.u.d, &b.u.d, 8) == 0;
    case DQL_T_CHARARRAY: case DQL_T_BYTEARRAY: case DQL_T_DOMAIN: case DQL_T_IP:
        return a.len == b.len && (a.len == 0 || memcmp(a.u.s, b.u.s, a.len) == 0);
    case DQL_T_CIDR:
        return a.len == b.len && a.aux == b.aux && memcmp(a.u.ip, b.u.ip, a.len) == 0;
    case DQL_T_TUPLE:
        if (a.u.t->n != b.u.t->n)
            return false;
        for (uint32_t i = 0; i < a.u.t->n; i++)
            if (!same(a.u.t->v[i], b.u.t->v[i]))
                return false;
        return true;
    case DQL_T_BAG:
        if (a.u.b->n != b.u.b->n)
            return false;
        for (uint64_t i = 0; i < a.u.b->n; i++) {
            dql_value x = {0}, y = {0};
            x.type = y.type = DQL_T_TUPLE;
            x.u.t = a.u.b->t[i];
            y.u.t = b.u.b->t[i];
            if (!same(x, y))
                return false;
        }
        return true;
    case DQL_T_MAP:
        if (a.u.m->n != b.u.m->n)
            return false;
        for (uint32_t i = 0; i < a.u.m->n; i++)
            if (!same(a.u.m->k[i], b.u.m->k[i]) || !same(a.u.m->v[i], b.u.m->v[i]))
                return false;
        return true;
    }
    return false;
}

static dql_value mk_tuple(dql_arena *a, int n, ...)
{
    dql_value v = {0};
    v.type = DQL_T_TUPLE;
    v.u.t = dql_arena_alloc(a, sizeof(dql_tuple) + (size_t)n * sizeof(dql_value));
    v.u.t->n = (uint32_t)n;
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        v.u.t->v[i] = va_arg(ap, dql_value);
    va_end(ap);
    return v;
}

static dql_value mk_bag(dql_arena *a, int n, dql_value *tuples)
{
    dql_value v = {0};
    v.type = DQL_T_BAG;
    v.u.b = dql_arena_alloc(a, sizeof(dql_bag));
    v.u.b->n = (uint64_t)n;
    v.u.b->t = dql_arena_alloc(a, (size_t)(n ? n : 1) * sizeof(dql_tuple *));
    for (int i = 0; i < n; i++)
        v.u.b->t[i] = tuples[i].u.t;
    return v;
}

static dql_value mk_map(dql_arena *a, int n, const char **keys, dql_value *vals)
{
    dql_value v = {0};
    v.type = DQL_T_MAP;
    v.u.m = dql_arena_alloc(a, sizeof(dql_map));
    v.u.m->n = (uint32_t)n;
    v.u.m->k = dql_arena_alloc(a, (size_t)(n ? n : 1) * sizeof(dql_value));
    v.u.m->v = dql_arena_alloc(a, (size_t)(n ? n : 1) * sizeof(dql_value));
    for (int i = 0; i < n; i++) {
        v.u.m->k[i] = dql_chararray(keys[i], strlen(keys[i]));
        v.u.m->v[i] = vals[i];
    }
    return v;
}

static dql_value mk_ip(int len, uint8_t fill, int prefix)
{
    static uint8_t store[64][16];
    static int next;
    uint8_t *p = store[next++ % 64];
    for (int i = 0; i < len; i++)
        p[i] = (uint8_t)(fill + i);
    dql_value v = {0};
    v.type = prefix < 0 ? DQL_T_IP : DQL_T_CIDR;
    v.len = (uint32_t)len;
    v.aux = (uint16_t)(prefix < 0 ? 0 : prefix);
    v.u.ip = p;
    return v;
}

/* One value of every type, nested containers included. */
static int all_values(dql_arena *a, dql_value *out)
{
    int n = 0;
    out[n++] = dql_null();
    out[n++] = dql_bool(true);
    out[n++] = dql_bool(false);
    out[n++] = dql_int(0);
    out[n++] = dql_int(INT32_MIN);
    out[n++] = dql_int(INT32_MAX);
    out[n++] = dql_long(INT64_MIN);
    out[n++] = dql_long(INT64_MAX);
    out[n++] = dql_long(-1);
    out[n++] = dql_double(3.25);
    out[n++] = dql_double(-0.0);
    out[n++] = dql_double(INFINITY);
    out[n++] = dql_double(NAN);
    out[n++] = dql_double(1e-310);
    out[n++] = dql_chararray("", 0);
    out[n++] = dql_chararray("hello, world", 12);
    out[n++] = dql_str(DQL_T_BYTEARRAY, "a\0b\xff", 4);
    out[n++] = dql_datetime(1700000000123456);
    out[n++] = dql_datetime(-5);
    out[n++] = dql_str(DQL_T_DOMAIN, "www.example.org", 15);
    out[n++] = mk_ip(4, 192, -1);
    out[n++] = mk_ip(16, 0x20, -1);
    out[n++] = mk_ip(4, 10, 8);
    out[n++] = mk_ip(16, 0x20, 48);
    dql_value flagged = dql_long(7);
    flagged.flags = 3;
    out[n++] = flagged;
    dql_value t1 = mk_tuple(a, 3, dql_long(1), dql_chararray("x", 1), dql_null());
    dql_value t2 = mk_tuple(a, 0);
    out[n++] = t1;
    out[n++] = t2;
    dql_value inner[2] = { mk_tuple(a, 1, dql_int(5)), mk_tuple(a, 1, dql_int(6)) };
    dql_value ibag = mk_bag(a, 2, inner);
    dql_value outer[2] = { mk_tuple(a, 2, dql_chararray("k", 1), ibag), mk_tuple(a, 1, mk_bag(a, 0, NULL)) };
    out[n++] = mk_bag(a, 2, outer);
    const char *k1[] = { "a", "nested" };
    const char *k2[] = { "deep" };
    dql_value mv2[] = { mk_ip(4, 1, -1) };
    dql_value mv1[] = { dql_double(2.5), mk_map(a, 1, k2, mv2) };
    out[n++] = mk_map(a, 2, k1, mv1);
    out[n++] = mk_map(a, 0, NULL, NULL);
    out[n++] = mk_tuple(a, 2, mk_map(a, 2, k1, mv1), mk_bag(a, 2, outer));
    return n;
}

/* ------------------------------------------------------------- tests */

static void test_serialize(void)
{
    dql_arena a, b;
    dql_arena_init(&a);
    dql_arena_init(&b);
    dql_value vals[64];
    int n = all_values(&a, vals);
    dql_buf buf = {0};
    for (int i = 0; i < n; i++) {
        buf.len = 0;
        dql_value_serialize(&buf, vals[i]);
        /* exact-size heap copy so that ASan catches any over-read */
        uint8_t *copy = malloc(buf.len);
        memcpy(copy, buf.p, buf.len);
        const uint8_t *p = copy, *end = copy + buf.len;
        dql_value back;
        bool ok = dql_value_deserialize(&b, &p, end, &back);
        CHECK(ok && p == end && same(vals[i], back), "round trip of value %d (type %d)", i, vals[i].type);
        /* every truncation is rejected */
        bool all_rejected = true;
        for (size_t cut = 0; cut < buf.len; cut++) {
            uint8_t *t = malloc(cut ? cut : 1);
            memcpy(t, copy, cut);
            const uint8_t *q = t;
            dql_value x;
            if (dql_value_deserialize(&b, &q, t + cut, &x))
                all_rejected = false;
            free(t);
        }
        CHECK(all_rejected, "truncated value %d rejected", i);
        /* random corruption never crashes or over-reads */
        for (int r = 0; r < 200 && buf.len; r++) {
            uint8_t *t = malloc(buf.len);
            memcpy(t, copy, buf.len);
            t[xr() % buf.len] ^= (uint8_t)(1u << (xr() % 8));
            const uint8_t *q = t;
            dql_value x;
            if (dql_value_deserialize(&b, &q, t + buf.len, &x))
                CHECK(q <= t + buf.len, "corrupt value %d: read stays in bounds", i);
            free(t);
        }
        free(copy);
    }
    /* a sequence of values reads back in order */
    buf.len = 0;
    for (int i = 0; i < n; i++)
        dql_value_serialize(&buf, vals[i]);
    const uint8_t *p = (const uint8_t *)buf.p, *end = p + buf.len;
    bool seq_ok = true;
    for (int i = 0; i < n; i++) {
        dql_value back;
        if (!dql_value_deserialize(&b, &p, end, &back) || !same(vals[i], back))
            seq_ok = false;
    }
    CHECK(seq_ok && p == end, "sequence of values round trips");

    /* hand-made corrupt inputs */
    static const struct { const char *what; uint8_t bytes[16]; size_t n; } bad[] = {
        { "unknown type", { 0x7f }, 1 },
        { "type any", { DQL_T_ANY }, 1 },
        { "bool 2", { DQL_T_BOOL, 2 }, 2 },
        { "ip of 5 bytes", { DQL_T_IP, 5, 1, 2, 3, 4, 5 }, 7 },
        { "cidr prefix 33", { DQL_T_CIDR, 4, 1, 2, 3, 4, 33 }, 7 },
        { "string longer than input", { DQL_T_CHARARRAY, 0x80, 0x80, 0x01, 'a' }, 5 },
        { "int out of range", { DQL_T_INT, 0xff, 0xff, 0xff, 0xff, 0x7f }, 6 },
        { "overlong varint", { DQL_T_LONG, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 }, 12 },
        { "huge tuple count", { DQL_T_TUPLE, 0xff, 0xff, 0xff, 0xff, 0x0f, 0 }, 7 },
        { "huge bag count", { DQL_T_BAG, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0 }, 8 },
        { "map count odd", { DQL_T_MAP, 2, 0, 0, 0 }, 5 },
        { "double short", { DQL_T_DOUBLE, 1, 2, 3 }, 4 },
        { "flags byte missing", { DQL_T_LONG | 0x80 }, 1 },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t *t = malloc(bad[i].n);
        memcpy(t, bad[i].bytes, bad[i].n);
        const uint8_t *q = t;
        dql_value x;
        CHECK(!dql_value_deserialize(&b, &q, t + bad[i].n, &x), "corrupt input rejected: %s", bad[i].what);
        free(t);
    }
    /* very deep nesting is rejected, not a stack overflow */
    size_t depth = 100000;
    uint8_t *deep = malloc(2 * depth);
    for (size_t i = 0; i < depth; i++) {
        deep[2 * i] = DQL_T_TUPLE;
        deep[2 * i + 1] = 1;
    }
    const uint8_t *q = deep;
    dql_value x;
    CHECK(!dql_value_deserialize(&b, &q, deep + 2 * depth, &x), "deep nesting rejected");
    free(deep);

    dql_buf_free(&buf);
    dql_arena_free(&a);
    dql_arena_free(&b);
}

/* Sorts nrows (key, seq, text) rows and checks order, stability, content. */
static void run_sort(const char *name, const char *dir, size_t nrows, uint64_t keys,
                     uint64_t budget, int min_runs, int max_runs)
{
    dql_exec ex = {0};
    dql_sorter *s = dql_sorter_new(3, cmp_key, NULL, budget, dir, &ex);
    char text[32];
    dql_status st = DQL_OK;
    for (size_t i = 0; i < nrows && st == DQL_OK; i++) {
        dql_value row[3];
        row[0] = dql_long((int64_t)(xr() % keys) - (int64_t)(keys / 2));
        row[1] = dql_long((int64_t)i);
        int tl = snprintf(text, sizeof text, "row-%zu", i);
        row[2] = dql_chararray(text, (size_t)tl);
        st = dql_sorter_add(s, row);
    }
    memset(text, 'X', sizeof text);   /* the sorter must have copied */
    CHECK(st == DQL_OK, "%s: add: %s", name, ex.errmsg ? ex.errmsg : "?");
    st = dql_sorter_finish(s);
    CHECK(st == DQL_OK, "%s: finish: %s", name, ex.errmsg ? ex.errmsg : "?");
    int runs = dql_sorter_runs(s);
    CHECK(runs >= min_runs && runs <= max_runs, "%s: %d runs, expected %d..%d", name, runs, min_runs, max_runs);
    CHECK(count_files(dir) == 0, "%s: no file visible in the temp dir while sorting", name);
    const dql_value *row;
    size_t n = 0;
    bool ordered = true, stable = true, content = true;
    int64_t pk = INT64_MIN, ps = -1;
    while ((st = dql_sorter_next(s, &row)) == DQL_OK) {
        if (row[0].u.i < pk)
            ordered = false;
        if (row[0].u.i == pk && row[1].u.i <= ps)
            stable = false;
        int tl = snprintf(text, sizeof text, "row-%lld", (long long)row[1].u.i);
        if (row[2].type != DQL_T_CHARARRAY || row[2].len != (uint32_t)tl || memcmp(row[2].u.s, text, (size_t)tl))
            content = false;
        pk = row[0].u.i;
        ps = row[1].u.i;
        n++;
    }
    CHECK(st == DQL_EOF, "%s: ends with EOF", name);
    CHECK(n == nrows, "%s: %zu rows out of %zu", name, n, nrows);
    CHECK(ordered, "%s: output ordered", name);
    CHECK(stable, "%s: equal keys keep insertion order", name);
    CHECK(content, "%s: row contents intact", name);
    CHECK(dql_sorter_next(s, &row) == DQL_EOF, "%s: EOF again after the end", name);
    dql_sorter_free(s);
    CHECK(count_files(dir) == 0, "%s: temp dir empty after free", name);
    free(ex.errmsg);
}

static int cmp_generic(const dql_value *a, const dql_value *b, void *ud)
{
    int *ncols = ud;
    for (int i = 0; i < *ncols; i++) {
        int c = dql_value_cmp(a[i], b[i]);
        if (c)
            return c;
    }
    return 0;
}

/* Rows of nested values survive spilling unchanged. */
static void test_nested_spill(const char *dir)
{
    dql_arena a;
    dql_arena_init(&a);
    dql_value vals[64];
    int nv = all_values(&a, vals);
    int ncols = 2;
    dql_exec ex = {0};
    dql_sorter *s = dql_sorter_new(2, cmp_key, &ncols, 4096, dir, &ex);
    size_t nrows = 5000;
    for (size_t i = 0; i < nrows; i++) {
        dql_value row[2] = { dql_long((int64_t)(nrows - i) / 3), vals[i % (size_t)nv] };
        if (dql_sorter_add(s, row) != DQL_OK)
            break;
    }
    CHECK(dql_sorter_finish(s) == DQL_OK, "nested: finish");
    CHECK(dql_sorter_runs(s) > 1, "nested: spilled");
    const dql_value *row;
    size_t n = 0;
    bool ok = true;
    int64_t pk = INT64_MIN;
    while (dql_sorter_next(s, &row) == DQL_OK) {
        if (row[0].u.i < pk)
            ok = false;
        pk = row[0].u.i;
        n++;
        /* the rows of key k were added at i = nrows - 3k - {0,1,2} in that
         * order, so the value index follows from the stable order */
        (void)row;
    }
    CHECK(ok && n == nrows, "nested: %zu rows ordered", n);
    dql_sorter_free(s);

    /* contents: all rows with the same key, so stable order == add order */
    s = dql_sorter_new(2, cmp_key, &ncols, 2048, dir, &ex);
    for (size_t i = 0; i < 3000; i++) {
        dql_value in[2] = { dql_long(1), vals[i % (size_t)nv] };
        dql_sorter_add(s, in);
    }
    dql_sorter_finish(s);
    CHECK(dql_sorter_runs(s) > 1, "nested same key: spilled");
    size_t i = 0;
    ok = true;
    while (dql_sorter_next(s, &row) == DQL_OK) {
        if (!same(row[1], vals[i % (size_t)nv]))
            ok = false;
        i++;
    }
    CHECK(ok && i == 3000, "nested values survive the run files unchanged (%zu rows)", i);
    dql_sorter_free(s);
    CHECK(count_files(dir) == 0, "nested: temp dir empty after free");

    /* generic comparator over every type, in memory and spilled, agree */
    dql_sorter *m = dql_sorter_new(2, cmp_generic, &ncols, 0, dir, &ex);
    dql_sorter *d = dql_sorter_new(2, cmp_generic, &ncols, 1024, dir, &ex);
    for (size_t k = 0; k < 2000; k++) {
        dql_value in[2] = { vals[xr() % (size_t)nv], dql_long((int64_t)k) };
        dql_sorter_add(m, in);
        dql_sorter_add(d, in);
    }
    dql_sorter_finish(m);
    dql_sorter_finish(d);
    const dql_value *r1, *r2;
    ok = dql_sorter_runs(m) == 0 && dql_sorter_runs(d) > 1;
    size_t cnt = 0;
    while (dql_sorter_next(m, &r1) == DQL_OK) {
        if (dql_sorter_next(d, &r2) != DQL_OK || !same(r1[0], r2[0]) || !same(r1[1], r2[1])) {
            ok = false;
            break;
        }
        cnt++;
    }
    CHECK(ok && cnt == 2000 && dql_sorter_next(d, &r2) == DQL_EOF, "in-memory and spilled sorts agree on every type");
    dql_sorter_free(m);
    dql_sorter_free(d);
    dql_arena_free(&a);
}

/* Wide rows (sorted through row pointers rather than in place). */
static void test_wide(const char *dir)
{
    for (int pass = 0; pass < 2; pass++) {
        dql_exec ex = {0};
        enum { W = 7 };
        dql_sorter *s = dql_sorter_new(W, cmp_key, NULL, pass ? 32 << 10 : 0, dir, &ex);
        size_t nrows = 30000;
        char text[32];
        for (size_t i = 0; i < nrows; i++) {
            dql_value row[W];
            row[0] = dql_long((int64_t)(xr() % 300));
            row[1] = dql_long((int64_t)i);
            int tl = snprintf(text, sizeof text, "w%zu", i);
            for (int c = 2; c < W; c++)
                row[c] = c % 2 ? dql_chararray(text, (size_t)tl) : dql_double((double)i);
            dql_sorter_add(s, row);
        }
        CHECK(dql_sorter_finish(s) == DQL_OK, "wide: finish");
        CHECK(pass ? dql_sorter_runs(s) > 1 : dql_sorter_runs(s) == 0, "wide pass %d: runs %d", pass, dql_sorter_runs(s));
        const dql_value *row;
        size_t n = 0;
        bool ok = true;
        int64_t pk = INT64_MIN, ps = -1;
        while (dql_sorter_next(s, &row) == DQL_OK) {
            if (row[0].u.i < pk || (row[0].u.i == pk && row[1].u.i <= ps))
                ok = false;
            int tl = snprintf(text, sizeof text, "w%lld", (long long)row[1].u.i);
            if (row[3].len != (uint32_t)tl || memcmp(row[3].u.s, text, (size_t)tl) || row[6].u.d != (double)row[1].u.i)
                ok = false;
            pk = row[0].u.i;
            ps = row[1].u.i;
            n++;
        }
        CHECK(ok && n == nrows, "wide rows pass %d: ordered, stable, intact (%zu rows)", pass, n);
        dql_sorter_free(s);
        free(ex.errmsg);
    }
    CHECK(count_files(dir) == 0, "wide: temp dir empty after free");
}

static void test_edges(const char *dir)
{
    dql_exec ex = {0};
    const dql_value *row;
    dql_sorter *s = dql_sorter_new(1, cmp_key, NULL, 0, dir, &ex);
    CHECK(dql_sorter_finish(s) == DQL_OK, "empty: finish");
    CHECK(dql_sorter_next(s, &row) == DQL_EOF, "empty: EOF");
    dql_sorter_free(s);

    /* a budget smaller than one row: every row its own run */
    s = dql_sorter_new(1, cmp_key, NULL, 1, dir, &ex);
    for (int i = 0; i < 10; i++) {
        dql_value v = dql_long(9 - i);
        dql_sorter_add(s, &v);
    }
    dql_sorter_finish(s);
    CHECK(dql_sorter_runs(s) == 10, "tiny budget: 10 runs (%d)", dql_sorter_runs(s));
    bool ok = true;
    for (int i = 0; i < 10; i++)
        if (dql_sorter_next(s, &row) != DQL_OK || row[0].u.i != i)
            ok = false;
    CHECK(ok && dql_sorter_next(s, &row) == DQL_EOF, "tiny budget: ordered");
    dql_sorter_free(s);

    /* dropping a sorter before the end of the merge leaves nothing behind */
    s = dql_sorter_new(1, cmp_key, NULL, 100, dir, &ex);
    for (int i = 0; i < 1000; i++) {
        dql_value v = dql_long(i % 7);
        dql_sorter_add(s, &v);
    }
    dql_sorter_finish(s);
    dql_sorter_next(s, &row);
    dql_sorter_free(s);
    s = dql_sorter_new(1, cmp_key, NULL, 100, dir, &ex);
    for (int i = 0; i < 1000; i++) {
        dql_value v = dql_long(i % 7);
        dql_sorter_add(s, &v);
    }
    dql_sorter_free(s);   /* never finished */
    CHECK(count_files(dir) == 0, "abandoned sorters: temp dir empty");

    /* a temp dir that cannot be written: an error naming it */
    s = dql_sorter_new(1, cmp_key, NULL, 64, "/nonexistent-dql-dir", &ex);
    dql_status st = DQL_OK;
    for (int i = 0; i < 100 && st == DQL_OK; i++) {
        dql_value v = dql_long(i);
        st = dql_sorter_add(s, &v);
    }
    CHECK(st != DQL_OK && ex.errmsg && strstr(ex.errmsg, "/nonexistent-dql-dir"),
          "unwritable temp dir: error names it (%s)", ex.errmsg ? ex.errmsg : "no message");
    dql_sorter_free(s);
    free(ex.errmsg);
}

int main(void)
{
    char dir[] = "/tmp/dql-test-sort-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    test_serialize();
    run_sort("in memory", dir, 20000, 100, 64ull << 20, 0, 0);
    run_sort("a few runs + memory", dir, 3000, 50, 100000, 1, 4);
    run_sort("spilling, 64 KB budget", dir, 200000, 1000, 64 << 10, 64 + 1, 1000);
    run_sort("spilling, all keys equal", dir, 50000, 1, 32 << 10, 5, 1000);
    test_nested_spill(dir);
    test_wide(dir);
    test_edges(dir);
    rmdir(dir);
    printf("%d passed, %d failed\n", npass, nfail);
    return nfail ? 1 : 0;
}
