/* classify_features.c — the features CLASSIFY, TRAIN and FEATURES compute
 * from a domain name: string statistics of the registrable label (split off
 * with libpsl), dictionary segmentation over a bit-mask trie, character
 * n-gram scores and TLD statistics from reference tables of counts (counts,
 * so that cross-fitting can subtract a fold). Scoring a name allocates
 * nothing. doc/classify.md gives every formula. */
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <libpsl.h>
#include "classify.h"

const char *const dql_cf_names[DQL_CF__COUNT] = {
    "len", "entropy", "vowel_ratio", "consonant_ratio", "digit_ratio",
    "consonant_run", "vowel_run", "digit_run", "hex_ratio", "unique_ratio",
    "repeat_ratio", "digit_switches", "cv_switches", "hyphens", "first_digit",
    "dict_coverage", "dict_words", "dict_longest", "dict_gap", "word_len",
    "bigram_ll", "bigram_min", "bigram_llr", "trigram_freq", "unseen_trigrams",
    "labels", "sub_len", "suffix_labels", "tld_class", "tld_mal",
    "word_llr", "word_mal", "trigram_llr",
};

/* ---------------------------------------------------------- characters */

static uint8_t sym_of[256];
static uint8_t is_vowel[256], is_letter[256], is_digit[256];

static void init_syms(void)
{
    static bool done;
    if (done) return;
    for (int c = 0; c < 256; c++) {
        sym_of[c] = 37;
        if (c >= 'a' && c <= 'z') { sym_of[c] = (uint8_t)(c - 'a'); is_letter[c] = 1; }
        else if (c >= '0' && c <= '9') { sym_of[c] = (uint8_t)(26 + c - '0'); is_digit[c] = 1; }
        else if (c == '-') sym_of[c] = 36;
    }
    for (const char *v = "aeiou"; *v; v++) is_vowel[(uint8_t)*v] = 1;
    done = true;
}

size_t dql_cf_normalize(const char *s, size_t n, char *buf, size_t cap)
{
    while (n > 0 && s[n - 1] == '.') n--;
    if (n >= cap) n = cap - 1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        buf[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    buf[n] = 0;
    return n;
}

static const psl_ctx_t *psl(void)
{
    static const psl_ctx_t *ctx;
    static bool tried;
    if (!tried) {
        tried = true;
        ctx = psl_builtin();
        if (!ctx) ctx = psl_latest(NULL);
    }
    return ctx;
}

/* name must be NUL-terminated at name[n]. */
void dql_cf_split(const char *name, size_t n, dql_cf_parts *p)
{
    init_syms();
    memset(p, 0, sizeof *p);
    if (n == 0) return;
    p->labels = 1;
    for (size_t i = 0; i < n; i++) if (name[i] == '.') p->labels++;
    const psl_ctx_t *ctx = psl();
    const char *suf = ctx ? psl_unregistrable_domain(ctx, name) : NULL;
    if (!suf) {             /* no list: the last label is the suffix */
        suf = memchr(name, '.', n) ? strrchr(name, '.') + 1 : name + n;
    }
    size_t so = (size_t)(suf - name);
    if (so == 0) {
        /* the name is a public suffix itself: first label + the rest */
        const char *dot = memchr(name, '.', n);
        if (!dot) { p->label = name; p->nlabel = n; p->suffix = name + n; return; }
        so = (size_t)(dot - name) + 1;
    }
    p->suffix = name + so;
    p->nsuffix = n - so;
    p->suffix_labels = 1;
    for (size_t i = so; i < n; i++) if (name[i] == '.') p->suffix_labels++;
    if (p->nsuffix == 0) p->suffix_labels = 0;
    /* the label before the suffix */
    size_t end = so - 1;        /* the dot */
    size_t st = end;
    while (st > 0 && name[st - 1] != '.') st--;
    p->label = name + st;
    p->nlabel = end - st;
    if (st > 0) { p->sub = name; p->nsub = st - 1; }
}

/* ---------------------------------------------------------------- trie */

static inline uint32_t trie_child(const dql_cf_trie *t, uint32_t node, int c)
{
    uint32_t m = t->mask[node];
    uint32_t bit = 1u << c;
    if (!(m & bit)) return UINT32_MAX;
    return t->base[node] + (uint32_t)__builtin_popcount(m & (bit - 1));
}

void dql_cf_trie_build(dql_cf_trie *t, const char *words, size_t n)
{
    /* a pointer trie first (26 children a node), then renumbered breadth-first */
    typedef struct { int32_t kid[26]; uint8_t end; } tnode;
    size_t cap = 1024, nn = 1;
    tnode *tn = dql_xcalloc(cap, sizeof *tn);
    memset(tn[0].kid, 0xff, sizeof tn[0].kid);
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        bool ok = true;
        while (j < n && words[j] != '\n') { if (words[j] < 'a' || words[j] > 'z') ok = false; j++; }
        if (ok && j > i) {
            size_t cur = 0;
            for (size_t k = i; k < j; k++) {
                int c = words[k] - 'a';
                if (tn[cur].kid[c] < 0) {
                    if (nn == cap) { cap *= 2; tn = dql_xrealloc(tn, cap * sizeof *tn); }
                    memset(tn[nn].kid, 0xff, sizeof tn[nn].kid);
                    tn[nn].end = 0;
                    tn[cur].kid[c] = (int32_t)nn++;
                }
                cur = (size_t)tn[cur].kid[c];
            }
            tn[cur].end = 1;
        }
        i = j + 1;
    }
    t->n = (uint32_t)nn;
    t->mask = dql_xcalloc(nn, sizeof *t->mask);
    t->base = dql_xcalloc(nn, sizeof *t->base);
    uint32_t *order = dql_xmalloc(nn * sizeof *order);   /* BFS position -> old index */
    size_t head = 0, tail = 0;
    order[tail++] = 0;
    while (head < tail) {
        uint32_t old = order[head];
        uint32_t pos = (uint32_t)head++;
        t->base[pos] = (uint32_t)tail;
        uint32_t m = tn[old].end ? 0x80000000u : 0;
        for (int c = 0; c < 26; c++)
            if (tn[old].kid[c] >= 0) { m |= 1u << c; order[tail++] = (uint32_t)tn[old].kid[c]; }
        t->mask[pos] = m;
    }
    free(order);
    free(tn);
}

void dql_cf_trie_free(dql_cf_trie *t)
{
    free(t->mask);
    free(t->base);
    memset(t, 0, sizeof *t);
}

/* -------------------------------------------------------------- counts */

void dql_cf_counts_init(dql_cf_counts *c)
{
    memset(c, 0, sizeof *c);
    c->tri_ben = dql_xcalloc(DQL_CF_TRI, sizeof *c->tri_ben);
    c->tri_mal = dql_xcalloc(DQL_CF_TRI, sizeof *c->tri_mal);
}

void dql_cf_counts_free(dql_cf_counts *c)
{
    free(c->tri_ben);
    free(c->tri_mal);
    for (int i = 0; i < c->nsuf; i++) free(c->suf[i].s);
    free(c->suf);
    for (int i = 0; i < c->nwrd; i++) free(c->wrd[i].s);
    free(c->wrd);
    memset(c, 0, sizeof *c);
}

/* Appends an entry to a keyed-count array (capacity: powers of two). */
static void kc_append(dql_cf_suffix **a, int *n, const char *s, size_t len, uint32_t ben, uint32_t mal)
{
    if ((*n & (*n - 1)) == 0) {
        size_t cap = *n ? (size_t)*n * 2 : 16;
        *a = dql_xrealloc(*a, cap * sizeof **a);
    }
    dql_cf_suffix *e = &(*a)[(*n)++];
    e->s = dql_xstrndup(s ? s : "", len);
    e->ben = ben;
    e->mal = mal;
}

static int seg_words(const dql_cf_trie *t, const uint8_t *l, size_t n, float *x, uint8_t *ws, uint8_t *wl);

void dql_cf_counts_add(dql_cf_counts *c, const dql_cf_trie *t, const dql_cf_parts *p, bool mal)
{
    init_syms();
    const uint8_t *l = (const uint8_t *)p->label;
    size_t n = p->nlabel;
    uint32_t *bi = mal ? c->bi_mal : c->bi_ben;
    int prev2 = DQL_CF_BOUND, prev = DQL_CF_BOUND;
    for (size_t i = 0; i <= n; i++) {
        int s = i < n ? sym_of[l[i]] : DQL_CF_BOUND;
        bi[prev * DQL_CF_SYMS + s]++;
        if (i > 0 || n == 0) (mal ? c->tri_mal : c->tri_ben)[(prev2 * DQL_CF_SYMS + prev) * DQL_CF_SYMS + s]++;
        prev2 = prev;
        prev = s;
    }
    if (mal) c->nmal++; else c->nben++;
    /* suffix and words: appended; merged by dql_cf_counts_finish */
    kc_append(&c->suf, &c->nsuf, p->suffix, p->nsuffix, !mal, mal);
    uint8_t ws[128], wl[128];
    int nw = seg_words(t, l, n, NULL, ws, wl);
    for (int i = 0; i < nw; i++) kc_append(&c->wrd, &c->nwrd, (const char *)l + ws[i], wl[i], !mal, mal);
    if (mal) c->wmal += (uint64_t)nw; else c->wben += (uint64_t)nw;
}

static int suf_cmp(const void *a, const void *b)
{
    return strcmp(((const dql_cf_suffix *)a)->s, ((const dql_cf_suffix *)b)->s);
}

static void kc_merge(dql_cf_suffix **a, int *n)
{
    if (*n == 0) return;
    qsort(*a, (size_t)*n, sizeof **a, suf_cmp);
    int o = 0;
    for (int i = 0; i < *n; i++) {
        if (o > 0 && !strcmp((*a)[o - 1].s, (*a)[i].s)) {
            (*a)[o - 1].ben += (*a)[i].ben;
            (*a)[o - 1].mal += (*a)[i].mal;
            free((*a)[i].s);
        } else
            (*a)[o++] = (*a)[i];
    }
    *n = o;
    /* keep the capacity a power of two >= n for later appends */
    size_t cap = 16;
    while (cap <= (size_t)*n) cap *= 2;
    *a = dql_xrealloc(*a, cap * sizeof **a);
}

void dql_cf_counts_finish(dql_cf_counts *c)
{
    kc_merge(&c->suf, &c->nsuf);
    kc_merge(&c->wrd, &c->nwrd);
}

static void kc_sub(dql_cf_suffix **out, int *nout, const dql_cf_suffix *a, int na, const dql_cf_suffix *b, int nb)
{
    *out = NULL;
    *nout = 0;
    for (int i = 0; i < na; i++) {
        dql_cf_suffix key = { a[i].s, 0, 0 };
        const dql_cf_suffix *m = nb ? bsearch(&key, b, (size_t)nb, sizeof *b, suf_cmp) : NULL;
        uint32_t be = a[i].ben - (m ? m->ben : 0), ma = a[i].mal - (m ? m->mal : 0);
        if (be + ma == 0) continue;
        kc_append(out, nout, a[i].s, strlen(a[i].s), be, ma);
    }
}

void dql_cf_counts_sub(dql_cf_counts *out, const dql_cf_counts *a, const dql_cf_counts *b)
{
    dql_cf_counts_init(out);
    for (int i = 0; i < DQL_CF_BI; i++) {
        out->bi_ben[i] = a->bi_ben[i] - b->bi_ben[i];
        out->bi_mal[i] = a->bi_mal[i] - b->bi_mal[i];
    }
    for (int i = 0; i < DQL_CF_TRI; i++) {
        out->tri_ben[i] = a->tri_ben[i] - b->tri_ben[i];
        out->tri_mal[i] = a->tri_mal[i] - b->tri_mal[i];
    }
    out->nben = a->nben - b->nben;
    out->nmal = a->nmal - b->nmal;
    out->wben = a->wben - b->wben;
    out->wmal = a->wmal - b->wmal;
    kc_sub(&out->suf, &out->nsuf, a->suf, a->nsuf, b->suf, b->nsuf);
    kc_sub(&out->wrd, &out->nwrd, a->wrd, a->nwrd, b->wrd, b->nwrd);
}

/* ----------------------------------------------------------------- ref */

static uint64_t suf_hash(const char *s, size_t n) { return dql_hash_bytes(s, n, 0x5eed) | 1; }

/* m-estimate weight of the TLD malicious share */
#define TLD_M 10.0

void dql_cf_ref_build(dql_cf_ref *r, const dql_cf_counts *c, const dql_cf_trie *t)
{
    init_syms();
    memset(r, 0, sizeof *r);
    r->trie = t;
    for (int a = 0; a < DQL_CF_SYMS; a++) {
        uint64_t rb = 0, rm = 0;
        for (int b = 0; b < DQL_CF_SYMS; b++) { rb += c->bi_ben[a * DQL_CF_SYMS + b]; rm += c->bi_mal[a * DQL_CF_SYMS + b]; }
        for (int b = 0; b < DQL_CF_SYMS; b++) {
            double pb = (c->bi_ben[a * DQL_CF_SYMS + b] + 1.0) / ((double)rb + DQL_CF_SYMS);
            double pm = (c->bi_mal[a * DQL_CF_SYMS + b] + 1.0) / ((double)rm + DQL_CF_SYMS);
            r->bi_ben[a * DQL_CF_SYMS + b] = (float)log(pb);
            r->bi_llr[a * DQL_CF_SYMS + b] = (float)(log(pb) - log(pm));
        }
    }
    uint64_t tot = 0, totm = 0;
    for (int i = 0; i < DQL_CF_TRI; i++) { tot += c->tri_ben[i]; totm += c->tri_mal[i]; }
    r->tri = dql_xmalloc(DQL_CF_TRI * sizeof *r->tri);
    r->tri_llr = dql_xmalloc(DQL_CF_TRI * sizeof *r->tri_llr);
    for (int i = 0; i < DQL_CF_TRI; i++)
        r->tri_llr[i] = (float)(log((c->tri_ben[i] + 1.0) / ((double)tot + DQL_CF_TRI)) - log((c->tri_mal[i] + 1.0) / ((double)totm + DQL_CF_TRI)));
    r->tri_seen = dql_xmalloc(DQL_CF_TRI);
    double scale = tot ? 1e6 / (double)tot : 0;
    for (int i = 0; i < DQL_CF_TRI; i++) {
        r->tri[i] = (float)log10(1.0 + c->tri_ben[i] * scale);
        r->tri_seen[i] = c->tri_ben[i] > 0;
    }
    uint32_t cap = 16;
    while (cap < (uint32_t)c->nsuf * 2) cap *= 2;
    r->sh = dql_xcalloc(cap, sizeof *r->sh);
    r->shmask = cap - 1;
    double prior = (c->nmal + 1.0) / (c->nben + c->nmal + 2.0);
    double per = c->nben ? 100000.0 / (double)c->nben : 0;
    for (int i = 0; i < c->nsuf; i++) {
        uint64_t h = suf_hash(c->suf[i].s, strlen(c->suf[i].s));
        uint32_t k = (uint32_t)h & r->shmask;
        while (r->sh[k].h) k = (k + 1) & r->shmask;
        r->sh[k].h = h;
        r->sh[k].cls = (float)floor(log2(1.0 + c->suf[i].ben * per));
        r->sh[k].mal = (float)((c->suf[i].mal + TLD_M * prior) / (c->suf[i].mal + c->suf[i].ben + TLD_M));
    }
    r->tld_cls_unknown = 0;
    r->tld_mal_unknown = (float)prior;
    /* words: log-likelihood ratio (add-one over the vocabulary) and
     * m-estimate of the malicious share */
    cap = 16;
    while (cap < (uint32_t)c->nwrd * 2) cap *= 2;
    r->wh = dql_xcalloc(cap, sizeof *r->wh);
    r->whmask = cap - 1;
    double V = (double)c->nwrd + 1.0;
    double wprior = (c->wmal + 1.0) / (c->wben + c->wmal + 2.0);
    for (int i = 0; i < c->nwrd; i++) {
        uint64_t h = suf_hash(c->wrd[i].s, strlen(c->wrd[i].s));
        uint32_t k = (uint32_t)h & r->whmask;
        while (r->wh[k].h) k = (k + 1) & r->whmask;
        r->wh[k].h = h;
        r->wh[k].llr = (float)(log((c->wrd[i].ben + 1.0) / ((double)c->wben + V)) - log((c->wrd[i].mal + 1.0) / ((double)c->wmal + V)));
        r->wh[k].mal = (float)((c->wrd[i].mal + TLD_M * wprior) / (c->wrd[i].mal + c->wrd[i].ben + TLD_M));
    }
    r->word_llr_unknown = (float)(log(1.0 / ((double)c->wben + V)) - log(1.0 / ((double)c->wmal + V)));
    r->word_mal_unknown = (float)wprior;
}

void dql_cf_ref_free(dql_cf_ref *r)
{
    free(r->tri);
    free(r->tri_seen);
    free(r->tri_llr);
    free(r->sh);
    free(r->wh);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------ extract */

/* Best segmentation of the letters of l into dictionary words (>= 3
 * letters): most letters covered, then fewest words. */
static int seg_words(const dql_cf_trie *t, const uint8_t *l, size_t n, float *x, uint8_t *ws, uint8_t *wl)
{
    enum { MAXN = 256 };
    int16_t cov[MAXN + 1], nw[MAXN + 1], from[MAXN + 1];
    uint8_t isword[MAXN + 1];
    int longest = 0, letters = 0;
    if (n > MAXN) n = MAXN;
    cov[0] = 0; nw[0] = 0;
    for (size_t i = 1; i <= n; i++) cov[i] = -1;
    for (size_t i = 0; i < n; i++) {
        letters += is_letter[l[i]];
        /* skip one character */
        if (cov[i + 1] < cov[i] || (cov[i + 1] == cov[i] && nw[i + 1] > nw[i])) {
            cov[i + 1] = cov[i]; nw[i + 1] = nw[i]; from[i + 1] = (int16_t)i; isword[i + 1] = 0;
        }
        if (!t || !t->n) continue;
        uint32_t node = 0;
        for (size_t j = i; j < n; j++) {
            if (!is_letter[l[j]]) break;
            node = trie_child(t, node, l[j] - 'a');
            if (node == UINT32_MAX) break;
            if ((t->mask[node] & 0x80000000u) && j - i + 1 >= 3) {
                int len = (int)(j - i + 1);
                if (len > longest) longest = len;
                int c = cov[i] + len, w = nw[i] + 1;
                if (c > cov[j + 1] || (c == cov[j + 1] && w < nw[j + 1])) {
                    cov[j + 1] = (int16_t)c; nw[j + 1] = (int16_t)w; from[j + 1] = (int16_t)i; isword[j + 1] = 1;
                }
            }
        }
    }
    /* walk back: the words (in reverse) and the longest run of uncovered
     * letters */
    int gap = 0, run = 0, nws = 0;
    for (size_t i = n; i > 0;) {
        size_t f = (size_t)from[i];
        if (isword[i]) { run = 0; if (ws && nws < 128) { ws[nws] = (uint8_t)f; wl[nws] = (uint8_t)(i - f); nws++; } }
        else if (is_letter[l[i - 1]]) { if (++run > gap) gap = run; }
        else run = 0;
        i = f;
    }
    if (!x) return nws;
    x[DQL_CF_DICT_COVER] = letters ? (float)cov[n] / (float)letters : 0.0f;
    x[DQL_CF_DICT_WORDS] = (float)nw[n];
    x[DQL_CF_DICT_LONGEST] = n ? (float)longest / (float)n : 0.0f;
    x[DQL_CF_DICT_GAP] = (float)gap;
    x[DQL_CF_WORD_LEN] = nw[n] ? (float)cov[n] / (float)nw[n] : 0.0f;
    return nws;
}

void dql_cf_extract(const dql_cf_ref *ref, const dql_cf_parts *p, float *x)
{
    init_syms();
    const uint8_t *l = (const uint8_t *)p->label;
    size_t n = p->nlabel;
    uint8_t cnt[DQL_CF_SYMS] = {0};
    int vow = 0, cons = 0, dig = 0, hex = 0, hy = 0;
    int crun = 0, vrun = 0, drun = 0, cmax = 0, vmax = 0, dmax = 0;
    int sw = 0, cvsw = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = l[i];
        cnt[sym_of[c]]++;
        bool v = is_vowel[c], le = is_letter[c], d = is_digit[c];
        vow += v; cons += le && !v; dig += d; hy += c == '-';
        hex += d || (c >= 'a' && c <= 'f');
        crun = (le && !v) ? crun + 1 : 0; if (crun > cmax) cmax = crun;
        vrun = v ? vrun + 1 : 0;          if (vrun > vmax) vmax = vrun;
        drun = d ? drun + 1 : 0;          if (drun > dmax) dmax = drun;
        if (i > 0) {
            uint8_t b = l[i - 1];
            if ((is_digit[b] && le) || (is_letter[b] && d)) sw++;
            if (is_letter[b] && le && is_vowel[b] != v) cvsw++;
        }
    }
    float fn = n ? (float)n : 1.0f;
    double ent = 0;
    int distinct = 0, rep = 0;
    for (int s = 0; s < DQL_CF_SYMS; s++) {
        if (!cnt[s]) continue;
        distinct++;
        if (cnt[s] > 1) rep++;
        double q = cnt[s] / (double)fn;
        ent -= q * log2(q);
    }
    x[DQL_CF_LEN] = (float)n;
    x[DQL_CF_ENTROPY] = (float)ent;
    x[DQL_CF_VOWEL] = vow / fn;
    x[DQL_CF_CONSONANT] = cons / fn;
    x[DQL_CF_DIGIT] = dig / fn;
    x[DQL_CF_CONS_RUN] = (float)cmax;
    x[DQL_CF_VOWEL_RUN] = (float)vmax;
    x[DQL_CF_DIGIT_RUN] = (float)dmax;
    x[DQL_CF_HEX] = hex / fn;
    x[DQL_CF_UNIQUE] = distinct / fn;
    x[DQL_CF_REPEAT] = distinct ? (float)rep / (float)distinct : 0.0f;
    x[DQL_CF_SWITCHES] = n > 1 ? (float)sw / (float)(n - 1) : 0.0f;
    x[DQL_CF_CV_SWITCHES] = n > 1 ? (float)cvsw / (float)(n - 1) : 0.0f;
    x[DQL_CF_HYPHENS] = (float)hy;
    x[DQL_CF_FIRST_DIGIT] = n && is_digit[l[0]] ? 1.0f : 0.0f;
    uint8_t ws[128], wl[128];
    int nws = seg_words(ref->trie, l, n, x, ws, wl);
    double wllr = 0, wmal = 1;
    for (int i = 0; i < nws; i++) {
        float a = ref->word_llr_unknown, b = ref->word_mal_unknown;
        if (ref->wh) {
            uint64_t h = suf_hash((const char *)l + ws[i], wl[i]);
            for (uint32_t k = (uint32_t)h & ref->whmask; ref->wh[k].h; k = (k + 1) & ref->whmask)
                if (ref->wh[k].h == h) { a = ref->wh[k].llr; b = ref->wh[k].mal; break; }
        }
        wllr += a;
        if (b < wmal) wmal = b;
    }
    x[DQL_CF_WORD_LLR] = nws ? (float)(wllr / nws) : 0.0f;
    x[DQL_CF_WORD_MAL] = nws ? (float)wmal : 0.0f;
    /* n-grams over ^ label $ */
    double ll = 0, llr = 0, tri = 0, minll = 0, tllr = 0;
    int unseen = 0;
    int prev2 = DQL_CF_BOUND, prev = DQL_CF_BOUND;
    for (size_t i = 0; i <= n; i++) {
        int s = i < n ? sym_of[l[i]] : DQL_CF_BOUND;
        int bi = prev * DQL_CF_SYMS + s;
        double lp = ref->bi_ben[bi];
        ll += lp;
        if (i == 0 || lp < minll) minll = lp;
        llr += ref->bi_llr[bi];
        if (i > 0 || n == 0) {
            int t = bi + prev2 * DQL_CF_BI;
            tri += ref->tri[t];
            tllr += ref->tri_llr[t];
            unseen += !ref->tri_seen[t];
        }
        prev2 = prev;
        prev = s;
    }
    double ntri = n ? (double)n : 1.0;
    x[DQL_CF_BIGRAM_LL] = (float)(ll / (double)(n + 1));
    x[DQL_CF_BIGRAM_MIN] = (float)minll;
    x[DQL_CF_BIGRAM_LLR] = (float)(llr / (double)(n + 1));
    x[DQL_CF_TRIGRAM] = (float)(tri / ntri);
    x[DQL_CF_UNSEEN] = (float)(unseen / ntri);
    x[DQL_CF_TRIGRAM_LLR] = (float)(tllr / ntri);
    x[DQL_CF_LABELS] = (float)p->labels;
    x[DQL_CF_SUB_LEN] = (float)p->nsub;
    x[DQL_CF_SUFFIX_LABELS] = (float)p->suffix_labels;
    float cls = ref->tld_cls_unknown, mal = ref->tld_mal_unknown;
    if (ref->sh) {
        uint64_t h = suf_hash(p->suffix ? p->suffix : "", p->nsuffix);
        for (uint32_t k = (uint32_t)h & ref->shmask; ref->sh[k].h; k = (k + 1) & ref->shmask)
            if (ref->sh[k].h == h) { cls = ref->sh[k].cls; mal = ref->sh[k].mal; break; }
    }
    x[DQL_CF_TLD_CLASS] = cls;
    x[DQL_CF_TLD_MAL] = mal;
}
