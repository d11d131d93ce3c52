/* test_policy.c — the one place for each node choice: promotability in a
 * graceful switchover (and its lag limit), and the backup source. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/policy.h"

static snap_node node(const char *addr, int role, const char *master, int prio, long long lag)
{
    snap_node n;
    memset(&n, 0, sizeof(n));
    hp_strlcpy(n.addr, addr, sizeof(n.addr));
    n.polled = n.up = 1;
    n.role = role;
    n.link_up = role == ROLE_REPLICA ? 1 : -1;
    if (master) hp_strlcpy(n.master_addr, master, sizeof(n.master_addr));
    n.priority = prio;
    n.lag_bytes = lag;
    return n;
}

static void test_promotable(void)
{
    snap_node n = node("r:1", ROLE_REPLICA, "m:1", 100, 0);
    CHECK(policy_promotable(&n, "m:1", -1) == NULL);
    n.up = 0;
    CHECK(!strcmp(policy_promotable(&n, "m:1", -1), "is down"));
    n.up = 1;
    n.link_up = 0;
    CHECK(strstr(policy_promotable(&n, "m:1", -1), "link down") != NULL);
    n.link_up = 1;
    n.priority = 0;
    CHECK(strstr(policy_promotable(&n, "m:1", -1), "priority 0") != NULL);
    n.priority = 100;
    n.lag_bytes = 1000;
    CHECK(strstr(policy_promotable(&n, "m:1", 999), "lags") != NULL);
    CHECK(policy_promotable(&n, "m:1", 1000) == NULL);
    CHECK(strstr(policy_promotable(&n, "other:1", -1), "another node") != NULL);
}

static void test_lag_limit(void)
{
    snap_node n = node("r:1", ROLE_REPLICA, "m:1", 100, POLICY_MAX_LAG_BYTES);
    CHECK(policy_promotable(&n, "m:1", -1) == NULL); /* the default limit itself is allowed */
    n.lag_bytes = POLICY_MAX_LAG_BYTES + 1;
    CHECK(policy_promotable(&n, "m:1", -1) != NULL);
}

static void test_backup_source(void)
{
    cluster_snap *c = cluster_snap_new("c");
    c->nodes = calloc(3, sizeof(*c->nodes));
    c->nodes[0] = node("m:1", ROLE_MASTER, NULL, 100, -1);
    c->nodes[1] = node("r:1", ROLE_REPLICA, "m:1", 100, 500);
    c->nodes[2] = node("r:2", ROLE_REPLICA, "m:1", 100, 20);
    c->nnodes = 3;
    hp_strlcpy(c->master, "m:1", sizeof(c->master));
    CHECK_STR(policy_backup_source(c)->addr, "r:2"); /* the least lag */
    c->nodes[2].sync_in_progress = 1;
    CHECK_STR(policy_backup_source(c)->addr, "r:1"); /* not one that is syncing */
    c->nodes[1].lag_bytes = -1;
    CHECK_STR(policy_backup_source(c)->addr, "r:1"); /* unknown lag still beats none */
    c->nodes[1].link_up = 0;
    CHECK_STR(policy_backup_source(c)->addr, "m:1"); /* no healthy replica: the master */
    c->nodes[0].up = 0;
    CHECK(policy_backup_source(c) == NULL); /* nothing answers */
    cluster_snap_unref(c);
}

int main(void)
{
    test_promotable();
    test_lag_limit();
    test_backup_source();
    return check_done();
}
