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
 * the master's per-replica families; master_host and master_port on a
 * replica's; master_name and master_address on a Sentinel's). hapanel's
 * own families start with hapanel_. docs/metrics.md lists every family and
 * says where and why one differs from redis_exporter's.
 *
 * What a scrape costs: one pass over the snapshot, the monitor's and the
 * writer's atomic counters, three GROUP BY counts over small tables and,
 * per cluster, the newest backup from the dashboard's in-memory sets (no
 * SQL unless the catalogue changed). */
#include "web/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "db/writer.h"
#include "ha/ha.h"
#include "web/httpstats.h"
#include "web/hub.h"
#include "model/lint.h"
#include "model/topology.h"
#include "web/ui.h"
#include "core/utf8.h"
#include "core/banned.h" /* last: after every system header */

/* A label value as the text format wants it: backslash, quote and newline
 * escaped, and each byte that is not part of well-formed UTF-8 written '?'
 * (as utf8_fix does: Prometheus refuses a whole scrape over one bad byte,
 * and names and versions come from Sentinel and Redis, which take any). */
static void label_value(sbuf *b, const char *v)
{
    size_t left = strlen(v), len;
    for (; *v; v += len, left -= len) {
        len = utf8_seq_len(v, left);
        if (len == 0) {
            sbuf_puts(b, "?");
            len = 1;
        } else if (*v == '\\') {
            sbuf_puts(b, "\\\\");
        } else if (*v == '"') {
            sbuf_puts(b, "\\\"");
        } else if (*v == '\n') {
            sbuf_puts(b, "\\n");
        } else {
            sbuf_append(b, v, len);
        }
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
    if (extra && *extra) sbuf_printf(b, ",%s", extra);
    /* whole numbers (offsets, bytes) exactly; ratios as short as they
     * were in INFO (9.85, not 9.8499999999999996) */
    if (v > -9e15 && v < 9e15 && v == (double)(long long)v)
        sbuf_printf(b, "} %lld\n", (long long)v);
    else
        sbuf_printf(b, "} %.15g\n", v);
}

/* Appends ,key="value" (value escaped) to e; no comma when e is empty. */
static void label(sbuf *e, const char *key, const char *v)
{
    sbuf_printf(e, "%s%s=\"", e->len ? "," : "", key);
    label_value(e, v);
    sbuf_puts(e, "\"");
}

/* host_key/port_key labels of addr ("host:port"), as redis_exporter splits
 * slave_ip/slave_port and master_host/master_port. Returns 0, or -1 when
 * addr does not parse (nothing appended). */
static int addr_labels(sbuf *e, const char *host_key, const char *port_key, const char *addr)
{
    char host[HP_HOST_MAX], port[16];
    int p;
    if (hp_addr_parse(addr, host, sizeof(host), &p) < 0) return -1;
    snprintf(port, sizeof(port), "%d", p);
    label(e, host_key, host);
    label(e, port_key, port);
    return 0;
}

/* One family over every node that has the value (fn returns 0 when the
 * node has none). */
typedef int node_value_fn(const snap_node *n, double *v);

static void node_family_typed(sbuf *b, const topo_snap *t, const char *name, const char *type,
                              const char *help, node_value_fn *fn)
{
    int i, j;
    double v;
    family(b, name, type, help);
    for (i = 0; t && i < t->nclusters; i++)
        for (j = 0; j < t->clusters[i]->nnodes; j++)
            if (fn(&t->clusters[i]->nodes[j], &v))
                sample(b, name, t->clusters[i]->name, t->clusters[i]->nodes[j].addr, NULL, v);
}

static void node_family(sbuf *b, const topo_snap *t, const char *name, const char *help,
                        node_value_fn *fn)
{
    node_family_typed(b, t, name, "gauge", help, fn);
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
VALUE_FN(v_mem, n->up && n->used_memory >= 0, n->used_memory)
VALUE_FN(v_maxmem, n->up && n->maxmemory >= 0, n->maxmemory)
VALUE_FN(v_frag, n->up && n->mem_fragmentation_ratio >= 0, n->mem_fragmentation_ratio)
VALUE_FN(v_bgsave, n->up && n->rdb_last_bgsave_status[0], !strcmp(n->rdb_last_bgsave_status, "ok"))
VALUE_FN(v_bgsave_running, n->up && n->rdb_bgsave_in_progress >= 0, n->rdb_bgsave_in_progress)
VALUE_FN(v_changes, n->up && n->rdb_changes_since_last_save >= 0, n->rdb_changes_since_last_save)
VALUE_FN(v_last_save, n->up && n->rdb_last_save_time > 0, n->rdb_last_save_time)
VALUE_FN(v_aof, n->up && n->aof_enabled >= 0, n->aof_enabled)
VALUE_FN(v_aof_write, n->up && n->aof_last_write_status[0], !strcmp(n->aof_last_write_status, "ok"))
VALUE_FN(v_clients, n->up && n->connected_clients >= 0, n->connected_clients)
VALUE_FN(v_uptime, n->up && n->uptime_s >= 0, n->uptime_s)
VALUE_FN(v_commands, n->up && n->total_commands_processed >= 0, n->total_commands_processed)
VALUE_FN(v_full_syncs, n->up && n->role == ROLE_MASTER && n->sync_full >= 0, n->sync_full)
VALUE_FN(v_lag_bytes, n->lag_bytes >= 0, n->lag_bytes)

/* A replica's own families, labelled with its master as redis_exporter
 * does (master_host, master_port). what: 0 link up, 1 its offset, 2 a sync
 * in progress. */
static void replica_side_family(sbuf *b, const topo_snap *t, const char *name, const char *help,
                                int what)
{
    int i, j;
    family(b, name, "gauge", help);
    for (i = 0; t && i < t->nclusters; i++)
        for (j = 0; j < t->clusters[i]->nnodes; j++) {
            const snap_node *n = &t->clusters[i]->nodes[j];
            sbuf e = SBUF_INIT;
            double v = what == 0   ? n->link_up == 1
                       : what == 1 ? (double)n->repl_offset
                                   : n->sync_in_progress == 1;
            if (!n->up || n->role != ROLE_REPLICA || !n->master_addr[0]) continue;
            if (what == 1 && n->repl_offset < 0) continue;
            if (addr_labels(&e, "master_host", "master_port", n->master_addr) == 0)
                sample(b, name, t->clusters[i]->name, n->addr, e.buf, v);
            sbuf_release(&e);
        }
}

/* The master's per-replica families, as redis_exporter labels them: on the
 * master (addr), the replica in slave_ip and slave_port. The offset is the
 * replica's own (its INFO); the lag is the master's view of it, so a
 * replica that hangs (down to hapanel, still listed by its master) keeps
 * its lag series, growing, as the exporter's would. */
static void replica_family(sbuf *b, const topo_snap *t, const char *name, const char *help, int lag)
{
    int i, j;
    family(b, name, "gauge", help);
    for (i = 0; t && i < t->nclusters; i++) {
        const cluster_snap *c = t->clusters[i];
        for (j = 0; j < c->nnodes; j++) {
            const snap_node *n = &c->nodes[j];
            const char *master = n->master_addr[0] ? n->master_addr : c->master;
            sbuf e = SBUF_INIT;
            if (lag ? n->lag_seconds < 0 || !master[0]
                    : !n->up || n->role != ROLE_REPLICA || !n->master_addr[0] || n->repl_offset < 0)
                continue;
            if (addr_labels(&e, "slave_ip", "slave_port", n->addr) == 0)
                sample(b, name, c->name, master, e.buf,
                       lag ? n->lag_seconds : (double)n->repl_offset);
            sbuf_release(&e);
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

/* ---------------------------------------------------------------- Sentinels */

/* A Sentinel's status for the master, in the words of its INFO's masterN
 * line (what redis_exporter's master_status label carries). */
static const char *sentinel_status(const snap_sentinel *s)
{
    return strstr(s->flags, "o_down") ? "odown" : strstr(s->flags, "s_down") ? "sdown" : "ok";
}

/* The replicas s sees neither subjectively nor objectively down, from its
 * last SENTINEL REPLICAS; -1 before it was read. */
static int sentinel_ok_slaves(const cluster_snap *c, const snap_sentinel *s)
{
    int i, n = 0;
    if (!s->views_at_ms) return -1;
    for (i = 0; i < c->nsviews; i++)
        if (!strcmp(c->sviews[i].sentinel, s->addr) && !strstr(c->sviews[i].flags, "s_down") &&
            !strstr(c->sviews[i].flags, "o_down"))
            n++;
    return n;
}

/* One family over every Sentinel of every cluster that answers: cluster,
 * addr (the Sentinel), master_name and master_address. what: 0 master
 * status (with master_status), 1 replicas, 2 replicas ok, 3 Sentinels, 4
 * Sentinels ok, 5 the quorum setting. */
static void sentinel_family(sbuf *b, const topo_snap *t, const char *name, const char *help,
                            int what)
{
    int i, j;
    family(b, name, "gauge", help);
    for (i = 0; t && i < t->nclusters; i++) {
        const cluster_snap *c = t->clusters[i];
        for (j = 0; j < c->nsentinels; j++) {
            const snap_sentinel *s = &c->sentinels[j];
            sbuf e = SBUF_INIT;
            double v;
            if (!s->up || !s->flags[0]) continue;
            if (what == 0)
                v = !strcmp(sentinel_status(s), "ok");
            else if (what == 1 || what == 2)
                v = what == 1 ? s->num_replicas : sentinel_ok_slaves(c, s);
            else if (what == 3 || what == 4)
                v = s->num_other_sentinels < 0 ? -1 : s->num_other_sentinels + 1;
            else
                v = s->quorum;
            if (v < 0) continue;
            label(&e, "master_name", c->name);
            label(&e, "master_address", s->sees_master);
            if (what == 0) label(&e, "master_status", sentinel_status(s));
            sample(b, name, c->name, s->addr, e.buf, v);
            sbuf_release(&e);
        }
    }
}

/* redis_sentinel_masters: per Sentinel (its group and addr: it spans
 * clusters, and two groups may announce one address) the masters it watches
 * among those hapanel monitors. Sorted, then counted by runs, so a thousand
 * clusters cost n log n, not n². */
typedef struct sm_key {
    const char *group, *addr;
} sm_key;

static int sm_cmp(const void *a, const void *b)
{
    const sm_key *x = a, *y = b;
    int c = strcmp(x->group, y->group);
    return c ? c : strcmp(x->addr, y->addr);
}

static void sentinel_masters(sbuf *b, const topo_snap *t)
{
    sm_key *keys = NULL;
    size_t n = 0, cap = 0, i, run;
    int c, j;

    family(b, "redis_sentinel_masters", "gauge",
           "masters this Sentinel watches (among the ones hapanel monitors)");
    for (c = 0; t && c < t->nclusters; c++)
        for (j = 0; j < t->clusters[c]->nsentinels; j++) {
            const snap_sentinel *s = &t->clusters[c]->sentinels[j];
            if (!s->up || !s->flags[0]) continue;
            if (n == cap) {
                sm_key *nk = realloc(keys, sizeof(*nk) * (cap ? cap * 2 : 16));
                if (!nk) goto out;
                keys = nk;
                cap = cap ? cap * 2 : 16;
            }
            keys[n].group = t->clusters[c]->group_name;
            keys[n++].addr = s->addr;
        }
    if (n) qsort(keys, n, sizeof(*keys), sm_cmp);
    for (i = 0; i < n; i += run) {
        for (run = 1; i + run < n && !sm_cmp(&keys[i], &keys[i + run]); run++)
            ;
        sbuf_puts(b, "redis_sentinel_masters{addr=\"");
        label_value(b, keys[i].addr);
        sbuf_puts(b, "\",group=\"");
        label_value(b, keys[i].group);
        sbuf_printf(b, "\"} %zu\n", run);
    }
out:
    free(keys);
}

/* ------------------------------------------------------------ hapanel's own */

static void counter(sbuf *b, const char *name, const char *help, unsigned long long v)
{
    family(b, name, "counter", help);
    sbuf_printf(b, "%s %llu\n", name, v);
}

/* The INFO round trips as a Prometheus histogram: the monitor counts per
 * bucket, the text wants them cumulative; _count is the +Inf bucket, so
 * the two always agree. */
static void poll_histogram(sbuf *b, const monitor_stats *ms)
{
    const char *name = "hapanel_poll_duration_seconds";
    uint64_t cum = 0;
    int i;
    family(b, name, "histogram",
           "INFO round trips, from sending a node's INFO to its answer or its failure");
    for (i = 0; i < MONITOR_POLL_BUCKETS; i++) {
        cum += ms->poll_hist[i];
        sbuf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, monitor_poll_bounds[i],
                    (unsigned long long)cum);
    }
    cum += ms->poll_hist[MONITOR_POLL_BUCKETS];
    sbuf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
    sbuf_printf(b, "%s_sum %.6f\n%s_count %llu\n", name, (double)ms->poll_sum_us / 1e6, name,
                (unsigned long long)cum);
}

/* The known values of a grouped count, each always present (0 when no
 * row has it: a rule on rate() or a missing series needs the zero), then
 * any other value the table holds. */
typedef struct count_ctx {
    const char *const *known;
    int64_t n[8];
    int nknown;
    sbuf other;
    const char *name, *label;
} count_ctx;

static void count_sample(void *ctx, const char *key, int64_t n)
{
    count_ctx *x = ctx;
    int i;
    for (i = 0; i < x->nknown; i++)
        if (!strcmp(key, x->known[i])) {
            x->n[i] = n;
            return;
        }
    sbuf_printf(&x->other, "%s{%s=\"", x->name, x->label);
    label_value(&x->other, key);
    sbuf_printf(&x->other, "\"} %lld\n", (long long)n);
}

/* A family of the database's rows grouped by a column. known: NULL-ended,
 * at most 8. */
static void db_family(sbuf *b, struct db *d, int what, const char *name, const char *type,
                      const char *label, const char *const *known, const char *help)
{
    count_ctx x;
    int i;
    memset(&x, 0, sizeof(x));
    x.known = known;
    x.name = name;
    x.label = label;
    while (known[x.nknown] && x.nknown < 8)
        x.nknown++;
    family(b, name, type, help);
    if (db_count_by(d, what, count_sample, &x) >= 0)
        for (i = 0; i < x.nknown; i++)
            sbuf_printf(b, "%s{%s=\"%s\"} %lld\n", name, label, known[i], (long long)x.n[i]);
    if (x.other.buf) sbuf_puts(b, x.other.buf);
    sbuf_release(&x.other);
}

static void newest_backup(void *ctx, const hp_backup *bk)
{
    *(hp_backup *)ctx = *bk;
}

/* Per cluster, its newest backup (the catalogue holds verified ones only:
 * each row is a success), from the in-memory sets the dashboard reads. */
static void backup_families(sbuf *b, const topo_snap *t, struct db *d)
{
    sbuf size = SBUF_INIT;
    int i;
    family(b, "hapanel_backup_last_success_timestamp_seconds", "gauge",
           "time the cluster's newest verified backup was taken");
    for (i = 0; t && i < t->nclusters; i++) {
        hp_backup bk;
        if (db_recent_backups(d, t->clusters[i]->name, 1, newest_backup, &bk) != 1) continue;
        sample(b, "hapanel_backup_last_success_timestamp_seconds", t->clusters[i]->name, NULL, NULL,
               (double)bk.created_at / 1000.0);
        sample(&size, "hapanel_backup_last_size_bytes", t->clusters[i]->name, NULL, NULL,
               (double)bk.size_bytes);
    }
    family(b, "hapanel_backup_last_size_bytes", "gauge", "size of the cluster's newest backup");
    if (size.buf) sbuf_puts(b, size.buf);
    sbuf_release(&size);
}

static void hapanel_families(sbuf *b, const monitor *m, struct evq *q, struct db *d)
{
    static const char *const job_states[] = {"queued", "running", "succeeded", "failed", NULL};
    static const char *const kinds[] = {"automatic", "graceful", "forced", NULL};
    static const char *const outbox_states[] = {"pending", "delivered", "failed", "skipped", NULL};
    monitor_stats ms;
    uint64_t http[5];
    int i;

    if (m) {
        monitor_counters(m, &ms);
        counter(b, "hapanel_polls_total", "node INFO polls answered or failed", ms.polls);
        counter(b, "hapanel_poll_failures_total", "node INFO polls that failed or timed out",
                ms.poll_failures);
        counter(b, "hapanel_sentinel_events_total", "events received from Sentinels' pub/sub",
                ms.sentinel_events);
        poll_histogram(b, &ms);
    }
    if (q) {
        counter(b, "hapanel_events_written_total", "events stored in the history (committed)",
                evq_written(q));
        counter(b, "hapanel_events_dropped_total",
                "events dropped because the history's queue was full", evq_dropped(q));
    }
    counter(b, "hapanel_ui_renders_total", "dashboard pages rendered (the rest came from cache)",
            ui_renders());
    httpstats_get(http);
    family(b, "hapanel_http_responses_total", "counter",
           "HTTP answers by status class, the edge's own refusals included");
    for (i = 0; i < 5; i++)
        sbuf_printf(b, "hapanel_http_responses_total{code=\"%dxx\"} %llu\n", i + 1,
                    (unsigned long long)http[i]);
    if (d) {
        db_family(b, d, DB_COUNT_JOBS_BY_STATE, "hapanel_jobs", "gauge", "state", job_states,
                  "jobs by state");
        /* the history keeps every failover: the count only grows */
        db_family(b, d, DB_COUNT_FAILOVERS_BY_KIND, "hapanel_failovers_total", "counter", "kind",
                  kinds, "failovers recorded, by kind (automatic, graceful, forced)");
        db_family(b, d, DB_COUNT_OUTBOX_BY_STATE, "hapanel_notifications", "gauge", "state",
                  outbox_states,
                  "notifications by state (pending: waiting or retrying; failed: gave up)");
    }
}

/* hapanel_lint_findings: the config lint (model/lint.h) run on each cluster's
 * snapshot, a sample per finding (the same check twice on one address, as
 * sentinels_disagree can be, is one sample of 2). A pure pass over the
 * snapshot in memory: no Redis, no SQL. */
static void lint_families(sbuf *b, const topo_snap *t)
{
    lint_finding *f = malloc(sizeof(*f) * LINT_MAX);
    int i, j, k, n;

    if (!f) return;
    family(b, "hapanel_lint_findings", "gauge",
           "config lint findings by check and severity (addr: the node or Sentinel, absent for "
           "the cluster)");
    for (i = 0; t && i < t->nclusters; i++) {
        n = lint_run(t->clusters[i], f, LINT_MAX);
        for (j = 0; j < n; j++) {
            sbuf e = SBUF_INIT;
            int same = 0, seen = 0;
            for (k = 0; k < n && !seen; k++)
                if (!strcmp(f[k].check, f[j].check) && !strcmp(f[k].severity, f[j].severity) &&
                    !strcmp(f[k].node, f[j].node)) {
                    if (k < j) seen = 1;
                    same++;
                }
            if (seen) continue;
            label(&e, "check", f[j].check);
            label(&e, "severity", f[j].severity);
            sample(b, "hapanel_lint_findings", t->clusters[i]->name,
                   f[j].node[0] ? f[j].node : NULL, e.buf, same);
            sbuf_release(&e);
        }
    }
    free(f);
}

void metrics_render_ha(const struct ha *h, sbuf *b)
{
    ha_status s;
    ha_status_get(h, &s);
    if (!s.enabled) return; /* a single panel: no [ha], no families */
    family(b, "hapanel_ha_leader", "gauge", "1 while this instance leads the HA fleet (etcd)");
    sbuf_puts(b, "hapanel_ha_leader{instance=\"");
    label_value(b, s.self_id);
    sbuf_printf(b, "\"} %d\n", s.leader);
    counter(b, "hapanel_ha_leader_changes_total", "times this instance gained or lost the lead",
            (unsigned long long)s.changes);
    family(b, "hapanel_ha_etcd_up", "gauge", "1 when etcd answered the lease thread's last call");
    sbuf_printf(b, "hapanel_ha_etcd_up %d\n", s.etcd_ok);
    counter(b, "hapanel_ha_keepalive_failures_total",
            "lease keep-alives etcd did not answer (timeouts, no quorum)",
            (unsigned long long)s.keepalive_failures);
    family(
        b, "hapanel_ha_last_keepalive_timestamp_seconds", "gauge",
        "when etcd last answered the lease thread (a keep-alive, grant or leader txn; 0: never)");
    sbuf_printf(b, "hapanel_ha_last_keepalive_timestamp_seconds %.3f\n",
                (double)s.last_ok_ms / 1000.0);
}

/* The Sentinel groups: hapanel_cluster_info carries each cluster's group
 * (a join adds it to any family: * on(cluster) group_left(group)
 * hapanel_cluster_info), so no existing series gains a label and no query
 * written before groups breaks; hapanel_sentinel_group_clusters counts the
 * clusters of every configured group, 0 for one whose Sentinels monitor
 * none yet. */
void metrics_render_groups(const config *cfg, sbuf *b)
{
    topo_snap *t = topo_acquire();
    int i, g;

    family(b, "hapanel_cluster_info", "gauge", "the cluster's Sentinel group (always 1)");
    for (i = 0; t && i < t->nclusters; i++) {
        sbuf e = SBUF_INIT;
        label(&e, "group", t->clusters[i]->group_name);
        sample(b, "hapanel_cluster_info", t->clusters[i]->name, NULL, e.buf, 1);
        sbuf_release(&e);
    }
    family(b, "hapanel_sentinel_group_clusters", "gauge",
           "clusters the Sentinels of the group monitor (among the ones hapanel monitors)");
    for (g = 0; cfg && g < cfg->ngroups; g++) {
        int n = 0;
        for (i = 0; t && i < t->nclusters; i++)
            n += !strcmp(t->clusters[i]->group_name, cfg->groups[g].name);
        sbuf_puts(b, "hapanel_sentinel_group_clusters{group=\"");
        label_value(b, cfg->groups[g].name);
        sbuf_printf(b, "\"} %d\n", n);
    }
    topo_release(t);
}

void metrics_render(const monitor *m, struct evq *q, struct db *d, struct hub *h, sbuf *b)
{
    topo_snap *t = topo_acquire();
    int i, j;

    hapanel_families(b, m, q, d);
    if (h) {
        family(b, "hapanel_streams", "gauge",
               "live streams open, by topic (held by the HTTP edge)");
        sbuf_printf(b, "hapanel_streams{topic=\"events\"} %d\nhapanel_streams{topic=\"ui\"} %d\n",
                    hub_streams(h, HUB_EVENTS), hub_streams(h, HUB_UI));
    }
    if (d) backup_families(b, t, d);
    cluster_family(b, t, "hapanel_cluster_ok", "1 when the cluster's status is ok", 0);
    cluster_family(b, t, "hapanel_quorum_ok", "1 when enough Sentinels agree to fail over", 1);
    cluster_family(b, t, "hapanel_quorum_configured",
                   "the quorum the Sentinels are configured with", 2);
    cluster_family(b, t, "hapanel_quorum_reachable",
                   "Sentinels that answer and agree on the master", 3);
    cluster_family(b, t, "hapanel_failover_in_progress", "1 while a Sentinel runs a failover", 4);
    cluster_family(b, t, "hapanel_sentinels", "Sentinels known for the cluster", 5);
    lint_families(b, t);
    family(b, "hapanel_cluster_master", "gauge",
           "1 for the node the Sentinels' majority reports as the cluster's master");
    for (i = 0; t && i < t->nclusters; i++)
        if (t->clusters[i]->master[0])
            sample(b, "hapanel_cluster_master", t->clusters[i]->name, t->clusters[i]->master, NULL,
                   1);
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
            label(&e, "role", n->role == ROLE_MASTER ? "master" : "slave");
            label(&e, "redis_version", n->redis_version);
            sample(b, "redis_instance_info", t->clusters[i]->name, n->addr, e.buf, 1);
            sbuf_release(&e);
        }
    node_family(b, t, "redis_connected_slaves", "replicas connected to the master", v_slaves);
    node_family(b, t, "redis_master_repl_offset", "the master's replication offset",
                v_master_offset);
    replica_family(b, t, "redis_connected_slave_offset_bytes",
                   "on the master: each replica's replication offset", 0);
    replica_family(b, t, "redis_connected_slave_lag_seconds",
                   "on the master: seconds since each replica's last acknowledgement", 1);
    replica_side_family(b, t, "redis_master_link_up",
                        "replica: 1 when its link to the master is up", 0);
    replica_side_family(b, t, "redis_slave_repl_offset", "replica: its replication offset", 1);
    replica_side_family(b, t, "redis_master_sync_in_progress",
                        "replica: 1 while it loads a full sync from its master", 2);
    node_family(b, t, "redis_replica_resyncs_full", "master: full syncs it served (sync_full)",
                v_full_syncs);
    node_family(b, t, "redis_memory_used_bytes", "used_memory of INFO", v_mem);
    node_family(b, t, "redis_memory_max_bytes", "maxmemory (0: no limit)", v_maxmem);
    node_family(b, t, "redis_mem_fragmentation_ratio", "mem_fragmentation_ratio of INFO", v_frag);
    node_family(b, t, "redis_rdb_last_bgsave_status", "1 when the last BGSAVE succeeded", v_bgsave);
    node_family(b, t, "redis_rdb_bgsave_in_progress", "1 while a BGSAVE runs", v_bgsave_running);
    node_family(b, t, "redis_rdb_changes_since_last_save", "writes since the last RDB save",
                v_changes);
    node_family(b, t, "redis_rdb_last_save_timestamp_seconds", "time of the last RDB save",
                v_last_save);
    node_family(b, t, "redis_aof_enabled", "1 when AOF is on", v_aof);
    node_family(b, t, "redis_aof_last_write_status", "1 when the last AOF write succeeded",
                v_aof_write);
    node_family(b, t, "redis_connected_clients", "client connections", v_clients);
    node_family(b, t, "redis_uptime_in_seconds", "seconds since the node started", v_uptime);
    node_family_typed(b, t, "redis_commands_processed_total", "counter",
                      "commands the node processed since it started (total_commands_processed)",
                      v_commands);
    /* per Sentinel, for its master (redis_exporter's Sentinel families) */
    sentinel_masters(b, t);
    sentinel_family(b, t, "redis_sentinel_master_status",
                    "1 when this Sentinel sees the master ok (not sdown, not odown)", 0);
    sentinel_family(b, t, "redis_sentinel_master_slaves", "replicas this Sentinel knows", 1);
    sentinel_family(b, t, "redis_sentinel_master_ok_slaves",
                    "replicas this Sentinel sees neither sdown nor odown", 2);
    sentinel_family(b, t, "redis_sentinel_master_sentinels",
                    "Sentinels this Sentinel knows for the master, itself included", 3);
    sentinel_family(b, t, "redis_sentinel_master_ok_sentinels",
                    "Sentinels this Sentinel knows for the master, itself included", 4);
    sentinel_family(b, t, "redis_sentinel_master_setting_ckquorum",
                    "the quorum this Sentinel is configured with for the master", 5);
    topo_release(t);
}
