/* api_actions.c — the actions on a cluster's roles: failover and its dry run,
 * resync, Sentinel reset. Each validates, checks the same plan the job will
 * follow, and queues a job. */
#define _POSIX_C_SOURCE 200809L
#include "web/api_internal.h"

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
#include "core/banned.h" /* last: after every system header */

static const char *status_code(int status)
{
    return status == 404 ? "not_found" : status == 409 ? "conflict" : "precondition_failed";
}

/* POST .../failover with "at" (epoch seconds): a graceful switchover stored
 * to start at that time (see jobs_schedule). Only graceful: a forced
 * failover is for a master that is failing now, and what it would cost is
 * not known in advance. The plan is checked when the time comes (the master
 * may be down now and back by then); only a target that is no node of the
 * cluster is refused now. Nothing waits on another job until then. */
static int schedule_failover(hreq *r, cJSON *body, const char *mode, const char *reason,
                             const plan_req *rq)
{
    const cJSON *at = cJSON_GetObjectItem(body, "at");
    int64_t now = hp_now_ms(), run_at, id = 0;
    topo_snap *t = NULL;
    const cluster_snap *c;
    plan *p = NULL;
    cJSON *root;
    int st, rc;

    if (strcmp(mode, "graceful"))
        return http_error(r, 400, "bad_request",
                          "only a graceful switchover can be scheduled (at); a forced failover "
                          "is for a master that fails now");
    if (at->valuedouble * 1000.0 <= (double)now)
        return http_error(r, 400, "bad_request",
                          "at must be in the future (epoch seconds; now is %lld)",
                          (long long)(now / 1000));
    if (at->valuedouble * 1000.0 > (double)(now + JOBS_SCHEDULE_MAX_AHEAD_MS))
        return http_error(r, 400, "bad_request", "at must be at most %lld days ahead",
                          (long long)(JOBS_SCHEDULE_MAX_AHEAD_MS / 86400000LL));
    run_at = (int64_t)(at->valuedouble * 1000.0);
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
    plan_build(c, rq, now, p);
    if (p->state == PLAN_FAIL && p->status == 404) {
        st = http_error(r, 404, "not_found", "%s", plan_blocker(p));
        goto out;
    }
    if (!cJSON_GetObjectItem(body, "mode")) cJSON_AddStringToObject(body, "mode", mode);
    rc = jobs_schedule(r->app->jobs, "failover", c->name, body, r->actor, reason, run_at, &id);
    if (rc == JOBS_FULL) {
        st =
            http_error(r, 409, "conflict", "too many jobs are scheduled already; cancel one first");
        goto out;
    }
    if (rc == JOBS_NOT_LEADER) {
        st = http_error_extra(r, 503, "Retry-After: 2\r\n", "no_leader",
                              "this instance does not lead; try again");
        goto out;
    }
    if (rc != JOBS_OK) {
        st = http_error(r, 503, "unavailable", "the job could not be stored");
        goto out;
    }
    root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "job_id", (double)id);
    cJSON_AddNumberToObject(root, "run_at", (double)run_at);
    st = http_json(r, 202, root);
    cJSON_Delete(root);
out:
    free(p);
    topo_release(t);
    return st;
}

int h_failover(hreq *r)
{
    static const field_spec spec[] = {{"mode", cJSON_String},
                                      {"target", cJSON_String},
                                      {"max_pause_ms", cJSON_Number},
                                      {"max_lag_bytes", cJSON_Number},
                                      {"max_wait_ms", cJSON_Number},
                                      {"reason", cJSON_String},
                                      {"at", cJSON_Number}};
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
    if ((st = api__check_fields(r, body, spec, sizeof(spec) / sizeof(spec[0])))) goto out;
    mode = api__str_field(body, "mode");
    target = api__str_field(body, "target");
    reason = api__str_field(body, "reason");
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
    if (cJSON_GetObjectItem(body, "at")) {
        st = schedule_failover(r, body, mode, reason, &rq);
        goto out;
    }

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
    st = api__submit(r, "failover", c->name, body, reason);
out:
    free(p);
    topo_release(t);
    cJSON_Delete(body);
    return st;
}

/* GET /api/v1/clusters/{name}/failover/plan: the dry run. */
int h_failover_plan(hreq *r)
{
    topo_snap *t = NULL;
    const cluster_snap *c;
    char mode[16] = "graceful", target[HP_ADDR_MAX] = "";
    int64_t max_pause = 0, max_lag = -1;
    plan_req rq;
    plan *p = NULL;
    cJSON *root;
    int st, q;

    if ((q = api__query_text(r, "mode", mode, sizeof(mode))) > 1) return q;
    if (q == 1 && strcmp(mode, "graceful") && strcmp(mode, "force"))
        return http_error(r, 400, "bad_request", "mode must be graceful or force");
    if ((q = api__query_text(r, "target", target, sizeof(target))) > 1) return q;
    if ((st = api__query_int(r, "max_pause_ms", 50, 30000, &max_pause))) return st;
    if ((st = api__query_int(r, "max_lag_bytes", 0, INT64_MAX / 2, &max_lag))) return st;
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
        if (running)
            cJSON_AddNumberToObject(root, "running_job", (double)running);
        else
            cJSON_AddNullToObject(root, "running_job");
        /* whether a hook is asked first (never its URL: it may carry a secret) */
        cJSON_AddBoolToObject(root, "pre_failover_hook", r->app->cfg->pre_failover_url[0] != '\0');
    }
    st = http_json(r, 200, root);
    cJSON_Delete(root);
out:
    free(p);
    topo_release(t);
    return st;
}

int h_resync(hreq *r)
{
    static const field_spec spec[] = {{"full", cJSON_True}, {"reason", cJSON_String}};
    topo_snap *t = NULL;
    const cluster_snap *c;
    const snap_node *n;
    cJSON *body = NULL, *params = NULL;
    int st;

    if ((st = http_body_json(r, &body))) return st;
    if ((st = api__check_fields(r, body, spec, sizeof(spec) / sizeof(spec[0])))) goto out;
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
    st = api__submit(r, "resync", c->name, params, api__str_field(body, "reason"));
out:
    topo_release(t);
    cJSON_Delete(body);
    cJSON_Delete(params);
    return st;
}

int h_reset(hreq *r)
{
    static const field_spec spec[] = {{"reason", cJSON_String}};
    topo_snap *t = NULL;
    const cluster_snap *c;
    cJSON *body = NULL, *params = NULL;
    int st, i, up = 0;

    if ((st = http_body_json(r, &body))) return st;
    if ((st = api__check_fields(r, body, spec, sizeof(spec) / sizeof(spec[0])))) goto out;
    t = topo_acquire();
    c = topo_find(t, r->params[0]);
    if (!c) {
        st = http_error(r, 404, "not_found", "no cluster of that name");
        goto out;
    }
    for (i = 0; i < c->nsentinels; i++)
        up += c->sentinels[i].up;
    if (up == 0) {
        st = http_error(r, 412, "precondition_failed", "no Sentinel is reachable");
        goto out;
    }
    if (c->failover_in_progress) {
        st = http_error(r, 409, "conflict", "a Sentinel failover is in progress");
        goto out;
    }
    params = cJSON_CreateObject();
    st = api__submit(r, "sentinel-reset", c->name, params, api__str_field(body, "reason"));
out:
    topo_release(t);
    cJSON_Delete(body);
    cJSON_Delete(params);
    return st;
}
