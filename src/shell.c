/* shell.c — the shell layer over a session: dot-commands (one metadata
 * table feeds .help and completion), scripts that mix dot-commands and
 * statements, and the interactive REPL on libedit. */
#define _GNU_SOURCE 1     /* fopencookie, mkstemps */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <errno.h>
#include <time.h>
#include <sys/time.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <dirent.h>
#include <stdint.h>
#include <ctype.h>
#include <signal.h>
#include <histedit.h>
#include <sqlite3.h>
#include "session.h"
#include "shard.h"
#include "lexer.h"
#include "workspace.h"
#include "plan.h"

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
    char *last_text;        /* the last statement run (.edit) */
    /* the terminal: progress line and the streams that erase it */
    bool tty_err;           /* stderr is a terminal: progress may be drawn */
    bool prog_shown;        /* a progress line is on the screen */
    bool running;           /* a statement runs (between the run hook's calls) */
    bool at_bol;            /* the last byte written to the terminal ended a line */
    double run0;            /* start of the running statement (monotonic seconds) */
    double drawn;           /* when the progress line was last drawn */
    FILE *term_out, *term_err;  /* stdout and stderr through progress_erase */
} shell_state;

static shell_state g_sh;

/* Forgets the shell state (.echo, .bail, .headers, ...): each test case of
 * --run-tests starts from a fresh shell. */
void dql_shell_reset(void)
{
    free(g_sh.nullvalue);
    free(g_sh.last_text);
    memset(&g_sh, 0, sizeof g_sh);
}

/* The standard output the shell's .output goes back to. */
static FILE *std_out(void) { return g_sh.term_out ? g_sh.term_out : stdout; }

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
    FILE *f = std_out();
    if (path && strcmp(path, "stdout") != 0 && strcmp(path, "-") != 0) {
        f = fopen(path, "w");
        if (!f) {
            fprintf(dql_session_errfp(s), "dql: cannot write '%s': %s\n", path, strerror(errno));
            return DQL_ERR_IO;
        }
    }
    if (o->fp && o->fp != std_out() && o->fp != stdout) fclose(o->fp);
    else fflush(o->fp ? o->fp : stdout);
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
        if (p) {
            print_schema(fp, "", argv[1], p->schema);
            dql_buf vb = {0};
            dql_plan_describe_verbs(&vb, p);
            if (vb.len) fputs(dql_buf_cstr(&vb), fp);
            dql_buf_free(&vb);
            return DQL_OK;
        }
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
static dql_status dot_edit(dql_session *s, int argc, char **argv);

static const dot_cmd dot_cmds[] = {
    { "aliases", "", "the aliases defined so far, with their schemas", dot_aliases, true },
    { "bail", "on|off", "stop a script at the first error", dot_bail, false },
    { "echo", "on|off", "print each statement before running it", dot_echo, false },
    { "edit", "", "open the last statement in $EDITOR; run it when saved", dot_edit, false },
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
    if (nhits == 1 && dql_shard_is_task() && (hit->fn == dot_shell || hit->fn == dot_output || hit->fn == dot_once ||
                                              hit->fn == dot_edit || hit->fn == dot_last)) {
        /* a task of a sharded run: the coordinator runs the commands with effects */
    } else if (nhits == 1) {
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

/* Remembers the text of the last statement run (.edit opens it). */
static void set_last_text(const char *t, size_t n)
{
    while (n && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' ' || t[n - 1] == '\t')) n--;
    while (n && (*t == '\n' || *t == '\r')) { t++; n--; }
    if (!n) return;
    free(g_sh.last_text);
    g_sh.last_text = dql_xstrndup(t, n);
}

/* ------------------------------------------------------------ the terminal */

static double now_sec(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) { if (errno == EINTR) continue; return; }
        p += w;
        n -= (size_t)w;
    }
}

/* Erases the progress line, if one is shown (\r and erase to end of line). */
static void progress_erase(void)
{
    if (!g_sh.prog_shown) return;
    g_sh.prog_shown = false;
    write_all(2, "\r\033[K", 4);
}

/* On a terminal, results and messages go through these streams: whatever
 * they write first erases the progress line, so that the line never mixes
 * with the output. */
static ssize_t term_write(void *cookie, const char *buf, size_t n)
{
    if (n == 0) return 0;
    progress_erase();
    write_all((int)(intptr_t)cookie, buf, n);
    g_sh.at_bol = buf[n - 1] == '\n';
    return (ssize_t)n;
}

static FILE *term_stream(int fd, int bufmode)
{
    cookie_io_functions_t io = { NULL, term_write, NULL, NULL };
    FILE *f = fopencookie((void *)(intptr_t)fd, "w", io);
    if (f) setvbuf(f, NULL, bufmode, BUFSIZ);
    return f;
}

static int term_cols(int fd)
{
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10) return ws.ws_col;
    return 80;
}

/* 1234 -> "1234", 12345 -> "12.3k", 1234567 -> "1.23M". */
static void human(char *b, size_t n, double v)
{
    if (v < 10000) snprintf(b, n, "%.0f", v);
    else if (v < 1e6) snprintf(b, n, "%.1fk", v / 1e3);
    else if (v < 1e9) snprintf(b, n, "%.2fM", v / 1e6);
    else snprintf(b, n, "%.2fG", v / 1e9);
}

static void hms(char *b, size_t n, double sec)
{
    long t = (long)(sec + 0.5);
    if (t >= 3600) snprintf(b, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(b, n, "%ld:%02ld", t / 60, t % 60);
}

/* The engine calls this every few batches: after a second of work, draws
 * "12.3M rows read, 45 out, 1.20M rows/s, 37% ETA 0:21" on stderr, at most
 * four times a second, and only where the terminal's cursor is at the
 * start of a line. */
static void progress_cb(void *ud, const dql_exec *ex)
{
    dql_session *s = ud;
    if (!g_sh.progress || !g_sh.tty_err || !g_sh.running) return;
    double t = now_sec(), el = t - g_sh.run0;
    if (el < 1.0 || t - g_sh.drawn < 0.25) return;
    g_sh.drawn = t;
    fflush(dql_session_out(s)->fp);
    if (!g_sh.at_bol) return;
    char in[32], out[32], rate[32], line[256];
    human(in, sizeof in, (double)ex->rows_in);
    human(out, sizeof out, (double)ex->rows_out);
    human(rate, sizeof rate, (double)ex->rows_in / el);
    int k = snprintf(line, sizeof line, "%s rows read, %s out, %s rows/s", in, out, rate);
    if (ex->bytes_total && ex->bytes_done && ex->bytes_done <= ex->bytes_total && k > 0 && (size_t)k < sizeof line) {
        double f = (double)ex->bytes_done / (double)ex->bytes_total;
        char eta[32];
        hms(eta, sizeof eta, el / f - el);
        k += snprintf(line + k, sizeof line - (size_t)k, ", %.0f%% ETA %s", f * 100, eta);
    }
    if (k < 0) return;
    size_t len = (size_t)k < sizeof line ? (size_t)k : sizeof line - 1;
    size_t cols = (size_t)term_cols(2) - 1;
    if (len > cols) len = cols;
    write_all(2, "\r", 1);
    write_all(2, line, len);
    write_all(2, "\033[K", 3);
    g_sh.prog_shown = true;
}

static double tv_sec(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

/* The session calls this around each statement that runs. */
static void run_hook(void *ud, bool after, dql_status st)
{
    dql_session *s = ud;
    (void)st;
    if (!after) {
        g_sh.running = true;
        g_sh.run0 = now_sec();
        g_sh.drawn = 0;
        g_sh.at_bol = true;
        if (g_sh.timer) {
            clock_gettime(CLOCK_MONOTONIC, &g_sh.t0);
            getrusage(RUSAGE_SELF, &g_sh.ru0);
        }
        return;
    }
    g_sh.running = false;
    progress_erase();
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

/* Sets the shell up over a session: headers, the run hook, and on a
 * terminal the progress display and the streams that erase it. */
void dql_shell_init(dql_session *s, bool headers)
{
    dql_out_opts *o = dql_session_out(s);
    g_sh.headers = headers;
    g_sh.progress = true;
    g_sh.at_bol = true;
    apply_headers(o);
    dql_session_set_run_hook(s, run_hook, s);
    if (isatty(2)) {
        g_sh.tty_err = true;
        g_sh.term_err = term_stream(2, _IONBF);
        if (g_sh.term_err) dql_session_set_errfp(s, g_sh.term_err);
        if (isatty(1) && o->fp == stdout) {
            g_sh.term_out = term_stream(1, _IOLBF);
            if (g_sh.term_out) { fflush(stdout); o->fp = g_sh.term_out; }
        }
        dql_session_set_progress(s, progress_cb, s);
    }
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
    if (o->fp && o->fp != stdout && o->fp != g_sh.term_out) fclose(o->fp);
    else if (o->fp) fflush(o->fp);
    o->fp = stdout;
    o->nullvalue = "";
    progress_erase();
    if (g_sh.term_out) { fclose(g_sh.term_out); g_sh.term_out = NULL; }
    if (g_sh.term_err) {
        dql_session_set_errfp(s, stderr);
        fclose(g_sh.term_err);
        g_sh.term_err = NULL;
    }
    dql_session_set_progress(s, NULL, NULL);
    free(g_sh.nullvalue);
    g_sh.nullvalue = NULL;
    free(g_sh.last_text);
    g_sh.last_text = NULL;
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
    set_last_text(text + start, end - start);
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

/* Set while the REPL waits in el_gets: Ctrl-C then only clears the line
 * (main.c's SIGINT handler reads it). */
volatile sig_atomic_t dql_shell_at_prompt;

typedef struct repl {
    dql_session *s;
    History *hist;
    char histpath[4096];
    dql_buf stmt;           /* the lines of a statement still open */
    bool cont;              /* ... so the prompt is "...> " */
    bool cancel;            /* Ctrl-C was typed at the prompt */
} repl;

static repl *g_repl;        /* the running REPL (.edit and completion use it) */

#define HISTORY_SIZE 2000

/* Adds a whole statement or dot-command to the history (an older copy of
 * the same entry goes) and saves the history file at once. */
static void history_add(const char *text)
{
    repl *r = g_repl;
    if (!r) return;
    size_t n = strlen(text);
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' ' || text[n - 1] == '\t')) n--;
    if (!n) return;
    char *h = dql_xstrndup(text, n);
    HistEvent ev;
    for (int rc = history(r->hist, &ev, H_FIRST); rc != -1; rc = history(r->hist, &ev, H_NEXT))
        if (!strcmp(ev.str, h)) { history(r->hist, &ev, H_DEL, ev.num); break; }
    history(r->hist, &ev, H_ENTER, h);
    if (r->histpath[0]) history(r->hist, &ev, H_SAVE, r->histpath);
    free(h);
}

/* Quotes s for /bin/sh. */
static void sh_quote(dql_buf *b, const char *s)
{
    dql_buf_putc(b, '\'');
    for (; *s; s++) {
        if (*s == '\'') dql_buf_puts(b, "'\\''");
        else dql_buf_putc(b, *s);
    }
    dql_buf_putc(b, '\'');
}

/* .edit: the last statement in $VISUAL / $EDITOR (vi), in a temporary
 * file; when the editor exits 0 and the text changed and is not blank, it
 * runs (dot-commands included) and goes into the history. */
static dql_status dot_edit(dql_session *s, int argc, char **argv)
{
    (void)argv;
    if (argc != 1) return usage_err(s, "edit");
    FILE *errfp = dql_session_errfp(s);
    const char *ed = getenv("VISUAL");
    if (!ed || !*ed) ed = getenv("EDITOR");
    if (!ed || !*ed) ed = "vi";
    const char *td = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/dql-edit-XXXXXX.dql", td && *td ? td : "/tmp");
    int fd = mkstemps(path, 4);
    if (fd < 0) {
        fprintf(errfp, "dql: .edit: cannot create a temporary file: %s\n", strerror(errno));
        return DQL_ERR_IO;
    }
    const char *old = g_sh.last_text ? g_sh.last_text : "";
    write_all(fd, old, strlen(old));
    if (*old) write_all(fd, "\n", 1);
    close(fd);
    dql_buf cmd = {0};
    dql_buf_printf(&cmd, "%s ", ed);
    sh_quote(&cmd, path);
    fflush(dql_session_out(s)->fp);
    fflush(stdout);
    int rc = system(dql_buf_cstr(&cmd));
    dql_buf_free(&cmd);
    if (rc != 0) {
        unlink(path);
        if (rc == -1) fprintf(errfp, "dql: .edit: %s\n", strerror(errno));
        else if (WIFEXITED(rc)) fprintf(errfp, "dql: .edit: editor exited with status %d; nothing run\n", WEXITSTATUS(rc));
        else fprintf(errfp, "dql: .edit: editor killed by signal %d; nothing run\n", WIFSIGNALED(rc) ? WTERMSIG(rc) : 0);
        return DQL_ERR_RUNTIME;
    }
    char err[512];
    char *t = dql_read_file(path, NULL, err, sizeof err);
    unlink(path);
    if (!t) { fprintf(errfp, "dql: .edit: %s\n", err); return DQL_ERR_IO; }
    size_t n = strlen(t), o = strlen(old);
    while (n && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' ' || t[n - 1] == '\t')) t[--n] = 0;
    const char *p = t;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    if (!*p || (n == o && !memcmp(t, old, n))) { free(t); return DQL_OK; }
    const char *ll = strrchr(t, '\n');
    ll = ll ? ll + 1 : t;
    while (*ll == ' ' || *ll == '\t') ll++;
    bool ends_with_dot = *ll == '.';
    dql_buf text = {0};
    dql_buf_puts(&text, t);
    free(t);
    /* a statement saved without its final ';' gets one */
    if (!ends_with_dot && !dql_lex_complete(text.p, text.len)) {
        dql_buf_puts(&text, ";");
        if (!dql_lex_complete(text.p, text.len)) text.len--;
    }
    dql_buf_putc(&text, '\n');
    const char *txt = dql_buf_cstr(&text);
    history_add(txt);
    dql_status st = dql_shell_script(s, "<edit>", txt, g_sh.bail ? DQL_RUN_BAIL : 0);
    dql_buf_free(&text);
    return st;
}

/* ------------------------------------------------------------ completion */

typedef struct cands { char **v; int n, cap; } cands;

static void cand_add(cands *c, const char *s, size_t n)
{
    for (int i = 0; i < c->n; i++) if (strlen(c->v[i]) == n && !memcmp(c->v[i], s, n)) return;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 32;
        c->v = dql_xrealloc(c->v, sizeof(char *) * (size_t)c->cap);
    }
    c->v[c->n++] = dql_xstrndup(s, n);
}

static void cand_free(cands *c)
{
    for (int i = 0; i < c->n; i++) free(c->v[i]);
    free(c->v);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool word_ch(int c) { return isalnum((unsigned char)c) || c == '_' || c == ':' || c == '.' || c == '$'; }

/* Where a quote still open at the end of t[0..n) starts; -1 when none, -2
 * inside a comment. */
static long open_quote(const char *t, size_t n)
{
    char q = 0;
    long at = -1;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (q) {
            if (c == '\\' && q != '`') i++;
            else if (c == q) q = 0;
            continue;
        }
        if (c == '\'' || c == '"' || c == '`') { q = c; at = (long)i; continue; }
        if (c == '-' && i + 1 < n && t[i + 1] == '-') {
            while (i < n && t[i] != '\n') i++;
            if (i >= n) return -2;
            continue;
        }
        if (c == '/' && i + 1 < n && t[i + 1] == '*') {
            i += 2;
            while (i + 1 < n && !(t[i] == '*' && t[i + 1] == '/')) i++;
            if (i + 1 >= n) return -2;
            i++;
        }
    }
    return q ? at : -1;
}

/* The word that ends just before t[end] (after blanks), or "" (at most
 * cap - 1 bytes). */
static void prev_word(const char *t, size_t end, char *w, size_t cap)
{
    size_t e = end;
    while (e > 0 && (t[e - 1] == ' ' || t[e - 1] == '\t' || t[e - 1] == '\n' || t[e - 1] == '\r')) e--;
    size_t b = e;
    while (b > 0 && (isalnum((unsigned char)t[b - 1]) || t[b - 1] == '_')) b--;
    size_t n = e - b < cap - 1 ? e - b : cap - 1;
    memcpy(w, t + b, n);
    w[n] = 0;
}

/* File names starting with the path prefix w[0..wl): directories end with '/'. */
static void file_cands(cands *c, const char *w, size_t wl)
{
    char *pre = dql_xstrndup(w, wl);
    char *slash = strrchr(pre, '/');
    char *dir = slash ? dql_xstrndup(pre, slash == pre ? 1 : (size_t)(slash - pre)) : dql_xstrdup(".");
    const char *base = slash ? slash + 1 : pre;
    size_t bl = strlen(base), dl = slash ? (size_t)(slash - pre) + 1 : 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        const char *nm = de->d_name;
        if (!strcmp(nm, ".") || !strcmp(nm, "..")) continue;
        if (nm[0] == '.' && base[0] != '.') continue;
        if (strncmp(nm, base, bl)) continue;
        dql_buf b = {0};
        dql_buf_put(&b, pre, dl);
        dql_buf_puts(&b, nm);
        struct stat st;
        if (stat(dql_buf_cstr(&b), &st) == 0 && S_ISDIR(st.st_mode)) dql_buf_putc(&b, '/');
        cand_add(c, b.p, b.len);
        dql_buf_free(&b);
    }
    if (d) closedir(d);
    free(dir);
    free(pre);
}

/* Adds name when it starts with w[0..wl); keywords and functions (ci) match
 * in any case and are offered in the case of the word's first letter. */
static void add_match(cands *c, const char *name, const char *w, size_t wl, bool ci)
{
    if (!name) return;
    if (ci) {
        if (strncasecmp(name, w, wl)) return;
        bool lower = wl && islower((unsigned char)w[0]);
        char buf[128];
        size_t n = strlen(name);
        if (n >= sizeof buf) return;
        for (size_t i = 0; i <= n; i++) buf[i] = lower ? (char)tolower((unsigned char)name[i]) : name[i];
        cand_add(c, buf, n);
    } else if (!strncmp(name, w, wl)) cand_add(c, name, strlen(name));
}

static const dql_schema *alias_schema(dql_session *s, const char *name, size_t n)
{
    const char *a;
    const dql_schema *sc;
    for (size_t i = 0; dql_session_alias_at(s, i, &a, &sc); i++)
        if (strlen(a) == n && !memcmp(a, name, n)) return sc;
    return NULL;
}

/* The fields of every alias named in t[0..n) that start with w[0..wl). */
static int mentioned_fields(cands *c, dql_session *s, const char *t, size_t n, const char *w, size_t wl)
{
    int found = 0;
    for (size_t i = 0; i < n;) {
        if (!(isalpha((unsigned char)t[i]) || t[i] == '_')) { i++; continue; }
        size_t b = i;
        while (i < n && (isalnum((unsigned char)t[i]) || t[i] == '_')) i++;
        if (b > 0 && (t[b - 1] == '.' || t[b - 1] == ':')) continue;
        const dql_schema *sc = alias_schema(s, t + b, i - b);
        for (int k = 0; sc && k < sc->n; k++)
            if (sc->f[k].name) { add_match(c, sc->f[k].name, w, wl, false); found++; }
    }
    return found;
}

/* The candidates for the word w[0..wl) that ends at the cursor; t[0..n) is
 * the statement up to the cursor, tl0 where the current line starts in it.
 * *close is what a single match gets after it. Returns where the word to
 * replace starts in t. */
static size_t gather(cands *c, repl *r, const char *t, size_t n, size_t tl0, const char **close)
{
    dql_session *s = r->s;
    const char *lp = t + tl0;
    while (*lp == ' ' || *lp == '\t') lp++;
    *close = " ";
    if (!r->cont && *lp == '.') {
        /* a dot-command: its name, then its arguments from the table */
        const char *e = lp + 1;
        while (*e && *e != ' ' && *e != '\t') e++;
        if (!*e) {
            size_t wl = (size_t)(e - lp - 1);
            for (size_t i = 0; i < NDOT; i++)
                if (!strncmp(dot_cmds[i].name, lp + 1, wl)) {
                    char nm[64];
                    snprintf(nm, sizeof nm, ".%s", dot_cmds[i].name);
                    cand_add(c, nm, strlen(nm));
                }
            return (size_t)(lp - t);
        }
        size_t cl = (size_t)(e - lp - 1);
        const dot_cmd *cmd = NULL;
        int hits = 0;
        for (size_t i = 0; i < NDOT; i++)
            if (!strncmp(dot_cmds[i].name, lp + 1, cl)) {
                if (strlen(dot_cmds[i].name) == cl) { cmd = &dot_cmds[i]; hits = 1; break; }
                cmd = &dot_cmds[i]; hits++;
            }
        if (hits != 1) return n;
        size_t ws = n;
        while (ws > tl0 && t[ws - 1] != ' ' && t[ws - 1] != '\t' && t[ws - 1] != '\'' && t[ws - 1] != '"') ws--;
        const char *w = t + ws;
        size_t wl = n - ws;
        if (ws > tl0 && (t[ws - 1] == '\'' || t[ws - 1] == '"')) *close = t[ws - 1] == '\'' ? "'" : "\"";
        if (strstr(cmd->args, "FILE")) file_cands(c, w, wl);
        else if (strchr(cmd->args, '|')) {
            for (const char *a = cmd->args; *a;) {
                const char *b = a;
                while (*b && *b != '|') b++;
                if ((size_t)(b - a) >= wl && !strncmp(a, w, wl)) cand_add(c, a, (size_t)(b - a));
                a = *b ? b + 1 : b;
            }
        } else if (strstr(cmd->args, "ALIAS")) {
            const char *a;
            const dql_schema *sc;
            for (size_t i = 0; dql_session_alias_at(s, i, &a, &sc); i++) add_match(c, a, w, wl, false);
        } else if (!strcmp(cmd->name, "help"))
            for (size_t i = 0; i < NDOT; i++) add_match(c, dot_cmds[i].name, w, wl, false);
        return ws;
    }
    long q = open_quote(t, n);
    if (q == -2) return n;
    if (q >= 0) {
        /* inside quotes: file names after LOAD, INTO, REGISTER, IMPORT */
        char pw[32];
        prev_word(t, (size_t)q, pw, sizeof pw);
        if ((size_t)q + 1 < tl0) return n;   /* the string began on an earlier line */
        if (!strcasecmp(pw, "LOAD") || !strcasecmp(pw, "INTO") || !strcasecmp(pw, "REGISTER") || !strcasecmp(pw, "IMPORT")) {
            *close = t[q] == '"' ? "\"" : "'";
            file_cands(c, t + q + 1, n - (size_t)q - 1);
        }
        return (size_t)q + 1;
    }
    size_t ws = n;
    while (ws > tl0 && word_ch(t[ws - 1])) ws--;
    const char *w = t + ws;
    size_t wl = n - ws;
    const char *dot = NULL;
    for (size_t i = 0; i < wl; i++) if (w[i] == '.') dot = w + i;
    if (dot) {
        /* alias.field (and bag.field further down) */
        const char *p = w, *seg = memchr(w, '.', wl);
        const dql_schema *sc = alias_schema(s, p, (size_t)(seg - p));
        while (sc && seg < dot) {
            p = seg + 1;
            seg = memchr(p, '.', (size_t)(w + wl - p));
            const dql_schema *sub = NULL;
            for (int k = 0; k < sc->n; k++)
                if (sc->f[k].name && strlen(sc->f[k].name) == (size_t)(seg - p) && !memcmp(sc->f[k].name, p, (size_t)(seg - p))) sub = sc->f[k].sub;
            sc = sub;
        }
        size_t pl = (size_t)(dot + 1 - w);
        for (int k = 0; sc && k < sc->n; k++) {
            if (!sc->f[k].name || strncmp(sc->f[k].name, dot + 1, wl - pl)) continue;
            dql_buf b = {0};
            dql_buf_put(&b, w, pl);
            dql_buf_puts(&b, sc->f[k].name);
            cand_add(c, b.p, b.len);
            dql_buf_free(&b);
        }
        return ws;
    }
    char pw[32];
    prev_word(t, ws, pw, sizeof pw);
    if (!strcasecmp(pw, "SET")) {
        const char *k, *v;
        for (size_t i = 0; dql_session_setting_at(s, i, &k, &v); i++) add_match(c, k, w, wl, false);
        return ws;
    }
    /* the fields of the aliases the statement names come first; with
     * nothing typed, only they (or the aliases) are offered */
    int nf = mentioned_fields(c, s, t, ws, w, wl);
    if (wl == 0 && nf) return ws;
    const char *a;
    const dql_schema *sc;
    for (size_t i = 0; dql_session_alias_at(s, i, &a, &sc); i++) add_match(c, a, w, wl, false);
    if (wl == 0) return ws;
    for (size_t i = 0; dql_keyword_at(i); i++) add_match(c, dql_keyword_at(i), w, wl, true);
    for (size_t i = 0; dql_func_at(i); i++) add_match(c, dql_func_at(i)->name, w, wl, true);
    return ws;
}

/* Prints the candidates in columns under the line being edited. */
static void list_cands(cands *c)
{
    qsort(c->v, (size_t)c->n, sizeof(char *), cmp_str);
    size_t w = 0;
    for (int i = 0; i < c->n; i++) {
        const char *d = c->v[i];
        const char *sl = strrchr(d, '/');
        if (sl && sl[1]) d = sl + 1;
        else if (sl) { const char *p = sl; while (p > c->v[i] && p[-1] != '/') p--; d = p; }
        if (strlen(d) > w) w = strlen(d);
    }
    int cols = (int)((size_t)term_cols(1) / (w + 2));
    if (cols < 1) cols = 1;
    int rows = (c->n + cols - 1) / cols;
    fputc('\n', stdout);
    for (int r = 0; r < rows; r++) {
        for (int k = 0; k < cols; k++) {
            int i = k * rows + r;
            if (i >= c->n) break;
            const char *d = c->v[i];
            const char *sl = strrchr(d, '/');
            if (sl && sl[1]) d = sl + 1;
            else if (sl) { const char *p = sl; while (p > c->v[i] && p[-1] != '/') p--; d = p; }
            bool last = k == cols - 1 || (k + 1) * rows + r >= c->n;
            if (last) fputs(d, stdout);
            else fprintf(stdout, "%-*s", (int)(w + 2), d);
        }
        fputc('\n', stdout);
    }
    fflush(stdout);
}

/* Tab: completes the word at the cursor (see gather), or lists the
 * choices when it cannot be extended. */
static unsigned char complete_fn(EditLine *el, int ch)
{
    (void)ch;
    repl *r = g_repl;
    const LineInfo *li = el_line(el);
    if (!r || !li) return CC_ERROR;
    size_t cur = (size_t)(li->cursor - li->buffer);
    dql_buf t = {0};
    if (r->cont) dql_buf_put(&t, r->stmt.p, r->stmt.len);
    size_t tl0 = t.len;
    dql_buf_put(&t, li->buffer, cur);
    const char *txt = dql_buf_cstr(&t);
    cands c = {0};
    const char *close = " ";
    size_t ws = gather(&c, r, txt, t.len, tl0, &close);
    size_t wl = t.len - ws;
    unsigned char ret = CC_REFRESH;
    if (c.n == 0) ret = CC_REFRESH_BEEP;
    else {
        size_t common = strlen(c.v[0]);
        for (int i = 1; i < c.n; i++) {
            size_t k = 0;
            while (k < common && c.v[i][k] == c.v[0][k]) k++;
            common = k;
        }
        if (c.n == 1 || common > wl) {
            dql_buf ins = {0};
            dql_buf_put(&ins, c.v[0], common);
            size_t cl = strlen(c.v[0]);
            if (c.n == 1 && cl && c.v[0][cl - 1] != '/' && !(cl && c.v[0][cl - 1] == '.')) dql_buf_puts(&ins, close);
            if (wl) el_deletestr(el, (int)wl);
            el_insertstr(el, dql_buf_cstr(&ins));
            dql_buf_free(&ins);
        } else {
            list_cands(&c);
            ret = CC_REDISPLAY;
        }
    }
    cand_free(&c);
    dql_buf_free(&t);
    return ret;
}

/* ------------------------------------------------------------ the loop */

/* Ctrl-C while editing (the terminal sends it as a key there, not as a
 * signal, so that it stays in order with what is typed after it): ends the
 * line, which the loop then drops with any statement still open. */
static unsigned char cancel_fn(EditLine *el, int ch)
{
    (void)el;
    (void)ch;
    if (g_repl) g_repl->cancel = true;
    return CC_NEWLINE;
}

static const char *prompt_fn(EditLine *el)
{
    void *p;
    el_get(el, EL_CLIENTDATA, &p);
    return ((repl *)p)->cont ? "...> " : "dql> ";
}

/* The interactive shell: reads statements (continued while the lexer says
 * they are open) and dot-commands (at the start of a statement) until
 * .quit or Ctrl-D; returns the exit status. */
int dql_shell_run(dql_session *s)
{
    repl r;
    memset(&r, 0, sizeof r);
    r.s = s;
    g_repl = &r;
    dql_out_opts *o = dql_session_out(s);
    volatile sig_atomic_t *intr = dql_session_interrupt_flag(s);
    EditLine *el = el_init("dql", stdin, stdout, stderr);
    r.hist = history_init();
    HistEvent ev;
    history(r.hist, &ev, H_SETSIZE, HISTORY_SIZE);
    history(r.hist, &ev, H_SETUNIQUE, 1);
    const char *hp = getenv("DQL_HISTORY");
    const char *home = getenv("HOME");
    if (hp) snprintf(r.histpath, sizeof r.histpath, "%s", hp);
    else if (home && *home) snprintf(r.histpath, sizeof r.histpath, "%s/.dql_history", home);
    if (r.histpath[0]) history(r.hist, &ev, H_LOAD, r.histpath);
    el_set(el, EL_CLIENTDATA, &r);
    el_set(el, EL_PROMPT, prompt_fn);
    el_set(el, EL_EDITOR, "emacs");
    el_set(el, EL_HIST, history, r.hist);
    el_set(el, EL_ADDFN, "dql-complete", "complete keywords, aliases, fields, functions, settings, files", complete_fn);
    el_set(el, EL_BIND, "^I", "dql-complete", NULL);
    el_set(el, EL_ADDFN, "dql-cancel", "drop the line and the statement open", cancel_fn);
    el_set(el, EL_BIND, "^C", "dql-cancel", NULL);
    el_set(el, EL_SETTY, "-d", "-isig", NULL);
    el_source(el, NULL);    /* ~/.editrc (or $EDITRC) may change all of that */
    const char *mode = NULL;
    if (el_get(el, EL_EDITOR, &mode) == 0 && mode && strcmp(mode, "emacs") != 0) {
        /* "bind -v" there made fresh vi key maps: Tab and ^C again */
        el_set(el, EL_BIND, "^I", "dql-complete", NULL);
        el_set(el, EL_BIND, "^C", "dql-cancel", NULL);
    }
    if (isatty(0)) fprintf(stdout, "dql %s — type .help for help, statements end with ';'\n", PACKAGE_VERSION);
    while (!g_sh.quit) {
        fflush(o->fp);
        fflush(stdout);
        el_resize(el);
        int n = 0;
        errno = 0;
        dql_shell_at_prompt = 1;
        const char *line = el_gets(el, &n);
        int e = errno;
        dql_shell_at_prompt = 0;
        *intr = 0;
        if (r.cancel || (!line && n < 0 && e == EINTR)) {
            /* Ctrl-C at the prompt (a key, or a signal if .editrc turned
             * isig back on): the line and any open statement go */
            fputc('\n', stdout);
            r.cancel = false;
            r.stmt.len = 0;
            r.cont = false;
            if (!line) el_reset(el);
            continue;
        }
        if (!line) {
            fputc('\n', stdout);
            break;  /* Ctrl-D on an empty line, or the end of the input */
        }
        if (!r.cont) {
            const char *p = line;
            while (*p == ' ' || *p == '\t') p++;
            if (*p == '.') {
                char *cmd = dql_xstrdup(p + 1);
                size_t cl = strlen(cmd);
                while (cl && (cmd[cl - 1] == '\n' || cmd[cl - 1] == '\r' || cmd[cl - 1] == ' ' || cmd[cl - 1] == '\t')) cmd[--cl] = 0;
                history_add(line);
                run_dot(s, cmd);
                free(cmd);
                continue;
            }
            if (*p == '\n' || *p == '\r' || *p == 0) continue;
        }
        dql_buf_puts(&r.stmt, line);
        if (!dql_lex_complete(r.stmt.p, r.stmt.len)) { r.cont = true; continue; }
        r.cont = false;
        char *text = dql_xstrndup(r.stmt.p, r.stmt.len);
        r.stmt.len = 0;
        history_add(text);
        set_last_text(text, strlen(text));
        dql_session_exec(s, "<stdin>", text, g_sh.bail ? DQL_RUN_BAIL : 0);
        free(text);
    }
    fflush(o->fp);
    dql_buf_free(&r.stmt);
    history_end(r.hist);
    el_end(el);
    g_repl = NULL;
    return g_sh.exit_code;
}
