/* session.c — a dql session: settings, parameters, aliases, macros, the
 * workspace and Lua state; and dql_session_exec(), which parses a script,
 * expands macros and IMPORTs, checks every statement, and only then runs
 * them (DUMP, STORE, DESCRIBE, EXPLAIN, SQL). Also the execution context's
 * error and warning functions. */
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <unistd.h>
#include <errno.h>
#include <sys/stat.h>
#include <sqlite3.h>
#include "session.h"
#include "ast.h"
#include "lexer.h"
#include "plan.h"
#include "diag.h"
#include "workspace.h"
#include "lua_host.h"
#include "geo.h"
#include "shard.h"

typedef struct named { char *name; void *v; } named;
/* State an operator family keeps per session (dql_session_ext). */
typedef struct session_ext { char *name; void *v; void (*destroy)(void *); } session_ext;
static void clear_failed(dql_session *s);

struct dql_session {
    char **skey, **sval;
    int nset, capset;
    dql_params params;
    named *aliases; int naliases;
    named *defines; int ndefines;     /* N_FUNC or N_STRING nodes (owned copies of the tree stay in asts) */
    named *macros; int nmacros;       /* N_DEFINE_MACRO nodes */
    named *pending; int npending;     /* outputs a STORE of the current script will create: schema */
    named *failed; int nfailed;       /* aliases whose definition failed the check (value unused) */
    dql_node **asts; int nasts;
    char **texts; int ntexts;
    sqlite3 *db;
    char *dbpath;
    dql_out_opts out;
    FILE *errfp;
    volatile sig_atomic_t intr;
    lua_State *L;
    int macro_serial;
    bool checking;                    /* inside dql_session_exec with DQL_RUN_CHECK_ONLY */
    void (*progress)(void *ud, const dql_exec *ex);
    void *progress_ud;
    dql_plan *last_plan;              /* the last DUMP or SQL that ran (.last) */
    dql_node *last_stmt;              /* its statement (owned by asts) */
    dql_run_hook hook;                /* the shell's .timer and .once */
    void *hook_ud;
    session_ext *exts; int nexts;     /* dql_session_ext: e.g. op_geo.c's open databases */
    int exec_serial;                  /* scripts run so far (a sharded run's segment number) */
    uint64_t script_hash;             /* of the script text being run */
};

/* ------------------------------------------------------------ small tables */

static void *named_get(named *t, int n, const char *name)
{
    for (int i = n - 1; i >= 0; i--) if (strcmp(t[i].name, name) == 0) return t[i].v;
    return NULL;
}

/* Sets name -> v; returns the previous value (caller disposes). */
static void *named_set(named **t, int *n, const char *name, void *v)
{
    for (int i = 0; i < *n; i++)
        if (strcmp((*t)[i].name, name) == 0) { void *old = (*t)[i].v; (*t)[i].v = v; return old; }
    *t = dql_xrealloc(*t, sizeof(named) * (size_t)(*n + 1));
    (*t)[*n].name = dql_xstrdup(name);
    (*t)[*n].v = v;
    (*n)++;
    return NULL;
}

/* ------------------------------------------------------------ lifecycle */

static const struct { const char *key, *def, *help; } known_settings[] = {
    { "db", "dql.db", "workspace SQLite database" },
    { "memory", "256MB", "memory budget of GROUP/ORDER/DISTINCT/JOIN before they spill to disk" },
    { "strict", "false", "dirty input rows are errors instead of counted warnings" },
    { "overwrite", "false", "STORE may replace an existing table or file" },
    { "tmpdir", NULL, "directory for spill files (default $TMPDIR or /tmp)" },
    { "seed", "42", "seed of SAMPLE and RANDOM" },
    { "stream.timeout", "1h", "time limit of a STREAM command" },
    { "stats", "false", "after each statement, print rows out and whether sorts spilled to disk" },
    { "resolvers", NULL, "servers of RESOLVE without WITH (servers = ...): 'udp://127.0.0.1:53, tcp://[::1]:5353'" },
    { "shards", "1", "run scripts in this many tasks, each on its shard of the first LOAD (--shards)" },
    { "executor", "local", "where the tasks of a sharded run run: local (processes) or slurm (a job array)" },
    { "shards.jobs", NULL, "local executor: tasks running at once (default: all)" },
    { "shards.dir", NULL, "where tasks write their results (default .dql-shards/; shared with the nodes for slurm)" },
    { "shards.keep", "false", "keep the task files after a successful sharded run" },
};

dql_session *dql_session_new(void)
{
    dql_session *s = dql_xcalloc(1, sizeof *s);
    s->errfp = stderr;
    s->out.mode = DQL_OUT_CSV;
    s->out.headers = false;
    s->out.nullvalue = "";
    s->out.fp = stdout;
    s->out.maxrows = 0;
    for (size_t i = 0; i < sizeof known_settings / sizeof known_settings[0]; i++)
        if (known_settings[i].def) {
            char e[8];
            dql_session_set(s, known_settings[i].key, known_settings[i].def, e, sizeof e);
        }
    const char *t = getenv("TMPDIR");
    char e[8];
    dql_session_set(s, "tmpdir", t && *t ? t : "/tmp", e, sizeof e);
    return s;
}

void dql_session_free(dql_session *s)
{
    if (!s) return;
    for (int i = 0; i < s->nset; i++) { free(s->skey[i]); free(s->sval[i]); }
    free(s->skey); free(s->sval);
    dql_params_free(&s->params);
    for (int i = 0; i < s->naliases; i++) { free(s->aliases[i].name); dql_plan_unref(s->aliases[i].v); }
    free(s->aliases);
    for (int i = 0; i < s->ndefines; i++) free(s->defines[i].name);
    free(s->defines);
    for (int i = 0; i < s->nmacros; i++) free(s->macros[i].name);
    free(s->macros);
    for (int i = 0; i < s->npending; i++) { free(s->pending[i].name); dql_schema_free(s->pending[i].v); }
    free(s->pending);
    clear_failed(s);
    free(s->failed);
    if (s->L) dql_lua_free(s->L);
    dql_plan_unref(s->last_plan);
    for (int i = 0; i < s->nasts; i++) dql_node_free(s->asts[i]);
    free(s->asts);
    for (int i = 0; i < s->ntexts; i++) free(s->texts[i]);
    free(s->texts);
    if (s->db) dql_ws_close(s->db);
    free(s->dbpath);
    for (int i = 0; i < s->nexts; i++) { if (s->exts[i].destroy) s->exts[i].destroy(s->exts[i].v); free(s->exts[i].name); }
    free(s->exts);
    free(s);
}

void *dql_session_ext(dql_session *s, const char *name, void *(*create)(void), void (*destroy)(void *))
{
    for (int i = 0; i < s->nexts; i++) if (!strcmp(s->exts[i].name, name)) return s->exts[i].v;
    if (!create) return NULL;
    s->exts = dql_xrealloc(s->exts, sizeof *s->exts * (size_t)(s->nexts + 1));
    s->exts[s->nexts].name = dql_xstrdup(name);
    s->exts[s->nexts].v = create();
    s->exts[s->nexts].destroy = destroy;
    return s->exts[s->nexts++].v;
}

/* ------------------------------------------------------------ settings */

const char *dql_session_get(dql_session *s, const char *key)
{
    for (int i = 0; i < s->nset; i++) if (strcmp(s->skey[i], key) == 0) return s->sval[i];
    return NULL;
}

static bool parse_bool(const char *v, bool *out)
{
    if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "on") || !strcasecmp(v, "yes")) { *out = true; return true; }
    if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "off") || !strcasecmp(v, "no")) { *out = false; return true; }
    return false;
}

bool dql_session_flag(dql_session *s, const char *key)
{
    const char *v = dql_session_get(s, key);
    bool b = false;
    return v && parse_bool(v, &b) && b;
}

dql_status dql_session_set(dql_session *s, const char *key, const char *value, char *err, size_t errlen)
{
    bool known = strchr(key, '.') != NULL;
    for (size_t i = 0; i < sizeof known_settings / sizeof known_settings[0]; i++)
        if (!strcmp(known_settings[i].key, key)) known = true;
    if (!known) {
        snprintf(err, errlen, "unknown setting '%s' (see SET; for the list)", key);
        return DQL_ERR_CHECK;
    }
    uint64_t sz;
    bool b;
    int64_t us;
    if (!strcmp(key, "memory") && (!dql_parse_size(value, &sz) || sz < 4096)) {
        snprintf(err, errlen, "memory: '%s' is not a size (e.g. 256MB)", value);
        return DQL_ERR_CHECK;
    }
    if ((!strcmp(key, "strict") || !strcmp(key, "overwrite") || !strcmp(key, "stats") || !strcmp(key, "shards.keep")) &&
        !parse_bool(value, &b)) {
        snprintf(err, errlen, "%s: '%s' is not true or false", key, value);
        return DQL_ERR_CHECK;
    }
    if (!strcmp(key, "shards") || !strcmp(key, "shards.jobs")) {
        char *end;
        long n = strtol(value, &end, 10);
        if (*end || end == value || n < (strcmp(key, "shards") ? 0 : 1) || n > 100000) {
            snprintf(err, errlen, "%s: '%s' is not a number of tasks (%s to 100000)", key, value,
                     strcmp(key, "shards") ? "0, all," : "1");
            return DQL_ERR_CHECK;
        }
    }
    if (!strcmp(key, "executor") && strcmp(value, "local") != 0 && strcmp(value, "slurm") != 0) {
        snprintf(err, errlen, "executor: '%s' is not local or slurm", value);
        return DQL_ERR_CHECK;
    }
    if (!strcmp(key, "stream.timeout") && !dql_parse_duration(value, &us)) {
        snprintf(err, errlen, "stream.timeout: '%s' is not a duration (e.g. 30s)", value);
        return DQL_ERR_CHECK;
    }
    /* geo.city, geo.asn, ...: the database is opened and verified now (geo.h) */
    if (!strncmp(key, "geo.", 4)) {
        dql_status gst = dql_geo_setting(s, key, value, err, errlen);
        if (gst) return gst;
    }
    if (!strcmp(key, "db") && s->db && (!s->dbpath || strcmp(s->dbpath, value) != 0)) {
        dql_status st = dql_session_open_db(s, value, err, errlen);
        if (st) return st;
    }
    for (int i = 0; i < s->nset; i++)
        if (!strcmp(s->skey[i], key)) { free(s->sval[i]); s->sval[i] = dql_xstrdup(value); return DQL_OK; }
    /* keep the table sorted by key */
    if (s->nset == s->capset) {
        s->capset = s->capset ? s->capset * 2 : 16;
        s->skey = dql_xrealloc(s->skey, sizeof(char *) * (size_t)s->capset);
        s->sval = dql_xrealloc(s->sval, sizeof(char *) * (size_t)s->capset);
    }
    int at = s->nset;
    while (at > 0 && strcmp(s->skey[at - 1], key) > 0) {
        s->skey[at] = s->skey[at - 1];
        s->sval[at] = s->sval[at - 1];
        at--;
    }
    s->skey[at] = dql_xstrdup(key);
    s->sval[at] = dql_xstrdup(value);
    s->nset++;
    return DQL_OK;
}

bool dql_session_setting_at(dql_session *s, size_t i, const char **key, const char **value)
{
    if (i >= (size_t)s->nset) return false;
    *key = s->skey[i];
    *value = s->sval[i];
    return true;
}

void dql_session_param(dql_session *s, const char *name, const char *value) { dql_params_set(&s->params, name, value); }

/* ------------------------------------------------------------ accessors */

/* SQLite's progress handler: a non-zero return (Ctrl-C pressed) makes the
 * running SQLite call fail with SQLITE_INTERRUPT. */
static int sqlite_interrupted(void *ud) { return ((dql_session *)ud)->intr != 0; }

sqlite3 *dql_session_db(dql_session *s, char *err, size_t errlen)
{
    if (s->db) return s->db;
    const char *path = dql_session_get(s, "db");
    /* checking (-c) must not create a workspace: a missing one is an empty,
     * in-memory stand-in */
    if (s->checking && access(path, F_OK) != 0) path = ":memory:";
    if (dql_ws_open(path, &s->db, err, errlen) != DQL_OK) { s->db = NULL; return NULL; }
    sqlite3_progress_handler(s->db, 1000, sqlite_interrupted, s);
    free(s->dbpath);
    s->dbpath = dql_xstrdup(path);
    return s->db;
}

dql_status dql_session_open_db(dql_session *s, const char *path, char *err, size_t errlen)
{
    sqlite3 *db;
    dql_status st = dql_ws_open(path, &db, err, errlen);
    if (st) return st;
    if (s->db) dql_ws_close(s->db);
    s->db = db;
    sqlite3_progress_handler(s->db, 1000, sqlite_interrupted, s);
    free(s->dbpath);
    s->dbpath = dql_xstrdup(path);
    for (int i = 0; i < s->nset; i++)
        if (!strcmp(s->skey[i], "db")) { free(s->sval[i]); s->sval[i] = dql_xstrdup(path); }
    return DQL_OK;
}

dql_out_opts *dql_session_out(dql_session *s) { return &s->out; }
FILE *dql_session_errfp(dql_session *s) { return s->errfp; }
void dql_session_set_errfp(dql_session *s, FILE *fp) { s->errfp = fp; }
volatile sig_atomic_t *dql_session_interrupt_flag(dql_session *s) { return &s->intr; }

lua_State *dql_session_lua(dql_session *s)
{
    if (!s->L) s->L = dql_lua_new(s);
    return s->L;
}

dql_plan *dql_session_alias(dql_session *s, const char *name) { return named_get(s->aliases, s->naliases, name); }

const dql_schema *dql_session_pending(dql_session *s, const char *name) { return named_get(s->pending, s->npending, name); }

const dql_node *dql_session_define_lookup(dql_session *s, const char *name) { return named_get(s->defines, s->ndefines, name); }

bool dql_session_alias_failed(dql_session *s, const char *name)
{
    for (int i = 0; i < s->nfailed; i++) if (!strcmp(s->failed[i].name, name)) return true;
    return false;
}

static void clear_failed(dql_session *s)
{
    for (int i = 0; i < s->nfailed; i++) free(s->failed[i].name);
    s->nfailed = 0;
}

void dql_session_shadow_begin(dql_session *s)
{
    char err[256];
    sqlite3 *db = dql_session_db(s, err, sizeof err);
    if (!db) return;
    sqlite3_exec(db, "SAVEPOINT dql_shadow", NULL, NULL, NULL);
    for (int i = 0; i < s->npending; i++) {
        const char *n = s->pending[i].name;
        if (strchr(n, '/') || strchr(n, '.')) continue;
        dql_ws_shadow_table(db, n, s->pending[i].v, err, sizeof err);
    }
}

void dql_session_shadow_end(dql_session *s)
{
    if (!s->db) return;
    sqlite3_exec(s->db, "ROLLBACK TO dql_shadow; RELEASE dql_shadow", NULL, NULL, NULL);
}

/* ------------------------------------------------------------ exec context */

static void exec_init(dql_session *s, dql_exec *ex)
{
    memset(ex, 0, sizeof *ex);
    ex->sess = s;
    ex->interrupted = &s->intr;
    uint64_t m = 256u << 20;
    dql_parse_size(dql_session_get(s, "memory"), &m);
    ex->mem_budget = m;
    ex->strict = dql_session_flag(s, "strict");
    ex->tmpdir = dql_session_get(s, "tmpdir");
    ex->progress = s->progress;
    ex->progress_ud = s->progress_ud;
}

void dql_session_set_progress(dql_session *s, void (*fn)(void *ud, const dql_exec *ex), void *ud)
{
    s->progress = fn;
    s->progress_ud = ud;
}

static void exec_done(dql_exec *ex)
{
    for (int i = 0; i < ex->nwarns; i++) { free(ex->warns[i].kind); free(ex->warns[i].first); }
    free(ex->warns);
    free(ex->errmsg);
}

static char *vfmt(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    char *r = dql_xmalloc((size_t)(n < 0 ? 0 : n) + 1);
    vsnprintf(r, (size_t)(n < 0 ? 0 : n) + 1, fmt, ap);
    return r;
}

dql_status dql_exec_error_st(dql_exec *ex, dql_status st, const char *fmt, ...)
{
    if (!ex) return st;
    va_list ap;
    va_start(ap, fmt);
    char *m = vfmt(fmt, ap);
    va_end(ap);
    if (!ex->errmsg) ex->errmsg = m;
    else free(m);
    return st;
}

dql_status dql_exec_error(dql_exec *ex, const char *fmt, ...)
{
    if (!ex) return DQL_ERR_RUNTIME;
    va_list ap;
    va_start(ap, fmt);
    char *m = vfmt(fmt, ap);
    va_end(ap);
    if (!ex->errmsg) ex->errmsg = m;
    else free(m);
    return DQL_ERR_RUNTIME;
}

dql_status dql_exec_warn(dql_exec *ex, const char *kind, const char *fmt, ...)
{
    if (!ex) return DQL_OK;
    if (ex->strict) {
        va_list ap;
        va_start(ap, fmt);
        char *m = vfmt(fmt, ap);
        va_end(ap);
        if (!ex->errmsg) {
            size_t n = strlen(kind) + strlen(m) + 32;
            ex->errmsg = dql_xmalloc(n);
            snprintf(ex->errmsg, n, "%s (strict mode)", m);
        }
        free(m);
        return DQL_ERR_RUNTIME;
    }
    for (int i = 0; i < ex->nwarns; i++)
        if (!strcmp(ex->warns[i].kind, kind)) { ex->warns[i].count++; return DQL_OK; }
    if (ex->nwarns == ex->capwarns) {
        ex->capwarns = ex->capwarns ? ex->capwarns * 2 : 8;
        ex->warns = dql_xrealloc(ex->warns, sizeof(dql_warn_kind) * (size_t)ex->capwarns);
    }
    va_list ap;
    va_start(ap, fmt);
    ex->warns[ex->nwarns].first = vfmt(fmt, ap);
    va_end(ap);
    ex->warns[ex->nwarns].kind = dql_xstrdup(kind);
    ex->warns[ex->nwarns].count = 1;
    ex->nwarns++;
    return DQL_OK;
}

/* Prints the counted warnings of a statement, once, at its end. */
static void print_warnings(dql_session *s, dql_exec *ex, const dql_span *sp)
{
    for (int i = 0; i < ex->nwarns; i++) {
        dql_warn_kind *w = &ex->warns[i];
        if (sp && sp->file) fprintf(s->errfp, "%s:%u:%u: ", sp->file, sp->line, sp->col);
        else fputs("dql: ", s->errfp);
        fprintf(s->errfp, "warning: %s: %llu time%s (first: %s)\n", w->kind, (unsigned long long)w->count,
                w->count == 1 ? "" : "s", w->first);
    }
}

/* ------------------------------------------------------------ macros, IMPORT */

static char *keep_text(dql_session *s, char *t)
{
    s->texts = dql_xrealloc(s->texts, sizeof(char *) * (size_t)(s->ntexts + 1));
    s->texts[s->ntexts++] = t;
    return t;
}

static char *keep_name(dql_session *s, const char *name) { return keep_text(s, dql_xstrdup(name)); }

static void keep_ast(dql_session *s, dql_node *n)
{
    s->asts = dql_xrealloc(s->asts, sizeof(dql_node *) * (size_t)(s->nasts + 1));
    s->asts[s->nasts++] = n;
}

typedef struct stmt_list { dql_node **v; int n, cap; } stmt_list;

static void sl_add(stmt_list *l, dql_node *n)
{
    if (l->n == l->cap) { l->cap = l->cap ? l->cap * 2 : 16; l->v = dql_xrealloc(l->v, sizeof(dql_node *) * (size_t)l->cap); }
    l->v[l->n++] = n;
}

static int expand(dql_session *s, dql_node *script, stmt_list *out, int depth);

/* Renames relation references (N_REF) and assignments of internal aliases. */
static void rename_refs(dql_node *n, char **from, char **to, int k)
{
    if (!n) return;
    if ((n->kind == N_REF || n->kind == N_ASSIGN || n->kind == N_SPLIT_BRANCH) && n->str)
        for (int i = 0; i < k; i++)
            if (!strcmp(n->str, from[i])) { free(n->str); n->str = dql_xstrdup(to[i]); break; }
    for (int i = 0; i < n->nkids; i++) rename_refs(n->kids[i], from, to, k);
}

static int expand_macro(dql_session *s, dql_node *call_stmt, stmt_list *out, int depth)
{
    dql_node *call = call_stmt->kids[0];
    dql_node *outs = call_stmt->kids[1];
    dql_node *m = named_get(s->macros, s->nmacros, call->str);
    if (!m) {
        dql_diag(s->errfp, DQL_DIAG_ERROR, &call->sp, "unknown macro '%s' (DEFINE it first)", call->str);
        return 1;
    }
    if (depth > 32) {
        dql_diag(s->errfp, DQL_DIAG_ERROR, &call->sp, "macros nested too deeply (recursive macro '%s'?)", call->str);
        return 1;
    }
    dql_node *params = m->kids[0], *rets = m->kids[1];
    /* RETURNS void: a macro that defines nothing for its caller */
    int nrets = rets->nkids;
    if (nrets == 1 && !strcmp(rets->kids[0]->str, "void")) nrets = 0;
    if (call->nkids != params->nkids) {
        dql_diag(s->errfp, DQL_DIAG_ERROR, &call->sp, "macro '%s' takes %d argument%s, not %d", call->str,
                 params->nkids, params->nkids == 1 ? "" : "s", call->nkids);
        return 1;
    }
    if (outs->nkids != nrets) {
        if (nrets == 0)
            dql_diag(s->errfp, DQL_DIAG_ERROR, &call->sp, "macro '%s' returns nothing; call it as a statement: %s(...);", call->str, call->str);
        else
            dql_diag(s->errfp, DQL_DIAG_ERROR, &call->sp, "macro '%s' returns %d alias%s; assign %s", call->str,
                     nrets, nrets == 1 ? "" : "es", nrets == 1 ? "it: x = m(...);" : "them: a, b = m(...);");
        return 1;
    }
    dql_params p = {0};
    for (int i = 0; i < params->nkids; i++) {
        dql_node *a = call->kids[i];
        dql_buf v = {0};
        if (a->kind == N_REF) dql_buf_puts(&v, a->str);
        else dql_buf_put(&v, a->sp.src + a->sp.start, a->sp.end - a->sp.start);
        dql_params_set(&p, params->kids[i]->str, dql_buf_cstr(&v));
        dql_buf_free(&v);
    }
    for (int i = 0; i < nrets; i++) dql_params_set(&p, rets->kids[i]->str, outs->kids[i]->str);
    size_t len;
    char *text = dql_preprocess(m->sval, strlen(m->sval), &p, &len);
    dql_params_free(&p);
    keep_text(s, text);
    char fname[256];
    snprintf(fname, sizeof fname, "%s (macro %s)", m->sp.file ? m->sp.file : "-", call->str);
    char *file = keep_name(s, fname);
    int nerr = 0;
    dql_node *body = dql_parse(file, text, len, s->errfp, &nerr);
    if (!body) return nerr ? nerr : 1;
    keep_ast(s, body);
    /* internal aliases get unique names */
    int k = 0;
    char **from = dql_xcalloc((size_t)body->nkids + 1, sizeof(char *)), **to = dql_xcalloc((size_t)body->nkids + 1, sizeof(char *));
    s->macro_serial++;
    for (int i = 0; i < body->nkids; i++) {
        dql_node *st = body->kids[i];
        if (st->kind != N_ASSIGN) continue;
        bool isret = false;
        for (int r = 0; r < outs->nkids; r++) if (!strcmp(outs->kids[r]->str, st->str)) isret = true;
        if (isret) continue;
        from[k] = dql_xstrdup(st->str);
        char nm[256];
        snprintf(nm, sizeof nm, "macro_%s_%d_%s", call->str, s->macro_serial, st->str);
        to[k++] = dql_xstrdup(nm);
    }
    rename_refs(body, from, to, k);
    for (int i = 0; i < k; i++) { free(from[i]); free(to[i]); }
    free(from); free(to);
    return expand(s, body, out, depth + 1);
}

/* Flattens a script: macro calls expanded, IMPORTed files spliced in. */
static int expand(dql_session *s, dql_node *script, stmt_list *out, int depth)
{
    int nerr = 0;
    for (int i = 0; i < script->nkids; i++) {
        dql_node *st = script->kids[i];
        if (st->kind == N_DEFINE_MACRO) {
            named_set(&s->macros, &s->nmacros, st->str, st);
            continue;
        }
        if (st->kind == N_MACRO_CALL_STMT) { nerr += expand_macro(s, st, out, depth); continue; }
        if (st->kind == N_IMPORT) {
            if (depth > 16) { dql_diag(s->errfp, DQL_DIAG_ERROR, &st->sp, "IMPORT nested too deeply"); nerr++; continue; }
            char err[512];
            size_t len;
            char *raw = dql_read_file(st->str, &len, err, sizeof err);
            if (!raw) { dql_diag(s->errfp, DQL_DIAG_ERROR, &st->sp, "%s", err); nerr++; continue; }
            char *text = keep_text(s, dql_preprocess(raw, len, &s->params, &len));
            free(raw);
            int ne = 0;
            dql_node *sub = dql_parse(keep_name(s, st->str), text, len, s->errfp, &ne);
            if (!sub) { nerr += ne ? ne : 1; continue; }
            keep_ast(s, sub);
            nerr += expand(s, sub, out, depth + 1);
            continue;
        }
        sl_add(out, st);
    }
    return nerr;
}

/* ------------------------------------------------------------ statements */

typedef enum { A_NONE, A_DUMP, A_STORE, A_DESCRIBE, A_EXPLAIN, A_SQL, A_SHOWSET, A_XSTMT } action_kind;

typedef struct action {
    action_kind kind;
    dql_node *stmt;
    dql_plan *plan;
    const dql_storer_def *storer;
    dql_args args;
    dql_args with;                /* STORE ... WITH (k = v, ...) */
    dql_arena argarena;
    char *target;
    bool overwrite;
    char *describe_name;
    const dql_schema *store_schema;   /* A_STORE: the schema to declare, when not the plan's (shard.c) */
    int part;                     /* A_STORE in a task of a sharded run: its part (open_part), else -1 */
    int assemble;                 /* A_STORE in the merge: made of this many parts (assemble), else 0 */
    const char *run;              /* the sharded run the parts belong to */
    const dql_xstmt_def *xsd;     /* A_XSTMT */
    dql_xstmt_plan xsp;
    void *xspstate;
} action;

static const dql_storer_def *default_storer(const char *target)
{
    const char *slash = strrchr(target, '/');
    const char *base = slash ? slash + 1 : target;
    if (!strchr(base, '.') && !slash) return &dql_storer_sqlite;
    size_t n = strlen(base);
    char ext[16] = "";
    const char *end = base + n;
    if (n > 3 && !strcmp(end - 3, ".gz")) end -= 3;
    const char *dot = NULL;
    for (const char *p = base; p < end; p++) if (*p == '.') dot = p;
    if (dot && (size_t)(end - dot - 1) < sizeof ext) { memcpy(ext, dot + 1, (size_t)(end - dot - 1)); ext[end - dot - 1] = 0; }
    for (char *p = ext; *p; p++) if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
    if (!strcmp(ext, "csv")) return &dql_storer_csv;
    if (!strcmp(ext, "tsv") || !strcmp(ext, "tab")) return &dql_storer_tsv;
    if (!strcmp(ext, "jsonl") || !strcmp(ext, "ndjson") || !strcmp(ext, "json")) return &dql_storer_jsonl;
    if (!strcmp(ext, "txt")) return &dql_storer_lines;
    return NULL;
}

static void action_free(action *a)
{
    if (a->xsd && a->xsd->plan_free && a->xspstate) a->xsd->plan_free(a->xspstate);
    dql_expr_free(a->xsp.by);
    dql_expr_free(a->xsp.label);
    dql_expr_free(a->xsp.group);
    dql_plan_unref(a->plan);
    free(a->args.a);
    free(a->with.a);
    dql_arena_free(&a->argarena);
    free(a->target);
    free(a->describe_name);
}

static void set_alias(dql_session *s, const char *name, dql_plan *p)
{
    dql_plan *old = named_set(&s->aliases, &s->naliases, name, p);
    if (old) dql_plan_unref(old);
}

/* A SPLIT branch: FILTER by its condition; OTHERWISE: rows no condition accepts. */
static dql_plan *split_branch(dql_planner *pl, dql_plan *in, dql_node *br, dql_node *split)
{
    dql_plan *p = dql_plan_new(P_FILTER, br->sp);
    p->in = dql_xcalloc(1, sizeof(dql_plan *));
    p->in[0] = dql_plan_ref(in);
    p->nin = 1;
    p->schema = dql_schema_copy(in->schema);
    p->alias = dql_xstrdup(br->str);
    dql_scope sc = { in->schema, NULL, pl->sess, pl->errfp, 0, true };
    if (br->kids[0]) {
        p->cond = dql_expr_compile(&sc, br->kids[0]);
    } else {
        dql_expr **conds = dql_xcalloc((size_t)split->nkids, sizeof(dql_expr *));
        int n = 0;
        for (int i = 1; i < split->nkids; i++) {
            if (!split->kids[i]->kids[0]) continue;
            dql_expr *c = dql_expr_compile(&sc, split->kids[i]->kids[0]);
            if (c) conds[n++] = c;
        }
        p->cond = dql_expr_none_true(conds, n);
        free(conds);
    }
    pl->nerr += sc.nerr;
    if (!p->cond || sc.nerr) { dql_plan_unref(p); return NULL; }
    if (p->cond->type != DQL_T_BOOL && p->cond->type != DQL_T_NULL && p->cond->type != DQL_T_ANY) {
        dql_diag(pl->errfp, DQL_DIAG_ERROR, &br->sp, "SPLIT needs boolean conditions, not %s", dql_type_name(p->cond->type));
        pl->nerr++;
        dql_plan_unref(p);
        return NULL;
    }
    return p;
}

/* Checks one statement; appends what must run to acts. */
static void check_stmt(dql_session *s, dql_planner *pl, dql_node *st, action **acts, int *nacts)
{
    action a;
    memset(&a, 0, sizeof a);
    a.stmt = st;
    a.part = -1;
    dql_arena_init(&a.argarena);
    char err[512] = "";
    switch (st->kind) {
    case N_ASSIGN: {
        dql_plan *p = dql_plan_rel(pl, st->kids[0], st->str);
        if (p) {
            if (!p->alias) p->alias = dql_xstrdup(st->str);
            set_alias(s, st->str, p);
        } else {
            /* later uses of the alias report nothing more */
            named_set(&s->failed, &s->nfailed, st->str, NULL);
            dql_plan *old = named_set(&s->aliases, &s->naliases, st->str, NULL);
            if (old) dql_plan_unref(old);
        }
        return;
    }
    case N_DUMP: case N_EXPLAIN:
        a.kind = st->kind == N_DUMP ? A_DUMP : A_EXPLAIN;
        a.plan = dql_plan_rel(pl, st->kids[0], NULL);
        if (!a.plan) return;
        break;
    case N_DESCRIBE:
        a.kind = A_DESCRIBE;
        if (st->kids[0]->kind == N_NAME) {
            dql_diag(pl->errfp, DQL_DIAG_ERROR, &st->sp, "DESCRIBE of a nested alias is not supported; DESCRIBE the relation");
            pl->nerr++;
            return;
        }
        a.plan = dql_plan_rel(pl, st->kids[0], NULL);
        if (!a.plan) return;
        a.describe_name = dql_xstrdup(st->kids[0]->kind == N_REF ? st->kids[0]->str : "_");
        break;
    case N_STORE: {
        a.kind = A_STORE;
        a.plan = dql_plan_rel(pl, st->kids[0], NULL);
        if (!a.plan) return;
        a.target = dql_xstrdup(st->str);
        bool ow = st->ival != 0;
        if (!ow) ow = dql_session_flag(s, "overwrite");
        a.overwrite = ow;
        dql_node *fn = st->kids[1];
        if (fn) {
            a.storer = dql_storer_find(fn->str);
            if (!a.storer) {
                dql_buf b = {0};
                for (size_t i = 0; dql_storer_at(i); i++) dql_buf_printf(&b, "%s%s", i ? ", " : "", dql_storer_at(i)->name);
                dql_diag(pl->errfp, DQL_DIAG_ERROR, &fn->sp, "unknown storer '%s' (storers: %s)", fn->str, dql_buf_cstr(&b));
                dql_buf_free(&b);
                pl->nerr++;
                action_free(&a);
                return;
            }
            if (!dql_plan_args(pl, fn, &a.args, &a.argarena)) { action_free(&a); return; }
        } else {
            a.storer = default_storer(a.target);
            if (!a.storer) {
                dql_diag(pl->errfp, DQL_DIAG_ERROR, &st->sp, "cannot tell the format of '%s' from its name: add USING csv(), tsv(), jsonl() or lines(), or give a table name", a.target);
                pl->nerr++;
                action_free(&a);
                return;
            }
        }
        if (st->nkids > 2 && st->kids[2]) {
            if (a.storer != &dql_storer_sqlite) {
                dql_diag(pl->errfp, DQL_DIAG_ERROR, &st->kids[2]->sp, "only a STORE into a table takes WITH (resume = true, [key = 'sha256'])");
                pl->nerr++;
                action_free(&a);
                return;
            }
            if (!dql_plan_args(pl, st->kids[2], &a.with, &a.argarena)) { action_free(&a); return; }
        }
        if (dql_session_pending(s, a.target) && !a.overwrite) {
            dql_diag(pl->errfp, DQL_DIAG_ERROR, &st->sp, "'%s' is already written by an earlier STORE of this script (use OVERWRITE)", a.target);
            pl->nerr++;
            action_free(&a);
            return;
        }
        dql_store_ctx sc = { a.target, &a.args, a.plan->schema, a.overwrite, s, &a.with };
        if (!dql_session_pending(s, a.target) && a.storer->plan(&sc, err, sizeof err) != DQL_OK) {
            dql_diag(pl->errfp, DQL_DIAG_ERROR, &st->sp, "%s", err[0] ? err : "cannot store there");
            pl->nerr++;
            action_free(&a);
            return;
        }
        dql_schema *old = named_set(&s->pending, &s->npending, a.target, dql_schema_copy(a.plan->schema));
        if (old) dql_schema_free(old);
        break;
    }
    case N_SET: {
        /* SET; and SET key; print when the script runs, in order */
        if (!st->str || !st->kids || st->nkids == 0 || !st->kids[0]) { a.kind = A_SHOWSET; break; }
        dql_node *v = st->kids[0];
        char buf[64];
        const char *val = buf;
        if (v->kind == N_STRING) val = v->str;
        else if (v->kind == N_INT || v->kind == N_LONG) snprintf(buf, sizeof buf, "%lld", (long long)v->ival);
        else if (v->kind == N_DOUBLE) snprintf(buf, sizeof buf, "%g", v->dval);
        else if (v->kind == N_BOOL) snprintf(buf, sizeof buf, "%s", v->ival ? "true" : "false");
        if (dql_session_set(s, st->str, val, err, sizeof err) != DQL_OK) {
            dql_diag(pl->errfp, DQL_DIAG_ERROR, &st->sp, "%s", err);
            pl->nerr++;
        }
        return;
    }
    case N_REGISTER: {
        const char *path = st->str;
        size_t pl_ = strlen(path);
        if (pl_ < 4 || strcmp(path + pl_ - 4, ".lua") != 0) {
            dql_diag(pl->errfp, DQL_DIAG_ERROR, &st->sp, "REGISTER takes a .lua file");
            pl->nerr++;
            return;
        }
        char nsbuf[256];
        const char *ns;
        if (st->nkids && st->kids[0]) ns = st->kids[0]->str;
        else {
            const char *b = strrchr(path, '/');
            b = b ? b + 1 : path;
            snprintf(nsbuf, sizeof nsbuf, "%.*s", (int)(strlen(b) - 4), b);
            ns = nsbuf;
        }
        lua_State *L = dql_session_lua(s);
        if (dql_lua_register(L, path, ns, err, sizeof err) != DQL_OK) {
            dql_diag(pl->errfp, DQL_DIAG_ERROR, &st->sp, "%s", err);
            pl->nerr++;
        }
        return;
    }
    case N_DEFINE_FN: {
        dql_node *d = st->kids[0];
        if (d->kind == N_FUNC && !dql_func_find(d->str) && !strchr(d->str, '.')) {
            dql_diag(pl->errfp, DQL_DIAG_ERROR, &d->sp, "unknown function '%s'", d->str);
            pl->nerr++;
            return;
        }
        named_set(&s->defines, &s->ndefines, st->str, d);
        return;
    }
    case N_SPLIT: {
        dql_plan *in = dql_plan_rel(pl, st->kids[0], NULL);
        if (!in) return;
        for (int i = 1; i < st->nkids; i++) {
            dql_plan *p = split_branch(pl, in, st->kids[i], st);
            if (p) set_alias(s, st->kids[i]->str, p);
        }
        dql_plan_unref(in);
        return;
    }
    case N_XSTMT: {
        a.kind = A_XSTMT;
        a.xsd = dql_xstmt_find(st->str);
        if (!a.xsd) {
            dql_diag(pl->errfp, DQL_DIAG_ERROR, &st->sp, "%s is not available in this build", st->str);
            pl->nerr++;
            return;
        }
        a.plan = dql_plan_rel(pl, st->kids[0], NULL);
        if (!a.plan) return;
        dql_scope sc = { a.plan->schema, NULL, s, pl->errfp, 0, true };
        a.xsp.verb = a.xsd->name;
        a.xsp.target = st->sval;
        a.xsp.in = a.plan->schema;
        a.xsp.sess = s;
        a.xsp.by = dql_expr_compile(&sc, st->kids[1]);
        a.xsp.label = dql_expr_compile(&sc, st->kids[2]);
        if (st->kids[3]) a.xsp.group = dql_expr_compile(&sc, st->kids[3]);
        pl->nerr += sc.nerr;
        if (sc.nerr || !a.xsp.by || !a.xsp.label || (st->kids[3] && !a.xsp.group)) { action_free(&a); return; }
        if (st->kids[4] && !dql_plan_args(pl, st->kids[4], &a.args, &a.argarena)) { action_free(&a); return; }
        a.xsp.with = &a.args;
        if (a.xsd->plan(&a.xsp, &a.xspstate, err, sizeof err) != DQL_OK) {
            dql_diag(pl->errfp, DQL_DIAG_ERROR, &st->sp, "%s: %s", a.xsd->name, err[0] ? err : "cannot plan");
            pl->nerr++;
            action_free(&a);
            return;
        }
        break;
    }
    case N_SQL_STMT: {
        dql_node tmp = *st;
        tmp.kind = N_SQL;
        a.kind = A_SQL;
        a.plan = dql_plan_rel(pl, &tmp, NULL);
        if (!a.plan) return;
        break;
    }
    default:
        return;
    }
    if (a.plan) dql_plan_need(a.plan, NULL);
    *acts = dql_xrealloc(*acts, sizeof(action) * (size_t)(*nacts + 1));
    (*acts)[(*nacts)++] = a;
}

typedef struct print_sink { dql_printer *pr; uint64_t rows; dql_exec *ex; } print_sink;

static dql_status print_batch(void *ud, const dql_batch *b)
{
    print_sink *ps = ud;
    for (int r = 0; r < b->n; r++) dql_printer_row(ps->pr, dql_batch_row((dql_batch *)b, r));
    dql_printer_flush(ps->pr);
    ps->rows += (uint64_t)b->n;
    ps->ex->rows_out = ps->rows;
    return DQL_OK;
}

typedef struct store_sink { const dql_storer_def *sd; void *st; uint64_t rows; dql_exec *ex; } store_sink;

static dql_status store_batch(void *ud, const dql_batch *b)
{
    store_sink *ss = ud;
    ss->rows += (uint64_t)b->n;
    ss->ex->rows_out = ss->rows;
    return ss->sd->write(ss->st, b);
}

/* The batch source a verb statement reads its relation from. */
static dql_status xstmt_rows(void *ud, const dql_batch **b) { return dql_engine_next(ud, b); }

/* Runs one checked action. */
static dql_status run_action(dql_session *s, action *a)
{
    dql_exec ex;
    exec_init(s, &ex);
    dql_status st = DQL_OK;
    uint64_t rows_out = 0;
    if (s->hook) s->hook(s->hook_ud, false, DQL_OK);
    switch (a->kind) {
    case A_DUMP: case A_SQL: {
        if (a->plan != s->last_plan) {
            dql_plan_unref(s->last_plan);
            s->last_plan = dql_plan_ref(a->plan);
            s->last_stmt = a->stmt;
        }
        dql_printer *pr = dql_printer_new(&s->out, a->plan->schema);
        print_sink ps = { pr, 0, &ex };
        st = dql_engine_run(a->plan, &ex, print_batch, &ps);
        rows_out = ps.rows;
        /* an interrupted or failed DUMP prints no table frame (rows already
         * streamed in csv-like modes stay printed) */
        if (st == DQL_OK) dql_printer_end(pr);
        dql_printer_free(pr);
        fflush(s->out.fp);
        break;
    }
    case A_STORE: {
        dql_store_ctx sc = { a->target, &a->args, a->store_schema ? a->store_schema : a->plan->schema, a->overwrite, s, &a->with };
        store_sink ss = { a->storer, NULL, 0, &ex };
        if (a->assemble) {
            st = a->storer->assemble(&sc, a->assemble, a->run, &ex);
            break;
        }
        st = a->part >= 0 && a->storer->open_part ? a->storer->open_part(&sc, a->part, a->run, &ex, &ss.st)
                                                  : a->storer->open(&sc, &ex, &ss.st);
        if (st == DQL_OK) {
            st = dql_engine_run(a->plan, &ex, store_batch, &ss);
            rows_out = ss.rows;
            if (st == DQL_OK) st = a->storer->commit(ss.st);
            else a->storer->abort(ss.st);
        }
        break;
    }
    case A_DESCRIBE: {
        dql_buf b = {0};
        dql_schema_format(&b, a->plan->schema);
        fprintf(s->out.fp, "%s: {%s}\n", a->describe_name, dql_buf_cstr(&b));
        dql_buf_free(&b);
        break;
    }
    case A_EXPLAIN: {
        dql_buf b = {0};
        dql_plan_explain(&b, a->plan, 0);
        fputs(dql_buf_cstr(&b), s->out.fp);
        dql_buf_free(&b);
        break;
    }
    case A_XSTMT: {
        dql_op *root = NULL;
        st = dql_engine_open(a->plan, &ex, &root);
        if (st == DQL_OK) st = a->xsd->run(&a->xsp, a->xspstate, &ex, xstmt_rows, root, s->out.fp);
        if (root) dql_engine_close(root);
        if (st == DQL_EOF) st = DQL_OK;
        fflush(s->out.fp);
        break;
    }
    case A_SHOWSET:
        if (a->stmt->str) {
            const char *v = dql_session_get(s, a->stmt->str);
            fprintf(s->out.fp, "%s = %s\n", a->stmt->str, v ? v : "(not set)");
        } else
            for (int i = 0; i < s->nset; i++) fprintf(s->out.fp, "%s = %s\n", s->skey[i], s->sval[i]);
        break;
    default: break;
    }
    if (st == DQL_ERR_INTERRUPT || (st != DQL_OK && dql_exec_interrupted(&ex))) {
        fprintf(s->errfp, "interrupted\n");
        st = DQL_ERR_INTERRUPT;
    } else if (st != DQL_OK) {
        const dql_plan *fp = dql_engine_failed_plan(&ex);
        const dql_span *sp = fp ? &fp->sp : &a->stmt->sp;
        const char *what = fp ? (fp->kind == P_HASHAGG && !fp->distinct ? "GROUP" : dql_plan_label(fp))
                              : (a->kind == A_STORE ? "STORE" : a->kind == A_XSTMT ? a->xsd->name : "DUMP");
        if (a->kind == A_STORE && !fp) sp = &a->stmt->sp;
        if (fp && fp->alias) dql_diag(s->errfp, DQL_DIAG_ERROR, sp, "%s %s: %s", what, fp->alias, ex.errmsg ? ex.errmsg : dql_status_str(st));
        else dql_diag(s->errfp, DQL_DIAG_ERROR, sp, "%s: %s", what, ex.errmsg ? ex.errmsg : dql_status_str(st));
    }
    print_warnings(s, &ex, &a->stmt->sp);
    if (dql_session_flag(s, "stats") && st == DQL_OK && (a->kind == A_DUMP || a->kind == A_STORE || a->kind == A_SQL))
        fprintf(s->errfp, "%s:%u:%u: note: %llu rows; %s\n", a->stmt->sp.file, a->stmt->sp.line, a->stmt->sp.col,
                (unsigned long long)rows_out, ex.spill_runs ? "sorts spilled to disk" : "no spill to disk");
    exec_done(&ex);
    if (s->hook) s->hook(s->hook_ud, true, st);
    return st;
}

dql_status dql_session_exec(dql_session *s, const char *file, const char *text, int flags)
{
    size_t len;
    s->checking = (flags & DQL_RUN_CHECK_ONLY) != 0;
    char *pre = keep_text(s, dql_preprocess(text, strlen(text), &s->params, &len));
    const char *fname = keep_name(s, file ? file : "-");
    int nerr = 0;
    dql_node *script = dql_parse(fname, pre, len, s->errfp, &nerr);
    if (!script) return DQL_ERR_PARSE;
    keep_ast(s, script);
    stmt_list sl = {0};
    nerr = expand(s, script, &sl, 0);
    dql_planner pl = { s, s->errfp, nerr };
    action *acts = NULL;
    int nacts = 0;
    for (int i = 0; i < sl.n; i++) check_stmt(s, &pl, sl.v[i], &acts, &nacts);
    free(sl.v);
    dql_status result = DQL_OK;
    if (pl.nerr) result = DQL_ERR_CHECK;
    else if (!(flags & DQL_RUN_CHECK_ONLY)) {
        /* a sharded run: the outputs' plans are cut (shard.h) */
        int seg = ++s->exec_serial;
        s->script_hash = 0xcbf29ce484222325ull;
        for (size_t i = 0; i < len; i++) s->script_hash = (s->script_hash ^ (unsigned char)pre[i]) * 0x100000001b3ull;
        dql_plan **roots = dql_xcalloc((size_t)nacts + 1, sizeof(dql_plan *)), **expl = dql_xcalloc((size_t)nacts + 1, sizeof(dql_plan *));
        dql_shard_out *outs = dql_xcalloc((size_t)nacts + 1, sizeof(dql_shard_out));
        int *root_act = dql_xcalloc((size_t)nacts + 1, sizeof(int));
        int nroots = 0, nexpl = 0;
        for (int i = 0; i < nacts; i++) {
            action *a = &acts[i];
            if (a->kind == A_DUMP || a->kind == A_STORE || a->kind == A_XSTMT) {
                if (a->kind == A_STORE) {
                    outs[nroots].sd = a->storer;
                    outs[nroots].sc = (dql_store_ctx){ a->target, &a->args, a->plan->schema, a->overwrite, s, &a->with };
                }
                root_act[nroots] = i;
                roots[nroots++] = a->plan;
            } else if (a->kind == A_EXPLAIN) {
                expl[nexpl++] = a->plan;
            }
        }
        dql_shard *sh = NULL;
        if (dql_shard_is_task()) {
            /* a task of a sharded run computes its part and runs no statement */
            s->intr = 0;
            result = dql_shard_task(s, seg, roots, outs, nroots);
        } else {
            /* when the tasks fail, no statement runs */
            result = dql_shard_begin(s, seg, roots, outs, nroots, expl, nexpl, &sh);
            for (int r = 0; r < nroots; r++)
                if (outs[r].assembled) {
                    /* the tasks wrote the parts: the STORE assembles them */
                    acts[root_act[r]].assemble = outs[r].nparts;
                    acts[root_act[r]].run = outs[r].run;
                }
            for (int i = 0; i < nacts && !(i == 0 && result != DQL_OK); i++) {
                s->intr = 0;
                dql_status st = run_action(s, &acts[i]);
                if (st != DQL_OK && result == DQL_OK) result = st;
                if (st == DQL_ERR_INTERRUPT) break;
                if (st != DQL_OK && (flags & DQL_RUN_BAIL)) break;
            }
            dql_shard_end(sh, result);
        }
        free(roots);
        free(expl);
        free(outs);
        free(root_act);
    }
    for (int i = 0; i < nacts; i++) action_free(&acts[i]);
    free(acts);
    for (int i = 0; i < s->npending; i++) { free(s->pending[i].name); dql_schema_free(s->pending[i].v); }
    s->npending = 0;
    clear_failed(s);
    return result;
}

dql_status dql_session_store_plan(dql_session *s, dql_plan *p, const dql_schema *as, const dql_storer_def *sd,
                                  const char *target, const dql_args *args, int part, const char *run,
                                  const dql_span *sp)
{
    dql_node stmt;
    memset(&stmt, 0, sizeof stmt);
    stmt.sp = *sp;
    action a;
    memset(&a, 0, sizeof a);
    a.kind = A_STORE;
    a.stmt = &stmt;
    a.plan = p;
    a.storer = sd;
    a.args = *args;
    a.target = (char *)target;
    a.overwrite = true;
    a.store_schema = as;
    a.part = part;
    a.run = run;
    dql_store_ctx sc = { target, args, as ? as : p->schema, true, s, NULL };
    char err[512] = "";
    if (sd->plan(&sc, err, sizeof err) != DQL_OK) {
        dql_diag(s->errfp, DQL_DIAG_ERROR, sp, "%s", err[0] ? err : "cannot store there");
        return DQL_ERR_IO;
    }
    return run_action(s, &a);
}

uint64_t dql_session_script_hash(dql_session *s) { return s->script_hash; }

/* ------------------------------------------------------------ cursors */

struct dql_cursor {
    dql_exec ex;
    dql_op *root;
    const dql_batch *b;
    int pos;
    dql_plan *plan;
};

dql_status dql_session_cursor(dql_session *s, const char *alias, dql_cursor **out, char *err, size_t errlen)
{
    dql_plan *p = dql_session_alias(s, alias);
    if (!p) { snprintf(err, errlen, "unknown alias '%s'", alias); return DQL_ERR_CHECK; }
    dql_cursor *c = dql_xcalloc(1, sizeof *c);
    exec_init(s, &c->ex);
    c->plan = dql_plan_ref(p);
    dql_plan_need(p, NULL);
    dql_status st = dql_engine_open(p, &c->ex, &c->root);
    if (st != DQL_OK) {
        snprintf(err, errlen, "%s", c->ex.errmsg ? c->ex.errmsg : dql_status_str(st));
        dql_cursor_close(c);
        return st;
    }
    *out = c;
    return DQL_OK;
}

const dql_schema *dql_cursor_schema(dql_cursor *c) { return c->plan->schema; }

dql_status dql_cursor_next(dql_cursor *c, const dql_value **row)
{
    while (!c->b || c->pos >= c->b->n) {
        dql_status st = dql_engine_next(c->root, &c->b);
        if (st != DQL_OK) return st;
        c->pos = 0;
    }
    *row = dql_batch_row((dql_batch *)c->b, c->pos++);
    return DQL_OK;
}

void dql_cursor_close(dql_cursor *c)
{
    if (!c) return;
    if (c->root) dql_engine_close(c->root);
    dql_plan_unref(c->plan);
    exec_done(&c->ex);
    free(c);
}

/* ------------------------------------------------------------ for the shell */

void dql_session_set_run_hook(dql_session *s, dql_run_hook fn, void *ud)
{
    s->hook = fn;
    s->hook_ud = ud;
}

dql_status dql_session_rerun_last(dql_session *s)
{
    if (!s->last_plan) return DQL_EOF;
    action a;
    memset(&a, 0, sizeof a);
    a.kind = A_DUMP;
    a.stmt = s->last_stmt;
    a.plan = dql_plan_ref(s->last_plan);
    dql_arena_init(&a.argarena);
    int64_t maxrows = s->out.maxrows;
    s->out.maxrows = 0;
    s->intr = 0;
    dql_status st = run_action(s, &a);
    s->out.maxrows = maxrows;
    action_free(&a);
    return st;
}

bool dql_session_alias_at(dql_session *s, size_t i, const char **name, const dql_schema **schema)
{
    if (i >= (size_t)s->naliases) return false;
    dql_plan *p = s->aliases[i].v;
    *name = s->aliases[i].name;
    *schema = p ? p->schema : NULL;
    return true;
}

bool dql_session_unset_alias(dql_session *s, const char *name)
{
    for (int i = 0; i < s->naliases; i++) {
        if (strcmp(s->aliases[i].name, name) != 0) continue;
        free(s->aliases[i].name);
        dql_plan_unref(s->aliases[i].v);
        memmove(&s->aliases[i], &s->aliases[i + 1], sizeof(named) * (size_t)(s->naliases - i - 1));
        s->naliases--;
        return true;
    }
    return false;
}
