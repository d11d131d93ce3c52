/* test_topology.c — deriving master, quorum, status and problems from what the
 * monitor saw, and the events two snapshots differ by. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/topology.h"

static snap_node mknode(const char *addr, int role, const char *master)
{
    snap_node n;
    memset(&n, 0, sizeof(n));
    hp_strlcpy(n.addr, addr, sizeof(n.addr));
    n.polled = n.up = 1;
    n.role = role;
    n.link_up = role == ROLE_REPLICA ? 1 : -1;
    if (master) hp_strlcpy(n.master_addr, master, sizeof(n.master_addr));
    n.lag_bytes = n.used_memory = n.maxmemory = -1;
    n.lag_seconds = -1;
    return n;
}

static snap_sentinel mksentinel(const char *addr, const char *sees)
{
    snap_sentinel s;
    memset(&s, 0, sizeof(s));
    hp_strlcpy(s.addr, addr, sizeof(s.addr));
    s.polled = s.up = 1;
    hp_strlcpy(s.sees_master, sees, sizeof(s.sees_master));
    s.quorum = 2;
    return s;
}

/* Three nodes, three Sentinels, everyone agreeing on m. */
static cluster_snap *healthy(const char *m)
{
    cluster_snap *c = cluster_snap_new("mymaster");
    const char *addrs[] = {"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"};
    int i;
    c->nodes = calloc(3, sizeof(*c->nodes));
    c->sentinels = calloc(3, sizeof(*c->sentinels));
    for (i = 0; i < 3; i++) {
        int is_m = !strcmp(addrs[i], m);
        c->nodes[i] = mknode(addrs[i], is_m ? ROLE_MASTER : ROLE_REPLICA, is_m ? NULL : m);
    }
    c->nnodes = 3;
    c->sentinels[0] = mksentinel("127.0.0.1:26381", m);
    c->sentinels[1] = mksentinel("127.0.0.1:26379", m);
    c->sentinels[2] = mksentinel("127.0.0.1:26380", m);
    c->nsentinels = 3;
    return c;
}

typedef struct seen {
    char types[32][48];
    char nodes[32][HP_ADDR_MAX];
    int n;
} seen;

static void record(void *ctx, const char *cluster, const char *type, const char *severity,
                   const char *node, const char *message)
{
    seen *s = ctx;
    (void)cluster;
    (void)severity;
    (void)message;
    if (s->n < 32) {
        hp_strlcpy(s->types[s->n], type, sizeof(s->types[0]));
        hp_strlcpy(s->nodes[s->n], node ? node : "", sizeof(s->nodes[0]));
        s->n++;
    }
}

static int count(const seen *s, const char *type)
{
    int i, n = 0;
    for (i = 0; i < s->n; i++)
        n += !strcmp(s->types[i], type);
    return n;
}

static int has_problem(const cluster_snap *c, const char *code)
{
    int i;
    for (i = 0; i < c->nproblems; i++)
        if (!strcmp(c->problems[i].code, code)) return 1;
    return 0;
}

int main(void)
{
    cluster_snap *a, *b;
    seen s;

    a = healthy("127.0.0.1:2");
    CHECK(cluster_snap_finish(a, 1000) == 0);
    CHECK_STR(a->master, "127.0.0.1:2");
    CHECK_STR(a->status, "ok");
    CHECK(a->nproblems == 0);
    CHECK(a->quorum_configured == 2 && a->quorum_reachable == 3 && a->quorum_ok);
    CHECK_STR(a->nodes[0].addr, "127.0.0.1:2");         /* master first */
    CHECK_STR(a->sentinels[0].addr, "127.0.0.1:26379"); /* sorted */
    CHECK(strstr(a->json, "\"master\":{\"addr\":\"127.0.0.1:2\"") != NULL);
    CHECK(strstr(a->summary_json, "\"replicas\":2,\"replicas_ok\":2") != NULL);

    /* Replica down, a Sentinel down: degraded, quorum still 2 of 3. */
    b = healthy("127.0.0.1:2");
    b->nodes[2].up = 0;
    hp_strlcpy(b->nodes[2].error, "Connection refused", sizeof(b->nodes[2].error));
    b->sentinels[0].up = 0;
    CHECK(cluster_snap_finish(b, 2000) == 0);
    CHECK_STR(b->status, "degraded");
    CHECK(has_problem(b, "replica_down"));
    CHECK(has_problem(b, "sentinel_down"));
    CHECK(b->quorum_ok && b->quorum_reachable == 2);
    memset(&s, 0, sizeof(s));
    cluster_snap_diff(a, b, record, &s);
    CHECK(count(&s, "node-down") == 1);
    CHECK_STR(s.nodes[0], "127.0.0.1:3");
    CHECK(count(&s, "sentinel-down") == 1);
    CHECK(count(&s, "quorum-lost") == 0);
    /* and back: node-up, sentinel-up */
    memset(&s, 0, sizeof(s));
    cluster_snap_diff(b, a, record, &s);
    CHECK(count(&s, "node-up") == 1 && count(&s, "sentinel-up") == 1);
    cluster_snap_unref(b);

    /* Split brain: two nodes answer role master; the Sentinels moved to 3. */
    b = healthy("127.0.0.1:3");
    b->nodes[1].role = ROLE_MASTER;
    b->nodes[1].master_addr[0] = '\0';
    CHECK(cluster_snap_finish(b, 3000) == 0);
    CHECK(has_problem(b, "split_brain"));
    CHECK_STR(b->status, "degraded");
    memset(&s, 0, sizeof(s));
    cluster_snap_diff(a, b, record, &s);
    CHECK(count(&s, "split-brain") == 1);
    CHECK(count(&s, "master-changed") == 1);
    CHECK(count(&s, "role-change") == 1); /* :3 replica -> master */
    cluster_snap_unref(b);

    /* Quorum lost: two Sentinels down; one Sentinel sees another master. */
    b = healthy("127.0.0.1:2");
    b->sentinels[0].up = b->sentinels[1].up = 0;
    CHECK(cluster_snap_finish(b, 4000) == 0);
    CHECK(!b->quorum_ok);
    CHECK(has_problem(b, "quorum_lost"));
    memset(&s, 0, sizeof(s));
    cluster_snap_diff(a, b, record, &s);
    CHECK(count(&s, "quorum-lost") == 1);
    cluster_snap_unref(b);

    b = healthy("127.0.0.1:2");
    hp_strlcpy(b->sentinels[2].sees_master, "127.0.0.1:1", sizeof(b->sentinels[2].sees_master));
    b->nodes[2].link_up = 0;
    hp_strlcpy(b->nodes[0].master_addr, "127.0.0.1:9", sizeof(b->nodes[0].master_addr));
    CHECK(cluster_snap_finish(b, 5000) == 0);
    CHECK(has_problem(b, "sentinel_disagrees"));
    CHECK(has_problem(b, "replica_wrong_master"));
    CHECK(has_problem(b, "replica_link_down"));
    CHECK(b->quorum_reachable == 2 && b->quorum_ok);
    memset(&s, 0, sizeof(s));
    cluster_snap_diff(a, b, record, &s);
    CHECK(count(&s, "link-down") == 1);
    cluster_snap_unref(b);

    /* Master down: status down. Nodes never polled raise nothing. */
    b = healthy("127.0.0.1:2");
    b->nodes[1].up = 0;
    b->nodes[0].polled = b->nodes[0].up = 0;
    CHECK(cluster_snap_finish(b, 6000) == 0);
    CHECK_STR(b->status, "down");
    CHECK(has_problem(b, "master_down"));
    memset(&s, 0, sizeof(s));
    cluster_snap_diff(a, b, record, &s);
    CHECK(count(&s, "node-down") == 1);
    cluster_snap_unref(b);

    /* First sight: no node events for a healthy cluster. */
    memset(&s, 0, sizeof(s));
    cluster_snap_diff(NULL, a, record, &s);
    CHECK(s.n == 0);

    /* Sentinel groups: the group's name in both bodies ("default" unless
     * set); another group naming the same master is a critical name_clash
     * naming both groups, an event when it appears and when it goes. */
    CHECK(strstr(a->json, "\"group\":\"default\"") != NULL);
    CHECK(strstr(a->summary_json, "\"group\":\"default\"") != NULL);
    CHECK(!has_problem(a, "name_clash"));
    b = healthy("127.0.0.1:2");
    b->group = 1;
    hp_strlcpy(b->group_name, "east", sizeof(b->group_name));
    hp_strlcpy(b->clash_group, "west", sizeof(b->clash_group));
    CHECK(cluster_snap_finish(b, 7000) == 0);
    CHECK(has_problem(b, "name_clash"));
    CHECK_STR(b->status, "degraded");
    CHECK(strstr(b->json, "\"group\":\"east\"") != NULL);
    CHECK(strstr(b->summary_json, "\"group\":\"east\"") != NULL);
    CHECK(strstr(b->json, "\"code\":\"name_clash\",\"severity\":\"critical\"") != NULL);
    CHECK(strstr(b->json, "master name 'mymaster' is monitored by Sentinel groups east (shown) and "
                          "west (ignored): rename one or list masters= per group") != NULL);
    memset(&s, 0, sizeof(s));
    cluster_snap_diff(a, b, record, &s);
    CHECK(count(&s, "cluster-name-clash") == 1);
    memset(&s, 0, sizeof(s));
    cluster_snap_diff(NULL, b, record, &s); /* first sight with the clash: the event too */
    CHECK(count(&s, "cluster-name-clash") == 1);
    memset(&s, 0, sizeof(s));
    cluster_snap_diff(b, b, record, &s); /* still there: no new event */
    CHECK(s.n == 0);
    memset(&s, 0, sizeof(s));
    cluster_snap_diff(b, a, record, &s);
    CHECK(count(&s, "cluster-name-clash-resolved") == 1);
    cluster_snap_unref(b);

    /* Hostile names go out as JSON strings, escaped. */
    b = cluster_snap_new("x\"y</script>");
    CHECK(cluster_snap_finish(b, 7000) == 0);
    CHECK(strstr(b->json, "\"name\":\"x\\\"y</script>\"") != NULL);
    CHECK_STR(b->status, "down");
    cluster_snap_unref(b);

    /* Publishing and lookup by name. */
    {
        cluster_snap **arr = calloc(1, sizeof(*arr));
        topo_snap *t;
        arr[0] = a;
        topo_init();
        topo_publish(topo_snap_new(arr, 1, 1));
        t = topo_acquire();
        CHECK(topo_find(t, "mymaster") == a);
        CHECK(topo_find(t, "nope") == NULL);
        topo_release(t);
        topo_shutdown();
    }
    return check_done();
}
