/* ui_drill.c — the cluster card's failover drills (issue 14 item 1): the
 * "run failover drill" button and the newest UI_DRILLS drills, each as a
 * state badge, its figures in words and a server-drawn SVG timeline: the
 * report's markers placed by t_ms on one horizontal line, numbered as the
 * list under it, and the write gap (the last ack on the old master to the
 * first on the new) as a red band. The rows come from db_query_drills; the
 * report is the drill job's JSON (actions/drill.c), read here as untrusted:
 * a report that is missing, cut off by a crash, not an object, or carries
 * negative, huge or non-numeric figures still renders, with a dash where a
 * figure cannot be believed, and a marker whose time is nonsense is listed
 * but not drawn. Every string is escaped, class names come from fixed
 * words. It only draws: the drill itself is a job, started by the page's
 * confirmation dialog through POST /api/v1/clusters/{name}/drills. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "web/ui_internal.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/banned.h" /* last: after every system header */

#define DR_W 600 /* the SVG's user units */
#define DR_H 72
#define DR_L 16 /* margins: half a label each side */
#define DR_R 16
#define DR_PW (DR_W - DR_L - DR_R)
#define DR_AXIS 36         /* the time line's y */
#define DR_ROWS 3          /* rows for the markers' numbers: two above the line, one under */
#define DR_LABEL_W 12.0    /* user units a number needs before the next in its row */
#define DR_MARKS 24        /* markers drawn and listed at most */
#define DR_WHAT 120        /* bytes of a marker's text shown */
#define DR_ERROR 400       /* bytes of a failure reason shown */
#define DR_MAX_MS 86400000 /* a drill time or duration past a day is not believed */
#define DR_MAX_COUNT 1e12  /* nor a count past this */
#define DR_MIN_BAND 2.0    /* user units: a 3 ms gap is still seen */
#define FIG_MISSING (-1)   /* the report does not say */
#define FIG_NONSENSE (-2)  /* it says something that is not a figure */

/* ---------------------------------------------------------------------------
 * Reading the report
 * ------------------------------------------------------------------------ */

/* A whole figure of o in 0..max, or FIG_MISSING / FIG_NONSENSE. The
 * comparison is made on the double before the cast, which is undefined for
 * values an int64 cannot hold (and NaN fails both comparisons). */
static int64_t fig(const cJSON *o, const char *name, double max)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    double x;

    if (!v || cJSON_IsNull(v)) return FIG_MISSING;
    if (!cJSON_IsNumber(v)) return FIG_NONSENSE;
    x = v->valuedouble;
    if (!(x >= 0.0 && x <= max)) return FIG_NONSENSE;
    return (int64_t)x;
}

/* A string member of o, or "" when it is missing or not a string. */
static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : "";
}

/* needle in hay, ASCII case ignored (the marker texts are the recipe's
 * words; matching loosely keeps the band when one is reworded). */
static int has_word(const char *hay, const char *needle)
{
    size_t n = strlen(needle), i;

    for (; *hay; hay++) {
        for (i = 0; i < n && hay[i]; i++) {
            char a = hay[i], c = needle[i];
            if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
            if (a != c) break;
        }
        if (i == n) return 1;
    }
    return 0;
}

typedef struct mark {
    int64_t t;        /* ms from the drill's start, or < 0: not believed */
    const char *what; /* in the parsed report */
} mark;

typedef struct drill_view {
    mark marks[DR_MARKS];
    int n, more;              /* markers kept; left out */
    int64_t span;             /* ms the line covers, at least 1 */
    int64_t gap_from, gap_to; /* the red band, ms; gap_to < 0: none */
} drill_view;

/* The markers of the report's timeline and where the band goes: between
 * the markers of kind "last-ack-old" and "first-ack-new" (actions/drill.c)
 * when both are believable and in that order, else write_gap_ms back from
 * the first ack on the new master (or on from the last on the old). Only a
 * report whose markers carry no kind at all (one written before the kinds)
 * has its ack markers found by their words ("last/first write ack", "last/
 * first ack"): matching text would take a marker whose words merely read
 * like one. */
static void read_timeline(const cJSON *rep, int64_t gap, drill_view *v)
{
    const cJSON *tl = cJSON_GetObjectItemCaseSensitive(rep, "timeline"), *it = NULL;
    int64_t last_old = -1, first_new = -1;
    int kinds = 0;

    memset(v, 0, sizeof(*v));
    v->gap_to = -1;
    if (!cJSON_IsArray(tl)) tl = NULL;
    cJSON_ArrayForEach(it, tl)
    {
        if (cJSON_IsObject(it) && str(it, "kind")[0]) kinds = 1;
    }
    cJSON_ArrayForEach(it, tl)
    {
        const char *kind = cJSON_IsObject(it) ? str(it, "kind") : "";
        mark *m;
        int is_last, is_first;
        if (v->n == DR_MARKS) {
            v->more++;
            continue;
        }
        m = &v->marks[v->n++];
        m->t = cJSON_IsObject(it) ? fig(it, "t_ms", DR_MAX_MS) : FIG_NONSENSE;
        m->what = cJSON_IsObject(it) ? str(it, "what") : "";
        if (m->t < 0) continue;
        if (m->t > v->span) v->span = m->t;
        if (kinds) {
            is_last = !strcmp(kind, "last-ack-old");
            is_first = !strcmp(kind, "first-ack-new");
        } else {
            is_last = has_word(m->what, "last write ack") || has_word(m->what, "last ack");
            is_first = has_word(m->what, "first write ack") || has_word(m->what, "first ack");
        }
        if (last_old < 0 && is_last) last_old = m->t;
        if (first_new < 0 && is_first) first_new = m->t;
    }
    if (last_old >= 0 && first_new >= last_old) {
        v->gap_from = last_old;
        v->gap_to = first_new;
    } else if (gap >= 0 && first_new >= 0) {
        v->gap_from = first_new > gap ? first_new - gap : 0;
        v->gap_to = first_new;
    } else if (gap >= 0 && last_old >= 0) {
        v->gap_from = last_old;
        v->gap_to = last_old + gap;
    }
    if (v->gap_to > v->span) v->span = v->gap_to;
    if (v->span < 1) v->span = 1; /* every time 0: drawn at the start */
}

/* ---------------------------------------------------------------------------
 * Drawing
 * ------------------------------------------------------------------------ */

static double xpos(int64_t t, int64_t span)
{
    return DR_L + (double)t * DR_PW / (double)span;
}

/* "13 markers, write gap 412 ms": the drawing's name for a screen reader,
 * which then reads the same figures as text in the list beside it. */
static void put_label(sbuf *b, const hp_drill *dr, const drill_view *v, int64_t gap)
{
    sbuf_printf(b, "Timeline of drill #%lld (", (long long)dr->id);
    sbuf_html(b, dr->mode);
    sbuf_printf(b, "): %d marker%s", v->n, v->n == 1 ? "" : "s");
    if (gap >= 0) {
        sbuf_puts(b, ", write gap ");
        ui__put_duration(b, gap);
    }
    sbuf_puts(b, " over ");
    ui__put_duration(b, v->span);
}

/* The row for a marker's number at x: the first whose last number is far
 * enough to the left, else the least crowded one, so that markers a few ms
 * apart stay readable. */
static int label_row(double *last, double x)
{
    int r, best = 0;
    for (r = 0; r < DR_ROWS; r++) {
        double d = x > last[r] ? x - last[r] : last[r] - x; /* the timeline may be unordered */
        if (d >= DR_LABEL_W) break;
        if (last[r] < last[best]) best = r;
    }
    if (r == DR_ROWS) r = best;
    last[r] = x;
    return r;
}

static void render_svg(sbuf *b, const hp_drill *dr, const drill_view *v, int64_t gap)
{
    static const int row_y[DR_ROWS] = {DR_AXIS - 14, DR_AXIS - 24, DR_AXIS + 22};
    double last[DR_ROWS];
    int i;

    for (i = 0; i < DR_ROWS; i++)
        last[i] = -1e9;

    sbuf_printf(b, "<svg class=\"drilltl\" role=\"img\" viewBox=\"0 0 %d %d\" aria-label=\"", DR_W,
                DR_H);
    put_label(b, dr, v, gap);
    sbuf_puts(b, "\"><title>");
    put_label(b, dr, v, gap);
    sbuf_puts(b, "</title>");
    sbuf_printf(b, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", DR_L, DR_AXIS,
                DR_W - DR_R, DR_AXIS);
    if (v->gap_to >= 0) {
        double x0 = xpos(v->gap_from, v->span), x1 = xpos(v->gap_to, v->span);
        if (x1 - x0 < DR_MIN_BAND) x1 = x0 + DR_MIN_BAND;
        sbuf_printf(b,
                    "<rect class=\"gap\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"16\">"
                    "<title>write gap: ",
                    x0, DR_AXIS - 8, x1 - x0);
        ui__put_duration(b, v->gap_to - v->gap_from);
        sbuf_puts(b, " from the last write acknowledged by the old master to the first by the "
                     "new</title></rect>");
    }
    for (i = 0; i < v->n; i++) {
        const mark *m = &v->marks[i];
        double x;
        if (m->t < 0) continue; /* listed, not drawn */
        x = xpos(m->t, v->span);
        sbuf_printf(b,
                    "<g class=\"mk\"><line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
                    "<circle cx=\"%.1f\" cy=\"%d\" r=\"3\"/>"
                    "<text x=\"%.1f\" y=\"%d\">%d</text><title>%d. ",
                    x, DR_AXIS - 10, x, DR_AXIS + 10, x, DR_AXIS, x, row_y[label_row(last, x)],
                    i + 1, i + 1);
        ui__put_cut(b, m->what[0] ? m->what : "(no text)", DR_WHAT);
        sbuf_printf(b, ", %lld ms</title></g>", (long long)m->t);
    }
    sbuf_printf(b, "<text class=\"tl0\" x=\"%d\" y=\"%d\">0</text>", DR_L, DR_H - 4);
    sbuf_printf(b, "<text class=\"tl1\" x=\"%d\" y=\"%d\">", DR_W - DR_R, DR_H - 4);
    ui__put_duration(b, v->span);
    sbuf_puts(b, "</text></svg>\n");
}

/* ---------------------------------------------------------------------------
 * Words
 * ------------------------------------------------------------------------ */

/* One figure as a dt/dd pair: a duration or a count, a dash when the
 * report does not say or says nonsense (the tooltip tells which). cls:
 * "good", "bad" or "" for the value. */
static void put_fig(sbuf *b, const char *label, int64_t v, int duration, const char *cls)
{
    sbuf_printf(b, "<div><dt>%s</dt><dd", label);
    if (v == FIG_NONSENSE)
        sbuf_puts(b, " class=\"muted\" title=\"the report's value is not a figure\"");
    else if (v == FIG_MISSING)
        sbuf_puts(b, " class=\"muted\" title=\"not in the report\"");
    else if (cls[0])
        sbuf_printf(b, " class=\"%s\"", cls);
    sbuf_puts(b, ">");
    if (v < 0)
        sbuf_puts(b, UI_DASH);
    else if (duration)
        ui__put_duration(b, v);
    else
        ui__put_int(b, v);
    sbuf_puts(b, "</dd></div>");
}

static void render_figures(sbuf *b, const cJSON *rep, int64_t gap)
{
    int64_t lost = fig(rep, "acked_lost", DR_MAX_COUNT);
    int64_t left = fig(rep, "clients_left_on_old", DR_MAX_COUNT);
    const char *om = str(rep, "old_master"), *nm = str(rep, "new_master");
    const char *kill = str(rep, "kill_command");

    sbuf_puts(b, "<dl class=\"drillfigs\">");
    put_fig(b, "write gap", gap, 1, "");
    put_fig(b, "acked writes lost", lost, 0, lost == 0 ? "good" : "bad");
    put_fig(b, "detection", fig(rep, "detection_ms", DR_MAX_MS), 1, "");
    put_fig(b, "promotion", fig(rep, "promotion_ms", DR_MAX_MS), 1, "");
    put_fig(b, "all Sentinels agree", fig(rep, "agreement_ms", DR_MAX_MS), 1, "");
    put_fig(b, "clients left on the old master", left, 0, left > 0 ? "bad" : "");
    put_fig(b, "writes acked", fig(rep, "writes_acked", DR_MAX_COUNT), 0, "");
    put_fig(b, "writes failed", fig(rep, "writes_failed", DR_MAX_COUNT), 0, "");
    put_fig(b, "probe keys deleted", fig(rep, "probe_keys_deleted", DR_MAX_COUNT), 0, "");
    if (om[0] || nm[0]) {
        sbuf_puts(b, "<div><dt>master</dt><dd>");
        ui__put_addr(b, om);
        sbuf_puts(b, " \xe2\x86\x92 ");
        ui__put_addr(b, nm);
        sbuf_puts(b, "</dd></div>");
    }
    if (kill[0]) {
        sbuf_puts(b, "<div><dt>kill command</dt><dd><code>");
        ui__put_cut(b, kill, DR_WHAT);
        sbuf_puts(b, "</code></dd></div>");
    }
    sbuf_puts(b, "</dl>\n");
}

static void render_marks(sbuf *b, const drill_view *v)
{
    int i;

    if (v->n == 0) return;
    sbuf_puts(b, "<ol class=\"drillmarks\">");
    for (i = 0; i < v->n; i++) {
        const mark *m = &v->marks[i];
        sbuf_puts(b, "<li>");
        if (m->t >= 0)
            sbuf_printf(b, "<span class=\"t\">%lld ms</span> ", (long long)m->t);
        else
            sbuf_puts(b, "<span class=\"t muted\" title=\"the report's time is not a "
                         "figure\">time unknown</span> ");
        ui__put_cut(b, m->what[0] ? m->what : "(no text)", DR_WHAT);
        sbuf_puts(b, "</li>");
    }
    if (v->more) sbuf_printf(b, "<li class=\"muted\">%d more markers not shown</li>", v->more);
    sbuf_puts(b, "</ol>\n");
}

/* ---------------------------------------------------------------------------
 * A drill, the card's section
 * ------------------------------------------------------------------------ */

static const char *state_class(const char *s)
{
    if (strcmp(s, "ok") == 0) return "succeeded";
    if (strcmp(s, "running") == 0) return "running";
    if (strcmp(s, "failed") == 0) return "failed";
    return "unknown";
}

void ui__render_drill(sbuf *b, const hp_drill *dr, int64_t now_ms)
{
    const char *cls = state_class(dr->state);
    cJSON *rep = dr->report ? cJSON_Parse(dr->report) : NULL;
    const cJSON *obj = cJSON_IsObject(rep) ? rep : NULL;
    int64_t gap = obj ? fig(obj, "write_gap_ms", DR_MAX_MS) : FIG_MISSING;
    drill_view *v = calloc(1, sizeof(*v));

    if (!v) {
        b->failed = 1;
        cJSON_Delete(rep);
        return;
    }
    sbuf_printf(b, "<div class=\"drill drill-%s\" data-drill=\"%lld\" data-state=\"%s\">", cls,
                (long long)dr->id, cls);
    sbuf_puts(b, "<p class=\"drillhead\">");
    ui__put_job_badge(b, cls, dr->state);
    sbuf_puts(b, " <strong>");
    ui__put_text(b, dr->mode);
    sbuf_printf(b, "</strong> drill #%lld <span class=\"muted\" title=\"started ",
                (long long)dr->id);
    ui__put_utc(b, dr->started_at, now_ms, 1);
    sbuf_puts(b, "\">");
    ui__put_utc(b, dr->started_at, now_ms, 0);
    if (dr->started_at > 0) {
        sbuf_puts(b, ", ");
        ui__put_ago(b, (now_ms - dr->started_at) / 1000);
    }
    sbuf_puts(b, "</span>");
    if (dr->ended_at > 0 && dr->started_at > 0 && dr->ended_at >= dr->started_at) {
        sbuf_puts(b, ", took ");
        ui__put_duration(b, dr->ended_at - dr->started_at);
    }
    if (dr->job_id > 0) {
        sbuf_puts(b, " ");
        ui__put_job_link(b, dr->job_id);
    }
    sbuf_puts(b, "</p>\n");
    if (strcmp(dr->state, "failed") == 0) {
        const char *why = obj ? str(obj, "error") : "";
        sbuf_puts(b, "<p class=\"drillerr bad\">failed: ");
        ui__put_cut(b, why[0] ? why : "no reason in the report (see the job)", DR_ERROR);
        sbuf_puts(b, "</p>\n");
    }
    if (!obj) {
        sbuf_puts(b, strcmp(dr->state, "running") == 0
                         ? "<p class=\"muted\">running: the figures come when it ends</p>\n"
                     : dr->report ? "<p class=\"muted\">the report cannot be read (not a JSON "
                                    "object)</p>\n"
                                  : "<p class=\"muted\">no report</p>\n");
        goto out;
    }
    read_timeline(obj, gap, v);
    sbuf_puts(b, "<div class=\"drillbody\"><div class=\"drillplot\">");
    if (v->n > 0 || v->gap_to >= 0) render_svg(b, dr, v, gap);
    render_marks(b, v);
    sbuf_puts(b, "</div>");
    render_figures(b, obj, gap);
    sbuf_puts(b, "</div>\n");
out:
    sbuf_puts(b, "</div>\n");
    free(v);
    cJSON_Delete(rep);
}

typedef struct drills_ctx {
    sbuf *b;
    int64_t now_ms;
    int n;
} drills_ctx;

static void render_drill_row(void *ctx, const hp_drill *dr)
{
    drills_ctx *x = ctx;
    if (x->n++ < UI_DRILLS) ui__render_drill(x->b, dr, x->now_ms);
}

/* The button carries what the dialog tells: the prefix of the probe keys,
 * whether kill-master is allowed and how it kills. */
static void render_button(sbuf *b, const cluster_snap *c, const config *cfg, int busy)
{
    int on = cfg && cfg->drill_enabled;

    sbuf_puts(b,
              "<button type=\"button\" class=\"act\" data-act=\"drill\" data-needs=\"operator\"");
    ui__put_attr(b, "data-cluster", c->name);
    ui__put_attr(b, "data-master", c->master);
    ui__put_attr(b, "data-prefix", cfg ? cfg->drill_key_prefix : "");
    sbuf_printf(b, " data-allow-kill=\"%d\"", cfg && cfg->drill_allow_kill ? 1 : 0);
    ui__put_attr(b, "data-kill-method", cfg ? cfg->drill_kill_method : "");
    if (cfg) sbuf_printf(b, " data-kill-sleep=\"%d\"", cfg->drill_kill_sleep_s);
    if (!on)
        sbuf_puts(b, " disabled title=\"drills are off: [drill] enabled = 1 "
                     "(HAPANEL_DRILL_ENABLED=1) allows them\"");
    else if (busy)
        sbuf_puts(b, " disabled title=\"a job is running on this cluster\"");
    else if (c->master[0] == '\0')
        sbuf_puts(b, " disabled title=\"no master known to switch from\"");
    else
        sbuf_puts(b, " title=\"write probe keys, switch the master, measure the write gap and "
                     "lost writes\"");
    sbuf_puts(b, ">run failover drill\xe2\x80\xa6</button>");
    if (!on)
        sbuf_puts(b, " <span class=\"note\">off: a drill writes probe keys to the master and "
                     "switches it, so [drill] enabled = 1 must allow it</span>");
}

void ui__render_drills(sbuf *b, struct db *d, const cluster_snap *c, const config *cfg,
                       int64_t now_ms, int busy)
{
    drills_ctx x = {b, now_ms, 0};
    int n = -1;

    sbuf_puts(b, "<div class=\"drills\"><h3>Failover drills ");
    render_button(b, c, cfg, busy);
    sbuf_puts(b, "</h3>\n");
    if (d) n = db_query_drills(d, c->name, UI_DRILLS + 1, render_drill_row, &x);
    if (n == 0)
        sbuf_puts(b, "<p class=\"muted empty\">no drill of this cluster yet</p>\n");
    else if (n < 0)
        sbuf_puts(b, "<p class=\"bad empty\">drills unavailable (database error)</p>\n");
    else if (n > UI_DRILLS)
        sbuf_printf(b,
                    "<p class=\"muted empty\">the newest %d; GET /api/v1/drills?cluster= lists "
                    "them all</p>\n",
                    UI_DRILLS);
    sbuf_puts(b, "</div>\n");
}
