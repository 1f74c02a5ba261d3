/* geo_floor.c — the floor of bench/geo.sh: a plain C loop over libmaxminddb
 * doing what ENRICH does for each address, and nothing else: read a line,
 * parse it (inet_pton) into a sockaddr, look it up in each database
 * (MMDB_lookup_sockaddr) and extract the fields with MMDB_get_value.
 *
 *   geo_floor CITY.mmdb ASN.mmdb ADDRS     country, city, lat, lon from CITY;
 *                                          asn from ASN (5 fields)
 *   geo_floor COUNTRY.mmdb - ADDRS         country only
 *
 * Prints: addresses, found, CPU seconds of the whole loop (reading and
 * parsing included), CPU seconds of the lookups alone over the addresses
 * parsed beforehand, and the wall seconds of each. CPU time is what
 * bench/geo.sh compares: it moves less than wall time on a busy machine. */
#define _GNU_SOURCE
#include <maxminddb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef union { struct sockaddr sa; struct sockaddr_in in4; struct sockaddr_in6 in6; } sau;

static double clk(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}
#define now() clk(CLOCK_MONOTONIC)
#define cpu() clk(CLOCK_PROCESS_CPUTIME_ID)

static int parse(const char *s, sau *u)
{
    memset(u, 0, sizeof *u);
    if (strchr(s, ':')) {
        u->in6.sin6_family = AF_INET6;
        return inet_pton(AF_INET6, s, &u->in6.sin6_addr) == 1;
    }
    u->in4.sin_family = AF_INET;
    return inet_pton(AF_INET, s, &u->in4.sin_addr) == 1;
}

static unsigned long long sink;

/* The lookups and field extractions for one address; returns 1 if found. */
static int one(MMDB_s *city, MMDB_s *asn, const struct sockaddr *sa)
{
    int err, found = 0;
    MMDB_entry_data_s d;
    MMDB_lookup_result_s r = MMDB_lookup_sockaddr(city, sa, &err);
    if (err == MMDB_SUCCESS && r.found_entry) {
        found = 1;
        if (MMDB_get_value(&r.entry, &d, "country", "iso_code", NULL) == MMDB_SUCCESS && d.has_data) sink += d.data_size;
        if (asn) {
            if (MMDB_get_value(&r.entry, &d, "city", "names", "en", NULL) == MMDB_SUCCESS && d.has_data) sink += d.data_size;
            if (MMDB_get_value(&r.entry, &d, "location", "latitude", NULL) == MMDB_SUCCESS && d.has_data) sink += (unsigned long long)d.double_value;
            if (MMDB_get_value(&r.entry, &d, "location", "longitude", NULL) == MMDB_SUCCESS && d.has_data) sink += (unsigned long long)d.double_value;
        }
    }
    if (asn) {
        r = MMDB_lookup_sockaddr(asn, sa, &err);
        if (err == MMDB_SUCCESS && r.found_entry) {
            found = 1;
            if (MMDB_get_value(&r.entry, &d, "autonomous_system_number", NULL) == MMDB_SUCCESS && d.has_data) sink += d.uint32;
        }
    }
    return found;
}

int main(int argc, char **argv)
{
    if (argc != 4) { fprintf(stderr, "usage: %s CITY.mmdb ASN.mmdb|- ADDRS\n", argv[0]); return 2; }
    MMDB_s city, asnd, *asn = NULL;
    int st = MMDB_open(argv[1], MMDB_MODE_MMAP, &city);
    if (st) { fprintf(stderr, "%s: %s\n", argv[1], MMDB_strerror(st)); return 1; }
    if (strcmp(argv[2], "-")) {
        st = MMDB_open(argv[2], MMDB_MODE_MMAP, &asnd);
        if (st) { fprintf(stderr, "%s: %s\n", argv[2], MMDB_strerror(st)); return 1; }
        asn = &asnd;
    }
    FILE *f = fopen(argv[3], "r");
    if (!f) { perror(argv[3]); return 1; }
    char line[128];
    size_t n = 0, found = 0, cap = 1 << 20;
    sau *all = malloc(cap * sizeof *all);
    double t0 = now(), c0 = cpu();
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        sau u;
        if (!parse(line, &u)) continue;
        found += (size_t)one(&city, asn, &u.sa);
        if (n == cap) all = realloc(all, (cap *= 2) * sizeof *all);
        all[n++] = u;
    }
    double t1 = now(), c1 = cpu();
    size_t found2 = 0;
    for (size_t i = 0; i < n; i++) found2 += (size_t)one(&city, asn, &all[i].sa);
    double t2 = now(), c2 = cpu();
    printf("%zu %zu %.3f %.3f %.3f %.3f %llu\n", n, found, c1 - c0, c2 - c1, t1 - t0, t2 - t1, sink & 1);
    fclose(f);
    free(all);
    MMDB_close(&city);
    if (asn) MMDB_close(asn);
    return found == found2 ? 0 : 1;
}
