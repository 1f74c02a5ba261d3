/* lua_host.h — embedded Lua 5.4: REGISTERed UDF files, calls with value
 * conversion both ways, driver scripts with the `dql` module, and the
 * builtins written in Lua (the files in lua/, compiled into the binary). */
#ifndef DQL_LUA_HOST_H
#define DQL_LUA_HOST_H

#include "dql.h"
#include "exec.h"
#include "session.h"

/* Creates the Lua state for a session: standard libraries, the `dql`
 * module, and the embedded builtins from lua/. */
lua_State *dql_lua_new(dql_session *s);
void dql_lua_free(lua_State *L);

/* REGISTER 'file.lua' AS ns: runs the file in a fresh environment whose
 * global functions become ns.f. Errors carry the Lua file and line. */
dql_status dql_lua_register(lua_State *L, const char *path, const char *ns, char *err, size_t errlen);
/* True if ns.fn was registered (plan-time check). */
bool dql_lua_has(lua_State *L, const char *ns, const char *fn);
/* Calls ns.fn with argv converted to Lua (null->nil, numbers, strings,
 * booleans, tuples->arrays, bags->arrays of arrays, maps->tables) and
 * converts the result back (integer->long, float->double, string->chararray,
 * boolean, array of tables->bag, array->tuple, table with string keys->map).
 * A Lua error becomes a runtime error naming the Lua file and line. */
dql_status dql_lua_call(lua_State *L, dql_exec *ex, const char *ns, const char *fn,
                        int argc, const dql_value *argv, dql_arena *a, dql_value *out);
/* Runs a .lua driver script: the `dql` module offers dql.run(text),
 * dql.rows(alias) (an iterator of tables keyed by field name), dql.set(k, v),
 * dql.param(k, v). argv becomes the global `arg`. */
dql_status dql_lua_run_driver(lua_State *L, const char *path, int argc, char **argv, char *err, size_t errlen);

/* The embedded lua/ sources, generated at build time (lua_builtins.c). */
typedef struct dql_lua_source { const char *name; const char *text; size_t len; } dql_lua_source;
extern const dql_lua_source dql_lua_builtins[];   /* ends with {NULL, NULL, 0} */

#endif
