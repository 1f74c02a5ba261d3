/* classify.h — malicious-domain classification from the name alone: the
 * feature extractor (string statistics of the registrable label, dictionary
 * segmentation, character n-gram scores against reference tables, TLD
 * statistics), the random forest (training, flat-array scoring) and the
 * versioned, checksummed model file that holds both. Used by op_classify.c
 * (CLASSIFY, TRAIN, EVALUATE, FEATURES). doc/classify.md documents every
 * feature with its formula. */
#ifndef DQL_CLASSIFY_H
#define DQL_CLASSIFY_H

#include "dql.h"

/* ------------------------------------------------------------- features */

enum {
    DQL_CF_LEN, DQL_CF_ENTROPY, DQL_CF_VOWEL, DQL_CF_CONSONANT, DQL_CF_DIGIT,
    DQL_CF_CONS_RUN, DQL_CF_VOWEL_RUN, DQL_CF_DIGIT_RUN, DQL_CF_HEX, DQL_CF_UNIQUE,
    DQL_CF_REPEAT, DQL_CF_SWITCHES, DQL_CF_CV_SWITCHES, DQL_CF_HYPHENS, DQL_CF_FIRST_DIGIT,
    DQL_CF_DICT_COVER, DQL_CF_DICT_WORDS, DQL_CF_DICT_LONGEST, DQL_CF_DICT_GAP, DQL_CF_WORD_LEN,
    DQL_CF_BIGRAM_LL, DQL_CF_BIGRAM_MIN, DQL_CF_BIGRAM_LLR, DQL_CF_TRIGRAM, DQL_CF_UNSEEN,
    DQL_CF_LABELS, DQL_CF_SUB_LEN, DQL_CF_SUFFIX_LABELS, DQL_CF_TLD_CLASS, DQL_CF_TLD_MAL,
    DQL_CF_WORD_LLR, DQL_CF_WORD_MAL, DQL_CF_TRIGRAM_LLR,
    DQL_CF__COUNT
};
#define DQL_CF_MAX 64           /* features a model may hold */

extern const char *const dql_cf_names[DQL_CF__COUNT];

/* Alphabet of the n-gram tables: a-z, 0-9, '-', any other byte, boundary. */
#define DQL_CF_SYMS 39
#define DQL_CF_BOUND 38
#define DQL_CF_BI (DQL_CF_SYMS * DQL_CF_SYMS)
#define DQL_CF_TRI (DQL_CF_SYMS * DQL_CF_SYMS * DQL_CF_SYMS)

/* Counts the reference tables are made of. Counts (not probabilities) so
 * that cross-fitting can subtract one fold's counts from the total. */
typedef struct dql_cf_suffix {
    char *s;                    /* public suffix, e.g. "co.uk" */
    uint32_t ben, mal;          /* names with that suffix */
} dql_cf_suffix;

typedef struct dql_cf_counts {
    uint32_t bi_ben[DQL_CF_BI], bi_mal[DQL_CF_BI];
    uint32_t *tri_ben, *tri_mal; /* DQL_CF_TRI counts each */
    dql_cf_suffix *suf;         /* sorted by s */
    int nsuf;
    dql_cf_suffix *wrd;         /* dictionary words of the labels' segmentations, sorted */
    int nwrd;
    uint64_t wben, wmal;        /* words counted */
    uint64_t nben, nmal;        /* names counted */
} dql_cf_counts;

/* A trie of dictionary words (bit-mask children, breadth-first order). */
typedef struct dql_cf_trie {
    uint32_t *mask;             /* bits 0-25: children a-z; bit 31: a word ends here */
    uint32_t *base;             /* index of the first child */
    uint32_t n;
} dql_cf_trie;

/* Everything the extractor needs, derived from counts + words at load. */
typedef struct dql_cf_ref {
    float bi_ben[DQL_CF_BI];    /* log P(b | a), benign, add-one smoothed */
    float bi_llr[DQL_CF_BI];    /* log P_ben(b|a) - log P_mal(b|a) */
    float *tri;                 /* log10(1 + per-million frequency); DQL_CF_TRI */
    uint8_t *tri_seen;          /* count > 0 */
    float *tri_llr;             /* log P_ben(trigram) - log P_mal(trigram), add-one */
    /* suffix table: open addressing on the suffix string */
    struct { uint64_t h; float cls, mal; } *sh;
    uint32_t shmask;
    float tld_cls_unknown, tld_mal_unknown;
    struct { uint64_t h; float llr, mal; } *wh;   /* word table */
    uint32_t whmask;
    float word_llr_unknown, word_mal_unknown;
    const dql_cf_trie *trie;
} dql_cf_ref;

/* Splits a name (lower case, no trailing dot) into subdomain, registrable
 * label and public suffix (libpsl). Lengths may be 0. */
typedef struct dql_cf_parts {
    const char *sub, *label, *suffix;
    size_t nsub, nlabel, nsuffix;
    int labels, suffix_labels;
} dql_cf_parts;
void dql_cf_split(const char *name, size_t n, dql_cf_parts *p);
/* Normalises s into buf (lower case, no trailing dot; at most cap-1 bytes);
 * returns the length. */
size_t dql_cf_normalize(const char *s, size_t n, char *buf, size_t cap);

/* Computes the DQL_CF__COUNT features of a split name into x. */
void dql_cf_extract(const dql_cf_ref *ref, const dql_cf_parts *p, float *x);

/* Counts: add one name; merge/subtract whole tables (same suffix sets are
 * not required: subtraction looks suffixes up). */
void dql_cf_counts_init(dql_cf_counts *c);
void dql_cf_counts_free(dql_cf_counts *c);
void dql_cf_counts_add(dql_cf_counts *c, const dql_cf_trie *t, const dql_cf_parts *p, bool mal);
/* Sorts and merges suffix entries after adds (call once before use). */
void dql_cf_counts_finish(dql_cf_counts *c);
/* out = a - b (b must be a subset of a). */
void dql_cf_counts_sub(dql_cf_counts *out, const dql_cf_counts *a, const dql_cf_counts *b);

void dql_cf_ref_build(dql_cf_ref *r, const dql_cf_counts *c, const dql_cf_trie *t);
void dql_cf_ref_free(dql_cf_ref *r);

/* Builds a trie from newline-separated words (lower-case a-z only; others
 * are skipped). */
void dql_cf_trie_build(dql_cf_trie *t, const char *words, size_t n);
void dql_cf_trie_free(dql_cf_trie *t);

/* ----------------------------------------------------------------- model */

/* One node: 8 bytes. x = feature << 24 | index of the left child within the
 * tree (the right child follows it); feature 255 marks a leaf whose value
 * (probability of malicious) is v. Otherwise go left when x[feature] <= v. */
typedef struct dql_rf_node { float v; uint32_t x; } dql_rf_node;
#define DQL_RF_LEAF 255u

typedef struct dql_model {
    int nfeat;                  /* features the trees use (prefix of dql_cf_names) */
    char *featset;              /* "default" */
    double threshold;           /* score >= threshold: malicious */
    char *threshold_spec;       /* as given: "fpr:0.01", "0.5" */
    char *meta;                 /* key = value lines (training parameters, report) */
    /* reference data */
    dql_cf_counts counts;
    char *words; size_t nwords_bytes;
    dql_cf_trie trie;
    dql_cf_ref ref;
    /* forest */
    uint32_t ntrees, nnodes;
    uint32_t *roots;            /* ntrees */
    dql_rf_node *nodes;         /* nnodes */
    float *nval;                /* nnodes: share of malicious training weight at each node (EXPLAIN) */
    /* scoring layout (dql_model_prepare): leaves loop to themselves with
     * threshold +inf, so that several traversals run in lock step without
     * branches; lv holds the leaf values */
    dql_rf_node *sn;
    float *lv;
} dql_model;

/* Serialises m (counts, words, trees, meta) into b: the exact bytes of a
 * model file. */
void dql_model_write(const dql_model *m, dql_buf *b);
/* Parses a model file image; on error writes a message (naming what is
 * wrong: not a model, version, truncated, checksum, corrupt section) and
 * returns DQL_ERR_IO. The model copies what it needs from p. */
dql_status dql_model_read(const void *p, size_t n, dql_model **out, char *err, size_t errlen);
dql_status dql_model_load(const char *path, dql_model **out, char *err, size_t errlen);
void dql_model_free(dql_model *m);
/* Builds the derived tables (trie, ref) after counts and words are set. */
void dql_model_prepare(dql_model *m);
/* The built-in model (compiled into the binary); NULL with err on failure. */
const dql_model *dql_model_default(char *err, size_t errlen);
/* The built-in word list. */
const char *dql_cf_builtin_words(size_t *n);

/* Scores: rows of nfeat floats (row-major, stride nfeat) -> mean leaf value. */
void dql_rf_score_batch(const dql_model *m, const float *x, int nrows, double *out);
double dql_rf_score_one(const dql_model *m, const float *x);
/* Per-feature contributions to the score of one row (Saabas: the change of
 * the node value along each decision path, averaged over trees). Needs the
 * internal node values, so it recomputes them from the leaves below. */
void dql_rf_contrib(const dql_model *m, const float *x, double *contrib);

/* Training. x is column-major: x[f * n + i]. */
typedef struct dql_rf_params {
    int trees, max_depth, min_leaf, mtry, threads;
    uint64_t seed;
} dql_rf_params;
/* Trains the forest into m (ntrees, roots, nodes, nval); oob (n doubles)
 * gets the out-of-bag score of each row (-1 when a row was in every bag);
 * importance (nfeat doubles, may be NULL) the share of gini decrease. */
void dql_rf_train(dql_model *m, const float *x, const uint8_t *y, size_t n, int nfeat,
                  const dql_rf_params *p, double *oob, double *importance);

/* Metrics over scores and labels. */
double dql_auc(const double *s, const uint8_t *y, size_t n);
/* The smallest threshold whose false-positive rate is <= fpr. */
double dql_threshold_at_fpr(const double *s, const uint8_t *y, size_t n, double fpr);
/* True-positive rate at the threshold of dql_threshold_at_fpr. */
double dql_tpr_at_fpr(const double *s, const uint8_t *y, size_t n, double fpr);

/* Random numbers: splitmix64 (deterministic on every platform). */
static inline uint64_t dql_rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static inline uint32_t dql_rng_below(uint64_t *s, uint32_t n)
{
    return (uint32_t)(((dql_rng_next(s) >> 32) * (uint64_t)n) >> 32);
}

#endif
