/* shell.c — the shell layer over a session: dot-commands (one metadata
 * table feeds .help and completion), scripts that mix dot-commands and
 * statements, and the interactive REPL on libedit. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <errno.h>
#include <time.h>
#include <sys/time.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <histedit.h>
#include <sqlite3.h>
#include "session.h"
#include "lexer.h"
#include "workspace.h"
#include "plan.h"

char *dql_read_file(const char *path, size_t *len, char *err, size_t errlen);
dql_status dql_shell_script(dql_session *s, const char *file, const char *text, int flags);

typedef struct shell_state {
    bool quit;
    int exit_code;
    bool echo, bail, timer, progress;
    bool headers;           /* the user's .headers choice (table, box and markdown always show them) */
    bool once_pending;      /* .once: restore stdout after the next statement */
    char *nullvalue;        /* .nullvalue (owned) */
    const char *rest;       /* the raw text after the command word (.shell) */
    int read_depth;         /* nesting of .read */
    struct timespec t0;     /* .timer: start of the running statement */
    struct rusage ru0;
} shell_state;

static shell_state g_sh;

/* Forgets the shell state (.echo, .bail, .headers, ...): each test case of
 * --run-tests starts from a fresh shell. */
void dql_shell_reset(void)
{
    free(g_sh.nullvalue);
    memset(&g_sh, 0, sizeof g_sh);
}

typedef dql_status (*dot_fn)(dql_session *s, int argc, char **argv);

/* One record per dot-command: .help, completion and doc/cli.md follow it. */
typedef struct dot_cmd {
    const char *name;
    const char *args;       /* the Usage: line's arguments ("" for none) */
    const char *summary;
    dot_fn fn;
    bool writes;            /* prints to the output (consumes a pending .once) */
} dot_cmd;

static const dot_cmd *find_cmd(const char *name);

/* Prints "Usage: .NAME ARGS" (from the table) and returns DQL_ERR_USAGE. */
static dql_status usage_err(dql_session *s, const char *name)
{
    const dot_cmd *c = find_cmd(name);
    const char *args = c ? c->args : "";
    fprintf(dql_session_errfp(s), "Usage: .%s%s%s\n", name, *args ? " " : "", args);
    return DQL_ERR_USAGE;
}

static bool on_off(const char *v, bool *out)
{
    if (!strcasecmp(v, "on") || !strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes")) { *out = true; return true; }
    if (!strcasecmp(v, "off") || !strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no")) { *out = false; return true; }
    return false;
}

/* table, box and markdown always show headers, as in sqlite3. */
static void apply_headers(dql_out_opts *o)
{
    o->headers = g_sh.headers || o->mode == DQL_OUT_TABLE || o->mode == DQL_OUT_BOX || o->mode == DQL_OUT_MARKDOWN;
}

static dql_status dot_mode(dql_session *s, int argc, char **argv)
{
    dql_out_opts *o = dql_session_out(s);
    if (argc == 1) { fprintf(o->fp, "%s\n", dql_outmode_name(o->mode)); return DQL_OK; }
    dql_outmode m;
    if (argc != 2 || !dql_outmode_parse(argv[1], &m)) return usage_err(s, "mode");
    o->mode = m;
    apply_headers(o);
    return DQL_OK;
}

static dql_status dot_headers(dql_session *s, int argc, char **argv)
{
    dql_out_opts *o = dql_session_out(s);
    if (argc == 1) { fprintf(o->fp, "%s\n", g_sh.headers ? "on" : "off"); return DQL_OK; }
    if (argc != 2 || !on_off(argv[1], &g_sh.headers)) return usage_err(s, "headers");
    apply_headers(o);
    return DQL_OK;
}

static dql_status dot_nullvalue(dql_session *s, int argc, char **argv)
{
    dql_out_opts *o = dql_session_out(s);
    if (argc == 1) { fprintf(o->fp, "'%s'\n", o->nullvalue ? o->nullvalue : ""); return DQL_OK; }
    if (argc != 2) return usage_err(s, "nullvalue");
    free(g_sh.nullvalue);
    g_sh.nullvalue = dql_xstrdup(argv[1]);
    o->nullvalue = g_sh.nullvalue;
    return DQL_OK;
}

static dql_status dot_maxrows(dql_session *s, int argc, char **argv)
{
    dql_out_opts *o = dql_session_out(s);
    if (argc == 1) { fprintf(o->fp, "%lld\n", (long long)o->maxrows); return DQL_OK; }
    char *end;
    if (argc != 2) return usage_err(s, "maxrows");
    errno = 0;
    long long n = strtoll(argv[1], &end, 10);
    if (!*argv[1] || *end || n < 0 || errno) return usage_err(s, "maxrows");
    o->maxrows = n;
    return DQL_OK;
}

static dql_status open_output(dql_session *s, const char *path)
{
    dql_out_opts *o = dql_session_out(s);
    FILE *f = stdout;
    if (path && strcmp(path, "stdout") != 0 && strcmp(path, "-") != 0) {
        f = fopen(path, "w");
        if (!f) {
            fprintf(dql_session_errfp(s), "dql: cannot write '%s': %s\n", path, strerror(errno));
            return DQL_ERR_IO;
        }
    }
    if (o->fp && o->fp != stdout) fclose(o->fp);
    else fflush(stdout);
    o->fp = f;
    return DQL_OK;
}

static dql_status dot_output(dql_session *s, int argc, char **argv)
{
    if (argc > 2) return usage_err(s, "output");
    g_sh.once_pending = false;
    return open_output(s, argc == 2 ? argv[1] : NULL);
}

static dql_status dot_once(dql_session *s, int argc, char **argv)
{
    if (argc != 2) return usage_err(s, "once");
    dql_status st = open_output(s, argv[1]);
    if (st == DQL_OK) g_sh.once_pending = true;
    return st;
}

static dql_status dot_read(dql_session *s, int argc, char **argv)
{
    if (argc != 2) return usage_err(s, "read");
    if (g_sh.read_depth >= 16) {
        fprintf(dql_session_errfp(s), "dql: .read %s: nested too deeply\n", argv[1]);
        return DQL_ERR_USAGE;
    }
    char err[512];
    char *t = dql_read_file(argv[1], NULL, err, sizeof err);
    if (!t) { fprintf(dql_session_errfp(s), "dql: %s\n", err); return DQL_ERR_IO; }
    char *name = dql_xstrdup(argv[1]);   /* argv dies with the caller's line */
    g_sh.read_depth++;
    dql_status st = dql_shell_script(s, name, t, g_sh.bail ? DQL_RUN_BAIL : 0);
    g_sh.read_depth--;
    free(name);
    free(t);
    return st;
}

static dql_status dot_open(dql_session *s, int argc, char **argv)
{
    if (argc != 2) return usage_err(s, "open");
    char err[512];
    if (dql_session_open_db(s, argv[1], err, sizeof err) != DQL_OK) {
        fprintf(dql_session_errfp(s), "dql: %s\n", err);
        return DQL_ERR_IO;
    }
    return DQL_OK;
}

static dql_status dot_tables(dql_session *s, int argc, char **argv)
{
    (void)argv;
    if (argc != 1) return usage_err(s, "tables");
    char err[512];
    sqlite3 *db = dql_session_db(s, err, sizeof err);
    if (!db) { fprintf(dql_session_errfp(s), "dql: %s\n", err); return DQL_ERR_IO; }
    char **t = dql_ws_tables(db);
    for (int i = 0; t && t[i]; i++) fprintf(dql_session_out(s)->fp, "%s\n", t[i]);
    dql_paths_free(t);
    return DQL_OK;
}

static void print_schema(FILE *fp, const char *prefix, const char *name, const dql_schema *sc)
{
    dql_buf b = {0};
    if (sc) dql_schema_format(&b, sc);
    fprintf(fp, "%s%s: {%s}\n", prefix, name, dql_buf_cstr(&b));
    dql_buf_free(&b);
}

static dql_status dot_schema(dql_session *s, int argc, char **argv)
{
    if (argc > 2) return usage_err(s, "schema");
    FILE *fp = dql_session_out(s)->fp;
    char err[512];
    if (argc == 2) {
        dql_plan *p = dql_session_alias(s, argv[1]);
        if (p) { print_schema(fp, "", argv[1], p->schema); return DQL_OK; }
        sqlite3 *db = dql_session_db(s, err, sizeof err);
        dql_schema *sc = db ? dql_ws_table_schema(db, argv[1], err, sizeof err) : NULL;
        if (!sc) { fprintf(dql_session_errfp(s), "dql: no alias or table '%s'\n", argv[1]); return DQL_ERR_USAGE; }
        print_schema(fp, "table ", argv[1], sc);
        dql_schema_free(sc);
        return DQL_OK;
    }
    sqlite3 *db = dql_session_db(s, err, sizeof err);
    if (!db) { fprintf(dql_session_errfp(s), "dql: %s\n", err); return DQL_ERR_IO; }
    char **t = dql_ws_tables(db);
    for (int i = 0; t && t[i]; i++) {
        dql_schema *sc = dql_ws_table_schema(db, t[i], err, sizeof err);
        if (!sc) continue;
        print_schema(fp, "table ", t[i], sc);
        dql_schema_free(sc);
    }
    dql_paths_free(t);
    return DQL_OK;
}

static dql_status dot_aliases(dql_session *s, int argc, char **argv)
{
    (void)argv;
    if (argc != 1) return usage_err(s, "aliases");
    const char *name;
    const dql_schema *sc;
    for (size_t i = 0; dql_session_alias_at(s, i, &name, &sc); i++) print_schema(dql_session_out(s)->fp, "", name, sc);
    return DQL_OK;
}

static dql_status dot_unset(dql_session *s, int argc, char **argv)
{
    if (argc < 2) return usage_err(s, "unset");
    dql_status st = DQL_OK;
    for (int i = 1; i < argc; i++)
        if (!dql_session_unset_alias(s, argv[i])) {
            fprintf(dql_session_errfp(s), "dql: no alias '%s'\n", argv[i]);
            st = DQL_ERR_USAGE;
        }
    return st;
}

static dql_status dot_set(dql_session *s, int argc, char **argv)
{
    (void)argv;
    if (argc != 1) return usage_err(s, "set");
    const char *k, *v;
    for (size_t i = 0; dql_session_setting_at(s, i, &k, &v); i++) fprintf(dql_session_out(s)->fp, "%s = %s\n", k, v);
    return DQL_OK;
}

/* The on|off commands. */
static dql_status on_off_cmd(dql_session *s, int argc, char **argv, const char *name, bool *flag)
{
    if (argc == 1) { fprintf(dql_session_out(s)->fp, "%s\n", *flag ? "on" : "off"); return DQL_OK; }
    if (argc != 2 || !on_off(argv[1], flag)) return usage_err(s, name);
    return DQL_OK;
}

static dql_status dot_echo(dql_session *s, int argc, char **argv) { return on_off_cmd(s, argc, argv, "echo", &g_sh.echo); }
static dql_status dot_bail(dql_session *s, int argc, char **argv) { return on_off_cmd(s, argc, argv, "bail", &g_sh.bail); }
static dql_status dot_timer(dql_session *s, int argc, char **argv) { return on_off_cmd(s, argc, argv, "timer", &g_sh.timer); }
static dql_status dot_progress(dql_session *s, int argc, char **argv) { return on_off_cmd(s, argc, argv, "progress", &g_sh.progress); }

static dql_status dot_quit(dql_session *s, int argc, char **argv)
{
    if (argc > 2) return usage_err(s, argv[0][0] == 'e' ? "exit" : "quit");
    int code = 0;
    if (argc == 2) {
        char *end;
        long v = strtol(argv[1], &end, 10);
        if (!*argv[1] || *end || v < 0 || v > 255) return usage_err(s, argv[0][0] == 'e' ? "exit" : "quit");
        code = (int)v;
    }
    g_sh.quit = true;
    g_sh.exit_code = code;
    return DQL_OK;
}

static dql_status dot_shell(dql_session *s, int argc, char **argv)
{
    (void)argv;
    if (argc < 2 || !g_sh.rest || !*g_sh.rest) return usage_err(s, "shell");
    fflush(dql_session_out(s)->fp);
    fflush(stdout);
    int rc = system(g_sh.rest);
    if (rc == 0) return DQL_OK;
    if (rc == -1) fprintf(dql_session_errfp(s), "dql: .shell: %s\n", strerror(errno));
    else if (WIFEXITED(rc)) fprintf(dql_session_errfp(s), "dql: .shell: command exited with status %d\n", WEXITSTATUS(rc));
    else if (WIFSIGNALED(rc)) fprintf(dql_session_errfp(s), "dql: .shell: command killed by signal %d\n", WTERMSIG(rc));
    return DQL_ERR_RUNTIME;
}

static dql_status dot_last(dql_session *s, int argc, char **argv)
{
    (void)argv;
    if (argc != 1) return usage_err(s, "last");
    dql_status st = dql_session_rerun_last(s);
    if (st == DQL_EOF) {
        fprintf(dql_session_errfp(s), "dql: .last: no DUMP has run yet\n");
        return DQL_ERR_USAGE;
    }
    return st;
}

static dql_status dot_help(dql_session *s, int argc, char **argv);

static const dot_cmd dot_cmds[] = {
    { "aliases", "", "the aliases defined so far, with their schemas", dot_aliases, true },
    { "bail", "on|off", "stop a script at the first error", dot_bail, false },
    { "echo", "on|off", "print each statement before running it", dot_echo, false },
    { "exit", "[CODE]", "leave dql (exit status CODE, 0 to 255)", dot_quit, false },
    { "headers", "on|off", "column headers in csv and tsv (table, box, markdown always have them)", dot_headers, false },
    { "help", "[PATTERN]", "this help; PATTERN: the commands whose name contains it", dot_help, true },
    { "last", "", "print the last DUMP result again, every row", dot_last, true },
    { "maxrows", "N", "rows shown in table/box/markdown/line modes (0: all)", dot_maxrows, false },
    { "mode", "table|box|csv|tsv|json|jsonl|markdown|line", "output mode", dot_mode, false },
    { "nullvalue", "STRING", "text printed for null", dot_nullvalue, false },
    { "once", "FILE", "send the next result to FILE", dot_once, false },
    { "open", "FILE", "switch the workspace database", dot_open, false },
    { "output", "[FILE]", "send results to FILE (no FILE: stdout)", dot_output, false },
    { "progress", "on|off", "progress display on a terminal", dot_progress, false },
    { "quit", "[CODE]", "leave dql (exit status CODE, 0 to 255)", dot_quit, false },
    { "read", "FILE", "run a script file", dot_read, false },
    { "schema", "[ALIAS|TABLE]", "schema of an alias or table (all tables without argument)", dot_schema, true },
    { "set", "", "all settings", dot_set, true },
    { "shell", "COMMAND", "run a shell command", dot_shell, false },
    { "tables", "", "tables in the workspace", dot_tables, true },
    { "timer", "on|off", "print real/user/sys time after each statement (on stderr)", dot_timer, false },
    { "unset", "ALIAS...", "forget aliases", dot_unset, false },
};

#define NDOT (sizeof dot_cmds / sizeof dot_cmds[0])

static const dot_cmd *find_cmd(const char *name)
{
    for (size_t i = 0; i < NDOT; i++) if (!strcmp(dot_cmds[i].name, name)) return &dot_cmds[i];
    return NULL;
}

const char *dql_shell_dot_at(size_t i, const char **args, const char **summary)
{
    if (i >= NDOT) return NULL;
    if (args) *args = dot_cmds[i].args;
    if (summary) *summary = dot_cmds[i].summary;
    return dot_cmds[i].name;
}

static dql_status dot_help(dql_session *s, int argc, char **argv)
{
    if (argc > 2) return usage_err(s, "help");
    FILE *fp = dql_session_out(s)->fp;
    const char *pat = argc > 1 ? (argv[1][0] == '.' ? argv[1] + 1 : argv[1]) : NULL;
    int shown = 0;
    for (size_t i = 0; i < NDOT; i++) {
        if (pat && !strstr(dot_cmds[i].name, pat)) continue;
        char left[80];
        snprintf(left, sizeof left, ".%s%s%s", dot_cmds[i].name, *dot_cmds[i].args ? " " : "", dot_cmds[i].args);
        if (strlen(left) > 22) fprintf(fp, "%s\n%-22s %s\n", left, "", dot_cmds[i].summary);
        else fprintf(fp, "%-22s %s\n", left, dot_cmds[i].summary);
        shown++;
    }
    if (!shown) {
        fprintf(dql_session_errfp(s), "dql: no dot-command matches '%s'\n", argv[1]);
        return DQL_ERR_USAGE;
    }
    if (!pat) fputs("\nStatements end with ';' and may span lines; dot-commands need no ';'.\n"
                    "Command names may be shortened where unambiguous (.he is not: .headers, .help).\n", fp);
    return DQL_OK;
}

/* Splits a dot-command line into words (quotes group words). rest[i] is
 * where word i starts in the original line. */
static int split_words(char *line, char **argv, size_t *at, int max)
{
    int n = 0;
    char *p = line;
    while (*p && n < max) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) break;
        at[n] = (size_t)(p - line);
        if (*p == '"' || *p == '\'') {
            char q = *p++;
            argv[n++] = p;
            while (*p && *p != q) p++;
        } else {
            argv[n++] = p;
            while (*p && *p != ' ' && *p != '\t') p++;
        }
        if (*p) *p++ = 0;
    }
    return n;
}

static void restore_once(dql_session *s)
{
    if (g_sh.once_pending) {
        g_sh.once_pending = false;
        open_output(s, NULL);
    }
}

/* Runs one dot-command line (without the leading '.'). Unambiguous
 * prefixes are accepted. */
static dql_status run_dot(dql_session *s, const char *line)
{
    char *copy = dql_xstrdup(line);
    char *argv[64];
    size_t at[64];
    int argc = split_words(copy, argv, at, 64);
    dql_status st = DQL_OK;
    if (argc == 0) { free(copy); return DQL_OK; }
    if (g_sh.echo) fprintf(dql_session_out(s)->fp, ".%s\n", line);
    const dot_cmd *hit = NULL;
    int nhits = 0;
    size_t n = strlen(argv[0]);
    for (size_t i = 0; i < NDOT; i++) {
        if (!strcmp(dot_cmds[i].name, argv[0])) { hit = &dot_cmds[i]; nhits = 1; break; }
        if (!strncmp(dot_cmds[i].name, argv[0], n)) { hit = &dot_cmds[i]; nhits++; }
    }
    if (nhits == 1) {
        g_sh.rest = argc > 1 ? line + at[1] : "";
        st = hit->fn(s, argc, argv);
        g_sh.rest = NULL;
        if (hit->writes) restore_once(s);
    } else if (nhits > 1) {
        dql_buf b = {0};
        for (size_t i = 0; i < NDOT; i++)
            if (!strncmp(dot_cmds[i].name, argv[0], n)) dql_buf_printf(&b, "%s.%s", b.len ? ", " : "", dot_cmds[i].name);
        fprintf(dql_session_errfp(s), "dql: ambiguous command '.%s': %s\n", argv[0], dql_buf_cstr(&b));
        dql_buf_free(&b);
        st = DQL_ERR_USAGE;
    } else {
        fprintf(dql_session_errfp(s), "dql: unknown command '.%s' (.help lists them)\n", argv[0]);
        st = DQL_ERR_USAGE;
    }
    fflush(dql_session_out(s)->fp);
    free(copy);
    return st;
}

static double tv_sec(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

/* The session calls this around each statement that runs. */
static void run_hook(void *ud, bool after, dql_status st)
{
    dql_session *s = ud;
    (void)st;
    if (!after) {
        if (g_sh.timer) {
            clock_gettime(CLOCK_MONOTONIC, &g_sh.t0);
            getrusage(RUSAGE_SELF, &g_sh.ru0);
        }
        return;
    }
    if (g_sh.timer) {
        struct timespec t1;
        struct rusage ru1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        getrusage(RUSAGE_SELF, &ru1);
        double real = (double)(t1.tv_sec - g_sh.t0.tv_sec) + (double)(t1.tv_nsec - g_sh.t0.tv_nsec) / 1e9;
        fflush(dql_session_out(s)->fp);
        fprintf(dql_session_errfp(s), "real %.3f user %.3f sys %.3f\n", real,
                tv_sec(ru1.ru_utime) - tv_sec(g_sh.ru0.ru_utime), tv_sec(ru1.ru_stime) - tv_sec(g_sh.ru0.ru_stime));
    }
    restore_once(s);
}

void dql_shell_init(dql_session *s, bool headers)
{
    g_sh.headers = headers;
    apply_headers(dql_session_out(s));
    dql_session_set_run_hook(s, run_hook, s);
}

bool dql_shell_quit_requested(int *code)
{
    if (g_sh.quit && code) *code = g_sh.exit_code;
    return g_sh.quit;
}

bool dql_shell_bail_on(void) { return g_sh.bail; }

void dql_shell_done(dql_session *s)
{
    dql_out_opts *o = dql_session_out(s);
    if (o->fp && o->fp != stdout) fclose(o->fp);
    o->fp = stdout;
    o->nullvalue = "";
    free(g_sh.nullvalue);
    g_sh.nullvalue = NULL;
    dql_session_set_run_hook(s, NULL, NULL);
}

/* Runs a segment of statements, padded with newlines so that diagnostics
 * keep the line numbers of the whole file. */
static dql_status run_segment(dql_session *s, const char *file, const char *text, size_t start, size_t end, int line0, int flags)
{
    bool blank = true;
    for (size_t i = start; i < end; i++) if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r') { blank = false; break; }
    if (blank) return DQL_OK;
    dql_buf b = {0};
    for (int i = 1; i < line0; i++) dql_buf_putc(&b, '\n');
    dql_buf_put(&b, text + start, end - start);
    if (g_sh.echo) {
        size_t e = end;
        while (e > start && (text[e - 1] == '\n' || text[e - 1] == '\r' || text[e - 1] == ' ' || text[e - 1] == '\t')) e--;
        fprintf(dql_session_out(s)->fp, "%.*s\n", (int)(e - start), text + start);
    }
    dql_status st = dql_session_exec(s, file, dql_buf_cstr(&b), flags);
    dql_buf_free(&b);
    fflush(dql_session_out(s)->fp);
    return st;
}

dql_status dql_shell_script(dql_session *s, const char *file, const char *text, int flags)
{
    size_t len = strlen(text), seg = 0, i = 0;
    int line = 1, segline = 1;
    dql_status result = DQL_OK;
    bool at_stmt_start = true;
    bool cli_bail = (flags & DQL_RUN_BAIL) != 0;   /* -bail, or an outer .bail */
    dql_session_set_run_hook(s, run_hook, s);      /* also for sessions dql_shell_init did not see */
    if (g_sh.bail) flags |= DQL_RUN_BAIL;
    while (i < len) {
        /* at the start of a line: a dot-command if no statement is open */
        size_t j = i;
        while (j < len && (text[j] == ' ' || text[j] == '\t')) j++;
        if (at_stmt_start && j < len && text[j] == '.' && dql_lex_complete(text + seg, i - seg)) {
            dql_status st = run_segment(s, file, text, seg, i, segline, flags);
            if (st != DQL_OK && result == DQL_OK) result = st;
            if ((st != DQL_OK && (flags & DQL_RUN_BAIL)) || st == DQL_ERR_INTERRUPT || g_sh.quit) return result;
            size_t e = j;
            while (e < len && text[e] != '\n') e++;
            char *cmd = dql_xstrndup(text + j + 1, e - j - 1);
            size_t cl = strlen(cmd);
            while (cl && (cmd[cl - 1] == '\r' || cmd[cl - 1] == ' ' || cmd[cl - 1] == '\t')) cmd[--cl] = 0;
            st = run_dot(s, cmd);
            free(cmd);
            /* .bail on|off takes effect at once */
            flags = (g_sh.bail || cli_bail) ? (flags | DQL_RUN_BAIL) : (flags & ~DQL_RUN_BAIL);
            if (st != DQL_OK && result == DQL_OK) result = st;
            if ((st != DQL_OK && (flags & DQL_RUN_BAIL)) || st == DQL_ERR_INTERRUPT || g_sh.quit) return result;
            i = e < len ? e + 1 : e;
            line++;
            seg = i;
            segline = line;
            continue;
        }
        size_t e = i;
        while (e < len && text[e] != '\n') e++;
        i = e < len ? e + 1 : e;
        line++;
        at_stmt_start = dql_lex_complete(text + seg, i - seg);
    }
    dql_status st = run_segment(s, file, text, seg, len, segline, flags);
    if (st != DQL_OK && result == DQL_OK) result = st;
    return result;
}

/* ------------------------------------------------------------ the REPL */

static const char *prompt_fn(EditLine *el)
{
    void *p;
    el_get(el, EL_CLIENTDATA, &p);
    return *(bool *)p ? "...> " : "dql> ";
}

int dql_shell_run(dql_session *s)
{
    dql_out_opts *o = dql_session_out(s);
    EditLine *el = el_init("dql", stdin, stdout, stderr);
    History *hist = history_init();
    HistEvent ev;
    history(hist, &ev, H_SETSIZE, 2000);
    history(hist, &ev, H_SETUNIQUE, 1);
    char histpath[4096] = "";
    const char *hp = getenv("DQL_HISTORY");
    if (hp) snprintf(histpath, sizeof histpath, "%s", hp);
    else if (getenv("HOME")) snprintf(histpath, sizeof histpath, "%s/.dql_history", getenv("HOME"));
    if (histpath[0]) history(hist, &ev, H_LOAD, histpath);
    bool cont = false;
    el_set(el, EL_CLIENTDATA, &cont);
    el_set(el, EL_PROMPT, prompt_fn);
    el_set(el, EL_EDITOR, "emacs");
    el_set(el, EL_HIST, history, hist);
    el_source(el, NULL);
    fprintf(stdout, "dql %s — type .help for help, statements end with ';'\n", PACKAGE_VERSION);
    dql_buf stmt = {0};
    dql_status last = DQL_OK;
    while (!g_sh.quit) {
        int n;
        const char *line = el_gets(el, &n);
        if (!line) { if (!cont) { fputc('\n', stdout); break; } stmt.len = 0; cont = false; fputc('\n', stdout); continue; }
        if (!cont) {
            const char *p = line;
            while (*p == ' ' || *p == '\t') p++;
            if (*p == '.') {
                char *cmd = dql_xstrdup(p + 1);
                size_t cl = strlen(cmd);
                while (cl && (cmd[cl - 1] == '\n' || cmd[cl - 1] == '\r' || cmd[cl - 1] == ' ')) cmd[--cl] = 0;
                history(hist, &ev, H_ENTER, line);
                if (histpath[0]) history(hist, &ev, H_SAVE, histpath);
                last = run_dot(s, cmd);
                free(cmd);
                continue;
            }
            if (*p == '\n' || *p == 0) continue;
        }
        dql_buf_puts(&stmt, line);
        if (!dql_lex_complete(stmt.p, stmt.len)) { cont = true; continue; }
        cont = false;
        char *text = dql_xstrndup(stmt.p, stmt.len);
        stmt.len = 0;
        size_t tl = strlen(text);
        char *h = dql_xstrndup(text, tl && text[tl - 1] == '\n' ? tl - 1 : tl);
        history(hist, &ev, H_ENTER, h);
        if (histpath[0]) history(hist, &ev, H_SAVE, histpath);
        free(h);
        last = dql_session_exec(s, "<stdin>", text, g_sh.bail ? DQL_RUN_BAIL : 0);
        free(text);
        fflush(o->fp);
    }
    (void)last;
    dql_buf_free(&stmt);
    history_end(hist);
    el_end(el);
    return g_sh.exit_code;
}
