/* http.c — civetweb glue (see http.h): one catch-all request handler that does
 * routing, the body-size limit and authentication in that order, then calls the
 * route's handler. Civetweb runs it on many worker threads; nothing here keeps
 * state between requests. */
#define _POSIX_C_SOURCE 200809L
#include "web/http.h"

#include <civetweb.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "web/auth.h"
#include "db/writer.h"
#include "ha/ha.h"
#include "web/forward.h"
#include "web/session.h"
#include "core/roles.h"
#include "web/edge.h"
#include "web/httpstats.h"
#include "web/edge_parse.h"
#include "core/config.h"
#include "core/jsonscan.h"
#include "core/log.h"
#include "web/route.h"
#include "core/utf8.h"
#include "core/banned.h" /* last: after every system header */

#define HTTP_MAX_BODY EDGE_MAX_BODY

extern const route api_routes[];
extern const size_t api_nroutes;

struct http_server {
    struct mg_context *ctx;
    edge *edge;
    app *a;
    char secret[40]; /* hex: proves a request came through the edge */
    int port;        /* the workers' loopback port */
};

/* Sends status line, headers and body. extra: more header lines, each ending
 * in \r\n, or NULL. A small response goes out in one write: two writes on a
 * keep-alive connection meet Nagle and the peer's delayed ack (40 ms each). */
static int send_full(struct mg_connection *conn, int status, const char *ctype, const char *extra,
                     const char *body, size_t len)
{
    char head[1024];
    int hl = snprintf(head, sizeof(head),
                      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                      "Cache-Control: no-store\r\n" EDGE_SECURITY_HEADERS "%s\r\n",
                      status, http_reason(status), ctype, len, extra ? extra : "");
    char *one;

    if (hl < 0 || (size_t)hl >= sizeof(head)) return 500;
    one = len <= 256 * 1024 ? malloc((size_t)hl + len) : NULL;
    if (one) {
        memcpy(one, head, (size_t)hl);
        if (len) memcpy(one + hl, body, len);
        mg_write(conn, one, (size_t)hl + len);
        free(one);
    } else {
        mg_write(conn, head, (size_t)hl);
        if (len) mg_write(conn, body, len);
    }
    return status;
}

int http_send(hreq *r, int status, const char *ctype, const char *body, size_t len)
{
    return send_full(r->conn, status, ctype, NULL, body, len);
}

const char *http_header(hreq *r, const char *name)
{
    return mg_get_header(r->conn, name);
}

int http_send_extra(hreq *r, int status, const char *ctype, const char *extra, const char *body,
                    size_t len)
{
    return send_full(r->conn, status, ctype, extra, body, len);
}

int http_send_file(hreq *r, const char *path, const char *ctype, const char *name)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char hdr[512], *buf;
    ssize_t n;

    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0) close(fd);
        return http_error(r, 404, "not_found", "the file is gone from disk");
    }
    buf = malloc(65536);
    if (!buf) {
        close(fd);
        return http_error(r, 500, "internal", "out of memory");
    }
    /* name is made by hapanel from an address and a time: no quotes in it */
    snprintf(hdr, sizeof(hdr), "Content-Disposition: attachment; filename=\"%s\"\r\n", name);
    mg_printf(r->conn,
              "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %lld\r\n"
              "Cache-Control: no-store\r\n" EDGE_SECURITY_HEADERS "%s\r\n",
              ctype, (long long)st.st_size, hdr);
    while ((n = read(fd, buf, 65536)) > 0)
        if (mg_write(r->conn, buf, (size_t)n) <= 0) break;
    free(buf);
    close(fd);
    return 200;
}

int http_json_extra(hreq *r, int status, const char *extra, cJSON *root)
{
    char *s;
    /* cJSON prints string bytes as they are; a name from Redis may not be
     * UTF-8, and the whole response would then be invalid JSON. */
    hp_json_fix_utf8(root);
    s = cJSON_PrintUnformatted(root);
    if (!s) return http_error(r, 500, "internal", "out of memory");
    send_full(r->conn, status, "application/json", extra, s, strlen(s));
    cJSON_free(s);
    return status;
}

int http_json(hreq *r, int status, cJSON *root)
{
    return http_json_extra(r, status, NULL, root);
}

/* Is a field of this name a secret, to be kept out of the audit trail? */
static int secret_name(const char *n)
{
    static const char *const words[] = {"password", "passwd", "secret", "token", "auth", "key"};
    char low[64];
    size_t i;
    for (i = 0; n[i] && i < sizeof(low) - 1; i++)
        low[i] = (char)(n[i] >= 'A' && n[i] <= 'Z' ? n[i] + 32 : n[i]);
    low[i] = '\0';
    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strstr(low, words[i])) return 1;
    return 0;
}

static void redact(cJSON *o)
{
    cJSON *it, *next;
    for (it = o->child; it; it = next) {
        next = it->next; /* it may be replaced (and freed) below */
        if (it->string && secret_name(it->string) && !cJSON_IsObject(it) && !cJSON_IsArray(it))
            cJSON_ReplaceItemInObjectCaseSensitive(o, it->string, cJSON_CreateString("(removed)"));
        else if (cJSON_IsObject(it) || cJSON_IsArray(it))
            redact(it);
    }
}

/* Keeps the body, its secrets replaced, for the request's audit record. */
static void keep_for_audit(hreq *r, const cJSON *body)
{
    cJSON *copy = cJSON_Duplicate(body, 1);
    if (!copy) return;
    redact(copy);
    free(r->body_text);
    r->body_text = cJSON_PrintUnformatted(copy);
    cJSON_Delete(copy);
}

/* The error body, with extra headers; message is data, never markup. */
static int send_error(struct mg_connection *conn, int status, const char *extra, const char *code,
                      const char *msg)
{
    cJSON *root = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(root, "error");
    char *s;
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", msg);
    hp_json_fix_utf8(root); /* a message may quote a name, or be cut by "%.80s" */
    s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!s) return send_full(conn, 500, "text/plain", NULL, "out of memory", 13);
    send_full(conn, status, "application/json", extra, s, strlen(s));
    cJSON_free(s);
    return status;
}

static int verror(hreq *r, int status, const char *extra, const char *code, const char *fmt,
                  va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    return send_error(r->conn, status, extra, code, msg);
}

int http_error(hreq *r, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    int st;
    va_start(ap, fmt);
    st = verror(r, status, NULL, code, fmt, ap);
    va_end(ap);
    return st;
}

int http_error_extra(hreq *r, int status, const char *extra, const char *code, const char *fmt, ...)
{
    va_list ap;
    int st;
    va_start(ap, fmt);
    st = verror(r, status, extra, code, fmt, ap);
    va_end(ap);
    return st;
}

int http_query(const hreq *r, const char *name, char *buf, size_t bufsz)
{
    const char *qs = r->ri->query_string;
    int n;
    if (!qs) return 0;
    n = mg_get_var(qs, strlen(qs), name, buf, bufsz);
    if (n == -1) return 0;
    if (n < 0) return -1;
    return 1;
}

/* The length of the header value v without trailing spaces and tabs
 * (civetweb strips the leading ones only). */
static size_t value_len(const char *v)
{
    size_t l = strlen(v);
    while (l && (v[l - 1] == ' ' || v[l - 1] == '\t'))
        l--;
    return l;
}

/* Why the body's framing is ambiguous, or NULL when it is not. civetweb
 * 1.15 takes the first of several Content-Lengths, prefers chunked when both
 * Content-Length and Transfer-Encoding come, lets "Transfer-Encoding:
 * identity" through and reads "16abc" as 16. Such a request may be framed
 * one way here and another way by a proxy in front of hapanel, so it is
 * refused rather than guessed. */
static const char *framing_problem(const struct mg_request_info *ri, int *chunked)
{
    const char *cl = NULL, *te = NULL;
    int i, ncl = 0, nte = 0;
    size_t l;

    for (i = 0; i < ri->num_headers; i++) {
        if (!strcasecmp(ri->http_headers[i].name, "Content-Length")) {
            cl = ri->http_headers[i].value;
            ncl++;
        } else if (!strcasecmp(ri->http_headers[i].name, "Transfer-Encoding")) {
            te = ri->http_headers[i].value;
            nte++;
        }
    }
    *chunked = te != NULL;
    if (ncl > 1) return "the request has more than one Content-Length header";
    if (nte > 1) return "the request has more than one Transfer-Encoding header";
    if (cl && te) return "the request has both Content-Length and Transfer-Encoding";
    if (te && (value_len(te) != 7 || strncasecmp(te, "chunked", 7)))
        return "the only Transfer-Encoding accepted is chunked";
    if (cl && ((l = value_len(cl)) == 0 || strspn(cl, "0123456789") != l))
        return "the Content-Length is not a number";
    return NULL;
}

/* A body that is not what its framing said: answered 400 on a connection
 * that then closes, because where the next request would start is unknown. */
static int framing_error(hreq *r, const char *why)
{
    mg_disable_connection_keep_alive(r->conn);
    return send_error(r->conn, 400, "Connection: close\r\n", "bad_request", why);
}

int http_body_raw(hreq *r, const char **body, size_t *len)
{
    char *buf = NULL;
    const char *problem;
    size_t got = 0;
    int n = 0, st = 0, chunked;

    if (r->raw_read) {
        *body = r->raw_body;
        *len = r->raw_len;
        return 0;
    }
    *body = NULL;
    *len = 0;
    /* Checked before a byte is read: nothing of a badly framed body is used. */
    if ((problem = framing_problem(r->ri, &chunked))) return framing_error(r, problem);
    buf = malloc(HTTP_MAX_BODY + 1);
    if (!buf) return http_error(r, 500, "internal", "out of memory");
    while (got < HTTP_MAX_BODY && (n = mg_read(r->conn, buf + got, HTTP_MAX_BODY - got)) > 0) {
        got += (size_t)n;
        /* With a Content-Length, mg_read waits until it has every byte, and
         * returns fewer only when the client went away or sent nothing more
         * for request_timeout_ms: a second call would wait that long again. */
        if (!chunked) break;
    }
    if (got > HTTP_MAX_BODY) got = HTTP_MAX_BODY; /* mg_read never returns more than asked */
    if (got == HTTP_MAX_BODY && (n = mg_read(r->conn, buf, 1)) > 0) {
        st = http_error(r, 413, "payload_too_large", "request body larger than 64 KiB");
        goto out;
    }
    /* mg_read says -1 for a bad chunk and for a peer that closed before the
     * end; it says 0 at the end of a chunked body, and also when the peer
     * stopped sending for request_timeout_ms or closed short of the
     * Content-Length: then only the count tells a cut-off body. What came
     * so far must not be taken for the request (a failover or a backup
     * would start from half of it). */
    if (n < 0) {
        st = framing_error(r, chunked ? "the chunked request body is malformed or cut short"
                                      : "the request body is cut short");
        goto out;
    }
    if (!chunked && r->ri->content_length >= 0 && (long long)got != r->ri->content_length) {
        st = framing_error(r, "the request body is shorter than its Content-Length");
        goto out;
    }
    buf[got] = '\0';
    r->raw_body = buf;
    r->raw_len = got;
    r->raw_read = 1;
    buf = NULL;
    *body = r->raw_body;
    *len = r->raw_len;
out:
    free(buf);
    return st;
}

int http_body_json(hreq *r, cJSON **out)
{
    const char *buf;
    char why[200];
    size_t len;
    int st;

    *out = NULL;
    if ((st = http_body_raw(r, &buf, &len))) return st;
    while (len && (buf[len - 1] == ' ' || buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    /* Before cJSON: it recurses per level on this worker's small stack, and
     * it keeps string bytes as they come (see jsonscan.h). */
    if (jsonscan_check(buf, len, JSONSCAN_MAX_DEPTH, why, sizeof(why)) < 0)
        return http_error(r, 400, "bad_request", "%s", why);
    /* require_null_terminated: "{}junk" is refused, not half-read */
    /* (the bytes after len are the spaces and newlines cut above: buf ends there) */
    *out = len ? cJSON_ParseWithOpts(buf, NULL, 1) : cJSON_CreateObject();
    if (!*out || !cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        return http_error(r, 400, "bad_request", "the body must be a JSON object");
    }
    keep_for_audit(r, *out);
    return 0;
}

/* The client's address from the edge's header "SECRET ADDRESS", or -1 when
 * the header is missing or its secret wrong: a request made straight to the
 * workers' loopback port, which would skip the edge's limits and carry no
 * trustworthy address. */
static int edge_peer(const http_server *s, const char *v, char *peer, size_t peersz)
{
    size_t sl = strlen(s->secret);
    if (!v || strlen(v) <= sl || v[sl] != ' ' || !auth_equal(v, sl, s->secret, sl)) return -1;
    hp_strlcpy(peer, v + sl + 1, peersz);
    return 0;
}

void http_cookie(hreq *r, const char *id, int max_age, char *out, size_t outsz)
{
    snprintf(out, outsz,
             "Set-Cookie: hp_session=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s\r\n", id,
             max_age, r->app->cfg->tls_cert[0] ? "; Secure" : "");
}

void http_clear_cookie(hreq *r, char *out, size_t outsz)
{
    http_cookie(r, "", 0, out, outsz);
}

/* The record every state-changing request leaves. */
void http_audit(hreq *r, const char *method, const char *pattern, int status)
{
    audit_rec a;
    size_t off = 0;
    memset(&a, 0, sizeof(a));
    a.ts = hp_now_ms();
    hp_strlcpy(a.actor, r->actor, sizeof(a.actor));
    hp_strlcpy(a.role, access_role_name(r->role), sizeof(a.role));
    hp_strlcpy(a.via, r->via ? r->via : "none", sizeof(a.via));
    hp_strlcpy(a.source, r->peer, sizeof(a.source));
    snprintf(a.action, sizeof(a.action), "%s %s", method, pattern);
    for (int i = 0; i < r->nparams && off < sizeof(a.target); i++)
        off += (size_t)snprintf(a.target + off, sizeof(a.target) - off, "%s%s", i ? "/" : "",
                                r->params[i]);
    a.params = r->body_text;
    a.status = status;
    hp_strlcpy(a.outcome,
               status < 400                                      ? "ok"
               : status == 401 || status == 403 || status == 429 ? "refused"
                                                                 : "failed",
               sizeof(a.outcome));
    if (evq_audit(r->app->q, &a, r->app->cfg->audit_keep_days) < 0)
        log_warn("audit: cannot store the record of %s %s", method, pattern);
}

static int is_safe(const char *method)
{
    return !strcmp(method, "GET") || !strcmp(method, "HEAD");
}

/* ------------------------------------------------- forwarding (issue 15) */

/* The decoded path and query of r, as forward_sign signs them. */
static void signed_uri(const hreq *r, char *out, size_t outsz)
{
    const char *q = r->ri->query_string;
    snprintf(out, outsz, "%s%s%s", r->ri->local_uri, q && *q ? "?" : "", q && *q ? q : "");
}

/* A request a peer relayed: taken as its actor and role when the signature
 * holds (forward_verify), else 401. 0 or the status sent. */
static int accept_forwarded(hreq *r)
{
    const config *c = r->app->cfg;
    const char *body = NULL;
    char uri[4096], why[160];
    forward_claim fc;
    size_t len = 0;
    int st, role;

    if (!r->app->ha)
        return send_error(r->conn, 401, "WWW-Authenticate: Bearer\r\n", "unauthorized",
                          "this instance takes no forwarded requests: [ha] is off here");
    if ((st = http_body_raw(r, &body, &len))) return st;
    signed_uri(r, uri, sizeof(uri));
    if (forward_verify(c->ha_peer_secret, r->ri->request_method, uri,
                       mg_get_header(r->conn, FORWARD_HEADER),
                       mg_get_header(r->conn, FORWARD_SIG_HEADER), body, len, hp_now_ms(), &fc,
                       &role, why, sizeof(why)) < 0) {
        log_warn("forward: refused a request from %s claiming to be relayed by a peer: %s (is "
                 "[ha] peer_secret alike on every instance, and their clocks close?)",
                 r->peer, why);
        return send_error(r->conn, 401, "WWW-Authenticate: Bearer\r\n", "unauthorized", why);
    }
    /* verified: the header is a well-formed signature */
    if (!is_safe(r->ri->request_method) &&
        forward_seen(mg_get_header(r->conn, FORWARD_SIG_HEADER), hp_now_ms())) {
        log_warn("forward: refused a replayed relayed request from %s", r->peer);
        return send_error(r->conn, 401, "WWW-Authenticate: Bearer\r\n", "unauthorized",
                          "this relayed request was taken already (a replay)");
    }
    r->role = role;
    r->forwarded = 1;
    hp_strlcpy(r->actor, fc.actor, sizeof(r->actor));
    snprintf(r->via_buf, sizeof(r->via_buf), "forwarded:%s", fc.instance);
    r->via = r->via_buf;
    return 0;
}

/* Routes whose {id} is a row of this instance's own database: backups stay
 * with the instance that took them, and every instance raises its own
 * alerts, so the same id names another row (or none) on the leader. They
 * are never relayed. Deleting a backup and acknowledging an alert need no
 * job and are done here (LOCAL); uploading or restore-checking a backup is
 * a job, which only the leader runs (JOB: 409 on a follower). */
enum { FWD_RELAY, FWD_LOCAL, FWD_JOB };
static const struct {
    const char *method, *pattern;
    int what;
} per_instance[] = {
    {"POST", "/api/v1/login", FWD_LOCAL}, /* sessions are this instance's */
    {"POST", "/api/v1/logout", FWD_LOCAL},
    {"DELETE", "/api/v1/backups/{id}", FWD_LOCAL},
    {"POST", "/api/v1/alerts/{id}/ack", FWD_LOCAL},
    {"POST", "/api/v1/backups/{id}/upload", FWD_JOB},
    {"POST", "/api/v1/backups/{id}/verify-restore", FWD_JOB},
};

/* What a follower does with r: FWD_RELAY (the leader acts), FWD_LOCAL (as
 * a single panel), FWD_JOB (refused). A leader, a single panel, a read and
 * a request relayed here: FWD_LOCAL. */
static int forward_kind(const hreq *r, const route *rt)
{
    size_t i;
    if (!r->app->ha || r->forwarded || ha_is_leader(r->app->ha)) return FWD_LOCAL;
    if (is_safe(r->ri->request_method)) return FWD_LOCAL;
    for (i = 0; i < sizeof(per_instance) / sizeof(per_instance[0]); i++)
        if (!strcmp(rt->method, per_instance[i].method) &&
            !strcmp(rt->pattern, per_instance[i].pattern))
            return per_instance[i].what;
    return FWD_RELAY;
}

static int no_leader(hreq *r, const char *msg)
{
    return http_error_extra(r, 503, "Retry-After: 2\r\n", "no_leader",
                            "%s; reads work here, actions wait for a leader", msg);
}

static int relaying; /* atomic: workers in forward_relay */

/* Relays r to the leader hs names and sends its answer back. */
static int relay(hreq *r, const ha_status *hs)
{
    forward_request rq;
    forward_answer a;
    const char *body = NULL;
    char extra[512], msg[400];
    size_t len = 0;
    int st;

    if ((st = http_body_raw(r, &body, &len))) return st;
    /* a leader that accepts connections but does not answer (stopped,
     * overloaded) holds each relaying worker FORWARD_TIMEOUT_MS: at most half
     * of them relay at once, so that reads are still served here */
    if (__atomic_add_fetch(&relaying, 1, __ATOMIC_ACQ_REL) > (r->app->cfg->http_threads + 1) / 2) {
        __atomic_sub_fetch(&relaying, 1, __ATOMIC_ACQ_REL);
        snprintf(msg, sizeof(msg), "too many requests are being relayed to the leader %s already",
                 hs->leader_id);
        return no_leader(r, msg);
    }
    memset(&rq, 0, sizeof(rq));
    rq.base_url = hs->leader_url;
    rq.method = r->ri->request_method;
    rq.path = r->ri->local_uri;
    rq.query = r->ri->query_string;
    rq.body = body;
    rq.len = len;
    rq.ctype = mg_get_header(r->conn, "Content-Type");
    rq.accept = mg_get_header(r->conn, "Accept");
    rq.request_id = mg_get_header(r->conn, "X-Request-Id");
    rq.hx_request = mg_get_header(r->conn, "HX-Request");
    rq.secret = r->app->cfg->ha_peer_secret;
    rq.stop = &r->app->stopping;
    hp_strlcpy(rq.claim.instance, hs->self_id, sizeof(rq.claim.instance));
    hp_strlcpy(rq.claim.actor, r->actor, sizeof(rq.claim.actor));
    hp_strlcpy(rq.claim.role, access_role_name(r->role), sizeof(rq.claim.role));
    hp_strlcpy(rq.claim.via, r->via ? r->via : "none", sizeof(rq.claim.via));
    st = forward_relay(&rq, &a);
    __atomic_sub_fetch(&relaying, 1, __ATOMIC_ACQ_REL);
    if (st < 0) {
        /* the URL is an advertise URL: no secret in it */
        log_warn("forward: %s %s to the leader %s (%s) failed: %s", rq.method, rq.path,
                 hs->leader_id, hs->leader_url, a.err);
        snprintf(msg, sizeof(msg), "the leader %s (%.150s) cannot be reached: %.120s",
                 hs->leader_id, hs->leader_url, a.err);
        forward_answer_release(&a);
        return no_leader(r, msg);
    }
    hp_strlcpy(r->forwarded_to, hs->leader_id, sizeof(r->forwarded_to));
    snprintf(extra, sizeof(extra), "X-Hapanel-Leader: %s\r\nX-Hapanel-Forwarded-By: %s\r\n%s%s%s",
             hs->leader_id, hs->self_id, a.retry_after[0] ? "Retry-After: " : "", a.retry_after,
             a.retry_after[0] ? "\r\n" : "");
    st = send_full(r->conn, (int)a.status, a.ctype[0] ? a.ctype : "application/octet-stream", extra,
                   a.body ? a.body : "", a.len);
    forward_answer_release(&a);
    return st;
}

/* A follower: the leader acts on r (see forward_wanted). */
static int forward_to_leader(hreq *r)
{
    ha_status hs;
    char msg[160];
    ha_status_get(r->app->ha, &hs);
    if (!hs.leader_id[0] || !hs.leader_url[0] || !strcmp(hs.leader_id, hs.self_id)) {
        snprintf(msg, sizeof(msg), "no hapanel instance leads (etcd: %s)",
                 hs.etcd_ok ? "ok" : "unreachable");
        return no_leader(r, msg);
    }
    return relay(r, &hs);
}

int http_forward_if_missing(hreq *r)
{
    ha_status hs;
    if (!r->app || !r->app->ha || r->forwarded || ha_is_leader(r->app->ha)) return 0;
    ha_status_get(r->app->ha, &hs);
    if (!hs.leader_id[0] || !hs.leader_url[0] || !strcmp(hs.leader_id, hs.self_id)) return 0;
    return relay(r, &hs);
}

/* Who is asking, in this order: a bearer token (automation), the session
 * cookie of a dashboard login (with its CSRF token on anything but a read),
 * anonymous reading when allowed. Sets r->role, r->actor, r->via; returns 0,
 * or sends the 401/403 and returns it. */
static int authenticate(http_server *s, hreq *r, const route *rt)
{
    const config *c = s->a->cfg;
    const char *authz = mg_get_header(r->conn, "Authorization");
    const char *cookie = mg_get_header(r->conn, "Cookie"), *csrf;
    char sid[128], extra[256];
    session_info si;

    r->via = "none";
    if (rt->role == ROLE_NONE || (c->metrics_open && !strcmp(rt->pattern, "/metrics"))) return 0;
    if (mg_get_header(r->conn, FORWARD_HEADER) || mg_get_header(r->conn, FORWARD_SIG_HEADER)) {
        /* a peer relays its caller's request (forward.h): signed, or refused */
        int st = accept_forwarded(r);
        if (st) return st;
    } else if (authz) {
        r->role = auth_role(c, authz, r->actor, sizeof(r->actor));
        if (r->role == ROLE_NONE)
            return send_error(r->conn, 401, "WWW-Authenticate: Bearer\r\n", "unauthorized",
                              "unknown bearer token");
        r->via = "token";
    } else if (cookie && cookie_value(cookie, "hp_session", sid, sizeof(sid))) {
        if (session_get(sid, hp_now_ms(), c->session_idle_s, c->session_max_s, &si) < 0) {
            snprintf(extra, sizeof(extra), "WWW-Authenticate: Bearer\r\n");
            http_clear_cookie(r, extra + strlen(extra), sizeof(extra) - strlen(extra));
            return send_error(r->conn, 401, extra, "session_expired",
                              "the session expired or was ended: log in again");
        }
        r->role = si.role;
        r->via = "session";
        hp_strlcpy(r->actor, si.user, sizeof(r->actor));
        hp_strlcpy(r->session, si.id, sizeof(r->session));
        csrf = mg_get_header(r->conn, "X-CSRF-Token");
        if (!is_safe(r->ri->request_method) &&
            (!csrf || !auth_equal(csrf, strlen(csrf), si.csrf, SESSION_ID_LEN)))
            return send_error(r->conn, 403, NULL, "csrf",
                              "missing or wrong X-CSRF-Token for this session");
    } else if (c->anonymous_read && rt->role == ROLE_VIEWER && is_safe(r->ri->request_method)) {
        r->role = ROLE_VIEWER;
        r->via = "anonymous";
        hp_strlcpy(r->actor, "anonymous", sizeof(r->actor));
    } else {
        return send_error(r->conn, 401, "WWW-Authenticate: Bearer\r\n", "unauthorized",
                          "log in, or send Authorization: Bearer <token>");
    }
    if (r->role < rt->role) {
        char msg[96];
        snprintf(msg, sizeof(msg), "this needs the %s role; yours is %s",
                 access_role_name(rt->role), access_role_name(r->role));
        return send_error(r->conn, 403, NULL, "forbidden", msg);
    }
    return 0;
}

/* The audit's parameters of a request this follower relayed: its body (no
 * secrets) and "forwarded_to": the leader that acted on it. */
static void note_forwarded(hreq *r)
{
    char why[200];
    cJSON *o = NULL;
    if (r->raw_len &&
        jsonscan_check(r->raw_body, r->raw_len, JSONSCAN_MAX_DEPTH, why, sizeof(why)) == 0)
        o = cJSON_ParseWithOpts(r->raw_body, NULL, 1);
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        o = cJSON_CreateObject();
    }
    if (!o) return;
    cJSON_AddStringToObject(o, "forwarded_to", r->forwarded_to);
    keep_for_audit(r, o);
    cJSON_Delete(o);
}

static int route_request(struct mg_connection *conn, void *cbdata)
{
    http_server *s = cbdata;
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const route *rt = NULL;
    hreq r;
    char allow[64], extra[96];
    int m, st, fk;

    memset(&r, 0, sizeof(r));
    r.conn = conn;
    r.ri = ri;
    r.app = s->a;
    r.via = "none";
    if (edge_peer(s, mg_get_header(conn, EDGE_HEADER), r.peer, sizeof(r.peer)) < 0)
        return send_error(conn, 403, NULL, "forbidden",
                          "requests must come through hapanel's listen address");
    m = route_match(api_routes, api_nroutes, ri->request_method, ri->local_uri, &rt, r.params,
                    &r.nparams, allow, sizeof(allow));
    if (m == ROUTE_NOT_FOUND) return send_error(conn, 404, NULL, "not_found", "no such path");
    if (m == ROUTE_BAD_METHOD) {
        snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
        return send_error(conn, 405, extra, "method_not_allowed", "method not allowed here");
    }
    if (ri->content_length > HTTP_MAX_BODY)
        return send_error(conn, 413, "Connection: close\r\n", "payload_too_large",
                          "request body larger than 64 KiB");
    if (!(st = authenticate(s, &r, rt))) {
        if (r.forwarded && !is_safe(ri->request_method) && !ha_is_leader(s->a->ha))
            /* relayed to an instance that lost the lead since: never relayed again */
            st = send_error(conn, 503, "Retry-After: 2\r\n", "no_leader",
                            "this instance does not lead any more; reads work, actions wait "
                            "for a leader");
        else if ((fk = forward_kind(&r, rt)) == FWD_RELAY)
            st = forward_to_leader(&r); /* a follower: the leader acts */
        else if (fk == FWD_JOB)
            st = send_error(conn, 409, NULL, "conflict",
                            "backup ids are per instance and this one is not the leader: only "
                            "the leader runs jobs, on the backups in its own catalogue");
        else
            st = rt->fn(&r);
    }
    /* every action, login and logout leaves a record, refused ones too */
    if (!is_safe(ri->request_method)) {
        if (r.forwarded_to[0]) note_forwarded(&r);
        http_audit(&r, rt->method, rt->pattern, st);
    }
    free(r.body_text);
    free(r.raw_body);
    return st;
}

/* civetweb's handler: every answer is counted by its class (/metrics). */
static int dispatch(struct mg_connection *conn, void *cbdata)
{
    int st = route_request(conn, cbdata);
    httpstats_count(st);
    return st;
}

/* Errors civetweb answers itself, before any handler (a request line it
 * cannot parse, a Transfer-Encoding it does not know, headers too large), in
 * the same JSON shape as hapanel's own. Returns 0: handled. */
static int on_http_error(struct mg_connection *conn, int status, const char *msg)
{
    const char *code = status == 404   ? "not_found"
                       : status == 413 ? "payload_too_large"
                       : status < 500  ? "bad_request"
                                       : "internal";
    mg_disable_connection_keep_alive(conn); /* what the header says; civetweb's page did too */
    send_error(conn, status, "Connection: close\r\n", code,
               msg && *msg ? msg : http_reason(status));
    return 0;
}

http_server *http_start(app *a, const char *listen, int threads, char *err, size_t errsz)
{
    const config *c = a->cfg;
    char nthreads[16];
    /* the workers' own port, for the edge only: complete requests from
     * loopback, on connections the edge keeps (edge.c, POOL_IDLE_MS) */
    const char *opts[] = {"listening_ports",
                          "127.0.0.1:0",
                          "num_threads",
                          nthreads,
                          "request_timeout_ms",
                          "10000",
                          "enable_keep_alive",
                          "yes",
                          "keep_alive_timeout_ms",
                          "40000",
                          "tcp_nodelay",
                          "1",
                          NULL};
    struct mg_callbacks cb;
    struct mg_server_port ports[4];
    unsigned char rnd[16];
    edge_opts eo;
    http_server *s = calloc(1, sizeof(*s));

    if (!s) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        snprintf(err, errsz, "no random bytes for the edge secret");
        free(s);
        return NULL;
    }
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(s->secret + 2 * i, 3, "%02x", rnd[i]);
    snprintf(nthreads, sizeof(nthreads), "%d", threads);
    memset(&cb, 0, sizeof(cb));
    cb.http_error = on_http_error;
    s->a = a;
    s->ctx = mg_start(&cb, s, opts);
    if (!s->ctx || mg_get_server_ports(s->ctx, 4, ports) < 1) {
        snprintf(err, errsz, "cannot start the HTTP workers on a loopback port");
        http_stop(s);
        return NULL;
    }
    mg_set_request_handler(s->ctx, "/", dispatch, s);
    memset(&eo, 0, sizeof(eo));
    eo.listen = listen;
    eo.upstream_port = s->port = ports[0].port;
    eo.secret = s->secret;
    eo.header_timeout_ms = c->http_header_timeout_ms;
    eo.body_timeout_ms = c->http_body_timeout_ms;
    eo.keepalive_ms = c->http_keepalive_ms;
    eo.max_conns = c->http_max_conns;
    eo.max_conns_per_addr = c->http_max_conns_per_addr;
    eo.upstream_pool = threads > 2 ? threads - 2 : 1; /* two workers stay for new connections */
    eo.tls_cert = c->tls_cert;
    eo.tls_key = c->tls_key;
    eo.tls_client_ca = c->tls_client_ca;
    eo.hub = a->hub;
    eo.max_streams = c->http_max_streams;
    s->edge = edge_start(&eo, err, errsz);
    if (!s->edge) {
        http_stop(s);
        return NULL;
    }
    return s;
}

int http_port(const http_server *s)
{
    return edge_port(s->edge);
}

/* mg_stop waits for civetweb's master thread, which polls its listening
 * socket in 2 s quanta and sees the stop flag only when a poll ends (0-2 s,
 * ~1 s on average). A connection ends the poll at once: this thread makes
 * one every 10 ms until mg_stop has returned, so a SIGTERM'd HA leader
 * revokes its lease (ha_free, after everything stopped) well within 1 s. */
static void *stop_poke(void *arg)
{
    http_server *s = arg;
    for (int i = 0; i < 500 && __atomic_load_n(&s->port, __ATOMIC_ACQUIRE) > 0; i++) {
        struct sockaddr_in sa;
        struct timespec ts = {0, 10 * 1000000L};
        int fd;
        nanosleep(&ts, NULL);
        if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) continue;
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_port = htons((uint16_t)s->port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        (void)connect(fd, (struct sockaddr *)&sa, sizeof(sa));
        close(fd);
    }
    return NULL;
}

void http_stop(http_server *s)
{
    pthread_t poker;
    int poking = 0;
    if (!s) return;
    edge_stop(s->edge); /* first: no request reaches the workers after */
    /* a handler waiting on something slow (a remote download) gives up */
    if (s->a) __atomic_store_n(&s->a->stopping, 1, __ATOMIC_RELAXED);
    if (s->ctx && s->port > 0) poking = pthread_create(&poker, NULL, stop_poke, s) == 0;
    if (s->ctx) mg_stop(s->ctx);
    if (poking) {
        __atomic_store_n(&s->port, 0, __ATOMIC_RELEASE);
        pthread_join(poker, NULL);
    }
    memset(s->secret, 0, sizeof(s->secret));
    free(s);
}

int http_probe(const char *listen, int tls, int timeout_ms)
{
    char host[128], port[16], buf[64];
    const char *colon = strrchr(listen, ':');
    struct addrinfo hints, *ai = NULL;
    struct pollfd pfd;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    SSL_CTX *ctx = NULL;
    SSL *ssl = NULL;
    size_t hl;
    int fd = -1, rc = -1, n;
    static const char req[] = "GET /api/v1/health HTTP/1.0\r\n\r\n";

    if (!colon) return -1;
    hl = (size_t)(colon - listen);
    if (listen[0] == '[' && hl >= 2) { /* [v6]:port */
        listen++;
        hl -= 2;
    }
    snprintf(host, sizeof(host), "%.*s", (int)hl, listen);
    if (!strcmp(host, "0.0.0.0") || !host[0]) snprintf(host, sizeof(host), "127.0.0.1");
    if (!strcmp(host, "::")) snprintf(host, sizeof(host), "::1");
    snprintf(port, sizeof(port), "%s", colon + 1);
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &ai) != 0) return -1;
    fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) goto out;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (tls) {
        if (!(ctx = SSL_CTX_new(TLS_client_method())) || !(ssl = SSL_new(ctx)) ||
            SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1 ||
            SSL_write(ssl, req, (int)sizeof(req) - 1) != (int)sizeof(req) - 1)
            goto out;
        n = SSL_read(ssl, buf, (int)sizeof(buf) - 1);
    } else {
        if (write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) goto out;
        pfd.fd = fd;
        pfd.events = POLLIN;
        if (poll(&pfd, 1, timeout_ms) != 1) goto out;
        n = (int)read(fd, buf, sizeof(buf) - 1);
    }
    if (n < 12) goto out;
    buf[n] = '\0';
    rc = strncmp(buf + 8, " 200", 4) == 0 ? 0 : -1;
out:
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    if (fd >= 0) close(fd);
    freeaddrinfo(ai);
    return rc;
}
