/* op_zone.c — LOAD ... USING zone() and STORE ... USING zone(): DNS master
 * files as rows, and rows back into a master file.
 *
 * The loader drives the streaming scanner (zone_scan.c) over each input
 * path (a file, "-", a directory or a glob; .gz is detected) and turns each
 * resource record into one row (schema in zone_schema below). Only the
 * columns of the output schema are rendered: `AS (owner:domain, type:chararray)`
 * with a subset of the column names skips the work for the others. Values are
 * built in the batch arena; the owner of consecutive records with the same
 * name is rendered once per batch. A bad record is a counted warning
 * ("zone: bad TTL", ...) and is skipped; under SET strict true it is an
 * error. The zone-level checks of the scanner (CNAME and other data, DS at
 * the apex or not at a delegation; checks = false turns them off) report
 * the same way. An error that stops a file (unbalanced parenthesis, bad
 * $ORIGIN or $INCLUDE) is a warning that says the rest of the file was
 * skipped.
 *
 * The storer writes one RR per line, "owner ttl class type rdata", owners
 * relative to the origin, the SOA first (rows before it are spooled to a
 * temporary file), into path.tmp.XXXXXX renamed over the target on commit.
 * The user-visible behaviour is documented in doc/zone.md. */
#include "exec.h"
#include "zone.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------ schema */

enum { ZC_OWNER, ZC_TTL, ZC_CLASS, ZC_TYPE, ZC_RDATA, ZC_ADDRESS, ZC_TARGET, ZC_PRIORITY, ZC_WEIGHT,
       ZC_PORT, ZC_FIELDS, ZC_FILE, ZC_LINE, ZC__COUNT };

static const struct { const char *name; dql_type type; } zone_cols[ZC__COUNT] = {
    { "owner", DQL_T_DOMAIN },   { "ttl", DQL_T_LONG },       { "class", DQL_T_CHARARRAY },
    { "type", DQL_T_CHARARRAY }, { "rdata", DQL_T_CHARARRAY }, { "address", DQL_T_IP },
    { "target", DQL_T_DOMAIN },  { "priority", DQL_T_INT },   { "weight", DQL_T_INT },
    { "port", DQL_T_INT },       { "fields", DQL_T_MAP },     { "_file", DQL_T_CHARARRAY },
    { "_line", DQL_T_LONG },
};

#define MAX_FIELDS 64
#define CLIP 200

/* Options of the loader and the storer: origin (positional 0) and ttl;
 * checks (the loader's zone-level checks, default true). */
typedef struct zopts {
    const char *origin;      /* NUL-terminated copy or NULL */
    uint32_t ttl;
    bool checks;
} zopts;

static bool parse_zopts(const dql_args *args, bool loader, zopts *o, char **origin_copy, char *err, size_t errlen)
{
    o->origin = NULL;
    o->ttl = 86400;
    o->checks = true;
    *origin_copy = NULL;
    int npos = 0;
    for (int i = 0; args && i < args->n; i++) {
        const dql_arg *a = &args->a[i];
        const char *name = a->name;
        if (!name) {
            if (npos == 0)
                name = "origin";
            else if (npos == 1)
                name = "ttl";
            else {
                snprintf(err, errlen, "zone: too many arguments");
                return false;
            }
            npos++;
        }
        const dql_value *v = &a->v;
        if (!strcmp(name, "origin")) {
            if (v->type != DQL_T_CHARARRAY || v->len == 0) {
                snprintf(err, errlen, "zone: origin must be a domain name such as 'example.com.'");
                return false;
            }
            uint8_t w[DQL_ZONE_NAME_MAX], root = 0;
            const char *why;
            if (dql_zone_name_parse(v->u.s, v->len, &root, 1, w, &why) < 0) {
                snprintf(err, errlen, "zone: bad origin '%.*s': %s", (int)v->len, v->u.s, why);
                return false;
            }
            free(*origin_copy);
            *origin_copy = dql_xstrndup(v->u.s, v->len);
            o->origin = *origin_copy;
        } else if (!strcmp(name, "ttl")) {
            if ((v->type == DQL_T_LONG || v->type == DQL_T_INT) && v->u.i >= 0 && v->u.i <= 0xffffffffLL) {
                o->ttl = (uint32_t)v->u.i;
            } else {
                const char *why;
                if (v->type != DQL_T_CHARARRAY || !dql_zone_ttl_parse(v->u.s, v->len, &o->ttl, &why)) {
                    snprintf(err, errlen, "zone: ttl must be a number of seconds (0 to 4294967295) or like '1h30m'");
                    return false;
                }
            }
        } else if (loader && !strcmp(name, "checks")) {
            if (v->type != DQL_T_BOOL) {
                snprintf(err, errlen, "zone: checks must be true or false");
                return false;
            }
            o->checks = v->u.i != 0;
        } else {
            snprintf(err, errlen, "zone: unknown argument '%s' (expected origin, ttl%s)", name,
                     loader ? ", checks" : "");
            return false;
        }
    }
    return true;
}

static int col_of(const char *name)
{
    for (int c = 0; c < ZC__COUNT; c++)
        if (!strcmp(zone_cols[c].name, name))
            return c;
    return -1;
}

static dql_status zload_plan(const dql_load_ctx *lc, dql_schema **out, char *err, size_t errlen)
{
    *out = NULL;
    zopts o;
    char *oc;
    if (!parse_zopts(lc->args, true, &o, &oc, err, errlen))
        return DQL_ERR_CHECK;
    free(oc);
    char **paths;
    int n = dql_paths_expand(lc->path, &paths, err, errlen);
    if (n <= 0)
        return DQL_ERR_CHECK;
    dql_paths_free(paths);
    const dql_schema *D = lc->declared;
    if (D) {
        for (int j = 0; j < D->n; j++) {
            int c = D->f[j].name ? col_of(D->f[j].name) : -1;
            if (c < 0) {
                snprintf(err, errlen, "zone: AS names a subset of the columns owner, ttl, class, type, rdata, "
                         "address, target, priority, weight, port, fields, _file, _line: '%s' is not one of them",
                         D->f[j].name ? D->f[j].name : "$");
                return DQL_ERR_CHECK;
            }
            if (D->f[j].type != zone_cols[c].type && D->f[j].type != DQL_T_ANY &&
                D->f[j].type != DQL_T_BYTEARRAY) {
                snprintf(err, errlen, "zone: column '%s' is %s, not %s", zone_cols[c].name,
                         dql_type_name(zone_cols[c].type), dql_type_name(D->f[j].type));
                return DQL_ERR_CHECK;
            }
        }
        dql_schema *S = dql_schema_new(0);
        for (int j = 0; j < D->n; j++)
            dql_schema_add(S, D->f[j].name, zone_cols[col_of(D->f[j].name)].type, NULL);
        *out = S;
        return DQL_OK;
    }
    dql_schema *S = dql_schema_new(0);
    for (int c = 0; c < ZC__COUNT; c++)
        dql_schema_add(S, zone_cols[c].name, zone_cols[c].type, NULL);
    *out = S;
    return DQL_OK;
}

/* ------------------------------------------------------------ loader */

typedef struct zload {
    dql_exec *ex;
    zopts o;
    char *origin_copy;
    char **paths;
    int npaths, ipath;
    uint64_t *sizes, done_before;
    bool sharded;                /* a sharded run reads [shard_start, shard_end) of its one file */
    dql_shard_bounds *bounds;    /* where it tells how its shard started and ended */
    bool shard_head;             /* ... and it is the first shard */
    uint64_t shard_start, shard_end;
    dql_zone_scanner *sc;
    int ncols;
    int col[ZC__COUNT];          /* output column -> zone column */
    bool want[ZC__COUNT];
    dql_buf txt, ftxt;
    dql_zone_field fl[MAX_FIELDS];
    /* per-batch caches */
    uint8_t last_owner[DQL_ZONE_NAME_MAX];
    size_t last_owner_len;
    dql_value last_owner_v;
    const char *last_file_src;
    dql_value last_file_v;
} zload;

/* A shard split by byte range: how it started and ended, for the coordinator. */
static void zload_notes(zload *L)
{
    if (!L->bounds || !L->sc) return;
    snprintf(L->bounds->start, sizeof L->bounds->start, "%s", dql_zone_shard_note(L->sc, 0));
    snprintf(L->bounds->end, sizeof L->bounds->end, "%s", dql_zone_shard_note(L->sc, 1));
}

static void zload_free(zload *L)
{
    if (!L)
        return;
    zload_notes(L);
    dql_zone_close(L->sc);
    dql_paths_free(L->paths);
    free(L->sizes);
    free(L->origin_copy);
    dql_buf_free(&L->txt);
    dql_buf_free(&L->ftxt);
    free(L);
}

/* A sharded run: one plain file is split by byte range at owner-run
 * boundaries (dql_zone_opts.sharded); several files, or a compressed one,
 * are shared out whole, a contiguous block per shard. */
static void zload_shard(zload *L, int shard, int nshards)
{
    if (L->npaths == 1 && dql_path_splittable(L->paths[0])) {
        L->sharded = true;
        L->shard_head = shard == 0;
        L->shard_start = L->sizes[0] * (uint64_t)shard / (uint64_t)nshards;
        L->shard_end = L->sizes[0] * (uint64_t)(shard + 1) / (uint64_t)nshards;
        return;
    }
    L->npaths = dql_paths_shard(L->paths, L->sizes, L->npaths, shard, nshards);
}

static dql_status zload_open(const dql_load_ctx *lc, const dql_schema *schema, dql_exec *ex, void **state)
{
    char err[512];
    *state = NULL;
    zload *L = dql_xcalloc(1, sizeof *L);
    L->ex = ex;
    if (!parse_zopts(lc->args, true, &L->o, &L->origin_copy, err, sizeof err)) {
        zload_free(L);
        return dql_exec_error_st(ex, DQL_ERR_USAGE, "%s", err);
    }
    L->npaths = dql_paths_expand(lc->path, &L->paths, err, sizeof err);
    if (L->npaths <= 0) {
        zload_free(L);
        return dql_exec_error_st(ex, DQL_ERR_IO, "%s", err);
    }
    L->sizes = dql_xcalloc((size_t)L->npaths, sizeof *L->sizes);
    for (int i = 0; i < L->npaths; i++) {
        struct stat st;
        if (strcmp(L->paths[i], "-") != 0 && stat(L->paths[i], &st) == 0)
            L->sizes[i] = (uint64_t)st.st_size;
    }
    if (lc->nshards > 1)
        zload_shard(L, lc->shard, lc->nshards);
    if (L->sharded) L->bounds = lc->bounds;
    L->ncols = schema->n;
    for (int j = 0; j < schema->n && j < ZC__COUNT; j++) {
        int c = schema->f[j].name ? col_of(schema->f[j].name) : -1;
        /* a column no statement reads is left null, never rendered */
        if (lc->needed && !lc->needed[j]) c = -1;
        L->col[j] = c;
        if (c >= 0)
            L->want[c] = true;
    }
    *state = L;
    return DQL_OK;
}

static dql_value name_value(dql_arena *a, dql_buf *tmp, const uint8_t *w, size_t n)
{
    tmp->len = 0;
    dql_zone_name_text(tmp, w, n, true, true);
    char *p = dql_arena_memdup(a, tmp->p, tmp->len);
    return dql_str(DQL_T_DOMAIN, p, tmp->len);
}

static dql_value fields_map(zload *L, dql_arena *a, const dql_zone_rr *rr)
{
    L->ftxt.len = 0;
    int nf = dql_zone_rdata_fields(rr->type, rr->rdata, rr->rdlen, L->fl, MAX_FIELDS, &L->ftxt);
    dql_map *m = dql_map_new(a, (uint32_t)nf);
    char *base = nf ? dql_arena_memdup(a, L->ftxt.p ? L->ftxt.p : "", L->ftxt.len ? L->ftxt.len : 1) : NULL;
    for (int k = 0; k < nf; k++) {
        const dql_zone_field *f = &L->fl[k];
        m->k[k] = dql_chararray(f->name, strlen(f->name));
        if (f->num)
            m->v[k] = dql_long(f->v);
        else
            m->v[k] = dql_chararray(base + f->off, f->len);
    }
    dql_value v = {0};
    v.type = DQL_T_MAP;
    v.u.m = m;
    return v;
}

/* Fills one row from a record. */
static void fill_row(zload *L, dql_arena *a, dql_value *row, const dql_zone_rr *rr)
{
    dql_zone_extract x;
    bool have_x = false;
    for (int j = 0; j < L->ncols; j++) {
        int c = L->col[j];
        dql_value v = dql_null();
        switch (c) {
        case ZC_OWNER:
            if (L->last_owner_len == rr->owner_len && memcmp(L->last_owner, rr->owner, rr->owner_len) == 0) {
                v = L->last_owner_v;
            } else {
                v = name_value(a, &L->txt, rr->owner, rr->owner_len);
                memcpy(L->last_owner, rr->owner, rr->owner_len);
                L->last_owner_len = rr->owner_len;
                L->last_owner_v = v;
            }
            break;
        case ZC_TTL:
            v = dql_long(rr->ttl);
            break;
        case ZC_CLASS:
            if (rr->rclass == 1) {
                v = dql_chararray("IN", 2);
            } else {
                L->txt.len = 0;
                dql_zone_class_text(&L->txt, rr->rclass);
                v = dql_chararray_copy(a, L->txt.p, L->txt.len);
            }
            break;
        case ZC_TYPE: {
            const char *nm = dql_zone_type_name(rr->type);
            if (nm && rr->type != 0) {
                v = dql_chararray(nm, strlen(nm));
            } else {
                L->txt.len = 0;
                dql_zone_type_text(&L->txt, rr->type);
                v = dql_chararray_copy(a, L->txt.p, L->txt.len);
            }
            break;
        }
        case ZC_RDATA:
            L->txt.len = 0;
            dql_zone_rdata_text(&L->txt, rr->type, rr->rdata, rr->rdlen);
            v = dql_chararray_copy(a, L->txt.p ? L->txt.p : "", L->txt.len);
            break;
        case ZC_ADDRESS: case ZC_TARGET: case ZC_PRIORITY: case ZC_WEIGHT: case ZC_PORT:
            if (!have_x) {
                dql_zone_rdata_extract(rr->type, rr->rdata, rr->rdlen, &x);
                have_x = true;
            }
            if (c == ZC_ADDRESS && x.addr)
                v = dql_ip_make(a, x.addr, x.addrlen);
            else if (c == ZC_TARGET && x.target)
                v = name_value(a, &L->txt, x.target, x.tlen);
            else if (c == ZC_PRIORITY && x.priority >= 0)
                v = dql_int((int32_t)x.priority);
            else if (c == ZC_WEIGHT && x.weight >= 0)
                v = dql_int((int32_t)x.weight);
            else if (c == ZC_PORT && x.port >= 0)
                v = dql_int((int32_t)x.port);
            break;
        case ZC_FIELDS:
            v = fields_map(L, a, rr);
            break;
        case ZC_FILE:
            if (!L->last_file_src || strcmp(L->last_file_src, rr->file) != 0) {
                L->last_file_v = dql_chararray_copy(a, rr->file, strlen(rr->file));
                L->last_file_src = L->last_file_v.u.s;
            }
            v = L->last_file_v;
            break;
        case ZC_LINE:
            v = dql_long((int64_t)rr->line);
            break;
        default:
            break;
        }
        row[j] = v;
    }
}

/* Opens the next file; DQL_EOF after the last. */
static dql_status zload_advance(zload *L)
{
    if (L->sc) {
        L->done_before += L->sizes[L->ipath];
        zload_notes(L);
        dql_zone_close(L->sc);
        L->sc = NULL;
        L->ipath++;
    }
    if (L->ipath >= L->npaths)
        return DQL_EOF;
    dql_zone_opts o = { 0 };
    o.origin = L->o.origin;
    o.default_ttl = L->o.ttl;
    o.checks = L->o.checks;
    o.sharded = L->sharded;
    o.shard_head = L->shard_head;
    o.shard_start = L->shard_start;
    o.shard_end = L->shard_end;
    o.shard_speculate = L->bounds && !L->bounds->exact;
    char err[512];
    L->sc = dql_zone_open(L->paths[L->ipath], &o, err, sizeof err);
    if (!L->sc)
        return dql_exec_error_st(L->ex, DQL_ERR_IO, "%s", err);
    return DQL_OK;
}

static dql_status zload_next(void *state, dql_batch *out, dql_arena *a)
{
    zload *L = state;
    out->n = 0;
    /* the caches point into the arena, which the caller has just reset */
    L->last_owner_len = 0;
    L->last_file_src = NULL;
    if (!L->sc) {
        dql_status st = zload_advance(L);
        if (st == DQL_EOF)
            return DQL_OK;
        if (st != DQL_OK)
            return st;
    }
    while (out->n < out->cap) {
        dql_zone_rr rr;
        dql_zone_res r = dql_zone_next(L->sc, &rr);
        if (r == DQL_ZONE_RR) {
            fill_row(L, a, dql_batch_row(out, out->n), &rr);
            out->n++;
            continue;
        }
        if (r == DQL_ZONE_BAD || r == DQL_ZONE_FATAL) {
            dql_status st = dql_exec_warn(L->ex, dql_zone_errkind(L->sc), "%.*s%s", CLIP * 2,
                                          dql_zone_errmsg(L->sc),
                                          r == DQL_ZONE_FATAL ? " (the rest of the file is skipped)" : "");
            if (st != DQL_OK)
                return st;
            continue;
        }
        /* end of this file: hand out the rows first (they do not point into the scanner) */
        dql_status st = zload_advance(L);
        if (st == DQL_EOF)
            return DQL_OK;
        if (st != DQL_OK)
            return st;
        /* a new file: owner cache entries stay valid (they live in the arena) */
    }
    return DQL_OK;
}

static void zload_close(void *state)
{
    zload_free(state);
}

static void zload_progress(void *state, uint64_t *done, uint64_t *total)
{
    zload *L = state;
    uint64_t d = 0, t = 0;
    if (L->sc)
        dql_zone_progress(L->sc, &d, &t);
    *done = L->done_before + d;
    uint64_t sum = 0;
    for (int i = 0; i < L->npaths; i++)
        sum += L->sizes[i];
    *total = sum;
}

const dql_loader_def dql_loader_zone = {
    "zone", "zone(['origin.'], [ttl = 86400], [checks = true])",
    "DNS master files (RFC 1035, $INCLUDE, $GENERATE, .gz): one row per RR with typed rdata fields",
    zload_plan, zload_open, zload_next, zload_close, zload_progress,
    "byte range at owner-run boundaries (one file) or file",
};

/* ------------------------------------------------------------ storer */

typedef struct zstore {
    dql_exec *ex;
    char *path, *tmp;
    FILE *out;
    FILE *spool;             /* rows before the SOA */
    bool soa_seen, to_stdout;
    char *origin;            /* normalised: lower case, no trailing dot; "" for the root */
    int c_owner, c_ttl, c_class, c_type, c_rdata;
    uint32_t def_ttl;
    dql_buf line;
    uint64_t rows;
} zstore;

static bool find_cols(const dql_schema *S, int *ow, int *tt, int *cl, int *ty, int *rd, char *err, size_t errlen)
{
    *ow = dql_schema_find(S, "owner");
    *tt = dql_schema_find(S, "ttl");
    *cl = dql_schema_find(S, "class");
    *ty = dql_schema_find(S, "type");
    *rd = dql_schema_find(S, "rdata");
    if (*ow < 0 || *ty < 0 || *rd < 0) {
        snprintf(err, errlen, "zone: the rows need fields owner, type and rdata (ttl and class are optional)");
        return false;
    }
    return true;
}

static dql_status zstore_plan(const dql_store_ctx *sc, char *err, size_t errlen)
{
    zopts o;
    char *oc;
    if (!parse_zopts(sc->args, false, &o, &oc, err, errlen))
        return DQL_ERR_CHECK;
    free(oc);
    int a, b, c, d, e;
    if (!find_cols(sc->schema, &a, &b, &c, &d, &e, err, errlen))
        return DQL_ERR_CHECK;
    return dql_output_check(sc->path, sc->overwrite, err, errlen);
}

static void zstore_free(zstore *W)
{
    if (!W)
        return;
    if (W->spool)
        fclose(W->spool);
    free(W->path);
    free(W->tmp);
    free(W->origin);
    dql_buf_free(&W->line);
    free(W);
}

static dql_status zstore_open(const dql_store_ctx *sc, dql_exec *ex, void **state)
{
    char err[512];
    *state = NULL;
    zopts o;
    char *oc;
    if (!parse_zopts(sc->args, false, &o, &oc, err, sizeof err))
        return dql_exec_error_st(ex, DQL_ERR_USAGE, "%s", err);
    zstore *W = dql_xcalloc(1, sizeof *W);
    W->ex = ex;
    W->def_ttl = o.ttl;
    find_cols(sc->schema, &W->c_owner, &W->c_ttl, &W->c_class, &W->c_type, &W->c_rdata, err, sizeof err);
    if (oc) {
        size_t n = strlen(oc);
        while (n && oc[n - 1] == '.')
            n--;
        W->origin = dql_xstrndup(oc, n);
        for (char *p = W->origin; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p | 32);
        free(oc);
    } else {
        W->origin = dql_xstrdup("");
    }
    W->path = dql_xstrdup(sc->path);
    if (!strcmp(sc->path, "-")) {
        fflush(stdout);
        W->out = stdout;
        W->to_stdout = true;
    } else {
        size_t n = strlen(sc->path);
        W->tmp = dql_xmalloc(n + 16);
        memcpy(W->tmp, sc->path, n);
        memcpy(W->tmp + n, ".tmp.XXXXXX", 12);
        int fd = mkstemp(W->tmp);
        if (fd < 0 || !(W->out = fdopen(fd, "w"))) {
            dql_status st = dql_exec_error_st(ex, DQL_ERR_IO, "cannot write '%s': %s", sc->path, strerror(errno));
            if (fd >= 0) {
                close(fd);
                unlink(W->tmp);
            }
            zstore_free(W);
            return st;
        }
        mode_t um = umask(0);
        umask(um);
        if (fchmod(fd, 0666 & ~um) != 0) {
            /* not fatal */
        }
        setvbuf(W->out, NULL, _IOFBF, 1 << 20);
    }
    if (W->origin[0])
        fprintf(W->out, "$ORIGIN %s.\n", W->origin);
    *state = W;
    return DQL_OK;
}

static bool vstr(dql_value v, const char **s, size_t *n)
{
    if (v.type == DQL_T_CHARARRAY || v.type == DQL_T_DOMAIN || v.type == DQL_T_BYTEARRAY) {
        *s = v.u.s;
        *n = v.len;
        return true;
    }
    return false;
}

/* Appends the owner relative to the origin. */
static void put_owner(zstore *W, const char *s, size_t n)
{
    while (n > 1 && s[n - 1] == '.')
        n--;
    size_t ol = strlen(W->origin);
    if (n == 1 && s[0] == '.') {
        dql_buf_putc(&W->line, '.');
        return;
    }
    if (ol && n == ol && strncasecmp(s, W->origin, n) == 0) {
        dql_buf_putc(&W->line, '@');
        return;
    }
    if (ol && n > ol + 1 && s[n - ol - 1] == '.' && strncasecmp(s + n - ol, W->origin, ol) == 0 &&
        (n - ol < 2 || s[n - ol - 2] != '\\')) {
        dql_buf_put(&W->line, s, n - ol - 1);
        return;
    }
    dql_buf_put(&W->line, s, n);
    dql_buf_putc(&W->line, '.');
}

static dql_status zstore_write(void *state, const dql_batch *b)
{
    zstore *W = state;
    for (int i = 0; i < b->n; i++) {
        const dql_value *row = b->v + (size_t)i * (size_t)b->ncols;
        const char *ow, *ty, *rd;
        size_t own, tyn, rdn;
        if (!vstr(row[W->c_owner], &ow, &own) || !vstr(row[W->c_type], &ty, &tyn) ||
            !vstr(row[W->c_rdata], &rd, &rdn) || own == 0 || tyn == 0) {
            dql_status st = dql_exec_warn(W->ex, "zone: incomplete row",
                                          "STORE zone: row %llu has a null owner, type or rdata: skipped",
                                          (unsigned long long)(W->rows + 1));
            if (st != DQL_OK)
                return st;
            W->rows++;
            continue;
        }
        W->rows++;
        W->line.len = 0;
        put_owner(W, ow, own);
        int64_t ttl = W->def_ttl;
        if (W->c_ttl >= 0 && (row[W->c_ttl].type == DQL_T_LONG || row[W->c_ttl].type == DQL_T_INT))
            ttl = row[W->c_ttl].u.i;
        dql_buf_printf(&W->line, "\t%lld\t", (long long)ttl);
        const char *cl;
        size_t cln;
        if (W->c_class >= 0 && vstr(row[W->c_class], &cl, &cln) && cln)
            dql_buf_put(&W->line, cl, cln);
        else
            dql_buf_puts(&W->line, "IN");
        dql_buf_putc(&W->line, '\t');
        dql_buf_put(&W->line, ty, tyn);
        dql_buf_putc(&W->line, '\t');
        dql_buf_put(&W->line, rd, rdn);
        dql_buf_putc(&W->line, '\n');
        bool soa = tyn == 3 && strncasecmp(ty, "SOA", 3) == 0;
        FILE *dst = W->out;
        if (!W->soa_seen && !soa) {
            if (!W->spool && !(W->spool = tmpfile()))
                return dql_exec_error_st(W->ex, DQL_ERR_IO, "STORE zone: cannot create a temporary file: %s",
                                         strerror(errno));
            dst = W->spool;
        }
        if (fwrite(W->line.p, 1, W->line.len, dst) != W->line.len)
            return dql_exec_error_st(W->ex, DQL_ERR_IO, "cannot write '%s': %s", W->path, strerror(errno));
        if (soa && !W->soa_seen) {
            W->soa_seen = true;
            if (W->spool) {
                /* the rows that came before the SOA follow it */
                rewind(W->spool);
                char buf[1 << 16];
                size_t n;
                while ((n = fread(buf, 1, sizeof buf, W->spool)) > 0)
                    if (fwrite(buf, 1, n, W->out) != n)
                        return dql_exec_error_st(W->ex, DQL_ERR_IO, "cannot write '%s': %s", W->path,
                                                 strerror(errno));
                fclose(W->spool);
                W->spool = NULL;
            }
        }
    }
    return DQL_OK;
}

static dql_status zstore_commit(void *state)
{
    zstore *W = state;
    if (W->spool) {
        rewind(W->spool);
        char buf[1 << 16];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, W->spool)) > 0)
            if (fwrite(buf, 1, n, W->out) != n)
                return dql_exec_error_st(W->ex, DQL_ERR_IO, "cannot write '%s': %s", W->path, strerror(errno));
    }
    if (W->to_stdout) {
        fflush(stdout);
        zstore_free(W);
        return DQL_OK;
    }
    int rc = fflush(W->out) == 0 ? 0 : -1;
    if (fclose(W->out) != 0)
        rc = -1;
    W->out = NULL;
    if (rc != 0 || rename(W->tmp, W->path) != 0) {
        dql_status st = dql_exec_error_st(W->ex, DQL_ERR_IO, "cannot write '%s': %s", W->path, strerror(errno));
        unlink(W->tmp);
        free(W->tmp);
        W->tmp = NULL;
        return st;
    }
    free(W->tmp);
    W->tmp = NULL;
    zstore_free(W);
    return DQL_OK;
}

static void zstore_abort(void *state)
{
    zstore *W = state;
    if (!W)
        return;
    if (!W->to_stdout) {
        if (W->out)
            fclose(W->out);
        if (W->tmp)
            unlink(W->tmp);
    }
    zstore_free(W);
}

const dql_storer_def dql_storer_zone = {
    "zone", "zone(['origin.'], [ttl = 86400])",
    "DNS master file from rows with owner, [ttl], [class], type, rdata: SOA first, owners relative to the origin",
    zstore_plan, zstore_open, zstore_write, zstore_commit, zstore_abort, NULL, NULL,
};
