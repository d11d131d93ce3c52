/* audit.c — the audit trail: stored by the writer, read by the API and the
 * History screen (see db.h). */
#include <stdlib.h>
#include <string.h>

#include "db/internal.h"
#include "core/common.h"
#include "core/banned.h" /* last: after every system header */

#define PRUNE_EVERY_MS 3600000LL

int db__audit_insert(db *d, audit_rec *a, int keep_days)
{
    static int64_t last_prune, last_ts; /* the writer thread only */
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (a->ts < last_ts) a->ts = last_ts; /* stamped by HTTP threads, stored in order */
    last_ts = a->ts;

    if (sqlite3_prepare_v2(d->w,
                           "INSERT INTO audit (ts, actor, role, via, source, action, target, "
                           "params, status, outcome) VALUES (?,?,?,?,?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_int64(st, 1, a->ts);
    sqlite3_bind_text(st, 2, a->actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, a->role, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, a->via, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, a->source, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, a->action, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, a->target, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, a->params ? a->params : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 9, a->status);
    sqlite3_bind_text(st, 10, a->outcome, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) goto out;
    a->id = sqlite3_last_insert_rowid(d->w);
    rc = 0;
    if (a->ts - last_prune > PRUNE_EVERY_MS) {
        sqlite3_stmt *del = NULL;
        last_prune = a->ts;
        if (sqlite3_prepare_v2(d->w, "DELETE FROM audit WHERE ts < ?", -1, &del, NULL) ==
            SQLITE_OK) {
            sqlite3_bind_int64(del, 1, a->ts - (int64_t)keep_days * 86400000LL);
            sqlite3_step(del);
        }
        sqlite3_finalize(del);
    }
out:
    sqlite3_finalize(st);
    return rc;
}

void db__audit_qb(const audit_query *aq, qb *q)
{
    db__qb_init(q, "SELECT id, ts, actor, role, via, source, action, target, params, status, "
                   "outcome FROM audit");
    db__qb_text(q, "actor = ?", aq->actor);
    db__qb_text(q, "action = ?", aq->action);
    db__qb_text(q, "outcome = ?", aq->outcome);
    /* ts never decreases in id order (db__audit_insert): a time window is
     * an id range, found in the ts index */
    if (aq->since)
        db__qb_num(q,
                   "id >= (SELECT IFNULL(MIN(id), 9223372036854775807) FROM audit WHERE ts >= ?)",
                   aq->since);
    if (aq->until)
        db__qb_num(q, "id <= (SELECT IFNULL(MAX(id), 0) FROM audit WHERE ts <= ?)", aq->until);
    if (aq->before) db__qb_num(q, "id < ?", aq->before);
    db__qb_limit(q, "ORDER BY id DESC", aq->limit);
}

static void audit_row(sqlite3_stmt *st, rd_fn fn, void *ctx)
{
    audit_rec a;
    memset(&a, 0, sizeof(a));
    a.id = sqlite3_column_int64(st, 0);
    a.ts = sqlite3_column_int64(st, 1);
    db__col_text(st, 2, a.actor, sizeof(a.actor));
    db__col_text(st, 3, a.role, sizeof(a.role));
    db__col_text(st, 4, a.via, sizeof(a.via));
    db__col_text(st, 5, a.source, sizeof(a.source));
    db__col_text(st, 6, a.action, sizeof(a.action));
    db__col_text(st, 7, a.target, sizeof(a.target));
    a.params = db__col_dup(st, 8);
    a.status = sqlite3_column_int(st, 9);
    db__col_text(st, 10, a.outcome, sizeof(a.outcome));
    ((db_audit_fn *)fn)(ctx, &a);
    free(a.params);
}

int db_query_audit(db *d, const audit_query *aq, db_audit_fn *fn, void *ctx)
{
    qb q;
    rd r;
    db__audit_qb(aq, &q);
    if (db__qb_open(d, &r, &q) < 0) return -1;
    return db__rd_rows(&r, audit_row, (rd_fn)fn, ctx);
}
