/* backup.h — RDB backups taken over the replication protocol from the live
 * topology, verified (header, CRC64, SHA-256) while they stream, catalogued
 * in SQLite, kept by a retention policy and taken on a schedule; plus BGSAVE
 * on a node. The recipes run as jobs (jobs.h). */
#ifndef HP_BACKUP_H
#define HP_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "db/writer.h"

struct db;
struct jobs;
typedef struct job job;

/* params: {node?} — from the named node, else the healthiest replica, else
 * the master. */
int recipe_backup(job *jb);
/* params: {node} — BGSAVE and wait for it. */
int recipe_bgsave(job *jb);

/* The directory backups go to (backup.dir, or DATA_DIR/backups). */
const char *backup_dir(const config *cfg, char *buf, size_t bufsz);
/* Deletes the backups of cluster the retention settings no longer keep; the
 * newest is always kept. jb, if not NULL, gets a step per deletion. */
int backup_retention(const config *cfg, struct db *d, evq *q, const char *cluster, job *jb);
/* The latest scheduled instant at or before now_ms, or 0 with no schedule. */
int64_t backup_schedule_latest(const config *cfg, int64_t now_ms);

typedef struct backup_sched backup_sched;
/* Removes the temp files interrupted backups left, then starts the
 * scheduler thread: it queues the backups the schedule asks for
 * (a schedule missed while hapanel was down runs at start) and raises a
 * backup-stale event when none succeeded within an hour of its time.
 * With [s3] set it also starts the uploader of the off-site copies (s3.h). */
backup_sched *backup_sched_new(const config *cfg, struct db *d, struct jobs *j, evq *q);
void backup_sched_free(backup_sched *s);

#endif
