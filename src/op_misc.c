/* op_misc.c — ORDER (through the external sorter), LIMIT, UNION, SAMPLE and
 * STREAM ... THROUGH (rows out as TSV to a command, its output back as rows). */
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

/* ------------------------------------------------------------ ORDER */

typedef struct order_st {
    int nk, w;
    bool *desc;
    dql_sorter *sorter;
    bool sorted;
    /* top-k (ORDER under LIMIT k): a max-heap of the k best rows so far
     * (the worst on top), copied into arenas that are compacted when they
     * fill with replaced rows */
    int64_t k;
    dql_value **heap;
    uint64_t *seq;        /* arrival order, so equal keys keep input order */
    int64_t nheap;
    dql_arena harena[2];
    int cur;
    uint64_t nseq;
    int64_t emitted;
} order_st;

static int order_cmp(const dql_value *a, const dql_value *b, void *ud)
{
    order_st *s = ud;
    for (int k = 0; k < s->nk; k++) {
        int c = dql_value_cmp(a[k], b[k]);
        if (c) return s->desc[k] ? -c : c;
    }
    return 0;
}

static dql_status order_open(dql_op *op)
{
    order_st *s = dql_xcalloc(1, sizeof *s);
    op->st = s;
    s->nk = op->plan->nokeys;
    s->desc = op->plan->desc;
    s->w = op->plan->in[0]->schema->n;
    if (op->limit_hint > 0 && op->limit_hint <= 100000) {
        s->k = op->limit_hint;
        s->heap = dql_xcalloc((size_t)s->k + 1, sizeof(dql_value *));
        s->seq = dql_xcalloc((size_t)s->k + 1, sizeof(uint64_t));
        dql_arena_init(&s->harena[0]);
        dql_arena_init(&s->harena[1]);
        return DQL_OK;
    }
    s->sorter = dql_op_sorter(op, s->nk + s->w, order_cmp, s);
    return s->sorter ? DQL_OK : DQL_ERR_RUNTIME;
}

/* Heap order: a before b when a sorts after b (worst row on top); ties by
 * arrival, later arrivals being worse (so the sort stays stable). */
static bool heap_worse(order_st *s, int64_t a, int64_t b)
{
    int c = order_cmp(s->heap[a], s->heap[b], s);
    if (c) return c > 0;
    return s->seq[a] > s->seq[b];
}

static void heap_swap(order_st *s, int64_t a, int64_t b)
{
    dql_value *t = s->heap[a]; s->heap[a] = s->heap[b]; s->heap[b] = t;
    uint64_t q = s->seq[a]; s->seq[a] = s->seq[b]; s->seq[b] = q;
}

static void heap_down(order_st *s, int64_t i)
{
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->nheap && heap_worse(s, l, m)) m = l;
        if (r < s->nheap && heap_worse(s, r, m)) m = r;
        if (m == i) return;
        heap_swap(s, i, m);
        i = m;
    }
}

static dql_value *heap_copy(order_st *s, const dql_value *row)
{
    dql_arena *a = &s->harena[s->cur];
    dql_value *c = dql_arena_alloc(a, sizeof(dql_value) * (size_t)(s->nk + s->w));
    for (int i = 0; i < s->nk + s->w; i++) c[i] = dql_value_copy(a, row[i]);
    return c;
}

/* Offers a row (keys + payload) to the top-k heap. */
static void heap_offer(order_st *s, const dql_value *row)
{
    uint64_t seq = s->nseq++;
    if (s->nheap < s->k) {
        int64_t i = s->nheap++;
        s->heap[i] = heap_copy(s, row);
        s->seq[i] = seq;
        while (i > 0 && heap_worse(s, i, (i - 1) / 2)) { heap_swap(s, i, (i - 1) / 2); i = (i - 1) / 2; }
        return;
    }
    if (order_cmp(row, s->heap[0], s) >= 0) return;   /* not better than the worst kept */
    s->heap[0] = heap_copy(s, row);
    s->seq[0] = seq;
    heap_down(s, 0);
    /* replaced rows are garbage: compact into the other arena now and then */
    if (s->harena[s->cur].total > (uint64_t)(64u << 20) + (uint64_t)s->k * 4096) {
        int o = s->cur ^ 1;
        dql_arena_reset(&s->harena[o]);
        s->cur = o;
        for (int64_t i = 0; i < s->nheap; i++) s->heap[i] = heap_copy(s, s->heap[i]);
        dql_arena_reset(&s->harena[o ^ 1]);
    }
}

static int heap_final_cmp(const void *x, const void *y, void *ud)
{
    order_st *s = ud;
    const int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    int c = order_cmp(s->heap[a], s->heap[b], s);
    if (c) return c;
    return s->seq[a] < s->seq[b] ? -1 : s->seq[a] > s->seq[b];
}

static void order_close(dql_op *op)
{
    order_st *s = op->st;
    if (!s) return;
    free(s->heap);
    free(s->seq);
    if (s->k) { dql_arena_free(&s->harena[0]); dql_arena_free(&s->harena[1]); }
    if (s->sorter) { op->ex->spill_runs += (uint64_t)dql_sorter_runs(s->sorter); dql_sorter_free(s->sorter); }
    free(s);
}

static dql_status order_next(dql_op *op, dql_batch **out)
{
    order_st *s = op->st;
    dql_status st;
    if (!s->sorted) {
        dql_value *row = dql_xcalloc((size_t)(s->nk + s->w + 1), sizeof(dql_value));
        dql_arena tmp;
        dql_arena_init(&tmp);
        dql_batch *b;
        while ((st = dql_op_pull(op, 0, &b)) == DQL_OK) {
            dql_evctx cx = { &tmp, op->ex, DQL_OK };
            for (int r = 0; r < b->n && st == DQL_OK; r++) {
                const dql_value *in = dql_batch_row(b, r);
                dql_eval_keys(op->plan->okeys, s->nk, in, &cx, row);
                if (cx.st) { st = cx.st; break; }
                memcpy(row + s->nk, in, sizeof(dql_value) * (size_t)s->w);
                if (s->k) heap_offer(s, row);
                else st = dql_sorter_add(s->sorter, row);
            }
            dql_arena_reset(&tmp);
            if (st != DQL_OK) break;
        }
        free(row);
        dql_arena_free(&tmp);
        if (st != DQL_EOF) return st;
        if (s->k) {
            /* sort the kept rows: an index array over the heap */
            int64_t *ix = dql_xmalloc(sizeof(int64_t) * (size_t)(s->nheap + 1));
            for (int64_t i = 0; i < s->nheap; i++) ix[i] = i;
            qsort_r(ix, (size_t)s->nheap, sizeof *ix, heap_final_cmp, s);
            dql_value **h = dql_xmalloc(sizeof(dql_value *) * (size_t)(s->nheap + 1));
            for (int64_t i = 0; i < s->nheap; i++) h[i] = s->heap[ix[i]];
            free(s->heap);
            free(ix);
            s->heap = h;
        } else if ((st = dql_sorter_finish(s->sorter)) != DQL_OK) return st;
        s->sorted = true;
    }
    dql_arena_reset(&op->arena);
    op->out.n = 0;
    if (s->k) {
        while (op->out.n < op->out.cap && s->emitted < s->nheap) {
            const dql_value *r = s->heap[s->emitted++];
            memcpy(dql_batch_row(&op->out, op->out.n++), r + s->nk, sizeof(dql_value) * (size_t)s->w);
        }
        if (op->out.n == 0) return DQL_EOF;
        *out = &op->out;
        return DQL_OK;
    }
    while (op->out.n < op->out.cap) {
        const dql_value *r;
        st = dql_sorter_next(s->sorter, &r);
        if (st == DQL_EOF) break;
        if (st) return st;
        dql_value *o = dql_batch_row(&op->out, op->out.n++);
        for (int c = 0; c < s->w; c++) o[c] = dql_value_copy(&op->arena, r[s->nk + c]);
    }
    if (op->out.n == 0) return DQL_EOF;
    *out = &op->out;
    return DQL_OK;
}

static const dql_opvt order_vt = { "ORDER", order_open, order_next, order_close };
void dql_op_init_order(dql_op *op) { op->vt = &order_vt; }

/* ------------------------------------------------------------ LIMIT */

typedef struct limit_st { int64_t seen; } limit_st;

static dql_status limit_open(dql_op *op) { op->st = dql_xcalloc(1, sizeof(limit_st)); return DQL_OK; }
static void limit_close(dql_op *op) { free(op->st); }

static dql_status limit_next(dql_op *op, dql_batch **out)
{
    limit_st *s = op->st;
    if (s->seen >= op->plan->limit) return DQL_EOF;
    dql_batch *b;
    dql_status st = dql_op_pull(op, 0, &b);
    if (st != DQL_OK) return st;
    int64_t left = op->plan->limit - s->seen;
    if (b->n > left) b->n = (int)left;   /* the child's batch is ours until we pull again */
    s->seen += b->n;
    *out = b;
    return DQL_OK;
}

static const dql_opvt limit_vt = { "LIMIT", limit_open, limit_next, limit_close };
void dql_op_init_limit(dql_op *op) { op->vt = &limit_vt; }

/* ------------------------------------------------------------ UNION */

typedef struct union_st { int cur; } union_st;

static dql_status union_open(dql_op *op) { op->st = dql_xcalloc(1, sizeof(union_st)); return DQL_OK; }
static void union_close(dql_op *op) { free(op->st); }

static dql_status union_next(dql_op *op, dql_batch **out)
{
    union_st *s = op->st;
    while (s->cur < op->nin) {
        dql_batch *b;
        dql_status st = dql_op_pull(op, s->cur, &b);
        if (st == DQL_EOF) { s->cur++; continue; }
        if (st) return st;
        const int *map = op->plan->colmap ? op->plan->colmap[s->cur] : NULL;
        if (!map) { *out = b; return DQL_OK; }
        int w = op->plan->schema->n;
        for (int r = 0; r < b->n; r++) {
            const dql_value *in = dql_batch_row(b, r);
            dql_value *o = dql_batch_row(&op->out, r);
            for (int c = 0; c < w; c++) o[c] = map[c] >= 0 ? in[map[c]] : dql_null();
        }
        op->out.n = b->n;
        *out = &op->out;
        return DQL_OK;
    }
    return DQL_EOF;
}

static const dql_opvt union_vt = { "UNION", union_open, union_next, union_close };
void dql_op_init_union(dql_op *op) { op->vt = &union_vt; }

/* ------------------------------------------------------------ SAMPLE */

typedef struct sample_st { uint64_t rng; } sample_st;

static dql_status sample_open(dql_op *op)
{
    sample_st *s = dql_xcalloc(1, sizeof *s);
    const char *seed = dql_session_get(op->ex->sess, "seed");
    s->rng = seed ? strtoull(seed, NULL, 10) * 0x9E3779B97F4A7C15ull + 1 : 0x2545F4914F6CDD1Dull;
    op->st = s;
    return DQL_OK;
}

static double rnd(uint64_t *x)
{
    *x ^= *x >> 12; *x ^= *x << 25; *x ^= *x >> 27;
    return (double)((*x * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

static dql_status sample_next(dql_op *op, dql_batch **out)
{
    sample_st *s = op->st;
    for (;;) {
        dql_batch *b;
        dql_status st = dql_op_pull(op, 0, &b);
        if (st) return st;
        int w = 0;
        size_t rs = sizeof(dql_value) * (size_t)b->ncols;
        for (int r = 0; r < b->n; r++)
            if (rnd(&s->rng) < op->plan->fraction) memcpy(dql_batch_row(&op->out, w++), dql_batch_row(b, r), rs);
        if (w) { op->out.n = w; *out = &op->out; return DQL_OK; }
    }
}

static const dql_opvt sample_vt = { "SAMPLE", sample_open, sample_next, limit_close };
void dql_op_init_sample(dql_op *op) { op->vt = &sample_vt; }

/* ------------------------------------------------------------ STREAM */

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
    char **argv = split_command(op->plan->command, &argc);
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
    int64_t us = 0;
    if (to && dql_parse_duration(to, &us) && us > 0) s->deadline_us = now_us() + us;
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
            return dql_exec_error(op->ex, "command '%s' timed out (SET stream.timeout)", s->argv0);
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
