/* maintenance.h — maintenance windows: for a bounded time no replica of a
 * cluster can be promoted (each replica's replica-priority 0, read by every
 * Sentinel), so its master can be restarted without a failover. Starting
 * and ending are jobs; the originals are kept in the job's undo and in the
 * maintenance table (db/maintenance.h), and a timer thread ends each window
 * at its time, including one a crash of hapanel left open. */
#ifndef HP_ACTIONS_MAINTENANCE_H
#define HP_ACTIONS_MAINTENANCE_H

#include "core/config.h"
#include "db/writer.h"

struct db;
struct jobs;
typedef struct job job;

#define MAINT_MAX_MS (24LL * 3600 * 1000) /* the longest window */

/* params: {until (ms since the epoch)} — every replica's priority to 0,
 * then waits until every Sentinel reads it. */
int recipe_maintenance_start(job *jb);
int recipe_maintenance_start_recover(job *jb);
/* params: {cause: "delete"|"expired"} — puts the priorities back from the
 * window's row (persisted) and closes it. Also its own recovery. */
int recipe_maintenance_end(job *jb);

typedef struct maint_sched maint_sched;
/* Starts the thread that submits maintenance-end for each open window whose
 * time has come (checked every second; a window that ended while hapanel
 * was down is ended at start). NULL on failure. */
maint_sched *maint_sched_new(const config *cfg, struct db *d, struct jobs *j);
void maint_sched_free(maint_sched *s);

#endif
