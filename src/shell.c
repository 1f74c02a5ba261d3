/* shell.c — the shell layer over a session: dot-commands (one metadata
 * table feeds .help and completion), scripts that mix dot-commands and
 * statements, and the interactive REPL on libedit. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <errno.h>
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
    bool echo, bail;
    FILE *once_restore;     /* .once: restore the output after one statement */
    bool once_pending;
} shell_state;

static shell_state g_sh;

typedef dql_status (*dot_fn)(dql_session *s, int argc, char **argv);

typedef struct dot_cmd {
    const char *name;
    const char *args;
    const char *summary;
    dot_fn fn;
} dot_cmd;

static dql_status usage_err(dql_session *s, const char *name, const char *args)
{
    fprintf(dql_session_errfp(s), "Usage: .%s %s\n", name, args);
    return DQL_ERR_USAGE;
}

static bool on_off(const char *v, bool *out)
{
    if (!strcasecmp(v, "on") || !strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes")) { *out = true; return true; }
    if (!strcasecmp(v, "off") || !strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no")) { *out = false; return true; }
    return false;
}

static dql_status dot_mode(dql_session *s, int argc, char **argv)
{
    dql_out_opts *o = dql_session_out(s);
    if (argc == 1) { fprintf(o->fp, "%s\n", dql_outmode_name(o->mode)); return DQL_OK; }
    if (argc != 2 || !dql_outmode_parse(argv[1], &o->mode))
        return usage_err(s, "mode", "table|box|csv|tsv|json|jsonl|markdown|line");
    return DQL_OK;
}

static dql_status dot_headers(dql_session *s, int argc, char **argv)
{
    dql_out_opts *o = dql_session_out(s);
    if (argc != 2 || !on_off(argv[1], &o->headers)) return usage_err(s, "headers", "on|off");
    return DQL_OK;
}

static dql_status dot_nullvalue(dql_session *s, int argc, char **argv)
{
    static char buf[64];
    if (argc != 2) return usage_err(s, "nullvalue", "STRING");
    snprintf(buf, sizeof buf, "%s", argv[1]);
    dql_session_out(s)->nullvalue = buf;
    return DQL_OK;
}

static dql_status dot_maxrows(dql_session *s, int argc, char **argv)
{
    char *end;
    if (argc != 2) return usage_err(s, "maxrows", "N (0: no limit)");
    long long n = strtoll(argv[1], &end, 10);
    if (*end || n < 0) return usage_err(s, "maxrows", "N (0: no limit)");
    dql_session_out(s)->maxrows = n;
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
    o->fp = f;
    return DQL_OK;
}

static dql_status dot_output(dql_session *s, int argc, char **argv)
{
    if (argc > 2) return usage_err(s, "output", "[FILE]");
    g_sh.once_pending = false;
    return open_output(s, argc == 2 ? argv[1] : NULL);
}

static dql_status dot_once(dql_session *s, int argc, char **argv)
{
    if (argc != 2) return usage_err(s, "once", "FILE");
    dql_status st = open_output(s, argv[1]);
    if (st == DQL_OK) g_sh.once_pending = true;
    return st;
}

static dql_status dot_read(dql_session *s, int argc, char **argv)
{
    if (argc != 2) return usage_err(s, "read", "FILE");
    char err[512];
    char *t = dql_read_file(argv[1], NULL, err, sizeof err);
    if (!t) { fprintf(dql_session_errfp(s), "dql: %s\n", err); return DQL_ERR_IO; }
    dql_status st = dql_shell_script(s, argv[1], t, g_sh.bail ? DQL_RUN_BAIL : 0);
    free(t);
    return st;
}

static dql_status dot_open(dql_session *s, int argc, char **argv)
{
    if (argc != 2) return usage_err(s, "open", "FILE");
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
    if (argc != 1) return usage_err(s, "tables", "");
    char err[512];
    sqlite3 *db = dql_session_db(s, err, sizeof err);
    if (!db) { fprintf(dql_session_errfp(s), "dql: %s\n", err); return DQL_ERR_IO; }
    char **t = dql_ws_tables(db);
    for (int i = 0; t && t[i]; i++) fprintf(dql_session_out(s)->fp, "%s\n", t[i]);
    dql_paths_free(t);
    return DQL_OK;
}

static dql_status dot_schema(dql_session *s, int argc, char **argv)
{
    if (argc > 2) return usage_err(s, "schema", "[ALIAS|TABLE]");
    FILE *fp = dql_session_out(s)->fp;
    char err[512];
    if (argc == 2) {
        dql_plan *p = dql_session_alias(s, argv[1]);
        dql_buf b = {0};
        if (p) {
            dql_schema_format(&b, p->schema);
            fprintf(fp, "%s: {%s}\n", argv[1], dql_buf_cstr(&b));
            dql_buf_free(&b);
            return DQL_OK;
        }
        sqlite3 *db = dql_session_db(s, err, sizeof err);
        dql_schema *sc = db ? dql_ws_table_schema(db, argv[1], err, sizeof err) : NULL;
        if (!sc) { fprintf(dql_session_errfp(s), "dql: no alias or table '%s'\n", argv[1]); return DQL_ERR_USAGE; }
        dql_schema_format(&b, sc);
        fprintf(fp, "table %s: {%s}\n", argv[1], dql_buf_cstr(&b));
        dql_buf_free(&b);
        dql_schema_free(sc);
        return DQL_OK;
    }
    sqlite3 *db = dql_session_db(s, err, sizeof err);
    if (!db) { fprintf(dql_session_errfp(s), "dql: %s\n", err); return DQL_ERR_IO; }
    char **t = dql_ws_tables(db);
    for (int i = 0; t && t[i]; i++) {
        dql_schema *sc = dql_ws_table_schema(db, t[i], err, sizeof err);
        if (!sc) continue;
        dql_buf b = {0};
        dql_schema_format(&b, sc);
        fprintf(fp, "table %s: {%s}\n", t[i], dql_buf_cstr(&b));
        dql_buf_free(&b);
        dql_schema_free(sc);
    }
    dql_paths_free(t);
    return DQL_OK;
}

static dql_status dot_set(dql_session *s, int argc, char **argv)
{
    (void)argv;
    if (argc != 1) return usage_err(s, "set", "");
    const char *k, *v;
    for (size_t i = 0; dql_session_setting_at(s, i, &k, &v); i++) fprintf(dql_session_out(s)->fp, "%s = %s\n", k, v);
    return DQL_OK;
}

static dql_status dot_echo(dql_session *s, int argc, char **argv)
{
    if (argc != 2 || !on_off(argv[1], &g_sh.echo)) return usage_err(s, "echo", "on|off");
    return DQL_OK;
}

static dql_status dot_bail(dql_session *s, int argc, char **argv)
{
    if (argc != 2 || !on_off(argv[1], &g_sh.bail)) return usage_err(s, "bail", "on|off");
    return DQL_OK;
}

static dql_status dot_quit(dql_session *s, int argc, char **argv)
{
    if (argc > 2) return usage_err(s, "quit", "[CODE]");
    g_sh.quit = true;
    g_sh.exit_code = argc == 2 ? atoi(argv[1]) : 0;
    return DQL_OK;
}

static dql_status dot_shell(dql_session *s, int argc, char **argv)
{
    if (argc < 2) return usage_err(s, "shell", "COMMAND");
    dql_buf b = {0};
    for (int i = 1; i < argc; i++) dql_buf_printf(&b, "%s%s", i > 1 ? " " : "", argv[i]);
    fflush(dql_session_out(s)->fp);
    int rc = system(dql_buf_cstr(&b));
    dql_buf_free(&b);
    return rc == 0 ? DQL_OK : DQL_ERR_RUNTIME;
}

static dql_status dot_help(dql_session *s, int argc, char **argv);

static const dot_cmd dot_cmds[] = {
    { "bail", "on|off", "stop a script at the first error", dot_bail },
    { "echo", "on|off", "print each statement before running it", dot_echo },
    { "exit", "[CODE]", "leave dql", dot_quit },
    { "headers", "on|off", "column headers in the output", dot_headers },
    { "help", "[PATTERN]", "this help", dot_help },
    { "maxrows", "N", "rows shown in table/box/markdown/line modes (0: all)", dot_maxrows },
    { "mode", "MODE", "output mode: table box csv tsv json jsonl markdown line", dot_mode },
    { "nullvalue", "STRING", "text printed for null", dot_nullvalue },
    { "once", "FILE", "send the next result to FILE", dot_once },
    { "open", "FILE", "switch the workspace database", dot_open },
    { "output", "[FILE]", "send results to FILE (no FILE: stdout)", dot_output },
    { "quit", "[CODE]", "leave dql", dot_quit },
    { "read", "FILE", "run a script file", dot_read },
    { "schema", "[ALIAS|TABLE]", "schema of an alias or table (all tables without argument)", dot_schema },
    { "set", "", "all settings", dot_set },
    { "shell", "COMMAND", "run a shell command", dot_shell },
    { "tables", "", "tables in the workspace", dot_tables },
};

static dql_status dot_help(dql_session *s, int argc, char **argv)
{
    FILE *fp = dql_session_out(s)->fp;
    for (size_t i = 0; i < sizeof dot_cmds / sizeof dot_cmds[0]; i++) {
        if (argc > 1 && !strstr(dot_cmds[i].name, argv[1][0] == '.' ? argv[1] + 1 : argv[1])) continue;
        char left[64];
        snprintf(left, sizeof left, ".%s %s", dot_cmds[i].name, dot_cmds[i].args);
        fprintf(fp, "%-28s %s\n", left, dot_cmds[i].summary);
    }
    if (argc == 1) fputs("\nStatements end with ';'. See doc/language.md, and DESCRIBE / EXPLAIN an alias.\n", fp);
    return DQL_OK;
}

/* Splits a dot-command line into words (quotes group words). */
static int split_words(char *line, char **argv, int max)
{
    int n = 0;
    char *p = line;
    while (*p && n < max) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) break;
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

/* Runs one dot-command line (without the leading '.'). Unambiguous
 * prefixes are accepted. */
static dql_status run_dot(dql_session *s, const char *line)
{
    char *copy = dql_xstrdup(line);
    char *argv[32];
    int argc = split_words(copy, argv, 32);
    dql_status st = DQL_OK;
    if (argc == 0) { free(copy); return DQL_OK; }
    const dot_cmd *hit = NULL;
    int nhits = 0;
    size_t n = strlen(argv[0]);
    for (size_t i = 0; i < sizeof dot_cmds / sizeof dot_cmds[0]; i++) {
        if (!strcmp(dot_cmds[i].name, argv[0])) { hit = &dot_cmds[i]; nhits = 1; break; }
        if (!strncmp(dot_cmds[i].name, argv[0], n)) { hit = &dot_cmds[i]; nhits++; }
    }
    if (nhits == 1) st = hit->fn(s, argc, argv);
    else if (nhits > 1) { fprintf(dql_session_errfp(s), "dql: ambiguous command '.%s' (.help lists them)\n", argv[0]); st = DQL_ERR_USAGE; }
    else { fprintf(dql_session_errfp(s), "dql: unknown command '.%s' (.help lists them)\n", argv[0]); st = DQL_ERR_USAGE; }
    free(copy);
    return st;
}

static void after_statement(dql_session *s)
{
    if (g_sh.once_pending) {
        g_sh.once_pending = false;
        open_output(s, NULL);
    }
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
    if (g_sh.echo) fprintf(dql_session_out(s)->fp, "%.*s\n", (int)(end - start), text + start);
    dql_status st = dql_session_exec(s, file, dql_buf_cstr(&b), flags);
    dql_buf_free(&b);
    after_statement(s);
    return st;
}

dql_status dql_shell_script(dql_session *s, const char *file, const char *text, int flags)
{
    size_t len = strlen(text), seg = 0, i = 0;
    int line = 1, segline = 1;
    dql_status result = DQL_OK;
    bool at_stmt_start = true;
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
            while (cl && (cmd[cl - 1] == '\r' || cmd[cl - 1] == ' ')) cmd[--cl] = 0;
            st = run_dot(s, cmd);
            free(cmd);
            if (st != DQL_OK && result == DQL_OK) result = st;
            if ((st != DQL_OK && (flags & DQL_RUN_BAIL)) || g_sh.quit) return result;
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
        last = dql_session_exec(s, "<stdin>", text, 0);
        after_statement(s);
        free(text);
        fflush(o->fp);
    }
    (void)last;
    dql_buf_free(&stmt);
    history_end(hist);
    el_end(el);
    return g_sh.exit_code;
}
