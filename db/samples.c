/* samples.c — the history charts' store (see db.h): one row per node per
 * poll in samples_raw, minute and hour buckets rolled up from it, each kept
 * as long as its retention says; and the series read back at a step. It is
 * not the writer (writer.c queues the samples and calls db__samples_store in
 * its transaction) and knows nothing of HTTP or SVG.
 *
 * The rollup is incremental: samples_state says up to which minute and hour
 * the buckets are complete, and each call after a minute has passed (and a
 * few seconds of grace for slower polls) rolls up only the minutes (and
 * hours) completed since, then deletes what is past its retention (never a
 * row not rolled up yet). So the work is one minute's rows a minute, whatever
 * the table's size, done by the writer, not per request. A row stored after
 * its minute was rolled up rolls that minute (and its hour) up again; one
 * whose minute's raw rows are already deleted is refused. Stamps are the
 * wall clock's: a sample far after it is refused, and a state far ahead of
 * the samples and the clock (the clock was set back) goes back to the
 * present, the future's rows dropped (reset_to).
 * A series reads the buckets up to where they are complete and buckets the
 * finer rows after that on the fly, so a chart reaches the last poll. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/internal.h"
#include "core/common.h"
#include "core/log.h"
#include "core/banned.h" /* last: after every system header */

#define KEEP_RAW_S 3600LL
#define KEEP_MINUTE_S (2 * 86400LL)
#define KEEP_HOUR_S (90 * 86400LL)
/* A minute is rolled up once a sample SAMPLE_GRACE_S past its end is
 * stored: a slower cluster's poll of its last second is stored after
 * another's of the next minute's first (and later ones roll it up again). */
#define SAMPLE_GRACE_S 5
/* A sample stamped more than this after the wall clock is not stored, and
 * a rollup state more than this ahead of both the newest sample and the
 * clock means the clock went back (reset_to). */
#define SAMPLE_AHEAD_S 120

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

int64_t db_sample_ms(double seconds)
{
    if (!(seconds >= 0)) return -1; /* negative, or NaN */
    if (seconds >= (double)DB_SAMPLE_MS_MAX / 1000.0) return DB_SAMPLE_MS_MAX;
    return (int64_t)(seconds * 1000.0);
}

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
#define SQL_DEL_RAW_AFTER                                                                          \
    "DELETE FROM samples_raw WHERE node IN (SELECT id FROM sample_nodes) AND ts > ?1"
#define SQL_DEL_MINUTE_AFTER                                                                       \
    "DELETE FROM samples_minute WHERE node IN (SELECT id FROM sample_nodes) AND ts > ?1"
#define SQL_DEL_HOUR_AFTER                                                                         \
    "DELETE FROM samples_hour WHERE node IN (SELECT id FROM sample_nodes) AND ts > ?1"
#define SQL_DEL_NODES                                                                              \
    "DELETE FROM sample_nodes WHERE NOT EXISTS (SELECT 1 FROM samples_raw WHERE node = "           \
    "sample_nodes.id) AND NOT EXISTS (SELECT 1 FROM samples_minute WHERE node = "                  \
    "sample_nodes.id) AND NOT EXISTS (SELECT 1 FROM samples_hour WHERE node = sample_nodes.id)"

const char *db__samples_sql(int i)
{
    static const char *const sql[] = {SQL_ROLL_MINUTE,   SQL_ROLL_HOUR,        SQL_DEL_RAW,
                                      SQL_DEL_MINUTE,    SQL_DEL_HOUR,         SQL_DEL_NODES,
                                      SQL_DEL_RAW_AFTER, SQL_DEL_MINUTE_AFTER, SQL_DEL_HOUR_AFTER};
    return i >= 0 && i < (int)(sizeof(sql) / sizeof(sql[0])) ? sql[i] : NULL;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static int64_t wall_now(db *d)
{
    return d->samples_clock ? d->samples_clock() : (int64_t)time(NULL);
}

/* What samples_state says (see the top): the first minute and hour not
 * rolled up, and the first second whose raw rows (and minute rows) are all
 * still kept (0: none deleted yet). */
typedef struct roll_state {
    int64_t minute, hour, raw_kept, minute_kept;
} roll_state;

static int state_read(sqlite3 *c, roll_state *rs, int64_t first)
{
    int hm = state_get(c, "minute", &rs->minute), hh = state_get(c, "hour", &rs->hour);
    rs->raw_kept = rs->minute_kept = 0;
    if (hm < 0 || hh < 0 || state_get(c, "raw_kept", &rs->raw_kept) < 0 ||
        state_get(c, "minute_kept", &rs->minute_kept) < 0)
        return -1;
    if (!hm || !hh) { /* a new store: nothing is complete yet */
        rs->minute = first / 60 * 60;
        rs->hour = rs->minute / 3600 * 3600;
        if (state_set(c, "minute", rs->minute) < 0 || state_set(c, "hour", rs->hour) < 0) return -1;
    }
    return 0;
}

/* The wall clock went back (it had jumped ahead, and was set right): the
 * rollups' state is far past the newest sample and the clock. Left so, no
 * minute would be rolled up until the clock caught up with it (for as long
 * as it had jumped), the series would read the rolled-up tables over the
 * new rows, and the retention would delete those never rolled up. So the
 * rows stamped in that future are dropped (the only ones lost) and the
 * state goes back to the present: the minutes from the newest sample's are
 * rolled up again from the raw rows as they complete, its hour from the
 * minutes. */
static int reset_to(sqlite3 *c, roll_state *rs, int64_t cur_min, int64_t first, int64_t wall)
{
    int64_t hour = cur_min / 3600 * 3600;
    log_warn("samples: the clock went back %llds: the history stamped after now is dropped, "
             "the rollups start again at %lld",
             (long long)(rs->minute - cur_min), (long long)cur_min);
    if (exec2(c, SQL_DEL_RAW_AFTER, wall + SAMPLE_AHEAD_S, 0) < 0 ||
        exec2(c, SQL_DEL_MINUTE_AFTER, cur_min - 1, 0) < 0 ||
        exec2(c, SQL_DEL_HOUR_AFTER, min64(hour, rs->hour) - 1, 0) < 0)
        return -1;
    rs->minute = cur_min;
    rs->hour = min64(hour, rs->hour);
    /* what was deleted under the stamps of that future is no reason to
     * refuse the present's rows */
    rs->raw_kept = min64(rs->raw_kept, first / 60 * 60);
    rs->minute_kept = min64(rs->minute_kept, rs->hour);
    if (state_set(c, "minute", rs->minute) < 0 || state_set(c, "hour", rs->hour) < 0 ||
        state_set(c, "raw_kept", rs->raw_kept) < 0 ||
        state_set(c, "minute_kept", rs->minute_kept) < 0)
        return -1;
    return 0;
}

/* Rows stored late, from late_min on, into minutes already rolled up (a
 * slower cluster's poll stored after another's of the next minute): those
 * minutes are rolled up again from their raw rows, all still there (a row
 * is refused when its minute's are not), and so are the hours already
 * rolled up over them, from minutes all still there. */
static int reroll(sqlite3 *c, const roll_state *rs, int64_t late_min)
{
    int64_t h = late_min / 3600 * 3600, kept = (rs->minute_kept + 3599) / 3600 * 3600;
    if (exec2(c, SQL_ROLL_MINUTE, late_min, rs->minute) < 0) return -1;
    if (h < rs->hour && max64(h, kept) < rs->hour &&
        exec2(c, SQL_ROLL_HOUR, max64(h, kept), rs->hour) < 0)
        return -1;
    return 0;
}

/* After samples up to newest (seconds) were stored: the minutes that ended
 * SAMPLE_GRACE_S before it, and the hours, are rolled up, and what is past
 * its retention deleted (never a row not rolled up yet). */
static int roll(db *d, roll_state *rs, int64_t newest)
{
    sqlite3 *c = d->w;
    db_samples_keep k;
    int64_t cur_min = (newest - SAMPLE_GRACE_S) / 60 * 60, cur_hour = cur_min / 3600 * 3600;
    int64_t raw_del, minute_del;
    int new_hour = 0;

    if (cur_min <= rs->minute) return 0; /* that minute may still get rows */
    if (exec2(c, SQL_ROLL_MINUTE, rs->minute, cur_min) < 0 || state_set(c, "minute", cur_min) < 0)
        return -1;
    rs->minute = cur_min;
    if (cur_hour > rs->hour) {
        if (exec2(c, SQL_ROLL_HOUR, rs->hour, cur_hour) < 0 || state_set(c, "hour", cur_hour) < 0)
            return -1;
        rs->hour = cur_hour;
        new_hour = 1;
    }
    /* A row goes once past its retention and rolled up into the next. */
    db_samples_get_keep(d, &k);
    raw_del = min64(newest - k.raw_s, rs->minute);
    minute_del = min64(newest - k.minute_s, rs->hour);
    if (exec2(c, SQL_DEL_RAW, raw_del, 0) < 0 || exec2(c, SQL_DEL_MINUTE, minute_del, 0) < 0 ||
        exec2(c, SQL_DEL_HOUR, newest - k.hour_s, 0) < 0)
        return -1;
    /* what a late row is checked against (db__samples_store) */
    if (raw_del > rs->raw_kept) {
        if (state_set(c, "raw_kept", raw_del) < 0) return -1;
        rs->raw_kept = raw_del;
    }
    if (minute_del > rs->minute_kept) {
        if (state_set(c, "minute_kept", minute_del) < 0) return -1;
        rs->minute_kept = minute_del;
    }
    /* Nodes gone for longer than every retention: hourly is often enough. */
    if (new_hour && exec2(c, SQL_DEL_NODES, 0, 0) < 0) return -1;
    return 0;
}

int db__samples_store(db *d, const db_sample *s, int n)
{
    sqlite3_stmt *find = NULL, *add = NULL, *ins = NULL;
    int64_t wall = wall_now(d), newest = INT64_MIN, first = INT64_MAX, late_min = INT64_MAX;
    int64_t cur_min;
    roll_state rs = {0, 0, 0, 0};
    int i, rc = -1, ahead = 0, late = 0;

    /* A sample stamped well past the wall clock is not stored: the rollups
     * would take it for the present. */
    for (i = 0; i < n; i++) {
        if (s[i].ts > wall + SAMPLE_AHEAD_S) {
            ahead++;
            continue;
        }
        newest = max64(newest, s[i].ts);
        first = min64(first, s[i].ts);
    }
    if (ahead)
        log_warn("samples: %d stamped more than %ds after now (%lld) not stored", ahead,
                 SAMPLE_AHEAD_S, (long long)wall);
    if (newest == INT64_MIN) return 0;
    /* all or nothing: a failure here leaves the rest of the writer's batch */
    if (sqlite3_exec(d->w, "SAVEPOINT samples", NULL, NULL, NULL) != SQLITE_OK) return -1;
    if (state_read(d->w, &rs, first) < 0) goto out;
    cur_min = (newest - SAMPLE_GRACE_S) / 60 * 60;
    if (rs.minute > cur_min + SAMPLE_AHEAD_S && rs.minute > wall + SAMPLE_AHEAD_S &&
        reset_to(d->w, &rs, cur_min, first, wall) < 0)
        goto out;
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
        int64_t id;
        if (s[i].ts > wall + SAMPLE_AHEAD_S) continue;
        /* too late to be rolled up: its minute's other rows are gone */
        if (s[i].ts / 60 * 60 < rs.raw_kept) {
            late++;
            continue;
        }
        if ((id = node_id(d->w, find, add, &s[i])) < 0) goto out;
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
        if (s[i].ts < rs.minute) late_min = min64(late_min, s[i].ts / 60 * 60);
    }
    if (late)
        log_warn("samples: %d older than the raw rows kept (%lld) not stored", late,
                 (long long)rs.raw_kept);
    if (late_min < rs.minute && reroll(d->w, &rs, late_min) < 0) goto out;
    rc = roll(d, &rs, newest);
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
