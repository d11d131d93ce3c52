/* failover_prep.c — a failover up to SENTINEL FAILOVER: waiting for the
 * plan to pass, steering the election to a target, checking the running
 * Sentinel's live view, the write fence, the pause and the catch-up, and the
 * last look before the request (see failover.h). Nothing here is done
 * without its undo recorded first. */
#define _POSIX_C_SOURCE 200809L
#include "actions/failover.h"

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/banned.h" /* last: after every system header */

/* Whether a and b differ only in their numbers. */
int fo__same_words(const char *a, const char *b)
{
    for (;;) {
        while (*a >= '0' && *a <= '9')
            a++;
        while (*b >= '0' && *b <= '9')
            b++;
        if (*a != *b) return 0;
        if (!*a) return 1;
        a++;
        b++;
    }
}

/* Waits (up to max_wait_ms) until the plan, rebuilt from each new snapshot,
 * lets the failover go: nothing is changed while it waits. */
int fo__wait_plan(fo *f)
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
        if (!fo__same_words(last,
                            b)) { /* ages tick every poll: say it again only when it differs */
            job_step(f->jb, "waiting up to %.1f s before changing anything: %s",
                     (double)f->max_wait_ms / 1000.0, b);
            hp_strlcpy(last, b, sizeof(last));
        }
        step__sleep_ms(250);
    }
}

/* Reads the running Sentinel's view of the replicas now and applies its
 * selection rules. Returns the index of its pick in v (filled, *n entries),
 * -1 with every replica's exclusion in why, or -2 when it does not answer. */
int fo__live_pick(fo *f, snap_sview *v, int *n, char *why, size_t whysz)
{
    sentinel_entry me, e[MAX_NODES];
    promo_master pm;
    redisReply *r;
    int i, k, pick;
    char one[160];

    *n = 0;
    why[0] = '\0';
    if (step__sentinel_master(f->s, f->name, &me, f->x.err, sizeof(f->x.err)) < 0) return -2;
    r = rclient_cmd(f->s, f->x.err, sizeof(f->x.err), "SENTINEL REPLICAS %s", f->name);
    k = r ? sreply_entries(r, e, MAX_NODES) : -1;
    freeReplyObject(r);
    if (k < 0) return -2;
    for (i = 0; i < k; i++)
        promo_sview_from_entry(&v[i], rclient_addr(f->s), &e[i]);
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
int fo__steer(fo *f)
{
    cJSON *saved = cJSON_CreateObject(), *it;
    snap_sview v[MAX_NODES];
    char why[512];
    int64_t deadline;
    int i, n, pick, tprio = -1;
    rclient *r;
    node_info in;

    for (i = 0; i < f->nreps; i++) {
        r = step__node_connect(f->x.grp, f->reps[i], 500, f->x.err, sizeof(f->x.err));
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
    step__undo_put(f->jb, "priorities", saved);
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(job_undo(f->jb), "priorities"))
    {
        int is_target = !strcmp(it->string, f->target);
        r = step__node_connect(f->x.grp, it->string, 500, f->x.err, sizeof(f->x.err));
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
        pick = fo__live_pick(f, v, &n, why, sizeof(why));
        if (pick >= 0 && !strcmp(v[pick].addr, f->target)) {
            job_step(f->jb, "Sentinel %s now picks %s (priority %d in its view)",
                     rclient_addr(f->s), f->target, v[pick].priority);
            return 0;
        }
        step__sleep_ms(200);
    }
    snprintf(f->x.err, sizeof(f->x.err), "Sentinel %s did not come to pick %s within %d ms",
             rclient_addr(f->s), f->target, PRIORITY_SEEN_TIMEOUT_MS);
    return -1;
}

/* The replicas that must have everything before the failover: the target,
 * or every replica Sentinel may pick (its view can change before it acts). */
int fo__choose_catchup(fo *f)
{
    snap_sview v[MAX_NODES];
    char why[512];
    int n, pick, i, j;
    promo_master pm = {f->pl.down_after_ms, -1};

    pick = fo__live_pick(f, v, &n, why, sizeof(why));
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
        if (youngest >= 0 && youngest < 1100) step__sleep_ms((int)(1100 - youngest));
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
        snprintf(f->x.err, sizeof(f->x.err),
                 "Sentinel %s would promote %s, which hapanel does not watch", rclient_addr(f->s),
                 v[pick].addr);
        return -1;
    }
    return 0;
}

/* Lets the old master refuse writes by itself once a replica is promoted
 * (see the top of this file). Returns 0, or -1 when it cannot be set (the
 * switchover then goes on without it, and says so). */
int fo__write_fence(fo *f)
{
    static const char *const names[] = {"min-replicas-to-write", "min-replicas-max-lag"};
    node_info mi;
    cJSON *mr, *settings;
    int i, online = 0;
    long long to_write = 0;

    if (rclient_info(f->m, &mi, f->x.err, sizeof(f->x.err)) < 0) return -1;
    for (i = 0; i < mi.nreplicas; i++)
        online += !strcmp(mi.replicas[i].state, "online");
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
            if (r)
                snprintf(f->x.err, sizeof(f->x.err), "%s: CONFIG GET %s unreadable", f->old,
                         names[i]);
            freeReplyObject(r);
            cJSON_Delete(mr);
            return -1;
        }
        cJSON_AddStringToObject(settings, names[i], r->element[1]->str);
        if (i == 0) to_write = atoll(r->element[1]->str);
        freeReplyObject(r);
    }
    step__undo_put(f->jb, "min_replicas", mr);
    if (to_write < online) to_write = online;
    if (rclient_ok(f->m, f->x.err, sizeof(f->x.err), "CONFIG SET min-replicas-max-lag %s",
                   FENCE_MAX_LAG) < 0 ||
        rclient_ok(f->m, f->x.err, sizeof(f->x.err), "CONFIG SET min-replicas-to-write %lld",
                   to_write) < 0)
        return -1;
    f->fence_to_write = to_write;
    job_step(f->jb,
             "write fence on %s: min-replicas-to-write %lld (replicas attached), so it "
             "refuses writes once one is promoted",
             f->old, to_write);
    return 0;
}

/* From here writes wait, for max_pause_ms at most: the pause is never
 * renewed, and every call until its end is bounded by it. */
int fo__pause_writes(fo *f)
{
    step__undo_put(f->jb, "paused", cJSON_CreateString(f->old));
    if (rclient_ok(f->m, f->x.err, sizeof(f->x.err), "CLIENT PAUSE %lld WRITE", f->max_pause_ms) <
        0) {
        step__undo_drop(f->jb, "paused");
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
int fo__still_answering(fo *f)
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

/* Waits, while writes are paused, until every replica that may be promoted
 * has all the paused master has; bounded to 3/4 of the pause. */
int fo__catch_up(fo *f)
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
                *c = step__node_connect(f->x.grp, f->reps[f->cand[i]],
                                        step__ms_until(deadline, 500), f->x.err, sizeof(f->x.err));
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
            snprintf(f->x.err, sizeof(f->x.err),
                     "replicas did not catch up while writes were paused");
            return -1;
        }
        step__sleep_ms(1);
    }
}
