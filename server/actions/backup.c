/* backup.c — remote RDB backups, BGSAVE, retention and the backup schedule
 * (see backup.h).
 *
 * A backup is taken like `redis-cli --rdb`: on a fresh connection (AUTH
 * first) REPLCONF capa eof and REPLCONF rdb-only 1, then SYNC. The server
 * sends newlines as keep-alives while it prepares the snapshot, then either
 * "$<len>\r\n" and len bytes (disk-based sync) or "$EOF:<40-byte mark>\r\n" and
 * the data followed by the mark (diskless sync). Bytes go straight to a temp
 * file in fixed-size pieces while the header, CRC64 and SHA-256 are computed,
 * so memory stays flat whatever the dataset size. Only a verified file is
 * fsynced, renamed into place and catalogued; a short or corrupt transfer
 * leaves nothing that looks complete. */
#define _GNU_SOURCE
#include "actions/backup.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db/db.h"
#include "actions/jobs.h"
#include "core/log.h"
#include "redis/rclient.h"
#include "redis/rdbcheck.h"
#include "model/policy.h"
#include "model/topology.h"
#include "core/ticker.h"
#include "actions/s3.h"
#include "actions/restore.h"
#include "ha/ha.h"
#include "core/banned.h" /* last: after every system header */

#define BACKUP_CHUNK (256 * 1024)
#define BACKUP_IO_TIMEOUT_S 60 /* keep-alives come every second while the server prepares */
#define BACKUP_POLL_S 1        /* a blocked read looks at shutdown this often */
#define PROGRESS_EVERY_MS 1000
#define STALE_AFTER_MS (3600 * 1000LL)
/* How long the claim on a scheduled slot is kept in etcd (HA): well past
 * any slot a scheduler could still consider. */
#define SLOT_CLAIM_TTL_S (3 * 24 * 3600)

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

const char *backup_dir(const config *cfg, char *buf, size_t bufsz)
{
    int n;
    if (cfg->backup_dir[0])
        n = snprintf(buf, bufsz, "%s", cfg->backup_dir);
    else
        n = snprintf(buf, bufsz, "%s/backups", cfg->data_dir);
    if (n < 0 || (size_t)n >= bufsz)
        buf[0] = '\0'; /* too long: no directory rather than a wrong one */
    return buf;
}

/* ------------------------------------------------------------ the transfer */

typedef struct xfer {
    job *jb;
    int sock, out;
    int idle_s; /* seconds without a byte */
    rdbcheck *check;
    uint64_t total; /* 0 when the server streams without a length */
    int64_t last_progress;
    char err[256];
} xfer;

/* recv() that gives up after BACKUP_IO_TIMEOUT_S without data, or at once
 * when hapanel is stopping. Returns bytes read, 0 at end of stream, or -1
 * with x->err. */
static ssize_t xrecv(xfer *x, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = recv(x->sock, buf, len, 0);
        if (n >= 0) {
            if (n > 0) x->idle_s = 0;
            return n;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            snprintf(x->err, sizeof(x->err), "%s", strerror(errno));
            return -1;
        }
        if (job_cancelled(x->jb)) {
            snprintf(x->err, sizeof(x->err), "hapanel is stopping");
            return -1;
        }
        x->idle_s += BACKUP_POLL_S;
        if (x->idle_s >= BACKUP_IO_TIMEOUT_S) {
            snprintf(x->err, sizeof(x->err), "no data for %d s", BACKUP_IO_TIMEOUT_S);
            return -1;
        }
    }
}

/* Reads exactly one byte; -1 on error or timeout. */
static int read_byte(xfer *x, unsigned char *c)
{
    ssize_t n = xrecv(x, c, 1);
    if (n == 1) return 0;
    if (n == 0) snprintf(x->err, sizeof(x->err), "connection closed by the server");
    return -1;
}

/* Reads the bulk header line, skipping the newline keep-alives. */
static int read_header(xfer *x, char *line, size_t linesz)
{
    size_t n = 0;
    unsigned char c;
    for (;;) {
        if (read_byte(x, &c) < 0) return -1;
        if (n == 0 && c == '\n') continue; /* keep-alive */
        if (c == '\n') break;
        if (n + 1 >= linesz) {
            snprintf(x->err, sizeof(x->err), "reply line too long");
            return -1;
        }
        line[n++] = (char)c;
    }
    if (n && line[n - 1] == '\r') n--;
    line[n] = '\0';
    if (line[0] == '-') {
        snprintf(x->err, sizeof(x->err), "server refused SYNC: %.200s", line + 1);
        return -1;
    }
    if (line[0] != '$') {
        snprintf(x->err, sizeof(x->err), "unexpected reply to SYNC");
        return -1;
    }
    return 0;
}

static int write_all(xfer *x, const unsigned char *p, size_t len)
{
    while (len) {
        ssize_t w = write(x->out, p, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            snprintf(x->err, sizeof(x->err), "writing the backup: %s", strerror(errno));
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static int emit_data(xfer *x, const unsigned char *p, size_t len)
{
    int64_t now;
    if (!len) return 0;
    rdbcheck_feed(x->check, p, len);
    if (write_all(x, p, len) < 0) return -1;
    now = hp_mono_ms();
    if (now - x->last_progress >= PROGRESS_EVERY_MS) {
        cJSON *res = job_result(x->jb);
        x->last_progress = now;
        cJSON_DeleteItemFromObject(res, "bytes_received");
        cJSON_AddNumberToObject(res, "bytes_received", (double)rdbcheck_size(x->check));
        if (x->total)
            job_step(x->jb, "received %llu of %llu bytes",
                     (unsigned long long)rdbcheck_size(x->check), (unsigned long long)x->total);
        else
            job_step(x->jb, "received %llu bytes", (unsigned long long)rdbcheck_size(x->check));
    }
    return 0;
}

/* "$<len>": exactly len bytes. */
static int stream_len(xfer *x, unsigned char *buf)
{
    uint64_t left = x->total;
    while (left) {
        ssize_t n = xrecv(x, buf, left < BACKUP_CHUNK ? (size_t)left : BACKUP_CHUNK);
        if (n <= 0) {
            char why[256];
            hp_strlcpy(why, n == 0 ? "connection closed" : x->err, sizeof(why));
            snprintf(x->err, sizeof(x->err), "transfer cut after %llu of %llu bytes: %.180s",
                     (unsigned long long)(x->total - left), (unsigned long long)x->total, why);
            return -1;
        }
        if (emit_data(x, buf, (size_t)n) < 0) return -1;
        left -= (uint64_t)n;
    }
    return 0;
}

/* "$EOF:<mark>": data until the 40-byte mark. The last 40 bytes received are
 * held back until more arrive, since they may be the mark. */
static int stream_eof(xfer *x, unsigned char *buf, const char *mark)
{
    unsigned char hold[40 + BACKUP_CHUNK];
    size_t nhold = 0;

    for (;;) {
        ssize_t n = xrecv(x, hold + nhold, BACKUP_CHUNK);
        (void)buf;
        if (n <= 0) {
            char why[256];
            hp_strlcpy(why, n == 0 ? "connection closed" : x->err, sizeof(why));
            snprintf(x->err, sizeof(x->err),
                     "transfer cut after %llu bytes, end mark not seen: %.180s",
                     (unsigned long long)rdbcheck_size(x->check), why);
            return -1;
        }
        nhold += (size_t)n;
        if (nhold >= 40 && !memcmp(hold + nhold - 40, mark, 40))
            return emit_data(x, hold, nhold - 40);
        if (nhold > 40) {
            if (emit_data(x, hold, nhold - 40) < 0) return -1;
            memmove(hold, hold + nhold - 40, 40);
            nhold = 40;
        }
    }
}

/* Opens the replication connection to node and streams its snapshot into the
 * open file x->out. Returns 0 or -1 with x->err. */
static int transfer(xfer *x, const config *cfg, const char *node)
{
    char err[256], line[128], mapbuf[HP_ADDR_MAX];
    const cfg_group *g = job_group(x->jb);
    rclient *rc = rclient_connect(config_map_addr(g, node, mapbuf, sizeof(mapbuf)), g->redis_user,
                                  g->redis_password, cfg->timeout_ms, err, sizeof(err));
    unsigned char *buf = NULL;
    struct timeval tv = {BACKUP_POLL_S, 0};
    int ret = -1;

    if (!rc) {
        snprintf(x->err, sizeof(x->err), "%.250s", err);
        return -1;
    }
    /* capa eof lets a diskless master stream to us; rdb-only (7.0+) stops it
     * from following the snapshot with the replication stream. */
    if (rclient_ok(rc, err, sizeof(err), "REPLCONF capa eof") < 0) {
        snprintf(x->err, sizeof(x->err), "REPLCONF refused: %.200s", err);
        goto out;
    }
    if (rclient_ok(rc, err, sizeof(err), "REPLCONF rdb-only 1") < 0)
        job_step(x->jb, "server does not know rdb-only (older than 7.0); continuing");
    x->sock = rclient_fd(rc);
    setsockopt(x->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (send(x->sock, "SYNC\r\n", 6, MSG_NOSIGNAL) != 6) {
        snprintf(x->err, sizeof(x->err), "sending SYNC: %s", strerror(errno));
        goto out;
    }
    job_step(x->jb, "SYNC sent to %s; waiting for the snapshot", node);
    if (read_header(x, line, sizeof(line)) < 0) goto out;
    buf = malloc(BACKUP_CHUNK);
    if (!buf) goto out;
    if (!strncmp(line, "$EOF:", 5)) {
        if (strlen(line + 5) != 40) {
            snprintf(x->err, sizeof(x->err), "bad EOF mark");
            goto out;
        }
        job_step(x->jb, "streaming (diskless, length unknown)");
        ret = stream_eof(x, buf, line + 5);
    } else {
        char *end;
        x->total = strtoull(line + 1, &end, 10);
        if (*end || !x->total) {
            snprintf(x->err, sizeof(x->err), "bad length in reply to SYNC");
            goto out;
        }
        cJSON_AddNumberToObject(job_result(x->jb), "bytes_total", (double)x->total);
        job_step(x->jb, "streaming %llu bytes", (unsigned long long)x->total);
        ret = stream_len(x, buf);
    }
out:
    free(buf);
    rclient_free(rc);
    return ret;
}

/* ----------------------------------------------------------------- retention */

typedef struct keep_ctx {
    hp_backup *list;
    int n, cap;
} keep_ctx;

static void collect_backup(void *ctx, const hp_backup *b)
{
    keep_ctx *k = ctx;
    if (k->n == k->cap) {
        int cap = k->cap ? k->cap * 2 : 16;
        hp_backup *nl = realloc(k->list, sizeof(*nl) * (size_t)cap);
        if (!nl) return;
        k->list = nl;
        k->cap = cap;
    }
    k->list[k->n++] = *b;
}

/* Deletes what the retention settings no longer keep (never the newest).
 * Returns how many were deleted. */
int backup_retention(const config *cfg, db *d, evq *q, const char *cluster, job *jb)
{
    keep_ctx k = {NULL, 0, 0};
    int64_t now = hp_now_ms();
    int i, deleted = 0;

    if (db_query_backups(d, cluster, 100000, collect_backup, &k) < 0) return 0;
    for (i = 1; i < k.n; i++) {
        int too_many = cfg->backup_keep_last > 0 && i >= cfg->backup_keep_last;
        int too_old = cfg->backup_keep_days > 0 &&
                      now - k.list[i].created_at > (int64_t)cfg->backup_keep_days * 86400000LL;
        if (!too_many && !too_old) continue;
        if (evq_backup_delete(q, &k.list[i], "retention") == 0) {
            deleted++;
            if (jb)
                job_step(jb, "retention: deleted backup %lld of %s (%s)", (long long)k.list[i].id,
                         k.list[i].node, too_many ? "beyond keep_last" : "older than keep_days");
        }
    }
    s3_retention(cfg, q, k.list, k.n, jb); /* item 6: the off-site copies' own */
    free(k.list);
    return deleted;
}

/* ----------------------------------------------------------------- recipes */

/* Copies src keeping letters, digits, '-' and '.', other bytes as '_', and
 * never a leading '.': master names come from Sentinel and must not steer a
 * path ("../x"). */
static void file_safe(char *dst, size_t dstsz, const char *src)
{
    size_t i;
    for (i = 0; src[i] && i + 1 < dstsz; i++) {
        char ch = src[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '-' || (ch == '.' && i > 0);
        dst[i] = ok ? ch : '_';
    }
    dst[i] = '\0';
}

/* The healthiest replica (up, link up, least lag), else the master. */
int recipe_backup(job *jb)
{
    const config *cfg = job_config(jb);
    db *d = job_db(jb);
    const char *want = cJSON_GetStringValue(cJSON_GetObjectItem(job_params(jb), "node"));
    topo_snap *t = topo_acquire();
    const cluster_snap *c = topo_find(t, job_cluster(jb));
    char dir[1024], tmp[1300] = "", final[1200], node[HP_ADDR_MAX], safe[HP_ADDR_MAX], sha[65] = "";
    char safe_name[HP_NAME_MAX];
    char err[256];
    xfer x;
    hp_backup b;
    int rc = -1, v;
    int64_t started = hp_mono_ms();
    struct tm tm;
    time_t now = time(NULL);
    char stamp[32];

    memset(&x, 0, sizeof(x));
    x.jb = jb;
    x.out = x.sock = -1;
    if (!c) {
        job_fail(jb, "cluster %s is no longer monitored", job_cluster(jb));
        goto out;
    }
    if (want && want[0])
        hp_strlcpy(node, want, sizeof(node));
    else if (policy_backup_source(c))
        hp_strlcpy(node, policy_backup_source(c)->addr, sizeof(node));
    else {
        job_fail(jb, "no healthy replica and no reachable master to back up from");
        goto out;
    }
    job_step(jb, "source: %s (%s)", node, !strcmp(node, c->master) ? "the master" : "a replica");
    backup_dir(cfg, dir, sizeof(dir));
    if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
        job_fail(jb, "cannot create %s: %s", dir, strerror(errno));
        goto out;
    }
    file_safe(safe, sizeof(safe), node);
    file_safe(safe_name, sizeof(safe_name), c->name);
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    if (!dir[0] ||
        snprintf(final, sizeof(final), "%s/%s-%s-%s-%lld.rdb", dir, safe_name, safe, stamp,
                 (long long)job_id(jb)) >= (int)sizeof(final) ||
        snprintf(tmp, sizeof(tmp), "%s.partial", final) >= (int)sizeof(tmp)) {
        tmp[0] = '\0';
        job_fail(jb, "the backup directory path is too long");
        goto out;
    }
    x.out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    x.check = rdbcheck_new();
    if (x.out < 0 || !x.check) {
        job_fail(jb, "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (transfer(&x, cfg, node) < 0) {
        job_fail(jb, "%s", x.err);
        goto out;
    }
    cJSON_DeleteItemFromObject(job_result(jb), "bytes_received");
    cJSON_AddNumberToObject(job_result(jb), "bytes_received", (double)rdbcheck_size(x.check));
    v = rdbcheck_finish(x.check, sha, err, sizeof(err));
    if (v == RDB_BAD) {
        job_fail(jb, "the snapshot from %s is not valid: %s", node, err);
        goto out;
    }
    if (fsync(x.out) < 0 || close(x.out) < 0) {
        x.out = -1;
        job_fail(jb, "fsync of %s failed: %s", tmp, strerror(errno));
        goto out;
    }
    x.out = -1;
    if (rename(tmp, final) < 0) {
        job_fail(jb, "rename to %s failed: %s", final, strerror(errno));
        goto out;
    }
    {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* make the rename durable */
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    memset(&b, 0, sizeof(b));
    hp_strlcpy(b.cluster, c->name, sizeof(b.cluster));
    hp_strlcpy(b.node, node, sizeof(b.node));
    b.created_at = hp_now_ms();
    b.size_bytes = (int64_t)rdbcheck_size(x.check);
    hp_strlcpy(b.sha256, sha, sizeof(b.sha256));
    b.verified = v == RDB_OK;
    hp_strlcpy(b.path, final, sizeof(b.path));
    b.job_id = job_id(jb);
    /* item 6: the off-site copy is queued with the row, in its transaction */
    if (s3_enabled(cfg) && s3_key_for(cfg, final, b.remote_key, sizeof(b.remote_key)) < 0)
        job_step(jb, "no off-site copy: the object name would be too long");
    b.remote_next_at = b.created_at;
    if (evq_backup_insert(job_events(jb), &b) < 0) {
        unlink(final);
        job_fail(jb, "the backup could not be catalogued");
        goto out;
    }
    {
        int64_t ms = hp_mono_ms() - started;
        cJSON *res = job_result(jb);
        cJSON_AddNumberToObject(res, "backup_id", (double)b.id);
        cJSON_AddStringToObject(res, "node", node);
        cJSON_AddNumberToObject(res, "size_bytes", (double)b.size_bytes);
        cJSON_AddStringToObject(res, "sha256", sha);
        cJSON_AddBoolToObject(res, "verified", b.verified);
        job_step(jb, "backup %lld: %lld bytes from %s in %lld ms, %s, sha256 %s", (long long)b.id,
                 (long long)b.size_bytes, node, (long long)ms,
                 b.verified ? "header and CRC64 verified" : "header verified, no CRC64 in the file",
                 sha);
        if (b.remote_key[0]) {
            cJSON_AddStringToObject(res, "remote_key", b.remote_key);
            job_step(jb, "upload to bucket %s as %s queued", cfg->s3_bucket, b.remote_key);
        }
    }
    /* item 7: the key figures a restore check compares with; a file the
     * walker cannot read is still a verified backup (the reason is kept) */
    restore_walk_backup(jb, job_events(jb), &b, err, sizeof(err));
    backup_retention(cfg, d, job_events(jb), c->name, jb);
    rc = 0;
out:
    if (x.out >= 0) close(x.out);
    if (rc != 0 && tmp[0]) unlink(tmp);
    rdbcheck_free(x.check);
    topo_release(t);
    return rc;
}

int recipe_bgsave(job *jb)
{
    const config *cfg = job_config(jb);
    const char *node = cJSON_GetStringValue(cJSON_GetObjectItem(job_params(jb), "node"));
    char err[256], mapbuf[HP_ADDR_MAX];
    const cfg_group *g = job_group(jb);
    rclient *n =
        node ? rclient_connect(config_map_addr(g, node, mapbuf, sizeof(mapbuf)), g->redis_user,
                               g->redis_password, cfg->timeout_ms, err, sizeof(err))
             : NULL;
    node_info before, in;
    int64_t deadline;
    int rc = -1;

    if (!n) {
        job_fail(jb, "%s", node ? err : "no node");
        return -1;
    }
    if (rclient_info(n, &before, err, sizeof(err)) < 0 ||
        rclient_ok(n, err, sizeof(err), "BGSAVE") < 0) {
        job_fail(jb, "BGSAVE on %s: %s", node, err);
        goto out;
    }
    job_step(jb, "BGSAVE started on %s", node);
    /* Done when a save was seen running and stopped, or the last save time
     * moved; a save too quick to be seen running counts as done after 2 s
     * with nothing in progress (rdb_last_save_time is in whole seconds). */
    deadline = hp_mono_ms() + 3600 * 1000;
    {
        int64_t idle_since = hp_mono_ms();
        int seen_running = 0;
        while (hp_mono_ms() < deadline) {
            sleep_ms(100);
            if (job_cancelled(jb)) {
                job_fail(jb, "hapanel is stopping; the BGSAVE goes on on %s", node);
                goto out;
            }
            if (rclient_info(n, &in, err, sizeof(err)) < 0) {
                job_fail(jb, "%s", err);
                goto out;
            }
            if (in.rdb_bgsave_in_progress) {
                seen_running = 1;
                idle_since = hp_mono_ms();
                continue;
            }
            if (seen_running || in.rdb_last_save_time != before.rdb_last_save_time ||
                hp_mono_ms() - idle_since >= 2000)
                break;
        }
    }
    if (strcmp(in.rdb_last_bgsave_status, "ok")) {
        job_fail(jb, "BGSAVE on %s failed (rdb_last_bgsave_status %s)", node,
                 in.rdb_last_bgsave_status);
        goto out;
    }
    cJSON_AddStringToObject(job_result(jb), "node", node);
    cJSON_AddNumberToObject(job_result(jb), "rdb_last_save_time", (double)in.rdb_last_save_time);
    job_step(jb, "BGSAVE on %s done", node);
    rc = 0;
out:
    rclient_free(n);
    return rc;
}

/* ---------------------------------------------------------------- schedule */

/* The latest scheduled instant at or before now (ms), 0 if no schedule. */
int64_t backup_schedule_latest(const config *cfg, int64_t now_ms)
{
    int64_t best = 0;
    if (cfg->backup_interval_minutes > 0) {
        int64_t step = (int64_t)cfg->backup_interval_minutes * 60000;
        best = now_ms / step * step;
    }
    if (cfg->backup_daily_at[0]) {
        int hh = 0, mm = 0;
        time_t now = (time_t)(now_ms / 1000), at;
        struct tm tm;
        if (sscanf(cfg->backup_daily_at, "%d:%d", &hh, &mm) == 2) {
            localtime_r(&now, &tm);
            tm.tm_hour = hh;
            tm.tm_min = mm;
            tm.tm_sec = 0;
            tm.tm_isdst = -1;
            at = mktime(&tm);
            if (at > now) {
                tm.tm_mday -= 1;
                tm.tm_isdst = -1;
                at = mktime(&tm);
            }
            if ((int64_t)at * 1000 > best) best = (int64_t)at * 1000;
        }
    }
    return best;
}

/* taken_elsewhere: with HA, the slot another instance claimed (its backup
 * is in that instance's catalogue, not this one's: not stale here). */
typedef struct sched_state {
    char cluster[HP_NAME_MAX];
    int64_t submitted_for, stale_for, taken_elsewhere;
} sched_state;

struct backup_sched {
    const config *cfg;
    db *d;
    jobs *j;
    evq *q;
    hp_ticker *ticker;
    s3_uploader *uploader; /* item 6; NULL when [s3] is off */
    int64_t started_at;
    sched_state st[64];
    int nst;
};

static sched_state *state_for(backup_sched *s, const char *cluster)
{
    int i;
    for (i = 0; i < s->nst; i++)
        if (!strcmp(s->st[i].cluster, cluster)) return &s->st[i];
    if (s->nst == (int)(sizeof(s->st) / sizeof(s->st[0]))) return NULL;
    memset(&s->st[s->nst], 0, sizeof(s->st[0]));
    hp_strlcpy(s->st[s->nst].cluster, cluster, sizeof(s->st[0].cluster));
    return &s->st[s->nst++];
}

static void newest(void *ctx, const hp_backup *b)
{
    *(int64_t *)ctx = b->created_at;
}

/* With HA: one instance takes each scheduled slot, whichever leads when it
 * is due, also across a change of leader (the catalogue the "already
 * taken" check reads is this instance's own). 1 this one takes it, 0
 * another did (st notes it), -1 not now (etcd did not answer). */
static int claim_slot(backup_sched *s, sched_state *st, const char *cluster, int64_t due)
{
    char key[HP_NAME_MAX + 64], by[64];
    int rc;
    ha *h = jobs_ha(s->j);

    if (!h) return 1;
    snprintf(key, sizeof(key), "sched/backup/%s/%lld", cluster, (long long)due);
    rc = ha_claim(h, key, SLOT_CLAIM_TTL_S, by, sizeof(by));
    if (rc == 0) {
        log_info("backup: the scheduled backup of %s due at %lld was taken by instance %s", cluster,
                 (long long)due, by);
        st->submitted_for = due;
        st->taken_elsewhere = due;
    }
    return rc;
}

/* One look at every cluster: submit the backup a schedule asks for, and say
 * so when one is overdue by an hour. A cluster with no backup at all only
 * gets the instants that fall while hapanel runs: a first start does not
 * count as a missed schedule. With HA only the leader looks. */
static void sched_tick(backup_sched *s)
{
    int64_t now = hp_now_ms(), due = backup_schedule_latest(s->cfg, now);
    topo_snap *t;
    int i;

    if (!due || !ha_is_leader(jobs_ha(s->j))) return;
    t = topo_acquire();
    for (i = 0; i < t->nclusters; i++) {
        const char *name = t->clusters[i]->name;
        sched_state *st = state_for(s, name);
        int64_t last = 0, id;
        cJSON *params;
        if (!st || db_query_backups(s->d, name, 1, newest, &last) < 0) continue;
        if (last >= due) continue;
        if (!last && due < s->started_at) continue;
        if (st->submitted_for != due) {
            if (claim_slot(s, st, name, due) != 1) continue;
            params = cJSON_CreateObject();
            if (jobs_submit(s->j, "backup", name, params, "scheduler", "scheduled backup", &id) ==
                JOBS_OK) {
                st->submitted_for = due;
                log_info("backup: scheduled backup of %s queued as job %lld", name, (long long)id);
            }
            cJSON_Delete(params);
        } else if (now - due > STALE_AFTER_MS && st->stale_for != due &&
                   st->taken_elsewhere != due) {
            hp_event e;
            char msg[256];
            snprintf(msg, sizeof(msg),
                     "no successful backup of %s since the one scheduled %lld min ago", name,
                     (long long)((now - due) / 60000));
            hp_event_set(&e, EV_BACKUP_STALE, name, "backup-stale", "warning", "panel", NULL, msg);
            evq_push(s->q, &e);
            st->stale_for = due;
        }
    }
    topo_release(t);
}

static void sched_tick_cb(void *arg)
{
    sched_tick(arg);
}

/* A crash in the middle of a transfer leaves its temp file: nothing can
 * finish it, so it goes at start (before any new backup can begin). */
static void remove_partials(const config *cfg)
{
    char dir[1024], path[1400];
    DIR *dh;
    struct dirent *de;

    backup_dir(cfg, dir, sizeof(dir));
    if (!dir[0] || !(dh = opendir(dir))) return;
    while ((de = readdir(dh)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l <= 8 || strcmp(de->d_name + l - 8, ".partial")) continue;
        if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path)) continue;
        if (unlink(path) == 0) log_info("backup: removed %s, left by an interrupted backup", path);
    }
    closedir(dh);
}

backup_sched *backup_sched_new(const config *cfg, db *d, jobs *j, evq *q)
{
    backup_sched *s;

    remove_partials(cfg);
    s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->cfg = cfg;
    s->d = d;
    s->j = j;
    s->q = q;
    s->started_at = hp_now_ms();
    if (!(s->ticker = hp_ticker_start(sched_tick_cb, s, 5000))) {
        free(s);
        return NULL;
    }
    if (s3_enabled(cfg) && !(s->uploader = s3_uploader_new(cfg, d, q)))
        log_error("s3: cannot start the uploader; backups stay local");
    return s;
}

void backup_sched_free(backup_sched *s)
{
    if (!s) return;
    hp_ticker_stop(s->ticker);
    s3_uploader_free(s->uploader);
    free(s);
}
