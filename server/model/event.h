/* event.h — the records of the history: an event (from a Sentinel, from
 * the panel's own view, from a job), a failover, a backup. An event carries
 * a kind and typed fields for what its consumers need (the alert rule, the
 * job's id and kind, Sentinel's payload); its JSON details are rendered from
 * them once, for storage and the API, and never parsed back in-process.
 * Pure: no I/O (the queue to the database writer is db/writer.h). */
#ifndef HP_EVENT_H
#define HP_EVENT_H

#include <stdint.h>
#include "core/common.h"

typedef enum ev_kind {
    EV_SENTINEL = 0,   /* a Sentinel pub/sub message; type is its channel */
    EV_TOPOLOGY,       /* found by diffing snapshots: node-down, role-change, ... */
    EV_ALERT_FIRED,    /* an alert rule fired (rule, node) */
    EV_ALERT_RESOLVED, /* ... and resolved */
    EV_JOB_STARTED,    /* job_id, job_kind */
    EV_JOB_SUCCEEDED,
    EV_JOB_FAILED,
    EV_BACKUP_STALE,   /* no backup within an hour of the schedule */
    EV_BACKUP_DELETED, /* job_id: the backup's id */
    EV_PANEL,          /* hapanel started or stopped */
    EV_EVENTS_DROPPED, /* the writer's queue was full: count events were dropped */
} ev_kind;

/* An alert the writer opened or resolved for an event (see alerts.h). */
typedef struct ev_alert {
    int open; /* 1 opened (or found open), 0 resolved */
    char rule[32];
    char node[HP_ADDR_MAX]; /* "" for an alert about the whole cluster */
    int64_t id;             /* the alert row; 0 when there was none to resolve */
    int changed;            /* 1 when the row was created or resolved now */
} ev_alert;

#define EV_MAX_ALERTS 2

typedef struct hp_event {
    int64_t id; /* assigned by the database */
    int64_t ts; /* ms since the epoch */
    int kind;   /* EV_* */
    char cluster[HP_NAME_MAX];
    char type[48];                 /* "+sdown", "+switch-master", "node-down", ... */
    char severity[12];             /* info, warning, critical */
    char source[HP_ADDR_MAX + 16]; /* "sentinel 127.0.0.1:26379" or "panel" */
    char node[HP_ADDR_MAX];
    char message[512];
    /* typed fields, by kind; empty where the kind has none */
    char payload[256];            /* EV_SENTINEL: the message as published */
    char old_master[HP_ADDR_MAX]; /* EV_SENTINEL +switch-master */
    char new_master[HP_ADDR_MAX];
    char rule[32];     /* EV_ALERT_* */
    int64_t since;     /* EV_ALERT_*: when the condition began (or cleared), ms; 0 unknown */
    int64_t job_id;    /* EV_JOB_*; EV_BACKUP_DELETED: the backup */
    char job_kind[32]; /* EV_JOB_* */
    /* > 1: this many like it in the same second, coalesced (a flood);
     * EV_EVENTS_DROPPED: how many were dropped */
    int count;
    /* set by the writer as it stores the event */
    ev_alert alerts[EV_MAX_ALERTS];
    int nalerts;
    /* the JSON details as stored: rendered from the typed fields when the
     * event is stored, read back from the database otherwise */
    char details[512];
} hp_event;

/* Fills e from the given fields (NULLs become ""), timestamps it now. Every
 * text is made valid UTF-8 (names and messages come from Redis). */
void hp_event_set(hp_event *e, int kind, const char *cluster, const char *type,
                  const char *severity, const char *source, const char *node, const char *message);
struct cJSON;
/* e's details as a JSON object, from its typed fields. Caller frees with
 * cJSON_Delete. */
struct cJSON *hp_event_details_json(const hp_event *e);
/* Renders them into e->details (the stored text). */
void hp_event_render_details(hp_event *e);
/* Makes every text field of e valid UTF-8. */
void hp_event_fix(hp_event *e);

/* One failover, automatic, forced or graceful (see migrations/0002). */
typedef struct hp_failover {
    int64_t id;
    char cluster[HP_NAME_MAX];
    char kind[16]; /* automatic, forced, graceful */
    char old_master[HP_ADDR_MAX];
    char new_master[HP_ADDR_MAX];
    int64_t started_at, ended_at, duration_ms, writes_paused_ms; /* -1 = unknown */
    char status[32]; /* succeeded, failed, aborted, completed_after_restart */
    char actor[64];
    char reason[256];
    int64_t job_id; /* 0 = none */
    /* automatic only: 1 when the monitor had the old master as the cluster's
     * master as the +switch-master came (it watched this switch happen), so it
     * is never a late copy of a switch stored before a restart (db/writer.c) */
    int watched;
} hp_failover;

/* One backup in the catalogue (see migrations/0003). */
typedef struct hp_backup {
    int64_t id;
    char cluster[HP_NAME_MAX];
    char node[HP_ADDR_MAX];
    int64_t created_at;
    int64_t size_bytes;
    char sha256[65];
    int verified;
    char path[1024];
    int64_t job_id;
    /* issue 14 item 6, the off-site copy (migrations/0012); remote_state ""
     * when the backup was taken with no [s3] endpoint */
    char remote_key[512];
    char remote_state[12]; /* pending, uploaded, failed, deleting, deleted */
    int remote_attempts;
    int64_t remote_next_at, remote_uploaded_at; /* ms; 0 = none */
    char remote_error[256];
    /* issue 14 item 7, key figures and the restore check (migrations/0013) */
    int64_t keys, expires;      /* what the RDB walker counted; -1: not walked */
    char walk_error[200];       /* why the walk stopped early or failed; "" none */
    int64_t restore_checked_at; /* ms; 0: never checked */
    int restore_ok;
    char restore_detail[256];
} hp_backup;

struct cJSON;
/* f as the JSON object GET /api/v1/failovers lists and webhooks carry in
 * their details (unknown numbers null). Caller frees with cJSON_Delete. */
struct cJSON *hp_failover_json(const hp_failover *f);
/* Makes every text field of f valid UTF-8. */
void hp_failover_fix(hp_failover *f);

#endif
