/* testrun.c — `dql --run-tests FILE...`: data-driven tests. A test file is a
 * list of cases:
 *
 *   %%TEST name             starts a case
 *   %%FILE path             a fixture written (relative to the case's temp dir)
 *   %%RUN                   script run in a fresh session (cwd: the temp dir;
 *                           parameters $srcdir = the test file's directory,
 *                           $shared = ../shared beside the source tree)
 *   %%EXPECT                exact stdout of the preceding RUN (default mode:
 *                           csv, no headers)
 *   %%STDERR                exact stderr (without it, stderr must be empty)
 *   %%FAIL [CODE]           exact stderr of a RUN that must fail (exit CODE)
 *
 * Several RUNs in one case share the temp dir (and so the workspace). A
 * failure prints the expected and actual text. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <limits.h>
#include <sys/stat.h>
#include <libgen.h>
#include "session.h"
#include "files.h"

dql_status dql_shell_script(dql_session *s, const char *file, const char *text, int flags);
void dql_shell_reset(void);

typedef struct block { char kind[16]; char *arg; dql_buf body; int line; } block;

static void write_fixture(const char *dir, const char *rel, const dql_buf *b)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    /* create parent directories */
    for (char *p = path + strlen(dir) + 1; *p; p++)
        if (*p == '/') { *p = 0; mkdir(path, 0777); *p = '/'; }
    FILE *f = fopen(path, "wb");
    if (!f) { fprintf(stderr, "cannot write fixture %s\n", path); return; }
    if (b->len) fwrite(b->p, 1, b->len, f);
    fclose(f);
}

static void show_diff(const char *what, const char *exp, const char *got)
{
    fprintf(stderr, "--- expected %s\n%s", what, exp);
    if (*exp && exp[strlen(exp) - 1] != '\n') fputs("\\ (no newline)\n", stderr);
    fprintf(stderr, "--- got %s\n%s", what, got);
    if (*got && got[strlen(got) - 1] != '\n') fputs("\\ (no newline)\n", stderr);
    fputs("---\n", stderr);
}

typedef struct tcase { char *name; block *b; int nb; } tcase;

/* Runs one case; returns true when it passes. */
static bool run_case(const tcase *tc, const char *srcdir, const char *shared, const char *file)
{
    char dir[] = "/tmp/dql-test-XXXXXX";
    if (!mkdtemp(dir)) { perror("mkdtemp"); return false; }
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) cwd[0] = 0;
    bool ok = true;
    for (int i = 0; i < tc->nb; i++)
        if (!strcmp(tc->b[i].kind, "FILE")) write_fixture(dir, tc->b[i].arg, &tc->b[i].body);
    if (chdir(dir) != 0) { perror("chdir"); return false; }
    for (int i = 0; i < tc->nb && ok; i++) {
        if (strcmp(tc->b[i].kind, "RUN") != 0) continue;
        const block *run = &tc->b[i];
        const block *expect = NULL, *err = NULL, *fail = NULL;
        for (int j = i + 1; j < tc->nb && strcmp(tc->b[j].kind, "RUN") != 0; j++) {
            if (!strcmp(tc->b[j].kind, "EXPECT")) expect = &tc->b[j];
            if (!strcmp(tc->b[j].kind, "STDERR")) err = &tc->b[j];
            if (!strcmp(tc->b[j].kind, "FAIL")) fail = &tc->b[j];
        }
        char *outp = NULL, *errp = NULL;
        size_t outn = 0, errn = 0;
        FILE *out = open_memstream(&outp, &outn), *ef = open_memstream(&errp, &errn);
        dql_shell_reset();
        dql_session *s = dql_session_new();
        dql_session_out(s)->fp = out;
        dql_session_set_errfp(s, ef);
        dql_session_param(s, "srcdir", srcdir);
        dql_session_param(s, "shared", shared);
        char e[256];
        dql_session_set(s, "db", "dql.db", e, sizeof e);
        /* the script gets the test file's name and the RUN block's line numbers */
        dql_buf text = {0};
        for (int l = 0; l < run->line; l++) dql_buf_putc(&text, '\n');
        dql_buf_put(&text, run->body.p ? run->body.p : "", run->body.len);
        const char *base = strrchr(file, '/');
        dql_status st = dql_shell_script(s, base ? base + 1 : file, dql_buf_cstr(&text), 0);
        dql_buf_free(&text);
        if (dql_session_out(s)->fp != out) { fclose(dql_session_out(s)->fp); dql_session_out(s)->fp = out; }
        dql_session_free(s);
        fclose(out);
        fclose(ef);
        const char *exp_out = expect && expect->body.p ? expect->body.p : "";
        const char *exp_err = fail ? (fail->body.p ? fail->body.p : "") : err && err->body.p ? err->body.p : "";
        if (fail) {
            int code = dql_status_exit(st);
            if (st == DQL_OK) { fprintf(stderr, "%s: case '%s': the run should have failed\n", file, tc->name); ok = false; }
            else if (fail->arg && *fail->arg && atoi(fail->arg) != code) {
                fprintf(stderr, "%s: case '%s': exit code %d, expected %s\n", file, tc->name, code, fail->arg);
                ok = false;
            }
        } else if (st != DQL_OK && !err) {
            fprintf(stderr, "%s: case '%s': the run failed (%s)\n", file, tc->name, dql_status_str(st));
            ok = false;
        }
        if (strcmp(exp_out, outp ? outp : "") != 0 && (expect || !fail)) {
            fprintf(stderr, "%s:%d: case '%s': stdout differs\n", file, expect ? expect->line : run->line, tc->name);
            show_diff("stdout", exp_out, outp ? outp : "");
            ok = false;
        }
        if (strcmp(exp_err, errp ? errp : "") != 0) {
            fprintf(stderr, "%s:%d: case '%s': stderr differs\n", file, fail ? fail->line : err ? err->line : run->line, tc->name);
            show_diff("stderr", exp_err, errp ? errp : "");
            ok = false;
        }
        free(outp);
        free(errp);
    }
    if (cwd[0] && chdir(cwd) != 0) perror("chdir");
    dql_files_rmtree(dir);
    return ok;
}

static int run_file(const char *file, int *passed, int *failed)
{
    char err[512];
    size_t len;
    char *t = dql_read_file(file, &len, err, sizeof err);
    if (!t) { fprintf(stderr, "dql: %s\n", err); return 2; }
    char abs[PATH_MAX];
    if (!realpath(file, abs)) snprintf(abs, sizeof abs, "%s", file);
    char *d = dql_xstrdup(abs);
    char *srcdir = dql_xstrdup(dirname(d));
    free(d);
    /* ../shared beside the repository: the test file's dir is <repo>/tests */
    char shared[PATH_MAX];
    const char *env = getenv("SHARED");
    if (env && *env) snprintf(shared, sizeof shared, "%s", env);
    else snprintf(shared, sizeof shared, "%s/../../shared", srcdir);
    tcase *cases = NULL;
    int nc = 0;
    int lineno = 0;
    block *cur = NULL;
    char *p = t, *end = t + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        lineno++;
        if (ll >= 2 && p[0] == '%' && p[1] == '%') {
            char kw[16] = "";
            size_t k = 2;
            while (k < ll && k - 2 < sizeof kw - 1 && p[k] != ' ') { kw[k - 2] = p[k]; k++; }
            kw[k - 2] = 0;
            while (k < ll && p[k] == ' ') k++;
            char *arg = dql_xstrndup(p + k, ll - k);
            if (!strcmp(kw, "TEST")) {
                cases = dql_xrealloc(cases, sizeof(tcase) * (size_t)(nc + 1));
                cases[nc].name = arg;
                cases[nc].b = NULL;
                cases[nc].nb = 0;
                nc++;
                cur = NULL;
            } else if (!strcmp(kw, "FILE") || !strcmp(kw, "RUN") || !strcmp(kw, "EXPECT") || !strcmp(kw, "STDERR") || !strcmp(kw, "FAIL")) {
                if (nc == 0) { fprintf(stderr, "%s:%d: %%%%%s before %%%%TEST\n", file, lineno, kw); free(arg); free(t); return 2; }
                tcase *tc = &cases[nc - 1];
                tc->b = dql_xrealloc(tc->b, sizeof(block) * (size_t)(tc->nb + 1));
                cur = &tc->b[tc->nb++];
                memset(cur, 0, sizeof *cur);
                snprintf(cur->kind, sizeof cur->kind, "%s", kw);
                cur->arg = arg;
                cur->line = lineno;
            } else if (!strcmp(kw, "#")) {
                free(arg);
            } else {
                fprintf(stderr, "%s:%d: unknown directive %%%%%s\n", file, lineno, kw);
                free(arg);
                free(t);
                return 2;
            }
        } else if (cur) {
            dql_buf_put(&cur->body, p, ll);
            dql_buf_putc(&cur->body, '\n');
        }
        p = nl ? nl + 1 : end;
    }
    for (int i = 0; i < nc; i++) {
        for (int j = 0; j < cases[i].nb; j++) if (cases[i].b[j].body.p) dql_buf_cstr(&cases[i].b[j].body);
        bool ok = run_case(&cases[i], srcdir, shared, file);
        if (ok) (*passed)++;
        else { (*failed)++; fprintf(stderr, "FAIL: %s: %s\n", file, cases[i].name); }
        for (int j = 0; j < cases[i].nb; j++) { free(cases[i].b[j].arg); dql_buf_free(&cases[i].b[j].body); }
        free(cases[i].b);
        free(cases[i].name);
    }
    free(cases);
    free(srcdir);
    free(t);
    return 0;
}

int dql_run_tests(int argc, char **argv)
{
    int passed = 0, failed = 0;
    if (argc == 0) { fprintf(stderr, "Usage: dql --run-tests FILE.test...\n"); return 2; }
    for (int i = 0; i < argc; i++)
        if (run_file(argv[i], &passed, &failed) != 0) return 2;
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
