/* restore.c — the restore check of a backup (see restore.h).
 *
 * Why a real redis-server rather than the walker alone: the walker knows the
 * layout, the server knows the contents (a listpack or a stream node that
 * parses as a blob but not as data fails only here). Why the figures
 * compared: a server that loads a file loads whatever it holds; only the
 * catalogue says what the file should hold. */
#define _GNU_SOURCE
#include "actions/restore.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "actions/jobs.h"
#include "core/common.h"
#include "core/log.h"
#include "core/spawn.h"
#include "core/utf8.h"
#include "db/backup_restore.h"
#include "db/db.h"
#include "model/event.h"
#include "redis/rclient.h"
#include "redis/rdbwalk.h"
#include "core/banned.h" /* last: after every system header */

#define STOP_WAIT_MS 5000 /* SIGTERM, then SIGKILL */
#define POLL_MS 100
#define PROGRESS_EVERY_MS 1000

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int restore_find_server(const config *cfg, char *buf, size_t bufsz)
{
    const char *name = cfg->restore_redis_server;
    struct stat st;

    if (!name[0]) {
        snprintf(buf, bufsz, "[restore] redis_server is empty");
        return -1;
    }
    if (strchr(name, '/')) {
        if (stat(name, &st) == 0 && S_ISREG(st.st_mode) && access(name, X_OK) == 0) {
            snprintf(buf, bufsz, "%s", name);
            return 0;
        }
        snprintf(buf, bufsz, "%.200s is not an executable file ([restore] redis_server)", name);
        return -1;
    }
    if (hp_find_on_path(name, buf, bufsz)) return 0;
    snprintf(buf, bufsz,
             "%.100s is not installed on the panel's host (not found in PATH; set [restore] "
             "redis_server)",
             name);
    return -1;
}

/* ------------------------------------------------------------ key figures */

int restore_walk_backup(job *jb, evq *q, const hp_backup *b, char *err, size_t errsz)
{
    rdbwalk_result *w = calloc(1, sizeof(*w));
    backup_restore_op op;
    cJSON *sample = NULL;
    char *text = NULL;
    int rc = -1, v, i;

    err[0] = '\0';
    if (!w) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    v = rdbwalk_file(b->path, w);
    memset(&op, 0, sizeof(op));
    op.what = BRS_FIGURES;
    op.id = b->id;
    op.cluster = b->cluster;
    op.keys = -1;
    if (v == RDBWALK_BAD) {
        snprintf(err, errsz, "the file cannot be walked: %s", w->err);
        op.walk_error = err;
    } else {
        sample = cJSON_CreateArray();
        for (i = 0; i < w->nsample; i++) {
            cJSON *k = cJSON_CreateObject();
            cJSON_AddNumberToObject(k, "db", w->sample[i].db);
            cJSON_AddStringToObject(k, "key", w->sample[i].name);
            cJSON_AddStringToObject(k, "type", rdbwalk_type_name(w->sample[i].type));
            cJSON_AddBoolToObject(k, "expires", w->sample[i].has_expiry);
            cJSON_AddItemToArray(sample, k);
        }
        text = cJSON_PrintUnformatted(sample);
        op.keys = w->keys;
        op.expires = w->expires;
        op.sample = text;
        op.walk_error = v == RDBWALK_PARTIAL ? w->err : NULL;
        rc = 0;
    }
    if (evq_backup_restore(q, &op) < 0) {
        snprintf(err, errsz, "the key figures could not be stored");
        rc = -1;
    } else if (jb && rc == 0) {
        job_step(jb,
                 "key figures of backup %lld: %lld keys, %lld with an expiry, %d databases, %d "
                 "keys sampled%s%s",
                 (long long)b->id, (long long)w->keys, (long long)w->expires, w->ndbs, w->nsample,
                 v == RDBWALK_PARTIAL ? "; walk partial: " : "",
                 v == RDBWALK_PARTIAL ? w->err : "");
        cJSON_AddNumberToObject(job_result(jb), "keys", (double)w->keys);
        cJSON_AddNumberToObject(job_result(jb), "expires", (double)w->expires);
    } else if (jb) {
        job_step(jb, "key figures of backup %lld: %s", (long long)b->id, err);
    }
    free(text);
    cJSON_Delete(sample);
    free(w);
    return rc;
}

/* --------------------------------------------------- the scratch server */

/* Stops pid: SIGTERM, then SIGKILL after STOP_WAIT_MS; reaps it. Returns 1
 * when it had to be killed. */
static int stop_server(pid_t pid)
{
    int64_t until = hp_mono_ms() + STOP_WAIT_MS;
    int status;
    if (pid <= 0) return 0;
    kill(pid, SIGTERM);
    while (hp_mono_ms() < until) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD)) return 0;
        sleep_ms(20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return 1;
}

/* 1 when process pid is a redis-server whose working directory is real (the
 * resolved dir): redis chdir()s to its --dir, and rewrites its command line
 * ("redis-server 127.0.0.1:port"), so the --dir argument is gone from
 * /proc/pid/cmdline once it runs. */
static int redis_in_dir(long pid, const char *real)
{
    char path[64], cwd[PATH_MAX], comm[64] = "";
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%ld/cwd", pid);
    if ((n = readlink(path, cwd, sizeof(cwd) - 1)) <= 0) return 0;
    cwd[n] = '\0';
    if (strcmp(cwd, real)) return 0;
    snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) return 0;
    n = read(fd, comm, sizeof(comm) - 1);
    close(fd);
    comm[n > 0 ? n : 0] = '\0';
    return strstr(comm, "redis") != NULL;
}

/* Kills every process that is a scratch server of dir (the ones a crashed
 * hapanel left: their pid in the undo may have been reused, their dir
 * cannot be): a redis-server working in dir, or a process whose command
 * line names dir as an argument. Returns how many were killed. */
static int kill_by_dir(const char *dir)
{
    DIR *dh = opendir("/proc");
    struct dirent *de;
    int n = 0;
    size_t dl = strlen(dir);
    char real[PATH_MAX];

    if (!dh) return 0;
    if (!realpath(dir, real)) real[0] = '\0';
    while ((de = readdir(dh)) != NULL) {
        char path[64], cmd[4096];
        long pid;
        char *end;
        ssize_t got;
        int fd, match = 0;
        size_t i;
        pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 1 || pid == (long)getpid()) continue;
        if (real[0] && redis_in_dir(pid, real)) {
            kill((pid_t)pid, SIGKILL);
            n++;
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) continue;
        got = read(fd, cmd, sizeof(cmd) - 1);
        close(fd);
        if (got <= 0) continue;
        /* the arguments, NUL separated: one of them is exactly dir */
        for (i = 0; i < (size_t)got; i += strlen(cmd + i) + 1) {
            cmd[got] = '\0';
            if (strlen(cmd + i) == dl && !memcmp(cmd + i, dir, dl)) match = 1;
        }
        if (!match) continue;
        kill((pid_t)pid, SIGKILL);
        n++;
    }
    closedir(dh);
    return n;
}

/* Removes dir and the files in it (the scratch dir holds no subdirectory).
 * Returns 0, or -1 when something stayed. */
static int remove_dir(const char *dir)
{
    DIR *dh = opendir(dir);
    struct dirent *de;
    char path[1400];

    if (!dh) return errno == ENOENT ? 0 : -1;
    while ((de = readdir(dh)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) < (int)sizeof(path))
            unlink(path);
    }
    closedir(dh);
    return rmdir(dir) == 0 || errno == ENOENT ? 0 : -1;
}

/* A hard link, else a copy (the backup dir may be on another file system).
 * Returns 0 or -1 with err. */
static int place_file(const char *src, const char *dst, char *err, size_t errsz)
{
    char buf[65536];
    int in, out, rc = -1;
    ssize_t n;

    if (link(src, dst) == 0) return 0;
    in = open(src, O_RDONLY | O_CLOEXEC);
    out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (in < 0 || out < 0) {
        snprintf(err, errsz, "cannot copy %.200s: %s", src, strerror(errno));
        goto out;
    }
    while ((n = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, (size_t)n) != n) {
            snprintf(err, errsz, "copying the backup: %s", strerror(errno));
            goto out;
        }
    if (n < 0) {
        snprintf(err, errsz, "reading the backup: %s", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (in >= 0) close(in);
    if (out >= 0) close(out);
    return rc;
}

/* A loopback port nothing listens on now (bound and released: the scratch
 * server binds it a moment later). 0 on failure. */
static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = 0;
    if (fd < 0) return 0;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &al) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* The last line of the scratch server's log, for a failure message. */
static void last_log_line(const char *dir, char *out, size_t outsz)
{
    char path[1400], buf[4096];
    int fd;
    ssize_t n;
    char *end, *start;

    out[0] = '\0';
    snprintf(path, sizeof(path), "%s/redis.log", dir);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) return;
    if (lseek(fd, 0, SEEK_END) > (off_t)sizeof(buf) - 1)
        lseek(fd, -(off_t)sizeof(buf) + 1, SEEK_END);
    else
        lseek(fd, 0, SEEK_SET);
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) return;
    buf[n] = '\0';
    end = buf + n;
    while (end > buf && (end[-1] == '\n' || end[-1] == '\r'))
        *--end = '\0';
    start = end;
    while (start > buf && start[-1] != '\n')
        start--;
    hp_strlcpy(out, start, outsz);
    utf8_fix_str(out);
}

/* -------------------------------------------------------------- the check */

typedef struct check {
    job *jb;
    const config *cfg;
    hp_backup b;
    char dir[1100], file[1200], server[1024];
    pid_t pid;
    int port;
    char err[512]; /* why the check failed: recorded on the backup */
    int env_fail;  /* the failure is hapanel's host's, not the backup's: not recorded */
} check;

static int failf(check *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int failf(check *k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k->err, sizeof(k->err), fmt, ap);
    va_end(ap);
    return -1;
}

/* For a test: "restore-port=N" in HAPANEL_FAILPOINT makes the first
 * attempt use port N (one that is taken). 0 otherwise. */
static int failpoint_port(void)
{
    const char *fp = getenv("HAPANEL_FAILPOINT");
    long n;
    char *end;
    if (!fp || strncmp(fp, "restore-port=", 13)) return 0;
    n = strtol(fp + 13, &end, 10);
    return *end || n <= 0 || n > 65535 ? 0 : (int)n;
}

/* 1 when the server on c is the process pid (INFO server's process_id). */
static int is_ours(rclient *c, pid_t pid)
{
    char e[256];
    redisReply *r = rclient_cmd(c, e, sizeof(e), "INFO server");
    const char *p;
    long long got = -1;
    if (!r) return 0;
    if (r->type == REDIS_REPLY_STRING && (p = strstr(r->str, "process_id:")))
        got = strtoll(p + 11, NULL, 10);
    freeReplyObject(r);
    return got == (long long)pid;
}

/* Starts the scratch server and waits until it answers PING (it answers
 * LOADING while it reads the file). Returns the connection or NULL. */
static rclient *start_server(check *k, int databases)
{
    char port[16], dbs[16], logf[1300], addr[32], e[256];
    int64_t started = hp_mono_ms(), deadline, last_progress = 0;
    rclient *c = NULL;
    int attempt;

    snprintf(logf, sizeof(logf), "%s/redis.log", k->dir);
    snprintf(dbs, sizeof(dbs), "%d", databases);
    deadline = started + (int64_t)k->cfg->restore_load_timeout_s * 1000;
    for (attempt = 0; attempt < 3 && !c; attempt++) {
        char *argv[] = {(char *)"redis-server",
                        (char *)"--port",
                        port,
                        (char *)"--bind",
                        (char *)"127.0.0.1",
                        (char *)"--dir",
                        k->dir,
                        (char *)"--dbfilename",
                        (char *)"dump.rdb",
                        (char *)"--save",
                        (char *)"",
                        (char *)"--appendonly",
                        (char *)"no",
                        (char *)"--protected-mode",
                        (char *)"yes",
                        (char *)"--daemonize",
                        (char *)"no",
                        (char *)"--logfile",
                        logf,
                        (char *)"--databases",
                        dbs,
                        NULL};
        k->port = attempt == 0 ? failpoint_port() : 0;
        if (!k->port && !(k->port = free_port())) {
            failf(k, "no free loopback port");
            k->env_fail = 1;
            return NULL;
        }
        snprintf(port, sizeof(port), "%d", k->port);
        snprintf(addr, sizeof(addr), "127.0.0.1:%d", k->port);
        k->pid = hp_spawn(k->server, argv, HP_SPAWN_QUIET | HP_SPAWN_CLOSE_FDS);
        if (k->pid < 0) {
            k->env_fail = 1;
            failf(k, "cannot start %.200s: %s", k->server, strerror(errno));
            return NULL;
        }
        cJSON_DeleteItemFromObject(job_undo(k->jb), "pid");
        cJSON_AddNumberToObject(job_undo(k->jb), "pid", (double)k->pid);
        job_save_undo(k->jb);
        job_step(k->jb, "scratch %s started on 127.0.0.1:%d (pid %d), loading the file", k->server,
                 k->port, (int)k->pid);
        for (;;) {
            int status;
            redisReply *r;
            if (waitpid(k->pid, &status, WNOHANG) == k->pid) {
                char line[300];
                k->pid = 0;
                last_log_line(k->dir, line, sizeof(line));
                if (strstr(line, "Address already in use")) { /* lost the port: again */
                    rclient_free(c);
                    c = NULL;
                    break;
                }
                failf(k, "the scratch redis-server exited while loading: %s",
                      line[0] ? line : "(no log)");
                rclient_free(c);
                return NULL;
            }
            if (job_cancelled(k->jb)) {
                k->env_fail = 1;
                failf(k, "hapanel is stopping");
                rclient_free(c);
                return NULL;
            }
            if (hp_mono_ms() > deadline) {
                failf(k,
                      "the scratch server did not load the file within %d s ([restore] "
                      "load_timeout_s)",
                      k->cfg->restore_load_timeout_s);
                rclient_free(c); /* connected, answered LOADING */
                return NULL;
            }
            if (!c) c = rclient_connect(addr, "", "", 2000, e, sizeof(e));
            if (c) {
                r = rclient_cmd(c, e, sizeof(e), "PING");
                if (r && !is_ours(c, k->pid)) {
                    /* the port was taken between free_port and the bind:
                     * whoever answers is not the scratch server (which
                     * cannot bind it), and must not be what is checked */
                    freeReplyObject(r);
                    rclient_free(c);
                    c = NULL;
                    job_step(k->jb, "127.0.0.1:%d is another server's; trying another port",
                             k->port);
                    stop_server(k->pid);
                    k->pid = 0;
                    break;
                }
                if (r) {
                    freeReplyObject(r);
                    job_step(k->jb, "the scratch server loaded the file in %lld ms",
                             (long long)(hp_mono_ms() - started));
                    cJSON_AddNumberToObject(job_result(k->jb), "load_ms",
                                            (double)(hp_mono_ms() - started));
                    return c;
                }
                if (!strstr(e, ": LOADING")) { /* not an answer we wait on */
                    rclient_free(c);
                    c = NULL;
                }
            }
            if (hp_mono_ms() - last_progress >= PROGRESS_EVERY_MS && hp_mono_ms() - started > 900) {
                last_progress = hp_mono_ms();
                job_step(k->jb, "still loading (%lld ms)", (long long)(hp_mono_ms() - started));
            }
            sleep_ms(POLL_MS);
        }
    }
    failf(k, "the scratch server could not bind a loopback port");
    k->env_fail = 1;
    return NULL;
}

/* DBSIZE over every database (INFO keyspace). -1 with k->err. */
static int64_t loaded_keys(check *k, rclient *c)
{
    char e[256];
    redisReply *r = rclient_cmd(c, e, sizeof(e), "INFO keyspace");
    int64_t total = 0;
    const char *p;

    if (!r || r->type != REDIS_REPLY_STRING) {
        if (r) freeReplyObject(r);
        return failf(k, "INFO keyspace on the scratch server: %s", r ? "bad reply" : e);
    }
    for (p = r->str; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        int db;
        long long n;
        if (sscanf(p, "db%d:keys=%lld", &db, &n) == 2) total += n;
    }
    freeReplyObject(r);
    return total;
}

/* Every sampled key: present with its type (one with an expiry may have
 * expired since). Returns how many were checked, or -1 with k->err. */
static int check_sample(check *k, rclient *c, const cJSON *sample)
{
    const cJSON *it;
    char e[256];
    int n = 0, cur = -1;

    cJSON_ArrayForEach(it, sample)
    {
        const char *key = cJSON_GetStringValue(cJSON_GetObjectItem(it, "key"));
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(it, "type"));
        const cJSON *dbj = cJSON_GetObjectItem(it, "db");
        int expires = cJSON_IsTrue(cJSON_GetObjectItem(it, "expires"));
        int db = cJSON_IsNumber(dbj) ? dbj->valueint : -1;
        redisReply *r;
        long long exists;
        if (!key || !type || db < 0) return failf(k, "the catalogue's sample is not readable");
        if (db != cur) {
            if (rclient_ok(c, e, sizeof(e), "SELECT %d", db) < 0)
                return failf(k, "SELECT %d on the scratch server: %.200s", db, e);
            cur = db;
        }
        if (!(r = rclient_cmd(c, e, sizeof(e), "EXISTS %b", key, strlen(key))))
            return failf(k, "EXISTS on the scratch server: %.200s", e);
        exists = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
        freeReplyObject(r);
        if (!exists) {
            if (expires) continue;
            return failf(k, "the sampled key \"%.100s\" (db %d, %s) is missing", key, db, type);
        }
        if (!(r = rclient_cmd(c, e, sizeof(e), "TYPE %b", key, strlen(key))))
            return failf(k, "TYPE on the scratch server: %.200s", e);
        if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, type)) {
            failf(k, "the sampled key \"%.100s\" (db %d) is a %.20s, the catalogue says %s", key,
                  db, r->type == REDIS_REPLY_STATUS ? r->str : "?", type);
            freeReplyObject(r);
            return -1;
        }
        freeReplyObject(r);
        n++;
    }
    return n;
}

/* The databases a scratch server needs for the file at path: at least
 * atleast, and one more than the highest it uses. The sample names at most
 * 16 (and not a database whose first key is no text), and redis-server
 * refuses a file that uses more databases than it has: so the file says. */
static int file_databases(const char *path, int atleast)
{
    rdbwalk_result *w = calloc(1, sizeof(*w));
    int i;
    if (w && rdbwalk_file(path, w) != RDBWALK_BAD)
        for (i = 0; i < w->ndbs; i++)
            if (w->dbs[i].db >= atleast) atleast = w->dbs[i].db + 1;
    free(w);
    return atleast;
}

static void restore_event(job *jb, const hp_backup *b, int ok, const char *msg)
{
    hp_event e;
    hp_event_set(&e, EV_PANEL, b->cluster, ok ? "backup-restore-verified" : "backup-restore-failed",
                 ok ? "info" : "warning", "panel", b->node, msg);
    e.job_id = job_id(jb);
    evq_push(job_events(jb), &e);
}

static void record(check *k, int ok, const char *detail)
{
    backup_restore_op op;
    memset(&op, 0, sizeof(op));
    op.what = BRS_CHECKED;
    op.id = k->b.id;
    op.cluster = k->b.cluster;
    op.checked_at = hp_now_ms();
    op.ok = ok;
    op.detail = detail;
    if (evq_backup_restore(job_events(k->jb), &op) < 0)
        job_step(k->jb, "the outcome could not be stored on backup %lld", (long long)k->b.id);
}

int recipe_verify_restore(job *jb)
{
    const cJSON *idj = cJSON_GetObjectItem(job_params(jb), "backup_id");
    check *k = calloc(1, sizeof(*k));
    cJSON *sample = NULL;
    char *sample_text = NULL, detail[512], werr[256];
    rclient *c = NULL;
    int rc = -1, found, databases = 16, nchecked;
    int64_t dbsize, lo, hi;
    const cJSON *it;

    if (!k) {
        job_fail(jb, "out of memory");
        return -1;
    }
    k->jb = jb;
    k->cfg = job_config(jb);
    if (!cJSON_IsNumber(idj) ||
        (found = db_get_backup(job_db(jb), (int64_t)idj->valuedouble, &k->b)) <= 0) {
        job_fail(jb, "backup %lld is no longer in the catalogue",
                 cJSON_IsNumber(idj) ? (long long)idj->valuedouble : 0LL);
        free(k);
        return -1;
    }
    if (restore_find_server(k->cfg, k->server, sizeof(k->server)) < 0) {
        job_fail(jb, "%s", k->server);
        free(k);
        return -1;
    }
    cJSON_AddNumberToObject(job_result(jb), "backup_id", (double)k->b.id);
    job_step(jb, "restore check of backup %lld (%s, taken from %s) with %s", (long long)k->b.id,
             k->b.path, k->b.node, k->server);
    if (k->b.keys < 0) { /* older than the walker, or its walk failed */
        if (restore_walk_backup(jb, job_events(jb), &k->b, werr, sizeof(werr)) < 0) {
            failf(k, "%s", werr);
            goto out;
        }
        if (db_get_backup(job_db(jb), k->b.id, &k->b) <= 0) {
            failf(k, "backup %lld was deleted meanwhile", (long long)k->b.id);
            k->env_fail = 1;
            goto out;
        }
    }
    if (db_backup_sample(job_db(jb), k->b.id, &sample_text) < 0 ||
        !(sample = cJSON_Parse(sample_text ? sample_text : "[]")) || !cJSON_IsArray(sample)) {
        failf(k, "the catalogue's sample of backup %lld is not readable", (long long)k->b.id);
        goto out;
    }
    cJSON_ArrayForEach(it, sample)
    { /* every database the file uses must exist on the scratch server */
        const cJSON *dbj = cJSON_GetObjectItem(it, "db");
        if (cJSON_IsNumber(dbj) && dbj->valueint >= databases && dbj->valueint < 100000)
            databases = dbj->valueint + 1;
    }
    databases = file_databases(k->b.path, databases);
    if (snprintf(k->dir, sizeof(k->dir), "%s/restore-%lld", k->cfg->data_dir,
                 (long long)job_id(jb)) >= (int)sizeof(k->dir)) {
        k->dir[0] = '\0';
        k->env_fail = 1;
        failf(k, "the data directory path is too long");
        goto out;
    }
    /* the undo first: a crash from here on leaves a dir the recover removes */
    cJSON_AddStringToObject(job_undo(jb), "dir", k->dir);
    job_save_undo(jb);
    if (mkdir(k->dir, 0700) < 0 && errno != EEXIST) {
        k->env_fail = 1;
        failf(k, "cannot create %s: %s", k->dir, strerror(errno));
        goto out;
    }
    snprintf(k->file, sizeof(k->file), "%s/dump.rdb", k->dir);
    if (place_file(k->b.path, k->file, werr, sizeof(werr)) < 0) {
        failf(k, "%s", werr);
        goto out;
    }
    if (!(c = start_server(k, databases))) goto out;
    job_failpoint(jb, "restore-loaded");
    if ((dbsize = loaded_keys(k, c)) < 0) goto out;
    hi = k->b.keys;
    lo = k->b.keys - (k->b.expires > 0 ? k->b.expires : 0);
    cJSON_AddNumberToObject(job_result(jb), "dbsize", (double)dbsize);
    /* a partial walk (module data) counted fewer keys than the file holds */
    if (dbsize < lo || (dbsize > hi && !k->b.walk_error[0])) {
        failf(k,
              "the scratch server loaded %lld keys, the catalogue expects %lld to %lld (%lld keys, "
              "%lld with an expiry)",
              (long long)dbsize, (long long)lo, (long long)hi, (long long)k->b.keys,
              (long long)k->b.expires);
        goto out;
    }
    if ((nchecked = check_sample(k, c, sample)) < 0) goto out;
    cJSON_AddNumberToObject(job_result(jb), "sample_checked", nchecked);
    snprintf(
        detail, sizeof(detail),
        "%lld keys loaded (catalogue: %lld, %lld with an expiry); %d sampled keys present with "
        "their types%s",
        (long long)dbsize, (long long)k->b.keys, (long long)k->b.expires, nchecked,
        k->b.walk_error[0] ? "; the walk was partial, only the lower bound was checked" : "");
    rc = 0;
out:
    rclient_free(c);
    if (k->pid > 0 && stop_server(k->pid))
        job_step(jb, "the scratch server did not stop on SIGTERM: killed");
    if (k->dir[0]) {
        if (remove_dir(k->dir) < 0)
            job_step(jb, "could not remove %s: %s", k->dir, strerror(errno));
        else if (k->pid > 0)
            job_step(jb, "scratch server stopped, %s removed", k->dir);
    }
    if (rc == 0) {
        char msg[700];
        cJSON_AddBoolToObject(job_result(jb), "ok", 1);
        cJSON_AddStringToObject(job_result(jb), "detail", detail);
        job_step(jb, "restorable: %s", detail);
        record(k, 1, detail);
        snprintf(msg, sizeof(msg), "backup %lld of %s is restorable: %s", (long long)k->b.id,
                 k->b.cluster, detail);
        restore_event(jb, &k->b, 1, msg);
    } else {
        char msg[700];
        job_fail(jb, "%s", k->err);
        if (!k->env_fail) {
            cJSON_AddBoolToObject(job_result(jb), "ok", 0);
            cJSON_AddStringToObject(job_result(jb), "detail", k->err);
            record(k, 0, k->err);
        }
        snprintf(msg, sizeof(msg), "restore check of backup %lld of %s failed: %s",
                 (long long)k->b.id, k->b.cluster, k->err);
        restore_event(jb, &k->b, 0, msg);
    }
    cJSON_Delete(sample);
    free(sample_text);
    free(k);
    return rc;
}

int recipe_verify_restore_recover(job *jb)
{
    const char *dir = cJSON_GetStringValue(cJSON_GetObjectItem(job_undo(jb), "dir"));
    int killed = 0;

    if (dir && dir[0]) {
        killed = kill_by_dir(dir);
        if (killed) sleep_ms(200); /* SIGKILLed: gone in a moment; its files go next */
        if (remove_dir(dir) < 0)
            log_warn("restore check: cannot remove %s: %s", dir, strerror(errno));
    }
    job_fail(jb,
             "interrupted by a restart of hapanel; the scratch server (%d left running) and its "
             "directory were removed",
             killed);
    return -1;
}
