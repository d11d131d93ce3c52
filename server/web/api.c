/* api.c — the route table and the REST API v1 handlers. Handlers read the
 * published topology snapshot or the database; none talks to Redis. Cluster
 * bodies are rendered once per poll by the monitor (topology.c), so serving
 * them costs a lookup and a write. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <errno.h>
#include <unistd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "db/writer.h"
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

/* Pages are fetched with one row more than asked: when it comes, it is
 * dropped and next_before names the last row kept; otherwise this is the
 * last page and next_before is null. */
static void set_next(cJSON *root, cJSON *arr, int n, int64_t limit)
{
    if (n > limit) {
        cJSON_DeleteItemFromArray(arr, n - 1);
        cJSON_AddNumberToObject(
            root, "next_before",
            cJSON_GetObjectItem(cJSON_GetArrayItem(arr, n - 2), "id")->valuedouble);
    } else {
        cJSON_AddNullToObject(root, "next_before");
    }
}

/* Ends a list handler: 503 when the query failed (n < 0), else the page with
 * its next_before. Frees root. */
static int send_page(hreq *r, cJSON *root, cJSON *arr, int n, int64_t limit)
{
    int st;
    if (n < 0) {
        st = http_error(r, 503, "unavailable", "the database is not readable");
    } else {
        set_next(root, arr, n, limit);
        st = http_json(r, 200, root);
    }
    cJSON_Delete(root);
    return st;
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
    q.limit = (int)limit + 1; /* one more tells whether an older page exists */

    root = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(root, "events");
    n = db_query_events(r->app->db, &q, add_event, arr);
    if (n < 0) {
        st = http_error(r, 503, "unavailable", "the history database is not readable");
        goto out;
    }
    set_next(root, arr, n, limit);
    st = http_json(r, 200, root);
out:
    cJSON_Delete(root);
    return st;
}

static int h_metrics(hreq *r)
{
    sbuf b = SBUF_INIT;
    char *body;
    size_t len;
    int st;

    metrics_render(r->app->mon, &b);
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

/* ------------------------------------------------------------------ actions */

/* Checks that body has only the given fields, each of the given cJSON type
 * (cJSON_String, cJSON_Number (whole), cJSON_True for booleans). Sends 400 and
 * returns it on the first problem. */
typedef struct field_spec {
    const char *name;
    int type;
} field_spec;

static int check_fields(hreq *r, const cJSON *body, const field_spec *spec, size_t n)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, body)
    {
        size_t i;
        for (i = 0; i < n; i++)
            if (!strcmp(it->string, spec[i].name)) break;
        if (i == n) return http_error(r, 400, "bad_request", "unknown field '%.64s'", it->string);
        if (spec[i].type == cJSON_String && !cJSON_IsString(it))
            return http_error(r, 400, "bad_request", "%s must be a string", spec[i].name);
        if (spec[i].type == cJSON_Number &&
            (!cJSON_IsNumber(it) || it->valuedouble != (double)(long long)it->valuedouble))
            return http_error(r, 400, "bad_request", "%s must be a whole number", spec[i].name);
        if (spec[i].type == cJSON_True && !cJSON_IsBool(it))
            return http_error(r, 400, "bad_request", "%s must be true or false", spec[i].name);
    }
    return 0;
}

static const char *str_field(const cJSON *body, const char *name)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(body, name));
}

/* Queues the job and answers 202 {job_id}, or 409 if one already runs. */
static int submit(hreq *r, const char *kind, const char *cluster, const cJSON *params,
                  const char *reason)
{
    int64_t id = 0;
    int rc = jobs_submit(r->app->jobs, kind, cluster, params, r->actor, reason, &id);
    cJSON *root;
    int st;

    if (rc == JOBS_BUSY)
        return http_error(r, 409, "conflict", "job %lld is already running on %s", (long long)id,
                          cluster);
    if (rc != JOBS_OK) return http_error(r, 503, "unavailable", "the job could not be stored");
    root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "job_id", (double)id);
    st = http_json(r, 202, root);
    cJSON_Delete(root);
    return st;
}

/* The code word of a plan's refusal. */
static const char *status_code(int status)
{
    return status == 404 ? "not_found" : status == 409 ? "conflict" : "precondition_failed";
}

static int h_failover(hreq *r)
{
    static const field_spec spec[] = {{"mode", cJSON_String},          {"target", cJSON_String},
                                      {"max_pause_ms", cJSON_Number},  {"max_lag_bytes", cJSON_Number},
                                      {"max_wait_ms", cJSON_Number},   {"reason", cJSON_String}};
    topo_snap *t = NULL;
    const cluster_snap *c;
    cJSON *body = NULL;
    const char *mode, *target, *reason;
    const cJSON *v;
    plan_req rq;
    plan *p = NULL;
    int64_t running;
    int st;

    if ((st = http_body_json(r, &body))) return st;
    if ((st = check_fields(r, body, spec, sizeof(spec) / sizeof(spec[0])))) goto out;
    mode = str_field(body, "mode");
    target = str_field(body, "target");
    reason = str_field(body, "reason");
    if (!mode) mode = "graceful";
    if (strcmp(mode, "graceful") && strcmp(mode, "force")) {
        st = http_error(r, 400, "bad_request", "mode must be \"graceful\" or \"force\"");
        goto out;
    }
    if (target && !strcmp(mode, "force")) {
        st = http_error(r, 400, "bad_request",
                        "target goes with mode graceful; a forced failover lets Sentinel choose");
        goto out;
    }
    if (reason && strlen(reason) > 200) {
        st = http_error(r, 400, "bad_request", "reason is longer than 200 characters");
        goto out;
    }
    v = cJSON_GetObjectItem(body, "max_pause_ms");
    if (v && (v->valuedouble < 50 || v->valuedouble > 30000)) {
        st = http_error(r, 400, "bad_request", "max_pause_ms must be from 50 to 30000");
        goto out;
    }
    v = cJSON_GetObjectItem(body, "max_wait_ms");
    if (v && (v->valuedouble < 0 || v->valuedouble > 60000)) {
        st = http_error(r, 400, "bad_request", "max_wait_ms must be from 0 to 60000");
        goto out;
    }
    v = cJSON_GetObjectItem(body, "max_lag_bytes");
    if (v && v->valuedouble < 0) {
        st = http_error(r, 400, "bad_request", "max_lag_bytes must not be negative");
        goto out;
    }
    memset(&rq, 0, sizeof(rq));
    rq.force = !strcmp(mode, "force");
    hp_strlcpy(rq.target, target ? target : "", sizeof(rq.target));
    rq.max_lag_bytes = v ? (int64_t)v->valuedouble : -1;
    v = cJSON_GetObjectItem(body, "max_pause_ms");
    rq.max_pause_ms = v ? (int64_t)v->valuedouble : 0;

    t = topo_acquire();
    c = topo_find(t, r->params[0]);
    if (!c) {
        st = http_error(r, 404, "not_found", "no cluster of that name");
        goto out;
    }
    if ((running = jobs_running(r->app->jobs, c->name, "failover"))) {
        st = http_error(r, 409, "conflict", "job %lld is already running on %s", (long long)running,
                        c->name);
        goto out;
    }
    /* The same plan the job follows: a failing check refuses now, in the
     * words the job would use; a check that only waits for Sentinel's view
     * to change lets the job wait for it (bounded, changing nothing). */
    p = malloc(sizeof(*p));
    if (!p) {
        st = http_error(r, 503, "unavailable", "out of memory");
        goto out;
    }
    plan_build(c, &rq, hp_now_ms(), p);
    if (p->state == PLAN_FAIL) {
        st = http_error(r, p->status, status_code(p->status), "%s", plan_blocker(p));
        goto out;
    }
    if (!cJSON_GetObjectItem(body, "mode")) cJSON_AddStringToObject(body, "mode", mode);
    st = submit(r, "failover", c->name, body, reason);
out:
    free(p);
    topo_release(t);
    cJSON_Delete(body);
    return st;
}

/* GET /api/v1/clusters/{name}/failover/plan: the dry run. */
static int h_failover_plan(hreq *r)
{
    topo_snap *t = NULL;
    const cluster_snap *c;
    char mode[16] = "graceful", target[HP_ADDR_MAX] = "";
    int64_t max_pause = 0, max_lag = -1;
    plan_req rq;
    plan *p = NULL;
    cJSON *root;
    int st, q;

    if ((q = query_text(r, "mode", mode, sizeof(mode))) > 1) return q;
    if (q == 1 && strcmp(mode, "graceful") && strcmp(mode, "force"))
        return http_error(r, 400, "bad_request", "mode must be graceful or force");
    if ((q = query_text(r, "target", target, sizeof(target))) > 1) return q;
    if ((st = query_int(r, "max_pause_ms", 50, 30000, &max_pause))) return st;
    if ((st = query_int(r, "max_lag_bytes", 0, INT64_MAX / 2, &max_lag))) return st;
    memset(&rq, 0, sizeof(rq));
    rq.force = !strcmp(mode, "force");
    hp_strlcpy(rq.target, target, sizeof(rq.target));
    rq.max_pause_ms = max_pause;
    rq.max_lag_bytes = max_lag;
    t = topo_acquire();
    c = topo_find(t, r->params[0]);
    if (!c) {
        st = http_error(r, 404, "not_found", "no cluster of that name");
        goto out;
    }
    p = malloc(sizeof(*p));
    if (!p) {
        st = http_error(r, 503, "unavailable", "out of memory");
        goto out;
    }
    plan_build(c, &rq, hp_now_ms(), p);
    root = plan_json(p, c, hp_now_ms());
    {
        int64_t running = jobs_running(r->app->jobs, c->name, "failover");
        if (running) cJSON_AddNumberToObject(root, "running_job", (double)running);
        else cJSON_AddNullToObject(root, "running_job");
    }
    st = http_json(r, 200, root);
    cJSON_Delete(root);
out:
    free(p);
    topo_release(t);
    return st;
}

static int h_resync(hreq *r)
{
    static const field_spec spec[] = {{"full", cJSON_True}, {"reason", cJSON_String}};
    topo_snap *t = NULL;
    const cluster_snap *c;
    const snap_node *n;
    cJSON *body = NULL, *params = NULL;
    int st;

    if ((st = http_body_json(r, &body))) return st;
    if ((st = check_fields(r, body, spec, sizeof(spec) / sizeof(spec[0])))) goto out;
    t = topo_acquire();
    c = topo_find(t, r->params[0]);
    if (!c) {
        st = http_error(r, 404, "not_found", "no cluster of that name");
        goto out;
    }
    n = cluster_snap_node(c, r->params[1]);
    if (!n) {
        st = http_error(r, 404, "not_found", "no node of that address in this cluster");
        goto out;
    }
    if (!strcmp(n->addr, c->master)) {
        st = http_error(r, 412, "precondition_failed", "%s is the master; only replicas resync",
                        n->addr);
        goto out;
    }
    if (!n->up) {
        st = http_error(r, 412, "precondition_failed", "%s is down", n->addr);
        goto out;
    }
    if (!c->master[0]) {
        st = http_error(r, 412, "precondition_failed", "the cluster has no master");
        goto out;
    }
    params = cJSON_CreateObject();
    cJSON_AddStringToObject(params, "node", n->addr);
    cJSON_AddBoolToObject(params, "full", cJSON_IsTrue(cJSON_GetObjectItem(body, "full")));
    st = submit(r, "resync", c->name, params, str_field(body, "reason"));
out:
    topo_release(t);
    cJSON_Delete(body);
    cJSON_Delete(params);
    return st;
}

static int h_reset(hreq *r)
{
    static const field_spec spec[] = {{"reason", cJSON_String}};
    topo_snap *t = NULL;
    const cluster_snap *c;
    cJSON *body = NULL, *params = NULL;
    int st, i, up = 0;

    if ((st = http_body_json(r, &body))) return st;
    if ((st = check_fields(r, body, spec, sizeof(spec) / sizeof(spec[0])))) goto out;
    t = topo_acquire();
    c = topo_find(t, r->params[0]);
    if (!c) {
        st = http_error(r, 404, "not_found", "no cluster of that name");
        goto out;
    }
    for (i = 0; i < c->nsentinels; i++) up += c->sentinels[i].up;
    if (up == 0) {
        st = http_error(r, 412, "precondition_failed", "no Sentinel is reachable");
        goto out;
    }
    if (c->failover_in_progress) {
        st = http_error(r, 409, "conflict", "a Sentinel failover is in progress");
        goto out;
    }
    params = cJSON_CreateObject();
    st = submit(r, "sentinel-reset", c->name, params, str_field(body, "reason"));
out:
    topo_release(t);
    cJSON_Delete(body);
    cJSON_Delete(params);
    return st;
}

/* --------------------------------------------------------- jobs, failovers */

/* A number, or null when it is not known (negative). */
static void opt_num(cJSON *o, const char *k, int64_t v)
{
    if (v >= 0)
        cJSON_AddNumberToObject(o, k, (double)v);
    else
        cJSON_AddNullToObject(o, k);
}

static void add_json_text(cJSON *o, const char *k, const char *text, int as_string)
{
    cJSON *v = NULL;
    if (text && !as_string) v = cJSON_Parse(text);
    if (!v) v = text ? cJSON_CreateString(text) : cJSON_CreateNull();
    cJSON_AddItemToObject(o, k, v);
}

static cJSON *render_job(const db_job_row *j)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)j->id);
    cJSON_AddStringToObject(o, "kind", j->kind);
    cJSON_AddStringToObject(o, "cluster", j->cluster);
    cJSON_AddStringToObject(o, "state", j->state);
    add_json_text(o, "params", j->params, 0);
    add_json_text(o, "steps", j->steps, 0);
    add_json_text(o, "error", j->error, 1);
    add_json_text(o, "result", j->result, 0);
    cJSON_AddStringToObject(o, "actor", j->actor);
    cJSON_AddStringToObject(o, "reason", j->reason);
    cJSON_AddNumberToObject(o, "created_at", (double)j->created_at);
    opt_num(o, "started_at", j->started_at ? j->started_at : -1);
    opt_num(o, "ended_at", j->ended_at ? j->ended_at : -1);
    return o;
}

static int h_job(hreq *r)
{
    char *end;
    long long id = strtoll(r->params[0], &end, 10);
    db_job_row j;
    cJSON *o;
    int st, found;

    if (*end || id <= 0) return http_error(r, 404, "not_found", "no job with that id");
    found = db_job_get(r->app->db, id, &j);
    if (found < 0) return http_error(r, 503, "unavailable", "the database is not readable");
    if (!found) return http_error(r, 404, "not_found", "no job with that id");
    o = render_job(&j);
    db_job_row_release(&j);
    st = http_json(r, 200, o);
    cJSON_Delete(o);
    return st;
}

static void add_job(void *ctx, const db_job_row *j)
{
    cJSON_AddItemToArray(ctx, render_job(j));
}

/* The paging both lists share: cluster, limit (1..1000), before. */
typedef struct page_query {
    char cluster[HP_NAME_MAX];
    int has_cluster;
    int64_t before, limit;
} page_query;

static int read_page(hreq *r, page_query *p)
{
    int st;
    p->before = 0;
    p->limit = 100;
    if ((st = query_int(r, "before", 1, INT64_MAX, &p->before)) ||
        (st = query_int(r, "limit", 1, 1000, &p->limit)))
        return st;
    p->has_cluster = query_text(r, "cluster", p->cluster, sizeof(p->cluster));
    return p->has_cluster > 1 ? p->has_cluster : 0;
}

static int h_jobs(hreq *r)
{
    page_query p;
    cJSON *root, *arr;
    int st, n;

    if ((st = read_page(r, &p))) return st;
    root = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(root, "jobs");
    n = db_query_jobs(r->app->db, p.has_cluster ? p.cluster : NULL, 0, p.before,
                      (int)p.limit + 1, add_job, arr);
    return send_page(r, root, arr, n, p.limit);
}

static void add_failover(void *ctx, const hp_failover *f)
{
    cJSON_AddItemToArray(ctx, hp_failover_json(f));
}

static int h_failovers(hreq *r)
{
    page_query p;
    failover_query q;
    cJSON *root, *arr;
    int st, n;

    if ((st = read_page(r, &p))) return st;
    q.cluster = p.has_cluster ? p.cluster : NULL;
    q.before = p.before;
    q.limit = (int)p.limit + 1;
    root = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(root, "failovers");
    n = db_query_failovers(r->app->db, &q, add_failover, arr);
    return send_page(r, root, arr, n, p.limit);
}

/* ------------------------------------------------------------------ backups */

static int h_backup_create(hreq *r)
{
    static const field_spec spec[] = {{"node", cJSON_String}, {"reason", cJSON_String}};
    topo_snap *t = NULL;
    const cluster_snap *c;
    cJSON *body = NULL, *params = NULL;
    const char *node;
    int st;

    if ((st = http_body_json(r, &body))) return st;
    if ((st = check_fields(r, body, spec, sizeof(spec) / sizeof(spec[0])))) goto out;
    t = topo_acquire();
    c = topo_find(t, r->params[0]);
    if (!c) {
        st = http_error(r, 404, "not_found", "no cluster of that name");
        goto out;
    }
    node = str_field(body, "node");
    params = cJSON_CreateObject();
    if (node) {
        const snap_node *n = cluster_snap_node(c, node);
        if (!n) {
            st = http_error(r, 404, "not_found", "no node of that address in this cluster");
            goto out;
        }
        if (!n->up) {
            st = http_error(r, 412, "precondition_failed", "%s is down", n->addr);
            goto out;
        }
        cJSON_AddStringToObject(params, "node", n->addr);
    }
    st = submit(r, "backup", c->name, params, str_field(body, "reason"));
out:
    topo_release(t);
    cJSON_Delete(body);
    cJSON_Delete(params);
    return st;
}

static void add_backup(void *ctx, const hp_backup *b)
{
    cJSON *o = cJSON_CreateObject();
    char url[64];
    cJSON_AddNumberToObject(o, "id", (double)b->id);
    cJSON_AddStringToObject(o, "cluster", b->cluster);
    cJSON_AddStringToObject(o, "node", b->node);
    cJSON_AddNumberToObject(o, "created_at", (double)b->created_at);
    cJSON_AddNumberToObject(o, "size_bytes", (double)b->size_bytes);
    cJSON_AddStringToObject(o, "sha256", b->sha256);
    cJSON_AddBoolToObject(o, "verified", b->verified);
    opt_num(o, "job_id", b->job_id > 0 ? b->job_id : -1);
    snprintf(url, sizeof(url), "/api/v1/backups/%lld/download", (long long)b->id);
    cJSON_AddStringToObject(o, "download", url);
    cJSON_AddItemToArray(ctx, o);
}

static int h_backup_list(hreq *r)
{
    topo_snap *t = topo_acquire();
    int known = topo_find(t, r->params[0]) != NULL, st, n;
    int64_t limit = 100;
    cJSON *root, *arr;

    topo_release(t);
    if ((st = query_int(r, "limit", 1, 1000, &limit))) return st;
    root = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(root, "backups");
    n = db_query_backups(r->app->db, r->params[0], (int)limit, add_backup, arr);
    if (n < 0)
        st = http_error(r, 503, "unavailable", "the database is not readable");
    else if (n == 0 && !known)
        st = http_error(r, 404, "not_found", "no cluster of that name");
    else
        st = http_json(r, 200, root);
    cJSON_Delete(root);
    return st;
}

/* The backup named by the {id} path parameter: 1 found, else the status sent. */
static int find_backup(hreq *r, hp_backup *b)
{
    char *end;
    long long id = strtoll(r->params[0], &end, 10);
    int found;
    if (*end || id <= 0) return http_error(r, 404, "not_found", "no backup with that id");
    found = db_get_backup(r->app->db, id, b);
    if (found < 0) return http_error(r, 503, "unavailable", "the database is not readable");
    if (!found) return http_error(r, 404, "not_found", "no backup with that id");
    return 1;
}

static int h_backup_download(hreq *r)
{
    hp_backup b;
    int st = find_backup(r, &b);
    if (st != 1) return st;
    return http_send_file(r, b.path, "application/octet-stream", strrchr(b.path, '/') + 1);
}

static int h_backup_delete(hreq *r)
{
    hp_backup b;
    cJSON *root;
    int st = find_backup(r, &b);
    if (st != 1) return st;
    /* The writer removes the row, records the event, then the file. */
    if (evq_backup_delete(r->app->q, &b, r->actor) < 0)
        return http_error(r, 503, "unavailable", "the catalogue could not be changed");
    root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "deleted", (double)b.id);
    st = http_json(r, 200, root);
    cJSON_Delete(root);
    return st;
}

static int h_bgsave(hreq *r)
{
    static const field_spec spec[] = {{"reason", cJSON_String}};
    topo_snap *t = NULL;
    const cluster_snap *c;
    const snap_node *n;
    cJSON *body = NULL, *params = NULL;
    int st;

    if ((st = http_body_json(r, &body))) return st;
    if ((st = check_fields(r, body, spec, sizeof(spec) / sizeof(spec[0])))) goto out;
    t = topo_acquire();
    c = topo_find(t, r->params[0]);
    n = c ? cluster_snap_node(c, r->params[1]) : NULL;
    if (!n) {
        st = http_error(r, 404, "not_found", c ? "no node of that address in this cluster"
                                                : "no cluster of that name");
        goto out;
    }
    if (!n->up) {
        st = http_error(r, 412, "precondition_failed", "%s is down", n->addr);
        goto out;
    }
    params = cJSON_CreateObject();
    cJSON_AddStringToObject(params, "node", n->addr);
    st = submit(r, "bgsave", c->name, params, str_field(body, "reason"));
out:
    topo_release(t);
    cJSON_Delete(body);
    cJSON_Delete(params);
    return st;
}

/* ------------------------------------------------------- alerts, notifications */

static void add_alert(void *ctx, const alert_row *a)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)a->id);
    cJSON_AddStringToObject(o, "cluster", a->cluster);
    cJSON_AddStringToObject(o, "rule", a->rule);
    if (a->node[0])
        cJSON_AddStringToObject(o, "node", a->node);
    else
        cJSON_AddNullToObject(o, "node");
    cJSON_AddStringToObject(o, "severity", a->severity);
    cJSON_AddStringToObject(o, "state", a->resolved_at ? "resolved" : "active");
    cJSON_AddStringToObject(o, "message", a->message);
    cJSON_AddNumberToObject(o, "started_at", (double)a->started_at);
    opt_num(o, "resolved_at", a->resolved_at ? a->resolved_at : -1);
    if (a->acked_by[0]) {
        cJSON_AddStringToObject(o, "acked_by", a->acked_by);
        cJSON_AddNumberToObject(o, "acked_at", (double)a->acked_at);
        cJSON_AddStringToObject(o, "ack_comment", a->ack_comment);
    } else {
        cJSON_AddNullToObject(o, "acked_by");
        cJSON_AddNullToObject(o, "acked_at");
        cJSON_AddNullToObject(o, "ack_comment");
    }
    cJSON_AddItemToArray(ctx, o);
}

static int h_alerts(hreq *r)
{
    page_query p;
    char state[16];
    int active = 0, st, n, has;
    cJSON *root, *arr;

    if ((st = read_page(r, &p))) return st;
    if ((has = query_text(r, "state", state, sizeof(state))) > 1) return has;
    if (has && strcmp(state, "active") && strcmp(state, "all"))
        return http_error(r, 400, "bad_request", "state must be active or all");
    active = has && !strcmp(state, "active");
    root = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(root, "alerts");
    n = db_query_alerts(r->app->db, active, p.has_cluster ? p.cluster : NULL, p.before,
                        (int)p.limit + 1, add_alert, arr);
    return send_page(r, root, arr, n, p.limit);
}

static int h_alert_ack(hreq *r)
{
    static const field_spec spec[] = {{"comment", cJSON_String}};
    cJSON *body = NULL, *root;
    const char *comment;
    char *end;
    long long id = strtoll(r->params[0], &end, 10);
    int st, rc;

    if (*end || id <= 0) return http_error(r, 404, "not_found", "no alert with that id");
    if ((st = http_body_json(r, &body))) return st;
    if ((st = check_fields(r, body, spec, sizeof(spec) / sizeof(spec[0])))) goto out;
    comment = str_field(body, "comment");
    if (comment && strlen(comment) > 500) {
        st = http_error(r, 400, "bad_request", "comment is longer than 500 characters");
        goto out;
    }
    rc = evq_alert_ack(r->app->q, id, r->actor, comment ? comment : "", hp_now_ms());
    if (rc < 0)
        st = http_error(r, 503, "unavailable", "the database is not writable");
    else if (rc == 0)
        st = http_error(r, 404, "not_found", "no alert with that id");
    else {
        root = cJSON_CreateObject();
        cJSON_AddNumberToObject(root, "id", (double)id);
        cJSON_AddStringToObject(root, "acked_by", r->actor);
        st = http_json(r, 200, root);
        cJSON_Delete(root);
    }
out:
    cJSON_Delete(body);
    return st;
}

static int h_notify_test(hreq *r)
{
    cJSON *body = NULL, *root;
    int st;

    if ((st = http_body_json(r, &body))) return st;
    cJSON_Delete(body);
    if (!r->app->notifier || !r->app->cfg->nchannels)
        return http_error(r, 412, "precondition_failed", "no notification channel is configured");
    root = cJSON_CreateObject();
    st = submit(r, "notify-test", "", root, NULL);
    cJSON_Delete(root);
    return st;
}

static void add_outbox(void *ctx, const outbox_row *o)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "id", (double)o->id);
    cJSON_AddStringToObject(j, "channel", o->channel);
    cJSON_AddStringToObject(j, "key", o->key);
    cJSON_AddStringToObject(j, "severity", o->severity);
    cJSON_AddStringToObject(j, "state", o->state);
    cJSON_AddNumberToObject(j, "attempts", o->attempts);
    cJSON_AddStringToObject(j, "text", o->text ? o->text : "");
    if (o->last_error[0])
        cJSON_AddStringToObject(j, "last_error", o->last_error);
    else
        cJSON_AddNullToObject(j, "last_error");
    cJSON_AddNumberToObject(j, "created_at", (double)o->created_at);
    opt_num(j, "delivered_at", o->delivered_at ? o->delivered_at : -1);
    opt_num(j, "next_attempt_at", strcmp(o->state, "pending") ? -1 : o->next_at);
    cJSON_AddItemToArray(ctx, j);
}

static int h_notifications(hreq *r)
{
    char state[16];
    int64_t before = 0, limit = 100;
    int st, has, n;
    cJSON *root, *arr;

    if ((st = query_int(r, "before", 1, INT64_MAX, &before)) ||
        (st = query_int(r, "limit", 1, 1000, &limit)))
        return st;
    if ((has = query_text(r, "state", state, sizeof(state))) > 1) return has;
    if (has && strcmp(state, "pending") && strcmp(state, "delivered") && strcmp(state, "failed"))
        return http_error(r, 400, "bad_request", "state must be pending, delivered or failed");
    root = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(root, "notifications");
    n = db_query_outbox(r->app->db, has ? state : NULL, before, (int)limit + 1, add_outbox, arr);
    return send_page(r, root, arr, n, limit);
}

/* ------------------------------------------------------------- route table */

const route api_routes[] = {
    {"GET", "/api/v1/health", h_health, ROLE_NONE, "liveness and version"},
    {"GET", "/api/v1/clusters", h_clusters, ROLE_VIEWER, "every monitored cluster, summarised"},
    {"GET", "/api/v1/clusters/{name}", h_cluster, ROLE_VIEWER, "one cluster: nodes, Sentinels, quorum, problems"},
    {"POST", "/api/v1/clusters/{name}/failover", h_failover, ROLE_OPERATOR, "graceful switchover or forced failover, as a job"},
    {"GET", "/api/v1/clusters/{name}/failover/plan", h_failover_plan, ROLE_VIEWER, "dry run: the checks, each view of the replicas, Sentinel's choice"},
    {"POST", "/api/v1/clusters/{name}/nodes/{addr}/resync", h_resync, ROLE_OPERATOR, "resync a replica (full: true forces a full sync)"},
    {"POST", "/api/v1/clusters/{name}/sentinels/reset", h_reset, ROLE_OPERATOR, "SENTINEL RESET, one Sentinel at a time"},
    {"POST", "/api/v1/clusters/{name}/nodes/{addr}/bgsave", h_bgsave, ROLE_OPERATOR, "BGSAVE on a node, as a job"},
    {"POST", "/api/v1/clusters/{name}/backups", h_backup_create, ROLE_OPERATOR, "take an RDB backup, as a job"},
    {"GET", "/api/v1/clusters/{name}/backups", h_backup_list, ROLE_VIEWER, "the backup catalogue of a cluster"},
    {"GET", "/api/v1/backups/{id}/download", h_backup_download, ROLE_VIEWER, "the RDB file of a backup"},
    {"DELETE", "/api/v1/backups/{id}", h_backup_delete, ROLE_OPERATOR, "delete a backup"},
    {"GET", "/api/v1/jobs", h_jobs, ROLE_VIEWER, "jobs, newest first"},
    {"GET", "/api/v1/jobs/{id}", h_job, ROLE_VIEWER, "one job with its steps"},
    {"GET", "/api/v1/alerts", h_alerts, ROLE_VIEWER, "alerts, active and recent"},
    {"POST", "/api/v1/alerts/{id}/ack", h_alert_ack, ROLE_OPERATOR, "acknowledge an alert with a comment"},
    {"POST", "/api/v1/notifications/test", h_notify_test, ROLE_OPERATOR, "send a test message to every channel"},
    {"GET", "/api/v1/notifications", h_notifications, ROLE_VIEWER, "the notification outbox: pending, delivered, failed"},
    {"GET", "/api/v1/failovers", h_failovers, ROLE_VIEWER, "failover history"},
    {"GET", "/api/v1/events", h_events, ROLE_VIEWER, "the event history, filtered and paged"},
    {"GET", "/metrics", h_metrics, ROLE_VIEWER, "Prometheus metrics"},
    {"GET", "/", h_index, ROLE_NONE, "the dashboard page"},
    {"GET", "/static/{file}", h_static, ROLE_NONE, "the dashboard's static assets"},
    {"GET", "/ui/clusters", ui_clusters, ROLE_VIEWER, "dashboard fragment: every cluster"},
    {"GET", "/ui/jobs/{id}", ui_job, ROLE_VIEWER, "dashboard fragment: one job's progress"},
    {"GET", "/ui/history", ui_history, ROLE_VIEWER, "dashboard fragment: failovers and events, filtered"},
    {"GET", "/ui/notifications", ui_notifications, ROLE_VIEWER, "dashboard fragment: notification outbox health"},
};
const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);
