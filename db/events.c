/* events.c — the events table: the writer stores batches, readers filter
 * and page (see db.h). */
#define _POSIX_C_SOURCE 200809L
#include "db/internal.h"

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

int db_query_events(db *d, const event_query *q, db_event_fn *fn, void *ctx)
{
    static const char sql[] =
        "SELECT id, ts, cluster, type, severity, source, node, message, details FROM events "
        "WHERE (?1 IS NULL OR cluster = ?1) AND (?2 IS NULL OR type = ?2) "
        "AND (?3 IS NULL OR node = ?3) AND (?4 = 0 OR ts >= ?4) AND (?5 = 0 OR ts <= ?5) "
        "AND (?6 = 0 OR id < ?6) ORDER BY id DESC LIMIT ?7";
    rd r;
    sqlite3_stmt *st;

    if (db__rd_open(d, &r, sql) < 0) return -1;
    st = r.st;
    if (q->cluster) sqlite3_bind_text(st, 1, q->cluster, -1, SQLITE_STATIC);
    if (q->type) sqlite3_bind_text(st, 2, q->type, -1, SQLITE_STATIC);
    if (q->node) sqlite3_bind_text(st, 3, q->node, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, q->since);
    sqlite3_bind_int64(st, 5, q->until);
    sqlite3_bind_int64(st, 6, q->before);
    sqlite3_bind_int(st, 7, q->limit);
    return db__rd_rows(&r, event_row, (rd_fn)fn, ctx);
}
