/* test_workspace.c — unit test of the SQLite workspace (src/workspace.c):
 * opening, STORE/LOAD round trip of every type, atomic STORE (an aborted
 * store leaves the old table intact), overwrite rules, the SQL escape
 * (schema, rows, statements that are not queries), other database files,
 * and the error for a table that does not exist.
 *
 * Prints only "N passed, M failed" (and a message per failure on stderr);
 * exits non-zero on failure. */
#include "../../src/workspace.h"

#include <sqlite3.h>
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

/* ---------------------------------------------------------------- stubs */

/* The workspace the stubbed session hands out. */
static sqlite3 *g_db;
static int g_warns;

/* Weak fallbacks so that the test links without session.c / exec.c; the
 * real functions win when they are linked in. */
__attribute__((weak)) sqlite3 *dql_session_db(dql_session *s, char *err, size_t errlen)
{
    (void)s;
    if (!g_db)
        snprintf(err, errlen, "no workspace");
    return g_db;
}

static void set_msg(dql_exec *ex, const char *fmt, va_list ap)
{
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    free(ex->errmsg);
    ex->errmsg = strdup(buf);
}

__attribute__((weak)) dql_status dql_exec_error(dql_exec *ex, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_msg(ex, fmt, ap);
    va_end(ap);
    return DQL_ERR_RUNTIME;
}

__attribute__((weak)) dql_status dql_exec_error_st(dql_exec *ex, dql_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_msg(ex, fmt, ap);
    va_end(ap);
    return st;
}

__attribute__((weak)) dql_status dql_exec_warn(dql_exec *ex, const char *kind, const char *fmt, ...)
{
    (void)ex;
    (void)kind;
    (void)fmt;
    g_warns++;
    return DQL_OK;
}

__attribute__((weak)) void dql_paths_free(char **paths)
{
    if (!paths)
        return;
    for (char **p = paths; *p; p++)
        free(*p);
    free(paths);
}

/* ------------------------------------------------------------- helpers */

static dql_value ip_value(dql_arena *a, const char *text, dql_type t)
{
    dql_value v;
    if (!dql_value_parse(a, text, strlen(text), t, &v))
        v = dql_null();
    return v;
}

static dql_value str(dql_type t, const char *s)
{
    return dql_str(t, s, strlen(s));
}

static bool same_schema(const dql_schema *a, const dql_schema *b)
{
    if (!a || !b)
        return a == b;
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++) {
        const dql_field *x = &a->f[i], *y = &b->f[i];
        if (x->type != y->type || (!x->name) != (!y->name) || (x->name && strcmp(x->name, y->name)))
            return false;
        if (!same_schema(x->sub, y->sub) && !((!x->sub || !x->sub->n) && (!y->sub || !y->sub->n)))
            return false;
    }
    return true;
}

static char *fmt_schema(const dql_schema *s)
{
    dql_buf b = {0};
    if (s)
        dql_schema_format(&b, s);
    else
        dql_buf_puts(&b, "(null)");
    char *r = strdup(dql_buf_cstr(&b));
    dql_buf_free(&b);
    return r;
}

static long long count_rows(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    long long n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* Stores rows (n rows of schema->n values) into table; returns the status
 * of the whole STORE and the error text in ex. abort_it: abort instead of
 * committing. */
static dql_status store(const char *table, const dql_args *args, const dql_schema *schema, bool overwrite,
                        const dql_value *rows, int n, bool abort_it, dql_exec *ex, char *err, size_t errlen)
{
    dql_store_ctx sc = { table, args, schema, overwrite, NULL };
    err[0] = '\0';
    dql_status st = dql_storer_sqlite.plan(&sc, err, errlen);
    if (st != DQL_OK)
        return st;
    void *state;
    st = dql_storer_sqlite.open(&sc, ex, &state);
    if (st != DQL_OK)
        return st;
    dql_batch b = { n, n, schema->n, (dql_value *)rows };
    st = dql_storer_sqlite.write(state, &b);
    if (st != DQL_OK || abort_it) {
        dql_storer_sqlite.abort(state);
        return st != DQL_OK ? st : DQL_ERR_INTERRUPT;
    }
    return dql_storer_sqlite.commit(state);
}

/* Loads every row with a loader into a fresh batch (rows in arena a). */
static dql_status load(const dql_loader_def *ld, const char *path, const dql_args *args,
                       const dql_schema *declared, dql_schema **schema, dql_batch *out, dql_arena *a,
                       dql_exec *ex, char *err, size_t errlen)
{
    dql_load_ctx lc = { .path = path, .args = args, .declared = declared };
    err[0] = '\0';
    *schema = NULL;
    dql_status st = ld->plan(&lc, schema, err, errlen);
    if (st != DQL_OK)
        return st;
    void *state;
    st = ld->open(&lc, *schema, ex, &state);
    if (st != DQL_OK)
        return st;
    dql_batch_init(out, (*schema)->n, 4096);
    dql_batch chunk;
    dql_batch_init(&chunk, (*schema)->n, 3);   /* small batches: several next() calls */
    out->n = 0;
    for (;;) {
        st = ld->next(state, &chunk, a);
        if (st != DQL_OK || chunk.n == 0)
            break;
        for (int i = 0; i < chunk.n && out->n < out->cap; i++, out->n++)
            for (int c = 0; c < chunk.ncols; c++)
                dql_batch_row(out, out->n)[c] = dql_value_copy(a, dql_batch_row(&chunk, i)[c]);
    }
    dql_batch_free(&chunk);
    ld->close(state);
    return st;
}

/* --------------------------------------------------------------- tests */

static void test_open(const char *dir)
{
    char path[512], err[512];
    sqlite3 *db;
    snprintf(path, sizeof path, "%s/no/such/dir/x.db", dir);
    dql_status st = dql_ws_open(path, &db, err, sizeof err);
    CHECK(st != DQL_OK && strstr(err, path), "open in a missing directory names the file: %s", err);

    snprintf(path, sizeof path, "%s/garbage.db", dir);
    FILE *fp = fopen(path, "w");
    fputs("this is not a database, not even close; it just needs to be long enough...........\n", fp);
    for (int i = 0; i < 100; i++)
        fputs("garbage garbage garbage garbage garbage garbage\n", fp);
    fclose(fp);
    st = dql_ws_open(path, &db, err, sizeof err);
    CHECK(st != DQL_OK && strstr(err, path) && strstr(err, "not a database"),
          "open of a non-database names the file and SQLite's reason: %s", err);

    snprintf(path, sizeof path, "%s/ws.db", dir);
    st = dql_ws_open(path, &g_db, err, sizeof err);
    CHECK(st == DQL_OK, "open workspace: %s", err);
    CHECK(count_rows(g_db, "SELECT count(*) FROM sqlite_master WHERE name = '_dql_schema'") == 1,
          "_dql_schema created");
    sqlite3_stmt *q;
    const char *mode = "";
    char modebuf[32] = "";
    if (sqlite3_prepare_v2(g_db, "PRAGMA journal_mode", -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
        snprintf(modebuf, sizeof modebuf, "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    mode = modebuf;
    CHECK(strcmp(mode, "wal") == 0, "journal mode WAL (%s)", mode);
}

static dql_schema *all_types_schema(void)
{
    dql_schema *s = dql_schema_new(0);
    dql_schema_add(s, "b", DQL_T_BOOL, NULL);
    dql_schema_add(s, "i", DQL_T_INT, NULL);
    dql_schema_add(s, "l", DQL_T_LONG, NULL);
    dql_schema_add(s, "d", DQL_T_DOUBLE, NULL);
    dql_schema_add(s, "c", DQL_T_CHARARRAY, NULL);
    dql_schema_add(s, "y", DQL_T_BYTEARRAY, NULL);
    dql_schema_add(s, "ts", DQL_T_DATETIME, NULL);
    dql_schema_add(s, "dom", DQL_T_DOMAIN, NULL);
    dql_schema_add(s, "addr", DQL_T_IP, NULL);
    dql_schema_add(s, "net", DQL_T_CIDR, NULL);
    dql_schema_add(s, "a::joined", DQL_T_LONG, NULL);
    dql_schema_add(s, "odd name, \"quoted\"", DQL_T_CHARARRAY, NULL);
    dql_schema *tup = dql_schema_new(0);
    dql_schema_add(tup, "n", DQL_T_INT, NULL);
    dql_schema_add(tup, "s", DQL_T_CHARARRAY, NULL);
    dql_schema_add(tup, "at", DQL_T_IP, NULL);
    dql_schema_add(s, "tup", DQL_T_TUPLE, tup);
    dql_schema *bt = dql_schema_new(0);
    dql_schema_add(bt, "x", DQL_T_INT, NULL);
    dql_schema_add(bt, "name", DQL_T_CHARARRAY, NULL);
    dql_schema_add(s, "bg", DQL_T_BAG, bt);
    dql_schema_add(s, "m", DQL_T_MAP, NULL);
    dql_schema_free(tup);
    dql_schema_free(bt);
    return s;
}

#define NT 15   /* fields in all_types_schema */

static void fill_row(dql_arena *a, dql_value *r, int k)
{
    char *s = dql_arena_printf(a, "text %d, with 'quotes' and \"more\"", k);
    r[0] = dql_bool(k % 2);
    r[1] = dql_int(k == 1 ? INT32_MIN : 7 * k);
    r[2] = dql_long(k == 1 ? INT64_MAX : -3 * (int64_t)k);
    r[3] = dql_double(k + 0.25);
    r[4] = dql_chararray(s, strlen(s));
    r[5] = dql_str(DQL_T_BYTEARRAY, "\0\1\2\xff", 4);
    r[6] = dql_datetime(1700000000123456LL + k);
    r[7] = str(DQL_T_DOMAIN, k ? "www.example.org" : "xn--bcher-kva.example");
    r[8] = ip_value(a, k % 2 ? "192.0.2.1" : "2001:db8::1", DQL_T_IP);
    r[9] = ip_value(a, k % 2 ? "10.0.0.0/8" : "2001:db8::/32", DQL_T_CIDR);
    r[10] = dql_long(k * 1000);
    r[11] = str(DQL_T_CHARARRAY, "");
    dql_tuple *t = dql_tuple_new(a, 3);
    t->v[0] = dql_int(k);
    t->v[1] = str(DQL_T_CHARARRAY, "inner \"q\"");
    t->v[2] = ip_value(a, "198.51.100.7", DQL_T_IP);
    r[12] = (dql_value){ .type = DQL_T_TUPLE, .u.t = t };
    dql_bag *b = dql_bag_new(a, (uint64_t)k);
    for (int i = 0; i < k; i++) {
        dql_tuple *e = dql_tuple_new(a, 2);
        e->v[0] = dql_int(i);
        e->v[1] = str(DQL_T_CHARARRAY, i % 2 ? "odd" : "even");
        b->t[i] = e;
    }
    r[13] = (dql_value){ .type = DQL_T_BAG, .u.b = b };
    dql_map *m = dql_map_new(a, 2);
    m->k[0] = str(DQL_T_CHARARRAY, "count");
    m->v[0] = dql_long(k);
    m->k[1] = str(DQL_T_CHARARRAY, "label");
    m->v[1] = str(DQL_T_CHARARRAY, "lbl");
    r[14] = (dql_value){ .type = DQL_T_MAP, .u.m = m };
}

static void test_roundtrip(void)
{
    dql_arena a;
    dql_arena_init(&a);
    dql_exec ex = {0};
    char err[512];
    dql_schema *s = all_types_schema();
    CHECK(s->n == NT, "schema has %d fields", s->n);
    enum { NROWS = 4 };
    dql_value rows[(NROWS + 1) * NT];
    for (int k = 0; k < NROWS; k++)
        fill_row(&a, rows + k * NT, k);
    for (int c = 0; c < NT; c++)
        rows[NROWS * NT + c] = dql_null();   /* a row of nulls */
    dql_status st = store("rt", NULL, s, false, rows, NROWS + 1, false, &ex, err, sizeof err);
    CHECK(st == DQL_OK, "store all types: %s %s", err, ex.errmsg ? ex.errmsg : "");
    CHECK(dql_ws_table_exists(g_db, "rt") && dql_ws_table_exists(g_db, "RT"), "table exists (any case)");
    CHECK(count_rows(g_db, "SELECT count(*) FROM rt") == NROWS + 1, "rows in the table");
    CHECK(count_rows(g_db, "SELECT count(*) FROM pragma_table_info('rt') WHERE name = 'a__joined'") == 1,
          "'a::joined' stored as column a__joined");
    CHECK(count_rows(g_db, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%dql_tmp%'") == 0,
          "no temporary table left");
    CHECK(count_rows(g_db, "SELECT typeof(addr) = 'text' AND typeof(bg) = 'text' AND typeof(y) = 'blob' "
                           "AND typeof(ts) = 'integer' AND typeof(d) = 'real' FROM rt LIMIT 1") == 1,
          "storage classes follow the column mapping");

    dql_schema *ts = dql_ws_table_schema(g_db, "rt", err, sizeof err);
    char *f1 = fmt_schema(s), *f2 = fmt_schema(ts);
    CHECK(same_schema(s, ts), "table schema comes back: %s vs %s", f1, f2);
    free(f1);
    free(f2);
    dql_schema_free(ts);

    dql_schema *ls;
    dql_batch out;
    st = load(&dql_loader_sqlite, "rt", NULL, NULL, &ls, &out, &a, &ex, err, sizeof err);
    CHECK(st == DQL_OK, "load: %s %s", err, ex.errmsg ? ex.errmsg : "");
    CHECK(same_schema(s, ls), "loader schema");
    CHECK(out.n == NROWS + 1, "%d rows loaded", out.n);
    for (int k = 0; k < out.n && k <= NROWS; k++) {
        for (int c = 0; c < NT; c++) {
            dql_value x = rows[k * NT + c], y = dql_batch_row(&out, k)[c];
            bool eq = x.type == y.type && dql_value_eq(x, y);
            if (!eq) {
                dql_buf b1 = {0}, b2 = {0};
                dql_value_format(&b1, x);
                dql_value_format(&b2, y);
                CHECK(eq, "row %d column %s: stored %s (%d) loaded %s (%d)", k, s->f[c].name,
                      dql_buf_cstr(&b1), x.type, dql_buf_cstr(&b2), y.type);
                dql_buf_free(&b1);
                dql_buf_free(&b2);
            } else {
                npass++;
            }
        }
    }
    CHECK(g_warns == 0, "no warnings while loading (%d)", g_warns);
    dql_batch_free(&out);
    dql_schema_free(ls);

    /* declared AS schema: fewer fields, other types (values cast) */
    dql_schema *decl = dql_schema_new(0);
    dql_schema_add(decl, "flag", DQL_T_ANY, NULL);
    dql_schema_add(decl, "i_text", DQL_T_CHARARRAY, NULL);
    dql_schema_add(decl, "l_double", DQL_T_DOUBLE, NULL);
    st = load(&dql_loader_sqlite, "rt", NULL, decl, &ls, &out, &a, &ex, err, sizeof err);
    CHECK(st == DQL_OK && ls && ls->n == 3 && ls->f[0].type == DQL_T_BOOL && strcmp(ls->f[1].name, "i_text") == 0,
          "declared schema overrides names and types: %s", err);
    if (st == DQL_OK && out.n > 2) {
        dql_value v1 = dql_batch_row(&out, 2)[1], v2 = dql_batch_row(&out, 2)[2];
        CHECK(v1.type == DQL_T_CHARARRAY && v1.len == 2 && memcmp(v1.u.s, "14", 2) == 0, "int cast to chararray");
        CHECK(v2.type == DQL_T_DOUBLE && v2.u.d == -6.0, "long cast to double");
        dql_batch_free(&out);
    }
    dql_schema_free(ls);
    dql_schema_add(decl, "d", DQL_T_DOUBLE, NULL);
    for (int i = 0; i < 20; i++)
        dql_schema_add(decl, "more", DQL_T_INT, NULL);
    st = load(&dql_loader_sqlite, "rt", NULL, decl, &ls, &out, &a, &ex, err, sizeof err);
    CHECK(st == DQL_ERR_CHECK && strstr(err, "AS declares"), "declaring more fields than columns: %s", err);
    dql_schema_free(ls);
    dql_schema_free(decl);

    /* values broken behind dql's back: counted warnings and nulls */
    sqlite3_exec(g_db, "UPDATE rt SET addr = 'not-an-ip', bg = '[[1,' , i = 99999999999 WHERE l = -6",
                 NULL, NULL, NULL);
    g_warns = 0;
    st = load(&dql_loader_sqlite, "rt", NULL, NULL, &ls, &out, &a, &ex, err, sizeof err);
    CHECK(st == DQL_OK && g_warns == 3, "bad stored values: 3 warnings (%d)", g_warns);
    if (st == DQL_OK && out.n > 2) {
        dql_value *r2 = dql_batch_row(&out, 2);
        CHECK(r2[8].type == DQL_T_NULL && r2[13].type == DQL_T_NULL && r2[1].type == DQL_T_NULL &&
              r2[2].type == DQL_T_LONG, "bad stored values become null, the others stay");
        dql_batch_free(&out);
    }
    dql_schema_free(ls);
    g_warns = 0;

    /* the SQL escape over a dql table keeps the dql types */
    dql_schema *qs = dql_ws_query_schema(g_db, "SELECT dom, addr, net, ts, bg, i, l FROM rt", err, sizeof err);
    CHECK(qs && qs->n == 7 && qs->f[0].type == DQL_T_DOMAIN && qs->f[1].type == DQL_T_IP &&
          qs->f[2].type == DQL_T_CIDR && qs->f[3].type == DQL_T_DATETIME && qs->f[4].type == DQL_T_BAG &&
          qs->f[5].type == DQL_T_INT && qs->f[6].type == DQL_T_LONG, "SQL over a dql table is typed");
    dql_schema_free(qs);

    dql_schema_free(s);
    free(ex.errmsg);
    dql_arena_free(&a);
}

static dql_schema *simple_schema(const char *n1, dql_type t1)
{
    dql_schema *s = dql_schema_new(0);
    dql_schema_add(s, n1, t1, NULL);
    return s;
}

static void test_atomic_and_overwrite(void)
{
    dql_exec ex = {0};
    char err[512];
    dql_schema *s = simple_schema("n", DQL_T_LONG);
    dql_value three[3] = { dql_long(1), dql_long(2), dql_long(3) };
    dql_status st = store("keep", NULL, s, false, three, 3, false, &ex, err, sizeof err);
    CHECK(st == DQL_OK, "store keep: %s", err);

    /* overwrite refused at plan time */
    st = store("keep", NULL, s, false, three, 3, false, &ex, err, sizeof err);
    CHECK(st == DQL_ERR_CHECK && strcmp(err, "table 'keep' exists (use STORE ... OVERWRITE or SET overwrite true)") == 0,
          "no overwrite: %s", err);
    st = store("KEEP", NULL, s, false, three, 3, false, &ex, err, sizeof err);
    CHECK(st == DQL_ERR_CHECK, "no overwrite, other case");

    /* an aborted STORE leaves the old table, rows and schema */
    dql_schema *s2 = simple_schema("other", DQL_T_CHARARRAY);
    dql_value two[2] = { str(DQL_T_CHARARRAY, "x"), str(DQL_T_CHARARRAY, "y") };
    st = store("keep", NULL, s2, true, two, 2, true, &ex, err, sizeof err);
    CHECK(st == DQL_ERR_INTERRUPT, "aborted store");
    CHECK(count_rows(g_db, "SELECT count(*) FROM keep") == 3 && count_rows(g_db, "SELECT sum(n) FROM keep") == 6,
          "old rows intact after abort");
    dql_schema *ks = dql_ws_table_schema(g_db, "keep", err, sizeof err);
    CHECK(same_schema(ks, s), "old schema intact after abort");
    dql_schema_free(ks);
    CHECK(count_rows(g_db, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%dql_tmp%'") == 0,
          "no temporary table left after abort");
    CHECK(sqlite3_get_autocommit(g_db), "no transaction left open after abort");

    /* overwrite allowed */
    st = store("keep", NULL, s2, true, two, 2, false, &ex, err, sizeof err);
    CHECK(st == DQL_OK, "overwrite: %s", err);
    CHECK(count_rows(g_db, "SELECT count(*) FROM keep") == 2, "new rows after overwrite");
    ks = dql_ws_table_schema(g_db, "keep", err, sizeof err);
    CHECK(same_schema(ks, s2), "new schema after overwrite");
    dql_schema_free(ks);
    CHECK(count_rows(g_db, "SELECT count(*) FROM _dql_schema WHERE tbl = 'keep'") == 1, "one schema row");

    /* overwrite with another case of the name keeps one schema row */
    st = store("Keep", NULL, s, true, three, 3, false, &ex, err, sizeof err);
    CHECK(st == DQL_OK && count_rows(g_db, "SELECT count(*) FROM _dql_schema WHERE tbl = 'keep' COLLATE NOCASE") == 1,
          "overwrite in another case: one schema row");

    /* a table read to its end by a loader that is still open can be
     * overwritten (LOAD x ... STORE INTO x OVERWRITE) */
    {
        dql_load_ctx lc = { .path = "keep" };
        dql_schema *ls = NULL;
        void *lstate = NULL;
        dql_arena la;
        dql_arena_init(&la);
        dql_batch lb;
        CHECK(dql_loader_sqlite.plan(&lc, &ls, err, sizeof err) == DQL_OK &&
              dql_loader_sqlite.open(&lc, ls, &ex, &lstate) == DQL_OK, "open a loader on keep");
        dql_batch_init(&lb, ls ? ls->n : 1, 100);
        int total = 0;
        while (lstate && dql_loader_sqlite.next(lstate, &lb, &la) == DQL_OK && lb.n > 0)
            total += lb.n;
        dql_value one[1] = { dql_long(42) };
        st = store("keep", NULL, s, true, one, 1, false, &ex, err, sizeof err);
        CHECK(total == 3 && st == DQL_OK, "overwrite a table while its loader is open: %s", ex.errmsg ? ex.errmsg : err);
        CHECK(count_rows(g_db, "SELECT sum(n) FROM keep") == 42, "overwritten while read");
        if (lstate)
            dql_loader_sqlite.close(lstate);
        dql_batch_free(&lb);
        dql_schema_free(ls);
        dql_arena_free(&la);
    }

    /* two STOREs into the same database at once: the second is refused
     * with a clear message, the first goes on */
    {
        dql_store_ctx s1 = { "first", NULL, s, true, NULL }, s2c = { "second", NULL, s, true, NULL };
        void *st1 = NULL, *st2 = NULL;
        CHECK(dql_storer_sqlite.open(&s1, &ex, &st1) == DQL_OK, "first store open");
        CHECK(dql_storer_sqlite.open(&s2c, &ex, &st2) != DQL_OK && ex.errmsg &&
              strstr(ex.errmsg, "transaction is already open"), "second concurrent store refused: %s",
              ex.errmsg ? ex.errmsg : "");
        dql_batch b1 = { 3, 3, 1, three };
        CHECK(st1 && dql_storer_sqlite.write(st1, &b1) == DQL_OK && dql_storer_sqlite.commit(st1) == DQL_OK,
              "first store completes");
        CHECK(count_rows(g_db, "SELECT count(*) FROM first") == 3, "first store rows");
    }

    /* runtime check: the table appeared after planning */
    dql_store_ctx sc = { "late", NULL, s, false, NULL };
    CHECK(dql_storer_sqlite.plan(&sc, err, sizeof err) == DQL_OK, "plan late");
    sqlite3_exec(g_db, "CREATE TABLE late(x)", NULL, NULL, NULL);
    void *state = NULL;
    st = dql_storer_sqlite.open(&sc, &ex, &state);
    CHECK(st != DQL_OK && ex.errmsg && strstr(ex.errmsg, "exists"), "table created after plan: refused at open");
    CHECK(sqlite3_get_autocommit(g_db), "no transaction left open after a refused open");

    /* bad names */
    const char *bad[] = { "", "1abc", "a-b", "a b", "x;drop", "sqlite_x", "_dql_schema", "t__dql_tmp" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sc.path = bad[i];
        CHECK(dql_storer_sqlite.plan(&sc, err, sizeof err) == DQL_ERR_CHECK && strstr(err, bad[i]),
              "invalid table name '%s' refused: %s", bad[i], err);
    }

    /* a name that needs quoting inside SQL is fine */
    dql_schema *q = simple_schema("select", DQL_T_LONG);
    st = store("order_", NULL, q, false, three, 3, false, &ex, err, sizeof err);
    CHECK(st == DQL_OK, "column named 'select': %s", err);
    dql_schema_free(q);

    dql_schema_free(s);
    dql_schema_free(s2);
    free(ex.errmsg);
}

static void test_sql(void)
{
    dql_arena a;
    dql_arena_init(&a);
    dql_exec ex = {0};
    char err[512];
    dql_schema *s;
    dql_batch out;

    /* statements that are not queries run and give no fields and no rows */
    dql_status st = load(&dql_loader_sqlquery, "CREATE TABLE made(x INTEGER, label TEXT, misc)", NULL, NULL,
                         &s, &out, &a, &ex, err, sizeof err);
    CHECK(st == DQL_OK && s && s->n == 0 && out.n == 0, "CREATE through SQL: %s", err);
    dql_schema_free(s);
    dql_batch_free(&out);
    CHECK(dql_ws_table_exists(g_db, "made"), "table made by SQL exists");
    st = load(&dql_loader_sqlquery, "INSERT INTO made VALUES (1, 'one', 1.5), (2, 'two', x'00ff'), (3, NULL, 'txt')",
              NULL, NULL, &s, &out, &a, &ex, err, sizeof err);
    CHECK(st == DQL_OK && s && s->n == 0, "INSERT through SQL: %s", err);
    dql_schema_free(s);
    dql_batch_free(&out);

    st = load(&dql_loader_sqlquery, "SELECT x, label, misc, x * 2 AS twice, 'k' || x AS k FROM made ORDER BY x DESC",
              NULL, NULL, &s, &out, &a, &ex, err, sizeof err);
    CHECK(st == DQL_OK, "SELECT through SQL: %s", err);
    CHECK(s && s->n == 5 && strcmp(s->f[0].name, "x") == 0 && s->f[0].type == DQL_T_LONG &&
          s->f[1].type == DQL_T_CHARARRAY && s->f[2].type == DQL_T_ANY && strcmp(s->f[3].name, "twice") == 0 &&
          s->f[3].type == DQL_T_ANY, "query schema: names and types");
    CHECK(out.n == 3, "3 rows (%d)", out.n);
    if (out.n == 3) {
        dql_value *r0 = dql_batch_row(&out, 0), *r1 = dql_batch_row(&out, 1), *r2 = dql_batch_row(&out, 2);
        CHECK(r0[0].type == DQL_T_LONG && r0[0].u.i == 3 && r0[1].type == DQL_T_NULL, "row 1");
        CHECK(r0[2].type == DQL_T_CHARARRAY && r0[2].len == 3, "ANY column: text value");
        CHECK(r1[2].type == DQL_T_BYTEARRAY && r1[2].len == 2, "ANY column: blob value");
        CHECK(r2[2].type == DQL_T_DOUBLE && r2[2].u.d == 1.5, "ANY column: real value");
        CHECK(r2[3].type == DQL_T_LONG && r2[3].u.i == 2, "expression typed from its value");
        CHECK(r2[4].type == DQL_T_CHARARRAY && r2[4].len == 2 && memcmp(r2[4].u.s, "k1", 2) == 0, "text expression");
    }
    dql_schema_free(s);
    dql_batch_free(&out);

    /* a table made by hand is typed from its declared column types */
    dql_schema *ms = dql_ws_table_schema(g_db, "made", err, sizeof err);
    CHECK(ms && ms->n == 3 && ms->f[0].type == DQL_T_LONG && ms->f[1].type == DQL_T_CHARARRAY &&
          ms->f[2].type == DQL_T_ANY, "schema of a table made by hand");
    dql_schema_free(ms);
    st = load(&dql_loader_sqlite, "made", NULL, NULL, &s, &out, &a, &ex, err, sizeof err);
    CHECK(st == DQL_OK && out.n == 3, "LOAD of a table made by hand: %s", err);
    dql_schema_free(s);
    dql_batch_free(&out);

    /* errors */
    s = dql_ws_query_schema(g_db, "SELEC 1", err, sizeof err);
    CHECK(!s && strncmp(err, "SQL: ", 5) == 0 && strstr(err, "syntax error"), "syntax error: %s", err);
    s = dql_ws_query_schema(g_db, "SELECT 1; SELECT 2", err, sizeof err);
    CHECK(!s && strstr(err, "one statement"), "two statements: %s", err);
    s = dql_ws_query_schema(g_db, "SELECT 1; -- comment only\n", err, sizeof err);
    CHECK(s && s->n == 1, "trailing comment is fine: %s", s ? "" : err);
    dql_schema_free(s);
    s = dql_ws_query_schema(g_db, "  ", err, sizeof err);
    CHECK(!s && strstr(err, "empty"), "empty SQL: %s", err);
    s = dql_ws_query_schema(g_db, "SELECT * FROM nowhere", err, sizeof err);
    CHECK(!s && strstr(err, "no such table"), "missing table in SQL: %s", err);

    /* a LOAD of a table that does not exist */
    char expect[600];
    snprintf(expect, sizeof expect, "table 'nope' not found in workspace '%s'", sqlite3_db_filename(g_db, "main"));
    st = load(&dql_loader_sqlite, "nope", NULL, NULL, &s, &out, &a, &ex, err, sizeof err);
    CHECK(st == DQL_ERR_CHECK && strcmp(err, expect) == 0, "missing table: '%s'", err);

    /* .tables */
    char **t = dql_ws_tables(g_db);
    int n = 0;
    bool has_schema = false, has_made = false;
    for (char **p = t; *p; p++, n++) {
        if (strcmp(*p, "_dql_schema") == 0 || strstr(*p, "dql_tmp"))
            has_schema = true;
        if (strcmp(*p, "made") == 0)
            has_made = true;
    }
    CHECK(has_made && !has_schema && n >= 4, "table list (%d tables)", n);
    dql_paths_free(t);
    free(ex.errmsg);
    dql_arena_free(&a);
}

static void test_other_file(const char *dir)
{
    dql_arena a;
    dql_arena_init(&a);
    dql_exec ex = {0};
    char err[512], path[512];
    snprintf(path, sizeof path, "%s/other.db", dir);
    dql_arg arg = { NULL, str(DQL_T_CHARARRAY, path) };
    dql_args args = { 1, &arg };
    dql_schema *s = simple_schema("dom", DQL_T_DOMAIN);
    dql_value rows[2] = { str(DQL_T_DOMAIN, "a.example"), str(DQL_T_DOMAIN, "b.example") };
    dql_status st = store("names", &args, s, false, rows, 2, false, &ex, err, sizeof err);
    CHECK(st == DQL_OK, "store into another file: %s %s", err, ex.errmsg ? ex.errmsg : "");
    CHECK(!dql_ws_table_exists(g_db, "names"), "not in the workspace");
    st = store("names", &args, s, false, rows, 2, false, &ex, err, sizeof err);
    CHECK(st == DQL_ERR_CHECK && strstr(err, "exists"), "other file: overwrite rules apply: %s", err);

    dql_schema *ls;
    dql_batch out;
    st = load(&dql_loader_sqlite, "names", &args, NULL, &ls, &out, &a, &ex, err, sizeof err);
    CHECK(st == DQL_OK && out.n == 2 && ls->f[0].type == DQL_T_DOMAIN, "load from sqlite('other.db'): %s", err);
    dql_schema_free(ls);
    dql_batch_free(&out);

    dql_arg args2v[2] = { { NULL, str(DQL_T_CHARARRAY, path) }, { NULL, str(DQL_T_CHARARRAY, "names") } };
    dql_args args2 = { 2, args2v };
    st = load(&dql_loader_sqlite, "ignored", &args2, NULL, &ls, &out, &a, &ex, err, sizeof err);
    CHECK(st == DQL_OK && out.n == 2, "load from sqlite('other.db', 'names'): %s", err);
    dql_schema_free(ls);
    dql_batch_free(&out);

    dql_arg missing = { NULL, str(DQL_T_CHARARRAY, "/nonexistent/x.db") };
    dql_args margs = { 1, &missing };
    st = load(&dql_loader_sqlite, "names", &margs, NULL, &ls, &out, &a, &ex, err, sizeof err);
    CHECK(st == DQL_ERR_CHECK && strstr(err, "/nonexistent/x.db"), "missing database file: %s", err);

    dql_arg unk = { "colour", str(DQL_T_CHARARRAY, "red") };
    dql_args uargs = { 1, &unk };
    st = load(&dql_loader_sqlite, "names", &uargs, NULL, &ls, &out, &a, &ex, err, sizeof err);
    CHECK(st == DQL_ERR_CHECK && strstr(err, "colour"), "unknown argument: %s", err);

    dql_schema_free(s);
    free(ex.errmsg);
    dql_arena_free(&a);
}

/* Bulk insert: many rows in batches (a smoke test of speed and of the
 * prepared statement reuse). */
static void test_bulk(void)
{
    dql_exec ex = {0};
    char err[512];
    dql_schema *s = dql_schema_new(0);
    dql_schema_add(s, "name", DQL_T_CHARARRAY, NULL);
    dql_schema_add(s, "n", DQL_T_LONG, NULL);
    dql_store_ctx sc = { "bulk", NULL, s, true, NULL };
    void *state;
    CHECK(dql_storer_sqlite.plan(&sc, err, sizeof err) == DQL_OK, "bulk plan");
    CHECK(dql_storer_sqlite.open(&sc, &ex, &state) == DQL_OK, "bulk open");
    dql_batch b;
    dql_batch_init(&b, 2, DQL_BATCH_ROWS);
    char names[DQL_BATCH_ROWS][24];
    dql_status st = DQL_OK;
    for (int k = 0; k < 200 && st == DQL_OK; k++) {
        b.n = DQL_BATCH_ROWS;
        for (int i = 0; i < b.n; i++) {
            int l = snprintf(names[i], sizeof names[i], "host%d.example", k * DQL_BATCH_ROWS + i);
            dql_batch_row(&b, i)[0] = dql_chararray(names[i], (size_t)l);
            dql_batch_row(&b, i)[1] = dql_long(k * DQL_BATCH_ROWS + i);
        }
        st = dql_storer_sqlite.write(state, &b);
    }
    CHECK(st == DQL_OK, "bulk write");
    CHECK(dql_storer_sqlite.commit(state) == DQL_OK, "bulk commit: %s", ex.errmsg ? ex.errmsg : "");
    CHECK(count_rows(g_db, "SELECT count(*) FROM bulk") == 200 * DQL_BATCH_ROWS, "bulk rows");
    CHECK(count_rows(g_db, "SELECT count(*) FROM bulk WHERE name = 'host12345.example' AND n = 12345") == 1,
          "bulk content");
    dql_batch_free(&b);
    dql_schema_free(s);
    free(ex.errmsg);
}

int main(void)
{
    char dir[] = "/tmp/dql-test-ws-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    test_open(dir);
    if (g_db) {
        test_roundtrip();
        test_atomic_and_overwrite();
        test_sql();
        test_other_file(dir);
        test_bulk();
        dql_ws_close(g_db);
    }
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    printf("%d passed, %d failed\n", npass, nfail);
    return nfail ? 1 : 0;
}
