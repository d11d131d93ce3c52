/* rconn.c — asynchronous connection with deadlines (see rconn.h).
 *
 * One timer per connection guards the oldest outstanding request: it is armed
 * when the count of outstanding replies goes from 0 to 1 (or a connect
 * starts), armed again at every reply while others are outstanding (each
 * request gets the whole timeout from the answer before it, so a long
 * pipelined burst to a busy Sentinel is not one deadline), and removed when
 * the count falls back to 0. When it fires the hiredis context is freed,
 * which runs every outstanding callback with a NULL reply. */
#define _POSIX_C_SOURCE 200809L
#include "redis/rconn.h"
#include "redis/reader.h"

#include <arpa/inet.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netdb.h>
#include <time.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/banned.h" /* last: after every system header */

struct rconn {
    struct event_base *base;
    redisAsyncContext *ac;
    struct event *timer;
    char host[HP_HOST_MAX];
    int port;
    char user[128];
    char password[256];
    int timeout_ms;
    int pending;       /* replies outstanding, the AUTH included */
    int subscribed;    /* a psubscribe is live on ac */
    unsigned connects; /* connections opened so far */
    rconn_cb *sub_cb;  /* message callback of the subscription */
    void *sub_priv;
    char err[128];
    int auth_failed; /* the AUTH of this connection was refused */
    /* a host name, resolved without blocking the loop (evdns) */
    char ip[INET6_ADDRSTRLEN];
    int64_t resolved_ms;
    struct dns_req *dreq; /* in flight */
    char dns_err[128];    /* why the last lookup failed, "" when it did not */
    int timed_out;
};

/* One evdns lookup: the rconn it is for, NULL once that is freed (the
 * cancelled lookup's callback may still come, later). */
typedef struct dns_req {
    rconn *c;
    struct evdns_getaddrinfo_request *h;
} dns_req;

static struct evdns_base *g_dns;
#define RESOLVED_TTL_MS 60000 /* a name is looked up again after a minute */

void rconn_set_resolver(struct evdns_base *dns)
{
    g_dns = dns;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int numeric_host(const char *h)
{
    unsigned char b[16];
    return inet_pton(AF_INET, h, b) == 1 || inet_pton(AF_INET6, h, b) == 1;
}

static void set_err(rconn *c, const char *msg);

static void on_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
    dns_req *r = arg;
    rconn *c = r->c;
    struct evutil_addrinfo *a, *pick = NULL;

    if (c) {
        c->dreq = NULL;
        for (a = res; a; a = a->ai_next) /* IPv4 first: a name often has ::1 too */
            if (!pick || (a->ai_family == AF_INET && pick->ai_family != AF_INET)) pick = a;
        if (result == 0 && pick) {
            const void *sa =
                pick->ai_family == AF_INET6
                    ? (const void *)&((struct sockaddr_in6 *)(void *)pick->ai_addr)->sin6_addr
                    : (const void *)&((struct sockaddr_in *)(void *)pick->ai_addr)->sin_addr;
            inet_ntop(pick->ai_family, sa, c->ip, sizeof(c->ip));
            c->resolved_ms = now_ms();
            c->dns_err[0] = '\0';
        } else if (result != EVUTIL_EAI_CANCEL) {
            snprintf(c->dns_err, sizeof(c->dns_err), "cannot resolve %.60s: %s", c->host,
                     result == 0 ? "no address" : evutil_gai_strerror(result));
            set_err(c, c->dns_err);
        }
    }
    if (res) evutil_freeaddrinfo(res);
    free(r);
}

/* The address to connect to: the host itself when it is numeric (or no
 * resolver is set), else its looked-up address; NULL while the first lookup
 * runs (started here; c->err says so, or why it failed). A looked-up address
 * older than RESOLVED_TTL_MS is used while it is looked up again. */
static const char *target(rconn *c)
{
    struct evutil_addrinfo hints;
    dns_req *r;
    int fresh = c->ip[0] && now_ms() - c->resolved_ms < RESOLVED_TTL_MS;

    if (!g_dns || numeric_host(c->host)) return c->host;
    if (!fresh && !c->dreq && (r = calloc(1, sizeof(*r)))) {
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        r->c = c;
        c->dreq = r;
        /* until an answer: why the last one failed, or that it is pending */
        if (!c->ip[0]) set_err(c, c->dns_err[0] ? c->dns_err : "resolving the host name");
        /* the callback may run at once (the hosts file): then r is gone */
        struct evdns_getaddrinfo_request *h =
            evdns_getaddrinfo(g_dns, c->host, NULL, &hints, on_resolved, r);
        if (h && c->dreq == r) r->h = h;
    }
    if (!c->ip[0] && c->dns_err[0]) set_err(c, c->dns_err);
    return c->ip[0] ? c->ip : NULL;
}

/* The privdata of one command: who to call. */
typedef struct pend {
    rconn *c;
    rconn_cb *cb;
    void *priv;
} pend;

static void set_err(rconn *c, const char *msg)
{
    hp_strlcpy(c->err, msg && *msg ? msg : "connection closed", sizeof(c->err));
}

static void arm(rconn *c)
{
    struct timeval tv = {c->timeout_ms / 1000, (c->timeout_ms % 1000) * 1000};
    if (!evtimer_pending(c->timer, NULL)) evtimer_add(c->timer, &tv);
}

/* Frees the hiredis context now: outstanding callbacks run with NULL. */
static void drop(rconn *c, const char *why)
{
    redisAsyncContext *ac = c->ac;
    if (!ac) return;
    if (why) set_err(c, why);
    c->ac = NULL;
    c->subscribed = 0;
    evtimer_del(c->timer);
    redisAsyncFree(ac);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    rconn *c = arg;
    char why[64];
    (void)fd;
    (void)what;
    snprintf(why, sizeof(why), "no answer within %d ms", c->timeout_ms);
    c->timed_out = 1;
    drop(c, why);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    rconn *c = ac->data;
    if (status != REDIS_OK && c && c->ac == ac) {
        set_err(c, ac->errstr);
        c->ac = NULL; /* hiredis frees ac after this callback */
        c->subscribed = 0;
    }
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    rconn *c = ac->data;
    if (c && c->ac == ac) {
        if (status != REDIS_OK) set_err(c, ac->errstr);
        c->ac = NULL;
        c->subscribed = 0;
    }
}

static void reply_done(rconn *c)
{
    if (--c->pending == 0 && !(c->ac && c->subscribed == 1)) {
        evtimer_del(c->timer);
    } else if (c->pending > 0 && c->ac) {
        evtimer_del(c->timer); /* an answer came: the next one gets its own deadline */
        arm(c);
    }
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    pend *p = privdata;
    rconn *c = p->c;
    redisReply *reply = r;

    if (!reply) {
        if (ac->err)
            set_err(c, ac->errstr);
        else if (!c->err[0])
            set_err(c, NULL);
        /* ac is being freed: forget it now, so a callback that sends again
         * gets a fresh connection instead of queueing on a dying one. */
        if (c->ac == ac) {
            c->ac = NULL;
            c->subscribed = 0;
        }
    } else if (reply->type != REDIS_REPLY_ERROR) {
        c->err[0] = '\0';
    }
    reply_done(c);
    if (p->cb) p->cb(c, reply, p->priv);
    free(p);
}

static void on_auth(rconn *c, redisReply *reply, void *priv)
{
    (void)priv;
    /* A wrong password shows as NOAUTH on the next command; say it plainly. */
    c->auth_failed = reply && reply->type == REDIS_REPLY_ERROR;
    if (c->auth_failed)
        set_err(c, c->user[0] ? "AUTH failed (user or password rejected)"
                              : "AUTH failed (password rejected)");
}

/* Makes sure a connection exists or is being made. Returns 0 or -1. */
static int ensure(rconn *c)
{
    redisAsyncContext *ac;
    const char *host;
    pend *p;

    if (c->ac) return 0;
    c->timed_out = 0;
    if (!(host = target(c))) return -1; /* looking the name up: the next try connects */
    ac = redisAsyncConnect(host, c->port);
    if (!ac) {
        set_err(c, "out of memory");
        return -1;
    }
    if (ac->err) {
        set_err(c, ac->errstr);
        redisAsyncFree(ac);
        return -1;
    }
    ac->data = c;
    resp_limit_reader(ac->c.reader);
    c->connects++;
    c->auth_failed = 0;
    redisLibeventAttach(ac, c->base);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    c->ac = ac;
    arm(c);
    if (c->password[0]) {
        p = malloc(sizeof(*p));
        if (!p) return -1;
        p->c = c;
        p->cb = on_auth;
        p->priv = NULL;
        if ((c->user[0] ? redisAsyncCommand(ac, on_reply, p, "AUTH %s %s", c->user, c->password)
                        : redisAsyncCommand(ac, on_reply, p, "AUTH %s", c->password)) != REDIS_OK) {
            free(p);
            drop(c, "cannot queue AUTH");
            return -1;
        }
        c->pending++;
    }
    return 0;
}

rconn *rconn_new(struct event_base *base, const char *host, int port, const char *user,
                 const char *password, int timeout_ms)
{
    rconn *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->base = base;
    hp_strlcpy(c->host, host, sizeof(c->host));
    c->port = port;
    hp_strlcpy(c->user, user ? user : "", sizeof(c->user));
    hp_strlcpy(c->password, password ? password : "", sizeof(c->password));
    c->timeout_ms = timeout_ms;
    c->timer = evtimer_new(base, on_timeout, c);
    if (!c->timer) {
        free(c);
        return NULL;
    }
    return c;
}

void rconn_free(rconn *c)
{
    if (!c) return;
    drop(c, "closing");
    if (c->dreq) {
        dns_req *r = c->dreq;
        r->c = NULL; /* its callback frees it */
        c->dreq = NULL;
        if (r->h) evdns_getaddrinfo_cancel(r->h);
    }
    event_free(c->timer);
    memset(c->password, 0, sizeof(c->password));
    memset(c->user, 0, sizeof(c->user));
    free(c);
}

int rconn_cmd(rconn *c, rconn_cb *cb, void *priv, const char *fmt, ...)
{
    pend *p = NULL;
    va_list ap;
    int rc;

    if (ensure(c) < 0) goto fail;
    p = malloc(sizeof(*p));
    if (!p) goto fail;
    p->c = c;
    p->cb = cb;
    p->priv = priv;
    va_start(ap, fmt);
    rc = redisvAsyncCommand(c->ac, on_reply, p, fmt, ap);
    va_end(ap);
    if (rc != REDIS_OK) {
        free(p);
        goto fail;
    }
    if (c->pending++ == 0) arm(c);
    return 0;
fail:
    cb(c, NULL, priv);
    return -1;
}

/* Subscription messages: hiredis calls this for the confirmation, for every
 * message, and with NULL when the context goes away. */
static void on_message(redisAsyncContext *ac, void *r, void *privdata)
{
    rconn *c = privdata;
    redisReply *reply = r;
    (void)ac;

    if (!reply) {
        c->subscribed = 0;
        c->pending = 0;
        if (c->sub_cb) c->sub_cb(c, NULL, c->sub_priv);
        return;
    }
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 3 &&
        reply->element[0]->type == REDIS_REPLY_STRING &&
        !strcmp(reply->element[0]->str, "psubscribe")) {
        c->subscribed = 1;
        c->pending = 0;
        evtimer_del(c->timer);
        c->sub_cb(c, reply, c->sub_priv);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        set_err(c, reply->str);
        return;
    }
    c->sub_cb(c, reply, c->sub_priv);
}

int rconn_psubscribe(rconn *c, rconn_cb *on_msg, void *priv, const char *pattern)
{
    if (ensure(c) < 0) return -1;
    c->sub_cb = on_msg;
    c->sub_priv = priv;
    if (redisAsyncCommand(c->ac, on_message, c, "PSUBSCRIBE %s", pattern) != REDIS_OK) {
        drop(c, "cannot subscribe");
        return -1;
    }
    c->subscribed = 2; /* asked, not confirmed */
    c->pending++;
    arm(c);
    return 0;
}

int rconn_pending(const rconn *c)
{
    return c->pending;
}

int rconn_active(const rconn *c)
{
    return c->ac != NULL;
}

const char *rconn_auth_error(const rconn *c)
{
    if (!c->auth_failed) return NULL;
    return c->user[0] ? "AUTH failed (user or password rejected)"
                      : "AUTH failed (password rejected)";
}

const char *rconn_error(const rconn *c)
{
    return c->err[0] ? c->err : "connection closed";
}

unsigned rconn_connects(const rconn *c)
{
    return c->connects;
}

int rconn_timed_out(const rconn *c)
{
    return c->timed_out;
}
