/* test_io.c — unit tests of the text loaders and storers (io_text.c), the
 * line reader and path expansion (io_reader.c), the JSON parser (json.c)
 * and the printer (out.c). Fixture files are written to a temporary
 * directory. dql_exec_warn/dql_exec_error are stubbed here (the real ones
 * live in session.c) so that warnings can be counted by kind.
 * Prints only "N passed, M failed"; exits non-zero on failure. */
#define _GNU_SOURCE
#include "../../src/exec.h"
#include "../../src/json.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static int npass, nfail;
static char tmpdir[64];

#define CHECK(cond, ...) do { if (cond) npass++; else { nfail++; \
    fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); \
    fputc('\n', stderr); } } while (0)
#define CHECK_STR(got, want) do { const char *g_ = (got), *w_ = (want); \
    CHECK(g_ && strcmp(g_, w_) == 0, "got\n[%s]\nwant\n[%s]", g_ ? g_ : "(null)", w_); } while (0)

/* ------------------------------------------------------------ exec stubs */

static struct { char kind[64]; int count; char first[512]; } warns[32];
static int nwarn_kinds;
static bool strict_mode;
static char last_error[512];

dql_status dql_exec_warn(dql_exec *ex, const char *kind, const char *fmt, ...)
{
    int i;
    for (i = 0; i < nwarn_kinds; i++)
        if (strcmp(warns[i].kind, kind) == 0)
            break;
    if (i == nwarn_kinds && nwarn_kinds < 32) {
        snprintf(warns[i].kind, sizeof warns[i].kind, "%s", kind);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(warns[i].first, sizeof warns[i].first, fmt, ap);
        va_end(ap);
        nwarn_kinds++;
    }
    if (i < 32)
        warns[i].count++;
    return strict_mode ? DQL_ERR_RUNTIME : DQL_OK;
}

dql_status dql_exec_error_st(dql_exec *ex, dql_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return st;
}

dql_status dql_exec_error(dql_exec *ex, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return DQL_ERR_RUNTIME;
}

static void reset_warns(void)
{
    nwarn_kinds = 0;
    memset(warns, 0, sizeof warns);
}

static int warn_count(const char *kind)
{
    for (int i = 0; i < nwarn_kinds; i++)
        if (strcmp(warns[i].kind, kind) == 0)
            return warns[i].count;
    return 0;
}

static const char *warn_first(const char *kind)
{
    for (int i = 0; i < nwarn_kinds; i++)
        if (strcmp(warns[i].kind, kind) == 0)
            return warns[i].first;
    return "";
}

/* -------------------------------------------------------------- helpers */

static char *fpath(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static void write_file(const char *name, const char *text, size_t n)
{
    FILE *f = fopen(fpath(name), "wb");
    fwrite(text, 1, n, f);
    fclose(f);
}
#define WRITE(name, lit) write_file(name, lit, sizeof(lit) - 1)

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    dql_buf b = {0};
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        dql_buf_put(&b, tmp, n);
    fclose(f);
    dql_buf_cstr(&b);
    return b.p;
}

static dql_arg *mkargs(dql_args *args, int n)
{
    args->n = n;
    args->a = calloc((size_t)n + 1, sizeof *args->a);
    return args->a;
}

/* Loads everything; rows rendered "v|v|v" (null as NULL), one per line.
 * Returns NULL and sets *err on a plan/open failure. *sch gets the schema. */
static char *load_all(const dql_loader_def *ld, const char *path, const dql_args *args,
                      const dql_schema *declared, dql_schema **sch, char *err, dql_status *rst)
{
    dql_load_ctx lc = { .path = path, .args = args, .declared = declared };
    dql_schema *s = NULL;
    dql_args none = {0};
    if (!args)
        lc.args = &none;
    err[0] = 0;
    if (ld->plan(&lc, &s, err, 512) != DQL_OK)
        return NULL;
    dql_exec ex = {0};
    void *st;
    if (ld->open(&lc, s, &ex, &st) != DQL_OK) {
        snprintf(err, 512, "%s", last_error);
        dql_schema_free(s);
        return NULL;
    }
    dql_batch b;
    dql_batch_init(&b, s->n, DQL_BATCH_ROWS);
    dql_arena a;
    dql_arena_init(&a);
    dql_buf out = {0};
    dql_buf_cstr(&out);
    dql_status r = DQL_OK;
    for (;;) {
        dql_arena_reset(&a);
        r = ld->next(st, &b, &a);
        if (r != DQL_OK || b.n == 0)
            break;
        for (int i = 0; i < b.n; i++) {
            dql_value *row = dql_batch_row(&b, i);
            for (int j = 0; j < s->n; j++) {
                if (j)
                    dql_buf_putc(&out, '|');
                if (row[j].type == DQL_T_NULL)
                    dql_buf_puts(&out, "NULL");
                else
                    dql_value_format(&out, row[j]);
            }
            dql_buf_putc(&out, '\n');
        }
    }
    if (rst)
        *rst = r;
    ld->close(st);
    dql_batch_free(&b);
    dql_arena_free(&a);
    if (sch)
        *sch = s;
    else
        dql_schema_free(s);
    dql_buf_cstr(&out);
    return out.p;
}

static const char *schema_str(const dql_schema *s)
{
    static dql_buf b;
    b.len = 0;
    if (s)
        dql_schema_format(&b, s);
    return dql_buf_cstr(&b);
}

/* ---------------------------------------------------------------- tests */

static void test_reader(void)
{
    WRITE("r1.txt", "a\r\nbb\n\nccc");
    dql_reader *r;
    char err[256];
    CHECK(dql_reader_open(fpath("r1.txt"), &r, err, sizeof err) == DQL_OK, "open: %s", err);
    const char *s;
    size_t n;
    CHECK(dql_reader_line(r, &s, &n) == DQL_OK && n == 1 && s[0] == 'a', "crlf line");
    CHECK(dql_reader_line(r, &s, &n) == DQL_OK && n == 2 && memcmp(s, "bb", 2) == 0, "line 2");
    CHECK(dql_reader_line(r, &s, &n) == DQL_OK && n == 0, "empty line");
    CHECK(dql_reader_line(r, &s, &n) == DQL_OK && n == 3 && memcmp(s, "ccc", 3) == 0, "last line no newline");
    CHECK(dql_reader_line(r, &s, &n) == DQL_EOF, "eof");
    CHECK(dql_reader_lineno(r) == 4, "lineno %llu", (unsigned long long)dql_reader_lineno(r));
    uint64_t done, total;
    dql_reader_progress(r, &done, &total);
    CHECK(done == 10 && total == 10, "progress %llu/%llu", (unsigned long long)done, (unsigned long long)total);
    dql_reader_close(r);

    /* A line longer than the buffer. */
    size_t big = 9u << 20;
    char *t = malloc(big + 8);
    memset(t, 'x', big);
    memcpy(t + big, "\nyz\n", 4);
    write_file("r2.txt", t, big + 4);
    CHECK(dql_reader_open(fpath("r2.txt"), &r, err, sizeof err) == DQL_OK, "open big");
    CHECK(dql_reader_line(r, &s, &n) == DQL_OK && n == big && s[0] == 'x' && s[big - 1] == 'x', "long line %zu", n);
    CHECK(dql_reader_line(r, &s, &n) == DQL_OK && n == 2 && memcmp(s, "yz", 2) == 0, "after long line");
    dql_reader_close(r);
    free(t);

    CHECK(dql_reader_open(fpath("nope.txt"), &r, err, sizeof err) != DQL_OK &&
          strstr(err, "no such file"), "missing: %s", err);

    /* Paths. */
    char **paths;
    char pat[300];
    CHECK(dql_paths_expand(fpath("nope.csv"), &paths, err, sizeof err) == 0, "missing path");
    snprintf(pat, sizeof pat, "no such file: '%s'", fpath("nope.csv"));
    CHECK_STR(err, pat);
    snprintf(pat, sizeof pat, "%s/*.nothing", tmpdir);
    CHECK(dql_paths_expand(pat, &paths, err, sizeof err) == 0, "glob none");
    char want[400];
    snprintf(want, sizeof want, "no files match '%s'", pat);
    CHECK_STR(err, want);
    snprintf(pat, sizeof pat, "%s/r*.txt", tmpdir);
    CHECK(dql_paths_expand(pat, &paths, err, sizeof err) == 2 && strstr(paths[0], "r1.txt") &&
          strstr(paths[1], "r2.txt") && !paths[2], "glob 2");
    dql_paths_free(paths);
    unlink(fpath("r2.txt"));
}

/* Lines of a file crossing many buffer refills stay valid for the batch. */
static void test_lines_zero_copy(void)
{
    FILE *f = fopen(fpath("many.txt"), "w");
    int N = 600000;
    for (int i = 0; i < N; i++)
        fprintf(f, "name%d.example\n", i);
    fclose(f);
    dql_load_ctx lc = { .path = fpath("many.txt") };
    dql_args none = {0};
    lc.args = &none;
    dql_schema *s;
    char err[512];
    CHECK(dql_loader_lines.plan(&lc, &s, err, sizeof err) == DQL_OK, "plan: %s", err);
    dql_exec ex = {0};
    void *st;
    CHECK(dql_loader_lines.open(&lc, s, &ex, &st) == DQL_OK, "open");
    dql_batch b;
    dql_batch_init(&b, 1, DQL_BATCH_ROWS);
    dql_arena a;
    dql_arena_init(&a);
    int seen = 0, bad = 0;
    char exp[64];
    for (;;) {
        dql_arena_reset(&a);
        if (dql_loader_lines.next(st, &b, &a) != DQL_OK || b.n == 0)
            break;
        for (int i = 0; i < b.n; i++) {
            int k = snprintf(exp, sizeof exp, "name%d.example", seen + i);
            dql_value v = b.v[i];
            if (v.len != (uint32_t)k || memcmp(v.u.s, exp, (size_t)k) != 0)
                bad++;
        }
        seen += b.n;
    }
    uint64_t done, total;
    dql_loader_lines.progress(st, &done, &total);
    CHECK(done == total && total > 0, "progress at end");
    CHECK(seen == N && bad == 0, "zero-copy lines: seen %d bad %d", seen, bad);
    dql_loader_lines.close(st);
    dql_batch_free(&b);
    dql_arena_free(&a);
    dql_schema_free(s);
    unlink(fpath("many.txt"));
}

static void test_lines(void)
{
    char err[512];
    dql_schema *s;
    WRITE("l1.txt", "a\n\n# comment\n   # indented comment\n   \nb\r\nc");
    char *got = load_all(&dql_loader_lines, fpath("l1.txt"), NULL, NULL, &s, err, NULL);
    CHECK_STR(got, "a\nb\nc\n");
    CHECK_STR(schema_str(s), "line: chararray");
    dql_schema_free(s);
    free(got);

    reset_warns();
    WRITE("l2.txt", "1\nx\n3\n");
    dql_schema *d = dql_schema_new(0);
    dql_schema_add(d, "n", DQL_T_LONG, NULL);
    got = load_all(&dql_loader_lines, fpath("l2.txt"), NULL, d, NULL, err, NULL);
    CHECK_STR(got, "1\nNULL\n3\n");
    CHECK(warn_count("lines: bad long") == 1, "bad long warning");
    char want[512];
    snprintf(want, sizeof want, "%s:2: bad long: 'x'", fpath("l2.txt"));
    CHECK_STR(warn_first("lines: bad long"), want);
    free(got);

    /* Strict mode stops. */
    strict_mode = true;
    dql_status rst;
    got = load_all(&dql_loader_lines, fpath("l2.txt"), NULL, d, NULL, err, &rst);
    CHECK(rst != DQL_OK, "strict stops");
    strict_mode = false;
    free(got);
    dql_schema_free(d);

    /* Two fields are refused. */
    d = dql_schema_new(0);
    dql_schema_add(d, "a", DQL_T_LONG, NULL);
    dql_schema_add(d, "b", DQL_T_LONG, NULL);
    got = load_all(&dql_loader_lines, fpath("l2.txt"), NULL, d, NULL, err, NULL);
    CHECK(!got && strstr(err, "exactly one field"), "lines two fields: %s", err);
    dql_schema_free(d);

    got = load_all(&dql_loader_lines, fpath("missing.txt"), NULL, NULL, NULL, err, NULL);
    char m[400];
    snprintf(m, sizeof m, "no such file: '%s'", fpath("missing.txt"));
    CHECK(!got, "missing");
    CHECK_STR(err, m);

    /* gzip, detected by magic (even with a .txt name). */
    gzFile gz = gzopen(fpath("z.txt"), "wb");
    for (int i = 0; i < 5; i++)
        gzprintf(gz, "host%d\n", i);
    gzprintf(gz, "last");
    gzclose(gz);
    got = load_all(&dql_loader_lines, fpath("z.txt"), NULL, NULL, NULL, err, NULL);
    CHECK_STR(got, "host0\nhost1\nhost2\nhost3\nhost4\nlast\n");
    free(got);
}

static void test_csv(void)
{
    char err[512];
    dql_schema *s;
    reset_warns();
    WRITE("c1.csv", "name,n\r\nx,1\r\n\"a,b\",2\n\"he said \"\"hi\"\"\",3\n\"multi\nline\",4\n,\n\"\",5");
    char *got = load_all(&dql_loader_csv, fpath("c1.csv"), NULL, NULL, &s, err, NULL);
    CHECK_STR(got, "x|1\na,b|2\nhe said \"hi\"|3\nmulti\nline|4\nNULL|NULL\n|5\n");
    CHECK_STR(schema_str(s), "name: chararray, n: chararray");
    CHECK(nwarn_kinds == 0, "no warnings");
    dql_schema_free(s);
    free(got);

    /* Declared schema, header skipped, dirty rows. */
    WRITE("c2.csv", "h1,h2\nx,1\ny\nz,2,3\nw,abc\nv,7\n");
    dql_schema *d = dql_schema_new(0);
    dql_schema_add(d, "name", DQL_T_CHARARRAY, NULL);
    dql_schema_add(d, "n", DQL_T_INT, NULL);
    got = load_all(&dql_loader_csv, fpath("c2.csv"), NULL, d, NULL, err, NULL);
    CHECK_STR(got, "x|1\ny|NULL\nz|2\nw|NULL\nv|7\n");
    CHECK(warn_count("csv: too few fields") == 1, "too few");
    CHECK(warn_count("csv: too many fields") == 1, "too many");
    CHECK(warn_count("csv: bad int") == 1, "bad int");
    char want[512];
    snprintf(want, sizeof want, "%s:5: bad int in field 'n': 'abc'", fpath("c2.csv"));
    CHECK_STR(warn_first("csv: bad int"), want);
    snprintf(want, sizeof want, "%s:3: too few fields (1, expected 2): 'y'", fpath("c2.csv"));
    CHECK_STR(warn_first("csv: too few fields"), want);
    free(got);

    /* No header: unnamed bytearray fields; skip, delimiter args. */
    WRITE("c3.csv", "junk line\n1;2;3\n4;5;6\n");
    dql_args args;
    dql_arg *a = mkargs(&args, 3);
    a[0].name = "header"; a[0].v = dql_bool(false);
    a[1].name = "delimiter"; a[1].v = dql_chararray(";", 1);
    a[2].name = "skip"; a[2].v = dql_long(1);
    got = load_all(&dql_loader_csv, fpath("c3.csv"), &args, NULL, &s, err, NULL);
    CHECK_STR(got, "1|2|3\n4|5|6\n");
    CHECK(s && s->n == 3 && s->f[0].name == NULL && s->f[2].type == DQL_T_BYTEARRAY, "unnamed schema");
    dql_schema_free(s);
    free(got);
    a[0].name = "bogus";
    got = load_all(&dql_loader_csv, fpath("c3.csv"), &args, NULL, &s, err, NULL);
    CHECK(!got && strstr(err, "unknown argument 'bogus'"), "bad arg: %s", err);
    free(args.a);

    /* Header names made valid and unique. */
    WRITE("c4.csv", "1a,b c,b c,,ok\n1,2,3,4,5\n");
    got = load_all(&dql_loader_csv, fpath("c4.csv"), NULL, NULL, &s, err, NULL);
    CHECK_STR(schema_str(s), "_1a: chararray, b_c: chararray, b_c_2: chararray, _3: chararray, ok: chararray");
    dql_schema_free(s);
    free(got);

    /* A directory of files: each file's header handled. */
    mkdir(fpath("dir"), 0755);
    WRITE("dir/a.csv", "k,v\n1,a\n2,b\n");
    WRITE("dir/b.csv", "k,v\n3,c\n");
    WRITE("dir/.hidden.csv", "k,v\n9,z\n");
    got = load_all(&dql_loader_csv, fpath("dir"), NULL, NULL, NULL, err, NULL);
    CHECK_STR(got, "1|a\n2|b\n3|c\n");
    free(got);
    dql_schema_free(d);

    /* Unterminated quote at end of file. */
    reset_warns();
    WRITE("c5.csv", "a,b\n1,\"open\n2,3\n");
    got = load_all(&dql_loader_csv, fpath("c5.csv"), NULL, NULL, NULL, err, NULL);
    CHECK_STR(got, "1|open\n2,3\n");
    CHECK(warn_count("csv: unterminated quote") == 1, "unterminated");
    free(got);

    /* Empty file without schema. */
    WRITE("c6.csv", "");
    got = load_all(&dql_loader_csv, fpath("c6.csv"), NULL, NULL, NULL, err, NULL);
    CHECK(!got && strstr(err, "is empty"), "empty csv: %s", err);
}

static void test_tsv(void)
{
    char err[512];
    dql_schema *s;
    reset_warns();
    WRITE("t1.tsv", "a\\tb\tc\\\\d\n\\N\tx\n\"q\"\t\n");
    char *got = load_all(&dql_loader_tsv, fpath("t1.tsv"), NULL, NULL, &s, err, NULL);
    CHECK_STR(got, "a\tb|c\\d\nNULL|x\n\"q\"|NULL\n");
    CHECK(s && s->n == 2 && !s->f[0].name, "tsv schema");
    dql_schema_free(s);
    free(got);
}

static void test_jsonl(void)
{
    char err[512];
    dql_schema *s;
    reset_warns();
    WRITE("j1.jsonl",
          "{\"a\": 1, \"b\": \"x\\u00e9\", \"c\": [1, 2], \"d\": {\"k\": \"v\"}, \"e\": true, \"f\": 1.5}\n"
          "\n"
          "{\"b\": \"y\", \"a\": 2, \"zz\": [[1]], \"e\": false}\n"
          "{\"a\": 3,, }\n"
          "[1,2]\n"
          "{\"a\": \"notanumber\"}\n");
    char *got = load_all(&dql_loader_jsonl, fpath("j1.jsonl"), NULL, NULL, &s, err, NULL);
    CHECK_STR(schema_str(s), "a: long, b: chararray, c: {(long)}, d: map[], e: boolean, f: double");
    CHECK_STR(got, "1|x\xc3\xa9|{(1),(2)}|[k#v]|true|1.5\n2|y|NULL|NULL|false|NULL\nNULL|NULL|NULL|NULL|NULL|NULL\n");
    CHECK(warn_count("jsonl: invalid JSON") == 2, "invalid json count %d", warn_count("jsonl: invalid JSON"));
    CHECK(warn_count("jsonl: bad value") == 1, "bad value");
    CHECK(strstr(warn_first("jsonl: invalid JSON"), ":4: invalid JSON (at byte 8: "), "where: %s",
          warn_first("jsonl: invalid JSON"));
    dql_schema_free(s);
    free(got);

    /* Declared schema: by name, with types and a tuple. */
    dql_schema *d = dql_schema_new(0);
    dql_schema_add(d, "b", DQL_T_CHARARRAY, NULL);
    dql_schema_add(d, "a", DQL_T_DOUBLE, NULL);
    dql_schema *tup = dql_schema_new(0);
    dql_schema_add(tup, "x", DQL_T_INT, NULL);
    dql_schema_add(tup, "y", DQL_T_CHARARRAY, NULL);
    dql_schema_add(d, "t", DQL_T_TUPLE, tup);
    WRITE("j2.jsonl", "{\"a\": 1, \"b\": 7, \"t\": [5, \"five\"]}\n{\"t\": {\"y\": \"w\", \"x\": 9}}\n");
    got = load_all(&dql_loader_jsonl, fpath("j2.jsonl"), NULL, d, NULL, err, NULL);
    CHECK_STR(got, "7|1.0|(5,five)\nNULL|NULL|(9,w)\n");
    free(got);
    dql_schema_free(d);
    dql_schema_free(tup);

    /* The parser directly. */
    dql_arena a;
    dql_arena_init(&a);
    dql_value v;
    char why[128];
    const char *bad[] = { "{\"a\":1,}", "[01]", "\"\\x\"", "tru", "{\"a\" 1}", "[1] 2", "\"a\nb\"", "1.", "-", "\"\\ud800\"" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(!dql_json_parse_value(&a, bad[i], strlen(bad[i]), NULL, &v, why, sizeof why), "accepted %s", bad[i]);
    const char *good = " {\"k\": [1, -2.5e3, \"\\ud83d\\ude00\", null, {}]} ";
    CHECK(dql_json_parse_value(&a, good, strlen(good), NULL, &v, why, sizeof why) && v.type == DQL_T_MAP,
          "good json: %s", why);
    dql_buf b = {0};
    dql_json_string(&b, "a\"b\\\n\x01\xc3\xa9", 8);
    CHECK_STR(dql_buf_cstr(&b), "\"a\\\"b\\\\\\n\\u0001\xc3\xa9\"");
    dql_buf_free(&b);
    dql_arena_free(&a);
}

static int count_tmp_files(void)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += strstr(de->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

static dql_status store_rows(const dql_storer_def *sd, const char *path, const dql_args *args,
                             const dql_schema *s, bool overwrite, dql_batch *b, bool commit, char *err)
{
    dql_args none = {0};
    dql_store_ctx sc = { path, args ? args : &none, s, overwrite, NULL };
    dql_status st = sd->plan(&sc, err, 512);
    if (st != DQL_OK)
        return st;
    dql_exec ex = {0};
    void *h;
    if ((st = sd->open(&sc, &ex, &h)) != DQL_OK)
        return st;
    if ((st = sd->write(h, b)) != DQL_OK) {
        sd->abort(h);
        return st;
    }
    if (!commit) {
        sd->abort(h);
        return DQL_OK;
    }
    return sd->commit(h);
}

static void test_storers(void)
{
    char err[512];
    dql_schema *s = dql_schema_new(0);
    dql_schema_add(s, "name", DQL_T_CHARARRAY, NULL);
    dql_schema_add(s, "n", DQL_T_LONG, NULL);
    dql_schema_add(s, NULL, DQL_T_CHARARRAY, NULL);
    dql_batch b;
    dql_batch_init(&b, 3, 8);
    dql_value *r = dql_batch_row(&b, 0);
    r[0] = dql_chararray("plain", 5); r[1] = dql_long(1); r[2] = dql_null();
    r = dql_batch_row(&b, 1);
    r[0] = dql_chararray("a,\"b\"\nc", 7); r[1] = dql_null(); r[2] = dql_chararray("", 0);
    r = dql_batch_row(&b, 2);
    r[0] = dql_chararray("t\tb\\", 4); r[1] = dql_long(-3); r[2] = dql_chararray("x", 1);
    b.n = 3;

    CHECK(store_rows(&dql_storer_csv, fpath("o.csv"), NULL, s, false, &b, true, err) == DQL_OK, "csv store: %s", err);
    char *got = read_all(fpath("o.csv"));
    CHECK_STR(got, "name,n,$2\nplain,1,\n\"a,\"\"b\"\"\nc\",,\"\"\nt\tb\\,-3,x\n");
    free(got);

    /* Round trip through the loader. */
    got = load_all(&dql_loader_csv, fpath("o.csv"), NULL, NULL, NULL, err, NULL);
    CHECK_STR(got, "plain|1|NULL\na,\"b\"\nc|NULL|\nt\tb\\|-3|x\n");
    free(got);

    /* Exists without overwrite. */
    CHECK(store_rows(&dql_storer_csv, fpath("o.csv"), NULL, s, false, &b, true, err) == DQL_ERR_CHECK, "exists");
    char want[512];
    snprintf(want, sizeof want, "output '%s' exists (use STORE ... OVERWRITE or SET overwrite true)", fpath("o.csv"));
    CHECK_STR(err, want);

    /* Abort leaves the old file and no temporary. */
    WRITE("keep.csv", "old\n");
    CHECK(store_rows(&dql_storer_csv, fpath("keep.csv"), NULL, s, true, &b, false, err) == DQL_OK, "abort");
    got = read_all(fpath("keep.csv"));
    CHECK_STR(got, "old\n");
    free(got);
    CHECK(count_tmp_files() == 0, "temporary removed");

    /* Missing directory. */
    CHECK(store_rows(&dql_storer_csv, fpath("nodir/x.csv"), NULL, s, false, &b, true, err) == DQL_ERR_CHECK &&
          strstr(err, "no such directory"), "nodir: %s", err);

    /* tsv with null text. */
    dql_args args;
    dql_arg *a = mkargs(&args, 1);
    a[0].name = "null";
    a[0].v = dql_chararray("\\N", 2);
    CHECK(store_rows(&dql_storer_tsv, fpath("o.tsv"), &args, s, false, &b, true, err) == DQL_OK, "tsv");
    got = read_all(fpath("o.tsv"));
    CHECK_STR(got, "plain\t1\t\\N\na,\"b\"\\nc\t\\N\t\nt\\tb\\\\\t-3\tx\n");
    free(got);
    free(args.a);
    got = load_all(&dql_loader_tsv, fpath("o.tsv"), NULL, NULL, NULL, err, NULL);
    CHECK_STR(got, "plain|1|NULL\na,\"b\"\nc|NULL|NULL\nt\tb\\|-3|x\n");
    free(got);

    CHECK(store_rows(&dql_storer_jsonl, fpath("o.jsonl"), NULL, s, false, &b, true, err) == DQL_OK, "jsonl");
    got = read_all(fpath("o.jsonl"));
    CHECK_STR(got, "{\"name\":\"plain\",\"n\":1,\"$2\":null}\n{\"name\":\"a,\\\"b\\\"\\nc\",\"n\":null,\"$2\":\"\"}\n"
                   "{\"name\":\"t\\tb\\\\\",\"n\":-3,\"$2\":\"x\"}\n");
    free(got);

    CHECK(store_rows(&dql_storer_lines, fpath("o.txt.gz"), NULL, s, false, &b, true, err) == DQL_OK, "lines gz");
    got = load_all(&dql_loader_lines, fpath("o.txt.gz"), NULL, NULL, NULL, err, NULL);
    CHECK_STR(got, "plain\na,\"b\"\nc\nt\tb\\\n");
    free(got);
    char *raw = read_all(fpath("o.txt.gz"));
    CHECK(raw && (unsigned char)raw[0] == 0x1f && (unsigned char)raw[1] == 0x8b, "gz magic");
    free(raw);

    dql_batch_free(&b);
    dql_schema_free(s);
}

/* Prints the fixture rows in a mode and returns the text. */
static char *print_mode(dql_outmode m, bool headers, int64_t maxrows, int maxwidth, int nrows)
{
    dql_schema *s = dql_schema_new(0);
    dql_schema_add(s, "name", DQL_T_CHARARRAY, NULL);
    dql_schema_add(s, "n", DQL_T_LONG, NULL);
    dql_schema_add(s, NULL, DQL_T_CHARARRAY, NULL);
    dql_value rows[3][3] = {
        { dql_chararray("a|b", 3), dql_long(1), dql_null() },
        { dql_chararray("a very long value", 17), dql_long(-22), dql_chararray("h\xc3\xa9llo", 6) },
        { dql_chararray("x", 1), dql_long(333), dql_chararray("", 0) },
    };
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    dql_out_opts o = { m, headers, "NULL", maxrows, maxwidth, fp };
    dql_printer *p = dql_printer_new(&o, s);
    for (int i = 0; i < nrows; i++)
        dql_printer_row(p, rows[i]);
    dql_printer_end(p);
    dql_printer_free(p);
    fclose(fp);
    dql_schema_free(s);
    return buf;
}

static void test_printer(void)
{
    char *g;
    g = print_mode(DQL_OUT_TABLE, true, 0, 8, 3);
    CHECK_STR(g,
        "+----------+-----+-------+\n"
        "|   name   |  n  |  $2   |\n"
        "+----------+-----+-------+\n"
        "| a|b      |   1 | NULL  |\n"
        "| a very \xe2\x80\xa6 | -22 | h\xc3\xa9llo |\n"
        "| x        | 333 |       |\n"
        "+----------+-----+-------+\n");
    free(g);
    g = print_mode(DQL_OUT_BOX, true, 2, 0, 3);
    CHECK_STR(g,
        "\xe2\x94\x8c\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\xac\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\xac\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x90\n"
        "\xe2\x94\x82       name        \xe2\x94\x82  n  \xe2\x94\x82  $2   \xe2\x94\x82\n"
        "\xe2\x94\x9c\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\xbc\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\xbc\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\xa4\n"
        "\xe2\x94\x82 a|b               \xe2\x94\x82   1 \xe2\x94\x82 NULL  \xe2\x94\x82\n"
        "\xe2\x94\x82 a very long value \xe2\x94\x82 -22 \xe2\x94\x82 h\xc3\xa9llo \xe2\x94\x82\n"
        "\xe2\x94\x94\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\xb4\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\xb4\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x98\n"
        "2 of 3 rows shown; .last to see all\n");
    free(g);
    g = print_mode(DQL_OUT_CSV, true, 1, 4, 3);
    CHECK_STR(g, "name,n,$2\na|b,1,NULL\na very long value,-22,h\xc3\xa9llo\nx,333,\n");
    free(g);
    g = print_mode(DQL_OUT_CSV, false, 0, 0, 1);
    CHECK_STR(g, "a|b,1,NULL\n");
    free(g);
    g = print_mode(DQL_OUT_TSV, true, 0, 0, 2);
    CHECK_STR(g, "name\tn\t$2\na|b\t1\tNULL\na very long value\t-22\th\xc3\xa9llo\n");
    free(g);
    g = print_mode(DQL_OUT_JSON, true, 0, 0, 2);
    CHECK_STR(g, "[{\"name\":\"a|b\",\"n\":1,\"$2\":null},\n{\"name\":\"a very long value\",\"n\":-22,\"$2\":\"h\xc3\xa9llo\"}]\n");
    free(g);
    g = print_mode(DQL_OUT_JSON, true, 0, 0, 0);
    CHECK_STR(g, "[]\n");
    free(g);
    g = print_mode(DQL_OUT_JSONL, true, 0, 0, 1);
    CHECK_STR(g, "{\"name\":\"a|b\",\"n\":1,\"$2\":null}\n");
    free(g);
    g = print_mode(DQL_OUT_MARKDOWN, true, 0, 0, 3);
    CHECK_STR(g,
        "| name              | n   | $2    |\n"
        "|-------------------|----:|-------|\n"
        "| a\\|b              |   1 | NULL  |\n"
        "| a very long value | -22 | h\xc3\xa9llo |\n"
        "| x                 | 333 |       |\n");
    free(g);
    g = print_mode(DQL_OUT_LINE, true, 2, 0, 3);
    CHECK_STR(g, " name = a|b\n    n = 1\n   $2 = NULL\n\n name = a very long value\n    n = -22\n   $2 = h\xc3\xa9llo\n"
                 "2 of 3 rows shown; .last to see all\n");
    free(g);
    g = print_mode(DQL_OUT_TABLE, false, 0, 0, 1);
    CHECK_STR(g, "+-----+---+------+\n| a|b | 1 | NULL |\n+-----+---+------+\n");
    free(g);

    dql_outmode m;
    CHECK(dql_outmode_parse("Markdown", &m) && m == DQL_OUT_MARKDOWN, "parse mode");
    CHECK(!dql_outmode_parse("nope", &m), "bad mode");
    CHECK_STR(dql_outmode_name(DQL_OUT_BOX), "box");
}

static void rm_rf(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    char p[512];
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rm_rf(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s", "/tmp/dql_test_io.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_reader();
    test_lines_zero_copy();
    test_lines();
    test_csv();
    test_tsv();
    test_jsonl();
    test_storers();
    test_printer();
    rm_rf(tmpdir);
    printf("%d passed, %d failed\n", npass, nfail);
    return nfail ? 1 : 0;
}
