/* fuzz_script.c — libFuzzer target for the script front end: parameter
 * preprocessing, the lexer, the grammar, and the completeness test the shell
 * uses. Seeds: tests/*.test, examples/*.dql. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dql.h"
#include "ast.h"
#include "lexer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    if (!devnull) devnull = fopen("/dev/null", "w");
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    (void)dql_lex_complete(text, size);
    dql_params p = {0};
    dql_params_set(&p, "day", "2024-01-01");
    size_t len;
    char *pre = dql_preprocess(text, strlen(text), &p, &len);
    int nerr = 0;
    dql_node *root = dql_parse("fuzz", pre, len, devnull, &nerr);
    dql_node_free(root);
    free(pre);
    dql_params_free(&p);
    free(text);
    return 0;
}
