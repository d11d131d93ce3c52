/* topology.h — the immutable picture of every monitored cluster that the monitor
 * publishes once a poll's replies are in, and that HTTP handlers, the dashboard
 * and (later) alert rules read. A snapshot never changes after it is published:
 * readers take a reference with topo_acquire() and drop it with topo_release(),
 * so no lock is held while a response is rendered. This module also derives a
 * cluster's status and problems and diffs two snapshots into panel events; it does
 * no I/O. */
#ifndef HP_TOPOLOGY_H
#define HP_TOPOLOGY_H

#include <stdint.h>
#include "core/common.h"
#include "redis/info.h"

/* A node's running configuration, as the monitor's CONFIG GET read it every
 * [lint] interval_s: only the settings the config lint (lint.h) checks. Of
 * the passwords only whether one is set is kept, never the value. */
typedef struct snap_conf {
    int state;          /* 0 not read yet, 1 read, -1 CONFIG answered an error */
    char error[96];     /* state -1: what CONFIG said (unknown command, NOPERM) */
    int64_t read_at_ms; /* wall time of the last answer, 0 never */
    int min_replicas_to_write;
    int64_t maxmemory;
    char maxmemory_policy[24];
    int replica_read_only; /* 1, 0; -1 unknown */
    int replica_priority;
    int masterauth_set, requirepass_set;
    int appendonly;
    char save[64]; /* the save points, "" when RDB snapshots are off */
    int64_t repl_backlog_size;
    int protected_mode;
} snap_conf;

/* One Redis node as the panel sees it: its own INFO, plus what the Sentinels
 * say of it. Numbers that are not known are -1. */
typedef struct snap_node {
    char addr[HP_ADDR_MAX];  /* as Sentinel announces it */
    char reach[HP_ADDR_MAX]; /* where hapanel reaches it ([sentinel] address_map), or "" */
    int role;                /* from the node's own INFO; ROLE_UNKNOWN when down */
    int sentinel_role;       /* what the Sentinels' consensus says it is */
    int polled;              /* at least one INFO was tried: up/error mean something */
    int up;                  /* answered its last INFO */
    char error[128];         /* why it is down (connection refused, timeout, ...) */
    int64_t last_ok_ms;
    /* replication (replica side) */
    int link_up; /* master_link_status:up; -1 for a master */
    char master_addr[HP_ADDR_MAX];
    int64_t repl_offset; /* master_repl_offset (master) or slave_repl_offset (replica) */
    int64_t lag_bytes;   /* replica: bytes behind the master; -1 unknown */
    double lag_seconds;  /* replica: seconds since its last ack to the master; -1 unknown */
    int64_t link_down_since_s;
    int sync_in_progress;
    /* resources */
    int64_t used_memory, maxmemory;
    double mem_fragmentation_ratio;
    int64_t connected_clients;
    int connected_replicas;
    /* persistence */
    int64_t rdb_last_save_time; /* seconds since the epoch */
    char rdb_last_bgsave_status[8];
    int64_t rdb_changes_since_last_save;
    int rdb_bgsave_in_progress;
    int aof_enabled;
    char aof_last_write_status[8];
    /* identity */
    int priority; /* replica-priority */
    char redis_version[16];
    int64_t uptime_s;
    int64_t sync_full;                /* stats: full syncs served (master side) */
    int64_t total_commands_processed; /* stats: since the node started */
    int64_t ops_per_sec;              /* stats: instantaneous_ops_per_sec */
    /* Sentinel flags for this node (s_down, o_down, disconnected), from the
     * Sentinel that saw it most recently */
    char sentinel_flags[64];
    /* 1: its INFO says it runs without a config file, so CONFIG REWRITE
     * cannot persist a role change (a restart forgets what Sentinel or
     * hapanel changed) */
    int no_config_file;
    snap_conf conf;    /* kept while the node is down: the last one read */
    int64_t write_bps; /* master: its repl offset's growth per second over the
                        * last few polls (the replication stream's rate), -1 unknown */
} snap_node;

/* One Sentinel and what it reports about the cluster. */
typedef struct snap_sentinel {
    char addr[HP_ADDR_MAX];
    char reach[HP_ADDR_MAX]; /* where hapanel reaches it ([sentinel] address_map), or "" */
    int polled;
    int up;
    char error[128];
    int64_t last_ok_ms;
    char flags[96];                /* its flags for this master: master, s_down, ... */
    char sees_master[HP_ADDR_MAX]; /* the master address this Sentinel reports */
    int quorum;                    /* configured quorum as this Sentinel has it */
    int num_other_sentinels;
    int num_replicas;
    int failover_in_progress; /* failover_in_progress or a failover state */
    char redis_version[16];
    int64_t down_after_ms;       /* its down-after-milliseconds for this master, -1 unknown */
    int64_t failover_timeout_ms; /* its failover-timeout for this master, -1 unknown */
    int64_t s_down_ms;           /* how long it has the master subjectively down, -1 not */
    int64_t views_at_ms;         /* wall time its replica views below were read, 0 never */
} snap_sentinel;

/* One Sentinel's view of one replica: the fields of SENTINEL REPLICAS that
 * its replica selection reads (see promote.h). Ages are as of views_at_ms of
 * that Sentinel. */
typedef struct snap_sview {
    char sentinel[HP_ADDR_MAX]; /* the Sentinel whose view this is */
    char addr[HP_ADDR_MAX];     /* the replica */
    char flags[96];
    int priority;
    int64_t repl_offset;
    int64_t info_refresh_ms, last_ok_ping_ms, link_down_ms;
    char link_status[8];
    char master_addr[HP_ADDR_MAX];
    char runid[48];
} snap_sview;

typedef struct snap_problem {
    char code[32];     /* split_brain, replica_wrong_master, sentinel_disagrees, name_clash, ... */
    char severity[12]; /* info, warning, critical */
    char node[HP_ADDR_MAX];
    char message[256];
} snap_problem;

typedef struct cluster_snap {
    int refs; /* managed by topo_* only */
    char name[HP_NAME_MAX];
    int group;                    /* index of its Sentinel group in config.groups */
    char group_name[HP_NAME_MAX]; /* "default" for [sentinel], else [sentinel NAME]'s NAME */
    /* another group whose Sentinels name this master too (their views are
     * ignored): its name, "" for none; the problem name_clash */
    char clash_group[HP_NAME_MAX];
    char status[12];          /* ok, degraded, down */
    char master[HP_ADDR_MAX]; /* the Sentinels' master (majority), "" if none */
    snap_node *nodes;         /* master first, then replicas by address */
    int nnodes;
    snap_sentinel *sentinels;
    int nsentinels;
    int quorum_configured;
    int quorum_reachable; /* Sentinels up that agree on the master */
    int quorum_ok;
    int failover_in_progress;
    snap_sview *sviews; /* every Sentinel's view of every replica */
    int nsviews;
    snap_problem *problems;
    int nproblems;
    int64_t updated_at;
    char *json; /* GET /api/v1/clusters/{name} body, rendered once */
    size_t json_len;
    char *summary_json; /* this cluster's item of GET /api/v1/clusters */
} cluster_snap;

typedef struct topo_snap {
    int refs;
    cluster_snap **clusters; /* sorted by name */
    int nclusters;
    int64_t built_at;
} topo_snap;

/* --- building (monitor thread) ----------------------------------------- */

/* A new empty cluster snapshot with one reference; caller fills the arrays
 * (malloc'd, owned by the snapshot) then calls cluster_snap_finish(). */
cluster_snap *cluster_snap_new(const char *name);
/* Derives master, status, quorum and problems from nodes and sentinels, sorts
 * nodes, and renders the JSON bodies. Returns 0 or -1 on out of memory. */
int cluster_snap_finish(cluster_snap *c, int64_t now_ms);
void cluster_snap_ref(cluster_snap *c);
void cluster_snap_unref(cluster_snap *c);
const snap_node *cluster_snap_node(const cluster_snap *c, const char *addr);

/* A topology of n clusters; takes ownership of the array and of one reference
 * of each cluster in it. */
topo_snap *topo_snap_new(cluster_snap **clusters, int n, int64_t now_ms);

/* --- reading (any thread) ---------------------------------------------- */

/* The current topology with a reference the caller drops with topo_release();
 * never NULL once topo_init() ran. */
topo_snap *topo_acquire(void);
void topo_release(topo_snap *t);
/* Publishes t as current (takes ownership of the caller's reference). */
void topo_publish(topo_snap *t);
void topo_init(void);
void topo_shutdown(void);
const cluster_snap *topo_find(const topo_snap *t, const char *name);

/* --- events from differences ------------------------------------------- */

/* Called once per panel event found by cluster_snap_diff. */
typedef void topo_event_fn(void *ctx, const char *cluster, const char *type, const char *severity,
                           const char *node, const char *message);
/* Compares the previous and the new snapshot of one cluster and reports panel
 * events: node-down/node-up, role-change, link-down/link-up, split-brain and
 * split-brain-resolved, quorum-lost/quorum-regained, cluster-name-clash and
 * cluster-name-clash-resolved, master-changed,
 * replica-added. old may be NULL (first sight: no events but for problems). */
void cluster_snap_diff(const cluster_snap *old, const cluster_snap *nw, topo_event_fn *fn,
                       void *ctx);

#endif
