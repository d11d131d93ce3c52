/* metrics.h — the Prometheus text of GET /metrics (see metrics.c). */
#ifndef HP_METRICS_H
#define HP_METRICS_H

#include "core/sbuf.h"
#include "monitor/monitor.h"

struct evq;
struct db;
struct hub;
/* Appends the text for m's counters and poll histogram (m may be NULL),
 * q's written and dropped events (q may be NULL), the counts of d's jobs,
 * failovers and notifications and each cluster's newest backup (d may be
 * NULL), the HTTP answers, the dashboard's renders and the current
 * snapshot to b. docs/metrics.md lists the families. */
/* h: the live streams (their count per topic); NULL leaves that family out. */
void metrics_render(const monitor *m, struct evq *q, struct db *d, struct hub *h, sbuf *b);
struct ha;
/* Appends the hapanel_ha_* families of h (leadership on etcd); nothing for a
 * single panel (h NULL). */
void metrics_render_ha(const struct ha *h, sbuf *b);
/* Appends hapanel_cluster_info{cluster,group} for every cluster of the
 * current snapshot and hapanel_sentinel_group_clusters{group} for every
 * group of cfg (cfg may be NULL: no group samples). */
void metrics_render_groups(const config *cfg, sbuf *b);

#endif
