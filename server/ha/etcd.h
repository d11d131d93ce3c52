/* etcd.h — a minimal, blocking client of etcd v3's JSON gateway (/v3/...):
 * leases, a compare-and-put transaction, ranges and deletes, which is all
 * leader.c needs. Not a general etcd client: no watch (the lease thread
 * polls), no auth, no TLS client certificates.
 *
 * One client owns one CURL easy handle (kept-alive connections) and must be
 * used by one thread at a time. Every call is bounded by the client's
 * timeout per endpoint tried: etcd without quorum answers nothing for ~6 s.
 * On a transport error or a 5xx the next endpoint is tried, and the one that
 * answered is kept for the next call.
 *
 * The gateway's quirks (verified against 3.4.23): keys and values are base64,
 * int64 fields are JSON strings, and proto3 leaves out every default: a failed
 * txn has no "succeeded", an expired lease's keepalive no "TTL", an empty
 * range no "kvs". The etcd__parse_* functions read those replies and do no
 * I/O (tests/test_etcd.c runs them on captured replies). */
#ifndef HP_ETCD_H
#define HP_ETCD_H

#include <stddef.h>
#include <stdint.h>

typedef struct etcd_client etcd_client;

/* endpoints: "http://host:port,..." (copied). NULL on no memory or no
 * endpoint. Caller frees with etcd_client_free (NULL is fine). */
etcd_client *etcd_client_new(const char *endpoints, int timeout_ms);
void etcd_client_free(etcd_client *c);
/* The last call's error ("" after a success); owned by c. */
const char *etcd_client_error(const etcd_client *c);
/* The endpoint in use; owned by c. */
const char *etcd_client_endpoint(const etcd_client *c);

/* One key-value as a range returns it. key and value are NUL-terminated
 * copies (the value may hold other NULs too: value_len); caller frees with
 * etcd_kv_release. */
typedef struct etcd_kv {
    char *key, *value;
    size_t value_len;
    int64_t create_rev, mod_rev, lease;
} etcd_kv;
void etcd_kv_release(etcd_kv *kv);

/* Every call returns 0 when etcd answered, -1 when no endpoint did (or its
 * answer was an error or unreadable: etcd_client_error says which). */

/* GET /version: "3.4.23" into out. */
int etcd_version(etcd_client *c, char *out, size_t outsz);
int etcd_grant(etcd_client *c, int ttl_s, int64_t *lease);
/* *ttl: the lease's remaining TTL; <= 0 means the lease is gone (expired,
 * revoked, unknown: the gateway answers 200 without a TTL). */
int etcd_keepalive(etcd_client *c, int64_t lease, int64_t *ttl);
/* An unknown lease counts as revoked (0). */
int etcd_revoke(etcd_client *c, int64_t lease);

enum { ETCD_CMP_CREATE = 1, ETCD_CMP_MOD = 2 };
typedef struct etcd_cmp {
    const char *key;
    int target;  /* ETCD_CMP_CREATE (create_revision) or ETCD_CMP_MOD (mod_revision) */
    int64_t rev; /* equal to this; 0 with CREATE: the key is absent */
} etcd_cmp;

/* txn{ every cmp } success: put(key, value, lease (0: none)) failure:
 * range(key). *ok: 1 when it put; *rev: the header's revision (the put's
 * revision on success). On failure cur (if not NULL) gets the key as it is
 * (cur->key NULL when absent); release it. */
int etcd_txn_put(etcd_client *c, const etcd_cmp *cmps, int ncmp, const char *key, const char *value,
                 int64_t lease, int *ok, int64_t *rev, etcd_kv *cur);
/* *found 1 with kv filled (release it), 0 when absent. */
int etcd_get(etcd_client *c, const char *key, etcd_kv *kv, int *found);
/* Every key starting with prefix, in key order: fn(ctx, kv) (kv is released
 * after fn returns). */
int etcd_get_prefix(etcd_client *c, const char *prefix, void (*fn)(void *ctx, const etcd_kv *kv),
                    void *ctx);
/* *deleted (may be NULL): how many keys went. */
int etcd_delete(etcd_client *c, const char *key, int64_t *deleted);

/* ---- pure, for tests ---- */

/* base64 of n bytes into out (NUL-terminated); -1 if outsz is too small. */
int etcd__b64enc(const void *in, size_t n, char *out, size_t outsz);
/* Decodes text into a new NUL-terminated buffer (caller frees), its length
 * into *n; NULL when text is not base64. */
char *etcd__b64dec(const char *text, size_t *n);
/* An error body {"error":"...","code":N}: 1 with the message, 0 when body is
 * no error. */
int etcd__parse_error(const char *body, char *msg, size_t msgsz);
int etcd__parse_grant(const char *body, int64_t *lease, int64_t *ttl);
/* 0 with *ttl (0 when the reply has none: the lease is gone), -1 unreadable. */
int etcd__parse_keepalive(const char *body, int64_t *ttl);
/* 0 with *ok, *rev and, on failure, cur (see etcd_txn_put); -1 unreadable. */
int etcd__parse_txn(const char *body, int *ok, int64_t *rev, etcd_kv *cur);
/* 0 with fn called for every kv (fn may be NULL), *count (may be NULL); -1
 * unreadable. */
int etcd__parse_range(const char *body, void (*fn)(void *ctx, const etcd_kv *kv), void *ctx,
                      int *count);
/* The end of the range of every key starting with prefix (its last byte
 * that is not 0xff, plus one), into out (NUL-terminated); -1 when it does not
 * fit or no byte can be raised. */
int etcd__prefix_end(const char *prefix, char *out, size_t outsz);

#endif
