/* fuzz_model.c — libFuzzer target: arbitrary bytes as a model file
 * (dql_model_read). Corrupt, truncated or hostile files must give an error
 * message, never a crash, a hang or an out-of-bounds read; a file that is
 * accepted must score a row. The CRC-32 would reject nearly every mutation,
 * so the target also tries each input with its checksum recomputed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "../../src/classify.h"

static void try_read(const uint8_t *data, size_t size)
{
    char err[300];
    dql_model *m = NULL;
    if (dql_model_read(data, size, &m, err, sizeof err) != DQL_OK) {
        if (!err[0]) abort();   /* every failure says why */
        return;
    }
    float x[DQL_CF_MAX] = {0};
    char name[] = "example.com";
    dql_cf_parts p;
    dql_cf_split(name, strlen(name), &p);
    dql_cf_extract(&m->ref, &p, x);
    double s = dql_rf_score_one(m, x);
    if (!(s >= 0 && s <= 1)) abort();
    dql_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    try_read(data, size);
    if (size >= 24 && size < (1u << 24)) {
        uint8_t *c = malloc(size);
        memcpy(c, data, size);
        memcpy(c, "DQLMODEL\1\0\0\0", 12);
        uint64_t len = size - 24;
        for (int i = 0; i < 8; i++) c[12 + i] = (uint8_t)(len >> (8 * i));
        uint32_t crc = (uint32_t)crc32(0L, c + 24, (uInt)len);
        for (int i = 0; i < 4; i++) c[20 + i] = (uint8_t)(crc >> (8 * i));
        try_read(c, size);
        free(c);
    }
    return 0;
}
