/* ui.c — the dashboard's HTML fragments (see ui.h). The page (web/index.html)
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
 * (status_class, severity_class, job_state_class, ...; literal words for
 * alerts, backups and the outbox), never copied from data, so a hostile master
 * name or event message can neither run script nor restyle the page. Numbers
 * that are -1 are unknown and render as an en dash. Times are shown as an age
 * ("5s ago") with the UTC time beside it or in a tooltip, since the server's
 * zone and the viewer's may differ. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "web/ui.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/db.h"
#include "core/common.h"
#include "core/config.h"
#include "model/event.h"
#include "web/http.h"
#include "model/policy.h"
#include "core/sbuf.h"
#include "model/topology.h"

#define UI_DASH "\xe2\x80\x93" /* en dash: "unknown" */
#define UI_EVENTS 10           /* latest events shown per cluster */
#define UI_JOBS 5              /* latest jobs shown per cluster */
#define UI_HIST_EVENTS 50      /* events per history page (limit= overrides) */
#define UI_HIST_FAILOVERS 20   /* failovers per history page */
#define UI_HIST_ALERTS 20      /* alerts per history page */
#define UI_ALERTS 10           /* active alerts shown per cluster */
#define UI_ALERTS_COUNT 100    /* active alerts counted per cluster */
#define UI_BACKUPS 5           /* newest backups shown per cluster */
#define UI_BACKUPS_COUNT 100   /* backups counted per cluster (polled every second) */
#define UI_NOTIFY_FAILED 5     /* failed notifications listed */
#define UI_NOTIFY_RETRYING 3   /* retrying (pending, attempted) ones listed */
#define UI_NOTIFY_COUNT 1000   /* outbox rows counted per state */
#define UI_NOTIFY_TEXT 240     /* bytes of a message's text shown (all in the title) */
#define UI_SHA_SHORT 12        /* hex digits of a sha256 shown (all in the title) */

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

/* s itself when it is one of allowed (NULL-terminated), else "unknown": CSS
 * class suffixes come from fixed lists, never from data. */
static const char *class_of(const char *s, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcmp(s, *allowed) == 0) return *allowed;
    return "unknown";
}

/* Maps a cluster status to one of a fixed set of CSS class suffixes. */
static const char *status_class(const char *s)
{
    static const char *const allowed[] = {"ok", "degraded", "down", NULL};
    return class_of(s, allowed);
}

/* Maps an event/problem severity to one of a fixed set of CSS class suffixes. */
static const char *severity_class(const char *s)
{
    static const char *const allowed[] = {"info", "warning", "critical", NULL};
    return class_of(s, allowed);
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

/* Maps a job state to one of a fixed set of CSS class suffixes. */
static const char *job_state_class(const char *s)
{
    static const char *const allowed[] = {"queued", "running", "succeeded", "failed", NULL};
    return class_of(s, allowed);
}

/* A job is over once it succeeded or failed; anything else is still polled. */
static int job_finished(const char *state)
{
    return strcmp(state, "succeeded") == 0 || strcmp(state, "failed") == 0;
}

/* A failover's kind and status, mapped to fixed class suffixes. */
static const char *failover_kind_class(const char *s)
{
    static const char *const allowed[] = {"automatic", "forced", "graceful", NULL};
    return class_of(s, allowed);
}

static const char *failover_status_class(const char *s)
{
    static const char *const allowed[] = {"succeeded", "failed", "aborted", NULL};
    if (strcmp(s, "completed_after_restart") == 0) return "succeeded";
    return class_of(s, allowed);
}

/* A badge for a job state or a failover status (both "job-<word>" classes). */
static void put_job_badge(sbuf *b, const char *cls, const char *text)
{
    sbuf_printf(b, "<span class=\"badge job-%s\">", cls);
    put_text(b, text);
    sbuf_puts(b, "</span>");
}

/* ` name="value"` with the value escaped: for data-* attributes that the page's
 * script reads back (cluster names and addresses come from Sentinel). */
static void put_attr(sbuf *b, const char *name, const char *value)
{
    sbuf_printf(b, " %s=\"", name);
    sbuf_html(b, value);
    sbuf_puts(b, "\"");
}

/* A button that opens the page's job panel on job id. */
static void put_job_link(sbuf *b, int64_t id)
{
    sbuf_printf(b,
                "<button type=\"button\" class=\"joblink\" data-job=\"%lld\" "
                "title=\"show job %lld\">#%lld</button>",
                (long long)id, (long long)id, (long long)id);
}

/* A duration: "850 ms", "3.2 s", "4m 05s", "2h 03m"; negative is unknown. */
static void put_duration(sbuf *b, int64_t ms)
{
    if (ms < 0)
        sbuf_puts(b, UI_DASH);
    else if (ms < 1000)
        sbuf_printf(b, "%lld ms", (long long)ms);
    else if (ms < 60000)
        sbuf_printf(b, "%.1f s", (double)ms / 1000.0);
    else if (ms < 3600000)
        sbuf_printf(b, "%lldm %02llds", (long long)(ms / 60000), (long long)(ms / 1000 % 60));
    else
        sbuf_printf(b, "%lldh %02lldm", (long long)(ms / 3600000), (long long)(ms / 60000 % 60));
}

/* A UTC time of day with milliseconds ("12:03:04.123"), for job steps. */
static void put_utc_ms(sbuf *b, int64_t ms)
{
    char tmp[16];
    struct tm tm;
    time_t s = (time_t)(ms / 1000);

    if (ms > 0 && gmtime_r(&s, &tm) && strftime(tmp, sizeof tmp, "%H:%M:%S", &tm) > 0)
        sbuf_printf(b, "%s.%03lld", tmp, (long long)(ms % 1000));
    else
        sbuf_puts(b, UI_DASH);
}

/* ---------------------------------------------------------------------------
 * Nodes
 * ------------------------------------------------------------------------ */

/* Whether a node could be a graceful failover's target, in the words of
 * the one policy (promote.h), shortened ("ok" when it could). */
static const char *candidate_note(const snap_node *n, const char *master)
{
    const char *why;
    if (master[0] != '\0' && strcmp(n->addr, master) == 0) return "master";
    why = policy_promotable(n, master, -1);
    if (!why) return "ok";
    return strncmp(why, "is ", 3) == 0 ? why + 3 : why;
}

/* The Sentinels' flags for a node (s_down, o_down, disconnected, ...), without
 * the ones that only name its role ("master", "slave", and "promoted", which a
 * Sentinel's replica list keeps showing for a while after a failover). */
static void put_notable_flags(sbuf *b, const char *flags)
{
    const char *p = flags;
    int any = 0;

    while (*p) {
        size_t len = strcspn(p, ",");
        int boring = (len == 6 && strncmp(p, "master", 6) == 0) ||
                     (len == 5 && strncmp(p, "slave", 5) == 0) ||
                     (len == 8 && strncmp(p, "promoted", 8) == 0) || len == 0;
        if (!boring) {
            char word[64];
            snprintf(word, sizeof word, "%.*s", (int)(len < sizeof word ? len : sizeof word - 1), p);
            sbuf_puts(b, any ? "," : " <span class=\"flags warn\" title=\"Sentinel flags\">");
            sbuf_html(b, word);
            any = 1;
        }
        p += len;
        if (*p == ',') p++;
    }
    if (any) sbuf_puts(b, "</span>");
}

/* The actions cell of a node row: a resync button for every node but the
 * master, and a BGSAVE button for every node. The buttons only carry data;
 * the page asks for confirmation. backup_job: the id of a backup or BGSAVE job
 * running on the cluster (one at a time per cluster), 0 if none. */
static void render_node_actions(sbuf *b, const snap_node *n, const cluster_snap *c,
                                int64_t backup_job)
{
    const char *why = NULL;
    int is_master = c->master[0] != '\0' && strcmp(n->addr, c->master) == 0;

    sbuf_puts(b, "<td class=\"actions\">");
    if (!is_master) {
        if (!n->up)
            why = "the node is down; a resync needs it up";
        else if (c->master[0] == '\0')
            why = "the cluster has no master to resync from";
        sbuf_puts(b, "<button type=\"button\" class=\"act\" data-act=\"resync\"");
        put_attr(b, "data-cluster", c->name);
        put_attr(b, "data-node", n->addr);
        put_attr(b, "data-master", c->master);
        if (why)
            sbuf_printf(b, " disabled title=\"%s\"", why);
        else
            sbuf_puts(b, " title=\"re-attach this replica to the master, optionally with a full "
                         "sync\"");
        sbuf_puts(b, ">resync\xe2\x80\xa6</button> ");
    }
    sbuf_puts(b, "<button type=\"button\" class=\"act\" data-act=\"bgsave\"");
    put_attr(b, "data-cluster", c->name);
    put_attr(b, "data-node", n->addr);
    sbuf_printf(b, " data-role=\"%s\"", is_master ? "master" : "replica");
    if (!n->up)
        sbuf_puts(b, " disabled title=\"the node is down; BGSAVE needs it up\"");
    else if (n->rdb_bgsave_in_progress == 1)
        sbuf_puts(b, " disabled title=\"a BGSAVE is already running on this node\"");
    else if (backup_job > 0)
        sbuf_printf(b, " disabled title=\"backup job #%lld is running on this cluster\"",
                    (long long)backup_job);
    else
        sbuf_puts(b, " title=\"BGSAVE: the node forks and writes its RDB file to its own "
                     "disk\"");
    sbuf_puts(b, ">BGSAVE\xe2\x80\xa6</button></td>");
}

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

/* A status word from INFO ("ok", "err"): green when ok, red otherwise; the
 * class is fixed, the word escaped. */
static void put_io_status(sbuf *b, const char *status)
{
    sbuf_puts(b, strcmp(status, "ok") == 0 ? "<span class=\"good\">" : "<span class=\"bad\">");
    sbuf_html(b, status);
    sbuf_puts(b, "</span>");
}

/* The persistence cell, one part per INFO field (its name in the tooltip):
 * rdb_last_save_time (age, UTC time in the tooltip), rdb_last_bgsave_status
 * (also while a BGSAVE runs), rdb_changes_since_last_save, aof_enabled and
 * aof_last_write_status (shown with AOF off too: it keeps the last one). */
static void render_persistence_cell(sbuf *b, const snap_node *n, int64_t now_ms)
{
    sbuf_puts(b, "<td class=\"persist\">");
    if (n->rdb_last_save_time > 0) {
        sbuf_puts(b, "<span title=\"rdb_last_save_time: ");
        put_utc(b, n->rdb_last_save_time * 1000, now_ms, 1);
        sbuf_puts(b, "\">saved ");
        put_ago(b, now_ms / 1000 - n->rdb_last_save_time);
        sbuf_puts(b, "</span>");
    } else {
        sbuf_puts(b, "<span title=\"rdb_last_save_time\">saved " UI_DASH "</span>");
    }

    sbuf_puts(b, " \xc2\xb7 <span title=\"rdb_last_bgsave_status\">bgsave ");
    if (n->rdb_bgsave_in_progress == 1) {
        sbuf_puts(b, "<span class=\"warn\">running</span>");
        if (n->rdb_last_bgsave_status[0] != '\0') {
            sbuf_puts(b, " <span class=\"muted\">(last</span> ");
            put_io_status(b, n->rdb_last_bgsave_status);
            sbuf_puts(b, "<span class=\"muted\">)</span>");
        }
    } else if (n->rdb_last_bgsave_status[0] == '\0') {
        sbuf_puts(b, UI_DASH);
    } else {
        put_io_status(b, n->rdb_last_bgsave_status);
    }
    sbuf_puts(b, "</span>");

    sbuf_puts(b, " \xc2\xb7 <span title=\"rdb_changes_since_last_save\">");
    put_int(b, n->rdb_changes_since_last_save);
    sbuf_printf(b, " change%s</span>", n->rdb_changes_since_last_save == 1 ? "" : "s");

    sbuf_puts(b, " \xc2\xb7 <span title=\"aof_enabled, aof_last_write_status\">AOF ");
    if (n->aof_enabled == 1)
        sbuf_puts(b, "on");
    else if (n->aof_enabled == 0)
        sbuf_puts(b, "off");
    else
        sbuf_puts(b, UI_DASH);
    if (n->aof_last_write_status[0] != '\0') {
        sbuf_puts(b, n->aof_enabled == 1 ? ", write " : ", last write ");
        put_io_status(b, n->aof_last_write_status);
    }
    sbuf_puts(b, "</span></td>");
}

/* One row of the nodes table. The cluster's (Sentinel) master is used to flag
 * a replica that replicates from somewhere else. data-addr and data-cand feed
 * the failover dialog's target list. */
static void render_node_row(sbuf *b, const snap_node *n, const cluster_snap *c, int64_t now_ms,
                            int64_t backup_job)
{
    const char *master = c->master;
    int replica =
        n->role == ROLE_REPLICA || (n->role == ROLE_UNKNOWN && n->sentinel_role == ROLE_REPLICA);

    sbuf_printf(b, "<tr class=\"node role-%s%s\"", role_name(n->role), n->up ? "" : " is-down");
    put_attr(b, "data-addr", n->addr);
    sbuf_printf(b, " data-cand=\"%s\">", candidate_note(n, master));

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
    put_notable_flags(b, n->sentinel_flags);
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
    sbuf_puts(b, "</td>");
    render_node_actions(b, n, c, backup_job);
    sbuf_puts(b, "</tr>\n");
}

static void render_nodes(sbuf *b, const cluster_snap *c, int64_t now_ms, int64_t backup_job)
{
    int i;

    sbuf_puts(b, "<h3>Nodes</h3>\n<div class=\"scroll\"><table class=\"nodes\"><thead><tr>"
                 "<th>node</th><th>role</th><th>state</th><th>link</th><th>replicates from</th>"
                 "<th class=\"num\">lag</th><th class=\"num\">lag s</th><th>memory</th>"
                 "<th class=\"num\" title=\"mem_fragmentation_ratio\">frag</th>"
                 "<th class=\"num\">clients</th><th>persistence</th>"
                 "<th class=\"num\" title=\"replica-priority\">prio</th><th>version</th>"
                 "<th>actions</th></tr></thead><tbody>\n");
    if (c->nnodes == 0)
        sbuf_puts(b, "<tr><td colspan=\"14\" class=\"empty\">no node known yet</td></tr>\n");
    for (i = 0; i < c->nnodes; i++)
        render_node_row(b, &c->nodes[i], c, now_ms, backup_job);
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

    sbuf_puts(b, "<h3>Sentinels <button type=\"button\" class=\"act\" data-act=\"reset\"");
    put_attr(b, "data-cluster", c->name);
    sbuf_printf(b, " data-sentinels=\"%d\"", c->nsentinels);
    if (c->failover_in_progress)
        sbuf_puts(b, " disabled title=\"a Sentinel failover is in progress\"");
    else
        sbuf_puts(b, " title=\"SENTINEL RESET on each Sentinel in turn\"");
    sbuf_puts(b, ">reset Sentinels\xe2\x80\xa6</button></h3>\n"
                 "<div class=\"scroll\"><table class=\"sentinels\"><thead><tr>"
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
    int with_cluster; /* the history's table has a cluster column */
    int max, shown;   /* rows to render (0 = all); the query asks for one more */
    int64_t last_id;  /* the oldest rendered row's id, for paging */
} event_ctx;

/* db_event_fn: one row of the events table. */
static void render_event_row(void *ctx, const hp_event *e)
{
    event_ctx *x = ctx;
    sbuf *b = x->b;

    if (x->max && x->shown >= x->max) return; /* the probe for an older page */
    x->shown++;
    x->last_id = e->id;
    sbuf_printf(b, "<tr class=\"event sev-%s\"><td class=\"time\" title=\"",
                severity_class(e->severity));
    put_utc(b, e->ts, x->now_ms, 1);
    sbuf_puts(b, "\">");
    put_utc(b, e->ts, x->now_ms, 0);
    sbuf_puts(b, " <span class=\"muted\">");
    put_ago(b, (x->now_ms - e->ts) / 1000);
    sbuf_puts(b, "</span></td>");
    if (x->with_cluster) {
        sbuf_puts(b, "<td>");
        put_text(b, e->cluster);
        sbuf_puts(b, "</td>");
    }
    sbuf_puts(b, "<td>");
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
    memset(&x, 0, sizeof x);
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
 * Alerts
 * ------------------------------------------------------------------------ */

/* "acked by X 3m ago: “comment”" (the time as a tooltip), or nothing. */
static void put_ack(sbuf *b, const alert_row *a, int64_t now_ms)
{
    if (a->acked_by[0] == '\0') return;
    sbuf_puts(b, "<span class=\"acked\" title=\"acknowledged ");
    put_utc(b, a->acked_at, now_ms, 1);
    sbuf_puts(b, "\">acked by ");
    sbuf_html(b, a->acked_by);
    if (a->acked_at > 0) {
        sbuf_puts(b, " ");
        put_ago(b, (now_ms - a->acked_at) / 1000);
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
    int n;          /* rows seen (all counted, UI_ALERTS rendered) */
} alerts_ctx;

/* db_alert_fn: one active alert of the cluster's strip, with its ack button. */
static void render_alert_item(void *ctx, const alert_row *a)
{
    alerts_ctx *x = ctx;
    const char *sev = severity_class(a->severity);
    sbuf *b = &x->by_sev[strcmp(sev, "critical") == 0 ? 0 : strcmp(sev, "warning") == 0 ? 1 : 2];

    if (x->n++ >= UI_ALERTS) return;
    sbuf_printf(b, "<li class=\"alert sev-%s%s\">", sev, a->acked_by[0] ? " is-acked" : "");
    put_severity_badge(b, a->severity);
    sbuf_puts(b, " <span class=\"rule\">");
    put_text(b, a->rule);
    sbuf_puts(b, "</span>");
    if (a->node[0] != '\0') {
        sbuf_puts(b, " ");
        put_addr(b, a->node);
    }
    sbuf_puts(b, " <span class=\"amsg\">");
    sbuf_html(b, a->message);
    sbuf_puts(b, "</span> <span class=\"muted\" title=\"since ");
    put_utc(b, a->started_at, x->now_ms, 1);
    sbuf_puts(b, "\">since ");
    put_ago(b, (x->now_ms - a->started_at) / 1000);
    sbuf_puts(b, "</span> ");
    put_ack(b, a, x->now_ms);
    sbuf_printf(b, " <button type=\"button\" class=\"act\" data-act=\"ack\" data-alert=\"%lld\"",
                (long long)a->id);
    put_attr(b, "data-cluster", a->cluster);
    put_attr(b, "data-rule", a->rule);
    put_attr(b, "data-node", a->node);
    put_attr(b, "data-severity", a->severity);
    put_attr(b, "data-message", a->message);
    put_attr(b, "data-acked-by", a->acked_by);
    put_attr(b, "data-comment", a->ack_comment);
    sbuf_printf(b, " title=\"%s\">%s\xe2\x80\xa6</button></li>\n",
                a->acked_by[0] ? "acknowledged already; acknowledge again with a new comment"
                               : "acknowledge with a comment: records who and when",
                a->acked_by[0] ? "re-ack" : "ack");
}

/* The strip of the cluster's active alerts (critical first, then warnings,
 * each newest first), or nothing when there is none. */
static void render_alert_strip(sbuf *b, struct db *d, const cluster_snap *c, int64_t now_ms)
{
    alerts_ctx x;
    int i, n;

    if (!d) return;
    memset(&x, 0, sizeof x);
    for (i = 0; i < 3; i++) x.by_sev[i] = (sbuf)SBUF_INIT;
    x.now_ms = now_ms;
    n = db_query_alerts(d, 1, c->name, 0, UI_ALERTS_COUNT, render_alert_item, &x);
    if (n < 0) {
        sbuf_puts(b, "<div class=\"alertstrip\"><p class=\"bad\">alerts unavailable (database "
                     "error)</p></div>\n");
    } else if (n > 0) {
        sbuf_printf(b, "<div class=\"alertstrip\" data-alerts=\"%d\"><h3>Active alerts "
                       "<span class=\"count\">%d%s</span></h3>\n<ul class=\"alerts\">\n",
                    n, n, n >= UI_ALERTS_COUNT ? "+" : "");
        for (i = 0; i < 3; i++)
            if (x.by_sev[i].len) sbuf_append(b, x.by_sev[i].buf, x.by_sev[i].len);
        if (n > UI_ALERTS)
            sbuf_printf(b, "<li class=\"more muted\">%d more: GET /api/v1/alerts?state=active"
                           "</li>\n", n - UI_ALERTS);
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
static void put_sha(sbuf *b, const char *sha)
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
static void put_verified(sbuf *b, int verified)
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
static void put_download_button(sbuf *b, int64_t id)
{
    sbuf_printf(b,
                "<button type=\"button\" class=\"dl\" data-backup=\"%lld\" title=\"download "
                "backup #%lld (the RDB file)\">download</button>",
                (long long)id, (long long)id);
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
    put_utc(b, k->created_at, x->now_ms, 1);
    sbuf_puts(b, "\">");
    put_utc(b, k->created_at, x->now_ms, 0);
    sbuf_puts(b, " <span class=\"muted\">");
    put_ago(b, (x->now_ms - k->created_at) / 1000);
    sbuf_puts(b, "</span></td><td>");
    put_addr(b, k->node);
    if (x->c->master[0] != '\0' && strcmp(k->node, x->c->master) == 0)
        sbuf_puts(b, " <span class=\"muted\">(master)</span>");
    sbuf_printf(b, "</td><td class=\"num\" title=\"%lld bytes\">", (long long)k->size_bytes);
    put_bytes(b, k->size_bytes);
    sbuf_puts(b, "</td><td>");
    put_sha(b, k->sha256);
    sbuf_puts(b, "</td><td>");
    put_verified(b, k->verified);
    sbuf_puts(b, "</td><td>");
    if (k->job_id > 0)
        put_job_link(b, k->job_id);
    else
        sbuf_puts(b, "<span class=\"muted\" title=\"not taken by a job\">" UI_DASH "</span>");
    sbuf_puts(b, "</td><td class=\"actions\">");
    put_download_button(b, k->id);
    sbuf_printf(b, " <button type=\"button\" class=\"act\" data-act=\"delete-backup\" "
                   "data-backup=\"%lld\"",
                (long long)k->id);
    put_attr(b, "data-cluster", k->cluster);
    put_attr(b, "data-node", k->node);
    sbuf_puts(b, " data-created=\"");
    put_utc(b, k->created_at, x->now_ms, 1);
    sbuf_puts(b, "\" data-size=\"");
    put_bytes(b, k->size_bytes);
    sbuf_puts(b, "\" title=\"delete the file and its catalogue entry\">delete\xe2\x80\xa6</button>"
                 "</td></tr>\n");
}

/* The cluster's newest UI_BACKUPS backups and the "back up now" button, which
 * names the node the backup would stream from. backup_job: a backup or BGSAVE
 * job running on the cluster (0 if none). */
static void render_backups(sbuf *b, struct db *d, const cluster_snap *c, int64_t now_ms,
                           int64_t backup_job)
{
    const char *src = backup_source(c);
    backups_ctx x;
    int n = -1;

    memset(&x, 0, sizeof x);
    x.b = b;
    x.c = c;
    x.now_ms = now_ms;
    sbuf_puts(b, "<h3>Backups <button type=\"button\" class=\"act\" data-act=\"backup\"");
    put_attr(b, "data-cluster", c->name);
    put_attr(b, "data-source", src ? src : "");
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
        put_job_link(b, backup_job);
        sbuf_puts(b, "</span>");
    }
    sbuf_puts(b, "</h3>\n<div class=\"scroll\"><table class=\"backups\"><thead><tr>"
                 "<th>created (UTC)</th><th>source node</th><th class=\"num\">size</th>"
                 "<th>sha256</th><th>check</th><th>job</th><th>actions</th></tr></thead><tbody>\n");
    if (d) n = db_query_backups(d, c->name, UI_BACKUPS_COUNT, render_backup_row, &x);
    if (n == 0)
        sbuf_puts(b, "<tr><td colspan=\"7\" class=\"empty\">no backup of this cluster yet"
                     "</td></tr>\n");
    else if (n < 0)
        sbuf_puts(b, "<tr><td colspan=\"7\" class=\"empty bad\">backups unavailable "
                     "(database error)</td></tr>\n");
    else if (n > UI_BACKUPS)
        sbuf_printf(b, "<tr><td colspan=\"7\" class=\"empty\">the newest %d of %d%s; "
                       "GET /api/v1/clusters/{name}/backups lists them all</td></tr>\n",
                    UI_BACKUPS, n, n >= UI_BACKUPS_COUNT ? "+" : "");
    sbuf_puts(b, "</tbody></table></div>\n");
}

/* ---------------------------------------------------------------------------
 * Jobs
 * ------------------------------------------------------------------------ */

/* How long a job ran (or has been running), in ms; -1 before it started. */
static int64_t job_elapsed(const db_job_row *j, int64_t now_ms)
{
    if (j->started_at <= 0) return -1;
    return (j->ended_at > 0 ? j->ended_at : now_ms) - j->started_at;
}

/* The message of a job's last step (steps: its JSON array text), escaped. */
static void put_last_step(sbuf *b, const char *steps_json)
{
    cJSON *steps = steps_json ? cJSON_Parse(steps_json) : NULL;
    int n = cJSON_GetArraySize(steps);
    const char *msg =
        n > 0 ? cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(steps, n - 1),
                                                         "message"))
              : NULL;

    if (msg)
        sbuf_html(b, msg);
    else
        sbuf_puts(b, "<span class=\"muted\">no step yet</span>");
    cJSON_Delete(steps);
}

/* "master A -> B" for a failover job that succeeded; returns 0 (nothing
 * written) for any other job. */
static int put_failover_summary(sbuf *b, const db_job_row *j)
{
    cJSON *res;
    const char *o, *n;
    int done = 0;

    if (strcmp(j->state, "succeeded") != 0 || !j->result) return 0;
    res = cJSON_Parse(j->result);
    o = cJSON_GetStringValue(cJSON_GetObjectItem(res, "old_master"));
    n = cJSON_GetStringValue(cJSON_GetObjectItem(res, "new_master"));
    if (o && n) {
        sbuf_puts(b, "<span class=\"good\">master</span> ");
        put_addr(b, o);
        sbuf_puts(b, " \xe2\x86\x92 ");
        put_addr(b, n);
        done = 1;
    }
    cJSON_Delete(res);
    return done;
}

/* Backups and BGSAVE form their own job group: one of them per cluster at a
 * time, beside (not instead of) a failover, resync or Sentinel reset. Any other
 * kind counts as a topology job. */
static int backup_kind(const char *kind)
{
    return strcmp(kind, "backup") == 0 || strcmp(kind, "bgsave") == 0;
}

typedef struct jobs_ctx {
    sbuf *b;
    int64_t now_ms;
    int64_t active_id;     /* the newest queued or running job, 0 if none */
    int64_t active_topo;   /* ... of a topology kind (failover, resync, reset) */
    int64_t active_backup; /* ... of the backup group (backup, bgsave) */
} jobs_ctx;

/* db_job_fn: one row of a cluster's recent jobs. */
static void render_job_row(void *ctx, const db_job_row *j)
{
    jobs_ctx *x = ctx;
    sbuf *b = x->b;
    const char *st = job_state_class(j->state);

    if (!job_finished(j->state)) {
        int64_t *group = backup_kind(j->kind) ? &x->active_backup : &x->active_topo;
        if (x->active_id == 0) x->active_id = j->id;
        if (*group == 0) *group = j->id;
    }
    sbuf_printf(b, "<tr class=\"jobrow job-%s\"><td>", st);
    put_job_link(b, j->id);
    sbuf_puts(b, "</td><td>");
    put_text(b, j->kind);
    sbuf_puts(b, "</td><td>");
    put_job_badge(b, st, j->state);
    sbuf_puts(b, "</td><td class=\"time\" title=\"");
    put_utc(b, j->created_at, x->now_ms, 1);
    sbuf_puts(b, "\">");
    put_ago(b, (x->now_ms - j->created_at) / 1000);
    sbuf_puts(b, "</td><td class=\"num\">");
    put_duration(b, job_elapsed(j, x->now_ms));
    sbuf_puts(b, "</td><td>");
    put_text(b, j->actor);
    sbuf_puts(b, "</td><td class=\"msg\">");
    if (j->reason[0] != '\0') {
        sbuf_puts(b, "<span class=\"reason\">\xe2\x80\x9c");
        sbuf_html(b, j->reason);
        sbuf_puts(b, "\xe2\x80\x9d</span> ");
    }
    if (j->error && j->error[0] != '\0') {
        sbuf_puts(b, "<span class=\"err\">");
        sbuf_html(b, j->error);
        sbuf_puts(b, "</span>");
    } else if (!put_failover_summary(b, j)) {
        put_last_step(b, j->steps);
    }
    sbuf_puts(b, "</td></tr>\n");
}

/* The latest UI_JOBS jobs of the cluster into b; x receives the ids of the
 * ones still queued or running (0 if none). */
static void render_recent_jobs(sbuf *b, struct db *d, const cluster_snap *c, int64_t now_ms,
                               jobs_ctx *xp)
{
    jobs_ctx x;
    int n = -1;

    memset(&x, 0, sizeof x);
    x.b = b;
    x.now_ms = now_ms;
    sbuf_puts(b, "<h3>Recent jobs</h3>\n<div class=\"scroll\"><table class=\"jobs\"><thead><tr>"
                 "<th>job</th><th>kind</th><th>state</th><th>created</th>"
                 "<th class=\"num\">took</th><th>by</th><th>reason, last step or error</th>"
                 "</tr></thead><tbody>\n");
    if (d) n = db_query_jobs(d, c->name, 0, 0, UI_JOBS, render_job_row, &x);
    if (n == 0)
        sbuf_puts(b, "<tr><td colspan=\"7\" class=\"empty\">no job has run on this cluster"
                     "</td></tr>\n");
    else if (n < 0)
        sbuf_puts(b, "<tr><td colspan=\"7\" class=\"empty bad\">jobs unavailable "
                     "(database error)</td></tr>\n");
    sbuf_puts(b, "</tbody></table></div>\n");
    *xp = x;
}

/* A JSON value as text: strings escaped, whole numbers without a fraction,
 * booleans as yes/no, anything else as its (escaped) JSON. */
static void put_json_value(sbuf *b, const cJSON *v)
{
    if (cJSON_IsString(v)) {
        put_text(b, v->valuestring);
    } else if (cJSON_IsBool(v)) {
        sbuf_puts(b, cJSON_IsTrue(v) ? "yes" : "no");
    } else if (cJSON_IsNumber(v)) {
        double x = v->valuedouble;
        if (x > -9e15 && x < 9e15 && x == (double)(long long)x)
            sbuf_printf(b, "%lld", (long long)x);
        else
            sbuf_printf(b, "%g", x);
    } else if (!v || cJSON_IsNull(v)) {
        sbuf_puts(b, UI_DASH);
    } else {
        char *t = cJSON_PrintUnformatted(v);
        if (t) sbuf_html(b, t);
        cJSON_free(t);
    }
}

/* A JSON object's fields as "key value" pairs in a <dl>, without skip (a key
 * shown elsewhere, or NULL). Nothing when the object is empty. */
static void put_json_fields(sbuf *b, const char *cls, const cJSON *o, const char *skip)
{
    const cJSON *it;
    int any = 0;

    cJSON_ArrayForEach(it, o)
    {
        if (!it->string || (skip && strcmp(it->string, skip) == 0)) continue;
        if (!any) sbuf_printf(b, "<dl class=\"kv %s\">", cls);
        any = 1;
        sbuf_puts(b, "<div><dt>");
        sbuf_html(b, it->string);
        sbuf_puts(b, "</dt><dd>");
        put_json_value(b, it);
        sbuf_puts(b, "</dd></div>");
    }
    if (any) sbuf_puts(b, "</dl>\n");
}

/* The steps of a job, each with its UTC time and the time since the job
 * started (t0); a last "working" line while it runs. */
static void render_steps(sbuf *b, const cJSON *steps, int64_t t0, const char *state)
{
    const cJSON *s;
    int n = 0;

    sbuf_puts(b, "<ol class=\"steps\">\n");
    cJSON_ArrayForEach(s, steps)
    {
        const cJSON *ts = cJSON_GetObjectItem(s, "ts");
        const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(s, "message"));
        int64_t t = cJSON_IsNumber(ts) ? (int64_t)ts->valuedouble : 0;
        const char *cls = !msg                               ? ""
                          : strncmp(msg, "failed", 6) == 0   ? " class=\"step-bad\""
                          : strcmp(msg, "done") == 0         ? " class=\"step-good\""
                                                             : "";
        n++;
        sbuf_printf(b, "<li%s><span class=\"t\" title=\"", cls);
        put_utc(b, t, t, 1);
        sbuf_puts(b, "\">");
        put_utc_ms(b, t);
        sbuf_puts(b, "</span> <span class=\"el\">");
        if (t > 0 && t0 > 0) {
            sbuf_puts(b, "+");
            put_duration(b, t >= t0 ? t - t0 : 0);
        }
        sbuf_puts(b, "</span> <span class=\"m\">");
        put_text(b, msg ? msg : "");
        sbuf_puts(b, "</span></li>\n");
    }
    if (strcmp(state, "running") == 0)
        sbuf_puts(b, "<li class=\"pending\"><span class=\"spin\" aria-hidden=\"true\"></span> "
                     "working\xe2\x80\xa6</li>\n");
    else if (strcmp(state, "queued") == 0)
        sbuf_puts(b, "<li class=\"pending\">queued, waiting for the job runner\xe2\x80\xa6</li>\n");
    else if (n == 0)
        sbuf_puts(b, "<li class=\"muted\">no step recorded</li>\n");
    sbuf_puts(b, "</ol>\n");
}

/* A whole, non-negative JSON number as int64, else -1. */
static int64_t json_count(const cJSON *v)
{
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9e15) return -1;
    return (int64_t)v->valuedouble;
}

/* Whether msg is exactly fmt with one or two numbers (%lld), which go to a and
 * b: "%n" makes sure nothing follows. */
static int step_is(const char *msg, const char *fmt, long long *a, long long *b)
{
    int end = -1, got = b ? sscanf(msg, fmt, a, b, &end) : sscanf(msg, fmt, a, &end);
    return got == (b ? 2 : 1) && end >= 0 && msg[end] == '\0' && *a >= 0 && (!b || *b >= 0);
}

/* How far a backup's transfer got: bytes received and the total (-1 each when
 * unknown; the total stays unknown for a diskless transfer). From the result
 * (bytes_received, bytes_total; size_bytes once it succeeded) and, since the
 * job runner stores the result only when the job ends, from its progress
 * steps while it runs. Returns 0 when nothing is known. */
static int backup_progress(const cJSON *result, const cJSON *steps, int64_t *got, int64_t *total)
{
    const cJSON *s;
    int64_t size = json_count(cJSON_GetObjectItem(result, "size_bytes"));

    *got = json_count(cJSON_GetObjectItem(result, "bytes_received"));
    *total = json_count(cJSON_GetObjectItem(result, "bytes_total"));
    cJSON_ArrayForEach(s, steps)
    {
        const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(s, "message"));
        long long a, b;
        if (!msg) continue;
        if (step_is(msg, "received %lld of %lld bytes%n", &a, &b)) {
            if (a > *got) *got = a;
            *total = b;
        } else if (step_is(msg, "received %lld bytes%n", &a, NULL)) {
            if (a > *got) *got = a;
        } else if (step_is(msg, "streaming %lld bytes%n", &a, NULL)) {
            *total = a;
            if (*got < 0) *got = 0;
        }
    }
    if (size >= 0) *got = *total = size; /* done: all of it arrived */
    return *got >= 0 || *total > 0;
}

/* A backup job's transfer as a progress bar and "X of Y (Z %)". The bar has
 * no value (indeterminate) while the total is unknown. */
static void render_backup_progress(sbuf *b, const db_job_row *j, const cJSON *result,
                                   const cJSON *steps)
{
    int64_t got, total;
    int running = !job_finished(j->state);

    if (!backup_progress(result, steps, &got, &total)) return;
    if (got < 0) got = 0;
    sbuf_printf(b, "<div class=\"xfer%s\"><span class=\"k\">transfer</span> ",
                strcmp(j->state, "failed") == 0 ? " xfer-bad" : "");
    if (total > 0) {
        int64_t shown = got > total ? total : got;
        double pct = 100.0 * (double)shown / (double)total;
        sbuf_printf(b, "<progress max=\"%lld\" value=\"%lld\"></progress> ", (long long)total,
                    (long long)shown);
        if (strcmp(j->state, "failed") == 0) sbuf_puts(b, "stopped at ");
        put_bytes(b, got);
        sbuf_puts(b, " of ");
        put_bytes(b, total);
        sbuf_printf(b, " <span class=\"muted\">(%.0f%%)</span>", pct);
    } else {
        if (running) sbuf_puts(b, "<progress></progress> ");
        put_bytes(b, got);
        sbuf_puts(b, " received <span class=\"muted\">(diskless transfer: the total is not "
                     "known in advance)</span>");
    }
    sbuf_puts(b, "</div>\n");
}

/* What a finished backup or BGSAVE job produced, said plainly: the backup's
 * size, source, check and sha256 with a download button; the node and save
 * time of a BGSAVE. Returns 0 (nothing written) for other jobs. */
static int render_backup_summary(sbuf *b, const db_job_row *j, const cJSON *result,
                                 int64_t now_ms)
{
    const char *node = cJSON_GetStringValue(cJSON_GetObjectItem(result, "node"));
    int64_t id = json_count(cJSON_GetObjectItem(result, "backup_id"));

    if (strcmp(j->state, "succeeded") != 0 || !node) return 0;
    if (strcmp(j->kind, "backup") == 0 && id > 0) {
        const char *sha = cJSON_GetStringValue(cJSON_GetObjectItem(result, "sha256"));
        sbuf_printf(b, "<p class=\"jobsum\">backup #%lld \xc2\xb7 ", (long long)id);
        put_bytes(b, json_count(cJSON_GetObjectItem(result, "size_bytes")));
        sbuf_puts(b, " from ");
        put_addr(b, node);
        sbuf_puts(b, " ");
        put_verified(b, cJSON_IsTrue(cJSON_GetObjectItem(result, "verified")));
        sbuf_puts(b, " ");
        put_sha(b, sha ? sha : "");
        sbuf_puts(b, " ");
        put_download_button(b, id);
        sbuf_puts(b, "</p>\n");
        return 1;
    }
    if (strcmp(j->kind, "bgsave") == 0) {
        int64_t saved = json_count(cJSON_GetObjectItem(result, "rdb_last_save_time"));
        sbuf_puts(b, "<p class=\"jobsum\">BGSAVE on ");
        put_addr(b, node);
        sbuf_puts(b, " done");
        if (saved > 0) {
            sbuf_puts(b, " \xc2\xb7 saved ");
            put_utc(b, saved * 1000, now_ms, 1);
        }
        sbuf_puts(b, "</p>\n");
        return 1;
    }
    return 0;
}

/* One job as the job panel shows it. While it is queued or running the
 * element polls its own URL every 500 ms and is replaced by the answer
 * (outerHTML); once it succeeded or failed the answer carries no hx-trigger,
 * which ends the polling. */
static void render_job_view(sbuf *b, const db_job_row *j, int64_t now_ms)
{
    const char *st = job_state_class(j->state);
    int done = job_finished(j->state);
    cJSON *params = j->params ? cJSON_Parse(j->params) : NULL;
    cJSON *steps = j->steps ? cJSON_Parse(j->steps) : NULL;
    cJSON *result = j->result ? cJSON_Parse(j->result) : NULL;
    const char *reason = j->reason;
    const char *old_m = cJSON_GetStringValue(cJSON_GetObjectItem(result, "old_master"));
    const char *new_m = cJSON_GetStringValue(cJSON_GetObjectItem(result, "new_master"));
    const cJSON *paused = cJSON_GetObjectItem(result, "writes_paused_ms");
    long long id = (long long)j->id;

    sbuf_printf(b, "<div class=\"jobview job-%s\" id=\"job-%lld\" data-job=\"%lld\" data-state=\"%s\"",
                st, id, id, st);
    if (!done)
        sbuf_printf(b, " hx-get=\"/ui/jobs/%lld\" hx-trigger=\"every 500ms\" hx-swap=\"outerHTML\"",
                    id);
    sbuf_printf(b, ">\n<header class=\"jobhead\"><strong>Job #%lld</strong> <span class=\"kind\">", id);
    put_text(b, j->kind);
    sbuf_puts(b, "</span> on <strong class=\"jobcluster\">");
    put_text(b, j->cluster);
    sbuf_puts(b, "</strong> ");
    put_job_badge(b, st, j->state);
    sbuf_puts(b, " <span class=\"muted\">");
    if (done) {
        sbuf_puts(b, "took ");
        put_duration(b, job_elapsed(j, now_ms));
    } else if (j->started_at > 0) {
        sbuf_puts(b, "running for ");
        put_duration(b, job_elapsed(j, now_ms));
    } else {
        sbuf_puts(b, "queued ");
        put_ago(b, (now_ms - j->created_at) / 1000);
    }
    sbuf_puts(b, "</span></header>\n<p class=\"jobmeta\">by ");
    put_text(b, j->actor);
    sbuf_puts(b, " \xc2\xb7 created ");
    put_utc(b, j->created_at, now_ms, 1);
    if (done && j->ended_at > 0) {
        sbuf_puts(b, " \xc2\xb7 ended ");
        put_utc(b, j->ended_at, now_ms, 0);
    }
    if (reason[0] != '\0') {
        sbuf_puts(b, "<br>reason: <span class=\"reason\">");
        sbuf_html(b, reason);
        sbuf_puts(b, "</span>");
    }
    sbuf_puts(b, "</p>\n");
    put_json_fields(b, "params", params, "reason");

    if (strcmp(j->kind, "backup") == 0) render_backup_progress(b, j, result, steps);
    render_steps(b, steps, j->started_at > 0 ? j->started_at : j->created_at, st);

    if (j->error && j->error[0] != '\0') {
        sbuf_puts(b, "<p class=\"joberr\" role=\"alert\"><strong>error</strong> ");
        sbuf_html(b, j->error);
        sbuf_puts(b, "</p>\n");
    }
    if (cJSON_IsFalse(cJSON_GetObjectItem(result, "persisted"))) {
        /* The role change holds only until the node restarts. */
        const char *note = cJSON_GetStringValue(cJSON_GetObjectItem(result, "persisted_note"));
        const char *who = strcmp(j->kind, "failover") == 0 ? old_m
                          : cJSON_GetStringValue(cJSON_GetObjectItem(result, "node"));
        sbuf_puts(b, "<p class=\"jobwarn\" role=\"alert\"><strong>not persisted</strong> ");
        if (who) put_addr(b, who);
        sbuf_puts(b, strcmp(j->kind, "failover") == 0
                         ? " would come back as a master after a restart, until Sentinel converts it"
                         : " would come back with the role its config file gives it after a restart");
        if (note) {
            sbuf_puts(b, " (");
            sbuf_html(b, note);
            sbuf_puts(b, ")");
        }
        sbuf_puts(b, "</p>\n");
    }
    if (done && strcmp(st, "succeeded") == 0 && old_m && new_m) { /* a failover: say it plainly */
        sbuf_puts(b, "<p class=\"jobsum\">master ");
        put_addr(b, old_m);
        sbuf_puts(b, " \xe2\x86\x92 ");
        put_addr(b, new_m);
        if (cJSON_IsNumber(paused)) {
            sbuf_puts(b, " \xc2\xb7 writes paused ");
            put_duration(b, (int64_t)paused->valuedouble);
        }
        sbuf_puts(b, "</p>\n");
    } else if (done) {
        render_backup_summary(b, j, result, now_ms);
        if (cJSON_GetArraySize(result) > 0) {
            sbuf_puts(b, "<div class=\"jobres\"><span class=\"k\">result</span>");
            put_json_fields(b, "result", result, NULL);
            sbuf_puts(b, "</div>\n");
        }
    }
    sbuf_puts(b, "</div>\n");
    cJSON_Delete(params);
    cJSON_Delete(steps);
    cJSON_Delete(result);
}

/* Sends an HTML fragment (or 500 if rendering ran out of memory). */
static int send_fragment(hreq *r, int status, sbuf *b)
{
    if (sbuf_failed(b))
        return http_error(r, 500, "internal", "out of memory rendering the dashboard");
    return http_send(r, status, "text/html; charset=utf-8", b->buf ? b->buf : "", b->len);
}

int ui_job(hreq *r)
{
    sbuf b = SBUF_INIT;
    struct db *d = r->app ? r->app->db : NULL;
    char *end;
    long long id = strtoll(r->params[0], &end, 10);
    db_job_row j;
    int status = 200, found;

    if (r->params[0][0] == '\0' || *end || id <= 0) {
        status = 404;
        sbuf_puts(&b, "<div class=\"jobview job-unknown\"><p class=\"bad\">There is no job with "
                      "that id.</p></div>\n");
    } else if ((found = d ? db_job_get(d, id, &j) : -1) < 0) {
        /* a busy or broken database: keep polling, more slowly */
        status = 503;
        sbuf_printf(&b,
                    "<div class=\"jobview job-unknown\" hx-get=\"/ui/jobs/%lld\" "
                    "hx-trigger=\"every 2s\" hx-swap=\"outerHTML\"><p class=\"bad\">Job #%lld: "
                    "the history database is not readable; retrying\xe2\x80\xa6</p></div>\n",
                    id, id);
    } else if (!found) {
        status = 404;
        sbuf_printf(&b, "<div class=\"jobview job-unknown\"><p class=\"bad\">There is no job "
                        "#%lld.</p></div>\n", id);
    } else {
        render_job_view(&b, &j, hp_now_ms());
        db_job_row_release(&j);
    }
    status = send_fragment(r, status, &b);
    sbuf_release(&b);
    return status;
}

/* ---------------------------------------------------------------------------
 * History
 * ------------------------------------------------------------------------ */

/* The history view's filters and cursors, as parsed from the query string. */
typedef struct hist_query {
    char cluster[HP_NAME_MAX], type[64], node[HP_ADDR_MAX]; /* "" = any */
    char since_text[40], until_text[40]; /* as typed, shown back in the form */
    int64_t since, until;                /* ms, 0 = open */
    int64_t before, fbefore, abefore;    /* event / failover / alert id cursors, 0 = newest */
    int64_t limit;                       /* events per page */
} hist_query;

/* Reads exactly n digits at *p into *out. */
static int take_digits(const char **p, int n, int *out)
{
    int v = 0, i;
    for (i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9') return 0;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm;
 * timegm() is not in POSIX). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* A time filter: milliseconds since the epoch (digits only), or a UTC time
 * "YYYY-MM-DD", "YYYY-MM-DD HH:MM" or "YYYY-MM-DD HH:MM:SS" (a T instead of the
 * space, and a trailing Z or " UTC", are accepted). A bare date means its
 * start, or its end when end_of_day is set (for "until"). Returns 0 or -1. */
static int parse_when(const char *s, int end_of_day, int64_t *out)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, se = 0, date_only = 1;
    size_t nd = strspn(s, "0123456789");

    if (nd > 0 && s[nd] == '\0') {
        if (nd > 16) return -1;
        *out = strtoll(s, NULL, 10);
        return 0;
    }
    if (!take_digits(&p, 4, &y) || *p != '-') return -1;
    p++;
    if (!take_digits(&p, 2, &mo) || *p != '-') return -1;
    p++;
    if (!take_digits(&p, 2, &d)) return -1;
    if (*p == ' ' || *p == 'T') {
        p++;
        if (!take_digits(&p, 2, &h) || *p != ':') return -1;
        p++;
        if (!take_digits(&p, 2, &mi)) return -1;
        if (*p == ':') {
            p++;
            if (!take_digits(&p, 2, &se)) return -1;
        }
        date_only = 0;
    }
    if (strcmp(p, "Z") == 0 || strcmp(p, " UTC") == 0) p += strlen(p);
    if (*p != '\0') return -1;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
        se > 59)
        return -1;
    if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) return -1;
    *out = ((days_from_civil(y, mo, d) * 86400) + h * 3600 + mi * 60 + se) * 1000;
    if (date_only && end_of_day) *out += 86400000 - 1;
    return 0;
}

/* An optional text parameter; absent and empty are the same ("any"). */
static int hist_text(const hreq *r, const char *name, char *buf, size_t bufsz, char *err,
                     size_t errsz)
{
    int q = http_query(r, name, buf, bufsz);
    if (q < 0) {
        buf[0] = '\0';
        snprintf(err, errsz, "%s is too long (at most %zu bytes)", name, bufsz - 1);
        return -1;
    }
    if (q == 0) buf[0] = '\0';
    return 0;
}

/* An optional whole number within [lo, hi]; absent or empty leaves *out. */
static int hist_int(const hreq *r, const char *name, int64_t lo, int64_t hi, int64_t *out,
                    char *err, size_t errsz)
{
    char buf[32], *end;
    long long v;
    int q = http_query(r, name, buf, sizeof buf);

    if (q == 0 || (q > 0 && buf[0] == '\0')) return 0;
    if (q > 0 && buf[0] >= '0' && buf[0] <= '9') {
        errno = 0;
        v = strtoll(buf, &end, 10);
        if (*end == '\0' && errno == 0 && v >= lo && v <= hi) {
            *out = v;
            return 0;
        }
    }
    snprintf(err, errsz, "%s must be a whole number from %lld to %lld", name, (long long)lo,
             (long long)hi);
    return -1;
}

/* A time filter (see parse_when); the text is kept for the form. */
static int hist_time(const hreq *r, const char *name, int end_of_day, char *text, size_t textsz,
                     int64_t *out, char *err, size_t errsz)
{
    if (hist_text(r, name, text, textsz, err, errsz) < 0) return -1;
    if (text[0] == '\0') return 0;
    if (parse_when(text, end_of_day, out) == 0) return 0;
    snprintf(err, errsz,
             "%s must be a UTC time like 2024-05-01 12:30 (or 2024-05-01, or milliseconds "
             "since the epoch)",
             name);
    return -1;
}

/* Parses GET /ui/history's query like GET /api/v1/events does. Returns 0, or
 * -1 with a message for the operator in err (the form is shown again). */
static int parse_history_query(const hreq *r, hist_query *h, char *err, size_t errsz)
{
    memset(h, 0, sizeof *h);
    h->limit = UI_HIST_EVENTS;
    err[0] = '\0';
    /* all texts first, so the form comes back filled in even after an error */
    if (hist_text(r, "cluster", h->cluster, sizeof h->cluster, err, errsz) |
        hist_text(r, "type", h->type, sizeof h->type, err, errsz) |
        hist_text(r, "node", h->node, sizeof h->node, err, errsz))
        return -1;
    if (hist_time(r, "since", 0, h->since_text, sizeof h->since_text, &h->since, err, errsz) < 0 ||
        hist_time(r, "until", 1, h->until_text, sizeof h->until_text, &h->until, err, errsz) < 0 ||
        hist_int(r, "before", 1, INT64_MAX, &h->before, err, errsz) < 0 ||
        hist_int(r, "fbefore", 1, INT64_MAX, &h->fbefore, err, errsz) < 0 ||
        hist_int(r, "abefore", 1, INT64_MAX, &h->abefore, err, errsz) < 0 ||
        hist_int(r, "limit", 1, 1000, &h->limit, err, errsz) < 0)
        return -1;
    if (h->since > 0 && h->until > 0 && h->until < h->since) {
        snprintf(err, errsz, "until is before since");
        return -1;
    }
    return 0;
}

/* Common Sentinel channels and panel events, offered in the type filter. */
static const char *const hist_types[] = {
    "+switch-master", "+sdown", "-sdown", "+odown", "-odown", "+try-failover",
    "+failover-end", "+reset-master", "node-down", "node-up", "role-change", "link-down",
    "link-up", "split-brain", "split-brain-resolved", "quorum-lost", "quorum-regained",
    "master-changed", "sentinel-down", "sentinel-up", "job-started", "job-succeeded",
    "job-failed", "panel-started", "panel-stopped", NULL};

/* The filter form. It GETs the fragment again into #history; the paging
 * buttons below include its fields (hx-include). */
static void render_history_form(sbuf *b, const topo_snap *t, const hist_query *h)
{
    int i, listed = 0;

    sbuf_puts(b, "<form id=\"hfilters\" class=\"filters\" hx-get=\"/ui/history\" "
                 "hx-target=\"#history\" hx-swap=\"innerHTML\" autocomplete=\"off\">\n"
                 "<label>cluster <select name=\"cluster\"><option value=\"\">any</option>");
    for (i = 0; t && i < t->nclusters; i++) {
        int sel = strcmp(t->clusters[i]->name, h->cluster) == 0;
        listed |= sel;
        sbuf_puts(b, "<option");
        put_attr(b, "value", t->clusters[i]->name);
        sbuf_puts(b, sel ? " selected>" : ">");
        sbuf_html(b, t->clusters[i]->name);
        sbuf_puts(b, "</option>");
    }
    if (h->cluster[0] != '\0' && !listed) { /* no longer monitored: still searchable */
        sbuf_puts(b, "<option");
        put_attr(b, "value", h->cluster);
        sbuf_puts(b, " selected>");
        sbuf_html(b, h->cluster);
        sbuf_puts(b, "</option>");
    }
    sbuf_puts(b, "</select></label>\n<label>type <input name=\"type\" list=\"htypes\" size=\"16\" "
                 "placeholder=\"any\"");
    put_attr(b, "value", h->type);
    sbuf_puts(b, "></label><datalist id=\"htypes\">");
    for (i = 0; hist_types[i]; i++) sbuf_printf(b, "<option value=\"%s\">", hist_types[i]);
    sbuf_puts(b, "</datalist>\n<label>node <input name=\"node\" size=\"18\" "
                 "placeholder=\"host:port\"");
    put_attr(b, "value", h->node);
    sbuf_puts(b, "></label>\n<label>since <input name=\"since\" size=\"17\" "
                 "placeholder=\"YYYY-MM-DD HH:MM\"");
    put_attr(b, "value", h->since_text);
    sbuf_puts(b, "></label>\n<label>until <input name=\"until\" size=\"17\" "
                 "placeholder=\"YYYY-MM-DD HH:MM\"");
    put_attr(b, "value", h->until_text);
    sbuf_puts(b, "></label> <span class=\"muted\">UTC</span>\n"
                 "<button type=\"submit\">apply</button> "
                 "<button type=\"button\" hx-get=\"/ui/history\">clear</button>\n</form>\n");
}

/* db_failover_fn: one row of the failovers table. */
static void render_failover_row(void *ctx, const hp_failover *f)
{
    event_ctx *x = ctx;
    sbuf *b = x->b;
    const char *sc = failover_status_class(f->status);

    if (x->shown >= x->max) return;
    x->shown++;
    x->last_id = f->id;
    sbuf_printf(b, "<tr class=\"failover fo-%s\"><td class=\"time\" title=\"", sc);
    put_utc(b, f->started_at, x->now_ms, 1);
    sbuf_puts(b, "\">");
    put_utc(b, f->started_at, x->now_ms, 0);
    sbuf_puts(b, " <span class=\"muted\">");
    put_ago(b, (x->now_ms - f->started_at) / 1000);
    sbuf_puts(b, "</span></td><td>");
    put_text(b, f->cluster);
    sbuf_printf(b, "</td><td><span class=\"badge fo-%s\">", failover_kind_class(f->kind));
    put_text(b, f->kind);
    sbuf_puts(b, "</span></td><td>");
    put_addr(b, f->old_master);
    sbuf_puts(b, " \xe2\x86\x92 ");
    put_addr(b, f->new_master);
    sbuf_puts(b, "</td><td class=\"num\">");
    put_duration(b, f->duration_ms);
    sbuf_puts(b, "</td><td class=\"num\">");
    put_duration(b, f->writes_paused_ms);
    sbuf_puts(b, "</td><td>");
    put_job_badge(b, sc, f->status);
    sbuf_puts(b, "</td><td>");
    put_text(b, f->actor);
    sbuf_puts(b, "</td><td class=\"msg\">");
    put_text(b, f->reason);
    sbuf_puts(b, "</td><td>");
    if (f->job_id > 0)
        put_job_link(b, f->job_id);
    else
        sbuf_puts(b, UI_DASH);
    sbuf_puts(b, "</td></tr>\n");
}

/* A paging button: GETs the history with the given cursors (and the page
 * size, when not the default) plus the form's current fields. */
static void put_page_button(sbuf *b, const char *label, int64_t before, int64_t fbefore,
                            int64_t abefore, int64_t limit)
{
    const char *sep = "?";

    sbuf_puts(b, "<button type=\"button\" class=\"page\" hx-get=\"/ui/history");
    if (before > 0) {
        sbuf_printf(b, "%sbefore=%lld", sep, (long long)before);
        sep = "&amp;";
    }
    if (fbefore > 0) {
        sbuf_printf(b, "%sfbefore=%lld", sep, (long long)fbefore);
        sep = "&amp;";
    }
    if (abefore > 0) {
        sbuf_printf(b, "%sabefore=%lld", sep, (long long)abefore);
        sep = "&amp;";
    }
    if (limit != UI_HIST_EVENTS) sbuf_printf(b, "%slimit=%lld", sep, (long long)limit);
    sbuf_printf(b, "\" hx-include=\"#hfilters\" hx-target=\"#history\" hx-swap=\"innerHTML\">%s"
                   "</button>",
                label);
}

/* db_alert_fn: one row of the history's alerts table. */
static void render_alert_row(void *ctx, const alert_row *a)
{
    event_ctx *x = ctx;
    sbuf *b = x->b;

    if (x->shown >= x->max) return;
    x->shown++;
    x->last_id = a->id;
    sbuf_printf(b, "<tr class=\"alertrow sev-%s %s\"><td class=\"time\" title=\"",
                severity_class(a->severity), a->resolved_at ? "al-resolved" : "al-active");
    put_utc(b, a->started_at, x->now_ms, 1);
    sbuf_puts(b, "\">");
    put_utc(b, a->started_at, x->now_ms, 0);
    sbuf_puts(b, " <span class=\"muted\">");
    put_ago(b, (x->now_ms - a->started_at) / 1000);
    sbuf_puts(b, "</span></td><td>");
    put_text(b, a->cluster);
    sbuf_puts(b, "</td><td>");
    put_severity_badge(b, a->severity);
    sbuf_puts(b, "</td><td class=\"type\">");
    put_text(b, a->rule);
    sbuf_puts(b, "</td><td>");
    put_addr(b, a->node);
    sbuf_puts(b, "</td><td class=\"msg\">");
    sbuf_html(b, a->message);
    sbuf_puts(b, "</td><td>");
    if (a->resolved_at) {
        sbuf_puts(b, "<span class=\"badge al-resolved\">resolved</span> <span class=\"muted\" "
                     "title=\"resolved ");
        put_utc(b, a->resolved_at, x->now_ms, 1);
        sbuf_puts(b, "\">after ");
        put_duration(b, a->resolved_at >= a->started_at ? a->resolved_at - a->started_at : -1);
        sbuf_puts(b, "</span>");
    } else {
        sbuf_puts(b, "<span class=\"badge al-active\">active</span>");
    }
    sbuf_puts(b, "</td><td class=\"msg\">");
    if (a->acked_by[0])
        put_ack(b, a, x->now_ms);
    else
        sbuf_puts(b, "<span class=\"muted\">no</span>");
    sbuf_puts(b, "</td></tr>\n");
}

/* The alerts of the chosen cluster, active and resolved, newest first, with
 * who acknowledged them; paged by abefore. */
static void render_history_alerts(sbuf *b, struct db *d, const hist_query *h, int64_t now_ms)
{
    event_ctx x;
    int n = -1;

    memset(&x, 0, sizeof x);
    x.b = b;
    x.now_ms = now_ms;
    x.max = UI_HIST_ALERTS;
    sbuf_puts(b, "<h3>Alerts <span class=\"note\">(active and resolved");
    if (h->type[0] || h->node[0] || h->since || h->until)
        sbuf_puts(b, "; filtered by cluster only");
    sbuf_puts(b, ")</span></h3>\n<div class=\"scroll\"><table class=\"alerthist\"><thead><tr>"
                 "<th>started (UTC)</th><th>cluster</th><th>severity</th><th>rule</th>"
                 "<th>node</th><th>message</th><th>state</th><th>acknowledged</th>"
                 "</tr></thead><tbody>\n");
    if (d)
        n = db_query_alerts(d, 0, h->cluster[0] ? h->cluster : NULL, h->abefore,
                            UI_HIST_ALERTS + 1, render_alert_row, &x);
    if (n == 0)
        sbuf_puts(b, "<tr><td colspan=\"8\" class=\"empty\">no alert recorded</td></tr>\n");
    else if (n < 0)
        sbuf_puts(b, "<tr><td colspan=\"8\" class=\"empty bad\">alerts unavailable "
                     "(database error)</td></tr>\n");
    sbuf_puts(b, "</tbody></table></div>\n<div class=\"pager\">");
    if (n > x.max && x.last_id > 0)
        put_page_button(b, "older alerts \xe2\x86\x92", h->before, h->fbefore, x.last_id, h->limit);
    if (h->abefore > 0)
        put_page_button(b, "\xe2\x86\x90 newest alerts", h->before, h->fbefore, 0, h->limit);
    sbuf_puts(b, "</div>\n");
}

/* The history view: the filter form, then (unless err is set, which is shown
 * instead) the failovers of the chosen cluster and the matching events, each
 * newest first with an "older" button when the page came back full. */
static void render_history(sbuf *b, struct db *d, const topo_snap *t, const hist_query *h,
                           const char *err, int64_t now_ms)
{
    event_query q;
    failover_query fq;
    event_ctx ex;
    event_ctx fx;
    int n = -1, nf = -1;

    render_history_form(b, t, h);
    if (err && err[0] != '\0') {
        sbuf_puts(b, "<p class=\"formerr\" role=\"alert\">");
        sbuf_html(b, err);
        sbuf_puts(b, "</p>\n");
        return;
    }

    memset(&fq, 0, sizeof fq);
    memset(&fx, 0, sizeof fx);
    fq.cluster = h->cluster[0] ? h->cluster : NULL;
    fq.before = h->fbefore;
    fq.limit = UI_HIST_FAILOVERS + 1; /* one more tells whether an older page exists */
    fx.b = b;
    fx.now_ms = now_ms;
    fx.max = UI_HIST_FAILOVERS;
    sbuf_puts(b, "<h3>Failovers");
    if (h->type[0] || h->node[0] || h->since || h->until)
        sbuf_puts(b, " <span class=\"note\">(filtered by cluster only; type, node and time "
                     "filter the events)</span>");
    sbuf_puts(b, "</h3>\n<div class=\"scroll\"><table class=\"failovers\"><thead><tr>"
                 "<th>started (UTC)</th><th>cluster</th><th>kind</th><th>old \xe2\x86\x92 new "
                 "master</th><th class=\"num\">duration</th><th class=\"num\">writes paused</th>"
                 "<th>status</th><th>actor</th><th>reason</th><th>job</th>"
                 "</tr></thead><tbody>\n");
    if (d) nf = db_query_failovers(d, &fq, render_failover_row, &fx);
    if (nf == 0)
        sbuf_puts(b, "<tr><td colspan=\"10\" class=\"empty\">no failover recorded"
                     "</td></tr>\n");
    else if (nf < 0)
        sbuf_puts(b, "<tr><td colspan=\"10\" class=\"empty bad\">failovers unavailable "
                     "(database error)</td></tr>\n");
    sbuf_puts(b, "</tbody></table></div>\n<div class=\"pager\">");
    if (nf > fx.max && fx.last_id > 0)
        put_page_button(b, "older failovers \xe2\x86\x92", h->before, fx.last_id, h->abefore,
                        h->limit);
    if (h->fbefore > 0)
        put_page_button(b, "\xe2\x86\x90 newest failovers", h->before, 0, h->abefore, h->limit);
    sbuf_puts(b, "</div>\n");

    render_history_alerts(b, d, h, now_ms);

    memset(&q, 0, sizeof q);
    memset(&ex, 0, sizeof ex);
    q.cluster = h->cluster[0] ? h->cluster : NULL;
    q.type = h->type[0] ? h->type : NULL;
    q.node = h->node[0] ? h->node : NULL;
    q.since = h->since;
    q.until = h->until;
    q.before = h->before;
    q.limit = (int)h->limit + 1;
    ex.b = b;
    ex.now_ms = now_ms;
    ex.with_cluster = 1;
    ex.max = (int)h->limit;
    sbuf_puts(b, "<h3>Events</h3>\n<div class=\"scroll\"><table class=\"events\"><thead><tr>"
                 "<th>time (UTC)</th><th>cluster</th><th>severity</th><th>type</th><th>node</th>"
                 "<th>message</th></tr></thead><tbody>\n");
    if (d) n = db_query_events(d, &q, render_event_row, &ex);
    if (n == 0)
        sbuf_puts(b, "<tr><td colspan=\"6\" class=\"empty\">no event matches</td></tr>\n");
    else if (n < 0)
        sbuf_puts(b, "<tr><td colspan=\"6\" class=\"empty bad\">events unavailable "
                     "(database error)</td></tr>\n");
    sbuf_puts(b, "</tbody></table></div>\n<div class=\"pager\">");
    if (n > ex.max && ex.last_id > 0)
        put_page_button(b, "older events \xe2\x86\x92", ex.last_id, h->fbefore, h->abefore,
                        h->limit);
    if (h->before > 0)
        put_page_button(b, "\xe2\x86\x90 newest events", 0, h->fbefore, h->abefore, h->limit);
    sbuf_puts(b, "</div>\n");
}

int ui_history(hreq *r)
{
    sbuf b = SBUF_INIT;
    struct db *d = r->app ? r->app->db : NULL;
    topo_snap *t = topo_acquire();
    hist_query h;
    char err[200];
    int status;

    status = parse_history_query(r, &h, err, sizeof err) < 0 ? 400 : 200;
    render_history(&b, d, t, &h, status == 400 ? err : NULL, hp_now_ms());
    if (t) topo_release(t);
    status = send_fragment(r, status, &b);
    sbuf_release(&b);
    return status;
}

/* ---------------------------------------------------------------------------
 * Notifications
 * ------------------------------------------------------------------------ */

/* Up to max bytes of s, cut on a UTF-8 character boundary, with an ellipsis
 * when cut; escaped. */
static void put_cut(sbuf *b, const char *s, size_t max)
{
    size_t n = strlen(s);
    char *t;

    if (n <= max) {
        sbuf_html(b, s);
        return;
    }
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80) max--; /* not mid-character */
    t = malloc(max + 1);
    if (!t) {
        b->failed = 1;
        return;
    }
    memcpy(t, s, max);
    t[max] = '\0';
    sbuf_html(b, t);
    sbuf_puts(b, "\xe2\x80\xa6");
    free(t);
}

typedef struct outbox_ctx {
    sbuf *rows;      /* the listed messages */
    int64_t now_ms;
    int count;       /* rows seen */
    int recent;      /* failed ones created in the last 24 h */
    int retrying;    /* pending ones that were tried and will be again */
    int listed, max; /* rows rendered into rows, at most max */
    int64_t last_delivered;
} outbox_ctx;

/* One failed or retrying message: state, age, channel, severity, attempts,
 * the text (cut; all of it in the tooltip) and the last error. */
static void render_outbox_row(outbox_ctx *x, const outbox_row *o, int failed)
{
    sbuf *b = x->rows;
    const char *text = o->text ? o->text : "";

    sbuf_printf(b, "<tr class=\"outbox-%s\"><td>", failed ? "failed" : "retrying");
    sbuf_printf(b, "<span class=\"badge ob-%s\">%s</span>", failed ? "failed" : "retrying",
                failed ? "failed" : "retrying");
    sbuf_puts(b, "</td><td class=\"time\" title=\"created ");
    put_utc(b, o->created_at, x->now_ms, 1);
    sbuf_puts(b, "\">");
    put_ago(b, (x->now_ms - o->created_at) / 1000);
    sbuf_puts(b, "</td><td>");
    put_text(b, o->channel);
    sbuf_puts(b, "</td><td>");
    put_severity_badge(b, o->severity);
    sbuf_printf(b, "</td><td class=\"num\">%d", o->attempts);
    if (!failed && o->next_at > 0) {
        sbuf_puts(b, " <span class=\"muted\">next in ");
        put_duration(b, o->next_at > x->now_ms ? o->next_at - x->now_ms : 0);
        sbuf_puts(b, "</span>");
    }
    sbuf_puts(b, "</td><td class=\"msg\" title=\"");
    sbuf_html(b, text);
    sbuf_puts(b, "\">");
    put_cut(b, text, UI_NOTIFY_TEXT);
    sbuf_puts(b, "</td><td class=\"msg err\">");
    put_text(b, o->last_error);
    sbuf_puts(b, "</td></tr>\n");
}

/* db_outbox_fn for the failed state: counts, lists the newest. */
static void count_failed(void *ctx, const outbox_row *o)
{
    outbox_ctx *x = ctx;
    x->count++;
    if (x->now_ms - o->created_at < 86400000LL) x->recent++;
    if (x->listed < x->max) {
        x->listed++;
        render_outbox_row(x, o, 1);
    }
}

/* db_outbox_fn for the pending state: counts, lists the newest retried. */
static void count_pending(void *ctx, const outbox_row *o)
{
    outbox_ctx *x = ctx;
    x->count++;
    if (o->attempts <= 0) return;
    x->retrying++;
    if (x->listed < x->max) {
        x->listed++;
        render_outbox_row(x, o, 0);
    }
}

/* db_outbox_fn for the delivered state: the newest one's time. */
static void note_delivered(void *ctx, const outbox_row *o)
{
    outbox_ctx *x = ctx;
    if (o->delivered_at > x->last_delivered) x->last_delivered = o->delivered_at;
}

/* The notification health panel: the channels, how many messages wait
 * (and how many of those are being retried), how many failed for good, when
 * one was last delivered, and the newest failed and retrying messages with
 * their last error. Its class (nt-ok, nt-warn, nt-bad, nt-none) is chosen
 * here from fixed words. cfg may be NULL (no channel known). */
static void render_notifications(sbuf *b, struct db *d, const config *cfg, int64_t now_ms)
{
    sbuf rows = SBUF_INIT;
    outbox_ctx f, p, dl;
    int nf = -1, np = -1, nd = -1, i, nch = cfg ? cfg->nchannels : 0;
    const char *cls;

    memset(&f, 0, sizeof f);
    memset(&p, 0, sizeof p);
    memset(&dl, 0, sizeof dl);
    f.rows = p.rows = &rows;
    f.now_ms = p.now_ms = dl.now_ms = now_ms;
    f.max = UI_NOTIFY_FAILED;
    p.max = UI_NOTIFY_RETRYING;
    if (d) {
        nf = db_query_outbox(d, "failed", 0, UI_NOTIFY_COUNT, count_failed, &f);
        np = db_query_outbox(d, "pending", 0, UI_NOTIFY_COUNT, count_pending, &p);
        nd = db_query_outbox(d, "delivered", 0, 1, note_delivered, &dl);
    }
    if (nf < 0 || np < 0 || nd < 0)
        cls = "bad";
    else if (f.recent > 0)
        cls = "bad";
    else if (nf > 0 || p.retrying > 0)
        cls = "warn";
    else if (nch > 0)
        cls = "ok";
    else
        cls = np > 0 || nd > 0 ? "warn" : "none";

    sbuf_printf(b, "<div class=\"notify nt-%s\" data-pending=\"%d\" data-failed=\"%d\">"
                   "<div class=\"ntline\"><span class=\"k\">Notifications</span> ",
                cls, np < 0 ? 0 : np, nf < 0 ? 0 : nf);
    if (nch == 0) {
        sbuf_puts(b, "<span class=\"muted\">no channel configured</span>");
    } else {
        sbuf_printf(b, "<span>%d channel%s: ", nch, nch == 1 ? "" : "s");
        for (i = 0; i < nch; i++) {
            sbuf_puts(b, i ? ", <span class=\"chan\">" : "<span class=\"chan\">");
            sbuf_html(b, cfg->channels[i].name);
            sbuf_puts(b, "</span>");
        }
        sbuf_puts(b, "</span>");
    }
    if (nf < 0 || np < 0 || nd < 0) {
        sbuf_puts(b, " \xc2\xb7 <span class=\"bad\">outbox unavailable (database error)</span>"
                     "</div></div>\n");
        sbuf_release(&rows);
        return;
    }
    sbuf_printf(b, " \xc2\xb7 <span class=\"badge %s\">%d%s pending</span>",
                p.retrying ? "ob-retrying" : np ? "ob-pending" : "ob-zero", np,
                np >= UI_NOTIFY_COUNT ? "+" : "");
    if (p.retrying) sbuf_printf(b, " <span class=\"warn\">%d retrying</span>", p.retrying);
    sbuf_printf(b, " \xc2\xb7 <span class=\"badge %s\">%d%s failed</span>",
                nf ? "ob-failed" : "ob-zero", nf, nf >= UI_NOTIFY_COUNT ? "+" : "");
    if (nf)
        sbuf_printf(b, " <span class=\"%s\">(%d in the last 24 h)</span>",
                    f.recent ? "bad" : "muted", f.recent);
    sbuf_puts(b, " \xc2\xb7 <span class=\"muted\">last delivered ");
    if (dl.last_delivered > 0) {
        sbuf_puts(b, "<span title=\"");
        put_utc(b, dl.last_delivered, now_ms, 1);
        sbuf_puts(b, "\">");
        put_ago(b, (now_ms - dl.last_delivered) / 1000);
        sbuf_puts(b, "</span>");
    } else {
        sbuf_puts(b, "never");
    }
    sbuf_puts(b, "</span></div>\n");
    if (rows.len) {
        sbuf_puts(b, "<div class=\"scroll\"><table class=\"outbox\"><thead><tr><th>state</th>"
                     "<th>created</th><th>channel</th><th>severity</th>"
                     "<th class=\"num\">attempts</th><th>message</th><th>last error</th>"
                     "</tr></thead><tbody>\n");
        sbuf_append(b, rows.buf, rows.len);
        sbuf_puts(b, "</tbody></table></div>\n");
    }
    if (sbuf_failed(&rows)) b->failed = 1;
    sbuf_release(&rows);
    sbuf_puts(b, "</div>\n");
}

int ui_notifications(hreq *r)
{
    sbuf b = SBUF_INIT;
    struct db *d = r->app ? r->app->db : NULL;
    int status;

    render_notifications(&b, d, r->app ? r->app->cfg : NULL, hp_now_ms());
    status = send_fragment(r, 200, &b);
    sbuf_release(&b);
    return status;
}

/* ---------------------------------------------------------------------------
 * Cluster and page
 * ------------------------------------------------------------------------ */

/* One cluster: header facts and the failover button, the active alerts (with
 * ack buttons), problems, nodes (with resync and BGSAVE buttons), Sentinels
 * (with the reset button), backups (with "back up now", download and delete),
 * recent jobs, events. */
static void render_cluster(sbuf *b, struct db *d, const cluster_snap *c, int64_t now_ms)
{
    const char *st = status_class(c->status);
    sbuf jobs = SBUF_INIT;
    jobs_ctx act;
    int64_t active;

    render_recent_jobs(&jobs, d, c, now_ms, &act);
    active = act.active_id;

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
    sbuf_puts(b, "</span>");

    if (active > 0) {
        sbuf_puts(b, "<span class=\"fact\"><span class=\"k\">job</span> ");
        put_job_link(b, active);
        sbuf_puts(b, " <span class=\"badge job-running\">active</span></span>");
    }
    sbuf_puts(b, "<span class=\"spacer\"></span><button type=\"button\" class=\"act act-main\" "
                 "data-act=\"failover\"");
    put_attr(b, "data-cluster", c->name);
    put_attr(b, "data-master", c->master);
    if (c->failover_in_progress)
        sbuf_puts(b, " disabled title=\"a Sentinel failover is in progress\"");
    else if (act.active_topo > 0)
        sbuf_puts(b, " disabled title=\"a job is running on this cluster\"");
    else
        sbuf_puts(b, " title=\"graceful switchover or forced failover\"");
    sbuf_puts(b, ">failover\xe2\x80\xa6</button></header>\n");

    render_alert_strip(b, d, c, now_ms);
    render_problems(b, c);
    render_nodes(b, c, now_ms, act.active_backup);
    render_sentinels(b, c, now_ms);
    render_backups(b, d, c, now_ms, act.active_backup);
    if (jobs.len) sbuf_append(b, jobs.buf, jobs.len);
    if (sbuf_failed(&jobs)) b->failed = 1; /* the failure sticks, as in sbuf */
    sbuf_release(&jobs);
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
