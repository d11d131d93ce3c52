/* rconn.h — one asynchronous Redis/Sentinel connection on the monitor's
 * libevent loop, with what hiredis 0.14 lacks: a deadline. Commands are sent on
 * a connection made on demand (AUTH first when there is a password); if the
 * connect or any outstanding reply takes longer than the timeout, the
 * connection is dropped and every outstanding callback runs with NULL, so a
 * dead, hung (SIGSTOP) or black-holed peer costs one timer, never a stall.
 * Only the loop's thread may touch an rconn. */
#ifndef HP_RCONN_H
#define HP_RCONN_H

struct event_base;
struct redisReply;

typedef struct rconn rconn;

/* Runs exactly once per command: with the reply (which may be an error
 * reply), or with NULL when the connection failed, timed out or is being
 * freed; rconn_error() then says why. The reply is freed after the call. */
typedef void rconn_cb(rconn *c, struct redisReply *reply, void *priv);

/* password may be NULL or "" (no AUTH). Caller frees with rconn_free. */
rconn *rconn_new(struct event_base *base, const char *host, int port, const char *user,
                 const char *password, int timeout_ms);
/* Drops the connection (outstanding callbacks run with NULL) and frees c.
 * Must not be called from inside one of c's own callbacks. NULL is a no-op. */
void rconn_free(rconn *c);

/* Queues a command (format as redisCommand). Returns 0, or -1 when the command
 * could not be queued, in which case cb has already run with NULL. */
int rconn_cmd(rconn *c, rconn_cb *cb, void *priv, const char *fmt, ...);
/* Subscribes to pattern; on_msg runs for the confirmation (the "psubscribe"
 * array), for every message (the "pmessage" arrays) and once with NULL when
 * the connection is lost. The deadline
 * applies until the subscription is confirmed only. Returns 0 or -1. */
int rconn_psubscribe(rconn *c, rconn_cb *on_msg, void *priv, const char *pattern);

/* Commands sent whose replies have not arrived. */
int rconn_pending(const rconn *c);
/* 1 while a connection exists or is being made. */
int rconn_active(const rconn *c);
const char *rconn_error(const rconn *c);
struct evdns_base;
/* Host names are looked up with dns (libevent's evdns, on the loop) rather
 * than by hiredis, whose async connect calls getaddrinfo inline and would
 * stop the loop as long as the DNS server takes. Set once, before the first
 * connection; without it names are passed to hiredis. */
void rconn_set_resolver(struct evdns_base *dns);
/* "AUTH failed (...)" while this connection's AUTH stands refused (what the
 * commands after it then say, NOAUTH, hides the cause), else NULL. */
const char *rconn_auth_error(const rconn *c);
/* 1 when the last failure was the deadline (a hung peer), not a refused or
 * dropped connection. */
int rconn_timed_out(const rconn *c);

/* How many connections c has opened: a change tells it was reconnected. */
unsigned rconn_connects(const rconn *c);

#endif
