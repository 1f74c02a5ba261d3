/* fuzz_pcap.c — libFuzzer target for the packet decoder (src/pcap_decode.c)
 * and the message-to-row path of LOAD ... USING pcap(). The input is cut
 * into frames: the first octet picks the link type, then each frame is a
 * two-octet length and that many octets (the last frame takes the rest).
 * Every frame is decoded with fragment and TCP state carried over, and every
 * message found is parsed and its records rendered as the loader does.
 * Seeds: the frames of ../shared/data/pcap (tests/fuzz/run.sh). Must never
 * crash, leak, loop or read out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dql.h"
#include "pcap.h"
#include "dns_msg.h"
#include "zone.h"
#include "render_records.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void render(const dql_pcap_msg *m)
{
    dql_dns_msg dm;
    if (m->dns && dql_dns_msg_parse(m->dns, m->len, &dm) == DQL_DNS_OK)
        render_records(&dm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int links[] = { 1, 0, 101, 113, 276, 228, 229, 108, 9, 12 };
    if (size < 1) return 0;
    int lt = links[data[0] % (sizeof links / sizeof links[0])];
    dql_pcap_dec_opts o = { .max_frags = 8, .max_flows = 8 };
    dql_pcap_dec *d = dql_pcap_dec_new(&o);
    size_t off = 1;
    int64_t ts = 0;
    while (off < size) {
        size_t n = size - off;
        if (n >= 2) {
            size_t k = (size_t)data[off] << 8 | data[off + 1];
            off += 2;
            n = size - off;
            if (k < n) n = k;
        } else off = size, n = 0;
        /* the origlen: sometimes longer (a snaplen cut) */
        uint32_t orig = (uint32_t)n + ((n & 3) == 1 ? 100 : 0);
        dql_pcap_pkt p = { .ts_ns = ts, .caplen = (uint32_t)n, .origlen = orig, .data = data + off, .linktype = lt };
        ts += 1000000;
        dql_pcap_dec_packet(d, &p);
        dql_pcap_msg m;
        while (dql_pcap_dec_msg(d, &m)) render(&m);
        off += n;
    }
    dql_pcap_dec_finish(d);
    dql_pcap_msg m;
    while (dql_pcap_dec_msg(d, &m)) render(&m);
    dql_pcap_dec_free(d);
    return 0;
}
