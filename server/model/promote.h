/* promote.h — which replica can take over, decided in one place.
 *
 * Two views decide it. hapanel's own (the node's INFO in the snapshot: up, a
 * replica of the master, link up, priority not 0, lag within a limit), and
 * the view of the Sentinel that runs the failover, which chooses by its own
 * rules (sentinelSelectSlave in redis src/sentinel.c) from what it last read
 * — possibly seconds old, and different from what the node says now. A
 * switchover that pauses writes on hapanel's view alone can then find
 * Sentinel refusing (-NOGOODSLAVE) with writes already paused.
 *
 * (hapanel's own view is model/policy.h.) The failover plan puts both together: the checks a
 * graceful switchover or a forced failover makes before it changes anything, each with the words
 * the job uses when that check fails, the Sentinel that will run it and the
 * replica it would promote. The API's dry run, the dashboard's dialog and the
 * recipes all build the same plan. Pure: reads a snapshot, no I/O. */
#ifndef HP_PROMOTE_H
#define HP_PROMOTE_H

#include <stddef.h>
#include <stdint.h>

#include "model/policy.h"
#include "model/topology.h"
#include "redis/sreply.h"

struct cJSON;

/* Sentinel's default periods (sentinel.c SENTINEL_PING_PERIOD, _INFO_PERIOD):
 * its selection counts a PING reply valid for 5 periods, and an INFO for 3
 * info periods (5 ping periods while the master is subjectively down). */
#define PROMO_PING_PERIOD_MS 1000
#define PROMO_INFO_PERIOD_MS 10000

/* What one Sentinel knows of the master when it selects: */
typedef struct promo_master {
    int64_t down_after_ms; /* its down-after-milliseconds */
    int64_t s_down_ms;     /* how long it has the master subjectively down, -1 not */
} promo_master;

/* Applies Sentinel's selection rules to its view v of one replica, aged by
 * age_ms more than the view says (the time since it was read). Returns 1
 * when Sentinel would consider it, else 0 with the rule that excludes it in
 * why. skip_priority leaves out the priority-0 rule (a target about to be
 * given priority 1). */
int promo_sentinel_rule(const snap_sview *v, const promo_master *m, int64_t age_ms,
                        int skip_priority, char *why, size_t whysz);
/* Sentinel's order among eligible replicas (compareSlavesForPromotion):
 * lower priority, then higher offset, then lower run id (empty last). */
int promo_sentinel_compare(const snap_sview *a, const snap_sview *b);
/* The index among v[0..n) that this Sentinel would promote, or -1. */
int promo_sentinel_pick(const snap_sview *v, int n, const promo_master *m, int64_t age_ms);
/* The replica Sentinel will promote once the failover starts. Sentinel
 * re-reads every replica's INFO as a failover begins (each second while one
 * is in progress, sentinel.c sentinelSendPeriodicCommands) and selects a
 * tick later, so it decides on the replicas' current priority and offset as
 * c (the snapshot) has them, not on the view it answered with. During a
 * graceful switchover the offsets are equal (writes paused, replicas caught
 * up: equal_offsets) and the run id decides. Which replicas it considers is
 * still its own view's rules. Returns the index in v, or -1. */
int promo_expected(const snap_sview *v, int n, const promo_master *m, int64_t age_ms,
                   const cluster_snap *c, int equal_offsets);
/* One entry of SENTINEL REPLICAS as a view, for the given Sentinel. */
void promo_sview_from_entry(snap_sview *out, const char *sentinel, const sentinel_entry *e);

/* ------------------------------------------------------------------ plan */

enum { PLAN_OK = 0, PLAN_WARN = 1, PLAN_WAIT = 2, PLAN_FAIL = 3 };

#define PLAN_MAX_CHECKS 12

typedef struct plan_check {
    const char *name; /* failover_idle, sentinel, quorum, master, target, replicas,
                         sentinel_view, pause, fence */
    int state;        /* PLAN_* */
    char message[512];
} plan_check;

typedef struct plan_req {
    int force;
    char target[HP_ADDR_MAX]; /* "" = let Sentinel choose */
    int64_t max_lag_bytes;    /* <0: POLICY_MAX_LAG_BYTES */
    int64_t max_pause_ms;     /* <=0: half of down-after, at most 5000 */
} plan_req;

typedef struct plan {
    plan_req rq;
    int state;   /* the worst check: OK/WARN go ahead, WAIT only Sentinel's
                    view stands in the way (it re-reads its replicas every
                    10 s), FAIL cannot work now */
    int blocker; /* index of the first check in the worst state, -1 none */
    int status;  /* HTTP status when it fails: 409 failover running, 404 unknown
                    target, 412 otherwise */
    plan_check checks[PLAN_MAX_CHECKS];
    int nchecks;
    char old_master[HP_ADDR_MAX];
    char sentinel[HP_ADDR_MAX]; /* the Sentinel that will run the failover */
    char choice[HP_ADDR_MAX];   /* the replica it would promote */
    char choice_why[256];
    int64_t down_after_ms; /* that Sentinel's, -1 unknown */
    int64_t max_pause_ms;  /* the pause limit the job will use */
    int fence_persists;    /* 1 yes, 0 no (no config file), -1 unknown */
} plan;

/* Builds the plan for a failover of cluster c as of now_ms. */
void plan_build(const cluster_snap *c, const plan_req *rq, int64_t now_ms, plan *p);
/* The message of the check that stops the plan, or NULL when it can go. */
const char *plan_blocker(const plan *p);
/* The plan as GET /api/v1/clusters/{name}/failover/plan answers it, with
 * each replica in hapanel's and in every Sentinel's view. Caller frees with
 * cJSON_Delete. */
struct cJSON *plan_json(const plan *p, const cluster_snap *c, int64_t now_ms);
/* The state as a word: ok, warn, wait, fail. */
const char *plan_state_name(int state);

#endif
