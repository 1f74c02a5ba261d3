/* op_files.c — LOAD 'dir/' USING files(...): one row per file of a
 * directory tree, a glob or a list file, and per member of the .tar, .tgz,
 * .tar.gz, .tar.bz2, .tar.xz and .zip archives found there (libarchive).
 * The costly columns (digests, libmagic's description and MIME type, the
 * content) are computed only when a statement reads them (dql_load_ctx
 * .needed). Unreadable files and directories are counted warnings.
 *
 * Also the helpers files.h declares for the whole family: digests
 * (libcrypto), libmagic, private temporary directories removed whatever
 * happens, archive member extraction and key sets. doc/files.md is the
 * user's side of all this. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <glob.h>
#include <ftw.h>
#include <signal.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "files.h"
#include "session.h"

#ifdef HAVE_LIBCRYPTO
#include <openssl/evp.h>
#endif
#ifdef HAVE_LIBMAGIC
#include <magic.h>
#endif
#ifdef HAVE_LIBARCHIVE
#include <archive.h>
#include <archive_entry.h>
#endif

/* ================================================================ digests */

static const char *const hash_names[DQL_HASH__COUNT] = { "md5", "sha1", "sha256", "sha512" };

int dql_hash_alg(const char *name, size_t n)
{
    for (int i = 0; i < DQL_HASH__COUNT; i++)
        if (strlen(hash_names[i]) == n && !strncasecmp(hash_names[i], name, n)) return i;
    return -1;
}

const char *dql_hash_name(int alg) { return alg >= 0 && alg < DQL_HASH__COUNT ? hash_names[alg] : "?"; }

#ifdef HAVE_LIBCRYPTO
/* The digest implementations, fetched once (OpenSSL 3 makes a fetch per
 * init costly otherwise). */
static const EVP_MD *md_of(int alg)
{
    static const EVP_MD *md[DQL_HASH__COUNT];
    if (!md[alg]) {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
        static const char *const names[] = { "MD5", "SHA1", "SHA256", "SHA512" };
        md[alg] = EVP_MD_fetch(NULL, names[alg], NULL);
#else
        md[alg] = alg == 0 ? EVP_md5() : alg == 1 ? EVP_sha1() : alg == 2 ? EVP_sha256() : EVP_sha512();
#endif
    }
    return md[alg];
}
#endif

bool dql_mhash_init(dql_mhash *h, unsigned mask)
{
    memset(h, 0, sizeof *h);
#ifdef HAVE_LIBCRYPTO
    h->mask = mask;
    for (int i = 0; i < DQL_HASH__COUNT; i++) {
        if (!(mask & (1u << i))) continue;
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        const EVP_MD *md = md_of(i);
        if (!c || !md || !EVP_DigestInit_ex(c, md, NULL)) {
            EVP_MD_CTX_free(c);
            dql_mhash_free(h);
            return false;
        }
        h->ctx[i] = c;
    }
    return true;
#else
    (void)mask;
    return false;
#endif
}

void dql_mhash_update(dql_mhash *h, const void *p, size_t n)
{
#ifdef HAVE_LIBCRYPTO
    for (int i = 0; i < DQL_HASH__COUNT; i++)
        if (h->ctx[i]) EVP_DigestUpdate(h->ctx[i], p, n);
#else
    (void)h; (void)p; (void)n;
#endif
}

size_t dql_mhash_final(dql_mhash *h, int alg, char *hex)
{
    hex[0] = 0;
#ifdef HAVE_LIBCRYPTO
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!h->ctx[alg] || !EVP_DigestFinal_ex(h->ctx[alg], md, &n)) return 0;
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < n; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[2 * n] = 0;
    return 2 * (size_t)n;
#else
    (void)h; (void)alg;
    return 0;
#endif
}

void dql_mhash_free(dql_mhash *h)
{
#ifdef HAVE_LIBCRYPTO
    for (int i = 0; i < DQL_HASH__COUNT; i++) {
        EVP_MD_CTX_free(h->ctx[i]);
        h->ctx[i] = NULL;
    }
#endif
    h->mask = 0;
}

/* =============================================================== libmagic */

#ifdef HAVE_LIBMAGIC
/* The two cookies (description, MIME type), loaded on first use and kept
 * until exit. */
static magic_t magic_cookie(bool mime, char *err, size_t errlen)
{
    static magic_t cookie[2];
    static bool failed[2];
    int k = mime ? 1 : 0;
    if (cookie[k] || failed[k]) {
        if (!cookie[k]) snprintf(err, errlen, "libmagic: cannot load its database");
        return cookie[k];
    }
    magic_t m = magic_open(mime ? MAGIC_MIME_TYPE : MAGIC_NONE);
    if (!m || magic_load(m, NULL) != 0) {
        snprintf(err, errlen, "libmagic: cannot load its database: %s", m && magic_error(m) ? magic_error(m) : "out of memory");
        if (m) magic_close(m);
        failed[k] = true;
        return NULL;
    }
    cookie[k] = m;
    return m;
}
#endif

static bool magic_result(const char *r, const char *why, dql_arena *a, dql_value *out, char *err, size_t errlen)
{
    if (!r) {
        snprintf(err, errlen, "libmagic: %s", why ? why : "failed");
        *out = dql_null();
        return false;
    }
    *out = dql_chararray_copy(a, r, strlen(r));
    return true;
}

bool dql_magic_fd(int fd, bool mime, dql_arena *a, dql_value *out, char *err, size_t errlen)
{
#ifdef HAVE_LIBMAGIC
    magic_t m = magic_cookie(mime, err, errlen);
    if (!m) { *out = dql_null(); return false; }
    if (lseek(fd, 0, SEEK_SET) < 0) { snprintf(err, errlen, "%s", strerror(errno)); *out = dql_null(); return false; }
    const char *r = magic_descriptor(m, fd);
    return magic_result(r, magic_error(m), a, out, err, errlen);
#else
    (void)fd; (void)mime; (void)a;
    snprintf(err, errlen, "libmagic is not available in this build");
    *out = dql_null();
    return false;
#endif
}

bool dql_magic_buf(const void *p, size_t n, bool mime, dql_arena *a, dql_value *out, char *err, size_t errlen)
{
#ifdef HAVE_LIBMAGIC
    magic_t m = magic_cookie(mime, err, errlen);
    if (!m) { *out = dql_null(); return false; }
    const char *r = magic_buffer(m, n ? p : "", n);
    return magic_result(r, magic_error(m), a, out, err, errlen);
#else
    (void)p; (void)n; (void)mime; (void)a;
    snprintf(err, errlen, "libmagic is not available in this build");
    *out = dql_null();
    return false;
#endif
}

/* ==================================================== temporary directories */

static char **live_dirs;
static size_t nlive, caplive;

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    remove(p);
    return 0;
}

void dql_files_rmtree(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void remove_live_dirs(void)
{
    for (size_t i = 0; i < nlive; i++)
        if (live_dirs[i]) dql_files_rmtree(live_dirs[i]);
}

/* Removes base/dql-files.PID.* directories of ours whose process is gone
 * (left by a dql that was killed). */
static void remove_stale_dirs(const char *base)
{
    DIR *d = opendir(base);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "dql-files.", 10) != 0) continue;
        char *end;
        long pid = strtol(de->d_name + 10, &end, 10);
        if (pid <= 0 || *end != '.' || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", base, de->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid()) dql_files_rmtree(path);
    }
    closedir(d);
}

char *dql_files_tmpdir_new(const char *base, char *err, size_t errlen)
{
    static bool registered;
    if (!base || !*base) {
        base = getenv("TMPDIR");
        if (!base || !*base) base = "/tmp";
    }
    remove_stale_dirs(base);
    size_t n = strlen(base) + 64;
    char *dir = dql_xmalloc(n);
    snprintf(dir, n, "%s/dql-files.%ld.XXXXXX", base, (long)getpid());
    if (!mkdtemp(dir)) {
        snprintf(err, errlen, "cannot create a temporary directory in '%s': %s", base, strerror(errno));
        free(dir);
        return NULL;
    }
    if (!registered) { atexit(remove_live_dirs); registered = true; }
    if (nlive == caplive) {
        caplive = caplive ? caplive * 2 : 8;
        live_dirs = dql_xrealloc(live_dirs, caplive * sizeof *live_dirs);
    }
    live_dirs[nlive++] = dir;
    return dir;
}

void dql_files_tmpdir_remove(char *dir)
{
    if (!dir) return;
    dql_files_rmtree(dir);
    for (size_t i = 0; i < nlive; i++)
        if (live_dirs[i] == dir) { live_dirs[i] = live_dirs[--nlive]; break; }
    free(dir);
}

/* ======================================================== archive members */

bool dql_files_have_archive(void)
{
#ifdef HAVE_LIBARCHIVE
    return true;
#else
    return false;
#endif
}

struct dql_extractor {
#ifdef HAVE_LIBARCHIVE
    struct archive *a;
#endif
    char *archive;
    unsigned seq;
};

dql_extractor *dql_extractor_new(void) { return dql_xcalloc(1, sizeof(dql_extractor)); }

#ifdef HAVE_LIBARCHIVE
static struct archive *archive_open(const char *path, char *err, size_t errlen)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_all(a);
    if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
        snprintf(err, errlen, "%s", archive_error_string(a) ? archive_error_string(a) : "cannot open");
        archive_read_free(a);
        return NULL;
    }
    return a;
}

/* The file name a member is written under: its last path component, never
 * empty, "." or ".." (nothing of the archive decides where files go). */
static void member_base(const char *member, char *out, size_t n)
{
    const char *s = strrchr(member, '/');
    s = s ? s + 1 : member;
    if (!*s || !strcmp(s, ".") || !strcmp(s, "..")) s = "member";
    snprintf(out, n, "%s", s);
}

/* Scans x->a forward for member; writes it out when found. */
static char *extract_scan(dql_extractor *x, const char *member, const char *dir, bool *found, char *err, size_t errlen)
{
    struct archive_entry *e;
    int rc;
    *found = false;
    while ((rc = archive_read_next_header(x->a, &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
        const char *name = archive_entry_pathname(e);
        if (archive_entry_filetype(e) != AE_IFREG || !name || strcmp(name, member) != 0) continue;
        *found = true;
        char sub[4096], base[1024], *path;
        snprintf(sub, sizeof sub, "%s/%u", dir, ++x->seq);
        if (mkdir(sub, 0700) != 0) {
            snprintf(err, errlen, "cannot create '%s': %s", sub, strerror(errno));
            return NULL;
        }
        member_base(member, base, sizeof base);
        size_t pl = strlen(sub) + strlen(base) + 2;
        path = dql_xmalloc(pl);
        snprintf(path, pl, "%s/%s", sub, base);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            snprintf(err, errlen, "cannot create '%s': %s", path, strerror(errno));
            free(path);
            return NULL;
        }
        const void *buf;
        size_t len;
        la_int64_t off;
        int r;
        bool ok = true;
        while ((r = archive_read_data_block(x->a, &buf, &len, &off)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
            if (pwrite(fd, buf, len, (off_t)off) != (ssize_t)len) { ok = false; snprintf(err, errlen, "write: %s", strerror(errno)); break; }
        }
        if (r != ARCHIVE_EOF && ok) {
            ok = false;
            snprintf(err, errlen, "%s", archive_error_string(x->a) ? archive_error_string(x->a) : "cannot read the member");
        }
        close(fd);
        if (!ok) {
            unlink(path);
            rmdir(sub);
            free(path);
            return NULL;
        }
        return path;
    }
    if (rc != ARCHIVE_EOF) snprintf(err, errlen, "%s", archive_error_string(x->a) ? archive_error_string(x->a) : "bad archive");
    return NULL;
}
#endif

char *dql_extractor_get(dql_extractor *x, const char *archive, const char *member, const char *dir,
                        char *err, size_t errlen)
{
    err[0] = 0;
#ifdef HAVE_LIBARCHIVE
    for (int pass = 0; pass < 2; pass++) {
        bool fresh = false;
        if (!x->a || !x->archive || strcmp(x->archive, archive) != 0 || pass == 1) {
            if (x->a) archive_read_free(x->a);
            x->a = NULL;
            free(x->archive);
            x->archive = NULL;
            if (!(x->a = archive_open(archive, err, errlen))) return NULL;
            x->archive = dql_xstrdup(archive);
            fresh = true;
        }
        bool found;
        char *p = extract_scan(x, member, dir, &found, err, errlen);
        if (p || found) return p;
        if (err[0] || fresh) break;   /* a read error, or not in the whole archive */
        /* not after the current position: start over once */
    }
    if (!err[0]) snprintf(err, errlen, "no member '%s' in '%s'", member, archive);
    return NULL;
#else
    (void)x; (void)archive; (void)member; (void)dir;
    snprintf(err, errlen, "archives are not available in this build (no libarchive)");
    return NULL;
#endif
}

void dql_extractor_free(dql_extractor *x)
{
    if (!x) return;
#ifdef HAVE_LIBARCHIVE
    if (x->a) archive_read_free(x->a);
#endif
    free(x->archive);
    free(x);
}

/* =============================================================== key sets */

struct dql_keyset {
    char *field;
    uint64_t n, cap;        /* cap: a power of two */
    char **k;               /* NUL-terminated; length prefix not needed: keys are text */
    uint32_t *len;
    uint64_t *h;
    dql_arena arena;
};

dql_keyset *dql_keyset_new(const char *field)
{
    dql_keyset *k = dql_xcalloc(1, sizeof *k);
    k->field = dql_xstrdup(field);
    k->cap = 1024;
    k->k = dql_xcalloc(k->cap, sizeof *k->k);
    k->len = dql_xcalloc(k->cap, sizeof *k->len);
    k->h = dql_xcalloc(k->cap, sizeof *k->h);
    dql_arena_init(&k->arena);
    return k;
}

const char *dql_keyset_field(const dql_keyset *k) { return k->field; }
uint64_t dql_keyset_count(const dql_keyset *k) { return k->n; }

static bool ks_find(const dql_keyset *k, const char *s, size_t n, uint64_t h, uint64_t *slot)
{
    uint64_t i = h & (k->cap - 1);
    while (k->k[i]) {
        if (k->h[i] == h && k->len[i] == n && !memcmp(k->k[i], s, n)) { *slot = i; return true; }
        i = (i + 1) & (k->cap - 1);
    }
    *slot = i;
    return false;
}

void dql_keyset_add(dql_keyset *k, const char *s, size_t n)
{
    uint64_t h = dql_hash_bytes(s, n, 0x6b6579), slot;
    if (ks_find(k, s, n, h, &slot)) return;
    if ((k->n + 1) * 2 > k->cap) {
        dql_keyset old = *k;
        k->cap *= 2;
        k->k = dql_xcalloc(k->cap, sizeof *k->k);
        k->len = dql_xcalloc(k->cap, sizeof *k->len);
        k->h = dql_xcalloc(k->cap, sizeof *k->h);
        for (uint64_t i = 0; i < old.cap; i++) {
            if (!old.k[i]) continue;
            uint64_t j = old.h[i] & (k->cap - 1);
            while (k->k[j]) j = (j + 1) & (k->cap - 1);
            k->k[j] = old.k[i]; k->len[j] = old.len[i]; k->h[j] = old.h[i];
        }
        free(old.k); free(old.len); free(old.h);
        ks_find(k, s, n, h, &slot);
    }
    k->k[slot] = dql_arena_strndup(&k->arena, s, n);
    k->len[slot] = (uint32_t)n;
    k->h[slot] = h;
    k->n++;
}

bool dql_keyset_has_text(const dql_keyset *k, const char *s, size_t n)
{
    uint64_t slot;
    return ks_find(k, s, n, dql_hash_bytes(s, n, 0x6b6579), &slot);
}

bool dql_keyset_has(const dql_keyset *k, dql_value v)
{
    if (dql_is_null(v)) return false;
    if (v.type == DQL_T_CHARARRAY || v.type == DQL_T_BYTEARRAY || v.type == DQL_T_DOMAIN)
        return dql_keyset_has_text(k, v.u.s, v.len);
    dql_buf b = {0};
    dql_value_format(&b, v);
    bool r = dql_keyset_has_text(k, b.p ? b.p : "", b.len);
    dql_buf_free(&b);
    return r;
}

void dql_keyset_free(dql_keyset *k)
{
    if (!k) return;
    free(k->field);
    free(k->k); free(k->len); free(k->h);
    dql_arena_free(&k->arena);
    free(k);
}

/* ================================================================ loader */

/* The columns, in order. */
enum { C_PATH, C_NAME, C_SIZE, C_MTIME, C_ARCHIVE, C_MEMBER, C_MD5, C_SHA1, C_SHA256, C_MAGIC, C_MIME,
       C_CONTENT, C__N };
static const struct { const char *name; dql_type t; } cols[C__N] = {
    { "path", DQL_T_CHARARRAY }, { "name", DQL_T_CHARARRAY }, { "size", DQL_T_LONG },
    { "mtime", DQL_T_DATETIME }, { "archive", DQL_T_CHARARRAY }, { "member", DQL_T_CHARARRAY },
    { "md5", DQL_T_CHARARRAY }, { "sha1", DQL_T_CHARARRAY }, { "sha256", DQL_T_CHARARRAY },
    { "magic", DQL_T_CHARARRAY }, { "mime", DQL_T_CHARARRAY }, { "content", DQL_T_BYTEARRAY },
};

typedef struct files_opts { bool recursive, archives, follow, list, archives_given; } files_opts;

static const char *const opt_names[] = { "recursive", "archives", "follow_symlinks", "list", NULL };

/* Reads the options; false with a message. */
static bool read_opts(const dql_args *args, files_opts *o, char *err, size_t errlen)
{
    o->recursive = true;
    o->archives = true;
    o->follow = false;
    o->list = false;
    o->archives_given = false;
    for (int i = 0; args && i < args->n; i++) {
        const dql_arg *a = &args->a[i];
        int k = -1;
        for (int j = 0; a->name && opt_names[j]; j++) if (!strcmp(a->name, opt_names[j])) k = j;
        if (k < 0) {
            snprintf(err, errlen, "files() takes [recursive = true], [archives = true], [follow_symlinks = false], "
                     "[list = false]; '%s' is not one of them", a->name ? a->name : "a positional argument");
            return false;
        }
        if (a->v.type != DQL_T_BOOL) {
            snprintf(err, errlen, "files(): %s takes true or false", a->name);
            return false;
        }
        bool b = a->v.u.i != 0;
        if (k == 0) o->recursive = b;
        else if (k == 1) { o->archives = b; o->archives_given = true; }
        else if (k == 2) o->follow = b;
        else o->list = b;
    }
    if (o->archives && !dql_files_have_archive()) {
        if (o->archives_given) {
            snprintf(err, errlen, "files(archives = true): archives are not available in this build (no libarchive)");
            return false;
        }
        o->archives = false;
    }
    return true;
}

/* The roots a LOAD path names: the path itself, the matches of a glob, or
 * the lines of a list file. NULL-terminated; NULL with err when none. */
static char **expand_roots(const char *path, const files_opts *o, char *err, size_t errlen)
{
    size_t n = 0, cap = 8;
    char **v = dql_xmalloc(cap * sizeof *v);
    if (o->list) {
        size_t len;
        char *text = dql_read_file(path, &len, err, errlen);
        if (!text) { free(v); return NULL; }
        char *p = text, *end = text + len;
        while (p < end) {
            char *nl = memchr(p, '\n', (size_t)(end - p));
            char *e = nl ? nl : end;
            char *q = e;
            if (q > p && q[-1] == '\r') q--;
            if (q > p && *p != '#') {
                if (n + 1 >= cap) v = dql_xrealloc(v, (cap *= 2) * sizeof *v);
                v[n++] = dql_xstrndup(p, (size_t)(q - p));
            }
            p = nl ? nl + 1 : end;
        }
        free(text);
        if (n == 0) { snprintf(err, errlen, "list file '%s' names no file", path); free(v); return NULL; }
    } else {
        struct stat st;
        if (stat(path, &st) == 0) v[n++] = dql_xstrdup(path);
        else if (strpbrk(path, "*?[")) {
            glob_t g;
            if (glob(path, 0, NULL, &g) == 0) {
                for (size_t i = 0; i < g.gl_pathc; i++) {
                    if (n + 1 >= cap) v = dql_xrealloc(v, (cap *= 2) * sizeof *v);
                    v[n++] = dql_xstrdup(g.gl_pathv[i]);
                }
                globfree(&g);
            }
            if (n == 0) { snprintf(err, errlen, "no file matches '%s'", path); free(v); return NULL; }
        } else {
            snprintf(err, errlen, "no such file or directory: '%s'", path);
            free(v);
            return NULL;
        }
    }
    v[n] = NULL;
    return v;
}

static void free_strv(char **v)
{
    if (!v) return;
    for (char **p = v; *p; p++) free(*p);
    free(v);
}

static dql_schema *files_schema(void)
{
    dql_schema *s = dql_schema_new(0);
    for (int i = 0; i < C__N; i++) dql_schema_add(s, cols[i].name, cols[i].t, NULL);
    return s;
}

static dql_status files_plan(const dql_load_ctx *lc, dql_schema **out, char *err, size_t errlen)
{
    files_opts o;
    if (!read_opts(lc->args, &o, err, errlen)) return DQL_ERR_CHECK;
    if (lc->declared) {
        snprintf(err, errlen, "files() has a fixed schema (path, name, size, mtime, archive, member, md5, sha1, "
                 "sha256, magic, mime, content): drop the AS and rename with FOREACH");
        return DQL_ERR_CHECK;
    }
    if (strcmp(lc->path, "-") != 0 || !o.list) {
        char **roots = expand_roots(lc->path, &o, err, errlen);
        if (!roots) return DQL_ERR_CHECK;
        free_strv(roots);
    }
    *out = files_schema();
    return DQL_OK;
}

/* A directory being walked: its entries sorted by name. */
typedef struct wdir {
    char *path;
    char **names;
    size_t n, i;
    dev_t dev;
    ino_t ino;
} wdir;

typedef struct files_st {
    files_opts o;
    dql_exec *ex;
    bool need[C__N];
    bool need_data, need_magic;
    unsigned hmask;
    char **roots;
    size_t iroot;
    wdir *stack;
    size_t nstack, capstack;
    char *buf;                /* read buffer */
    size_t bufcap;
#ifdef HAVE_LIBARCHIVE
    struct archive *ar;       /* archive whose members are being listed */
#endif
    char *ar_path;
    uint64_t seen, lo, hi;    /* a sharded run: files number [lo, hi) of the walk are ours */
    bool sharded;
} files_st;

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Opens directory path for walking; false (after a warning) when it cannot
 * be read. */
static dql_status push_dir(files_st *L, const char *path, const struct stat *st)
{
    for (size_t i = 0; i < L->nstack; i++)
        if (L->stack[i].dev == st->st_dev && L->stack[i].ino == st->st_ino) return DQL_OK;   /* a loop */
    DIR *d = opendir(path);
    if (!d) return dql_exec_warn(L->ex, "files: cannot read", "'%s': %s", path, strerror(errno));
    size_t n = 0, cap = 16;
    char **names = dql_xmalloc(cap * sizeof *names);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (n == cap) names = dql_xrealloc(names, (cap *= 2) * sizeof *names);
        names[n++] = dql_xstrdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_names);
    if (L->nstack == L->capstack) {
        L->capstack = L->capstack ? L->capstack * 2 : 8;
        L->stack = dql_xrealloc(L->stack, L->capstack * sizeof *L->stack);
    }
    wdir *w = &L->stack[L->nstack++];
    w->path = dql_xstrdup(path);
    w->names = names;
    w->n = n;
    w->i = 0;
    w->dev = st->st_dev;
    w->ino = st->st_ino;
    return DQL_OK;
}

static void pop_dir(files_st *L)
{
    wdir *w = &L->stack[--L->nstack];
    for (size_t i = 0; i < w->n; i++) free(w->names[i]);
    free(w->names);
    free(w->path);
}

/* The next regular file of the walk: *path (malloc'd) and *st; false at the
 * end. A status other than OK is a strict-mode warning turned error. */
static dql_status next_file(files_st *L, char **path, struct stat *st, bool *got)
{
    *got = false;
    dql_status s;
    for (;;) {
        if (L->nstack) {
            wdir *w = &L->stack[L->nstack - 1];
            if (w->i == w->n) { pop_dir(L); continue; }
            const char *nm = w->names[w->i++];
            size_t pl = strlen(w->path);
            bool slash = pl && w->path[pl - 1] == '/';
            size_t fl = pl + strlen(nm) + 2;
            char *full = dql_xmalloc(fl);
            snprintf(full, fl, "%s%s%s", w->path, slash ? "" : "/", nm);
            if (lstat(full, st) != 0) {
                s = dql_exec_warn(L->ex, "files: cannot read", "'%s': %s", full, strerror(errno));
                free(full);
                if (s) return s;
                continue;
            }
            if (S_ISLNK(st->st_mode)) {
                if (!L->o.follow || stat(full, st) != 0) { free(full); continue; }
            }
            if (S_ISDIR(st->st_mode)) {
                s = L->o.recursive ? push_dir(L, full, st) : DQL_OK;
                free(full);
                if (s) return s;
                continue;
            }
            if (!S_ISREG(st->st_mode)) { free(full); continue; }
            *path = full;
            *got = true;
            return DQL_OK;
        }
        if (!L->roots || !L->roots[L->iroot]) return DQL_OK;
        const char *r = L->roots[L->iroot++];
        if (stat(r, st) != 0) {
            if ((s = dql_exec_warn(L->ex, "files: cannot read", "'%s': %s", r, strerror(errno)))) return s;
            continue;
        }
        if (S_ISDIR(st->st_mode)) {
            if ((s = push_dir(L, r, st))) return s;
            continue;
        }
        if (!S_ISREG(st->st_mode)) continue;
        *path = dql_xstrdup(r);
        *got = true;
        return DQL_OK;
    }
}

static bool is_archive_name(const char *name)
{
    static const char *const ext[] = { ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz", ".zip", NULL };
    size_t n = strlen(name);
    for (int i = 0; ext[i]; i++) {
        size_t e = strlen(ext[i]);
        if (n > e && !strcasecmp(name + n - e, ext[i])) return true;
    }
    return false;
}

static dql_status files_open(const dql_load_ctx *lc, const dql_schema *schema, dql_exec *ex, void **state)
{
    files_st *L = dql_xcalloc(1, sizeof *L);
    *state = L;
    L->ex = ex;
    char err[512];
    if (!read_opts(lc->args, &L->o, err, sizeof err)) return dql_exec_error_st(ex, DQL_ERR_USAGE, "%s", err);
    for (int i = 0; i < C__N && i < schema->n; i++) L->need[i] = !lc->needed || lc->needed[i];
    if (L->need[C_MD5]) L->hmask |= 1u << DQL_HASH_MD5;
    if (L->need[C_SHA1]) L->hmask |= 1u << DQL_HASH_SHA1;
    if (L->need[C_SHA256]) L->hmask |= 1u << DQL_HASH_SHA256;
    L->need_data = L->hmask || L->need[C_CONTENT];
    L->need_magic = L->need[C_MAGIC] || L->need[C_MIME];
#ifndef HAVE_LIBCRYPTO
    if (L->hmask) return dql_exec_error(ex, "files(): md5, sha1 and sha256 are not available in this build (no libcrypto)");
#endif
#ifndef HAVE_LIBMAGIC
    if (L->need_magic) return dql_exec_error(ex, "files(): magic and mime are not available in this build (no libmagic)");
#endif
    L->roots = expand_roots(lc->path, &L->o, err, sizeof err);
    if (!L->roots) return dql_exec_error_st(ex, DQL_ERR_IO, "%s", err);
    if (lc->nshards > 1) {
        /* a sharded run: count the files of the walk (without reading them),
         * then keep this shard's contiguous block of it; warnings of the
         * counting walk are counted by the real one */
        files_st C = { .o = L->o, .roots = L->roots };
        dql_exec quiet = { .sess = ex->sess, .interrupted = ex->interrupted };
        C.ex = &quiet;
        uint64_t total = 0;
        for (;;) {
            char *path;
            struct stat st;
            bool got;
            if (next_file(&C, &path, &st, &got) != DQL_OK || !got) break;
            free(path);
            total++;
        }
        while (C.nstack) pop_dir(&C);
        free(C.stack);
        for (int i = 0; i < quiet.nwarns; i++) { free(quiet.warns[i].kind); free(quiet.warns[i].first); }
        free(quiet.warns);
        free(quiet.errmsg);
        L->sharded = true;
        L->lo = total * (uint64_t)lc->shard / (uint64_t)lc->nshards;
        L->hi = total * (uint64_t)(lc->shard + 1) / (uint64_t)lc->nshards;
    }
    return DQL_OK;
}

/* Grows the read buffer to at least n bytes, keeping its content. */
static void buf_need(files_st *L, size_t n)
{
    if (L->bufcap >= n) return;
    size_t c = L->bufcap ? L->bufcap : 65536;
    while (c < n) c *= 2;
    L->buf = dql_xrealloc(L->buf, c);   /* keeps what it holds */
    L->bufcap = c;
}

static void set_hashes(files_st *L, dql_mhash *h, dql_value *row, dql_arena *arena)
{
    static const int colof[] = { C_MD5, C_SHA1, C_SHA256 };
    char hex[130];
    for (int a = 0; a < 3; a++) {
        if (!(L->hmask & (1u << a))) continue;
        size_t n = dql_mhash_final(h, a, hex);
        row[colof[a]] = dql_chararray_copy(arena, hex, n);
    }
}

/* Fills the lazy columns of a regular file's row. */
static dql_status file_data(files_st *L, const char *path, const struct stat *st, dql_value *row, dql_arena *arena)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return dql_exec_warn(L->ex, "files: cannot read", "'%s': %s", path, strerror(errno));
    char err[256];
    dql_status s = DQL_OK;
    if (L->need_data) {
        dql_mhash h;
        if (L->hmask && !dql_mhash_init(&h, L->hmask)) { close(fd); return dql_exec_error(L->ex, "cannot start a digest"); }
        char *dst = NULL;
        size_t cap = 0, len = 0;
        if (L->need[C_CONTENT]) {
            cap = (size_t)st->st_size + 1;
            dst = dql_arena_alloc(arena, cap);
        }
        bool ok = true;
        for (;;) {
            char *p;
            size_t room;
            if (dst) {
                if (len == cap) {   /* the file grew */
                    char *nd = dql_arena_alloc(arena, cap * 2);
                    memcpy(nd, dst, len);
                    dst = nd;
                    cap *= 2;
                }
                p = dst + len; room = cap - len;
            } else {
                buf_need(L, 1 << 18);
                p = L->buf; room = L->bufcap;
            }
            ssize_t r = read(fd, p, room);
            if (r < 0) {
                if (errno == EINTR) continue;
                ok = false;
                break;
            }
            if (r == 0) break;
            if (L->hmask) dql_mhash_update(&h, p, (size_t)r);
            if (dst) len += (size_t)r;
        }
        if (!ok) {
            int e = errno;
            if (L->hmask) dql_mhash_free(&h);
            close(fd);
            return dql_exec_warn(L->ex, "files: cannot read", "'%s': %s", path, strerror(e));
        }
        if (L->hmask) { set_hashes(L, &h, row, arena); dql_mhash_free(&h); }
        if (dst) row[C_CONTENT] = dql_str(DQL_T_BYTEARRAY, dst, len);
    }
    if (L->need[C_MAGIC] && !dql_magic_fd(fd, false, arena, &row[C_MAGIC], err, sizeof err))
        s = dql_exec_warn(L->ex, "files: libmagic", "'%s': %s", path, err);
    if (!s && L->need[C_MIME] && !dql_magic_fd(fd, true, arena, &row[C_MIME], err, sizeof err))
        s = dql_exec_warn(L->ex, "files: libmagic", "'%s': %s", path, err);
    close(fd);
    return s;
}

#ifdef HAVE_LIBARCHIVE
/* The largest prefix of a member kept for libmagic when its content is not
 * wanted (libmagic looks at the start of a file). */
#define MAGIC_PREFIX (8u << 20)

/* The next member row of the open archive: false at its end (the archive
 * is then closed). */
static dql_status next_member(files_st *L, dql_value *row, dql_arena *arena, bool *got)
{
    *got = false;
    struct archive_entry *e;
    int rc;
    for (;;) {
        rc = archive_read_next_header(L->ar, &e);
        if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) break;
        if (archive_entry_filetype(e) != AE_IFREG) continue;
        const char *m = archive_entry_pathname(e);
        if (!m) continue;
        size_t ml = strlen(m);
        const char *base = strrchr(m, '/');
        base = base ? base + 1 : m;
        char *p = dql_arena_printf(arena, "%s!%s", L->ar_path, m);
        row[C_PATH] = dql_chararray(p, strlen(p));
        row[C_NAME] = dql_chararray_copy(arena, base, strlen(base));
        row[C_SIZE] = archive_entry_size_is_set(e) ? dql_long((int64_t)archive_entry_size(e)) : dql_null();
        row[C_MTIME] = archive_entry_mtime_is_set(e)
                       ? dql_datetime((int64_t)archive_entry_mtime(e) * 1000000 + archive_entry_mtime_nsec(e) / 1000)
                       : dql_null();
        row[C_ARCHIVE] = dql_chararray_copy(arena, L->ar_path, strlen(L->ar_path));
        row[C_MEMBER] = dql_chararray_copy(arena, m, ml);
        *got = true;
        if (!L->need_data && !L->need_magic) return DQL_OK;
        dql_mhash h;
        if (L->hmask && !dql_mhash_init(&h, L->hmask)) return dql_exec_error(L->ex, "cannot start a digest");
        size_t len = 0, hashed = 0;
        bool keep = L->need[C_CONTENT] || L->need_magic;
        const void *blk;
        size_t bl;
        la_int64_t off;
        int r;
        while ((r = archive_read_data_block(L->ar, &blk, &bl, &off)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
            /* sparse members: zeros fill the holes */
            size_t at = (size_t)off;
            if (keep && (L->need[C_CONTENT] || at + bl <= MAGIC_PREFIX || len < MAGIC_PREFIX)) {
                size_t want = at + bl;
                if (!L->need[C_CONTENT] && want > MAGIC_PREFIX) want = MAGIC_PREFIX;
                if (want > len) {
                    buf_need(L, want);
                    if (at > len) memset(L->buf + len, 0, at - len);
                    memcpy(L->buf + at, blk, want - at);
                    len = want;
                }
            }
            if (L->hmask) {
                static const char zeros[4096];
                while (hashed < at) {   /* a hole of a sparse member */
                    size_t z = at - hashed < sizeof zeros ? at - hashed : sizeof zeros;
                    dql_mhash_update(&h, zeros, z);
                    hashed += z;
                }
                dql_mhash_update(&h, blk, bl);
                hashed = at + bl;
            }
        }
        if (r != ARCHIVE_EOF) {
            if (L->hmask) dql_mhash_free(&h);
            dql_status s = dql_exec_warn(L->ex, "files: cannot read", "'%s' member '%s': %s", L->ar_path, m,
                                         archive_error_string(L->ar) ? archive_error_string(L->ar) : "read error");
            return s;
        }
        if (L->hmask) { set_hashes(L, &h, row, arena); dql_mhash_free(&h); }
        if (L->need[C_CONTENT]) row[C_CONTENT] = dql_str(DQL_T_BYTEARRAY, dql_arena_memdup(arena, L->buf ? L->buf : "", len), len);
        char err[256];
        dql_status s = DQL_OK;
        if (L->need[C_MAGIC] && !dql_magic_buf(L->buf, len, false, arena, &row[C_MAGIC], err, sizeof err))
            s = dql_exec_warn(L->ex, "files: libmagic", "'%s' member '%s': %s", L->ar_path, m, err);
        if (!s && L->need[C_MIME] && !dql_magic_buf(L->buf, len, true, arena, &row[C_MIME], err, sizeof err))
            s = dql_exec_warn(L->ex, "files: libmagic", "'%s' member '%s': %s", L->ar_path, m, err);
        return s;
    }
    dql_status s = DQL_OK;
    if (rc != ARCHIVE_EOF)
        s = dql_exec_warn(L->ex, "files: bad archive", "'%s': %s", L->ar_path,
                          archive_error_string(L->ar) ? archive_error_string(L->ar) : "read error");
    archive_read_free(L->ar);
    L->ar = NULL;
    free(L->ar_path);
    L->ar_path = NULL;
    return s;
}
#endif

static dql_status files_next(void *state, dql_batch *out, dql_arena *arena)
{
    files_st *L = state;
    out->n = 0;
    dql_status s;
    while (out->n < out->cap) {
        if (dql_exec_interrupted(L->ex)) return DQL_ERR_INTERRUPT;
        dql_value *row = dql_batch_row(out, out->n);
        for (int c = 0; c < out->ncols; c++) row[c] = dql_null();
#ifdef HAVE_LIBARCHIVE
        if (L->ar) {
            bool got;
            if ((s = next_member(L, row, arena, &got))) return s;
            if (got) { out->n++; continue; }
        }
#endif
        char *path;
        struct stat st;
        bool got;
        if ((s = next_file(L, &path, &st, &got))) return s;
        if (!got) break;
        if (L->sharded) {
            uint64_t k = L->seen++;
            if (k < L->lo || k >= L->hi) { free(path); if (k >= L->hi) break; continue; }
        }
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        row[C_PATH] = dql_chararray_copy(arena, path, strlen(path));
        row[C_NAME] = dql_chararray_copy(arena, base, strlen(base));
        row[C_SIZE] = dql_long((int64_t)st.st_size);
        row[C_MTIME] = dql_datetime((int64_t)st.st_mtim.tv_sec * 1000000 + st.st_mtim.tv_nsec / 1000);
        if ((L->need_data || L->need_magic) && (s = file_data(L, path, &st, row, arena))) { free(path); return s; }
        out->n++;
#ifdef HAVE_LIBARCHIVE
        if (L->o.archives && is_archive_name(base)) {
            char err[256];
            L->ar = archive_open(path, err, sizeof err);
            if (!L->ar) {
                s = dql_exec_warn(L->ex, "files: bad archive", "'%s': %s", path, err);
                free(path);
                if (s) return s;
                continue;
            }
            L->ar_path = path;
            continue;
        }
#endif
        free(path);
    }
    return DQL_OK;
}

static void files_close(void *state)
{
    files_st *L = state;
    if (!L) return;
    while (L->nstack) pop_dir(L);
    free(L->stack);
    free_strv(L->roots);
    free(L->buf);
#ifdef HAVE_LIBARCHIVE
    if (L->ar) archive_read_free(L->ar);
#endif
    free(L->ar_path);
    free(L);
}

const dql_loader_def dql_loader_files = {
    .name = "files",
    .syntax = "files([recursive = true], [archives = true], [follow_symlinks = false], [list = false])",
    .summary = "one row per file of a directory, glob or list of paths (and per archive member): "
               "path, name, size, mtime, archive, member; md5, sha1, sha256, magic, mime and content when read",
    .plan = files_plan,
    .open = files_open,
    .next = files_next,
    .close = files_close,
    .progress = NULL,
    .shard_by = "file (a contiguous block of the walk)",
};
