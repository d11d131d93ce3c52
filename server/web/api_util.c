/* api_util.c — reading a request field by field, paging and queueing a job
 * (see api_internal.h). */
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

/* ------------------------------------------------------------------ helpers */

/* Reads an optional whole-number query parameter within [lo, hi]. Returns 0
 * (absent: *out untouched, or present and valid) or sends 400 and returns it. */
int api__query_int(hreq *r, const char *name, int64_t lo, int64_t hi, int64_t *out)
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
int api__query_text(hreq *r, const char *name, char *buf, size_t bufsz)
{
    int q = http_query(r, name, buf, bufsz);
    if (q < 0) return http_error(r, 400, "bad_request", "%s is too long", name);
    return q;
}

/* Pages are fetched with one row more than asked: when it comes, it is
 * dropped and next_before names the last row kept; otherwise this is the
 * last page and next_before is null. */
void api__set_next(cJSON *root, cJSON *arr, int n, int64_t limit)
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
int api__send_page(hreq *r, cJSON *root, cJSON *arr, int n, int64_t limit)
{
    int st;
    if (n < 0) {
        st = http_error(r, 503, "unavailable", "the database is not readable");
    } else {
        api__set_next(root, arr, n, limit);
        st = http_json(r, 200, root);
    }
    cJSON_Delete(root);
    return st;
}

/* ------------------------------------------------------------------ actions */

int api__check_fields(hreq *r, const cJSON *body, const field_spec *spec, size_t n)
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

const char *api__str_field(const cJSON *body, const char *name)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(body, name));
}

/* Queues the job and answers 202 {job_id}, or 409 if one already runs. */
int api__submit(hreq *r, const char *kind, const char *cluster, const cJSON *params,
                const char *reason)
{
    int64_t id = 0;
    int rc = jobs_submit(r->app->jobs, kind, cluster, params, r->actor, reason, &id);
    cJSON *root;
    int st;

    if (rc == JOBS_BUSY)
        return http_error(r, 409, "conflict", "job %lld is already running on %s", (long long)id,
                          cluster);
    if (rc == JOBS_NOT_LEADER) /* lost the lead after the request was let through */
        return http_error_extra(r, 503, "Retry-After: 2\r\n", "no_leader",
                                "this instance does not lead; try again");
    if (rc != JOBS_OK) return http_error(r, 503, "unavailable", "the job could not be stored");
    root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "job_id", (double)id);
    st = http_json(r, 202, root);
    cJSON_Delete(root);
    return st;
}

/* The code word of a plan's refusal. */
/* --------------------------------------------------------- jobs, failovers */

/* A number, or null when it is not known (negative). */
void api__opt_num(cJSON *o, const char *k, int64_t v)
{
    if (v >= 0)
        cJSON_AddNumberToObject(o, k, (double)v);
    else
        cJSON_AddNullToObject(o, k);
}

void api__add_json_text(cJSON *o, const char *k, const char *text, int as_string)
{
    cJSON *v = NULL;
    if (text && !as_string) v = cJSON_Parse(text);
    if (!v) v = text ? cJSON_CreateString(text) : cJSON_CreateNull();
    cJSON_AddItemToObject(o, k, v);
}

int api__read_page(hreq *r, page_query *p)
{
    int st;
    p->before = 0;
    p->limit = 100;
    if ((st = api__query_int(r, "before", 1, INT64_MAX, &p->before)) ||
        (st = api__query_int(r, "limit", 1, 1000, &p->limit)))
        return st;
    p->has_cluster = api__query_text(r, "cluster", p->cluster, sizeof(p->cluster));
    return p->has_cluster > 1 ? p->has_cluster : 0;
}
