/* api_jobs.c — jobs (listed, one with its steps, a waiting one cancelled)
 * and the failover history. */
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

static cJSON *render_job(const db_job_row *j)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)j->id);
    cJSON_AddStringToObject(o, "kind", j->kind);
    cJSON_AddStringToObject(o, "cluster", j->cluster);
    cJSON_AddStringToObject(o, "state", j->state);
    api__add_json_text(o, "params", j->params, 0);
    api__add_json_text(o, "steps", j->steps, 0);
    api__add_json_text(o, "error", j->error, 1);
    api__add_json_text(o, "result", j->result, 0);
    cJSON_AddStringToObject(o, "actor", j->actor);
    cJSON_AddStringToObject(o, "reason", j->reason);
    cJSON_AddNumberToObject(o, "created_at", (double)j->created_at);
    api__opt_num(o, "started_at", j->started_at ? j->started_at : -1);
    api__opt_num(o, "ended_at", j->ended_at ? j->ended_at : -1);
    api__opt_num(o, "run_at", j->run_at ? j->run_at : -1);
    return o;
}

int h_job(hreq *r)
{
    char *end;
    long long id = strtoll(r->params[0], &end, 10);
    db_job_row j;
    cJSON *o;
    int st, found;

    if (*end || id <= 0) return http_error(r, 404, "not_found", "no job with that id");
    found = db_job_get(r->app->db, id, &j);
    if (found < 0) return http_error(r, 503, "unavailable", "the database is not readable");
    /* a follower: the job may be the leader's (a forwarded POST made it there) */
    if (!found && (st = http_forward_if_missing(r))) return st;
    if (!found) return http_error(r, 404, "not_found", "no job with that id");
    o = render_job(&j);
    db_job_row_release(&j);
    st = http_json(r, 200, o);
    cJSON_Delete(o);
    return st;
}

/* DELETE /api/v1/jobs/{id}: a job that has not started (a scheduled one
 * before its time) ends as "cancelled", naming who cancelled it, and never
 * runs; 409 once it runs or ended. */
int h_job_cancel(hreq *r)
{
    char *end;
    long long id = strtoll(r->params[0], &end, 10);
    db_job_row j;
    cJSON *o;
    int st, found;

    if (*end || id <= 0) return http_error(r, 404, "not_found", "no job with that id");
    if (jobs_cancel(r->app->jobs, id, r->actor) != JOBS_OK) {
        found = db_job_get(r->app->db, id, &j);
        if (found < 0) return http_error(r, 503, "unavailable", "the database is not readable");
        if (!found) return http_error(r, 404, "not_found", "no job with that id");
        st = http_error(r, 409, "conflict",
                        "job %lld is %s: only a job that has not started can be cancelled", id,
                        !strcmp(j.state, "queued") ? "starting" : j.state);
        db_job_row_release(&j);
        return st;
    }
    found = db_job_get(r->app->db, id, &j);
    if (found <= 0) return http_error(r, 503, "unavailable", "the database is not readable");
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
int h_jobs(hreq *r)
{
    page_query p;
    cJSON *root, *arr;
    int st, n;

    if ((st = api__read_page(r, &p))) return st;
    root = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(root, "jobs");
    n = db_query_jobs(r->app->db, p.has_cluster ? p.cluster : NULL, 0, p.before, (int)p.limit + 1,
                      add_job, arr);
    return api__send_page(r, root, arr, n, p.limit);
}

static void add_failover(void *ctx, const hp_failover *f)
{
    cJSON_AddItemToArray(ctx, hp_failover_json(f));
}

int h_failovers(hreq *r)
{
    page_query p;
    failover_query q;
    cJSON *root, *arr;
    int st, n;

    if ((st = api__read_page(r, &p))) return st;
    memset(&q, 0, sizeof(q)); /* the filters it does not set: any */
    q.cluster = p.has_cluster ? p.cluster : NULL;
    q.before = p.before;
    q.limit = (int)p.limit + 1;
    root = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(root, "failovers");
    n = db_query_failovers(r->app->db, &q, add_failover, arr);
    return api__send_page(r, root, arr, n, p.limit);
}
