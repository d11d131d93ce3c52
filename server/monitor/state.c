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

/* ------------------------------------------------------------------ lookups */

int mon__name_wanted(const monitor *m, const char *name)
{
    int i;
    if (m->cfg->nmasters == 0) return 1;
    for (i = 0; i < m->cfg->nmasters; i++)
        if (!strcmp(m->cfg->masters[i], name)) return 1;
    return 0;
}

mcluster *mon__cluster_get(monitor *m, const char *name, int create)
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

void mon__mark_dirty(monitor *m, const char *cluster)
{
    mcluster *c = mon__cluster_get(m, cluster, 0);
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
mnode *mon__node_seen(monitor *m, const char *cluster, const char *host, int port)
{
    char addr[HP_ADDR_MAX];
    mnode *n, **nn;

    hp_addr_fmt(addr, sizeof(addr), host, port);
    n = node_get(m, addr);
    if (n) {
        n->seen_ms = hp_mono_ms();
        if (strcmp(n->cluster, cluster)) { /* a node moved to another master name */
            mon__mark_dirty(m, n->cluster);
            hp_strlcpy(n->cluster, cluster, sizeof(n->cluster));
            mon__mark_dirty(m, cluster);
        }
        return n;
    }
    nn = realloc(m->nodes, sizeof(*nn) * (size_t)(m->nnodes + 1));
    if (!nn) return NULL;
    m->nodes = nn;
    n = calloc(1, sizeof(*n));
    if (n) n->slot = m->next_slot++ % POLL_SLOTS;
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
    mon__mark_dirty(m, cluster);
    return n;
}

msentinel *mon__sentinel_add(monitor *m, const char *addr, int seed)
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

sview *mon__view_get(msentinel *s, const char *name, int create)
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
    nv[s->nviews].slot = s->m->next_slot++ % POLL_SLOTS;
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
