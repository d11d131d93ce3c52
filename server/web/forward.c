/* forward.c — relaying a follower's writes to the leader, and accepting
 * them there (see forward.h). */
#define _POSIX_C_SOURCE 200809L
#include "web/forward.h"

#include <curl/curl.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/common.h"
#include "core/roles.h"
#include "core/sbuf.h"
#include "notify/notify.h"
#include "web/auth.h"
#include "core/banned.h" /* last: after every system header */

#define MAX_ANSWER (8 * 1024 * 1024) /* a job's page is a few KiB; more is not a hapanel */

_Static_assert(CURL_ERROR_SIZE_FOR_FORWARD >= CURL_ERROR_SIZE, "forward_answer.err is curl's");

/* ------------------------------------------------------------ the header */

/* Percent-encodes every byte but [A-Za-z0-9._:@-]: the fields are
 * space-separated, and a user name may hold anything. */
static void pct_encode(const char *s, char *out, size_t outsz)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s && o + 4 <= outsz; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            strchr("._:@-", ch)) {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    if (outsz) out[o < outsz ? o : outsz - 1] = '\0';
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                  : -1;
}

/* The inverse of pct_encode for n bytes of s; -1 on a bad escape, a NUL,
 * or no room. */
static int pct_decode(const char *s, size_t n, char *out, size_t outsz)
{
    size_t o = 0, i;
    for (i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int h, l;
            if (i + 2 >= n) return -1;
            h = hexval(s[i + 1]);
            l = hexval(s[i + 2]);
            if (h < 0 || l < 0 || (h == 0 && l == 0)) return -1;
            c = h * 16 + l;
            i += 2;
        }
        if (o + 1 >= outsz) return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

void forward_header_value(const forward_claim *fc, char *out, size_t outsz)
{
    char actor[200], via[64];
    pct_encode(fc->actor, actor, sizeof(actor));
    pct_encode(fc->via, via, sizeof(via));
    snprintf(out, outsz, "v1 %s %s %s %s %lld", fc->instance, actor, fc->role, via,
             (long long)fc->ts_ms);
}

int forward_header_parse(const char *v, forward_claim *out)
{
    const char *f[6];
    size_t fl[6];
    int n = 0;
    char ts[24], *end;

    memset(out, 0, sizeof(*out));
    while (*v && n < 6) {
        while (*v == ' ')
            v++;
        if (!*v) break;
        f[n] = v;
        while (*v && *v != ' ')
            v++;
        fl[n] = (size_t)(v - f[n]);
        n++;
    }
    while (*v == ' ')
        v++;
    if (n != 6 || *v || fl[0] != 2 || strncmp(f[0], "v1", 2)) return -1;
    if (fl[1] == 0 || fl[1] >= sizeof(out->instance) || fl[3] >= sizeof(out->role) ||
        fl[5] >= sizeof(ts))
        return -1;
    memcpy(out->instance, f[1], fl[1]);
    memcpy(out->role, f[3], fl[3]);
    memcpy(ts, f[5], fl[5]);
    ts[fl[5]] = '\0';
    if (pct_decode(f[2], fl[2], out->actor, sizeof(out->actor)) < 0 ||
        pct_decode(f[4], fl[4], out->via, sizeof(out->via)) < 0)
        return -1;
    if (strspn(ts, "0123456789") != fl[5]) return -1;
    out->ts_ms = strtoll(ts, &end, 10);
    return 0;
}

void forward_sign(const char *secret, const char *method, const char *uri, const forward_claim *fc,
                  const char *body, size_t len, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    char bodyhex[2 * SHA256_DIGEST_LENGTH + 1], line[128], *msg;
    const char *sig;
    size_t msz;

    SHA256((const unsigned char *)(body ? body : ""), len, md);
    for (size_t i = 0; i < sizeof(md); i++)
        snprintf(bodyhex + 2 * i, 3, "%02x", md[i]);
    msz = strlen(method) + strlen(uri) + sizeof(*fc) + sizeof(bodyhex) + 64;
    out[0] = '\0';
    if (!(msg = malloc(msz))) return;
    snprintf(msg, msz, "v1\n%s\n%s\n%s\n%s\n%s\n%s\n%lld\n%s", method, uri, fc->instance, fc->actor,
             fc->role, fc->via, (long long)fc->ts_ms, bodyhex);
    /* the webhooks' HMAC-SHA256 (notify.c), without its header name */
    notify_signature(secret, msg, line, sizeof(line));
    free(msg);
    sig = strstr(line, "sha256=");
    hp_strlcpy(out, sig ? sig + 7 : "", 65);
}

/* -------------------------------------------------------------- accepting */

static int role_parse(const char *s)
{
    if (!strcmp(s, "viewer")) return ROLE_VIEWER;
    if (!strcmp(s, "operator")) return ROLE_OPERATOR;
    if (!strcmp(s, "admin")) return ROLE_ADMIN;
    return ROLE_NONE;
}

int forward_verify(const char *secret, const char *method, const char *uri, const char *hdr,
                   const char *sig, const char *body, size_t len, int64_t now_ms,
                   forward_claim *out, int *role, char *why, size_t whysz)
{
    char want[65];
    int64_t skew;

    *role = ROLE_NONE;
    if (!secret || !secret[0]) {
        snprintf(why, whysz, "this instance takes no forwarded requests: [ha] is off here");
        return -1;
    }
    if (!hdr || forward_header_parse(hdr, out) < 0) {
        snprintf(why, whysz, "malformed or missing " FORWARD_HEADER " header");
        return -1;
    }
    if ((*role = role_parse(out->role)) == ROLE_NONE) {
        snprintf(why, whysz, "unknown role in " FORWARD_HEADER);
        return -1;
    }
    skew = now_ms - out->ts_ms;
    if (skew > FORWARD_MAX_SKEW_MS || skew < -FORWARD_MAX_SKEW_MS) {
        *role = ROLE_NONE;
        snprintf(why, whysz, "the forwarded request is more than 30 s off this instance's clock");
        return -1;
    }
    forward_sign(secret, method, uri, out, body, len, want);
    if (!sig || !want[0] || !auth_equal(sig, strlen(sig), want, strlen(want))) {
        *role = ROLE_NONE;
        snprintf(why, whysz, "bad " FORWARD_SIG_HEADER " signature");
        return -1;
    }
    return 0;
}

/* The signatures taken in the last 2 * FORWARD_MAX_SKEW_MS: a relayed
 * request's bytes seen again within the window are a replay. A full table
 * gives up its oldest entry (a fleet relays a few writes a minute). */
#define SEEN_MAX 4096
static struct {
    char sig[65];
    int64_t at;
} seen[SEEN_MAX];
static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;

int forward_seen(const char *sig, int64_t now_ms)
{
    int i, free_i = -1, old_i = 0, dup = 0;
    pthread_mutex_lock(&seen_mu);
    for (i = 0; i < SEEN_MAX; i++) {
        if (!seen[i].sig[0] || now_ms - seen[i].at > 2 * FORWARD_MAX_SKEW_MS) {
            seen[i].sig[0] = '\0';
            if (free_i < 0) free_i = i;
            continue;
        }
        if (!strcmp(seen[i].sig, sig)) {
            dup = 1;
            break;
        }
        if (seen[i].at < seen[old_i].at) old_i = i;
    }
    if (!dup) {
        i = free_i >= 0 ? free_i : old_i;
        hp_strlcpy(seen[i].sig, sig, sizeof(seen[i].sig));
        seen[i].at = now_ms;
    }
    pthread_mutex_unlock(&seen_mu);
    return dup;
}

/* --------------------------------------------------------------- relaying */

typedef struct sink {
    forward_answer *a;
    sbuf body;
    int too_big;
} sink;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    sink *k = ud;
    size_t len = size * n;
    if (k->body.len + len > MAX_ANSWER) {
        k->too_big = 1;
        return 0;
    }
    sbuf_append(&k->body, p, len);
    return len;
}

/* Keeps the value of header line "Name: value\r\n" when name matches. */
static void keep_header(const char *p, size_t len, const char *name, char *out, size_t outsz)
{
    size_t nl = strlen(name), vl;
    if (len <= nl + 1 || strncasecmp(p, name, nl) || p[nl] != ':') return;
    p += nl + 1;
    len -= nl + 1;
    while (len && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }
    vl = len;
    while (vl && (p[vl - 1] == '\r' || p[vl - 1] == '\n' || p[vl - 1] == ' '))
        vl--;
    if (vl >= outsz) vl = outsz - 1;
    /* the value goes into this instance's own answer head: a control byte
     * (a bare CR inside the line) would split it, so such a value is dropped */
    for (size_t i = 0; i < vl; i++)
        if (((unsigned char)p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f) return;
    memcpy(out, p, vl);
    out[vl] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    sink *k = ud;
    size_t len = size * n;
    keep_header(p, len, "Content-Type", k->a->ctype, sizeof(k->a->ctype));
    keep_header(p, len, "Retry-After", k->a->retry_after, sizeof(k->a->retry_after));
    return len;
}

/* Gives up a relay when the server stops (http_stop sets stopping). */
static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    const int *stop = ud;
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    return stop && __atomic_load_n(stop, __ATOMIC_RELAXED) ? 1 : 0;
}

/* Percent-encodes a decoded path again for the URL (the leader decodes it
 * to the same bytes); '/' stays. */
static void path_encode(const char *path, sbuf *b)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *path; path++) {
        unsigned char ch = (unsigned char)*path;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            strchr("/._~:@!$&'()*+,;=-", ch)) {
            sbuf_append(b, (const char *)&ch, 1);
        } else {
            char e[3] = {hex[ch >> 4], hex[ch & 15], 0};
            sbuf_append(b, "%", 1);
            sbuf_append(b, e, 2);
        }
    }
}

/* Adds "Name: value" unless the value is absent or could split the line. */
static struct curl_slist *add_header(struct curl_slist *h, const char *name, const char *v, int max)
{
    char line[600];
    struct curl_slist *n;
    if (!v || strpbrk(v, "\r\n")) return h;
    snprintf(line, sizeof(line), "%s: %.*s", name, max, v);
    n = curl_slist_append(h, line);
    return n ? n : h;
}

int forward_relay(forward_request *rq, forward_answer *a)
{
    char uri[4096], sig[65], hv[400];
    sbuf url = SBUF_INIT;
    struct curl_slist *hdrs = NULL;
    sink k;
    CURL *cu = NULL;
    CURLcode rc = CURLE_OK;
    size_t ul;
    int st = -1;

    memset(a, 0, sizeof(*a));
    memset(&k, 0, sizeof(k));
    k.a = a;
    rq->claim.ts_ms = hp_now_ms();
    snprintf(uri, sizeof(uri), "%s%s%s", rq->path, rq->query && *rq->query ? "?" : "",
             rq->query && *rq->query ? rq->query : "");
    forward_sign(rq->secret, rq->method, uri, &rq->claim, rq->body, rq->len, sig);
    forward_header_value(&rq->claim, hv, sizeof(hv));

    ul = strlen(rq->base_url);
    while (ul && rq->base_url[ul - 1] == '/')
        ul--;
    sbuf_append(&url, rq->base_url, ul);
    path_encode(rq->path, &url);
    if (rq->query && *rq->query) {
        sbuf_puts(&url, "?");
        sbuf_puts(&url, rq->query);
    }
    if (sbuf_failed(&url) || !(cu = curl_easy_init())) {
        snprintf(a->err, sizeof(a->err), "out of memory");
        goto out;
    }
    hdrs = add_header(hdrs, FORWARD_HEADER, hv, 400);
    hdrs = add_header(hdrs, FORWARD_SIG_HEADER, sig, 64);
    hdrs = add_header(hdrs, "Expect", "", 0);
    hdrs = add_header(hdrs, "Content-Type", rq->ctype, 400);
    hdrs = add_header(hdrs, "Accept", rq->accept, 400);
    hdrs = add_header(hdrs, "X-Request-Id", rq->request_id, 128);
    hdrs = add_header(hdrs, "HX-Request", rq->hx_request, 16);
    curl_easy_setopt(cu, CURLOPT_URL, url.buf);
    curl_easy_setopt(cu, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(cu, CURLOPT_TIMEOUT_MS, (long)FORWARD_TIMEOUT_MS);
    curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(cu, CURLOPT_PROXY, ""); /* peers are reached directly */
    curl_easy_setopt(cu, CURLOPT_FOLLOWLOCATION, 0L);
    /* the URL comes from the leader key in etcd: never another scheme
     * (file://, gopher://...), whatever is written there */
    curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(cu, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(cu, CURLOPT_ERRORBUFFER, a->err);
    curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(cu, CURLOPT_WRITEDATA, &k);
    curl_easy_setopt(cu, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(cu, CURLOPT_HEADERDATA, &k);
    curl_easy_setopt(cu, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(cu, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(cu, CURLOPT_XFERINFODATA, (void *)rq->stop);
    if (strcmp(rq->method, "GET")) {
        curl_easy_setopt(cu, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
        curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->len);
        if (strcmp(rq->method, "POST")) curl_easy_setopt(cu, CURLOPT_CUSTOMREQUEST, rq->method);
    }
    rc = curl_easy_perform(cu);
    if (rc == CURLE_OK) curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &a->status);
    if (k.too_big) {
        snprintf(a->err, sizeof(a->err), "the answer is larger than %d bytes", MAX_ANSWER);
    } else if (rc != CURLE_OK) {
        if (!a->err[0]) snprintf(a->err, sizeof(a->err), "%s", curl_easy_strerror(rc));
    } else if (a->status < 200 || a->status > 599) {
        snprintf(a->err, sizeof(a->err), "no HTTP status in the answer");
    } else if (sbuf_failed(&k.body)) {
        snprintf(a->err, sizeof(a->err), "out of memory");
    } else {
        a->body = sbuf_detach(&k.body, &a->len);
        st = 0;
    }
out:
    curl_slist_free_all(hdrs);
    if (cu) curl_easy_cleanup(cu);
    sbuf_release(&url);
    sbuf_release(&k.body);
    return st;
}

void forward_answer_release(forward_answer *a)
{
    if (!a) return;
    free(a->body);
    a->body = NULL;
    a->len = 0;
}
