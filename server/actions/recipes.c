/* recipes.c — failover (graceful and forced), resync and Sentinel reset,
 * and their crash recovery (see recipes.h).
 *
 * Why the graceful recipe exists: after SENTINEL FAILOVER with a live master,
 * Sentinel demotes the old master only after it has reported role master for
 * some 8-10 s more; clients that keep their connection write into it, and all
 * of it is discarded when it resyncs as a replica (142,839 of 187,179
 * acknowledged writes lost in our measurement). So writes are paused, the
 * replicas allowed to catch up, and the old master fenced (REPLICAOF the new
 * master, persisted with CONFIG REWRITE, its clients closed) the moment the
 * new one is promoted.
 *
 * What holds when things hang or die:
 *  - The pause is one CLIENT PAUSE with the request's limit and is never
 *    renewed: every call made while it holds has a deadline at its end, so a
 *    hung Sentinel, target or master cannot stretch it.
 *  - Before SENTINEL FAILOVER the old master gets a write fence that needs no
 *    one to apply it: min-replicas-to-write set to the number of replicas
 *    attached (min-replicas-max-lag raised, so a replica that merely hangs
 *    still counts). A promoted replica drops its link, the old master counts
 *    one replica short and refuses writes (-NOREPLICAS) — also when the pause
 *    has lapsed and hapanel is dead. The fence's transaction puts the two
 *    settings back.
 *  - Every change is written to the job's undo object before it is made. A
 *    restart finds it: interrupted before the failover was requested, the
 *    job's changes are put back; after, recovery asks the Sentinels what
 *    happened and, when a new master exists, fences the old one and records
 *    the failover (recipe_failover_recover).
 *  - Before any write is paused, the plan (promote.h) must pass on the view
 *    of the Sentinel that runs the failover, by Sentinel's own selection
 *    rules, and again on that Sentinel's live answer just before the pause. */
#define _POSIX_C_SOURCE 200809L
#include "actions/recipes.h"

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

#define MAX_NODES 32
#define PROMOTION_TIMEOUT_MS 15000 /* Sentinel promotes within ~1 s; it aborts at failover-timeout */
#define PROMOTION_WATCH_MAX_MS 120000 /* while the Sentinel still flags the failover */
#define SENTINEL_AGREE_TIMEOUT_MS 30000
#define PRIORITY_SEEN_TIMEOUT_MS 15000 /* Sentinel re-reads replica INFO every 10 s */
#define PLAN_WAIT_MS 15000             /* default wait for Sentinel's view to allow the failover */
#define RECOVER_SETTLE_MS 30000        /* recovery waits this long for a failover in progress */
#define RESYNC_TIMEOUT_MS 120000
#define RESET_TIMEOUT_MS 40000
#define WATCH_CALL_MS 150 /* per INFO while watching for the promotion */
#define FENCE_MAX_LAG "86400"

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------ helpers */

typedef struct ctx {
    job *jb;
    const config *cfg;
    topo_snap *topo;
    const cluster_snap *c;
    char err[512];
} ctx;

static int ctx_init(ctx *x, job *jb)
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
    return 0;
}

static void ctx_release(ctx *x)
{
    topo_release(x->topo);
    x->topo = NULL;
}

static rclient *node_connect(const config *cfg, const char *addr, int timeout_ms, char *err,
                             size_t errsz)
{
    return rclient_connect(addr, cfg->redis_password, timeout_ms, err, errsz);
}

static rclient *sentinel_connect(const config *cfg, const char *addr, int timeout_ms, char *err,
                                 size_t errsz)
{
    return rclient_connect(addr, cfg->sentinel_password, timeout_ms, err, errsz);
}

static int ms_until(int64_t deadline, int cap)
{
    int64_t left = deadline - hp_mono_ms();
    if (left < 20) left = 20;
    return left < cap ? (int)left : cap;
}

static long long param_int(const job *jb, const char *name, long long dflt)
{
    const cJSON *v = cJSON_GetObjectItem(job_params(jb), name);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : dflt;
}

static const char *param_str(const job *jb, const char *name)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(job_params(jb), name));
    return v ? v : "";
}

/* SENTINEL MASTER <name> from s, parsed. Returns 0 or -1. */
static int sentinel_master(rclient *s, const char *name, sentinel_entry *e, char *err,
                           size_t errsz)
{
    redisReply *r = rclient_cmd(s, err, errsz, "SENTINEL MASTER %s", name);
    int rc = r ? sreply_entry(r, e) : -1;
    if (r && rc < 0) snprintf(err, errsz, "%s: SENTINEL MASTER unreadable", rclient_addr(s));
    freeReplyObject(r);
    return rc;
}

/* The master address this Sentinel reports, into out. Returns 0 or -1. */
static int sentinel_master_addr(rclient *s, const char *name, char *out, size_t outsz, char *err,
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
static int sentinels_report(const config *cfg, const char *name, char (*addrs)[HP_ADDR_MAX], int n,
                            char *master, size_t mastersz, int *in_progress, int *agree)
{
    char seen[MAX_NODES][HP_ADDR_MAX], err[256];
    int i, j, answered = 0, best = 0;
    *in_progress = 0;
    master[0] = '\0';
    for (i = 0; i < n && i < MAX_NODES; i++) {
        rclient *s = sentinel_connect(cfg, addrs[i], cfg->timeout_ms, err, sizeof(err));
        sentinel_entry e;
        seen[i][0] = '\0';
        if (!s) continue;
        if (sentinel_master_addr(s, name, seen[i], sizeof(seen[i]), err, sizeof(err)) == 0) {
            answered++;
            if (sentinel_master(s, name, &e, err, sizeof(err)) == 0 &&
                sreply_has_flag(e.flags, "failover_in_progress"))
                (*in_progress)++;
        }
        rclient_free(s);
    }
    for (i = 0; i < n && i < MAX_NODES; i++) {
        int k = 0;
        if (!seen[i][0]) continue;
        for (j = 0; j < n && j < MAX_NODES; j++) k += !strcmp(seen[i], seen[j]);
        if (k > best) {
            best = k;
            hp_strlcpy(master, seen[i], mastersz);
        }
    }
    *agree = best;
    return answered;
}

/* ---------------------------------------------------- reconfiguring a node */

/* One role change (and settings put back with it), sent the way Sentinel
 * reconfigures a node (sentinelSendSlaveOf: MULTI, SLAVEOF, CONFIG REWRITE,
 * CLIENT KILL, EXEC): in one transaction, persisted, so a restart of the
 * node from its own config file does not undo it. */
typedef struct reconf {
    const char *replicaof; /* "host:port" to replicate from; NULL keeps the role */
    int no_one_first;      /* REPLICAOF NO ONE first: a new replication id, a full sync */
    const cJSON *config;   /* {parameter: value} set in the same transaction, or NULL */
    int kill_clients;      /* CLIENT KILL TYPE normal: fencing */
} reconf;

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
static int reconfigure(rclient *n, const reconf *rc, int *persisted, char *why, size_t whysz,
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
        for (i = 0; i < nc; i++) redisFreeCommand(cmds[i]);
        if (bad) {
            snprintf(err, errsz, "out of memory");
            return -1;
        }
        if (!r && aborted && with_config) {
            snprintf(why, whysz, "CONFIG is renamed or disabled on %s (%s)", rclient_addr(n), err);
            continue;
        }
        if (!r) return -1;
        if (role_idx >= 0 && ((size_t)role_idx >= r->elements ||
                              r->element[role_idx]->type == REDIS_REPLY_ERROR)) {
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

static void undo_put(job *jb, const char *key, cJSON *item)
{
    cJSON *u = job_undo(jb);
    cJSON_DeleteItemFromObject(u, key);
    cJSON_AddItemToObject(u, key, item);
    job_save_undo(jb);
}

static void undo_drop(job *jb, const char *key)
{
    cJSON_DeleteItemFromObject(job_undo(jb), key);
    job_save_undo(jb);
}

/* Puts the write fence's settings back on its node (with CONFIG REWRITE when
 * a failover may have rewritten its config file with them). */
static int restore_min_replicas(job *jb, const cJSON *mr, int rewrite, int quiet)
{
    const config *cfg = job_config(jb);
    const char *node = cJSON_GetStringValue(cJSON_GetObjectItem(mr, "node"));
    const cJSON *settings = cJSON_GetObjectItem(mr, "settings");
    char err[512], why[256];
    rclient *n;
    int rc = -1, persisted;

    if (!node) return 0;
    n = node_connect(cfg, node, cfg->timeout_ms, err, sizeof(err));
    if (n && rewrite) {
        reconf r = {NULL, 0, settings, 0};
        rc = reconfigure(n, &r, &persisted, why, sizeof(why), err, sizeof(err));
    } else if (n) {
        const cJSON *it;
        rc = 0;
        cJSON_ArrayForEach(it, settings)
        if (cJSON_IsString(it) &&
            rclient_ok(n, err, sizeof(err), "CONFIG SET %s %s", it->string, it->valuestring) < 0)
            rc = -1;
    }
    if (rc == 0)
        job_step(jb, "write fence on %s lifted: min-replicas-to-write and min-replicas-max-lag "
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
    cJSON *prio = cJSON_GetObjectItem(undo, "priorities"), *it, *next;
    const cJSON *mr = cJSON_GetObjectItem(undo, "min_replicas");
    const char *paused = cJSON_GetStringValue(cJSON_GetObjectItem(undo, "paused"));
    char err[512], why[256];
    int left = 0;
    rclient *n;

    if (paused) {
        n = node_connect(cfg, paused, cfg->timeout_ms, err, sizeof(err));
        if (n && rclient_ok(n, err, sizeof(err), "CLIENT UNPAUSE") == 0)
            job_step(jb, "writes on %s unpaused", paused);
        else
            job_step(jb, "could not unpause %s (%s); its pause ends by its own timeout", paused, err);
        rclient_free(n);
        cJSON_DeleteItemFromObject(undo, "paused");
    }
    if (mr) {
        if (restore_min_replicas(jb, mr, rewrite, quiet) == 0)
            cJSON_DeleteItemFromObject(undo, "min_replicas");
        else
            left++;
    }
    for (it = prio ? prio->child : NULL; it; it = next) {
        int persisted = 0;
        next = it->next;
        if (!cJSON_IsNumber(it)) continue;
        n = node_connect(cfg, it->string, cfg->timeout_ms, err, sizeof(err));
        if (n && rclient_ok(n, err, sizeof(err), "CONFIG SET replica-priority %d", it->valueint) == 0) {
            if (rewrite) {
                reconf r = {NULL, 0, NULL, 0};
                reconfigure(n, &r, &persisted, why, sizeof(why), err, sizeof(err));
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
static void undo_now(job *jb, int rewrite)
{
    cJSON *u = job_undo(jb), *child;
    int64_t deadline = hp_mono_ms() + UNDO_RETRY_MS;
    int left, tries = 0;

    if (!u->child) return;
    while ((left = undo_apply(jb, u, rewrite, tries > 0)) > 0 && hp_mono_ms() < deadline &&
           !job_cancelled(jb)) {
        job_save_undo(jb);
        if (tries++ == 0)
            job_step(jb, "waiting up to %d s for the nodes that do not answer, to put back what "
                         "the job changed on them",
                     UNDO_RETRY_MS / 1000);
        sleep_ms(500);
    }
    if (left > 0) {
        char *left_text = cJSON_PrintUnformatted(u);
        job_step(jb, "warning: not put back, do it by hand (CONFIG SET): %s",
                 left_text ? left_text : "?");
        cJSON_free(left_text);
    }
    while ((child = u->child) != NULL) cJSON_Delete(cJSON_DetachItemViaPointer(u, child));
    job_save_undo(jb);
}

/* ------------------------------------------------------------- failover */

typedef struct fo {
    ctx x;
    job *jb;
    int force;
    plan pl;
    plan_req rq;
    char name[HP_NAME_MAX];
    char old[HP_ADDR_MAX], target[HP_ADDR_MAX], expected[HP_ADDR_MAX];
    char promoted[HP_ADDR_MAX], new_master[HP_ADDR_MAX];
    long long max_pause_ms, max_wait_ms, failover_timeout_ms;
    rclient *s, *m;
    char reps[MAX_NODES][HP_ADDR_MAX]; /* every replica, watched for the promotion */
    rclient *rconn[MAX_NODES];
    int nreps;
    int cand[MAX_NODES]; /* indexes into reps of those that must catch up */
    int ncand;
    int64_t started_at, paused_at, pause_end, paused_ms;
    int paused;     /* our pause may still hold */
    int requested;  /* SENTINEL FAILOVER was sent */
    int unanswered; /* ... and got no answer: Sentinel may still run it */
    int disarmed;   /* ... so every replica's priority is 0 until it answers */
    int fenced, persisted;
    char persist_why[256];
} fo;

static void fo_release(fo *f)
{
    int i;
    for (i = 0; i < f->nreps; i++) rclient_free(f->rconn[i]);
    rclient_free(f->s);
    rclient_free(f->m);
    ctx_release(&f->x);
}

static void record(job *jb, const char *kind, const char *old, const char *new_master,
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

static void record_failover(fo *f, const char *status)
{
    record(f->jb, f->force ? "forced" : "graceful", f->old, f->new_master, f->started_at,
           f->paused_at ? f->paused_ms : -1, status);
}

/* Whether a and b differ only in their numbers. */
static int same_words(const char *a, const char *b)
{
    for (;;) {
        while (*a >= '0' && *a <= '9') a++;
        while (*b >= '0' && *b <= '9') b++;
        if (*a != *b) return 0;
        if (!*a) return 1;
        a++;
        b++;
    }
}

/* Waits (up to max_wait_ms) until the plan, rebuilt from each new snapshot,
 * lets the failover go: nothing is changed while it waits. */
static int wait_plan(fo *f)
{
    int64_t deadline = hp_mono_ms() + f->max_wait_ms;
    char last[512] = "";
    const char *b;

    for (;;) {
        topo_snap *t = topo_acquire();
        const cluster_snap *c = topo_find(t, f->name);
        if (c) plan_build(c, &f->rq, hp_now_ms(), &f->pl);
        topo_release(t);
        if (!c) {
            job_fail(f->jb, "cluster %s is no longer monitored", f->name);
            return -1;
        }
        b = plan_blocker(&f->pl);
        if (f->pl.state < PLAN_WAIT) return 0;
        if (f->pl.state == PLAN_FAIL) {
            job_fail(f->jb, "%s", b);
            return -1;
        }
        if (hp_mono_ms() >= deadline || job_cancelled(f->jb)) {
            job_fail(f->jb, "%s (waited %lld ms for it to change; nothing was changed)", b,
                     f->max_wait_ms);
            return -1;
        }
        if (!same_words(last, b)) { /* ages tick every poll: say it again only when it differs */
            job_step(f->jb, "waiting up to %.1f s before changing anything: %s",
                     (double)f->max_wait_ms / 1000.0, b);
            hp_strlcpy(last, b, sizeof(last));
        }
        sleep_ms(250);
    }
}

/* Reads the running Sentinel's view of the replicas now and applies its
 * selection rules. Returns the index of its pick in v (filled, *n entries),
 * -1 with every replica's exclusion in why, or -2 when it does not answer. */
static int live_pick(fo *f, snap_sview *v, int *n, char *why, size_t whysz)
{
    sentinel_entry me, e[MAX_NODES];
    promo_master pm;
    redisReply *r;
    int i, k, pick;
    char one[160];

    *n = 0;
    why[0] = '\0';
    if (sentinel_master(f->s, f->name, &me, f->x.err, sizeof(f->x.err)) < 0) return -2;
    r = rclient_cmd(f->s, f->x.err, sizeof(f->x.err), "SENTINEL REPLICAS %s", f->name);
    k = r ? sreply_entries(r, e, MAX_NODES) : -1;
    freeReplyObject(r);
    if (k < 0) return -2;
    for (i = 0; i < k; i++) promo_sview_from_entry(&v[i], rclient_addr(f->s), &e[i]);
    *n = k;
    pm.down_after_ms = me.down_after_ms;
    pm.s_down_ms = sreply_has_flag(me.flags, "s_down") ? me.s_down_ms : -1;
    pick = promo_sentinel_pick(v, k, &pm, 0);
    if (pick < 0)
        for (i = 0; i < k; i++) {
            size_t l = strlen(why);
            promo_sentinel_rule(&v[i], &pm, 0, 0, one, sizeof(one));
            snprintf(why + l, whysz - l, "%s%s %s", l ? "; " : "", v[i].addr, one);
        }
    return pick;
}

/* Makes Sentinel choose the target: the lowest replica-priority wins its
 * vote. Records the originals first (undo), then waits until the running
 * Sentinel's own selection picks the target. Temporary: never rewritten. */
static int steer(fo *f)
{
    cJSON *saved = cJSON_CreateObject(), *it;
    snap_sview v[MAX_NODES];
    char why[512];
    int64_t deadline;
    int i, n, pick, tprio = -1;
    rclient *r;
    node_info in;

    for (i = 0; i < f->nreps; i++) {
        r = node_connect(f->x.cfg, f->reps[i], 500, f->x.err, sizeof(f->x.err));
        if (r && rclient_info(r, &in, f->x.err, sizeof(f->x.err)) == 0) {
            if (!strcmp(f->reps[i], f->target)) {
                tprio = in.priority;
                cJSON_AddNumberToObject(saved, f->reps[i], in.priority);
            } else if (in.priority == 1) {
                cJSON_AddNumberToObject(saved, f->reps[i], in.priority);
            }
        }
        rclient_free(r);
    }
    if (tprio < 0) {
        cJSON_Delete(saved);
        snprintf(f->x.err, sizeof(f->x.err), "cannot read the target's INFO");
        return -1;
    }
    undo_put(f->jb, "priorities", saved);
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(job_undo(f->jb), "priorities"))
    {
        int is_target = !strcmp(it->string, f->target);
        r = node_connect(f->x.cfg, it->string, 500, f->x.err, sizeof(f->x.err));
        if (!r || rclient_ok(r, f->x.err, sizeof(f->x.err), "CONFIG SET replica-priority %d",
                             is_target ? 1 : 2) < 0) {
            rclient_free(r);
            return -1;
        }
        rclient_free(r);
    }
    job_step(f->jb, "replica-priority of %s set to 1 (was %d); waiting for Sentinel %s to read it",
             f->target, tprio, rclient_addr(f->s));
    job_failpoint(f->jb, "after-steer");
    deadline = hp_mono_ms() + PRIORITY_SEEN_TIMEOUT_MS;
    while (hp_mono_ms() < deadline && !job_cancelled(f->jb)) {
        pick = live_pick(f, v, &n, why, sizeof(why));
        if (pick >= 0 && !strcmp(v[pick].addr, f->target)) {
            job_step(f->jb, "Sentinel %s now picks %s (priority %d in its view)",
                     rclient_addr(f->s), f->target, v[pick].priority);
            return 0;
        }
        sleep_ms(200);
    }
    snprintf(f->x.err, sizeof(f->x.err), "Sentinel %s did not come to pick %s within %d ms",
             rclient_addr(f->s), f->target, PRIORITY_SEEN_TIMEOUT_MS);
    return -1;
}

/* The replicas that must have everything before the failover: the target,
 * or every replica Sentinel may pick (its view can change before it acts). */
static int choose_catchup(fo *f)
{
    snap_sview v[MAX_NODES];
    char why[512];
    int n, pick, i, j;
    promo_master pm = {f->pl.down_after_ms, -1};

    pick = live_pick(f, v, &n, why, sizeof(why));
    if (pick == -2) return -1; /* f->x.err says why */
    if (pick < 0) {
        snprintf(f->x.err, sizeof(f->x.err), "Sentinel %s would promote no replica: %.400s",
                 rclient_addr(f->s), why);
        return -1;
    }
    if (f->target[0] && strcmp(v[pick].addr, f->target)) {
        snprintf(f->x.err, sizeof(f->x.err), "Sentinel %s would promote %s, not the target %s",
                 rclient_addr(f->s), v[pick].addr, f->target);
        return -1;
    }
    if (!f->target[0]) {
        /* Sentinel re-reads a replica's INFO as the failover starts when
         * its copy is over a second old, and then picks on it: with writes
         * paused the offsets are equal, and the choice is the one expected.
         * A copy younger than that would be used as it is, with offsets
         * from before the pause: wait until none is. */
        int64_t youngest = INT64_MAX;
        for (i = 0; i < n; i++)
            if (promo_sentinel_rule(&v[i], &pm, 0, 0, why, sizeof(why)) &&
                v[i].info_refresh_ms < youngest)
                youngest = v[i].info_refresh_ms;
        if (youngest >= 0 && youngest < 1100) sleep_ms((int)(1100 - youngest));
        pick = promo_expected(v, n, &pm, 0, f->x.c, 1);
        if (pick < 0) {
            snprintf(f->x.err, sizeof(f->x.err), "Sentinel %s would promote no replica",
                     rclient_addr(f->s));
            return -1;
        }
    }
    hp_strlcpy(f->expected, v[pick].addr, sizeof(f->expected));
    f->ncand = 0;
    for (i = 0; i < n; i++) {
        if (f->target[0] ? i != pick : !promo_sentinel_rule(&v[i], &pm, 0, 0, why, sizeof(why)))
            continue;
        for (j = 0; j < f->nreps && strcmp(f->reps[j], v[i].addr); j++)
            ;
        if (j < f->nreps) f->cand[f->ncand++] = j;
    }
    if (!f->ncand) {
        snprintf(f->x.err, sizeof(f->x.err), "Sentinel %s would promote %s, which hapanel does not watch",
                 rclient_addr(f->s), v[pick].addr);
        return -1;
    }
    return 0;
}

/* Lets the old master refuse writes by itself once a replica is promoted
 * (see the top of this file). Returns 0, or -1 when it cannot be set (the
 * switchover then goes on without it, and says so). */
static int write_fence(fo *f)
{
    static const char *const names[] = {"min-replicas-to-write", "min-replicas-max-lag"};
    node_info mi;
    cJSON *mr, *settings;
    int i, online = 0;
    long long to_write = 0;

    if (rclient_info(f->m, &mi, f->x.err, sizeof(f->x.err)) < 0) return -1;
    for (i = 0; i < mi.nreplicas; i++) online += !strcmp(mi.replicas[i].state, "online");
    if (online == 0) {
        snprintf(f->x.err, sizeof(f->x.err), "no replica is attached to %s", f->old);
        return -1;
    }
    mr = cJSON_CreateObject();
    cJSON_AddStringToObject(mr, "node", f->old);
    settings = cJSON_AddObjectToObject(mr, "settings");
    for (i = 0; i < 2; i++) {
        redisReply *r = rclient_cmd(f->m, f->x.err, sizeof(f->x.err), "CONFIG GET %s", names[i]);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[1]->type != REDIS_REPLY_STRING) {
            if (r) snprintf(f->x.err, sizeof(f->x.err), "%s: CONFIG GET %s unreadable", f->old, names[i]);
            freeReplyObject(r);
            cJSON_Delete(mr);
            return -1;
        }
        cJSON_AddStringToObject(settings, names[i], r->element[1]->str);
        if (i == 0) to_write = atoll(r->element[1]->str);
        freeReplyObject(r);
    }
    undo_put(f->jb, "min_replicas", mr);
    if (to_write < online) to_write = online;
    if (rclient_ok(f->m, f->x.err, sizeof(f->x.err), "CONFIG SET min-replicas-max-lag %s",
                   FENCE_MAX_LAG) < 0 ||
        rclient_ok(f->m, f->x.err, sizeof(f->x.err), "CONFIG SET min-replicas-to-write %lld",
                   to_write) < 0)
        return -1;
    job_step(f->jb, "write fence on %s: min-replicas-to-write %lld (replicas attached), so it "
                    "refuses writes once one is promoted",
             f->old, to_write);
    return 0;
}

/* Polls every replica once (each call bounded) for role master. Returns 1
 * with f->promoted set when one is. */
static int poll_promotion(fo *f, int64_t deadline)
{
    int i;
    for (i = 0; i < f->nreps; i++) {
        node_info in;
        int ms = ms_until(deadline, WATCH_CALL_MS);
        if (!f->rconn[i]) f->rconn[i] = node_connect(f->x.cfg, f->reps[i], ms, f->x.err, sizeof(f->x.err));
        if (!f->rconn[i]) continue;
        rclient_deadline(f->rconn[i], hp_mono_ms() + ms);
        if (rclient_info(f->rconn[i], &in, f->x.err, sizeof(f->x.err)) < 0) {
            rclient_free(f->rconn[i]); /* lost or hung: reconnect next round */
            f->rconn[i] = NULL;
            continue;
        }
        if (in.role == ROLE_MASTER) {
            hp_strlcpy(f->promoted, f->reps[i], sizeof(f->promoted));
            return 1;
        }
    }
    return 0;
}

/* What the running Sentinel says of the failover now. */
enum { SENTINEL_SILENT, SENTINEL_BUSY, SENTINEL_GAVE_UP, SENTINEL_DONE };

static int sentinel_state(fo *f)
{
    char err[256], seen[HP_ADDR_MAX];
    rclient *s = sentinel_connect(f->x.cfg, rclient_addr(f->s), 300, err, sizeof(err));
    sentinel_entry e;
    int st = SENTINEL_SILENT;
    if (s && sentinel_master(s, f->name, &e, err, sizeof(err)) == 0 &&
        sentinel_master_addr(s, f->name, seen, sizeof(seen), err, sizeof(err)) == 0)
        st = sreply_has_flag(e.flags, "failover_in_progress") ? SENTINEL_BUSY
             : strcmp(seen, f->old)                          ? SENTINEL_DONE
                                                             : SENTINEL_GAVE_UP;
    rclient_free(s);
    return st;
}

static int unpause(fo *f)
{
    int64_t now = hp_mono_ms();
    if (!f->paused) return 0;
    f->paused = 0;
    if (now >= f->pause_end) {
        f->paused_ms = f->max_pause_ms; /* it lapsed by its own timeout */
    } else {
        rclient_deadline(f->m, f->pause_end + 200);
        if (rclient_ok(f->m, f->x.err, sizeof(f->x.err), "CLIENT UNPAUSE") < 0)
            job_step(f->jb, "CLIENT UNPAUSE failed (%s); the pause ends by its own timeout",
                     f->x.err);
        rclient_deadline(f->m, 0);
        f->paused_ms = hp_mono_ms() - f->paused_at;
        if (f->paused_ms > f->max_pause_ms) f->paused_ms = f->max_pause_ms;
    }
    undo_drop(f->jb, "paused");
    return 0;
}

/* Waits for a replica to say role master: while writes are paused until the
 * pause ends, then (writes resumed; the write fence guards the old master)
 * until the watch deadline or until Sentinel gives up. Returns 0 when one
 * was promoted. */
static void disarm(fo *f);

static int wait_promotion(fo *f)
{
    int64_t start = hp_mono_ms(), watch_end = start + PROMOTION_TIMEOUT_MS, next_ask = 0;
    if (f->unanswered) watch_end += PROMOTION_TIMEOUT_MS; /* a hung Sentinel may act late */
    while (hp_mono_ms() < watch_end && !job_cancelled(f->jb)) {
        int64_t now = hp_mono_ms();
        if (poll_promotion(f, f->paused && now < f->pause_end ? f->pause_end : watch_end)) return 0;
        if (f->paused && hp_mono_ms() >= f->pause_end - 5) {
            if (f->unanswered) disarm(f);
            unpause(f);
            job_step(f->jb, "no replica promoted within the pause limit of %lld ms: writes resumed "
                            "on %s; its write fence refuses them once one is promoted",
                     f->max_pause_ms, f->old);
            job_failpoint(f->jb, "after-pause-limit");
        }
        if (!f->paused && hp_mono_ms() >= next_ask) {
            int st = sentinel_state(f);
            if (st == SENTINEL_GAVE_UP && !poll_promotion(f, hp_mono_ms() + WATCH_CALL_MS)) {
                snprintf(f->x.err, sizeof(f->x.err), "Sentinel %s %s", rclient_addr(f->s),
                         f->disarmed ? "answers again and runs no failover: the disarmed "
                                       "failover did not happen, nothing was lost"
                                     : "ended the failover without promoting a replica");
                return -1;
            }
            /* A Sentinel resumed from a hang holds a failover in progress
             * through its TILT (30 s) and then carries it out: keep watching,
             * with the write fence on, while it still flags one. */
            if (st == SENTINEL_BUSY && watch_end - hp_mono_ms() < 5000 &&
                watch_end < start + PROMOTION_WATCH_MAX_MS)
                watch_end += 5000;
            next_ask = hp_mono_ms() + 500;
        }
        sleep_ms(f->paused ? 1 : 20);
    }
    snprintf(f->x.err, sizeof(f->x.err), "no replica was promoted within %lld ms",
             (long long)(hp_mono_ms() - start));
    return -1;
}

/* Fences the old master: REPLICAOF the new master, the write fence's
 * settings put back, CONFIG REWRITE, its clients closed — one transaction.
 * Returns 0 once it replicates from the new master. */
static int fence(fo *f)
{
    const cJSON *mr = cJSON_GetObjectItem(job_undo(f->jb), "min_replicas");
    reconf r = {f->new_master, 0, cJSON_GetObjectItem(mr, "settings"), 1};
    char err[512];

    if (!f->m) {
        f->m = node_connect(f->x.cfg, f->old, 500, err, sizeof(err));
        if (!f->m) return -1;
    }
    if (f->paused) rclient_deadline(f->m, f->pause_end + 200);
    if (reconfigure(f->m, &r, &f->persisted, f->persist_why, sizeof(f->persist_why), f->x.err,
                    sizeof(f->x.err)) < 0) {
        rclient_free(f->m); /* a failed transaction leaves the connection unusable */
        f->m = NULL;
        f->paused = 0;      /* cannot unpause without it; the pause times out */
        return -1;
    }
    rclient_deadline(f->m, 0);
    f->fenced = 1;
    if (mr) undo_drop(f->jb, "min_replicas");
    job_step(f->jb, "old master %s fenced: REPLICAOF %s and CLIENT KILL in one transaction, %s",
             f->old, f->new_master,
             f->persisted ? "persisted with CONFIG REWRITE" : "NOT persisted");
    if (!f->persisted)
        job_step(f->jb, "warning: the fence of %s is not persisted (%s); after a restart %s would "
                        "come back as a master until Sentinel converts it",
                 f->old, f->persist_why[0] ? f->persist_why : "CONFIG REWRITE failed", f->old);
    return 0;
}

/* A fence that failed (the old master hung or down): tries again; once
 * Sentinel has converted the node itself, only its write fence is lifted. */
static void retry_fence(fo *f)
{
    char err[256];
    rclient *n;
    node_info in;
    const cJSON *mr;

    if (f->fenced) return;
    n = node_connect(f->x.cfg, f->old, 300, err, sizeof(err));
    if (!n || rclient_info(n, &in, err, sizeof(err)) < 0) {
        rclient_free(n);
        return;
    }
    rclient_free(n);
    if (in.role == ROLE_MASTER) {
        fence(f);
        return;
    }
    mr = cJSON_GetObjectItem(job_undo(f->jb), "min_replicas");
    if (!mr || restore_min_replicas(f->jb, mr, 1, 1) == 0) {
        undo_drop(f->jb, "min_replicas");
        f->fenced = 1;
        job_step(f->jb, "old master %s was converted to a replica by Sentinel", f->old);
    }
}

/* Waits until every answering Sentinel names the new master and none still
 * flags a failover (a failover asked before that is refused with -INPROG),
 * retrying the fence meanwhile. Returns 0, or -1 at the deadline. */
static int wait_settled(fo *f, int timeout_ms)
{
    int64_t deadline = hp_mono_ms() + timeout_ms;
    char (*addrs)[HP_ADDR_MAX] = malloc(sizeof(*addrs) * MAX_NODES);
    int n = 0, i, agreed = 0;
    int64_t agreed_at = 0;

    if (!addrs) return -1;
    for (i = 0; i < f->x.c->nsentinels && n < MAX_NODES; i++)
        hp_strlcpy(addrs[n++], f->x.c->sentinels[i].addr, HP_ADDR_MAX);
    while (hp_mono_ms() < deadline && !job_cancelled(f->jb)) {
        char master[HP_ADDR_MAX];
        int busy, agree;
        sentinels_report(f->x.cfg, f->name, addrs, n, master, sizeof(master), &busy, &agree);
        retry_fence(f);
        if (!agreed && agree > n / 2 && !strcmp(master, f->new_master)) {
            job_step(f->jb, "%d of %d Sentinels report %s as master", agree, n, master);
            agreed = 1;
            agreed_at = hp_mono_ms();
        }
        /* Done when none flags a failover any more, and the old master is
         * fenced or has stayed out of reach for a while. */
        if (agreed && !busy && (f->fenced || hp_mono_ms() - agreed_at > 5000)) break;
        sleep_ms(200);
    }
    free(addrs);
    if (!agreed) {
        job_fail(f->jb, "Sentinels did not agree on %s as master within %d ms", f->new_master,
                 timeout_ms);
        return -1;
    }
    if (!f->fenced)
        job_step(f->jb, "warning: old master %s not reachable to fence; Sentinel reconfigures it "
                        "when it returns",
                 f->old);
    return 0;
}

/* Records in the undo what a restart needs to find out what happened. */
static void note_requested(fo *f)
{
    cJSON *o = cJSON_CreateObject(), *a;
    int i;
    cJSON_AddStringToObject(o, "old_master", f->old);
    cJSON_AddStringToObject(o, "sentinel", rclient_addr(f->s));
    cJSON_AddStringToObject(o, "mode", f->force ? "force" : "graceful");
    cJSON_AddNumberToObject(o, "started_at", (double)f->started_at);
    cJSON_AddNumberToObject(o, "failover_timeout_ms", (double)f->failover_timeout_ms);
    a = cJSON_AddArrayToObject(o, "sentinels");
    for (i = 0; i < f->x.c->nsentinels; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(f->x.c->sentinels[i].addr));
    undo_put(f->jb, "failover", o);
}

/* Sends SENTINEL FAILOVER (bounded by deadline, 0 = the normal timeout).
 * Returns 0 when it was accepted or its answer is unknown (f->unanswered),
 * -1 when Sentinel refused it (nothing will happen). */
static int request_failover(fo *f, int64_t deadline)
{
    redisReply *r;
    note_requested(f);
    if (deadline) rclient_deadline(f->s, deadline);
    r = rclient_cmd(f->s, f->x.err, sizeof(f->x.err), "SENTINEL FAILOVER %s", f->name);
    rclient_deadline(f->s, 0);
    if (r) {
        freeReplyObject(r);
        f->requested = 1;
        job_step(f->jb, "SENTINEL FAILOVER sent to %s%s", rclient_addr(f->s),
                 f->force ? " (forced)" : "");
        return 0;
    }
    if (strstr(f->x.err, "ERR") || strstr(f->x.err, "NOGOODSLAVE") || strstr(f->x.err, "INPROG")) {
        undo_drop(f->jb, "failover");
        return -1;
    }
    f->requested = f->unanswered = 1;
    job_step(f->jb, "Sentinel %s did not answer SENTINEL FAILOVER (%s); it may still run it: "
                    "watching for a promotion",
             rclient_addr(f->s), f->x.err);
    return 0;
}

static void put_result(fo *f)
{
    cJSON *res = job_result(f->jb);
    cJSON_DeleteItemFromObject(res, "new_master");
    cJSON_DeleteItemFromObject(res, "promoted");
    if (f->new_master[0]) cJSON_AddStringToObject(res, "new_master", f->new_master);
    if (f->promoted[0]) cJSON_AddStringToObject(res, "promoted", f->promoted);
    if (f->expected[0] && !cJSON_GetObjectItem(res, "expected"))
        cJSON_AddStringToObject(res, "expected", f->expected);
    if (f->paused_at && !cJSON_GetObjectItem(res, "writes_paused_ms"))
        cJSON_AddNumberToObject(res, "writes_paused_ms", (double)f->paused_ms);
    if (f->fenced && !cJSON_GetObjectItem(res, "persisted")) {
        cJSON_AddBoolToObject(res, "persisted", f->persisted);
        if (!f->persisted)
            cJSON_AddStringToObject(res, "persisted_note", f->persist_why[0] ? f->persist_why
                                                                             : "CONFIG REWRITE failed");
    }
}

/* After a promotion: fence, unpause, wait for the Sentinels, put priorities
 * back, record. The common end of both modes. */
static int finish(fo *f)
{
    int rc;
    hp_strlcpy(f->new_master, f->promoted, sizeof(f->new_master));
    if (f->expected[0] && strcmp(f->promoted, f->expected))
        job_step(f->jb, "%s promoted to master (Sentinel had been expected to pick %s)",
                 f->promoted, f->expected);
    else
        job_step(f->jb, "%s promoted to master", f->promoted);
    job_failpoint(f->jb, "after-promotion");
    if (fence(f) < 0)
        job_step(f->jb, "fencing %s failed: %s; retrying while the Sentinels settle", f->old,
                 f->x.err);
    job_failpoint(f->jb, "after-fence");
    if (f->paused) {
        unpause(f);
        job_step(f->jb, "writes on %s were paused %lld ms", f->old, (long long)f->paused_ms);
    }
    job_failpoint(f->jb, "after-unpause");
    rc = wait_settled(f, f->failover_timeout_ms > 0 ? (int)f->failover_timeout_ms + 10000
                                                    : SENTINEL_AGREE_TIMEOUT_MS);
    job_failpoint(f->jb, "after-agree");
    undo_now(f->jb, 1);
    put_result(f);
    record_failover(f, rc == 0 ? "succeeded" : "failed");
    return rc;
}

/* A failover requested that promoted nobody: put everything back. */
static int give_up(fo *f, const char *what)
{
    job_fail(f->jb, "%s: %s; what it changed is put back%s", what, f->x.err,
             f->unanswered && !strstr(f->x.err, "answers again")
                 ? " (Sentinel never answered SENTINEL FAILOVER: should it resume, it may still "
                   "run it)"
                 : "");
    if (f->paused) unpause(f);
    undo_now(f->jb, f->requested);
    put_result(f);
    if (f->requested) record_failover(f, "failed");
    return -1;
}

/* From here writes wait, for max_pause_ms at most: the pause is never
 * renewed, and every call until its end is bounded by it. */
static int pause_writes(fo *f)
{
    undo_put(f->jb, "paused", cJSON_CreateString(f->old));
    if (rclient_ok(f->m, f->x.err, sizeof(f->x.err), "CLIENT PAUSE %lld WRITE", f->max_pause_ms) < 0) {
        undo_drop(f->jb, "paused");
        return -1;
    }
    f->paused_at = hp_mono_ms();
    f->pause_end = f->paused_at + f->max_pause_ms;
    f->paused = 1;
    job_step(f->jb, "writes paused on %s, pause at most %lld ms", f->old, f->max_pause_ms);
    job_failpoint(f->jb, "after-pause");
    return 0;
}

/* Right before SENTINEL FAILOVER: the master, the replicas that may be
 * promoted and the Sentinel must still answer (bounded by the pause). A
 * replica that hangs after Sentinel selected it would execute the queued
 * REPLICAOF NO ONE whenever it resumes, and be promoted with what it had. */
static int still_answering(fo *f)
{
    int64_t deadline = hp_mono_ms() + 150;
    node_info in;
    int i;
    if (deadline > f->pause_end) deadline = f->pause_end;
    rclient_deadline(f->m, deadline);
    if (rclient_ok(f->m, f->x.err, sizeof(f->x.err), "PING") < 0) {
        rclient_deadline(f->m, 0);
        return -1;
    }
    rclient_deadline(f->m, 0);
    for (i = 0; i < f->ncand; i++) {
        rclient *c = f->rconn[f->cand[i]];
        if (!c) {
            snprintf(f->x.err, sizeof(f->x.err), "%s does not answer", f->reps[f->cand[i]]);
            return -1;
        }
        rclient_deadline(c, deadline);
        if (rclient_info(c, &in, f->x.err, sizeof(f->x.err)) < 0) {
            rclient_free(c);
            f->rconn[f->cand[i]] = NULL;
            return -1;
        }
    }
    rclient_deadline(f->s, deadline);
    if (rclient_ok(f->s, f->x.err, sizeof(f->x.err), "PING") < 0) {
        rclient_deadline(f->s, 0);
        return -1;
    }
    rclient_deadline(f->s, 0);
    return 0;
}

/* SENTINEL FAILOVER got no answer within the pause: the Sentinel may act on
 * it whenever it resumes (after its TILT, 30 s later, if it hung 2 s or
 * more), on a master that takes writes again by then, and lose what is in
 * flight to the replica it promotes. So that failover is made impossible:
 * every replica's replica-priority 0 (the originals in the undo first).
 * Sentinel re-reads their INFO as the failover starts and aborts it
 * (-failover-abort-no-good-slave). Put back once the Sentinel answers and
 * flags no failover. */
static void disarm(fo *f)
{
    cJSON *u = job_undo(f->jb), *prio = cJSON_GetObjectItem(u, "priorities");
    int i, n = 0;

    if (!prio) prio = cJSON_AddObjectToObject(u, "priorities");
    for (i = 0; i < f->nreps; i++) {
        rclient *r = node_connect(f->x.cfg, f->reps[i], 300, f->x.err, sizeof(f->x.err));
        node_info in;
        if (r && !cJSON_GetObjectItem(prio, f->reps[i]) &&
            rclient_info(r, &in, f->x.err, sizeof(f->x.err)) == 0 && in.priority >= 0)
            cJSON_AddNumberToObject(prio, f->reps[i], in.priority);
        rclient_free(r);
    }
    job_save_undo(f->jb);
    for (i = 0; i < f->nreps; i++) {
        rclient *r = node_connect(f->x.cfg, f->reps[i], 300, f->x.err, sizeof(f->x.err));
        if (r && rclient_ok(r, f->x.err, sizeof(f->x.err), "CONFIG SET replica-priority 0") == 0) n++;
        rclient_free(r);
    }
    f->disarmed = 1;
    job_step(f->jb, "disarmed: replica-priority 0 on %d of %d replicas, so the unanswered "
                    "SENTINEL FAILOVER aborts should Sentinel %s resume with it; put back once it "
                    "answers",
             n, f->nreps, rclient_addr(f->s));
}

/* Waits, while writes are paused, until every replica that may be promoted
 * has all the paused master has; bounded to 3/4 of the pause. */
static int catch_up(fo *f)
{
    int64_t deadline = f->paused_at + f->max_pause_ms * 3 / 4;
    node_info mi, ri;

    for (;;) {
        int i, behind = 0;
        rclient_deadline(f->m, deadline);
        if (rclient_info(f->m, &mi, f->x.err, sizeof(f->x.err)) < 0) return -1;
        for (i = 0; i < f->ncand && !behind; i++) {
            rclient **c = &f->rconn[f->cand[i]];
            if (!*c)
                *c = node_connect(f->x.cfg, f->reps[f->cand[i]], ms_until(deadline, 500), f->x.err,
                                  sizeof(f->x.err));
            if (!*c) return -1;
            rclient_deadline(*c, deadline);
            if (rclient_info(*c, &ri, f->x.err, sizeof(f->x.err)) < 0) {
                rclient_free(*c);
                *c = NULL;
                return -1;
            }
            if (ri.slave_repl_offset < mi.master_repl_offset) behind = 1;
        }
        if (!behind) {
            job_step(f->jb, "replica%s caught up at offset %lld", f->ncand > 1 ? "s" : "",
                     (long long)mi.master_repl_offset);
            return 0;
        }
        if (hp_mono_ms() >= deadline) {
            snprintf(f->x.err, sizeof(f->x.err), "replicas did not catch up while writes were paused");
            return -1;
        }
        sleep_ms(1);
    }
}

static int run_graceful(fo *f)
{
    node_info mi;
    job *jb = f->jb;

    f->m = node_connect(f->x.cfg, f->old, f->x.cfg->timeout_ms, f->x.err, sizeof(f->x.err));
    if (!f->m || rclient_info(f->m, &mi, f->x.err, sizeof(f->x.err)) < 0 || mi.role != ROLE_MASTER) {
        job_fail(jb, "the master %s is unreachable; a graceful switchover needs it: use mode "
                     "\"force\" (%s)",
                 f->old, f->x.err);
        return -1;
    }
    if (f->target[0] && steer(f) < 0) {
        job_fail(jb, "steering the election to %s failed: %s", f->target, f->x.err);
        undo_now(jb, 0);
        return -1;
    }
    if (choose_catchup(f) < 0) {
        job_fail(jb, "%s; nothing was paused", f->x.err);
        undo_now(jb, 0);
        return -1;
    }
    if (write_fence(f) < 0)
        job_step(jb, "warning: no write fence on %s (%s): should hapanel die between the failover "
                     "and the fence, writes made to it meanwhile would be lost",
                 f->old, f->x.err);
    job_failpoint(jb, "after-write-fence");

    if (pause_writes(f) < 0) {
        job_fail(jb, "CLIENT PAUSE failed: %s; nothing was paused", f->x.err);
        undo_now(jb, 0);
        return -1;
    }

    if (catch_up(f) < 0) {
        rclient_deadline(f->m, 0);
        unpause(f);
        job_fail(jb, "%s; writes unpaused, nothing changed", f->x.err);
        undo_now(jb, 0);
        return -1;
    }
    rclient_deadline(f->m, 0);
    job_failpoint(jb, "after-catch-up");
    if (still_answering(f) < 0) {
        unpause(f);
        job_fail(jb, "%s; writes unpaused, nothing changed", f->x.err);
        undo_now(jb, 0);
        return -1;
    }
    job_failpoint(jb, "before-request");

    if (request_failover(f, f->pause_end) < 0) {
        unpause(f);
        job_fail(jb, "SENTINEL FAILOVER refused: %s; writes unpaused, nothing changed", f->x.err);
        undo_now(jb, 0);
        return -1;
    }
    job_failpoint(jb, "after-failover-sent");
    if (wait_promotion(f) < 0) return give_up(f, "no failover");
    return finish(f);
}

static int run_force(fo *f)
{
    node_info mi;
    job *jb = f->jb;
    snap_sview v[MAX_NODES];
    char why[512];
    int n, pick;

    /* A live old master gets the write fence; an unreachable one is Sentinel's. */
    f->m = node_connect(f->x.cfg, f->old, 500, f->x.err, sizeof(f->x.err));
    if (f->m && rclient_info(f->m, &mi, f->x.err, sizeof(f->x.err)) == 0 && mi.role == ROLE_MASTER) {
        if (write_fence(f) < 0)
            job_step(jb, "warning: no write fence on %s (%s)", f->old, f->x.err);
    } else {
        rclient_free(f->m);
        f->m = NULL;
        job_step(jb, "old master %s unreachable: no write fence", f->old);
    }
    job_failpoint(jb, "after-write-fence");
    pick = live_pick(f, v, &n, why, sizeof(why));
    if (pick == -1) {
        job_fail(jb, "Sentinel %s would promote no replica: %s", rclient_addr(f->s), why);
        undo_now(jb, 0);
        return -1;
    }
    if (pick >= 0) {
        promo_master pm = {f->pl.down_after_ms, -1};
        int e = promo_expected(v, n, &pm, 0, f->x.c, 0);
        hp_strlcpy(f->expected, v[e >= 0 ? e : pick].addr, sizeof(f->expected));
    }
    /* Even forced: while the old master answers, its writes pause until the
     * promotion, or the replication stream still in flight to the replica
     * Sentinel promotes is lost with the writes it acknowledged. */
    if (f->m && pause_writes(f) < 0)
        job_step(jb, "warning: CLIENT PAUSE failed on %s (%s): writes not paused", f->old, f->x.err);
    if (request_failover(f, f->paused ? f->pause_end : 0) < 0) {
        if (f->paused) unpause(f);
        job_fail(jb, "SENTINEL FAILOVER refused: %s", f->x.err);
        undo_now(jb, 0);
        return -1;
    }
    job_failpoint(jb, "after-failover-sent");
    if (wait_promotion(f) < 0) return give_up(f, "no failover");
    return finish(f);
}

int recipe_failover(job *jb)
{
    fo *f = calloc(1, sizeof(*f));
    sentinel_entry me;
    int rc = -1, i;

    if (!f) {
        job_fail(jb, "out of memory");
        return -1;
    }
    f->jb = jb;
    hp_strlcpy(f->name, job_cluster(jb), sizeof(f->name));
    f->force = !strcmp(param_str(jb, "mode"), "force");
    f->rq.force = f->force;
    hp_strlcpy(f->target, param_str(jb, "target"), sizeof(f->target));
    hp_strlcpy(f->rq.target, f->target, sizeof(f->rq.target));
    f->rq.max_pause_ms = param_int(jb, "max_pause_ms", 0);
    f->rq.max_lag_bytes = param_int(jb, "max_lag_bytes", -1);
    f->max_wait_ms = param_int(jb, "max_wait_ms", PLAN_WAIT_MS);
    f->started_at = hp_now_ms();
    cJSON_AddStringToObject(job_result(jb), "mode", f->force ? "force" : "graceful");

    if (wait_plan(f) < 0) goto out;
    if (ctx_init(&f->x, jb) < 0) goto out; /* the snapshot the plan passed on */
    hp_strlcpy(f->old, f->pl.old_master, sizeof(f->old));
    cJSON_AddStringToObject(job_result(jb), "old_master", f->old);
    cJSON_AddStringToObject(job_result(jb), "sentinel", f->pl.sentinel);
    f->max_pause_ms = f->pl.max_pause_ms;
    for (i = 0; i < f->x.c->nnodes && f->nreps < MAX_NODES; i++)
        if (strcmp(f->x.c->nodes[i].addr, f->old))
            hp_strlcpy(f->reps[f->nreps++], f->x.c->nodes[i].addr, HP_ADDR_MAX);
    if (f->target[0]) cJSON_AddStringToObject(job_result(jb), "target", f->target);
    job_step(jb, "plan: Sentinel %s runs the failover and would promote %s (%s)", f->pl.sentinel,
             f->pl.choice, f->pl.choice_why);

    f->s = sentinel_connect(f->x.cfg, f->pl.sentinel, f->x.cfg->timeout_ms, f->x.err,
                            sizeof(f->x.err));
    if (!f->s) {
        job_fail(jb, "Sentinel %s is not reachable: %s", f->pl.sentinel, f->x.err);
        goto out;
    }
    if (!f->force) {
        redisReply *r = rclient_cmd(f->s, f->x.err, sizeof(f->x.err), "SENTINEL CKQUORUM %s", f->name);
        if (!r) {
            job_fail(jb, "quorum check failed: %s", f->x.err);
            goto out;
        }
        job_step(jb, "Sentinel %s: %s", rclient_addr(f->s), r->str ? r->str : "quorum ok");
        freeReplyObject(r);
    }
    if (sentinel_master(f->s, f->name, &me, f->x.err, sizeof(f->x.err)) == 0)
        f->failover_timeout_ms = me.failover_timeout_ms;
    rc = f->force ? run_force(f) : run_graceful(f);
out:
    fo_release(f);
    free(f);
    return rc;
}

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
        undo_now(jb, 0);
        job_fail(jb, "the failover had not been requested; what it changed is put back");
        return -1;
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(fo_, "sentinels"))
    if (cJSON_IsString(it) && n < MAX_NODES) hp_strlcpy(addrs[n++], it->valuestring, HP_ADDR_MAX);
    job_step(jb, "SENTINEL FAILOVER had been requested: asking the Sentinels what happened");
    while (hp_mono_ms() < deadline && !job_cancelled(jb)) {
        answered = sentinels_report(cfg, job_cluster(jb), addrs, n, master, sizeof(master), &busy,
                                    &agree);
        if (answered && !busy && agree > n / 2) break;
        sleep_ms(250);
    }
    if (!master[0] || agree <= n / 2) {
        job_fail(jb, "the Sentinels do not agree on a master (%d of %d answered); nothing was "
                     "changed: check the cluster",
                 answered, n);
        return -1;
    }
    if (!strcmp(master, old)) {
        job_step(jb, "%d of %d Sentinels still report %s: no failover happened", agree, n, old);
        undo_now(jb, 1);
        record(jb, kind, old, "", started, -1, "failed");
        job_fail(jb, "the failover was requested, but Sentinel did not carry it out; what it "
                     "changed is put back");
        return -1;
    }
    job_step(jb, "%d of %d Sentinels report %s as master: the failover happened", agree, n, master);
    r = node_connect(cfg, old, cfg->timeout_ms, err, sizeof(err));
    if (r && rclient_info(r, &in, err, sizeof(err)) == 0) {
        const cJSON *mr = cJSON_GetObjectItem(u, "min_replicas");
        reconf rc = {in.role == ROLE_MASTER ? master : NULL, 0, cJSON_GetObjectItem(mr, "settings"),
                     in.role == ROLE_MASTER};
        if (reconfigure(r, &rc, &persisted, why, sizeof(why), err, sizeof(err)) == 0) {
            cJSON_DeleteItemFromObject(u, "min_replicas");
            job_save_undo(jb);
            if (in.role == ROLE_MASTER)
                job_step(jb, "old master %s was still a master: fenced (REPLICAOF %s, CLIENT KILL), %s",
                         old, master, persisted ? "persisted" : "NOT persisted");
            else
                job_step(jb, "old master %s is already a replica; its write fence is lifted", old);
            cJSON_AddBoolToObject(job_result(jb), "persisted", persisted);
        } else {
            job_step(jb, "could not fence %s: %s", old, err);
        }
    } else {
        job_step(jb, "old master %s unreachable (%s): Sentinel reconfigures it when it returns", old,
                 err);
    }
    rclient_free(r);
    undo_now(jb, 1);
    cJSON_DeleteItemFromObject(job_result(jb), "new_master");
    cJSON_AddStringToObject(job_result(jb), "new_master", master);
    cJSON_AddBoolToObject(job_result(jb), "completed_after_restart", 1);
    record(jb, kind, old, master, started ? started : hp_now_ms(), -1, "completed_after_restart");
    job_step(jb, "failover %s -> %s completed after the restart", old, master);
    return 0;
}

/* ---------------------------------------------------------------- resync */

int recipe_resync(job *jb)
{
    ctx x;
    rclient *n = NULL;
    const char *node = param_str(jb, "node");
    const cJSON *fullv = cJSON_GetObjectItem(job_params(jb), "full");
    int full = cJSON_IsTrue(fullv), rc = -1, persisted = 0;
    char master[HP_ADDR_MAX], why[256];
    int64_t deadline;

    if (ctx_init(&x, jb) < 0) goto out;
    hp_strlcpy(master, x.c->master, sizeof(master));
    if (!master[0]) {
        job_fail(jb, "the cluster has no master to resync from");
        goto out;
    }
    if (!strcmp(node, master)) {
        job_fail(jb, "%s is the master; only replicas are resynced", node);
        goto out;
    }
    n = node_connect(x.cfg, node, x.cfg->timeout_ms, x.err, sizeof(x.err));
    if (!n) {
        job_fail(jb, "%s", x.err);
        goto out;
    }
    {
        /* Full: in one transaction, so the replica never serves as a writable
         * master, and its new replication id makes the master send a full
         * copy. Either way persisted, as Sentinel does. */
        reconf r = {master, full, NULL, 0};
        if (reconfigure(n, &r, &persisted, why, sizeof(why), x.err, sizeof(x.err)) < 0) {
            job_fail(jb, "%s of %s refused: %s", full ? "full resync" : "REPLICAOF", node, x.err);
            goto out;
        }
    }
    job_step(jb, "%s: %sREPLICAOF %s in one transaction%s, %s", node,
             full ? "REPLICAOF NO ONE + " : "", master, full ? " (full sync)" : "",
             persisted ? "persisted with CONFIG REWRITE" : "NOT persisted");
    if (!persisted)
        job_step(jb, "warning: not persisted (%s); after a restart %s comes back with the role "
                     "its config file gives it",
                 why[0] ? why : "CONFIG REWRITE failed", node);
    deadline = hp_mono_ms() + RESYNC_TIMEOUT_MS;
    sleep_ms(100);
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
        sleep_ms(100);
    }
    job_fail(jb, "%s did not come back in sync with %s: %s", node, master,
             x.err[0] ? x.err : "timeout");
out:
    rclient_free(n);
    ctx_release(&x);
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

    if (ctx_init(&x, jb) < 0) goto out;
    for (i = 0; i < x.c->nnodes; i++)
        if (x.c->nodes[i].up && strcmp(x.c->nodes[i].addr, x.c->master)) expect_replicas++;
    expect_others = x.c->nsentinels - 1;
    /* One at a time: the others keep the quorum while one relearns. */
    for (i = 0; i < x.c->nsentinels; i++) {
        const char *addr = x.c->sentinels[i].addr;
        rclient *s = sentinel_connect(x.cfg, addr, x.cfg->timeout_ms, x.err, sizeof(x.err));
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
            sleep_ms(250);
        }
        rclient_free(s);
        if (slaves < expect_replicas || others < expect_others) {
            job_fail(jb, "Sentinel %s sees %lld replica(s) and %lld Sentinel(s) after reset, "
                     "expected %d and %d", addr, slaves, others, expect_replicas, expect_others);
            goto out;
        }
        job_step(jb, "Sentinel %s sees %lld replica(s) and %lld other Sentinel(s) again", addr,
                 slaves, others);
    }
    rc = 0;
out:
    ctx_release(&x);
    return rc;
}
