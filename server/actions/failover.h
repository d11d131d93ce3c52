/* failover.h — what the two files of the failover recipe share: its state
 * (one per job) and the steps before SENTINEL FAILOVER is sent
 * (failover_prep.c: the plan, steering, the live Sentinel check, the write
 * fence, the pause and the catch-up), used by the run in failover.c. */
#ifndef HP_ACTIONS_FAILOVER_H
#define HP_ACTIONS_FAILOVER_H

#include "actions/steps.h"
#include "model/promote.h"

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
    int clients_closed;       /* the old master's clients closed (after the fence) */
    int fence_closed;         /* min-replicas-to-write FENCE_CLOSED: every write refused */
    long long fence_to_write; /* the fence's open setting: the replicas attached */
    char persist_why[256];
} fo;

/* Whether a and b differ only in their numbers. */
int fo__same_words(const char *a, const char *b);

/* Waits (up to max_wait_ms) until the plan, rebuilt from each new snapshot,
 * lets the failover go: nothing is changed while it waits. */
int fo__wait_plan(fo *f);

/* Reads the running Sentinel's view of the replicas now and applies its
 * selection rules. Returns the index of its pick in v (filled, *n entries),
 * -1 with every replica's exclusion in why, or -2 when it does not answer. */
int fo__live_pick(fo *f, snap_sview *v, int *n, char *why, size_t whysz);

/* Makes Sentinel choose the target: the lowest replica-priority wins its
 * vote. Records the originals first (undo), then waits until the running
 * Sentinel's own selection picks the target. Temporary: never rewritten. */
int fo__steer(fo *f);

/* The replicas that must have everything before the failover: the target,
 * or every replica Sentinel may pick (its view can change before it acts). */
int fo__choose_catchup(fo *f);

/* Lets the old master refuse writes by itself once a replica is promoted
 * (see the top of this file). Returns 0, or -1 when it cannot be set (the
 * switchover then goes on without it, and says so). */
int fo__write_fence(fo *f);

/* From here writes wait, for max_pause_ms at most: the pause is never
 * renewed, and every call until its end is bounded by it. */
int fo__pause_writes(fo *f);

/* Right before SENTINEL FAILOVER: the master, the replicas that may be
 * promoted and the Sentinel must still answer (bounded by the pause). A
 * replica that hangs after Sentinel selected it would execute the queued
 * REPLICAOF NO ONE whenever it resumes, and be promoted with what it had. */
int fo__still_answering(fo *f);

/* Waits, while writes are paused, until every replica that may be promoted
 * has all the paused master has; bounded to 3/4 of the pause. */
int fo__catch_up(fo *f);

#endif
