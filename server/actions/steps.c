/* steps.c — the shared steps of the topology recipes (see steps.h). */
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

void step__sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------ helpers */

int step__ctx_init(ctx *x, job *jb)
{
    memset(x, 0, sizeof(*x));
    x->jb = jb;
    x->cfg = job_config(jb);
    x->topo = topo_acquire();
    x->c = topo_find(x->topo, job_cluster(jb));
    if (!x->c) {
        job_fail(jb, "cluster %s is no longer monitored", job_cluster(jb));
        return -1;
    }
    x->grp = job_group(jb);
    return 0;
}

void step__ctx_release(ctx *x)
{
    topo_release(x->topo);
    x->topo = NULL;
}

rclient *step__node_connect(const cfg_group *g, const char *addr, int timeout_ms, char *err,
                            size_t errsz)
{
    char buf[HP_ADDR_MAX];
    return rclient_connect(config_map_addr(g, addr, buf, sizeof(buf)), g->redis_user,
                           g->redis_password, timeout_ms, err, errsz);
}

rclient *step__sentinel_connect(const cfg_group *g, const char *addr, int timeout_ms, char *err,
                                size_t errsz)
{
    char buf[HP_ADDR_MAX];
    return rclient_connect(config_map_addr(g, addr, buf, sizeof(buf)), g->sentinel_user,
                           g->sentinel_password, timeout_ms, err, errsz);
}

int step__ms_until(int64_t deadline, int cap)
{
    int64_t left = deadline - hp_mono_ms();
    if (left < 20) left = 20;
    return left < cap ? (int)left : cap;
}

const char *step__param_str(const job *jb, const char *name)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(job_params(jb), name));
    return v ? v : "";
}

/* SENTINEL MASTER <name> from s, parsed. Returns 0 or -1. */
int step__sentinel_master(rclient *s, const char *name, sentinel_entry *e, char *err, size_t errsz)
{
    redisReply *r = rclient_cmd(s, err, errsz, "SENTINEL MASTER %s", name);
    int rc = r ? sreply_entry(r, e) : -1;
    if (r && rc < 0) snprintf(err, errsz, "%s: SENTINEL MASTER unreadable", rclient_addr(s));
    freeReplyObject(r);
    return rc;
}

/* The master address this Sentinel reports, into out. Returns 0 or -1. */
int step__sentinel_master_addr(rclient *s, const char *name, char *out, size_t outsz, char *err,
                               size_t errsz)
{
    redisReply *r = rclient_cmd(s, err, errsz, "SENTINEL GET-MASTER-ADDR-BY-NAME %s", name);
    int rc = -1;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_STRING && r->element[1]->type == REDIS_REPLY_STRING) {
        hp_addr_fmt(out, outsz, r->element[0]->str, atoi(r->element[1]->str));
        rc = 0;
    }
    freeReplyObject(r);
    return rc;
}

/* What the given Sentinels say now: the master a majority of those that
 * answer report (into master, "" if none), and how many flag a failover in
 * progress. Returns how many answered. */
int step__sentinels_report(const config *cfg, const cfg_group *g, const char *name,
                           char (*addrs)[HP_ADDR_MAX], int n, char *master, size_t mastersz,
                           int *in_progress, int *agree)
{
    char seen[MAX_NODES][HP_ADDR_MAX], err[256];
    int i, j, answered = 0, best = 0;
    *in_progress = 0;
    master[0] = '\0';
    for (i = 0; i < n && i < MAX_NODES; i++) {
        rclient *s = step__sentinel_connect(g, addrs[i], cfg->timeout_ms, err, sizeof(err));
        sentinel_entry e;
        seen[i][0] = '\0';
        if (!s) continue;
        if (step__sentinel_master_addr(s, name, seen[i], sizeof(seen[i]), err, sizeof(err)) == 0) {
            answered++;
            if (step__sentinel_master(s, name, &e, err, sizeof(err)) == 0 &&
                sreply_has_flag(e.flags, "failover_in_progress"))
                (*in_progress)++;
        }
        rclient_free(s);
    }
    for (i = 0; i < n && i < MAX_NODES; i++) {
        int k = 0;
        if (!seen[i][0]) continue;
        for (j = 0; j < n && j < MAX_NODES; j++)
            k += !strcmp(seen[i], seen[j]);
        if (k > best) {
            best = k;
            hp_strlcpy(master, seen[i], mastersz);
        }
    }
    *agree = best;
    return answered;
}

/* ---------------------------------------------------- reconfiguring a node */

/* Appends one command built with redisFormatCommand (len < 0: it failed). */
static int add_cmd(char **cmds, int *lens, int *n, char *cmd, int len)
{
    if (len < 0 || !cmd) return -1;
    cmds[*n] = cmd;
    lens[(*n)++] = len;
    return 0;
}

/* Sends rc to node n. Where CONFIG is renamed or disabled the transaction
 * is sent again without the CONFIG commands. Returns 0 when the role change
 * (if any) took effect; *persisted is 1 when CONFIG REWRITE succeeded, else
 * 0 with the reason in why. Temporary settings (a steered replica-priority)
 * are never in rc->config, so never rewritten by it. */
int step__reconfigure(rclient *n, const reconf *rc, int *persisted, char *why, size_t whysz,
                      char *err, size_t errsz)
{
    char host[HP_HOST_MAX], port[8], *cmds[16];
    int lens[16], nc, i, role_idx, rw_idx, aborted, attempt, p;
    redisReply *r = NULL;

    *persisted = 0;
    why[0] = '\0';
    if (rc->replicaof) {
        if (hp_addr_parse(rc->replicaof, host, sizeof(host), &p) < 0) {
            snprintf(err, errsz, "%s is not host:port", rc->replicaof);
            return -1;
        }
        snprintf(port, sizeof(port), "%d", p);
    }
    for (attempt = 0; attempt < 2; attempt++) {
        int with_config = attempt == 0, bad = 0, len;
        const cJSON *it;
        char *cmd = NULL;
        nc = 0;
        role_idx = rw_idx = -1;
        if (rc->no_one_first) {
            len = redisFormatCommand(&cmd, "REPLICAOF NO ONE");
            bad |= add_cmd(cmds, lens, &nc, cmd, len);
        }
        if (rc->replicaof) {
            role_idx = nc;
            len = redisFormatCommand(&cmd, "REPLICAOF %s %s", host, port);
            bad |= add_cmd(cmds, lens, &nc, cmd, len);
        }
        if (with_config) {
            cJSON_ArrayForEach(it, rc->config)
            {
                if (nc >= 13 || !cJSON_IsString(it)) continue;
                len = redisFormatCommand(&cmd, "CONFIG SET %s %s", it->string, it->valuestring);
                bad |= add_cmd(cmds, lens, &nc, cmd, len);
            }
            rw_idx = nc;
            len = redisFormatCommand(&cmd, "CONFIG REWRITE");
            bad |= add_cmd(cmds, lens, &nc, cmd, len);
        }
        if (rc->kill_clients) {
            len = redisFormatCommand(&cmd, "CLIENT KILL TYPE normal");
            bad |= add_cmd(cmds, lens, &nc, cmd, len);
        }
        r = bad ? NULL : rclient_transaction(n, err, errsz, nc, cmds, lens, &aborted);
        for (i = 0; i < nc; i++)
            redisFreeCommand(cmds[i]);
        if (bad) {
            snprintf(err, errsz, "out of memory");
            return -1;
        }
        if (!r && aborted && with_config) {
            snprintf(why, whysz, "CONFIG is renamed or disabled on %s (%s)", rclient_addr(n), err);
            continue;
        }
        if (!r) return -1;
        if (role_idx >= 0 &&
            ((size_t)role_idx >= r->elements || r->element[role_idx]->type == REDIS_REPLY_ERROR)) {
            snprintf(err, errsz, "%s: REPLICAOF refused: %s", rclient_addr(n),
                     (size_t)role_idx < r->elements ? r->element[role_idx]->str : "no reply");
            freeReplyObject(r);
            return -1;
        }
        if (with_config) {
            for (i = 0; i < (int)r->elements; i++)
                if (r->element[i]->type == REDIS_REPLY_ERROR && !why[0])
                    snprintf(why, whysz, "%s: %s", rclient_addr(n), r->element[i]->str);
            *persisted = rw_idx >= 0 && (size_t)rw_idx < r->elements &&
                         r->element[rw_idx]->type != REDIS_REPLY_ERROR;
        }
        freeReplyObject(r);
        return 0;
    }
    return -1;
}

/* ------------------------------------------------------------------- undo */

void step__undo_put(job *jb, const char *key, cJSON *item)
{
    cJSON *u = job_undo(jb);
    cJSON_DeleteItemFromObject(u, key);
    cJSON_AddItemToObject(u, key, item);
    job_save_undo(jb);
}

void step__undo_drop(job *jb, const char *key)
{
    cJSON_DeleteItemFromObject(job_undo(jb), key);
    job_save_undo(jb);
}

/* Puts the write fence's settings back on its node (with CONFIG REWRITE when
 * a failover may have rewritten its config file with them). */
int step__restore_min_replicas(job *jb, const cJSON *mr, int rewrite, int quiet)
{
    const config *cfg = job_config(jb);
    const char *node = cJSON_GetStringValue(cJSON_GetObjectItem(mr, "node"));
    const cJSON *settings = cJSON_GetObjectItem(mr, "settings");
    char err[512], why[256];
    rclient *n;
    int rc = -1, persisted;

    if (!node) return 0;
    n = step__node_connect(job_group(jb), node, cfg->timeout_ms, err, sizeof(err));
    if (n && rewrite) {
        reconf r = {NULL, 0, settings, 0};
        rc = step__reconfigure(n, &r, &persisted, why, sizeof(why), err, sizeof(err));
    } else if (n) {
        const cJSON *it;
        rc = 0;
        cJSON_ArrayForEach(it, settings) if (cJSON_IsString(it) &&
                                             rclient_ok(n, err, sizeof(err), "CONFIG SET %s %s",
                                                        it->string, it->valuestring) < 0) rc = -1;
    }
    if (rc == 0)
        job_step(jb,
                 "write fence on %s lifted: min-replicas-to-write and min-replicas-max-lag "
                 "put back%s",
                 node, rewrite ? " and rewritten" : "");
    else if (!quiet)
        job_step(jb, "could not put back min-replicas-to-write on %s yet (%s)", node, err);
    rclient_free(n);
    return rc;
}

/* Puts back what undo records: the pause, the write fence, the priorities,
 * removing from undo what is put back (the pause in any case: it ends by
 * its own timeout). quiet: no step for a node that still does not answer.
 * rewrite: a failover was requested, so Sentinel may have rewritten the
 * nodes' config files with the temporary values: rewrite them again.
 * Returns how many changes are still to put back. */
static int undo_apply(job *jb, cJSON *undo, int rewrite, int quiet)
{
    const config *cfg = job_config(jb);
    const cfg_group *g = job_group(jb);
    cJSON *prio = cJSON_GetObjectItem(undo, "priorities"), *it, *next;
    const cJSON *mr = cJSON_GetObjectItem(undo, "min_replicas");
    const char *paused = cJSON_GetStringValue(cJSON_GetObjectItem(undo, "paused"));
    char err[512], why[256];
    int left = 0;
    rclient *n;

    if (paused) {
        n = step__node_connect(g, paused, cfg->timeout_ms, err, sizeof(err));
        if (n && rclient_ok(n, err, sizeof(err), "CLIENT UNPAUSE") == 0)
            job_step(jb, "writes on %s unpaused", paused);
        else
            job_step(jb, "could not unpause %s (%s); its pause ends by its own timeout", paused,
                     err);
        rclient_free(n);
        cJSON_DeleteItemFromObject(undo, "paused");
    }
    if (mr) {
        if (step__restore_min_replicas(jb, mr, rewrite, quiet) == 0)
            cJSON_DeleteItemFromObject(undo, "min_replicas");
        else
            left++;
    }
    for (it = prio ? prio->child : NULL; it; it = next) {
        int persisted = 0;
        next = it->next;
        if (!cJSON_IsNumber(it)) continue;
        n = step__node_connect(g, it->string, cfg->timeout_ms, err, sizeof(err));
        if (n &&
            rclient_ok(n, err, sizeof(err), "CONFIG SET replica-priority %d", it->valueint) == 0) {
            if (rewrite) {
                reconf r = {NULL, 0, NULL, 0};
                step__reconfigure(n, &r, &persisted, why, sizeof(why), err, sizeof(err));
            }
            job_step(jb, "replica-priority of %s restored to %d%s", it->string, it->valueint,
                     rewrite ? (persisted ? " and rewritten" : " (not rewritten)") : "");
            cJSON_Delete(cJSON_DetachItemViaPointer(prio, it));
        } else {
            if (!quiet)
                job_step(jb, "could not restore replica-priority %d on %s yet: %s", it->valueint,
                         it->string, err);
            left++;
        }
        rclient_free(n);
    }
    if (prio && !prio->child) cJSON_DeleteItemFromObject(undo, "priorities");
    return left;
}

#define UNDO_RETRY_MS 30000 /* a node that hangs gets this long to answer again */

/* Applies and clears the job's undo: the normal end of a recipe. A node
 * that does not answer is tried again (every 500 ms, for UNDO_RETRY_MS);
 * what still cannot be put back is named, with the command to run. */
void step__undo_now(job *jb, int rewrite)
{
    cJSON *u = job_undo(jb), *child;
    int64_t deadline = hp_mono_ms() + UNDO_RETRY_MS;
    int left, tries = 0;

    if (!u->child) return;
    while ((left = undo_apply(jb, u, rewrite, tries > 0)) > 0 && hp_mono_ms() < deadline &&
           !job_cancelled(jb)) {
        job_save_undo(jb);
        if (tries++ == 0)
            job_step(jb,
                     "waiting up to %d s for the nodes that do not answer, to put back what "
                     "the job changed on them",
                     UNDO_RETRY_MS / 1000);
        step__sleep_ms(500);
    }
    if (left > 0) {
        char *left_text = cJSON_PrintUnformatted(u);
        job_step(jb, "warning: not put back, do it by hand (CONFIG SET): %s",
                 left_text ? left_text : "?");
        cJSON_free(left_text);
    }
    while ((child = u->child) != NULL)
        cJSON_Delete(cJSON_DetachItemViaPointer(u, child));
    job_save_undo(jb);
}

void step__record(job *jb, const char *kind, const char *old, const char *new_master,
                  int64_t started_at, int64_t paused_ms, const char *status)
{
    hp_failover r;
    memset(&r, 0, sizeof(r));
    hp_strlcpy(r.cluster, job_cluster(jb), sizeof(r.cluster));
    hp_strlcpy(r.kind, kind, sizeof(r.kind));
    hp_strlcpy(r.old_master, old, sizeof(r.old_master));
    hp_strlcpy(r.new_master, new_master, sizeof(r.new_master));
    r.started_at = started_at;
    r.ended_at = hp_now_ms();
    r.duration_ms = r.ended_at - r.started_at;
    r.writes_paused_ms = paused_ms;
    hp_strlcpy(r.status, status, sizeof(r.status));
    hp_strlcpy(r.actor, job_actor(jb), sizeof(r.actor));
    hp_strlcpy(r.reason, job_reason(jb), sizeof(r.reason));
    r.job_id = job_id(jb);
    evq_push_failover(job_events(jb), &r);
}
