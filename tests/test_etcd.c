/* test_etcd.c — the etcd gateway client's pure parts on replies captured from
 * etcd 3.4.23: proto3 leaves out defaults (a failed txn has no "succeeded",
 * an expired lease's keepalive no "TTL", an empty range no "kvs"), int64s are
 * strings, keys and values base64 (binary included, DecodeBlock's padding
 * taken off), and error bodies. */
#include "check.h"

#include <stdlib.h>

#include "ha/etcd.h"

#define HDR "\"header\":{\"cluster_id\":\"15118495548433857066\",\"member_id\":\"1\",\"revision\":"

typedef struct seen {
    int n;
    char keys[4][32], values[4][64];
    int64_t create[4], lease[4];
} seen;

static void collect(void *ctx, const etcd_kv *kv)
{
    seen *s = ctx;
    if (s->n >= 4) return;
    snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", kv->key);
    snprintf(s->values[s->n], sizeof(s->values[0]), "%s", kv->value);
    s->create[s->n] = kv->create_rev;
    s->lease[s->n] = kv->lease;
    s->n++;
}

int main(void)
{
    char b64[64], msg[256], end[16];
    char *dec;
    size_t n = 0;
    int64_t id = 0, ttl = -1, rev = 0;
    int ok = -1, count = -1;
    etcd_kv cur;
    seen s;
    static const unsigned char bin[] = {0x00, 0xff, 0x10, 0x80, 0x00};

    /* base64 both ways, every padding length, binary with NULs */
    CHECK(etcd__b64enc("x", 1, b64, sizeof(b64)) == 0);
    CHECK_STR(b64, "eA==");
    CHECK(etcd__b64enc("xy", 2, b64, sizeof(b64)) == 0);
    CHECK_STR(b64, "eHk=");
    CHECK(etcd__b64enc("xyz", 3, b64, sizeof(b64)) == 0);
    CHECK_STR(b64, "eHl6");
    CHECK(etcd__b64enc("", 0, b64, sizeof(b64)) == 0);
    CHECK_STR(b64, "");
    CHECK(etcd__b64enc("xyz", 3, b64, 4) == -1); /* no room for the NUL */
    dec = etcd__b64dec("eA==", &n);
    CHECK(dec && n == 1 && !strcmp(dec, "x"));
    free(dec);
    dec = etcd__b64dec("eHk=", &n);
    CHECK(dec && n == 2 && !strcmp(dec, "xy"));
    free(dec);
    dec = etcd__b64dec("", &n);
    CHECK(dec && n == 0 && !dec[0]);
    free(dec);
    CHECK(etcd__b64enc(bin, sizeof(bin), b64, sizeof(b64)) == 0);
    dec = etcd__b64dec(b64, &n);
    CHECK(dec && n == sizeof(bin) && !memcmp(dec, bin, sizeof(bin)));
    free(dec);
    CHECK(etcd__b64dec("eA=", &n) == NULL);  /* not a multiple of 4 */
    CHECK(etcd__b64dec("e!==", &n) == NULL); /* not base64 */

    /* the range end of a prefix */
    CHECK(etcd__prefix_end("hapanel/", end, sizeof(end)) == 0);
    CHECK_STR(end, "hapanel0");
    CHECK(etcd__prefix_end("a\xff", end, sizeof(end)) == 0);
    CHECK_STR(end, "b");
    CHECK(etcd__prefix_end("\xff", end, sizeof(end)) == -1);
    CHECK(etcd__prefix_end("toolongforit/", end, 8) == -1);

    /* lease grant; keepalive alive; keepalive of an expired lease: 200 without TTL */
    CHECK(etcd__parse_grant("{" HDR "\"1\",\"raft_term\":\"2\"},\"ID\":\"4111120377520770053\","
                            "\"TTL\":\"5\"}",
                            &id, &ttl) == 0);
    CHECK(id == 4111120377520770053LL && ttl == 5);
    CHECK(etcd__parse_grant("{\"error\":\"etcdserver: too many requests\",\"code\":14}", &id,
                            &ttl) == -1);
    CHECK(etcd__parse_keepalive("{\"result\":{" HDR "\"1\"},\"ID\":\"4111120377520770053\","
                                "\"TTL\":\"5\"}}",
                                &ttl) == 0);
    CHECK(ttl == 5);
    ttl = -1;
    CHECK(etcd__parse_keepalive("{\"result\":{" HDR "\"1\",\"raft_term\":\"2\"},\"ID\":\"123\"}}\n",
                                &ttl) == 0);
    CHECK(ttl == 0); /* gone */
    /* hostile replies: numbers out of int64's range are no lease (review) */
    CHECK(etcd__parse_grant("{\"ID\":1e300,\"TTL\":\"5\"}", &id, &ttl) == -1);
    CHECK(etcd__parse_grant("{\"ID\":-1e300,\"TTL\":\"5\"}", &id, &ttl) == -1);
    CHECK(etcd__parse_keepalive("{\"result\":{\"TTL\":1e300}}", &ttl) == 0 && ttl == 0);
    CHECK(etcd__parse_grant("[1,2]", &id, &ttl) == -1);
    CHECK(etcd__parse_keepalive("{\"result\":\"x\"}", &ttl) == -1);
    CHECK(etcd__parse_range("{\"kvs\":[{\"key\":\"@@@@\"}]}", NULL, NULL, NULL) == -1);
    CHECK(etcd__parse_range("{\"kvs\":[{\"key\":\"YQ==\",\"value\":\"Y\"}]}", NULL, NULL, NULL) ==
          -1);
    CHECK(etcd__parse_range("{\"kvs\":[{\"key\":5}]}", NULL, NULL, NULL) == -1);
    {
        size_t n = 99;
        char *d = etcd__b64dec("====", &n);
        CHECK(d == NULL || n <= 1);
        free(d);
        d = etcd__b64dec("YQ=", &n);
        CHECK(d == NULL);
        free(d);
    }
    CHECK(etcd__parse_keepalive("{\"error\":{\"grpc_code\":14,\"message\":\"unavailable\"}}",
                                &ttl) == -1);
    CHECK(etcd__parse_keepalive("not json", &ttl) == -1);

    /* error bodies */
    CHECK(etcd__parse_error("{\"error\":\"etcdserver: requested lease not found\",\"message\":"
                            "\"etcdserver: requested lease not found\",\"code\":5}",
                            msg, sizeof(msg)) == 1);
    CHECK(strstr(msg, "lease not found") && strstr(msg, "code 5"));
    CHECK(etcd__parse_error("{\"error\":\"context deadline exceeded\",\"code\":2}", msg,
                            sizeof(msg)) == 1);
    CHECK(etcd__parse_error("{" HDR "\"3\"},\"deleted\":\"1\"}", msg, sizeof(msg)) == 0);

    /* txn that put: succeeded true */
    CHECK(etcd__parse_txn("{" HDR "\"2\",\"raft_term\":\"2\"},\"succeeded\":true,\"responses\":[{"
                          "\"response_put\":{\"header\":{\"revision\":\"2\"}}}]}",
                          &ok, &rev, &cur) == 0);
    CHECK(ok == 1 && rev == 2 && cur.key == NULL);
    /* txn that failed: no "succeeded"; the holder in responses[0].response_range */
    CHECK(etcd__parse_txn("{" HDR "\"7\",\"raft_term\":\"2\"},\"responses\":[{\"response_range\":"
                          "{\"header\":{\"revision\":\"7\"},\"kvs\":[{\"key\":\"eA==\","
                          "\"create_revision\":\"5\",\"mod_revision\":\"6\",\"version\":\"2\","
                          "\"value\":\"dg==\",\"lease\":\"77\"}],\"count\":\"1\"}}]}",
                          &ok, &rev, &cur) == 0);
    CHECK(ok == 0 && rev == 7);
    CHECK(cur.key && !strcmp(cur.key, "x") && !strcmp(cur.value, "v") && cur.value_len == 1);
    CHECK(cur.create_rev == 5 && cur.mod_rev == 6 && cur.lease == 77);
    etcd_kv_release(&cur);
    CHECK(cur.key == NULL);
    /* failed because of another compare (a fence): the key itself is absent */
    CHECK(etcd__parse_txn("{" HDR "\"9\"},\"responses\":[{\"response_range\":{\"header\":{"
                          "\"revision\":\"9\"}}}]}",
                          &ok, &rev, &cur) == 0);
    CHECK(ok == 0 && rev == 9 && cur.key == NULL);
    CHECK(etcd__parse_txn("{\"error\":\"etcdserver: request timed out\",\"code\":14}", &ok, &rev,
                          &cur) == -1);
    CHECK(etcd__parse_txn("", &ok, &rev, NULL) == -1);

    /* range: empty has no kvs; a prefix range with two; a value with no "value" is "" */
    memset(&s, 0, sizeof(s));
    CHECK(etcd__parse_range("{" HDR "\"1\",\"raft_term\":\"2\"}}", collect, &s, &count) == 0);
    CHECK(count == 0 && s.n == 0);
    CHECK(etcd__parse_range("{" HDR "\"4\"},\"kvs\":[{\"key\":\"aGFwYW5lbC9pbnN0YW5jZXMvcDE=\","
                            "\"create_revision\":\"3\",\"mod_revision\":\"3\",\"version\":\"1\","
                            "\"value\":\"eyJ1cmwiOiJodHRwOi8vYSJ9\",\"lease\":\"12\"},{\"key\":"
                            "\"aGFwYW5lbC9pbnN0YW5jZXMvcDI=\",\"create_revision\":\"4\","
                            "\"mod_revision\":\"4\",\"version\":\"1\"}],\"count\":\"2\"}",
                            collect, &s, &count) == 0);
    CHECK(count == 2 && s.n == 2);
    CHECK_STR(s.keys[0], "hapanel/instances/p1");
    CHECK_STR(s.values[0], "{\"url\":\"http://a\"}");
    CHECK(s.create[0] == 3 && s.lease[0] == 12);
    CHECK_STR(s.keys[1], "hapanel/instances/p2");
    CHECK_STR(s.values[1], "");
    CHECK(s.lease[1] == 0);
    CHECK(etcd__parse_range("{\"error\":\"context deadline exceeded\",\"code\":2}", NULL, NULL,
                            NULL) == -1);
    CHECK(etcd__parse_range("{" HDR "\"4\"},\"kvs\":[{\"key\":\"!!\"}]}", NULL, NULL, NULL) == -1);

    /* the client: endpoints parsed, trimmed; none is an error */
    {
        etcd_client *c = etcd_client_new(" http://127.0.0.1:1/ , http://127.0.0.1:2", 200);
        CHECK(c != NULL);
        if (c) CHECK_STR(etcd_client_endpoint(c), "http://127.0.0.1:1");
        /* nothing listens there: -1, with an error, and the next endpoint tried */
        if (c) {
            CHECK(etcd_grant(c, 5, &id) == -1);
            CHECK(etcd_client_error(c)[0] != '\0');
        }
        etcd_client_free(c);
        CHECK(etcd_client_new("", 200) == NULL);
        etcd_client_free(NULL);
    }
    return check_done();
}
