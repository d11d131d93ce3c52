/* failovers.c — the failovers table (see db.h). */
#define _POSIX_C_SOURCE 200809L
#include "db/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/banned.h" /* last: after every system header */

/* ---------------------------------------------------------------- failovers */

void db__bind_opt_i64(sqlite3_stmt *st, int i, int64_t v)
{
    if (v < 0)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, v);
}

int db__insert_failover(db *d, hp_failover *f)
{
    static const char sql[] =
        "INSERT INTO failovers (cluster, kind, old_master, new_master, started_at, ended_at, "
        "duration_ms, writes_paused_ms, status, actor, reason, job_id) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)";
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(d->w, sql, -1, &st, NULL) != SQLITE_OK) goto out;
    sqlite3_bind_text(st, 1, f->cluster, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, f->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, f->old_master, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, f->new_master, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, f->started_at);
    db__bind_opt_i64(st, 6, f->ended_at);
    db__bind_opt_i64(st, 7, f->duration_ms);
    db__bind_opt_i64(st, 8, f->writes_paused_ms);
    sqlite3_bind_text(st, 9, f->status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, f->actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 11, f->reason, -1, SQLITE_STATIC);
    db__bind_opt_i64(st, 12, f->job_id > 0 ? f->job_id : -1);
    if (sqlite3_step(st) == SQLITE_DONE) {
        f->id = sqlite3_last_insert_rowid(d->w);
        rc = 0;
    }
out:
    sqlite3_finalize(st);
    return rc;
}

int db_failover_seen(db *d, const char *cluster, const char *old_master, const char *new_master,
                     int64_t since_ms)
{
    sqlite3 *c = db__reader_get(d);
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (!c) return -1;
    /* Only the cluster's latest failover: a real repeat of A -> B must have had
     * a B -> A in between, and then it is not the latest. */
    if (sqlite3_prepare_v2(c,
                           "SELECT 1 FROM (SELECT old_master, new_master, "
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
    db__reader_put(d, c);
    return rc;
}

int64_t db__col_opt_i64(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, i);
}

static void failover_row(sqlite3_stmt *st, rd_fn fn, void *ctx)
{
    hp_failover f;
    memset(&f, 0, sizeof(f));
    f.id = sqlite3_column_int64(st, 0);
    db__col_text(st, 1, f.cluster, sizeof(f.cluster));
    db__col_text(st, 2, f.kind, sizeof(f.kind));
    db__col_text(st, 3, f.old_master, sizeof(f.old_master));
    db__col_text(st, 4, f.new_master, sizeof(f.new_master));
    f.started_at = sqlite3_column_int64(st, 5);
    f.ended_at = db__col_opt_i64(st, 6);
    f.duration_ms = db__col_opt_i64(st, 7);
    f.writes_paused_ms = db__col_opt_i64(st, 8);
    db__col_text(st, 9, f.status, sizeof(f.status));
    db__col_text(st, 10, f.actor, sizeof(f.actor));
    db__col_text(st, 11, f.reason, sizeof(f.reason));
    f.job_id = db__col_opt_i64(st, 12);
    ((db_failover_fn *)fn)(ctx, &f);
}

/* " OR cond" with one more bind: the second half of a two-column test. */
static void qb_or_text(qb *q, const char *cond, const char *text)
{
    size_t n = strlen(cond);
    if (q->nbind == QB_MAX_BINDS || q->len + n + 5 > sizeof(q->sql)) {
        q->overflow = 1;
        return;
    }
    memcpy(q->sql + q->len, " OR ", 4);
    memcpy(q->sql + q->len + 4, cond, n + 1);
    q->len += n + 4;
    q->bind[q->nbind].text = text;
    q->bind[q->nbind].num = 0;
    q->nbind++;
}

/* The kinds the type terms match (see failover_query), as a condition of
 * fixed words: never text from the request. */
static const char *kinds_cond(const char *types)
{
    static const char *const conds[8] = {"0",
                                         "kind = 'automatic'",
                                         "kind = 'forced'",
                                         "kind IN ('automatic', 'forced')",
                                         "kind = 'graceful'",
                                         "kind IN ('automatic', 'graceful')",
                                         "kind IN ('forced', 'graceful')",
                                         "1"};
    static const char *const kinds[] = {"automatic", "forced", "graceful"};
    int i, mask = 0;
    if (db_type_matches(types, "failover") || db_type_matches(types, "+switch-master")) return "1";
    for (i = 0; i < 3; i++)
        if (db_type_matches(types, kinds[i])) mask |= 1 << i;
    return conds[mask];
}

/* The severities (see failover_query) as a condition of fixed words. */
static const char *severities_cond(const char *list)
{
    static const char *const conds[8] = {
        "0",
        "(status NOT IN ('failed', 'aborted') AND kind = 'graceful')",
        "(status NOT IN ('failed', 'aborted') AND kind <> 'graceful')",
        "status NOT IN ('failed', 'aborted')",
        "status IN ('failed', 'aborted')",
        "(status IN ('failed', 'aborted') OR kind = 'graceful')",
        "(status IN ('failed', 'aborted') OR kind <> 'graceful')",
        "1"};
    int mask = db_severity_mask(list);
    return conds[mask < 0 ? 0 : mask == 0 ? 7 : mask];
}

void db__failovers_qb(const failover_query *fq, qb *q)
{
    db__qb_init(q, "SELECT id, cluster, kind, old_master, new_master, started_at, ended_at, "
                   "duration_ms, writes_paused_ms, status, actor, reason, job_id FROM failovers");
    db__qb_text(q, "cluster = ?", fq->cluster);
    if (fq->before) db__qb_num(q, "id < ?", fq->before);
    if (fq->node) {
        db__qb_text(q, "(old_master = ?", fq->node);
        qb_or_text(q, "new_master = ?)", fq->node);
    }
    if (fq->since) db__qb_num(q, "started_at >= ?", fq->since);
    if (fq->until) db__qb_num(q, "started_at <= ?", fq->until);
    if (fq->types) db__qb_cond(q, kinds_cond(fq->types));
    if (fq->severities) db__qb_cond(q, severities_cond(fq->severities));
    db__qb_limit(q, "ORDER BY id DESC", fq->limit);
}

int db_query_failovers(db *d, const failover_query *fq, db_failover_fn *fn, void *ctx)
{
    qb q;
    rd r;
    db__failovers_qb(fq, &q);
    if (db__qb_open(d, &r, &q) < 0) return -1;
    return db__rd_rows(&r, failover_row, (rd_fn)fn, ctx);
}
