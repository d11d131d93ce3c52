/* monitor.c — discovery, polling, pub/sub and snapshot publishing (see
 * monitor.h).
 *
 * State lives in three lists owned by the loop thread: Sentinels (seeds from
 * the configuration plus those the Sentinels name), nodes (masters and
 * replicas the Sentinels or a master's INFO name) and clusters (one per master
 * name). Replies update that state and mark their cluster dirty; a short
 * coalescing timer then rebuilds the dirty clusters' snapshots, diffs each
 * against its predecessor into events, and publishes. A node that hangs only
 * delays its own entry: the others' replies publish without waiting for it.
 *
 * Nothing is freed from inside its own connection's callback: forgotten nodes
 * and Sentinels are removed at the start of a tick. */
#define _POSIX_C_SOURCE 200809L
#include "monitor/monitor.h"

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/alerts.h"
#include "redis/info.h"
#include "core/log.h"
#include "model/promote.h"
#include "redis/rconn.h"
#include "redis/sreply.h"
#include "model/topology.h"

#define FORGET_AFTER_MS 60000 /* drop what no Sentinel has named for this long */
#define PUBLISH_DELAY_MS 20   /* coalesce replies of one poll into one snapshot */
#define MAX_ENTRIES 256       /* entries read from one SENTINEL reply */
#define SWITCH_DUP_MS 60000   /* the Sentinels' +switch-master of one failover come within this */

/* What one Sentinel reports about one master. */
typedef struct sview {
    char name[HP_NAME_MAX];
    char master[HP_ADDR_MAX];
    char flags[96];
    int quorum, num_other_sentinels, num_slaves;
    int failover;
    int64_t seen_ms;
    int64_t down_after_ms, s_down_ms;
    sentinel_entry *reps; /* its last SENTINEL REPLICAS answer, owned */
    int nreps;
    int64_t reps_at_ms;   /* wall time of that answer */
} sview;

typedef struct msentinel {
    monitor *m;
    char addr[HP_ADDR_MAX];
    int seed;
    rconn *conn, *sub;
    int polled, up;
    char error[128];
    int64_t last_ok_ms, seen_ms;
    sview *views;
    int nviews;
    char version[16];
} msentinel;

typedef struct mnode {
    monitor *m;
    char addr[HP_ADDR_MAX];
    char cluster[HP_NAME_MAX];
    rconn *conn;
    int polled, up;
    char error[128];
    int64_t last_ok_ms, seen_ms;
    node_info info;
    char sentinel_flags[64];
    int retried; /* this poll already reconnected once */
} mnode;

typedef struct mcluster {
    char name[HP_NAME_MAX];
    int dirty;
    cluster_snap *last;
    int64_t failover_started; /* wall ms of the first sign of an automatic failover */
    char last_switch[2 * HP_ADDR_MAX + 2]; /* "old>new" of the last +switch-master */
    int64_t last_switch_at;
    int failover_tried;       /* a +try-failover was seen since */
} mcluster;

/* The privdata of a per-master SENTINEL query. */
typedef struct squery {
    msentinel *s;
    char name[HP_NAME_MAX];
} squery;

struct monitor {
    const config *cfg;
    evq *q;
    struct event_base *base;
    struct event *tick, *publish;
    pthread_t thread;
    int running, stopping;
    msentinel **sentinels;
    int nsentinels;
    mnode **nodes;
    int nnodes;
    mcluster **clusters;
    int nclusters;
    /* counters, read by other threads with atomics */
    uint64_t polls, poll_failures, sentinel_events, ticks;
    int64_t sentinel_ok_ms; /* monotonic time any Sentinel last answered */
    int (*busy)(void *ctx, const char *cluster);
    void *busy_ctx;
    alerts *alerts;
};

/* ------------------------------------------------------------------ lookups */

static int name_wanted(const monitor *m, const char *name)
{
    int i;
    if (m->cfg->nmasters == 0) return 1;
    for (i = 0; i < m->cfg->nmasters; i++)
        if (!strcmp(m->cfg->masters[i], name)) return 1;
    return 0;
}

static mcluster *cluster_get(monitor *m, const char *name, int create)
{
    int i;
    mcluster *c, **nc;
    for (i = 0; i < m->nclusters; i++)
        if (!strcmp(m->clusters[i]->name, name)) return m->clusters[i];
    if (!create) return NULL;
    nc = realloc(m->clusters, sizeof(*nc) * (size_t)(m->nclusters + 1));
    if (!nc) return NULL;
    m->clusters = nc;
    c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    hp_strlcpy(c->name, name, sizeof(c->name));
    m->clusters[m->nclusters++] = c;
    log_info("monitor: watching master '%s'", name);
    return c;
}

static void mark_dirty(monitor *m, const char *cluster)
{
    mcluster *c = cluster_get(m, cluster, 0);
    struct timeval tv = {0, PUBLISH_DELAY_MS * 1000};
    if (!c) return;
    c->dirty = 1;
    if (!evtimer_pending(m->publish, NULL)) evtimer_add(m->publish, &tv);
}

static mnode *node_get(monitor *m, const char *addr)
{
    int i;
    for (i = 0; i < m->nnodes; i++)
        if (!strcmp(m->nodes[i]->addr, addr)) return m->nodes[i];
    return NULL;
}

/* Finds or adds the node at host:port in cluster; refreshes its seen time. */
static mnode *node_seen(monitor *m, const char *cluster, const char *host, int port)
{
    char addr[HP_ADDR_MAX];
    mnode *n, **nn;

    hp_addr_fmt(addr, sizeof(addr), host, port);
    n = node_get(m, addr);
    if (n) {
        n->seen_ms = hp_mono_ms();
        if (strcmp(n->cluster, cluster)) { /* a node moved to another master name */
            mark_dirty(m, n->cluster);
            hp_strlcpy(n->cluster, cluster, sizeof(n->cluster));
            mark_dirty(m, cluster);
        }
        return n;
    }
    nn = realloc(m->nodes, sizeof(*nn) * (size_t)(m->nnodes + 1));
    if (!nn) return NULL;
    m->nodes = nn;
    n = calloc(1, sizeof(*n));
    if (!n) return NULL;
    n->m = m;
    hp_strlcpy(n->addr, addr, sizeof(n->addr));
    hp_strlcpy(n->cluster, cluster, sizeof(n->cluster));
    n->seen_ms = hp_mono_ms();
    n->conn = rconn_new(m->base, host, port, m->cfg->redis_password, m->cfg->timeout_ms);
    if (!n->conn) {
        free(n);
        return NULL;
    }
    m->nodes[m->nnodes++] = n;
    log_info("monitor: %s: node %s discovered", cluster, addr);
    mark_dirty(m, cluster);
    return n;
}

static msentinel *sentinel_add(monitor *m, const char *addr, int seed)
{
    char host[HP_HOST_MAX];
    int port, i;
    msentinel *s, **ns;

    for (i = 0; i < m->nsentinels; i++)
        if (!strcmp(m->sentinels[i]->addr, addr)) {
            m->sentinels[i]->seen_ms = hp_mono_ms();
            return m->sentinels[i];
        }
    if (hp_addr_parse(addr, host, sizeof(host), &port) < 0) return NULL;
    ns = realloc(m->sentinels, sizeof(*ns) * (size_t)(m->nsentinels + 1));
    if (!ns) return NULL;
    m->sentinels = ns;
    s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->m = m;
    hp_strlcpy(s->addr, addr, sizeof(s->addr));
    s->seed = seed;
    s->seen_ms = hp_mono_ms();
    s->conn = rconn_new(m->base, host, port, m->cfg->sentinel_password, m->cfg->timeout_ms);
    s->sub = rconn_new(m->base, host, port, m->cfg->sentinel_password, m->cfg->timeout_ms);
    if (!s->conn || !s->sub) {
        rconn_free(s->conn);
        rconn_free(s->sub);
        free(s);
        return NULL;
    }
    m->sentinels[m->nsentinels++] = s;
    if (!seed) log_info("monitor: Sentinel %s discovered", addr);
    return s;
}

static sview *view_get(msentinel *s, const char *name, int create)
{
    int i;
    sview *nv;
    for (i = 0; i < s->nviews; i++)
        if (!strcmp(s->views[i].name, name)) return &s->views[i];
    if (!create) return NULL;
    nv = realloc(s->views, sizeof(*nv) * (size_t)(s->nviews + 1));
    if (!nv) return NULL;
    s->views = nv;
    memset(&nv[s->nviews], 0, sizeof(*nv));
    hp_strlcpy(nv[s->nviews].name, name, sizeof(nv->name));
    return &nv[s->nviews++];
}

static void views_free(msentinel *s)
{
    int i;
    for (i = 0; i < s->nviews; i++) free(s->views[i].reps);
    free(s->views);
    s->views = NULL;
    s->nviews = 0;
}

static void emit(monitor *m, const hp_event *e)
{
    evq_push(m->q, e);
    log_info("event %s %s %s %s", e->cluster, e->type, e->node, e->message);
}

static void all_sentinel_clusters_dirty(monitor *m, msentinel *s)
{
    int i;
    if (s->nviews == 0)
        for (i = 0; i < m->nclusters; i++) mark_dirty(m, m->clusters[i]->name);
    for (i = 0; i < s->nviews; i++) mark_dirty(m, s->views[i].name);
}

/* ----------------------------------------------------------- node polling */

static void on_info(rconn *c, redisReply *r, void *priv)
{
    mnode *n = priv;
    monitor *m = n->m;
    int i;

    if (m->stopping) return;
    /* Sentinel's reconfiguration and a fencing job close every normal client
     * (CLIENT KILL TYPE normal): a dropped connection gets one immediate
     * retry before the node is called down. A timeout does not. */
    if (!r && n->up && !n->retried && !rconn_timed_out(c)) {
        n->retried = 1;
        rconn_cmd(c, on_info, n, "INFO");
        return;
    }
    __atomic_add_fetch(&m->polls, 1, __ATOMIC_RELAXED);
    n->polled = 1;
    if (r && r->type == REDIS_REPLY_STRING && info_parse(r->str, r->len, &n->info) >= 0) {
        n->up = 1;
        n->error[0] = '\0';
        n->last_ok_ms = hp_now_ms();
        /* A master names its replicas before the Sentinels do (they read INFO
         * every 10 s): take them at once. */
        if (n->info.role == ROLE_MASTER)
            for (i = 0; i < n->info.nreplicas; i++)
                node_seen(m, n->cluster, n->info.replicas[i].ip, n->info.replicas[i].port);
    } else {
        __atomic_add_fetch(&m->poll_failures, 1, __ATOMIC_RELAXED);
        n->up = 0;
        hp_strlcpy(n->error, r && r->type == REDIS_REPLY_ERROR ? r->str : rconn_error(c),
                   sizeof(n->error));
    }
    mark_dirty(m, n->cluster);
}

/* ------------------------------------------------------- Sentinel polling */

static void sentinel_failed(msentinel *s, redisReply *r, rconn *c)
{
    if (!s->polled || s->up)
        log_warn("monitor: Sentinel %s: %s", s->addr,
                 r && r->type == REDIS_REPLY_ERROR ? r->str : rconn_error(c));
    s->polled = 1;
    s->up = 0;
    hp_strlcpy(s->error, r && r->type == REDIS_REPLY_ERROR ? r->str : rconn_error(c),
               sizeof(s->error));
    all_sentinel_clusters_dirty(s->m, s);
}

/* The entries of a SENTINEL REPLICAS/SENTINELS reply into *out (caller
 * frees); returns their number, or -1 when there is nothing to read. */
static int read_entries(monitor *m, redisReply *r, sentinel_entry **out)
{
    *out = NULL;
    if (m->stopping || !r || r->type != REDIS_REPLY_ARRAY) return -1;
    *out = malloc(sizeof(**out) * MAX_ENTRIES);
    return *out ? sreply_entries(r, *out, MAX_ENTRIES) : -1;
}

static void on_replicas(rconn *c, redisReply *r, void *priv)
{
    squery *q = priv;
    monitor *m = q->s->m;
    sentinel_entry *e;
    int n = read_entries(m, r, &e), i;

    (void)c;
    if (n < 0) goto out;
    for (i = 0; i < n; i++) {
        mnode *nd = node_seen(m, q->name, e[i].ip, e[i].port);
        if (nd) hp_strlcpy(nd->sentinel_flags, e[i].flags, sizeof(nd->sentinel_flags));
    }
    /* Kept whole: the failover plan applies Sentinel's own selection rules
     * to each Sentinel's view of the replicas. */
    {
        sview *v = view_get(q->s, q->name, 0);
        if (v) {
            sentinel_entry *keep = n ? realloc(e, sizeof(*e) * (size_t)n) : NULL;
            free(v->reps);
            v->reps = NULL;
            v->nreps = 0;
            if (keep || n == 0) {
                if (keep) e = NULL;
                v->reps = keep;
                v->nreps = n;
                v->reps_at_ms = hp_now_ms();
            }
        }
    }
    mark_dirty(m, q->name);
out:
    free(e);
    free(q);
}

static void on_sentinels(rconn *c, redisReply *r, void *priv)
{
    squery *q = priv;
    monitor *m = q->s->m;
    sentinel_entry *e;
    int n = read_entries(m, r, &e), i;

    (void)c;
    if (n < 0) goto out;
    for (i = 0; i < n; i++) {
        char addr[HP_ADDR_MAX];
        hp_addr_fmt(addr, sizeof(addr), e[i].ip, e[i].port);
        sentinel_add(m, addr, 0);
    }
out:
    free(e);
    free(q);
}

/* The Sentinel's version, asked once per Sentinel. */
static void on_sentinel_info(rconn *c, redisReply *r, void *priv)
{
    msentinel *s = priv;
    node_info in;
    (void)c;
    if (s->m->stopping || !r || r->type != REDIS_REPLY_STRING) return;
    if (info_parse(r->str, r->len, &in) >= 0 && in.redis_version[0]) {
        hp_strlcpy(s->version, in.redis_version, sizeof(s->version));
        all_sentinel_clusters_dirty(s->m, s);
    }
}

static void query_master(msentinel *s, const char *name)
{
    squery *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
    if (!a || !b) {
        free(a);
        free(b);
        return;
    }
    a->s = b->s = s;
    hp_strlcpy(a->name, name, sizeof(a->name));
    hp_strlcpy(b->name, name, sizeof(b->name));
    rconn_cmd(s->conn, on_replicas, a, "SENTINEL REPLICAS %s", name);
    rconn_cmd(s->conn, on_sentinels, b, "SENTINEL SENTINELS %s", name);
}

static void on_masters(rconn *c, redisReply *r, void *priv)
{
    msentinel *s = priv;
    monitor *m = s->m;
    sentinel_entry *e = NULL;
    int n, i, j;
    int64_t now = hp_mono_ms();

    if (m->stopping) return;
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        sentinel_failed(s, r, c);
        return;
    }
    e = malloc(sizeof(*e) * MAX_ENTRIES);
    if (!e) return;
    n = sreply_entries(r, e, MAX_ENTRIES);
    if (!s->up) log_info("monitor: Sentinel %s answers (%d masters)", s->addr, n < 0 ? 0 : n);
    s->polled = s->up = 1;
    s->error[0] = '\0';
    m->sentinel_ok_ms = now;
    s->last_ok_ms = hp_now_ms();
    for (i = 0; i < n; i++) {
        sview *v;
        if (!name_wanted(m, e[i].name) || !cluster_get(m, e[i].name, 1)) continue;
        v = view_get(s, e[i].name, 1);
        if (!v) continue;
        hp_addr_fmt(v->master, sizeof(v->master), e[i].ip, e[i].port);
        hp_strlcpy(v->flags, e[i].flags, sizeof(v->flags));
        v->quorum = e[i].quorum;
        v->num_other_sentinels = e[i].num_other_sentinels;
        v->num_slaves = e[i].num_slaves;
        v->failover = sreply_has_flag(e[i].flags, "failover_in_progress");
        v->down_after_ms = e[i].down_after_ms;
        v->s_down_ms = sreply_has_flag(e[i].flags, "s_down") ? e[i].s_down_ms : -1;
        v->seen_ms = now;
        {
            mnode *mn = node_seen(m, e[i].name, e[i].ip, e[i].port);
            if (mn) hp_strlcpy(mn->sentinel_flags, e[i].flags, sizeof(mn->sentinel_flags));
        }
        mark_dirty(m, e[i].name);
        query_master(s, e[i].name);
    }
    /* A master this Sentinel no longer monitors (SENTINEL REMOVE) leaves it. */
    for (i = j = 0; i < s->nviews; i++) {
        if (s->views[i].seen_ms == now) {
            s->views[j++] = s->views[i];
        } else {
            mark_dirty(m, s->views[i].name);
            free(s->views[i].reps);
        }
    }
    s->nviews = j;
    free(e);
}

/* ----------------------------------------------------------- Sentinel events */

static const char *event_severity(const char *type)
{
    if (!strcmp(type, "+odown") || !strcmp(type, "+sdown")) return !strcmp(type, "+odown") ? "critical" : "warning";
    if (!strcmp(type, "+switch-master") || !strcmp(type, "+try-failover") ||
        !strcmp(type, "+tilt") || !strncmp(type, "-failover-abort", 15) ||
        !strcmp(type, "+failover-end-for-timeout"))
        return "warning";
    return "info";
}

/* Returns 1 if this +switch-master repeats the cluster's last one (another
 * Sentinel publishing the same failover), else remembers it and returns 0.
 * Compared with the last switch only: A -> B, B -> A, A -> B are three
 * failovers however quickly they follow each other. */
static int switch_seen(monitor *m, const sentinel_event *se)
{
    mcluster *mc = cluster_get(m, se->cluster, 0);
    char key[2 * HP_ADDR_MAX + 2];
    int64_t now = hp_mono_ms();

    if (!mc) return 0;
    snprintf(key, sizeof(key), "%s>%s", se->old_master, se->new_master);
    if (mc->last_switch_at && now - mc->last_switch_at < SWITCH_DUP_MS &&
        !strcmp(mc->last_switch, key))
        return 1;
    hp_strlcpy(mc->last_switch, key, sizeof(mc->last_switch));
    mc->last_switch_at = now;
    return 0;
}

/* Assembles automatic failovers from the Sentinel events: the first +odown or
 * +try-failover starts one, the first +switch-master completes it, an abort
 * ends it, and an -odown before any +try-failover (the master came back)
 * forgets it. Failovers run by hapanel's own jobs are recorded by the job. */
static void track_failover(monitor *m, const char *type, const sentinel_event *se)
{
    mcluster *mc = se->cluster[0] ? cluster_get(m, se->cluster, 0) : NULL;
    hp_failover f;

    if (!mc) return;
    if (!strcmp(type, "+odown") || !strcmp(type, "+try-failover")) {
        if (!mc->failover_started) mc->failover_started = hp_now_ms();
        if (!strcmp(type, "+try-failover")) mc->failover_tried = 1;
        return;
    }
    if (!strcmp(type, "-odown")) {
        if (!mc->failover_tried) mc->failover_started = 0;
        return;
    }
    memset(&f, 0, sizeof(f));
    if (!strcmp(type, "+switch-master")) {
        hp_strlcpy(f.status, "succeeded", sizeof(f.status));
        hp_strlcpy(f.old_master, se->old_master, sizeof(f.old_master));
        hp_strlcpy(f.new_master, se->new_master, sizeof(f.new_master));
    } else if (!strncmp(type, "-failover-abort", 15) && mc->failover_started) {
        hp_strlcpy(f.status, "aborted", sizeof(f.status));
        if (mc->last) hp_strlcpy(f.old_master, mc->last->master, sizeof(f.old_master));
    } else {
        return;
    }
    if (!m->busy || !m->busy(m->busy_ctx, se->cluster)) {
        hp_strlcpy(f.cluster, se->cluster, sizeof(f.cluster));
        hp_strlcpy(f.kind, "automatic", sizeof(f.kind));
        f.ended_at = hp_now_ms();
        f.started_at = mc->failover_started ? mc->failover_started : f.ended_at;
        f.duration_ms = f.ended_at - f.started_at;
        f.writes_paused_ms = -1;
        hp_strlcpy(f.actor, "sentinel", sizeof(f.actor));
        evq_push_failover(m->q, &f);
    }
    mc->failover_started = 0;
    mc->failover_tried = 0;
}

static void on_sentinel_event(rconn *c, redisReply *r, void *priv)
{
    msentinel *s = priv;
    monitor *m = s->m;
    const char *type, *payload;
    sentinel_event se;
    char source[HP_ADDR_MAX + 16], msg[512];
    hp_event e;

    (void)c;
    if (m->stopping) return;
    if (!r) {
        log_debug("monitor: Sentinel %s: event channel closed: %s", s->addr, rconn_error(c));
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4 ||
        r->element[2]->type != REDIS_REPLY_STRING || r->element[3]->type != REDIS_REPLY_STRING)
        return;
    type = r->element[2]->str;
    payload = r->element[3]->str;
    if (!strncmp(type, "__sentinel__", 12)) return;
    sreply_event(type, payload, &se);
    if (se.cluster[0] && !name_wanted(m, se.cluster)) return;
    __atomic_add_fetch(&m->sentinel_events, 1, __ATOMIC_RELAXED);
    snprintf(source, sizeof(source), "sentinel %s", s->addr);
    if (!strcmp(type, "+switch-master")) {
        if (switch_seen(m, &se)) return;
        track_failover(m, type, &se);
        snprintf(msg, sizeof(msg), "failover of %s: master %s -> %s", se.cluster, se.old_master,
                 se.new_master);
        /* Poll at once: the new roles show within one round trip. */
        event_active(m->tick, EV_TIMEOUT, 0);
    } else {
        snprintf(msg, sizeof(msg), "%s %s", type, payload);
        track_failover(m, type, &se);
    }
    hp_event_set(&e, EV_SENTINEL, se.cluster, type, event_severity(type), source, se.node, msg);
    hp_strlcpy(e.payload, payload, sizeof(e.payload));
    hp_strlcpy(e.old_master, se.old_master, sizeof(e.old_master));
    hp_strlcpy(e.new_master, se.new_master, sizeof(e.new_master));
    emit(m, &e);
}

/* ------------------------------------------------------------ publishing */

/* Lag of replica n from the INFO of a master of its cluster that lists it:
 * bytes behind that master's offset (from the replica's own offset when it
 * answers, else from its last ack) and seconds since its last ack. The
 * master's view is what still moves when the replica hangs (SIGSTOP). */
static void master_view(snap_node *sn, const mnode *n, monitor *m, int64_t own_offset)
{
    int i, j;
    for (i = 0; i < m->nnodes; i++) {
        const mnode *mn = m->nodes[i];
        if (mn == n || !mn->up || mn->info.role != ROLE_MASTER || strcmp(mn->cluster, n->cluster))
            continue;
        for (j = 0; j < mn->info.nreplicas; j++) {
            const info_replica *ir = &mn->info.replicas[j];
            char ra[HP_ADDR_MAX];
            int64_t off = own_offset >= 0 ? own_offset : ir->offset;
            hp_addr_fmt(ra, sizeof(ra), ir->ip, ir->port);
            if (strcmp(ra, n->addr)) continue;
            sn->lag_seconds = (double)ir->lag;
            if (off >= 0 && mn->info.master_repl_offset >= 0)
                sn->lag_bytes = mn->info.master_repl_offset > off ? mn->info.master_repl_offset - off : 0;
            return;
        }
    }
}

static void fill_node(snap_node *sn, const mnode *n, monitor *m)
{
    const node_info *in = &n->info;
    memset(sn, 0, sizeof(*sn));
    hp_strlcpy(sn->addr, n->addr, sizeof(sn->addr));
    sn->polled = n->polled;
    sn->up = n->up;
    hp_strlcpy(sn->error, n->error, sizeof(sn->error));
    sn->last_ok_ms = n->last_ok_ms;
    hp_strlcpy(sn->redis_version, in->redis_version, sizeof(sn->redis_version));
    hp_strlcpy(sn->sentinel_flags, n->sentinel_flags, sizeof(sn->sentinel_flags));
    sn->lag_bytes = -1;
    sn->lag_seconds = -1;
    if (!n->up) {
        /* No stale figures for a node that does not answer. */
        sn->role = ROLE_UNKNOWN;
        sn->link_up = -1;
        sn->repl_offset = sn->link_down_since_s = sn->used_memory = sn->maxmemory = -1;
        sn->mem_fragmentation_ratio = -1;
        sn->connected_clients = sn->rdb_last_save_time = sn->rdb_changes_since_last_save = -1;
        sn->connected_replicas = sn->priority = -1;
        sn->aof_enabled = -1;
        sn->uptime_s = sn->sync_full = -1;
        master_view(sn, n, m, -1);
        return;
    }
    sn->role = in->role;
    sn->link_up = in->role == ROLE_REPLICA ? in->link_up : -1;
    if (in->role == ROLE_REPLICA && in->master_host[0])
        hp_addr_fmt(sn->master_addr, sizeof(sn->master_addr), in->master_host, in->master_port);
    sn->repl_offset = in->role == ROLE_REPLICA ? in->slave_repl_offset : in->master_repl_offset;
    sn->link_down_since_s = in->link_down_since_s;
    sn->sync_in_progress = in->sync_in_progress;
    sn->used_memory = in->used_memory;
    sn->maxmemory = in->maxmemory;
    sn->mem_fragmentation_ratio = in->mem_fragmentation_ratio;
    sn->connected_clients = in->connected_clients;
    sn->connected_replicas = in->connected_slaves;
    sn->rdb_last_save_time = in->rdb_last_save_time;
    hp_strlcpy(sn->rdb_last_bgsave_status, in->rdb_last_bgsave_status,
               sizeof(sn->rdb_last_bgsave_status));
    sn->rdb_changes_since_last_save = in->rdb_changes_since_last_save;
    sn->rdb_bgsave_in_progress = in->rdb_bgsave_in_progress;
    sn->aof_enabled = in->aof_enabled;
    hp_strlcpy(sn->aof_last_write_status, in->aof_last_write_status,
               sizeof(sn->aof_last_write_status));
    sn->priority = in->priority;
    sn->no_config_file = in->redis_version[0] && !in->config_file[0];
    sn->uptime_s = in->uptime_s;
    sn->sync_full = in->sync_full;

    if (in->role == ROLE_REPLICA) master_view(sn, n, m, in->slave_repl_offset);
    if (in->role == ROLE_REPLICA && in->link_up == 0 && in->link_down_since_s >= 0)
        sn->lag_seconds = (double)in->link_down_since_s;
}

static void fill_sentinel(snap_sentinel *ss, const msentinel *s, const sview *v)
{
    memset(ss, 0, sizeof(*ss));
    hp_strlcpy(ss->addr, s->addr, sizeof(ss->addr));
    ss->polled = s->polled;
    ss->up = s->up;
    hp_strlcpy(ss->error, s->error, sizeof(ss->error));
    ss->last_ok_ms = s->last_ok_ms;
    ss->quorum = ss->num_other_sentinels = ss->num_replicas = -1;
    hp_strlcpy(ss->redis_version, s->version, sizeof(ss->redis_version));
    if (!v) return;
    hp_strlcpy(ss->flags, v->flags, sizeof(ss->flags));
    hp_strlcpy(ss->sees_master, v->master, sizeof(ss->sees_master));
    ss->quorum = v->quorum;
    ss->num_other_sentinels = v->num_other_sentinels;
    ss->num_replicas = v->num_slaves;
    ss->failover_in_progress = s->up && v->failover;
    ss->down_after_ms = v->down_after_ms;
    ss->s_down_ms = v->s_down_ms;
    ss->views_at_ms = v->reps_at_ms;
}

static void fill_sviews(snap_sview *out, const msentinel *s, const sview *v)
{
    int i;
    for (i = 0; i < v->nreps; i++) promo_sview_from_entry(&out[i], s->addr, &v->reps[i]);
}

static void diff_event(void *ctx, const char *cluster, const char *type, const char *severity,
                       const char *node, const char *message)
{
    hp_event e;
    hp_event_set(&e, EV_TOPOLOGY, cluster, type, severity, "panel", node, message);
    emit(ctx, &e);
}

static void alert_event(void *ctx, const char *cluster, const char *rule, const char *node,
                        const char *severity, int firing, const char *message)
{
    hp_event e;
    hp_event_set(&e, firing ? EV_ALERT_FIRED : EV_ALERT_RESOLVED, cluster,
                 firing ? "alert-fired" : "alert-resolved", severity, "panel", node[0] ? node : NULL,
                 message);
    hp_strlcpy(e.rule, rule, sizeof(e.rule));
    emit(ctx, &e);
}

static cluster_snap *build(monitor *m, mcluster *mc)
{
    cluster_snap *c = cluster_snap_new(mc->name);
    int i, nn = 0, ns = 0, nv = 0;

    if (!c) return NULL;
    for (i = 0; i < m->nsentinels; i++) {
        const sview *v = view_get(m->sentinels[i], mc->name, 0);
        if (v && m->sentinels[i]->up) nv += v->nreps;
    }
    c->nodes = calloc((size_t)m->nnodes + 1, sizeof(*c->nodes));
    c->sentinels = calloc((size_t)m->nsentinels + 1, sizeof(*c->sentinels));
    c->sviews = calloc((size_t)nv + 1, sizeof(*c->sviews));
    if (!c->nodes || !c->sentinels || !c->sviews) goto fail;
    for (i = 0; i < m->nnodes; i++)
        if (!strcmp(m->nodes[i]->cluster, mc->name)) fill_node(&c->nodes[nn++], m->nodes[i], m);
    for (i = 0; i < m->nsentinels; i++) {
        const msentinel *s = m->sentinels[i];
        const sview *v = view_get((msentinel *)s, mc->name, 0);
        /* A Sentinel that never answered may watch this cluster: show it. */
        if (v || s->nviews == 0) fill_sentinel(&c->sentinels[ns++], s, v);
        /* A Sentinel that does not answer has no current view. */
        if (v && s->up) {
            fill_sviews(&c->sviews[c->nsviews], s, v);
            c->nsviews += v->nreps;
        }
    }
    c->nnodes = nn;
    c->nsentinels = ns;
    if (cluster_snap_finish(c, hp_now_ms()) < 0) goto fail;
    return c;
fail:
    cluster_snap_unref(c);
    return NULL;
}

static int cluster_order(const void *a, const void *b)
{
    return strcmp((*(cluster_snap *const *)a)->name, (*(cluster_snap *const *)b)->name);
}

static void on_publish(evutil_socket_t fd, short what, void *arg)
{
    monitor *m = arg;
    cluster_snap **all;
    int i, n = 0;
    (void)fd;
    (void)what;

    for (i = 0; i < m->nclusters; i++) {
        mcluster *mc = m->clusters[i];
        cluster_snap *c;
        if (!mc->dirty) continue;
        c = build(m, mc);
        if (!c) continue;
        mc->dirty = 0;
        cluster_snap_diff(mc->last, c, diff_event, m);
        alerts_eval(m->alerts, c, hp_now_ms(), alert_event, m);
        cluster_snap_unref(mc->last);
        mc->last = c;
    }
    all = calloc((size_t)m->nclusters + 1, sizeof(*all));
    if (!all) return;
    for (i = 0; i < m->nclusters; i++)
        if (m->clusters[i]->last) {
            cluster_snap_ref(m->clusters[i]->last);
            all[n++] = m->clusters[i]->last;
        }
    qsort(all, (size_t)n, sizeof(*all), cluster_order);
    topo_publish(topo_snap_new(all, n, hp_now_ms()));
}

/* ------------------------------------------------------------------- tick */

/* Forgets what the Sentinels have stopped naming. Measured against the last
 * time any Sentinel answered, so an outage of all Sentinels forgets nothing. */
static void forget_stale(monitor *m)
{
    int64_t now = m->sentinel_ok_ms;
    int i, j;

    for (i = j = 0; i < m->nnodes; i++) {
        mnode *n = m->nodes[i];
        if (now - n->seen_ms > FORGET_AFTER_MS) {
            log_info("monitor: %s: forgetting node %s, no longer reported", n->cluster, n->addr);
            mark_dirty(m, n->cluster);
            n->m->stopping++; /* its callback must not touch n while we free it */
            rconn_free(n->conn);
            n->m->stopping--;
            free(n);
            continue;
        }
        m->nodes[j++] = n;
    }
    m->nnodes = j;
    for (i = j = 0; i < m->nsentinels; i++) {
        msentinel *s = m->sentinels[i];
        if (!s->seed && now - s->seen_ms > FORGET_AFTER_MS) {
            log_info("monitor: forgetting Sentinel %s, no longer reported", s->addr);
            all_sentinel_clusters_dirty(m, s);
            m->stopping++;
            rconn_free(s->conn);
            rconn_free(s->sub);
            m->stopping--;
            views_free(s);
            free(s);
            continue;
        }
        m->sentinels[j++] = s;
    }
    m->nsentinels = j;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    monitor *m = arg;
    int i;
    (void)fd;
    (void)what;

    __atomic_add_fetch(&m->ticks, 1, __ATOMIC_RELAXED);
    forget_stale(m);
    for (i = 0; i < m->nsentinels; i++) {
        msentinel *s = m->sentinels[i];
        if (rconn_pending(s->conn) == 0) {
            rconn_cmd(s->conn, on_masters, s, "SENTINEL MASTERS");
            if (!s->version[0]) rconn_cmd(s->conn, on_sentinel_info, s, "INFO server");
        }
        if (!rconn_active(s->sub)) rconn_psubscribe(s->sub, on_sentinel_event, s, "*");
    }
    /* m->nodes may grow inside on_info (a master naming a new replica). */
    for (i = 0; i < m->nnodes; i++) {
        mnode *n = m->nodes[i];
        if (rconn_pending(n->conn) == 0) {
            n->retried = 0;
            rconn_cmd(n->conn, on_info, n, "INFO");
        }
    }
}

/* ------------------------------------------------------------------ thread */

static void *loop_main(void *arg)
{
    monitor *m = arg;
    event_base_dispatch(m->base);
    return NULL;
}

monitor *monitor_new(const config *cfg, evq *q)
{
    monitor *m;
    int i;
    struct timeval tv;

    if (evthread_use_pthreads() < 0) return NULL;
    m = calloc(1, sizeof(*m));
    if (!m) return NULL;
    m->cfg = cfg;
    m->q = q;
    m->alerts = alerts_new(cfg);
    m->base = event_base_new();
    if (!m->base || !m->alerts) goto fail;
    m->tick = event_new(m->base, -1, EV_PERSIST, on_tick, m);
    m->publish = evtimer_new(m->base, on_publish, m);
    if (!m->tick || !m->publish) goto fail;
    tv.tv_sec = cfg->poll_interval_ms / 1000;
    tv.tv_usec = (cfg->poll_interval_ms % 1000) * 1000;
    event_add(m->tick, &tv);
    for (i = 0; i < cfg->nsentinels; i++)
        if (!sentinel_add(m, cfg->sentinels[i], 1)) goto fail;
    return m;
fail:
    monitor_free(m);
    return NULL;
}

void monitor_restore_alert(monitor *m, const char *cluster, const char *rule, const char *node,
                           const char *severity, int64_t since_ms)
{
    alerts_restore(m->alerts, cluster, rule, node, severity, since_ms);
}

void monitor_set_busy(monitor *m, int (*busy)(void *ctx, const char *cluster), void *ctx)
{
    m->busy = busy;
    m->busy_ctx = ctx;
}

int monitor_start(monitor *m)
{
    event_active(m->tick, EV_TIMEOUT, 0); /* first poll at once */
    if (pthread_create(&m->thread, NULL, loop_main, m) != 0) return -1;
    m->running = 1;
    return 0;
}

void monitor_free(monitor *m)
{
    int i;
    if (!m) return;
    if (m->running) {
        event_base_loopbreak(m->base);
        pthread_join(m->thread, NULL);
    }
    m->stopping = 1;
    for (i = 0; i < m->nnodes; i++) {
        rconn_free(m->nodes[i]->conn);
        free(m->nodes[i]);
    }
    for (i = 0; i < m->nsentinels; i++) {
        rconn_free(m->sentinels[i]->conn);
        rconn_free(m->sentinels[i]->sub);
        views_free(m->sentinels[i]);
        free(m->sentinels[i]);
    }
    for (i = 0; i < m->nclusters; i++) {
        cluster_snap_unref(m->clusters[i]->last);
        free(m->clusters[i]);
    }
    free(m->nodes);
    free(m->sentinels);
    free(m->clusters);
    alerts_free(m->alerts);
    if (m->tick) event_free(m->tick);
    if (m->publish) event_free(m->publish);
    if (m->base) event_base_free(m->base);
    free(m);
}

/* ----------------------------------------------------------------- counters */

void monitor_counters(const monitor *m, monitor_stats *out)
{
    out->polls = __atomic_load_n(&m->polls, __ATOMIC_RELAXED);
    out->poll_failures = __atomic_load_n(&m->poll_failures, __ATOMIC_RELAXED);
    out->sentinel_events = __atomic_load_n(&m->sentinel_events, __ATOMIC_RELAXED);
}
