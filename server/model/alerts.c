/* alerts.c — alert rule evaluation (see alerts.h). Each (cluster, rule, node)
 * has a small state: since when its condition holds, since when it is clear,
 * and whether it fired. */
#define _POSIX_C_SOURCE 200809L
#include "model/alerts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/banned.h" /* last: after every system header */

typedef struct astate {
    char cluster[HP_NAME_MAX];
    char rule[32];
    char node[HP_ADDR_MAX];
    int64_t true_since, clear_since;
    int holding, clearing; /* true_since / clear_since are set */
    int firing;
    char severity[12]; /* of the firing, used again for its resolution */
    int seen;          /* the condition held in this evaluation */
} astate;

struct alerts {
    const config *cfg;
    astate *st;
    int n, cap;
};

alerts *alerts_new(const config *cfg)
{
    alerts *a = calloc(1, sizeof(*a));
    if (a) a->cfg = cfg;
    return a;
}

void alerts_free(alerts *a)
{
    if (!a) return;
    free(a->st);
    free(a);
}

static astate *state(alerts *a, const char *cluster, const char *rule, const char *node)
{
    int i;
    for (i = 0; i < a->n; i++)
        if (!strcmp(a->st[i].cluster, cluster) && !strcmp(a->st[i].rule, rule) &&
            !strcmp(a->st[i].node, node))
            return &a->st[i];
    if (a->n == a->cap) {
        int cap = a->cap ? a->cap * 2 : 16;
        astate *ns = realloc(a->st, sizeof(*ns) * (size_t)cap);
        if (!ns) return NULL;
        a->st = ns;
        a->cap = cap;
    }
    memset(&a->st[a->n], 0, sizeof(a->st[0]));
    hp_strlcpy(a->st[a->n].cluster, cluster, sizeof(a->st[0].cluster));
    hp_strlcpy(a->st[a->n].rule, rule, sizeof(a->st[0].rule));
    hp_strlcpy(a->st[a->n].node, node, sizeof(a->st[0].node));
    return &a->st[a->n++];
}

void alerts_restore(alerts *a, const char *cluster, const char *rule, const char *node,
                    const char *severity, int64_t since_ms)
{
    astate *s = state(a, cluster, rule, node);
    if (!s) return;
    s->firing = 1;
    s->holding = 1;
    s->true_since = since_ms;
    hp_strlcpy(s->severity, severity, sizeof(s->severity));
}

/* The condition of one rule holds now: fire once it held for hold_s. */
static void holds(alerts *a, const cluster_snap *c, const char *rule, const char *node,
                  const char *sev, int hold_s, int64_t now, const char *msg, alerts_fn *fn,
                  void *ctx)
{
    astate *s = state(a, c->name, rule, node ? node : "");
    if (!s) return;
    s->seen = 1;
    s->clearing = 0;
    if (!s->holding) {
        s->holding = 1;
        s->true_since = now;
    }
    if (!s->firing && now - s->true_since >= (int64_t)hold_s * 1000) {
        s->firing = 1;
        hp_strlcpy(s->severity, sev, sizeof(s->severity));
        fn(ctx, c->name, rule, s->node, sev, 1, msg, s->true_since);
    }
}

static int has_problem(const cluster_snap *c, const char *code, const char **msg)
{
    int i;
    for (i = 0; i < c->nproblems; i++)
        if (!strcmp(c->problems[i].code, code)) {
            *msg = c->problems[i].message;
            return 1;
        }
    return 0;
}

void alerts_eval(alerts *a, const cluster_snap *c, int64_t now, alerts_fn *fn, void *ctx)
{
    const config *cfg = a->cfg;
    const snap_node *m = c->master[0] ? cluster_snap_node(c, c->master) : NULL;
    const char *pm;
    char msg[512];
    int i;

    for (i = 0; i < a->n; i++)
        if (!strcmp(a->st[i].cluster, c->name)) a->st[i].seen = 0;

    if (m && m->polled && !m->up) {
        snprintf(msg, sizeof(msg), "master %s down for more than %d s: %s", m->addr,
                 cfg->alert_master_down_s, m->error);
        holds(a, c, "master_down", m->addr, "critical", cfg->alert_master_down_s, now, msg, fn,
              ctx);
    }
    for (i = 0; i < c->nnodes; i++) {
        const snap_node *n = &c->nodes[i];
        if (n == m || !n->polled) continue;
        if (!n->up || n->link_up == 0) {
            snprintf(msg, sizeof(msg), "replica %s %s for more than %d s", n->addr,
                     !n->up ? "unreachable" : "has its replication link down",
                     cfg->alert_replica_down_s);
            holds(a, c, "replica_down", n->addr, "warning", cfg->alert_replica_down_s, now, msg, fn,
                  ctx);
        }
        if (n->lag_seconds > cfg->alert_lag_s) {
            snprintf(msg, sizeof(msg), "replica %s lags %.0f s behind (limit %d s)", n->addr,
                     n->lag_seconds, cfg->alert_lag_s);
            holds(a, c, "lag", n->addr, "warning", 0, now, msg, fn, ctx);
        }
    }
    for (i = 0; i < c->nnodes; i++) {
        const snap_node *n = &c->nodes[i];
        if (!n->up || n->maxmemory <= 0 || n->used_memory < 0) continue;
        if (n->used_memory * 100 > (int64_t)cfg->alert_memory_pct * n->maxmemory) {
            snprintf(msg, sizeof(msg), "%s uses %.0f%% of maxmemory (limit %d%%)", n->addr,
                     100.0 * (double)n->used_memory / (double)n->maxmemory, cfg->alert_memory_pct);
            holds(a, c, "memory", n->addr, "warning", 0, now, msg, fn, ctx);
        }
    }
    if (has_problem(c, "quorum_lost", &pm))
        holds(a, c, "quorum_lost", NULL, "critical", 0, now, pm, fn, ctx);
    if (has_problem(c, "split_brain", &pm))
        holds(a, c, "split_brain", NULL, "critical", 0, now, pm, fn, ctx);

    /* Everything of this cluster whose condition did not hold: clear it, and
     * resolve what fired once it stayed clear long enough. */
    for (i = 0; i < a->n; i++) {
        astate *s = &a->st[i];
        if (strcmp(s->cluster, c->name) || s->seen) continue;
        s->holding = 0;
        if (!s->firing) continue;
        if (!s->clearing) {
            s->clearing = 1;
            s->clear_since = now;
        }
        if (now - s->clear_since >= (int64_t)cfg->alert_resolve_after_s * 1000) {
            s->firing = 0;
            s->clearing = 0;
            snprintf(msg, sizeof(msg), "%s%s%s resolved", s->rule, s->node[0] ? " on " : "",
                     s->node);
            /* the same severity as the firing: whoever was paged hears it ended */
            fn(ctx, c->name, s->rule, s->node, s->severity, 0, msg, s->clear_since);
        }
    }
}

static void change(ev_alert *a, int open, const char *rule, const char *node)
{
    memset(a, 0, sizeof(*a));
    a->open = open;
    hp_strlcpy(a->rule, rule, sizeof(a->rule));
    hp_strlcpy(a->node, node, sizeof(a->node));
}

int alerts_of_event(const hp_event *e, ev_alert out[EV_MAX_ALERTS])
{
    int backup = !strcmp(e->job_kind, "backup");
    switch (e->kind) {
    case EV_ALERT_FIRED:
    case EV_ALERT_RESOLVED:
        if (!e->rule[0]) return 0;
        change(&out[0], e->kind == EV_ALERT_FIRED, e->rule, e->node);
        return 1;
    case EV_BACKUP_STALE:
        change(&out[0], 1, "backup_stale", "");
        return 1;
    case EV_EVENTS_DROPPED:
        change(&out[0], 1, "events_dropped", "");
        return 1;
    case EV_JOB_FAILED:
        if (!backup) return 0;
        change(&out[0], 1, "backup_failed", "");
        return 1;
    case EV_JOB_SUCCEEDED:
        if (!backup) return 0;
        change(&out[0], 0, "backup_stale", "");
        change(&out[1], 0, "backup_failed", "");
        return 2;
    default:
        return 0;
    }
}
