/* api_internal.h — what the REST API's files (web/api_*.c) share: reading
 * query parameters and bodies field by field, paging, queueing a job, and
 * the handlers the route table (api.c) names. One file per resource:
 * api_read.c (health, clusters, events, metrics, the page), api_actions.c
 * (failover and its plan, resync, Sentinel reset), api_jobs.c (jobs and
 * failovers), api_backups.c (backups, BGSAVE), api_alerts.c (alerts and
 * notifications). Handlers read the snapshot or the database and queue jobs;
 * none talks to Redis, none writes to SQLite itself. */
#ifndef HP_API_INTERNAL_H
#define HP_API_INTERNAL_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "web/http.h"
/* A field a request body may hold, and its JSON type: cJSON_String,
 * cJSON_Number (a whole number), cJSON_True (a boolean). */
typedef struct field_spec {
    const char *name;
    int type;
} field_spec;

/* ?cluster=&before=&limit= of a paged list. */
typedef struct page_query {
    char cluster[HP_NAME_MAX];
    int has_cluster;
    int64_t before, limit;
} page_query;

/* api_actions.c */
int h_failover(hreq *r);
int h_failover_plan(hreq *r);
int h_reset(hreq *r);
int h_resync(hreq *r);

/* api_alerts.c */
int h_alert_ack(hreq *r);
int h_alerts(hreq *r);
int h_notifications(hreq *r);
int h_notify_test(hreq *r);

/* api_auth.c */
int h_login(hreq *r);
int h_logout(hreq *r);
int h_session(hreq *r);
int h_audit(hreq *r);
int h_settings(hreq *r);
int h_users(hreq *r);

/* api_backups.c */
int h_backup_create(hreq *r);
int h_backup_delete(hreq *r);
int h_backup_download(hreq *r);
int h_backup_list(hreq *r);
int h_bgsave(hreq *r);

/* api_s3.c (issue 14 item 6) */
int h_backup_upload(hreq *r);
/* The backup named by the {id} path parameter: 1 found (in *b), else the
 * status of the error sent (404 unknown, 503 unreadable). */
int api__find_backup(hreq *r, hp_backup *b);
/* b's off-site copy as GET backups shows it ({key, state, uploaded_at,
 * attempts, error}, no secret, no signed URL), or null when b has none.
 * Caller frees with cJSON_Delete (or adds it to a parent at once). */
cJSON *api__backup_remote(const hp_backup *b);
/* GET .../download?from=<from> for b: from "remote" streams its off-site
 * copy, checked against the catalogue. Returns the status sent. */
int api__backup_download_remote(hreq *r, const hp_backup *b, const char *from);

/* api_restore.c (issue 14 item 7) */
int h_backup_verify_restore(hreq *r);
/* Adds b's key figures and last restore check to o, as GET backups shows
 * them: keys, expires (null: not walked yet), walk_error, restore: {ok,
 * checked_at, detail} (null: never checked). */
void api__backup_restore(cJSON *o, const hp_backup *b);

/* api_jobs.c */
int h_failovers(hreq *r);
int h_job(hreq *r);
int h_job_cancel(hreq *r);
int h_jobs(hreq *r);

/* api_drills.c */
int h_drill(hreq *r);
int h_drill_start(hreq *r);
int h_drills(hreq *r);

/* api_maintenance.c */
int h_maintenance_end(hreq *r);
int h_maintenance_get(hreq *r);
int h_maintenance_start(hreq *r);

/* api_series.c */
int h_series(hreq *r);

/* api_lint.c */
int h_lint(hreq *r);

/* api_read.c */
int h_cluster(hreq *r);
int h_clusters(hreq *r);
int h_events(hreq *r);
int h_health(hreq *r);
int h_instances(hreq *r);
int h_index(hreq *r);
int h_metrics(hreq *r);
int h_static(hreq *r);

/* An event as GET /api/v1/events and its stream show it (api_read.c). */
cJSON *api__event_json(const hp_event *e);

/* --- api_util.c --------------------------------------------------------- */

/* Checks that body has only the fields of spec, each of its type. Sends 400
 * and returns it on the first problem, else 0. */
int api__check_fields(hreq *r, const cJSON *body, const field_spec *spec, size_t n);
/* The string value of a field, or NULL. */
const char *api__str_field(const cJSON *body, const char *name);
/* An optional whole-number query parameter within [lo, hi]: 0 (absent, or
 * present and set in *out), or the 400 it sent. */
int api__query_int(hreq *r, const char *name, int64_t lo, int64_t hi, int64_t *out);
/* An optional text query parameter: 1 present, 0 absent, or the 400 sent. */
int api__query_text(hreq *r, const char *name, char *buf, size_t bufsz);
/* The paging parameters: 0, or the 400 sent. */
int api__read_page(hreq *r, page_query *p);
/* next_before for a page fetched with one row more than limit. */
void api__set_next(cJSON *root, cJSON *arr, int n, int64_t limit);
/* Ends a list handler: 503 when the query failed (n < 0), else the page.
 * Frees root. */
int api__send_page(hreq *r, cJSON *root, cJSON *arr, int n, int64_t limit);
/* Queues a job and answers 202 {job_id}, or 409 when one of its group runs. */
int api__submit(hreq *r, const char *kind, const char *cluster, const cJSON *params,
                const char *reason);
/* A number, or null when negative (unknown). */
void api__opt_num(cJSON *o, const char *k, int64_t v);
/* A stored JSON text as JSON (as a string when as_string or unparsable). */
void api__add_json_text(cJSON *o, const char *k, const char *text, int as_string);

#endif
