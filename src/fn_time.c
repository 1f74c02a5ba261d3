/* fn_time.c — the date and time builtins: NOW, TO_DATE, TO_UNIX,
 * FROM_UNIX, FORMAT_DATE, GET_YEAR ... GET_SECOND and DATE_DIFF, with Pig's
 * names (ToDate, ToUnixTime, GetYear, SecondsBetween, ...) as aliases.
 * A datetime is microseconds since the epoch, always UTC. Functions taking
 * a datetime also accept ISO 8601 text. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* strptime, tm_gmtoff */
#endif
#include "exec.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define US_PER_SEC INT64_C(1000000)
#define US_PER_DAY (INT64_C(86400) * US_PER_SEC)

static int64_t floor_div(int64_t a, int64_t b) { int64_t q = a / b; return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q; }

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The date of a day number (inverse of days_from_civil). */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* A datetime argument (or ISO 8601 text). False for null and bad values. */
static bool arg_dt(dql_value v, int64_t *us)
{
    if (v.type == DQL_T_DATETIME) { *us = v.u.i; return true; }
    if (dql_type_is_stringlike((dql_type)v.type))
        return dql_datetime_parse(v.u.s, v.len, us);
    return false;
}

/* NOW(): the current time. */
static dql_status fn_now(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    *out = dql_datetime((int64_t)ts.tv_sec * US_PER_SEC + ts.tv_nsec / 1000);
    return DQL_OK;
}

/* Translates a Joda/Java pattern (yyyy-MM-dd HH:mm:ss) into a strptime
 * format; formats with a '%' are used as they are. */
static void joda_to_strptime(const char *f, size_t n, char *out, size_t cap)
{
    size_t w = 0;
    for (size_t i = 0; i < n && w + 4 < cap;) {
        char c = f[i];
        size_t run = 1;
        while (i + run < n && f[i + run] == c) run++;
        const char *rep = NULL;
        switch (c) {
        case 'y': rep = run == 2 ? "%y" : "%Y"; break;
        case 'M': rep = run >= 4 ? "%B" : run == 3 ? "%b" : "%m"; break;
        case 'd': rep = "%d"; break;
        case 'H': rep = "%H"; break;
        case 'h': rep = "%I"; break;
        case 'a': rep = "%p"; break;
        case 'm': rep = "%M"; break;
        case 's': rep = "%S"; break;
        case 'E': rep = "%a"; break;
        case 'Z': case 'X': rep = "%z"; break;
        case '\'': {
            size_t j = i + 1;
            while (j < n && f[j] != '\'' && w + 2 < cap) out[w++] = f[j++];
            i = j < n ? j + 1 : j;
            continue;
        }
        default: break;
        }
        if (rep) {
            memcpy(out + w, rep, 2);
            w += 2;
        } else {
            for (size_t k = 0; k < run && w + 2 < cap; k++) {
                if (c == '%') out[w++] = '%';
                out[w++] = c;
            }
        }
        i += run;
    }
    out[w] = 0;
}

/* TO_DATE(s): ISO 8601 text; TO_DATE(s, format): parsed with strptime (or
 * a Joda pattern such as 'yyyy-MM-dd'); TO_DATE(n): n milliseconds since
 * the epoch (Pig's ToDate(long)). Unparsable text: null and a warning. */
static dql_status fn_to_date(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    dql_value v = argv[0];
    *out = dql_null();
    if (dql_is_null(v) || (argc > 1 && dql_is_null(argv[1])))
        return DQL_OK;
    if (v.type == DQL_T_DATETIME) { *out = v; return DQL_OK; }
    if (v.type == DQL_T_INT || v.type == DQL_T_LONG) { *out = dql_datetime(v.u.i * 1000); return DQL_OK; }
    if (v.type == DQL_T_DOUBLE) { *out = dql_datetime((int64_t)(v.u.d * 1000.0)); return DQL_OK; }
    if (!dql_type_is_stringlike((dql_type)v.type))
        return DQL_OK;
    int shown = (int)(v.len > 100 ? 100 : v.len);
    if (argc < 2) {
        int64_t us;
        if (!dql_datetime_parse(v.u.s, v.len, &us))
            return dql_fn_warn(cx, "TO_DATE: bad date", "'%.*s' is not an ISO 8601 date", shown, v.u.s);
        *out = dql_datetime(us);
        return DQL_OK;
    }
    if (!dql_type_is_stringlike((dql_type)argv[1].type))
        return dql_fn_warn(cx, "TO_DATE: bad format", "the format must be a chararray");
    char fmt[256], text[256];
    if (memchr(argv[1].u.s, '%', argv[1].len)) {
        size_t fl = argv[1].len < sizeof fmt - 1 ? argv[1].len : sizeof fmt - 1;
        memcpy(fmt, argv[1].u.s, fl);
        fmt[fl] = 0;
    } else {
        joda_to_strptime(argv[1].u.s, argv[1].len, fmt, sizeof fmt);
    }
    if (v.len >= sizeof text)
        return dql_fn_warn(cx, "TO_DATE: bad date", "'%.*s...' is too long", shown, v.u.s);
    memcpy(text, v.u.s, v.len);
    text[v.len] = 0;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_mday = 1;
    const char *e = strptime(text, fmt, &tm);
    while (e && (*e == ' ' || *e == '\t')) e++;
    if (!e || *e)
        return dql_fn_warn(cx, "TO_DATE: bad date", "'%s' does not match the format '%s'", text, fmt);
    int64_t days = days_from_civil((int64_t)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    int64_t secs = days * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec - tm.tm_gmtoff;
    *out = dql_datetime(secs * US_PER_SEC);
    return DQL_OK;
}

/* TO_UNIX(dt): whole seconds since the epoch (rounded down). */
static dql_status fn_to_unix(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    int64_t us;
    *out = arg_dt(argv[0], &us) ? dql_long(floor_div(us, US_PER_SEC)) : dql_null();
    return DQL_OK;
}

/* FROM_UNIX(n): the datetime n seconds after the epoch (n may be a double). */
static dql_status fn_from_unix(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    dql_value v = argv[0];
    int64_t s = 0;
    *out = dql_null();
    if (v.type == DQL_T_DOUBLE) {
        if (v.u.d > -9.2e12 && v.u.d < 9.2e12)
            *out = dql_datetime((int64_t)(v.u.d * 1e6));
    } else if (dql_fn_arg_int(v, &s) && s > -INT64_C(9200000000000) && s < INT64_C(9200000000000)) {
        *out = dql_datetime(s * US_PER_SEC);
    }
    return DQL_OK;
}

/* FORMAT_DATE(dt[, format]): strftime in UTC; ISO 8601 without format. */
static dql_status fn_format_date(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    int64_t us;
    *out = dql_null();
    if (!arg_dt(argv[0], &us) || (argc > 1 && !dql_type_is_stringlike((dql_type)argv[1].type)))
        return DQL_OK;
    if (argc < 2) {
        dql_buf b = {0};
        dql_datetime_format(&b, us);
        *out = dql_chararray(dql_arena_memdup(cx->arena, b.p ? b.p : "", b.len), b.len);
        dql_buf_free(&b);
        return DQL_OK;
    }
    char fmt[256];
    if (argv[1].len >= sizeof fmt)
        return dql_fn_warn(cx, "FORMAT_DATE: bad format", "the format is longer than 255 bytes");
    memcpy(fmt, argv[1].u.s, argv[1].len);
    fmt[argv[1].len] = 0;
    if (!strchr(fmt, '%') && argv[1].len) {
        char tr[256];
        joda_to_strptime(argv[1].u.s, argv[1].len, tr, sizeof tr);
        memcpy(fmt, tr, sizeof fmt);
    }
    time_t t = (time_t)floor_div(us, US_PER_SEC);
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return dql_fn_warn(cx, "FORMAT_DATE: out of range", "the date cannot be formatted");
    char small[256];
    size_t n = strftime(small, sizeof small, fmt, &tm);
    char *r = small;
    if (n == 0 && fmt[0]) {
        r = dql_arena_alloc(cx->arena, 4096);
        n = strftime(r, 4096, fmt, &tm);
    }
    *out = dql_chararray(dql_arena_memdup(cx->arena, r, n), n);
    return DQL_OK;
}

/* GET_*: fields of a datetime (UTC). */
enum { F_YEAR, F_MONTH, F_DAY, F_HOUR, F_MINUTE, F_SECOND };

static dql_status get_field(const dql_value *argv, dql_value *out, int f)
{
    int64_t us;
    if (!arg_dt(argv[0], &us)) { *out = dql_null(); return DQL_OK; }
    int64_t days = floor_div(us, US_PER_DAY);
    int64_t sod = (us - days * US_PER_DAY) / US_PER_SEC;
    int64_t y; int m, d;
    int r;
    switch (f) {
    case F_YEAR: civil_from_days(days, &y, &m, &d); r = (int)y; break;
    case F_MONTH: civil_from_days(days, &y, &m, &d); r = m; break;
    case F_DAY: civil_from_days(days, &y, &m, &d); r = d; break;
    case F_HOUR: r = (int)(sod / 3600); break;
    case F_MINUTE: r = (int)(sod / 60 % 60); break;
    default: r = (int)(sod % 60); break;
    }
    *out = dql_int(r);
    return DQL_OK;
}

static dql_status fn_get_year(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{ return get_field(argv, out, F_YEAR); }
static dql_status fn_get_month(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{ return get_field(argv, out, F_MONTH); }
static dql_status fn_get_day(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{ return get_field(argv, out, F_DAY); }
static dql_status fn_get_hour(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{ return get_field(argv, out, F_HOUR); }
static dql_status fn_get_minute(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{ return get_field(argv, out, F_MINUTE); }
static dql_status fn_get_second(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{ return get_field(argv, out, F_SECOND); }

/* DATE_DIFF(a, b): whole seconds from b to a (a - b, truncated). */
static dql_status fn_date_diff(dql_fnctx *cx, int argc, const dql_value *argv, dql_value *out)
{
    int64_t a, b;
    if (!arg_dt(argv[0], &a) || !arg_dt(argv[1], &b)) { *out = dql_null(); return DQL_OK; }
    *out = dql_long((a - b) / US_PER_SEC);
    return DQL_OK;
}

/* ---------------------------------------------------------- type checks */

static bool tc_dt(const dql_field *a, int i, char *err, size_t errlen)
{
    dql_type t = a->type;
    if (t == DQL_T_DATETIME || t == DQL_T_CHARARRAY || t == DQL_T_BYTEARRAY || t == DQL_T_ANY || t == DQL_T_NULL)
        return true;
    snprintf(err, errlen, "argument %d must be a datetime, not %s", i + 1, dql_type_name(t));
    return false;
}

static bool tc_text(const dql_field *a, int i, char *err, size_t errlen)
{
    dql_type t = a->type;
    if (t == DQL_T_CHARARRAY || t == DQL_T_BYTEARRAY || t == DQL_T_ANY || t == DQL_T_NULL)
        return true;
    snprintf(err, errlen, "argument %d must be a chararray, not %s", i + 1, dql_type_name(t));
    return false;
}

static dql_type tc_get(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{ return tc_dt(&args[0], 0, err, errlen) ? DQL_T_INT : DQL_T__COUNT; }
static dql_type tc_to_unix(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{ return tc_dt(&args[0], 0, err, errlen) ? DQL_T_LONG : DQL_T__COUNT; }
static dql_type tc_date_diff(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{ return tc_dt(&args[0], 0, err, errlen) && tc_dt(&args[1], 1, err, errlen) ? DQL_T_LONG : DQL_T__COUNT; }
static dql_type tc_format_date(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    return tc_dt(&args[0], 0, err, errlen) && (argc < 2 || tc_text(&args[1], 1, err, errlen))
        ? DQL_T_CHARARRAY : DQL_T__COUNT;
}
static dql_type tc_to_date(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    dql_type t = args[0].type;
    if (!(tc_dt(&args[0], 0, err, errlen) || t == DQL_T_INT || t == DQL_T_LONG || t == DQL_T_DOUBLE))
        return DQL_T__COUNT;
    if (argc > 1 && !tc_text(&args[1], 1, err, errlen))
        return DQL_T__COUNT;
    return DQL_T_DATETIME;
}
static dql_type tc_from_unix(int argc, const dql_field *args, dql_schema **sub, char *err, size_t errlen)
{
    dql_type t = args[0].type;
    if (dql_type_is_numeric(t) || t == DQL_T_BYTEARRAY || t == DQL_T_ANY || t == DQL_T_NULL)
        return DQL_T_DATETIME;
    snprintf(err, errlen, "argument 1 must be a number of seconds, not %s", dql_type_name(t));
    return DQL_T__COUNT;
}

/* ---------------------------------------------------------------- table */

#define TIME(name, lo, hi, ret, tc, fn, syn, sum) \
    { name, lo, hi, ret, tc, fn, NULL, NULL, NULL, "time", syn, sum }

const dql_func_def dql_fn_time[] = {
    TIME("NOW", 0, 0, DQL_T_DATETIME, NULL, fn_now, "NOW()", "the current date and time"),
    TIME("TO_DATE", 1, 2, DQL_T_DATETIME, tc_to_date, fn_to_date, "TO_DATE(s[, format])",
         "ISO 8601 text, or text in a strptime/Joda format, or milliseconds, as a datetime"),
    TIME("TODATE", 1, 2, DQL_T_DATETIME, tc_to_date, fn_to_date, "ToDate(s[, format])",
         "Pig name of TO_DATE"),
    TIME("TO_UNIX", 1, 1, DQL_T_LONG, tc_to_unix, fn_to_unix, "TO_UNIX(dt)",
         "seconds since 1970-01-01T00:00:00Z"),
    TIME("TOUNIXTIME", 1, 1, DQL_T_LONG, tc_to_unix, fn_to_unix, "ToUnixTime(dt)",
         "Pig name of TO_UNIX"),
    TIME("FROM_UNIX", 1, 1, DQL_T_DATETIME, tc_from_unix, fn_from_unix, "FROM_UNIX(n)",
         "the datetime n seconds after the epoch"),
    TIME("FORMAT_DATE", 1, 2, DQL_T_CHARARRAY, tc_format_date, fn_format_date, "FORMAT_DATE(dt[, format])",
         "dt as text in UTC, with a strftime format (default ISO 8601)"),
    TIME("GET_YEAR", 1, 1, DQL_T_INT, tc_get, fn_get_year, "GET_YEAR(dt)", "the year (UTC)"),
    TIME("GETYEAR", 1, 1, DQL_T_INT, tc_get, fn_get_year, "GetYear(dt)", "Pig name of GET_YEAR"),
    TIME("GET_MONTH", 1, 1, DQL_T_INT, tc_get, fn_get_month, "GET_MONTH(dt)", "the month, 1-12 (UTC)"),
    TIME("GETMONTH", 1, 1, DQL_T_INT, tc_get, fn_get_month, "GetMonth(dt)", "Pig name of GET_MONTH"),
    TIME("GET_DAY", 1, 1, DQL_T_INT, tc_get, fn_get_day, "GET_DAY(dt)", "the day of the month, 1-31 (UTC)"),
    TIME("GETDAY", 1, 1, DQL_T_INT, tc_get, fn_get_day, "GetDay(dt)", "Pig name of GET_DAY"),
    TIME("GET_HOUR", 1, 1, DQL_T_INT, tc_get, fn_get_hour, "GET_HOUR(dt)", "the hour, 0-23 (UTC)"),
    TIME("GETHOUR", 1, 1, DQL_T_INT, tc_get, fn_get_hour, "GetHour(dt)", "Pig name of GET_HOUR"),
    TIME("GET_MINUTE", 1, 1, DQL_T_INT, tc_get, fn_get_minute, "GET_MINUTE(dt)", "the minute, 0-59"),
    TIME("GETMINUTE", 1, 1, DQL_T_INT, tc_get, fn_get_minute, "GetMinute(dt)", "Pig name of GET_MINUTE"),
    TIME("GET_SECOND", 1, 1, DQL_T_INT, tc_get, fn_get_second, "GET_SECOND(dt)", "the second, 0-59"),
    TIME("GETSECOND", 1, 1, DQL_T_INT, tc_get, fn_get_second, "GetSecond(dt)", "Pig name of GET_SECOND"),
    TIME("DATE_DIFF", 2, 2, DQL_T_LONG, tc_date_diff, fn_date_diff, "DATE_DIFF(a, b)",
         "whole seconds from b to a (a - b)"),
    TIME("SECONDSBETWEEN", 2, 2, DQL_T_LONG, tc_date_diff, fn_date_diff, "SecondsBetween(a, b)",
         "Pig name of DATE_DIFF"),
    {0}
};
