/* alerts.c — the alerts table: the only code that writes it, called by the
 * writer as it stores the events that open and resolve alerts and the
 * acknowledgements (see db.h). */
#define _POSIX_C_SOURCE 200809L
#include "db/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/banned.h" /* last: after every system header */

/* ------------------------------------------------------------------- alerts */

int64_t db__alert_open(db *d, const alert_row *a, int *created)
{
    sqlite3_stmt *st = NULL;
    int64_t id = -1;

    *created = 0;
    if (sqlite3_prepare_v2(d->w,
                           "SELECT id FROM alerts WHERE cluster = ? AND rule = ? AND node = ? "
                           "AND resolved_at IS NULL",
                           -1, &st, NULL) != SQLITE_OK)
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
    if (sqlite3_prepare_v2(d->w,
                           "INSERT INTO alerts (cluster, rule, node, severity, message, "
                           "started_at, fired_at) VALUES (?,?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, a->cluster, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, a->rule, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, a->node, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, a->severity, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, a->message, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, a->started_at);
    sqlite3_bind_int64(st, 7, a->fired_at > 0 ? a->fired_at : a->started_at);
    if (sqlite3_step(st) == SQLITE_DONE) {
        id = sqlite3_last_insert_rowid(d->w);
        *created = 1;
    }
out:
    sqlite3_finalize(st);
    return id;
}

int64_t db__alert_resolve(db *d, const char *cluster, const char *rule, const char *node,
                          int64_t at)
{
    sqlite3_stmt *st = NULL;
    int64_t id = -1;

    if (sqlite3_prepare_v2(d->w,
                           "SELECT id FROM alerts WHERE cluster = ? AND rule = ? AND node = ? "
                           "AND resolved_at IS NULL",
                           -1, &st, NULL) != SQLITE_OK)
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
    return id;
}

int db__alert_ack(db *d, int64_t id, const char *who, const char *comment, int64_t at)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(d->w,
                           "UPDATE alerts SET acked_by = ?, acked_at = ?, ack_comment = ? "
                           "WHERE id = ?",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, who, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, at);
    sqlite3_bind_text(st, 3, comment, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, id);
    if (sqlite3_step(st) == SQLITE_DONE) rc = sqlite3_changes(d->w) > 0 ? 1 : 0;
out:
    sqlite3_finalize(st);
    return rc;
}

static void alert_row_emit(sqlite3_stmt *st, rd_fn fn, void *ctx)
{
    alert_row a;
    memset(&a, 0, sizeof(a));
    a.id = sqlite3_column_int64(st, 0);
    db__col_text(st, 1, a.cluster, sizeof(a.cluster));
    db__col_text(st, 2, a.rule, sizeof(a.rule));
    db__col_text(st, 3, a.node, sizeof(a.node));
    db__col_text(st, 4, a.severity, sizeof(a.severity));
    db__col_text(st, 5, a.message, sizeof(a.message));
    a.started_at = sqlite3_column_int64(st, 6);
    a.resolved_at = sqlite3_column_int64(st, 7);
    db__col_text(st, 8, a.acked_by, sizeof(a.acked_by));
    a.acked_at = sqlite3_column_int64(st, 9);
    db__col_text(st, 10, a.ack_comment, sizeof(a.ack_comment));
    a.fired_at = sqlite3_column_int64(st, 11);
    ((db_alert_fn *)fn)(ctx, &a);
}

/* "(instr(rule, ?) = 1 OR ...)": the rule starts with one of the terms
 * (each bound, so no text of the request lands in the SQL). The terms that
 * start with + or - name event types only, so they match no rule. */
static void rule_terms(qb *q, const db_terms *ts)
{
    int i, any = 0;
    for (i = 0; i < ts->n; i++) {
        if (ts->t[i][0] == '+' || ts->t[i][0] == '-') continue;
        if (q->nbind == QB_MAX_BINDS - 1 || q->len + 40 > sizeof(q->sql)) {
            q->overflow = 1;
            return;
        }
        if (!any) {
            db__qb_cond(q, "(instr(rule, ?) = 1");
        } else {
            memcpy(q->sql + q->len, " OR instr(rule, ?) = 1", 23);
            q->len += 22;
        }
        q->bind[q->nbind].text = ts->t[i];
        q->bind[q->nbind].num = 0;
        q->nbind++;
        any = 1;
    }
    if (any) {
        memcpy(q->sql + q->len, ")", 2);
        q->len += 1;
    } else {
        db__qb_cond(q, "0");
    }
}

/* ts: the type terms split, owned by the caller until the query ran. */
static void alerts_qb(const alert_query *aq, const db_terms *ts, qb *q)
{
    static const char *const sev_conds[8] = {"0",
                                             "severity = 'info'",
                                             "severity = 'warning'",
                                             "severity IN ('info', 'warning')",
                                             "severity = 'critical'",
                                             "severity IN ('info', 'critical')",
                                             "severity IN ('warning', 'critical')",
                                             "1"};
    db__qb_init(q, "SELECT id, cluster, rule, node, severity, message, started_at, "
                   "coalesce(resolved_at, 0), coalesce(acked_by, ''), coalesce(acked_at, 0), "
                   "coalesce(ack_comment, ''), coalesce(fired_at, started_at) FROM alerts");
    if (aq->active_only) db__qb_cond(q, "resolved_at IS NULL");
    db__qb_text(q, "cluster = ?", aq->cluster);
    if (aq->before) db__qb_num(q, "id < ?", aq->before);
    db__qb_text(q, "node = ?", aq->node);
    if (aq->types && ts->n > 0 && !db_type_matches(aq->types, "alert-fired") &&
        !db_type_matches(aq->types, "alert-resolved"))
        rule_terms(q, ts);
    if (aq->severities) {
        int m = db_severity_mask(aq->severities);
        db__qb_cond(q, sev_conds[m < 0 ? 0 : m == 0 ? 7 : m]);
    }
    if (aq->since) db__qb_num(q, "(resolved_at IS NULL OR resolved_at >= ?)", aq->since);
    if (aq->until) db__qb_num(q, "started_at <= ?", aq->until);
    db__qb_limit(q, "ORDER BY id DESC", aq->limit);
}

void db__alerts_qb(int active_only, const char *cluster, int64_t before, int limit, qb *q)
{
    alert_query aq;
    db_terms ts;
    memset(&aq, 0, sizeof aq);
    ts.n = 0;
    aq.active_only = active_only;
    aq.cluster = cluster;
    aq.before = before;
    aq.limit = limit;
    alerts_qb(&aq, &ts, q);
}

int db_find_alerts(db *d, const alert_query *aq, db_alert_fn *fn, void *ctx)
{
    db_terms ts;
    qb q;
    rd r;
    if (db_terms_split(aq->types, &ts) < 0) return -1;
    alerts_qb(aq, &ts, &q);
    if (db__qb_open(d, &r, &q) < 0) return -1;
    return db__rd_rows(&r, alert_row_emit, (rd_fn)fn, ctx);
}

int db_query_alerts(db *d, int active_only, const char *cluster, int64_t before, int limit,
                    db_alert_fn *fn, void *ctx)
{
    alert_query aq;
    memset(&aq, 0, sizeof aq);
    aq.active_only = active_only;
    aq.cluster = cluster;
    aq.before = before;
    aq.limit = limit;
    return db_find_alerts(d, &aq, fn, ctx);
}
