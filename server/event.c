/* event.c — the event queue and its single database writer thread (see
 * event.h). Producers append to a growable array under a mutex; the writer
 * swaps the array out and stores it in one transaction, so a burst of events
 * (three Sentinels reporting a failover) costs one fsync, not dozens. If the
 * database refuses a batch, the writer keeps it and retries rather than drop
 * events. */
#define _POSIX_C_SOURCE 200809L
#include "event.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../db/db.h"
#include "log.h"
#include "utf8.h"

struct evq {
    db *d;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    hp_event *items;
    int n, cap;
    hp_failover *fitems; /* failover records, stored after the events */
    int nf, fcap;
    uint64_t pushed, stored; /* counters for evq_flush */
    evq_hook_fn *hook;
    void *hook_ctx;
    int stop;
};

/* Every text field made valid UTF-8: names, node addresses and messages
 * come from Sentinel and Redis, which take any bytes, and one bad byte in
 * the history would make every JSON page that shows the event invalid. */
static void fix_event(hp_event *e)
{
    utf8_fix_str(e->cluster);
    utf8_fix_str(e->type);
    utf8_fix_str(e->severity);
    utf8_fix_str(e->source);
    utf8_fix_str(e->node);
    utf8_fix_str(e->message);
    utf8_fix_str(e->details); /* '?' for a bad byte keeps the JSON text JSON */
}

static void fix_failover(hp_failover *f)
{
    utf8_fix_str(f->cluster);
    utf8_fix_str(f->kind);
    utf8_fix_str(f->old_master);
    utf8_fix_str(f->new_master);
    utf8_fix_str(f->status);
    utf8_fix_str(f->actor);
    utf8_fix_str(f->reason);
}

void hp_event_set(hp_event *e, const char *cluster, const char *type, const char *severity,
                  const char *source, const char *node, const char *message)
{
    memset(e, 0, sizeof(*e));
    e->ts = hp_now_ms();
    hp_strlcpy(e->cluster, cluster ? cluster : "", sizeof(e->cluster));
    hp_strlcpy(e->type, type ? type : "", sizeof(e->type));
    hp_strlcpy(e->severity, severity ? severity : "info", sizeof(e->severity));
    hp_strlcpy(e->source, source ? source : "", sizeof(e->source));
    hp_strlcpy(e->node, node ? node : "", sizeof(e->node));
    hp_strlcpy(e->message, message ? message : "", sizeof(e->message));
    hp_strlcpy(e->details, "{}", sizeof(e->details));
    fix_event(e);
}

#define FAILOVER_DEDUP_MS 120000

/* Stores the failover records. An automatic one that is already stored (the
 * Sentinels publish +switch-master one by one, and a restart of hapanel in
 * between forgets what the monitor had seen) is dropped: its id stays 0 and
 * the hook skips it. */
static void store_failovers(evq *q, hp_failover *fs, int nf)
{
    int i;
    for (i = 0; i < nf; i++) {
        hp_failover *f = &fs[i];
        f->id = 0;
        if (!strcmp(f->kind, "automatic") &&
            db_failover_seen(q->d, f->cluster, f->old_master, f->new_master,
                             f->ended_at - FAILOVER_DEDUP_MS) == 1)
            continue;
        if (db_insert_failover(q->d, f) < 0)
            log_error("events: failover record of %s could not be stored", f->cluster);
    }
}

static void opt_num(cJSON *o, const char *k, int64_t v)
{
    if (v >= 0)
        cJSON_AddNumberToObject(o, k, (double)v);
    else
        cJSON_AddNullToObject(o, k);
}

cJSON *hp_failover_json(const hp_failover *f)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)f->id);
    cJSON_AddStringToObject(o, "cluster", f->cluster);
    cJSON_AddStringToObject(o, "kind", f->kind);
    cJSON_AddStringToObject(o, "old_master", f->old_master);
    cJSON_AddStringToObject(o, "new_master", f->new_master);
    cJSON_AddNumberToObject(o, "started_at", (double)f->started_at);
    opt_num(o, "ended_at", f->ended_at);
    opt_num(o, "duration_ms", f->duration_ms);
    opt_num(o, "writes_paused_ms", f->writes_paused_ms);
    opt_num(o, "job_id", f->job_id > 0 ? f->job_id : -1);
    cJSON_AddStringToObject(o, "status", f->status);
    cJSON_AddStringToObject(o, "actor", f->actor);
    cJSON_AddStringToObject(o, "reason", f->reason);
    return o;
}

static void *writer_main(void *arg)
{
    evq *q = arg;
    hp_event *batch = NULL;
    hp_failover *fbatch = NULL;
    int n = 0, nf = 0, failures = 0;

    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!q->n && !q->nf && !q->stop) pthread_cond_wait(&q->wake, &q->lock);
        if (!q->n && !q->nf && q->stop) break;
        batch = q->items;
        n = q->n;
        q->items = NULL;
        q->n = q->cap = 0;
        fbatch = q->fitems;
        nf = q->nf;
        q->fitems = NULL;
        q->nf = q->fcap = 0;
        pthread_mutex_unlock(&q->lock);

        store_failovers(q, fbatch, nf);
        while (n > 0 && db_insert_events(q->d, batch, n) < 0) {
            struct timespec ts = {0, 200 * 1000 * 1000};
            if (failures++ % 50 == 0) log_error("events: storing %d events failed; retrying", n);
            nanosleep(&ts, NULL);
            if (failures > 300) { /* a minute: the disk is gone, keep the process alive */
                log_error("events: dropped %d events after repeated failures", n);
                break;
            }
        }
        failures = 0;
        if (q->hook && (n || nf)) q->hook(q->hook_ctx, batch, n, fbatch, nf);
        free(fbatch);
        free(batch);
        batch = NULL;

        pthread_mutex_lock(&q->lock);
        q->stored += (uint64_t)(n + nf);
        pthread_cond_broadcast(&q->done);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

evq *evq_new(db *d)
{
    evq *q = calloc(1, sizeof(*q));
    if (!q) return NULL;
    q->d = d;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->wake, NULL);
    pthread_cond_init(&q->done, NULL);
    if (pthread_create(&q->thread, NULL, writer_main, q) != 0) {
        pthread_mutex_destroy(&q->lock);
        pthread_cond_destroy(&q->wake);
        pthread_cond_destroy(&q->done);
        free(q);
        return NULL;
    }
    return q;
}

void evq_push(evq *q, const hp_event *e)
{
    pthread_mutex_lock(&q->lock);
    if (q->n == q->cap) {
        int cap = q->cap ? q->cap * 2 : 64;
        hp_event *ni = realloc(q->items, sizeof(*ni) * (size_t)cap);
        if (!ni) {
            pthread_mutex_unlock(&q->lock);
            log_error("events: out of memory, event %s lost", e->type);
            return;
        }
        q->items = ni;
        q->cap = cap;
    }
    q->items[q->n] = *e;
    /* again: callers fill details (and may touch fields) after hp_event_set */
    fix_event(&q->items[q->n++]);
    q->pushed++;
    pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&q->lock);
}

void evq_push_failover(evq *q, const hp_failover *f)
{
    pthread_mutex_lock(&q->lock);
    if (q->nf == q->fcap) {
        int cap = q->fcap ? q->fcap * 2 : 8;
        hp_failover *ni = realloc(q->fitems, sizeof(*ni) * (size_t)cap);
        if (!ni) {
            pthread_mutex_unlock(&q->lock);
            log_error("events: out of memory, failover record of %s lost", f->cluster);
            return;
        }
        q->fitems = ni;
        q->fcap = cap;
    }
    q->fitems[q->nf] = *f;
    fix_failover(&q->fitems[q->nf++]);
    q->pushed++;
    pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&q->lock);
}

void evq_set_hook(evq *q, evq_hook_fn *fn, void *ctx)
{
    pthread_mutex_lock(&q->lock);
    q->hook = fn;
    q->hook_ctx = ctx;
    pthread_mutex_unlock(&q->lock);
}

void evq_flush(evq *q)
{
    uint64_t target;
    pthread_mutex_lock(&q->lock);
    target = q->pushed;
    while (q->stored < target) pthread_cond_wait(&q->done, &q->lock);
    pthread_mutex_unlock(&q->lock);
}

void evq_free(evq *q)
{
    if (!q) return;
    pthread_mutex_lock(&q->lock);
    q->stop = 1;
    pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&q->lock);
    pthread_join(q->thread, NULL);
    free(q->items);
    free(q->fitems);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->wake);
    pthread_cond_destroy(&q->done);
    free(q);
}
