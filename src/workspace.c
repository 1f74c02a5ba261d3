/* workspace.c — the SQLite workspace: opening the database, the dql schemas
 * kept beside the tables in _dql_schema (so domain, ip, datetime, tuple, bag
 * and map columns come back typed), the atomic sqlite storer, the sqlite
 * loader for tables, and the SQL '...' escape as a loader.
 *
 * Column mapping (declared SQL type / storage):
 *   boolean  BOOLEAN        integer 0/1
 *   int      INT32          integer
 *   long     INTEGER        integer
 *   datetime DATETIME_US    integer, microseconds since the epoch
 *   double   REAL           real (NaN becomes NULL: SQLite has no NaN)
 *   chararray TEXT          text
 *   bytearray BLOB          blob
 *   domain   TEXT_DOMAIN    text
 *   ip, cidr TEXT_IP, TEXT_CIDR    text, "192.0.2.1", "2001:db8::/32"
 *   tuple, bag, map  TEXT_JSON_TUPLE, TEXT_JSON_BAG, TEXT_JSON_MAP  JSON text
 *   any      (no type)      whatever the value is
 * Every declared type keeps the right SQLite affinity, and the SQL escape
 * maps the declared types back, so queries over dql tables stay typed.
 *
 * The schema text in _dql_schema is Pig's DESCRIBE form without blanks:
 * "name:chararray,n:long,t:(a:int,b:ip),b:{(x:int)},m:map"; names that are
 * not plain identifiers (with "::" allowed) are double-quoted. */
#include "workspace.h"
#include "files.h"
#include "json.h"

#include <sqlite3.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WS_TMP_SUFFIX "__dql_tmp"
#define WS_STORE_CACHE_KIB 16384    /* cache_size during a STORE: 16 MB */

/* ------------------------------------------------------------- helpers */

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

/* Appends name as a quoted SQL identifier. */
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

/* The database file name, for messages. */
static const char *db_name(sqlite3 *db)
{
    const char *f = sqlite3_db_filename(db, "main");
    return f && *f ? f : ":memory:";
}

/* Runs SQL text with no result rows; false with SQLite's message in err. */
static bool exec_sql(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        set_err(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return false;
    }
    return true;
}

/* A positional or named argument of USING sqlite(...) as a malloc'd
 * string, or NULL when absent or not a string. */
static char *arg_dup(const dql_args *args, const char *name, int pos)
{
    if (!args)
        return NULL;
    int k = 0;
    const dql_value *v = NULL;
    for (int i = 0; i < args->n && !v; i++) {
        if (args->a[i].name) {
            if (name && strcmp(args->a[i].name, name) == 0)
                v = &args->a[i].v;
        } else if (k++ == pos) {
            v = &args->a[i].v;
        }
    }
    if (!v || !dql_type_is_stringlike(v->type))
        return NULL;
    return dql_xstrndup(v->u.s, v->len);
}

static bool has_unknown_args(const dql_args *args, int maxpos, const char *const *names, char *bad, size_t badlen)
{
    if (!args)
        return false;
    int k = 0;
    for (int i = 0; i < args->n; i++) {
        if (!args->a[i].name) {
            if (k++ >= maxpos) {
                snprintf(bad, badlen, "too many arguments (at most %d)", maxpos);
                return true;
            }
            if (!dql_type_is_stringlike(args->a[i].v.type)) {
                snprintf(bad, badlen, "argument %d must be a string", k);
                return true;
            }
            continue;
        }
        bool known = false;
        for (int j = 0; names[j]; j++)
            if (strcmp(names[j], args->a[i].name) == 0)
                known = true;
        if (!known) {
            snprintf(bad, badlen, "unknown argument '%s'", args->a[i].name);
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------- type mapping */

static const char *const type_text[DQL_T__COUNT] = {
    [DQL_T_NULL] = "null", [DQL_T_BOOL] = "boolean", [DQL_T_INT] = "int",
    [DQL_T_LONG] = "long", [DQL_T_DOUBLE] = "double", [DQL_T_CHARARRAY] = "chararray",
    [DQL_T_BYTEARRAY] = "bytearray", [DQL_T_DATETIME] = "datetime",
    [DQL_T_DOMAIN] = "domain", [DQL_T_IP] = "ip", [DQL_T_CIDR] = "cidr",
    [DQL_T_TUPLE] = "tuple", [DQL_T_BAG] = "bag", [DQL_T_MAP] = "map", [DQL_T_ANY] = "any",
};

static const char *const sql_decl[DQL_T__COUNT] = {
    [DQL_T_NULL] = "", [DQL_T_BOOL] = "BOOLEAN", [DQL_T_INT] = "INT32",
    [DQL_T_LONG] = "INTEGER", [DQL_T_DOUBLE] = "REAL", [DQL_T_CHARARRAY] = "TEXT",
    [DQL_T_BYTEARRAY] = "BLOB", [DQL_T_DATETIME] = "DATETIME_US",
    [DQL_T_DOMAIN] = "TEXT_DOMAIN", [DQL_T_IP] = "TEXT_IP", [DQL_T_CIDR] = "TEXT_CIDR",
    [DQL_T_TUPLE] = "TEXT_JSON_TUPLE", [DQL_T_BAG] = "TEXT_JSON_BAG",
    [DQL_T_MAP] = "TEXT_JSON_MAP", [DQL_T_ANY] = "",
};

static bool ci_contains(const char *s, const char *needle)
{
    size_t n = strlen(needle);
    for (; *s; s++)
        if (strncasecmp(s, needle, n) == 0)
            return true;
    return false;
}

/* Maps a declared SQL column type to a dql type: first the names dql
 * writes, then SQLite's affinity rules; ANY when nothing fits. */
static dql_type decl_to_type(const char *decl)
{
    if (!decl || !*decl)
        return DQL_T_ANY;
    for (int t = 0; t < DQL_T__COUNT; t++)
        if (sql_decl[t] && *sql_decl[t] && strcasecmp(decl, sql_decl[t]) == 0)
            return (dql_type)t;
    if (strcasecmp(decl, "BOOL") == 0)
        return DQL_T_BOOL;
    if (ci_contains(decl, "INT"))
        return DQL_T_LONG;
    if (ci_contains(decl, "CHAR") || ci_contains(decl, "CLOB") || ci_contains(decl, "TEXT"))
        return DQL_T_CHARARRAY;
    if (ci_contains(decl, "BLOB"))
        return DQL_T_BYTEARRAY;
    if (ci_contains(decl, "REAL") || ci_contains(decl, "FLOA") || ci_contains(decl, "DOUB"))
        return DQL_T_DOUBLE;
    return DQL_T_ANY;
}

/* ------------------------------------------------------ schema as text */

/* A name that reads back without quotes: identifier parts joined by "::". */
static bool plain_name(const char *s)
{
    if (!*s)
        return false;
    for (;;) {
        if (!(isalpha((unsigned char)*s) || *s == '_'))
            return false;
        while (isalnum((unsigned char)*s) || *s == '_')
            s++;
        if (!*s)
            return true;
        if (s[0] != ':' || s[1] != ':')
            return false;
        s += 2;
    }
}

static void schema_text(dql_buf *b, const dql_schema *s);

static void field_text(dql_buf *b, const dql_field *f)
{
    if (f->name) {
        if (plain_name(f->name)) {
            dql_buf_puts(b, f->name);
        } else {
            dql_buf_putc(b, '"');
            for (const char *p = f->name; *p; p++) {
                if (*p == '"')
                    dql_buf_putc(b, '"');
                dql_buf_putc(b, *p);
            }
            dql_buf_putc(b, '"');
        }
        dql_buf_putc(b, ':');
    }
    if (f->type == DQL_T_TUPLE && f->sub) {
        dql_buf_putc(b, '(');
        schema_text(b, f->sub);
        dql_buf_putc(b, ')');
    } else if (f->type == DQL_T_BAG && f->sub) {
        dql_buf_puts(b, "{(");
        schema_text(b, f->sub);
        dql_buf_puts(b, ")}");
    } else {
        dql_buf_puts(b, f->type < DQL_T__COUNT ? type_text[f->type] : "any");
    }
}

/* Appends the text form of s: fields separated by commas. */
static void schema_text(dql_buf *b, const dql_schema *s)
{
    for (int i = 0; i < s->n; i++) {
        if (i)
            dql_buf_putc(b, ',');
        field_text(b, &s->f[i]);
    }
}

typedef struct sparse {
    const char *p, *end;
    int depth;
} sparse;

static void sp_ws(sparse *sp)
{
    while (sp->p < sp->end && isspace((unsigned char)*sp->p))
        sp->p++;
}

static bool sp_eat(sparse *sp, char c)
{
    sp_ws(sp);
    if (sp->p < sp->end && *sp->p == c) {
        sp->p++;
        return true;
    }
    return false;
}

static bool sp_fields(sparse *sp, dql_schema *s, char close);

/* Parses one field ([name ':'] type) and appends it to s. */
static bool sp_field(sparse *sp, dql_schema *s)
{
    char *name = NULL;
    dql_buf nb = {0};
    bool ok = false;
    dql_schema *sub = NULL;
    dql_type t = DQL_T__COUNT;
    sp_ws(sp);
    if (sp->p < sp->end && *sp->p == '"') {
        sp->p++;
        for (;;) {
            if (sp->p >= sp->end)
                goto out;
            if (*sp->p == '"') {
                if (sp->p + 1 < sp->end && sp->p[1] == '"') {
                    dql_buf_putc(&nb, '"');
                    sp->p += 2;
                    continue;
                }
                sp->p++;
                break;
            }
            dql_buf_putc(&nb, *sp->p++);
        }
        if (!sp_eat(sp, ':'))
            goto out;
        name = dql_xstrdup(dql_buf_cstr(&nb));
    } else {
        const char *w = sp->p;
        while (sp->p < sp->end) {
            if (isalnum((unsigned char)*sp->p) || *sp->p == '_')
                sp->p++;
            else if (*sp->p == ':' && sp->p + 1 < sp->end && sp->p[1] == ':')
                sp->p += 2;
            else
                break;
        }
        const char *we = sp->p;
        sp_ws(sp);
        if (sp->p < sp->end && *sp->p == ':') {
            sp->p++;
            if (we == w)
                goto out;
            name = dql_xstrndup(w, (size_t)(we - w));
        } else {
            sp->p = w;   /* no name: the word is the type */
        }
    }
    sp_ws(sp);
    if (sp->p >= sp->end)
        goto out;
    if (++sp->depth > 100)
        goto out;
    if (*sp->p == '(') {
        sp->p++;
        t = DQL_T_TUPLE;
        sub = dql_schema_new(0);
        if (!sp_fields(sp, sub, ')') || !sp_eat(sp, ')'))
            goto out;
    } else if (*sp->p == '{') {
        sp->p++;
        t = DQL_T_BAG;
        if (!sp_eat(sp, '}')) {
            sub = dql_schema_new(0);
            if (!sp_eat(sp, '(') || !sp_fields(sp, sub, ')') || !sp_eat(sp, ')') || !sp_eat(sp, '}'))
                goto out;
        }
    } else {
        const char *w = sp->p;
        while (sp->p < sp->end && (isalnum((unsigned char)*sp->p) || *sp->p == '_'))
            sp->p++;
        for (int i = 0; i < DQL_T__COUNT; i++)
            if (type_text[i] && strlen(type_text[i]) == (size_t)(sp->p - w) &&
                strncasecmp(type_text[i], w, (size_t)(sp->p - w)) == 0)
                t = (dql_type)i;
        if (t == DQL_T__COUNT && sp->p - w == 7 && strncasecmp(w, "integer", 7) == 0)
            t = DQL_T_INT;
        if (t == DQL_T__COUNT)
            goto out;
        /* Pig writes maps as map[] */
        if (t == DQL_T_MAP && sp_eat(sp, '[') && !sp_eat(sp, ']'))
            goto out;
    }
    sp->depth--;
    dql_schema_add(s, name, t, sub);
    ok = true;
out:
    if (sub)
        dql_schema_free(sub);
    free(name);
    dql_buf_free(&nb);
    return ok;
}

static bool sp_fields(sparse *sp, dql_schema *s, char close)
{
    sp_ws(sp);
    if (sp->p < sp->end && *sp->p == close)
        return true;
    for (;;) {
        if (!sp_field(sp, s))
            return false;
        if (!sp_eat(sp, ','))
            return true;
    }
}

/* Parses schema text as written by schema_text (blanks allowed, so Pig's
 * DESCRIBE form reads too). NULL when malformed. */
static dql_schema *schema_parse(const char *text)
{
    sparse sp = { text, text + strlen(text), 0 };
    dql_schema *s = dql_schema_new(0);
    if (!sp_fields(&sp, s, '\0')) {
        dql_schema_free(s);
        return NULL;
    }
    sp_ws(&sp);
    if (sp.p != sp.end) {
        dql_schema_free(s);
        return NULL;
    }
    return s;
}

/* SQL column names for the fields of s: the dql name with "::" replaced by
 * "__", "f<i>" for unnamed fields, made unique (case-insensitively, as
 * SQLite compares them) with a "_<k>" suffix. Free with free_names(). */
static char **sql_colnames(const dql_schema *s)
{
    char **names = dql_xcalloc((size_t)s->n + 1, sizeof *names);
    dql_buf b = {0};
    for (int i = 0; i < s->n; i++) {
        b.len = 0;
        const char *n = s->f[i].name;
        if (!n || !*n) {
            dql_buf_printf(&b, "f%d", i);
        } else {
            for (const char *p = n; *p; p++) {
                if (p[0] == ':' && p[1] == ':') {
                    dql_buf_puts(&b, "__");
                    p++;
                } else {
                    dql_buf_putc(&b, *p);
                }
            }
        }
        size_t base = b.len;
        for (int k = 2;; k++) {
            bool dup = false;
            for (int j = 0; j < i && !dup; j++)
                dup = strcasecmp(names[j], dql_buf_cstr(&b)) == 0;
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
    if (!names)
        return;
    for (char **p = names; *p; p++)
        free(*p);
    free(names);
}

/* Appends "(col type, ...)" for a CREATE TABLE of schema s with the SQL
 * column names cols (sql_colnames). */
static void put_columns(dql_buf *sql, const dql_schema *s, char **cols)
{
    dql_buf_putc(sql, '(');
    for (int i = 0; i < s->n; i++) {
        if (i)
            dql_buf_puts(sql, ", ");
        qident(sql, cols[i]);
        dql_type t = s->f[i].type;
        const char *decl = t < DQL_T__COUNT ? sql_decl[t] : "";
        if (decl && *decl) {
            dql_buf_putc(sql, ' ');
            dql_buf_puts(sql, decl);
        }
    }
    dql_buf_putc(sql, ')');
}

/* --------------------------------------------------------- workspace */

/* Opens (creating if needed) a workspace database: WAL, synchronous
 * NORMAL, 5 s busy timeout, and the _dql_schema table. */
dql_status dql_ws_open(const char *path, sqlite3 **out, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    char msg[512];
    *out = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        set_err(err, errlen, "cannot open workspace '%s': %s", path,
                db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return DQL_ERR_SQL;
    }
    sqlite3_busy_timeout(db, 5000);
    sqlite3_extended_result_codes(db, 1);
    if (!exec_sql(db, "PRAGMA journal_mode=WAL", msg, sizeof msg) ||
        !exec_sql(db, "PRAGMA synchronous=NORMAL", msg, sizeof msg) ||
        !exec_sql(db, "CREATE TABLE IF NOT EXISTS _dql_schema("
                      "tbl TEXT PRIMARY KEY, schema TEXT NOT NULL)", msg, sizeof msg)) {
        set_err(err, errlen, "cannot open workspace '%s': %s", path, msg);
        sqlite3_close(db);
        return DQL_ERR_SQL;
    }
    *out = db;
    return DQL_OK;
}

void dql_ws_close(sqlite3 *db)
{
    if (db)
        sqlite3_close_v2(db);
}

/* The kind of object named name ("table", "view") or NULL. The returned
 * string is static. */
static const char *object_kind(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st = NULL;
    const char *kind = NULL;
    if (sqlite3_prepare_v2(db, "SELECT type FROM sqlite_master WHERE type IN ('table','view') "
                               "AND name = ?1 COLLATE NOCASE", -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        kind = t && strcmp(t, "view") == 0 ? "view" : "table";
    }
    sqlite3_finalize(st);
    return kind;
}

bool dql_ws_table_exists(sqlite3 *db, const char *name)
{
    return object_kind(db, name) != NULL;
}

/* The schema text stored for a table, malloc'd, or NULL. */
static char *stored_schema_text(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st = NULL;
    char *text = NULL;
    if (sqlite3_prepare_v2(db, "SELECT schema FROM _dql_schema WHERE tbl = ?1 COLLATE NOCASE",
                           -1, &st, NULL) != SQLITE_OK)
        return NULL;   /* a database not made by dql */
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        text = dql_xstrdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return text;
}

/* Schema from the columns of a prepared statement (names, declared types). */
static dql_schema *stmt_schema(sqlite3_stmt *st)
{
    int n = sqlite3_column_count(st);
    dql_schema *s = dql_schema_new(0);
    for (int i = 0; i < n; i++) {
        const char *name = sqlite3_column_name(st, i);
        dql_schema_add(s, name && *name ? name : NULL, decl_to_type(sqlite3_column_decltype(st, i)), NULL);
    }
    return s;
}

dql_schema *dql_ws_table_schema(sqlite3 *db, const char *name, char *err, size_t errlen)
{
    if (!dql_ws_table_exists(db, name)) {
        set_err(err, errlen, "table '%s' not found in workspace '%s'", name, db_name(db));
        return NULL;
    }
    dql_buf sql = {0};
    dql_buf_puts(&sql, "SELECT * FROM ");
    qident(&sql, name);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, dql_buf_cstr(&sql), -1, &st, NULL) != SQLITE_OK) {
        set_err(err, errlen, "table '%s': %s", name, sqlite3_errmsg(db));
        dql_buf_free(&sql);
        return NULL;
    }
    dql_buf_free(&sql);
    dql_schema *s = NULL;
    char *text = stored_schema_text(db, name);
    if (text) {
        s = schema_parse(text);
        /* Use the stored schema only while it still matches the table (a
         * table dropped and re-created by hand may have left it behind). */
        if (s && s->n == sqlite3_column_count(st)) {
            char **cols = sql_colnames(s);
            for (int i = 0; i < s->n && s; i++) {
                const char *cn = sqlite3_column_name(st, i);
                if (!cn || strcasecmp(cn, cols[i]) != 0) {
                    dql_schema_free(s);
                    s = NULL;
                }
            }
            free_names(cols);
        } else if (s) {
            dql_schema_free(s);
            s = NULL;
        }
        free(text);
    }
    if (!s)
        s = stmt_schema(st);
    sqlite3_finalize(st);
    return s;
}

/* Prepares sql as exactly one statement; NULL with a message otherwise. */
static sqlite3_stmt *prepare_one(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL, *next = NULL;
    const char *tail = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, &tail) != SQLITE_OK) {
        set_err(err, errlen, "SQL: %s", sqlite3_errmsg(db));
        return NULL;
    }
    if (!st) {
        set_err(err, errlen, "SQL: empty statement");
        return NULL;
    }
    if (tail && *tail) {
        int rc = sqlite3_prepare_v2(db, tail, -1, &next, NULL);
        if (rc != SQLITE_OK || next) {
            sqlite3_finalize(next);
            sqlite3_finalize(st);
            set_err(err, errlen, "SQL: only one statement is allowed (more text after ';')");
            return NULL;
        }
    }
    return st;
}

dql_schema *dql_ws_query_schema(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    sqlite3_stmt *st = prepare_one(db, sql, err, errlen);
    if (!st)
        return NULL;
    dql_schema *s = stmt_schema(st);
    sqlite3_finalize(st);
    return s;
}

char **dql_ws_tables(sqlite3 *db)
{
    size_t n = 0, cap = 16;
    char **names = dql_xmalloc(cap * sizeof *names);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type IN ('table','view') "
                               "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
                               "AND name <> '_dql_schema' "
                               "AND name NOT LIKE '%\\_\\_dql\\_tmp' ESCAPE '\\' "
                               "ORDER BY name", -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *t = (const char *)sqlite3_column_text(st, 0);
            if (!t)
                continue;
            if (n + 1 >= cap) {
                cap *= 2;
                names = dql_xrealloc(names, cap * sizeof *names);
            }
            names[n++] = dql_xstrdup(t);
        }
    }
    sqlite3_finalize(st);
    names[n] = NULL;
    return names;
}

/* Table names a STORE may create: letters, digits and '_' (and UTF-8),
 * not starting with a digit, not reserved for SQLite or dql. */
static bool valid_table_name(const char *name, char *err, size_t errlen)
{
    size_t n = strlen(name);
    bool ok = n > 0 && n <= 128 && !isdigit((unsigned char)name[0]);
    for (size_t i = 0; ok && i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!(isalnum(c) || c == '_' || c >= 0x80))
            ok = false;
    }
    if (!ok) {
        set_err(err, errlen, "invalid table name '%s': use letters, digits and '_', "
                "not starting with a digit", name);
        return false;
    }
    if (strncasecmp(name, "sqlite_", 7) == 0 || strcasecmp(name, "_dql_schema") == 0 ||
        (n >= strlen(WS_TMP_SUFFIX) && strcasecmp(name + n - strlen(WS_TMP_SUFFIX), WS_TMP_SUFFIX) == 0)) {
        set_err(err, errlen, "invalid table name '%s': the name is reserved", name);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ reading */

/* Copies column c of the current row as a dql value of the type of field f
 * (which also gives the sub-schema of tuple/bag columns). Text, blobs and
 * containers are allocated in a. Returns false with a reason when the
 * stored value does not convert (*out is then null) or when values inside
 * a JSON column did not convert (*out keeps the rest, those are null). */
static bool col_value(dql_arena *a, sqlite3_stmt *st, int c, const dql_field *f,
                      dql_value *out, char *why, size_t whylen)
{
    int ct = sqlite3_column_type(st, c);
    dql_type t = f ? f->type : DQL_T_ANY;
    *out = dql_null();
    if (ct == SQLITE_NULL)
        return true;
    if (t == DQL_T_ANY || t == DQL_T_NULL) {
        switch (ct) {
        case SQLITE_INTEGER: t = DQL_T_LONG; break;
        case SQLITE_FLOAT: t = DQL_T_DOUBLE; break;
        case SQLITE_BLOB: t = DQL_T_BYTEARRAY; break;
        default: t = DQL_T_CHARARRAY; break;
        }
    }
    switch (t) {
    case DQL_T_BOOL:
    case DQL_T_INT:
    case DQL_T_LONG:
    case DQL_T_DATETIME:
        if (ct == SQLITE_INTEGER) {
            int64_t x = sqlite3_column_int64(st, c);
            if (t == DQL_T_INT && (x < INT32_MIN || x > INT32_MAX)) {
                snprintf(why, whylen, "%lld does not fit in an int", (long long)x);
                return false;
            }
            if (t == DQL_T_BOOL)
                x = x != 0;
            out->type = (uint8_t)t;
            out->u.i = x;
            return true;
        }
        if (ct == SQLITE_FLOAT) {
            if (dql_value_cast(a, dql_double(sqlite3_column_double(st, c)), t, out))
                return true;
            snprintf(why, whylen, "%g is not a %s", sqlite3_column_double(st, c), type_text[t]);
            return false;
        }
        break;   /* text: parsed below */
    case DQL_T_DOUBLE:
        if (ct == SQLITE_INTEGER || ct == SQLITE_FLOAT) {
            *out = dql_double(sqlite3_column_double(st, c));
            return true;
        }
        break;
    case DQL_T_BYTEARRAY: {
        const void *p = sqlite3_column_blob(st, c);
        int n = sqlite3_column_bytes(st, c);
        *out = dql_str(DQL_T_BYTEARRAY, n > 0 ? dql_arena_memdup(a, p, (size_t)n) : "", (size_t)(n > 0 ? n : 0));
        return true;
    }
    case DQL_T_CHARARRAY: {
        const char *p = (const char *)sqlite3_column_text(st, c);
        int n = sqlite3_column_bytes(st, c);
        *out = dql_str(DQL_T_CHARARRAY, n > 0 ? dql_arena_memdup(a, p, (size_t)n) : "", (size_t)(n > 0 ? n : 0));
        return true;
    }
    default:
        break;
    }
    /* Everything else is read from the text form. */
    const char *p = (const char *)sqlite3_column_text(st, c);
    int n = sqlite3_column_bytes(st, c);
    if (!p) {
        snprintf(why, whylen, "out of memory reading text");
        return false;
    }
    if (t == DQL_T_TUPLE || t == DQL_T_BAG || t == DQL_T_MAP) {
        char jerr[160];
        dql_field hint = { NULL, t, f && f->type == t ? f->sub : NULL };
        unsigned nbad = 0;
        if (!dql_json_parse_counted(a, p, (size_t)n, &hint, out, &nbad, jerr, sizeof jerr)) {
            snprintf(why, whylen, "bad JSON for a %s (%s)", type_text[t], jerr);
            *out = dql_null();
            return false;
        }
        if (out->type != t && out->type != DQL_T_NULL) {
            snprintf(why, whylen, "JSON value is not a %s", type_text[t]);
            *out = dql_null();
            return false;
        }
        if (nbad) {
            snprintf(why, whylen, "%u value%s inside the JSON did not convert (now null)", nbad,
                     nbad == 1 ? "" : "s");
            return false;
        }
        return true;
    }
    if (t >= DQL_T_TUPLE) {
        snprintf(why, whylen, "unsupported type");
        return false;
    }
    /* dql_value_parse may point into its input (a domain already in
     * normal form): parse a copy, sqlite's text dies at the next step */
    if (dql_type_is_stringlike(t) && n > 0)
        p = dql_arena_memdup(a, p, (size_t)n);
    if (!dql_value_parse(a, p, (size_t)n, t, out)) {
        snprintf(why, whylen, "'%.*s' is not a valid %s", n > 60 ? 60 : n, p, type_text[t]);
        *out = dql_null();
        return false;
    }
    return true;
}

/* State of a running sqlite or SQL-query loader. */
typedef struct ws_reader {
    sqlite3 *db;
    bool owns_db;
    sqlite3_stmt *st;
    dql_schema *stored;     /* how the columns are stored (types to read as) */
    dql_schema *out;        /* the output schema (declared, cast to) */
    int ncols;              /* columns read = out->n */
    dql_exec *ex;
    char *what;             /* "table 'x'" or "SQL query", for messages */
    uint64_t row;
    bool done;
} ws_reader;

static void reader_close(void *state)
{
    ws_reader *r = state;
    if (!r)
        return;
    sqlite3_finalize(r->st);
    if (r->owns_db)
        dql_ws_close(r->db);
    dql_schema_free(r->stored);
    dql_schema_free(r->out);
    free(r->what);
    free(r);
}

static dql_status reader_next(void *state, dql_batch *out, dql_arena *arena)
{
    ws_reader *r = state;
    char why[256];
    out->n = 0;
    while (!r->done && out->n < out->cap) {
        int rc = sqlite3_step(r->st);
        if (rc == SQLITE_DONE) {
            r->done = true;
            break;
        }
        if (rc != SQLITE_ROW)
            return dql_exec_error_st(r->ex, DQL_ERR_SQL, "%s: %s", r->what, sqlite3_errmsg(r->db));
        r->row++;
        dql_value *row = dql_batch_row(out, out->n);
        for (int c = 0; c < r->ncols; c++) {
            const dql_field *sf = &r->stored->f[c], *of = &r->out->f[c];
            dql_value v;
            bool ok = col_value(arena, r->st, c, sf, &v, why, sizeof why);
            if (ok && v.type != DQL_T_NULL && of->type != sf->type && of->type != DQL_T_ANY &&
                v.type != of->type) {
                dql_value cv;
                if ((of->type == DQL_T_TUPLE || of->type == DQL_T_BAG || of->type == DQL_T_MAP) &&
                    sqlite3_column_type(r->st, c) == SQLITE_TEXT) {
                    ok = col_value(arena, r->st, c, of, &v, why, sizeof why);
                } else if (dql_value_cast(arena, v, of->type, &cv)) {
                    v = cv;
                } else {
                    snprintf(why, sizeof why, "cannot cast %s to %s", type_text[v.type < DQL_T__COUNT ? v.type : 0],
                             type_text[of->type]);
                    v = dql_null();
                    ok = false;
                }
            }
            if (!ok) {
                dql_status st = dql_exec_warn(r->ex, "sqlite: bad value", "%s row %llu column '%s': %s",
                                              r->what, (unsigned long long)r->row,
                                              of->name ? of->name : "?", why);
                if (st != DQL_OK)
                    return st;
                /* null, or a container whose inner bad values are null */
            }
            row[c] = v;
        }
        out->n++;
    }
    return DQL_OK;
}

dql_schema *dql_ws_declared_schema(const dql_schema *stored, const dql_schema *declared,
                                   const char *what, char *err, size_t errlen)
{
    if (!declared)
        return dql_schema_copy(stored);
    if (declared->n > stored->n) {
        set_err(err, errlen, "%s has %d column%s but AS declares %d fields", what, stored->n,
                stored->n == 1 ? "" : "s", declared->n);
        return NULL;
    }
    dql_schema *s = dql_schema_new(0);
    for (int i = 0; i < declared->n; i++) {
        const dql_field *d = &declared->f[i];
        if (d->type == DQL_T_ANY)
            dql_schema_add(s, d->name, stored->f[i].type, stored->f[i].sub);
        else
            dql_schema_add(s, d->name, d->type, d->sub);
    }
    return s;
}

/* ------------------------------------------------------- sqlite loader */

/* Works out which database and table a LOAD ... USING sqlite(...) reads:
 * sqlite('file.db', 'table'), sqlite('file.db') with the LOAD path as the
 * table, or the workspace when no file is given. *table is malloc'd. */
static dql_status load_target(const dql_load_ctx *lc, sqlite3 **db, bool *owns, char **table,
                              char *err, size_t errlen)
{
    static const char *const names[] = { "db", "table", NULL };
    char bad[128];
    *owns = false;
    *db = NULL;
    *table = NULL;
    if (has_unknown_args(lc->args, 2, names, bad, sizeof bad)) {
        set_err(err, errlen, "sqlite: %s; use sqlite(['file.db'], ['table'])", bad);
        return DQL_ERR_CHECK;
    }
    char *file = arg_dup(lc->args, "db", 0);
    *table = arg_dup(lc->args, "table", 1);
    if (!*table && lc->path)
        *table = dql_xstrdup(lc->path);
    if (!*table || !**table) {
        set_err(err, errlen, "sqlite: no table name given");
        free(file);
        return DQL_ERR_CHECK;
    }
    dql_status st = DQL_OK;
    if (file) {
        if (access(file, R_OK) != 0) {
            set_err(err, errlen, "sqlite: cannot open '%s': %s", file, strerror(errno));
            st = DQL_ERR_CHECK;
        } else if (sqlite3_open_v2(file, db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
            set_err(err, errlen, "sqlite: cannot open '%s': %s", file, *db ? sqlite3_errmsg(*db) : "out of memory");
            sqlite3_close(*db);
            *db = NULL;
            st = DQL_ERR_CHECK;
        } else {
            sqlite3_busy_timeout(*db, 5000);
            *owns = true;
        }
        free(file);
    } else {
        *db = dql_session_db(lc->sess, err, errlen);
        if (!*db)
            st = DQL_ERR_CHECK;
    }
    if (st != DQL_OK) {
        free(*table);
        *table = NULL;
    }
    return st;
}

static dql_status sqlite_load_plan(const dql_load_ctx *lc, dql_schema **out, char *err, size_t errlen)
{
    sqlite3 *db;
    bool owns;
    char *table;
    *out = NULL;
    dql_status st = load_target(lc, &db, &owns, &table, err, errlen);
    if (st != DQL_OK)
        return st;
    dql_schema *stored = dql_ws_table_schema(db, table, err, errlen);
    if (owns)
        dql_ws_close(db);
    char what[300];
    snprintf(what, sizeof what, "table '%s'", table);
    free(table);
    if (!stored)
        return DQL_ERR_CHECK;
    *out = dql_ws_declared_schema(stored, lc->declared, what, err, errlen);
    dql_schema_free(stored);
    return *out ? DQL_OK : DQL_ERR_CHECK;
}

static dql_status sqlite_load_open(const dql_load_ctx *lc, const dql_schema *schema, dql_exec *ex, void **state)
{
    char err[512];
    sqlite3 *db;
    bool owns;
    char *table;
    *state = NULL;
    dql_status st = load_target(lc, &db, &owns, &table, err, sizeof err);
    if (st != DQL_OK)
        return dql_exec_error_st(ex, st == DQL_ERR_CHECK ? DQL_ERR_SQL : st, "%s", err);
    ws_reader *r = dql_xcalloc(1, sizeof *r);
    r->db = db;
    r->owns_db = owns;
    r->ex = ex;
    size_t wl = strlen(table) + 16;
    r->what = dql_xmalloc(wl);
    snprintf(r->what, wl, "table '%s'", table);
    r->stored = dql_ws_table_schema(db, table, err, sizeof err);
    if (!r->stored) {
        free(table);
        reader_close(r);
        return dql_exec_error_st(ex, DQL_ERR_SQL, "%s", err);
    }
    r->out = schema ? dql_schema_copy(schema) : dql_ws_declared_schema(r->stored, lc->declared, r->what, err, sizeof err);
    if (!r->out || r->out->n > r->stored->n) {
        if (r->out)
            snprintf(err, sizeof err, "%s has %d columns, fewer than the %d expected", r->what,
                     r->stored->n, r->out->n);
        free(table);
        reader_close(r);
        return dql_exec_error_st(ex, DQL_ERR_SQL, "%s", err);
    }
    r->ncols = r->out->n;
    dql_buf sql = {0};
    int64_t lo = 0, hi = 0;
    if (lc->nshards > 1) {
        /* a sharded run: rows in an even split of the rowid range, in rowid order */
        dql_buf_puts(&sql, "SELECT min(rowid), max(rowid) FROM ");
        qident(&sql, table);
        sqlite3_stmt *mm = NULL;
        int rc = sqlite3_prepare_v2(db, dql_buf_cstr(&sql), -1, &mm, NULL);
        if (rc == SQLITE_OK && (rc = sqlite3_step(mm)) == SQLITE_ROW) {
            int64_t mn = sqlite3_column_int64(mm, 0), mx = sqlite3_column_int64(mm, 1);
            __int128 span = (__int128)mx - mn + 1;
            lo = (int64_t)(mn + span * lc->shard / lc->nshards);
            hi = (int64_t)(mn + span * (lc->shard + 1) / lc->nshards);
            rc = SQLITE_OK;
        }
        if (rc != SQLITE_OK) {
            st = dql_exec_error_st(ex, DQL_ERR_SQL, "%s cannot be split by rowid: %s", r->what, sqlite3_errmsg(db));
            sqlite3_finalize(mm);
            dql_buf_free(&sql);
            free(table);
            reader_close(r);
            return st;
        }
        sqlite3_finalize(mm);
        sql.len = 0;
    }
    dql_buf_puts(&sql, "SELECT * FROM ");
    qident(&sql, table);
    if (lc->nshards > 1) dql_buf_puts(&sql, " WHERE rowid >= ?1 AND rowid < ?2 ORDER BY rowid");
    free(table);
    if (sqlite3_prepare_v2(db, dql_buf_cstr(&sql), -1, &r->st, NULL) == SQLITE_OK && lc->nshards > 1) {
        sqlite3_bind_int64(r->st, 1, lo);
        sqlite3_bind_int64(r->st, 2, hi);
    }
    if (!r->st) {
        dql_buf_free(&sql);
        st = dql_exec_error_st(ex, DQL_ERR_SQL, "%s: %s", r->what, sqlite3_errmsg(db));
        reader_close(r);
        return st;
    }
    dql_buf_free(&sql);
    *state = r;
    return DQL_OK;
}

const dql_loader_def dql_loader_sqlite = {
    .name = "sqlite",
    .syntax = "sqlite(['file.db'], ['table'])",
    .summary = "rows of a table of the workspace (or of another SQLite file), typed by its dql schema",
    .plan = sqlite_load_plan,
    .open = sqlite_load_open,
    .next = reader_next,
    .close = reader_close,
    .progress = NULL,
    .shard_by = "rowid range",
};

/* ------------------------------------------------------ SQL '...' loader */

static dql_status sqlquery_plan(const dql_load_ctx *lc, dql_schema **out, char *err, size_t errlen)
{
    *out = NULL;
    sqlite3 *db = dql_session_db(lc->sess, err, errlen);
    if (!db)
        return DQL_ERR_CHECK;
    dql_schema *s = dql_ws_query_schema(db, lc->path, err, errlen);
    if (!s)
        return DQL_ERR_CHECK;
    *out = dql_ws_declared_schema(s, lc->declared, "the SQL query", err, errlen);
    dql_schema_free(s);
    return *out ? DQL_OK : DQL_ERR_CHECK;
}

static dql_status sqlquery_open(const dql_load_ctx *lc, const dql_schema *schema, dql_exec *ex, void **state)
{
    char err[512];
    *state = NULL;
    sqlite3 *db = dql_session_db(lc->sess, err, sizeof err);
    if (!db)
        return dql_exec_error_st(ex, DQL_ERR_SQL, "%s", err);
    ws_reader *r = dql_xcalloc(1, sizeof *r);
    r->db = db;
    r->ex = ex;
    r->what = dql_xstrdup("SQL query");
    r->st = prepare_one(db, lc->path, err, sizeof err);
    if (!r->st) {
        reader_close(r);
        return dql_exec_error_st(ex, DQL_ERR_SQL, "%s", err);
    }
    r->stored = stmt_schema(r->st);
    r->out = schema ? dql_schema_copy(schema) : dql_ws_declared_schema(r->stored, lc->declared, r->what, err, sizeof err);
    if (!r->out || r->out->n > r->stored->n) {
        if (r->out)
            snprintf(err, sizeof err, "the SQL query returns %d columns, fewer than the %d expected",
                     r->stored->n, r->out->n);
        reader_close(r);
        return dql_exec_error_st(ex, DQL_ERR_SQL, "%s", err);
    }
    r->ncols = r->out->n;
    if (sqlite3_column_count(r->st) == 0) {
        /* Not a query (CREATE, INSERT, ...): run it now; no rows. */
        int rc;
        while ((rc = sqlite3_step(r->st)) == SQLITE_ROW)
            ;
        if (rc != SQLITE_DONE) {
            dql_status st = dql_exec_error_st(ex, DQL_ERR_SQL, "SQL: %s", sqlite3_errmsg(db));
            reader_close(r);
            return st;
        }
        r->done = true;
    }
    *state = r;
    return DQL_OK;
}

const dql_loader_def dql_loader_sqlquery = {
    .name = "sql",
    .syntax = "SQL 'statement'",
    .summary = "runs one SQL statement on the workspace; a query's rows become a relation",
    .plan = sqlquery_plan,
    .open = sqlquery_open,
    .next = reader_next,
    .close = reader_close,
    .progress = NULL,
};

/* ------------------------------------------------------- sqlite storer */

/* State of a running STORE into a table: everything happens inside one
 * transaction on a temporary table renamed over the target at commit. */
typedef struct ws_store {
    sqlite3 *db;
    bool owns_db;
    sqlite3_stmt *ins;
    char *table, *tmp;
    dql_schema *schema;
    bool overwrite;
    dql_exec *ex;
    int ncols;
    dql_buf *cbuf;          /* per column: text of ip/cidr/JSON values */
    int old_cache;
    bool cache_set, in_txn;
    /* WITH (resume = true): rows go straight into the table, committed
     * every few seconds; rows whose key was stored before are skipped */
    bool resume;
    int keycol;
    dql_keyset *keys;
    uint64_t since_commit;
    time_t last_commit;
} ws_store;

/* Which database a STORE writes: the workspace (NULL), or the file given
 * as sqlite('other.db') (malloc'd); the table is the STORE path. */
static char *store_file(const dql_store_ctx *sc, char *err, size_t errlen, bool *bad)
{
    static const char *const names[] = { "db", NULL };
    char why[128];
    *bad = false;
    if (has_unknown_args(sc->args, 1, names, why, sizeof why)) {
        set_err(err, errlen, "sqlite: %s; use sqlite(['file.db'])", why);
        *bad = true;
        return NULL;
    }
    return arg_dup(sc->args, "db", 0);
}

/* Plan-time checks of a STORE into table sc->path of file (NULL: the
 * workspace): a valid name, fields to store, no existing table unless
 * overwrite. Opens nothing for writing. */
static dql_status store_check(const dql_store_ctx *sc, const char *file, char *err, size_t errlen)
{
    if (!sc->path || !valid_table_name(sc->path, err, errlen))
        return DQL_ERR_CHECK;
    if (!sc->schema || sc->schema->n == 0) {
        set_err(err, errlen, "cannot store a relation with no fields into table '%s'", sc->path);
        return DQL_ERR_CHECK;
    }
    sqlite3 *db = NULL;
    bool exists = false;
    if (file) {
        if (access(file, F_OK) == 0) {
            if (sqlite3_open_v2(file, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
                set_err(err, errlen, "sqlite: cannot open '%s': %s", file, db ? sqlite3_errmsg(db) : "out of memory");
                sqlite3_close(db);
                return DQL_ERR_CHECK;
            }
            exists = dql_ws_table_exists(db, sc->path);
            sqlite3_close(db);
        } else {
            char *dir = dql_xstrdup(file);
            char *slash = strrchr(dir, '/');
            const char *d = slash ? (slash == dir ? "/" : (*slash = '\0', dir)) : ".";
            bool w = access(d, W_OK) == 0;
            int e = errno;
            free(dir);
            if (!w) {
                set_err(err, errlen, "sqlite: cannot create '%s': %s", file, strerror(e));
                return DQL_ERR_CHECK;
            }
        }
    } else {
        db = dql_session_db(sc->sess, err, errlen);
        if (!db)
            return DQL_ERR_CHECK;
        exists = dql_ws_table_exists(db, sc->path);
    }
    if (exists && !sc->overwrite) {
        set_err(err, errlen, "table '%s' exists (use STORE ... OVERWRITE or SET overwrite true)", sc->path);
        return DQL_ERR_CHECK;
    }
    return DQL_OK;
}

/* STORE ... WITH (resume = true, [key = 'sha256']): reads the options;
 * *keycol is the key's column (-1 without resume). False with a message. */
static bool resume_opts(const dql_store_ctx *sc, int *keycol, char *err, size_t errlen)
{
    bool on = false;
    const char *key = "sha256";
    size_t keylen = 6;
    bool key_given = false;
    *keycol = -1;
    for (int i = 0; sc->with && i < sc->with->n; i++) {
        const dql_arg *a = &sc->with->a[i];
        if (a->name && !strcmp(a->name, "resume") && a->v.type == DQL_T_BOOL)
            on = a->v.u.i != 0;
        else if (a->name && !strcmp(a->name, "key") && a->v.type == DQL_T_CHARARRAY && a->v.len) {
            key = a->v.u.s;
            keylen = a->v.len;
            key_given = true;
        } else {
            set_err(err, errlen, "STORE takes WITH (resume = true, [key = 'sha256']); '%s' is not understood",
                    a->name ? a->name : "a positional argument");
            return false;
        }
    }
    if (!on) {
        if (key_given) {
            set_err(err, errlen, "STORE: key = '%.*s' is for WITH (resume = true, key = ...)", (int)keylen, key);
            return false;
        }
        return true;
    }
    char kb[256];
    snprintf(kb, sizeof kb, "%.*s", (int)keylen, key);
    int c = sc->schema ? dql_schema_find(sc->schema, kb) : -1;
    if (c < 0) {
        set_err(err, errlen, "STORE ... WITH (resume = true): the relation has no field '%s' to recognise the rows "
                "stored before (name one: WITH (resume = true, key = 'field'))", kb);
        return false;
    }
    dql_type t = sc->schema->f[c].type;
    if (t != DQL_T_CHARARRAY && t != DQL_T_BYTEARRAY && t != DQL_T_DOMAIN && t != DQL_T_INT && t != DQL_T_LONG) {
        set_err(err, errlen, "STORE ... WITH (resume = true): the key '%s' is a %s; it must be text or an integer", kb,
                dql_type_name(t));
        return false;
    }
    *keycol = c;
    return true;
}

/* Resume into an existing table: it must have the relation's fields. */
static dql_status resume_check(const dql_store_ctx *sc, const char *file, char *err, size_t errlen)
{
    if (!sc->path || !valid_table_name(sc->path, err, errlen))
        return DQL_ERR_CHECK;
    sqlite3 *db = NULL;
    if (file) {
        if (access(file, F_OK) != 0)
            return DQL_OK;
        if (sqlite3_open_v2(file, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
            set_err(err, errlen, "sqlite: cannot open '%s': %s", file, db ? sqlite3_errmsg(db) : "out of memory");
            sqlite3_close(db);
            return DQL_ERR_CHECK;
        }
    } else if (!(db = dql_session_db(sc->sess, err, errlen)))
        return DQL_ERR_CHECK;
    dql_status st = DQL_OK;
    if (dql_ws_table_exists(db, sc->path)) {
        char e2[256];
        dql_schema *old = dql_ws_table_schema(db, sc->path, e2, sizeof e2);
        bool same = old && old->n == sc->schema->n;
        for (int i = 0; same && i < old->n; i++)
            same = old->f[i].name && sc->schema->f[i].name && !strcmp(old->f[i].name, sc->schema->f[i].name);
        if (!same) {
            dql_buf b = {0};
            if (old) dql_schema_format(&b, old);
            set_err(err, errlen, "STORE ... WITH (resume = true): table '%s' has other fields (%s) than the relation; "
                    "resume adds to a table of the same fields", sc->path, old ? dql_buf_cstr(&b) : e2);
            dql_buf_free(&b);
            st = DQL_ERR_CHECK;
        }
        dql_schema_free(old);
    }
    if (file) sqlite3_close(db);
    return st;
}

static dql_status sqlite_store_plan(const dql_store_ctx *sc, char *err, size_t errlen)
{
    bool bad;
    int keycol;
    if (!resume_opts(sc, &keycol, err, errlen))
        return DQL_ERR_CHECK;
    char *file = store_file(sc, err, errlen, &bad);
    if (bad)
        return DQL_ERR_CHECK;
    dql_status st = keycol >= 0 ? resume_check(sc, file, err, errlen) : store_check(sc, file, err, errlen);
    free(file);
    return st;
}

/* Ends the store: finalizes, rolls back an open transaction, restores the
 * cache size, frees everything. */
static void store_free(ws_store *w)
{
    sqlite3_finalize(w->ins);
    if (w->in_txn && !sqlite3_get_autocommit(w->db))
        sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
    if (w->cache_set) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA cache_size=%d", w->old_cache);
        sqlite3_exec(w->db, sql, NULL, NULL, NULL);
    }
    if (w->owns_db)
        dql_ws_close(w->db);
    for (int i = 0; i < w->ncols; i++)
        dql_buf_free(&w->cbuf[i]);
    free(w->cbuf);
    free(w->table);
    free(w->tmp);
    dql_schema_free(w->schema);
    if (w->keys && w->ex && w->ex->resume == w->keys)
        w->ex->resume = NULL;
    dql_keyset_free(w->keys);
    free(w);
}

static dql_status store_sqlerr(ws_store *w, const char *what)
{
    return dql_exec_error_st(w->ex, DQL_ERR_SQL, "table '%s' in '%s': %s: %s", w->table,
                             db_name(w->db), what, sqlite3_errmsg(w->db));
}

/* Writes the _dql_schema row of the table being stored. */
static bool record_schema(ws_store *w)
{
    dql_buf sql = {0};
    schema_text(&sql, w->schema);
    sqlite3_stmt *q = NULL;
    bool ok = sqlite3_prepare_v2(w->db, "DELETE FROM _dql_schema WHERE tbl = ?1 COLLATE NOCASE", -1, &q, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_text(q, 1, w->table, -1, SQLITE_STATIC);
        ok = sqlite3_step(q) == SQLITE_DONE;
    }
    sqlite3_finalize(q);
    q = NULL;
    if (ok)
        ok = sqlite3_prepare_v2(w->db, "INSERT INTO _dql_schema(tbl, schema) VALUES(?1, ?2)", -1, &q, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_text(q, 1, w->table, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, sql.p, (int)sql.len, SQLITE_STATIC);
        ok = sqlite3_step(q) == SQLITE_DONE;
    }
    sqlite3_finalize(q);
    dql_buf_free(&sql);
    return ok;
}

/* Commits what was written and opens the next transaction (resume). */
static dql_status resume_checkpoint(ws_store *w)
{
    if (sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return store_sqlerr(w, "commit failed");
    w->in_txn = false;
    if (sqlite3_exec(w->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return store_sqlerr(w, "cannot start a transaction");
    w->in_txn = true;
    w->since_commit = 0;
    w->last_commit = time(NULL);
    return DQL_OK;
}

/* STORE ... WITH (resume = true), inside the open transaction: creates the
 * table when it is new, reads the keys already stored (published to the
 * statement's operators as ex->resume) and prepares the insert into the
 * table itself. */
static dql_status resume_open(ws_store *w)
{
    sqlite3 *db = w->db;
    char **cols = sql_colnames(w->schema);
    dql_buf sql = {0};
    dql_status st = DQL_OK;
    if (!dql_ws_table_exists(db, w->table)) {
        dql_buf_puts(&sql, "CREATE TABLE ");
        qident(&sql, w->table);
        put_columns(&sql, w->schema, cols);
        if (sqlite3_exec(db, dql_buf_cstr(&sql), NULL, NULL, NULL) != SQLITE_OK) {
            st = store_sqlerr(w, "cannot create the table");
            goto out;
        }
        if (!record_schema(w)) {
            st = store_sqlerr(w, "cannot record the schema");
            goto out;
        }
    }
    w->keys = dql_keyset_new(w->schema->f[w->keycol].name);
    sql.len = 0;
    dql_buf_puts(&sql, "SELECT ");
    qident(&sql, cols[w->keycol]);
    dql_buf_puts(&sql, " FROM ");
    qident(&sql, w->table);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, dql_buf_cstr(&sql), -1, &q, NULL) != SQLITE_OK) {
        st = store_sqlerr(w, "cannot read the keys stored before");
        goto out;
    }
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (sqlite3_column_type(q, 0) == SQLITE_NULL)
            continue;
        const void *p = sqlite3_column_blob(q, 0);
        int n = sqlite3_column_bytes(q, 0);
        dql_keyset_add(w->keys, p ? p : "", (size_t)n);
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) {
        st = store_sqlerr(w, "cannot read the keys stored before");
        goto out;
    }
    sql.len = 0;
    dql_buf_puts(&sql, "INSERT INTO ");
    qident(&sql, w->table);
    dql_buf_puts(&sql, " VALUES(");
    for (int i = 0; i < w->ncols; i++)
        dql_buf_puts(&sql, i ? ",?" : "?");
    dql_buf_putc(&sql, ')');
    if (sqlite3_prepare_v3(db, dql_buf_cstr(&sql), -1, SQLITE_PREPARE_PERSISTENT, &w->ins, NULL) != SQLITE_OK) {
        st = store_sqlerr(w, "cannot prepare the insert");
        goto out;
    }
    if ((st = resume_checkpoint(w)) != DQL_OK)
        goto out;
    w->ex->resume = w->keys;
out:
    free_names(cols);
    dql_buf_free(&sql);
    return st;
}

static dql_status sqlite_store_open(const dql_store_ctx *sc, dql_exec *ex, void **state)
{
    char err[512];
    bool bad;
    *state = NULL;
    char *file = store_file(sc, err, sizeof err, &bad);
    if (bad)
        return dql_exec_error_st(ex, DQL_ERR_USAGE, "%s", err);
    if (!sc->path || !valid_table_name(sc->path, err, sizeof err) || !sc->schema || sc->schema->n == 0) {
        free(file);
        if (sc->path && sc->schema && sc->schema->n == 0)
            snprintf(err, sizeof err, "cannot store a relation with no fields into table '%s'", sc->path);
        return dql_exec_error_st(ex, DQL_ERR_USAGE, "%s", err);
    }
    ws_store *w = dql_xcalloc(1, sizeof *w);
    w->ex = ex;
    w->overwrite = sc->overwrite;
    w->table = dql_xstrdup(sc->path);
    size_t tl = strlen(sc->path) + sizeof WS_TMP_SUFFIX;
    w->tmp = dql_xmalloc(tl);
    snprintf(w->tmp, tl, "%s%s", sc->path, WS_TMP_SUFFIX);
    w->schema = dql_schema_copy(sc->schema);
    w->ncols = w->schema->n;
    w->cbuf = dql_xcalloc((size_t)w->ncols, sizeof *w->cbuf);
    if (!resume_opts(sc, &w->keycol, err, sizeof err)) {
        store_free(w);
        free(file);
        return dql_exec_error_st(ex, DQL_ERR_USAGE, "%s", err);
    }
    w->resume = w->keycol >= 0;
    if (file) {
        dql_status ost = dql_ws_open(file, &w->db, err, sizeof err);
        free(file);
        if (ost != DQL_OK) {
            store_free(w);
            return dql_exec_error_st(ex, DQL_ERR_SQL, "%s", err);
        }
        w->owns_db = true;
    } else {
        w->db = dql_session_db(sc->sess, err, sizeof err);
        if (!w->db) {
            store_free(w);
            return dql_exec_error_st(ex, DQL_ERR_SQL, "%s", err);
        }
    }
    sqlite3 *db = w->db;
    dql_status st;

    if (!sqlite3_get_autocommit(db)) {
        st = dql_exec_error_st(ex, DQL_ERR_SQL, "table '%s' in '%s': a transaction is already open "
                               "(another STORE into the same database, or SQL 'BEGIN')",
                               w->table, db_name(db));
        store_free(w);
        return st;
    }

    /* A bigger page cache while bulk inserting. */
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA cache_size", -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW) {
        w->old_cache = sqlite3_column_int(q, 0);
        w->cache_set = true;
    }
    sqlite3_finalize(q);
    if (w->cache_set) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA cache_size=-%d", WS_STORE_CACHE_KIB);
        sqlite3_exec(db, sql, NULL, NULL, NULL);
    }

    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        st = store_sqlerr(w, "cannot start a transaction");
        store_free(w);
        return st;
    }
    w->in_txn = true;
    if (w->resume) {
        if ((st = resume_open(w)) != DQL_OK) {
            store_free(w);
            return st;
        }
        *state = w;
        return DQL_OK;
    }
    if (dql_ws_table_exists(db, w->table) && !w->overwrite) {
        st = dql_exec_error(ex, "table '%s' exists (use STORE ... OVERWRITE or SET overwrite true)", w->table);
        store_free(w);
        return st;
    }
    dql_buf sql = {0};
    char **cols = sql_colnames(w->schema);
    dql_buf_puts(&sql, "DROP TABLE IF EXISTS ");
    qident(&sql, w->tmp);
    dql_buf_puts(&sql, "; CREATE TABLE ");
    qident(&sql, w->tmp);
    put_columns(&sql, w->schema, cols);
    free_names(cols);
    if (sqlite3_exec(db, dql_buf_cstr(&sql), NULL, NULL, NULL) != SQLITE_OK) {
        dql_buf_free(&sql);
        st = store_sqlerr(w, "cannot create the table");
        store_free(w);
        return st;
    }
    sql.len = 0;
    dql_buf_puts(&sql, "INSERT INTO ");
    qident(&sql, w->tmp);
    dql_buf_puts(&sql, " VALUES(");
    for (int i = 0; i < w->ncols; i++)
        dql_buf_puts(&sql, i ? ",?" : "?");
    dql_buf_putc(&sql, ')');
    int rc = sqlite3_prepare_v3(db, dql_buf_cstr(&sql), -1, SQLITE_PREPARE_PERSISTENT, &w->ins, NULL);
    dql_buf_free(&sql);
    if (rc != SQLITE_OK) {
        st = store_sqlerr(w, "cannot prepare the insert");
        store_free(w);
        return st;
    }
    *state = w;
    return DQL_OK;
}

/* Binds value v to parameter i of the insert (column c). Text and blobs
 * are bound without copy: they stay valid until the step. */
static int bind_value(ws_store *w, int i, int c, dql_value v)
{
    sqlite3_stmt *st = w->ins;
    switch (v.type) {
    case DQL_T_NULL:
        return sqlite3_bind_null(st, i);
    case DQL_T_BOOL:
    case DQL_T_INT:
    case DQL_T_LONG:
    case DQL_T_DATETIME:
        return sqlite3_bind_int64(st, i, v.u.i);
    case DQL_T_DOUBLE:
        return sqlite3_bind_double(st, i, v.u.d);
    case DQL_T_CHARARRAY:
    case DQL_T_DOMAIN:
        return sqlite3_bind_text64(st, i, v.len ? v.u.s : "", v.len, SQLITE_STATIC, SQLITE_UTF8);
    case DQL_T_BYTEARRAY:
        return sqlite3_bind_blob64(st, i, v.len ? v.u.s : "", v.len, SQLITE_STATIC);
    case DQL_T_IP:
    case DQL_T_CIDR:
    case DQL_T_TUPLE:
    case DQL_T_BAG:
    case DQL_T_MAP: {
        dql_buf *b = &w->cbuf[c];
        b->len = 0;
        if (v.type == DQL_T_IP || v.type == DQL_T_CIDR)
            dql_value_format(b, v);
        else
            dql_value_json(b, v);
        return sqlite3_bind_text64(st, i, b->len ? b->p : "", b->len, SQLITE_STATIC, SQLITE_UTF8);
    }
    default:
        return sqlite3_bind_null(st, i);
    }
}

static dql_status sqlite_store_write(void *state, const dql_batch *b)
{
    ws_store *w = state;
    int nc = b->ncols < w->ncols ? b->ncols : w->ncols;
    for (int r = 0; r < b->n; r++) {
        const dql_value *row = b->v + (size_t)r * (size_t)b->ncols;
        if (w->resume && w->keycol < nc && dql_keyset_has(w->keys, row[w->keycol]))
            continue;   /* stored by an earlier run */
        for (int c = 0; c < nc; c++)
            if (bind_value(w, c + 1, c, row[c]) != SQLITE_OK)
                return store_sqlerr(w, "cannot bind a value");
        for (int c = nc; c < w->ncols; c++)
            sqlite3_bind_null(w->ins, c + 1);
        if (sqlite3_step(w->ins) != SQLITE_DONE) {
            dql_status st = store_sqlerr(w, "insert failed");
            sqlite3_reset(w->ins);
            return st;
        }
        sqlite3_reset(w->ins);
        w->since_commit++;
    }
    /* resume: what is written is kept even if the statement is killed */
    if (w->resume && w->since_commit && time(NULL) - w->last_commit >= 2)
        return resume_checkpoint(w);
    return DQL_OK;
}

/* Replaces the target by the temporary table and records the schema, then
 * commits. Frees the state whatever happens (on failure everything is
 * rolled back: the old table is untouched). */
static dql_status sqlite_store_commit(void *state)
{
    ws_store *w = state;
    sqlite3 *db = w->db;
    dql_status st = DQL_OK;
    dql_buf sql = {0};
    sqlite3_finalize(w->ins);
    w->ins = NULL;
    if (w->resume) {
        if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            st = store_sqlerr(w, "commit failed");
        else
            w->in_txn = false;
        goto out;
    }
    const char *kind = object_kind(db, w->table);
    if (kind && !w->overwrite) {
        st = dql_exec_error(w->ex, "table '%s' exists (use STORE ... OVERWRITE or SET overwrite true)", w->table);
        goto out;
    }
    if (kind) {
        dql_buf_puts(&sql, strcmp(kind, "view") == 0 ? "DROP VIEW " : "DROP TABLE ");
        qident(&sql, w->table);
        dql_buf_puts(&sql, "; ");
    }
    dql_buf_puts(&sql, "ALTER TABLE ");
    qident(&sql, w->tmp);
    dql_buf_puts(&sql, " RENAME TO ");
    qident(&sql, w->table);
    if (sqlite3_exec(db, dql_buf_cstr(&sql), NULL, NULL, NULL) != SQLITE_OK) {
        st = store_sqlerr(w, "cannot replace the table");
        goto out;
    }
    sql.len = 0;
    schema_text(&sql, w->schema);
    sqlite3_stmt *q = NULL;
    bool ok = sqlite3_prepare_v2(db, "DELETE FROM _dql_schema WHERE tbl = ?1 COLLATE NOCASE", -1, &q, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_text(q, 1, w->table, -1, SQLITE_STATIC);
        ok = sqlite3_step(q) == SQLITE_DONE;
    }
    sqlite3_finalize(q);
    q = NULL;
    if (ok)
        ok = sqlite3_prepare_v2(db, "INSERT INTO _dql_schema(tbl, schema) VALUES(?1, ?2)", -1, &q, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_text(q, 1, w->table, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, sql.p, (int)sql.len, SQLITE_STATIC);
        ok = sqlite3_step(q) == SQLITE_DONE;
    }
    sqlite3_finalize(q);
    if (!ok) {
        st = store_sqlerr(w, "cannot record the schema");
        goto out;
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        st = store_sqlerr(w, "commit failed");
        goto out;
    }
    w->in_txn = false;
out:
    dql_buf_free(&sql);
    store_free(w);
    return st;
}

/* Discards the store: ROLLBACK; the old table and its schema row stay. */
static void sqlite_store_abort(void *state)
{
    ws_store *w = state;
    if (w && w->resume && w->in_txn && sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        w->in_txn = false;   /* resume: the rows written so far stay */
    if (w)
        store_free(w);
}

const dql_storer_def dql_storer_sqlite = {
    .name = "sqlite",
    .syntax = "sqlite(['file.db']) [WITH (resume = true, [key = 'sha256'])]",
    .summary = "a table of the workspace (or of another SQLite file), replaced atomically",
    .plan = sqlite_store_plan,
    .open = sqlite_store_open,
    .write = sqlite_store_write,
    .commit = sqlite_store_commit,
    .abort = sqlite_store_abort,
};

/* ------------------------------------------------------- plan-time shadows */

dql_status dql_ws_shadow_table(sqlite3 *db, const char *name, const dql_schema *s, char *err, size_t errlen)
{
    dql_buf b = {0};
    char **cols = sql_colnames(s);
    dql_buf_puts(&b, "CREATE TEMP TABLE ");
    qident(&b, name);
    dql_buf_putc(&b, ' ');
    if (s->n == 0) dql_buf_puts(&b, "(dummy)");
    else put_columns(&b, s, cols);
    free_names(cols);
    char *msg = NULL;
    int rc = sqlite3_exec(db, dql_buf_cstr(&b), NULL, NULL, &msg);
    dql_buf_free(&b);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return DQL_ERR_SQL;
    }
    return DQL_OK;
}

/* ------------------------------------------------- schema text, exported */

char *dql_ws_schema_to_text(const dql_schema *s)
{
    dql_buf b = {0};
    schema_text(&b, s);
    char *t = dql_xstrdup(dql_buf_cstr(&b));
    dql_buf_free(&b);
    return t;
}

dql_schema *dql_ws_schema_from_text(const char *text)
{
    return schema_parse(text);
}
