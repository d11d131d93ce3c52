/* jobs.c — the job queue, its runner threads, the scheduler of jobs set for
 * a later time, step recording and crash recovery (see jobs.h). With HA
 * (issue 15) it also follows the lead: the runners and the clock act only
 * while this instance leads, and each running job is mirrored in etcd so
 * the next leader can finish or undo one a dead leader left. */
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
#include "ha/ha.h"
#include "model/topology.h"
#include "core/log.h"
#include "core/utf8.h"
#include "core/banned.h" /* last: after every system header */

#define JOBS_THREADS 4
#define JOBS_SCHEDULED_MAX 64
/* The scheduler looks at its list at least this often, and at once when a
 * job is added or a job of a cluster ends. */
#define SCHED_TICK_MS 1000
/* With HA, a thread that waits (for the lead, for work) looks at the lead
 * at least this often: the change callback wakes it sooner. */
#define LEAD_POLL_MS 1000
/* The last steps a job's mirror in etcd carries for the next leader. */
#define MIRROR_STEPS 5

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
    /* HA: the lead generation it started under (job_cancelled once it
     * changes), its mirror key in etcd (empty: not mirrored), a mirror put
     * that failed (etcd no longer confirms the lead: it stops as deposed),
     * and, for a job taken over from another instance, that instance. */
    unsigned gen;
    char mirror_key[HP_NAME_MAX + 48];
    int mirror_lost;
    char taken_from[64];
    int64_t taken_id;
    int superseded; /* interrupted here, and its mirror is gone: another took it over */
    int recovering; /* in its kind's recover(): job_group takes the recorded group */
    /* HA, a scheduled job: its mirror sched/jobs/<instance>/<id> in etcd
     * (empty: none), and whether the last import listed it. */
    char sched_key[128];
    int sched_seen;
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
    /* HA: env.ha; the lead as last seen and its generation (bumped on each
     * change, so a job started before it stops); after a gain, the mirror
     * of other instances' jobs is imported before new work; one thread
     * repairs at a time. */
    ha *ha;
    int was_leader;
    unsigned lead_gen;
    int need_import;
    int repairing;
    /* HA, on a follower: the clusters where the leader runs a topology job
     * (from the mirror, refreshed by the clock thread), so that the
     * follower's monitor records that switch as the job's, not as an
     * automatic failover. */
    char remote_topo[16][HP_NAME_MAX];
    int nremote;
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
static int mirror_put(job *jb);

void job_save_undo(job *jb)
{
    save(jb, NULL, 0, 0);
    /* The next leader must know the undo before the change is made, as the
     * local row does. When etcd refuses, the lead is gone: stop. */
    if (jb->mirror_key[0] && mirror_put(jb) < 0) {
        log_warn("job %lld: cannot update its mirror in etcd; stopping as deposed",
                 (long long)jb->id);
        __atomic_store_n(&jb->mirror_lost, 1, __ATOMIC_RELAXED);
    }
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

/* See jobs.h: a run takes the snapshot's group first (the monitor's word
 * now: its plan's addresses come from that snapshot), then the one recorded
 * at submit. A recovery takes the recorded one first: it puts back what the
 * run changed on the addresses its undo holds, and this process's snapshot
 * may give a clashing name to another group (the first group to answer owns
 * it, which can differ after a restart or on the next leader). Then the
 * group whose masters= lists the cluster, then groups[0] (a job stored
 * before groups). */
const cfg_group *job_group(const job *jb)
{
    static const cfg_group none; /* a config without groups (unit tests) */
    const config *cfg = job_config(jb);
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(jb->params, "group"));
    const cfg_group *rec = name ? config_group_named(cfg, name) : NULL, *g = NULL;
    topo_snap *t;
    const cluster_snap *c;

    if (jb->recovering && rec) return rec;
    t = topo_acquire();
    c = topo_find(t, jb->cluster);
    if (c) g = config_group(cfg, c->group);
    topo_release(t);
    if (!g) g = rec;
    if (!g) g = config_group(cfg, config_group_of_master(cfg, jb->cluster));
    if (!g) g = config_group(cfg, 0);
    return g ? g : &none;
}

void job_inherit_group(job *jb, const char *name)
{
    if (!name || !jb->params || cJSON_GetObjectItem(jb->params, "group")) return;
    if (!config_group_named(job_config(jb), name)) return;
    cJSON_AddStringToObject(jb->params, "group", name);
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

/* 1 when this instance lost the lead since the job started (or etcd
 * refused its mirror). */
static int deposed(const job *jb)
{
    const jobs *j = jb->owner;
    if (!j->ha) return 0;
    return !ha_is_leader(j->ha) || __atomic_load_n(&j->lead_gen, __ATOMIC_RELAXED) != jb->gen ||
           __atomic_load_n(&jb->mirror_lost, __ATOMIC_RELAXED);
}

int job_cancelled(const job *jb)
{
    return __atomic_load_n(&jb->owner->stop, __ATOMIC_RELAXED) || deposed(jb);
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

/* ------------------------------------------------------------------ the lead */

/* Under j->lock: compares the lead with what was seen last; a change bumps
 * the generation (running jobs see job_cancelled), a gain asks for the
 * mirror import and a repair before new work. Wakes every waiter. */
static void observe_lead(jobs *j)
{
    int l;
    if (!j->ha) return;
    l = ha_is_leader(j->ha);
    if (l == j->was_leader) return;
    j->was_leader = l;
    __atomic_add_fetch(&j->lead_gen, 1, __ATOMIC_RELAXED);
    if (l) {
        j->need_import = 1;
        j->recovered = 0;
    }
    log_info("jobs: this instance %s the lead%s", l ? "has" : "lost",
             l ? ": importing other instances' jobs before new work"
               : "; running jobs stop and undo, the clock waits");
    pthread_cond_broadcast(&j->wake);
    pthread_cond_signal(&j->sched_wake);
}

/* The ha callback (lease thread): only looks and wakes; the etcd and
 * database work of a takeover runs on a runner thread. */
static void on_lead_change(void *ctx, int leader)
{
    jobs *j = ctx;
    (void)leader;
    pthread_mutex_lock(&j->lock);
    observe_lead(j);
    pthread_mutex_unlock(&j->lock);
}

/* Under j->lock: waits on c for a signal, with HA at most LEAD_POLL_MS. */
static void wait_lead(jobs *j, pthread_cond_t *c)
{
    struct timespec ts;
    int64_t at;
    if (!j->ha) {
        pthread_cond_wait(c, &j->lock);
        return;
    }
    at = hp_now_ms() + LEAD_POLL_MS;
    ts.tv_sec = (time_t)(at / 1000);
    ts.tv_nsec = (long)(at % 1000) * 1000000L;
    pthread_cond_timedwait(c, &j->lock, &ts);
}

/* ------------------------------------------------------------------ mirror */

/* What both mirrors carry of a job: who mirrored it and what it is. */
static void mirror_fields(cJSON *o, const job *jb, const char *self_id)
{
    cJSON_AddStringToObject(o, "leader", self_id);
    cJSON_AddNumberToObject(o, "id", (double)jb->id);
    cJSON_AddStringToObject(o, "kind", jb->kind);
    cJSON_AddStringToObject(o, "cluster", jb->cluster);
    cJSON_AddItemToObject(o, "params", cJSON_Duplicate(jb->params, 1));
    cJSON_AddStringToObject(o, "actor", jb->actor);
    cJSON_AddStringToObject(o, "reason", jb->reason);
    cJSON_AddNumberToObject(o, "run_at", (double)jb->run_at);
}

/* The job as the next leader needs it, under jobs/<cluster>/<group> in
 * etcd: a fenced put (it fails once another instance leads). 0 or -1. */
static int mirror_put(job *jb)
{
    jobs *j = jb->owner;
    ha_status st;
    cJSON *o = cJSON_CreateObject(), *tail = cJSON_CreateArray();
    char *text = NULL;
    int i, n = cJSON_GetArraySize(jb->steps), rc = -1;

    if (!jb->k) goto out;
    if (!jb->mirror_key[0])
        snprintf(jb->mirror_key, sizeof(jb->mirror_key), "jobs/%s/%s", jb->cluster, jb->k->group);
    ha_status_get(j->ha, &st);
    for (i = n > MIRROR_STEPS ? n - MIRROR_STEPS : 0; i < n; i++)
        cJSON_AddItemToArray(tail, cJSON_Duplicate(cJSON_GetArrayItem(jb->steps, i), 1));
    mirror_fields(o, jb, st.self_id);
    cJSON_AddItemToObject(o, "undo", cJSON_Duplicate(jb->undo, 1));
    cJSON_AddItemToObject(o, "steps_tail", tail);
    tail = NULL;
    cJSON_AddNumberToObject(o, "saved", (double)hp_now_ms());
    text = cJSON_PrintUnformatted(o);
    if (text) rc = ha_put_fenced(j->ha, jb->mirror_key, text);
out:
    cJSON_free(text);
    cJSON_Delete(tail);
    cJSON_Delete(o);
    return rc;
}

/* The job ended (or was recovered): its mirror goes, unless this instance
 * lost the lead meanwhile: the key may be the next leader's already (it
 * imports it under its name), and if not, that leader's import runs the
 * kind's recover() again, which is safe (written for a crash anywhere). */
static void mirror_drop(job *jb)
{
    if (!jb->mirror_key[0]) return;
    if (deposed(jb)) {
        log_info("job %lld: this instance lost the lead while it ran: its mirror %s is left to "
                 "the next leader",
                 (long long)jb->id, jb->mirror_key);
        jb->mirror_key[0] = '\0';
        return;
    }
    if (ha_delete(jb->owner->ha, jb->mirror_key) < 0)
        log_warn(
            "job %lld: cannot delete its mirror %s in etcd (the next leader's import drops it)",
            (long long)jb->id, jb->mirror_key);
    jb->mirror_key[0] = '\0';
}

/* A scheduled job as the next leader needs it, at sched/jobs/<me>/<id>
 * (fenced). 0 or -1. */
static int sched_mirror_put(job *jb)
{
    ha_status st;
    cJSON *o = cJSON_CreateObject();
    char *text = NULL, key[sizeof(jb->sched_key)];
    int rc = -1;

    ha_status_get(jb->owner->ha, &st);
    snprintf(key, sizeof(key), "sched/jobs/%s/%lld", st.self_id, (long long)jb->id);
    mirror_fields(o, jb, st.self_id);
    text = cJSON_PrintUnformatted(o);
    if (text && ha_put_fenced(jb->owner->ha, key, text) == 0) {
        hp_strlcpy(jb->sched_key, key, sizeof(jb->sched_key));
        rc = 0;
    }
    cJSON_free(text);
    cJSON_Delete(o);
    return rc;
}

/* The scheduled job started, was cancelled or failed: its mirror goes. */
static void sched_mirror_drop(job *jb)
{
    if (!jb->sched_key[0]) return;
    if (ha_delete(jb->owner->ha, jb->sched_key) < 0)
        log_warn("job %lld: cannot delete its mirror %s in etcd", (long long)jb->id, jb->sched_key);
    jb->sched_key[0] = '\0';
}

typedef struct mirror_list {
    cJSON *items; /* [{key, value (parsed)}] */
} mirror_list;

static void collect_mirror(void *ctx, const char *key, const char *value)
{
    mirror_list *ml = ctx;
    cJSON *v = cJSON_Parse(value ? value : ""), *e;
    if (!v) {
        log_warn("jobs: mirror %s in etcd is not JSON; ignored", key);
        return;
    }
    e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "key", key);
    cJSON_AddItemToObject(e, "value", v);
    cJSON_AddItemToArray(ml->items, e);
}

static job *find_job(job *list, int64_t id)
{
    for (; list; list = list->next)
        if (list->id == id) return list;
    return NULL;
}

static const char *jstr(const cJSON *o, const char *name)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(o, name));
    return v ? v : "";
}

/* A whole number of a mirror's JSON, 0 when absent or not a number. */
static int64_t jnum(const cJSON *o, const char *name)
{
    const cJSON *it = cJSON_GetObjectItem(o, name);
    if (!cJSON_IsNumber(it) || !(it->valuedouble > -9e18 && it->valuedouble < 9e18)) return 0;
    return (int64_t)it->valuedouble;
}

/* One mirrored job of another instance, which lost the lead while it ran:
 * a local row, a step naming where it came from, the mirror under this
 * instance's name, then the recovery list. Under no lock. */
static void import_one(jobs *j, const char *key, const cJSON *v, const char *from)
{
    const cJSON *it;
    job *jb = job_alloc(j);
    char *ptext = NULL;
    int64_t now = hp_now_ms();

    if (!jb) return;
    hp_strlcpy(jb->kind, jstr(v, "kind"), sizeof(jb->kind));
    hp_strlcpy(jb->cluster, jstr(v, "cluster"), sizeof(jb->cluster));
    hp_strlcpy(jb->actor, jstr(v, "actor"), sizeof(jb->actor));
    hp_strlcpy(jb->reason, jstr(v, "reason"), sizeof(jb->reason));
    hp_strlcpy(jb->taken_from, from, sizeof(jb->taken_from));
    jb->taken_id = jnum(v, "id");
    jb->run_at = jnum(v, "run_at");
    if (jb->run_at < 0) jb->run_at = 0;
    jb->k = find_kind(j, jb->kind);
    it = cJSON_GetObjectItem(v, "params");
    jb->params = cJSON_IsObject(it) ? cJSON_Duplicate(it, 1) : cJSON_CreateObject();
    it = cJSON_GetObjectItem(v, "undo");
    if (cJSON_IsObject(it)) {
        cJSON_Delete(jb->undo);
        jb->undo = cJSON_Duplicate(it, 1);
    }
    it = cJSON_GetObjectItem(v, "steps_tail");
    if (cJSON_IsArray(it)) {
        cJSON_Delete(jb->steps);
        jb->steps = cJSON_Duplicate(it, 1);
    }
    if (!jb->k || !jb->params || !jb->undo || !jb->steps || !jb->cluster[0]) {
        log_warn("jobs: mirror %s in etcd names no job this instance knows; dropped", key);
        ha_delete(j->ha, key);
        job_free(jb);
        return;
    }
    ptext = cJSON_PrintUnformatted(jb->params);
    jb->id =
        ptext ? evq_job_insert(j->q, jb->kind, jb->cluster, ptext, jb->actor, jb->reason, now) : -1;
    cJSON_free(ptext);
    if (jb->id < 0) {
        log_error("jobs: cannot store the job mirrored at %s; left for the next leader", key);
        job_free(jb);
        return;
    }
    save(jb, "running", now, 0);
    /* Under this instance's name before anything is done with it: should it
     * lose the lead too, the next one takes it from here. */
    hp_strlcpy(jb->mirror_key, key, sizeof(jb->mirror_key));
    if (mirror_put(jb) < 0) {
        job_fail(jb,
                 "not taken over: this instance lost the lead (or etcd did not answer) "
                 "before it could take over %s's job %lld; the next leader does",
                 from, (long long)jb->taken_id);
        jb->mirror_key[0] = '\0';
        job_step(jb, "%s", jb->error);
        save(jb, "failed", 0, hp_now_ms());
        job_free(jb);
        return;
    }
    log_info("jobs: took over %s job %lld of %s from instance %s as job %lld", jb->kind,
             (long long)jb->taken_id, jb->cluster, from, (long long)jb->id);
    pthread_mutex_lock(&j->lock);
    if (j->nbusy < (int)(sizeof(j->busy) / sizeof(j->busy[0]))) {
        hp_strlcpy(j->busy[j->nbusy].cluster, jb->cluster, sizeof(j->busy[0].cluster));
        j->busy[j->nbusy].group = jb->k->group;
        j->busy[j->nbusy++].id = jb->id;
    }
    jb->next = j->recover;
    j->recover = jb;
    pthread_mutex_unlock(&j->lock);
}

/* After a gain of the lead, on a runner thread, under no lock: every job
 * mirrored in etcd by another instance is one it left when it lost the
 * lead (the mirror goes when a job ends): it is imported and recovered
 * here. A mirror under this instance's own name is a job of its previous
 * run (already on the recovery list from the local table) or a leftover. */
static void import_mirror(jobs *j)
{
    mirror_list ml = {cJSON_CreateArray()};
    ha_status st;
    cJSON *e;
    int listed;

    if (!ml.items) return;
    ha_status_get(j->ha, &st);
    listed = ha_list(j->ha, "jobs/", collect_mirror, &ml) == 0;
    if (!listed)
        log_warn("jobs: cannot list the jobs mirrored in etcd; another instance's unfinished job "
                 "is not taken over now");
    cJSON_ArrayForEach(e, ml.items)
    {
        const char *key = cJSON_GetStringValue(cJSON_GetObjectItem(e, "key"));
        const cJSON *v = cJSON_GetObjectItem(e, "value");
        const char *leader = cJSON_GetStringValue(cJSON_GetObjectItem(v, "leader"));
        int64_t id = jnum(v, "id");
        job *mine;

        if (!key || !leader) continue;
        if (strcmp(leader, st.self_id)) {
            import_one(j, key, v, leader);
            continue;
        }
        pthread_mutex_lock(&j->lock);
        mine = find_job(j->recover, id);
        if (mine) hp_strlcpy(mine->mirror_key, key, sizeof(mine->mirror_key));
        pthread_mutex_unlock(&j->lock);
        if (!mine) ha_delete(j->ha, key);
    }
    cJSON_Delete(ml.items);
    if (listed) {
        /* A job of this instance's table that was interrupted and has no
         * mirror: it never started (nothing to undo) or the instance that
         * led next took it over, and finished or undid it; its undo is
         * stale now (the next leader may have changed the same settings
         * since), so it is not run again here. */
        job *jb;
        pthread_mutex_lock(&j->lock);
        for (jb = j->recover; jb; jb = jb->next)
            if (!jb->taken_from[0] && !jb->mirror_key[0]) jb->superseded = 1;
        pthread_mutex_unlock(&j->lock);
    }
}

/* One scheduled job of another instance, which lost the lead before its
 * time: a local row with the same time, under this instance's name in etcd
 * (then the other's key goes), on the scheduler's list. Under no lock. */
static void import_sched_one(jobs *j, const char *key, const cJSON *v, const char *from)
{
    const cJSON *it = cJSON_GetObjectItem(v, "params");
    job *jb = job_alloc(j);
    char *ptext = NULL;
    int64_t old_id = jnum(v, "id");

    if (!jb) return;
    hp_strlcpy(jb->kind, jstr(v, "kind"), sizeof(jb->kind));
    hp_strlcpy(jb->cluster, jstr(v, "cluster"), sizeof(jb->cluster));
    hp_strlcpy(jb->actor, jstr(v, "actor"), sizeof(jb->actor));
    hp_strlcpy(jb->reason, jstr(v, "reason"), sizeof(jb->reason));
    jb->run_at = jnum(v, "run_at");
    jb->k = find_kind(j, jb->kind);
    jb->params = cJSON_IsObject(it) ? cJSON_Duplicate(it, 1) : NULL;
    if (!jb->k || !jb->params || !jb->cluster[0] || jb->run_at <= 0) {
        log_warn("jobs: scheduled job mirrored at %s names no job this instance knows; dropped",
                 key);
        ha_delete(j->ha, key);
        job_free(jb);
        return;
    }
    ptext = cJSON_PrintUnformatted(jb->params);
    jb->id = ptext ? evq_job_insert_at(j->q, jb->kind, jb->cluster, ptext, jb->actor, jb->reason,
                                       hp_now_ms(), jb->run_at)
                   : -1;
    cJSON_free(ptext);
    if (jb->id < 0) {
        log_error("jobs: cannot store the scheduled job mirrored at %s; left for the next leader",
                  key);
        job_free(jb);
        return;
    }
    job_step(jb, "taken over from instance %s (its scheduled job %lld) after it lost the lead",
             from, (long long)old_id);
    if (sched_mirror_put(jb) < 0) {
        job_fail(jb,
                 "not taken over: this instance lost the lead (or etcd did not answer) "
                 "before it could take over %s's scheduled job %lld; the next leader does",
                 from, (long long)old_id);
        job_step(jb, "%s", jb->error);
        save(jb, "failed", 0, hp_now_ms());
        job_free(jb);
        return;
    }
    ha_delete(j->ha, key);
    log_info("jobs: took over %s's scheduled %s job %lld of %s as job %lld", from, jb->kind,
             (long long)old_id, jb->cluster, (long long)jb->id);
    jb->sched_seen = 1;
    pthread_mutex_lock(&j->lock);
    jb->next = j->sched;
    j->sched = jb;
    j->nsched++;
    pthread_mutex_unlock(&j->lock);
}

static void end_unrun(job *jb, const char *state, int kind);

/* After a gain of the lead (with import_mirror): scheduled jobs mirrored
 * by other instances are taken over; this instance's own scheduled jobs
 * whose mirror is gone were taken over by another leader meanwhile (which
 * ran or cancelled them): they end here, not run twice. Under no lock. */
static void import_sched(jobs *j)
{
    mirror_list ml = {cJSON_CreateArray()};
    ha_status st;
    cJSON *e;
    job *jb, **pp, *gone = NULL;

    if (!ml.items) return;
    ha_status_get(j->ha, &st);
    pthread_mutex_lock(&j->lock);
    for (jb = j->sched; jb; jb = jb->next)
        jb->sched_seen = 0;
    pthread_mutex_unlock(&j->lock);
    if (ha_list(j->ha, "sched/jobs/", collect_mirror, &ml) < 0) {
        log_warn("jobs: cannot list the scheduled jobs mirrored in etcd; another instance's "
                 "scheduled job is not taken over now");
        cJSON_Delete(ml.items);
        return;
    }
    cJSON_ArrayForEach(e, ml.items)
    {
        const char *key = jstr(e, "key");
        const cJSON *v = cJSON_GetObjectItem(e, "value");
        int64_t id = jnum(v, "id");
        job *mine;

        if (!key[0] || !jstr(v, "leader")[0]) continue;
        if (strcmp(jstr(v, "leader"), st.self_id)) {
            import_sched_one(j, key, v, jstr(v, "leader"));
            continue;
        }
        pthread_mutex_lock(&j->lock);
        mine = find_job(j->sched, id);
        if (mine) {
            hp_strlcpy(mine->sched_key, key, sizeof(mine->sched_key));
            mine->sched_seen = 1;
        }
        pthread_mutex_unlock(&j->lock);
        if (!mine) ha_delete(j->ha, key); /* it ended here; the delete was lost */
    }
    cJSON_Delete(ml.items);
    pthread_mutex_lock(&j->lock);
    for (pp = &j->sched; (jb = *pp) != NULL;) {
        if (jb->sched_seen) {
            pp = &jb->next;
            continue;
        }
        *pp = jb->next;
        j->nsched--;
        jb->next = gone;
        gone = jb;
    }
    pthread_mutex_unlock(&j->lock);
    while ((jb = gone) != NULL) {
        gone = jb->next;
        jb->sched_key[0] = '\0';
        job_fail(jb, "not run here: this instance lost the lead before its time, and the instance "
                     "that led next took it over (it runs or ran there)");
        end_unrun(jb, "cancelled", 0);
        job_free(jb);
    }
}

/* On a follower, under no lock: the leader's topology jobs from the mirror
 * (keys jobs/<cluster>/topology), into j->remote_topo. */
static void refresh_remote(jobs *j)
{
    mirror_list ml = {cJSON_CreateArray()};
    ha_status st;
    cJSON *e;
    char names[16][HP_NAME_MAX];
    int n = 0, ok;

    if (!ml.items) return;
    ha_status_get(j->ha, &st);
    ok = ha_list(j->ha, "jobs/", collect_mirror, &ml) == 0;
    cJSON_ArrayForEach(e, ml.items)
    {
        const cJSON *v = cJSON_GetObjectItem(e, "value");
        const char *key = jstr(e, "key"), *group = strrchr(key, '/');
        if (n == 16 || !group || strcmp(group + 1, JOB_GROUP_TOPOLOGY) ||
            !strcmp(jstr(v, "leader"), st.self_id) || !jstr(v, "cluster")[0])
            continue;
        hp_strlcpy(names[n++], jstr(v, "cluster"), sizeof(names[0]));
    }
    cJSON_Delete(ml.items);
    if (!ok) return; /* etcd did not answer: keep what was known */
    pthread_mutex_lock(&j->lock);
    memcpy(j->remote_topo, names, sizeof(names[0]) * (size_t)n);
    j->nremote = n;
    pthread_mutex_unlock(&j->lock);
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

/* With HA: a job runs only while this instance leads, and only once its
 * mirror is in etcd (a fenced put: refused once another instance leads).
 * 1 it may run; 0 it failed, ended. */
static int may_run(job *jb)
{
    jobs *j = jb->owner;
    if (!j->ha) return 1;
    if (ha_is_leader(j->ha) && mirror_put(jb) == 0) {
        sched_mirror_drop(jb); /* the running job's mirror covers it now */
        return 1;
    }
    jb->mirror_key[0] = '\0';
    jb->sched_key[0] = '\0'; /* a scheduled one stays in etcd: the next leader starts it */
    job_fail(jb,
             "not started: this instance no longer leads (or etcd did not confirm it), so "
             "it must not change the topology; %s",
             jb->run_at > 0 ? "the next leader starts it"
                            : "submit it again (it goes to the leader)");
    end_unrun(jb, "failed", EV_JOB_FAILED);
    return 0;
}

static void execute(job *jb)
{
    int rc;
    int64_t now = hp_now_ms();

    save(jb, "running", now, 0);
    if (!may_run(jb)) {
        unbusy(jb->owner, jb->cluster, jb->id);
        return;
    }
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
    if (rc != 0 && deposed(jb)) {
        /* the recipes' own words are for a stop of hapanel */
        char what[512];
        snprintf(what, sizeof(what), "%s", jb->error);
        job_fail(jb,
                 "stopped: this instance lost the lead while it ran (the next leader takes "
                 "over what is left): %.400s",
                 what);
    }
    if (rc == 0) jb->error[0] = '\0';
    job_step(jb, rc == 0 ? "done" : "failed: %s", jb->error);
    save(jb, rc == 0 ? "succeeded" : "failed", 0, hp_now_ms());
    mirror_drop(jb);
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

    const char *cause = jb->taken_from[0] ? "a change of leader" : "a restart of hapanel";

    snprintf(at, sizeof(at), "%s", last ? last : "");
    if (jb->taken_from[0])
        job_step(jb,
                 "taken over from instance %s (its job %lld) after it lost the lead; it was "
                 "interrupted there %s%s",
                 jb->taken_from, (long long)jb->taken_id, last ? "after: " : "before it started",
                 at);
    else
        job_step(jb, "hapanel restarted; this job was interrupted %s%s",
                 last ? "after: " : "before it started", at);
    if (jb->superseded)
        job_fail(jb, "not recovered here: this instance lost the lead, and the instance that led "
                     "next took the job over (or it had not started)");
    else if (jb->k && jb->k->recover) {
        jb->recovering = 1; /* job_group: the group recorded at submit */
        rc = jb->k->recover(jb);
        jb->recovering = 0;
    }
    if (rc != 0) {
        char what[512];
        snprintf(what, sizeof(what), "%s", jb->error);
        job_fail(jb, "interrupted by %s %s%.200s%s%s", cause,
                 last ? "after: " : "before it started", at, what[0] ? "; " : "", what);
    } else {
        jb->error[0] = '\0';
    }
    job_step(jb, rc == 0 ? "done after %s" : "failed: %s", rc == 0 ? cause : jb->error);
    save(jb, rc == 0 ? "succeeded" : "failed", 0, hp_now_ms());
    mirror_drop(jb);
    if (rc == 0)
        emit(jb, EV_JOB_SUCCEEDED, "job-succeeded", "info", "%s job %lld completed after %s",
             jb->kind, (long long)jb->id, cause);
    else
        emit(jb, EV_JOB_FAILED, "job-failed", "warning", "%s job %lld interrupted by %s: %s",
             jb->kind, (long long)jb->id, cause, jb->error);
    unbusy(jb->owner, jb->cluster, jb->id);
}

/* Under j->lock, by one thread (j->repairing): with HA first the import of
 * the jobs other instances left, then every job on the recovery list. The
 * others wait, so no new job runs on a cluster that still has a crashed
 * (or deposed) job's changes on it. A loss of the lead stops it: what is
 * left waits for the next gain. */
static void repair(jobs *j)
{
    job *jb;
    int done = 1;

    j->repairing = 1;
    if (j->need_import) {
        j->need_import = 0;
        pthread_mutex_unlock(&j->lock);
        import_mirror(j);
        import_sched(j);
        pthread_mutex_lock(&j->lock);
    }
    while ((jb = j->recover) != NULL) {
        if (j->stop || (j->ha && !ha_is_leader(j->ha))) {
            done = 0;
            break;
        }
        j->recover = jb->next;
        jb->gen = j->lead_gen;
        pthread_mutex_unlock(&j->lock);
        recover_one(jb);
        job_free(jb);
        pthread_mutex_lock(&j->lock);
    }
    j->repairing = 0;
    if (done) j->recovered = 1;
    pthread_cond_broadcast(&j->wake);
    pthread_cond_signal(&j->sched_wake);
}

static void *runner_main(void *arg)
{
    jobs *j = arg;
    job *jb;

    pthread_mutex_lock(&j->lock);
    for (;;) {
        observe_lead(j);
        if (j->stop) break;
        if (j->ha && !j->was_leader) {
            /* A job queued while this instance led and not started: it must
             * not run here now; it fails so that it can be sent again (to
             * the leader). */
            if ((jb = j->head) != NULL) {
                j->head = jb->next;
                if (!j->head) j->tail = NULL;
                pthread_mutex_unlock(&j->lock);
                jb->sched_key[0] = '\0'; /* a scheduled one: the next leader starts it */
                job_fail(jb, "not started: this instance lost the lead before its turn; %s",
                         jb->run_at > 0 ? "the next leader starts it"
                                        : "submit it again (it goes to the leader)");
                end_unrun(jb, "failed", EV_JOB_FAILED);
                unbusy(j, jb->cluster, jb->id);
                job_free(jb);
                pthread_mutex_lock(&j->lock);
                continue;
            }
            wait_lead(j, &j->wake);
            continue;
        }
        if (!j->recovered) {
            if (j->repairing)
                wait_lead(j, &j->wake);
            else
                repair(j);
            continue;
        }
        if (!j->head) {
            wait_lead(j, &j->wake);
            continue;
        }
        jb = j->head;
        j->head = jb->next;
        if (!j->head) j->tail = NULL;
        jb->gen = j->lead_gen;
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
    sched_mirror_drop(jb);
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

        if (j->stop) break;
        if (j->ha && (!j->was_leader || !ha_is_leader(j->ha))) {
            /* Only the leader's clock starts jobs: the waiting ones keep
             * their time for when this instance leads again. */
            pthread_mutex_unlock(&j->lock);
            refresh_remote(j);
            pthread_mutex_lock(&j->lock);
            if (!j->stop) wait_lead(j, &j->sched_wake);
            continue;
        }
        j->nremote = 0; /* leading: another instance's job is imported, local */
        if (!j->recovered) {
            wait_lead(j, &j->sched_wake);
            continue;
        }
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
    j->ha = env->ha;
    j->was_leader = !j->ha; /* with HA: a gain is seen first, and imports */
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->wake, NULL);
    pthread_cond_init(&j->sched_wake, NULL);
    /* Read before any new job can be submitted, so only old ones are repaired. */
    if (db_query_jobs(d, NULL, 1, 0, 1000, collect_unfinished, j) < 0)
        log_error("jobs: cannot read unfinished jobs");
    if (j->ha) ha_on_change(j->ha, on_lead_change, j);
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
        if (!strcmp(j->busy[i].cluster, cluster) && !strcmp(j->busy[i].group, JOB_GROUP_TOPOLOGY) &&
            /* a follower's interrupted job waits for the lead: it is not
             * what changes the topology now */
            !(j->ha && !j->was_leader && find_job(j->recover, j->busy[i].id)))
            busy = 1;
    for (i = 0; i < j->nremote; i++)
        if (!strcmp(j->remote_topo[i], cluster)) busy = 1;
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

/* Records in params the name of the Sentinel group the snapshot gives
 * cluster now (job_group reads it when the snapshot no longer, or not yet,
 * has the cluster). A "group" in the request is dropped: a caller does not
 * choose which credentials a job uses. */
static void record_group(cJSON *params, const char *cluster)
{
    topo_snap *t = topo_acquire();
    const cluster_snap *c = topo_find(t, cluster);

    cJSON_DeleteItemFromObject(params, "group");
    if (c && c->group_name[0]) cJSON_AddStringToObject(params, "group", c->group_name);
    topo_release(t);
}

/* A new job of kind k as a request names it, and its params as text for
 * its row (*ptext, the caller frees it). NULL when out of memory. */
static job *job_request(jobs *j, const job_kind *k, const char *cluster, const cJSON *params,
                        const char *actor, const char *reason, char **ptext)
{
    job *jb = job_alloc(j);

    *ptext = NULL;
    if (jb) jb->params = cJSON_Duplicate(params, 1);
    if (jb && jb->params) record_group(jb->params, cluster);
    if (jb && jb->params) *ptext = cJSON_PrintUnformatted(jb->params);
    if (!jb || !*ptext) {
        cJSON_free(*ptext);
        *ptext = NULL;
        job_free(jb);
        return NULL;
    }
    hp_strlcpy(jb->kind, k->name, sizeof(jb->kind));
    hp_strlcpy(jb->cluster, cluster, sizeof(jb->cluster));
    hp_strlcpy(jb->actor, actor ? actor : "", sizeof(jb->actor));
    hp_strlcpy(jb->reason, reason ? reason : "", sizeof(jb->reason));
    jb->k = k;
    return jb;
}

int jobs_submit(jobs *j, const char *kind, const char *cluster, const cJSON *params,
                const char *actor, const char *reason, int64_t *id)
{
    const job_kind *k = find_kind(j, kind);
    job *jb;
    char *ptext;
    int i;

    if (!k) return JOBS_ERROR;
    if (!ha_is_leader(j->ha)) return JOBS_NOT_LEADER;
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
    jb = job_request(j, k, cluster, params, actor, reason, &ptext);
    if (!jb) goto fail;
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
    if (!ha_is_leader(j->ha)) return JOBS_NOT_LEADER;
    pthread_mutex_lock(&j->lock);
    if (j->nsched >= JOBS_SCHEDULED_MAX) {
        pthread_mutex_unlock(&j->lock);
        return JOBS_FULL;
    }
    jb = job_request(j, k, cluster, params, actor, reason, &ptext);
    if (!jb) goto fail;
    jb->run_at = run_at;
    /* Stored under the lock, as jobs_submit does: a cancel of this id finds
     * it in the list as soon as the id is known. */
    jb->id =
        evq_job_insert_at(j->q, kind, cluster, ptext, jb->actor, jb->reason, hp_now_ms(), run_at);
    if (jb->id < 0) goto fail;
    cJSON_free(ptext);
    ptext = NULL;
    if (j->ha && sched_mirror_put(jb) < 0) {
        /* the next leader would not know it: refused, as on a follower */
        pthread_mutex_unlock(&j->lock);
        job_fail(jb, "not scheduled: etcd did not confirm this instance's lead");
        end_unrun(jb, "failed", 0);
        job_free(jb);
        return JOBS_NOT_LEADER;
    }
    jb->sched_seen = 1; /* a takeover's import running now must not drop it */
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

ha *jobs_ha(const jobs *j)
{
    return j ? j->ha : NULL;
}
