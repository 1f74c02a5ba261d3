/* files.h — the many-small-files family: the files() loader (op_files.c),
 * the analyzers HASH, FILETYPE, MIME, STRINGS, ENTROPY, YARA and CLAMAV
 * (fn_files.c), per-file STREAM (op_stream.c) and the key set behind
 * STORE ... WITH (resume = true) (workspace.c). The helpers here are shared
 * by those files: digests, libmagic, archive members, private temporary
 * directories that are removed whatever happens, and key sets.
 *
 * Each optional library (libcrypto, libmagic, libarchive, libyara,
 * libclamav) may be missing from a build: the feature that needs it then
 * reports "... is not available in this build" when the script is checked
 * (functions, loader options) or when it runs (lazy columns). */
#ifndef DQL_FILES_H
#define DQL_FILES_H

#include "dql.h"
#include "exec.h"

struct dql_plan;   /* plan.h */

/* ------------------------------------------------------------- digests */

enum { DQL_HASH_MD5, DQL_HASH_SHA1, DQL_HASH_SHA256, DQL_HASH_SHA512, DQL_HASH__COUNT };

/* Index of a digest name ("md5", "sha1", "sha256", "sha512", any case), -1
 * when unknown. */
int dql_hash_alg(const char *name, size_t n);
const char *dql_hash_name(int alg);
/* Several digests computed in one pass over the bytes. */
typedef struct dql_mhash { void *ctx[DQL_HASH__COUNT]; unsigned mask; } dql_mhash;
/* Starts the digests of mask (1 << alg each); false when the build has no
 * crypto library. */
bool dql_mhash_init(dql_mhash *h, unsigned mask);
void dql_mhash_update(dql_mhash *h, const void *p, size_t n);
/* Writes the lower-case hex digest of alg (started by init) into hex (at
 * least 129 bytes); returns its length. */
size_t dql_mhash_final(dql_mhash *h, int alg, char *hex);
void dql_mhash_free(dql_mhash *h);

/* ------------------------------------------------------------- libmagic */

/* The libmagic description (mime: the MIME type) of a file descriptor or a
 * buffer, copied into the arena; false with a reason in err when it fails or
 * the build has no libmagic. The magic database is loaded once. */
bool dql_magic_fd(int fd, bool mime, dql_arena *a, dql_value *out, char *err, size_t errlen);
bool dql_magic_buf(const void *p, size_t n, bool mime, dql_arena *a, dql_value *out, char *err, size_t errlen);

/* ------------------------------------------------- temporary directories */

/* Creates a private directory (mode 0700) named dql-files.PID.XXXXXX under
 * base (NULL: $TMPDIR or /tmp) and registers it: registered directories are
 * removed at exit. Directories of that name left by a dql process that no
 * longer exists are removed first. Returns the malloc'd path, or NULL with a
 * message in err. */
char *dql_files_tmpdir_new(const char *base, char *err, size_t errlen);
/* Removes the directory and everything in it, and unregisters it; frees dir. */
void dql_files_tmpdir_remove(char *dir);
/* Removes a tree (files, then directories); errors are ignored. */
void dql_files_rmtree(const char *path);

/* ------------------------------------------------------ archive members */

/* Extracts member (its path inside the archive) of archive into dir, as
 * dir/<n>/<basename of member>, and returns the malloc'd path of the file;
 * NULL with err set when the member is missing or unreadable, or the build
 * has no libarchive. A reader is kept open between calls so that members
 * asked for in archive order cost one pass over the archive. */
typedef struct dql_extractor dql_extractor;
dql_extractor *dql_extractor_new(void);
char *dql_extractor_get(dql_extractor *x, const char *archive, const char *member, const char *dir,
                        char *err, size_t errlen);
void dql_extractor_free(dql_extractor *x);
/* True when the build can read archives (libarchive). */
bool dql_files_have_archive(void);

/* --------------------------------------------------------------- key sets */

/* A set of keys (their text, as dql_value_format renders them), for STORE
 * ... WITH (resume = true): the storer fills it with the keys already stored
 * and publishes it as dql_exec.resume; a per-file STREAM skips the input rows
 * whose field of that name is in it. */
typedef struct dql_keyset dql_keyset;
dql_keyset *dql_keyset_new(const char *field);
const char *dql_keyset_field(const dql_keyset *k);
void dql_keyset_add(dql_keyset *k, const char *s, size_t n);
bool dql_keyset_has_text(const dql_keyset *k, const char *s, size_t n);
/* v rendered as text; null is never in the set. */
bool dql_keyset_has(const dql_keyset *k, dql_value v);
uint64_t dql_keyset_count(const dql_keyset *k);
void dql_keyset_free(dql_keyset *k);

/* ------------------------------------------------------------- STREAM */

/* Plan-time check of STREAM p over input schema in (plan.c calls it): the
 * WITH options (timeout, exit_codes, parallel, output, max_output, tmpdir),
 * the ${field} names of a per-file command, and the output schema, which it
 * sets in p->schema (and p->declared for AS). False with a message in err;
 * *at_with tells whether the message is about the WITH list. */
bool dql_stream_plan(struct dql_plan *p, const dql_schema *in, const dql_schema *as, char *err, size_t errlen,
                     bool *at_with);
/* Column pruning: the input columns STREAM p reads for its output columns
 * need (NULL: all). Sets ni[i] for input column i, or *all. */
void dql_stream_need(const struct dql_plan *p, const bool *need, bool *ni, int iw, bool *all);
/* True for a STREAM that runs its command once per row (${field} in it):
 * a sharded run may run it in the tasks. */
bool dql_stream_per_row(const struct dql_plan *p);

#endif
