/* test_db_queue.c — the writer's queue is bounded: with the writer held
 * (its hook blocks on the first batch), a flood of events like each other
 * is coalesced into one row with a count, a flood of distinct events past the
 * bound is dropped and counted, and the writer then stores one events-dropped
 * event that opens the events_dropped alert. Nothing else is lost. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "db/db.h"
#include "db/writer.h"

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int held, released;

/* The first batch holds the writer until the test releases it. */
static void hook(void *ctx, const hp_event *evs, int n, const hp_failover *fs, int nf)
{
    (void)ctx, (void)evs, (void)n, (void)fs, (void)nf;
    pthread_mutex_lock(&gate_lock);
    if (!held) {
        held = 1;
        pthread_cond_broadcast(&gate_cond);
        while (!released)
            pthread_cond_wait(&gate_cond, &gate_lock);
    }
    pthread_mutex_unlock(&gate_lock);
}

static long long scalar(sqlite3 *c, const char *sql)
{
    sqlite3_stmt *st;
    long long v = -1;
    if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) != SQLITE_OK) return -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

int main(void)
{
    char dir[] = "/tmp/hapanel-queue-XXXXXX", path[256], err[256], node[32];
    hp_event e;
    sqlite3 *c;
    db *d;
    evq *q;
    int i;

    CHECK(mkdtemp(dir) != NULL);
    d = db_open(dir, err, sizeof(err));
    CHECK(d != NULL);
    if (!d) return check_done();
    q = evq_new(d);
    CHECK(q != NULL);
    if (!q) return check_done();
    evq_set_hook(q, hook, NULL);
    evq__set_dropped_clear_ms(q, 60000);

    hp_event_set(&e, EV_SENTINEL, "c", "gate", "info", "sentinel", "n", "holds the writer");
    evq_push(q, &e);
    pthread_mutex_lock(&gate_lock);
    while (!held)
        pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);

    /* 1,500 like events in one second: 1,000 queue as they are, the rest are
     * one row counting 500. */
    hp_event_set(&e, EV_SENTINEL, "c", "+sdown", "warning", "sentinel", "10.0.0.1:6379", "same");
    e.ts = e.ts / 1000 * 1000;
    for (i = 0; i < 1500; i++)
        evq_push(q, &e);
    /* 25,000 distinct ones: the queue takes them up to 20,000 queued, the
     * other 6,001 are dropped. */
    for (i = 0; i < 25000; i++) {
        snprintf(node, sizeof(node), "10.1.%d.%d:6379", i / 250, i % 250);
        hp_event_set(&e, EV_SENTINEL, "c", "+sdown", "warning", "sentinel", node, "distinct");
        evq_push(q, &e);
    }
    CHECK(evq_dropped(q) == 6001);

    pthread_mutex_lock(&gate_lock);
    released = 1;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
    evq_flush(q);

    snprintf(path, sizeof(path), "%s/hapanel.db", dir);
    CHECK(sqlite3_open_v2(path, &c, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    /* gate + 1,000 + the coalesced row + 18,999 distinct + events-dropped */
    CHECK(scalar(c, "SELECT count(*) FROM events") == 20002);
    CHECK(scalar(c, "SELECT count(*) FROM events WHERE message='same'") == 1001);
    CHECK(scalar(c, "SELECT json_extract(details,'$.count') FROM events WHERE message='same' "
                    "AND json_extract(details,'$.count') IS NOT NULL") == 500);
    CHECK(scalar(c, "SELECT count(*) FROM events WHERE message='same' AND "
                    "json_extract(details,'$.count') IS NULL") == 1000);
    CHECK(scalar(c, "SELECT count(*) FROM events WHERE message='distinct'") == 18999);
    CHECK(scalar(c, "SELECT json_extract(details,'$.count') FROM events "
                    "WHERE type='events-dropped'") == 6001);
    CHECK(scalar(c, "SELECT count(*) FROM alerts WHERE rule='events_dropped' AND "
                    "resolved_at IS NULL") == 1);
    /* the ids keep the push order: the events-dropped row comes last */
    CHECK(scalar(c, "SELECT type='events-dropped' FROM events ORDER BY id DESC LIMIT 1") == 1);
    sqlite3_close(c);

    /* after the flood, events queue as they are again */
    hp_event_set(&e, EV_SENTINEL, "c", "+odown", "critical", "sentinel", "10.0.0.1:6379", "after");
    evq_push(q, &e);
    evq_push(q, &e);
    evq_flush(q);
    CHECK(sqlite3_open_v2(path, &c, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK(scalar(c, "SELECT count(*) FROM events WHERE message='after'") == 2);
    sqlite3_close(c);

    /* with no drop for the clear time the alert resolves by itself, once */
    evq__set_dropped_clear_ms(q, 300);
    for (i = 0; i < 50; i++) {
        long long open;
        usleep(100 * 1000);
        CHECK(sqlite3_open_v2(path, &c, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
        open = scalar(c, "SELECT count(*) FROM alerts WHERE rule='events_dropped' AND "
                         "resolved_at IS NULL");
        sqlite3_close(c);
        if (open == 0) break;
    }
    CHECK(i < 50);
    usleep(500 * 1000);
    CHECK(sqlite3_open_v2(path, &c, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK(scalar(c, "SELECT count(*) FROM events WHERE type='alert-resolved'") == 1);
    CHECK(scalar(c, "SELECT count(*) FROM alerts WHERE rule='events_dropped'") == 1);
    sqlite3_close(c);
    /* the resolve was counted as pushed: a flush still waits for what follows */
    evq_push(q, &e);
    evq_flush(q);
    CHECK(sqlite3_open_v2(path, &c, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK(scalar(c, "SELECT count(*) FROM events WHERE message='after'") == 3);
    sqlite3_close(c);

    evq_free(q);
    db_free(d);
    return check_done();
}
