/* samples.c — the history charts' store (see db.h): one row per node per
 * poll in samples_raw, minute and hour buckets rolled up from it, each kept
 * as long as its retention says; and the series read back at a step. It is
 * not the writer (writer.c queues the samples and calls db__samples_store in
 * its transaction) and knows nothing of HTTP or SVG.
 *
 * The rollup is incremental: samples_state says up to which minute and hour
 * the buckets are complete, and each call after a minute has passed rolls up
 * only the minutes (and hours) completed since, then deletes what is past its
 * retention (never a row not rolled up yet). So the work is one minute's rows
 * a minute, whatever the table's size, done by the writer, not per request.
 * A series reads the buckets up to where they are complete and buckets the
 * finer rows after that on the fly, so a chart reaches the last poll. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/internal.h"
#include "core/common.h"
#include "core/log.h"
#include "core/banned.h" /* last: after every system header */

#define KEEP_RAW_S 3600LL
#define KEEP_MINUTE_S (2 * 86400LL)
#define KEEP_HOUR_S (90 * 86400LL)

void db_samples_set_keep(db *d, const db_samples_keep *k)
{
    d->samples_keep = *k;
}

void db_samples_get_keep(db *d, db_samples_keep *k)
{
    *k = d->samples_keep;
    if (k->raw_s <= 0) k->raw_s = KEEP_RAW_S;
    if (k->minute_s <= 0) k->minute_s = KEEP_MINUTE_S;
    if (k->hour_s <= 0) k->hour_s = KEEP_HOUR_S;
}

/* ---------------------------------------------------------------- metrics */

typedef struct metric_def {
    const char *name, *col;
    double scale; /* stored value x scale = the API's unit */
    int mean;     /* buckets hold the mean (else the largest value) */
} metric_def;

static const metric_def metrics[DB_METRIC_COUNT] = {
    [DB_METRIC_LAG_BYTES] = {"lag_bytes", "lag_bytes", 1.0, 0},
    [DB_METRIC_LAG_SECONDS] = {"lag_seconds", "lag_ms", 0.001, 0},
    [DB_METRIC_MEMORY] = {"memory", "mem", 1.0, 0},
    [DB_METRIC_CLIENTS] = {"clients", "clients", 1.0, 0},
    [DB_METRIC_OPS] = {"ops", "ops", 1.0, 1},
};

int db_metric_parse(const char *name)
{
    int i;
    for (i = 0; i < DB_METRIC_COUNT; i++)
        if (!strcmp(metrics[i].name, name)) return i;
    return -1;
}

const char *db_metric_name(int metric)
{
    return metric >= 0 && metric < DB_METRIC_COUNT ? metrics[metric].name : "";
}

/* ------------------------------------------------------- writing (writer) */

static void bind_opt(sqlite3_stmt *st, int i, int64_t v)
{
    if (v < 0)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, v);
}

/* The id of (cluster, node) in sample_nodes, added when new; -1 on error. */
static int64_t node_id(sqlite3 *c, sqlite3_stmt *find, sqlite3_stmt *add, const db_sample *s)
{
    int64_t id = -1;
    sqlite3_reset(find);
    sqlite3_bind_text(find, 1, s->cluster, -1, SQLITE_STATIC);
    sqlite3_bind_text(find, 2, s->node, -1, SQLITE_STATIC);
    if (sqlite3_step(find) == SQLITE_ROW) id = sqlite3_column_int64(find, 0);
    sqlite3_reset(find);
    if (id > 0) return id;
    sqlite3_reset(add);
    sqlite3_bind_text(add, 1, s->cluster, -1, SQLITE_STATIC);
    sqlite3_bind_text(add, 2, s->node, -1, SQLITE_STATIC);
    if (sqlite3_step(add) == SQLITE_DONE) id = sqlite3_last_insert_rowid(c);
    sqlite3_reset(add);
    return id;
}

static int state_get(sqlite3 *c, const char *k, int64_t *v)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(c, "SELECT v FROM samples_state WHERE k = ?", -1, &st, NULL) !=
        SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *v = sqlite3_column_int64(st, 0);
        rc = 1;
    } else {
        rc = rc == SQLITE_DONE ? 0 : -1;
    }
out:
    sqlite3_finalize(st);
    return rc;
}

static int state_set(sqlite3 *c, const char *k, int64_t v)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(c, "INSERT OR REPLACE INTO samples_state (k, v) VALUES (?, ?)", -1, &st,
                           NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, v);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
out:
    sqlite3_finalize(st);
    return rc;
}

/* Runs sql with ?1 = a and ?2 = b (unused ones ignored). */
static int exec2(sqlite3 *c, const char *sql, int64_t a, int64_t b)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) != SQLITE_OK) goto out;
    if (sqlite3_bind_parameter_count(st) >= 1) sqlite3_bind_int64(st, 1, a);
    if (sqlite3_bind_parameter_count(st) >= 2) sqlite3_bind_int64(st, 2, b);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
out:
    if (rc < 0) log_error("samples: %s", sqlite3_errmsg(c));
    sqlite3_finalize(st);
    return rc;
}

/* Each searches the (node, ts) key node by node: sample_nodes is the outer
 * loop (CROSS JOIN keeps SQLite to that order), so no statement scans a
 * sample table (test_db_samples checks the plans). */
#define SQL_ROLL_MINUTE                                                                            \
    "INSERT OR REPLACE INTO samples_minute (node, ts, n, lag_bytes, lag_ms, mem, maxmem, "         \
    "clients, ops) SELECT r.node, r.ts / 60 * 60, COUNT(*), MAX(r.lag_bytes), MAX(r.lag_ms), "     \
    "MAX(r.mem), MAX(r.maxmem), MAX(r.clients), CAST(ROUND(AVG(r.ops)) AS INTEGER) FROM "          \
    "sample_nodes AS sn CROSS JOIN samples_raw AS r ON r.node = sn.id AND r.ts >= ?1 AND r.ts < "  \
    "?2 "                                                                                          \
    "GROUP BY r.node, r.ts / 60"
#define SQL_ROLL_HOUR                                                                              \
    "INSERT OR REPLACE INTO samples_hour (node, ts, n, lag_bytes, lag_ms, mem, maxmem, clients, "  \
    "ops) SELECT m.node, m.ts / 3600 * 3600, SUM(m.n), MAX(m.lag_bytes), MAX(m.lag_ms), "          \
    "MAX(m.mem), MAX(m.maxmem), MAX(m.clients), CAST(ROUND(SUM(m.ops * m.n) * 1.0 / SUM(CASE "     \
    "WHEN m.ops IS NULL THEN 0 ELSE m.n END)) AS INTEGER) FROM sample_nodes AS sn CROSS JOIN "     \
    "samples_minute AS m ON m.node = sn.id AND m.ts >= ?1 AND m.ts < ?2 GROUP BY m.node, "         \
    "m.ts / 3600"
#define SQL_DEL_RAW                                                                                \
    "DELETE FROM samples_raw WHERE node IN (SELECT id FROM sample_nodes) AND ts < ?1"
#define SQL_DEL_MINUTE                                                                             \
    "DELETE FROM samples_minute WHERE node IN (SELECT id FROM sample_nodes) AND ts < ?1"
#define SQL_DEL_HOUR                                                                               \
    "DELETE FROM samples_hour WHERE node IN (SELECT id FROM sample_nodes) AND ts < ?1"
#define SQL_DEL_NODES                                                                              \
    "DELETE FROM sample_nodes WHERE NOT EXISTS (SELECT 1 FROM samples_raw WHERE node = "           \
    "sample_nodes.id) AND NOT EXISTS (SELECT 1 FROM samples_minute WHERE node = "                  \
    "sample_nodes.id) AND NOT EXISTS (SELECT 1 FROM samples_hour WHERE node = sample_nodes.id)"

const char *db__samples_sql(int i)
{
    static const char *const sql[] = {SQL_ROLL_MINUTE, SQL_ROLL_HOUR, SQL_DEL_RAW,
                                      SQL_DEL_MINUTE,  SQL_DEL_HOUR,  SQL_DEL_NODES};
    return i >= 0 && i < (int)(sizeof(sql) / sizeof(sql[0])) ? sql[i] : NULL;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* After samples up to now (seconds) were stored: the minutes and hours that
 * completed are rolled up, and what is past its retention deleted. first:
 * the oldest sample just stored (where the rollups start on a new store). */
static int roll(db *d, int64_t now, int64_t first)
{
    sqlite3 *c = d->w;
    db_samples_keep k;
    int64_t minute = 0, hour = 0, cur_min = now / 60 * 60, cur_hour = cur_min / 3600 * 3600;
    int hm = state_get(c, "minute", &minute), hh = state_get(c, "hour", &hour), new_hour = 0;

    if (hm < 0 || hh < 0) return -1;
    if (!hm || !hh) { /* a new store: nothing is complete yet */
        minute = first / 60 * 60;
        hour = minute / 3600 * 3600;
        if (state_set(c, "minute", minute) < 0 || state_set(c, "hour", hour) < 0) return -1;
    }
    if (cur_min <= minute) return 0; /* this minute is not over (or the clock went back) */
    if (exec2(c, SQL_ROLL_MINUTE, minute, cur_min) < 0 || state_set(c, "minute", cur_min) < 0)
        return -1;
    minute = cur_min;
    if (cur_hour > hour) {
        if (exec2(c, SQL_ROLL_HOUR, hour, cur_hour) < 0 || state_set(c, "hour", cur_hour) < 0)
            return -1;
        hour = cur_hour;
        new_hour = 1;
    }
    /* A row goes once past its retention and rolled up into the next. */
    db_samples_get_keep(d, &k);
    if (exec2(c, SQL_DEL_RAW, min64(now - k.raw_s, minute), 0) < 0 ||
        exec2(c, SQL_DEL_MINUTE, min64(now - k.minute_s, hour), 0) < 0 ||
        exec2(c, SQL_DEL_HOUR, now - k.hour_s, 0) < 0)
        return -1;
    /* Nodes gone for longer than every retention: hourly is often enough. */
    if (new_hour && exec2(c, SQL_DEL_NODES, 0, 0) < 0) return -1;
    return 0;
}

int db__samples_store(db *d, const db_sample *s, int n)
{
    sqlite3_stmt *find = NULL, *add = NULL, *ins = NULL;
    int64_t now = 0, first = INT64_MAX;
    int i, rc = -1;

    if (n <= 0) return 0;
    /* all or nothing: a failure here leaves the rest of the writer's batch */
    if (sqlite3_exec(d->w, "SAVEPOINT samples", NULL, NULL, NULL) != SQLITE_OK) return -1;
    if (sqlite3_prepare_v2(d->w, "SELECT id FROM sample_nodes WHERE cluster = ? AND node = ?", -1,
                           &find, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(d->w, "INSERT INTO sample_nodes (cluster, node) VALUES (?, ?)", -1, &add,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(d->w,
                           "INSERT OR REPLACE INTO samples_raw (node, ts, lag_bytes, lag_ms, mem, "
                           "maxmem, clients, ops) VALUES (?,?,?,?,?,?,?,?)",
                           -1, &ins, NULL) != SQLITE_OK)
        goto out;
    for (i = 0; i < n; i++) {
        int64_t id = node_id(d->w, find, add, &s[i]);
        if (id < 0) goto out;
        sqlite3_reset(ins);
        sqlite3_bind_int64(ins, 1, id);
        sqlite3_bind_int64(ins, 2, s[i].ts);
        bind_opt(ins, 3, s[i].lag_bytes);
        bind_opt(ins, 4, s[i].lag_ms);
        bind_opt(ins, 5, s[i].used_memory);
        bind_opt(ins, 6, s[i].maxmemory);
        bind_opt(ins, 7, s[i].clients);
        bind_opt(ins, 8, s[i].ops);
        if (sqlite3_step(ins) != SQLITE_DONE) goto out;
        if (s[i].ts > now) now = s[i].ts;
        if (s[i].ts < first) first = s[i].ts;
    }
    rc = roll(d, now, first);
out:
    if (rc < 0) log_error("samples: not stored: %s", sqlite3_errmsg(d->w));
    sqlite3_finalize(find);
    sqlite3_finalize(add);
    sqlite3_finalize(ins);
    if (rc < 0) sqlite3_exec(d->w, "ROLLBACK TO samples", NULL, NULL, NULL);
    sqlite3_exec(d->w, "RELEASE samples", NULL, NULL, NULL);
    return rc;
}

/* ------------------------------------------------------- reading (any thread) */

int db_series_auto_step(db *d, int64_t from, int64_t to, int64_t now, int max_points)
{
    static const int steps[3] = {DB_STEP_RAW, DB_STEP_MINUTE, DB_STEP_HOUR};
    db_samples_keep k;
    int i;

    db_samples_get_keep(d, &k);
    for (i = 0; i < 3; i++) {
        int64_t keep = i == 0 ? k.raw_s : i == 1 ? k.minute_s : k.hour_s;
        int64_t points = (to - from) / steps[i] + 1;
        if (points > max_points) continue;
        if (from >= now - keep || i == 2) return steps[i];
    }
    return 0;
}

/* The SQL of one node's points at step for metric m: bound ?1 node, ?2
 * from, ?3 to, ?4 the first hour not rolled up, ?5 the first minute not
 * rolled up, ?6 the limit. A bucketed step reads its own table up to where
 * it is complete and the finer tables after that. */
static void series_sql(char *sql, size_t sqlsz, int step, const metric_def *m)
{
    char agg[256];
    if (step == DB_STEP_RAW) {
        snprintf(sql, sqlsz,
                 "SELECT ts, %s FROM samples_raw WHERE node = ?1 AND ts >= ?2 AND ts <= ?3 AND %s "
                 "IS NOT NULL ORDER BY ts LIMIT ?6",
                 m->col, m->col);
        return;
    }
    if (m->mean)
        snprintf(agg, sizeof(agg), "SUM(v * n) * 1.0 / SUM(CASE WHEN v IS NULL THEN 0 ELSE n END)");
    else
        snprintf(agg, sizeof(agg), "MAX(v)");
    if (step == DB_STEP_HOUR)
        snprintf(sql, sqlsz,
                 "SELECT ts / 3600 * 3600 AS b, %s AS a FROM ("
                 "SELECT ts, n, %s AS v FROM samples_hour WHERE node = ?1 AND ts >= ?2 AND "
                 "ts <= ?3 AND ts < ?4 UNION ALL "
                 "SELECT ts, n, %s FROM samples_minute WHERE node = ?1 AND ts >= MAX(?2, ?4) AND "
                 "ts <= ?3 AND ts < ?5 UNION ALL "
                 "SELECT ts, 1, %s FROM samples_raw WHERE node = ?1 AND ts >= MAX(?2, ?5) AND "
                 "ts <= ?3) GROUP BY b HAVING a IS NOT NULL ORDER BY b LIMIT ?6",
                 agg, m->col, m->col, m->col);
    else
        snprintf(sql, sqlsz,
                 "SELECT ts / 60 * 60 AS b, %s AS a FROM ("
                 "SELECT ts, n, %s AS v FROM samples_minute WHERE node = ?1 AND ts >= ?2 AND "
                 "ts <= ?3 AND ts < ?5 UNION ALL "
                 "SELECT ts, 1, %s FROM samples_raw WHERE node = ?1 AND ts >= MAX(?2, ?5) AND "
                 "ts <= ?3) GROUP BY b HAVING a IS NOT NULL ORDER BY b LIMIT ?6",
                 agg, m->col, m->col);
}

void db__series_sql(char *sql, size_t sqlsz, int step, int metric)
{
    series_sql(sql, sqlsz, step, &metrics[metric]);
}

int db_query_series(db *d, const series_query *q, db_series_fn *fn, void *ctx)
{
    sqlite3 *c = NULL;
    sqlite3_stmt *nodes = NULL, *pts = NULL;
    int64_t *ts = NULL, minute = 0, hour = 0;
    double *v = NULL;
    const metric_def *m;
    char sql[1024];
    int rc = -1, nn = 0, max = q->max_points > 0 ? q->max_points : 1;

    if (q->metric < 0 || q->metric >= DB_METRIC_COUNT) return -1;
    if (q->step != DB_STEP_RAW && q->step != DB_STEP_MINUTE && q->step != DB_STEP_HOUR) return -1;
    m = &metrics[q->metric];
    ts = malloc(sizeof(*ts) * (size_t)max);
    v = malloc(sizeof(*v) * (size_t)max);
    c = db__reader_get(d);
    if (!ts || !v || !c) goto out;
    /* one read transaction: the rollup's state and the rows agree */
    if (sqlite3_exec(c, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) goto out;
    if (state_get(c, "minute", &minute) < 0 || state_get(c, "hour", &hour) < 0) goto done;
    series_sql(sql, sizeof(sql), q->step, m);
    if (sqlite3_prepare_v2(c,
                           q->node ? "SELECT id, node FROM sample_nodes WHERE cluster = ?1 AND "
                                     "node = ?2 ORDER BY node"
                                   : "SELECT id, node FROM sample_nodes WHERE cluster = ?1 "
                                     "ORDER BY node",
                           -1, &nodes, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(c, sql, -1, &pts, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_text(nodes, 1, q->cluster, -1, SQLITE_STATIC);
    if (q->node) sqlite3_bind_text(nodes, 2, q->node, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(nodes)) == SQLITE_ROW) {
        int n = 0, prc;
        sqlite3_reset(pts);
        sqlite3_bind_int64(pts, 1, sqlite3_column_int64(nodes, 0));
        sqlite3_bind_int64(pts, 2, q->from);
        sqlite3_bind_int64(pts, 3, q->to);
        sqlite3_bind_int64(pts, 4, hour);
        sqlite3_bind_int64(pts, 5, minute);
        sqlite3_bind_int64(pts, 6, max);
        while ((prc = sqlite3_step(pts)) == SQLITE_ROW && n < max) {
            ts[n] = sqlite3_column_int64(pts, 0);
            v[n] = sqlite3_column_double(pts, 1) * m->scale;
            n++;
        }
        if (prc != SQLITE_ROW && prc != SQLITE_DONE) break;
        fn(ctx, (const char *)sqlite3_column_text(nodes, 1), ts, v, n);
        nn++;
    }
    rc = rc == SQLITE_DONE ? nn : -1;
done:
    sqlite3_finalize(nodes);
    sqlite3_finalize(pts);
    sqlite3_exec(c, "COMMIT", NULL, NULL, NULL);
out:
    if (c) db__reader_put(d, c);
    free(ts);
    free(v);
    return rc;
}

int db_samples_known(db *d, const char *cluster)
{
    rd r;
    int n;
    if (db__rd_open(d, &r, "SELECT 1 FROM sample_nodes WHERE cluster = ? LIMIT 1") < 0) return -1;
    sqlite3_bind_text(r.st, 1, cluster, -1, SQLITE_STATIC);
    n = sqlite3_step(r.st);
    sqlite3_finalize(r.st);
    db__reader_put(d, r.c);
    return n == SQLITE_ROW ? 1 : n == SQLITE_DONE ? 0 : -1;
}
