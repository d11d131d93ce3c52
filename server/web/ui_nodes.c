/* ui_nodes.c — a cluster's nodes, Sentinels and problems, as the cluster
 * list draws them (see ui_internal.h; its events: ui_events.c). */
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
            snprintf(word, sizeof word, "%.*s", (int)(len < sizeof word ? len : sizeof word - 1),
                     p);
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
        sbuf_puts(b, "<button type=\"button\" class=\"act\" data-act=\"resync\" "
                     "data-needs=\"operator\"");
        ui__put_attr(b, "data-cluster", c->name);
        ui__put_attr(b, "data-node", n->addr);
        ui__put_attr(b, "data-master", c->master);
        if (why)
            sbuf_printf(b, " disabled title=\"%s\"", why);
        else
            sbuf_puts(b, " title=\"re-attach this replica to the master, optionally with a full "
                         "sync\"");
        sbuf_puts(b, ">resync\xe2\x80\xa6</button> ");
    }
    sbuf_puts(b, "<button type=\"button\" class=\"act\" data-act=\"bgsave\" "
                 "data-needs=\"operator\"");
    ui__put_attr(b, "data-cluster", c->name);
    ui__put_attr(b, "data-node", n->addr);
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
    ui__put_bytes(b, n->used_memory);
    sbuf_puts(b, " / ");
    if (n->maxmemory == 0)
        sbuf_puts(b, "<span class=\"muted\">no limit</span>");
    else
        ui__put_bytes(b, n->maxmemory);
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
        ui__put_utc(b, n->rdb_last_save_time * 1000, now_ms, 1);
        sbuf_puts(b, "\">saved ");
        ui__put_ago(b, now_ms / 1000 - n->rdb_last_save_time);
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
    ui__put_int(b, n->rdb_changes_since_last_save);
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
    ui__put_attr(b, "data-addr", n->addr);
    sbuf_printf(b, " data-cand=\"%s\">", candidate_note(n, master));

    /* address */
    sbuf_puts(b, "<td>");
    ui__put_addr(b, n->addr);
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
            ui__put_ago(b, (now_ms - n->last_ok_ms) / 1000);
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
        ui__put_addr(b, n->master_addr);
    else
        sbuf_puts(b, UI_DASH);
    sbuf_puts(b, "</td>");

    /* lag */
    sbuf_puts(b, "<td class=\"num\">");
    if (replica && n->lag_bytes >= 0) {
        sbuf_printf(b, "<span title=\"%lld bytes\">", (long long)n->lag_bytes);
        ui__put_bytes(b, n->lag_bytes);
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
    ui__put_int(b, n->connected_clients);
    sbuf_puts(b, "</td>");

    render_persistence_cell(b, n, now_ms);

    /* priority (0 = never promoted), version */
    if (n->priority == 0)
        sbuf_puts(b, "<td class=\"num\" title=\"replica-priority 0: never promoted\">0</td>");
    else {
        sbuf_puts(b, "<td class=\"num\">");
        ui__put_int(b, n->priority);
        sbuf_puts(b, "</td>");
    }
    sbuf_puts(b, "<td>");
    ui__put_text(b, n->redis_version);
    sbuf_puts(b, "</td>");
    render_node_actions(b, n, c, backup_job);
    sbuf_puts(b, "</tr>\n");
}

void ui__render_nodes(sbuf *b, const cluster_snap *c, int64_t now_ms, int64_t backup_job)
{
    int i;

    sbuf_puts(b, "<h3>Nodes</h3>\n<div class=\"scroll\" tabindex=\"0\" role=\"region\" "
                 "aria-label=\"Nodes table\"><table class=\"nodes\"><thead><tr>"
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
    ui__put_addr(b, s->addr);
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
            ui__put_ago(b, (now_ms - s->last_ok_ms) / 1000);
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
    ui__put_text(b, s->flags);
    sbuf_puts(b, "</td>");

    if (s->sees_master[0] != '\0' && c->master[0] != '\0' && strcmp(s->sees_master, c->master) != 0)
        sbuf_puts(b, "<td class=\"bad\" title=\"differs from the cluster's master\">");
    else
        sbuf_puts(b, "<td>");
    ui__put_addr(b, s->sees_master);
    sbuf_puts(b, "</td>");

    if (s->quorum >= 0 && c->quorum_configured > 0 && s->quorum != c->quorum_configured)
        sbuf_puts(b, "<td class=\"num warn\" title=\"differs from the other Sentinels\">");
    else
        sbuf_puts(b, "<td class=\"num\">");
    ui__put_int(b, s->quorum);
    sbuf_puts(b, "</td>");

    sbuf_puts(b, s->failover_in_progress > 0 ? "<td><span class=\"bad\">in progress</span></td>"
                                             : "<td>no</td>");
    sbuf_puts(b, "<td>");
    ui__put_text(b, s->redis_version);
    sbuf_puts(b, "</td></tr>\n");
}

void ui__render_sentinels(sbuf *b, const cluster_snap *c, int64_t now_ms)
{
    int i;

    sbuf_puts(b, "<h3>Sentinels <button type=\"button\" class=\"act\" data-act=\"reset\" "
                 "data-needs=\"operator\"");
    ui__put_attr(b, "data-cluster", c->name);
    sbuf_printf(b, " data-sentinels=\"%d\"", c->nsentinels);
    if (c->failover_in_progress)
        sbuf_puts(b, " disabled title=\"a Sentinel failover is in progress\"");
    else
        sbuf_puts(b, " title=\"SENTINEL RESET on each Sentinel in turn\"");
    sbuf_puts(b, ">reset Sentinels\xe2\x80\xa6</button></h3>\n"
                 "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Sentinels "
                 "table\"><table class=\"sentinels\"><thead><tr>"
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
 * Problems
 * ------------------------------------------------------------------------ */

/* The problems list, critical first, then warnings, then the rest. */
void ui__render_problems(sbuf *b, const cluster_snap *c)
{
    static const char *const order[] = {"critical", "warning", NULL};
    int pass, i;

    if (c->nproblems == 0) return;
    sbuf_puts(b, "<ul class=\"problems\">\n");
    for (pass = 0; pass < 3; pass++) {
        for (i = 0; i < c->nproblems; i++) {
            const snap_problem *p = &c->problems[i];
            const char *sev = ui__severity_class(p->severity);
            int mine = order[pass] ? strcmp(sev, order[pass]) == 0
                                   : strcmp(sev, "critical") != 0 && strcmp(sev, "warning") != 0;
            if (!mine) continue;
            sbuf_printf(b, "<li class=\"sev-%s\">", sev);
            ui__put_severity_badge(b, p->severity);
            if (p->node[0] != '\0') {
                sbuf_puts(b, " ");
                ui__put_addr(b, p->node);
            }
            sbuf_puts(b, " ");
            sbuf_html(b, p->message);
            sbuf_puts(b, "</li>\n");
        }
    }
    sbuf_puts(b, "</ul>\n");
}
