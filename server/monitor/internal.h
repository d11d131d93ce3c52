/* internal.h — what the files of the monitor share and nothing else sees:
 * its state (Sentinels, nodes, clusters, each Sentinel's view of each
 * master), owned by the loop thread; and the steps one file hands to
 * another. monitor.c: the loop, the tick and the lifecycle; state.c:
 * lookups; poll.c: INFO and SENTINEL replies; pubsub.c: Sentinel's
 * published events and automatic failovers; publish.c: snapshots built,
 * diffed into events and published. */
#ifndef HP_MONITOR_INTERNAL_H
#define HP_MONITOR_INTERNAL_H

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <pthread.h>

#include "model/alerts.h"
#include "model/topology.h"
#include "core/config.h"
#include "db/writer.h"
#include "redis/info.h"
#include "redis/rconn.h"
#include "redis/sreply.h"

typedef struct monitor monitor; /* as monitor.h says; the fields are below */

#define POLL_SLOTS 10 /* each poll interval is cut in slots; a cluster's nodes and views in one */
#define SENTINELS_EVERY 5     /* SENTINEL SENTINELS (discovery) every this many rounds */
#define FORGET_AFTER_MS 60000 /* drop what no Sentinel has named for this long */
/* ... or this long under HAPANEL_FAILPOINT=fast-forget (tests only) */
#define FORGET_AFTER_MS_FAST 3000
/* a node two master names both name stays with the one that named it first
 * until that one has not named it for this long */
#define MOVE_AFTER_MS 5000
#define PUBLISH_DELAY_MS 20  /* coalesce replies of one poll into one snapshot */
#define SWITCH_DUP_MS 60000  /* the Sentinels' +switch-master of one failover come within this */
#define POLL_HIST_BUCKETS 12 /* = MONITOR_POLL_BUCKETS of monitor.h (checked in monitor.c) */

/* A hash index of names (node addresses, cluster names, a Sentinel's views)
 * into their array: slot[h] holds index + 1, 0 when empty. Brought up to date
 * at the next lookup when stale or when the array grew since. */
typedef struct name_index {
    int *slot;
    int cap, n; /* slots (a power of 2); entries indexed */
    int stale;  /* entries were removed or moved: rebuild before the next lookup */
} name_index;

/* What one Sentinel reports about one master. */

typedef struct sview {
    char name[HP_NAME_MAX];
    char master[HP_ADDR_MAX];
    char flags[96];
    int quorum, num_other_sentinels, num_slaves;
    int failover;
    int64_t seen_ms;
    int64_t down_after_ms, s_down_ms;
    int64_t failover_timeout_ms;
    sentinel_entry *reps; /* its last SENTINEL REPLICAS answer, owned */
    int nreps;
    int64_t reps_at_ms; /* wall time of that answer */
    int slot;           /* the slot of the interval it is asked in */
    int queried;        /* asked once already (a new one is asked at once) */
} sview;

struct evdns_base;

typedef struct msentinel {
    monitor *m;
    int group; /* its Sentinel group (config.groups): a discovered one joins its discoverer's */
    char addr[HP_ADDR_MAX];
    char reach[HP_ADDR_MAX]; /* where it is reached, when the address map says; else "" */
    int seed;
    rconn *conn, *sub;
    int polled, up;
    char error[128];
    int64_t last_ok_ms, seen_ms;
    sview *views;
    int nviews;
    name_index view_ix;
    char version[16];
    int masters_pending; /* a SENTINEL MASTERS is out */
    int retried;         /* the last SENTINEL MASTERS failed once and was sent again */
    /* The event channel (see pubsub.c): subscribed since it was (re)opened;
     * when it was closed (monotonic ms, 0: it was not), why, and whether the
     * Sentinel was seen down since. */
    int sub_live;
    int64_t sub_lost_ms;
    char sub_error[128];
    int sub_gap_down;
    unsigned sub_conn_connects;   /* rconn_connects(conn) when it was closed */
    unsigned other_groups_warned; /* bit g: group g's Sentinels named it, ignored, logged */
} msentinel;

typedef struct mcluster mcluster;

typedef struct mnode {
    monitor *m;
    int group; /* its Sentinel group: nodes are keyed by (group, addr), two sites may
                * announce the same private address */
    char addr[HP_ADDR_MAX];
    char reach[HP_ADDR_MAX]; /* where it is reached, when the address map says; else "" */
    char cluster[HP_NAME_MAX];
    mcluster *mc; /* the cluster of that name, when it exists */
    rconn *conn;
    int polled, up;
    char error[128];
    int64_t last_ok_ms, seen_ms;
    int64_t own_seen_ms; /* last named under its own cluster (mon__node_seen) */
    node_info info;
    char sentinel_flags[64];
    int retried;          /* this poll already reconnected once */
    int slot;             /* the slot of the interval it is polled in: its cluster's */
    int64_t info_sent_us; /* monotonic µs the poll's INFO went out (its retry keeps it) */
    /* The config lint's input (see poll.c): the running config, read again
     * when conf_due_ms (monotonic) passes; and the master's write rate, the
     * repl offset's growth since rate_off was read at rate_ms. */
    snap_conf conf;
    int64_t conf_due_ms;
    int conf_pending;
    int64_t rate_off, rate_ms, write_bps;
} mnode;

struct mcluster {
    char name[HP_NAME_MAX];
    int group; /* the Sentinel group that named it first: the only one whose views count */
    /* Another group's Sentinels name it too (their views are ignored): that
     * group, -1 for none, and when it last did (monotonic ms) */
    int clash_group;
    int64_t clash_seen_ms;
    unsigned clash_warned; /* bit g: group g's clash was logged (reset when it ends) */
    int slot;              /* the slot its nodes and Sentinel views are polled in */
    int dirty;
    int awaiting; /* requests of its slot not answered yet (see mon__reply_in) */
    int held;     /* answered while others were awaited: rebuild when they are in */
    cluster_snap *last;
    int64_t failover_started;              /* wall ms of the first sign of an automatic failover */
    char last_switch[2 * HP_ADDR_MAX + 2]; /* "old>new" of the last +switch-master */
    int64_t last_switch_at;
    int failover_tried; /* a +try-failover was seen since */
};

/* The privdata of a per-master SENTINEL query. */
typedef struct squery {
    msentinel *s;
    char name[HP_NAME_MAX];
} squery;

struct monitor {
    const config *cfg;
    evq *q;
    struct event_base *base;
    struct evdns_base *dns; /* host names, looked up on the loop (rconn_set_resolver) */
    struct event *tick, *burst, *publish;
    int slot, next_slot; /* the slot the next tick polls; the next new node's */
    uint64_t rounds;     /* whole intervals polled */
    pthread_t thread;
    int running, stopping;
    msentinel **sentinels;
    int nsentinels;
    mnode **nodes;
    int nnodes;
    mcluster **clusters;
    int nclusters;
    name_index node_ix, cluster_ix;
    /* counters, read by other threads with atomics */
    uint64_t polls, poll_failures, sentinel_events, ticks;
    /* INFO round trips (poll_observe in poll.c): a count per bucket, not
     * cumulative (one atomic add per reply), and their sum in µs */
    uint64_t poll_hist[POLL_HIST_BUCKETS + 1];
    uint64_t poll_sum_us;
    /* monotonic time any Sentinel of group g last answered: what forget_stale
     * measures that group's nodes and Sentinels against */
    int64_t group_ok_ms[CFG_MAX_GROUPS];
    int64_t forget_after_ms; /* FORGET_AFTER_MS, or FORGET_AFTER_MS_FAST */
    int (*busy)(void *ctx, const char *cluster);
    void *busy_ctx;
    alerts *alerts;
};

/* --- state.c --- */

void mon__all_sentinel_clusters_dirty(monitor *m, msentinel *s);

/* The cluster of that name (any group's), or NULL; with create, adds it. */
mcluster *mon__cluster_get(monitor *m, const char *name, int create);

/* The cluster named name for a Sentinel of group: found or added (owned by
 * group); NULL when another group owns the name (the clash is recorded on the
 * cluster, and that Sentinel's view of it is to be ignored) or out of memory.
 * A group whose masters= lists the name takes it from one that takes every
 * master, whichever named it first. */
mcluster *mon__cluster_claim(monitor *m, int group, const char *name);

void mon__emit(monitor *m, const hp_event *e);

void mon__mark_dirty(monitor *m, const char *cluster);

/* A request of cluster's slot was sent (mon__request_out) or answered
 * (mon__reply_in). An answer marks the cluster dirty once the last one of the
 * slot is in, so its snapshot is rebuilt once per interval, not once per
 * reply; the next tick publishes what is held whatever is still awaited
 * (mon__release_held). */
void mon__request_out(mcluster *c);

void mon__reply_in(monitor *m, mcluster *c);

void mon__release_held(monitor *m);

/* ------------------------------------------------------------------ lookups */
/* Whether group's masters= takes that master name (an empty list takes all). */
int mon__name_wanted(const monitor *m, int group, const char *name);

/* Nodes were removed from m->nodes: their index is rebuilt at the next lookup. */
void mon__nodes_removed(monitor *m);

void mon__index_free(name_index *ix);

/* Finds or adds the node at host:port of group in cluster; refreshes its
 * seen time. */
mnode *mon__node_seen(monitor *m, int group, const char *cluster, const char *host, int port);

/* Finds or adds the Sentinel at addr in group (keyed by both, as nodes).
 * NULL when it is reached where another group's Sentinel is (the same
 * Sentinel: a warning is logged once) or out of memory. */
msentinel *mon__sentinel_add(monitor *m, int group, const char *addr, int seed);

sview *mon__view_get(msentinel *s, const char *name, int create);

void mon__views_free(msentinel *s);

/* --- poll.c --- */

/* ----------------------------------------------------------- node polling */
void mon__on_info(rconn *c, redisReply *r, void *priv);
/* Monotonic microseconds, for the INFO round trips. */
int64_t mon__now_us(void);

void mon__on_masters(rconn *c, redisReply *r, void *priv);
/* Asks s for a master's replicas (and, with sentinels, its Sentinels). */
void mon__query_master(msentinel *s, sview *v, int sentinels);

/* The Sentinel's version, asked once per Sentinel. */
void mon__on_sentinel_info(rconn *c, redisReply *r, void *priv);

/* Sends the node's CONFIG GET of what the config lint reads, when it is due
 * ([lint] interval_s since the last, or never read). */
void mon__conf_poll(mnode *n, int64_t now_ms);

/* --- pubsub.c --- */

void mon__on_sentinel_event(rconn *c, redisReply *r, void *priv);

/* --- publish.c --- */

void mon__on_publish(evutil_socket_t fd, short what, void *arg);

#endif
