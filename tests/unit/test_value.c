/* test_value.c — unit test of the core runtime (src/util.c, src/value.c):
 * status table, arena, buffers, size and duration parsing, schemas, type
 * names, constructors and containers, deep copy, the value order, equality
 * and hash, DUMP and JSON rendering, parsing and casts, and the domain, ip
 * and datetime helpers; the fast integer, address, datetime and TSV text
 * against printf, inet_ntop, gmtime_r and byte-at-a-time references.
 *
 * Prints only "N passed, M failed" (and a message per failure on stderr);
 * exits non-zero on failure. */
#include "../../src/dql.h"
#include "../../src/arena_inline.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int npass, nfail;

#define CHECK(cond, ...) do { \
        if (cond) npass++; \
        else { nfail++; fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__); \
               fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } \
    } while (0)

static dql_arena A;

/* ------------------------------------------------------------ helpers */

static const char *fmt(dql_value v)
{
    static char out[4][512];
    static int k;
    dql_buf b = {0};
    dql_value_format(&b, v);
    char *o = out[k++ & 3];
    snprintf(o, 512, "%.*s", (int)b.len, b.p ? b.p : "");
    dql_buf_free(&b);
    return o;
}

static const char *json(dql_value v)
{
    static char out[4][512];
    static int k;
    dql_buf b = {0};
    dql_value_json(&b, v);
    char *o = out[k++ & 3];
    snprintf(o, 512, "%.*s", (int)b.len, b.p ? b.p : "");
    dql_buf_free(&b);
    return o;
}

static dql_value S(const char *s) { return dql_chararray(s, strlen(s)); }
static dql_value D(const char *s) { return dql_str(DQL_T_DOMAIN, s, strlen(s)); }

static dql_value P(dql_type t, const char *s)
{
    dql_value v;
    if (!dql_value_parse(&A, s, strlen(s), t, &v))
        return dql_null();
    return v;
}

static bool parses(dql_type t, const char *s)
{
    dql_value v;
    bool ok = dql_value_parse(&A, s, strlen(s), t, &v);
    if (!ok && !dql_is_null(v))
        return true;     /* failure must leave null: report as a wrong answer */
    return ok;
}

static int sgn(int x) { return (x > 0) - (x < 0); }

/* Checks cmp, eq and hash agree for a pair and the order is antisymmetric. */
static void check_pair(dql_value a, dql_value b, int want, int line)
{
    int c = sgn(dql_value_cmp(a, b)), r = sgn(dql_value_cmp(b, a));
    bool eq = dql_value_eq(a, b);
    if (c != want || r != -want || eq != (want == 0)
        || (want == 0 && dql_value_hash(a) != dql_value_hash(b))) {
        nfail++;
        fprintf(stderr, "%s:%d: FAIL: cmp(%s:%s, %s:%s) = %d/%d eq %d, want %d\n", __FILE__, line,
                dql_type_name(a.type), fmt(a), dql_type_name(b.type), fmt(b), c, r, eq, want);
    } else {
        npass++;
    }
}
#define PAIR(...) check_pair(__VA_ARGS__, __LINE__)

/* ------------------------------------------------------------- util.c */

static void test_status(void)
{
    static const int want[DQL_STATUS_MAX] = {
        [DQL_OK] = 0, [DQL_EOF] = 0, [DQL_ERR_PARSE] = 3, [DQL_ERR_CHECK] = 3,
        [DQL_ERR_RUNTIME] = 1, [DQL_ERR_IO] = 1, [DQL_ERR_NOMEM] = 1, [DQL_ERR_USAGE] = 2,
        [DQL_ERR_INTERRUPT] = 130, [DQL_ERR_SQL] = 1, [DQL_ERR_LUA] = 1,
    };
    for (int s = 0; s < DQL_STATUS_MAX; s++) {
        CHECK(dql_status_exit((dql_status)s) == want[s], "exit code of status %d", s);
        CHECK(dql_status_str((dql_status)s) && *dql_status_str((dql_status)s), "message of %d", s);
    }
    CHECK(strcmp(dql_status_str(DQL_ERR_NOMEM), "out of memory") == 0, "nomem message");
    CHECK(strcmp(dql_status_str(DQL_STATUS_MAX), "unknown status") == 0, "out of range status");
}

static void test_arena(void)
{
    dql_arena a;
    dql_arena_init(&a);
    CHECK(a.total == 0 && a.head == NULL, "fresh arena is empty");
    char *first = dql_arena_alloc(&a, 1);
    size_t held = a.total;
    CHECK(held >= 64 * 1024, "first chunk at least 64 KB (%zu)", held);
    bool aligned = true, distinct = true;
    char *prev = first;
    for (int i = 0; i < 100000; i++) {
        size_t n = (size_t)(i % 37) + 1;
        char *p = dql_arena_alloc(&a, n);
        if ((uintptr_t)p % 8)
            aligned = false;
        if (p == prev)
            distinct = false;
        memset(p, 0xab, n);
        prev = p;
    }
    CHECK(aligned, "8-byte alignment");
    CHECK(distinct, "distinct pointers");
    CHECK(a.total > held, "arena grew");
    size_t before = a.total;
    char *big = dql_arena_alloc(&a, 10u << 20);
    memset(big, 1, 10u << 20);
    CHECK(a.total >= before + (10u << 20), "large request counted");
    char *after = dql_arena_alloc(&a, 16);
    CHECK(after != NULL && (after < big || after >= big + (10u << 20)), "large chunk is separate");
    char *s = dql_arena_printf(&a, "%s-%d", "abc", 42);
    CHECK(strcmp(s, "abc-42") == 0, "arena printf: %s", s);
    char longfmt[200000];
    memset(longfmt, 'x', sizeof longfmt - 1);
    longfmt[sizeof longfmt - 1] = 0;
    s = dql_arena_printf(&a, "<%s>", longfmt);
    CHECK(strlen(s) == sizeof longfmt + 1 && s[0] == '<' && s[sizeof longfmt] == '>', "long printf");
    char *d = dql_arena_strndup(&a, "hello world", 5);
    CHECK(strcmp(d, "hello") == 0, "strndup");
    const char raw[3] = { 1, 0, 2 };
    char *m = dql_arena_memdup(&a, raw, 3);
    CHECK(memcmp(m, raw, 3) == 0, "memdup");
    CHECK(dql_arena_memdup(&a, NULL, 0) != NULL, "memdup of nothing");
    dql_arena_reset(&a);
    CHECK(a.total == held && a.used == 0, "reset keeps only the first chunk (%zu vs %zu)", a.total, held);
    CHECK(dql_arena_alloc(&a, 8) == first, "first chunk reused");
    dql_arena_free(&a);
    CHECK(a.total == 0 && a.head == NULL, "free empties");
    /* an arena whose first request is large */
    dql_arena_alloc(&a, 1u << 20);
    dql_arena_alloc(&a, 8);
    dql_arena_reset(&a);
    CHECK(a.total == 0 || a.total < (1u << 20), "large first chunk not kept");
    dql_arena_alloc(&a, 0);
    dql_arena_free(&a);
}

static void test_buf(void)
{
    dql_buf b = {0};
    CHECK(strcmp(dql_buf_cstr(&b), "") == 0, "empty cstr");
    dql_buf_puts(&b, "ab");
    dql_buf_putc(&b, 'c');
    dql_buf_put(&b, "def", 2);
    dql_buf_printf(&b, "%d/%s", 12, "x");
    CHECK(b.len == 9 && strcmp(dql_buf_cstr(&b), "abcde12/x") == 0, "buf: %s", dql_buf_cstr(&b));
    for (int i = 0; i < 1000; i++)
        dql_buf_printf(&b, "%0100d", i);
    CHECK(b.len == 9 + 100000, "buf printf growth %zu", b.len);
    dql_buf_free(&b);
    CHECK(b.p == NULL && b.len == 0, "buf free");
}

static void test_size_duration(void)
{
    static const struct { const char *s; uint64_t v; } ok[] = {
        { "4096", 4096 }, { "64k", 65536 }, { "64KB", 65536 }, { "256MB", 256u << 20 },
        { "1g", 1u << 30 }, { "1.5GB", 1610612736ull }, { "2 MiB", 2u << 20 }, { "0", 0 },
        { "10b", 10 }, { "1T", 1ull << 40 },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 7;
        CHECK(dql_parse_size(ok[i].s, &v) && v == ok[i].v, "size %s -> %llu", ok[i].s,
              (unsigned long long)v);
    }
    static const char *bad[] = { "", "MB", "-1", "1x", "1 GB x", "99999999999999999999",
                                 "20000000000GB", "1..5", " 1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v;
        CHECK(!dql_parse_size(bad[i], &v), "size '%s' should fail", bad[i]);
    }
    static const struct { const char *s; int64_t v; } dok[] = {
        { "2s", 2000000 }, { "500ms", 500000 }, { "1h30m", 5400000000LL }, { "250us", 250 },
        { "3", 3000000 }, { "1.5s", 1500000 }, { "1m", 60000000 }, { "1d", 86400000000LL },
        { "1500ns", 1 }, { "0", 0 }, { "1h2m3s4ms", 3723004000LL },
    };
    for (size_t i = 0; i < sizeof dok / sizeof dok[0]; i++) {
        int64_t v = -1;
        CHECK(dql_parse_duration(dok[i].s, &v) && v == dok[i].v, "duration %s -> %lld",
              dok[i].s, (long long)v);
    }
    static const char *dbad[] = { "", "s", "1h30", "2x", "-1s", "1 s", "99999999999999h" };
    for (size_t i = 0; i < sizeof dbad / sizeof dbad[0]; i++) {
        int64_t v;
        CHECK(!dql_parse_duration(dbad[i], &v), "duration '%s' should fail", dbad[i]);
    }
}

static void test_schema(void)
{
    dql_schema *inner = dql_schema_new(0);
    dql_schema_add(inner, "x", DQL_T_INT, NULL);
    dql_schema_add(inner, "y", DQL_T_CHARARRAY, NULL);
    dql_schema *s = dql_schema_new(0);
    dql_schema_add(s, "name", DQL_T_CHARARRAY, NULL);
    dql_schema_add(s, "n", DQL_T_LONG, NULL);
    dql_schema_add(s, "b", DQL_T_BAG, inner);
    dql_schema_add(s, "t", DQL_T_TUPLE, inner);
    dql_schema_add(s, NULL, DQL_T_DOUBLE, NULL);
    dql_schema_add(s, "m", DQL_T_MAP, NULL);
    dql_schema_free(inner);
    dql_buf b = {0};
    dql_schema_format(&b, s);
    CHECK(strcmp(dql_buf_cstr(&b),
                 "name: chararray, n: long, b: {(x: int, y: chararray)}, t: (x: int, y: chararray), "
                 "double, m: map[]") == 0, "schema format: %s", b.p);
    dql_buf_free(&b);
    CHECK(dql_schema_find(s, "n") == 1, "find exact");
    CHECK(dql_schema_find(s, "zz") == -1, "find absent");
    dql_schema *j = dql_schema_new(0);
    dql_schema_add(j, "a::id", DQL_T_INT, NULL);
    dql_schema_add(j, "a::x", DQL_T_INT, NULL);
    dql_schema_add(j, "b::id", DQL_T_INT, NULL);
    dql_schema_add(j, "x", DQL_T_INT, NULL);
    dql_schema_add(j, "b::v", DQL_T_INT, NULL);
    dql_schema_add(j, "cv", DQL_T_INT, NULL);
    CHECK(dql_schema_find(j, "id") == -2, "ambiguous suffix");
    CHECK(dql_schema_find(j, "a::id") == 0, "qualified name");
    CHECK(dql_schema_find(j, "x") == 3, "exact wins over suffix");
    CHECK(dql_schema_find(j, "v") == 4, "unique suffix (not cv)");
    CHECK(dql_schema_find(j, ":id") == -1, "no partial '::'");
    dql_schema *c = dql_schema_copy(s);
    CHECK(c->n == 6 && strcmp(c->f[2].name, "b") == 0 && c->f[2].sub && c->f[2].sub->n == 2
          && c->f[2].sub != s->f[2].sub && c->f[4].name == NULL, "schema copy");
    dql_schema *e = dql_schema_new(2);
    CHECK(e->n == 2 && e->f[0].type == DQL_T_ANY && !e->f[0].name, "schema_new(n)");
    dql_schema_free(e);
    dql_schema_free(c);
    dql_schema_free(j);
    dql_schema_free(s);
    dql_schema_free(NULL);
    CHECK(dql_schema_copy(NULL) == NULL, "copy NULL");

    dql_batch bt;
    dql_batch_init(&bt, 3, 16);
    CHECK(bt.n == 0 && bt.cap == 16 && bt.ncols == 3 && dql_is_null(dql_batch_row(&bt, 15)[2]), "batch");
    dql_batch_free(&bt);
    CHECK(bt.v == NULL, "batch free");
}

/* ------------------------------------------------------------ value.c */

static void test_types(void)
{
    for (int t = 0; t < DQL_T__COUNT; t++) {
        const char *n = dql_type_name((dql_type)t);
        CHECK(dql_type_parse(n, strlen(n)) == (dql_type)t, "type round trip %s", n);
    }
    CHECK(strcmp(dql_type_name(DQL_T_CHARARRAY), "chararray") == 0, "chararray name");
    CHECK(strcmp(dql_type_name(DQL_T_BOOL), "boolean") == 0, "boolean name");
    CHECK(dql_type_parse("INTEGER", 7) == DQL_T_INT, "integer");
    CHECK(dql_type_parse("Bool", 4) == DQL_T_BOOL, "bool");
    CHECK(dql_type_parse("string", 6) == DQL_T_CHARARRAY, "string");
    CHECK(dql_type_parse("float", 5) == DQL_T_DOUBLE, "float");
    CHECK(dql_type_parse("bytes", 5) == DQL_T_BYTEARRAY, "bytes");
    CHECK(dql_type_parse("CharArray", 9) == DQL_T_CHARARRAY, "case-insensitive");
    CHECK(dql_type_parse("intx", 4) == DQL_T__COUNT, "unknown");
    CHECK(dql_type_parse("int", 2) == DQL_T__COUNT, "prefix is not a name");
    CHECK(dql_type_parse("longer", 4) == DQL_T_LONG, "len respected");
    CHECK(dql_type_is_numeric(DQL_T_DOUBLE) && !dql_type_is_numeric(DQL_T_BOOL), "numeric");
    CHECK(dql_type_is_stringlike(DQL_T_DOMAIN) && !dql_type_is_stringlike(DQL_T_IP), "stringlike");
}

static void test_containers(void)
{
    dql_tuple *t = dql_tuple_new(&A, 3);
    CHECK(t->n == 3 && dql_is_null(t->v[0]) && dql_is_null(t->v[2]), "tuple nulls");
    dql_bag_builder bb = {0};
    for (int i = 0; i < 100; i++) {
        dql_tuple *x = dql_tuple_new(&A, 1);
        x->v[0] = dql_int(i);
        dql_bag_builder_add(&bb, x);
    }
    dql_bag *b = dql_bag_builder_finish(&bb, &A);
    CHECK(b->n == 100 && b->t[99]->v[0].u.i == 99 && bb.n == 0, "bag builder");
    dql_bag *e = dql_bag_builder_finish(&bb, &A);
    CHECK(e->n == 0, "empty bag from builder");
    dql_bag_builder_free(&bb);
    dql_map *m = dql_map_new(&A, 2);
    CHECK(m->n == 2 && dql_is_null(m->k[1]), "map");
    dql_bag *nb = dql_bag_new(&A, 4);
    CHECK(nb->n == 4 && nb->t[3] == NULL, "bag_new");

    uint8_t ip[4] = { 10, 1, 2, 3 };
    dql_value c = dql_cidr_make(&A, ip, 4, 8);
    CHECK(c.type == DQL_T_CIDR && strcmp(fmt(c), "10.0.0.0/8") == 0, "cidr_make masks: %s", fmt(c));
    CHECK(dql_is_null(dql_cidr_make(&A, ip, 4, 33)), "cidr prefix range");
    dql_value v = dql_ip_make(&A, ip, 4);
    ip[0] = 99;
    CHECK(strcmp(fmt(v), "10.1.2.3") == 0, "ip_make copies");

    /* deep copy */
    char buf[8] = "abc";
    dql_tuple *inner = dql_tuple_new(&A, 2);
    inner->v[0] = dql_chararray(buf, 3);
    inner->v[1] = dql_long(5);
    dql_tuple *outer = dql_tuple_new(&A, 3);
    outer->v[0] = (dql_value){ .type = DQL_T_TUPLE, .u.t = inner };
    dql_bag *bg = dql_bag_new(&A, 1);
    bg->t[0] = inner;
    outer->v[1] = (dql_value){ .type = DQL_T_BAG, .u.b = bg };
    dql_map *mp = dql_map_new(&A, 1);
    mp->k[0] = dql_chararray(buf, 1);
    mp->v[0] = dql_chararray(buf + 1, 2);
    outer->v[2] = (dql_value){ .type = DQL_T_MAP, .u.m = mp };
    dql_value o = { .type = DQL_T_TUPLE, .u.t = outer };
    dql_arena other;
    dql_arena_init(&other);
    dql_value cp = dql_value_copy(&other, o);
    CHECK(strcmp(fmt(cp), "((abc,5),{(abc,5)},[a#bc])") == 0, "copy: %s", fmt(cp));
    buf[0] = 'X';
    CHECK(strcmp(fmt(cp), "((abc,5),{(abc,5)},[a#bc])") == 0, "copy is deep: %s", fmt(cp));
    CHECK(!dql_value_eq(cp, o), "original changed");
    buf[0] = 'a';
    CHECK(dql_value_eq(cp, o) && dql_value_hash(cp) == dql_value_hash(o), "copy equal");
    dql_arena_free(&other);
}

static void test_order(void)
{
    double nan = NAN;
    PAIR(dql_null(), dql_int(0), -1);
    PAIR(dql_null(), dql_null(), 0);
    PAIR(dql_null(), dql_bool(false), -1);
    PAIR(dql_bool(false), dql_bool(true), -1);
    PAIR(dql_bool(true), dql_int(0), -1);
    PAIR(dql_int(1), dql_long(1), 0);
    PAIR(dql_int(1), dql_double(1.0), 0);
    PAIR(dql_long(3), dql_double(2.5), 1);
    PAIR(dql_long(-3), dql_double(-2.5), -1);
    PAIR(dql_long(-2), dql_double(-2.5), 1);
    PAIR(dql_double(0.0), dql_double(-0.0), 0);
    PAIR(dql_int(0), dql_double(-0.0), 0);
    PAIR(dql_double(nan), dql_double(nan), 0);
    PAIR(dql_double(INFINITY), dql_double(nan), -1);
    PAIR(dql_long(INT64_MAX), dql_double(nan), -1);
    PAIR(dql_long(INT64_MAX), dql_double(9223372036854775808.0), -1);
    PAIR(dql_long(INT64_MIN), dql_double(-9223372036854775808.0), 0);
    PAIR(dql_long(INT64_MIN), dql_double(-INFINITY), 1);
    PAIR(dql_long((1LL << 53) + 1), dql_double(9007199254740992.0), 1);
    PAIR(dql_long(1LL << 53), dql_double(9007199254740992.0), 0);
    PAIR(dql_long(INT64_MIN), dql_long(INT64_MAX), -1);
    PAIR(dql_double(1e300), S(""), -1);
    PAIR(S("a"), S("b"), -1);
    PAIR(S("ab"), S("a"), 1);
    PAIR(S(""), dql_chararray(NULL, 0), 0);
    PAIR(S("\xff"), S("a"), 1);
    PAIR(S("abc"), dql_str(DQL_T_BYTEARRAY, "abc", 3), 0);
    PAIR(S("abc"), D("abc"), 0);
    PAIR(S("b.a"), D("a.b"), 1);           /* bytewise across types */
    PAIR(D("EXAMPLE"), D("example"), 0);
    PAIR(D("ABCDEFGHIJKLMNOPQRSTUVWXYZ.Example.COM"), D("abcdefghijklmnopqrstuvwxyz.example.com"), 0);
    PAIR(D("@[`{.Zz"), D("@[`{.zZ"), 0);
    PAIR(D("\xc1"), D("\xe1"), -1);     /* not ASCII letters: no folding */
    CHECK(dql_value_hash(D("\xc1")) != dql_value_hash(D("\xe1")), "no folding of high bytes");
    CHECK(dql_value_hash(D("@")) != dql_value_hash(D("`")), "no folding of @");
    PAIR(dql_datetime(0), S("zzz"), 1);

    /* canonical order, RFC 4034 §6.1 */
    static const char *canon[] = {
        ".", "example", "a.example", "yljkjljk.a.example", "Z.a.example",
        "zABC.a.EXAMPLE", "z.example", "*.z.example", "_d.z.example", "a-b.z.example", "org",
        "a.org",
    };
    size_t nc = sizeof canon / sizeof canon[0];
    for (size_t i = 0; i < nc; i++)
        for (size_t j = 0; j < nc; j++)
            PAIR(D(canon[i]), D(canon[j]), i < j ? -1 : i > j ? 1 : 0);

    uint8_t v4[4] = { 255, 255, 255, 255 }, v6[16] = { 0 }, v4b[4] = { 1, 2, 3, 4 };
    dql_value i4 = dql_ip_make(&A, v4, 4), i6 = dql_ip_make(&A, v6, 16), i4b = dql_ip_make(&A, v4b, 4);
    PAIR(i4, i6, -1);
    PAIR(i4b, i4, -1);
    PAIR(i4, dql_ip_make(&A, v4, 4), 0);
    PAIR(dql_cidr_make(&A, v4b, 4, 8), dql_cidr_make(&A, v4b, 4, 16), -1);
    PAIR(i4, dql_cidr_make(&A, v4b, 4, 8), -1);

    dql_tuple *t1 = dql_tuple_new(&A, 2), *t2 = dql_tuple_new(&A, 2), *t3 = dql_tuple_new(&A, 1);
    t1->v[0] = dql_int(1); t1->v[1] = S("x");
    t2->v[0] = dql_double(1.0); t2->v[1] = S("x");
    t3->v[0] = dql_int(1);
    dql_value T1 = { .type = DQL_T_TUPLE, .u.t = t1 }, T2 = { .type = DQL_T_TUPLE, .u.t = t2 },
              T3 = { .type = DQL_T_TUPLE, .u.t = t3 };
    PAIR(T1, T2, 0);
    PAIR(T3, T1, -1);
    dql_bag *b1 = dql_bag_new(&A, 1), *b2 = dql_bag_new(&A, 2);
    b1->t[0] = t1;
    b2->t[0] = t3; b2->t[1] = t3;
    dql_value B1 = { .type = DQL_T_BAG, .u.b = b1 }, B2 = { .type = DQL_T_BAG, .u.b = b2 };
    PAIR(B1, B2, -1);              /* by size first */
    PAIR(T1, B1, -1);
    dql_bag *b3 = dql_bag_new(&A, 1);
    b3->t[0] = t2;
    dql_value B3 = { .type = DQL_T_BAG, .u.b = b3 };
    PAIR(B1, B3, 0);

    /* random numbers: cmp consistent with eq and hash, transitive on triples */
    uint64_t r = 88172645463325252ull;
    dql_value vals[300];
    for (int i = 0; i < 300; i++) {
        r ^= r << 13; r ^= r >> 7; r ^= r << 17;
        int64_t x = (int64_t)(r % 21) - 10;
        switch (r >> 60 & 3) {
        case 0: vals[i] = dql_int((int32_t)x); break;
        case 1: vals[i] = dql_long(x); break;
        case 2: vals[i] = dql_double((double)x); break;
        default: vals[i] = dql_double((r >> 50 & 7) == 0 ? NAN : (double)x + 0.5); break;
        }
    }
    int bad = 0;
    for (int i = 0; i < 300; i++)
        for (int j = 0; j < 300; j++) {
            int c = dql_value_cmp(vals[i], vals[j]);
            if (sgn(c) != -sgn(dql_value_cmp(vals[j], vals[i])) || (c == 0) != dql_value_eq(vals[i], vals[j])
                || (c == 0 && dql_value_hash(vals[i]) != dql_value_hash(vals[j])))
                bad++;
            for (int k = 0; k < 300; k += 7)
                if (c <= 0 && dql_value_cmp(vals[j], vals[k]) <= 0 && dql_value_cmp(vals[i], vals[k]) > 0)
                    bad++;
        }
    CHECK(bad == 0, "random numeric order consistency: %d bad", bad);

    /* hash spreads: distinct small ints give distinct low bits mostly */
    int buckets[64] = {0};
    for (int i = 0; i < 6400; i++)
        buckets[dql_value_hash(dql_int(i)) & 63]++;
    int worst = 0;
    for (int i = 0; i < 64; i++)
        if (buckets[i] > worst)
            worst = buckets[i];
    CHECK(worst < 200, "hash low bits spread (worst bucket %d)", worst);
    CHECK(dql_hash_bytes("abc", 3, 1) != dql_hash_bytes("abc", 3, 2), "seed matters");
    CHECK(dql_hash_bytes("abcdefghijklmnopqrstuvwxyz", 26, 0) != dql_hash_bytes("abcdefghijklmnopqrstuvwxyZ", 26, 0),
          "long tail matters");
    CHECK(dql_hash_bytes("", 0, 0) != dql_hash_bytes("\0", 1, 0), "length matters");
}

static void test_format(void)
{
    static const struct { double d; const char *s; } dbl[] = {
        { 1.0, "1.0" }, { 0.5, "0.5" }, { 0.1, "0.1" }, { -0.0, "-0.0" }, { 100, "100.0" },
        { 1e20, "1e+20" }, { 1.0 / 3, "0.3333333333333333" }, { 1e15, "1e+15" },
        { 123456789012345678.0, "1.2345678901234568e+17" }, { 1e-7, "1e-07" },
        { 2.5e-300, "2.5e-300" }, { -1.25, "-1.25" }, { 1234567890123456.0, "1234567890123456.0" },
        { 999999999999999.0, "999999999999999.0" }, { 0.30000000000000004, "0.30000000000000004" },
    };
    for (size_t i = 0; i < sizeof dbl / sizeof dbl[0]; i++)
        CHECK(strcmp(fmt(dql_double(dbl[i].d)), dbl[i].s) == 0, "double %.17g -> %s want %s", dbl[i].d,
              fmt(dql_double(dbl[i].d)), dbl[i].s);
    CHECK(strcmp(fmt(dql_double(NAN)), "NaN") == 0, "NaN");
    CHECK(strcmp(fmt(dql_double(-INFINITY)), "-Infinity") == 0, "-inf");
    CHECK(strcmp(fmt(dql_int(-42)), "-42") == 0, "int");
    CHECK(strcmp(fmt(dql_long(INT64_MIN)), "-9223372036854775808") == 0, "long min");
    CHECK(strcmp(fmt(dql_bool(true)), "true") == 0 && strcmp(fmt(dql_bool(false)), "false") == 0, "bool");
    CHECK(strcmp(fmt(dql_null()), "") == 0, "null renders empty");
    CHECK(strcmp(fmt(dql_datetime(0)), "1970-01-01T00:00:00Z") == 0, "epoch");
    CHECK(strcmp(fmt(dql_datetime(1704164645123000LL)), "2024-01-02T03:04:05.123Z") == 0, "ms: %s",
          fmt(dql_datetime(1704164645123000LL)));
    CHECK(strcmp(fmt(dql_datetime(1704164645000001LL)), "2024-01-02T03:04:05.000001Z") == 0, "us");
    CHECK(strcmp(fmt(dql_datetime(-500000)), "1969-12-31T23:59:59.500Z") == 0, "before epoch: %s",
          fmt(dql_datetime(-500000)));
    CHECK(strcmp(fmt(dql_datetime(951782400000000LL)), "2000-02-29T00:00:00Z") == 0, "leap day");

    dql_tuple *t = dql_tuple_new(&A, 4);
    t->v[0] = dql_int(1);
    t->v[2] = S("x");
    dql_tuple *t2 = dql_tuple_new(&A, 1);
    t2->v[0] = S("y");
    dql_bag *b = dql_bag_new(&A, 2);
    b->t[0] = t2; b->t[1] = t2;
    t->v[3] = (dql_value){ .type = DQL_T_BAG, .u.b = b };
    dql_value tv = { .type = DQL_T_TUPLE, .u.t = t };
    CHECK(strcmp(fmt(tv), "(1,,x,{(y),(y)})") == 0, "tuple: %s", fmt(tv));
    dql_map *m = dql_map_new(&A, 2);
    m->k[0] = S("k"); m->v[0] = dql_double(2.0);
    m->k[1] = S("k2"); m->v[1] = dql_null();
    dql_value mv = { .type = DQL_T_MAP, .u.m = m };
    CHECK(strcmp(fmt(mv), "[k#2.0,k2#]") == 0, "map: %s", fmt(mv));
    CHECK(strcmp(fmt((dql_value){ .type = DQL_T_BAG, .u.b = dql_bag_new(&A, 0) }), "{}") == 0, "empty bag");

    /* JSON */
    CHECK(strcmp(json(tv), "[1,null,\"x\",[[\"y\"],[\"y\"]]]") == 0, "json tuple: %s", json(tv));
    CHECK(strcmp(json(mv), "{\"k\":2.0,\"k2\":null}") == 0, "json map: %s", json(mv));
    CHECK(strcmp(json(dql_double(NAN)), "null") == 0 && strcmp(json(dql_double(INFINITY)), "null") == 0,
          "json non-finite");
    CHECK(strcmp(json(S("a\"b\\c\n\x01\x7f")), "\"a\\\"b\\\\c\\n\\u0001\x7f\"") == 0, "json escapes: %s",
          json(S("a\"b\\c\n\x01\x7f")));
    CHECK(strcmp(json(S("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")), "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"") == 0,
          "json valid utf-8 kept");
    CHECK(strcmp(json(S("a\xff" "b\xc0\xaf" "c\xed\xa0\x80" "d\xe2\x82")),
                 "\"a\\ufffdb\\ufffd\\ufffdc\\ufffd\\ufffd\\ufffdd\\ufffd\\ufffd\"") == 0,
          "json invalid utf-8: %s", json(S("a\xff" "b\xc0\xaf" "c\xed\xa0\x80" "d\xe2\x82")));
    CHECK(strcmp(json(dql_datetime(0)), "\"1970-01-01T00:00:00Z\"") == 0, "json datetime");
    CHECK(strcmp(json(P(DQL_T_IP, "::1")), "\"::1\"") == 0, "json ip");
    CHECK(strcmp(json(dql_bool(true)), "true") == 0 && strcmp(json(dql_null()), "null") == 0, "json atoms");
    CHECK(strcmp(json(D("a.example")), "\"a.example\"") == 0, "json domain");
    dql_map *m2 = dql_map_new(&A, 1);
    m2->k[0] = dql_int(7); m2->v[0] = dql_int(8);
    CHECK(strcmp(json((dql_value){ .type = DQL_T_MAP, .u.m = m2 }), "{\"7\":8}") == 0, "json non-string key");
}

static void test_ip(void)
{
    static const struct { const char *in, *out; } ok[] = {
        { "1.2.3.4", "1.2.3.4" }, { "0.0.0.0", "0.0.0.0" }, { "::", "::" }, { "::1", "::1" },
        { "1::", "1::" }, { "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1" },
        { "2001:0db8:0000:0000:0000:0000:0002:0001", "2001:db8::2:1" },
        { "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1" }, { "2001:DB8::A", "2001:db8::a" },
        { "2001:0:0:1:0:0:0:1", "2001:0:0:1::1" }, { "::ffff:1.2.3.4", "::ffff:1.2.3.4" },
        { "::ffff:0102:0304", "::ffff:1.2.3.4" }, { "fe80::1:0:0:0", "fe80::1:0:0:0" },
        { "1:0:0:2:0:0:0:0", "1:0:0:2::" }, { "::1.2.3.4", "::102:304" },
        { "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8" }, { "0:1:2:3:4:5:6:0", "0:1:2:3:4:5:6:0" },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint8_t ip[16];
        int len = 0;
        bool r = dql_ip_parse(ok[i].in, strlen(ok[i].in), ip, &len);
        dql_buf b = {0};
        if (r)
            dql_ip_format(&b, ip, len);
        CHECK(r && strcmp(dql_buf_cstr(&b), ok[i].out) == 0, "ip %s -> %s want %s", ok[i].in,
              dql_buf_cstr(&b), ok[i].out);
        dql_buf_free(&b);
    }
    static const char *bad[] = { "", "1.2.3", "1.2.3.256", "1.2.3.4 ", " 1.2.3.4", "::g", "1:2:3:4:5:6:7:8:9",
                                 "fe80::1%eth0", "01.2.3.4x", "1.2.3.4/8" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t ip[16];
        int len;
        CHECK(!dql_ip_parse(bad[i], strlen(bad[i]), ip, &len), "ip '%s' should fail", bad[i]);
    }
    uint8_t ip[16];
    int len;
    CHECK(dql_ip_parse("10.0.0.1xyz", 8, ip, &len) && len == 4 && ip[3] == 1, "ip parse honours n");
    CHECK(!dql_ip_parse("1.2.3.4\0", 8, ip, &len), "embedded NUL rejected");
}

static void test_datetime(void)
{
    static const struct { const char *in; int64_t us; } ok[] = {
        { "1970-01-01", 0 }, { "2024-01-02T03:04:05Z", 1704164645000000LL },
        { "2024-01-02 03:04:05", 1704164645000000LL }, { "2024-01-02t03:04:05z", 1704164645000000LL },
        { "2024-01-02T03:04:05.123Z", 1704164645123000LL },
        { "2024-01-02T03:04:05.1234567Z", 1704164645123456LL },
        { "2024-01-02T03:04:05,5", 1704164645500000LL },
        { "2024-01-02T05:04:05+02:00", 1704164645000000LL },
        { "2024-01-02T05:34:05+0230", 1704164645000000LL },
        { "2024-01-01T22:04:05-05", 1704164645000000LL },
        { "2024-01-02T03:04", 1704164640000000LL },
        { "2024-02-29", 1709164800000000LL }, { "1969-12-31T23:59:59.5Z", -500000 },
        { "1900-01-01", -2208988800000000LL }, { "0001-01-01", -62135596800000000LL },
        { "2016-12-31T23:59:60Z", 1483228800000000LL },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t us = 1;
        CHECK(dql_datetime_parse(ok[i].in, strlen(ok[i].in), &us) && us == ok[i].us, "datetime %s -> %lld",
              ok[i].in, (long long)us);
    }
    static const char *bad[] = { "", "2024", "2024-1-2", "2023-02-29", "2024-13-01", "2024-00-10",
                                 "2024-01-32", "2024-01-02T", "2024-01-02T24:00:00", "2024-01-02T03:60",
                                 "2024-01-02T03:04:05.", "2024-01-02T03:04:05Zx", "2024-01-02T03:04:05+2",
                                 "2024-01-02T03:04:05+02:", "2024-01-02X03:04", "1704164645",
                                 " 2024-01-02", "2024-01-02 " };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t us;
        CHECK(!dql_datetime_parse(bad[i], strlen(bad[i]), &us), "datetime '%s' should fail", bad[i]);
    }
    /* round trip over a wide range */
    int bad_rt = 0;
    for (int64_t us = -62135596800000000LL; us < 253402300799000000LL; us += 7777777777777LL + 123457) {
        dql_buf b = {0};
        dql_datetime_format(&b, us);
        int64_t back;
        if (!dql_datetime_parse(b.p, b.len, &back) || back != us)
            bad_rt++;
        dql_buf_free(&b);
    }
    CHECK(bad_rt == 0, "datetime round trips (%d bad)", bad_rt);
    dql_buf b = {0};
    dql_datetime_format(&b, INT64_MIN);
    dql_datetime_format(&b, INT64_MAX);
    CHECK(b.len > 0, "extreme datetimes format without crashing");
    dql_buf_free(&b);
}

static void test_domain(void)
{
    dql_value v;
    const char *why;
    const char *in = "example.com";
    CHECK(dql_domain_normalize(&A, in, strlen(in), &v, &why) && v.u.s == in && v.len == 11
          && v.type == DQL_T_DOMAIN, "normal name not copied");
    in = "example.com.";
    CHECK(dql_domain_normalize(&A, in, strlen(in), &v, &why) && v.u.s == in && v.len == 11, "trailing dot");
    in = "WWW.Example.COM.";
    CHECK(dql_domain_normalize(&A, in, strlen(in), &v, &why) && v.u.s != in
          && strcmp(fmt(v), "www.example.com") == 0, "lower-cased copy: %s", fmt(v));
    CHECK(dql_domain_normalize(&A, ".", 1, &v, &why) && v.len == 1 && v.u.s[0] == '.', "root");
    CHECK(dql_domain_normalize(&A, "_dmarc.*.x-y.example", 20, &v, &why), "underscore, star, hyphen");
#ifdef HAVE_LIBIDN2
    /* IDN labels become punycode (libidn2) */
    in = "Caf\xc3\xa9.FR.";
    CHECK(dql_domain_normalize(&A, in, strlen(in), &v, &why) && strcmp(fmt(v), "xn--caf-dma.fr") == 0,
          "IDN to punycode: %s", dql_is_null(v) ? why : fmt(v));
#endif
    static const struct { const char *in, *why; } bad[] = {
        { "", "empty name" }, { "..", "empty label" }, { "a..b", "empty label" }, { ".a", "empty label" },
        { "a.b..", "empty label" },
#ifdef HAVE_LIBIDN2
        { "caf\xff.fr", "invalid internationalised name (IDNA)" },
#else
        { "caf\xc3\xa9.fr", "non-ASCII label (IDN not converted: built without libidn2)" },
#endif
        { "a\\.b", "escaped octets are not supported" }, { "a b.c", "invalid character in name" },
        { "a/b", "invalid character in name" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        bool r = dql_domain_normalize(&A, bad[i].in, strlen(bad[i].in), &v, &why);
        CHECK(!r && why && strcmp(why, bad[i].why) == 0 && dql_is_null(v), "domain '%s': %s", bad[i].in,
              why ? why : "(accepted)");
    }
    char lab[80], name[300];
    memset(lab, 'a', 63); lab[63] = 0;
    CHECK(dql_domain_normalize(&A, lab, 63, &v, &why), "63-octet label");
    memset(lab, 'a', 64); lab[64] = 0;
    CHECK(!dql_domain_normalize(&A, lab, 64, &v, &why) && strstr(why, "63"), "64-octet label");
    /* 253 octets: 63+1+63+1+63+1+61 */
    memset(name, 'b', sizeof name);
    name[63] = name[127] = name[191] = '.';
    CHECK(dql_domain_normalize(&A, name, 253, &v, &why), "253-octet name");
    name[253] = '.';
    CHECK(dql_domain_normalize(&A, name, 254, &v, &why) && v.len == 253, "253 + trailing dot");
    name[253] = 'b';
    CHECK(!dql_domain_normalize(&A, name, 254, &v, &why) && strstr(why, "253"), "254-octet name");
    CHECK(!dql_domain_normalize(&A, "a..", 3, &v, NULL), "why may be NULL");
    CHECK(dql_domain_cmp("a.example", 9, "A.EXAMPLE", 9) == 0, "domain_cmp case-insensitive");
    CHECK(dql_domain_cmp("b.a", 3, "a.b", 3) < 0, "domain_cmp from the right");
}

/* Reference canonical order: split into labels, compare from the right. */
static int ref_domain_cmp(const char *a, const char *b)
{
    const char *la[16], *lb[16];
    size_t na = 0, nb = 0, sa[16], sb[16];
    if (strcmp(a, ".") == 0 || strcmp(b, ".") == 0)
        return (strcmp(b, ".") == 0) - (strcmp(a, ".") == 0);
    for (const char *p = a;; ) {
        const char *d = strchr(p, '.');
        la[na] = p; sa[na++] = d ? (size_t)(d - p) : strlen(p);
        if (!d) break;
        p = d + 1;
    }
    for (const char *p = b;; ) {
        const char *d = strchr(p, '.');
        lb[nb] = p; sb[nb++] = d ? (size_t)(d - p) : strlen(p);
        if (!d) break;
        p = d + 1;
    }
    while (na && nb) {
        const char *x = la[--na], *y = lb[--nb];
        size_t xn = sa[na], yn = sb[nb], m = xn < yn ? xn : yn;
        for (size_t k = 0; k < m; k++) {
            int cx = x[k] >= 'A' && x[k] <= 'Z' ? x[k] + 32 : x[k];
            int cy = y[k] >= 'A' && y[k] <= 'Z' ? y[k] + 32 : y[k];
            if (cx != cy)
                return cx < cy ? -1 : 1;
        }
        if (xn != yn)
            return xn < yn ? -1 : 1;
    }
    return (na > 0) - (nb > 0);
}

static void test_domain_random(void)
{
    static const char alpha[] = "aAbB.-z";
    uint64_t r = 0x9e3779b97f4a7c15ull;
    int bad = 0;
    for (int it = 0; it < 200000; it++) {
        char x[12], y[12];
        for (int w = 0; w < 2; w++) {
            char *s = w ? y : x;
            r ^= r << 13; r ^= r >> 7; r ^= r << 17;
            int n = (int)(r % 10) + 1;
            for (int k = 0; k < n; k++)
                s[k] = alpha[(r >> (4 + 3 * k)) % 7];
            s[n] = 0;
        }
        if (it & 1)   /* share a suffix half the time */
            memcpy(y + strlen(y) / 2, x + strlen(x) / 2, strlen(x) - strlen(x) / 2 + 1);
        int got = sgn(dql_domain_cmp(x, strlen(x), y, strlen(y))), want = ref_domain_cmp(x, y);
        if (got != want && bad++ < 5)
            fprintf(stderr, "domain_cmp(%s, %s) = %d, want %d\n", x, y, got, want);
    }
    CHECK(bad == 0, "random domain_cmp against reference: %d bad", bad);
}

static void test_parse(void)
{
    CHECK(P(DQL_T_INT, "2147483647").u.i == INT32_MAX && P(DQL_T_INT, "-2147483648").u.i == INT32_MIN, "int range");
    CHECK(!parses(DQL_T_INT, "2147483648") && !parses(DQL_T_INT, "-2147483649"), "int overflow");
    CHECK(P(DQL_T_INT, "+7").u.i == 7 && P(DQL_T_INT, "007").u.i == 7, "int sign, zeros");
    CHECK(!parses(DQL_T_INT, "") && !parses(DQL_T_INT, "-") && !parses(DQL_T_INT, " 1")
          && !parses(DQL_T_INT, "1 ") && !parses(DQL_T_INT, "1.0") && !parses(DQL_T_INT, "0x10"), "int junk");
    CHECK(P(DQL_T_LONG, "9223372036854775807").u.i == INT64_MAX
          && P(DQL_T_LONG, "-9223372036854775808").u.i == INT64_MIN, "long range");
    CHECK(!parses(DQL_T_LONG, "9223372036854775808") && !parses(DQL_T_LONG, "-9223372036854775809")
          && !parses(DQL_T_LONG, "99999999999999999999"), "long overflow");
    CHECK(P(DQL_T_DOUBLE, "1.5").u.d == 1.5 && P(DQL_T_DOUBLE, "-2e3").u.d == -2000
          && P(DQL_T_DOUBLE, ".5").u.d == 0.5, "double");
    CHECK(isnan(P(DQL_T_DOUBLE, "NaN").u.d) && isinf(P(DQL_T_DOUBLE, "-Infinity").u.d), "double words");
    CHECK(!parses(DQL_T_DOUBLE, "1.5x") && !parses(DQL_T_DOUBLE, " 1") && !parses(DQL_T_DOUBLE, "1 ")
          && !parses(DQL_T_DOUBLE, "") && !parses(DQL_T_DOUBLE, "1e400") && !parses(DQL_T_DOUBLE, "0x1p3"),
          "double junk");
    dql_value v;
    CHECK(dql_value_parse(&A, "2.5xyz", 3, DQL_T_DOUBLE, &v) && v.u.d == 2.5, "double honours n");
    char longnum[200];
    memset(longnum, '0', sizeof longnum);
    longnum[0] = '1'; longnum[1] = '.';
    CHECK(dql_value_parse(&A, longnum, sizeof longnum, DQL_T_DOUBLE, &v) && v.u.d == 1.0, "long double text");
    CHECK(P(DQL_T_BOOL, "TRUE").u.i == 1 && P(DQL_T_BOOL, "0").type == DQL_T_BOOL && P(DQL_T_BOOL, "False").u.i == 0,
          "bool");
    CHECK(!parses(DQL_T_BOOL, "yes") && !parses(DQL_T_BOOL, "2") && !parses(DQL_T_BOOL, "truex"), "bool junk");
    const char *txt = "hello";
    CHECK(dql_value_parse(&A, txt, 5, DQL_T_CHARARRAY, &v) && v.u.s == txt && v.type == DQL_T_CHARARRAY,
          "chararray points into input");
    CHECK(dql_value_parse(&A, txt, 5, DQL_T_BYTEARRAY, &v) && v.u.s == txt && v.type == DQL_T_BYTEARRAY,
          "bytearray points into input");
    CHECK(P(DQL_T_DATETIME, "2024-01-02").u.i == 1704153600000000LL, "datetime parse");
    CHECK(strcmp(fmt(P(DQL_T_DOMAIN, "A.Example.")), "a.example") == 0, "domain parse");
    CHECK(!parses(DQL_T_DOMAIN, "a..b"), "domain bad");
    CHECK(strcmp(fmt(P(DQL_T_IP, "2001:DB8::1")), "2001:db8::1") == 0, "ip parse");
    CHECK(strcmp(fmt(P(DQL_T_CIDR, "10.1.2.3/8")), "10.0.0.0/8") == 0, "cidr normalised");
    CHECK(strcmp(fmt(P(DQL_T_CIDR, "2001:db8::1/32")), "2001:db8::/32") == 0, "v6 cidr");
    CHECK(strcmp(fmt(P(DQL_T_CIDR, "1.2.3.4")), "1.2.3.4/32") == 0, "bare address cidr");
    CHECK(strcmp(fmt(P(DQL_T_CIDR, "0.0.0.0/0")), "0.0.0.0/0") == 0, "/0");
    CHECK(!parses(DQL_T_CIDR, "1.2.3.4/33") && !parses(DQL_T_CIDR, "1.2.3.4/") && !parses(DQL_T_CIDR, "1.2.3.4/+8")
          && !parses(DQL_T_CIDR, "::/129") && !parses(DQL_T_CIDR, "1.2.3.4/8/8"), "cidr bad");
    CHECK(!parses(DQL_T_TUPLE, "(1)") && !parses(DQL_T_BAG, "{}") && !parses(DQL_T_MAP, "[]"), "containers");
}

static bool cast(dql_value v, dql_type to, dql_value *out)
{
    bool ok = dql_value_cast(&A, v, to, out);
    if (!ok && !dql_is_null(*out))
        return true;
    return ok;
}

static void test_cast(void)
{
    dql_value o;
    CHECK(cast(dql_null(), DQL_T_INT, &o) && dql_is_null(o), "null casts to null");
    CHECK(cast(dql_int(5), DQL_T_LONG, &o) && o.type == DQL_T_LONG && o.u.i == 5, "int->long");
    CHECK(cast(dql_long(5), DQL_T_DOUBLE, &o) && o.u.d == 5.0, "long->double");
    CHECK(!cast(dql_long(1LL << 31), DQL_T_INT, &o) && dql_is_null(o), "long->int overflow");
    CHECK(cast(dql_long(-(1LL << 31)), DQL_T_INT, &o) && o.u.i == INT32_MIN, "long->int min");
    CHECK(cast(dql_double(-2.9), DQL_T_INT, &o) && o.u.i == -2, "double->int truncates");
    CHECK(cast(dql_double(2.9), DQL_T_LONG, &o) && o.u.i == 2, "double->long truncates");
    CHECK(!cast(dql_double(NAN), DQL_T_INT, &o), "NaN->int fails");
    CHECK(!cast(dql_double(3e9), DQL_T_INT, &o), "double->int out of range");
    CHECK(!cast(dql_double(1e19), DQL_T_LONG, &o), "double->long out of range");
    CHECK(cast(dql_double(2147483647.9), DQL_T_INT, &o) && o.u.i == INT32_MAX, "double->int edge");
    CHECK(cast(S("42"), DQL_T_INT, &o) && o.type == DQL_T_INT && o.u.i == 42, "chararray->int");
    CHECK(!cast(S("42x"), DQL_T_INT, &o), "chararray->int junk");
    CHECK(cast(dql_str(DQL_T_BYTEARRAY, "1.5", 3), DQL_T_DOUBLE, &o) && o.u.d == 1.5, "bytearray->double");
    CHECK(cast(S("true"), DQL_T_BOOL, &o) && o.u.i == 1, "chararray->bool");
    CHECK(!cast(dql_int(1), DQL_T_BOOL, &o), "int->bool fails");
    CHECK(!cast(dql_bool(true), DQL_T_INT, &o), "bool->int fails");
    CHECK(cast(dql_double(0.1), DQL_T_CHARARRAY, &o) && o.type == DQL_T_CHARARRAY && strcmp(fmt(o), "0.1") == 0,
          "double->chararray");
    CHECK(cast(dql_bool(false), DQL_T_CHARARRAY, &o) && strcmp(fmt(o), "false") == 0, "bool->chararray");
    CHECK(cast(dql_datetime(0), DQL_T_BYTEARRAY, &o) && o.type == DQL_T_BYTEARRAY
          && strcmp(fmt(o), "1970-01-01T00:00:00Z") == 0, "datetime->bytearray");
    CHECK(cast(S("abc"), DQL_T_BYTEARRAY, &o) && o.type == DQL_T_BYTEARRAY && o.len == 3, "chararray->bytearray");
    CHECK(cast(D("a.b"), DQL_T_CHARARRAY, &o) && o.type == DQL_T_CHARARRAY, "domain->chararray");
    CHECK(cast(S("WWW.X.ORG."), DQL_T_DOMAIN, &o) && o.type == DQL_T_DOMAIN && strcmp(fmt(o), "www.x.org") == 0,
          "chararray->domain normalises");
    CHECK(!cast(S("a..b"), DQL_T_DOMAIN, &o), "chararray->domain invalid");
    CHECK(!cast(dql_int(1), DQL_T_DOMAIN, &o), "int->domain fails");
    CHECK(cast(S("::1"), DQL_T_IP, &o) && o.type == DQL_T_IP && o.len == 16, "chararray->ip");
    CHECK(cast(S("10.9.8.7/16"), DQL_T_CIDR, &o) && strcmp(fmt(o), "10.9.0.0/16") == 0, "chararray->cidr");
    dql_value ip = P(DQL_T_IP, "10.1.1.1");
    CHECK(cast(ip, DQL_T_CIDR, &o) && strcmp(fmt(o), "10.1.1.1/32") == 0, "ip->cidr");
    CHECK(cast(P(DQL_T_IP, "::1"), DQL_T_CIDR, &o) && strcmp(fmt(o), "::1/128") == 0, "ip6->cidr");
    CHECK(cast(o, DQL_T_IP, &o) && strcmp(fmt(o), "::1") == 0 && o.type == DQL_T_IP, "host cidr->ip");
    CHECK(!cast(P(DQL_T_CIDR, "10.0.0.0/8"), DQL_T_IP, &o), "network cidr->ip fails");
    CHECK(cast(ip, DQL_T_CHARARRAY, &o) && strcmp(fmt(o), "10.1.1.1") == 0, "ip->chararray");
    CHECK(!cast(ip, DQL_T_LONG, &o), "ip->long fails");
    CHECK(!cast(dql_datetime(0), DQL_T_LONG, &o) && !cast(dql_long(0), DQL_T_DATETIME, &o), "datetime<->long fail");
    CHECK(cast(S("2024-01-02T00:00:00Z"), DQL_T_DATETIME, &o) && o.u.i == 1704153600000000LL, "chararray->datetime");
    dql_value tv = { .type = DQL_T_TUPLE, .u.t = dql_tuple_new(&A, 1) };
    CHECK(cast(tv, DQL_T_TUPLE, &o) && o.u.t == tv.u.t, "tuple->tuple");
    CHECK(!cast(tv, DQL_T_CHARARRAY, &o) && !cast(tv, DQL_T_BAG, &o), "tuple->other fails");
    CHECK(!cast(S("x"), DQL_T_TUPLE, &o) && !cast(S("x"), DQL_T_MAP, &o), "atom->container fails");
    CHECK(cast(dql_int(3), DQL_T_ANY, &o) && o.type == DQL_T_INT, "cast to any keeps");
    CHECK(cast(dql_int(3), DQL_T_DOUBLE, &o) && o.type == DQL_T_DOUBLE && o.u.d == 3.0, "int->double");
    CHECK(cast(dql_long(INT64_MIN), DQL_T_CHARARRAY, &o) && strcmp(fmt(o), "-9223372036854775808") == 0,
          "long->chararray");
}

/* ------------------------------------------------- fast text rendering */

/* The IPv6 text as value.c wrote it before its zero-run table (RFC 5952:
 * the longest run of two or more zero groups, the first on a tie; v4-mapped
 * as ::ffff:a.b.c.d; ::a.b.c.d is not used). */
static void ref_ip6(char *b, const uint8_t *ip)
{
    static const uint8_t mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };
    if (memcmp(ip, mapped, 12) == 0) {
        sprintf(b, "::ffff:%u.%u.%u.%u", ip[12], ip[13], ip[14], ip[15]);
        return;
    }
    unsigned g[8];
    for (int i = 0; i < 8; i++)
        g[i] = (unsigned)ip[2 * i] << 8 | ip[2 * i + 1];
    int best = -1, bestlen = 1;
    for (int i = 0; i < 8;) {
        if (g[i]) { i++; continue; }
        int j = i;
        while (j < 8 && !g[j]) j++;
        if (j - i > bestlen) { best = i; bestlen = j - i; }
        i = j;
    }
    size_t k = 0;
    for (int i = 0; i < 8; i++) {
        if (i == best) { b[k++] = ':'; b[k++] = ':'; i += bestlen - 1; continue; }
        if (i && i != best + bestlen) b[k++] = ':';
        k += (size_t)sprintf(b + k, "%x", g[i]);
    }
    b[k] = 0;
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/* TSV escaping, one byte at a time. */
static void ref_tsv(dql_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\t') dql_buf_put(b, "\\t", 2);
        else if (c == '\n') dql_buf_put(b, "\\n", 2);
        else if (c == '\r') dql_buf_put(b, "\\r", 2);
        else if (c == '\\') dql_buf_put(b, "\\\\", 2);
        else dql_buf_putc(b, c);
    }
}

static void test_fast_format(void)
{
    /* integers against printf: every value to 100000, the edges of each
     * digit count, random values of every magnitude */
    int bad = 0;
    char want[64];
    dql_buf b = {0};
    for (int64_t i = -1000; i <= 100000; i++) {
        b.len = 0;
        dql_value_format(&b, dql_long(i));
        snprintf(want, sizeof want, "%lld", (long long)i);
        bad += b.len != strlen(want) || memcmp(b.p, want, b.len) != 0;
    }
    int64_t edge[] = { INT64_MIN, INT64_MIN + 1, INT64_MAX, INT64_MAX - 1, INT32_MIN, INT32_MAX,
                       (int64_t)UINT32_MAX, (int64_t)UINT32_MAX + 1 };
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        b.len = 0;
        dql_value_format(&b, dql_long(edge[i]));
        snprintf(want, sizeof want, "%lld", (long long)edge[i]);
        bad += b.len != strlen(want) || memcmp(b.p, want, b.len) != 0;
    }
    for (uint64_t p = 1, k = 0; k < 19; k++, p *= 10)
        for (int64_t d = -1; d <= 1; d++)
            for (int sg = -1; sg <= 1; sg += 2) {
                int64_t v = sg * (int64_t)(p + (uint64_t)d);
                b.len = 0;
                dql_value_format(&b, dql_long(v));
                snprintf(want, sizeof want, "%lld", (long long)v);
                bad += b.len != strlen(want) || memcmp(b.p, want, b.len) != 0;
            }
    for (int i = 0; i < 200000; i++) {
        int64_t v = (int64_t)(rnd() >> (rnd() % 64));
        if (i & 1) v = -v;
        b.len = 0;
        dql_value_format(&b, i & 2 ? dql_long(v) : dql_int((int32_t)v));
        snprintf(want, sizeof want, "%lld", (long long)(i & 2 ? v : (int32_t)v));
        bad += b.len != strlen(want) || memcmp(b.p, want, b.len) != 0;
    }
    CHECK(bad == 0, "integers as printf writes them (%d differ)", bad);

    /* IPv4: every octet value in every place */
    bad = 0;
    for (int pos = 0; pos < 4; pos++)
        for (int x = 0; x < 256; x++) {
            uint8_t ip[4] = { 10, 200, 3, 45 };
            ip[pos] = (uint8_t)x;
            b.len = 0;
            dql_ip_format(&b, ip, 4);
            snprintf(want, sizeof want, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
            bad += b.len != strlen(want) || memcmp(b.p, want, b.len) != 0;
        }
    CHECK(bad == 0, "IPv4 text (%d differ)", bad);

    /* IPv6: every set of zero groups, with groups of 1 to 4 hex digits,
     * against the reference; against inet_ntop where glibc does not use its
     * ::a.b.c.d form (groups 0-5 zero, then not ::1 and not ::) */
    static const unsigned vals[] = { 1, 0xf, 0x10, 0xab, 0x100, 0xfff, 0x1000, 0xffff, 0x0db8, 0x2001 };
    int bad_ref = 0, bad_ntop = 0, nntop = 0;
    for (unsigned z = 0; z < 256; z++)
        for (size_t v = 0; v < sizeof vals / sizeof vals[0]; v++) {
            uint8_t ip[16];
            for (int i = 0; i < 8; i++) {
                unsigned g = (z >> i & 1) ? 0 : vals[(v + (size_t)i * 3) % (sizeof vals / sizeof vals[0])];
                ip[2 * i] = (uint8_t)(g >> 8);
                ip[2 * i + 1] = (uint8_t)g;
            }
            for (int mapped = 0; mapped < 2; mapped++) {
                if (mapped) {      /* 0:0:0:0:0:ffff:x:y */
                    memset(ip, 0, 10);
                    ip[10] = ip[11] = 0xff;
                }
                char r[64], n6[64];
                ref_ip6(r, ip);
                b.len = 0;
                dql_ip_format(&b, ip, 16);
                bad_ref += b.len != strlen(r) || memcmp(b.p, r, b.len) != 0;
                bool compat = !mapped && (z & 0x3f) == 0x3f && z != 0xff && !(z == 0x7f && ip[15] == 1 && ip[14] == 0);
                if (!compat && inet_ntop(AF_INET6, ip, n6, sizeof n6)) {
                    nntop++;
                    bad_ntop += b.len != strlen(n6) || memcmp(b.p, n6, b.len) != 0;
                }
            }
        }
    for (int i = 0; i < 100000; i++) {
        uint8_t ip[16];
        for (int k = 0; k < 8; k++) {
            unsigned g = rnd() % 3 ? 0 : (unsigned)(rnd() >> (48 + rnd() % 16));
            ip[2 * k] = (uint8_t)(g >> 8);
            ip[2 * k + 1] = (uint8_t)g;
        }
        char r[64];
        ref_ip6(r, ip);
        b.len = 0;
        dql_ip_format(&b, ip, 16);
        bad_ref += b.len != strlen(r) || memcmp(b.p, r, b.len) != 0;
    }
    CHECK(bad_ref == 0, "IPv6 text as before (%d differ)", bad_ref);
    CHECK(bad_ntop == 0 && nntop > 2000, "IPv6 text as inet_ntop (%d of %d differ)", bad_ntop, nntop);

    /* datetimes against gmtime_r: µs, ms and whole seconds, the same second
     * again (the cached text), before 1970 */
    bad = 0;
    int64_t prev = 0;
    for (int i = 0; i < 300000; i++) {
        int64_t us;
        switch (i % 4) {
        case 0: us = (int64_t)(rnd() % 253402300800000000ull) - 62135596800000000LL; break;
        case 1: us = prev + (int64_t)(rnd() % 3); break;                       /* same second mostly */
        case 2: us = prev - prev % 1000000 + (int64_t)(rnd() % 1000) * 1000; break;
        default: us = (prev / 1000000) * 1000000 + (i % 8 ? 1000000 : -1000000); break;
        }
        prev = us;
        int64_t secs = us / 1000000, f = us % 1000000;
        if (f < 0) { f += 1000000; secs--; }
        time_t tt = (time_t)secs;
        struct tm tm;
        gmtime_r(&tt, &tm);
        int k = snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        if (f % 1000 == 0 && f) k += snprintf(want + k, sizeof want - (size_t)k, ".%03d", (int)(f / 1000));
        else if (f) k += snprintf(want + k, sizeof want - (size_t)k, ".%06d", (int)f);
        snprintf(want + k, sizeof want - (size_t)k, "Z");
        b.len = 0;
        dql_datetime_format(&b, us);
        bad += b.len != strlen(want) || memcmp(b.p, want, b.len) != 0;
    }
    CHECK(bad == 0, "datetimes as gmtime_r (%d differ)", bad);

    /* TSV: strings of every length to 80 with bytes to escape anywhere, at
     * every alignment, against the byte-at-a-time escaping */
    static const char alpha[] = "ab\t\n\r\\z.\xc3\xa9";
    char s[128];
    int bad_plain = 0, bad_tsv = 0, bad_cell = 0;
    dql_buf r = {0};
    for (int i = 0; i < 100000; i++) {
        size_t n = (size_t)(rnd() % 81), off = (size_t)(rnd() % 16);
        int density = (int)(rnd() % 4);
        for (size_t k = 0; k < n; k++)
            s[off + k] = density == 0 || rnd() % (8u << density) ? (char)('a' + rnd() % 26)
                                                                : alpha[rnd() % (sizeof alpha - 1)];
        const char *x = s + off;
        size_t plain = 0;
        while (plain < n && x[plain] != '\t' && x[plain] != '\n' && x[plain] != '\r' && x[plain] != '\\')
            plain++;
        bad_plain += dql_tsv_plain(x, n) != plain;
        r.len = 0;
        ref_tsv(&r, x, n);
        b.len = 3;                       /* after some text already there */
        if (!b.p) dql_buf_put(&b, "abc", 3);
        memcpy(b.p, "abc", 3);
        dql_buf_tsv(&b, x, n);
        bad_tsv += b.len != r.len + 3 || memcmp(b.p, "abc", 3) || memcmp(b.p + 3, r.p ? r.p : "", r.len);
        b.len = 0;
        dql_value_format_tsv(&b, dql_chararray(x, n));
        bad_cell += b.len != r.len || memcmp(b.p ? b.p : "", r.p ? r.p : "", r.len);
    }
    CHECK(bad_plain == 0, "dql_tsv_plain (%d differ)", bad_plain);
    CHECK(bad_tsv == 0, "dql_buf_tsv (%d differ)", bad_tsv);
    CHECK(bad_cell == 0, "a string as a TSV cell (%d differ)", bad_cell);

    /* a container as a TSV cell is its DUMP text escaped; a row is its cells
     * joined by tabs, nulls as the null text */
    dql_tuple *t1 = dql_tuple_new(&A, 6), *t2 = dql_tuple_new(&A, 3);
    t1->v[0] = D("a\\.b.example");
    t1->v[1] = dql_long(-60);
    t1->v[2] = S("TXT");
    t1->v[3] = S("\"tab\there\" \"new\nline\\\"");
    t1->v[5] = P(DQL_T_IP, "2001:db8::1");
    t2->v[0] = dql_datetime(1700000000123000LL);
    t2->v[1] = dql_bool(true);
    t2->v[2] = (dql_value){ .type = DQL_T_TUPLE, .u.t = t1 };
    dql_bag *bg = dql_bag_new(&A, 2);
    bg->t[0] = t1;
    bg->t[1] = t2;
    dql_map *m = dql_map_new(&A, 1);
    m->k[0] = S("k\tk");
    m->v[0] = (dql_value){ .type = DQL_T_BAG, .u.b = bg };
    dql_value cells[] = { (dql_value){ .type = DQL_T_BAG, .u.b = bg }, (dql_value){ .type = DQL_T_TUPLE, .u.t = t2 },
                          (dql_value){ .type = DQL_T_MAP, .u.m = m }, P(DQL_T_CIDR, "10.1.0.0/16"), dql_double(0.1),
                          dql_int(-7), dql_null(), S(""), D("x.example") };
    bad = 0;
    dql_buf row = {0}, f = {0};
    int nc = (int)(sizeof cells / sizeof cells[0]);
    for (int i = 0; i < nc; i++) {
        if (i) dql_buf_putc(&row, '\t');
        if (cells[i].type == DQL_T_NULL) { dql_buf_put(&row, "\\N", 2); continue; }
        f.len = 0;
        dql_value_format(&f, cells[i]);
        size_t at = row.len;
        ref_tsv(&row, f.p ? f.p : "", f.len);
        b.len = 0;
        dql_value_format_tsv(&b, cells[i]);
        bad += b.len != row.len - at || memcmp(b.p ? b.p : "", row.p + at, b.len);
    }
    dql_buf_putc(&row, '\n');
    CHECK(bad == 0, "containers and atoms as TSV cells (%d differ)", bad);
    b.len = 0;
    dql_row_format_tsv(&b, cells, nc, "\\N", 2);
    CHECK(b.len == row.len && memcmp(b.p, row.p, b.len) == 0, "a TSV row: %.*s", (int)b.len, b.p);
    dql_buf_free(&row);
    dql_buf_free(&f);
    dql_buf_free(&r);
    dql_buf_free(&b);
}

int main(void)
{
    dql_arena_init(&A);
    test_status();
    test_arena();
    test_buf();
    test_size_duration();
    test_schema();
    test_types();
    test_containers();
    test_order();
    test_format();
    test_ip();
    test_datetime();
    test_fast_format();
    test_domain();
    test_domain_random();
    test_parse();
    test_cast();
    dql_arena_free(&A);
    printf("%d passed, %d failed\n", npass, nfail);
    return nfail ? 1 : 0;
}
