/* json.h — a small, strict RFC 8259 JSON parser that builds dql_values in an
 * arena, and the JSON string escaper the writers share. Used by the jsonl
 * loader and by the SQLite workspace (bags and maps stored as JSON text). */
#ifndef DQL_JSON_H
#define DQL_JSON_H

#include "dql.h"

/* Parses exactly one JSON value from s[0..n) (surrounding white space
 * allowed, anything else after the value is an error) into *out. Strings,
 * containers and their contents are allocated in a (nothing points into s).
 *
 * Without a type hint (type_hint NULL or of type DQL_T_ANY) values take
 * their natural type: string -> chararray, integral number that fits in 64
 * bits -> long, other number -> double, true/false -> boolean, null -> null,
 * object -> map, array -> bag of single-field tuples (nested arrays are
 * bags again).
 *
 * With a hint, values are coerced to it: object + TUPLE -> tuple with the
 * hint's fields taken by name (missing ones null); array + TUPLE -> tuple by
 * position; array + BAG -> bag whose tuples follow hint->sub (an element that
 * is an object is matched by name, an array by position, a scalar fills the
 * first field); object + MAP -> map; number + INT/LONG/DOUBLE -> that type
 * (range-checked); string + atom type -> dql_value_parse; number or boolean
 * + CHARARRAY/BYTEARRAY -> its JSON text. A value that cannot be coerced
 * becomes null and is counted in *nbad (when nbad is not NULL).
 *
 * Returns false on invalid JSON with a reason ("at byte 12: expected ':'")
 * in err; *out is then null. */
bool dql_json_parse_value(dql_arena *a, const char *s, size_t n,
                          const dql_field *type_hint, dql_value *out,
                          char *err, size_t errlen);
/* Same, counting coercion failures in *nbad (added to, not reset). */
bool dql_json_parse_counted(dql_arena *a, const char *s, size_t n,
                            const dql_field *type_hint, dql_value *out,
                            unsigned *nbad, char *err, size_t errlen);

/* Appends s[0..n) as a JSON string literal (quotes included): ", \ and
 * control characters escaped, other bytes (UTF-8) copied as they are. */
void dql_json_string(dql_buf *out, const char *s, size_t n);

#endif
