/* fuzz_values.c — libFuzzer target for the value parsers and casts:
 * numbers, datetimes, domains, ip addresses and cidrs, and the binary
 * serialization the spill files use. The first byte picks the type. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dql.h"
#include "sort.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static const dql_type types[] = { DQL_T_BOOL, DQL_T_INT, DQL_T_LONG, DQL_T_DOUBLE, DQL_T_CHARARRAY,
                                      DQL_T_DATETIME, DQL_T_DOMAIN, DQL_T_IP, DQL_T_CIDR };
    dql_type t = types[data[0] % (sizeof types / sizeof types[0])];
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    dql_arena a;
    dql_arena_init(&a);
    dql_value v;
    if (dql_value_parse(&a, s, n, t, &v)) {
        dql_buf b = {0};
        dql_value_format(&b, v);
        dql_value_json(&b, v);
        (void)dql_value_hash(v);
        dql_value c;
        for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) dql_value_cast(&a, v, types[k], &c);
        dql_buf ser = {0};
        dql_value_serialize(&ser, v);
        const uint8_t *p = (const uint8_t *)ser.p, *end = p + ser.len;
        dql_value back;
        if (!dql_value_deserialize(&a, &p, end, &back) || dql_value_cmp(v, back) != 0) abort();
        dql_buf_free(&ser);
        dql_buf_free(&b);
    }
    /* arbitrary bytes as serialized data must be rejected or read safely */
    const uint8_t *p = data + 1, *end = data + size;
    dql_value w;
    while (p < end && dql_value_deserialize(&a, &p, end, &w)) {}
    dql_arena_free(&a);
    return 0;
}
