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
typedef struct monitor_stats {
    uint64_t polls, poll_failures, sentinel_events;
} monitor_stats;
void monitor_counters(const monitor *m, monitor_stats *out);

#endif
