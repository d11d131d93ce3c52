/* ui.c — the dashboard's HTML fragments (see ui.h). The page (web/index.html)
 * polls GET /ui/clusters every second and swaps the answer in; this module turns
 * the current topology snapshot plus the latest events of each cluster into that
 * markup. It never talks to Redis and holds no state between requests. Every
 * string that comes from Redis, a Sentinel, the configuration or the database
 * goes through sbuf_html(); class names are only ever chosen from fixed lists
 * (status_class, severity_class), never copied from data, so a hostile master
 * name or event message can neither run script nor restyle the page. Numbers
 * that are -1 are unknown and render as an en dash. Times are shown as an age
 * ("5s ago") with the UTC time beside it or in a tooltip, since the server's
 * zone and the viewer's may differ. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "ui.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

#include "../db/db.h"
#include "common.h"
#include "event.h"
#include "http.h"
#include "sbuf.h"
#include "topology.h"

#define UI_DASH "\xe2\x80\x93" /* en dash: "unknown" */
#define UI_EVENTS 10           /* latest events shown per cluster */

/* Thresholds for colouring cells; the alert rules have their own (configurable)
 * ones. Memory red at the design's default alert (90 %), lag red at its 5 s. */
#define UI_MEM_WARN_PCT 80.0
#define UI_MEM_BAD_PCT 90.0
#define UI_LAG_WARN_S 2.0
#define UI_LAG_BAD_S 5.0
#define UI_STALE_MS 5000 /* a cluster snapshot older than this is flagged */

/* ---------------------------------------------------------------------------
 * Small formatters
 * ------------------------------------------------------------------------ */

/* Maps a cluster status to one of a fixed set of CSS class suffixes. */
static const char *status_class(const char *s)
{
    if (strcmp(s, "ok") == 0) return "ok";
    if (strcmp(s, "degraded") == 0) return "degraded";
    if (strcmp(s, "down") == 0) return "down";
    return "unknown";
}

/* Maps an event/problem severity to one of a fixed set of CSS class suffixes. */
static const char *severity_class(const char *s)
{
    if (strcmp(s, "info") == 0) return "info";
    if (strcmp(s, "warning") == 0) return "warning";
    if (strcmp(s, "critical") == 0) return "critical";
    return "unknown";
}

/* Escaped text, or a dash when the string is empty. */
static void put_text(sbuf *b, const char *s)
{
    if (s[0] == '\0')
        sbuf_puts(b, UI_DASH);
    else
        sbuf_html(b, s);
}

/* Escaped address in a monospace span, or a dash. */
static void put_addr(sbuf *b, const char *addr)
{
    if (addr[0] == '\0') {
        sbuf_puts(b, UI_DASH);
    } else {
        sbuf_puts(b, "<span class=\"addr\">");
        sbuf_html(b, addr);
        sbuf_puts(b, "</span>");
    }
}

static void put_int(sbuf *b, int64_t v)
{
    if (v < 0)
        sbuf_puts(b, UI_DASH);
    else
        sbuf_printf(b, "%lld", (long long)v);
}

/* Bytes in binary units ("1.5 MiB"); negative is unknown. */
static void put_bytes(sbuf *b, int64_t v)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double x = (double)v;
    int u = 0;

    if (v < 0) {
        sbuf_puts(b, UI_DASH);
    } else if (v < 1024) {
        sbuf_printf(b, "%lld B", (long long)v);
    } else {
        while (x >= 1024.0 && u < 5) {
            x /= 1024.0;
            u++;
        }
        sbuf_printf(b, "%.1f %s", x, units[u]);
    }
}

/* An age in seconds as "5s ago", "12m ago", "3h ago", "2d ago". */
static void put_ago(sbuf *b, int64_t secs)
{
    if (secs < 0) secs = 0; /* clock skew between hosts: never "in the future" */
    if (secs < 120)
        sbuf_printf(b, "%llds ago", (long long)secs);
    else if (secs < 2 * 3600)
        sbuf_printf(b, "%lldm ago", (long long)(secs / 60));
    else if (secs < 2 * 86400)
        sbuf_printf(b, "%lldh ago", (long long)(secs / 3600));
    else
        sbuf_printf(b, "%lldd ago", (long long)(secs / 86400));
}

/* A wall-clock time (ms since the epoch) in UTC: "2024-05-01 12:03:04 UTC" with
 * full set, else "12:03:04" when it is today (UTC) and "05-01 12:03:04" when not.
 * gmtime_r, not gmtime: handlers run on many threads. */
static void put_utc(sbuf *b, int64_t ms, int64_t now_ms, int full)
{
    char tmp[40];
    struct tm tm, today;
    time_t s = (time_t)(ms / 1000), now = (time_t)(now_ms / 1000);
    size_t n = 0;

    /* literal formats in each call, so -Wformat can check them */
    if (ms > 0 && gmtime_r(&s, &tm) && gmtime_r(&now, &today)) {
        if (full)
            n = strftime(tmp, sizeof tmp, "%Y-%m-%d %H:%M:%S UTC", &tm);
        else if (tm.tm_year == today.tm_year && tm.tm_yday == today.tm_yday)
            n = strftime(tmp, sizeof tmp, "%H:%M:%S", &tm);
        else
            n = strftime(tmp, sizeof tmp, "%m-%d %H:%M:%S", &tm);
    }
    sbuf_puts(b, n > 0 ? tmp : UI_DASH);
}

/* A badge for a cluster status ("ok", "degraded", "down"). */
static void put_status_badge(sbuf *b, const char *status)
{
    sbuf_printf(b, "<span class=\"badge st-%s\">", status_class(status));
    put_text(b, status);
    sbuf_puts(b, "</span>");
}

/* A badge for a severity ("info", "warning", "critical"). */
static void put_severity_badge(sbuf *b, const char *severity)
{
    sbuf_printf(b, "<span class=\"badge sev-%s\">", severity_class(severity));
    put_text(b, severity);
    sbuf_puts(b, "</span>");
}

/* ---------------------------------------------------------------------------
 * Nodes
 * ------------------------------------------------------------------------ */

/* The "used / max (pct)" memory cell; maxmemory 0 means no limit. */
static void render_memory_cell(sbuf *b, const snap_node *n)
{
    const char *cls = "";
    double pct = -1.0;

    if (n->used_memory >= 0 && n->maxmemory > 0) {
        pct = 100.0 * (double)n->used_memory / (double)n->maxmemory;
        if (pct >= UI_MEM_BAD_PCT)
            cls = " bad";
        else if (pct >= UI_MEM_WARN_PCT)
            cls = " warn";
    }
    sbuf_printf(b, "<td class=\"mem%s\">", cls);
    put_bytes(b, n->used_memory);
    sbuf_puts(b, " / ");
    if (n->maxmemory == 0)
        sbuf_puts(b, "<span class=\"muted\">no limit</span>");
    else
        put_bytes(b, n->maxmemory);
    if (pct >= 0.0) sbuf_printf(b, " <span class=\"pct\">(%.0f%%)</span>", pct);
    sbuf_puts(b, "</td>");
}

/* The persistence cell: last RDB save (age, UTC time as tooltip), bgsave status,
 * changes since the save, AOF on/off and its last write status. */
static void render_persistence_cell(sbuf *b, const snap_node *n, int64_t now_ms)
{
    sbuf_puts(b, "<td class=\"persist\">");
    if (n->rdb_last_save_time > 0) {
        sbuf_puts(b, "<span title=\"last RDB save ");
        put_utc(b, n->rdb_last_save_time * 1000, now_ms, 1);
        sbuf_puts(b, "\">saved ");
        put_ago(b, now_ms / 1000 - n->rdb_last_save_time);
        sbuf_puts(b, "</span>");
    } else {
        sbuf_puts(b, "saved " UI_DASH);
    }

    sbuf_puts(b, " \xc2\xb7 bgsave ");
    if (n->rdb_bgsave_in_progress == 1) {
        sbuf_puts(b, "<span class=\"warn\">running</span>");
    } else if (n->rdb_last_bgsave_status[0] == '\0') {
        sbuf_puts(b, UI_DASH);
    } else {
        sbuf_puts(b, strcmp(n->rdb_last_bgsave_status, "ok") == 0 ? "<span class=\"good\">"
                                                                  : "<span class=\"bad\">");
        sbuf_html(b, n->rdb_last_bgsave_status);
        sbuf_puts(b, "</span>");
    }

    if (n->rdb_changes_since_last_save >= 0)
        sbuf_printf(b, " \xc2\xb7 %lld changes", (long long)n->rdb_changes_since_last_save);

    sbuf_puts(b, " \xc2\xb7 AOF ");
    if (n->aof_enabled == 1) {
        sbuf_puts(b, "on");
        if (n->aof_last_write_status[0] != '\0') {
            sbuf_puts(b, strcmp(n->aof_last_write_status, "ok") == 0 ? " <span class=\"good\">"
                                                                     : " <span class=\"bad\">");
            sbuf_html(b, n->aof_last_write_status);
            sbuf_puts(b, "</span>");
        }
    } else if (n->aof_enabled == 0) {
        sbuf_puts(b, "off");
    } else {
        sbuf_puts(b, UI_DASH);
    }
    sbuf_puts(b, "</td>");
}

/* One row of the nodes table. master is the cluster's (Sentinel) master, used
 * to flag a replica that replicates from somewhere else. */
static void render_node_row(sbuf *b, const snap_node *n, const char *master, int64_t now_ms)
{
    int replica =
        n->role == ROLE_REPLICA || (n->role == ROLE_UNKNOWN && n->sentinel_role == ROLE_REPLICA);

    sbuf_printf(b, "<tr class=\"node role-%s%s\">", role_name(n->role), n->up ? "" : " is-down");

    /* address */
    sbuf_puts(b, "<td>");
    put_addr(b, n->addr);
    sbuf_puts(b, "</td>");

    /* role, and the Sentinels' view when it differs */
    sbuf_printf(b, "<td class=\"role\">%s", role_name(n->role));
    if (n->sentinel_role != n->role)
        sbuf_printf(b,
                    " <span class=\"warn\" title=\"what the Sentinels say\">(Sentinels: %s)</span>",
                    role_name(n->sentinel_role));
    sbuf_puts(b, "</td>");

    /* up/down, the error, and the Sentinels' flags (s_down, o_down, ...) */
    sbuf_puts(b, "<td class=\"state\">");
    if (n->up) {
        sbuf_puts(b, "<span class=\"good\">up</span>");
    } else {
        sbuf_puts(b, "<span class=\"bad\">down</span>");
        if (n->error[0] != '\0') {
            sbuf_puts(b, " <span class=\"err\">");
            sbuf_html(b, n->error);
            sbuf_puts(b, "</span>");
        }
        if (n->last_ok_ms > 0) {
            sbuf_puts(b, " <span class=\"muted\">last ok ");
            put_ago(b, (now_ms - n->last_ok_ms) / 1000);
            sbuf_puts(b, "</span>");
        }
    }
    if (n->sentinel_flags[0] != '\0') {
        sbuf_puts(b, " <span class=\"flags warn\" title=\"Sentinel flags\">");
        sbuf_html(b, n->sentinel_flags);
        sbuf_puts(b, "</span>");
    }
    sbuf_puts(b, "</td>");

    /* link to the master (replicas) */
    sbuf_puts(b, "<td class=\"link\">");
    if (!replica || n->link_up < 0) {
        sbuf_puts(b, UI_DASH);
    } else if (n->link_up == 1) {
        sbuf_puts(b, "<span class=\"good\">up</span>");
    } else {
        sbuf_puts(b, "<span class=\"bad\">down</span>");
        if (n->link_down_since_s > 0)
            sbuf_printf(b, " <span class=\"muted\">%llds</span>", (long long)n->link_down_since_s);
    }
    if (replica && n->sync_in_progress == 1) sbuf_puts(b, " <span class=\"warn\">syncing</span>");
    sbuf_puts(b, "</td>");

    /* the master it replicates from; flagged when not the cluster's master */
    if (replica && n->master_addr[0] != '\0' && master[0] != '\0' &&
        strcmp(n->master_addr, master) != 0)
        sbuf_puts(b, "<td class=\"bad\" title=\"not the master the Sentinels report\">");
    else
        sbuf_puts(b, "<td>");
    if (replica)
        put_addr(b, n->master_addr);
    else
        sbuf_puts(b, UI_DASH);
    sbuf_puts(b, "</td>");

    /* lag */
    sbuf_puts(b, "<td class=\"num\">");
    if (replica && n->lag_bytes >= 0) {
        sbuf_printf(b, "<span title=\"%lld bytes\">", (long long)n->lag_bytes);
        put_bytes(b, n->lag_bytes);
        sbuf_puts(b, "</span>");
    } else {
        sbuf_puts(b, UI_DASH);
    }
    sbuf_puts(b, "</td>");
    if (replica && n->lag_seconds >= 0.0)
        sbuf_printf(b, "<td class=\"num%s\">%.1f s</td>",
                    n->lag_seconds > UI_LAG_BAD_S    ? " bad"
                    : n->lag_seconds > UI_LAG_WARN_S ? " warn"
                                                     : "",
                    n->lag_seconds);
    else
        sbuf_puts(b, "<td class=\"num\">" UI_DASH "</td>");

    render_memory_cell(b, n);

    /* fragmentation, clients */
    if (n->mem_fragmentation_ratio >= 0.0)
        sbuf_printf(b, "<td class=\"num\">%.2f</td>", n->mem_fragmentation_ratio);
    else
        sbuf_puts(b, "<td class=\"num\">" UI_DASH "</td>");
    sbuf_puts(b, "<td class=\"num\">");
    put_int(b, n->connected_clients);
    sbuf_puts(b, "</td>");

    render_persistence_cell(b, n, now_ms);

    /* priority (0 = never promoted), version */
    if (n->priority == 0)
        sbuf_puts(b, "<td class=\"num\" title=\"replica-priority 0: never promoted\">0</td>");
    else {
        sbuf_puts(b, "<td class=\"num\">");
        put_int(b, n->priority);
        sbuf_puts(b, "</td>");
    }
    sbuf_puts(b, "<td>");
    put_text(b, n->redis_version);
    sbuf_puts(b, "</td></tr>\n");
}

static void render_nodes(sbuf *b, const cluster_snap *c, int64_t now_ms)
{
    int i;

    sbuf_puts(b, "<h3>Nodes</h3>\n<div class=\"scroll\"><table class=\"nodes\"><thead><tr>"
                 "<th>node</th><th>role</th><th>state</th><th>link</th><th>replicates from</th>"
                 "<th class=\"num\">lag</th><th class=\"num\">lag s</th><th>memory</th>"
                 "<th class=\"num\" title=\"mem_fragmentation_ratio\">frag</th>"
                 "<th class=\"num\">clients</th><th>persistence</th>"
                 "<th class=\"num\" title=\"replica-priority\">prio</th><th>version</th>"
                 "</tr></thead><tbody>\n");
    if (c->nnodes == 0)
        sbuf_puts(b, "<tr><td colspan=\"13\" class=\"empty\">no node known yet</td></tr>\n");
    for (i = 0; i < c->nnodes; i++)
        render_node_row(b, &c->nodes[i], c->master, now_ms);
    sbuf_puts(b, "</tbody></table></div>\n");
}

/* ---------------------------------------------------------------------------
 * Sentinels
 * ------------------------------------------------------------------------ */

/* One row of the Sentinels table; the master it sees is flagged when it is not
 * the cluster's (majority) master. */
static void render_sentinel_row(sbuf *b, const snap_sentinel *s, const cluster_snap *c,
                                int64_t now_ms)
{
    const char *fcls = "";

    sbuf_printf(b, "<tr class=\"sentinel%s\"><td>", s->up ? "" : " is-down");
    put_addr(b, s->addr);
    sbuf_puts(b, "</td><td class=\"state\">");
    if (s->up) {
        sbuf_puts(b, "<span class=\"good\">up</span>");
    } else {
        sbuf_puts(b, "<span class=\"bad\">down</span>");
        if (s->error[0] != '\0') {
            sbuf_puts(b, " <span class=\"err\">");
            sbuf_html(b, s->error);
            sbuf_puts(b, "</span>");
        }
        if (s->last_ok_ms > 0) {
            sbuf_puts(b, " <span class=\"muted\">last ok ");
            put_ago(b, (now_ms - s->last_ok_ms) / 1000);
            sbuf_puts(b, "</span>");
        }
    }
    sbuf_puts(b, "</td>");

    /* its flags for the master: o_down is the emergency, s_down the warning */
    if (strstr(s->flags, "o_down"))
        fcls = " class=\"bad\"";
    else if (strstr(s->flags, "s_down") || strstr(s->flags, "disconnected"))
        fcls = " class=\"warn\"";
    sbuf_printf(b, "<td%s>", fcls);
    put_text(b, s->flags);
    sbuf_puts(b, "</td>");

    if (s->sees_master[0] != '\0' && c->master[0] != '\0' && strcmp(s->sees_master, c->master) != 0)
        sbuf_puts(b, "<td class=\"bad\" title=\"differs from the cluster's master\">");
    else
        sbuf_puts(b, "<td>");
    put_addr(b, s->sees_master);
    sbuf_puts(b, "</td>");

    if (s->quorum >= 0 && c->quorum_configured > 0 && s->quorum != c->quorum_configured)
        sbuf_puts(b, "<td class=\"num warn\" title=\"differs from the other Sentinels\">");
    else
        sbuf_puts(b, "<td class=\"num\">");
    put_int(b, s->quorum);
    sbuf_puts(b, "</td>");

    sbuf_puts(b, s->failover_in_progress > 0 ? "<td><span class=\"bad\">in progress</span></td>"
                                             : "<td>no</td>");
    sbuf_puts(b, "<td>");
    put_text(b, s->redis_version);
    sbuf_puts(b, "</td></tr>\n");
}

static void render_sentinels(sbuf *b, const cluster_snap *c, int64_t now_ms)
{
    int i;

    sbuf_puts(b, "<h3>Sentinels</h3>\n<div class=\"scroll\"><table class=\"sentinels\"><thead><tr>"
                 "<th>sentinel</th><th>state</th><th>flags</th><th>sees master</th>"
                 "<th class=\"num\">quorum</th><th>failover</th><th>version</th>"
                 "</tr></thead><tbody>\n");
    if (c->nsentinels == 0)
        sbuf_puts(b, "<tr><td colspan=\"7\" class=\"empty\">no Sentinel known</td></tr>\n");
    for (i = 0; i < c->nsentinels; i++)
        render_sentinel_row(b, &c->sentinels[i], c, now_ms);
    sbuf_puts(b, "</tbody></table></div>\n");
}

/* ---------------------------------------------------------------------------
 * Problems and events
 * ------------------------------------------------------------------------ */

/* The problems list, critical first, then warnings, then the rest. */
static void render_problems(sbuf *b, const cluster_snap *c)
{
    static const char *const order[] = {"critical", "warning", NULL};
    int pass, i;

    if (c->nproblems == 0) return;
    sbuf_puts(b, "<ul class=\"problems\">\n");
    for (pass = 0; pass < 3; pass++) {
        for (i = 0; i < c->nproblems; i++) {
            const snap_problem *p = &c->problems[i];
            const char *sev = severity_class(p->severity);
            int mine = order[pass] ? strcmp(sev, order[pass]) == 0
                                   : strcmp(sev, "critical") != 0 && strcmp(sev, "warning") != 0;
            if (!mine) continue;
            sbuf_printf(b, "<li class=\"sev-%s\">", sev);
            put_severity_badge(b, p->severity);
            if (p->node[0] != '\0') {
                sbuf_puts(b, " ");
                put_addr(b, p->node);
            }
            sbuf_puts(b, " ");
            sbuf_html(b, p->message);
            sbuf_puts(b, "</li>\n");
        }
    }
    sbuf_puts(b, "</ul>\n");
}

typedef struct event_ctx {
    sbuf *b;
    int64_t now_ms;
} event_ctx;

/* db_event_fn: one row of the events table. */
static void render_event_row(void *ctx, const hp_event *e)
{
    event_ctx *x = ctx;
    sbuf *b = x->b;

    sbuf_printf(b, "<tr class=\"event sev-%s\"><td class=\"time\" title=\"",
                severity_class(e->severity));
    put_utc(b, e->ts, x->now_ms, 1);
    sbuf_puts(b, "\">");
    put_utc(b, e->ts, x->now_ms, 0);
    sbuf_puts(b, " <span class=\"muted\">");
    put_ago(b, (x->now_ms - e->ts) / 1000);
    sbuf_puts(b, "</span></td><td>");
    put_severity_badge(b, e->severity);
    sbuf_puts(b, "</td><td class=\"type\" title=\"");
    sbuf_html(b, e->source);
    sbuf_puts(b, "\">");
    put_text(b, e->type);
    sbuf_puts(b, "</td><td>");
    put_addr(b, e->node);
    sbuf_puts(b, "</td><td class=\"msg\">");
    sbuf_html(b, e->message);
    sbuf_puts(b, "</td></tr>\n");
}

/* The latest UI_EVENTS events of the cluster, newest first, from the database
 * (read-only connection; a failing database costs the table, not the page). */
static void render_events(sbuf *b, struct db *d, const cluster_snap *c, int64_t now_ms)
{
    event_query q;
    event_ctx x;
    int n = -1;

    memset(&q, 0, sizeof q);
    q.cluster = c->name;
    q.limit = UI_EVENTS;
    x.b = b;
    x.now_ms = now_ms;

    sbuf_puts(b, "<h3>Latest events</h3>\n<div class=\"scroll\"><table class=\"events\"><thead><tr>"
                 "<th>time (UTC)</th><th>severity</th><th>type</th><th>node</th><th>message</th>"
                 "</tr></thead><tbody>\n");
    if (d) n = db_query_events(d, &q, render_event_row, &x);
    if (n == 0)
        sbuf_puts(b, "<tr><td colspan=\"5\" class=\"empty\">no events recorded yet</td></tr>\n");
    else if (n < 0)
        sbuf_puts(b, "<tr><td colspan=\"5\" class=\"empty bad\">events unavailable "
                     "(database error)</td></tr>\n");
    sbuf_puts(b, "</tbody></table></div>\n");
}

/* ---------------------------------------------------------------------------
 * Cluster and page
 * ------------------------------------------------------------------------ */

/* One cluster: header facts, problems, nodes, Sentinels, events. Later features
 * (failover/resync buttons, plots) attach to these sections. */
static void render_cluster(sbuf *b, struct db *d, const cluster_snap *c, int64_t now_ms)
{
    const char *st = status_class(c->status);

    sbuf_printf(b, "<section class=\"cluster st-%s\" data-cluster=\"", st);
    sbuf_html(b, c->name);
    sbuf_puts(b, "\">\n<header class=\"cluster-head\"><h2>");
    sbuf_html(b, c->name);
    sbuf_puts(b, "</h2>");
    put_status_badge(b, c->status);

    sbuf_puts(b, "<span class=\"fact\"><span class=\"k\">master</span> ");
    if (c->master[0] != '\0')
        put_addr(b, c->master);
    else
        sbuf_puts(b, "<span class=\"bad\">none</span>");
    sbuf_puts(b, "</span>");

    sbuf_puts(b, "<span class=\"fact\" title=\"Sentinels reachable and agreeing on the master / "
                 "configured quorum\"><span class=\"k\">quorum</span> ");
    if (c->quorum_configured > 0)
        sbuf_printf(b, "%d/%d ", c->quorum_reachable, c->quorum_configured);
    else
        sbuf_puts(b, UI_DASH " ");
    sbuf_puts(b, c->quorum_ok ? "<span class=\"badge st-ok\">ok</span>"
                              : "<span class=\"badge st-down\">LOST</span>");
    sbuf_puts(b, "</span>");

    sbuf_puts(b, "<span class=\"fact\"><span class=\"k\">failover</span> ");
    sbuf_puts(b, c->failover_in_progress ? "<span class=\"badge st-degraded\">in progress</span>"
                                         : "no");
    sbuf_puts(b, "</span>");

    sbuf_printf(b, "<span class=\"fact%s\"><span class=\"k\">updated</span> ",
                c->updated_at > 0 && now_ms - c->updated_at > UI_STALE_MS ? " bad" : "");
    if (c->updated_at > 0)
        put_ago(b, (now_ms - c->updated_at) / 1000);
    else
        sbuf_puts(b, UI_DASH);
    sbuf_puts(b, "</span></header>\n");

    render_problems(b, c);
    render_nodes(b, c, now_ms);
    render_sentinels(b, c, now_ms);
    render_events(b, d, c, now_ms);
    sbuf_puts(b, "</section>\n");
}

/* The summary line on top. data-worst (a fixed word) lets the page put the
 * worst status into the window title. */
static void render_overview(sbuf *b, const topo_snap *t, int64_t now_ms)
{
    int i, down = 0, degraded = 0, ok = 0, other = 0;
    const char *worst;

    for (i = 0; i < t->nclusters; i++) {
        const char *st = status_class(t->clusters[i]->status);
        if (strcmp(st, "down") == 0)
            down++;
        else if (strcmp(st, "degraded") == 0)
            degraded++;
        else if (strcmp(st, "ok") == 0)
            ok++;
        else
            other++;
    }
    worst = down ? "down" : degraded ? "degraded" : other || t->nclusters == 0 ? "unknown" : "ok";

    sbuf_printf(b, "<div class=\"overview\" data-worst=\"%s\">", worst);
    sbuf_printf(b, "<span>%d cluster%s</span>", t->nclusters, t->nclusters == 1 ? "" : "s");
    if (down) sbuf_printf(b, " <span class=\"badge st-down\">%d down</span>", down);
    if (degraded) sbuf_printf(b, " <span class=\"badge st-degraded\">%d degraded</span>", degraded);
    if (ok) sbuf_printf(b, " <span class=\"badge st-ok\">%d ok</span>", ok);
    if (other) sbuf_printf(b, " <span class=\"badge st-unknown\">%d unknown</span>", other);
    if (t->built_at > 0) {
        sbuf_puts(b, " <span class=\"muted\">snapshot ");
        put_utc(b, t->built_at, now_ms, 0);
        sbuf_puts(b, " UTC</span>");
    }
    sbuf_puts(b, "</div>\n");
}

int ui_clusters(hreq *r)
{
    sbuf b = SBUF_INIT;
    topo_snap *t = topo_acquire();
    struct db *d = r->app ? r->app->db : NULL;
    int64_t now_ms = hp_now_ms();
    int status, i;

    if (!t || t->nclusters == 0) {
        sbuf_puts(&b,
                  "<div class=\"overview\" data-worst=\"unknown\"></div>\n"
                  "<div class=\"waiting\"><p><strong>Waiting for the first poll of the "
                  "Sentinels\xe2\x80\xa6</strong></p><p>This page refreshes by itself. If "
                  "nothing shows up within a few seconds, check that hapanel can reach the "
                  "Sentinels (REDIS_SENTINEL_HOSTS) and that they monitor a master.</p></div>\n");
    } else {
        render_overview(&b, t, now_ms);
        for (i = 0; i < t->nclusters; i++)
            render_cluster(&b, d, t->clusters[i], now_ms);
    }

    if (sbuf_failed(&b)) {
        status = http_error(r, 500, "internal", "out of memory rendering the dashboard");
        goto out;
    }
    status = http_send(r, 200, "text/html; charset=utf-8", b.buf ? b.buf : "", b.len);
out:
    if (t) topo_release(t);
    sbuf_release(&b);
    return status;
}
