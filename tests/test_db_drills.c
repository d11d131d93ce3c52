/* test_db_drills.c — the drills' rows through the writer: a row stored at
 * the start (running, no end) and updated at the end comes back with every
 * field, newest first, filtered by cluster and bounded by limit; by id and
 * by job; a row without a report reads as NULL. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "db/db.h"
#include "db/drills.h"
#include "db/writer.h"

typedef struct seen {
    int n;
    hp_drill d[8];
    char report[8][128];
} seen;

static void on_drill(void *ctx, const hp_drill *dr)
{
    seen *s = ctx;
    if (s->n >= 8) return;
    s->d[s->n] = *dr;
    s->d[s->n].report = NULL; /* valid during the call only */
    snprintf(s->report[s->n], sizeof(s->report[0]), "%s", dr->report ? dr->report : "(null)");
    s->n++;
}

static seen query(db *d, const char *cluster, int limit)
{
    seen s;
    memset(&s, 0, sizeof(s));
    CHECK(db_query_drills(d, cluster, limit, on_drill, &s) == s.n);
    return s;
}

static int64_t put(evq *q, const char *cluster, const char *mode, int64_t job, char *report)
{
    hp_drill dr;
    memset(&dr, 0, sizeof(dr));
    snprintf(dr.cluster, sizeof(dr.cluster), "%s", cluster);
    snprintf(dr.mode, sizeof(dr.mode), "%s", mode);
    snprintf(dr.state, sizeof(dr.state), "running");
    dr.job_id = job;
    dr.started_at = 1800000000000LL + job;
    dr.report = report;
    CHECK(evq_drill_save(q, &dr) == 0);
    return dr.id;
}

int main(void)
{
    char dir[] = "/tmp/hapanel-test-drills-XXXXXX", err[256], cmd[300];
    char rep1[] = "{\"mode\":\"graceful\"}", rep2[] = "{\"mode\":\"force\",\"acked_lost\":0}";
    hp_drill dr;
    int64_t a, b, c;
    seen s;
    db *d;
    evq *q;

    CHECK(mkdtemp(dir) != NULL);
    d = db_open(dir, err, sizeof(err));
    CHECK(d != NULL);
    if (!d) return check_done();
    q = evq_new(d);
    CHECK(q != NULL);
    if (!q) return check_done();

    a = put(q, "one", "graceful", 11, rep1);
    b = put(q, "two", "force", 12, NULL);
    c = put(q, "one", "kill-master", 13, rep1);
    CHECK(a > 0 && b > a && c > b);

    /* the end of drill a: state, end, report */
    CHECK(db_get_drill(d, a, &dr) == 1);
    CHECK(!strcmp(dr.state, "running") && dr.ended_at == 0 && dr.job_id == 11);
    free(dr.report);
    snprintf(dr.state, sizeof(dr.state), "ok");
    dr.ended_at = 1800000009000LL;
    dr.report = rep2;
    CHECK(evq_drill_save(q, &dr) == 0 && dr.id == a);

    s = query(d, NULL, 10);
    CHECK(s.n == 3 && s.d[0].id == c && s.d[1].id == b && s.d[2].id == a);
    CHECK(!strcmp(s.report[1], "(null)"));
    CHECK(!strcmp(s.d[2].state, "ok") && s.d[2].ended_at == 1800000009000LL);
    CHECK(!strcmp(s.report[2], rep2) && !strcmp(s.d[2].mode, "graceful"));
    CHECK(s.d[2].started_at == 1800000000011LL);
    s = query(d, "one", 10);
    CHECK(s.n == 2 && s.d[0].id == c && s.d[1].id == a && !strcmp(s.d[0].mode, "kill-master"));
    s = query(d, "one", 1);
    CHECK(s.n == 1 && s.d[0].id == c);
    s = query(d, "none", 10);
    CHECK(s.n == 0);
    s = query(d, NULL, -5); /* clamped to 1 */
    CHECK(s.n == 1);

    CHECK(db_drill_of_job(d, 12, &dr) == 1 && dr.id == b && dr.report == NULL);
    CHECK(db_drill_of_job(d, 99, &dr) == 0 && dr.report == NULL);
    CHECK(db_get_drill(d, 999, &dr) == 0);

    evq_free(q);
    db_free(d);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return check_done();
}
