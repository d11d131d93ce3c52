/* ui_clusters.c — the cluster list, and the dashboard's HTML fragments as a
 * whole (see ui.h; the other web/ui_*.c files draw the parts). The page (web/index.html)
 * polls GET /ui/clusters every second and swaps the answer in; this module turns
 * the current topology snapshot plus the active alerts, newest backups, latest
 * events and jobs of each cluster into that markup. It also renders one job's
 * progress (GET /ui/jobs/{id}, polled while the job runs; a backup's transfer
 * as a progress bar), the history view (GET /ui/history) and the notification
 * outbox's health (GET /ui/notifications). Action buttons (failover, resync,
 * Sentinel reset, BGSAVE, back up now, delete a backup, ack an alert) only
 * carry data-* attributes: the page's script opens a confirmation dialog that
 * lives outside the refreshed fragment and calls the REST API, so no write goes
 * through this module; a download button likewise only names the backup, and
 * the script fetches it with the token in a header. It never talks to Redis
 * and holds no state between requests. Every
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
 * recent jobs, events. */
void ui__render_cluster(sbuf *b, struct db *d, const cluster_snap *c, int64_t now_ms)
{
    const char *st = ui__status_class(c->status);
    sbuf jobs = SBUF_INIT;
    jobs_ctx act;
    int64_t active;

    ui__render_recent_jobs(&jobs, d, c, now_ms, &act);
    active = act.active_id;

    sbuf_printf(b, "<section class=\"cluster st-%s\" data-cluster=\"", st);
    sbuf_html(b, c->name);
    sbuf_puts(b, "\">\n<header class=\"cluster-head\"><h2>");
    sbuf_html(b, c->name);
    sbuf_puts(b, "</h2>");
    ui__put_status_badge(b, c->status);

    sbuf_puts(b, "<span class=\"fact\"><span class=\"k\">master</span> ");
    if (c->master[0] != '\0')
        ui__put_addr(b, c->master);
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
        ui__put_ago(b, (now_ms - c->updated_at) / 1000);
    else
        sbuf_puts(b, UI_DASH);
    sbuf_puts(b, "</span>");

    if (active > 0) {
        sbuf_puts(b, "<span class=\"fact\"><span class=\"k\">job</span> ");
        ui__put_job_link(b, active);
        sbuf_puts(b, " <span class=\"badge job-running\">active</span></span>");
    }
    sbuf_puts(b, "<span class=\"spacer\"></span><button type=\"button\" class=\"act act-main\" "
                 "data-act=\"failover\"");
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
    ui__render_nodes(b, c, now_ms, act.active_backup);
    ui__render_sentinels(b, c, now_ms);
    ui__render_backups(b, d, c, now_ms, act.active_backup);
    if (jobs.len) sbuf_append(b, jobs.buf, jobs.len);
    if (sbuf_failed(&jobs)) b->failed = 1; /* the failure sticks, as in sbuf */
    sbuf_release(&jobs);
    ui__render_events(b, d, c, now_ms);
    sbuf_puts(b, "</section>\n");
}

/* The summary line on top. data-worst (a fixed word) lets the page put the
 * worst status into the window title. */
static void render_overview(sbuf *b, const topo_snap *t, int64_t now_ms)
{
    int i, down = 0, degraded = 0, ok = 0, other = 0;
    const char *worst;

    for (i = 0; i < t->nclusters; i++) {
        const char *st = ui__status_class(t->clusters[i]->status);
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
        ui__put_utc(b, t->built_at, now_ms, 0);
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
            ui__render_cluster(&b, d, t->clusters[i], now_ms);
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
