/* jobs.h — actions as tracked jobs. An HTTP handler validates a request
 * against the snapshot and submits it; a runner thread executes it with its own
 * blocking connections, recording each step with a timestamp in SQLite as it
 * goes, so GET /api/v1/jobs/{id} shows progress live and a restart of hapanel
 * can report an interrupted job and undo what it had changed (replica
 * priorities, a client pause). Jobs come in groups: at most one job of a
 * group runs per cluster (one failover, resync or Sentinel reset — they all
 * change the topology — and one backup or BGSAVE); a second is refused, never
 * queued. A job may also be scheduled for a later time: until then it is
 * stored as queued with its run_at and holds nothing (its cluster's other
 * work goes on); the scheduler thread starts it at its time, even after a
 * restart of hapanel, and it can be cancelled until it starts. */
#ifndef HP_JOBS_H
#define HP_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "db/writer.h"

struct db;
struct cJSON;
typedef struct jobs jobs;
typedef struct job job;

/* One kind of job, as the actions define it (actions.c): the runner knows
 * no recipe, only this table. */
typedef struct job_kind {
    const char *name;  /* "failover", "backup", ... */
    const char *group; /* one job per group and cluster at a time */
    /* Runs the job on a runner thread: 0 succeeded, -1 failed (job_fail). */
    int (*run)(job *jb);
    /* After a restart of hapanel, for a job that was queued or running:
     * finishes or puts back what the interrupted run left, from the job's
     * undo object and steps. 0: the job's work is complete (it succeeds),
     * -1: it failed (job_fail says why). NULL: it just fails. */
    int (*recover)(job *jb);
} job_kind;

#define JOB_GROUP_TOPOLOGY "topology" /* failover, resync, reset: they change roles */

struct notifier;
struct ha;

/* What the jobs may use, given by main; kept, not copied. */
typedef struct job_env {
    const config *cfg;
    struct db *d;        /* reads */
    evq *q;              /* writes and events */
    struct notifier *nt; /* for the notification test */
    struct ha *ha;       /* leadership (issue 15); NULL: a single panel, always leads */
} job_env;

/* Starts the runner threads for the given kinds (kept, not copied). Before
 * taking new work they recover every job a crash left queued or running.
 * With env->ha they act only while this instance leads: the recovery, the
 * runners and the clock of scheduled jobs wait for the lead; a job running
 * when the lead is lost sees job_cancelled() and stops as on shutdown; and
 * each running job is mirrored in etcd (jobs/<cluster>/<group>), so that
 * the next leader imports a job a dead leader left and runs its kind's
 * recover() on it; a job scheduled for later is mirrored too
 * (sched/jobs/<instance>/<id>) and runs once, on whichever instance leads
 * at its time. Returns NULL on failure. */
jobs *jobs_new(const job_env *env, const job_kind *kinds, size_t nkinds);
void jobs_free(jobs *j);

/* JOBS_NOT_LEADER: another instance leads (the HTTP layer forwards there
 * first; this is the safety net). */
enum {
    JOBS_OK = 0,
    JOBS_BUSY = -1,
    JOBS_ERROR = -2,
    JOBS_FULL = -3,
    JOBS_NOT_FOUND = -4,
    JOBS_NOT_LEADER = -5
};

/* A scheduled job whose time passed while hapanel was not running starts at
 * once when it is at most this late, else fails as missed. */
#define JOBS_DUE_GRACE_MS (10 * 60 * 1000)
/* At its time, a scheduled job waits this long for another job of its group
 * on its cluster to end, then fails as busy. */
#define JOBS_DUE_BUSY_WAIT_MS (60 * 1000)
/* How far ahead a job may be scheduled. */
#define JOBS_SCHEDULE_MAX_AHEAD_MS (30LL * 24 * 3600 * 1000)

/* Stores and queues a job. params (a JSON object) is copied. Returns JOBS_OK
 * with *id set, JOBS_BUSY (with the running job's id in *id) when a job of
 * the same group already runs on cluster, JOBS_NOT_LEADER when another
 * instance leads, or JOBS_ERROR. */
int jobs_submit(jobs *j, const char *kind, const char *cluster, const struct cJSON *params,
                const char *actor, const char *reason, int64_t *id);
/* Stores a job that starts at run_at (epoch ms; the caller checks it is
 * ahead). params is copied. Returns JOBS_OK with *id set, JOBS_FULL when
 * JOBS_SCHEDULED_MAX (64) jobs already wait for their time, JOBS_NOT_LEADER
 * when another instance leads (or etcd did not take its mirror), or
 * JOBS_ERROR.
 * It takes its group's place only at its time. */
int jobs_schedule(jobs *j, const char *kind, const char *cluster, const struct cJSON *params,
                  const char *actor, const char *reason, int64_t run_at, int64_t *id);
/* Cancels a job that has not started (scheduled, or queued for a runner):
 * it ends as "cancelled", naming actor, and never runs. JOBS_OK, or
 * JOBS_NOT_FOUND when no such job waits (running, ended, being recovered,
 * or unknown: the caller reads the row to say which). */
int jobs_cancel(jobs *j, int64_t id, const char *actor);
/* 1 while a topology job (failover, resync, reset) is queued, running or
 * being recovered on cluster. Thread-safe. */
int jobs_cluster_busy(jobs *j, const char *cluster);
/* The id of the job of kind's group queued or running on cluster, or 0. */
int64_t jobs_running(jobs *j, const char *cluster, const char *kind);
/* The leadership the jobs follow (env->ha): the schedulers of backups and
 * maintenance windows gate on it. NULL: always the leader. */
struct ha *jobs_ha(const jobs *j);

/* --- for recipes (recipes.c), on the runner thread ---------------------- */

/* Records a step: appended with its time, stored, logged. */
void job_step(job *jb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets the job's error (the job fails when its recipe returns non-zero). */
void job_fail(job *jb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The job's undo object: what to put back if hapanel dies now. Recipes edit
 * it, then call job_save_undo() before making the change it describes. */
struct cJSON *job_undo(job *jb);
void job_save_undo(job *jb);
/* The job's result object, stored when it ends. */
struct cJSON *job_result(job *jb);
const struct cJSON *job_params(const job *jb);
const char *job_cluster(const job *jb);
const char *job_actor(const job *jb);
const char *job_reason(const job *jb);
int64_t job_id(const job *jb);
/* A scheduled job's time (epoch ms); 0 for a job that ran when submitted. */
int64_t job_run_at(const job *jb);
const config *job_config(const job *jb);
/* The Sentinel group of the job's cluster (its Sentinels, address map and
 * credentials): the group the snapshot gives the cluster, else the one named
 * by params "group" (recorded at submit, so a job recovered after a restart,
 * before the monitor has seen its cluster again, still connects with the
 * right credentials), else the group whose masters= lists it, else
 * groups[0]. In its kind's recover() the recorded group comes first: the
 * undo's addresses are that group's, whichever group this process's
 * snapshot now gives a clashing name. Never NULL; points into the config. */
const cfg_group *job_group(const job *jb);
/* For a job that recorded no group (submitted while the snapshot had not
 * got its cluster: a scheduler at start, its Sentinels down), the group of a
 * job it follows up (a maintenance window's start): name is recorded in
 * params when it names a configured group. Called by the job's own thread. */
void job_inherit_group(job *jb, const char *name);
struct db *job_db(const job *jb);
struct notifier *job_notifier(const job *jb);
evq *job_events(const job *jb);
/* 1 once hapanel is stopping, or (with HA) once this instance lost the
 * lead since the job started: long waits give up and the recipe undoes its
 * changes, so the process can exit or the next leader can take over. */
int job_cancelled(const job *jb);
/* The message of the job's last recorded step, or NULL (for recovery). */
const char *job_last_step(const job *jb);
/* For fault-injection tests: when HAPANEL_FAILPOINT equals name, the process
 * dies at once (_exit 70), as a crash at that point would; "name:delay=MS"
 * stalls the job there for MS ms instead (a test hangs a peer meanwhile). */
void job_failpoint(job *jb, const char *name);

#endif
