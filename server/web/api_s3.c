/* api_s3.c — the off-site copies of the backups (issue 14 item 6): how a
 * backup's remote object is shown, and asking for its upload again. The
 * upload itself is actions/s3.c's, on its own thread. */
#define _POSIX_C_SOURCE 200809L
#include "web/api_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actions/backup.h"
#include "actions/s3.h"
#include "redis/rdbcheck.h"
#include "db/db.h"
#include "web/http.h"
#include "web/route.h"
#include "core/banned.h" /* last: after every system header */

cJSON *api__backup_remote(const hp_backup *b)
{
    cJSON *o;
    if (!b->remote_state[0]) return cJSON_CreateNull();
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "key", b->remote_key);
    cJSON_AddStringToObject(o, "state", b->remote_state);
    if (b->remote_uploaded_at > 0)
        cJSON_AddNumberToObject(o, "uploaded_at", (double)b->remote_uploaded_at);
    else
        cJSON_AddNullToObject(o, "uploaded_at");
    cJSON_AddNumberToObject(o, "attempts", b->remote_attempts);
    if (!strcmp(b->remote_state, "pending") && b->remote_next_at > 0)
        cJSON_AddNumberToObject(o, "next_attempt_at", (double)b->remote_next_at);
    if (b->remote_error[0])
        cJSON_AddStringToObject(o, "error", b->remote_error);
    else
        cJSON_AddNullToObject(o, "error");
    return o;
}

/* The SHA-256 of the file at path into sha (65 bytes): 0, or -1 when it
 * cannot be read. Its buffer is on the heap: HTTP workers have small stacks. */
static int file_sha256(const char *path, char *sha)
{
    FILE *f = fopen(path, "rb");
    rdbcheck *v = rdbcheck_new();
    unsigned char *buf = malloc(65536);
    char err[128];
    size_t n;
    int rc = -1;

    sha[0] = '\0';
    if (!f || !v || !buf) goto out;
    while ((n = fread(buf, 1, 65536, f)) > 0)
        rdbcheck_feed(v, buf, n);
    if (!ferror(f)) {
        rdbcheck_finish(v, sha, err, sizeof(err)); /* the digest, whatever the format says */
        rc = 0;
    }
out:
    if (f) fclose(f);
    rdbcheck_free(v);
    free(buf);
    return rc;
}

/* GET /api/v1/backups/{id}/download?from=remote: the object is fetched
 * into a temp file in the backup dir (".partial": a crash leaves nothing
 * the next start does not remove), checked against the catalogue (size,
 * SHA-256: a copy that is not the backup is never served as it), sent,
 * and removed. */
#define REMOTE_DOWNLOADS_MAX 2 /* each holds an HTTP worker and a copy on disk */

int api__backup_download_remote(hreq *r, const hp_backup *b, const char *from)
{
    static unsigned long seq;
    static int inflight;
    const config *cfg = r->app->cfg;
    char dir[1024], tmp[1200], sha[65] = "", err[512] = "";
    int64_t len = -1;
    long st;
    int n, status;

    if (strcmp(from, "remote"))
        return http_error(r, 400, "bad_request", "from: local (the default) or remote");
    if (!s3_enabled(cfg))
        return http_error(r, 412, "precondition_failed", "no [s3] endpoint is configured");
    if (strcmp(b->remote_state, "uploaded"))
        return http_error(r, 409, "conflict", "backup %lld has no uploaded remote copy (%s)",
                          (long long)b->id, b->remote_state[0] ? b->remote_state : "none");
    backup_dir(cfg, dir, sizeof(dir));
    n = snprintf(tmp, sizeof(tmp), "%s/.remote-%lld-%lu.partial", dir, (long long)b->id,
                 __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
    if (!dir[0] || n < 0 || (size_t)n >= sizeof(tmp))
        return http_error(r, 500, "internal", "the backup directory path is too long");
    if (__atomic_add_fetch(&inflight, 1, __ATOMIC_RELAXED) > REMOTE_DOWNLOADS_MAX) {
        __atomic_sub_fetch(&inflight, 1, __ATOMIC_RELAXED);
        return http_error(r, 503, "unavailable",
                          "%d downloads from the object store are running; try again later",
                          REMOTE_DOWNLOADS_MAX);
    }
    /* bounded: an object larger than the backup is refused as it comes, a
     * stalled store by curl's low-speed limit, and a stop of hapanel ends
     * the transfer at once */
    st = s3_request(cfg, "GET", b->remote_key, tmp, b->size_bytes, NULL, &len, &r->app->stopping,
                    err, sizeof(err));
    /* an error is answered after the temp file is gone: a client that
     * reads the answer sees no trace of the transfer left */
    if (st < 200 || st > 299) {
        unlink(tmp);
        if (__atomic_load_n(&r->app->stopping, __ATOMIC_RELAXED))
            status = http_error(r, 503, "unavailable", "hapanel is stopping");
        else
            status = http_error(r, 502, "bad_gateway", "the object store: %s", err);
        goto out;
    }
    if (file_sha256(tmp, sha) < 0 || strcmp(sha, b->sha256)) {
        unlink(tmp);
        status = http_error(r, 502, "bad_gateway",
                            "the remote copy %s is not backup %lld (sha256 %s, the catalogue's %s)",
                            b->remote_key, (long long)b->id, sha, b->sha256);
        goto out;
    }
    status = http_send_file(r, tmp, "application/octet-stream", strrchr(b->path, '/') + 1);
out:
    unlink(tmp); /* after a file was sent, or again: ENOENT */
    __atomic_sub_fetch(&inflight, 1, __ATOMIC_RELAXED);
    return status;
}

/* POST /api/v1/backups/{id}/upload: the upload starts over from attempt 1,
 * as a job that follows that attempt. */
int h_backup_upload(hreq *r)
{
    static const field_spec spec[] = {{"reason", cJSON_String}};
    cJSON *body = NULL, *params = NULL;
    hp_backup b;
    int st;

    if ((st = http_body_json(r, &body))) return st;
    if ((st = api__check_fields(r, body, spec, sizeof(spec) / sizeof(spec[0])))) goto out;
    if ((st = api__find_backup(r, &b)) != 1) goto out;
    if (!s3_enabled(r->app->cfg)) {
        st = http_error(r, 412, "precondition_failed",
                        "no [s3] endpoint is configured (HAPANEL_S3_ENDPOINT)");
        goto out;
    }
    if (!strcmp(b.remote_state, "uploaded") || !strcmp(b.remote_state, "deleting")) {
        st = http_error(r, 409, "conflict", "the remote copy of backup %lld is %s", (long long)b.id,
                        b.remote_state);
        goto out;
    }
    params = cJSON_CreateObject();
    cJSON_AddNumberToObject(params, "backup_id", (double)b.id);
    st = api__submit(r, "backup-upload", b.cluster, params, api__str_field(body, "reason"));
out:
    cJSON_Delete(body);
    cJSON_Delete(params);
    return st;
}
