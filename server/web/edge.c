/* edge.c — the event-driven HTTP edge in front of civetweb (see edge.h).
 * Everything here runs on the edge's one thread, so nothing is locked. */
#define _POSIX_C_SOURCE 200809L
#include "web/edge.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/common.h"
#include "web/edge_parse.h"
#include "web/httpstats.h"
#include "web/hub.h"
#include "db/db.h"
#include "core/banned.h" /* last: after every system header */

#define ADDR_BUCKETS 1024
#define OUT_HIGH (1024 * 1024) /* a client's unsent answer: civetweb waits above it */
#define OUT_LOW (256 * 1024)
#define LINGER_MS 2000      /* reading what a refused client still sends */
#define UPSTREAM_IDLE_S 120 /* civetweb silent this long: 504 */
#define REQ_CAP (EDGE_MAX_HEAD + EDGE_MAX_BODY + 8192) /* chunk framing on top */
#define POOL_IDLE_MS 20000 /* civetweb's keep_alive_timeout_ms is 40000 (http.c) */
/* an events stream's unsent bytes at most (a backlog is up to ~2 MB) */
#define STREAM_OUT_MAX (4 * 1024 * 1024)
/* a stream this old ends: its client reconnects, through authentication */
#define STREAM_MAX_AGE_MS (10 * 60 * 1000)
#define STREAM_RING 1024 /* the newest events, for a stream that subscribes */
#define STREAM_PING_S 15 /* a comment on every stream: dead peers are found */

typedef struct addr_slot {
    struct addr_slot *next;
    char ip[INET6_ADDRSTRLEN];
    int n;
} addr_slot;

enum { S_HEAD, S_BODY, S_UPSTREAM, S_CLOSING, S_STREAM };

typedef struct econn {
    struct econn *prev, *next;
    struct edge *e;
    struct bufferevent *bev; /* the client */
    struct bufferevent *up;  /* civetweb, while a request is in flight */
    struct event *timer;
    addr_slot *slot; /* NULL for a refused connection */
    char ip[INET6_ADDRSTRLEN];
    char *req; /* the client's bytes not yet forwarded */
    size_t len, cap;
    edge_head h;
    edge_chunks ch;
    int state;
    int got_bytes;   /* S_HEAD: something of the next request came */
    int client_eof;  /* the client shut its write side */
    int close_after; /* close once the answer is out */
    int sent_continue;
    int resp_head_done;
    int up_paused;
    long long resp_left; /* body bytes still to come; -1: until civetweb closes */
    int up_keep;         /* civetweb keeps the connection: it can be pooled */
    /* a stream: set from the worker's HUB_STREAM_HEADER, then S_STREAM */
    int stream;      /* 1: the answer becomes a stream */
    int topic;       /* HUB_* */
    int64_t last_id; /* HUB_EVENTS: the newest event it has */
    int ui_pending;  /* HUB_UI: a page waits until the client reads */
    int more;        /* the worker's backlog was cut short: close once it is out */
    int64_t stream_since_ms;
    char f_cluster[96], f_type[64]; /* filters; "" none */
} econn;

/* An idle connection to civetweb, kept for the next request. */
typedef struct pooled {
    struct pooled *next;
    struct edge *e;
    struct bufferevent *bev;
    int64_t since_ms;
} pooled;

struct edge {
    edge_opts o;
    char listen[256], secret[80], cert[1024], key[1024], ca[1024];
    struct event_base *base;
    struct evconnlistener *lis;
    struct event *resume;
    SSL_CTX *tls;
    pthread_t thr;
    int started;
    int port;
    struct sockaddr_in up_addr;
    int nconns; /* written by the edge thread only */
    econn *conns;
    addr_slot *buckets[ADDR_BUCKETS];
    pooled *pool; /* idle connections to civetweb, newest first */
    int npool;
    /* streams */
    hub *hub;
    struct event *hubev, *ping;
    hub_msg *ring[STREAM_RING]; /* HUB_EVENTS, oldest at ring_start */
    int ring_start, ring_n;
    hub_msg *ui_last[HUB_UI_PARTS]; /* the dashboard's latest of each part, for a new stream */
    int nstreams;
};

static void process(econn *c);
static void answer_done(econn *c);
static void stream_begin(econn *c);
static void stream_leave(econn *c);

/* --- idle connections to civetweb ----------------------------------------- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pool_remove(edge *e, pooled *pc)
{
    pooled **p;
    for (p = &e->pool; *p; p = &(*p)->next)
        if (*p == pc) {
            *p = pc->next;
            e->npool--;
            break;
        }
    bufferevent_free(pc->bev);
    free(pc);
}

/* civetweb closed an idle one (its keep-alive timeout, a stop) */
static void pooled_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)what;
    pool_remove(((pooled *)arg)->e, arg);
}

static void pooled_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    pool_remove(((pooled *)arg)->e, arg); /* bytes nobody asked for */
}

/* Keeps bev for the next request, or frees it when the pool is full. */
static void pool_put(edge *e, struct bufferevent *bev)
{
    pooled *pc = e->npool < e->o.upstream_pool ? calloc(1, sizeof(*pc)) : NULL;
    if (!pc) {
        bufferevent_free(bev);
        return;
    }
    pc->e = e;
    pc->bev = bev;
    pc->since_ms = mono_ms();
    pc->next = e->pool;
    e->pool = pc;
    e->npool++;
    bufferevent_set_timeouts(bev, NULL, NULL);
    bufferevent_setcb(bev, pooled_read, NULL, pooled_event, pc);
    bufferevent_enable(bev, EV_READ);
}

/* An idle connection kept less than POOL_IDLE_MS (civetweb keeps it twice
 * as long, so it is not closing it now), or NULL. */
static struct bufferevent *pool_take(edge *e)
{
    while (e->pool) {
        pooled *pc = e->pool;
        struct bufferevent *bev = pc->bev;
        int fresh = mono_ms() - pc->since_ms < POOL_IDLE_MS;
        e->pool = pc->next;
        e->npool--;
        free(pc);
        if (fresh) return bev;
        bufferevent_free(bev);
    }
    return NULL;
}

/* --- per-address counts --------------------------------------------------- */

static addr_slot **addr_find(edge *e, const char *ip)
{
    unsigned h = 5381;
    addr_slot **p;
    for (const char *s = ip; *s; s++)
        h = h * 33 + (unsigned char)*s;
    for (p = &e->buckets[h % ADDR_BUCKETS]; *p; p = &(*p)->next)
        if (!strcmp((*p)->ip, ip)) break;
    return p;
}

static addr_slot *addr_get(edge *e, const char *ip)
{
    addr_slot **p = addr_find(e, ip);
    if (!*p) {
        *p = calloc(1, sizeof(**p));
        if (*p) hp_strlcpy((*p)->ip, ip, sizeof((*p)->ip));
    }
    return *p;
}

static void addr_put(edge *e, addr_slot *s)
{
    addr_slot **p;
    if (--s->n > 0) return;
    p = addr_find(e, s->ip);
    if (*p == s) {
        *p = s->next;
        free(s);
    }
}

/* --- connections ---------------------------------------------------------- */

/* A connection on its way out no longer counts against its address (its
 * descriptor still counts against max_conns until it is closed). */
static void release_slot(econn *c)
{
    if (c->slot) addr_put(c->e, c->slot);
    c->slot = NULL;
}

static void conn_free(econn *c)
{
    edge *e = c->e;
    stream_leave(c);
    if (c->up) bufferevent_free(c->up);
    if (c->bev) bufferevent_free(c->bev);
    if (c->timer) event_free(c->timer);
    release_slot(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        e->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    e->nconns--;
    free(c->req);
    free(c);
}

static void arm(econn *c, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(c->timer, &tv);
}

/* Answers an error the edge found itself and closes once it is out. msg is
 * one of the edge's fixed messages: nothing of the request is echoed. */
static void reply(econn *c, int status, const char *code, const char *msg)
{
    char body[512], head[1024];
    int bl =
        snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code, msg);
    int hl = snprintf(head, sizeof(head),
                      "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                      "Cache-Control: no-store\r\nConnection: close\r\n%s%s\r\n",
                      status, http_reason(status), bl, EDGE_SECURITY_HEADERS,
                      c->e->tls ? EDGE_HSTS_HEADER : "");
    if (c->up) {
        bufferevent_free(c->up);
        c->up = NULL;
    }
    httpstats_count(status);
    bufferevent_write(c->bev, head, (size_t)hl);
    bufferevent_write(c->bev, body, (size_t)bl);
    c->state = S_CLOSING;
    c->close_after = 1;
    c->len = 0;
    release_slot(c);
    evtimer_del(c->timer);
    arm(c, c->e->o.header_timeout_ms); /* a client that reads nothing is not kept */
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* The answer is out and the connection ends: shut our side, then read (and
 * drop) what the client may still be sending for a moment, so that closing
 * with unread bytes does not reset the connection and destroy the answer in
 * the client's receive buffer. */
static void finish(econn *c)
{
    int fd = bufferevent_getfd(c->bev);
    if (c->client_eof || fd < 0) {
        conn_free(c);
        return;
    }
    c->state = S_CLOSING;
    c->close_after = 2; /* shut */
    release_slot(c);
    shutdown(fd, SHUT_WR);
    evtimer_del(c->timer);
    arm(c, LINGER_MS);
    bufferevent_enable(c->bev, EV_READ);
}

static int out_empty(econn *c)
{
    return evbuffer_get_length(bufferevent_get_output(c->bev)) == 0;
}

/* Closes once what is queued for the client is out (client_write). */
static void close_when_flushed(econn *c)
{
    c->state = S_CLOSING;
    c->close_after = 1;
    if (out_empty(c)) finish(c);
}

/* --- the answer from civetweb --------------------------------------------- */

/* Rewrites civetweb's answer head for the client: its Connection header
 * becomes ours (keep-alive when the client wants it and the answer's end is
 * known), with HSTS under TLS. Returns -1 when the head is not HTTP. */
/* A worker's HUB_STREAM_HEADER in the answer head [h, h+hl): 1 found (the
 * connection's stream fields set), 0 none, -1 malformed. */
static int stream_header(econn *c, const char *h, size_t hl)
{
    static const char name[] = HUB_STREAM_HEADER ":";
    const char *p = memchr(h, '\n', hl), *end = h + hl;
    for (; p && p + 1 < end; p = memchr(p + 1, '\n', (size_t)(end - p - 1))) {
        const char *line = p + 1, *nl = memchr(line, '\n', (size_t)(end - line));
        if (!nl) break;
        if ((size_t)(nl - line) > sizeof(name) - 1 && !strncasecmp(line, name, sizeof(name) - 1)) {
            size_t vl = (size_t)(nl - line) - (sizeof(name) - 1);
            if (vl && line[sizeof(name) - 1 + vl - 1] == '\r') vl--;
            if (hub_stream_parse(line + sizeof(name) - 1, vl, &c->topic, &c->last_id, c->f_cluster,
                                 sizeof(c->f_cluster), c->f_type, sizeof(c->f_type), &c->more) < 0)
                return -1;
            c->stream = 1;
            return 1;
        }
    }
    return 0;
}

static int relay_head(econn *c, const char *h, size_t hl)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    const char *p = memchr(h, '\n', hl), *end = h + hl - 2;
    int status, has_len = 0, keep, up_close = 0, st;
    long long len = -1;

    if (!p || hl < 12 || strncmp(h, "HTTP/1.", 7)) return -1;
    status = atoi(h + 9);
    if ((st = stream_header(c, h, hl)) < 0) return -1;
    if (st && c->e->nstreams >= c->e->o.max_streams) return -2;
    if (st && (c->h.is_head || status != 200)) return -1; /* never from our handlers */
    evbuffer_add(out, h, (size_t)(p + 1 - h));
    for (p++; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end + 2 - p));
        size_t l;
        if (!nl) return -1;
        l = (size_t)(nl + 1 - p);
        if (!strncasecmp(p, "Content-Length:", 15)) {
            has_len = 1;
            len = strtoll(p + 15, NULL, 10);
        }
        if (!strncasecmp(p, "Connection:", 11) && strstr(p, "close") && strstr(p, "close") < nl)
            up_close = 1;
        /* a stream's body has no end: no length, closed when either side goes */
        if (strncasecmp(p, "Connection:", 11) && strncasecmp(p, "Keep-Alive:", 11) &&
            !(c->stream && (!strncasecmp(p, "Content-Length:", 15) ||
                            !strncasecmp(p, HUB_STREAM_HEADER ":", sizeof(HUB_STREAM_HEADER)))))
            evbuffer_add(out, p, l);
        p = nl + 1;
    }
    keep = c->h.keep_alive && !c->client_eof && !c->stream &&
           (has_len || c->h.is_head || status == 204 || status == 304);
    /* where civetweb's answer ends: its length, or its close */
    c->resp_left = c->h.is_head || status == 204 || status == 304 ? 0
                   : has_len && len >= 0                          ? len
                                                                  : -1;
    c->up_keep = !up_close && c->resp_left >= 0;
    if (!keep) c->close_after = 1;
    evbuffer_add_printf(out, "Connection: %s\r\n%s\r\n", keep ? "keep-alive" : "close",
                        c->e->tls ? EDGE_HSTS_HEADER : "");
    return 0;
}

/* Relays what civetweb sent. Returns 1 when the answer ended or was refused
 * (answer_done or reply ran: c may be gone), else 0. */
static int up_pump(struct bufferevent *up, econn *c)
{
    struct evbuffer *in = bufferevent_get_input(up);
    const char *head;
    int rc;

    if (!c->resp_head_done) {
        struct evbuffer_ptr pos = evbuffer_search(in, "\r\n\r\n", 4, NULL);
        size_t hl;
        if (pos.pos < 0) {
            if (evbuffer_get_length(in) <= EDGE_MAX_HEAD) return 0;
            reply(c, 502, "bad_gateway", "the answer of the worker is malformed");
            return 1;
        }
        hl = (size_t)pos.pos + 4;
        head = (const char *)evbuffer_pullup(in, (ev_ssize_t)hl);
        rc = head ? relay_head(c, head, hl) : -1;
        if (rc == -2) {
            c->stream = 0;
            reply(c, 503, "too_many_streams",
                  "too many open streams; the page polls instead, retry later");
            return 1;
        }
        if (rc < 0) {
            reply(c, 502, "bad_gateway", "the answer of the worker is malformed");
            return 1;
        }
        evbuffer_drain(in, hl);
        c->resp_head_done = 1;
    }
    if (c->resp_left >= 0) {
        size_t n = evbuffer_get_length(in);
        if ((long long)n > c->resp_left) { /* more than it said: not reusable */
            c->up_keep = 0;
            n = (size_t)c->resp_left;
        }
        evbuffer_remove_buffer(in, bufferevent_get_output(c->bev), n);
        c->resp_left -= (long long)n;
        if (c->resp_left == 0) {
            evbuffer_drain(in, evbuffer_get_length(in));
            answer_done(c);
            return 1;
        }
    } else {
        bufferevent_write_buffer(c->bev, in);
    }
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) > OUT_HIGH) {
        bufferevent_disable(up, EV_READ); /* until the client took some */
        c->up_paused = 1;
    }
    return 0;
}

static void up_read(struct bufferevent *up, void *arg)
{
    up_pump(up, arg);
}

static void up_event(struct bufferevent *up, short what, void *arg)
{
    econn *c = arg;

    if (what & BEV_EVENT_CONNECTED) return;
    if (what & BEV_EVENT_EOF) {
        if (up_pump(up, c)) return; /* ended or refused: c may be gone */
        if (!c->resp_head_done) {
            reply(c, 502, "bad_gateway", "the worker closed without an answer");
            return;
        }
        if (c->resp_left > 0) { /* cut short: the client sees it cut */
            conn_free(c);
            return;
        }
        c->up_keep = 0;
        answer_done(c);
        return;
    }
    if (!c->resp_head_done) {
        if (what & BEV_EVENT_TIMEOUT)
            reply(c, 504, "gateway_timeout", "the worker did not answer in time");
        else
            reply(c, 502, "bad_gateway", "the worker cannot be reached");
        return;
    }
    conn_free(c); /* cut in the middle of an answer: the client sees it cut */
}

/* civetweb's answer is complete: its connection goes back to the pool (or
 * away), and the client's waits for its next request or closes. */
static void answer_done(econn *c)
{
    struct bufferevent *up = c->up;
    c->up = NULL;
    if (c->up_keep && !c->up_paused)
        pool_put(c->e, up);
    else
        bufferevent_free(up);
    if (c->stream && !c->client_eof) {
        stream_begin(c);
        return;
    }
    if (c->close_after) {
        close_when_flushed(c);
        return;
    }
    c->state = S_HEAD;
    c->got_bytes = 0;
    arm(c, c->e->o.keepalive_ms);
    bufferevent_enable(c->bev, EV_READ);
    process(c); /* a pipelined request may be waiting */
}

/* Sends the complete request (head and body) to civetweb on a pooled
 * connection, or a new one. */
static void forward(econn *c, size_t body_len)
{
    edge *e = c->e;
    struct evbuffer *out;
    const char *p = c->req, *end = c->req + c->h.head_len - 2, *nl;
    size_t total = c->h.head_len + body_len;
    struct timeval idle = {UPSTREAM_IDLE_S, 0};

    c->up = pool_take(e);
    if (!c->up && (!(c->up = bufferevent_socket_new(e->base, -1, BEV_OPT_CLOSE_ON_FREE)) ||
                   bufferevent_socket_connect(c->up, (struct sockaddr *)&e->up_addr,
                                              sizeof(e->up_addr)) < 0)) {
        reply(c, 502, "bad_gateway", "the worker cannot be reached");
        return;
    }
    out = bufferevent_get_output(c->up);
    nl = memchr(p, '\n', (size_t)(end - p));
    evbuffer_add(out, p, (size_t)(nl + 1 - p));
    for (p = nl + 1; p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end + 2 - p));
        if (strncasecmp(p, "Connection:", 11) && strncasecmp(p, "Keep-Alive:", 11) &&
            strncasecmp(p, "Expect:", 7) && strncasecmp(p, "Proxy-Connection:", 17))
            evbuffer_add(out, p, (size_t)(nl + 1 - p));
    }
    evbuffer_add_printf(out, "Connection: keep-alive\r\n" EDGE_HEADER ": %s %s\r\n\r\n", e->secret,
                        c->ip);
    evbuffer_add(out, c->req + c->h.head_len, body_len);
    /* what the client sent after this request (pipelined) stays for later */
    memmove(c->req, c->req + total, c->len - total);
    c->len -= total;
    c->state = S_UPSTREAM;
    c->resp_head_done = 0;
    c->up_paused = 0;
    c->resp_left = -1;
    c->up_keep = 0;
    evtimer_del(c->timer);
    bufferevent_disable(c->bev, EV_READ); /* one request at a time */
    bufferevent_setcb(c->up, up_read, NULL, up_event, c);
    bufferevent_set_timeouts(c->up, &idle, &idle);
    bufferevent_enable(c->up, EV_READ | EV_WRITE);
}

/* --- streams ---------------------------------------------------------------- */

/* Leaves S_STREAM (the counts follow); the caller closes or frees. */
static void stream_leave(econn *c)
{
    edge *e = c->e;
    if (c->state != S_STREAM) return;
    c->state = S_CLOSING;
    e->nstreams--;
    hub_count(e->hub, c->topic, -1);
}

/* An events stream that cannot go on without a gap: closed once what is
 * queued is out; the client resumes from the history with the
 * Last-Event-ID it has. */
static void stream_end(econn *c)
{
    stream_leave(c);
    close_when_flushed(c);
}

static int stream_wants(const econn *c, const hub_msg *m)
{
    if (m->topic != c->topic) return 0;
    if (m->topic == HUB_EVENTS && m->id <= c->last_id) return 0;
    if (c->f_cluster[0] && strcmp(c->f_cluster, m->cluster)) return 0;
    if (c->f_type[0] && !db_type_matches(c->f_type, m->type)) return 0;
    return 1;
}

/* Writes m to stream c. Returns -1 when c was ended: an events stream that
 * stopped reading (STREAM_OUT_MAX unsent) resumes from the history; a page
 * only ever needs the latest one, which it gets once it reads again. */
static int stream_send(econn *c, const hub_msg *m)
{
    size_t queued = evbuffer_get_length(bufferevent_get_output(c->bev));
    if (m->topic == HUB_UI) {
        c->ui_pending = queued > OUT_LOW;
        if (c->ui_pending) return 0;
    } else if (queued + m->len > STREAM_OUT_MAX) {
        stream_end(c);
        return -1;
    }
    if (m->topic == HUB_EVENTS) c->last_id = m->id;
    bufferevent_write(c->bev, m->text, m->len);
    return 0;
}

/* The worker's answer (the backlog) is out: the connection is a stream
 * from here on. An events stream first gets the newest events that came
 * after the worker read the history; if its backlog was cut short, or the
 * ring no longer reaches back to where it ended, it is ended instead. */
static void stream_begin(econn *c)
{
    edge *e = c->e;
    int i;
    c->state = S_STREAM;
    c->stream_since_ms = mono_ms();
    e->nstreams++;
    hub_count(e->hub, c->topic, 1);
    evtimer_del(c->timer);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    if (c->topic == HUB_UI) {
        for (i = 0; i < HUB_UI_PARTS; i++)
            if (e->ui_last[i]) stream_send(c, e->ui_last[i]);
        return;
    }
    if (c->more || (e->ring_n == STREAM_RING && e->ring[e->ring_start]->id > c->last_id + 1)) {
        stream_end(c);
        return;
    }
    for (i = 0; i < e->ring_n; i++) {
        const hub_msg *m = e->ring[(e->ring_start + i) % STREAM_RING];
        if (stream_wants(c, m) && stream_send(c, m) < 0) return;
    }
}

static void ring_put(edge *e, hub_msg *m)
{
    if (e->ring_n == STREAM_RING) {
        free(e->ring[e->ring_start]);
        e->ring[e->ring_start] = m;
        e->ring_start = (e->ring_start + 1) % STREAM_RING;
        return;
    }
    e->ring[(e->ring_start + e->ring_n++) % STREAM_RING] = m;
}

/* The hub has messages: each goes to every stream that wants it, once. If
 * the hub had to drop events (the edge fell far behind), every events
 * stream ends, to resume from the history without a gap. */
static void hub_ready(evutil_socket_t fd, short what, void *arg)
{
    edge *e = arg;
    int lost = 0;
    hub_msg *m = hub_take(e->hub, &lost), *next;
    econn *c, *cn;
    (void)fd;
    (void)what;
    if (lost > 0) {
        log_warn("http: %d live events dropped before the streams got them; the event streams "
                 "resume from the history",
                 lost);
        for (c = e->conns; c; c = cn) {
            cn = c->next;
            if (c->state == S_STREAM && c->topic == HUB_EVENTS) stream_end(c);
        }
    }
    for (; m; m = next) {
        next = m->next;
        m->next = NULL;
        for (c = e->conns; c; c = cn) {
            cn = c->next;
            if (c->state == S_STREAM && stream_wants(c, m)) stream_send(c, m);
        }
        if (m->topic == HUB_EVENTS) {
            ring_put(e, m);
        } else {
            int part = m->id >= 0 && m->id < HUB_UI_PARTS ? (int)m->id : 0;
            free(e->ui_last[part]); /* the latest, for the next page that opens */
            e->ui_last[part] = m;
        }
    }
}

/* On the publishing thread, under the hub's lock. */
static void hub_wake(void *arg)
{
    edge *e = arg;
    event_active(e->hubev, EV_READ, 0);
}

/* Every STREAM_PING_S: a comment line on every stream, so that a peer that
 * went away without a word is found (its write fails or times out) and
 * proxies do not close a quiet stream; and a stream older than
 * STREAM_MAX_AGE_MS ends, so that its client comes back through
 * authentication (a revoked token or an expired session stops receiving). */
static void ping_streams(evutil_socket_t fd, short what, void *arg)
{
    edge *e = arg;
    econn *c, *cn;
    int64_t now = mono_ms();
    (void)fd;
    (void)what;
    for (c = e->conns; c; c = cn) {
        cn = c->next;
        if (c->state != S_STREAM) continue;
        if (now - c->stream_since_ms > STREAM_MAX_AGE_MS)
            stream_end(c);
        else if (evbuffer_get_length(bufferevent_get_output(c->bev)) < OUT_LOW)
            bufferevent_write(c->bev, ":\n\n", 3);
    }
}

/* --- the client ------------------------------------------------------------ */

static void process(econn *c)
{
    const edge_opts *o = &c->e->o;
    size_t avail, body_len;
    int r;

    if (c->state == S_HEAD) {
        if (c->len == 0) {
            if (c->client_eof) close_when_flushed(c);
            return;
        }
        if (!c->got_bytes) {
            c->got_bytes = 1;
            arm(c, o->header_timeout_ms);
        }
        r = edge_parse_head(c->req, c->len, &c->h);
        if (r < 0) {
            reply(c, c->h.status,
                  c->h.status == 413   ? "payload_too_large"
                  : c->h.status == 414 ? "uri_too_long"
                  : c->h.status == 431 ? "headers_too_large"
                                       : "bad_request",
                  c->h.why);
            return;
        }
        if (r == 0) {
            if (c->client_eof) reply(c, 400, "bad_request", "the request head is cut short");
            return;
        }
        c->state = S_BODY;
        memset(&c->ch, 0, sizeof(c->ch));
        c->sent_continue = 0;
        if (c->h.chunked || c->h.content_length > 0) arm(c, o->body_timeout_ms);
    }
    if (c->state != S_BODY) return;
    avail = c->len - c->h.head_len;
    if (c->h.chunked) {
        r = edge_chunks_feed(&c->ch, c->req + c->h.head_len, avail, EDGE_MAX_BODY);
        if (r < 0) {
            int big = !strncmp(c->ch.why, "request body", 12);
            reply(c, big ? 413 : 400, big ? "payload_too_large" : "bad_request", c->ch.why);
            return;
        }
        body_len = c->ch.off;
    } else {
        r = avail >= (size_t)(c->h.content_length > 0 ? c->h.content_length : 0);
        body_len = c->h.content_length > 0 ? (size_t)c->h.content_length : 0;
    }
    if (!r) {
        if (c->client_eof) {
            reply(c, 400, "bad_request",
                  c->h.chunked ? "the chunked request body is malformed or cut short"
                               : "the request body is cut short");
        } else if (c->len >= REQ_CAP) {
            reply(c, 413, "payload_too_large", "request body larger than 64 KiB");
        } else if (c->h.expect_continue && !c->sent_continue && c->h.minor == 1) {
            c->sent_continue = 1;
            bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        }
        return;
    }
    forward(c, body_len);
}

static void client_read(struct bufferevent *bev, void *arg)
{
    econn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n = evbuffer_get_length(in);

    if (c->state == S_CLOSING || c->state == S_UPSTREAM || c->state == S_STREAM) {
        if (c->state != S_UPSTREAM) evbuffer_drain(in, n); /* a stream's client says nothing */
        return;
    }
    if (n > REQ_CAP - c->len) n = REQ_CAP - c->len;
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap : 1024;
        char *p;
        while (cap < c->len + n)
            cap *= 2;
        if (cap > REQ_CAP) cap = REQ_CAP;
        p = realloc(c->req, cap);
        if (!p) {
            conn_free(c);
            return;
        }
        c->req = p;
        c->cap = cap;
    }
    evbuffer_remove(in, c->req + c->len, n);
    c->len += n;
    process(c);
}

static void client_write(struct bufferevent *bev, void *arg)
{
    econn *c = arg;
    (void)bev;
    if (c->up && c->up_paused) {
        c->up_paused = 0;
        bufferevent_enable(c->up, EV_READ);
    }
    if (c->state == S_CLOSING && c->close_after == 1 && !c->up && out_empty(c)) {
        finish(c); /* may free c */
        return;
    }
    if (c->state == S_STREAM && c->ui_pending) { /* caught up: the latest of each part */
        c->ui_pending = 0;
        for (int i = 0; i < HUB_UI_PARTS; i++)
            if (c->e->ui_last[i])
                bufferevent_write(c->bev, c->e->ui_last[i]->text, c->e->ui_last[i]->len);
    }
}

static void client_event(struct bufferevent *bev, short what, void *arg)
{
    econn *c = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED) return; /* the TLS handshake is done */
    if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
        c->client_eof = 1;
        if (c->state == S_CLOSING) {
            if (c->close_after == 2 || out_empty(c)) conn_free(c);
            return;
        }
        if (c->state == S_STREAM) {
            conn_free(c);
            return;
        }
        if (c->state == S_UPSTREAM) {
            c->close_after = 1;
            return;
        }
        bufferevent_disable(c->bev, EV_READ);
        process(c);
        return;
    }
    conn_free(c); /* reset, TLS handshake failure, write timeout */
}

static void timer_fired(evutil_socket_t fd, short what, void *arg)
{
    econn *c = arg;
    char msg[96];
    (void)fd;
    (void)what;
    if (c->state == S_HEAD && c->got_bytes) {
        snprintf(msg, sizeof(msg), "the request headers did not arrive within %d ms",
                 c->e->o.header_timeout_ms);
        reply(c, 408, "request_timeout", msg);
    } else if (c->state == S_BODY) {
        snprintf(msg, sizeof(msg), "the request body did not arrive within %d ms",
                 c->e->o.body_timeout_ms);
        reply(c, 408, "request_timeout", msg);
    } else if (c->state != S_UPSTREAM) {
        conn_free(c); /* idle, or a client that does not read its answer */
    }
}

static void accepted(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa, int salen,
                     void *arg)
{
    edge *e = arg;
    econn *c = calloc(1, sizeof(*c));
    struct timeval wtv = {30, 0};
    int one = 1, full;
    (void)lis;
    (void)salen;

    if (!c) {
        close(fd);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)sa)->sin6_addr, c->ip, sizeof(c->ip));
    else
        inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)sa)->sin_addr, c->ip, sizeof(c->ip));
    c->e = e;
    if (e->tls) {
        SSL *ssl = SSL_new(e->tls);
        c->bev = ssl ? bufferevent_openssl_socket_new(e->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                      BEV_OPT_CLOSE_ON_FREE)
                     : NULL;
        if (c->bev) bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
    } else {
        c->bev = bufferevent_socket_new(e->base, fd, BEV_OPT_CLOSE_ON_FREE);
    }
    c->timer = evtimer_new(e->base, timer_fired, c);
    e->nconns++;
    c->next = e->conns;
    if (e->conns) e->conns->prev = c;
    e->conns = c;
    if (!c->bev || !c->timer) {
        if (!c->bev) close(fd);
        conn_free(c);
        return;
    }
    bufferevent_setcb(c->bev, client_read, client_write, client_event, c);
    bufferevent_setwatermark(c->bev, EV_WRITE, OUT_LOW, 0);
    bufferevent_set_timeouts(c->bev, NULL, &wtv); /* an answer nobody reads */
    full = e->nconns > e->o.max_conns;
    if (!full) {
        c->slot = addr_get(e, c->ip);
        if (c->slot && c->slot->n >= e->o.max_conns_per_addr) {
            c->slot = NULL; /* counted by the connections that hold it */
            full = 2;
        }
        if (c->slot) c->slot->n++;
    }
    if (full) {
        reply(c, 503, "too_many_connections",
              full == 2 ? "too many connections from this address; close some and retry"
                        : "too many connections; retry later");
        return;
    }
    c->state = S_HEAD;
    arm(c, e->o.header_timeout_ms);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* accept() failing (out of descriptors) would wake the loop again at once:
 * stop listening for a moment. */
static void accept_error(struct evconnlistener *lis, void *arg)
{
    edge *e = arg;
    struct timeval tv = {0, 100000};
    log_warn("http: accept: %s; pausing new connections for 100 ms", strerror(errno));
    evconnlistener_disable(lis);
    evtimer_add(e->resume, &tv);
}

static void resume_listening(evutil_socket_t fd, short what, void *arg)
{
    edge *e = arg;
    (void)fd;
    (void)what;
    evconnlistener_enable(e->lis);
}

static void *edge_main(void *arg)
{
    edge *e = arg;
    hp_failpoint_slow_start();
    event_base_dispatch(e->base);
    return NULL;
}

static SSL_CTX *tls_context(const edge_opts *o, char *err, size_t errsz)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        snprintf(err, errsz, "TLS: cannot create a context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(ctx, o->tls_cert) != 1) {
        snprintf(err, errsz,
                 "[http] tls_cert (HAPANEL_TLS_CERT): cannot read a PEM certificate from %s",
                 o->tls_cert);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, o->tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errsz,
                 "[http] tls_key (HAPANEL_TLS_KEY): cannot read a PEM key matching the "
                 "certificate from %s",
                 o->tls_key);
        goto fail;
    }
    if (o->tls_client_ca && o->tls_client_ca[0]) {
        if (SSL_CTX_load_verify_locations(ctx, o->tls_client_ca, NULL) != 1) {
            snprintf(err, errsz,
                     "[http] tls_client_ca (HAPANEL_TLS_CLIENT_CA): cannot read PEM certificates "
                     "from %s",
                     o->tls_client_ca);
            goto fail;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    return ctx;
fail:
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return NULL;
}

/* "host:port" or "[v6]:port" into a bound address. */
static int resolve(const char *listen, struct addrinfo **ai)
{
    char host[256], port[16];
    const char *colon = strrchr(listen, ':');
    struct addrinfo hints;
    size_t hl;
    if (!colon) return -1;
    hl = (size_t)(colon - listen);
    if (listen[0] == '[' && hl >= 2) {
        listen++;
        hl -= 2;
    }
    snprintf(host, sizeof(host), "%.*s", (int)hl, listen);
    snprintf(port, sizeof(port), "%s", colon + 1);
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    return getaddrinfo(host[0] ? host : NULL, port, &hints, ai) ? -1 : 0;
}

edge *edge_start(const edge_opts *o, char *err, size_t errsz)
{
    edge *e = calloc(1, sizeof(*e));
    struct addrinfo *ai = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    struct rlimit rl;

    if (!e) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    e->o = *o;
    hp_strlcpy(e->listen, o->listen, sizeof(e->listen));
    hp_strlcpy(e->secret, o->secret, sizeof(e->secret));
    hp_strlcpy(e->cert, o->tls_cert ? o->tls_cert : "", sizeof(e->cert));
    hp_strlcpy(e->key, o->tls_key ? o->tls_key : "", sizeof(e->key));
    hp_strlcpy(e->ca, o->tls_client_ca ? o->tls_client_ca : "", sizeof(e->ca));
    e->o.listen = e->listen;
    e->o.secret = e->secret;
    e->o.tls_cert = e->cert;
    e->o.tls_key = e->key;
    e->o.tls_client_ca = e->ca;
    /* a client and, while its request is served, the worker's connection */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (rlim_t)e->o.max_conns * 2 + 256 > rl.rlim_cur) {
        int n = rl.rlim_cur > 512 ? (int)((rl.rlim_cur - 256) / 2) : 128;
        log_warn("http: %d open files allowed: at most %d connections (not max_conns %d)",
                 (int)rl.rlim_cur, n, e->o.max_conns);
        e->o.max_conns = n;
    }
    e->up_addr.sin_family = AF_INET;
    e->up_addr.sin_port = htons((unsigned short)o->upstream_port);
    e->up_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (e->cert[0] && !(e->tls = tls_context(&e->o, err, errsz))) goto fail;
    if (evthread_use_pthreads() < 0 || !(e->base = event_base_new())) {
        snprintf(err, errsz, "cannot start the event loop");
        goto fail;
    }
    if (resolve(e->listen, &ai) < 0) {
        snprintf(err, errsz, "cannot listen on %s (not host:port)", e->listen);
        goto fail;
    }
    e->lis = evconnlistener_new_bind(
        e->base, accepted, e, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
        1024, ai->ai_addr, (int)ai->ai_addrlen);
    freeaddrinfo(ai);
    if (!e->lis) {
        snprintf(err, errsz, "cannot listen on %s (in use, or not an address of this host)",
                 e->listen);
        goto fail;
    }
    evconnlistener_set_error_cb(e->lis, accept_error);
    e->resume = evtimer_new(e->base, resume_listening, e);
    if (o->hub) {
        struct timeval ping = {STREAM_PING_S, 0};
        if (!(e->hubev = event_new(e->base, -1, 0, hub_ready, e)) ||
            !(e->ping = event_new(e->base, -1, EV_PERSIST, ping_streams, e)) ||
            event_add(e->ping, &ping) < 0) {
            snprintf(err, errsz, "cannot start the event loop");
            goto fail;
        }
        e->hub = o->hub;
        hub_attach(e->hub, hub_wake, e);
    }
    if (getsockname(evconnlistener_get_fd(e->lis), (struct sockaddr *)&ss, &sl) == 0)
        e->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    if (pthread_create(&e->thr, NULL, edge_main, e) != 0) {
        snprintf(err, errsz, "cannot start the HTTP edge thread");
        goto fail;
    }
    e->started = 1;
    return e;
fail:
    edge_stop(e);
    return NULL;
}

int edge_port(const edge *e)
{
    return e->port;
}

void edge_stop(edge *e)
{
    if (!e) return;
    if (e->hub) hub_attach(e->hub, NULL, NULL); /* no wake-up reaches a freed edge */
    if (e->started) {
        /* not loopbreak: a break asked for before the thread enters its
         * loop is cleared when it does (a SIGTERM right after the start
         * hung); loopexit queues an event the loop runs whenever it starts */
        event_base_loopexit(e->base, NULL);
        pthread_join(e->thr, NULL);
    }
    while (e->conns)
        conn_free(e->conns);
    while (e->pool)
        pool_remove(e, e->pool);
    for (int i = 0; i < ADDR_BUCKETS; i++)
        while (e->buckets[i]) {
            addr_slot *s = e->buckets[i];
            e->buckets[i] = s->next;
            free(s);
        }
    for (int i = 0; i < e->ring_n; i++)
        free(e->ring[(e->ring_start + i) % STREAM_RING]);
    for (int i = 0; i < HUB_UI_PARTS; i++)
        free(e->ui_last[i]);
    if (e->hubev) event_free(e->hubev);
    if (e->ping) event_free(e->ping);
    if (e->resume) event_free(e->resume);
    if (e->lis) evconnlistener_free(e->lis);
    if (e->base) event_base_free(e->base);
    if (e->tls) SSL_CTX_free(e->tls);
    free(e);
}
