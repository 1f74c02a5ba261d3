/* lua_host.c — the embedded Lua 5.4 interpreter: one lua_State per session,
 * the `dql` module (C functions here, helpers in lua/dql.lua compiled in by
 * tools/lua2c.sh), REGISTERed UDF files and calls into them with value
 * conversion both ways, driver scripts, and the instruction-count hook that
 * lets Ctrl-C stop a runaway Lua loop.
 *
 * Registry layout: &key_session holds the session (light userdata),
 * &key_namespaces a table ns -> {fn = function}. Per-state C data (session,
 * interrupt flag, UDF cache) lives in a lua_host reached through
 * lua_getextraspace(), so the hot path never looks anything up by name. */
#include "lua_host.h"

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#ifndef PACKAGE_VERSION        /* config.h is force-included by the build */
#define PACKAGE_VERSION "0.1"
#endif

#define HOOK_EVERY 10000     /* VM instructions between interrupt checks */
#define MAX_DEPTH 64         /* nesting limit when converting tables (cycles) */
#define CURSOR_MT "dql.cursor"

static const char key_session = 0;     /* registry keys: their addresses */
static const char key_namespaces = 0;

/* One cached UDF: registry reference to ns.fn. */
typedef struct udf_entry {
    char *ns, *fn;
    int ref;
} udf_entry;

typedef struct lua_host {
    dql_session *sess;
    volatile sig_atomic_t *intr;   /* the session's interrupt flag, or NULL */
    dql_exec *ex;                  /* during a UDF call: its execution context */
    int in_engine;                 /* > 0 inside a UDF call or a REGISTER */
    bool interrupt_raised;         /* the hook raised "interrupted" */
    dql_status run_status;         /* last failing dql.run / dql.rows status */
    udf_entry *cache;
    int ncache, capcache, last;
    dql_buf tmp;                   /* scratch for ip/cidr text */
} lua_host;

static lua_host *host_of(lua_State *L)
{
    lua_host *h;
    memcpy(&h, lua_getextraspace(L), sizeof h);
    return h;
}

static void copy_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg ? msg : "unknown Lua error");
}

/* --------------------------------------------------------------- errors */

/* Message handler for UDF calls: the message (non-string error objects
 * described), followed by a stack traceback when the error happened below
 * the called function (with one Lua frame the message says it all). */
static int msgh_trace(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            msg = lua_tostring(L, -1);
        else
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    lua_Debug ar;
    int lua_frames = 0;
    for (int level = 1; lua_frames < 2 && lua_getstack(L, level, &ar); level++)
        if (lua_getinfo(L, "S", &ar) && strcmp(ar.what, "C") != 0)
            lua_frames++;
    if (lua_frames > 1)
        luaL_traceback(L, L, msg, 1);
    else
        lua_pushstring(L, msg);
    return 1;
}

/* Message handler for REGISTER and drivers: just the message as a string. */
static int msgh_plain(lua_State *L)
{
    if (lua_type(L, 1) == LUA_TSTRING)
        return 1;
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
        return 1;
    lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    return 1;
}

/* Pushes "file:line: " for the innermost caller that is user code (not a
 * C function, not one of our lua/ builtins), or "" when there is none. */
static void push_where(lua_State *L)
{
    lua_Debug ar;
    for (int level = 1; lua_getstack(L, level, &ar); level++) {
        if (!lua_getinfo(L, "Sl", &ar))
            break;
        if (ar.currentline > 0 && strncmp(ar.source, "=lua/", 5) != 0) {
            lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
            return;
        }
    }
    lua_pushliteral(L, "");
}

/* Raises a Lua error located at the user's calling line. */
static int raise_user(lua_State *L, const char *fmt, ...)
{
    va_list ap;
    push_where(L);
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    lua_concat(L, 2);
    return lua_error(L);
}

/* Count hook: stops Lua code when Ctrl-C was pressed. */
static void interrupt_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_host *h = host_of(L);
    if ((h->intr && *h->intr) || (h->ex && dql_exec_interrupted(h->ex))) {
        h->interrupt_raised = true;
        lua_pushliteral(L, "interrupted");
        lua_error(L);
    }
}

static int on_panic(lua_State *L)
{
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "dql: fatal Lua error: %s\n", msg ? msg : "(not a string)");
    fflush(stderr);
    return 0;   /* Lua aborts */
}

/* ---------------------------------------------------- dql -> Lua values */

/* Pushes v converted to Lua (see lua_host.h and doc/lua.md). Containers
 * recurse; dql values are trees, so depth is bounded by the data. */
static void push_value(lua_State *L, lua_host *h, dql_value v)
{
    switch ((dql_type)v.type) {
    case DQL_T_BOOL:
        lua_pushboolean(L, v.u.i != 0);
        break;
    case DQL_T_INT:
    case DQL_T_LONG:
    case DQL_T_DATETIME:
        lua_pushinteger(L, (lua_Integer)v.u.i);
        break;
    case DQL_T_DOUBLE:
        lua_pushnumber(L, (lua_Number)v.u.d);
        break;
    case DQL_T_CHARARRAY:
    case DQL_T_BYTEARRAY:
    case DQL_T_DOMAIN:
        lua_pushlstring(L, v.len ? v.u.s : "", v.len);
        break;
    case DQL_T_IP:
    case DQL_T_CIDR:
        if (!v.u.ip || (v.len != 4 && v.len != 16)) {
            lua_pushnil(L);
            break;
        }
        h->tmp.len = 0;
        dql_ip_format(&h->tmp, v.u.ip, (int)v.len);
        if (v.type == DQL_T_CIDR)
            dql_buf_printf(&h->tmp, "/%u", (unsigned)v.aux);
        lua_pushlstring(L, h->tmp.p, h->tmp.len);
        break;
    case DQL_T_TUPLE: {
        const dql_tuple *t = v.u.t;
        uint32_t n = t ? t->n : 0;
        if (!lua_checkstack(L, 4))
            luaL_error(L, "Lua stack overflow converting a tuple");
        lua_createtable(L, n > INT_MAX ? INT_MAX : (int)n, 1);
        for (uint32_t i = 0; i < n; i++) {
            if (t->v[i].type == DQL_T_NULL)
                continue;
            push_value(L, h, t->v[i]);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        lua_pushinteger(L, (lua_Integer)n);
        lua_setfield(L, -2, "n");
        break;
    }
    case DQL_T_BAG: {
        const dql_bag *b = v.u.b;
        uint64_t n = b ? b->n : 0;
        if (!lua_checkstack(L, 4))
            luaL_error(L, "Lua stack overflow converting a bag");
        lua_createtable(L, n > INT_MAX ? INT_MAX : (int)n, 0);
        for (uint64_t i = 0; i < n; i++) {
            dql_value tv = dql_null();
            tv.type = DQL_T_TUPLE;
            tv.u.t = b->t[i];
            push_value(L, h, tv);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        break;
    }
    case DQL_T_MAP: {
        const dql_map *m = v.u.m;
        uint32_t n = m ? m->n : 0;
        if (!lua_checkstack(L, 4))
            luaL_error(L, "Lua stack overflow converting a map");
        lua_createtable(L, 0, n > INT_MAX ? INT_MAX : (int)n);
        for (uint32_t i = 0; i < n; i++) {
            if (m->k[i].type == DQL_T_NULL)
                continue;
            push_value(L, h, m->k[i]);
            if (lua_isnil(L, -1)) {
                lua_pop(L, 1);
                continue;
            }
            push_value(L, h, m->v[i]);
            lua_rawset(L, -3);
        }
        break;
    }
    default:
        lua_pushnil(L);
        break;
    }
}

/* ---------------------------------------------------- Lua -> dql values */

typedef struct conv {
    dql_arena *a;
    char msg[160];     /* on failure: "returned a function", ... */
} conv;

static bool to_value(lua_State *L, int idx, conv *cv, dql_value *out, int depth, bool want_tuple);

static bool conv_fail_type(lua_State *L, conv *cv, int idx, int depth)
{
    if (depth == 0)
        snprintf(cv->msg, sizeof cv->msg, "returned a %s", luaL_typename(L, idx));
    else
        snprintf(cv->msg, sizeof cv->msg, "returned a table holding a %s", luaL_typename(L, idx));
    return false;
}

/* Builds a tuple of n fields from t[1..n] (nil holes become nulls). */
static bool table_to_tuple(lua_State *L, int idx, lua_Integer n, conv *cv, dql_value *out, int depth)
{
    dql_tuple *t = dql_tuple_new(cv->a, (uint32_t)n);
    for (lua_Integer i = 0; i < n; i++) {
        lua_rawgeti(L, idx, i + 1);
        bool ok = to_value(L, lua_gettop(L), cv, &t->v[i], depth + 1, false);
        lua_pop(L, 1);
        if (!ok)
            return false;
    }
    *out = dql_null();
    out->type = DQL_T_TUPLE;
    out->u.t = t;
    return true;
}

/* Builds a bag from t[1..n], every element a table converted to a tuple. */
static bool table_to_bag(lua_State *L, int idx, lua_Integer n, conv *cv, dql_value *out, int depth)
{
    dql_bag *b = dql_bag_new(cv->a, (uint64_t)n);
    for (lua_Integer i = 0; i < n; i++) {
        dql_value e;
        lua_rawgeti(L, idx, i + 1);
        bool ok = to_value(L, lua_gettop(L), cv, &e, depth + 1, true);
        lua_pop(L, 1);
        if (!ok)
            return false;
        if (e.type != DQL_T_TUPLE) {       /* a map element: wrap it */
            dql_tuple *w = dql_tuple_new(cv->a, 1);
            w->v[0] = e;
            b->t[i] = w;
        } else {
            b->t[i] = e.u.t;
        }
    }
    *out = dql_null();
    out->type = DQL_T_BAG;
    out->u.b = b;
    return true;
}

typedef struct kv { dql_value k, v; } kv;

static int kv_cmp(const void *pa, const void *pb)
{
    const kv *a = pa, *b = pb;
    size_t n = a->k.len < b->k.len ? a->k.len : b->k.len;
    int c = n ? memcmp(a->k.u.s, b->k.u.s, n) : 0;
    if (c)
        return c;
    return (a->k.len > b->k.len) - (a->k.len < b->k.len);
}

/* Builds a map from every key of the table (numbers become their text),
 * sorted by key so that output does not depend on Lua's hash order. */
static bool table_to_map(lua_State *L, int idx, size_t count, conv *cv, dql_value *out, int depth)
{
    if (count > UINT32_MAX) {
        snprintf(cv->msg, sizeof cv->msg, "returned a table with too many keys");
        return false;
    }
    kv *items = count ? dql_arena_alloc(cv->a, count * sizeof *items) : NULL;
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        size_t klen;
        const char *ks;
        if (n == count) {   /* cannot happen: the table was scanned before */
            lua_pop(L, 2);
            break;
        }
        lua_pushvalue(L, -2);          /* tolstring on a copy keeps lua_next sane */
        ks = lua_tolstring(L, -1, &klen);
        items[n].k = dql_chararray_copy(cv->a, ks ? ks : "", ks ? klen : 0);
        lua_pop(L, 1);
        if (!to_value(L, lua_gettop(L), cv, &items[n].v, depth + 1, false)) {
            lua_pop(L, 2);
            return false;
        }
        n++;
        lua_pop(L, 1);
    }
    if (n > 1)
        qsort(items, n, sizeof *items, kv_cmp);
    dql_map *m = dql_map_new(cv->a, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        m->k[i] = items[i].k;
        m->v[i] = items[i].v;
    }
    m->n = (uint32_t)n;
    *out = dql_null();
    out->type = DQL_T_MAP;
    out->u.m = m;
    return true;
}

/* Classifies a table and converts it:
 *   integer `n` field, only keys 1..n, and at least one element (or n == 0)
 *                                             -> tuple of n fields (holes null)
 *   keys 1..k (dense) whose values are tables -> bag of tuples
 *   keys 1..k otherwise (holes allowed)      -> tuple
 *   {}                                        -> empty bag (empty tuple when
 *                                                want_tuple)
 *   anything else (string keys, sparse)       -> map
 * want_tuple: the table is a bag element, so array-like tables are tuples. */
static bool table_to_value(lua_State *L, int idx, conv *cv, dql_value *out, int depth, bool want_tuple)
{
    if (depth >= MAX_DEPTH) {
        snprintf(cv->msg, sizeof cv->msg,
                 "returned tables nested more than %d deep (a cycle?)", MAX_DEPTH);
        return false;
    }
    if (!lua_checkstack(L, 6)) {
        snprintf(cv->msg, sizeof cv->msg, "returned tables nested too deep");
        return false;
    }
    lua_Integer maxk = 0, nval = -1;
    size_t nint = 0, nother = 0;
    bool has_n = false, all_tables = true;

    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int kt = lua_type(L, -2);
        if (kt == LUA_TNUMBER && lua_isinteger(L, -2) && lua_tointeger(L, -2) >= 1) {
            lua_Integer k = lua_tointeger(L, -2);
            nint++;
            if (k > maxk)
                maxk = k;
            if (lua_type(L, -1) != LUA_TTABLE)
                all_tables = false;
        } else if (kt == LUA_TSTRING) {
            size_t kl;
            const char *ks = lua_tolstring(L, -2, &kl);
            if (kl == 1 && ks[0] == 'n' && lua_isinteger(L, -1)) {
                has_n = true;
                nval = lua_tointeger(L, -1);
            } else {
                nother++;
            }
        } else if (kt == LUA_TNUMBER) {
            nother++;
        } else {
            snprintf(cv->msg, sizeof cv->msg, "returned a table with a %s key", luaL_typename(L, -2));
            lua_pop(L, 2);
            return false;
        }
        lua_pop(L, 1);
    }

    /* Tuples may have nil holes, but not absurdly many (a huge n would
     * allocate a huge tuple). */
    lua_Integer holes_ok = (lua_Integer)(2 * nint + 64);
    if (nother == 0 && has_n && nval >= maxk && nval <= holes_ok && nval <= INT32_MAX
        && (nint > 0 || nval == 0))
        return table_to_tuple(L, idx, nval, cv, out, depth);
    if (nother == 0 && !has_n) {
        if (nint == 0) {
            if (want_tuple)
                return table_to_tuple(L, idx, 0, cv, out, depth);
            *out = dql_null();
            out->type = DQL_T_BAG;
            out->u.b = dql_bag_new(cv->a, 0);
            return true;
        }
        if ((size_t)maxk == nint && all_tables && !want_tuple)
            return table_to_bag(L, idx, maxk, cv, out, depth);
        if (maxk <= holes_ok && maxk <= INT32_MAX)
            return table_to_tuple(L, idx, maxk, cv, out, depth);
    }
    return table_to_map(L, idx, nint + nother + (has_n ? 1 : 0), cv, out, depth);
}

/* Converts the Lua value at idx (absolute) into *out, allocating in cv->a.
 * Returns false with cv->msg set for values that have no dql form. */
static bool to_value(lua_State *L, int idx, conv *cv, dql_value *out, int depth, bool want_tuple)
{
    switch (lua_type(L, idx)) {
    case LUA_TNONE:
    case LUA_TNIL:
        *out = dql_null();
        return true;
    case LUA_TBOOLEAN:
        *out = dql_bool(lua_toboolean(L, idx));
        return true;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            *out = dql_long((int64_t)lua_tointeger(L, idx));
        else
            *out = dql_double((double)lua_tonumber(L, idx));
        return true;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        if (n > UINT32_MAX) {
            snprintf(cv->msg, sizeof cv->msg, "returned a string longer than 4 GB");
            return false;
        }
        *out = dql_chararray_copy(cv->a, s, n);
        return true;
    }
    case LUA_TTABLE:
        return table_to_value(L, idx, cv, out, depth, want_tuple);
    default:
        return conv_fail_type(L, cv, idx, depth);
    }
}

/* ------------------------------------------------------------ UDF cache */

/* Returns the registry reference of ns.fn, creating it on first use, or
 * LUA_NOREF when ns.fn is not a registered function. */
static int udf_ref(lua_State *L, lua_host *h, const char *ns, const char *fn)
{
    if (h->last < h->ncache) {
        udf_entry *e = &h->cache[h->last];
        if (strcmp(e->fn, fn) == 0 && strcmp(e->ns, ns) == 0)
            return e->ref;
    }
    for (int i = 0; i < h->ncache; i++) {
        udf_entry *e = &h->cache[i];
        if (strcmp(e->fn, fn) == 0 && strcmp(e->ns, ns) == 0) {
            h->last = i;
            return e->ref;
        }
    }
    int ref = LUA_NOREF, top = lua_gettop(L);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &key_namespaces);
    if (lua_getfield(L, -1, ns) == LUA_TTABLE && lua_getfield(L, -1, fn) == LUA_TFUNCTION) {
        ref = luaL_ref(L, LUA_REGISTRYINDEX);       /* pops the function */
        if (h->ncache == h->capcache) {
            h->capcache = h->capcache ? 2 * h->capcache : 8;
            h->cache = dql_xrealloc(h->cache, (size_t)h->capcache * sizeof *h->cache);
        }
        udf_entry *e = &h->cache[h->ncache];
        e->ns = dql_xstrdup(ns);
        e->fn = dql_xstrdup(fn);
        e->ref = ref;
        h->last = h->ncache++;
    }
    lua_settop(L, top);
    return ref;
}

/* Drops the cached references of namespace ns (it is being replaced). */
static void udf_forget(lua_State *L, lua_host *h, const char *ns)
{
    int j = 0;
    for (int i = 0; i < h->ncache; i++) {
        udf_entry *e = &h->cache[i];
        if (strcmp(e->ns, ns) == 0) {
            luaL_unref(L, LUA_REGISTRYINDEX, e->ref);
            free(e->ns);
            free(e->fn);
        } else {
            h->cache[j++] = *e;
        }
    }
    h->ncache = j;
    h->last = 0;
}

/* --------------------------------------------------------- dql module */

static dql_session *need_session(lua_State *L, lua_host *h, const char *what)
{
    if (!h->sess)
        raise_user(L, "dql.%s: no session", what);
    if (h->in_engine)
        raise_user(L, "dql.%s cannot be used inside a UDF or a REGISTERed file", what);
    return h->sess;
}

/* Value argument of dql.set / dql.param: strings, numbers, booleans. */
static const char *setting_arg(lua_State *L, int i, const char *what)
{
    switch (lua_type(L, i)) {
    case LUA_TBOOLEAN:
        return lua_toboolean(L, i) ? "true" : "false";
    case LUA_TSTRING:
    case LUA_TNUMBER:
        return lua_tostring(L, i);
    default:
        raise_user(L, "dql.%s: value must be a string, number or boolean, not %s",
                   what, luaL_typename(L, i));
        return NULL;
    }
}

/* dql.run(text): runs dql statements; raises an error when they fail (the
 * diagnostics themselves are printed by the session). Returns true. */
static int l_run(lua_State *L)
{
    lua_host *h = host_of(L);
    const char *text = luaL_checkstring(L, 1);
    dql_session *s = need_session(L, h, "run");
    dql_status st = dql_session_exec(s, "<lua>", text, 0);
    if (st != DQL_OK && st != DQL_EOF) {
        h->run_status = st;
        return raise_user(L, "dql.run: %s", dql_status_str(st));
    }
    lua_pushboolean(L, 1);
    return 1;
}

typedef struct lcursor { dql_cursor *c; int ncols; } lcursor;

static int cursor_close(lua_State *L)
{
    lcursor *lc = luaL_checkudata(L, 1, CURSOR_MT);
    if (lc->c) {
        dql_cursor_close(lc->c);
        lc->c = NULL;
    }
    return 0;
}

/* Iterator closure of dql.rows: upvalues cursor userdata, field keys
 * table (names, or 1-based positions for unnamed fields), alias. */
static int rows_iter(lua_State *L)
{
    lua_host *h = host_of(L);
    lcursor *lc = lua_touserdata(L, lua_upvalueindex(1));
    const dql_value *row;
    if (!lc->c)
        return 0;
    dql_status st = dql_cursor_next(lc->c, &row);
    if (st == DQL_EOF) {
        dql_cursor_close(lc->c);
        lc->c = NULL;
        return 0;
    }
    if (st != DQL_OK) {
        dql_cursor_close(lc->c);
        lc->c = NULL;
        h->run_status = st;
        return raise_user(L, "dql.rows('%s'): %s", lua_tostring(L, lua_upvalueindex(3)),
                          dql_status_str(st));
    }
    lua_createtable(L, 0, lc->ncols);
    for (int j = 0; j < lc->ncols; j++) {
        if (row[j].type == DQL_T_NULL)
            continue;
        lua_rawgeti(L, lua_upvalueindex(2), j + 1);
        push_value(L, h, row[j]);
        lua_rawset(L, -3);
    }
    return 1;
}

/* dql.rows(alias): for row in dql.rows('a') do ... end. Returns the
 * iterator, nil, nil and the cursor as a to-be-closed value, so breaking
 * out of the loop closes the cursor. */
static int l_rows(lua_State *L)
{
    lua_host *h = host_of(L);
    const char *alias = luaL_checkstring(L, 1);
    dql_session *s = need_session(L, h, "rows");
    char err[512];
    lcursor *lc = lua_newuserdatauv(L, sizeof *lc, 0);       /* 2 */
    lc->c = NULL;
    lc->ncols = 0;
    luaL_setmetatable(L, CURSOR_MT);
    err[0] = 0;
    dql_status st = dql_session_cursor(s, alias, &lc->c, err, sizeof err);
    if (st != DQL_OK || !lc->c) {
        lc->c = NULL;
        h->run_status = st;
        return raise_user(L, "dql.rows('%s'): %s", alias, err[0] ? err : dql_status_str(st));
    }
    const dql_schema *sc = dql_cursor_schema(lc->c);
    int n = sc ? sc->n : 0;
    lua_createtable(L, n, 0);                                  /* 3 */
    for (int j = 0; j < n; j++) {
        if (sc->f[j].name)
            lua_pushstring(L, sc->f[j].name);
        else
            lua_pushinteger(L, j + 1);
        lua_rawseti(L, -2, j + 1);
    }
    lc->ncols = n;
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    lua_pushvalue(L, 1);
    lua_pushcclosure(L, rows_iter, 3);
    lua_pushnil(L);
    lua_pushnil(L);
    lua_pushvalue(L, 2);
    return 4;
}

/* dql.set(key, value): a session setting, as SET does. */
static int l_set(lua_State *L)
{
    lua_host *h = host_of(L);
    const char *k = luaL_checkstring(L, 1);
    const char *v = setting_arg(L, 2, "set");
    dql_session *s = need_session(L, h, "set");
    char err[512];
    err[0] = 0;
    if (dql_session_set(s, k, v, err, sizeof err) != DQL_OK)
        return raise_user(L, "dql.set: %s", err[0] ? err : "failed");
    return 0;
}

/* dql.get(key) -> the setting's value (a string) or nil. */
static int l_get(lua_State *L)
{
    lua_host *h = host_of(L);
    const char *k = luaL_checkstring(L, 1);
    if (!h->sess)
        return raise_user(L, "dql.get: no session");
    const char *v = dql_session_get(h->sess, k);
    if (v)
        lua_pushstring(L, v);
    else
        lua_pushnil(L);
    return 1;
}

/* dql.param(name, value): defines $name for later dql.run texts. */
static int l_param(lua_State *L)
{
    lua_host *h = host_of(L);
    const char *k = luaL_checkstring(L, 1);
    const char *v = setting_arg(L, 2, "param");
    dql_session *s = need_session(L, h, "param");
    dql_session_param(s, k, v);
    return 0;
}

static const luaL_Reg dql_funcs[] = {
    { "run", l_run },
    { "rows", l_rows },
    { "set", l_set },
    { "get", l_get },
    { "param", l_param },
    { NULL, NULL }
};

/* Runs the embedded lua/ sources with the module table (at mod) as their
 * argument. A source other than dql.lua that returns a value becomes
 * package.loaded["dql.<name>"]. Failures (bugs in our lua/ files) are
 * reported on stderr. */
static void load_builtins(lua_State *L, int mod)
{
    for (const dql_lua_source *src = dql_lua_builtins; src->name; src++) {
        int top = lua_gettop(L);
        const char *chunk = lua_pushfstring(L, "=lua/%s", src->name);
        lua_pushcfunction(L, msgh_trace);
        int st = luaL_loadbuffer(L, src->text, src->len, chunk);
        if (st == LUA_OK) {
            lua_pushvalue(L, mod);
            st = lua_pcall(L, 1, 1, top + 2);
        }
        if (st != LUA_OK) {
            fprintf(stderr, "dql: internal error in lua/%s: %s\n", src->name, lua_tostring(L, -1));
        } else if (strcmp(src->name, "dql.lua") != 0 && !lua_isnil(L, -1)) {
            int res = lua_gettop(L);
            size_t n = strlen(src->name);
            if (n > 4 && strcmp(src->name + n - 4, ".lua") == 0)
                n -= 4;
            luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
            lua_pushliteral(L, "dql.");
            lua_pushlstring(L, src->name, n);
            lua_concat(L, 2);
            lua_pushvalue(L, res);
            lua_rawset(L, -3);
        }
        lua_settop(L, top);
    }
}

lua_State *dql_lua_new(dql_session *s)
{
    lua_State *L = luaL_newstate();
    if (!L)
        return NULL;
    lua_atpanic(L, on_panic);
    lua_host *h = dql_xcalloc(1, sizeof *h);
    h->sess = s;
    h->intr = s ? dql_session_interrupt_flag(s) : NULL;
    memcpy(lua_getextraspace(L), &h, sizeof h);

    luaL_openlibs(L);

    lua_pushlightuserdata(L, s);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &key_session);
    lua_newtable(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &key_namespaces);

    luaL_newmetatable(L, CURSOR_MT);
    lua_pushcfunction(L, cursor_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, cursor_close);
    lua_setfield(L, -2, "__close");
    lua_pop(L, 1);

    luaL_newlib(L, dql_funcs);
    lua_pushliteral(L, PACKAGE_VERSION);
    lua_setfield(L, -2, "_VERSION");
    lua_pushvalue(L, -1);
    lua_setglobal(L, "dql");
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "dql");
    lua_pop(L, 1);
    load_builtins(L, lua_gettop(L));
    lua_settop(L, 0);

    lua_sethook(L, interrupt_hook, LUA_MASKCOUNT, HOOK_EVERY);
    return L;
}

void dql_lua_free(lua_State *L)
{
    if (!L)
        return;
    lua_host *h = host_of(L);
    lua_close(L);
    for (int i = 0; i < h->ncache; i++) {
        free(h->cache[i].ns);
        free(h->cache[i].fn);
    }
    free(h->cache);
    dql_buf_free(&h->tmp);
    free(h);
}

/* ------------------------------------------------------------ REGISTER */

/* Copies the functions with string keys of the table at src into dst. */
static int collect_functions(lua_State *L, int src, int dst)
{
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, src)) {
        if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TFUNCTION) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, dst);
            n++;
        } else {
            lua_pop(L, 1);
        }
    }
    return n;
}

dql_status dql_lua_register(lua_State *L, const char *path, const char *ns, char *err, size_t errlen)
{
    lua_host *h = host_of(L);
    int top = lua_gettop(L);
    dql_status ret = DQL_OK;

    lua_pushcfunction(L, msgh_plain);                       /* top+1 */
    int st = luaL_loadfilex(L, path, "t");                  /* top+2 */
    if (st != LUA_OK) {
        copy_err(err, errlen, lua_tostring(L, -1));
        lua_settop(L, top);
        return st == LUA_ERRFILE ? DQL_ERR_IO : DQL_ERR_LUA;
    }
    lua_newtable(L);                                        /* top+3: _ENV */
    lua_createtable(L, 0, 1);
    lua_pushglobaltable(L);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    if (!lua_setupvalue(L, top + 2, 1))
        lua_pop(L, 1);
    lua_pushvalue(L, top + 2);
    lua_pushstring(L, ns);
    h->in_engine++;
    h->interrupt_raised = false;
    st = lua_pcall(L, 1, 1, top + 1);                       /* top+4: result */
    h->in_engine--;
    if (st != LUA_OK) {
        if (h->interrupt_raised) {
            snprintf(err, errlen, "%s: interrupted", path);
            ret = DQL_ERR_INTERRUPT;
        } else {
            copy_err(err, errlen, lua_tostring(L, -1));
            ret = DQL_ERR_LUA;
        }
        lua_settop(L, top);
        return ret;
    }
    lua_newtable(L);                                        /* top+5: namespace */
    int n = collect_functions(L, top + 3, top + 5);
    if (lua_type(L, top + 4) == LUA_TTABLE)                 /* module style: return {f = ...} */
        n += collect_functions(L, top + 4, top + 5);
    if (n == 0) {
        snprintf(err, errlen, "%s: defines no global functions to register as %s", path, ns);
        lua_settop(L, top);
        return DQL_ERR_LUA;
    }
    udf_forget(L, h, ns);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &key_namespaces);
    lua_pushvalue(L, top + 5);
    lua_setfield(L, -2, ns);
    lua_settop(L, top);
    return DQL_OK;
}

bool dql_lua_has(lua_State *L, const char *ns, const char *fn)
{
    int top = lua_gettop(L);
    bool ok = false;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &key_namespaces);
    if (lua_getfield(L, -1, ns) == LUA_TTABLE)
        ok = lua_getfield(L, -1, fn) == LUA_TFUNCTION;
    lua_settop(L, top);
    return ok;
}

dql_status dql_lua_call(lua_State *L, dql_exec *ex, const char *ns, const char *fn,
                        int argc, const dql_value *argv, dql_arena *a, dql_value *out)
{
    lua_host *h = host_of(L);
    int top = lua_gettop(L);
    *out = dql_null();

    int ref = udf_ref(L, h, ns, fn);
    if (ref == LUA_NOREF)
        return dql_exec_error(ex, "Lua UDF %s.%s is not defined (missing REGISTER?)", ns, fn);
    if (argc < 0 || !lua_checkstack(L, argc + 8))
        return dql_exec_error(ex, "Lua UDF %s.%s: too many arguments", ns, fn);

    lua_pushcfunction(L, msgh_trace);
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    for (int i = 0; i < argc; i++)
        push_value(L, h, argv[i]);

    dql_exec *prev = h->ex;
    h->ex = ex;
    h->in_engine++;
    h->interrupt_raised = false;
    int st = lua_pcall(L, argc, 1, top + 1);
    h->in_engine--;
    h->ex = prev;

    if (st != LUA_OK) {
        dql_status ret;
        if (h->interrupt_raised)
            ret = dql_exec_error_st(ex, DQL_ERR_INTERRUPT, "Lua UDF %s.%s: interrupted", ns, fn);
        else {
            const char *msg = lua_tostring(L, -1);
            ret = dql_exec_error(ex, "Lua UDF %s.%s: %s", ns, fn, msg ? msg : "unknown error");
        }
        lua_settop(L, top);
        return ret;
    }

    conv cv;
    cv.a = a;
    cv.msg[0] = 0;
    dql_status ret = DQL_OK;
    if (!to_value(L, lua_gettop(L), &cv, out, 0, false)) {
        *out = dql_null();
        ret = dql_exec_error(ex, "Lua UDF %s.%s %s", ns, fn, cv.msg);
    }
    lua_settop(L, top);
    return ret;
}

/* --------------------------------------------------------------- driver */

dql_status dql_lua_run_driver(lua_State *L, const char *path, int argc, char **argv, char *err, size_t errlen)
{
    lua_host *h = host_of(L);
    int top = lua_gettop(L);
    /* argv are the script's arguments; tolerate callers that pass the
     * script itself as argv[0] (the same pointer as path). */
    int first = (argc > 0 && argv[0] == path) ? 1 : 0;
    int nargs = argc - first;

    lua_createtable(L, nargs > 0 ? nargs : 0, 1);
    lua_pushstring(L, path);
    lua_rawseti(L, -2, 0);
    for (int i = 0; i < nargs; i++) {
        lua_pushstring(L, argv[first + i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setglobal(L, "arg");

    lua_pushcfunction(L, msgh_plain);                       /* top+1 */
    int st = luaL_loadfilex(L, path, "t");
    if (st != LUA_OK) {
        copy_err(err, errlen, lua_tostring(L, -1));
        lua_settop(L, top);
        return st == LUA_ERRFILE ? DQL_ERR_IO : DQL_ERR_LUA;
    }
    if (!lua_checkstack(L, nargs + 4)) {
        copy_err(err, errlen, "too many arguments");
        lua_settop(L, top);
        return DQL_ERR_USAGE;
    }
    for (int i = 0; i < nargs; i++)
        lua_pushstring(L, argv[first + i]);
    h->run_status = DQL_OK;
    h->interrupt_raised = false;
    st = lua_pcall(L, nargs, 0, top + 1);
    dql_status ret = DQL_OK;
    if (st != LUA_OK) {
        if (h->interrupt_raised) {
            snprintf(err, errlen, "%s: interrupted", path);
            ret = DQL_ERR_INTERRUPT;
        } else {
            copy_err(err, errlen, lua_tostring(L, -1));
            ret = h->run_status == DQL_ERR_INTERRUPT ? DQL_ERR_INTERRUPT : DQL_ERR_LUA;
        }
    }
    lua_settop(L, top);
    return ret;
}
