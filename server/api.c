/* api.c — the route table and the REST API v1 handlers. Handlers read the
 * published topology snapshot or the database; none talks to Redis. Cluster
 * bodies are rendered once per poll by the monitor (topology.c), so serving
 * them costs a lookup and a write. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "../db/db.h"
#include "embed.h"
#include "http.h"
#include "monitor.h"
#include "route.h"
#include "sbuf.h"
#include "topology.h"
#include "ui.h"

/* ------------------------------------------------------------------ helpers */

/* Reads an optional whole-number query parameter within [lo, hi]. Returns 0
 * (absent: *out untouched, or present and valid) or sends 400 and returns it. */
static int query_int(hreq *r, const char *name, int64_t lo, int64_t hi, int64_t *out)
{
    char buf[32], *end;
    long long v;
    int q = http_query(r, name, buf, sizeof(buf));

    if (q == 0) return 0;
    if (q < 0 || !buf[0]) goto bad;
    v = strtoll(buf, &end, 10);
    if (*end || v < lo || v > hi) goto bad;
    *out = v;
    return 0;
bad:
    return http_error(r, 400, "bad_request", "%s must be a whole number from %lld to %lld", name,
                      (long long)lo, (long long)hi);
}

/* Reads an optional text query parameter (at most bufsz-1 bytes). Returns 1
 * present, 0 absent, or sends 400 and returns it. */
static int query_text(hreq *r, const char *name, char *buf, size_t bufsz)
{
    int q = http_query(r, name, buf, bufsz);
    if (q < 0) return http_error(r, 400, "bad_request", "%s is too long", name);
    return q;
}

/* ------------------------------------------------------------------ handlers */

static int h_health(hreq *r)
{
    cJSON *root = cJSON_CreateObject();
    int st;
    cJSON_AddStringToObject(root, "status", "ok");
    cJSON_AddStringToObject(root, "version", HP_VERSION);
    cJSON_AddNumberToObject(root, "uptime_s", (double)((hp_now_ms() - r->app->started_ms) / 1000));
    st = http_json(r, 200, root);
    cJSON_Delete(root);
    return st;
}

static int h_clusters(hreq *r)
{
    topo_snap *t = topo_acquire();
    sbuf b = SBUF_INIT;
    int i, st;
    size_t len;
    char *body;

    sbuf_puts(&b, "{\"clusters\":[");
    for (i = 0; i < t->nclusters; i++) {
        if (i) sbuf_puts(&b, ",");
        sbuf_puts(&b, t->clusters[i]->summary_json);
    }
    sbuf_puts(&b, "]}");
    topo_release(t);
    if (sbuf_failed(&b)) {
        sbuf_release(&b);
        return http_error(r, 500, "internal", "out of memory");
    }
    body = sbuf_detach(&b, &len);
    st = http_send(r, 200, "application/json", body, len);
    free(body);
    return st;
}

static int h_cluster(hreq *r)
{
    topo_snap *t = topo_acquire();
    const cluster_snap *c = topo_find(t, r->params[0]);
    int st;

    if (c)
        st = http_send(r, 200, "application/json", c->json, c->json_len);
    else
        st = http_error(r, 404, "not_found", "no cluster of that name");
    topo_release(t);
    return st;
}

static void add_event(void *ctx, const hp_event *e)
{
    cJSON *arr = ctx, *o = cJSON_CreateObject(), *details;
    cJSON_AddNumberToObject(o, "id", (double)e->id);
    cJSON_AddNumberToObject(o, "ts", (double)e->ts);
    cJSON_AddStringToObject(o, "cluster", e->cluster);
    cJSON_AddStringToObject(o, "type", e->type);
    cJSON_AddStringToObject(o, "severity", e->severity);
    cJSON_AddStringToObject(o, "source", e->source);
    if (e->node[0])
        cJSON_AddStringToObject(o, "node", e->node);
    else
        cJSON_AddNullToObject(o, "node");
    cJSON_AddStringToObject(o, "message", e->message);
    details = cJSON_Parse(e->details);
    cJSON_AddItemToObject(o, "details", details ? details : cJSON_CreateObject());
    cJSON_AddItemToArray(arr, o);
}

static int h_events(hreq *r)
{
    char cluster[HP_NAME_MAX], type[64], node[HP_ADDR_MAX];
    int64_t since = 0, until = 0, before = 0, limit = 100;
    event_query q;
    cJSON *root = NULL, *arr;
    int st, n, has;

    memset(&q, 0, sizeof(q));
    if ((st = query_int(r, "since", 0, INT64_MAX, &since)) ||
        (st = query_int(r, "until", 0, INT64_MAX, &until)) ||
        (st = query_int(r, "before", 1, INT64_MAX, &before)) ||
        (st = query_int(r, "limit", 1, 1000, &limit)))
        return st;
    if ((has = query_text(r, "cluster", cluster, sizeof(cluster))) > 1) return has;
    if (has) q.cluster = cluster;
    if ((has = query_text(r, "type", type, sizeof(type))) > 1) return has;
    if (has) q.type = type;
    if ((has = query_text(r, "node", node, sizeof(node))) > 1) return has;
    if (has) q.node = node;
    q.since = since;
    q.until = until;
    q.before = before;
    q.limit = (int)limit;

    root = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(root, "events");
    n = db_query_events(r->app->db, &q, add_event, arr);
    if (n < 0) {
        st = http_error(r, 503, "unavailable", "the history database is not readable");
        goto out;
    }
    if (n == q.limit && n > 0) {
        cJSON *last = cJSON_GetArrayItem(arr, n - 1);
        cJSON_AddNumberToObject(root, "next_before",
                                cJSON_GetObjectItem(last, "id")->valuedouble);
    } else {
        cJSON_AddNullToObject(root, "next_before");
    }
    st = http_json(r, 200, root);
out:
    cJSON_Delete(root);
    return st;
}

/* Actions arrive with the job runner; until then the route exists, is
 * authorised like the real one, and says plainly that it is not there yet. */
static int h_not_yet(hreq *r)
{
    return http_error(r, 501, "not_implemented", "this action is not implemented in %s",
                      HP_VERSION);
}

static int h_metrics(hreq *r)
{
    sbuf b = SBUF_INIT;
    char *body;
    size_t len;
    int st;

    monitor_metrics(r->app->mon, &b);
    if (sbuf_failed(&b)) {
        sbuf_release(&b);
        return http_error(r, 500, "internal", "out of memory");
    }
    body = sbuf_detach(&b, &len);
    st = http_send(r, 200, "text/plain; version=0.0.4", body, len);
    free(body);
    return st;
}

static const char *content_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot) return "application/octet-stream";
    if (!strcmp(dot, ".html")) return "text/html; charset=utf-8";
    if (!strcmp(dot, ".js")) return "text/javascript; charset=utf-8";
    if (!strcmp(dot, ".css")) return "text/css; charset=utf-8";
    if (!strcmp(dot, ".svg")) return "image/svg+xml";
    return "text/plain; charset=utf-8";
}

static int send_asset(hreq *r, const char *name)
{
    int i;
    for (i = 0; hp_web_assets[i].name; i++)
        if (!strcmp(hp_web_assets[i].name, name))
            return http_send(r, 200, content_type(name), (const char *)hp_web_assets[i].data,
                             hp_web_assets[i].len);
    return http_error(r, 404, "not_found", "no such file");
}

static int h_index(hreq *r)
{
    return send_asset(r, "index.html");
}

static int h_static(hreq *r)
{
    return send_asset(r, r->params[0]);
}

/* ------------------------------------------------------------- route table */

const route api_routes[] = {
    {"GET", "/api/v1/health", h_health, ROLE_NONE, "liveness and version"},
    {"GET", "/api/v1/clusters", h_clusters, ROLE_VIEWER, "every monitored cluster, summarised"},
    {"GET", "/api/v1/clusters/{name}", h_cluster, ROLE_VIEWER, "one cluster: nodes, Sentinels, quorum, problems"},
    {"POST", "/api/v1/clusters/{name}/failover", h_not_yet, ROLE_OPERATOR, "manual failover (not implemented yet: 501)"},
    {"GET", "/api/v1/events", h_events, ROLE_VIEWER, "the event history, filtered and paged"},
    {"GET", "/metrics", h_metrics, ROLE_VIEWER, "Prometheus metrics"},
    {"GET", "/", h_index, ROLE_NONE, "the dashboard page"},
    {"GET", "/static/{file}", h_static, ROLE_NONE, "the dashboard's static assets"},
    {"GET", "/ui/clusters", ui_clusters, ROLE_VIEWER, "dashboard fragment: every cluster"},
};
const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);
