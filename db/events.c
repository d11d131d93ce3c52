/* events.c — the events table: the writer stores batches, readers filter
 * and page (see db.h). */
#define _POSIX_C_SOURCE 200809L
#include "db/internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/banned.h" /* last: after every system header */

int db__insert_events(db *d, hp_event *evs, int n)
{
    int i;
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
            return -1;
        }
        sqlite3_reset(st);
        evs[i].id = sqlite3_last_insert_rowid(d->w);
    }
    return 0;
}

static void event_row(sqlite3_stmt *st, rd_fn fn, void *ctx)
{
    hp_event e;
    e.id = sqlite3_column_int64(st, 0);
    e.ts = sqlite3_column_int64(st, 1);
    db__col_text(st, 2, e.cluster, sizeof(e.cluster));
    db__col_text(st, 3, e.type, sizeof(e.type));
    db__col_text(st, 4, e.severity, sizeof(e.severity));
    db__col_text(st, 5, e.source, sizeof(e.source));
    db__col_text(st, 6, e.node, sizeof(e.node));
    db__col_text(st, 7, e.message, sizeof(e.message));
    db__col_text(st, 8, e.details, sizeof(e.details));
    ((db_event_fn *)fn)(ctx, &e);
}

/* The first (or last) event id at or after (before) ts, by the ts index;
 * INT64_MAX (0) when there is none. */
static int64_t id_at(db *d, int64_t ts, int after)
{
    sqlite3 *c = db__reader_get(d);
    sqlite3_stmt *st = NULL;
    int64_t id = after ? INT64_MAX : 0;

    if (!c) return id;
    if (sqlite3_prepare_v2(c,
                           after ? "SELECT id FROM events WHERE ts >= ? ORDER BY ts, id LIMIT 1"
                                 : "SELECT id FROM events WHERE ts <= ? ORDER BY ts DESC, id DESC "
                                   "LIMIT 1",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, ts);
        if (sqlite3_step(st) == SQLITE_ROW) id = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    db__reader_put(d, c);
    return id;
}

/* A time window becomes an id range: the writer keeps ts non-decreasing in
 * id order (writer.c), so the first id at or after since and the last at or
 * before until bound it, and every filter keeps its (x, id) index. The ts
 * terms stay as checks, with a unary + so that no index is chosen for them. */
void db__events_qb(db *d, const event_query *eq, qb *q)
{
    db__qb_init(q, "SELECT id, ts, cluster, type, severity, source, node, message, details "
                   "FROM events");
    db__qb_text(q, "cluster = ?", eq->cluster);
    db__qb_text(q, "type = ?", eq->type);
    db__qb_text(q, "node = ?", eq->node);
    if (eq->since) {
        db__qb_num(q, "id >= ?", d ? id_at(d, eq->since, 1) : 1);
        db__qb_num(q, "+ts >= ?", eq->since);
    }
    if (eq->until) {
        db__qb_num(q, "id <= ?", d ? id_at(d, eq->until, 0) : INT64_MAX);
        db__qb_num(q, "+ts <= ?", eq->until);
    }
    if (eq->before) db__qb_num(q, "id < ?", eq->before);
    db__qb_limit(q, "ORDER BY id DESC", eq->limit);
}

int db_query_events(db *d, const event_query *eq, db_event_fn *fn, void *ctx)
{
    qb q;
    rd r;
    db__events_qb(d, eq, &q);
    if (db__qb_open(d, &r, &q) < 0) return -1;
    return db__rd_rows(&r, event_row, (rd_fn)fn, ctx);
}
