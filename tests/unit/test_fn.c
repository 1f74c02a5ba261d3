/* test_fn.c — unit tests of the builtin functions (src/func.c, src/fn_*.c),
 * calling each through dql_func_find(...)->fn with an arena and a zeroed
 * dql_exec. Prints only "N passed, M failed" (and a line per failure);
 * exits non-zero on failure.
 *
 * Build: gcc -std=gnu11 -Isrc tests/unit/test_fn.c src/func.c src/fn_*.c
 *        src/value.c src/util.c $(pkg-config --libs libpsl) -lm */
#include "exec.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------- harness */

static int passed, failed;
static dql_arena arena;
static dql_exec ex;

/* Warnings are counted by the real dql_exec_warn (session.c) in ex;
 * nwarn is their number since the last adjustment. */
static int nwarn_adj;
static int warn_total(void)
{
    int n = 0;
    for (int i = 0; i < ex.nwarns; i++) n += (int)ex.warns[i].count;
    return n;
}
#define nwarn (warn_total() - nwarn_adj)

#define CHECK(cond, ...) do { \
    if (cond) passed++; \
    else { failed++; printf("%s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } \
} while (0)

static dql_value S(const char *s) { return dql_chararray(s, strlen(s)); }
static dql_value B(const char *s) { return dql_str(DQL_T_BYTEARRAY, s, strlen(s)); }
static dql_value D(const char *s) { return dql_str(DQL_T_DOMAIN, s, strlen(s)); }
static dql_value N(void) { return dql_null(); }
static dql_value I(int32_t i) { return dql_int(i); }
static dql_value L(int64_t i) { return dql_long(i); }
static dql_value F(double d) { return dql_double(d); }

static dql_value IPV(const char *s)
{
    uint8_t a[16]; int len;
    if (!dql_ip_parse(s, strlen(s), a, &len)) { printf("bad ip in test: %s\n", s); exit(2); }
    return dql_ip_make(&arena, a, len);
}

/* A bag of one-field tuples. */
static dql_value BAG(int n, ...)
{
    va_list ap;
    va_start(ap, n);
    dql_bag *b = dql_bag_new(&arena, (uint64_t)n);
    for (int i = 0; i < n; i++) {
        dql_tuple *t = dql_tuple_new(&arena, 1);
        t->v[0] = va_arg(ap, dql_value);
        b->t[i] = t;
    }
    va_end(ap);
    dql_value v = {0};
    v.type = DQL_T_BAG;
    v.u.b = b;
    return v;
}

/* A bag of two-field tuples (name, n). */
static dql_value BAG2(int n, const char **names, const int *vals)
{
    dql_bag *b = dql_bag_new(&arena, (uint64_t)n);
    for (int i = 0; i < n; i++) {
        dql_tuple *t = dql_tuple_new(&arena, 2);
        t->v[0] = S(names[i]);
        t->v[1] = vals[i] < 0 ? N() : I(vals[i]);
        b->t[i] = t;
    }
    dql_value v = {0};
    v.type = DQL_T_BAG;
    v.u.b = b;
    return v;
}

/* Calls a builtin with prepare() run as the planner would (every argument
 * constant), so regex and cidr constants take the compiled path too. */
static dql_value callv(const char *name, int argc, const dql_value *argv, bool prep)
{
    const dql_func_def *f = dql_func_find(name);
    if (!f) { printf("no function %s\n", name); exit(2); }
    if (argc < f->min_args || (f->max_args >= 0 && argc > f->max_args)) {
        printf("%s: bad argument count %d\n", name, argc);
        exit(2);
    }
    dql_fnctx cx = { &arena, &ex, NULL };
    bool consts[16];
    for (int i = 0; i < 16; i++) consts[i] = true;
    if (prep && f->prepare) {
        char err[256];
        if (f->prepare(argc, argv, consts, &cx.state, err, sizeof err) != DQL_OK) {
            printf("%s: prepare failed: %s\n", name, err);
            exit(2);
        }
    }
    dql_value out;
    dql_status st = f->fn(&cx, argc, argv, &out);
    if (st != DQL_OK) { printf("%s: status %d\n", name, st); exit(2); }
    if (f->cleanup) f->cleanup(cx.state);
    return out;
}

/* Calls name twice (without and with prepare) and checks both agree on
 * the rendered result; returns the first. */
static dql_value call(const char *name, int argc, ...)
{
    dql_value argv[16];
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++) argv[i] = va_arg(ap, dql_value);
    va_end(ap);
    dql_value a = callv(name, argc, argv, false);
    int w = nwarn;
    dql_value b = callv(name, argc, argv, true);
    nwarn_adj = warn_total() - w;
    CHECK(a.type == b.type && dql_value_cmp(a, b) == 0, "%s: prepared and unprepared calls differ", name);
    return a;
}

static char *render(dql_value v)
{
    if (dql_is_null(v)) return dql_arena_strndup(&arena, "<null>", 6);
    dql_buf b = {0};
    dql_value_format(&b, v);
    char *s = dql_arena_strndup(&arena, b.p ? b.p : "", b.len);
    dql_buf_free(&b);
    return s;
}

static void is_str_t(int line, dql_value v, dql_type t, const char *want)
{
    bool ok = v.type == t && v.len == strlen(want) && memcmp(v.u.s, want, v.len) == 0;
    if (ok) passed++;
    else { failed++; printf("%s:%d: got %s '%s', want %s '%s'\n", __FILE__, line, dql_type_name((dql_type)v.type), render(v), dql_type_name(t), want); }
}
#define IS_STR(v, want) is_str_t(__LINE__, (v), DQL_T_CHARARRAY, (want))
#define IS_DOM(v, want) is_str_t(__LINE__, (v), DQL_T_DOMAIN, (want))
#define IS_NULL(v) do { dql_value v_ = (v); CHECK(dql_is_null(v_), "want null, got %s", render(v_)); } while (0)
#define IS_LONG(v, want) do { dql_value v_ = (v); CHECK(v_.type == DQL_T_LONG && v_.u.i == (want), "want long %lld, got %s %s", (long long)(want), dql_type_name((dql_type)v_.type), render(v_)); } while (0)
#define IS_INT(v, want) do { dql_value v_ = (v); CHECK(v_.type == DQL_T_INT && v_.u.i == (want), "want int %lld, got %s %s", (long long)(want), dql_type_name((dql_type)v_.type), render(v_)); } while (0)
#define IS_DBL(v, want) do { dql_value v_ = (v); CHECK(v_.type == DQL_T_DOUBLE && fabs(v_.u.d - (want)) < 1e-9, "want double %g, got %s %s", (double)(want), dql_type_name((dql_type)v_.type), render(v_)); } while (0)
#define IS_BOOL(v, want) do { dql_value v_ = (v); CHECK(v_.type == DQL_T_BOOL && v_.u.i == (want), "want %s, got %s", (want) ? "true" : "false", render(v_)); } while (0)
#define RENDERS(v, want) do { dql_value v_ = (v); const char *r_ = render(v_); CHECK(strcmp(r_, (want)) == 0, "want %s, got %s", (want), r_); } while (0)
#define WARNS(expr) do { int w_ = nwarn; expr; CHECK(nwarn > w_, "expected a warning from %s", #expr); } while (0)

/* ------------------------------------------------------------ tests */

static void test_registry(void)
{
    CHECK(dql_func_find("lower") == dql_func_find("LOWER") && dql_func_find("LOWER"), "case-insensitive lookup");
    CHECK(dql_func_find("BagToString") && dql_func_find("ToDate") && dql_func_find("GetYear"), "Pig names");
    CHECK(dql_func_find("NO_SUCH_FN") == NULL, "unknown name");
    size_t n = 0;
    const dql_func_def *prev = NULL;
    for (const dql_func_def *f; (f = dql_func_at(n)); n++) {
        CHECK(f->category && f->syntax && f->summary && *f->summary, "%s documented", f->name);
        CHECK(f->fn != NULL, "%s has fn", f->name);
        if (prev) {
            int c = strcmp(prev->category, f->category);
            CHECK(c < 0 || (c == 0 && strcasecmp(prev->name, f->name) < 0), "order/duplicate at %s", f->name);
        }
        prev = f;
        CHECK(dql_func_find(f->name) == f, "find %s", f->name);
    }
    CHECK(n > 60, "only %zu functions", n);
}

static void test_strings(void)
{
    IS_STR(call("LOWER", 1, S("WwW.Example.COM")), "www.example.com");
    IS_NULL(call("LOWER", 1, N()));
    dql_value in = S("already lower");
    dql_value r = call("LOWER", 1, in);
    CHECK(r.u.s == in.u.s, "LOWER does not copy unchanged input");
    IS_STR(call("UPPER", 1, S("abc")), "ABC");
    IS_STR(call("UCFIRST", 1, S("hello")), "Hello");
    IS_STR(call("TRIM", 1, S("  a b \t")), "a b");
    IS_STR(call("LTRIM", 1, S("  a ")), "a ");
    IS_STR(call("RTRIM", 1, S("  a ")), "  a");
    r = call("TRIM", 1, in);
    CHECK(r.u.s == in.u.s, "TRIM points into its input");

    IS_STR(call("SUBSTRING", 3, S("hello"), I(1), I(3)), "el");
    IS_STR(call("SUBSTRING", 3, S("hello"), I(3), I(100)), "lo");
    IS_STR(call("SUBSTRING", 3, S("hello"), I(-2), I(2)), "he");
    IS_STR(call("SUBSTRING", 3, S("hello"), I(4), I(2)), "");
    IS_STR(call("SUBSTRING", 3, S("hello"), I(10), I(20)), "");
    IS_STR(call("SUBSTRING", 3, S("h\xc3\xa9llo"), I(1), I(3)), "\xc3\xa9l");
    IS_STR(call("SUBSTRING", 2, S("hello"), L(2)), "llo");
    IS_NULL(call("SUBSTRING", 3, S("hello"), N(), I(2)));

    IS_STR(call("CONCAT", 3, S("a"), S("b"), S("c")), "abc");
    IS_STR(call("CONCAT", 2, S("n="), I(42)), "n=42");
    IS_NULL(call("CONCAT", 2, S("a"), N()));

    IS_STR(call("REPLACE", 3, S("a.b.c"), S("\\."), S("-")), "a-b-c");
    IS_STR(call("REPLACE", 3, S("john smith"), S("([a-z]+) ([a-z]+)"), S("\\2, \\1")), "smith, john");
    IS_STR(call("REPLACE", 3, S("abc"), S("x*"), S("-")), "-a-b-c-");
    IS_STR(call("REPLACE", 3, S("abc"), S("z"), S("-")), "abc");
    IS_NULL(call("REPLACE", 3, N(), S("a"), S("b")));
    int w = nwarn;
    IS_NULL(callv("REPLACE", 3, (dql_value[]){ S("abc"), S("(unclosed"), S("x") }, false));
    CHECK(nwarn == w + 1, "invalid non-constant regex warns");

    IS_STR(call("REGEX_EXTRACT", 3, S("192.168.1.5:53"), S("(.*):(.*)"), I(2)), "53");
    IS_STR(call("REGEX_EXTRACT", 3, S("xx abc123 yy"), S("[a-z]+([0-9]+)"), I(0)), "abc123");
    IS_NULL(call("REGEX_EXTRACT", 3, S("abc"), S("([0-9]+)"), I(1)));
    WARNS(callv("REGEX_EXTRACT", 3, (dql_value[]){ S("abc"), S("(a)"), I(5) }, false));
    RENDERS(call("REGEX_EXTRACT_ALL", 2, S("192.168.1.5:53"), S("(.*):(.*)")), "(192.168.1.5,53)");
    IS_NULL(call("REGEX_EXTRACT_ALL", 2, S("x192.168.1.5:53"), S("([0-9.]+):([0-9]+)")));

    RENDERS(call("STRSPLIT", 2, S("a,b,,c,,"), S(",")), "(a,b,,c)");
    RENDERS(call("STRSPLIT", 3, S("a,b,,c,,"), S(","), I(-1)), "(a,b,,c,,)");
    RENDERS(call("STRSPLIT", 3, S("a,b,c"), S(","), I(2)), "(a,b,c)");
    dql_value sp = call("STRSPLIT", 3, S("a,b,c"), S(","), I(2));
    CHECK(sp.type == DQL_T_TUPLE && sp.u.t->n == 2, "STRSPLIT limit 2 gives 2 fields");
    dql_value sp1 = call("STRSPLIT", 2, S("abc"), S(","));
    CHECK(sp1.type == DQL_T_TUPLE && sp1.u.t->n == 1, "STRSPLIT without match gives 1 field");
    RENDERS(call("STRSPLIT", 2, S("a1b22c"), S("[0-9]+")), "(a,b,c)");

    dql_value tk = call("TOKENIZE", 1, S("  hello, world (x*y) \"q\""));
    CHECK(tk.type == DQL_T_BAG && tk.u.b->n == 5, "TOKENIZE count");
    RENDERS(tk, "{(hello),(world),(x),(y),(q)}");
    RENDERS(call("TOKENIZE", 2, S("a;b;;c"), S(";")), "{(a),(b),(c)}");
    dql_value tk0 = call("TOKENIZE", 1, S(" , "));
    CHECK(tk0.type == DQL_T_BAG && tk0.u.b->n == 0, "TOKENIZE of delimiters only is empty");
    IS_NULL(call("TOKENIZE", 1, N()));

    IS_LONG(call("SIZE", 1, S("h\xc3\xa9llo \xe2\x82\xac")), 7);
    IS_LONG(call("SIZE", 1, B("h\xc3\xa9llo")), 6);
    IS_LONG(call("SIZE", 1, BAG(3, I(1), N(), I(3))), 3);
    IS_LONG(call("SIZE", 1, I(12345)), 1);
    IS_NULL(call("SIZE", 1, N()));
    IS_LONG(call("LENGTH", 1, S("\xc3\xa9t\xc3\xa9")), 3);

    IS_INT(call("INDEXOF", 2, S("hello"), S("l")), 2);
    IS_INT(call("INDEXOF", 3, S("hello"), S("l"), I(3)), 3);
    IS_INT(call("INDEXOF", 2, S("hello"), S("z")), -1);
    IS_INT(call("INDEXOF", 2, S("\xc3\xa9tude"), S("t")), 1);
    IS_INT(call("LAST_INDEX_OF", 2, S("hello"), S("l")), 3);
    IS_INT(call("LAST_INDEX_OF", 2, S("hello"), S("x")), -1);
    IS_BOOL(call("STARTSWITH", 2, S("hello"), S("he")), true);
    IS_BOOL(call("STARTSWITH", 2, S("he"), S("hello")), false);
    IS_BOOL(call("ENDSWITH", 2, S("hello"), S("llo")), true);
    IS_NULL(call("ENDSWITH", 2, S("hello"), N()));

    IS_STR(call("SPRINTF", 4, S("%s has %d names (%.1f%%)"), S("org"), L(12), F(3.14159)), "org has 12 names (3.1%)");
    IS_STR(call("SPRINTF", 2, S("%04x"), I(255)), "00ff");
    IS_STR(call("SPRINTF", 2, S("[%5s]"), S("ab")), "[   ab]");
    IS_NULL(call("SPRINTF", 2, S("%s"), N()));
    WARNS(callv("SPRINTF", 1, (dql_value[]){ S("%d") }, false));

    IS_DBL(call("ENTROPY", 1, S("aaaa")), 0.0);
    IS_DBL(call("ENTROPY", 1, S("ab")), 1.0);
    IS_DBL(call("ENTROPY", 1, S("abcd")), 2.0);
    IS_NULL(call("ENTROPY", 1, N()));
}

static void test_math(void)
{
    IS_INT(call("ABS", 1, I(-3)), 3);
    IS_LONG(call("ABS", 1, L(-3)), 3);
    IS_DBL(call("ABS", 1, F(-2.5)), 2.5);
    IS_DBL(call("ABS", 1, B("-2.5")), 2.5);
    IS_NULL(call("ABS", 1, N()));
    IS_LONG(call("ROUND", 1, F(2.5)), 3);
    IS_LONG(call("ROUND", 1, F(-2.5)), -2);
    IS_LONG(call("ROUND", 1, F(2.4)), 2);
    IS_LONG(call("ROUND", 1, I(7)), 7);
    IS_DBL(call("ROUND", 2, F(3.14159), I(2)), 3.14);
    IS_DBL(call("ROUND", 2, F(1234.5), I(-2)), 1200.0);
    IS_DBL(call("FLOOR", 1, F(-1.5)), -2.0);
    IS_INT(call("FLOOR", 1, I(4)), 4);
    IS_DBL(call("CEIL", 1, F(1.2)), 2.0);
    IS_DBL(call("LOG", 1, F(M_E)), 1.0);
    IS_DBL(call("LOG10", 1, I(1000)), 3.0);
    IS_DBL(call("EXP", 1, I(0)), 1.0);
    IS_DBL(call("SQRT", 1, I(16)), 4.0);
    IS_DBL(call("POW", 2, I(2), I(10)), 1024.0);
    WARNS(IS_NULL(call("LOG", 1, I(-1))));
    WARNS(IS_NULL(call("SQRT", 1, F(-4))));
    IS_NULL(call("POW", 2, N(), I(2)));
    dql_value r1 = callv("RANDOM", 0, NULL, false), r2 = callv("RANDOM", 0, NULL, false);
    CHECK(r1.type == DQL_T_DOUBLE && r1.u.d >= 0 && r1.u.d < 1 && r1.u.d != r2.u.d, "RANDOM");
}

static void test_aggregates(void)
{
    dql_value b = BAG(5, I(3), N(), I(1), I(7), N());
    IS_LONG(call("COUNT", 1, b), 3);
    IS_LONG(call("COUNT_STAR", 1, b), 5);
    IS_LONG(call("SUM", 1, b), 11);
    IS_DBL(call("AVG", 1, b), 11.0 / 3);
    IS_INT(call("MIN", 1, b), 1);
    IS_INT(call("MAX", 1, b), 7);
    IS_DBL(call("SUM", 1, BAG(2, F(1.5), I(2))), 3.5);
    IS_DBL(call("SUM", 1, BAG(2, B("1.5"), B("2"))), 3.5);

    dql_value nb = N();
    IS_LONG(call("COUNT", 1, nb), 0);
    IS_LONG(call("COUNT_STAR", 1, nb), 0);
    IS_NULL(call("SUM", 1, nb));
    IS_NULL(call("AVG", 1, nb));
    IS_NULL(call("MIN", 1, nb));
    IS_NULL(call("MAX", 1, nb));
    dql_value allnull = BAG(2, N(), N());
    IS_LONG(call("COUNT", 1, allnull), 0);
    IS_NULL(call("SUM", 1, allnull));
    IS_NULL(call("MAX", 1, allnull));
    dql_value empty = BAG(0);
    IS_LONG(call("COUNT", 1, empty), 0);
    IS_NULL(call("SUM", 1, empty));

    /* MIN/MAX keep their own copy of strings */
    char s1[] = "mmm", s2[] = "aaa", s3[] = "zzz";
    dql_value sb = BAG(4, S(s1), S(s2), N(), S(s3));
    dql_value mn = call("MIN", 1, sb), mx = call("MAX", 1, sb);
    IS_STR(mn, "aaa");
    IS_STR(mx, "zzz");
    CHECK(mn.u.s != s2, "MIN result is a copy");

    /* the algebraic interface with merge */
    const dql_func_def *fmax = dql_func_find("MAX");
    const dql_agg_def *ag = fmax->agg;
    CHECK(ag != NULL, "MAX is algebraic");
    void *a = calloc(1, ag->state_size), *c = calloc(1, ag->state_size);
    ag->init(a);
    ag->init(c);
    char tmp[16];
    strcpy(tmp, "bbb");
    ag->step(a, S(tmp));
    strcpy(tmp, "aaa");                 /* the row's storage is reused */
    ag->step(a, S(tmp));
    strcpy(tmp, "ccc");
    ag->step(c, S(tmp));
    strcpy(tmp, "xxx");
    ag->merge(a, c);
    dql_value res, res2;
    ag->final(a, &arena, &res);
    ag->final(c, &arena, &res2);
    IS_STR(res, "ccc");
    IS_STR(res2, "ccc");
    free(a);
    free(c);

    const dql_agg_def *sg = dql_func_find("SUM")->agg;
    void *x = calloc(1, sg->state_size), *y = calloc(1, sg->state_size);
    sg->init(x); sg->init(y);
    sg->step(x, L(10)); sg->step(y, L(5)); sg->step(y, N());
    sg->merge(x, y);
    ag = sg;
    ag->final(x, &arena, &res);
    IS_LONG(res, 15);
    free(x);
    free(y);

    IS_LONG(call("COUNT_DISTINCT", 1, BAG(6, S("a"), S("b"), S("a"), N(), S("c"), S("b"))), 3);
    IS_LONG(call("COUNT_DISTINCT", 1, N()), 0);

    const char *names[] = { "a", "b", "c", "d", "e" };
    const int vals[] = { 5, 9, -1, 7, 1 };
    dql_value tb = BAG2(5, names, vals);
    RENDERS(call("TOP", 3, I(2), I(1), tb), "{(b,9),(d,7)}");
    RENDERS(call("TOP", 3, I(10), I(1), tb), "{(b,9),(d,7),(a,5),(e,1),(c,)}");
    dql_value t0 = call("TOP", 3, I(0), I(1), tb);
    CHECK(t0.type == DQL_T_BAG && t0.u.b->n == 0, "TOP 0 is empty");
    IS_NULL(call("TOP", 3, I(2), I(1), N()));
    /* ties: the earlier tuple ranks first, whatever the heap does */
    const char *tn[] = { "a", "b", "c", "d", "e", "f", "g" };
    const int tv[] = { 7, 3, 7, 9, 7, 7, 3 };
    dql_value tt = BAG2(7, tn, tv);
    RENDERS(call("TOP", 3, I(3), I(1), tt), "{(d,9),(a,7),(c,7)}");
    RENDERS(call("TOP", 3, I(5), I(1), tt), "{(d,9),(a,7),(c,7),(e,7),(f,7)}");
    RENDERS(call("TOP", 3, I(6), I(1), tt), "{(d,9),(a,7),(c,7),(e,7),(f,7),(b,3)}");
    /* the states' heap (COUNT_DISTINCT's sets, TOP's tuples) is all given back */
    CHECK(dql_agg_heap_bytes == 0, "aggregate heap after the calls: %lld bytes", (long long)dql_agg_heap_bytes);

    RENDERS(call("BAGTOSTRING", 1, BAG(3, S("a"), S("b"), S("c"))), "a_b_c");
    RENDERS(call("BAGTOSTRING", 2, BAG2(2, names, vals), S("|")), "a|5|b|9");
    IS_NULL(call("BAGTOSTRING", 1, N()));
    IS_BOOL(call("ISEMPTY", 1, BAG(0)), true);
    IS_BOOL(call("ISEMPTY", 1, BAG(1, N())), false);
    IS_BOOL(call("ISEMPTY", 1, N()), true);
}

static void test_domains(void)
{
    IS_STR(call("TLD", 1, D("www.example.com")), "com");
    IS_STR(call("TLD", 1, S("WWW.Example.COM.")), "com");
    IS_NULL(call("TLD", 1, D(".")));
    IS_NULL(call("TLD", 1, S("")));
    IS_NULL(call("TLD", 1, N()));
    IS_DOM(call("REGISTERED_DOMAIN", 1, S("www.example.co.uk")), "example.co.uk");
    IS_DOM(call("PUBLIC_SUFFIX", 1, S("www.example.co.uk")), "co.uk");
    IS_DOM(call("REGISTERED_DOMAIN", 1, S("WWW.Example.COM.")), "example.com");
    IS_NULL(call("REGISTERED_DOMAIN", 1, D("co.uk")));
    IS_DOM(call("PUBLIC_SUFFIX", 1, D("co.uk")), "co.uk");
    IS_NULL(call("REGISTERED_DOMAIN", 1, D(".")));
    IS_NULL(call("PUBLIC_SUFFIX", 1, N()));

    IS_INT(call("LABELS", 1, D("www.example.com")), 3);
    IS_INT(call("LABELS", 1, S("www.example.com.")), 3);
    IS_INT(call("LABELS", 1, D(".")), 0);
    IS_STR(call("LABEL", 2, D("www.example.com"), I(0)), "www");
    IS_STR(call("LABEL", 2, D("www.example.com"), I(1)), "example");
    IS_STR(call("LABEL", 2, D("www.example.com"), I(-1)), "com");
    IS_STR(call("LABEL", 2, D("www.example.com"), I(-3)), "www");
    WARNS(IS_NULL(callv("LABEL", 2, (dql_value[]){ D("www.example.com"), I(3) }, false)));
    WARNS(IS_NULL(callv("LABEL", 2, (dql_value[]){ D("www.example.com"), I(-4) }, false)));

    IS_BOOL(call("SUBDOMAIN_OF", 2, D("www.example.com"), D("example.com")), true);
    IS_BOOL(call("SUBDOMAIN_OF", 2, D("example.com"), D("example.com")), true);
    IS_BOOL(call("SUBDOMAIN_OF", 2, D("xexample.com"), D("example.com")), false);
    IS_BOOL(call("SUBDOMAIN_OF", 2, D("example.com"), D("www.example.com")), false);
    IS_BOOL(call("SUBDOMAIN_OF", 2, S("WWW.EXAMPLE.COM."), S("Example.Com")), true);
    IS_BOOL(call("SUBDOMAIN_OF", 2, D("a.b.example.com"), S("example.com.")), true);
    IS_BOOL(call("SUBDOMAIN_OF", 2, D("example.com"), D(".")), true);
    IS_BOOL(call("SUBDOMAIN_OF", 2, D("example.org"), D("com")), false);
    IS_NULL(call("SUBDOMAIN_OF", 2, N(), D("com")));
    IS_STR(call("REVERSE_LABELS", 1, D("www.example.com")), "com.example.www");
    IS_STR(call("REVERSE_LABELS", 1, D("com")), "com");
}

static void test_net(void)
{
    IS_INT(call("IP_VERSION", 1, IPV("192.0.2.1")), 4);
    IS_INT(call("IP_VERSION", 1, S("2001:db8::1")), 6);
    IS_NULL(call("IP_VERSION", 1, S("not an ip")));
    IS_NULL(call("IP_VERSION", 1, N()));
    IS_BOOL(call("IN_CIDR", 2, IPV("10.1.2.3"), S("10.0.0.0/8")), true);
    IS_BOOL(call("IN_CIDR", 2, S("11.1.2.3"), S("10.0.0.0/8")), false);
    IS_BOOL(call("IN_CIDR", 2, IPV("::ffff:10.1.2.3"), S("10.0.0.0/8")), true);
    IS_BOOL(call("IN_CIDR", 2, IPV("::ffff:11.1.2.3"), S("10.0.0.0/8")), false);
    IS_BOOL(call("IN_CIDR", 2, IPV("10.1.2.3"), S("::ffff:10.0.0.0/104")), true);
    IS_BOOL(call("IN_CIDR", 2, IPV("2001:db8::1"), S("2001:db8::/32")), true);
    IS_BOOL(call("IN_CIDR", 2, IPV("2001:db9::1"), S("2001:db8::/32")), false);
    IS_BOOL(call("IN_CIDR", 2, IPV("192.168.1.130"), S("192.168.1.128/25")), true);
    IS_BOOL(call("IN_CIDR", 2, IPV("192.168.1.127"), S("192.168.1.128/25")), false);
    IS_BOOL(call("IN_CIDR", 2, IPV("1.2.3.4"), S("0.0.0.0/0")), true);
    IS_BOOL(call("IN_CIDR", 2, IPV("2001:db8::1"), S("10.0.0.0/8")), false);
    IS_NULL(call("IN_CIDR", 2, N(), S("10.0.0.0/8")));
    WARNS(IS_NULL(callv("IN_CIDR", 2, (dql_value[]){ IPV("10.1.2.3"), S("10.0.0.0/33") }, false)));
    IS_DOM(call("REVERSE_NAME", 1, IPV("192.0.2.1")), "1.2.0.192.in-addr.arpa");
    IS_DOM(call("REVERSE_NAME", 1, S("2001:db8::567:89ab")),
           "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
    IS_NULL(call("REVERSE_NAME", 1, N()));
    RENDERS(call("IP", 1, S("192.0.2.1")), "192.0.2.1");
    RENDERS(call("CIDR", 1, S("10.1.2.3/8")), "10.0.0.0/8");
    WARNS(IS_NULL(callv("IP", 1, (dql_value[]){ S("300.1.1.1") }, false)));
}

static void test_time(void)
{
    dql_value d = call("TO_DATE", 1, S("2024-03-05T06:07:08Z"));
    CHECK(d.type == DQL_T_DATETIME, "TO_DATE gives a datetime");
    IS_LONG(call("TO_UNIX", 1, d), 1709618828);
    IS_INT(call("GET_YEAR", 1, d), 2024);
    IS_INT(call("GET_MONTH", 1, d), 3);
    IS_INT(call("GET_DAY", 1, d), 5);
    IS_INT(call("GET_HOUR", 1, d), 6);
    IS_INT(call("GETYEAR", 1, d), 2024);
    IS_INT(call("GET_YEAR", 1, dql_datetime(-1)), 1969);
    IS_INT(call("GET_MONTH", 1, dql_datetime(-1)), 12);
    IS_INT(call("GET_HOUR", 1, dql_datetime(-1)), 23);
    dql_value d2 = call("TO_DATE", 2, S("05/03/2024 06:07"), S("%d/%m/%Y %H:%M"));
    IS_LONG(call("TO_UNIX", 1, d2), 1709618820);
    dql_value d3 = call("TO_DATE", 2, S("2024-03-05 06:07:08"), S("yyyy-MM-dd HH:mm:ss"));
    IS_LONG(call("TO_UNIX", 1, d3), 1709618828);
    dql_value d4 = call("TO_DATE", 2, S("2024-03-05 08:07:08 +0200"), S("%Y-%m-%d %H:%M:%S %z"));
    IS_LONG(call("TO_UNIX", 1, d4), 1709618828);
    WARNS(IS_NULL(callv("TO_DATE", 2, (dql_value[]){ S("garbage"), S("%Y-%m-%d") }, false)));
    IS_NULL(call("TO_DATE", 1, N()));
    dql_value f = call("FROM_UNIX", 1, L(1709618828));
    CHECK(f.type == DQL_T_DATETIME && f.u.i == d.u.i, "FROM_UNIX inverts TO_UNIX");
    IS_STR(call("FORMAT_DATE", 2, d, S("%Y/%m/%d %H:%M")), "2024/03/05 06:07");
    IS_STR(call("FORMAT_DATE", 2, d, S("yyyy-MM-dd")), "2024-03-05");
    IS_LONG(call("DATE_DIFF", 2, d, call("FROM_UNIX", 1, L(1709618800))), 28);
    IS_NULL(call("DATE_DIFF", 2, d, N()));
    dql_value now = callv("NOW", 0, NULL, false);
    CHECK(now.type == DQL_T_DATETIME && now.u.i > d.u.i, "NOW");
}


/* Non-constant patterns: prepare() gets no constant, the call site caches. */
static void test_regex_cache(void)
{
    const dql_func_def *f = dql_func_find("REPLACE");
    dql_value none[3] = { N(), N(), N() };
    bool consts[3] = { false, false, false };
    char err[256];
    void *st = NULL;
    CHECK(f->prepare(3, none, consts, &st, err, sizeof err) == DQL_OK, "prepare without constants");
    dql_fnctx cx = { &arena, &ex, st };
    dql_value out;
    const char *pats[] = { "a", "a", "b", "(", "b" };
    const char *want[] = { "-bc", "-bc", "a-c", NULL, "a-c" };
    for (int i = 0; i < 5; i++) {
        dql_value argv[3] = { S("abc"), S(pats[i]), S("-") };
        int w = nwarn;
        CHECK(f->fn(&cx, 3, argv, &out) == DQL_OK, "REPLACE status");
        if (want[i]) IS_STR(out, want[i]);
        else CHECK(dql_is_null(out) && nwarn == w + 1, "bad pattern: null and a warning");
    }
    f->cleanup(st);
    bool c2[3] = { false, true, false };
    dql_value bad[3] = { N(), S("(unclosed"), N() };
    st = NULL;
    CHECK(f->prepare(3, bad, c2, &st, err, sizeof err) != DQL_OK && strstr(err, "unclosed"),
          "invalid constant regex is a check error");
    const dql_func_def *ic = dql_func_find("IN_CIDR");
    dql_value badnet[2] = { N(), S("10.0.0.0/40") };
    bool c3[2] = { false, true };
    CHECK(ic->prepare(2, badnet, c3, &st, err, sizeof err) != DQL_OK, "invalid constant cidr is a check error");
}

/* Plan-time result types. */
static void test_typecheck(void)
{
    char err[256];
    dql_schema *sub = NULL;
    dql_schema *bs = dql_schema_new(0);
    dql_schema_add(bs, "n", DQL_T_INT, NULL);
    dql_field bag = { "g", DQL_T_BAG, bs };
    dql_field num = { "x", DQL_T_INT, NULL };
    dql_field str = { "s", DQL_T_CHARARRAY, NULL };
    CHECK(dql_func_find("SUM")->typecheck(1, &bag, &sub, err, sizeof err) == DQL_T_LONG, "SUM(int) is long");
    CHECK(dql_func_find("AVG")->typecheck(1, &bag, &sub, err, sizeof err) == DQL_T_DOUBLE, "AVG is double");
    CHECK(dql_func_find("MAX")->typecheck(1, &bag, &sub, err, sizeof err) == DQL_T_INT, "MAX(int) is int");
    CHECK(dql_func_find("COUNT")->typecheck(1, &bag, &sub, err, sizeof err) == DQL_T_LONG, "COUNT is long");
    CHECK(dql_func_find("SUM")->typecheck(1, &num, &sub, err, sizeof err) == DQL_T__COUNT, "SUM(int) rejected");
    CHECK(dql_func_find("ABS")->typecheck(1, &num, &sub, err, sizeof err) == DQL_T_INT, "ABS(int) is int");
    CHECK(dql_func_find("ABS")->typecheck(1, &str, &sub, err, sizeof err) == DQL_T__COUNT, "ABS(chararray) rejected");
    dql_field two[2] = { num, num };
    CHECK(dql_func_find("ROUND")->typecheck(2, two, &sub, err, sizeof err) == DQL_T_DOUBLE, "ROUND(x, d) is double");
    sub = NULL;
    CHECK(dql_func_find("TOKENIZE")->typecheck(1, &str, &sub, err, sizeof err) == DQL_T_BAG && sub &&
          sub->n == 1 && sub->f[0].type == DQL_T_CHARARRAY, "TOKENIZE schema");
    dql_schema_free(sub);
    sub = NULL;
    dql_field top[3] = { num, num, bag };
    CHECK(dql_func_find("TOP")->typecheck(3, top, &sub, err, sizeof err) == DQL_T_BAG && sub && sub->n == 1,
          "TOP keeps the bag schema");
    dql_schema_free(sub);
    dql_schema_free(bs);
}

int main(void)
{
    dql_arena_init(&arena);
    test_registry();
    test_strings();
    test_math();
    test_aggregates();
    test_domains();
    test_net();
    test_time();
    test_regex_cache();
    test_typecheck();
    dql_arena_free(&arena);
    for (int i = 0; i < ex.nwarns; i++) { free(ex.warns[i].kind); free(ex.warns[i].first); }
    free(ex.warns);
    free(ex.errmsg);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
