/* alerts.h — the alert rules, evaluated on each cluster snapshot: master down,
 * replica down or its link down, replication lag, memory against maxmemory,
 * quorum lost, split brain. A rule fires when its condition has held for the
 * configured time and resolves when it has been clear for resolve_after_s:
 * hysteresis on both edges, so a flapping node pages once, not every few
 * seconds. Pure (no I/O): transitions go to a callback; unit-tested. */
#ifndef HP_ALERTS_H
#define HP_ALERTS_H

#include <stdint.h>

#include "core/config.h"
#include "model/event.h"
#include "model/topology.h"

typedef struct alerts alerts;

/* firing: 1 when the alert fires, 0 when it resolves. since_ms: when the
 * condition began to hold (firing) or to be clear (resolving), before the
 * rule's hold time: what the alert shows as its start. */
typedef void alerts_fn(void *ctx, const char *cluster, const char *rule, const char *node,
                       const char *severity, int firing, const char *message, int64_t since_ms);

alerts *alerts_new(const config *cfg);
void alerts_free(alerts *a);
/* Marks an alert as firing without reporting it: what the alerts table says
 * is open when hapanel starts, so it resolves (or stays) as if hapanel had
 * never stopped. */
void alerts_restore(alerts *a, const char *cluster, const char *rule, const char *node,
                    const char *severity, int64_t since_ms);
/* Evaluates every rule on c at now_ms and reports transitions. */
void alerts_eval(alerts *a, const cluster_snap *c, int64_t now_ms, alerts_fn *fn, void *ctx);

/* Which alert rows an event opens or resolves, the one policy the writer
 * applies to the alerts table as it stores the event: a rule's
 * alert-fired/-resolved its (rule, node); a backup-stale event opens
 * backup_stale; a failed backup job opens backup_failed; a backup that
 * succeeds resolves both; events dropped by a full queue open events_dropped
 * (which the writer resolves a minute after the last drop). Fills out (rule and open set, id 0) and
 * returns how many (0..EV_MAX_ALERTS). */
int alerts_of_event(const hp_event *e, ev_alert out[EV_MAX_ALERTS]);

#endif
