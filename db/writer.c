/* writer.c — the writer thread and its queue (see writer.h). Producers
 * append operations to one list under a mutex; the writer swaps the list out
 * and runs it in one transaction; those who wait for their operation are
 * woken once it is committed. */
#define _POSIX_C_SOURCE 200809L
#include "db/writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/utf8.h"
#include "db/internal.h"
#include "db/backup_remote.h"
#include "db/backup_restore.h"
#include "db/drills.h"
#include "db/maintenance.h"
#include "model/alerts.h"
#include "core/banned.h" /* last: after every system header */

#define FAILOVER_DEDUP_MS 120000
#define RETRY_LIMIT 300 /* 200 ms apart: a minute, then the batch is dropped */
#define TS_SLACK_MS 60000
/* The queue's bound: past COALESCE_AT queued events, one like a queued one
 * (same kind, cluster, type and node, same second) only counts on it; past
 * QUEUE_BOUND an event is dropped, counted, and the writer records one
 * events-dropped event, which opens an alert. */
#define COALESCE_AT 1000
#define QUEUE_BOUND 20000
#define COAL_SLOTS 4096        /* a power of two */
#define DROPPED_CLEAR_MS 60000 /* the events_dropped alert resolves after this without drops */

enum { OP_EVENT, OP_FAILOVER, OP_CALL };

typedef struct op op;
/* An operation's work, on the writer thread inside the batch's transaction. */
typedef int64_t op_fn(evq *q, op *o);

struct op {
    int type;
    hp_event ev;          /* OP_EVENT */
    hp_failover fo;       /* OP_FAILOVER */
    op_fn *fn;            /* OP_CALL */
    const void *in;       /* its input, owned by a waiting caller */
    void *own;            /* or by the op (freed with it) */
    void (*after)(op *o); /* after the commit (a file to remove) */
    int64_t result;
    int waited, done;
    op *next;
};

struct evq {
    db *d;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    op *head, *tail;
    uint64_t pushed, stored; /* for evq_flush */
    evq_hook_fn *hook;
    void *hook_ctx;
    int stop;
    int64_t last_ts;        /* of the last event stored */
    int nqueued;            /* events queued, not yet taken by the writer */
    int nsamples;           /* samples queued, not yet stored (evq_push_samples) */
    op *coal[COAL_SLOTS];   /* queued events by key, once past COALESCE_AT */
    uint64_t dropped;       /* dropped since the last events-dropped event */
    uint64_t dropped_total; /* since the start */
    uint64_t written;       /* events committed since the start (atomic) */
    int64_t last_drop_ms;   /* monotonic; 0 when the events_dropped alert is clear */
    int64_t clear_ms;       /* DROPPED_CLEAR_MS (tests shorten it) */
    /* the batch being stored, handed to the hook */
    hp_event *evs;
    int nev, evcap;
    hp_failover *fos;
    int nfo, focap;
};

/* ------------------------------------------------------------------ storing */

static int keep_event(evq *q, const hp_event *e)
{
    if (q->nev == q->evcap) {
        int cap = q->evcap ? q->evcap * 2 : 64;
        hp_event *n = realloc(q->evs, sizeof(*n) * (size_t)cap);
        if (!n) return -1;
        q->evs = n;
        q->evcap = cap;
    }
    q->evs[q->nev++] = *e;
    return 0;
}

/* Stores e and applies the alert rows it opens or resolves. */
static int store_event(evq *q, hp_event *e)
{
    ev_alert ch[EV_MAX_ALERTS];
    int i, n;

    /* ts never goes back in id order (a producer's clock read can lag the
     * writer's order by a few ms): the history's time filters rely on it to
     * turn a window into an id range. A clock stepped back further restarts
     * the sequence. */
    if (e->ts < q->last_ts && q->last_ts - e->ts < TS_SLACK_MS) e->ts = q->last_ts;
    q->last_ts = e->ts;
    hp_event_render_details(e); /* here, once: a coalesced event's count is final */
    if (db__insert_events(q->d, e, 1) < 0) return -1;
    n = alerts_of_event(e, ch);
    db__recent_mark(q->d, e->cluster, DB_RECENT_EVENTS | (n ? DB_RECENT_ALERTS : 0));
    for (i = 0; i < n; i++) {
        if (ch[i].open) {
            alert_row a;
            memset(&a, 0, sizeof(a));
            hp_strlcpy(a.cluster, e->cluster, sizeof(a.cluster));
            hp_strlcpy(a.rule, ch[i].rule, sizeof(a.rule));
            hp_strlcpy(a.node, ch[i].node, sizeof(a.node));
            hp_strlcpy(a.severity, e->kind == EV_ALERT_FIRED ? e->severity : "warning",
                       sizeof(a.severity));
            hp_strlcpy(a.message, e->message, sizeof(a.message));
            /* the alert started when its condition began, before the hold */
            a.started_at =
                e->kind == EV_ALERT_FIRED && e->since > 0 && e->since <= e->ts ? e->since : e->ts;
            a.fired_at = e->ts;
            ch[i].id = db__alert_open(q->d, &a, &ch[i].changed);
        } else {
            ch[i].id = db__alert_resolve(q->d, e->cluster, ch[i].rule, ch[i].node, e->ts);
            ch[i].changed = ch[i].id > 0;
        }
        if (ch[i].id < 0) return -1;
    }
    memcpy(e->alerts, ch, sizeof(ch[0]) * (size_t)n);
    e->nalerts = n;
    return keep_event(q, e);
}

static int store_failover(evq *q, hp_failover *f)
{
    f->id = 0;
    /* A late copy of a switch stored before a restart (another Sentinel
     * publishing it up to seconds after the first): dropped, unless the
     * monitor watched the old master lead until this switch. That one is new
     * however alike: a panel that missed B -> A while down must not take the
     * next A -> B for the A -> B it stored (bench/ha_bench.py found it, as a
     * page nobody got; it_failover_repeat_restart). */
    if (!strcmp(f->kind, "automatic") && !f->watched &&
        db_failover_seen(q->d, f->cluster, f->old_master, f->new_master,
                         f->ended_at - FAILOVER_DEDUP_MS) == 1)
        return 0;
    if (db__insert_failover(q->d, f) < 0) return -1;
    if (q->nfo == q->focap) {
        int cap = q->focap ? q->focap * 2 : 8;
        hp_failover *n = realloc(q->fos, sizeof(*n) * (size_t)cap);
        if (!n) return -1;
        q->fos = n;
        q->focap = cap;
    }
    q->fos[q->nfo++] = *f;
    return 0;
}

/* Runs the list in one transaction. 0, or -1 after a ROLLBACK. */
static int run_batch(evq *q, op *list)
{
    char err[256];
    op *o;

    q->nev = q->nfo = 0;
    if (db__exec(q->d->w, "BEGIN IMMEDIATE", err, sizeof(err)) < 0) return -1;
    for (o = list; o; o = o->next) {
        int rc = 0;
        if (o->type == OP_EVENT)
            rc = store_event(q, &o->ev);
        else if (o->type == OP_FAILOVER)
            rc = store_failover(q, &o->fo);
        else
            o->result = o->fn(q, o); /* a call's own failure is its answer, not the batch's */
        if (rc < 0) goto fail;
    }
    if (db__exec(q->d->w, "COMMIT", err, sizeof(err)) < 0) goto fail;
    db__recent_commit(q->d);
    return 0;
fail:
    sqlite3_exec(q->d->w, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

/* Appends to the batch the events-dropped event for what the full queue
 * dropped (it opens an alert), or, with dropped 0, the alert-resolved that
 * closes it a minute after the last drop. */
static op *with_dropped(evq *q, op *list, uint64_t dropped)
{
    op *o = calloc(1, sizeof(*o)), *t;
    char msg[200];
    if (!o) return list;
    o->type = OP_EVENT;
    if (dropped) {
        snprintf(msg, sizeof(msg),
                 "%llu events dropped: the history's queue was full (%d events queued); a flood "
                 "is coalesced first, one row per node, type and second",
                 (unsigned long long)dropped, QUEUE_BOUND);
        hp_event_set(&o->ev, EV_EVENTS_DROPPED, "", "events-dropped", "warning", "panel", NULL,
                     msg);
        o->ev.count = (int)(dropped > 0x7fffffff ? 0x7fffffff : dropped);
        q->last_drop_ms = hp_mono_ms();
    } else {
        hp_event_set(&o->ev, EV_ALERT_RESOLVED, "", "alert-resolved", "warning", "panel", NULL,
                     "no event dropped for a minute");
        hp_strlcpy(o->ev.rule, "events_dropped", sizeof(o->ev.rule));
        q->last_drop_ms = 0;
    }
    for (t = list; t && t->next; t = t->next)
        ;
    if (t)
        t->next = o;
    else
        list = o;
    pthread_mutex_lock(&q->lock);
    q->pushed++; /* stored counts it: so must pushed, or a flush returns early */
    pthread_mutex_unlock(&q->lock);
    return list;
}

/* The ms until the events_dropped alert is due to resolve: 0 now, -1 it is
 * not open. */
static int64_t clear_in(const evq *q)
{
    int64_t left;
    if (!q->last_drop_ms) return -1;
    left = q->last_drop_ms + q->clear_ms - hp_mono_ms();
    return left > 0 ? left : 0;
}

static void *writer_main(void *arg)
{
    evq *q = arg;
    op *list, *o, *next;
    uint64_t count, dropped;
    int failures;

    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!q->head && !q->stop && !q->dropped && clear_in(q) != 0) {
            int64_t left = clear_in(q);
            if (left > 0) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_sec += left / 1000;
                ts.tv_nsec += (left % 1000) * 1000000;
                if (ts.tv_nsec >= 1000000000) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&q->wake, &q->lock, &ts);
            } else {
                pthread_cond_wait(&q->wake, &q->lock);
            }
        }
        if (!q->head && q->stop) break;
        list = q->head;
        q->head = q->tail = NULL;
        q->nqueued = 0;
        q->nsamples = 0; /* taken: the bound counts the samples still waiting */
        memset(q->coal, 0, sizeof(q->coal));
        dropped = q->dropped;
        q->dropped = 0;
        pthread_mutex_unlock(&q->lock);
        for (o = list; o; o = o->next) /* the monitor's (a Sentinel's lost events) too */
            if (o->type == OP_EVENT && o->ev.kind == EV_EVENTS_DROPPED)
                q->last_drop_ms = hp_mono_ms();
        if (dropped)
            list = with_dropped(q, list, dropped);
        else if (clear_in(q) == 0) /* no drop for clear_ms: the alert resolves */
            list = with_dropped(q, list, 0);

        for (failures = 0; run_batch(q, list) < 0; failures++) {
            struct timespec ts = {0, 200 * 1000 * 1000};
            if (failures % 50 == 0) log_error("writer: storing a batch failed; retrying");
            if (failures == RETRY_LIMIT) { /* the disk is gone: keep the process alive */
                log_error("writer: a batch dropped after repeated failures");
                for (o = list; o; o = o->next)
                    o->result = -1;
                q->nev = q->nfo = 0;
                break;
            }
            nanosleep(&ts, NULL);
        }
        /* q->nev: the events the committed batch stored (0 when dropped) */
        __atomic_add_fetch(&q->written, (uint64_t)q->nev, __ATOMIC_RELAXED);
        for (o = list; o; o = o->next)
            if (o->after) o->after(o);
        if (q->hook && (q->nev || q->nfo)) q->hook(q->hook_ctx, q->evs, q->nev, q->fos, q->nfo);

        pthread_mutex_lock(&q->lock);
        for (count = 0, o = list; o; o = next) {
            next = o->next;
            count++;
            if (o->waited) {
                o->done = 1; /* the waiter owns it */
            } else {
                free(o->own);
                free(o);
            }
        }
        q->stored += count;
        pthread_cond_broadcast(&q->done);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

/* ---------------------------------------------------------------- queueing */

static void append(evq *q, op *o)
{
    o->next = NULL;
    if (q->tail)
        q->tail->next = o;
    else
        q->head = o;
    q->tail = o;
    q->pushed++;
    pthread_cond_signal(&q->wake);
}

/* Queues o (the caller's) and waits until it is stored; returns its
 * result. On the writer thread itself (the hook) it runs at once, on its
 * own (outside a batch). */
static int64_t run_waiting(evq *q, op *o)
{
    if (pthread_equal(pthread_self(), q->thread)) {
        o->result = o->fn(q, o); /* outside a batch: committed as it returns */
        db__recent_commit(q->d);
        if (o->after) o->after(o);
        return o->result;
    }
    o->waited = 1;
    pthread_mutex_lock(&q->lock);
    append(q, o);
    while (!o->done)
        pthread_cond_wait(&q->done, &q->lock);
    pthread_mutex_unlock(&q->lock);
    return o->result;
}

evq *evq_new(db *d)
{
    evq *q = calloc(1, sizeof(*q));
    if (!q) return NULL;
    q->d = d;
    q->clear_ms = DROPPED_CLEAR_MS;
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

void evq_free(evq *q)
{
    if (!q) return;
    pthread_mutex_lock(&q->lock);
    q->stop = 1;
    pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&q->lock);
    pthread_join(q->thread, NULL);
    free(q->evs);
    free(q->fos);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->wake);
    pthread_cond_destroy(&q->done);
    free(q);
}

static uint64_t event_key(const hp_event *e)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)e->kind ^ ((uint64_t)(e->ts / 1000) << 8);
    const char *parts[3] = {e->cluster, e->type, e->node};
    int i;
    for (i = 0; i < 3; i++) {
        const unsigned char *p = (const unsigned char *)parts[i];
        for (; *p; p++)
            h = (h ^ *p) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL;
    }
    return h;
}

static int same_event(const hp_event *a, const hp_event *b)
{
    return a->kind == b->kind && a->ts / 1000 == b->ts / 1000 && !strcmp(a->type, b->type) &&
           !strcmp(a->cluster, b->cluster) && !strcmp(a->node, b->node);
}

void evq_push(evq *q, const hp_event *e)
{
    op *o;
    size_t slot = (size_t)(event_key(e) & (COAL_SLOTS - 1));
    int coalescing;

    pthread_mutex_lock(&q->lock);
    coalescing = q->nqueued >= COALESCE_AT;
    if (coalescing && q->coal[slot] && same_event(&q->coal[slot]->ev, e)) {
        hp_event *c = &q->coal[slot]->ev;
        c->count = c->count > 1 ? c->count + 1 : 2;
        pthread_mutex_unlock(&q->lock);
        return;
    }
    if (q->nqueued >= QUEUE_BOUND) {
        q->dropped++;
        q->dropped_total++;
        pthread_cond_signal(&q->wake);
        pthread_mutex_unlock(&q->lock);
        return;
    }
    pthread_mutex_unlock(&q->lock);
    o = calloc(1, sizeof(*o));
    if (!o) {
        log_error("writer: out of memory, event %s lost", e->type);
        return;
    }
    o->type = OP_EVENT;
    o->ev = *e;
    hp_event_fix(&o->ev);
    pthread_mutex_lock(&q->lock);
    if (coalescing && !q->coal[slot]) q->coal[slot] = o;
    q->nqueued++;
    append(q, o);
    pthread_mutex_unlock(&q->lock);
}

void evq__set_dropped_clear_ms(evq *q, int64_t ms)
{
    pthread_mutex_lock(&q->lock);
    q->clear_ms = ms;
    pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&q->lock);
}

uint64_t evq_written(evq *q)
{
    return __atomic_load_n(&q->written, __ATOMIC_RELAXED);
}

uint64_t evq_dropped(evq *q)
{
    uint64_t n;
    pthread_mutex_lock(&q->lock);
    n = q->dropped_total;
    pthread_mutex_unlock(&q->lock);
    return n;
}

void evq_push_failover(evq *q, const hp_failover *f)
{
    op *o = calloc(1, sizeof(*o));
    if (!o) {
        log_error("writer: out of memory, failover record of %s lost", f->cluster);
        return;
    }
    o->type = OP_FAILOVER;
    o->fo = *f;
    hp_failover_fix(&o->fo);
    pthread_mutex_lock(&q->lock);
    append(q, o);
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
    while (q->stored < target)
        pthread_cond_wait(&q->done, &q->lock);
    pthread_mutex_unlock(&q->lock);
}

/* ------------------------------------------------------------ other writes */

typedef struct job_in {
    const char *kind, *cluster, *params, *actor, *reason;
    int64_t created_at, run_at;
} job_in;

static int64_t do_job_insert(evq *q, op *o)
{
    const job_in *j = o->in;
    int64_t id = db__job_insert_at(q->d, j->kind, j->cluster, j->params, j->actor, j->reason,
                                   j->created_at, j->run_at);
    if (id > 0) db__recent_mark(q->d, j->cluster, DB_RECENT_JOBS);
    return id;
}

int64_t evq_job_insert(evq *q, const char *kind, const char *cluster, const char *params,
                       const char *actor, const char *reason, int64_t created_at)
{
    return evq_job_insert_at(q, kind, cluster, params, actor, reason, created_at, 0);
}

int64_t evq_job_insert_at(evq *q, const char *kind, const char *cluster, const char *params,
                          const char *actor, const char *reason, int64_t created_at, int64_t run_at)
{
    job_in in = {kind, cluster, params, actor, reason, created_at, run_at};
    op *o = calloc(1, sizeof(*o));
    int64_t id;
    if (!o) return -1;
    o->type = OP_CALL;
    o->fn = do_job_insert;
    o->in = &in;
    id = run_waiting(q, o);
    free(o);
    return id;
}

/* A job save owns copies of its texts (NULL: the column is kept). */
typedef struct job_save {
    int64_t id, started_at, ended_at;
    char *state, *steps, *error, *result, *undo;
    char buf[]; /* the texts, one after the other */
} job_save;

static int64_t do_job_save(evq *q, op *o)
{
    const job_save *s = o->own;
    if (db__job_save(q->d, s->id, s->state, s->steps, s->error, s->result, s->undo, s->started_at,
                     s->ended_at) < 0) {
        log_error("job %lld: cannot store its progress", (long long)s->id);
        return -1;
    }
    db__recent_mark_job(q->d, s->id);
    return 0;
}

static char *put_text(char **at, const char *t)
{
    char *p = *at;
    size_t n;
    if (!t) return NULL;
    n = strlen(t) + 1;
    memcpy(p, t, n);
    *at += n;
    return p;
}

void evq_job_save(evq *q, int64_t id, const char *state, const char *steps, const char *error,
                  const char *result, const char *undo, int64_t started_at, int64_t ended_at)
{
    size_t len = 0;
    const char *texts[5] = {state, steps, error, result, undo};
    job_save *s;
    op *o;
    char *at;
    int i;

    for (i = 0; i < 5; i++)
        len += texts[i] ? strlen(texts[i]) + 1 : 0;
    s = malloc(sizeof(*s) + len);
    o = calloc(1, sizeof(*o));
    if (!s || !o) {
        free(s);
        free(o);
        log_error("job %lld: out of memory, progress not stored", (long long)id);
        return;
    }
    at = s->buf;
    s->id = id;
    s->started_at = started_at;
    s->ended_at = ended_at;
    s->state = put_text(&at, state);
    s->steps = put_text(&at, steps);
    s->error = put_text(&at, error);
    s->result = put_text(&at, result);
    s->undo = put_text(&at, undo);
    o->type = OP_CALL;
    o->fn = do_job_save;
    o->own = s;
    /* Waits: a recipe saves its undo before it makes the change the undo
     * describes, so a crash right after the change still finds it. */
    run_waiting(q, o);
    free(s);
    free(o);
}

static int64_t do_backup_insert(evq *q, op *o)
{
    hp_backup *b = o->own;
    int rc = db__insert_backup(q->d, b);
    if (rc == 0) db__recent_mark(q->d, b->cluster, DB_RECENT_BACKUPS);
    return rc;
}

int evq_backup_insert(evq *q, hp_backup *b)
{
    op *o = calloc(1, sizeof(*o));
    int rc;
    if (!o) return -1;
    o->type = OP_CALL;
    o->fn = do_backup_insert;
    o->own = b; /* the caller's: not freed (waited ops are the caller's) */
    rc = (int)run_waiting(q, o);
    free(o);
    return rc;
}

typedef struct backup_del {
    const hp_backup *b;
    const char *actor;
} backup_del;

static int64_t do_backup_delete(evq *q, op *o)
{
    const backup_del *in = o->in;
    hp_event e;
    char msg[512];

    if (db__delete_backup(q->d, in->b->id) < 0) return -1;
    db__recent_mark(q->d, in->b->cluster, DB_RECENT_BACKUPS);
    snprintf(msg, sizeof(msg), "backup %lld of %s (taken from %s) deleted by %s",
             (long long)in->b->id, in->b->node, in->b->cluster, in->actor);
    hp_event_set(&e, EV_BACKUP_DELETED, in->b->cluster, "backup-deleted", "info", "panel",
                 in->b->node, msg);
    e.job_id = in->b->id;
    hp_event_render_details(&e);
    return store_event(q, &e) < 0 ? -1 : 0;
}

/* After the commit: the row is gone, so is the file. */
static void unlink_backup(op *o)
{
    const backup_del *in = o->in;
    if (o->result == 0 && in->b->path[0] && unlink(in->b->path) < 0 && errno != ENOENT)
        log_warn("backup %lld: cannot remove %s", (long long)in->b->id, in->b->path);
}

int evq_backup_delete(evq *q, const hp_backup *b, const char *actor)
{
    backup_del in = {b, actor ? actor : ""};
    op *o = calloc(1, sizeof(*o));
    int rc;
    if (!o) return -1;
    o->type = OP_CALL;
    o->fn = do_backup_delete;
    o->in = &in;
    o->after = unlink_backup;
    rc = (int)run_waiting(q, o);
    free(o);
    return rc;
}

typedef struct outbox_in {
    const char *channel, *key, *severity, *payload, *text, *last_error, *state;
    const char *gkey, *gstate, *sent_by;
    int64_t id, now, next_at, delivered_at, gat;
    int attempts;
} outbox_in;

static int64_t do_outbox_add(evq *q, op *o)
{
    const outbox_in *in = o->in;
    return db__outbox_add_g(q->d, in->channel, in->key, in->severity, in->payload, in->text,
                            in->now, in->gkey, in->gstate, in->gat);
}

int evq_outbox_add(evq *q, const char *channel, const char *key, const char *severity,
                   const char *payload, const char *text, int64_t now, const char *gkey,
                   const char *gstate, int64_t gat)
{
    outbox_in in;
    op *o = calloc(1, sizeof(*o));
    int rc;
    if (!o) return -1;
    memset(&in, 0, sizeof(in));
    in.channel = channel;
    in.key = key;
    in.severity = severity;
    in.payload = payload;
    in.text = text;
    in.now = now;
    in.gkey = gkey;
    in.gstate = gstate;
    in.gat = gat;
    o->type = OP_CALL;
    o->fn = do_outbox_add;
    o->in = &in;
    rc = (int)run_waiting(q, o);
    free(o);
    return rc;
}

static int64_t do_outbox_mark(evq *q, op *o)
{
    const outbox_in *in = o->in;
    return db__outbox_mark_by(q->d, in->id, in->state, in->attempts, in->next_at, in->last_error,
                              in->delivered_at, in->sent_by);
}

int evq_outbox_mark(evq *q, int64_t id, const char *state, int attempts, int64_t next_at,
                    const char *last_error, int64_t delivered_at, const char *sent_by)
{
    outbox_in in;
    op *o = calloc(1, sizeof(*o));
    int rc;
    if (!o) return -1;
    memset(&in, 0, sizeof(in));
    in.id = id;
    in.state = state;
    in.attempts = attempts;
    in.next_at = next_at;
    in.last_error = last_error;
    in.delivered_at = delivered_at;
    in.sent_by = sent_by;
    o->type = OP_CALL;
    o->fn = do_outbox_mark;
    o->in = &in;
    rc = (int)run_waiting(q, o);
    free(o);
    return rc;
}

typedef struct claimed_in {
    int64_t id, at;
    char by[64];
} claimed_in;

static int64_t do_outbox_claimed(evq *q, op *o)
{
    const claimed_in *in = o->own;
    return db__outbox_claimed(q->d, in->id, in->by, in->at);
}

/* Not waited for: the sender posts at once after its claim (a wider window
 * between the claim and the send helps nobody: a claim is confirmed only
 * after the send, in etcd, which is what survives a crash). */
int evq_outbox_claimed(evq *q, int64_t id, const char *by, int64_t at)
{
    claimed_in *in = calloc(1, sizeof(*in));
    op *o = calloc(1, sizeof(*o));
    if (!in || !o) {
        free(in);
        free(o);
        return -1;
    }
    in->id = id;
    in->at = at;
    snprintf(in->by, sizeof(in->by), "%s", by ? by : "");
    o->type = OP_CALL;
    o->fn = do_outbox_claimed;
    o->own = in; /* freed with the op */
    if (pthread_equal(pthread_self(), q->thread)) {
        o->result = o->fn(q, o);
        db__recent_commit(q->d);
        free(in);
        free(o);
        return 0;
    }
    pthread_mutex_lock(&q->lock);
    append(q, o);
    pthread_mutex_unlock(&q->lock);
    return 0;
}

typedef struct ack_in {
    int64_t id, at;
    const char *who, *comment;
} ack_in;

static int64_t do_alert_ack(evq *q, op *o)
{
    const ack_in *in = o->in;
    int rc = db__alert_ack(q->d, in->id, in->who, in->comment, in->at);
    if (rc > 0) db__recent_mark_alert(q->d, in->id);
    return rc;
}

int evq_alert_ack(evq *q, int64_t id, const char *who, const char *comment, int64_t at)
{
    ack_in in = {id, at, who, comment};
    op *o = calloc(1, sizeof(*o));
    int rc;
    if (!o) return -1;
    o->type = OP_CALL;
    o->fn = do_alert_ack;
    o->in = &in;
    rc = (int)run_waiting(q, o);
    free(o);
    return rc;
}

/* ----------------------------------------------------------------- samples */

#define SAMPLES_BOUND 100000 /* samples waiting at most (a stalled disk) */

typedef struct samples_in {
    int n;
    db_sample s[];
} samples_in;

static int64_t do_samples(evq *q, op *o)
{
    const samples_in *in = o->own;
    return db__samples_store(q->d, in->s, in->n);
}

void evq_push_samples(evq *q, const db_sample *s, int n)
{
    samples_in *in;
    op *o;

    if (n <= 0) return;
    in = malloc(sizeof(*in) + sizeof(in->s[0]) * (size_t)n);
    o = calloc(1, sizeof(*o));
    if (!in || !o) goto drop;
    in->n = n;
    memcpy(in->s, s, sizeof(in->s[0]) * (size_t)n);
    o->type = OP_CALL;
    o->fn = do_samples;
    o->own = in; /* freed with the op */
    pthread_mutex_lock(&q->lock);
    if (q->nsamples + n > SAMPLES_BOUND) { /* the writer is stuck: a gap in the charts */
        pthread_mutex_unlock(&q->lock);
        goto drop;
    }
    q->nsamples += n;
    append(q, o);
    pthread_mutex_unlock(&q->lock);
    return;
drop:
    free(in);
    free(o);
}

typedef struct audit_in {
    audit_rec *a;
    int keep_days;
} audit_in;

static int64_t do_audit(evq *q, op *o)
{
    const audit_in *in = o->in;
    return db__audit_insert(q->d, in->a, in->keep_days);
}

int evq_audit(evq *q, audit_rec *a, int keep_days)
{
    audit_in in = {a, keep_days};
    op *o = calloc(1, sizeof(*o));
    int rc;
    if (!o) return -1;
    o->type = OP_CALL;
    o->fn = do_audit;
    o->in = &in;
    rc = (int)run_waiting(q, o);
    free(o);
    return rc;
}

static int64_t do_maintenance(evq *q, op *o)
{
    return db__maintenance_save(q->d, (hp_maint *)o->in);
}

int evq_maintenance_save(evq *q, hp_maint *m)
{
    op *o = calloc(1, sizeof(*o));
    int rc;
    if (!o) return -1;
    o->type = OP_CALL;
    o->fn = do_maintenance;
    o->in = m;
    rc = (int)run_waiting(q, o);
    free(o);
    return rc;
}

static int64_t do_drill(evq *q, op *o)
{
    return db__drill_save(q->d, (hp_drill *)o->in);
}

int evq_drill_save(evq *q, hp_drill *dr)
{
    op *o = calloc(1, sizeof(*o));
    int rc;
    if (!o) return -1;
    o->type = OP_CALL;
    o->fn = do_drill;
    o->in = dr;
    rc = (int)run_waiting(q, o);
    free(o);
    return rc;
}

static int64_t do_backup_remote(evq *q, op *o)
{
    return db__backup_remote_apply(q->d, (const backup_remote_op *)o->in);
}

int evq_backup_remote(evq *q, const backup_remote_op *bop)
{
    op *o = calloc(1, sizeof(*o));
    int rc;
    if (!o) return -1;
    o->type = OP_CALL;
    o->fn = do_backup_remote;
    o->in = bop;
    rc = (int)run_waiting(q, o);
    free(o);
    return rc;
}

static int64_t do_backup_restore(evq *q, op *o)
{
    return db__backup_restore_apply(q->d, (const backup_restore_op *)o->in);
}

int evq_backup_restore(evq *q, const backup_restore_op *bop)
{
    op *o = calloc(1, sizeof(*o));
    int rc;
    if (!o) return -1;
    o->type = OP_CALL;
    o->fn = do_backup_restore;
    o->in = bop;
    rc = (int)run_waiting(q, o);
    free(o);
    return rc;
}
