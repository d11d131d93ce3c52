/* samples_bench.c — what the history charts' samples cost on disk, per node
 * and day. It writes a simulated day (86,400 polls at 1 s; --days more) for
 * a 1+2+3 cluster's three nodes into a fresh database through hapanel's own
 * writer (evq_push_samples: one queued batch per poll, the real SQL, the
 * rollups into minute and hour buckets as each completes and the retention),
 * with the clock simulated and the values made up (a 1.2 GB node with a 4 GB
 * maxmemory, replicas lagging a few kB, thousands of ops/s: the sizes of the
 * integers are what matters). Then it prints, from SQLite's dbstat, the
 * bytes of each table and its index per node per day and per row, and what a
 * node holds at the default retention ([history] raw_keep_s 3600,
 * minute_keep_h 48, hour_keep_days 90).
 *
 *   build-h2/bench/samples_bench [--days N] [--keep-all 0|1]
 *
 * --keep-all 1 (the default) keeps every raw row of the run (raw_keep_s a
 * week), so the day's raw rows are measured; 0 runs with the defaults. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/db.h"
#include "db/writer.h"
#include "core/banned.h" /* last: after every system header */

#define NODES 3
/* the first poll: a whole hour, days (and one more) before now, as the
 * store refuses samples stamped after its wall clock */
static int64_t t0;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Bytes and rows of table (with its own indexes: the autoindex of
 * sample_nodes). */
static void measure(sqlite3 *c, const char *table, int64_t *bytes, int64_t *rows)
{
    char sql[256];
    sqlite3_stmt *st = NULL;
    *bytes = *rows = 0;
    snprintf(sql, sizeof(sql),
             "SELECT SUM(pgsize) FROM dbstat WHERE name = '%s' OR name IN (SELECT name FROM "
             "sqlite_master WHERE type = 'index' AND tbl_name = '%s')",
             table, table);
    if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        *bytes = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", table);
    if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        *rows = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
}

static int64_t pragma(sqlite3 *c, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/hapanel-samples-bench-XXXXXX", err[256], path[300], cmd[300];
    static const char *const tables[] = {"samples_raw", "samples_minute", "samples_hour",
                                         "sample_nodes", "samples_state"};
    int days = 1, keep_all = 1, i, k;
    int64_t polls, t, mem[NODES], bytes[5], rows[5], total = 0;
    db_samples_keep keep = {3600, 48 * 3600LL, 90 * 86400LL};
    double t_start, t_end, per_row[3];
    unsigned seed = 12345;
    sqlite3 *c = NULL;
    db *d;
    evq *q;

    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--days"))
            days = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--keep-all"))
            keep_all = atoi(argv[i + 1]);
    }
    if (days < 1) days = 1;
    if (keep_all) keep.raw_s = 7 * 86400LL * days;
    polls = 86400LL * days;
    t0 = ((int64_t)time(NULL) - polls - 86400) / 3600 * 3600;
    if (!mkdtemp(dir)) return 1;
    d = db_open(dir, err, sizeof(err));
    if (!d) {
        fprintf(stderr, "db_open: %s\n", err);
        return 1;
    }
    db_samples_set_keep(d, &keep);
    q = evq_new(d);
    if (!q) return 1;
    for (k = 0; k < NODES; k++)
        mem[k] = 1200000000LL + k * 1000;

    t_start = now_s();
    for (t = t0; t < t0 + polls; t++) {
        db_sample s[NODES];
        memset(s, 0, sizeof(s));
        for (k = 0; k < NODES; k++) {
            snprintf(s[k].cluster, sizeof(s[k].cluster), "mymaster");
            snprintf(s[k].node, sizeof(s[k].node), "10.0.0.%d:6379", k + 1);
            s[k].ts = t;
            mem[k] += (int64_t)(rand_r(&seed) % 20001) - 10000; /* a random walk */
            s[k].used_memory = mem[k];
            s[k].maxmemory = 4294967296LL;
            s[k].clients = 40 + rand_r(&seed) % 20;
            s[k].ops = k == 0 ? 1000 + rand_r(&seed) % 4000 : 5 + rand_r(&seed) % 10;
            s[k].lag_bytes = k == 0 ? -1 : rand_r(&seed) % 5000;
            s[k].lag_ms = k == 0 ? -1 : rand_r(&seed) % 20 == 0 ? 1000 : 0;
        }
        evq_push_samples(q, s, NODES);          /* one poll, as the monitor queues it */
        if ((t - t0) % 4096 == 0) evq_flush(q); /* bounded queue: keep up with the writer */
    }
    evq_flush(q);
    t_end = now_s();
    evq_free(q);
    db_free(d);

    snprintf(path, sizeof(path), "%s/hapanel.db", dir);
    if (sqlite3_open(path, &c) != SQLITE_OK) return 1;
    sqlite3_exec(c, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    printf("samples_bench: %d simulated day(s), %lld polls x %d nodes through the writer in %.1f "
           "s (%.0f polls/s); raw kept %s\n",
           days, (long long)polls, NODES, t_end - t_start, (double)polls / (t_end - t_start),
           keep_all ? "for the whole run" : "1 h (the default)");
    printf("%-16s %10s %12s %14s %10s\n", "table", "rows", "bytes", "bytes/node/day", "bytes/row");
    for (i = 0; i < 5; i++) {
        measure(c, tables[i], &bytes[i], &rows[i]);
        total += bytes[i];
        printf("%-16s %10lld %12lld %14.0f %10.1f\n", tables[i], (long long)rows[i],
               (long long)bytes[i], (double)bytes[i] / NODES / days,
               rows[i] ? (double)bytes[i] / rows[i] : 0.0);
        if (i < 3) per_row[i] = rows[i] ? (double)bytes[i] / rows[i] : 0.0;
    }
    printf("all sample tables: %lld bytes = %.0f bytes per node per day (%.2f MB); the file: "
           "page_count x page_size = %lld bytes\n",
           (long long)total, (double)total / NODES / days, (double)total / NODES / days / 1e6,
           (long long)(pragma(c, "PRAGMA page_count") * pragma(c, "PRAGMA page_size")));
    printf("rollups only (minute + hour buckets): %.0f bytes per node per day\n",
           (double)(bytes[1] + bytes[2]) / NODES / days);
    /* an hour bucket has a minute bucket's columns: a day's 24 fill less than
     * a page, so the minute's bytes per row stand for both */
    if (rows[1] > 0)
        printf("at the default retention, a node holds 3,600 raw rows + 2,880 minute buckets + "
               "2,160 hour buckets = about %.0f kB\n",
               (3600 * per_row[0] + (2880 + 2160) * per_row[1]) / 1000);
    sqlite3_close(c);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
