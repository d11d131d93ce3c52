/* event.c — events, failovers and backups as records (see event.h): their
 * construction, UTF-8 repair and JSON rendering. */
#define _POSIX_C_SOURCE 200809L
#include "model/event.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "core/utf8.h"
#include "core/banned.h" /* last: after every system header */

/* Every text field made valid UTF-8: names, node addresses and messages
 * come from Sentinel and Redis, which take any bytes, and one bad byte in
 * the history would make every JSON page that shows the event invalid. */
void hp_event_fix(hp_event *e)
{
    utf8_fix_str(e->cluster);
    utf8_fix_str(e->type);
    utf8_fix_str(e->severity);
    utf8_fix_str(e->source);
    utf8_fix_str(e->node);
    utf8_fix_str(e->message);
    utf8_fix_str(e->payload);
    utf8_fix_str(e->old_master);
    utf8_fix_str(e->new_master);
    utf8_fix_str(e->rule);
    utf8_fix_str(e->job_kind);
    utf8_fix_str(e->details); /* '?' for a bad byte keeps the JSON text JSON */
}

void hp_failover_fix(hp_failover *f)
{
    utf8_fix_str(f->cluster);
    utf8_fix_str(f->kind);
    utf8_fix_str(f->old_master);
    utf8_fix_str(f->new_master);
    utf8_fix_str(f->status);
    utf8_fix_str(f->actor);
    utf8_fix_str(f->reason);
}

void hp_event_set(hp_event *e, int kind, const char *cluster, const char *type,
                  const char *severity, const char *source, const char *node, const char *message)
{
    memset(e, 0, sizeof(*e));
    e->ts = hp_now_ms();
    e->kind = kind;
    hp_strlcpy(e->cluster, cluster ? cluster : "", sizeof(e->cluster));
    hp_strlcpy(e->type, type ? type : "", sizeof(e->type));
    hp_strlcpy(e->severity, severity ? severity : "info", sizeof(e->severity));
    hp_strlcpy(e->source, source ? source : "", sizeof(e->source));
    hp_strlcpy(e->node, node ? node : "", sizeof(e->node));
    hp_strlcpy(e->message, message ? message : "", sizeof(e->message));
    hp_strlcpy(e->details, "{}", sizeof(e->details));
    hp_event_fix(e);
}

cJSON *hp_event_details_json(const hp_event *e)
{
    cJSON *d = cJSON_CreateObject();
    switch (e->kind) {
    case EV_SENTINEL:
        cJSON_AddStringToObject(d, "payload", e->payload);
        if (e->old_master[0]) {
            cJSON_AddStringToObject(d, "old_master", e->old_master);
            cJSON_AddStringToObject(d, "new_master", e->new_master);
        }
        break;
    case EV_ALERT_FIRED:
    case EV_ALERT_RESOLVED:
        cJSON_AddStringToObject(d, "rule", e->rule);
        cJSON_AddStringToObject(d, "node", e->node);
        if (e->since > 0) cJSON_AddNumberToObject(d, "condition_since", (double)e->since);
        break;
    case EV_JOB_STARTED:
    case EV_JOB_SUCCEEDED:
    case EV_JOB_FAILED:
        cJSON_AddNumberToObject(d, "job_id", (double)e->job_id);
        cJSON_AddStringToObject(d, "kind", e->job_kind);
        break;
    case EV_BACKUP_DELETED:
        cJSON_AddNumberToObject(d, "backup_id", (double)e->job_id);
        break;
    default:
        break;
    }
    if (e->count > 1 || e->kind == EV_EVENTS_DROPPED) cJSON_AddNumberToObject(d, "count", e->count);
    hp_json_fix_utf8(d);
    return d;
}

void hp_event_render_details(hp_event *e)
{
    cJSON *d = hp_event_details_json(e);
    char *text = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    /* a payload too long for the column keeps the row: its details say so */
    if (!text || strlen(text) >= sizeof(e->details))
        hp_strlcpy(e->details, "{\"truncated\":true}", sizeof(e->details));
    else
        hp_strlcpy(e->details, text, sizeof(e->details));
    cJSON_free(text);
}

static void opt_num(cJSON *o, const char *k, int64_t v)
{
    if (v >= 0)
        cJSON_AddNumberToObject(o, k, (double)v);
    else
        cJSON_AddNullToObject(o, k);
}

cJSON *hp_failover_json(const hp_failover *f)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)f->id);
    cJSON_AddStringToObject(o, "cluster", f->cluster);
    cJSON_AddStringToObject(o, "kind", f->kind);
    cJSON_AddStringToObject(o, "old_master", f->old_master);
    cJSON_AddStringToObject(o, "new_master", f->new_master);
    cJSON_AddNumberToObject(o, "started_at", (double)f->started_at);
    opt_num(o, "ended_at", f->ended_at);
    opt_num(o, "duration_ms", f->duration_ms);
    opt_num(o, "writes_paused_ms", f->writes_paused_ms);
    opt_num(o, "job_id", f->job_id > 0 ? f->job_id : -1);
    cJSON_AddStringToObject(o, "status", f->status);
    cJSON_AddStringToObject(o, "actor", f->actor);
    cJSON_AddStringToObject(o, "reason", f->reason);
    return o;
}
