/* op_pg.c — the PostgreSQL store (libpq): STORE ... USING postgres('conninfo')
 * and LOAD 'table' | 'SELECT ...' USING postgres('conninfo'). See
 * doc/postgres.md.
 *
 * Credentials never come from the script: a connection string holding a
 * password is refused at check time (libpq then takes it from PGPASSWORD,
 * a service file or ~/.pgpass / PGPASSFILE), and messages from the server
 * or libpq are scrubbed of PGPASSWORD's value before they are shown.
 *
 * STORE is one transaction: CREATE TABLE under a temporary name (unique per
 * process), COPY ... FROM STDIN in text format, then DROP of the old table
 * (OVERWRITE) and ALTER TABLE ... RENAME, and COMMENT ON TABLE with the dql
 * schema ("dql:" + the workspace's schema text) so that LOAD gets domain,
 * tuple, bag and map columns back typed. A failed or interrupted STORE
 * closes the connection without COMMIT: the server rolls everything back
 * and the old table stays. Retrying a STORE ... OVERWRITE gives the same
 * table (idempotent).
 *
 * Types: int integer, long bigint, double double precision, chararray text,
 * bytearray bytea, boolean boolean, datetime timestamptz, domain text, ip
 * inet, cidr cidr, tuple/bag/map jsonb, any text. */
#define _GNU_SOURCE   /* strcasestr */
#include "exec.h"
#include "workspace.h"
#include "json.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#ifdef HAVE_LIBPQ
#include <libpq-fe.h>
#endif

#define PG_TMP_MARK "__dql_tmp"
#define PG_COPY_CHUNK (256 * 1024)

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

#ifndef HAVE_LIBPQ

static dql_status pg_na_load_plan(const dql_load_ctx *lc, dql_schema **out, char *err, size_t errlen)
{
    (void)lc;
    *out = NULL;
    set_err(err, errlen, "postgres is not available in this build (no libpq)");
    return DQL_ERR_CHECK;
}
static dql_status pg_na_load_open(const dql_load_ctx *lc, const dql_schema *s, dql_exec *ex, void **state)
{
    (void)lc; (void)s;
    *state = NULL;
    return dql_exec_error(ex, "postgres is not available in this build (no libpq)");
}
static dql_status pg_na_next(void *state, dql_batch *out, dql_arena *a) { (void)state; (void)a; out->n = 0; return DQL_OK; }
static void pg_na_close(void *state) { (void)state; }
static dql_status pg_na_store_plan(const dql_store_ctx *sc, char *err, size_t errlen)
{
    (void)sc;
    set_err(err, errlen, "postgres is not available in this build (no libpq)");
    return DQL_ERR_CHECK;
}
static dql_status pg_na_store_open(const dql_store_ctx *sc, dql_exec *ex, void **state)
{
    (void)sc;
    *state = NULL;
    return dql_exec_error(ex, "postgres is not available in this build (no libpq)");
}
static dql_status pg_na_write(void *state, const dql_batch *b) { (void)state; (void)b; return DQL_ERR_RUNTIME; }
static dql_status pg_na_commit(void *state) { (void)state; return DQL_ERR_RUNTIME; }
static void pg_na_abort(void *state) { (void)state; }

#define PG_LOAD_PLAN pg_na_load_plan
#define PG_LOAD_OPEN pg_na_load_open
#define PG_LOAD_NEXT pg_na_next
#define PG_LOAD_CLOSE pg_na_close
#define PG_STORE_PLAN pg_na_store_plan
#define PG_STORE_OPEN pg_na_store_open
#define PG_STORE_WRITE pg_na_write
#define PG_STORE_COMMIT pg_na_commit
#define PG_STORE_ABORT pg_na_abort
#define PG_STORE_OPEN_PART NULL
#define PG_STORE_ASSEMBLE NULL

#else /* HAVE_LIBPQ */

/* ------------------------------------------------------------- helpers */

/* Removes the value of PGPASSWORD (if any) from a message, and its
 * trailing newlines, in place. */
static void scrub(char *msg)
{
    const char *pw = getenv("PGPASSWORD");
    if (pw && *pw) {
        size_t n = strlen(pw);
        char *p;
        while ((p = strstr(msg, pw)) != NULL) {
            memcpy(p, "***", 3 <= n ? 3 : n);
            if (n > 3)
                memmove(p + 3, p + n, strlen(p + n) + 1);
        }
    }
    size_t l = strlen(msg);
    while (l && (msg[l - 1] == '\n' || msg[l - 1] == ' '))
        msg[--l] = '\0';
    /* libpq's multi-line messages (DETAIL, CONTEXT) on one line */
    for (char *p = msg; *p; p++)
        if (*p == '\n')
            *p = ' ';
}

/* The connection's last error, scrubbed, into buf. */
static const char *conn_err(PGconn *c, char *buf, size_t len)
{
    snprintf(buf, len, "%s", c ? PQerrorMessage(c) : "out of memory");
    scrub(buf);
    return buf;
}

static const char *res_err(PGresult *r, PGconn *c, char *buf, size_t len)
{
    const char *m = r ? PQresultErrorMessage(r) : NULL;
    if (!m || !*m)
        return conn_err(c, buf, len);
    snprintf(buf, len, "%s", m);
    scrub(buf);
    return buf;
}

/* The connection string of USING postgres('conninfo') (positional or
 * conninfo = '...'; absent: libpq's defaults from the environment),
 * malloc'd. Refuses unknown arguments and any password in it. */
static char *get_conninfo(const dql_args *args, char *err, size_t errlen)
{
    int npos = 0;
    for (int i = 0; args && i < args->n; i++) {
        const dql_arg *a = &args->a[i];
        if (a->name && strcmp(a->name, "conninfo") != 0) {
            set_err(err, errlen, "postgres: unknown argument '%s'; use postgres('conninfo')", a->name);
            return NULL;
        }
        if (!a->name && ++npos > 1) {
            set_err(err, errlen, "postgres: too many arguments; use postgres('conninfo')");
            return NULL;
        }
        if (!dql_type_is_stringlike(a->v.type)) {
            set_err(err, errlen, "postgres: the connection string must be a string");
            return NULL;
        }
    }
    const dql_value *v = dql_args_get(args, "conninfo", 0);
    char *ci = v ? dql_xstrndup(v->u.s, v->len) : dql_xstrdup("");
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(ci, &perr);
    if (!opts) {
        /* libpq quotes pieces of the string: never show them when it may
         * hold a password */
        if (perr && !strcasestr(ci, "pass")) {
            char m[300];
            snprintf(m, sizeof m, "%s", perr);
            scrub(m);
            set_err(err, errlen, "postgres: bad connection string: %s", m);
        } else {
            set_err(err, errlen, "postgres: bad connection string");
        }
        PQfreemem(perr);
        free(ci);
        return NULL;
    }
    bool haspw = false;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
            haspw = true;
    PQconninfoFree(opts);
    if (haspw) {
        set_err(err, errlen, "postgres: the connection string holds a password: never put one in a script; "
                "use a service file (service=...), ~/.pgpass or PGPASSFILE, or PGPASSWORD");
        free(ci);
        return NULL;
    }
    return ci;
}

static void quiet_notice(void *arg, const char *msg) { (void)arg; (void)msg; }

/* Connects and sets the session up for dql's text forms. */
static PGconn *pg_connect(const char *conninfo, char *err, size_t errlen)
{
    const char *keys[] = { "dbname", "fallback_application_name", "client_encoding", NULL };
    const char *vals[] = { conninfo, "dql", "UTF8", NULL };
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    char m[512];
    if (!c || PQstatus(c) != CONNECTION_OK) {
        set_err(err, errlen, "postgres: cannot connect: %s", conn_err(c, m, sizeof m));
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, quiet_notice, NULL);
    PGresult *r = PQexec(c, "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET bytea_output = 'hex'; "
                            "SET extra_float_digits = 3; SET client_min_messages = warning");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        set_err(err, errlen, "postgres: cannot set up the session: %s", res_err(r, c, m, sizeof m));
        PQclear(r);
        PQfinish(c);
        return NULL;
    }
    PQclear(r);
    return c;
}

/* A table name part: letters, digits, '_', non-ASCII, not starting with a
 * digit, at most 63 bytes. */
static bool name_part_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63 || isdigit((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '_' || c >= 0x80))
            return false;
    }
    return true;
}

/* Splits 'table', 'schema.table' or 'pg:...' into *schema (NULL when not
 * given) and *table, malloc'd. */
static bool parse_table(const char *path, char **schema, char **table, char *err, size_t errlen)
{
    *schema = *table = NULL;
    if (!path)
        path = "";
    if (strncmp(path, "pg:", 3) == 0)
        path += 3;
    const char *dot = strchr(path, '.');
    const char *t = dot ? dot + 1 : path;
    if ((dot && !name_part_ok(path, (size_t)(dot - path))) || !name_part_ok(t, strlen(t))) {
        set_err(err, errlen, "postgres: invalid table name '%s': use [schema.]table with letters, digits "
                "and '_', not starting with a digit, at most 63 bytes each", path);
        return false;
    }
    if (strstr(t, PG_TMP_MARK)) {
        set_err(err, errlen, "postgres: invalid table name '%s': names with '" PG_TMP_MARK "' are reserved", path);
        return false;
    }
    if (dot)
        *schema = dql_xstrndup(path, (size_t)(dot - path));
    *table = dql_xstrdup(t);
    return true;
}

static void qident(dql_buf *b, const char *name)
{
    dql_buf_putc(b, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            dql_buf_putc(b, '"');
        dql_buf_putc(b, *p);
    }
    dql_buf_putc(b, '"');
}

static void qname(dql_buf *b, const char *schema, const char *table)
{
    if (schema) {
        qident(b, schema);
        dql_buf_putc(b, '.');
    }
    qident(b, table);
}

/* The kind of relation name is ('r' table, 'v' view, 'p' partitioned,
 * ...), 0 when absent, -1 on error (message in err). */
static int rel_kind(PGconn *c, const char *schema, const char *table, char *err, size_t errlen)
{
    dql_buf q = {0};
    qname(&q, schema, table);
    const char *params[1] = { dql_buf_cstr(&q) };
    PGresult *r = PQexecParams(c, "SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = "
                                  "pg_catalog.to_regclass($1)", 1, NULL, params, NULL, NULL, 0);
    dql_buf_free(&q);
    char m[512];
    int k;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "postgres: %s", res_err(r, c, m, sizeof m));
        k = -1;
    } else {
        k = PQntuples(r) ? (unsigned char)PQgetvalue(r, 0, 0)[0] : 0;
    }
    PQclear(r);
    return k;
}

/* The column names a STORE creates: the dql name ("a::b" kept: names are
 * quoted), "f<i>" for unnamed fields, unique with a "_<k>" suffix. */
static char **col_names(const dql_schema *s)
{
    char **names = dql_xcalloc((size_t)s->n + 1, sizeof *names);
    dql_buf b = {0};
    for (int i = 0; i < s->n; i++) {
        b.len = 0;
        const char *n = s->f[i].name;
        if (!n || !*n)
            dql_buf_printf(&b, "f%d", i);
        else
            dql_buf_put(&b, n, strlen(n) > 63 ? 63 : strlen(n));
        size_t base = b.len;
        for (int k = 2;; k++) {
            bool dup = false;
            for (int j = 0; j < i && !dup; j++)
                dup = strcmp(names[j], dql_buf_cstr(&b)) == 0;
            if (!dup)
                break;
            b.len = base;
            dql_buf_printf(&b, "_%d", k);
        }
        names[i] = dql_xstrdup(dql_buf_cstr(&b));
    }
    dql_buf_free(&b);
    return names;
}

static void free_names(char **names)
{
    for (size_t i = 0; names && names[i]; i++)
        free(names[i]);
    free(names);
}

static const char *pg_type_of(dql_type t)
{
    switch (t) {
    case DQL_T_BOOL: return "boolean";
    case DQL_T_INT: return "integer";
    case DQL_T_LONG: return "bigint";
    case DQL_T_DOUBLE: return "double precision";
    case DQL_T_BYTEARRAY: return "bytea";
    case DQL_T_DATETIME: return "timestamptz";
    case DQL_T_IP: return "inet";
    case DQL_T_CIDR: return "cidr";
    case DQL_T_TUPLE: case DQL_T_BAG: case DQL_T_MAP: return "jsonb";
    default: return "text";
    }
}

/* ------------------------------------------------------------- storer */

typedef struct pg_store {
    PGconn *conn;
    char *schema, *table, *tmp;
    dql_schema *s;
    int ncols;
    bool overwrite, copying;
    dql_exec *ex;
    dql_buf buf, tmpb;
    uint64_t rows;
} pg_store;

static dql_status pg_store_plan(const dql_store_ctx *sc, char *err, size_t errlen)
{
    char *ci = get_conninfo(sc->args, err, errlen);
    if (!ci)
        return DQL_ERR_CHECK;
    for (int i = 0; sc->with && i < sc->with->n; i++) {
        set_err(err, errlen, "postgres: unknown WITH option '%s'",
                sc->with->a[i].name ? sc->with->a[i].name : "?");
        free(ci);
        return DQL_ERR_CHECK;
    }
    char *schema, *table;
    if (!parse_table(sc->path, &schema, &table, err, errlen)) {
        free(ci);
        return DQL_ERR_CHECK;
    }
    dql_status st = DQL_OK;
    if (!sc->schema || sc->schema->n == 0) {
        set_err(err, errlen, "cannot store a relation with no fields into table '%s'", table);
        st = DQL_ERR_CHECK;
    }
    PGconn *c = st == DQL_OK ? pg_connect(ci, err, errlen) : NULL;
    if (st == DQL_OK && !c)
        st = DQL_ERR_CHECK;
    if (c) {
        int k = rel_kind(c, schema, table, err, errlen);
        if (k < 0) {
            st = DQL_ERR_CHECK;
        } else if (k && !sc->overwrite) {
            set_err(err, errlen, "postgres: table '%s' exists (use STORE ... OVERWRITE or SET overwrite true)", table);
            st = DQL_ERR_CHECK;
        } else if (k && k != 'r' && k != 'v' && k != 'p') {
            set_err(err, errlen, "postgres: '%s' exists and is not a table or a view", table);
            st = DQL_ERR_CHECK;
        }
        PQfinish(c);
    }
    free(ci);
    free(schema);
    free(table);
    return st;
}

static void store_free(pg_store *w)
{
    if (!w)
        return;
    /* no COMMIT was sent: closing rolls the transaction back */
    PQfinish(w->conn);
    free(w->schema);
    free(w->table);
    free(w->tmp);
    dql_schema_free(w->s);
    dql_buf_free(&w->buf);
    dql_buf_free(&w->tmpb);
    free(w);
}

static dql_status store_fail(pg_store *w, const char *what, PGresult *r)
{
    char m[1024];
    dql_status st = dql_exec_error_st(w->ex, DQL_ERR_SQL, "postgres: table '%s': %s: %s", w->table, what,
                                      res_err(r, w->conn, m, sizeof m));
    PQclear(r);
    return st;
}

/* Runs a command with no result rows; false after reporting. */
static bool store_cmd(pg_store *w, const char *sql, const char *what, dql_status *st)
{
    PGresult *r = PQexec(w->conn, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        *st = store_fail(w, what, r);
        return false;
    }
    PQclear(r);
    return true;
}

/* Connects for a STORE into sc->path and starts its transaction: *out has
 * the connection, the target's names, a private temporary name and a copy of
 * the schema. */
static dql_status store_begin(const dql_store_ctx *sc, dql_exec *ex, pg_store **out)
{
    char err[1024];
    *out = NULL;
    char *ci = get_conninfo(sc->args, err, sizeof err);
    if (!ci)
        return dql_exec_error_st(ex, DQL_ERR_USAGE, "%s", err);
    pg_store *w = dql_xcalloc(1, sizeof *w);
    w->ex = ex;
    w->overwrite = sc->overwrite;
    if (!parse_table(sc->path, &w->schema, &w->table, err, sizeof err) || !sc->schema || sc->schema->n == 0) {
        free(ci);
        store_free(w);
        return dql_exec_error_st(ex, DQL_ERR_USAGE, "%s", err);
    }
    w->s = dql_schema_copy(sc->schema);
    w->ncols = w->s->n;
    /* unique per process: concurrent STOREs do not meet */
    char tmp[128];
    snprintf(tmp, sizeof tmp, "%.36s" PG_TMP_MARK "_%ld", w->table, (long)getpid());
    w->tmp = dql_xstrdup(tmp);
    w->conn = pg_connect(ci, err, sizeof err);
    free(ci);
    if (!w->conn) {
        store_free(w);
        return dql_exec_error_st(ex, DQL_ERR_SQL, "%s", err);
    }
    dql_status st = DQL_OK;
    if (!store_cmd(w, "BEGIN", "cannot start a transaction", &st)) {
        store_free(w);
        return st;
    }
    *out = w;
    return DQL_OK;
}

static dql_status pg_store_open(const dql_store_ctx *sc, dql_exec *ex, void **state)
{
    *state = NULL;
    pg_store *w;
    dql_status st = store_begin(sc, ex, &w);
    if (st != DQL_OK)
        return st;
    dql_buf sql = {0};
    char **cols = col_names(w->s);
    dql_buf_puts(&sql, "CREATE TABLE ");
    qname(&sql, w->schema, w->tmp);
    dql_buf_putc(&sql, '(');
    for (int i = 0; i < w->ncols; i++) {
        if (i)
            dql_buf_puts(&sql, ", ");
        qident(&sql, cols[i]);
        dql_buf_putc(&sql, ' ');
        dql_buf_puts(&sql, pg_type_of(w->s->f[i].type));
    }
    dql_buf_puts(&sql, ")");
    free_names(cols);
    if (!store_cmd(w, dql_buf_cstr(&sql), "cannot create the table", &st)) {
        dql_buf_free(&sql);
        store_free(w);
        return st;
    }
    sql.len = 0;
    dql_buf_puts(&sql, "COPY ");
    qname(&sql, w->schema, w->tmp);
    dql_buf_puts(&sql, " FROM STDIN");
    PGresult *r = PQexec(w->conn, dql_buf_cstr(&sql));
    dql_buf_free(&sql);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        st = store_fail(w, "COPY failed", r);
        store_free(w);
        return st;
    }
    PQclear(r);
    w->copying = true;
    *state = w;
    return DQL_OK;
}

/* Appends text escaped for COPY's text format. */
static void copy_text(dql_buf *b, const char *s, size_t n)
{
    dql_buf_reserve(b, n + 8);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        switch (c) {
        case '\\': dql_buf_put(b, "\\\\", 2); break;
        case '\n': dql_buf_put(b, "\\n", 2); break;
        case '\r': dql_buf_put(b, "\\r", 2); break;
        case '\t': dql_buf_put(b, "\\t", 2); break;
        default: dql_buf_putc(b, c); break;
        }
    }
}

static void copy_value(pg_store *w, dql_value v)
{
    dql_buf *b = &w->buf;
    static const char hex[] = "0123456789abcdef";
    switch (v.type) {
    case DQL_T_NULL:
        dql_buf_put(b, "\\N", 2);
        return;
    case DQL_T_BOOL:
        dql_buf_putc(b, v.u.i ? 't' : 'f');
        return;
    case DQL_T_INT:
    case DQL_T_LONG:
        dql_buf_printf(b, "%lld", (long long)v.u.i);
        return;
    case DQL_T_DATETIME:
        dql_datetime_format(b, v.u.i);
        return;
    case DQL_T_CHARARRAY:
    case DQL_T_DOMAIN:
        copy_text(b, v.u.s, v.len);
        return;
    case DQL_T_BYTEARRAY:
        dql_buf_reserve(b, 2 * (size_t)v.len + 4);
        dql_buf_put(b, "\\\\x", 3);
        for (uint32_t i = 0; i < v.len; i++) {
            unsigned char c = (unsigned char)v.u.s[i];
            dql_buf_putc(b, hex[c >> 4]);
            dql_buf_putc(b, hex[c & 15]);
        }
        return;
    case DQL_T_TUPLE:
    case DQL_T_BAG:
    case DQL_T_MAP:
        w->tmpb.len = 0;
        dql_value_json(&w->tmpb, v);
        copy_text(b, w->tmpb.p ? w->tmpb.p : "", w->tmpb.len);
        return;
    default:   /* double, ip, cidr: their text forms read back as they are */
        w->tmpb.len = 0;
        dql_value_format(&w->tmpb, v);
        copy_text(b, w->tmpb.p ? w->tmpb.p : "", w->tmpb.len);
        return;
    }
}

static dql_status flush_copy(pg_store *w)
{
    if (w->buf.len && PQputCopyData(w->conn, w->buf.p, (int)w->buf.len) != 1) {
        char m[512];
        return dql_exec_error_st(w->ex, DQL_ERR_SQL, "postgres: table '%s': COPY failed: %s", w->table,
                                 conn_err(w->conn, m, sizeof m));
    }
    w->buf.len = 0;
    return DQL_OK;
}

static dql_status pg_store_write(void *state, const dql_batch *b)
{
    pg_store *w = state;
    int nc = b->ncols < w->ncols ? b->ncols : w->ncols;
    for (int r = 0; r < b->n; r++) {
        const dql_value *row = b->v + (size_t)r * (size_t)b->ncols;
        for (int c = 0; c < w->ncols; c++) {
            if (c)
                dql_buf_putc(&w->buf, '\t');
            copy_value(w, c < nc ? row[c] : dql_null());
        }
        dql_buf_putc(&w->buf, '\n');
        w->rows++;
        if (w->buf.len >= PG_COPY_CHUNK) {
            dql_status st = flush_copy(w);
            if (st != DQL_OK)
                return st;
        }
    }
    return flush_copy(w);
}

/* Ends a STORE's transaction: the temporary table becomes the target (an
 * existing one is dropped when OVERWRITE allows it), with the dql schema as
 * its comment, after the statements in `before` (may be NULL); COMMIT. */
static dql_status replace_target(pg_store *w, const dql_buf *before)
{
    char err[1024];
    dql_status st = DQL_OK;
    /* the target's kind now: taken under our transaction */
    int k = rel_kind(w->conn, w->schema, w->table, err, sizeof err);
    if (k < 0)
        return dql_exec_error_st(w->ex, DQL_ERR_SQL, "%s", err);
    if (k && !w->overwrite)
        return dql_exec_error(w->ex, "postgres: table '%s' exists (use STORE ... OVERWRITE or SET overwrite true)",
                              w->table);
    if (k && k != 'r' && k != 'v' && k != 'p')
        return dql_exec_error(w->ex, "postgres: '%s' exists and is not a table or a view", w->table);
    dql_buf sql = {0};
    if (before)
        dql_buf_put(&sql, before->p, before->len);
    if (k) {
        dql_buf_puts(&sql, k == 'v' ? "DROP VIEW " : "DROP TABLE ");
        qname(&sql, w->schema, w->table);
        dql_buf_puts(&sql, "; ");
    }
    dql_buf_puts(&sql, "ALTER TABLE ");
    qname(&sql, w->schema, w->tmp);
    dql_buf_puts(&sql, " RENAME TO ");
    qident(&sql, w->table);
    dql_buf_puts(&sql, "; COMMENT ON TABLE ");
    qname(&sql, w->schema, w->table);
    dql_buf_puts(&sql, " IS ");
    char *text = dql_ws_schema_to_text(w->s);
    size_t tl = strlen(text) + 5;
    char *c = dql_xmalloc(tl);
    snprintf(c, tl, "dql:%s", text);
    free(text);
    char *lit = PQescapeLiteral(w->conn, c, strlen(c));
    free(c);
    if (!lit) {
        dql_buf_free(&sql);
        return store_fail(w, "cannot quote the schema", NULL);
    }
    dql_buf_puts(&sql, lit);
    PQfreemem(lit);
    if (store_cmd(w, dql_buf_cstr(&sql), "cannot replace the table", &st))
        store_cmd(w, "COMMIT", "commit failed", &st);
    dql_buf_free(&sql);
    return st;
}

static dql_status pg_store_commit(void *state)
{
    pg_store *w = state;
    dql_status st = DQL_OK;
    char err[1024];
    if ((st = flush_copy(w)) != DQL_OK)
        goto out;
    if (PQputCopyEnd(w->conn, NULL) != 1) {
        st = dql_exec_error_st(w->ex, DQL_ERR_SQL, "postgres: table '%s': COPY failed: %s", w->table,
                               conn_err(w->conn, err, sizeof err));
        goto out;
    }
    w->copying = false;
    PGresult *r = PQgetResult(w->conn);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        st = store_fail(w, "COPY failed", r);
        goto out;
    }
    PQclear(r);
    while ((r = PQgetResult(w->conn)) != NULL)
        PQclear(r);
    st = replace_target(w, NULL);
out:
    store_free(w);
    return st;
}

static void pg_store_abort(void *state)
{
    store_free(state);
}

/* ------------------------------------------- sharded STORE: parts, assembly */

/* Part `part` of a sharded STORE of table in run `run`: a reserved name. */
static void part_name(char *out, size_t n, const char *table, const char *run, int part)
{
    snprintf(out, n, "%.30s" PG_TMP_MARK "p%.8s_%d", table, run, part);
}

/* A task's part: written like a STORE (COPY into a temporary table, renamed
 * in one transaction), replacing the part an earlier attempt wrote. */
static dql_status pg_store_open_part(const dql_store_ctx *sc, int part, const char *run, dql_exec *ex, void **state)
{
    dql_store_ctx c = *sc;
    c.overwrite = true;
    dql_status st = pg_store_open(&c, ex, state);
    if (st != DQL_OK)
        return st;
    pg_store *w = *state;
    char pn[96];
    part_name(pn, sizeof pn, w->table, run, part);
    free(w->table);
    w->table = dql_xstrdup(pn);
    return DQL_OK;
}

/* The merge: the target made of the parts in one transaction (server side:
 * no row leaves the server), the parts dropped. */
static dql_status pg_store_assemble(const dql_store_ctx *sc, int nparts, const char *run, dql_exec *ex)
{
    pg_store *w;
    dql_status st = store_begin(sc, ex, &w);
    if (st != DQL_OK)
        return st;
    char err[1024];
    dql_buf sql = {0}, drops = {0};
    dql_buf_puts(&sql, "CREATE TABLE ");
    qname(&sql, w->schema, w->tmp);
    dql_buf_puts(&sql, " AS ");
    for (int i = 0; i < nparts; i++) {
        char pn[96];
        part_name(pn, sizeof pn, w->table, run, i);
        int pk = rel_kind(w->conn, w->schema, pn, err, sizeof err);
        if (pk != 'r') {
            st = dql_exec_error_st(ex, DQL_ERR_SQL, "postgres: table '%s': part %d of %d is missing (%s)", w->table, i,
                                   nparts, pk < 0 ? err : "no such table");
            goto out;
        }
        dql_buf_puts(&sql, i ? " UNION ALL SELECT * FROM " : "SELECT * FROM ");
        qname(&sql, w->schema, pn);
        dql_buf_puts(&drops, "DROP TABLE ");
        qname(&drops, w->schema, pn);
        dql_buf_puts(&drops, "; ");
    }
    if (store_cmd(w, dql_buf_cstr(&sql), "cannot assemble the parts", &st))
        st = replace_target(w, &drops);
out:
    dql_buf_free(&sql);
    dql_buf_free(&drops);
    store_free(w);
    return st;
}

/* ------------------------------------------------------------- loader */

/* PostgreSQL type OIDs (pg_type.h; stable across versions). */
enum {
    OID_BOOL = 16, OID_BYTEA = 17, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23, OID_OID = 26,
    OID_JSON = 114, OID_FLOAT4 = 700, OID_FLOAT8 = 701, OID_CIDR = 650, OID_INET = 869,
    OID_DATE = 1082, OID_TIMESTAMP = 1114, OID_TIMESTAMPTZ = 1184, OID_NUMERIC = 1700, OID_JSONB = 3802,
};

static dql_type oid_type(Oid o)
{
    switch (o) {
    case OID_BOOL: return DQL_T_BOOL;
    case OID_BYTEA: return DQL_T_BYTEARRAY;
    case OID_INT2: case OID_INT4: return DQL_T_INT;
    case OID_INT8: case OID_OID: return DQL_T_LONG;
    case OID_FLOAT4: case OID_FLOAT8: case OID_NUMERIC: return DQL_T_DOUBLE;
    case OID_DATE: case OID_TIMESTAMP: case OID_TIMESTAMPTZ: return DQL_T_DATETIME;
    case OID_INET: return DQL_T_IP;
    case OID_CIDR: return DQL_T_CIDR;
    case OID_JSON: case OID_JSONB: return DQL_T_MAP;   /* objects; arrays read as bags */
    default: return DQL_T_CHARARRAY;
    }
}

static bool is_query(const char *s)
{
    static const char *const kw[] = { "SELECT", "WITH", "VALUES", "TABLE", NULL };
    while (isspace((unsigned char)*s))
        s++;
    for (int i = 0; kw[i]; i++) {
        size_t n = strlen(kw[i]);
        if (strncasecmp(s, kw[i], n) == 0 && (isspace((unsigned char)s[n]) || s[n] == '('))
            return true;
    }
    return false;
}

/* The query a LOAD runs and a name for messages, malloc'd; for a table also
 * the quoted name (for its comment). */
static bool load_query(const dql_load_ctx *lc, char **query, char **what, char **qtable, char *err, size_t errlen)
{
    *query = *what = *qtable = NULL;
    const char *path = lc->path ? lc->path : "";
    if (is_query(path)) {
        *query = dql_xstrdup(path);
        *what = dql_xstrdup("postgres query");
        return true;
    }
    char *schema, *table;
    if (!parse_table(path, &schema, &table, err, errlen))
        return false;
    dql_buf b = {0};
    qname(&b, schema, table);
    *qtable = dql_xstrdup(dql_buf_cstr(&b));
    b.len = 0;
    dql_buf_printf(&b, "SELECT * FROM %s", *qtable);
    *query = dql_xstrdup(dql_buf_cstr(&b));
    b.len = 0;
    dql_buf_printf(&b, "postgres table '%s'", table);
    *what = dql_xstrdup(dql_buf_cstr(&b));
    dql_buf_free(&b);
    free(schema);
    free(table);
    return true;
}

/* The stored schema of a query's result: names and types from the
 * server, types refined by the table's "dql:" comment when it matches. */
static dql_schema *describe(PGconn *c, const char *query, const char *qtable, const char *what,
                            char *err, size_t errlen)
{
    char m[1024];
    PGresult *r = PQprepare(c, "", query, 0, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        set_err(err, errlen, "%s: %s", what, res_err(r, c, m, sizeof m));
        PQclear(r);
        return NULL;
    }
    PQclear(r);
    r = PQdescribePrepared(c, "");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        set_err(err, errlen, "%s: %s", what, res_err(r, c, m, sizeof m));
        PQclear(r);
        return NULL;
    }
    dql_schema *s = dql_schema_new(0);
    for (int i = 0; i < PQnfields(r); i++)
        dql_schema_add(s, PQfname(r, i), oid_type(PQftype(r, i)), NULL);
    PQclear(r);
    if (qtable) {
        const char *params[1] = { qtable };
        r = PQexecParams(c, "SELECT pg_catalog.obj_description(pg_catalog.to_regclass($1), 'pg_class')",
                         1, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) &&
            strncmp(PQgetvalue(r, 0, 0), "dql:", 4) == 0) {
            dql_schema *d = dql_ws_schema_from_text(PQgetvalue(r, 0, 0) + 4);
            if (d && d->n == s->n) {
                dql_schema *t = dql_schema_new(0);
                for (int i = 0; i < s->n; i++) {
                    bool jsonish = s->f[i].type == DQL_T_MAP &&
                                   (d->f[i].type == DQL_T_TUPLE || d->f[i].type == DQL_T_BAG);
                    bool text = s->f[i].type == DQL_T_CHARARRAY;   /* domain, any */
                    if (jsonish || text || s->f[i].type == d->f[i].type)
                        dql_schema_add(t, s->f[i].name, d->f[i].type, d->f[i].sub);
                    else
                        dql_schema_add(t, s->f[i].name, s->f[i].type, NULL);
                }
                dql_schema_free(s);
                s = t;
            }
            dql_schema_free(d);
        }
        PQclear(r);
    }
    return s;
}

typedef struct pg_reader {
    PGconn *conn;
    dql_schema *stored, *out;
    int ncols;
    dql_exec *ex;
    char *what;
    uint64_t row;
    bool done;
} pg_reader;

static dql_status pg_load_plan(const dql_load_ctx *lc, dql_schema **out, char *err, size_t errlen)
{
    *out = NULL;
    char *ci = get_conninfo(lc->args, err, errlen);
    if (!ci)
        return DQL_ERR_CHECK;
    char *query, *what, *qtable;
    if (!load_query(lc, &query, &what, &qtable, err, errlen)) {
        free(ci);
        return DQL_ERR_CHECK;
    }
    PGconn *c = pg_connect(ci, err, errlen);
    free(ci);
    dql_schema *stored = c ? describe(c, query, qtable, what, err, errlen) : NULL;
    PQfinish(c);
    if (stored)
        *out = dql_ws_declared_schema(stored, lc->declared, what, err, errlen);
    dql_schema_free(stored);
    free(query);
    free(what);
    free(qtable);
    return *out ? DQL_OK : DQL_ERR_CHECK;
}

static void pg_load_close(void *state)
{
    pg_reader *r = state;
    if (!r)
        return;
    PQfinish(r->conn);
    dql_schema_free(r->stored);
    dql_schema_free(r->out);
    free(r->what);
    free(r);
}

static dql_status pg_load_open(const dql_load_ctx *lc, const dql_schema *schema, dql_exec *ex, void **state)
{
    char err[1024];
    *state = NULL;
    char *ci = get_conninfo(lc->args, err, sizeof err);
    if (!ci)
        return dql_exec_error_st(ex, DQL_ERR_USAGE, "%s", err);
    char *query, *qtable;
    pg_reader *r = dql_xcalloc(1, sizeof *r);
    r->ex = ex;
    if (!load_query(lc, &query, &r->what, &qtable, err, sizeof err)) {
        free(ci);
        pg_load_close(r);
        return dql_exec_error_st(ex, DQL_ERR_USAGE, "%s", err);
    }
    r->conn = pg_connect(ci, err, sizeof err);
    free(ci);
    if (r->conn)
        r->stored = describe(r->conn, query, qtable, r->what, err, sizeof err);
    free(qtable);
    if (r->stored) {
        r->out = schema ? dql_schema_copy(schema) : dql_ws_declared_schema(r->stored, lc->declared, r->what, err, sizeof err);
        if (r->out && r->out->n > r->stored->n) {
            snprintf(err, sizeof err, "%s has %d columns, fewer than the %d expected", r->what, r->stored->n,
                     r->out->n);
            dql_schema_free(r->out);
            r->out = NULL;
        }
    }
    if (!r->out) {
        free(query);
        pg_load_close(r);
        return dql_exec_error_st(ex, DQL_ERR_SQL, "%s", err);
    }
    r->ncols = r->out->n;
    if (!PQsendQuery(r->conn, query) || !PQsetSingleRowMode(r->conn)) {
        free(query);
        dql_status st = dql_exec_error_st(ex, DQL_ERR_SQL, "%s: %s", r->what, conn_err(r->conn, err, sizeof err));
        pg_load_close(r);
        return st;
    }
    free(query);
    *state = r;
    return DQL_OK;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Converts the text of a field to type t (f gives sub-schemas). */
static bool field_value(dql_arena *a, const char *p, size_t n, const dql_field *f, dql_value *out,
                        char *why, size_t whylen)
{
    dql_type t = f->type;
    *out = dql_null();
    switch (t) {
    case DQL_T_BOOL:
        if (n == 1 && (*p == 't' || *p == 'f')) {
            *out = dql_bool(*p == 't');
            return true;
        }
        break;
    case DQL_T_INT:
    case DQL_T_LONG: {
        char *end;
        errno = 0;
        long long x = strtoll(p, &end, 10);
        if (errno || end != p + n || n == 0 || (t == DQL_T_INT && (x < INT32_MIN || x > INT32_MAX)))
            break;
        *out = t == DQL_T_INT ? dql_int((int32_t)x) : dql_long(x);
        return true;
    }
    case DQL_T_DOUBLE: {
        char *end;
        double d = strtod(p, &end);
        if (end != p + n || n == 0)
            break;
        *out = dql_double(d);
        return true;
    }
    case DQL_T_DATETIME: {
        int64_t us;
        if (!dql_datetime_parse(p, n, &us))
            break;
        *out = dql_datetime(us);
        return true;
    }
    case DQL_T_BYTEARRAY: {
        if (n < 2 || p[0] != '\\' || p[1] != 'x' || n % 2)
            break;
        size_t m = (n - 2) / 2;
        char *d = dql_arena_alloc(a, m ? m : 1);
        for (size_t i = 0; i < m; i++) {
            int hi = hexval((unsigned char)p[2 + 2 * i]), lo = hexval((unsigned char)p[3 + 2 * i]);
            if (hi < 0 || lo < 0) {
                snprintf(why, whylen, "bad bytea text");
                return false;
            }
            d[i] = (char)(hi << 4 | lo);
        }
        *out = dql_str(DQL_T_BYTEARRAY, d, m);
        return true;
    }
    case DQL_T_CHARARRAY:
    case DQL_T_ANY:
    case DQL_T_NULL:
        *out = dql_str(DQL_T_CHARARRAY, n ? dql_arena_memdup(a, p, n) : "", n);
        return true;
    case DQL_T_TUPLE:
    case DQL_T_BAG:
    case DQL_T_MAP: {
        char jerr[160];
        unsigned nbad = 0;
        dql_field hint = { NULL, t, f->sub };
        if (!dql_json_parse_counted(a, p, n, &hint, out, &nbad, jerr, sizeof jerr)) {
            snprintf(why, whylen, "bad JSON (%s)", jerr);
            *out = dql_null();
            return false;
        }
        if (nbad) {
            snprintf(why, whylen, "%u value%s inside the JSON did not convert (now null)", nbad, nbad == 1 ? "" : "s");
            return false;
        }
        return true;
    }
    default: {   /* domain, ip, cidr */
        const char *s = n ? dql_arena_memdup(a, p, n) : "";
        if (dql_value_parse(a, s, n, t, out))
            return true;
        *out = dql_null();
        break;
    }
    }
    snprintf(why, whylen, "'%.*s' is not a valid %s", n > 60 ? 60 : (int)n, p, dql_type_name(t));
    return false;
}

static dql_status pg_load_next(void *state, dql_batch *out, dql_arena *arena)
{
    pg_reader *r = state;
    char why[256];
    out->n = 0;
    while (!r->done && out->n < out->cap) {
        PGresult *res = PQgetResult(r->conn);
        ExecStatusType es = PQresultStatus(res);
        if (!res || es == PGRES_TUPLES_OK || es == PGRES_COMMAND_OK) {
            PQclear(res);
            while ((res = PQgetResult(r->conn)) != NULL)
                PQclear(res);
            r->done = true;
            break;
        }
        if (es != PGRES_SINGLE_TUPLE) {
            char m[1024];
            dql_status st = dql_exec_error_st(r->ex, DQL_ERR_SQL, "%s: %s", r->what, res_err(res, r->conn, m, sizeof m));
            PQclear(res);
            return st;
        }
        r->row++;
        dql_value *row = dql_batch_row(out, out->n);
        for (int c = 0; c < r->ncols; c++) {
            const dql_field *sf = &r->stored->f[c], *of = &r->out->f[c];
            dql_value v = dql_null();
            bool ok = true;
            if (!PQgetisnull(res, 0, c)) {
                const char *p = PQgetvalue(res, 0, c);
                size_t n = (size_t)PQgetlength(res, 0, c);
                bool direct = of->type != DQL_T_ANY && of->type != sf->type &&
                              (of->type == DQL_T_TUPLE || of->type == DQL_T_BAG || of->type == DQL_T_MAP ||
                               sf->type == DQL_T_CHARARRAY);
                ok = field_value(arena, p, n, direct ? of : sf, &v, why, sizeof why);
                if (ok && v.type != DQL_T_NULL && of->type != DQL_T_ANY && v.type != of->type) {
                    dql_value cv;
                    if (dql_value_cast(arena, v, of->type, &cv)) {
                        v = cv;
                    } else {
                        snprintf(why, sizeof why, "cannot cast %s to %s", dql_type_name(v.type),
                                 dql_type_name(of->type));
                        v = dql_null();
                        ok = false;
                    }
                }
            }
            if (!ok) {
                dql_status st = dql_exec_warn(r->ex, "postgres: bad value", "%s row %llu column '%s': %s", r->what,
                                              (unsigned long long)r->row, of->name ? of->name : "?", why);
                if (st != DQL_OK) {
                    PQclear(res);
                    return st;
                }
            }
            row[c] = v;
        }
        PQclear(res);
        out->n++;
    }
    return DQL_OK;
}

#define PG_LOAD_PLAN pg_load_plan
#define PG_LOAD_OPEN pg_load_open
#define PG_LOAD_NEXT pg_load_next
#define PG_LOAD_CLOSE pg_load_close
#define PG_STORE_PLAN pg_store_plan
#define PG_STORE_OPEN pg_store_open
#define PG_STORE_WRITE pg_store_write
#define PG_STORE_COMMIT pg_store_commit
#define PG_STORE_ABORT pg_store_abort
#define PG_STORE_OPEN_PART pg_store_open_part
#define PG_STORE_ASSEMBLE pg_store_assemble

#endif /* HAVE_LIBPQ */

const dql_loader_def dql_loader_postgres = {
    .name = "postgres",
    .syntax = "postgres(['conninfo'])",
    .summary = "rows of a PostgreSQL table (or 'SELECT ...'), typed (credentials from the environment, a service file or .pgpass)",
    .plan = PG_LOAD_PLAN,
    .open = PG_LOAD_OPEN,
    .next = PG_LOAD_NEXT,
    .close = PG_LOAD_CLOSE,
    .progress = NULL,
};

const dql_storer_def dql_storer_postgres = {
    .name = "postgres",
    .syntax = "postgres(['conninfo'])",
    .summary = "a PostgreSQL table, typed, written with COPY and replaced atomically in one transaction",
    .plan = PG_STORE_PLAN,
    .open = PG_STORE_OPEN,
    .write = PG_STORE_WRITE,
    .commit = PG_STORE_COMMIT,
    .abort = PG_STORE_ABORT,
    .open_part = PG_STORE_OPEN_PART,
    .assemble = PG_STORE_ASSEMBLE,
};
