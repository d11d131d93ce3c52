/* api_maintenance.c — maintenance windows of a cluster: open one (a job that
 * sets every replica's replica-priority to 0 and waits for the Sentinels to
 * read it), end it (a job that puts the originals back), and read the open
 * one. The bounds are checked here, so a bad request changes nothing. */
#define _POSIX_C_SOURCE 200809L
#include "web/api_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "actions/maintenance.h"
#include "db/maintenance.h"
#include "model/topology.h"
#include "core/banned.h" /* last: after every system header */

#define REASON_MAX 200

/* The window as the API shows it (times in seconds since the epoch). */
static cJSON *maint_json(const hp_maint *m, int64_t now_ms)
{
    cJSON *o = cJSON_CreateObject();
    int64_t left = m->until - now_ms;
    cJSON_AddNumberToObject(o, "id", (double)m->id);
    cJSON_AddStringToObject(o, "state", m->state);
    cJSON_AddNumberToObject(o, "started_at", (double)(m->started_at / 1000));
    cJSON_AddNumberToObject(o, "until", (double)(m->until / 1000));
    cJSON_AddNumberToObject(o, "seconds_left", (double)(left > 0 ? left / 1000 : 0));
    cJSON_AddStringToObject(o, "reason", m->reason);
    cJSON_AddStringToObject(o, "actor", m->actor);
    api__add_json_text(o, "priorities", m->priorities, 0);
    api__opt_num(o, "start_job", m->start_job ? m->start_job : -1);
    return o;
}

/* 1 with the cluster known, else the 404 sent. */
static int known_cluster(hreq *r)
{
    topo_snap *t = topo_acquire();
    int ok = topo_find(t, r->params[0]) != NULL;
    topo_release(t);
    return ok ? 1 : http_error(r, 404, "not_found", "no cluster of that name");
}

int h_maintenance_get(hreq *r)
{
    cJSON *root;
    hp_maint m;
    int st, found;

    if ((st = known_cluster(r)) != 1) return st;
    found = db_maintenance_open(r->app->db, r->params[0], &m);
    if (found < 0) return http_error(r, 503, "unavailable", "the database is not readable");
    root = cJSON_CreateObject();
    cJSON_AddBoolToObject(root, "active", found);
    cJSON_AddItemToObject(root, "window", found ? maint_json(&m, hp_now_ms()) : cJSON_CreateNull());
    st = http_json(r, 200, root);
    cJSON_Delete(root);
    return st;
}

/* POST {until: seconds since the epoch, reason?}: until must be ahead and
 * at most 24 h away. A second start while a window is open is refused (409):
 * to change its end, DELETE it and start again. */
int h_maintenance_start(hreq *r)
{
    static const field_spec spec[] = {{"until", cJSON_Number}, {"reason", cJSON_String}};
    cJSON *body = NULL, *params = NULL;
    const cJSON *u;
    const char *reason;
    int64_t now = hp_now_ms(), until;
    hp_maint m;
    int st, found;

    if ((st = http_body_json(r, &body))) return st;
    if ((st = api__check_fields(r, body, spec, sizeof(spec) / sizeof(spec[0])))) goto out;
    u = cJSON_GetObjectItem(body, "until");
    reason = api__str_field(body, "reason");
    if (!u) {
        st = http_error(r, 400, "bad_request",
                        "until (the window's end, in seconds since the epoch) is required");
        goto out;
    }
    if (u->valuedouble <= (double)(now / 1000) ||
        u->valuedouble > (double)((now + MAINT_MAX_MS) / 1000)) {
        st = http_error(r, 400, "bad_request",
                        "until must be ahead of now (%lld) and at most 24 h away",
                        (long long)(now / 1000));
        goto out;
    }
    until = (int64_t)u->valuedouble * 1000;
    if (reason && strlen(reason) > REASON_MAX) {
        st = http_error(r, 400, "bad_request", "reason is longer than %d bytes", REASON_MAX);
        goto out;
    }
    if ((st = known_cluster(r)) != 1) goto out;
    found = db_maintenance_open(r->app->db, r->params[0], &m);
    if (found < 0) {
        st = http_error(r, 503, "unavailable", "the database is not readable");
        goto out;
    }
    if (found) {
        st = http_error(r, 409, "conflict",
                        "maintenance window %lld is open on %s until %lld: end it first",
                        (long long)m.id, r->params[0], (long long)(m.until / 1000));
        goto out;
    }
    params = cJSON_CreateObject();
    cJSON_AddNumberToObject(params, "until", (double)until);
    st = api__submit(r, "maintenance-start", r->params[0], params, reason);
out:
    cJSON_Delete(body);
    cJSON_Delete(params);
    return st;
}

/* DELETE: ends the open window now (404 when none is open). */
int h_maintenance_end(hreq *r)
{
    cJSON *params;
    hp_maint m;
    int st, found;

    if ((st = known_cluster(r)) != 1) return st;
    found = db_maintenance_open(r->app->db, r->params[0], &m);
    if (found < 0) return http_error(r, 503, "unavailable", "the database is not readable");
    if (!found)
        return http_error(r, 404, "not_found", "no maintenance window is open on %s", r->params[0]);
    params = cJSON_CreateObject();
    cJSON_AddStringToObject(params, "cause", "delete");
    st = api__submit(r, "maintenance-end", r->params[0], params, "maintenance ended by hand");
    cJSON_Delete(params);
    return st;
}
