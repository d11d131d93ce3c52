/* db.c — SQLite store (see db.h). The writer connection is used by one thread
 * at a time (the event writer); read-only connections come from a pool so that
 * concurrent HTTP requests neither share a connection nor wait on the writer:
 * in WAL mode readers see the last committed state while a write is under way. */
#define _POSIX_C_SOURCE 200809L
#include "db.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../server/embed.h"

#define DB_POOL_MAX 16

struct db {
    char path[4096];
    sqlite3 *w;
    pthread_mutex_t wlock; /* the writer connection is shared by the event writer and jobs */
    sqlite3_stmt *ins_event;
    int version;
    pthread_mutex_t pool_lock;
    sqlite3 *pool[DB_POOL_MAX];
    int npool;
};

static int exec(sqlite3 *c, const char *sql, char *err, size_t errsz)
{
    char *msg = NULL;
    if (sqlite3_exec(c, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errsz, "%s", msg ? msg : sqlite3_errmsg(c));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int user_version(sqlite3 *c)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(c, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) return -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Applies every embedded migration past PRAGMA user_version, each in its own
 * transaction together with the version bump, so a crash never leaves a half
 * applied migration recorded as done. */
static int migrate(db *d, char *err, size_t errsz)
{
    int have = user_version(d->w), i;
    char sql[64];

    if (have < 0) {
        snprintf(err, errsz, "cannot read schema version: %s", sqlite3_errmsg(d->w));
        return -1;
    }
    for (i = 0; hp_migrations[i].name; i++) {
        char *text;
        if (i < have) continue;
        text = malloc(hp_migrations[i].len + 1);
        if (!text) return -1;
        memcpy(text, hp_migrations[i].data, hp_migrations[i].len);
        text[hp_migrations[i].len] = '\0';
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", i + 1);
        if (exec(d->w, "BEGIN IMMEDIATE", err, errsz) < 0 || exec(d->w, text, err, errsz) < 0 ||
            exec(d->w, sql, err, errsz) < 0 || exec(d->w, "COMMIT", err, errsz) < 0) {
            char why[256];
            snprintf(why, sizeof(why), "%s", err);
            snprintf(err, errsz, "migration %s failed: %s", hp_migrations[i].name, why);
            sqlite3_exec(d->w, "ROLLBACK", NULL, NULL, NULL);
            free(text);
            return -1;
        }
        free(text);
    }
    if (have > i) {
        snprintf(err, errsz, "database schema version %d is newer than this hapanel (%d)", have, i);
        return -1;
    }
    d->version = i;
    return 0;
}

db *db_open(const char *dir, char *err, size_t errsz)
{
    db *d = calloc(1, sizeof(*d));

    if (!d) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&d->pool_lock, NULL);
    pthread_mutex_init(&d->wlock, NULL);
    if (mkdir(dir, 0750) < 0) {
        struct stat st;
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
            snprintf(err, errsz, "cannot create data dir %s", dir);
            goto fail;
        }
    }
    snprintf(d->path, sizeof(d->path), "%s/hapanel.db", dir);
    if (sqlite3_open_v2(d->path, &d->w, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        snprintf(err, errsz, "cannot open %s: %s", d->path, d->w ? sqlite3_errmsg(d->w) : "?");
        goto fail;
    }
    sqlite3_busy_timeout(d->w, 5000);
    if (exec(d->w, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON",
             err, errsz) < 0)
        goto fail;
    if (migrate(d, err, errsz) < 0) goto fail;
    if (sqlite3_prepare_v2(d->w,
                           "INSERT INTO events (ts, cluster, type, severity, source, node, "
                           "message, details) VALUES (?,?,?,?,?,?,?,?)",
                           -1, &d->ins_event, NULL) != SQLITE_OK) {
        snprintf(err, errsz, "prepare: %s", sqlite3_errmsg(d->w));
        goto fail;
    }
    return d;
fail:
    db_free(d);
    return NULL;
}

void db_free(db *d)
{
    int i;
    if (!d) return;
    sqlite3_finalize(d->ins_event);
    for (i = 0; i < d->npool; i++) sqlite3_close(d->pool[i]);
    sqlite3_close(d->w);
    pthread_mutex_destroy(&d->pool_lock);
    pthread_mutex_destroy(&d->wlock);
    free(d);
}

int db_schema_version(db *d)
{
    return d->version;
}

static int insert_events_locked(db *d, hp_event *evs, int n)
{
    int i;
    char err[256];

    if (exec(d->w, "BEGIN IMMEDIATE", err, sizeof(err)) < 0) return -1;
    for (i = 0; i < n; i++) {
        sqlite3_stmt *st = d->ins_event;
        const hp_event *e = &evs[i];
        sqlite3_bind_int64(st, 1, e->ts);
        sqlite3_bind_text(st, 2, e->cluster, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, e->type, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, e->severity, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, e->source, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, e->node, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, e->message, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, e->details[0] ? e->details : "{}", -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            sqlite3_reset(st);
            sqlite3_exec(d->w, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        sqlite3_reset(st);
        evs[i].id = sqlite3_last_insert_rowid(d->w);
    }
    if (exec(d->w, "COMMIT", err, sizeof(err)) < 0) {
        sqlite3_exec(d->w, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

int db_insert_events(db *d, hp_event *evs, int n)
{
    int rc;
    pthread_mutex_lock(&d->wlock);
    rc = insert_events_locked(d, evs, n);
    pthread_mutex_unlock(&d->wlock);
    return rc;
}

/* ------------------------------------------------------------------ readers */

static sqlite3 *reader_get(db *d)
{
    sqlite3 *c = NULL;
    pthread_mutex_lock(&d->pool_lock);
    if (d->npool > 0) c = d->pool[--d->npool];
    pthread_mutex_unlock(&d->pool_lock);
    if (c) return c;
    if (sqlite3_open_v2(d->path, &c, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(c);
        return NULL;
    }
    sqlite3_busy_timeout(c, 2000);
    return c;
}

static void reader_put(db *d, sqlite3 *c)
{
    pthread_mutex_lock(&d->pool_lock);
    if (d->npool < DB_POOL_MAX) {
        d->pool[d->npool++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&d->pool_lock);
    sqlite3_close(c);
}

static void col_text(sqlite3_stmt *st, int i, char *dst, size_t dstsz)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    hp_strlcpy(dst, t ? (const char *)t : "", dstsz);
}

/* A read on a pooled read-only connection: rd_open prepares sql, the caller
 * binds r.st, rd_rows steps to the end calling row() for each row and
 * releases everything. rd_fn is the caller's typed callback, passed through. */
typedef void (*rd_fn)(void);
typedef struct rd {
    db *d;
    sqlite3 *c;
    sqlite3_stmt *st;
} rd;

static int rd_open(db *d, rd *r, const char *sql)
{
    r->d = d;
    r->st = NULL;
    r->c = reader_get(d);
    if (!r->c) return -1;
    if (sqlite3_prepare_v2(r->c, sql, -1, &r->st, NULL) != SQLITE_OK) {
        sqlite3_finalize(r->st);
        reader_put(d, r->c);
        return -1;
    }
    return 0;
}

/* Returns the number of rows, or -1 if stepping failed. */
static int rd_rows(rd *r, void (*row)(sqlite3_stmt *st, rd_fn fn, void *ctx), rd_fn fn, void *ctx)
{
    int rows = 0, rc;
    while ((rc = sqlite3_step(r->st)) == SQLITE_ROW) {
        row(r->st, fn, ctx);
        rows++;
    }
    sqlite3_finalize(r->st);
    reader_put(r->d, r->c);
    return rc == SQLITE_DONE ? rows : -1;
}

static void event_row(sqlite3_stmt *st, rd_fn fn, void *ctx)
{
    hp_event e;
    e.id = sqlite3_column_int64(st, 0);
    e.ts = sqlite3_column_int64(st, 1);
    col_text(st, 2, e.cluster, sizeof(e.cluster));
    col_text(st, 3, e.type, sizeof(e.type));
    col_text(st, 4, e.severity, sizeof(e.severity));
    col_text(st, 5, e.source, sizeof(e.source));
    col_text(st, 6, e.node, sizeof(e.node));
    col_text(st, 7, e.message, sizeof(e.message));
    col_text(st, 8, e.details, sizeof(e.details));
    ((db_event_fn *)fn)(ctx, &e);
}

int db_query_events(db *d, const event_query *q, db_event_fn *fn, void *ctx)
{
    static const char sql[] =
        "SELECT id, ts, cluster, type, severity, source, node, message, details FROM events "
        "WHERE (?1 IS NULL OR cluster = ?1) AND (?2 IS NULL OR type = ?2) "
        "AND (?3 IS NULL OR node = ?3) AND (?4 = 0 OR ts >= ?4) AND (?5 = 0 OR ts <= ?5) "
        "AND (?6 = 0 OR id < ?6) ORDER BY id DESC LIMIT ?7";
    rd r;
    sqlite3_stmt *st;

    if (rd_open(d, &r, sql) < 0) return -1;
    st = r.st;
    if (q->cluster) sqlite3_bind_text(st, 1, q->cluster, -1, SQLITE_STATIC);
    if (q->type) sqlite3_bind_text(st, 2, q->type, -1, SQLITE_STATIC);
    if (q->node) sqlite3_bind_text(st, 3, q->node, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, q->since);
    sqlite3_bind_int64(st, 5, q->until);
    sqlite3_bind_int64(st, 6, q->before);
    sqlite3_bind_int(st, 7, q->limit);
    return rd_rows(&r, event_row, (rd_fn)fn, ctx);
}

/* ---------------------------------------------------------------- failovers */

static void bind_opt_i64(sqlite3_stmt *st, int i, int64_t v)
{
    if (v < 0)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, v);
}

int db_insert_failover(db *d, hp_failover *f)
{
    static const char sql[] =
        "INSERT INTO failovers (cluster, kind, old_master, new_master, started_at, ended_at, "
        "duration_ms, writes_paused_ms, status, actor, reason, job_id) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)";
    sqlite3_stmt *st = NULL;
    int rc = -1;

    pthread_mutex_lock(&d->wlock);
    if (sqlite3_prepare_v2(d->w, sql, -1, &st, NULL) != SQLITE_OK) goto out;
    sqlite3_bind_text(st, 1, f->cluster, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, f->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, f->old_master, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, f->new_master, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, f->started_at);
    bind_opt_i64(st, 6, f->ended_at);
    bind_opt_i64(st, 7, f->duration_ms);
    bind_opt_i64(st, 8, f->writes_paused_ms);
    sqlite3_bind_text(st, 9, f->status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, f->actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 11, f->reason, -1, SQLITE_STATIC);
    bind_opt_i64(st, 12, f->job_id > 0 ? f->job_id : -1);
    if (sqlite3_step(st) == SQLITE_DONE) {
        f->id = sqlite3_last_insert_rowid(d->w);
        rc = 0;
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&d->wlock);
    return rc;
}

int db_failover_seen(db *d, const char *cluster, const char *old_master, const char *new_master,
                     int64_t since_ms)
{
    sqlite3 *c = reader_get(d);
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (!c) return -1;
    /* Only the cluster's latest failover: a real repeat of A -> B must have had
     * a B -> A in between, and then it is not the latest. */
    if (sqlite3_prepare_v2(c, "SELECT 1 FROM (SELECT old_master, new_master, "
                              "coalesce(ended_at, started_at) AS t FROM failovers WHERE cluster = ?1 "
                              "ORDER BY id DESC LIMIT 1) WHERE old_master = ?2 AND new_master = ?3 "
                              "AND t >= ?4",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, cluster, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, old_master, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, new_master, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, since_ms);
        rc = sqlite3_step(st);
        rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
    }
    sqlite3_finalize(st);
    reader_put(d, c);
    return rc;
}

static int64_t col_opt_i64(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, i);
}

static void failover_row(sqlite3_stmt *st, rd_fn fn, void *ctx)
{
    hp_failover f;
    memset(&f, 0, sizeof(f));
    f.id = sqlite3_column_int64(st, 0);
    col_text(st, 1, f.cluster, sizeof(f.cluster));
    col_text(st, 2, f.kind, sizeof(f.kind));
    col_text(st, 3, f.old_master, sizeof(f.old_master));
    col_text(st, 4, f.new_master, sizeof(f.new_master));
    f.started_at = sqlite3_column_int64(st, 5);
    f.ended_at = col_opt_i64(st, 6);
    f.duration_ms = col_opt_i64(st, 7);
    f.writes_paused_ms = col_opt_i64(st, 8);
    col_text(st, 9, f.status, sizeof(f.status));
    col_text(st, 10, f.actor, sizeof(f.actor));
    col_text(st, 11, f.reason, sizeof(f.reason));
    f.job_id = col_opt_i64(st, 12);
    ((db_failover_fn *)fn)(ctx, &f);
}

int db_query_failovers(db *d, const failover_query *q, db_failover_fn *fn, void *ctx)
{
    static const char sql[] =
        "SELECT id, cluster, kind, old_master, new_master, started_at, ended_at, duration_ms, "
        "writes_paused_ms, status, actor, reason, job_id FROM failovers "
        "WHERE (?1 IS NULL OR cluster = ?1) AND (?2 = 0 OR id < ?2) ORDER BY id DESC LIMIT ?3";
    rd r;
    sqlite3_stmt *st;

    if (rd_open(d, &r, sql) < 0) return -1;
    st = r.st;
    if (q->cluster) sqlite3_bind_text(st, 1, q->cluster, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, q->before);
    sqlite3_bind_int(st, 3, q->limit);
    return rd_rows(&r, failover_row, (rd_fn)fn, ctx);
}

/* --------------------------------------------------------------------- jobs */

int64_t db_job_insert(db *d, const char *kind, const char *cluster, const char *params,
                      const char *actor, const char *reason, int64_t created_at)
{
    static const char sql[] = "INSERT INTO jobs (kind, cluster, state, params, actor, reason, "
                              "created_at) VALUES (?,?,'queued',?,?,?,?)";
    sqlite3_stmt *st = NULL;
    int64_t id = -1;

    pthread_mutex_lock(&d->wlock);
    if (sqlite3_prepare_v2(d->w, sql, -1, &st, NULL) != SQLITE_OK) goto out;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, params ? params : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, actor ? actor : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, reason ? reason : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, created_at);
    if (sqlite3_step(st) == SQLITE_DONE) id = sqlite3_last_insert_rowid(d->w);
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&d->wlock);
    return id;
}

int db_job_save(db *d, int64_t id, const char *state, const char *steps, const char *error,
                const char *result, const char *undo, int64_t started_at, int64_t ended_at)
{
    static const char sql[] =
        "UPDATE jobs SET state = coalesce(?2, state), steps = coalesce(?3, steps), "
        "error = coalesce(?4, error), result = coalesce(?5, result), undo = coalesce(?6, undo), "
        "started_at = coalesce(?7, started_at), ended_at = coalesce(?8, ended_at) WHERE id = ?1";
    sqlite3_stmt *st = NULL;
    int rc = -1;

    pthread_mutex_lock(&d->wlock);
    if (sqlite3_prepare_v2(d->w, sql, -1, &st, NULL) != SQLITE_OK) goto out;
    sqlite3_bind_int64(st, 1, id);
    if (state) sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
    if (steps) sqlite3_bind_text(st, 3, steps, -1, SQLITE_STATIC);
    if (error) sqlite3_bind_text(st, 4, error, -1, SQLITE_STATIC);
    if (result) sqlite3_bind_text(st, 5, result, -1, SQLITE_STATIC);
    if (undo) sqlite3_bind_text(st, 6, undo, -1, SQLITE_STATIC);
    if (started_at > 0) sqlite3_bind_int64(st, 7, started_at);
    if (ended_at > 0) sqlite3_bind_int64(st, 8, ended_at);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&d->wlock);
    return rc;
}

void db_job_row_release(db_job_row *r)
{
    free(r->params);
    free(r->steps);
    free(r->error);
    free(r->result);
    free(r->undo);
    r->params = r->steps = r->error = r->result = r->undo = NULL;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? strdup((const char *)t) : NULL;
}

#define JOB_COLUMNS                                                                                \
    "SELECT id, kind, cluster, state, actor, reason, params, steps, error, result, undo, "        \
    "created_at, coalesce(started_at, 0), coalesce(ended_at, 0) FROM jobs "

static void read_job(sqlite3_stmt *st, db_job_row *r)
{
    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(st, 0);
    col_text(st, 1, r->kind, sizeof(r->kind));
    col_text(st, 2, r->cluster, sizeof(r->cluster));
    col_text(st, 3, r->state, sizeof(r->state));
    col_text(st, 4, r->actor, sizeof(r->actor));
    col_text(st, 5, r->reason, sizeof(r->reason));
    r->params = col_dup(st, 6);
    r->steps = col_dup(st, 7);
    r->error = col_dup(st, 8);
    r->result = col_dup(st, 9);
    r->undo = col_dup(st, 10);
    r->created_at = sqlite3_column_int64(st, 11);
    r->started_at = sqlite3_column_int64(st, 12);
    r->ended_at = sqlite3_column_int64(st, 13);
}

/* An rd row reader for a lookup by id: the row goes straight into ctx. */
static void read_job_into(sqlite3_stmt *st, rd_fn fn, void *ctx)
{
    (void)fn;
    read_job(st, ctx);
}

int db_job_get(db *d, int64_t id, db_job_row *r)
{
    rd q;
    int n;

    if (rd_open(d, &q, JOB_COLUMNS "WHERE id = ?") < 0) return -1;
    sqlite3_bind_int64(q.st, 1, id);
    n = rd_rows(&q, read_job_into, NULL, r);
    return n < 0 ? -1 : n > 0;
}

static void job_row(sqlite3_stmt *st, rd_fn fn, void *ctx)
{
    db_job_row r;
    read_job(st, &r);
    ((db_job_fn *)fn)(ctx, &r);
    db_job_row_release(&r);
}

int db_query_jobs(db *d, const char *cluster, int unfinished, int64_t before, int limit,
                  db_job_fn *fn, void *ctx)
{
    rd r;
    sqlite3_stmt *st;

    if (rd_open(d, &r, JOB_COLUMNS "WHERE (?1 IS NULL OR cluster = ?1) AND (?2 = 0 OR state IN "
                                       "('queued','running')) AND (?3 = 0 OR id < ?3) "
                                       "ORDER BY id DESC LIMIT ?4") < 0) return -1;
    st = r.st;
    if (cluster) sqlite3_bind_text(st, 1, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, unfinished);
    sqlite3_bind_int64(st, 3, before);
    sqlite3_bind_int(st, 4, limit);
    return rd_rows(&r, job_row, (rd_fn)fn, ctx);
}

/* ------------------------------------------------------------------ backups */

int db_insert_backup(db *d, hp_backup *b)
{
    static const char sql[] = "INSERT INTO backups (cluster, node, created_at, size_bytes, sha256, "
                              "verified, path, job_id) VALUES (?,?,?,?,?,?,?,?)";
    sqlite3_stmt *st = NULL;
    int rc = -1;

    pthread_mutex_lock(&d->wlock);
    if (sqlite3_prepare_v2(d->w, sql, -1, &st, NULL) != SQLITE_OK) goto out;
    sqlite3_bind_text(st, 1, b->cluster, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, b->node, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, b->created_at);
    sqlite3_bind_int64(st, 4, b->size_bytes);
    sqlite3_bind_text(st, 5, b->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, b->verified);
    sqlite3_bind_text(st, 7, b->path, -1, SQLITE_STATIC);
    bind_opt_i64(st, 8, b->job_id > 0 ? b->job_id : -1);
    if (sqlite3_step(st) == SQLITE_DONE) {
        b->id = sqlite3_last_insert_rowid(d->w);
        rc = 0;
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&d->wlock);
    return rc;
}

#define BACKUP_COLUMNS                                                                             \
    "SELECT id, cluster, node, created_at, size_bytes, sha256, verified, path, "                   \
    "coalesce(job_id, 0) FROM backups "

static void read_backup(sqlite3_stmt *st, hp_backup *b)
{
    memset(b, 0, sizeof(*b));
    b->id = sqlite3_column_int64(st, 0);
    col_text(st, 1, b->cluster, sizeof(b->cluster));
    col_text(st, 2, b->node, sizeof(b->node));
    b->created_at = sqlite3_column_int64(st, 3);
    b->size_bytes = sqlite3_column_int64(st, 4);
    col_text(st, 5, b->sha256, sizeof(b->sha256));
    b->verified = sqlite3_column_int(st, 6);
    col_text(st, 7, b->path, sizeof(b->path));
    b->job_id = sqlite3_column_int64(st, 8);
}

static void backup_row(sqlite3_stmt *st, rd_fn fn, void *ctx)
{
    hp_backup b;
    read_backup(st, &b);
    ((db_backup_fn *)fn)(ctx, &b);
}

int db_query_backups(db *d, const char *cluster, int limit, db_backup_fn *fn, void *ctx)
{
    rd r;
    sqlite3_stmt *st;

    if (rd_open(d, &r, BACKUP_COLUMNS "WHERE (?1 IS NULL OR cluster = ?1) "
                                             "ORDER BY created_at DESC, id DESC LIMIT ?2") < 0) return -1;
    st = r.st;
    if (cluster) sqlite3_bind_text(st, 1, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, limit);
    return rd_rows(&r, backup_row, (rd_fn)fn, ctx);
}

/* An rd row reader for a lookup by id: the row goes straight into ctx. */
static void read_backup_into(sqlite3_stmt *st, rd_fn fn, void *ctx)
{
    (void)fn;
    read_backup(st, ctx);
}

int db_get_backup(db *d, int64_t id, hp_backup *b)
{
    rd q;
    int n;

    if (rd_open(d, &q, BACKUP_COLUMNS "WHERE id = ?") < 0) return -1;
    sqlite3_bind_int64(q.st, 1, id);
    n = rd_rows(&q, read_backup_into, NULL, b);
    return n < 0 ? -1 : n > 0;
}

int db_delete_backup(db *d, int64_t id)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    pthread_mutex_lock(&d->wlock);
    if (sqlite3_prepare_v2(d->w, "DELETE FROM backups WHERE id = ?", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&d->wlock);
    return rc;
}

/* ------------------------------------------------------------------- outbox */

void outbox_row_release(outbox_row *r)
{
    free(r->payload);
    free(r->text);
    r->payload = r->text = NULL;
}

int db_outbox_add(db *d, const char *channel, const char *key, const char *severity,
                  const char *payload, const char *text, int64_t now)
{
    static const char sql[] = "INSERT OR IGNORE INTO outbox (channel, key, severity, payload, "
                              "text, next_at, created_at) VALUES (?,?,?,?,?,?,?)";
    sqlite3_stmt *st = NULL;
    int rc = -1;

    pthread_mutex_lock(&d->wlock);
    if (sqlite3_prepare_v2(d->w, sql, -1, &st, NULL) != SQLITE_OK) goto out;
    sqlite3_bind_text(st, 1, channel, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, severity, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, payload, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, now);
    sqlite3_bind_int64(st, 7, now);
    if (sqlite3_step(st) == SQLITE_DONE) rc = sqlite3_changes(d->w) > 0 ? 1 : 0;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&d->wlock);
    return rc;
}

#define OUTBOX_COLUMNS                                                                             \
    "SELECT id, channel, key, severity, payload, text, state, attempts, next_at, created_at, "   \
    "coalesce(delivered_at, 0), coalesce(last_error, '') FROM outbox "

static void read_outbox(sqlite3_stmt *st, outbox_row *r)
{
    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(st, 0);
    col_text(st, 1, r->channel, sizeof(r->channel));
    col_text(st, 2, r->key, sizeof(r->key));
    col_text(st, 3, r->severity, sizeof(r->severity));
    r->payload = col_dup(st, 4);
    r->text = col_dup(st, 5);
    col_text(st, 6, r->state, sizeof(r->state));
    r->attempts = sqlite3_column_int(st, 7);
    r->next_at = sqlite3_column_int64(st, 8);
    r->created_at = sqlite3_column_int64(st, 9);
    r->delivered_at = sqlite3_column_int64(st, 10);
    col_text(st, 11, r->last_error, sizeof(r->last_error));
}

int db_outbox_next(db *d, const char *channel, int64_t now, outbox_row *r, int64_t *next_due)
{
    sqlite3 *c = reader_get(d);
    sqlite3_stmt *st = NULL;
    int rc = -1;

    *next_due = 0;
    if (!c) return -1;
    if (sqlite3_prepare_v2(c, "SELECT min(next_at) FROM outbox WHERE channel = ? AND state = "
                              "'pending'", -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, channel, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        *next_due = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (!*next_due || *next_due > now) {
        rc = 0;
        goto out;
    }
    if (sqlite3_prepare_v2(c, OUTBOX_COLUMNS "WHERE channel = ? AND state = 'pending' AND "
                                             "next_at <= ? ORDER BY id LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, channel, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_outbox(st, r);
        rc = 1;
    } else {
        rc = rc == SQLITE_DONE ? 0 : -1;
    }
out:
    sqlite3_finalize(st);
    reader_put(d, c);
    return rc;
}

int db_outbox_mark(db *d, int64_t id, const char *state, int attempts, int64_t next_at,
                   const char *last_error, int64_t delivered_at)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    pthread_mutex_lock(&d->wlock);
    if (sqlite3_prepare_v2(d->w, "UPDATE outbox SET state = ?2, attempts = ?3, next_at = ?4, "
                                 "last_error = ?5, delivered_at = ?6 WHERE id = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, attempts);
    sqlite3_bind_int64(st, 4, next_at);
    if (last_error) sqlite3_bind_text(st, 5, last_error, -1, SQLITE_STATIC);
    bind_opt_i64(st, 6, delivered_at > 0 ? delivered_at : -1);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&d->wlock);
    return rc;
}

static void outbox_row_emit(sqlite3_stmt *st, rd_fn fn, void *ctx)
{
    outbox_row r;
    read_outbox(st, &r);
    ((db_outbox_fn *)fn)(ctx, &r);
    outbox_row_release(&r);
}

int db_query_outbox(db *d, const char *state, int64_t before, int limit, db_outbox_fn *fn,
                    void *ctx)
{
    rd r;
    sqlite3_stmt *st;

    if (rd_open(d, &r, OUTBOX_COLUMNS "WHERE (?1 IS NULL OR state = ?1) AND (?2 = 0 OR "
                                             "id < ?2) ORDER BY id DESC LIMIT ?3") < 0) return -1;
    st = r.st;
    if (state) sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, before);
    sqlite3_bind_int(st, 3, limit);
    return rd_rows(&r, outbox_row_emit, (rd_fn)fn, ctx);
}

/* ------------------------------------------------------------------- alerts */

int64_t db_alert_open(db *d, const alert_row *a, int *created)
{
    sqlite3_stmt *st = NULL;
    int64_t id = -1;

    *created = 0;
    pthread_mutex_lock(&d->wlock);
    if (sqlite3_prepare_v2(d->w, "SELECT id FROM alerts WHERE cluster = ? AND rule = ? AND node = ? "
                                 "AND resolved_at IS NULL", -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, a->cluster, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, a->rule, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, a->node, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        id = sqlite3_column_int64(st, 0);
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(d->w, "INSERT INTO alerts (cluster, rule, node, severity, message, "
                                 "started_at) VALUES (?,?,?,?,?,?)", -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, a->cluster, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, a->rule, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, a->node, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, a->severity, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, a->message, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, a->started_at);
    if (sqlite3_step(st) == SQLITE_DONE) {
        id = sqlite3_last_insert_rowid(d->w);
        *created = 1;
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&d->wlock);
    return id;
}

int64_t db_alert_resolve(db *d, const char *cluster, const char *rule, const char *node, int64_t at)
{
    sqlite3_stmt *st = NULL;
    int64_t id = -1;

    pthread_mutex_lock(&d->wlock);
    if (sqlite3_prepare_v2(d->w, "SELECT id FROM alerts WHERE cluster = ? AND rule = ? AND node = ? "
                                 "AND resolved_at IS NULL", -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, rule, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, node, -1, SQLITE_STATIC);
    id = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    st = NULL;
    if (id <= 0) goto out;
    if (sqlite3_prepare_v2(d->w, "UPDATE alerts SET resolved_at = ? WHERE id = ?", -1, &st, NULL) !=
        SQLITE_OK) {
        id = -1;
        goto out;
    }
    sqlite3_bind_int64(st, 1, at);
    sqlite3_bind_int64(st, 2, id);
    if (sqlite3_step(st) != SQLITE_DONE) id = -1;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&d->wlock);
    return id;
}

int db_alert_ack(db *d, int64_t id, const char *who, const char *comment, int64_t at)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    pthread_mutex_lock(&d->wlock);
    if (sqlite3_prepare_v2(d->w, "UPDATE alerts SET acked_by = ?, acked_at = ?, ack_comment = ? "
                                 "WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, who, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, at);
    sqlite3_bind_text(st, 3, comment, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, id);
    if (sqlite3_step(st) == SQLITE_DONE) rc = sqlite3_changes(d->w) > 0 ? 1 : 0;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&d->wlock);
    return rc;
}

static void alert_row_emit(sqlite3_stmt *st, rd_fn fn, void *ctx)
{
    alert_row a;
    memset(&a, 0, sizeof(a));
    a.id = sqlite3_column_int64(st, 0);
    col_text(st, 1, a.cluster, sizeof(a.cluster));
    col_text(st, 2, a.rule, sizeof(a.rule));
    col_text(st, 3, a.node, sizeof(a.node));
    col_text(st, 4, a.severity, sizeof(a.severity));
    col_text(st, 5, a.message, sizeof(a.message));
    a.started_at = sqlite3_column_int64(st, 6);
    a.resolved_at = sqlite3_column_int64(st, 7);
    col_text(st, 8, a.acked_by, sizeof(a.acked_by));
    a.acked_at = sqlite3_column_int64(st, 9);
    col_text(st, 10, a.ack_comment, sizeof(a.ack_comment));
    ((db_alert_fn *)fn)(ctx, &a);
}

int db_query_alerts(db *d, int active_only, const char *cluster, int64_t before, int limit,
                    db_alert_fn *fn, void *ctx)
{
    rd r;
    sqlite3_stmt *st;

    if (rd_open(d, &r, "SELECT id, cluster, rule, node, severity, message, started_at, "
                           "coalesce(resolved_at, 0), coalesce(acked_by, ''), coalesce(acked_at, 0), "
                           "coalesce(ack_comment, '') FROM alerts WHERE (?1 = 0 OR resolved_at IS "
                           "NULL) AND (?2 IS NULL OR cluster = ?2) AND (?3 = 0 OR id < ?3) "
                           "ORDER BY id DESC LIMIT ?4") < 0) return -1;
    st = r.st;
    sqlite3_bind_int(st, 1, active_only);
    if (cluster) sqlite3_bind_text(st, 2, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, before);
    sqlite3_bind_int(st, 4, limit);
    return rd_rows(&r, alert_row_emit, (rd_fn)fn, ctx);
}
