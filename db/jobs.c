/* jobs.c — the jobs table (see db.h). */
#define _POSIX_C_SOURCE 200809L
#include "db/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/banned.h" /* last: after every system header */

/* --------------------------------------------------------------------- jobs */

int64_t db__job_insert(db *d, const char *kind, const char *cluster, const char *params,
                       const char *actor, const char *reason, int64_t created_at)
{
    return db__job_insert_at(d, kind, cluster, params, actor, reason, created_at, 0);
}

int64_t db__job_insert_at(db *d, const char *kind, const char *cluster, const char *params,
                          const char *actor, const char *reason, int64_t created_at, int64_t run_at)
{
    static const char sql[] = "INSERT INTO jobs (kind, cluster, state, params, actor, reason, "
                              "created_at, run_at) VALUES (?,?,'queued',?,?,?,?,?)";
    sqlite3_stmt *st = NULL;
    int64_t id = -1;

    if (sqlite3_prepare_v2(d->w, sql, -1, &st, NULL) != SQLITE_OK) goto out;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, params ? params : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, actor ? actor : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, reason ? reason : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, created_at);
    db__bind_opt_i64(st, 7, run_at > 0 ? run_at : -1);
    if (sqlite3_step(st) == SQLITE_DONE) id = sqlite3_last_insert_rowid(d->w);
out:
    sqlite3_finalize(st);
    return id;
}

int db__job_save(db *d, int64_t id, const char *state, const char *steps, const char *error,
                 const char *result, const char *undo, int64_t started_at, int64_t ended_at)
{
    static const char sql[] =
        "UPDATE jobs SET state = coalesce(?2, state), steps = coalesce(?3, steps), "
        "error = coalesce(?4, error), result = coalesce(?5, result), undo = coalesce(?6, undo), "
        "started_at = coalesce(?7, started_at), ended_at = coalesce(?8, ended_at) WHERE id = ?1";
    sqlite3_stmt *st = NULL;
    int rc = -1;

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

char *db__col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? strdup((const char *)t) : NULL;
}

#define JOB_COLUMNS                                                                                \
    "SELECT id, kind, cluster, state, actor, reason, params, steps, error, result, undo, "         \
    "created_at, coalesce(started_at, 0), coalesce(ended_at, 0), coalesce(run_at, 0) FROM jobs"

static void read_job(sqlite3_stmt *st, db_job_row *r)
{
    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(st, 0);
    db__col_text(st, 1, r->kind, sizeof(r->kind));
    db__col_text(st, 2, r->cluster, sizeof(r->cluster));
    db__col_text(st, 3, r->state, sizeof(r->state));
    db__col_text(st, 4, r->actor, sizeof(r->actor));
    db__col_text(st, 5, r->reason, sizeof(r->reason));
    r->params = db__col_dup(st, 6);
    r->steps = db__col_dup(st, 7);
    r->error = db__col_dup(st, 8);
    r->result = db__col_dup(st, 9);
    r->undo = db__col_dup(st, 10);
    r->created_at = sqlite3_column_int64(st, 11);
    r->started_at = sqlite3_column_int64(st, 12);
    r->ended_at = sqlite3_column_int64(st, 13);
    r->run_at = sqlite3_column_int64(st, 14);
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

    if (db__rd_open(d, &q, JOB_COLUMNS " WHERE id = ?") < 0) return -1;
    sqlite3_bind_int64(q.st, 1, id);
    n = db__rd_rows(&q, read_job_into, NULL, r);
    return n < 0 ? -1 : n > 0;
}

static void job_row(sqlite3_stmt *st, rd_fn fn, void *ctx)
{
    db_job_row r;
    read_job(st, &r);
    ((db_job_fn *)fn)(ctx, &r);
    db_job_row_release(&r);
}

void db__jobs_qb(const char *cluster, int unfinished, int64_t before, int limit, qb *q)
{
    db__qb_init(q, JOB_COLUMNS);
    db__qb_text(q, "cluster = ?", cluster);
    if (unfinished) db__qb_cond(q, "state IN ('queued', 'running')");
    if (before) db__qb_num(q, "id < ?", before);
    db__qb_limit(q, "ORDER BY id DESC", limit);
}

int db_query_jobs(db *d, const char *cluster, int unfinished, int64_t before, int limit,
                  db_job_fn *fn, void *ctx)
{
    qb q;
    rd r;
    db__jobs_qb(cluster, unfinished, before, limit, &q);
    if (db__qb_open(d, &r, &q) < 0) return -1;
    return db__rd_rows(&r, job_row, (rd_fn)fn, ctx);
}
