/* ui_clusters.c — the cluster list, and the dashboard's HTML fragments as a
 * whole (see ui.h; the other web/ui_*.c files draw the parts). The page (web/index.html)
 * polls GET /ui/clusters every second and swaps the answer in; this module turns
 * the current topology snapshot plus the active alerts, newest backups, latest
 * events and jobs of each cluster into that markup. It also renders one job's
 * progress (GET /ui/jobs/{id}, polled while the job runs; a backup's transfer
 * as a progress bar), the history view (GET /ui/history) and the notification
 * outbox's health (GET /ui/notifications). Action buttons (failover, resync,
 * Sentinel reset, BGSAVE, back up now, delete a backup, ack an alert, run a
 * failover drill) only carry data-* attributes: the page's script opens a
 * confirmation dialog that
 * lives outside the refreshed fragment and calls the REST API, so no write goes
 * through this module; a download button likewise only names the backup, and
 * the script fetches it with the token in a header. It never talks to Redis;
 * the one state it keeps is the cache of rendered pages (see ui_clusters).
 * When the clusters span several Sentinel groups (issue 15: cluster_snap's
 * group_name), the list is drawn by group: a header row per group in the
 * compact table, a div with a heading per group otherwise, and every row and
 * section carries data-group. The page is one render shared by every viewer,
 * so the filter (by name or group) runs in the browser (web/app.js) on those
 * attributes.
 * Every
 * string that comes from Redis, a Sentinel, the configuration or the database
 * goes through sbuf_html(); class names are only ever chosen from fixed lists
 * (ui__status_class, ui__severity_class, ui__job_state_class, ...; literal words for
 * alerts, backups and the outbox), never copied from data, so a hostile master
 * name or event message can neither run script nor restyle the page. Numbers
 * that are -1 are unknown and render as an en dash. Times are shown as an age
 * ("5s ago") with the UTC time beside it or in a tooltip, since the server's
 * zone and the viewer's may differ. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "web/ui_internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/banned.h" /* last: after every system header */

/* ---------------------------------------------------------------------------
 * Cluster and page
 * ------------------------------------------------------------------------ */

/* One cluster: header facts and the failover button, the active alerts (with
 * ack buttons), problems, nodes (with resync and BGSAVE buttons), Sentinels
 * (with the reset button), backups (with "back up now", download and delete),
 * the failover drills (with "run failover drill"), recent jobs, events. */
void ui__render_cluster(sbuf *b, struct db *d, const cluster_snap *c, const config *cfg,
                        int64_t now_ms)
{
    sbuf jobs = SBUF_INIT;
    jobs_ctx act;
    ui_alerts al;
    const char *st;
    int64_t active;

    ui__alert_tally(d, c->name, &al);
    st = ui__shown_status(c, &al);
    ui__render_recent_jobs(&jobs, d, c, now_ms, &act);
    active = act.active_id;

    sbuf_printf(b, "<section class=\"cluster st-%s\" data-cluster=\"", st);
    sbuf_html(b, c->name);
    sbuf_puts(b, "\"");
    ui__put_attr(b, "data-group", c->group_name);
    sbuf_puts(b, ">\n<header class=\"cluster-head\"><h2>");
    sbuf_html(b, c->name);
    sbuf_puts(b, "</h2>");
    if (strcmp(st, ui__status_class(c->status)) != 0) {
        /* the topology is fine, its alerts are not: not green */
        sbuf_printf(b,
                    "<span class=\"badge st-%s\" title=\"the topology is %s; %d alert%s "
                    "active (%d critical, %d warning)\">%s</span>",
                    st, ui__status_class(c->status), al.n, al.n == 1 ? " is" : "s are", al.critical,
                    al.warning, st);
    } else {
        ui__put_status_badge(b, c->status);
    }

    sbuf_puts(b, "<span class=\"fact\"><span class=\"k\">master</span> ");
    if (c->master[0] != '\0')
        ui__put_addr(b, c->master);
    else
        sbuf_puts(b, "<span class=\"bad\">none</span>");
    sbuf_puts(b, "</span>");

    sbuf_puts(b,
              "<span class=\"fact quorum\" title=\"Sentinels reachable and agreeing on the "
              "master, of those known; the quorum configured\"><span class=\"k\">quorum</span> ");
    ui__put_quorum(b, c);
    sbuf_puts(b, " ");
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
        ui__put_ago(b, (now_ms - c->updated_at) / 1000);
    else
        sbuf_puts(b, UI_DASH);
    sbuf_puts(b, "</span>");

    if (active > 0) {
        sbuf_puts(b, "<span class=\"fact\"><span class=\"k\">job</span> ");
        ui__put_job_link(b, active);
        sbuf_puts(b, " <span class=\"badge job-running\">active</span></span>");
    }
    ui__render_maintenance(b, d, c, now_ms, act.active_topo > 0);
    sbuf_puts(b, "<span class=\"spacer\"></span>");
    ui__put_charts_button(b, c->name);
    sbuf_puts(b, "<button type=\"button\" class=\"act act-main\" data-act=\"failover\" "
                 "data-needs=\"operator\"");
    ui__put_attr(b, "data-cluster", c->name);
    ui__put_attr(b, "data-master", c->master);
    if (c->failover_in_progress)
        sbuf_puts(b, " disabled title=\"a Sentinel failover is in progress\"");
    else if (act.active_topo > 0)
        sbuf_puts(b, " disabled title=\"a job is running on this cluster\"");
    else
        sbuf_puts(b, " title=\"graceful switchover or forced failover\"");
    sbuf_puts(b, ">failover\xe2\x80\xa6</button></header>\n");

    ui__render_alert_strip(b, d, c, now_ms);
    ui__render_problems(b, c);
    ui__render_topology(b, c, now_ms);
    ui__render_nodes(b, c, now_ms, act.active_backup);
    ui__render_sentinels(b, c, now_ms);
    ui__render_lint(b, c);
    ui__render_backups(b, d, c, now_ms, act.active_backup);
    ui__render_drills(b, d, c, cfg, now_ms, act.active_topo > 0);
    if (jobs.len) sbuf_append(b, jobs.buf, jobs.len);
    if (sbuf_failed(&jobs)) b->failed = 1; /* the failure sticks, as in sbuf */
    sbuf_release(&jobs);
    ui__render_event_list(b, d, c, now_ms);
    sbuf_puts(b, "</section>\n");
}

/* ---------------------------------------------------------------------------
 * The compact list: one row per cluster, problems first, for many clusters
 * ------------------------------------------------------------------------ */

typedef struct crow {
    const cluster_snap *c;
    const char *shown; /* the status shown (degraded while an alert is active) */
    int rank, alerts;
} crow;

/* A Sentinel group's run of rows once they are sorted by group, and what its
 * header says. */
typedef struct cgroup {
    const char *name;
    int first, n;
    int down, degraded, ok, other;
} cgroup;

static int status_rank(const char *st)
{
    return !strcmp(st, "down") ? 0 : !strcmp(st, "degraded") ? 1 : !strcmp(st, "ok") ? 3 : 2;
}

/* Problems first: down, degraded, unknown, then ok; within a status the one
 * with more active alerts, then by name. */
static int crow_order(const void *a, const void *b)
{
    const crow *x = a, *y = b;
    if (x->rank != y->rank) return x->rank - y->rank;
    if (x->alerts != y->alerts) return y->alerts - x->alerts;
    return strcmp(x->c->name, y->c->name);
}

/* With several groups: by group name, then as crow_order (the compact list)
 * or by name (the sections, as the snapshot has them). */
static int crow_order_grouped(const void *a, const void *b)
{
    const crow *x = a, *y = b;
    int g = strcmp(x->c->group_name, y->c->group_name);
    return g ? g : crow_order(a, b);
}

static int crow_order_group_name(const void *a, const void *b)
{
    const crow *x = a, *y = b;
    int g = strcmp(x->c->group_name, y->c->group_name);
    return g ? g : strcmp(x->c->name, y->c->name);
}

/* 1 when the clusters span more than one group name. */
static int several_groups(const topo_snap *t)
{
    int i;
    for (i = 1; i < t->nclusters; i++)
        if (strcmp(t->clusters[i]->group_name, t->clusters[0]->group_name) != 0) return 1;
    return 0;
}

/* The runs of rows (sorted by group) into groups (room for n); returns how
 * many. */
static int find_groups(const crow *rows, int n, cgroup *groups)
{
    int i, ng = 0;
    for (i = 0; i < n; i++) {
        cgroup *g = ng ? &groups[ng - 1] : NULL;
        const char *st = rows[i].shown;
        if (!g || strcmp(g->name, rows[i].c->group_name) != 0) {
            g = &groups[ng++];
            memset(g, 0, sizeof(*g));
            g->name = rows[i].c->group_name;
            g->first = i;
        }
        g->n++;
        if (!strcmp(st, "down"))
            g->down++;
        else if (!strcmp(st, "degraded"))
            g->degraded++;
        else if (!strcmp(st, "ok"))
            g->ok++;
        else
            g->other++;
    }
    return ng;
}

/* "east · 12 clusters · 1 down · 2 degraded": a group's header. */
static void put_group_title(sbuf *b, const cgroup *g)
{
    sbuf_html(b, g->name);
    sbuf_printf(b, " \xc2\xb7 %d cluster%s", g->n, g->n == 1 ? "" : "s");
    if (g->down) sbuf_printf(b, " \xc2\xb7 <span class=\"bad\">%d down</span>", g->down);
    if (g->degraded) sbuf_printf(b, " \xc2\xb7 %d degraded", g->degraded);
    if (g->other) sbuf_printf(b, " \xc2\xb7 %d unknown", g->other);
}

/* The summary line on top (each cluster's status as shown: degraded while
 * an alert is active), and with several groups each group's count. data-worst
 * (a fixed word) lets the page put the worst status into the window title. */
static void render_overview(sbuf *b, const topo_snap *t, const cgroup *groups, int ngroups,
                            int64_t now_ms)
{
    int i, down = 0, degraded = 0, ok = 0, other = 0;
    const char *worst;

    for (i = 0; i < ngroups; i++) {
        down += groups[i].down;
        degraded += groups[i].degraded;
        ok += groups[i].ok;
        other += groups[i].other;
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
        ui__put_utc(b, t->built_at, now_ms, 0);
        sbuf_puts(b, " UTC</span>");
    }
    if (ngroups > 1) {
        sbuf_printf(b, "<span class=\"ogroups\">%d groups:", ngroups);
        for (i = 0; i < ngroups; i++) {
            sbuf_puts(b,
                      i ? "<span class=\"ogroup\"" : " <span class=\"ogroup\""); /* "; " by CSS */
            ui__put_attr(b, "data-group", groups[i].name);
            sbuf_puts(b, ">");
            put_group_title(b, &groups[i]);
            sbuf_puts(b, "</span>");
        }
        sbuf_puts(b, "</span>");
    }
    sbuf_puts(b, "</div>\n");
}

/* 1 when name is one of the open list (names separated by newlines). */
static int is_open(const char *open, const char *name)
{
    size_t n = strlen(name);
    const char *p = open;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !memcmp(p, name, n)) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

static void render_compact_row(sbuf *b, struct db *d, const config *cfg, const crow *w, int open,
                               int64_t now_ms)
{
    const cluster_snap *c = w->c;
    int i, replicas = 0, linked = 0;
    double lag = -1;

    for (i = 0; i < c->nnodes; i++) {
        const snap_node *n = &c->nodes[i];
        if (c->master[0] && !strcmp(n->addr, c->master)) continue;
        replicas++;
        if (n->up && n->link_up == 1) linked++;
        if (n->lag_seconds > lag) lag = n->lag_seconds;
    }
    sbuf_printf(b, "<tr class=\"crow st-%s\" data-cluster=\"", w->shown);
    sbuf_html(b, c->name);
    sbuf_puts(b, "\"");
    ui__put_attr(b, "data-group", c->group_name);
    sbuf_puts(b, "><th scope=\"row\">");
    sbuf_html(b, c->name);
    sbuf_puts(b, "</th><td>");
    if (strcmp(w->shown, ui__status_class(c->status)) != 0)
        sbuf_printf(b,
                    "<span class=\"badge st-%s\" title=\"the topology is %s; alerts are "
                    "active\">%s</span>",
                    w->shown, ui__status_class(c->status), w->shown);
    else
        ui__put_status_badge(b, c->status);
    if (c->failover_in_progress) sbuf_puts(b, " <span class=\"badge st-degraded\">failover</span>");
    sbuf_puts(b, "</td><td>");
    if (c->master[0])
        ui__put_addr(b, c->master);
    else
        sbuf_puts(b, "<span class=\"bad\">none</span>");
    sbuf_printf(b, "</td><td class=\"num%s\">%d of %d up</td>", linked < replicas ? " bad" : "",
                linked, replicas);
    sbuf_printf(b, "<td class=\"%s\">", c->quorum_ok ? "" : "bad");
    ui__put_quorum(b, c);
    sbuf_puts(b, "</td>");
    if (lag >= 0)
        sbuf_printf(b, "<td class=\"num%s\">%.1f s</td>", lag >= UI_LAG_BAD_S ? " bad" : "", lag);
    else
        sbuf_puts(b, "<td class=\"num\">" UI_DASH "</td>");
    if (w->alerts < 0)
        sbuf_puts(b, "<td class=\"num bad\">?</td>");
    else
        sbuf_printf(b, "<td class=\"num%s\">%d</td>", w->alerts ? " bad" : "", w->alerts);
    sbuf_printf(b, "<td class=\"num%s\">",
                c->updated_at > 0 && now_ms - c->updated_at > UI_STALE_MS ? " bad" : "");
    if (c->updated_at > 0)
        ui__put_ago(b, (now_ms - c->updated_at) / 1000);
    else
        sbuf_puts(b, UI_DASH);
    sbuf_printf(b, "</td><td><button type=\"button\" class=\"expand\" aria-expanded=\"%s\"",
                open ? "true" : "false");
    ui__put_attr(b, "data-cluster", c->name);
    sbuf_printf(b, ">%s</button></td></tr>\n", open ? "collapse" : "expand");
    if (open) {
        sbuf_puts(b, "<tr class=\"cexp\"><td colspan=\"9\">\n");
        ui__render_cluster(b, d, c, cfg, now_ms);
        sbuf_puts(b, "</td></tr>\n");
    }
}

/* More than UI_COMPACT_AT clusters: a table of one row each, problems first
 * (rows sorted so already); the clusters named in open are drawn in full
 * under their row. With several groups (ngroups > 1, rows sorted by group
 * first) each group is a tbody headed by a row that names it and counts its
 * clusters, so the page's filter can hide a group whose rows it all hid. */
static void render_compact(sbuf *b, struct db *d, const config *cfg, const crow *rows, int n,
                           const cgroup *groups, int ngroups, const char *open, int64_t now_ms)
{
    int i, g;

    sbuf_puts(
        b, "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Clusters "
           "table\"><table class=\"clist\"><thead><tr><th>cluster</th>"
           "<th>status</th><th>master</th><th class=\"num\" title=\"replicas up with their "
           "link up, of the replicas\">replicas</th><th title=\"Sentinels reachable and agreeing "
           "on the master, of those known; the quorum configured\">quorum</th><th class=\"num\">"
           "max lag</th><th class=\"num\">alerts</th><th class=\"num\">updated</th>"
           "<th><span class=\"vh\">details</span></th></tr></thead>\n");
    if (ngroups < 2) {
        sbuf_puts(b, "<tbody>\n");
        for (i = 0; i < n; i++)
            render_compact_row(b, d, cfg, &rows[i], is_open(open, rows[i].c->name), now_ms);
        sbuf_puts(b, "</tbody>\n");
    }
    for (g = 0; ngroups > 1 && g < ngroups; g++) {
        sbuf_puts(b, "<tbody class=\"gbody\"");
        ui__put_attr(b, "data-group", groups[g].name);
        sbuf_puts(b, "><tr class=\"grow\"");
        ui__put_attr(b, "data-group", groups[g].name);
        sbuf_puts(b, "><th colspan=\"9\" scope=\"rowgroup\">");
        put_group_title(b, &groups[g]);
        sbuf_puts(b, "</th></tr>\n");
        for (i = groups[g].first; i < groups[g].first + groups[g].n; i++)
            render_compact_row(b, d, cfg, &rows[i], is_open(open, rows[i].c->name), now_ms);
        sbuf_puts(b, "</tbody>\n");
    }
    sbuf_puts(b, "</table></div>\n");
}

/* Up to UI_COMPACT_AT clusters: each in full; with several groups, each
 * group's clusters in a div under a heading that names and counts them. */
static void render_sections(sbuf *b, struct db *d, const config *cfg, const crow *rows, int n,
                            const cgroup *groups, int ngroups, int64_t now_ms)
{
    int i, g;

    if (ngroups < 2) {
        for (i = 0; i < n; i++)
            ui__render_cluster(b, d, rows[i].c, cfg, now_ms);
        return;
    }
    for (g = 0; g < ngroups; g++) {
        sbuf_puts(b, "<div class=\"group\"");
        ui__put_attr(b, "data-group", groups[g].name);
        sbuf_puts(b, "><h2 class=\"group-head\">");
        put_group_title(b, &groups[g]);
        sbuf_puts(b, "</h2>\n");
        for (i = groups[g].first; i < groups[g].first + groups[g].n; i++)
            ui__render_cluster(b, d, rows[i].c, cfg, now_ms);
        sbuf_puts(b, "</div>\n");
    }
}

/* ---------------------------------------------------------------------------
 * The page, cached per change
 * ------------------------------------------------------------------------ */

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    size_t i;
    for (i = 0; i < n; i++)
        h = (h ^ c[i]) * 1099511628211ULL;
    return h;
}

static uint64_t mix_str(uint64_t h, const char *s)
{
    return mix(h, s, strlen(s) + 1);
}

/* What of the snapshot changes the page other than its numbers: statuses,
 * masters, roles, links, quorum, failovers, problems, the nodes and
 * Sentinels there are. A snapshot that only moved counters (offsets, lag,
 * memory: every poll does) keeps the page of its second, so those are at
 * most a second old; any change of state renders at once. */
static uint64_t state_key(const topo_snap *t)
{
    uint64_t h = 1469598103934665603ULL;
    int i, k;
    if (!t) return 0;
    h = mix(h, &t->nclusters, sizeof(t->nclusters));
    for (i = 0; i < t->nclusters; i++) {
        const cluster_snap *c = t->clusters[i];
        int v[6] = {c->quorum_configured,    c->quorum_reachable, c->quorum_ok,
                    c->failover_in_progress, c->nproblems,        c->nsentinels};
        h = mix_str(mix_str(mix_str(mix_str(h, c->name), c->group_name), c->status), c->master);
        h = mix(h, v, sizeof(v));
        for (k = 0; k < c->nnodes; k++) {
            const snap_node *n = &c->nodes[k];
            int w[6] = {n->role,    n->sentinel_role,    n->up,
                        n->link_up, n->sync_in_progress, n->rdb_bgsave_in_progress};
            h = mix(mix_str(mix_str(h, n->addr), n->sentinel_flags), w, sizeof(w));
        }
        for (k = 0; k < c->nsentinels; k++) {
            const snap_sentinel *x = &c->sentinels[k];
            h = mix(mix_str(mix_str(mix_str(h, x->addr), x->flags), x->sees_master), &x->up,
                    sizeof(x->up));
        }
        for (k = 0; k < c->nproblems; k++)
            h = mix_str(mix_str(h, c->problems[k].code), c->problems[k].node);
    }
    return h ? h : 1;
}

void ui__render_page(sbuf *b, struct db *d, const config *cfg, const topo_snap *t, const char *open,
                     int64_t now_ms)
{
    crow *rows = NULL;
    cgroup *groups = NULL;
    int i, n, ngroups, compact;

    if (!t || t->nclusters == 0) {
        sbuf_puts(b,
                  "<div class=\"overview\" data-worst=\"unknown\"></div>\n"
                  "<div class=\"waiting\"><p><strong>Waiting for the first poll of the "
                  "Sentinels\xe2\x80\xa6</strong></p><p>This page refreshes by itself. If "
                  "nothing shows up within a few seconds, check that hapanel can reach the "
                  "Sentinels (REDIS_SENTINEL_HOSTS) and that they monitor a master.</p></div>\n");
        return;
    }
    n = t->nclusters;
    rows = calloc((size_t)n, sizeof(*rows));
    groups = calloc((size_t)n, sizeof(*groups));
    if (!rows || !groups) {
        b->failed = 1;
        goto out;
    }
    for (i = 0; i < n; i++) {
        ui_alerts al;
        ui__alert_tally(d, t->clusters[i]->name, &al);
        rows[i].c = t->clusters[i];
        rows[i].shown = ui__shown_status(t->clusters[i], &al);
        rows[i].rank = status_rank(rows[i].shown);
        rows[i].alerts = d ? al.n : -1;
    }
    compact = n > UI_COMPACT_AT;
    if (several_groups(t))
        qsort(rows, (size_t)n, sizeof(*rows), compact ? crow_order_grouped : crow_order_group_name);
    else if (compact)
        qsort(rows, (size_t)n, sizeof(*rows), crow_order);
    ngroups = find_groups(rows, n, groups);

    render_overview(b, t, groups, ngroups, now_ms);
    if (compact)
        render_compact(b, d, cfg, rows, n, groups, ngroups, open, now_ms);
    else
        render_sections(b, d, cfg, rows, n, groups, ngroups, now_ms);
out:
    free(groups);
    free(rows);
}

typedef struct page_in {
    struct db *d;
    const config *cfg; /* the drills' button: NULL, off */
    const topo_snap *t;
    const char *open;
    int64_t now_ms;
} page_in;

static void render_cached(sbuf *b, void *ctx)
{
    const page_in *in = ctx;
    ui__render_page(b, in->d, in->cfg, in->t, in->open, in->now_ms);
}

/* Rendered pages, by the snapshot's state, the history sets, the second (the
 * ages shown) and the open clusters: a hundred dashboards polling the same
 * view cost one render per change or second. */
static ui_cache pages = UI_CACHE_INIT;

uint64_t ui_renders(void)
{
    return ui__cache_renders(&pages);
}

int ui_clusters_live(struct db *d, const config *cfg, uint64_t *stamp, sbuf *out)
{
    topo_snap *t = topo_acquire();
    page_in in = {d, cfg, t, "", hp_now_ms()};
    ui_key key;
    uint64_t st;
    int rc = 0;

    key.a = state_key(t);
    key.b = d ? db_recent_version(d, NULL) : 0;
    key.sec = in.now_ms / 1000;
    key.text = "";
    st = (key.a * 31 + key.b) * 1000003 + (uint64_t)key.sec;
    if (st == 0) st = 1;
    if (st != *stamp) {
        rc = ui__cached(&pages, &key, render_cached, &in, out) < 0 ? -1 : 1;
        if (rc == 1) *stamp = st;
    }
    if (t) topo_release(t);
    return rc;
}

int ui_clusters(hreq *r)
{
    topo_snap *t = topo_acquire();
    struct db *d = r->app ? r->app->db : NULL;
    char open[UI_OPEN_TEXT] = "";
    page_in in = {d, r->app ? r->app->cfg : NULL, t, open, hp_now_ms()};
    ui_key key;
    int status;

    if (http_query(r, "open", open, sizeof(open)) < 0) {
        if (t) topo_release(t);
        return http_error(r, 400, "bad_request", "open: at most %d bytes of cluster names",
                          UI_OPEN_TEXT - 1);
    }
    key.a = state_key(t);
    key.b = d ? db_recent_version(d, NULL) : 0;
    key.sec = in.now_ms / 1000;
    key.text = open;
    status = ui__send_cached(r, &pages, &key, render_cached, &in);
    if (t) topo_release(t);
    return status;
}
