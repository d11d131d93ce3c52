/* api_series.c — GET /api/v1/clusters/{name}/series: one metric of a
 * cluster's nodes over a time window, from the samples the writer stores
 * (db/samples.c), at every poll or in minute or hour buckets. It reads the
 * database only; the charts of the dashboard (ui_charts.c) read the same
 * query and draw it. */
#include "web/api_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "db/db.h"
#include "model/topology.h"
#include "web/http.h"
#include "core/banned.h" /* last: after every system header */

#define SERIES_MAX_POINTS 5000   /* per node */
#define SERIES_DEFAULT_S 3600    /* from defaults to an hour before to */
#define SERIES_TS_MAX 4102444800 /* 2100-01-01: a sanity bound on from and to */

static const char *const units[DB_METRIC_COUNT] = {"bytes", "seconds", "bytes", "clients", "ops/s"};

typedef struct series_out {
    cJSON *arr;
    int metric;
} series_out;

/* v rounded to 1/scale (no libm in the binary). */
static double round_to(double v, double scale)
{
    return (double)(int64_t)(v * scale + (v >= 0 ? 0.5 : -0.5)) / scale;
}

static void add_series(void *ctx, const char *node, const int64_t *ts, const double *v, int n)
{
    series_out *o = ctx;
    cJSON *s = cJSON_CreateObject(), *pts = cJSON_CreateArray();
    int i;
    cJSON_AddStringToObject(s, "node", node);
    for (i = 0; i < n; i++) {
        cJSON *p = cJSON_CreateArray();
        double x = o->metric == DB_METRIC_LAG_SECONDS ? round_to(v[i], 1000.0)
                   : o->metric == DB_METRIC_OPS       ? round_to(v[i], 100.0)
                                                      : v[i];
        cJSON_AddItemToArray(p, cJSON_CreateNumber((double)ts[i]));
        cJSON_AddItemToArray(p, cJSON_CreateNumber(x));
        cJSON_AddItemToArray(pts, p);
    }
    cJSON_AddItemToObject(s, "points", pts);
    cJSON_AddItemToArray(o->arr, s);
}

/* ?step=: raw (or 1), 60, 3600, auto (or absent): 0 for auto, the step, or
 * -1 when it is none of those. */
static int parse_step(const char *s)
{
    if (!strcmp(s, "raw") || !strcmp(s, "1")) return DB_STEP_RAW;
    if (!strcmp(s, "60")) return DB_STEP_MINUTE;
    if (!strcmp(s, "3600")) return DB_STEP_HOUR;
    if (!strcmp(s, "auto")) return 0;
    return -1;
}

int h_series(hreq *r)
{
    db *d = r->app ? r->app->db : NULL;
    char metric_s[32], node[HP_ADDR_MAX], step_s[16];
    int64_t now = hp_now_ms() / 1000, from = 0, to = now, points;
    int st, has_node, metric, step = 0, known;
    series_query q;
    series_out out;
    cJSON *root = NULL;
    topo_snap *t;

    st = api__query_text(r, "metric", metric_s, sizeof(metric_s));
    if (st > 1) return st;
    if (st == 0)
        return http_error(r, 400, "bad_request",
                          "metric is required: lag_bytes, lag_seconds, memory, clients or ops");
    if ((metric = db_metric_parse(metric_s)) < 0)
        return http_error(r, 400, "bad_request",
                          "metric must be lag_bytes, lag_seconds, memory, clients or ops");
    has_node = api__query_text(r, "node", node, sizeof(node));
    if (has_node > 1) return has_node;
    if (has_node && !node[0]) return http_error(r, 400, "bad_request", "node is empty");
    if ((st = api__query_int(r, "to", 1, SERIES_TS_MAX, &to)) != 0) return st;
    from = to - SERIES_DEFAULT_S;
    if ((st = api__query_int(r, "from", 0, SERIES_TS_MAX, &from)) != 0) return st;
    if (from >= to)
        return http_error(r, 400, "bad_request", "from (%lld) must be before to (%lld)",
                          (long long)from, (long long)to);
    st = api__query_text(r, "step", step_s, sizeof(step_s));
    if (st > 1) return st;
    if (st == 1 && (step = parse_step(step_s)) < 0)
        return http_error(r, 400, "bad_request", "step must be raw, 60, 3600 or auto");
    if (!d) return http_error(r, 503, "unavailable", "the history is not available");
    if (step == 0) {
        step = db_series_auto_step(d, from, to, now, SERIES_MAX_POINTS);
        if (step == 0)
            return http_error(r, 400, "bad_request",
                              "from..to spans more than %d hours: at most %d points per node",
                              SERIES_MAX_POINTS, SERIES_MAX_POINTS);
    }
    points = (to - from) / step + 1;
    if (points > SERIES_MAX_POINTS)
        return http_error(r, 400, "bad_request",
                          "from..to at step %s is %lld points: at most %d per node; use a larger "
                          "step or a shorter range",
                          step == DB_STEP_RAW      ? "raw"
                          : step == DB_STEP_MINUTE ? "60"
                                                   : "3600",
                          (long long)points, SERIES_MAX_POINTS);

    t = topo_acquire();
    known = topo_find(t, r->params[0]) != NULL;
    topo_release(t);
    if (!known && (known = db_samples_known(d, r->params[0])) < 0)
        return http_error(r, 503, "unavailable", "the history cannot be read now");
    if (!known) return http_error(r, 404, "not_found", "no cluster of that name");

    memset(&q, 0, sizeof(q));
    q.cluster = r->params[0];
    q.node = has_node ? node : NULL;
    q.metric = metric;
    q.step = step;
    q.from = from;
    q.to = to;
    q.max_points = SERIES_MAX_POINTS;
    root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "cluster", r->params[0]);
    cJSON_AddStringToObject(root, "metric", db_metric_name(metric));
    cJSON_AddStringToObject(root, "unit", units[metric]);
    cJSON_AddNumberToObject(root, "step", step);
    cJSON_AddStringToObject(root, "resolution",
                            step == DB_STEP_RAW      ? "raw"
                            : step == DB_STEP_MINUTE ? "minute"
                                                     : "hour");
    cJSON_AddNumberToObject(root, "from", (double)from);
    cJSON_AddNumberToObject(root, "to", (double)to);
    out.arr = cJSON_AddArrayToObject(root, "series");
    out.metric = metric;
    if (db_query_series(d, &q, add_series, &out) < 0)
        st = http_error(r, 503, "unavailable", "the history cannot be read now");
    else
        st = http_json(r, 200, root);
    cJSON_Delete(root);
    return st;
}
