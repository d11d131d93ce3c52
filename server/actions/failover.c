/* failover.c — the failover recipe, graceful and forced (see recipes.h;
 * its crash recovery is recover.c).
 *
 * Why the graceful recipe exists: after SENTINEL FAILOVER with a live master,
 * Sentinel demotes the old master only after it has reported role master for
 * some 8-10 s more; clients that keep their connection write into it, and all
 * of it is discarded when it resyncs as a replica (142,839 of 187,179
 * acknowledged writes lost in our measurement). So writes are paused, the
 * replicas allowed to catch up, and the old master fenced (REPLICAOF the new
 * master, persisted with CONFIG REWRITE) the moment a Sentinel names the
 * replica it promoted (confirm_promotion says why not on the replica's own
 * word); its clients are closed once the Sentinels have switched
 * (close_clients says why not sooner).
 *
 * What holds when things hang or die:
 *  - The pause is one CLIENT PAUSE with the request's limit and is never
 *    renewed: every call made while it holds has a deadline at its end, so a
 *    hung Sentinel, target or master cannot stretch it.
 *  - Before SENTINEL FAILOVER the old master gets a write fence that needs no
 *    one to apply it: min-replicas-to-write set to the number of replicas
 *    attached (min-replicas-max-lag raised, so a replica that merely hangs
 *    still counts). A promoted replica drops its link, the old master counts
 *    one replica short and refuses writes (-NOREPLICAS). Right before
 *    SENTINEL FAILOVER (writes paused) the fence is closed: min-replicas-to-
 *    write more than the replicas there are, so from then on the old master
 *    acknowledges no write, also when the pause lapses before the promotion
 *    (a slow Sentinel; hapanel dead): one it took in that moment might never
 *    reach the replica promoted (it_failover_pause_limit). The fence's
 *    transaction puts the two settings back; so does the undo, when the
 *    failover is refused or abandoned (a disarmed one reopens the fence).
 *  - Every change is written to the job's undo object before it is made. A
 *    restart finds it: interrupted before the failover was requested, the
 *    job's changes are put back; after, recovery asks the Sentinels what
 *    happened and, when a new master exists, fences the old one and records
 *    the failover (recipe_failover_recover).
 *  - Before any write is paused, the plan (promote.h) must pass on the view
 *    of the Sentinel that runs the failover, by Sentinel's own selection
 *    rules, and again on that Sentinel's live answer just before the pause. */
#define _POSIX_C_SOURCE 200809L
#include "actions/failover.h"

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actions/hook.h"
#include "actions/jobs.h"
#include "model/promote.h"
#include "redis/rclient.h"
#include "redis/sreply.h"
#include "model/topology.h"
#include "actions/recipes.h"
#include "core/banned.h" /* last: after every system header */

/* ------------------------------------------------------------- failover */

static void fo_release(fo *f)
{
    int i;
    for (i = 0; i < f->nreps; i++)
        rclient_free(f->rconn[i]);
    rclient_free(f->s);
    rclient_free(f->m);
    step__ctx_release(&f->x);
}

static void record_failover(fo *f, const char *status)
{
    step__record(f->jb, f->force ? "forced" : "graceful", f->old, f->new_master, f->started_at,
                 f->paused_at ? f->paused_ms : -1, status);
}

/* Polls every replica once (each call bounded) for role master. Returns 1
 * with f->promoted set when one is. */
static int poll_promotion(fo *f, int64_t deadline)
{
    int i;
    for (i = 0; i < f->nreps; i++) {
        node_info in;
        int ms = step__ms_until(deadline, WATCH_CALL_MS);
        if (!f->rconn[i])
            f->rconn[i] = step__node_connect(f->x.grp, f->reps[i], ms, f->x.err, sizeof(f->x.err));
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

/* What Sentinel addr says of the cluster now (each call bounded, 300 ms):
 * the master it names (get-master-addr-by-name: the promoted replica once
 * its failover is past the promotion) and whether it flags a failover in
 * progress. 0, or -1 when it does not answer. */
static int sentinel_view(fo *f, const char *addr, char *seen, size_t seensz, int *busy)
{
    char err[256];
    rclient *s = step__sentinel_connect(f->x.grp, addr, 300, err, sizeof(err));
    sentinel_entry e;
    int rc = -1;
    *busy = 0;
    if (s && step__sentinel_master(s, f->name, &e, err, sizeof(err)) == 0 &&
        step__sentinel_master_addr(s, f->name, seen, seensz, err, sizeof(err)) == 0) {
        *busy = sreply_has_flag(e.flags, "failover_in_progress");
        rc = 0;
    }
    rclient_free(s);
    return rc;
}

static int sentinel_state(fo *f)
{
    char seen[HP_ADDR_MAX];
    int busy;
    if (sentinel_view(f, rclient_addr(f->s), seen, sizeof(seen), &busy) < 0) return SENTINEL_SILENT;
    return busy ? SENTINEL_BUSY : strcmp(seen, f->old) ? SENTINEL_DONE : SENTINEL_GAVE_UP;
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
    step__undo_drop(f->jb, "paused");
    return 0;
}

/* Waits for a replica to say role master: while writes are paused until the
 * pause ends, then (writes resumed; the write fence guards the old master)
 * until the watch deadline or until Sentinel gives up. Returns 0 when one
 * was promoted. */
static void disarm(fo *f);

/* Sets the write fence's min-replicas-to-write on the old master (within
 * deadline, mono ms): FENCE_CLOSED, or back to the replicas attached. 0 or -1. */
static int set_fence(fo *f, long long to_write, int64_t deadline)
{
    int rc;
    if (!f->m || !cJSON_GetObjectItem(job_undo(f->jb), "min_replicas")) return -1;
    rclient_deadline(f->m, deadline);
    rc = rclient_ok(f->m, f->x.err, sizeof(f->x.err), "CONFIG SET min-replicas-to-write %lld",
                    to_write);
    rclient_deadline(f->m, 0);
    return rc;
}

static int wait_promotion(fo *f)
{
    int64_t start = hp_mono_ms(), watch_end = start + PROMOTION_TIMEOUT_MS, next_ask = 0;
    if (f->unanswered) watch_end += PROMOTION_TIMEOUT_MS; /* a hung Sentinel may act late */
    while (hp_mono_ms() < watch_end && !job_cancelled(f->jb)) {
        int64_t now = hp_mono_ms();
        if (poll_promotion(f, f->paused && now < f->pause_end ? f->pause_end : watch_end)) return 0;
        if (f->paused && hp_mono_ms() >= f->pause_end - 5) {
            if (f->unanswered) { /* disarmed, no promotion can come: writes may go on */
                disarm(f);
                if (f->fence_closed && set_fence(f, f->fence_to_write, hp_mono_ms() + 500) == 0)
                    f->fence_closed = 0;
            }
            unpause(f);
            if (f->fence_closed)
                job_step(f->jb,
                         "no replica promoted within the pause limit of %lld ms: the pause "
                         "ends, and %s refuses writes (-NOREPLICAS: min-replicas-to-write %d) "
                         "until one is promoted, so none is acknowledged that the new master "
                         "could miss",
                         f->max_pause_ms, f->old, FENCE_CLOSED);
            else
                job_step(f->jb,
                         "no replica promoted within the pause limit of %lld ms: writes resumed "
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
        step__sleep_ms(f->paused ? 1 : 20);
    }
    snprintf(f->x.err, sizeof(f->x.err), "no replica was promoted within %lld ms",
             (long long)(hp_mono_ms() - start));
    return -1;
}

/* Fences the old master: REPLICAOF the new master, the write fence's
 * settings put back, CONFIG REWRITE — one transaction. Its clients are
 * closed later (close_clients). Returns 0 once it replicates from the new
 * master. */
static int fence(fo *f)
{
    const cJSON *mr = cJSON_GetObjectItem(job_undo(f->jb), "min_replicas");
    reconf r = {f->new_master, 0, cJSON_GetObjectItem(mr, "settings"), 0};
    char err[512];

    if (!f->m) {
        f->m = step__node_connect(f->x.grp, f->old, 500, err, sizeof(err));
        if (!f->m) return -1;
    }
    if (f->paused) rclient_deadline(f->m, f->pause_end + 200);
    if (step__reconfigure(f->m, &r, &f->persisted, f->persist_why, sizeof(f->persist_why), f->x.err,
                          sizeof(f->x.err)) < 0) {
        rclient_free(f->m); /* a failed transaction leaves the connection unusable */
        f->m = NULL;
        f->paused = 0; /* cannot unpause without it; the pause times out */
        return -1;
    }
    rclient_deadline(f->m, 0);
    f->fenced = 1;
    if (mr) step__undo_drop(f->jb, "min_replicas");
    job_step(f->jb, "old master %s fenced: REPLICAOF %s in one transaction, %s", f->old,
             f->new_master, f->persisted ? "persisted with CONFIG REWRITE" : "NOT persisted");
    if (!f->persisted)
        job_step(f->jb,
                 "warning: the fence of %s is not persisted (%s); after a restart %s would "
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
    n = step__node_connect(f->x.grp, f->old, 300, err, sizeof(err));
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
    if (!mr || step__restore_min_replicas(f->jb, mr, 1, 1) == 0) {
        step__undo_drop(f->jb, "min_replicas");
        f->fenced = 1;
        job_step(f->jb, "old master %s was converted to a replica by Sentinel", f->old);
    }
}

/* Closes the fenced old master's clients (CLIENT KILL TYPE normal), so
 * that they ask Sentinel again and find the new master; until then their
 * writes fail with -READONLY. Not in the fence's transaction: it also closes
 * the Sentinels' own links to the old master, and a Sentinel that switches
 * to the new master within 1 s of that may not reconnect its master link
 * sooner (sentinelReconnectInstance waits a ping period between attempts),
 * so it misses the new master's PONG for down-after and flags it +sdown;
 * with two such, +odown and a failover back (seen with down-after 1000 ms,
 * it_failover_pause_limit). Closed once every answering Sentinel names the
 * new master, or 2 s after a majority does. */
static void close_clients(fo *f)
{
    char err[256];
    rclient *n;
    redisReply *r;

    if (f->clients_closed || !f->fenced) return;
    f->clients_closed = 1;
    n = step__node_connect(f->x.grp, f->old, 300, err, sizeof(err));
    r = n ? rclient_cmd(n, err, sizeof(err), "CLIENT KILL TYPE normal") : NULL;
    if (r && r->type == REDIS_REPLY_INTEGER)
        job_step(f->jb, "%lld clients of the old master %s closed, to find %s through Sentinel",
                 r->integer, f->old, f->new_master);
    else
        job_step(f->jb,
                 "warning: the clients of the old master %s not closed (%s): their "
                 "writes fail with -READONLY until they reconnect",
                 f->old, err);
    freeReplyObject(r);
    rclient_free(n);
}

/* Waits until every answering Sentinel names the new master and none still
 * flags a failover (a failover asked before that is refused with -INPROG),
 * retrying the fence meanwhile. Returns 0, or -1 at the deadline. */
static int wait_settled(fo *f, int timeout_ms)
{
    int64_t deadline = hp_mono_ms() + timeout_ms;
    char(*addrs)[HP_ADDR_MAX] = malloc(sizeof(*addrs) * MAX_NODES);
    int n = 0, i, agreed = 0;
    int64_t agreed_at = 0;

    if (!addrs) return -1;
    for (i = 0; i < f->x.c->nsentinels && n < MAX_NODES; i++)
        hp_strlcpy(addrs[n++], f->x.c->sentinels[i].addr, HP_ADDR_MAX);
    while (hp_mono_ms() < deadline && !job_cancelled(f->jb)) {
        char master[HP_ADDR_MAX];
        int busy, agree, answered;
        answered = step__sentinels_report(f->x.cfg, f->x.grp, f->name, addrs, n, master,
                                          sizeof(master), &busy, &agree);
        retry_fence(f);
        if (!agreed && agree > n / 2 && !strcmp(master, f->new_master)) {
            job_step(f->jb, "%d of %d Sentinels report %s as master", agree, n, master);
            agreed = 1;
            agreed_at = hp_mono_ms();
        }
        if (agreed && (agree == answered || hp_mono_ms() - agreed_at > 2000)) close_clients(f);
        /* Done when none flags a failover any more, and the old master is
         * fenced or has stayed out of reach for a while. */
        if (agreed && !busy && (f->fenced || hp_mono_ms() - agreed_at > 5000)) break;
        step__sleep_ms(200);
    }
    free(addrs);
    close_clients(f);
    if (!agreed) {
        job_fail(f->jb, "Sentinels did not agree on %s as master within %d ms", f->new_master,
                 timeout_ms);
        return -1;
    }
    if (!f->fenced)
        job_step(f->jb,
                 "warning: old master %s not reachable to fence; Sentinel reconfigures it "
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
    step__undo_put(f->jb, "failover", o);
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
        step__undo_drop(f->jb, "failover");
        return -1;
    }
    f->requested = f->unanswered = 1;
    job_step(f->jb,
             "Sentinel %s did not answer SENTINEL FAILOVER (%s); it may still run it: "
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
            cJSON_AddStringToObject(res, "persisted_note",
                                    f->persist_why[0] ? f->persist_why : "CONFIG REWRITE failed");
    }
}

/* A replica that says role:master is not the new master yet: the Sentinel
 * running the failover commits to it (its config epoch, failover-state
 * reconf_slaves, get-master-addr-by-name naming it) only at its next INFO of
 * the replica, up to 1 s later. Until then another Sentinel whose last INFO
 * of that node is older than 8 s and said role:master sees no change and
 * converts it back (+convert-to-slave, sentinel.c's "A slave turned into a
 * master"), and the failover aborts. Fencing the old master on the
 * replica's word alone then left no master at all (seen in CI, 20 s without
 * one; it_failover_reverted). So the old master is fenced only once a
 * Sentinel names the promoted replica. Writes stay paused up to the limit,
 * then refused by the closed write fence: clients could not find the new
 * master before that moment anyway, since they ask the same Sentinels.
 * Returns 0 once one does (or hapanel is stopping: as before, the fence
 * goes on), -1 with f->x.err when the promotion was taken back, Sentinel
 * ended its failover elsewhere, or none named it in time. */
static int give_up(fo *f, const char *what);

static int confirm_promotion(fo *f)
{
    int64_t start = hp_mono_ms(), next_other = 0;
    int64_t deadline = start + (f->failover_timeout_ms > 0 ? f->failover_timeout_ms : 3000) + 2000;
    int i, pi = -1;

    for (i = 0; i < f->nreps; i++)
        if (!strcmp(f->reps[i], f->promoted)) pi = i;
    while (!job_cancelled(f->jb)) {
        char seen[HP_ADDR_MAX];
        int busy;
        node_info in;

        if (pi >= 0) { /* the promoted replica's own word first: it is the quick one */
            if (!f->rconn[pi])
                f->rconn[pi] =
                    step__node_connect(f->x.grp, f->promoted, 300, f->x.err, sizeof(f->x.err));
            if (f->rconn[pi]) rclient_deadline(f->rconn[pi], hp_mono_ms() + 300);
            if (f->rconn[pi] && rclient_info(f->rconn[pi], &in, f->x.err, sizeof(f->x.err)) == 0) {
                if (in.role != ROLE_MASTER) {
                    snprintf(f->x.err, sizeof(f->x.err),
                             "%s reported role master, then was made a replica again before "
                             "any Sentinel named it master (a Sentinel that had not seen the "
                             "promotion converted it back: +convert-to-slave)",
                             f->promoted);
                    return -1;
                }
            } else {
                rclient_free(f->rconn[pi]); /* lost (Sentinel's CLIENT KILL) or hung */
                f->rconn[pi] = NULL;
            }
        }
        if (sentinel_view(f, rclient_addr(f->s), seen, sizeof(seen), &busy) == 0) {
            if (!strcmp(seen, f->promoted)) {
                job_step(f->jb, "Sentinel %s names %s as master: the promotion holds",
                         rclient_addr(f->s), f->promoted);
                return 0;
            }
            if (!busy) {
                snprintf(f->x.err, sizeof(f->x.err),
                         "Sentinel %s ended its failover naming %s, not %s", rclient_addr(f->s),
                         seen, f->promoted);
                return -1;
            }
        }
        if (hp_mono_ms() >= next_other) { /* one that took the new config from its hello */
            for (i = 0; i < f->x.c->nsentinels; i++) {
                const char *a = f->x.c->sentinels[i].addr;
                if (strcmp(a, rclient_addr(f->s)) &&
                    sentinel_view(f, a, seen, sizeof(seen), &busy) == 0 &&
                    !strcmp(seen, f->promoted)) {
                    job_step(f->jb, "Sentinel %s names %s as master: the promotion holds", a,
                             f->promoted);
                    return 0;
                }
            }
            next_other = hp_mono_ms() + 500;
        }
        if (f->paused && !f->fence_closed && hp_mono_ms() >= f->pause_end - 50) {
            /* no closed write fence (CONFIG renamed): writes resuming now
             * would be acknowledged and lost, so the old master is fenced
             * on the replica's word, as before this check existed */
            job_step(f->jb,
                     "the pause limit of %lld ms is near and no Sentinel names %s yet; %s has "
                     "no closed write fence, so it is fenced now",
                     f->max_pause_ms, f->promoted, f->old);
            return 0;
        }
        if (f->paused && hp_mono_ms() >= f->pause_end - 5) {
            unpause(f);
            job_step(f->jb,
                     "the pause limit of %lld ms came before a Sentinel named %s: writes on "
                     "%s resume, and its closed write fence refuses them",
                     f->max_pause_ms, f->promoted, f->old);
        }
        if (hp_mono_ms() >= deadline) {
            snprintf(f->x.err, sizeof(f->x.err),
                     "no Sentinel named %s as master within %lld ms of its promotion; the "
                     "Sentinels convert it back",
                     f->promoted, (long long)(hp_mono_ms() - start));
            return -1;
        }
        step__sleep_ms(f->paused ? 2 : 10);
    }
    return 0;
}

/* After a promotion: fence, unpause, wait for the Sentinels, put priorities
 * back, record. The common end of both modes. */
static int finish(fo *f)
{
    int rc;
    if (f->expected[0] && strcmp(f->promoted, f->expected))
        job_step(f->jb, "%s promoted to master (Sentinel had been expected to pick %s)",
                 f->promoted, f->expected);
    else
        job_step(f->jb, "%s promoted to master", f->promoted);
    if (f->paused_at && !f->paused && !f->fence_closed) {
        /* Writes had resumed: one acknowledged by the old master just before
         * the replica executed REPLICAOF NO ONE may not have reached it. */
        job_step(f->jb,
                 "warning: the promotion came %lld ms after the pause ended; a write "
                 "acknowledged by %s in that last moment may not have reached %s",
                 (long long)(hp_mono_ms() - f->pause_end), f->old, f->promoted);
        cJSON_AddBoolToObject(job_result(f->jb), "promoted_after_pause", 1);
    }
    if (confirm_promotion(f) < 0) return give_up(f, "the promotion did not hold");
    hp_strlcpy(f->new_master, f->promoted, sizeof(f->new_master));
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
    step__undo_now(f->jb, 1);
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
    step__undo_now(f->jb, f->requested);
    put_result(f);
    if (f->requested) record_failover(f, "failed");
    return -1;
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
        rclient *r = step__node_connect(f->x.grp, f->reps[i], 300, f->x.err, sizeof(f->x.err));
        node_info in;
        if (r && !cJSON_GetObjectItem(prio, f->reps[i]) &&
            rclient_info(r, &in, f->x.err, sizeof(f->x.err)) == 0 && in.priority >= 0)
            cJSON_AddNumberToObject(prio, f->reps[i], in.priority);
        rclient_free(r);
    }
    job_save_undo(f->jb);
    for (i = 0; i < f->nreps; i++) {
        rclient *r = step__node_connect(f->x.grp, f->reps[i], 300, f->x.err, sizeof(f->x.err));
        if (r && rclient_ok(r, f->x.err, sizeof(f->x.err), "CONFIG SET replica-priority 0") == 0)
            n++;
        rclient_free(r);
    }
    f->disarmed = 1;
    job_step(f->jb,
             "disarmed: replica-priority 0 on %d of %d replicas, so the unanswered "
             "SENTINEL FAILOVER aborts should Sentinel %s resume with it; put back once it "
             "answers",
             n, f->nreps, rclient_addr(f->s));
}

static int run_graceful(fo *f)
{
    node_info mi;
    job *jb = f->jb;

    f->m = step__node_connect(f->x.grp, f->old, f->x.cfg->timeout_ms, f->x.err, sizeof(f->x.err));
    if (!f->m || rclient_info(f->m, &mi, f->x.err, sizeof(f->x.err)) < 0 ||
        mi.role != ROLE_MASTER) {
        job_fail(jb,
                 "the master %s is unreachable; a graceful switchover needs it: use mode "
                 "\"force\" (%s)",
                 f->old, f->x.err);
        return -1;
    }
    if (f->target[0] && fo__steer(f) < 0) {
        job_fail(jb, "steering the election to %s failed: %s", f->target, f->x.err);
        step__undo_now(jb, 0);
        return -1;
    }
    if (fo__choose_catchup(f) < 0) {
        job_fail(jb, "%s; nothing was paused", f->x.err);
        step__undo_now(jb, 0);
        return -1;
    }
    if (fo__write_fence(f) < 0)
        job_step(jb,
                 "warning: no write fence on %s (%s): should hapanel die between the failover "
                 "and the fence, writes made to it meanwhile would be lost",
                 f->old, f->x.err);
    job_failpoint(jb, "after-write-fence");

    if (fo__pause_writes(f) < 0) {
        job_fail(jb, "CLIENT PAUSE failed: %s; nothing was paused", f->x.err);
        step__undo_now(jb, 0);
        return -1;
    }

    if (fo__catch_up(f) < 0) {
        rclient_deadline(f->m, 0);
        unpause(f);
        job_fail(jb, "%s; writes unpaused, nothing changed", f->x.err);
        step__undo_now(jb, 0);
        return -1;
    }
    rclient_deadline(f->m, 0);
    job_failpoint(jb, "after-catch-up");
    if (fo__still_answering(f) < 0) {
        unpause(f);
        job_fail(jb, "%s; writes unpaused, nothing changed", f->x.err);
        step__undo_now(jb, 0);
        return -1;
    }
    job_failpoint(jb, "before-request");

    /* The write fence closed (min-replicas-to-write more than the replicas
     * there are) while writes are still paused: from SENTINEL FAILOVER until
     * the old master is fenced it acknowledges no write, also when the pause
     * lapses before the promotion (a slow Sentinel, or hapanel dead): a
     * write it took in that moment might never reach the replica Sentinel
     * promotes (REPLICAOF NO ONE drops what it has not received). The fence's
     * transaction, or the undo (a refused or abandoned failover, recovery
     * after a crash), puts the settings back. */
    if (set_fence(f, FENCE_CLOSED, f->pause_end) == 0)
        f->fence_closed = 1;
    else
        job_step(jb,
                 "warning: the write fence on %s could not be closed (%s): should the pause end "
                 "before the promotion, writes resume there",
                 f->old, f->x.err);
    if (request_failover(f, f->pause_end) < 0) {
        unpause(f);
        job_fail(jb, "SENTINEL FAILOVER refused: %s; writes unpaused, nothing changed", f->x.err);
        step__undo_now(jb, 0);
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
    f->m = step__node_connect(f->x.grp, f->old, 500, f->x.err, sizeof(f->x.err));
    if (f->m && rclient_info(f->m, &mi, f->x.err, sizeof(f->x.err)) == 0 &&
        mi.role == ROLE_MASTER) {
        if (fo__write_fence(f) < 0)
            job_step(jb, "warning: no write fence on %s (%s)", f->old, f->x.err);
    } else {
        rclient_free(f->m);
        f->m = NULL;
        job_step(jb, "old master %s unreachable: no write fence", f->old);
    }
    job_failpoint(jb, "after-write-fence");
    pick = fo__live_pick(f, v, &n, why, sizeof(why));
    if (pick == -1) {
        job_fail(jb, "Sentinel %s would promote no replica: %s", rclient_addr(f->s), why);
        step__undo_now(jb, 0);
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
    if (f->m && fo__pause_writes(f) < 0)
        job_step(jb, "warning: CLIENT PAUSE failed on %s (%s): writes not paused", f->old,
                 f->x.err);
    if (request_failover(f, f->paused ? f->pause_end : 0) < 0) {
        if (f->paused) unpause(f);
        job_fail(jb, "SENTINEL FAILOVER refused: %s", f->x.err);
        step__undo_now(jb, 0);
        return -1;
    }
    job_failpoint(jb, "after-failover-sent");
    if (wait_promotion(f) < 0) return give_up(f, "no failover");
    return finish(f);
}

static long long param_int(const job *jb, const char *name, long long dflt)
{
    const cJSON *v = cJSON_GetObjectItem(job_params(jb), name);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : dflt;
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
    f->force = !strcmp(step__param_str(jb, "mode"), "force");
    f->rq.force = f->force;
    hp_strlcpy(f->target, step__param_str(jb, "target"), sizeof(f->target));
    hp_strlcpy(f->rq.target, f->target, sizeof(f->rq.target));
    f->rq.max_pause_ms = param_int(jb, "max_pause_ms", 0);
    f->rq.max_lag_bytes = param_int(jb, "max_lag_bytes", -1);
    f->max_wait_ms = param_int(jb, "max_wait_ms", PLAN_WAIT_MS);
    f->started_at = hp_now_ms();
    cJSON_AddStringToObject(job_result(jb), "mode", f->force ? "force" : "graceful");

    if (fo__wait_plan(f) < 0) goto out;
    if (step__ctx_init(&f->x, jb) < 0) goto out; /* the snapshot the plan passed on */
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

    f->s = step__sentinel_connect(f->x.grp, f->pl.sentinel, f->x.cfg->timeout_ms, f->x.err,
                                  sizeof(f->x.err));
    if (!f->s) {
        job_fail(jb, "Sentinel %s is not reachable: %s", f->pl.sentinel, f->x.err);
        goto out;
    }
    if (!f->force) {
        redisReply *r =
            rclient_cmd(f->s, f->x.err, sizeof(f->x.err), "SENTINEL CKQUORUM %s", f->name);
        if (!r) {
            job_fail(jb, "quorum check failed: %s", f->x.err);
            goto out;
        }
        job_step(jb, "Sentinel %s: %s", rclient_addr(f->s), r->str ? r->str : "quorum ok");
        freeReplyObject(r);
    }
    if (step__sentinel_master(f->s, f->name, &me, f->x.err, sizeof(f->x.err)) == 0)
        f->failover_timeout_ms = me.failover_timeout_ms;
    /* Every check has passed and nothing is changed yet: the last moment
     * a veto leaves Redis and Sentinel as they are. */
    if (hook_pre_failover(jb, &f->pl, f->x.c) < 0) goto out;
    rc = f->force ? run_force(f) : run_graceful(f);
out:
    fo_release(f);
    free(f);
    return rc;
}
