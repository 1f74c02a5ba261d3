/* op_classify.c — the language side of domain classification:
 *
 *   c = CLASSIFY rel BY name [USING 'model.dqlm'] [WITH (explain = true, batch = N)];
 *   TRAIN 'model.dqlm' FROM rel BY name LABEL expr [GROUP BY expr] [WITH (...)];
 *   EVALUATE 'model.dqlm' ON rel BY name LABEL expr [GROUP BY expr];
 *   FEATURES(name[, 'model.dqlm'])
 *
 * CLASSIFY appends score (probability of malicious), verdict and, with
 * explain, the features that moved the score most. TRAIN computes the
 * features with cross-fitted reference tables, grows the forest, picks the
 * threshold on out-of-bag scores, writes the model and prints a report;
 * EVALUATE prints the metrics of a model on labelled names. Without USING
 * the model compiled into the binary is used (data/dga-default.dqlm). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <math.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include "classify.h"
#include "xop.h"

/* The generated src/classify_data.c (tools/bin2c.sh). */
extern const unsigned char dql_classify_words[];
extern const size_t dql_classify_words_len;
extern const unsigned char dql_classify_model[];
extern const size_t dql_classify_model_len;

const char *dql_cf_builtin_words(size_t *n)
{
    *n = dql_classify_words_len;
    return (const char *)dql_classify_words;
}

const dql_model *dql_model_default(char *err, size_t errlen)
{
    static dql_model *m;
    static char why[300];
    static bool tried;
    if (!tried) {
        tried = true;
        if (dql_classify_model_len == 0)
            snprintf(why, sizeof why, "this build has no built-in model (data/dga-default.dqlm was empty); give one with USING");
        else {
            char t[280];
            if (dql_model_read(dql_classify_model, dql_classify_model_len, &m, t, sizeof t) != DQL_OK)
                snprintf(why, sizeof why, "built-in model: %s", t);
        }
    }
    if (!m) snprintf(err, errlen, "%s", why);
    return m;
}

/* Loads the model of a USING clause, or the built-in one. *own is set when
 * the caller must free it. */
static const dql_model *get_model(const char *path, dql_model **own, char *err, size_t errlen)
{
    *own = NULL;
    if (!path) return dql_model_default(err, errlen);
    if (dql_model_load(path, own, err, errlen) != DQL_OK) return NULL;
    return *own;
}

/* Model files a TRAIN planned in this process will write: a later CLASSIFY,
 * EVALUATE or FEATURES of the same script must not check the old file (or
 * miss the new one) at plan time; they read it when they run. */
static char **pending;
static size_t npending;

static void pending_add(const char *path)
{
    for (size_t i = 0; i < npending; i++) if (!strcmp(pending[i], path)) return;
    pending = dql_xrealloc(pending, (npending + 1) * sizeof *pending);
    pending[npending++] = dql_xstrdup(path);
}

/* At plan time only an existing file that no TRAIN of the script writes is
 * checked. */
static bool plan_check_model(const char *path, char *err, size_t errlen)
{
    struct stat sb;
    for (size_t i = 0; path && i < npending; i++) if (!strcmp(pending[i], path)) return true;
    if (path && stat(path, &sb) != 0 && errno == ENOENT) return true;
    dql_model *own = NULL;
    const dql_model *m = get_model(path, &own, err, errlen);
    dql_model_free(own);
    return m != NULL;
}

/* Featurises one name value into x; false for null or empty names. */
static bool featurise(const dql_model *m, dql_value v, float *x)
{
    if (dql_is_null(v) || !dql_type_is_stringlike((dql_type)v.type)) return false;
    char buf[256];
    size_t n = dql_cf_normalize(v.u.s, v.len, buf, sizeof buf);
    if (n == 0) return false;
    dql_cf_parts p;
    dql_cf_split(buf, n, &p);
    dql_cf_extract(&m->ref, &p, x);
    return true;
}

static bool name_type_ok(dql_type t)
{
    return t == DQL_T_CHARARRAY || t == DQL_T_DOMAIN || t == DQL_T_BYTEARRAY || t == DQL_T_ANY || t == DQL_T_NULL;
}

/* ------------------------------------------------------------ FEATURES */

static dql_type tc_features(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    if (!name_type_ok(args[0].type)) {
        snprintf(err, errlen, "argument 1 must be a domain or chararray, not %s", dql_type_name(args[0].type));
        return DQL_T__COUNT;
    }
    if (argc > 1 && args[1].type != DQL_T_CHARARRAY) {
        snprintf(err, errlen, "argument 2 must be a model file name (chararray)");
        return DQL_T__COUNT;
    }
    dql_schema *s = dql_schema_new(0);
    for (int f = 0; f < DQL_CF__COUNT; f++) dql_schema_add(s, dql_cf_names[f], DQL_T_DOUBLE, NULL);
    *sub = s;
    return DQL_T_TUPLE;
}

typedef struct feat_state { dql_model *own; const dql_model *m; char err[400]; } feat_state;

static dql_status prep_features(int argc, const dql_value *argv, const bool *consts, void **state, char *err, size_t errlen)
{
    feat_state *fs = dql_xcalloc(1, sizeof *fs);
    *state = fs;
    if (argc > 1) {
        if (!consts[1] || dql_is_null(argv[1])) { snprintf(err, errlen, "FEATURES: the model must be a constant file name"); return DQL_ERR_CHECK; }
        char *path = dql_xstrndup(argv[1].u.s, argv[1].len);
        bool ok = plan_check_model(path, err, errlen);
        free(path);
        if (!ok) return DQL_ERR_CHECK;
        /* loaded on first call (the file may be written by an earlier TRAIN) */
        return DQL_OK;
    }
    fs->m = dql_model_default(err, errlen);
    return fs->m ? DQL_OK : DQL_ERR_CHECK;
}

static void cleanup_features(void *state)
{
    feat_state *fs = state;
    if (!fs) return;
    dql_model_free(fs->own);
    free(fs);
}

static dql_status fn_features(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    feat_state *fs = cx->state;
    *out = dql_null();
    if (!fs->m && argc > 1) {
        char *path = dql_xstrndup(argv[1].u.s, argv[1].len);
        dql_status st = dql_model_load(path, &fs->own, fs->err, sizeof fs->err);
        free(path);
        if (st != DQL_OK) return dql_exec_error(cx->ex, "FEATURES: %s", fs->err);
        fs->m = fs->own;
    }
    float x[DQL_CF_MAX];
    if (!featurise(fs->m, argv[0], x)) return DQL_OK;
    dql_tuple *t = dql_tuple_new(cx->arena, DQL_CF__COUNT);
    /* the float values, printed as the floats they are (0.1f -> 0.1) */
    for (int f = 0; f < DQL_CF__COUNT; f++) {
        char b[32];
        snprintf(b, sizeof b, "%.7g", (double)x[f]);
        t->v[f] = dql_double(strtod(b, NULL));
    }
    out->type = DQL_T_TUPLE;
    out->u.t = t;
    return DQL_OK;
}

const dql_func_def dql_fn_classify[] = {
    { "FEATURES", 1, 2, DQL_T_TUPLE, tc_features, fn_features, NULL, prep_features, cleanup_features,
      "domain", "FEATURES(name[, model])",
      "the classifier's feature vector of a domain name, as a tuple with named fields (doc/classify.md)" },
    { 0 }
};

/* ------------------------------------------------------------ CLASSIFY */

typedef struct cl_plan { bool explain; int batch; } cl_plan;

static bool arg_bool(const dql_value *v, bool *out)
{
    if (v->type == DQL_T_BOOL) { *out = v->u.i != 0; return true; }
    return false;
}

static bool arg_long(const dql_value *v, int64_t *out)
{
    if (v->type == DQL_T_INT || v->type == DQL_T_LONG) { *out = v->u.i; return true; }
    return false;
}

static dql_status cl_plan_fn(const dql_xop_plan *xp, dql_schema **out, void **pstate, char *err, size_t errlen)
{
    if (!xp->by) { snprintf(err, errlen, "BY name is required"); return DQL_ERR_CHECK; }
    if (!name_type_ok(xp->by->type)) {
        snprintf(err, errlen, "BY must be a domain or chararray, not %s", dql_type_name(xp->by->type));
        return DQL_ERR_CHECK;
    }
    if (xp->types) { snprintf(err, errlen, "CLASSIFY takes no TYPES"); return DQL_ERR_CHECK; }
    cl_plan cp = { false, DQL_BATCH_ROWS };
    for (int i = 0; xp->with && i < xp->with->n; i++) {
        const dql_arg *a = &xp->with->a[i];
        int64_t n;
        if (a->name && !strcmp(a->name, "explain")) {
            if (!arg_bool(&a->v, &cp.explain)) { snprintf(err, errlen, "explain must be true or false"); return DQL_ERR_CHECK; }
        } else if (a->name && !strcmp(a->name, "batch")) {
            if (!arg_long(&a->v, &n) || n < 1 || n > DQL_BATCH_ROWS) { snprintf(err, errlen, "batch must be an integer from 1 to %d", DQL_BATCH_ROWS); return DQL_ERR_CHECK; }
            cp.batch = (int)n;
        } else {
            snprintf(err, errlen, "unknown option '%s' (CLASSIFY takes explain, batch)", a->name ? a->name : "(positional)");
            return DQL_ERR_CHECK;
        }
    }
    if (!plan_check_model(xp->model, err, errlen)) return DQL_ERR_CHECK;
    dql_schema *extra = dql_schema_new(0);
    dql_schema_add(extra, "score", DQL_T_DOUBLE, NULL);
    dql_schema_add(extra, "verdict", DQL_T_CHARARRAY, NULL);
    if (cp.explain) dql_schema_add(extra, "explain", DQL_T_CHARARRAY, NULL);
    *out = dql_xop_schema(xp->in, extra);
    dql_schema_free(extra);
    cl_plan *p = dql_xmalloc(sizeof *p);
    *p = cp;
    *pstate = p;
    return DQL_OK;
}

static void cl_plan_free(void *p) { free(p); }

typedef struct cl_st {
    const dql_xop_plan *xp;
    cl_plan cp;
    dql_model *own;
    const dql_model *m;
    dql_exec *ex;
    float *x;               /* DQL_BATCH_ROWS x nfeat */
    double *score;
    bool *ok;
    dql_arena evarena;
} cl_st;

static dql_status cl_open(const dql_xop_plan *xp, void *pstate, dql_exec *ex, void **st)
{
    cl_st *s = dql_xcalloc(1, sizeof *s);
    *st = s;
    s->xp = xp;
    s->cp = *(cl_plan *)pstate;
    s->ex = ex;
    dql_arena_init(&s->evarena);
    char err[400];
    s->m = get_model(xp->model, &s->own, err, sizeof err);
    if (!s->m) return dql_exec_error(ex, "CLASSIFY: %s", err);
    s->x = dql_xmalloc(sizeof(float) * DQL_BATCH_ROWS * (size_t)DQL_CF_MAX);
    s->score = dql_xmalloc(sizeof(double) * DQL_BATCH_ROWS);
    s->ok = dql_xmalloc(sizeof(bool) * DQL_BATCH_ROWS);
    return DQL_OK;
}

static void cl_close(void *st)
{
    cl_st *s = st;
    if (!s) return;
    dql_model_free(s->own);
    free(s->x); free(s->score); free(s->ok);
    dql_arena_free(&s->evarena);
    free(s);
}

static const char VERDICT_MAL[] = "malicious", VERDICT_BEN[] = "benign";

/* "tld_mal=+0.210 bigram_llr=+0.118 len=-0.031": the three largest
 * contributions (Saabas decomposition) */
static dql_value explain_str(const dql_model *m, const float *x, dql_arena *a)
{
    double c[DQL_CF_MAX];
    dql_rf_contrib(m, x, c);
    int top[3] = { -1, -1, -1 };
    for (int k = 0; k < 3; k++)
        for (int f = 0; f < m->nfeat; f++) {
            if (f == top[0] || f == top[1]) continue;
            if (top[k] < 0 || fabs(c[f]) > fabs(c[top[k]])) top[k] = f;
        }
    char buf[256];
    size_t n = 0;
    for (int k = 0; k < 3 && top[k] >= 0; k++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s=%+.3f", k ? " " : "", dql_cf_names[top[k]], c[top[k]]);
    return dql_chararray_copy(a, buf, n);
}

static dql_status cl_step(void *st, const dql_batch *in, int *pos, dql_batch *out, dql_arena *a, bool *finished)
{
    cl_st *s = st;
    if (!in) { *finished = true; return DQL_OK; }
    int nf = s->m->nfeat;
    int ncin = in->ncols;
    while (*pos < in->n && out->n < out->cap) {
        int k = in->n - *pos;
        if (k > out->cap - out->n) k = out->cap - out->n;
        if (k > s->cp.batch) k = s->cp.batch;
        dql_arena_reset(&s->evarena);
        dql_evctx ev = { &s->evarena, s->ex, DQL_OK };
        float xr[DQL_CF_MAX];
        int nok = 0;
        for (int r = 0; r < k; r++) {
            const dql_value *row = in->v + (size_t)(*pos + r) * (size_t)ncin;
            dql_value v = dql_expr_eval(s->xp->by, row, &ev);
            if (ev.st != DQL_OK) return ev.st;
            s->ok[r] = featurise(s->m, v, xr);
            if (s->ok[r]) memcpy(s->x + (size_t)nok++ * (size_t)nf, xr, sizeof(float) * (size_t)nf);
        }
        if (k == 1 && nok == 1) s->score[0] = dql_rf_score_one(s->m, s->x);
        else dql_rf_score_batch(s->m, s->x, nok, s->score);
        int j = 0;
        for (int r = 0; r < k; r++) {
            const dql_value *row = in->v + (size_t)(*pos + r) * (size_t)ncin;
            dql_value *o = dql_batch_row(out, out->n++);
            memcpy(o, row, sizeof(dql_value) * (size_t)ncin);
            if (!s->ok[r]) {
                o[ncin] = dql_null(); o[ncin + 1] = dql_null();
                if (s->cp.explain) o[ncin + 2] = dql_null();
                continue;
            }
            double sc = s->score[j];
            o[ncin] = dql_double(sc);
            o[ncin + 1] = sc >= s->m->threshold ? dql_chararray(VERDICT_MAL, sizeof VERDICT_MAL - 1)
                                                : dql_chararray(VERDICT_BEN, sizeof VERDICT_BEN - 1);
            if (s->cp.explain) o[ncin + 2] = explain_str(s->m, s->x + (size_t)j * (size_t)nf, a);
            j++;
        }
        *pos += k;
    }
    return DQL_OK;
}

static void cl_explain(void *pstate, dql_buf *b)
{
    cl_plan *p = pstate;
    dql_buf_printf(b, "random forest%s", p->explain ? ", explain" : "");
}

const dql_xop_def dql_xop_classify = {
    "CLASSIFY",
    "CLASSIFY rel BY name [USING 'model.dqlm'] [WITH (explain = true, batch = 1024)]",
    "score domain names as malicious or benign with a random forest (adds score, verdict[, explain])",
    cl_plan_fn, cl_plan_free, cl_open, cl_step, cl_close, cl_explain, false,
};

/* ------------------------------------------------- labelled row sets */

typedef struct rowset {
    dql_buf names;          /* normalised names, NUL-terminated, back to back */
    dql_buf groups;
    size_t *name_at, *group_at;   /* group_at == SIZE_MAX: no group */
    uint8_t *y;
    size_t n, cap;
    uint64_t dups, conflicts, skipped;
} rowset;

static void rowset_free(rowset *rs)
{
    dql_buf_free(&rs->names); dql_buf_free(&rs->groups);
    free(rs->name_at); free(rs->group_at); free(rs->y);
    memset(rs, 0, sizeof *rs);
}

/* Label value -> 0/1; -1 when it means neither. */
static int label_of(dql_value v)
{
    switch (v.type) {
    case DQL_T_BOOL: case DQL_T_INT: case DQL_T_LONG: return v.u.i != 0;
    case DQL_T_DOUBLE: return v.u.d != 0;
    case DQL_T_CHARARRAY: case DQL_T_BYTEARRAY: {
        static const char *const one[] = { "malicious", "dga", "1", "true", "bad", "malware" };
        static const char *const zero[] = { "benign", "legit", "0", "false", "good", "clean" };
        for (size_t i = 0; i < sizeof one / sizeof one[0]; i++)
            if (strlen(one[i]) == v.len && !strncasecmp(one[i], v.u.s, v.len)) return 1;
        for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++)
            if (strlen(zero[i]) == v.len && !strncasecmp(zero[i], v.u.s, v.len)) return 0;
        return -1;
    }
    default: return -1;
    }
}

/* Reads the whole relation: name (normalised), label, group. With dedup,
 * a name seen before is dropped (counted; a different label counts as a
 * conflict). */
static dql_status read_rows(const dql_xstmt_plan *xp, dql_exec *ex, dql_rows_fn rows, void *ud, rowset *rs, bool dedup)
{
    dql_arena ar;
    dql_arena_init(&ar);
    size_t hcap = 1 << 16;
    size_t *ht = dedup ? dql_xcalloc(hcap, sizeof *ht) : NULL;   /* index + 1 */
    dql_status st = DQL_OK;
    for (;;) {
        const dql_batch *b;
        st = rows(ud, &b);
        if (st == DQL_EOF) { st = DQL_OK; break; }
        if (st != DQL_OK) break;
        dql_arena_reset(&ar);
        dql_evctx ev = { &ar, ex, DQL_OK };
        for (int r = 0; r < b->n && st == DQL_OK; r++) {
            const dql_value *row = b->v + (size_t)r * (size_t)b->ncols;
            dql_value nv = dql_expr_eval(xp->by, row, &ev);
            dql_value lv = dql_expr_eval(xp->label, row, &ev);
            dql_value gv = xp->group ? dql_expr_eval(xp->group, row, &ev) : dql_null();
            if (ev.st != DQL_OK) { st = ev.st; break; }
            if (dql_is_null(nv) || !dql_type_is_stringlike((dql_type)nv.type) || nv.len == 0) {
                rs->skipped++;
                st = dql_exec_warn(ex, "null or empty name", "%s: a row without a name was skipped", xp->verb);
                continue;
            }
            int y = label_of(lv);
            if (y < 0) {
                rs->skipped++;
                dql_buf vb = {0};
                dql_value_format(&vb, lv);
                st = dql_exec_warn(ex, "label is not malicious/benign", "%s: label '%s' of '%.*s' is neither malicious (true, 1, 'malicious', 'dga') nor benign (false, 0, 'benign', 'legit'); the row was skipped",
                                   xp->verb, dql_is_null(lv) ? "null" : dql_buf_cstr(&vb), (int)nv.len, nv.u.s);
                dql_buf_free(&vb);
                continue;
            }
            char buf[256];
            size_t n = dql_cf_normalize(nv.u.s, nv.len, buf, sizeof buf);
            if (ht) {
                uint64_t h = dql_hash_bytes(buf, n, 7);
                size_t k = (size_t)h & (hcap - 1);
                bool dup = false;
                while (ht[k]) {
                    size_t j = ht[k] - 1;
                    if (!strcmp(rs->names.p + rs->name_at[j], buf)) {
                        dup = true;
                        rs->dups++;
                        if (rs->y[j] != y) rs->conflicts++;
                        break;
                    }
                    k = (k + 1) & (hcap - 1);
                }
                if (dup) continue;
                ht[k] = rs->n + 1;
            }
            if (rs->n == rs->cap) {
                rs->cap = rs->cap ? rs->cap * 2 : 4096;
                rs->name_at = dql_xrealloc(rs->name_at, rs->cap * sizeof *rs->name_at);
                rs->group_at = dql_xrealloc(rs->group_at, rs->cap * sizeof *rs->group_at);
                rs->y = dql_xrealloc(rs->y, rs->cap);
            }
            rs->name_at[rs->n] = rs->names.len;
            dql_buf_put(&rs->names, buf, n + 1);
            if (dql_is_null(gv)) rs->group_at[rs->n] = SIZE_MAX;
            else {
                rs->group_at[rs->n] = rs->groups.len;
                dql_value_format(&rs->groups, gv);
                dql_buf_putc(&rs->groups, 0);
            }
            rs->y[rs->n] = (uint8_t)y;
            rs->n++;
            if (ht && rs->n * 2 > hcap) {
                /* grow the dedup table */
                size_t nc = hcap * 2;
                size_t *nt = dql_xcalloc(nc, sizeof *nt);
                for (size_t j = 0; j < rs->n; j++) {
                    const char *s = rs->names.p + rs->name_at[j];
                    size_t k = (size_t)dql_hash_bytes(s, strlen(s), 7) & (nc - 1);
                    while (nt[k]) k = (k + 1) & (nc - 1);
                    nt[k] = j + 1;
                }
                free(ht);
                ht = nt;
                hcap = nc;
            }
        }
        if (st != DQL_OK) break;
        if (dql_exec_interrupted(ex)) { st = DQL_ERR_INTERRUPT; break; }
    }
    free(ht);
    dql_arena_free(&ar);
    return st;
}

/* ------------------------------------------------------------ reports */

typedef struct grp { const char *g; uint64_t n, flagged; uint8_t y; double ssum; } grp;
static int grp_cmp(const void *a, const void *b) { return strcmp(((const grp *)a)->g, ((const grp *)b)->g); }

/* Prints the evaluation of scores s against labels y at threshold t. rows
 * selects the rows of rs (NULL: all). */
static void report_metrics(FILE *out, const char *ind, const rowset *rs, const size_t *sel, size_t n,
                           const double *s, double t)
{
    uint8_t *y = dql_xmalloc(n ? n : 1);
    uint64_t tp = 0, fp = 0, tn = 0, fn = 0;
    for (size_t i = 0; i < n; i++) {
        size_t r = sel ? sel[i] : i;
        y[i] = rs->y[r];
        bool f = s[i] >= t;
        if (y[i]) { if (f) tp++; else fn++; } else { if (f) fp++; else tn++; }
    }
    uint64_t np = tp + fn, nn = tn + fp;
    double acc = n ? (double)(tp + tn) / (double)n : NAN;
    double prec = tp + fp ? (double)tp / (double)(tp + fp) : NAN;
    double rec = np ? (double)tp / (double)np : NAN;
    double f1 = prec + rec > 0 ? 2 * prec * rec / (prec + rec) : NAN;
    double fpr = nn ? (double)fp / (double)nn : NAN;
    fprintf(out, "%snames %zu (%llu malicious, %llu benign)\n", ind, n, (unsigned long long)np, (unsigned long long)nn);
    fprintf(out, "%sat threshold %.4f: accuracy %.4f, precision %.4f, recall %.4f, F1 %.4f, FPR %.4f\n",
            ind, t, acc, prec, rec, f1, fpr);
    if (t != 0.5) {
        uint64_t c = 0, f5 = 0;
        for (size_t i = 0; i < n; i++) { bool f = s[i] >= 0.5; c += f == (y[i] != 0); f5 += f && !y[i]; }
        fprintf(out, "%sat threshold 0.5: accuracy %.4f, FPR %.4f\n", ind, n ? (double)c / (double)n : NAN, nn ? (double)f5 / (double)nn : NAN);
    }
    fprintf(out, "%sROC-AUC %.4f; TPR %.4f at FPR 1%%, %.4f at FPR 0.1%%\n", ind, dql_auc(s, y, n),
            dql_tpr_at_fpr(s, y, n, 0.01), dql_tpr_at_fpr(s, y, n, 0.001));
    /* per group */
    grp *g = NULL;
    size_t ng = 0;
    for (size_t i = 0; i < n; i++) {
        size_t r = sel ? sel[i] : i;
        if (rs->group_at[r] == SIZE_MAX) continue;
        g = dql_xrealloc(g, (ng + 1) * sizeof *g);
        g[ng++] = (grp){ rs->groups.p + rs->group_at[r], 1, s[i] >= t, y[i], s[i] };
    }
    if (ng) {
        qsort(g, ng, sizeof *g, grp_cmp);
        size_t o = 0;
        for (size_t i = 0; i < ng; i++) {
            if (o && !strcmp(g[o - 1].g, g[i].g)) { g[o - 1].n++; g[o - 1].flagged += g[i].flagged; g[o - 1].ssum += g[i].ssum; if (g[i].y) g[o - 1].y = 1; }
            else g[o++] = g[i];
        }
        fprintf(out, "%sper group (recall: share flagged malicious; for benign groups the share passed):\n", ind);
        fprintf(out, "%s  %-24s %8s %8s %8s %10s\n", ind, "group", "names", "flagged", "recall", "mean score");
        for (size_t i = 0; i < o; i++) {
            double r = g[i].y ? (double)g[i].flagged / (double)g[i].n : (double)(g[i].n - g[i].flagged) / (double)g[i].n;
            fprintf(out, "%s  %-24s %8llu %8llu %8.4f %10.4f\n", ind, g[i].g, (unsigned long long)g[i].n,
                    (unsigned long long)g[i].flagged, r, g[i].ssum / (double)g[i].n);
        }
    }
    free(g);
    free(y);
}

/* --------------------------------------------------------------- TRAIN */

typedef struct train_opts {
    dql_rf_params rf;
    char thr_spec[64];
    double thr_fixed, thr_fpr;
    bool thr_is_fpr, thr_best;
    int folds;
    bool crossfit, balance;
    double holdout;
} train_opts;

static bool parse_threshold(const char *s, train_opts *o)
{
    char *end;
    snprintf(o->thr_spec, sizeof o->thr_spec, "%s", s);
    o->thr_best = false;
    if (!strcasecmp(s, "accuracy")) { o->thr_is_fpr = false; o->thr_best = true; return true; }
    if (!strncasecmp(s, "fpr:", 4)) {
        double v = strtod(s + 4, &end);
        if (end == s + 4 || *end || v < 0 || v >= 1) return false;
        o->thr_is_fpr = true; o->thr_fpr = v;
        return true;
    }
    double v = strtod(s, &end);
    if (end == s || *end || v < 0 || v > 1) return false;
    o->thr_is_fpr = false; o->thr_fixed = v;
    return true;
}

static dql_status train_opts_parse(const dql_args *with, train_opts *o, bool train, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->rf.trees = 100; o->rf.max_depth = 0; o->rf.min_leaf = 1; o->rf.mtry = 0; o->rf.seed = 1; o->rf.threads = 0;
    o->folds = 5; o->crossfit = true; o->balance = false; o->holdout = 0;
    parse_threshold("0.5", o);
    for (int i = 0; with && i < with->n; i++) {
        const dql_arg *a = &with->a[i];
        const char *nm = a->name ? a->name : "";
        int64_t v;
        if (!train) { snprintf(err, errlen, "EVALUATE takes no options"); return DQL_ERR_CHECK; }
        struct { const char *name; int *dst; int lo, hi; } ints[] = {
            { "trees", &o->rf.trees, 1, 10000 }, { "max_depth", &o->rf.max_depth, 0, 64 },
            { "min_leaf", &o->rf.min_leaf, 1, 1000000 }, { "mtry", &o->rf.mtry, 0, DQL_CF__COUNT },
            { "threads", &o->rf.threads, 0, 64 }, { "folds", &o->folds, 2, 20 },
        };
        bool done = false;
        for (size_t k = 0; k < sizeof ints / sizeof ints[0]; k++) {
            if (strcmp(nm, ints[k].name)) continue;
            if (!arg_long(&a->v, &v) || v < ints[k].lo || v > ints[k].hi) {
                snprintf(err, errlen, "%s must be an integer from %d to %d", nm, ints[k].lo, ints[k].hi);
                return DQL_ERR_CHECK;
            }
            *ints[k].dst = (int)v;
            done = true;
        }
        if (done) continue;
        if (!strcmp(nm, "seed")) {
            if (!arg_long(&a->v, &v) || v < 0) { snprintf(err, errlen, "seed must be a non-negative integer"); return DQL_ERR_CHECK; }
            o->rf.seed = (uint64_t)v;
        } else if (!strcmp(nm, "crossfit") || !strcmp(nm, "balance")) {
            if (!arg_bool(&a->v, !strcmp(nm, "crossfit") ? &o->crossfit : &o->balance)) { snprintf(err, errlen, "%s must be true or false", nm); return DQL_ERR_CHECK; }
        } else if (!strcmp(nm, "holdout")) {
            double d = a->v.type == DQL_T_DOUBLE ? a->v.u.d : (a->v.type == DQL_T_INT || a->v.type == DQL_T_LONG) ? (double)a->v.u.i : -1;
            if (d < 0 || d >= 1) { snprintf(err, errlen, "holdout must be a fraction from 0 to below 1"); return DQL_ERR_CHECK; }
            o->holdout = d;
        } else if (!strcmp(nm, "threshold")) {
            char tmp[64];
            if (a->v.type == DQL_T_DOUBLE) snprintf(tmp, sizeof tmp, "%.17g", a->v.u.d);
            else if (a->v.type == DQL_T_CHARARRAY && a->v.len < sizeof tmp) { memcpy(tmp, a->v.u.s, a->v.len); tmp[a->v.len] = 0; }
            else tmp[0] = 'x', tmp[1] = 0;
            if (!parse_threshold(tmp, o)) { snprintf(err, errlen, "threshold must be a number from 0 to 1 or 'fpr:RATE' (e.g. 'fpr:0.01') or 'accuracy'"); return DQL_ERR_CHECK; }
        } else if (!strcmp(nm, "features")) {
            if (a->v.type != DQL_T_CHARARRAY || a->v.len != 7 || strncmp(a->v.u.s, "default", 7)) { snprintf(err, errlen, "features: only 'default' is known"); return DQL_ERR_CHECK; }
        } else {
            snprintf(err, errlen, "unknown option '%s' (TRAIN takes trees, max_depth, min_leaf, mtry, seed, threshold, features, folds, crossfit, balance, holdout, threads)", a->name ? a->name : "(positional)");
            return DQL_ERR_CHECK;
        }
    }
    return DQL_OK;
}

static dql_status xs_check(const dql_xstmt_plan *xp, char *err, size_t errlen)
{
    if (!name_type_ok(xp->by->type)) {
        snprintf(err, errlen, "BY must be a domain or chararray, not %s", dql_type_name(xp->by->type));
        return DQL_ERR_CHECK;
    }
    dql_type lt = xp->label->type;
    if (lt == DQL_T_TUPLE || lt == DQL_T_BAG || lt == DQL_T_MAP || lt == DQL_T_IP || lt == DQL_T_CIDR || lt == DQL_T_DATETIME || lt == DQL_T_DOMAIN) {
        snprintf(err, errlen, "LABEL must be a boolean, a number or 'malicious'/'benign', not %s", dql_type_name(lt));
        return DQL_ERR_CHECK;
    }
    return DQL_OK;
}

static dql_status train_plan(const dql_xstmt_plan *xp, void **pstate, char *err, size_t errlen)
{
    if (xs_check(xp, err, errlen) != DQL_OK) return DQL_ERR_CHECK;
    train_opts *o = dql_xmalloc(sizeof *o);
    if (train_opts_parse(xp->with, o, true, err, errlen) != DQL_OK) { free(o); return DQL_ERR_CHECK; }
    /* the directory must exist */
    char *dir = dql_xstrdup(xp->target);
    char *sl = strrchr(dir, '/');
    struct stat sb;
    if (sl) { *sl = 0; if (!*dir) strcpy(dir, "/"); }
    if (sl && (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
        snprintf(err, errlen, "cannot write '%s': no directory '%s'", xp->target, dir);
        free(dir); free(o);
        return DQL_ERR_CHECK;
    }
    free(dir);
    pending_add(xp->target);
    *pstate = o;
    return DQL_OK;
}

static void shuffle(size_t *a, size_t n, uint64_t *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = dql_rng_below(rng, (uint32_t)i);
        size_t t = a[i - 1]; a[i - 1] = a[j]; a[j] = t;
    }
}

/* Writes buf to path atomically (temp file + rename). */
static dql_status write_file(dql_exec *ex, const char *path, const dql_buf *b)
{
    size_t pl = strlen(path);
    char *tmp = dql_xmalloc(pl + 16);
    snprintf(tmp, pl + 16, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    ex->op_name = "TRAIN"; ex->alias = NULL;
    if (!f) { free(tmp); return dql_exec_error_st(ex, DQL_ERR_IO, "cannot write '%s': %s", path, strerror(errno)); }
    bool ok = fwrite(b->p, 1, b->len, f) == b->len;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        free(tmp);
        return dql_exec_error_st(ex, DQL_ERR_IO, "cannot write '%s': %s", path, strerror(e));
    }
    free(tmp);
    return DQL_OK;
}

typedef struct impk { int f; double v; } impk;
static int cmp_impk(const void *a, const void *b)
{
    double x = ((const impk *)a)->v, y = ((const impk *)b)->v;
    if (x != y) return x < y ? 1 : -1;
    return ((const impk *)a)->f - ((const impk *)b)->f;
}

typedef struct sy2 { double s; uint8_t y; } sy2;
static int cmp_sy2(const void *a, const void *b)
{
    double x = ((const sy2 *)a)->s, y = ((const sy2 *)b)->s;
    return (x > y) - (x < y);
}

/* The threshold (midway between two distinct scores) with the highest
 * accuracy on s/y; ties go to the one nearest 0.5. */
static double best_accuracy_threshold(const double *s, const uint8_t *y, size_t n)
{
    sy2 *v = dql_xmalloc((n ? n : 1) * sizeof *v);
    size_t np = 0;
    for (size_t i = 0; i < n; i++) { v[i].s = s[i]; v[i].y = y[i]; np += y[i]; }
    qsort(v, n, sizeof *v, cmp_sy2);
    /* threshold t below v[i]: rows i.. are flagged */
    size_t below_neg = 0, below_pos = 0, best = 0;
    double bt = 0.5;
    for (size_t i = 0; i <= n; i++) {
        if (i == 0 || i == n || v[i].s != v[i - 1].s) {
            double t = i == 0 ? v[0].s : i == n ? 1.0 + 1e-9 : (v[i - 1].s + v[i].s) / 2;
            size_t correct = below_neg + (np - below_pos);
            if (correct > best || (correct == best && fabs(t - 0.5) < fabs(bt - 0.5))) { best = correct; bt = t; }
        }
        if (i < n) { if (v[i].y) below_pos++; else below_neg++; }
    }
    free(v);
    return bt;
}

static dql_status train_run(const dql_xstmt_plan *xp, void *pstate, dql_exec *ex, dql_rows_fn rows, void *ud, FILE *out)
{
    const train_opts *o = pstate;
    rowset rs = {0};
    dql_status st = read_rows(xp, ex, rows, ud, &rs, true);
    if (st != DQL_OK) { rowset_free(&rs); return st; }
    uint64_t rng = o->rf.seed * 0x2545f4914f6cdd1dull + 0x1234567;
    /* classes, shuffled */
    size_t *cls[2], ncls[2] = { 0, 0 };
    cls[0] = dql_xmalloc((rs.n + 1) * sizeof(size_t));
    cls[1] = dql_xmalloc((rs.n + 1) * sizeof(size_t));
    for (size_t i = 0; i < rs.n; i++) cls[rs.y[i]][ncls[rs.y[i]]++] = i;
    if (ncls[0] == 0 || ncls[1] == 0) {
        free(cls[0]); free(cls[1]); rowset_free(&rs);
        ex->op_name = "TRAIN"; ex->alias = NULL;
        return dql_exec_error(ex, "the training set needs both malicious and benign names (%zu malicious, %zu benign)", ncls[1], ncls[0]);
    }
    shuffle(cls[0], ncls[0], &rng);
    shuffle(cls[1], ncls[1], &rng);
    size_t dropped = 0;
    if (o->balance) {
        int big = ncls[1] > ncls[0];
        dropped = ncls[big] - ncls[!big];
        ncls[big] = ncls[!big];
    }
    /* stratified holdout: the first part of each shuffled class */
    size_t nho[2], *tr = dql_xmalloc((rs.n + 1) * sizeof(size_t)), *ho = dql_xmalloc((rs.n + 1) * sizeof(size_t));
    size_t ntr = 0, nh = 0;
    int *fold = dql_xmalloc((rs.n + 1) * sizeof(int));
    for (int c = 0; c < 2; c++) {
        nho[c] = (size_t)floor(o->holdout * (double)ncls[c] + 0.5);
        for (size_t i = 0; i < nho[c]; i++) ho[nh++] = cls[c][i];
        for (size_t i = nho[c]; i < ncls[c]; i++) { fold[cls[c][i]] = (int)((i - nho[c]) % (size_t)o->folds); tr[ntr++] = cls[c][i]; }
    }
    free(cls[0]); free(cls[1]);
    /* reference counts: total and per fold */
    size_t nwb;
    const char *words = dql_cf_builtin_words(&nwb);
    dql_cf_trie trie;
    dql_cf_trie_build(&trie, words, nwb);
    dql_cf_counts total, *fc = dql_xcalloc((size_t)o->folds, sizeof *fc);
    dql_cf_counts_init(&total);
    for (int k = 0; k < o->folds; k++) dql_cf_counts_init(&fc[k]);
    dql_cf_parts *parts = dql_xmalloc((ntr + nh + 1) * sizeof *parts);
    for (size_t i = 0; i < ntr; i++) {
        size_t r = tr[i];
        const char *nm = rs.names.p + rs.name_at[r];
        dql_cf_split(nm, strlen(nm), &parts[i]);
        dql_cf_counts_add(&total, &trie, &parts[i], rs.y[r]);
        if (o->crossfit) dql_cf_counts_add(&fc[fold[r]], &trie, &parts[i], rs.y[r]);
    }
    dql_cf_counts_finish(&total);
    int nf = DQL_CF__COUNT;
    float *X = dql_xmalloc(sizeof(float) * (size_t)nf * (ntr ? ntr : 1));
    uint8_t *Y = dql_xmalloc(ntr ? ntr : 1);
    float x[DQL_CF_MAX];
    int passes = o->crossfit ? o->folds : 1;
    for (int k = 0; k < passes; k++) {
        dql_cf_ref ref;
        if (o->crossfit) {
            dql_cf_counts_finish(&fc[k]);
            dql_cf_counts sub;
            dql_cf_counts_sub(&sub, &total, &fc[k]);
            dql_cf_ref_build(&ref, &sub, &trie);
            dql_cf_counts_free(&sub);
        } else
            dql_cf_ref_build(&ref, &total, &trie);
        for (size_t i = 0; i < ntr; i++) {
            if (o->crossfit && fold[tr[i]] != k) continue;
            dql_cf_extract(&ref, &parts[i], x);
            for (int f = 0; f < nf; f++) X[(size_t)f * ntr + i] = x[f];
            Y[i] = rs.y[tr[i]];
        }
        dql_cf_ref_free(&ref);
    }
    for (int k = 0; k < o->folds; k++) dql_cf_counts_free(&fc[k]);
    free(fc);
    dql_cf_trie_free(&trie);
    /* the forest */
    dql_model *m = dql_xcalloc(1, sizeof *m);
    m->nfeat = nf;
    m->featset = dql_xstrdup("default");
    double *oob = dql_xmalloc(sizeof(double) * (ntr ? ntr : 1));
    double imp[DQL_CF_MAX];
    dql_rf_train(m, X, Y, ntr, nf, &o->rf, oob, imp);
    free(X);
    /* threshold on out-of-bag scores */
    size_t noob = 0;
    double *os = dql_xmalloc(sizeof(double) * (ntr ? ntr : 1));
    uint8_t *oy = dql_xmalloc(ntr ? ntr : 1);
    for (size_t i = 0; i < ntr; i++) if (oob[i] >= 0) { os[noob] = oob[i]; oy[noob++] = Y[i]; }
    m->threshold = o->thr_is_fpr ? dql_threshold_at_fpr(os, oy, noob, o->thr_fpr)
                 : o->thr_best ? best_accuracy_threshold(os, oy, noob) : o->thr_fixed;
    m->threshold_spec = dql_xstrdup(o->thr_spec);
    dql_buf meta = {0};
    dql_buf_printf(&meta, "trees=%d\nmax_depth=%d\nmin_leaf=%d\nmtry=%d\nseed=%llu\nfolds=%d\ncrossfit=%s\nrows=%zu\nmalicious=%zu\nbenign=%zu\n",
                   o->rf.trees, o->rf.max_depth, o->rf.min_leaf, o->rf.mtry ? o->rf.mtry : (int)floor(sqrt((double)nf)),
                   (unsigned long long)o->rf.seed, o->folds, o->crossfit ? "true" : "false", ntr, ncls[1] - nho[1], ncls[0] - nho[0]);
    m->meta = dql_xstrdup(dql_buf_cstr(&meta));
    dql_buf_free(&meta);
    m->counts = total;
    m->words = dql_xmalloc(nwb + 1);
    memcpy(m->words, words, nwb);
    m->words[nwb] = 0;
    m->nwords_bytes = nwb;
    dql_buf file = {0};
    dql_model_write(m, &file);
    st = write_file(ex, xp->target, &file);
    /* report */
    if (st == DQL_OK) {
        /* the model's file name (not its directory) keeps reports comparable */
        const char *mbase = strrchr(xp->target, '/');
        fprintf(out, "TRAIN '%s': %zu names (%zu malicious, %zu benign)", mbase ? mbase + 1 : xp->target, ntr, ncls[1] - nho[1], ncls[0] - nho[0]);
        if (nh) fprintf(out, ", %zu held out", nh);
        fputc('\n', out);
        if (rs.dups || rs.skipped || dropped)
            fprintf(out, "  input: %llu duplicate names dropped (%llu with conflicting labels), %llu rows skipped, %zu dropped to balance the classes\n",
                    (unsigned long long)rs.dups, (unsigned long long)rs.conflicts, (unsigned long long)rs.skipped, dropped);
        fprintf(out, "  features: %d (default set); reference tables %s\n", nf,
                o->crossfit ? "cross-fitted" : "fitted on all training rows (no cross-fitting)");
        if (o->crossfit) fprintf(out, "  cross-fitting: %d folds\n", o->folds);
        fprintf(out, "  forest: %u trees, %u nodes, max_depth %d, min_leaf %d, mtry %d, seed %llu\n", m->ntrees, m->nnodes,
                o->rf.max_depth, o->rf.min_leaf, o->rf.mtry ? o->rf.mtry : (int)floor(sqrt((double)nf)), (unsigned long long)o->rf.seed);
        fprintf(out, "  threshold: %.6f (%s, on out-of-bag scores)\n", m->threshold, o->thr_spec);
        fprintf(out, "  model file: %zu bytes\n", file.len);
        impk ik[DQL_CF_MAX];
        for (int f = 0; f < nf; f++) ik[f] = (impk){ f, imp[f] };
        qsort(ik, (size_t)nf, sizeof *ik, cmp_impk);
        fprintf(out, "  importance:");
        for (int f = 0; f < 8 && f < nf; f++) fprintf(out, " %s %.3f", dql_cf_names[ik[f].f], ik[f].v);
        fputc('\n', out);
        fprintf(out, "  out-of-bag:\n");
        rowset ors = rs;      /* groups of the training rows, by index into tr */
        size_t *osel = dql_xmalloc((ntr + 1) * sizeof *osel);
        size_t k2 = 0;
        for (size_t i = 0; i < ntr; i++) if (oob[i] >= 0) osel[k2++] = tr[i];
        /* only overall numbers for OOB: hide groups */
        size_t *ga = ors.group_at;
        ors.group_at = dql_xmalloc((rs.n + 1) * sizeof(size_t));
        for (size_t i = 0; i < rs.n; i++) ors.group_at[i] = SIZE_MAX;
        report_metrics(out, "    ", &ors, osel, k2, os, m->threshold);
        free(ors.group_at);
        ors.group_at = ga;
        free(osel);
        if (nh) {
            dql_model_prepare(m);
            float *hx = dql_xmalloc(sizeof(float) * (size_t)nf * nh);
            double *hs = dql_xmalloc(sizeof(double) * nh);
            for (size_t i = 0; i < nh; i++) {
                const char *nm = rs.names.p + rs.name_at[ho[i]];
                dql_cf_parts p;
                dql_cf_split(nm, strlen(nm), &p);
                dql_cf_extract(&m->ref, &p, hx + i * (size_t)nf);
            }
            for (size_t i = 0; i < nh; i += DQL_BATCH_ROWS) {
                int k = (int)(nh - i < DQL_BATCH_ROWS ? nh - i : DQL_BATCH_ROWS);
                dql_rf_score_batch(m, hx + i * (size_t)nf, k, hs + i);
            }
            fprintf(out, "  held out (stratified %.0f%%):\n", o->holdout * 100);
            report_metrics(out, "    ", &rs, ho, nh, hs, m->threshold);
            free(hx); free(hs);
        }
    }
    dql_buf_free(&file);
    free(os); free(oy); free(oob); free(Y); free(parts); free(tr); free(ho); free(fold);
    dql_model_free(m);
    rowset_free(&rs);
    return st;
}

static void opts_free(void *p) { free(p); }

const dql_xstmt_def dql_xstmt_train = {
    "TRAIN",
    "TRAIN 'model.dqlm' FROM rel BY name LABEL expr [GROUP BY expr] [WITH (trees = 100, max_depth = 0, min_leaf = 1, mtry = 0, seed = 1, threshold = '0.5', folds = 5, crossfit = true, balance = false, holdout = 0, threads = 0)]",
    "train a random-forest domain classifier (cross-fitted reference tables) and write it to a model file",
    train_plan, opts_free, train_run,
};

/* ------------------------------------------------------------ EVALUATE */

static dql_status eval_plan(const dql_xstmt_plan *xp, void **pstate, char *err, size_t errlen)
{
    if (xs_check(xp, err, errlen) != DQL_OK) return DQL_ERR_CHECK;
    train_opts o;
    if (train_opts_parse(xp->with, &o, false, err, errlen) != DQL_OK) return DQL_ERR_CHECK;
    if (!plan_check_model(xp->target, err, errlen)) return DQL_ERR_CHECK;
    *pstate = NULL;
    return DQL_OK;
}

static dql_status eval_run(const dql_xstmt_plan *xp, void *pstate, dql_exec *ex, dql_rows_fn rows, void *ud, FILE *out)
{
    (void)pstate;
    char err[400];
    dql_model *m = NULL;
    ex->op_name = "EVALUATE"; ex->alias = NULL;
    if (dql_model_load(xp->target, &m, err, sizeof err) != DQL_OK) return dql_exec_error(ex, "%s", err);
    rowset rs = {0};
    dql_status st = read_rows(xp, ex, rows, ud, &rs, false);
    if (st == DQL_OK) {
        int nf = m->nfeat;
        float *x = dql_xmalloc(sizeof(float) * (size_t)nf * DQL_BATCH_ROWS);
        double *s = dql_xmalloc(sizeof(double) * (rs.n ? rs.n : 1));
        for (size_t i = 0; i < rs.n; i += DQL_BATCH_ROWS) {
            int k = (int)(rs.n - i < DQL_BATCH_ROWS ? rs.n - i : DQL_BATCH_ROWS);
            for (int j = 0; j < k; j++) {
                const char *nm = rs.names.p + rs.name_at[i + (size_t)j];
                dql_cf_parts p;
                dql_cf_split(nm, strlen(nm), &p);
                dql_cf_extract(&m->ref, &p, x + (size_t)j * (size_t)nf);
            }
            dql_rf_score_batch(m, x, k, s + i);
        }
        fprintf(out, "EVALUATE '%s' (threshold %.6f, %s):\n", xp->target, m->threshold, m->threshold_spec[0] ? m->threshold_spec : "fixed");
        if (rs.skipped) fprintf(out, "  %llu rows skipped\n", (unsigned long long)rs.skipped);
        report_metrics(out, "  ", &rs, NULL, rs.n, s, m->threshold);
        free(x); free(s);
    }
    rowset_free(&rs);
    dql_model_free(m);
    return st;
}

const dql_xstmt_def dql_xstmt_evaluate = {
    "EVALUATE",
    "EVALUATE 'model.dqlm' ON rel BY name LABEL expr [GROUP BY expr]",
    "print accuracy, precision, recall, F1, ROC-AUC, TPR at low FPR and per-group recall of a model on labelled names",
    eval_plan, NULL, eval_run,
};
