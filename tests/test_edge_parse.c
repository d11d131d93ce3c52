/* test_edge_parse.c — the edge's request-head parser and chunked-body scanner
 * (web/edge_parse.h): what is accepted, what is refused with which status,
 * and where a body ends however its bytes arrive. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "web/edge_parse.h"
#include "core/banned.h" /* last: after every system header */

static int parse(const char *s, edge_head *h)
{
    return edge_parse_head(s, strlen(s), h);
}

static int status_of(const char *s)
{
    edge_head h;
    int r = parse(s, &h);
    return r < 0 ? h.status : r == 0 ? 0 : 200;
}

/* Appends s at buf's end (buf is big enough). */
static void add(char *buf, const char *s)
{
    size_t l = strlen(buf);
    memcpy(buf + l, s, strlen(s) + 1);
}

/* Feeds body one byte at a time, then whole: both must agree. */
static int chunks(const char *body, size_t *end)
{
    edge_chunks a, b;
    size_t len = strlen(body), i;
    int ra = 0, rb;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    for (i = 1; i <= len && ra == 0; i++)
        ra = edge_chunks_feed(&a, body, i, EDGE_MAX_BODY);
    rb = edge_chunks_feed(&b, body, len, EDGE_MAX_BODY);
    CHECK(ra == rb);
    if (ra == 1) CHECK(a.off == b.off);
    if (end) *end = b.off;
    return rb;
}

int main(void)
{
    edge_head h;
    char *big;
    size_t end;
    int i;

    /* complete, keep-alive by version */
    CHECK(parse("GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n", &h) == 1);
    CHECK(h.keep_alive == 1 && h.minor == 1 && h.content_length == -1 && !h.chunked);
    CHECK(h.head_len == strlen("GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(parse("GET / HTTP/1.0\r\n\r\n", &h) == 1 && h.keep_alive == 0);
    CHECK(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &h) == 1 && h.keep_alive == 1);
    CHECK(parse("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n", &h) == 1 && h.keep_alive == 0);
    CHECK(parse("HEAD / HTTP/1.1\r\n\r\n", &h) == 1 && h.is_head == 1);
    CHECK(parse("POST /x HTTP/1.1\r\nContent-Length: 16 \r\nExpect: 100-continue\r\n\r\n", &h) ==
          1);
    CHECK(h.content_length == 16 && h.expect_continue == 1);
    CHECK(parse("POST /x HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n", &h) == 1 && h.chunked);
    /* not yet complete */
    CHECK(status_of("GET / HTTP/1.1\r\nHost: x\r\n") == 0);
    CHECK(status_of("GET / HTT") == 0);
    /* framing that could be read two ways */
    CHECK(status_of("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n") == 400);
    CHECK(status_of("POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n") ==
          400);
    CHECK(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n") == 400);
    CHECK(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n") == 400);
    CHECK(status_of("POST / HTTP/1.1\r\nContent-Length: 16abc\r\n\r\n") == 400);
    CHECK(status_of("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n") == 400);
    CHECK(status_of("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/1.1\r\nHost : x\r\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/1.1\r\nX-Hapanel-Edge: forged 1.2.3.4\r\n\r\n") == 400);
    /* one X-Hapanel-Forwarded and one -Sig pass (a peer's relayed request); two do not */
    CHECK(status_of("GET / HTTP/1.1\r\nX-Hapanel-Forwarded: a\r\nX-Hapanel-Forwarded-Sig: b\r\n"
                    "\r\n") == 200);
    CHECK(status_of("GET / HTTP/1.1\r\nX-Hapanel-Forwarded: a\r\nx-hapanel-forwarded: b\r\n\r\n") ==
          400);
    CHECK(status_of("GET / HTTP/1.1\r\nX-Hapanel-Forwarded-Sig: a\r\nX-Hapanel-Forwarded-Sig: b\r\n"
                    "\r\n") == 400);
    CHECK(status_of("GET / HTTP/1.1\r\nA: b\nC: d\r\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/1.1\r\nA: b\x01\r\n\r\n") == 400);
    /* request line */
    CHECK(status_of("GET /a b HTTP/1.1\r\n\r\n") == 400);
    CHECK(status_of("GET x HTTP/1.1\r\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/2.0\r\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/1.2\r\n\r\n") == 505);
    CHECK(status_of("\r\n\r\n") == 400);
    CHECK(status_of("G(T / HTTP/1.1\r\n\r\n") == 400);
    /* limits */
    CHECK(status_of("POST / HTTP/1.1\r\nContent-Length: 65537\r\n\r\n") == 413);
    CHECK(status_of("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n") == 413);
    CHECK(status_of("POST / HTTP/1.1\r\nContent-Length: 65536\r\n\r\n") == 200);
    big = malloc(EDGE_MAX_HEAD + 8192);
    CHECK(big != NULL);
    if (big) {
        /* a URL over 4096 bytes: 414, as soon as that is clear */
        big[0] = 0;
        add(big, "GET /");
        memset(big + 5, 'a', EDGE_MAX_TARGET + 100);
        big[5 + EDGE_MAX_TARGET + 100] = '\0';
        CHECK(status_of(big) == 414);
        add(big, " HTTP/1.1\r\n\r\n");
        CHECK(status_of(big) == 414);
        /* 65 headers: 431; 64 pass */
        big[0] = 0;
        add(big, "GET / HTTP/1.1\r\n");
        for (i = 0; i < 64; i++)
            add(big, "A: b\r\n");
        add(big, "\r\n");
        CHECK(status_of(big) == 200);
        big[strlen(big) - 2] = '\0';
        add(big, "A: b\r\n\r\n");
        CHECK(status_of(big) == 431);
        /* headers past 16 KiB without an end: 431 */
        big[0] = 0;
        add(big, "GET / HTTP/1.1\r\nX: ");
        memset(big + strlen(big), 'x', EDGE_MAX_HEAD);
        big[EDGE_MAX_HEAD + 10] = '\0';
        CHECK(status_of(big) == 431);
        free(big);
    }

    /* chunked bodies */
    CHECK(chunks("10\r\n{\"mode\":\"force\"}\r\n0\r\n\r\n", &end) == 1 && end == 27);
    CHECK(chunks("5\r\nabcde\r\n3\r\nfgh\r\n0\r\nTrailer: x\r\n\r\nNEXT", &end) == 1 &&
          end == strlen("5\r\nabcde\r\n3\r\nfgh\r\n0\r\nTrailer: x\r\n\r\n"));
    CHECK(chunks("5\r\nabc", NULL) == 0);
    CHECK(chunks("5\r\nabcde\r\n", NULL) == 0);
    CHECK(chunks("zz\r\n", NULL) == -1);
    CHECK(chunks("5;x=1\r\nabcde\r\n0\r\n\r\n", NULL) == -1);
    CHECK(chunks("5\r\nabcdefgh\r\n0\r\n\r\n", NULL) == -1);
    CHECK(chunks("\r\n", NULL) == -1);
    CHECK(chunks("123456789\r\n", NULL) == -1);
    CHECK(chunks("10001\r\n", NULL) == -1); /* 65,537 bytes: over the body limit */
    CHECK(chunks("10000\r\n", NULL) == 0);
    return check_done();
}
