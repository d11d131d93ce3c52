/* metrics.h — the Prometheus text of GET /metrics (see metrics.c). */
#ifndef HP_METRICS_H
#define HP_METRICS_H

#include "core/sbuf.h"
#include "monitor/monitor.h"

/* Appends the text for m's counters (m may be NULL) and the current
 * snapshot to b. */
void metrics_render(const monitor *m, sbuf *b);

#endif
