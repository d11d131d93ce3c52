/* metrics.c — GET /metrics: the Prometheus text, rendered on the HTTP
 * thread that asks for it from the current snapshot and the monitor's
 * counters (the monitor thread only polls). */
#include "web/metrics.h"

#include <string.h>

#include "db/writer.h"
#include "model/topology.h"
#include "web/ui.h"
#include "core/banned.h" /* last: after every system header */

static void metric_labels(sbuf *b, const char *name, const char *cluster, const char *addr,
                          double v)
{
    /* Cluster names and addresses are Sentinel-controlled: keep them to a
     * safe alphabet rather than escape Prometheus label syntax. */
    const char *p;
    sbuf_printf(b, "%s{cluster=\"", name);
    for (p = cluster; *p; p++)
        sbuf_append(b, (*p == '"' || *p == '\\' || *p == '\n') ? "_" : p, 1);
    sbuf_puts(b, "\"");
    if (addr) sbuf_printf(b, ",addr=\"%s\"", addr);
    sbuf_printf(b, "} %.17g\n", v);
}

void metrics_render(const monitor *m, struct evq *q, sbuf *b)
{
    topo_snap *t = topo_acquire();
    monitor_stats ms;
    int i, j;

    if (m) {
        monitor_counters(m, &ms);
        sbuf_printf(b, "# TYPE hapanel_polls_total counter\nhapanel_polls_total %llu\n",
                    (unsigned long long)ms.polls);
        sbuf_printf(
            b, "# TYPE hapanel_poll_failures_total counter\nhapanel_poll_failures_total %llu\n",
            (unsigned long long)ms.poll_failures);
        sbuf_printf(
            b, "# TYPE hapanel_sentinel_events_total counter\nhapanel_sentinel_events_total %llu\n",
            (unsigned long long)ms.sentinel_events);
    }
    if (q)
        sbuf_printf(b,
                    "# TYPE hapanel_events_dropped_total counter\nhapanel_events_dropped_total "
                    "%llu\n",
                    (unsigned long long)evq_dropped(q));
    sbuf_printf(b, "# TYPE hapanel_ui_renders_total counter\nhapanel_ui_renders_total %llu\n",
                (unsigned long long)ui_renders());
    sbuf_puts(b, "# TYPE hapanel_cluster_ok gauge\n");
    for (i = 0; t && i < t->nclusters; i++)
        metric_labels(b, "hapanel_cluster_ok", t->clusters[i]->name, NULL,
                      !strcmp(t->clusters[i]->status, "ok"));
    sbuf_puts(b, "# TYPE hapanel_quorum_ok gauge\n");
    for (i = 0; t && i < t->nclusters; i++)
        metric_labels(b, "hapanel_quorum_ok", t->clusters[i]->name, NULL,
                      t->clusters[i]->quorum_ok);
    sbuf_puts(b, "# TYPE hapanel_node_up gauge\n");
    for (i = 0; t && i < t->nclusters; i++)
        for (j = 0; j < t->clusters[i]->nnodes; j++)
            metric_labels(b, "hapanel_node_up", t->clusters[i]->name, t->clusters[i]->nodes[j].addr,
                          t->clusters[i]->nodes[j].up);
    sbuf_puts(b, "# TYPE hapanel_node_lag_bytes gauge\n");
    for (i = 0; t && i < t->nclusters; i++)
        for (j = 0; j < t->clusters[i]->nnodes; j++)
            if (t->clusters[i]->nodes[j].lag_bytes >= 0)
                metric_labels(b, "hapanel_node_lag_bytes", t->clusters[i]->name,
                              t->clusters[i]->nodes[j].addr,
                              (double)t->clusters[i]->nodes[j].lag_bytes);
    sbuf_puts(b, "# TYPE hapanel_node_used_memory_bytes gauge\n");
    for (i = 0; t && i < t->nclusters; i++)
        for (j = 0; j < t->clusters[i]->nnodes; j++)
            if (t->clusters[i]->nodes[j].used_memory >= 0)
                metric_labels(b, "hapanel_node_used_memory_bytes", t->clusters[i]->name,
                              t->clusters[i]->nodes[j].addr,
                              (double)t->clusters[i]->nodes[j].used_memory);
    topo_release(t);
}
