/* recipes.h — what the topology jobs do, step by step, on the job runner's
 * thread with blocking connections (see jobs.h): failover (graceful and
 * forced), resync and Sentinel reset, each with the function that finishes
 * or puts back what a run interrupted by a crash of hapanel left. Each
 * returns 0 on success or -1 after job_fail(). The operations and the
 * measurements behind them are in the design (shared/design.md, "Operations
 * that must be right"). */
#ifndef HP_RECIPES_H
#define HP_RECIPES_H

typedef struct job job;

/* params: {mode: "graceful"|"force", target?, max_pause_ms?, max_lag_bytes?,
 * max_wait_ms?} */
int recipe_failover(job *jb);
/* The same, after the plan check a scheduled one gets at its time
 * (scheduled.c); the job kind "failover" runs this. */
int recipe_failover_scheduled(job *jb);
int recipe_failover_recover(job *jb);
/* params: {node, full} */
int recipe_resync(job *jb);
/* params: {} — SENTINEL RESET on one Sentinel at a time */
int recipe_sentinel_reset(job *jb);

#endif
