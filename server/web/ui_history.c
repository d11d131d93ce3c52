/* ui_history.c — the History screen (GET /ui/history): its filter form, the
 * failovers, alerts and events that match, paged (see ui_internal.h). */
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
#include "core/roles.h"
#include "core/banned.h" /* last: after every system header */

/* ---------------------------------------------------------------------------
 * History
 * ------------------------------------------------------------------------ */

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
int ui__parse_when(const char *s, int end_of_day, int64_t *out)
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
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 59)
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
    if (ui__parse_when(text, end_of_day, out) == 0) return 0;
    snprintf(err, errsz,
             "%s must be a UTC time like 2024-05-01 12:30 (or 2024-05-01, or milliseconds "
             "since the epoch)",
             name);
    return -1;
}

/* Parses GET /ui/history's query like GET /api/v1/events does. Returns 0, or
 * -1 with a message for the operator in err (the form is shown again). */
int ui__parse_history_query(const hreq *r, hist_query *h, char *err, size_t errsz)
{
    memset(h, 0, sizeof *h);
    h->limit = UI_HIST_EVENTS;
    err[0] = '\0';
    /* all texts first, so the form comes back filled in even after an error */
    if (hist_text(r, "cluster", h->cluster, sizeof h->cluster, err, errsz) |
        hist_text(r, "type", h->type, sizeof h->type, err, errsz) |
        hist_text(r, "severity", h->severity, sizeof h->severity, err, errsz) |
        hist_text(r, "node", h->node, sizeof h->node, err, errsz))
        return -1;
    {
        char part[16];
        if (http_query(r, "part", part, sizeof part) > 0 && strcmp(part, "tables") == 0)
            h->tables_only = 1;
    }
    {
        db_terms ts;
        if (db_terms_split(h->type, &ts) < 0) {
            snprintf(err, errsz,
                     "type: at most %d comma-separated types or prefixes, each "
                     "shorter than %d bytes",
                     DB_TERMS_MAX, DB_TERM_LEN);
            return -1;
        }
    }
    if (db_severity_mask(h->severity) < 0) {
        snprintf(err, errsz,
                 "severity must be info, warning or critical (or several, "
                 "comma-separated)");
        return -1;
    }
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

/* Common Sentinel channels and panel events, and prefixes that match
 * several (see db_type_matches), offered in the type filter. */
static const char *const hist_types[] = {"sdown",
                                         "odown",
                                         "failover",
                                         "alert",
                                         "node",
                                         "sentinel",
                                         "+switch-master",
                                         "+sdown",
                                         "-sdown",
                                         "+odown",
                                         "-odown",
                                         "+try-failover",
                                         "+failover-end",
                                         "+reset-master",
                                         "node-down",
                                         "node-up",
                                         "role-change",
                                         "link-down",
                                         "link-up",
                                         "split-brain",
                                         "split-brain-resolved",
                                         "quorum-lost",
                                         "quorum-regained",
                                         "cluster-name-clash",
                                         "cluster-name-clash-resolved",
                                         "master-changed",
                                         "sentinel-down",
                                         "sentinel-up",
                                         "job-started",
                                         "job-succeeded",
                                         "job-failed",
                                         "panel-started",
                                         "panel-stopped",
                                         NULL};

/* The severity filter's choices. */
static const struct {
    const char *value, *label;
} sev_choices[] = {{"", "any"},
                   {"critical", "critical"},
                   {"warning,critical", "warning or critical"},
                   {"warning", "warning"},
                   {"info", "info"},
                   {NULL, NULL}};

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
        ui__put_attr(b, "value", t->clusters[i]->name);
        sbuf_puts(b, sel ? " selected>" : ">");
        sbuf_html(b, t->clusters[i]->name);
        sbuf_puts(b, "</option>");
    }
    if (h->cluster[0] != '\0' && !(listed & 1)) { /* no longer monitored: still searchable */
        sbuf_puts(b, "<option");
        ui__put_attr(b, "value", h->cluster);
        sbuf_puts(b, " selected>");
        sbuf_html(b, h->cluster);
        sbuf_puts(b, "</option>");
    }
    sbuf_puts(b, "</select></label>\n<label title=\"comma-separated; each a prefix of the type: "
                 "sdown is +sdown and -sdown, +s every type starting with +s, node node-down and "
                 "node-up\">type <input name=\"type\" list=\"htypes\" size=\"16\" "
                 "placeholder=\"any, e.g. sdown,odown\"");
    ui__put_attr(b, "value", h->type);
    sbuf_puts(b, "></label><datalist id=\"htypes\">");
    for (i = 0; hist_types[i]; i++)
        sbuf_printf(b, "<option value=\"%s\">", hist_types[i]);
    sbuf_puts(b, "</datalist>\n<label>severity <select name=\"severity\">");
    for (i = 0; sev_choices[i].value; i++) {
        int sel = strcmp(h->severity, sev_choices[i].value) == 0;
        listed |= 2 * sel;
        sbuf_printf(b, "<option value=\"%s\"%s>%s</option>", sev_choices[i].value,
                    sel ? " selected" : "", sev_choices[i].label);
    }
    if (h->severity[0] && !(listed & 2)) { /* typed into the URL: shown as it is */
        sbuf_puts(b, "<option");
        ui__put_attr(b, "value", h->severity);
        sbuf_puts(b, " selected>");
        sbuf_html(b, h->severity);
        sbuf_puts(b, "</option>");
    }
    sbuf_puts(b, "</select></label>\n<label>node <input name=\"node\" size=\"18\" "
                 "placeholder=\"host:port\"");
    ui__put_attr(b, "value", h->node);
    sbuf_puts(b, "></label>\n<label>since <input name=\"since\" size=\"17\" "
                 "placeholder=\"YYYY-MM-DD HH:MM\"");
    ui__put_attr(b, "value", h->since_text);
    sbuf_puts(b, "></label>\n<label>until <input name=\"until\" size=\"17\" "
                 "placeholder=\"YYYY-MM-DD HH:MM\"");
    ui__put_attr(b, "value", h->until_text);
    sbuf_puts(b, "></label> <span class=\"muted\">UTC</span>\n"
                 "<button type=\"submit\">apply</button> "
                 "<button type=\"button\" hx-get=\"/ui/history\">clear</button>\n</form>\n");
}

/* db_failover_fn: one row of the failovers table. */
static void render_failover_row(void *ctx, const hp_failover *f)
{
    event_ctx *x = ctx;
    sbuf *b = x->b;
    const char *sc = ui__failover_status_class(f->status);

    if (x->shown >= x->max) return;
    x->shown++;
    x->last_id = f->id;
    sbuf_printf(b, "<tr class=\"failover fo-%s\"><td class=\"time\" title=\"", sc);
    ui__put_utc(b, f->started_at, x->now_ms, 1);
    sbuf_puts(b, "\">");
    ui__put_utc(b, f->started_at, x->now_ms, 0);
    sbuf_puts(b, " <span class=\"muted\">");
    ui__put_ago(b, (x->now_ms - f->started_at) / 1000);
    sbuf_puts(b, "</span></td><td>");
    ui__put_text(b, f->cluster);
    sbuf_printf(b, "</td><td><span class=\"badge fo-%s\">", ui__failover_kind_class(f->kind));
    ui__put_text(b, f->kind);
    sbuf_puts(b, "</span></td><td>");
    ui__put_addr(b, f->old_master);
    sbuf_puts(b, " \xe2\x86\x92 ");
    ui__put_addr(b, f->new_master);
    sbuf_puts(b, "</td><td class=\"num\">");
    ui__put_duration(b, f->duration_ms);
    sbuf_puts(b, "</td><td class=\"num\">");
    ui__put_duration(b, f->writes_paused_ms);
    sbuf_puts(b, "</td><td>");
    ui__put_job_badge(b, sc, f->status);
    sbuf_puts(b, "</td><td>");
    ui__put_text(b, f->actor);
    sbuf_puts(b, "</td><td class=\"msg\">");
    ui__put_text(b, f->reason);
    sbuf_puts(b, "</td><td>");
    if (f->job_id > 0)
        ui__put_job_link(b, f->job_id);
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
    sbuf_printf(b,
                "\" hx-include=\"#hfilters\" hx-target=\"#history\" hx-swap=\"innerHTML\">%s"
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
                ui__severity_class(a->severity), a->resolved_at ? "al-resolved" : "al-active");
    ui__put_utc(b, a->started_at, x->now_ms, 1);
    if (a->fired_at > a->started_at) {
        sbuf_puts(b, "; fired ");
        ui__put_utc(b, a->fired_at, x->now_ms, 1);
    }
    sbuf_puts(b, "\">");
    ui__put_utc(b, a->started_at, x->now_ms, 0);
    if (a->fired_at > a->started_at) {
        sbuf_puts(b, " <span class=\"muted\">fired after ");
        ui__put_duration(b, a->fired_at - a->started_at);
        sbuf_puts(b, ",</span>");
    }
    sbuf_puts(b, " <span class=\"muted\">");
    ui__put_ago(b, (x->now_ms - a->started_at) / 1000);
    sbuf_puts(b, "</span></td><td>");
    ui__put_text(b, a->cluster);
    sbuf_puts(b, "</td><td>");
    ui__put_severity_badge(b, a->severity);
    sbuf_puts(b, "</td><td class=\"type\">");
    ui__put_text(b, a->rule);
    sbuf_puts(b, "</td><td>");
    ui__put_addr(b, a->node);
    sbuf_puts(b, "</td><td class=\"msg\">");
    sbuf_html(b, a->message);
    sbuf_puts(b, "</td><td>");
    if (a->resolved_at) {
        sbuf_puts(b, "<span class=\"badge al-resolved\">resolved</span> <span class=\"muted\" "
                     "title=\"resolved ");
        ui__put_utc(b, a->resolved_at, x->now_ms, 1);
        sbuf_puts(b, "\">after ");
        ui__put_duration(b, a->resolved_at >= a->started_at ? a->resolved_at - a->started_at : -1);
        sbuf_puts(b, "</span>");
    } else {
        sbuf_puts(b, "<span class=\"badge al-active\">active</span>");
    }
    sbuf_puts(b, "</td><td class=\"msg\">");
    if (a->acked_by[0])
        ui__put_ack(b, a, x->now_ms);
    else
        sbuf_puts(b, "<span class=\"muted\">no</span>");
    sbuf_puts(b, "</td></tr>\n");
}

/* Whether any filter is set ("no ... matches" rather than "recorded"). */
static int filtered(const hist_query *h)
{
    return h->cluster[0] || h->type[0] || h->severity[0] || h->node[0] || h->since || h->until;
}

/* The alerts that match the filters, active and resolved, newest first,
 * with who acknowledged them; paged by abefore. */
static void render_history_alerts(sbuf *b, struct db *d, const hist_query *h, int64_t now_ms)
{
    alert_query aq;
    event_ctx x;
    int n = -1;

    memset(&x, 0, sizeof x);
    memset(&aq, 0, sizeof aq);
    x.b = b;
    x.now_ms = now_ms;
    x.max = UI_HIST_ALERTS;
    aq.cluster = h->cluster[0] ? h->cluster : NULL;
    aq.node = h->node[0] ? h->node : NULL;
    aq.types = h->type[0] ? h->type : NULL;
    aq.severities = h->severity[0] ? h->severity : NULL;
    aq.since = h->since;
    aq.until = h->until;
    aq.before = h->abefore;
    aq.limit = UI_HIST_ALERTS + 1;
    sbuf_puts(b, "<h3>Alerts <span class=\"note\">(active and resolved; a type matches the rule "
                 "by its start, alert every one; the time keeps those active in it)</span></h3>\n"
                 "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Alerts "
                 "table\"><table class=\"alerthist\"><thead><tr>"
                 "<th>condition since (UTC)</th><th>cluster</th><th>severity</th><th>rule</th>"
                 "<th>node</th><th>message</th><th>state</th><th>acknowledged</th>"
                 "</tr></thead><tbody>\n");
    if (d) n = db_find_alerts(d, &aq, render_alert_row, &x);
    if (n == 0)
        sbuf_printf(b, "<tr><td colspan=\"8\" class=\"empty\">no alert %s</td></tr>\n",
                    filtered(h) ? "matches" : "recorded");
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

/* The failovers that match the filters, newest first; paged by fbefore. */
static void render_history_failovers(sbuf *b, struct db *d, const hist_query *h, int64_t now_ms)
{
    failover_query fq;
    event_ctx fx;
    int nf = -1;

    memset(&fq, 0, sizeof fq);
    memset(&fx, 0, sizeof fx);
    fq.cluster = h->cluster[0] ? h->cluster : NULL;
    fq.node = h->node[0] ? h->node : NULL;
    fq.types = h->type[0] ? h->type : NULL;
    fq.severities = h->severity[0] ? h->severity : NULL;
    fq.since = h->since;
    fq.until = h->until;
    fq.before = h->fbefore;
    fq.limit = UI_HIST_FAILOVERS + 1; /* one more tells whether an older page exists */
    fx.b = b;
    fx.now_ms = now_ms;
    fx.max = UI_HIST_FAILOVERS;
    sbuf_puts(b, "<h3>Failovers <span class=\"note\">(a type matches the kind, failover or "
                 "+switch-master every one; severity: failed critical, automatic and forced "
                 "warning, graceful info)</span></h3>\n"
                 "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Failovers "
                 "table\"><table class=\"failovers\"><thead><tr>"
                 "<th>started (UTC)</th><th>cluster</th><th>kind</th><th>old \xe2\x86\x92 new "
                 "master</th><th class=\"num\">duration</th><th class=\"num\">writes paused</th>"
                 "<th>status</th><th>actor</th><th>reason</th><th>job</th>"
                 "</tr></thead><tbody>\n");
    if (d) nf = db_query_failovers(d, &fq, render_failover_row, &fx);
    if (nf == 0)
        sbuf_printf(b, "<tr><td colspan=\"10\" class=\"empty\">no failover %s</td></tr>\n",
                    filtered(h) ? "matches" : "recorded");
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
}

/* The events that match, newest first, the reports of one event by several
 * Sentinels in one row (ui_events.c); paged by before (limit events a page). */
static void render_history_events(sbuf *b, struct db *d, const hist_query *h, int64_t now_ms)
{
    event_query q;
    ui_evrows *rows;
    int64_t last_id = 0;
    int n = -1, shown;

    memset(&q, 0, sizeof q);
    q.cluster = h->cluster[0] ? h->cluster : NULL;
    q.types = h->type[0] ? h->type : NULL;
    q.severities = h->severity[0] ? h->severity : NULL;
    q.node = h->node[0] ? h->node : NULL;
    q.since = h->since;
    q.until = h->until;
    q.before = h->before;
    q.limit = (int)h->limit + 1;
    sbuf_puts(b, "<h3>Events <span class=\"note\">(the same event reported by several Sentinels "
                 "within 2 s is one row)</span></h3>\n<div class=\"scroll\" tabindex=\"0\" "
                 "role=\"region\" aria-label=\"Events table\"><table "
                 "class=\"events\"><thead><tr><th>time (UTC)</th><th>cluster</th><th>severity</th>"
                 "<th>type</th><th>node</th><th>what</th></tr></thead><tbody>\n");
    rows = ui__evrows_new(b, now_ms, 1, 0, (int)h->limit);
    if (d && rows) n = db_query_events(d, &q, ui__evrow_add, rows);
    shown = ui__evrows_finish(rows, &last_id);
    (void)shown;
    if (n == 0)
        sbuf_printf(b, "<tr><td colspan=\"6\" class=\"empty\">no event %s</td></tr>\n",
                    filtered(h) ? "matches" : "recorded");
    else if (n < 0)
        sbuf_puts(b, "<tr><td colspan=\"6\" class=\"empty bad\">events unavailable "
                     "(database error)</td></tr>\n");
    sbuf_puts(b, "</tbody></table></div>\n<div class=\"pager\">");
    if (n > h->limit && last_id > 0)
        put_page_button(b, "older events \xe2\x86\x92", last_id, h->fbefore, h->abefore, h->limit);
    if (h->before > 0)
        put_page_button(b, "\xe2\x86\x90 newest events", 0, h->fbefore, h->abefore, h->limit);
    sbuf_puts(b, "</div>\n");
}

static void render_history_audit(sbuf *b, struct db *d, const hist_query *h, int64_t now_ms);

/* The tables, in a box that GETs itself again every UI_HIST_REFRESH_S with
 * the filters and cursors it was rendered with (not the form's fields, which
 * may be half typed): the form is not replaced, so what is typed in it and
 * the focus stay. The page's script holds the refresh while the History tab
 * is hidden. admin: the audit trail too. */
static void render_tables(sbuf *b, struct db *d, const hist_query *h, int64_t now_ms, int admin)
{
    const char *sep = "&amp;";

    sbuf_puts(b, "<div id=\"htables\" hx-get=\"/ui/history?part=tables");
    ui__put_url_arg(b, "cluster", h->cluster, &sep);
    ui__put_url_arg(b, "type", h->type, &sep);
    ui__put_url_arg(b, "severity", h->severity, &sep);
    ui__put_url_arg(b, "node", h->node, &sep);
    ui__put_url_arg(b, "since", h->since_text, &sep);
    ui__put_url_arg(b, "until", h->until_text, &sep);
    if (h->before > 0) sbuf_printf(b, "&amp;before=%lld", (long long)h->before);
    if (h->fbefore > 0) sbuf_printf(b, "&amp;fbefore=%lld", (long long)h->fbefore);
    if (h->abefore > 0) sbuf_printf(b, "&amp;abefore=%lld", (long long)h->abefore);
    if (h->limit != UI_HIST_EVENTS) sbuf_printf(b, "&amp;limit=%lld", (long long)h->limit);
    sbuf_printf(b, "\" hx-trigger=\"every %ds\" hx-swap=\"outerHTML\">\n", UI_HIST_REFRESH_S);
    render_history_failovers(b, d, h, now_ms);
    render_history_alerts(b, d, h, now_ms);
    render_history_events(b, d, h, now_ms);
    if (admin) render_history_audit(b, d, h, now_ms);
    sbuf_puts(b, "</div>\n");
}

/* The history view: the filter form, then (unless err is set, which is shown
 * instead) the failovers, alerts and events that match, each newest first
 * with an "older" button when the page came back full. */
void ui__render_history(sbuf *b, struct db *d, const topo_snap *t, const hist_query *h,
                        const char *err, int64_t now_ms)
{
    render_history_form(b, t, h);
    if (err && err[0] != '\0') {
        sbuf_puts(b, "<p class=\"formerr\" role=\"alert\">");
        sbuf_html(b, err);
        sbuf_puts(b, "</p>\n");
        return;
    }
    render_tables(b, d, h, now_ms, 0);
}

typedef struct audit_ctx {
    sbuf *b;
    int64_t now_ms;
} audit_ctx;

static void render_audit_row(void *ctx, const audit_rec *a)
{
    audit_ctx *x = ctx;
    sbuf *b = x->b;
    sbuf_printf(b, "<tr class=\"audit audit-%s\"><td class=\"time\" title=\"",
                !strcmp(a->outcome, "ok")        ? "ok"
                : !strcmp(a->outcome, "refused") ? "refused"
                                                 : "failed");
    ui__put_utc(b, a->ts, x->now_ms, 1);
    sbuf_puts(b, "\">");
    ui__put_utc(b, a->ts, x->now_ms, 0);
    sbuf_puts(b, "</td><td>");
    sbuf_html(b, a->actor);
    sbuf_puts(b, " <span class=\"muted\">");
    sbuf_html(b, a->role);
    sbuf_puts(b, ", ");
    sbuf_html(b, a->via);
    sbuf_puts(b, "</span></td><td>");
    sbuf_html(b, a->source);
    sbuf_puts(b, "</td><td>");
    sbuf_html(b, a->action);
    if (a->target[0]) {
        sbuf_puts(b, " <span class=\"muted\">");
        sbuf_html(b, a->target);
        sbuf_puts(b, "</span>");
    }
    sbuf_printf(b, "</td><td>%d ", a->status);
    sbuf_html(b, a->outcome);
    sbuf_puts(b, "</td><td class=\"params\">");
    sbuf_html(b, a->params ? a->params : "");
    sbuf_puts(b, "</td></tr>\n");
}

/* The audit trail's newest records (within the form's time window), for
 * an admin: who did what, from where, with which answer. */
static void render_history_audit(sbuf *b, struct db *d, const hist_query *h, int64_t now_ms)
{
    audit_query q;
    audit_ctx x = {b, now_ms};
    int n = -1;
    memset(&q, 0, sizeof q);
    q.since = h->since;
    q.until = h->until;
    q.limit = UI_HIST_AUDIT;
    sbuf_printf(b,
                "<h3>Audit trail <span class=\"note\">(the newest %d actions and logins; "
                "all of them: GET /api/v1/audit)</span></h3>\n"
                "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Audit trail "
                "table\"><table class=\"audit\"><thead><tr><th>time (UTC)</th>"
                "<th>actor</th><th>source</th><th>action</th><th>answer</th><th>parameters</th>"
                "</tr></thead><tbody>\n",
                UI_HIST_AUDIT);
    if (d) n = db_query_audit(d, &q, render_audit_row, &x);
    if (n == 0)
        sbuf_puts(b, "<tr><td colspan=\"6\" class=\"empty\">no action recorded</td></tr>\n");
    else if (n < 0)
        sbuf_puts(b, "<tr><td colspan=\"6\" class=\"empty bad\">audit trail unavailable "
                     "(database error)</td></tr>\n");
    sbuf_puts(b, "</tbody></table></div>\n");
}

int ui_history(hreq *r)
{
    sbuf b = SBUF_INIT;
    struct db *d = r->app ? r->app->db : NULL;
    topo_snap *t = topo_acquire();
    hist_query h;
    char err[200];
    int status;

    status = ui__parse_history_query(r, &h, err, sizeof err) < 0 ? 400 : 200;
    if (status == 400) {
        ui__render_history(&b, d, t, &h, err, hp_now_ms());
    } else {
        if (!h.tables_only) render_history_form(&b, t, &h);
        render_tables(&b, d, &h, hp_now_ms(), r->role >= ROLE_ADMIN);
    }
    if (t) topo_release(t);
    status = ui__send_fragment(r, status, &b);
    sbuf_release(&b);
    return status;
}
