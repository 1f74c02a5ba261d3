/* test_lua.c — unit test of src/lua_host.c and lua/dql.lua: REGISTER, UDF
 * calls with every value type both ways, Lua errors with file and line,
 * bad return values, the interrupt hook, and driver scripts against a
 * stubbed session (the real session lives in src/session.c).
 *
 * Build: gcc -Isrc tests/unit/test_lua.c src/lua_host.c src/value.c
 *        src/util.c lua_builtins.c $(pkg-config --cflags --libs lua5.4)
 * where lua_builtins.c comes from tools/lua2c.sh. Prints only the final
 * "N passed, M failed" line (and failures on stderr). */
#include "lua_host.h"

#include <lua.h>

#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static int passed, failed;

#define CHECK(cond, ...) do { \
        if (cond) passed++; \
        else { failed++; fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__); \
               fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } \
    } while (0)

/* ------------------------------------------------------- session stubs */

struct dql_session {
    volatile sig_atomic_t intr;
    char last_text[512];
    int nexec;
    char setk[64], setv[64];
    char paramk[64], paramv[64];
    int cursors_open, cursors_closed;
};

static lua_State *L;
static dql_exec g_ex;
static dql_arena arena;

struct dql_cursor {
    dql_schema *sc;
    int row;
    dql_value v[3];
};

volatile sig_atomic_t *dql_session_interrupt_flag(dql_session *s) { return &s->intr; }

dql_status dql_session_exec(dql_session *s, const char *file, const char *text, int flags)
{
    (void)flags;
    snprintf(s->last_text, sizeof s->last_text, "%s|%s", file, text);
    s->nexec++;
    return strcmp(text, "fail") == 0 ? DQL_ERR_RUNTIME : DQL_OK;
}

const char *dql_session_get(dql_session *s, const char *key)
{
    return strcmp(key, s->setk) == 0 ? s->setv : NULL;
}

dql_status dql_session_set(dql_session *s, const char *key, const char *value, char *err, size_t errlen)
{
    if (strcmp(key, "bad") == 0) {
        snprintf(err, errlen, "unknown setting 'bad'");
        return DQL_ERR_USAGE;
    }
    snprintf(s->setk, sizeof s->setk, "%s", key);
    snprintf(s->setv, sizeof s->setv, "%s", value);
    return DQL_OK;
}

void dql_session_param(dql_session *s, const char *name, const char *value)
{
    snprintf(s->paramk, sizeof s->paramk, "%s", name);
    snprintf(s->paramv, sizeof s->paramv, "%s", value);
}

/* Alias "a": 3 rows (name chararray, n long, an unnamed double). */
dql_status dql_session_cursor(dql_session *s, const char *alias, dql_cursor **c, char *err, size_t errlen)
{
    if (strcmp(alias, "a") != 0) {
        snprintf(err, errlen, "unknown alias '%s'", alias);
        return DQL_ERR_CHECK;
    }
    dql_cursor *cu = calloc(1, sizeof *cu);
    cu->sc = calloc(1, sizeof *cu->sc);
    cu->sc->n = 3;
    cu->sc->f = calloc(3, sizeof *cu->sc->f);
    cu->sc->f[0].name = "name";
    cu->sc->f[1].name = "n";
    cu->sc->f[2].name = NULL;
    s->cursors_open++;
    *c = cu;
    return DQL_OK;
}

const dql_schema *dql_cursor_schema(dql_cursor *c) { return c->sc; }

dql_status dql_cursor_next(dql_cursor *c, const dql_value **row)
{
    static const char *names[] = { "x.org", "y.org", "z.org" };
    if (c->row == 3)
        return DQL_EOF;
    c->v[0] = dql_chararray(names[c->row], 5);
    c->v[1] = c->row == 1 ? dql_null() : dql_long(c->row * 10);
    /* a UDF called while Lua is iterating (re-entrant use of the state) */
    dql_value args[2] = { dql_long(c->row), dql_double(0.5) };
    if (dql_lua_call(L, &g_ex, "t", "add", 2, args, &arena, &c->v[2]) != DQL_OK)
        return DQL_ERR_RUNTIME;
    c->row++;
    *row = c->v;
    return DQL_OK;
}

static dql_session *g_sess;

void dql_cursor_close(dql_cursor *c)
{
    g_sess->cursors_closed++;
    free(c->sc->f);
    free(c->sc);
    free(c);
}

static dql_status exec_errv(dql_exec *ex, dql_status st, const char *fmt, va_list ap)
{
    char buf[4096];
    vsnprintf(buf, sizeof buf, fmt, ap);
    free(ex->errmsg);
    ex->errmsg = strdup(buf);
    return st;
}

dql_status dql_exec_error(dql_exec *ex, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    dql_status st = exec_errv(ex, DQL_ERR_RUNTIME, fmt, ap);
    va_end(ap);
    return st;
}

dql_status dql_exec_error_st(dql_exec *ex, dql_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    st = exec_errv(ex, st, fmt, ap);
    va_end(ap);
    return st;
}

/* -------------------------------------------------------------- helpers */

/* A rendering of our own (independent of value.c's format): atoms tagged
 * with their type, containers in Pig notation. */
static void render(dql_buf *b, dql_value v)
{
    switch (v.type) {
    case DQL_T_NULL: dql_buf_puts(b, "null"); break;
    case DQL_T_BOOL: dql_buf_puts(b, v.u.i ? "true" : "false"); break;
    case DQL_T_INT: dql_buf_printf(b, "I%lld", (long long)v.u.i); break;
    case DQL_T_LONG: dql_buf_printf(b, "L%lld", (long long)v.u.i); break;
    case DQL_T_DOUBLE: dql_buf_printf(b, "D%g", v.u.d); break;
    case DQL_T_CHARARRAY:
        dql_buf_putc(b, '"');
        dql_buf_put(b, v.u.s, v.len);
        dql_buf_putc(b, '"');
        break;
    case DQL_T_TUPLE:
        dql_buf_putc(b, '(');
        for (uint32_t i = 0; i < v.u.t->n; i++) {
            if (i)
                dql_buf_putc(b, ',');
            render(b, v.u.t->v[i]);
        }
        dql_buf_putc(b, ')');
        break;
    case DQL_T_BAG:
        dql_buf_putc(b, '{');
        for (uint64_t i = 0; i < v.u.b->n; i++) {
            dql_value t = dql_null();
            t.type = DQL_T_TUPLE;
            t.u.t = v.u.b->t[i];
            if (i)
                dql_buf_putc(b, ',');
            render(b, t);
        }
        dql_buf_putc(b, '}');
        break;
    case DQL_T_MAP:
        dql_buf_putc(b, '[');
        for (uint32_t i = 0; i < v.u.m->n; i++) {
            if (i)
                dql_buf_putc(b, ',');
            dql_buf_put(b, v.u.m->k[i].u.s, v.u.m->k[i].len);
            dql_buf_putc(b, '#');
            render(b, v.u.m->v[i]);
        }
        dql_buf_putc(b, ']');
        break;
    default: dql_buf_printf(b, "<type %d>", v.type); break;
    }
}

static char udf_path[64], drv_path[64];

/* Calls t.fn and returns the rendered result ("ERR:<message>" on error). */
static const char *call(const char *fn, int argc, const dql_value *argv)
{
    static dql_buf b;
    dql_value out;
    b.len = 0;
    dql_status st = dql_lua_call(L, &g_ex, "t", fn, argc, argv, &arena, &out);
    if (st != DQL_OK)
        dql_buf_printf(&b, "ERR%d:%s", (int)st, g_ex.errmsg ? g_ex.errmsg : "(no message)");
    else
        render(&b, out);
    return dql_buf_cstr(&b);
}

static const char *call1(const char *fn, dql_value v) { return call(fn, 1, &v); }

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

static void make_temp(char *buf, size_t n, const char *tag)
{
    snprintf(buf, n, "/tmp/dql_test_%s_XXXXXX.lua", tag);
    int fd = mkstemps(buf, 4);
    if (fd < 0) {
        perror("mkstemps");
        exit(2);
    }
    close(fd);
}

#define EQ(got, want) do { const char *g_ = (got); \
        CHECK(strcmp(g_, (want)) == 0, "got  %s\n   want %s", g_, (want)); } while (0)

static bool starts_with(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

static dql_session *alarm_sess;
static void on_alarm(int sig) { (void)sig; alarm_sess->intr = 1; }

/* Lines referenced by the error tests: keep the file layout in sync. */
static const char *UDF_SRC =
    "-- UDFs for test_lua.c\n"                                      /* 1 */
    "function show(...) local r = {} for i = 1, select('#', ...) do\n"
    "  r[#r + 1] = dql.repr((select(i, ...))) end\n"
    "  return table.concat(r, ' ') end\n"
    "function id(x) return x end\n"                                 /* 5 */
    "function add(a, b) return a + b end\n"
    "function boom() error('boom') end\n"                           /* 7 */
    "function nilidx(t) return t.x.y end\n"                          /* 8 */
    "function retfn() return function() end end\n"
    "function retfn_nested() return {1, {print}} end\n"              /* 10 */
    "function spin() local i = 0 while true do i = i + 1 end end\n"
    "function cycle() local t = {} t[1] = t return t end\n"
    "function mkbag() return {{1, 'a'}, {2, 'b'}} end\n"
    "function mktuple() return {1, nil, 'x', n = 3} end\n"
    "function mkmap() return {b = 2, a = {1, 2}, c = {x = true}, [7] = 'seven'} end\n"
    "function nested() return {{1, {{'p'}, {'q'}}, {k = 1.5}}} end\n"
    "function holes() local t = {} t[1] = 'a' t[3] = 'c' return t end\n"
    "function empty() return {} end\n"
    "function many() return 1, 2, 3 end\n"
    "function none() end\n"                                         /* 20 */
    "function sum_bag(b) local s = 0 for _, t in ipairs(b) do s = s + t[1] end return s end\n"
    "function bad_key() return {[true] = 1} end\n"
    "function mapget(m, k) return m[k] end\n"
    "function version() return dql.version end\n"
    "function rev(s) return s:reverse() end\n"
    "local hidden = 41\n"
    "function uses_local() return hidden + 1 end\n"
    "counter = 0\n"
    "function count() counter = counter + 1 return counter end\n"
    "function deep() boom() end\n";                                /* 30 */

/* --------------------------------------------------------------- tests */

static void test_register(void)
{
    char err[512];
    make_temp(udf_path, sizeof udf_path, "udf");
    write_file(udf_path, UDF_SRC);
    dql_status st = dql_lua_register(L, udf_path, "t", err, sizeof err);
    CHECK(st == DQL_OK, "register: %d %s", st, err);
    CHECK(dql_lua_has(L, "t", "id"), "has t.id");
    CHECK(dql_lua_has(L, "t", "count"), "has t.count");
    CHECK(!dql_lua_has(L, "t", "nope"), "no t.nope");
    CHECK(!dql_lua_has(L, "t", "counter"), "t.counter is not a function");
    CHECK(!dql_lua_has(L, "t", "hidden"), "locals are not registered");
    CHECK(!dql_lua_has(L, "u", "id"), "no namespace u");
    CHECK(!dql_lua_has(L, "t", "print"), "_G functions are not registered");
    /* the file's globals stay out of _G */
    CHECK(lua_getglobal(L, "show") == LUA_TNIL, "show leaked into _G");
    lua_pop(L, 1);
}

static void test_to_lua(void)
{
    uint8_t v4[4] = { 192, 0, 2, 1 };
    uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8 };
    v6[15] = 1;

    EQ(call1("show", dql_null()), "\"nil\"");
    EQ(call1("show", dql_bool(true)), "\"true\"");
    EQ(call1("show", dql_bool(false)), "\"false\"");
    EQ(call1("show", dql_int(-7)), "\"-7\"");
    EQ(call1("show", dql_long(INT64_C(9007199254740993))), "\"9007199254740993\"");
    EQ(call1("show", dql_double(2.5)), "\"2.5\"");
    EQ(call1("show", dql_double(3)), "\"3.0\"");
    EQ(call1("show", dql_chararray("héllo", 6)), "\"\"héllo\"\"");
    EQ(call1("show", dql_str(DQL_T_BYTEARRAY, "a\0b", 3)), "\"\"a\\0b\"\"");
    EQ(call1("show", dql_str(DQL_T_DOMAIN, "example.org", 11)), "\"\"example.org\"\"");
    EQ(call1("show", dql_datetime(INT64_C(1700000000123456))), "\"1700000000123456\"");
    EQ(call1("show", dql_ip_make(&arena, v4, 4)), "\"\"192.0.2.1\"\"");
    EQ(call1("show", dql_ip_make(&arena, v6, 16)), "\"\"2001:db8::1\"\"");
    EQ(call1("show", dql_cidr_make(&arena, v4, 4, 24)), "\"\"192.0.2.0/24\"\"");

    /* tuple with a null hole: n field set */
    dql_tuple *t = dql_tuple_new(&arena, 3);
    t->v[0] = dql_long(1);
    t->v[2] = dql_chararray("x", 1);
    dql_value tv = dql_null();
    tv.type = DQL_T_TUPLE;
    tv.u.t = t;
    EQ(call1("show", tv), "\"{ 1, nil, \"x\", n = 3 }\"");

    /* bag of two tuples */
    dql_bag *b = dql_bag_new(&arena, 2);
    for (int i = 0; i < 2; i++) {
        b->t[i] = dql_tuple_new(&arena, 2);
        b->t[i]->v[0] = dql_long(i + 1);
        b->t[i]->v[1] = dql_chararray(i ? "b" : "a", 1);
    }
    dql_value bv = dql_null();
    bv.type = DQL_T_BAG;
    bv.u.b = b;
    EQ(call1("show", bv), "\"{ { 1, \"a\", n = 2 }, { 2, \"b\", n = 2 } }\"");
    EQ(call1("sum_bag", bv), "L3");

    /* map with a nested bag and a null value */
    dql_map *m = dql_map_new(&arena, 3);
    m->k[0] = dql_chararray("k", 1);
    m->v[0] = bv;
    m->k[1] = dql_chararray("z", 1);
    m->v[1] = dql_null();
    m->k[2] = dql_chararray("a", 1);
    m->v[2] = dql_double(0.5);
    m->n = 3;
    dql_value mv = dql_null();
    mv.type = DQL_T_MAP;
    mv.u.m = m;
    EQ(call1("show", mv), "\"{ a = 0.5, k = { { 1, \"a\", n = 2 }, { 2, \"b\", n = 2 } } }\"");
    dql_value args[2] = { mv, dql_chararray("a", 1) };
    EQ(call("mapget", 2, args), "D0.5");

    /* several arguments, nulls among them */
    dql_value three[3] = { dql_long(1), dql_null(), dql_chararray("s", 1) };
    EQ(call("show", 3, three), "\"1 nil \"s\"\"");
    dql_value ab[2] = { dql_long(40), dql_int(2) };
    EQ(call("add", 2, ab), "L42");
    ab[1] = dql_double(0.5);
    EQ(call("add", 2, ab), "D40.5");
}

static void test_from_lua(void)
{
    EQ(call1("id", dql_null()), "null");
    EQ(call1("id", dql_bool(true)), "true");
    EQ(call1("id", dql_int(5)), "L5");
    EQ(call1("id", dql_double(1.25)), "D1.25");
    EQ(call1("id", dql_chararray("abc", 3)), "\"abc\"");
    EQ(call1("rev", dql_chararray("abc", 3)), "\"cba\"");
    EQ(call("mkbag", 0, NULL), "{(L1,\"a\"),(L2,\"b\")}");
    EQ(call("mktuple", 0, NULL), "(L1,null,\"x\")");
    EQ(call("mkmap", 0, NULL), "[7#\"seven\",a#(L1,L2),b#L2,c#[x#true]]");
    EQ(call("nested", 0, NULL), "{(L1,{(\"p\"),(\"q\")},[k#D1.5])}");
    EQ(call("holes", 0, NULL), "(\"a\",null,\"c\")");
    EQ(call("empty", 0, NULL), "{}");
    EQ(call("many", 0, NULL), "L1");
    EQ(call("none", 0, NULL), "null");
    EQ(call("uses_local", 0, NULL), "L42");
    EQ(call("count", 0, NULL), "L1");
    EQ(call("count", 0, NULL), "L2");
    const char *v = call("version", 0, NULL);
    CHECK(v[0] == '"' && strlen(v) > 2, "dql.version: %s", v);

    /* round trips: a tuple keeps its nulls, a bag stays a bag */
    dql_tuple *t = dql_tuple_new(&arena, 2);
    t->v[1] = dql_long(3);
    dql_value tv = dql_null();
    tv.type = DQL_T_TUPLE;
    tv.u.t = t;
    EQ(call1("id", tv), "(null,L3)");
    dql_tuple *e = dql_tuple_new(&arena, 0);
    tv.u.t = e;
    EQ(call1("id", tv), "()");
    dql_bag *b = dql_bag_new(&arena, 1);
    b->t[0] = dql_tuple_new(&arena, 1);
    b->t[0]->v[0] = dql_chararray("q", 1);
    dql_value bv = dql_null();
    bv.type = DQL_T_BAG;
    bv.u.b = b;
    EQ(call1("id", bv), "{(\"q\")}");
}

static void test_errors(void)
{
    char want[256];
    const char *r;

    r = call("boom", 0, NULL);
    snprintf(want, sizeof want, "ERR%d:Lua UDF t.boom: %s:7: boom", DQL_ERR_RUNTIME, udf_path);
    CHECK(starts_with(r, want), "boom: %s", r);
    CHECK(strstr(r, "stack traceback") == NULL, "no traceback for one frame: %s", r);

    r = call("deep", 0, NULL);
    snprintf(want, sizeof want, "ERR%d:Lua UDF t.deep: %s:7: boom\nstack traceback:", DQL_ERR_RUNTIME, udf_path);
    CHECK(starts_with(r, want) && strstr(r, ":30: in function"), "deep: %s", r);

    r = call1("nilidx", dql_null());
    snprintf(want, sizeof want, "ERR%d:Lua UDF t.nilidx: %s:8: attempt to index", DQL_ERR_RUNTIME, udf_path);
    CHECK(starts_with(r, want), "nilidx: %s", r);

    EQ(call("retfn", 0, NULL), "ERR4:Lua UDF t.retfn returned a function");
    EQ(call("retfn_nested", 0, NULL), "ERR4:Lua UDF t.retfn_nested returned a table holding a function");
    r = call("cycle", 0, NULL);
    CHECK(starts_with(r, "ERR4:Lua UDF t.cycle returned tables nested more than"), "cycle: %s", r);
    EQ(call("bad_key", 0, NULL), "ERR4:Lua UDF t.bad_key returned a table with a boolean key");
    r = call("nope", 0, NULL);
    CHECK(starts_with(r, "ERR4:Lua UDF t.nope is not defined"), "nope: %s", r);
    /* the state is still fine after errors */
    EQ(call1("id", dql_long(1)), "L1");
    CHECK(lua_gettop(L) == 0, "stack leak: %d", lua_gettop(L));
}

static void test_interrupt(void)
{
    struct sigaction sa;
    struct itimerval it;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    memset(&it, 0, sizeof it);
    it.it_value.tv_usec = 100000;
    alarm_sess = g_sess;
    setitimer(ITIMER_REAL, &it, NULL);
    const char *r = call("spin", 0, NULL);
    EQ(r, "ERR8:Lua UDF t.spin: interrupted");
    CHECK(g_sess->intr == 1, "flag was set by the timer");
    g_sess->intr = 0;
    /* through the exec context's flag too */
    volatile sig_atomic_t exflag = 1;
    g_ex.interrupted = &exflag;
    EQ(call("spin", 0, NULL), "ERR8:Lua UDF t.spin: interrupted");
    g_ex.interrupted = NULL;
    EQ(call1("id", dql_long(2)), "L2");
}

static void test_register_errors(void)
{
    char path[64], err[512], want[256];
    dql_status st;

    make_temp(path, sizeof path, "bad");
    write_file(path, "function f()\n  return 1 +\nend\n");
    st = dql_lua_register(L, path, "b", err, sizeof err);
    snprintf(want, sizeof want, "%s:3:", path);
    CHECK(st == DQL_ERR_LUA && starts_with(err, want), "syntax: %d %s", st, err);

    write_file(path, "function f() end\nlocal x = nil\nx.y = 1\n");
    st = dql_lua_register(L, path, "b", err, sizeof err);
    snprintf(want, sizeof want, "%s:3: attempt to index", path);
    CHECK(st == DQL_ERR_LUA && starts_with(err, want), "runtime: %d %s", st, err);
    CHECK(!dql_lua_has(L, "b", "f"), "failed REGISTER defines nothing");

    write_file(path, "x = 1\n");
    st = dql_lua_register(L, path, "b", err, sizeof err);
    CHECK(st == DQL_ERR_LUA && strstr(err, "no global functions"), "no functions: %d %s", st, err);

    st = dql_lua_register(L, "/nonexistent/x.lua", "b", err, sizeof err);
    CHECK(st == DQL_ERR_IO && strstr(err, "/nonexistent/x.lua"), "missing: %d %s", st, err);

    /* module style, and REGISTER replacing a namespace */
    write_file(path, "local M = {}\nfunction M.f() return 'one' end\nreturn M\n");
    st = dql_lua_register(L, path, "b", err, sizeof err);
    CHECK(st == DQL_OK, "module style: %s", err);
    dql_value out;
    st = dql_lua_call(L, &g_ex, "b", "f", 0, NULL, &arena, &out);
    CHECK(st == DQL_OK && out.type == DQL_T_CHARARRAY && out.len == 3, "b.f one");
    write_file(path, "function f() return 'two!' end\nfunction g() return 1 end\n");
    st = dql_lua_register(L, path, "b", err, sizeof err);
    CHECK(st == DQL_OK, "re-register: %s", err);
    st = dql_lua_call(L, &g_ex, "b", "f", 0, NULL, &arena, &out);
    CHECK(st == DQL_OK && out.type == DQL_T_CHARARRAY && out.len == 4 && memcmp(out.u.s, "two!", 4) == 0,
          "b.f replaced");
    CHECK(dql_lua_has(L, "b", "g"), "b.g");
    EQ(call1("id", dql_long(3)), "L3");   /* other namespaces untouched */
    unlink(path);
}

static void test_driver(void)
{
    char err[512], want[256];
    dql_status st;
    make_temp(drv_path, sizeof drv_path, "drv");
    write_file(drv_path,
        "assert(arg[0] ~= nil and arg[3] == nil)\n"
        "local out = {}\n"
        "for row in dql.rows('a') do\n"
        "  out[#out + 1] = row.name .. '=' .. tostring(row.n) .. '/' .. tostring(row[3])\n"
        "end\n"
        "local rs = dql.rows_table('a')\n"
        "out[#out + 1] = #rs\n"
        "local seen = dql.each('a', function(r) return false end)\n"
        "out[#out + 1] = seen\n"
        "for row in dql.rows('a') do break end\n"
        "dql.set('k', 5)\n"
        "dql.param('day', '2024-01-01')\n"
        "out[#out + 1] = dql.get('k')\n"
        "out[#out + 1] = tostring(dql.get('nokey'))\n"
        "out[#out + 1] = arg[0] == select(1, ...) and 'bad' or arg[1] .. ',' .. arg[2] .. ',' .. select('#', ...)\n"
        "dql.run(table.concat(out, ';'))\n"
        "if arg[1] == 'fail' then\n"
        "  dql.run('fail')\n"                                     /* line 18 */
        "end\n"
        "if arg[1] == 'err' then error('bad thing') end\n"       /* line 20 */
        "if arg[1] == 'alias' then dql.rows_table('nope') end\n"  /* line 21 */
        "if arg[1] == 'set' then dql.set('bad', true) end\n"      /* line 22 */
        "if arg[1] == 'spin' then while true do end end\n");

    char *argv[] = { drv_path, "x", "y" };
    st = dql_lua_run_driver(L, drv_path, 3, argv, err, sizeof err);
    CHECK(st == DQL_OK, "driver: %d %s", st, err);
    EQ(g_sess->last_text, "<lua>|x.org=0/0.5;y.org=nil/1.5;z.org=20/2.5;3;1;5;nil;x,y,2");
    CHECK(g_sess->cursors_open == 4 && g_sess->cursors_closed == 4, "cursors %d opened, %d closed",
          g_sess->cursors_open, g_sess->cursors_closed);
    EQ(g_sess->setk, "k");
    EQ(g_sess->setv, "5");
    EQ(g_sess->paramk, "day");
    EQ(g_sess->paramv, "2024-01-01");

    char *a_fail[] = { "fail", "y" };
    st = dql_lua_run_driver(L, drv_path, 2, a_fail, err, sizeof err);
    snprintf(want, sizeof want, "%s:18: dql.run: %s", drv_path, dql_status_str(DQL_ERR_RUNTIME));
    CHECK(st == DQL_ERR_LUA && strcmp(err, want) == 0, "dql.run failure: %d %s", st, err);

    char *a_err[] = { "err", "y" };
    st = dql_lua_run_driver(L, drv_path, 2, a_err, err, sizeof err);
    snprintf(want, sizeof want, "%s:20: bad thing", drv_path);
    CHECK(st == DQL_ERR_LUA && strcmp(err, want) == 0, "error(): %d %s", st, err);

    char *a_alias[] = { "alias", "y" };
    st = dql_lua_run_driver(L, drv_path, 2, a_alias, err, sizeof err);
    snprintf(want, sizeof want, "%s:21: dql.rows('nope'): unknown alias 'nope'", drv_path);
    CHECK(st == DQL_ERR_LUA && strcmp(err, want) == 0, "unknown alias: %d %s", st, err);

    char *a_set[] = { "set", "y" };
    st = dql_lua_run_driver(L, drv_path, 2, a_set, err, sizeof err);
    snprintf(want, sizeof want, "%s:22: dql.set: unknown setting 'bad'", drv_path);
    CHECK(st == DQL_ERR_LUA && strcmp(err, want) == 0, "bad set: %d %s", st, err);

    char *a_spin[] = { "spin", "y" };
    g_sess->intr = 1;
    st = dql_lua_run_driver(L, drv_path, 2, a_spin, err, sizeof err);
    g_sess->intr = 0;
    CHECK(st == DQL_ERR_INTERRUPT, "driver interrupt: %d %s", st, err);

    st = dql_lua_run_driver(L, "/nonexistent/d.lua", 0, NULL, err, sizeof err);
    CHECK(st == DQL_ERR_IO, "missing driver: %d %s", st, err);

    /* dql.run is refused inside a UDF */
    write_file(drv_path, "function r() dql.run('x') end\n");
    st = dql_lua_register(L, drv_path, "d", err, sizeof err);
    CHECK(st == DQL_OK, "register d: %s", err);
    dql_value out;
    st = dql_lua_call(L, &g_ex, "d", "r", 0, NULL, &arena, &out);
    CHECK(st == DQL_ERR_RUNTIME && g_ex.errmsg && strstr(g_ex.errmsg, "cannot be used inside a UDF"),
          "run in UDF: %s", g_ex.errmsg ? g_ex.errmsg : "");
    CHECK(lua_gettop(L) == 0, "stack leak: %d", lua_gettop(L));
    unlink(drv_path);
}

static void test_pp(void)
{
    /* dql.pp / dql.repr on nested tables, keys sorted, cycles marked */
    write_file(drv_path,
        "function r1() return dql.repr({b = 1, a = {1, 2}, [3] = 'x', ['not id'] = true}) end\n"
        "function r2() local t = {} t.self = t return dql.repr(t) end\n"
        "function r3() return dql.repr('a\\nb') end\n");
    char err[512];
    dql_status st = dql_lua_register(L, drv_path, "p", err, sizeof err);
    CHECK(st == DQL_OK, "register p: %s", err);
    dql_value out;
    static const char *want[] = {
        "{ [3] = \"x\", a = { 1, 2 }, b = 1, [\"not id\"] = true }",
        "{ self = <cycle> }",
        "\"a\\nb\"",
    };
    const char *fns[] = { "r1", "r2", "r3" };
    for (int i = 0; i < 3; i++) {
        st = dql_lua_call(L, &g_ex, "p", fns[i], 0, NULL, &arena, &out);
        CHECK(st == DQL_OK && out.type == DQL_T_CHARARRAY && out.len == strlen(want[i]) &&
              memcmp(out.u.s, want[i], out.len) == 0, "repr %s: %.*s", fns[i], (int)out.len, out.u.s);
    }
    unlink(drv_path);
}

int main(void)
{
    static dql_session sess;
    g_sess = &sess;
    dql_arena_init(&arena);
    memset(&g_ex, 0, sizeof g_ex);
    g_ex.sess = &sess;
    L = dql_lua_new(&sess);
    CHECK(L != NULL, "dql_lua_new");
    if (!L)
        return 1;

    test_register();
    test_to_lua();
    test_from_lua();
    test_errors();
    test_interrupt();
    test_register_errors();
    test_driver();
    test_pp();

    dql_lua_free(L);
    unlink(udf_path);
    free(g_ex.errmsg);
    dql_arena_free(&arena);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
