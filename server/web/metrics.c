/* metrics.c — GET /metrics: the Prometheus text, rendered on the HTTP
 * thread that asks for it from the current snapshot and the monitor's
 * counters (the monitor thread only polls).
 *
 * Every family has HELP and TYPE (promtool check metrics accepts the text:
 * it_metrics). Per node the families carry redis_exporter's names and units
 * (redis_up, redis_memory_used_bytes, ...), so that dashboards and alert
 * rules written for redis_exporter read hapanel too; the labels are cluster
 * (the master name) and addr (as Sentinel announces it), plus the exporter's
 * own where it has them (role, redis_version; slave_ip and slave_port on
 * the master's per-replica families). hapanel's own families start with
 * hapanel_. */
#include "web/metrics.h"

#include <string.h>

#include "db/db.h"
#include "db/writer.h"
#include "web/httpstats.h"
#include "model/topology.h"
#include "web/ui.h"
#include "core/banned.h" /* last: after every system header */

/* A label value as the text format wants it: backslash, quote and newline
 * escaped (names come from Sentinel and may hold anything). */
static void label_value(sbuf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            sbuf_puts(b, "\\\\");
        else if (*v == '"')
            sbuf_puts(b, "\\\"");
        else if (*v == '\n')
            sbuf_puts(b, "\\n");
        else
            sbuf_append(b, v, 1);
    }
}

static void family(sbuf *b, const char *name, const char *type, const char *help)
{
    sbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{cluster="..",addr=".."[,extra]} v; addr and extra may be NULL. extra
 * is label pairs already escaped. */
static void sample(sbuf *b, const char *name, const char *cluster, const char *addr,
                   const char *extra, double v)
{
    sbuf_printf(b, "%s{cluster=\"", name);
    label_value(b, cluster);
    sbuf_puts(b, "\"");
    if (addr) {
        sbuf_puts(b, ",addr=\"");
        label_value(b, addr);
        sbuf_puts(b, "\"");
    }
    if (extra) sbuf_printf(b, ",%s", extra);
    sbuf_printf(b, "} %.17g\n", v);
}

/* One gauge family over every node that has the value (v returns 0 when
 * the node has none). */
typedef int node_value_fn(const snap_node *n, double *v);

static void node_family(sbuf *b, const topo_snap *t, const char *name, const char *help,
                        node_value_fn *fn)
{
    int i, j;
    double v;
    family(b, name, "gauge", help);
    for (i = 0; t && i < t->nclusters; i++)
        for (j = 0; j < t->clusters[i]->nnodes; j++)
            if (fn(&t->clusters[i]->nodes[j], &v))
                sample(b, name, t->clusters[i]->name, t->clusters[i]->nodes[j].addr, NULL, v);
}

#define VALUE_FN(fname, cond, expr)                                                                \
    static int fname(const snap_node *n, double *v)                                                \
    {                                                                                              \
        if (!(cond)) return 0;                                                                     \
        *v = (double)(expr);                                                                       \
        return 1;                                                                                  \
    }

VALUE_FN(v_up, n->polled, n->up)
VALUE_FN(v_slaves, n->up && n->role == ROLE_MASTER, n->connected_replicas)
VALUE_FN(v_master_offset, n->up && n->role == ROLE_MASTER && n->repl_offset >= 0, n->repl_offset)
VALUE_FN(v_link_up, n->up && n->role == ROLE_REPLICA, n->link_up == 1)
VALUE_FN(v_mem, n->up && n->used_memory >= 0, n->used_memory)
VALUE_FN(v_maxmem, n->up && n->maxmemory >= 0, n->maxmemory)
VALUE_FN(v_frag, n->up && n->mem_fragmentation_ratio >= 0, n->mem_fragmentation_ratio)
VALUE_FN(v_bgsave, n->up && n->rdb_last_bgsave_status[0], !strcmp(n->rdb_last_bgsave_status, "ok"))
VALUE_FN(v_changes, n->up && n->rdb_changes_since_last_save >= 0, n->rdb_changes_since_last_save)
VALUE_FN(v_last_save, n->up && n->rdb_last_save_time > 0, n->rdb_last_save_time)
VALUE_FN(v_aof, n->up && n->aof_enabled >= 0, n->aof_enabled)
VALUE_FN(v_clients, n->up && n->connected_clients >= 0, n->connected_clients)
VALUE_FN(v_uptime, n->up && n->uptime_s >= 0, n->uptime_s)
VALUE_FN(v_lag_bytes, n->lag_bytes >= 0, n->lag_bytes)

/* The master's per-replica families, as redis_exporter labels them: on the
 * master (addr), the replica in slave_ip and slave_port. */
static void replica_family(sbuf *b, const topo_snap *t, const char *name, const char *help, int lag)
{
    int i, j;
    char extra[256], host[HP_HOST_MAX];
    int port;
    family(b, name, "gauge", help);
    for (i = 0; t && i < t->nclusters; i++) {
        const cluster_snap *c = t->clusters[i];
        for (j = 0; j < c->nnodes; j++) {
            const snap_node *n = &c->nodes[j];
            sbuf e = SBUF_INIT;
            if (!n->up || n->role != ROLE_REPLICA || !n->master_addr[0]) continue;
            if (lag ? n->lag_seconds < 0 : n->repl_offset < 0) continue;
            if (hp_addr_parse(n->addr, host, sizeof(host), &port) < 0) continue;
            sbuf_puts(&e, "slave_ip=\"");
            label_value(&e, host);
            sbuf_printf(&e, "\",slave_port=\"%d\"", port);
            hp_strlcpy(extra, e.buf ? e.buf : "", sizeof(extra));
            sbuf_release(&e);
            sample(b, name, c->name, n->master_addr, extra,
                   lag ? n->lag_seconds : (double)n->repl_offset);
        }
    }
}

static void cluster_family(sbuf *b, const topo_snap *t, const char *name, const char *help,
                           int what)
{
    int i;
    family(b, name, "gauge", help);
    for (i = 0; t && i < t->nclusters; i++) {
        const cluster_snap *c = t->clusters[i];
        double v = what == 0   ? !strcmp(c->status, "ok")
                   : what == 1 ? c->quorum_ok
                   : what == 2 ? c->quorum_configured
                   : what == 3 ? c->quorum_reachable
                   : what == 4 ? c->failover_in_progress
                               : c->nsentinels;
        sample(b, name, c->name, NULL, NULL, v);
    }
}

static void counter(sbuf *b, const char *name, const char *help, unsigned long long v)
{
    family(b, name, "counter", help);
    sbuf_printf(b, "%s %llu\n", name, v);
}

typedef struct count_ctx {
    sbuf *b;
    const char *name, *label;
} count_ctx;

static void count_sample(void *ctx, const char *key, int64_t n)
{
    count_ctx *x = ctx;
    sbuf_printf(x->b, "%s{%s=\"", x->name, x->label);
    label_value(x->b, key);
    sbuf_printf(x->b, "\"} %lld\n", (long long)n);
}

/* A family of the database's rows grouped by a column. */
static void db_family(sbuf *b, struct db *d, int what, const char *name, const char *type,
                      const char *label, const char *help)
{
    count_ctx x = {b, name, label};
    family(b, name, type, help);
    db_count_by(d, what, count_sample, &x);
}

void metrics_render(const monitor *m, struct evq *q, struct db *d, sbuf *b)
{
    topo_snap *t = topo_acquire();
    monitor_stats ms;
    uint64_t http[5];
    int i, j;

    if (m) {
        monitor_counters(m, &ms);
        counter(b, "hapanel_polls_total", "INFO and SENTINEL polls sent", ms.polls);
        counter(b, "hapanel_poll_failures_total", "polls that failed or timed out",
                ms.poll_failures);
        counter(b, "hapanel_sentinel_events_total", "events received from Sentinels' pub/sub",
                ms.sentinel_events);
    }
    if (q)
        counter(b, "hapanel_events_dropped_total",
                "events dropped because the history's queue was full", evq_dropped(q));
    counter(b, "hapanel_ui_renders_total", "dashboard pages rendered (the rest came from cache)",
            ui_renders());
    httpstats_get(http);
    family(b, "hapanel_http_responses_total", "counter",
           "HTTP answers by status class, the edge's own refusals included");
    for (i = 0; i < 5; i++)
        sbuf_printf(b, "hapanel_http_responses_total{code=\"%dxx\"} %llu\n", i + 1,
                    (unsigned long long)http[i]);
    if (d) {
        db_family(b, d, DB_COUNT_JOBS_BY_STATE, "hapanel_jobs", "gauge", "state", "jobs by state");
        /* the history keeps every failover: the count only grows */
        db_family(b, d, DB_COUNT_FAILOVERS_BY_KIND, "hapanel_failovers_total", "counter", "kind",
                  "failovers recorded, by kind (automatic, graceful, forced)");
        db_family(b, d, DB_COUNT_OUTBOX_BY_STATE, "hapanel_notifications", "gauge", "state",
                  "notifications by state (pending, delivered, failed)");
    }
    cluster_family(b, t, "hapanel_cluster_ok", "1 when the cluster's status is ok", 0);
    cluster_family(b, t, "hapanel_quorum_ok", "1 when enough Sentinels agree to fail over", 1);
    cluster_family(b, t, "hapanel_quorum_configured",
                   "the quorum the Sentinels are configured with", 2);
    cluster_family(b, t, "hapanel_quorum_reachable",
                   "Sentinels that answer and agree on the master", 3);
    cluster_family(b, t, "hapanel_failover_in_progress", "1 while a Sentinel runs a failover", 4);
    cluster_family(b, t, "hapanel_sentinels", "Sentinels known for the cluster", 5);
    node_family(b, t, "hapanel_node_up", "1 when the node answered its last INFO (as redis_up)",
                v_up);
    node_family(b, t, "hapanel_node_lag_bytes", "replica: bytes behind its master", v_lag_bytes);
    node_family(b, t, "hapanel_node_used_memory_bytes",
                "used_memory of INFO (as redis_memory_used_bytes)", v_mem);
    /* redis_exporter's names */
    node_family(b, t, "redis_up", "1 when the node answered its last INFO", v_up);
    family(b, "redis_instance_info", "gauge", "the node's role and version (always 1)");
    for (i = 0; t && i < t->nclusters; i++)
        for (j = 0; j < t->clusters[i]->nnodes; j++) {
            const snap_node *n = &t->clusters[i]->nodes[j];
            sbuf e = SBUF_INIT;
            if (!n->up) continue;
            sbuf_printf(&e, "role=\"%s\",redis_version=\"",
                        n->role == ROLE_MASTER ? "master" : "slave");
            label_value(&e, n->redis_version);
            sbuf_puts(&e, "\"");
            sample(b, "redis_instance_info", t->clusters[i]->name, n->addr, e.buf ? e.buf : "", 1);
            sbuf_release(&e);
        }
    node_family(b, t, "redis_connected_slaves", "replicas connected to the master", v_slaves);
    node_family(b, t, "redis_master_repl_offset", "the master's replication offset",
                v_master_offset);
    replica_family(b, t, "redis_connected_slave_offset_bytes",
                   "on the master: each replica's replication offset", 0);
    replica_family(b, t, "redis_connected_slave_lag_seconds",
                   "on the master: seconds since each replica's last acknowledgement", 1);
    node_family(b, t, "redis_master_link_up", "replica: 1 when its link to the master is up",
                v_link_up);
    node_family(b, t, "redis_memory_used_bytes", "used_memory of INFO", v_mem);
    node_family(b, t, "redis_memory_max_bytes", "maxmemory (0: no limit)", v_maxmem);
    node_family(b, t, "redis_mem_fragmentation_ratio", "mem_fragmentation_ratio of INFO", v_frag);
    node_family(b, t, "redis_rdb_last_bgsave_status", "1 when the last BGSAVE succeeded", v_bgsave);
    node_family(b, t, "redis_rdb_changes_since_last_save", "writes since the last RDB save",
                v_changes);
    node_family(b, t, "redis_rdb_last_save_timestamp_seconds", "time of the last RDB save",
                v_last_save);
    node_family(b, t, "redis_aof_enabled", "1 when AOF is on", v_aof);
    node_family(b, t, "redis_connected_clients", "client connections", v_clients);
    node_family(b, t, "redis_uptime_in_seconds", "seconds since the node started", v_uptime);
    /* per Sentinel, for its master (redis_exporter's Sentinel families) */
    family(b, "redis_sentinel_master_ok_sentinels", "gauge",
           "Sentinels this Sentinel sees for the master, itself included");
    for (i = 0; t && i < t->nclusters; i++)
        for (j = 0; j < t->clusters[i]->nsentinels; j++) {
            const snap_sentinel *s = &t->clusters[i]->sentinels[j];
            if (s->up && s->num_other_sentinels >= 0)
                sample(b, "redis_sentinel_master_ok_sentinels", t->clusters[i]->name, s->addr, NULL,
                       s->num_other_sentinels + 1);
        }
    family(b, "redis_sentinel_master_ok_slaves", "gauge",
           "replicas this Sentinel sees for the master");
    for (i = 0; t && i < t->nclusters; i++)
        for (j = 0; j < t->clusters[i]->nsentinels; j++) {
            const snap_sentinel *s = &t->clusters[i]->sentinels[j];
            if (s->up && s->num_replicas >= 0)
                sample(b, "redis_sentinel_master_ok_slaves", t->clusters[i]->name, s->addr, NULL,
                       s->num_replicas);
        }
    topo_release(t);
}
