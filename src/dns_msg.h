/* dns_msg.h — a standalone DNS message codec (RFC 1035, 3597, 6891): the
 * header, the question, the resource records of the three sections with
 * name decompression (bounds-checked, loop-proof), EDNS, and the building
 * of query packets from wire names. It allocates nothing: records are
 * read one at a time by an iterator into a caller's structure.
 *
 * Used by RESOLVE (op_resolve.c) for replies and queries, and meant for
 * any other reader of DNS messages (pcap). Depends only on dql.h's types. */
#ifndef DQL_DNS_MSG_H
#define DQL_DNS_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define DQL_DNS_HDR_LEN 12
#define DQL_DNS_NAME_MAX 255            /* octets of a wire name */
/* Room for one record's rdata after decompression: a 65535-octet rdata
 * can grow when compressed names inside it are expanded. */
#define DQL_DNS_RDATA_BUF (65535 + 4 * 255)

/* Header flag bits (in dql_dns_header.flags). */
enum {
    DQL_DNS_F_QR = 0x8000, DQL_DNS_F_AA = 0x0400, DQL_DNS_F_TC = 0x0200,
    DQL_DNS_F_RD = 0x0100, DQL_DNS_F_RA = 0x0080, DQL_DNS_F_Z = 0x0040,
    DQL_DNS_F_AD = 0x0020, DQL_DNS_F_CD = 0x0010
};
#define DQL_DNS_OPCODE(flags) (((flags) >> 11) & 0xf)
#define DQL_DNS_RCODE(flags) ((flags) & 0xf)

/* Sections of a message. */
enum { DQL_DNS_SEC_QUESTION = 0, DQL_DNS_SEC_ANSWER, DQL_DNS_SEC_AUTHORITY, DQL_DNS_SEC_ADDITIONAL };

/* Results of the decoder. dql_dns_strerror() gives a message for each. */
typedef enum dql_dns_err {
    DQL_DNS_OK = 0,
    DQL_DNS_E_SHORT,       /* message ends inside the header, a question or a record */
    DQL_DNS_E_NAME,        /* bad label type, name longer than 255 octets, bad pointer */
    DQL_DNS_E_LOOP,        /* compression pointer loop (or too many pointers) */
    DQL_DNS_E_RDATA,       /* rdata inconsistent with its type (a name overrunning it) */
    DQL_DNS_E_TRAILING,    /* bytes after the last record (reported only by dql_dns_msg_check) */
    DQL_DNS_E_EDNS,        /* more than one OPT record, or OPT outside the additional section */
} dql_dns_err;
const char *dql_dns_strerror(dql_dns_err e);

typedef struct dql_dns_header {
    uint16_t id, flags, qdcount, ancount, nscount, arcount;
} dql_dns_header;

/* A parsed message: header, first question, where the records start, and
 * EDNS (when an OPT record is present). Points into the packet. */
typedef struct dql_dns_msg {
    const uint8_t *pkt;
    size_t len;
    dql_dns_header h;
    uint8_t qname[DQL_DNS_NAME_MAX];   /* first question, decompressed; qname_len 0 without one */
    size_t qname_len;
    uint16_t qtype, qclass;
    size_t rr_off;                     /* offset of the first record after the questions */
    /* EDNS (RFC 6891) */
    bool edns;
    uint16_t edns_udp;                 /* requestor's UDP payload size */
    uint8_t edns_version;
    bool edns_do;
    const uint8_t *edns_opts;          /* options, raw */
    uint16_t edns_optlen;
    int rcode;                         /* 12-bit rcode: header rcode | extended rcode << 4 */
} dql_dns_msg;

/* Reads the 12-octet header; false when len < 12. */
bool dql_dns_header_read(const uint8_t *pkt, size_t len, dql_dns_header *h);

/* Parses header and questions and walks every record (checking names and
 * lengths, finding the OPT record). O(size of the message); no copying of
 * records. On error the fields read so far are set. */
dql_dns_err dql_dns_msg_parse(const uint8_t *pkt, size_t len, dql_dns_msg *m);

/* Reads the wire name at off in a message (following compression pointers:
 * each must point before the label it is found at, at most 128 of them)
 * into dst (DQL_DNS_NAME_MAX octets), uncompressed. Returns the offset just
 * after the name where it started (past the first pointer), or 0 on error
 * with *err set. */
size_t dql_dns_name_unpack(const uint8_t *pkt, size_t len, size_t off, uint8_t *dst, size_t *dstlen, dql_dns_err *err);

/* One resource record. owner and (for types with names in their rdata)
 * rdata are decompressed copies; rdata points to rdbuf or into the packet. */
typedef struct dql_dns_rr {
    int section;                       /* DQL_DNS_SEC_ANSWER, ... */
    uint8_t owner[DQL_DNS_NAME_MAX];
    size_t owner_len;
    uint16_t type, rclass;
    uint32_t ttl;
    const uint8_t *rdata;              /* uncompressed rdata */
    size_t rdlen;
    const uint8_t *raw;                /* rdata as in the packet */
    uint16_t rawlen;
    uint8_t rdbuf[DQL_DNS_RDATA_BUF];
} dql_dns_rr;

/* Iterates over the records of the answer, authority and additional
 * sections, in order. */
typedef struct dql_dns_iter {
    const dql_dns_msg *m;
    size_t off;
    int section;
    uint32_t left;                     /* records left in this section */
    bool failed;
} dql_dns_iter;
void dql_dns_iter_init(dql_dns_iter *it, const dql_dns_msg *m);
/* 1: a record in *rr; 0: no more; -1: malformed (err set). */
int dql_dns_iter_next(dql_dns_iter *it, dql_dns_rr *rr, dql_dns_err *err);

/* Expands the compressed names inside rdata of the known types that carry
 * them (NS, CNAME, SOA, PTR, MX, SRV, NAPTR, RRSIG, NSEC, ...): rdata at
 * [off, off+rdlen) of pkt into out (DQL_DNS_RDATA_BUF). Returns the new
 * length, or -1 when a name overruns the rdata or is malformed. Types
 * without names are copied unchanged. */
long dql_dns_rdata_unpack(const uint8_t *pkt, size_t len, size_t off, size_t rdlen, uint16_t type, uint8_t *out);
/* true when the type's rdata holds names the decoder expands. */
bool dql_dns_rdata_has_names(uint16_t type);

/* Converts presentation text ("www.Example.com", trailing dot optional,
 * backslash escapes \X and \DDD) into a wire name in dst
 * (DQL_DNS_NAME_MAX). Returns the length, or 0 with *why on a bad name
 * (empty label, label over 63, name over 255 octets). "" and "." give the root. */
size_t dql_dns_name_from_text(const char *s, size_t n, uint8_t *dst, const char **why);
/* Case-insensitive (ASCII) equality of two uncompressed wire names. */
bool dql_dns_name_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/* Number of labels of a wire name (root: 0). */
int dql_dns_name_labels(const uint8_t *name, size_t len);

/* Builds a query: header (id, flags e.g. DQL_DNS_F_RD), one question (qname
 * wire, qtype, class IN) and, when edns_udp > 0, an OPT record (DO bit when
 * dnssec). Returns the length, 0 when buf (cap octets) is too small. */
size_t dql_dns_query_build(uint8_t *buf, size_t cap, uint16_t id, uint16_t flags, const uint8_t *qname,
                           size_t qlen, uint16_t qtype, uint16_t edns_udp, bool dnssec);

/* Mnemonic of an rcode ("NOERROR", "NXDOMAIN", ...; "RCODE23" past the table),
 * written into buf (at least 16 octets) when not in the table. */
const char *dql_dns_rcode_name(int rcode, char *buf);

#endif
