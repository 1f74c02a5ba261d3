/* zone.h — the DNS master-file (zone file) scanner behind LOAD ... USING
 * zone() and the rdata codec shared by the loader and the zone writer.
 *
 * The scanner (zone_scan.c) streams RFC 1035 master files of any size with
 * flat memory: it reads large blocks, cuts them into records (parentheses
 * over lines, comments, quoted strings, escapes), handles $ORIGIN, $TTL,
 * $INCLUDE and BIND's $GENERATE, and converts every record's rdata to wire
 * form once, validating it per type (zone_rdata.c). Nothing is allocated
 * per record: a record returned by dql_zone_next() points into the
 * scanner and stays valid until the next call. With dql_zone_opts.checks
 * the records are also checked against the others of their owner's run
 * (zone-level rules, as named-checkzone), with O(1) state.
 *
 * zone_rdata.c renders wire rdata back into canonical presentation text
 * and into named fields (the loader's `fields` map). */
#ifndef DQL_ZONE_H
#define DQL_ZONE_H

#include "dql.h"

#define DQL_ZONE_NAME_MAX 255      /* octets of a name in wire form */
#define DQL_ZONE_RDATA_MAX 65535

/* One resource record. owner and rdata are wire form (owner absolute,
 * uncompressed, case as written). Valid until the next dql_zone_next(). */
typedef struct dql_zone_rr {
    const uint8_t *owner;
    size_t owner_len;
    uint16_t type, rclass;
    uint32_t ttl;
    const uint8_t *rdata;
    size_t rdlen;
    const char *file;      /* the file the record came from ($INCLUDE-aware) */
    uint64_t line;         /* its first line */
} dql_zone_rr;

/* What dql_zone_next() found. */
typedef enum dql_zone_res {
    DQL_ZONE_RR = 0,       /* a record in *rr */
    DQL_ZONE_EOF,          /* end of the input */
    DQL_ZONE_BAD,          /* a bad record or directive was skipped: see errmsg/errkind */
    DQL_ZONE_FATAL,        /* the input cannot be read further: see errmsg/errkind */
} dql_zone_res;

typedef struct dql_zone_opts {
    const char *origin;        /* initial $ORIGIN (text, absolute or not), NULL: root */
    uint32_t default_ttl;      /* TTL before any $TTL when a record has none */
    int max_include_depth;     /* $INCLUDE nesting limit (0: default 16) */
    bool no_include;           /* refuse $INCLUDE (fuzzing) */
    bool checks;               /* zone-level checks over each run of records with the same
                                * owner: CNAME and other data, DS at the apex (the origin,
                                * then the first SOA's owner), DS without NS. A bad record is
                                * DQL_ZONE_BAD like a syntax error; a DS before its NS is held
                                * back (with the records after it) until the NS or the end of
                                * the run. See doc/zone.md. */
    /* A sharded run (doc/shards.md): only the records of the top-level file
     * from the first "boundary" at or after byte shard_start up to the first
     * boundary at or after shard_end. A boundary is a record whose explicit
     * owner starts a new owner run, or an $INCLUDE or $GENERATE line (their
     * records belong to the shard of that line). The file before the shard
     * is scanned without its rdata, for $ORIGIN, $TTL, the last TTL, class
     * and owner, and the checks' apex and delegations. */
    bool sharded;
    bool shard_head;           /* the first shard: also the records before the first boundary */
    uint64_t shard_start, shard_end;
    /* A shard that is not the head may start by speculation instead of
     * scanning the whole file before it: it scans the head (the SOA), reads
     * the directives of the rest with memchr ($ORIGIN, $TTL; any $INCLUDE
     * or $GENERATE, or a directive it cannot read, and it scans everything
     * as above), counts the lines, and scans exactly only a window before
     * shard_start. Whether the state it assumed at its first boundary was
     * the true one is for the caller to check: dql_zone_shard_note. */
    bool shard_speculate;
    uint32_t spec_head, spec_window;   /* bytes scanned exactly first and last (0: 64 KB, 1 MB) */
} dql_zone_opts;

typedef struct dql_zone_scanner dql_zone_scanner;

/* Opens a file ("-" for stdin; gzip detected by its magic bytes). On error
 * returns NULL and writes a message to err. */
dql_zone_scanner *dql_zone_open(const char *path, const dql_zone_opts *o, char *err, size_t errlen);
/* Scans a memory buffer (copied); name is used in messages and to resolve
 * relative $INCLUDE paths. */
dql_zone_scanner *dql_zone_open_mem(const char *name, const void *data, size_t len, const dql_zone_opts *o);
dql_zone_res dql_zone_next(dql_zone_scanner *sc, dql_zone_rr *rr);
/* After DQL_ZONE_BAD / DQL_ZONE_FATAL: "file:line: error: message near 'token'"
 * and a short kind for counting ("bad TTL", "bad rdata", ...). */
const char *dql_zone_errmsg(const dql_zone_scanner *sc);
const char *dql_zone_errkind(const dql_zone_scanner *sc);
/* Bytes consumed of the top-level file and its size (0 when unknown). */
void dql_zone_progress(const dql_zone_scanner *sc, uint64_t *done, uint64_t *total);
void dql_zone_close(dql_zone_scanner *sc);
/* A sharded scanner's state at its boundaries, as text that two scanners
 * agree on exactly when their states agree: which 0 is the state at the
 * shard's first boundary, "" unless the shard started by speculation;
 * which 1 the state at the boundary that ended it ("eof" at the end of the
 * file, "" while unknown). A speculative shard is right when its start
 * equals the end of the shard before it (scanned exactly). */
const char *dql_zone_shard_note(const dql_zone_scanner *sc, int which);

/* ------------------------------------------------------------ rdata codec */

/* A token of presentation text (already cut by the scanner). */
typedef struct dql_zone_tok {
    const char *s;
    uint32_t len;
    uint8_t quoted;        /* was "..." */
    uint8_t esc;           /* contains a backslash */
} dql_zone_tok;

/* Parses the rdata tokens of a record of the given type into wire form in
 * out (at least DQL_ZONE_RDATA_MAX + 1 bytes). origin is the wire form of
 * the current origin for relative names. Returns the length, or -1 with a
 * message in why (static text) and the index of the offending token in
 * *badtok (-1: none in particular). */
int dql_zone_rdata_parse(uint16_t type, const dql_zone_tok *t, int nt, const uint8_t *origin,
                         size_t origin_len, uint8_t *out, const char **why, int *badtok);

/* Parses a domain name token into wire form (dst >= 255 bytes), appending
 * origin when relative; "@" is the origin. Returns the length or -1 with why. */
int dql_zone_name_parse(const char *s, size_t n, const uint8_t *origin, size_t origin_len,
                        uint8_t *dst, const char **why);
/* Writes a wire name as presentation text: escapes, lower case when lower,
 * a trailing dot unless nodot (root is "." always). */
void dql_zone_name_text(dql_buf *out, const uint8_t *name, size_t len, bool lower, bool nodot);
/* Length of the wire name at p (max n bytes), or 0 when malformed. */
size_t dql_zone_name_len(const uint8_t *p, size_t n);

/* RR type and class mnemonics. */
const char *dql_zone_type_name(uint16_t type);          /* NULL when unnamed */
bool dql_zone_type_parse(const char *s, size_t n, uint16_t *type);   /* mnemonic or TYPEnnn */
void dql_zone_type_text(dql_buf *out, uint16_t type);   /* mnemonic or TYPEnnn */
bool dql_zone_class_parse(const char *s, size_t n, uint16_t *cls);
void dql_zone_class_text(dql_buf *out, uint16_t cls);
/* A TTL with optional units (1h30m); false when invalid or > 2^32-1. */
bool dql_zone_ttl_parse(const char *s, size_t n, uint32_t *ttl, const char **why);

/* Renders rdata as canonical presentation text (names absolute and lower
 * case, hex upper case, base64 unbroken). Unknown or malformed rdata is
 * rendered in RFC 3597 form (\# len hex). */
void dql_zone_rdata_text(dql_buf *out, uint16_t type, const uint8_t *rd, size_t n);

/* One named rdata field. Text fields point into the buffer given to
 * dql_zone_rdata_fields (offsets, since the buffer may move). */
typedef struct dql_zone_field {
    const char *name;      /* RFC name, e.g. "serial", "key_tag" */
    bool num;              /* number in v, else text at [off, off+len) of the buffer */
    int64_t v;
    size_t off, len;
} dql_zone_field;

/* Splits rdata into named fields (up to max); text goes to txt. Returns the
 * number of fields (0 for unknown types or malformed rdata). */
int dql_zone_rdata_fields(uint16_t type, const uint8_t *rd, size_t n, dql_zone_field *f, int max, dql_buf *txt);

/* Typed extracts for the loader's columns. */
typedef struct dql_zone_extract {
    const uint8_t *addr; int addrlen;      /* A / AAAA */
    const uint8_t *target; size_t tlen;    /* wire name: NS, MX, SRV ... */
    int64_t priority, weight, port;        /* -1: none */
} dql_zone_extract;
void dql_zone_rdata_extract(uint16_t type, const uint8_t *rd, size_t n, dql_zone_extract *x);

/* ------------------------------------------------------ records as tuples */

/* The tuple shape of one record in a bag — RESOLVE's answers, pcap's
 * answers/authority/additional: (owner:domain, ttl:long, type:chararray,
 * rdata:chararray, target:domain, address:ip), like a zone row. */
dql_schema *dql_zone_rr_schema(void);

/* Builds such tuples from uncompressed records. The owner of the previous
 * record is reused when it repeats: reset before each message (the cached
 * value lives in the arena of the current batch). */
typedef struct dql_zone_rrtup {
    dql_buf tb;                          /* scratch text */
    uint8_t last[DQL_ZONE_NAME_MAX];
    size_t lastn;
    dql_value lastv;
} dql_zone_rrtup;
void dql_zone_rrtup_reset(dql_zone_rrtup *t);
void dql_zone_rrtup_free(dql_zone_rrtup *t);
dql_tuple *dql_zone_rr_tuple(dql_zone_rrtup *t, dql_arena *a, const uint8_t *owner, size_t olen,
                             uint32_t ttl, uint16_t type, const uint8_t *rd, size_t rdlen);
/* A wire name as a domain value (lower case, no trailing dot), copied into a. */
dql_value dql_zone_name_value(dql_buf *tb, dql_arena *a, const uint8_t *w, size_t n);
/* An RR type as a chararray (mnemonic, or TYPEnnn copied into a). */
dql_value dql_zone_type_value(dql_buf *tb, dql_arena *a, uint16_t type);

#endif
