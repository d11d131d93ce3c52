/* drills.c — the failover drills' rows (see drills.h and db.h). */
#include "db/drills.h"

#include <stdlib.h>
#include <string.h>

#include "db/internal.h"
#include "core/common.h"
#include "core/banned.h" /* last: after every system header */

#define DRILL_COLUMNS                                                                              \
    "SELECT id, cluster, mode, IFNULL(job_id, 0), started_at, IFNULL(ended_at, 0), state, "        \
    "report FROM drills"

static void read_drill(sqlite3_stmt *st, hp_drill *dr)
{
    memset(dr, 0, sizeof(*dr));
    dr->id = sqlite3_column_int64(st, 0);
    db__col_text(st, 1, dr->cluster, sizeof(dr->cluster));
    db__col_text(st, 2, dr->mode, sizeof(dr->mode));
    dr->job_id = sqlite3_column_int64(st, 3);
    dr->started_at = sqlite3_column_int64(st, 4);
    dr->ended_at = sqlite3_column_int64(st, 5);
    db__col_text(st, 6, dr->state, sizeof(dr->state));
    dr->report = db__col_dup(st, 7);
}

static void drill_row(sqlite3_stmt *st, rd_fn fn, void *ctx)
{
    hp_drill dr;
    read_drill(st, &dr);
    ((db_drill_fn *)fn)(ctx, &dr);
    free(dr.report);
}

static void drill_into(sqlite3_stmt *st, rd_fn fn, void *ctx)
{
    hp_drill *dr = ctx;
    (void)fn;
    free(dr->report); /* a second row (none expected) replaces the first */
    read_drill(st, dr);
}

int db_query_drills(db *d, const char *cluster, int limit, db_drill_fn *fn, void *ctx)
{
    qb q;
    rd r;

    if (limit < 1) limit = 1;
    if (limit > 1000) limit = 1000;
    db__qb_init(&q, DRILL_COLUMNS);
    db__qb_text(&q, "cluster = ?", cluster);
    db__qb_limit(&q, "ORDER BY id DESC", limit);
    if (db__qb_open(d, &r, &q) < 0) return -1;
    return db__rd_rows(&r, drill_row, (rd_fn)fn, ctx);
}

static int get_one(db *d, const char *sql, int64_t v, hp_drill *dr)
{
    rd q;
    int n;

    memset(dr, 0, sizeof(*dr));
    if (db__rd_open(d, &q, sql) < 0) return -1;
    sqlite3_bind_int64(q.st, 1, v);
    n = db__rd_rows(&q, drill_into, NULL, dr);
    if (n <= 0) {
        free(dr->report);
        dr->report = NULL;
    }
    return n < 0 ? -1 : n > 0;
}

int db_get_drill(db *d, int64_t id, hp_drill *dr)
{
    return get_one(d, DRILL_COLUMNS " WHERE id = ?", id, dr);
}

int db_drill_of_job(db *d, int64_t job_id, hp_drill *dr)
{
    return get_one(d, DRILL_COLUMNS " WHERE job_id = ? ORDER BY id DESC LIMIT 1", job_id, dr);
}

int64_t db__drill_save(db *d, hp_drill *dr)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(d->w,
                           dr->id ? "UPDATE drills SET cluster = ?1, mode = ?2, job_id = ?3, "
                                    "started_at = ?4, ended_at = ?5, state = ?6, report = ?7 "
                                    "WHERE id = ?8"
                                  : "INSERT INTO drills (cluster, mode, job_id, started_at, "
                                    "ended_at, state, report) VALUES (?1,?2,?3,?4,?5,?6,?7)",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, dr->cluster, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, dr->mode, -1, SQLITE_STATIC);
    if (dr->job_id) sqlite3_bind_int64(st, 3, dr->job_id);
    sqlite3_bind_int64(st, 4, dr->started_at);
    if (dr->ended_at) sqlite3_bind_int64(st, 5, dr->ended_at);
    sqlite3_bind_text(st, 6, dr->state, -1, SQLITE_STATIC);
    if (dr->report) sqlite3_bind_text(st, 7, dr->report, -1, SQLITE_STATIC);
    if (dr->id) sqlite3_bind_int64(st, 8, dr->id);
    if (sqlite3_step(st) != SQLITE_DONE) goto out;
    if (!dr->id) dr->id = sqlite3_last_insert_rowid(d->w);
    /* the dashboard draws the cluster's drills: its cached page must change */
    db__recent_mark(d, dr->cluster, DB_RECENT_JOBS);
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}
