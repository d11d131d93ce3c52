/* api_alerts.c — alerts and their acknowledgement, the notification outbox
 * and its test message. */
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
    cJSON_AddNumberToObject(o, "fired_at", (double)(a->fired_at > 0 ? a->fired_at : a->started_at));
    api__opt_num(o, "resolved_at", a->resolved_at ? a->resolved_at : -1);
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

int h_alerts(hreq *r)
{
    page_query p;
    char state[16];
    int active = 0, st, n, has;
    cJSON *root, *arr;

    if ((st = api__read_page(r, &p))) return st;
    if ((has = api__query_text(r, "state", state, sizeof(state))) > 1) return has;
    if (has && strcmp(state, "active") && strcmp(state, "all"))
        return http_error(r, 400, "bad_request", "state must be active or all");
    active = has && !strcmp(state, "active");
    root = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(root, "alerts");
    n = db_query_alerts(r->app->db, active, p.has_cluster ? p.cluster : NULL, p.before,
                        (int)p.limit + 1, add_alert, arr);
    return api__send_page(r, root, arr, n, p.limit);
}

int h_alert_ack(hreq *r)
{
    static const field_spec spec[] = {{"comment", cJSON_String}, {"as", cJSON_String}};
    cJSON *body = NULL, *root;
    const char *comment, *as, *who;
    char *end;
    long long id = strtoll(r->params[0], &end, 10);
    int st, rc;

    if (*end || id <= 0) return http_error(r, 404, "not_found", "no alert with that id");
    if ((st = http_body_json(r, &body))) return st;
    if ((st = api__check_fields(r, body, spec, sizeof(spec) / sizeof(spec[0])))) goto out;
    comment = api__str_field(body, "comment");
    if (comment && strlen(comment) > 500) {
        st = http_error(r, 400, "bad_request", "comment is longer than 500 characters");
        goto out;
    }
    /* acknowledging in someone else's name is an admin's; the audit keeps
     * who really did it */
    as = api__str_field(body, "as");
    who = as && *as ? as : r->actor;
    if (strcmp(who, r->actor) && r->role < ROLE_ADMIN) {
        st = http_error(r, 403, "forbidden", "acknowledging for someone else needs the admin role");
        goto out;
    }
    if (strlen(who) > 63) {
        st = http_error(r, 400, "bad_request", "as is longer than 63 characters");
        goto out;
    }
    rc = evq_alert_ack(r->app->q, id, who, comment ? comment : "", hp_now_ms());
    if (rc < 0)
        st = http_error(r, 503, "unavailable", "the database is not writable");
    else if (rc == 0)
        st = http_error(r, 404, "not_found", "no alert with that id");
    else {
        root = cJSON_CreateObject();
        cJSON_AddNumberToObject(root, "id", (double)id);
        cJSON_AddStringToObject(root, "acked_by", who);
        st = http_json(r, 200, root);
        cJSON_Delete(root);
    }
out:
    cJSON_Delete(body);
    return st;
}

int h_notify_test(hreq *r)
{
    cJSON *body = NULL, *root;
    int st;

    if ((st = http_body_json(r, &body))) return st;
    cJSON_Delete(body);
    if (!r->app->notifier || !r->app->cfg->nchannels)
        return http_error(r, 412, "precondition_failed", "no notification channel is configured");
    root = cJSON_CreateObject();
    st = api__submit(r, "notify-test", "", root, NULL);
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
    api__opt_num(j, "delivered_at", o->delivered_at ? o->delivered_at : -1);
    api__opt_num(j, "next_attempt_at", strcmp(o->state, "pending") ? -1 : o->next_at);
    if (o->sent_by[0]) /* a fleet on etcd: this instance, or (skipped) the one that sent it */
        cJSON_AddStringToObject(j, "sent_by", o->sent_by);
    else
        cJSON_AddNullToObject(j, "sent_by");
    cJSON_AddItemToArray(ctx, j);
}

int h_notifications(hreq *r)
{
    char state[16];
    int64_t before = 0, limit = 100;
    int st, has, n;
    cJSON *root, *arr;

    if ((st = api__query_int(r, "before", 1, INT64_MAX, &before)) ||
        (st = api__query_int(r, "limit", 1, 1000, &limit)))
        return st;
    if ((has = api__query_text(r, "state", state, sizeof(state))) > 1) return has;
    if (has && strcmp(state, "pending") && strcmp(state, "delivered") && strcmp(state, "failed") &&
        strcmp(state, "skipped"))
        return http_error(r, 400, "bad_request",
                          "state must be pending, delivered, failed or skipped");
    root = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(root, "notifications");
    n = db_query_outbox(r->app->db, has ? state : NULL, before, (int)limit + 1, add_outbox, arr);
    return api__send_page(r, root, arr, n, limit);
}
