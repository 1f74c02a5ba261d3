/* sort.h — the external sorter under ORDER, GROUP, COGROUP, DISTINCT and
 * JOIN: rows are kept in memory up to a budget, then sorted and written to
 * run files, and merged at the end. Also the binary row serialization the
 * spill files use. */
#ifndef DQL_SORT_H
#define DQL_SORT_H

#include "dql.h"
#include "exec.h"

/* Compares two rows of ncols values. ud is the pointer given to dql_sorter_new. */
typedef int (*dql_row_cmp)(const dql_value *a, const dql_value *b, void *ud);

typedef struct dql_sorter dql_sorter;

/* A sorter for rows of ncols values, spilling past mem_budget bytes into
 * tmpdir (NULL: $TMPDIR or /tmp). The sort is stable: equal rows come out in
 * the order they were added. */
dql_sorter *dql_sorter_new(int ncols, dql_row_cmp cmp, void *ud, uint64_t mem_budget,
                           const char *tmpdir, dql_exec *ex);
/* Copies the row in. */
dql_status dql_sorter_add(dql_sorter *s, const dql_value *row);
/* No more rows: sorts what is in memory, prepares the merge. */
dql_status dql_sorter_finish(dql_sorter *s);
/* Next row in order; *row valid until the next call. DQL_EOF at the end. */
dql_status dql_sorter_next(dql_sorter *s, const dql_value **row);
/* Number of run files written (0 when everything fit in memory). */
int dql_sorter_runs(const dql_sorter *s);
/* Frees memory and removes every temporary file. */
void dql_sorter_free(dql_sorter *s);

/* Binary serialization of values (type-tagged, length-prefixed). */
void dql_value_serialize(dql_buf *out, dql_value v);
/* Reads one value from [*p, end) into arena a; advances *p. false on corrupt data. */
bool dql_value_deserialize(dql_arena *a, const uint8_t **p, const uint8_t *end, dql_value *out);

#endif
