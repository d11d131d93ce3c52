/* test_db_outbox.c — the outbox's columns of a fleet on etcd
 * (migrations/0014) through the writer: a row keeps its global key, claim
 * state and time; a claim is recorded with who made it; a follower's list
 * of unclaimed rows holds only pending, keyed, unclaimed rows older than
 * the bound, oldest first; skipped names the sender, and a mark without a
 * sender keeps the one recorded. A single panel's row (no key) is never
 * listed. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "db/db.h"
#include "db/writer.h"

typedef struct seen {
    int n;
    int64_t id[8];
    char key[8][96], gkey[8][192], gstate[8][HP_ADDR_MAX], state[8][12], sent_by[8][64];
    int64_t gat[8], claimed_at[8];
} seen;

static void on_row(void *ctx, const outbox_row *r)
{
    seen *s = ctx;
    if (s->n >= 8) return;
    s->id[s->n] = r->id;
    snprintf(s->key[s->n], sizeof(s->key[0]), "%s", r->key);
    snprintf(s->gkey[s->n], sizeof(s->gkey[0]), "%s", r->gkey);
    snprintf(s->gstate[s->n], sizeof(s->gstate[0]), "%s", r->gstate);
    snprintf(s->state[s->n], sizeof(s->state[0]), "%s", r->state);
    snprintf(s->sent_by[s->n], sizeof(s->sent_by[0]), "%s", r->sent_by);
    s->gat[s->n] = r->gat;
    s->claimed_at[s->n] = r->claimed_at;
    s->n++;
}

static seen unclaimed(db *d, const char *ch, int64_t before)
{
    seen s;
    memset(&s, 0, sizeof(s));
    CHECK(db_outbox_unclaimed(d, ch, before, 8, on_row, &s) == s.n);
    return s;
}

static seen all(db *d, const char *state)
{
    seen s;
    memset(&s, 0, sizeof(s));
    CHECK(db_query_outbox(d, state, 0, 8, on_row, &s) == s.n);
    return s;
}

int main(void)
{
    char dir[] = "/tmp/hapanel-test-outbox-XXXXXX", err[256], cmd[300];
    int64_t now = 1800000000000LL, due = 0;
    outbox_row r;
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

    /* 1: a failover (a transition), 2: a job's (create-if-absent), 3: a
     * single panel's row, 4: another channel's, 5: too new to be listed */
    CHECK(evq_outbox_add(q, "a", "failover:1", "critical", "{}", "f", now - 60000,
                         "master/mymaster", "10.0.0.2:6379", now - 60500) == 1);
    CHECK(evq_outbox_add(q, "a", "job:7:started", "info", "{}", "j", now - 50000,
                         "job/p1/7/started", NULL, 0) == 1);
    CHECK(evq_outbox_add(q, "a", "alert:3:fired", "warning", "{}", "x", now - 40000, NULL, NULL,
                         0) == 1);
    CHECK(evq_outbox_add(q, "b", "failover:1", "critical", "{}", "f", now - 60000,
                         "master/mymaster", "10.0.0.2:6379", now - 60500) == 1);
    CHECK(evq_outbox_add(q, "a", "alert:4:fired", "warning", "{}", "y", now,
                         "alert/mymaster/replica_down/10.0.0.3:6379", "fired", now - 100) == 1);
    /* the same (channel, key) again: not added */
    CHECK(evq_outbox_add(q, "a", "failover:1", "critical", "{}", "f", now, "master/mymaster",
                         "10.0.0.9:6379", now) == 0);

    CHECK(db_outbox_next(d, "a", now, &r, &due) == 1);
    CHECK(r.id == 1 && !strcmp(r.gkey, "master/mymaster") && !strcmp(r.gstate, "10.0.0.2:6379"));
    CHECK(r.gat == now - 60500 && r.claimed_at == 0 && r.sent_by[0] == '\0');
    outbox_row_release(&r);

    s = unclaimed(d, "a", now - 1000);
    CHECK(s.n == 2 && s.id[0] == 1 && s.id[1] == 2); /* not 3 (no key), not 5 (new), not b's */
    CHECK(!strcmp(s.gkey[1], "job/p1/7/started") && s.gstate[1][0] == '\0' && s.gat[1] == 0);
    s = unclaimed(d, "a", now + 1);
    CHECK(s.n == 3 && s.id[2] == 5);

    /* claimed here (queued, not waited for): no longer listed, and a retry
     * keeps the sender */
    CHECK(evq_outbox_claimed(q, 1, "p1", now - 500) == 0);
    evq_flush(q);
    s = unclaimed(d, "a", now - 1000);
    CHECK(s.n == 1 && s.id[0] == 2);
    CHECK(evq_outbox_mark(q, 1, "pending", 1, now + 1000, "HTTP 500", 0, NULL) == 0);
    CHECK(evq_outbox_mark(q, 1, "delivered", 2, now + 1000, NULL, now + 1000, "p1") == 0);
    s = all(d, "delivered");
    CHECK(s.n == 1 && s.id[0] == 1 && !strcmp(s.sent_by[0], "p1") && s.claimed_at[0] == now - 500);

    /* another instance's: skipped, naming it */
    CHECK(evq_outbox_mark(q, 2, "skipped", 0, now - 50000, NULL, 0, "p2") == 0);
    s = all(d, "skipped");
    CHECK(s.n == 1 && s.id[0] == 2 && !strcmp(s.sent_by[0], "p2") && s.claimed_at[0] == 0);
    s = unclaimed(d, "a", now + 1);
    CHECK(s.n == 1 && s.id[0] == 5);
    s = unclaimed(d, "b", now + 1);
    CHECK(s.n == 1 && s.id[0] == 4);

    /* the single panel's row: no key, no sender */
    s = all(d, "pending");
    CHECK(s.n == 3 && s.id[2] == 3); /* newest first */
    CHECK(!strcmp(s.key[2], "alert:3:fired") && s.gkey[2][0] == '\0' && s.sent_by[2][0] == '\0');

    evq_free(q);
    db_free(d);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return check_done();
}
