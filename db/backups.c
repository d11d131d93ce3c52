/* backups.c — the backup catalogue (see db.h). */
#define _POSIX_C_SOURCE 200809L
#include "db/internal.h"
#include "db/backup_remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/banned.h" /* last: after every system header */

/* ------------------------------------------------------------------ backups */

int db__insert_backup(db *d, hp_backup *b)
{
    static const char sql[] = "INSERT INTO backups (cluster, node, created_at, size_bytes, sha256, "
                              "verified, path, job_id) VALUES (?,?,?,?,?,?,?,?)";
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(d->w, sql, -1, &st, NULL) != SQLITE_OK) goto out;
    sqlite3_bind_text(st, 1, b->cluster, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, b->node, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, b->created_at);
    sqlite3_bind_int64(st, 4, b->size_bytes);
    sqlite3_bind_text(st, 5, b->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, b->verified);
    sqlite3_bind_text(st, 7, b->path, -1, SQLITE_STATIC);
    db__bind_opt_i64(st, 8, b->job_id > 0 ? b->job_id : -1);
    if (sqlite3_step(st) == SQLITE_DONE) {
        b->id = sqlite3_last_insert_rowid(d->w);
        rc = db__backup_remote_queue(d, b); /* item 6: in the same transaction */
    }
out:
    sqlite3_finalize(st);
    return rc;
}

/* item 7 (restore check): the last six columns, key figures and the check */
#define BACKUP_COLUMNS                                                                             \
    "SELECT id, cluster, node, created_at, size_bytes, sha256, verified, path, "                   \
    "coalesce(job_id, 0), " /* item 6: the off-site copy */                                        \
    "coalesce(remote_key, ''), coalesce(remote_state, ''), remote_attempts, "                      \
    "coalesce(remote_next_at, 0), coalesce(remote_uploaded_at, 0), coalesce(remote_error, ''), "   \
    "coalesce(keys, -1), coalesce(expires, -1), coalesce(walk_error, ''), "                        \
    "coalesce(restore_checked_at, 0), coalesce(restore_ok, 0), coalesce(restore_detail, '') "      \
    "FROM backups"

static void read_backup(sqlite3_stmt *st, hp_backup *b)
{
    memset(b, 0, sizeof(*b));
    b->id = sqlite3_column_int64(st, 0);
    db__col_text(st, 1, b->cluster, sizeof(b->cluster));
    db__col_text(st, 2, b->node, sizeof(b->node));
    b->created_at = sqlite3_column_int64(st, 3);
    b->size_bytes = sqlite3_column_int64(st, 4);
    db__col_text(st, 5, b->sha256, sizeof(b->sha256));
    b->verified = sqlite3_column_int(st, 6);
    db__col_text(st, 7, b->path, sizeof(b->path));
    b->job_id = sqlite3_column_int64(st, 8);
    /* item 6: the off-site copy */
    db__col_text(st, 9, b->remote_key, sizeof(b->remote_key));
    db__col_text(st, 10, b->remote_state, sizeof(b->remote_state));
    b->remote_attempts = sqlite3_column_int(st, 11);
    b->remote_next_at = sqlite3_column_int64(st, 12);
    b->remote_uploaded_at = sqlite3_column_int64(st, 13);
    db__col_text(st, 14, b->remote_error, sizeof(b->remote_error));
    /* item 7: key figures and the restore check */
    b->keys = sqlite3_column_int64(st, 15);
    b->expires = sqlite3_column_int64(st, 16);
    db__col_text(st, 17, b->walk_error, sizeof(b->walk_error));
    b->restore_checked_at = sqlite3_column_int64(st, 18);
    b->restore_ok = sqlite3_column_int(st, 19);
    db__col_text(st, 20, b->restore_detail, sizeof(b->restore_detail));
}

static void backup_row(sqlite3_stmt *st, rd_fn fn, void *ctx)
{
    hp_backup b;
    read_backup(st, &b);
    ((db_backup_fn *)fn)(ctx, &b);
}

/* Newest first by id: a backup is catalogued once verified, so the id
 * order is the order they were taken in, and it has an index. */
void db__backups_qb(const char *cluster, int limit, qb *q)
{
    db__qb_init(q, BACKUP_COLUMNS);
    db__qb_text(q, "cluster = ?", cluster);
    db__qb_limit(q, "ORDER BY id DESC", limit);
}

int db_query_backups(db *d, const char *cluster, int limit, db_backup_fn *fn, void *ctx)
{
    qb q;
    rd r;
    db__backups_qb(cluster, limit, &q);
    if (db__qb_open(d, &r, &q) < 0) return -1;
    return db__rd_rows(&r, backup_row, (rd_fn)fn, ctx);
}

static void read_backup_into(sqlite3_stmt *st, rd_fn fn, void *ctx)
{
    (void)fn;
    read_backup(st, ctx);
}

int db_get_backup(db *d, int64_t id, hp_backup *b)
{
    rd q;
    int n;

    if (db__rd_open(d, &q, BACKUP_COLUMNS " WHERE id = ?") < 0) return -1;
    sqlite3_bind_int64(q.st, 1, id);
    n = db__rd_rows(&q, read_backup_into, NULL, b);
    return n < 0 ? -1 : n > 0;
}

int db__delete_backup(db *d, int64_t id)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    /* item 6: its off-site copy goes too, through a queue that outlives the row */
    if (db__backup_remote_forget(d, id) < 0) return -1;
    if (sqlite3_prepare_v2(d->w, "DELETE FROM backups WHERE id = ?", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    }
    sqlite3_finalize(st);
    return rc;
}
