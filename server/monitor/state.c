/* state.c — the monitor's lookups: clusters, nodes and Sentinels found or
 * added as replies name them (see internal.h). */
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

/* ------------------------------------------------------------ name indexes */

/* The fleet's nodes and clusters are looked up by name at every reply (a
 * master's INFO names its replicas, a SENTINEL REPLICAS answer its entries):
 * hashed, so that a thousand nodes do not cost a thousand strcmp each time. */

typedef const char *name_at(const void *ctx, int i);

static const char *node_name_at(const void *ctx, int i)
{
    return ((const monitor *)ctx)->nodes[i]->addr;
}

static const char *cluster_name_at(const void *ctx, int i)
{
    return ((const monitor *)ctx)->clusters[i]->name;
}

static const char *view_name_at(const void *ctx, int i)
{
    return ((const msentinel *)ctx)->views[i].name;
}

static unsigned name_hash(const char *s)
{
    unsigned h = 2166136261u; /* FNV-1a */
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

static void ix_put(name_index *ix, const char *name, int i)
{
    unsigned mask = (unsigned)ix->cap - 1, h;
    for (h = name_hash(name) & mask; ix->slot[h]; h = (h + 1) & mask)
        ;
    ix->slot[h] = i + 1;
}

/* Makes ix cover the n entries of at(); -1 when out of memory. */
static int ix_sync(const void *m, name_index *ix, int n, name_at *at)
{
    int i, cap;
    if (!ix->stale && ix->n == n && ix->slot) return 0;
    if (!ix->stale && ix->n == n - 1 && ix->slot && 2 * n <= ix->cap) {
        ix_put(ix, at(m, n - 1), n - 1);
        ix->n = n;
        return 0;
    }
    for (cap = 16; cap < 2 * n; cap *= 2)
        ;
    if (cap != ix->cap) {
        int *ns = realloc(ix->slot, sizeof(*ns) * (size_t)cap);
        if (!ns) return -1;
        ix->slot = ns;
        ix->cap = cap;
    }
    memset(ix->slot, 0, sizeof(*ix->slot) * (size_t)ix->cap);
    for (i = 0; i < n; i++)
        ix_put(ix, at(m, i), i);
    ix->n = n;
    ix->stale = 0;
    return 0;
}

/* The index of name among the n entries of at(), or -1. */
static int ix_find(const void *m, name_index *ix, int n, name_at *at, const char *name)
{
    unsigned mask, h;
    int i;
    if (ix_sync(m, ix, n, at) < 0) {
        ix->stale = 1;
        for (i = 0; i < n; i++)
            if (!strcmp(at(m, i), name)) return i;
        return -1;
    }
    mask = (unsigned)ix->cap - 1;
    for (h = name_hash(name) & mask; ix->slot[h]; h = (h + 1) & mask)
        if (!strcmp(at(m, ix->slot[h] - 1), name)) return ix->slot[h] - 1;
    return -1;
}

void mon__nodes_removed(monitor *m)
{
    m->node_ix.stale = 1;
}

void mon__index_free(name_index *ix)
{
    free(ix->slot);
    memset(ix, 0, sizeof(*ix));
}

/* ------------------------------------------------------------------ lookups */

int mon__name_wanted(const monitor *m, int group, const char *name)
{
    int i;
    const cfg_group *g = config_group(m->cfg, group);
    if (!g) return 0;
    if (g->nmasters == 0) return 1;
    for (i = 0; i < g->nmasters; i++)
        if (!strcmp(g->masters[i], name)) return 1;
    return 0;
}

mcluster *mon__cluster_get(monitor *m, const char *name, int create)
{
    int i = ix_find(m, &m->cluster_ix, m->nclusters, cluster_name_at, name);
    mcluster *c, **nc;
    if (i >= 0) return m->clusters[i];
    if (!create) return NULL;
    nc = realloc(m->clusters, sizeof(*nc) * (size_t)(m->nclusters + 1));
    if (!nc) return NULL;
    m->clusters = nc;
    c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    hp_strlcpy(c->name, name, sizeof(c->name));
    c->clash_group = -1;
    /* A cluster's nodes and views share its slot: one rebuild of its
     * snapshot per interval, not one per reply spread over the slots. */
    c->slot = m->next_slot++ % POLL_SLOTS;
    m->clusters[m->nclusters++] = c;
    log_info("monitor: watching master '%s'", name);
    return c;
}

static const char *group_name(const monitor *m, int group)
{
    const cfg_group *g = config_group(m->cfg, group);
    return g ? g->name : "?";
}

/* Whether a Sentinel of the cluster's group has a view of it (a view goes
 * when its Sentinel answers without that master, or is forgotten). */
static int group_names(monitor *m, const mcluster *c)
{
    int i;
    for (i = 0; i < m->nsentinels; i++)
        if (m->sentinels[i]->group == c->group && mon__view_get(m->sentinels[i], c->name, 0))
            return 1;
    return 0;
}

mcluster *mon__cluster_claim(monitor *m, int group, const char *name)
{
    mcluster *c = mon__cluster_get(m, name, 0);
    if (!c) {
        c = mon__cluster_get(m, name, 1);
        if (c) c->group = group;
        return c;
    }
    if (c->group == group) return c;
    if (config_group_of_master(m->cfg, name) == group && group_names(m, c)) {
        /* group's masters= lists the name, the owner takes every master:
         * the list decides, not which group answered first (a restart would
         * flip it); the owner's view is the clash now */
        log_warn("monitor: master name '%s' is monitored by Sentinel groups %s (shown: its "
                 "masters= lists it) and %s (ignored)",
                 name, group_name(m, group), group_name(m, c->group));
        c->clash_group = c->group;
        c->clash_warned = c->group >= 0 && c->group < 32 ? 1u << c->group : 0;
        c->clash_seen_ms = hp_mono_ms();
        c->group = group;
        mon__mark_dirty(m, name);
        return c;
    }
    if (!group_names(m, c)) {
        /* the owner's Sentinels all dropped it (SENTINEL REMOVE): the name
         * is free, and passes to the group naming it now */
        log_info("monitor: master '%s' passes from Sentinel group %s, whose Sentinels no longer "
                 "name it, to %s",
                 name, group_name(m, c->group), group_name(m, group));
        c->group = group;
        c->clash_group = -1;
        c->clash_warned = 0;
        mon__mark_dirty(m, name);
        return c;
    }
    /* The first group to name a master owns it; another group naming it
     * too is a clash, shown on the cluster (publish.c) until it stops. A
     * third group naming it is logged once too, but the problem keeps naming
     * the first clashing group (not each in turn, a line at every poll)
     * until that one stops. */
    if (c->clash_group < 0) {
        c->clash_group = group;
        mon__mark_dirty(m, name);
    }
    if (group >= 0 && group < 32 && !(c->clash_warned & (1u << group))) {
        c->clash_warned |= 1u << group;
        log_warn("monitor: master name '%s' is monitored by Sentinel groups %s (shown) and %s "
                 "(ignored)",
                 name, group_name(m, c->group), group_name(m, group));
    }
    if (c->clash_group == group) c->clash_seen_ms = hp_mono_ms();
    return NULL;
}

void mon__mark_dirty(monitor *m, const char *cluster)
{
    mcluster *c = mon__cluster_get(m, cluster, 0);
    struct timeval tv = {0, PUBLISH_DELAY_MS * 1000};
    if (!c) return;
    c->dirty = 1;
    if (!evtimer_pending(m->publish, NULL)) evtimer_add(m->publish, &tv);
}

void mon__request_out(mcluster *c)
{
    if (c) c->awaiting++;
}

void mon__reply_in(monitor *m, mcluster *c)
{
    struct timeval tv = {0, PUBLISH_DELAY_MS * 1000};
    if (!c) return;
    if (c->awaiting > 0) c->awaiting--;
    if (c->awaiting > 0) {
        c->held = 1;
        return;
    }
    c->held = 0;
    c->dirty = 1;
    if (!evtimer_pending(m->publish, NULL)) evtimer_add(m->publish, &tv);
}

void mon__release_held(monitor *m)
{
    int i;
    for (i = 0; i < m->nclusters; i++) {
        mcluster *c = m->clusters[i];
        c->awaiting = 0;
        if (c->held) {
            c->held = 0;
            mon__mark_dirty(m, c->name);
        }
    }
}

/* The node at addr in group. The index hashes the address alone: the
 * nodes of two groups at one address are in the same probe chain. */
static mnode *node_get(monitor *m, int group, const char *addr)
{
    name_index *ix = &m->node_ix;
    unsigned mask, h;
    int i;
    if (ix_sync(m, ix, m->nnodes, node_name_at) < 0) {
        ix->stale = 1;
        for (i = 0; i < m->nnodes; i++)
            if (m->nodes[i]->group == group && !strcmp(m->nodes[i]->addr, addr)) return m->nodes[i];
        return NULL;
    }
    mask = (unsigned)ix->cap - 1;
    for (h = name_hash(addr) & mask; ix->slot[h]; h = (h + 1) & mask) {
        mnode *n = m->nodes[ix->slot[h] - 1];
        if (n->group == group && !strcmp(n->addr, addr)) return n;
    }
    return NULL;
}

/* Finds or adds the node at host:port in cluster; refreshes its seen time.
 * NULL (out of memory, or) when the node is another cluster's, which named
 * it within MOVE_AFTER_MS: a master monitored under two names is not handed
 * from one to the other at every poll (a node-added and a node-removed
 * event each time); it moves once its cluster stops naming it. */
mnode *mon__node_seen(monitor *m, int group, const char *cluster, const char *host, int port)
{
    char addr[HP_ADDR_MAX];
    mnode *n, **nn;
    const cfg_group *g = config_group(m->cfg, group);

    if (!g) return NULL;
    {
        const mcluster *owner = mon__cluster_get(m, cluster, 0);
        if (owner && owner->group != group) return NULL; /* another group's name */
    }
    hp_addr_fmt(addr, sizeof(addr), host, port);
    n = node_get(m, group, addr);
    if (n) {
        int64_t now = hp_mono_ms();
        n->seen_ms = now;
        if (strcmp(n->cluster, cluster) && now - n->own_seen_ms < MOVE_AFTER_MS) return NULL;
        n->own_seen_ms = now;
        if (strcmp(n->cluster, cluster)) { /* a node moved to another master name */
            mon__mark_dirty(m, n->cluster);
            hp_strlcpy(n->cluster, cluster, sizeof(n->cluster));
            n->mc = mon__cluster_get(m, cluster, 0);
            if (n->mc) n->slot = n->mc->slot;
            mon__mark_dirty(m, cluster);
        }
        if (!n->mc) n->mc = mon__cluster_get(m, cluster, 0);
        return n;
    }
    nn = realloc(m->nodes, sizeof(*nn) * (size_t)(m->nnodes + 1));
    if (!nn) return NULL;
    m->nodes = nn;
    n = calloc(1, sizeof(*n));
    if (!n) return NULL;
    n->m = m;
    n->group = group;
    n->write_bps = -1;
    n->mc = mon__cluster_get(m, cluster, 0);
    n->slot = n->mc ? n->mc->slot : m->next_slot++ % POLL_SLOTS;
    hp_strlcpy(n->addr, addr, sizeof(n->addr));
    hp_strlcpy(n->cluster, cluster, sizeof(n->cluster));
    n->seen_ms = n->own_seen_ms = hp_mono_ms();
    {
        /* shown as announced, reached where the address map says */
        char mh[HP_HOST_MAX];
        int mp;
        char mb[HP_ADDR_MAX];
        const char *reach = config_map_addr(g, addr, mb, sizeof(mb));
        if (reach != addr) hp_strlcpy(n->reach, reach, sizeof(n->reach));
        if (hp_addr_parse(reach, mh, sizeof(mh), &mp) == 0)
            n->conn =
                rconn_new(m->base, mh, mp, g->redis_user, g->redis_password, m->cfg->timeout_ms);
    }
    if (!n->conn) {
        free(n);
        return NULL;
    }
    m->nodes[m->nnodes++] = n;
    log_info("monitor: %s: node %s discovered%s%s", cluster, addr,
             n->reach[0] ? ", reached at " : "", n->reach);
    mon__mark_dirty(m, cluster);
    return n;
}

msentinel *mon__sentinel_add(monitor *m, int group, const char *addr, int seed)
{
    char host[HP_HOST_MAX], mb[HP_ADDR_MAX];
    int port, i;
    msentinel *s, **ns;
    const cfg_group *g = config_group(m->cfg, group);
    const char *reach;

    if (!g) return NULL;
    reach = config_map_addr(g, addr, mb, sizeof(mb));
    /* Keyed by (group, addr) as nodes are: two sites may announce the same
     * address, each group's map sending it to its own Sentinel. */
    for (i = 0; i < m->nsentinels; i++) {
        s = m->sentinels[i];
        if (s->group == group && !strcmp(s->addr, addr)) {
            s->seen_ms = hp_mono_ms();
            return s;
        }
    }
    for (i = 0; i < m->nsentinels; i++) {
        s = m->sentinels[i];
        if (s->group == group || strcmp(s->reach[0] ? s->reach : s->addr, reach)) continue;
        /* A Sentinel is in one group (config_finish refuses one configured
         * in two): another group's Sentinels naming it, reached at the same
         * address, do not move it. */
        if (group >= 0 && group < 32 && !(s->other_groups_warned & (1u << group))) {
            s->other_groups_warned |= 1u << group;
            log_warn("monitor: Sentinel %s, of group %s, is also named by the Sentinels of group "
                     "%s: ignored there",
                     reach, group_name(m, s->group), group_name(m, group));
        }
        return NULL;
    }
    if (hp_addr_parse(reach, host, sizeof(host), &port) < 0) return NULL;
    ns = realloc(m->sentinels, sizeof(*ns) * (size_t)(m->nsentinels + 1));
    if (!ns) return NULL;
    m->sentinels = ns;
    s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->m = m;
    s->group = group;
    hp_strlcpy(s->addr, addr, sizeof(s->addr));
    if (reach != addr) hp_strlcpy(s->reach, reach, sizeof(s->reach));
    s->seed = seed;
    s->seen_ms = hp_mono_ms();
    s->conn =
        rconn_new(m->base, host, port, g->sentinel_user, g->sentinel_password, m->cfg->timeout_ms);
    s->sub =
        rconn_new(m->base, host, port, g->sentinel_user, g->sentinel_password, m->cfg->timeout_ms);
    if (!s->conn || !s->sub) {
        rconn_free(s->conn);
        rconn_free(s->sub);
        free(s);
        return NULL;
    }
    m->sentinels[m->nsentinels++] = s;
    if (!seed) log_info("monitor: Sentinel %s discovered (group %s)", addr, g->name);
    return s;
}

sview *mon__view_get(msentinel *s, const char *name, int create)
{
    int i = ix_find(s, &s->view_ix, s->nviews, view_name_at, name);
    sview *nv;
    mcluster *c;
    if (i >= 0) return &s->views[i];
    if (!create) return NULL;
    c = mon__cluster_get(s->m, name, 0);
    nv = realloc(s->views, sizeof(*nv) * (size_t)(s->nviews + 1));
    if (!nv) return NULL;
    s->views = nv;
    memset(&nv[s->nviews], 0, sizeof(*nv));
    hp_strlcpy(nv[s->nviews].name, name, sizeof(nv->name));
    nv[s->nviews].slot = c ? c->slot : s->m->next_slot++ % POLL_SLOTS;
    return &nv[s->nviews++];
}

void mon__views_free(msentinel *s)
{
    int i;
    for (i = 0; i < s->nviews; i++)
        free(s->views[i].reps);
    free(s->views);
    s->views = NULL;
    s->nviews = 0;
    mon__index_free(&s->view_ix);
}

void mon__emit(monitor *m, const hp_event *e)
{
    evq_push(m->q, e);
    log_info("event %s %s %s %s", e->cluster, e->type, e->node, e->message);
}

void mon__all_sentinel_clusters_dirty(monitor *m, msentinel *s)
{
    int i;
    if (s->nviews == 0)
        for (i = 0; i < m->nclusters; i++)
            mon__mark_dirty(m, m->clusters[i]->name);
    for (i = 0; i < s->nviews; i++)
        mon__mark_dirty(m, s->views[i].name);
}
