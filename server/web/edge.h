/* edge.h — hapanel's HTTP edge: one event-loop thread (libevent) that owns
 * the public listening socket and every client connection, so that a
 * connection costs a few hundred bytes of memory instead of a worker thread.
 *
 * civetweb serves one connection per worker thread, from the first byte of a
 * request until the keep-alive wait after its answer ends: 32 clients that
 * send half a request, or 32 idle dashboard tabs, left nobody to answer
 * /api/v1/health. The edge takes the slow parts away from the workers: it
 * waits for a request's head (header_timeout_ms) and its body
 * (body_timeout_ms, whole, at most 64 KiB), holds idle keep-alive
 * connections, does TLS, caps connections per source address (503), refuses
 * what it cannot frame (edge_parse.h), and only then forwards the complete
 * request to civetweb on a loopback port of its own, over a connection kept
 * from an earlier request when one is idle (a few are kept: each holds a
 * worker), with X-Hapanel-Edge: a per-process secret and the client's
 * address. The answer is read back as fast as civetweb writes it
 * (up to 1 MiB is buffered per client), so a client that reads slowly does
 * not hold the worker either.
 *
 * Streams (Server-Sent Events) are held here too: a worker authorises the
 * request and answers it with the backlog and a HUB_STREAM_HEADER (hub.h);
 * the edge relays that, keeps the connection and writes the hub's messages
 * to it as they come, so an open dashboard or event stream costs no worker
 * and nothing at all between messages. Past max_streams a stream request is
 * answered 503 too_many_streams; a client that does not read (more than 512
 * KiB unsent) is dropped from the events stream (it resumes with
 * Last-Event-ID) and only gets the latest page of the dashboard's. */
#ifndef HP_EDGE_H
#define HP_EDGE_H

#include <stddef.h>

typedef struct edge_opts {
    const char *listen;    /* public host:port ([v6]:port) */
    int upstream_port;     /* civetweb on 127.0.0.1 */
    const char *secret;    /* the X-Hapanel-Edge secret (hex) */
    int header_timeout_ms; /* a request's head must arrive within it */
    int body_timeout_ms;   /* and its body within this after the head */
    int keepalive_ms;      /* an idle connection between requests */
    int max_conns;         /* all clients */
    int max_conns_per_addr;
    int upstream_pool; /* idle connections to civetweb kept (each holds a worker) */
    const char *tls_cert, *tls_key, *tls_client_ca; /* PEM files; empty: plain HTTP */
    struct hub *hub; /* the live messages for the streams it holds (hub.h); NULL: none */
    int max_streams; /* open streams at most; past it a stream request gets 503 */
} edge_opts;

typedef struct edge edge;

/* Binds o->listen and starts the edge thread. Returns NULL and writes why
 * into err on failure (address in use, a TLS file that cannot be read). */
edge *edge_start(const edge_opts *o, char *err, size_t errsz);
int edge_port(const edge *e);
void edge_stop(edge *e);

/* The headers every response carries (each line ends in CRLF). */
#define EDGE_SECURITY_HEADERS                                                                      \
    "X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n"                                 \
    "Referrer-Policy: no-referrer\r\n"                                                             \
    "Content-Security-Policy: default-src 'self'; script-src 'self'; "                             \
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; "             \
    "base-uri 'none'; form-action 'self'\r\n"
#define EDGE_HSTS_HEADER "Strict-Transport-Security: max-age=31536000\r\n"

#endif
