/* plan.c — the planner: turns relation expressions of the syntax tree into
 * checked logical plans (schemas computed, expressions compiled, loaders
 * asked whether their input exists), fuses GROUP + algebraic aggregates
 * into a hash aggregation, and prints plans for EXPLAIN. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "plan.h"
#include "files.h"
#include "diag.h"
#include "session.h"
#include "workspace.h"
#include "parse.h"

dql_plan *dql_plan_new(dql_pk kind, dql_span sp)
{
    dql_plan *p = dql_xcalloc(1, sizeof *p);
    p->kind = kind;
    p->refs = 1;
    p->sp = sp;
    dql_arena_init(&p->argarena);
    return p;
}

dql_plan *dql_plan_ref(dql_plan *p) { if (p) p->refs++; return p; }

void dql_plan_unref(dql_plan *p)
{
    if (!p || --p->refs > 0) return;
    for (int i = 0; i < p->nin; i++) dql_plan_unref(p->in[i]);
    free(p->in);
    if (p->schema) dql_schema_free(p->schema);
    free(p->alias);
    free(p->path);
    free(p->loader_name);
    free(p->needed);
    dql_arena_free(&p->argarena);
    free(p->args.a);
    if (p->declared) dql_schema_free(p->declared);
    for (int i = 0; i < p->nlocals; i++) dql_expr_free(p->locals[i]);
    free(p->locals);
    for (int i = 0; i < p->ngen; i++) { dql_expr_free(p->gen[i].e); free(p->gen[i].casts); }
    free(p->gen);
    dql_expr_free(p->cond);
    if (p->keys) {
        int nk = p->kind == P_HASHAGG ? 1 : p->nin;
        if (!p->keys_borrowed)
            for (int i = 0; i < nk; i++) {
                if (!p->keys[i]) continue;
                for (int k = 0; k < p->nkeys; k++) dql_expr_free(p->keys[i][k]);
                free(p->keys[i]);
            }
        else free(p->keys[0]);
        free(p->keys);
    }
    dql_plan_unref(p->keysrc);
    free(p->inner);
    for (int a = 0; a < p->naggs; a++) dql_expr_free(p->aggs[a].arg);
    free(p->aggs);
    for (int i = 0; i < p->nokeys; i++) dql_expr_free(p->okeys[i]);
    free(p->okeys);
    free(p->desc);
    if (p->colmap) { for (int i = 0; i < p->nin; i++) free(p->colmap[i]); free(p->colmap); }
    free(p->command);
    free(p->cut_note);
    dql_plan_unref(p->subst);
    if (p->xop) {
        if (p->xop->plan_free && p->xpstate) p->xop->plan_free(p->xpstate);
        dql_expr_free(p->xplan.by);
        for (int i = 0; i < p->xplan.ntypes; i++) free(p->xplan.types[i]);
        free(p->xplan.types);
    }
    free(p);
}

const char *dql_plan_kind_name(dql_pk k)
{
    static const char *n[] = { "LOAD", "FOREACH", "FILTER", "GROUP", "HASHAGG", "JOIN", "ORDER", "LIMIT",
                               "UNION", "SAMPLE", "CROSS", "STREAM", "VERB" };
    return n[k];
}

const char *dql_plan_label(const dql_plan *p)
{
    if (p->kind == P_HASHAGG) return p->distinct ? "DISTINCT" : "HASHAGG";
    if (p->kind == P_XOP) return p->xop->name;
    return dql_plan_kind_name(p->kind);
}

static void perr(dql_planner *pl, const dql_span *sp, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void perr(dql_planner *pl, const dql_span *sp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    dql_diagv(pl->errfp, DQL_DIAG_ERROR, sp, fmt, ap);
    va_end(ap);
    pl->nerr++;
}

static void add_input(dql_plan *p, dql_plan *in)
{
    p->in = dql_xrealloc(p->in, sizeof(dql_plan *) * (size_t)(p->nin + 1));
    p->in[p->nin++] = in;
}

static dql_expr *compile(dql_planner *pl, const dql_schema *s, const dql_node *n)
{
    dql_scope sc = { s, NULL, pl->sess, pl->errfp, 0, true };
    dql_expr *e = dql_expr_compile(&sc, n);
    pl->nerr += sc.nerr;
    if (!e && sc.nerr == 0) pl->nerr++;
    return e;
}

/* ------------------------------------------------------------ arguments */

static bool literal_value(dql_planner *pl, const dql_node *n, dql_arena *a, dql_value *out)
{
    switch (n->kind) {
    case N_STRING: *out = dql_chararray_copy(a, n->str, strlen(n->str)); return true;
    case N_INT: case N_LONG: *out = dql_long(n->ival); return true;
    case N_DOUBLE: *out = dql_double(n->dval); return true;
    case N_BOOL: *out = dql_bool(n->ival != 0); return true;
    case N_NULL: *out = dql_null(); return true;
    case N_TUPLE: {
        dql_tuple *t = dql_tuple_new(a, (uint32_t)n->nkids);
        for (int i = 0; i < n->nkids; i++)
            if (!literal_value(pl, n->kids[i], a, &t->v[i])) return false;
        dql_value v = {0}; v.type = DQL_T_TUPLE; v.u.t = t; *out = v;
        return true;
    }
    default:
        perr(pl, &n->sp, "arguments must be literals");
        return false;
    }
}

bool dql_plan_args(dql_planner *pl, const dql_node *fn, dql_args *args, dql_arena *a)
{
    args->n = 0;
    args->a = NULL;
    if (!fn || fn->nkids == 0) return true;
    args->a = dql_xcalloc((size_t)fn->nkids, sizeof(dql_arg));
    for (int i = 0; i < fn->nkids; i++) {
        const dql_node *arg = fn->kids[i];
        args->a[i].name = arg->str ? dql_arena_strndup(a, arg->str, strlen(arg->str)) : NULL;
        if (!literal_value(pl, arg->kids[0], a, &args->a[i].v)) return false;
        args->n++;
    }
    return true;
}

/* ------------------------------------------------------------ LOAD */

static const char *ext_of(const char *path, char *buf, size_t n)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t len = strlen(base);
    if (len > 3 && strcmp(base + len - 3, ".gz") == 0) len -= 3;
    const char *dot = NULL;
    for (size_t i = 0; i < len; i++) if (base[i] == '.') dot = base + i;
    if (!dot) return "";
    size_t el = (size_t)(base + len - dot - 1);
    if (el >= n) el = n - 1;
    for (size_t i = 0; i < el; i++) buf[i] = (char)((dot[1 + i] >= 'A' && dot[1 + i] <= 'Z') ? dot[1 + i] + 32 : dot[1 + i]);
    buf[el] = 0;
    return buf;
}

/* The loader for a LOAD without USING: a workspace table when the name is
 * one, else by extension (csv, tsv, jsonl, txt/lines), else tsv. */
static const dql_loader_def *default_loader(dql_planner *pl, const char *path)
{
    bool looks_table = !strchr(path, '/') && !strchr(path, '.') && strcmp(path, "-") != 0;
    if (looks_table) {
        if (dql_session_pending(pl->sess, path)) return &dql_loader_sqlite;
        if (access(path, F_OK) != 0) return &dql_loader_sqlite;
    }
    char eb[16];
    const char *ext = ext_of(path, eb, sizeof eb);
    if (!strcmp(ext, "csv")) return &dql_loader_csv;
    if (!strcmp(ext, "jsonl") || !strcmp(ext, "ndjson") || !strcmp(ext, "json")) return &dql_loader_jsonl;
    if (!strcmp(ext, "txt") || !strcmp(ext, "list") || !strcmp(ext, "lst")) return &dql_loader_lines;
    return &dql_loader_tsv;
}

static dql_plan *plan_load(dql_planner *pl, const dql_node *n, const char *path, const dql_node *fn, const dql_loader_def *forced)
{
    dql_plan *p = dql_plan_new(P_LOAD, n->sp);
    p->path = dql_xstrdup(path);
    const dql_loader_def *ld = forced;
    if (!ld && fn) {
        ld = dql_loader_find(fn->str);
        if (!ld) {
            dql_buf b = {0};
            for (size_t i = 0; dql_loader_at(i); i++) dql_buf_printf(&b, "%s%s", i ? ", " : "", dql_loader_at(i)->name);
            perr(pl, &fn->sp, "unknown loader '%s' (loaders: %s)", fn->str, dql_buf_cstr(&b));
            dql_buf_free(&b);
            dql_plan_unref(p);
            return NULL;
        }
    }
    if (!ld) ld = default_loader(pl, path);
    p->loader = ld;
    if (!forced && !dql_plan_args(pl, fn, &p->args, &p->argarena)) { dql_plan_unref(p); return NULL; }
    if (n->schema) p->declared = dql_schema_copy(n->schema);
    const dql_schema *pend = (ld == &dql_loader_sqlite && !fn) ? dql_session_pending(pl->sess, path) : NULL;
    if (!pend && !forced) pend = dql_session_pending(pl->sess, path);
    if (pend) {
        /* the input is written by an earlier STORE of this script: its schema
         * is what that STORE writes (lines() reads one text field) */
        if (p->declared) p->schema = dql_schema_copy(p->declared);
        else if (ld == &dql_loader_lines) {
            p->schema = dql_schema_new(0);
            dql_schema_add(p->schema, "line", DQL_T_CHARARRAY, NULL);
        } else p->schema = dql_schema_copy(pend);
        return p;
    }
    dql_load_ctx lc = { p->path, &p->args, p->declared, pl->sess, NULL, 0, 1, NULL };
    char err[512] = "";
    dql_schema *s = NULL;
    if (forced) dql_session_shadow_begin(pl->sess);
    dql_status lst = ld->plan(&lc, &s, err, sizeof err);
    if (forced) dql_session_shadow_end(pl->sess);
    if (lst != DQL_OK || !s) {
        perr(pl, &n->sp, "%s", err[0] ? err : "cannot load");
        dql_plan_unref(p);
        return NULL;
    }
    p->schema = s;
    return p;
}

/* ------------------------------------------------------------ FOREACH */

/* Flattened column i of g must be cast to t (declared in AS). */
static void gen_cast(dql_gen *g, int i, dql_type t)
{
    if (t == DQL_T_TUPLE || t == DQL_T_BAG || t == DQL_T_MAP) return;
    if (!g->casts) {
        g->casts = dql_xmalloc(sizeof(dql_type) * (size_t)(g->ncols + 1));
        for (int k = 0; k <= g->ncols; k++) g->casts[k] = DQL_T__COUNT;
    }
    g->casts[i] = t;
}

/* Appends the output fields of one generate item. */
static bool gen_fields(dql_planner *pl, dql_schema *out, dql_gen *g, const dql_node *item, const dql_expr *e)
{
    const dql_schema *as = item->schema;
    if (g->flatten && (e->type == DQL_T_BAG || e->type == DQL_T_TUPLE) && e->sub && e->sub->n > 0) {
        g->ncols = e->sub->n;
        if (as && as->n != g->ncols) {
            perr(pl, &item->sp, "FLATTEN gives %d field%s but AS names %d", g->ncols, g->ncols == 1 ? "" : "s", as->n);
            return false;
        }
        for (int i = 0; i < g->ncols; i++) {
            const dql_field *f = &e->sub->f[i];
            const char *name = as ? as->f[i].name : f->name;
            dql_type t = as && as->f[i].type != DQL_T_BYTEARRAY ? as->f[i].type : f->type;
            if (t != f->type) gen_cast(g, i, t);
            dql_schema_add(out, name, t, t == f->type ? f->sub : as->f[i].sub);
        }
        return true;
    }
    if (g->flatten && (e->type == DQL_T_BAG || e->type == DQL_T_TUPLE || (e->type == DQL_T_ANY && as && as->n > 1))) {
        /* a tuple or bag of unknown width (or a Lua result): AS says how many fields */
        if (!as) {
            perr(pl, &item->sp, "FLATTEN of a %s of unknown size: name its fields with AS (a, b, ...)", dql_type_name(e->type));
            return false;
        }
        g->ncols = as->n;
        for (int i = 0; i < as->n; i++) {
            dql_type t = as->f[i].type == DQL_T_BYTEARRAY ? DQL_T_ANY : as->f[i].type;
            if (t != DQL_T_ANY) gen_cast(g, i, t);
            dql_schema_add(out, as->f[i].name, t, as->f[i].sub);
        }
        return true;
    }
    g->ncols = 1;
    if (as && as->n != 1) {
        perr(pl, &item->sp, "AS names %d fields for one value", as->n);
        return false;
    }
    const char *name = as ? as->f[0].name : e->name;
    dql_schema_add(out, name, e->type, e->sub);
    return true;
}

/* A call of an aggregate with constant parameters (TOP(n, column, bag)):
 * number literals (not negative), then the bag column itself. */
static bool param_agg_call(const dql_expr *e, int bagcol)
{
    if (e->kind != E_CALL || !e->fn->agg || !e->fn->agg->configure || e->nkids < 2 || e->nkids > DQL_AGG_MAX_PARAMS + 1) return false;
    const dql_expr *b = e->kids[e->nkids - 1];
    if (b->kind != E_COL || b->col != bagcol) return false;
    for (int i = 0; i + 1 < e->nkids; i++) {
        const dql_expr *k = e->kids[i];
        if (k->kind != E_LIT || (k->lit.type != DQL_T_INT && k->lit.type != DQL_T_LONG && k->lit.type != DQL_T_DOUBLE))
            return false;
        /* a negative one is the function's to warn about, row by row */
        if (k->lit.type == DQL_T_DOUBLE ? k->lit.u.d < 0 : k->lit.u.i < 0) return false;
    }
    return true;
}

/* Dry run: true when every use of column bagcol in e is the argument of
 * an algebraic aggregate (directly, or projected to one field), or the bag
 * of an aggregate with constant parameters. */
static bool fusable(const dql_expr *e, int bagcol)
{
    if (!e) return true;
    if (param_agg_call(e, bagcol)) return true;
    if (e->kind == E_AGGBAG) {
        const dql_expr *a = e->kids[0];
        if (a->kind == E_COL && a->col == bagcol) return true;
        if (a->kind == E_BAGPROJ && a->ncols == 1 && a->kids[0]->kind == E_COL && a->kids[0]->col == bagcol) return true;
    }
    if (e->kind == E_COL && e->col == bagcol) return false;
    for (int i = 0; i < e->nkids; i++) if (!fusable(e->kids[i], bagcol)) return false;
    return true;
}

/* Makes call e a slot of the HASHAGG stepping arg (and configured with
 * e's first nparams arguments): returns the output column replacing e. */
static dql_expr *agg_slot(dql_expr *e, dql_plan *ha, dql_expr *arg, int nparams)
{
    ha->aggs = dql_xrealloc(ha->aggs, sizeof(dql_aggslot) * (size_t)(ha->naggs + 1));
    dql_aggslot *sl = &ha->aggs[ha->naggs];
    memset(sl, 0, sizeof *sl);
    sl->def = e->fn;
    sl->arg = arg;
    for (int i = 0; i < nparams; i++) sl->params[sl->nparams++] = e->kids[i]->lit;
    dql_expr *c = dql_expr_col(1 + ha->naggs, e->type, e->sub, e->name);
    c->sp = e->sp;
    ha->naggs++;
    dql_expr_free(e);
    return c;
}

/* Replaces the aggregate calls by columns of the HASHAGG output. */
static dql_expr *fuse(dql_expr *e, int bagcol, dql_plan *ha, const dql_schema *gin)
{
    if (!e) return e;
    if (param_agg_call(e, bagcol))   /* it steps whole rows, its parameters configure each state */
        return agg_slot(e, ha, dql_expr_row(gin), e->nkids - 1);
    if (e->kind == E_AGGBAG) {
        const dql_expr *a = e->kids[0];
        int src = -1;
        if (a->kind == E_COL && a->col == bagcol) src = gin->n > 0 ? 0 : -1;
        else if (a->kind == E_BAGPROJ && a->ncols == 1 && a->kids[0]->kind == E_COL && a->kids[0]->col == bagcol) src = a->cols[0];
        else goto recurse;
        /* COUNT_STAR counts tuples whatever their fields: it reads no column */
        if (!strcasecmp(e->fn->name, "COUNT_STAR")) src = -1;
        return agg_slot(e, ha, src >= 0 ? dql_expr_col(src, gin->f[src].type, gin->f[src].sub, gin->f[src].name)
                                        : dql_expr_lit(dql_null(), DQL_T_NULL), 0);
    }
recurse:
    for (int i = 0; i < e->nkids; i++) e->kids[i] = fuse(e->kids[i], bagcol, ha, gin);
    return e;
}

/* FOREACH over a one-input GROUP whose bag is only used by algebraic
 * aggregates becomes HASHAGG + FOREACH. */
static void try_fuse(dql_plan *p)
{
    dql_plan *g = p->in[0];
    if (g->kind != P_GROUP || g->nin != 1 || p->nlocals) return;
    for (int i = 0; i < p->ngen; i++) if (!fusable(p->gen[i].e, 1)) return;
    /* FLATTEN of the bag itself is a use of the bag: fusable() saw it as E_COL */
    dql_plan *ha = dql_plan_new(P_HASHAGG, g->sp);
    ha->alias = g->alias ? dql_xstrdup(g->alias) : NULL;
    add_input(ha, dql_plan_ref(g->in[0]));
    ha->keysrc = dql_plan_ref(g);
    ha->keys_borrowed = true;
    ha->keys = dql_xcalloc(1, sizeof(dql_expr **));
    ha->nkeys = g->group_all ? 0 : g->nkeys;
    ha->keys[0] = dql_xcalloc((size_t)ha->nkeys + 1, sizeof(dql_expr *));
    for (int k = 0; k < ha->nkeys; k++) ha->keys[0][k] = g->keys[0][k];
    ha->group_all = g->group_all;
    ha->key_tuple = ha->nkeys > 1;
    const dql_schema *gin = g->in[0]->schema;
    for (int i = 0; i < p->ngen; i++) p->gen[i].e = fuse(p->gen[i].e, 1, ha, gin);
    ha->schema = dql_schema_new(0);
    dql_schema_add(ha->schema, "group", g->schema->f[0].type, g->schema->f[0].sub);
    for (int a = 0; a < ha->naggs; a++) {
        char nm[32];
        snprintf(nm, sizeof nm, "agg%d", a);
        const dql_agg_def *ad = ha->aggs[a].def->agg;
        (void)ad;
        dql_schema_add(ha->schema, nm, DQL_T_ANY, NULL);
    }
    /* the FOREACH now reads the HASHAGG */
    p->in[0] = ha;
    dql_plan_unref(g);
}

static dql_plan *plan_foreach(dql_planner *pl, const dql_node *n, dql_plan *in)
{
    dql_plan *p = dql_plan_new(P_FOREACH, n->sp);
    add_input(p, in);
    dql_schema *ext = dql_schema_copy(in->schema);
    const dql_node *nested = n->nkids > 2 ? n->kids[2] : NULL;
    bool ok = true;
    if (nested) {
        for (int i = 0; i < nested->nkids; i++) {
            const dql_node *as = nested->kids[i];
            dql_expr *e = compile(pl, ext, as->kids[0]);
            if (!e) { ok = false; continue; }
            p->locals = dql_xrealloc(p->locals, sizeof(dql_expr *) * (size_t)(p->nlocals + 1));
            p->locals[p->nlocals++] = e;
            /* a later local of the same name shadows: rename the old one */
            int old = dql_schema_find(ext, as->str);
            if (old >= 0 && old >= in->schema->n) { free(ext->f[old].name); ext->f[old].name = NULL; }
            dql_schema_add(ext, as->str, e->type, e->sub);
        }
    }
    const dql_node *items = n->kids[1];
    dql_schema *out = dql_schema_new(0);
    for (int i = 0; i < items->nkids && ok; i++) {
        const dql_node *it = items->kids[i];
        if (it->kind == N_STAR) {
            for (int c = 0; c < in->schema->n; c++) {
                p->gen = dql_xrealloc(p->gen, sizeof(dql_gen) * (size_t)(p->ngen + 1));
                dql_gen *g = &p->gen[p->ngen++];
                memset(g, 0, sizeof *g);
                const dql_field *f = &in->schema->f[c];
                g->e = dql_expr_col(c, f->type, f->sub, f->name);
                g->flatten = false;
                g->ncols = 1;
                g->outcol = out->n;
                dql_schema_add(out, f->name, f->type, f->sub);
            }
            continue;
        }
        dql_expr *e = compile(pl, ext, it->kids[0]);
        if (!e) { ok = false; continue; }
        if (it->ival && e->type != DQL_T_BAG && e->type != DQL_T_TUPLE && e->type != DQL_T_ANY && e->type != DQL_T_NULL) {
            /* FLATTEN of an atom is the atom */
        }
        if (it->schema && !it->ival && it->schema->n == 1 && it->schema->f[0].type != DQL_T_BYTEARRAY &&
            it->schema->f[0].type != e->type && e->type != DQL_T_BAG && e->type != DQL_T_TUPLE && e->type != DQL_T_MAP)
            e = dql_expr_cast(e, it->schema->f[0].type);
        p->gen = dql_xrealloc(p->gen, sizeof(dql_gen) * (size_t)(p->ngen + 1));
        dql_gen *g = &p->gen[p->ngen++];
        memset(g, 0, sizeof *g);
        g->e = e;
        g->flatten = it->ival != 0;
        g->outcol = out->n;
        if (!gen_fields(pl, out, g, it, e)) ok = false;
    }
    /* duplicate names: flattened fields get their bag's name as prefix; others are errors */
    for (int i = 0; i < out->n && ok; i++) {
        if (!out->f[i].name) continue;
        for (int j = i + 1; j < out->n; j++) {
            if (!out->f[j].name || strcmp(out->f[i].name, out->f[j].name) != 0) continue;
            int gj = 0;
            while (gj + 1 < p->ngen && p->gen[gj + 1].outcol <= j) gj++;
            if (p->gen[gj].flatten && p->gen[gj].e->name) {
                char *nn = dql_xmalloc(strlen(p->gen[gj].e->name) + strlen(out->f[j].name) + 3);
                sprintf(nn, "%s::%s", p->gen[gj].e->name, out->f[j].name);
                free(out->f[j].name);
                out->f[j].name = nn;
            } else {
                perr(pl, &items->kids[gj < items->nkids ? gj : 0]->sp, "duplicate field name '%s' in the output (rename one with AS)", out->f[j].name);
                ok = false;
                break;
            }
        }
    }
    dql_schema_free(ext);
    p->schema = out;
    if (!ok) { dql_plan_unref(p); return NULL; }
    try_fuse(p);
    return p;
}

/* ------------------------------------------------------------ GROUP / JOIN */

/* Compiles the keys of one input: a tuple expression gives several keys. */
static dql_expr **plan_keys(dql_planner *pl, const dql_node *keys, const dql_schema *s, int *nk)
{
    const dql_node *k = keys->kids[0];
    int n = k->kind == N_TUPLE ? k->nkids : 1;
    dql_expr **out = dql_xcalloc((size_t)n + 1, sizeof(dql_expr *));
    bool ok = true;
    for (int i = 0; i < n; i++) {
        out[i] = compile(pl, s, k->kind == N_TUPLE ? k->kids[i] : k);
        if (!out[i]) ok = false;
        else if (out[i]->type == DQL_T_BAG || out[i]->type == DQL_T_MAP) {
            perr(pl, &out[i]->sp, "cannot group or join by a %s", dql_type_name(out[i]->type));
            ok = false;
        }
    }
    if (!ok) {
        for (int i = 0; i < n; i++) dql_expr_free(out[i]);
        free(out);
        return NULL;
    }
    *nk = n;
    return out;
}

/* Makes key types agree across inputs (e.g. a chararray key against a
 * domain key is cast to domain). */
static bool unify_keys(dql_planner *pl, dql_plan *p)
{
    for (int k = 0; k < p->nkeys; k++) {
        dql_type t = p->keys[0][k]->type;
        for (int i = 1; i < p->nin; i++) {
            dql_type u = p->keys[i][k]->type;
            if (u == t) continue;
            if (dql_type_is_numeric(t) && dql_type_is_numeric(u)) t = (t == DQL_T_DOUBLE || u == DQL_T_DOUBLE) ? DQL_T_DOUBLE : DQL_T_LONG;
            else if (t == DQL_T_CHARARRAY || t == DQL_T_BYTEARRAY || t == DQL_T_ANY || t == DQL_T_NULL) t = u;
            else if (u == DQL_T_CHARARRAY || u == DQL_T_BYTEARRAY || u == DQL_T_ANY || u == DQL_T_NULL) { }
            else {
                perr(pl, &p->keys[i][k]->sp, "key types do not match: %s and %s", dql_type_name(t), dql_type_name(u));
                return false;
            }
        }
        if (t == DQL_T_ANY || t == DQL_T_NULL) continue;
        for (int i = 0; i < p->nin; i++) p->keys[i][k] = dql_expr_cast(p->keys[i][k], t);
    }
    return true;
}

static char *prefixed(const char *alias, const char *name)
{
    if (!name) return NULL;
    if (!alias) return dql_xstrdup(name);
    char *r = dql_xmalloc(strlen(alias) + strlen(name) + 3);
    sprintf(r, "%s::%s", alias, name);
    return r;
}

static const char *input_name(const dql_node *rel, const dql_plan *in)
{
    if (rel->kind == N_REF) return rel->str;
    return in->alias;
}

static dql_plan *plan_group(dql_planner *pl, const dql_node *n, bool join)
{
    dql_plan *p = dql_plan_new(join ? P_JOIN : P_GROUP, n->sp);
    int nin = n->nkids;
    p->keys = dql_xcalloc((size_t)nin, sizeof(dql_expr **));
    p->inner = dql_xcalloc((size_t)nin, sizeof(bool));
    p->join_type = join ? (int)n->ival : 0;
    bool ok = true;
    int nkeys = -1;
    for (int i = 0; i < nin; i++) {
        const dql_node *gi = n->kids[i];
        dql_plan *in = dql_plan_rel(pl, gi->kids[0], NULL);
        if (!in) { ok = false; continue; }
        add_input(p, in);
        p->inner[p->nin - 1] = gi->ival != 0;
        if (!gi->kids[1]) {
            if (join) { perr(pl, &gi->sp, "JOIN needs BY keys"); ok = false; continue; }
            p->group_all = true;
            if (nkeys > 0) { perr(pl, &gi->sp, "cannot mix ALL and BY in one COGROUP"); ok = false; }
            nkeys = 0;
            continue;
        }
        int nk = 0;
        p->keys[p->nin - 1] = plan_keys(pl, gi->kids[1], in->schema, &nk);
        if (!p->keys[p->nin - 1]) { ok = false; continue; }
        if (nkeys >= 0 && nk != nkeys) {
            perr(pl, &gi->kids[1]->sp, "every input needs the same number of keys (%d here, %d before)", nk, nkeys);
            ok = false;
        }
        nkeys = nk;
    }
    p->nkeys = nkeys < 0 ? 0 : nkeys;
    if (ok && p->nkeys && !unify_keys(pl, p)) ok = false;
    if (ok && join && n->str) {
        if (strcmp(n->str, "replicated") == 0) {
            if (p->join_type == 2 || p->join_type == 3) { perr(pl, &n->sp, "a replicated JOIN can be inner or LEFT OUTER only"); ok = false; }
            p->replicated = true;
        } else if (strcmp(n->str, "merge") != 0 && strcmp(n->str, "hash") != 0 && strcmp(n->str, "skewed") != 0) {
            perr(pl, &n->sp, "unknown JOIN strategy '%s' (use 'replicated')", n->str);
            ok = false;
        }
    }
    if (!ok) { dql_plan_unref(p); return NULL; }
    dql_schema *s = dql_schema_new(0);
    if (join) {
        for (int i = 0; i < p->nin; i++) {
            const char *an = input_name(n->kids[i]->kids[0], p->in[i]);
            for (int c = 0; c < p->in[i]->schema->n; c++) {
                const dql_field *f = &p->in[i]->schema->f[c];
                char *nm = f->name && !strstr(f->name, "::") ? prefixed(an, f->name) : (f->name ? dql_xstrdup(f->name) : NULL);
                dql_schema_add(s, nm, f->type, f->sub);
                free(nm);
            }
        }
    } else {
        if (p->group_all) dql_schema_add(s, "group", DQL_T_CHARARRAY, NULL);
        else if (p->nkeys == 1) dql_schema_add(s, "group", p->keys[0][0]->type, p->keys[0][0]->sub);
        else {
            dql_schema *ks = dql_schema_new(0);
            for (int k = 0; k < p->nkeys; k++) dql_schema_add(ks, p->keys[0][k]->name, p->keys[0][k]->type, p->keys[0][k]->sub);
            dql_schema_add(s, "group", DQL_T_TUPLE, ks);
            dql_schema_free(ks);
        }
        for (int i = 0; i < p->nin; i++)
            dql_schema_add(s, input_name(n->kids[i]->kids[0], p->in[i]), DQL_T_BAG, p->in[i]->schema);
    }
    p->schema = s;
    return p;
}

/* ------------------------------------------------------------ the rest */

static bool const_number(dql_planner *pl, dql_plan *in, const dql_node *n, double *out, bool integer)
{
    dql_expr *e = compile(pl, in->schema, n);
    if (!e) return false;
    bool ok = e->kind == E_LIT && (e->lit.type == DQL_T_INT || e->lit.type == DQL_T_LONG || (!integer && e->lit.type == DQL_T_DOUBLE));
    if (ok) *out = e->lit.type == DQL_T_DOUBLE ? e->lit.u.d : (double)e->lit.u.i;
    else perr(pl, &n->sp, "expected a constant %s", integer ? "integer" : "number");
    dql_expr_free(e);
    return ok;
}

static dql_plan *plan_union(dql_planner *pl, const dql_node *n)
{
    dql_plan *p = dql_plan_new(P_UNION, n->sp);
    bool ok = true;
    for (int i = 0; i < n->nkids; i++) {
        dql_plan *in = dql_plan_rel(pl, n->kids[i], NULL);
        if (!in) { ok = false; continue; }
        add_input(p, in);
    }
    if (!ok) { dql_plan_unref(p); return NULL; }
    dql_schema *s = dql_schema_new(0);
    if (!n->ival) {
        int w = p->in[0]->schema->n;
        for (int i = 1; i < p->nin; i++)
            if (p->in[i]->schema->n != w) {
                perr(pl, &n->kids[i]->sp, "UNION inputs have different numbers of fields (%d and %d); use UNION ONSCHEMA",
                     w, p->in[i]->schema->n);
                dql_schema_free(s);
                dql_plan_unref(p);
                return NULL;
            }
        for (int c = 0; c < w; c++) {
            const dql_field *f = &p->in[0]->schema->f[c];
            dql_type t = f->type;
            for (int i = 1; i < p->nin; i++) {
                dql_type u = p->in[i]->schema->f[c].type;
                if (u != t) t = (dql_type_is_numeric(t) && dql_type_is_numeric(u)) ? DQL_T_ANY : DQL_T_ANY;
            }
            dql_schema_add(s, f->name, t, f->sub);
        }
    } else {
        for (int i = 0; i < p->nin; i++)
            for (int c = 0; c < p->in[i]->schema->n; c++) {
                const dql_field *f = &p->in[i]->schema->f[c];
                if (!f->name) {
                    perr(pl, &n->kids[i]->sp, "UNION ONSCHEMA needs named fields (field %d of this input has no name)", c);
                    dql_schema_free(s); dql_plan_unref(p); return NULL;
                }
                int j = dql_schema_find(s, f->name);
                if (j < 0 || strcmp(s->f[j].name, f->name) != 0) dql_schema_add(s, f->name, f->type, f->sub);
                else if (s->f[j].type != f->type) s->f[j].type = DQL_T_ANY;
            }
        p->colmap = dql_xcalloc((size_t)p->nin, sizeof(int *));
        for (int i = 0; i < p->nin; i++) {
            p->colmap[i] = dql_xcalloc((size_t)s->n, sizeof(int));
            for (int c = 0; c < s->n; c++) {
                int j = -1;
                for (int q = 0; q < p->in[i]->schema->n; q++)
                    if (strcmp(p->in[i]->schema->f[q].name, s->f[c].name) == 0) j = q;
                p->colmap[i][c] = j;
            }
        }
    }
    p->schema = s;
    return p;
}

static dql_plan *plan_cross(dql_planner *pl, const dql_node *n)
{
    dql_plan *p = dql_plan_new(P_CROSS, n->sp);
    dql_schema *s = dql_schema_new(0);
    bool ok = true;
    for (int i = 0; i < n->nkids; i++) {
        dql_plan *in = dql_plan_rel(pl, n->kids[i], NULL);
        if (!in) { ok = false; continue; }
        add_input(p, in);
        const char *an = input_name(n->kids[i], in);
        for (int c = 0; c < in->schema->n; c++) {
            const dql_field *f = &in->schema->f[c];
            char *nm = f->name && !strstr(f->name, "::") ? prefixed(an, f->name) : (f->name ? dql_xstrdup(f->name) : NULL);
            dql_schema_add(s, nm, f->type, f->sub);
            free(nm);
        }
    }
    p->schema = s;
    if (!ok) { dql_plan_unref(p); return NULL; }
    return p;
}

/* A DNS verb: BY compiled against the input, WITH arguments as literals,
 * and the verb's own check and output schema. */
static dql_plan *plan_xop(dql_planner *pl, const dql_node *n)
{
    const dql_xop_def *xd = dql_xop_find(n->str);
    if (!xd) {
        perr(pl, &n->sp, "%s is not available in this build", n->str);
        return NULL;
    }
    dql_plan *in = dql_plan_rel(pl, n->kids[0], NULL);
    if (!in) return NULL;
    dql_plan *p = dql_plan_new(P_XOP, n->sp);
    add_input(p, in);
    p->xop = xd;
    p->xplan.verb = xd->name;
    p->xplan.in = in->schema;
    p->xplan.sess = pl->sess;
    if (n->kids[1]) {
        p->xplan.by = compile(pl, in->schema, n->kids[1]);
        if (!p->xplan.by) { dql_plan_unref(p); return NULL; }
    }
    if (n->kids[2]) {
        const dql_node *tl = n->kids[2];
        p->xplan.types = dql_xcalloc((size_t)tl->nkids + 1, sizeof(char *));
        for (int i = 0; i < tl->nkids; i++) p->xplan.types[p->xplan.ntypes++] = dql_xstrdup(tl->kids[i]->str);
    }
    if (n->kids[3] && !dql_plan_args(pl, n->kids[3], &p->args, &p->argarena)) { dql_plan_unref(p); return NULL; }
    p->xplan.with = &p->args;
    if (n->nkids > 4 && n->kids[4]) p->xplan.model = p->path = dql_xstrdup(n->kids[4]->str);
    char err[512] = "";
    dql_schema *out = NULL;
    if (xd->plan(&p->xplan, &out, &p->xpstate, err, sizeof err) != DQL_OK || !out) {
        perr(pl, &n->sp, "%s: %s", xd->name, err[0] ? err : "cannot plan");
        dql_schema_free(out);
        dql_plan_unref(p);
        return NULL;
    }
    p->schema = out;
    return p;
}

dql_plan *dql_plan_rel(dql_planner *pl, const dql_node *n, const char *alias)
{
    dql_plan *p = NULL, *in;
    switch (n->kind) {
    case N_REF: {
        p = dql_session_alias(pl->sess, n->str);
        if (!p && dql_session_alias_failed(pl->sess, n->str)) { pl->nerr++; return NULL; }
        if (!p) {
            perr(pl, &n->sp, "unknown alias '%s'", n->str);
            return NULL;
        }
        return dql_plan_ref(p);
    }
    case N_LOAD:
        p = plan_load(pl, n, n->str, n->kids[0], NULL);
        break;
    case N_SQL:
        p = plan_load(pl, n, n->str, NULL, &dql_loader_sqlquery);
        break;
    case N_FOREACH:
        if (!(in = dql_plan_rel(pl, n->kids[0], NULL))) return NULL;
        p = plan_foreach(pl, n, in);
        break;
    case N_FILTER: {
        if (!(in = dql_plan_rel(pl, n->kids[0], NULL))) return NULL;
        dql_expr *c = compile(pl, in->schema, n->kids[1]);
        if (!c) { dql_plan_unref(in); return NULL; }
        if (c->type != DQL_T_BOOL && c->type != DQL_T_NULL && c->type != DQL_T_ANY) {
            perr(pl, &n->kids[1]->sp, "FILTER needs a boolean condition, not %s", dql_type_name(c->type));
            dql_expr_free(c);
            dql_plan_unref(in);
            return NULL;
        }
        p = dql_plan_new(P_FILTER, n->sp);
        add_input(p, in);
        p->cond = c;
        p->schema = dql_schema_copy(in->schema);
        break;
    }
    case N_GROUP:
        p = plan_group(pl, n, false);
        break;
    case N_JOIN:
        p = plan_group(pl, n, true);
        break;
    case N_ORDER: {
        if (!(in = dql_plan_rel(pl, n->kids[0], NULL))) return NULL;
        p = dql_plan_new(P_ORDER, n->sp);
        add_input(p, in);
        p->schema = dql_schema_copy(in->schema);
        const dql_node *keys = n->kids[1];
        p->okeys = dql_xcalloc((size_t)keys->nkids, sizeof(dql_expr *));
        p->desc = dql_xcalloc((size_t)keys->nkids, sizeof(bool));
        p->nokeys = keys->nkids;
        for (int k = 0; k < keys->nkids; k++) {
            p->okeys[k] = compile(pl, in->schema, keys->kids[k]->kids[0]);
            p->desc[k] = keys->kids[k]->ival != 0;
            if (!p->okeys[k]) { dql_plan_unref(p); return NULL; }
            if (p->okeys[k]->type == DQL_T_BAG || p->okeys[k]->type == DQL_T_MAP) {
                perr(pl, &keys->kids[k]->sp, "cannot ORDER by a %s", dql_type_name(p->okeys[k]->type));
                dql_plan_unref(p);
                return NULL;
            }
        }
        break;
    }
    case N_LIMIT: {
        if (!(in = dql_plan_rel(pl, n->kids[0], NULL))) return NULL;
        double v;
        if (!const_number(pl, in, n->kids[1], &v, true)) { dql_plan_unref(in); return NULL; }
        if (v < 0) { perr(pl, &n->kids[1]->sp, "LIMIT needs a count >= 0"); dql_plan_unref(in); return NULL; }
        p = dql_plan_new(P_LIMIT, n->sp);
        add_input(p, in);
        p->limit = (int64_t)v;
        p->schema = dql_schema_copy(in->schema);
        break;
    }
    case N_SAMPLE: {
        if (!(in = dql_plan_rel(pl, n->kids[0], NULL))) return NULL;
        double v;
        if (!const_number(pl, in, n->kids[1], &v, false)) { dql_plan_unref(in); return NULL; }
        if (v < 0 || v > 1) { perr(pl, &n->kids[1]->sp, "SAMPLE needs a fraction between 0 and 1"); dql_plan_unref(in); return NULL; }
        p = dql_plan_new(P_SAMPLE, n->sp);
        add_input(p, in);
        p->fraction = v;
        p->schema = dql_schema_copy(in->schema);
        break;
    }
    case N_DISTINCT: {
        if (!(in = dql_plan_rel(pl, n->kids[0], NULL))) return NULL;
        p = dql_plan_new(P_HASHAGG, n->sp);
        add_input(p, in);
        p->distinct = true;
        p->nkeys = in->schema->n;
        p->keys = dql_xcalloc(1, sizeof(dql_expr **));
        p->keys[0] = dql_xcalloc((size_t)p->nkeys + 1, sizeof(dql_expr *));
        for (int c = 0; c < p->nkeys; c++) {
            const dql_field *f = &in->schema->f[c];
            p->keys[0][c] = dql_expr_col(c, f->type, f->sub, f->name);
        }
        p->schema = dql_schema_copy(in->schema);
        break;
    }
    case N_UNION:
        p = plan_union(pl, n);
        break;
    case N_CROSS:
        p = plan_cross(pl, n);
        break;
    case N_STREAM: {
        const char *cmd = n->str;
        if (n->ival) {
            const dql_node *d = dql_session_define_lookup(pl->sess, n->str);
            if (!d || d->kind != N_STRING) {
                perr(pl, &n->sp, "'%s' is not a DEFINEd command (DEFINE %s `command`;)", n->str, n->str);
                return NULL;
            }
            cmd = d->str;
        }
        if (!(in = dql_plan_rel(pl, n->kids[0], NULL))) return NULL;
        p = dql_plan_new(P_STREAM, n->sp);
        add_input(p, in);
        p->command = dql_xstrdup(cmd);
        p->shell = n->ival2 != 0;
        if (n->nkids > 1 && n->kids[1] && !dql_plan_args(pl, n->kids[1], &p->args, &p->argarena)) { dql_plan_unref(p); return NULL; }
        {
            /* op_stream.c checks the WITH options and ${field}s and sets the schema */
            char serr[512];
            bool at_with = false;
            if (!dql_stream_plan(p, in->schema, n->schema, serr, sizeof serr, &at_with)) {
                perr(pl, at_with && n->nkids > 1 && n->kids[1] ? &n->kids[1]->sp : &n->sp, "%s", serr);
                dql_plan_unref(p);
                return NULL;
            }
        }
        break;
    }
    case N_XOP:
        p = plan_xop(pl, n);
        break;
    case N_MACRO_CALL:
        perr(pl, &n->sp, "a macro call must be a statement of its own (x = %s(...);)", n->str);
        return NULL;
    default:
        perr(pl, &n->sp, "not a relation");
        return NULL;
    }
    if (p && alias && !p->alias) p->alias = dql_xstrdup(alias);
    return p;
}

/* ------------------------------------------------------------ pruning */

/* Marks the columns of the row e reads (not those of nested bag scopes). */
static void expr_refs(const dql_expr *e, bool *cols, int n)
{
    if (!e) return;
    if (e->kind == E_COL && e->col >= 0 && e->col < n) cols[e->col] = true;
    bool nested = e->kind == E_BAGFILTER || e->kind == E_BAGORDER;
    for (int i = 0; i < e->nkids; i++) {
        if (nested && i > 0) continue;   /* these read the bag's tuples */
        expr_refs(e->kids[i], cols, n);
    }
}

void dql_plan_need(dql_plan *p, const bool *need)
{
    int w = p->schema->n;
    if (p->kind == P_LOAD) {
        if (!p->needed) p->needed = dql_xcalloc((size_t)w + 1, sizeof(bool));
        for (int i = 0; i < w; i++) if (!need || need[i]) p->needed[i] = true;
        return;
    }
    for (int k = 0; k < p->nin; k++) {
        dql_plan *in = p->in[k];
        int iw = in->schema->n;
        bool *ni = dql_xcalloc((size_t)iw + 1, sizeof(bool));
        bool all = false;
        switch (p->kind) {
        case P_FOREACH: {
            int ext = iw + p->nlocals;
            bool *x = dql_xcalloc((size_t)ext + 1, sizeof(bool));
            for (int g = 0; g < p->ngen; g++) {
                bool used = !need;
                for (int c = 0; c < p->gen[g].ncols && !used; c++) used = need[p->gen[g].outcol + c];
                if (used) expr_refs(p->gen[g].e, x, ext);
            }
            /* locals are evaluated in order for every row: all of them count */
            for (int l = p->nlocals - 1; l >= 0; l--) expr_refs(p->locals[l], x, ext);
            memcpy(ni, x, sizeof(bool) * (size_t)iw);
            free(x);
            break;
        }
        case P_FILTER:
            for (int i = 0; i < iw; i++) ni[i] = !need || need[i];
            expr_refs(p->cond, ni, iw);
            break;
        case P_LIMIT: case P_SAMPLE:
            for (int i = 0; i < iw; i++) ni[i] = !need || need[i];
            break;
        case P_ORDER:
            for (int i = 0; i < iw; i++) ni[i] = !need || need[i];
            for (int i = 0; i < p->nokeys; i++) expr_refs(p->okeys[i], ni, iw);
            break;
        case P_UNION:
            for (int i = 0; i < p->schema->n; i++) {
                if (need && !need[i]) continue;
                int src = p->colmap ? p->colmap[k][i] : i;
                if (src >= 0 && src < iw) ni[src] = true;
            }
            break;
        case P_HASHAGG:
            if (p->distinct) { all = true; break; }
            for (int i = 0; i < p->nkeys; i++) expr_refs(p->keys[0][i], ni, iw);
            for (int a = 0; a < p->naggs; a++) expr_refs(p->aggs[a].arg, ni, iw);
            break;
        case P_STREAM:   /* a per-row command reads its ${field}s and passes the row on */
            dql_stream_need(p, need, ni, iw, &all);
            break;
        default:
            all = true;   /* GROUP, JOIN, CROSS: the whole row */
            break;
        }
        dql_plan_need(in, all ? NULL : ni);
        free(ni);
    }
}

/* ------------------------------------------------------------ verbs */

void dql_plan_describe_verbs(dql_buf *b, const dql_plan *p)
{
    for (int i = 0; i < p->nin; i++) dql_plan_describe_verbs(b, p->in[i]);
    if (p->kind == P_XOP && p->xop->explain) {
        dql_buf_printf(b, "  %s%s%s: ", p->xop->name, p->alias ? " " : "", p->alias ? p->alias : "");
        p->xop->explain(p->xpstate, b);
        dql_buf_putc(b, '\n');
    }
}

/* ------------------------------------------------------------ EXPLAIN */

static void explain_exprs(dql_buf *b, const char *label, dql_expr **e, int n)
{
    dql_buf_printf(b, " %s(", label);
    for (int i = 0; i < n; i++) {
        if (i) dql_buf_puts(b, ", ");
        dql_expr_text(b, e[i]);
    }
    dql_buf_putc(b, ')');
}

void dql_plan_explain(dql_buf *b, const dql_plan *p, int depth)
{
    for (int i = 0; i < depth; i++) dql_buf_puts(b, "  ");
    dql_buf_puts(b, depth ? "└─ " : "");
    dql_buf_puts(b, dql_plan_label(p));
    if (p->alias) dql_buf_printf(b, " %s", p->alias);
    switch (p->kind) {
    case P_LOAD:
        dql_buf_printf(b, " '%s' USING %s", p->path, p->loader->name);
        if (p->needed) {
            int used = 0;
            for (int i = 0; i < p->schema->n; i++) used += p->needed[i];
            if (used < p->schema->n) {
                dql_buf_puts(b, " reads(");
                for (int i = 0, k = 0; i < p->schema->n; i++)
                    if (p->needed[i]) {
                        if (k++) dql_buf_puts(b, ", ");
                        if (p->schema->f[i].name) dql_buf_puts(b, p->schema->f[i].name);
                        else dql_buf_printf(b, "$%d", i);
                    }
                dql_buf_puts(b, ")");
            }
        }
        break;
    case P_FILTER: dql_buf_puts(b, " BY "); dql_expr_text(b, p->cond); break;
    case P_FOREACH: {
        dql_buf_puts(b, " GENERATE ");
        for (int i = 0; i < p->ngen; i++) {
            if (i) dql_buf_puts(b, ", ");
            if (p->gen[i].flatten) dql_buf_puts(b, "FLATTEN(");
            dql_expr_text(b, p->gen[i].e);
            if (p->gen[i].flatten) dql_buf_puts(b, ")");
        }
        break;
    }
    case P_HASHAGG:
        if (!p->distinct) {
            if (p->group_all) dql_buf_puts(b, " ALL");
            else explain_exprs(b, "keys", p->keys[0], p->nkeys);
            dql_buf_puts(b, " aggregates(");
            for (int a = 0; a < p->naggs; a++) dql_buf_printf(b, "%s%s", a ? ", " : "", p->aggs[a].def->name);
            dql_buf_puts(b, ")");
        }
        break;
    case P_GROUP: case P_JOIN:
        if (p->group_all) dql_buf_puts(b, " ALL");
        else for (int i = 0; i < p->nin; i++) explain_exprs(b, "by", p->keys[i], p->nkeys);
        if (p->kind == P_JOIN) {
            static const char *jt[] = { "inner", "left outer", "right outer", "full outer" };
            dql_buf_printf(b, " %s%s", jt[p->join_type], p->replicated ? " replicated (hash, in memory)" : " (sort-merge, spills)");
        }
        break;
    case P_ORDER:
        dql_buf_puts(b, " BY ");
        for (int i = 0; i < p->nokeys; i++) {
            if (i) dql_buf_puts(b, ", ");
            dql_expr_text(b, p->okeys[i]);
            if (p->desc[i]) dql_buf_puts(b, " DESC");
        }
        break;
    case P_LIMIT: dql_buf_printf(b, " %lld", (long long)p->limit); break;
    case P_SAMPLE: dql_buf_printf(b, " %g", p->fraction); break;
    case P_STREAM: dql_buf_printf(b, " THROUGH `%s`", p->command); break;
    case P_XOP:
        if (p->xplan.by) { dql_buf_puts(b, " BY "); dql_expr_text(b, p->xplan.by); }
        if (p->xop->explain) { dql_buf_puts(b, " "); p->xop->explain(p->xpstate, b); }
        break;
    default: break;
    }
    dql_buf_puts(b, "  {");
    dql_schema_format(b, p->schema);
    dql_buf_puts(b, "}\n");
    if (p->cut_note) {
        /* a sharded run: the tasks compute this relation, the merge goes on from here */
        for (int i = 0; i <= depth; i++) dql_buf_puts(b, "  ");
        dql_buf_printf(b, "┄┄ %s\n", p->cut_note);
    }
    for (int i = 0; i < p->nin; i++) dql_plan_explain(b, p->in[i], depth + 1);
}
