/* poll.c — the replies of the monitor's polls: each node's INFO and each
 * Sentinel's SENTINEL MASTERS, REPLICAS and SENTINELS (see internal.h). */
#define _POSIX_C_SOURCE 200809L
#include "monitor/internal.h"
#include "monitor/monitor.h"

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/alerts.h"
#include "redis/info.h"
#include "core/log.h"
#include "model/promote.h"
#include "redis/rconn.h"
#include "redis/sreply.h"
#include "model/topology.h"
#include "core/banned.h" /* last: after every system header */

/* ----------------------------------------------------------- node polling */

int64_t mon__now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One INFO round trip into the histogram: two relaxed atomic adds on the
 * loop thread, read by /metrics without a lock. */
static void poll_observe(monitor *m, int64_t us)
{
    int i = 0;
    if (us < 0) us = 0;
    while (i < MONITOR_POLL_BUCKETS && (double)us > monitor_poll_bounds[i] * 1e6)
        i++;
    __atomic_add_fetch(&m->poll_hist[i], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&m->poll_sum_us, (uint64_t)us, __ATOMIC_RELAXED);
}

void mon__on_info(rconn *c, redisReply *r, void *priv)
{
    mnode *n = priv;
    monitor *m = n->m;
    int i;

    if (m->stopping) return;
    /* Sentinel's reconfiguration and a fencing job close every normal client
     * (CLIENT KILL TYPE normal): a dropped connection gets one immediate
     * retry before the node is called down. So does a missed deadline: on a
     * busy host one late answer is not a node down; a hung node misses the
     * retry's deadline too (it is shown down after twice timeout_ms). */
    if (!r && n->up && !n->retried) {
        n->retried = 1;
        rconn_cmd(c, mon__on_info, n, "INFO");
        return;
    }
    __atomic_add_fetch(&m->polls, 1, __ATOMIC_RELAXED);
    if (n->info_sent_us) poll_observe(m, mon__now_us() - n->info_sent_us);
    n->polled = 1;
    if (r && r->type == REDIS_REPLY_STRING && info_parse(r->str, r->len, &n->info) >= 0) {
        n->up = 1;
        n->error[0] = '\0';
        n->last_ok_ms = hp_now_ms();
        /* A master names its replicas before the Sentinels do (they read INFO
         * every 10 s): take them at once. */
        if (n->info.role == ROLE_MASTER)
            for (i = 0; i < n->info.nreplicas; i++)
                mon__node_seen(m, n->cluster, n->info.replicas[i].ip, n->info.replicas[i].port);
    } else {
        __atomic_add_fetch(&m->poll_failures, 1, __ATOMIC_RELAXED);
        n->up = 0;
        hp_strlcpy(n->error,
                   rconn_auth_error(c)                 ? rconn_auth_error(c)
                   : r && r->type == REDIS_REPLY_ERROR ? r->str
                                                       : rconn_error(c),
                   sizeof(n->error));
    }
    if (n->mc)
        mon__reply_in(m, n->mc);
    else
        mon__mark_dirty(m, n->cluster);
}

/* ------------------------------------------------------- Sentinel polling */

static void sentinel_failed(msentinel *s, redisReply *r, rconn *c)
{
    const char *why = rconn_auth_error(c)                 ? rconn_auth_error(c)
                      : r && r->type == REDIS_REPLY_ERROR ? r->str
                                                          : rconn_error(c);
    if (!s->polled || s->up) log_warn("monitor: Sentinel %s: %s", s->addr, why);
    s->polled = 1;
    s->up = 0;
    if (s->sub_lost_ms && !r) s->sub_gap_down = 1; /* unreachable: not a slow subscriber */
    hp_strlcpy(s->error, why, sizeof(s->error));
    mon__all_sentinel_clusters_dirty(s->m, s);
}

/* The entries of a SENTINEL REPLICAS/SENTINELS reply into *out (caller
 * frees); returns their number, or -1 when there is nothing to read. */
static int read_entries(monitor *m, redisReply *r, sentinel_entry **out)
{
    *out = NULL;
    if (m->stopping || !r || r->type != REDIS_REPLY_ARRAY) return -1;
    /* as many as the reply holds: no fixed limit on masters or replicas */
    *out = malloc(sizeof(**out) * (r->elements + 1));
    return *out ? sreply_entries(r, *out, (int)r->elements) : -1;
}

static void on_replicas(rconn *c, redisReply *r, void *priv)
{
    squery *q = priv;
    monitor *m = q->s->m;
    sentinel_entry *e;
    int n = read_entries(m, r, &e), i;

    (void)c;
    if (n < 0) {
        if (!m->stopping) mon__reply_in(m, mon__cluster_get(m, q->name, 0));
        goto out;
    }
    for (i = 0; i < n; i++) {
        mnode *nd = mon__node_seen(m, q->name, e[i].ip, e[i].port);
        if (nd) hp_strlcpy(nd->sentinel_flags, e[i].flags, sizeof(nd->sentinel_flags));
    }
    /* Kept whole: the failover plan applies Sentinel's own selection rules
     * to each Sentinel's view of the replicas. */
    {
        sview *v = mon__view_get(q->s, q->name, 0);
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
    mon__reply_in(m, mon__cluster_get(m, q->name, 0));
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
        mon__sentinel_add(m, addr, 0);
    }
out:
    free(e);
    free(q);
}

/* The Sentinel's version, asked once per Sentinel. */
void mon__on_sentinel_info(rconn *c, redisReply *r, void *priv)
{
    msentinel *s = priv;
    node_info in;
    (void)c;
    if (s->m->stopping || !r || r->type != REDIS_REPLY_STRING) return;
    if (info_parse(r->str, r->len, &in) >= 0 && in.redis_version[0]) {
        hp_strlcpy(s->version, in.redis_version, sizeof(s->version));
        mon__all_sentinel_clusters_dirty(s->m, s);
    }
}

void mon__query_master(msentinel *s, sview *v, int sentinels)
{
    squery *a = malloc(sizeof(*a)), *b = sentinels ? malloc(sizeof(*b)) : NULL;
    if (!a || (sentinels && !b)) {
        free(a);
        free(b);
        return;
    }
    v->queried = 1;
    a->s = s;
    hp_strlcpy(a->name, v->name, sizeof(a->name));
    rconn_cmd(s->conn, on_replicas, a, "SENTINEL REPLICAS %s", v->name);
    if (b) {
        b->s = s;
        hp_strlcpy(b->name, v->name, sizeof(b->name));
        rconn_cmd(s->conn, on_sentinels, b, "SENTINEL SENTINELS %s", v->name);
    }
}

void mon__on_masters(rconn *c, redisReply *r, void *priv)
{
    msentinel *s = priv;
    monitor *m = s->m;
    sentinel_entry *e = NULL;
    int n, i, j, was_up = s->up;
    int64_t now = hp_mono_ms();

    s->masters_pending = 0;
    if (m->stopping) return;
    /* As for a node: a dropped connection or a missed deadline gets one
     * immediate retry before the Sentinel is called down. One late answer of
     * a Sentinel would otherwise take it out of the quorum of every master it
     * monitors at once. */
    if (!r && s->up && !s->retried) {
        s->retried = 1;
        s->masters_pending = 1;
        rconn_cmd(c, mon__on_masters, s, "SENTINEL MASTERS");
        return;
    }
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        sentinel_failed(s, r, c);
        return;
    }
    s->retried = 0;
    e = malloc(sizeof(*e) * (r->elements + 1));
    if (!e) return;
    n = sreply_entries(r, e, (int)r->elements);
    if (!s->up) log_info("monitor: Sentinel %s answers (%d masters)", s->addr, n < 0 ? 0 : n);
    s->polled = s->up = 1;
    s->error[0] = '\0';
    m->sentinel_ok_ms = now;
    s->last_ok_ms = hp_now_ms();
    for (i = 0; i < n; i++) {
        sview *v, old;
        char master[HP_ADDR_MAX];
        int changed;
        if (!mon__name_wanted(m, e[i].name) || !mon__cluster_get(m, e[i].name, 1)) continue;
        v = mon__view_get(s, e[i].name, 1);
        if (!v) continue;
        old = *v;
        hp_addr_fmt(master, sizeof(master), e[i].ip, e[i].port);
        hp_strlcpy(v->master, master, sizeof(v->master));
        hp_strlcpy(v->flags, e[i].flags, sizeof(v->flags));
        v->quorum = e[i].quorum;
        v->num_other_sentinels = e[i].num_other_sentinels;
        v->num_slaves = e[i].num_slaves;
        v->failover = sreply_has_flag(e[i].flags, "failover_in_progress");
        v->down_after_ms = e[i].down_after_ms;
        v->s_down_ms = sreply_has_flag(e[i].flags, "s_down") ? e[i].s_down_ms : -1;
        v->seen_ms = now;
        /* Rebuilt only for a change: the cluster's own slot rebuilds it every
         * interval anyway, and one reply names every master. */
        changed = !was_up || !old.queried || strcmp(old.master, v->master) ||
                  strcmp(old.flags, v->flags) || old.quorum != v->quorum ||
                  old.num_other_sentinels != v->num_other_sentinels ||
                  old.num_slaves != v->num_slaves || old.failover != v->failover ||
                  old.down_after_ms != v->down_after_ms || old.s_down_ms != v->s_down_ms;
        {
            mnode *mn = mon__node_seen(m, e[i].name, e[i].ip, e[i].port);
            if (mn && strncmp(mn->sentinel_flags, e[i].flags, sizeof(mn->sentinel_flags) - 1)) {
                hp_strlcpy(mn->sentinel_flags, e[i].flags, sizeof(mn->sentinel_flags));
                changed = 1;
            }
        }
        if (changed) mon__mark_dirty(m, e[i].name);
        /* a master seen for the first time is asked about at once; the
         * others in their slot of the interval (monitor.c) */
        if (!v->queried) mon__query_master(s, v, 1);
    }
    /* A master this Sentinel no longer monitors (SENTINEL REMOVE) leaves it. */
    for (i = j = 0; i < s->nviews; i++) {
        if (s->views[i].seen_ms == now) {
            s->views[j++] = s->views[i];
        } else {
            mon__mark_dirty(m, s->views[i].name);
            free(s->views[i].reps);
        }
    }
    if (j != s->nviews) s->view_ix.stale = 1;
    s->nviews = j;
    free(e);
}
