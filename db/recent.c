/* recent.c — what the live dashboard shows of each cluster's history, kept in
 * memory (see db.h): its latest events and jobs, its active alerts and its
 * newest backups. A set is read from SQL the first time it is asked for, and
 * again only after the writer stored a change to it: the writer marks the
 * cluster's kind inside its transaction (db__recent_mark) and bumps its
 * version once the transaction committed (db__recent_commit). So a refresh
 * without a change runs no SQL, whatever the size of the history, and a set
 * is never newer or older than the table: it is the table's own answer,
 * kept until the table changes.
 *
 * Why not rows pushed by the writer into rings: the rows the page shows
 * change in place (a job's steps, an alert acknowledged or resolved, a backup
 * deleted by retention), and a ring edited beside the table could drift from
 * it; reading the table again once per change cannot.
 *
 * Ordering: a reader reads the version, then runs the SQL, both under the
 * lock; the writer bumps after COMMIT under the same lock. A fill that ran
 * before the commit therefore keeps the old version and is read again on the
 * next request. */
#define _POSIX_C_SOURCE 200809L
#include "db/internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/common.h"
#include "core/banned.h" /* last: after every system header */

#define RECENT_BUCKETS 1024 /* a power of two */

enum { RK_EVENTS, RK_JOBS, RK_ALERTS, RK_BACKUPS, RK_N };

typedef struct rset {
    void *rows; /* of the kind's row type */
    int n, cap;
    int limit;       /* the limit it was read with */
    uint64_t filled; /* the version it was read at; valid when filled == version + 1 */
} rset;

typedef struct rcluster {
    char name[HP_NAME_MAX];
    uint64_t version[RK_N];
    rset set[RK_N];
    int pending; /* DB_RECENT_* marked in the writer's open transaction */
    struct rcluster *next, *next_dirty;
} rcluster;

struct db_recent {
    pthread_mutex_t lock;
    rcluster *bucket[RECENT_BUCKETS];
    rcluster *dirty;
    uint64_t fills;   /* sets read from the table, since the start */
    uint64_t changes; /* commits that changed a set */
};

static const size_t row_size[RK_N] = {sizeof(hp_event), sizeof(db_job_row), sizeof(alert_row),
                                      sizeof(hp_backup)};

static unsigned hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h & (RECENT_BUCKETS - 1);
}

/* The cluster's entry, created when missing (NULL only out of memory). */
static rcluster *entry(db_recent *r, const char *name)
{
    unsigned h = hash(name);
    rcluster *c;
    for (c = r->bucket[h]; c; c = c->next)
        if (!strcmp(c->name, name)) return c;
    c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    hp_strlcpy(c->name, name, sizeof(c->name));
    c->next = r->bucket[h];
    r->bucket[h] = c;
    return c;
}

static void clear_rows(rset *s, int kind)
{
    int i;
    if (kind == RK_JOBS)
        for (i = 0; i < s->n; i++)
            db_job_row_release(&((db_job_row *)s->rows)[i]);
    s->n = 0;
}

db_recent *db__recent_new(void)
{
    db_recent *r = calloc(1, sizeof(*r));
    if (r) pthread_mutex_init(&r->lock, NULL);
    return r;
}

void db__recent_free(db_recent *r)
{
    int i, k;
    if (!r) return;
    for (i = 0; i < RECENT_BUCKETS; i++) {
        rcluster *c = r->bucket[i], *next;
        for (; c; c = next) {
            next = c->next;
            for (k = 0; k < RK_N; k++) {
                clear_rows(&c->set[k], k);
                free(c->set[k].rows);
            }
            free(c);
        }
    }
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* ------------------------------------------------------------------ writer */

static void mark(db_recent *r, rcluster *c, int kinds)
{
    if (!c) return;
    if (!c->pending) {
        c->next_dirty = r->dirty;
        r->dirty = c;
    }
    c->pending |= kinds;
}

void db__recent_mark(db *d, const char *cluster, int kinds)
{
    db_recent *r = d->recent;
    pthread_mutex_lock(&r->lock);
    mark(r, entry(r, cluster ? cluster : ""), kinds);
    pthread_mutex_unlock(&r->lock);
}

/* The clusters whose set of kind holds a row of that id: a job saved or an
 * alert acknowledged changes only the sets that show it (one not read yet
 * will read the table as it is). */
static void mark_id(db *d, int kind, int64_t id)
{
    db_recent *r = d->recent;
    int i, k;
    pthread_mutex_lock(&r->lock);
    for (i = 0; i < RECENT_BUCKETS; i++) {
        rcluster *c;
        for (c = r->bucket[i]; c; c = c->next) {
            const rset *s = &c->set[kind];
            for (k = 0; k < s->n; k++) {
                const char *row = (const char *)s->rows + row_size[kind] * (size_t)k;
                int64_t rid =
                    kind == RK_JOBS ? ((const db_job_row *)row)->id : ((const alert_row *)row)->id;
                if (rid == id) {
                    mark(r, c, 1 << kind);
                    break;
                }
            }
        }
    }
    pthread_mutex_unlock(&r->lock);
}

void db__recent_mark_job(db *d, int64_t id)
{
    mark_id(d, RK_JOBS, id);
}

void db__recent_mark_alert(db *d, int64_t id)
{
    mark_id(d, RK_ALERTS, id);
}

void db__recent_commit(db *d)
{
    db_recent *r = d->recent;
    rcluster *c, *next;
    int k;
    pthread_mutex_lock(&r->lock);
    if (r->dirty) r->changes++;
    for (c = r->dirty; c; c = next) {
        next = c->next_dirty;
        for (k = 0; k < RK_N; k++)
            if (c->pending & (1 << k)) c->version[k]++;
        c->pending = 0;
        c->next_dirty = NULL;
    }
    r->dirty = NULL;
    pthread_mutex_unlock(&r->lock);
}

/* ----------------------------------------------------------------- readers */

typedef struct collect {
    rset *s;
    int kind, failed;
} collect;

static void *slot(collect *k)
{
    rset *s = k->s;
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 4;
        void *n = realloc(s->rows, row_size[k->kind] * (size_t)cap);
        if (!n) {
            k->failed = 1;
            return NULL;
        }
        s->rows = n;
        s->cap = cap;
    }
    return (char *)s->rows + row_size[k->kind] * (size_t)s->n++;
}

static void keep_event(void *ctx, const hp_event *e)
{
    hp_event *p = slot(ctx);
    if (p) *p = *e;
}

static char *dup_text(collect *k, const char *t)
{
    char *p;
    if (!t) return NULL;
    p = strdup(t);
    if (!p) k->failed = 1;
    return p;
}

static void keep_job(void *ctx, const db_job_row *j)
{
    collect *k = ctx;
    db_job_row *p = slot(k);
    if (!p) return;
    *p = *j;
    p->params = dup_text(k, j->params);
    p->steps = dup_text(k, j->steps);
    p->error = dup_text(k, j->error);
    p->result = dup_text(k, j->result);
    p->undo = dup_text(k, j->undo);
}

static void keep_alert(void *ctx, const alert_row *a)
{
    alert_row *p = slot(ctx);
    if (p) *p = *a;
}

static void keep_backup(void *ctx, const hp_backup *b)
{
    hp_backup *p = slot(ctx);
    if (p) *p = *b;
}

static int fill(db *d, const char *cluster, int kind, int limit, rset *s)
{
    collect k = {s, kind, 0};
    event_query q;
    int n = -1;

    clear_rows(s, kind);
    switch (kind) {
    case RK_EVENTS:
        memset(&q, 0, sizeof(q));
        q.cluster = cluster;
        q.limit = limit;
        n = db_query_events(d, &q, keep_event, &k);
        break;
    case RK_JOBS:
        n = db_query_jobs(d, cluster, 0, 0, limit, keep_job, &k);
        break;
    case RK_ALERTS:
        n = db_query_alerts(d, 1, cluster, 0, limit, keep_alert, &k);
        break;
    case RK_BACKUPS:
        n = db_query_backups(d, cluster, limit, keep_backup, &k);
        break;
    default:
        break;
    }
    if (n < 0 || k.failed) {
        clear_rows(s, kind);
        return -1;
    }
    s->limit = limit;
    return 0;
}

uint64_t db__recent_fills(db *d)
{
    uint64_t n;
    pthread_mutex_lock(&d->recent->lock);
    n = d->recent->fills;
    pthread_mutex_unlock(&d->recent->lock);
    return n;
}

/* Calls fn for the first limit rows of the cluster's set of kind, reading
 * the table first when the set changed since it was read. Returns the number
 * of rows, or -1. */
static int visit(db *d, const char *cluster, int kind, int limit, rd_fn fn, void *ctx)
{
    db_recent *r = d->recent;
    rcluster *c;
    rset *s;
    int i, n;

    if (limit > DB_RECENT_MAX) limit = DB_RECENT_MAX;
    pthread_mutex_lock(&r->lock);
    c = entry(r, cluster);
    if (!c) {
        pthread_mutex_unlock(&r->lock);
        return -1;
    }
    s = &c->set[kind];
    /* valid: read at the current version, with enough rows (a set read with a
     * smaller limit that came back full may miss some) */
    if (s->filled != c->version[kind] + 1 || (s->limit < limit && s->n == s->limit)) {
        if (fill(d, cluster, kind, limit > s->limit ? limit : s->limit, s) < 0) {
            s->filled = 0;
            pthread_mutex_unlock(&r->lock);
            return -1;
        }
        s->filled = c->version[kind] + 1;
        r->fills++;
    }
    n = s->n < limit ? s->n : limit;
    for (i = 0; i < n; i++) {
        const void *row = (const char *)s->rows + row_size[kind] * (size_t)i;
        switch (kind) {
        case RK_EVENTS:
            ((db_event_fn *)fn)(ctx, row);
            break;
        case RK_JOBS:
            ((db_job_fn *)fn)(ctx, row);
            break;
        case RK_ALERTS:
            ((db_alert_fn *)fn)(ctx, row);
            break;
        default:
            ((db_backup_fn *)fn)(ctx, row);
            break;
        }
    }
    pthread_mutex_unlock(&r->lock);
    return n;
}

int db_recent_events(db *d, const char *cluster, int limit, db_event_fn *fn, void *ctx)
{
    return visit(d, cluster, RK_EVENTS, limit, (rd_fn)fn, ctx);
}

int db_recent_jobs(db *d, const char *cluster, int limit, db_job_fn *fn, void *ctx)
{
    return visit(d, cluster, RK_JOBS, limit, (rd_fn)fn, ctx);
}

int db_recent_alerts(db *d, const char *cluster, int limit, db_alert_fn *fn, void *ctx)
{
    return visit(d, cluster, RK_ALERTS, limit, (rd_fn)fn, ctx);
}

int db_recent_backups(db *d, const char *cluster, int limit, db_backup_fn *fn, void *ctx)
{
    return visit(d, cluster, RK_BACKUPS, limit, (rd_fn)fn, ctx);
}

uint64_t db_recent_version(db *d, const char *cluster)
{
    db_recent *r = d->recent;
    rcluster *c;
    uint64_t v = 0;
    int k;
    pthread_mutex_lock(&r->lock);
    c = cluster ? entry(r, cluster) : NULL;
    if (!cluster) v = r->changes;
    if (c)
        for (k = 0; k < RK_N; k++)
            v += c->version[k];
    pthread_mutex_unlock(&r->lock);
    return v;
}
