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
    db__qb_text(q, "severity = ?", eq->severity);
    if (eq->since) {
        db__qb_num(q, "id >= ?", d ? id_at(d, eq->since, 1) : 1);
        db__qb_num(q, "+ts >= ?", eq->since);
    }
    if (eq->until) {
        db__qb_num(q, "id <= ?", d ? id_at(d, eq->until, 0) : INT64_MAX);
        db__qb_num(q, "+ts <= ?", eq->until);
    }
    if (eq->before) db__qb_num(q, "id < ?", eq->before);
    if (eq->after) db__qb_num(q, "id > ?", eq->after);
    db__qb_limit(q, eq->oldest_first ? "ORDER BY id" : "ORDER BY id DESC", eq->limit);
}

/* ---------------------------------------------------------------------------
 * Filters by several values
 * ------------------------------------------------------------------------ */

int db_terms_split(const char *s, db_terms *out)
{
    out->n = 0;
    while (s && *s) {
        size_t len;
        s += strspn(s, " ,");
        len = strcspn(s, ",");
        while (len > 0 && s[len - 1] == ' ')
            len--;
        if (len == 0) break;
        if (out->n == DB_TERMS_MAX || len >= DB_TERM_LEN) return -1;
        memcpy(out->t[out->n], s, len);
        out->t[out->n++][len] = '\0';
        s += len;
        s += strcspn(s, ",");
    }
    return out->n;
}

static int term_matches(const char *t, const char *type)
{
    size_t n = strlen(t);
    int exact = n > 0 && t[n - 1] == '$';
    if (t[0] != '+' && t[0] != '-' && (type[0] == '+' || type[0] == '-')) type++;
    if (exact) return strlen(type) == n - 1 && strncmp(type, t, n - 1) == 0;
    return strncmp(type, t, n) == 0;
}

int db_type_matches(const char *terms, const char *type)
{
    db_terms ts;
    int i;
    if (db_terms_split(terms, &ts) <= 0) return ts.n == 0;
    for (i = 0; i < ts.n; i++)
        if (term_matches(ts.t[i], type)) return 1;
    return 0;
}

int db_severity_mask(const char *list)
{
    static const char *const words[] = {"info", "warning", "critical"};
    db_terms ts;
    int i, k, mask = 0;
    if (db_terms_split(list, &ts) < 0) return -1;
    for (i = 0; i < ts.n; i++) {
        for (k = 0; k < 3 && strcmp(ts.t[i], words[k]) != 0; k++)
            ;
        if (k == 3) return -1;
        mask |= 1 << k;
    }
    return mask;
}

#define TYPES_MAX 256 /* distinct event types looked at for a prefix */

/* The distinct types stored that match terms, by a skip-scan of the type
 * index (one search per distinct type, not a walk of every row). Fills
 * out (n at most TYPES_MAX); returns n or -1. */
static int matching_types(db *d, const char *terms, char (*out)[48])
{
    sqlite3 *c = db__reader_get(d);
    sqlite3_stmt *st = NULL;
    int n = 0, rc = -1;

    if (!c) return -1;
    if (sqlite3_prepare_v2(c,
                           "WITH RECURSIVE t(x) AS (SELECT (SELECT min(type) FROM events) "
                           "UNION ALL SELECT (SELECT min(type) FROM events WHERE type > t.x) "
                           "FROM t WHERE t.x IS NOT NULL) SELECT x FROM t WHERE x IS NOT NULL",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    while (sqlite3_step(st) == SQLITE_ROW && n < TYPES_MAX) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (t && strlen(t) < 48 && db_type_matches(terms, t)) hp_strlcpy(out[n++], t, 48);
    }
    rc = n;
out:
    sqlite3_finalize(st);
    db__reader_put(d, c);
    return rc;
}

typedef struct ids {
    int64_t *v;
    int n, cap, failed;
} ids;

static void collect_id(void *ctx, const hp_event *e)
{
    ids *x = ctx;
    if (x->n == x->cap) {
        int cap = x->cap ? x->cap * 2 : 64;
        int64_t *nv = realloc(x->v, sizeof(*nv) * (size_t)cap);
        if (!nv) {
            x->failed = 1;
            return;
        }
        x->v = nv;
        x->cap = cap;
    }
    x->v[x->n++] = e->id;
}

static int id_desc(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

static int type_cmp(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* 0 info, 1 warning, 2 critical, 3 anything else. */
static int sev_index(const char *sev)
{
    static const char *const sevs[] = {"info", "warning", "critical"};
    int k;
    for (k = 0; sev && k < 3; k++)
        if (!strcmp(sev, sevs[k])) return k;
    return 3;
}

/* More pairs than this are one walk of the id order instead (below). */
#define MERGED_SEARCHES_MAX 64

/* Many pairs (every type of "+,-" times three severities is hundreds of
 * searches, each reading up to limit ids, for one request): one walk of the
 * id order under the other filters, each row checked against the same
 * types and severities, stopped at limit. As many matching types make it
 * hit rows at once, it stops early; the answer is the merge's. */
static int query_walk(db *d, const event_query *eq, char (*types)[48], int ntypes, int mask,
                      db_event_fn *fn, void *ctx, db_events_work *w)
{
    event_query sub = *eq;
    qb q;
    rd r;
    int n = 0, rc = SQLITE_DONE;

    sub.types = sub.severities = NULL;
    if (types) sub.type = NULL;
    if (eq->severities) sub.severity = NULL;
    sub.limit = -1; /* stopped below, at eq->limit matches */
    db__events_qb(d, &sub, &q);
    if (db__qb_open(d, &r, &q) < 0) return -1;
    if (w) w->searches++;
    while (n < eq->limit && (rc = sqlite3_step(r.st)) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(r.st, 3);
        const char *sev = (const char *)sqlite3_column_text(r.st, 4);
        int k = sev_index(sev);
        if (w) w->rows++;
        if (types && (!type || strlen(type) >= 48 ||
                      !bsearch(type, types, (size_t)ntypes, sizeof(*types), type_cmp)))
            continue;
        if (eq->severities && (k == 3 || !(mask & (1 << k)))) continue;
        event_row(r.st, (rd_fn)fn, ctx);
        n++;
    }
    if (n == eq->limit) rc = SQLITE_DONE;
    sqlite3_finalize(r.st);
    db__reader_put(d, r.c);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? n : -1;
}

/* Several types and severities: one search per exact pair, each at most
 * limit rows, merged by id (newest first, or oldest with oldest_first),
 * the first limit of them read again by id for fn. Past
 * MERGED_SEARCHES_MAX pairs, query_walk. */
static int query_merged(db *d, const event_query *eq, db_event_fn *fn, void *ctx, db_events_work *w)
{
    static const char *const sevs[] = {"info", "warning", "critical"};
    char(*types)[48] = NULL;
    event_query sub = *eq;
    ids x = {NULL, 0, 0, 0};
    int ntypes = 1, mask = 7, nsevs = 1, i, k, n = 0, rc = -1;
    sqlite3 *c = NULL;
    sqlite3_stmt *st = NULL;

    if (eq->severities && (mask = db_severity_mask(eq->severities)) <= 0) mask = mask < 0 ? 0 : 7;
    if (eq->severities) nsevs = (mask & 1) + (mask >> 1 & 1) + (mask >> 2 & 1);
    if (eq->types) {
        types = malloc(sizeof(*types) * TYPES_MAX);
        if (!types || (ntypes = matching_types(d, eq->types, types)) < 0) goto out;
        if (w) w->searches++;
    }
    if (ntypes * nsevs > MERGED_SEARCHES_MAX) {
        /* matching_types lists them in the index's (memcmp) order */
        rc = query_walk(d, eq, types, ntypes, mask, fn, ctx, w);
        goto out;
    }
    sub.types = sub.severities = NULL;
    for (i = 0; i < ntypes; i++) {
        if (types) sub.type = types[i];
        for (k = 0; k < 3; k++) {
            qb q;
            rd r;
            int before = x.n;
            if (!(mask & (1 << k)) && eq->severities) continue;
            sub.severity = eq->severities ? sevs[k] : eq->severity;
            db__events_qb(d, &sub, &q);
            if (db__qb_open(d, &r, &q) < 0 ||
                db__rd_rows(&r, event_row, (rd_fn)collect_id, &x) < 0 || x.failed)
                goto out;
            if (w) {
                w->searches++;
                w->rows += x.n - before;
            }
            if (!eq->severities) break;
        }
    }
    if (x.n > 1) qsort(x.v, (size_t)x.n, sizeof(*x.v), id_desc);
    if (eq->oldest_first)
        for (i = 0; i < x.n / 2; i++) {
            int64_t t = x.v[i];
            x.v[i] = x.v[x.n - 1 - i];
            x.v[x.n - 1 - i] = t;
        }
    if (x.n > 0) {
        if (!(c = db__reader_get(d))) goto out;
        if (sqlite3_prepare_v2(c,
                               "SELECT id, ts, cluster, type, severity, source, node, message, "
                               "details FROM events WHERE id = ?",
                               -1, &st, NULL) != SQLITE_OK)
            goto out;
    }
    for (i = 0; i < x.n && n < eq->limit; i++) {
        if (i > 0 && x.v[i] == x.v[i - 1]) continue;
        sqlite3_bind_int64(st, 1, x.v[i]);
        if (sqlite3_step(st) == SQLITE_ROW) {
            event_row(st, (rd_fn)fn, ctx);
            n++;
        }
        sqlite3_reset(st);
    }
    rc = n;
out:
    sqlite3_finalize(st);
    if (c) db__reader_put(d, c);
    free(x.v);
    free(types);
    return rc;
}

int db__query_events_work(db *d, const event_query *eq, db_event_fn *fn, void *ctx,
                          db_events_work *w)
{
    qb q;
    rd r;
    if (eq->types || eq->severities) return query_merged(d, eq, fn, ctx, w);
    db__events_qb(d, eq, &q);
    if (db__qb_open(d, &r, &q) < 0) return -1;
    if (w) w->searches++;
    return db__rd_rows(&r, event_row, (rd_fn)fn, ctx);
}

int db_query_events(db *d, const event_query *eq, db_event_fn *fn, void *ctx)
{
    return db__query_events_work(d, eq, fn, ctx, NULL);
}
