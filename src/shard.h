/* shard.h — sharded runs (doc/shards.md): the same script in N tasks, each
 * on its shard of the first LOAD, merged to the answer of one process.
 *
 * The planner's part (shard.c) cuts the checked plans at the first operator
 * that needs all rows; the tasks (`dql --task i/N`) compute the relations
 * below the cut into their own SQLite file, pre-aggregating where a GROUP
 * has only algebraic aggregates; the coordinator runs the tasks through an
 * executor (local processes or a Slurm job array), then runs the script's
 * statements with the cut relations read back from the task files. */
#ifndef DQL_SHARD_H
#define DQL_SHARD_H

#include "dql.h"
#include "exec.h"

typedef struct dql_plan dql_plan;

/* main.c: the command line a task re-runs (with --task, without --shards,
 * --executor and --resume); has_script: a script file or -e was given. */
void dql_shard_cli(int argc, char **argv, bool has_script);
/* main.c: --task i/N --task-seg S --shard-dir D: this process is task i. */
void dql_shard_set_task(int task, int ntasks, int seg, const char *dir);
/* main.c: --resume: rerun only the tasks of a failed run that did not finish. */
void dql_shard_set_resume(bool on);
/* A task: read its shard without speculation (dql_shard_bounds.exact). */
void dql_shard_set_exact(bool on);
bool dql_shard_is_task(void);

typedef struct dql_shard dql_shard;

/* What each root is, for the cut: a STORE's storer and target (sd NULL for
 * DUMP and verb statements). A STORE of rows the tasks compute whose storer
 * can write parts (open_part/assemble, exec.h) is written by the tasks
 * directly; begin sets assembled: the caller then runs the STORE as
 * sd->assemble(sc, nparts, run) instead of pulling rows. */
typedef struct dql_shard_out {
    const dql_storer_def *sd;
    dql_store_ctx sc;
    bool assembled;
    int nparts;
    char run[16];
} dql_shard_out;

/* session.c, after a script (segment seg of the session) checked. roots are
 * the plans of its DUMP, STORE and verb statements, explains those of its
 * EXPLAINs. A task computes its part and returns (the caller then runs no
 * statement). The coordinator (SET shards > 1) marks the cut for EXPLAIN,
 * runs the tasks and, on success, substitutes the cut relations by the
 * tasks' results: *out is set, the caller runs its statements and calls
 * dql_shard_end. *out stays NULL when the run is not sharded. */
dql_status dql_shard_task(dql_session *s, int seg, dql_plan **roots, dql_shard_out *outs, int nroots);
dql_status dql_shard_begin(dql_session *s, int seg, dql_plan **roots, dql_shard_out *outs, int nroots,
                           dql_plan **explains, int nexplains, dql_shard **out);
/* Undoes the substitutions; removes the task files after a successful run
 * (unless SET shards.keep). */
void dql_shard_end(dql_shard *sh, dql_status result);

#endif
