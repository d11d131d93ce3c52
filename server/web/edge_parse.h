/* edge_parse.h — what the HTTP edge (edge.h) must know of a request before a
 * worker sees it: where its head ends, whether it is acceptable, and where its
 * body ends. Pure functions over bytes, unit-tested and fuzzed; nothing here
 * allocates.
 *
 * The edge refuses what it cannot frame without guessing (two
 * Content-Lengths, Content-Length with Transfer-Encoding, a Transfer-Encoding
 * other than chunked, a chunk extension, an obsolete folded header line, a
 * space before a header's colon): a proxy in front of hapanel could frame
 * such a request differently, and the difference is a smuggled request. */
#ifndef HP_EDGE_PARSE_H
#define HP_EDGE_PARSE_H

#include <stddef.h>

#define EDGE_MAX_HEAD (16 * 1024) /* request line and headers, CRLFCRLF included */
#define EDGE_MAX_TARGET 4096      /* path and query */
#define EDGE_MAX_HEADERS 64
#define EDGE_MAX_BODY (64 * 1024) /* requests carry small JSON objects */
#define EDGE_HEADER "X-Hapanel-Edge"

typedef struct edge_head {
    size_t head_len;          /* bytes of the head, the blank line included */
    int minor;                /* HTTP/1.<minor> */
    int keep_alive;           /* the client wants the connection kept */
    int chunked;              /* Transfer-Encoding: chunked */
    long long content_length; /* -1 when absent */
    int expect_continue;      /* Expect: 100-continue */
    int is_head;              /* method HEAD: the response has no body */
    int status;               /* when refused: the status to answer */
    const char *why;          /* when refused: a fixed message (never the input) */
} edge_head;

/* Parses the head at buf (len bytes so far). Returns 1 when it is complete and
 * acceptable (h filled), 0 when more bytes are needed, -1 when it is refused
 * (h->status and h->why say why: 400, 413, 414, 431 or 505). */
int edge_parse_head(const char *buf, size_t len, edge_head *h);

/* The end of a chunked body, found incrementally: feed the body's bytes from
 * the start each time more arrive (only the new ones are looked at). */
typedef struct edge_chunks {
    size_t off;                /* bytes of the body looked at so far */
    unsigned long long remain; /* of the current chunk's data */
    unsigned long long total;  /* data bytes so far */
    int state, ndigits;
    const char *why; /* when malformed */
} edge_chunks;

/* Returns 1 when the body (the last chunk and the trailers) is complete and
 * c->off is its length, 0 when more bytes are needed, -1 when it is malformed
 * or its data exceeds max bytes (c->why says which). */
int edge_chunks_feed(edge_chunks *c, const char *body, size_t len, size_t max);

/* The reason phrase of an HTTP status ("Error" for one not listed). */
const char *http_reason(int status);

#endif
