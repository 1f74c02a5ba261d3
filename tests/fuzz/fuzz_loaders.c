/* fuzz_loaders.c — libFuzzer target for the text loaders (lines, csv, tsv,
 * jsonl, with and without a declared schema) and the JSON value parser. The
 * first byte picks the loader; the rest is the file. Seeds: CSV, TSV and
 * JSON-lines files from ../shared/data and tests. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dql.h"
#include "exec.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void drain(const dql_loader_def *ld, const char *path, const dql_args *args, const dql_schema *declared)
{
    dql_load_ctx lc = { .path = path, .args = args, .declared = declared };
    dql_schema *s = NULL;
    char err[256];
    if (ld->plan(&lc, &s, err, sizeof err) != DQL_OK || !s) { dql_schema_free(s); return; }
    dql_exec ex;
    memset(&ex, 0, sizeof ex);
    ex.mem_budget = 1 << 20;
    void *st = NULL;
    if (ld->open(&lc, s, &ex, &st) == DQL_OK) {
        dql_arena a;
        dql_arena_init(&a);
        dql_batch b;
        dql_batch_init(&b, s->n, 64);
        for (int i = 0; i < 10000; i++) {
            dql_arena_reset(&a);
            b.n = 0;
            if (ld->next(st, &b, &a) != DQL_OK || b.n == 0) break;
            dql_buf out = {0};
            for (int r = 0; r < b.n; r++)
                for (int c = 0; c < s->n; c++) dql_value_json(&out, dql_batch_row(&b, r)[c]);
            dql_buf_free(&out);
        }
        dql_batch_free(&b);
        dql_arena_free(&a);
        ld->close(st);
    }
    for (int i = 0; i < ex.nwarns; i++) { free(ex.warns[i].kind); free(ex.warns[i].first); }
    free(ex.warns);
    free(ex.errmsg);
    dql_schema_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    char path[] = "/tmp/dql-fuzz-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return 0;
    if (write(fd, data + 1, size - 1) != (ssize_t)(size - 1)) { close(fd); unlink(path); return 0; }
    close(fd);
    const dql_loader_def *lds[] = { &dql_loader_lines, &dql_loader_csv, &dql_loader_tsv, &dql_loader_jsonl };
    const dql_loader_def *ld = lds[data[0] % 4];
    dql_args none = { 0, NULL };
    drain(ld, path, &none, NULL);
    dql_schema *decl = dql_schema_new(0);
    dql_schema_add(decl, "a", DQL_T_INT, NULL);
    dql_schema_add(decl, "b", DQL_T_DOMAIN, NULL);
    dql_schema_add(decl, "c", DQL_T_IP, NULL);
    dql_schema_add(decl, "d", DQL_T_DATETIME, NULL);
    if (ld == &dql_loader_lines) { dql_schema_free(decl); decl = dql_schema_new(0); dql_schema_add(decl, "d", DQL_T_DOMAIN, NULL); }
    drain(ld, path, &none, decl);
    dql_schema_free(decl);
    unlink(path);
    /* the JSON parser on the raw bytes */
    dql_arena a;
    dql_arena_init(&a);
    dql_value v;
    char err[128];
    dql_json_parse_value(&a, (const char *)data + 1, size - 1, NULL, &v, err, sizeof err);
    dql_arena_free(&a);
    return 0;
}
