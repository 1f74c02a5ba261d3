/* op_pcap.c — LOAD ... USING pcap(): DNS messages out of packet captures.
 *
 *     p = LOAD 'capture.pcap' USING pcap();                 -- one row per message
 *     p = LOAD 'dir/' USING pcap(ports = (53, 5353), pairs = true, timeout = '5s');
 *
 * The reader and the packet decoder are in pcap_read.c and pcap_decode.c
 * (pcap.h); the DNS message decoder is dns_msg.h's, and records are rendered
 * by the zone rdata codec (zone.h) into bags of (owner, ttl, type, rdata,
 * target, address), the shape of zone and RESOLVE rows. Only the columns some
 * statement reads are decoded (dql_load_ctx.needed): when no column needs the
 * records, only the header and the question are read.
 *
 * Several inputs (a directory, a glob) are read one after the other in the
 * order of their first packet's timestamp. A message that cannot be decoded
 * whole is a row with `error` set; a file that ends inside a record is a
 * counted warning ("pcap: truncated file").
 *
 * pairs = true matches each query with its response (same client and server
 * addresses and ports, transport, ID and question) within `timeout` of
 * capture time (default 5 s) and emits one row per exchange with rtt_ms and
 * status 'answered', 'unanswered' or 'unsolicited'. Queries wait in a table
 * bounded by max_pending (default 1,000,000; the oldest is given up first).
 * The user-visible behaviour is documented in doc/pcap.md.
 *
 * A sharded run reads a contiguous block of the files. What one process
 * carries from one file to the next (TCP streams, datagrams in reassembly,
 * queries waiting for their response) is rebuilt by a warm-up: a task first
 * reads the file before its block, emitting nothing, and notes the digest
 * of that state (dql_shard_bounds.start); a task that does not end the
 * input stops at the end of its block without flushing, and notes the
 * digest there (end). The coordinator reruns a task whose start is not the
 * end of the task before it, with bounds.exact: it warms up on every file
 * before its block. */
#include "exec.h"
#include "pcap.h"
#include "dns_msg.h"
#include "zone.h"
#include "arena_inline.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------ schema */

enum {
    PC_TS, PC_SRC, PC_SPORT, PC_DST, PC_DPORT, PC_TRANSPORT, PC_VLAN, PC_IP_TTL, PC_ID, PC_QR, PC_OPCODE,
    PC_RCODE, PC_AA, PC_TC, PC_RD, PC_RA, PC_AD, PC_CD, PC_QNAME, PC_QTYPE, PC_QCLASS, PC_QDCOUNT,
    PC_ANCOUNT, PC_NSCOUNT, PC_ARCOUNT, PC_EDNS_UDP, PC_DO, PC_EDNS_VERSION, PC_ECS, PC_COOKIE, PC_ANSWERS,
    PC_AUTHORITY, PC_ADDITIONAL, PC_SIZE, PC_ERROR,
    PC__BASE,
    PC_RTT = PC__BASE, PC_RESPONSE_SIZE, PC_STATUS,
    PC__COUNT
};

static const struct { const char *name; dql_type type; } pcap_cols[PC__COUNT] = {
    { "ts", DQL_T_DATETIME },      { "src", DQL_T_IP },           { "sport", DQL_T_INT },
    { "dst", DQL_T_IP },           { "dport", DQL_T_INT },        { "transport", DQL_T_CHARARRAY },
    { "vlan", DQL_T_INT },         { "ip_ttl", DQL_T_INT },       { "id", DQL_T_INT },
    { "qr", DQL_T_BOOL },          { "opcode", DQL_T_CHARARRAY }, { "rcode", DQL_T_CHARARRAY },
    { "aa", DQL_T_BOOL },          { "tc", DQL_T_BOOL },          { "rd", DQL_T_BOOL },
    { "ra", DQL_T_BOOL },          { "ad", DQL_T_BOOL },          { "cd", DQL_T_BOOL },
    { "qname", DQL_T_DOMAIN },     { "qtype", DQL_T_CHARARRAY },  { "qclass", DQL_T_CHARARRAY },
    { "qdcount", DQL_T_INT },      { "ancount", DQL_T_INT },      { "nscount", DQL_T_INT },
    { "arcount", DQL_T_INT },      { "edns_udp_size", DQL_T_INT }, { "do", DQL_T_BOOL },
    { "edns_version", DQL_T_INT }, { "ecs", DQL_T_CIDR },         { "cookie", DQL_T_BOOL },
    { "answers", DQL_T_BAG },      { "authority", DQL_T_BAG },    { "additional", DQL_T_BAG },
    { "size", DQL_T_INT },         { "error", DQL_T_CHARARRAY },
    { "rtt_ms", DQL_T_DOUBLE },    { "response_size", DQL_T_INT }, { "status", DQL_T_CHARARRAY },
};


/* ----------------------------------------------------------------- options */

typedef struct popts {
    uint8_t ports[8192];
    bool pairs;
    int64_t timeout_us;
    int64_t max_pending;
} popts;

static bool set_port(popts *o, const dql_value *v, char *err, size_t errlen)
{
    if ((v->type != DQL_T_LONG && v->type != DQL_T_INT) || v->u.i < 1 || v->u.i > 65535) {
        snprintf(err, errlen, "pcap: ports must be port numbers (1-65535), e.g. ports = (53, 5353)");
        return false;
    }
    o->ports[v->u.i >> 3] |= (uint8_t)(1u << (v->u.i & 7));
    return true;
}

static bool parse_popts(const dql_args *args, popts *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->timeout_us = 5000000;
    o->max_pending = 1000000;
    bool ports = false;
    for (int i = 0; args && i < args->n; i++) {
        const dql_arg *a = &args->a[i];
        const dql_value *v = &a->v;
        if (!a->name) {
            snprintf(err, errlen, "pcap: arguments are named: pcap(ports = (53, 5353), pairs = true, timeout = '5s')");
            return false;
        }
        if (!strcmp(a->name, "ports")) {
            ports = true;
            if (v->type == DQL_T_TUPLE) {
                for (uint32_t k = 0; k < v->u.t->n; k++)
                    if (!set_port(o, &v->u.t->v[k], err, errlen)) return false;
            } else if (!set_port(o, v, err, errlen)) return false;
        } else if (!strcmp(a->name, "pairs")) {
            if (v->type != DQL_T_BOOL) {
                snprintf(err, errlen, "pcap: pairs must be true or false");
                return false;
            }
            o->pairs = v->u.i != 0;
        } else if (!strcmp(a->name, "timeout")) {
            char buf[64];
            if (v->type == DQL_T_CHARARRAY && v->len < sizeof buf) {
                memcpy(buf, v->u.s, v->len);
                buf[v->len] = 0;
                if (!dql_parse_duration(buf, &o->timeout_us) || o->timeout_us <= 0) {
                    snprintf(err, errlen, "pcap: bad timeout '%s' (e.g. '5s', '500ms')", buf);
                    return false;
                }
            } else if ((v->type == DQL_T_LONG || v->type == DQL_T_INT) && v->u.i > 0) {
                o->timeout_us = v->u.i * 1000000;
            } else if (v->type == DQL_T_DOUBLE && v->u.d > 0) {
                o->timeout_us = (int64_t)(v->u.d * 1e6);
            } else {
                snprintf(err, errlen, "pcap: timeout must be a duration such as '5s'");
                return false;
            }
        } else if (!strcmp(a->name, "max_pending")) {
            if ((v->type != DQL_T_LONG && v->type != DQL_T_INT) || v->u.i < 1) {
                snprintf(err, errlen, "pcap: max_pending must be a positive number");
                return false;
            }
            o->max_pending = v->u.i;
        } else {
            snprintf(err, errlen, "pcap: unknown argument '%s' (ports, pairs, timeout, max_pending)", a->name);
            return false;
        }
    }
    if (!ports) o->ports[53 >> 3] |= (uint8_t)(1u << (53 & 7));
    return true;
}

static int col_of(const char *name, bool pairs)
{
    for (int c = 0; c < (pairs ? PC__COUNT : PC__BASE); c++)
        if (!strcmp(pcap_cols[c].name, name)) return c;
    return -1;
}

static dql_status pload_plan(const dql_load_ctx *lc, dql_schema **out, char *err, size_t errlen)
{
    *out = NULL;
    popts *o = dql_xmalloc(sizeof *o);
    bool ok = parse_popts(lc->args, o, err, errlen);
    bool pairs = o->pairs;
    free(o);
    if (!ok) return DQL_ERR_CHECK;
    char **paths;
    int n = dql_paths_expand(lc->path, &paths, err, errlen);
    if (n <= 0) return DQL_ERR_CHECK;
    dql_paths_free(paths);
    dql_schema *rr = dql_zone_rr_schema();
    dql_schema *S = dql_schema_new(0);
    const dql_schema *D = lc->declared;
    if (D) {
        for (int j = 0; j < D->n; j++) {
            int c = D->f[j].name ? col_of(D->f[j].name, pairs) : -1;
            if (c < 0) {
                snprintf(err, errlen, "pcap: AS names a subset of the columns (ts, src, sport, dst, dport, qname, "
                         "...; see DESCRIBE): '%s' is not one of them", D->f[j].name ? D->f[j].name : "$");
                dql_schema_free(S);
                dql_schema_free(rr);
                return DQL_ERR_CHECK;
            }
            if (D->f[j].type != pcap_cols[c].type && D->f[j].type != DQL_T_ANY && D->f[j].type != DQL_T_BYTEARRAY) {
                snprintf(err, errlen, "pcap: column '%s' is %s, not %s", pcap_cols[c].name,
                         dql_type_name(pcap_cols[c].type), dql_type_name(D->f[j].type));
                dql_schema_free(S);
                dql_schema_free(rr);
                return DQL_ERR_CHECK;
            }
            dql_schema_add(S, pcap_cols[c].name, pcap_cols[c].type, pcap_cols[c].type == DQL_T_BAG ? rr : NULL);
        }
    } else {
        for (int c = 0; c < (pairs ? PC__COUNT : PC__BASE); c++)
            dql_schema_add(S, pcap_cols[c].name, pcap_cols[c].type, pcap_cols[c].type == DQL_T_BAG ? rr : NULL);
    }
    dql_schema_free(rr);
    *out = S;
    return DQL_OK;
}

/* ------------------------------------------------------------------ pairs */

/* A message kept for pairing: its metadata and an owned copy of its bytes. */
typedef struct pmsg {
    dql_pcap_msg m;
    uint8_t *bytes;
} pmsg;

typedef struct pend {
    struct pend *hnext, *prev, *next;   /* hash chain; age list (oldest first) */
    uint64_t hash;
    pmsg q, r;                          /* query; response (r.m.dns NULL when none) */
    bool has_q, has_r;
} pend;

/* ----------------------------------------------------------------- loader */

typedef struct pload {
    dql_exec *ex;
    popts o;
    char **paths;
    int npaths, ipath;
    uint64_t *sizes, done_before;
    dql_pcap_src *src;
    dql_pcap_dec *dec;
    bool finished;                      /* decoder flushed after the last file */
    int own;                            /* paths[own..]: this task's block; those before warm it up */
    bool warming;                       /* reading the files before the block: no rows */
    bool ends_input;                    /* the last files: flush what is left at the end */
    dql_shard_bounds *bounds;           /* a sharded run's notes, or NULL */
    int ncols;
    int col[PC__COUNT];                 /* output column -> pcap column */
    bool want[PC__COUNT];
    int nwant, wj[PC__COUNT], wc[PC__COUNT];  /* wanted columns: output index, pcap column */
    bool direct;                        /* output column j is pcap column j for every j */
    dql_value V[PC__COUNT];             /* a row's columns when not direct */
    dql_value tcache[512];              /* type mnemonics (static text) by type */
    dql_value rcache[32];               /* rcode names (static text) by rcode */
    bool need_full, need_qname, need_bags;
    dql_buf tb;
    dql_zone_rrtup tup;         /* section records as tuples (zone.h) */
    dql_dns_msg dm, dm2;
    dql_dns_rr rr;
    /* pairs */
    pend **ph;
    size_t pbuckets;
    int64_t npend;
    pend *old, *young;                  /* age list */
    pend *outq, *outq_tail;             /* finished exchanges to emit */
    int64_t now_us;
} pload;

static void pend_free(pend *p)
{
    if (!p) return;
    free(p->q.bytes);
    free(p->r.bytes);
    free(p);
}

static void pload_free(pload *L)
{
    if (!L) return;
    dql_pcap_close(L->src);
    dql_pcap_dec_free(L->dec);
    dql_paths_free(L->paths);
    free(L->sizes);
    dql_buf_free(&L->tb);
    dql_zone_rrtup_free(&L->tup);
    for (pend *p = L->old, *n; p; p = n) { n = p->next; pend_free(p); }
    for (pend *p = L->outq, *n; p; p = n) { n = p->next; pend_free(p); }
    free(L->ph);
    free(L);
}

/* First packet's timestamp of a file (INT64_MAX when none), for ordering. */
static int64_t first_ts(const char *path)
{
    char err[256];
    dql_pcap_src *s = dql_pcap_open(path, err, sizeof err);
    if (!s) return INT64_MAX;
    dql_pcap_pkt p;
    int64_t t = dql_pcap_next(s, &p) == 1 ? p.ts_ns : INT64_MAX;
    dql_pcap_close(s);
    return t;
}

typedef struct pathts { char *path; int64_t ts; uint64_t size; } pathts;

static int cmp_pathts(const void *a, const void *b)
{
    const pathts *x = a, *y = b;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return strcmp(x->path, y->path);
}

static dql_status pload_open(const dql_load_ctx *lc, const dql_schema *schema, dql_exec *ex, void **state)
{
    char err[512];
    *state = NULL;
    pload *L = dql_xcalloc(1, sizeof *L);
    L->ex = ex;
    if (!parse_popts(lc->args, &L->o, err, sizeof err)) {
        pload_free(L);
        return dql_exec_error_st(ex, DQL_ERR_USAGE, "%s", err);
    }
    L->npaths = dql_paths_expand(lc->path, &L->paths, err, sizeof err);
    if (L->npaths <= 0) {
        pload_free(L);
        return dql_exec_error_st(ex, DQL_ERR_IO, "%s", err);
    }
    L->sizes = dql_xcalloc((size_t)L->npaths, sizeof *L->sizes);
    if (L->npaths > 1) {
        pathts *pt = dql_xcalloc((size_t)L->npaths, sizeof *pt);
        for (int i = 0; i < L->npaths; i++) {
            pt[i].path = L->paths[i];
            pt[i].ts = first_ts(L->paths[i]);
        }
        qsort(pt, (size_t)L->npaths, sizeof *pt, cmp_pathts);
        for (int i = 0; i < L->npaths; i++) L->paths[i] = pt[i].path;
        free(pt);
    }
    for (int i = 0; i < L->npaths; i++) {
        struct stat st;
        if (strcmp(L->paths[i], "-") != 0 && stat(L->paths[i], &st) == 0) L->sizes[i] = (uint64_t)st.st_size;
    }
    /* a sharded run: whole captures, a contiguous block of the time-ordered
     * list, after the file before it (or all of them, exactly) to warm up */
    L->ends_input = true;
    if (lc->nshards > 1) {
        int lo, hi;
        dql_paths_block(L->npaths, lc->shard, lc->nshards, &lo, &hi);
        L->bounds = lc->bounds;
        int from = !L->bounds || L->bounds->exact ? 0 : lo > 0 ? lo - 1 : 0;
        L->npaths = dql_paths_keep(L->paths, L->sizes, L->npaths, from, hi);
        L->own = lo - from;
        L->warming = L->own > 0;
        L->ends_input = lc->shard == lc->nshards - 1;
    }
    L->ncols = schema->n;
    for (int j = 0; j < schema->n && j < PC__COUNT; j++) {
        int c = schema->f[j].name ? col_of(schema->f[j].name, L->o.pairs) : -1;
        L->col[j] = c;
        if (c >= 0 && (!lc->needed || lc->needed[j])) {
            L->want[c] = true;
            L->wj[L->nwant] = j;
            L->wc[L->nwant++] = c;
        }
    }
    L->direct = L->ncols == (L->o.pairs ? PC__COUNT : PC__BASE);
    for (int j = 0; j < L->ncols && L->direct; j++) L->direct = L->col[j] == j;
    static const int full_cols[] = { PC_RCODE, PC_EDNS_UDP, PC_DO, PC_EDNS_VERSION, PC_ECS, PC_COOKIE,
                                     PC_ANSWERS, PC_AUTHORITY, PC_ADDITIONAL, PC_ERROR };
    for (size_t k = 0; k < sizeof full_cols / sizeof full_cols[0]; k++)
        if (L->want[full_cols[k]]) L->need_full = true;
    L->need_bags = L->want[PC_ANSWERS] || L->want[PC_AUTHORITY] || L->want[PC_ADDITIONAL];
    L->need_qname = L->want[PC_QNAME] || L->want[PC_QTYPE] || L->want[PC_QCLASS];
    if (L->o.pairs) L->need_full = L->need_qname = true;
    dql_pcap_dec_opts dopt = { 0 };
    dopt.ports = L->o.ports;
    L->dec = dql_pcap_dec_new(&dopt);
    if (L->o.pairs) {
        L->pbuckets = 1u << 16;
        L->ph = dql_xcalloc(L->pbuckets, sizeof *L->ph);
    }
    *state = L;
    return DQL_OK;
}

/* --------------------------------------------------------------- rendering */

/* Octets a name shows as they are (name_ok in zone_rdata.c: letters,
 * digits, '-', '_', '/', '*'): their lower case with the high bit flipped
 * (so it is set); 0 for the others, which dql_zone_name_text() escapes. */
static const uint8_t plain_lc[256] = {
    ['*'] = '*' ^ 0x80, ['-'] = '-' ^ 0x80, ['/'] = '/' ^ 0x80, ['0'] = '0' ^ 0x80, ['1'] = '1' ^ 0x80,
    ['2'] = '2' ^ 0x80, ['3'] = '3' ^ 0x80, ['4'] = '4' ^ 0x80, ['5'] = '5' ^ 0x80, ['6'] = '6' ^ 0x80,
    ['7'] = '7' ^ 0x80, ['8'] = '8' ^ 0x80, ['9'] = '9' ^ 0x80, ['A'] = 'a' ^ 0x80, ['B'] = 'b' ^ 0x80,
    ['C'] = 'c' ^ 0x80, ['D'] = 'd' ^ 0x80, ['E'] = 'e' ^ 0x80, ['F'] = 'f' ^ 0x80, ['G'] = 'g' ^ 0x80,
    ['H'] = 'h' ^ 0x80, ['I'] = 'i' ^ 0x80, ['J'] = 'j' ^ 0x80, ['K'] = 'k' ^ 0x80, ['L'] = 'l' ^ 0x80,
    ['M'] = 'm' ^ 0x80, ['N'] = 'n' ^ 0x80, ['O'] = 'o' ^ 0x80, ['P'] = 'p' ^ 0x80, ['Q'] = 'q' ^ 0x80,
    ['R'] = 'r' ^ 0x80, ['S'] = 's' ^ 0x80, ['T'] = 't' ^ 0x80, ['U'] = 'u' ^ 0x80, ['V'] = 'v' ^ 0x80,
    ['W'] = 'w' ^ 0x80, ['X'] = 'x' ^ 0x80, ['Y'] = 'y' ^ 0x80, ['Z'] = 'z' ^ 0x80, ['_'] = '_' ^ 0x80,
    ['a'] = 'a' ^ 0x80, ['b'] = 'b' ^ 0x80, ['c'] = 'c' ^ 0x80, ['d'] = 'd' ^ 0x80, ['e'] = 'e' ^ 0x80,
    ['f'] = 'f' ^ 0x80, ['g'] = 'g' ^ 0x80, ['h'] = 'h' ^ 0x80, ['i'] = 'i' ^ 0x80, ['j'] = 'j' ^ 0x80,
    ['k'] = 'k' ^ 0x80, ['l'] = 'l' ^ 0x80, ['m'] = 'm' ^ 0x80, ['n'] = 'n' ^ 0x80, ['o'] = 'o' ^ 0x80,
    ['p'] = 'p' ^ 0x80, ['q'] = 'q' ^ 0x80, ['r'] = 'r' ^ 0x80, ['s'] = 's' ^ 0x80, ['t'] = 't' ^ 0x80,
    ['u'] = 'u' ^ 0x80, ['v'] = 'v' ^ 0x80, ['w'] = 'w' ^ 0x80, ['x'] = 'x' ^ 0x80, ['y'] = 'y' ^ 0x80,
    ['z'] = 'z' ^ 0x80,
};

/* The text of the wire name w[0..n) in lower case, with its final dot when
 * dot, in the arena: what dql_zone_name_text(.., true, !dot) writes. Names
 * of plain octets (almost all) are translated here in one pass straight
 * into the arena; the others are left to dql_zone_name_text(). */
static const char *name_text(pload *L, dql_arena *a, const uint8_t *w, size_t n, bool dot, size_t *len)
{
    if (n >= 2 && n <= DQL_DNS_NAME_MAX && w[n - 1] == 0) {
        size_t tl = n - 2 + dot;            /* labels and the dots between them (+ the last) */
        char *out = dql_arena_alloc_inline(a, tl), *o = out;
        unsigned ok = 0x80;                 /* cleared by an octet to escape */
        size_t i = 0;
        for (;;) {
            unsigned l = w[i];
            if (l == 0 || l > 63 || i + 1 + l >= n) { ok = 0; break; }
            for (unsigned k = 1; k <= l; k++) {
                uint8_t t = plain_lc[w[i + k]];
                ok &= t;
                *o++ = (char)(t ^ 0x80);
            }
            i += 1 + l;
            if (i == n - 1) break;
            *o++ = '.';
        }
        if (ok) {
            if (dot) *o++ = '.';
            *len = tl;
            return out;
        }
    }
    L->tb.len = 0;
    dql_zone_name_text(&L->tb, w, n, true, !dot);
    *len = L->tb.len;
    return dql_arena_memdup(a, L->tb.p ? L->tb.p : "", L->tb.len);
}

/* dql_zone_name_value(): a wire name as a domain value. */
static dql_value domain_val(pload *L, dql_arena *a, const uint8_t *w, size_t n)
{
    size_t len;
    const char *s = name_text(L, a, w, n, false, &len);
    return dql_str(DQL_T_DOMAIN, s, len);
}

static dql_value type_val(pload *L, dql_arena *a, uint16_t t)
{
    if (t < 512 && L->tcache[t].type) return L->tcache[t];
    dql_value v = dql_zone_type_value(&L->tb, a, t);
    if (t < 512 && v.u.s == dql_zone_type_name(t)) L->tcache[t] = v;   /* static text, not the arena's */
    return v;
}

/* dql_ip_make() of an address of the decoder (16 bytes, v4 in the first 4). */
static inline dql_value ip_val(dql_arena *a, const uint8_t *addr, uint8_t af)
{
    uint8_t *p = dql_arena_alloc_inline(a, 16);
    memcpy(p, addr, 16);
    dql_value v = { 0 };
    v.type = DQL_T_IP;
    v.len = af == 4 ? 4 : 16;
    v.u.ip = p;
    return v;
}

static dql_value class_val(pload *L, dql_arena *a, uint16_t cls)
{
    L->tb.len = 0;
    dql_zone_class_text(&L->tb, cls);
    return dql_chararray_copy(a, L->tb.p, L->tb.len);
}

static dql_value rcode_val(pload *L, dql_arena *a, int rcode)
{
    if (rcode >= 0 && rcode < 32 && L->rcache[rcode].type) return L->rcache[rcode];
    char nb[16];
    const char *s = dql_dns_rcode_name(rcode, nb);
    if (s == nb) return dql_chararray_copy(a, s, strlen(s));
    dql_value v = dql_chararray(s, strlen(s));
    if (rcode >= 0 && rcode < 32) L->rcache[rcode] = v;
    return v;
}

static dql_value bag_val(dql_bag *b)
{
    dql_value v = { 0 };
    v.type = DQL_T_BAG;
    v.u.b = b;
    return v;
}

/* One record as a tuple: dql_zone_rr_tuple() (zone.h), with the common
 * types done here without its general rdata walk: A and AAAA (rdata the
 * address text, address the address), NS, CNAME, PTR and DNAME (rdata the
 * target name with its dot; target the same text without it, sharing its
 * bytes). The values are the ones dql_zone_rr_tuple() makes, byte for byte. */
static dql_tuple *rr_tuple(pload *L, dql_arena *a, const dql_dns_rr *rr)
{
    uint16_t type = rr->type;
    const uint8_t *rd = rr->rdata;
    size_t n = rr->rdlen;
    bool addr = (type == 1 && n == 4) || (type == 28 && n == 16);
    if (!addr && !((type == 2 || type == 5 || type == 12 || type == 39) && dql_zone_name_len(rd, n) == n))
        return dql_zone_rr_tuple(&L->tup, a, rr->owner, rr->owner_len, rr->ttl, type, rd, n);
    dql_zone_rrtup *t = &L->tup;
    dql_tuple *tu = dql_tuple_new(a, 6);
    size_t olen = rr->owner_len;
    if (t->lastn && t->lastn == olen && !memcmp(t->last, rr->owner, olen)) {
        tu->v[0] = t->lastv;
    } else {
        tu->v[0] = t->lastv = domain_val(L, a, rr->owner, olen);
        if (olen <= sizeof t->last) {
            memcpy(t->last, rr->owner, olen);
            t->lastn = olen;
        }
    }
    tu->v[1] = dql_long(rr->ttl);
    tu->v[2] = type_val(L, a, type);
    t->tb.len = 0;
    if (addr) {
        dql_ip_format(&t->tb, rd, (int)n);
        tu->v[3] = dql_chararray_copy(a, t->tb.p, t->tb.len);
        tu->v[5] = dql_ip_make(a, rd, (int)n);
    } else {
        size_t len;
        const char *s = name_text(L, a, rd, n, true, &len);
        tu->v[3] = dql_chararray(s, len);
        tu->v[4] = dql_str(DQL_T_DOMAIN, s, n > 1 ? len - 1 : len);
    }
    return tu;
}

/* Builds the bags of the three sections in one walk over the records (OPT
 * skipped). Returns the decoder error, DQL_DNS_OK when every record read. */
static dql_dns_err build_bags(pload *L, const dql_dns_msg *m, dql_arena *a, dql_value qname, dql_value out[3])
{
    unsigned cnt[3] = { m->h.ancount, m->h.nscount, m->h.arcount };
    size_t room = m->len > m->rr_off ? (m->len - m->rr_off) / 11 + 1 : 1;   /* 11: smallest record */
    dql_bag *bags[3];
    for (int s = 0; s < 3; s++) {
        out[s] = dql_null();
        bags[s] = NULL;
        if (!cnt[s] || !L->want[PC_ANSWERS + s]) continue;
        bags[s] = dql_bag_new(a, cnt[s] < room ? cnt[s] : room);
        bags[s]->n = 0;
    }
    dql_dns_iter it;
    dql_dns_iter_init(&it, m);
    dql_dns_err e = DQL_DNS_OK;
    int r;
    dql_zone_rrtup_reset(&L->tup);
    if (qname.type == DQL_T_DOMAIN && m->qname_len <= sizeof L->tup.last) {
        /* the first owner is mostly the question's name: its text is known */
        memcpy(L->tup.last, m->qname, m->qname_len);
        L->tup.lastn = m->qname_len;
        L->tup.lastv = qname;
    }
    while ((r = dql_dns_iter_next(&it, &L->rr, &e)) == 1) {
        dql_dns_rr *rr = &L->rr;
        int s = rr->section - DQL_DNS_SEC_ANSWER;
        if (s < 0 || s > 2 || !bags[s] || rr->type == 41) continue;
        if (bags[s]->n >= cnt[s] || bags[s]->n >= room) continue;
        bags[s]->t[bags[s]->n++] = rr_tuple(L, a, rr);
    }
    for (int s = 0; s < 3; s++)
        if (bags[s] && bags[s]->n) out[s] = bag_val(bags[s]);
    return r < 0 ? e : DQL_DNS_OK;
}

static dql_value opcode_val(dql_arena *a, int op)
{
    static const char *const n[] = { "QUERY", "IQUERY", "STATUS", NULL, "NOTIFY", "UPDATE", "DSO" };
    static const uint8_t nl[] = { 5, 6, 6, 0, 6, 6, 3 };
    if (op >= 0 && op < 7 && n[op]) return dql_chararray(n[op], nl[op]);
    char buf[16];
    snprintf(buf, sizeof buf, "OPCODE%d", op);
    return dql_chararray_copy(a, buf, strlen(buf));
}

/* EDNS options: client subnet (code 8) and cookie (code 10). */
static void edns_opts(const dql_dns_msg *m, dql_arena *a, dql_value *ecs, bool *cookie)
{
    *ecs = dql_null();
    *cookie = false;
    const uint8_t *p = m->edns_opts;
    size_t n = m->edns_optlen, o = 0;
    while (p && o + 4 <= n) {
        uint16_t code = (uint16_t)(p[o] << 8 | p[o + 1]), len = (uint16_t)(p[o + 2] << 8 | p[o + 3]);
        o += 4;
        if (o + len > n) break;
        if (code == 10) *cookie = true;
        if (code == 8 && len >= 4) {
            uint16_t fam = (uint16_t)(p[o] << 8 | p[o + 1]);
            int pre = p[o + 2];
            int al = fam == 1 ? 4 : fam == 2 ? 16 : 0;
            if (al && pre <= al * 8) {
                uint8_t addr[16] = { 0 };
                size_t k = len - 4u;
                if (k > (size_t)al) k = (size_t)al;
                memcpy(addr, p + o + 4, k);
                *ecs = dql_cidr_make(a, addr, al, pre);
            }
        }
        o += len;
    }
}

/* Fills the message-level columns of row from one message. */
static void fill_row(pload *L, dql_arena *a, dql_value *row, const dql_pcap_msg *pm)
{
    const char *error = pm->error;
    dql_dns_msg *m = &L->dm;
    bool hdr = false, q = false, full = false;
    dql_dns_err e = DQL_DNS_OK;
    const uint8_t *qwire = m->qname;   /* the question's name in wire form */
    size_t qwlen = 0;
    if (pm->dns) {
        if (L->need_full) {
            e = dql_dns_msg_parse(pm->dns, pm->len, m);
            hdr = pm->len >= DQL_DNS_HDR_LEN;
            q = m->qname_len > 0;
            qwlen = m->qname_len;
            full = e == DQL_DNS_OK;
            if (!hdr && !error) error = "message shorter than a DNS header";
            else if (e != DQL_DNS_OK && !error) error = dql_dns_strerror(e);
        } else {
            hdr = dql_dns_header_read(pm->dns, pm->len, &m->h);
            m->qname_len = 0;
            if (hdr && L->need_qname && m->h.qdcount) {
                /* The question's name is read in place when it has no
                 * compression pointer (it has none in practice): the labels
                 * are within the message, shorter than 64 octets, 255 in
                 * all, so dql_dns_name_unpack() would copy them as they
                 * are. Anything else goes through it. */
                const uint8_t *d = pm->dns;
                size_t nx = DQL_DNS_HDR_LEN;
                while (nx < pm->len && d[nx] && d[nx] < 64) nx += 1u + d[nx];
                if (nx < pm->len && d[nx] == 0 && nx + 1 - DQL_DNS_HDR_LEN <= DQL_DNS_NAME_MAX) {
                    qwire = d + DQL_DNS_HDR_LEN;
                    qwlen = ++nx - DQL_DNS_HDR_LEN;
                } else {
                    nx = dql_dns_name_unpack(d, pm->len, DQL_DNS_HDR_LEN, m->qname, &m->qname_len, &e);
                    qwire = m->qname;
                    qwlen = m->qname_len;
                }
                if (nx && nx + 4 <= pm->len) {
                    q = true;
                    m->qtype = (uint16_t)(pm->dns[nx] << 8 | pm->dns[nx + 1]);
                    m->qclass = (uint16_t)(pm->dns[nx + 2] << 8 | pm->dns[nx + 3]);
                }
            }
            m->rcode = hdr ? DQL_DNS_RCODE(m->h.flags) : 0;
        }
    }
    dql_value qv = dql_null();
    if (q && L->want[PC_QNAME]) qv = domain_val(L, a, qwire, qwlen);
    dql_value bags[3] = { dql_null(), dql_null(), dql_null() };
    if (full && L->need_bags) {
        dql_dns_err be = build_bags(L, m, a, qv, bags);
        if (be != DQL_DNS_OK && !error) error = dql_dns_strerror(be);
    }
    dql_value ecs = dql_null();
    bool cookie = false;
    if (full && m->edns && (L->want[PC_ECS] || L->want[PC_COOKIE])) edns_opts(m, a, &ecs, &cookie);
    uint16_t f = hdr ? m->h.flags : 0;
    /* Every column is set once, straight-line, in a fixed order (what is
     * not wanted is null): into the row itself when its columns are the
     * pcap columns in order (no AS), else into L->V and then moved to
     * their places. */
    static const dql_value NUL;
    dql_value *V = L->direct ? row : L->V;
    const bool *w = L->want;
#define SET(c, cond, val) (V[c] = w[c] && (cond) ? (val) : NUL)
    SET(PC_TS, true, dql_datetime(pm->ts_ns / 1000));
    SET(PC_SRC, true, ip_val(a, pm->src, pm->af));
    SET(PC_SPORT, true, dql_int(pm->sport));
    SET(PC_DST, true, ip_val(a, pm->dst, pm->af));
    SET(PC_DPORT, true, dql_int(pm->dport));
    SET(PC_TRANSPORT, true, pm->proto == DQL_PCAP_TCP ? dql_chararray("tcp", 3) : dql_chararray("udp", 3));
    SET(PC_VLAN, pm->vlan >= 0, dql_int(pm->vlan));
    SET(PC_IP_TTL, pm->ip_ttl >= 0, dql_int(pm->ip_ttl));
    SET(PC_ID, hdr, dql_int(m->h.id));
    SET(PC_QR, hdr, dql_bool(f & DQL_DNS_F_QR));
    SET(PC_OPCODE, hdr, opcode_val(a, DQL_DNS_OPCODE(f)));
    SET(PC_RCODE, hdr, rcode_val(L, a, m->rcode));
    SET(PC_AA, hdr, dql_bool(f & DQL_DNS_F_AA));
    SET(PC_TC, hdr, dql_bool(f & DQL_DNS_F_TC));
    SET(PC_RD, hdr, dql_bool(f & DQL_DNS_F_RD));
    SET(PC_RA, hdr, dql_bool(f & DQL_DNS_F_RA));
    SET(PC_AD, hdr, dql_bool(f & DQL_DNS_F_AD));
    SET(PC_CD, hdr, dql_bool(f & DQL_DNS_F_CD));
    SET(PC_QNAME, true, qv);
    SET(PC_QTYPE, q, type_val(L, a, m->qtype));
    SET(PC_QCLASS, q, m->qclass == 1 ? dql_chararray("IN", 2) : class_val(L, a, m->qclass));
    SET(PC_QDCOUNT, hdr, dql_int(m->h.qdcount));
    SET(PC_ANCOUNT, hdr, dql_int(m->h.ancount));
    SET(PC_NSCOUNT, hdr, dql_int(m->h.nscount));
    SET(PC_ARCOUNT, hdr, dql_int(m->h.arcount));
    SET(PC_EDNS_UDP, full && m->edns, dql_int(m->edns_udp));
    SET(PC_DO, full && m->edns, dql_bool(m->edns_do));
    SET(PC_EDNS_VERSION, full && m->edns, dql_int(m->edns_version));
    SET(PC_ECS, true, ecs);
    SET(PC_COOKIE, full && m->edns, dql_bool(cookie));
    SET(PC_ANSWERS, true, bags[0]);
    SET(PC_AUTHORITY, true, bags[1]);
    SET(PC_ADDITIONAL, true, bags[2]);
    SET(PC_SIZE, pm->dns, dql_int((int32_t)pm->size));
    SET(PC_ERROR, error, dql_chararray(error, strlen(error)));
#undef SET
    if (L->direct) {
        for (int j = PC__BASE; j < L->ncols; j++) row[j] = NUL;   /* pairs columns: pair_row's */
        return;
    }
    if (L->nwant != L->ncols) memset(row, 0, sizeof *row * (size_t)L->ncols);   /* all null */
    for (int k = 0; k < L->nwant; k++) {
        /* two 8-byte halves: V was just written that way */
        uint64_t h[2];
        memcpy(h, &V[L->wc[k]], 16);
        memcpy(&row[L->wj[k]], h, 16);
    }
}

/* ------------------------------------------------------------------ pairs */

/* The key of an exchange, client side first: addresses, ports, transport,
 * ID and question. Returns false when the message has no question header. */
static bool pair_key(const dql_pcap_msg *pm, dql_dns_msg *m, bool *is_resp, uint64_t *h)
{
    if (!pm->dns || pm->len < DQL_DNS_HDR_LEN) return false;
    dql_dns_msg_parse(pm->dns, pm->len, m);
    *is_resp = (m->h.flags & DQL_DNS_F_QR) != 0;
    const uint8_t *cli = *is_resp ? pm->dst : pm->src, *srv = *is_resp ? pm->src : pm->dst;
    uint16_t cp = *is_resp ? pm->dport : pm->sport, sp = *is_resp ? pm->sport : pm->dport;
    uint8_t lname[DQL_DNS_NAME_MAX];
    for (size_t i = 0; i < m->qname_len; i++) {
        uint8_t c = m->qname[i];
        lname[i] = c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
    }
    uint64_t x = dql_hash_bytes(cli, 16, pm->af);
    x = dql_hash_bytes(srv, 16, x);
    uint16_t k[5] = { cp, sp, pm->proto, m->h.id, m->qtype };
    x = dql_hash_bytes(k, sizeof k, x);
    x = dql_hash_bytes(&m->qclass, 2, x);
    *h = dql_hash_bytes(lname, m->qname_len, x);
    return true;
}

static void pmsg_copy(pmsg *d, const dql_pcap_msg *pm)
{
    d->m = *pm;
    d->bytes = pm->len ? dql_xmalloc(pm->len) : NULL;
    if (pm->len) memcpy(d->bytes, pm->dns, pm->len);
    d->m.dns = pm->dns ? (d->bytes ? d->bytes : (const uint8_t *)"") : NULL;
}

static void age_unlink(pload *L, pend *p)
{
    if (p->prev) p->prev->next = p->next; else L->old = p->next;
    if (p->next) p->next->prev = p->prev; else L->young = p->prev;
    p->prev = p->next = NULL;
}

static void hash_unlink(pload *L, pend *p)
{
    pend **pp = &L->ph[p->hash & (L->pbuckets - 1)];
    while (*pp && *pp != p) pp = &(*pp)->hnext;
    if (*pp) *pp = p->hnext;
    L->npend--;
}

static void out_push(pload *L, pend *p)
{
    p->next = NULL;
    if (L->outq_tail) L->outq_tail->next = p; else L->outq = p;
    L->outq_tail = p;
}

/* Gives up on the oldest queries (timed out, or over max_pending). */
static void pairs_expire(pload *L, bool all)
{
    while (L->old && (all || L->npend > L->o.max_pending || L->now_us - L->old->q.m.ts_ns / 1000 > L->o.timeout_us)) {
        pend *p = L->old;
        age_unlink(L, p);
        hash_unlink(L, p);
        out_push(L, p);
    }
}

static bool same_exchange(const pend *p, const dql_pcap_msg *r, dql_dns_msg *qm, const dql_dns_msg *rm)
{
    const dql_pcap_msg *q = &p->q.m;
    if (q->af != r->af || q->proto != r->proto || q->sport != r->dport || q->dport != r->sport) return false;
    int al = q->af == 4 ? 4 : 16;
    if (memcmp(q->src, r->dst, (size_t)al) || memcmp(q->dst, r->src, (size_t)al)) return false;
    dql_dns_msg_parse(q->dns, q->len, qm);
    return qm->h.id == rm->h.id && qm->qtype == rm->qtype && qm->qclass == rm->qclass &&
           dql_dns_name_equal(qm->qname, qm->qname_len, rm->qname, rm->qname_len);
}

/* Takes one message in pairs mode: a query waits, a response completes its
 * query or is unsolicited, anything else goes straight out. */
static void pairs_take(pload *L, const dql_pcap_msg *pm)
{
    L->now_us = pm->ts_ns / 1000;
    bool resp;
    uint64_t h;
    pend *p = dql_xcalloc(1, sizeof *p);
    if (!pair_key(pm, &L->dm, &resp, &h) || (L->dm.qname_len == 0 && L->dm.h.qdcount)) {
        pmsg_copy(&p->q, pm);       /* not a message that can be paired */
        p->has_q = true;
        out_push(L, p);
        pairs_expire(L, false);
        return;
    }
    if (resp) {
        pend *q = L->ph[h & (L->pbuckets - 1)];
        for (; q; q = q->hnext)
            if (q->hash == h && same_exchange(q, pm, &L->dm2, &L->dm)) break;
        if (q) {
            free(p);
            age_unlink(L, q);
            hash_unlink(L, q);
            pmsg_copy(&q->r, pm);
            q->has_r = true;
            out_push(L, q);
        } else {
            pmsg_copy(&p->r, pm);
            p->has_r = true;
            out_push(L, p);
        }
    } else {
        pmsg_copy(&p->q, pm);
        p->has_q = true;
        p->hash = h;
        p->hnext = L->ph[h & (L->pbuckets - 1)];
        L->ph[h & (L->pbuckets - 1)] = p;
        L->npend++;
        p->prev = L->young;
        if (L->young) L->young->next = p; else L->old = p;
        L->young = p;
    }
    pairs_expire(L, false);
}

/* One row for an exchange. */
static void pair_row(pload *L, dql_arena *a, dql_value *row, const pend *p)
{
    const pmsg *primary = p->has_r ? &p->r : &p->q;
    fill_row(L, a, row, &primary->m);
    const char *rerr = NULL;
    if (p->has_r && p->has_q) {
        /* error of the response, kept before the query's columns overwrite it */
        for (int j = 0; j < L->ncols; j++)
            if (L->col[j] == PC_ERROR && row[j].type != DQL_T_NULL)
                rerr = dql_arena_strndup(a, row[j].u.s, row[j].len);
    }
    dql_value *qrow = NULL;
    if (p->has_q && p->has_r) {
        qrow = dql_arena_alloc(a, sizeof(dql_value) * (size_t)L->ncols);
        fill_row(L, a, qrow, &p->q.m);
    }
    for (int j = 0; j < L->ncols; j++) {
        int c = L->col[j];
        if (c < 0 || !L->want[c]) continue;
        switch (c) {
        case PC_TS: case PC_SRC: case PC_SPORT: case PC_DST: case PC_DPORT: case PC_VLAN: case PC_IP_TTL:
        case PC_SIZE: case PC_EDNS_UDP: case PC_DO: case PC_EDNS_VERSION: case PC_ECS: case PC_COOKIE:
        case PC_RD:
            if (qrow) row[j] = qrow[j];
            else if (!p->has_q) {
                /* unsolicited: the client is the response's destination */
                const dql_pcap_msg *r = &p->r.m;
                if (c == PC_SRC) row[j] = dql_ip_make(a, r->dst, r->af == 4 ? 4 : 16);
                else if (c == PC_DST) row[j] = dql_ip_make(a, r->src, r->af == 4 ? 4 : 16);
                else if (c == PC_SPORT) row[j] = dql_int(r->dport);
                else if (c == PC_DPORT) row[j] = dql_int(r->sport);
                else if (c == PC_SIZE || c == PC_EDNS_UDP || c == PC_DO || c == PC_EDNS_VERSION || c == PC_ECS ||
                         c == PC_COOKIE)
                    row[j] = dql_null();
            }
            break;
        case PC_ERROR:
            if (qrow) {
                const char *qe = qrow[j].type == DQL_T_NULL ? NULL : dql_arena_strndup(a, qrow[j].u.s, qrow[j].len);
                if (qe && rerr) {
                    char *s = dql_arena_printf(a, "query: %s; response: %s", qe, rerr);
                    row[j] = dql_chararray(s, strlen(s));
                } else if (qe) {
                    char *s = dql_arena_printf(a, "query: %s", qe);
                    row[j] = dql_chararray(s, strlen(s));
                } else if (rerr) {
                    char *s = dql_arena_printf(a, "response: %s", rerr);
                    row[j] = dql_chararray(s, strlen(s));
                }
            }
            break;
        case PC_RTT:
            row[j] = p->has_q && p->has_r ? dql_double((double)(p->r.m.ts_ns - p->q.m.ts_ns) / 1e6) : dql_null();
            break;
        case PC_RESPONSE_SIZE:
            row[j] = p->has_r && p->r.m.dns ? dql_int((int32_t)p->r.m.size) : dql_null();
            break;
        case PC_STATUS: {
            const char *s = p->has_q && p->has_r ? "answered" : p->has_r ? "unsolicited"
                          : (p->q.m.dns && p->hash) ? "unanswered" : "malformed";
            row[j] = dql_chararray(s, strlen(s));
            break;
        }
        default: break;
        }
    }
}

/* --------------------------------------------------------------------- next */

/* The digest of the state carried to the next file: the decoder's, and the
 * queries waiting for their response, oldest first (as a note). */
static void state_note(pload *L, char *out, size_t n)
{
    uint64_t h = dql_pcap_dec_digest(L->dec);
    int64_t np = L->npend;
    h = dql_hash_bytes(&np, sizeof np, h);
    for (const pend *p = L->old; p; p = p->next) {
        h = dql_hash_bytes(&p->hash, sizeof p->hash, h);
        h = dql_pcap_msg_hash(h, &p->q.m);
    }
    snprintf(out, n, "pcap:%016llx", (unsigned long long)h);
}

/* The end of the files read: a task that does not end the input keeps its
 * state (the next task's warm-up rebuilds it) and notes it. */
static void pload_end(pload *L)
{
    if (L->ends_input) dql_pcap_dec_finish(L->dec);
    else if (L->bounds) state_note(L, L->bounds->end, sizeof L->bounds->end);
    L->finished = true;
}

/* Opens the next file; DQL_EOF after the last. */
static dql_status pload_advance(pload *L)
{
    if (L->src) {
        L->done_before += L->sizes[L->ipath];
        dql_pcap_close(L->src);
        L->src = NULL;
        L->ipath++;
    }
    if (L->ipath >= L->npaths) return DQL_EOF;
    char err[512];
    L->src = dql_pcap_open(L->paths[L->ipath], err, sizeof err);
    if (!L->src) return dql_exec_error_st(L->ex, DQL_ERR_IO, "%s", err);
    return DQL_OK;
}

/* Reads frames until the decoder has a message for us; false at the end. */
static dql_status pull(pload *L, dql_pcap_msg *m, bool *got)
{
    *got = false;
    for (;;) {
        if (dql_pcap_dec_msg(L->dec, m)) { *got = true; return DQL_OK; }
        if (L->finished) return DQL_OK;
        if (!L->src) {
            dql_status st = pload_advance(L);
            if (st == DQL_EOF) {
                pload_end(L);
                continue;
            }
            if (st != DQL_OK) return st;
        }
        dql_pcap_pkt pk;
        int r = dql_pcap_next(L->src, &pk);
        if (r == 1) {
            dql_pcap_dec_packet(L->dec, &pk);
            continue;
        }
        if (r < 0 && !L->warming) {   /* the warm-up's files are another task's to report */
            dql_status st = dql_exec_warn(L->ex, "pcap: truncated file", "file '%s': %s (the rest is skipped)",
                                          L->paths[L->ipath], dql_pcap_errmsg(L->src));
            if (st != DQL_OK) return st;
        }
        if (L->warming && L->ipath + 1 == L->own) {
            /* warmed up: the state one process has here, when the guess holds */
            L->warming = false;
            if (L->bounds && !L->bounds->exact) state_note(L, L->bounds->start, sizeof L->bounds->start);
        }
        dql_status st = pload_advance(L);
        if (st == DQL_EOF) {
            pload_end(L);
            continue;
        }
        if (st != DQL_OK) return st;
        if ((L->ipath & 15) == 0 && dql_exec_interrupted(L->ex)) return DQL_ERR_INTERRUPT;
    }
}

static dql_status pload_next(void *state, dql_batch *out, dql_arena *a)
{
    pload *L = state;
    out->n = 0;
    while (out->n < out->cap) {
        if (L->o.pairs && L->outq) {
            pend *p = L->outq;
            L->outq = p->next;
            if (!L->outq) L->outq_tail = NULL;
            if (!L->warming) pair_row(L, a, dql_batch_row(out, out->n++), p);
            pend_free(p);
            continue;
        }
        dql_pcap_msg m;
        bool got;
        dql_status st = pull(L, &m, &got);
        if (st != DQL_OK) return st;
        if (!got) {
            if (L->o.pairs && L->old && L->ends_input) { pairs_expire(L, true); continue; }
            break;
        }
        if (L->o.pairs) pairs_take(L, &m);
        else if (!L->warming) fill_row(L, a, dql_batch_row(out, out->n++), &m);
    }
    return DQL_OK;
}

static void pload_close(void *state) { pload_free(state); }

static void pload_progress(void *state, uint64_t *done, uint64_t *total)
{
    pload *L = state;
    uint64_t d = 0, t = 0;
    if (L->src) dql_pcap_progress(L->src, &d, &t);
    *done = L->done_before + d;
    uint64_t sum = 0;
    for (int i = 0; i < L->npaths; i++) sum += L->sizes[i];
    *total = sum;
}

const dql_loader_def dql_loader_pcap = {
    "pcap", "pcap([ports = (53, ...)], [pairs = false], [timeout = '5s'], [max_pending = 1000000])",
    "DNS messages in pcap/pcapng captures (.gz, dirs, globs, '-'): one row per message, or per exchange with pairs",
    pload_plan, pload_open, pload_next, pload_close, pload_progress,
    "file (a contiguous block of the captures in time order)",
};
