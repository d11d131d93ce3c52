/* fuzz_edge.c — libFuzzer target: what the HTTP edge reads from a client
 * before any worker sees it (web/edge_parse.h). The input is the client's
 * bytes: the head through edge_parse_head, at every length up to the whole
 * (as it would arrive in pieces: each prefix must be "need more" or the same
 * verdict), then a chunked body through edge_chunks_feed, fed in two pieces
 * and whole, which must agree; and the input as a Cookie header through
 * cookie_value (web/session.h), whose value must fit and come from it. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web/edge_parse.h"
#include "web/session.h"
#include "core/banned.h" /* last: after every system header */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    edge_head whole, part;
    edge_chunks a, b;
    int r = edge_parse_head(buf, size, &whole), ra, rb;
    size_t cut;
    char *hdr = malloc(size + 1), val[80];

    if (hdr) {
        memcpy(hdr, data, size);
        hdr[size] = '\0';
        if (cookie_value(hdr, "hp_session", val, sizeof(val)) &&
            (strlen(val) >= sizeof(val) || !strstr(hdr, val)))
            abort();
        free(hdr);
    }

    /* a prefix is never "complete" where the whole is not, nor refused for
     * a reason other than the whole's (the edge decides on prefixes) */
    cut = size / 2;
    if (edge_parse_head(buf, cut, &part) == 1 && (r != 1 || part.head_len != whole.head_len))
        abort();
    if (r != 1 || !whole.chunked) return 0;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    buf += whole.head_len;
    size -= whole.head_len;
    cut = size / 3;
    ra = edge_chunks_feed(&a, buf, cut, EDGE_MAX_BODY);
    if (ra == 0) ra = edge_chunks_feed(&a, buf, size, EDGE_MAX_BODY);
    rb = edge_chunks_feed(&b, buf, size, EDGE_MAX_BODY);
    if (ra != rb || (ra == 1 && a.off != b.off) || (ra == 1 && a.off > size)) abort();
    return 0;
}
