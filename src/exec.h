/* exec.h — the run-time contracts between the engine and the parts that
 * plug into it: the execution context (errors, warnings, interrupts), the
 * builtin function registry, loaders, storers and the result printer. */
#ifndef DQL_EXEC_H
#define DQL_EXEC_H

#include "dql.h"
#include <signal.h>

typedef struct dql_session dql_session;

/* ------------------------------------------------------- execution context */

/* Warnings are counted by kind ("csv: too few fields", "cast to int") and
 * printed once at the end of a statement with the first example of each. */
typedef struct dql_warn_kind {
    char *kind;
    uint64_t count;
    char *first;      /* message of the first occurrence (file, record, value) */
} dql_warn_kind;

typedef struct dql_exec {
    dql_session *sess;
    volatile sig_atomic_t *interrupted;  /* set by the SIGINT handler */
    uint64_t mem_budget;                 /* bytes for GROUP/ORDER/DISTINCT/JOIN before spilling */
    bool strict;                         /* dirty input rows are errors, not warnings */
    const char *tmpdir;                  /* for spill files */
    const char *op_name;                 /* operator currently reporting, e.g. "LOAD" */
    const char *alias;                   /* alias of that operator, or NULL */
    dql_warn_kind *warns;
    int nwarns, capwarns;
    char *errmsg;                        /* set by dql_exec_error; owned */
    uint64_t spill_runs;                 /* run files the sorters wrote (SET stats) */
    /* progress: rows read by LOADs and written by the statement, and the
     * input bytes done/total where a loader knows them; the callback (set by
     * the shell on a terminal) is called every few batches and decides itself
     * whether to draw anything */
    uint64_t rows_in, rows_out, bytes_done, bytes_total;
    void (*progress)(void *ud, const struct dql_exec *ex);
    void *progress_ud;
    uint32_t tick;
    /* STORE ... WITH (resume = true): the keys already in the target table,
     * set by the storer before the statement runs so that a per-file STREAM
     * skips those rows (files.h); NULL otherwise */
    const struct dql_keyset *resume;
} dql_exec;

/* Records a runtime error ("LOAD (alias d): file 'x' record 3: ...") and
 * returns DQL_ERR_RUNTIME (or the given status via dql_exec_error_st). */
dql_status dql_exec_error(dql_exec *ex, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
dql_status dql_exec_error_st(dql_exec *ex, dql_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Counts a warning of the given kind. In strict mode it becomes an error:
 * the function then returns DQL_ERR_RUNTIME and the caller must stop;
 * otherwise it returns DQL_OK and the caller goes on (with a null value or
 * a skipped row, as documented for that kind). */
dql_status dql_exec_warn(dql_exec *ex, const char *kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* True when Ctrl-C was pressed: operators poll between batches. */
static inline bool dql_exec_interrupted(const dql_exec *ex) { return ex->interrupted && *ex->interrupted; }

/* ------------------------------------------------------------- functions */

typedef struct dql_fnctx {
    dql_arena *arena;   /* where results are allocated; valid for the current batch */
    dql_exec *ex;
    void *state;        /* per call site, from prepare(); NULL if none */
} dql_fnctx;

/* Scalar function: argv has argc values (already evaluated; may be null).
 * Most functions return null on null input. Errors on bad values are
 * counted warnings (dql_exec_warn) with a null result, not failures. */
typedef dql_status (*dql_fn)(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out);

/* An algebraic aggregate: the engine can run it in a hash aggregation and
 * combine partial states. step() receives the first field of each tuple of
 * the bag (for COUNT_STAR, every tuple counts even if that field is null). */
typedef struct dql_agg_def {
    size_t state_size;
    void (*init)(void *st);
    void (*step)(void *st, dql_value v);
    void (*merge)(void *st, const void *other);
    void (*final)(void *st, dql_arena *a, dql_value *out);
    /* Sharded runs (shard.c): a task exports its partial state as a value of
     * partial_type (and releases the state, like final), the merge step folds
     * such values into a state with combine(). NULL: not pre-aggregated. */
    void (*partial)(void *st, dql_arena *a, dql_value *out);
    void (*combine)(void *st, dql_value v);
    dql_type partial_type;      /* DQL_T_ANY: the aggregate's own result type */
    /* An aggregate with constant parameters (TOP's n and column): after
     * init, the values written in the call. NULL: none. Its step() then
     * receives each input row as a tuple (dql_aggslot.params). */
    void (*configure)(void *st, const dql_value *params, int nparams);
} dql_agg_def;

/* Heap memory held by aggregate states outside their fixed state_size (the
 * sets of COUNT_DISTINCT, the tuples TOP keeps): states add what they allocate and subtract what
 * they free, so that a hash aggregation counts it against its budget. */
extern int64_t dql_agg_heap_bytes;

/* Type check at plan time: given the argument fields, returns the result type
 * (filling *sub for tuple/bag results when known, allocated with
 * dql_schema_new) or DQL_T__COUNT after writing a message to err. */
typedef dql_type (*dql_fn_typecheck)(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen);

typedef struct dql_func_def {
    const char *name;        /* upper case, as users write it (case-sensitive lookup
                                 of the exact name and of its upper-case form) */
    int min_args, max_args;  /* max_args -1: variadic */
    dql_type ret;            /* used when typecheck is NULL */
    dql_fn_typecheck typecheck;
    dql_fn fn;               /* scalar form; for aggregates: called with one bag argument */
    const dql_agg_def *agg;  /* non-NULL: an aggregate the planner can fuse into a hash
                                 aggregation: over one bag (COUNT...), or with constant
                                 parameters before the bag (TOP: agg->configure) */
    /* Optional per-call-site setup: constant arguments are given (non-constant
     * ones are passed as null with consts[i] == false); e.g. compile a regex once. */
    dql_status (*prepare)(int argc, const dql_value *argv, const bool *consts, void **state, char *err, size_t errlen);
    void (*cleanup)(void *state);
    const char *category;    /* "string", "math", "aggregate", "domain", "address", "time", "misc" */
    const char *syntax;      /* "SUBSTRING(s, start, stop)" */
    const char *summary;     /* one line for .help */
} dql_func_def;

/* Looks a builtin up by name (case-insensitive). NULL if unknown. */
const dql_func_def *dql_func_find(const char *name);
/* Iterates over all builtins (for .help and completion): returns NULL past the end. */
const dql_func_def *dql_func_at(size_t i);
/* Runs an aggregate over a bag value (the scalar form of an algebraic aggregate). */
dql_status dql_agg_over_bag(const dql_agg_def *agg, dql_fnctx *cx, dql_value bag, dql_value *out);
/* For the builtins: counts a warning of kind on the call's context (none
 * when constants are folded at plan time) and returns the status the
 * function must return: DQL_OK, or an error in strict mode. */
dql_status dql_fn_warn(dql_fnctx *cx, const char *kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* An integer argument: an int or long, a double (truncated, within
 * +-9e18), or text that is an integer. False for anything else. */
bool dql_fn_arg_int(dql_value v, int64_t *out);

/* Tables defined by the fn_*.c files, each ending with an all-zero entry. */
extern const dql_func_def dql_fn_string[];
extern const dql_func_def dql_fn_math[];
extern const dql_func_def dql_fn_agg[];
extern const dql_func_def dql_fn_domain[];
extern const dql_func_def dql_fn_net[];
extern const dql_func_def dql_fn_time[];
extern const dql_func_def dql_fn_classify[];   /* op_classify.c: FEATURES */
extern const dql_func_def dql_fn_files[];      /* fn_files.c: HASH, FILETYPE, YARA, ... */

/* -------------------------------------------------------------- arguments */

/* Arguments given to a loader or storer: USING csv('a', header = true). */
typedef struct dql_arg {
    const char *name;   /* NULL for a positional argument */
    dql_value v;        /* a literal: chararray, long, double, bool, or a tuple for (a, b) lists */
} dql_arg;

typedef struct dql_args {
    int n;
    dql_arg *a;
} dql_args;

/* Lookup helpers: return the named argument or the positional one at pos
 * (pos < 0: named only); NULL when absent. */
const dql_value *dql_args_get(const dql_args *args, const char *name, int pos);

/* ---------------------------------------------------------------- loaders */

/* A shard that a loader may start by speculation (zone files: the state at
 * the shard's first record guessed from a window before it, not scanned
 * from the file's start; captures: the streams and queries in flight
 * rebuilt from the file before the block). The loader writes what it assumed at its first
 * boundary (start, "" when it did not speculate) and the state at the
 * boundary that ended it (end); the coordinator (shard.c) checks each
 * task's start against the end of the task before it and reruns a task
 * whose guess was wrong with exact set. */
typedef struct dql_shard_bounds {
    bool exact;              /* in: no speculation */
    char start[64], end[64]; /* out */
} dql_shard_bounds;

typedef struct dql_load_ctx {
    const char *path;        /* as written in LOAD (after parameter substitution) */
    const dql_args *args;
    const dql_schema *declared;  /* AS (...) schema or NULL */
    dql_session *sess;
    /* At run time: needed[i] is false when no statement reads column i, so
     * the loader may leave it null instead of decoding it. NULL: all needed. */
    const bool *needed;
    /* Sharded runs: read only shard `shard` of `nshards` (0 of 1 when not
     * sharded); see shard_by in dql_loader_def. */
    int shard, nshards;
    dql_shard_bounds *bounds;    /* a task's notes on its start and end (zone(), pcap()); NULL otherwise */
} dql_load_ctx;

typedef struct dql_loader_def {
    const char *name;        /* "csv" */
    const char *syntax;      /* "csv([header = true], [delimiter = ','])" */
    const char *summary;
    /* Plan time: validate arguments, check the input exists, and produce the
     * output schema (the declared one, or one read from a header / inferred).
     * On error write a message to err and return DQL_ERR_CHECK. */
    dql_status (*plan)(const dql_load_ctx *lc, dql_schema **out, char *err, size_t errlen);
    /* Run time. */
    dql_status (*open)(const dql_load_ctx *lc, const dql_schema *schema, dql_exec *ex, void **state);
    /* Fills out (out->ncols == schema->n) with up to out->cap rows; values are
     * allocated in arena (reset by the caller before each call). out->n == 0
     * means end of input. */
    dql_status (*next)(void *state, dql_batch *out, dql_arena *arena);
    void (*close)(void *state);
    /* Optional: bytes read so far and total (for progress); may be NULL. */
    void (*progress)(void *state, uint64_t *done, uint64_t *total);
    /* How a sharded run splits this input ("byte range", "file", ...); NULL:
     * the loader cannot read a shard, and a sharded script cannot start with it. */
    const char *shard_by;
} dql_loader_def;

/* ---------------------------------------------------------------- storers */

typedef struct dql_store_ctx {
    const char *path;
    const dql_args *args;
    const dql_schema *schema;
    bool overwrite;
    dql_session *sess;
    const dql_args *with;    /* STORE ... WITH (k = v, ...); NULL or empty when absent */
} dql_store_ctx;

typedef struct dql_storer_def {
    const char *name;
    const char *syntax;
    const char *summary;
    /* Plan time: check arguments, that the target is writable, and that it
     * does not exist unless overwrite. */
    dql_status (*plan)(const dql_store_ctx *sc, char *err, size_t errlen);
    dql_status (*open)(const dql_store_ctx *sc, dql_exec *ex, void **state);
    dql_status (*write)(void *state, const dql_batch *b);
    /* Makes the result visible atomically (rename / COMMIT). */
    dql_status (*commit)(void *state);
    /* Discards everything written; the previous output stays as it was. */
    void (*abort)(void *state);
    /* Optional, for sharded runs of a STORE of rows the tasks compute
     * (shard.c): task `part` writes its rows with open_part (then write and
     * commit: one transaction, replacing that part on a retry); the merge
     * then makes the target out of the nparts parts with assemble (in one
     * transaction, as open+commit would) and drops them. run names the
     * sharded run (parts of different runs do not meet). NULL: the tasks'
     * rows go through their SQLite files and the merge writes them. */
    dql_status (*open_part)(const dql_store_ctx *sc, int part, const char *run, dql_exec *ex, void **state);
    dql_status (*assemble)(const dql_store_ctx *sc, int nparts, const char *run, dql_exec *ex);
} dql_storer_def;

const dql_loader_def *dql_loader_find(const char *name);
const dql_loader_def *dql_loader_at(size_t i);
const dql_storer_def *dql_storer_find(const char *name);
const dql_storer_def *dql_storer_at(size_t i);

/* Defined by io_*.c, workspace.c and op_zone.c. */
extern const dql_loader_def dql_loader_lines, dql_loader_csv, dql_loader_tsv,
       dql_loader_jsonl, dql_loader_sqlite, dql_loader_zone,
       dql_loader_files;   /* op_files.c */
extern const dql_loader_def dql_loader_pcap;   /* op_pcap.c */
extern const dql_loader_def dql_loader_postgres;   /* op_pg.c */
extern const dql_storer_def dql_storer_postgres;   /* op_pg.c */
extern const dql_storer_def dql_storer_csv, dql_storer_tsv, dql_storer_jsonl,
       dql_storer_lines, dql_storer_sqlite, dql_storer_zone;

/* ---------------------------------------------------------------- printer */

typedef enum dql_outmode {
    DQL_OUT_TABLE, DQL_OUT_BOX, DQL_OUT_CSV, DQL_OUT_TSV, DQL_OUT_JSON,
    DQL_OUT_JSONL, DQL_OUT_MARKDOWN, DQL_OUT_LINE, DQL_OUT__COUNT
} dql_outmode;

const char *dql_outmode_name(dql_outmode m);
bool dql_outmode_parse(const char *s, dql_outmode *m);

typedef struct dql_out_opts {
    dql_outmode mode;
    bool headers;
    const char *nullvalue;   /* text for null ("" by default) */
    int64_t maxrows;         /* table/box/markdown/line on screen: rows shown, <= 0 unlimited */
    int maxwidth;            /* cut wider cells with a marker on screen; <= 0 no limit */
    FILE *fp;
} dql_out_opts;

typedef struct dql_printer dql_printer;
dql_printer *dql_printer_new(const dql_out_opts *o, const dql_schema *s);
void dql_printer_row(dql_printer *p, const dql_value *row);
/* Hands the csv/tsv rows buffered so far to the stream (no fflush): what a
 * UDF prints while the next batch is computed comes after them. */
void dql_printer_flush(dql_printer *p);
/* Flushes buffered rows; in table-like modes prints "N of M rows shown;
 * .last to see all" when rows were hidden. */
void dql_printer_end(dql_printer *p);
void dql_printer_free(dql_printer *p);

/* ------------------------------------------------------------ byte input */

/* A buffered reader over a file, stdin ("-") or a .gz file (zlib), with
 * large reads. Used by every text loader. */
typedef struct dql_reader dql_reader;
dql_status dql_reader_open(const char *path, dql_reader **out, char *err, size_t errlen);
/* Returns the next line without its newline (and without a trailing \r);
 * *line points into the reader's buffer, valid until the next call.
 * DQL_EOF at end. Lines longer than the buffer grow it. */
dql_status dql_reader_line(dql_reader *r, const char **line, size_t *len);
uint64_t dql_reader_lineno(const dql_reader *r);
void dql_reader_progress(const dql_reader *r, uint64_t *done, uint64_t *total);
const char *dql_reader_path(const dql_reader *r);
void dql_reader_close(dql_reader *r);

/* Plan-time check of a file a STORE will write: its directory exists and is
 * writable, it is not a directory, and it does not exist unless overwrite
 * ("-" is stdout and always fine). DQL_ERR_CHECK with a message in err. */
dql_status dql_output_check(const char *path, bool overwrite, char *err, size_t errlen);

/* Expands a LOAD path: a file, "-", a directory (its regular files, sorted)
 * or a glob. Returns the number of paths (0 with err set when nothing
 * matches); *paths is a NULL-terminated array to free with dql_paths_free. */
int dql_paths_expand(const char *pattern, char ***paths, char *err, size_t errlen);
void dql_paths_free(char **paths);
/* A sharded run reading files whole: keeps shard `shard` of `nshards`, a
 * contiguous block of the n paths (and of sizes, when not NULL), freeing
 * the others; returns the number kept (may be 0). */
int dql_paths_shard(char **paths, uint64_t *sizes, int n, int shard, int nshards);
/* The block dql_paths_shard keeps: paths [*lo, *hi). */
void dql_paths_block(int n, int shard, int nshards, int *lo, int *hi);
/* Keeps paths [lo, hi) (and their sizes), freeing the others; returns hi - lo. */
int dql_paths_keep(char **paths, uint64_t *sizes, int n, int lo, int hi);
/* True for a regular, non-empty file that is not gzip-compressed: one a
 * sharded run may split by byte range. */
bool dql_path_splittable(const char *path);

#endif
