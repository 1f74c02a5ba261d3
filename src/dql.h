/* dql.h — the core types every layer shares: status codes, values, arenas,
 * tuples, bags, maps, schemas and row batches.
 *
 * Memory model: values never own their payload. Strings, tuples, bags and
 * maps live in an arena (dql_arena); an operator's output batch lives in the
 * operator's arena and stays valid until the next call to that operator's
 * next(). Operators that keep rows longer (GROUP, ORDER, JOIN, DISTINCT)
 * copy them with dql_value_copy() into an arena of their own. */
#ifndef DQL_H
#define DQL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>

/* ---------------------------------------------------------------- status */

/* Every function that can fail returns one of these. dql_status_str() maps
 * each to its message; dql_status_exit() to the process exit code. */
typedef enum dql_status {
    DQL_OK = 0,
    DQL_EOF,          /* end of a stream: not an error */
    DQL_ERR_PARSE,    /* syntax error in a script */
    DQL_ERR_CHECK,    /* the planner rejected the script */
    DQL_ERR_RUNTIME,  /* an operator failed while running */
    DQL_ERR_IO,       /* a file could not be read or written */
    DQL_ERR_NOMEM,
    DQL_ERR_USAGE,    /* bad command line or dot-command use */
    DQL_ERR_INTERRUPT,
    DQL_ERR_SQL,      /* SQLite reported an error */
    DQL_ERR_LUA,      /* a Lua error */
    DQL_STATUS_MAX
} dql_status;

const char *dql_status_str(dql_status st);
/* Exit codes: 0 ok, 1 runtime error, 2 usage or system error,
 * 3 parse or check error, 130 interrupted. */
int dql_status_exit(dql_status st);

enum { DQL_EXIT_OK = 0, DQL_EXIT_RUNTIME = 1, DQL_EXIT_USAGE = 2,
       DQL_EXIT_CHECK = 3, DQL_EXIT_INTERRUPT = 130 };

/* ------------------------------------------------------------------ arena */

typedef struct dql_arena_chunk dql_arena_chunk;
/* A bump allocator. Reset frees everything at once but keeps the first
 * chunk for reuse, so steady-state streaming allocates nothing. */
typedef struct dql_arena {
    dql_arena_chunk *head;   /* current chunk */
    size_t used;             /* bytes used in head */
    size_t total;            /* bytes allocated in all chunks (for budgets) */
} dql_arena;

void  dql_arena_init(dql_arena *a);
void *dql_arena_alloc(dql_arena *a, size_t n);          /* 8-byte aligned; aborts on OOM */
void *dql_arena_memdup(dql_arena *a, const void *p, size_t n);
char *dql_arena_strndup(dql_arena *a, const char *s, size_t n); /* NUL-terminated copy */
char *dql_arena_printf(dql_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void  dql_arena_reset(dql_arena *a);
void  dql_arena_free(dql_arena *a);

/* Checked allocation for long-lived structures: abort with a message on OOM. */
void *dql_xmalloc(size_t n);
void *dql_xcalloc(size_t n, size_t m);
void *dql_xrealloc(void *p, size_t n);
char *dql_xstrdup(const char *s);
char *dql_xstrndup(const char *s, size_t n);

/* Growable byte buffer. */
typedef struct dql_buf { char *p; size_t len, cap; } dql_buf;
void dql_buf_reserve(dql_buf *b, size_t extra);
void (dql_buf_put)(dql_buf *b, const void *p, size_t n);
void (dql_buf_putc)(dql_buf *b, char c);
/* Inline fast paths: room is kept for a terminating NUL. */
static inline void dql_buf_put_inline(dql_buf *b, const void *p, size_t n)
{
    if (b->cap - b->len <= n || !b->p) dql_buf_reserve(b, n);
    if (n) __builtin_memcpy(b->p + b->len, p, n);
    b->len += n;
}
static inline void dql_buf_putc_inline(dql_buf *b, char c)
{
    if (b->cap - b->len <= 1 || !b->p) dql_buf_reserve(b, 1);
    b->p[b->len++] = c;
}
#define dql_buf_put(b, p, n) dql_buf_put_inline((b), (p), (n))
#define dql_buf_putc(b, c) dql_buf_putc_inline((b), (c))
void dql_buf_puts(dql_buf *b, const char *s);
void dql_buf_printf(dql_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dql_buf_free(dql_buf *b);
/* NUL-terminates (not counted in len) and returns b->p. */
const char *dql_buf_cstr(dql_buf *b);

/* ------------------------------------------------------------------ types */

typedef enum dql_type {
    DQL_T_NULL = 0,   /* the type of the null literal; any value may be null */
    DQL_T_BOOL,
    DQL_T_INT,        /* 32-bit, stored in i */
    DQL_T_LONG,       /* 64-bit */
    DQL_T_DOUBLE,
    DQL_T_CHARARRAY,  /* UTF-8 text */
    DQL_T_BYTEARRAY,  /* raw bytes; Pig's default for untyped fields */
    DQL_T_DATETIME,   /* microseconds since 1970-01-01T00:00:00Z in i */
    DQL_T_DOMAIN,     /* a domain name: lower case, no trailing dot (root is "."),
                         compared in DNS canonical order */
    DQL_T_IP,         /* v4 or v6 address: ip points to 4 or 16 bytes, len = 4|16 */
    DQL_T_CIDR,       /* network: ip bytes + prefix length in aux */
    DQL_T_TUPLE,
    DQL_T_BAG,
    DQL_T_MAP,
    DQL_T_ANY,        /* schema only: type not known until run time */
    DQL_T__COUNT
} dql_type;

const char *dql_type_name(dql_type t);       /* "chararray", ... */
/* Parses a type name (case-insensitive, with Pig aliases such as "string"?
 * no: exactly the names dql_type_name returns, plus "int"/"integer").
 * Returns DQL_T__COUNT when unknown. */
dql_type dql_type_parse(const char *name, size_t len);
bool dql_type_is_numeric(dql_type t);
bool dql_type_is_stringlike(dql_type t);  /* chararray, bytearray, domain */

typedef struct dql_tuple dql_tuple;
typedef struct dql_bag dql_bag;
typedef struct dql_map dql_map;

/* A value: 16 bytes. The payload of strings, ips and containers lives
 * elsewhere (an arena); a value never frees anything. */
typedef struct dql_value {
    uint8_t  type;     /* dql_type; DQL_T_NULL means null */
    uint8_t  flags;
    uint16_t aux;      /* CIDR prefix length */
    uint32_t len;      /* byte length of s / ip */
    union {
        int64_t i;             /* BOOL (0/1), INT, LONG, DATETIME */
        double d;
        const char *s;         /* CHARARRAY, BYTEARRAY, DOMAIN: not NUL-terminated */
        const uint8_t *ip;     /* IP, CIDR */
        dql_tuple *t;
        dql_bag *b;
        dql_map *m;
    } u;
} dql_value;

struct dql_tuple { uint32_t n; dql_value v[]; };
struct dql_bag   { uint64_t n; dql_tuple **t; };
struct dql_map   { uint32_t n; dql_value *k; dql_value *v; };  /* keys are chararray */

/* Constructors (no allocation except where an arena is passed). */
static inline dql_value dql_null(void) { dql_value v = {0}; return v; }
static inline dql_value dql_bool(bool b) { dql_value v = {0}; v.type = DQL_T_BOOL; v.u.i = b; return v; }
static inline dql_value dql_int(int32_t i) { dql_value v = {0}; v.type = DQL_T_INT; v.u.i = i; return v; }
static inline dql_value dql_long(int64_t i) { dql_value v = {0}; v.type = DQL_T_LONG; v.u.i = i; return v; }
static inline dql_value dql_double(double d) { dql_value v = {0}; v.type = DQL_T_DOUBLE; v.u.d = d; return v; }
static inline dql_value dql_datetime(int64_t us) { dql_value v = {0}; v.type = DQL_T_DATETIME; v.u.i = us; return v; }
/* String-like value referring to s (not copied). */
static inline dql_value dql_str(dql_type t, const char *s, size_t n) {
    dql_value v = {0}; v.type = (uint8_t)t; v.len = (uint32_t)n; v.u.s = s; return v;
}
static inline dql_value dql_chararray(const char *s, size_t n) { return dql_str(DQL_T_CHARARRAY, s, n); }
static inline bool dql_is_null(dql_value v) { return v.type == DQL_T_NULL; }
/* Copies s into the arena. */
dql_value dql_chararray_copy(dql_arena *a, const char *s, size_t n);
dql_value dql_ip_make(dql_arena *a, const uint8_t *addr, int len /* 4|16 */);
dql_value dql_cidr_make(dql_arena *a, const uint8_t *addr, int len, int prefix);

dql_tuple *dql_tuple_new(dql_arena *a, uint32_t n);   /* fields set to null */
dql_bag   *dql_bag_new(dql_arena *a, uint64_t n);     /* n tuple slots, caller fills */
dql_map   *dql_map_new(dql_arena *a, uint32_t n);

/* Growable bag builder (for GROUP, TOKENIZE, ...): tuples appended are not copied. */
typedef struct dql_bag_builder { dql_tuple **t; uint64_t n, cap; } dql_bag_builder;
void dql_bag_builder_add(dql_bag_builder *bb, dql_tuple *t);
/* Moves the collected tuples into a bag allocated in a and resets bb. */
dql_bag *dql_bag_builder_finish(dql_bag_builder *bb, dql_arena *a);
void dql_bag_builder_free(dql_bag_builder *bb);

/* Deep copy of v into a (strings, ips and containers included). */
dql_value dql_value_copy(dql_arena *a, dql_value v);

/* Total order used by ORDER, GROUP, DISTINCT and JOIN: null sorts first;
 * numbers compare numerically across int/long/double; strings bytewise
 * (domains canonically, case-insensitive); tuples field by field; bags by size
 * then elements; different non-numeric types by type code. */
int dql_value_cmp(dql_value a, dql_value b);
/* Equality consistent with dql_value_cmp()==0, and a hash consistent with it. */
bool dql_value_eq(dql_value a, dql_value b);
uint64_t dql_value_hash(dql_value v);
uint64_t dql_hash_bytes(const void *p, size_t n, uint64_t seed);

/* Text rendering, as DUMP prints atoms: numbers in shortest round-trip form,
 * datetimes ISO 8601 UTC, ips in RFC 5952 form, tuples (a,b), bags {(a),(b)},
 * maps [k#v,...]. Null renders as nothing (callers print their null text). */
void dql_value_format(dql_buf *out, dql_value v);
/* The same text escaped as a TSV cell (see dql_buf_tsv), in one pass. */
void dql_value_format_tsv(dql_buf *out, dql_value v);
/* A whole TSV line: the n cells of row, tab-separated, nulls as null[0..nulllen)
 * (already escaped), and a newline. */
void dql_row_format_tsv(dql_buf *out, const dql_value *row, int n, const char *null, size_t nulllen);
/* JSON rendering: tuples as arrays, bags as arrays of arrays, maps as objects. */
void dql_value_json(dql_buf *out, dql_value v);

/* Casts. On a value that does not convert, *out is null and the function
 * returns false (the caller counts a warning). Strings are parsed; numbers
 * are range-checked; chararray -> domain normalises (lower case, trailing dot
 * removed) and validates; chararray -> ip/cidr parses. */
bool dql_value_cast(dql_arena *a, dql_value v, dql_type to, dql_value *out);
/* Parses text into a value of the given atom type (used by loaders). */
bool dql_value_parse(dql_arena *a, const char *s, size_t n, dql_type t, dql_value *out);

/* Truthiness for FILTER: only boolean true passes; null is not true. */
static inline bool dql_value_true(dql_value v) { return v.type == DQL_T_BOOL && v.u.i; }

/* Domain helpers. dql_domain_normalize writes a normalised name into a
 * (lower case, no trailing dot, punycode not applied here) and returns false
 * with a reason when the name is invalid (empty label, label > 63 octets,
 * name > 253 octets). */
bool dql_domain_normalize(dql_arena *a, const char *s, size_t n, dql_value *out, const char **why);
int  dql_domain_cmp(const char *a, size_t an, const char *b, size_t bn);

/* Address helpers: parse/format v4 and v6 text. */
bool dql_ip_parse(const char *s, size_t n, uint8_t out[16], int *len);
void dql_ip_format(dql_buf *out, const uint8_t *ip, int len);

/* ISO 8601 parse/format for datetime (µs precision, UTC or offset). */
bool dql_datetime_parse(const char *s, size_t n, int64_t *us);
void dql_datetime_format(dql_buf *out, int64_t us);

/* ----------------------------------------------------------------- schema */

typedef struct dql_schema dql_schema;
typedef struct dql_field {
    char *name;          /* NULL for unnamed (positional only); "a::f" after JOIN */
    dql_type type;
    dql_schema *sub;     /* TUPLE: its fields; BAG: the schema of its tuples; else NULL */
} dql_field;

struct dql_schema {
    int n;
    dql_field *f;
};

dql_schema *dql_schema_new(int n);
dql_schema *dql_schema_copy(const dql_schema *s);
void dql_schema_free(dql_schema *s);
/* Appends a field (name copied, sub copied). */
void dql_schema_add(dql_schema *s, const char *name, dql_type t, const dql_schema *sub);
/* Finds a field by name: exact match first, then a unique "x::name" suffix
 * match. Returns the index, -1 when absent, -2 when ambiguous. */
int dql_schema_find(const dql_schema *s, const char *name);
/* Pig-style rendering: "name: chararray, n: long, b: {(x: int)}". */
void dql_schema_format(dql_buf *out, const dql_schema *s);

/* ------------------------------------------------------------------ batch */

#define DQL_BATCH_ROWS 1024

/* A batch of rows of the same width. rows[i*ncols + j] is field j of row i. */
typedef struct dql_batch {
    int n;          /* rows in the batch */
    int cap;        /* row capacity */
    int ncols;
    dql_value *v;
} dql_batch;

void dql_batch_init(dql_batch *b, int ncols, int cap);
void dql_batch_free(dql_batch *b);
static inline dql_value *dql_batch_row(dql_batch *b, int i) { return b->v + (size_t)i * (size_t)b->ncols; }

/* ------------------------------------------------------------------ spans */

/* A place in a script: file name, byte offsets, line and column (1-based). */
typedef struct dql_span {
    uint32_t line, col;  /* of start */
    uint32_t start, end; /* byte offsets [start, end) */
    const char *file;    /* owned by the session; never freed while the session lives */
    const char *src;     /* the whole source text the offsets refer to */
} dql_span;

/* -------------------------------------------------------------- utilities */

/* Appends s as a TSV cell: tab, newline, carriage return and backslash
 * escaped (\t \n \r \\); plain runs are found 16 bytes at a time. */
void dql_buf_tsv(dql_buf *b, const char *s, size_t n);
/* Length of the leading run of s that TSV leaves as it is (n: all of it). */
size_t dql_tsv_plain(const char *s, size_t n);

/* Reads a whole file ("-": stdin) into a malloc'd NUL-terminated buffer;
 * *len (if not NULL) gets its length. NULL with a message in err on failure. */
char *dql_read_file(const char *path, size_t *len, char *err, size_t errlen);

/* Parses sizes like "256MB", "1g", "4096" into bytes. */
bool dql_parse_size(const char *s, uint64_t *out);
/* Parses durations like "2s", "500ms", "1h30m" into microseconds. */
bool dql_parse_duration(const char *s, int64_t *us);

#endif
