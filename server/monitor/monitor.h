/* monitor.h — the thread that watches every cluster. From the configured
 * Sentinel addresses it discovers the monitored masters (all, or the named
 * ones), their replicas and the other Sentinels; polls INFO on every node and
 * the SENTINEL views on every Sentinel each poll interval; keeps one pub/sub
 * connection per Sentinel for its events; publishes a topology snapshot per
 * change and turns differences and Sentinel events into history events.
 * Everything runs on one libevent loop; no call here blocks. */
#ifndef HP_MONITOR_H
#define HP_MONITOR_H

#include <stdint.h>

#include "core/config.h"
#include "db/writer.h"

typedef struct monitor monitor;

/* cfg and q must outlive the monitor. Returns NULL on failure. */
monitor *monitor_new(const config *cfg, evq *q);
/* Tells the monitor which clusters have a failover job of hapanel's own
 * running (their Sentinel failovers are recorded by the job, not as
 * automatic ones). Call before monitor_start. */
void monitor_set_busy(monitor *m, int (*busy)(void *ctx, const char *cluster), void *ctx);
/* Alerts the database says are open: the monitor resolves them when their
 * condition is gone. Call before monitor_start. */
void monitor_restore_alert(monitor *m, const char *cluster, const char *rule, const char *node,
                           const char *severity, int64_t since_ms);
/* Starts the loop thread. Returns 0 or -1. */
int monitor_start(monitor *m);
/* Stops the thread if running and frees everything. NULL is a no-op. */
void monitor_free(monitor *m);
/* The INFO round trip histogram: from sending a node's INFO to its answer
 * or its failure (a timeout counts at its deadline; the one retry of a
 * dropped or late INFO is inside the same observation). Bucket i counts
 * round trips of at most monitor_poll_bounds[i] seconds and more than the
 * bound before it; bucket MONITOR_POLL_BUCKETS counts the rest (+Inf). */
#define MONITOR_POLL_BUCKETS 12
extern const double monitor_poll_bounds[MONITOR_POLL_BUCKETS];
typedef struct monitor_stats {
    uint64_t polls, poll_failures, sentinel_events;
    uint64_t poll_hist[MONITOR_POLL_BUCKETS + 1]; /* per bucket, not cumulative */
    uint64_t poll_sum_us;
} monitor_stats;
void monitor_counters(const monitor *m, monitor_stats *out);

#endif
