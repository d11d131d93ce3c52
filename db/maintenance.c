/* maintenance.c — the maintenance windows' rows (see maintenance.h). */
#include "db/maintenance.h"

#include <stdlib.h>
#include <string.h>

#include "db/internal.h"
#include "core/common.h"
#include "core/banned.h" /* last: after every system header */

#define MAINT_COLUMNS                                                                              \
    "SELECT id, cluster, started_at, until, reason, actor, priorities, state, "                    \
    "IFNULL(start_job, 0), IFNULL(end_job, 0), IFNULL(ended_at, 0), end_cause FROM maintenance"

static void read_maint(sqlite3_stmt *st, hp_maint *m)
{
    memset(m, 0, sizeof(*m));
    m->id = sqlite3_column_int64(st, 0);
    db__col_text(st, 1, m->cluster, sizeof(m->cluster));
    m->started_at = sqlite3_column_int64(st, 2);
    m->until = sqlite3_column_int64(st, 3);
    db__col_text(st, 4, m->reason, sizeof(m->reason));
    db__col_text(st, 5, m->actor, sizeof(m->actor));
    db__col_text(st, 6, m->priorities, sizeof(m->priorities));
    db__col_text(st, 7, m->state, sizeof(m->state));
    m->start_job = sqlite3_column_int64(st, 8);
    m->end_job = sqlite3_column_int64(st, 9);
    m->ended_at = sqlite3_column_int64(st, 10);
    db__col_text(st, 11, m->end_cause, sizeof(m->end_cause));
}

static void maint_into(sqlite3_stmt *st, rd_fn fn, void *ctx)
{
    (void)fn;
    read_maint(st, ctx);
}

static void maint_row(sqlite3_stmt *st, rd_fn fn, void *ctx)
{
    hp_maint m;
    read_maint(st, &m);
    ((db_maint_fn *)fn)(ctx, &m);
}

int db_maintenance_open(db *d, const char *cluster, hp_maint *m)
{
    rd q;
    int n;

    if (db__rd_open(d, &q,
                    MAINT_COLUMNS " WHERE cluster = ? AND ended_at IS NULL "
                                  "ORDER BY id DESC LIMIT 1") < 0)
        return -1;
    sqlite3_bind_text(q.st, 1, cluster, -1, SQLITE_STATIC);
    n = db__rd_rows(&q, maint_into, NULL, m);
    return n < 0 ? -1 : n > 0;
}

int db_maintenance_each_open(db *d, db_maint_fn *fn, void *ctx)
{
    rd q;
    if (db__rd_open(d, &q, MAINT_COLUMNS " WHERE ended_at IS NULL ORDER BY id") < 0) return -1;
    return db__rd_rows(&q, maint_row, (rd_fn)fn, ctx);
}

int64_t db__maintenance_save(db *d, hp_maint *m)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(d->w,
                           m->id ? "UPDATE maintenance SET cluster = ?1, started_at = ?2, "
                                   "until = ?3, reason = ?4, actor = ?5, priorities = ?6, "
                                   "state = ?7, start_job = ?8, end_job = ?9, ended_at = ?10, "
                                   "end_cause = ?11 WHERE id = ?12"
                                 : "INSERT INTO maintenance (cluster, started_at, until, reason, "
                                   "actor, priorities, state, start_job, end_job, ended_at, "
                                   "end_cause) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, m->cluster, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, m->started_at);
    sqlite3_bind_int64(st, 3, m->until);
    sqlite3_bind_text(st, 4, m->reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, m->actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, m->priorities[0] ? m->priorities : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, m->state, -1, SQLITE_STATIC);
    if (m->start_job) sqlite3_bind_int64(st, 8, m->start_job);
    if (m->end_job) sqlite3_bind_int64(st, 9, m->end_job);
    if (m->ended_at) sqlite3_bind_int64(st, 10, m->ended_at);
    sqlite3_bind_text(st, 11, m->end_cause, -1, SQLITE_STATIC);
    if (m->id) sqlite3_bind_int64(st, 12, m->id);
    if (sqlite3_step(st) != SQLITE_DONE) goto out;
    if (!m->id) m->id = sqlite3_last_insert_rowid(d->w);
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}
