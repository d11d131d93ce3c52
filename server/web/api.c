/* api.c — the route table: method, path, handler, role, one line; the one
 * list of every route (a test checks it against docs/openapi.yaml). */
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
#include "web/stream.h"
#include "web/ui.h"
#include "core/banned.h" /* last: after every system header */

/* ------------------------------------------------------------- route table */

const route api_routes[] = {
    {"GET", "/api/v1/health", h_health, ROLE_NONE, "liveness and version"},
    {"GET", "/api/v1/instances", h_instances, ROLE_VIEWER,
     "the panel instances of an HA fleet (etcd): each one's URL, the leader and since"},
    {"GET", "/api/v1/clusters", h_clusters, ROLE_VIEWER, "every monitored cluster, summarised"},
    {"GET", "/api/v1/clusters/{name}", h_cluster, ROLE_VIEWER,
     "one cluster: nodes, Sentinels, quorum, problems"},
    {"POST", "/api/v1/clusters/{name}/failover", h_failover, ROLE_OPERATOR,
     "graceful switchover or forced failover, as a job"},
    {"GET", "/api/v1/clusters/{name}/series", h_series, ROLE_VIEWER,
     "one metric of the nodes over time (lag, memory, clients, ops/s), for the charts"},
    {"GET", "/api/v1/clusters/{name}/lint", h_lint, ROLE_VIEWER,
     "config lint: each finding's check, severity, node or Sentinel, evidence and fix"},
    {"GET", "/api/v1/clusters/{name}/failover/plan", h_failover_plan, ROLE_VIEWER,
     "dry run: the checks, each view of the replicas, Sentinel's choice"},
    {"POST", "/api/v1/clusters/{name}/nodes/{addr}/resync", h_resync, ROLE_OPERATOR,
     "resync a replica (full: true forces a full sync)"},
    {"POST", "/api/v1/clusters/{name}/sentinels/reset", h_reset, ROLE_OPERATOR,
     "SENTINEL RESET, one Sentinel at a time"},
    {"GET", "/api/v1/clusters/{name}/maintenance", h_maintenance_get, ROLE_VIEWER,
     "the open maintenance window, if any: until, reason, the priorities kept"},
    {"POST", "/api/v1/clusters/{name}/maintenance", h_maintenance_start, ROLE_OPERATOR,
     "open a maintenance window (no automatic failover until it ends), as a job"},
    {"DELETE", "/api/v1/clusters/{name}/maintenance", h_maintenance_end, ROLE_OPERATOR,
     "end the maintenance window now: the priorities put back, as a job"},
    {"POST", "/api/v1/clusters/{name}/drills", h_drill_start, ROLE_OPERATOR,
     "run a failover drill (probe writes, failover, figures, cleanup), as a job"},
    {"GET", "/api/v1/drills", h_drills, ROLE_VIEWER, "failover drills, newest first, with reports"},
    {"GET", "/api/v1/drills/{id}", h_drill, ROLE_VIEWER, "one failover drill with its report"},
    {"POST", "/api/v1/clusters/{name}/nodes/{addr}/bgsave", h_bgsave, ROLE_OPERATOR,
     "BGSAVE on a node, as a job"},
    {"POST", "/api/v1/clusters/{name}/backups", h_backup_create, ROLE_OPERATOR,
     "take an RDB backup, as a job"},
    {"GET", "/api/v1/clusters/{name}/backups", h_backup_list, ROLE_VIEWER,
     "the backup catalogue of a cluster"},
    {"GET", "/api/v1/backups/{id}/download", h_backup_download, ROLE_VIEWER,
     "the RDB file of a backup"},
    {"DELETE", "/api/v1/backups/{id}", h_backup_delete, ROLE_OPERATOR,
     "delete a backup (and its off-site copy)"},
    {"POST", "/api/v1/backups/{id}/upload", h_backup_upload, ROLE_OPERATOR,
     "upload a backup to the [s3] object store again, as a job"},
    {"POST", "/api/v1/backups/{id}/verify-restore", h_backup_verify_restore, ROLE_OPERATOR,
     "load a backup into a scratch redis-server and compare it with its key figures, as a job"},
    {"GET", "/api/v1/jobs", h_jobs, ROLE_VIEWER, "jobs, newest first"},
    {"GET", "/api/v1/jobs/{id}", h_job, ROLE_VIEWER, "one job with its steps"},
    {"DELETE", "/api/v1/jobs/{id}", h_job_cancel, ROLE_OPERATOR,
     "cancel a job that has not started (a scheduled switchover)"},
    {"GET", "/api/v1/alerts", h_alerts, ROLE_VIEWER, "alerts, active and recent"},
    {"POST", "/api/v1/alerts/{id}/ack", h_alert_ack, ROLE_OPERATOR,
     "acknowledge an alert with a comment"},
    {"POST", "/api/v1/notifications/test", h_notify_test, ROLE_OPERATOR,
     "send a test message to every channel"},
    {"GET", "/api/v1/notifications", h_notifications, ROLE_VIEWER,
     "the notification outbox: pending, delivered, failed"},
    {"GET", "/api/v1/failovers", h_failovers, ROLE_VIEWER, "failover history"},
    {"GET", "/api/v1/events", h_events, ROLE_VIEWER, "the event history, filtered and paged"},
    {"GET", "/api/v1/events/stream", h_events_stream, ROLE_VIEWER,
     "the events as Server-Sent Events, live; Last-Event-ID resumes from the history"},
    {"GET", "/metrics", h_metrics, ROLE_VIEWER,
     "Prometheus metrics (open when [auth] metrics_open is 1)"},
    {"POST", "/api/v1/login", h_login, ROLE_NONE,
     "log in with a user and password: a session cookie and its CSRF token"},
    {"POST", "/api/v1/logout", h_logout, ROLE_VIEWER, "end the session"},
    {"GET", "/api/v1/session", h_session, ROLE_VIEWER,
     "who the caller is: user, role, how authenticated, the CSRF token"},
    {"GET", "/api/v1/audit", h_audit, ROLE_ADMIN,
     "the audit trail: actions and logins, filtered and paged"},
    {"GET", "/api/v1/settings", h_settings, ROLE_ADMIN, "the settings in effect, secrets withheld"},
    {"GET", "/api/v1/users", h_users, ROLE_ADMIN, "the configured tokens and users (no secrets)"},
    {"GET", "/", h_index, ROLE_NONE, "the dashboard page"},
    {"GET", "/static/{file}", h_static, ROLE_NONE, "the dashboard's static assets"},
    {"GET", "/ui/clusters", ui_clusters, ROLE_VIEWER, "dashboard fragment: every cluster"},
    {"GET", "/ui/stream", ui_stream, ROLE_VIEWER,
     "the dashboard's live page as Server-Sent Events, pushed on change"},
    {"GET", "/ui/clusters/{name}/charts", ui_charts, ROLE_VIEWER,
     "dashboard fragment: a cluster's history charts (SVG), last hour, day or week"},
    {"GET", "/ui/jobs/{id}", ui_job, ROLE_VIEWER, "dashboard fragment: one job's progress"},
    {"GET", "/ui/history", ui_history, ROLE_VIEWER,
     "dashboard fragment: failovers and events, filtered"},
    {"GET", "/ui/notifications", ui_notifications, ROLE_VIEWER,
     "dashboard fragment: notification outbox health"},
    {"GET", "/ui/instances", ui_instances, ROLE_VIEWER,
     "dashboard fragment: the hapanel instances, the leader and since when (HA)"},
};
const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);
