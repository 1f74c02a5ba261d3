/* registry.c — the tables of loaders and storers (one place to add a new
 * format), and the argument lookup helper they share. */
#include <string.h>
#include <strings.h>
#include "exec.h"
#include "workspace.h"

static const dql_loader_def *const loaders[] = {
    &dql_loader_lines, &dql_loader_csv, &dql_loader_tsv, &dql_loader_jsonl, &dql_loader_sqlite,
    &dql_loader_zone, &dql_loader_pcap, &dql_loader_files, &dql_loader_postgres,
};

static const dql_storer_def *const storers[] = {
    &dql_storer_csv, &dql_storer_tsv, &dql_storer_jsonl, &dql_storer_lines, &dql_storer_sqlite,
    &dql_storer_zone, &dql_storer_postgres,
};

const dql_loader_def *dql_loader_find(const char *name)
{
    for (size_t i = 0; i < sizeof loaders / sizeof loaders[0]; i++)
        if (!strcasecmp(loaders[i]->name, name)) return loaders[i];
    return NULL;
}

const dql_loader_def *dql_loader_at(size_t i)
{
    return i < sizeof loaders / sizeof loaders[0] ? loaders[i] : NULL;
}

const dql_storer_def *dql_storer_find(const char *name)
{
    for (size_t i = 0; i < sizeof storers / sizeof storers[0]; i++)
        if (!strcasecmp(storers[i]->name, name)) return storers[i];
    return NULL;
}

const dql_storer_def *dql_storer_at(size_t i)
{
    return i < sizeof storers / sizeof storers[0] ? storers[i] : NULL;
}

const dql_value *dql_args_get(const dql_args *args, const char *name, int pos)
{
    if (!args) return NULL;
    if (name)
        for (int i = 0; i < args->n; i++)
            if (args->a[i].name && !strcmp(args->a[i].name, name)) return &args->a[i].v;
    if (pos >= 0) {
        int k = 0;
        for (int i = 0; i < args->n; i++) {
            if (args->a[i].name) continue;
            if (k++ == pos) return &args->a[i].v;
        }
    }
    return NULL;
}
