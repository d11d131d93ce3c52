/* backup_remote.c — the off-site copies' queue rows (see backup_remote.h). */
#include "db/backup_remote.h"

#include <stdlib.h>
#include <string.h>

#include "db/internal.h"
#include "core/common.h"
#include "core/banned.h" /* last: after every system header */

/* ------------------------------------------------------------------ reads */

static void read_id(sqlite3_stmt *st, rd_fn fn, void *ctx)
{
    (void)fn;
    *(int64_t *)ctx = sqlite3_column_int64(st, 0);
}

/* The first column of the first row of sql (one int64 bound as ?1) into
 * *out: 1 a row, 0 none, -1 error. */
static int read_scalar(db *d, const char *sql, int64_t arg, int64_t *out)
{
    rd q;
    int n;
    if (db__rd_open(d, &q, sql) < 0) return -1;
    sqlite3_bind_int64(q.st, 1, arg);
    n = db__rd_rows(&q, read_id, NULL, out);
    return n < 0 ? -1 : n > 0;
}

int db_backup_upload_next(db *d, int64_t now, hp_backup *b, int64_t *next_due)
{
    int64_t id = 0, due = 0;
    int n;

    *next_due = 0;
    if (read_scalar(d,
                    "SELECT coalesce(min(remote_next_at), 0) FROM backups "
                    "WHERE remote_state = 'pending' AND ?1 = ?1",
                    0, &due) < 0)
        return -1;
    *next_due = due;
    if (!due || due > now) return 0;
    n = read_scalar(d,
                    "SELECT id FROM backups WHERE remote_state = 'pending' "
                    "AND remote_next_at <= ?1 ORDER BY remote_next_at, id LIMIT 1",
                    now, &id);
    if (n <= 0) return n;
    return db_get_backup(d, id, b);
}

static void read_delete(sqlite3_stmt *st, rd_fn fn, void *ctx)
{
    hp_remote_delete *r = ctx;
    (void)fn;
    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(st, 0);
    r->backup_id = sqlite3_column_int64(st, 1);
    db__col_text(st, 2, r->cluster, sizeof(r->cluster));
    db__col_text(st, 3, r->remote_key, sizeof(r->remote_key));
    r->attempts = sqlite3_column_int(st, 4);
    r->next_at = sqlite3_column_int64(st, 5);
}

int db_remote_delete_next(db *d, int64_t now, hp_remote_delete *r, int64_t *next_due)
{
    int64_t due = 0;
    rd q;
    int n;

    *next_due = 0;
    if (read_scalar(d, "SELECT coalesce(min(next_at), 0) FROM backup_remote_deletes WHERE ?1 = ?1",
                    0, &due) < 0)
        return -1;
    *next_due = due;
    if (!due || due > now) return 0;
    if (db__rd_open(d, &q,
                    "SELECT id, backup_id, cluster, remote_key, attempts, next_at FROM "
                    "backup_remote_deletes WHERE next_at <= ?1 ORDER BY next_at, id LIMIT 1") < 0)
        return -1;
    sqlite3_bind_int64(q.st, 1, now);
    n = db__rd_rows(&q, read_delete, NULL, r);
    return n < 0 ? -1 : n > 0;
}

int db_remote_delete_count(db *d)
{
    int64_t n = 0;
    if (read_scalar(d, "SELECT count(*) FROM backup_remote_deletes WHERE ?1 = ?1", 0, &n) < 0)
        return -1;
    return (int)n;
}

/* ----------------------------------------------------------------- writes */

static sqlite3_stmt *prep(db *d, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(d->w, sql, -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

/* Steps st to its end and finalizes it: the rows it changed, or -1. */
static int done(db *d, sqlite3_stmt *st)
{
    int rc;
    if (!st) return -1;
    rc = sqlite3_step(st) == SQLITE_DONE ? sqlite3_changes(d->w) : -1;
    sqlite3_finalize(st);
    return rc;
}

static void bind_opt_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s && s[0])
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

int db__backup_remote_queue(db *d, const hp_backup *b)
{
    sqlite3_stmt *st;
    if (!b->remote_key[0]) return 0;
    st = prep(d, "UPDATE backups SET remote_key = ?1, remote_state = 'pending', "
                 "remote_attempts = 0, remote_next_at = ?2 WHERE id = ?3");
    if (!st) return -1;
    sqlite3_bind_text(st, 1, b->remote_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, b->remote_next_at > 0 ? b->remote_next_at : b->created_at);
    sqlite3_bind_int64(st, 3, b->id);
    return done(d, st) < 0 ? -1 : 0;
}

/* Queues the deletion of key (once: a key already queued keeps its row). */
static int queue_delete(db *d, int64_t backup_id, const char *cluster, const char *key, int64_t now)
{
    sqlite3_stmt *st = prep(d, "INSERT OR IGNORE INTO backup_remote_deletes (remote_key, "
                               "backup_id, cluster, attempts, next_at, created_at) "
                               "VALUES (?1, ?2, ?3, 0, ?4, ?4)");
    if (!st) return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, backup_id);
    sqlite3_bind_text(st, 3, cluster ? cluster : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now);
    return done(d, st) < 0 ? -1 : 0;
}

/* A copy that failed for good is not queued: no object was stored (a PUT
 * is all or nothing), and a deletion with the same refused credentials
 * would be retried for ever. */
int db__backup_remote_forget(db *d, int64_t id)
{
    sqlite3_stmt *st = prep(d, "INSERT OR IGNORE INTO backup_remote_deletes (remote_key, "
                               "backup_id, cluster, attempts, next_at, created_at) "
                               "SELECT remote_key, id, cluster, 0, ?2, ?2 FROM backups "
                               "WHERE id = ?1 AND remote_key IS NOT NULL AND remote_key != '' "
                               "AND remote_state IN ('pending', 'uploaded', 'deleting')");
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, hp_now_ms());
    return done(d, st) < 0 ? -1 : 0;
}

static int64_t upload_mark(db *d, const backup_remote_op *op)
{
    sqlite3_stmt *st = prep(d, "UPDATE backups SET remote_state = ?1, remote_attempts = ?2, "
                               "remote_next_at = ?3, remote_error = ?4, remote_uploaded_at = ?5 "
                               "WHERE id = ?6 AND remote_state = 'pending'");
    int n;
    if (!st) return -1;
    sqlite3_bind_text(st, 1, op->state, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, op->attempts);
    db__bind_opt_i64(st, 3, op->next_at > 0 ? op->next_at : -1);
    bind_opt_text(st, 4, op->error);
    db__bind_opt_i64(st, 5, op->uploaded_at > 0 ? op->uploaded_at : -1);
    sqlite3_bind_int64(st, 6, op->id);
    if ((n = done(d, st)) < 0) return -1;
    if (n > 0) return 1;
    /* The backup was deleted (or its copy retired) while it uploaded: the
     * object just stored is nobody's, so it goes too. */
    if (!strcmp(op->state, "uploaded") && op->key && op->key[0] &&
        queue_delete(d, op->id, op->cluster, op->key, op->now) < 0)
        return -1;
    return 0;
}

static int64_t upload_reset(db *d, const backup_remote_op *op)
{
    sqlite3_stmt *st = prep(d, "UPDATE backups SET remote_key = coalesce(nullif(remote_key, ''), "
                               "?1), remote_state = 'pending', remote_attempts = 0, "
                               "remote_next_at = ?2, remote_error = NULL WHERE id = ?3 AND "
                               "(remote_state IS NULL OR remote_state IN ('', 'pending', "
                               "'failed', 'deleted'))");
    if (!st) return -1;
    sqlite3_bind_text(st, 1, op->key ? op->key : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, op->next_at);
    sqlite3_bind_int64(st, 3, op->id);
    return done(d, st);
}

static int64_t retire(db *d, const backup_remote_op *op)
{
    sqlite3_stmt *st;
    int n;
    if (db__backup_remote_forget(d, op->id) < 0) return -1;
    st = prep(d, "UPDATE backups SET remote_state = 'deleting' WHERE id = ?1 "
                 "AND remote_state IN ('pending', 'uploaded')");
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, op->id);
    n = done(d, st);
    return n < 0 ? -1 : n > 0;
}

static int64_t delete_done(db *d, const backup_remote_op *op)
{
    sqlite3_stmt *st = prep(d, "DELETE FROM backup_remote_deletes WHERE id = ?1");
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, op->id);
    if (done(d, st) < 0) return -1;
    st = prep(d, "UPDATE backups SET remote_state = 'deleted', remote_error = NULL, "
                 "remote_next_at = NULL WHERE id = ?1 AND remote_state = 'deleting'");
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, op->backup_id);
    return done(d, st) < 0 ? -1 : 1;
}

static int64_t delete_retry(db *d, const backup_remote_op *op)
{
    sqlite3_stmt *st = prep(d, "UPDATE backup_remote_deletes SET attempts = ?1, next_at = ?2, "
                               "last_error = ?3 WHERE id = ?4");
    if (!st) return -1;
    sqlite3_bind_int(st, 1, op->attempts);
    sqlite3_bind_int64(st, 2, op->next_at);
    bind_opt_text(st, 3, op->error);
    sqlite3_bind_int64(st, 4, op->id);
    if (done(d, st) < 0) return -1;
    st = prep(d, "UPDATE backups SET remote_error = ?1 WHERE id = ?2 AND remote_state = "
                 "'deleting'");
    if (!st) return -1;
    bind_opt_text(st, 1, op->error);
    sqlite3_bind_int64(st, 2, op->backup_id);
    return done(d, st) < 0 ? -1 : 1;
}

int64_t db__backup_remote_apply(db *d, const backup_remote_op *op)
{
    int64_t rc = -1;
    switch (op->what) {
    case BR_UPLOAD_MARK:
        rc = upload_mark(d, op);
        break;
    case BR_UPLOAD_RESET:
        rc = upload_reset(d, op);
        break;
    case BR_RETIRE:
        rc = retire(d, op);
        break;
    case BR_DELETE_DONE:
        rc = delete_done(d, op);
        break;
    case BR_DELETE_RETRY:
        rc = delete_retry(d, op);
        break;
    default:
        break;
    }
    if (rc >= 0 && op->cluster) db__recent_mark(d, op->cluster, DB_RECENT_BACKUPS);
    return rc;
}
