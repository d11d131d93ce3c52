/* policy.h — the choices about nodes that the API, the dashboard and the
 * jobs all make, each made here once: whether a replica can take over in a
 * graceful switchover, how far behind it may be, and which node a backup
 * reads from. Pure: reads a snapshot. (Sentinel's own selection rules and the
 * failover plan built on these are in promote.h.) */
#ifndef HP_POLICY_H
#define HP_POLICY_H

#include <stdint.h>

#include "model/topology.h"

/* A graceful switchover's target may be at most this far behind (bytes)
 * when the request does not say; it must catch up fully while writes are
 * paused. */
#define POLICY_MAX_LAG_BYTES (16LL * 1024 * 1024)

/* Why hapanel would not promote replica n of a cluster whose master is
 * master, or NULL when it would: a fixed phrase ("is down", ...).
 * max_lag_bytes < 0: POLICY_MAX_LAG_BYTES. */
const char *policy_promotable(const snap_node *n, const char *master, int64_t max_lag_bytes);

/* The node a backup reads from: the replica with the least known lag that
 * is up, linked and not syncing (a backup costs the master nothing), else
 * the master when it answers, else NULL. */
const snap_node *policy_backup_source(const cluster_snap *c);

#endif
