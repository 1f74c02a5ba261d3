/* workspace.h — the SQLite workspace: opening the database, dql schemas kept
 * beside the tables (so domain, ip, datetime, bag and map columns come back
 * typed), atomic STORE, LOAD of tables, and the SQL '...' escape. */
#ifndef DQL_WORKSPACE_H
#define DQL_WORKSPACE_H

#include "dql.h"
#include "exec.h"
#include "session.h"

/* Opens (creating if needed) a workspace database, WAL mode, with the
 * metadata table _dql_schema(tbl TEXT PRIMARY KEY, schema TEXT). */
dql_status dql_ws_open(const char *path, sqlite3 **db, char *err, size_t errlen);
void dql_ws_close(sqlite3 *db);
/* True if a table (or view) of that name exists. */
bool dql_ws_table_exists(sqlite3 *db, const char *name);
/* The dql schema of a table: from _dql_schema when STOREd by dql, else
 * from SQLite's declared column types. NULL with err when no such table. */
dql_schema *dql_ws_table_schema(sqlite3 *db, const char *name, char *err, size_t errlen);
/* Schema of the result of a SQL query (prepare, column decltypes). */
dql_schema *dql_ws_query_schema(sqlite3 *db, const char *sql, char *err, size_t errlen);
/* Names of tables created by dql or the user (for .tables), NULL-terminated; free with dql_paths_free. */
char **dql_ws_tables(sqlite3 *db);

/* The SQL '...' escape as a loader: path is the query text. */
extern const dql_loader_def dql_loader_sqlquery;

/* Creates an empty TEMP table shadowing name with the columns a STORE of
 * schema s would create: lets the planner check SQL '...' that reads a table
 * an earlier STORE of the same script will write. Callers wrap it in a
 * SAVEPOINT and roll back. */
dql_status dql_ws_shadow_table(sqlite3 *db, const char *name, const dql_schema *s, char *err, size_t errlen);

/* The compact schema text kept in _dql_schema ("n:long,t:(a:int)"), for
 * other stores that keep a dql schema beside a table (op_pg.c); malloc'd.
 * The parser returns NULL on malformed text. */
char *dql_ws_schema_to_text(const dql_schema *s);
dql_schema *dql_ws_schema_from_text(const char *text);
/* Output schema of a LOAD from a store (a SQLite or PostgreSQL table): the
 * declared AS schema, with untyped (any) fields taking the stored type; NULL
 * with err when it declares more fields than `what` has columns. */
dql_schema *dql_ws_declared_schema(const dql_schema *stored, const dql_schema *declared,
                                   const char *what, char *err, size_t errlen);

#endif
