/* api_drills.c — failover drills: start one (a job, see actions/drill.h),
 * list them, read one. Every refusal is decided here, before anything is
 * queued: drills off, kill-master not allowed or not confirmed, a bad body. */
#define _POSIX_C_SOURCE 200809L
#include "web/api_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "db/drills.h"
#include "model/topology.h"
#include "core/banned.h" /* last: after every system header */

#define REASON_MAX 200

/* A drill as the API shows it: its report parsed (times in ms). */
static cJSON *drill_json(const hp_drill *dr)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)dr->id);
    cJSON_AddStringToObject(o, "cluster", dr->cluster);
    cJSON_AddStringToObject(o, "mode", dr->mode);
    api__opt_num(o, "job_id", dr->job_id ? dr->job_id : -1);
    cJSON_AddStringToObject(o, "state", dr->state);
    cJSON_AddNumberToObject(o, "started_at", (double)dr->started_at);
    api__opt_num(o, "ended_at", dr->ended_at ? dr->ended_at : -1);
    api__add_json_text(o, "report", dr->report, 0);
    return o;
}

static void add_drill(void *ctx, const hp_drill *dr)
{
    cJSON_AddItemToArray(ctx, drill_json(dr));
}

/* POST {mode, target?, reason?, confirm?} */
int h_drill_start(hreq *r)
{
    static const field_spec spec[] = {{"mode", cJSON_String},
                                      {"target", cJSON_String},
                                      {"reason", cJSON_String},
                                      {"confirm", cJSON_String}};
    const config *cfg = r->app->cfg;
    cJSON *body = NULL, *params = NULL;
    const char *mode, *target, *reason, *confirm;
    topo_snap *t = NULL;
    const cluster_snap *c;
    int st, kill;

    if (!cfg->drill_enabled)
        return http_error(r, 409, "drills_disabled",
                          "drills are disabled: a drill writes probe keys to the master and "
                          "switches it; set [drill] enabled = 1 (HAPANEL_DRILL_ENABLED=1) to "
                          "allow them");
    if ((st = http_body_json(r, &body))) return st;
    if ((st = api__check_fields(r, body, spec, sizeof(spec) / sizeof(spec[0])))) goto out;
    mode = api__str_field(body, "mode");
    target = api__str_field(body, "target");
    reason = api__str_field(body, "reason");
    confirm = api__str_field(body, "confirm");
    if (!mode) {
        st = http_error(r, 400, "bad_request",
                        "mode is required: \"graceful\", \"force\" or \"kill-master\"");
        goto out;
    }
    kill = !strcmp(mode, "kill-master");
    if (strcmp(mode, "graceful") && strcmp(mode, "force") && !kill) {
        st = http_error(r, 400, "bad_request",
                        "mode must be \"graceful\", \"force\" or \"kill-master\"");
        goto out;
    }
    if (target && strcmp(mode, "graceful")) {
        st = http_error(r, 400, "bad_request",
                        "target goes with mode graceful; otherwise Sentinel chooses");
        goto out;
    }
    if (reason && strlen(reason) > REASON_MAX) {
        st = http_error(r, 400, "bad_request", "reason is longer than %d bytes", REASON_MAX);
        goto out;
    }
    if (kill && !cfg->drill_allow_kill) {
        st = http_error(r, 409, "kill_not_allowed",
                        "kill-master drills are not allowed: they stop the master as a crash "
                        "would; set [drill] allow_kill = 1 (HAPANEL_DRILL_ALLOW_KILL=1)");
        goto out;
    }
    t = topo_acquire();
    c = topo_find(t, r->params[0]);
    if (!c) {
        st = http_error(r, 404, "not_found", "no cluster of that name");
        goto out;
    }
    if (kill && (!confirm || strcmp(confirm, c->name))) {
        st = http_error(r, 400, "bad_request",
                        "a kill-master drill %s the master: confirm it with "
                        "\"confirm\": \"%s\" (the cluster's name)",
                        strcmp(cfg->drill_kill_method, "sleep") ? "shuts down" : "hangs", c->name);
        goto out;
    }
    if (target && (!cluster_snap_node(c, target) || !strcmp(target, c->master))) {
        st = http_error(r, 400, "bad_request", "target %.64s is not a replica of %s", target,
                        c->name);
        goto out;
    }
    if (!c->master[0]) {
        st = http_error(r, 409, "conflict", "%s has no master the Sentinels agree on", c->name);
        goto out;
    }
    if (c->failover_in_progress) {
        st = http_error(r, 409, "conflict", "a Sentinel failover is in progress");
        goto out;
    }
    params = cJSON_CreateObject();
    cJSON_AddStringToObject(params, "mode", mode);
    if (target) cJSON_AddStringToObject(params, "target", target);
    st = api__submit(r, "drill", c->name, params, reason ? reason : "failover drill");
out:
    topo_release(t);
    cJSON_Delete(body);
    cJSON_Delete(params);
    return st;
}

/* GET ?cluster=&limit=: newest first. */
int h_drills(hreq *r)
{
    char cluster[HP_NAME_MAX];
    int64_t limit = 20;
    int has, st, n;
    cJSON *root, *arr;

    if ((st = api__query_int(r, "limit", 1, 1000, &limit))) return st;
    has = api__query_text(r, "cluster", cluster, sizeof(cluster));
    if (has > 1) return has;
    root = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(root, "drills");
    n = db_query_drills(r->app->db, has ? cluster : NULL, (int)limit, add_drill, arr);
    st = n < 0 ? http_error(r, 503, "unavailable", "the database is not readable")
               : http_json(r, 200, root);
    cJSON_Delete(root);
    return st;
}

int h_drill(hreq *r)
{
    char *end;
    long long id = strtoll(r->params[0], &end, 10);
    hp_drill dr;
    cJSON *o;
    int st, found;

    if (*end || id <= 0) return http_error(r, 404, "not_found", "no drill with that id");
    found = db_get_drill(r->app->db, id, &dr);
    if (found < 0) return http_error(r, 503, "unavailable", "the database is not readable");
    if (!found) return http_error(r, 404, "not_found", "no drill with that id");
    o = drill_json(&dr);
    free(dr.report);
    st = http_json(r, 200, o);
    cJSON_Delete(o);
    return st;
}
