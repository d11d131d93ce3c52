/* test_jobs_group.c — which Sentinel group a job connects with (job_group in
 * actions/jobs.c). A fresh run takes the group the snapshot gives its cluster
 * now (the addresses of its plan come from that snapshot). A recovery (after
 * a restart, or a takeover by the next leader) puts back what the run
 * changed, on the addresses its undo recorded: it must connect with the
 * group recorded at submit, even when this process's snapshot gives the
 * cluster to another group (a name clash resolved the other way: "the first
 * group to answer owns the name" differs between runs and instances), or
 * that group's credentials go to the first group's nodes. With no snapshot
 * and no recorded group, the group whose masters= lists the cluster comes
 * before groups[0]. */
#define _POSIX_C_SOURCE 200809L
#include "../server/actions/jobs.c"

#include "check.h"

static config cfg;

static void publish(const char *name, int group)
{
    cluster_snap *c = cluster_snap_new(name);
    cluster_snap **arr = calloc(1, sizeof(*arr));
    c->group = group;
    hp_strlcpy(c->group_name, cfg.groups[group].name, sizeof(c->group_name));
    cluster_snap_finish(c, 1);
    arr[0] = c;
    topo_publish(topo_snap_new(arr, 1, 1));
}

static void test_job_group(void)
{
    jobs j;
    job jb;

    memset(&j, 0, sizeof(j));
    memset(&jb, 0, sizeof(jb));
    config_defaults(&cfg);
    cfg.ngroups = 3;
    hp_strlcpy(cfg.groups[0].name, "east", sizeof(cfg.groups[0].name)); /* no [sentinel] */
    hp_strlcpy(cfg.groups[1].name, "west", sizeof(cfg.groups[1].name));
    hp_strlcpy(cfg.groups[2].name, "north", sizeof(cfg.groups[2].name));
    hp_strlcpy(cfg.groups[2].masters[0], "carts", sizeof(cfg.groups[2].masters[0]));
    cfg.groups[2].nmasters = 1;
    j.cfg = &cfg;
    jb.owner = &j;
    hp_strlcpy(jb.cluster, "m", sizeof(jb.cluster));
    jb.params = cJSON_Parse("{\"group\":\"west\"}");

    /* no snapshot: the recorded group */
    CHECK(job_group(&jb) == &cfg.groups[1]);
    /* a fresh run: the snapshot's group */
    publish("m", 0);
    CHECK(job_group(&jb) == &cfg.groups[0]);
    /* a recovery: the recorded group, whatever the snapshot says now */
    jb.recovering = 1;
    CHECK(job_group(&jb) == &cfg.groups[1]);
    /* a recorded group the config no longer has: the snapshot's */
    cJSON_ReplaceItemInObject(jb.params, "group", cJSON_CreateString("gone"));
    CHECK(job_group(&jb) == &cfg.groups[0]);

    /* a job stored before groups (no "group"), cluster not in the snapshot:
     * masters= names its group, not groups[0] */
    cJSON_DeleteItemFromObject(jb.params, "group");
    hp_strlcpy(jb.cluster, "carts", sizeof(jb.cluster));
    CHECK(job_group(&jb) == &cfg.groups[2]);
    jb.recovering = 0;
    CHECK(job_group(&jb) == &cfg.groups[2]);
    /* nothing names it: groups[0] */
    hp_strlcpy(jb.cluster, "other", sizeof(jb.cluster));
    CHECK(job_group(&jb) == &cfg.groups[0]);
    cJSON_Delete(jb.params);
}

int main(void)
{
    topo_init();
    test_job_group();
    topo_shutdown();
    return check_done();
}
