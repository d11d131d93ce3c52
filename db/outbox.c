/* outbox.c — the notification outbox (see db.h). */
#define _POSIX_C_SOURCE 200809L
#include "db/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/banned.h" /* last: after every system header */

/* ------------------------------------------------------------------- outbox */

void outbox_row_release(outbox_row *r)
{
    free(r->payload);
    free(r->text);
    r->payload = r->text = NULL;
}

int db__outbox_add(db *d, const char *channel, const char *key, const char *severity,
                   const char *payload, const char *text, int64_t now)
{
    return db__outbox_add_g(d, channel, key, severity, payload, text, now, NULL, NULL, 0);
}

int db__outbox_add_g(db *d, const char *channel, const char *key, const char *severity,
                     const char *payload, const char *text, int64_t now, const char *gkey,
                     const char *gstate, int64_t gat)
{
    static const char sql[] =
        "INSERT OR IGNORE INTO outbox (channel, key, severity, payload, text, next_at, "
        "created_at, gkey, gstate, gat) VALUES (?,?,?,?,?,?,?,?,?,?)";
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(d->w, sql, -1, &st, NULL) != SQLITE_OK) goto out;
    sqlite3_bind_text(st, 1, channel, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, severity, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, payload, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, now);
    sqlite3_bind_int64(st, 7, now);
    if (gkey && gkey[0]) {
        sqlite3_bind_text(st, 8, gkey, -1, SQLITE_STATIC);
        if (gstate && gstate[0]) sqlite3_bind_text(st, 9, gstate, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 10, gat);
    }
    if (sqlite3_step(st) == SQLITE_DONE) rc = sqlite3_changes(d->w) > 0 ? 1 : 0;
out:
    sqlite3_finalize(st);
    return rc;
}

#define OUTBOX_COLUMNS                                                                             \
    "SELECT id, channel, key, severity, payload, text, state, attempts, next_at, created_at, "     \
    "coalesce(delivered_at, 0), coalesce(last_error, ''), coalesce(gkey, ''), "                    \
    "coalesce(gstate, ''), coalesce(gat, 0), coalesce(claimed_at, 0), coalesce(sent_by, '') "      \
    "FROM outbox"

static void read_outbox(sqlite3_stmt *st, outbox_row *r)
{
    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(st, 0);
    db__col_text(st, 1, r->channel, sizeof(r->channel));
    db__col_text(st, 2, r->key, sizeof(r->key));
    db__col_text(st, 3, r->severity, sizeof(r->severity));
    r->payload = db__col_dup(st, 4);
    r->text = db__col_dup(st, 5);
    db__col_text(st, 6, r->state, sizeof(r->state));
    r->attempts = sqlite3_column_int(st, 7);
    r->next_at = sqlite3_column_int64(st, 8);
    r->created_at = sqlite3_column_int64(st, 9);
    r->delivered_at = sqlite3_column_int64(st, 10);
    db__col_text(st, 11, r->last_error, sizeof(r->last_error));
    db__col_text(st, 12, r->gkey, sizeof(r->gkey));
    db__col_text(st, 13, r->gstate, sizeof(r->gstate));
    r->gat = sqlite3_column_int64(st, 14);
    r->claimed_at = sqlite3_column_int64(st, 15);
    db__col_text(st, 16, r->sent_by, sizeof(r->sent_by));
}

int db_outbox_next(db *d, const char *channel, int64_t now, outbox_row *r, int64_t *next_due)
{
    sqlite3 *c = db__reader_get(d);
    sqlite3_stmt *st = NULL;
    int rc = -1;

    *next_due = 0;
    if (!c) return -1;
    if (sqlite3_prepare_v2(c,
                           "SELECT min(next_at) FROM outbox WHERE channel = ? AND state = "
                           "'pending'",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, channel, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        *next_due = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (!*next_due || *next_due > now) {
        rc = 0;
        goto out;
    }
    if (sqlite3_prepare_v2(c,
                           OUTBOX_COLUMNS " WHERE channel = ? AND state = 'pending' AND "
                                          "next_at <= ? ORDER BY id LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, channel, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_outbox(st, r);
        rc = 1;
    } else {
        rc = rc == SQLITE_DONE ? 0 : -1;
    }
out:
    sqlite3_finalize(st);
    db__reader_put(d, c);
    return rc;
}

int db__outbox_mark(db *d, int64_t id, const char *state, int attempts, int64_t next_at,
                    const char *last_error, int64_t delivered_at)
{
    return db__outbox_mark_by(d, id, state, attempts, next_at, last_error, delivered_at, NULL);
}

int db__outbox_mark_by(db *d, int64_t id, const char *state, int attempts, int64_t next_at,
                       const char *last_error, int64_t delivered_at, const char *sent_by)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(d->w,
                           "UPDATE outbox SET state = ?2, attempts = ?3, next_at = ?4, "
                           "last_error = ?5, delivered_at = ?6, sent_by = coalesce(?7, sent_by) "
                           "WHERE id = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, attempts);
    sqlite3_bind_int64(st, 4, next_at);
    if (last_error) sqlite3_bind_text(st, 5, last_error, -1, SQLITE_STATIC);
    db__bind_opt_i64(st, 6, delivered_at > 0 ? delivered_at : -1);
    if (sent_by && sent_by[0]) sqlite3_bind_text(st, 7, sent_by, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
out:
    sqlite3_finalize(st);
    return rc;
}

int db__outbox_claimed(db *d, int64_t id, const char *by, int64_t at)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(d->w, "UPDATE outbox SET claimed_at = ?2, sent_by = ?3 WHERE id = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, at);
    sqlite3_bind_text(st, 3, by ? by : "", -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
out:
    sqlite3_finalize(st);
    return rc;
}

static void outbox_row_emit(sqlite3_stmt *st, rd_fn fn, void *ctx)
{
    outbox_row r;
    read_outbox(st, &r);
    ((db_outbox_fn *)fn)(ctx, &r);
    outbox_row_release(&r);
}

void db__outbox_qb(const char *state, int64_t before, int limit, qb *q)
{
    db__qb_init(q, OUTBOX_COLUMNS);
    db__qb_text(q, "state = ?", state);
    if (before) db__qb_num(q, "id < ?", before);
    db__qb_limit(q, "ORDER BY id DESC", limit);
}

int db_query_outbox(db *d, const char *state, int64_t before, int limit, db_outbox_fn *fn,
                    void *ctx)
{
    qb q;
    rd r;
    db__outbox_qb(state, before, limit, &q);
    if (db__qb_open(d, &r, &q) < 0) return -1;
    return db__rd_rows(&r, outbox_row_emit, (rd_fn)fn, ctx);
}

int db_outbox_unclaimed(db *d, const char *channel, int64_t before, int limit, db_outbox_fn *fn,
                        void *ctx)
{
    sqlite3 *c = db__reader_get(d);
    sqlite3_stmt *st = NULL;
    int rc = -1, n = 0;

    if (!c) return -1;
    if (sqlite3_prepare_v2(c,
                           OUTBOX_COLUMNS " WHERE channel = ? AND state = 'pending' AND gkey IS "
                                          "NOT NULL AND claimed_at IS NULL AND created_at < ? "
                                          "ORDER BY id LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, channel, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, before);
    sqlite3_bind_int(st, 3, limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        outbox_row r;
        read_outbox(st, &r);
        fn(ctx, &r);
        outbox_row_release(&r);
        n++;
    }
    rc = rc == SQLITE_DONE ? n : -1;
out:
    sqlite3_finalize(st);
    db__reader_put(d, c);
    return rc;
}
