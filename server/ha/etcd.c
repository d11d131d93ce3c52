/* etcd.c — the blocking etcd v3 JSON-gateway client (see etcd.h). */
#define _POSIX_C_SOURCE 200809L
#include "ha/etcd.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/banned.h" /* last: after every system header */

#define ETCD_MAX_ENDPOINTS 16
#define ETCD_MAX_REPLY (4 << 20) /* a prefix range of a few thousand keys */

struct etcd_client {
    CURL *curl;
    char endpoints[ETCD_MAX_ENDPOINTS][256];
    int nendpoints, cur, timeout_ms;
    char err[256];
    char *buf; /* the reply being read */
    size_t len, cap;
};

/* ---- base64 and small JSON helpers (pure) ---- */

int etcd__b64enc(const void *in, size_t n, char *out, size_t outsz)
{
    size_t need = 4 * ((n + 2) / 3) + 1;
    if (outsz < need || n > (size_t)INT32_MAX / 2) return -1;
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    out[need - 1] = '\0';
    return 0;
}

char *etcd__b64dec(const char *text, size_t *n)
{
    size_t tl = strlen(text), pad = 0;
    char *out;
    int got;

    if (tl % 4 || tl > (size_t)INT32_MAX / 2) return NULL;
    out = malloc(tl / 4 * 3 + 1);
    if (!out) return NULL;
    got = tl ? EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)text, (int)tl) : 0;
    if (got < 0) {
        free(out);
        return NULL;
    }
    /* DecodeBlock counts the '=' padding as zero bytes: take them off */
    if (tl && text[tl - 1] == '=') pad++;
    if (tl > 1 && text[tl - 2] == '=') pad++;
    *n = (size_t)got - pad;
    out[*n] = '\0';
    return out;
}

/* An int64 that the gateway writes as a string (or, from elsewhere, a
 * number); 0 when absent, as proto3 means. */
static int64_t j_i64(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (cJSON_IsString(v) && v->valuestring) return strtoll(v->valuestring, NULL, 10);
    /* out of int64's range: a hostile reply (the cast would be UB) */
    if (cJSON_IsNumber(v) && v->valuedouble > -9e18 && v->valuedouble < 9e18)
        return (int64_t)v->valuedouble;
    return 0;
}

int etcd__parse_error(const char *body, char *msg, size_t msgsz)
{
    cJSON *root = cJSON_Parse(body);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    int is = 0;

    if (cJSON_IsString(e) && e->valuestring) {
        snprintf(msg, msgsz, "%.200s (code %" PRId64 ")", e->valuestring, j_i64(root, "code"));
        is = 1;
    } else if (cJSON_IsObject(e)) { /* a streamed call's {"error":{"message":...}} */
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
        snprintf(msg, msgsz, "%.200s", cJSON_IsString(m) ? m->valuestring : "error");
        is = 1;
    }
    cJSON_Delete(root);
    return is;
}

int etcd__parse_grant(const char *body, int64_t *lease, int64_t *ttl)
{
    cJSON *root = cJSON_Parse(body);
    int rc = -1;
    if (cJSON_IsObject(root) && !cJSON_HasObjectItem(root, "error")) {
        *lease = j_i64(root, "ID");
        *ttl = j_i64(root, "TTL");
        rc = *lease ? 0 : -1;
    }
    cJSON_Delete(root);
    return rc;
}

int etcd__parse_keepalive(const char *body, int64_t *ttl)
{
    cJSON *root = cJSON_Parse(body);
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(root, "result");
    int rc = -1;
    if (cJSON_IsObject(r)) {
        *ttl = j_i64(r, "TTL"); /* absent: the lease is gone */
        rc = 0;
    }
    cJSON_Delete(root);
    return rc;
}

void etcd_kv_release(etcd_kv *kv)
{
    if (!kv) return;
    free(kv->key);
    free(kv->value);
    memset(kv, 0, sizeof(*kv));
}

/* One element of "kvs" into kv (owned by the caller). 0 or -1. */
static int kv_from_json(const cJSON *j, etcd_kv *kv)
{
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "key");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "value");
    size_t kl = 0;

    memset(kv, 0, sizeof(*kv));
    if (!cJSON_IsString(k) || !(kv->key = etcd__b64dec(k->valuestring, &kl))) return -1;
    kv->value = etcd__b64dec(cJSON_IsString(v) ? v->valuestring : "", &kv->value_len);
    if (!kv->value) {
        etcd_kv_release(kv);
        return -1;
    }
    kv->create_rev = j_i64(j, "create_revision");
    kv->mod_rev = j_i64(j, "mod_revision");
    kv->lease = j_i64(j, "lease");
    return 0;
}

/* The kvs of a range response object (the reply, or a txn's response_range). */
static int range_kvs(const cJSON *o, void (*fn)(void *ctx, const etcd_kv *kv), void *ctx,
                     int *count)
{
    const cJSON *kvs = cJSON_GetObjectItemCaseSensitive(o, "kvs"), *j;
    int n = 0;
    cJSON_ArrayForEach(j, kvs)
    {
        etcd_kv kv;
        if (kv_from_json(j, &kv) < 0) return -1;
        if (fn) fn(ctx, &kv);
        etcd_kv_release(&kv);
        n++;
    }
    if (count) *count = n;
    return 0;
}

int etcd__parse_range(const char *body, void (*fn)(void *ctx, const etcd_kv *kv), void *ctx,
                      int *count)
{
    cJSON *root = cJSON_Parse(body);
    int rc = -1;
    if (cJSON_IsObject(root) && !cJSON_HasObjectItem(root, "error"))
        rc = range_kvs(root, fn, ctx, count);
    cJSON_Delete(root);
    return rc;
}

static void keep_first(void *ctx, const etcd_kv *kv)
{
    etcd_kv *dst = ctx;
    if (dst->key) return;
    *dst = *kv;
    dst->key = strdup(kv->key);
    dst->value = malloc(kv->value_len + 1);
    if (dst->value) {
        memcpy(dst->value, kv->value, kv->value_len);
        dst->value[kv->value_len] = '\0';
    }
    if (!dst->key || !dst->value) etcd_kv_release(dst);
}

int etcd__parse_txn(const char *body, int *ok, int64_t *rev, etcd_kv *cur)
{
    cJSON *root = cJSON_Parse(body);
    const cJSON *hdr = cJSON_GetObjectItemCaseSensitive(root, "header");
    const cJSON *resp, *r;
    int rc = -1;

    if (cur) memset(cur, 0, sizeof(*cur));
    if (!cJSON_IsObject(root) || !cJSON_IsObject(hdr) || cJSON_HasObjectItem(root, "error"))
        goto out;
    *ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "succeeded")); /* absent: failed */
    *rev = j_i64(hdr, "revision");
    rc = 0;
    if (*ok || !cur) goto out;
    resp = cJSON_GetObjectItemCaseSensitive(root, "responses");
    cJSON_ArrayForEach(r, resp)
    {
        const cJSON *rr = cJSON_GetObjectItemCaseSensitive(r, "response_range");
        if (cJSON_IsObject(rr) && range_kvs(rr, keep_first, cur, NULL) < 0) {
            etcd_kv_release(cur);
            rc = -1;
        }
    }
out:
    cJSON_Delete(root);
    return rc;
}

int etcd__prefix_end(const char *prefix, char *out, size_t outsz)
{
    size_t l = strlen(prefix);
    if (l + 1 > outsz) return -1;
    memcpy(out, prefix, l + 1);
    while (l > 0) {
        unsigned char ch = (unsigned char)out[l - 1];
        if (ch < 0xff) {
            out[l - 1] = (char)(ch + 1);
            out[l] = '\0';
            return 0;
        }
        out[--l] = '\0';
    }
    return -1;
}

/* ---- the client ---- */

etcd_client *etcd_client_new(const char *endpoints, int timeout_ms)
{
    etcd_client *c = calloc(1, sizeof(*c));
    const char *p = endpoints;

    if (!c) return NULL;
    while (p && *p && c->nendpoints < ETCD_MAX_ENDPOINTS) {
        size_t l = strcspn(p, ","), s = 0, e = l;
        while (s < l && (p[s] == ' ' || p[s] == '\t'))
            s++;
        while (e > s && (p[e - 1] == ' ' || p[e - 1] == '\t' || p[e - 1] == '/'))
            e--;
        if (e > s && e - s < sizeof(c->endpoints[0]))
            snprintf(c->endpoints[c->nendpoints++], sizeof(c->endpoints[0]), "%.*s", (int)(e - s),
                     p + s);
        p += l;
        if (*p == ',') p++;
    }
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : 1000;
    c->curl = curl_easy_init();
    if (!c->nendpoints || !c->curl) {
        etcd_client_free(c);
        return NULL;
    }
    return c;
}

void etcd_client_free(etcd_client *c)
{
    if (!c) return;
    if (c->curl) curl_easy_cleanup(c->curl);
    free(c->buf);
    free(c);
}

const char *etcd_client_error(const etcd_client *c)
{
    return c->err;
}

const char *etcd_client_endpoint(const etcd_client *c)
{
    return c->endpoints[c->cur];
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    etcd_client *c = ud;
    size_t n = size * nmemb;
    if (c->len + n + 1 > ETCD_MAX_REPLY) return 0;
    if (c->len + n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        char *nb;
        while (cap < c->len + n + 1)
            cap *= 2;
        nb = realloc(c->buf, cap);
        if (!nb) return 0;
        c->buf = nb;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, ptr, n);
    c->len += n;
    c->buf[c->len] = '\0';
    return n;
}

/* POSTs body (GET when NULL) to path on the current endpoint, then the next
 * ones on a transport error or a 5xx. Returns the HTTP status (the reply in
 * c->buf, NUL-terminated) or -1 with c->err set. A 4xx is etcd's answer: it
 * is returned, not retried. Never longer than twice the timeout in all. */
static int call(etcd_client *c, const char *path, const char *body)
{
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    int64_t t0 = hp_mono_ms();
    int tries, status = -1;

    c->err[0] = '\0';
    for (tries = 0; tries < c->nendpoints; tries++) {
        char url[384];
        long code = 0;
        CURLcode cc;

        if (tries > 0 && hp_mono_ms() - t0 >= 2LL * c->timeout_ms) break;
        snprintf(url, sizeof(url), "%s%s", c->endpoints[c->cur], path);
        c->len = 0;
        if (c->buf) c->buf[0] = '\0';
        curl_easy_reset(c->curl);
        curl_easy_setopt(c->curl, CURLOPT_URL, url);
        curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
        curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
        curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
        curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
        if (body) curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
        cc = curl_easy_perform(c->curl);
        if (cc == CURLE_OK) curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
        if (cc == CURLE_OK && code < 500) {
            status = (int)code;
            if (!c->buf) on_data((char *)"", 0, 0, c); /* an empty reply: still a string */
            break;
        }
        if (cc != CURLE_OK)
            snprintf(c->err, sizeof(c->err), "%s: %s", c->endpoints[c->cur],
                     curl_easy_strerror(cc));
        else
            snprintf(c->err, sizeof(c->err), "%s: HTTP %ld", c->endpoints[c->cur], code);
        c->cur = (c->cur + 1) % c->nendpoints;
    }
    curl_slist_free_all(hdrs);
    if (status >= 0) c->err[0] = '\0';
    return status;
}

/* call() and a 2xx without an {"error"} body: 0, else -1 with c->err. */
static int call_ok(etcd_client *c, const char *path, const char *body)
{
    char msg[240];
    int st = call(c, path, body);
    if (st < 0) return -1;
    if (!c->buf) return -1;
    if (etcd__parse_error(c->buf, msg, sizeof(msg))) {
        snprintf(c->err, sizeof(c->err), "%s", msg);
        return -1;
    }
    if (st < 200 || st > 299) {
        snprintf(c->err, sizeof(c->err), "HTTP %d", st);
        return -1;
    }
    return 0;
}

/* A JSON body from root (freed), then call_ok. */
static int post_json(etcd_client *c, const char *path, cJSON *root)
{
    char *body = root ? cJSON_PrintUnformatted(root) : NULL;
    int rc;
    cJSON_Delete(root);
    if (!body) {
        snprintf(c->err, sizeof(c->err), "out of memory");
        return -1;
    }
    rc = call_ok(c, path, body);
    free(body);
    return rc;
}

static void unreadable(etcd_client *c)
{
    snprintf(c->err, sizeof(c->err), "unreadable reply from %s", c->endpoints[c->cur]);
}

/* Adds name: base64(s) to o. 0 or -1. */
static int add_b64(cJSON *o, const char *name, const char *s, size_t n)
{
    size_t need = 4 * ((n + 2) / 3) + 1;
    char *b = malloc(need);
    int rc = -1;
    if (b && etcd__b64enc(s, n, b, need) == 0 && cJSON_AddStringToObject(o, name, b)) rc = 0;
    free(b);
    return rc;
}

static int add_i64(cJSON *o, const char *name, int64_t v)
{
    char num[24];
    snprintf(num, sizeof(num), "%" PRId64, v);
    return cJSON_AddStringToObject(o, name, num) ? 0 : -1;
}

int etcd_version(etcd_client *c, char *out, size_t outsz)
{
    cJSON *root;
    const cJSON *v;
    int rc = -1;
    if (call_ok(c, "/version", NULL) < 0) return -1;
    root = cJSON_Parse(c->buf);
    v = cJSON_GetObjectItemCaseSensitive(root, "etcdserver");
    if (cJSON_IsString(v)) {
        snprintf(out, outsz, "%s", v->valuestring);
        rc = 0;
    } else {
        unreadable(c);
    }
    cJSON_Delete(root);
    return rc;
}

int etcd_grant(etcd_client *c, int ttl_s, int64_t *lease)
{
    cJSON *root = cJSON_CreateObject();
    int64_t ttl = 0;
    if (!root || !cJSON_AddNumberToObject(root, "TTL", ttl_s)) {
        cJSON_Delete(root);
        return -1;
    }
    if (post_json(c, "/v3/lease/grant", root) < 0) return -1;
    if (etcd__parse_grant(c->buf, lease, &ttl) < 0 || ttl <= 0) {
        unreadable(c);
        return -1;
    }
    return 0;
}

int etcd_keepalive(etcd_client *c, int64_t lease, int64_t *ttl)
{
    cJSON *root = cJSON_CreateObject();
    if (!root || add_i64(root, "ID", lease) < 0) {
        cJSON_Delete(root);
        return -1;
    }
    if (post_json(c, "/v3/lease/keepalive", root) < 0) return -1;
    if (etcd__parse_keepalive(c->buf, ttl) < 0) {
        unreadable(c);
        return -1;
    }
    return 0;
}

int etcd_revoke(etcd_client *c, int64_t lease)
{
    cJSON *root = cJSON_CreateObject();
    if (!root || add_i64(root, "ID", lease) < 0) {
        cJSON_Delete(root);
        return -1;
    }
    if (post_json(c, "/v3/lease/revoke", root) == 0) return 0;
    return strstr(c->err, "lease not found") ? 0 : -1;
}

int etcd_txn_put(etcd_client *c, const etcd_cmp *cmps, int ncmp, const char *key, const char *value,
                 int64_t lease, int *ok, int64_t *rev, etcd_kv *cur)
{
    cJSON *root = cJSON_CreateObject(), *cmp, *succ, *fail, *put, *rng, *o;
    int i;

    if (cur) memset(cur, 0, sizeof(*cur));
    if (!root) return -1;
    cmp = cJSON_AddArrayToObject(root, "compare");
    succ = cJSON_AddArrayToObject(root, "success");
    fail = cJSON_AddArrayToObject(root, "failure");
    if (!cmp || !succ || !fail) goto oom;
    for (i = 0; i < ncmp; i++) {
        int create = cmps[i].target == ETCD_CMP_CREATE;
        if (!(o = cJSON_CreateObject()) || !cJSON_AddItemToArray(cmp, o)) goto oom;
        if (!cJSON_AddStringToObject(o, "target", create ? "CREATE" : "MOD") ||
            add_b64(o, "key", cmps[i].key, strlen(cmps[i].key)) < 0 ||
            add_i64(o, create ? "create_revision" : "mod_revision", cmps[i].rev) < 0)
            goto oom;
    }
    if (!(o = cJSON_CreateObject()) || !cJSON_AddItemToArray(succ, o)) goto oom;
    if (!(put = cJSON_AddObjectToObject(o, "request_put"))) goto oom;
    if (add_b64(put, "key", key, strlen(key)) < 0 ||
        add_b64(put, "value", value, strlen(value)) < 0)
        goto oom;
    if (lease && add_i64(put, "lease", lease) < 0) goto oom;
    if (!(o = cJSON_CreateObject()) || !cJSON_AddItemToArray(fail, o)) goto oom;
    if (!(rng = cJSON_AddObjectToObject(o, "request_range"))) goto oom;
    if (add_b64(rng, "key", key, strlen(key)) < 0) goto oom;
    if (post_json(c, "/v3/kv/txn", root) < 0) return -1;
    if (etcd__parse_txn(c->buf, ok, rev, cur) < 0) {
        unreadable(c);
        return -1;
    }
    return 0;
oom:
    cJSON_Delete(root);
    snprintf(c->err, sizeof(c->err), "out of memory");
    return -1;
}

/* POST /v3/kv/range for key, or for every key under it with prefix set. */
static int range(etcd_client *c, const char *key, int prefix,
                 void (*fn)(void *ctx, const etcd_kv *kv), void *ctx)
{
    cJSON *root = cJSON_CreateObject();
    char end[512];

    if (!root || add_b64(root, "key", key, strlen(key)) < 0) goto oom;
    if (prefix) {
        if (etcd__prefix_end(key, end, sizeof(end)) < 0 ||
            add_b64(root, "range_end", end, strlen(end)) < 0)
            goto oom;
    }
    if (post_json(c, "/v3/kv/range", root) < 0) return -1;
    if (etcd__parse_range(c->buf, fn, ctx, NULL) < 0) {
        unreadable(c);
        return -1;
    }
    return 0;
oom:
    cJSON_Delete(root);
    snprintf(c->err, sizeof(c->err), "bad key or out of memory");
    return -1;
}

int etcd_get(etcd_client *c, const char *key, etcd_kv *kv, int *found)
{
    memset(kv, 0, sizeof(*kv));
    if (range(c, key, 0, keep_first, kv) < 0) return -1;
    *found = kv->key != NULL;
    return 0;
}

int etcd_get_prefix(etcd_client *c, const char *prefix, void (*fn)(void *ctx, const etcd_kv *kv),
                    void *ctx)
{
    return range(c, prefix, 1, fn, ctx);
}

int etcd_delete(etcd_client *c, const char *key, int64_t *deleted)
{
    cJSON *root = cJSON_CreateObject(), *r;
    if (!root || add_b64(root, "key", key, strlen(key)) < 0) {
        cJSON_Delete(root);
        return -1;
    }
    if (post_json(c, "/v3/kv/deleterange", root) < 0) return -1;
    r = cJSON_Parse(c->buf);
    if (deleted) *deleted = j_i64(r, "deleted");
    cJSON_Delete(r);
    return 0;
}
