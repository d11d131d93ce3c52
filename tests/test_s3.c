/* test_s3.c — the off-site copies (issue 14 item 6) without a store: the
 * object's URL in both styles, the error text taken from an S3 error
 * document (its code only: the rest may echo the access key id), the
 * backoff; the durable queue's rows (an upload due, an upload that ends
 * after its backup was deleted, remote retention, a deletion retried and
 * done, the deletion a backup's removal queues); and the dashboard's backup
 * row for each state, hostile texts escaped. Includes actions/s3.c to reach
 * its static functions. */
#define _POSIX_C_SOURCE 200809L
#include "../server/actions/s3.c"

#include <stdlib.h>
#include <unistd.h>

#include "db/internal.h" /* the fixtures write rows directly */
#include "web/ui_internal.h"
#include "check.h"

static void test_urls(void)
{
    config cfg;
    char url[256], key[64];

    memset(&cfg, 0, sizeof cfg);
    hp_strlcpy(cfg.s3_endpoint, "http://127.0.0.1:4568/", sizeof cfg.s3_endpoint);
    hp_strlcpy(cfg.s3_bucket, "bk", sizeof cfg.s3_bucket);
    hp_strlcpy(cfg.s3_prefix, "hapanel/", sizeof cfg.s3_prefix);
    cfg.s3_path_style = 1;
    CHECK(s3_key_for(&cfg, "/var/lib/hapanel/backups/m-1.2.3.4_6379-20260101T000000Z-7.rdb", key,
                     sizeof key) == 0);
    CHECK_STR(key, "hapanel/m-1.2.3.4_6379-20260101T000000Z-7.rdb");
    CHECK(object_url(&cfg, key, url, sizeof url) == 0);
    CHECK_STR(url, "http://127.0.0.1:4568/bk/hapanel/m-1.2.3.4_6379-20260101T000000Z-7.rdb");
    cfg.s3_path_style = 0;
    hp_strlcpy(cfg.s3_endpoint, "https://s3.eu-west-1.amazonaws.com", sizeof cfg.s3_endpoint);
    CHECK(object_url(&cfg, "p/x.rdb", url, sizeof url) == 0);
    CHECK_STR(url, "https://bk.s3.eu-west-1.amazonaws.com/p/x.rdb");
    CHECK(object_url(&cfg, "p/x.rdb", url, 20) < 0); /* too long: no URL */
    CHECK(s3_key_for(&cfg, "/d/a-very-long-name.rdb", key, 12) < 0 && !key[0]);
    CHECK(s3_enabled(&cfg) && (cfg.s3_endpoint[0] = '\0', !s3_enabled(&cfg)));
}

static void test_error_code(void)
{
    char code[64];
    error_code("<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><AWSAccessKeyId>"
               "AKIDSECRET</AWSAccessKeyId><StringToSign>x</StringToSign></Error>",
               code, sizeof code);
    CHECK_STR(code, "SignatureDoesNotMatch");
    error_code("<Error><Code>a\"<b>c</Code>", code, sizeof code); /* letters and digits only */
    CHECK_STR(code, "a");
    error_code("not xml", code, sizeof code);
    CHECK_STR(code, "");
    error_code("<Code>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", code, 8);
    CHECK(strlen(code) == 7);
}

static void test_backoff(void)
{
    CHECK(backoff_ms(1) == 1000 && backoff_ms(2) == 2000 && backoff_ms(3) == 4000);
    CHECK(backoff_ms(9) == 256000 && backoff_ms(10) == BACKOFF_MAX_MS);
    CHECK(backoff_ms(100) == BACKOFF_MAX_MS && backoff_ms(0) == 1000);
}

/* [s3] is checked at start: what goes into the signed URL as it is. */
static void test_config(void)
{
    static const struct {
        const char *endpoint, *bucket, *prefix, *key, *want; /* want: NULL ok, else in the error */
    } cases[] = {
        {"http://127.0.0.1:4568", "bk", "hapanel/", "k", NULL},
        {"https://s3.example.org/", "a.b-c", "", "k", NULL},
        {"ftp://x", "bk", "hapanel/", "k", "[s3] endpoint"},
        {"http://AKID:s3cret@127.0.0.1:4568", "bk", "hapanel/", "k", "[s3] endpoint"},
        {"http://127.0.0.1:4568/?x=1", "bk", "hapanel/", "k", "[s3] endpoint"},
        {"http://127.0.0.1:4568/#f", "bk", "hapanel/", "k", "[s3] endpoint"},
        {"http://", "bk", "hapanel/", "k", "[s3] endpoint"},
        {"http://127.0.0.1:4568/s3", "bk", "hapanel/", "k", NULL}, /* a path is fine */
        {"http://x", "", "hapanel/", "k", "[s3] bucket"},
        {"http://x", "Bad_Bucket", "hapanel/", "k", "[s3] bucket"},
        {"http://x", "bk", "/abs", "k", "[s3] prefix"},
        {"http://x", "bk", "a//b", "k", "[s3] prefix"},
        {"http://x", "bk", "a b/", "k", "[s3] prefix"},
        {"http://x", "bk", "a/%2e/", "k", "[s3] prefix"},
        {"http://x", "bk", "hapanel/", "", "access_key and secret_key"},
    };
    size_t i;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        config c;
        char err[256] = "";
        int rc;
        config_defaults(&c);
        hp_strlcpy(c.sentinel_hosts, "127.0.0.1:26379", sizeof c.sentinel_hosts);
        hp_strlcpy(c.api_tokens, "viewer:v-token-123", sizeof c.api_tokens);
        hp_strlcpy(c.s3_endpoint, cases[i].endpoint, sizeof c.s3_endpoint);
        hp_strlcpy(c.s3_bucket, cases[i].bucket, sizeof c.s3_bucket);
        hp_strlcpy(c.s3_prefix, cases[i].prefix, sizeof c.s3_prefix);
        hp_strlcpy(c.s3_access_key, cases[i].key, sizeof c.s3_access_key);
        hp_strlcpy(c.s3_secret_key, cases[i].key, sizeof c.s3_secret_key);
        rc = config_finish(&c, err, sizeof err);
        if (cases[i].want)
            CHECK(rc < 0 && strstr(err, cases[i].want) != NULL);
        else
            CHECK(rc == 0);
        if (rc == 0 ? cases[i].want != NULL : !strstr(err, cases[i].want ? cases[i].want : "\1"))
            fprintf(stderr, "case %zu: rc %d, %s\n", i, rc, err);
    }
}

static int64_t insert(db *d, const char *cluster, const char *key, int64_t created)
{
    hp_backup b;
    memset(&b, 0, sizeof b);
    hp_strlcpy(b.cluster, cluster, sizeof b.cluster);
    hp_strlcpy(b.node, "127.0.0.1:6380", sizeof b.node);
    hp_strlcpy(b.sha256, "ab", sizeof b.sha256);
    hp_strlcpy(b.path, "/nonexistent/x.rdb", sizeof b.path);
    hp_strlcpy(b.remote_key, key, sizeof b.remote_key);
    b.created_at = created;
    b.remote_next_at = created;
    b.size_bytes = 10;
    CHECK(db__insert_backup(d, &b) == 0);
    return b.id;
}

static void test_queue(db *d)
{
    hp_backup b;
    hp_remote_delete r;
    backup_remote_op op;
    int64_t due, now = hp_now_ms(), id1, id2, id3;

    id1 = insert(d, "q", "p/1.rdb", now - 3000);
    id2 = insert(d, "q", "p/2.rdb", now + 60000); /* not due yet */
    id3 = insert(d, "q", "", now);                /* no remote: not queued */
    CHECK(db_backup_upload_next(d, now, &b, &due) == 1 && b.id == id1 && due == now - 3000);
    CHECK_STR(b.remote_state, "pending");
    CHECK(db_get_backup(d, id3, &b) == 1 && b.remote_state[0] == '\0');

    /* attempt 1 failed: pending, later */
    memset(&op, 0, sizeof op);
    op.what = BR_UPLOAD_MARK;
    op.id = id1;
    op.cluster = "q";
    op.key = "p/1.rdb";
    op.state = "pending";
    op.attempts = 1;
    op.error = "HTTP 503";
    op.next_at = now + 1000;
    op.now = now;
    CHECK(db__backup_remote_apply(d, &op) == 1);
    CHECK(db_backup_upload_next(d, now, &b, &due) == 0 && due == now + 1000);
    CHECK(db_get_backup(d, id1, &b) == 1 && b.remote_attempts == 1);
    CHECK_STR(b.remote_error, "HTTP 503");
    /* then uploaded */
    op.state = "uploaded";
    op.attempts = 2;
    op.error = NULL;
    op.next_at = 0;
    op.uploaded_at = now;
    CHECK(db__backup_remote_apply(d, &op) == 1);
    CHECK(db_get_backup(d, id1, &b) == 1 && !strcmp(b.remote_state, "uploaded") &&
          b.remote_uploaded_at == now && !b.remote_error[0]);
    CHECK(db__backup_remote_apply(d, &op) == 0); /* no longer pending: no change */
    CHECK(db_remote_delete_count(d) == 1);       /* ... but the "orphan" is queued */
    CHECK(db_remote_delete_next(d, now, &r, &due) == 1 && !strcmp(r.remote_key, "p/1.rdb"));
    op.what = BR_DELETE_DONE;
    op.id = r.id;
    op.backup_id = r.backup_id;
    CHECK(db__backup_remote_apply(d, &op) == 1 && db_remote_delete_count(d) == 0);

    /* remote retention: the copy goes, the backup stays */
    memset(&op, 0, sizeof op);
    op.what = BR_RETIRE;
    op.id = id1;
    op.cluster = "q";
    CHECK(db__backup_remote_apply(d, &op) == 1);
    CHECK(db_get_backup(d, id1, &b) == 1 && !strcmp(b.remote_state, "deleting"));
    CHECK(db__backup_remote_apply(d, &op) == 0 && db_remote_delete_count(d) == 1); /* once */
    CHECK(db_remote_delete_next(d, hp_now_ms(), &r, &due) == 1 && r.backup_id == id1);
    op.what = BR_DELETE_RETRY;
    op.id = r.id;
    op.backup_id = id1;
    op.attempts = 1;
    op.error = "connection refused";
    op.next_at = now + 1000;
    CHECK(db__backup_remote_apply(d, &op) == 1);
    CHECK(db_remote_delete_next(d, now, &r, &due) == 0 && due == now + 1000);
    CHECK(db_get_backup(d, id1, &b) == 1 && !strcmp(b.remote_error, "connection refused"));
    CHECK(db_remote_delete_next(d, now + 1000, &r, &due) == 1 && r.attempts == 1);
    op.what = BR_DELETE_DONE;
    CHECK(db__backup_remote_apply(d, &op) == 1);
    CHECK(db_get_backup(d, id1, &b) == 1 && !strcmp(b.remote_state, "deleted") &&
          !b.remote_error[0]);

    /* a deleted copy can be uploaded again; an uploaded one not */
    op.what = BR_UPLOAD_RESET;
    op.id = id1;
    op.key = "ignored/when-it-has-one.rdb";
    op.next_at = now;
    CHECK(db__backup_remote_apply(d, &op) == 1);
    CHECK(db_get_backup(d, id1, &b) == 1 && !strcmp(b.remote_state, "pending") &&
          !strcmp(b.remote_key, "p/1.rdb") && b.remote_attempts == 0);
    op.id = id3; /* taken with no remote: gets its name now */
    op.key = "p/3.rdb";
    CHECK(db__backup_remote_apply(d, &op) == 1);
    CHECK(db_get_backup(d, id3, &b) == 1 && !strcmp(b.remote_key, "p/3.rdb"));

    /* the backup's removal queues its copy's deletion, in its transaction */
    CHECK(db__delete_backup(d, id2) == 0 && db_get_backup(d, id2, &b) == 0);
    CHECK(db_remote_delete_count(d) == 1);
    CHECK(db_remote_delete_next(d, hp_now_ms(), &r, &due) == 1 &&
          !strcmp(r.remote_key, "p/2.rdb") && r.backup_id == id2 && !strcmp(r.cluster, "q"));
}

/* The backup row says where the copy is; texts from the store escaped. */
static void test_row(db *d)
{
    const char *name = "<c>";
    cluster_snap *c = cluster_snap_new(name);
    sbuf b = SBUF_INIT;
    char sql[600], err[200];
    int64_t now = hp_now_ms(), ids[6];
    const char *states[] = {"pending", "uploaded", "failed", "deleting", "deleted"};
    int i;

    c->nodes = calloc(1, sizeof(*c->nodes));
    CHECK(cluster_snap_finish(c, now) == 0);
    for (i = 0; i < 5; i++) { /* UI_BACKUPS rows */
        ids[i] = insert(d, name, "p/\"><b>k.rdb", now - 10000 + i);
        snprintf(sql, sizeof sql,
                 "UPDATE backups SET remote_state = '%s', remote_attempts = 3, remote_error = "
                 "'<script>e</script> \"q\"', remote_uploaded_at = %lld WHERE id = %lld",
                 states[i], (long long)now, (long long)ids[i]);
        CHECK(db__exec(d->w, sql, err, sizeof err) == 0);
    }
    db__recent_mark(d, name, DB_RECENT_BACKUPS);
    db__recent_commit(d);
    ui__render_backups(&b, d, c, now, 0);
    CHECK(!sbuf_failed(&b));
    CHECK(strstr(b.buf, "<script") == NULL && strstr(b.buf, "<b>") == NULL);
    CHECK(strstr(b.buf, "bk-remote-pending\" title=\"attempt 3 failed: &lt;script&gt;e&lt;/"
                        "script&gt; &quot;q&quot;\">upload pending</span>") != NULL);
    CHECK(strstr(b.buf, "bk-remote-uploaded\" title=\"off-site copy p/&quot;&gt;&lt;b&gt;k.rdb, "
                        "uploaded ") != NULL);
    CHECK(strstr(b.buf, "bk-remote-failed\" title=\"failed after 3 attempts: &lt;script&gt;") !=
          NULL);
    CHECK(strstr(b.buf, ">upload failed</span>") && strstr(b.buf, ">off-site deleting</span>") &&
          strstr(b.buf, ">off-site deleted</span>") && strstr(b.buf, ">off-site</span>"));
    CHECK(strstr(b.buf, "is being deleted (retention); last attempt: &lt;script&gt;") != NULL);
    /* only the failed copy has the retry button, behind the dialog */
    {
        char want[160];
        snprintf(want, sizeof want,
                 "data-act=\"upload-backup\" data-needs=\"operator\" data-backup=\"%lld\" "
                 "data-cluster=\"&lt;c&gt;\" data-key=\"p/&quot;&gt;&lt;b&gt;k.rdb\"",
                 (long long)ids[2]);
        CHECK(strstr(b.buf, want) != NULL);
    }
    {
        const char *p = b.buf;
        int n = 0;
        while ((p = strstr(p, "data-act=\"upload-backup\"")) != NULL) {
            n++;
            p++;
        }
        CHECK(n == 1);
        p = b.buf;
        n = 0;
        while ((p = strstr(p, "class=\"badge bk-remote ")) != NULL) {
            n++;
            p++;
        }
        CHECK(n == 5);
    }
    sbuf_release(&b);
    cluster_snap_unref(c);
    /* a backup taken with no [s3]: no badge, no button */
    c = cluster_snap_new("<nos3>");
    c->nodes = calloc(1, sizeof(*c->nodes));
    CHECK(cluster_snap_finish(c, now) == 0);
    ids[5] = insert(d, "<nos3>", "", now);
    db__recent_mark(d, "<nos3>", DB_RECENT_BACKUPS);
    db__recent_commit(d);
    ui__render_backups(&b, d, c, now, 0);
    CHECK(strstr(b.buf, "data-backup=\"") && !strstr(b.buf, "bk-remote") &&
          !strstr(b.buf, "upload-backup"));
    sbuf_release(&b);
    cluster_snap_unref(c);
}

int main(void)
{
    char dir[] = "/tmp/hapanel-test-s3-XXXXXX", err[256], cmd[300];
    db *d;

    test_urls();
    test_error_code();
    test_backoff();
    test_config();
    CHECK(mkdtemp(dir) != NULL);
    d = db_open(dir, err, sizeof(err));
    CHECK(d != NULL);
    if (d) {
        test_queue(d);
        test_row(d);
        db_free(d);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return check_done();
}
