/* fuzz_pcap.c — libFuzzer target for the packet decoder (src/pcap_decode.c)
 * and the message-to-row path of LOAD ... USING pcap(). The input is cut
 * into frames: the first octet picks the link type, then each frame is a
 * two-octet length and that many octets (the last frame takes the rest).
 * Every frame is decoded with fragment and TCP state carried over, and every
 * message found is parsed and its records rendered as the loader does. The
 * frames are then decoded again from a later one (a sharded run's warm-up):
 * once the two decoders' digests agree, their messages must too.
 * Seeds: the frames of ../shared/data/pcap (tests/fuzz/run.sh). Must never
 * crash, leak, loop or read out of bounds. */
#include <stdbool.h>
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

enum { MAXF = 512 };

/* Decodes frames [from, nf) (then the end of input): per frame the hash of
 * its messages and the decoder's digest after it (out[nf]: the end's). */
static void decode(const dql_pcap_pkt *fr, int from, int nf, uint64_t *msgs, uint64_t *dig, bool do_render)
{
    dql_pcap_dec_opts o = { .max_frags = 8, .max_flows = 8 };
    dql_pcap_dec *d = dql_pcap_dec_new(&o);
    dql_pcap_msg m;
    for (int i = from; i < nf; i++) {
        dql_pcap_dec_packet(d, &fr[i]);
        uint64_t h = 1;
        while (dql_pcap_dec_msg(d, &m)) {
            if (do_render) render(&m);
            h = dql_pcap_msg_hash(h, &m);
        }
        msgs[i] = h;
        dig[i] = dql_pcap_dec_digest(d);
    }
    dql_pcap_dec_finish(d);
    uint64_t h = 1;
    while (dql_pcap_dec_msg(d, &m)) {
        if (do_render) render(&m);
        h = dql_pcap_msg_hash(h, &m);
    }
    msgs[nf] = h;
    dql_pcap_dec_free(d);
}

/* Every frame is decoded, its messages rendered; then the frames are
 * decoded again from a later one, as a sharded run's warm-up starts: from
 * the first frame after which both decoders have the same digest
 * (dql_pcap_dec_digest), they must yield the same messages. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int links[] = { 1, 0, 101, 113, 276, 228, 229, 108, 9, 12 };
    static dql_pcap_pkt fr[MAXF];
    static uint64_t ma[MAXF + 1], da[MAXF + 1], mb[MAXF + 1], db[MAXF + 1];
    if (size < 1) return 0;
    int lt = links[data[0] % (sizeof links / sizeof links[0])];
    size_t off = 1;
    int64_t ts = 0;
    int nf = 0;
    while (off < size && nf < MAXF) {
        size_t n = size - off;
        if (n >= 2) {
            size_t k = (size_t)data[off] << 8 | data[off + 1];
            off += 2;
            n = size - off;
            if (k < n) n = k;
        } else off = size, n = 0;
        /* the origlen: sometimes longer (a snaplen cut); the clock: frames
         * 0.3 s apart, so that timeouts and sweeps come into play */
        uint32_t orig = (uint32_t)n + ((n & 3) == 1 ? 100 : 0);
        fr[nf++] = (dql_pcap_pkt){ .ts_ns = ts, .caplen = (uint32_t)n, .origlen = orig, .data = data + off,
                                   .linktype = lt };
        ts += (n & 8) ? 25000000000LL : 300000000LL;
        off += n;
    }
    decode(fr, 0, nf, ma, da, true);
    if (nf < 2) return 0;
    int from = 1 + (int)(data[size - 1] % (unsigned)(nf - 1));
    decode(fr, from, nf, mb, db, false);
    int k = from;
    while (k < nf && db[k] != da[k]) k++;
    for (int i = k + 1; i <= nf && k < nf; i++)
        if (ma[i] != mb[i]) abort();   /* the same digest, then other messages */
    return 0;
}
