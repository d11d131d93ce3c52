/* ui_charts.c — GET /ui/clusters/{name}/charts: a cluster's history as
 * line charts drawn here, in SVG (no script, no canvas): one chart per metric,
 * one line per node, over the last hour, day or week, with the range
 * switcher. The points come from the same query as the series API
 * (db_query_series); a chart is as wide as its plot in pixels, so a line has
 * at most one point per pixel column (the column's largest value), however
 * many samples the range holds. Every text from Redis, Sentinel or the
 * configuration is escaped. It is not the live view: it reads the database,
 * not the snapshot (except to know the cluster). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "web/ui_internal.h"
#include "core/banned.h" /* last: after every system header */

#define CH_W 600 /* the SVG's user units */
#define CH_H 170
#define CH_L 64 /* left margin: the y labels */
#define CH_R 10
#define CH_T 10
#define CH_B 22 /* bottom margin: the x labels */
#define CH_PW (CH_W - CH_L - CH_R)
#define CH_PH (CH_H - CH_T - CH_B)
#define CH_NODES 12 /* lines per chart at most (the legend says when more) */
#define CH_COLOURS 8
#define CH_MAX_POINTS 5000

typedef struct range_def {
    const char *name, *label, *phrase;
    int64_t seconds;
} range_def;

static const range_def ranges[] = {
    {"1h", "1 h", "last hour", 3600},
    {"1d", "1 day", "last day", 86400},
    {"1w", "1 week", "last week", 7 * 86400},
};

typedef struct chart_def {
    int metric;
    const char *title;
} chart_def;

static const chart_def charts[] = {
    {DB_METRIC_LAG_BYTES, "replication lag, bytes"},
    {DB_METRIC_LAG_SECONDS, "replication lag, seconds"},
    {DB_METRIC_MEMORY, "used memory"},
    {DB_METRIC_CLIENTS, "connected clients"},
    {DB_METRIC_OPS, "commands per second"},
};

/* One node's line: per pixel column its largest value (NAN: none). */
typedef struct line {
    char node[HP_ADDR_MAX];
    double col[CH_PW];
    double last;
    int npoints;
} line;

typedef struct chart_data {
    line lines[CH_NODES];
    int n, more; /* lines kept; nodes left out */
    int64_t from, to;
    double max;
} chart_data;

static void on_series(void *ctx, const char *node, const int64_t *ts, const double *v, int n)
{
    chart_data *cd = ctx;
    line *l;
    int i;

    if (cd->n == CH_NODES) {
        cd->more++;
        return;
    }
    l = &cd->lines[cd->n++];
    hp_strlcpy(l->node, node, sizeof(l->node));
    for (i = 0; i < CH_PW; i++)
        l->col[i] = NAN;
    l->npoints = n;
    l->last = n ? v[n - 1] : NAN;
    for (i = 0; i < n; i++) {
        int c = (int)((ts[i] - cd->from) * (CH_PW - 1) / (cd->to - cd->from));
        if (c < 0 || c >= CH_PW) continue;
        if (isnan(l->col[c]) || v[i] > l->col[c]) l->col[c] = v[i];
        if (v[i] > cd->max) cd->max = v[i];
    }
}

/* 1, 2 or 5 times a power of ten, at least v (no libm in the binary). */
static double nice_ceil(double v)
{
    double p = 1;
    if (!(v > 0)) return 1;
    while (p * 10 <= v)
        p *= 10;
    while (p > v)
        p /= 10;
    return (v <= p ? 1 : v <= 2 * p ? 2 : v <= 5 * p ? 5 : 10) * p;
}

static int whole(double v)
{
    return v == (double)(int64_t)v;
}

/* A value on an axis or in the legend, in the metric's unit. */
static void put_value(sbuf *b, int metric, double v)
{
    if (isnan(v)) {
        sbuf_puts(b, UI_DASH);
    } else if (metric == DB_METRIC_LAG_BYTES || metric == DB_METRIC_MEMORY) {
        ui__put_bytes(b, (int64_t)(v + 0.5));
    } else if (metric == DB_METRIC_LAG_SECONDS) {
        sbuf_printf(b, "%.*f s", v < 10 && !whole(v) ? 1 : 0, v);
    } else if (v >= 10000) {
        sbuf_printf(b, "%.0fk", v / 1000);
    } else {
        sbuf_printf(b, "%.*f", v < 10 && !whole(v) ? 1 : 0, v);
    }
}

static void put_time(sbuf *b, int64_t s, int64_t span)
{
    time_t t = (time_t)s;
    struct tm tm;
    char tmp[32];
    if (gmtime_r(&t, &tm) &&
        strftime(tmp, sizeof(tmp), span > 86400 ? "%b %d %H:%M" : "%H:%M", &tm) > 0)
        sbuf_html(b, tmp);
}

/* The path segment s, percent-encoded (then HTML-escaped by the caller's
 * attribute writer: the result has no character that needs it). */
static void url_segment(char *out, size_t outsz, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s && o + 4 < outsz; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

static double ypos(double v, double ymax)
{
    return CH_T + CH_PH - v / ymax * CH_PH;
}

/* A node's line: a polyline per run of columns without a gap longer than
 * gap columns (no samples: the node was down or hapanel stopped). */
static void render_line(sbuf *b, const line *l, int colour, double ymax, int gap)
{
    int c, last = -1, open = 0, inrun = 0;
    for (c = 0; c < CH_PW; c++) {
        if (isnan(l->col[c])) continue;
        if (open && c - last > gap) {
            if (inrun == 1) /* a lone point: a dot-sized segment */
                sbuf_printf(b, " %d,%.1f", CH_L + last + 1, ypos(l->col[last], ymax));
            sbuf_puts(b, "\"/>");
            open = 0;
        }
        if (!open) {
            sbuf_printf(b, "<polyline class=\"line s%d\"", colour);
            ui__put_attr(b, "data-node", l->node);
            sbuf_puts(b, " points=\"");
            open = 1;
            inrun = 0;
        }
        sbuf_printf(b, "%s%d,%.1f", inrun ? " " : "", CH_L + c, ypos(l->col[c], ymax));
        inrun++;
        last = c;
    }
    if (open) {
        if (inrun == 1) sbuf_printf(b, " %d,%.1f", CH_L + last + 1, ypos(l->col[last], ymax));
        sbuf_puts(b, "\"/>");
    }
}

static void render_chart(sbuf *b, struct db *d, const char *cluster, const chart_def *ch,
                         const range_def *rg, int step, int64_t now)
{
    chart_data *cd = calloc(1, sizeof(*cd));
    series_query q;
    double ymax;
    int i, gap, rc;

    if (!cd) {
        b->failed = 1;
        return;
    }
    cd->from = now - rg->seconds;
    cd->to = now;
    memset(&q, 0, sizeof(q));
    q.cluster = cluster;
    q.metric = ch->metric;
    q.step = step;
    q.from = cd->from;
    q.to = cd->to;
    q.max_points = CH_MAX_POINTS;
    rc = db_query_series(d, &q, on_series, cd);
    if (ch->metric == DB_METRIC_LAG_BYTES || ch->metric == DB_METRIC_MEMORY) {
        double u = 1; /* bytes: a round number of KiB, MiB, ... */
        while (cd->max / u >= 1024)
            u *= 1024;
        ymax = nice_ceil(cd->max / u) * u;
    } else {
        ymax = nice_ceil(cd->max);
    }
    /* a gap: no sample for three steps (or three pixel columns) */
    gap = (int)(3.0 * step * CH_PW / (double)rg->seconds);
    if (gap < 3) gap = 3;

    sbuf_puts(b, "<figure class=\"chart-box\"><figcaption>");
    sbuf_html(b, ch->title);
    sbuf_puts(b, "</figcaption>\n");
    sbuf_printf(b, "<svg class=\"chart\" data-metric=\"%s\" role=\"img\"",
                db_metric_name(ch->metric));
    {
        char label[512];
        snprintf(label, sizeof(label), "%s of cluster %s, %s: %d node%s", ch->title, cluster,
                 rg->phrase, cd->n + cd->more, cd->n + cd->more == 1 ? "" : "s");
        ui__put_attr(b, "aria-label", label);
    }
    sbuf_printf(b, " viewBox=\"0 0 %d %d\">", CH_W, CH_H);
    /* the y axis: 0, half, the top */
    for (i = 0; i <= 2; i++) {
        double v = ymax * i / 2.0, y = ypos(v, ymax);
        sbuf_printf(b, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>", CH_L,
                    y, CH_W - CH_R, y);
        sbuf_printf(b, "<text class=\"ylab\" x=\"%d\" y=\"%.1f\">", CH_L - 4, y + 4);
        put_value(b, ch->metric, v);
        sbuf_puts(b, "</text>");
    }
    /* the x axis: the start, the middle, now (UTC) */
    for (i = 0; i <= 2; i++) {
        int x = CH_L + (CH_PW - 1) * i / 2;
        sbuf_printf(b, "<text class=\"xlab x%d\" x=\"%d\" y=\"%d\">", i, x, CH_H - 6);
        put_time(b, cd->from + rg->seconds * i / 2, rg->seconds);
        sbuf_puts(b, "</text>");
    }
    for (i = 0; i < cd->n; i++)
        render_line(b, &cd->lines[i], i % CH_COLOURS, ymax, gap);
    sbuf_puts(b, "</svg>\n<ul class=\"legend\">");
    for (i = 0; i < cd->n; i++) {
        sbuf_printf(b, "<li><span class=\"swatch s%d\"></span><span class=\"addr\">",
                    i % CH_COLOURS);
        sbuf_html(b, cd->lines[i].node);
        sbuf_puts(b, "</span> <span class=\"muted\">");
        if (cd->lines[i].npoints) {
            sbuf_puts(b, "last ");
            put_value(b, ch->metric, cd->lines[i].last);
        } else {
            sbuf_puts(b, "no data");
        }
        sbuf_puts(b, "</span></li>");
    }
    if (cd->more) sbuf_printf(b, "<li class=\"muted\">%d more nodes not drawn</li>", cd->more);
    if (rc < 0) sbuf_puts(b, "<li class=\"bad\">the history cannot be read now</li>");
    if (rc == 0) sbuf_puts(b, "<li class=\"muted\">no samples yet</li>");
    sbuf_puts(b, "</ul></figure>\n");
    free(cd);
}

void ui__put_charts_button(sbuf *b, const char *cluster)
{
    sbuf_puts(b, "<button type=\"button\" class=\"open-charts\"");
    ui__put_attr(b, "data-cluster", cluster);
    sbuf_puts(b, " aria-controls=\"charts\" title=\"lag, memory, clients and ops/s over the last "
                 "hour, day or week\">charts</button>");
}

int ui_charts(hreq *r)
{
    struct db *d = r->app ? r->app->db : NULL;
    const char *name = r->params[0];
    const range_def *rg = NULL;
    char rs[8], url[3 * 256 + 64], seg[3 * 256 + 1];
    int64_t now = hp_now_ms() / 1000;
    sbuf b = SBUF_INIT;
    int i, status = 200, known, step, q;
    topo_snap *t;

    q = http_query(r, "range", rs, sizeof(rs));
    if (q == 0) rg = &ranges[0];
    for (i = 0; q > 0 && i < (int)(sizeof(ranges) / sizeof(ranges[0])); i++)
        if (!strcmp(rs, ranges[i].name)) rg = &ranges[i];
    t = topo_acquire();
    known = topo_find(t, name) != NULL;
    topo_release(t);
    if (!known && d) known = db_samples_known(d, name) > 0;

    if (!rg) {
        status = 400;
        sbuf_puts(&b,
                  "<div class=\"charts\"><p class=\"bad\">range must be 1h, 1d or 1w</p></div>\n");
        goto send;
    }
    if (!known || !d) {
        status = 404;
        sbuf_puts(&b, "<div class=\"charts\"><p class=\"bad\">There is no cluster of that "
                      "name.</p></div>\n");
        goto send;
    }
    url_segment(seg, sizeof(seg), name);
    step = db_series_auto_step(d, now - rg->seconds, now, now, CH_MAX_POINTS);
    if (step == 0) step = DB_STEP_HOUR;
    snprintf(url, sizeof(url), "/ui/clusters/%s/charts?range=%s", seg, rg->name);
    sbuf_puts(&b, "<div class=\"charts\"");
    ui__put_attr(&b, "data-cluster", name);
    ui__put_attr(&b, "hx-get", url);
    sbuf_puts(&b, " hx-trigger=\"every 30s\" hx-swap=\"outerHTML\">\n<div class=\"charts-bar\">"
                  "<h3>");
    sbuf_html(&b, name);
    sbuf_puts(&b, ": history</h3><span class=\"ranges\" role=\"group\" aria-label=\"range\">");
    for (i = 0; i < (int)(sizeof(ranges) / sizeof(ranges[0])); i++) {
        snprintf(url, sizeof(url), "/ui/clusters/%s/charts?range=%s", seg, ranges[i].name);
        sbuf_printf(&b, "<button type=\"button\" class=\"range\" aria-pressed=\"%s\"",
                    &ranges[i] == rg ? "true" : "false");
        ui__put_attr(&b, "hx-get", url);
        sbuf_printf(&b, " hx-target=\"closest .charts\" hx-swap=\"outerHTML\">%s</button>",
                    ranges[i].label);
    }
    sbuf_printf(&b,
                "</span><span class=\"muted\">%s, times in UTC; buckets show the largest "
                "value (ops/s: the mean)</span></div>\n<div class=\"chart-grid\">\n",
                step == DB_STEP_RAW      ? "every poll"
                : step == DB_STEP_MINUTE ? "per minute"
                                         : "per hour");
    for (i = 0; i < (int)(sizeof(charts) / sizeof(charts[0])); i++)
        render_chart(&b, d, name, &charts[i], rg, step, now);
    sbuf_puts(&b, "</div></div>\n");
send:
    status = ui__send_fragment(r, status, &b);
    sbuf_release(&b);
    return status;
}
