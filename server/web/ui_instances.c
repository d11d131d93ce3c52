/* ui_instances.c — the dashboard's panel of hapanel instances (issue 15 item
 * 4): with [ha] on, GET /ui/instances lists every instance registered in etcd
 * (instances/<id>, on each one's lease, so a dead one drops out within its
 * TTL), which one leads and since when, which one is "this panel", and
 * etcd's state as this instance last saw it. Without [ha] the answer is
 * empty and carries no trigger, so the page never polls again.
 *
 * The list is the ha layer's copy (ha_instances: read from etcd every
 * HA_INST_REFRESH_MS by a thread of its own), so a hundred dashboards
 * polling this every 5 s cost etcd nothing and no request waits on it;
 * when the latest read failed the page says how old the list is. Who leads
 * and since when comes from ha_status_get, which the lease thread keeps
 * current, so a takeover shows on the next poll even while the list is
 * older. Every instance name, URL and version is configured or remote text,
 * and goes through sbuf_html(). It talks to no peer: not to Redis, etcd or
 * the database. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "web/ui_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h" /* last: after every system header */

#define UI_INST_POLL "every 5s" /* the fragment polls itself this often */

/* One instance's row: name, URL as text, role (leader since / follower) and
 * "this panel". */
static void put_row(sbuf *b, const char *id, const char *url, const char *version,
                    const ha_status *hs, int64_t now_ms)
{
    int leader = hs->leader_id[0] && !strcmp(id, hs->leader_id);
    int self = !strcmp(id, hs->self_id);

    sbuf_printf(b, "<li class=\"inst%s%s\" data-role=\"%s\"", leader ? " inst-leader" : "",
                self ? " inst-self" : "", leader ? "leader" : "follower");
    ui__put_attr(b, "data-instance", id);
    if (leader) sbuf_printf(b, " data-since=\"%lld\"", (long long)hs->leader_since_ms);
    sbuf_puts(b, "><strong class=\"iname\">");
    sbuf_html(b, id);
    sbuf_puts(b, "</strong> <span class=\"iurl\">");
    sbuf_html(b, url[0] ? url : UI_DASH);
    sbuf_puts(b, "</span> ");
    if (leader) {
        sbuf_puts(b, "<span class=\"badge st-ok\">leader</span> since <span title=\"");
        ui__put_utc(b, hs->leader_since_ms, now_ms, 1);
        sbuf_puts(b, "\">");
        ui__put_utc(b, hs->leader_since_ms, now_ms, 0);
        sbuf_puts(b, " UTC (");
        ui__put_ago(b, (now_ms - hs->leader_since_ms) / 1000);
        sbuf_puts(b, ")</span>");
    } else {
        sbuf_puts(b, "<span class=\"badge st-unknown\">follower</span>");
    }
    if (self) sbuf_puts(b, " <span class=\"badge self\">this panel</span>");
    if (version && version[0]) {
        sbuf_puts(b, " <span class=\"muted\">");
        sbuf_html(b, version);
        sbuf_puts(b, "</span>");
    }
    sbuf_puts(b, "</li>\n");
}

void ui__render_instances(sbuf *b, const ha_status *hs, const ui_inst_list *l, int have,
                          int64_t list_at_ms, int list_failed, int64_t now_ms)
{
    int i, self_seen = 0, leader_seen = 0;

    sbuf_puts(b, "<section id=\"hapanels\" class=\"instances\" hx-get=\"/ui/instances\" "
                 "hx-trigger=\"" UI_INST_POLL "\" hx-swap=\"outerHTML\" "
                 "aria-labelledby=\"hapanels-h\"><h2 id=\"hapanels-h\">Panel instances</h2>");
    sbuf_printf(b, " <span class=\"fact\"><span class=\"k\">etcd</span> %s</span>",
                hs->etcd_ok ? "<span class=\"badge st-ok\">ok</span>"
                            : "<span class=\"badge st-down\">unreachable</span>");
    sbuf_puts(b, " <span class=\"fact\"><span class=\"k\">leader</span> ");
    if (hs->leader_id[0])
        sbuf_html(b, hs->leader_id);
    else
        sbuf_puts(b, "<span class=\"bad\">none</span>");
    sbuf_puts(b, "</span>");
    if (hs->term > 0)
        sbuf_printf(b, " <span class=\"fact\"><span class=\"k\">term</span> %lld</span>",
                    (long long)hs->term);
    if (hs->last_ok_ms > 0 && !hs->etcd_ok) {
        sbuf_puts(b, " <span class=\"fact bad\">last answer ");
        ui__put_ago(b, (now_ms - hs->last_ok_ms) / 1000);
        sbuf_puts(b, "</span>");
    }
    sbuf_puts(b, "\n<ul class=\"instlist\">\n");
    for (i = 0; have && i < l->n; i++) {
        const ui_inst_row *r = &l->rows[i];
        if (!strcmp(r->id, hs->self_id)) self_seen = 1;
        if (hs->leader_id[0] && !strcmp(r->id, hs->leader_id)) leader_seen = 1;
        put_row(b, r->id, r->url, r->version, hs, now_ms);
    }
    /* the status is newer than the list: a leader or this panel it does not
     * have yet still shows */
    if (hs->leader_id[0] && !leader_seen) put_row(b, hs->leader_id, hs->leader_url, "", hs, now_ms);
    if (!self_seen && strcmp(hs->self_id, hs->leader_id) != 0)
        put_row(b, hs->self_id, hs->self_url, "", hs, now_ms);
    sbuf_puts(b, "</ul>");
    if (have && l->more)
        sbuf_printf(b, "<p class=\"muted\">only the first %d instances are listed</p>",
                    UI_INST_MAX);
    if (!have || list_failed) {
        sbuf_puts(b, "<p class=\"muted bad\">etcd did not answer the list of instances");
        if (have) {
            sbuf_puts(b, "; it is from ");
            ui__put_ago(b, (now_ms - list_at_ms) / 1000);
        }
        sbuf_puts(b, "</p>");
    }
    sbuf_puts(b, "</section>\n");
}

int ui_instances(hreq *r)
{
    sbuf b = SBUF_INIT;
    ha_status hs;
    ui_inst_list *l;
    int64_t now_ms = hp_now_ms(), at_ms = 0;
    int have = 0, failed = 0, status;

    ha_status_get(r->app ? r->app->ha : NULL, &hs);
    if (!hs.enabled) return ui__send_fragment(r, 200, &b); /* empty: no panel, no poll */
    l = calloc(1, sizeof(*l));
    if (!l) return http_error(r, 500, "internal", "out of memory");
    have = ha_instances(r->app->ha, l->rows, &l->n, &l->more, &at_ms, &failed);
    ui__render_instances(&b, &hs, l, have, at_ms, failed, now_ms);
    status = ui__send_fragment(r, 200, &b);
    sbuf_release(&b);
    free(l);
    return status;
}
