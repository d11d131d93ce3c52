/* jobs.c — the job queue, its runner threads, the scheduler of jobs set for
 * a later time, step recording and crash recovery (see jobs.h). */
#define _POSIX_C_SOURCE 200809L
#include "actions/jobs.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db/db.h"
#include "core/log.h"
#include "core/utf8.h"
#include "core/banned.h" /* last: after every system header */

#define JOBS_THREADS 4
#define JOBS_SCHEDULED_MAX 64
/* The scheduler looks at its list at least this often, and at once when a
 * job is added or a job of a cluster ends. */
#define SCHED_TICK_MS 1000

struct job {
    jobs *owner;
    int64_t id;
    char kind[32];
    char cluster[HP_NAME_MAX];
    char actor[64];
    char reason[256];
    cJSON *params, *steps, *undo, *result;
    char error[512];
    const job_kind *k;
    int64_t run_at;     /* a scheduled job's time (epoch ms); 0: at once */
    int64_t busy_since; /* when its time came and its group was busy; 0: not */
    int reloaded;       /* read back at start: it was scheduled before a restart */
    job *next;
};

struct jobs {
    const job_kind *kinds;
    size_t nkinds;
    job_env env;
    const config *cfg;
    db *d;
    evq *q;
    pthread_t threads[JOBS_THREADS];
    int nthreads;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    job *head, *tail;
    job *recover; /* interrupted jobs found at start, handled before new work */
    job *sched;   /* scheduled jobs whose time has not come: not busy, not queued */
    int nsched;
    pthread_t sched_thread;
    int has_sched_thread;
    pthread_cond_t sched_wake;
    int recovered;
    int stop;
    struct busy {
        char cluster[HP_NAME_MAX];
        const char *group;
        int64_t id;
    } busy[64];
    int nbusy;
};

static const job_kind *find_kind(const jobs *j, const char *kind)
{
    size_t i;
    for (i = 0; i < j->nkinds; i++)
        if (!strcmp(j->kinds[i].name, kind)) return &j->kinds[i];
    return NULL;
}

/* ------------------------------------------------------------------ helpers */

static void job_free(job *jb)
{
    if (!jb) return;
    cJSON_Delete(jb->params);
    cJSON_Delete(jb->steps);
    cJSON_Delete(jb->undo);
    cJSON_Delete(jb->result);
    free(jb);
}

static job *job_alloc(jobs *owner)
{
    job *jb = calloc(1, sizeof(*jb));
    if (!jb) return NULL;
    jb->owner = owner;
    jb->steps = cJSON_CreateArray();
    jb->undo = cJSON_CreateObject();
    jb->result = cJSON_CreateObject();
    if (!jb->steps || !jb->undo || !jb->result) {
        job_free(jb);
        return NULL;
    }
    return jb;
}

/* Saves state and the JSON columns; NULL state keeps it. */
static void save(job *jb, const char *state, int64_t started, int64_t ended)
{
    char *steps, *undo, *result;
    /* Steps carry Redis' own error texts: stored as valid UTF-8. */
    hp_json_fix_utf8(jb->steps);
    hp_json_fix_utf8(jb->result);
    utf8_fix_str(jb->error);
    steps = cJSON_PrintUnformatted(jb->steps);
    undo = cJSON_PrintUnformatted(jb->undo);
    result = cJSON_PrintUnformatted(jb->result); /* progress shows while it runs */
    evq_job_save(jb->owner->q, jb->id, state, steps, jb->error[0] ? jb->error : NULL, result, undo,
                 started, ended);
    cJSON_free(steps);
    cJSON_free(undo);
    cJSON_free(result);
}

static void emit(job *jb, int kind, const char *type, const char *severity, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void emit(job *jb, int kind, const char *type, const char *severity, const char *fmt, ...)
{
    hp_event e;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    hp_event_set(&e, kind, jb->cluster, type, severity, "panel", NULL, msg);
    e.job_id = jb->id;
    hp_strlcpy(e.job_kind, jb->kind, sizeof(e.job_kind));
    evq_push(jb->owner->q, &e);
}

void job_step(job *jb, const char *fmt, ...)
{
    char msg[512];
    cJSON *s = cJSON_CreateObject();
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cJSON_AddNumberToObject(s, "ts", (double)hp_now_ms());
    cJSON_AddStringToObject(s, "message", msg);
    cJSON_AddItemToArray(jb->steps, s);
    log_info("job %lld (%s %s): %s", (long long)jb->id, jb->kind, jb->cluster, msg);
    save(jb, NULL, 0, 0);
}

void job_fail(job *jb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(jb->error, sizeof(jb->error), fmt, ap);
    va_end(ap);
}

cJSON *job_undo(job *jb)
{
    return jb->undo;
}
void job_save_undo(job *jb)
{
    save(jb, NULL, 0, 0);
}
cJSON *job_result(job *jb)
{
    return jb->result;
}
const cJSON *job_params(const job *jb)
{
    return jb->params;
}
const char *job_cluster(const job *jb)
{
    return jb->cluster;
}
const char *job_actor(const job *jb)
{
    return jb->actor;
}
const char *job_reason(const job *jb)
{
    return jb->reason;
}
int64_t job_id(const job *jb)
{
    return jb->id;
}
const config *job_config(const job *jb)
{
    return jb->owner->cfg;
}
db *job_db(const job *jb)
{
    return jb->owner->d;
}
struct notifier *job_notifier(const job *jb)
{
    return jb->owner->env.nt;
}
evq *job_events(const job *jb)
{
    return jb->owner->q;
}

const char *job_last_step(const job *jb)
{
    int n = cJSON_GetArraySize(jb->steps);
    cJSON *last = n ? cJSON_GetArrayItem(jb->steps, n - 1) : NULL;
    return last ? cJSON_GetStringValue(cJSON_GetObjectItem(last, "message")) : NULL;
}

int job_cancelled(const job *jb)
{
    return __atomic_load_n(&jb->owner->stop, __ATOMIC_RELAXED);
}

void job_failpoint(job *jb, const char *name)
{
    const char *fp = getenv("HAPANEL_FAILPOINT");
    size_t nl = strlen(name);
    if (!fp || strncmp(fp, name, nl) || (fp[nl] != '\0' && fp[nl] != ':')) return;
    if (!strncmp(fp + nl, ":delay=", 7)) {
        /* "name:delay=MS": stall here instead, so a test can hang a peer
         * at exactly this point. */
        long ms = strtol(fp + nl + 7, NULL, 10);
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        log_warn("job %lld: failpoint %s: stalling %ld ms", (long long)jb->id, name, ms);
        nanosleep(&ts, NULL);
        return;
    }
    log_error("job %lld: failpoint %s: exiting as a crash would", (long long)jb->id, name);
    _exit(70);
}

/* ----------------------------------------------------------------- running */

static void unbusy(jobs *j, const char *cluster, int64_t id)
{
    int i;
    pthread_mutex_lock(&j->lock);
    for (i = 0; i < j->nbusy; i++)
        if (j->busy[i].id == id && !strcmp(j->busy[i].cluster, cluster)) {
            j->busy[i] = j->busy[--j->nbusy];
            break;
        }
    pthread_cond_signal(&j->sched_wake); /* a scheduled job may be waiting for it */
    pthread_mutex_unlock(&j->lock);
}

/* "14:05:00 UTC" (with the date when it is not today's) into buf. */
static void utc_text(int64_t ms, char *buf, size_t n)
{
    time_t t = (time_t)(ms / 1000), now = time(NULL);
    struct tm tm, today;
    gmtime_r(&t, &tm);
    gmtime_r(&now, &today);
    if (strftime(buf, n,
                 tm.tm_year == today.tm_year && tm.tm_yday == today.tm_yday
                     ? "%H:%M:%S UTC"
                     : "%Y-%m-%d %H:%M:%S UTC",
                 &tm) == 0)
        hp_strlcpy(buf, "?", n);
}

static void execute(job *jb)
{
    int rc;
    int64_t now = hp_now_ms();

    save(jb, "running", now, 0);
    if (jb->run_at > 0) {
        char at[40];
        utc_text(jb->run_at, at, sizeof(at));
        job_step(jb, "its time came: scheduled for %s by %s, started %lld ms after it%s", at,
                 jb->actor[0] ? jb->actor : "?", (long long)(now - jb->run_at),
                 jb->reloaded ? " (read back after a restart of hapanel)" : "");
    }
    emit(jb, EV_JOB_STARTED, "job-started", "info", "%s job %lld started by %s%s%s", jb->kind,
         (long long)jb->id, jb->actor[0] ? jb->actor : "?", jb->reason[0] ? ": " : "", jb->reason);
    rc = jb->k ? jb->k->run(jb) : -1;
    if (rc != 0 && !jb->error[0]) job_fail(jb, "failed");
    if (rc == 0) jb->error[0] = '\0';
    job_step(jb, rc == 0 ? "done" : "failed: %s", jb->error);
    save(jb, rc == 0 ? "succeeded" : "failed", 0, hp_now_ms());
    if (rc == 0)
        emit(jb, EV_JOB_SUCCEEDED, "job-succeeded", "info", "%s job %lld succeeded", jb->kind,
             (long long)jb->id);
    else
        emit(jb, EV_JOB_FAILED, "job-failed", "warning", "%s job %lld failed: %s", jb->kind,
             (long long)jb->id, jb->error);
    unbusy(jb->owner, jb->cluster, jb->id);
}

/* A job that was queued or running when hapanel stopped: its kind finishes
 * or puts back what it had changed, then it ends. */
static void recover_one(job *jb)
{
    const char *last = job_last_step(jb);
    char at[512];
    int rc = -1;

    snprintf(at, sizeof(at), "%s", last ? last : "");
    job_step(jb, "hapanel restarted; this job was interrupted %s%s",
             last ? "after: " : "before it started", at);
    if (jb->k && jb->k->recover) rc = jb->k->recover(jb);
    if (rc != 0) {
        char what[512];
        snprintf(what, sizeof(what), "%s", jb->error);
        job_fail(jb, "interrupted by a restart of hapanel %s%.200s%s%s",
                 last ? "after: " : "before it started", at, what[0] ? "; " : "", what);
    } else {
        jb->error[0] = '\0';
    }
    job_step(jb, rc == 0 ? "done after the restart" : "failed: %s", jb->error);
    save(jb, rc == 0 ? "succeeded" : "failed", 0, hp_now_ms());
    if (rc == 0)
        emit(jb, EV_JOB_SUCCEEDED, "job-succeeded", "info",
             "%s job %lld completed after a restart of hapanel", jb->kind, (long long)jb->id);
    else
        emit(jb, EV_JOB_FAILED, "job-failed", "warning", "%s job %lld interrupted by a restart: %s",
             jb->kind, (long long)jb->id, jb->error);
    unbusy(jb->owner, jb->cluster, jb->id);
}

static void *runner_main(void *arg)
{
    jobs *j = arg;
    job *jb;

    pthread_mutex_lock(&j->lock);
    if (!j->recovered && j->recover) {
        /* The first thread repairs; the others wait so no new job runs on a
         * cluster that still has a crashed job's changes on it. */
        while ((jb = j->recover) != NULL) {
            j->recover = jb->next;
            pthread_mutex_unlock(&j->lock);
            recover_one(jb);
            job_free(jb);
            pthread_mutex_lock(&j->lock);
        }
    }
    j->recovered = 1;
    pthread_cond_broadcast(&j->wake);
    pthread_cond_signal(&j->sched_wake);
    for (;;) {
        while (!j->stop && (!j->head || !j->recovered))
            pthread_cond_wait(&j->wake, &j->lock);
        if (j->stop) break;
        jb = j->head;
        j->head = jb->next;
        if (!j->head) j->tail = NULL;
        pthread_mutex_unlock(&j->lock);
        execute(jb);
        job_free(jb);
        pthread_mutex_lock(&j->lock);
    }
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

/* --------------------------------------------------------------- scheduled */

/* Ends a job that never ran (cancelled, missed, refused as busy): its error,
 * a step, the row, an event. kind EV_JOB_FAILED for a failure (a failover's
 * is notified), 0 for a cancellation. */
static void end_unrun(job *jb, const char *state, int kind)
{
    job_step(jb, "%s", jb->error);
    save(jb, state, 0, hp_now_ms());
    if (kind == EV_JOB_FAILED)
        emit(jb, EV_JOB_FAILED, "job-failed", "warning", "%s job %lld failed: %s", jb->kind,
             (long long)jb->id, jb->error);
    else
        emit(jb, EV_PANEL, "job-cancelled", "info", "%s job %lld %s", jb->kind, (long long)jb->id,
             jb->error);
}

static int group_busy(const jobs *j, const job *jb)
{
    int i;
    for (i = 0; i < j->nbusy; i++)
        if (!strcmp(j->busy[i].cluster, jb->cluster) && !strcmp(j->busy[i].group, jb->k->group))
            return 1;
    return j->nbusy == (int)(sizeof(j->busy) / sizeof(j->busy[0]));
}

/* The scheduler: a scheduled job holds nothing until its time (its
 * cluster's other work goes on); then it takes its group's place and joins
 * the queue, or, while another job of its group runs there, waits up to
 * JOBS_DUE_BUSY_WAIT_MS and fails "busy". A job more than
 * JOBS_DUE_GRACE_MS past its time (hapanel was not running then) is not
 * started: it fails as missed. */
static void *sched_main(void *arg)
{
    jobs *j = arg;
    job *done = NULL, *jb, **pp;

    pthread_mutex_lock(&j->lock);
    for (;;) {
        int64_t now = hp_now_ms(), next = now + SCHED_TICK_MS;
        struct timespec ts;

        while (!j->stop && !j->recovered)
            pthread_cond_wait(&j->sched_wake, &j->lock);
        if (j->stop) break;
        for (pp = &j->sched; (jb = *pp) != NULL;) {
            if (jb->run_at > now) {
                if (jb->run_at < next) next = jb->run_at;
                pp = &jb->next;
                continue;
            }
            if (now - jb->run_at > JOBS_DUE_GRACE_MS && !jb->busy_since) {
                char at[40];
                utc_text(jb->run_at, at, sizeof(at));
                job_fail(jb,
                         "missed: it was due at %s and hapanel was not running then; not started "
                         "%lld s late (more than %d s)",
                         at, (long long)((now - jb->run_at) / 1000), JOBS_DUE_GRACE_MS / 1000);
            } else if (group_busy(j, jb)) {
                if (!jb->busy_since) jb->busy_since = now;
                if (now - jb->busy_since < JOBS_DUE_BUSY_WAIT_MS) {
                    pp = &jb->next;
                    continue;
                }
                job_fail(jb,
                         "busy: another %s job ran on %s at its time and did not end within %d s; "
                         "not started",
                         jb->k->group, jb->cluster, JOBS_DUE_BUSY_WAIT_MS / 1000);
            } else {
                hp_strlcpy(j->busy[j->nbusy].cluster, jb->cluster, sizeof(j->busy[0].cluster));
                j->busy[j->nbusy].group = jb->k->group;
                j->busy[j->nbusy++].id = jb->id;
                *pp = jb->next;
                j->nsched--;
                jb->next = NULL;
                if (j->tail)
                    j->tail->next = jb;
                else
                    j->head = jb;
                j->tail = jb;
                pthread_cond_signal(&j->wake);
                continue;
            }
            *pp = jb->next; /* failed: ended below, outside the lock */
            j->nsched--;
            jb->next = done;
            done = jb;
        }
        if (done) {
            pthread_mutex_unlock(&j->lock);
            while ((jb = done) != NULL) {
                done = jb->next;
                end_unrun(jb, "failed", EV_JOB_FAILED);
                job_free(jb);
            }
            pthread_mutex_lock(&j->lock);
            continue;
        }
        ts.tv_sec = (time_t)(next / 1000);
        ts.tv_nsec = (long)(next % 1000) * 1000000L;
        if (!j->stop) pthread_cond_timedwait(&j->sched_wake, &j->lock, &ts);
    }
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

/* ----------------------------------------------------------------- public */

static void collect_unfinished(void *ctx, const db_job_row *r)
{
    jobs *j = ctx;
    job *jb = job_alloc(j);
    if (!jb) return;
    jb->id = r->id;
    jb->run_at = r->run_at;
    hp_strlcpy(jb->kind, r->kind, sizeof(jb->kind));
    hp_strlcpy(jb->cluster, r->cluster, sizeof(jb->cluster));
    hp_strlcpy(jb->actor, r->actor, sizeof(jb->actor));
    hp_strlcpy(jb->reason, r->reason, sizeof(jb->reason));
    cJSON_Delete(jb->steps);
    cJSON_Delete(jb->undo);
    jb->steps = cJSON_Parse(r->steps ? r->steps : "[]");
    jb->undo = cJSON_Parse(r->undo ? r->undo : "{}");
    jb->params = cJSON_Parse(r->params ? r->params : "{}");
    if (!jb->steps) jb->steps = cJSON_CreateArray();
    if (!jb->undo) jb->undo = cJSON_CreateObject();
    if (!jb->params) jb->params = cJSON_CreateObject();
    jb->k = find_kind(j, jb->kind);
    if (jb->k && jb->run_at > 0 && r->started_at == 0 && !strcmp(r->state, "queued")) {
        /* Scheduled and never started: it goes back to the scheduler, which
         * starts it at its time, or at once when that passed within the
         * grace while hapanel was down. */
        jb->reloaded = 1;
        jb->next = j->sched;
        j->sched = jb;
        j->nsched++;
        return;
    }
    /* Busy until recovered: no new job, and no "automatic" failover row for
     * the switch this job may have started. */
    if (jb->k && j->nbusy < (int)(sizeof(j->busy) / sizeof(j->busy[0]))) {
        hp_strlcpy(j->busy[j->nbusy].cluster, jb->cluster, sizeof(j->busy[0].cluster));
        j->busy[j->nbusy].group = jb->k->group;
        j->busy[j->nbusy++].id = jb->id;
    }
    jb->next = j->recover;
    j->recover = jb;
}

jobs *jobs_new(const job_env *env, const job_kind *kinds, size_t nkinds)
{
    jobs *j = calloc(1, sizeof(*j));
    const config *cfg = env->cfg;
    db *d = env->d;
    evq *q = env->q;
    int i;

    if (!j) return NULL;
    j->env = *env;
    j->kinds = kinds;
    j->nkinds = nkinds;
    j->cfg = cfg;
    j->d = d;
    j->q = q;
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->wake, NULL);
    pthread_cond_init(&j->sched_wake, NULL);
    /* Read before any new job can be submitted, so only old ones are repaired. */
    if (db_query_jobs(d, NULL, 1, 0, 1000, collect_unfinished, j) < 0)
        log_error("jobs: cannot read unfinished jobs");
    for (i = 0; i < JOBS_THREADS; i++) {
        if (pthread_create(&j->threads[i], NULL, runner_main, j) != 0) break;
        j->nthreads++;
    }
    if (j->nthreads == 0) {
        jobs_free(j);
        return NULL;
    }
    if (pthread_create(&j->sched_thread, NULL, sched_main, j) != 0) {
        jobs_free(j);
        return NULL;
    }
    j->has_sched_thread = 1;
    return j;
}

void jobs_free(jobs *j)
{
    int i;
    job *jb;
    if (!j) return;
    pthread_mutex_lock(&j->lock);
    __atomic_store_n(&j->stop, 1, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&j->wake);
    pthread_cond_signal(&j->sched_wake);
    pthread_mutex_unlock(&j->lock);
    for (i = 0; i < j->nthreads; i++)
        pthread_join(j->threads[i], NULL);
    if (j->has_sched_thread) pthread_join(j->sched_thread, NULL);
    /* Scheduled jobs stay 'queued' with their time: the next start reads them back. */
    while ((jb = j->sched) != NULL) {
        j->sched = jb->next;
        job_free(jb);
    }
    /* Jobs still queued stay 'queued' in the database: the next start repairs them. */
    while ((jb = j->head) != NULL) {
        j->head = jb->next;
        job_free(jb);
    }
    while ((jb = j->recover) != NULL) {
        j->recover = jb->next;
        job_free(jb);
    }
    pthread_mutex_destroy(&j->lock);
    pthread_cond_destroy(&j->wake);
    pthread_cond_destroy(&j->sched_wake);
    free(j);
}

int jobs_cluster_busy(jobs *j, const char *cluster)
{
    int i, busy = 0;
    if (!j) return 0;
    pthread_mutex_lock(&j->lock);
    for (i = 0; i < j->nbusy; i++)
        if (!strcmp(j->busy[i].cluster, cluster) && !strcmp(j->busy[i].group, JOB_GROUP_TOPOLOGY))
            busy = 1;
    pthread_mutex_unlock(&j->lock);
    return busy;
}

int64_t jobs_running(jobs *j, const char *cluster, const char *kind)
{
    const job_kind *k = find_kind(j, kind);
    int64_t id = 0;
    int i;
    if (!k) return 0;
    pthread_mutex_lock(&j->lock);
    for (i = 0; i < j->nbusy && !id; i++)
        if (!strcmp(j->busy[i].cluster, cluster) && !strcmp(j->busy[i].group, k->group))
            id = j->busy[i].id;
    pthread_mutex_unlock(&j->lock);
    return id;
}

int jobs_submit(jobs *j, const char *kind, const char *cluster, const cJSON *params,
                const char *actor, const char *reason, int64_t *id)
{
    const job_kind *k = find_kind(j, kind);
    job *jb;
    char *ptext;
    int i;

    if (!k) return JOBS_ERROR;
    pthread_mutex_lock(&j->lock);
    {
        for (i = 0; i < j->nbusy; i++)
            if (!strcmp(j->busy[i].cluster, cluster) && !strcmp(j->busy[i].group, k->group)) {
                *id = j->busy[i].id;
                pthread_mutex_unlock(&j->lock);
                return JOBS_BUSY;
            }
        if (j->nbusy == (int)(sizeof(j->busy) / sizeof(j->busy[0]))) {
            pthread_mutex_unlock(&j->lock);
            return JOBS_BUSY;
        }
    }
    jb = job_alloc(j);
    ptext = cJSON_PrintUnformatted(params);
    if (!jb || !ptext) goto fail;
    jb->params = cJSON_Duplicate(params, 1);
    hp_strlcpy(jb->kind, kind, sizeof(jb->kind));
    hp_strlcpy(jb->cluster, cluster, sizeof(jb->cluster));
    hp_strlcpy(jb->actor, actor ? actor : "", sizeof(jb->actor));
    hp_strlcpy(jb->reason, reason ? reason : "", sizeof(jb->reason));
    jb->k = k;
    jb->id = evq_job_insert(j->q, kind, cluster, ptext, jb->actor, jb->reason, hp_now_ms());
    if (jb->id < 0) goto fail;
    cJSON_free(ptext);
    hp_strlcpy(j->busy[j->nbusy].cluster, cluster, sizeof(j->busy[0].cluster));
    j->busy[j->nbusy].group = k->group;
    j->busy[j->nbusy++].id = jb->id;
    if (j->tail)
        j->tail->next = jb;
    else
        j->head = jb;
    j->tail = jb;
    *id = jb->id;
    pthread_cond_signal(&j->wake);
    pthread_mutex_unlock(&j->lock);
    return JOBS_OK;
fail:
    pthread_mutex_unlock(&j->lock);
    cJSON_free(ptext);
    job_free(jb);
    return JOBS_ERROR;
}

int jobs_schedule(jobs *j, const char *kind, const char *cluster, const cJSON *params,
                  const char *actor, const char *reason, int64_t run_at, int64_t *id)
{
    const job_kind *k = find_kind(j, kind);
    job *jb;
    char *ptext = NULL;

    if (!k || run_at <= 0) return JOBS_ERROR;
    pthread_mutex_lock(&j->lock);
    if (j->nsched >= JOBS_SCHEDULED_MAX) {
        pthread_mutex_unlock(&j->lock);
        return JOBS_FULL;
    }
    jb = job_alloc(j);
    ptext = cJSON_PrintUnformatted(params);
    if (!jb || !ptext) goto fail;
    jb->params = cJSON_Duplicate(params, 1);
    hp_strlcpy(jb->kind, kind, sizeof(jb->kind));
    hp_strlcpy(jb->cluster, cluster, sizeof(jb->cluster));
    hp_strlcpy(jb->actor, actor ? actor : "", sizeof(jb->actor));
    hp_strlcpy(jb->reason, reason ? reason : "", sizeof(jb->reason));
    jb->k = k;
    jb->run_at = run_at;
    /* Stored under the lock, as jobs_submit does: a cancel of this id finds
     * it in the list as soon as the id is known. */
    jb->id =
        evq_job_insert_at(j->q, kind, cluster, ptext, jb->actor, jb->reason, hp_now_ms(), run_at);
    if (jb->id < 0) goto fail;
    cJSON_free(ptext);
    jb->next = j->sched;
    j->sched = jb;
    j->nsched++;
    *id = jb->id;
    pthread_cond_signal(&j->sched_wake);
    pthread_mutex_unlock(&j->lock);
    return JOBS_OK;
fail:
    pthread_mutex_unlock(&j->lock);
    cJSON_free(ptext);
    job_free(jb);
    return JOBS_ERROR;
}

/* Takes the job of that id out of list *pp (NULL when it is not there). */
static job *unlink_job(job **pp, int64_t id, job **tail)
{
    job *jb, *prev = NULL;
    for (; (jb = *pp) != NULL; prev = jb, pp = &jb->next)
        if (jb->id == id) {
            *pp = jb->next;
            if (tail && *tail == jb) *tail = prev;
            jb->next = NULL;
            return jb;
        }
    return NULL;
}

int jobs_cancel(jobs *j, int64_t id, const char *actor)
{
    job *jb;
    char at[40], when[64] = "";

    pthread_mutex_lock(&j->lock);
    jb = unlink_job(&j->sched, id, NULL);
    if (jb) {
        j->nsched--;
    } else if ((jb = unlink_job(&j->head, id, &j->tail)) != NULL) {
        /* queued for a runner, not started: it held its group's place */
        int i;
        for (i = 0; i < j->nbusy; i++)
            if (j->busy[i].id == id) {
                j->busy[i] = j->busy[--j->nbusy];
                break;
            }
        pthread_cond_signal(&j->sched_wake);
    }
    pthread_mutex_unlock(&j->lock);
    if (!jb) return JOBS_NOT_FOUND;
    if (jb->run_at > 0) {
        utc_text(jb->run_at, at, sizeof(at));
        snprintf(when, sizeof(when), " (scheduled for %s)", at);
    }
    job_fail(jb, "cancelled by %s%s before it started; nothing was changed",
             actor && actor[0] ? actor : "?", when);
    cJSON_AddStringToObject(jb->result, "cancelled_by", actor ? actor : "");
    end_unrun(jb, "cancelled", 0);
    job_free(jb);
    return JOBS_OK;
}

int64_t job_run_at(const job *jb)
{
    return jb->run_at;
}
