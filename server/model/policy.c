/* policy.c — promotability and the backup source (see policy.h). */
#include "model/policy.h"

#include <string.h>
#include "core/banned.h" /* last: after every system header */

const char *policy_promotable(const snap_node *n, const char *master, int64_t max_lag_bytes)
{
    if (!n->up) return "is down";
    if (n->role != ROLE_REPLICA) return "is not a replica";
    if (master && master[0] && n->master_addr[0] && strcmp(n->master_addr, master))
        return "replicates from another node, not the master";
    if (n->link_up != 1) return "has its replication link down";
    if (n->priority == 0) return "has replica-priority 0, so Sentinel never promotes it";
    if (max_lag_bytes < 0) max_lag_bytes = POLICY_MAX_LAG_BYTES;
    if (n->lag_bytes > max_lag_bytes) return "lags more than max_lag_bytes behind";
    return NULL;
}

const snap_node *policy_backup_source(const cluster_snap *c)
{
    const snap_node *best = NULL, *m;
    int i;

    for (i = 0; i < c->nnodes; i++) {
        const snap_node *n = &c->nodes[i];
        if (!n->up || n->role != ROLE_REPLICA || n->link_up != 1 || n->sync_in_progress) continue;
        /* unknown lag (-1) counts as the worst */
        if (!best || (n->lag_bytes >= 0 && (best->lag_bytes < 0 || n->lag_bytes < best->lag_bytes)))
            best = n;
    }
    if (best) return best;
    m = c->master[0] ? cluster_snap_node(c, c->master) : NULL;
    return m && m->up ? m : NULL;
}
