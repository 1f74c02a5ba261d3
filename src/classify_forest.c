/* classify_forest.c — the random forest of CLASSIFY and TRAIN, and the model
 * file. Training: features pre-binned into at most 256 quantile bins,
 * bootstrap samples, a random subset of features tried at each split,
 * gini impurity on bin histograms; trees grown in parallel, each from its
 * own seed, so the result does not depend on the number of threads.
 * Scoring: every tree in one flat array of 8-byte nodes (children side by
 * side), a batch of rows run tree by tree; one row runs eight trees at a
 * time to overlap their memory loads. The model file: a header (magic,
 * version, payload length, CRC-32), then tagged sections. */
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <errno.h>
#include <pthread.h>
#include <unistd.h>
#include <zlib.h>
#include "classify.h"

/* ----------------------------------------------------------- scoring */

static inline float tree_eval(const dql_rf_node *t, const float *x)
{
    uint32_t k = 0;
    for (;;) {
        dql_rf_node nd = t[k];
        uint32_t f = nd.x >> 24;
        if (f == DQL_RF_LEAF) return nd.v;
        k = (nd.x & 0xffffffu) + (x[f] > nd.v);
    }
}

/* Builds the lock-step layout of the trees (see dql_model). */
static void score_layout(dql_model *m)
{
    free(m->sn); free(m->lv);
    m->sn = dql_xmalloc(sizeof *m->sn * (m->nnodes ? m->nnodes : 1));
    m->lv = dql_xmalloc(sizeof *m->lv * (m->nnodes ? m->nnodes : 1));
    for (uint32_t t = 0; t < m->ntrees; t++) {
        uint32_t r0 = m->roots[t], r1 = t + 1 < m->ntrees ? m->roots[t + 1] : m->nnodes;
        for (uint32_t k = r0; k < r1; k++) {
            dql_rf_node nd = m->nodes[k];
            if (nd.x >> 24 == DQL_RF_LEAF) {
                m->lv[k] = nd.v;
                m->sn[k].v = INFINITY;
                m->sn[k].x = k - r0;          /* feature 0, itself */
            } else {
                m->lv[k] = 0;
                m->sn[k] = nd;
            }
        }
    }
}

/* G traversals in lock step: tr[i] the tree, x[i] the row; leaves loop to
 * themselves, so the loop runs until every traversal sits on a leaf. */
#define LOCKSTEP(G, TREE, ROW, ROOT, OUT)                                        \
    do {                                                                         \
        uint32_t k_[G];                                                          \
        for (int i_ = 0; i_ < (G); i_++) k_[i_] = 0;                             \
        for (;;) {                                                               \
            for (int s_ = 0; s_ < 4; s_++)                                       \
                for (int i_ = 0; i_ < (G); i_++) {                               \
                    dql_rf_node nd_ = (TREE(i_))[k_[i_]];                        \
                    k_[i_] = (nd_.x & 0xffffffu) + ((ROW(i_))[nd_.x >> 24] > nd_.v); \
                }                                                                \
            bool done_ = true;                                                   \
            for (int i_ = 0; i_ < (G); i_++) done_ &= (TREE(i_))[k_[i_]].v == INFINITY; \
            if (done_) break;                                                    \
        }                                                                        \
        for (int i_ = 0; i_ < (G); i_++) OUT(i_, m->lv[(ROOT(i_)) + k_[i_]]);     \
    } while (0)

void dql_rf_score_batch(const dql_model *m, const float *x, int nrows, double *out)
{
    enum { G = 16 };
    int nf = m->nfeat;
    for (int r = 0; r < nrows; r++) out[r] = 0;
    for (uint32_t t = 0; t < m->ntrees; t++) {
        uint32_t root = m->roots[t];
        const dql_rf_node *tr = m->sn + root;
        int r = 0;
        for (; r + G <= nrows; r += G) {
            const float *xb = x + (size_t)r * (size_t)nf;
            double *ob = out + r;
#define T_(i) tr
#define R_(i) (xb + (size_t)(i) * (size_t)nf)
#define RT_(i) root
#define O_(i, v) (ob[i] += (v))
            LOCKSTEP(G, T_, R_, RT_, O_);
#undef T_
#undef R_
#undef RT_
#undef O_
        }
        for (; r < nrows; r++) out[r] += tree_eval(m->nodes + root, x + (size_t)r * (size_t)nf);
    }
    double inv = m->ntrees ? 1.0 / m->ntrees : 0;
    for (int r = 0; r < nrows; r++) out[r] *= inv;
}

double dql_rf_score_one(const dql_model *m, const float *x)
{
    enum { G = 10 };
    double sum = 0;
    uint32_t t = 0;
    for (; t + G <= m->ntrees; t += G) {
        float leaf[G];
        const uint32_t *rt = m->roots + t;
#define T_(i) (m->sn + rt[i])
#define R_(i) x
#define RT_(i) rt[i]
#define O_(i, v) (leaf[i] = (v))
        LOCKSTEP(G, T_, R_, RT_, O_);
#undef T_
#undef R_
#undef RT_
#undef O_
        for (int i = 0; i < G; i++) sum += leaf[i];
    }
    for (; t < m->ntrees; t++) sum += tree_eval(m->nodes + m->roots[t], x);
    return m->ntrees ? sum / m->ntrees : 0;
}

void dql_rf_contrib(const dql_model *m, const float *x, double *contrib)
{
    for (int f = 0; f < m->nfeat; f++) contrib[f] = 0;
    if (!m->nval) return;
    for (uint32_t t = 0; t < m->ntrees; t++) {
        const dql_rf_node *tr = m->nodes + m->roots[t];
        const float *val = m->nval + m->roots[t];
        uint32_t k = 0;
        for (;;) {
            uint32_t f = tr[k].x >> 24;
            if (f == DQL_RF_LEAF) break;
            uint32_t c = (tr[k].x & 0xffffffu) + (x[f] > tr[k].v);
            contrib[f] += val[c] - val[k];
            k = c;
        }
    }
    for (int f = 0; f < m->nfeat; f++) contrib[f] /= m->ntrees ? m->ntrees : 1;
}

/* ---------------------------------------------------------- training */

typedef struct tree_out {
    dql_rf_node *nodes;
    float *val;
    uint32_t n, cap;
    double imp[DQL_CF_MAX];
} tree_out;

typedef struct train_ctx {
    const float *x;          /* column-major */
    const uint8_t *bins;     /* column-major */
    const float *edges;      /* [f * 256] */
    const int *nedges;
    const uint8_t *y;
    size_t n;
    int nfeat;
    dql_rf_params p;
    tree_out *trees;
    int64_t *oob_sum;        /* fixed point (2^24) per thread: [thread][n] */
    uint32_t *oob_cnt;
    int next;                /* next tree to grow (under lock) */
    pthread_mutex_t mu;
} train_ctx;

typedef struct scratch {
    uint16_t *w;
    uint32_t *idx, *tmp;
    int *feats;
} scratch;

static uint32_t node_new(tree_out *t)
{
    if (t->n + 2 > t->cap) {
        t->cap = t->cap ? t->cap * 2 : 1024;
        t->nodes = dql_xrealloc(t->nodes, t->cap * sizeof *t->nodes);
        t->val = dql_xrealloc(t->val, t->cap * sizeof *t->val);
    }
    return t->n++;
}

typedef struct frame { uint32_t node, lo, hi; int depth; } frame;

static void grow_tree(train_ctx *c, int ti, scratch *s, int64_t *oob_sum, uint32_t *oob_cnt)
{
    size_t n = c->n;
    uint64_t rng = c->p.seed * 0x9e3779b97f4a7c15ull + (uint64_t)ti * 0xd1b54a32d192ed03ull + 1;
    memset(s->w, 0, n * sizeof *s->w);
    for (size_t i = 0; i < n; i++) s->w[dql_rng_below(&rng, (uint32_t)n)]++;
    uint32_t m = 0;
    for (size_t i = 0; i < n; i++) if (s->w[i]) s->idx[m++] = (uint32_t)i;
    tree_out *t = &c->trees[ti];
    memset(t, 0, sizeof *t);
    frame *stack = dql_xmalloc(sizeof(frame) * 256);
    int sp = 0, scap = 256;
    uint32_t root = node_new(t);
    stack[sp++] = (frame){ root, 0, m, 0 };
    int nf = c->nfeat;
    int mtry = c->p.mtry;
    while (sp > 0) {
        frame fr = stack[--sp];
        uint64_t W = 0, P = 0;
        for (uint32_t i = fr.lo; i < fr.hi; i++) { uint32_t r = s->idx[i]; W += s->w[r]; P += c->y[r] ? s->w[r] : 0; }
        double val = W ? (double)P / (double)W : 0;
        t->val[fr.node] = (float)val;
        bool leaf = P == 0 || P == W || (c->p.max_depth > 0 && fr.depth >= c->p.max_depth)
                    || W < 2 * (uint64_t)c->p.min_leaf;
        int bf = -1, bb = -1;
        double best = 0;
        if (!leaf) {
            double Nn = (double)(W - P), Pp = (double)P;
            double parent = (Pp * Pp + Nn * Nn) / (double)W;
            best = parent + 1e-12 * (double)W;
            for (int f = 0; f < nf; f++) s->feats[f] = f;
            int visited = 0;
            for (int j = 0; j < nf && visited < mtry; j++) {
                int r = j + (int)dql_rng_below(&rng, (uint32_t)(nf - j));
                int f = s->feats[r]; s->feats[r] = s->feats[j]; s->feats[j] = f;
                uint32_t hw[257], hp[257];
                int nb = c->nedges[f] + 1;
                memset(hw, 0, sizeof(uint32_t) * (size_t)nb);
                memset(hp, 0, sizeof(uint32_t) * (size_t)nb);
                const uint8_t *bcol = c->bins + (size_t)f * n;
                for (uint32_t i = fr.lo; i < fr.hi; i++) {
                    uint32_t rr = s->idx[i];
                    uint8_t b = bcol[rr];
                    hw[b] += s->w[rr];
                    hp[b] += c->y[rr] ? s->w[rr] : 0;
                }
                int nonempty = 0;
                for (int b = 0; b < nb; b++) nonempty += hw[b] > 0;
                if (nonempty < 2) continue;
                visited++;
                uint64_t lw = 0, lp = 0;
                for (int b = 0; b < nb - 1; b++) {
                    lw += hw[b]; lp += hp[b];
                    if (!hw[b]) continue;
                    uint64_t rw = W - lw, rp = P - lp;
                    if (lw < (uint64_t)c->p.min_leaf) continue;
                    if (rw < (uint64_t)c->p.min_leaf) break;
                    double ln = (double)(lw - lp), rn = (double)(rw - rp);
                    double sc = ((double)lp * (double)lp + ln * ln) / (double)lw
                              + ((double)rp * (double)rp + rn * rn) / (double)rw;
                    if (sc > best) { best = sc; bf = f; bb = b; }
                }
            }
            if (bf < 0) leaf = true;
            else {
                /* gini decrease, weighted: (score - parent) / total */
                t->imp[bf] += (best - parent);
            }
        }
        if (leaf) {
            t->nodes[fr.node].v = (float)val;
            t->nodes[fr.node].x = DQL_RF_LEAF << 24;
            continue;
        }
        /* partition idx[lo, hi) by bin <= bb */
        const uint8_t *bcol = c->bins + (size_t)bf * n;
        uint32_t a = fr.lo, z = fr.hi;
        while (a < z) {
            if (bcol[s->idx[a]] <= bb) a++;
            else { uint32_t tmp = s->idx[a]; s->idx[a] = s->idx[--z]; s->idx[z] = tmp; }
        }
        uint32_t l = node_new(t);
        uint32_t r = node_new(t);
        (void)r;
        if (l > 0xffffffu) { t->nodes[fr.node].v = (float)val; t->nodes[fr.node].x = DQL_RF_LEAF << 24; t->n -= 2; continue; }
        t->nodes[fr.node].v = c->edges[bf * 256 + bb];
        t->nodes[fr.node].x = ((uint32_t)bf << 24) | l;
        if (sp + 2 > scap) { scap *= 2; stack = dql_xrealloc(stack, sizeof(frame) * (size_t)scap); }
        stack[sp++] = (frame){ l + 1, a, fr.hi, fr.depth + 1 };
        stack[sp++] = (frame){ l, fr.lo, a, fr.depth + 1 };
    }
    free(stack);
    /* out-of-bag predictions, in fixed point so that sums do not depend on
     * the order trees finish in */
    for (size_t i = 0; i < n; i++) {
        if (s->w[i]) continue;
        float xr[DQL_CF_MAX];
        for (int f = 0; f < nf; f++) xr[f] = c->x[(size_t)f * n + i];
        float v = tree_eval(t->nodes, xr);
        oob_sum[i] += (int64_t)llround((double)v * 16777216.0);
        oob_cnt[i]++;
    }
}

typedef struct worker { train_ctx *c; int id; } worker;

static void *train_worker(void *ud)
{
    worker *wk = ud;
    train_ctx *c = wk->c;
    scratch s;
    s.w = dql_xmalloc(c->n * sizeof *s.w);
    s.idx = dql_xmalloc(c->n * sizeof *s.idx);
    s.tmp = NULL;
    s.feats = dql_xmalloc(sizeof(int) * (size_t)c->nfeat);
    int64_t *osum = c->oob_sum + (size_t)wk->id * c->n;
    uint32_t *ocnt = c->oob_cnt + (size_t)wk->id * c->n;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        int ti = c->next < c->p.trees ? c->next++ : -1;
        pthread_mutex_unlock(&c->mu);
        if (ti < 0) break;
        grow_tree(c, ti, &s, osum, ocnt);
    }
    free(s.w); free(s.idx); free(s.feats);
    return NULL;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

void dql_rf_train(dql_model *m, const float *x, const uint8_t *y, size_t n, int nfeat,
                  const dql_rf_params *p, double *oob, double *importance)
{
    train_ctx c;
    memset(&c, 0, sizeof c);
    c.x = x; c.y = y; c.n = n; c.nfeat = nfeat; c.p = *p;
    if (c.p.mtry <= 0) c.p.mtry = (int)floor(sqrt((double)nfeat));
    if (c.p.mtry < 1) c.p.mtry = 1;
    if (c.p.mtry > nfeat) c.p.mtry = nfeat;
    if (c.p.min_leaf < 1) c.p.min_leaf = 1;
    int nth = c.p.threads;
    if (nth <= 0) { long nc = sysconf(_SC_NPROCESSORS_ONLN); nth = nc > 0 ? (int)nc : 1; }
    if (nth > 64) nth = 64;
    if (nth > c.p.trees) nth = c.p.trees > 0 ? c.p.trees : 1;
    /* quantile bins */
    float *edges = dql_xcalloc((size_t)nfeat * 256, sizeof *edges);
    int *nedges = dql_xcalloc((size_t)nfeat, sizeof *nedges);
    uint8_t *bins = dql_xmalloc((size_t)nfeat * (n ? n : 1));
    float *tmp = dql_xmalloc((n ? n : 1) * sizeof *tmp);
    for (int f = 0; f < nfeat; f++) {
        const float *col = x + (size_t)f * n;
        memcpy(tmp, col, n * sizeof *tmp);
        qsort(tmp, n, sizeof *tmp, cmp_float);
        size_t u = 0;
        for (size_t i = 0; i < n; i++) if (u == 0 || tmp[i] != tmp[u - 1]) tmp[u++] = tmp[i];
        float *e = edges + (size_t)f * 256;
        int ne = 0;
        if (u <= 256) {
            for (size_t i = 0; i + 1 < u; i++) e[ne++] = tmp[i];
        } else {
            /* quantiles of the distinct values weighted by rows: use the
             * sorted column itself */
            memcpy(tmp, col, n * sizeof *tmp);
            qsort(tmp, n, sizeof *tmp, cmp_float);
            for (int k = 1; k < 256; k++) {
                float v = tmp[(size_t)((double)k * (double)n / 256.0)];
                if (v == tmp[n - 1]) break;
                if (ne == 0 || v > e[ne - 1]) e[ne++] = v;
            }
        }
        nedges[f] = ne;
        uint8_t *bc = bins + (size_t)f * n;
        for (size_t i = 0; i < n; i++) {
            int lo = 0, hi = ne;          /* first edge >= x */
            while (lo < hi) { int mid = (lo + hi) / 2; if (e[mid] < col[i]) lo = mid + 1; else hi = mid; }
            bc[i] = (uint8_t)lo;
        }
    }
    free(tmp);
    c.bins = bins; c.edges = edges; c.nedges = nedges;
    c.trees = dql_xcalloc((size_t)(c.p.trees > 0 ? c.p.trees : 1), sizeof *c.trees);
    c.oob_sum = dql_xcalloc((size_t)nth * (n ? n : 1), sizeof *c.oob_sum);
    c.oob_cnt = dql_xcalloc((size_t)nth * (n ? n : 1), sizeof *c.oob_cnt);
    pthread_mutex_init(&c.mu, NULL);
    pthread_t th[64];
    worker wk[64];
    for (int i = 0; i < nth; i++) {
        wk[i].c = &c; wk[i].id = i;
        if (i > 0 && pthread_create(&th[i], NULL, train_worker, &wk[i]) != 0) { wk[i].id = -1; }
    }
    train_worker(&wk[0]);
    for (int i = 1; i < nth; i++) if (wk[i].id >= 0) pthread_join(th[i], NULL);
    pthread_mutex_destroy(&c.mu);
    /* threads that could not start: their share was done by the others */
    /* concatenate */
    uint64_t total = 0;
    for (int t = 0; t < c.p.trees; t++) total += c.trees[t].n;
    m->ntrees = (uint32_t)c.p.trees;
    m->nnodes = (uint32_t)total;
    free(m->roots); free(m->nodes); free(m->nval);
    m->roots = dql_xmalloc(sizeof *m->roots * (size_t)(m->ntrees ? m->ntrees : 1));
    m->nodes = dql_xmalloc(sizeof *m->nodes * (size_t)(total ? total : 1));
    m->nval = dql_xmalloc(sizeof *m->nval * (size_t)(total ? total : 1));
    uint32_t at = 0;
    for (int f = 0; f < nfeat && importance; f++) importance[f] = 0;
    for (int t = 0; t < c.p.trees; t++) {
        m->roots[t] = at;
        memcpy(m->nodes + at, c.trees[t].nodes, c.trees[t].n * sizeof *m->nodes);
        memcpy(m->nval + at, c.trees[t].val, c.trees[t].n * sizeof *m->nval);
        at += c.trees[t].n;
        for (int f = 0; f < nfeat && importance; f++) importance[f] += c.trees[t].imp[f];
        free(c.trees[t].nodes);
        free(c.trees[t].val);
    }
    if (importance) {
        double s = 0;
        for (int f = 0; f < nfeat; f++) s += importance[f];
        for (int f = 0; f < nfeat && s > 0; f++) importance[f] /= s;
    }
    for (size_t i = 0; i < n && oob; i++) {
        int64_t sum = 0; uint32_t cnt = 0;
        for (int k = 0; k < nth; k++) { sum += c.oob_sum[(size_t)k * n + i]; cnt += c.oob_cnt[(size_t)k * n + i]; }
        oob[i] = cnt ? (double)sum / 16777216.0 / cnt : -1;
    }
    free(c.trees); free(c.oob_sum); free(c.oob_cnt);
    free(bins); free(edges); free(nedges);
    score_layout(m);
}

/* ----------------------------------------------------------- metrics */

typedef struct sy { double s; uint8_t y; } sy;
static int cmp_sy(const void *a, const void *b)
{
    double x = ((const sy *)a)->s, y = ((const sy *)b)->s;
    return (x > y) - (x < y);
}

double dql_auc(const double *s, const uint8_t *y, size_t n)
{
    sy *v = dql_xmalloc((n ? n : 1) * sizeof *v);
    size_t np = 0, nn = 0;
    for (size_t i = 0; i < n; i++) { v[i].s = s[i]; v[i].y = y[i]; if (y[i]) np++; else nn++; }
    qsort(v, n, sizeof *v, cmp_sy);
    double rs = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && v[j].s == v[i].s) j++;
        double rank = (double)(i + j + 1) / 2.0;   /* 1-based average rank */
        for (size_t k = i; k < j; k++) if (v[k].y) rs += rank;
        i = j;
    }
    free(v);
    if (!np || !nn) return NAN;
    return (rs - (double)np * (double)(np + 1) / 2.0) / ((double)np * (double)nn);
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

double dql_threshold_at_fpr(const double *s, const uint8_t *y, size_t n, double fpr)
{
    double *neg = dql_xmalloc((n ? n : 1) * sizeof *neg);
    size_t nn = 0;
    for (size_t i = 0; i < n; i++) if (!y[i]) neg[nn++] = s[i];
    if (!nn) { free(neg); return 0.5; }
    qsort(neg, nn, sizeof *neg, cmp_desc);
    size_t k = (size_t)floor(fpr * (double)nn + 1e-9);
    double t;
    if (k >= nn) t = 0;
    else {
        /* above neg[k]: at most k negatives at or above t */
        size_t j = k;
        while (j > 0 && neg[j - 1] == neg[k]) j--;
        double up = j > 0 ? neg[j - 1] : 1.0;
        t = up > neg[k] ? (neg[k] + up) / 2.0 : nextafter(neg[k], 2.0);
        if (j == 0 && neg[k] >= 1.0) t = nextafter(1.0, 2.0);
    }
    free(neg);
    return t;
}

double dql_tpr_at_fpr(const double *s, const uint8_t *y, size_t n, double fpr)
{
    double t = dql_threshold_at_fpr(s, y, n, fpr);
    size_t np = 0, tp = 0;
    for (size_t i = 0; i < n; i++) if (y[i]) { np++; tp += s[i] >= t; }
    return np ? (double)tp / (double)np : NAN;
}

/* -------------------------------------------------------- model file */

#define MAGIC "DQLMODEL"
#define MODEL_VERSION 1u
#define HDR 24

static void put32(dql_buf *b, uint32_t v)
{
    uint8_t c[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    dql_buf_put(b, c, 4);
}
static void put64(dql_buf *b, uint64_t v) { put32(b, (uint32_t)v); put32(b, (uint32_t)(v >> 32)); }
static void putf(dql_buf *b, float f) { uint32_t u; memcpy(&u, &f, 4); put32(b, u); }
static uint32_t get32(const uint8_t *p) { return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }
static float getf(const uint8_t *p) { uint32_t u = get32(p); float f; memcpy(&f, &u, 4); return f; }

static void section(dql_buf *b, const char tag[4], const dql_buf *body)
{
    dql_buf_put(b, tag, 4);
    put32(b, (uint32_t)body->len);
    if (body->len) dql_buf_put(b, body->p, body->len);
}

void dql_model_write(const dql_model *m, dql_buf *out)
{
    dql_buf pay = {0}, s = {0};
    /* META */
    dql_buf_printf(&s, "featset=%s\nnfeat=%d\nfeatures=", m->featset ? m->featset : "default", m->nfeat);
    for (int f = 0; f < m->nfeat; f++) dql_buf_printf(&s, "%s%s", f ? "," : "", dql_cf_names[f]);
    dql_buf_printf(&s, "\nthreshold=%.17g\nthreshold_spec=%s\n", m->threshold, m->threshold_spec ? m->threshold_spec : "");
    if (m->meta) dql_buf_puts(&s, m->meta);
    section(&pay, "META", &s); s.len = 0;
    /* WORD */
    if (m->nwords_bytes) dql_buf_put(&s, m->words, m->nwords_bytes);
    section(&pay, "WORD", &s); s.len = 0;
    /* BIGR */
    put64(&s, m->counts.nben); put64(&s, m->counts.nmal);
    for (int i = 0; i < DQL_CF_BI; i++) put32(&s, m->counts.bi_ben[i]);
    for (int i = 0; i < DQL_CF_BI; i++) put32(&s, m->counts.bi_mal[i]);
    section(&pay, "BIGR", &s); s.len = 0;
    /* TRIG */
    for (int i = 0; i < DQL_CF_TRI; i++) put32(&s, m->counts.tri_ben[i]);
    for (int i = 0; i < DQL_CF_TRI; i++) put32(&s, m->counts.tri_mal[i]);
    section(&pay, "TRIG", &s); s.len = 0;
    /* SUFX */
    put32(&s, (uint32_t)m->counts.nsuf);
    for (int i = 0; i < m->counts.nsuf; i++) {
        size_t l = strlen(m->counts.suf[i].s);
        put32(&s, m->counts.suf[i].ben); put32(&s, m->counts.suf[i].mal); put32(&s, (uint32_t)l);
        dql_buf_put(&s, m->counts.suf[i].s, l);
    }
    section(&pay, "SUFX", &s); s.len = 0;
    /* WRDS: the same layout for the word counts, after the two totals */
    put64(&s, m->counts.wben); put64(&s, m->counts.wmal);
    put32(&s, (uint32_t)m->counts.nwrd);
    for (int i = 0; i < m->counts.nwrd; i++) {
        size_t l = strlen(m->counts.wrd[i].s);
        put32(&s, m->counts.wrd[i].ben); put32(&s, m->counts.wrd[i].mal); put32(&s, (uint32_t)l);
        dql_buf_put(&s, m->counts.wrd[i].s, l);
    }
    section(&pay, "WRDS", &s); s.len = 0;
    /* TREE */
    put32(&s, m->ntrees); put32(&s, m->nnodes);
    for (uint32_t t = 0; t < m->ntrees; t++) put32(&s, m->roots[t]);
    for (uint32_t i = 0; i < m->nnodes; i++) { putf(&s, m->nodes[i].v); put32(&s, m->nodes[i].x); }
    /* node values for EXPLAIN, in 1/255 steps */
    for (uint32_t i = 0; i < m->nnodes; i++) {
        uint8_t q = m->nval ? (uint8_t)lrintf(m->nval[i] * 255.0f) : 0;
        dql_buf_put(&s, &q, 1);
    }
    section(&pay, "TREE", &s);
    dql_buf_free(&s);
    dql_buf_put(out, MAGIC, 8);
    put32(out, MODEL_VERSION);
    put64(out, pay.len);
    put32(out, (uint32_t)crc32(0L, (const Bytef *)pay.p, (uInt)pay.len));
    dql_buf_put(out, pay.p, pay.len);
    dql_buf_free(&pay);
}

static const char *meta_get(const char *meta, const char *key, size_t *len)
{
    size_t kl = strlen(key);
    for (const char *p = meta; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t ll = nl ? (size_t)(nl - p) : strlen(p);
        if (ll > kl && !strncmp(p, key, kl) && p[kl] == '=') { *len = ll - kl - 1; return p + kl + 1; }
        p = nl ? nl + 1 : NULL;
    }
    return NULL;
}

#define BAD(...) do { snprintf(err, errlen, __VA_ARGS__); dql_model_free(m); return DQL_ERR_IO; } while (0)

dql_status dql_model_read(const void *data, size_t n, dql_model **out, char *err, size_t errlen)
{
    const uint8_t *p = data;
    dql_model *m = dql_xcalloc(1, sizeof *m);
    *out = NULL;
    if (n < 8 || memcmp(p, MAGIC, 8) != 0) BAD("not a dql model file (no DQLMODEL signature)");
    if (n < HDR) BAD("truncated model file (%zu bytes; the header alone is %d)", n, HDR);
    uint32_t ver = get32(p + 8);
    if (ver != MODEL_VERSION) BAD("model file format version %u is not supported (this dql reads version %u)", ver, MODEL_VERSION);
    uint64_t plen = get64(p + 12);
    if (plen != n - HDR) {
        if (plen > n - HDR) BAD("truncated model file (%zu bytes of data, the header says %llu)", n - HDR, (unsigned long long)plen);
        BAD("corrupt model file (%zu bytes of data, the header says %llu)", n - HDR, (unsigned long long)plen);
    }
    uint32_t crc = (uint32_t)crc32(0L, (const Bytef *)(p + HDR), (uInt)plen);
    if (crc != get32(p + 20)) BAD("corrupt model file (checksum mismatch)");
    const uint8_t *q = p + HDR, *end = p + n;
    bool have[7] = {0};
    dql_cf_counts_init(&m->counts);
    while (q < end) {
        if (end - q < 8) BAD("corrupt model file (section header cut short)");
        char tag[5] = {0};
        memcpy(tag, q, 4);
        uint32_t len = get32(q + 4);
        q += 8;
        if ((uint64_t)(end - q) < len) BAD("corrupt model file (section %s overruns the file)", tag);
        const uint8_t *b = q;
        q += len;
        /* each section at most once (a second one would leak the first) */
        static const char *const once[] = { "META", "WORD", "BIGR", "TRIG", "SUFX", "TREE", "WRDS" };
        for (int k = 0; k < 7; k++)
            if (!strcmp(tag, once[k]) && have[k]) BAD("corrupt model file (two %s sections)", tag);
        if (!strcmp(tag, "META")) {
            m->meta = dql_xstrndup((const char *)b, len);
            have[0] = true;
        } else if (!strcmp(tag, "WORD")) {
            m->words = dql_xstrndup((const char *)b, len);
            m->nwords_bytes = len;
            have[1] = true;
        } else if (!strcmp(tag, "BIGR")) {
            if (len != 16 + 8u * DQL_CF_BI) BAD("corrupt model file (section BIGR has %u bytes)", len);
            m->counts.nben = get64(b); m->counts.nmal = get64(b + 8);
            for (int i = 0; i < DQL_CF_BI; i++) {
                m->counts.bi_ben[i] = get32(b + 16 + 4 * i);
                m->counts.bi_mal[i] = get32(b + 16 + 4 * (DQL_CF_BI + i));
            }
            have[2] = true;
        } else if (!strcmp(tag, "TRIG")) {
            if (len != 8u * DQL_CF_TRI) BAD("corrupt model file (section TRIG has %u bytes)", len);
            for (int i = 0; i < DQL_CF_TRI; i++) m->counts.tri_ben[i] = get32(b + 4 * i);
            for (int i = 0; i < DQL_CF_TRI; i++) m->counts.tri_mal[i] = get32(b + 4 * (DQL_CF_TRI + i));
            have[3] = true;
        } else if (!strcmp(tag, "SUFX") || !strcmp(tag, "WRDS")) {
            bool w = tag[0] == 'W';
            size_t skip = w ? 16 : 0;
            if (len < 4 + skip) BAD("corrupt model file (section %s)", tag);
            if (w) { m->counts.wben = get64(b); m->counts.wmal = get64(b + 8); }
            uint32_t ns = get32(b + skip);
            const uint8_t *r = b + skip + 4, *re = b + len;
            if (ns > len / 12) BAD("corrupt model file (section %s: %u entries)", tag, ns);
            dql_cf_suffix **arr = w ? &m->counts.wrd : &m->counts.suf;
            int *cnt = w ? &m->counts.nwrd : &m->counts.nsuf;
            if (*arr) BAD("corrupt model file (two %s sections)", tag);
            size_t cap = 16;
            while (cap <= ns) cap *= 2;
            *arr = dql_xcalloc(cap, sizeof **arr);
            for (uint32_t i = 0; i < ns; i++) {
                if (re - r < 12) BAD("corrupt model file (section %s cut short)", tag);
                uint32_t be = get32(r), ma = get32(r + 4), l = get32(r + 8);
                r += 12;
                if ((uint32_t)(re - r) < l) BAD("corrupt model file (section %s cut short)", tag);
                (*arr)[i].s = dql_xstrndup((const char *)r, l);
                (*arr)[i].ben = be; (*arr)[i].mal = ma;
                (*cnt)++;
                r += l;
            }
            have[w ? 6 : 4] = true;
        } else if (!strcmp(tag, "TREE")) {
            if (len < 8) BAD("corrupt model file (section TREE)");
            uint32_t nt = get32(b), nn = get32(b + 4);
            if ((uint64_t)8 + 4ull * nt + 9ull * nn != len || nt == 0)
                BAD("corrupt model file (section TREE: %u trees, %u nodes in %u bytes)", nt, nn, len);
            m->ntrees = nt; m->nnodes = nn;
            m->roots = dql_xmalloc(4ull * nt);
            m->nodes = dql_xmalloc(sizeof *m->nodes * (nn ? nn : 1));
            m->nval = dql_xmalloc(sizeof *m->nval * (nn ? nn : 1));
            for (uint32_t t = 0; t < nt; t++) m->roots[t] = get32(b + 8 + 4 * t);
            const uint8_t *nb = b + 8 + 4ull * nt;
            for (uint32_t i = 0; i < nn; i++) { m->nodes[i].v = getf(nb + 8ull * i); m->nodes[i].x = get32(nb + 8ull * i + 4); }
            for (uint32_t i = 0; i < nn; i++) {
                m->nval[i] = (float)nb[8ull * nn + i] / 255.0f;
            }
            have[5] = true;
        }
        /* unknown sections are skipped: later minor additions */
    }
    static const char *const names[7] = { "META", "WORD", "BIGR", "TRIG", "SUFX", "TREE", "WRDS" };
    for (int i = 0; i < 7; i++) if (!have[i]) BAD("corrupt model file (no %s section)", names[i]);
    size_t l;
    const char *v = meta_get(m->meta, "nfeat", &l);
    m->nfeat = v ? atoi(v) : 0;
    if (m->nfeat < 1 || m->nfeat > DQL_CF__COUNT) BAD("model uses %d features; this dql knows %d", m->nfeat, DQL_CF__COUNT);
    v = meta_get(m->meta, "features", &l);
    if (v) {
        size_t at = 0;
        for (int f = 0; f < m->nfeat; f++) {
            size_t fl = strlen(dql_cf_names[f]);
            if (at + fl > l || strncmp(v + at, dql_cf_names[f], fl) != 0 || (at + fl < l && v[at + fl] != ','))
                BAD("model feature %d is not '%s': trained by another version of dql", f + 1, dql_cf_names[f]);
            at += fl + 1;
        }
    }
    v = meta_get(m->meta, "featset", &l);
    m->featset = v ? dql_xstrndup(v, l) : dql_xstrdup("default");
    v = meta_get(m->meta, "threshold", &l);
    m->threshold = v ? strtod(v, NULL) : 0.5;
    v = meta_get(m->meta, "threshold_spec", &l);
    m->threshold_spec = v ? dql_xstrndup(v, l) : dql_xstrdup("");
    /* keep only the lines dql_model_write does not regenerate */
    {
        dql_buf rest = {0};
        static const char *const gen[] = { "featset=", "nfeat=", "features=", "threshold=", "threshold_spec=" };
        for (const char *p2 = m->meta; p2 && *p2;) {
            const char *nl = strchr(p2, '\n');
            size_t ll = nl ? (size_t)(nl - p2) + 1 : strlen(p2);
            bool skip = false;
            for (size_t g = 0; g < sizeof gen / sizeof gen[0]; g++) if (!strncmp(p2, gen[g], strlen(gen[g]))) skip = true;
            if (!skip) dql_buf_put(&rest, p2, ll);
            p2 += ll;
        }
        free(m->meta);
        m->meta = dql_xstrdup(rest.len ? dql_buf_cstr(&rest) : "");
        dql_buf_free(&rest);
    }
    /* every tree: children after their parent and inside the tree */
    for (uint32_t t = 0; t < m->ntrees; t++) {
        uint32_t r0 = m->roots[t], r1 = t + 1 < m->ntrees ? m->roots[t + 1] : m->nnodes;
        if (r0 >= r1 || r1 > m->nnodes) BAD("corrupt model file (tree %u has bad bounds)", t + 1);
        for (uint32_t k = 0; k < r1 - r0; k++) {
            dql_rf_node nd = m->nodes[r0 + k];
            uint32_t f = nd.x >> 24, c = nd.x & 0xffffffu;
            if (f == DQL_RF_LEAF) {
                if (!(nd.v >= 0.0f && nd.v <= 1.0f)) BAD("corrupt model file (tree %u: leaf value %g)", t + 1, (double)nd.v);
                continue;
            }
            if ((int)f >= m->nfeat || c <= k || c + 1 >= r1 - r0 || isnan(nd.v))
                BAD("corrupt model file (tree %u: bad node %u)", t + 1, k);
        }
    }
    dql_model_prepare(m);
    *out = m;
    return DQL_OK;
}

dql_status dql_model_load(const char *path, dql_model **out, char *err, size_t errlen)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(err, errlen, "cannot open model '%s': %s", path, strerror(errno)); return DQL_ERR_IO; }
    dql_buf b = {0};
    char tmp[65536];
    size_t k;
    while ((k = fread(tmp, 1, sizeof tmp, f)) > 0) dql_buf_put(&b, tmp, k);
    bool bad = ferror(f);
    fclose(f);
    if (bad) { dql_buf_free(&b); snprintf(err, errlen, "cannot read model '%s'", path); return DQL_ERR_IO; }
    char e2[400];
    dql_status st = dql_model_read(b.p, b.len, out, e2, sizeof e2);
    dql_buf_free(&b);
    if (st != DQL_OK) snprintf(err, errlen, "model '%s': %s", path, e2);
    return st;
}

void dql_model_prepare(dql_model *m)
{
    dql_cf_ref_free(&m->ref);
    dql_cf_trie_free(&m->trie);
    dql_cf_counts_finish(&m->counts);
    dql_cf_trie_build(&m->trie, m->words ? m->words : "", m->nwords_bytes);
    dql_cf_ref_build(&m->ref, &m->counts, &m->trie);
    score_layout(m);
}

void dql_model_free(dql_model *m)
{
    if (!m) return;
    free(m->featset);
    free(m->threshold_spec);
    free(m->meta);
    dql_cf_counts_free(&m->counts);
    free(m->words);
    dql_cf_trie_free(&m->trie);
    dql_cf_ref_free(&m->ref);
    free(m->roots);
    free(m->nodes);
    free(m->nval);
    free(m->sn);
    free(m->lv);
    free(m);
}
