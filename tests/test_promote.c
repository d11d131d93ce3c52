/* test_promote.c — the one promotability policy: hapanel's view of a
 * replica, Sentinel's selection rules (sentinelSelectSlave), its order
 * (compareSlavesForPromotion), the pick it makes on fresh INFO, and the
 * failover plan built from a snapshot. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/promote.h"

static snap_sview view(const char *sentinel, const char *addr, int prio, long long off,
                       const char *runid)
{
    snap_sview v;
    memset(&v, 0, sizeof(v));
    hp_strlcpy(v.sentinel, sentinel, sizeof(v.sentinel));
    hp_strlcpy(v.addr, addr, sizeof(v.addr));
    hp_strlcpy(v.flags, "slave", sizeof(v.flags));
    hp_strlcpy(v.runid, runid, sizeof(v.runid));
    v.priority = prio;
    v.repl_offset = off;
    v.info_refresh_ms = 1000;
    v.last_ok_ping_ms = 100;
    v.link_down_ms = 0;
    return v;
}

static void test_rules(void)
{
    promo_master m = {1000, -1};
    snap_sview v = view("s:1", "r:1", 100, 10, "aaa");
    char why[160];

    CHECK(promo_sentinel_rule(&v, &m, 0, 0, why, sizeof(why)) == 1 && why[0] == '\0');
    hp_strlcpy(v.flags, "slave,s_down", sizeof(v.flags));
    CHECK(!promo_sentinel_rule(&v, &m, 0, 0, why, sizeof(why)) && strstr(why, "subjectively down"));
    hp_strlcpy(v.flags, "slave,disconnected", sizeof(v.flags));
    CHECK(!promo_sentinel_rule(&v, &m, 0, 0, why, sizeof(why)) && strstr(why, "disconnected"));
    hp_strlcpy(v.flags, "slave", sizeof(v.flags));
    v.last_ok_ping_ms = 4000;
    CHECK(promo_sentinel_rule(&v, &m, 0, 0, why, sizeof(why)) == 1);
    CHECK(!promo_sentinel_rule(&v, &m, 1500, 0, why, sizeof(why)) &&
          strstr(why, "PING")); /* aged */
    v.last_ok_ping_ms = 100;
    v.priority = 0;
    CHECK(!promo_sentinel_rule(&v, &m, 0, 0, why, sizeof(why)) &&
          strstr(why, "replica-priority 0"));
    CHECK(promo_sentinel_rule(&v, &m, 0, 1, why, sizeof(why)) ==
          1); /* a target about to be steered */
    v.priority = 100;
    /* INFO valid 30 s, or 5 s while the master is subjectively down */
    v.info_refresh_ms = 29000;
    CHECK(promo_sentinel_rule(&v, &m, 0, 0, why, sizeof(why)) == 1);
    CHECK(!promo_sentinel_rule(&v, &m, 2000, 0, why, sizeof(why)) && strstr(why, "INFO"));
    m.s_down_ms = 100;
    v.info_refresh_ms = 6000;
    CHECK(!promo_sentinel_rule(&v, &m, 0, 0, why, sizeof(why)) && strstr(why, "limit 5 s"));
    m.s_down_ms = -1;
    v.info_refresh_ms = 1000;
    /* master link down more than 10 x down-after (+ the master's s_down time) */
    v.link_down_ms = 10001;
    CHECK(!promo_sentinel_rule(&v, &m, 0, 0, why, sizeof(why)) && strstr(why, "link"));
    m.s_down_ms = 5000;
    CHECK(promo_sentinel_rule(&v, &m, 0, 0, why, sizeof(why)) == 1);
}

static void test_order(void)
{
    snap_sview a = view("s", "a", 100, 10, "bbb"), b = view("s", "b", 100, 10, "aaa");
    snap_sview v[3];
    promo_master m = {1000, -1};

    CHECK(promo_sentinel_compare(&a, &b) > 0); /* same priority and offset: lower run id */
    b.repl_offset = 5;
    CHECK(promo_sentinel_compare(&a, &b) < 0); /* higher offset wins */
    b.priority = 50;
    CHECK(promo_sentinel_compare(&a, &b) > 0); /* lower priority wins over offset */
    b = view("s", "b", 100, 10, "");
    CHECK(promo_sentinel_compare(&a, &b) < 0); /* an empty run id loses */

    v[0] = view("s", "x", 0, 100, "a");
    v[1] = view("s", "y", 100, 10, "b");
    v[2] = view("s", "z", 100, 20, "c");
    CHECK(promo_sentinel_pick(v, 3, &m, 0) == 2);
    hp_strlcpy(v[2].flags, "slave,disconnected", sizeof(v[2].flags));
    CHECK(promo_sentinel_pick(v, 3, &m, 0) == 1);
    v[1].priority = 0;
    CHECK(promo_sentinel_pick(v, 3, &m, 0) == -1);
}

static snap_node node(const char *addr, int role, const char *master, int prio, long long off)
{
    snap_node n;
    memset(&n, 0, sizeof(n));
    hp_strlcpy(n.addr, addr, sizeof(n.addr));
    n.polled = n.up = 1;
    n.role = role;
    n.link_up = role == ROLE_REPLICA ? 1 : -1;
    if (master) hp_strlcpy(n.master_addr, master, sizeof(n.master_addr));
    n.priority = prio;
    n.repl_offset = off;
    n.lag_bytes = role == ROLE_REPLICA ? 0 : -1;
    hp_strlcpy(n.redis_version, "7.0.15", sizeof(n.redis_version));
    return n;
}

/* master m:1, replicas r:1 r:2, Sentinels s:1 s:2 s:3 that all see m:1 and
 * hold the given priorities for the replicas in their views. */
static cluster_snap *cluster(int view_prio)
{
    cluster_snap *c = cluster_snap_new("mymaster");
    const char *sent[] = {"s:1", "s:2", "s:3"};
    int i, k = 0;
    c->nodes = calloc(3, sizeof(*c->nodes));
    c->nodes[0] = node("m:1", ROLE_MASTER, NULL, 100, 500);
    c->nodes[1] = node("r:1", ROLE_REPLICA, "m:1", 100, 500);
    c->nodes[2] = node("r:2", ROLE_REPLICA, "m:1", 100, 500);
    c->nnodes = 3;
    c->sentinels = calloc(3, sizeof(*c->sentinels));
    c->sviews = calloc(6, sizeof(*c->sviews));
    for (i = 0; i < 3; i++) {
        snap_sentinel *s = &c->sentinels[i];
        hp_strlcpy(s->addr, sent[i], sizeof(s->addr));
        s->polled = s->up = 1;
        hp_strlcpy(s->sees_master, "m:1", sizeof(s->sees_master));
        s->quorum = 2;
        s->down_after_ms = 1000;
        s->s_down_ms = -1;
        s->views_at_ms = 1000;
        c->sviews[k++] = view(sent[i], "r:1", view_prio, 400, "bbbb");
        c->sviews[k++] = view(sent[i], "r:2", view_prio, 450, "aaaa");
    }
    c->nsentinels = 3;
    c->nsviews = k;
    CHECK(cluster_snap_finish(c, 1000) == 0);
    return c;
}

static const plan_check *find(const plan *p, const char *name)
{
    int i;
    for (i = 0; i < p->nchecks; i++)
        if (!strcmp(p->checks[i].name, name)) return &p->checks[i];
    return NULL;
}

static void test_plan(void)
{
    cluster_snap *c = cluster(100);
    plan p;
    plan_req rq;
    cJSON *j;

    memset(&rq, 0, sizeof(rq));
    rq.max_lag_bytes = -1;
    plan_build(c, &rq, 1000, &p);
    CHECK(p.state < PLAN_WAIT && p.blocker == -1 && plan_blocker(&p) == NULL);
    CHECK_STR(p.sentinel, "s:1");
    CHECK_STR(p.old_master, "m:1");
    /* graceful: offsets equal once paused, the lower run id (r:2's) wins */
    CHECK_STR(p.choice, "r:2");
    CHECK(strstr(p.choice_why, "run id") != NULL);
    CHECK(p.max_pause_ms == 500 && p.fence_persists == 1);
    CHECK(find(&p, "sentinel_view")->state == PLAN_OK);

    /* the node now says priority 10: Sentinel re-reads it as the failover starts */
    c->nodes[1].priority = 10;
    plan_build(c, &rq, 1000, &p);
    CHECK_STR(p.choice, "r:1");
    CHECK(strstr(p.choice_why, "lowest replica-priority (10)") != NULL);
    c->nodes[1].priority = 100;

    /* force: no pause to equalise the offsets, the higher offset counts */
    c->nodes[1].repl_offset = 600;
    rq.force = 1;
    plan_build(c, &rq, 1000, &p);
    CHECK(p.state < PLAN_WAIT);
    CHECK_STR(p.choice, "r:1");
    rq.force = 0;

    /* a target */
    hp_strlcpy(rq.target, "r:1", sizeof(rq.target));
    plan_build(c, &rq, 1000, &p);
    CHECK(p.state < PLAN_WAIT && !strcmp(p.choice, "r:1"));
    hp_strlcpy(rq.target, "nope:1", sizeof(rq.target));
    plan_build(c, &rq, 1000, &p);
    CHECK(p.state == PLAN_FAIL && p.status == 404 && strstr(plan_blocker(&p), "nope:1"));
    rq.target[0] = '\0';

    /* the pause must stay below down-after */
    rq.max_pause_ms = 1000;
    plan_build(c, &rq, 1000, &p);
    CHECK(p.state == PLAN_FAIL && p.status == 412 && strstr(plan_blocker(&p), "down-after"));
    rq.max_pause_ms = 0;

    /* master down: graceful fails, force goes */
    c->nodes[0].up = 0;
    plan_build(c, &rq, 1000, &p);
    CHECK(p.state == PLAN_FAIL && strstr(plan_blocker(&p), "use mode \"force\""));
    rq.force = 1;
    plan_build(c, &rq, 1000, &p);
    CHECK(p.state < PLAN_WAIT && find(&p, "master")->state == PLAN_WARN);
    rq.force = 0;
    c->nodes[0].up = 1;

    /* a failover in progress: 409 */
    c->failover_in_progress = 1;
    plan_build(c, &rq, 1000, &p);
    CHECK(p.state == PLAN_FAIL && p.status == 409);
    c->failover_in_progress = 0;

    /* no config file on the master: warned, still goes */
    c->nodes[0].no_config_file = 1;
    plan_build(c, &rq, 1000, &p);
    CHECK(p.state == PLAN_WARN && p.fence_persists == 0 && find(&p, "fence")->state == PLAN_WARN);
    c->nodes[0].no_config_file = 0;
    cluster_snap_unref(c);

    /* Sentinel still sees priority 0 everywhere (the node says 100): the
     * plan waits, naming each replica and the rule */
    c = cluster(0);
    plan_build(c, &rq, 1000, &p);
    CHECK(p.state == PLAN_WAIT && find(&p, "replicas")->state == PLAN_OK);
    CHECK(strstr(plan_blocker(&p), "r:1") && strstr(plan_blocker(&p), "r:2") &&
          strstr(plan_blocker(&p), "replica-priority 0"));
    /* ... and ages the views by the time since they were read */
    plan_build(c, &rq, 1000 + 40000, &p);
    CHECK(strstr(plan_blocker(&p), "no valid PING reply to Sentinel for 40.1 s") != NULL);

    j = plan_json(&p, c, 1000);
    CHECK(j != NULL);
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(j, "ok")));
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "state")), "wait");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(j, "replicas")) == 2);
    {
        cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "replicas"), 0);
        cJSON *sv = cJSON_GetObjectItem(r, "sentinels");
        CHECK(cJSON_GetArraySize(sv) == 3);
        CHECK(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(sv, 0), "eligible")));
        CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "panel"), "eligible")));
    }
    cJSON_Delete(j);
    cluster_snap_unref(c);
}

int main(void)
{
    test_rules();
    test_order();
    test_plan();
    return check_done();
}
