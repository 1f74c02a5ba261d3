/* pcap_read.c — the capture reader of pcap.h. Classic pcap files (either
 * byte order, µs or ns timestamps) are read here with large reads through
 * zlib's gzread, which passes plain files through and inflates .gz ones;
 * records are handed out as pointers into one buffer, so nothing is copied
 * or allocated per packet. Anything else (pcapng, ...) goes to libpcap when
 * it was built in: it reads a stdio stream that first replays the bytes
 * already taken to look at the magic number, then the rest of the input. */
#define _GNU_SOURCE 1
#include "pcap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#ifdef HAVE_LIBPCAP
#include <pcap/pcap.h>
#endif

#include "dql.h"

#define BUF_SIZE (256u << 10)        /* read size: syscalls do not count, and it stays in cache */
#define MAX_RECORD (16u << 20)       /* a larger caplen is a corrupt file */

struct dql_pcap_src {
    gzFile gz;
    uint8_t *buf;
    size_t cap, pos, end;
    bool eof, swap, native;
    int prec;
    int linktype;
    uint64_t total;
    char err[256];
#ifdef HAVE_LIBPCAP
    pcap_t *pc;
    FILE *fp;
#endif
};

static inline uint32_t sw32(uint32_t v) { return __builtin_bswap32(v); }

/* Makes at least n bytes available at buf+pos unless the input ends. */
static bool ensure(dql_pcap_src *s, size_t n)
{
    if (s->end - s->pos >= n) return true;
    if (s->eof) return false;
    if (s->pos) {
        memmove(s->buf, s->buf + s->pos, s->end - s->pos);
        s->end -= s->pos;
        s->pos = 0;
    }
    if (n > s->cap) {
        size_t c = s->cap;
        while (c < n) c *= 2;
        s->buf = dql_xrealloc(s->buf, c);
        s->cap = c;
    }
    while (s->end - s->pos < n && !s->eof) {
        size_t want = s->cap - s->end;
        if (want > (1u << 30)) want = 1u << 30;
        int r = gzread(s->gz, s->buf + s->end, (unsigned)want);
        if (r < 0) {
            int zerr;
            const char *m = gzerror(s->gz, &zerr);
            snprintf(s->err, sizeof s->err, "read error: %s", m ? m : "?");
            s->eof = true;
            return false;
        }
        if (r == 0) s->eof = true;
        s->end += (size_t)r;
    }
    return s->end - s->pos >= n;
}

#ifdef HAVE_LIBPCAP
/* stdio cookie: the bytes already buffered, then the rest through gzread. */
static ssize_t cookie_read(void *c, char *out, size_t n)
{
    dql_pcap_src *s = c;
    if (s->pos < s->end) {
        size_t k = s->end - s->pos;
        if (k > n) k = n;
        memcpy(out, s->buf + s->pos, k);
        s->pos += k;
        return (ssize_t)k;
    }
    if (s->eof) return 0;
    if (n > (1u << 30)) n = 1u << 30;
    int r = gzread(s->gz, out, (unsigned)n);
    if (r <= 0) { s->eof = true; return r < 0 ? -1 : 0; }
    return r;
}
#endif

dql_pcap_src *dql_pcap_open(const char *path, char *err, size_t errlen)
{
    int fd = strcmp(path, "-") == 0 ? dup(0) : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    dql_pcap_src *s = dql_xcalloc(1, sizeof *s);
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        s->total = (uint64_t)st.st_size;
#ifdef POSIX_FADV_SEQUENTIAL
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    }
    s->gz = gzdopen(fd, "rb");
    if (!s->gz) {
        close(fd);
        free(s);
        snprintf(err, errlen, "cannot open '%s'", path);
        return NULL;
    }
    gzbuffer(s->gz, 64u << 10);   /* reads of 128 KB and more go straight into buf */
    s->cap = BUF_SIZE;
    s->buf = dql_xmalloc(s->cap);
    s->prec = 6;
    if (!ensure(s, 24)) {
        snprintf(err, errlen, "'%s' is not a capture file: %s", path, s->err[0] ? s->err : "too short");
        dql_pcap_close(s);
        return NULL;
    }
    uint32_t magic;
    memcpy(&magic, s->buf, 4);
    if (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du || magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u) {
        s->native = true;
        s->swap = magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u;
        s->prec = (magic == 0xa1b23c4du || magic == 0x4d3cb2a1u) ? 9 : 6;
        uint32_t lt;
        memcpy(&lt, s->buf + 20, 4);
        if (s->swap) lt = sw32(lt);
        s->linktype = (int)(lt & 0xffff);  /* upper bits: FCS length */
        s->pos = 24;
        return s;
    }
#ifdef HAVE_LIBPCAP
    cookie_io_functions_t io = { .read = cookie_read };
    s->fp = fopencookie(s, "r", io);
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    if (s->fp)
        s->pc = pcap_fopen_offline_with_tstamp_precision(s->fp, PCAP_TSTAMP_PRECISION_NANO, ebuf);
    if (!s->pc) {
        snprintf(err, errlen, "'%s' is not a pcap or pcapng capture%s%s", path, ebuf[0] ? ": " : "", ebuf);
        if (s->fp) { fclose(s->fp); s->fp = NULL; }
        dql_pcap_close(s);
        return NULL;
    }
    s->linktype = pcap_datalink(s->pc);
    s->prec = 9;
    return s;
#else
    snprintf(err, errlen, "'%s' is not a classic pcap file (pcapng needs dql built with libpcap)", path);
    dql_pcap_close(s);
    return NULL;
#endif
}

int dql_pcap_next(dql_pcap_src *s, dql_pcap_pkt *p)
{
    if (s->native) {
        if (!ensure(s, 16)) {
            if (s->end > s->pos && !s->err[0])
                snprintf(s->err, sizeof s->err, "file ends inside a record header");
            return s->err[0] ? -1 : 0;
        }
        const uint8_t *h = s->buf + s->pos;
        uint32_t r[4];
        memcpy(r, h, 16);
        if (s->swap) for (int i = 0; i < 4; i++) r[i] = sw32(r[i]);
        if (r[2] > MAX_RECORD) {
            snprintf(s->err, sizeof s->err, "bad record: captured length %u", r[2]);
            return -1;
        }
        if (!ensure(s, 16 + (size_t)r[2])) {
            if (!s->err[0])
                snprintf(s->err, sizeof s->err, "file ends inside a record (%u bytes captured, %zu present)",
                         r[2], s->end - s->pos - 16);
            return -1;
        }
        p->ts_ns = (int64_t)r[0] * 1000000000 + (int64_t)r[1] * (s->prec == 9 ? 1 : 1000);
        p->caplen = r[2];
        p->origlen = r[3] < r[2] ? r[2] : r[3];
        p->data = s->buf + s->pos + 16;
        p->linktype = s->linktype;
        s->pos += 16 + (size_t)r[2];
        return 1;
    }
#ifdef HAVE_LIBPCAP
    struct pcap_pkthdr *hdr;
    const u_char *d;
    int r = pcap_next_ex(s->pc, &hdr, &d);
    if (r == 1) {
        p->ts_ns = (int64_t)hdr->ts.tv_sec * 1000000000 + (int64_t)hdr->ts.tv_usec;
        p->caplen = hdr->caplen;
        p->origlen = hdr->len < hdr->caplen ? hdr->caplen : hdr->len;
        p->data = d;
        p->linktype = s->linktype;
        return 1;
    }
    if (r == PCAP_ERROR_BREAK) return 0;
    snprintf(s->err, sizeof s->err, "%s", pcap_geterr(s->pc));
    return -1;
#else
    return 0;
#endif
}

const char *dql_pcap_errmsg(const dql_pcap_src *s) { return s->err; }

int dql_pcap_precision(const dql_pcap_src *s) { return s->prec; }

void dql_pcap_progress(const dql_pcap_src *s, uint64_t *done, uint64_t *total)
{
    long o = s->gz ? (long)gzoffset(s->gz) : 0;
    *done = o > 0 ? (uint64_t)o : 0;
    *total = s->total;
}

void dql_pcap_close(dql_pcap_src *s)
{
    if (!s) return;
#ifdef HAVE_LIBPCAP
    if (s->pc) pcap_close(s->pc);   /* closes s->fp */
    else if (s->fp) fclose(s->fp);
#endif
    if (s->gz) gzclose(s->gz);
    free(s->buf);
    free(s);
}
