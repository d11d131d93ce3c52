/* test_db_plans.c — every list query uses an index for every filter and page
 * the API allows: for each combination of filters, the SQL the db layer
 * builds is run through EXPLAIN QUERY PLAN on a database hapanel created, and
 * no step may scan a table (they all grow) or sort the result in a temporary
 * b-tree. A query without any filter may walk the table backwards by rowid:
 * it stops at its LIMIT. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "db/internal.h"

static sqlite3 *conn;
static int plans;

/* 1 when detail walks a partial index (it holds only the rows the filter
 * wants, so walking it in order to the LIMIT is a search). */
static int partial_index_scan(const char *detail)
{
    sqlite3_stmt *st = NULL;
    int yes = 0;
    if (sqlite3_prepare_v2(conn,
                           "SELECT name FROM sqlite_master WHERE type = 'index' AND sql "
                           "LIKE '% WHERE %'",
                           -1, &st, NULL) != SQLITE_OK)
        return 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        char want[160];
        snprintf(want, sizeof(want), "USING INDEX %s", (const char *)sqlite3_column_text(st, 0));
        if (strstr(detail, want)) yes = 1;
    }
    sqlite3_finalize(st);
    return yes;
}

/* Checks the plan of q; filtered: the query has at least one filter. */
static void check_plan(const char *what, const qb *q, int filtered)
{
    char sql[1200];
    sqlite3_stmt *st = NULL;
    int bad = 0;

    snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", q->sql);
    CHECK(!q->overflow);
    if (sqlite3_prepare_v2(conn, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s: cannot prepare: %s\n%s\n", what, sqlite3_errmsg(conn), q->sql);
        CHECK(0);
        return;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *detail = (const char *)sqlite3_column_text(st, 3);
        if (!detail) continue;
        if (strstr(detail, "TEMP B-TREE") ||
            (filtered && !strncmp(detail, "SCAN", 4) && !partial_index_scan(detail)) ||
            (!filtered && !strncmp(detail, "SCAN", 4) && strstr(detail, "USING"))) {
            fprintf(stderr, "%s: %s\n  %s\n", what, detail, q->sql);
            bad = 1;
        }
    }
    sqlite3_finalize(st);
    plans++;
    CHECK(!bad);
}

int main(void)
{
    char dir[] = "/tmp/hapanel-plans-XXXXXX", path[256], err[256], what[128];
    db *d;
    qb q;
    int m;

    CHECK(mkdtemp(dir) != NULL);
    d = db_open(dir, err, sizeof(err));
    CHECK(d != NULL);
    if (!d) return check_done();
    snprintf(path, sizeof(path), "%s/hapanel.db", dir);
    CHECK(sqlite3_open_v2(path, &conn, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);

    /* events: cluster, type, node, since, until, before */
    for (m = 0; m < 64; m++) {
        event_query eq;
        memset(&eq, 0, sizeof(eq));
        eq.cluster = m & 1 ? "c" : NULL;
        eq.type = m & 2 ? "+sdown" : NULL;
        eq.node = m & 4 ? "127.0.0.1:6379" : NULL;
        eq.since = m & 8 ? 1000 : 0;
        eq.until = m & 16 ? 2000 : 0;
        eq.before = m & 32 ? 500 : 0;
        eq.limit = 50;
        db__events_qb(d, &eq, &q);
        snprintf(what, sizeof(what), "events filters %#x", m);
        check_plan(what, &q, m != 0);
        /* the same with a severity (several types and severities are
         * searches of one exact pair each, merged by id) */
        eq.severity = "critical";
        db__events_qb(d, &eq, &q);
        snprintf(what, sizeof(what), "events filters %#x + severity", m);
        check_plan(what, &q, 1);
    }
    /* jobs: cluster, unfinished, before */
    for (m = 0; m < 8; m++) {
        db__jobs_qb(m & 1 ? "c" : NULL, m & 2, m & 4 ? 10 : 0, 50, &q);
        snprintf(what, sizeof(what), "jobs filters %#x", m);
        check_plan(what, &q, m != 0);
    }
    /* failovers: cluster, before (node, time, kind and severity are checks on
     * top: the table has a row per failover) */
    for (m = 0; m < 4; m++) {
        failover_query fq;
        memset(&fq, 0, sizeof(fq));
        fq.cluster = m & 1 ? "c" : NULL;
        fq.before = m & 2 ? 10 : 0;
        fq.limit = 50;
        db__failovers_qb(&fq, &q);
        snprintf(what, sizeof(what), "failovers filters %#x", m);
        check_plan(what, &q, m != 0);
    }
    /* backups: cluster */
    for (m = 0; m < 2; m++) {
        db__backups_qb(m & 1 ? "c" : NULL, 50, &q);
        snprintf(what, sizeof(what), "backups filters %#x", m);
        check_plan(what, &q, m != 0);
    }
    /* alerts: active, cluster, before */
    for (m = 0; m < 8; m++) {
        db__alerts_qb(m & 1, m & 2 ? "c" : NULL, m & 4 ? 10 : 0, 50, &q);
        snprintf(what, sizeof(what), "alerts filters %#x", m);
        check_plan(what, &q, m != 0);
    }
    /* outbox: state, before */
    for (m = 0; m < 4; m++) {
        db__outbox_qb(m & 1 ? "pending" : NULL, m & 2 ? 10 : 0, 50, &q);
        snprintf(what, sizeof(what), "outbox filters %#x", m);
        check_plan(what, &q, m != 0);
    }
    /* audit: actor, action, outcome, since, until, before */
    for (m = 0; m < 64; m++) {
        audit_query aq;
        memset(&aq, 0, sizeof(aq));
        aq.actor = m & 1 ? "alice" : NULL;
        aq.action = m & 2 ? "login" : NULL;
        aq.outcome = m & 4 ? "refused" : NULL;
        aq.since = m & 8 ? 1000 : 0;
        aq.until = m & 16 ? 2000 : 0;
        aq.before = m & 32 ? 10 : 0;
        aq.limit = 50;
        db__audit_qb(&aq, &q);
        snprintf(what, sizeof(what), "audit filters %#x", m);
        check_plan(what, &q, m != 0);
    }
    CHECK(plans == 2 * 64 + 8 + 4 + 2 + 8 + 4 + 64);

    sqlite3_close(conn);
    db_free(d);
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    CHECK(system(path) == 0);
    return check_done();
}
