/* test_db_audit.c — the audit trail through the writer: records come back
 * newest first with every field, filters and paging work, time stays in id
 * order even when records arrive stamped out of order, and a record older
 * than keep_days is deleted by the hourly prune (the newest is kept). */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "db/db.h"
#include "db/writer.h"

#define DAY 86400000LL

typedef struct seen {
    int n;
    int64_t ids[16], ts[16];
    char actor[16][64], params[16][64];
} seen;

static void on_audit(void *ctx, const audit_rec *a)
{
    seen *s = ctx;
    if (s->n >= 16) return;
    s->ids[s->n] = a->id;
    s->ts[s->n] = a->ts;
    snprintf(s->actor[s->n], sizeof(s->actor[0]), "%s", a->actor);
    snprintf(s->params[s->n], sizeof(s->params[0]), "%s", a->params ? a->params : "");
    s->n++;
}

static int put(evq *q, int64_t ts, const char *actor, const char *outcome, int keep_days)
{
    audit_rec a;
    char params[] = "{\"mode\":\"graceful\",\"password\":\"(removed)\"}";
    memset(&a, 0, sizeof(a));
    a.ts = ts;
    snprintf(a.actor, sizeof(a.actor), "%s", actor);
    snprintf(a.role, sizeof(a.role), "operator");
    snprintf(a.via, sizeof(a.via), "token");
    snprintf(a.source, sizeof(a.source), "127.0.0.1");
    snprintf(a.action, sizeof(a.action), "POST /api/v1/clusters/{name}/failover");
    snprintf(a.target, sizeof(a.target), "mymaster");
    a.params = params;
    a.status = strcmp(outcome, "ok") ? 403 : 202;
    snprintf(a.outcome, sizeof(a.outcome), "%s", outcome);
    return evq_audit(q, &a, keep_days);
}

static seen query(db *d, const audit_query *aq)
{
    seen s;
    memset(&s, 0, sizeof(s));
    CHECK(db_query_audit(d, aq, on_audit, &s) >= 0);
    return s;
}

int main(void)
{
    char dir[] = "/tmp/hapanel-test-audit-XXXXXX", err[256], cmd[300];
    int64_t now = 1800000000000LL;
    audit_query aq;
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

    /* 400 days old, then now: the prune at the second insert takes the first */
    CHECK(put(q, now - 400 * DAY, "old", "ok", 365) == 0);
    CHECK(put(q, now, "alice", "ok", 365) == 0);
    memset(&aq, 0, sizeof(aq));
    aq.limit = 10;
    s = query(d, &aq);
    CHECK(s.n == 1 && !strcmp(s.actor[0], "alice"));
    CHECK(strstr(s.params[0], "(removed)") != NULL);

    /* stamped earlier than the last one: stored at the last one's time */
    CHECK(put(q, now - 5000, "bob", "refused", 365) == 0);
    CHECK(put(q, now + 1000, "carol", "ok", 365) == 0);
    s = query(d, &aq);
    CHECK(s.n == 3 && !strcmp(s.actor[0], "carol") && !strcmp(s.actor[1], "bob"));
    CHECK(s.ts[1] == now && s.ts[0] == now + 1000);

    /* filters and paging */
    aq.outcome = "refused";
    s = query(d, &aq);
    CHECK(s.n == 1 && !strcmp(s.actor[0], "bob"));
    aq.outcome = NULL;
    aq.actor = "carol";
    s = query(d, &aq);
    CHECK(s.n == 1);
    aq.actor = NULL;
    aq.since = now + 1;
    s = query(d, &aq);
    CHECK(s.n == 1 && !strcmp(s.actor[0], "carol"));
    aq.since = 0;
    aq.until = now;
    s = query(d, &aq);
    CHECK(s.n == 2 && !strcmp(s.actor[0], "bob"));
    aq.until = 0;
    aq.limit = 1;
    s = query(d, &aq);
    CHECK(s.n == 1);
    aq.before = s.ids[0];
    aq.limit = 10;
    s = query(d, &aq);
    CHECK(s.n == 2 && !strcmp(s.actor[0], "bob"));

    evq_free(q);
    db_free(d);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return check_done();
}
