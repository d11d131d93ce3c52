/* recipes.c — failover (graceful and forced), resync and Sentinel reset (see
 * recipes.h).
 *
 * Why the graceful recipe exists: after SENTINEL FAILOVER with a live master,
 * Sentinel demotes the old master only after it has reported role master for
 * some 8-10 s more; clients that keep their connection write into it, and all
 * of it is discarded when it resyncs as a replica (142,839 of 187,179
 * acknowledged writes lost in our measurement). So writes are paused first, the
 * target is allowed to catch up, and the old master is fenced (REPLICAOF the new
 * master) the moment the new one is promoted, before writes are let go.
 *
 * Every change that must not outlive a crash (replica priorities, the pause) is
 * written to the job's undo object before it is made; job_apply_undo() puts it
 * back, at the end of the job and after a restart. */
#define _POSIX_C_SOURCE 200809L
#include "recipes.h"

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jobs.h"
#include "rclient.h"
#include "sreply.h"
#include "topology.h"

#define MAX_NODES 32
#define PROMOTION_TIMEOUT_MS 15000
#define SENTINEL_AGREE_TIMEOUT_MS 30000
#define PRIORITY_SEEN_TIMEOUT_MS 15000 /* Sentinel re-reads replica INFO every 10 s */
#define RESYNC_TIMEOUT_MS 120000
#define RESET_TIMEOUT_MS 40000

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---------------------------------------------------------------- helpers */

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
}

static rclient *node_connect(ctx *x, const char *addr, int timeout_ms)
{
    return rclient_connect(addr, x->cfg->redis_password, timeout_ms, x->err, sizeof(x->err));
}

static rclient *sentinel_connect(ctx *x, const char *addr)
{
    return rclient_connect(addr, x->cfg->sentinel_password, x->cfg->timeout_ms, x->err,
                           sizeof(x->err));
}

/* The first reachable Sentinel that reports the cluster's master. */
static rclient *any_sentinel(ctx *x)
{
    int i;
    for (i = 0; i < x->c->nsentinels; i++) {
        const snap_sentinel *s = &x->c->sentinels[i];
        rclient *r;
        if (!s->up || (x->c->master[0] && strcmp(s->sees_master, x->c->master))) continue;
        r = sentinel_connect(x, s->addr);
        if (r) return r;
    }
    snprintf(x->err, sizeof(x->err), "no Sentinel reachable");
    return NULL;
}

/* Reads one field of SENTINEL MASTER <name> as a number; -1 when absent. */
static long long sentinel_master_field(ctx *x, rclient *s, const char *field)
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

/* The master address this Sentinel reports, into out. Returns 0 or -1. */
static int sentinel_master_addr(ctx *x, rclient *s, char *out, size_t outsz)
{
    redisReply *r = rclient_cmd(s, x->err, sizeof(x->err), "SENTINEL GET-MASTER-ADDR-BY-NAME %s",
                                x->c->name);
    int rc = -1;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_STRING && r->element[1]->type == REDIS_REPLY_STRING) {
        hp_addr_fmt(out, outsz, r->element[0]->str, atoi(r->element[1]->str));
        rc = 0;
    }
    freeReplyObject(r);
    return rc;
}

/* Waits (best effort, until deadline) until no Sentinel still flags a
 * failover: the leader finishes reconfiguring the replicas after the others
 * already report the new master, and a new failover asked before that is
 * refused (-INPROG). */
static void wait_failover_end(ctx *x, int64_t deadline)
{
    int i;
    while (hp_mono_ms() < deadline) {
        int busy = 0;
        for (i = 0; i < x->c->nsentinels && !busy; i++) {
            rclient *s = sentinel_connect(x, x->c->sentinels[i].addr);
            redisReply *r = s ? rclient_cmd(s, x->err, sizeof(x->err), "SENTINEL MASTER %s",
                                            x->c->name)
                              : NULL;
            size_t k;
            for (k = 0; r && r->type == REDIS_REPLY_ARRAY && k + 1 < r->elements; k += 2)
                if (r->element[k]->type == REDIS_REPLY_STRING &&
                    !strcmp(r->element[k]->str, "flags") &&
                    r->element[k + 1]->type == REDIS_REPLY_STRING &&
                    sreply_has_flag(r->element[k + 1]->str, "failover_in_progress"))
                    busy = 1;
            freeReplyObject(r);
            rclient_free(s);
        }
        if (!busy) return;
        sleep_ms(100);
    }
}

/* Waits until a majority of the cluster's Sentinels report want as master. */
static int wait_sentinels_agree(ctx *x, const char *want, int timeout_ms)
{
    int64_t deadline = hp_mono_ms() + timeout_ms;
    int need = x->c->nsentinels / 2 + 1, i;

    while (hp_mono_ms() < deadline) {
        int agree = 0;
        for (i = 0; i < x->c->nsentinels; i++) {
            char seen[HP_ADDR_MAX];
            rclient *s = sentinel_connect(x, x->c->sentinels[i].addr);
            if (!s) continue;
            if (sentinel_master_addr(x, s, seen, sizeof(seen)) == 0 && !strcmp(seen, want))
                agree++;
            rclient_free(s);
        }
        if (agree >= need) {
            job_step(x->jb, "%d of %d Sentinels report %s as master", agree, x->c->nsentinels,
                     want);
            wait_failover_end(x, deadline);
            return 0;
        }
        sleep_ms(200);
    }
    job_fail(x->jb, "Sentinels did not agree on %s as master within %d ms", want, timeout_ms);
    return -1;
}

static int role_of(ctx *x, rclient *n, node_info *in)
{
    return rclient_info(n, in, x->err, sizeof(x->err)) == 0 ? in->role : -1;
}

/* ------------------------------------------------------------------- undo */

void job_apply_undo(job *jb, const cJSON *undo)
{
    const config *cfg = job_config(jb);
    const cJSON *prio = cJSON_GetObjectItem(undo, "priorities"), *it;
    const char *paused = cJSON_GetStringValue(cJSON_GetObjectItem(undo, "paused"));
    char err[512];
    rclient *n;

    if (paused) {
        n = rclient_connect(paused, cfg->redis_password, cfg->timeout_ms, err, sizeof(err));
        if (n && rclient_ok(n, err, sizeof(err), "CLIENT UNPAUSE") == 0)
            job_step(jb, "writes on %s unpaused", paused);
        else
            job_step(jb, "could not unpause %s (%s); its pause ends by its own timeout", paused,
                     err);
        rclient_free(n);
    }
    cJSON_ArrayForEach(it, prio)
    {
        if (!cJSON_IsNumber(it)) continue;
        n = rclient_connect(it->string, cfg->redis_password, cfg->timeout_ms, err, sizeof(err));
        if (n && rclient_ok(n, err, sizeof(err), "CONFIG SET replica-priority %d", it->valueint) == 0)
            job_step(jb, "replica-priority of %s restored to %d", it->string, it->valueint);
        else
            job_step(jb, "could not restore replica-priority %d on %s: %s", it->valueint,
                     it->string, err);
        rclient_free(n);
    }
}

/* Applies and clears the job's undo: the normal end of a recipe. */
static void undo_now(job *jb)
{
    cJSON *u = job_undo(jb), *child;
    if (!u->child) return;
    job_apply_undo(jb, u);
    while ((child = u->child) != NULL) cJSON_Delete(cJSON_DetachItemViaPointer(u, child));
    job_save_undo(jb);
}

/* ------------------------------------------------------------- failover */

typedef struct fo {
    ctx x;
    const char *mode;
    char old[HP_ADDR_MAX], target[HP_ADDR_MAX], new_master[HP_ADDR_MAX];
    long long max_pause_ms, max_lag_bytes, down_after_ms, failover_timeout_ms;
    char cand[MAX_NODES][HP_ADDR_MAX]; /* replicas that may be promoted */
    rclient *cand_conn[MAX_NODES];
    int ncand;
    int64_t started_at, paused_at, paused_ms;
} fo;

static void fo_release(fo *f)
{
    int i;
    for (i = 0; i < f->ncand; i++) rclient_free(f->cand_conn[i]);
    ctx_release(&f->x);
}

static void record_failover(fo *f, const char *status)
{
    hp_failover r;
    memset(&r, 0, sizeof(r));
    hp_strlcpy(r.cluster, f->x.c->name, sizeof(r.cluster));
    hp_strlcpy(r.kind, !strcmp(f->mode, "force") ? "forced" : "graceful", sizeof(r.kind));
    hp_strlcpy(r.old_master, f->old, sizeof(r.old_master));
    hp_strlcpy(r.new_master, f->new_master, sizeof(r.new_master));
    r.started_at = f->started_at;
    r.ended_at = hp_now_ms();
    r.duration_ms = r.ended_at - r.started_at;
    r.writes_paused_ms = f->paused_at ? f->paused_ms : -1;
    hp_strlcpy(r.status, status, sizeof(r.status));
    hp_strlcpy(r.actor, job_actor(f->x.jb), sizeof(r.actor));
    hp_strlcpy(r.reason, job_reason(f->x.jb), sizeof(r.reason));
    r.job_id = job_id(f->x.jb);
    evq_push_failover(job_events(f->x.jb), &r);
}

/* Polls the candidates until one says role master; its address goes to
 * f->new_master. While writes are paused the pause is renewed at half time,
 * so it cannot lapse between promotion and fencing. */
static int wait_promotion(fo *f, rclient *m)
{
    int64_t deadline = hp_mono_ms() + PROMOTION_TIMEOUT_MS, last_pause = f->paused_at;
    int i, role;

    while (hp_mono_ms() < deadline) {
        for (i = 0; i < f->ncand; i++) {
            node_info in;
            if (!f->cand_conn[i]) f->cand_conn[i] = node_connect(&f->x, f->cand[i], 300);
            if (!f->cand_conn[i]) continue;
            role = role_of(&f->x, f->cand_conn[i], &in);
            if (role == ROLE_MASTER) {
                hp_strlcpy(f->new_master, f->cand[i], sizeof(f->new_master));
                return 0;
            }
            if (role < 0) { /* lost: reconnect next round */
                rclient_free(f->cand_conn[i]);
                f->cand_conn[i] = NULL;
            }
        }
        if (m && f->paused_at && hp_mono_ms() - last_pause > f->max_pause_ms / 2) {
            if (rclient_ok(m, f->x.err, sizeof(f->x.err), "CLIENT PAUSE %lld WRITE",
                           f->max_pause_ms) == 0)
                last_pause = hp_mono_ms();
        }
        sleep_ms(2);
    }
    job_fail(f->x.jb, "no replica was promoted within %d ms", PROMOTION_TIMEOUT_MS);
    return -1;
}

/* Makes the old master a replica of the new one and drops its clients, so no
 * client keeps writing into a master Sentinel has already replaced. */
static int fence(fo *f, rclient *m)
{
    char host[HP_HOST_MAX];
    int port;
    hp_addr_parse(f->new_master, host, sizeof(host), &port);
    if (rclient_ok(m, f->x.err, sizeof(f->x.err), "REPLICAOF %s %d", host, port) < 0) return -1;
    /* SKIPME yes (the default) keeps this connection for the UNPAUSE. */
    freeReplyObject(rclient_cmd(m, f->x.err, sizeof(f->x.err), "CLIENT KILL TYPE normal"));
    return 0;
}

static int unpause(fo *f, rclient *m)
{
    cJSON *u = job_undo(f->x.jb);
    if (!f->paused_at) return 0;
    if (rclient_ok(m, f->x.err, sizeof(f->x.err), "CLIENT UNPAUSE") < 0) return -1;
    f->paused_ms = hp_mono_ms() - f->paused_at;
    cJSON_DeleteItemFromObject(u, "paused");
    job_save_undo(f->x.jb);
    return 0;
}

static int fail_graceful(fo *f, rclient *m)
{
    if (m && f->paused_at) unpause(f, m);
    undo_now(f->x.jb);
    return -1;
}

/* Chooses the candidates: the named target, or every replica that can be
 * promoted (up, link up, lag within the limit, priority not 0). Reads each
 * one's priority for steering. prio[i] is filled for cand[i]. */
static int pick_candidates(fo *f, int prio[MAX_NODES], char others[MAX_NODES][HP_ADDR_MAX],
                           int other_prio[MAX_NODES], int *nothers)
{
    const cluster_snap *c = f->x.c;
    int i;

    *nothers = 0;
    for (i = 0; i < c->nnodes && f->ncand < MAX_NODES; i++) {
        const snap_node *n = &c->nodes[i];
        rclient *r;
        node_info in;
        int ok;
        if (!strcmp(n->addr, f->old)) continue;
        r = node_connect(&f->x, n->addr, 500);
        ok = r && role_of(&f->x, r, &in) == ROLE_REPLICA;
        if (ok && in.priority != 0 && in.link_up == 1 &&
            (n->lag_bytes < 0 || n->lag_bytes <= f->max_lag_bytes) &&
            (!f->target[0] || !strcmp(f->target, n->addr))) {
            hp_strlcpy(f->cand[f->ncand], n->addr, HP_ADDR_MAX);
            prio[f->ncand] = in.priority;
            f->cand_conn[f->ncand++] = r;
            continue;
        }
        if (ok && *nothers < MAX_NODES) {
            hp_strlcpy(others[*nothers], n->addr, HP_ADDR_MAX);
            other_prio[(*nothers)++] = in.priority;
        }
        rclient_free(r);
    }
    if (f->ncand == 0) {
        job_fail(f->x.jb, f->target[0] ? "target %s is not an online replica that can be promoted"
                                       : "no online replica that can be promoted%s",
                 f->target);
        return -1;
    }
    return 0;
}

/* Makes Sentinel choose the target: lowest replica-priority wins its vote.
 * Records the originals first (undo), then waits until the Sentinel that will
 * run the failover has read the new values. */
static int steer(fo *f, rclient *s, int target_prio, char others[][HP_ADDR_MAX], int other_prio[],
                 int nothers)
{
    cJSON *u = job_undo(f->x.jb), *saved = cJSON_AddObjectToObject(u, "priorities");
    int64_t deadline;
    int i;
    rclient *r;

    cJSON_AddNumberToObject(saved, f->target, target_prio);
    for (i = 0; i < nothers; i++)
        if (other_prio[i] == 1) cJSON_AddNumberToObject(saved, others[i], other_prio[i]);
    job_save_undo(f->x.jb);
    if (rclient_ok(f->cand_conn[0], f->x.err, sizeof(f->x.err), "CONFIG SET replica-priority 1") <
        0)
        return -1;
    for (i = 0; i < nothers; i++) {
        if (other_prio[i] != 1) continue;
        r = node_connect(&f->x, others[i], 500);
        if (!r || rclient_ok(r, f->x.err, sizeof(f->x.err), "CONFIG SET replica-priority 2") < 0) {
            rclient_free(r);
            return -1;
        }
        rclient_free(r);
    }
    job_step(f->x.jb, "replica-priority of %s set to 1 (was %d); waiting for Sentinel to read it",
             f->target, target_prio);
    deadline = hp_mono_ms() + PRIORITY_SEEN_TIMEOUT_MS;
    while (hp_mono_ms() < deadline) {
        redisReply *rep = rclient_cmd(s, f->x.err, sizeof(f->x.err), "SENTINEL REPLICAS %s",
                                      f->x.c->name);
        sentinel_entry e[MAX_NODES];
        int n = rep ? sreply_entries(rep, e, MAX_NODES) : -1, seen = 0;
        for (i = 0; i < n; i++) {
            char a[HP_ADDR_MAX];
            hp_addr_fmt(a, sizeof(a), e[i].ip, e[i].port);
            if (!strcmp(a, f->target) && e[i].priority == 1) seen = 1;
        }
        freeReplyObject(rep);
        if (seen) {
            job_step(f->x.jb, "Sentinel %s sees priority 1 on %s", rclient_addr(s), f->target);
            return 0;
        }
        sleep_ms(200);
    }
    snprintf(f->x.err, sizeof(f->x.err), "Sentinel did not pick up the new priority within %d ms",
             PRIORITY_SEEN_TIMEOUT_MS);
    return -1;
}

/* Waits until every candidate has replicated everything the (paused) master
 * has. Returns 0, or -1 at the deadline. */
static int wait_caught_up(fo *f, rclient *m, int64_t deadline)
{
    int i;
    while (hp_mono_ms() < deadline) {
        node_info mi, ri;
        int behind = 0;
        if (rclient_info(m, &mi, f->x.err, sizeof(f->x.err)) < 0) return -1;
        for (i = 0; i < f->ncand && !behind; i++)
            if (rclient_info(f->cand_conn[i], &ri, f->x.err, sizeof(f->x.err)) < 0 ||
                ri.slave_repl_offset < mi.master_repl_offset)
                behind = 1;
        if (!behind) {
            job_step(f->x.jb, "replica%s caught up at offset %lld", f->ncand > 1 ? "s" : "",
                     (long long)mi.master_repl_offset);
            return 0;
        }
        sleep_ms(1);
    }
    snprintf(f->x.err, sizeof(f->x.err), "replicas did not catch up while writes were paused");
    return -1;
}

static int run_graceful(fo *f, rclient *s)
{
    rclient *m = NULL;
    node_info mi;
    int prio[MAX_NODES], other_prio[MAX_NODES], nothers, rc = -1;
    char others[MAX_NODES][HP_ADDR_MAX];
    job *jb = f->x.jb;

    m = node_connect(&f->x, f->old, f->x.cfg->timeout_ms);
    if (!m || role_of(&f->x, m, &mi) != ROLE_MASTER) {
        job_fail(jb, "master %s is not reachable as a master (%s); use mode force", f->old,
                 f->x.err);
        goto out;
    }
    if (f->max_pause_ms <= 0) f->max_pause_ms = f->down_after_ms > 0 ? f->down_after_ms / 2 : 2000;
    if (f->max_pause_ms > 5000) f->max_pause_ms = 5000;
    if (f->down_after_ms > 0 && f->max_pause_ms >= f->down_after_ms) {
        job_fail(jb, "max_pause_ms %lld must stay below down-after-milliseconds %lld",
                 f->max_pause_ms, f->down_after_ms);
        goto out;
    }
    if (pick_candidates(f, prio, others, other_prio, &nothers) < 0) goto out;
    job_step(jb, "%s: %d candidate%s, pause at most %lld ms", f->target[0] ? "target" : "no target",
             f->ncand, f->ncand > 1 ? "s" : "", f->max_pause_ms);
    if (f->target[0] && steer(f, s, prio[0], others, other_prio, nothers) < 0) {
        job_fail(jb, "steering the election to %s failed: %s", f->target, f->x.err);
        fail_graceful(f, NULL);
        goto out;
    }

    /* From here writes wait; nothing may be lost and nothing may stay paused. */
    cJSON_AddStringToObject(job_undo(jb), "paused", f->old);
    job_save_undo(jb);
    if (rclient_ok(m, f->x.err, sizeof(f->x.err), "CLIENT PAUSE %lld WRITE", f->max_pause_ms) < 0) {
        job_fail(jb, "CLIENT PAUSE failed: %s", f->x.err);
        fail_graceful(f, m);
        goto out;
    }
    f->paused_at = hp_mono_ms();
    job_step(jb, "writes paused on %s", f->old);
    job_failpoint(jb, "after-pause");
    if (wait_caught_up(f, m, f->paused_at + f->max_pause_ms * 3 / 4) < 0) {
        job_fail(jb, "%s; writes unpaused, nothing changed", f->x.err);
        fail_graceful(f, m);
        goto out;
    }
    if (rclient_ok(s, f->x.err, sizeof(f->x.err), "SENTINEL FAILOVER %s", f->x.c->name) < 0) {
        job_fail(jb, "SENTINEL FAILOVER refused: %s; writes unpaused", f->x.err);
        fail_graceful(f, m);
        goto out;
    }
    job_step(jb, "SENTINEL FAILOVER sent to %s", rclient_addr(s));
    if (wait_promotion(f, m) < 0) {
        fail_graceful(f, m);
        record_failover(f, "failed");
        goto out;
    }
    job_step(jb, "%s promoted to master", f->new_master);
    if (fence(f, m) < 0) job_step(jb, "fencing %s failed: %s", f->old, f->x.err);
    if (unpause(f, m) < 0) job_step(jb, "CLIENT UNPAUSE failed: %s", f->x.err);
    job_step(jb, "old master %s fenced (REPLICAOF %s, clients closed); writes were paused %lld ms",
             f->old, f->new_master, (long long)f->paused_ms);
    rc = wait_sentinels_agree(&f->x, f->new_master,
                              f->failover_timeout_ms > 0 ? (int)f->failover_timeout_ms
                                                         : SENTINEL_AGREE_TIMEOUT_MS);
    undo_now(jb);
    record_failover(f, rc == 0 ? "succeeded" : "failed");
out:
    rclient_free(m);
    return rc;
}

static int run_force(fo *f, rclient *s)
{
    rclient *m;
    node_info in;
    job *jb = f->x.jb;
    int i, rc;

    for (i = 0; i < f->x.c->nnodes && f->ncand < MAX_NODES; i++)
        if (strcmp(f->x.c->nodes[i].addr, f->old))
            hp_strlcpy(f->cand[f->ncand++], f->x.c->nodes[i].addr, HP_ADDR_MAX);
    if (rclient_ok(s, f->x.err, sizeof(f->x.err), "SENTINEL FAILOVER %s", f->x.c->name) < 0) {
        job_fail(jb, "SENTINEL FAILOVER refused: %s", f->x.err);
        return -1;
    }
    job_step(jb, "SENTINEL FAILOVER sent to %s (forced, writes not paused)", rclient_addr(s));
    if (wait_promotion(f, NULL) < 0) {
        record_failover(f, "failed");
        return -1;
    }
    job_step(jb, "%s promoted to master", f->new_master);
    /* Sentinel would leave a live old master writable for seconds: fence it now. */
    m = node_connect(&f->x, f->old, 500);
    if (m && role_of(&f->x, m, &in) == ROLE_MASTER && fence(f, m) == 0)
        job_step(jb, "old master %s fenced (REPLICAOF %s, clients closed)", f->old, f->new_master);
    else
        job_step(jb, "old master %s not fenced (%s); Sentinel reconfigures it when it answers",
                 f->old, m ? f->x.err : "unreachable");
    rclient_free(m);
    rc = wait_sentinels_agree(&f->x, f->new_master,
                              f->failover_timeout_ms > 0 ? (int)f->failover_timeout_ms
                                                         : SENTINEL_AGREE_TIMEOUT_MS);
    record_failover(f, rc == 0 ? "succeeded" : "failed");
    return rc;
}

static long long param_int(const job *jb, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(job_params(jb), name);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;
}

static const char *param_str(const job *jb, const char *name)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(job_params(jb), name));
    return v ? v : "";
}

int recipe_failover(job *jb)
{
    fo f;
    rclient *s = NULL;
    redisReply *r;
    int rc = -1;

    memset(&f, 0, sizeof(f));
    if (ctx_init(&f.x, jb) < 0) goto out;
    f.mode = !strcmp(param_str(jb, "mode"), "force") ? "force" : "graceful";
    hp_strlcpy(f.target, param_str(jb, "target"), sizeof(f.target));
    f.max_pause_ms = param_int(jb, "max_pause_ms");
    f.max_lag_bytes = param_int(jb, "max_lag_bytes");
    if (f.max_lag_bytes < 0) f.max_lag_bytes = RECIPE_MAX_LAG_BYTES;
    f.started_at = hp_now_ms();
    hp_strlcpy(f.old, f.x.c->master, sizeof(f.old));
    cJSON_AddStringToObject(job_result(jb), "mode", f.mode);
    cJSON_AddStringToObject(job_result(jb), "old_master", f.old);

    s = any_sentinel(&f.x);
    if (!s) {
        job_fail(jb, "%s", f.x.err);
        goto out;
    }
    r = rclient_cmd(s, f.x.err, sizeof(f.x.err), "SENTINEL CKQUORUM %s", f.x.c->name);
    if (!r) {
        job_fail(jb, "quorum check failed: %s", f.x.err);
        goto out;
    }
    job_step(jb, "Sentinel %s: %s", rclient_addr(s), r->str ? r->str : "quorum ok");
    freeReplyObject(r);
    f.down_after_ms = sentinel_master_field(&f.x, s, "down-after-milliseconds");
    f.failover_timeout_ms = sentinel_master_field(&f.x, s, "failover-timeout");

    rc = !strcmp(f.mode, "force") ? run_force(&f, s) : run_graceful(&f, s);
    if (rc == 0) {
        cJSON_AddStringToObject(job_result(jb), "new_master", f.new_master);
        if (f.paused_at)
            cJSON_AddNumberToObject(job_result(jb), "writes_paused_ms", (double)f.paused_ms);
    }
out:
    rclient_free(s);
    fo_release(&f);
    return rc;
}

/* ---------------------------------------------------------------- resync */

int recipe_resync(job *jb)
{
    ctx x;
    rclient *n = NULL;
    const char *node = param_str(jb, "node");
    const cJSON *fullv = cJSON_GetObjectItem(job_params(jb), "full");
    int full = cJSON_IsTrue(fullv), rc = -1, port;
    char host[HP_HOST_MAX], master[HP_ADDR_MAX];
    int64_t deadline;
    redisReply *r;

    if (ctx_init(&x, jb) < 0) goto out;
    hp_strlcpy(master, x.c->master, sizeof(master));
    if (!master[0] || hp_addr_parse(master, host, sizeof(host), &port) < 0) {
        job_fail(jb, "the cluster has no master to resync from");
        goto out;
    }
    if (!strcmp(node, master)) {
        job_fail(jb, "%s is the master; only replicas are resynced", node);
        goto out;
    }
    n = node_connect(&x, node, x.cfg->timeout_ms);
    if (!n) {
        job_fail(jb, "%s", x.err);
        goto out;
    }
    if (full) {
        /* In one transaction: the replica never serves as a writable master,
         * and its new replication id makes the master send a full copy. */
        freeReplyObject(rclient_cmd(n, x.err, sizeof(x.err), "MULTI"));
        freeReplyObject(rclient_cmd(n, x.err, sizeof(x.err), "REPLICAOF NO ONE"));
        freeReplyObject(rclient_cmd(n, x.err, sizeof(x.err), "REPLICAOF %s %d", host, port));
        r = rclient_cmd(n, x.err, sizeof(x.err), "EXEC");
        if (!r || r->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(r);
            job_fail(jb, "full resync of %s refused: %s", node, x.err);
            goto out;
        }
        freeReplyObject(r);
        job_step(jb, "%s: REPLICAOF NO ONE + REPLICAOF %s in one transaction (full sync)", node,
                 master);
    } else {
        if (rclient_ok(n, x.err, sizeof(x.err), "REPLICAOF %s %d", host, port) < 0) {
            job_fail(jb, "REPLICAOF refused: %s", x.err);
            goto out;
        }
        job_step(jb, "%s: REPLICAOF %s", node, master);
    }
    deadline = hp_mono_ms() + RESYNC_TIMEOUT_MS;
    sleep_ms(100);
    while (hp_mono_ms() < deadline && !job_cancelled(jb)) {
        node_info in;
        char now_master[HP_ADDR_MAX] = "";
        if (rclient_info(n, &in, x.err, sizeof(x.err)) < 0) break;
        if (in.master_host[0]) hp_addr_fmt(now_master, sizeof(now_master), in.master_host, in.master_port);
        if (in.role == ROLE_REPLICA && in.link_up == 1 && !in.sync_in_progress &&
            !strcmp(now_master, master)) {
            job_step(jb, "%s replicates from %s again, link up", node, master);
            cJSON_AddStringToObject(job_result(jb), "node", node);
            cJSON_AddStringToObject(job_result(jb), "master", master);
            cJSON_AddBoolToObject(job_result(jb), "full", full);
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
        rclient *s = sentinel_connect(&x, addr);
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
            slaves = sentinel_master_field(&x, s, "num-slaves");
            others = sentinel_master_field(&x, s, "num-other-sentinels");
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
