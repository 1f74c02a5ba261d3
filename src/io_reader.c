/* io_reader.c — the byte input layer of every text loader: a line reader
 * over a plain file (read(2) in multi-megabyte chunks), stdin or a gzip file
 * (zlib, detected by its magic bytes), and the expansion of LOAD paths
 * (file, "-", directory, glob) into a sorted list of files.
 *
 * Line lifetime. By default a line returned by dql_reader_line() is valid
 * until the next call. A loader that wants to hand out the lines of a whole
 * batch without copying them calls dql_reader_mark() at the start of each
 * batch: from then on every line returned stays valid until the next
 * dql_reader_mark() (or close). The reader keeps that promise by never
 * moving held bytes: when it must refill while lines are held, it retires
 * the current buffer (kept alive until the next mark) and continues in a
 * spare one, copying only the partial line. Buffers alternate, so steady
 * state streaming allocates nothing. */
#include "exec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define READER_BUF  (4u << 20)   /* initial buffer size */
#define READER_MIN_READ (1u << 20) /* never read less than this at once */
#define READER_GZBUF (1u << 20)

struct dql_reader {
    char *path;
    int fd;
    bool own_fd;
    gzFile gz;             /* non-NULL for gzip (and for stdin, via zlib's transparent mode) */
    char *buf;
    size_t cap, pos, end, scan;  /* [pos, end) unread; memchr resumes at scan */
    size_t held;           /* with marks on: bytes before this offset in buf are held */
    bool marks;            /* dql_reader_mark() has been called */
    bool eof;
    int err;               /* errno of a failed read, 0 if none */
    uint64_t lineno;
    uint64_t nread;        /* bytes read from the file (plain) */
    uint64_t total;        /* file size, 0 if unknown */
    char **retired;        /* buffers holding lines of the current batch */
    int nretired, capretired;
    char *spare;
    size_t spare_cap;
    uint64_t off0;         /* file offset of the first byte read (a shard's start) */
    uint64_t rend;         /* a shard: lines starting at or after this offset are not ours */
    bool ranged;           /* rend applies */
};

/* Extensions used by io_text.c (not declared in exec.h). */
void dql_reader_mark(dql_reader *r);
const char *dql_reader_errmsg(const dql_reader *r);

static void reader_free(dql_reader *r)
{
    if (!r)
        return;
    if (r->gz)
        gzclose(r->gz);
    else if (r->own_fd && r->fd >= 0)
        close(r->fd);
    for (int i = 0; i < r->nretired; i++)
        free(r->retired[i]);
    free(r->retired);
    free(r->spare);
    free(r->buf);
    free(r->path);
    free(r);
}

dql_status dql_reader_open(const char *path, dql_reader **out, char *err, size_t errlen)
{
    *out = NULL;
    dql_reader *r = dql_xcalloc(1, sizeof *r);
    r->path = dql_xstrdup(path);
    r->fd = -1;
    bool is_stdin = strcmp(path, "-") == 0;
    struct stat st;
    if (is_stdin) {
        r->fd = 0;
    } else {
        r->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (r->fd < 0) {
            if (errno == ENOENT)
                snprintf(err, errlen, "no such file: '%s'", path);
            else if (errno == EACCES)
                snprintf(err, errlen, "permission denied: '%s'", path);
            else
                snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
            reader_free(r);
            return DQL_ERR_IO;
        }
        r->own_fd = true;
    }
    if (fstat(r->fd, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "'%s' is a directory", path);
            reader_free(r);
            return DQL_ERR_IO;
        }
        if (S_ISREG(st.st_mode))
            r->total = (uint64_t)st.st_size;
    }
    bool gz = false;
    if (is_stdin) {
        /* A pipe cannot be peeked at: let zlib decide (transparent mode
         * copies non-gzip input straight into our buffer). */
        int fd2 = dup(0);
        if (fd2 < 0 || !(r->gz = gzdopen(fd2, "rb"))) {
            if (fd2 >= 0)
                close(fd2);
            snprintf(err, errlen, "cannot read stdin: %s", strerror(errno));
            reader_free(r);
            return DQL_ERR_IO;
        }
        gz = true;
    } else {
        unsigned char m[2];
        if (pread(r->fd, m, 2, 0) == 2 && m[0] == 0x1f && m[1] == 0x8b) {
            if (!(r->gz = gzdopen(r->fd, "rb"))) {
                snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
                reader_free(r);
                return DQL_ERR_IO;
            }
            r->own_fd = false;   /* gzclose closes it */
            gz = true;
        } else {
#ifdef POSIX_FADV_SEQUENTIAL
            posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
        }
    }
    if (gz)
        gzbuffer(r->gz, READER_GZBUF);
    r->cap = READER_BUF;
    r->buf = dql_xmalloc(r->cap);
    *out = r;
    return DQL_OK;
}

/* Makes room for at least READER_MIN_READ more bytes after the unread data,
 * moving the partial line to the front (or to a fresh buffer when the
 * current one holds lines of the current batch). */
static void reader_make_room(dql_reader *r)
{
    size_t keep = r->end - r->pos;
    size_t need = keep + READER_MIN_READ;
    if (r->marks && r->held < r->pos) {
        /* Lines of the batch live in buf: retire it, continue in a spare. */
        size_t ncap = r->cap > need ? r->cap : need;
        char *nb;
        if (r->spare && r->spare_cap >= ncap) {
            nb = r->spare;
            ncap = r->spare_cap;
            r->spare = NULL;
            r->spare_cap = 0;
        } else {
            nb = dql_xmalloc(ncap);
        }
        memcpy(nb, r->buf + r->pos, keep);
        if (r->nretired == r->capretired) {
            r->capretired = r->capretired ? 2 * r->capretired : 4;
            r->retired = dql_xrealloc(r->retired, (size_t)r->capretired * sizeof *r->retired);
        }
        r->retired[r->nretired++] = r->buf;
        r->buf = nb;
        r->cap = ncap;
    } else {
        if (r->pos > 0 && keep > 0)
            memmove(r->buf, r->buf + r->pos, keep);
        if (r->cap < need) {
            size_t ncap = r->cap;
            while (ncap < need)
                ncap *= 2;
            r->buf = dql_xrealloc(r->buf, ncap);
            r->cap = ncap;
        }
    }
    r->scan -= r->pos;
    r->end = keep;
    r->pos = 0;
    r->held = 0;
}

/* Reads the next chunk after r->end. Returns false on a read error. */
static bool reader_fill(dql_reader *r)
{
    if (r->cap - r->end < READER_MIN_READ || r->pos > 0)
        reader_make_room(r);
    size_t room = r->cap - r->end;
    if (r->gz) {
        if (room > INT_MAX)
            room = INT_MAX;
        int n = gzread(r->gz, r->buf + r->end, (unsigned)room);
        if (n < 0) {
            int e;
            gzerror(r->gz, &e);
            r->err = e == Z_ERRNO ? errno : EIO;
            if (!r->err)
                r->err = EIO;
            return false;
        }
        if (n == 0)
            r->eof = true;
        r->end += (size_t)n;
        return true;
    }
    ssize_t n;
    do
        n = read(r->fd, r->buf + r->end, room);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        r->err = errno;
        return false;
    }
    if (n == 0)
        r->eof = true;
    r->end += (size_t)n;
    r->nread += (uint64_t)n;
    return true;
}

dql_status dql_reader_line(dql_reader *r, const char **line, size_t *len)
{
    if (r->ranged && r->off0 + r->nread - (r->end - r->pos) >= r->rend)
        return DQL_EOF;
    for (;;) {
        char *nl = r->scan < r->end ? memchr(r->buf + r->scan, '\n', r->end - r->scan) : NULL;
        if (nl) {
            char *p = r->buf + r->pos;
            size_t n = (size_t)(nl - p);
            r->pos = r->scan = (size_t)(nl - r->buf) + 1;
            if (n && p[n - 1] == '\r')
                n--;
            r->lineno++;
            *line = p;
            *len = n;
            return DQL_OK;
        }
        r->scan = r->end;
        if (r->eof) {
            if (r->pos < r->end) {
                char *p = r->buf + r->pos;
                size_t n = r->end - r->pos;
                r->pos = r->scan = r->end;
                if (p[n - 1] == '\r')
                    n--;
                r->lineno++;
                *line = p;
                *len = n;
                return DQL_OK;
            }
            return DQL_EOF;
        }
        if (r->err)
            return DQL_ERR_IO;
        if (!reader_fill(r))
            return DQL_ERR_IO;
    }
}

/* Restricts a fresh reader to the lines that start in [start, end) of a
 * plain file: the shard of a sharded run. A line that starts before end is
 * read whole, so every line belongs to exactly one shard. Line numbers stay
 * those of the whole file (the newlines before start are counted once). */
dql_status dql_reader_range(dql_reader *r, uint64_t start, uint64_t end, char *err, size_t errlen)
{
    if (r->gz || !r->own_fd || r->nread) {
        snprintf(err, errlen, "'%s' cannot be split by byte range (compressed or not a file)", r->path);
        return DQL_ERR_IO;
    }
    uint64_t lines = 0;
    bool at_line_start = true;
    if (start > 0) {
        char *blk = dql_xmalloc(1u << 20);
        for (uint64_t off = 0; off < start;) {
            size_t want = start - off < (1u << 20) ? (size_t)(start - off) : (1u << 20);
            ssize_t n = pread(r->fd, blk, want, (off_t)off);
            if (n <= 0) {
                snprintf(err, errlen, "%s: read error: %s", r->path, n < 0 ? strerror(errno) : "file shrank");
                free(blk);
                return DQL_ERR_IO;
            }
            for (const char *p = blk, *e = blk + n; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
                lines++;
            at_line_start = blk[n - 1] == '\n';
            off += (uint64_t)n;
        }
        free(blk);
    }
    if (lseek(r->fd, (off_t)start, SEEK_SET) < 0) {
        snprintf(err, errlen, "%s: cannot seek: %s", r->path, strerror(errno));
        return DQL_ERR_IO;
    }
    r->off0 = start;
    r->lineno = lines;
    r->total = end > start ? end - start : 0;
    if (!at_line_start) {
        /* the line that straddles start belongs to the shard before */
        const char *l;
        size_t n;
        if (dql_reader_line(r, &l, &n) == DQL_ERR_IO) {
            snprintf(err, errlen, "%s: read error: %s", r->path, strerror(r->err));
            return DQL_ERR_IO;
        }
    }
    r->rend = end;
    r->ranged = true;
    return DQL_OK;
}

/* Lines returned from now on stay valid until the next mark (see top). */
void dql_reader_mark(dql_reader *r)
{
    r->marks = true;
    r->held = r->pos;
    for (int i = 0; i < r->nretired; i++) {
        if (!r->spare) {
            r->spare = r->retired[i];
            r->spare_cap = READER_BUF;   /* at least; exact size unknown */
        } else {
            free(r->retired[i]);
        }
    }
    r->nretired = 0;
}

/* strerror() of the last read error, or NULL. */
const char *dql_reader_errmsg(const dql_reader *r)
{
    return r->err ? strerror(r->err) : NULL;
}

uint64_t dql_reader_lineno(const dql_reader *r)
{
    return r->lineno;
}

void dql_reader_progress(const dql_reader *r, uint64_t *done, uint64_t *total)
{
    if (r->gz) {
        z_off_t off = gzoffset(r->gz);
        *done = off > 0 ? (uint64_t)off : 0;
    } else {
        *done = r->nread - (r->end - r->pos);
    }
    *total = r->total;
    if (*total && *done > *total)
        *done = *total;
}

const char *dql_reader_path(const dql_reader *r)
{
    return r->path;
}

void dql_reader_close(dql_reader *r)
{
    reader_free(r);
}

/* ------------------------------------------------------------ path lists */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void path_error(const char *path, int e, char *err, size_t errlen)
{
    if (e == ENOENT || e == ENOTDIR)
        snprintf(err, errlen, "no such file: '%s'", path);
    else if (e == EACCES)
        snprintf(err, errlen, "permission denied: '%s'", path);
    else
        snprintf(err, errlen, "cannot open '%s': %s", path, strerror(e));
}

static int paths_one(const char *p, char ***paths)
{
    char **v = dql_xmalloc(2 * sizeof *v);
    v[0] = dql_xstrdup(p);
    v[1] = NULL;
    *paths = v;
    return 1;
}

int dql_paths_expand(const char *pattern, char ***paths, char *err, size_t errlen)
{
    struct stat st;
    *paths = NULL;
    if (err && errlen)
        err[0] = 0;
    if (strcmp(pattern, "-") == 0)
        return paths_one(pattern, paths);
    if (stat(pattern, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            if (access(pattern, R_OK) != 0) {
                path_error(pattern, errno, err, errlen);
                return 0;
            }
            return paths_one(pattern, paths);
        }
        DIR *d = opendir(pattern);
        if (!d) {
            path_error(pattern, errno, err, errlen);
            return 0;
        }
        size_t n = 0, cap = 16, plen = strlen(pattern);
        bool slash = plen > 0 && pattern[plen - 1] == '/';
        char **v = dql_xmalloc(cap * sizeof *v);
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            size_t nl = strlen(de->d_name);
            char *full = dql_xmalloc(plen + nl + 2);
            memcpy(full, pattern, plen);
            if (!slash)
                full[plen] = '/';
            memcpy(full + plen + !slash, de->d_name, nl + 1);
            struct stat fst;
            if (stat(full, &fst) != 0 || !S_ISREG(fst.st_mode)) {
                free(full);
                continue;
            }
            if (n + 1 >= cap)
                v = dql_xrealloc(v, (cap *= 2) * sizeof *v);
            v[n++] = full;
        }
        closedir(d);
        v[n] = NULL;
        if (n == 0) {
            free(v);
            snprintf(err, errlen, "no files in directory '%s'", pattern);
            return 0;
        }
        qsort(v, n, sizeof *v, cmp_str);
        *paths = v;
        return (int)n;
    }
    int serr = errno;
    if (strpbrk(pattern, "*?[")) {
        glob_t g;
        int rc = glob(pattern, 0, NULL, &g);
        if (rc == 0) {
            size_t n = 0;
            char **v = dql_xmalloc((g.gl_pathc + 1) * sizeof *v);
            for (size_t i = 0; i < g.gl_pathc; i++) {
                struct stat fst;
                if (stat(g.gl_pathv[i], &fst) == 0 && !S_ISDIR(fst.st_mode))
                    v[n++] = dql_xstrdup(g.gl_pathv[i]);
            }
            v[n] = NULL;
            globfree(&g);
            if (n > 0) {
                *paths = v;   /* glob(3) sorts already */
                return (int)n;
            }
            free(v);
        } else if (rc == GLOB_ABORTED) {
            snprintf(err, errlen, "cannot read '%s': %s", pattern, strerror(errno));
            return 0;
        }
        snprintf(err, errlen, "no files match '%s'", pattern);
        return 0;
    }
    path_error(pattern, serr, err, errlen);
    return 0;
}

void dql_paths_free(char **paths)
{
    if (!paths)
        return;
    for (char **p = paths; *p; p++)
        free(*p);
    free(paths);
}

void dql_paths_block(int n, int shard, int nshards, int *lo, int *hi)
{
    *lo = (int)((int64_t)n * shard / nshards);
    *hi = (int)((int64_t)n * (shard + 1) / nshards);
}

int dql_paths_shard(char **paths, uint64_t *sizes, int n, int shard, int nshards)
{
    int lo, hi;
    dql_paths_block(n, shard, nshards, &lo, &hi);
    return dql_paths_keep(paths, sizes, n, lo, hi);
}

int dql_paths_keep(char **paths, uint64_t *sizes, int n, int lo, int hi)
{
    for (int i = 0; i < n; i++)
        if (i < lo || i >= hi)
            free(paths[i]);
    memmove(paths, paths + lo, sizeof(char *) * (size_t)(hi - lo));
    if (sizes)
        memmove(sizes, sizes + lo, sizeof(uint64_t) * (size_t)(hi - lo));
    paths[hi - lo] = NULL;
    return hi - lo;
}

bool dql_path_splittable(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
        return false;
    unsigned char m[2] = { 0, 0 };
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool gz = pread(fd, m, 2, 0) == 2 && m[0] == 0x1f && m[1] == 0x8b;
    close(fd);
    return !gz;
}
