/* pcap.h — the packet side of LOAD ... USING pcap(): a capture reader
 * (pcap_read.c) and a packet decoder that turns link-layer frames into DNS
 * messages with their addresses (pcap_decode.c).
 *
 * The reader reads classic pcap itself with large reads (plain, gzip or
 * stdin) and hands pcapng and anything else libpcap knows to libpcap. The
 * decoder parses the layers by hand: Ethernet (802.1Q/QinQ), Linux SLL and
 * SLL2, raw IP, BSD loopback, PPP; IPv4 and IPv6 (extension headers) with
 * fragment reassembly; UDP; TCP with stream reassembly of length-prefixed
 * DNS messages. Every buffer it keeps is bounded and timed out in capture
 * time, so memory stays flat on captures of any size.
 *
 * Nothing here knows about rows: op_pcap.c turns the messages into rows. */
#ifndef DQL_PCAP_H
#define DQL_PCAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* ------------------------------------------------------------------ reader */

/* One captured frame. data is valid until the next dql_pcap_next(). */
typedef struct dql_pcap_pkt {
    int64_t ts_ns;          /* nanoseconds since 1970 */
    uint32_t caplen, origlen;
    const uint8_t *data;
    int linktype;           /* LINKTYPE_* of the file / interface */
} dql_pcap_pkt;

typedef struct dql_pcap_src dql_pcap_src;

/* Opens a capture: a path, "-" for stdin; gzip is detected by its magic.
 * Classic pcap (both byte orders, µs and ns) is read natively; pcapng and
 * other formats through libpcap when it was built in. NULL with a message
 * in err when the file cannot be opened or is not a capture. */
dql_pcap_src *dql_pcap_open(const char *path, char *err, size_t errlen);
/* 1: a frame in *p; 0: end of file; -1: the rest of the file cannot be
 * read (truncated record, bad header): dql_pcap_errmsg says why. */
int dql_pcap_next(dql_pcap_src *s, dql_pcap_pkt *p);
const char *dql_pcap_errmsg(const dql_pcap_src *s);
/* Bytes consumed so far (of the file as stored) and the file size (0 unknown). */
void dql_pcap_progress(const dql_pcap_src *s, uint64_t *done, uint64_t *total);
/* Timestamp precision of the file: 6 (µs) or 9 (ns). */
int dql_pcap_precision(const dql_pcap_src *s);
void dql_pcap_close(dql_pcap_src *s);

/* ----------------------------------------------------------------- decoder */

enum { DQL_PCAP_UDP = 17, DQL_PCAP_TCP = 6 };

/* One DNS message found in the traffic, or a transport-level problem
 * (dns == NULL, error set) tied to a flow. Pointers are valid until the
 * next call of dql_pcap_dec_packet() or dql_pcap_dec_finish(). */
typedef struct dql_pcap_msg {
    int64_t ts_ns;
    uint8_t af;               /* 4 or 6 */
    uint8_t proto;            /* DQL_PCAP_UDP or DQL_PCAP_TCP */
    uint8_t src[16], dst[16];
    uint16_t sport, dport;
    int32_t vlan;             /* innermost 802.1Q id, -1 when untagged */
    int16_t ip_ttl;           /* TTL / hop limit, -1 unknown */
    const uint8_t *dns;       /* the message as captured (may be cut short) */
    uint32_t len;             /* captured octets at dns */
    uint32_t size;            /* octets of the message on the wire */
    const char *error;        /* static text: why the message is incomplete; NULL when whole */
} dql_pcap_msg;

typedef struct dql_pcap_dec_opts {
    const uint8_t *ports;     /* 8192-byte bitmap of ports that carry DNS; NULL: 53 only */
    int64_t frag_timeout_ns;  /* 0: 30 s */
    int64_t tcp_timeout_ns;   /* 0: 60 s */
    int max_frags;            /* datagrams in reassembly at once (0: 1024) */
    int max_flows;            /* TCP flows followed at once (0: 65536) */
} dql_pcap_dec_opts;

typedef struct dql_pcap_dec_stats {
    uint64_t packets, dns_packets, fragments, reassembled, frag_timeouts,
             tcp_segments, tcp_retrans, tcp_lost, flows_evicted, unknown_link;
} dql_pcap_dec_stats;

typedef struct dql_pcap_dec dql_pcap_dec;
dql_pcap_dec *dql_pcap_dec_new(const dql_pcap_dec_opts *o);
/* Decodes one frame. The messages it yields are read with dql_pcap_dec_msg()
 * before the next frame is given. */
void dql_pcap_dec_packet(dql_pcap_dec *d, const dql_pcap_pkt *p);
/* End of input: flushes the TCP streams (a message cut short or a hole is a
 * message with an error). */
void dql_pcap_dec_finish(dql_pcap_dec *d);
/* What decoding carries to the next frame (flows, fragments, the clock), as
 * a hash: two decoders with the same digest decode what follows alike (a
 * sharded run checks its warm-up with it; doc/shards.md). */
uint64_t dql_pcap_dec_digest(const dql_pcap_dec *d);
/* A message (what a row is made of: time, addresses, ports, sizes, octets,
 * error) mixed into hash h. */
uint64_t dql_pcap_msg_hash(uint64_t h, const dql_pcap_msg *m);
/* Next message of the last frame (or of finish()); false when none is left. */
bool dql_pcap_dec_msg(dql_pcap_dec *d, dql_pcap_msg *m);
const dql_pcap_dec_stats *dql_pcap_dec_stats_get(const dql_pcap_dec *d);
void dql_pcap_dec_free(dql_pcap_dec *d);

#endif
