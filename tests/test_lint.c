/* test_lint.c — the config lint on synthetic snapshots: a healthy cluster
 * trips nothing; each check is tripped by changing one setting of it, and
 * is not by the setting just short of it. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/lint.h"

static lint_finding found[LINT_MAX];
static int nfound;

/* 3 Sentinels on 3 hosts, quorum 2, the same settings; a master with AOF,
 * save points, min-replicas-to-write 1, a limit and noeviction, a password
 * and masterauth, a 1 MiB backlog, 1 KiB/s of writes; 2 read-only replicas
 * of priority 100. */
static snap_node node(const char *addr, int role)
{
    snap_node n;
    memset(&n, 0, sizeof(n));
    hp_strlcpy(n.addr, addr, sizeof(n.addr));
    n.polled = n.up = 1;
    n.role = role;
    n.priority = 100;
    n.write_bps = role == ROLE_MASTER ? 1024 : -1;
    n.conf.state = 1;
    n.conf.read_at_ms = 1;
    n.conf.min_replicas_to_write = 1;
    n.conf.maxmemory = 1 << 30;
    hp_strlcpy(n.conf.maxmemory_policy, "noeviction", sizeof(n.conf.maxmemory_policy));
    n.conf.replica_read_only = 1;
    n.conf.replica_priority = 100;
    n.conf.masterauth_set = n.conf.requirepass_set = 1;
    n.conf.appendonly = 1;
    hp_strlcpy(n.conf.save, "3600 1 300 100", sizeof(n.conf.save));
    n.conf.repl_backlog_size = 1 << 20;
    n.conf.protected_mode = 1;
    return n;
}

static snap_sentinel sentinel(const char *addr)
{
    snap_sentinel s;
    memset(&s, 0, sizeof(s));
    hp_strlcpy(s.addr, addr, sizeof(s.addr));
    s.polled = s.up = 1;
    hp_strlcpy(s.sees_master, "10.0.1.1:6379", sizeof(s.sees_master));
    s.quorum = 2;
    s.num_other_sentinels = 2;
    s.num_replicas = 2;
    s.down_after_ms = 5000;
    s.failover_timeout_ms = 60000;
    return s;
}

static cluster_snap *healthy(void)
{
    cluster_snap *c = cluster_snap_new("mymaster");
    c->nodes = calloc(4, sizeof(*c->nodes));
    c->sentinels = calloc(6, sizeof(*c->sentinels));
    c->nodes[0] = node("10.0.1.1:6379", ROLE_MASTER);
    c->nodes[1] = node("10.0.1.2:6379", ROLE_REPLICA);
    c->nodes[2] = node("10.0.1.3:6379", ROLE_REPLICA);
    c->nnodes = 3;
    c->sentinels[0] = sentinel("10.0.2.1:26379");
    c->sentinels[1] = sentinel("10.0.2.2:26379");
    c->sentinels[2] = sentinel("10.0.2.3:26379");
    c->nsentinels = 3;
    hp_strlcpy(c->master, "10.0.1.1:6379", sizeof(c->master));
    c->quorum_configured = 2;
    return c;
}

static void run(const cluster_snap *c)
{
    nfound = lint_run(c, found, LINT_MAX);
}

/* The finding of check (about node, unless node is NULL), or NULL. */
static const lint_finding *has(const char *check, const char *node)
{
    int i;
    for (i = 0; i < nfound; i++)
        if (!strcmp(found[i].check, check) && (!node || !strcmp(found[i].node, node)))
            return &found[i];
    return NULL;
}

static int count(const char *check)
{
    int i, n = 0;
    for (i = 0; i < nfound; i++)
        n += !strcmp(found[i].check, check);
    return n;
}

static void test_healthy(void)
{
    cluster_snap *c = healthy();
    int i;
    run(c);
    CHECK(nfound == 0);
    for (i = 0; i < nfound; i++)
        fprintf(stderr, "  unexpected: %s %s %s\n", found[i].check, found[i].node,
                found[i].evidence);
    CHECK(lint_pending(c) == 0);
    c->nodes[1].conf.state = 0;
    CHECK(lint_pending(c) == 1);
    cluster_snap_unref(c);
    CHECK(lint_run(NULL, found, LINT_MAX) == 0);
    CHECK(lint_nchecks == 15);
}

static void test_sentinels_too_few(void)
{
    cluster_snap *c = healthy();
    const lint_finding *f;
    c->nsentinels = 2;
    c->sentinels[0].num_other_sentinels = c->sentinels[1].num_other_sentinels = 1;
    run(c);
    CHECK((f = has("sentinels_too_few", "")) != NULL);
    CHECK(f && !strcmp(f->severity, "critical") && strstr(f->evidence, "2 Sentinels"));
    /* a third one hapanel has not found yet, but the others know: not too few */
    c->sentinels[0].num_other_sentinels = 2;
    run(c);
    CHECK(!has("sentinels_too_few", NULL));
    cluster_snap_unref(c);
}

static void test_quorum(void)
{
    cluster_snap *c = healthy();
    const lint_finding *f;
    int i;
    for (i = 0; i < 3; i++)
        c->sentinels[i].quorum = 1;
    run(c);
    CHECK((f = has("quorum_not_majority", "")) != NULL);
    CHECK(f && !strcmp(f->severity, "warning") && strstr(f->evidence, "a majority is 2"));
    CHECK(f && strstr(f->fix, "quorum 2"));
    for (i = 0; i < 3; i++)
        c->sentinels[i].quorum = 4;
    run(c);
    CHECK((f = has("quorum_not_majority", "")) != NULL);
    CHECK(f && !strcmp(f->severity, "critical"));
    for (i = 0; i < 3; i++)
        c->sentinels[i].quorum = 3; /* all of them: a majority, not more than there are */
    run(c);
    CHECK(!has("quorum_not_majority", NULL));
    cluster_snap_unref(c);
}

static void test_disagree(void)
{
    cluster_snap *c = healthy();
    const lint_finding *f;
    c->sentinels[1].down_after_ms = 30000;
    run(c);
    CHECK((f = has("sentinels_disagree", "10.0.2.2:26379")) != NULL);
    CHECK(f && f->sentinel == 1 && strstr(f->evidence, "down-after-milliseconds 30000"));
    CHECK(f && strstr(f->fix, "down-after-milliseconds 5000")); /* the majority's value */
    CHECK(count("sentinels_disagree") == 1);
    c->sentinels[1].down_after_ms = 5000;
    c->sentinels[2].failover_timeout_ms = 180000;
    c->sentinels[0].quorum = 3;
    run(c);
    CHECK(count("sentinels_disagree") == 2);
    CHECK(has("sentinels_disagree", "10.0.2.3:26379") &&
          has("sentinels_disagree", "10.0.2.1:26379"));
    /* a tie has no odd one out: the finding is the cluster's */
    c->sentinels[2].failover_timeout_ms = 60000;
    c->sentinels[0].quorum = 2;
    c->nsentinels = 2;
    c->sentinels[1].down_after_ms = 30000;
    run(c);
    CHECK((f = has("sentinels_disagree", "")) != NULL);
    CHECK(f && f->sentinel == 0 && strstr(f->evidence, "30000") && strstr(f->evidence, "5000"));
    CHECK(count("sentinels_disagree") == 1);
    c->nsentinels = 3;
    /* a Sentinel that does not answer has no say */
    c->sentinels[2].failover_timeout_ms = 60000;
    c->sentinels[0].quorum = 2;
    c->sentinels[1].down_after_ms = 1;
    c->sentinels[1].up = 0;
    run(c);
    CHECK(!has("sentinels_disagree", NULL));
    cluster_snap_unref(c);
}

static void test_one_host(void)
{
    cluster_snap *c = healthy();
    const lint_finding *f;
    hp_strlcpy(c->sentinels[1].addr, "10.0.2.1:26380", sizeof(c->sentinels[1].addr));
    run(c);
    CHECK(!has("sentinels_one_host", NULL)); /* two of three on one host: not all */
    hp_strlcpy(c->sentinels[2].addr, "10.0.2.1:26381", sizeof(c->sentinels[2].addr));
    run(c);
    CHECK((f = has("sentinels_one_host", "")) != NULL);
    CHECK(f && strstr(f->evidence, "all 3 Sentinels are on 10.0.2.1"));
    cluster_snap_unref(c);
}

static void test_persistence(void)
{
    cluster_snap *c = healthy();
    c->nodes[0].conf.appendonly = 0;
    run(c);
    CHECK(!has("master_no_persistence", NULL)); /* save points left */
    c->nodes[0].conf.save[0] = '\0';
    run(c);
    CHECK(has("master_no_persistence", "10.0.1.1:6379") != NULL);
    c->nodes[1].conf.appendonly = 0;
    c->nodes[1].conf.save[0] = '\0';
    run(c);
    CHECK(count("master_no_persistence") == 1); /* a replica's is not the master's */
    c->nodes[0].up = 0;
    run(c);
    CHECK(!has("master_no_persistence", NULL)); /* down: its config is not linted */
    cluster_snap_unref(c);
}

static void test_min_replicas(void)
{
    cluster_snap *c = healthy();
    c->nodes[0].conf.min_replicas_to_write = 0;
    run(c);
    CHECK(has("min_replicas_to_write_zero", "10.0.1.1:6379") != NULL);
    c->nodes[0].conf.state = 0; /* not read yet */
    run(c);
    CHECK(!has("min_replicas_to_write_zero", NULL));
    cluster_snap_unref(c);
}

static void test_maxmemory(void)
{
    cluster_snap *c = healthy();
    const lint_finding *f;
    c->nodes[0].conf.maxmemory = 0;
    run(c);
    CHECK(has("maxmemory_unset", "10.0.1.1:6379") != NULL);
    CHECK(!has("maxmemory_policy_evicts", NULL));
    c->nodes[0].conf.maxmemory = 1 << 30;
    hp_strlcpy(c->nodes[0].conf.maxmemory_policy, "allkeys-lru",
               sizeof(c->nodes[0].conf.maxmemory_policy));
    run(c);
    CHECK((f = has("maxmemory_policy_evicts", "10.0.1.1:6379")) != NULL);
    CHECK(f && strstr(f->fix, "if the use is a queue, data is lost"));
    CHECK(!has("maxmemory_unset", NULL));
    hp_strlcpy(c->nodes[0].conf.maxmemory_policy, "volatile-ttl",
               sizeof(c->nodes[0].conf.maxmemory_policy));
    run(c);
    CHECK(has("maxmemory_policy_evicts", NULL) != NULL);
    hp_strlcpy(c->nodes[0].conf.maxmemory_policy, "noeviction",
               sizeof(c->nodes[0].conf.maxmemory_policy));
    run(c);
    CHECK(!has("maxmemory_policy_evicts", NULL));
    cluster_snap_unref(c);
}

static void test_replica_writable(void)
{
    cluster_snap *c = healthy();
    c->nodes[2].conf.replica_read_only = 0;
    run(c);
    CHECK(has("replica_writable", "10.0.1.3:6379") != NULL);
    CHECK(count("replica_writable") == 1);
    c->nodes[2].conf.replica_read_only = 1;
    c->nodes[0].conf.replica_read_only = 0; /* the master's setting does nothing */
    run(c);
    CHECK(!has("replica_writable", NULL));
    cluster_snap_unref(c);
}

static void test_priority_zero(void)
{
    cluster_snap *c = healthy();
    c->nodes[1].conf.replica_priority = 0;
    run(c);
    CHECK(!has("replicas_priority_zero", NULL)); /* one left that may be promoted */
    c->nodes[2].conf.replica_priority = 0;
    run(c);
    CHECK(has("replicas_priority_zero", "") != NULL);
    /* a replica whose config is not read yet counts by its INFO's priority */
    c->nodes[2].conf.state = 0;
    c->nodes[2].priority = 100;
    run(c);
    CHECK(!has("replicas_priority_zero", NULL));
    c->nodes[2].priority = 0;
    run(c);
    CHECK(has("replicas_priority_zero", NULL) != NULL);
    cluster_snap_unref(c);
}

static void test_masterauth(void)
{
    cluster_snap *c = healthy();
    const lint_finding *f;
    c->nodes[1].conf.masterauth_set = 0;
    run(c);
    CHECK((f = has("masterauth_missing", "10.0.1.2:6379")) != NULL);
    CHECK(f && strstr(f->evidence, "requirepass is set on 10.0.1.1:6379"));
    CHECK(count("masterauth_missing") == 1);
    /* nobody asks a password: masterauth is not needed */
    c->nodes[0].conf.requirepass_set = c->nodes[1].conf.requirepass_set = 0;
    c->nodes[2].conf.requirepass_set = 0;
    run(c);
    CHECK(!has("masterauth_missing", NULL));
    cluster_snap_unref(c);
}

static void test_config_unavailable(void)
{
    cluster_snap *c = healthy();
    const lint_finding *f;
    c->nodes[2].conf.state = -1;
    hp_strlcpy(c->nodes[2].conf.error, "ERR unknown command 'CONFIG'",
               sizeof(c->nodes[2].conf.error));
    run(c);
    CHECK((f = has("config_unavailable", "10.0.1.3:6379")) != NULL);
    CHECK(f && strstr(f->evidence, "unknown command") &&
          strstr(f->title, "fencing cannot persist"));
    /* its other settings are unknown: no other finding about it */
    CHECK(nfound == 1);
    c->nodes[2].conf.state = 0;
    run(c);
    CHECK(!has("config_unavailable", NULL));
    cluster_snap_unref(c);
}

static void test_backlog(void)
{
    cluster_snap *c = healthy();
    const lint_finding *f;
    /* 1 MiB over 5 s is 204.8 KiB/s: at that rate it just holds */
    c->nodes[0].write_bps = (1 << 20) / 5;
    run(c);
    CHECK(!has("repl_backlog_too_small", NULL));
    c->nodes[0].write_bps = (1 << 20) / 5 + 1000;
    run(c);
    CHECK((f = has("repl_backlog_too_small", "10.0.1.1:6379")) != NULL);
    CHECK(f && strstr(f->evidence, "down-after (5000 ms)") && strstr(f->fix, "repl-backlog-size"));
    /* the longest down-after of the Sentinels is the window */
    c->nodes[0].write_bps = 100 * 1024;
    run(c);
    CHECK(!has("repl_backlog_too_small", NULL));
    c->sentinels[2].down_after_ms = 30000;
    run(c);
    CHECK(has("repl_backlog_too_small", NULL) != NULL);
    /* no rate measured yet: nothing said */
    c->nodes[0].write_bps = -1;
    run(c);
    CHECK(!has("repl_backlog_too_small", NULL));
    cluster_snap_unref(c);
}

static void test_protected(void)
{
    cluster_snap *c = healthy();
    c->nodes[1].conf.protected_mode = 0;
    run(c);
    CHECK(!has("protected_mode_off_no_password", NULL)); /* it has a password */
    c->nodes[1].conf.requirepass_set = 0;
    run(c);
    CHECK(has("protected_mode_off_no_password", "10.0.1.2:6379") != NULL);
    CHECK(count("protected_mode_off_no_password") == 1);
    cluster_snap_unref(c);
}

static void test_sees_fewer(void)
{
    cluster_snap *c = healthy();
    const lint_finding *f;
    c->sentinels[2].num_other_sentinels = 1;
    run(c);
    CHECK((f = has("sentinel_sees_fewer", "10.0.2.3:26379")) != NULL);
    CHECK(f && f->sentinel && strstr(f->evidence, "1 other Sentinels"));
    CHECK(count("sentinel_sees_fewer") == 1);
    c->sentinels[2].num_other_sentinels = 2;
    c->sentinels[0].num_replicas = 1;
    run(c);
    CHECK((f = has("sentinel_sees_fewer", "10.0.2.1:26379")) != NULL);
    CHECK(f && strstr(f->evidence, "1 replicas"));
    c->sentinels[0].num_replicas = 2;
    run(c);
    CHECK(!has("sentinel_sees_fewer", NULL));
    cluster_snap_unref(c);
}

static void test_max(void)
{
    cluster_snap *c = healthy();
    int i;
    for (i = 0; i < 3; i++) {
        c->nodes[i].conf.protected_mode = 0;
        c->nodes[i].conf.requirepass_set = 0;
    }
    CHECK(lint_run(c, found, 2) == 2);
    CHECK(lint_run(c, found, 0) == 0);
    cluster_snap_unref(c);
}

int main(void)
{
    test_healthy();
    test_sentinels_too_few();
    test_quorum();
    test_disagree();
    test_one_host();
    test_persistence();
    test_min_replicas();
    test_maxmemory();
    test_replica_writable();
    test_priority_zero();
    test_masterauth();
    test_config_unavailable();
    test_backlog();
    test_protected();
    test_sees_fewer();
    test_max();
    return check_done();
}
