/* shard.c — sharded runs: the cut, the tasks, the executors, the merge.
 *
 * The cut. The first LOAD the script's outputs read (in statement order,
 * inputs in order) is the sharded input. A relation is "sharded" when it is
 * that LOAD or a row-at-a-time operator over a sharded relation (FILTER,
 * FOREACH, a per-row STREAM, the DNS verbs, a replicated JOIN whose small
 * side does not read the sharded input). Every sharded relation that an
 * operator needing all rows reads (GROUP, ORDER, DISTINCT, JOIN, LIMIT,
 * SAMPLE, UNION, CROSS, a whole-input STREAM) or that a statement outputs
 * is a cut: the tasks compute it, each on its shard, into their SQLite
 * file; the coordinator then runs the statements as written, with the cut
 * relation read back from the task files in task order (so rows keep the
 * order of a one-process run). Where the operator above the cut is a hash
 * aggregation (GROUP with COUNT/SUM/AVG/MIN/MAX only, or DISTINCT), the
 * tasks pre-aggregate: they run it in partial mode (one row per group and
 * task, with each aggregate's partial state) and the merge combines.
 *
 * Nothing is rewritten in place: the merge sets plan->subst on the cut
 * relations for the duration of one run (the engine builds the substitute),
 * so aliases stay valid for the next statement.
 *
 * The tasks are this program run again with the same command line plus
 * --task i/N --task-seg S --shard-dir D: they check the same script, find
 * the same cut and write D/task-i.db (atomically: a temporary file renamed).
 * A task whose file exists has finished; --resume reruns only the others. */
#define _GNU_SOURCE
#include "plan.h"
#include "shard.h"
#include "exec.h"
#include "files.h"
#include "session.h"
#include "workspace.h"
#include "diag.h"
#include "sort.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ configuration */

static struct {
    int argc;
    char **argv;
    bool has_script;
    int task, ntasks, seg;
    char *dir;
    bool resume;
    bool exact;          /* a task: --task-exact */
} G = { .task = -1 };

void dql_shard_cli(int argc, char **argv, bool has_script)
{
    G.argc = argc;
    G.argv = argv;
    G.has_script = has_script;
}

void dql_shard_set_task(int task, int ntasks, int seg, const char *dir)
{
    G.task = task;
    G.ntasks = ntasks;
    G.seg = seg;
    free(G.dir);
    G.dir = dql_xstrdup(dir);
}

void dql_shard_set_resume(bool on) { G.resume = on; }
void dql_shard_set_exact(bool on) { G.exact = on; }
bool dql_shard_is_task(void) { return G.task >= 0; }

/* ------------------------------------------------------------ the cut */

static uint64_t fnv(uint64_t h, const char *s, size_t n);

typedef struct cut {
    dql_plan *node;       /* the relation computed by the tasks, or the HASHAGG they pre-aggregate */
    bool preagg;
    dql_plan *task;       /* what a task runs (a reference) */
    int uses;             /* consumers reading it (parents, outputs) */
    dql_shard_out *out;   /* a STORE the tasks write directly, as parts (else NULL) */
} cut;

typedef struct analysis {
    dql_plan *load;
    cut *cuts;
    int n;
} analysis;

static dql_plan *first_load(dql_plan *p)
{
    if (p->kind == P_LOAD && p->loader != &dql_loader_sqlquery) return p;
    for (int i = 0; i < p->nin; i++) {
        dql_plan *l = first_load(p->in[i]);
        if (l) return l;
    }
    return NULL;
}

static bool reaches(const dql_plan *p, const dql_plan *t)
{
    if (p == t) return true;
    for (int i = 0; i < p->nin; i++) if (reaches(p->in[i], t)) return true;
    return false;
}

static bool sharded(const dql_plan *p, const dql_plan *load)
{
    if (p == load) return true;
    switch (p->kind) {
    case P_FILTER: case P_FOREACH: case P_XOP:
        return p->nin == 1 && sharded(p->in[0], load);
    case P_STREAM:
        return p->nin == 1 && dql_stream_per_row(p) && sharded(p->in[0], load);
    case P_JOIN:
        /* a replicated join streams its first input against the others in memory */
        if (!p->replicated || p->join_type == 2 || p->join_type == 3 || !sharded(p->in[0], load)) return false;
        for (int i = 1; i < p->nin; i++) if (reaches(p->in[i], load)) return false;
        return true;
    default:
        return false;
    }
}

static bool preaggregable(const dql_plan *h, const dql_plan *below)
{
    if (!h || h->kind != P_HASHAGG || h->nin != 1 || h->in[0] != below || h->agg_mode) return false;
    if (h->distinct) return true;
    for (int a = 0; a < h->naggs; a++) {
        const dql_agg_def *ad = h->aggs[a].def->agg;
        if (!ad || !ad->partial || !ad->combine) return false;
    }
    return true;
}

/* The partial HASHAGG a task runs for h: its keys as columns, then each
 * aggregate's partial value. Keys and aggregate slots are h's (borrowed). */
static dql_plan *partial_of(dql_plan *h)
{
    dql_plan *p = dql_plan_new(P_HASHAGG, h->sp);
    p->alias = h->alias ? dql_xstrdup(h->alias) : NULL;
    p->in = dql_xcalloc(1, sizeof(dql_plan *));
    p->in[0] = dql_plan_ref(h->in[0]);
    p->nin = 1;
    p->nkeys = h->nkeys;
    p->keys = dql_xcalloc(1, sizeof(dql_expr **));
    p->keys[0] = dql_xcalloc((size_t)p->nkeys + 1, sizeof(dql_expr *));
    for (int k = 0; k < p->nkeys; k++) p->keys[0][k] = h->keys[0][k];
    p->keys_borrowed = true;
    p->keysrc = dql_plan_ref(h);
    p->group_all = h->group_all;
    p->aggs = h->aggs;
    p->naggs = h->naggs;
    p->agg_mode = 1;
    p->schema = dql_schema_new(0);
    for (int k = 0; k < p->nkeys; k++) {
        char nm[32];
        snprintf(nm, sizeof nm, "k%d", k);
        dql_schema_add(p->schema, nm, p->keys[0][k]->type, p->keys[0][k]->sub);
    }
    for (int a = 0; a < p->naggs; a++) {
        char nm[32];
        snprintf(nm, sizeof nm, "p%d", a);
        dql_type t = p->aggs[a].def->agg->partial_type;
        const dql_schema *sub = NULL;
        if (t == DQL_T_ANY) { t = p->aggs[a].arg->type; sub = p->aggs[a].arg->sub; }
        dql_schema_add(p->schema, nm, t, sub);
    }
    return p;
}

static void task_plan_free(cut *c)
{
    if (c->task && c->task != c->node && c->task->agg_mode == 1 && c->task->refs == 1) {
        c->task->aggs = NULL;   /* borrowed from the HASHAGG */
        c->task->naggs = 0;
    }
    dql_plan_unref(c->task);
    c->task = NULL;
}

static void add_cut(analysis *a, dql_plan *node, bool preagg)
{
    for (int i = 0; i < a->n; i++) if (a->cuts[i].node == node && a->cuts[i].preagg == preagg) { a->cuts[i].uses++; return; }
    a->cuts = dql_xrealloc(a->cuts, sizeof(cut) * (size_t)(a->n + 1));
    cut *c = &a->cuts[a->n++];
    memset(c, 0, sizeof *c);
    c->node = node;
    c->preagg = preagg;
    c->uses = 1;
    c->task = preagg && !node->distinct ? partial_of(node) : dql_plan_ref(node);
}

static void collect(analysis *a, dql_plan *p, dql_plan *parent)
{
    if (sharded(p, a->load)) {
        if (preaggregable(parent, p)) add_cut(a, parent, true);
        else add_cut(a, p, false);
        return;
    }
    for (int i = 0; i < p->nin; i++) collect(a, p->in[i], p);
}

static void analyze(analysis *a, dql_plan **roots, dql_shard_out *outs, int n)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < n && !a->load; i++) a->load = first_load(roots[i]);
    if (!a->load) return;
    for (int i = 0; i < n; i++) collect(a, roots[i], NULL);
    /* a STORE whose storer writes parts, of rows only it reads: the tasks write it */
    for (int i = 0; outs && i < n; i++) {
        if (!outs[i].sd || !outs[i].sd->open_part || !outs[i].sd->assemble) continue;
        for (int k = 0; k < a->n; k++)
            if (a->cuts[k].node == roots[i] && !a->cuts[k].preagg && a->cuts[k].uses == 1) a->cuts[k].out = &outs[i];
    }
}

/* The name of a sharded run, for the parts of a STORE (dql_storer_def.open_part). */
static void run_name(char *out, size_t n, const char *dir)
{
    snprintf(out, n, "%08x", (unsigned)(fnv(0xcbf29ce484222325ull, dir, strlen(dir)) & 0xffffffffu));
}

static void analysis_free(analysis *a)
{
    for (int i = 0; i < a->n; i++) task_plan_free(&a->cuts[i]);
    free(a->cuts);
    memset(a, 0, sizeof *a);
}

/* ------------------------------------------------------------ the merge */

/* A LOAD of table `table` from the N task files of dir, in task order. */
typedef struct shards_st {
    const dql_load_ctx *lc;
    dql_load_ctx sub;
    dql_schema *schema;
    dql_schema *read;     /* the task file form of schema (file_schema) */
    dql_exec *ex;
    char *dir, *table;
    int n, i;
    void *cur;
    dql_arg arg;
    dql_args args;
    char path[PATH_MAX + 32];
} shards_st;

static dql_status shards_plan(const dql_load_ctx *lc, dql_schema **out, char *err, size_t errlen)
{
    (void)lc; (void)out;
    snprintf(err, errlen, "the shards loader is internal");
    return DQL_ERR_CHECK;
}

static void shards_close(void *state)
{
    shards_st *s = state;
    if (!s) return;
    if (s->cur) dql_loader_sqlite.close(s->cur);
    dql_schema_free(s->schema);
    dql_schema_free(s->read);
    free(s->dir);
    free(s->table);
    free(s);
}

/* The task files. Atoms are stored as the SQLite storer stores them, except
 * domains, kept as the text dql had (reading them back as domains would
 * re-validate names a zone or a DNS message may hold that the domain parser
 * refuses); tuples, bags, maps, bytearrays and untyped (any) values are
 * stored as their binary serialization (sort.h), which keeps nested types
 * and the type of an untyped value exactly. */
static bool serialized(dql_type t)
{
    return t == DQL_T_TUPLE || t == DQL_T_BAG || t == DQL_T_MAP || t == DQL_T_BYTEARRAY || t == DQL_T_ANY ||
           t == DQL_T_NULL;
}

/* The schema a task file declares for rows of schema s. */
static dql_schema *file_schema(const dql_schema *s)
{
    dql_schema *f = dql_schema_new(0);
    for (int i = 0; i < s->n; i++) {
        dql_type t = s->f[i].type;
        dql_schema_add(f, s->f[i].name, t == DQL_T_DOMAIN ? DQL_T_CHARARRAY : serialized(t) ? DQL_T_BYTEARRAY : t,
                       serialized(t) ? NULL : s->f[i].sub);
    }
    return f;
}

/* A storer over the SQLite storer that writes rows in the task file form. */
typedef struct tf_st {
    void *inner;
    dql_schema *s;        /* the rows' schema */
    dql_batch b;
    dql_arena a;
    dql_buf tmp;
} tf_st;

static const dql_schema *tf_rows;   /* the rows' schema for the next tf_open (one task, one thread) */

static dql_status tf_plan(const dql_store_ctx *sc, char *err, size_t errlen) { return dql_storer_sqlite.plan(sc, err, errlen); }

static dql_status tf_open(const dql_store_ctx *sc, dql_exec *ex, void **state)
{
    tf_st *t = dql_xcalloc(1, sizeof *t);
    *state = t;
    t->s = dql_schema_copy(tf_rows);
    dql_batch_init(&t->b, t->s->n, DQL_BATCH_ROWS);
    dql_arena_init(&t->a);
    return dql_storer_sqlite.open(sc, ex, &t->inner);
}

static dql_status tf_write(void *state, const dql_batch *b)
{
    tf_st *t = state;
    if (b->n > t->b.cap) {
        dql_batch_free(&t->b);
        dql_batch_init(&t->b, t->s->n, b->n);
    }
    dql_arena_reset(&t->a);
    t->b.n = b->n;
    for (int r = 0; r < b->n; r++) {
        const dql_value *in = dql_batch_row((dql_batch *)b, r);
        dql_value *out = dql_batch_row(&t->b, r);
        for (int c = 0; c < t->s->n; c++) {
            dql_value v = in[c];
            if (v.type == DQL_T_DOMAIN) {
                v.type = DQL_T_CHARARRAY;
            } else if (serialized(t->s->f[c].type) && !dql_is_null(v)) {
                t->tmp.len = 0;
                dql_value_serialize(&t->tmp, v);
                v = dql_str(DQL_T_BYTEARRAY, dql_arena_memdup(&t->a, t->tmp.p, t->tmp.len), t->tmp.len);
            }
            out[c] = v;
        }
    }
    return dql_storer_sqlite.write(t->inner, &t->b);
}

static void tf_free(tf_st *t)
{
    dql_schema_free(t->s);
    dql_batch_free(&t->b);
    dql_arena_free(&t->a);
    dql_buf_free(&t->tmp);
    free(t);
}

static dql_status tf_commit(void *state)
{
    tf_st *t = state;
    dql_status st = t->inner ? dql_storer_sqlite.commit(t->inner) : DQL_ERR_IO;
    tf_free(t);
    return st;
}

static void tf_abort(void *state)
{
    tf_st *t = state;
    if (t->inner) dql_storer_sqlite.abort(t->inner);
    tf_free(t);
}

static const dql_storer_def taskfile_storer = {
    .name = "taskfile",
    .syntax = "(internal)",
    .summary = "the rows of a task of a sharded run, in its SQLite file",
    .plan = tf_plan,
    .open = tf_open,
    .write = tf_write,
    .commit = tf_commit,
    .abort = tf_abort,
};

/* Back from the task file form: domains retyped, serialized values decoded. */
static dql_status decode_col(dql_value *v, const dql_field *f, dql_arena *a, dql_exec *ex)
{
    if (dql_is_null(*v)) return DQL_OK;
    if (f->type == DQL_T_DOMAIN && v->type == DQL_T_CHARARRAY) {
        v->type = DQL_T_DOMAIN;
    } else if (serialized(f->type) && v->type == DQL_T_BYTEARRAY) {
        const uint8_t *p = (const uint8_t *)v->u.s, *end = p + v->len;
        if (!dql_value_deserialize(a, &p, end, v) || p != end)
            return dql_exec_error(ex, "a task file holds a value that does not decode (column '%s')", f->name ? f->name : "?");
    }
    return DQL_OK;
}

static dql_status shards_open(const dql_load_ctx *lc, const dql_schema *schema, dql_exec *ex, void **state)
{
    shards_st *s = dql_xcalloc(1, sizeof *s);
    *state = s;
    const dql_value *d = dql_args_get(lc->args, "dir", -1), *n = dql_args_get(lc->args, "n", -1);
    s->dir = dql_xstrndup(d->u.s, d->len);
    s->n = (int)n->u.i;
    s->table = dql_xstrdup(lc->path);
    s->schema = dql_schema_copy(schema);
    s->read = file_schema(schema);
    s->ex = ex;
    s->sub = *lc;
    s->sub.path = s->table;
    s->sub.args = &s->args;
    s->sub.declared = NULL;
    s->sub.needed = NULL;
    s->sub.shard = 0;
    s->sub.nshards = 1;
    s->args.n = 1;
    s->args.a = &s->arg;
    s->arg.name = "db";
    return DQL_OK;
}

static dql_status shards_next(void *state, dql_batch *out, dql_arena *arena)
{
    shards_st *s = state;
    out->n = 0;
    while (s->i < s->n) {
        if (!s->cur) {
            snprintf(s->path, sizeof s->path, "%s/task-%d.db", s->dir, s->i);
            s->arg.v = dql_chararray(s->path, strlen(s->path));
            dql_status st = dql_loader_sqlite.open(&s->sub, s->read, s->ex, &s->cur);
            if (st != DQL_OK) return st;
        }
        dql_status st = dql_loader_sqlite.next(s->cur, out, arena);
        if (st != DQL_OK) return st;
        if (out->n > 0) {
            for (int c = 0; c < s->schema->n; c++)
                for (int r = 0; r < out->n; r++)
                    if ((st = decode_col(&dql_batch_row(out, r)[c], &s->schema->f[c], arena, s->ex)) != DQL_OK) return st;
            return DQL_OK;
        }
        dql_loader_sqlite.close(s->cur);
        s->cur = NULL;
        s->i++;
    }
    return DQL_OK;
}

static const dql_loader_def shards_loader = {
    .name = "shards",
    .syntax = "(internal)",
    .summary = "the results of the tasks of a sharded run",
    .plan = shards_plan,
    .open = shards_open,
    .next = shards_next,
    .close = shards_close,
};

static dql_plan *shards_load(const cut *c, int k, const char *dir, int n)
{
    dql_plan *p = dql_plan_new(P_LOAD, c->node->sp);
    p->loader = &shards_loader;
    char t[32];
    snprintf(t, sizeof t, "c%d", k);
    p->path = dql_xstrdup(t);
    p->loader_name = dql_xstrdup("shards");
    p->alias = c->node->alias ? dql_xstrdup(c->node->alias) : NULL;
    p->schema = dql_schema_copy(c->task->schema);
    p->args.n = 2;
    p->args.a = dql_xcalloc(2, sizeof(dql_arg));
    p->args.a[0].name = "dir";
    p->args.a[0].v = dql_chararray_copy(&p->argarena, dir, strlen(dir));
    p->args.a[1].name = "n";
    p->args.a[1].v = dql_long(n);
    return p;
}

/* What the merge runs in place of cut c: the task files, combined when the
 * tasks pre-aggregated. */
static dql_plan *merge_plan(const cut *c, int k, const char *dir, int n)
{
    dql_plan *in = shards_load(c, k, dir, n);
    if (!c->preagg) return in;
    dql_plan *h = c->node;
    dql_plan *m = dql_plan_new(P_HASHAGG, h->sp);
    m->alias = h->alias ? dql_xstrdup(h->alias) : NULL;
    m->in = dql_xcalloc(1, sizeof(dql_plan *));
    m->in[0] = in;
    m->nin = 1;
    m->schema = dql_schema_copy(h->schema);
    m->distinct = h->distinct;
    m->group_all = h->group_all;
    m->key_tuple = h->key_tuple;
    m->nkeys = h->distinct ? in->schema->n : h->nkeys;
    m->keys = dql_xcalloc(1, sizeof(dql_expr **));
    m->keys[0] = dql_xcalloc((size_t)m->nkeys + 1, sizeof(dql_expr *));
    for (int i = 0; i < m->nkeys; i++) {
        const dql_field *f = &in->schema->f[i];
        m->keys[0][i] = dql_expr_col(i, f->type, f->sub, f->name);
    }
    if (!h->distinct) {
        m->agg_mode = 2;
        m->naggs = h->naggs;
        m->aggs = dql_xcalloc((size_t)h->naggs + 1, sizeof(dql_aggslot));
        for (int a = 0; a < h->naggs; a++) {
            const dql_field *f = &in->schema->f[h->nkeys + a];
            m->aggs[a].def = h->aggs[a].def;
            m->aggs[a].arg = dql_expr_col(h->nkeys + a, f->type, f->sub, f->name);
            memcpy(m->aggs[a].params, h->aggs[a].params, sizeof m->aggs[a].params);
            m->aggs[a].nparams = h->aggs[a].nparams;
        }
    }
    return m;
}

/* ------------------------------------------------------------ files */

/* Creates path and its parents. Another run in the same directory removes
 * .dql-shards when it finishes and finds it empty: a parent that vanishes
 * between two mkdir calls is made again. */
static bool mkdirs(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (int attempt = 0; attempt < 16; attempt++) {
        bool ok = true;
        for (char *p = tmp + 1; *p && ok; p++)
            if (*p == '/') {
                *p = 0;
                if (mkdir(tmp, 0755) != 0 && errno != EEXIST) ok = false;
                *p = '/';
            }
        if (ok && (mkdir(tmp, 0755) == 0 || errno == EEXIST)) return true;
        if (errno != ENOENT) return false;
    }
    return false;
}

static bool file_exists(const char *p) { struct stat st; return stat(p, &st) == 0; }

static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h;
}

/* How many arguments at G.argv[i] make this process a coordinator (the
 * shard count, the executor, --resume, the interactive shell): a task runs
 * without them, and the task directory's name does not depend on them. */
static int coordinator_only(int i)
{
    const char *a = G.argv[i];
    if (!strcmp(a, "--shards") || !strcmp(a, "--executor")) return i + 1 < G.argc ? 2 : 1;
    if (!strcmp(a, "--resume") || !strcmp(a, "-i") || !strcmp(a, "--interactive")) return 1;
    return 0;
}

/* The command line of a task, without the options that make a coordinator. */
static char **task_argv(const char *self, int seg, const char *dir, const char *taskarg, bool exact)
{
    char **v = dql_xcalloc((size_t)G.argc + 13, sizeof(char *));
    int n = 0;
    char segs[32];
    snprintf(segs, sizeof segs, "%d", seg);
    v[n++] = dql_xstrdup(self);
    v[n++] = dql_xstrdup("--task");
    v[n++] = dql_xstrdup(taskarg);
    v[n++] = dql_xstrdup("--task-seg");
    v[n++] = dql_xstrdup(segs);
    v[n++] = dql_xstrdup("--shard-dir");
    v[n++] = dql_xstrdup(dir);
    if (exact) v[n++] = dql_xstrdup("--task-exact");
    for (int i = 1, skip; i < G.argc; i++) {
        if ((skip = coordinator_only(i)) > 0) { i += skip - 1; continue; }
        v[n++] = dql_xstrdup(G.argv[i]);
    }
    v[n] = NULL;
    return v;
}

static void strv_free(char **v)
{
    if (!v) return;
    for (char **p = v; *p; p++) free(*p);
    free(v);
}

/* The last lines of a task's log, indented, for the failure message. */
static void log_tail(FILE *fp, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) { fprintf(fp, "  (no log: %s)\n", path); return; }
    char buf[4096];
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    long from = size > (long)sizeof buf - 1 ? size - (long)sizeof buf + 1 : 0;
    fseek(f, from, SEEK_SET);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    /* the last 12 lines */
    int lines = 0;
    char *start = buf + n;
    while (start > buf) {
        if (start[-1] == '\n' && start != buf + n && ++lines == 12) break;
        start--;
    }
    if (!*start) { fprintf(fp, "  (the log is empty)\n"); return; }
    for (char *l = start; *l;) {
        char *nl = strchr(l, '\n');
        fprintf(fp, "  | %.*s\n", (int)(nl ? nl - l : (long)strlen(l)), l);
        if (!nl) break;
        l = nl + 1;
    }
}

/* After a successful run: what the tasks printed (warnings, RESOLVE's
 * summary, notes), each line prefixed with its task, so nothing a task
 * reported is lost when the task files are removed. */
static void relay_log(FILE *fp, const char *path, int t, int n)
{
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[4096];
    int k = 0;
    while (fgets(line, sizeof line, f)) {
        if (++k > 200) { fprintf(fp, "[task %d/%d] ... (more in %s with SET shards.keep = true)\n", t, n, path); break; }
        size_t l = strlen(line);
        fprintf(fp, "[task %d/%d] %s%s", t, n, line, l && line[l - 1] == '\n' ? "" : "\n");
    }
    fclose(f);
}

/* ------------------------------------------------------------ executors */

typedef struct shard_job {
    dql_session *s;
    FILE *errfp;
    const char *dir;
    int n, seg;
    int *todo, ntodo;
    int *code;            /* per task: exit code, 128+signal, or -1 when unknown */
    char **why;           /* per task: a note (Slurm state) or NULL */
    bool tty;
    double t0;
    bool exact;           /* the tasks run with --task-exact */
} shard_job;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void progress(shard_job *j, int done, const char *extra)
{
    if (!j->tty) return;
    fprintf(j->errfp, "\r\033[Kshards: %d of %d tasks done%s (%.0f s)", done, j->ntodo, extra ? extra : "", now_s() - j->t0);
    fflush(j->errfp);
}

static void progress_clear(shard_job *j)
{
    if (j->tty) { fputs("\r\033[K", j->errfp); fflush(j->errfp); }
}

static bool self_exe(char *out, size_t n)
{
    ssize_t k = readlink("/proc/self/exe", out, n - 1);
    if (k <= 0) return false;
    out[k] = 0;
    return true;
}

static dql_status run_local(shard_job *j)
{
    char self[PATH_MAX];
    if (!self_exe(self, sizeof self)) { fprintf(j->errfp, "dql: shards: cannot find the dql executable\n"); return DQL_ERR_RUNTIME; }
    int64_t jobs = 0;
    const char *js = dql_session_get(j->s, "shards.jobs");
    if (js) jobs = strtoll(js, NULL, 10);
    if (jobs <= 0) jobs = j->ntodo;
    pid_t *pids = dql_xcalloc((size_t)j->n, sizeof(pid_t));
    volatile sig_atomic_t *intr = dql_session_interrupt_flag(j->s);
    int next = 0, running = 0, done = 0;
    dql_status result = DQL_OK;
    progress(j, 0, NULL);
    while (done < j->ntodo) {
        while (running < jobs && next < j->ntodo && !*intr) {
            int t = j->todo[next++];
            char ta[64], logp[PATH_MAX + 64];
            snprintf(ta, sizeof ta, "%d/%d", t, j->n);
            snprintf(logp, sizeof logp, "%s/task-%d.log", j->dir, t);
            char **av = task_argv(self, j->seg, j->dir, ta, j->exact);
            fflush(NULL);
            pid_t pid = fork();
            if (pid == 0) {
                int fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                int nul = open("/dev/null", O_RDONLY);
                if (fd >= 0) { dup2(fd, 1); dup2(fd, 2); }
                if (nul >= 0) dup2(nul, 0);
                execv(self, av);
                fprintf(stderr, "dql: cannot run %s: %s\n", self, strerror(errno));
                _exit(127);
            }
            strv_free(av);
            if (pid < 0) {
                fprintf(j->errfp, "dql: shards: cannot start task %d: %s\n", t, strerror(errno));
                j->code[t] = -1;
                done++;
                result = DQL_ERR_RUNTIME;
                continue;
            }
            pids[t] = pid;
            running++;
        }
        if (*intr) {
            for (int t = 0; t < j->n; t++) if (pids[t] > 0) kill(pids[t], SIGTERM);
        }
        if (running == 0) break;
        int status;
        pid_t w = waitpid(-1, &status, 0);
        if (w < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int t = 0; t < j->n; t++)
            if (pids[t] == w) {
                pids[t] = 0;
                running--;
                done++;
                j->code[t] = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                progress(j, done, NULL);
            }
    }
    free(pids);
    progress_clear(j);
    if (*intr) return DQL_ERR_INTERRUPT;
    return result;
}

/* Single-quotes s for /bin/sh. */
static void shq(dql_buf *b, const char *s)
{
    dql_buf_putc(b, '\'');
    for (; *s; s++) {
        if (*s == '\'') dql_buf_puts(b, "'\\''");
        else dql_buf_putc(b, *s);
    }
    dql_buf_putc(b, '\'');
}

/* Runs a command through /bin/sh; its output (stdout and stderr) in out. */
static int run_capture(const char *cmd, dql_buf *out)
{
    out->len = 0;
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) dql_buf_put(out, buf, n);
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void sleep_s(double s)
{
    struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
    nanosleep(&ts, NULL);
}

static dql_status run_slurm(shard_job *j)
{
    char self[PATH_MAX], cwd[PATH_MAX];
    if (!self_exe(self, sizeof self) || !getcwd(cwd, sizeof cwd)) {
        fprintf(j->errfp, "dql: shards: cannot find the dql executable or the working directory\n");
        return DQL_ERR_RUNTIME;
    }
    /* the job script: one array task per shard, each writing its exit code */
    dql_buf sc = {0};
    dql_buf_puts(&sc, "#!/bin/sh\n#SBATCH --job-name=dql-shards\n#SBATCH --output=");
    dql_buf_printf(&sc, "%s/task-%%a.log\n#SBATCH --chdir=%s\n", j->dir, cwd);
    const char *extra = NULL;
    for (size_t i = 0;; i++) {
        const char *k, *v;
        if (!dql_session_setting_at(j->s, i, &k, &v)) break;
        if (strncmp(k, "slurm.", 6) != 0) continue;
        if (!strcmp(k, "slurm.options")) { extra = v; continue; }
        for (const char *c = k + 6; *c; c++)
            if (!(*c == '-' || *c == '_' || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9'))) {
                fprintf(j->errfp, "dql: shards: '%s' is not a Slurm option name\n", k);
                dql_buf_free(&sc);
                return DQL_ERR_USAGE;
            }
        if (strchr(v, '\n')) { fprintf(j->errfp, "dql: shards: %s: a value must be one line\n", k); dql_buf_free(&sc); return DQL_ERR_USAGE; }
        dql_buf_printf(&sc, "#SBATCH --%s=%s\n", k + 6, v);
    }
    if (extra && !strchr(extra, '\n')) dql_buf_printf(&sc, "#SBATCH %s\n", extra);
    char ta[64];
    snprintf(ta, sizeof ta, "${SLURM_ARRAY_TASK_ID}/%d", j->n);
    char **av = task_argv(self, j->seg, j->dir, "@TASK@", j->exact);
    dql_buf_puts(&sc, "i=$SLURM_ARRAY_TASK_ID\n");
    for (char **a = av; *a; a++) {
        if (a != av) dql_buf_putc(&sc, ' ');
        if (!strcmp(*a, "@TASK@")) dql_buf_printf(&sc, "\"%s\"", ta);
        else shq(&sc, *a);
    }
    strv_free(av);
    dql_buf_puts(&sc, " </dev/null\nrc=$?\nd=");
    shq(&sc, j->dir);
    dql_buf_puts(&sc, "\necho $rc > \"$d/task-$i.rc.tmp\" && mv \"$d/task-$i.rc.tmp\" \"$d/task-$i.rc\"\nexit $rc\n");
    char jobp[PATH_MAX + 64];
    snprintf(jobp, sizeof jobp, "%s/job.sh", j->dir);
    FILE *f = fopen(jobp, "w");
    if (!f || fwrite(sc.p, 1, sc.len, f) != sc.len || fclose(f) != 0) {
        fprintf(j->errfp, "dql: shards: cannot write %s: %s\n", jobp, strerror(errno));
        dql_buf_free(&sc);
        return DQL_ERR_IO;
    }
    dql_buf_free(&sc);
    for (int k = 0; k < j->ntodo; k++) {
        char rcp[PATH_MAX + 64];
        snprintf(rcp, sizeof rcp, "%s/task-%d.rc", j->dir, j->todo[k]);
        unlink(rcp);
    }
    /* submit */
    dql_buf cmd = {0}, out = {0};
    dql_buf_puts(&cmd, "sbatch --parsable --array=");
    for (int k = 0; k < j->ntodo; k++) {
        int a = j->todo[k], b = a;
        while (k + 1 < j->ntodo && j->todo[k + 1] == b + 1) b = j->todo[++k];
        dql_buf_printf(&cmd, "%s%d", cmd.p[cmd.len - 1] == '=' ? "" : ",", a);
        if (b > a) dql_buf_printf(&cmd, "-%d", b);
    }
    dql_buf_putc(&cmd, ' ');
    shq(&cmd, jobp);
    dql_buf_puts(&cmd, " 2>&1");
    int rc = run_capture(dql_buf_cstr(&cmd), &out);
    long jobid = rc == 0 ? strtol(dql_buf_cstr(&out), NULL, 10) : 0;
    if (jobid <= 0) {
        fprintf(j->errfp, "dql: shards: sbatch failed%s: %s\n", rc == 127 ? " (is Slurm installed?)" : "",
                out.len ? dql_buf_cstr(&out) : "no output");
        dql_buf_free(&cmd); dql_buf_free(&out);
        return DQL_ERR_RUNTIME;
    }
    char extra_note[64];
    snprintf(extra_note, sizeof extra_note, " (Slurm job %ld)", jobid);
    volatile sig_atomic_t *intr = dql_session_interrupt_flag(j->s);
    int done = 0, gone_polls = 0;
    double last_q = 0;
    dql_status result = DQL_OK;
    progress(j, 0, extra_note);
    for (;;) {
        if (*intr) {
            char c[64];
            snprintf(c, sizeof c, "scancel %ld 2>&1", jobid);
            run_capture(c, &out);
            result = DQL_ERR_INTERRUPT;
            break;
        }
        int nd = 0;
        for (int k = 0; k < j->ntodo; k++) {
            int t = j->todo[k];
            if (j->code[t] >= 0) { nd++; continue; }
            char rcp[PATH_MAX + 64];
            snprintf(rcp, sizeof rcp, "%s/task-%d.rc", j->dir, t);
            FILE *rf = fopen(rcp, "r");
            if (!rf) continue;
            int code = -1;
            if (fscanf(rf, "%d", &code) == 1 && code >= 0) { j->code[t] = code; nd++; }
            fclose(rf);
        }
        if (nd != done) { done = nd; progress(j, done, extra_note); }
        if (done == j->ntodo) break;
        /* a task killed by Slurm (cancelled, time limit, node failure) writes no exit code */
        double t = now_s();
        if (t - last_q >= 1.0) {
            last_q = t;
            char q[96];
            snprintf(q, sizeof q, "squeue -h -r -j %ld -o %%i 2>/dev/null", jobid);
            int qrc = run_capture(q, &out);
            if (qrc == 0 && out.len == 0) gone_polls++;
            else gone_polls = 0;
            if (gone_polls >= 3) {
                for (int k = 0; k < j->ntodo; k++) {
                    int tk = j->todo[k];
                    if (j->code[tk] >= 0) continue;
                    char sq[128];
                    snprintf(sq, sizeof sq, "scontrol -o show job %ld_%d 2>/dev/null", jobid, tk);
                    run_capture(sq, &out);
                    const char *st = strstr(dql_buf_cstr(&out), "JobState=");
                    char state[64] = "ended without an exit status (cancelled or killed by Slurm)";
                    if (st) snprintf(state, sizeof state, "Slurm state %.*s", (int)strcspn(st + 9, " \n"), st + 9);
                    j->why[tk] = dql_xstrdup(state);
                    j->code[tk] = -1;
                    done++;
                }
                break;
            }
        }
        sleep_s(0.05);
    }
    progress_clear(j);
    dql_buf_free(&cmd);
    dql_buf_free(&out);
    return result;
}

/* ------------------------------------------------------------ the run */

struct dql_shard {
    analysis run;         /* the cuts of the outputs: computed by the tasks */
    analysis expl;        /* the cuts EXPLAIN shows */
    char *dir;
    bool keep;
};

static void mark_explain(analysis *a, int n, const char *executor)
{
    for (int i = 0; i < a->n; i++) {
        cut *c = &a->cuts[i];
        dql_buf b = {0};
        if (c->out)
            dql_buf_printf(&b, "cut: written by %d %s tasks as parts of '%s', assembled by the STORE", n, executor, c->out->sc.path);
        else if (c->preagg)
            dql_buf_printf(&b, "cut: %s in %d %s tasks (partial states), combined here", c->node->distinct ? "distinct rows" : "pre-aggregated", n, executor);
        else
            dql_buf_printf(&b, "cut: computed by %d %s tasks, read back in task order", n, executor);
        dql_buf_printf(&b, "; LOAD '%s' split by %s", a->load->path, a->load->loader->shard_by ? a->load->loader->shard_by : "(cannot be split)");
        free(c->node->cut_note);
        c->node->cut_note = dql_xstrdup(dql_buf_cstr(&b));
        dql_buf_free(&b);
    }
}

static void clear_marks(analysis *a)
{
    for (int i = 0; i < a->n; i++) {
        free(a->cuts[i].node->cut_note);
        a->cuts[i].node->cut_note = NULL;
        dql_plan_unref(a->cuts[i].node->subst);
        a->cuts[i].node->subst = NULL;
    }
}

dql_status dql_shard_task(dql_session *s, int seg, dql_plan **roots, dql_shard_out *outs, int nroots)
{
    if (seg != G.seg) return DQL_OK;
    FILE *errfp = stderr;
    analysis a;
    analyze(&a, roots, outs, nroots);
    char run[16];
    run_name(run, sizeof run, G.dir);
    char tmp[PATH_MAX], fin[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/task-%d.db.tmp", G.dir, G.task);
    snprintf(fin, sizeof fin, "%s/task-%d.db", G.dir, G.task);
    char bp[PATH_MAX + 32];
    snprintf(bp, sizeof bp, "%s/task-%d.bounds", G.dir, G.task);
    unlink(bp);
    const char *sfx[] = { "", "-wal", "-shm", "-journal" };
    for (int i = 0; i < 4; i++) {
        char p[PATH_MAX + 16];
        snprintf(p, sizeof p, "%s%s", tmp, sfx[i]);
        unlink(p);
    }
    dql_status st = DQL_OK;
    if (a.load && !a.load->loader->shard_by) {
        fprintf(errfp, "dql: task %d: LOAD USING %s() cannot be sharded\n", G.task, a.load->loader->name);
        st = DQL_ERR_USAGE;
    }
    static dql_shard_bounds bounds;
    memset(&bounds, 0, sizeof bounds);
    bounds.exact = G.exact;
    if (a.load) { a.load->shard = G.task; a.load->nshards = G.ntasks; a.load->bounds = &bounds; }
    dql_arena ar;
    dql_arena_init(&ar);
    for (int k = 0; k < a.n && st == DQL_OK; k++) {
        char t[32];
        snprintf(t, sizeof t, "c%d", k);
        dql_arg arg = { "db", dql_chararray(tmp, strlen(tmp)) };
        dql_args args = { 1, &arg };
        if (a.cuts[k].out) {
            /* a STORE the tasks write directly: this task's part */
            const dql_store_ctx *sc = &a.cuts[k].out->sc;
            st = dql_session_store_plan(s, a.cuts[k].task, NULL, a.cuts[k].out->sd, sc->path, sc->args, G.task, run,
                                        &a.cuts[k].node->sp);
            continue;
        }
        dql_schema *as = file_schema(a.cuts[k].task->schema);
        tf_rows = a.cuts[k].task->schema;
        st = dql_session_store_plan(s, a.cuts[k].task, as, &taskfile_storer, t, &args, -1, NULL, &a.cuts[k].node->sp);
        tf_rows = NULL;
        dql_schema_free(as);
    }
    dql_arena_free(&ar);
    if (a.load) { a.load->shard = 0; a.load->nshards = 0; a.load->bounds = NULL; }
    if (st == DQL_OK && (bounds.start[0] || bounds.end[0])) {
        /* how the shard started and ended, for the coordinator's check (written before the task file: done last) */
        FILE *bf = fopen(bp, "w");
        if (!bf || fprintf(bf, "%s\n%s\n", bounds.start, bounds.end) < 0 || fclose(bf) != 0) {
            fprintf(errfp, "dql: task %d: cannot write %s\n", G.task, bp);
            st = DQL_ERR_IO;
        }
    }
    if (st == DQL_OK && !file_exists(tmp)) {
        /* nothing for the task file (no cut, or only parts written elsewhere): an empty one marks the task done */
        sqlite3 *db;
        char err[256];
        if (dql_ws_open(tmp, &db, err, sizeof err) == DQL_OK) dql_ws_close(db);
        else { fprintf(errfp, "dql: task %d: %s\n", G.task, err); st = DQL_ERR_IO; }
    }
    if (st == DQL_OK && rename(tmp, fin) != 0) {
        fprintf(errfp, "dql: task %d: cannot rename %s: %s\n", G.task, tmp, strerror(errno));
        st = DQL_ERR_IO;
    }
    analysis_free(&a);
    return st;
}

/* Runs the tasks in j->todo on the executor; reports the failed ones
 * (task id, exit code, log tail). */
static dql_status run_tasks(shard_job *j, const char *executor, dql_shard *sh)
{
    FILE *errfp = j->errfp;
    int n = j->n;
    for (int k = 0; k < j->ntodo; k++) { j->code[j->todo[k]] = -1; free(j->why[j->todo[k]]); j->why[j->todo[k]] = NULL; }
    dql_status st = DQL_OK;
    if (j->ntodo) st = !strcmp(executor, "slurm") ? run_slurm(j) : run_local(j);
    int failed = 0;
    for (int k = 0; k < j->ntodo && st != DQL_ERR_INTERRUPT; k++) {
        int t = j->todo[k];
        char p[PATH_MAX + 32];
        snprintf(p, sizeof p, "%s/task-%d.db", j->dir, t);
        if (j->code[t] == 0 && file_exists(p)) continue;
        if (failed++ < 3) {
            char lp[PATH_MAX + 32];
            snprintf(lp, sizeof lp, "%s/task-%d.log", j->dir, t);
            if (j->why[t]) fprintf(errfp, "dql: shards: task %d of %d failed: %s; its log %s ends:\n", t, n, j->why[t], lp);
            else if (j->code[t] > 128) fprintf(errfp, "dql: shards: task %d of %d failed (killed by signal %d); its log %s ends:\n", t, n, j->code[t] - 128, lp);
            else fprintf(errfp, "dql: shards: task %d of %d failed (exit %d); its log %s ends:\n", t, n, j->code[t], lp);
            log_tail(errfp, lp);
        }
    }
    for (int t = 0; t < n; t++) { free(j->why[t]); j->why[t] = NULL; }
    if (st == DQL_ERR_INTERRUPT) { fprintf(errfp, "interrupted\n"); return st; }
    if (failed) {
        if (failed > 3) fprintf(errfp, "dql: shards: %d more tasks failed (logs in %s)\n", failed - 3, j->dir);
        fprintf(errfp, "dql: shards: %d of %d tasks failed; the others' results are kept in %s: "
                "fix the cause and rerun with --resume to run only the failed tasks\n", failed, n, j->dir);
        sh->keep = true;
        return DQL_ERR_RUNTIME;
    }
    if (st != DQL_OK) sh->keep = true;
    return st;
}

/* A task's bounds file (dql_shard_bounds): its start and end notes, "" when absent. */
static void read_bounds(const char *dir, int t, char b[2][64])
{
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/task-%d.bounds", dir, t);
    b[0][0] = b[1][0] = 0;
    FILE *f = fopen(p, "r");
    if (!f) return;
    for (int i = 0; i < 2 && fgets(b[i], 64, f); i++) b[i][strcspn(b[i], "\n")] = 0;
    fclose(f);
}

dql_status dql_shard_begin(dql_session *s, int seg, dql_plan **roots, dql_shard_out *outs, int nroots,
                           dql_plan **explains, int nexplains, dql_shard **out)
{
    *out = NULL;
    const char *ns = dql_session_get(s, "shards");
    int n = ns ? atoi(ns) : 1;
    if (n <= 1) return DQL_OK;
    const char *executor = dql_session_get(s, "executor");
    if (!executor) executor = "local";
    FILE *errfp = stderr;
    dql_shard *sh = dql_xcalloc(1, sizeof *sh);
    *out = sh;
    /* EXPLAIN shows where the run would be cut */
    analyze(&sh->expl, explains, NULL, nexplains);
    mark_explain(&sh->expl, n, executor);
    analyze(&sh->run, roots, outs, nroots);
    analysis a = sh->run;
    if (a.n == 0) return DQL_OK;
    mark_explain(&sh->run, n, executor);
    if (!a.load->loader->shard_by) {
        dql_diag(errfp, DQL_DIAG_ERROR, &a.load->sp, "a sharded run splits the first LOAD, and LOAD USING %s() cannot be split "
                 "(shardable: zone, lines, csv, tsv, jsonl, pcap, files, sqlite tables)", a.load->loader->name);
        return DQL_ERR_CHECK;
    }
    if (!G.has_script) {
        fprintf(errfp, "dql: a sharded run (shards = %d) needs a script: dql --shards %d script.dql (or -e '...')\n", n, n);
        return DQL_ERR_USAGE;
    }
    if (strcmp(executor, "local") != 0 && strcmp(executor, "slurm") != 0) {
        fprintf(errfp, "dql: executor: '%s' is not local or slurm\n", executor);
        return DQL_ERR_USAGE;
    }
    /* the task directory: SET shards.dir, else .dql-shards/ in the working directory */
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) { fprintf(errfp, "dql: shards: no working directory\n"); return DQL_ERR_IO; }
    uint64_t h = fnv(0xcbf29ce484222325ull, cwd, strlen(cwd));
    for (int i = 1, skip; i < G.argc; i++) {
        if ((skip = coordinator_only(i)) > 0) { i += skip - 1; continue; }
        h = fnv(h, G.argv[i], strlen(G.argv[i]) + 1);
    }
    const char *base = dql_session_get(s, "shards.dir");
    char dir[PATH_MAX];
    if (!base || !*base) base = ".dql-shards";
    bool abs = base[0] == '/';
    snprintf(dir, sizeof dir, "%s%s%s/run-%016llx/seg-%d", abs ? "" : cwd, abs ? "" : "/", base, (unsigned long long)h, seg);
    sh->dir = dql_xstrdup(dir);
    sh->keep = dql_session_flag(s, "shards.keep");
    /* the manifest: what the task files were made for */
    char manifest[PATH_MAX + 16], want[256];
    snprintf(manifest, sizeof manifest, "%s/manifest", dir);
    /* a file input that changed since the failed run moves the shard
     * boundaries: the finished tasks' results would no longer fit */
    struct stat ist;
    char insig[128] = "";
    if (a.load->path && stat(a.load->path, &ist) == 0 && S_ISREG(ist.st_mode))
        snprintf(insig, sizeof insig, "input %lld %lld.%09ld\n", (long long)ist.st_size, (long long)ist.st_mtim.tv_sec, ist.st_mtim.tv_nsec);
    snprintf(want, sizeof want, "dql shards 1\ntasks %d\ncuts %d\nplan %016llx\n%s", n, a.n,
             (unsigned long long)dql_session_script_hash(s), insig);
    if (file_exists(dir) && G.resume) {
        char rerr[256];
        char *have = dql_read_file(manifest, NULL, rerr, sizeof rerr);
        if (!have || strcmp(have, want) != 0) {
            if (have && insig[0] && !strstr(have, insig))
                fprintf(errfp, "dql: --resume: '%s' changed since the failed run, which moves the shard boundaries: "
                        "run without --resume (the finished tasks' results in %s no longer fit)\n", a.load->path, dir);
            else
                fprintf(errfp, "dql: --resume: %s holds the tasks of another script, parameters or shard count; "
                        "remove it or run without --resume\n", dir);
            free(have);
            return DQL_ERR_USAGE;
        }
        free(have);
    } else if (file_exists(dir)) {
        dql_files_rmtree(dir);
    }
    if (!mkdirs(dir)) { fprintf(errfp, "dql: shards: cannot create %s: %s\n", dir, strerror(errno)); return DQL_ERR_IO; }
    FILE *mf = fopen(manifest, "w");
    if (!mf || fputs(want, mf) < 0 || fclose(mf) != 0) { fprintf(errfp, "dql: shards: cannot write %s\n", manifest); return DQL_ERR_IO; }
    /* the tasks still to run */
    shard_job j = { s, errfp, dir, n, seg, NULL, 0, NULL, NULL, isatty(2) != 0, now_s(), false };
    j.todo = dql_xcalloc((size_t)n, sizeof(int));
    j.code = dql_xcalloc((size_t)n, sizeof(int));
    j.why = dql_xcalloc((size_t)n, sizeof(char *));
    for (int t = 0; t < n; t++) {
        char p[PATH_MAX + 32];
        snprintf(p, sizeof p, "%s/task-%d.db", dir, t);
        j.code[t] = -1;
        if (!file_exists(p)) j.todo[j.ntodo++] = t;
    }
    if (G.resume && j.ntodo < n)
        fprintf(errfp, "dql: --resume: %d of %d tasks had finished; running %d\n", n - j.ntodo, n, j.ntodo);
    dql_status st = run_tasks(&j, executor, sh);
    /* speculative starts (a zone split by byte range, the warm-up of a
     * pcap task): each must be the state at which the task before it ended;
     * a task whose guess was wrong runs again without speculation (which
     * may move its own end) */
    for (int round = 0; st == DQL_OK && round < n; round++) {
        char prev_end[64] = "", b[2][64];
        j.ntodo = 0;
        for (int t = 0; t < n; t++) {
            read_bounds(dir, t, b);
            if (t > 0 && b[0][0] && strcmp(b[0], prev_end) != 0) j.todo[j.ntodo++] = t;
            memcpy(prev_end, b[1], sizeof prev_end);
        }
        if (!j.ntodo) break;
        if (dql_session_flag(s, "stats"))
            fprintf(errfp, "dql: note: %d task%s started from a wrong guess of the state before %s shard; running %s again exactly\n",
                    j.ntodo, j.ntodo == 1 ? "" : "s", j.ntodo == 1 ? "its" : "their", j.ntodo == 1 ? "it" : "them");
        for (int k = 0; k < j.ntodo; k++) {
            char p[PATH_MAX + 32];
            snprintf(p, sizeof p, "%s/task-%d.db", dir, j.todo[k]);
            unlink(p);
        }
        j.exact = true;
        st = run_tasks(&j, executor, sh);
    }
    free(j.why); free(j.code); free(j.todo);
    if (st != DQL_OK) return st;
    for (int t = 0; t < n; t++) {
        char lp[PATH_MAX + 32];
        snprintf(lp, sizeof lp, "%s/task-%d.log", dir, t);
        relay_log(errfp, lp, t, n);
    }
    if (dql_session_flag(s, "stats")) fprintf(errfp, "dql: note: %d %s tasks in %.2f s (%d cut%s)\n", n, executor, now_s() - j.t0, a.n, a.n == 1 ? "" : "s");
    /* the merge: the statements read the cut relations from the task files */
    for (int k = 0; k < a.n; k++) {
        if (a.cuts[k].out) {
            a.cuts[k].out->assembled = true;
            a.cuts[k].out->nparts = n;
            run_name(a.cuts[k].out->run, sizeof a.cuts[k].out->run, dir);
            continue;
        }
        if (a.cuts[k].node->subst) continue;
        a.cuts[k].node->subst = merge_plan(&a.cuts[k], k, dir, n);
    }
    return DQL_OK;
}

void dql_shard_end(dql_shard *sh, dql_status result)
{
    if (!sh) return;
    clear_marks(&sh->run);
    clear_marks(&sh->expl);
    if (sh->dir && result == DQL_OK && !sh->keep) {
        dql_files_rmtree(sh->dir);
        /* the run directory and .dql-shards when they are empty now */
        char *p = dql_xstrdup(sh->dir);
        for (int i = 0; i < 2; i++) {
            char *sl = strrchr(p, '/');
            if (!sl) break;
            *sl = 0;
            sl = strrchr(p, '/');
            if ((i == 1 && (!sl || strcmp(sl, "/.dql-shards") != 0)) || rmdir(p) != 0) break;
        }
        free(p);
    }
    free(sh->dir);
    analysis_free(&sh->run);
    analysis_free(&sh->expl);
    free(sh);
}
