/* fn_files.c — the file analyzers, run in the process (no fork per file):
 * HASH (libcrypto), FILETYPE and MIME (libmagic), STRINGS, YARA (libyara,
 * rules compiled once per call site) and CLAMAV (libclamav, the signature
 * database loaded once per call site). ENTROPY, which they are used with,
 * is in fn_string.c.
 *
 * The first argument is the file: a bytearray is its content (the content
 * column of files()), a chararray is a path to read. A file that cannot be
 * read gives null and a counted warning. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include "files.h"

#ifdef HAVE_YARA
#include <yara.h>
#endif
#ifdef HAVE_LIBCLAMAV
#include <clamav.h>
#endif

/* A path argument as a NUL-terminated string in the arena. */
static const char *path_of(dql_fnctx *cx, dql_value v)
{
    return dql_arena_strndup(cx->arena, v.len ? v.u.s : "", v.len);
}

static bool is_path(dql_value v) { return v.type == DQL_T_CHARARRAY || v.type == DQL_T_DOMAIN; }

/* Reads a whole file into the arena; false after a warning. */
static bool read_path(dql_fnctx *cx, const char *fn, const char *path, const char **p, size_t *n, dql_status *st)
{
    char err[256];
    size_t len;
    char *text = dql_read_file(path, &len, err, sizeof err);
    if (!text) {
        *st = dql_exec_warn(cx->ex, "file functions: cannot read", "%s: %s", fn, err);
        return false;
    }
    *p = dql_arena_memdup(cx->arena, text, len);
    *n = len;
    free(text);
    return true;
}

/* Type check shared by the functions whose first argument is a file. */
static bool tc_file_arg(const dql_field *a, const char *fn, char *err, size_t errlen)
{
    dql_type t = a->type;
    if (t == DQL_T_CHARARRAY || t == DQL_T_BYTEARRAY || t == DQL_T_DOMAIN || t == DQL_T_ANY || t == DQL_T_NULL)
        return true;
    snprintf(err, errlen, "takes a file: its content (bytearray) or its path (chararray), not %s", dql_type_name(t));
    (void)fn;
    return false;
}

/* ---------------------------------------------------------------- HASH */

static dql_type tc_hash(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
#ifndef HAVE_LIBCRYPTO
    snprintf(err, errlen, "HASH is not available in this build (no libcrypto)");
    return DQL_T__COUNT;
#endif
    if (!tc_file_arg(&args[0], "HASH", err, errlen)) return DQL_T__COUNT;
    if (argc > 1 && !dql_type_is_stringlike(args[1].type) && args[1].type != DQL_T_NULL && args[1].type != DQL_T_ANY) {
        snprintf(err, errlen, "HASH's second argument is the digest name: 'md5', 'sha1', 'sha256' or 'sha512'");
        return DQL_T__COUNT;
    }
    return DQL_T_CHARARRAY;
}

static dql_status prep_hash(int argc, const dql_value *argv, const bool *consts, void **state, char *err, size_t errlen)
{
    int alg = DQL_HASH_SHA256;
    if (argc > 1) {
        if (!consts[1]) { *state = NULL; return DQL_OK; }
        alg = dql_is_null(argv[1]) ? -1 : dql_hash_alg(argv[1].u.s, argv[1].len);
        if (alg < 0) {
            snprintf(err, errlen, "unknown digest '%.*s' (md5, sha1, sha256, sha512)", (int)argv[1].len, argv[1].u.s);
            return DQL_ERR_CHECK;
        }
    }
    int *s = dql_xmalloc(sizeof *s);
    *s = alg;
    *state = s;
    return DQL_OK;
}

static void free_state(void *st) { free(st); }

static dql_status fn_hash(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    *out = dql_null();
    if (dql_is_null(argv[0])) return DQL_OK;
    int alg;
    if (cx->state) alg = *(int *)cx->state;
    else {
        if (dql_is_null(argv[1])) return DQL_OK;
        alg = dql_hash_alg(argv[1].u.s, argv[1].len);
        if (alg < 0)
            return dql_exec_warn(cx->ex, "HASH: unknown digest", "'%.*s' is not md5, sha1, sha256 or sha512",
                                 (int)(argv[1].len > 40 ? 40 : argv[1].len), argv[1].u.s);
    }
    dql_mhash h;
    if (!dql_mhash_init(&h, 1u << alg)) return dql_exec_error(cx->ex, "HASH: cannot start a digest");
    if (is_path(argv[0])) {
        const char *path = path_of(cx, argv[0]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        char buf[1 << 16];
        ssize_t r = 0;
        if (fd >= 0)
            while ((r = read(fd, buf, sizeof buf)) > 0 || (r < 0 && errno == EINTR))
                if (r > 0) dql_mhash_update(&h, buf, (size_t)r);
        if (fd < 0 || r < 0) {
            int e = errno;
            if (fd >= 0) close(fd);
            dql_mhash_free(&h);
            return dql_exec_warn(cx->ex, "file functions: cannot read", "HASH: '%s': %s", path, strerror(e));
        }
        close(fd);
    } else {
        dql_mhash_update(&h, argv[0].u.s, argv[0].len);
    }
    char hex[130];
    size_t n = dql_mhash_final(&h, alg, hex);
    dql_mhash_free(&h);
    *out = dql_chararray_copy(cx->arena, hex, n);
    return DQL_OK;
}

/* ------------------------------------------------------- FILETYPE, MIME */

static dql_type tc_magic(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
#ifndef HAVE_LIBMAGIC
    snprintf(err, errlen, "FILETYPE and MIME are not available in this build (no libmagic)");
    return DQL_T__COUNT;
#endif
    if (!tc_file_arg(&args[0], "FILETYPE/MIME", err, errlen)) return DQL_T__COUNT;
    return DQL_T_CHARARRAY;
}

static dql_status magic_of(dql_fnctx *cx, dql_value x, bool mime, dql_value *out)
{
    *out = dql_null();
    if (dql_is_null(x)) return DQL_OK;
    char err[256];
    const char *fn = mime ? "MIME" : "FILETYPE";
    if (is_path(x)) {
        const char *path = path_of(cx, x);
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0) return dql_exec_warn(cx->ex, "file functions: cannot read", "%s: '%s': %s", fn, path, strerror(errno));
        bool ok = dql_magic_fd(fd, mime, cx->arena, out, err, sizeof err);
        close(fd);
        if (!ok) return dql_exec_warn(cx->ex, "file functions: libmagic", "%s: '%s': %s", fn, path, err);
        return DQL_OK;
    }
    if (!dql_magic_buf(x.u.s, x.len, mime, cx->arena, out, err, sizeof err))
        return dql_exec_warn(cx->ex, "file functions: libmagic", "%s: %s", fn, err);
    return DQL_OK;
}

static dql_status fn_filetype(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    return magic_of(cx, argv[0], false, out);
}

static dql_status fn_mime(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    return magic_of(cx, argv[0], true, out);
}

/* -------------------------------------------------------------- STRINGS */

static dql_type tc_strings(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    if (!tc_file_arg(&args[0], "STRINGS", err, errlen)) return DQL_T__COUNT;
    if (argc > 1 && !dql_type_is_numeric(args[1].type) && args[1].type != DQL_T_NULL && args[1].type != DQL_T_ANY) {
        snprintf(err, errlen, "STRINGS's second argument is the shortest length (an integer)");
        return DQL_T__COUNT;
    }
    dql_schema *s = dql_schema_new(0);
    dql_schema_add(s, "string", DQL_T_CHARARRAY, NULL);
    *sub = s;
    return DQL_T_BAG;
}

/* STRINGS(x[, min_len = 4]): the runs of printable ASCII (and tab) of at
 * least min_len bytes, as `strings -a` prints them. */
static dql_status fn_strings(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    *out = dql_null();
    if (dql_is_null(argv[0])) return DQL_OK;
    int64_t min = 4;
    if (argc > 1) {
        if (dql_is_null(argv[1])) return DQL_OK;
        min = argv[1].type == DQL_T_DOUBLE ? (int64_t)argv[1].u.d : argv[1].u.i;
        if (min < 1) min = 1;
    }
    const char *p;
    size_t n;
    dql_status st = DQL_OK;
    if (is_path(argv[0])) {
        if (!read_path(cx, "STRINGS", path_of(cx, argv[0]), &p, &n, &st)) return st;
    } else { p = argv[0].u.s; n = argv[0].len; }
    dql_bag_builder bb = {0};
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = i < n ? (unsigned char)p[i] : 0;
        bool pr = (c >= 0x20 && c < 0x7f) || c == '\t';
        if (pr) continue;
        if (i - start >= (size_t)min) {
            dql_tuple *t = dql_tuple_new(cx->arena, 1);
            t->v[0] = dql_chararray(p + start, i - start);
            dql_bag_builder_add(&bb, t);
        }
        start = i + 1;
    }
    dql_value v = {0};
    v.type = DQL_T_BAG;
    v.u.b = dql_bag_builder_finish(&bb, cx->arena);
    dql_bag_builder_free(&bb);
    *out = v;
    return DQL_OK;
}

/* ----------------------------------------------------------------- YARA */

/* (rule, namespace, tags: {(tag)}, meta: map, strings: {(id, offset, data)}) */
static dql_schema *yara_schema(void)
{
    dql_schema *tags = dql_schema_new(0);
    dql_schema_add(tags, "tag", DQL_T_CHARARRAY, NULL);
    dql_schema *strs = dql_schema_new(0);
    dql_schema_add(strs, "id", DQL_T_CHARARRAY, NULL);
    dql_schema_add(strs, "offset", DQL_T_LONG, NULL);
    dql_schema_add(strs, "data", DQL_T_BYTEARRAY, NULL);
    dql_schema *s = dql_schema_new(0);
    dql_schema_add(s, "rule", DQL_T_CHARARRAY, NULL);
    dql_schema_add(s, "namespace", DQL_T_CHARARRAY, NULL);
    dql_schema_add(s, "tags", DQL_T_BAG, tags);
    dql_schema_add(s, "meta", DQL_T_MAP, NULL);
    dql_schema_add(s, "strings", DQL_T_BAG, strs);
    dql_schema_free(tags);
    dql_schema_free(strs);
    return s;
}

static dql_type tc_yara(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
#ifndef HAVE_YARA
    snprintf(err, errlen, "YARA is not available in this build (no libyara)");
    return DQL_T__COUNT;
#endif
    if (!tc_file_arg(&args[0], "YARA", err, errlen)) return DQL_T__COUNT;
    *sub = yara_schema();
    return DQL_T_BAG;
}

#ifdef HAVE_YARA
typedef struct yara_st { YR_RULES *rules; } yara_st;

typedef struct yara_cerr { char *err; size_t errlen; int n; } yara_cerr;

static void yara_compile_cb(int level, const char *file, int line, const YR_RULE *rule, const char *msg, void *ud)
{
    (void)rule;
    yara_cerr *ce = ud;
    if (level != YARA_ERROR_LEVEL_ERROR || ce->n++) return;
    snprintf(ce->err, ce->errlen, "%s:%d: %s", file ? file : "rules", line, msg);
}

/* The rules of a constant file, compiled once for the call site. */
static dql_status prep_yara(int argc, const dql_value *argv, const bool *consts, void **state, char *err, size_t errlen)
{
    if (!consts[1] || dql_is_null(argv[1]) || !dql_type_is_stringlike((dql_type)argv[1].type)) {
        snprintf(err, errlen, "the rules file must be a constant string: YARA(x, 'rules.yar')");
        return DQL_ERR_CHECK;
    }
    char path[4096];
    snprintf(path, sizeof path, "%.*s", (int)argv[1].len, argv[1].u.s);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read rules '%s': %s", path, strerror(errno));
        return DQL_ERR_CHECK;
    }
    if (yr_initialize() != ERROR_SUCCESS) {
        fclose(f);
        snprintf(err, errlen, "libyara cannot start");
        return DQL_ERR_CHECK;
    }
    YR_COMPILER *c = NULL;
    if (yr_compiler_create(&c) != ERROR_SUCCESS) {
        fclose(f);
        yr_finalize();
        snprintf(err, errlen, "libyara: out of memory");
        return DQL_ERR_CHECK;
    }
    yara_cerr ce = { err, errlen, 0 };
    yr_compiler_set_callback(c, yara_compile_cb, &ce);
    int nerr = yr_compiler_add_file(c, f, NULL, path);
    fclose(f);
    YR_RULES *rules = NULL;
    if (nerr == 0 && yr_compiler_get_rules(c, &rules) != ERROR_SUCCESS) nerr = 1;
    yr_compiler_destroy(c);
    if (nerr) {
        if (!ce.n) snprintf(err, errlen, "cannot compile '%s'", path);
        yr_finalize();
        return DQL_ERR_CHECK;
    }
    yara_st *s = dql_xcalloc(1, sizeof *s);
    s->rules = rules;
    *state = s;
    return DQL_OK;
}

static void cleanup_yara(void *state)
{
    yara_st *s = state;
    if (!s) return;
    yr_rules_destroy(s->rules);
    yr_finalize();
    free(s);
}

typedef struct yara_scan { dql_fnctx *cx; dql_bag_builder bb; } yara_scan;

static dql_value bag_of(dql_arena *a, dql_bag_builder *bb)
{
    dql_value v = {0};
    v.type = DQL_T_BAG;
    v.u.b = dql_bag_builder_finish(bb, a);
    dql_bag_builder_free(bb);
    return v;
}

static int yara_scan_cb(YR_SCAN_CONTEXT *ctx, int message, void *data, void *ud)
{
    if (message != CALLBACK_MSG_RULE_MATCHING) return CALLBACK_CONTINUE;
    yara_scan *ys = ud;
    dql_arena *a = ys->cx->arena;
    YR_RULE *rule = data;
    dql_tuple *t = dql_tuple_new(a, 5);
    t->v[0] = dql_chararray_copy(a, rule->identifier, strlen(rule->identifier));
    const char *ns = rule->ns && rule->ns->name ? rule->ns->name : "";
    t->v[1] = dql_chararray_copy(a, ns, strlen(ns));
    dql_bag_builder tb = {0};
    const char *tag;
    yr_rule_tags_foreach(rule, tag)
    {
        dql_tuple *tt = dql_tuple_new(a, 1);
        tt->v[0] = dql_chararray_copy(a, tag, strlen(tag));
        dql_bag_builder_add(&tb, tt);
    }
    t->v[2] = bag_of(a, &tb);
    uint32_t nm = 0;
    const YR_META *meta;
    yr_rule_metas_foreach(rule, meta) nm++;
    dql_map *m = dql_map_new(a, nm);
    uint32_t i = 0;
    yr_rule_metas_foreach(rule, meta)
    {
        m->k[i] = dql_chararray_copy(a, meta->identifier, strlen(meta->identifier));
        if (meta->type == META_TYPE_INTEGER) m->v[i] = dql_long(meta->integer);
        else if (meta->type == META_TYPE_BOOLEAN) m->v[i] = dql_bool(meta->integer != 0);
        else m->v[i] = dql_chararray_copy(a, meta->string ? meta->string : "", meta->string ? strlen(meta->string) : 0);
        i++;
    }
    m->n = i;
    t->v[3].type = DQL_T_MAP;
    t->v[3].u.m = m;
    dql_bag_builder sb = {0};
    const YR_STRING *s;
    yr_rule_strings_foreach(rule, s)
    {
        /* libyara keeps matches at unaligned addresses: each is copied out
         * (yr_string_matches_foreach would read them in place) */
        const char *mp = (const char *)ctx->matches[s->idx].head;
        while (mp) {
            YR_MATCH match;
            memcpy(&match, mp, sizeof match);
            mp = (const char *)match.next;
            if (match.is_private) continue;
            dql_tuple *st = dql_tuple_new(a, 3);
            st->v[0] = dql_chararray_copy(a, s->identifier, strlen(s->identifier));
            st->v[1] = dql_long(match.base + match.offset);
            st->v[2] = dql_str(DQL_T_BYTEARRAY, dql_arena_memdup(a, match.data, (size_t)match.data_length),
                               (size_t)match.data_length);
            dql_bag_builder_add(&sb, st);
        }
    }
    t->v[4] = bag_of(a, &sb);
    dql_bag_builder_add(&ys->bb, t);
    return CALLBACK_CONTINUE;
}

static dql_status fn_yara(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    *out = dql_null();
    yara_st *s = cx->state;
    if (dql_is_null(argv[0]) || !s) return DQL_OK;
    yara_scan ys = { cx, {0} };
    int rc;
    const char *path = NULL;
    if (is_path(argv[0])) {
        path = path_of(cx, argv[0]);
        rc = yr_rules_scan_file(s->rules, path, 0, yara_scan_cb, &ys, 60);
    } else
        rc = yr_rules_scan_mem(s->rules, (const uint8_t *)(argv[0].len ? argv[0].u.s : ""), argv[0].len, 0,
                               yara_scan_cb, &ys, 60);
    if (rc != ERROR_SUCCESS) {
        dql_bag_builder_free(&ys.bb);
        if (path)
            return dql_exec_warn(cx->ex, "YARA: scan failed", "'%s': libyara error %d%s", path, rc,
                                 rc == ERROR_COULD_NOT_OPEN_FILE || rc == ERROR_COULD_NOT_MAP_FILE ? " (cannot read the file)" : "");
        return dql_exec_warn(cx->ex, "YARA: scan failed", "libyara error %d", rc);
    }
    *out = bag_of(cx->arena, &ys.bb);
    return DQL_OK;
}
#else
static dql_status fn_yara(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    *out = dql_null();
    return DQL_OK;
}
#define prep_yara NULL
#define cleanup_yara NULL
#endif

/* --------------------------------------------------------------- CLAMAV */

static dql_type tc_clamav(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
#ifndef HAVE_LIBCLAMAV
    snprintf(err, errlen, "CLAMAV is not available in this build (no libclamav)");
    return DQL_T__COUNT;
#endif
    if (!tc_file_arg(&args[0], "CLAMAV", err, errlen)) return DQL_T__COUNT;
    return DQL_T_CHARARRAY;
}

#ifdef HAVE_LIBCLAMAV
typedef struct clam_st { struct cl_engine *engine; } clam_st;

/* libclamav's messages: kept quiet (failures come back as status codes). */
static void clam_msg(enum cl_msg sev, const char *full, const char *msg, void *ctx)
{
    (void)sev; (void)full; (void)msg; (void)ctx;
}

static dql_status prep_clamav(int argc, const dql_value *argv, const bool *consts, void **state, char *err, size_t errlen)
{
    if (!consts[1] || dql_is_null(argv[1]) || !dql_type_is_stringlike((dql_type)argv[1].type)) {
        snprintf(err, errlen, "the database must be a constant string: CLAMAV(x, '/var/lib/clamav')");
        return DQL_ERR_CHECK;
    }
    static bool inited;
    cl_set_clcb_msg(clam_msg);
    if (!inited) {
        cl_error_t r = cl_init(CL_INIT_DEFAULT);
        if (r != CL_SUCCESS) {
            snprintf(err, errlen, "libclamav cannot start: %s", cl_strerror(r));
            return DQL_ERR_CHECK;
        }
        inited = true;
    }
    char path[4096];
    snprintf(path, sizeof path, "%.*s", (int)argv[1].len, argv[1].u.s);
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "no signature database '%s': %s", path, strerror(errno));
        return DQL_ERR_CHECK;
    }
    struct cl_engine *e = cl_engine_new();
    if (!e) {
        snprintf(err, errlen, "libclamav: out of memory");
        return DQL_ERR_CHECK;
    }
    unsigned int sigs = 0;
    cl_error_t r = cl_load(path, e, &sigs, CL_DB_STDOPT);
    if (r == CL_SUCCESS) r = cl_engine_compile(e);
    if (r != CL_SUCCESS) {
        snprintf(err, errlen, "cannot load the signatures in '%s': %s", path, cl_strerror(r));
        cl_engine_free(e);
        return DQL_ERR_CHECK;
    }
    clam_st *s = dql_xcalloc(1, sizeof *s);
    s->engine = e;
    *state = s;
    return DQL_OK;
}

static void cleanup_clamav(void *state)
{
    clam_st *s = state;
    if (!s) return;
    cl_engine_free(s->engine);
    free(s);
}

/* CLAMAV(x, dbdir): the name of the first signature that matches, null when
 * the file is clean. */
static dql_status fn_clamav(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    *out = dql_null();
    clam_st *s = cx->state;
    if (dql_is_null(argv[0]) || !s) return DQL_OK;
    struct cl_scan_options opts;
    memset(&opts, 0, sizeof opts);
    opts.parse = ~0u;
    const char *virname = NULL;
    unsigned long scanned = 0;
    cl_error_t r;
    const char *path = NULL;
    if (is_path(argv[0])) {
        path = path_of(cx, argv[0]);
        r = cl_scanfile(path, &virname, &scanned, s->engine, &opts);
    } else {
        cl_fmap_t *m = cl_fmap_open_memory(argv[0].len ? argv[0].u.s : "", argv[0].len);
        if (!m) return dql_exec_error(cx->ex, "CLAMAV: out of memory");
        r = cl_scanmap_callback(m, NULL, &virname, &scanned, s->engine, &opts, NULL);
        cl_fmap_close(m);
    }
    if (r == CL_VIRUS) {
        if (virname) *out = dql_chararray_copy(cx->arena, virname, strlen(virname));
        return DQL_OK;
    }
    if (r == CL_CLEAN) return DQL_OK;
    return dql_exec_warn(cx->ex, "CLAMAV: scan failed", "%s%s%s%s", path ? "'" : "", path ? path : "",
                         path ? "': " : "", cl_strerror(r));
}
#else
static dql_status fn_clamav(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    *out = dql_null();
    return DQL_OK;
}
#define prep_clamav NULL
#define cleanup_clamav NULL
#endif

/* ---------------------------------------------------------------- table */

const dql_func_def dql_fn_files[] = {
    { "HASH", 1, 2, DQL_T_CHARARRAY, tc_hash, fn_hash, NULL, prep_hash, free_state, "file",
      "HASH(file[, 'md5'|'sha1'|'sha256'|'sha512'])",
      "hex digest of a file (content bytes or a path); sha256 by default" },
    { "FILETYPE", 1, 1, DQL_T_CHARARRAY, tc_magic, fn_filetype, NULL, NULL, NULL, "file", "FILETYPE(file)",
      "libmagic's description of a file (content bytes or a path), as file(1) prints it" },
    { "MIME", 1, 1, DQL_T_CHARARRAY, tc_magic, fn_mime, NULL, NULL, NULL, "file", "MIME(file)",
      "the MIME type of a file (content bytes or a path), as file --mime-type prints it" },
    { "STRINGS", 1, 2, DQL_T_BAG, tc_strings, fn_strings, NULL, NULL, NULL, "file", "STRINGS(file[, min_len])",
      "a bag of (string) runs of printable ASCII of at least min_len (4) bytes, as strings -a finds them" },
    { "YARA", 2, 2, DQL_T_BAG, tc_yara, fn_yara, NULL, prep_yara, cleanup_yara, "file", "YARA(file, 'rules.yar')",
      "the YARA rules that match: a bag of (rule, namespace, tags, meta, strings); rules compiled once" },
    { "CLAMAV", 2, 2, DQL_T_CHARARRAY, tc_clamav, fn_clamav, NULL, prep_clamav, cleanup_clamav, "file",
      "CLAMAV(file, 'database dir')", "the ClamAV signature that matches, null when clean; database loaded once" },
    {0}
};
