/* steps.h — what the topology recipes (failover.c, recover.c, resync.c)
 * share and nothing else sees: blocking connections to nodes and Sentinels,
 * what the Sentinels report, reconfiguring a node the way Sentinel does
 * (one transaction, persisted), the job's undo, and the failover record. */
#ifndef HP_ACTIONS_STEPS_H
#define HP_ACTIONS_STEPS_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "actions/jobs.h"
#include "model/topology.h"
#include "redis/rclient.h"
#include "redis/sreply.h"

#define MAX_NODES 32
#define PROMOTION_TIMEOUT_MS                                                                       \
    15000 /* Sentinel promotes within ~1 s; it aborts at failover-timeout */
#define PROMOTION_WATCH_MAX_MS 120000 /* while the Sentinel still flags the failover */
#define SENTINEL_AGREE_TIMEOUT_MS 30000
#define PRIORITY_SEEN_TIMEOUT_MS 15000 /* Sentinel re-reads replica INFO every 10 s */
#define PLAN_WAIT_MS 15000             /* default wait for Sentinel's view to allow the failover */
#define RECOVER_SETTLE_MS 30000        /* recovery waits this long for a failover in progress */
#define RESYNC_TIMEOUT_MS 120000
#define RESET_TIMEOUT_MS 40000
#define WATCH_CALL_MS 150 /* per INFO while watching for the promotion */
#define FENCE_MAX_LAG "86400"
#define FENCE_CLOSED 1000000 /* min-replicas-to-write no master can meet: writes refused */

typedef struct ctx {
    job *jb;
    const config *cfg;
    const cfg_group *grp; /* the cluster's Sentinel group (job_group) */
    topo_snap *topo;
    const cluster_snap *c;
    char err[512];
} ctx;

/* One role change (and settings put back with it), sent the way Sentinel
 * reconfigures a node (sentinelSendSlaveOf: MULTI, SLAVEOF, CONFIG REWRITE,
 * CLIENT KILL, EXEC): in one transaction, persisted, so a restart of the
 * node from its own config file does not undo it. */
typedef struct reconf {
    const char *replicaof; /* "host:port" to replicate from; NULL keeps the role */
    int no_one_first;      /* REPLICAOF NO ONE first: a new replication id, a full sync */
    const cJSON *config;   /* {parameter: value} set in the same transaction, or NULL */
    int kill_clients;      /* CLIENT KILL TYPE normal: fencing */
} reconf;

int step__ctx_init(ctx *x, job *jb);

void step__ctx_release(ctx *x);

int step__ms_until(int64_t deadline, int cap);

/* A connection to the node addr of group g (its address map, its Redis
 * credentials), or NULL with err set. Caller frees with rclient_free. */
rclient *step__node_connect(const cfg_group *g, const char *addr, int timeout_ms, char *err,
                            size_t errsz);

const char *step__param_str(const job *jb, const char *name);

/* Sends rc to node n. Where CONFIG is renamed or disabled the transaction
 * is sent again without the CONFIG commands. Returns 0 when the role change
 * (if any) took effect; *persisted is 1 when CONFIG REWRITE succeeded, else
 * 0 with the reason in why. Temporary settings (a steered replica-priority)
 * are never in rc->config, so never rewritten by it. */
int step__reconfigure(rclient *n, const reconf *rc, int *persisted, char *why, size_t whysz,
                      char *err, size_t errsz);

void step__record(job *jb, const char *kind, const char *old, const char *new_master,
                  int64_t started_at, int64_t paused_ms, const char *status);

/* Puts the write fence's settings back on its node (with CONFIG REWRITE when
 * a failover may have rewritten its config file with them). */
int step__restore_min_replicas(job *jb, const cJSON *mr, int rewrite, int quiet);

/* A connection to the Sentinel addr of group g (its address map, its
 * Sentinel credentials), or NULL with err set. Caller frees with rclient_free. */
rclient *step__sentinel_connect(const cfg_group *g, const char *addr, int timeout_ms, char *err,
                                size_t errsz);

/* SENTINEL MASTER <name> from s, parsed. Returns 0 or -1. */
int step__sentinel_master(rclient *s, const char *name, sentinel_entry *e, char *err, size_t errsz);

/* The master address this Sentinel reports, into out. Returns 0 or -1. */
int step__sentinel_master_addr(rclient *s, const char *name, char *out, size_t outsz, char *err,
                               size_t errsz);

/* What the given Sentinels say now: the master a majority of those that
 * answer report (into master, "" if none), and how many flag a failover in
 * progress. Returns how many answered. */
int step__sentinels_report(const config *cfg, const cfg_group *g, const char *name,
                           char (*addrs)[HP_ADDR_MAX], int n, char *master, size_t mastersz,
                           int *in_progress, int *agree);

void step__sleep_ms(int ms);

void step__undo_drop(job *jb, const char *key);

/* Applies and clears the job's undo: the normal end of a recipe. A node
 * that does not answer is tried again (every 500 ms, for UNDO_RETRY_MS);
 * what still cannot be put back is named, with the command to run. */
void step__undo_now(job *jb, int rewrite);

/* ------------------------------------------------------------------- undo */
void step__undo_put(job *jb, const char *key, cJSON *item);

#endif
