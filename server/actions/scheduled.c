/* scheduled.c — a failover job scheduled for a later time, at that time:
 * the same dry run as GET .../failover/plan is built from the snapshot
 * first, and a plan that says the switchover would fail refuses the job
 * with the plan's reason (its job-failed event is notified like any failed
 * failover) before anything is touched. A plan that only waits for
 * Sentinel's view, and every job that ran when it was submitted, go straight
 * to the failover recipe, which checks the plan again as it always does. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "actions/jobs.h"
#include "actions/recipes.h"
#include "actions/steps.h"
#include "model/promote.h"
#include "model/topology.h"
#include "core/banned.h" /* last: after every system header */

/* How long a job due right after a start of hapanel waits for the monitor's
 * first look at its cluster before the plan is built from what there is. */
#define FIRST_LOOK_MS 15000

/* 1 once every node and Sentinel of c was polled at least once: before
 * that (just after a start) a plan would call them all down. */
static int looked_at(const cluster_snap *c)
{
    int i;
    if (!c || c->nnodes == 0 || c->nsentinels == 0) return 0;
    for (i = 0; i < c->nnodes; i++)
        if (!c->nodes[i].polled) return 0;
    for (i = 0; i < c->nsentinels; i++)
        if (!c->sentinels[i].polled) return 0;
    return 1;
}

static int64_t param_num(const job *jb, const char *name, int64_t dflt)
{
    const cJSON *v = cJSON_GetObjectItem(job_params(jb), name);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : dflt;
}

/* 0 when the plan lets the scheduled switchover go (or only waits), -1
 * after job_fail() with the plan's reason. */
static int plan_at_time(job *jb)
{
    plan *p = malloc(sizeof(*p));
    plan_req rq;
    topo_snap *t;
    const cluster_snap *c;
    int rc = -1;

    if (!p) {
        job_fail(jb, "out of memory");
        return -1;
    }
    memset(&rq, 0, sizeof(rq));
    rq.force = !strcmp(step__param_str(jb, "mode"), "force");
    hp_strlcpy(rq.target, step__param_str(jb, "target"), sizeof(rq.target));
    rq.max_pause_ms = param_num(jb, "max_pause_ms", 0);
    rq.max_lag_bytes = param_num(jb, "max_lag_bytes", -1);
    t = topo_acquire();
    c = topo_find(t, job_cluster(jb));
    if (!looked_at(c)) {
        int64_t deadline = hp_mono_ms() + FIRST_LOOK_MS;
        job_step(jb, "waiting up to %d s for the monitor's first look at %s", FIRST_LOOK_MS / 1000,
                 job_cluster(jb));
        while (!looked_at(c) && hp_mono_ms() < deadline && !job_cancelled(jb)) {
            topo_release(t);
            step__sleep_ms(100);
            t = topo_acquire();
            c = topo_find(t, job_cluster(jb));
        }
    }
    if (!c) {
        job_fail(jb, "refused at its scheduled time: cluster %s is no longer monitored",
                 job_cluster(jb));
    } else {
        plan_build(c, &rq, hp_now_ms(), p);
        if (p->state == PLAN_FAIL) {
            job_fail(jb, "refused at its scheduled time: %s", plan_blocker(p));
        } else {
            job_step(jb, "plan check at its time: %s",
                     p->state == PLAN_WAIT ? plan_blocker(p) : "it would go ahead");
            rc = 0;
        }
    }
    topo_release(t);
    free(p);
    return rc;
}

int recipe_failover_scheduled(job *jb)
{
    if (job_run_at(jb) > 0 && plan_at_time(jb) < 0) return -1;
    return recipe_failover(jb);
}
