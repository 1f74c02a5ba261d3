/* op_resolve.c — RESOLVE: bulk DNS resolution as a dataflow verb (xop.h).
 *
 *     r = RESOLVE rel BY name TYPES (A, AAAA, MX)
 *         WITH (servers = 'udp://127.0.0.1:5353', concurrency = 500, timeout = '2s',
 *               retries = 3, rate = 20000, tcp = 'fallback', recursion = true,
 *               wildcards = 'detect');
 *
 * One output row per (name, type) lookup. The engine is asynchronous and
 * single-threaded: step() takes input rows while the window of lookups in
 * flight has room, sends hand-built queries (sendmmsg), and blocks on epoll
 * only when the window is full or the input has ended. Replies are drained
 * to EAGAIN with recvmmsg and matched by socket, ID, source address and
 * question before anything else is parsed; the rest are counted as stray
 * and dropped. Timeouts and retries run on a hashed timing wheel. A TC
 * reply is retried over TCP. Memory is bounded by the window: nothing is
 * kept per name once its lookups have produced their rows.
 *
 * Answers become bags of (owner, ttl, type, rdata, target, address), the
 * shape of zone rows, rendered by the zone rdata codec (zone.h) after the
 * names inside rdata were decompressed (dns_msg.h). See doc/resolve.md. */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "xop.h"
#include "session.h"
#include "sort.h"
#include "zone.h"
#include "dns_msg.h"

/* ------------------------------------------------------------ configuration */

#define MAX_TYPES 32
#define MAX_SERVERS 64
#define RECV_BATCH 64
#define SEND_BATCH 64
#define WHEEL_BITS 12                     /* 4096 buckets */
#define WHEEL_SIZE (1u << WHEEL_BITS)
#define WHEEL_TICK_US 1000                /* 1 ms per bucket */
#define WC_MAX_PARENTS 65536

enum { TCP_FALLBACK, TCP_ONLY, TCP_NEVER };
enum { WC_OFF, WC_DETECT };

typedef struct rserver {
    struct sockaddr_storage sa;
    socklen_t salen;
    bool tcp;                 /* tcp:// */
    char *text;               /* as shown in rows: "127.0.0.1:5353" */
} rserver;

typedef struct rconf {
    rserver srv[MAX_SERVERS];
    int nsrv;
    bool from_resolv_conf;
    char *resolv_conf_path;
    uint16_t types[MAX_TYPES];
    const char *typenames[MAX_TYPES];
    int ntypes;
    int concurrency, per_server;
    int64_t timeout_us;
    int retries;
    double rate;
    int tcp;
    bool recursion, dnssec, stats;
    int edns;                 /* advertised UDP size; 0: no EDNS */
    int wildcards;
    int pass_n;               /* passthrough input columns */
    int *pass_cols;
    int ncols_out;
} rconf;

/* Output fields after the passthrough ones. */
static const char *const own_fields[] = {
    "name", "qtype", "rcode", "status", "server", "rtt_ms", "tries", "flags",
    "answers", "authority", "additional", "wildcard",
};
enum { F_NAME, F_QTYPE, F_RCODE, F_STATUS, F_SERVER, F_RTT, F_TRIES, F_FLAGS, F_ANS, F_AUTH, F_ADD, F_WILD, F__N };

static void conf_free(void *p)
{
    rconf *c = p;
    if (!c) return;
    for (int i = 0; i < c->nsrv; i++) free(c->srv[i].text);
    free(c->resolv_conf_path);
    free(c->pass_cols);
    free(c);
}

/* Parses one server: [udp://|tcp://]host[:port], host an IPv4 address or
 * an IPv6 one ("[::1]:5353", or bare "::1"). */
static bool parse_server(const char *s, size_t n, rserver *out, char *err, size_t errlen)
{
    char buf[300];
    if (n >= sizeof buf) { snprintf(err, errlen, "server '%.*s' is too long", (int)n, s); return false; }
    memcpy(buf, s, n);
    buf[n] = 0;
    char orig[300];
    memcpy(orig, buf, n + 1);
    char *p = buf;
    memset(out, 0, sizeof *out);
    if (!strncasecmp(p, "udp://", 6)) p += 6;
    else if (!strncasecmp(p, "tcp://", 6)) { p += 6; out->tcp = true; }
    else if (strstr(p, "://")) { snprintf(err, errlen, "server '%s': only udp:// and tcp:// are supported", orig); return false; }
    char *host = p, *port = NULL;
    if (*p == '[') {
        char *e = strchr(p, ']');
        if (!e) { snprintf(err, errlen, "server '%s': missing ]", orig); return false; }
        *e = 0;
        host = p + 1;
        if (e[1] == ':') port = e + 2;
        else if (e[1]) { snprintf(err, errlen, "server '%s': bad port", orig); return false; }
    } else {
        char *c = strchr(p, ':');
        if (c && !strchr(c + 1, ':')) { *c = 0; port = c + 1; }   /* one colon: v4:port */
    }
    long pn = 53;
    if (port) {
        char *e;
        pn = strtol(port, &e, 10);
        if (!*port || *e || pn < 1 || pn > 65535) { snprintf(err, errlen, "server '%s': bad port", orig); return false; }
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)&out->sa;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&out->sa;
    char txt[340];
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)pn);
        out->salen = sizeof *a4;
        snprintf(txt, sizeof txt, "%s:%ld", host, pn);
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)pn);
        out->salen = sizeof *a6;
        char h[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, &a6->sin6_addr, h, sizeof h);
        snprintf(txt, sizeof txt, "[%s]:%ld", h, pn);
    } else {
        snprintf(err, errlen, "server '%s': '%s' is not an IP address (names are not resolved)", orig, host);
        return false;
    }
    if (out->tcp) {
        char t2[sizeof txt + 8];
        snprintf(t2, sizeof t2, "tcp://%s", txt);
        out->text = dql_xstrdup(t2);
    } else {
        out->text = dql_xstrdup(txt);
    }
    return true;
}

/* Parses a list of servers separated by commas, spaces or semicolons. */
static bool parse_servers(rconf *c, const char *list, char *err, size_t errlen)
{
    const char *p = list;
    while (*p) {
        while (*p == ',' || *p == ' ' || *p == ';' || *p == '\t') p++;
        if (!*p) break;
        const char *s = p;
        while (*p && *p != ',' && *p != ' ' && *p != ';' && *p != '\t') p++;
        if (c->nsrv == MAX_SERVERS) { snprintf(err, errlen, "more than %d servers", MAX_SERVERS); return false; }
        if (!parse_server(s, (size_t)(p - s), &c->srv[c->nsrv], err, errlen)) return false;
        c->nsrv++;
    }
    return true;
}

/* The nameserver lines of a resolv.conf ($DQL_RESOLV_CONF or /etc/resolv.conf). */
static bool read_resolv_conf(rconf *c, char *err, size_t errlen)
{
    const char *path = getenv("DQL_RESOLV_CONF");
    if (!path || !*path) path = "/etc/resolv.conf";
    FILE *fp = fopen(path, "r");
    if (!fp) { snprintf(err, errlen, "no servers given (WITH (servers = '...') or SET resolvers) and %s cannot be read", path); return false; }
    char line[512];
    while (fgets(line, sizeof line, fp)) {
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (strncmp(p, "nameserver", 10) || (p[10] != ' ' && p[10] != '\t')) continue;
        p += 10;
        while (*p == ' ' || *p == '\t') p++;
        size_t n = strcspn(p, " \t\r\n%#;");
        if (!n || c->nsrv == MAX_SERVERS) continue;
        char e2[256];
        if (parse_server(p, n, &c->srv[c->nsrv], e2, sizeof e2)) c->nsrv++;
    }
    fclose(fp);
    if (c->nsrv == 0) { snprintf(err, errlen, "no servers given (WITH (servers = '...') or SET resolvers) and none in %s", path); return false; }
    c->from_resolv_conf = true;
    c->resolv_conf_path = dql_xstrdup(path);
    return true;
}

static bool arg_str(const dql_value *v, char *buf, size_t n)
{
    if (!v) return false;
    if (v->type == DQL_T_CHARARRAY || v->type == DQL_T_BYTEARRAY || v->type == DQL_T_DOMAIN) {
        snprintf(buf, n, "%.*s", (int)v->len, v->u.s);
        return true;
    }
    if (v->type == DQL_T_INT || v->type == DQL_T_LONG) { snprintf(buf, n, "%lld", (long long)v->u.i); return true; }
    if (v->type == DQL_T_DOUBLE) { snprintf(buf, n, "%.17g", v->u.d); return true; }
    if (v->type == DQL_T_BOOL) { snprintf(buf, n, "%s", v->u.i ? "true" : "false"); return true; }
    return false;
}

static bool arg_int(const dql_value *v, int64_t lo, int64_t hi, int64_t *out)
{
    if (v->type == DQL_T_INT || v->type == DQL_T_LONG) *out = v->u.i;
    else if (v->type == DQL_T_DOUBLE && v->u.d == (double)(int64_t)v->u.d) *out = (int64_t)v->u.d;
    else if (v->type == DQL_T_CHARARRAY) {
        char b[64], *e;
        snprintf(b, sizeof b, "%.*s", (int)v->len, v->u.s);
        *out = strtoll(b, &e, 10);
        if (!b[0] || *e) return false;
    } else return false;
    return *out >= lo && *out <= hi;
}

static bool arg_bool(const dql_value *v, bool *out)
{
    if (v->type == DQL_T_BOOL) { *out = v->u.i != 0; return true; }
    char b[16];
    if (!arg_str(v, b, sizeof b)) return false;
    if (!strcasecmp(b, "true") || !strcmp(b, "1") || !strcasecmp(b, "yes")) { *out = true; return true; }
    if (!strcasecmp(b, "false") || !strcmp(b, "0") || !strcasecmp(b, "no")) { *out = false; return true; }
    return false;
}

static const char *const known_with[] = {
    "servers", "concurrency", "per_server", "timeout", "retries", "rate", "tcp", "recursion",
    "edns", "dnssec", "wildcards", "stats", NULL
};

static dql_status resolve_plan(const dql_xop_plan *xp, dql_schema **out, void **pstate, char *err, size_t errlen)
{
    if (!xp->by) { snprintf(err, errlen, "BY name is required (RESOLVE rel BY field TYPES (A, ...))"); return DQL_ERR_CHECK; }
    dql_type bt = xp->by->type;
    if (bt != DQL_T_DOMAIN && bt != DQL_T_CHARARRAY && bt != DQL_T_BYTEARRAY && bt != DQL_T_ANY && bt != DQL_T_NULL) {
        snprintf(err, errlen, "BY must be a domain or chararray, not %s", dql_type_name(bt));
        return DQL_ERR_CHECK;
    }
    rconf *c = dql_xcalloc(1, sizeof *c);
    c->concurrency = 500;
    c->timeout_us = 2000000;
    c->retries = 3;
    c->tcp = TCP_FALLBACK;
    c->recursion = true;
    c->stats = true;
    c->edns = 1232;
    /* types */
    if (xp->ntypes == 0) {
        c->types[0] = 1;
        c->typenames[0] = "A";
        c->ntypes = 1;
    }
    for (int i = 0; i < xp->ntypes; i++) {
        uint16_t t;
        if (!dql_zone_type_parse(xp->types[i], strlen(xp->types[i]), &t) || t == 0 || t == 41 || t == 251 || t == 252) {
            snprintf(err, errlen, "TYPES: '%s' is not a record type one can query", xp->types[i]);
            conf_free(c);
            return DQL_ERR_CHECK;
        }
        if (c->ntypes == MAX_TYPES) { snprintf(err, errlen, "TYPES: more than %d types", MAX_TYPES); conf_free(c); return DQL_ERR_CHECK; }
        bool dup = false;
        for (int k = 0; k < c->ntypes; k++) dup |= c->types[k] == t;
        if (dup) continue;
        c->types[c->ntypes] = t;
        c->typenames[c->ntypes] = dql_zone_type_name(t);
        c->ntypes++;
    }
    /* WITH */
    const dql_args *w = xp->with;
    char sb[4096];
    for (int i = 0; w && i < w->n; i++) {
        const dql_arg *a = &w->a[i];
        if (!a->name) { snprintf(err, errlen, "WITH takes name = value arguments"); goto bad; }
        bool ok = false;
        for (int k = 0; known_with[k]; k++) ok |= !strcmp(known_with[k], a->name);
        if (!ok) {
            snprintf(err, errlen, "WITH: unknown argument '%s' (known: servers, concurrency, per_server, timeout, retries, rate, tcp, recursion, edns, dnssec, wildcards, stats)", a->name);
            goto bad;
        }
        const dql_value *v = &a->v;
        int64_t n;
        if (!strcmp(a->name, "servers")) {
            if (!arg_str(v, sb, sizeof sb)) { snprintf(err, errlen, "servers: give a string 'udp://127.0.0.1:53, ...'"); goto bad; }
            if (!parse_servers(c, sb, err, errlen)) goto bad;
            if (c->nsrv == 0) { snprintf(err, errlen, "servers: the list is empty"); goto bad; }
        } else if (!strcmp(a->name, "concurrency")) {
            if (!arg_int(v, 1, 60000, &n)) { snprintf(err, errlen, "concurrency: give a number of lookups in flight from 1 to 60000"); goto bad; }
            c->concurrency = (int)n;
        } else if (!strcmp(a->name, "per_server")) {
            if (!arg_int(v, 1, 60000, &n)) { snprintf(err, errlen, "per_server: give a number from 1 to 60000"); goto bad; }
            c->per_server = (int)n;
        } else if (!strcmp(a->name, "retries")) {
            if (!arg_int(v, 0, 20, &n)) { snprintf(err, errlen, "retries: give a number from 0 to 20"); goto bad; }
            c->retries = (int)n;
        } else if (!strcmp(a->name, "edns")) {
            if (!arg_int(v, 0, 65535, &n) || (n > 0 && n < 512)) { snprintf(err, errlen, "edns: give a UDP size from 512 to 65535, or 0 for no EDNS"); goto bad; }
            c->edns = (int)n;
        } else if (!strcmp(a->name, "timeout")) {
            int64_t us;
            if (v->type == DQL_T_INT || v->type == DQL_T_LONG || v->type == DQL_T_DOUBLE) {
                double s = v->type == DQL_T_DOUBLE ? v->u.d : (double)v->u.i;
                us = (int64_t)(s * 1e6);
            } else if (!arg_str(v, sb, sizeof sb) || !dql_parse_duration(sb, &us)) us = -1;
            if (us < 1000 || us > 3600LL * 1000000) { snprintf(err, errlen, "timeout: give a duration from 1ms to 1h (e.g. '2s', '500ms')"); goto bad; }
            c->timeout_us = us;
        } else if (!strcmp(a->name, "rate")) {
            double r = -1;
            if (v->type == DQL_T_INT || v->type == DQL_T_LONG) r = (double)v->u.i;
            else if (v->type == DQL_T_DOUBLE) r = v->u.d;
            if (!(r >= 0 && r <= 1e8)) { snprintf(err, errlen, "rate: give queries per second (0: no limit)"); goto bad; }
            c->rate = r;
        } else if (!strcmp(a->name, "tcp")) {
            if (!arg_str(v, sb, sizeof sb)) sb[0] = 0;
            if (!strcasecmp(sb, "fallback")) c->tcp = TCP_FALLBACK;
            else if (!strcasecmp(sb, "only")) c->tcp = TCP_ONLY;
            else if (!strcasecmp(sb, "never")) c->tcp = TCP_NEVER;
            else { snprintf(err, errlen, "tcp: give 'fallback', 'only' or 'never'"); goto bad; }
        } else if (!strcmp(a->name, "wildcards")) {
            if (!arg_str(v, sb, sizeof sb)) sb[0] = 0;
            if (!strcasecmp(sb, "detect")) c->wildcards = WC_DETECT;
            else if (!strcasecmp(sb, "off") || !strcasecmp(sb, "false")) c->wildcards = WC_OFF;
            else { snprintf(err, errlen, "wildcards: give 'detect' or 'off'"); goto bad; }
        } else {
            bool b;
            if (!arg_bool(v, &b)) { snprintf(err, errlen, "%s: give true or false", a->name); goto bad; }
            if (!strcmp(a->name, "recursion")) c->recursion = b;
            else if (!strcmp(a->name, "dnssec")) c->dnssec = b;
            else c->stats = b;
        }
    }
    if (c->nsrv == 0) {
        const char *r = xp->sess ? dql_session_get(xp->sess, "resolvers") : NULL;
        if (r && *r) {
            if (!parse_servers(c, r, err, errlen)) {
                char e2[512];
                snprintf(e2, sizeof e2, "SET resolvers: %s", err);
                snprintf(err, errlen, "%s", e2);
                goto bad;
            }
        }
    }
    if (c->nsrv == 0 && !read_resolv_conf(c, err, errlen)) goto bad;
    if (c->dnssec && !c->edns) c->edns = 1232;
    if (c->per_server <= 0 || c->per_server > c->concurrency) c->per_server = c->concurrency;
    /* schema: input fields (but those named like ours) then ours */
    dql_schema *s = dql_schema_new(0);
    c->pass_cols = dql_xcalloc((size_t)xp->in->n + 1, sizeof(int));
    for (int i = 0; i < xp->in->n; i++) {
        const dql_field *f = &xp->in->f[i];
        bool clash = false;
        for (int k = 0; k < F__N && f->name; k++) clash |= !strcmp(f->name, own_fields[k]);
        if (clash) continue;
        c->pass_cols[c->pass_n++] = i;
        dql_schema_add(s, f->name, f->type, f->sub);
    }
    dql_schema *rr = dql_zone_rr_schema();
    static const dql_type own_types[] = { DQL_T_DOMAIN, DQL_T_CHARARRAY, DQL_T_CHARARRAY, DQL_T_CHARARRAY,
                                          DQL_T_CHARARRAY, DQL_T_DOUBLE, DQL_T_INT, DQL_T_CHARARRAY,
                                          DQL_T_BAG, DQL_T_BAG, DQL_T_BAG, DQL_T_BOOL };
    for (int k = 0; k < F__N; k++) {
        if (k == F_WILD && c->wildcards != WC_DETECT) continue;
        dql_schema_add(s, own_fields[k], own_types[k], own_types[k] == DQL_T_BAG ? rr : NULL);
    }
    dql_schema_free(rr);
    c->ncols_out = s->n;
    *out = s;
    *pstate = c;
    return DQL_OK;
bad:
    conf_free(c);
    return DQL_ERR_CHECK;
}

static void resolve_explain(void *pstate, dql_buf *b)
{
    rconf *c = pstate;
    if (!c) return;
    dql_buf_puts(b, "types");
    for (int i = 0; i < c->ntypes; i++) { dql_buf_putc(b, ' '); dql_zone_type_text(b, c->types[i]); }
    dql_buf_puts(b, ", servers");
    for (int i = 0; i < c->nsrv; i++) dql_buf_printf(b, "%s %s", i ? "," : "", c->srv[i].text);
    if (c->from_resolv_conf) dql_buf_printf(b, " (from %s)", c->resolv_conf_path);
    dql_buf_printf(b, ", %d in flight, timeout %gs, %d retries", c->concurrency, (double)c->timeout_us / 1e6, c->retries);
    if (c->rate > 0) dql_buf_printf(b, ", rate %g/s", c->rate);
    if (c->wildcards == WC_DETECT) dql_buf_puts(b, ", wildcard detection");
}

/* ------------------------------------------------------------------ state */

typedef struct wcparent wcparent;

/* One input name (or one wildcard probe), alive while its lookups are. */
typedef struct namerec {
    struct namerec *next;        /* ready queue / free list / a parent's waiting list */
    struct namerec *allnext;     /* every record ever made, for freeing at close */
    int refs;                    /* lookups not finished */
    int next_type;               /* next type to submit */
    bool probe;                  /* a wildcard probe: results go to wc */
    wcparent *wc;                /* parent of this name (wildcard detection), or NULL */
    uint8_t wire[DQL_DNS_NAME_MAX];
    uint8_t wlen;
    uint16_t tlen;
    char text[DQL_DNS_NAME_MAX * 4];   /* the name as a domain value (lower case, no dot) */
    uint8_t *pass;               /* serialized passthrough values */
    size_t passlen, passcap;
} namerec;

/* Wildcard state of one parent zone. */
struct wcparent {
    wcparent *hnext;
    uint8_t wire[DQL_DNS_NAME_MAX];
    uint8_t wlen;
    bool done;
    int pending;                 /* probe lookups not finished */
    namerec *wait, *wait_tail;   /* names waiting for the probe */
    int nwait;
    uint8_t nh[MAX_TYPES];       /* number of answer hashes per type */
    uint64_t h[MAX_TYPES][8];    /* sorted rdata hashes of the probe's answers */
};

enum { Q_FREE = 0, Q_UDP, Q_TCP_CONN, Q_TCP_READ };

typedef struct qslot {
    int state;
    namerec *nr;
    int ti;                      /* index into types */
    uint16_t qtype, id;
    int sock;                    /* UDP socket index */
    int server;
    int tries;
    bool tcp;                    /* this try over TCP */
    int64_t sent_us;
    /* timing wheel */
    int tprev, tnext;            /* slot indices, -1 none */
    int bucket;                  /* -1: not in the wheel */
    int64_t deadline;
    /* TCP */
    int fd;
    uint8_t *tbuf;
    size_t tlen, tgot, tneed;
    int next_free;
} qslot;

typedef struct usock {
    int fd;
    int fam;
    uint32_t *idmap;             /* id -> slot + 1 */
    /* pending sends */
    struct mmsghdr msgs[SEND_BATCH];
    struct iovec iov[SEND_BATCH];
    uint8_t pkt[SEND_BATCH][DQL_DNS_NAME_MAX + 32];
    int slot_of[SEND_BATCH];
    int npend;
} usock;

typedef struct rstate {
    rconf *c;
    dql_exec *ex;
    dql_xop_plan xp;
    int epfd;
    usock us[2];                 /* [0] IPv4, [1] IPv6 */
    int srv_sock[MAX_SERVERS];   /* UDP socket index per server */
    int srv_inflight[MAX_SERVERS];
    int rr_next;
    qslot *q;
    int nq, free_q;
    int inflight;                /* slots in use */
    int held;                    /* lookups of names waiting for a wildcard probe */
    namerec *ready, *ready_tail; /* names with types left to submit */
    namerec *probes, *probes_tail;
    namerec *nr_free;
    namerec *nr_all;             /* all records (in flight, queued, free), via allnext */
    int tcp_open;
    /* timing wheel */
    int wheel[WHEEL_SIZE];
    int64_t wheel_now;           /* tick processed up to */
    int64_t now;                 /* µs, monotonic */
    int64_t t0;
    /* rate */
    double tokens;
    int64_t tok_us;
    /* receive */
    struct mmsghdr rmsgs[RECV_BATCH];
    struct iovec riov[RECV_BATCH];
    struct sockaddr_storage raddr[RECV_BATCH];
    uint8_t *rbuf;
    size_t rbufsz;
    /* rendering */
    dql_buf tb;
    dql_zone_rrtup tup;          /* answer records as tuples (zone.h) */
    dql_dns_rr rr;
    dql_dns_msg msg;
    dql_arena evarena;
    uint64_t rng;
    /* wildcard parents */
    wcparent **wc_tab;
    int wc_n;
    bool wc_full_warned;
    /* counters */
    uint64_t c_lookups, c_sent, c_recv, c_retried, c_timeout, c_tcp, c_stray, c_bad, c_err, c_badname;
    uint64_t c_rcode[24], c_rcode_other, c_probes;
    int last_progress;
} rstate;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t rnd(rstate *s)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return s->rng;
}

/* ------------------------------------------------------------ timing wheel */

static void wheel_del(rstate *s, int qi)
{
    qslot *q = &s->q[qi];
    if (q->bucket < 0) return;
    if (q->tprev >= 0) s->q[q->tprev].tnext = q->tnext;
    else s->wheel[q->bucket] = q->tnext;
    if (q->tnext >= 0) s->q[q->tnext].tprev = q->tprev;
    q->bucket = -1;
    q->tprev = q->tnext = -1;
}

static void wheel_add(rstate *s, int qi, int64_t deadline)
{
    qslot *q = &s->q[qi];
    wheel_del(s, qi);
    q->deadline = deadline;
    int64_t tick = deadline / WHEEL_TICK_US;
    if (tick <= s->wheel_now) tick = s->wheel_now + 1;
    int b = (int)(tick & (WHEEL_SIZE - 1));
    q->bucket = b;
    q->tprev = -1;
    q->tnext = s->wheel[b];
    if (q->tnext >= 0) s->q[q->tnext].tprev = qi;
    s->wheel[b] = qi;
}

/* The earliest deadline in the next 64 buckets, or -1 when there is none
 * that soon (the caller then waits at most that long anyway). */
static int64_t wheel_next_deadline(rstate *s)
{
    if (s->inflight == 0) return -1;
    for (int64_t t = s->wheel_now + 1; t <= s->wheel_now + 64; t++) {
        int b = (int)(t & (WHEEL_SIZE - 1));
        int64_t best = -1;
        for (int i = s->wheel[b]; i >= 0; i = s->q[i].tnext)
            if (best < 0 || s->q[i].deadline < best) best = s->q[i].deadline;
        if (best >= 0) return best;
    }
    return -1;
}

/* ------------------------------------------------------------- name records */

static namerec *nr_new(rstate *s)
{
    namerec *n = s->nr_free;
    if (n) s->nr_free = n->next;
    else {
        n = dql_xcalloc(1, sizeof *n);
        n->allnext = s->nr_all;
        s->nr_all = n;
    }
    n->next = NULL;
    n->refs = 0;
    n->next_type = 0;
    n->probe = false;
    n->wc = NULL;
    n->passlen = 0;
    return n;
}

static void nr_release(rstate *s, namerec *n)
{
    n->next = s->nr_free;
    s->nr_free = n;
}

static void q_push(namerec **head, namerec **tail, namerec *n)
{
    n->next = NULL;
    if (*tail) (*tail)->next = n;
    else *head = n;
    *tail = n;
}

/* -------------------------------------------------------------- open/close */

static void resolve_close(void *p);

static int udp_socket(int fam)
{
    int fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int sz = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    return fd;
}

static bool resolv_conf_said;

static dql_status resolve_open(const dql_xop_plan *xp, void *pstate, dql_exec *ex, void **st)
{
    rconf *c = pstate;
    rstate *s = dql_xcalloc(1, sizeof *s);
    s->c = c;
    s->ex = ex;
    s->xp = *xp;
    s->epfd = -1;
    s->us[0].fd = s->us[1].fd = -1;
    *st = s;
    dql_arena_init(&s->evarena);
    s->rng = (uint64_t)now_us() * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid();
    if (!s->rng) s->rng = 1;
    if (c->from_resolv_conf && !resolv_conf_said) {
        resolv_conf_said = true;
        FILE *fp = xp->sess ? dql_session_errfp(xp->sess) : stderr;
        dql_buf b = {0};
        for (int i = 0; i < c->nsrv; i++) dql_buf_printf(&b, "%s%s", i ? ", " : "", c->srv[i].text);
        fprintf(fp, "RESOLVE: no servers given (WITH (servers = '...') or SET resolvers): using %s from %s\n",
                dql_buf_cstr(&b), c->resolv_conf_path);
        dql_buf_free(&b);
    }
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0) return dql_exec_error(ex, "RESOLVE: epoll: %s", strerror(errno));
    for (int i = 0; i < c->nsrv; i++) {
        int k = c->srv[i].sa.ss_family == AF_INET6 ? 1 : 0;
        s->srv_sock[i] = k;
        if (s->us[k].fd >= 0 || c->srv[i].tcp) continue;
        s->us[k].fd = udp_socket(k ? AF_INET6 : AF_INET);
        if (s->us[k].fd < 0) return dql_exec_error(ex, "RESOLVE: socket: %s", strerror(errno));
        s->us[k].fam = k ? AF_INET6 : AF_INET;
        s->us[k].idmap = dql_xcalloc(65536, sizeof(uint32_t));
        struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)k };
        epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->us[k].fd, &ev);
    }
    for (int k = 0; k < 2; k++)
        if (s->us[k].fd < 0) s->us[k].idmap = NULL;
    s->nq = c->concurrency;
    s->q = dql_xcalloc((size_t)s->nq, sizeof(qslot));
    for (int i = 0; i < s->nq; i++) {
        s->q[i].next_free = i + 1 < s->nq ? i + 1 : -1;
        s->q[i].bucket = -1;
        s->q[i].tprev = s->q[i].tnext = -1;
        s->q[i].fd = -1;
    }
    s->free_q = 0;
    for (unsigned i = 0; i < WHEEL_SIZE; i++) s->wheel[i] = -1;
    s->now = s->t0 = now_us();
    s->wheel_now = s->now / WHEEL_TICK_US;
    s->tok_us = s->now;
    s->tokens = c->rate > 0 ? (c->rate / 100 > 1 ? c->rate / 100 : 1) : 0;
    s->rbufsz = (size_t)(c->edns > 512 ? c->edns : 512) + 64;
    if (s->rbufsz > 65536) s->rbufsz = 65536;
    s->rbuf = dql_xmalloc(s->rbufsz * RECV_BATCH);
    if (c->wildcards == WC_DETECT) s->wc_tab = dql_xcalloc(WC_MAX_PARENTS, sizeof(wcparent *));
    return DQL_OK;
}

static void print_stats(rstate *s)
{
    FILE *fp = s->xp.sess ? dql_session_errfp(s->xp.sess) : stderr;
    dql_buf b = {0};
    dql_buf_printf(&b, "RESOLVE: %llu lookups: %llu sent, %llu received, %llu retried, %llu timed out, %llu over TCP, %llu stray dropped",
                   (unsigned long long)s->c_lookups, (unsigned long long)s->c_sent, (unsigned long long)s->c_recv,
                   (unsigned long long)s->c_retried, (unsigned long long)s->c_timeout, (unsigned long long)s->c_tcp,
                   (unsigned long long)s->c_stray);
    if (s->c_bad) dql_buf_printf(&b, ", %llu malformed", (unsigned long long)s->c_bad);
    if (s->c_err) dql_buf_printf(&b, ", %llu errors", (unsigned long long)s->c_err);
    if (s->c_badname) dql_buf_printf(&b, ", %llu bad names skipped", (unsigned long long)s->c_badname);
    if (s->c_probes) dql_buf_printf(&b, ", %llu wildcard probes", (unsigned long long)s->c_probes);
    const char *sep = "; ";
    for (int i = 0; i < 24; i++) {
        if (!s->c_rcode[i]) continue;
        char nb[16];
        dql_buf_printf(&b, "%s%s %llu", sep, dql_dns_rcode_name(i, nb), (unsigned long long)s->c_rcode[i]);
        sep = ", ";
    }
    if (s->c_rcode_other) dql_buf_printf(&b, "%sother rcodes %llu", sep, (unsigned long long)s->c_rcode_other);
    fprintf(fp, "%s\n", dql_buf_cstr(&b));
    dql_buf_free(&b);
}

static void resolve_close(void *p)
{
    rstate *s = p;
    if (!s) return;
    if (s->c->stats && s->c_lookups + s->c_badname > 0) print_stats(s);
    for (int i = 0; s->q && i < s->nq; i++) {
        if (s->q[i].fd >= 0) close(s->q[i].fd);
        free(s->q[i].tbuf);
    }
    free(s->q);
    for (int k = 0; k < 2; k++) {
        if (s->us[k].fd >= 0) close(s->us[k].fd);
        free(s->us[k].idmap);
    }
    if (s->epfd >= 0) close(s->epfd);
    /* every name record, wherever it is (queued, in flight when a Ctrl-C
     * stopped the statement, held by a parent, free) */
    for (namerec *n = s->nr_all, *nx; n; n = nx) { nx = n->allnext; free(n->pass); free(n); }
    if (s->wc_tab) {
        for (int i = 0; i < WC_MAX_PARENTS; i++)
            for (wcparent *w = s->wc_tab[i], *nx; w; w = nx) {
                nx = w->hnext;
                free(w);
            }
        free(s->wc_tab);
    }
    free(s->rbuf);
    dql_buf_free(&s->tb);
    dql_zone_rrtup_free(&s->tup);
    dql_arena_free(&s->evarena);
    free(s);
}

/* ------------------------------------------------------------ sending */

static void flush_sends(rstate *s, int k)
{
    usock *u = &s->us[k];
    int off = 0;
    while (off < u->npend) {
        int r = sendmmsg(u->fd, u->msgs + off, (unsigned)(u->npend - off), 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            /* EAGAIN or an error: the rest are lost; their timers retry them */
            s->c_err += (uint64_t)(u->npend - off);
            break;
        }
        off += r;
    }
    u->npend = 0;
}

static void flush_all(rstate *s)
{
    for (int k = 0; k < 2; k++)
        if (s->us[k].npend) flush_sends(s, k);
}

static bool tcp_start(rstate *s, int qi);

/* Picks a server with room: round robin from rr_next, avoiding avoid when
 * another has room. -1 when none has room. */
static int pick_server(rstate *s, int avoid)
{
    rconf *c = s->c;
    int fallback = -1;
    for (int i = 0; i < c->nsrv; i++) {
        int k = (s->rr_next + i) % c->nsrv;
        if (s->srv_inflight[k] >= c->per_server) continue;
        if (k == avoid && c->nsrv > 1) { if (fallback < 0) fallback = k; continue; }
        s->rr_next = (k + 1) % c->nsrv;
        return k;
    }
    return fallback;
}

/* Sends (or re-sends) the query of slot qi to a server. */
static void send_query(rstate *s, int qi, int srv)
{
    rconf *c = s->c;
    qslot *q = &s->q[qi];
    q->server = srv;
    s->srv_inflight[srv]++;
    q->tries++;
    s->c_sent++;
    q->sent_us = s->now;
    bool tcp = c->srv[srv].tcp || c->tcp == TCP_ONLY || q->tcp;
    if (tcp) {
        q->tcp = true;
        if (!tcp_start(s, qi)) {
            q->state = Q_TCP_CONN;    /* failure: let the timer retry it */
        }
        wheel_add(s, qi, s->now + c->timeout_us);
        return;
    }
    int k = s->srv_sock[srv];
    usock *u = &s->us[k];
    /* a fresh random ID, unused on this socket */
    uint16_t id = (uint16_t)rnd(s);
    while (u->idmap[id]) id++;
    u->idmap[id] = (uint32_t)qi + 1;
    q->id = id;
    q->sock = k;
    q->state = Q_UDP;
    if (u->npend == SEND_BATCH) flush_sends(s, k);
    int j = u->npend++;
    size_t n = dql_dns_query_build(u->pkt[j], sizeof u->pkt[j], id, c->recursion ? DQL_DNS_F_RD : 0,
                                   q->nr->wire, q->nr->wlen, q->qtype, (uint16_t)c->edns, c->dnssec);
    u->iov[j].iov_base = u->pkt[j];
    u->iov[j].iov_len = n;
    memset(&u->msgs[j], 0, sizeof u->msgs[j]);
    u->msgs[j].msg_hdr.msg_name = &c->srv[srv].sa;
    u->msgs[j].msg_hdr.msg_namelen = c->srv[srv].salen;
    u->msgs[j].msg_hdr.msg_iov = &u->iov[j];
    u->msgs[j].msg_hdr.msg_iovlen = 1;
    u->slot_of[j] = qi;
    wheel_add(s, qi, s->now + c->timeout_us);
}

/* Ends the current try of slot qi (reply, timeout, error): frees its ID,
 * socket, timer and server share. */
static void end_try(rstate *s, int qi)
{
    qslot *q = &s->q[qi];
    wheel_del(s, qi);
    if (q->state == Q_UDP) {
        if (s->us[q->sock].idmap[q->id] == (uint32_t)qi + 1) s->us[q->sock].idmap[q->id] = 0;
    }
    if (q->fd >= 0) {
        epoll_ctl(s->epfd, EPOLL_CTL_DEL, q->fd, NULL);
        close(q->fd);
        q->fd = -1;
        s->tcp_open--;
    }
    free(q->tbuf);
    q->tbuf = NULL;
    if (q->state != Q_FREE) s->srv_inflight[q->server]--;
    q->state = Q_FREE;
}

static void slot_free(rstate *s, int qi)
{
    qslot *q = &s->q[qi];
    q->state = Q_FREE;
    q->nr = NULL;
    q->next_free = s->free_q;
    s->free_q = qi;
    s->inflight--;
}

/* ------------------------------------------------------------ TCP */

static bool tcp_start(rstate *s, int qi)
{
    rconf *c = s->c;
    qslot *q = &s->q[qi];
    rserver *sv = &c->srv[q->server];
    int fd = socket(sv->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    q->id = (uint16_t)rnd(s);
    free(q->tbuf);
    q->tbuf = dql_xmalloc(2 + DQL_DNS_NAME_MAX + 32);
    size_t n = dql_dns_query_build(q->tbuf + 2, DQL_DNS_NAME_MAX + 32, q->id, c->recursion ? DQL_DNS_F_RD : 0,
                                   q->nr->wire, q->nr->wlen, q->qtype, (uint16_t)c->edns, c->dnssec);
    q->tbuf[0] = (uint8_t)(n >> 8);
    q->tbuf[1] = (uint8_t)n;
    q->tlen = n + 2;
    q->tgot = 0;
    q->tneed = 0;
    if (connect(fd, (struct sockaddr *)&sv->sa, sv->salen) < 0 && errno != EINPROGRESS) {
        close(fd);
        return false;
    }
    q->fd = fd;
    s->tcp_open++;
    q->state = Q_TCP_CONN;
    struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = ((uint64_t)1 << 32) | (uint32_t)qi };
    epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
    s->c_tcp++;
    return true;
}

/* --------------------------------------------------------------- results */


/* Builds the bag of one section's records (OPT skipped). */
static dql_value section_bag(rstate *s, const dql_dns_msg *m, int sec, int count, dql_arena *a, bool *bad)
{
    dql_bag *bag = dql_bag_new(a, (uint64_t)(count > 0 ? count : 0));
    dql_value v = {0};
    v.type = DQL_T_BAG;
    v.u.b = bag;
    if (count <= 0) { bag->n = 0; return v; }
    bag->n = 0;
    dql_dns_iter it;
    dql_dns_iter_init(&it, m);
    dql_dns_rr *rr = &s->rr;
    dql_dns_err e;
    int r;
    dql_zone_rrtup_reset(&s->tup);
    while ((r = dql_dns_iter_next(&it, rr, &e)) == 1) {
        if (rr->section != sec) { if (rr->section > sec) break; continue; }
        if (rr->type == 41) continue;
        if ((int)bag->n >= count) break;
        bag->t[bag->n++] = dql_zone_rr_tuple(&s->tup, a, rr->owner, rr->owner_len, rr->ttl, rr->type,
                                             rr->rdata, rr->rdlen);
    }
    if (r < 0) *bad = true;
    return v;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorted hashes of the answer rdata of type qtype (at most 8). */
static int answer_hashes(rstate *s, const dql_dns_msg *m, uint16_t qtype, uint64_t *h)
{
    int n = 0;
    dql_dns_iter it;
    dql_dns_iter_init(&it, m);
    dql_dns_err e;
    while (dql_dns_iter_next(&it, &s->rr, &e) == 1 && s->rr.section == DQL_DNS_SEC_ANSWER) {
        if (s->rr.type != qtype || n == 8) continue;
        h[n++] = dql_hash_bytes(s->rr.rdata, s->rr.rdlen, 7);
    }
    qsort(h, (size_t)n, sizeof *h, cmp_u64);
    return n;
}

static void wc_release_waiting(rstate *s, wcparent *w);

/* A lookup finished (m NULL: no reply; status says why). Emits its row
 * (unless it was a probe) and frees the slot. */
static void finish(rstate *s, int qi, const dql_dns_msg *m, const char *status, dql_batch *out, dql_arena *a)
{
    rconf *c = s->c;
    qslot *q = &s->q[qi];
    namerec *nr = q->nr;
    int tries = q->tries;
    int srv = q->server;
    double rtt = m ? (double)(s->now - q->sent_us) / 1000.0 : 0;
    uint16_t qtype = q->qtype;
    int ti = q->ti;
    uint8_t *tcpbuf = q->tbuf;      /* m may point into it: freed at the end */
    q->tbuf = NULL;
    end_try(s, qi);
    slot_free(s, qi);
    if (m) {
        int rc = m->rcode;
        if (rc < 24) s->c_rcode[rc]++;
        else s->c_rcode_other++;
    }
    if (nr->probe) {
        wcparent *w = nr->wc;
        if (m && m->rcode == 0) w->nh[ti] = (uint8_t)answer_hashes(s, m, qtype, w->h[ti]);
        if (--w->pending == 0) {
            w->done = true;
            wc_release_waiting(s, w);
        }
        if (--nr->refs == 0 && nr->next_type >= c->ntypes) nr_release(s, nr);
        free(tcpbuf);
        return;
    }
    dql_value *row = dql_batch_row(out, out->n++);
    /* passthrough values */
    const uint8_t *pp = nr->pass, *pe = nr->pass ? nr->pass + nr->passlen : NULL;
    for (int i = 0; i < c->pass_n; i++)
        if (!dql_value_deserialize(a, &pp, pe, &row[i])) row[i] = dql_null();
    dql_value *o = row + c->pass_n;
    o[F_NAME] = dql_str(DQL_T_DOMAIN, dql_arena_memdup(a, nr->text, nr->tlen), nr->tlen);
    o[F_QTYPE] = dql_chararray(c->typenames[ti], strlen(c->typenames[ti]));
    o[F_SERVER] = dql_chararray(c->srv[srv].text, strlen(c->srv[srv].text));
    o[F_TRIES] = dql_int(tries);
    int nown = c->wildcards == WC_DETECT ? F__N : F_WILD;
    for (int k = F_RCODE; k < nown; k++)
        if (k != F_SERVER && k != F_TRIES) o[k] = dql_null();
    if (m) {
        char nb[16];
        const char *rn = dql_dns_rcode_name(m->rcode, nb);
        o[F_RCODE] = rn == nb ? dql_chararray_copy(a, rn, strlen(rn)) : dql_chararray(rn, strlen(rn));
        o[F_RTT] = dql_double(rtt);
        char fl[32];
        size_t fn = 0;
        uint16_t f = m->h.flags;
        static const struct { uint16_t bit; const char *t; } fb[] = {
            { DQL_DNS_F_AA, "aa" }, { DQL_DNS_F_TC, "tc" }, { DQL_DNS_F_RD, "rd" }, { DQL_DNS_F_RA, "ra" },
            { DQL_DNS_F_AD, "ad" }, { DQL_DNS_F_CD, "cd" },
        };
        for (size_t i = 0; i < sizeof fb / sizeof fb[0]; i++)
            if (f & fb[i].bit) {
                if (fn) fl[fn++] = ' ';
                memcpy(fl + fn, fb[i].t, 2);
                fn += 2;
            }
        o[F_FLAGS] = dql_chararray_copy(a, fl, fn);
        bool bad = false;
        int an = m->h.ancount, ns = m->h.nscount, ar = m->h.arcount - (m->edns ? 1 : 0);
        o[F_ANS] = section_bag(s, m, DQL_DNS_SEC_ANSWER, an, a, &bad);
        o[F_AUTH] = section_bag(s, m, DQL_DNS_SEC_AUTHORITY, ns, a, &bad);
        o[F_ADD] = section_bag(s, m, DQL_DNS_SEC_ADDITIONAL, ar, a, &bad);
        if (!status) {
            switch (m->rcode) {
            case 0: {
                bool has = false;
                if (o[F_ANS].type == DQL_T_BAG)
                    for (uint64_t i = 0; i < o[F_ANS].u.b->n && !has; i++) {
                        dql_value tv = o[F_ANS].u.b->t[i]->v[2];
                        const char *tn = dql_zone_type_name(qtype);
                        has = qtype == 255 || (tn && tv.len == strlen(tn) && !memcmp(tv.u.s, tn, tv.len));
                    }
                /* no answer, not authoritative, NS records in the
                 * authority section: a delegation */
                bool referral = false;
                if (!has && o[F_ANS].u.b->n == 0 && !(m->h.flags & DQL_DNS_F_AA) && o[F_AUTH].type == DQL_T_BAG)
                    for (uint64_t i = 0; i < o[F_AUTH].u.b->n && !referral; i++) {
                        dql_value tv = o[F_AUTH].u.b->t[i]->v[2];
                        referral = tv.len == 2 && !memcmp(tv.u.s, "NS", 2);
                    }
                status = has ? "ok" : referral ? "referral" : "nodata";
                break;
            }
            case 2: status = "servfail"; break;
            case 3: status = "nxdomain"; break;
            case 5: status = "refused"; break;
            default: status = "error"; break;
            }
        }
        if (bad) { s->c_bad++; status = "error"; }
        if (c->wildcards == WC_DETECT && nr->wc && nr->wc->done && !strcmp(status, "ok")) {
            uint64_t h[8];
            int n = answer_hashes(s, m, qtype, h);
            bool same = n > 0 && n == nr->wc->nh[ti] && !memcmp(h, nr->wc->h[ti], sizeof(uint64_t) * (size_t)n);
            o[F_WILD] = dql_bool(same);
        } else if (c->wildcards == WC_DETECT && nr->wc && nr->wc->done) {
            o[F_WILD] = dql_bool(false);
        }
    }
    o[F_STATUS] = dql_chararray(status, strlen(status));
    free(tcpbuf);
    if (--nr->refs == 0 && nr->next_type >= c->ntypes) nr_release(s, nr);
}

/* Timeout of the current try of slot qi: retry or give up. */
static void on_timeout(rstate *s, int qi, dql_batch *out, dql_arena *a)
{
    qslot *q = &s->q[qi];
    int srv = q->server;
    bool tcp_try = q->tcp && !s->c->srv[srv].tcp && s->c->tcp != TCP_ONLY;
    end_try(s, qi);
    if (q->tries <= s->c->retries) {
        int ns = pick_server(s, srv);
        if (ns < 0) ns = srv;      /* over the per-server cap briefly */
        s->c_retried++;
        if (!tcp_try) q->tcp = false;
        send_query(s, qi, ns);
        return;
    }
    s->c_timeout++;
    finish(s, qi, NULL, "timeout", out, a);
}

static void expire_timers(rstate *s, dql_batch *out, dql_arena *a)
{
    int64_t tick = s->now / WHEEL_TICK_US;
    while (s->wheel_now < tick) {
        int64_t t = s->wheel_now + 1;
        int b = (int)(t & (WHEEL_SIZE - 1));
        int i = s->wheel[b];
        while (i >= 0) {
            int nx = s->q[i].tnext;
            if (s->q[i].deadline <= s->now) {
                if (out->n >= out->cap) return;     /* no room for a row: later */
                on_timeout(s, i, out, a);
            }
            i = nx;
        }
        s->wheel_now = t;
    }
}

/* A reply for slot qi arrived (UDP or TCP): checks it, then finishes the
 * lookup or switches to TCP. pkt/len: the message. */
static void on_reply(rstate *s, int qi, const uint8_t *pkt, size_t len, bool truncated, dql_batch *out, dql_arena *a)
{
    qslot *q = &s->q[qi];
    s->c_recv++;
    dql_dns_err e = dql_dns_msg_parse(pkt, len, &s->msg);
    uint16_t fl = s->msg.h.flags;
    if (e == DQL_DNS_OK && (fl & DQL_DNS_F_TC || truncated) && !q->tcp && s->c->tcp == TCP_FALLBACK) {
        int srv = q->server;
        end_try(s, qi);
        q->tcp = true;
        q->tries--;                /* the same try, over TCP */
        s->c_sent--;
        send_query(s, qi, srv);
        return;
    }
    if (e != DQL_DNS_OK) {
        s->c_bad++;
        /* keep what the header says: still a reply */
        finish(s, qi, NULL, "error", out, a);
        return;
    }
    finish(s, qi, &s->msg, NULL, out, a);
}

/* Quick match of a reply to slot qi's question before any parsing:
 * QR set, one question equal to ours (case-insensitive), or no question
 * at all with an error rcode (FORMERR from some servers). */
static bool question_matches(const qslot *q, const uint8_t *p, size_t len)
{
    if (len < 12 || !(p[2] & 0x80)) return false;
    unsigned qd = (unsigned)p[4] << 8 | p[5];
    if (qd == 0) return (p[3] & 0xf) != 0;
    if (qd != 1) return false;
    size_t wl = q->nr->wlen;
    if (len < 12 + wl + 4) return false;
    if (!dql_dns_name_equal(p + 12, wl, q->nr->wire, wl)) return false;
    const uint8_t *t = p + 12 + wl;
    return ((unsigned)t[0] << 8 | t[1]) == q->qtype && t[2] == 0 && t[3] == 1;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family) return false;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
}

/* Reads UDP replies on socket k until EAGAIN or until out is full. */
static void drain_udp(rstate *s, int k, dql_batch *out, dql_arena *a)
{
    usock *u = &s->us[k];
    for (;;) {
        int room = out->cap - out->n;
        if (room <= 0) return;
        int want = room < RECV_BATCH ? room : RECV_BATCH;
        for (int i = 0; i < want; i++) {
            s->riov[i].iov_base = s->rbuf + (size_t)i * s->rbufsz;
            s->riov[i].iov_len = s->rbufsz;
            memset(&s->rmsgs[i].msg_hdr, 0, sizeof s->rmsgs[i].msg_hdr);
            s->rmsgs[i].msg_hdr.msg_iov = &s->riov[i];
            s->rmsgs[i].msg_hdr.msg_iovlen = 1;
            s->rmsgs[i].msg_hdr.msg_name = &s->raddr[i];
            s->rmsgs[i].msg_hdr.msg_namelen = sizeof s->raddr[i];
        }
        int r = recvmmsg(u->fd, s->rmsgs, (unsigned)want, MSG_DONTWAIT, NULL);
        if (r <= 0) return;
        s->now = now_us();
        for (int i = 0; i < r; i++) {
            const uint8_t *p = s->riov[i].iov_base;
            size_t len = s->rmsgs[i].msg_len;
            bool trunc = (s->rmsgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
            if (len < 12) { s->c_stray++; continue; }
            uint16_t id = (uint16_t)(p[0] << 8 | p[1]);
            uint32_t qi1 = u->idmap[id];
            if (!qi1) { s->c_stray++; continue; }
            int qi = (int)qi1 - 1;
            qslot *q = &s->q[qi];
            if (q->state != Q_UDP || q->sock != k ||
                !same_addr(&s->raddr[i], &s->c->srv[q->server].sa) || !question_matches(q, p, len)) {
                s->c_stray++;
                continue;
            }
            on_reply(s, qi, p, len, trunc, out, a);
        }
        if (r < want) return;
    }
}

/* TCP progress on slot qi. */
static void on_tcp(rstate *s, int qi, uint32_t events, dql_batch *out, dql_arena *a)
{
    qslot *q = &s->q[qi];
    if (q->fd < 0) return;
    if (q->state == Q_TCP_CONN) {
        if (events & (EPOLLERR | EPOLLHUP)) goto fail;
        ssize_t w = write(q->fd, q->tbuf, q->tlen);
        if (w != (ssize_t)q->tlen) goto fail;
        q->state = Q_TCP_READ;
        q->tgot = 0;
        q->tneed = 2;
        struct epoll_event ev = { .events = EPOLLIN, .data.u64 = ((uint64_t)1 << 32) | (uint32_t)qi };
        epoll_ctl(s->epfd, EPOLL_CTL_MOD, q->fd, &ev);
        return;
    }
    if (q->state != Q_TCP_READ) return;
    if (out->n >= out->cap) return;            /* level-triggered: comes back */
    for (;;) {
        if (q->tneed == 2 && q->tgot == 2) {
            size_t n = (size_t)q->tbuf[0] << 8 | q->tbuf[1];
            if (n < 12) goto fail;
            q->tneed = 2 + n;
            q->tbuf = dql_xrealloc(q->tbuf, q->tneed);
        }
        if (q->tgot == q->tneed && q->tneed > 2) break;
        ssize_t r = read(q->fd, q->tbuf + q->tgot, q->tneed - q->tgot);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (r <= 0) goto fail;
        q->tgot += (size_t)r;
    }
    {
        const uint8_t *p = q->tbuf + 2;
        size_t len = q->tneed - 2;
        s->now = now_us();
        if ((uint16_t)(p[0] << 8 | p[1]) != q->id || !question_matches(q, p, len)) {
            s->c_stray++;
            goto fail;
        }
        on_reply(s, qi, p, len, false, out, a);
        return;
    }
fail:
    /* the connection failed: treat as a timeout now (retry or give up) */
    if (out->n >= out->cap) return;
    on_timeout(s, qi, out, a);
}

/* ------------------------------------------------------------ submission */

static uint64_t wc_hash(const uint8_t *w, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) { uint8_t c = w[i]; if (c >= 'A' && c <= 'Z') c |= 32; h = (h ^ c) * 1099511628211ull; }
    return h;
}

static void wc_release_waiting(rstate *s, wcparent *w)
{
    for (namerec *n = w->wait, *nx; n; n = nx) {
        nx = n->next;
        q_push(&s->ready, &s->ready_tail, n);
        s->held -= s->c->ntypes;
    }
    w->wait = w->wait_tail = NULL;
    w->nwait = 0;
}

/* Wildcard detection for a new name: finds or starts its parent's probe.
 * Returns true when the name may be submitted now, false when it waits. */
static bool wc_attach(rstate *s, namerec *nr)
{
    if (nr->wlen < 2 || nr->wire[0] == 0) return true;
    const uint8_t *pw = nr->wire + 1 + nr->wire[0];
    size_t pl = nr->wlen - 1u - nr->wire[0];
    if (pl <= 1) return true;      /* a TLD: no parent to probe */
    uint64_t h = wc_hash(pw, pl) & (WC_MAX_PARENTS - 1);
    wcparent *w;
    for (w = s->wc_tab[h]; w; w = w->hnext)
        if (dql_dns_name_equal(w->wire, w->wlen, pw, pl)) break;
    if (!w) {
        if (s->wc_n >= WC_MAX_PARENTS) {
            if (!s->wc_full_warned) {
                s->wc_full_warned = true;
                dql_exec_warn(s->ex, "RESOLVE: wildcard detection", "more than %d parent zones: later ones are not probed (wildcard is null)", WC_MAX_PARENTS);
            }
            return true;
        }
        w = dql_xcalloc(1, sizeof *w);
        memcpy(w->wire, pw, pl);
        w->wlen = (uint8_t)pl;
        w->hnext = s->wc_tab[h];
        s->wc_tab[h] = w;
        s->wc_n++;
        /* the probe: a random label under the parent, every type */
        namerec *p = nr_new(s);
        p->probe = true;
        p->wc = w;
        char lab[32];
        int ln = snprintf(lab, sizeof lab, "dql-wc-%012llx", (unsigned long long)(rnd(s) & 0xffffffffffffull));
        if (pl + 1 + (size_t)ln > DQL_DNS_NAME_MAX) {
            w->done = true;
            nr_release(s, p);
        } else {
            p->wire[0] = (uint8_t)ln;
            memcpy(p->wire + 1, lab, (size_t)ln);
            memcpy(p->wire + 1 + ln, pw, pl);
            p->wlen = (uint8_t)(1 + ln + pl);
            w->pending = s->c->ntypes;
            s->c_probes += (uint64_t)s->c->ntypes;
            q_push(&s->probes, &s->probes_tail, p);
        }
    }
    nr->wc = w;
    if (w->done) return true;
    q_push(&w->wait, &w->wait_tail, nr);
    w->nwait++;
    s->held += s->c->ntypes;
    return false;
}

/* Takes the next input row into a name record; false when the row has no
 * usable name (counted). */
static dql_status take_row(rstate *s, const dql_value *row)
{
    rconf *c = s->c;
    dql_arena_reset(&s->evarena);
    dql_evctx cx = { &s->evarena, s->ex, DQL_OK };
    dql_value v = dql_expr_eval(s->xp.by, row, &cx);
    if (cx.st != DQL_OK) return cx.st;
    if (v.type == DQL_T_NULL) {
        s->c_badname++;
        return dql_exec_warn(s->ex, "RESOLVE: null name", "a row has a null name: no lookup");
    }
    if (v.type != DQL_T_DOMAIN && v.type != DQL_T_CHARARRAY && v.type != DQL_T_BYTEARRAY) {
        s->c_badname++;
        return dql_exec_warn(s->ex, "RESOLVE: name not a string", "a name of type %s: no lookup", dql_type_name((dql_type)v.type));
    }
    namerec *nr = nr_new(s);
    const char *why = NULL;
    size_t wl = dql_dns_name_from_text(v.u.s, v.len, nr->wire, &why);
    if (!wl || wl == 1) {
        nr_release(s, nr);
        s->c_badname++;
        return dql_exec_warn(s->ex, "RESOLVE: bad name", "'%.*s': %s: no lookup", (int)(v.len > 300 ? 300 : v.len),
                             v.u.s, why ? why : "the root");
    }
    nr->wlen = (uint8_t)wl;
    s->tb.len = 0;
    dql_zone_name_text(&s->tb, nr->wire, wl, true, true);
    if (s->tb.len >= sizeof nr->text) s->tb.len = sizeof nr->text - 1;
    memcpy(nr->text, s->tb.p, s->tb.len);
    nr->tlen = (uint16_t)s->tb.len;
    if (c->pass_n) {
        dql_buf pb = { (char *)nr->pass, 0, nr->passcap };
        for (int i = 0; i < c->pass_n; i++) dql_value_serialize(&pb, row[c->pass_cols[i]]);
        nr->pass = (uint8_t *)pb.p;
        nr->passlen = pb.len;
        nr->passcap = pb.cap;
    }
    s->c_lookups += (uint64_t)c->ntypes;
    if (c->wildcards == WC_DETECT && !wc_attach(s, nr)) return DQL_OK;
    q_push(&s->ready, &s->ready_tail, nr);
    return DQL_OK;
}

/* Whether the rate cap allows one more query now (and takes a token). */
static bool rate_ok(rstate *s)
{
    if (s->c->rate <= 0) return true;
    double burst = s->c->rate / 100 > 1 ? s->c->rate / 100 : 1;
    if (s->tokens < 1) {
        s->tokens += (double)(s->now - s->tok_us) * s->c->rate / 1e6;
        s->tok_us = s->now;
        if (s->tokens > burst) s->tokens = burst;
        if (s->tokens < 1) return false;
    }
    s->tokens -= 1;
    return true;
}

/* Submits lookups while the window, the servers and the rate allow; takes
 * input rows as needed. Returns the status of row evaluation. */
static dql_status submit(rstate *s, const dql_batch *in, int *pos, bool *rate_blocked)
{
    rconf *c = s->c;
    *rate_blocked = false;
    for (;;) {
        /* probes may use the room held by the names waiting for them */
        if (s->free_q < 0 || (!s->probes && s->inflight + s->held >= s->nq)) break;
        namerec *nr = s->probes ? s->probes : s->ready;
        if (!nr) {
            if (!in || *pos >= in->n) break;
            dql_status st = take_row(s, dql_batch_row((dql_batch *)in, *pos));
            (*pos)++;
            if (st != DQL_OK) return st;
            continue;
        }
        int srv = pick_server(s, -1);
        if (srv < 0) break;
        if (!rate_ok(s)) { *rate_blocked = true; break; }
        int qi = s->free_q;
        qslot *q = &s->q[qi];
        s->free_q = q->next_free;
        s->inflight++;
        q->nr = nr;
        q->ti = nr->next_type++;
        q->qtype = c->types[q->ti];
        q->tries = 0;
        q->tcp = false;
        q->fd = -1;
        nr->refs++;
        if (nr->next_type >= c->ntypes) {
            if (nr == s->probes) { s->probes = nr->next; if (!s->probes) s->probes_tail = NULL; }
            else { s->ready = nr->next; if (!s->ready) s->ready_tail = NULL; }
            nr->next = NULL;
        }
        send_query(s, qi, srv);
    }
    flush_all(s);
    return DQL_OK;
}

static dql_status resolve_step(void *p, const dql_batch *in, int *pos, dql_batch *out, dql_arena *a, bool *finished)
{
    rstate *s = p;
    struct epoll_event evs[64];
    for (;;) {
        if (dql_exec_interrupted(s->ex)) return DQL_ERR_INTERRUPT;
        s->now = now_us();
        expire_timers(s, out, a);
        bool rate_blocked;
        dql_status st = submit(s, in, pos, &rate_blocked);
        if (st != DQL_OK) return st;
        if (out->n >= out->cap) return DQL_OK;
        bool input_left = in && *pos < in->n;
        bool pending = s->ready || s->probes;
        if (s->inflight == 0 && !pending && s->held == 0) {
            if (!in) { *finished = true; return DQL_OK; }
            if (!input_left) return DQL_OK;
        }
        /* The batch is consumed and the window has room: read what has
         * arrived without waiting, then ask for more input. Otherwise the
         * window (or the rate, or the input's end) stops us: wait for
         * replies until the next deadline, at most 64 ms (Ctrl-C). */
        bool want_input = in && !input_left && !pending && s->inflight + s->held < s->nq;
        int timeout_ms = 0;
        if (!want_input) {
            int64_t dl = wheel_next_deadline(s);
            int64_t wait = dl < 0 ? 64000 : dl - s->now;
            if (rate_blocked) {
                int64_t tw = (int64_t)(1e6 / s->c->rate) + 1;
                if (tw < wait) wait = tw;
            }
            if (wait < 0) wait = 0;
            if (wait > 64000) wait = 64000;
            timeout_ms = (int)((wait + 999) / 1000);
        }
        int n = epoll_wait(s->epfd, evs, 64, timeout_ms);
        if (n < 0 && errno != EINTR) return dql_exec_error(s->ex, "RESOLVE: epoll_wait: %s", strerror(errno));
        s->now = now_us();
        for (int i = 0; i < n; i++) {
            uint64_t d = evs[i].data.u64;
            if (d >> 32) on_tcp(s, (int)(uint32_t)d, evs[i].events, out, a);
            else drain_udp(s, (int)d, out, a);
        }
        if (s->ex->progress && (++s->ex->tick & 63) == 0) s->ex->progress(s->ex->progress_ud, s->ex);
        if (out->n >= out->cap || want_input) return DQL_OK;
        /* at the end of the input, hand on what we have when a wait ended
         * without news or nothing is left in flight */
        if (!in && out->n > 0 && (n <= 0 || s->inflight == 0)) return DQL_OK;
    }
}

const dql_xop_def dql_xop_resolve = {
    .name = "RESOLVE",
    .syntax = "RESOLVE rel BY name [TYPES (A, AAAA, MX, ...)] [WITH (servers = 'udp://ip:port, ...', concurrency = 500, "
              "timeout = '2s', retries = 3, rate = 0, tcp = 'fallback|only|never', recursion = true, wildcards = 'detect')]",
    .summary = "bulk DNS lookups: one row per (name, type) with rcode, status, rtt and the answers as bags",
    .plan = resolve_plan,
    .plan_free = conf_free,
    .open = resolve_open,
    .step = resolve_step,
    .close = resolve_close,
    .explain = resolve_explain,
    .owns_output = true,   /* names and passed-through fields are copied into name records */
};
