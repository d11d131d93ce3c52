/* topology.c — cluster snapshots: derivation (master, quorum, status, problems),
 * JSON rendering, reference counting, the published pointer, and the diff of
 * two snapshots into panel events (see topology.h). No I/O. */
#define _POSIX_C_SOURCE 200809L
#include "model/topology.h"
#include "core/utf8.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/banned.h" /* last: after every system header */

/* ---------------------------------------------------------------- lifecycle */

cluster_snap *cluster_snap_new(const char *name)
{
    cluster_snap *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->refs = 1;
    hp_strlcpy(c->name, name, sizeof(c->name));
    hp_strlcpy(c->group_name, "default", sizeof(c->group_name));
    return c;
}

void cluster_snap_ref(cluster_snap *c)
{
    __atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
}

void cluster_snap_unref(cluster_snap *c)
{
    if (!c || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
    free(c->nodes);
    free(c->sentinels);
    free(c->sviews);
    free(c->problems);
    free(c->json);
    free(c->summary_json);
    free(c);
}

const snap_node *cluster_snap_node(const cluster_snap *c, const char *addr)
{
    int i;
    for (i = 0; i < c->nnodes; i++)
        if (!strcmp(c->nodes[i].addr, addr)) return &c->nodes[i];
    return NULL;
}

static int cmp_str(const char *a, const char *b)
{
    return strcmp(a, b);
}

/* --------------------------------------------------------------- derivation */

static int add_problem(cluster_snap *c, const char *code, const char *sev, const char *node,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int add_problem(cluster_snap *c, const char *code, const char *sev, const char *node,
                       const char *fmt, ...)
{
    snap_problem *np = realloc(c->problems, sizeof(*np) * (size_t)(c->nproblems + 1));
    snap_problem *p;
    va_list ap;

    if (!np) return -1;
    c->problems = np;
    p = &np[c->nproblems++];
    memset(p, 0, sizeof(*p));
    hp_strlcpy(p->code, code, sizeof(p->code));
    hp_strlcpy(p->severity, sev, sizeof(p->severity));
    hp_strlcpy(p->node, node ? node : "", sizeof(p->node));
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof(p->message), fmt, ap);
    va_end(ap);
    return 0;
}

/* The master most reachable Sentinels report; ties go to the first seen. When
 * no Sentinel answers, the one node that says it is master, if exactly one. */
static void pick_master(cluster_snap *c)
{
    int i, j, best = -1, bestn = 0, masters = 0, last = -1;

    c->master[0] = '\0';
    for (i = 0; i < c->nsentinels; i++) {
        int n = 0;
        if (!c->sentinels[i].up || !c->sentinels[i].sees_master[0]) continue;
        for (j = 0; j < c->nsentinels; j++)
            if (c->sentinels[j].up &&
                !strcmp(c->sentinels[j].sees_master, c->sentinels[i].sees_master))
                n++;
        if (n > bestn) {
            bestn = n;
            best = i;
        }
    }
    if (best >= 0) {
        hp_strlcpy(c->master, c->sentinels[best].sees_master, sizeof(c->master));
        return;
    }
    for (i = 0; i < c->nnodes; i++)
        if (c->nodes[i].up && c->nodes[i].role == ROLE_MASTER) {
            masters++;
            last = i;
        }
    if (masters == 1) hp_strlcpy(c->master, c->nodes[last].addr, sizeof(c->master));
}

static int node_order(const void *a, const void *b)
{
    const snap_node *x = a, *y = b;
    if (x->sentinel_role != y->sentinel_role) return x->sentinel_role == ROLE_MASTER ? -1 : 1;
    return cmp_str(x->addr, y->addr);
}

static int sentinel_order(const void *a, const void *b)
{
    return cmp_str(((const snap_sentinel *)a)->addr, ((const snap_sentinel *)b)->addr);
}

static int derive(cluster_snap *c)
{
    int i, sup = 0, masters = 0, rc = 0;
    const snap_node *m;
    char claim[512] = "";

    pick_master(c);
    for (i = 0; i < c->nnodes; i++)
        c->nodes[i].sentinel_role =
            c->master[0] && !strcmp(c->nodes[i].addr, c->master) ? ROLE_MASTER : ROLE_REPLICA;
    if (c->nnodes) qsort(c->nodes, (size_t)c->nnodes, sizeof(*c->nodes), node_order);
    if (c->nsentinels)
        qsort(c->sentinels, (size_t)c->nsentinels, sizeof(*c->sentinels), sentinel_order);

    c->quorum_configured = -1;
    c->quorum_reachable = 0;
    c->failover_in_progress = 0;
    for (i = 0; i < c->nsentinels; i++) {
        const snap_sentinel *s = &c->sentinels[i];
        if (!s->up) continue;
        sup++;
        if (s->quorum > c->quorum_configured) c->quorum_configured = s->quorum;
        if (c->master[0] && !strcmp(s->sees_master, c->master)) c->quorum_reachable++;
        if (s->failover_in_progress) c->failover_in_progress = 1;
    }
    /* A failover needs the quorum to agree the master is down and a majority of
     * all known Sentinels to elect a leader (what SENTINEL CKQUORUM checks). */
    c->quorum_ok = c->quorum_configured > 0 && c->quorum_reachable >= c->quorum_configured &&
                   c->quorum_reachable > c->nsentinels / 2;

    for (i = 0; i < c->nnodes; i++) {
        const snap_node *n = &c->nodes[i];
        if (n->up && n->role == ROLE_MASTER) {
            size_t l = strlen(claim);
            masters++;
            snprintf(claim + l, sizeof(claim) - l, "%s%s", l ? ", " : "", n->addr);
        }
    }
    if (masters > 1)
        rc |= add_problem(c, "split_brain", "critical", NULL,
                          "%d nodes accept writes as master: %s", masters, claim);

    m = c->master[0] ? cluster_snap_node(c, c->master) : NULL;
    if (!c->master[0])
        rc |= add_problem(c, "no_master", "critical", NULL, "no Sentinel reports a master");
    else if (m && m->polled && !m->up)
        rc |= add_problem(c, "master_down", "critical", m->addr, "master %s unreachable: %s",
                          m->addr, m->error);
    else if (m && m->up && m->role == ROLE_REPLICA)
        rc |= add_problem(c, "role_mismatch", "warning", m->addr,
                          "Sentinels report %s as master but it is a replica of %s", m->addr,
                          m->master_addr);

    for (i = 0; i < c->nnodes; i++) {
        const snap_node *n = &c->nodes[i];
        if (n->sentinel_role == ROLE_MASTER || !n->polled) continue;
        if (!n->up)
            rc |= add_problem(c, "replica_down", "warning", n->addr, "replica %s unreachable: %s",
                              n->addr, n->error);
        else if (n->role == ROLE_REPLICA && c->master[0] && strcmp(n->master_addr, c->master))
            rc |= add_problem(c, "replica_wrong_master", "warning", n->addr,
                              "replica %s replicates from %s, not from the master %s", n->addr,
                              n->master_addr, c->master);
        else if (n->role == ROLE_REPLICA && n->link_up == 0)
            rc |= add_problem(c, "replica_link_down", "warning", n->addr,
                              "replica %s has its link to %s down", n->addr, n->master_addr);
    }
    for (i = 0; i < c->nnodes; i++)
        if (c->nodes[i].up && c->nodes[i].no_config_file)
            rc |= add_problem(c, "no_config_file", "warning", c->nodes[i].addr,
                              "%s runs without a config file: a role change (a failover, "
                              "hapanel's fence, a resync) is lost when it restarts, and it comes "
                              "back with the role it was started with",
                              c->nodes[i].addr);
    for (i = 0; i < c->nsentinels; i++) {
        const snap_sentinel *s = &c->sentinels[i];
        if (!s->polled) continue;
        if (!s->up)
            rc |= add_problem(c, "sentinel_down", "warning", s->addr, "Sentinel %s unreachable: %s",
                              s->addr, s->error);
        else if (c->master[0] && s->sees_master[0] && strcmp(s->sees_master, c->master))
            rc |= add_problem(c, "sentinel_disagrees", "warning", s->addr,
                              "Sentinel %s sees %s as master, the others %s", s->addr,
                              s->sees_master, c->master);
    }
    if (!c->quorum_ok && sup > 0)
        rc |= add_problem(c, "quorum_lost", "critical", NULL,
                          "%d Sentinel(s) agree on the master, quorum %d of %d known needed",
                          c->quorum_reachable, c->quorum_configured, c->nsentinels);
    if (c->clash_group[0])
        rc |= add_problem(c, "name_clash", "critical", NULL,
                          "master name '%s' is monitored by Sentinel groups %s (shown) and %s "
                          "(ignored): rename one or list masters= per group",
                          c->name, c->group_name, c->clash_group);

    if (!c->master[0] || (m && m->polled && !m->up) || sup == 0)
        hp_strlcpy(c->status, "down", sizeof(c->status));
    else if (c->nproblems > 0)
        hp_strlcpy(c->status, "degraded", sizeof(c->status));
    else
        hp_strlcpy(c->status, "ok", sizeof(c->status));
    return rc ? -1 : 0;
}

/* ---------------------------------------------------------------- rendering */

static void num_or_null(cJSON *o, const char *k, double v)
{
    if (v < 0)
        cJSON_AddNullToObject(o, k);
    else
        cJSON_AddNumberToObject(o, k, v);
}

static void str_or_null(cJSON *o, const char *k, const char *v)
{
    if (v && v[0])
        cJSON_AddStringToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

static cJSON *render_node(const snap_node *n)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "addr", n->addr);
    str_or_null(o, "reached_at", n->reach[0] ? n->reach : NULL);
    cJSON_AddStringToObject(o, "role", role_name(n->role));
    cJSON_AddStringToObject(o, "sentinel_role", role_name(n->sentinel_role));
    /* Not polled yet: neither up nor down. */
    if (n->polled)
        cJSON_AddBoolToObject(o, "up", n->up);
    else
        cJSON_AddNullToObject(o, "up");
    str_or_null(o, "error", n->up ? NULL : n->error);
    num_or_null(o, "last_ok_ms", n->last_ok_ms > 0 ? (double)n->last_ok_ms : -1);
    if (n->role == ROLE_REPLICA || (n->sentinel_role == ROLE_REPLICA && n->role == ROLE_UNKNOWN)) {
        if (n->link_up < 0)
            cJSON_AddNullToObject(o, "link");
        else
            cJSON_AddStringToObject(o, "link", n->link_up ? "up" : "down");
        str_or_null(o, "master_addr", n->master_addr);
        num_or_null(o, "lag_bytes", (double)n->lag_bytes);
        num_or_null(o, "lag_seconds", n->lag_seconds);
        num_or_null(o, "link_down_since_s", (double)n->link_down_since_s);
        cJSON_AddBoolToObject(o, "sync_in_progress", n->sync_in_progress > 0);
    } else {
        cJSON_AddNullToObject(o, "link");
        cJSON_AddNullToObject(o, "master_addr");
        num_or_null(o, "connected_replicas", n->connected_replicas);
    }
    num_or_null(o, "repl_offset", (double)n->repl_offset);
    num_or_null(o, "used_memory", (double)n->used_memory);
    num_or_null(o, "maxmemory", (double)n->maxmemory);
    num_or_null(o, "mem_fragmentation_ratio", n->mem_fragmentation_ratio);
    num_or_null(o, "connected_clients", (double)n->connected_clients);
    num_or_null(o, "rdb_last_save_time", (double)n->rdb_last_save_time);
    str_or_null(o, "rdb_last_bgsave_status", n->rdb_last_bgsave_status);
    num_or_null(o, "rdb_changes_since_last_save", (double)n->rdb_changes_since_last_save);
    if (n->aof_enabled < 0)
        cJSON_AddNullToObject(o, "aof_enabled");
    else
        cJSON_AddBoolToObject(o, "aof_enabled", n->aof_enabled);
    str_or_null(o, "aof_last_write_status", n->aof_last_write_status);
    num_or_null(o, "priority", n->priority);
    str_or_null(o, "redis_version", n->redis_version);
    num_or_null(o, "uptime_s", (double)n->uptime_s);
    num_or_null(o, "sync_full", (double)n->sync_full);
    num_or_null(o, "total_commands_processed", (double)n->total_commands_processed);
    num_or_null(o, "ops_per_sec", (double)n->ops_per_sec);
    str_or_null(o, "sentinel_flags", n->sentinel_flags);
    return o;
}

static cJSON *render_sentinel(const snap_sentinel *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "addr", s->addr);
    str_or_null(o, "reached_at", s->reach[0] ? s->reach : NULL);
    if (s->polled)
        cJSON_AddBoolToObject(o, "up", s->up);
    else
        cJSON_AddNullToObject(o, "up");
    str_or_null(o, "error", s->up ? NULL : s->error);
    str_or_null(o, "flags", s->flags);
    str_or_null(o, "sees_master", s->sees_master);
    num_or_null(o, "quorum", s->quorum);
    num_or_null(o, "num_other_sentinels", s->num_other_sentinels);
    num_or_null(o, "num_replicas", s->num_replicas);
    cJSON_AddBoolToObject(o, "failover_in_progress", s->failover_in_progress);
    num_or_null(o, "last_ok_ms", s->last_ok_ms > 0 ? (double)s->last_ok_ms : -1);
    str_or_null(o, "redis_version", s->redis_version);
    return o;
}

static int render(cluster_snap *c)
{
    cJSON *root = cJSON_CreateObject(), *sum = cJSON_CreateObject();
    cJSON *reps, *sens, *q, *probs;
    const snap_node *m = c->master[0] ? cluster_snap_node(c, c->master) : NULL;
    int i, rc = -1, nrep = 0, nrep_ok = 0, nsen_ok = 0;

    if (!root || !sum) goto out;
    cJSON_AddStringToObject(root, "name", c->name);
    cJSON_AddStringToObject(root, "group", c->group_name);
    cJSON_AddStringToObject(root, "status", c->status);
    if (m)
        cJSON_AddItemToObject(root, "master", render_node(m));
    else
        cJSON_AddNullToObject(root, "master");
    reps = cJSON_AddArrayToObject(root, "replicas");
    for (i = 0; i < c->nnodes; i++) {
        const snap_node *n = &c->nodes[i];
        if (n == m) continue;
        nrep++;
        if (n->up && n->role == ROLE_REPLICA && n->link_up == 1 && c->master[0] &&
            !strcmp(n->master_addr, c->master))
            nrep_ok++;
        cJSON_AddItemToArray(reps, render_node(n));
    }
    sens = cJSON_AddArrayToObject(root, "sentinels");
    for (i = 0; i < c->nsentinels; i++) {
        if (c->sentinels[i].up) nsen_ok++;
        cJSON_AddItemToArray(sens, render_sentinel(&c->sentinels[i]));
    }
    q = cJSON_AddObjectToObject(root, "quorum");
    num_or_null(q, "configured", c->quorum_configured);
    cJSON_AddNumberToObject(q, "reachable", c->quorum_reachable);
    cJSON_AddBoolToObject(q, "ok", c->quorum_ok);
    cJSON_AddBoolToObject(root, "failover_in_progress", c->failover_in_progress);
    probs = cJSON_AddArrayToObject(root, "problems");
    for (i = 0; i < c->nproblems; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "code", c->problems[i].code);
        cJSON_AddStringToObject(p, "severity", c->problems[i].severity);
        str_or_null(p, "node", c->problems[i].node);
        cJSON_AddStringToObject(p, "message", c->problems[i].message);
        cJSON_AddItemToArray(probs, p);
    }
    cJSON_AddNumberToObject(root, "updated_at", (double)c->updated_at);

    cJSON_AddStringToObject(sum, "name", c->name);
    cJSON_AddStringToObject(sum, "group", c->group_name);
    cJSON_AddStringToObject(sum, "status", c->status);
    str_or_null(sum, "master", c->master);
    cJSON_AddNumberToObject(sum, "replicas", nrep);
    cJSON_AddNumberToObject(sum, "replicas_ok", nrep_ok);
    cJSON_AddNumberToObject(sum, "sentinels", c->nsentinels);
    cJSON_AddNumberToObject(sum, "sentinels_ok", nsen_ok);
    num_or_null(sum, "quorum", c->quorum_configured);
    cJSON_AddBoolToObject(sum, "quorum_ok", c->quorum_ok);
    cJSON_AddBoolToObject(sum, "failover_in_progress", c->failover_in_progress);
    cJSON_AddNumberToObject(sum, "problems", c->nproblems);
    cJSON_AddNumberToObject(sum, "updated_at", (double)c->updated_at);

    /* Names and errors come from Redis and Sentinel as any bytes. */
    hp_json_fix_utf8(root);
    hp_json_fix_utf8(sum);
    c->json = cJSON_PrintUnformatted(root);
    c->summary_json = cJSON_PrintUnformatted(sum);
    if (!c->json || !c->summary_json) goto out;
    c->json_len = strlen(c->json);
    rc = 0;
out:
    cJSON_Delete(root);
    cJSON_Delete(sum);
    return rc;
}

int cluster_snap_finish(cluster_snap *c, int64_t now_ms)
{
    c->updated_at = now_ms;
    if (derive(c) < 0) return -1;
    return render(c);
}

/* ---------------------------------------------------------------- publishing */

static pthread_mutex_t topo_lock = PTHREAD_MUTEX_INITIALIZER;
static topo_snap *topo_current;

topo_snap *topo_snap_new(cluster_snap **clusters, int n, int64_t now_ms)
{
    topo_snap *t = calloc(1, sizeof(*t));
    int i;

    if (!t) {
        for (i = 0; i < n; i++)
            cluster_snap_unref(clusters[i]);
        free(clusters);
        return NULL;
    }
    t->refs = 1;
    t->clusters = clusters;
    t->nclusters = n;
    t->built_at = now_ms;
    return t;
}

static void topo_snap_unref(topo_snap *t)
{
    int i;
    if (!t || __atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
    for (i = 0; i < t->nclusters; i++)
        cluster_snap_unref(t->clusters[i]);
    free(t->clusters);
    free(t);
}

void topo_init(void)
{
    topo_publish(topo_snap_new(NULL, 0, 0));
}

topo_snap *topo_acquire(void)
{
    topo_snap *t;
    pthread_mutex_lock(&topo_lock);
    t = topo_current;
    if (t) __atomic_add_fetch(&t->refs, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&topo_lock);
    return t;
}

void topo_release(topo_snap *t)
{
    topo_snap_unref(t);
}

void topo_publish(topo_snap *t)
{
    topo_snap *old;
    if (!t) return;
    pthread_mutex_lock(&topo_lock);
    old = topo_current;
    topo_current = t;
    pthread_mutex_unlock(&topo_lock);
    topo_snap_unref(old);
}

void topo_shutdown(void)
{
    topo_snap *old;
    pthread_mutex_lock(&topo_lock);
    old = topo_current;
    topo_current = NULL;
    pthread_mutex_unlock(&topo_lock);
    topo_snap_unref(old);
}

const cluster_snap *topo_find(const topo_snap *t, const char *name)
{
    int lo = 0, hi = t ? t->nclusters - 1 : -1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(t->clusters[mid]->name, name);
        if (c == 0) return t->clusters[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

/* ---------------------------------------------------------------------- diff */

static const snap_problem *find_problem(const cluster_snap *c, const char *code)
{
    int i;
    for (i = 0; c && i < c->nproblems; i++)
        if (!strcmp(c->problems[i].code, code)) return &c->problems[i];
    return NULL;
}

static const snap_sentinel *find_sentinel(const cluster_snap *c, const char *addr)
{
    int i;
    for (i = 0; c && i < c->nsentinels; i++)
        if (!strcmp(c->sentinels[i].addr, addr)) return &c->sentinels[i];
    return NULL;
}

static void emitf(topo_event_fn *fn, void *ctx, const cluster_snap *c, const char *type,
                  const char *sev, const char *node, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static void emitf(topo_event_fn *fn, void *ctx, const cluster_snap *c, const char *type,
                  const char *sev, const char *node, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fn(ctx, c->name, type, sev, node, msg);
}

static void diff_nodes(const cluster_snap *old, const cluster_snap *nw, topo_event_fn *fn,
                       void *ctx)
{
    int i;

    for (i = 0; i < nw->nnodes; i++) {
        const snap_node *n = &nw->nodes[i];
        const snap_node *o = cluster_snap_node(old, n->addr);
        int is_master = n->sentinel_role == ROLE_MASTER;
        if (!o) {
            emitf(fn, ctx, nw, "node-added", "info", n->addr, "%s %s discovered%s%s%s",
                  is_master ? "master" : "replica", n->addr, n->reach[0] ? " (reached at " : "",
                  n->reach, n->reach[0] ? ")" : "");
            if (n->polled && !n->up)
                emitf(fn, ctx, nw, "node-down", is_master ? "critical" : "warning", n->addr,
                      "%s unreachable: %s", n->addr, n->error);
            continue;
        }
        if (!n->polled) continue;
        if ((o->up || !o->polled) && !n->up) {
            emitf(fn, ctx, nw, "node-down", is_master ? "critical" : "warning", n->addr,
                  "%s %s unreachable%s%s%s: %s", is_master ? "master" : "replica", n->addr,
                  n->reach[0] ? " at " : "", n->reach, "", n->error);
            continue;
        }
        if (o->polled && !o->up && n->up)
            emitf(fn, ctx, nw, "node-up", "info", n->addr, "%s answers again", n->addr);
        if (!n->up) continue;
        if (o->up && o->role != ROLE_UNKNOWN && n->role != ROLE_UNKNOWN && o->role != n->role)
            emitf(fn, ctx, nw, "role-change", "warning", n->addr, "%s changed role: %s -> %s",
                  n->addr, role_name(o->role), role_name(n->role));
        if (o->up && o->role == ROLE_REPLICA && n->role == ROLE_REPLICA) {
            if (o->link_up == 1 && n->link_up == 0)
                emitf(fn, ctx, nw, "link-down", "warning", n->addr,
                      "replica %s lost its link to %s", n->addr, n->master_addr);
            else if (o->link_up == 0 && n->link_up == 1)
                emitf(fn, ctx, nw, "link-up", "info", n->addr, "replica %s link to %s is up",
                      n->addr, n->master_addr);
        }
    }
    for (i = 0; i < old->nnodes; i++)
        if (!cluster_snap_node(nw, old->nodes[i].addr))
            emitf(fn, ctx, nw, "node-removed", "info", old->nodes[i].addr,
                  "%s no longer reported by the Sentinels", old->nodes[i].addr);
}

static void diff_sentinels(const cluster_snap *old, const cluster_snap *nw, topo_event_fn *fn,
                           void *ctx)
{
    int i;
    for (i = 0; i < nw->nsentinels; i++) {
        const snap_sentinel *s = &nw->sentinels[i], *o = find_sentinel(old, s->addr);
        if (!s->polled) continue;
        if ((!o || o->up || !o->polled) && !s->up)
            emitf(fn, ctx, nw, "sentinel-down", "warning", s->addr, "Sentinel %s unreachable: %s",
                  s->addr, s->error);
        else if (o && o->polled && !o->up && s->up)
            emitf(fn, ctx, nw, "sentinel-up", "info", s->addr, "Sentinel %s answers again",
                  s->addr);
    }
}

/* Problems that are events of their own when they appear and when they go. */
static const struct {
    const char *code, *raised, *cleared, *cleared_msg;
} edge_problems[] = {
    {"split_brain", "split-brain", "split-brain-resolved", "only one master accepts writes"},
    {"quorum_lost", "quorum-lost", "quorum-regained", "the Sentinels reach quorum again"},
    {"name_clash", "cluster-name-clash", "cluster-name-clash-resolved",
     "only one Sentinel group names this master now"},
};

void cluster_snap_diff(const cluster_snap *old, const cluster_snap *nw, topo_event_fn *fn,
                       void *ctx)
{
    size_t i;

    for (i = 0; i < sizeof(edge_problems) / sizeof(edge_problems[0]); i++) {
        const snap_problem *p = find_problem(nw, edge_problems[i].code);
        const snap_problem *op = find_problem(old, edge_problems[i].code);
        if (p && !op)
            emitf(fn, ctx, nw, edge_problems[i].raised, "critical", NULL, "%s", p->message);
        if (!p && op)
            emitf(fn, ctx, nw, edge_problems[i].cleared, "info", NULL, "%s",
                  edge_problems[i].cleared_msg);
    }
    if (!old) return;
    diff_nodes(old, nw, fn, ctx);
    diff_sentinels(old, nw, fn, ctx);
    if (old->master[0] && nw->master[0] && strcmp(old->master, nw->master))
        emitf(fn, ctx, nw, "master-changed", "warning", nw->master, "master %s -> %s", old->master,
              nw->master);
}
