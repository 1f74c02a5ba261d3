/* test_classify.c — unit test of the classifier (src/classify_*.c): a tiny
 * hand-built forest scored against an independent if/else reference (batch
 * and one-row paths), reference-table formulas on empty tables, training on
 * synthetic data (accuracy, same bytes for any number of threads), model
 * file round trips (same bytes, same scores), truncated and corrupt files
 * rejected with clear messages, and the metrics (AUC, threshold at FPR).
 *
 * Prints only "N passed, M failed" (and a message per failure on stderr);
 * exits non-zero on failure. */
#include "../../src/classify.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int npass, nfail;

#define CHECK(cond, ...) do { \
        if (cond) npass++; \
        else { nfail++; fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__); \
               fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } \
    } while (0)

static dql_model *empty_model(int nfeat)
{
    dql_model *m = dql_xcalloc(1, sizeof *m);
    m->nfeat = nfeat;
    m->featset = dql_xstrdup("default");
    m->threshold = 0.5;
    m->threshold_spec = dql_xstrdup("0.5");
    dql_cf_counts_init(&m->counts);
    size_t n;
    const char *w = dql_cf_builtin_words(&n);
    m->words = dql_xstrndup(w, n);
    m->nwords_bytes = n;
    return m;
}

/* Tree 1: x0 <= 0.5 ? 0.2 : 0.8.
 * Tree 2: x1 <= 1.0 ? (x0 <= 2.0 ? 0.0 : 1.0) : 0.6. */
static double reference(const float *x)
{
    double t1 = x[0] <= 0.5f ? 0.2 : 0.8;
    double t2 = x[1] <= 1.0f ? (x[0] <= 2.0f ? 0.0 : 1.0) : 0.6;
    return (t1 + t2) / 2;
}

static void test_tiny_forest(void)
{
    dql_model *m = empty_model(2);
    static const dql_rf_node nodes[] = {
        /* tree 1 */ { 0.5f, (0u << 24) | 1 }, { 0.2f, DQL_RF_LEAF << 24 }, { 0.8f, DQL_RF_LEAF << 24 },
        /* tree 2 */ { 1.0f, (1u << 24) | 1 }, { 2.0f, (0u << 24) | 3 }, { 0.6f, DQL_RF_LEAF << 24 },
                     { 0.0f, DQL_RF_LEAF << 24 }, { 1.0f, DQL_RF_LEAF << 24 },
    };
    m->ntrees = 2; m->nnodes = 8;
    m->roots = dql_xmalloc(2 * sizeof *m->roots);
    m->roots[0] = 0; m->roots[1] = 3;
    m->nodes = dql_xmalloc(sizeof nodes);
    memcpy(m->nodes, nodes, sizeof nodes);
    m->nval = dql_xcalloc(8, sizeof *m->nval);
    /* through the file format, so that the reader's checks pass it too */
    dql_buf b = {0};
    dql_model_write(m, &b);
    dql_model_free(m);
    char err[256];
    dql_model *r = NULL;
    CHECK(dql_model_read(b.p, b.len, &r, err, sizeof err) == DQL_OK, "read tiny forest: %s", err);
    dql_buf_free(&b);
    if (!r) return;
    enum { N = 37 };
    float x[N * 2];
    uint64_t rng = 5;
    for (int i = 0; i < N; i++) {
        x[2 * i] = (float)(dql_rng_below(&rng, 40)) / 10.0f;     /* 0 .. 3.9, hits 0.5 and 2.0 */
        x[2 * i + 1] = (float)(dql_rng_below(&rng, 30)) / 10.0f;
    }
    double s[N];
    dql_rf_score_batch(r, x, N, s);
    int bad = 0, bad1 = 0;
    for (int i = 0; i < N; i++) {
        if (fabs(s[i] - reference(x + 2 * i)) > 1e-6) bad++;
        if (dql_rf_score_one(r, x + 2 * i) != s[i]) bad1++;
    }
    CHECK(bad == 0, "%d batch scores differ from the reference", bad);
    CHECK(bad1 == 0, "%d one-row scores differ from the batch", bad1);
    dql_model_free(r);
}

static void test_features(void)
{
    dql_cf_counts c;
    dql_cf_counts_init(&c);
    dql_cf_counts_finish(&c);
    dql_cf_trie t;
    dql_cf_trie_build(&t, "cat\ndog\ncatalog\n", 16);
    dql_cf_ref r;
    dql_cf_ref_build(&r, &c, &t);
    char name[] = "www.catalogdog7.co.uk";
    dql_cf_parts p;
    dql_cf_split(name, strlen(name), &p);
    CHECK(p.nlabel == 11 && !strncmp(p.label, "catalogdog7", 11), "label '%.*s'", (int)p.nlabel, p.label);
    CHECK(p.nsuffix == 5 && p.suffix_labels == 2 && p.labels == 4 && p.nsub == 3, "split of %s", name);
    float x[DQL_CF_MAX];
    dql_cf_extract(&r, &p, x);
    /* empty tables: every bigram has probability 1/39 */
    CHECK(fabs(x[DQL_CF_BIGRAM_LL] - log(1.0 / 39)) < 1e-5, "bigram_ll %g", (double)x[DQL_CF_BIGRAM_LL]);
    CHECK(fabs(x[DQL_CF_BIGRAM_LLR]) < 1e-6, "bigram_llr %g", (double)x[DQL_CF_BIGRAM_LLR]);
    CHECK(x[DQL_CF_UNSEEN] == 1.0f && x[DQL_CF_TRIGRAM] == 0.0f, "trigram features");
    /* segmentation: catalog + dog covers all 10 letters with 2 words */
    CHECK(x[DQL_CF_DICT_COVER] == 1.0f && x[DQL_CF_DICT_WORDS] == 2.0f, "coverage %g words %g",
          (double)x[DQL_CF_DICT_COVER], (double)x[DQL_CF_DICT_WORDS]);
    CHECK(fabs(x[DQL_CF_DICT_LONGEST] - 7.0 / 11) < 1e-6 && x[DQL_CF_WORD_LEN] == 5.0f, "longest, word_len");
    CHECK(x[DQL_CF_DIGIT_RUN] == 1.0f && fabs(x[DQL_CF_SWITCHES] - 0.1) < 1e-6, "digits");
    CHECK(x[DQL_CF_LEN] == 11.0f && x[DQL_CF_SUB_LEN] == 3.0f && x[DQL_CF_LABELS] == 4.0f, "lengths");
    dql_cf_ref_free(&r);
    dql_cf_trie_free(&t);
    dql_cf_counts_free(&c);
}

/* Synthetic: y = x0 + 0.5 x1 > 1 with 5% label noise; x2 is noise. */
static void synth(size_t n, float *x, uint8_t *y, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        float a = (float)dql_rng_below(&seed, 1000) / 500.0f, b = (float)dql_rng_below(&seed, 1000) / 500.0f;
        x[i] = a; x[n + i] = b; x[2 * n + i] = (float)dql_rng_below(&seed, 1000);
        y[i] = (a + 0.5f * b > 1.0f) ^ (dql_rng_below(&seed, 100) < 5);
    }
}

static void test_training(void)
{
    enum { N = 3000 };
    float *x = dql_xmalloc(sizeof(float) * 3 * N);
    uint8_t y[N];
    synth(N, x, y, 11);
    dql_rf_params p = { .trees = 16, .max_depth = 0, .min_leaf = 2, .mtry = 2, .threads = 1, .seed = 9 };
    dql_model *a = empty_model(3), *b = empty_model(3);
    double oob[N], imp[3];
    dql_rf_train(a, x, y, N, 3, &p, oob, imp);
    p.threads = 3;
    dql_rf_train(b, x, y, N, 3, &p, NULL, NULL);
    CHECK(a->nnodes == b->nnodes && !memcmp(a->nodes, b->nodes, sizeof *a->nodes * a->nnodes),
          "threads change the forest (%u vs %u nodes)", a->nnodes, b->nnodes);
    size_t ok = 0, n = 0;
    for (size_t i = 0; i < N; i++) if (oob[i] >= 0) { n++; ok += (oob[i] >= 0.5) == y[i]; }
    CHECK(n > N * 9 / 10 && (double)ok / n > 0.88, "out-of-bag accuracy %zu/%zu", ok, n);
    CHECK(imp[2] < imp[0] && imp[2] < imp[1], "noise feature importance %g vs %g %g", imp[2], imp[0], imp[1]);
    /* held-out accuracy against the noiseless rule */
    float *t = dql_xmalloc(sizeof(float) * 3 * N);
    uint8_t ty[N];
    synth(N, t, ty, 12);
    float *rows = dql_xmalloc(sizeof(float) * 3 * N);
    for (size_t i = 0; i < N; i++) for (int f = 0; f < 3; f++) rows[i * 3 + f] = t[(size_t)f * N + i];
    dql_model_prepare(a);
    double s[N];
    dql_rf_score_batch(a, rows, N, s);
    ok = 0;
    for (size_t i = 0; i < N; i++) ok += (s[i] >= 0.5) == (t[i] + 0.5f * t[N + i] > 1.0f);
    CHECK(ok > N * 95 / 100, "held-out accuracy %zu/%d", ok, N);
    /* round trip: same bytes, same scores */
    dql_buf b1 = {0}, b2 = {0};
    dql_model_write(a, &b1);
    char err[256];
    dql_model *r = NULL;
    CHECK(dql_model_read(b1.p, b1.len, &r, err, sizeof err) == DQL_OK, "round trip: %s", err);
    if (r) {
        dql_model_write(r, &b2);
        CHECK(b1.len == b2.len && !memcmp(b1.p, b2.p, b1.len), "rewritten model differs");
        double s2[N];
        dql_rf_score_batch(r, rows, N, s2);
        CHECK(!memcmp(s, s2, sizeof s), "scores differ after the round trip");
        dql_model_free(r);
    }
    /* truncated files: every length is an error naming the problem */
    int bad = 0;
    for (size_t len = 0; len < b1.len; len += len < 64 ? 1 : 997) {
        r = NULL;
        err[0] = 0;
        if (dql_model_read(b1.p, len, &r, err, sizeof err) == DQL_OK) { bad++; dql_model_free(r); continue; }
        if (!strstr(err, "truncated") && !strstr(err, "not a dql model")) { bad++; fprintf(stderr, "len %zu: %s\n", len, err); }
    }
    CHECK(bad == 0, "%d truncations not reported as such", bad);
    /* a flipped byte in the data: checksum */
    b1.p[b1.len / 2] ^= 0x40;
    r = NULL;
    CHECK(dql_model_read(b1.p, b1.len, &r, err, sizeof err) != DQL_OK && strstr(err, "checksum"), "flip: %s", err);
    b1.p[b1.len / 2] ^= 0x40;
    b1.p[8] = 2;   /* version */
    CHECK(dql_model_read(b1.p, b1.len, &r, err, sizeof err) != DQL_OK && strstr(err, "version 2"), "version: %s", err);
    dql_buf_free(&b1); dql_buf_free(&b2);
    dql_model_free(a); dql_model_free(b);
    free(x); free(t); free(rows);
}

static void test_metrics(void)
{
    double s[] = { 0.1, 0.4, 0.35, 0.8 };
    uint8_t y[] = { 0, 0, 1, 1 };
    CHECK(fabs(dql_auc(s, y, 4) - 0.75) < 1e-12, "auc %g", dql_auc(s, y, 4));
    double t = dql_threshold_at_fpr(s, y, 4, 0.0);
    CHECK(t > 0.4 && t <= 0.8, "threshold at fpr 0: %g", t);
    CHECK(dql_tpr_at_fpr(s, y, 4, 0.0) == 0.5, "tpr at fpr 0");
    CHECK(dql_tpr_at_fpr(s, y, 4, 0.5) == 1.0, "tpr at fpr 0.5");
}

static void test_default_model(void)
{
    char err[300];
    const dql_model *m = dql_model_default(err, sizeof err);
    CHECK(m != NULL, "built-in model: %s", err);
    if (!m) return;
    CHECK(m->nfeat == DQL_CF__COUNT && m->ntrees > 0, "built-in model shape");
    const char *names[] = { "google.com", "3f9a0c2b7d1e5a4b6c8d.info" };
    float x[DQL_CF_MAX];
    for (int i = 0; i < 2; i++) {
        char buf[64];
        size_t n = dql_cf_normalize(names[i], strlen(names[i]), buf, sizeof buf);
        dql_cf_parts p;
        dql_cf_split(buf, n, &p);
        dql_cf_extract(&m->ref, &p, x);
        double sc = dql_rf_score_one(m, x);
        CHECK(i == 0 ? sc < 0.2 : sc > 0.8, "%s scores %g", names[i], sc);
    }
}

int main(void)
{
    test_tiny_forest();
    test_features();
    test_training();
    test_metrics();
    test_default_model();
    printf("%d passed, %d failed\n", npass, nfail);
    return nfail ? 1 : 0;
}
