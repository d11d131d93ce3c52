/* recipes.h — what each job kind does, step by step, on the job runner's
 * thread with blocking connections (see jobs.h). Each returns 0 on success or
 * -1 after job_fail(). The operations and the measurements behind them are in
 * the design (shared/design.md, "Operations that must be right"). */
#ifndef HP_RECIPES_H
#define HP_RECIPES_H

typedef struct job job;

/* A graceful failover's target may be at most this far behind (bytes) when
 * the request does not say; it must catch up fully while writes are paused. */
#define RECIPE_MAX_LAG_BYTES (16LL * 1024 * 1024)

/* params: {mode: "graceful"|"force", target?, max_pause_ms?, max_lag_bytes?} */
int recipe_failover(job *jb);
/* params: {node, full} */
int recipe_resync(job *jb);
/* params: {} — SENTINEL RESET on one Sentinel at a time */
int recipe_sentinel_reset(job *jb);

#endif
