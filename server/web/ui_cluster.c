/* ui_cluster.c — a cluster's active alerts and backups, as the cluster list
 * draws them (see ui_internal.h). */
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

#include "db/maintenance.h"
#include "core/banned.h" /* last: after every system header */

/* ---------------------------------------------------------------------------
 * Maintenance
 * ------------------------------------------------------------------------ */

void ui__render_maintenance(sbuf *b, struct db *d, const cluster_snap *c, int64_t now_ms, int busy)
{
    hp_maint m;
    int64_t left;
    char until[16];

    if (!d || db_maintenance_open(d, c->name, &m) != 1) {
        sbuf_puts(b, "<button type=\"button\" class=\"act\" data-act=\"maintenance\" "
                     "data-needs=\"operator\"");
        ui__put_attr(b, "data-cluster", c->name);
        sbuf_puts(b, busy ? " disabled title=\"a job is running on this cluster\""
                          : " title=\"hold back automatic failover for a while\"");
        sbuf_puts(b, ">maintenance\xe2\x80\xa6</button>");
        return;
    }
    left = (m.until - now_ms) / 1000;
    if (left < 0) left = 0;
    {
        time_t t = (time_t)(m.until / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(until, sizeof(until), "%H:%M UTC", &tm);
    }
    sbuf_puts(b, "<span class=\"fact maint\"><span class=\"badge st-degraded\" title=\"");
    sbuf_printf(b, "no automatic failover until %s (replica-priority 0 on every replica)", until);
    if (m.reason[0]) {
        sbuf_puts(b, ": ");
        sbuf_html(b, m.reason);
    }
    sbuf_printf(b, "\">maintenance%s, %lldm %02llds left</span> ",
                strcmp(m.state, "active") ? " (starting)" : "", (long long)(left / 60),
                (long long)(left % 60));
    sbuf_puts(b, "<button type=\"button\" class=\"act\" data-act=\"end-maintenance\" "
                 "data-needs=\"operator\"");
    ui__put_attr(b, "data-cluster", c->name);
    ui__put_attr(b, "data-until", until);
    sbuf_puts(b, busy ? " disabled title=\"a job is running on this cluster\""
                      : " title=\"put the replicas' priorities back now\"");
    sbuf_puts(b, ">end maintenance</button></span>");
}

/* ---------------------------------------------------------------------------
 * Alerts
 * ------------------------------------------------------------------------ */

/* "acked by X 3m ago: “comment”" (the time as a tooltip), or nothing. */
void ui__put_ack(sbuf *b, const alert_row *a, int64_t now_ms)
{
    if (a->acked_by[0] == '\0') return;
    sbuf_puts(b, "<span class=\"acked\" title=\"acknowledged ");
    ui__put_utc(b, a->acked_at, now_ms, 1);
    sbuf_puts(b, "\">acked by ");
    sbuf_html(b, a->acked_by);
    if (a->acked_at > 0) {
        sbuf_puts(b, " ");
        ui__put_ago(b, (now_ms - a->acked_at) / 1000);
    }
    if (a->ack_comment[0] != '\0') {
        sbuf_puts(b, ": <span class=\"reason\">\xe2\x80\x9c");
        sbuf_html(b, a->ack_comment);
        sbuf_puts(b, "\xe2\x80\x9d</span>");
    }
    sbuf_puts(b, "</span>");
}

typedef struct alerts_ctx {
    sbuf by_sev[3]; /* critical, warning, the rest: rendered apart, shown in that order */
    int64_t now_ms;
    int n; /* rows seen (all counted, UI_ALERTS rendered) */
} alerts_ctx;

/* db_alert_fn: one active alert of the cluster's strip, with its ack button. */
static void render_alert_item(void *ctx, const alert_row *a)
{
    alerts_ctx *x = ctx;
    const char *sev = ui__severity_class(a->severity);
    sbuf *b = &x->by_sev[strcmp(sev, "critical") == 0 ? 0 : strcmp(sev, "warning") == 0 ? 1 : 2];

    if (x->n++ >= UI_ALERTS) return;
    sbuf_printf(b, "<li class=\"alert sev-%s%s\">", sev, a->acked_by[0] ? " is-acked" : "");
    ui__put_severity_badge(b, a->severity);
    sbuf_puts(b, " <span class=\"rule\">");
    ui__put_text(b, a->rule);
    sbuf_puts(b, "</span>");
    if (a->node[0] != '\0') {
        sbuf_puts(b, " ");
        ui__put_addr(b, a->node);
    }
    sbuf_puts(b, " <span class=\"amsg\">");
    sbuf_html(b, a->message);
    sbuf_puts(b, "</span> <span class=\"muted since\" title=\"condition since ");
    ui__put_utc(b, a->started_at, x->now_ms, 1);
    if (a->fired_at > a->started_at) {
        sbuf_puts(b, "; fired ");
        ui__put_utc(b, a->fired_at, x->now_ms, 1);
        sbuf_puts(b, ", after ");
        ui__put_duration(b, a->fired_at - a->started_at);
    }
    sbuf_puts(b, "\">since ");
    ui__put_utc(b, a->started_at, x->now_ms, 0);
    sbuf_puts(b, " (");
    ui__put_ago(b, (x->now_ms - a->started_at) / 1000);
    sbuf_puts(b, ")</span> ");
    ui__put_ack(b, a, x->now_ms);
    sbuf_printf(b,
                " <button type=\"button\" class=\"act\" data-act=\"ack\" data-needs=\"operator\" "
                "data-alert=\"%lld\"",
                (long long)a->id);
    ui__put_attr(b, "data-cluster", a->cluster);
    ui__put_attr(b, "data-rule", a->rule);
    ui__put_attr(b, "data-node", a->node);
    ui__put_attr(b, "data-severity", a->severity);
    ui__put_attr(b, "data-message", a->message);
    ui__put_attr(b, "data-acked-by", a->acked_by);
    ui__put_attr(b, "data-comment", a->ack_comment);
    sbuf_printf(b, " title=\"%s\">%s\xe2\x80\xa6</button></li>\n",
                a->acked_by[0] ? "acknowledged already; acknowledge again with a new comment"
                               : "acknowledge with a comment: records who and when",
                a->acked_by[0] ? "re-ack" : "ack");
}

/* The strip of the cluster's active alerts (critical first, then warnings,
 * each newest first), or nothing when there is none. */
void ui__render_alert_strip(sbuf *b, struct db *d, const cluster_snap *c, int64_t now_ms)
{
    alerts_ctx x;
    int i, n;

    if (!d) return;
    memset(&x, 0, sizeof x);
    for (i = 0; i < 3; i++)
        x.by_sev[i] = (sbuf)SBUF_INIT;
    x.now_ms = now_ms;
    n = db_recent_alerts(d, c->name, UI_ALERTS_COUNT, render_alert_item, &x);
    if (n < 0) {
        sbuf_puts(b, "<div class=\"alertstrip\"><p class=\"bad\">alerts unavailable (database "
                     "error)</p></div>\n");
    } else if (n > 0) {
        sbuf_printf(b,
                    "<div class=\"alertstrip\" data-alerts=\"%d\"><h3>Active alerts "
                    "<span class=\"count\">%d%s</span></h3>\n<ul class=\"alerts\">\n",
                    n, n, n >= UI_ALERTS_COUNT ? "+" : "");
        for (i = 0; i < 3; i++)
            if (x.by_sev[i].len) sbuf_append(b, x.by_sev[i].buf, x.by_sev[i].len);
        if (n > UI_ALERTS)
            sbuf_printf(b,
                        "<li class=\"more muted\">%d more: GET /api/v1/alerts?state=active"
                        "</li>\n",
                        n - UI_ALERTS);
        sbuf_puts(b, "</ul></div>\n");
    }
    for (i = 0; i < 3; i++) {
        if (sbuf_failed(&x.by_sev[i])) b->failed = 1;
        sbuf_release(&x.by_sev[i]);
    }
}

/* ---------------------------------------------------------------------------
 * Backups
 * ------------------------------------------------------------------------ */

/* The node a backup would stream from: the healthiest replica (up, link up,
 * not syncing, least lag), else the master when it is up. A light copy of the
 * backup recipe's choice; the recipe decides. Returns NULL when there is none. */
static const char *backup_source(const cluster_snap *c)
{
    const snap_node *n = policy_backup_source(c);
    return n ? n->addr : NULL;
}

/* The first UI_SHA_SHORT hex digits of a sha256, the whole in the tooltip. */
void ui__put_sha(sbuf *b, const char *sha)
{
    char head[UI_SHA_SHORT + 1];

    if (sha[0] == '\0') {
        sbuf_puts(b, UI_DASH);
        return;
    }
    hp_strlcpy(head, sha, sizeof head);
    sbuf_puts(b, "<code class=\"sha\" title=\"sha256 ");
    sbuf_html(b, sha);
    sbuf_puts(b, "\">");
    sbuf_html(b, head);
    if (strlen(sha) > UI_SHA_SHORT) sbuf_puts(b, "\xe2\x80\xa6");
    sbuf_puts(b, "</code>");
}

/* A backup's verification: the recipe checks the RDB header always, and the
 * CRC64 at the end when the file carries one (verified). */
void ui__put_verified(sbuf *b, int verified)
{
    if (verified)
        sbuf_puts(b, "<span class=\"badge bk-verified\" title=\"RDB header and CRC64 "
                     "checked\">verified</span>");
    else
        sbuf_puts(b, "<span class=\"badge bk-header\" title=\"RDB header checked; the file "
                     "has no CRC64 to check\">header only</span>");
}

/* The download button: the page's script fetches the file with the token in
 * the Authorization header and saves it, so the token never goes in a URL. */
void ui__put_download_button(sbuf *b, int64_t id)
{
    sbuf_printf(b,
                "<button type=\"button\" class=\"dl\" data-backup=\"%lld\" title=\"download "
                "backup #%lld (the RDB file)\">download</button>",
                (long long)id, (long long)id);
}

/* Item 6: where the backup's off-site copy is, beside its check. Texts
 * from the store (the error) are escaped; they never hold a secret. */
static void put_remote(sbuf *b, const hp_backup *k, int64_t now_ms)
{
    const char *st = k->remote_state;
    if (!st[0]) return;
    sbuf_puts(b, " <span class=\"badge bk-remote bk-remote-");
    sbuf_html(b, st);
    sbuf_puts(b, "\" title=\"");
    if (!strcmp(st, "uploaded")) {
        sbuf_puts(b, "off-site copy ");
        sbuf_html(b, k->remote_key);
        sbuf_puts(b, ", uploaded ");
        ui__put_utc(b, k->remote_uploaded_at, now_ms, 1);
        sbuf_puts(b, "\">off-site</span>");
        return;
    }
    if (!strcmp(st, "pending")) {
        if (k->remote_attempts > 0) sbuf_printf(b, "attempt %d failed: ", k->remote_attempts);
        sbuf_html(b, k->remote_error[0] ? k->remote_error : "the upload is queued");
        sbuf_puts(b, "\">upload pending</span>");
    } else if (!strcmp(st, "failed")) {
        sbuf_printf(b, "failed after %d attempts: ", k->remote_attempts);
        sbuf_html(b, k->remote_error);
        sbuf_puts(b, "\">upload failed</span>");
    } else {
        sbuf_puts(b, "the off-site copy ");
        sbuf_html(b, k->remote_key);
        sbuf_puts(b, !strcmp(st, "deleting") ? " is being deleted (retention)"
                                             : " was deleted (retention)");
        if (k->remote_error[0]) {
            sbuf_puts(b, "; last attempt: ");
            sbuf_html(b, k->remote_error);
        }
        sbuf_puts(b, "\">off-site ");
        sbuf_html(b, st);
        sbuf_puts(b, "</span>");
    }
}

/* Item 7: the backup's key figures and its last restore check, beside its
 * verification. The failure reason comes from a scratch server's log or the
 * catalogue: escaped. */
static void put_restore(sbuf *b, const hp_backup *k, int64_t now_ms)
{
    if (k->keys >= 0) {
        sbuf_printf(b,
                    "<div class=\"muted bk-keys\" title=\"counted in the file by the RDB "
                    "walker%s",
                    k->walk_error[0] ? "; partial: " : "\">");
        if (k->walk_error[0]) {
            sbuf_html(b, k->walk_error);
            sbuf_puts(b, "\">");
        }
        ui__put_int(b, k->keys);
        sbuf_puts(b, " keys, ");
        ui__put_int(b, k->expires);
        sbuf_puts(b, " with a TTL</div>");
    } else if (k->walk_error[0]) {
        sbuf_puts(b, "<div class=\"bad bk-keys\">keys not counted: ");
        sbuf_html(b, k->walk_error);
        sbuf_puts(b, "</div>");
    }
    if (!k->restore_checked_at) return;
    if (k->restore_ok) {
        sbuf_puts(b, "<div class=\"bk-restore ok\" title=\"");
        sbuf_html(b, k->restore_detail);
        sbuf_puts(b, "\">restorable, checked ");
        ui__put_utc(b, k->restore_checked_at, now_ms, 0);
        sbuf_puts(b, "</div>");
    } else {
        sbuf_puts(b, "<div class=\"bk-restore bad\" title=\"checked ");
        ui__put_utc(b, k->restore_checked_at, now_ms, 1);
        sbuf_puts(b, "\">restore check failed: ");
        sbuf_html(b, k->restore_detail);
        sbuf_puts(b, "</div>");
    }
}

typedef struct backups_ctx {
    sbuf *b;
    const cluster_snap *c;
    int64_t now_ms;
    int n; /* rows seen (all counted, UI_BACKUPS rendered) */
} backups_ctx;

/* db_backup_fn: one row of the cluster's backups, with download and delete. */
static void render_backup_row(void *ctx, const hp_backup *k)
{
    backups_ctx *x = ctx;
    sbuf *b = x->b;

    if (x->n++ >= UI_BACKUPS) return;
    sbuf_printf(b, "<tr class=\"backup\" data-backup=\"%lld\"><td class=\"time\" title=\"",
                (long long)k->id);
    ui__put_utc(b, k->created_at, x->now_ms, 1);
    sbuf_puts(b, "\">");
    ui__put_utc(b, k->created_at, x->now_ms, 0);
    sbuf_puts(b, " <span class=\"muted\">");
    ui__put_ago(b, (x->now_ms - k->created_at) / 1000);
    sbuf_puts(b, "</span></td><td>");
    ui__put_addr(b, k->node);
    if (x->c->master[0] != '\0' && strcmp(k->node, x->c->master) == 0)
        sbuf_puts(b, " <span class=\"muted\">(master)</span>");
    sbuf_printf(b, "</td><td class=\"num\" title=\"%lld bytes\">", (long long)k->size_bytes);
    ui__put_bytes(b, k->size_bytes);
    sbuf_puts(b, "</td><td>");
    ui__put_sha(b, k->sha256);
    sbuf_puts(b, "</td><td>");
    ui__put_verified(b, k->verified);
    put_remote(b, k, x->now_ms);  /* item 6 */
    put_restore(b, k, x->now_ms); /* item 7 */
    sbuf_puts(b, "</td><td>");
    if (k->job_id > 0)
        ui__put_job_link(b, k->job_id);
    else
        sbuf_puts(b, "<span class=\"muted\" title=\"not taken by a job\">" UI_DASH "</span>");
    sbuf_puts(b, "</td><td class=\"actions\">");
    ui__put_download_button(b, k->id);
    if (!strcmp(k->remote_state, "failed")) { /* item 6: upload again, behind the dialog */
        sbuf_printf(b,
                    " <button type=\"button\" class=\"act\" data-act=\"upload-backup\" "
                    "data-needs=\"operator\" data-backup=\"%lld\"",
                    (long long)k->id);
        ui__put_attr(b, "data-cluster", k->cluster);
        ui__put_attr(b, "data-key", k->remote_key);
        sbuf_puts(b, " title=\"upload the file to the object store again\">retry "
                     "upload\xe2\x80\xa6</button>");
    }
    /* item 7: load it into a scratch redis-server, behind the dialog */
    sbuf_printf(b,
                " <button type=\"button\" class=\"act\" data-act=\"verify-restore\" "
                "data-needs=\"operator\" data-backup=\"%lld\"",
                (long long)k->id);
    ui__put_attr(b, "data-cluster", k->cluster);
    sbuf_puts(b, " title=\"load the file into a scratch redis-server on the panel's host and "
                 "compare it with its key figures\">verify restore\xe2\x80\xa6</button>");
    sbuf_printf(b,
                " <button type=\"button\" class=\"act\" data-act=\"delete-backup\" "
                "data-needs=\"operator\" data-backup=\"%lld\"",
                (long long)k->id);
    ui__put_attr(b, "data-cluster", k->cluster);
    ui__put_attr(b, "data-node", k->node);
    sbuf_puts(b, " data-created=\"");
    ui__put_utc(b, k->created_at, x->now_ms, 1);
    sbuf_puts(b, "\" data-size=\"");
    ui__put_bytes(b, k->size_bytes);
    sbuf_puts(b, "\" title=\"delete the file, its catalogue entry and its off-site "
                 "copy\">delete\xe2\x80\xa6</button>"
                 "</td></tr>\n");
}

/* The cluster's newest UI_BACKUPS backups and the "back up now" button, which
 * names the node the backup would stream from. backup_job: a backup or BGSAVE
 * job running on the cluster (0 if none). */
void ui__render_backups(sbuf *b, struct db *d, const cluster_snap *c, int64_t now_ms,
                        int64_t backup_job)
{
    const char *src = backup_source(c);
    backups_ctx x;
    int n = -1;

    memset(&x, 0, sizeof x);
    x.b = b;
    x.c = c;
    x.now_ms = now_ms;
    sbuf_puts(b, "<h3>Backups <button type=\"button\" class=\"act\" data-act=\"backup\" "
                 "data-needs=\"operator\"");
    ui__put_attr(b, "data-cluster", c->name);
    ui__put_attr(b, "data-source", src ? src : "");
    sbuf_printf(b, " data-role=\"%s\"",
                src && c->master[0] != '\0' && strcmp(src, c->master) == 0 ? "master" : "replica");
    if (!src)
        sbuf_puts(b, " disabled title=\"no healthy replica and no reachable master to back up "
                     "from\"");
    else if (backup_job > 0)
        sbuf_printf(b, " disabled title=\"backup job #%lld is running on this cluster\"",
                    (long long)backup_job);
    else
        sbuf_puts(b, " title=\"stream an RDB snapshot to the backup directory and verify it\"");
    sbuf_puts(b, ">back up now\xe2\x80\xa6</button>");
    if (backup_job > 0) {
        sbuf_puts(b, " <span class=\"note\">running: ");
        ui__put_job_link(b, backup_job);
        sbuf_puts(b, "</span>");
    }
    sbuf_puts(b, "</h3>\n<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Backups "
                 "table\"><table class=\"backups\"><thead><tr>"
                 "<th>created (UTC)</th><th>source node</th><th class=\"num\">size</th>"
                 "<th>sha256</th><th>check</th><th>job</th><th>actions</th></tr></thead><tbody>\n");
    if (d) n = db_recent_backups(d, c->name, UI_BACKUPS_COUNT, render_backup_row, &x);
    if (n == 0)
        sbuf_puts(b, "<tr><td colspan=\"7\" class=\"empty\">no backup of this cluster yet"
                     "</td></tr>\n");
    else if (n < 0)
        sbuf_puts(b, "<tr><td colspan=\"7\" class=\"empty bad\">backups unavailable "
                     "(database error)</td></tr>\n");
    else if (n > UI_BACKUPS)
        sbuf_printf(b,
                    "<tr><td colspan=\"7\" class=\"empty\">the newest %d of %d%s; "
                    "GET /api/v1/clusters/{name}/backups lists them all</td></tr>\n",
                    UI_BACKUPS, n, n >= UI_BACKUPS_COUNT ? "+" : "");
    sbuf_puts(b, "</tbody></table></div>\n");
}
