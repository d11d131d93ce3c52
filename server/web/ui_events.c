/* ui_events.c — the dashboard's event rows (a cluster's latest events and
 * the History's events table; see ui_internal.h). Every Sentinel publishes
 * what it sees, so one +sdown of a replica arrives three times, from three
 * Sentinels, within a second or so: the rows group the reports of the same
 * event (same cluster, type and node, or message when there is no node)
 * that came from different Sentinels within UI_GROUP_MS of the first, and
 * name the Sentinels that reported it. A Sentinel event's raw payload
 * ("slave 10.0.0.2:6379 10.0.0.2 6379 @ mymaster 10.0.0.1 6379") is said in
 * words where its type is known, the payload kept in the tooltip. It renders
 * only: the events come from the database's queries. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "web/ui_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/banned.h" /* last: after every system header */

#define UI_REPORTERS 8 /* Sentinels named per row (more are counted) */

typedef struct ev_grp {
    hp_event e;        /* the newest report */
    int64_t oldest_ts; /* the first report */
    int open;          /* more reports may still join */
    int nby, more;     /* reporters named, and beyond UI_REPORTERS */
    char by[UI_REPORTERS][HP_ADDR_MAX];
} ev_grp;

struct ui_evrows {
    sbuf *b;
    int64_t now_ms;
    int with_cluster;
    int max_rows, max_events; /* 0 = no limit */
    int rows, events;
    int64_t last_id;
    ev_grp *g; /* pending groups, oldest first reported last */
    int ng, cap;
};

/* ---------------------------------------------------------------------------
 * Sentinel payloads in words
 * ------------------------------------------------------------------------ */

/* Splits the payload into at most n words of at most HP_ADDR_MAX bytes. */
static int words(const char *s, char w[][HP_ADDR_MAX], int n)
{
    int k = 0;
    while (*s && k < n) {
        size_t len;
        s += strspn(s, " ");
        len = strcspn(s, " ");
        if (len == 0) break;
        snprintf(w[k++], HP_ADDR_MAX, "%.*s", (int)(len < HP_ADDR_MAX ? len : HP_ADDR_MAX - 1), s);
        s += len;
    }
    return k;
}

/* What kind of instance the payload is about, in the page's words. */
static const char *instance_word(const char *w0)
{
    if (strcmp(w0, "master") == 0) return "master";
    if (strcmp(w0, "slave") == 0) return "replica";
    if (strcmp(w0, "sentinel") == 0) return "Sentinel";
    return NULL;
}

/* The payload of a Sentinel event: its message is "<type> <payload>". */
static const char *payload_of(const hp_event *e)
{
    size_t n = strlen(e->type);
    if (n > 0 && strncmp(e->message, e->type, n) == 0 && e->message[n] == ' ')
        return e->message + n + 1;
    return NULL;
}

/* Writes the event in words into out (plain text, escaped by the caller).
 * Returns 0 when its type is not one that has words. */
static int human_text(const hp_event *e, char *out, size_t outsz)
{
    const char *p = payload_of(e), *t = e->type, *what, *a = e->node[0] ? e->node : "?";
    char w[10][HP_ADDR_MAX];
    int n;

    /* +switch-master's message is already in words (old -> new master) */
    if (strncmp(e->source, "sentinel ", 9) != 0 || !p) return 0;
    n = words(p, w, 10);
    what = n > 0 ? instance_word(w[0]) : NULL;
    if (!what) what = "instance";
    if (strcmp(t, "+sdown") == 0)
        snprintf(out, outsz, "%s %s is not answering (subjectively down)", what, a);
    else if (strcmp(t, "-sdown") == 0)
        snprintf(out, outsz, "%s %s answers again (no longer subjectively down)", what, a);
    else if (strcmp(t, "+odown") == 0) {
        int agree = 0, need = 0, i;
        for (i = 0; i + 1 < n; i++)
            if (strcmp(w[i], "#quorum") == 0 && sscanf(w[i + 1], "%d/%d", &agree, &need) == 2)
                break;
        if (need > 0)
            snprintf(out, outsz,
                     "master %s is down by quorum (objectively down): %d Sentinels "
                     "agree, %d needed",
                     a, agree, need);
        else
            snprintf(out, outsz, "master %s is down by quorum (objectively down)", a);
    } else if (strcmp(t, "-odown") == 0)
        snprintf(out, outsz, "master %s is no longer down by quorum", a);
    else if (strcmp(t, "+sentinel") == 0)
        snprintf(out, outsz, "new Sentinel %s discovered", a);
    else if (strcmp(t, "+slave") == 0)
        snprintf(out, outsz, "new replica %s discovered", a);
    else if (strcmp(t, "-dup-sentinel") == 0)
        snprintf(out, outsz, "duplicate Sentinel %s removed (it restarted with a new id)", a);
    else if (strcmp(t, "+reset-master") == 0)
        snprintf(out, outsz, "the Sentinel reset its state for master %s (SENTINEL RESET)", a);
    else if (strcmp(t, "+new-epoch") == 0)
        snprintf(out, outsz, "configuration epoch is now %s", n > 0 ? w[0] : "?");
    else if (strcmp(t, "+try-failover") == 0)
        snprintf(out, outsz, "trying to start a failover of master %s", a);
    else if (strcmp(t, "+vote-for-leader") == 0)
        snprintf(out, outsz, "voted for a failover leader (epoch %s)", n > 1 ? w[1] : "?");
    else if (strcmp(t, "+elected-leader") == 0)
        snprintf(out, outsz, "elected to lead the failover of master %s", a);
    else if (strcmp(t, "+failover-state-select-slave") == 0)
        snprintf(out, outsz, "failover: choosing the replica to promote");
    else if (strcmp(t, "-failover-abort-no-good-slave") == 0 || strcmp(t, "no-good-slave") == 0)
        snprintf(out, outsz, "failover aborted: no replica good enough to promote");
    else if (strcmp(t, "-failover-abort-not-elected") == 0)
        snprintf(out, outsz, "failover aborted: this Sentinel was not elected leader");
    else if (strcmp(t, "+selected-slave") == 0)
        snprintf(out, outsz, "failover: replica %s chosen for promotion", a);
    else if (strcmp(t, "+failover-state-send-slaveof-noone") == 0)
        snprintf(out, outsz, "failover: promoting replica %s (REPLICAOF NO ONE)", a);
    else if (strcmp(t, "+failover-state-wait-promotion") == 0)
        snprintf(out, outsz, "failover: waiting for %s to report itself master", a);
    else if (strcmp(t, "+promoted-slave") == 0)
        snprintf(out, outsz, "replica %s promoted to master", a);
    else if (strcmp(t, "+failover-state-reconf-slaves") == 0)
        snprintf(out, outsz, "failover: pointing the other replicas at the new master");
    else if (strcmp(t, "+slave-reconf-sent") == 0)
        snprintf(out, outsz, "replica %s told to follow the new master", a);
    else if (strcmp(t, "+slave-reconf-inprog") == 0)
        snprintf(out, outsz, "replica %s is syncing with the new master", a);
    else if (strcmp(t, "+slave-reconf-done") == 0)
        snprintf(out, outsz, "replica %s follows the new master", a);
    else if (strcmp(t, "+failover-end") == 0)
        snprintf(out, outsz, "failover of master %s ended", a);
    else if (strcmp(t, "+failover-end-for-timeout") == 0)
        snprintf(out, outsz,
                 "failover ended by its timeout: some replicas may not follow the "
                 "new master yet");
    else if (strcmp(t, "+convert-to-slave") == 0)
        snprintf(out, outsz, "%s %s turned into a replica of the current master", what, a);
    else if (strcmp(t, "+fix-slave-config") == 0)
        snprintf(out, outsz, "replica %s pointed back at the right master", a);
    else if (strcmp(t, "+role-change") == 0)
        snprintf(out, outsz, "%s %s reports a new role", what, a);
    else if (strcmp(t, "+tilt") == 0)
        snprintf(out, outsz,
                 "the Sentinel entered TILT mode (its clock jumped or it stalled): "
                 "it acts on nothing for 30 s");
    else if (strcmp(t, "-tilt") == 0)
        snprintf(out, outsz, "the Sentinel left TILT mode");
    else if (strcmp(t, "+config-update-from") == 0)
        snprintf(out, outsz, "configuration updated from Sentinel %s", a);
    else if (strcmp(t, "+reboot") == 0)
        snprintf(out, outsz, "%s %s restarted", what, a);
    else if (strcmp(t, "+monitor") == 0)
        snprintf(out, outsz, "the Sentinel started monitoring master %s", a);
    else if (strcmp(t, "-monitor") == 0)
        snprintf(out, outsz, "the Sentinel stopped monitoring master %s", a);
    else if (strcmp(t, "+failover-detected") == 0)
        snprintf(out, outsz, "a failover was detected: %s was promoted without the Sentinels", a);
    else if (strncmp(t, "+failover-state-", 16) == 0)
        snprintf(out, outsz, "failover state: %s", t + 16);
    else
        return 0;
    return 1;
}

/* ---------------------------------------------------------------------------
 * Rows, grouped
 * ------------------------------------------------------------------------ */

static const char *sentinel_of(const hp_event *e)
{
    return strncmp(e->source, "sentinel ", 9) == 0 ? e->source + 9 : NULL;
}

static void render_group(ui_evrows *x, const ev_grp *g)
{
    sbuf *b = x->b;
    const hp_event *e = &g->e;
    char text[600];
    int i, human = human_text(e, text, sizeof text);

    sbuf_printf(b, "<tr class=\"event sev-%s\" data-reporters=\"%d\"><td class=\"time\" title=\"",
                strcmp(e->type, "alert-resolved") == 0 ? "resolved"
                                                       : ui__severity_class(e->severity),
                g->nby + g->more);
    ui__put_utc(b, g->oldest_ts, x->now_ms, 1);
    if (g->nby + g->more > 1) {
        sbuf_puts(b, "; last report ");
        ui__put_utc_ms(b, e->ts);
    }
    sbuf_puts(b, "\">");
    ui__put_utc(b, g->oldest_ts, x->now_ms, 0);
    sbuf_puts(b, " <span class=\"muted\">");
    ui__put_ago(b, (x->now_ms - g->oldest_ts) / 1000);
    sbuf_puts(b, "</span></td>");
    if (x->with_cluster) {
        sbuf_puts(b, "<td>");
        ui__put_text(b, e->cluster);
        sbuf_puts(b, "</td>");
    }
    sbuf_puts(b, "<td>");
    ui__put_event_badge(b, e);
    sbuf_puts(b, "</td><td class=\"type\" title=\"");
    if (g->nby + g->more > 1)
        sbuf_printf(b, "reported by %d Sentinels", g->nby + g->more);
    else
        sbuf_html(b, e->source);
    sbuf_puts(b, "\">");
    ui__put_text(b, e->type);
    sbuf_puts(b, "</td><td>");
    ui__put_addr(b, e->node);
    sbuf_puts(b, "</td><td class=\"msg\"");
    if (human) {
        sbuf_puts(b, " title=\"");
        sbuf_html(b, e->message);
        sbuf_puts(b, "\">");
        sbuf_html(b, text);
    } else {
        sbuf_puts(b, ">");
        sbuf_html(b, e->message);
    }
    if (g->nby > 0) {
        sbuf_printf(b, " <span class=\"by\">reported by %s",
                    g->nby + g->more > 1 ? "" : "Sentinel ");
        for (i = 0; i < g->nby; i++) {
            sbuf_puts(b, i ? ", " : "");
            ui__put_addr(b, g->by[i]);
        }
        if (g->more) sbuf_printf(b, " and %d more", g->more);
        sbuf_puts(b, "</span>");
    }
    sbuf_puts(b, "</td></tr>\n");
    x->rows++;
}

/* Renders the groups at the head that no report can join any more (all of
 * them with all set), in the order of their newest report. */
static void flush(ui_evrows *x, int64_t ts, int all)
{
    int i = 0, k;
    while (i < x->ng && (all || !x->g[i].open || x->g[i].e.ts - ts > UI_GROUP_MS)) {
        if (!x->max_rows || x->rows < x->max_rows) render_group(x, &x->g[i]);
        i++;
    }
    for (k = i; k < x->ng; k++)
        x->g[k - i] = x->g[k];
    x->ng -= i;
}

static int same_event(const ev_grp *g, const hp_event *e)
{
    const char *s = sentinel_of(e);
    int i;
    if (!g->open || !s || strcmp(g->e.cluster, e->cluster) || strcmp(g->e.type, e->type)) return 0;
    if (e->node[0] ? strcmp(g->e.node, e->node) : strcmp(g->e.message, e->message)) return 0;
    if (g->e.ts - e->ts > UI_GROUP_MS) return 0;
    for (i = 0; i < g->nby; i++)
        if (strcmp(g->by[i], s) == 0) return 0; /* the same Sentinel twice: two events */
    return 1;
}

void ui__evrow_add(void *ctx, const hp_event *e)
{
    ui_evrows *x = ctx;
    const char *s = sentinel_of(e);
    ev_grp *g = NULL;
    int i;

    if (x->max_events && x->events >= x->max_events) return; /* the probe for an older page */
    if (x->max_rows && x->rows >= x->max_rows) return;
    x->events++;
    x->last_id = e->id;
    flush(x, e->ts, 0);
    for (i = 0; i < x->ng && !g; i++)
        if (same_event(&x->g[i], e)) g = &x->g[i];
    if (!g) {
        if (x->ng == x->cap) {
            int cap = x->cap ? x->cap * 2 : 8;
            ev_grp *ng = realloc(x->g, sizeof(*ng) * (size_t)cap);
            if (!ng) {
                x->b->failed = 1;
                return;
            }
            x->g = ng;
            x->cap = cap;
        }
        g = &x->g[x->ng++];
        memset(g, 0, sizeof(*g));
        g->e = *e;
        g->open = s != NULL;
    }
    g->oldest_ts = e->ts;
    if (s && g->nby < UI_REPORTERS)
        hp_strlcpy(g->by[g->nby++], s, sizeof(g->by[0]));
    else if (s)
        g->more++;
}

ui_evrows *ui__evrows_new(sbuf *b, int64_t now_ms, int with_cluster, int max_rows, int max_events)
{
    ui_evrows *x = calloc(1, sizeof(*x));
    if (!x) {
        b->failed = 1;
        return NULL;
    }
    x->b = b;
    x->now_ms = now_ms;
    x->with_cluster = with_cluster;
    x->max_rows = max_rows;
    x->max_events = max_events;
    return x;
}

int ui__evrows_finish(ui_evrows *x, int64_t *last_id)
{
    int rows;
    if (!x) return 0;
    flush(x, 0, 1);
    rows = x->rows;
    if (last_id) *last_id = x->last_id;
    free(x->g);
    free(x);
    return rows;
}

/* The cluster's latest UI_EVENTS events (grouped rows), newest first, from
 * the database's in-memory set (db_recent_events; a failing database costs
 * the table, not the page). */
void ui__render_event_list(sbuf *b, struct db *d, const cluster_snap *c, int64_t now_ms)
{
    ui_evrows *x;
    int n = -1;

    sbuf_puts(b, "<h3>Latest events</h3>\n<div class=\"scroll\" tabindex=\"0\" role=\"region\" "
                 "aria-label=\"Latest events table\"><table class=\"events\"><thead><tr>"
                 "<th>time (UTC)</th><th>severity</th><th>type</th><th>node</th><th>what</th>"
                 "</tr></thead><tbody>\n");
    x = ui__evrows_new(b, now_ms, 0, UI_EVENTS, 0);
    if (d && x) n = db_recent_events(d, c->name, UI_EVENTS_READ, ui__evrow_add, x);
    ui__evrows_finish(x, NULL);
    if (n == 0)
        sbuf_puts(b, "<tr><td colspan=\"5\" class=\"empty\">no events recorded yet</td></tr>\n");
    else if (n < 0)
        sbuf_puts(b, "<tr><td colspan=\"5\" class=\"empty bad\">events unavailable "
                     "(database error)</td></tr>\n");
    sbuf_puts(b, "</tbody></table></div>\n");
}
