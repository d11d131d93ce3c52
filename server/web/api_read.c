/* api_read.c — the read-only routes: health, clusters (bodies rendered once
 * per snapshot by the monitor, so serving one costs a lookup and a write),
 * events, metrics, the dashboard page and its assets. */
#define _POSIX_C_SOURCE 200809L
#include "web/api_internal.h"

#include <errno.h>
#include <unistd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "db/writer.h"
#include "ha/ha.h"
#include "core/embed.h"
#include "web/http.h"
#include "web/metrics.h"
#include "actions/jobs.h"
#include "monitor/monitor.h"
#include "notify/notify.h"
#include "model/promote.h"
#include "web/route.h"
#include "core/sbuf.h"
#include "model/topology.h"
#include "web/ui.h"
#include "core/banned.h" /* last: after every system header */

/* ------------------------------------------------------------------ handlers */

/* The "ha" object of health and instances: this instance, the leader (null
 * when none is known), etcd's state and the term. */
static cJSON *ha_json(const ha_status *s)
{
    cJSON *o = cJSON_CreateObject(), *l;
    cJSON_AddBoolToObject(o, "enabled", s->enabled);
    if (!s->enabled) return o;
    cJSON_AddStringToObject(o, "role", s->leader ? "leader" : "follower");
    cJSON_AddStringToObject(o, "instance", s->self_id);
    if (s->leader_id[0]) {
        l = cJSON_AddObjectToObject(o, "leader");
        cJSON_AddStringToObject(l, "instance", s->leader_id);
        cJSON_AddStringToObject(l, "url", s->leader_url);
        cJSON_AddNumberToObject(l, "since", (double)s->leader_since_ms);
    } else {
        cJSON_AddNullToObject(o, "leader");
    }
    cJSON_AddStringToObject(o, "etcd", s->etcd_ok ? "ok" : "unreachable");
    if (s->name_taken) cJSON_AddStringToObject(o, "error", "instance_name_taken");
    cJSON_AddNumberToObject(o, "term", (double)s->term);
    return o;
}

int h_health(hreq *r)
{
    cJSON *root = cJSON_CreateObject();
    ha_status hs;
    int st;
    cJSON_AddStringToObject(root, "status", "ok");
    cJSON_AddStringToObject(root, "version", HP_VERSION);
    cJSON_AddNumberToObject(root, "uptime_s", (double)((hp_now_ms() - r->app->started_ms) / 1000));
    ha_status_get(r->app->ha, &hs);
    /* a follower answers reads: still 200 and "ok"; acting tells whether
     * any instance leads (runs jobs, sends notifications) */
    if (hs.enabled) cJSON_AddBoolToObject(root, "acting", hs.leader_id[0] != '\0');
    cJSON_AddItemToObject(root, "ha", ha_json(&hs));
    st = http_json(r, 200, root);
    cJSON_Delete(root);
    return st;
}

/* GET /api/v1/instances: the ha layer's copy of the instance list (read
 * from etcd every HA_INST_REFRESH_MS by its own thread: no etcd call here);
 * 503 while it has none, or its latest read failed. */
int h_instances(hreq *r)
{
    cJSON *root, *arr;
    ha_status hs;
    ha_instance *in = calloc(HA_INST_MAX, sizeof(*in));
    int st, i, n, more, failed, have;
    int64_t at_ms;

    if (!in) return http_error(r, 500, "internal", "out of memory");
    ha_status_get(r->app->ha, &hs);
    have = ha_instances(r->app->ha, in, &n, &more, &at_ms, &failed);
    if (hs.enabled && (!have || failed)) {
        free(in);
        return http_error(r, 503, "etcd_unreachable", "etcd did not answer; try again");
    }
    root = cJSON_CreateObject();
    cJSON_AddItemToObject(root, "ha", ha_json(&hs));
    arr = cJSON_AddArrayToObject(root, "instances");
    for (i = 0; i < n; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "instance", in[i].id);
        cJSON_AddStringToObject(e, "url", in[i].url);
        cJSON_AddStringToObject(e, "version", in[i].version);
        cJSON_AddNumberToObject(e, "started", (double)in[i].started_ms);
        cJSON_AddBoolToObject(e, "leader", hs.leader_id[0] && !strcmp(in[i].id, hs.leader_id));
        cJSON_AddBoolToObject(e, "self", !strcmp(in[i].id, hs.self_id));
        cJSON_AddItemToArray(arr, e);
    }
    free(in);
    st = http_json(r, 200, root);
    cJSON_Delete(root);
    return st;
}

/* GET /api/v1/clusters[?group=NAME]: every cluster, or those of one
 * Sentinel group; a group the config does not have is a 400, not an empty
 * list, so a typo is not mistaken for a group without clusters. */
int h_clusters(hreq *r)
{
    topo_snap *t;
    sbuf b = SBUF_INIT;
    int i, st, n = 0, has;
    size_t len;
    char *body, group[HP_NAME_MAX];

    if ((has = api__query_text(r, "group", group, sizeof(group))) > 1) return has;
    if (has && !config_group_named(r->app->cfg, group))
        return http_error(r, 400, "unknown_group",
                          "no Sentinel group of that name in the config ([sentinel NAME] "
                          "sections; [sentinel] is \"default\")");
    t = topo_acquire();
    sbuf_puts(&b, "{\"clusters\":[");
    for (i = 0; i < t->nclusters; i++) {
        if (has && strcmp(t->clusters[i]->group_name, group)) continue;
        if (n++) sbuf_puts(&b, ",");
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

int h_cluster(hreq *r)
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

/* An event as GET /api/v1/events and the event stream show it. */
cJSON *api__event_json(const hp_event *e)
{
    cJSON *o = cJSON_CreateObject(), *details;
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
    return o;
}

static void add_event(void *ctx, const hp_event *e)
{
    cJSON_AddItemToArray((cJSON *)ctx, api__event_json(e));
}

int h_events(hreq *r)
{
    char cluster[HP_NAME_MAX], type[DB_TERMS_MAX * DB_TERM_LEN], node[HP_ADDR_MAX], sev[64];
    int64_t since = 0, until = 0, before = 0, limit = 100;
    db_terms terms;
    event_query q;
    cJSON *root = NULL, *arr;
    int st, n, has;

    memset(&q, 0, sizeof(q));
    if ((st = api__query_int(r, "since", 0, INT64_MAX, &since)) ||
        (st = api__query_int(r, "until", 0, INT64_MAX, &until)) ||
        (st = api__query_int(r, "before", 1, INT64_MAX, &before)) ||
        (st = api__query_int(r, "limit", 1, 1000, &limit)))
        return st;
    if ((has = api__query_text(r, "cluster", cluster, sizeof(cluster))) > 1) return has;
    if (has) q.cluster = cluster;
    if ((has = api__query_text(r, "type", type, sizeof(type))) > 1) return has;
    if (has && db_terms_split(type, &terms) < 0)
        return http_error(r, 400, "bad_request",
                          "type: at most %d comma-separated terms of fewer than %d bytes",
                          DB_TERMS_MAX, DB_TERM_LEN);
    if (has) q.types = type; /* prefixes: see db_type_matches */
    if ((has = api__query_text(r, "severity", sev, sizeof(sev))) > 1) return has;
    if (has && db_severity_mask(sev) < 0)
        return http_error(r, 400, "bad_request",
                          "severity: comma-separated words of info, warning, critical");
    if (has) q.severities = sev;
    if ((has = api__query_text(r, "node", node, sizeof(node))) > 1) return has;
    if (has) q.node = node;
    q.since = since;
    q.until = until;
    q.before = before;
    q.limit = (int)limit + 1; /* one more tells whether an older page exists */

    root = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(root, "events");
    n = db_query_events(r->app->db, &q, add_event, arr);
    if (n < 0) {
        st = http_error(r, 503, "unavailable", "the history database is not readable");
        goto out;
    }
    api__set_next(root, arr, n, limit);
    st = http_json(r, 200, root);
out:
    cJSON_Delete(root);
    return st;
}

int h_metrics(hreq *r)
{
    sbuf b = SBUF_INIT;
    char *body;
    size_t len;
    int st;

    metrics_render(r->app->mon, r->app->q, r->app->db, r->app->hub, &b);
    metrics_render_ha(r->app->ha, &b);
    metrics_render_groups(r->app->cfg, &b);
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

int h_index(hreq *r)
{
    return send_asset(r, "index.html");
}

int h_static(hreq *r)
{
    return send_asset(r, r->params[0]);
}
