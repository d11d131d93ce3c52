/* forward.h — a write made on a follower, relayed to the leader (issue 15).
 *
 * With [ha] on, only the leader runs jobs. A follower still authenticates
 * and authorises every request as a single panel does (its sessions, its
 * tokens, its CSRF check), then relays a state-changing one to the leader's
 * advertise URL with libcurl, blocking in the worker (at most 15 s), and
 * sends the leader's answer back as it came (status, Content-Type, body),
 * with X-Hapanel-Leader. A redirect would not do: fetch drops Authorization
 * on a cross-origin redirect and sessions live in one instance's memory.
 *
 * The relayed request says who asked in X-Hapanel-Forwarded
 * ("v1 <instance> <actor> <role> <via> <ts_ms>", actor and via
 * percent-encoded) and proves it with X-Hapanel-Forwarded-Sig, the hex
 * HMAC-SHA256 with [ha] peer_secret of
 * "v1\n<method>\n<path?query>\n<instance>\n<actor>\n<role>\n<via>\n<ts>\n<sha256 of the body>".
 * The receiver takes it as that actor and role only with a valid signature
 * no more than 30 s off its clock, and never relays a relayed request again.
 *
 * The leader's URL is its advertise URL: with https, its certificate must
 * be one the followers' system CA store trusts, and a leader that asks for
 * client certificates ([http] tls_client_ca) cannot be relayed to (this
 * client presents none).
 *
 * This module is the protocol and the transfer; http.c decides what is
 * relayed (forward_kind: not login, logout, nor a route whose {id} is a row
 * of the instance's own database), takes relayed requests in
 * (accept_forwarded) and relays a job that is not found locally
 * (http_forward_if_missing). Not here: who leads (ha/leader.c); the routes
 * (api.c). */
#ifndef HP_FORWARD_H
#define HP_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#define FORWARD_HEADER "X-Hapanel-Forwarded"
#define FORWARD_SIG_HEADER "X-Hapanel-Forwarded-Sig"
#define FORWARD_MAX_SKEW_MS 30000
#define FORWARD_TIMEOUT_MS 15000
#define CURL_ERROR_SIZE_FOR_FORWARD 256 /* CURL_ERROR_SIZE, without curl.h here */

/* Who a relayed request says it comes from (the X-Hapanel-Forwarded fields). */
typedef struct forward_claim {
    char instance[64], actor[64], role[16], via[16];
    int64_t ts_ms;
} forward_claim;

/* Pure: the signature (64 hex digits and a NUL into out) of a request.
 * uri is the decoded path with "?query" when there is one. */
void forward_sign(const char *secret, const char *method, const char *uri, const forward_claim *fc,
                  const char *body, size_t len, char out[65]);
/* Pure: the X-Hapanel-Forwarded value of fc into out; parse is its inverse
 * (0, or -1 for a malformed value). */
void forward_header_value(const forward_claim *fc, char *out, size_t outsz);
int forward_header_parse(const char *v, forward_claim *out);

/* Pure: checks a relayed request on arrival: hdr and sig are the two
 * headers (NULL when absent), now_ms this instance's clock. 0 with *out and
 * *role (ROLE_VIEWER..ROLE_ADMIN) set, or -1 with the reason in why (never
 * the secret). */
int forward_verify(const char *secret, const char *method, const char *uri, const char *hdr,
                   const char *sig, const char *body, size_t len, int64_t now_ms,
                   forward_claim *out, int *role, char *why, size_t whysz);

/* 1 when the signature sig of a verified relayed request was taken in the
 * last 60 s (a replay: refuse it), else 0, and it is remembered. Thread-safe. */
int forward_seen(const char *sig, int64_t now_ms);

/* What is relayed: the leader's base URL (its advertise URL), the request
 * as this instance got it, and who asked. */
typedef struct forward_request {
    const char *base_url;
    const char *method;
    const char *path;  /* decoded; encoded again for the URL */
    const char *query; /* as it came (still encoded), or NULL */
    const char *body;
    size_t len;
    const char *ctype, *accept, *request_id, *hx_request; /* client headers, or NULL */
    const char *secret;                                   /* [ha] peer_secret */
    forward_claim claim;                                  /* ts_ms is set by forward_relay */
    const int *stop; /* atomic, nonzero: give up (the server stops) */
} forward_request;

/* The leader's answer. The caller releases it with forward_answer_release. */
typedef struct forward_answer {
    long status;
    char ctype[128], retry_after[32];
    char *body;
    size_t len;
    char err[CURL_ERROR_SIZE_FOR_FORWARD];
} forward_answer;

/* Sends rq to rq->base_url with libcurl, blocking (FORWARD_TIMEOUT_MS at
 * most, never through a proxy, no redirect followed). 0 with the answer in
 * *out; -1 when there is none (the leader cannot be reached, or the answer
 * is too large), why in out->err. */
int forward_relay(forward_request *rq, forward_answer *out);
void forward_answer_release(forward_answer *a);

#endif
