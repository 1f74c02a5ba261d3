/* zone_shards.h — for fuzz_zone and test_zone: a digest per record of a
 * zone scan, and the scan of a sharded run (src/shard.c with the zone
 * loader) done in one process: k shards by byte range, each shard but the
 * first starting by speculation (dql_zone_opts.shard_speculate) when asked;
 * a speculative start that differs from the end of the shard before it is
 * scanned again exactly, as the coordinator reruns that task. The shards'
 * digests, concatenated, must be those of one scan. */
#ifndef DQL_TESTS_ZONE_SHARDS_H
#define DQL_TESTS_ZONE_SHARDS_H

/* the includer has included dql.h and zone.h (their paths differ) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t zs_mix(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* Scans data with o: one digest per record or error into out (at most cap);
 * the scanner's boundary notes into notes (when not NULL). */
static size_t zs_scan(const uint8_t *data, size_t size, const dql_zone_opts *o, uint64_t *out, size_t cap,
                      char notes[2][64])
{
    dql_zone_scanner *sc = dql_zone_open_mem("zone", data, size, o);
    if (!sc)
        return 0;
    size_t n = 0;
    dql_zone_rr rr;
    for (int i = 0; i < 10000000 && n < cap; i++) {
        dql_zone_res r = dql_zone_next(sc, &rr);
        if (r == DQL_ZONE_EOF)
            break;
        uint64_t h = zs_mix(0xcbf29ce484222325ull, &r, sizeof r);
        if (r == DQL_ZONE_RR) {
            h = zs_mix(h, rr.owner, rr.owner_len);
            h = zs_mix(h, &rr.type, sizeof rr.type);
            h = zs_mix(h, &rr.rclass, sizeof rr.rclass);
            h = zs_mix(h, &rr.ttl, sizeof rr.ttl);
            h = zs_mix(h, rr.rdata, rr.rdlen);
            h = zs_mix(h, &rr.line, sizeof rr.line);
        } else {
            const char *m = dql_zone_errmsg(sc);
            h = zs_mix(h, m, strlen(m));
        }
        out[n++] = h;
        if (r == DQL_ZONE_FATAL)
            break;
    }
    if (notes) {
        snprintf(notes[0], 64, "%s", dql_zone_shard_note(sc, 0));
        snprintf(notes[1], 64, "%s", dql_zone_shard_note(sc, 1));
    }
    dql_zone_close(sc);
    return n;
}

/* The sharded scan: k shards (at most 8); speculative starts when head and
 * window are not 0 (bytes scanned exactly first and last). Returns the
 * number of digests in out, or (size_t)-1 past cap; *held counts the
 * speculative starts that held, *redone those scanned again. */
static size_t zs_sharded(const uint8_t *data, size_t size, const dql_zone_opts *base, int k, uint32_t head,
                         uint32_t window, uint64_t *out, size_t cap, int *held, int *redone)
{
    size_t start[9], len[9];
    char notes[8][2][64];
    uint64_t *tmp = malloc(cap * sizeof *tmp);
    size_t m = 0;
    *held = *redone = 0;
    for (int i = 0; i < k; i++) {
        dql_zone_opts o = *base;
        o.sharded = true;
        o.shard_head = i == 0;
        o.shard_start = (uint64_t)size * (uint64_t)i / (uint64_t)k;
        o.shard_end = (uint64_t)size * (uint64_t)(i + 1) / (uint64_t)k;
        o.shard_speculate = head != 0;
        o.spec_head = head;
        o.spec_window = window;
        start[i] = m;
        len[i] = zs_scan(data, size, &o, out + m, cap - m, notes[i]);
        m += len[i];
        if (m >= cap) { free(tmp); return (size_t)-1; }
        if (i == 0 || !notes[i][0][0])
            continue;
        if (strcmp(notes[i][0], notes[i - 1][1]) == 0) {
            ++*held;
            continue;
        }
        /* the speculation did not hold: this shard again, exactly */
        ++*redone;
        o.shard_speculate = false;
        size_t n2 = zs_scan(data, size, &o, tmp, cap, notes[i]);
        if (start[i] + n2 >= cap) { free(tmp); return (size_t)-1; }
        memcpy(out + start[i], tmp, n2 * sizeof *tmp);
        len[i] = n2;
        m = start[i] + n2;
    }
    free(tmp);
    return m;
}

#endif
