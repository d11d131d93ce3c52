/* test_alerts.c — alert rules: fire after the hold time, resolve only after
 * resolve_after_s clear, a flapping node pages once, severity kept for the
 * resolution, memory and lag thresholds. */
#include <stdlib.h>
#include <string.h>

#include "model/alerts.h"
#include "check.h"

typedef struct rec {
    int fired, resolved;
    char last_rule[32], last_sev[12];
    int64_t last_since; /* the condition's start (or its clearing's) */
} rec;

static void on_alert(void *ctx, const char *cluster, const char *rule, const char *node,
                     const char *severity, int firing, const char *message, int64_t since_ms)
{
    rec *r = ctx;
    r->last_since = since_ms;
    (void)cluster;
    (void)node;
    (void)message;
    if (firing)
        r->fired++;
    else
        r->resolved++;
    hp_strlcpy(r->last_rule, rule, sizeof(r->last_rule));
    hp_strlcpy(r->last_sev, severity, sizeof(r->last_sev));
}

/* master :1 and replica :2, with the given states. */
static cluster_snap *snap(int master_up, int replica_up, double lag_s, long long used,
                          long long max)
{
    cluster_snap *c = cluster_snap_new("c");
    snap_sentinel *s;
    c->nodes = calloc(2, sizeof(*c->nodes));
    c->sentinels = calloc(1, sizeof(*c->sentinels));
    hp_strlcpy(c->nodes[0].addr, "h:1", sizeof(c->nodes[0].addr));
    c->nodes[0].polled = 1;
    c->nodes[0].up = master_up;
    c->nodes[0].role = master_up ? ROLE_MASTER : ROLE_UNKNOWN;
    c->nodes[0].link_up = -1;
    c->nodes[0].used_memory = used;
    c->nodes[0].maxmemory = max;
    c->nodes[0].lag_seconds = -1;
    hp_strlcpy(c->nodes[1].addr, "h:2", sizeof(c->nodes[1].addr));
    c->nodes[1].polled = 1;
    c->nodes[1].up = replica_up;
    c->nodes[1].role = replica_up ? ROLE_REPLICA : ROLE_UNKNOWN;
    c->nodes[1].link_up = replica_up ? 1 : -1;
    hp_strlcpy(c->nodes[1].master_addr, "h:1", sizeof(c->nodes[1].master_addr));
    c->nodes[1].lag_seconds = lag_s;
    c->nodes[1].used_memory = c->nodes[1].maxmemory = -1;
    c->nnodes = 2;
    s = &c->sentinels[0];
    hp_strlcpy(s->addr, "h:26379", sizeof(s->addr));
    s->polled = s->up = 1;
    hp_strlcpy(s->sees_master, "h:1", sizeof(s->sees_master));
    s->quorum = 1;
    c->nsentinels = 1;
    cluster_snap_finish(c, 0);
    return c;
}

static void eval(alerts *a, cluster_snap *c, int64_t t, rec *r)
{
    alerts_eval(a, c, t, on_alert, r);
    cluster_snap_unref(c);
}

int main(void)
{
    config cfg;
    alerts *a;
    rec r;
    int64_t t;

    config_defaults(&cfg);
    cfg.alert_master_down_s = 10;
    cfg.alert_replica_down_s = 60;
    cfg.alert_lag_s = 5;
    cfg.alert_memory_pct = 90;
    cfg.alert_resolve_after_s = 30;

    /* master down: nothing at 9 s, fires at 10 s, once */
    a = alerts_new(&cfg);
    memset(&r, 0, sizeof(r));
    for (t = 0; t <= 9000; t += 1000)
        eval(a, snap(0, 1, 0, -1, -1), t, &r);
    CHECK(r.fired == 0);
    eval(a, snap(0, 1, 0, -1, -1), 10000, &r);
    eval(a, snap(0, 1, 0, -1, -1), 11000, &r);
    CHECK(r.fired == 1);
    CHECK_STR(r.last_rule, "master_down");
    CHECK_STR(r.last_sev, "critical");
    CHECK(r.last_since == 0); /* it fired at 10 s; the master went down at 0 s */
    /* back up: resolves only after 30 s clear, with the firing's severity */
    for (t = 12000; t < 42000; t += 1000)
        eval(a, snap(1, 1, 0, -1, -1), t, &r);
    CHECK(r.resolved == 0);
    eval(a, snap(1, 1, 0, -1, -1), 42000, &r);
    CHECK(r.resolved == 1);
    CHECK_STR(r.last_sev, "critical");
    CHECK(r.last_since == 12000); /* clear since 12 s, resolved at 42 s */
    alerts_free(a);

    /* flapping master (down 12 s, up 5 s, ...): one page, no resolution */
    a = alerts_new(&cfg);
    memset(&r, 0, sizeof(r));
    for (t = 0; t < 170000; t += 1000) {
        int phase = (int)((t / 1000) % 17);
        eval(a, snap(phase >= 12, 1, 0, -1, -1), t, &r);
    }
    CHECK(r.fired == 1);
    CHECK(r.resolved == 0);
    alerts_free(a);

    /* lag and memory fire at once and resolve after the window */
    a = alerts_new(&cfg);
    memset(&r, 0, sizeof(r));
    eval(a, snap(1, 1, 4.0, 50, 100), 0, &r);
    CHECK(r.fired == 0);
    eval(a, snap(1, 1, 6.0, 50, 100), 1000, &r);
    CHECK(r.fired == 1 && !strcmp(r.last_rule, "lag"));
    eval(a, snap(1, 1, 0.0, 95, 100), 2000, &r);
    CHECK(r.fired == 2 && !strcmp(r.last_rule, "memory"));
    eval(a, snap(1, 1, 0.0, 95, 0), 3000, &r); /* maxmemory 0: no limit, no alert */
    eval(a, snap(1, 1, 0.0, 10, 100), 40000, &r);
    CHECK(r.resolved == 2);
    alerts_free(a);

    /* a replica down: after replica_down_s */
    a = alerts_new(&cfg);
    memset(&r, 0, sizeof(r));
    eval(a, snap(1, 0, -1, -1, -1), 0, &r);
    eval(a, snap(1, 0, -1, -1, -1), 59000, &r);
    CHECK(r.fired == 0);
    eval(a, snap(1, 0, -1, -1, -1), 60000, &r);
    CHECK(r.fired == 1 && !strcmp(r.last_rule, "replica_down"));
    alerts_free(a);
    return check_done();
}
