/* publish.c — building a cluster's snapshot from what the polls found,
 * diffing it against the last one into panel events, evaluating the alert
 * rules, and publishing (see internal.h). */
#define _POSIX_C_SOURCE 200809L
#include "monitor/internal.h"

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
#include "core/banned.h" /* last: after every system header */

/* ------------------------------------------------------------ publishing */

/* Lag of replica n from the INFO of a master of its cluster that lists it:
 * bytes behind that master's offset (from the replica's own offset when it
 * answers, else from its last ack) and seconds since its last ack. The
 * master's view is what still moves when the replica hangs (SIGSTOP). */
typedef struct members {
    mnode **v; /* the cluster's nodes */
    int n;
} members;

static void master_view(snap_node *sn, const mnode *n, const members *ms, int64_t own_offset)
{
    int i, j;
    for (i = 0; i < ms->n; i++) {
        const mnode *mn = ms->v[i];
        if (mn == n || !mn->up || mn->info.role != ROLE_MASTER) continue;
        for (j = 0; j < mn->info.nreplicas; j++) {
            const info_replica *ir = &mn->info.replicas[j];
            char ra[HP_ADDR_MAX];
            int64_t off = own_offset >= 0 ? own_offset : ir->offset;
            hp_addr_fmt(ra, sizeof(ra), ir->ip, ir->port);
            if (strcmp(ra, n->addr)) continue;
            sn->lag_seconds = (double)ir->lag;
            if (off >= 0 && mn->info.master_repl_offset >= 0)
                sn->lag_bytes =
                    mn->info.master_repl_offset > off ? mn->info.master_repl_offset - off : 0;
            return;
        }
    }
}

static void fill_node(snap_node *sn, const mnode *n, const members *ms)
{
    const node_info *in = &n->info;
    memset(sn, 0, sizeof(*sn));
    hp_strlcpy(sn->addr, n->addr, sizeof(sn->addr));
    hp_strlcpy(sn->reach, n->reach, sizeof(sn->reach));
    sn->polled = n->polled;
    sn->up = n->up;
    hp_strlcpy(sn->error, n->error, sizeof(sn->error));
    sn->last_ok_ms = n->last_ok_ms;
    hp_strlcpy(sn->redis_version, in->redis_version, sizeof(sn->redis_version));
    hp_strlcpy(sn->sentinel_flags, n->sentinel_flags, sizeof(sn->sentinel_flags));
    sn->lag_bytes = -1;
    sn->lag_seconds = -1;
    memcpy(&sn->conf, &n->conf, sizeof(sn->conf));
    sn->write_bps = n->up ? n->write_bps : -1;
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
        sn->total_commands_processed = sn->ops_per_sec = -1;
        master_view(sn, n, ms, -1);
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
    sn->total_commands_processed = in->total_commands_processed;
    sn->ops_per_sec = in->ops_per_sec;

    if (in->role == ROLE_REPLICA) master_view(sn, n, ms, in->slave_repl_offset);
    if (in->role == ROLE_REPLICA && in->link_up == 0 && in->link_down_since_s >= 0)
        sn->lag_seconds = (double)in->link_down_since_s;
}

static void fill_sentinel(snap_sentinel *ss, const msentinel *s, const sview *v)
{
    memset(ss, 0, sizeof(*ss));
    hp_strlcpy(ss->addr, s->addr, sizeof(ss->addr));
    hp_strlcpy(ss->reach, s->reach, sizeof(ss->reach));
    ss->polled = s->polled;
    ss->up = s->up;
    hp_strlcpy(ss->error, s->error, sizeof(ss->error));
    ss->last_ok_ms = s->last_ok_ms;
    ss->quorum = ss->num_other_sentinels = ss->num_replicas = -1;
    ss->failover_timeout_ms = -1;
    hp_strlcpy(ss->redis_version, s->version, sizeof(ss->redis_version));
    if (!v) return;
    ss->failover_timeout_ms = v->failover_timeout_ms;
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
    for (i = 0; i < v->nreps; i++)
        promo_sview_from_entry(&out[i], s->addr, &v->reps[i]);
}

static void diff_event(void *ctx, const char *cluster, const char *type, const char *severity,
                       const char *node, const char *message)
{
    hp_event e;
    hp_event_set(&e, EV_TOPOLOGY, cluster, type, severity, "panel", node, message);
    mon__emit(ctx, &e);
}

static void alert_event(void *ctx, const char *cluster, const char *rule, const char *node,
                        const char *severity, int firing, const char *message, int64_t since_ms)
{
    hp_event e;
    hp_event_set(&e, firing ? EV_ALERT_FIRED : EV_ALERT_RESOLVED, cluster,
                 firing ? "alert-fired" : "alert-resolved", severity, "panel",
                 node[0] ? node : NULL, message);
    hp_strlcpy(e.rule, rule, sizeof(e.rule));
    e.since = since_ms;
    mon__emit(ctx, &e);
}

static cluster_snap *build(monitor *m, mcluster *mc)
{
    cluster_snap *c = cluster_snap_new(mc->name);
    const cfg_group *g = config_group(m->cfg, mc->group);
    members ms = {NULL, 0};
    int i, ns = 0, nv = 0;

    if (!c) return NULL;
    c->group = mc->group;
    if (g) hp_strlcpy(c->group_name, g->name, sizeof(c->group_name));
    /* Another group named it: shown until it has not for FORGET_AFTER_MS. */
    if (mc->clash_group >= 0 && hp_mono_ms() - mc->clash_seen_ms > m->forget_after_ms) {
        mc->clash_group = -1;
        mc->clash_warned = 0;
    }
    if (mc->clash_group >= 0) {
        const cfg_group *og = config_group(m->cfg, mc->clash_group);
        hp_strlcpy(c->clash_group, og ? og->name : "?", sizeof(c->clash_group));
    }
    /* Sized by the cluster, not the fleet: memory grows with the nodes watched. */
    ms.v = malloc(sizeof(*ms.v) * ((size_t)m->nnodes + 1));
    if (!ms.v) goto fail;
    for (i = 0; i < m->nnodes; i++)
        if (m->nodes[i]->group == mc->group &&
            (m->nodes[i]->mc ? m->nodes[i]->mc == mc : !strcmp(m->nodes[i]->cluster, mc->name)))
            ms.v[ms.n++] = m->nodes[i];
    for (i = 0; i < m->nsentinels; i++) {
        const sview *v = mon__view_get(m->sentinels[i], mc->name, 0);
        if (v && m->sentinels[i]->up && m->sentinels[i]->group == mc->group) nv += v->nreps;
    }
    c->nodes = calloc((size_t)ms.n + 1, sizeof(*c->nodes));
    c->sentinels = calloc((size_t)m->nsentinels + 1, sizeof(*c->sentinels));
    c->sviews = calloc((size_t)nv + 1, sizeof(*c->sviews));
    if (!c->nodes || !c->sentinels || !c->sviews) goto fail;
    for (i = 0; i < ms.n; i++)
        fill_node(&c->nodes[i], ms.v[i], &ms);
    for (i = 0; i < m->nsentinels; i++) {
        const msentinel *s = m->sentinels[i];
        const sview *v;
        if (s->group != mc->group) continue; /* the cluster's own group's Sentinels only */
        v = mon__view_get((msentinel *)s, mc->name, 0);
        /* A Sentinel that never answered may watch this cluster: show it. */
        if (v || s->nviews == 0) fill_sentinel(&c->sentinels[ns++], s, v);
        /* A Sentinel that does not answer has no current view. */
        if (v && s->up) {
            fill_sviews(&c->sviews[c->nsviews], s, v);
            c->nsviews += v->nreps;
        }
    }
    c->nnodes = ms.n;
    c->nsentinels = ns;
    if (cluster_snap_finish(c, hp_now_ms()) < 0) goto fail;
    free(ms.v);
    return c;
fail:
    free(ms.v);
    cluster_snap_unref(c);
    return NULL;
}

/* The history charts' samples of a new snapshot: one per node whose INFO
 * answered since the last one (a rebuild without a new answer adds none).
 * ops is the commands processed since the node's previous answer over the
 * time between, the rate Grafana draws from redis_commands_processed_total;
 * without a previous answer, Redis's instantaneous_ops_per_sec. */
typedef struct samples {
    db_sample *v;
    int n, cap;
} samples;

static void add_samples(samples *sb, const cluster_snap *prev, const cluster_snap *c)
{
    int i;
    for (i = 0; i < c->nnodes; i++) {
        const snap_node *sn = &c->nodes[i], *pn = prev ? cluster_snap_node(prev, sn->addr) : NULL;
        db_sample *s;
        if (!sn->up || sn->last_ok_ms <= 0 || (pn && pn->last_ok_ms == sn->last_ok_ms)) continue;
        if (sb->n == sb->cap) {
            int cap = sb->cap ? sb->cap * 2 : 16;
            db_sample *nv = realloc(sb->v, sizeof(*nv) * (size_t)cap);
            if (!nv) return;
            sb->v = nv;
            sb->cap = cap;
        }
        s = &sb->v[sb->n++];
        hp_strlcpy(s->cluster, c->name, sizeof(s->cluster));
        hp_strlcpy(s->node, sn->addr, sizeof(s->node));
        s->ts = sn->last_ok_ms / 1000;
        s->lag_bytes = sn->lag_bytes;
        s->lag_ms = db_sample_ms(sn->lag_seconds); /* clamped: INFO may say anything */
        s->used_memory = sn->used_memory;
        s->maxmemory = sn->maxmemory;
        s->clients = sn->connected_clients;
        s->ops = sn->ops_per_sec;
        if (pn && pn->up && pn->total_commands_processed >= 0 &&
            sn->total_commands_processed >= pn->total_commands_processed &&
            sn->last_ok_ms > pn->last_ok_ms)
            s->ops = (sn->total_commands_processed - pn->total_commands_processed) * 1000 /
                     (sn->last_ok_ms - pn->last_ok_ms);
    }
}

static int cluster_order(const void *a, const void *b)
{
    return strcmp((*(cluster_snap *const *)a)->name, (*(cluster_snap *const *)b)->name);
}

void mon__on_publish(evutil_socket_t fd, short what, void *arg)
{
    monitor *m = arg;
    cluster_snap **all;
    samples sb = {NULL, 0, 0};
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
        add_samples(&sb, mc->last, c);
        cluster_snap_unref(mc->last);
        mc->last = c;
    }
    if (sb.n) evq_push_samples(m->q, sb.v, sb.n); /* this poll's, in one transaction */
    free(sb.v);
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
