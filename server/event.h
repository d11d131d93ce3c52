/* event.h — one row of the history: a Sentinel event, a panel event or (later) a
 * job's event, and the queue that carries events from any thread to the single
 * database writer. The queue never blocks its producers on SQLite: the writer
 * thread takes everything queued and stores it in one transaction. */
#ifndef HP_EVENT_H
#define HP_EVENT_H

#include <stdint.h>
#include "common.h"

typedef struct hp_event {
    int64_t id; /* assigned by the database */
    int64_t ts; /* ms since the epoch */
    char cluster[HP_NAME_MAX];
    char type[48];     /* "+sdown", "+switch-master", "node-down", ... */
    char severity[12]; /* info, warning, critical */
    char source[HP_ADDR_MAX + 16]; /* "sentinel 127.0.0.1:26379" or "panel" */
    char node[HP_ADDR_MAX];
    char message[512];
    char details[512]; /* JSON object text, "{}" when there is nothing */
} hp_event;

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
} hp_backup;

struct cJSON;
/* f as the JSON object GET /api/v1/failovers lists and webhooks carry in
 * their details (unknown numbers null). Caller frees with cJSON_Delete. */
struct cJSON *hp_failover_json(const hp_failover *f);

/* Fills e from the given fields (NULLs become ""), timestamps it now. Text
 * that is not valid UTF-8 is repaired ('?' for each bad byte). */
void hp_event_set(hp_event *e, const char *cluster, const char *type, const char *severity,
                  const char *source, const char *node, const char *message);

typedef struct evq evq;
struct db;

/* Starts the writer thread on d (not owned). Returns NULL on failure. */
evq *evq_new(struct db *d);
/* Queues a copy of e, its text made valid UTF-8. Thread-safe; never blocks on
 * I/O. */
void evq_push(evq *q, const hp_event *e);
/* Queues a copy of f for the writer, its text made valid UTF-8. Thread-safe;
 * never blocks on I/O. */
void evq_push_failover(evq *q, const hp_failover *f);
/* Called on the writer thread after each batch is stored (ids set). */
typedef void evq_hook_fn(void *ctx, const hp_event *evs, int n, const hp_failover *fs, int nf);
/* Sets the hook; call before anything is pushed. */
void evq_set_hook(evq *q, evq_hook_fn *fn, void *ctx);
/* Waits until everything pushed before the call is stored (tests, shutdown). */
void evq_flush(evq *q);
/* Stores what is queued, stops the thread and frees q. NULL is a no-op. */
void evq_free(evq *q);

#endif
