/* http.h — the HTTP layer: one civetweb catch-all handler that authenticates,
 * matches the request against the const route table (api.c) and calls the
 * route's handler with an hreq. Handlers never talk to Redis: they read the
 * topology snapshot, the database, or (later) enqueue a job. Every handler has
 * the same signature and returns the status it sent. */
#ifndef HP_HTTP_H
#define HP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "core/roles.h"
#include "web/route.h"

struct mg_connection;
struct mg_request_info;
struct cJSON;
struct db;
struct evq;
struct config;
struct monitor;
struct jobs;
struct notifier;

/* What handlers share; owned by main, lives as long as the server. */
typedef struct app {
    const struct config *cfg;
    struct db *db; /* reads */
    struct evq *q; /* writes, through the one writer */
    struct monitor *mon;
    struct jobs *jobs;
    struct notifier *notifier;
    struct hub *hub; /* the live streams' messages (web/hub.h); NULL: no streams */
    struct ha *ha;   /* leadership on etcd (ha/ha.h); NULL: a single panel, always the leader */
    int64_t started_ms;
    int stopping; /* atomic: set by http_stop before the workers are waited for */
} app;

typedef struct hreq {
    struct mg_connection *conn;
    const struct mg_request_info *ri;
    app *app;
    int role;                          /* the caller's role (ROLE_NONE on open routes) */
    char actor[64];                    /* the token's name, for audit; never the token */
    char peer[48];                     /* the client's address, as the edge saw it */
    const char *via;                   /* "token", "session", "anonymous" or "none" */
    char session[72];                  /* the session id, when via a session */
    char *body_text;                   /* the JSON body, for the audit (http_body_json) */
    char params[HREQ_MAX_PARAMS][256]; /* {name} segments of the path, decoded */
    int nparams;
    /* issue 15: forwarding between instances (web/forward.h) */
    int forwarded;         /* a peer relayed this request, signed (via "forwarded:<peer>") */
    char forwarded_to[64]; /* this instance relayed it to that leader (for the audit) */
    char via_buf[80];
    char *raw_body; /* the body as read once (http_body_raw); freed with the request */
    size_t raw_len;
    int raw_read;
} hreq;

/* Sends a complete response; returns status. */
int http_send(hreq *r, int status, const char *ctype, const char *body, size_t len);
/* A request header's value, or NULL. */
const char *http_header(hreq *r, const char *name);
/* The same with extra header lines (each ending in CRLF). */
int http_send_extra(hreq *r, int status, const char *ctype, const char *extra, const char *body,
                    size_t len);
/* Renders root (not freed) and sends it as application/json. Strings in
 * root that are not valid UTF-8 are repaired in place first. */
int http_json(hreq *r, int status, struct cJSON *root);
/* Streams a file as an attachment named name (in fixed-size pieces, never
 * whole in memory). Sends 404 if it cannot be opened. Returns the status. */
int http_send_file(hreq *r, const char *path, const char *ctype, const char *name);
/* Sends {"error":{"code":code,"message":...}} with status. */
int http_error(hreq *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same with extra header lines (each ending in CRLF), e.g. Retry-After. */
int http_error_extra(hreq *r, int status, const char *extra, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Reads the request body as a JSON object into *out (caller frees with
 * cJSON_Delete); an empty body is an empty object. Returns 0, or sends 400/413
 * and returns that status. */
int http_body_json(hreq *r, struct cJSON **out);
/* The request body as it came (at most 64 KiB, framing checked), read once
 * and kept in r (NUL-terminated; "" when empty). Returns 0, or sends 400/413 and
 * returns that status. */
int http_body_raw(hreq *r, const char **body, size_t *len);
/* Sends status with the extra header lines (each ending in CRLF) and a JSON
 * body; root is not freed. */
int http_json_extra(hreq *r, int status, const char *extra, struct cJSON *root);
/* The Set-Cookie line (CRLF included) of session id with Max-Age max_age;
 * http_clear_cookie's ends the cookie. */
void http_cookie(hreq *r, const char *id, int max_age, char *out, size_t outsz);
void http_clear_cookie(hreq *r, char *out, size_t outsz);
/* For a GET that found nothing here (a job the leader ran): with [ha] on,
 * on a follower that knows the leader, for a request not relayed itself,
 * relays r to the leader and sends its answer (web/forward.h). Returns the
 * status sent, or 0 when it did not apply (the caller sends its own 404). */
int http_forward_if_missing(hreq *r);
/* Stores the audit record of a state-changing request after its answer. */
void http_audit(hreq *r, const char *method, const char *pattern, int status);
/* Copies query parameter name (URL-decoded) into buf. Returns 1 when present,
 * 0 when absent, -1 when too long. */
int http_query(const hreq *r, const char *name, char *buf, size_t bufsz);

typedef struct http_server http_server;
/* Starts civetweb's workers on a loopback port of their own and the edge
 * (edge.h) on listen ("host:port"), with the [http] settings of a->cfg.
 * Returns NULL and writes the reason into err on failure. */
http_server *http_start(app *a, const char *listen, int threads, char *err, size_t errsz);
/* The port actually bound (useful when listen asked for port 0). */
int http_port(const http_server *s);
void http_stop(http_server *s);

/* GETs /api/v1/health from a server listening on listen ("host:port"; a
 * wildcard host means loopback), over TLS when tls is set (the certificate is
 * not checked: this is a liveness probe of the local process), for container
 * health checks. Returns 0 when it answers 200 within timeout_ms, else -1. */
int http_probe(const char *listen, int tls, int timeout_ms);

#endif
