/* main.c — the dql command line: batch scripts (files, -e, stdin), the
 * interactive shell on a terminal, Lua driver scripts, and --run-tests. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <errno.h>
#include <ctype.h>
#include <sys/stat.h>
#include <time.h>
#include <lua.h>
#include <lauxlib.h>
#include "session.h"
#include "shard.h"
#include "lua_host.h"
#include "lexer.h"

int dql_run_tests(int argc, char **argv);
int dql_shell_run(dql_session *s);

extern volatile sig_atomic_t dql_shell_at_prompt;
static volatile sig_atomic_t *g_intr;
static double g_intr_at[2];    /* the times of the two Ctrl-Cs before this one */

/* Ctrl-C: at the shell's prompt, only interrupts its read (the line is
 * cleared); otherwise sets the session's interrupt flag, which cancels the
 * running statement. A third Ctrl-C within a second exits with 130. */
static void on_sigint(int sig)
{
    (void)sig;
    if (dql_shell_at_prompt) return;
    if (g_intr) *g_intr = 1;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    if (g_intr_at[0] > 0 && now - g_intr_at[0] < 1.0) {
        static const char msg[] = "\ninterrupted\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        _exit(130);
    }
    g_intr_at[0] = g_intr_at[1];
    g_intr_at[1] = now;
}

static const char usage_line[] = "Usage: dql [OPTIONS] [SCRIPT.dql | DRIVER.lua [ARGS...]]\n";

static void usage(FILE *fp)
{
    fputs(usage_line, fp);
    fputs(
        "\n"
        "Runs dql scripts (a Pig-like dataflow language for DNS and network data).\n"
        "With no script and a terminal on stdin, starts the interactive shell;\n"
        "with a pipe on stdin, reads the script from it.\n"
        "\n"
        "  -e STMTS           run statements (repeatable, runs in order with -f)\n"
        "  -f FILE            run a script file (repeatable; - is stdin)\n"
        "  -c, --check        parse and check only; run nothing\n"
        "  -bail, --bail      stop at the first failing statement\n"
        "  -p NAME=VALUE      set a parameter ($NAME in scripts; repeatable)\n"
        "  --param-file FILE  read NAME=VALUE parameters from a file (-p wins)\n"
        "  --db FILE          workspace database (default: dql.db)\n"
        "  --mode MODE        output mode: table box csv tsv json jsonl markdown line\n"
        "  --headers          print column headers (csv, tsv)\n"
        "  -i, --interactive  start the interactive shell after -e, -f or SCRIPT\n"
        "  --shards N         run the script in N tasks, each on its shard of the\n"
        "                     first LOAD, and merge (SET shards)\n"
        "  --executor E       where the tasks run: local or slurm (SET executor)\n"
        "  --resume           rerun only the tasks a failed sharded run did not finish\n"
        "  -X                 do not read ~/.dqlrc\n"
        "  -init FILE         run FILE instead of ~/.dqlrc\n"
        "  --run-tests FILE.. run data-driven test files\n"
        "  --version          print the version\n"
        "  --help             print this help\n"
        "\n"
        "-e and -f run in the order given, then SCRIPT. Batch output is csv\n"
        "without headers unless --mode or --headers says otherwise.\n"
        "Exit codes: 0 ok, 1 runtime error, 2 usage or system error,\n"
        "3 parse or check error, 130 interrupted.\n", fp);
}

/* A command-line mistake: the message, the usage line, exit status 2. */
static int usage_error(const char *fmt, const char *arg)
{
    fputs("dql: ", stderr);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    fputs(usage_line, stderr);
    fputs("Try 'dql --help' for more information.\n", stderr);
    return DQL_EXIT_USAGE;
}

/* Runs a script text; dot-commands at the start of a line are handled by the
 * shell layer (dql_shell_script), statements by the session. */
dql_status dql_shell_script(dql_session *s, const char *file, const char *text, int flags);
void dql_shell_init(dql_session *s, bool headers);
bool dql_shell_quit_requested(int *code);
bool dql_shell_bail_on(void);
void dql_shell_done(dql_session *s);

typedef struct job { char kind; const char *arg; } job;

static dql_status worst(dql_status a, dql_status b) { return a != DQL_OK ? a : b; }

static bool valid_param_name(const char *p, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)p[0]) || p[0] == '_')) return false;
    for (size_t i = 1; i < n; i++) if (!(isalnum((unsigned char)p[i]) || p[i] == '_')) return false;
    return true;
}

/* Reads a --param-file: NAME=VALUE lines (blanks around both trimmed, the
 * value may be quoted), blank lines and # comments skipped. 0 or exit 2. */
static int read_param_file(dql_session *s, const char *path)
{
    char err[512];
    char *t = dql_read_file(path, NULL, err, sizeof err);
    if (!t) { fprintf(stderr, "dql: --param-file: %s\n", err); return DQL_EXIT_USAGE; }
    int lineno = 0, rc = 0;
    char *line = t;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        lineno++;
        size_t ll = strlen(line);
        while (ll && (line[ll - 1] == '\r' || line[ll - 1] == ' ' || line[ll - 1] == '\t')) line[--ll] = 0;
        while (*line == ' ' || *line == '\t') line++;
        if (*line && *line != '#') {
            char *eq = strchr(line, '=');
            char *ne = eq;
            while (ne && ne > line && (ne[-1] == ' ' || ne[-1] == '\t')) ne--;
            if (!eq || !valid_param_name(line, (size_t)(ne - line))) {
                fprintf(stderr, "dql: %s:%d: expected NAME=VALUE, not '%s'\n", path, lineno, line);
                rc = DQL_EXIT_USAGE;
                break;
            }
            *ne = 0;
            char *v = eq + 1;
            while (*v == ' ' || *v == '\t') v++;
            size_t vl = strlen(v);
            if (vl >= 2 && ((v[0] == '\'' && v[vl - 1] == '\'') || (v[0] == '"' && v[vl - 1] == '"'))) { v[vl - 1] = 0; v++; }
            dql_session_param(s, line, v);
        }
        line = nl ? nl + 1 : NULL;
    }
    free(t);
    return rc;
}

/* True when the directory part of path exists (the workspace may not yet). */
static bool dir_exists(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return true;
    char *dir = dql_xstrndup(path, slash == path ? 1 : (size_t)(slash - path));
    struct stat st;
    bool ok = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
    free(dir);
    return ok;
}

/* -c on a driver script: compile it only. */
static dql_status check_lua(dql_session *s, const char *path)
{
    lua_State *L = dql_session_lua(s);
    int top = lua_gettop(L);
    int st = luaL_loadfilex(L, path, "t");
    dql_status ret = DQL_OK;
    if (st != LUA_OK) {
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
        ret = st == LUA_ERRFILE ? DQL_ERR_USAGE : DQL_ERR_PARSE;
    }
    lua_settop(L, top);
    return ret;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--run-tests") == 0) return dql_run_tests(argc - 2, argv + 2);
    job *jobs = dql_xcalloc((size_t)argc + 1, sizeof(job));
    const char **pfiles = dql_xcalloc((size_t)argc + 1, sizeof(char *));
    const char **pvals = dql_xcalloc((size_t)argc + 1, sizeof(char *));
    int njobs = 0, npfiles = 0, npvals = 0, flags = 0, rc = 0;
    bool norc = false, headers = false, interactive = false;
    const char *db = NULL, *mode = NULL, *script = NULL, *init = NULL;
    int script_argi = -1;
    int task = -1, ntasks = 0, task_seg = 1;
    const char *shard_dir = NULL;
    dql_session *s = dql_session_new();
    char err[512];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool more = i + 1 < argc;
        if (!strcmp(a, "-e") || !strcmp(a, "-f")) {
            if (!more) { rc = usage_error("%s needs an argument", a); goto done; }
            jobs[njobs].kind = a[1];
            jobs[njobs++].arg = argv[++i];
        } else if (!strcmp(a, "-c") || !strcmp(a, "--check")) flags |= DQL_RUN_CHECK_ONLY;
        else if (!strcmp(a, "-bail") || !strcmp(a, "--bail")) flags |= DQL_RUN_BAIL;
        else if (!strcmp(a, "-X")) norc = true;
        else if (!strcmp(a, "-i") || !strcmp(a, "--interactive")) interactive = true;
        else if (!strcmp(a, "--headers")) headers = true;
        else if (!strcmp(a, "-p")) {
            if (!more) { rc = usage_error("%s needs NAME=VALUE", a); goto done; }
            const char *kv = argv[++i];
            const char *eq = strchr(kv, '=');
            if (!eq || !valid_param_name(kv, (size_t)(eq - kv))) { rc = usage_error("-p needs NAME=VALUE, not '%s'", kv); goto done; }
            pvals[npvals++] = kv;
        } else if (!strcmp(a, "--param-file")) {
            if (!more) { rc = usage_error("%s needs a file", a); goto done; }
            pfiles[npfiles++] = argv[++i];
        } else if (!strcmp(a, "--db")) {
            if (!more) { rc = usage_error("%s needs a file", a); goto done; }
            db = argv[++i];
        } else if (!strcmp(a, "-init") || !strcmp(a, "--init")) {
            if (!more) { rc = usage_error("%s needs a file", a); goto done; }
            init = argv[++i];
        } else if (!strcmp(a, "--mode")) {
            if (!more) { rc = usage_error("%s needs a mode", a); goto done; }
            mode = argv[++i];
            dql_outmode m;
            if (!dql_outmode_parse(mode, &m)) { rc = usage_error("unknown output mode '%s' (table box csv tsv json jsonl markdown line)", mode); goto done; }
        } else if (!strcmp(a, "--shards") || !strcmp(a, "--executor")) {
            if (!more) { rc = usage_error("%s needs a value", a); goto done; }
            if (dql_session_set(s, a[2] == 's' ? "shards" : "executor", argv[++i], err, sizeof err) != DQL_OK) {
                rc = usage_error("%s", err);
                goto done;
            }
        } else if (!strcmp(a, "--resume")) {
            dql_shard_set_resume(true);
        } else if (!strcmp(a, "--task")) {
            /* internal: a task of a sharded run (with --task-seg and --shard-dir) */
            int t, n;
            char c;
            if (!more || sscanf(argv[++i], "%d/%d%c", &t, &n, &c) != 2 || t < 0 || n < 1 || t >= n) {
                rc = usage_error("--task needs I/N with 0 <= I < N, not '%s'", more ? argv[i] : "");
                goto done;
            }
            task = t;
            ntasks = n;
        } else if (!strcmp(a, "--task-exact")) {
            /* internal: the rerun of a task whose speculative start was wrong */
            dql_shard_set_exact(true);
        } else if (!strcmp(a, "--task-seg")) {
            if (!more) { rc = usage_error("%s needs a number", a); goto done; }
            task_seg = atoi(argv[++i]);
        } else if (!strcmp(a, "--shard-dir")) {
            if (!more) { rc = usage_error("%s needs a directory", a); goto done; }
            shard_dir = argv[++i];
        } else if (!strcmp(a, "--version")) {
            printf("dql %s\n", PACKAGE_VERSION);
            goto done;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            goto done;
        } else if (!strcmp(a, "--run-tests")) {
            rc = usage_error("%s must be the first argument", a);
            goto done;
        } else if (!strcmp(a, "--")) {
            if (more) { script = argv[i + 1]; script_argi = i + 1; }
            break;
        } else if (a[0] == '-' && a[1]) {
            rc = usage_error("unknown option '%s'", a);
            goto done;
        } else {
            script = a;
            script_argi = i;
            break;   /* the rest are the script's arguments */
        }
    }
    if (script) {
        size_t n = strlen(script);
        bool lua = n > 4 && !strcmp(script + n - 4, ".lua");
        if (!lua && script_argi + 1 < argc) {
            rc = usage_error("only a .lua driver takes arguments: '%s' after the script (options go before it)", argv[script_argi + 1]);
            goto done;
        }
    }
    if (task >= 0) {
        if (!shard_dir) { rc = usage_error("%s", "--task needs --shard-dir"); goto done; }
        dql_shard_set_task(task, ntasks, task_seg, shard_dir);
    }
    {
        /* a sharded run re-runs this command line in each task: a script from stdin cannot be */
        bool has_script = script != NULL || njobs > 0;
        for (int j = 0; j < njobs; j++)
            if (jobs[j].kind == 'f' && !strcmp(jobs[j].arg, "-")) has_script = false;
        dql_shard_cli(argc, argv, has_script);
    }
    /* parameters: the files first, then -p, which wins */
    for (int i = 0; i < npfiles; i++) if ((rc = read_param_file(s, pfiles[i])) != 0) goto done;
    for (int i = 0; i < npvals; i++) {
        const char *eq = strchr(pvals[i], '=');
        char *name = dql_xstrndup(pvals[i], (size_t)(eq - pvals[i]));
        dql_session_param(s, name, eq + 1);
        free(name);
    }

    g_intr = dql_session_interrupt_flag(s);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);

    dql_out_opts *o = dql_session_out(s);
    bool tty_out = isatty(1);
    o->mode = tty_out ? DQL_OUT_TABLE : DQL_OUT_CSV;
    o->maxrows = tty_out ? 40 : 0;
    o->maxwidth = tty_out ? 60 : 0;   /* wide cells are cut on screen only, with a marker */
    if (mode) dql_outmode_parse(mode, &o->mode);
    dql_shell_init(s, tty_out || headers);
    if (db && !dir_exists(db)) {
        fprintf(stderr, "dql: --db %s: no such directory\n", db);
        rc = DQL_EXIT_USAGE;
        goto done;
    }
    if (db && dql_session_set(s, "db", db, err, sizeof err) != DQL_OK) { fprintf(stderr, "dql: %s\n", err); rc = DQL_EXIT_USAGE; goto done; }

    dql_status st = DQL_OK;
    const char *home = getenv("HOME");
    char rcpath[4096] = "";
    if (init) snprintf(rcpath, sizeof rcpath, "%s", init);
    else if (!norc && home && *home) {
        snprintf(rcpath, sizeof rcpath, "%s/.dqlrc", home);
        if (access(rcpath, F_OK) != 0) rcpath[0] = 0;
    }
    if (rcpath[0]) {
        char *t = dql_read_file(rcpath, NULL, err, sizeof err);
        if (!t) { fprintf(stderr, "dql: %s\n", err); rc = DQL_EXIT_USAGE; goto done; }
        st = dql_shell_script(s, rcpath, t, flags & ~DQL_RUN_BAIL);
        free(t);
    }
    bool stop = dql_shell_quit_requested(NULL) || st == DQL_ERR_INTERRUPT;
    for (int j = 0; j < njobs && !stop; j++) {
        dql_status js;
        if (jobs[j].kind == 'e') js = dql_shell_script(s, "-e", jobs[j].arg, flags);
        else {
            bool in = !strcmp(jobs[j].arg, "-");
            char *t = dql_read_file(jobs[j].arg, NULL, err, sizeof err);
            if (!t) { fprintf(stderr, "dql: %s\n", err); rc = DQL_EXIT_USAGE; break; }
            js = dql_shell_script(s, in ? "<stdin>" : jobs[j].arg, t, flags);
            free(t);
        }
        st = worst(st, js);
        stop = js == DQL_ERR_INTERRUPT || (js != DQL_OK && ((flags & DQL_RUN_BAIL) || dql_shell_bail_on()))
            || dql_shell_quit_requested(NULL);
    }
    if (script && !stop && rc == 0) {
        size_t n = strlen(script);
        if (access(script, R_OK) != 0) {
            fprintf(stderr, "dql: cannot open '%s': %s\n", script, strerror(errno));
            rc = DQL_EXIT_USAGE;
        } else if (n > 4 && !strcmp(script + n - 4, ".lua")) {
            dql_status ls = check_lua(s, script);
            if (ls == DQL_OK && !(flags & DQL_RUN_CHECK_ONLY)) {
                ls = dql_lua_run_driver(dql_session_lua(s), script, argc - script_argi - 1, argv + script_argi + 1, err, sizeof err);
                if (ls != DQL_OK && ls != DQL_ERR_INTERRUPT) fprintf(stderr, "%s\n", err);
            }
            st = worst(st, ls);
        } else {
            char *t = dql_read_file(script, NULL, err, sizeof err);
            if (!t) { fprintf(stderr, "dql: %s\n", err); rc = DQL_EXIT_USAGE; }
            else { st = worst(st, dql_shell_script(s, script, t, flags)); free(t); }
        }
    } else if (!script && njobs == 0 && rc == 0 && !stop && !interactive) {
        if (isatty(0)) rc = dql_shell_run(s);
        else {
            char *t = dql_read_file("-", NULL, err, sizeof err);
            if (!t) { fprintf(stderr, "dql: %s\n", err); rc = DQL_EXIT_USAGE; }
            else { st = worst(st, dql_shell_script(s, "<stdin>", t, flags)); free(t); }
        }
    }
    /* -i: the shell, after the scripts (unless one of them quit) */
    if (interactive && rc == 0 && !dql_shell_quit_requested(NULL)) {
        rc = dql_shell_run(s);
        st = DQL_OK;
    }
    int qcode;
    if (dql_shell_quit_requested(&qcode)) rc = qcode;
    else if (rc == 0) rc = dql_status_exit(st);
done:
    dql_shell_done(s);
    dql_session_free(s);
    free(jobs);
    free(pfiles);
    free(pvals);
    fflush(stdout);
    return rc;
}
