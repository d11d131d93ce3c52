/* hook.h — the pre-failover hook: before a switchover that hapanel starts
 * (graceful or forced, at once or scheduled) changes anything, its plan is
 * POSTed to [hook] pre_failover_url, signed like the webhooks, and a 2xx
 * answer lets it go on; any other answer, or none within [hook] timeout_ms,
 * vetoes it. A change freeze or a deploy in progress elsewhere can so stop a
 * switchover. Sentinel's own automatic failovers are not asked about: hapanel
 * does not start them. */
#ifndef HP_ACTIONS_HOOK_H
#define HP_ACTIONS_HOOK_H

#include <stddef.h>

#include "model/promote.h"
#include "model/topology.h"

struct cJSON;
typedef struct job job;

/* The body the hook gets: the plan as GET .../failover/plan answers it (p on
 * c), with event "pre_failover", the job's id, actor and reason, the time,
 * and "expected" (the target, else the replica Sentinel would pick). Caller
 * frees with cJSON_Delete. */
struct cJSON *hook_payload(const job *jb, const plan *p, const cluster_snap *c);

/* POSTs body to url within timeout_ms (connect included), with an
 * X-Hapanel-Signature when secret is not empty. Returns 0 on a 2xx answer;
 * else -1 with the reason in why: "HTTP <status>: <the first 200 bytes of
 * the answer>", "no answer within <timeout_ms> ms", or the connection error
 * (host and port only; never the secret). *status gets the HTTP status, 0
 * when none came. */
int hook_post(const char *url, const char *secret, int timeout_ms, const char *body, long *status,
              char *why, size_t whysz);

/* Asks the configured hook about the switchover of job jb planned as p on
 * c, recording the question and the answer as steps and in the job's result
 * ("pre_failover_hook"). Returns 0 when it may go on (no hook configured, or
 * a 2xx answer), -1 after job_fail() with the hook's reason when vetoed. Call
 * it after the plan is accepted and before the first change. */
int hook_pre_failover(job *jb, const plan *p, const cluster_snap *c);

#endif
