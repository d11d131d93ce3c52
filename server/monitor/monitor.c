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
#include "monitor/internal.h"

#include <cjson/cJSON.h>
#include <event2/dns.h>
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

/* ------------------------------------------------------------------- tick */

/* The last time a Sentinel of group g answered (0: never). */
static int64_t group_ok(const monitor *m, int g)
{
    return g >= 0 && g < CFG_MAX_GROUPS ? m->group_ok_ms[g] : 0;
}

/* Forgets what the Sentinels have stopped naming. Measured against the last
 * time any Sentinel of the same group answered, so an outage of a group's
 * Sentinels forgets nothing of that group, whatever the other groups say. */
static void forget_stale(monitor *m)
{
    int i, j;

    for (i = j = 0; i < m->nnodes; i++) {
        mnode *n = m->nodes[i];
        if (group_ok(m, n->group) - n->seen_ms > m->forget_after_ms) {
            log_info("monitor: %s: forgetting node %s, no longer reported", n->cluster, n->addr);
            mon__mark_dirty(m, n->cluster);
            n->m->stopping++; /* its callback must not touch n while we free it */
            rconn_free(n->conn);
            n->m->stopping--;
            free(n);
            continue;
        }
        m->nodes[j++] = n;
    }
    if (j != m->nnodes) mon__nodes_removed(m);
    m->nnodes = j;
    for (i = j = 0; i < m->nsentinels; i++) {
        msentinel *s = m->sentinels[i];
        if (!s->seed && group_ok(m, s->group) - s->seen_ms > m->forget_after_ms) {
            log_info("monitor: forgetting Sentinel %s, no longer reported", s->addr);
            mon__all_sentinel_clusters_dirty(m, s);
            m->stopping++;
            rconn_free(s->conn);
            rconn_free(s->sub);
            m->stopping--;
            mon__views_free(s);
            free(s);
            continue;
        }
        m->sentinels[j++] = s;
    }
    m->nsentinels = j;
}

/* One slot of the interval: its share of the nodes' INFO and of the
 * per-master Sentinel queries, so a thousand nodes are polled as a steady
 * trickle, not one burst that makes every reply late. Slot 0 also asks each
 * Sentinel for its masters. all: everything at once (at start, and right
 * after a failover, when the new roles should show within a round trip). */
static void poll_slot(monitor *m, int slot, int all)
{
    int i, k, sentinels = all || m->rounds % SENTINELS_EVERY == 0;

    /* What the last slot's stragglers answered is published now. */
    mon__release_held(m);
    if (all || slot == 0) {
        forget_stale(m);
        for (i = 0; i < m->nsentinels; i++) {
            msentinel *s = m->sentinels[i];
            if (!s->masters_pending) {
                s->masters_pending = 1;
                rconn_cmd(s->conn, mon__on_masters, s, "SENTINEL MASTERS");
            }
            if (!s->version[0] && rconn_pending(s->conn) == 0)
                rconn_cmd(s->conn, mon__on_sentinel_info, s, "INFO server");
            if (!rconn_active(s->sub)) rconn_psubscribe(s->sub, mon__on_sentinel_event, s, "*");
        }
    }
    for (i = 0; i < m->nsentinels; i++) {
        msentinel *s = m->sentinels[i];
        if (!s->up) continue;
        for (k = 0; k < s->nviews; k++)
            if (all || s->views[k].slot == slot) {
                mon__request_out(mon__cluster_get(m, s->views[k].name, 0));
                mon__query_master(s, &s->views[k], sentinels);
            }
    }
    /* m->nodes may grow inside on_info (a master naming a new replica). */
    for (i = 0; i < m->nnodes; i++) {
        mnode *n = m->nodes[i];
        if ((all || n->slot == slot) && rconn_pending(n->conn) == 0) {
            n->retried = 0;
            n->info_sent_us = mon__now_us();
            mon__request_out(n->mc);
            rconn_cmd(n->conn, mon__on_info, n, "INFO");
        }
    }
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    monitor *m = arg;
    int slot = m->slot;
    (void)fd;
    (void)what;

    __atomic_add_fetch(&m->ticks, 1, __ATOMIC_RELAXED);
    m->slot = (m->slot + 1) % POLL_SLOTS;
    if (slot == 0) m->rounds++;
    poll_slot(m, slot, 0);
}

static void on_burst(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    poll_slot(arg, 0, 1);
}

/* ------------------------------------------------------------------ thread */

static void *loop_main(void *arg)
{
    monitor *m = arg;
    hp_failpoint_slow_start();
    event_base_dispatch(m->base);
    return NULL;
}

/* libevent's own messages (evdns: "Nameserver ... has failed") go to the
 * log at debug level rather than to stderr: each lookup's outcome is shown on
 * its node. */
static void libevent_log(int severity, const char *msg)
{
    (void)severity;
    log_debug("libevent: %s", msg);
}

monitor *monitor_new(const config *cfg, evq *q)
{
    monitor *m;
    int i, g;
    struct timeval tv;

    if (evthread_use_pthreads() < 0) return NULL;
    m = calloc(1, sizeof(*m));
    if (!m) return NULL;
    m->cfg = cfg;
    m->q = q;
    m->forget_after_ms = hp_failpoint_is("fast-forget") ? FORGET_AFTER_MS_FAST : FORGET_AFTER_MS;
    m->alerts = alerts_new(cfg);
    event_set_log_callback(libevent_log);
    m->base = event_base_new();
    if (!m->base || !m->alerts) goto fail;
    /* resolv.conf and the hosts file; without them (a bare container) names
     * go to hiredis, which looks them up inline */
    if (cfg->resolv_conf[0]) {
        m->dns = evdns_base_new(m->base, 0);
        if (m->dns && evdns_base_resolv_conf_parse(m->dns, DNS_OPTIONS_ALL, cfg->resolv_conf)) {
            log_warn("monitor: cannot read the resolver file %s", cfg->resolv_conf);
            evdns_base_free(m->dns, 0);
            m->dns = NULL;
        }
    } else {
        m->dns = evdns_base_new(m->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
    }
    if (m->dns) {
        char t[16];
        snprintf(t, sizeof(t), "%d", cfg->timeout_ms / 1000 > 0 ? cfg->timeout_ms / 1000 : 1);
        evdns_base_set_option(m->dns, "timeout:", t);
        evdns_base_set_option(m->dns, "attempts:", "2");
        rconn_set_resolver(m->dns);
    } else {
        log_warn("monitor: no DNS resolver configuration: host names are looked up inline");
    }
    m->tick = event_new(m->base, -1, EV_PERSIST, on_tick, m);
    m->burst = event_new(m->base, -1, 0, on_burst, m);
    m->publish = evtimer_new(m->base, mon__on_publish, m);
    if (!m->tick || !m->burst || !m->publish) goto fail;
    {
        int slot_ms =
            cfg->poll_interval_ms / POLL_SLOTS > 0 ? cfg->poll_interval_ms / POLL_SLOTS : 1;
        tv.tv_sec = slot_ms / 1000;
        tv.tv_usec = (slot_ms % 1000) * 1000;
    }
    event_add(m->tick, &tv);
    for (g = 0; g < cfg->ngroups; g++) {
        const cfg_group *cg = config_group(cfg, g);
        for (i = 0; i < cg->nsentinels; i++)
            if (!mon__sentinel_add(m, g, cg->sentinels[i], 1)) goto fail;
    }
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
    event_active(m->burst, EV_TIMEOUT, 0); /* first poll: everything at once */
    if (pthread_create(&m->thread, NULL, loop_main, m) != 0) return -1;
    m->running = 1;
    return 0;
}

void monitor_free(monitor *m)
{
    int i;
    if (!m) return;
    if (m->running) {
        event_base_loopexit(m->base, NULL); /* not loopbreak: see edge_stop */
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
        mon__views_free(m->sentinels[i]);
        free(m->sentinels[i]);
    }
    /* the monitor's own events go before the loop runs once more, below:
     * their callbacks would read what is freed here */
    if (m->tick) event_free(m->tick);
    if (m->burst) event_free(m->burst);
    if (m->publish) event_free(m->publish);
    if (m->dns) {
        /* the lookups cancelled by rconn_free end in callbacks the loop
         * runs; no other event is left on it (every connection is freed) */
        event_base_loop(m->base, EVLOOP_NONBLOCK);
        rconn_set_resolver(NULL);
        evdns_base_free(m->dns, 1); /* what is still in flight ends as failed */
        event_base_loop(m->base, EVLOOP_NONBLOCK);
    }
    for (i = 0; i < m->nclusters; i++) {
        cluster_snap_unref(m->clusters[i]->last);
        free(m->clusters[i]);
    }
    free(m->nodes);
    free(m->sentinels);
    free(m->clusters);
    mon__index_free(&m->node_ix);
    mon__index_free(&m->cluster_ix);
    alerts_free(m->alerts);
    if (m->base) event_base_free(m->base);
    free(m);
}

/* ----------------------------------------------------------------- counters */

/* Prometheus' default buckets moved down a decade: a LAN's INFO answers in
 * well under 5 ms (loopback in a few hundred µs), and the default timeout
 * (1 s, twice with its retry) lands in the top buckets. */
_Static_assert(POLL_HIST_BUCKETS == MONITOR_POLL_BUCKETS, "the histogram's buckets");
const double monitor_poll_bounds[MONITOR_POLL_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                          0.05,   0.1,   0.25,   0.5,   1,    2.5};

void monitor_counters(const monitor *m, monitor_stats *out)
{
    int i;
    out->polls = __atomic_load_n(&m->polls, __ATOMIC_RELAXED);
    out->poll_failures = __atomic_load_n(&m->poll_failures, __ATOMIC_RELAXED);
    out->sentinel_events = __atomic_load_n(&m->sentinel_events, __ATOMIC_RELAXED);
    for (i = 0; i <= MONITOR_POLL_BUCKETS; i++)
        out->poll_hist[i] = __atomic_load_n(&m->poll_hist[i], __ATOMIC_RELAXED);
    out->poll_sum_us = __atomic_load_n(&m->poll_sum_us, __ATOMIC_RELAXED);
}
