/* main.c — the dql command line: batch scripts (files, -e, stdin), the
 * interactive shell on a terminal, Lua driver scripts, and --run-tests. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <errno.h>
#include "session.h"
#include "lua_host.h"
#include "lexer.h"

int dql_run_tests(int argc, char **argv);
int dql_shell_run(dql_session *s);
char *dql_read_file(const char *path, size_t *len, char *err, size_t errlen);

static volatile sig_atomic_t *g_intr;
static volatile sig_atomic_t g_intr_count;

static void on_sigint(int sig)
{
    (void)sig;
    if (g_intr) *g_intr = 1;
    if (++g_intr_count >= 3) _exit(130);
}

static void usage(FILE *fp)
{
    fputs(
        "Usage: dql [OPTIONS] [SCRIPT.dql | DRIVER.lua [ARGS...]]\n"
        "\n"
        "Runs dql scripts (a Pig-like dataflow language for DNS and network data).\n"
        "With no script and a terminal on stdin, starts the interactive shell;\n"
        "with a pipe on stdin, reads the script from it.\n"
        "\n"
        "  -e STMTS           run statements (repeatable, runs in order with -f)\n"
        "  -f FILE            run a script file (repeatable)\n"
        "  -c, --check        parse and check only; run nothing\n"
        "  -bail, --bail      stop at the first failing statement\n"
        "  -p NAME=VALUE      set a parameter ($NAME in scripts; repeatable)\n"
        "  --param-file FILE  read NAME=VALUE parameters from a file\n"
        "  --db FILE          workspace database (default: dql.db)\n"
        "  --mode MODE        output mode: table box csv tsv json jsonl markdown line\n"
        "  --headers          print column headers (csv, tsv)\n"
        "  -X                 do not read ~/.dqlrc\n"
        "  --run-tests FILE.. run data-driven test files\n"
        "  --version          print the version\n"
        "  --help             print this help\n"
        "\n"
        "Exit codes: 0 ok, 1 runtime error, 2 usage or system error,\n"
        "3 parse or check error, 130 interrupted.\n", fp);
}

char *dql_read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) { snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno)); return NULL; }
    dql_buf b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) dql_buf_put(&b, tmp, n);
    bool bad = ferror(f) != 0;
    if (f != stdin) fclose(f);
    if (bad) { snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno)); dql_buf_free(&b); return NULL; }
    if (len) *len = b.len;
    dql_buf_cstr(&b);
    return b.p;
}

/* Runs a script text; dot-commands at the start of a line are handled by the
 * shell layer (dql_shell_script), statements by the session. */
dql_status dql_shell_script(dql_session *s, const char *file, const char *text, int flags);

typedef struct job { char kind; const char *arg; } job;

static dql_status worst(dql_status a, dql_status b) { return a != DQL_OK ? a : b; }

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--run-tests") == 0) return dql_run_tests(argc - 2, argv + 2);
    job *jobs = dql_xcalloc((size_t)argc + 1, sizeof(job));
    int njobs = 0, flags = 0;
    bool norc = false, headers = false;
    const char *db = NULL, *mode = NULL, *script = NULL;
    int script_argi = -1;
    dql_session *s = dql_session_new();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool more = i + 1 < argc;
        if (!strcmp(a, "-e") || !strcmp(a, "-f")) {
            if (!more) { fprintf(stderr, "dql: %s needs an argument\n", a); usage(stderr); return 2; }
            jobs[njobs].kind = a[1];
            jobs[njobs++].arg = argv[++i];
        } else if (!strcmp(a, "-c") || !strcmp(a, "--check")) flags |= DQL_RUN_CHECK_ONLY;
        else if (!strcmp(a, "-bail") || !strcmp(a, "--bail")) flags |= DQL_RUN_BAIL;
        else if (!strcmp(a, "-X")) norc = true;
        else if (!strcmp(a, "--headers")) headers = true;
        else if (!strcmp(a, "-p")) {
            if (!more) { fprintf(stderr, "dql: -p needs NAME=VALUE\n"); return 2; }
            const char *kv = argv[++i];
            const char *eq = strchr(kv, '=');
            if (!eq || eq == kv) { fprintf(stderr, "dql: -p needs NAME=VALUE, not '%s'\n", kv); return 2; }
            char *name = dql_xstrndup(kv, (size_t)(eq - kv));
            dql_session_param(s, name, eq + 1);
            free(name);
        } else if (!strcmp(a, "--param-file")) {
            if (!more) { fprintf(stderr, "dql: --param-file needs a file\n"); return 2; }
            char err[512];
            char *t = dql_read_file(argv[++i], NULL, err, sizeof err);
            if (!t) { fprintf(stderr, "dql: %s\n", err); return 2; }
            char *save = NULL;
            int lineno = 0;
            for (char *line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                lineno++;
                while (*line == ' ' || *line == '\t') line++;
                if (!*line || *line == '#') continue;
                char *eq = strchr(line, '=');
                if (!eq) { fprintf(stderr, "dql: %s:%d: expected NAME=VALUE\n", argv[i], lineno); free(t); return 2; }
                *eq = 0;
                char *v = eq + 1;
                size_t vl = strlen(v);
                if (vl >= 2 && ((v[0] == '\'' && v[vl - 1] == '\'') || (v[0] == '"' && v[vl - 1] == '"'))) { v[vl - 1] = 0; v++; }
                dql_session_param(s, line, v);
            }
            free(t);
        } else if (!strcmp(a, "--db")) {
            if (!more) { fprintf(stderr, "dql: --db needs a file\n"); return 2; }
            db = argv[++i];
        } else if (!strcmp(a, "--mode")) {
            if (!more) { fprintf(stderr, "dql: --mode needs a mode\n"); return 2; }
            mode = argv[++i];
        } else if (!strcmp(a, "--version")) {
            printf("dql %s\n", PACKAGE_VERSION);
            return 0;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "dql: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else {
            script = a;
            script_argi = i;
            break;   /* the rest are the script's arguments */
        }
    }
    g_intr = dql_session_interrupt_flag(s);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);

    dql_out_opts *o = dql_session_out(s);
    bool tty_out = isatty(1);
    o->mode = tty_out ? DQL_OUT_TABLE : DQL_OUT_CSV;
    o->headers = tty_out || headers;
    o->maxrows = tty_out ? 40 : 0;
    if (mode && !dql_outmode_parse(mode, &o->mode)) {
        fprintf(stderr, "dql: unknown output mode '%s' (table box csv tsv json jsonl markdown line)\n", mode);
        return 2;
    }
    char err[512];
    if (db && dql_session_set(s, "db", db, err, sizeof err) != DQL_OK) { fprintf(stderr, "dql: %s\n", err); return 2; }

    dql_status st = DQL_OK;
    if (!norc) {
        const char *home = getenv("HOME");
        if (home) {
            char rc[4096];
            snprintf(rc, sizeof rc, "%s/.dqlrc", home);
            if (access(rc, R_OK) == 0) {
                char *t = dql_read_file(rc, NULL, err, sizeof err);
                if (t) { st = dql_shell_script(s, rc, t, flags & ~DQL_RUN_BAIL); free(t); }
            }
        }
    }
    int rc = 0;
    if (script) {
        size_t n = strlen(script);
        if (n > 4 && !strcmp(script + n - 4, ".lua")) {
            lua_State *L = dql_session_lua(s);
            st = dql_lua_run_driver(L, script, argc - script_argi - 1, argv + script_argi + 1, err, sizeof err);
            if (st != DQL_OK && st != DQL_ERR_INTERRUPT) fprintf(stderr, "%s\n", err);
        } else {
            char *t = dql_read_file(script, NULL, err, sizeof err);
            if (!t) { fprintf(stderr, "dql: %s\n", err); dql_session_free(s); free(jobs); return 2; }
            st = worst(st, dql_shell_script(s, script, t, flags));
            free(t);
        }
    }
    for (int j = 0; j < njobs && !(st != DQL_OK && (flags & DQL_RUN_BAIL)); j++) {
        dql_status js;
        if (jobs[j].kind == 'e') js = dql_shell_script(s, "-e", jobs[j].arg, flags);
        else {
            char *t = dql_read_file(jobs[j].arg, NULL, err, sizeof err);
            if (!t) { fprintf(stderr, "dql: %s\n", err); rc = 2; break; }
            js = dql_shell_script(s, jobs[j].arg, t, flags);
            free(t);
        }
        st = worst(st, js);
        if (js == DQL_ERR_INTERRUPT) break;
    }
    if (!script && njobs == 0 && rc == 0) {
        if (isatty(0)) rc = dql_shell_run(s);
        else {
            char *t = dql_read_file("-", NULL, err, sizeof err);
            if (!t) { fprintf(stderr, "dql: %s\n", err); rc = 2; }
            else { st = worst(st, dql_shell_script(s, "<stdin>", t, flags)); free(t); }
        }
    }
    if (rc == 0) rc = dql_status_exit(st);
    dql_session_free(s);
    free(jobs);
    return rc;
}
