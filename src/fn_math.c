/* fn_math.c — the math builtins: ABS, ROUND, FLOOR, CEIL, LOG, LOG10, EXP,
 * SQRT, POW and RANDOM. int and long arguments keep their type where the
 * result is exact (ABS, FLOOR, CEIL); untyped (bytearray) arguments are
 * read as double, as in Pig. Results outside a function's domain (LOG of a
 * negative number, ...) are null with a counted warning. */
#include "exec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A numeric argument. Returns 'i' (integer in *i, type in *t), 'd' (double
 * in *d) or 0 for null and values that are not numbers. Strings are parsed
 * as double. */
static int arg_num(dql_value v, int64_t *i, double *d, dql_type *t)
{
    switch (v.type) {
    case DQL_T_INT: case DQL_T_LONG:
        *i = v.u.i; *t = (dql_type)v.type;
        return 'i';
    case DQL_T_DOUBLE:
        *d = v.u.d;
        return 'd';
    case DQL_T_BYTEARRAY: case DQL_T_CHARARRAY: {
        char tmp[64];
        if (v.len == 0 || v.len >= sizeof tmp)
            return 0;
        memcpy(tmp, v.u.s, v.len);
        tmp[v.len] = 0;
        char *end;
        *d = strtod(tmp, &end);
        while (*end == ' ' || *end == '\t')
            end++;
        return end != tmp && !*end ? 'd' : 0;
    }
    default:
        return 0;
    }
}

/* The argument as a double; false for null and non-numbers. */
static bool arg_double(dql_value v, double *d)
{
    int64_t i; dql_type t;
    switch (arg_num(v, &i, d, &t)) {
    case 'i': *d = (double)i; return true;
    case 'd': return true;
    default: return false;
    }
}

static dql_value int_result(dql_type t, int64_t i)
{
    return t == DQL_T_INT ? dql_int((int32_t)i) : dql_long(i);
}

/* ABS(x): int and long stay integers (the minimum value wraps, as in Java). */
static dql_status fn_abs(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    int64_t i; double d; dql_type t;
    switch (arg_num(argv[0], &i, &d, &t)) {
    case 'i':
        if (t == DQL_T_INT)
            *out = dql_int(i < 0 ? (int32_t)(uint32_t)(0u - (uint32_t)i) : (int32_t)i);
        else
            *out = dql_long(i < 0 ? (int64_t)(0ull - (uint64_t)i) : i);
        break;
    case 'd': *out = dql_double(fabs(d)); break;
    default: *out = dql_null(); break;
    }
    return DQL_OK;
}

/* Math.round: the nearest integer, halves rounded up (towards +inf). */
static double round_half_up(double x)
{
    double f = floor(x);
    return x - f >= 0.5 ? f + 1 : f;
}

/* ROUND(x): the nearest long (halves up, as Java's Math.round).
 * ROUND(x, digits): x rounded to digits decimals (negative: tens,
 * hundreds...), as a double. */
static dql_status fn_round(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    int64_t i; double d; dql_type t;
    int k = arg_num(argv[0], &i, &d, &t);
    *out = dql_null();
    if (!k)
        return DQL_OK;
    if (argc > 1) {
        int64_t digits; double dd; dql_type dt;
        int kd = arg_num(argv[1], &digits, &dd, &dt);
        if (kd == 'd') {
            if (dd != floor(dd) || fabs(dd) > 400) kd = 0;
            else digits = (int64_t)dd;
        }
        if (!kd)
            return DQL_OK;
        if (k == 'i') d = (double)i;
        if (!isfinite(d)) { *out = dql_double(d); return DQL_OK; }
        if (digits > 15) { *out = dql_double(d); return DQL_OK; }
        if (digits < -308) { *out = dql_double(0.0); return DQL_OK; }
        double p = pow(10.0, (double)(digits < 0 ? -digits : digits));
        double r = digits >= 0 ? round_half_up(d * p) / p : round_half_up(d / p) * p;
        *out = dql_double(isfinite(r) ? r : d);
        return DQL_OK;
    }
    if (k == 'i') { *out = dql_long(i); return DQL_OK; }
    double r = round_half_up(d);
    if (!(r >= -9223372036854775808.0 && r < 9223372036854775808.0))
        return dql_fn_warn(cx, "ROUND: out of range", "ROUND(%g) does not fit in a long", d);
    *out = dql_long((int64_t)r);
    return DQL_OK;
}

static dql_status floor_ceil(dql_fnctx *cx, const dql_value *argv, dql_value *out, double (*f)(double))
{
    int64_t i; double d; dql_type t;
    switch (arg_num(argv[0], &i, &d, &t)) {
    case 'i': *out = int_result(t, i); break;
    case 'd': *out = dql_double(f(d)); break;
    default: *out = dql_null(); break;
    }
    return DQL_OK;
}

static dql_status fn_floor(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{ return floor_ceil(cx, argv, out, floor); }
static dql_status fn_ceil(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{ return floor_ceil(cx, argv, out, ceil); }

/* A one-argument double function defined for x >= lo (or x > lo when
 * strict); outside the domain: null and a warning. */
static dql_status unary(dql_fnctx *cx, const dql_value *argv, dql_value *out, double (*f)(double),
                        const char *name, double lo, bool strict)
{
    double d;
    *out = dql_null();
    if (!arg_double(argv[0], &d))
        return DQL_OK;
    if (isnan(d) || d < lo || (strict && d == lo)) {
        char kind[64];
        snprintf(kind, sizeof kind, "%s: argument out of domain", name);
        return dql_fn_warn(cx, kind, "%s(%g) is undefined", name, d);
    }
    *out = dql_double(f(d));
    return DQL_OK;
}

static dql_status fn_log(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{ return unary(cx, argv, out, log, "LOG", 0.0, true); }
static dql_status fn_log10(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{ return unary(cx, argv, out, log10, "LOG10", 0.0, true); }
static dql_status fn_sqrt(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{ return unary(cx, argv, out, sqrt, "SQRT", 0.0, false); }
static dql_status fn_exp(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{ return unary(cx, argv, out, exp, "EXP", -INFINITY, false); }

/* POW(x, y): x to the power y; null with a warning when not a real number. */
static dql_status fn_pow(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    double x, y;
    *out = dql_null();
    if (!arg_double(argv[0], &x) || !arg_double(argv[1], &y))
        return DQL_OK;
    double r = pow(x, y);
    if (isnan(r) && !isnan(x) && !isnan(y))
        return dql_fn_warn(cx, "POW: argument out of domain", "POW(%g, %g) is undefined", x, y);
    *out = dql_double(r);
    return DQL_OK;
}

/* RANDOM(): a pseudo-random double in [0, 1) from a xorshift64* generator
 * with a fixed seed (42), so runs are repeatable. */
static uint64_t rng_state = 42;

static dql_status fn_random(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    uint64_t r = x * 0x2545F4914F6CDD1Dull;
    *out = dql_double((double)(r >> 11) * (1.0 / 9007199254740992.0));
    return DQL_OK;
}

/* ---------------------------------------------------------- type checks */

/* Numeric argument check; returns the type of the first argument as the
 * result would have it (bytearray read as double). */
static dql_type tc_num_arg(int argc, const dql_field *args, char *err, size_t errlen)
{
    for (int i = 0; i < argc; i++) {
        dql_type t = args[i].type;
        if (!dql_type_is_numeric(t) && t != DQL_T_BYTEARRAY && t != DQL_T_ANY && t != DQL_T_NULL) {
            snprintf(err, errlen, "argument %d must be a number, not %s", i + 1, dql_type_name(t));
            return DQL_T__COUNT;
        }
    }
    dql_type t = args[0].type;
    if (t == DQL_T_BYTEARRAY || t == DQL_T_NULL) return DQL_T_DOUBLE;
    return t;
}

/* ABS, FLOOR, CEIL: the type of the argument. */
static dql_type tc_same_num(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    return tc_num_arg(argc, args, err, errlen);
}

static dql_type tc_round(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    if (tc_num_arg(argc, args, err, errlen) == DQL_T__COUNT) return DQL_T__COUNT;
    return argc > 1 ? DQL_T_DOUBLE : DQL_T_LONG;
}

static dql_type tc_double(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    if (argc > 0 && tc_num_arg(argc, args, err, errlen) == DQL_T__COUNT) return DQL_T__COUNT;
    return DQL_T_DOUBLE;
}

/* ---------------------------------------------------------------- table */

#define MATH(name, lo, hi, ret, tc, fn, syn, sum) \
    { name, lo, hi, ret, tc, fn, NULL, NULL, NULL, "math", syn, sum }

const dql_func_def dql_fn_math[] = {
    MATH("ABS", 1, 1, DQL_T_DOUBLE, tc_same_num, fn_abs, "ABS(x)",
         "absolute value (int and long stay integers)"),
    MATH("ROUND", 1, 2, DQL_T_LONG, tc_round, fn_round, "ROUND(x[, digits])",
         "x rounded to a long (halves up); with digits, to that many decimals as a double"),
    MATH("FLOOR", 1, 1, DQL_T_DOUBLE, tc_same_num, fn_floor, "FLOOR(x)",
         "the largest integer not above x (same type as x)"),
    MATH("CEIL", 1, 1, DQL_T_DOUBLE, tc_same_num, fn_ceil, "CEIL(x)",
         "the smallest integer not below x (same type as x)"),
    MATH("LOG", 1, 1, DQL_T_DOUBLE, tc_double, fn_log, "LOG(x)", "natural logarithm of x"),
    MATH("LOG10", 1, 1, DQL_T_DOUBLE, tc_double, fn_log10, "LOG10(x)", "base-10 logarithm of x"),
    MATH("EXP", 1, 1, DQL_T_DOUBLE, tc_double, fn_exp, "EXP(x)", "e raised to the power x"),
    MATH("SQRT", 1, 1, DQL_T_DOUBLE, tc_double, fn_sqrt, "SQRT(x)", "square root of x"),
    MATH("POW", 2, 2, DQL_T_DOUBLE, tc_double, fn_pow, "POW(x, y)", "x raised to the power y"),
    MATH("RANDOM", 0, 0, DQL_T_DOUBLE, NULL, fn_random, "RANDOM()",
         "a pseudo-random double in [0, 1) (fixed seed: repeatable runs)"),
    {0}
};
