/* op_geo.c — MaxMind DB enrichment: the ENRICH verb, the GEO, ASN, COUNTRY
 * and MMDB functions, the geo.* settings and the per-session cache of open
 * databases (see geo.h).
 *
 * The hot path: the address is taken from the BY value (an ip, or text that
 * is parsed), v4-mapped v6 becomes v4, one sockaddr is built and looked up
 * in each database (MMDB_lookup_sockaddr), and only the requested fields are
 * decoded, by MMDB_aget_value on known paths, grouped by their top-level key
 * (the "location" map is found once for lat, lon, accuracy_radius and
 * time_zone). Strings point into the database's mapping, which the session
 * keeps open: no copy. A direct-mapped cache of recent addresses (per
 * operator, per call site) skips the lookup for repeated addresses. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <maxminddb.h>
#include "geo.h"
#include "session.h"
#include "expr.h"

#define GEO_DEFAULT_PATH "/usr/share/GeoIP:/var/lib/GeoIP:/usr/local/share/GeoIP"
#define GEO_DEFAULT_CACHE 8192
/* Data records fully decoded when a database is first opened; past this
 * (large commercial databases), a corrupt record is a runtime error. */
#define GEO_VERIFY_RECORDS 50000

/* ------------------------------------------------------------ databases */

typedef struct geo_db {
    char *key;           /* realpath: the cache key */
    MMDB_s mmdb;
    char info[200];      /* "GeoIP2-City, IPv6, built 2026-02-04" */
} geo_db;

typedef struct geo_sess {
    geo_db **db;
    int n;
    unsigned gen;        /* bumped by every SET geo.*: call sites re-resolve */
} geo_sess;

static void *gs_create(void) { return dql_xcalloc(1, sizeof(geo_sess)); }

static void gs_destroy(void *p)
{
    geo_sess *gs = p;
    for (int i = 0; i < gs->n; i++) { MMDB_close(&gs->db[i]->mmdb); free(gs->db[i]->key); free(gs->db[i]); }
    free(gs->db);
    free(gs);
}

static geo_sess *gsess(dql_session *s) { return dql_session_ext(s, "geo", gs_create, gs_destroy); }

/* Walks the whole search tree and decodes each distinct data record (up to
 * GEO_VERIFY_RECORDS): libmaxminddb opens many corrupt files without
 * complaint and only fails on the lookup that reaches the bad part. */
static int verify_db(const MMDB_s *m, char *where, size_t wl)
{
    uint32_t nc = m->metadata.node_count;
    size_t cap = 1024, used = 0;
    uint32_t *seen = dql_xcalloc(cap, sizeof *seen);   /* offsets + 1; 0 = empty */
    int st = MMDB_SUCCESS;
    for (uint32_t i = 0; i < nc && st == MMDB_SUCCESS; i++) {
        MMDB_search_node_s node;
        st = MMDB_read_node(m, i, &node);
        if (st) { snprintf(where, wl, "search tree node %u", i); break; }
        for (int side = 0; side < 2; side++) {
            uint8_t type = side ? node.right_record_type : node.left_record_type;
            if (type == MMDB_RECORD_TYPE_INVALID) {
                snprintf(where, wl, "search tree node %u points outside the file", i);
                st = MMDB_CORRUPT_SEARCH_TREE_ERROR;
                break;
            }
            if (type != MMDB_RECORD_TYPE_DATA || used >= GEO_VERIFY_RECORDS) continue;
            MMDB_entry_s e = side ? node.right_record_entry : node.left_record_entry;
            uint32_t h = (e.offset * 2654435761u) & (uint32_t)(cap - 1);
            while (seen[h] && seen[h] != e.offset + 1) h = (h + 1) & (uint32_t)(cap - 1);
            if (seen[h]) continue;
            MMDB_entry_data_list_s *list = NULL;
            st = MMDB_get_entry_data_list(&e, &list);
            MMDB_free_entry_data_list(list);
            if (st) { snprintf(where, wl, "data record of search tree node %u", i); break; }
            seen[h] = e.offset + 1;
            if (++used * 2 > cap) {
                size_t ncap = cap * 2;
                uint32_t *ns = dql_xcalloc(ncap, sizeof *ns);
                for (size_t k = 0; k < cap; k++) {
                    if (!seen[k]) continue;
                    uint32_t g = ((seen[k] - 1) * 2654435761u) & (uint32_t)(ncap - 1);
                    while (ns[g]) g = (g + 1) & (uint32_t)(ncap - 1);
                    ns[g] = seen[k];
                }
                free(seen);
                seen = ns;
                cap = ncap;
            }
        }
    }
    free(seen);
    return st;
}

/* Finds the file: as written, else (a bare file name) in geo.path. */
static bool find_file(dql_session *s, const char *written, char *out, size_t outlen)
{
    if (access(written, F_OK) == 0) { snprintf(out, outlen, "%s", written); return true; }
    if (strchr(written, '/')) return false;
    const char *gp = dql_session_get(s, "geo.path");
    if (!gp) gp = GEO_DEFAULT_PATH;
    const char *p = gp;
    while (*p) {
        const char *e = strchr(p, ':');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n) {
            snprintf(out, outlen, "%.*s/%s", (int)n, p, written);
            if (access(out, F_OK) == 0) return true;
        }
        p += n + (e ? 1 : 0);
    }
    return false;
}

/* Opens (once per session) and verifies a database. The messages name the
 * file as written. */
static geo_db *db_open(dql_session *s, const char *written, char *err, size_t errlen)
{
    char path[PATH_MAX], real[PATH_MAX];
    if (!find_file(s, written, path, sizeof path)) {
        const char *gp = dql_session_get(s, "geo.path");
        if (strchr(written, '/')) snprintf(err, errlen, "no such file: '%s'", written);
        else snprintf(err, errlen, "no such file: '%s' (nor in %s)", written, gp ? gp : GEO_DEFAULT_PATH);
        return NULL;
    }
    if (!realpath(path, real)) snprintf(real, sizeof real, "%s", path);
    geo_sess *gs = gsess(s);
    for (int i = 0; i < gs->n; i++)
        if (!strcmp(gs->db[i]->key, real)) return gs->db[i];
    geo_db *d = dql_xcalloc(1, sizeof *d);
    errno = 0;
    int st = MMDB_open(real, MMDB_MODE_MMAP, &d->mmdb);
    if (st != MMDB_SUCCESS) {
        if (st == MMDB_IO_ERROR && errno) snprintf(err, errlen, "'%s': cannot open: %s", written, strerror(errno));
        else snprintf(err, errlen, "'%s' is not a valid MaxMind database: %s", written, MMDB_strerror(st));
        free(d);
        return NULL;
    }
    const MMDB_metadata_s *md = &d->mmdb.metadata;
    /* a build date past the year 9999 is corrupt metadata */
    if (md->build_epoch > 253402300799ULL) {
        snprintf(err, errlen, "'%s' is not a valid MaxMind database: its build_epoch %llu is not a date", written,
                 (unsigned long long)md->build_epoch);
        MMDB_close(&d->mmdb);
        free(d);
        return NULL;
    }
    char where[96] = "";
    st = verify_db(&d->mmdb, where, sizeof where);
    if (st != MMDB_SUCCESS) {
        snprintf(err, errlen, "'%s' is not a valid MaxMind database: %s (%s)", written, MMDB_strerror(st), where);
        MMDB_close(&d->mmdb);
        free(d);
        return NULL;
    }
    time_t t = (time_t)md->build_epoch;
    struct tm tm;
    char date[32] = "?";
    if (gmtime_r(&t, &tm)) strftime(date, sizeof date, "%Y-%m-%d", &tm);
    snprintf(d->info, sizeof d->info, "%s, IPv%u, built %s", md->database_type ? md->database_type : "?",
             (unsigned)md->ip_version, date);
    d->key = dql_xstrdup(real);
    gs->db = dql_xrealloc(gs->db, sizeof *gs->db * (size_t)(gs->n + 1));
    gs->db[gs->n++] = d;
    return d;
}

/* The database roles and what database_type each accepts. */
typedef enum { R_CITY, R_COUNTRY, R_ASN, R_ISP, R_OTHER } geo_role;
static const struct { const char *name, *what, *defaults[3], *accept[3]; } roles[] = {
    [R_CITY] = { "city", "a City", { "GeoIP2-City.mmdb", "GeoLite2-City.mmdb", NULL }, { "City", "Enterprise", NULL } },
    [R_COUNTRY] = { "country", "a Country", { "GeoIP2-Country.mmdb", "GeoLite2-Country.mmdb", NULL }, { "Country", "City", "Enterprise" } },
    [R_ASN] = { "asn", "an ASN", { "GeoLite2-ASN.mmdb", "GeoIP2-ASN.mmdb", NULL }, { "ASN", "ISP", NULL } },
    [R_ISP] = { "isp", "an ISP", { "GeoIP2-ISP.mmdb", NULL, NULL }, { "ISP", NULL, NULL } },
    [R_OTHER] = { NULL, NULL, { NULL }, { NULL } },
};

static geo_role role_of(const char *key)
{
    for (int r = 0; r < R_OTHER; r++)
        if (!strcmp(key, roles[r].name)) return (geo_role)r;
    return R_OTHER;
}

static bool type_ok(geo_role r, const geo_db *d)
{
    if (r == R_OTHER) return true;
    const char *t = d->mmdb.metadata.database_type ? d->mmdb.metadata.database_type : "";
    for (int i = 0; i < 3 && roles[r].accept[i]; i++)
        if (strcasestr(t, roles[r].accept[i])) return true;
    return false;
}

/* "key: message" into err (not inlined: the sizes are not known here). */
__attribute__((noinline)) static void key_msg(char *err, size_t errlen, const char *key, const char *msg)
{
    snprintf(err, errlen, "%s: %s", key, msg);
}

/* The database of a role ("city", ..., or a geo.db.NAME name): the setting,
 * else (the four standard roles) the standard file names in geo.path.
 * NULL with err empty when there is none; NULL with err set on a bad one. */
static geo_db *role_db(dql_session *s, const char *name, char *err, size_t errlen)
{
    err[0] = 0;
    geo_role r = role_of(name);
    char key[128];
    snprintf(key, sizeof key, r == R_OTHER ? "geo.db.%s" : "geo.%s", name);
    const char *v = dql_session_get(s, key);
    char e[400];
    geo_db *d = NULL;
    if (v && *v) {
        d = db_open(s, v, e, sizeof e);
        if (!d) { key_msg(err, errlen, key, e); return NULL; }
    } else if (r != R_OTHER) {
        char path[PATH_MAX];
        for (int i = 0; i < 3 && roles[r].defaults[i] && !d; i++) {
            if (!find_file(s, roles[r].defaults[i], path, sizeof path)) continue;
            d = db_open(s, roles[r].defaults[i], e, sizeof e);
            if (!d) { key_msg(err, errlen, key, e); return NULL; }
            v = roles[r].defaults[i];
        }
        if (!d) return NULL;
    } else {
        return NULL;
    }
    if (!type_ok(r, d)) {
        snprintf(err, errlen, "%s: '%s' is a %s database, not %s database", key, v,
                 d->mmdb.metadata.database_type ? d->mmdb.metadata.database_type : "?", roles[r].what);
        return NULL;
    }
    return d;
}

dql_status dql_geo_setting(dql_session *s, const char *key, const char *value, char *err, size_t errlen)
{
    const char *k = key + 4;
    geo_sess *gs = gsess(s);
    gs->gen++;
    if (!strcmp(k, "path")) return DQL_OK;
    if (!strcmp(k, "lang")) {
        if (!*value) { snprintf(err, errlen, "geo.lang: give a language code such as 'en'"); return DQL_ERR_CHECK; }
        return DQL_OK;
    }
    bool other = !strncmp(k, "db.", 3) && k[3];
    if (!other && role_of(k) == R_OTHER) {
        snprintf(err, errlen, "unknown setting '%s' (geo.city, geo.country, geo.asn, geo.isp, geo.db.NAME, geo.path, geo.lang)", key);
        return DQL_ERR_CHECK;
    }
    if (!*value) return DQL_OK;   /* '' unsets: back to the standard locations */
    char e[400];
    geo_db *d = db_open(s, value, e, sizeof e);
    if (!d) { key_msg(err, errlen, key, e); return DQL_ERR_CHECK; }
    geo_role r = other ? R_OTHER : role_of(k);
    if (!type_ok(r, d)) {
        snprintf(err, errlen, "%s: '%s' is a %s database, not %s database", key, value,
                 d->mmdb.metadata.database_type ? d->mmdb.metadata.database_type : "?", roles[r].what);
        return DQL_ERR_CHECK;
    }
    return DQL_OK;
}

/* ------------------------------------------------------------ fields */

#define LANG ((const char *)1)   /* replaced by geo.lang in paths */

enum { G_CITY, G_ASN };
static const struct gfield {
    const char *name;
    dql_type type;
    int group;
    const char *path[4];
} gfields[] = {
    { "country", DQL_T_CHARARRAY, G_CITY, { "country", "iso_code", NULL } },
    { "country_name", DQL_T_CHARARRAY, G_CITY, { "country", "names", LANG, NULL } },
    { "subdivision", DQL_T_CHARARRAY, G_CITY, { "subdivisions", "0", "iso_code", NULL } },
    { "city", DQL_T_CHARARRAY, G_CITY, { "city", "names", LANG, NULL } },
    { "postal", DQL_T_CHARARRAY, G_CITY, { "postal", "code", NULL } },
    { "lat", DQL_T_DOUBLE, G_CITY, { "location", "latitude", NULL } },
    { "lon", DQL_T_DOUBLE, G_CITY, { "location", "longitude", NULL } },
    { "accuracy_radius", DQL_T_INT, G_CITY, { "location", "accuracy_radius", NULL } },
    { "time_zone", DQL_T_CHARARRAY, G_CITY, { "location", "time_zone", NULL } },
    { "asn", DQL_T_LONG, G_ASN, { "autonomous_system_number", NULL } },
    { "as_org", DQL_T_CHARARRAY, G_ASN, { "autonomous_system_organization", NULL } },
};
#define NGF ((int)(sizeof gfields / sizeof gfields[0]))

static int gfield_find(const char *name, size_t n)
{
    for (int i = 0; i < NGF; i++)
        if (strlen(gfields[i].name) == n && !memcmp(gfields[i].name, name, n)) return i;
    return -1;
}

/* What to decode from one database: the requested fields grouped by their
 * top-level key; out[] is the index in the result row. */
typedef struct gget { int out; dql_type type; const char *rest[4]; } gget;
typedef struct gtop { const char *top; int nget; gget get[NGF]; } gtop;
typedef struct gplan { geo_db *db; int ntop; gtop top[NGF]; } gplan;

static void gplan_add(gplan *p, int field, int out, const char *lang)
{
    const struct gfield *f = &gfields[field];
    gtop *t = NULL;
    for (int i = 0; i < p->ntop; i++)
        if (!strcmp(p->top[i].top, f->path[0])) t = &p->top[i];
    if (!t) { t = &p->top[p->ntop++]; t->top = f->path[0]; t->nget = 0; }
    gget *g = &t->get[t->nget++];
    g->out = out;
    g->type = f->type;
    int k = 0;
    for (int i = 1; i < 4 && f->path[i]; i++) g->rest[k++] = f->path[i] == LANG ? lang : f->path[i];
    g->rest[k] = NULL;
}

/* A float as the double with the fewest digits that reads back as it
 * (1.1f gives 1.1, not 1.100000023841858). */
static double float_value(float f)
{
    char b[32];
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(b, sizeof b, "%.*g", prec, (double)f);
        double d = strtod(b, NULL);
        if ((float)d == f) return d;
    }
    return (double)f;
}

/* A decoded MMDB scalar as a value of the wanted type; null when absent or
 * of another kind. Strings point into the mapping. */
static dql_value conv_field(const MMDB_entry_data_s *d, dql_type want)
{
    if (!d->has_data) return dql_null();
    switch (want) {
    case DQL_T_CHARARRAY:
        if (d->type == MMDB_DATA_TYPE_UTF8_STRING) return dql_chararray(d->utf8_string, d->data_size);
        return dql_null();
    case DQL_T_DOUBLE:
        switch (d->type) {
        case MMDB_DATA_TYPE_DOUBLE: return dql_double(d->double_value);
        case MMDB_DATA_TYPE_FLOAT: return dql_double(float_value(d->float_value));
        case MMDB_DATA_TYPE_UINT16: return dql_double(d->uint16);
        case MMDB_DATA_TYPE_UINT32: return dql_double(d->uint32);
        case MMDB_DATA_TYPE_INT32: return dql_double(d->int32);
        default: return dql_null();
        }
    case DQL_T_INT:
    case DQL_T_LONG: {
        int64_t v;
        switch (d->type) {
        case MMDB_DATA_TYPE_UINT16: v = d->uint16; break;
        case MMDB_DATA_TYPE_UINT32: v = d->uint32; break;
        case MMDB_DATA_TYPE_INT32: v = d->int32; break;
        case MMDB_DATA_TYPE_UINT64: if (d->uint64 > INT64_MAX) return dql_null(); v = (int64_t)d->uint64; break;
        default: return dql_null();
        }
        if (want == DQL_T_INT) return v >= INT32_MIN && v <= INT32_MAX ? dql_int((int32_t)v) : dql_null();
        return dql_long(v);
    }
    default:
        return dql_null();
    }
}

static bool path_missing(int st)
{
    return st == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR || st == MMDB_INVALID_LOOKUP_PATH_ERROR;
}

/* Looks sa up in p's database and fills row[g->out] for each requested
 * field (left untouched, i.e. null, when absent). Returns an MMDB status. */
static int gplan_run(const gplan *p, const struct sockaddr *sa, dql_value *row)
{
    int st;
    MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&p->db->mmdb, sa, &st);
    if (st == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR) return MMDB_SUCCESS;
    if (st != MMDB_SUCCESS || !r.found_entry) return st;
    for (int i = 0; i < p->ntop; i++) {
        const gtop *t = &p->top[i];
        MMDB_entry_data_s d;
        const char *path[6];
        if (t->nget == 1) {
            path[0] = t->top;
            int k = 1;
            for (const char *const *q = t->get[0].rest; *q; q++) path[k++] = *q;
            path[k] = NULL;
            st = MMDB_aget_value(&r.entry, &d, path);
            if (path_missing(st)) continue;
            if (st) return st;
            row[t->get[0].out] = conv_field(&d, t->get[0].type);
            continue;
        }
        /* several fields under one key: find its map once */
        path[0] = t->top;
        path[1] = NULL;
        st = MMDB_aget_value(&r.entry, &d, path);
        if (path_missing(st)) continue;
        if (st) return st;
        if (!d.has_data || d.type != MMDB_DATA_TYPE_MAP) continue;
        MMDB_entry_s sub = { r.entry.mmdb, d.offset };
        for (int j = 0; j < t->nget; j++) {
            MMDB_entry_data_s v;
            st = MMDB_aget_value(&sub, &v, t->get[j].rest);
            if (path_missing(st)) continue;
            if (st) return st;
            row[t->get[j].out] = conv_field(&v, t->get[j].type);
        }
    }
    return MMDB_SUCCESS;
}

/* ------------------------------------------------------------ addresses */

typedef union gsa { struct sockaddr sa; struct sockaddr_in in4; struct sockaddr_in6 in6; } gsa;

/* The address of a BY value or function argument: 1 and addr (16 bytes,
 * v4 as ::ffff:a.b.c.d) when it is one, 0 for null, -1 when it is not an
 * address. */
static int value_addr(dql_value v, uint8_t addr[16])
{
    uint8_t b[16];
    int len;
    switch (v.type) {
    case DQL_T_NULL: return 0;
    case DQL_T_IP:
        len = (int)v.len;
        if (len != 4 && len != 16) return -1;
        memcpy(b, v.u.ip, (size_t)len);
        break;
    case DQL_T_CHARARRAY: case DQL_T_BYTEARRAY:
        if (!dql_ip_parse(v.u.s, v.len, b, &len)) return -1;
        break;
    default:
        return -1;
    }
    if (len == 4) {
        memset(addr, 0, 10);
        addr[10] = addr[11] = 0xff;
        memcpy(addr + 12, b, 4);
    } else {
        memcpy(addr, b, 16);
    }
    return 1;
}

static bool addr_is_v4(const uint8_t a[16])
{
    static const uint8_t pre[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    return !memcmp(a, pre, 12);
}

static void addr_sockaddr(const uint8_t a[16], gsa *s)
{
    memset(s, 0, sizeof *s);
    if (addr_is_v4(a)) {
        s->in4.sin_family = AF_INET;
        memcpy(&s->in4.sin_addr, a + 12, 4);
    } else {
        s->in6.sin6_family = AF_INET6;
        memcpy(&s->in6.sin6_addr, a, 16);
    }
}

static void warn_text(dql_buf *b, dql_value v)
{
    if (v.type == DQL_T_CHARARRAY || v.type == DQL_T_BYTEARRAY) dql_buf_printf(b, "'%.*s'", (int)(v.len > 64 ? 64 : v.len), v.u.s);
    else dql_value_format(b, v);
}

/* ------------------------------------------------------------ the cache */

/* Direct-mapped: slot = hash of the address; nv values per slot. */
typedef struct gcache {
    uint32_t mask;       /* slots - 1; no cache when slots == 0 */
    uint32_t nslots;
    int nv;
    struct gkey { uint64_t a, b; uint8_t used; } *keys;
    dql_value *vals;
    uint64_t hits, misses;
} gcache;

static void gcache_init(gcache *c, uint32_t slots, int nv)
{
    memset(c, 0, sizeof *c);
    c->nv = nv;
    if (!slots) return;
    uint32_t n = 1;
    while (n < slots && n < (1u << 24)) n <<= 1;
    c->nslots = n;
    c->mask = n - 1;
    c->keys = dql_xcalloc(n, sizeof *c->keys);
    c->vals = dql_xcalloc((size_t)n * (size_t)(nv ? nv : 1), sizeof(dql_value));
}

static void gcache_free(gcache *c) { free(c->keys); free(c->vals); }

/* The slot's values when addr is cached (hit), else NULL and *slot is where
 * to store it. */
static dql_value *gcache_get(gcache *c, const uint8_t addr[16], uint32_t *slot)
{
    uint64_t a, b;
    memcpy(&a, addr, 8);
    memcpy(&b, addr + 8, 8);
    uint64_t h = (a * 0x9E3779B97F4A7C15ULL) ^ (b * 0xC2B2AE3D27D4EB4FULL);
    h ^= h >> 29;
    uint32_t s = (uint32_t)(h >> 17) & c->mask;
    *slot = s;
    struct gkey *k = &c->keys[s];
    if (k->used && k->a == a && k->b == b) { c->hits++; return c->vals + (size_t)s * (size_t)c->nv; }
    c->misses++;
    return NULL;
}

static void gcache_put(gcache *c, uint32_t slot, const uint8_t addr[16], const dql_value *vals)
{
    struct gkey *k = &c->keys[slot];
    memcpy(&k->a, addr, 8);
    memcpy(&k->b, addr + 8, 8);
    k->used = 1;
    memcpy(c->vals + (size_t)slot * (size_t)c->nv, vals, sizeof(dql_value) * (size_t)c->nv);
}

/* ------------------------------------------------------------ ENRICH */

typedef struct enrich_plan {
    int nout;               /* geo fields appended */
    int field[NGF];         /* gfields index of each */
    gplan city, asn;        /* db NULL when the group is not wanted */
    uint32_t cache;
    char lang[32];
    char explain[600];
} enrich_plan;

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static bool arg_bool(const dql_value *v, bool *out)
{
    if (v->type == DQL_T_BOOL) { *out = v->u.i != 0; return true; }
    return false;
}

static dql_status enrich_plan_fn(const dql_xop_plan *xp, dql_schema **out, void **pstate, char *err, size_t errlen)
{
    if (!xp->by) { snprintf(err, errlen, "ENRICH needs BY and an address: ENRICH rel BY ip"); return DQL_ERR_CHECK; }
    dql_type bt = xp->by->type;
    if (bt != DQL_T_IP && bt != DQL_T_CHARARRAY && bt != DQL_T_BYTEARRAY && bt != DQL_T_ANY && bt != DQL_T_NULL) {
        snprintf(err, errlen, "BY takes an ip or a chararray, not %s", dql_type_name(bt));
        return DQL_ERR_CHECK;
    }
    if (xp->ntypes) { snprintf(err, errlen, "ENRICH takes no TYPES"); return DQL_ERR_CHECK; }
    bool want_city = true, want_asn = true;
    const dql_value *fields = NULL;
    int64_t cache = GEO_DEFAULT_CACHE;
    for (int i = 0; xp->with && i < xp->with->n; i++) {
        const dql_arg *a = &xp->with->a[i];
        const char *n = a->name ? a->name : "";
        if (!strcmp(n, "city")) {
            if (!arg_bool(&a->v, &want_city)) { snprintf(err, errlen, "city takes true or false"); return DQL_ERR_CHECK; }
        } else if (!strcmp(n, "asn")) {
            if (!arg_bool(&a->v, &want_asn)) { snprintf(err, errlen, "asn takes true or false"); return DQL_ERR_CHECK; }
        } else if (!strcmp(n, "fields")) {
            fields = &a->v;
        } else if (!strcmp(n, "cache")) {
            if (a->v.type != DQL_T_LONG || a->v.u.i < 0 || a->v.u.i > (1 << 24)) {
                snprintf(err, errlen, "cache takes a number of addresses from 0 (no cache) to 16777216");
                return DQL_ERR_CHECK;
            }
            cache = a->v.u.i;
        } else {
            snprintf(err, errlen, "unknown option '%s' (city, asn, fields, cache)", n);
            return DQL_ERR_CHECK;
        }
    }
    enrich_plan *p = dql_xcalloc(1, sizeof *p);
    p->cache = (uint32_t)cache;
    const char *lang = dql_session_get(xp->sess, "geo.lang");
    snprintf(p->lang, sizeof p->lang, "%s", lang && *lang ? lang : "en");
    if (fields) {
        int n = fields->type == DQL_T_TUPLE ? (int)fields->u.t->n : 1;
        for (int i = 0; i < n; i++) {
            dql_value f = fields->type == DQL_T_TUPLE ? fields->u.t->v[i] : *fields;
            int k = f.type == DQL_T_CHARARRAY ? gfield_find(f.u.s, f.len) : -1;
            if (k < 0) {
                dql_buf b = {0};
                for (int j = 0; j < NGF; j++) dql_buf_printf(&b, "%s%s", j ? ", " : "", gfields[j].name);
                if (f.type == DQL_T_CHARARRAY) snprintf(err, errlen, "unknown field '%.*s' in fields (%s)", (int)f.len, f.u.s, dql_buf_cstr(&b));
                else snprintf(err, errlen, "fields takes names: fields = (country, asn)");
                dql_buf_free(&b);
                free(p);
                return DQL_ERR_CHECK;
            }
            for (int j = 0; j < p->nout; j++)
                if (p->field[j] == k) { snprintf(err, errlen, "field '%s' is named twice in fields", gfields[k].name); free(p); return DQL_ERR_CHECK; }
            if ((gfields[k].group == G_CITY && !want_city) || (gfields[k].group == G_ASN && !want_asn)) continue;
            p->field[p->nout++] = k;
        }
    } else {
        for (int k = 0; k < NGF; k++)
            if ((gfields[k].group == G_CITY && want_city) || (gfields[k].group == G_ASN && want_asn)) p->field[p->nout++] = k;
    }
    if (p->nout == 0) { snprintf(err, errlen, "no field to add (city = false and asn = false?)"); free(p); return DQL_ERR_CHECK; }
    bool need_city = false, need_asn = false;
    for (int i = 0; i < p->nout; i++) {
        if (gfields[p->field[i]].group == G_CITY) need_city = true;
        else need_asn = true;
        if (dql_schema_find(xp->in, gfields[p->field[i]].name) >= 0) {
            snprintf(err, errlen, "the input already has a field '%s': rename it, or choose the fields with WITH (fields = (...))",
                     gfields[p->field[i]].name);
            free(p);
            return DQL_ERR_CHECK;
        }
    }
    char e[512];
    const char *gp = dql_session_get(xp->sess, "geo.path");
    if (need_city) {
        p->city.db = role_db(xp->sess, "city", e, sizeof e);
        if (!p->city.db && !e[0]) p->city.db = role_db(xp->sess, "country", e, sizeof e);
        if (!p->city.db) {
            if (e[0]) snprintf(err, errlen, "%s", e);
            else snprintf(err, errlen, "no City database: SET geo.city 'GeoLite2-City.mmdb' (none found in %s), or WITH (city = false)",
                          gp ? gp : GEO_DEFAULT_PATH);
            free(p);
            return DQL_ERR_CHECK;
        }
    }
    if (need_asn) {
        p->asn.db = role_db(xp->sess, "asn", e, sizeof e);
        if (!p->asn.db && !e[0]) p->asn.db = role_db(xp->sess, "isp", e, sizeof e);
        if (!p->asn.db) {
            if (e[0]) snprintf(err, errlen, "%s", e);
            else snprintf(err, errlen, "no ASN database: SET geo.asn 'GeoLite2-ASN.mmdb' (none found in %s), or WITH (asn = false)",
                          gp ? gp : GEO_DEFAULT_PATH);
            free(p);
            return DQL_ERR_CHECK;
        }
    }
    dql_schema *extra = dql_schema_new(0);
    for (int i = 0; i < p->nout; i++) {
        const struct gfield *f = &gfields[p->field[i]];
        dql_schema_add(extra, f->name, f->type, NULL);
        gplan_add(f->group == G_CITY ? &p->city : &p->asn, p->field[i], i, p->lang);
    }
    *out = dql_xop_schema(xp->in, extra);
    dql_schema_free(extra);
    int k = 0;
    if (p->city.db) k += snprintf(p->explain + k, sizeof p->explain - (size_t)k, "city %s (%s)", base_name(p->city.db->key), p->city.db->info);
    if (p->asn.db && k < (int)sizeof p->explain)
        k += snprintf(p->explain + k, sizeof p->explain - (size_t)k, "%sasn %s (%s)", k ? ", " : "", base_name(p->asn.db->key), p->asn.db->info);
    if (k < (int)sizeof p->explain) snprintf(p->explain + k, sizeof p->explain - (size_t)k, ", cache %u", p->cache);
    *pstate = p;
    return DQL_OK;
}

static void enrich_plan_free(void *ps) { free(ps); }

static void enrich_explain(void *ps, dql_buf *b)
{
    const enrich_plan *p = ps;
    dql_buf_printf(b, "[%s]", p->explain);
}

typedef struct enrich_st {
    const enrich_plan *p;
    dql_expr *by;
    dql_exec *ex;
    int nin;
    gcache cache;
} enrich_st;

static dql_status enrich_open(const dql_xop_plan *xp, void *ps, dql_exec *ex, void **st)
{
    const enrich_plan *p = ps;
    enrich_st *s = dql_xcalloc(1, sizeof *s);
    s->p = p;
    s->by = xp->by;
    s->ex = ex;
    s->nin = xp->in->n;
    gcache_init(&s->cache, p->cache, p->nout);
    *st = s;
    return DQL_OK;
}

static void enrich_close(void *st)
{
    enrich_st *s = st;
    gcache_free(&s->cache);
    free(s);
}

static dql_status lookup_error(dql_exec *ex, const char *who, const geo_db *d, int st)
{
    return dql_exec_error(ex, "%s: '%s': %s", who, d->key, MMDB_strerror(st));
}

static dql_status enrich_step(void *st, const dql_batch *in, int *pos, dql_batch *out, dql_arena *a, bool *finished)
{
    enrich_st *s = st;
    const enrich_plan *p = s->p;
    if (!in) { *finished = true; return DQL_OK; }
    dql_evctx cx = { a, s->ex, DQL_OK };
    int nin = s->nin, nout = p->nout;
    while (*pos < in->n && out->n < out->cap) {
        const dql_value *row = in->v + (size_t)*pos * (size_t)in->ncols;
        dql_value *o = out->v + (size_t)out->n * (size_t)out->ncols;
        dql_value v = dql_expr_eval(s->by, row, &cx);
        if (cx.st) return cx.st;
        memcpy(o, row, sizeof(dql_value) * (size_t)nin);
        dql_value *g = o + nin;
        memset(g, 0, sizeof(dql_value) * (size_t)nout);
        uint8_t addr[16];
        int r = value_addr(v, addr);
        if (r < 0) {
            dql_buf b = {0};
            warn_text(&b, v);
            dql_status ws = dql_exec_warn(s->ex, "ENRICH: not an IP address", "%s", dql_buf_cstr(&b));
            dql_buf_free(&b);
            if (ws) return ws;
        } else if (r > 0) {
            uint32_t slot = 0;
            const dql_value *hit = s->cache.nslots ? gcache_get(&s->cache, addr, &slot) : NULL;
            if (hit) {
                memcpy(g, hit, sizeof(dql_value) * (size_t)nout);
            } else {
                gsa sa;
                addr_sockaddr(addr, &sa);
                int mst;
                if (p->city.db && (mst = gplan_run(&p->city, &sa.sa, g)) != MMDB_SUCCESS) return lookup_error(s->ex, "ENRICH", p->city.db, mst);
                if (p->asn.db && (mst = gplan_run(&p->asn, &sa.sa, g)) != MMDB_SUCCESS) return lookup_error(s->ex, "ENRICH", p->asn.db, mst);
                if (s->cache.nslots) gcache_put(&s->cache, slot, addr, g);
            }
        }
        out->n++;
        (*pos)++;
    }
    return DQL_OK;
}

const dql_xop_def dql_xop_enrich = {
    "ENRICH",
    "ENRICH rel BY ip [WITH (city = true, asn = true, fields = (country, asn, ...), cache = 8192)]",
    "add country, country_name, subdivision, city, postal, lat, lon, accuracy_radius, time_zone, asn, as_org from MaxMind databases",
    enrich_plan_fn, enrich_plan_free, enrich_open, enrich_step, enrich_close, enrich_explain, false,
};

/* ------------------------------------------------------------ functions */

enum { FN_GEO, FN_ASN, FN_COUNTRY, FN_MMDB };

/* Per call site: the databases, resolved at the first call and again after
 * any SET geo.* (generation counter), and a cache of recent addresses. */
typedef struct fn_state {
    int kind;
    char *dbname;            /* MMDB: the constant database name */
    dql_session *sess;
    geo_sess *gs;
    unsigned gen;
    bool bound;
    int nout;
    int field[NGF];
    gplan city, asn;         /* GEO, ASN, COUNTRY */
    geo_db *db;              /* MMDB */
    char lang[32];           /* geo.lang: the paths point here */
    gcache cache;
} fn_state;

static void fn_cleanup(void *p)
{
    fn_state *f = p;
    if (!f) return;
    gcache_free(&f->cache);
    free(f->dbname);
    free(f);
}

static dql_status fn_prepare_kind(int kind, int argc, const dql_value *argv, const bool *consts, void **state, char *err, size_t errlen)
{
    fn_state *f = dql_xcalloc(1, sizeof *f);
    f->kind = kind;
    if (kind == FN_MMDB) {
        if (!consts[0] || argv[0].type != DQL_T_CHARARRAY) {
            snprintf(err, errlen, "the first argument names the database as a constant string: 'city', 'asn', ... or a geo.db.NAME name");
            free(f);
            return DQL_ERR_CHECK;
        }
        f->dbname = dql_xstrndup(argv[0].u.s, argv[0].len);
    }
    *state = f;
    return DQL_OK;
}

static dql_status prep_geo(int argc, const dql_value *argv, const bool *consts, void **state, char *err, size_t errlen)
{ return fn_prepare_kind(FN_GEO, argc, argv, consts, state, err, errlen); }
static dql_status prep_asn(int argc, const dql_value *argv, const bool *consts, void **state, char *err, size_t errlen)
{ return fn_prepare_kind(FN_ASN, argc, argv, consts, state, err, errlen); }
static dql_status prep_country(int argc, const dql_value *argv, const bool *consts, void **state, char *err, size_t errlen)
{ return fn_prepare_kind(FN_COUNTRY, argc, argv, consts, state, err, errlen); }
static dql_status prep_mmdb(int argc, const dql_value *argv, const bool *consts, void **state, char *err, size_t errlen)
{ return fn_prepare_kind(FN_MMDB, argc, argv, consts, state, err, errlen); }

/* Resolves the call site's databases in the running session. */
static dql_status fn_bind(fn_state *f, dql_fnctx *cx, const char *who)
{
    dql_session *s = cx->ex->sess;
    if (f->bound && f->sess == s && f->gen == f->gs->gen) return DQL_OK;
    f->sess = s;
    f->gs = gsess(s);
    f->gen = f->gs->gen;
    f->bound = false;
    memset(&f->city, 0, sizeof f->city);
    memset(&f->asn, 0, sizeof f->asn);
    gcache_free(&f->cache);
    memset(&f->cache, 0, sizeof f->cache);
    char e[512];
    const char *gp = dql_session_get(s, "geo.path");
    const char *lang = dql_session_get(s, "geo.lang");
    if (!lang || !*lang) lang = "en";
    snprintf(f->lang, sizeof f->lang, "%s", lang);
    f->nout = 0;
    if (f->kind == FN_MMDB) {
        f->db = role_db(s, f->dbname, e, sizeof e);
        if (!f->db) {
            if (e[0]) return dql_exec_error(cx->ex, "%s: %s", who, e);
            return dql_exec_error(cx->ex, "%s: no database '%s': SET geo.%s%s 'file.mmdb'", who, f->dbname,
                                  role_of(f->dbname) == R_OTHER ? "db." : "", f->dbname);
        }
        f->bound = true;
        return DQL_OK;
    }
    bool city = f->kind != FN_ASN, asn = f->kind == FN_GEO || f->kind == FN_ASN;
    if (city) {
        if (f->kind == FN_COUNTRY) {
            f->city.db = role_db(s, "country", e, sizeof e);
            if (!f->city.db && !e[0]) f->city.db = role_db(s, "city", e, sizeof e);
        } else {
            f->city.db = role_db(s, "city", e, sizeof e);
            if (!f->city.db && !e[0]) f->city.db = role_db(s, "country", e, sizeof e);
        }
        if (e[0]) return dql_exec_error(cx->ex, "%s: %s", who, e);
    }
    if (asn) {
        f->asn.db = role_db(s, "asn", e, sizeof e);
        if (!f->asn.db && !e[0]) f->asn.db = role_db(s, "isp", e, sizeof e);
        if (e[0]) return dql_exec_error(cx->ex, "%s: %s", who, e);
    }
    if (f->kind == FN_COUNTRY && !f->city.db)
        return dql_exec_error(cx->ex, "%s: no Country or City database: SET geo.country or geo.city (none found in %s)", who, gp ? gp : GEO_DEFAULT_PATH);
    if (f->kind == FN_ASN && !f->asn.db)
        return dql_exec_error(cx->ex, "%s: no ASN database: SET geo.asn 'GeoLite2-ASN.mmdb' (none found in %s)", who, gp ? gp : GEO_DEFAULT_PATH);
    if (f->kind == FN_GEO && !f->city.db && !f->asn.db)
        return dql_exec_error(cx->ex, "%s: no City or ASN database: SET geo.city and geo.asn (none found in %s)", who, gp ? gp : GEO_DEFAULT_PATH);
    for (int k = 0; k < NGF; k++) {
        bool want;
        if (f->kind == FN_COUNTRY) want = k == 0;
        else if (f->kind == FN_ASN) want = !strcmp(gfields[k].name, "asn");
        else want = gfields[k].group == G_CITY ? f->city.db != NULL : f->asn.db != NULL;
        if (!want) continue;
        f->field[f->nout] = k;
        gplan_add(gfields[k].group == G_CITY ? &f->city : &f->asn, k, f->nout, f->lang);
        f->nout++;
    }
    gcache_init(&f->cache, 1024, f->nout);
    f->bound = true;
    return DQL_OK;
}

/* The fields of GEO/ASN/COUNTRY for the address in argv[0]: vals[nout];
 * *null when the argument is null or not an address (counted warning). */
static dql_status fn_lookup(fn_state *f, dql_fnctx *cx, const char *who, dql_value arg, dql_value *vals, bool *null)
{
    dql_status st = fn_bind(f, cx, who);
    if (st) return st;
    uint8_t addr[16];
    int r = value_addr(arg, addr);
    *null = r <= 0;
    if (r < 0) {
        dql_buf b = {0};
        warn_text(&b, arg);
        char kind[64];
        snprintf(kind, sizeof kind, "%s: not an IP address", who);
        st = dql_exec_warn(cx->ex, kind, "%s", dql_buf_cstr(&b));
        dql_buf_free(&b);
        return st;
    }
    if (r == 0) return DQL_OK;
    uint32_t slot;
    const dql_value *hit = gcache_get(&f->cache, addr, &slot);
    if (hit) { memcpy(vals, hit, sizeof(dql_value) * (size_t)f->nout); return DQL_OK; }
    memset(vals, 0, sizeof(dql_value) * (size_t)f->nout);
    gsa sa;
    addr_sockaddr(addr, &sa);
    int mst;
    if (f->city.db && (mst = gplan_run(&f->city, &sa.sa, vals)) != MMDB_SUCCESS) return lookup_error(cx->ex, who, f->city.db, mst);
    if (f->asn.db && (mst = gplan_run(&f->asn, &sa.sa, vals)) != MMDB_SUCCESS) return lookup_error(cx->ex, who, f->asn.db, mst);
    gcache_put(&f->cache, slot, addr, vals);
    return DQL_OK;
}

static dql_status fn_geo(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    fn_state *f = cx->state;
    dql_value vals[NGF];
    bool null;
    dql_status st = fn_lookup(f, cx, "GEO", argv[0], vals, &null);
    *out = dql_null();
    if (st || null) return st;
    int n = 0;
    for (int i = 0; i < f->nout; i++) n += !dql_is_null(vals[i]);
    if (n == 0) return DQL_OK;   /* not in the databases */
    dql_map *m = dql_map_new(cx->arena, (uint32_t)n);
    n = 0;
    for (int i = 0; i < f->nout; i++) {
        if (dql_is_null(vals[i])) continue;
        const char *name = gfields[f->field[i]].name;
        m->k[n] = dql_chararray(name, strlen(name));
        m->v[n++] = vals[i];
    }
    out->type = DQL_T_MAP;
    out->u.m = m;
    return DQL_OK;
}

static dql_status fn_asn(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    dql_value vals[NGF];
    bool null;
    dql_status st = fn_lookup(cx->state, cx, "ASN", argv[0], vals, &null);
    *out = st || null ? dql_null() : vals[0];
    return st;
}

static dql_status fn_country(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    dql_value vals[NGF];
    bool null;
    dql_status st = fn_lookup(cx->state, cx, "COUNTRY", argv[0], vals, &null);
    *out = st || null ? dql_null() : vals[0];
    return st;
}

/* Any MMDB value as a dql value: maps become maps, arrays bags of 1-tuples. */
static dql_value conv_any(MMDB_entry_data_list_s **pl, dql_arena *a, int depth)
{
    MMDB_entry_data_list_s *l = *pl;
    if (!l || depth > 64) return dql_null();
    *pl = l->next;
    const MMDB_entry_data_s *d = &l->entry_data;
    switch (d->type) {
    case MMDB_DATA_TYPE_MAP: {
        dql_map *m = dql_map_new(a, d->data_size);
        for (uint32_t i = 0; i < d->data_size; i++) {
            MMDB_entry_data_list_s *k = *pl;
            if (!k) { m->n = i; break; }
            *pl = k->next;
            m->k[i] = k->entry_data.type == MMDB_DATA_TYPE_UTF8_STRING
                ? dql_chararray(k->entry_data.utf8_string, k->entry_data.data_size) : dql_chararray("", 0);
            m->v[i] = conv_any(pl, a, depth + 1);
        }
        dql_value v = {0};
        v.type = DQL_T_MAP;
        v.u.m = m;
        return v;
    }
    case MMDB_DATA_TYPE_ARRAY: {
        dql_bag *b = dql_bag_new(a, d->data_size);
        for (uint32_t i = 0; i < d->data_size; i++) {
            b->t[i] = dql_tuple_new(a, 1);
            b->t[i]->v[0] = conv_any(pl, a, depth + 1);
        }
        dql_value v = {0};
        v.type = DQL_T_BAG;
        v.u.b = b;
        return v;
    }
    case MMDB_DATA_TYPE_UTF8_STRING: return dql_chararray(d->utf8_string, d->data_size);
    case MMDB_DATA_TYPE_BYTES: return dql_str(DQL_T_BYTEARRAY, (const char *)d->bytes, d->data_size);
    case MMDB_DATA_TYPE_DOUBLE: return dql_double(d->double_value);
    case MMDB_DATA_TYPE_FLOAT: return dql_double(float_value(d->float_value));
    case MMDB_DATA_TYPE_UINT16: return dql_int(d->uint16);
    case MMDB_DATA_TYPE_UINT32: return dql_long(d->uint32);
    case MMDB_DATA_TYPE_INT32: return dql_int(d->int32);
    case MMDB_DATA_TYPE_BOOLEAN: return dql_bool(d->boolean);
    case MMDB_DATA_TYPE_UINT64:
        if (d->uint64 <= INT64_MAX) return dql_long((int64_t)d->uint64);
        {
            char *s = dql_arena_printf(a, "%llu", (unsigned long long)d->uint64);
            return dql_chararray(s, strlen(s));
        }
    case MMDB_DATA_TYPE_UINT128: {
        char *s;
#if MMDB_UINT128_IS_BYTE_ARRAY
        s = dql_arena_alloc(a, 35);
        s[0] = '0'; s[1] = 'x';
        for (int i = 0; i < 16; i++) snprintf(s + 2 + 2 * i, 3, "%02x", d->uint128[i]);
#else
        s = dql_arena_printf(a, "0x%016llx%016llx", (unsigned long long)(d->uint128 >> 64), (unsigned long long)(uint64_t)d->uint128);
#endif
        return dql_chararray(s, strlen(s));
    }
    default: return dql_null();
    }
}

static dql_status fn_mmdb(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    fn_state *f = cx->state;
    *out = dql_null();
    dql_status st = fn_bind(f, cx, "MMDB");
    if (st) return st;
    uint8_t addr[16];
    int r = value_addr(argv[1], addr);
    if (r < 0) {
        dql_buf b = {0};
        warn_text(&b, argv[1]);
        st = dql_exec_warn(cx->ex, "MMDB: not an IP address", "%s", dql_buf_cstr(&b));
        dql_buf_free(&b);
        return st;
    }
    if (r == 0) return DQL_OK;
    const char *path[34];
    int np = 0;
    for (int i = 2; i < argc; i++) {
        if (np == 32) return dql_exec_error(cx->ex, "MMDB: a path of more than 32 keys");
        dql_value p = argv[i];
        if (dql_is_null(p)) return DQL_OK;
        if (p.type == DQL_T_CHARARRAY || p.type == DQL_T_BYTEARRAY) path[np++] = dql_arena_strndup(cx->arena, p.u.s, p.len);
        else if (p.type == DQL_T_INT || p.type == DQL_T_LONG) path[np++] = dql_arena_printf(cx->arena, "%lld", (long long)p.u.i);
        else return dql_exec_error(cx->ex, "MMDB: a path key must be a string or an array index, not %s", dql_type_name(p.type));
    }
    path[np] = NULL;
    gsa sa;
    addr_sockaddr(addr, &sa);
    int mst;
    MMDB_lookup_result_s res = MMDB_lookup_sockaddr(&f->db->mmdb, &sa.sa, &mst);
    if (mst == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR) return DQL_OK;
    if (mst) return lookup_error(cx->ex, "MMDB", f->db, mst);
    if (!res.found_entry) return DQL_OK;
    MMDB_entry_data_s d;
    mst = MMDB_aget_value(&res.entry, &d, path);
    if (path_missing(mst)) return DQL_OK;
    if (mst) return lookup_error(cx->ex, "MMDB", f->db, mst);
    if (!d.has_data) return DQL_OK;
    if (d.type == MMDB_DATA_TYPE_MAP || d.type == MMDB_DATA_TYPE_ARRAY) {
        MMDB_entry_s sub = { res.entry.mmdb, d.offset };
        MMDB_entry_data_list_s *list = NULL;
        mst = MMDB_get_entry_data_list(&sub, &list);
        if (mst) { MMDB_free_entry_data_list(list); return lookup_error(cx->ex, "MMDB", f->db, mst); }
        MMDB_entry_data_list_s *l = list;
        *out = conv_any(&l, cx->arena, 0);
        MMDB_free_entry_data_list(list);
        return DQL_OK;
    }
    MMDB_entry_data_list_s one = { d, NULL, NULL }, *l = &one;
    *out = conv_any(&l, cx->arena, 0);
    return DQL_OK;
}

static dql_type tc_addr(int argc, const dql_field *args, const char *fn, char *err, size_t errlen)
{
    dql_type t = args[0].type;
    if (t != DQL_T_IP && t != DQL_T_CHARARRAY && t != DQL_T_BYTEARRAY && t != DQL_T_ANY && t != DQL_T_NULL) {
        snprintf(err, errlen, "takes an ip or a chararray, not %s (%s)", dql_type_name(t), fn);
        return DQL_T__COUNT;
    }
    return DQL_T_NULL;
}

static dql_type tc_geo(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{ return tc_addr(argc, args, "GEO(ip)", err, errlen) == DQL_T__COUNT ? DQL_T__COUNT : DQL_T_MAP; }
static dql_type tc_asn(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{ return tc_addr(argc, args, "ASN(ip)", err, errlen) == DQL_T__COUNT ? DQL_T__COUNT : DQL_T_LONG; }
static dql_type tc_country(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{ return tc_addr(argc, args, "COUNTRY(ip)", err, errlen) == DQL_T__COUNT ? DQL_T__COUNT : DQL_T_CHARARRAY; }
static dql_type tc_mmdb(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{ return tc_addr(argc - 1, args + 1, "MMDB('db', ip, 'key', ...)", err, errlen) == DQL_T__COUNT ? DQL_T__COUNT : DQL_T_ANY; }

const dql_func_def dql_fn_geo[] = {
    { "GEO", 1, 1, DQL_T_MAP, tc_geo, fn_geo, NULL, prep_geo, fn_cleanup, "address", "GEO(ip)",
      "map of country, country_name, subdivision, city, postal, lat, lon, accuracy_radius, time_zone, asn, as_org (geo.city, geo.asn)" },
    { "ASN", 1, 1, DQL_T_LONG, tc_asn, fn_asn, NULL, prep_asn, fn_cleanup, "address", "ASN(ip)",
      "autonomous system number of an address (geo.asn), null when unknown" },
    { "COUNTRY", 1, 1, DQL_T_CHARARRAY, tc_country, fn_country, NULL, prep_country, fn_cleanup, "address", "COUNTRY(ip)",
      "ISO country code of an address (geo.country or geo.city), null when unknown" },
    { "MMDB", 2, -1, DQL_T_ANY, tc_mmdb, fn_mmdb, NULL, prep_mmdb, fn_cleanup, "address", "MMDB('db', ip, 'key', ...)",
      "any field of a MaxMind database (city, country, asn, isp or geo.db.NAME); maps and arrays become maps and bags" },
    { 0 },
};
