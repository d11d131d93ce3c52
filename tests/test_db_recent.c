/* test_db_recent.c — the dashboard's in-memory sets (db_recent_*) answer as
 * the table does after every kind of write that goes through the writer
 * (events, alerts fired, acknowledged and resolved, jobs inserted and saved,
 * backups stored and deleted), read the table again only after such a write
 * (a refresh without a change reads nothing), and, with a reader asking all
 * the time while the writer commits, never keep a set older than the table. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "db/internal.h"
#include "db/writer.h"

typedef struct seen {
    int n;
    int64_t first_id, ids[100];
    char state[16], acked_by[64];
} seen;

static void on_event(void *ctx, const hp_event *e)
{
    seen *s = ctx;
    if (!s->n) s->first_id = e->id;
    s->ids[s->n++ % 100] = e->id;
}

static void on_job(void *ctx, const db_job_row *j)
{
    seen *s = ctx;
    if (!s->n++) {
        s->first_id = j->id;
        hp_strlcpy(s->state, j->state, sizeof(s->state));
    }
}

static void on_alert(void *ctx, const alert_row *a)
{
    seen *s = ctx;
    if (!s->n++) {
        s->first_id = a->id;
        hp_strlcpy(s->acked_by, a->acked_by, sizeof(s->acked_by));
    }
}

static void on_backup(void *ctx, const hp_backup *b)
{
    seen *s = ctx;
    if (!s->n++) s->first_id = b->id;
}

static seen events(db *d, const char *cluster, int limit)
{
    seen s;
    memset(&s, 0, sizeof(s));
    CHECK(db_recent_events(d, cluster, limit, on_event, &s) == s.n);
    return s;
}

/* The newest event id of cluster, read from the table. */
static int64_t newest_in_table(db *d, const char *cluster)
{
    event_query q;
    seen s;
    memset(&q, 0, sizeof(q));
    memset(&s, 0, sizeof(s));
    q.cluster = cluster;
    q.limit = 1;
    db_query_events(d, &q, on_event, &s);
    return s.n ? s.first_id : 0;
}

static void push(evq *q, const char *cluster, const char *type, const char *msg)
{
    hp_event e;
    hp_event_set(&e, EV_SENTINEL, cluster, type, "info", "sentinel", "10.0.0.1:6379", msg);
    evq_push(q, &e);
}

static int stop_reader;

static void *reader(void *arg)
{
    db *d = arg;
    while (!__atomic_load_n(&stop_reader, __ATOMIC_RELAXED)) {
        seen s;
        memset(&s, 0, sizeof(s));
        db_recent_events(d, "race", 10, on_event, &s);
    }
    return NULL;
}

int main(void)
{
    char dir[] = "/tmp/hapanel-recent-XXXXXX", err[256];
    uint64_t fills;
    hp_event e;
    hp_backup b;
    pthread_t th;
    int64_t job, alert;
    seen s;
    db *d;
    evq *q;
    int i, stale;

    CHECK(mkdtemp(dir) != NULL);
    d = db_open(dir, err, sizeof(err));
    CHECK(d != NULL);
    if (!d) return check_done();
    q = evq_new(d);
    CHECK(q != NULL);
    if (!q) return check_done();

    /* events: read once, again only after a write to that cluster */
    CHECK(events(d, "c", 10).n == 0);
    fills = db__recent_fills(d);
    CHECK(events(d, "c", 10).n == 0);
    CHECK(db__recent_fills(d) == fills);
    for (i = 0; i < 12; i++)
        push(q, "c", "+sdown", "one of twelve");
    push(q, "other", "+odown", "elsewhere");
    evq_flush(q);
    s = events(d, "c", 10);
    CHECK(s.n == 10 && s.first_id == newest_in_table(d, "c"));
    CHECK(s.ids[0] > s.ids[9]); /* newest first */
    fills = db__recent_fills(d);
    CHECK(events(d, "c", 10).n == 10 && events(d, "c", 3).n == 3);
    CHECK(db__recent_fills(d) == fills); /* no write: nothing read */
    CHECK(events(d, "other", 10).n == 1);
    CHECK(db__recent_fills(d) == fills + 1);
    push(q, "other", "+odown", "elsewhere again");
    evq_flush(q);
    fills = db__recent_fills(d);
    CHECK(events(d, "c", 10).n == 10);
    CHECK(db__recent_fills(d) == fills); /* a write to another cluster */
    CHECK(events(d, "other", 10).n == 2);
    /* a larger limit than the set was read with reads it again */
    CHECK(events(d, "big", 3).n == 0);
    for (i = 0; i < 8; i++)
        push(q, "big", "+sdown", "eight");
    evq_flush(q);
    CHECK(events(d, "big", 3).n == 3 && events(d, "big", 8).n == 8);

    /* jobs: inserted, then saved in place */
    memset(&s, 0, sizeof(s));
    CHECK(db_recent_jobs(d, "c", 5, on_job, &s) == 0);
    job = evq_job_insert(q, "failover", "c", "{}", "tester", "test", hp_now_ms());
    CHECK(job > 0);
    memset(&s, 0, sizeof(s));
    CHECK(db_recent_jobs(d, "c", 5, on_job, &s) == 1 && s.first_id == job);
    CHECK_STR(s.state, "queued");
    evq_job_save(q, job, "running", "[]", NULL, NULL, NULL, hp_now_ms(), 0);
    memset(&s, 0, sizeof(s));
    CHECK(db_recent_jobs(d, "c", 5, on_job, &s) == 1);
    CHECK_STR(s.state, "running");
    fills = db__recent_fills(d);
    evq_job_save(q, job, "succeeded", NULL, NULL, "{}", NULL, 0, hp_now_ms());
    CHECK(events(d, "c", 10).n == 10);
    CHECK(db__recent_fills(d) == fills); /* a job save leaves the events be */
    memset(&s, 0, sizeof(s));
    CHECK(db_recent_jobs(d, "c", 5, on_job, &s) == 1);
    CHECK_STR(s.state, "succeeded");

    /* alerts: fired, acknowledged, resolved */
    memset(&s, 0, sizeof(s));
    CHECK(db_recent_alerts(d, "c", 100, on_alert, &s) == 0);
    hp_event_set(&e, EV_ALERT_FIRED, "c", "alert-fired", "warning", "panel", "10.0.0.2:6379",
                 "lag 9 s");
    hp_strlcpy(e.rule, "lag", sizeof(e.rule));
    evq_push(q, &e);
    evq_flush(q);
    memset(&s, 0, sizeof(s));
    CHECK(db_recent_alerts(d, "c", 100, on_alert, &s) == 1);
    alert = s.first_id;
    CHECK(alert > 0 && s.acked_by[0] == '\0');
    CHECK(evq_alert_ack(q, alert, "oncall", "looking", hp_now_ms()) == 1);
    memset(&s, 0, sizeof(s));
    CHECK(db_recent_alerts(d, "c", 100, on_alert, &s) == 1);
    CHECK_STR(s.acked_by, "oncall");
    hp_event_set(&e, EV_ALERT_RESOLVED, "c", "alert-resolved", "info", "panel", "10.0.0.2:6379",
                 "lag 0 s");
    hp_strlcpy(e.rule, "lag", sizeof(e.rule));
    evq_push(q, &e);
    evq_flush(q);
    memset(&s, 0, sizeof(s));
    CHECK(db_recent_alerts(d, "c", 100, on_alert, &s) == 0);

    /* backups: stored, deleted */
    memset(&b, 0, sizeof(b));
    hp_strlcpy(b.cluster, "c", sizeof(b.cluster));
    hp_strlcpy(b.node, "10.0.0.1:6379", sizeof(b.node));
    b.created_at = hp_now_ms();
    memset(&s, 0, sizeof(s));
    CHECK(db_recent_backups(d, "c", 100, on_backup, &s) == 0);
    CHECK(evq_backup_insert(q, &b) == 0 && b.id > 0);
    memset(&s, 0, sizeof(s));
    CHECK(db_recent_backups(d, "c", 100, on_backup, &s) == 1 && s.first_id == b.id);
    CHECK(evq_backup_delete(q, &b, "tester") == 0);
    memset(&s, 0, sizeof(s));
    CHECK(db_recent_backups(d, "c", 100, on_backup, &s) == 0);
    CHECK(events(d, "c", 1).n == 1 && events(d, "c", 1).first_id == newest_in_table(d, "c"));

    /* a reader asking all the time while the writer commits: after every
     * write the set shows what the table holds */
    CHECK(pthread_create(&th, NULL, reader, d) == 0);
    for (stale = 0, i = 0; i < 300; i++) {
        push(q, "race", "+sdown", "race");
        if (i % 3 == 0) evq_flush(q);
        if (i % 3 == 0 && events(d, "race", 10).first_id != newest_in_table(d, "race")) stale++;
    }
    __atomic_store_n(&stop_reader, 1, __ATOMIC_RELAXED);
    pthread_join(th, NULL);
    CHECK(stale == 0);

    evq_free(q);
    db_free(d);
    return check_done();
}
