/* op_stream.c — STREAM rel THROUGH `command`: rows go out as TSV on the
 * command's stdin, its stdout comes back as rows; stdout and stderr are read
 * while the command runs (no pipe deadlock), a non-zero exit or a timeout is
 * an error that names the command. */
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
#include "engine.h"
#include "session.h"

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
    char timeout_text[64];       /* as given, for the message */
    char *argv0;
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

static dql_status stream_open(dql_op *op)
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
    const char *to = dql_session_get(op->ex->sess, "stream.timeout");
    const dql_value *wt = dql_args_get(&op->plan->args, "timeout", -1);
    char tbuf[64];
    if (wt && wt->type == DQL_T_CHARARRAY) { snprintf(tbuf, sizeof tbuf, "%.*s", (int)wt->len, wt->u.s); to = tbuf; }
    int64_t us = 0;
    if (to && dql_parse_duration(to, &us) && us > 0) {
        s->deadline_us = now_us() + us;
        snprintf(s->timeout_text, sizeof s->timeout_text, "%s", to);
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

static void stream_close(dql_op *op)
{
    stream_st *s = op->st;
    if (!s) return;
    stream_kill(s);
    if (!s->in_done) close(s->in_fd);
    if (!s->out_done) close(s->out_fd);
    if (!s->err_done) close(s->err_fd);
    dql_buf_free(&s->wbuf); dql_buf_free(&s->rbuf); dql_buf_free(&s->ebuf);
    free(s->argv0);
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

static dql_status stream_next(dql_op *op, dql_batch **out)
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
            bool bad = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
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

static const dql_opvt stream_vt = { "STREAM", stream_open, stream_next, stream_close };
void dql_op_init_stream(dql_op *op) { op->vt = &stream_vt; }
