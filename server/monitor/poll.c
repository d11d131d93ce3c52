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

/* The master's write rate: its repl offset's growth over at least
 * RATE_WINDOW_MS, so that one poll's jitter does not make it jump. A restart,
 * a role change or a new replication ID (the offset goes back) starts over. */
#define RATE_WINDOW_MS 5000
static void write_rate(mnode *n)
{
    int64_t now = hp_mono_ms(), off = n->info.master_repl_offset;
    if (n->info.role != ROLE_MASTER || off < 0) {
        n->rate_ms = 0;
        n->write_bps = -1;
    } else if (n->rate_ms == 0 || off < n->rate_off) {
        n->rate_off = off;
        n->rate_ms = now;
        n->write_bps = -1;
    } else if (now - n->rate_ms >= RATE_WINDOW_MS) {
        n->write_bps = (off - n->rate_off) * 1000 / (now - n->rate_ms);
        n->rate_off = off;
        n->rate_ms = now;
    }
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
                mon__node_seen(m, n->group, n->cluster, n->info.replicas[i].ip,
                               n->info.replicas[i].port);
        write_rate(n);
        mon__conf_poll(n, hp_mono_ms());
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

/* ------------------------------------------------------ running config */

/* What the config lint reads of a node's running config (snap_conf). Redis 7
 * answers one CONFIG GET of several names; before it, CONFIG GET takes one
 * pattern, and * costs a few KiB once per [lint] interval_s. */
#define CONF_KEYS                                                                                  \
    "min-replicas-to-write maxmemory maxmemory-policy replica-read-only replica-priority "         \
    "masterauth requirepass appendonly save repl-backlog-size protected-mode"

static int yes_no(const char *v)
{
    return !strcmp(v, "yes") ? 1 : !strcmp(v, "no") ? 0 : -1;
}

/* One name/value of the reply into c. The passwords' values are looked at
 * for being empty and nothing else: they are not copied anywhere. */
static void conf_value(snap_conf *c, const char *k, const char *v)
{
    if (!strcmp(k, "min-replicas-to-write") || !strcmp(k, "min-slaves-to-write"))
        c->min_replicas_to_write = atoi(v);
    else if (!strcmp(k, "maxmemory"))
        c->maxmemory = strtoll(v, NULL, 10);
    else if (!strcmp(k, "maxmemory-policy"))
        hp_strlcpy(c->maxmemory_policy, v, sizeof(c->maxmemory_policy));
    else if (!strcmp(k, "replica-read-only") || !strcmp(k, "slave-read-only"))
        c->replica_read_only = yes_no(v);
    else if (!strcmp(k, "replica-priority") || !strcmp(k, "slave-priority"))
        c->replica_priority = atoi(v);
    else if (!strcmp(k, "masterauth"))
        c->masterauth_set = v[0] != '\0';
    else if (!strcmp(k, "requirepass"))
        c->requirepass_set = v[0] != '\0';
    else if (!strcmp(k, "appendonly"))
        c->appendonly = yes_no(v);
    else if (!strcmp(k, "save"))
        hp_strlcpy(c->save, v, sizeof(c->save));
    else if (!strcmp(k, "repl-backlog-size"))
        c->repl_backlog_size = strtoll(v, NULL, 10);
    else if (!strcmp(k, "protected-mode"))
        c->protected_mode = yes_no(v);
}

static void on_conf(rconn *c, redisReply *r, void *priv)
{
    mnode *n = priv;
    monitor *m = n->m;
    snap_conf nc;
    size_t i;
    int changed;

    (void)c;
    if (m->stopping) return;
    n->conf_pending = 0;
    if (!r) { /* the connection, not CONFIG: asked again at the next answer */
        n->conf_due_ms = 0;
        return;
    }
    memset(&nc, 0, sizeof(nc));
    nc.min_replicas_to_write = nc.replica_read_only = nc.replica_priority = -1;
    nc.masterauth_set = nc.requirepass_set = nc.appendonly = nc.protected_mode = -1;
    nc.maxmemory = nc.repl_backlog_size = -1;
    if (r->type == REDIS_REPLY_ARRAY) {
        nc.state = 1;
        for (i = 0; i + 1 < r->elements; i += 2)
            if (r->element[i]->type == REDIS_REPLY_STRING &&
                r->element[i + 1]->type == REDIS_REPLY_STRING)
                conf_value(&nc, r->element[i]->str, r->element[i + 1]->str);
    } else {
        /* renamed (rename-command CONFIG ""), refused by an ACL, ... */
        nc.state = -1;
        hp_strlcpy(nc.error, r->type == REDIS_REPLY_ERROR ? r->str : "not an array",
                   sizeof(nc.error));
    }
    n->conf_due_ms = hp_mono_ms() + (int64_t)m->cfg->lint_interval_s * 1000;
    nc.read_at_ms = n->conf.read_at_ms;
    changed = memcmp(&nc, &n->conf, sizeof(nc)) != 0;
    nc.read_at_ms = hp_now_ms();
    memcpy(&n->conf, &nc, sizeof(nc));
    /* the cluster's own slot rebuilds it every interval anyway */
    if (changed) mon__mark_dirty(m, n->cluster);
}

void mon__conf_poll(mnode *n, int64_t now_ms)
{
    if (n->conf_pending || (n->conf_due_ms && now_ms < n->conf_due_ms)) return;
    n->conf_pending = 1;
    if (atoi(n->info.redis_version) >= 7)
        rconn_cmd(n->conn, on_conf, n, "CONFIG GET " CONF_KEYS);
    else
        rconn_cmd(n->conn, on_conf, n, "CONFIG GET *");
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
        mnode *nd = mon__node_seen(m, q->s->group, q->name, e[i].ip, e[i].port);
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
        mon__sentinel_add(m, q->s->group, addr, 0); /* joins its discoverer's group */
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
    if (s->group >= 0 && s->group < CFG_MAX_GROUPS) m->group_ok_ms[s->group] = now;
    s->last_ok_ms = hp_now_ms();
    for (i = 0; i < n; i++) {
        sview *v, old;
        char master[HP_ADDR_MAX];
        int changed;
        /* a name another group owns is that group's: this view is ignored */
        if (!mon__name_wanted(m, s->group, e[i].name) ||
            !mon__cluster_claim(m, s->group, e[i].name))
            continue;
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
        v->failover_timeout_ms = e[i].failover_timeout_ms;
        v->s_down_ms = sreply_has_flag(e[i].flags, "s_down") ? e[i].s_down_ms : -1;
        v->seen_ms = now;
        /* Rebuilt only for a change: the cluster's own slot rebuilds it every
         * interval anyway, and one reply names every master. */
        changed = !was_up || !old.queried || strcmp(old.master, v->master) ||
                  strcmp(old.flags, v->flags) || old.quorum != v->quorum ||
                  old.num_other_sentinels != v->num_other_sentinels ||
                  old.num_slaves != v->num_slaves || old.failover != v->failover ||
                  old.down_after_ms != v->down_after_ms || old.s_down_ms != v->s_down_ms ||
                  old.failover_timeout_ms != v->failover_timeout_ms;
        {
            mnode *mn = mon__node_seen(m, s->group, e[i].name, e[i].ip, e[i].port);
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
