/* resync.c — replica resync (plain or full, persisted) and Sentinel reset,
 * one Sentinel at a time. */
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

/* ---------------------------------------------------------------- resync */

int recipe_resync(job *jb)
{
    ctx x;
    rclient *n = NULL;
    const char *node = step__param_str(jb, "node");
    const cJSON *fullv = cJSON_GetObjectItem(job_params(jb), "full");
    int full = cJSON_IsTrue(fullv), rc = -1, persisted = 0;
    char master[HP_ADDR_MAX], why[256];
    int64_t deadline;

    if (step__ctx_init(&x, jb) < 0) goto out;
    hp_strlcpy(master, x.c->master, sizeof(master));
    if (!master[0]) {
        job_fail(jb, "the cluster has no master to resync from");
        goto out;
    }
    if (!strcmp(node, master)) {
        job_fail(jb, "%s is the master; only replicas are resynced", node);
        goto out;
    }
    n = step__node_connect(x.grp, node, x.cfg->timeout_ms, x.err, sizeof(x.err));
    if (!n) {
        job_fail(jb, "%s", x.err);
        goto out;
    }
    {
        /* Full: in one transaction, so the replica never serves as a writable
         * master, and its new replication id makes the master send a full
         * copy. Either way persisted, as Sentinel does. */
        reconf r = {master, full, NULL, 0};
        if (step__reconfigure(n, &r, &persisted, why, sizeof(why), x.err, sizeof(x.err)) < 0) {
            job_fail(jb, "%s of %s refused: %s", full ? "full resync" : "REPLICAOF", node, x.err);
            goto out;
        }
    }
    job_step(jb, "%s: %sREPLICAOF %s in one transaction%s, %s", node,
             full ? "REPLICAOF NO ONE + " : "", master, full ? " (full sync)" : "",
             persisted ? "persisted with CONFIG REWRITE" : "NOT persisted");
    if (!persisted)
        job_step(jb,
                 "warning: not persisted (%s); after a restart %s comes back with the role "
                 "its config file gives it",
                 why[0] ? why : "CONFIG REWRITE failed", node);
    deadline = hp_mono_ms() + RESYNC_TIMEOUT_MS;
    step__sleep_ms(100);
    while (hp_mono_ms() < deadline && !job_cancelled(jb)) {
        node_info in;
        char now_master[HP_ADDR_MAX] = "";
        if (rclient_info(n, &in, x.err, sizeof(x.err)) < 0) break;
        if (in.master_host[0])
            hp_addr_fmt(now_master, sizeof(now_master), in.master_host, in.master_port);
        if (in.role == ROLE_REPLICA && in.link_up == 1 && !in.sync_in_progress &&
            !strcmp(now_master, master)) {
            job_step(jb, "%s replicates from %s again, link up", node, master);
            cJSON_AddStringToObject(job_result(jb), "node", node);
            cJSON_AddStringToObject(job_result(jb), "master", master);
            cJSON_AddBoolToObject(job_result(jb), "full", full);
            cJSON_AddBoolToObject(job_result(jb), "persisted", persisted);
            if (!persisted)
                cJSON_AddStringToObject(job_result(jb), "persisted_note",
                                        why[0] ? why : "CONFIG REWRITE failed");
            rc = 0;
            goto out;
        }
        step__sleep_ms(100);
    }
    job_fail(jb, "%s did not come back in sync with %s: %s", node, master,
             x.err[0] ? x.err : "timeout");
out:
    rclient_free(n);
    step__ctx_release(&x);
    return rc;
}

/* ----------------------------------------------------------- Sentinel reset */

/* Reads one field of SENTINEL MASTER <name> as a number; -1 when absent. */
static long long master_field(ctx *x, rclient *s, const char *field)
{
    redisReply *r = rclient_cmd(s, x->err, sizeof(x->err), "SENTINEL MASTER %s", x->c->name);
    long long v = -1;
    size_t i;
    if (!r) return -1;
    for (i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING && !strcmp(r->element[i]->str, field) &&
            r->element[i + 1]->type == REDIS_REPLY_STRING)
            v = strtoll(r->element[i + 1]->str, NULL, 10);
    freeReplyObject(r);
    return v;
}

int recipe_sentinel_reset(job *jb)
{
    ctx x;
    int i, rc = -1, expect_replicas = 0, expect_others;

    if (step__ctx_init(&x, jb) < 0) goto out;
    for (i = 0; i < x.c->nnodes; i++)
        if (x.c->nodes[i].up && strcmp(x.c->nodes[i].addr, x.c->master)) expect_replicas++;
    expect_others = x.c->nsentinels - 1;
    /* One at a time: the others keep the quorum while one relearns. */
    for (i = 0; i < x.c->nsentinels; i++) {
        const char *addr = x.c->sentinels[i].addr;
        rclient *s = step__sentinel_connect(x.grp, addr, x.cfg->timeout_ms, x.err, sizeof(x.err));
        int64_t deadline;
        long long slaves = -1, others = -1;
        redisReply *r;
        if (!s) {
            job_step(jb, "Sentinel %s skipped: %s", addr, x.err);
            continue;
        }
        r = rclient_cmd(s, x.err, sizeof(x.err), "SENTINEL RESET %s", x.c->name);
        if (!r) {
            job_fail(jb, "SENTINEL RESET on %s: %s", addr, x.err);
            rclient_free(s);
            goto out;
        }
        freeReplyObject(r);
        job_step(jb, "Sentinel %s reset; waiting until it sees %d replica(s) and %d Sentinel(s)",
                 addr, expect_replicas, expect_others);
        deadline = hp_mono_ms() + RESET_TIMEOUT_MS;
        while (hp_mono_ms() < deadline && !job_cancelled(jb)) {
            slaves = master_field(&x, s, "num-slaves");
            others = master_field(&x, s, "num-other-sentinels");
            if (slaves >= expect_replicas && others >= expect_others) break;
            step__sleep_ms(250);
        }
        rclient_free(s);
        if (slaves < expect_replicas || others < expect_others) {
            job_fail(jb,
                     "Sentinel %s sees %lld replica(s) and %lld Sentinel(s) after reset, "
                     "expected %d and %d",
                     addr, slaves, others, expect_replicas, expect_others);
            goto out;
        }
        job_step(jb, "Sentinel %s sees %lld replica(s) and %lld other Sentinel(s) again", addr,
                 slaves, others);
    }
    rc = 0;
out:
    step__ctx_release(&x);
    return rc;
}
