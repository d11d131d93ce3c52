/* recover.c — a failover job interrupted by a restart of hapanel, finished
 * or put back (see recipes.h and failover.c). */
#define _POSIX_C_SOURCE 200809L
#include "actions/steps.h"

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actions/jobs.h"
#include "model/promote.h"
#include "redis/rclient.h"
#include "redis/sreply.h"
#include "model/topology.h"
#include "actions/recipes.h"
#include "core/banned.h" /* last: after every system header */

/* ----------------------------------------------------------- crash recovery */

/* A failover job interrupted by a restart. Before SENTINEL FAILOVER was
 * requested its changes are put back. After, the Sentinels are asked what
 * happened (waiting out a failover still in progress): with a new master the
 * old one is fenced and the failover recorded as completed after the
 * restart; without, everything is put back. */
int recipe_failover_recover(job *jb)
{
    const config *cfg = job_config(jb);
    cJSON *u = job_undo(jb);
    const cJSON *fo_ = cJSON_GetObjectItem(u, "failover"), *it;
    char addrs[MAX_NODES][HP_ADDR_MAX], master[HP_ADDR_MAX] = "", err[512], why[256];
    char old[HP_ADDR_MAX] = "", kind[16] = "graceful"; /* copies: undo_now frees the undo */
    const char *mode = cJSON_GetStringValue(cJSON_GetObjectItem(fo_, "mode"));
    const char *o = cJSON_GetStringValue(cJSON_GetObjectItem(fo_, "old_master"));
    int64_t started = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(fo_, "started_at"));
    int64_t deadline = hp_mono_ms() + RECOVER_SETTLE_MS;
    int n = 0, busy = 1, agree = 0, answered = 0, persisted = 0;
    rclient *r;
    node_info in;

    if (o) hp_strlcpy(old, o, sizeof(old));
    if (mode && !strcmp(mode, "force")) hp_strlcpy(kind, "forced", sizeof(kind));
    if (!fo_ || !old[0]) {
        step__undo_now(jb, 0);
        job_fail(jb, "the failover had not been requested; what it changed is put back");
        return -1;
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(fo_, "sentinels")) if (cJSON_IsString(it) &&
                                                                      n < MAX_NODES)
        hp_strlcpy(addrs[n++], it->valuestring, HP_ADDR_MAX);
    job_step(jb, "SENTINEL FAILOVER had been requested: asking the Sentinels what happened");
    while (hp_mono_ms() < deadline && !job_cancelled(jb)) {
        answered = step__sentinels_report(cfg, job_group(jb), job_cluster(jb), addrs, n, master,
                                          sizeof(master), &busy, &agree);
        if (answered && !busy && agree > n / 2) break;
        step__sleep_ms(250);
    }
    if (!master[0] || agree <= n / 2) {
        job_fail(jb,
                 "the Sentinels do not agree on a master (%d of %d answered); nothing was "
                 "changed: check the cluster",
                 answered, n);
        return -1;
    }
    if (!strcmp(master, old)) {
        job_step(jb, "%d of %d Sentinels still report %s: no failover happened", agree, n, old);
        step__undo_now(jb, 1);
        step__record(jb, kind, old, "", started, -1, "failed");
        job_fail(jb, "the failover was requested, but Sentinel did not carry it out; what it "
                     "changed is put back");
        return -1;
    }
    job_step(jb, "%d of %d Sentinels report %s as master: the failover happened", agree, n, master);
    r = step__node_connect(job_group(jb), old, cfg->timeout_ms, err, sizeof(err));
    if (r && rclient_info(r, &in, err, sizeof(err)) == 0) {
        const cJSON *mr = cJSON_GetObjectItem(u, "min_replicas");
        reconf rc = {in.role == ROLE_MASTER ? master : NULL, 0, cJSON_GetObjectItem(mr, "settings"),
                     in.role == ROLE_MASTER};
        if (step__reconfigure(r, &rc, &persisted, why, sizeof(why), err, sizeof(err)) == 0) {
            cJSON_DeleteItemFromObject(u, "min_replicas");
            job_save_undo(jb);
            if (in.role == ROLE_MASTER)
                job_step(jb,
                         "old master %s was still a master: fenced (REPLICAOF %s, CLIENT KILL), %s",
                         old, master, persisted ? "persisted" : "NOT persisted");
            else
                job_step(jb, "old master %s is already a replica; its write fence is lifted", old);
            cJSON_AddBoolToObject(job_result(jb), "persisted", persisted);
        } else {
            job_step(jb, "could not fence %s: %s", old, err);
        }
    } else {
        job_step(jb, "old master %s unreachable (%s): Sentinel reconfigures it when it returns",
                 old, err);
    }
    rclient_free(r);
    step__undo_now(jb, 1);
    cJSON_DeleteItemFromObject(job_result(jb), "new_master");
    cJSON_AddStringToObject(job_result(jb), "new_master", master);
    cJSON_AddBoolToObject(job_result(jb), "completed_after_restart", 1);
    step__record(jb, kind, old, master, started ? started : hp_now_ms(), -1,
                 "completed_after_restart");
    job_step(jb, "failover %s -> %s completed after the restart", old, master);
    return 0;
}
