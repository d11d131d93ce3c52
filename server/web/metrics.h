/* metrics.h — the Prometheus text of GET /metrics (see metrics.c). */
#ifndef HP_METRICS_H
#define HP_METRICS_H

#include "core/sbuf.h"
#include "monitor/monitor.h"

struct evq;
struct db;
/* Appends the text for m's counters (m may be NULL), q's dropped events (q
 * may be NULL), the counts of d's jobs, failovers and notifications (d may
 * be NULL), the HTTP answers, the dashboard's renders and the current
 * snapshot to b. */
void metrics_render(const monitor *m, struct evq *q, struct db *d, sbuf *b);

#endif
