/* session.h — a dql session: settings, aliases, the workspace database, the
 * output options, and running script text. The shell, the test runner and
 * the Lua driver all go through this API. */
#ifndef DQL_SESSION_H
#define DQL_SESSION_H

#include "dql.h"
#include "exec.h"

typedef struct sqlite3 sqlite3;
typedef struct lua_State lua_State;

/* Flags for dql_session_exec. */
enum {
    DQL_RUN_CHECK_ONLY = 1,   /* parse and check, run nothing (-c) */
    DQL_RUN_BAIL = 2          /* stop at the first failing statement */
};

dql_session *dql_session_new(void);
void dql_session_free(dql_session *s);

/* Parses, checks and runs script text. file names the source in
 * diagnostics ("<stdin>", "-e", a path). The whole text is checked before
 * any statement runs. Diagnostics go to the session's error stream. Returns
 * the status of the first failing statement (DQL_OK if none). */
dql_status dql_session_exec(dql_session *s, const char *file, const char *text, int flags);

/* Settings (SET key value): "db", "memory", "strict", "overwrite", "tmpdir",
 * and any dotted name later operators define. Values are strings. */
const char *dql_session_get(dql_session *s, const char *key);
dql_status dql_session_set(dql_session *s, const char *key, const char *value, char *err, size_t errlen);
/* State an operator family keeps for the session's lifetime (op_geo.c: the
 * open databases), by name: made by create() on first use (NULL create:
 * lookup only), freed by destroy() when the session is freed. */
void *dql_session_ext(dql_session *s, const char *name, void *(*create)(void), void (*destroy)(void *));
/* A true/false setting (strict, overwrite, stats, shards.keep, ...): false
 * when unset. */
bool dql_session_flag(dql_session *s, const char *key);
/* Iterates settings in name order: returns false past the end. */
bool dql_session_setting_at(dql_session *s, size_t i, const char **key, const char **value);

/* Parameters ($name) for substitution: -p name=value, --param-file, %default. */
void dql_session_param(dql_session *s, const char *name, const char *value);

/* The workspace database, opened on first use (setting "db", default dql.db). */
sqlite3 *dql_session_db(dql_session *s, char *err, size_t errlen);
/* Closes the current workspace and switches to path (.open, --db). */
dql_status dql_session_open_db(dql_session *s, const char *path, char *err, size_t errlen);

/* Output options used by DUMP and by the shell. */
dql_out_opts *dql_session_out(dql_session *s);
/* Diagnostics stream (stderr unless redirected, e.g. by the test runner). */
FILE *dql_session_errfp(dql_session *s);
void dql_session_set_errfp(dql_session *s, FILE *fp);

/* The interrupt flag the SIGINT handler sets. */
volatile sig_atomic_t *dql_session_interrupt_flag(dql_session *s);

/* Reads the rows of an alias defined in this session (runs its plan). */
typedef struct dql_cursor dql_cursor;
dql_status dql_session_cursor(dql_session *s, const char *alias, dql_cursor **c, char *err, size_t errlen);
const dql_schema *dql_cursor_schema(dql_cursor *c);
/* *row points at schema->n values, valid until the next call. DQL_EOF at end. */
dql_status dql_cursor_next(dql_cursor *c, const dql_value **row);
void dql_cursor_close(dql_cursor *c);

/* Progress reporting: fn is copied into each statement's dql_exec (see
 * exec.h); NULL turns it off. */
void dql_session_set_progress(dql_session *s, void (*fn)(void *ud, const dql_exec *ex), void *ud);

/* The session's Lua state (created on first use). */
lua_State *dql_session_lua(dql_session *s);

/* For the shell. A hook called before (after = false) and after (after =
 * true, with the statement's status) each statement that runs: DUMP, STORE,
 * DESCRIBE, EXPLAIN, SQL (.timer, .once). NULL removes it. */
typedef void (*dql_run_hook)(void *ud, bool after, dql_status st);
void dql_session_set_run_hook(dql_session *s, dql_run_hook fn, void *ud);
/* Runs the plan of the last DUMP (or SQL) again, printing every row whatever
 * the output's maxrows (.last). DQL_EOF when nothing was dumped yet. */
dql_status dql_session_rerun_last(dql_session *s);
/* The aliases in definition order: false past the end. */
bool dql_session_alias_at(dql_session *s, size_t i, const char **name, const dql_schema **schema);
/* Forgets an alias (.unset): false when there is none by that name. */
bool dql_session_unset_alias(dql_session *s, const char *name);

/* For sharded runs (shard.c). Runs plan p into a storer like a STORE
 * statement at sp (errors and warnings reported the same way), declaring
 * schema `as` (NULL: the plan's), overwriting; with part >= 0 as that part
 * of run `run` (dql_storer_def.open_part). And a hash of the script text
 * being run (with its parameters substituted). */
struct dql_plan;
dql_status dql_session_store_plan(dql_session *s, struct dql_plan *p, const dql_schema *as, const dql_storer_def *sd,
                                  const char *target, const dql_args *args, int part, const char *run,
                                  const dql_span *sp);
uint64_t dql_session_script_hash(dql_session *s);

#endif
