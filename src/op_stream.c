/* op_stream.c — STREAM rel THROUGH `command`, in two forms.
 *
 * Whole relation (a command without ${...}): rows go out as TSV on the
 * command's stdin, its stdout comes back as rows; stdout and stderr are read
 * while the command runs (no pipe deadlock), an exit status outside
 * exit_codes or a timeout is an error that names the command.
 *
 * Per row (a command with ${field}, typically over LOAD ... USING files()):
 * the command runs once per input row with ${file}, ${name} or any ${field}
 * substituted, each argument staying one argument whatever it holds (no
 * shell unless THROUGH SHELL, where values are single-quoted). Up to
 * `parallel` commands run at once; each gets its own process group, which a
 * timeout kills whole; stdout and stderr are read while they run and kept up
 * to max_output. Archive members are extracted to a private temporary
 * directory and removed after. Rows come out in input order: the input
 * fields plus exit_code, timed_out, duration_ms, stdout, stderr, truncated
 * (output = 'lines': one row per line; 'json': plus the parsed json). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>
#include <time.h>
#include <sys/wait.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include "engine.h"
#include "session.h"
#include "files.h"
#include "json.h"

extern char **environ;

/* ------------------------------------------------------------- options */

enum { OUT_TEXT, OUT_LINES, OUT_JSON };

/* STREAM's WITH options, checked at plan time and read again at open. */
struct sopts {
    int64_t timeout_us;         /* 0: none */
    char timeout_text[256];
    int *codes;                 /* accepted exit statuses */
    int ncodes;
    int parallel;
    int output;                 /* OUT_* */
    uint64_t max_output;        /* bytes kept of stdout and of stderr */
    char *tmpdir;               /* NULL: SET tmpdir */
};

static const char *const whole_opts = "timeout, exit_codes";
static const char *const perfile_opts = "timeout, exit_codes, parallel, output, max_output, tmpdir";

static bool arg_text(const dql_value *v, char *buf, size_t n)
{
    if (v->type != DQL_T_CHARARRAY) return false;
    snprintf(buf, n, "%.*s", (int)v->len, v->u.s);
    return true;
}

static bool add_code(struct sopts *o, const dql_value *v)
{
    if ((v->type != DQL_T_INT && v->type != DQL_T_LONG) || v->u.i < 0 || v->u.i > 255) return false;
    o->codes = dql_xrealloc(o->codes, sizeof(int) * (size_t)(o->ncodes + 1));
    o->codes[o->ncodes++] = (int)v->u.i;
    return true;
}

static bool parse_opts1(const dql_args *args, bool perfile, const char *deftimeout, struct sopts *o, char *err, size_t errlen);

/* Reads the WITH list; false with a message in err (and nothing to free).
 * deftimeout: the session's stream.timeout (NULL at plan time). */
static bool parse_opts(const dql_args *args, bool perfile, const char *deftimeout, struct sopts *o, char *err, size_t errlen)
{
    if (parse_opts1(args, perfile, deftimeout, o, err, errlen)) return true;
    free(o->codes);
    free(o->tmpdir);
    o->codes = NULL;
    o->tmpdir = NULL;
    return false;
}

static bool parse_opts1(const dql_args *args, bool perfile, const char *deftimeout, struct sopts *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->parallel = 1;
    o->output = OUT_TEXT;
    o->max_output = 16u << 20;
    char tb[256];
    bool codes_given = false;
    if (deftimeout) {
        int64_t us;
        if (dql_parse_duration(deftimeout, &us) && us > 0) {
            o->timeout_us = us;
            snprintf(o->timeout_text, sizeof o->timeout_text, "%s", deftimeout);
        }
    }
    for (int i = 0; args && i < args->n; i++) {
        const dql_arg *a = &args->a[i];
        const char *nm = a->name ? a->name : "";
        bool ok = true;
        if (!strcmp(nm, "timeout")) {
            int64_t us = 0;
            if (a->v.type == DQL_T_INT || a->v.type == DQL_T_LONG) {
                us = a->v.u.i * 1000000;
                snprintf(tb, sizeof tb, "%llds", (long long)a->v.u.i);
            } else ok = arg_text(&a->v, tb, sizeof tb) && dql_parse_duration(tb, &us);
            ok = ok && us >= 0;
            if (!ok) { snprintf(err, errlen, "STREAM: timeout takes a duration such as '30s' or '500ms'"); return false; }
            o->timeout_us = us;
            snprintf(o->timeout_text, sizeof o->timeout_text, "%s", tb);
        } else if (!strcmp(nm, "exit_codes")) {
            if (!codes_given) { o->ncodes = 0; codes_given = true; }
            if (a->v.type == DQL_T_TUPLE) {
                for (uint32_t k = 0; k < a->v.u.t->n && ok; k++) ok = add_code(o, &a->v.u.t->v[k]);
                ok = ok && a->v.u.t->n > 0;
            } else ok = add_code(o, &a->v);
            if (!ok) { snprintf(err, errlen, "STREAM: exit_codes takes statuses from 0 to 255, e.g. exit_codes = (0, 1)"); return false; }
        } else if (perfile && !strcmp(nm, "parallel")) {
            if ((a->v.type != DQL_T_INT && a->v.type != DQL_T_LONG) || a->v.u.i < 1 || a->v.u.i > 256) {
                snprintf(err, errlen, "STREAM: parallel takes a number of commands from 1 to 256");
                return false;
            }
            o->parallel = (int)a->v.u.i;
        } else if (perfile && !strcmp(nm, "output")) {
            if (!arg_text(&a->v, tb, sizeof tb)) tb[0] = 0;
            if (!strcmp(tb, "text")) o->output = OUT_TEXT;
            else if (!strcmp(tb, "lines")) o->output = OUT_LINES;
            else if (!strcmp(tb, "json")) o->output = OUT_JSON;
            else { snprintf(err, errlen, "STREAM: output takes 'text', 'lines' or 'json'"); return false; }
        } else if (perfile && !strcmp(nm, "max_output")) {
            uint64_t n = 0;
            if (a->v.type == DQL_T_INT || a->v.type == DQL_T_LONG) { ok = a->v.u.i > 0; n = (uint64_t)a->v.u.i; }
            else ok = arg_text(&a->v, tb, sizeof tb) && dql_parse_size(tb, &n) && n > 0;
            if (!ok || n > (uint64_t)1 << 31) {
                snprintf(err, errlen, "STREAM: max_output takes a size such as '16MB' (at most 2GB)");
                return false;
            }
            o->max_output = n;
        } else if (perfile && !strcmp(nm, "tmpdir")) {
            struct stat st;
            if (!arg_text(&a->v, tb, sizeof tb) || !*tb) { snprintf(err, errlen, "STREAM: tmpdir takes a directory name"); return false; }
            if (stat(tb, &st) != 0 || !S_ISDIR(st.st_mode) || access(tb, W_OK | X_OK) != 0) {
                snprintf(err, errlen, "STREAM: tmpdir '%s' is not a writable directory", tb);
                return false;
            }
            free(o->tmpdir);
            o->tmpdir = dql_xstrdup(tb);
        } else {
            bool known = !strcmp(nm, "parallel") || !strcmp(nm, "output") || !strcmp(nm, "max_output") || !strcmp(nm, "tmpdir");
            if (known)
                snprintf(err, errlen, "STREAM: %s is for a command run per row (one with ${field}); "
                         "a whole-relation STREAM takes WITH (%s)", nm, whole_opts);
            else
                snprintf(err, errlen, "STREAM takes WITH (%s); '%s' is not understood", perfile ? perfile_opts : whole_opts,
                         *nm ? nm : "(positional)");
            free(o->codes);
            free(o->tmpdir);
            o->codes = NULL; o->tmpdir = NULL;
            return false;
        }
    }
    if (!o->ncodes) add_code(o, &(dql_value){ .type = DQL_T_INT, .u.i = 0 });
    return true;
}

static bool code_ok(const struct sopts *o, int code)
{
    for (int i = 0; i < o->ncodes; i++) if (o->codes[i] == code) return true;
    return false;
}

/* True when the command has a ${...} reference: it runs once per row. */
static bool is_perfile(const char *cmd) { return strstr(cmd, "${") != NULL; }

/* Calls f(ud, name, len) for each ${name} of cmd; false (with err) on a
 * malformed reference. */
static bool each_ref(const char *cmd, bool (*f)(void *, const char *, size_t), void *ud, char *err, size_t errlen)
{
    for (const char *p = strstr(cmd, "${"); p; p = strstr(p, "${")) {
        const char *b = p + 2, *e = strchr(b, '}');
        if (!e || e == b) {
            snprintf(err, errlen, "STREAM: '${' without a field name and '}' in the command");
            return false;
        }
        for (const char *q = b; q < e; q++)
            if (!(*q == '_' || *q == ':' || (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9'))) {
                snprintf(err, errlen, "STREAM: '${%.*s}' is not a field name", (int)(e - b), b);
                return false;
            }
        if (f && !f(ud, b, (size_t)(e - b))) return false;
        p = e + 1;
    }
    return true;
}

typedef struct refcheck { const dql_schema *in; char *err; size_t errlen; bool *cols; } refcheck;

static bool ref_is(const char *s, size_t n, const char *w) { return strlen(w) == n && !memcmp(s, w, n); }

static int find_field(const dql_schema *in, const char *s, size_t n)
{
    char nm[256];
    snprintf(nm, sizeof nm, "%.*s", (int)n, s);
    return dql_schema_find(in, nm);
}

/* ${file}: the field file, else path (with archive and member when present). */
static bool ref_check(void *ud, const char *s, size_t n)
{
    refcheck *rc = ud;
    int i = find_field(rc->in, s, n);
    if (i >= 0) { if (rc->cols) rc->cols[i] = true; return true; }
    if (ref_is(s, n, "file")) {
        int p = dql_schema_find(rc->in, "path");
        if (p >= 0) {
            if (rc->cols) {
                rc->cols[p] = true;
                int a = dql_schema_find(rc->in, "archive"), m = dql_schema_find(rc->in, "member");
                if (a >= 0) rc->cols[a] = true;
                if (m >= 0) rc->cols[m] = true;
            }
            return true;
        }
        snprintf(rc->err, rc->errlen, "STREAM: ${file} needs a field 'path' or 'file' in the input");
        return false;
    }
    snprintf(rc->err, rc->errlen, "STREAM: ${%.*s}: the input has no field '%.*s'%s", (int)n, s, (int)n, s,
             i == -2 ? " (it is ambiguous)" : "");
    return false;
}

static const char *const added_names[] = { "exit_code", "timed_out", "duration_ms", "stdout", "stderr", "truncated", "json" };

bool dql_stream_plan(dql_plan *p, const dql_schema *in, const dql_schema *as, char *err, size_t errlen, bool *at_with)
{
    bool perfile = is_perfile(p->command);
    struct sopts o;
    *at_with = true;
    if (!parse_opts(&p->args, perfile, NULL, &o, err, errlen)) return false;
    int output = o.output;
    free(o.codes);
    free(o.tmpdir);
    *at_with = false;
    if (!perfile) {
        if (as) {
            p->schema = dql_schema_copy(as);
            p->declared = dql_schema_copy(as);
        } else {
            p->schema = dql_schema_new(0);
            dql_schema_add(p->schema, "line", DQL_T_CHARARRAY, NULL);
        }
        return true;
    }
    if (as) {
        snprintf(err, errlen, "a STREAM run per row has a fixed schema (the input fields, exit_code, timed_out, "
                 "duration_ms, stdout, stderr, truncated): drop the AS and parse stdout with FOREACH");
        return false;
    }
    refcheck rc = { in, err, errlen, NULL };
    if (!each_ref(p->command, ref_check, &rc, err, errlen)) return false;
    int nadd = output == OUT_JSON ? 7 : 6;
    for (int k = 0; k < nadd; k++)
        if (dql_schema_find(in, added_names[k]) >= 0) {
            snprintf(err, errlen, "STREAM: the input already has a field '%s'; rename or drop it with FOREACH first", added_names[k]);
            return false;
        }
    p->schema = dql_schema_copy(in);
    dql_schema_add(p->schema, "exit_code", DQL_T_INT, NULL);
    dql_schema_add(p->schema, "timed_out", DQL_T_BOOL, NULL);
    dql_schema_add(p->schema, "duration_ms", DQL_T_LONG, NULL);
    dql_schema_add(p->schema, "stdout", DQL_T_CHARARRAY, NULL);
    dql_schema_add(p->schema, "stderr", DQL_T_CHARARRAY, NULL);
    dql_schema_add(p->schema, "truncated", DQL_T_BOOL, NULL);
    if (output == OUT_JSON) dql_schema_add(p->schema, "json", DQL_T_ANY, NULL);
    return true;
}

bool dql_stream_per_row(const dql_plan *p) { return is_perfile(p->command); }

void dql_stream_need(const dql_plan *p, const bool *need, bool *ni, int iw, bool *all)
{
    *all = false;
    if (!is_perfile(p->command)) { *all = true; return; }
    for (int i = 0; i < iw; i++) ni[i] = !need || need[i];
    char err[256];
    refcheck rc = { p->in[0]->schema, err, sizeof err, ni };
    each_ref(p->command, ref_check, &rc, err, sizeof err);
}

typedef struct stream_st {
    pid_t pid;
    int in_fd, out_fd, err_fd;   /* our ends: write rows to in_fd, read out_fd, err_fd */
    dql_buf wbuf;                /* TSV not yet written */
    size_t wpos;
    dql_buf rbuf;                /* output read, not yet parsed into rows */
    size_t rpos;
    dql_buf ebuf;                /* the tail of stderr */
    bool in_done, out_done, err_done;
    int64_t deadline_us;         /* 0: none */
    char timeout_text[256];      /* as given, for the message */
    char *argv0;
    struct sopts opts;
} stream_st;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Splits a command line into words: spaces separate, '...' and "..." quote,
 * backslash escapes (no shell is involved). */
static char **split_command(const char *cmd, int *argc)
{
    char **argv = dql_xcalloc(strlen(cmd) / 2 + 2, sizeof(char *));
    int n = 0;
    const char *p = cmd;
    dql_buf w = {0};
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '\n') p++;
        if (!*p) break;
        w.len = 0;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
            if (*p == '\'') { p++; while (*p && *p != '\'') dql_buf_putc(&w, *p++); if (*p) p++; }
            else if (*p == '"') {
                p++;
                while (*p && *p != '"') {
                    /* as in sh: inside "...", a backslash escapes only $ ` " \ */
                    if (*p == '\\' && p[1] && strchr("$`\"\\", p[1])) p++;
                    dql_buf_putc(&w, *p++);
                }
                if (*p) p++;
            } else if (*p == '\\' && p[1]) { p++; dql_buf_putc(&w, *p++); }
            else dql_buf_putc(&w, *p++);
        }
        argv[n++] = dql_xstrndup(w.p ? w.p : "", w.len);
    }
    dql_buf_free(&w);
    argv[n] = NULL;
    *argc = n;
    return argv;
}

static dql_status whole_open(dql_op *op)
{
    stream_st *s = dql_xcalloc(1, sizeof *s);
    op->st = s;
    s->pid = -1;
    int argc;
    char **argv;
    if (op->plan->shell) {
        /* THROUGH SHELL '...': the one case that goes through /bin/sh */
        argc = 3;
        argv = dql_xcalloc(4, sizeof(char *));
        argv[0] = dql_xstrdup("/bin/sh");
        argv[1] = dql_xstrdup("-c");
        argv[2] = dql_xstrdup(op->plan->command);
    } else argv = split_command(op->plan->command, &argc);
    if (argc == 0) { free(argv); return dql_exec_error(op->ex, "empty command"); }
    s->argv0 = dql_xstrdup(argv[0]);
    int pin[2], pout[2], perr[2];
    if (pipe(pin) || pipe(pout) || pipe(perr)) {
        for (int i = 0; i < argc; i++) free(argv[i]);
        free(argv);
        return dql_exec_error_st(op->ex, DQL_ERR_IO, "pipe: %s", strerror(errno));
    }
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        dup2(pin[0], 0); dup2(pout[1], 1); dup2(perr[1], 2);
        close(pin[0]); close(pin[1]); close(pout[0]); close(pout[1]); close(perr[0]); close(perr[1]);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        execvp(argv[0], argv);
        dprintf(2, "cannot run '%s': %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    for (int i = 0; i < argc; i++) free(argv[i]);
    free(argv);
    close(pin[0]); close(pout[1]); close(perr[1]);
    if (pid < 0) {
        close(pin[1]); close(pout[0]); close(perr[0]);
        return dql_exec_error_st(op->ex, DQL_ERR_IO, "fork: %s", strerror(errno));
    }
    s->pid = pid;
    s->in_fd = pin[1]; s->out_fd = pout[0]; s->err_fd = perr[0];
    fcntl(s->in_fd, F_SETFL, O_NONBLOCK);
    fcntl(s->out_fd, F_SETFL, O_NONBLOCK);
    fcntl(s->err_fd, F_SETFL, O_NONBLOCK);
    signal(SIGPIPE, SIG_IGN);
    char err[256];
    if (!parse_opts(&op->plan->args, false, dql_session_get(op->ex->sess, "stream.timeout"), &s->opts, err, sizeof err))
        return dql_exec_error_st(op->ex, DQL_ERR_USAGE, "%s", err);
    if (s->opts.timeout_us > 0) {
        s->deadline_us = now_us() + s->opts.timeout_us;
        snprintf(s->timeout_text, sizeof s->timeout_text, "%s", s->opts.timeout_text);
    }
    return DQL_OK;
}

static void stream_kill(stream_st *s)
{
    if (s->pid > 0) {
        kill(-s->pid, SIGKILL);
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = -1;
    }
}

static void whole_close(dql_op *op)
{
    stream_st *s = op->st;
    if (!s) return;
    stream_kill(s);
    if (!s->in_done) close(s->in_fd);
    if (!s->out_done) close(s->out_fd);
    if (!s->err_done) close(s->err_fd);
    dql_buf_free(&s->wbuf); dql_buf_free(&s->rbuf); dql_buf_free(&s->ebuf);
    free(s->argv0);
    free(s->opts.codes);
    free(s->opts.tmpdir);
    free(s);
}

/* Appends one row as a TSV line (tabs, newlines and backslashes escaped). */
static void tsv_row(dql_buf *b, const dql_value *row, int n)
{
    dql_buf tmp = {0};
    for (int c = 0; c < n; c++) {
        if (c) dql_buf_putc(b, '\t');
        if (row[c].type == DQL_T_NULL) continue;
        tmp.len = 0;
        dql_value_format(&tmp, row[c]);
        for (size_t i = 0; i < tmp.len; i++) {
            char ch = tmp.p[i];
            if (ch == '\t') dql_buf_puts(b, "\\t");
            else if (ch == '\n') dql_buf_puts(b, "\\n");
            else if (ch == '\\') dql_buf_puts(b, "\\\\");
            else dql_buf_putc(b, ch);
        }
    }
    dql_buf_putc(b, '\n');
    dql_buf_free(&tmp);
}

/* Parses complete lines of rbuf into output rows. */
static dql_status stream_parse(dql_op *op, stream_st *s, bool final)
{
    const dql_schema *sc = op->plan->schema;
    while (op->out.n < op->out.cap && s->rpos < s->rbuf.len) {
        char *start = s->rbuf.p + s->rpos;
        size_t avail = s->rbuf.len - s->rpos;
        char *nl = memchr(start, '\n', avail);
        size_t len;
        if (nl) len = (size_t)(nl - start);
        else if (final) len = avail;
        else break;
        s->rpos += len + (nl ? 1 : 0);
        dql_value *row = dql_batch_row(&op->out, op->out.n);
        if (sc->n == 1 && sc->f[0].type == DQL_T_CHARARRAY && !op->plan->declared) {
            row[0] = dql_chararray_copy(&op->arena, start, len);
            op->out.n++;
            continue;
        }
        size_t p = 0;
        for (int c = 0; c < sc->n; c++) {
            if (p > len) { row[c] = dql_null(); continue; }
            size_t e = p;
            while (e < len && start[e] != '\t') e++;
            /* unescape into the arena */
            char *v = dql_arena_alloc(&op->arena, e - p + 1);
            size_t o = 0;
            for (size_t i = p; i < e; i++) {
                if (start[i] == '\\' && i + 1 < e) {
                    char x = start[++i];
                    v[o++] = x == 't' ? '\t' : x == 'n' ? '\n' : x;
                } else v[o++] = start[i];
            }
            if (o == 0 && sc->f[c].type != DQL_T_CHARARRAY) row[c] = dql_null();
            else if (!dql_value_parse(&op->arena, v, o, sc->f[c].type, &row[c])) {
                dql_status st = dql_exec_warn(op->ex, "STREAM: bad value", "'%s' output: '%.*s' is not a valid %s",
                                              s->argv0, (int)(o > 60 ? 60 : o), v, dql_type_name(sc->f[c].type));
                if (st) return st;
                row[c] = dql_null();
            }
            p = e + 1;
        }
        op->out.n++;
    }
    if (s->rpos == s->rbuf.len) { s->rbuf.len = 0; s->rpos = 0; }
    return DQL_OK;
}

static dql_status whole_next(dql_op *op, dql_batch **out)
{
    stream_st *s = op->st;
    dql_arena_reset(&op->arena);
    op->out.n = 0;
    dql_status st;
    for (;;) {
        if ((st = stream_parse(op, s, s->out_done)) != DQL_OK) return st;
        if (op->out.n == op->out.cap) break;
        if (s->out_done) {
            if (s->rpos < s->rbuf.len) continue;
            break;
        }
        if (dql_exec_interrupted(op->ex)) { stream_kill(s); return DQL_ERR_INTERRUPT; }
        /* refill the write buffer from the input */
        if (!s->in_done && s->wpos == s->wbuf.len) {
            s->wbuf.len = 0; s->wpos = 0;
            dql_batch *b;
            st = dql_op_pull(op, 0, &b);
            if (st == DQL_EOF) { close(s->in_fd); s->in_done = true; }
            else if (st) return st;
            else for (int r = 0; r < b->n; r++) tsv_row(&s->wbuf, dql_batch_row(b, r), b->ncols);
        }
        struct pollfd pf[3];
        int np = 0, iin = -1, iout = -1, ierr = -1;
        if (!s->in_done && s->wpos < s->wbuf.len) { iin = np; pf[np].fd = s->in_fd; pf[np].events = POLLOUT; np++; }
        if (!s->out_done) { iout = np; pf[np].fd = s->out_fd; pf[np].events = POLLIN; np++; }
        if (!s->err_done) { ierr = np; pf[np].fd = s->err_fd; pf[np].events = POLLIN; np++; }
        int timeout = 200;
        int rc = poll(pf, (nfds_t)np, timeout);
        if (rc < 0 && errno != EINTR) return dql_exec_error_st(op->ex, DQL_ERR_IO, "poll: %s", strerror(errno));
        if (s->deadline_us && now_us() > s->deadline_us) {
            stream_kill(s);
            return dql_exec_error(op->ex, "command '%s' timed out after %s", s->argv0, s->timeout_text);
        }
        if (rc <= 0) continue;
        if (iin >= 0 && (pf[iin].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = write(s->in_fd, s->wbuf.p + s->wpos, s->wbuf.len - s->wpos);
            if (w > 0) s->wpos += (size_t)w;
            else if (w < 0 && errno == EPIPE) { close(s->in_fd); s->in_done = true; }
        }
        if (iout >= 0 && (pf[iout].revents & (POLLIN | POLLHUP | POLLERR))) {
            dql_buf_reserve(&s->rbuf, 65536);
            ssize_t r = read(s->out_fd, s->rbuf.p + s->rbuf.len, 65536);
            if (r > 0) s->rbuf.len += (size_t)r;
            else if (r == 0) { close(s->out_fd); s->out_done = true; }
        }
        if (ierr >= 0 && (pf[ierr].revents & (POLLIN | POLLHUP | POLLERR))) {
            char eb[4096];
            ssize_t r = read(s->err_fd, eb, sizeof eb);
            if (r > 0) {
                dql_buf_put(&s->ebuf, eb, (size_t)r);
                if (s->ebuf.len > 8192) {
                    memmove(s->ebuf.p, s->ebuf.p + s->ebuf.len - 4096, 4096);
                    s->ebuf.len = 4096;
                }
            } else if (r == 0) { close(s->err_fd); s->err_done = true; }
        }
    }
    if (op->out.n == 0 && s->out_done) {
        /* the command finished: check how */
        if (s->pid > 0) {
            int status = 0;
            while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR) {}
            s->pid = -1;
            if (!s->in_done) { close(s->in_fd); s->in_done = true; }
            bool bad = !WIFEXITED(status) || !code_ok(&s->opts, WEXITSTATUS(status));
            if (bad) {
                while (s->ebuf.len && (s->ebuf.p[s->ebuf.len - 1] == '\n')) s->ebuf.len--;
                const char *tail = dql_buf_cstr(&s->ebuf);
                const char *last = strrchr(tail, '\n');
                last = last ? last + 1 : tail;
                if (WIFEXITED(status))
                    return dql_exec_error(op->ex, "command '%s' exited with status %d%s%s", s->argv0,
                                          WEXITSTATUS(status), *last ? ": " : "", last);
                return dql_exec_error(op->ex, "command '%s' was killed by signal %d", s->argv0, WTERMSIG(status));
            }
        }
        return DQL_EOF;
    }
    *out = &op->out;
    return DQL_OK;
}

/* ------------------------------------------------------ per-row commands */

/* One run of the command, for one input row. Jobs wait in a queue in input
 * order; the head is emitted once done. */
typedef struct job {
    struct job *next;
    dql_arena arena;            /* the input row's copy */
    dql_value *row;
    pid_t pid;                  /* > 0 while not reaped */
    int pidfd;                  /* readable when the leader exits (Linux pidfd), -1 if none */
    int out_fd, err_fd;         /* -1 once at EOF */
    dql_buf out, err;
    bool out_trunc, err_trunc;
    int64_t start_us, end_us, deadline_us;
    bool timed_out, done;
    int status;                 /* wait status */
    char *extracted;            /* an archive member written for the command, removed after */
    char *shown;                /* the file, for messages */
    size_t line_pos;            /* OUT_LINES: bytes of out already emitted */
    bool line_any;
} job;

typedef struct perfile_st {
    struct sopts o;
    char **words;               /* the command's words, ${...} not yet substituted */
    int nwords;
    bool uses_file;
    int f_file, f_path, f_archive, f_member, keycol;
    job *head, *tail, *retired;
    int nqueued, nrunning;
    dql_batch *inb;
    int inpos;
    bool in_eof;
    char *tmpdir;               /* private directory for archive members, made on first use */
    dql_extractor *xr;
    int devnull;
    dql_buf scratch;
    char *exe;                  /* the command's program found in PATH once, or NULL */
} perfile_st;

/* The executable file named name in $PATH (malloc'd), NULL when none; so
 * that each run does not search PATH again. */
static char *path_lookup(const char *name)
{
    const char *path = getenv("PATH");
    if (!name[0] || strchr(name, '/') || strstr(name, "${") || !path) return NULL;
    size_t nl = strlen(name);
    for (const char *p = path;;) {
        const char *e = strchr(p, ':');
        size_t dl = e ? (size_t)(e - p) : strlen(p);
        char *full = dql_xmalloc(dl + nl + 3);
        snprintf(full, dl + nl + 3, "%.*s/%s", (int)(dl ? dl : 1), dl ? p : ".", name);
        struct stat st;
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0) return full;
        free(full);
        if (!e) return NULL;
        p = e + 1;
    }
}

static bool has_ref(void *ud, const char *s, size_t n)
{
    if (ref_is(s, n, "file")) *(bool *)ud = true;
    return true;
}

/* Appends value v as text (null: nothing), single-quoted for sh when q. */
static void put_text(dql_buf *b, const char *s, size_t n, bool q)
{
    if (!q) { dql_buf_put(b, s, n); return; }
    dql_buf_putc(b, '\'');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\'') dql_buf_puts(b, "'\\''");
        else dql_buf_putc(b, s[i]);
    }
    dql_buf_putc(b, '\'');
}

static void put_value(dql_buf *b, dql_value v, bool q, dql_buf *tmp)
{
    if (dql_is_null(v)) { if (q) dql_buf_puts(b, "''"); return; }
    if (v.type == DQL_T_CHARARRAY || v.type == DQL_T_BYTEARRAY || v.type == DQL_T_DOMAIN) {
        put_text(b, v.u.s, v.len, q);
        return;
    }
    tmp->len = 0;
    dql_value_format(tmp, v);
    put_text(b, tmp->p ? tmp->p : "", tmp->len, q);
}

/* Writes template t with every ${name} replaced by the job's values. */
static void substitute(const perfile_st *P, const dql_schema *in, const job *j, const char *t, bool q, dql_buf *b, dql_buf *tmp)
{
    b->len = 0;
    const char *p = t;
    for (;;) {
        const char *r = strstr(p, "${");
        if (!r) { dql_buf_puts(b, p); break; }
        const char *e = strchr(r + 2, '}');
        if (!e) { dql_buf_puts(b, p); break; }
        dql_buf_put(b, p, (size_t)(r - p));
        const char *nm = r + 2;
        size_t n = (size_t)(e - nm);
        int c = find_field(in, nm, n);
        if (c < 0 && ref_is(nm, n, "file")) put_text(b, j->shown, strlen(j->shown), q);
        else if (c >= 0) put_value(b, j->row[c], q, tmp);
        p = e + 1;
    }
    dql_buf_cstr(b);
}

static void job_free(job *j)
{
    if (!j) return;
    if (j->extracted) {
        unlink(j->extracted);
        char *slash = strrchr(j->extracted, '/');
        if (slash) { *slash = 0; rmdir(j->extracted); }
        free(j->extracted);
    }
    if (j->out_fd >= 0) close(j->out_fd);
    if (j->err_fd >= 0) close(j->err_fd);
    if (j->pidfd >= 0) close(j->pidfd);
    dql_buf_free(&j->out);
    dql_buf_free(&j->err);
    dql_arena_free(&j->arena);
    free(j->shown);
    free(j);
}

/* Kills the job's process group and reaps its leader. */
static void job_kill(job *j)
{
    if (j->pid > 0) {
        kill(-j->pid, SIGKILL);
        kill(j->pid, SIGKILL);
        while (waitpid(j->pid, &j->status, 0) < 0 && errno == EINTR) {}
        j->pid = -1;
    }
}

static dql_status pf_open(dql_op *op)
{
    perfile_st *P = dql_xcalloc(1, sizeof *P);
    op->st = P;
    P->devnull = -1;
    char err[512];
    if (!parse_opts(&op->plan->args, true, dql_session_get(op->ex->sess, "stream.timeout"), &P->o, err, sizeof err))
        return dql_exec_error_st(op->ex, DQL_ERR_USAGE, "%s", err);
    const dql_schema *in = op->plan->in[0]->schema;
    P->f_file = dql_schema_find(in, "file");
    P->f_path = dql_schema_find(in, "path");
    P->f_archive = dql_schema_find(in, "archive");
    P->f_member = dql_schema_find(in, "member");
    P->keycol = op->ex->resume ? dql_schema_find(in, dql_keyset_field(op->ex->resume)) : -1;
    each_ref(op->plan->command, has_ref, &P->uses_file, err, sizeof err);
    if (op->plan->shell) P->nwords = 0;
    else {
        P->words = split_command(op->plan->command, &P->nwords);
        if (P->nwords == 0) return dql_exec_error(op->ex, "empty command");
    }
    if (P->nwords) P->exe = path_lookup(P->words[0]);
    P->devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (P->devnull < 0) return dql_exec_error_st(op->ex, DQL_ERR_IO, "/dev/null: %s", strerror(errno));
    signal(SIGPIPE, SIG_IGN);
    return DQL_OK;
}

/* The file a row names: the field file, else path, or its archive member
 * extracted to the private directory. NULL after an error (or a warning:
 * *skip). */
static dql_status job_file(dql_op *op, perfile_st *P, job *j)
{
    const dql_value *r = j->row;
    dql_buf tmp = {0};
    if (P->f_file >= 0 || P->f_path < 0) {
        dql_value v = P->f_file >= 0 ? r[P->f_file] : dql_null();
        dql_buf b = {0};
        put_value(&b, v, false, &tmp);
        j->shown = dql_xstrdup(dql_buf_cstr(&b));
        dql_buf_free(&b);
        dql_buf_free(&tmp);
        return DQL_OK;
    }
    dql_value pv = r[P->f_path];
    j->shown = dql_xstrndup(dql_is_null(pv) ? "" : pv.u.s, dql_is_null(pv) ? 0 : pv.len);
    dql_buf_free(&tmp);
    if (!P->uses_file || P->f_archive < 0 || P->f_member < 0) return DQL_OK;
    dql_value av = r[P->f_archive], mv = r[P->f_member];
    if (dql_is_null(av) || dql_is_null(mv)) return DQL_OK;
    char err[512];
    if (!P->tmpdir) {
        const char *base = P->o.tmpdir ? P->o.tmpdir : op->ex->tmpdir;
        P->tmpdir = dql_files_tmpdir_new(base, err, sizeof err);
        if (!P->tmpdir) return dql_exec_error_st(op->ex, DQL_ERR_IO, "%s", err);
        if (!P->xr) P->xr = dql_extractor_new();
    }
    char *a = dql_xstrndup(av.u.s, av.len), *m = dql_xstrndup(mv.u.s, mv.len);
    j->extracted = dql_extractor_get(P->xr, a, m, P->tmpdir, err, sizeof err);
    dql_status st = DQL_OK;
    if (!j->extracted) st = dql_exec_error(op->ex, "cannot extract '%s' from '%s': %s", m, a, err);
    else { free(j->shown); j->shown = dql_xstrdup(j->extracted); }
    free(a);
    free(m);
    return st;
}

/* Starts the command for job j. */
static dql_status job_start(dql_op *op, perfile_st *P, job *j)
{
    dql_status st = job_file(op, P, j);
    if (st) return st;
    const dql_schema *in = op->plan->in[0]->schema;
    dql_buf w = {0}, tmp = {0};
    int argc = op->plan->shell ? 3 : P->nwords;
    char **argv = dql_xcalloc((size_t)argc + 1, sizeof(char *));
    if (op->plan->shell) {
        argv[0] = dql_xstrdup("/bin/sh");
        argv[1] = dql_xstrdup("-c");
        substitute(P, in, j, op->plan->command, true, &w, &tmp);
        argv[2] = dql_xstrdup(w.p);
    } else
        for (int i = 0; i < argc; i++) {
            substitute(P, in, j, P->words[i], false, &w, &tmp);
            argv[i] = dql_xstrndup(w.p, w.len);
        }
    dql_buf_free(&w);
    dql_buf_free(&tmp);
    int po[2] = { -1, -1 }, pe[2] = { -1, -1 };
    if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC)) {
        st = dql_exec_error_st(op->ex, DQL_ERR_IO, "pipe: %s", strerror(errno));
        goto out;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, P->devnull, 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    posix_spawnattr_init(&at);
    sigset_t def, none;
    sigemptyset(&none);
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    sigaddset(&def, SIGINT);
    sigaddset(&def, SIGQUIT);
    sigaddset(&def, SIGTERM);
    posix_spawnattr_setsigdefault(&at, &def);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    pid_t pid;
    j->start_us = now_us();
    int rc = P->exe ? posix_spawn(&pid, P->exe, &fa, &at, argv, environ)
                    : posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(po[1]);
    close(pe[1]);
    if (rc != 0) {
        close(po[0]);
        close(pe[0]);
        st = dql_exec_error(op->ex, "cannot run '%s': %s", argv[0], strerror(rc));
        goto out;
    }
    j->pid = pid;
#ifdef SYS_pidfd_open
    j->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (j->pidfd >= 0) fcntl(j->pidfd, F_SETFD, FD_CLOEXEC);
#endif
    j->out_fd = po[0];
    j->err_fd = pe[0];
    fcntl(j->out_fd, F_SETFL, O_NONBLOCK);
    fcntl(j->err_fd, F_SETFL, O_NONBLOCK);
    j->deadline_us = P->o.timeout_us ? j->start_us + P->o.timeout_us : 0;
    P->nrunning++;
out:
    for (int i = 0; i < argc; i++) free(argv[i]);
    free(argv);
    return st;
}

/* Reads what fd has (stdout or stderr of j), keeping up to max bytes. */
static void job_read(perfile_st *P, job *j, bool is_out)
{
    int *fd = is_out ? &j->out_fd : &j->err_fd;
    dql_buf *b = is_out ? &j->out : &j->err;
    bool *trunc = is_out ? &j->out_trunc : &j->err_trunc;
    for (int k = 0; k < 64; k++) {
        size_t room = b->len < P->o.max_output ? (size_t)(P->o.max_output - b->len) : 0;
        char *dst;
        size_t want;
        if (room) {
            want = room < 65536 ? room : 65536;
            dql_buf_reserve(b, want + 1);
            dst = b->p + b->len;
        } else {
            dql_buf_reserve(&P->scratch, 65536);
            dst = P->scratch.p;
            want = 65536;
        }
        ssize_t r = read(*fd, dst, want);
        if (r > 0) {
            if (room) b->len += (size_t)r;
            else *trunc = true;
            if ((size_t)r < want) return;
            continue;
        }
        if (r < 0 && (errno == EINTR)) continue;
        if (r < 0 && errno == EAGAIN) return;
        close(*fd);   /* EOF or an error */
        *fd = -1;
        return;
    }
}

/* Reaps j's leader when it has exited (killing what it left in its group). */
static void job_check_exit(perfile_st *P, job *j)
{
    if (j->pid <= 0) return;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)j->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid == 0) return;
    kill(-j->pid, SIGKILL);
    while (waitpid(j->pid, &j->status, 0) < 0 && errno == EINTR) {}
    j->pid = -1;
    j->end_us = now_us();
    if (j->pidfd >= 0) { close(j->pidfd); j->pidfd = -1; }
}

/* Waits for output, exits and timeouts of the running jobs (up to 200 ms). */
static dql_status pf_wait(dql_op *op, perfile_st *P)
{
    struct pollfd pf[3 * 256 + 3];
    job *who[3 * 256 + 3];
    bool isout[3 * 256 + 3];
    int np = 0;
    int64_t now = now_us(), wait_us = 200000;
    for (job *j = P->head; j; j = j->next) {
        if (j->done || j->start_us == 0) continue;
        if (j->out_fd >= 0 && np < 3 * 256) { pf[np].fd = j->out_fd; pf[np].events = POLLIN; who[np] = j; isout[np++] = true; }
        if (j->err_fd >= 0 && np < 3 * 256) { pf[np].fd = j->err_fd; pf[np].events = POLLIN; who[np] = j; isout[np++] = false; }
        if (j->pid > 0 && j->pidfd >= 0 && np < 3 * 256) { pf[np].fd = j->pidfd; pf[np].events = POLLIN; who[np] = j; isout[np++] = false; }
        else if (j->pid > 0 && j->out_fd < 0 && j->err_fd < 0) wait_us = 1000;   /* only its exit is awaited, without a pidfd */
        if (j->pid > 0 && j->deadline_us) {
            int64_t left = j->deadline_us - now;
            if (left < wait_us) wait_us = left < 0 ? 0 : left;
        }
    }
    int rc = poll(pf, (nfds_t)np, (int)((wait_us + 999) / 1000));
    if (rc < 0 && errno != EINTR) return dql_exec_error_st(op->ex, DQL_ERR_IO, "poll: %s", strerror(errno));
    for (int i = 0; rc > 0 && i < np; i++)
        if (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) {
            int fd = isout[i] ? who[i]->out_fd : who[i]->err_fd;
            if (fd == pf[i].fd) job_read(P, who[i], isout[i]);   /* else the pidfd: checked below */
        }
    now = now_us();
    for (job *j = P->head; j; j = j->next) {
        if (j->done || j->start_us == 0) continue;
        job_check_exit(P, j);
        if (j->pid > 0 && j->deadline_us && now >= j->deadline_us) {
            j->timed_out = true;
            job_kill(j);
            j->end_us = now_us();
        }
        if (j->pid <= 0 && j->out_fd < 0 && j->err_fd < 0) {
            j->done = true;
            P->nrunning--;
            if (j->extracted) {   /* the member file is removed as soon as the command is done */
                unlink(j->extracted);
                char *slash = strrchr(j->extracted, '/');
                if (slash) { *slash = 0; rmdir(j->extracted); }
                free(j->extracted);
                j->extracted = NULL;
            }
        }
    }
    return DQL_OK;
}

/* The last line of a job's stderr, for messages. */
static const char *last_err_line(job *j, char *buf, size_t n)
{
    size_t e = j->err.len;
    while (e && (j->err.p[e - 1] == '\n' || j->err.p[e - 1] == '\r')) e--;
    size_t s = e;
    while (s && j->err.p[s - 1] != '\n') s--;
    snprintf(buf, n, "%.*s", (int)(e - s > 200 ? 200 : e - s), j->err.p ? j->err.p + s : "");
    return buf;
}

/* Fills one output row of job j; line: the stdout value. */
static void fill_row(dql_op *op, job *j, int nin, dql_value line, dql_value *row)
{
    for (int c = 0; c < nin; c++) row[c] = j->row[c];
    int code = -1;
    if (!j->timed_out) code = WIFEXITED(j->status) ? WEXITSTATUS(j->status) : 128 + WTERMSIG(j->status);
    row[nin] = j->timed_out ? dql_null() : dql_int(code);
    row[nin + 1] = dql_bool(j->timed_out);
    row[nin + 2] = dql_long((j->end_us - j->start_us) / 1000);
    row[nin + 3] = line;
    row[nin + 4] = dql_chararray(j->err.len ? j->err.p : "", j->err.len);
    row[nin + 5] = dql_bool(j->out_trunc || j->err_trunc);
    (void)op;
}

/* Emits the rows of the done head job; true when all of them are out. */
static dql_status emit(dql_op *op, perfile_st *P, job *j, bool *all)
{
    *all = false;
    int nin = op->plan->in[0]->schema->n;
    if (!j->line_pos && !j->line_any && !j->timed_out) {
        int code = WIFEXITED(j->status) ? WEXITSTATUS(j->status) : 128 + WTERMSIG(j->status);
        if (!code_ok(&P->o, code)) {
            char eb[256];
            const char *last = last_err_line(j, eb, sizeof eb);
            const char *cmd = op->plan->shell ? "sh" : P->words[0];
            if (WIFEXITED(j->status))
                return dql_exec_error(op->ex, "command '%s' exited with status %d on '%s'%s%s", cmd, code, j->shown,
                                      *last ? ": " : "", last);
            return dql_exec_error(op->ex, "command '%s' was killed by signal %d on '%s'", cmd, WTERMSIG(j->status), j->shown);
        }
    }
    if (P->o.output != OUT_LINES) {
        dql_value *row = dql_batch_row(&op->out, op->out.n);
        fill_row(op, j, nin, dql_chararray(j->out.len ? j->out.p : "", j->out.len), row);
        if (P->o.output == OUT_JSON) {
            size_t a = 0, b = j->out.len;
            while (a < b && strchr(" \t\r\n", j->out.p[a])) a++;
            row[nin + 6] = dql_null();
            if (a < b) {
                char err[128];
                if (!dql_json_parse_value(&op->arena, j->out.p + a, b - a, NULL, &row[nin + 6], err, sizeof err)) {
                    row[nin + 6] = dql_null();
                    dql_status st = dql_exec_warn(op->ex, "STREAM: invalid JSON", "'%s': %s", j->shown, err);
                    if (st) return st;
                }
            }
        }
        op->out.n++;
        *all = true;
        return DQL_OK;
    }
    while (op->out.n < op->out.cap) {
        if (j->line_pos >= j->out.len) {
            if (!j->line_any) {   /* no output at all: one row, stdout null */
                fill_row(op, j, nin, dql_null(), dql_batch_row(&op->out, op->out.n));
                op->out.n++;
            }
            *all = true;
            return DQL_OK;
        }
        const char *s = j->out.p + j->line_pos;
        size_t left = j->out.len - j->line_pos;
        const char *nl = memchr(s, '\n', left);
        size_t n = nl ? (size_t)(nl - s) : left;
        j->line_pos += n + (nl ? 1 : 0);
        j->line_any = true;
        if (n && s[n - 1] == '\r') n--;
        fill_row(op, j, nin, dql_chararray(s, n), dql_batch_row(&op->out, op->out.n));
        op->out.n++;
    }
    return DQL_OK;
}

/* The next input row (copied into a new job), NULL at the end. */
static dql_status next_input(dql_op *op, perfile_st *P, job **jp)
{
    *jp = NULL;
    for (;;) {
        if (P->in_eof) return DQL_OK;
        if (!P->inb || P->inpos >= P->inb->n) {
            dql_status st = dql_op_pull(op, 0, &P->inb);
            if (st == DQL_EOF) { P->in_eof = true; P->inb = NULL; return DQL_OK; }
            if (st) return st;
            P->inpos = 0;
            continue;
        }
        const dql_value *r = dql_batch_row(P->inb, P->inpos++);
        if (P->keycol >= 0 && dql_keyset_has(op->ex->resume, r[P->keycol])) continue;   /* resume: done before */
        job *j = dql_xcalloc(1, sizeof *j);
        dql_arena_init(&j->arena);
        j->out_fd = j->err_fd = j->pidfd = -1;
        int n = P->inb->ncols;
        j->row = dql_arena_alloc(&j->arena, sizeof(dql_value) * (size_t)(n ? n : 1));
        for (int c = 0; c < n; c++) j->row[c] = dql_value_copy(&j->arena, r[c]);
        *jp = j;
        return DQL_OK;
    }
}

static dql_status pf_next(dql_op *op, dql_batch **out)
{
    perfile_st *P = op->st;
    while (P->retired) { job *j = P->retired; P->retired = j->next; job_free(j); }
    dql_arena_reset(&op->arena);
    op->out.n = 0;
    dql_status st;
    int window = P->o.parallel * 4 + 4;
    for (;;) {
        while (P->head && P->head->done && op->out.n < op->out.cap) {
            bool all;
            if ((st = emit(op, P, P->head, &all))) return st;
            if (!all) break;
            job *j = P->head;
            P->head = j->next;
            if (!P->head) P->tail = NULL;
            P->nqueued--;
            j->next = P->retired;
            P->retired = j;
        }
        if (op->out.n == op->out.cap) break;
        if (dql_exec_interrupted(op->ex)) return DQL_ERR_INTERRUPT;
        while (P->nrunning < P->o.parallel && P->nqueued < window && !P->in_eof) {
            job *j;
            if ((st = next_input(op, P, &j))) return st;
            if (!j) break;
            if (P->tail) P->tail->next = j; else P->head = j;
            P->tail = j;
            P->nqueued++;
            if ((st = job_start(op, P, j))) return st;
        }
        if (!P->head) break;
        if (P->head->done) continue;
        if (op->out.n > 0) break;
        if ((st = pf_wait(op, P))) return st;
    }
    if (op->out.n == 0) return DQL_EOF;
    op->ex->tick++;
    *out = &op->out;
    return DQL_OK;
}

static void pf_close(dql_op *op)
{
    perfile_st *P = op->st;
    if (!P) return;
    for (job *j = P->head; j;) {
        job *n = j->next;
        job_kill(j);
        job_free(j);
        j = n;
    }
    while (P->retired) { job *j = P->retired; P->retired = j->next; job_free(j); }
    for (int i = 0; i < P->nwords; i++) free(P->words[i]);
    free(P->words);
    if (P->devnull >= 0) close(P->devnull);
    dql_extractor_free(P->xr);
    dql_files_tmpdir_remove(P->tmpdir);
    dql_buf_free(&P->scratch);
    free(P->exe);
    free(P->o.codes);
    free(P->o.tmpdir);
    free(P);
}

/* ------------------------------------------------------------ dispatch */

static dql_status stream_open(dql_op *op)
{
    return is_perfile(op->plan->command) ? pf_open(op) : whole_open(op);
}

static dql_status stream_next(dql_op *op, dql_batch **out)
{
    return is_perfile(op->plan->command) ? pf_next(op, out) : whole_next(op, out);
}

static void stream_close(dql_op *op)
{
    if (is_perfile(op->plan->command)) pf_close(op);
    else whole_close(op);
}

static const dql_opvt stream_vt = { "STREAM", stream_open, stream_next, stream_close };
void dql_op_init_stream(dql_op *op) { op->vt = &stream_vt; }
