/* geo.h — MaxMind DB enrichment (op_geo.c): the ENRICH verb, the GEO, ASN,
 * COUNTRY and MMDB functions, and the check of the geo.* settings.
 *
 * Databases are named by settings: geo.city, geo.country, geo.asn, geo.isp,
 * geo.db.NAME (a path, or a file name looked up in the directories of
 * geo.path, default /usr/share/GeoIP:/var/lib/GeoIP:/usr/local/share/GeoIP),
 * and geo.lang (the language of names, default en). Each file is opened once
 * per session (MMDB_MODE_MMAP) and verified when first opened; the session
 * keeps it open until it ends, so values may point into the mapping. */
#ifndef DQL_GEO_H
#define DQL_GEO_H

#include "dql.h"
#include "exec.h"
#include "xop.h"

/* Called by dql_session_set for every key starting with "geo.": checks the
 * key is one of the above and, for a database, opens and verifies the file
 * and checks its type (an ASN database is not a City one). On error writes
 * a message naming the setting, the file and libmaxminddb's reason. */
dql_status dql_geo_setting(dql_session *s, const char *key, const char *value, char *err, size_t errlen);

/* ENRICH rel BY ip [WITH (city = true, asn = true, fields = (...), cache = N)]. */
extern const dql_xop_def dql_xop_enrich;

/* GEO, ASN, COUNTRY, MMDB (category "address"). */
extern const dql_func_def dql_fn_geo[];

#endif
