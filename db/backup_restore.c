/* backup_restore.c — the backups' key figures and restore checks (see
 * backup_restore.h). */
#include "db/backup_restore.h"

#include <stdlib.h>
#include <string.h>

#include "db/internal.h"
#include "core/common.h"
#include "core/banned.h" /* last: after every system header */

static void read_sample(sqlite3_stmt *st, rd_fn fn, void *ctx)
{
    (void)fn;
    *(char **)ctx = db__col_dup(st, 0);
}

int db_backup_sample(db *d, int64_t id, char **json)
{
    rd q;
    int n;

    *json = NULL;
    if (db__rd_open(d, &q, "SELECT sample FROM backups WHERE id = ?") < 0) return -1;
    sqlite3_bind_int64(q.st, 1, id);
    n = db__rd_rows(&q, read_sample, NULL, json);
    return n < 0 ? -1 : n > 0;
}

static void bind_opt_text(sqlite3_stmt *st, int i, const char *t)
{
    if (t)
        sqlite3_bind_text(st, i, t, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

int64_t db__backup_restore_apply(db *d, const backup_restore_op *op)
{
    static const char figures[] =
        "UPDATE backups SET keys = ?2, expires = ?3, sample = ?4, walk_error = ?5 WHERE id = ?1";
    static const char checked[] = "UPDATE backups SET restore_checked_at = ?2, restore_ok = ?3, "
                                  "restore_detail = ?4 WHERE id = ?1";
    sqlite3_stmt *st = NULL;
    int64_t rc = -1;

    if (sqlite3_prepare_v2(d->w, op->what == BRS_FIGURES ? figures : checked, -1, &st, NULL) !=
        SQLITE_OK)
        goto out;
    sqlite3_bind_int64(st, 1, op->id);
    if (op->what == BRS_FIGURES) {
        db__bind_opt_i64(st, 2, op->keys);
        db__bind_opt_i64(st, 3, op->keys >= 0 ? op->expires : -1);
        bind_opt_text(st, 4, op->sample);
        bind_opt_text(st, 5, op->walk_error);
    } else {
        sqlite3_bind_int64(st, 2, op->checked_at);
        sqlite3_bind_int(st, 3, op->ok ? 1 : 0);
        bind_opt_text(st, 4, op->detail);
    }
    if (sqlite3_step(st) != SQLITE_DONE) goto out;
    rc = sqlite3_changes(d->w) > 0;
    if (rc && op->cluster) db__recent_mark(d, op->cluster, DB_RECENT_BACKUPS);
out:
    sqlite3_finalize(st);
    return rc;
}
