/* test_db_samples.c — the charts' samples through the real writer, with
 * simulated clocks: two hours and a bit of one sample per second for three
 * nodes. The completed minutes and hours are rolled up (n, the largest lag and
 * memory, the mean ops/s), raw rows go past raw retention but never before
 * their minute is rolled up, minute rows past theirs; a series reads each
 * step (raw, minute, hour) up to the last sample, in the metric's unit, per
 * node or for one; the automatic step follows the retention; nodes whose
 * every row expired are forgotten. Every rollup, retention and series
 * statement searches the (node, ts) key: no scan of a sample table. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <math.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "db/db.h"
#include "db/internal.h"
#include "db/writer.h"

#define T0 1800000000LL /* a whole hour */
#define RAW_KEEP 120
#define MINUTE_KEEP 7200

typedef struct got {
    int nodes;
    char node[4][HP_ADDR_MAX];
    int n[4];
    int64_t first_ts[4], last_ts[4];
    double max[4], last[4];
} got;

static void on_series(void *ctx, const char *node, const int64_t *ts, const double *v, int n)
{
    got *g = ctx;
    int k = g->nodes++, i;
    if (k >= 4) return;
    snprintf(g->node[k], sizeof(g->node[k]), "%s", node);
    g->n[k] = n;
    g->max[k] = -1;
    for (i = 0; i < n; i++)
        if (v[i] > g->max[k]) g->max[k] = v[i];
    if (n) {
        g->first_ts[k] = ts[0];
        g->last_ts[k] = ts[n - 1];
        g->last[k] = v[n - 1];
    }
}

static got series(db *d, const char *cluster, const char *node, int metric, int step, int64_t from,
                  int64_t to)
{
    series_query q;
    got g;
    memset(&g, 0, sizeof(g));
    memset(&q, 0, sizeof(q));
    q.cluster = cluster;
    q.node = node;
    q.metric = metric;
    q.step = step;
    q.from = from;
    q.to = to;
    q.max_points = 5000;
    CHECK(db_query_series(d, &q, on_series, &g) == g.nodes);
    return g;
}

static void sample(db_sample *s, const char *cluster, const char *node, int64_t t, int replica)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->cluster, sizeof(s->cluster), "%s", cluster);
    snprintf(s->node, sizeof(s->node), "%s", node);
    s->ts = t;
    s->lag_bytes = replica ? (t % 60) * 10 : -1;
    s->lag_ms = replica ? 1500 : -1;
    s->used_memory = 1000 + t % 60;
    s->maxmemory = 0;
    s->clients = 5;
    s->ops = t % 2 ? 10 : 20;
}

/* The wall clock the store checks stamps against: push() sets it. */
static int64_t fake_now;

static int64_t fake_clock(void)
{
    return fake_now;
}

/* Pushes one sample a second for [from, to), 10 seconds a batch, the clock
 * at its end. */
static void push(evq *q, int64_t from, int64_t to, int with_c2)
{
    db_sample s[30];
    int64_t t;
    int n = 0;
    fake_now = to;
    for (t = from; t < to; t++) {
        sample(&s[n++], "c1", "10.0.0.1:6379", t, 0);
        sample(&s[n++], "c1", "10.0.0.2:6379", t, 1);
        if (with_c2) sample(&s[n++], "c2", "10.0.0.9:6379", t, 0);
        if (n > 26 || t + 1 == to) {
            evq_push_samples(q, s, n);
            n = 0;
        }
    }
    evq_flush(q);
}

static int64_t one(sqlite3 *c, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* 1 when the plan of sql scans a samples table (or the statement fails). */
static int scans(sqlite3 *c, const char *sql)
{
    char eqp[2100];
    sqlite3_stmt *st = NULL;
    int bad = 0, rc;
    snprintf(eqp, sizeof(eqp), "EXPLAIN QUERY PLAN %s", sql);
    if (sqlite3_prepare_v2(c, eqp, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "cannot prepare %s: %s\n", sql, sqlite3_errmsg(c));
        return 1;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *detail = (const char *)sqlite3_column_text(st, 3);
        /* a scan of the node list (alias sn) or of a subquery's rows is fine */
        if (detail && !strncmp(detail, "SCAN ", 5) && strncmp(detail + 5, "sample_nodes", 12) &&
            strncmp(detail + 5, "sn", 2) && strncmp(detail + 5, "(subquery", 9)) {
            fprintf(stderr, "plan scans: %s\n  in: %s\n", detail, sql);
            bad = 1;
        }
    }
    sqlite3_finalize(st);
    return bad || rc != SQLITE_DONE;
}

/* One node's samples for [from, to), a batch of 10 seconds each. */
static void push_node(evq *q, const char *cluster, const char *node, int64_t from, int64_t to)
{
    db_sample s[10];
    int64_t t;
    int n = 0;
    if (to > fake_now) fake_now = to;
    for (t = from; t < to; t++) {
        sample(&s[n++], cluster, node, t, 1);
        if (n == 10 || t + 1 == to) {
            evq_push_samples(q, s, n);
            n = 0;
        }
    }
    evq_flush(q);
}

typedef struct store {
    char dir[64];
    db *d;
    evq *q;
    sqlite3 *c;
} store;

static int store_open(store *st)
{
    char err[256], path[300];
    memset(st, 0, sizeof(*st));
    snprintf(st->dir, sizeof(st->dir), "/tmp/hapanel-test-samples-XXXXXX");
    CHECK(mkdtemp(st->dir) != NULL);
    st->d = db_open(st->dir, err, sizeof(err));
    CHECK(st->d != NULL);
    if (!st->d) return -1;
    st->d->samples_clock = fake_clock;
    st->q = evq_new(st->d);
    CHECK(st->q != NULL);
    if (!st->q) return -1;
    snprintf(path, sizeof(path), "%s/hapanel.db", st->dir);
    CHECK(sqlite3_open_v2(path, &st->c, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    return 0;
}

static void store_close(store *st)
{
    char cmd[128];
    sqlite3_close(st->c);
    evq_free(st->q);
    db_free(st->d);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", st->dir);
    CHECK(system(cmd) == 0);
}

/* one() of the SQL printed from fmt. */
__attribute__((format(printf, 2, 3))) static int64_t onef(sqlite3 *c, const char *fmt, ...)
{
    char sql[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    return one(c, sql);
}

#define B_NODE "(SELECT id FROM sample_nodes WHERE cluster = 'b')"

/* Two clusters polled apart: b's sample for the last second of a minute
 * (and of an hour) is stored after a's of the next minute. The minute and
 * hour buckets have it all the same; a row whose minute's raw rows are gone
 * is refused, not rolled up alone into that minute. */
static void late_rows(void)
{
    store st;
    db_sample s;
    got g;
    long long last = T0 + 3540; /* the hour's last minute */

    if (store_open(&st) < 0) return;
    fake_now = 0;
    push_node(st.q, "b", "10.0.0.2:6379", T0, T0 + 3599);
    push_node(st.q, "a", "10.0.0.1:6379", T0, T0 + 3610);
    /* a's T0 + 3605 has rolled the minute and the hour up */
    CHECK(one(st.c, "SELECT v FROM samples_state WHERE k = 'minute'") == T0 + 3600);
    CHECK(one(st.c, "SELECT v FROM samples_state WHERE k = 'hour'") == T0 + 3600);
    push_node(st.q, "b", "10.0.0.2:6379", T0 + 3599, T0 + 3600); /* late */
    CHECK(onef(st.c, "SELECT n FROM samples_minute WHERE ts = %lld AND node = " B_NODE, last) ==
          60);
    CHECK(onef(st.c, "SELECT mem FROM samples_minute WHERE ts = %lld AND node = " B_NODE, last) ==
          1059);
    CHECK(onef(st.c, "SELECT n FROM samples_hour WHERE ts = %lld AND node = " B_NODE, T0) == 3600);
    CHECK(one(st.c, "SELECT COUNT(*) FROM samples_minute WHERE n <> 60") == 0);
    g = series(st.d, "b", NULL, DB_METRIC_MEMORY, DB_STEP_MINUTE, last, last);
    CHECK(g.nodes == 1 && g.n[0] == 1 && g.max[0] == 1059);
    /* a little past a minute's end, it is not rolled up yet */
    push_node(st.q, "a", "10.0.0.1:6379", T0 + 3610, T0 + 3663);
    CHECK(one(st.c, "SELECT v FROM samples_state WHERE k = 'minute'") == T0 + 3600);
    push_node(st.q, "a", "10.0.0.1:6379", T0 + 3663, T0 + 3666);
    CHECK(one(st.c, "SELECT v FROM samples_state WHERE k = 'minute'") == T0 + 3660);

    /* an hour and more later, T0's raw rows are gone: a row for T0 + 30
     * (another value) is refused, the minute keeps its 60 */
    push_node(st.q, "b", "10.0.0.2:6379", T0 + 3600, T0 + 7400);
    CHECK(one(st.c, "SELECT MIN(ts) FROM samples_raw") > T0 + 3600);
    sample(&s, "b", "10.0.0.2:6379", T0 + 30, 1);
    s.used_memory = 99999;
    evq_push_samples(st.q, &s, 1);
    evq_flush(st.q);
    CHECK(onef(st.c, "SELECT COUNT(*) FROM samples_raw WHERE ts < %lld", T0 + 3600) == 0);
    CHECK(onef(st.c, "SELECT n FROM samples_minute WHERE ts = %lld AND node = " B_NODE, T0) == 60);
    CHECK(one(st.c, "SELECT MAX(mem) FROM samples_minute") == 1059);
    CHECK(one(st.c, "SELECT COUNT(*) FROM samples_minute WHERE n <> 60 AND node = " B_NODE) == 0);
    store_close(&st);
}

/* The wall clock jumps an hour ahead for two minutes and is set right: the
 * rollups go on from the present (not an hour later), the rows stamped in
 * that future are dropped, every minute before and after it is rolled up,
 * and once raw retention has passed no minute is missing. A sample stamped
 * well after the clock is not stored. */
static void clock_jump(void)
{
    store st;
    db_sample s;
    got g;
    long long t1 = T0, end;

    if (store_open(&st) < 0) return;
    push(st.q, t1, t1 + 600, 0);         /* ten good minutes */
    push(st.q, t1 + 4200, t1 + 4320, 0); /* two stamped an hour ahead */
    CHECK(one(st.c, "SELECT v FROM samples_state WHERE k = 'minute'") == t1 + 4260);
    push(st.q, t1 + 720, t1 + 1620, 0); /* set right: 15 minutes */
    CHECK(one(st.c, "SELECT v FROM samples_state WHERE k = 'minute'") == t1 + 1560);
    CHECK(one(st.c, "SELECT v FROM samples_state WHERE k = 'hour'") == t1);
    CHECK(onef(st.c, "SELECT COUNT(*) FROM samples_raw WHERE ts > %lld", t1 + 1620) == 0);
    CHECK(onef(st.c, "SELECT COUNT(*) FROM samples_minute WHERE ts > %lld", t1 + 1620) == 0);
    CHECK(onef(st.c, "SELECT COUNT(*) FROM samples_hour WHERE ts > %lld", t1) == 0);
    CHECK(onef(st.c,
               "SELECT COUNT(*) FROM samples_minute WHERE ts >= %lld AND ts < %lld AND n = 60", t1,
               t1 + 600) == 20);
    CHECK(onef(st.c,
               "SELECT COUNT(*) FROM samples_minute WHERE ts >= %lld AND ts < %lld AND n = 60",
               t1 + 720, t1 + 1560) == 28);
    /* the minute series reaches the present, nothing in the future */
    g = series(st.d, "c1", NULL, DB_METRIC_MEMORY, DB_STEP_MINUTE, t1, t1 + 7200);
    CHECK(g.nodes == 2 && g.n[0] == 25 && g.last_ts[0] == t1 + 1560);
    g = series(st.d, "c1", NULL, DB_METRIC_MEMORY, DB_STEP_RAW, t1 + 600, t1 + 7200);
    CHECK(g.nodes == 2 && g.n[0] == 900 && g.last_ts[0] == t1 + 1619);

    /* past the hour and the raw retention: no minute lost */
    end = t1 + 1620 + 3700;
    push(st.q, t1 + 1620, end, 0);
    CHECK(one(st.c, "SELECT MIN(ts) FROM samples_raw") >= end - 1 - 3600 - 60);
    CHECK(onef(st.c,
               "SELECT COUNT(*) FROM samples_minute WHERE ts >= %lld AND ts < %lld AND n = 60",
               t1 + 720, t1 + 3600) == 2 * 48);
    CHECK(onef(st.c, "SELECT COUNT(*) FROM samples_hour WHERE ts = %lld AND n = %lld", t1,
               600LL + 3600 - 720) == 2);
    CHECK(one(st.c, "SELECT COUNT(*) FROM samples_minute WHERE n <> 60") == 0);

    /* an hour after the clock: not stored, the state unmoved */
    sample(&s, "c1", "10.0.0.1:6379", fake_now + 3600, 0);
    evq_push_samples(st.q, &s, 1);
    evq_flush(st.q);
    CHECK(onef(st.c, "SELECT COUNT(*) FROM samples_raw WHERE ts > %lld", end) == 0);
    CHECK(one(st.c, "SELECT v FROM samples_state WHERE k = 'minute'") == (end - 1 - 5) / 60 * 60);
    store_close(&st);
}

int main(void)
{
    char dir[] = "/tmp/hapanel-test-samples-XXXXXX", err[256], path[300], sql[1024], cmd[300];
    db_samples_keep keep = {RAW_KEEP, MINUTE_KEEP, 30 * 86400LL};
    int64_t end = T0 + 2 * 3600 + 150, now = end - 1, cur_min = now / 60 * 60;
    sqlite3 *c = NULL;
    got g;
    db *d;
    evq *q;
    int i, m;

    CHECK(mkdtemp(dir) != NULL);
    d = db_open(dir, err, sizeof(err));
    CHECK(d != NULL);
    if (!d) return check_done();
    db_samples_set_keep(d, &keep);
    d->samples_clock = fake_clock;
    q = evq_new(d);
    CHECK(q != NULL);
    if (!q) return check_done();
    snprintf(path, sizeof(path), "%s/hapanel.db", dir);
    CHECK(sqlite3_open_v2(path, &c, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);

    push(q, T0, end, 1);

    /* the rollups went up to the current minute and hour */
    CHECK(one(c, "SELECT v FROM samples_state WHERE k = 'minute'") == cur_min);
    CHECK(one(c, "SELECT v FROM samples_state WHERE k = 'hour'") == T0 + 7200);
    /* hours: two complete ones per node, each of 3600 samples */
    CHECK(one(c, "SELECT COUNT(*) FROM samples_hour") == 6);
    CHECK(one(c, "SELECT MIN(n) FROM samples_hour") == 3600);
    CHECK(one(c, "SELECT MAX(mem) FROM samples_hour") == 1059);
    CHECK(one(c, "SELECT MIN(ops) FROM samples_hour") == 15);
    CHECK(one(c, "SELECT COUNT(*) FROM samples_hour WHERE lag_bytes IS NOT NULL") == 2);
    CHECK(one(c, "SELECT MAX(lag_bytes) FROM samples_hour") == 590);
    /* minutes: complete ones, n 60, kept back to min(now - 7200, the hour) */
    CHECK(one(c, "SELECT MIN(n) FROM samples_minute") == 60);
    CHECK(one(c, "SELECT MAX(ts) FROM samples_minute") == cur_min - 60);
    CHECK(one(c, "SELECT MIN(ts) FROM samples_minute") >= now - MINUTE_KEEP - 60);
    CHECK(one(c, "SELECT MIN(ts) FROM samples_minute") <= now - MINUTE_KEEP + 60);
    CHECK(one(c, "SELECT MAX(mem) FROM samples_minute") == 1059);
    CHECK(one(c, "SELECT MIN(mem) FROM samples_minute") == 1059);
    CHECK(one(c, "SELECT MIN(ops) FROM samples_minute") == 15);
    /* raw: past RAW_KEEP, but not before their minute was rolled up */
    CHECK(one(c, "SELECT MIN(ts) FROM samples_raw") >= now - RAW_KEEP - 60);
    CHECK(one(c, "SELECT MIN(ts) FROM samples_raw") <= now - RAW_KEEP);
    CHECK(one(c, "SELECT MAX(ts) FROM samples_raw") == now);
    CHECK(one(c, "SELECT COUNT(*) FROM sample_nodes") == 3);

    /* raw series: the last minute, one point a second, in the metric's unit */
    g = series(d, "c1", NULL, DB_METRIC_MEMORY, DB_STEP_RAW, now - 59, now);
    CHECK(g.nodes == 2 && g.n[0] == 60 && g.n[1] == 60);
    CHECK_STR(g.node[0], "10.0.0.1:6379");
    CHECK(g.last_ts[0] == now && g.max[0] == 1059);
    g = series(d, "c1", NULL, DB_METRIC_LAG_SECONDS, DB_STEP_RAW, now - 59, now);
    CHECK(g.nodes == 2 && g.n[0] == 0 && g.n[1] == 60 && g.last[1] == 1.5);
    g = series(d, "c1", "10.0.0.2:6379", DB_METRIC_LAG_BYTES, DB_STEP_RAW, now - 9, now);
    CHECK(g.nodes == 1 && g.n[0] == 10 && g.last[0] == (double)(now % 60) * 10);
    g = series(d, "c1", "10.9.9.9:1", DB_METRIC_MEMORY, DB_STEP_RAW, now - 9, now);
    CHECK(g.nodes == 0);
    /* minute series over the last half hour: the buckets, then the current
     * minute from the raw rows */
    g = series(d, "c1", NULL, DB_METRIC_MEMORY, DB_STEP_MINUTE, cur_min - 1800, now);
    CHECK(g.nodes == 2 && g.n[0] == 31 && g.first_ts[0] == cur_min - 1800);
    CHECK(g.last_ts[0] == cur_min && g.max[0] == 1059);
    CHECK(g.last[0] == 1000 + now % 60); /* the current minute so far */
    g = series(d, "c1", NULL, DB_METRIC_OPS, DB_STEP_MINUTE, cur_min - 600, cur_min - 60);
    CHECK(g.n[0] == 10 && g.max[0] == 15 && g.last[0] == 15);
    /* hour series over everything: two buckets and the hour so far (minute
     * buckets, then raw rows) */
    g = series(d, "c1", NULL, DB_METRIC_MEMORY, DB_STEP_HOUR, T0, now);
    CHECK(g.nodes == 2 && g.n[0] == 3 && g.first_ts[0] == T0 && g.last_ts[0] == T0 + 7200);
    g = series(d, "c1", NULL, DB_METRIC_OPS, DB_STEP_HOUR, T0, now);
    CHECK(g.n[0] == 3 && g.last[0] == 15);

    CHECK(db_samples_known(d, "c1") == 1);
    CHECK(db_samples_known(d, "c2") == 1);
    CHECK(db_samples_known(d, "nope") == 0);

    /* the automatic step: raw while kept, then minutes, then hours */
    CHECK(db_series_auto_step(d, now - 60, now, now, 5000) == DB_STEP_RAW);
    CHECK(db_series_auto_step(d, now - 3600, now, now, 5000) == DB_STEP_MINUTE);
    CHECK(db_series_auto_step(d, now - 7 * 86400, now, now, 5000) == DB_STEP_HOUR);
    CHECK(db_series_auto_step(d, now - 3 * 3600, now, now, 5000) == DB_STEP_HOUR);
    CHECK(db_series_auto_step(d, now - 400 * 86400LL, now, now, 5000) == 0);

    /* every statement searches the key */
    for (i = 0; db__samples_sql(i); i++)
        CHECK(!scans(c, db__samples_sql(i)));
    for (m = 0; m < DB_METRIC_COUNT; m++) {
        db__series_sql(sql, sizeof(sql), DB_STEP_RAW, m);
        CHECK(!scans(c, sql));
        db__series_sql(sql, sizeof(sql), DB_STEP_MINUTE, m);
        CHECK(!scans(c, sql));
        db__series_sql(sql, sizeof(sql), DB_STEP_HOUR, m);
        CHECK(!scans(c, sql));
    }

    /* 40 days later, c1 only: c2's rows all expire and it is forgotten;
     * c1's hours of then are gone too */
    push(q, T0 + 40 * 86400LL, T0 + 40 * 86400LL + 3700, 0);
    CHECK(db_samples_known(d, "c2") == 0);
    CHECK(db_samples_known(d, "c1") == 1);
    CHECK(one(c, "SELECT COUNT(*) FROM sample_nodes") == 2);
    CHECK(one(c, "SELECT MIN(ts) FROM samples_hour") == T0 + 40 * 86400LL);
    CHECK(one(c, "SELECT COUNT(*) FROM samples_minute WHERE ts < " /* the old ones */
                 "1800100000") == 0);

    sqlite3_close(c);
    evq_free(q);
    db_free(d);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);

    late_rows();
    clock_jump();

    /* a lag from INFO may be any number: milliseconds clamped, none for
     * negative or NaN */
    CHECK(db_sample_ms(1.5) == 1500);
    CHECK(db_sample_ms(0) == 0);
    CHECK(db_sample_ms(-1) == -1);
    CHECK(db_sample_ms(NAN) == -1);
    CHECK(db_sample_ms(9.3e18) == DB_SAMPLE_MS_MAX);
    CHECK(db_sample_ms(1e300) == DB_SAMPLE_MS_MAX);
    CHECK(db_sample_ms(INFINITY) == DB_SAMPLE_MS_MAX);
    CHECK(db_sample_ms(-INFINITY) == -1);
    return check_done();
}
