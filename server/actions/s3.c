/* s3.c — off-site copies of the backups (see s3.h).
 *
 * Why a thread of its own rather than the backup job: a backup is
 * catalogued with its upload queued in the same transaction (remote_state
 * pending), so the upload survives anything that happens next; one thread
 * then does every attempt, first and retries alike, a second after the
 * backup at most. The backup job is not held up by a slow or dead object
 * store (its group would block the next backup), there is one code path to
 * test, and since uploads and remote deletions run one at a time on it, an
 * object is never deleted while it is still being written.
 *
 * libcurl signs each request (CURLOPT_AWS_SIGV4 "aws:amz:<region>:s3").
 * It does not hash a body it reads through a callback, so the file's
 * SHA-256, which the catalogue has, is sent as x-amz-content-sha256 and is
 * what the signature covers: the store refuses the upload if the bytes it
 * got are not those. After a PUT a HEAD checks the stored size. */
#define _POSIX_C_SOURCE 200809L
#include "actions/s3.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "actions/jobs.h"
#include "core/log.h"
#include "core/ticker.h"
#include "db/backup_remote.h"
#include "db/db.h"
#include "core/banned.h" /* last: after every system header */

#define CONNECT_TIMEOUT_MS 3000
#define SHORT_TIMEOUT_MS 30000 /* HEAD and DELETE */
#define LOW_SPEED_S 60         /* a transfer with no progress for this long is given up */
#define BACKOFF_MAX_MS 300000
#define TICK_MS 1000
#define PER_TICK 100
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

int s3_enabled(const config *cfg)
{
    return cfg->s3_endpoint[0] != '\0';
}

int s3_key_for(const config *cfg, const char *path, char *key, size_t keysz)
{
    const char *base = strrchr(path, '/');
    int n = snprintf(key, keysz, "%s%s", cfg->s3_prefix, base ? base + 1 : path);
    if (n < 0 || (size_t)n >= keysz) {
        key[0] = '\0';
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- requests */

/* The object's URL: path style endpoint/bucket/key, or bucket.host/key.
 * config_finish allows only characters that need no escaping. */
static int object_url(const config *cfg, const char *key, char *url, size_t urlsz)
{
    const char *ep = cfg->s3_endpoint, *host = strstr(ep, "://");
    size_t el = strlen(ep);
    int n;

    while (el && ep[el - 1] == '/')
        el--;
    if (cfg->s3_path_style || !host)
        n = snprintf(url, urlsz, "%.*s/%s/%s", (int)el, ep, cfg->s3_bucket, key);
    else {
        int scheme = (int)(host + 3 - ep);
        n = snprintf(url, urlsz, "%.*s%s.%.*s/%s", scheme, ep, cfg->s3_bucket, (int)el - scheme,
                     host + 3, key);
    }
    return n < 0 || (size_t)n >= urlsz ? -1 : 0;
}

typedef struct answer {
    char text[1024]; /* the start of the body: the store's error document */
    size_t n;
    FILE *out;        /* GET: the object goes here */
    int64_t max, got; /* GET: at most max bytes (0: no limit) */
    int write_failed, too_big;
} answer;

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    answer *a = ud;
    size_t len = size * nmemb;
    if (a->out) {
        if (a->max > 0 && (int64_t)len > a->max - a->got) {
            a->too_big = 1;
            return 0;
        }
        a->got += (int64_t)len;
        if (fwrite(p, 1, len, a->out) != len) {
            a->write_failed = 1;
            return 0;
        }
        return len;
    }
    if (a->n + 1 < sizeof(a->text)) {
        size_t k = len < sizeof(a->text) - 1 - a->n ? len : sizeof(a->text) - 1 - a->n;
        memcpy(a->text + a->n, p, k);
        a->n += k;
        a->text[a->n] = '\0';
    }
    return len;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    const int *stop = ud;
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    return stop && __atomic_load_n(stop, __ATOMIC_RELAXED) ? 1 : 0;
}

/* The <Code> of an S3 error document (letters and digits only): never the
 * rest, which may echo the access key id or the string that was signed. */
static void error_code(const char *body, char *code, size_t codesz)
{
    const char *p = strstr(body, "<Code>");
    size_t i = 0;
    code[0] = '\0';
    if (!p) return;
    for (p += 6; *p && *p != '<' && i + 1 < codesz; p++)
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
            code[i++] = *p;
    code[i] = '\0';
}

long s3_request(const config *cfg, const char *method, const char *key, const char *path,
                int64_t size, const char *sha256, int64_t *length, const int *stop, char *err,
                size_t errsz)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[2048], sigv4[128], line[128], cerr[CURL_ERROR_SIZE] = "", code[64];
    answer a;
    FILE *f = NULL;
    int put = !strcmp(method, "PUT"), get = !strcmp(method, "GET"), head = !strcmp(method, "HEAD");
    long status = -1;
    CURLcode rc;

    memset(&a, 0, sizeof(a));
    if (length) *length = -1;
    if (!c) {
        snprintf(err, errsz, "curl unavailable");
        return -1;
    }
    if (object_url(cfg, key, url, sizeof(url)) < 0) {
        snprintf(err, errsz, "the object's URL is too long");
        goto out;
    }
    if (put || get) {
        f = fopen(path, put ? "rb" : "wb");
        if (!f) {
            snprintf(err, errsz, "cannot open %.300s: %s", path, strerror(errno));
            goto out;
        }
    }
    snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:s3", cfg->s3_region);
    snprintf(line, sizeof(line), "x-amz-content-sha256: %s", put ? sha256 : EMPTY_SHA256);
    h = curl_slist_append(h, line);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4);
    curl_easy_setopt(c, CURLOPT_USERNAME, cfg->s3_access_key);
    curl_easy_setopt(c, CURLOPT_PASSWORD, cfg->s3_secret_key);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
    if (put || get) {
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)LOW_SPEED_S);
    } else {
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)SHORT_TIMEOUT_MS);
    }
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)stop);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "hapanel/" HP_VERSION);
    if (put) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READDATA, f);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
    } else if (get) {
        a.out = f;
        if (size > 0) { /* an object larger than that is not the backup: not stored */
            a.max = size;
            curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)size);
        }
    } else if (head) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    rc = curl_easy_perform(c);
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        snprintf(err, errsz, "hapanel is stopping");
        goto out;
    }
    if (rc != CURLE_OK && (a.too_big || rc == CURLE_FILESIZE_EXCEEDED)) {
        snprintf(err, errsz, "%s %.200s: the object is larger than %lld bytes", method, key,
                 (long long)size);
        goto out;
    }
    if (rc != CURLE_OK) {
        /* curl's message names host and port, never the credentials */
        snprintf(err, errsz, "%s %.200s: %s", method, key, cerr[0] ? cerr : curl_easy_strerror(rc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
        error_code(a.text, code, sizeof(code));
        snprintf(err, errsz, "%s %.200s: HTTP %ld%s%s", method, key, status, code[0] ? " " : "",
                 code);
    } else if (length) {
        curl_off_t cl = -1;
        curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        *length = (int64_t)cl;
    }
out:
    if (f && fclose(f) != 0 && get && status >= 200 && status <= 299) {
        snprintf(err, errsz, "writing %.300s: %s", path, strerror(errno));
        status = -1;
    }
    if (a.write_failed && status >= 200 && status <= 299) {
        snprintf(err, errsz, "writing %.300s failed", path);
        status = -1;
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

/* ---------------------------------------------------------------- retention */

int s3_retention(const config *cfg, evq *q, const hp_backup *list, int n, job *jb)
{
    int keep_last = cfg->s3_keep_last < 0 ? cfg->backup_keep_last : cfg->s3_keep_last;
    int keep_days = cfg->s3_keep_days < 0 ? cfg->backup_keep_days : cfg->s3_keep_days;
    int64_t now = hp_now_ms();
    int i, retired = 0;

    if (!s3_enabled(cfg)) return 0;
    for (i = 1; i < n; i++) { /* never the newest */
        const hp_backup *b = &list[i];
        int too_many = keep_last > 0 && i >= keep_last;
        int too_old = keep_days > 0 && now - b->created_at > (int64_t)keep_days * 86400000LL;
        backup_remote_op op;
        if (!too_many && !too_old) continue;
        if (strcmp(b->remote_state, "pending") && strcmp(b->remote_state, "uploaded")) continue;
        memset(&op, 0, sizeof(op));
        op.what = BR_RETIRE;
        op.id = b->id;
        op.cluster = b->cluster;
        if (evq_backup_remote(q, &op) == 1) {
            retired++;
            if (jb)
                job_step(jb, "remote retention: the copy of backup %lld (%s) is to be deleted (%s)",
                         (long long)b->id, b->remote_key,
                         too_many ? "beyond [s3] keep_last" : "older than [s3] keep_days");
        }
    }
    return retired;
}

/* ---------------------------------------------------------------- uploader */

struct s3_uploader {
    const config *cfg;
    db *d;
    evq *q;
    hp_ticker *ticker;
    int stop; /* atomic: set before the ticker is stopped, read by curl's progress */
};

static int64_t backoff_ms(int attempts)
{
    int64_t b = 1000LL << (attempts - 1 < 20 ? (attempts > 0 ? attempts - 1 : 0) : 20);
    return b > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : b;
}

/* The backup's copy stored and checked: 0, or -1 with err. */
static int put_checked(const config *cfg, const hp_backup *b, const int *stop, char *err,
                       size_t errsz)
{
    struct stat stt;
    int64_t len = -1;
    long st;

    if (stat(b->path, &stt) < 0) {
        snprintf(err, errsz, "the local file %.300s: %s", b->path, strerror(errno));
        return -1;
    }
    if ((int64_t)stt.st_size != b->size_bytes) {
        snprintf(err, errsz, "the local file has %lld bytes, the catalogue %lld",
                 (long long)stt.st_size, (long long)b->size_bytes);
        return -1;
    }
    st = s3_request(cfg, "PUT", b->remote_key, b->path, b->size_bytes, b->sha256, NULL, stop, err,
                    errsz);
    if (st < 200 || st > 299) return -1;
    st = s3_request(cfg, "HEAD", b->remote_key, NULL, 0, NULL, &len, stop, err, errsz);
    if (st < 200 || st > 299) return -1;
    if (len != b->size_bytes) {
        snprintf(err, errsz, "HEAD %.300s after the upload: %lld bytes stored, %lld sent",
                 b->remote_key, (long long)len, (long long)b->size_bytes);
        return -1;
    }
    return 0;
}

static void upload_event(evq *q, const hp_backup *b, int ok, int attempts, const char *err)
{
    hp_event e;
    char msg[512];
    if (ok)
        snprintf(msg, sizeof(msg), "backup %lld of %s uploaded as %.200s (%lld bytes, attempt %d)",
                 (long long)b->id, b->cluster, b->remote_key, (long long)b->size_bytes, attempts);
    else
        snprintf(msg, sizeof(msg),
                 "backup %lld of %s: upload to %.200s failed after %d attempts: %.150s",
                 (long long)b->id, b->cluster, b->remote_key, attempts, err);
    /* An alert's events (rule backup_upload, like backup_failed): the
     * failure opens it, so it is notified; the next upload of the cluster
     * that works resolves it. */
    hp_event_set(&e, ok ? EV_ALERT_RESOLVED : EV_ALERT_FIRED, b->cluster,
                 ok ? "backup-uploaded" : "backup-upload-failed", ok ? "info" : "warning", "panel",
                 NULL, msg); /* no node: the alert is the cluster's */
    hp_strlcpy(e.rule, "backup_upload", sizeof(e.rule));
    e.job_id = b->id;
    evq_push(q, &e);
}

static void upload_one(s3_uploader *u, const hp_backup *b)
{
    char err[512] = "";
    int attempts = b->remote_attempts + 1;
    int ok = put_checked(u->cfg, b, &u->stop, err, sizeof(err)) == 0;
    int64_t now = hp_now_ms();
    backup_remote_op op;

    if (!ok && __atomic_load_n(&u->stop, __ATOMIC_RELAXED))
        return; /* not an attempt: it stays pending and starts over at the next start */
    memset(&op, 0, sizeof(op));
    op.what = BR_UPLOAD_MARK;
    op.id = b->id;
    op.cluster = b->cluster;
    op.key = b->remote_key;
    op.attempts = attempts;
    op.now = now;
    if (ok) {
        op.state = "uploaded";
        op.uploaded_at = now;
    } else if (attempts >= u->cfg->s3_max_attempts) {
        op.state = "failed";
        op.error = err;
    } else {
        op.state = "pending";
        op.error = err;
        op.next_at = now + backoff_ms(attempts);
    }
    if (evq_backup_remote(u->q, &op) != 1) {
        if (ok)
            log_info("s3: backup %lld was deleted while it uploaded; %s is to be deleted too",
                     (long long)b->id, b->remote_key);
        return;
    }
    if (ok) {
        log_info("s3: backup %lld uploaded as %s", (long long)b->id, b->remote_key);
        upload_event(u->q, b, 1, attempts, NULL);
    } else if (!strcmp(op.state, "failed")) {
        log_warn("s3: backup %lld: upload failed for good after %d attempts: %s", (long long)b->id,
                 attempts, err);
        upload_event(u->q, b, 0, attempts, err);
    } else {
        log_warn("s3: backup %lld: %s; attempt %d in %lld ms", (long long)b->id, err, attempts + 1,
                 (long long)(op.next_at - now));
    }
}

/* A remote deletion is retried until it is done (an object nobody deletes
 * costs money for ever); 404 counts as done. */
static void delete_one(s3_uploader *u, const hp_remote_delete *r)
{
    char err[512] = "";
    long st = s3_request(u->cfg, "DELETE", r->remote_key, NULL, 0, NULL, NULL, &u->stop, err,
                         sizeof(err));
    backup_remote_op op;

    if (st < 0 && __atomic_load_n(&u->stop, __ATOMIC_RELAXED)) return;
    memset(&op, 0, sizeof(op));
    op.id = r->id;
    op.backup_id = r->backup_id;
    op.cluster = r->cluster;
    op.key = r->remote_key;
    op.now = hp_now_ms();
    if ((st >= 200 && st <= 299) || st == 404) {
        op.what = BR_DELETE_DONE;
        if (evq_backup_remote(u->q, &op) == 1)
            log_info("s3: deleted %s (the copy of backup %lld)", r->remote_key,
                     (long long)r->backup_id);
        return;
    }
    op.what = BR_DELETE_RETRY;
    op.attempts = r->attempts + 1;
    op.error = err;
    op.next_at = op.now + backoff_ms(op.attempts);
    evq_backup_remote(u->q, &op);
    log_warn("s3: %s; deletion attempt %d in %lld ms", err, op.attempts + 1,
             (long long)(op.next_at - op.now));
    if (op.attempts == u->cfg->s3_max_attempts) {
        hp_event e;
        char msg[512];
        snprintf(
            msg, sizeof(msg),
            "the remote copy %.200s of backup %lld could not be deleted in %d attempts (%.150s); "
            "it is retried every 5 minutes at most",
            r->remote_key, (long long)r->backup_id, op.attempts, err);
        hp_event_set(&e, EV_PANEL, r->cluster, "backup-remote-delete-failing", "warning", "panel",
                     NULL, msg);
        e.job_id = r->backup_id;
        evq_push(u->q, &e);
    }
}

static int stopping(s3_uploader *u)
{
    return __atomic_load_n(&u->stop, __ATOMIC_RELAXED);
}

static void tick(void *arg)
{
    s3_uploader *u = arg;
    int i;

    for (i = 0; i < PER_TICK && !stopping(u); i++) {
        hp_backup b;
        int64_t due;
        if (db_backup_upload_next(u->d, hp_now_ms(), &b, &due) != 1) break;
        upload_one(u, &b);
    }
    for (i = 0; i < PER_TICK && !stopping(u); i++) {
        hp_remote_delete r;
        int64_t due;
        if (db_remote_delete_next(u->d, hp_now_ms(), &r, &due) != 1) break;
        delete_one(u, &r);
    }
}

s3_uploader *s3_uploader_new(const config *cfg, db *d, evq *q)
{
    s3_uploader *u;

    if (!s3_enabled(cfg)) return NULL;
    u = calloc(1, sizeof(*u));
    if (!u) return NULL;
    u->cfg = cfg;
    u->d = d;
    u->q = q;
    if (!(u->ticker = hp_ticker_start(tick, u, TICK_MS))) {
        free(u);
        return NULL;
    }
    log_info("s3: off-site copies to bucket %s at %s (pending uploads resume now)", cfg->s3_bucket,
             cfg->s3_endpoint);
    return u;
}

void s3_uploader_free(s3_uploader *u)
{
    if (!u) return;
    __atomic_store_n(&u->stop, 1, __ATOMIC_RELAXED);
    hp_ticker_stop(u->ticker);
    free(u);
}

/* ---------------------------------------------------------------- the job */

#define UPLOAD_JOB_WAIT_MS (15 * 60 * 1000)

int recipe_backup_upload(job *jb)
{
    const config *cfg = job_config(jb);
    const cJSON *idj = cJSON_GetObjectItem(job_params(jb), "backup_id");
    int64_t id = cJSON_IsNumber(idj) ? (int64_t)idj->valuedouble : 0, deadline;
    hp_backup b;
    backup_remote_op op;
    char key[512];
    cJSON *res = job_result(jb);

    if (!s3_enabled(cfg)) {
        job_fail(jb, "no [s3] endpoint is configured");
        return -1;
    }
    if (id <= 0 || db_get_backup(job_db(jb), id, &b) != 1) {
        job_fail(jb, "backup %lld is not in the catalogue", (long long)id);
        return -1;
    }
    if (s3_key_for(cfg, b.path, key, sizeof(key)) < 0) {
        job_fail(jb, "the object name would be too long");
        return -1;
    }
    memset(&op, 0, sizeof(op));
    op.what = BR_UPLOAD_RESET;
    op.id = b.id;
    op.cluster = b.cluster;
    op.key = key;
    op.next_at = hp_now_ms();
    if (evq_backup_remote(job_events(jb), &op) != 1) {
        job_fail(jb, "the remote copy of backup %lld is %s: nothing to upload", (long long)b.id,
                 b.remote_state);
        return -1;
    }
    job_step(jb, "upload of backup %lld (%lld bytes) to %s queued as attempt 1 (bucket %s)",
             (long long)b.id, (long long)b.size_bytes, b.remote_key[0] ? b.remote_key : key,
             cfg->s3_bucket);
    cJSON_AddNumberToObject(res, "backup_id", (double)b.id);
    deadline = hp_mono_ms() + UPLOAD_JOB_WAIT_MS;
    for (;;) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        hp_backup now;
        if (db_get_backup(job_db(jb), id, &now) != 1) {
            job_fail(jb, "backup %lld was deleted meanwhile", (long long)id);
            return -1;
        }
        if (strcmp(now.remote_state, "pending") || now.remote_attempts >= 1) {
            cJSON_AddStringToObject(res, "remote_key", now.remote_key);
            cJSON_AddStringToObject(res, "state", now.remote_state);
            cJSON_AddNumberToObject(res, "attempts", now.remote_attempts);
            if (!strcmp(now.remote_state, "uploaded")) {
                job_step(jb, "uploaded and its size checked (HEAD)");
                return 0;
            }
            job_fail(jb, "attempt %d failed: %s%s", now.remote_attempts, now.remote_error,
                     strcmp(now.remote_state, "pending") ? ""
                                                         : "; it is retried in the background");
            return -1;
        }
        if (job_cancelled(jb) || hp_mono_ms() > deadline) {
            job_fail(jb, "%s before the first attempt ended; the upload stays queued",
                     job_cancelled(jb) ? "hapanel is stopping" : "15 minutes passed");
            return -1;
        }
        nanosleep(&ts, NULL);
    }
}
