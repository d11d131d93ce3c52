/* test_db_plans.c — every list query uses an index for every filter and page
 * the API allows: for each combination of filters, the SQL the db layer
 * builds is run through EXPLAIN QUERY PLAN on a database hapanel created, and
 * no step may scan a table (they all grow) or sort the result in a temporary
 * b-tree. A query without any filter may walk the table backwards by rowid:
 * it stops at its LIMIT. And several types and severities over a history of
 * many types (type=+,-&severity=info,warning,critical) give the answer a walk
 * of every row says, in at most 64 searches and limit-ish rows, not one
 * search of up to limit rows per (type, severity) pair. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "db/internal.h"
#include "db/writer.h"

#define MERGED_MAX 64 /* searches for one request of several types and severities */

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

/* ---------------------------------------------- many types, merged */

#define NTYPES 100
#define PER_PAIR 12
#define NEVENTS (NTYPES * 3 * PER_PAIR)

typedef struct answer {
    int n;
    int64_t id[1000];
} answer;

static void on_event(void *ctx, const hp_event *e)
{
    answer *a = ctx;
    if (a->n < 1000) a->id[a->n] = e->id;
    a->n++;
}

/* What the answer must be: every row, newest first (or oldest), checked. */
static void expected(const event_query *eq, answer *a)
{
    sqlite3_stmt *st = NULL;
    int mask = eq->severities ? db_severity_mask(eq->severities) : 7;
    a->n = 0;
    CHECK(sqlite3_prepare_v2(
              conn,
              eq->oldest_first ? "SELECT id, type, severity, cluster FROM events ORDER BY id"
                               : "SELECT id, type, severity, cluster FROM events ORDER BY id DESC",
              -1, &st, NULL) == SQLITE_OK);
    while (a->n < eq->limit && sqlite3_step(st) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        const char *type = (const char *)sqlite3_column_text(st, 1);
        const char *sev = (const char *)sqlite3_column_text(st, 2);
        const char *cl = (const char *)sqlite3_column_text(st, 3);
        int k = !strcmp(sev, "info") ? 0 : !strcmp(sev, "warning") ? 1 : 2;
        if (eq->types && !db_type_matches(eq->types, type)) continue;
        if (!(mask & (1 << k))) continue;
        if (eq->cluster && strcmp(eq->cluster, cl)) continue;
        if (eq->before && id >= eq->before) continue;
        if (eq->after && id <= eq->after) continue;
        a->id[a->n++] = id;
    }
    sqlite3_finalize(st);
}

/* Runs eq both ways; returns the work done. */
static db_events_work same_answer(db *d, const char *what, const event_query *eq)
{
    answer got, want;
    db_events_work w = {0, 0};
    int i, same;
    memset(&got, 0, sizeof(got));
    expected(eq, &want);
    CHECK(db__query_events_work(d, eq, on_event, &got, &w) == got.n);
    same = got.n == want.n;
    for (i = 0; same && i < got.n; i++)
        same = got.id[i] == want.id[i];
    if (!same)
        fprintf(stderr, "%s: %d events, want %d (first %lld, want %lld)\n", what, got.n, want.n,
                got.n ? (long long)got.id[0] : 0LL, want.n ? (long long)want.id[0] : 0LL);
    CHECK(same);
    fprintf(stderr, "%s: %d events, %d searches, %ld rows read\n", what, got.n, w.searches, w.rows);
    return w;
}

static void many_types(db *d)
{
    static const char *const sevs[] = {"info", "warning", "critical"};
    event_query eq;
    db_events_work w;
    evq *q = evq_new(d);
    int i;

    CHECK(q != NULL);
    if (!q) return;
    /* 100 types ("+t00".."+t49", "-t00".."-t49") x 3 severities, 12 each,
     * interleaved; one a second (a flood would be coalesced) */
    for (i = 0; i < NEVENTS; i++) {
        hp_event e;
        char type[16];
        int t = i % NTYPES;
        snprintf(type, sizeof(type), "%ct%02d", t < 50 ? '+' : '-', t % 50);
        hp_event_set(&e, EV_SENTINEL, i % 2 ? "c" : "d", type, sevs[i / NTYPES % 3], "sentinel x",
                     "127.0.0.1:6379", "m");
        e.ts = 1800000000000LL + (int64_t)i * 1000;
        evq_push(q, &e);
        if (i % 500 == 499) evq_flush(q);
    }
    evq_flush(q);
    evq_free(q);
    {
        sqlite3_stmt *st = NULL;
        CHECK(sqlite3_prepare_v2(conn, "SELECT COUNT(*) FROM events WHERE type LIKE '_t__'", -1,
                                 &st, NULL) == SQLITE_OK);
        CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == NEVENTS);
        sqlite3_finalize(st);
    }

    /* every type, every severity, the largest page: 300 pairs */
    memset(&eq, 0, sizeof(eq));
    eq.types = "+,-";
    eq.severities = "info,warning,critical";
    eq.limit = 1000;
    w = same_answer(d, "+,- x 3 severities", &eq);
    CHECK(w.searches <= MERGED_MAX + 1);
    CHECK(w.rows <= 2 * eq.limit);
    /* the same, oldest first after an id, one cluster */
    eq.oldest_first = 1;
    eq.after = 100;
    eq.cluster = "c";
    eq.limit = 300;
    w = same_answer(d, "+,- x 3, oldest first, c", &eq);
    CHECK(w.searches <= MERGED_MAX + 1);
    CHECK(w.rows <= 2 * eq.limit);
    /* a page further back, two severities (200 pairs) */
    memset(&eq, 0, sizeof(eq));
    eq.types = "+,-";
    eq.severities = "warning,critical";
    eq.before = NEVENTS / 2;
    eq.limit = 50;
    w = same_answer(d, "+,- x warning,critical before", &eq);
    CHECK(w.searches <= MERGED_MAX + 1);
    CHECK(w.rows <= 3 * eq.limit);
    /* few pairs keep their searches: "+t1" is 10 types, x 2 severities */
    memset(&eq, 0, sizeof(eq));
    eq.types = "+t1";
    eq.severities = "info,critical";
    eq.limit = 40;
    w = same_answer(d, "+t1 x info,critical", &eq);
    CHECK(w.searches == 1 + 20);
    /* exact types, no severity list */
    memset(&eq, 0, sizeof(eq));
    eq.types = "-t07$,+t33$";
    eq.limit = 1000;
    w = same_answer(d, "-t07$,+t33$", &eq);
    CHECK(w.searches == 1 + 2);
    /* the type list alone, many types: a walk too */
    memset(&eq, 0, sizeof(eq));
    eq.types = "t";
    eq.limit = 1000;
    w = same_answer(d, "t (every type, no severity)", &eq);
    CHECK(w.searches <= MERGED_MAX + 1);
    CHECK(w.rows <= 2 * eq.limit);
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

    many_types(d);

    sqlite3_close(conn);
    db_free(d);
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    CHECK(system(path) == 0);
    return check_done();
}
