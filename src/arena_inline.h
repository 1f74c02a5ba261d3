/* arena_inline.h — the layout of an arena chunk and an inline fast path for
 * dql_arena_alloc(), for hot loops that allocate per row. Including this
 * header is optional: dql_arena_alloc() does the same thing out of line. */
#ifndef DQL_ARENA_INLINE_H
#define DQL_ARENA_INLINE_H

#include "dql.h"

/* One chunk of an arena. Chunks form a list from the current one (head)
 * back to the first one; data is 16-byte aligned relative to malloc. */
struct dql_arena_chunk {
    dql_arena_chunk *next;   /* the chunk allocated before this one */
    size_t cap;              /* bytes in data */
    size_t large;            /* 1: a dedicated chunk for one large request */
    size_t pad_;
    unsigned char data[];
};

/* Slow path of the allocator: a new chunk or a dedicated large chunk. */
void *dql_arena_alloc_slow(dql_arena *a, size_t n);

/* dql_arena_alloc(): 8-byte aligned, never NULL (aborts on OOM). */
static inline void *dql_arena_alloc_inline(dql_arena *a, size_t n)
{
    size_t need = (n + 7) & ~(size_t)7;
    dql_arena_chunk *c = a->head;
    if (__builtin_expect(c != NULL && need >= n && need <= c->cap - a->used, 1)) {
        void *p = c->data + a->used;
        a->used += need;
        return p;
    }
    return dql_arena_alloc_slow(a, n);
}

#endif
