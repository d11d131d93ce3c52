/* writer.h — the one thread that writes to SQLite, and the queue every write
 * of hapanel goes through: events and failover records from the monitor and
 * the jobs (queued, never blocking their producers on I/O), and the other
 * writes — a job's row, a backup's, the outbox's, an acknowledgement — which
 * wait for the writer to have run them. The writer takes everything queued
 * and runs it in order in one transaction, so a burst of events (three
 * Sentinels reporting a failover) costs one fsync, not dozens; as it stores
 * an event it opens or resolves the alert rows that event implies (the one
 * place the alerts table is written, see alerts_of_event). If the database
 * refuses a batch the writer retries it rather than drop events. */
#ifndef HP_DB_WRITER_H
#define HP_DB_WRITER_H

#include <stdint.h>

#include "db/db.h"

typedef struct evq evq;

/* Starts the writer thread on d (not owned). Returns NULL on failure. */
evq *evq_new(db *d);
/* Stores what is queued, stops the thread and frees q. NULL is a no-op. */
void evq_free(evq *q);

/* Queues a copy of e (text made valid UTF-8; its details are rendered from
 * its typed fields when stored). Thread-safe; never blocks on I/O. The queue
 * is bounded: in a flood, an event like one queued in the same second only
 * counts on it, and past the bound events are dropped and counted (one
 * events-dropped event records how many, and opens an alert). */
void evq_push(evq *q, const hp_event *e);
/* Events dropped since the start (the queue was full). */
uint64_t evq_dropped(evq *q);
/* Events stored since the start: counted after each committed batch. */
uint64_t evq_written(evq *q);
/* For the tests: how long without a drop before the events_dropped alert
 * resolves (default a minute). */
void evq__set_dropped_clear_ms(evq *q, int64_t ms);
/* Queues a copy of f. Thread-safe; never blocks on I/O. An automatic
 * failover already stored (every Sentinel publishes +switch-master) is
 * dropped: its id stays 0 and the hook skips it. */
void evq_push_failover(evq *q, const hp_failover *f);
/* Queues a copy of one poll's n samples (db.h), stored in the batch's one
 * transaction, where the writer also rolls up completed minutes and hours
 * and deletes what is past its retention. Thread-safe; never blocks on I/O.
 * Past the queue's bound of waiting samples, a poll's samples are dropped
 * (a gap in the charts, nothing else). */
void evq_push_samples(evq *q, const db_sample *s, int n);
/* Called on the writer thread after each batch is stored (ids and alert
 * changes set), in the order they were pushed. */
typedef void evq_hook_fn(void *ctx, const hp_event *evs, int n, const hp_failover *fs, int nf);
/* Sets the hook; call before anything is pushed. */
void evq_set_hook(evq *q, evq_hook_fn *fn, void *ctx);
/* Waits until everything queued before the call is stored. */
void evq_flush(evq *q);

/* --- the other writes: each waits until the writer has run it ------------
 * (on the writer thread itself, from the hook, they run at once). */

/* A new queued job: its id, or -1. */
int64_t evq_job_insert(evq *q, const char *kind, const char *cluster, const char *params,
                       const char *actor, const char *reason, int64_t created_at);
/* The same for a job that is to start at run_at (epoch ms; 0: at once). */
int64_t evq_job_insert_at(evq *q, const char *kind, const char *cluster, const char *params,
                          const char *actor, const char *reason, int64_t created_at,
                          int64_t run_at);
/* A job's changing columns (NULL text: unchanged). Waits until stored: a
 * recipe saves its undo before it changes a node. */
void evq_job_save(evq *q, int64_t id, const char *state, const char *steps, const char *error,
                  const char *result, const char *undo, int64_t started_at, int64_t ended_at);
/* Catalogues b and sets its id. Returns 0 or -1. */
int evq_backup_insert(evq *q, hp_backup *b);
/* Removes backup b: its row, then its file, and records a backup-deleted
 * event naming actor. Returns 0, or -1 when the row could not be removed
 * (the file is then kept). */
int evq_backup_delete(evq *q, const hp_backup *b, const char *actor);
/* Adds an outbox message unless (channel, key) exists: 1 added, 0 there,
 * -1 error. gkey, gstate, gat: its global key and the claim's state and
 * time for a fleet of panels on etcd (NULL, NULL, 0: none; migrations/0014). */
int evq_outbox_add(evq *q, const char *channel, const char *key, const char *severity,
                   const char *payload, const char *text, int64_t now, const char *gkey,
                   const char *gstate, int64_t gat);
/* sent_by: the instance that sent it (skipped: another one); NULL unchanged. */
int evq_outbox_mark(evq *q, int64_t id, const char *state, int attempts, int64_t next_at,
                    const char *last_error, int64_t delivered_at, const char *sent_by);
/* Row id was claimed in etcd by this instance (by) at `at`: a follower
 * resends it too. Queued, not waited for (-1: no memory). */
int evq_outbox_claimed(evq *q, int64_t id, const char *by, int64_t at);
/* Stores an audit record (a->params: JSON text or NULL); records older
 * than keep_days go. Waits until stored: 0, or -1. */
int evq_audit(evq *q, audit_rec *a, int keep_days);
/* 1 acknowledged, 0 no such alert, -1 error. */
int evq_alert_ack(evq *q, int64_t id, const char *who, const char *comment, int64_t at);

#endif
